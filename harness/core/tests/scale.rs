//! Scale: 32 plugins supervised at once by the reference host (fake interpreters in the
//! `api-load` mode: the conformance plugin, plus PluginAPI calls of their own), each
//! activated; 10,000 hook calls spread over them (MessageWillBePosted, UserWillLogIn,
//! OnSharedChannelsPing with realistic requests, 64 in flight) while the plugins make
//! 10,000 PluginAPI calls (KVSet, KVGet, GetServerVersion; 4 in flight per plugin).
//!
//! Zero tolerance: every hook answered as `fixtures/plugins/BEHAVIOUR.md` says and seen
//! by its plugin, every PluginAPI call ok on both sides (the fakes' counts and the host's
//! call logs), every plugin stopped gracefully, no process left. No timing assertion:
//! every phase only has a generous limit so a hang fails instead of hanging. Memory per
//! supervised plugin (host RSS growth / 32, and the fakes' own RSS) and the phase times
//! are printed for the README (`cargo test -p conformance-core --test scale -- --nocapture`).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use conformance_core::behaviour::{self, LOGIN_REJECTION, REJECTION, message_of};
use conformance_core::fixtures::{Bundle, BundleBuilder, FakeMode};
use conformance_core::observe::Observed;
use conformance_core::process;
use conformance_core::supervisor::hooks::{HookOutcome, apply};
use conformance_core::supervisor::{self, ControllerOutcome, HostConfig, RunningPlugin};
use futures::StreamExt;
use prost_reflect::DynamicMessage;
use serde_json::{Value as Json, json};

const PLUGINS: usize = 32;
const HOOK_CALLS: usize = 10_000;
const API_CALLS: usize = 10_000;
/// Hook calls in flight at once (over all plugins).
const HOOKS_IN_FLIGHT: usize = 64;
/// PluginAPI calls in flight at once per plugin.
const API_IN_FLIGHT_PER_PLUGIN: usize = 4;
/// Plugins started, activated or stopped at once.
const STARTS_IN_FLIGHT: usize = 8;
/// Limit of each phase: a hang fails the test instead of hanging it.
const PHASE_LIMIT: Duration = Duration::from_secs(120);
/// The file whose creation in a bundle starts that plugin's PluginAPI load.
const START_FILE: &str = "start-load";
/// The hooks the plugins list (OnActivate for activation, OnDeactivate unused).
const HOOKS: &str = "OnActivate,MessageWillBePosted,UserWillLogIn,OnSharedChannelsPing";

/// `count` calls spread over the plugins round-robin: how many plugin `p` gets.
fn share(count: usize, p: usize) -> usize {
    count / PLUGINS + usize::from(p < count % PLUGINS)
}

/// Resident memory of a process in KiB (`self` for this one): `VmRSS` (everything
/// resident, including the pages of the executable shared by every fake) and `RssAnon`
/// (its own heap and stacks).
#[derive(Debug, Clone, Copy)]
struct Rss {
    total: u64,
    anon: u64,
}

fn rss(pid: &str) -> Rss {
    let field = |name: &str| status_kib(pid, name).unwrap_or_else(|| panic!("{name} of {pid}"));
    Rss {
        total: field("VmRSS:"),
        anon: field("RssAnon:"),
    }
}

fn status_kib(pid: &str, name: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(name))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

fn mib(kib: f64) -> String {
    format!("{:.1} MiB", kib / 1024.0)
}

/// A 26-character Mattermost-style id.
fn id(prefix: &str, n: usize) -> String {
    format!("{prefix}{n:0>width$x}", width = 26 - prefix.len())
}

fn request(hook: &str, json: Json) -> DynamicMessage {
    let desc = message_of(hook, "Request").expect("a hook request type");
    DynamicMessage::deserialize(desc, json).expect("the request JSON fits the message")
}

/// What call `k` should come to once the host applied the answer.
#[derive(Debug, Clone)]
enum Expect {
    /// A filter that lets the post through unchanged.
    Unchanged,
    /// A filter that replaces the post's message with this.
    Message(String),
    /// A filter or login rejected with this reason.
    Rejected(&'static str),
    /// A login let through.
    LoggedIn,
    Healthy,
}

/// The hook of call `k`: each plugin gets the three in turn.
fn hook_of(k: usize) -> &'static str {
    [
        "MessageWillBePosted",
        "UserWillLogIn",
        "OnSharedChannelsPing",
    ][(k / PLUGINS) % 3]
}

/// Call `k`: the hook, its request (realistic, as a Mattermost server fills it) and what
/// the host must make of the answer.
fn hook_call(k: usize, plugin_id: &str) -> (&'static str, DynamicMessage, Expect) {
    let now_ms = 1_767_225_600_000_i64 + k as i64;
    let context = json!({
        "plugin_id": plugin_id,
        "request_id": id("r", k),
        "session_id": id("s", k % 97),
        "user_id": id("u", k % 211),
    });
    let plugin_context = json!({
        "session_id": id("s", k % 97),
        "request_id": id("r", k),
        "ip_address": format!("10.0.{}.{}", k % 256, (k / 256) % 256),
        "accept_language": "en-US,en;q=0.9",
        "user_agent": "Mozilla/5.0 (X11; Linux x86_64) Mattermost/10.5.0",
    });
    match hook_of(k) {
        "MessageWillBePosted" => {
            let (text, expect) = match k % 4 {
                0 => (
                    format!("Release {k} is out, please modify-me before posting"),
                    None,
                ),
                1 => (
                    format!("spam {k}: reject-me"),
                    Some(Expect::Rejected(REJECTION)),
                ),
                _ => (
                    format!("Standup notes {k}: deploy at 14:00 #release"),
                    Some(Expect::Unchanged),
                ),
            };
            let expect = expect.unwrap_or_else(|| Expect::Message(format!("{text} [modified]")));
            let post = json!({
                "id": id("p", k),
                "create_at": now_ms,
                "update_at": now_ms,
                "user_id": id("u", k % 211),
                "channel_id": id("c", k % 53),
                "root_id": if k.is_multiple_of(5) { id("p", k / 2) } else { String::new() },
                "message": text,
                "type": "",
                "props": {"from_webhook": "false", "attachments": [{"text": "build log", "color": "#2eb886"}]},
                "hashtags": "#release",
                "file_ids": if k.is_multiple_of(7) { vec![id("f", k)] } else { Vec::new() },
                "pending_post_id": format!("{}:{now_ms}", id("u", k % 211)),
            });
            let req = request(
                "MessageWillBePosted",
                json!({"context": context, "plugin_context": plugin_context, "post": post}),
            );
            ("MessageWillBePosted", req, expect)
        }
        "UserWillLogIn" => {
            let blocked = k.is_multiple_of(5);
            let username = if blocked {
                "blocked".to_string()
            } else {
                format!("user.{k}")
            };
            let user = json!({
                "id": id("u", k),
                "create_at": now_ms - 86_400_000,
                "update_at": now_ms,
                "username": username,
                "auth_service": "",
                "email": format!("user.{k}@example.com"),
                "email_verified": true,
                "nickname": format!("U{k}"),
                "first_name": "Ada",
                "last_name": "Lovelace",
                "roles": "system_user",
                "notify_props": {"desktop": "mention", "email": "true", "push": "mention"},
                "timezone": {"automaticTimezone": "Europe/Berlin", "useAutomaticTimezone": "true"},
                "locale": "en",
                "last_password_update": now_ms - 3_600_000,
            });
            let req = request(
                "UserWillLogIn",
                json!({"context": context, "plugin_context": plugin_context, "user": user}),
            );
            let expect = if blocked {
                Expect::Rejected(LOGIN_REJECTION)
            } else {
                Expect::LoggedIn
            };
            ("UserWillLogIn", req, expect)
        }
        _ => {
            let remote = json!({
                "remote_id": id("rc", k % 13),
                "remote_team_id": id("t", k % 13),
                "name": format!("remote-{}", k % 13),
                "display_name": format!("Remote site {}", k % 13),
                "site_url": format!("https://remote-{}.example.com", k % 13),
                "default_team_id": id("t", 1),
                "create_at": now_ms - 7 * 86_400_000,
                "last_ping_at": now_ms - 60_000,
                "token": id("k", k % 13),
                "topics": "incident,release",
                "creator_id": id("u", 1),
                "plugin_id": plugin_id,
                "options": 1,
            });
            let req = request(
                "OnSharedChannelsPing",
                json!({"context": context, "remote_cluster": remote}),
            );
            ("OnSharedChannelsPing", req, Expect::Healthy)
        }
    }
}

/// Checks one outcome against BEHAVIOUR.md (through what the host applies).
fn check(
    hook: &str,
    request: &DynamicMessage,
    outcome: &HookOutcome,
    expect: &Expect,
) -> Result<(), String> {
    if !matches!(outcome, HookOutcome::Answered(_)) {
        return Err(format!("{hook}: {}", outcome.describe()));
    }
    let applied = apply(hook, request, outcome);
    let sent = behaviour::to_json(request);
    let ok = match expect {
        Expect::Unchanged => applied["rejected"] == false && applied["result"] == sent["post"],
        Expect::Message(m) => {
            // The replacement as the host applies it: what the hook client conveyed of
            // the post, without the props no gRPC replacement carries (SPEC §11.5).
            let conveyed = conformance_core::conveyance::convey_request(hook, request);
            let mut post = behaviour::to_json(&conveyed)["post"].clone();
            post["message"] = json!(m);
            applied["rejected"] == false && applied["result"] == post
        }
        Expect::Rejected(reason) => applied["rejected"] == true && applied["reason"] == *reason,
        Expect::LoggedIn => applied["rejected"] == false && applied["reason"] == "",
        Expect::Healthy => applied["healthy"] == true,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{hook}: expected {expect:?}, the host applied {applied}"
        ))
    }
}

fn summary(label: &str, all: &[Rss]) -> String {
    let n = all.len().max(1) as f64;
    let mean = |f: fn(&Rss) -> u64| all.iter().map(f).sum::<u64>() as f64 / n;
    let max = |f: fn(&Rss) -> u64| all.iter().map(f).max().unwrap_or(0) as f64;
    format!(
        "{label}: VmRSS mean {} (max {}), RssAnon mean {} (max {})",
        mib(mean(|r| r.total)),
        mib(max(|r| r.total)),
        mib(mean(|r| r.anon)),
        mib(max(|r| r.anon)),
    )
}

async fn within<T>(what: &str, f: impl std::future::Future<Output = T>) -> T {
    match tokio::time::timeout(PHASE_LIMIT, f).await {
        Ok(v) => v,
        Err(_) => panic!("{what} did not finish within {PHASE_LIMIT:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_two_plugins_take_ten_thousand_hook_calls_and_make_ten_thousand_api_calls_without_an_error()
 {
    let t = Instant::now();
    let scratch = tempfile::tempdir().unwrap();
    let bundles: Vec<Bundle> = (0..PLUGINS)
        .map(|p| {
            BundleBuilder::new(FakeMode::ApiLoad)
                .plugin_id(&format!("com.example.scale.p{p:02}"))
                .option("hooks", HOOKS)
                .option("calls", share(API_CALLS, p))
                .option("concurrency", API_IN_FLIGHT_PER_PLUGIN)
                .option("start_file", START_FILE)
                .write(&scratch.path().join(format!("p{p:02}")))
                .unwrap()
        })
        .collect();
    // One-time costs (descriptor pool) before the baseline, so they are not counted per plugin.
    let _ = pluginapi_proto::descriptor_pool();
    let prepared_in = t.elapsed();
    let rss_before = rss("self");

    // Start and activate all 32.
    let t = Instant::now();
    let started: Vec<_> = within(
        "starting 32 plugins",
        futures::stream::iter(&bundles)
            .map(|b| supervisor::start(&b.dir, HostConfig::default()))
            .buffered(STARTS_IN_FLIGHT)
            .collect(),
    )
    .await;
    let mut plugins: Vec<RunningPlugin> = Vec::new();
    for (b, s) in bundles.iter().zip(started) {
        match s {
            Ok(p) => plugins.push(p),
            Err(f) => panic!(
                "{} did not start: {f}; logs {:?}",
                b.plugin_id,
                f.logs.tail(20)
            ),
        }
    }
    let started_in = t.elapsed();
    let t = Instant::now();
    let activations: Vec<_> = within(
        "activating 32 plugins",
        futures::stream::iter(plugins.iter_mut())
            .map(|p| p.activate())
            .buffered(STARTS_IN_FLIGHT)
            .collect(),
    )
    .await;
    for (b, a) in bundles.iter().zip(activations) {
        let a = a.unwrap_or_else(|e| panic!("{} did not activate: {e}", b.plugin_id));
        assert!(
            matches!(a.on_activate, HookOutcome::Answered(_)),
            "{}: OnActivate {}",
            b.plugin_id,
            a.on_activate.describe()
        );
        for hook in HOOKS.split(',') {
            assert!(
                a.implemented.contains(hook),
                "{} lists no {hook}",
                b.plugin_id
            );
        }
    }
    let activated_in = t.elapsed();
    let rss_started = rss("self");
    let fakes_started: Vec<Rss> = plugins.iter().map(|p| rss(&p.pid.to_string())).collect();

    // The load: the plugins' PluginAPI calls and the host's hook calls at the same time.
    for b in &bundles {
        std::fs::write(b.dir.join(START_FILE), "go").unwrap();
    }
    let t = Instant::now();
    let plugins_ref = &plugins;
    let hook_errors: Vec<String> = within(
        "10,000 hook calls",
        futures::stream::iter(0..HOOK_CALLS)
            .map(|k| async move {
                let plugin = &plugins_ref[k % PLUGINS];
                let (hook, req, expect) = hook_call(k, &plugin.plan.manifest.id);
                let outcome = plugin.call_hook(hook, req.clone()).await;
                check(hook, &req, &outcome, &expect)
                    .map_err(|e| format!("call {k} to {}: {e}", plugin.plan.manifest.id))
            })
            .buffer_unordered(HOOKS_IN_FLIGHT)
            .filter_map(|r| async move { r.err() })
            .collect(),
    )
    .await;
    let hooks_in = t.elapsed();
    // Wait for every plugin's `api_load` observation (a cheap text check while polling).
    let loads_in = within("the plugins' 10,000 PluginAPI calls", async {
        loop {
            let done = bundles.iter().all(|b| {
                std::fs::read_to_string(&b.observations)
                    .is_ok_and(|t| t.contains("\"event\":\"api_load\""))
            });
            if done {
                break t.elapsed();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    let rss_loaded = rss("self");
    let fakes_loaded: Vec<Rss> = plugins.iter().map(|p| rss(&p.pid.to_string())).collect();

    assert!(
        hook_errors.is_empty(),
        "{} of {HOOK_CALLS} hook calls went wrong, the first: {:#?}",
        hook_errors.len(),
        &hook_errors[..hook_errors.len().min(10)]
    );

    // Both sides of the PluginAPI load, and what each plugin saw of the hooks.
    let mut fake_ok = 0;
    let mut host_ok = 0;
    for (p, (b, plugin)) in bundles.iter().zip(&plugins).enumerate() {
        let observations = b.observations();
        let loads: Vec<_> = observations
            .iter()
            .filter_map(|o| match &o.event {
                Observed::ApiLoad {
                    calls,
                    ok,
                    errors,
                    first_error,
                    ..
                } => Some((*calls, *ok, *errors, first_error.clone())),
                _ => None,
            })
            .collect();
        let expected = share(API_CALLS, p) as u64;
        assert_eq!(
            loads,
            vec![(expected, expected, 0, None)],
            "{}: the plugin's PluginAPI load",
            b.plugin_id
        );
        fake_ok += expected;

        // The host's call log: the load plus OnActivate's GetServerVersion and KVSet.
        let calls = plugin.api_calls();
        let failed: Vec<_> = calls.iter().filter(|c| c.outcome != "ok").collect();
        assert!(
            failed.is_empty(),
            "{}: failed PluginAPI calls {failed:?}",
            b.plugin_id
        );
        let mut by_rpc: BTreeMap<&str, usize> = BTreeMap::new();
        for c in &calls {
            *by_rpc.entry(c.rpc.as_str()).or_default() += 1;
        }
        let n = share(API_CALLS, p);
        let expected_rpcs: BTreeMap<&str, usize> = [
            ("KVSet", n.div_ceil(3) + 1),
            ("KVGet", (n + 1) / 3),
            ("GetServerVersion", n / 3 + 1),
        ]
        .into();
        assert_eq!(
            by_rpc, expected_rpcs,
            "{}: the host's call log",
            b.plugin_id
        );
        host_ok += calls.len() as u64 - 2;

        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        for o in &observations {
            if let Observed::HookCall { hook, .. } = &o.event {
                *seen.entry(hook.clone()).or_default() += 1;
            }
        }
        // Activation: Implemented, then OnActivate.
        let mut sent: BTreeMap<String, usize> = [
            ("Implemented".to_string(), 1),
            ("OnActivate".to_string(), 1),
        ]
        .into();
        for k in (p..HOOK_CALLS).step_by(PLUGINS) {
            *sent.entry(hook_of(k).to_string()).or_default() += 1;
        }
        assert_eq!(seen, sent, "{}: the hook calls the plugin saw", b.plugin_id);
    }
    assert_eq!(fake_ok, API_CALLS as u64);
    assert_eq!(host_ok, API_CALLS as u64);

    // Every plugin stops gracefully, and nothing is left.
    let t = Instant::now();
    let ids: Vec<(String, u32, i32)> = plugins
        .iter()
        .map(|p| (p.plan.manifest.id.clone(), p.pid, p.process_group()))
        .collect();
    let reports: Vec<_> = within(
        "stopping 32 plugins",
        futures::stream::iter(plugins)
            .map(RunningPlugin::shutdown)
            .buffered(STARTS_IN_FLIGHT)
            .collect(),
    )
    .await;
    let stopped_in = t.elapsed();
    for ((plugin_id, pid, pgid), report) in ids.iter().zip(&reports) {
        assert!(
            report.graceful
                && !report.killed
                && !report.swept_survivors
                && report.controller == ControllerOutcome::Ok,
            "{plugin_id} did not stop gracefully: {report:?}"
        );
        assert!(!process::is_running(*pid), "{plugin_id}: pid {pid} left");
        assert!(
            !process::group_has_live_members(*pgid),
            "{plugin_id}: a process of group {pgid} left"
        );
    }

    let per_plugin = |after: u64, before: u64| (after as f64 - before as f64) / PLUGINS as f64;
    let host = |label: &str, r: Rss| {
        format!(
            "{label} VmRSS {} (+{} per plugin), RssAnon {} (+{} per plugin)",
            mib(r.total as f64),
            mib(per_plugin(r.total, rss_before.total)),
            mib(r.anon as f64),
            mib(per_plugin(r.anon, rss_before.anon)),
        )
    };
    eprintln!(
        "scale: bundles written (and the fake interpreter built) in {prepared_in:?}; {PLUGINS} plugins \
         started in {started_in:?}, activated in {activated_in:?}; {HOOK_CALLS} hook calls \
         ({HOOKS_IN_FLIGHT} in flight) in {hooks_in:?}; {API_CALLS} PluginAPI calls by the plugins \
         ({API_IN_FLIGHT_PER_PLUGIN} in flight each) done {loads_in:?} after the start; stopped in \
         {stopped_in:?}"
    );
    eprintln!(
        "scale: host before: VmRSS {}, RssAnon {}; {}; {}",
        mib(rss_before.total as f64),
        mib(rss_before.anon as f64),
        host("started:", rss_started),
        host("after the load:", rss_loaded),
    );
    eprintln!(
        "scale: {}; {}",
        summary("fake plugin after start", &fakes_started),
        summary("after the load", &fakes_loaded)
    );
}
