//! Lifecycle events of the driver contract, from the reference host's timeline.

use pluginapi_proto::harness::LifecycleEvent;

use crate::supervisor::timeline::{Entry, Step};

/// The contract's event for a timeline entry; `None` for steps the contract has no kind
/// for (connection closed, group swept).
pub fn event_of(plugin_id: &str, entry: &Entry) -> Option<LifecycleEvent> {
    let (kind, detail) = match &entry.step {
        Step::ApiServerStarted { address } => ("api_server_started", address.clone()),
        Step::Spawned { pid, .. } => ("spawned", pid.to_string()),
        Step::HandshakeReceived { line } => ("handshake_received", line.clone()),
        Step::HandshakeRefused { kind, message } => ("start_failed", format!("{kind}: {message}")),
        Step::StartFailed { reason } => ("start_failed", reason.clone()),
        Step::Connected { address } => ("connected", address.clone()),
        Step::HealthChecked { outcome } => ("health_checked", outcome.clone()),
        Step::ShutdownRequested => ("shutdown_requested", String::new()),
        Step::ControllerShutdown { outcome } => ("controller_shutdown", outcome.clone()),
        Step::ProcessExited { status, graceful } => (
            "process_exited",
            format!("{status}{}", if *graceful { " (graceful)" } else { "" }),
        ),
        Step::KillSent { target } => ("kill_sent", target.clone()),
        Step::ApiServerStopped => ("api_server_stopped", String::new()),
        Step::ConnectionClosed | Step::GroupSwept { .. } => return None,
    };
    Some(LifecycleEvent {
        t_us: entry.t_us,
        plugin_id: plugin_id.to_string(),
        kind: kind.to_string(),
        detail,
    })
}
