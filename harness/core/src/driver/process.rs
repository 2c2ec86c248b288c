//! Starting a host driver command and connecting to it (the runner's side of the driver
//! contract): own process group, parent-death signal, announcement within a deadline,
//! stderr kept (bounded) as the driver's log, and a stop that always ends the group.
//!
//! A driver that goes away during a run (it exits, is killed, or stops answering) is
//! noticed once, with what is known: the exit status or signal, how long into the run,
//! the last stderr lines ([`DriverGone`]). The host cases then report it as the root cause
//! instead of failing the host.

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pluginapi_proto::harness::host_driver_client::HostDriverClient;
use pluginapi_proto::harness::{DescribeResponse, ShutdownRequest};
use pluginapi_proto::pluginapi::plugin_hooks_client::PluginHooksClient;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tonic::transport::Channel;

use super::{DRIVER_ENV, parse_announcement};
use crate::process::ProcessGroup;

/// How long a driver may take to announce itself.
pub const ANNOUNCE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a driver may take to exit after Shutdown.
pub const EXIT_TIMEOUT: Duration = Duration::from_secs(10);
/// Driver log kept, in bytes (the newest part).
const LOG_LIMIT: usize = 256 * 1024;
/// How often a running driver is asked `Describe`, and how long it may take to answer
/// before it counts as no longer answering.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(2);
pub const HEARTBEAT_DEADLINE: Duration = Duration::from_secs(10);

/// A running driver.
pub struct DriverProcess {
    pub address: SocketAddr,
    pub description: DescribeResponse,
    channel: Channel,
    group: ProcessGroup,
    log: Arc<Mutex<Vec<u8>>>,
    /// Set once, when the driver is seen gone.
    gone: tokio::sync::watch::Sender<Option<DriverGone>>,
    /// The exit status, once the driver has exited and been reaped.
    exited: tokio::sync::watch::Receiver<Option<String>>,
    /// Set by a stop we asked for: an exit then is not a loss.
    stopping: Arc<AtomicBool>,
    started: Instant,
}

/// How a driver went away during a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriverGone {
    /// `exited with status 3`, `killed by signal 9 (SIGKILL)`, `stopped answering: ...`.
    pub how: String,
    /// Time since the driver was started.
    pub after: Duration,
    /// The last lines it wrote to stderr.
    pub stderr_tail: Vec<String>,
}

impl std::fmt::Display for DriverGone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the driver {} {:.1} s after it was started",
            self.how,
            self.after.as_secs_f64()
        )?;
        if self.stderr_tail.is_empty() {
            write!(f, "; it wrote nothing to stderr")
        } else {
            write!(
                f,
                "; its last stderr lines: {}",
                self.stderr_tail.join(" | ")
            )
        }
    }
}

/// `exited with status N` or `killed by signal N (NAME)`.
fn describe_exit(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(signal)) => {
            // SAFETY: strsignal returns a pointer to a static or thread-local string.
            let name = unsafe { std::ffi::CStr::from_ptr(libc::strsignal(signal)) }
                .to_string_lossy()
                .into_owned();
            format!("was killed by signal {signal} ({name})")
        }
        (None, None) => format!("ended ({status})"),
    }
}

/// What a hook call through the proxy came to.
#[derive(Debug, Clone)]
pub enum ProxiedHook {
    /// The host answered without calling the plugin (it did not list the hook).
    NotCalled,
    Answered(prost_reflect::DynamicMessage),
    Failed {
        code: tonic::Code,
        message: String,
    },
}

impl ProxiedHook {
    pub fn describe(&self) -> String {
        match self {
            ProxiedHook::NotCalled => "not called by the host".into(),
            ProxiedHook::Answered(m) => format!("answered {}", crate::behaviour::to_json(m)),
            ProxiedHook::Failed { code, message } => format!("failed: {code:?}: {message}"),
        }
    }
}

/// Why a driver could not be had.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error("cannot start the driver {command:?}: {error}")]
    Spawn { command: String, error: String },
    #[error("the driver printed no announcement within {0:?} (stderr: {1})")]
    NoAnnouncement(Duration, String),
    #[error("the driver exited before announcing itself (stderr: {0})")]
    Exited(String),
    #[error("bad announcement: {0}")]
    Announcement(#[from] super::AnnounceError),
    #[error("cannot connect to the driver at {address}: {error}")]
    Connect { address: SocketAddr, error: String },
    #[error("Describe failed: {0}")]
    Describe(String),
}

/// The last `n` non-empty lines of the log.
fn tail_lines(log: &Mutex<Vec<u8>>, n: usize) -> Vec<String> {
    let text = tail(log);
    let lines: Vec<String> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    lines[lines.len().saturating_sub(n)..].to_vec()
}

fn tail(log: &Mutex<Vec<u8>>) -> String {
    let log = log.lock().unwrap_or_else(|e| e.into_inner());
    let text = String::from_utf8_lossy(&log);
    let text = text.trim();
    let start = text.len().saturating_sub(2000);
    let start = (start..=text.len())
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(text.len());
    text[start..].to_string()
}

impl DriverProcess {
    /// Starts `command` (program and arguments) and waits for its announcement.
    pub async fn start(command: &[String]) -> Result<Self, DriverError> {
        let (program, args) = command.split_first().ok_or_else(|| DriverError::Spawn {
            command: String::new(),
            error: "no command given".into(),
        })?;
        let mut cmd = tokio::process::Command::new(program);
        cmd.args(args)
            .env(DRIVER_ENV, "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        // SAFETY: die_with_parent only calls prctl, which is async-signal-safe.
        unsafe {
            cmd.pre_exec(crate::process::die_with_parent);
        }
        let mut child = cmd.spawn().map_err(|e| DriverError::Spawn {
            command: command.join(" "),
            error: e.to_string(),
        })?;
        let group = ProcessGroup::new(child.id().unwrap_or_default());
        let log = Arc::new(Mutex::new(Vec::new()));
        if let Some(mut stderr) = child.stderr.take() {
            let log = log.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                while let Ok(n) = stderr.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
                    log.extend_from_slice(&buf[..n]);
                    if log.len() > LOG_LIMIT {
                        let cut = log.len() - LOG_LIMIT;
                        log.drain(..cut);
                    }
                }
            });
        }
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut lines = BufReader::new(stdout).lines();
        let line = match tokio::time::timeout(ANNOUNCE_TIMEOUT, lines.next_line()).await {
            Err(_) => return Err(DriverError::NoAnnouncement(ANNOUNCE_TIMEOUT, tail(&log))),
            Ok(Ok(Some(line))) => line,
            Ok(_) => {
                let _ = tokio::time::timeout(Duration::from_secs(2), child.wait()).await;
                return Err(DriverError::Exited(tail(&log)));
            }
        };
        let address = parse_announcement(&line)?;
        // Keep draining stdout so the driver never blocks on it.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{address}"))
            .expect("a socket address makes a URI")
            .connect_timeout(Duration::from_secs(5))
            .connect()
            .await
            .map_err(|e| DriverError::Connect {
                address,
                error: crate::supervisor::error_chain(&e),
            })?;
        let description = HostDriverClient::new(channel.clone())
            .describe(pluginapi_proto::harness::DescribeRequest {})
            .await
            .map_err(|s| DriverError::Describe(format!("{:?}: {}", s.code(), s.message())))?
            .into_inner();
        let (exit_tx, exited) = tokio::sync::watch::channel(None);
        tokio::spawn(async move {
            let status = match child.wait().await {
                Ok(status) => describe_exit(status),
                Err(e) => format!("could not be waited for ({e})"),
            };
            exit_tx.send_replace(Some(status));
            // Keep the child (kill_on_drop) until the exit is published.
            drop(child);
        });
        let (gone, _) = tokio::sync::watch::channel(None);
        let driver = Self {
            address,
            description,
            channel,
            group,
            log,
            gone,
            exited,
            stopping: Arc::default(),
            started: Instant::now(),
        };
        driver.watch();
        Ok(driver)
    }

    /// Notices the driver going away: its exit, or no answer to `Describe` within
    /// [`HEARTBEAT_DEADLINE`] (asked every [`HEARTBEAT_EVERY`]).
    fn watch(&self) {
        let gone = self.gone.clone();
        let mut exited = self.exited.clone();
        let stopping = self.stopping.clone();
        let log = self.log.clone();
        let started = self.started;
        let mut client = self.driver();
        let record = move |how: String| {
            if !stopping.load(Ordering::SeqCst) {
                gone.send_if_modified(|g| {
                    g.is_none()
                        .then(|| {
                            *g = Some(DriverGone {
                                how,
                                after: started.elapsed(),
                                stderr_tail: tail_lines(&log, 5),
                            })
                        })
                        .is_some()
                });
            }
        };
        async fn exit_of(
            exited: &mut tokio::sync::watch::Receiver<Option<String>>,
        ) -> Option<String> {
            exited
                .wait_for(Option::is_some)
                .await
                .ok()
                .map(|s| s.clone().unwrap_or_default())
        }
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    status = exit_of(&mut exited) => {
                        if let Some(status) = status {
                            record(status);
                        }
                        return;
                    }
                    _ = tokio::time::sleep(HEARTBEAT_EVERY) => {
                        let call = client.describe(pluginapi_proto::harness::DescribeRequest {});
                        let answered = tokio::time::timeout(HEARTBEAT_DEADLINE, call).await;
                        if !matches!(answered, Ok(Ok(_))) {
                            // An exit explains a failed call better: give it a moment.
                            let exit =
                                tokio::time::timeout(Duration::from_secs(2), exit_of(&mut exited))
                                    .await;
                            match exit {
                                Ok(Some(status)) => record(status),
                                _ => record(match answered {
                                    Err(_) => format!(
                                        "stopped answering: Describe gave no answer within {HEARTBEAT_DEADLINE:?}"
                                    ),
                                    Ok(Err(s)) => format!(
                                        "stopped answering: Describe failed with {:?}: {}",
                                        s.code(),
                                        s.message()
                                    ),
                                    Ok(Ok(_)) => unreachable!("answered"),
                                }),
                            }
                            return;
                        }
                    }
                }
            }
        });
    }

    /// How the driver went away, if it did (and was not stopped by us).
    pub fn gone(&self) -> Option<DriverGone> {
        self.gone.borrow().clone()
    }

    /// Waits until the driver is seen gone.
    pub async fn wait_gone(&self) -> DriverGone {
        let mut rx = self.gone.subscribe();
        let gone = rx
            .wait_for(Option::is_some)
            .await
            .ok()
            .and_then(|g| g.clone());
        match gone {
            Some(g) => g,
            // The sender lives as long as self.
            None => std::future::pending().await,
        }
    }

    /// After a case that failed: whether the driver is still there (`None`), asking
    /// `Describe` now rather than waiting for the next heartbeat.
    pub async fn check_gone(&self) -> Option<DriverGone> {
        if let Some(g) = self.gone() {
            return Some(g);
        }
        let mut client = self.driver();
        let call = client.describe(pluginapi_proto::harness::DescribeRequest {});
        let answered = tokio::select! {
            gone = self.wait_gone() => return Some(gone),
            answered = tokio::time::timeout(HEARTBEAT_DEADLINE, call) => answered,
        };
        if matches!(answered, Ok(Ok(_))) {
            return None;
        }
        // Not answering: the exit (or the heartbeat's verdict) follows shortly.
        tokio::time::timeout(HEARTBEAT_DEADLINE + HEARTBEAT_EVERY, self.wait_gone())
            .await
            .ok()
    }

    /// What the host declares it can do beyond the protocol (`Describe.capabilities`, plus
    /// the first contract's `api_sessions`), or the first name this harness does not know.
    pub fn capabilities(
        &self,
    ) -> Result<std::collections::BTreeSet<crate::apicase::Capability>, String> {
        let mut out = std::collections::BTreeSet::new();
        for name in &self.description.capabilities {
            out.insert(crate::apicase::Capability::parse(name)?);
        }
        if self.description.api_sessions {
            out.insert(crate::apicase::Capability::ApiSessions);
        }
        Ok(out)
    }

    pub fn driver(&self) -> HostDriverClient<Channel> {
        HostDriverClient::new(self.channel.clone())
    }

    /// A client of the hook proxy.
    pub fn hooks(&self) -> PluginHooksClient<Channel> {
        PluginHooksClient::new(self.channel.clone())
            .max_decoding_message_size(usize::MAX)
            .max_encoding_message_size(usize::MAX)
    }

    /// Calls `hook` of loaded plugin `plugin_id` through the driver's hook proxy, within
    /// `deadline`.
    pub async fn call_hook(
        &self,
        plugin_id: &str,
        hook: &str,
        request: prost_reflect::DynamicMessage,
        deadline: Duration,
    ) -> ProxiedHook {
        let Some(response) = crate::behaviour::message_of(hook, "Response") else {
            return ProxiedHook::Failed {
                code: tonic::Code::InvalidArgument,
                message: format!("no hook {hook}"),
            };
        };
        let mut grpc = tonic::client::Grpc::new(self.channel.clone())
            .max_decoding_message_size(usize::MAX)
            .max_encoding_message_size(usize::MAX);
        let path: tonic::codegen::http::uri::PathAndQuery =
            match format!("/{}/{hook}", pluginapi_proto::service_names::PLUGIN_HOOKS).parse() {
                Ok(p) => p,
                Err(e) => {
                    return ProxiedHook::Failed {
                        code: tonic::Code::InvalidArgument,
                        message: e.to_string(),
                    };
                }
            };
        let mut call = tonic::Request::new(request);
        if let Ok(v) = plugin_id.parse() {
            call.metadata_mut().insert(super::PLUGIN_METADATA, v);
        }
        let result = tokio::time::timeout(deadline, async {
            grpc.ready()
                .await
                .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
            grpc.unary(
                call,
                path,
                crate::apicase::dynamic::DynamicCodec { response },
            )
            .await
        })
        .await;
        match result {
            Err(_) => ProxiedHook::Failed {
                code: tonic::Code::DeadlineExceeded,
                message: format!("no answer through the proxy within {deadline:?}"),
            },
            Ok(Err(s)) => ProxiedHook::Failed {
                code: s.code(),
                message: s.message().to_string(),
            },
            Ok(Ok(r)) if r.metadata().get(super::NOT_CALLED_METADATA).is_some() => {
                ProxiedHook::NotCalled
            }
            Ok(Ok(r)) => ProxiedHook::Answered(r.into_inner()),
        }
    }

    /// `HostDriver.RunMultiPluginHook`: `hook` with `request` across every loaded plugin,
    /// within `deadline`; what the host's application goes on with, as
    /// [`crate::supervisor::multi::MultiOutcome`].
    pub async fn run_multi_plugin_hook(
        &self,
        hook: &str,
        request: &prost_reflect::DynamicMessage,
        deadline: Duration,
    ) -> Result<crate::supervisor::multi::MultiOutcome, String> {
        use prost::Message as _;
        let response = crate::behaviour::message_of(hook, "Response")
            .ok_or_else(|| format!("no hook {hook}"))?;
        let mut driver = self.driver();
        let call =
            driver.run_multi_plugin_hook(pluginapi_proto::harness::RunMultiPluginHookRequest {
                hook: hook.to_string(),
                request: request.encode_to_vec(),
            });
        let answer = tokio::time::timeout(deadline, call)
            .await
            .map_err(|_| format!("RunMultiPluginHook: no answer within {deadline:?}"))?
            .map_err(|s| format!("RunMultiPluginHook: {:?}: {}", s.code(), s.message()))?
            .into_inner();
        let result = prost_reflect::DynamicMessage::decode(response, answer.result.as_slice())
            .map_err(|e| format!("RunMultiPluginHook: the result is no {hook}Response: {e}"))?;
        Ok(crate::supervisor::multi::MultiOutcome {
            result,
            error: answer.error.map(|e| crate::supervisor::multi::HostError {
                r#where: e.r#where,
                id: e.id,
                status_code: e.status_code,
                detailed_error: e.detailed_error,
            }),
            called: answer.called,
        })
    }

    /// The newest part of what the driver wrote to stderr.
    pub fn log_tail(&self) -> String {
        tail(&self.log)
    }

    /// Asks the driver to unload everything and exit, without waiting for the exit (for a
    /// driver still shared; dropping the last handle kills its group).
    pub async fn request_shutdown(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        let _ =
            tokio::time::timeout(EXIT_TIMEOUT, self.driver().shutdown(ShutdownRequest {})).await;
    }

    /// Shutdown, up to [`EXIT_TIMEOUT`] for the exit, then SIGKILL of the group. Returns
    /// whether the driver exited by itself.
    /// A driver already gone is not asked (it would not answer): its group is killed.
    pub async fn stop(self) -> bool {
        let gone = self.gone().is_some();
        self.stopping.store(true, Ordering::SeqCst);
        let mut exit = self.exited.clone();
        let exited = !gone && {
            let _ = tokio::time::timeout(EXIT_TIMEOUT, self.driver().shutdown(ShutdownRequest {}))
                .await;
            tokio::time::timeout(EXIT_TIMEOUT, exit.wait_for(Option::is_some))
                .await
                .is_ok()
        };
        self.group.kill();
        let _ = tokio::time::timeout(Duration::from_secs(5), exit.wait_for(Option::is_some)).await;
        exited
    }
}
