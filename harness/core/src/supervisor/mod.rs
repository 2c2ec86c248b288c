//! The reference supervisor: launches a Python plugin bundle the way Mattermost does
//! (SPEC §3, §6, §7, §9) and records every step in a [`Timeline`].
//!
//! Start: PluginAPI server first, then `<interpreter> <script>` in its own process group
//! with cwd = bundle and the host environment, the first stdout line read within the
//! start timeout and parsed, stdout drained, stderr logged, the announced address dialled.
//! Health: `grpc.health.v1.Health/Check("plugin")`, bounded by a timeout (go-plugin has
//! none; a conformance host must diagnose a hang rather than hang). Shutdown:
//! `GRPCController/Shutdown` (result ignored), close the connection, wait the grace for
//! the process to exit and its pipes to close, SIGKILL the group, and only then stop the
//! PluginAPI server.

mod connect;
pub mod hooks;
pub mod multi;
pub(crate) use connect::error_chain;
mod api_restart;
mod launch;
mod listener_owner;
pub mod mtls;
pub mod plugin_log;
pub mod restart;
mod shutdown;
pub mod timeline;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use connect::AddressRefusal;
pub use launch::{LaunchError, LaunchFailure};
pub use plugin_log::{Level, LogLine, PluginLogs};
pub use shutdown::{ControllerOutcome, ShutdownReport};
pub use timeline::{Entry, Step, Timeline};

use crate::api::ApiServer;
use crate::handshake::{Handshake, HostExpectations};
use crate::manifest::LaunchPlan;
use crate::process::ProcessGroup;

/// go-plugin's magic cookie for Mattermost.
pub const MAGIC_COOKIE_KEY: &str = "MATTERMOST_PLUGIN";
pub const MAGIC_COOKIE_VALUE: &str = "Securely message teams, anywhere.";

/// How the reference host launches and supervises a plugin.
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// Time from spawn to a complete first stdout line (Mattermost: 10 s for Python).
    pub start_timeout: Duration,
    /// Time the host waits for the process to exit after Shutdown (go-plugin: 2 s).
    pub shutdown_grace: Duration,
    /// Deadline of one health check (go-plugin has none).
    pub health_timeout: Duration,
    /// Deadline for dialling the announced address.
    pub connect_timeout: Duration,
    /// Where the PluginAPI server listens (port 0: any free port).
    pub api_listen: SocketAddr,
    pub min_port: u16,
    pub max_port: u16,
    /// What the handshake must satisfy.
    pub expectations: HostExpectations,
    /// Extra variables for the child, applied last (tests use them to simulate a host
    /// environment without touching the runner's own).
    pub extra_env: Vec<(String, String)>,
    /// Kill the plugin if the host process dies (Linux parent-death signal).
    pub die_with_host: bool,
    /// `PATH` used to look for `python3`/`python` when the bundle has no venv (None: the
    /// host's own `PATH`).
    pub interpreter_search_path: Option<std::ffi::OsString>,
    /// Deadline of one unary hook call (upstream: 30 s).
    pub hook_deadline: Duration,
    /// How long OnDeactivate may take when the whole environment shuts down (upstream's
    /// `Environment.Shutdown`: 10 s).
    pub deactivate_cap: Duration,
    /// Largest PluginAPI message each way, in bytes (default: the Python SDK client's
    /// 100 MiB; upstream's Go server accepts 4 MiB). A larger request is answered
    /// RESOURCE_EXHAUSTED.
    pub api_max_message: usize,
    /// go-plugin's AutoMTLS (SPEC §8.6; Mattermost does not use it, so off by
    /// default): a one-off client certificate in `PLUGIN_CLIENT_CERT`, and the plugin dialled
    /// over TLS trusting only the certificate of handshake field 6.
    pub auto_mtls: bool,
    /// The plugin's PluginAPI server: its store (shared with other plugins or its own) and
    /// the harness extensions it honours.
    pub api: crate::api::ApiOptions,
    /// Deviations from upstream this host makes on purpose: the mutation score's protocol
    /// mutants, injected here (default: the process's active mutant, if a protocol one)
    /// rather than looked up where the rule is kept.
    pub deviations: Vec<crate::mutants::Protocol>,
}

impl HostConfig {
    /// Whether this host deviates from upstream by `p`.
    pub fn deviates(&self, p: crate::mutants::Protocol) -> bool {
        self.deviations.contains(&p)
    }

    /// The bundle rules this host applies (upstream's unless it deviates).
    pub fn launch_rules(&self) -> crate::manifest::LaunchRules {
        use crate::mutants::Protocol;
        crate::manifest::LaunchRules {
            contain_script: !self.deviates(Protocol::ManifestPathUnchecked),
            venv_first: !self.deviates(Protocol::InterpreterPathFirst),
        }
    }
}

impl Default for HostConfig {
    fn default() -> Self {
        Self {
            start_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(2),
            health_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(5),
            api_listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            min_port: 10000,
            max_port: 25000,
            expectations: HostExpectations::default(),
            extra_env: Vec::new(),
            die_with_host: true,
            interpreter_search_path: None,
            hook_deadline: Duration::from_secs(30),
            deactivate_cap: Duration::from_secs(10),
            api_max_message: crate::api::limits::DEFAULT_MAX_MESSAGE,
            auto_mtls: false,
            api: crate::api::ApiOptions::default(),
            deviations: match crate::mutants::active() {
                Some(crate::mutants::Mutant::Protocol(p)) => vec![*p],
                _ => Vec::new(),
            },
        }
    }
}

/// The result of one health check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthOutcome {
    Serving,
    /// Answered, but not SERVING: go-plugin's Ping still passes (only the error counts).
    NotServing {
        status: i32,
    },
    /// The call failed: `NOT_FOUND` (no "plugin" name), `UNIMPLEMENTED` (no health
    /// service) or a transport error.
    Failed {
        code: tonic::Code,
        message: String,
    },
    /// No answer within the deadline.
    TimedOut {
        after: Duration,
    },
}

impl HealthOutcome {
    /// Whether go-plugin's `Ping` would pass.
    pub fn ping_passes(&self) -> bool {
        matches!(
            self,
            HealthOutcome::Serving | HealthOutcome::NotServing { .. }
        )
    }

    /// A short description for reports and the timeline.
    pub fn describe(&self) -> String {
        match self {
            HealthOutcome::Serving => "SERVING".into(),
            HealthOutcome::NotServing { status } => format!(
                "answered status {status} (not SERVING): go-plugin's Ping passes, but the plugin says it is not serving"
            ),
            HealthOutcome::Failed { code, message } => match code {
                tonic::Code::NotFound => format!(
                    "NOT_FOUND: the plugin's health service does not know the name \"plugin\" ({message}); \
                     register \"plugin\" as SERVING"
                ),
                tonic::Code::Unimplemented => format!(
                    "UNIMPLEMENTED: the plugin serves no grpc.health.v1.Health ({message}); register the health \
                     service with \"plugin\" = SERVING"
                ),
                other => format!("health check failed with {other:?}: {message}"),
            },
            HealthOutcome::TimedOut { after } => format!(
                "no answer to grpc.health.v1.Health/Check within {after:?}: the plugin accepted the call but never \
                 answered (go-plugin's Ping would hang)"
            ),
        }
    }
}

/// A started plugin: process, connection, PluginAPI server, logs and timeline.
#[derive(Debug)]
pub struct RunningPlugin {
    pub plan: LaunchPlan,
    pub handshake: Handshake,
    pub handshake_line: String,
    pub pid: u32,
    pub api_address: SocketAddr,
    pub timeline: Arc<Timeline>,
    pub logs: Arc<PluginLogs>,
    channel: tonic::transport::Channel,
    api: Option<ApiServer>,
    child: tokio::process::Child,
    group: ProcessGroup,
    pipes_closed: tokio::sync::watch::Receiver<u8>,
    config: HostConfig,
    /// Temporary directory for the plugin's Unix socket, if the host made one.
    _socket_dir: Option<tempfile::TempDir>,
    /// The hooks the plugin listed in `Implemented` (None before activation).
    implemented: Option<std::collections::BTreeSet<String>>,
}

/// Starts the plugin in `bundle`: [`launch::launch`].
pub async fn start(
    bundle: impl Into<PathBuf>,
    config: HostConfig,
) -> Result<RunningPlugin, LaunchFailure> {
    launch::launch(bundle.into(), config).await
}

impl RunningPlugin {
    /// One `grpc.health.v1.Health/Check` for `service`, bounded by the configured timeout.
    pub async fn health_check(&self, service: &str) -> HealthOutcome {
        use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
        let mut client = HealthClient::new(self.channel.clone());
        let request = HealthCheckRequest {
            service: service.to_string(),
        };
        let timeout = self.config.health_timeout;
        let outcome = match tokio::time::timeout(timeout, client.check(request)).await {
            Err(_) => HealthOutcome::TimedOut { after: timeout },
            Ok(Err(status)) => HealthOutcome::Failed {
                code: status.code(),
                message: status.message().to_string(),
            },
            Ok(Ok(resp)) => match resp.into_inner().status {
                1 => HealthOutcome::Serving,
                status => HealthOutcome::NotServing { status },
            },
        };
        self.timeline.push(Step::HealthChecked {
            outcome: outcome.describe(),
        });
        outcome
    }

    /// The `plugin` health check go-plugin's Ping makes.
    pub async fn ping(&self) -> HealthOutcome {
        let service = if self
            .config
            .deviates(crate::mutants::Protocol::HealthWrongService)
        {
            ""
        } else {
            "plugin"
        };
        self.health_check(service).await
    }

    /// The gRPC channel to the plugin (for hooks and go-plugin services).
    pub fn channel(&self) -> tonic::transport::Channel {
        self.channel.clone()
    }

    /// The PluginAPI calls the plugin made so far.
    pub fn api_calls(&self) -> Vec<crate::api::CallRecord> {
        self.api.as_ref().map(|a| a.calls()).unwrap_or_default()
    }

    /// The slash commands the plugin registered through the PluginAPI: `(trigger, team id)`.
    pub fn registered_commands(&self) -> Vec<(String, String)> {
        let Some(api) = &self.api else {
            return Vec::new();
        };
        let store = api.store();
        let store = store.lock().unwrap_or_else(|e| e.into_inner());
        store
            .commands
            .registered()
            .into_iter()
            .map(|(_, trigger, team)| (trigger, team))
            .collect()
    }

    /// The lines the plugin logged through the PluginAPI (`LogDebug`...`LogError`).
    pub fn api_log_lines(&self) -> Vec<String> {
        let Some(api) = &self.api else {
            return Vec::new();
        };
        let store = api.store();
        let store = store.lock().unwrap_or_else(|e| e.into_inner());
        store
            .logging
            .lines()
            .map(|l| format!("{} {}: {}", l.plugin_id, l.level, l.msg))
            .collect()
    }

    /// The process group the plugin runs in.
    pub fn process_group(&self) -> i32 {
        self.group.id()
    }

    /// Whether the plugin process has exited (reaped).
    pub fn has_exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// Stops the plugin in upstream order; see [`shutdown::shutdown`].
    pub async fn shutdown(self) -> ShutdownReport {
        shutdown::shutdown(self).await
    }
}
