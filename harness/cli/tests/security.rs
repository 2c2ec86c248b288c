//! Loopback unless told otherwise: the reference host behind the driver contract listens,
//! and serves its ServeHTTP bridge, on loopback by default, and refuses a non-loopback
//! listen address with a clear message (as `serve-api` does without `--allow-remote`).

use std::process::Command;
use std::time::Duration;

use assert_cmd::cargo::cargo_bin;
use conformance_core::driver::process::DriverProcess;

fn cli() -> Command {
    Command::new(cargo_bin!("plugin-conformance"))
}

/// Runs `cmd` to its end, killing it if it has not ended within `limit`.
fn output_within(mut cmd: Command, limit: Duration) -> std::process::Output {
    use std::process::Stdio;
    use wait_timeout::ChildExt;
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if child.wait_timeout(limit).unwrap().is_none() {
        let _ = child.kill();
        let _ = child.wait();
        panic!("{cmd:?} still running after {limit:?}");
    }
    child.wait_with_output().unwrap()
}

#[test]
fn reference_host_refuses_a_non_loopback_listen_address() {
    for listen in ["0.0.0.0:0", "[::]:0", "192.0.2.1:0"] {
        let mut cmd = cli();
        cmd.args(["reference-host", "--listen", listen]);
        let out = output_within(cmd, Duration::from_secs(30));
        assert_eq!(out.status.code(), Some(2), "{listen}: {out:?}");
        assert!(out.stdout.is_empty(), "{listen}: nothing announced");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("refusing to listen on") && stderr.contains("not loopback"),
            "{listen}: {stderr}"
        );
        let shown = listen.trim_end_matches(":0").trim_matches(['[', ']']);
        assert!(stderr.contains(shown), "{listen}: {stderr}");
    }
}

#[test]
fn reference_host_and_its_http_bridge_listen_on_loopback_by_default() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let command = vec![
            cargo_bin!("plugin-conformance").display().to_string(),
            "reference-host".to_string(),
        ];
        let driver = tokio::time::timeout(Duration::from_secs(60), DriverProcess::start(&command))
            .await
            .expect("the reference host announces itself within 60 s")
            .unwrap();
        assert!(driver.address.ip().is_loopback(), "{}", driver.address);
        let bridge = driver.description.http_base_url.clone();
        let bridge_addr: std::net::SocketAddr = bridge
            .strip_prefix("http://")
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("http_base_url is http://IP:PORT: {bridge:?}"));
        assert!(bridge_addr.ip().is_loopback(), "{bridge}");
        assert_ne!(bridge_addr.port(), 0);
        assert!(
            tokio::time::timeout(Duration::from_secs(30), driver.stop())
                .await
                .expect("the driver stops within 30 s"),
            "the driver exited by itself after Shutdown"
        );
    });
}
