//! The reference host's lifecycle timeline: every step it takes, timestamped, so cases
//! can assert on order and timing (for example: SIGKILL only after the grace period, the
//! PluginAPI server stopped only after the process was gone).

use std::sync::Mutex;

use serde::Serialize;

/// One step of the host.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    ApiServerStarted { address: String },
    Spawned { pid: u32, command: Vec<String> },
    HandshakeReceived { line: String },
    HandshakeRefused { kind: String, message: String },
    StartFailed { reason: String },
    Connected { address: String },
    HealthChecked { outcome: String },
    ShutdownRequested,
    ControllerShutdown { outcome: String },
    ConnectionClosed,
    ProcessExited { status: String, graceful: bool },
    KillSent { target: String },
    GroupSwept { survivors: bool },
    ApiServerStopped,
}

impl Step {
    /// The step's tag, e.g. `kill_sent`.
    pub fn name(&self) -> &'static str {
        match self {
            Step::ApiServerStarted { .. } => "api_server_started",
            Step::Spawned { .. } => "spawned",
            Step::HandshakeReceived { .. } => "handshake_received",
            Step::HandshakeRefused { .. } => "handshake_refused",
            Step::StartFailed { .. } => "start_failed",
            Step::Connected { .. } => "connected",
            Step::HealthChecked { .. } => "health_checked",
            Step::ShutdownRequested => "shutdown_requested",
            Step::ControllerShutdown { .. } => "controller_shutdown",
            Step::ConnectionClosed => "connection_closed",
            Step::ProcessExited { .. } => "process_exited",
            Step::KillSent { .. } => "kill_sent",
            Step::GroupSwept { .. } => "group_swept",
            Step::ApiServerStopped => "api_server_stopped",
        }
    }
}

/// A timestamped step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    /// Microseconds since the Unix epoch.
    pub t_us: u64,
    #[serde(flatten)]
    pub step: Step,
}

/// Append-only list of steps, shared by the host's tasks.
#[derive(Debug, Default)]
pub struct Timeline {
    entries: Mutex<Vec<Entry>>,
}

impl Timeline {
    pub fn push(&self, step: Step) {
        let entry = Entry {
            t_us: crate::clock::now_us(),
            step,
        };
        self.entries.lock().expect("timeline lock").push(entry);
    }

    pub fn entries(&self) -> Vec<Entry> {
        self.entries.lock().expect("timeline lock").clone()
    }

    /// The first entry with this step name.
    pub fn first(&self, name: &str) -> Option<Entry> {
        self.entries().into_iter().find(|e| e.step.name() == name)
    }

    /// Step names in order, for order assertions and reports.
    pub fn names(&self) -> Vec<&'static str> {
        self.entries().iter().map(|e| e.step.name()).collect()
    }
}
