//! `plugin-conformance diff OLD NEW` end to end on real reports: a regression introduced
//! on purpose exits 1 and is printed, no regression exits 0, an unreadable or invalid
//! report exits 2 naming the file. Also: a real report has exactly the keys of the
//! committed schema.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use assert_cmd::cargo::cargo_bin;
use serde_json::Value;
use support::diff;

fn cli() -> Command {
    let mut cmd = Command::new(cargo_bin!("plugin-conformance"));
    cmd.env("CI", "true");
    cmd
}

/// One real run of two handshake cases, shared by the tests of this file (statics are
/// never dropped, so it lives under cargo's scratch directory for integration tests).
fn real_report() -> &'static Path {
    static REPORT: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_dir, path) = REPORT.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("diff-report-")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .unwrap();
        let out = cli()
            .args([
                "run",
                "--run",
                "handshake/python-sdk-five-fields",
                "--run",
                "handshake/go-six-fields",
                "--out-dir",
            ])
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let path = dir.path().join("conformance.json");
        (dir, path)
    });
    path
}

fn read(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Writes `report` with the case `name` turned into a failure.
fn with_failure(report: &Value, name: &str, path: &Path) {
    let mut report = report.clone();
    let case = report["cases"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|c| c["name"] == name)
        .expect("the case is in the report");
    case["status"] = "failed".into();
    case["message"] = "plugin started: expected started, saw exited".into();
    std::fs::write(path, serde_json::to_string_pretty(&report).unwrap()).unwrap();
}

#[test]
fn a_regression_exits_1_and_is_printed() {
    let work = tempfile::tempdir().unwrap();
    let old = real_report();
    let new = work.path().join("new.json");
    with_failure(&read(old), "handshake/go-six-fields", &new);
    let md = work.path().join("diff.md");
    let out = diff(old, &new, &["--markdown", md.to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains(
            ": 1 regression, 0 fixes, 0 new cases, 0 removed cases, 0 other changes, 1 unchanged; 0 answer changes (0 accepted) of 0 answers compared, 0 not comparable\n"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "Regressions (1):\n  [MUST] handshake/go-six-fields: passed -> failed: plugin started: expected started, saw exited\n"
        ),
        "{stdout}"
    );
    let md = std::fs::read_to_string(md).unwrap();
    assert!(md.contains("**REGRESSED**"), "{md}");
    assert!(
        md.contains("| `handshake/go-six-fields` | MUST | passed | failed |"),
        "{md}"
    );
}

#[test]
fn no_regression_exits_0_and_fixes_new_and_removed_cases_are_listed() {
    let work = tempfile::tempdir().unwrap();
    let old = real_report();
    let out = diff(old, old, &[]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(text(&out.stdout).contains(": 0 regressions, 0 fixes"));

    // OLD had a failure that NEW fixed, a case NEW dropped; NEW has a case OLD lacked.
    let failed = work.path().join("failed.json");
    with_failure(&read(old), "handshake/go-six-fields", &failed);
    let mut fewer = read(old);
    fewer["cases"]
        .as_array_mut()
        .unwrap()
        .retain(|c| c["name"] != "handshake/python-sdk-five-fields");
    let mut renamed = read(old);
    for c in renamed["cases"].as_array_mut().unwrap() {
        if c["name"] == "handshake/python-sdk-five-fields" {
            c["name"] = "handshake/renamed".into();
        }
    }
    let (fewer_path, renamed_path) = (
        work.path().join("fewer.json"),
        work.path().join("renamed.json"),
    );
    std::fs::write(&fewer_path, fewer.to_string()).unwrap();
    std::fs::write(&renamed_path, renamed.to_string()).unwrap();

    let out = diff(&failed, old, &[]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("Fixes (1):\n  [MUST] handshake/go-six-fields: failed -> passed\n"),
        "{stdout}"
    );
    let out = diff(&fewer_path, &renamed_path, &[]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "a new case is not a regression: {stdout}"
    );
    assert!(
        stdout.contains("New cases (1):\n  [MUST] handshake/renamed: passed\n"),
        "{stdout}"
    );
    let out = diff(&renamed_path, &fewer_path, &[]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("Removed cases (1):\n  [MUST] handshake/renamed: was passed\n"),
        "{stdout}"
    );
}

#[test]
fn an_unreadable_or_invalid_report_exits_2_naming_the_file() {
    let work = tempfile::tempdir().unwrap();
    let old = real_report();
    let garbage = work.path().join("garbage.json");
    std::fs::write(&garbage, "{ not json").unwrap();
    let other = work.path().join("other.json");
    std::fs::write(&other, r#"{"schema_version": 1, "cases": []}"#).unwrap();
    let future = work.path().join("future.json");
    let mut v = read(old);
    v["schema_version"] = 2.into();
    std::fs::write(&future, v.to_string()).unwrap();
    let missing = work.path().join("missing.json");
    for (new, problem) in [
        (&garbage, "not valid JSON"),
        (&other, "not a conformance report: missing field"),
        (&future, "schema_version 2 is not supported"),
        (&missing, "cannot read it"),
    ] {
        let out = diff(old, new, &[]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{}: {stderr}", new.display());
        assert!(
            stderr.contains(&format!("{}: {problem}", new.display())),
            "{stderr}"
        );
        assert!(out.stdout.is_empty(), "nothing printed before the error");
    }
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

fn listed(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_real_report_has_exactly_the_keys_of_the_committed_schema() {
    let schema_path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(conformance_core::report::SCHEMA_PATH);
    let schema = read(&schema_path);
    let report = read(real_report());
    assert_eq!(keys(&report), listed(&schema["required"]));
    assert_eq!(keys(&report), keys(&schema["properties"]));
    let case = &schema["$defs"]["case"];
    let cases = report["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 2);
    for c in cases {
        assert_eq!(keys(c), listed(&case["required"]), "{c}");
        assert_eq!(keys(c), keys(&case["properties"]), "{c}");
    }
    let mismatches = conformance_core::report::schema_mismatches(&report, &schema);
    assert!(mismatches.is_empty(), "{mismatches:#?}");
}
