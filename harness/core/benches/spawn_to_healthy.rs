//! Spawn-to-healthy: `supervisor::start` (PluginAPI server, spawn, handshake line, dial)
//! until the first successful `Health/Check("plugin")`, for a fake-interpreter bundle
//! (`healthy` mode) and for the Python reference plugin, each against floors measured in
//! the same run, interleaved round by round:
//! * exec-to-first-line: the same interpreter and script spawned directly (same working
//!   directory and environment, a live PluginAPI server as the target), timed until its
//!   first stdout line (the handshake), then killed: what the plugin itself costs;
//! * `true` spawned and waited for: what creating any process costs.
//!
//! Median and p90 of the rounds; the ratio is subject / exec-to-first-line (medians). The
//! Python part is skipped, with the reason, when `python_reference::prepare()` fails.
//!
//! `cargo bench -p conformance-core --bench spawn_to_healthy`

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use conformance_core::api::ApiServer;
use conformance_core::fixtures::{BundleBuilder, FakeMode};
use conformance_core::manifest::LaunchPlan;
use conformance_core::process::ProcessGroup;
use conformance_core::python_reference::{self, PluginOptions};
use conformance_core::supervisor::{self, HostConfig, MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE};
use tokio::io::{AsyncBufReadExt, BufReader};

const WARMUP: usize = 3;
const FAKE_ROUNDS: usize = 30;
const PYTHON_ROUNDS: usize = 10;
/// Limit of one start, one first line or one process: a hang fails instead of hanging.
const LIMIT: Duration = Duration::from_secs(30);

/// (median, p90) in milliseconds.
fn stats(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.9))
}

/// Spawns `true` and waits for it.
async fn spawn_true() -> Duration {
    let start = Instant::now();
    let status = tokio::time::timeout(
        LIMIT,
        tokio::process::Command::new("true")
            .stdin(Stdio::null())
            .status(),
    )
    .await
    .expect("`true` exits")
    .expect("`true` runs");
    assert!(status.success());
    start.elapsed()
}

/// Spawns the plan's interpreter and script as the host would, times it until its first
/// stdout line, then kills its process group and reaps it.
async fn exec_to_first_line(plan: &LaunchPlan, api: &ApiServer) -> Duration {
    let start = Instant::now();
    let mut child = tokio::process::Command::new(&plan.interpreter)
        .arg(&plan.script)
        .current_dir(&plan.bundle)
        .env("MATTERMOST_PLUGIN_API_TARGET", api.address().to_string())
        .env("MATTERMOST_PLUGIN_ID", &plan.manifest.id)
        .env("MATTERMOST_PLUGIN_PATH", &plan.bundle)
        .env(MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE)
        .env("PLUGIN_MIN_PORT", "10000")
        .env("PLUGIN_MAX_PORT", "25000")
        .env("PLUGIN_PROTOCOL_VERSIONS", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .expect("the interpreter spawns");
    let group = ProcessGroup::new(child.id().expect("a pid"));
    let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
    let line = tokio::time::timeout(LIMIT, lines.next_line())
        .await
        .expect("a first line in time")
        .expect("stdout reads");
    let took = start.elapsed();
    assert!(line.is_some_and(|l| l.contains("|tcp|")), "no handshake");
    group.kill();
    tokio::time::timeout(LIMIT, child.wait())
        .await
        .expect("the killed plugin is reaped")
        .expect("wait");
    took
}

/// `supervisor::start` until the first passing ping; the plugin is then shut down
/// (not timed).
async fn start_to_healthy(bundle: &Path) -> Duration {
    let start = Instant::now();
    let plugin = tokio::time::timeout(LIMIT, supervisor::start(bundle, HostConfig::default()))
        .await
        .expect("started in time")
        .unwrap_or_else(|f| panic!("the plugin did not start: {f}"));
    let deadline = Instant::now() + LIMIT;
    while !plugin.ping().await.ping_passes() {
        assert!(
            Instant::now() < deadline,
            "no passing ping within {LIMIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let took = start.elapsed();
    let report = plugin.shutdown().await;
    assert!(report.graceful, "not stopped gracefully: {report:?}");
    took
}

/// Runs `rounds` interleaved rounds of the three measures and prints their rows.
async fn measure(name: &str, bundle: &Path, rounds: usize) {
    let plan = LaunchPlan::for_bundle(bundle, std::env::var_os("PATH").as_deref())
        .expect("the bundle's launch plan");
    let api = ApiServer::start("127.0.0.1:0".parse().unwrap(), &plan.manifest.id)
        .await
        .expect("a PluginAPI server for the floor");
    for _ in 0..WARMUP {
        spawn_true().await;
        exec_to_first_line(&plan, &api).await;
        start_to_healthy(bundle).await;
    }
    let (mut t, mut exec, mut host) = (Vec::new(), Vec::new(), Vec::new());
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    for _ in 0..rounds {
        t.push(ms(spawn_true().await));
        exec.push(ms(exec_to_first_line(&plan, &api).await));
        host.push(ms(start_to_healthy(bundle).await));
    }
    api.stop().await;
    let (t, exec, host) = (stats(t), stats(exec), stats(host));
    println!(
        "| {name}: spawn to first passing ping (reference host), ms | {:.1} | {:.1} | {:.2}× | {:.2}× |",
        host.0,
        host.1,
        host.0 / exec.0,
        host.0 / t.0
    );
    println!(
        "| {name}: exec to first stdout line (floor), ms | {:.1} | {:.1} | 1× | {:.2}× |",
        exec.0,
        exec.1,
        exec.0 / t.0
    );
    println!(
        "| spawn and wait for `true` (floor), ms | {:.2} | {:.2} | | 1× |",
        t.0, t.1
    );
}

#[tokio::main]
async fn main() {
    println!(
        "| measure | median | p90 | ratio to exec-to-first-line | ratio to `true` |\n|---|---:|---:|---:|---:|"
    );
    let dir = tempfile::tempdir().unwrap();
    let fake = BundleBuilder::new(FakeMode::Healthy)
        .write(&dir.path().join("fake"))
        .expect("a fake bundle");
    measure("fake interpreter", &fake.dir, FAKE_ROUNDS).await;

    match python_reference::prepare() {
        Ok(prepared) => {
            let bundle = python_reference::write_bundle(
                prepared,
                &dir.path().join("python"),
                PluginOptions::default(),
            )
            .expect("a Python reference bundle");
            measure("Python reference plugin", &bundle.dir, PYTHON_ROUNDS).await;
        }
        Err(reason) => println!("\nPython reference plugin skipped: {reason}"),
    }
    println!(
        "\n{FAKE_ROUNDS} rounds (fake) / {PYTHON_ROUNDS} rounds (Python) after {WARMUP} warm-up rounds, the three measures interleaved"
    );
}
