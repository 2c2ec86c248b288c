//! `--known-failing`, `--known-flaky` and `--retries` end to end: what each status does to
//! the exit code and how it shows in the JSON, JUnit and Markdown reports, and that a bad
//! list stops the run before any case runs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use assert_cmd::cargo::cargo_bin;
use serde_json::Value;

/// A MUST case that passes with the fake interpreter and fails when the interpreter exits
/// at once.
const CASE: &str = "handshake/python-sdk-five-fields";

struct Run {
    out: Output,
    dir: PathBuf,
}

impl Run {
    fn code(&self) -> Option<i32> {
        self.out.status.code()
    }
    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.stdout).into_owned()
    }
    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }
    fn json(&self) -> Value {
        let text = std::fs::read_to_string(self.dir.join("conformance.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }
    fn file(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(name)).unwrap()
    }
    fn case(&self) -> Value {
        let json = self.json();
        let cases = json["cases"].as_array().unwrap();
        assert_eq!(cases.len(), 1, "{json}");
        cases[0].clone()
    }
}

/// `run --run CASE --out-dir DIR/reports ARGS...`, with the fake interpreter replaced by
/// `interpreter` when given.
fn run(dir: &Path, interpreter: Option<&Path>, args: &[&str]) -> Run {
    let reports = dir.join("reports");
    let mut cmd = Command::new(cargo_bin!("plugin-conformance"));
    cmd.args(["run", "--run", CASE, "--out-dir"])
        .arg(&reports)
        .args(args)
        .env("CI", "true");
    if let Some(i) = interpreter {
        cmd.env("PLUGIN_CONFORMANCE_FAKE_INTERPRETER", i);
    }
    Run {
        out: cmd.output().unwrap(),
        dir: reports,
    }
}

fn list(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// An interpreter that exits 1 the first time it is started and behaves as the real fake
/// interpreter after that: a case that fails once, then passes. The fake interpreter is the
/// CLI itself, started under a name beginning with `python` (what makes it one).
fn fails_once(dir: &Path) -> PathBuf {
    let real = dir.join("python-fake");
    std::os::unix::fs::symlink(cargo_bin!("plugin-conformance"), &real).unwrap();
    let marker = dir.join("started-once");
    let script = dir.join("fails-once.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nif [ ! -e '{m}' ]; then : > '{m}'; exit 1; fi\nexec '{r}' \"$@\"\n",
            m = marker.display(),
            r = real.display()
        ),
    )
    .unwrap();
    let mut perms = std::fs::metadata(&script).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&script, perms).unwrap();
    script
}

/// The report's keys are exactly the committed schema's, and it conforms to it.
fn assert_fits_the_schema(report: &Value) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(conformance_core::report::SCHEMA_PATH);
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mismatches = conformance_core::report::schema_mismatches(report, &schema);
    assert!(mismatches.is_empty(), "{mismatches:#?}");
}

#[test]
fn a_known_failing_case_that_fails_is_reported_and_the_run_passes() {
    let work = tempfile::tempdir().unwrap();
    let kf = list(
        work.path(),
        "known-failing.txt",
        &format!("# cases this host gets wrong\n{CASE}   # the interpreter is /bin/false here\n"),
    );
    let r = run(
        work.path(),
        Some(Path::new("/bin/false")),
        &["--known-failing", &kf],
    );
    assert_eq!(r.code(), Some(0), "{}\n{}", r.stdout(), r.stderr());
    let case = r.case();
    assert_eq!(case["status"], "known_failing");
    assert_eq!(
        case["expected"]["justification"],
        "the interpreter is /bin/false here"
    );
    assert_eq!(case["expected"]["source"], format!("{kf}:2"));
    assert!(
        case["message"]
            .as_str()
            .unwrap()
            .starts_with("plugin started: expected started"),
        "{case}"
    );
    let json = r.json();
    assert_eq!(json["counts"]["known_failing"], 1);
    assert_eq!(json["counts"]["must_failures"], 0);
    assert_fits_the_schema(&json);
    let junit = r.file("conformance.junit.xml");
    assert!(
        junit.contains("<skipped message=\"known failing (the interpreter is /bin/false here"),
        "{junit}"
    );
    assert!(!junit.contains("<failure"), "{junit}");
    assert!(r.file("summary.md").contains("### Known failing (1)"));
    assert!(
        r.stdout()
            .contains("KNOWN-FAILING [MUST] handshake/python-sdk-five-fields")
    );

    // Without the list the same failure fails the run.
    let plain = run(work.path(), Some(Path::new("/bin/false")), &[]);
    assert_eq!(plain.code(), Some(1));
}

#[test]
fn a_known_failing_case_that_passes_is_a_stale_entry_and_fails_the_run() {
    let work = tempfile::tempdir().unwrap();
    let kf = list(work.path(), "kf.txt", &format!("{CASE}  # was broken\n"));
    let r = run(work.path(), None, &["--known-failing", &kf]);
    assert_eq!(r.code(), Some(1), "{}\n{}", r.stdout(), r.stderr());
    assert_eq!(r.case()["status"], "stale_known_failing");
    assert!(
        r.stdout().contains(&format!(
            "STALE   [MUST] {CASE} - stale known-failing entry: the case passed; remove `{CASE}` (was broken) from {kf}:1"
        )),
        "{}",
        r.stdout()
    );
    assert!(
        r.file("conformance.junit.xml")
            .contains("<failure message=\"[MUST] stale known-failing entry")
    );
    assert!(r.file("summary.md").contains("**FAIL**"));
}

#[test]
fn bad_lists_are_errors_before_any_case_runs() {
    let work = tempfile::tempdir().unwrap();
    let cases = [
        (
            "handshake/no-such-case  # typo\n",
            "kf.txt:1: known-failing pattern \"handshake/no-such-case\"",
        ),
        (&*format!("{CASE}\n"), "kf.txt:1: known-failing entry"),
        (&*format!("{CASE}   #\n"), "has no justification"),
    ];
    for (text, expected) in cases {
        let kf = list(work.path(), "kf.txt", text);
        let r = run(work.path(), None, &["--known-failing", &kf]);
        assert_eq!(r.code(), Some(2), "{text}: {}", r.stderr());
        assert!(r.stderr().contains(expected), "{text}: {}", r.stderr());
        assert!(
            !r.dir.join("conformance.json").exists(),
            "no case ran, no report"
        );
    }
    let flaky = list(work.path(), "flaky.txt", "shutdown/*  # slow CI machines\n");
    let r = run(work.path(), None, &["--known-flaky", &flaky]);
    assert_eq!(r.code(), Some(2));
    assert!(
        r.stderr().contains("known-flaky pattern \"shutdown/*\""),
        "{}",
        r.stderr()
    );
    let r = run(
        work.path(),
        None,
        &["--known-failing", "/nonexistent/known-failing.txt"],
    );
    assert_eq!(r.code(), Some(2));
    assert!(
        r.stderr()
            .contains("cannot read the known-failing list /nonexistent/known-failing.txt"),
        "{}",
        r.stderr()
    );
}

#[test]
fn a_case_that_passes_on_a_retry_is_flaky_and_the_run_passes() {
    for args in [vec!["--retries", "1"], vec!["--known-flaky", "LIST"]] {
        let work = tempfile::tempdir().unwrap();
        let flaky = list(work.path(), "flaky.txt", &format!("{CASE}  # slow disk\n"));
        let args: Vec<&str> = args
            .iter()
            .map(|a| if *a == "LIST" { flaky.as_str() } else { a })
            .collect();
        let r = run(work.path(), Some(&fails_once(work.path())), &args);
        assert_eq!(
            r.code(),
            Some(0),
            "{args:?}: {}\n{}",
            r.stdout(),
            r.stderr()
        );
        let case = r.case();
        assert_eq!(case["status"], "flaky", "{args:?}: {case}");
        assert_eq!(case["previous_attempts"].as_array().unwrap().len(), 1);
        assert_eq!(case["previous_attempts"][0]["status"], "failed");
        let json = r.json();
        assert_eq!(json["counts"]["flaky"], 1);
        assert_eq!(json["counts"]["passed"], 0, "flaky is never passed");
        assert_fits_the_schema(&json);
        let junit = r.file("conformance.junit.xml");
        assert!(junit.contains("<flakyFailure"), "{junit}");
        assert!(r.file("summary.md").contains("### Flaky (1)"));
    }
}

#[test]
fn a_case_that_never_passes_is_retried_then_fails() {
    let work = tempfile::tempdir().unwrap();
    let flaky = list(work.path(), "flaky.txt", &format!("{CASE}  # slow disk\n"));
    // A known-flaky case gets 2 retries by default; --retries overrides it.
    for (args, attempts) in [
        (vec!["--known-flaky", flaky.as_str()], 3),
        (vec!["--known-flaky", flaky.as_str(), "--retries", "1"], 2),
        (vec!["--retries", "1"], 2),
        (vec![], 1),
    ] {
        let r = run(work.path(), Some(Path::new("/bin/false")), &args);
        assert_eq!(r.code(), Some(1), "{args:?}");
        let case = r.case();
        assert_eq!(case["status"], "failed", "{args:?}");
        assert_eq!(
            case["previous_attempts"].as_array().unwrap().len(),
            attempts - 1,
            "{args:?}: {case}"
        );
        if attempts > 1 {
            assert!(
                case["message"]
                    .as_str()
                    .unwrap()
                    .ends_with(&format!("(failed all {attempts} attempts)")),
                "{case}"
            );
        }
    }
}
