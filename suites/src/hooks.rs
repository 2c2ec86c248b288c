//! The hooks suite (SPEC §10.2, §10.3, §11, §12; `fixtures/plugins/BEHAVIOUR.md`):
//! every hook's request arrives with every field intact, the plugin answers as the
//! behaviour says, the host applies the answer (rejection, modification, AppError) and
//! upstream's defaults for unlisted hooks, unlisted hooks are never called, a hook past its
//! deadline is diagnosed, concurrent calls complete, and every hook has a case.

use std::collections::BTreeSet;
use std::time::Duration;

use conformance_core::behaviour::{self, message_of, to_json};
use conformance_core::fixtures::{Bundle, BundleBuilder};
use conformance_core::observe::Observed;
use conformance_core::requestgen::{differences, populate};
use conformance_core::runner::{Case, Ctx, Level};
use conformance_core::supervisor::hooks::{HookOutcome, apply};
use conformance_core::supervisor::{HostConfig, RunningPlugin};
use prost_reflect::DynamicMessage;
use serde_json::{Value as Json, json};

use crate::support::{observed, shutdown_checked, start_ok};

/// Which conformance plugin a case drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plugin {
    /// The fake interpreter's `conformance-plugin` mode.
    Fake,
    /// The real Python reference plugin (`fixtures/plugins/python-reference`).
    Python,
}

impl Plugin {
    /// The name prefix of this plugin's cases.
    pub fn suite(self) -> &'static str {
        match self {
            Plugin::Fake => "hooks",
            Plugin::Python => "hooks-python",
        }
    }
}

/// Starts the plugin (all hooks listed) through the reference host.
pub(crate) async fn start_plugin(
    ctx: &Ctx,
    plugin: Plugin,
    config: HostConfig,
) -> anyhow::Result<(Bundle, RunningPlugin)> {
    match plugin {
        Plugin::Fake => start_ok(ctx, conformance_plugin(), config).await,
        Plugin::Python => {
            let prepared =
                match tokio::task::spawn_blocking(conformance_core::python_reference::prepare)
                    .await?
                {
                    Ok(p) => p,
                    Err(reason) => {
                        ctx.skip(&format!(
                            "the Python reference plugin cannot be prepared: {reason}"
                        ));
                        anyhow::bail!("skipped: {reason}");
                    }
                };
            let bundle = conformance_core::python_reference::write_bundle(
                prepared,
                &ctx.scratch.join("b"),
                Default::default(),
            )
            .map_err(anyhow::Error::msg)?;
            match conformance_core::supervisor::start(&bundle.dir, config).await {
                Ok(p) => {
                    ctx.check("plugin started", "started", "started", true);
                    Ok((bundle, p))
                }
                Err(f) => {
                    ctx.check("plugin started", "started", f.to_string(), false);
                    anyhow::bail!("the Python reference plugin did not start: {f}")
                }
            }
        }
    }
}

/// Starts the fake conformance plugin from `builder` and activates it.
async fn activated(
    ctx: &Ctx,
    builder: BundleBuilder,
    config: HostConfig,
) -> anyhow::Result<(Bundle, RunningPlugin)> {
    let (bundle, plugin) = start_ok(ctx, builder, config).await?;
    activate(ctx, bundle, plugin).await
}

/// Starts `plugin` and activates it.
async fn activated_plugin(
    ctx: &Ctx,
    plugin: Plugin,
    config: HostConfig,
) -> anyhow::Result<(Bundle, RunningPlugin)> {
    let (bundle, running) = start_plugin(ctx, plugin, config).await?;
    activate(ctx, bundle, running).await
}

pub(crate) async fn activate(
    ctx: &Ctx,
    bundle: Bundle,
    mut plugin: RunningPlugin,
) -> anyhow::Result<(Bundle, RunningPlugin)> {
    match plugin.activate().await {
        Ok(_) => {
            ctx.check(
                "activated",
                "Implemented, then OnActivate",
                "activated",
                true,
            );
            Ok((bundle, plugin))
        }
        Err(e) => {
            ctx.check(
                "activated",
                "Implemented, then OnActivate",
                e.to_string(),
                false,
            );
            plugin.shutdown().await;
            anyhow::bail!("activation failed: {e}")
        }
    }
}

fn conformance_plugin() -> BundleBuilder {
    BundleBuilder::new("conformance-plugin")
}

/// The requests of `hook` the plugin reported, as JSON.
pub(crate) fn seen_requests(bundle: &Bundle, hook: &str) -> Vec<Json> {
    observed(bundle, |e| match e {
        Observed::HookCall { hook: h, request } if h == hook => Some(request.clone()),
        _ => None,
    })
}

/// The plugin saw exactly `sent`: its report parses into the request type and every field
/// (optional presence and map entries included) equals what the host sent.
pub(crate) fn check_intact(ctx: &Ctx, bundle: &Bundle, hook: &str, sent: &DynamicMessage) {
    let seen = seen_requests(bundle, hook);
    ctx.eq("calls the plugin saw", 1, seen.len());
    if let Some(json) = seen.into_iter().next() {
        check_seen_intact(ctx, hook, sent, &json);
    }
}

/// One reported request parses into the request type and equals `sent` field by field.
fn check_seen_intact(ctx: &Ctx, hook: &str, sent: &DynamicMessage, json: &Json) {
    let desc = message_of(hook, "Request").expect("hook descriptor");
    match DynamicMessage::deserialize(desc, json.clone()) {
        Ok(parsed) => {
            let diffs = differences(&to_json(sent), &to_json(&parsed));
            ctx.check(
                "request arrived intact",
                "every field as sent",
                if diffs.is_empty() {
                    "every field as sent".to_string()
                } else {
                    diffs.join("; ")
                },
                diffs.is_empty(),
            );
        }
        Err(e) => {
            ctx.check(
                "reported request parses",
                "a request message",
                e.to_string(),
                false,
            );
        }
    }
}

/// A request of `hook` built from JSON (proto names).
fn request(hook: &str, json: Json) -> anyhow::Result<DynamicMessage> {
    let desc = message_of(hook, "Request").ok_or_else(|| anyhow::anyhow!("no hook {hook}"))?;
    DynamicMessage::deserialize(desc, json).map_err(|e| anyhow::anyhow!("{hook} request: {e}"))
}

/// `<suite>/<Hook>/intact` for every unary hook.
/// What the shared plugin of the intact cases saw and answered, per hook.
#[derive(Debug, Default)]
struct IntactResult {
    /// Why there is no result at all (the plugin did not start or activate).
    failure: Option<String>,
    skip: Option<String>,
    /// hook → (request sent, outcome description or answer as JSON, requests the plugin saw).
    hooks: std::collections::HashMap<String, IntactCall>,
}

#[derive(Debug)]
struct IntactCall {
    sent: DynamicMessage,
    answer: Result<Json, String>,
    seen: Vec<Json>,
}

/// One plugin (started and activated once) receives every intact case's hook call; each
/// case then judges its own hook. Started by the first intact case that runs, on a task of
/// its own; the plugin is shut down and its bundle removed before any case reads a result.
struct IntactBatch {
    subject: Plugin,
    result: crate::support::SharedResult<IntactResult>,
}

impl IntactBatch {
    async fn result(self: &std::sync::Arc<Self>) -> std::sync::Arc<IntactResult> {
        let subject = self.subject;
        self.result
            .get(
                || run_intact_batch(subject),
                || IntactResult {
                    failure: Some("the intact batch ended without a result".into()),
                    ..IntactResult::default()
                },
            )
            .await
    }
}

async fn run_intact_batch(subject: Plugin) -> IntactResult {
    let scratch = match conformance_core::scratch::dir("hooks") {
        Ok(d) => d,
        Err(e) => {
            return IntactResult {
                failure: Some(format!("no scratch directory: {e}")),
                ..IntactResult::default()
            };
        }
    };
    let bundle = match subject {
        Plugin::Fake => conformance_plugin().write(&scratch.path().join("b")),
        Plugin::Python => {
            match tokio::task::spawn_blocking(conformance_core::python_reference::prepare).await {
                Ok(Ok(prepared)) => conformance_core::python_reference::write_bundle(
                    prepared,
                    &scratch.path().join("b"),
                    Default::default(),
                ),
                Ok(Err(reason)) => {
                    return IntactResult {
                        skip: Some(format!(
                            "the Python reference plugin cannot be prepared: {reason}"
                        )),
                        ..IntactResult::default()
                    };
                }
                Err(e) => Err(e.to_string()),
            }
        }
    };
    let bundle = match bundle {
        Ok(b) => b,
        Err(e) => {
            return IntactResult {
                failure: Some(e),
                ..IntactResult::default()
            };
        }
    };
    let mut plugin =
        match conformance_core::supervisor::start(&bundle.dir, HostConfig::default()).await {
            Ok(p) => p,
            Err(f) => {
                return IntactResult {
                    failure: Some(format!("the plugin did not start: {f}")),
                    ..IntactResult::default()
                };
            }
        };
    if let Err(e) = plugin.activate().await {
        plugin.shutdown().await;
        return IntactResult {
            failure: Some(format!("activation failed: {e}")),
            ..IntactResult::default()
        };
    }
    let mut calls = Vec::new();
    for (hook, _) in pluginapi_proto::hooks::HOOK_RPCS
        .iter()
        .filter(|(h, _)| *h != "ServeHTTP")
    {
        let desc = message_of(hook, "Request").expect("hook descriptor");
        let sent = populate(&desc, hook);
        let answer = match plugin.call_hook(hook, sent.clone()).await {
            HookOutcome::Answered(m) => Ok(to_json(&m)),
            other => Err(other.describe()),
        };
        calls.push((hook.to_string(), sent, answer));
    }
    plugin.shutdown().await;
    let hooks = calls
        .into_iter()
        .map(|(hook, sent, answer)| {
            let seen = seen_requests(&bundle, &hook);
            (hook, IntactCall { sent, answer, seen })
        })
        .collect();
    IntactResult {
        failure: None,
        skip: None,
        hooks,
    }
}

fn intact_case(subject: Plugin, hook: &'static str, batch: std::sync::Arc<IntactBatch>) -> Case {
    Case::new(
        &format!("{}/{hook}/intact", subject.suite()),
        Level::Must,
        "SPEC §11.3, hooks.tsv; BEHAVIOUR.md",
        &format!(
            "a fully populated {hook} request arrives with every field intact, and the answer is the behaviour's"
        ),
        move |ctx| {
            let batch = batch.clone();
            async move {
                let result = batch.result().await;
                if let Some(reason) = &result.skip {
                    ctx.skip(reason);
                    anyhow::bail!("skipped: {reason}");
                }
                if let Some(failure) = &result.failure {
                    ctx.check(
                        "the shared plugin ran",
                        "started and activated",
                        failure,
                        false,
                    );
                    return Ok(());
                }
                let Some(call) = result.hooks.get(hook) else {
                    ctx.check("the hook was called", "a call", "none", false);
                    return Ok(());
                };
                match &call.answer {
                    Ok(answer) => {
                        ctx.eq(
                            "answer",
                            behaviour::expected_json(hook, &call.sent),
                            answer.clone(),
                        );
                    }
                    Err(why) => {
                        ctx.check("answered", "an answer", why, false);
                    }
                }
                // Activation called Implemented and OnActivate once already.
                let activation_calls = usize::from(hook == "OnActivate" || hook == "Implemented");
                ctx.eq(
                    "calls the plugin saw",
                    1 + activation_calls,
                    call.seen.len(),
                );
                if let Some(last) = call.seen.last() {
                    check_seen_intact(&ctx, hook, &call.sent, last);
                }
                Ok(())
            }
        },
    )
}

/// The behaviour cases' hook calls, all made to one activated plugin: each case registers
/// its request when the case list is built; the first case that runs starts a task that
/// sends every registered request in turn and stops the plugin; each case then judges the
/// host's application of its own answer.
/// What the behaviour batch produced: per case, the request sent and the hook's outcome.
type AppliedCalls =
    Result<std::collections::HashMap<String, (DynamicMessage, HookOutcome)>, String>;

struct AppliedBatch {
    subject: Plugin,
    /// `(case name, hook, request)`, registered while the cases are built.
    requests: std::sync::Mutex<Vec<(String, &'static str, Json)>>,
    result: crate::support::SharedResult<AppliedCalls>,
}

impl AppliedBatch {
    async fn result(self: &std::sync::Arc<Self>) -> std::sync::Arc<AppliedCalls> {
        let batch = self.clone();
        self.result
            .get(
                || async move { batch.run().await },
                || Err("the behaviour batch ended without a result".into()),
            )
            .await
    }

    async fn run(&self) -> AppliedCalls {
        let requests = self
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let scratch = conformance_core::scratch::dir("behaviour").map_err(|e| e.to_string())?;
        let bundle = match self.subject {
            Plugin::Fake => conformance_plugin().write(&scratch.path().join("b"))?,
            Plugin::Python => {
                let prepared =
                    tokio::task::spawn_blocking(conformance_core::python_reference::prepare)
                        .await
                        .map_err(|e| e.to_string())?
                        .map_err(|reason| {
                            format!(
                                "skip: the Python reference plugin cannot be prepared: {reason}"
                            )
                        })?;
                conformance_core::python_reference::write_bundle(
                    prepared,
                    &scratch.path().join("b"),
                    Default::default(),
                )?
            }
        };
        let mut plugin = conformance_core::supervisor::start(&bundle.dir, HostConfig::default())
            .await
            .map_err(|f| format!("the plugin did not start: {f}"))?;
        if let Err(e) = plugin.activate().await {
            plugin.shutdown().await;
            return Err(format!("activation failed: {e}"));
        }
        let mut out = std::collections::HashMap::new();
        for (name, hook, req) in requests {
            match request(hook, req) {
                Ok(sent) => {
                    let outcome = plugin.call_hook(hook, sent.clone()).await;
                    out.insert(name, (sent, outcome));
                }
                Err(e) => {
                    plugin.shutdown().await;
                    return Err(format!("case {name}: {e}"));
                }
            }
        }
        plugin.shutdown().await;
        Ok(out)
    }
}

/// A behaviour case: sends `req` to `hook` (through the shared [`AppliedBatch`]) and checks
/// the host's application of the answer at `path` (dot-separated, into [`apply`]'s JSON).
fn applied_case(
    batch: &std::sync::Arc<AppliedBatch>,
    name: &str,
    hook: &'static str,
    summary: &str,
    req: Json,
    checks: Vec<(&'static str, Json)>,
) -> Case {
    let case_name = format!("{}/{hook}/{name}", batch.subject.suite());
    batch
        .requests
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push((case_name.clone(), hook, req));
    let batch = batch.clone();
    let key = case_name.clone();
    Case::new(
        &case_name,
        Level::Must,
        "SPEC §10.2, §10.3; BEHAVIOUR.md",
        summary,
        move |ctx| {
            let (batch, key, checks) = (batch.clone(), key.clone(), checks.clone());
            async move {
                let result = batch.result().await;
                let calls = match result.as_ref() {
                    Ok(calls) => calls,
                    Err(why) if why.starts_with("skip: ") => {
                        ctx.skip(&why["skip: ".len()..]);
                        anyhow::bail!("{why}");
                    }
                    Err(why) => {
                        ctx.check("the shared plugin ran", "started and activated", why, false);
                        return Ok(());
                    }
                };
                let Some((sent, outcome)) = calls.get(&key) else {
                    ctx.check("the hook was called", "a call", "none", false);
                    return Ok(());
                };
                let applied = apply(hook, sent, outcome);
                for (path, expected) in checks {
                    let seen = conformance_core::apicase::lookup(&applied, path)
                        .cloned()
                        .unwrap_or(Json::Null);
                    ctx.check(
                        &format!("host applies: {path}"),
                        &expected,
                        &seen,
                        seen == expected,
                    );
                }
                Ok(())
            }
        },
    )
}

fn behaviour_cases(subject: Plugin) -> Vec<Case> {
    let batch = std::sync::Arc::new(AppliedBatch {
        subject,
        requests: std::sync::Mutex::default(),
        result: crate::support::SharedResult::default(),
    });
    let applied_case = |name: &str,
                        hook: &'static str,
                        summary: &str,
                        req: Json,
                        checks: Vec<(&'static str, Json)>| {
        applied_case(&batch, name, hook, summary, req, checks)
    };
    let rejected = |reason: &str| vec![("rejected", json!(true)), ("reason", json!(reason))];
    // Hooks whose only answer is an AppError: `fail-me` in the request context makes one.
    let fail_case = |hook: &'static str| {
        applied_case(
            "fail",
            hook,
            &format!("an AppError from {hook} reaches the host"),
            json!({"context": {"request_id": "fail-me"}}),
            vec![
                (
                    "error.id",
                    json!(format!("conformance.{}.failed", hook.to_lowercase())),
                ),
                ("error.status_code", json!(500)),
            ],
        )
    };
    vec![
        applied_case(
            "reject",
            "MessageWillBePosted",
            "a post containing reject-me is rejected with the plugin's reason",
            json!({"post": {"id": "p1", "message": "please reject-me"}}),
            rejected(behaviour::REJECTION),
        ),
        applied_case(
            "modify",
            "MessageWillBePosted",
            "a post containing modify-me is replaced by the plugin's modified post",
            json!({"post": {"id": "p1", "message": "modify-me"}}),
            vec![
                ("rejected", json!(false)),
                ("result.message", json!("modify-me [modified]")),
                ("result.id", json!("p1")),
            ],
        ),
        applied_case(
            "pass",
            "MessageWillBePosted",
            "a plain post passes unchanged",
            json!({"post": {"id": "p1", "message": "hello"}}),
            vec![
                ("rejected", json!(false)),
                ("result.message", json!("hello")),
            ],
        ),
        applied_case(
            "reject",
            "MessageWillBeUpdated",
            "an edit containing reject-me is rejected",
            json!({"new_post": {"message": "reject-me"}, "old_post": {"message": "before"}}),
            rejected(behaviour::REJECTION),
        ),
        applied_case(
            "modify",
            "MessageWillBeUpdated",
            "an edit containing modify-me is replaced",
            json!({"new_post": {"message": "modify-me"}, "old_post": {"message": "before"}}),
            vec![("result.message", json!("modify-me [modified]"))],
        ),
        applied_case(
            "reject",
            "FileWillBeUploaded",
            "an upload named reject-me is rejected",
            json!({"file_info": {"name": "reject-me.txt"}, "file_content": "aGk="}),
            rejected(behaviour::REJECTION),
        ),
        applied_case(
            "modify",
            "FileWillBeUploaded",
            "an upload named modify-me gets the plugin's name",
            json!({"file_info": {"name": "modify-me.txt"}, "file_content": "aGk="}),
            vec![
                ("rejected", json!(false)),
                ("result.name", json!("modified-modify-me.txt")),
            ],
        ),
        applied_case(
            "reject",
            "NotificationWillBePushed",
            "a push notification containing reject-me is rejected",
            json!({"push_notification": {"message": "reject-me"}, "user_id": "u1"}),
            rejected(behaviour::REJECTION),
        ),
        applied_case(
            "modify",
            "NotificationWillBePushed",
            "a push notification containing modify-me is replaced",
            json!({"push_notification": {"message": "modify-me"}, "user_id": "u1"}),
            vec![("result.message", json!("modify-me [modified]"))],
        ),
        applied_case(
            "reject",
            "EmailNotificationWillBeSent",
            "an email notification containing reject-me is rejected",
            json!({"email_notification": {"notification_json": "eyJzdWJqZWN0IjoicmVqZWN0LW1lIn0="}}),
            rejected(behaviour::REJECTION),
        ),
        applied_case(
            "modify",
            "EmailNotificationWillBeSent",
            "an email notification containing modify-me gets the plugin's subject",
            json!({"email_notification": {"notification_json": "eyJzdWJqZWN0IjoibW9kaWZ5LW1lIn0="}}),
            vec![("result.subject", json!(behaviour::MODIFIED_CONTENT))],
        ),
        applied_case(
            "blocked",
            "UserWillLogIn",
            "the login of user blocked is rejected",
            json!({"user": {"username": "blocked"}}),
            rejected(behaviour::LOGIN_REJECTION),
        ),
        applied_case(
            "allowed",
            "UserWillLogIn",
            "any other login is allowed",
            json!({"user": {"username": "alice"}}),
            vec![("rejected", json!(false))],
        ),
        applied_case(
            "reject",
            "ConfigurationWillBeSaved",
            "a configuration containing reject-me is refused with the plugin's AppError",
            json!({"new_config": {"config_json": "eyJyZWplY3QtbWUiOjF9"}}),
            vec![
                ("error.id", json!("conformance.config.rejected")),
                ("error.status_code", json!(400)),
            ],
        ),
        applied_case(
            "echo",
            "ExecuteCommand",
            "/echo TEXT answers TEXT as an ephemeral response",
            json!({"args": {"command": "/echo hello there"}}),
            vec![
                ("response.text", json!("hello there")),
                ("response.response_type", json!("ephemeral")),
                ("error", Json::Null),
            ],
        ),
        applied_case(
            "unknown",
            "ExecuteCommand",
            "an unknown command answers the plugin's AppError",
            json!({"args": {"command": "/nosuch"}}),
            vec![
                ("error.id", json!("conformance.command.unknown")),
                ("error.status_code", json!(404)),
            ],
        ),
        applied_case(
            "count",
            "RunDataRetention",
            "the deleted count the plugin reports reaches the host",
            json!({"now_time": 1_700_000_000_000i64, "batch_size": 50}),
            vec![("deleted_count", json!(100))],
        ),
        applied_case(
            "fail",
            "OnSAMLLogin",
            "an AppError from OnSAMLLogin reaches the host",
            json!({"user": {"username": "fail-me"}}),
            vec![
                ("error.id", json!("conformance.onsamllogin.failed")),
                ("error.status_code", json!(500)),
            ],
        ),
        fail_case("OnDeactivate"),
        fail_case("OnConfigurationChange"),
        fail_case("OnInstall"),
        fail_case("OnSharedChannelsAttachmentSyncMsg"),
        fail_case("OnSharedChannelsProfileImageSyncMsg"),
        applied_case(
            "healthy",
            "OnSharedChannelsPing",
            "a healthy answer reaches the host",
            json!({"remote_cluster": {"name": "remote"}}),
            vec![("healthy", json!(true))],
        ),
        applied_case(
            "unhealthy",
            "OnSharedChannelsPing",
            "an unhealthy answer reaches the host",
            json!({"remote_cluster": {"name": "fail-me"}}),
            vec![("healthy", json!(false))],
        ),
        applied_case(
            "modifies-each",
            "MessagesWillBeConsumed",
            "every consumed post comes back modified, in order",
            json!({"posts": [{"message": "a"}, {"message": "b"}]}),
            vec![
                ("posts.0.message", json!("a [consumed]")),
                ("posts.1.message", json!("b [consumed]")),
            ],
        ),
        applied_case(
            "files",
            "GenerateSupportData",
            "the plugin's support file reaches the host",
            json!({}),
            vec![("files.0.filename", json!("conformance.txt"))],
        ),
    ]
}

fn lifecycle_cases() -> Vec<Case> {
    vec![
        Case::new(
            "hooks/OnActivate/refused",
            Level::Must,
            "SPEC §12 (a non-empty error from OnActivate aborts activation)",
            "an AppError from OnActivate aborts activation",
            |ctx| async move {
                let (_bundle, mut plugin) = start_ok(
                    &ctx,
                    conformance_plugin().option("fail_activate", "true"),
                    HostConfig::default(),
                )
                .await?;
                let result = plugin.activate().await;
                ctx.check(
                    "activation refused",
                    "refused with conformance.activate.refused",
                    format!("{result:?}"),
                    matches!(&result, Err(e) if e.to_string().contains("conformance.activate.refused")),
                );
                shutdown_checked(&ctx, plugin).await;
                Ok(())
            },
        ),
        Case::new(
            "hooks/OnActivate/calls-the-api",
            Level::Must,
            "SPEC §12, §20.1 (a plugin calls back into the PluginAPI)",
            "Implemented comes first, then OnActivate, which can already use the PluginAPI",
            |ctx| async move {
                let (bundle, plugin) =
                    activated(&ctx, conformance_plugin(), HostConfig::default()).await?;
                let order: Vec<String> = observed(&bundle, |e| match e {
                    Observed::HookCall { hook, .. } => Some(hook.clone()),
                    _ => None,
                });
                ctx.eq(
                    "hook order at activation",
                    vec!["Implemented".to_string(), "OnActivate".to_string()],
                    order,
                );
                let calls: Vec<String> = plugin
                    .api_calls()
                    .into_iter()
                    .map(|c| format!("{} {}", c.rpc, c.outcome))
                    .collect();
                ctx.eq(
                    "PluginAPI calls made by OnActivate",
                    vec!["GetServerVersion ok".to_string(), "KVSet ok".to_string()],
                    calls,
                );
                shutdown_checked(&ctx, plugin).await;
                Ok(())
            },
        ),
        Case::new(
            "hooks/OnDeactivate/before-shutdown",
            Level::Must,
            "SPEC §9.1, §12",
            "OnDeactivate is called before the Shutdown rpc, while the PluginAPI server is up",
            |ctx| async move {
                let (bundle, plugin) =
                    activated(&ctx, conformance_plugin(), HostConfig::default()).await?;
                let (outcome, report) = plugin.deactivate_and_shutdown().await;
                ctx.check(
                    "OnDeactivate answered",
                    "answered",
                    outcome.describe(),
                    matches!(outcome, HookOutcome::Answered(_)),
                );
                let events: Vec<&'static str> = bundle
                    .observations()
                    .iter()
                    .filter_map(|o| match &o.event {
                        Observed::HookCall { hook, .. } if hook == "OnDeactivate" => {
                            Some("OnDeactivate")
                        }
                        Observed::ShutdownRpc => Some("Shutdown"),
                        _ => None,
                    })
                    .collect();
                ctx.eq(
                    "order the plugin saw",
                    vec!["OnDeactivate", "Shutdown"],
                    events,
                );
                ctx.eq("graceful", true, report.graceful);
                Ok(())
            },
        ),
        Case::new(
            "hooks/gating/unlisted-never-called",
            Level::Must,
            "SPEC §11.4",
            "hooks the plugin does not list are never called and get upstream's defaults",
            |ctx| async move {
                let (bundle, plugin) = activated(
                    &ctx,
                    conformance_plugin().option("hooks", "OnActivate,MessageWillBePosted"),
                    HostConfig::default(),
                )
                .await?;
                let mut defaults = Vec::new();
                for hook in behaviour::all_hooks() {
                    if hook == "ServeHTTP" || hook == "Implemented" {
                        continue;
                    }
                    let desc = message_of(&hook, "Request").expect("hook");
                    let sent = populate(&desc, &hook);
                    let outcome = plugin.call_hook(&hook, sent.clone()).await;
                    let listed = hook == "OnActivate" || hook == "MessageWillBePosted";
                    if !listed {
                        defaults.push((hook.clone(), apply(&hook, &sent, &outcome), sent));
                    }
                }
                let called: BTreeSet<String> = observed(&bundle, |e| match e {
                    Observed::HookCall { hook, .. } => Some(hook.clone()),
                    _ => None,
                })
                .into_iter()
                .collect();
                ctx.eq(
                    "hooks the plugin saw",
                    ["Implemented", "MessageWillBePosted", "OnActivate"]
                        .iter()
                        .map(|s| s.to_string())
                        .collect::<BTreeSet<_>>(),
                    called,
                );
                for (hook, applied, sent) in defaults {
                    let ok = match hook.as_str() {
                        "OnSharedChannelsPing" => applied["healthy"] == json!(true),
                        "ExecuteCommand" => {
                            applied["error"].is_null() && applied["response"].is_null()
                        }
                        "MessageWillBeUpdated" => {
                            applied["rejected"] == json!(false)
                                && applied["result"] == to_json(&sent)["new_post"]
                        }
                        "UserWillLogIn" => applied["rejected"] == json!(false),
                        "MessagesWillBeConsumed" => applied["posts"] == to_json(&sent)["posts"],
                        _ => {
                            applied.get("error").is_none()
                                && applied.get("rejected").is_none_or(|r| r == &json!(false))
                        }
                    };
                    ctx.check(
                        &format!("{hook} default"),
                        "upstream's default",
                        &applied,
                        ok,
                    );
                }
                shutdown_checked(&ctx, plugin).await;
                Ok(())
            },
        ),
        Case::new(
            "hooks/gating/unknown-names-ignored",
            Level::Should,
            "SPEC §11.4 (unknown names are logged and ignored)",
            "a hook name the host does not know does not break activation",
            |ctx| async move {
                let (_bundle, mut plugin) = start_ok(
                    &ctx,
                    conformance_plugin().option("hooks", "OnActivate,NoSuchHook"),
                    HostConfig::default(),
                )
                .await?;
                let activation = plugin.activate().await;
                ctx.check(
                    "unknown name set aside",
                    "activated with NoSuchHook ignored",
                    format!("{:?}", activation.as_ref().map(|a| a.unknown.clone())),
                    activation
                        .as_ref()
                        .is_ok_and(|a| a.unknown == vec!["NoSuchHook".to_string()]),
                );
                shutdown_checked(&ctx, plugin).await;
                Ok(())
            },
        ),
        Case::new(
            "hooks/deadline",
            Level::Must,
            "SPEC §12 (30 s per hook), §10.3 (filters fail open)",
            "a hook past its deadline is diagnosed, and a message filter past it fails open",
            |ctx| async move {
                let deadline = Duration::from_secs(1);
                let config = HostConfig {
                    hook_deadline: deadline,
                    ..HostConfig::default()
                };
                let (_bundle, plugin) = activated(&ctx, conformance_plugin(), config).await?;
                let sent = request(
                    "MessageWillBePosted",
                    json!({"post": {"message": "hang-me"}}),
                )?;
                let outcome = plugin.call_hook("MessageWillBePosted", sent.clone()).await;
                ctx.check(
                    "diagnosed at the deadline",
                    format!("TimedOut({deadline:?})"),
                    outcome.describe(),
                    matches!(outcome, HookOutcome::TimedOut(d) if d == deadline),
                );
                let applied = apply("MessageWillBePosted", &sent, &outcome);
                ctx.eq("fails open", json!(false), applied["rejected"].clone());
                ctx.eq(
                    "original post kept",
                    json!("hang-me"),
                    applied["result"]["message"].clone(),
                );
                shutdown_checked(&ctx, plugin).await;
                Ok(())
            },
        )
        .timeout(Duration::from_secs(30)),
        Case::new(
            "hooks/concurrent",
            Level::Must,
            "SPEC §12 (hooks may arrive concurrently)",
            "16 concurrent MessageHasBeenPosted calls all complete and all reach the plugin",
            |ctx| async move {
                let (bundle, plugin) =
                    activated(&ctx, conformance_plugin(), HostConfig::default()).await?;
                let calls = (0..16).map(|i| {
                    let sent = request(
                        "MessageHasBeenPosted",
                        json!({"post": {"message": format!("concurrent-{i}")}}),
                    );
                    let plugin = &plugin;
                    async move {
                        match sent {
                            Ok(sent) => matches!(
                                plugin.call_hook("MessageHasBeenPosted", sent).await,
                                HookOutcome::Answered(_)
                            ),
                            Err(_) => false,
                        }
                    }
                });
                let answered = futures::future::join_all(calls)
                    .await
                    .into_iter()
                    .filter(|a| *a)
                    .count();
                ctx.eq("calls answered", 16, answered);
                let seen: BTreeSet<String> = seen_requests(&bundle, "MessageHasBeenPosted")
                    .iter()
                    .filter_map(|r| r["post"]["message"].as_str().map(str::to_string))
                    .collect();
                ctx.eq("distinct calls the plugin saw", 16, seen.len());
                shutdown_checked(&ctx, plugin).await;
                Ok(())
            },
        ),
    ]
}

fn serve_http_case(subject: Plugin) -> Case {
    Case::new(
        &format!("{}/ServeHTTP/intact", subject.suite()),
        Level::Must,
        "SPEC §13.3, §13.4",
        "a ServeHTTP stream's init arrives intact (multi-value headers included) and an echo streams the body back",
        move |ctx| async move {
            use pluginapi_proto::pluginapi::plugin_hooks_client::PluginHooksClient;
            use pluginapi_proto::pluginapi::{HttpHeader, ServeHttpRequest, ServeHttpRequestInit};
            let (bundle, plugin) = activated_plugin(&ctx, subject, HostConfig::default()).await?;
            let init = ServeHttpRequestInit {
                method: "POST".into(),
                url: "/echo?x=1".into(),
                proto: "HTTP/1.1".into(),
                proto_major: 1,
                proto_minor: 1,
                headers: vec![
                    HttpHeader {
                        key: "Content-Type".into(),
                        values: vec!["text/plain".into()],
                    },
                    HttpHeader {
                        key: "X-Multi".into(),
                        values: vec!["a".into(), "b".into()],
                    },
                ],
                host: "localhost".into(),
                remote_addr: "127.0.0.1:5555".into(),
                request_uri: "/plugins/p/echo?x=1".into(),
                content_length: 11,
                ..Default::default()
            };
            let first = ServeHttpRequest {
                init: Some(init),
                body_chunk: b"hello ".to_vec(),
                body_complete: false,
            };
            let last = ServeHttpRequest {
                init: None,
                body_chunk: b"world".to_vec(),
                body_complete: true,
            };
            let mut client = PluginHooksClient::new(plugin.channel());
            let mut stream = client
                .serve_http(tokio_stream::iter(vec![first.clone(), last]))
                .await?
                .into_inner();
            let mut status = 0;
            let mut body = Vec::new();
            let mut complete = false;
            while let Some(m) = stream.message().await? {
                if let Some(i) = m.init {
                    status = i.status_code;
                }
                body.extend_from_slice(&m.body_chunk);
                complete |= m.body_complete;
            }
            ctx.eq("status", 200, status);
            ctx.eq(
                "echoed body",
                "hello world".to_string(),
                String::from_utf8_lossy(&body).into_owned(),
            );
            ctx.eq("body_complete", true, complete);
            let desc = message_of("ServeHTTP", "Request").expect("descriptor");
            let sent = behaviour::dynamic_of(&first, desc.clone());
            match seen_requests(&bundle, "ServeHTTP").into_iter().next() {
                Some(json) => {
                    let parsed = DynamicMessage::deserialize(desc, json)?;
                    let diffs = differences(&to_json(&sent), &to_json(&parsed));
                    ctx.check(
                        "first message arrived intact",
                        "as sent",
                        diffs.join("; "),
                        diffs.is_empty(),
                    );
                }
                None => {
                    ctx.check("first message arrived", "reported", "nothing", false);
                }
            }
            shutdown_checked(&ctx, plugin).await;
            Ok(())
        },
    )
}

/// The cases every conformance plugin must pass, for one plugin.
fn plugin_cases(subject: Plugin) -> Vec<Case> {
    let batch = std::sync::Arc::new(IntactBatch {
        subject,
        result: crate::support::SharedResult::default(),
    });
    let mut cases: Vec<Case> = pluginapi_proto::hooks::HOOK_RPCS
        .iter()
        .filter(|(name, _)| *name != "ServeHTTP")
        .map(|(name, _)| intact_case(subject, name, batch.clone()))
        .collect();
    cases.push(serve_http_case(subject));
    cases.extend(behaviour_cases(subject));
    cases
}

/// The hooks suite against the Python reference plugin (`hooks-python/`). Its cases
/// prepare the plugin's venv on first use; when Python or its packages cannot be had,
/// the test target marks them ignored with the reason and `run` reports them skipped.
pub fn python_cases() -> Vec<Case> {
    plugin_cases(Plugin::Python)
}

pub fn cases() -> Vec<Case> {
    let mut cases = plugin_cases(Plugin::Fake);
    cases.extend(lifecycle_cases());
    let names: BTreeSet<String> = cases.iter().map(|c| c.name.clone()).collect();
    cases.push(Case::new(
        "hooks/coverage",
        Level::Must,
        "SPEC §11.2 (every PluginHooks rpc has cases)",
        "every rpc of mattermost.pluginapi.v1.PluginHooks, as compiled, has at least one case",
        move |ctx| {
            let missing = uncovered_hooks(&names);
            async move {
                ctx.eq("hooks without a case", Vec::<String>::new(), missing);
                Ok(())
            }
        },
    ));
    cases
}

/// Hooks of the compiled service with no case named `hooks/<Hook>/...`.
pub fn uncovered_hooks(case_names: &BTreeSet<String>) -> Vec<String> {
    pluginapi_proto::descriptor_pool()
        .get_service_by_name(pluginapi_proto::service_names::PLUGIN_HOOKS)
        .expect("PluginHooks is compiled in")
        .methods()
        .map(|m| m.name().to_string())
        .filter(|m| {
            !case_names
                .iter()
                .any(|n| n.starts_with(&format!("hooks/{m}/")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_hook_is_covered_and_removing_one_is_caught() {
        let mut names: BTreeSet<String> = cases().iter().map(|c| c.name.clone()).collect();
        assert_eq!(uncovered_hooks(&names), Vec::<String>::new());
        names.retain(|n| !n.starts_with("hooks/OnInstall/"));
        assert_eq!(uncovered_hooks(&names), vec!["OnInstall".to_string()]);
    }
}
