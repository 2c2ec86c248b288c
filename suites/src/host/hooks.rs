//! Every hook through the driver's proxy into the host's hook client: the request arrives
//! intact at the plugin, the answer comes back as the behaviour says, and a hook the plugin
//! did not list is never called.

use std::sync::Arc;
use std::time::Duration;

use conformance_core::apicase::Capability;
use conformance_core::behaviour::{self, message_of};
use conformance_core::driver::process::{DriverProcess, ProxiedHook};
use conformance_core::fixtures::{BundleBuilder, FakeMode};
use conformance_core::requestgen::populate;
use conformance_core::runner::{Case, Level};
use pluginapi_proto::hooks::HOOK_RPCS;

use super::{load_in, load_ok, unload};
use crate::hooks::{check_answer, check_intact, seen_requests};

/// How long one proxied hook call may take (the host's own deadline is 30 s upstream).
const HOOK_CALL: Duration = Duration::from_secs(35);

/// How long the deadline case waits for the host to give up on its own.
const DEADLINE_WAIT: Duration = Duration::from_secs(45);

/// `host/hooks/<Hook>/multi-*`: the scenarios of [`crate::multi_hooks`] through
/// `RunMultiPluginHook`, for a driver that declares `multi-plugin-hooks`. Each runs alone:
/// the driver runs the hook across every plugin it has loaded.
fn multi_plugin_cases(driver: &Arc<DriverProcess>) -> Vec<Case> {
    crate::multi_hooks::scenarios()
        .into_iter()
        .map(|scenario| {
            let scenario = Arc::new(scenario);
            let (s, driver) = (scenario.clone(), driver.clone());
            Case::new(
                &format!("host/hooks/{}/{}", scenario.hook, scenario.name),
                Level::Must,
                "SPEC §11.6; driver.proto RunMultiPluginHook",
                scenario.summary,
                move |ctx| {
                    let (scenario, driver) = (s.clone(), driver.clone());
                    async move {
                        match driver.capabilities() {
                            Ok(c) if c.contains(&Capability::MultiPluginHooks) => {}
                            Ok(_) => {
                                let reason = format!(
                                    "the driver does not declare {} ({})",
                                    Capability::MultiPluginHooks,
                                    Capability::MultiPluginHooks.meaning()
                                );
                                ctx.skip(&reason);
                                anyhow::bail!("skipped: {reason}");
                            }
                            Err(e) => anyhow::bail!("the driver's capabilities: {e}"),
                        }
                        let (first, a) = load_in(
                            &ctx,
                            &driver,
                            BundleBuilder::new(FakeMode::ConformancePlugin),
                            "multi",
                            true,
                            "first",
                        )
                        .await?;
                        let loaded_second = load_in(
                            &ctx,
                            &driver,
                            BundleBuilder::new(FakeMode::ConformancePlugin)
                                .option("hooks", scenario.second_hooks()),
                            "multi",
                            true,
                            "second",
                        )
                        .await;
                        if let Ok((second, b)) = &loaded_second
                            && ctx.check(
                                "both plugins started",
                                "started",
                                &b.error,
                                a.started && b.started,
                            )
                        {
                            let request = scenario.request()?;
                            match driver
                                .run_multi_plugin_hook(scenario.hook, &request, HOOK_CALL)
                                .await
                            {
                                Ok(outcome) => {
                                    let ours = [a.plugin_id.clone(), b.plugin_id.clone()];
                                    ctx.check(
                                        "only this case's plugins were called",
                                        format!("{ours:?}"),
                                        format!("{:?}", outcome.called),
                                        outcome.called.iter().all(|c| ours.contains(c)),
                                    );
                                    let mut seen = seen_requests(&first, scenario.hook);
                                    seen.extend(seen_requests(second, scenario.hook));
                                    crate::multi_hooks::check(&ctx, &scenario, &outcome, &seen);
                                }
                                Err(e) => {
                                    ctx.check("RunMultiPluginHook answers", "an outcome", e, false);
                                }
                            }
                        }
                        if let Ok((_, b)) = &loaded_second
                            && b.started
                        {
                            unload(&ctx, &driver, &b.plugin_id).await;
                        }
                        unload(&ctx, &driver, &a.plugin_id).await;
                        Ok(())
                    }
                },
            )
            .exclusive()
            .provenance(scenario.provenance())
        })
        .collect()
}

pub(super) fn cases(driver: &Arc<DriverProcess>) -> Vec<Case> {
    let mut out = Vec::new();
    for (hook, _) in HOOK_RPCS.iter().filter(|(h, _)| *h != "ServeHTTP") {
        let hook: &'static str = hook;
        let driver = driver.clone();
        out.push(Case::new(
            &format!("host/hooks/{hook}/intact"),
            Level::Must,
            "SPEC §11.3, hooks.tsv; BEHAVIOUR.md",
            &format!("{hook} through the host's hook client: the request arrives intact and the answer is the behaviour's"),
            move |ctx| {
                let driver = driver.clone();
                async move {
                    let (bundle, loaded) = load_ok(&ctx, &driver, BundleBuilder::new(FakeMode::ConformancePlugin), "hooks", true).await?;
                    let sent = behaviour::populated(hook, hook).expect("hook descriptor");
                    match driver.call_hook(&loaded.plugin_id, hook, sent.clone(), HOOK_CALL).await {
                        ProxiedHook::Answered(answer) => check_answer(&ctx, hook, &sent, Ok(&answer)),
                        other => check_answer(&ctx, hook, &sent, Err(&other.describe())),
                    }
                    if hook == "Implemented" || hook == "OnActivate" {
                        // The host called it once at activation already.
                        let seen = seen_requests(&bundle, hook);
                        ctx.check("the proxied call reached the plugin", "at least 2 calls", seen.len().to_string(), seen.len() >= 2);
                    } else {
                        check_intact(&ctx, &bundle, hook, &sent);
                    }
                    unload(&ctx, &driver, &loaded.plugin_id).await;
                    Ok(())
                }
            },
        ));
    }
    let d = driver.clone();
    out.push(Case::new(
        "host/hooks/unlisted-never-called",
        Level::Must,
        "SPEC §11.2",
        "a hook the plugin did not list in Implemented is answered by the host without calling the plugin",
        move |ctx| {
            let driver = d.clone();
            async move {
                let (bundle, loaded) = load_ok(
                    &ctx,
                    &driver,
                    BundleBuilder::new(FakeMode::ConformancePlugin).option("hooks", "OnActivate,MessageWillBePosted"),
                    "unlisted",
                    true,
                )
                .await?;
                ctx.eq("hooks listed", vec!["MessageWillBePosted".to_string(), "OnActivate".to_string()], {
                    let mut l = loaded.implemented.clone();
                    l.sort();
                    l
                });
                let desc = message_of("UserWillLogIn", "Request").expect("hook descriptor");
                let outcome = driver.call_hook(&loaded.plugin_id, "UserWillLogIn", populate(&desc, "UserWillLogIn"), HOOK_CALL).await;
                ctx.note(format!("the host answered: {}", outcome.describe()));
                ctx.eq("calls of UserWillLogIn the plugin saw", 0, seen_requests(&bundle, "UserWillLogIn").len());
                unload(&ctx, &driver, &loaded.plugin_id).await;
                Ok(())
            }
        },
    ));
    let d = driver.clone();
    out.push(
        Case::new(
            "host/hooks/Implemented/error-refuses-load",
            Level::Must,
            "SPEC §11.4, §12",
            "a plugin that answers Implemented with an AppError does not start, OnActivate is never called, and no process is left",
            move |ctx| {
                let driver = d.clone();
                async move {
                    let (bundle, loaded) = super::load(
                        &ctx,
                        &driver,
                        BundleBuilder::new(FakeMode::ConformancePlugin).option("implemented_error", "true"),
                        "implerr",
                        true,
                    )
                    .await?;
                    ctx.check("the load failed", "started = false", format!("started = {}", loaded.started), !loaded.started);
                    ctx.check("the host says why", "an error", &loaded.error, !loaded.error.is_empty());
                    ctx.eq("OnActivate calls", 0, seen_requests(&bundle, "OnActivate").len());
                    if loaded.pid != 0 {
                        ctx.check("no process left", "gone", loaded.pid, super::gone(loaded.pid));
                    }
                    if loaded.started {
                        unload(&ctx, &driver, &loaded.plugin_id).await;
                    }
                    Ok(())
                }
            },
        )
        .provenance(vec![crate::ground::client(
            "newHooksGRPCClient (\"failed to query implemented hooks\"), hooksGRPCClient.Implemented",
        )]),
    );
    let d = driver.clone();
    out.push(
        Case::new(
            "host/hooks/deadline",
            Level::Must,
            "SPEC §12 (30 s per hook)",
            "a hook the plugin never answers fails at the host's own 30 s deadline, not before and not never",
            move |ctx| {
                let driver = d.clone();
                async move {
                    let (bundle, loaded) = load_ok(&ctx, &driver, BundleBuilder::new(FakeMode::ConformancePlugin), "deadline", true).await?;
                    let desc = message_of("MessageWillBePosted", "Request").expect("hook descriptor");
                    let sent = prost_reflect::DynamicMessage::deserialize(desc, serde_json::json!({"post": {"message": "hang-me"}}))?;
                    let started = std::time::Instant::now();
                    let outcome = driver.call_hook(&loaded.plugin_id, "MessageWillBePosted", sent, DEADLINE_WAIT).await;
                    let took = started.elapsed();
                    ctx.check(
                        "the call failed at the host's deadline",
                        "a failed call after 30 s (upstream's defaultGRPCTimeout)",
                        format!("{} after {:.1} s", outcome.describe(), took.as_secs_f64()),
                        matches!(outcome, ProxiedHook::Failed { .. })
                            && took >= Duration::from_secs(29)
                            && took < DEADLINE_WAIT,
                    );
                    ctx.eq("the plugin saw the call", 1, seen_requests(&bundle, "MessageWillBePosted").len());
                    unload(&ctx, &driver, &loaded.plugin_id).await;
                    Ok(())
                }
            },
        )
        .timeout(Duration::from_secs(90))
        .provenance(vec![crate::ground::client(
            "defaultGRPCTimeout (30 s), hooksGRPCClient.MessageWillBePosted",
        )]),
    );
    let names: Vec<String> = out.iter().map(|c| c.name.clone()).collect();
    out.push(Case::new(
        "host/hooks/coverage",
        Level::Must,
        "SPEC §11.2 (every PluginHooks rpc has cases)",
        "every unary hook of mattermost.pluginapi.v1.PluginHooks, as compiled, has a host case (ServeHTTP: host/serve-http)",
        move |ctx| {
            let missing: Vec<String> = HOOK_RPCS
                .iter()
                .map(|(h, _)| *h)
                .filter(|h| *h != "ServeHTTP" && !names.contains(&format!("host/hooks/{h}/intact")))
                .map(str::to_string)
                .collect();
            async move {
                ctx.eq("hooks without a host case", Vec::<String>::new(), missing);
                Ok(())
            }
        },
    ));
    out.extend(multi_plugin_cases(driver));
    crate::ground::fill(&mut out);
    out
}
