//! The scale scenario of `tests/scale.rs` as a benchmark: 32 plugins (fake interpreters
//! in the `api-load` mode) supervised by the reference host and activated; then, at the
//! same time, N hook calls from the host spread over them (MessageWillBePosted,
//! UserWillLogIn, OnSharedChannelsPing; 64 in flight) and N PluginAPI calls made by the
//! plugins (KVSet, KVGet, GetServerVersion; 4 in flight per plugin). Each throughput is
//! set against a floor measured in the same run on the same plugins and servers, just
//! before the scenario:
//! * hooks: N `grpc.health.v1.Health/Check` calls on the same connections, 64 in flight;
//! * PluginAPI: the same N calls made from the host process against the same 32 PluginAPI
//!   servers, 4 in flight per server.
//!
//! Also memory per supervised plugin: host RSS growth over starting the 32, divided by
//! 32, and the plugin processes' own RSS. Median of `ROUNDS` rounds, each with 32 fresh
//! plugins. Errors are counted and printed (a benchmark, not a test: `tests/scale.rs`
//! asserts there are none).
//!
//! `cargo bench -p conformance-core --bench scale_throughput`

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use conformance_core::behaviour::message_of;
use conformance_core::fixtures::{Bundle, BundleBuilder, FakeMode};
use conformance_core::observe::{self, Observed};
use conformance_core::supervisor::hooks::HookOutcome;
use conformance_core::supervisor::{self, HostConfig, RunningPlugin};
use futures::StreamExt;
use pluginapi_proto::api::ApiResponse;
use pluginapi_proto::pluginapi::plugin_api_client::PluginApiClient;
use pluginapi_proto::pluginapi::{GetServerVersionRequest, KvGetRequest, KvSetRequest};
use prost_reflect::DynamicMessage;
use serde_json::json;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

const PLUGINS: usize = 32;
/// Hook calls, and PluginAPI calls, per round.
const CALLS: usize = 32_000;
const HOOKS_IN_FLIGHT: usize = 64;
const API_IN_FLIGHT_PER_PLUGIN: usize = 4;
const STARTS_IN_FLIGHT: usize = 8;
const ROUNDS: usize = 3;
const START_FILE: &str = "start-load";
const HOOKS: &str = "OnActivate,MessageWillBePosted,UserWillLogIn,OnSharedChannelsPing";
/// Limit of each phase: a hang fails instead of hanging.
const LIMIT: Duration = Duration::from_secs(300);

fn share(count: usize, p: usize) -> usize {
    count / PLUGINS + usize::from(p < count % PLUGINS)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// (`VmRSS`, `RssAnon`) of a process in KiB.
fn rss(pid: &str) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    let field = |name: &str| -> f64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("{name} of {pid}"))
    };
    (field("VmRSS:"), field("RssAnon:"))
}

fn id(prefix: &str, n: usize) -> String {
    format!("{prefix}{n:0>width$x}", width = 26 - prefix.len())
}

/// Hook call `k` with a realistic request (as in `tests/scale.rs`, markers included).
fn hook_call(k: usize, plugin_id: &str) -> (&'static str, DynamicMessage) {
    let now_ms = 1_767_225_600_000_i64 + k as i64;
    let context = json!({"plugin_id": plugin_id, "request_id": id("r", k),
        "session_id": id("s", k % 97), "user_id": id("u", k % 211)});
    let plugin_context = json!({"session_id": id("s", k % 97), "request_id": id("r", k),
        "ip_address": "10.0.3.7", "accept_language": "en-US,en;q=0.9",
        "user_agent": "Mozilla/5.0 (X11; Linux x86_64) Mattermost/10.5.0"});
    let (hook, body) = match (k / PLUGINS) % 3 {
        0 => (
            "MessageWillBePosted",
            json!({"context": context, "plugin_context": plugin_context, "post": {
                "id": id("p", k), "create_at": now_ms, "update_at": now_ms,
                "user_id": id("u", k % 211), "channel_id": id("c", k % 53),
                "message": match k % 4 { 0 => format!("release {k}: modify-me"),
                    1 => format!("spam {k}: reject-me"), _ => format!("standup notes {k} #release") },
                "props": {"from_webhook": "false"}, "hashtags": "#release",
                "pending_post_id": format!("{}:{now_ms}", id("u", k % 211))}}),
        ),
        1 => (
            "UserWillLogIn",
            json!({"context": context, "plugin_context": plugin_context, "user": {
                "id": id("u", k), "create_at": now_ms - 86_400_000, "update_at": now_ms,
                "username": if k.is_multiple_of(5) { "blocked".to_string() } else { format!("user.{k}") },
                "email": format!("user.{k}@example.com"), "email_verified": true,
                "roles": "system_user", "locale": "en",
                "notify_props": {"desktop": "mention", "email": "true"}}}),
        ),
        _ => (
            "OnSharedChannelsPing",
            json!({"context": context, "remote_cluster": {
                "remote_id": id("rc", k % 13), "name": format!("remote-{}", k % 13),
                "site_url": format!("https://remote-{}.example.com", k % 13),
                "create_at": now_ms - 604_800_000, "last_ping_at": now_ms - 60_000,
                "creator_id": id("u", 1), "plugin_id": plugin_id}}),
        ),
    };
    let desc = message_of(hook, "Request").unwrap();
    (hook, DynamicMessage::deserialize(desc, body).unwrap())
}

/// The same PluginAPI call mix as the `api-load` mode, from the host process, against
/// the 32 servers: calls per second, and errors.
async fn api_floor(plugins: &[RunningPlugin]) -> (f64, u64) {
    let errors = AtomicU64::new(0);
    let mut clients = Vec::new();
    for p in plugins {
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", p.api_address))
            .unwrap()
            .tcp_nodelay(true)
            .connect()
            .await
            .unwrap();
        clients.push(PluginApiClient::new(channel));
    }
    let start = Instant::now();
    let workers = clients.iter().enumerate().flat_map(|(p, client)| {
        let n = share(CALLS, p) as u64;
        let next = std::sync::Arc::new(AtomicU64::new(0));
        let errors = &errors;
        (0..API_IN_FLIGHT_PER_PLUGIN).map(move |_| {
            let (mut c, next) = (client.clone(), next.clone());
            async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    let key = format!("load-{}", (i / 3) % 64);
                    let failed = match i % 3 {
                        0 => c
                            .kv_set(KvSetRequest {
                                key,
                                value: format!("{{\"call\":{i}}}").into_bytes(),
                            })
                            .await
                            .map(|r| r.into_inner().app_error().is_some()),
                        1 => c
                            .kv_get(KvGetRequest { key })
                            .await
                            .map(|r| r.into_inner().app_error().is_some()),
                        _ => c
                            .get_server_version(GetServerVersionRequest {})
                            .await
                            .map(|r| r.into_inner().app_error().is_some()),
                    };
                    if failed.unwrap_or(true) {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        })
    });
    let all = futures::future::join_all(workers);
    tokio::time::timeout(LIMIT, all)
        .await
        .expect("the API floor in time");
    (
        CALLS as f64 / start.elapsed().as_secs_f64(),
        errors.load(Ordering::Relaxed),
    )
}

/// N Health/Check calls spread over the plugins like the hook calls: calls per second.
async fn hook_floor(plugins: &[RunningPlugin]) -> f64 {
    let clients: Vec<_> = plugins
        .iter()
        .map(|p| HealthClient::new(p.channel()))
        .collect();
    let start = Instant::now();
    let run = futures::stream::iter(0..CALLS)
        .map(|k| {
            let mut c = clients[k % PLUGINS].clone();
            async move {
                c.check(HealthCheckRequest {
                    service: "plugin".into(),
                })
                .await
                .is_ok()
            }
        })
        .buffer_unordered(HOOKS_IN_FLIGHT)
        .filter(|ok| std::future::ready(!ok))
        .count();
    let failed = tokio::time::timeout(LIMIT, run)
        .await
        .expect("the hook floor in time");
    assert_eq!(failed, 0, "Health/Check failures in the floor");
    CALLS as f64 / start.elapsed().as_secs_f64()
}

struct Round {
    hook_rate: f64,
    hook_floor: f64,
    api_rate: f64,
    api_floor: f64,
    combined_rate: f64,
    host_per_plugin: (f64, f64),
    fake: (f64, f64),
    errors: u64,
}

async fn round(dir: &Path, r: usize) -> Round {
    let bundles: Vec<Bundle> = (0..PLUGINS)
        .map(|p| {
            BundleBuilder::new(FakeMode::ApiLoad)
                .plugin_id(&format!("com.example.scale.p{p:02}"))
                .option("hooks", HOOKS)
                .option("calls", share(CALLS, p))
                .option("concurrency", API_IN_FLIGHT_PER_PLUGIN)
                .option("start_file", START_FILE)
                .write(&dir.join(format!("r{r}p{p:02}")))
                .unwrap()
        })
        .collect();
    let _ = pluginapi_proto::descriptor_pool();
    let before = rss("self");
    let started: Vec<_> = tokio::time::timeout(
        LIMIT,
        futures::stream::iter(&bundles)
            .map(|b| supervisor::start(&b.dir, HostConfig::default()))
            .buffered(STARTS_IN_FLIGHT)
            .collect(),
    )
    .await
    .expect("32 plugins started in time");
    let mut plugins: Vec<RunningPlugin> = started
        .into_iter()
        .map(|s| s.unwrap_or_else(|f| panic!("a plugin did not start: {f}")))
        .collect();
    for p in plugins.iter_mut() {
        tokio::time::timeout(LIMIT, p.activate())
            .await
            .expect("activated in time")
            .expect("activation");
    }
    let after = rss("self");
    let host_per_plugin = (
        (after.0 - before.0) / PLUGINS as f64,
        (after.1 - before.1) / PLUGINS as f64,
    );
    let fakes: Vec<(f64, f64)> = plugins.iter().map(|p| rss(&p.pid.to_string())).collect();
    let fake = (
        fakes.iter().map(|f| f.0).sum::<f64>() / PLUGINS as f64,
        fakes.iter().map(|f| f.1).sum::<f64>() / PLUGINS as f64,
    );

    let hook_floor = hook_floor(&plugins).await;
    let (api_floor, mut errors) = api_floor(&plugins).await;

    // The scenario: the plugins' PluginAPI load and the host's hook calls at once.
    for b in &bundles {
        std::fs::write(b.dir.join(START_FILE), "go").unwrap();
    }
    let start = Instant::now();
    let plugins_ref = &plugins;
    let failed = tokio::time::timeout(
        LIMIT,
        futures::stream::iter(0..CALLS)
            .map(|k| async move {
                let plugin = &plugins_ref[k % PLUGINS];
                let (hook, req) = hook_call(k, &plugin.plan.manifest.id);
                matches!(plugin.call_hook(hook, req).await, HookOutcome::Answered(_))
            })
            .buffer_unordered(HOOKS_IN_FLIGHT)
            .filter(|ok| std::future::ready(!ok))
            .count(),
    )
    .await
    .expect("the hook calls in time");
    let hook_rate = CALLS as f64 / start.elapsed().as_secs_f64();
    errors += failed as u64;
    let loads = tokio::time::timeout(LIMIT, async {
        loop {
            let loads: Vec<(u64, u64, u64)> = bundles
                .iter()
                .filter_map(|b| {
                    let text = std::fs::read_to_string(&b.observations).ok()?;
                    let line = text
                        .lines()
                        .find(|l| l.contains("\"event\":\"api_load\""))?;
                    let o: observe::Observation = serde_json::from_str(line).ok()?;
                    match o.event {
                        Observed::ApiLoad {
                            errors,
                            started_us,
                            elapsed_us,
                            ..
                        } => Some((started_us, started_us + elapsed_us, errors)),
                        _ => None,
                    }
                })
                .collect();
            if loads.len() == PLUGINS {
                break loads;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the plugins' PluginAPI load in time");
    let combined = start.elapsed().as_secs_f64();
    let first = loads.iter().map(|l| l.0).min().unwrap();
    let last = loads.iter().map(|l| l.1).max().unwrap();
    errors += loads.iter().map(|l| l.2).sum::<u64>();
    let api_rate = CALLS as f64 / ((last - first) as f64 / 1e6);

    let reports: Vec<_> = tokio::time::timeout(
        LIMIT,
        futures::stream::iter(plugins)
            .map(RunningPlugin::shutdown)
            .buffered(STARTS_IN_FLIGHT)
            .collect(),
    )
    .await
    .expect("stopped in time");
    errors += reports.iter().filter(|r| !r.graceful).count() as u64;
    Round {
        hook_rate,
        hook_floor,
        api_rate,
        api_floor,
        combined_rate: 2.0 * CALLS as f64 / combined,
        host_per_plugin,
        fake,
        errors,
    }
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let mut rounds = Vec::new();
    for r in 0..ROUNDS {
        rounds.push(round(dir.path(), r).await);
    }
    let m = |f: fn(&Round) -> f64| median(rounds.iter().map(f).collect());
    let mib = |kib: f64| kib / 1024.0;
    println!("| measure | subject | floor | ratio |\n|---|---:|---:|---:|");
    println!(
        "| hook calls/s, {PLUGINS} plugins, {HOOKS_IN_FLIGHT} in flight, during the plugins' PluginAPI load (floor: Health/Check, no load) | {:.0} | {:.0} | {:.2}× |",
        m(|r| r.hook_rate),
        m(|r| r.hook_floor),
        m(|r| r.hook_rate / r.hook_floor)
    );
    println!(
        "| PluginAPI calls/s made by the {PLUGINS} plugins, {API_IN_FLIGHT_PER_PLUGIN} in flight each, during the hook calls (floor: the same calls from the host process, no hooks) | {:.0} | {:.0} | {:.2}× |",
        m(|r| r.api_rate),
        m(|r| r.api_floor),
        m(|r| r.api_rate / r.api_floor)
    );
    println!(
        "| both together, calls/s ({CALLS} + {CALLS}) | {:.0} | | |",
        m(|r| r.combined_rate)
    );
    // The first round's: later rounds reuse memory the allocator kept from the first.
    println!(
        "| host memory per supervised plugin (RSS growth / {PLUGINS}, first round), MiB: VmRSS / RssAnon | {:.2} / {:.2} | | |",
        mib(rounds[0].host_per_plugin.0),
        mib(rounds[0].host_per_plugin.1)
    );
    println!(
        "| fake plugin process (mean), MiB: VmRSS / RssAnon | {:.1} / {:.1} | | |",
        mib(m(|r| r.fake.0)),
        mib(m(|r| r.fake.1))
    );
    let errors: u64 = rounds.iter().map(|r| r.errors).sum();
    println!(
        "\nmedian of {ROUNDS} rounds, each with {PLUGINS} fresh plugins; errors (failed hook or API calls, non-graceful stops): {errors}"
    );
}
