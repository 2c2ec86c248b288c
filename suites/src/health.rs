//! Health: `grpc.health.v1.Health/Check` for the name "plugin" (SPEC §7, §20.4
//! item 8). SERVING passes; NOT_SERVING passes go-plugin's Ping but is reported; no health
//! service or no "plugin" name fails; a check that never answers is diagnosed by timeout.

use std::time::{Duration, Instant};

use conformance_core::fixtures::{BundleBuilder, FakeMode};
use conformance_core::observe::Observed;
use conformance_core::runner::{Case, Level};
use conformance_core::supervisor::{HealthOutcome, HostConfig};

use crate::support::{observed, shutdown_checked, start_ok};

fn failed_with(outcome: &HealthOutcome) -> String {
    match outcome {
        HealthOutcome::Failed { code, .. } => format!("{code:?}"),
        other => format!("{other:?}"),
    }
}

pub fn cases() -> Vec<Case> {
    vec![
        Case::new(
            "health/serving",
            Level::Must,
            "SPEC §7",
            "a plugin answering SERVING for \"plugin\" is healthy, and the check named \"plugin\"",
            |ctx| async move {
                let (bundle, plugin) = start_ok(
                    &ctx,
                    BundleBuilder::new(FakeMode::Healthy),
                    HostConfig::default(),
                )
                .await?;
                let outcome = plugin.ping().await;
                ctx.eq("ping", HealthOutcome::Serving, outcome.clone());
                ctx.eq("go-plugin Ping passes", true, outcome.ping_passes());
                let services = observed(&bundle, |e| match e {
                    Observed::HealthCheck { service } => Some(service.clone()),
                    _ => None,
                });
                ctx.eq(
                    "service name the plugin saw",
                    vec!["plugin".to_string()],
                    services,
                );
                shutdown_checked(&ctx, plugin).await;
                Ok(())
            },
        ),
        Case::new(
            "health/ping-twice",
            Level::Must,
            "SPEC §20.3 (TestClient_ping)",
            "consecutive pings on one connection both succeed",
            |ctx| async move {
                let (_bundle, plugin) = start_ok(
                    &ctx,
                    BundleBuilder::new(FakeMode::Healthy),
                    HostConfig::default(),
                )
                .await?;
                ctx.eq("first ping", HealthOutcome::Serving, plugin.ping().await);
                ctx.eq("second ping", HealthOutcome::Serving, plugin.ping().await);
                shutdown_checked(&ctx, plugin).await;
                Ok(())
            },
        ),
        Case::new(
            "health/not-serving",
            Level::Should,
            "SPEC §7 (only the error counts)",
            "NOT_SERVING passes go-plugin's Ping but is reported as a finding",
            |ctx| async move {
                let (_bundle, plugin) = start_ok(
                    &ctx,
                    BundleBuilder::new(FakeMode::HealthNotServing),
                    HostConfig::default(),
                )
                .await?;
                let outcome = plugin.ping().await;
                ctx.eq(
                    "status reported",
                    HealthOutcome::NotServing { status: 2 },
                    outcome.clone(),
                );
                ctx.eq("go-plugin Ping passes", true, outcome.ping_passes());
                ctx.contains("reported as a finding", &outcome.describe(), "not SERVING");
                shutdown_checked(&ctx, plugin).await;
                Ok(())
            },
        ),
        Case::new(
            "health/no-health-service",
            Level::Must,
            "SPEC §7",
            "a plugin without grpc.health.v1.Health fails the check with a diagnosis",
            |ctx| async move {
                let (_bundle, plugin) = start_ok(
                    &ctx,
                    BundleBuilder::new(FakeMode::NoHealthService),
                    HostConfig::default(),
                )
                .await?;
                let outcome = plugin.ping().await;
                ctx.eq("code", "Unimplemented".to_string(), failed_with(&outcome));
                ctx.eq("go-plugin Ping fails", false, outcome.ping_passes());
                ctx.contains("diagnosis", &outcome.describe(), "grpc.health.v1.Health");
                shutdown_checked(&ctx, plugin).await;
                Ok(())
            },
        ),
        Case::new(
            "health/wrong-service-name",
            Level::Must,
            "SPEC §7, §22",
            "a health service that knows only \"\" fails the \"plugin\" check",
            |ctx| async move {
                let (_bundle, plugin) = start_ok(
                    &ctx,
                    BundleBuilder::new(FakeMode::HealthWrongName),
                    HostConfig::default(),
                )
                .await?;
                let outcome = plugin.ping().await;
                ctx.eq("code", "NotFound".to_string(), failed_with(&outcome));
                ctx.eq("go-plugin Ping fails", false, outcome.ping_passes());
                ctx.contains("diagnosis", &outcome.describe(), "\"plugin\"");
                ctx.eq(
                    "the empty name still answers",
                    HealthOutcome::Serving,
                    plugin.health_check("").await,
                );
                shutdown_checked(&ctx, plugin).await;
                Ok(())
            },
        ),
        Case::new(
            "health/hangs",
            Level::Must,
            "SPEC §7, §20.4 item 8 (Ping has no deadline)",
            "a check that never answers is diagnosed at the health timeout instead of hanging",
            |ctx| async move {
                let timeout = Duration::from_secs(1);
                let config = HostConfig {
                    health_timeout: timeout,
                    ..HostConfig::default()
                };
                let (_bundle, plugin) =
                    start_ok(&ctx, BundleBuilder::new(FakeMode::HealthHangs), config).await?;
                let asked = Instant::now();
                let outcome = plugin.ping().await;
                let waited = asked.elapsed();
                ctx.eq(
                    "outcome",
                    HealthOutcome::TimedOut { after: timeout },
                    outcome.clone(),
                );
                ctx.check(
                    "waited the whole timeout",
                    format!(">= {timeout:?}"),
                    format!("{waited:?}"),
                    waited >= timeout,
                );
                ctx.contains("diagnosis", &outcome.describe(), "never answered");
                shutdown_checked(&ctx, plugin).await;
                Ok(())
            },
        ),
        Case::new(
            "health/crash-after-handshake",
            Level::Must,
            "SPEC §5 last row, §20.4 item 7",
            "a plugin that dies right after a valid handshake is never reported healthy",
            |ctx| async move {
                let (bundle, started) = crate::support::start_fake(
                    &ctx,
                    BundleBuilder::new(FakeMode::CrashAfterHandshake),
                    HostConfig::default(),
                )
                .await?;
                match started {
                    Err(failure) => {
                        ctx.eq("diagnosis", "connect", failure.error.kind());
                        crate::support::check_failed_start_cleanup(&ctx, &failure, &bundle);
                    }
                    Ok(plugin) => {
                        let outcome = plugin.ping().await;
                        ctx.eq("go-plugin Ping fails", false, outcome.ping_passes());
                        shutdown_checked(&ctx, plugin).await;
                    }
                }
                Ok(())
            },
        ),
    ]
}
