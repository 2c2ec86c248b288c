//! The reference host's restart policy (SPEC §7), with compressed intervals: a
//! crashed plugin is restarted and activated again; the third failure within the window
//! leaves it failed with the reason; a healthy plugin is left alone.

use std::time::Duration;

use conformance_core::fixtures::{BundleBuilder, FakeMode};
use conformance_core::runner::{Case, Ctx, Level};
use conformance_core::supervisor::HostConfig;
use conformance_core::supervisor::restart::{ManagedPlugin, ManagedState, RestartPolicy};

use crate::support::bundle;

/// Health checks every 100 ms instead of 30 s; the rest as upstream.
fn compressed() -> RestartPolicy {
    RestartPolicy {
        interval: Duration::from_millis(100),
        ..RestartPolicy::default()
    }
}

/// The longest wait for one state change (a restart is a start: well under this).
const CHANGE: Duration = Duration::from_secs(15);

fn crash(pid: u32) {
    // SAFETY: kill has no memory-safety preconditions.
    unsafe {
        libc::kill(pid as i32, libc::SIGKILL);
    }
}

async fn managed(ctx: &Ctx) -> anyhow::Result<ManagedPlugin> {
    let b = bundle(ctx, BundleBuilder::new(FakeMode::ConformancePlugin))?;
    match ManagedPlugin::start(&b.dir, HostConfig::default(), compressed()).await {
        Ok(m) => {
            ctx.check("started and activated", "running", "running", true);
            Ok(m)
        }
        Err(e) => {
            ctx.check("started and activated", "running", e.to_string(), false);
            anyhow::bail!("the plugin did not start: {e}")
        }
    }
}

fn running(generation: u32) -> impl FnMut(&ManagedState) -> bool {
    move |s| matches!(s, ManagedState::Running { generation: g, .. } if *g == generation)
}

fn pid_of(state: &Option<ManagedState>) -> Option<u32> {
    match state {
        Some(ManagedState::Running { pid, .. }) => Some(*pid),
        _ => None,
    }
}

pub fn cases() -> Vec<Case> {
    vec![
        Case::new(
            "restart/crash-is-restarted",
            Level::Must,
            "SPEC §7 (health check job, RestartPlugin)",
            "a plugin killed under the host fails its next health check and is started and activated again",
            |ctx| async move {
                let m = managed(&ctx).await?;
                let first = pid_of(&m.wait_for(CHANGE, running(1)).await);
                let Some(first) = first else {
                    ctx.check("running", "generation 1", "not running", false);
                    return Ok(());
                };
                crash(first);
                let restarting = m
                    .wait_for(CHANGE, |s| matches!(s, ManagedState::Restarting { .. }))
                    .await;
                ctx.check(
                    "the failed health check is noticed",
                    "Restarting",
                    format!("{restarting:?}"),
                    matches!(&restarting, Some(ManagedState::Restarting { failures: 1, reason }) if reason.contains("health check failed")),
                );
                let second = m.wait_for(CHANGE, running(2)).await;
                ctx.check(
                    "running again, as a new process",
                    "generation 2 with another pid",
                    format!("{second:?}"),
                    pid_of(&second).is_some_and(|p| p != first),
                );
                let report = m.stop().await;
                ctx.check(
                    "stops cleanly afterwards",
                    "a graceful shutdown",
                    format!("{:?}", report.as_ref().map(|r| (r.graceful, r.killed))),
                    report.is_some_and(|r| r.graceful),
                );
                Ok(())
            },
        ),
        Case::new(
            "restart/third-failure-in-window-fails",
            Level::Must,
            "SPEC §7 (3 failures within 60 min: PluginStateFailedToStayRunning)",
            "the third health-check failure within the window leaves the plugin stopped in the failed state, with the reason",
            |ctx| async move {
                let m = managed(&ctx).await?;
                for generation in 1..=3 {
                    let state = m.wait_for(CHANGE, running(generation)).await;
                    let Some(pid) = pid_of(&state) else {
                        ctx.check(
                            &format!("generation {generation} running"),
                            "running",
                            format!("{state:?}"),
                            false,
                        );
                        return Ok(());
                    };
                    ctx.check(
                        &format!("generation {generation} running"),
                        "running",
                        "running",
                        true,
                    );
                    crash(pid);
                }
                let failed = m
                    .wait_for(CHANGE, |s| matches!(s, ManagedState::Failed { .. }))
                    .await;
                ctx.check(
                    "failed state with the reason",
                    "Failed: 3 failures within the window",
                    format!("{failed:?}"),
                    matches!(&failed, Some(ManagedState::Failed { reason }) if reason.starts_with("3 failures")),
                );
                let after = m.wait_for(Duration::from_millis(500), running(4)).await;
                ctx.eq("no restart after the failed state", None, after);
                m.stop().await;
                Ok(())
            },
        ),
        Case::new(
            "restart/healthy-plugin-is-left-alone",
            Level::Must,
            "SPEC §7",
            "a healthy plugin passes every health check and is never restarted",
            |ctx| async move {
                let m = managed(&ctx).await?;
                // 20 health-check intervals: any restart would show as a state change.
                let changed = m
                    .wait_for(Duration::from_secs(2), |s| {
                        !matches!(s, ManagedState::Running { generation: 1, .. })
                    })
                    .await;
                ctx.eq("state after 20 health checks", None, changed);
                let report = m.stop().await;
                ctx.check(
                    "stops cleanly",
                    "graceful",
                    format!("{:?}", report.as_ref().map(|r| r.graceful)),
                    report.is_some_and(|r| r.graceful),
                );
                Ok(())
            },
        ),
    ]
}
