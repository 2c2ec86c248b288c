//! Shutdown ordering (SPEC §9, §20.4 items 9 and 10): Shutdown rpc honoured,
//! SIGKILL only after the grace, no signal but SIGKILL, the PluginAPI server up until the
//! process is gone, grandchildren killed with the group, nothing left running.

use std::time::Duration;

use conformance_core::fixtures::{BundleBuilder, FakeMode};
use conformance_core::observe::Observed;
use conformance_core::process::is_running;
use conformance_core::runner::{Case, Ctx, Level};
use conformance_core::supervisor::{ControllerOutcome, HostConfig, ShutdownReport};

use crate::support::{check_order, gap_us, observed, shutdown_checked, start_ok};

/// Slack allowed above the grace before the kill, for a loaded 2-core machine.
const KILL_SLACK: Duration = Duration::from_secs(2);

fn signals(bundle: &conformance_core::fixtures::Bundle) -> Vec<String> {
    observed(bundle, |e| match e {
        Observed::Signal { name } => Some(name.clone()),
        _ => None,
    })
}

fn shutdown_rpcs(bundle: &conformance_core::fixtures::Bundle) -> usize {
    observed(bundle, |e| matches!(e, Observed::ShutdownRpc).then_some(())).len()
}

/// The kill came after the full grace, measured from closing the connection.
fn check_kill_after_grace(ctx: &Ctx, report: &ShutdownReport, grace: Duration) {
    ctx.eq("killed", true, report.killed);
    let waited = gap_us(&report.timeline, "connection_closed", "kill_sent");
    let low = grace.as_micros() as u64;
    let high = (grace + KILL_SLACK).as_micros() as u64;
    ctx.check(
        "SIGKILL after the grace period",
        format!("between {low} and {high} us after closing the connection"),
        waited.map_or("no kill in the timeline".to_string(), |w| format!("{w} us")),
        waited.is_some_and(|w| (low..=high).contains(&w)),
    );
}

pub fn cases() -> Vec<Case> {
    vec![
        Case::new(
            "shutdown/controller-honoured",
            Level::Must,
            "SPEC §9.2, §9.3",
            "a plugin that serves GRPCController exits on Shutdown within the grace, without SIGKILL",
            |ctx| async move {
                let (bundle, plugin) =
                    start_ok(&ctx, BundleBuilder::new(FakeMode::Healthy), HostConfig::default()).await?;
                let report = shutdown_checked(&ctx, plugin).await;
                ctx.eq("Shutdown rpcs the plugin received", 1, shutdown_rpcs(&bundle));
                ctx.eq("controller answer", ControllerOutcome::Ok, report.controller.clone());
                ctx.eq("exited by itself", true, report.graceful);
                ctx.eq("no SIGKILL", false, report.killed);
                ctx.eq("signals the plugin received", Vec::<String>::new(), signals(&bundle));
                Ok(())
            },
        ),
        Case::new(
            "shutdown/sigkill-after-grace",
            Level::Must,
            "SPEC §9.2 steps 2-3",
            "a plugin that ignores Shutdown is SIGKILLed once the 2 s grace has passed, not before",
            |ctx| async move {
                let config = HostConfig::default();
                let grace = config.shutdown_grace;
                let (bundle, plugin) =
                    start_ok(&ctx, BundleBuilder::new(FakeMode::IgnoresShutdown), config).await?;
                let report = shutdown_checked(&ctx, plugin).await;
                ctx.eq("Shutdown rpcs the plugin received", 1, shutdown_rpcs(&bundle));
                check_kill_after_grace(&ctx, &report, grace);
                check_order(&ctx, &report.timeline, "kill_sent", "process_exited");
                Ok(())
            },
        ),
        Case::new(
            "shutdown/sdk-style-no-controller",
            Level::Must,
            "SPEC §9.2, §9.4",
            "without GRPCController the host ignores UNIMPLEMENTED, sends no SIGTERM, and SIGKILLs after the grace",
            |ctx| async move {
                let config = HostConfig::default();
                let grace = config.shutdown_grace;
                let (bundle, plugin) =
                    start_ok(&ctx, BundleBuilder::new(FakeMode::ExitsOnSigtermOnly), config).await?;
                let report = shutdown_checked(&ctx, plugin).await;
                let code = match &report.controller {
                    ControllerOutcome::Status { code, .. } => code.clone(),
                    other => format!("{other:?}"),
                };
                ctx.eq("Shutdown answered", "Unimplemented".to_string(), code);
                check_kill_after_grace(&ctx, &report, grace);
                ctx.eq("no SIGTERM or SIGINT", Vec::<String>::new(), signals(&bundle));
                Ok(())
            },
        ),
        Case::new(
            "shutdown/api-server-outlives-plugin",
            Level::Must,
            "SPEC §9.1, §12 (OnDeactivate is the last chance to use the API)",
            "the PluginAPI server still answers while the plugin shuts down and stops only after it is gone",
            |ctx| async move {
                let (bundle, plugin) = start_ok(
                    &ctx,
                    BundleBuilder::new(FakeMode::ExitsOnShutdown),
                    HostConfig::default(),
                )
                .await?;
                let api = plugin.api_address;
                let report = shutdown_checked(&ctx, plugin).await;
                let probes = observed(&bundle, |e| match e {
                    Observed::ApiProbe { phase, reachable, detail, .. } if phase == "shutdown" => {
                        Some((*reachable, detail.clone()))
                    }
                    _ => None,
                });
                ctx.eq(
                    "PluginAPI reachable from the plugin during Shutdown",
                    vec![(true, "connected".to_string())],
                    probes,
                );
                // `api_server_stopped` is recorded once the server task has ended and its
                // listener is closed. (A TCP probe of the old port afterwards would race
                // with other cases' servers binding free ports.)
                check_order(&ctx, &report.timeline, "process_exited", "api_server_stopped");
                ctx.note(format!("the PluginAPI server was at {api}"));
                Ok(())
            },
        ),
        Case::new(
            "shutdown/grandchild-killed-with-group",
            Level::Must,
            "SPEC §9.2 step 4, §20.4 item 10",
            "a grandchild holding the plugin's pipes is killed with the process group instead of blocking shutdown",
            |ctx| async move {
                let (bundle, plugin) = start_ok(
                    &ctx,
                    BundleBuilder::new(FakeMode::SpawnsGrandchild),
                    HostConfig::default(),
                )
                .await?;
                let grandchildren = observed(&bundle, |e| match e {
                    Observed::Grandchild { child_pid } => Some(*child_pid),
                    _ => None,
                });
                ctx.eq("grandchildren started", 1, grandchildren.len());
                let report = shutdown_checked(&ctx, plugin).await;
                for pid in grandchildren {
                    ctx.check(
                        "grandchild gone",
                        "not running",
                        if is_running(pid) { "running" } else { "not running" },
                        !is_running(pid),
                    );
                }
                ctx.eq("plugin answered Shutdown", ControllerOutcome::Ok, report.controller);
                Ok(())
            },
        )
        .timeout(Duration::from_secs(30)),
        Case::new(
            "shutdown/order",
            Level::Must,
            "SPEC §9.1, §9.2",
            "shutdown runs Shutdown rpc, connection close, process exit, PluginAPI stop, in that order",
            |ctx| async move {
                let (_bundle, plugin) =
                    start_ok(&ctx, BundleBuilder::new(FakeMode::Healthy), HostConfig::default()).await?;
                let report = plugin.shutdown().await;
                let t = &report.timeline;
                for pair in [
                    ("api_server_started", "spawned"),
                    ("spawned", "handshake_received"),
                    ("handshake_received", "connected"),
                    ("shutdown_requested", "controller_shutdown"),
                    ("controller_shutdown", "connection_closed"),
                    ("connection_closed", "process_exited"),
                    ("process_exited", "api_server_stopped"),
                ] {
                    check_order(&ctx, t, pair.0, pair.1);
                }
                Ok(())
            },
        ),
    ]
}
