//! The plugin's start, health, `Implemented`, activation and shutdown manners.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use conformance_core::handshake::{Address, Network, Protocol};
use conformance_core::manifest::LaunchPlan;
use conformance_core::process::is_running;
use conformance_core::runner::{Case, Ctx, Level};
use conformance_core::supervisor::hooks::{HookOutcome, IMPLEMENTED_DEADLINE};
use conformance_core::supervisor::{
    self, ControllerOutcome, HealthOutcome, HostConfig, LaunchError, LaunchFailure, RunningPlugin,
};
use pluginapi_proto::goplugin::Empty;
use pluginapi_proto::goplugin::grpc_controller_client::GrpcControllerClient;
use pluginapi_proto::pluginapi::ImplementedRequest;
use pluginapi_proto::pluginapi::plugin_hooks_client::PluginHooksClient;

use super::{activated, case, finish, note_logs, start};
use crate::support::{gap_us, wait_for};
use conformance_core::supervisor::Level as LogLevel;

/// How long a plugin may take to exit after SIGTERM: the Python SDK's own grace (5 s,
/// SPEC §9.4) plus slack for a loaded machine.
const SIGTERM_LIMIT: Duration = Duration::from_secs(6);
/// How long processes of the group may take to follow the plugin out.
const GROUP_SETTLE: Duration = Duration::from_secs(1);

pub(super) fn cases(bundle: &Arc<PathBuf>) -> Vec<Case> {
    vec![
        case(
            bundle,
            "bundle/launch-plan",
            Level::Must,
            "SPEC §3.1, §16, §17",
            "plugin.json names a Python server executable inside the bundle, and an interpreter is found",
            launch_plan,
        ),
        case(
            bundle,
            "handshake/first-line",
            Level::Must,
            "SPEC §4 (the first stdout line, whatever it is, is the handshake), §22",
            "nothing is printed on stdout before the handshake line",
            first_line,
        ),
        case(
            bundle,
            "handshake/format",
            Level::Must,
            "SPEC §4, §5",
            "the handshake line is CORE|APP|NETWORK|ADDRESS|grpc with versions 1 and 1, and the host connects to the address",
            format,
        ),
        case(
            bundle,
            "handshake/loopback-address",
            Level::Should,
            "SPEC §3.2 step 3 (the SDK binds 127.0.0.1:0)",
            "the plugin listens on a loopback address (or a Unix socket), not on every interface",
            loopback,
        ),
        case(
            bundle,
            "handshake/within-start-timeout",
            Level::Must,
            "SPEC §5.1 (Mattermost: 10 s for Python plugins)",
            "the handshake line arrives within the start timeout; the time taken is noted",
            timing,
        ),
        case(
            bundle,
            "health/plugin-serving",
            Level::Must,
            "SPEC §7",
            "grpc.health.v1.Health/Check for the service \"plugin\" answers SERVING",
            health_plugin,
        ),
        case(
            bundle,
            "health/empty-service-name",
            Level::May,
            "SPEC §7 (answering \"\" matches the SDK)",
            "grpc.health.v1.Health/Check for the service \"\" answers SERVING",
            health_empty,
        ),
        case(
            bundle,
            "implemented/answers",
            Level::Must,
            "SPEC §3.1 step 7, §11.4, §12 (30 s)",
            "Implemented answers within 30 s with the list of hook names and no error",
            implemented_answers,
        ),
        case(
            bundle,
            "implemented/names",
            Level::Should,
            "SPEC §11.2, §11.4 (unknown names are logged and ignored)",
            "every name Implemented lists is a PluginHooks rpc, listed once",
            implemented_names,
        ),
        case(
            bundle,
            "activation",
            Level::Must,
            "SPEC §3.1 steps 7-8, §12 (an error from OnActivate aborts activation)",
            "Implemented, then OnActivate (if listed) succeed; the PluginAPI calls the plugin makes are noted",
            activation,
        )
        .timeout(super::HOOK_CASE_TIMEOUT),
        case(
            bundle,
            "handshake/port-not-fixed",
            Level::Should,
            "SPEC §6 (PLUGIN_MIN_PORT, PLUGIN_MAX_PORT), §4 (the announced address is the plugin's own)",
            "two copies started at once announce different addresses: the port comes from the host's range or from the OS, not a fixed one that copies would share",
            port_not_fixed,
        )
        .provenance(vec![
            "hashicorp/go-plugin server.go serverListener_tcp (a port between PLUGIN_MIN_PORT and PLUGIN_MAX_PORT)"
                .to_string(),
            "mattermost python-sdk/src/mattermost_plugin/server.py (binds 127.0.0.1:0: the OS picks)"
                .to_string(),
        ]),
        case(
            bundle,
            "activation/no-error-logs",
            Level::Should,
            "SPEC §8.4 (a plugin's stderr is the server's log, at the level logStderr gives each line)",
            "starting and activating the plugin writes nothing that Mattermost would log at ERROR",
            activation_logs,
        )
        .timeout(super::HOOK_CASE_TIMEOUT)
        .provenance(vec![
            "hashicorp/go-plugin client.go Client.logStderr (hclog JSON keeps its level; [LEVEL] prefixes; panic output is ERROR; other text is DEBUG)"
                .to_string(),
            "mattermost server/public/plugin/hclog_adapter.go @401714c1 (plugin log lines go to the server log at their level)"
                .to_string(),
        ]),
        case(
            bundle,
            "shutdown/controller-answers",
            Level::Should,
            "SPEC §8.2, §9.2, §9.4",
            "the plugin serves plugin.GRPCController and answers Shutdown",
            controller_answers,
        ),
        case(
            bundle,
            "shutdown/exits-within-grace",
            Level::Should,
            "SPEC §9.2 steps 2-3, §9.3, §22",
            "after Shutdown the plugin exits by itself within the 2 s grace, so the host needs no SIGKILL",
            exits_within_grace,
        ),
        case(
            bundle,
            "shutdown/exits-on-sigterm",
            Level::Should,
            "SPEC §3.2 step 5, §9.4",
            "the plugin exits on SIGTERM, as the Python SDK does, within the SDK's 5 s grace",
            exits_on_sigterm,
        )
        .timeout(Duration::from_secs(60)),
        case(
            bundle,
            "shutdown/no-leftover-processes",
            Level::Must,
            "SPEC §9.2 step 4, §20.4 item 10 (a process holding the pipes blocks go-plugin's Kill)",
            "once the plugin has exited, no process of its process group is left running",
            no_leftover_processes,
        )
        .timeout(Duration::from_secs(60)),
    ]
}

async fn launch_plan(ctx: Ctx, bundle: Arc<PathBuf>) -> anyhow::Result<()> {
    let path_var = std::env::var_os("PATH");
    match LaunchPlan::for_bundle(&bundle, path_var.as_deref()) {
        Ok(plan) => {
            ctx.check(
                "launch plan",
                "a Python plugin the host can start",
                "found",
                true,
            );
            ctx.note(format!(
                "plugin {} version {}",
                plan.manifest.id,
                plan.manifest.version.as_deref().unwrap_or("(none)")
            ));
            ctx.note(format!(
                "command: {} {} (interpreter from {:?})",
                plan.interpreter.display(),
                plan.script.display(),
                plan.interpreter_source
            ));
            let runtime = plan
                .manifest
                .server
                .as_ref()
                .and_then(|s| s.runtime.clone());
            if runtime.as_deref() != Some("python") {
                ctx.note(format!(
                    "server.runtime is {runtime:?}: the host detects the plugin by its .py executable only"
                ));
            }
        }
        Err(e) => {
            ctx.check(
                "launch plan",
                "a Python plugin the host can start",
                e.to_string(),
                false,
            );
        }
    }
    Ok(())
}

/// Starts the bundle without judging the start yet.
async fn launch(ctx: &Ctx, bundle: &Path) -> Result<RunningPlugin, LaunchFailure> {
    super::launch(ctx, bundle, HostConfig::default()).await
}

fn note_stderr(ctx: &Ctx, failure: &LaunchFailure) {
    for line in failure.logs.tail(10) {
        ctx.note(format!("plugin stderr: {line}"));
    }
}

async fn first_line(ctx: Ctx, bundle: Arc<PathBuf>) -> anyhow::Result<()> {
    const EXPECTED: &str = "the handshake line first";
    match launch(&ctx, &bundle).await {
        Ok(plugin) => {
            ctx.check(
                "first stdout line is the handshake",
                EXPECTED,
                format!("{:?}", plugin.handshake_line),
                true,
            );
            finish(&ctx, plugin).await;
        }
        Err(failure) => {
            note_stderr(&ctx, &failure);
            let first = failure
                .timeline
                .first("handshake_received")
                .map(|e| match e.step {
                    supervisor::Step::HandshakeReceived { line } => line,
                    _ => String::new(),
                });
            match &failure.error {
                LaunchError::Handshake { error, line } if error.kind() == "unrecognized" => {
                    ctx.check(
                        "first stdout line is the handshake",
                        EXPECTED,
                        format!(
                            "{line:?}, which is not a handshake line: go-plugin refuses the start. Print logs and \
                             banners on stderr, and the handshake as the very first stdout line"
                        ),
                        false,
                    );
                }
                LaunchError::LineTooLong => {
                    ctx.check(
                        "first stdout line is the handshake",
                        EXPECTED,
                        failure.to_string(),
                        false,
                    );
                }
                LaunchError::NoHandshake { .. } | LaunchError::StartTimeout { .. } => {
                    ctx.check(
                        "first stdout line is the handshake",
                        EXPECTED,
                        format!("no complete first line: {failure}"),
                        false,
                    );
                }
                LaunchError::Handshake { .. } | LaunchError::Connect { .. } => {
                    // A handshake-shaped line was first; plugin/handshake/format judges it.
                    ctx.check(
                        "first stdout line is the handshake",
                        EXPECTED,
                        format!(
                            "{:?} (handshake-shaped; its content is judged by plugin/handshake/format)",
                            first.unwrap_or_default()
                        ),
                        true,
                    );
                }
                // Manifest, PluginAPI server, spawn: nothing was printed at all.
                _ => {
                    ctx.check("plugin started", "started", failure.to_string(), false);
                }
            }
        }
    }
    Ok(())
}

async fn format(ctx: Ctx, bundle: Arc<PathBuf>) -> anyhow::Result<()> {
    let plugin = match launch(&ctx, &bundle).await {
        Ok(plugin) => plugin,
        Err(failure) => {
            note_stderr(&ctx, &failure);
            match &failure.error {
                LaunchError::Handshake { line, error } => {
                    ctx.check(
                        "handshake line accepted",
                        "1|1|tcp|127.0.0.1:PORT|grpc",
                        format!("{line:?}: {error}"),
                        false,
                    );
                }
                LaunchError::Connect { .. } => {
                    ctx.check(
                        "host connects to the announced address",
                        "connected",
                        failure.to_string(),
                        false,
                    );
                }
                _ => {
                    ctx.check(
                        "handshake line received",
                        "a handshake line",
                        failure.to_string(),
                        false,
                    );
                }
            }
            return Ok(());
        }
    };
    let h = &plugin.handshake;
    ctx.note(format!("handshake line: {:?}", plugin.handshake_line));
    ctx.eq("core protocol version", 1, h.core_version);
    ctx.eq("app protocol version", 1, h.app_version);
    ctx.check(
        "network",
        "tcp or unix",
        h.network.as_str(),
        matches!(h.network, Network::Tcp | Network::Unix),
    );
    ctx.check(
        "protocol",
        "grpc",
        h.protocol.as_str(),
        h.protocol == Protocol::Grpc,
    );
    ctx.check(
        "no server certificate (the host sent no PLUGIN_CLIENT_CERT)",
        "none",
        format!("{:?}", h.server_cert),
        h.server_cert.is_none(),
    );
    ctx.check(
        "host connects to the announced address",
        "connected",
        h.address.to_string(),
        true,
    );
    if h.field_count > 6 {
        ctx.note(format!(
            "the line has {} fields; the host ignores fields past the 6th unless it asked for multiplexing",
            h.field_count
        ));
    }
    finish(&ctx, plugin).await;
    Ok(())
}

/// Whether a tcp host of a handshake address is loopback.
fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

async fn loopback(ctx: Ctx, bundle: Arc<PathBuf>) -> anyhow::Result<()> {
    let plugin = start(&ctx, &bundle, HostConfig::default()).await?;
    match &plugin.handshake.address {
        Address::Tcp { host, port } => {
            ctx.check(
                "listening address",
                "127.0.0.1, ::1 or localhost",
                if host.is_empty() {
                    format!(":{port} (no host: the plugin likely listens on every interface)")
                } else {
                    format!("{host}:{port}")
                },
                is_loopback(host),
            );
        }
        Address::Unix(path) => {
            ctx.check(
                "listening address",
                "local",
                format!("unix socket {path}"),
                true,
            );
        }
    }
    finish(&ctx, plugin).await;
    Ok(())
}

async fn timing(ctx: Ctx, bundle: Arc<PathBuf>) -> anyhow::Result<()> {
    let limit = HostConfig::default().start_timeout;
    let (timeline, plugin) = match launch(&ctx, &bundle).await {
        Ok(plugin) => (plugin.timeline.entries(), Some(plugin)),
        Err(failure) => {
            note_stderr(&ctx, &failure);
            if let LaunchError::StartTimeout { .. } = failure.error {
                ctx.check(
                    "handshake within the start timeout",
                    format!("within {limit:?}"),
                    failure.to_string(),
                    false,
                );
                return Ok(());
            }
            if failure.timeline.first("handshake_received").is_none() {
                ctx.check(
                    "handshake line received",
                    "a handshake line",
                    failure.to_string(),
                    false,
                );
                return Ok(());
            }
            ctx.note(format!(
                "the line was refused ({failure}); plugin/handshake/format judges it"
            ));
            (failure.timeline.entries(), None)
        }
    };
    let took = gap_us(&timeline, "spawned", "handshake_received");
    ctx.note(format!(
        "handshake {} ms after spawn",
        took.map_or("?".to_string(), |us| format!("{:.1}", us as f64 / 1000.0))
    ));
    ctx.check(
        "handshake within the start timeout",
        format!("within {limit:?}"),
        took.map_or("no handshake time in the timeline".to_string(), |us| {
            format!("{:.3} s", us as f64 / 1e6)
        }),
        took.is_some_and(|us| us <= limit.as_micros() as u64),
    );
    if let Some(plugin) = plugin {
        finish(&ctx, plugin).await;
    }
    Ok(())
}

async fn health(ctx: &Ctx, bundle: &Path, service: &str) -> anyhow::Result<()> {
    let plugin = start(ctx, bundle, HostConfig::default()).await?;
    let outcome = plugin.health_check(service).await;
    ctx.check(
        &format!("Health/Check({service:?})"),
        "SERVING",
        outcome.describe(),
        outcome == HealthOutcome::Serving,
    );
    finish(ctx, plugin).await;
    Ok(())
}

async fn health_plugin(ctx: Ctx, bundle: Arc<PathBuf>) -> anyhow::Result<()> {
    health(&ctx, &bundle, "plugin").await
}

async fn health_empty(ctx: Ctx, bundle: Arc<PathBuf>) -> anyhow::Result<()> {
    health(&ctx, &bundle, "").await
}

/// `Implemented` as the host calls it, raw: the names as listed, duplicates included.
async fn implemented_raw(ctx: &Ctx, plugin: &RunningPlugin) -> anyhow::Result<Vec<String>> {
    let mut client = PluginHooksClient::new(plugin.channel()).max_decoding_message_size(usize::MAX);
    let call = client.implemented(ImplementedRequest::default());
    match tokio::time::timeout(IMPLEMENTED_DEADLINE, call).await {
        Err(_) => {
            ctx.check(
                "Implemented answered",
                format!("an answer within {IMPLEMENTED_DEADLINE:?}"),
                "no answer",
                false,
            );
            anyhow::bail!("Implemented did not answer")
        }
        Ok(Err(status)) => {
            ctx.check(
                "Implemented answered",
                "an answer",
                format!(
                    "{:?}{}{}",
                    status.code(),
                    if status.message().is_empty() {
                        String::new()
                    } else {
                        format!(": {}", status.message())
                    },
                    if format!("{:?}", status.code()) == "Unimplemented" {
                        " (the plugin does not serve mattermost.pluginapi.v1.PluginHooks)"
                    } else {
                        ""
                    }
                ),
                false,
            );
            anyhow::bail!("Implemented failed")
        }
        Ok(Ok(response)) => {
            let response = response.into_inner();
            ctx.check("Implemented answered", "an answer", "answered", true);
            ctx.check(
                "no error in the answer",
                "no error",
                format!("{:?}", response.error),
                response.error.is_none(),
            );
            Ok(response.hooks)
        }
    }
}

async fn implemented_answers(ctx: Ctx, bundle: Arc<PathBuf>) -> anyhow::Result<()> {
    let plugin = start(&ctx, &bundle, HostConfig::default()).await?;
    if let Ok(hooks) = implemented_raw(&ctx, &plugin).await {
        ctx.note(format!(
            "Implemented lists {} name(s): {}",
            hooks.len(),
            hooks.join(", ")
        ));
        ctx.record_answer(conformance_core::runner::AnswerSnapshot {
            hook: "Implemented".into(),
            request_label: "empty request".into(),
            request: serde_json::json!({}),
            answer: Some(serde_json::json!({ "hooks": hooks })),
            error: None,
        });
    }
    finish(&ctx, plugin).await;
    Ok(())
}

async fn implemented_names(ctx: Ctx, bundle: Arc<PathBuf>) -> anyhow::Result<()> {
    let plugin = start(&ctx, &bundle, HostConfig::default()).await?;
    let listed = implemented_raw(&ctx, &plugin).await;
    finish(&ctx, plugin).await;
    let hooks = listed?;
    let known: Vec<&str> = pluginapi_proto::hooks::HOOK_RPCS
        .iter()
        .map(|(name, _)| *name)
        .collect();
    let unknown: Vec<&String> = hooks
        .iter()
        .filter(|h| !known.contains(&h.as_str()))
        .collect();
    ctx.check(
        "every name is a PluginHooks rpc",
        "no unknown name",
        if unknown.is_empty() {
            "no unknown name".to_string()
        } else {
            format!(
                "{unknown:?}: the host ignores these, so those handlers never run (a typo? ServeMetrics has no rpc)"
            )
        },
        unknown.is_empty(),
    );
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for h in &hooks {
        *counts.entry(h.as_str()).or_default() += 1;
    }
    let duplicates: Vec<String> = counts
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(h, n)| format!("{h} ×{n}"))
        .collect();
    ctx.eq(
        "names listed more than once",
        Vec::<String>::new(),
        duplicates,
    );
    Ok(())
}

async fn activation(ctx: Ctx, bundle: Arc<PathBuf>) -> anyhow::Result<()> {
    let (plugin, activation) = activated(&ctx, &bundle).await?;
    ctx.note(format!(
        "{} hook(s) implemented: {}",
        activation.implemented.len(),
        activation
            .implemented
            .iter()
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    ));
    if !activation.unknown.is_empty() {
        ctx.note(format!("unknown names ignored: {:?}", activation.unknown));
    }
    ctx.note(match &activation.on_activate {
        HookOutcome::NotCalled => "OnActivate is not listed, so not called".to_string(),
        other => format!("OnActivate {}", other.describe()),
    });
    let calls = plugin.api_calls();
    ctx.note(format!(
        "{} PluginAPI call(s) during start and activation",
        calls.len()
    ));
    finish(&ctx, plugin).await;
    Ok(())
}

/// The announced TCP port, if the handshake named one.
fn announced_port(plugin: &RunningPlugin) -> Option<u16> {
    match &plugin.handshake.address {
        Address::Tcp { port, .. } => Some(*port),
        Address::Unix(_) => None,
    }
}

async fn port_not_fixed(ctx: Ctx, bundle: Arc<PathBuf>) -> anyhow::Result<()> {
    let config = HostConfig::default();
    let range = (config.min_port, config.max_port);
    let first = start(&ctx, &bundle, config).await?;
    // The second copy starts while the first still listens (straight through the host:
    // a collision here is the finding, not something to wait out).
    let second = match supervisor::start(&*bundle, HostConfig::default()).await {
        Ok(p) => p,
        Err(failure) => {
            let fixed = super::gate::collided(&failure);
            if fixed {
                super::gate::mark_fixed();
            }
            ctx.check(
                "each copy listens on its own port",
                format!(
                    "different ports, from PLUGIN_MIN_PORT..PLUGIN_MAX_PORT ({}..{}) or the OS",
                    range.0, range.1
                ),
                if fixed {
                    format!(
                        "the second copy announced the address the first copy listens on: a fixed port \
                         ({failure})"
                    )
                } else {
                    format!("the second copy did not start: {failure}")
                },
                false,
            );
            note_logs(&ctx, &failure.logs);
            finish(&ctx, first).await;
            return Ok(());
        }
    };
    let (a, b) = (announced_port(&first), announced_port(&second));
    ctx.note(format!(
        "announced: {} and {}",
        first.handshake_line.trim(),
        second.handshake_line.trim()
    ));
    let in_range = |p: Option<u16>| p.is_some_and(|p| (range.0..=range.1).contains(&p));
    let (passed, seen) = match (a, b) {
        (None, None) => (true, "Unix sockets (no port)".to_string()),
        (Some(x), Some(y)) if x == y => (
            {
                super::gate::mark_fixed();
                false
            },
            format!(
                "both copies announced port {x}: a fixed port, which copies share and calls can cross"
            ),
        ),
        _ if in_range(a) && in_range(b) => (true, "two ports from the host's range".to_string()),
        _ => (
            true,
            format!("two different ports ({a:?}, {b:?}): the OS picked them"),
        ),
    };
    ctx.check(
        "each copy listens on its own port",
        format!(
            "different ports, from PLUGIN_MIN_PORT..PLUGIN_MAX_PORT ({}..{}) or the OS",
            range.0, range.1
        ),
        seen,
        passed,
    );
    finish(&ctx, second).await;
    finish(&ctx, first).await;
    Ok(())
}

async fn activation_logs(ctx: Ctx, bundle: Arc<PathBuf>) -> anyhow::Result<()> {
    let (plugin, _) = activated(&ctx, &bundle).await?;
    let errors: Vec<String> = plugin
        .logs
        .lines()
        .into_iter()
        .filter(|l| l.level >= LogLevel::Error)
        .map(|l| l.note())
        .collect();
    ctx.check(
        "no ERROR line during start and activation",
        "none",
        if errors.is_empty() {
            "none".to_string()
        } else {
            errors.join("; ")
        },
        errors.is_empty(),
    );
    finish(&ctx, plugin).await;
    Ok(())
}

async fn controller_answers(ctx: Ctx, bundle: Arc<PathBuf>) -> anyhow::Result<()> {
    let plugin = start(&ctx, &bundle, HostConfig::default()).await?;
    let report = finish(&ctx, plugin).await;
    let (passed, seen) = match &report.controller {
        ControllerOutcome::Ok => (true, "answered OK".to_string()),
        // A Go server stops its gRPC server inside the handler, which cuts the call
        // (SPEC §8.2): fine when the process then exits.
        ControllerOutcome::Status { code, message }
            if (code == "Unavailable" || code == "Cancelled") && report.graceful =>
        {
            (
                true,
                format!("the call was cut by the plugin stopping ({code}: {message})"),
            )
        }
        ControllerOutcome::Status { code, .. } if code == "Unimplemented" => (
            false,
            "UNIMPLEMENTED: the plugin serves no plugin.GRPCController. go-plugin ignores this, but then the \
             plugin gets no chance to stop cleanly and is SIGKILLed after the grace"
                .to_string(),
        ),
        other => (false, describe_controller(other)),
    };
    ctx.check("GRPCController/Shutdown", "answered", seen, passed);
    Ok(())
}

async fn exits_within_grace(ctx: Ctx, bundle: Arc<PathBuf>) -> anyhow::Result<()> {
    let plugin = start(&ctx, &bundle, HostConfig::default()).await?;
    let grace = HostConfig::default().shutdown_grace;
    let report = finish(&ctx, plugin).await;
    let took = gap_us(&report.timeline, "shutdown_requested", "process_exited");
    ctx.note(format!(
        "Shutdown: {}; process exited ({}) {} ms after the shutdown began",
        describe_controller(&report.controller),
        report.exit_status,
        took.map_or("?".to_string(), |us| format!("{:.1}", us as f64 / 1000.0))
    ));
    ctx.check(
        "exited by itself within the grace",
        format!("exited within {grace:?}, no SIGKILL"),
        if report.killed {
            format!(
                "still running (or its stdout/stderr still open) {grace:?} after Shutdown ({}), so the host \
                 sent SIGKILL",
                describe_controller(&report.controller)
            )
        } else {
            format!("exited: {}", report.exit_status)
        },
        report.graceful && !report.killed,
    );
    Ok(())
}

/// What `GRPCController/Shutdown` came to, for messages.
fn describe_controller(outcome: &ControllerOutcome) -> String {
    match outcome {
        ControllerOutcome::Ok => "answered OK".to_string(),
        ControllerOutcome::Status { code, message } if message.is_empty() => code.clone(),
        ControllerOutcome::Status { code, message } => format!("{code}: {message}"),
        ControllerOutcome::TimedOut => "no answer within the grace".to_string(),
    }
}

/// Sends SIGTERM to one process (`kill -TERM PID`).
async fn sigterm(pid: u32) -> anyhow::Result<()> {
    let status = tokio::time::timeout(
        Duration::from_secs(10),
        tokio::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .kill_on_drop(true)
            .status(),
    )
    .await
    .map_err(|_| anyhow::anyhow!("kill -TERM {pid} did not return within 10 s"))??;
    anyhow::ensure!(status.success(), "kill -TERM {pid}: {status}");
    Ok(())
}

async fn exits_on_sigterm(ctx: Ctx, bundle: Arc<PathBuf>) -> anyhow::Result<()> {
    let plugin = start(&ctx, &bundle, HostConfig::default()).await?;
    let pid = plugin.pid;
    let sent = Instant::now();
    let result = sigterm(pid).await;
    let exited = match &result {
        Ok(()) => wait_for(SIGTERM_LIMIT, || (!is_running(pid)).then(|| sent.elapsed())).await,
        Err(_) => None,
    };
    let report = finish(&ctx, plugin).await;
    result?;
    ctx.check(
        "exited on SIGTERM",
        format!("exited within {SIGTERM_LIMIT:?}"),
        match exited {
            Some(after) => format!(
                "exited after {:.1} ms ({})",
                after.as_secs_f64() * 1000.0,
                report.exit_status
            ),
            None => format!("still running {SIGTERM_LIMIT:?} after SIGTERM"),
        },
        exited.is_some(),
    );
    Ok(())
}

/// Live processes of a process group, as `pid (command)`.
fn group_members(pgid: i32) -> Vec<String> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let (head, rest) = stat.rsplit_once(')')?;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let live = fields.first().is_some_and(|s| *s != "Z" && *s != "X");
            let group = fields.get(2).and_then(|g| g.parse::<i32>().ok());
            (live && group == Some(pgid)).then(|| {
                let name = head.split_once('(').map_or("", |(_, n)| n);
                format!("{pid} ({name})")
            })
        })
        .collect()
}

async fn no_leftover_processes(ctx: Ctx, bundle: Arc<PathBuf>) -> anyhow::Result<()> {
    let config = HostConfig::default();
    let grace = config.shutdown_grace;
    let mut plugin = start(&ctx, &bundle, config).await?;
    // Workers are often started at activation: activate, whatever comes of it.
    if let Err(e) = plugin.activate().await {
        ctx.note(format!(
            "activation failed ({e}); checking the process group anyway"
        ));
    }
    let (pid, pgid) = (plugin.pid, plugin.process_group());
    // Ask the plugin to stop as go-plugin does, then as the SDK expects.
    let mut controller = GrpcControllerClient::new(plugin.channel());
    let _ = tokio::time::timeout(grace, controller.shutdown(Empty {})).await;
    let mut how = "on Shutdown";
    let mut exited = wait_for(grace, || (!is_running(pid)).then_some(())).await;
    if exited.is_none() && sigterm(pid).await.is_ok() {
        how = "on SIGTERM";
        exited = wait_for(SIGTERM_LIMIT, || (!is_running(pid)).then_some(())).await;
    }
    match exited {
        Some(()) => {
            let _ = wait_for(GROUP_SETTLE, || {
                group_members(pgid).is_empty().then_some(())
            })
            .await;
            let members = group_members(pgid);
            ctx.check(
                &format!("process group {pgid} empty after the plugin exited {how}"),
                "no process",
                if members.is_empty() {
                    "no process".to_string()
                } else {
                    format!(
                        "still running: {}. Stop the processes the plugin started before it exits (a process \
                         holding the plugin's stdout/stderr makes go-plugin's Kill wait for it)",
                        members.join(", ")
                    )
                },
                members.is_empty(),
            );
        }
        None => {
            ctx.note(
                "the plugin exited neither on Shutdown nor on SIGTERM; the host SIGKILLs its whole process group \
                 (see plugin/shutdown/*)",
            );
        }
    }
    let report = finish(&ctx, plugin).await;
    if exited.is_none() {
        let members = group_members(pgid);
        ctx.check(
            &format!("process group {pgid} empty after the host's SIGKILL"),
            "no process",
            format!("{members:?} ({})", report.exit_status),
            members.is_empty(),
        );
    }
    Ok(())
}
