//! `plugin-conformance plugin --bundle DIR` end to end: the Python reference plugin passes
//! every MUST case (and its bundle is left as it was), misbehaving fake bundles fail the
//! case that names their fault (MUST → exit 1; SHOULD → a warning, exit 0), and a bundle
//! that cannot be read is a usage error (exit 2).

mod support;

use std::collections::BTreeMap;
use std::path::Path;

use conformance_core::fixtures::{BundleBuilder, FakeMode};
use serde_json::Value;
use support::{Work, case, cli, expect, explain};

/// A port free right now (the listener that found it is closed again).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// More than half of the report's cases noted that they ran alone (the fixed-port gate).
fn assert_most_ran_alone(report: &Value) {
    let cases = report["cases"].as_array().unwrap();
    let alone = cases
        .iter()
        .filter(|c| {
            c["notes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|n| n == conformance_suites::plugin_check::gate::ALONE_NOTE)
        })
        .count();
    assert!(
        alone > cases.len() / 2,
        "{alone} of {} ran alone",
        cases.len()
    );
}

/// Every file of a bundle (links as their targets), with its contents.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let content = if path.is_symlink() {
            std::fs::read_link(&path)
                .unwrap()
                .to_string_lossy()
                .into_owned()
                .into_bytes()
        } else if path.is_file() {
            std::fs::read(&path).unwrap()
        } else {
            b"<dir>".to_vec()
        };
        out.insert(name, content);
    }
    out
}

#[test]
fn the_python_reference_plugin_passes_every_must_case_and_its_bundle_is_left_alone() {
    let work = Work::new();
    let Some(bundle) = work.python_reference() else {
        return;
    };
    let before = snapshot(&bundle);

    let out = work.plugin(&bundle, &[]);
    assert!(out.status.success(), "{}", explain(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("PASS: "), "{stdout}");

    let report = work.report();
    assert_eq!(report["subject"]["kind"], "plugin");
    assert_eq!(
        report["subject"]["name"],
        "com.mattermost.conformance.python-reference"
    );
    assert_eq!(report["subject"]["version"], "0.1.0");
    assert_eq!(report["counts"]["must_failures"], 0);
    let cases = report["cases"].as_array().unwrap();
    let listed = conformance_suites::plugin_check::cases(&bundle);
    assert_eq!(cases.len(), listed.len());
    let not_passed: Vec<String> = cases
        .iter()
        .filter(|c| c["level"] == "MUST" && c["status"] != "passed")
        .map(|c| format!("{}: {} {}", c["name"], c["status"], c["message"]))
        .collect();
    assert_eq!(not_passed, Vec::<String>::new());
    // It declares the behaviour, so those cases ran; it implements every hook, so no
    // hook case was skipped.
    assert!(
        cases
            .iter()
            .filter(|c| c["name"].as_str().unwrap().starts_with("plugin/behaviour/"))
            .count()
            > 40
    );
    expect(&out, &report, "plugin/hooks/OnSAMLLogin", "passed");
    expect(&out, &report, "plugin/serve-http/get", "passed");
    let activation = case(&report, "plugin/activation");
    let notes: Vec<&str> = activation["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert!(
        notes.contains(&"PluginAPI call: GetServerVersion → ok")
            && notes.contains(&"PluginAPI call: KVSet → ok"),
        "{notes:?}"
    );

    // The harness never writes to the user's bundle (the plugin itself appends to the
    // observation file its conformance.json names).
    let mut after = snapshot(&bundle);
    after.remove("observations.jsonl");
    let mut before = before;
    before.remove("observations.jsonl");
    assert_eq!(before, after);
    work.assert_clean();
}

#[test]
fn stdout_noise_before_the_handshake_fails_the_first_line_case() {
    let work = Work::new();
    let bundle = work.fake(FakeMode::StdoutNoiseBeforeHandshake);
    let out = work.plugin(&bundle, &["--run", "plugin/handshake/*"]);
    assert_eq!(out.status.code(), Some(1), "{}", explain(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("FAIL    [MUST] plugin/handshake/first-line"),
        "{stdout}"
    );
    let report = work.report();
    let first = expect(&out, &report, "plugin/handshake/first-line", "failed");
    let message = first["message"].as_str().unwrap();
    assert!(
        message.contains("Starting plugin") && message.contains("stderr"),
        "{message}"
    );
    assert_eq!(report["subject"]["name"], "com.example.misbehaving");
    work.assert_clean();
}

#[test]
fn a_bad_core_version_fails_the_format_case_but_not_the_first_line_case() {
    let work = Work::new();
    let bundle = work.fake(FakeMode::BadCoreVersion);
    let out = work.plugin(&bundle, &["--run", "plugin/handshake/*"]);
    assert_eq!(out.status.code(), Some(1), "{}", explain(&out));
    let report = work.report();
    let format = expect(&out, &report, "plugin/handshake/format", "failed");
    assert!(
        format["message"]
            .as_str()
            .unwrap()
            .contains("core protocol version 2"),
        "{format}"
    );
    expect(&out, &report, "plugin/handshake/first-line", "passed");
    expect(
        &out,
        &report,
        "plugin/handshake/within-start-timeout",
        "passed",
    );
    work.assert_clean();
}

#[test]
fn a_plugin_without_the_plugin_health_name_fails_health() {
    let work = Work::new();
    let bundle = work.fake(FakeMode::HealthWrongName);
    let out = work.plugin(&bundle, &["--run", "plugin/health/*"]);
    assert_eq!(out.status.code(), Some(1), "{}", explain(&out));
    let report = work.report();
    let serving = expect(&out, &report, "plugin/health/plugin-serving", "failed");
    assert!(
        serving["message"].as_str().unwrap().contains("NOT_FOUND"),
        "{serving}"
    );
    // "" is known to it: the MAY case passes.
    expect(&out, &report, "plugin/health/empty-service-name", "passed");
    work.assert_clean();
}

#[test]
fn a_grandchild_left_behind_fails_the_no_leftover_case() {
    let work = Work::new();
    let bundle = work.fake(FakeMode::SpawnsGrandchild);
    let out = work.plugin(&bundle, &["--run", "plugin/shutdown/*"]);
    assert_eq!(out.status.code(), Some(1), "{}", explain(&out));
    let report = work.report();
    let leftover = expect(
        &out,
        &report,
        "plugin/shutdown/no-leftover-processes",
        "failed",
    );
    assert_eq!(leftover["level"], "MUST");
    assert!(
        leftover["message"]
            .as_str()
            .unwrap()
            .contains("still running"),
        "{leftover}"
    );
    work.assert_clean();
}

#[test]
fn an_sdk_style_plugin_without_a_controller_gets_a_should_warning_only() {
    let work = Work::new();
    let bundle = work.fake(FakeMode::ExitsOnSigtermOnly);
    let out = work.plugin(&bundle, &["--run", "plugin/shutdown/*"]);
    // Only SHOULD cases fail: a warning, not a failed run.
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("FAIL    [SHOULD] plugin/shutdown/controller-answers"),
        "{stdout}"
    );
    let report = work.report();
    let controller = expect(
        &out,
        &report,
        "plugin/shutdown/controller-answers",
        "failed",
    );
    assert!(
        controller["message"]
            .as_str()
            .unwrap()
            .contains("UNIMPLEMENTED"),
        "{controller}"
    );
    expect(
        &out,
        &report,
        "plugin/shutdown/exits-within-grace",
        "failed",
    );
    expect(&out, &report, "plugin/shutdown/exits-on-sigterm", "passed");
    expect(
        &out,
        &report,
        "plugin/shutdown/no-leftover-processes",
        "passed",
    );
    assert_eq!(report["counts"]["must_failures"], 0);
    assert_eq!(report["counts"]["warnings"], 2);
    // The JUnit file gives the exit code's verdict: no failed test, the two warnings
    // visible as skipped tests that say so.
    let xml = std::fs::read_to_string(work.path().join("reports/conformance.junit.xml")).unwrap();
    let junit = quick_junit::Report::deserialize_from_str(&xml).expect("the JUnit file parses");
    assert_eq!((junit.failures, junit.errors), (0, 0), "{xml}");
    let warnings: Vec<String> = junit
        .test_suites
        .iter()
        .flat_map(|s| &s.test_cases)
        .filter_map(|c| match &c.status {
            quick_junit::TestCaseStatus::Skipped { message, .. } => message
                .as_ref()
                .map(|m| format!("{}: {}", c.name.as_str(), m.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings.iter().any(|w| w
            .starts_with("plugin/shutdown/controller-answers: warning: [SHOULD] not met (failed")),
        "{warnings:?}"
    );
    work.assert_clean();
}

#[test]
fn a_packed_bundle_is_checked_as_its_directory_and_its_unpacked_copy_is_removed() {
    let work = Work::new();
    let dir = work.fake(FakeMode::ExitsOnSigtermOnly);
    let archive = work.path().join("misbehaving.tar.gz");
    conformance_core::bundle_archive::pack(&dir, "com.example.misbehaving", &archive).unwrap();
    let statuses = |report: &Value| -> Vec<(String, String)> {
        report["cases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["name"].to_string(), c["status"].to_string()))
            .collect()
    };
    let out = work.plugin(&dir, &["--run", "plugin/shutdown/*"]);
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    let from_dir = statuses(&work.report());
    let out = work.plugin(&archive, &["--run", "plugin/shutdown/*"]);
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    let report = work.report();
    assert_eq!(statuses(&report), from_dir);
    assert_eq!(report["subject"]["name"], "com.example.misbehaving");
    // Not a bundle at all: a clear usage error, nothing left behind.
    let garbage = work.path().join("garbage.tar.gz");
    std::fs::write(&garbage, [0x1f, 0x8b, 0, 1, 2]).unwrap();
    let out = work.plugin(&garbage, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", explain(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("garbage.tar.gz"),
        "{}",
        explain(&out)
    );
    work.assert_clean();
}

#[test]
fn what_the_plugin_logs_is_in_every_report_at_go_plugins_level() {
    let work = Work::new();
    // Writes an hclog JSON line at warn, a `[ERROR]` line and a plain line after its
    // handshake.
    let bundle = work.fake(FakeMode::Chatty);
    let out = work.plugin(&bundle, &["--run", "plugin/activation*"]);
    let report = work.report();
    let notes: Vec<String> = report["cases"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["notes"].as_array().unwrap().clone())
        .filter_map(|n| n.as_str().map(str::to_string))
        .collect();
    let has = |want: &str| notes.iter().any(|n| n.starts_with(want));
    assert!(
        has("plugin log [WARN] disk almost full free_mb=12"),
        "{notes:#?}\n{}",
        explain(&out)
    );
    assert!(
        has("plugin log [ERROR] ")
            && notes
                .iter()
                .any(|n| n.contains("could not reach the upstream service")),
        "{notes:#?}"
    );
    assert!(
        has("plugin log [DEBUG] a plain line without a level"),
        "{notes:#?}"
    );
    let summary = std::fs::read_to_string(work.path().join("reports/summary.md")).unwrap();
    assert!(
        summary.contains("### Plugin log lines at WARN or above")
            && summary.contains("disk almost full")
            && !summary.contains("a plain line without a level"),
        "{summary}"
    );
    let junit = std::fs::read_to_string(work.path().join("reports/conformance.junit.xml")).unwrap();
    assert!(junit.contains("disk almost full"), "{junit}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("plugin log lines at WARN or above"),
        "{}",
        explain(&out)
    );
    work.assert_clean();
}

#[test]
fn plugins_on_a_fixed_port_are_detected_and_not_confused_and_one_on_an_os_port_passes() {
    let work = Work::new();
    let Some(bundle) = work.python_reference() else {
        return;
    };
    let run = |work: &Work| {
        let out = work.plugin(&bundle, &["--run", "plugin/handshake/port-not-fixed"]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "a SHOULD case: {}",
            explain(&out)
        );
        out
    };
    let out = run(&work);
    expect(
        &out,
        &work.report(),
        "plugin/handshake/port-not-fixed",
        "passed",
    );

    // The same plugin, made to listen on one fixed port as go-plugin's Python example does.
    let port = free_port();
    let script = bundle.join("plugin.py");
    let text = std::fs::read_to_string(&script).unwrap();
    let bind = "server.add_insecure_port(\"127.0.0.1:0\")";
    assert!(text.contains(bind), "plugin.py binds 127.0.0.1:0");
    std::fs::write(
        &script,
        text.replace(
            bind,
            &format!("server.add_insecure_port(\"127.0.0.1:{port}\")"),
        ),
    )
    .unwrap();
    let out = run(&work);
    let case = expect(
        &out,
        &work.report(),
        "plugin/handshake/port-not-fixed",
        "failed",
    );
    let message = case["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(&format!("127.0.0.1:{port} is also listened on"))
            && message.contains("a fixed port"),
        "{case}"
    );

    // Its cases, run several at once, are not confused: the first collision makes the
    // rest of the bundle's cases run one at a time, and every MUST case passes.
    let out = work.plugin(
        &bundle,
        &[
            "--jobs",
            "3",
            "--run",
            "plugin/handshake/*",
            "--run",
            "plugin/hooks/*",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    let report = work.report();
    assert_eq!(report["counts"]["must_failures"], 0, "{}", explain(&out));
    assert_most_ran_alone(&report);

    // Another process listening on the same port (with SO_REUSEPORT, as grpcio does) is
    // detected before the host trusts a connection, and named.
    let mut holder = std::process::Command::new("python3")
        .args([
            "-c",
            &format!(
                "import socket, sys, time\n\
                 s = socket.socket()\n\
                 s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)\n\
                 s.bind(('127.0.0.1', {port}))\n\
                 s.listen()\n\
                 print('listening', flush=True)\n\
                 time.sleep(120)\n"
            ),
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut ready = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(holder.stdout.take().unwrap()),
        &mut ready,
    )
    .unwrap();
    assert_eq!(ready.trim(), "listening");
    let out = work.plugin(&bundle, &["--run", "plugin/implemented/answers"]);
    holder.kill().unwrap();
    holder.wait().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", explain(&out));
    let case = expect(&out, &work.report(), "plugin/implemented/answers", "failed");
    let message = case["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(&format!(
            "127.0.0.1:{port} is also listened on outside the plugin's process group, by pid {} (",
            holder.id()
        )),
        "{case}"
    );
    work.assert_clean();
}

#[test]
fn a_bundle_mattermost_could_not_launch_is_one_root_cause_and_the_rest_blocked() {
    let work = Work::new();
    // As the upstream SDK's hello_python example ships: a runtime but no executable.
    let bundle = work.path().join("no-executable");
    std::fs::create_dir_all(&bundle).unwrap();
    std::fs::write(
        bundle.join("plugin.json"),
        r#"{"id": "com.example.noexe", "version": "0.1.0", "server": {"runtime": "python"}}"#,
    )
    .unwrap();
    let out = work.plugin(&bundle, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", explain(&out));
    let report = work.report();
    let total = report["counts"]["total"].as_u64().unwrap();
    assert_eq!(
        report["counts"]["blocked"].as_u64(),
        Some(total - 1),
        "{report}"
    );
    let root = expect(&out, &report, "plugin/bundle/launch-plan", "failed");
    assert!(
        root["message"]
            .as_str()
            .unwrap()
            .contains("server.executable"),
        "the diagnosis names the missing key: {root}"
    );
    for case in report["cases"].as_array().unwrap() {
        if case["name"] != "plugin/bundle/launch-plan" {
            assert_eq!(case["blocked_by"], "plugin/bundle/launch-plan", "{case}");
            assert_eq!(case["status"], "failed", "{case}");
        }
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("ROOT CAUSE [MUST] plugin/bundle/launch-plan - "),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "FAIL: root cause plugin/bundle/launch-plan (blocks {}); ",
            total - 1
        )),
        "{stdout}"
    );
    work.assert_clean();
}

#[test]
fn a_plugin_without_plugin_hooks_is_one_root_cause_and_its_hook_cases_blocked() {
    let work = Work::new();
    let bundle = work.fake(FakeMode::NoPluginHooks);
    let out = work.plugin(&bundle, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", explain(&out));
    let report = work.report();
    expect(&out, &report, "plugin/implemented/answers", "failed");
    // What does not need hooks still runs and is judged on its own.
    expect(&out, &report, "plugin/health/plugin-serving", "passed");
    let cases = report["cases"].as_array().unwrap();
    let blocked: Vec<&str> = cases
        .iter()
        .filter(|c| c["blocked_by"] == "plugin/implemented/answers")
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert!(blocked.contains(&"plugin/activation"), "{blocked:?}");
    assert!(blocked.contains(&"plugin/hooks/OnActivate"), "{blocked:?}");
    assert_eq!(
        report["counts"]["blocked"].as_u64(),
        Some(blocked.len() as u64)
    );
    assert!(blocked.len() > 40, "{blocked:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("ROOT CAUSE [MUST] plugin/implemented/answers - "),
        "{stdout}"
    );
    work.assert_clean();
}

#[test]
fn a_plugin_that_ignores_shutdown_and_sigterm_is_reported() {
    let work = Work::new();
    let bundle = work.fake(FakeMode::IgnoresShutdown);
    let out = work.plugin(&bundle, &["--run", "plugin/shutdown/*"]);
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    let report = work.report();
    let sigterm = expect(&out, &report, "plugin/shutdown/exits-on-sigterm", "failed");
    assert!(
        sigterm["message"]
            .as_str()
            .unwrap()
            .contains("after SIGTERM"),
        "{sigterm}"
    );
    let grace = expect(
        &out,
        &report,
        "plugin/shutdown/exits-within-grace",
        "failed",
    );
    assert!(
        grace["message"].as_str().unwrap().contains("SIGKILL"),
        "{grace}"
    );
    // It answers Shutdown, though.
    expect(
        &out,
        &report,
        "plugin/shutdown/controller-answers",
        "passed",
    );
    work.assert_clean();
}

#[test]
fn behaviour_cases_are_listed_only_for_a_bundle_that_declares_them() {
    let work = Work::new();
    let bundle = work.path().join("declares");
    let manifest = r#"{"id": "com.example.declares", "version": "1.0.0",
        "server": {"runtime": "python", "executable": "plugin.py"},
        "props": {"conformance_behaviour": "v2"}}"#;
    BundleBuilder::new(FakeMode::Healthy)
        .manifest(manifest)
        .write(&bundle)
        .unwrap();
    let out = work.plugin(&bundle, &["--list", "--run", "plugin/behaviour/*"]);
    assert!(out.status.success(), "{}", explain(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("plugin/behaviour/MessageWillBePosted/answers"),
        "{stdout}"
    );

    let plain = work.fake(FakeMode::Healthy);
    let out = work.plugin(&plain, &["--list"]);
    assert!(out.status.success(), "{}", explain(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("plugin/hooks/OnActivate "), "{stdout}");
    assert!(!stdout.contains("plugin/behaviour/"), "{stdout}");
    assert!(!work.path().join("reports").exists(), "--list runs nothing");
}

#[test]
fn a_missing_or_unreadable_bundle_is_a_usage_error() {
    let work = Work::new();
    let missing = work.path().join("no-such-bundle");
    let out = work.plugin(&missing, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", explain(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no-such-bundle") && stderr.contains("cannot be opened"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");

    let empty = work.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let out = work.plugin(&empty, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", explain(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no plugin.json"),
        "{}",
        explain(&out)
    );

    let broken = work.path().join("broken");
    std::fs::create_dir(&broken).unwrap();
    std::fs::write(broken.join("plugin.json"), "{\"name\": ").unwrap();
    let out = work.plugin(&broken, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", explain(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not a valid manifest"),
        "{}",
        explain(&out)
    );
    assert!(!work.path().join("reports").exists());
}

/// Fake plugins that all listen on one fixed port with SO_REUSEPORT (as grpcio lets
/// copies of go-plugin's Python example share 127.0.0.1:1234): the host refuses a start
/// whose address another copy also listens on, port-not-fixed names it, and the bundle's
/// cases, once a collision is seen, run one at a time and all pass.
#[test]
fn fake_plugins_on_one_fixed_port_are_detected_and_not_confused() {
    let work = Work::new();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let bundle = work.fake_with(FakeMode::FixedPort, &[("listen", listen.as_str())]);
    let out = work.plugin(&bundle, &["--jobs", "4"]);
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    let report = work.report();
    assert_eq!(report["counts"]["must_failures"], 0, "{}", explain(&out));
    let case = expect(&out, &report, "plugin/handshake/port-not-fixed", "failed");
    let message = case["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(&format!(
            "{listen} is also listened on outside the plugin's process group"
        )),
        "{case}"
    );
    assert_most_ran_alone(&report);
    work.assert_clean();
}

/// The README's recipe: `reference-plugin --out DIR --pack FILE.tar.gz` (relative paths)
/// writes a self-contained bundle: it keeps working after the cargo target directory it
/// was prepared from is removed (`cargo clean`), points nowhere outside itself but to the
/// system's Python, and its packed copy passes too.
#[test]
fn reference_plugin_writes_a_self_contained_bundle_that_survives_cargo_clean() {
    if let Err(reason) = conformance_core::python_reference::prepare() {
        eprintln!("skipped: the Python reference plugin cannot be prepared: {reason}");
        return;
    }
    let work = Work::new();
    // A target directory of its own, removed below as `cargo clean` would.
    let target = work.path().join("target");
    let wrote = cli()
        .current_dir(work.path())
        .env("CARGO_TARGET_DIR", &target)
        .args([
            "reference-plugin",
            "--out",
            "bundle",
            "--pack",
            "ref.tar.gz",
        ])
        .output()
        .unwrap();
    assert!(wrote.status.success(), "{}", explain(&wrote));
    let printed = String::from_utf8_lossy(&wrote.stdout);
    let bundle = work.path().join("bundle").canonicalize().unwrap();
    assert!(
        printed.starts_with(&format!("{}\n", bundle.display())),
        "{printed}"
    );
    assert!(target.join("python-reference").is_dir());
    std::fs::remove_dir_all(&target).unwrap();

    // Nothing points outside the bundle but the venv's interpreter.
    let mut pending = vec![bundle.clone()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_symlink() {
                let resolved = path
                    .canonicalize()
                    .unwrap_or_else(|e| panic!("{} is a broken link: {e}", path.display()));
                assert!(
                    resolved.starts_with(&bundle) || path.starts_with(bundle.join("venv/bin")),
                    "{} -> {}",
                    path.display(),
                    resolved.display()
                );
            } else if path.is_dir() {
                pending.push(path);
            }
        }
    }
    let requirements = std::fs::read_to_string(bundle.join("requirements.txt")).unwrap();
    assert!(requirements.contains("grpcio=="), "{requirements}");
    assert!(!requirements.contains("grpcio-tools"), "{requirements}");
    let config: Value =
        serde_json::from_slice(&std::fs::read(bundle.join("conformance.json")).unwrap()).unwrap();
    assert_eq!(config["observe"], Value::Null);

    for (what, path) in [("bundle", "bundle"), ("packed bundle", "ref.tar.gz")] {
        let out = work.plugin(
            &work.path().join(path),
            &[
                "--run",
                "plugin/health/*",
                "--run",
                "plugin/hooks/MessageWillBePosted",
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{what}: {}", explain(&out));
        expect(
            &out,
            &work.report(),
            "plugin/hooks/MessageWillBePosted",
            "passed",
        );
    }
    // Written again over itself, the venv is kept.
    let again = cli()
        .current_dir(work.path())
        .args(["reference-plugin", "--out", "bundle"])
        .output()
        .unwrap();
    assert!(again.status.success(), "{}", explain(&again));
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("venv kept"),
        "{}",
        explain(&again)
    );
    work.assert_clean();
}
