//! Faults the reference host must survive with a diagnosis, never a hang (issue: faults):
//! a plugin crashing mid-hook and mid-API call, the PluginAPI server restarted under a
//! live plugin, and a PluginAPI request over the message limit.

use std::time::Duration;

use conformance_core::apicase::DynamicClient;
use conformance_core::behaviour::{message_of, to_json};
use conformance_core::fixtures::{BundleBuilder, FakeMode};
use conformance_core::observe::Observed;
use conformance_core::runner::{Case, Ctx, Level};
use conformance_core::supervisor::hooks::{HookOutcome, apply};
use conformance_core::supervisor::{HostConfig, RunningPlugin};
use prost_reflect::DynamicMessage;
use serde_json::json;

use crate::hooks::{Plugin, activate, start_plugin};
use crate::support::{observed, start_ok, wait_for};

/// A MessageWillBePosted request whose message carries `marker`.
fn post_with(marker: &str) -> DynamicMessage {
    DynamicMessage::deserialize(
        message_of("MessageWillBePosted", "Request").expect("hook"),
        json!({"post": {"id": "p1", "message": format!("please {marker} now")}}),
    )
    .expect("a valid request")
}

async fn conformance_plugin(
    ctx: &Ctx,
    config: HostConfig,
) -> anyhow::Result<(conformance_core::fixtures::Bundle, RunningPlugin)> {
    let (bundle, plugin) =
        start_ok(ctx, BundleBuilder::new(FakeMode::ConformancePlugin), config).await?;
    activate(ctx, bundle, plugin).await
}

/// After a crash: the host notices the exit and stops without hanging.
async fn check_stopped_after_crash(ctx: &Ctx, mut plugin: RunningPlugin) {
    let exited = wait_for(Duration::from_secs(5), || plugin.has_exited().then_some(())).await;
    ctx.check(
        "the host sees the process gone",
        "exited",
        format!("{exited:?}"),
        exited.is_some(),
    );
    let report = tokio::time::timeout(Duration::from_secs(15), plugin.shutdown()).await;
    ctx.check(
        "shutdown after the crash completes",
        "a report within 15 s",
        format!("{:?}", report.as_ref().map(|r| (&r.exit_status, r.killed))),
        report.is_ok(),
    );
}

pub fn cases() -> Vec<Case> {
    vec![
        Case::new(
            "faults/crash-mid-hook",
            Level::Must,
            "SPEC §10.2, §10.3 (a failed filter fails open)",
            "a plugin that exits while handling MessageWillBePosted: the call fails at once (no wait for the deadline), the host lets the post through unchanged, and stops cleanly",
            |ctx| async move {
                let (_bundle, plugin) = conformance_plugin(&ctx, HostConfig::default()).await?;
                let request = post_with("crash-me");
                let started = std::time::Instant::now();
                let outcome = plugin
                    .call_hook("MessageWillBePosted", request.clone())
                    .await;
                ctx.check(
                    "the call fails (not a timeout)",
                    "a failed call",
                    outcome.describe(),
                    matches!(outcome, HookOutcome::Failed { .. }),
                );
                ctx.check(
                    "failed promptly",
                    "well before the 30 s hook deadline",
                    format!("{:.1?}", started.elapsed()),
                    started.elapsed() < Duration::from_secs(10),
                );
                let applied = apply("MessageWillBePosted", &request, &outcome);
                ctx.eq(
                    "fails open: not rejected",
                    json!(false),
                    applied["rejected"].clone(),
                );
                ctx.eq(
                    "fails open: the post unchanged",
                    to_json(&request)["post"].clone(),
                    applied["result"].clone(),
                );
                check_stopped_after_crash(&ctx, plugin).await;
                Ok(())
            },
        ),
        Case::new(
            "faults/crash-mid-api-call",
            Level::Must,
            "SPEC §10.1, §9.1",
            "a plugin that exits with a 32 MiB PluginAPI call on the wire: the PluginAPI server keeps answering and the host stops cleanly",
            |ctx| async move {
                let (bundle, plugin) = conformance_plugin(&ctx, HostConfig::default()).await?;
                let outcome = plugin
                    .call_hook("MessageWillBePosted", post_with("crash-during-api"))
                    .await;
                ctx.note(format!("the hook: {}", outcome.describe()));
                let exit = wait_for(Duration::from_secs(5), || {
                    observed(&bundle, |e| match e {
                        Observed::Exiting { code: 71, .. } => Some(()),
                        _ => None,
                    })
                    .into_iter()
                    .next()
                })
                .await;
                ctx.check(
                    "the plugin crashed during its call",
                    "exit 71 observed",
                    format!("{exit:?}"),
                    exit.is_some(),
                );
                match DynamicClient::connect(plugin.api_address).await {
                    Ok(mut client) => {
                        let answer = tokio::time::timeout(
                            Duration::from_secs(5),
                            client.call("KVGet", &json!({"key": "k"}), None, None),
                        )
                        .await;
                        ctx.check(
                            "the PluginAPI server still answers",
                            "KVGet answered",
                            format!("{answer:?}"),
                            matches!(answer, Ok(Ok(_))),
                        );
                    }
                    Err(e) => {
                        ctx.check(
                            "the PluginAPI server still accepts connections",
                            "connected",
                            e,
                            false,
                        );
                    }
                }
                check_stopped_after_crash(&ctx, plugin).await;
                Ok(())
            },
        ),
        api_restart_case(Plugin::Fake),
        api_restart_case(Plugin::Python),
        Case::new(
            "faults/api-request-over-limit",
            Level::Must,
            "SPEC §22 (message sizes); HostConfig.api_max_message",
            "a 2 MiB PluginAPI request to a server limited to 1 MiB is answered RESOURCE_EXHAUSTED naming the limit, at once; within the limit it succeeds",
            |ctx| async move {
                for (limit, expect_ok) in [(1usize << 20, false), (4 << 20, true)] {
                    let config = HostConfig {
                        api_max_message: limit,
                        ..HostConfig::default()
                    };
                    let (bundle, plugin) = conformance_plugin(&ctx, config).await?;
                    let _ = plugin
                        .call_hook("MessageWillBePosted", post_with("big-api-call"))
                        .await;
                    let detail = observed(&bundle, |e| match e {
                        Observed::ApiProbe { phase, detail, .. } if phase == "big-api-call" => {
                            Some(detail.clone())
                        }
                        _ => None,
                    })
                    .into_iter()
                    .next()
                    .unwrap_or_else(|| "no outcome recorded".into());
                    if expect_ok {
                        ctx.eq(
                            &format!("with a {limit}-byte limit"),
                            "ok".to_string(),
                            detail,
                        );
                    } else {
                        ctx.check(
                            &format!("with a {limit}-byte limit: RESOURCE_EXHAUSTED"),
                            "ResourceExhausted naming the limit",
                            &detail,
                            detail.starts_with("ResourceExhausted")
                                && detail.contains(&limit.to_string()),
                        );
                    }
                    plugin.shutdown().await;
                    std::fs::remove_dir_all(&bundle.dir).ok();
                }
                Ok(())
            },
        ),
    ]
}

/// The PluginAPI server is restarted (same address, same store) under an activated
/// plugin; the plugin's next API calls (OnActivate's GetServerVersion and KVSet) succeed.
fn api_restart_case(subject: Plugin) -> Case {
    let name = match subject {
        Plugin::Fake => "faults/api-server-restarted",
        Plugin::Python => "faults-python/api-server-restarted",
    };
    Case::new(
        name,
        Level::Must,
        "SPEC §3.2 (the SDK's lazy PluginAPI channel), §10.1",
        "after the host restarts its PluginAPI server under a live plugin, the plugin's next PluginAPI calls reach the new server",
        move |ctx| async move {
            let (_bundle, plugin) = start_plugin(&ctx, subject, HostConfig::default()).await?;
            let (_bundle, mut plugin) = activate(&ctx, _bundle, plugin).await?;
            let before = plugin.api_calls().len();
            ctx.check(
                "OnActivate used the API",
                "calls",
                before.to_string(),
                before > 0,
            );
            if let Err(e) = plugin.restart_api_server().await {
                ctx.check(
                    "the server restarts on its address",
                    "restarted",
                    e.to_string(),
                    false,
                );
                plugin.shutdown().await;
                return Ok(());
            }
            let outcome = plugin
                .call_hook(
                    "OnActivate",
                    DynamicMessage::new(message_of("OnActivate", "Request").expect("hook")),
                )
                .await;
            let answered_ok =
                matches!(&outcome, HookOutcome::Answered(m) if to_json(m).get("error").is_none());
            ctx.check(
                "OnActivate succeeds again",
                "answered without error",
                outcome.describe(),
                answered_ok,
            );
            let calls: Vec<String> = plugin
                .api_calls()
                .iter()
                .map(|c| format!("{} -> {}", c.rpc, c.outcome))
                .collect();
            ctx.check(
                "the new server served the plugin",
                "KVSet -> ok",
                calls.join(", "),
                calls.iter().any(|c| c == "KVSet -> ok"),
            );
            plugin.shutdown().await;
            Ok(())
        },
    )
    // Rebinding the same port must not race with other cases' servers taking free ports.
    .exclusive()
}
