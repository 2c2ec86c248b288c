//! `plugin-conformance host -- CMD`: the reference host behind the driver contract passes
//! every host case; a driver that does not announce itself properly is a usage error.

use assert_cmd::Command;

fn cli() -> Command {
    Command::new(assert_cmd::cargo::cargo_bin!("plugin-conformance"))
}

#[test]
fn the_reference_host_passes_every_host_case_through_its_driver() {
    let out = tempfile::tempdir().unwrap();
    let exe = assert_cmd::cargo::cargo_bin!("plugin-conformance");
    let result = cli()
        .env("CI", "true")
        .args(["host", "--out-dir"])
        .arg(out.path())
        .arg("--")
        .arg(exe)
        .arg("reference-host")
        .timeout(std::time::Duration::from_secs(300))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert!(
        result.status.success(),
        "stdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.path().join("conformance.json")).unwrap())
            .unwrap();
    assert_eq!(report["subject"]["kind"], "host");
    let cases = report["cases"].as_array().unwrap();
    let count = |prefix: &str| {
        cases
            .iter()
            .filter(|c| c["name"].as_str().unwrap().starts_with(prefix))
            .count()
    };
    // 41 unary hooks + unlisted + coverage + Implemented error + deadline + one per
    // multi-plugin scenario; every API
    // case; lifecycle and HTTP cases.
    assert_eq!(
        count("host/hooks/"),
        45 + conformance_suites::multi_hook_scenario_count()
    );
    assert_eq!(
        count("host/api/"),
        conformance_suites::api::api_cases().len()
    );
    assert!(count("host/handshake/") >= 10 && count("host/serve-http/") >= 2);
    let not_passed: Vec<String> = cases
        .iter()
        .filter(|c| c["status"] != "passed")
        .map(|c| format!("{} [{}]: {}", c["name"], c["status"], c["message"]))
        .collect();
    assert_eq!(not_passed, Vec::<String>::new());
}

/// Against a host that declares no capabilities (the reference host behaving like a real
/// server), the API cases that need one, and the destructive ones, are skipped with the
/// reason; every other API case passes on the shared store (SPEC §25.2, §25.4).
#[test]
fn a_driver_that_declares_no_capabilities_gets_the_gated_cases_skipped_with_the_reason() {
    let out = tempfile::tempdir().unwrap();
    let exe = assert_cmd::cargo::cargo_bin!("plugin-conformance");
    let result = cli()
        .env("CI", "true")
        .args(["host", "--run", "host/api/*", "--out-dir"])
        .arg(out.path())
        .arg("--")
        .arg(exe)
        .args(["reference-host", "--capabilities", "none"])
        .timeout(std::time::Duration::from_secs(300))
        .output()
        .unwrap();
    assert!(
        result.status.success(),
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&result.stdout),
        String::from_utf8_lossy(&result.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.path().join("conformance.json")).unwrap())
            .unwrap();
    let outcomes: std::collections::HashMap<String, (String, String)> = report["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_string(),
                (
                    c["status"].as_str().unwrap().to_string(),
                    c["message"].as_str().unwrap_or_default().to_string(),
                ),
            )
        })
        .collect();
    let mut gated = 0;
    for case in conformance_suites::api::api_cases() {
        let (status, message) = &outcomes[&format!("host/api/{}", case.name)];
        let needs = case.required_capabilities();
        if let Some(first) = needs.iter().next() {
            gated += 1;
            assert_eq!(status, "skipped", "{}", case.name);
            assert!(message.contains(first.name()), "{}: {message}", case.name);
        } else if case.destructive.is_some() {
            assert_eq!(status, "skipped", "{}", case.name);
            assert!(
                message.starts_with("destructive"),
                "{}: {message}",
                case.name
            );
        } else {
            assert_eq!(status, "passed", "{}: {message}", case.name);
        }
    }
    assert!(gated > 30, "only {gated} capability-gated cases");
}

#[test]
fn a_driver_without_a_proper_announcement_is_a_clear_error() {
    let result = cli()
        .env("CI", "true")
        .args(["host", "--", "sh", "-c", "echo hello; sleep 5"])
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(result.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(stderr.contains("plugin-conformance-driver|1|"), "{stderr}");
    assert!(stderr.contains("\"hello\""), "{stderr}");
}

/// The parent pid of `pid` (field 4 of `/proc/PID/stat`).
fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// The children of `parent` whose command line contains `needle`.
fn children(parent: u32, needle: &str) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| parent_of(*pid) == Some(parent))
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| String::from_utf8_lossy(&c).contains(needle))
                .unwrap_or(false)
        })
        .collect()
}

/// Polls `found` until it gives something, for at most `limit`.
fn wait_for<T>(limit: std::time::Duration, mut found: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if let Some(t) = found() {
            return t;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not seen within {limit:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// A driver killed while the run is under way: one diagnosis (`host/driver/alive`,
/// naming the signal), every case it took down errored and blocked by it, no host
/// failure, exit 2.
#[test]
fn a_driver_killed_mid_run_is_one_root_cause_and_the_cases_it_took_down_are_errored() {
    driver_lost_mid_run(libc::SIGKILL, "the driver was killed by signal 9");
}

/// A driver that stops answering (stopped with SIGSTOP: alive, silent) is noticed by the
/// heartbeat's deadline, the same way.
#[test]
fn a_driver_that_stops_answering_is_one_root_cause_too() {
    driver_lost_mid_run(
        libc::SIGSTOP,
        "the driver stopped answering: Describe gave no answer within 10s",
    );
}

fn driver_lost_mid_run(signal: i32, diagnosis: &str) {
    let out = tempfile::tempdir().unwrap();
    let exe = assert_cmd::cargo::cargo_bin!("plugin-conformance");
    let mut harness = std::process::Command::new(exe)
        .env("CI", "true")
        .args(["host", "--out-dir"])
        .arg(out.path())
        .arg("--")
        .arg(exe)
        .arg("reference-host")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let harness_pid = harness.id();
    let limit = std::time::Duration::from_secs(60);
    let driver = wait_for(limit, || {
        children(harness_pid, "reference-host").first().copied()
    });
    // Under way: the driver has started a plugin.
    wait_for(limit, || (!children(driver, "").is_empty()).then_some(()));
    // SAFETY: kill on a pid of our own child's child.
    assert_eq!(unsafe { libc::kill(driver as i32, signal) }, 0);
    let result = wait_for(std::time::Duration::from_secs(300), || {
        harness.try_wait().unwrap()
    });
    let mut stdout = String::new();
    let mut stderr = String::new();
    use std::io::Read;
    harness
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    harness
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(
        result.code(),
        Some(2),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(
        stderr.contains(&format!("the run could not be carried out: {diagnosis}")),
        "{stderr}"
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.path().join("conformance.json")).unwrap())
            .unwrap();
    let cases = report["cases"].as_array().unwrap();
    let alive = cases
        .iter()
        .find(|c| c["name"] == "host/driver/alive")
        .unwrap();
    assert_eq!(alive["status"], "errored", "{alive:#}");
    assert!(
        alive["message"].as_str().unwrap().starts_with(diagnosis),
        "{alive:#}"
    );
    let failed: Vec<&str> = cases
        .iter()
        .filter(|c| c["status"] == "failed" || c["status"] == "timed_out")
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(failed, Vec::<&str>::new(), "no host failure");
    let errored: Vec<&serde_json::Value> = cases
        .iter()
        .filter(|c| c["status"] == "errored" && c["name"] != "host/driver/alive")
        .collect();
    assert!(!errored.is_empty());
    for c in &errored {
        assert_eq!(c["blocked_by"], "host/driver/alive", "{c:#}");
        assert!(
            c["message"]
                .as_str()
                .unwrap()
                .starts_with(&format!("not carried out: {diagnosis}")),
            "{c:#}"
        );
    }
    assert!(
        stdout.contains(&format!(
            "ROOT CAUSE [MUST] host/driver/alive - {diagnosis}"
        )),
        "{stdout}"
    );
}
