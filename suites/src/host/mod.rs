//! Host-side cases through the host driver contract (`plugin-conformance host -- CMD`):
//! the same questions the reference host's own suites answer, asked of any host through
//! its driver. Bundles are generated per case with unique plugin ids (many cases share one
//! driver at once); what the fake plugin observed is compared with what the driver says.

mod hooks;
mod http;
mod lifecycle;
mod security;

use std::sync::Arc;
use std::time::Duration;

use conformance_core::api::handlers::common::new_id;
use conformance_core::driver::process::DriverProcess;
use conformance_core::fixtures::{Bundle, BundleBuilder};
use conformance_core::runner::{Case, Ctx, Level};
use futures::StreamExt;
use pluginapi_proto::harness::{
    EventsRequest, LifecycleEvent, LoadPluginRequest, LoadPluginResponse, UnloadPluginRequest,
    UnloadPluginResponse,
};

use crate::api::{ApiPolicy, Launcher, batched_cases};
use crate::hooks::Plugin;

/// How long a driver may take for one LoadPlugin or UnloadPlugin.
const DRIVER_CALL: Duration = Duration::from_secs(20);

/// The case that reports a driver that went away during the run, once: every other case
/// it took down is errored and blocked by it.
pub const DRIVER_ALIVE: &str = "host/driver/alive";

/// Every host case against the driver, each guarded by [`guard`], then
/// [`DRIVER_ALIVE`].
pub fn cases(driver: Arc<DriverProcess>, policy: ApiPolicy) -> Vec<Case> {
    let mut out = host_cases(&driver, policy);
    out = out
        .into_iter()
        .map(|case| {
            let driver = driver.clone();
            case.around(move |ctx, body| Box::pin(guard(driver.clone(), ctx, body)))
        })
        .collect();
    let alive = driver.clone();
    out.push(
        Case::new(
            DRIVER_ALIVE,
            Level::Must,
            "SPEC §25",
            "the driver stays up and answers for the whole run (otherwise the cases it took down say nothing of the host: they are errored, and this case reports how the driver went away)",
            move |ctx| {
                let driver = alive.clone();
                async move {
                    match driver.check_gone().await {
                        Some(gone) => ctx.void(None, gone.to_string()),
                        None => {
                            ctx.check("the driver answers Describe", "an answer", "answered", true);
                        }
                    }
                    Ok(())
                }
            },
        )
        .exclusive(),
    );
    out
}

/// Runs a host case unless the driver is gone; gives it up when the driver goes away
/// while it runs; after a failure, asks whether the driver is still there. A case the
/// driver took down is voided (errored, blocked by [`DRIVER_ALIVE`]), never a failure of
/// the host.
async fn guard(
    driver: Arc<DriverProcess>,
    ctx: Ctx,
    body: conformance_core::runner::CaseFuture,
) -> anyhow::Result<()> {
    let lost =
        |gone: &conformance_core::driver::process::DriverGone| format!("not carried out: {gone}");
    if let Some(gone) = driver.gone() {
        ctx.void(Some(DRIVER_ALIVE), lost(&gone));
        return Ok(());
    }
    let result = tokio::select! {
        result = body => result,
        gone = driver.wait_gone() => {
            ctx.void(Some(DRIVER_ALIVE), lost(&gone));
            return Ok(());
        }
    };
    if (result.is_err() || ctx.any_failed())
        && let Some(gone) = driver.check_gone().await
    {
        ctx.void(Some(DRIVER_ALIVE), lost(&gone));
    }
    result
}

fn host_cases(driver: &Arc<DriverProcess>, policy: ApiPolicy) -> Vec<Case> {
    let driver = driver.clone();
    let mut out = lifecycle::cases(&driver);
    out.extend(hooks::cases(&driver));
    out.extend(http::cases(&driver));
    out.extend(security::cases(&driver));
    out.extend(batched_cases(
        Plugin::Fake,
        &Launcher::Driver(driver.clone()),
        "host/api",
        policy,
        &|_| true,
    ));
    out
}

/// A plugin id no other case uses.
fn unique_id(tag: &str) -> String {
    format!("com.mattermost.conformance.{tag}-{}", &new_id()[..8])
}

/// Writes `builder`'s bundle (with a unique plugin id) into the case's scratch directory
/// and loads it; records whether the driver answered.
async fn load(
    ctx: &Ctx,
    driver: &DriverProcess,
    builder: BundleBuilder,
    tag: &str,
    activate: bool,
) -> anyhow::Result<(Bundle, LoadPluginResponse)> {
    load_in(ctx, driver, builder, tag, activate, "b").await
}

/// [`load`] with the bundle in `<scratch>/<dir>` (for cases that load several).
async fn load_in(
    ctx: &Ctx,
    driver: &DriverProcess,
    builder: BundleBuilder,
    tag: &str,
    activate: bool,
    dir: &str,
) -> anyhow::Result<(Bundle, LoadPluginResponse)> {
    let bundle = builder
        .plugin_id(&unique_id(tag))
        .write(&ctx.scratch.join(dir))
        .map_err(anyhow::Error::msg)?;
    let dir = std::path::absolute(&bundle.dir)?;
    let answer = tokio::time::timeout(
        DRIVER_CALL,
        driver.driver().load_plugin(LoadPluginRequest {
            bundle_dir: dir.display().to_string(),
            activate,
        }),
    )
    .await;
    match answer {
        Ok(Ok(r)) => {
            let response = r.into_inner();
            if response.started {
                // Unloaded when the case ends, whatever happens in it (a second unload
                // after the case's own is answered with an error nobody reads).
                let mut client = driver.driver();
                let plugin_id = bundle.plugin_id.clone();
                ctx.defer(format!("UnloadPlugin {plugin_id}"), move || async move {
                    let _ = client
                        .unload_plugin(UnloadPluginRequest { plugin_id })
                        .await;
                });
            }
            Ok((bundle, response))
        }
        Ok(Err(s)) => {
            ctx.check(
                "LoadPlugin answers",
                "an answer",
                format!("{:?}: {}", s.code(), s.message()),
                false,
            );
            anyhow::bail!("LoadPlugin failed")
        }
        Err(_) => {
            ctx.check(
                "LoadPlugin answers",
                "an answer",
                "no answer in 20 s",
                false,
            );
            anyhow::bail!("LoadPlugin hung")
        }
    }
}

/// Loads a bundle that must start.
async fn load_ok(
    ctx: &Ctx,
    driver: &DriverProcess,
    builder: BundleBuilder,
    tag: &str,
    activate: bool,
) -> anyhow::Result<(Bundle, LoadPluginResponse)> {
    let (bundle, loaded) = load(ctx, driver, builder, tag, activate).await?;
    if !ctx.check("plugin started", "started", &loaded.error, loaded.started) {
        anyhow::bail!("the plugin did not start: {}", loaded.error);
    }
    Ok((bundle, loaded))
}

async fn unload(ctx: &Ctx, driver: &DriverProcess, plugin_id: &str) -> UnloadPluginResponse {
    let answer = tokio::time::timeout(
        DRIVER_CALL,
        driver.driver().unload_plugin(UnloadPluginRequest {
            plugin_id: plugin_id.to_string(),
        }),
    )
    .await;
    match answer {
        Ok(Ok(r)) => r.into_inner(),
        Ok(Err(s)) => {
            let error = format!("{:?}: {}", s.code(), s.message());
            ctx.check("UnloadPlugin answers", "an answer", &error, false);
            UnloadPluginResponse {
                error,
                ..Default::default()
            }
        }
        Err(_) => {
            ctx.check(
                "UnloadPlugin answers",
                "an answer",
                "no answer in 20 s",
                false,
            );
            UnloadPluginResponse::default()
        }
    }
}

/// Every event of `plugin_id` (the stream ends once the plugin is unloaded).
async fn events(driver: &DriverProcess, plugin_id: &str) -> Result<Vec<LifecycleEvent>, String> {
    let collect = async {
        let mut stream = driver
            .driver()
            .events(EventsRequest {
                plugin_id: plugin_id.to_string(),
            })
            .await
            .map_err(|s| format!("{:?}: {}", s.code(), s.message()))?
            .into_inner();
        let mut out = Vec::new();
        while let Some(event) = stream.next().await {
            out.push(event.map_err(|s| format!("{:?}: {}", s.code(), s.message()))?);
        }
        Ok(out)
    };
    tokio::time::timeout(Duration::from_secs(10), collect)
        .await
        .unwrap_or_else(|_| Err("the Events stream did not end within 10 s".into()))
}

/// Whether no process of the plugin is left (by its pid).
fn gone(pid: u32) -> bool {
    pid == 0 || !conformance_core::process::is_running(pid)
}
