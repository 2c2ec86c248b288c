//! The `plugin-conformance` binary end to end: list, a full run with its reports, exit
//! codes, and the promise that no process or temporary directory outlives a run.

mod support;

use support::{cli, processes_under};

#[test]
fn list_names_every_case_with_level_and_clause() {
    let out = cli().arg("list").output().unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), conformance_suites::all().len());
    assert!(lines.len() >= 40, "{} cases", lines.len());
    let line = lines
        .iter()
        .find(|l| l.starts_with("handshake/bad-core-version "))
        .expect("the case is listed");
    assert!(line.contains("MUST") && line.contains("SPEC §4"), "{line}");
}

#[test]
fn full_run_writes_reports_exits_zero_and_leaves_nothing_behind() {
    let work = tempfile::tempdir().unwrap();
    let tmp = work.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let out_dir = work.path().join("reports");
    let out = cli()
        .args(["run", "--out-dir"])
        .arg(&out_dir)
        .env("TMPDIR", &tmp)
        .env("CI", "true")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("conformance.json")).unwrap())
            .unwrap();
    let total = json["counts"]["total"].as_u64().unwrap();
    assert_eq!(total as usize, conformance_suites::all().len());
    assert_eq!(json["counts"]["passed"], json["counts"]["total"]);
    assert_eq!(json["cases"].as_array().unwrap().len() as u64, total);
    let junit = std::fs::read_to_string(out_dir.join("conformance.junit.xml")).unwrap();
    assert_eq!(junit.matches("<testcase ").count() as u64, total);
    assert!(total >= 40);
    let summary = std::fs::read_to_string(out_dir.join("summary.md")).unwrap();
    assert!(summary.contains("**PASS**"), "{summary}");
    assert!(
        stdout.contains(&format!("{total} passed, 0 failed")),
        "{stdout}"
    );

    // Nothing outlives the run: no temporary directory, no process in a bundle.
    let left: Vec<_> = std::fs::read_dir(&tmp)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(left.is_empty(), "left in TMPDIR: {left:?}");
    assert_eq!(processes_under(work.path()), Vec::<String>::new());
}

#[test]
fn a_failing_must_case_makes_the_run_exit_1_with_the_failure_in_junit() {
    let work = tempfile::tempdir().unwrap();
    let out = cli()
        .args([
            "run",
            "--run",
            "handshake/python-sdk-five-fields",
            "--out-dir",
        ])
        .arg(work.path())
        .env("PLUGIN_CONFORMANCE_FAKE_INTERPRETER", "/bin/false")
        .env("CI", "true")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{:?}", out);
    let junit = std::fs::read_to_string(work.path().join("conformance.junit.xml")).unwrap();
    assert!(junit.contains("<failure"), "{junit}");
    assert!(junit.contains("plugin started"), "{junit}");
}

#[test]
fn a_run_glob_that_matches_nothing_is_an_error() {
    let out = cli().args(["run", "--run", "nosuch/*"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("matches no case"));
}

#[test]
fn skip_leaves_cases_out() {
    let out = cli()
        .args(["list", "--run", "health/*", "--skip", "health/hang*"])
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("health/serving"));
    assert!(!stdout.contains("health/hangs"));
    assert!(!stdout.contains("handshake/"));
}

mod serve_api {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    use std::time::Duration;

    use super::cli;
    use pluginapi_proto::pluginapi::plugin_api_client::PluginApiClient;
    use pluginapi_proto::pluginapi::{GetServerVersionRequest, GetTeamRequest};
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

    /// Kills the child if the test fails before it is stopped.
    struct Guard(std::process::Child);
    impl Drop for Guard {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    #[test]
    fn prints_its_address_serves_seed_data_and_reflection_and_stops_on_sigterm() {
        let mut child = Guard(
            cli()
                .args(["serve-api", "--seed"])
                .stdout(Stdio::piped())
                .spawn()
                .unwrap(),
        );
        let mut lines = BufReader::new(child.0.stdout.take().unwrap()).lines();
        let address = lines.next().unwrap().unwrap();
        assert!(address.starts_with("127.0.0.1:"), "{address}");
        let seeded: serde_json::Value =
            serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
        let team_id = seeded["team_id"].as_str().unwrap().to_string();

        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let url = format!("http://{address}");
            let mut api = PluginApiClient::connect(url.clone()).await.unwrap();
            let version = api
                .get_server_version(GetServerVersionRequest {})
                .await
                .unwrap()
                .into_inner()
                .version;
            assert!(!version.is_empty());
            let team = api
                .get_team(GetTeamRequest { team_id })
                .await
                .unwrap()
                .into_inner()
                .team
                .unwrap();
            assert_eq!(team.name, "conformance");

            let channel = tonic::transport::Endpoint::from_shared(url)
                .unwrap()
                .connect()
                .await
                .unwrap();
            let mut reflection = ServerReflectionClient::new(channel);
            let request = ServerReflectionRequest {
                host: String::new(),
                message_request: Some(MessageRequest::ListServices(String::new())),
            };
            let mut stream = reflection
                .server_reflection_info(tokio_stream::once(request))
                .await
                .unwrap()
                .into_inner();
            let response = stream.message().await.unwrap().unwrap();
            let Some(MessageResponse::ListServicesResponse(list)) = response.message_response
            else {
                panic!("not a service list: {response:?}");
            };
            let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
            assert!(
                names.contains(&"mattermost.pluginapi.v1.PluginAPI".to_string()),
                "{names:?}"
            );
        });

        // SAFETY: sending SIGTERM to our own child.
        unsafe { libc::kill(child.0.id() as i32, libc::SIGTERM) };
        let status = wait_timeout::ChildExt::wait_timeout(&mut child.0, Duration::from_secs(10))
            .unwrap()
            .expect("serve-api exits within 10 s of SIGTERM");
        assert!(status.success(), "{status}");
    }

    #[test]
    fn refuses_a_non_loopback_address_unless_allowed() {
        let out = cli()
            .args(["serve-api", "--listen", "0.0.0.0:0"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("--allow-remote"));
    }
}
