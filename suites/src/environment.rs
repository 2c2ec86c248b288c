//! The child's environment, arguments and working directory (SPEC §3.1, §6, §16),
//! as the fake plugin observed them.

use std::collections::BTreeMap;

use conformance_core::fixtures::{Bundle, BundleBuilder, FakeMode};
use conformance_core::observe::Observed;
use conformance_core::runner::{Case, Ctx, Level};
use conformance_core::supervisor::{HostConfig, MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE};

use crate::support::{observed, shutdown_checked, start_ok};

/// What the fake saw at start: (argv, cwd, env, pgid, pid).
struct Seen {
    argv: Vec<String>,
    cwd: String,
    env: BTreeMap<String, String>,
    pgid: i32,
    pid: u32,
}

fn seen(bundle: &Bundle) -> Option<Seen> {
    bundle
        .observations()
        .into_iter()
        .find_map(|o| match o.event {
            Observed::Started {
                argv,
                cwd,
                env,
                pgid,
            } => Some(Seen {
                argv,
                cwd,
                env,
                pgid,
                pid: o.pid,
            }),
            _ => None,
        })
}

/// Starts a healthy fake, hands what it saw (plus the API address and bundle) to `check`,
/// and shuts it down.
fn env_case(
    name: &str,
    level: Level,
    clause: &str,
    summary: &str,
    check: fn(&Ctx, &Seen, &Bundle, std::net::SocketAddr),
) -> Case {
    Case::new(name, level, clause, summary, move |ctx| async move {
        let (bundle, plugin) = start_ok(
            &ctx,
            BundleBuilder::new(FakeMode::Healthy),
            HostConfig::default(),
        )
        .await?;
        let api = plugin.api_address;
        match seen(&bundle) {
            Some(s) => check(&ctx, &s, &bundle, api),
            None => {
                ctx.check(
                    "the plugin reported its start",
                    "a started event",
                    "none",
                    false,
                );
            }
        }
        shutdown_checked(&ctx, plugin).await;
        Ok(())
    })
}

fn var<'a>(s: &'a Seen, key: &str) -> Option<&'a str> {
    s.env.get(key).map(String::as_str)
}

pub fn cases() -> Vec<Case> {
    vec![
        env_case(
            "environment/magic-cookie",
            Level::Must,
            "SPEC §6 (MATTERMOST_PLUGIN)",
            "the child gets go-plugin's magic cookie with Mattermost's value",
            |ctx, s, _, _| {
                ctx.eq(
                    MAGIC_COOKIE_KEY,
                    Some(MAGIC_COOKIE_VALUE),
                    var(s, MAGIC_COOKIE_KEY),
                );
            },
        ),
        env_case(
            "environment/protocol-versions",
            Level::Must,
            "SPEC §6 (PLUGIN_PROTOCOL_VERSIONS)",
            "the child is offered app protocol version 1",
            |ctx, s, _, _| {
                ctx.eq(
                    "PLUGIN_PROTOCOL_VERSIONS",
                    Some("1"),
                    var(s, "PLUGIN_PROTOCOL_VERSIONS"),
                );
            },
        ),
        env_case(
            "environment/port-range",
            Level::Must,
            "SPEC §6 (PLUGIN_MIN_PORT, PLUGIN_MAX_PORT)",
            "the child gets a numeric port range with min <= max",
            |ctx, s, _, _| {
                let port = |k: &str| var(s, k).and_then(|v| v.parse::<u16>().ok());
                let (min, max) = (port("PLUGIN_MIN_PORT"), port("PLUGIN_MAX_PORT"));
                ctx.check(
                    "PLUGIN_MIN_PORT <= PLUGIN_MAX_PORT",
                    "two ports, min <= max",
                    format!("{min:?}..{max:?}"),
                    matches!((min, max), (Some(a), Some(b)) if a <= b),
                );
            },
        ),
        env_case(
            "environment/api-target",
            Level::Must,
            "SPEC §3.1 step 3, §6 (MATTERMOST_PLUGIN_API_TARGET)",
            "the child is told the PluginAPI address, and the server is already listening when the child starts",
            |ctx, s, bundle, api| {
                let api = api.to_string();
                ctx.eq(
                    "MATTERMOST_PLUGIN_API_TARGET",
                    Some(api.as_str()),
                    var(s, "MATTERMOST_PLUGIN_API_TARGET"),
                );
                let at_start = observed(bundle, |e| match e {
                    Observed::ApiProbe {
                        phase, reachable, ..
                    } if phase == "start" => Some(*reachable),
                    _ => None,
                });
                ctx.eq("PluginAPI reachable at plugin start", vec![true], at_start);
            },
        ),
        env_case(
            "environment/plugin-id-and-path",
            Level::Should,
            "SPEC §6 (MATTERMOST_PLUGIN_ID, MATTERMOST_PLUGIN_PATH read by the SDK)",
            "the child is told its plugin id and bundle path, which the SDK reads (upstream hosts leave them unset)",
            |ctx, s, bundle, _| {
                ctx.eq(
                    "MATTERMOST_PLUGIN_ID",
                    Some(bundle.plugin_id.as_str()),
                    var(s, "MATTERMOST_PLUGIN_ID"),
                );
                let path = bundle.dir.display().to_string();
                ctx.eq(
                    "MATTERMOST_PLUGIN_PATH",
                    Some(path.as_str()),
                    var(s, "MATTERMOST_PLUGIN_PATH"),
                );
            },
        ),
        env_case(
            "environment/inherits-host-env",
            Level::Must,
            "SPEC §6 (inherited environment)",
            "the child inherits the host's environment (PATH)",
            |ctx, s, _, _| {
                let host_path = std::env::var("PATH").ok();
                ctx.eq("PATH", host_path.as_deref(), var(s, "PATH"));
            },
        ),
        env_case(
            "environment/cwd-and-argv",
            Level::Must,
            "SPEC §3.1 step 2, §16 (cwd = bundle, script relative)",
            "the interpreter runs in the bundle directory with the script path relative to it",
            |ctx, s, bundle, _| {
                let cwd = std::fs::canonicalize(&s.cwd).ok();
                let dir = std::fs::canonicalize(&bundle.dir).ok();
                ctx.eq("working directory", dir, cwd);
                ctx.eq(
                    "script argument",
                    Some("plugin.py"),
                    s.argv.get(1).map(String::as_str),
                );
                ctx.eq("argument count", 2, s.argv.len());
            },
        ),
        env_case(
            "environment/own-process-group",
            Level::Should,
            "SPEC §9.2 step 4 (grandchildren)",
            "the plugin runs in a process group of its own, so the host can stop everything it started",
            |ctx, s, _, _| {
                ctx.eq("process group id", s.pid as i32, s.pgid);
            },
        ),
        Case::new(
            "environment/requires-magic-cookie",
            Level::Must,
            "SPEC §3.3 step 1, §6",
            "a plugin that refuses to run without the magic cookie (like go-plugin's Serve) starts",
            |ctx| async move {
                let (bundle, plugin) = start_ok(
                    &ctx,
                    BundleBuilder::new(FakeMode::RequiresMagicCookie),
                    HostConfig::default(),
                )
                .await?;
                let exits = observed(&bundle, |e| match e {
                    Observed::Exiting { reason, .. } => Some(reason.clone()),
                    _ => None,
                });
                ctx.eq("refusals", Vec::<String>::new(), exits);
                shutdown_checked(&ctx, plugin).await;
                Ok(())
            },
        ),
    ]
}
