//! Every clause a case cites resolves in `docs/SPEC.md`: the cases of `run`, of `host`
//! (listed through the reference host's driver) and of `plugin` (behaviour cases
//! included). A citation of a section that does not exist fails here, naming the case.

use std::sync::Arc;

use assert_cmd::cargo::cargo_bin;
use conformance_core::driver::process::DriverProcess;
use conformance_core::runner::Case;
use conformance_core::spec;

fn unresolved(cases: &[Case]) -> Vec<String> {
    cases
        .iter()
        .filter_map(|c| {
            spec::resolve(&c.clause)
                .err()
                .map(|e| format!("{}: {e}", c.name))
        })
        .collect()
}

#[test]
fn the_specification_parses() {
    let clauses = spec::parse(spec::SPEC_MD).unwrap_or_else(|e| panic!("docs/SPEC.md: {e}"));
    // Every numbered section of the protocol (§1–§25) is there.
    for n in 1..=25 {
        assert!(clauses.contains_key(&n.to_string()), "§{n} is missing");
    }
}

#[test]
fn every_run_case_cites_a_clause_that_exists() {
    let cases = conformance_suites::all();
    assert!(cases.len() > 900, "{} cases", cases.len());
    assert_eq!(unresolved(&cases), Vec::<String>::new());
}

#[test]
fn every_plugin_case_cites_a_clause_that_exists() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("plugin.json"),
        r#"{"id": "x", "server": {"executable": "plugin.py"}, "props": {"conformance_behaviour": "v2"}}"#,
    )
    .unwrap();
    let cases = conformance_suites::plugin_check::cases(dir.path());
    assert!(
        cases
            .iter()
            .any(|c| c.name.starts_with("plugin/behaviour/"))
    );
    assert_eq!(unresolved(&cases), Vec::<String>::new());
}

#[tokio::test]
async fn every_host_case_cites_a_clause_that_exists() {
    let cli = cargo_bin!("plugin-conformance").display().to_string();
    let driver = Arc::new(
        DriverProcess::start(&[cli, "reference-host".into()])
            .await
            .expect("the reference host's driver starts"),
    );
    let cases = conformance_suites::host::cases(driver.clone(), Default::default());
    let missing = unresolved(&cases);
    let count = cases.len();
    drop(cases);
    match Arc::try_unwrap(driver) {
        Ok(driver) => {
            driver.stop().await;
        }
        Err(driver) => driver.request_shutdown().await,
    }
    assert!(count > 400, "{count} host cases");
    assert_eq!(missing, Vec::<String>::new());
}
