//! Start-up: manifest → socket directory (and AutoMTLS certificate) → PluginAPI server →
//! spawn → handshake → address check → connect.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::{oneshot, watch};

use super::connect::AddressRefusal;
use super::plugin_log::{PluginLogs, StderrParser};
use super::timeline::{Step, Timeline};
use super::{HostConfig, MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE, RunningPlugin};
use crate::api::ApiServer;
use crate::handshake::{self, HandshakeError, HostExpectations};
use crate::manifest::{LaunchPlan, ManifestError};
use crate::mutants::Protocol;
use crate::process::ProcessGroup;

/// The longest first line go-plugin's scanner accepts.
pub const MAX_HANDSHAKE_LINE: usize = 64 * 1024;

/// Why a plugin did not start. Each message says what the plugin author should fix.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error("{0}")]
    Manifest(#[from] ManifestError),
    #[error("the PluginAPI server could not listen: {0}")]
    ApiServer(std::io::Error),
    #[error("could not start {interpreter}: {source}")]
    Spawn {
        interpreter: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the plugin exited or closed stdout before printing the handshake line ({status}); \
         go-plugin: \"Unrecognized remote plugin message: \\nFailed to read any lines from plugin's stdout\". \
         Last stderr lines: {stderr_tail:?}"
    )]
    NoHandshake {
        status: String,
        stderr_tail: Vec<String>,
    },
    #[error(
        "no complete handshake line within the start timeout of {after:?} (go-plugin: \"timeout while waiting \
         for plugin to start\"){}",
        partial_hint(partial)
    )]
    StartTimeout { after: Duration, partial: String },
    #[error(
        "the first stdout line is longer than {MAX_HANDSHAKE_LINE} bytes; go-plugin's scanner refuses it. \
         Print only the handshake line on stdout"
    )]
    LineTooLong,
    #[error("handshake refused: {error}")]
    Handshake { line: String, error: HandshakeError },
    #[error(
        "the plugin announced {address} but the host could not connect: {message}. Listen on the address \
         before printing it, and keep serving"
    )]
    Connect { address: String, message: String },
    /// The announced address is not one the host dials: nothing was connected to.
    #[error("the host did not dial the announced address: {refusal}")]
    AddressRefused {
        line: String,
        refusal: AddressRefusal,
    },
    /// Another process listens on the announced address too: calls could reach it.
    #[error(
        "the announced address {address} is also listened on outside the plugin's process group, by {}; \
         new connections could reach that process instead of this plugin, so the host did not trust it. \
         Listen on a port of your own: port 0 (the OS picks a free one) or one from \
         PLUGIN_MIN_PORT..PLUGIN_MAX_PORT, not a fixed port",
        owners.join("; ")
    )]
    ForeignListener {
        address: String,
        owners: Vec<String>,
    },
    #[error("the host could not make the directory for the plugin's Unix socket: {0}")]
    SocketDir(std::io::Error),
    #[error("AutoMTLS: {0}")]
    AutoMtls(super::mtls::MtlsError),
    #[error(
        "the host asked for AutoMTLS (PLUGIN_CLIENT_CERT was set) but the handshake line {line:?} has no \
         server certificate in field 6 (a go-plugin host would then fail its TLS handshake). Serve TLS with a \
         certificate that requires the host's PLUGIN_CLIENT_CERT, and print that certificate as DER in base64 \
         without padding as the sixth field"
    )]
    NoServerCert { line: String },
}

fn partial_hint(partial: &str) -> String {
    if partial.is_empty() {
        ". Nothing was written to stdout: print the handshake line and flush stdout (Python block-buffers \
         stdout on a pipe)"
            .to_string()
    } else {
        format!(
            ". The plugin wrote {partial:?} without a newline: end the handshake line with \\n and flush stdout"
        )
    }
}

impl LaunchError {
    /// A stable identifier of the failure, for cases and reports.
    pub fn kind(&self) -> &'static str {
        match self {
            LaunchError::Manifest(_) => "manifest",
            LaunchError::ApiServer(_) => "api-server",
            LaunchError::Spawn { .. } => "spawn",
            LaunchError::NoHandshake { .. } => "no-handshake",
            LaunchError::StartTimeout { .. } => "start-timeout",
            LaunchError::LineTooLong => "line-too-long",
            LaunchError::Handshake { error, .. } => error.kind(),
            LaunchError::Connect { .. } => "connect",
            LaunchError::AddressRefused { refusal, .. } => refusal.kind(),
            LaunchError::ForeignListener { .. } => "foreign-listener",
            LaunchError::SocketDir(_) => "socket-dir",
            LaunchError::AutoMtls(_) => "auto-mtls",
            LaunchError::NoServerCert { .. } => "auto-mtls-no-server-cert",
        }
    }
}

/// A failed start, with what the host saw on the way.
#[derive(Debug)]
pub struct LaunchFailure {
    pub error: LaunchError,
    pub timeline: Arc<Timeline>,
    pub logs: Arc<PluginLogs>,
    /// The plugin's pid, if it was spawned (it has been killed and reaped).
    pub pid: Option<u32>,
}

impl std::fmt::Display for LaunchFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

enum FirstLine {
    Line(String),
    Eof,
    TooLong,
}

/// How the host reads stdout: upstream's (the first line, then drained), unless it deviates.
#[derive(Debug, Clone, Copy)]
struct StdoutReading {
    /// Takes the second line as the handshake (`handshake-second-line`).
    second_line: bool,
    /// Stops reading after the first line (`stdout-not-drained`).
    undrained: bool,
}

/// Reads the first stdout line, then drains stdout to EOF (go-plugin discards it).
async fn read_stdout(
    mut stdout: impl AsyncRead + Unpin,
    first: oneshot::Sender<FirstLine>,
    partial: Arc<Mutex<Vec<u8>>>,
    closed: watch::Sender<u8>,
    reading: StdoutReading,
) {
    let mut first = Some(first);
    let mut chunk = vec![0u8; 8192];
    let mut skip = usize::from(reading.second_line);
    loop {
        let n = match stdout.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if first.is_none() {
            if reading.undrained {
                // Mutant: stdout stays open and unread; the plugin blocks on a full pipe.
                std::future::pending::<()>().await;
            }
            continue;
        }
        let mut buf = partial.lock().expect("partial lock");
        buf.extend_from_slice(&chunk[..n]);
        while skip > 0
            && let Some(pos) = buf.iter().position(|&b| b == b'\n')
        {
            buf.drain(..=pos);
            skip -= 1;
        }
        if skip > 0 {
            continue;
        }
        if let Some(pos) = buf.iter().position(|&b| b == b'\n') {
            let mut line = &buf[..pos];
            if line.last() == Some(&b'\r') {
                line = &line[..line.len() - 1];
            }
            let line = String::from_utf8_lossy(line).into_owned();
            let _ = first.take().expect("first").send(FirstLine::Line(line));
        } else if buf.len() > MAX_HANDSHAKE_LINE {
            let _ = first.take().expect("first").send(FirstLine::TooLong);
        }
    }
    if let Some(first) = first {
        let _ = first.send(FirstLine::Eof);
    }
    closed.send_modify(|n| *n += 1);
}

/// Reads stderr line by line into the plugin's logs, with bounded memory.
async fn read_stderr(
    mut stderr: impl AsyncRead + Unpin,
    logs: Arc<PluginLogs>,
    closed: watch::Sender<u8>,
) {
    let mut parser = StderrParser::default();
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 8192];
    loop {
        let n = match stderr.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        while let Some(pos) = buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = buf.drain(..=pos).collect();
            let text = String::from_utf8_lossy(&line[..line.len() - 1]);
            for l in parser.parse(text.trim_end_matches('\r')) {
                logs.push(l);
            }
        }
        if buf.len() > 4 * super::plugin_log::MAX_LINE {
            let text = String::from_utf8_lossy(&buf).into_owned();
            buf.clear();
            for l in parser.parse(&text) {
                logs.push(l);
            }
        }
    }
    if !buf.is_empty() {
        for l in parser.parse(&String::from_utf8_lossy(&buf)) {
            logs.push(l);
        }
    }
    closed.send_modify(|n| *n += 1);
}

/// Everything a failed start must clean up, in order: process group, then API server.
async fn abandon(
    error: LaunchError,
    timeline: Arc<Timeline>,
    logs: Arc<PluginLogs>,
    spawned: Option<(tokio::process::Child, ProcessGroup)>,
    api: Option<ApiServer>,
) -> LaunchFailure {
    timeline.push(Step::StartFailed {
        reason: error.to_string(),
    });
    let mut pid = None;
    if let Some((mut child, group)) = spawned {
        pid = child.id();
        if matches!(child.try_wait(), Ok(None)) {
            timeline.push(Step::KillSent {
                target: format!("process group {}", group.id()),
            });
        }
        group.kill();
        let status = match tokio::time::timeout(Duration::from_secs(5), child.wait()).await {
            Ok(Ok(status)) => status.to_string(),
            Ok(Err(e)) => format!("wait failed: {e}"),
            Err(_) => "still running 5 s after SIGKILL".to_string(),
        };
        timeline.push(Step::ProcessExited {
            status,
            graceful: false,
        });
        drop(group);
    }
    if let Some(api) = api {
        api.stop().await;
    }
    timeline.push(Step::ApiServerStopped);
    LaunchFailure {
        error,
        timeline,
        logs,
        pid,
    }
}

pub(super) async fn launch(
    bundle: PathBuf,
    config: HostConfig,
) -> Result<RunningPlugin, LaunchFailure> {
    let timeline = Arc::new(Timeline::default());
    let logs = Arc::new(PluginLogs::default());
    let fail_early = |error: LaunchError| LaunchFailure {
        error,
        timeline: timeline.clone(),
        logs: logs.clone(),
        pid: None,
    };
    let path_var = config
        .interpreter_search_path
        .clone()
        .or_else(|| std::env::var_os("PATH"));
    let plan = LaunchPlan::with_rules(&bundle, path_var.as_deref(), config.launch_rules())
        .map_err(|e| fail_early(LaunchError::Manifest(e)))?;
    let plugin_id = plan.manifest.id.clone();

    // The only place the host accepts a Unix socket in (go-plugin's `plugin-dir*`), and,
    // with AutoMTLS, the host's one-off certificate.
    // Private to the host's user, as go-plugin's `os.MkdirTemp` makes it.
    let socket_dir = crate::scratch::dir("plugin-dir")
        .and_then(|dir| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))?;
            Ok(dir)
        })
        .map_err(|e| fail_early(LaunchError::SocketDir(e)))?;
    let identity = if config.auto_mtls {
        Some(super::mtls::Identity::generate().map_err(|e| fail_early(LaunchError::AutoMtls(e)))?)
    } else {
        None
    };

    // 1. The PluginAPI server listens before the plugin exists.
    let start_api = |listen: SocketAddr| {
        ApiServer::start_limited(
            listen,
            crate::api::ReferenceApi::configured(&plugin_id, &config.api),
            false,
            config.api_max_message,
        )
    };
    let (mut api, api_address) = if config.deviates(Protocol::ApiServerAfterPlugin) {
        // Mutant: a free port is named now, the server listens only after the handshake.
        let free = std::net::TcpListener::bind(config.api_listen)
            .and_then(|l| l.local_addr())
            .map_err(|e| fail_early(LaunchError::ApiServer(e)))?;
        (None, free)
    } else {
        let api = start_api(config.api_listen)
            .await
            .map_err(|e| fail_early(LaunchError::ApiServer(e)))?;
        let address = api.address();
        timeline.push(Step::ApiServerStarted {
            address: address.to_string(),
        });
        (Some(api), address)
    };
    let api_target = if config.deviates(Protocol::ApiTargetNowhere) {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_or_else(|_| "127.0.0.1:1".to_string(), |a| a.to_string())
    } else {
        api_address.to_string()
    };

    // 2. Spawn `<interpreter> <script>` in its own process group.
    let mut command = tokio::process::Command::new(&plan.interpreter);
    command
        .arg(&plan.script)
        .current_dir(&plan.bundle)
        .env("MATTERMOST_PLUGIN_API_TARGET", api_target)
        .env("MATTERMOST_PLUGIN_ID", &plugin_id)
        .env("MATTERMOST_PLUGIN_PATH", &plan.bundle)
        .env("PLUGIN_UNIX_SOCKET_DIR", socket_dir.path())
        .env("PLUGIN_MIN_PORT", config.min_port.to_string())
        .env("PLUGIN_MAX_PORT", config.max_port.to_string());
    if !config.deviates(Protocol::NoMagicCookie) {
        command.env(MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE);
    }
    if !config.deviates(Protocol::NoProtocolVersions) {
        command.env(
            "PLUGIN_PROTOCOL_VERSIONS",
            config
                .expectations
                .app_versions
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(","),
        );
    }
    if let Some(identity) = &identity {
        command.env(super::mtls::CLIENT_CERT_ENV, identity.cert_pem());
    }
    command
        .envs(config.extra_env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if !config.deviates(Protocol::SharedProcessGroup) {
        command.process_group(0);
    }
    if config.die_with_host {
        // SAFETY: die_with_parent only calls prctl, which is async-signal-safe.
        unsafe {
            command.pre_exec(crate::process::die_with_parent);
        }
    }
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(source) => {
            let error = LaunchError::Spawn {
                interpreter: plan.interpreter.clone(),
                source,
            };
            return Err(abandon(error, timeline, logs, None, api).await);
        }
    };
    let pid = child.id().expect("a just-spawned child has a pid");
    let mut group = ProcessGroup::new(pid);
    if config.deviates(crate::mutants::Protocol::KillLeaderOnly) {
        // A host that kills only the leader has no group safety net either.
        group.disarm();
    }
    timeline.push(Step::Spawned {
        pid,
        command: vec![
            plan.interpreter.display().to_string(),
            plan.script.display().to_string(),
        ],
    });

    let (closed_tx, pipes_closed) = watch::channel(0u8);
    let (first_tx, first_rx) = oneshot::channel();
    let partial = Arc::new(Mutex::new(Vec::new()));
    let stdout = child.stdout.take().expect("stdout is piped");
    let stderr = child.stderr.take().expect("stderr is piped");
    let reading = StdoutReading {
        second_line: config.deviates(Protocol::HandshakeSecondLine),
        undrained: config.deviates(Protocol::StdoutNotDrained),
    };
    if config.deviates(Protocol::HandshakeFromStderr) {
        tokio::spawn(read_stdout(
            stderr,
            first_tx,
            partial.clone(),
            closed_tx.clone(),
            reading,
        ));
        tokio::spawn(read_stderr(stdout, logs.clone(), closed_tx));
    } else {
        tokio::spawn(read_stdout(
            stdout,
            first_tx,
            partial.clone(),
            closed_tx.clone(),
            reading,
        ));
        tokio::spawn(read_stderr(stderr, logs.clone(), closed_tx));
    }

    // 3. The first stdout line, within the start timeout.
    let first = tokio::time::timeout(config.start_timeout, first_rx).await;
    let line = match first {
        Ok(Ok(FirstLine::Line(line))) => line,
        Ok(Ok(FirstLine::TooLong)) => {
            return Err(abandon(
                LaunchError::LineTooLong,
                timeline,
                logs,
                Some((child, group)),
                api,
            )
            .await);
        }
        Ok(Ok(FirstLine::Eof)) | Ok(Err(_)) => {
            let status = match tokio::time::timeout(Duration::from_secs(2), child.wait()).await {
                Ok(Ok(status)) => status.to_string(),
                _ => "stdout closed, process still running".to_string(),
            };
            // Let the stderr reader catch up with what the process wrote before exiting.
            let mut closed = pipes_closed.clone();
            let _ = tokio::time::timeout(Duration::from_millis(500), closed.wait_for(|n| *n >= 2))
                .await;
            let error = LaunchError::NoHandshake {
                status,
                stderr_tail: logs.tail(20),
            };
            return Err(abandon(error, timeline, logs, Some((child, group)), api).await);
        }
        Err(_) => {
            let partial =
                String::from_utf8_lossy(&partial.lock().expect("partial lock")).into_owned();
            let error = LaunchError::StartTimeout {
                after: config.start_timeout,
                partial,
            };
            return Err(abandon(error, timeline, logs, Some((child, group)), api).await);
        }
    };
    timeline.push(Step::HandshakeReceived { line: line.clone() });
    if api.is_none() {
        // The ApiServerAfterPlugin mutant: only now does the PluginAPI server listen.
        match start_api(api_address).await {
            Ok(server) => {
                timeline.push(Step::ApiServerStarted {
                    address: api_address.to_string(),
                });
                api = Some(server);
            }
            Err(e) => {
                let error = LaunchError::ApiServer(e);
                return Err(abandon(error, timeline, logs, Some((child, group)), api).await);
            }
        }
    }

    // 4. Parse it (with AutoMTLS, a certificate field is expected).
    let expectations = HostExpectations {
        tls: config.expectations.tls || identity.is_some(),
        ..config.expectations.clone()
    };
    let handshake = match handshake::parse(&line, &expectations) {
        Ok(h) => h,
        Err(error) => {
            timeline.push(Step::HandshakeRefused {
                kind: error.kind().to_string(),
                message: error.to_string(),
            });
            let error = LaunchError::Handshake { line, error };
            return Err(abandon(error, timeline, logs, Some((child, group)), api).await);
        }
    };

    // 5. Only loopback or a socket in the socket directory, checked before any connection.
    let target = match super::connect::check_address(
        &handshake.address,
        socket_dir.path(),
        config.connect_timeout,
    )
    .await
    {
        Ok(target) => target,
        Err(refusal) => {
            timeline.push(Step::HandshakeRefused {
                kind: refusal.kind().to_string(),
                message: refusal.to_string(),
            });
            let error = LaunchError::AddressRefused { line, refusal };
            return Err(abandon(error, timeline, logs, Some((child, group)), api).await);
        }
    };

    // 5b. Only the plugin's own process group listens there (Linux; see listener_owner).
    if let super::connect::Target::Tcp(addr) = &target {
        let owners = super::listener_owner::foreign_listeners(*addr, group.id()).await;
        if !owners.is_empty() {
            timeline.push(Step::HandshakeRefused {
                kind: "foreign-listener".to_string(),
                message: format!("{addr} is also listened on by {}", owners.join("; ")),
            });
            let error = LaunchError::ForeignListener {
                address: handshake.address.to_string(),
                owners,
            };
            return Err(abandon(error, timeline, logs, Some((child, group)), api).await);
        }
    }

    // 6. With AutoMTLS: trust exactly the certificate of field 6, present the host's own.
    let tls = match (&identity, &handshake.server_cert) {
        (None, _) => None,
        (Some(_), None) => {
            timeline.push(Step::HandshakeRefused {
                kind: "auto-mtls-no-server-cert".to_string(),
                message: "AutoMTLS was asked for but field 6 holds no certificate".to_string(),
            });
            let error = LaunchError::NoServerCert { line };
            return Err(abandon(error, timeline, logs, Some((child, group)), api).await);
        }
        (Some(identity), Some(field)) => {
            match super::mtls::decode_handshake_field(field)
                .and_then(|cert| super::mtls::client_config(cert, Some(identity)))
            {
                Ok(config) => Some(config),
                Err(e) => {
                    let error = LaunchError::AutoMtls(e);
                    return Err(abandon(error, timeline, logs, Some((child, group)), api).await);
                }
            }
        }
    };

    // 7. Dial it.
    let over_tls = tls.is_some();
    let channel = match super::connect::dial(&target, tls, config.connect_timeout).await {
        Ok(channel) => channel,
        Err(message) => {
            let message = if over_tls {
                format!(
                    "{message} (over AutoMTLS: serve TLS with the certificate printed in field 6 and accept \
                     the certificate of PLUGIN_CLIENT_CERT)"
                )
            } else {
                message
            };
            let error = LaunchError::Connect {
                address: handshake.address.to_string(),
                message,
            };
            return Err(abandon(error, timeline, logs, Some((child, group)), api).await);
        }
    };
    timeline.push(Step::Connected {
        address: handshake.address.to_string(),
    });

    Ok(RunningPlugin {
        plan,
        handshake,
        handshake_line: line,
        pid,
        api_address,
        timeline,
        logs,
        channel,
        api,
        child,
        group,
        pipes_closed,
        config,
        _socket_dir: Some(socket_dir),
        implemented: None,
    })
}

#[cfg(test)]
mod tests {
    use super::super::HostConfig;

    /// Loopback unless told otherwise; AutoMTLS only when asked for (Mattermost never does).
    #[test]
    fn the_default_host_listens_on_loopback_and_does_not_ask_for_tls() {
        let config = HostConfig::default();
        assert!(
            config.api_listen.ip().is_loopback(),
            "{}",
            config.api_listen
        );
        assert_eq!(config.api_listen.port(), 0, "any free port");
        assert!(!config.auto_mtls);
        assert!(!config.expectations.tls);
    }

    #[test]
    fn every_address_refusal_has_its_kind_and_a_fix() {
        use super::AddressRefusal;
        let refusals = [
            AddressRefusal::NotLoopback {
                address: "192.0.2.2:4000".into(),
                resolved: vec!["192.0.2.2".parse().unwrap()],
            },
            AddressRefusal::Unresolved {
                host: "nowhere".into(),
                reason: "no such host".into(),
            },
            AddressRefusal::SocketOutsideDir {
                path: "/tmp/x.sock".into(),
                dir: "/tmp/plugin-dir1".into(),
            },
        ];
        let kinds: Vec<&str> = refusals.iter().map(AddressRefusal::kind).collect();
        assert_eq!(
            kinds,
            [
                "address-not-loopback",
                "address-unresolved",
                "socket-outside-dir"
            ]
        );
        for r in &refusals {
            let error = super::LaunchError::AddressRefused {
                line: String::new(),
                refusal: r.clone(),
            };
            assert_eq!(error.kind(), r.kind());
            let message = error.to_string();
            assert!(
                message.contains("127.0.0.1") || message.contains("$PLUGIN_UNIX_SOCKET_DIR"),
                "{message}"
            );
        }
    }
}
