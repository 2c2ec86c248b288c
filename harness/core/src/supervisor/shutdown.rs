//! Shutdown in upstream order (SPEC §9): `GRPCController/Shutdown` (errors
//! ignored) → close the connection → wait the grace for the process to exit and its
//! pipes to close → SIGKILL the process group → stop the PluginAPI server last.

use std::time::Duration;

use pluginapi_proto::goplugin::{Empty, grpc_controller_client::GrpcControllerClient};
use serde::Serialize;

use super::RunningPlugin;
use super::timeline::{Entry, Step};
use crate::mutants::Protocol;

/// What `GRPCController/Shutdown` answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum ControllerOutcome {
    Ok,
    /// The plugin does not implement the controller (the Python SDK), or the call was
    /// cut by the plugin stopping: both are fine for go-plugin.
    Status {
        code: String,
        message: String,
    },
    /// No answer within the grace period.
    TimedOut,
}

/// What happened during shutdown.
#[derive(Debug, Clone, Serialize)]
pub struct ShutdownReport {
    pub controller: ControllerOutcome,
    /// The process exited by itself within the grace period.
    pub graceful: bool,
    /// The host had to send SIGKILL.
    pub killed: bool,
    pub exit_status: String,
    /// Processes of the plugin's group that were still there after the plugin exited
    /// (for example a grandchild holding the pipes) and were killed.
    pub swept_survivors: bool,
    pub timeline: Vec<Entry>,
}

/// Longest wait for a SIGKILLed group to be reaped and its pipes to close.
const REAP_LIMIT: Duration = Duration::from_secs(5);

pub(super) async fn shutdown(mut plugin: RunningPlugin) -> ShutdownReport {
    let grace = plugin.config.shutdown_grace;
    let timeline = plugin.timeline.clone();
    timeline.push(Step::ShutdownRequested);
    if plugin.config.deviates(Protocol::ApiStoppedBeforePlugin)
        && let Some(api) = plugin.api.take()
    {
        api.stop().await;
        timeline.push(Step::ApiServerStopped);
    }

    let mut controller = GrpcControllerClient::new(plugin.channel.clone());
    let outcome = match tokio::time::timeout(grace, controller.shutdown(Empty {})).await {
        Ok(Ok(_)) => ControllerOutcome::Ok,
        Ok(Err(status)) => ControllerOutcome::Status {
            code: format!("{:?}", status.code()),
            message: status.message().to_string(),
        },
        Err(_) => ControllerOutcome::TimedOut,
    };
    timeline.push(Step::ControllerShutdown {
        outcome: format!("{outcome:?}"),
    });
    drop(controller);
    // Close our side of the connection (go-plugin's conn.Close()).
    plugin.channel =
        tonic::transport::Endpoint::from_static("http://closed.invalid").connect_lazy();
    timeline.push(Step::ConnectionClosed);

    let exited = tokio::time::timeout(grace, wait_exit(&mut plugin)).await;
    let (graceful, killed, exit_status) = match exited {
        Ok(status) => {
            timeline.push(Step::ProcessExited {
                status: status.clone(),
                graceful: true,
            });
            (true, false, status)
        }
        Err(_) if plugin.config.deviates(Protocol::NoKillAfterGrace) => {
            let status = "still running after the grace; not killed".to_string();
            (false, false, status)
        }
        Err(_) => {
            timeline.push(Step::KillSent {
                target: format!("process group {}", plugin.group.id()),
            });
            if plugin.config.deviates(Protocol::KillLeaderOnly) {
                let _ = plugin.child.start_kill();
            } else {
                plugin.group.kill();
            }
            let status = match tokio::time::timeout(REAP_LIMIT, wait_exit(&mut plugin)).await {
                Ok(status) => status,
                Err(_) => "not reaped 5 s after SIGKILL".to_string(),
            };
            timeline.push(Step::ProcessExited {
                status: status.clone(),
                graceful: false,
            });
            (false, true, status)
        }
    };

    // Whatever else is left in the plugin's group (a grandchild) goes with it.
    let survivors = plugin.group.any_alive();
    if survivors
        && !plugin.config.deviates(Protocol::KillLeaderOnly)
        && !plugin.config.deviates(Protocol::NoKillAfterGrace)
    {
        plugin.group.kill();
    }
    timeline.push(Step::GroupSwept { survivors });

    if let Some(api) = plugin.api.take() {
        api.stop().await;
    }
    timeline.push(Step::ApiServerStopped);

    ShutdownReport {
        controller: outcome,
        graceful,
        killed,
        exit_status,
        swept_survivors: survivors,
        timeline: timeline.entries(),
    }
}

/// "Exited" as go-plugin means it: reaped, and both stdout and stderr at EOF.
async fn wait_exit(plugin: &mut RunningPlugin) -> String {
    let status = match plugin.child.wait().await {
        Ok(status) => status.to_string(),
        Err(e) => format!("wait failed: {e}"),
    };
    let mut closed = plugin.pipes_closed.clone();
    let _ = closed.wait_for(|n| *n >= 2).await;
    status
}
