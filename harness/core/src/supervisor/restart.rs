//! The restart policy of the reference host, as Mattermost's health check job does it
//! (SPEC §7): every `interval` (30 s) the host pings the plugin up to
//! `ping_attempts` (3) times; when every ping fails the plugin is stopped and started again
//! (and activated); the `max_failures`-th (3rd) failure within `window` (60 min) leaves the
//! plugin in the failed state instead. Intervals are configurable so tests can compress
//! them; every change of state is published on a watch channel, so tests wait on events.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::{HostConfig, LaunchFailure, RunningPlugin, ShutdownReport};

/// When to check and when to give up.
#[derive(Debug, Clone)]
pub struct RestartPolicy {
    /// Time between two health checks (upstream: 30 s).
    pub interval: Duration,
    /// Pings per health check before it counts as failed (upstream: 3).
    pub ping_attempts: u32,
    /// Failures within `window` that leave the plugin failed (upstream: 3).
    pub max_failures: usize,
    /// (upstream: 60 minutes).
    pub window: Duration,
}

impl Default for RestartPolicy {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(30),
            ping_attempts: 3,
            max_failures: 3,
            window: Duration::from_secs(60 * 60),
        }
    }
}

/// Where a managed plugin stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManagedState {
    /// Running and activated; `generation` counts starts (1 = the first).
    Running { generation: u32, pid: u32 },
    /// A health check failed (`failures` within the window so far); restarting.
    Restarting { failures: usize, reason: String },
    /// Given up: the plugin is stopped and stays stopped.
    Failed { reason: String },
    /// Stopped on request.
    Stopped,
}

/// A plugin under the restart policy.
pub struct ManagedPlugin {
    state: watch::Receiver<ManagedState>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Option<ShutdownReport>>,
}

/// Why the first start failed.
#[derive(Debug, thiserror::Error)]
pub enum ManagedStartError {
    #[error("{0}")]
    Launch(Box<LaunchFailure>),
    #[error("activation failed: {0}")]
    Activation(String),
}

/// Starts and activates the plugin in `bundle`.
async fn start_activated(
    bundle: &Path,
    config: &HostConfig,
) -> Result<RunningPlugin, ManagedStartError> {
    let mut plugin = super::start(bundle, config.clone())
        .await
        .map_err(|f| ManagedStartError::Launch(Box::new(f)))?;
    if let Err(e) = plugin.activate().await {
        plugin.shutdown().await;
        return Err(ManagedStartError::Activation(e.to_string()));
    }
    Ok(plugin)
}

impl ManagedPlugin {
    /// Starts and activates the plugin, then supervises it under `policy`.
    pub async fn start(
        bundle: impl Into<PathBuf>,
        config: HostConfig,
        policy: RestartPolicy,
    ) -> Result<Self, ManagedStartError> {
        let bundle = bundle.into();
        let first = start_activated(&bundle, &config).await?;
        let (state_tx, state) = watch::channel(ManagedState::Running {
            generation: 1,
            pid: first.pid,
        });
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(supervise(bundle, config, policy, first, state_tx, stopped));
        Ok(Self {
            state,
            stop: Some(stop),
            task,
        })
    }

    /// The current state, and changes as they happen.
    pub fn state(&self) -> watch::Receiver<ManagedState> {
        self.state.clone()
    }

    /// Waits (up to `limit`) for a state that satisfies `pred`.
    pub async fn wait_for(
        &self,
        limit: Duration,
        pred: impl FnMut(&ManagedState) -> bool,
    ) -> Option<ManagedState> {
        let mut state = self.state.clone();
        match tokio::time::timeout(limit, state.wait_for(pred)).await {
            Ok(Ok(s)) => Some(s.clone()),
            _ => None,
        }
    }

    /// Stops supervising and shuts the plugin down (if it is running).
    pub async fn stop(mut self) -> Option<ShutdownReport> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.task).await.ok().flatten()
    }
}

impl Drop for ManagedPlugin {
    fn drop(&mut self) {
        // A dropped task drops its RunningPlugin, whose process group is killed.
        self.task.abort();
    }
}

/// One health check: up to `attempts` pings; `Err` with the last failure.
async fn health_check(plugin: &RunningPlugin, attempts: u32) -> Result<(), String> {
    let mut last = String::from("no ping made");
    for _ in 0..attempts.max(1) {
        let outcome = plugin.ping().await;
        if outcome.ping_passes() {
            return Ok(());
        }
        last = outcome.describe();
    }
    Err(last)
}

async fn supervise(
    bundle: PathBuf,
    config: HostConfig,
    policy: RestartPolicy,
    first: RunningPlugin,
    state: watch::Sender<ManagedState>,
    mut stopped: oneshot::Receiver<()>,
) -> Option<ShutdownReport> {
    let mut plugin = Some(first);
    let mut generation = 1;
    let mut failures: VecDeque<Instant> = VecDeque::new();
    loop {
        tokio::select! {
            _ = &mut stopped => {
                let _ = state.send(ManagedState::Stopped);
                return match plugin {
                    Some(p) => Some(p.shutdown().await),
                    None => None,
                };
            }
            _ = tokio::time::sleep(policy.interval) => {}
        }
        let reason = match &plugin {
            Some(p) => match health_check(p, policy.ping_attempts).await {
                Ok(()) => continue,
                // Mutant: failures are noticed but nothing is done about them.
                Err(_) if config.deviates(crate::mutants::Protocol::NoRestart) => continue,
                Err(why) => format!("health check failed: {why}"),
            },
            None => "the plugin is not running (its last restart failed)".to_string(),
        };
        let now = Instant::now();
        failures.push_back(now);
        while failures
            .front()
            .is_some_and(|t| now.duration_since(*t) > policy.window)
        {
            failures.pop_front();
        }
        if let Some(p) = plugin.take() {
            p.shutdown().await;
        }
        if failures.len() >= policy.max_failures {
            let _ = state.send(ManagedState::Failed {
                reason: format!(
                    "{} failures within {:?} (the last: {reason}); the plugin stays stopped",
                    failures.len(),
                    policy.window
                ),
            });
            return None;
        }
        let _ = state.send(ManagedState::Restarting {
            failures: failures.len(),
            reason,
        });
        match start_activated(&bundle, &config).await {
            Ok(p) => {
                generation += 1;
                let _ = state.send(ManagedState::Running {
                    generation,
                    pid: p.pid,
                });
                plugin = Some(p);
            }
            Err(e) => {
                let _ = state.send(ManagedState::Restarting {
                    failures: failures.len(),
                    reason: format!("the restart failed: {e}"),
                });
            }
        }
    }
}
