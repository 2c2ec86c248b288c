//! Shared steps of the lifecycle cases: generate a bundle, start it through the reference
//! host, and the checks that every refused start and every shutdown must pass.

use std::time::Duration;

use conformance_core::fixtures::{Bundle, BundleBuilder};
use conformance_core::observe::Observed;
use conformance_core::process::{group_has_live_members, is_running};
use conformance_core::runner::Ctx;
use conformance_core::supervisor::{
    self, Entry, HostConfig, LaunchFailure, RunningPlugin, ShutdownReport,
};

/// Writes the bundle into the case's scratch directory.
pub fn bundle(ctx: &Ctx, builder: BundleBuilder) -> anyhow::Result<Bundle> {
    builder
        .write(&ctx.scratch.join("b"))
        .map_err(anyhow::Error::msg)
}

/// Generates a bundle for `mode` and starts it.
pub async fn start_fake(
    ctx: &Ctx,
    builder: BundleBuilder,
    config: HostConfig,
) -> anyhow::Result<(Bundle, Result<RunningPlugin, LaunchFailure>)> {
    let bundle = bundle(ctx, builder)?;
    let started = supervisor::start(&bundle.dir, config).await;
    Ok((bundle, started))
}

/// Starts a bundle that must start; records the assertion and fails the case otherwise.
pub async fn start_ok(
    ctx: &Ctx,
    builder: BundleBuilder,
    config: HostConfig,
) -> anyhow::Result<(Bundle, RunningPlugin)> {
    let (bundle, started) = start_fake(ctx, builder, config).await?;
    match started {
        Ok(plugin) => {
            ctx.check("plugin started", "started", "started", true);
            Ok((bundle, plugin))
        }
        Err(failure) => {
            ctx.check("plugin started", "started", failure.to_string(), false);
            anyhow::bail!("the plugin did not start: {failure}")
        }
    }
}

fn position(timeline: &[Entry], step: &str) -> Option<usize> {
    timeline.iter().position(|e| e.step.name() == step)
}

fn time_of(timeline: &[Entry], step: &str) -> Option<u64> {
    timeline
        .iter()
        .find(|e| e.step.name() == step)
        .map(|e| e.t_us)
}

/// Asserts that `earlier` is recorded before `later`.
pub fn check_order(ctx: &Ctx, timeline: &[Entry], earlier: &str, later: &str) -> bool {
    let (a, b) = (position(timeline, earlier), position(timeline, later));
    let seen: Vec<&str> = timeline.iter().map(|e| e.step.name()).collect();
    ctx.check(
        &format!("{earlier} before {later}"),
        format!("{earlier} then {later}"),
        seen.join(" → "),
        matches!((a, b), (Some(a), Some(b)) if a < b),
    )
}

/// Microseconds between two recorded steps.
pub fn gap_us(timeline: &[Entry], from: &str, to: &str) -> Option<u64> {
    Some(time_of(timeline, to)?.saturating_sub(time_of(timeline, from)?))
}

/// Expects the start to be refused with `kind` and a message containing `fragment`, and
/// then checks what every refused start owes: the child killed and reaped, the PluginAPI
/// server stopped after it.
pub async fn expect_refusal(
    ctx: &Ctx,
    builder: BundleBuilder,
    config: HostConfig,
    kind: &str,
    fragment: &str,
) -> anyhow::Result<()> {
    let (bundle, started) = start_fake(ctx, builder, config).await?;
    match started {
        Ok(plugin) => {
            ctx.check(
                "start refused",
                format!("refused with {kind}"),
                format!("started with handshake {:?}", plugin.handshake_line),
                false,
            );
            plugin.shutdown().await;
        }
        Err(failure) => {
            ctx.eq("diagnosis", kind, failure.error.kind());
            ctx.contains("message", &failure.to_string(), fragment);
            check_failed_start_cleanup(ctx, &failure, &bundle);
        }
    }
    Ok(())
}

/// After a refused start the child is gone and the PluginAPI server stopped after it.
pub fn check_failed_start_cleanup(ctx: &Ctx, failure: &LaunchFailure, bundle: &Bundle) {
    let timeline = failure.timeline.entries();
    if let Some(pid) = failure.pid {
        ctx.check(
            "child killed after the refused start",
            "not running",
            if is_running(pid) {
                "running"
            } else {
                "not running"
            },
            !is_running(pid),
        );
        check_order(ctx, &timeline, "process_exited", "api_server_stopped");
    }
    ctx.check(
        "refusal recorded in the timeline",
        "start_failed",
        format!("{:?}", failure.timeline.names()),
        position(&timeline, "start_failed").is_some(),
    );
    for o in bundle.observations() {
        if let Observed::Grandchild { child_pid } = o.event {
            ctx.check(
                "grandchild gone",
                "not running",
                child_pid,
                !is_running(child_pid),
            );
        }
    }
}

/// Shuts down and checks the invariants of every shutdown: upstream order, nothing of the
/// plugin's group left running, the PluginAPI server stopped last.
pub async fn shutdown_checked(ctx: &Ctx, plugin: RunningPlugin) -> ShutdownReport {
    let pid = plugin.pid;
    let group = plugin.process_group();
    let report = plugin.shutdown().await;
    let t = &report.timeline;
    check_order(ctx, t, "shutdown_requested", "controller_shutdown");
    check_order(ctx, t, "connection_closed", "process_exited");
    check_order(ctx, t, "process_exited", "api_server_stopped");
    ctx.check(
        "plugin process gone after shutdown",
        "not running",
        if is_running(pid) {
            "running"
        } else {
            "not running"
        },
        !is_running(pid),
    );
    let group_alive = group_has_live_members(group);
    ctx.check(
        "process group empty after shutdown",
        "no process",
        if group_alive {
            "processes left"
        } else {
            "no process"
        },
        !group_alive,
    );
    report
}

/// The fake's observations of one kind.
pub fn observed<T>(bundle: &Bundle, pick: impl Fn(&Observed) -> Option<T>) -> Vec<T> {
    bundle
        .observations()
        .iter()
        .filter_map(|o| pick(&o.event))
        .collect()
}

/// A host configuration with a short start timeout for cases that expect one.
pub fn quick_start(timeout: Duration) -> HostConfig {
    HostConfig {
        start_timeout: timeout,
        ..HostConfig::default()
    }
}

/// Polls `ready` every 10 ms until it returns `Some` or `timeout` passes. For events that
/// arrive through a file or a log store, where there is nothing to await.
pub async fn wait_for<T>(timeout: Duration, mut ready: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = ready() {
            return Some(v);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A result shared by many cases: computed once, on a task of its own, by the first case
/// that asks (so a case that times out does not cancel it for the others); every case
/// gets the same result.
pub struct SharedResult<T> {
    cell: std::sync::OnceLock<tokio::sync::watch::Receiver<Option<std::sync::Arc<T>>>>,
}

impl<T> Default for SharedResult<T> {
    fn default() -> Self {
        Self {
            cell: std::sync::OnceLock::new(),
        }
    }
}

impl<T: Send + Sync + 'static> SharedResult<T> {
    /// The result, starting `compute` if nobody has; `lost` stands in when the computing
    /// task ended without a result (it panicked).
    pub async fn get<F>(
        &self,
        compute: impl FnOnce() -> F,
        lost: impl FnOnce() -> T,
    ) -> std::sync::Arc<T>
    where
        F: std::future::Future<Output = T> + Send + 'static,
    {
        let mut receiver = self
            .cell
            .get_or_init(|| {
                let (sender, receiver) = tokio::sync::watch::channel(None);
                let work = compute();
                tokio::spawn(async move {
                    let _ = sender.send(Some(std::sync::Arc::new(work.await)));
                });
                receiver
            })
            .clone();
        match receiver.wait_for(Option::is_some).await {
            Ok(result) => result.clone().expect("waited for Some"),
            Err(_) => std::sync::Arc::new(lost()),
        }
    }
}

/// Longest JSON or text quoted in a note or an assertion.
const QUOTE_LIMIT: usize = 600;

/// `text`, cut at [`QUOTE_LIMIT`] bytes (with its full length said) for reports.
pub fn clip(text: String) -> String {
    if text.len() <= QUOTE_LIMIT {
        return text;
    }
    let mut end = QUOTE_LIMIT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &text[..end], text.len())
}
