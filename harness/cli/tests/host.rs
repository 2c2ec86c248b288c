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
    // 41 unary hooks + unlisted + coverage; 353 API cases; lifecycle and HTTP cases.
    assert_eq!(count("host/hooks/"), 43);
    assert_eq!(count("host/api/"), 353);
    assert!(count("host/handshake/") >= 10 && count("host/serve-http/") >= 2);
    assert_eq!(report["counts"]["passed"], report["counts"]["total"]);
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
