//! The hooks suite (SPEC §10.2, §10.3, §11, §12; `fixtures/plugins/BEHAVIOUR.md`):
//! every hook's request arrives with every field intact, the plugin answers as the
//! behaviour says, the host applies the answer (rejection, modification, AppError) and
//! upstream's defaults for unlisted hooks, unlisted hooks are never called, a hook past its
//! deadline is diagnosed, concurrent calls complete, and every hook has a case.

use std::collections::BTreeSet;
use std::time::Duration;

use conformance_core::behaviour::{self, b64, message_of, to_json};
use conformance_core::conveyance;
use conformance_core::fixtures::{Bundle, BundleBuilder, FakeMode};
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
    BundleBuilder::new(FakeMode::ConformancePlugin)
}

/// The requests of `hook` the plugin reported, as JSON.
pub(crate) fn seen_requests(bundle: &Bundle, hook: &str) -> Vec<Json> {
    observed(bundle, |e| match e {
        Observed::HookCall { hook: h, request } if h == hook => Some(request.clone()),
        _ => None,
    })
}

/// The plugin saw what Mattermost's hook client conveys of `sent` (SPEC §11.5): its report
/// parses into the request type, and every field upstream conveys equals what the host was
/// given (in upstream's form); fields upstream never sets are not required either way.
pub(crate) fn check_intact(ctx: &Ctx, bundle: &Bundle, hook: &str, sent: &DynamicMessage) {
    let seen = seen_requests(bundle, hook);
    ctx.eq("calls the plugin saw", 1, seen.len());
    if let Some(json) = seen.into_iter().next() {
        check_seen_intact(ctx, hook, sent, &json);
    }
}

/// One reported request parses into the request type and carries every field upstream's
/// hook client conveys of `sent`, as it conveys it (a JSON blob may have gained the fields
/// upstream's Go struct adds).
pub(crate) fn check_seen_intact(ctx: &Ctx, hook: &str, sent: &DynamicMessage, json: &Json) {
    check_seen_intact_as(ctx, "request", hook, sent, json);
}

/// [`check_seen_intact`] with the checks named after `label`.
pub(crate) fn check_seen_intact_as(
    ctx: &Ctx,
    label: &str,
    hook: &str,
    sent: &DynamicMessage,
    json: &Json,
) {
    let desc = message_of(hook, "Request").expect("hook descriptor");
    match DynamicMessage::deserialize(desc, json.clone()) {
        Ok(parsed) => {
            let expected = conveyance::convey_request(hook, sent);
            let mut seen = conveyance::convey_request(hook, &parsed);
            conveyance::reconcile_blobs(&expected, &mut seen);
            let diffs = differences(&to_json(&expected), &to_json(&seen));
            ctx.check(
                &format!("{label} arrived with every field upstream conveys"),
                "every conveyed field as sent",
                if diffs.is_empty() {
                    "every conveyed field as sent".to_string()
                } else {
                    diffs.join("; ")
                },
                diffs.is_empty(),
            );
        }
        Err(e) => {
            ctx.check(
                &format!("reported {label} parses"),
                "a request message",
                e.to_string(),
                false,
            );
        }
    }
}

/// What the host hands its caller for `sent`, by the behaviour: the plugin answers the
/// request upstream conveys, and the host keeps what upstream's client applies of the
/// answer (SPEC §11.5). `Err` when the plugin raises instead (a non-OK status).
pub(crate) fn expected_answer(hook: &str, sent: &DynamicMessage) -> Result<DynamicMessage, String> {
    let conveyed = conveyance::convey_request(hook, sent);
    let answer = behaviour::expected_json(hook, &conveyed)?;
    let desc = message_of(hook, "Response").ok_or_else(|| format!("no hook {hook}"))?;
    let message = DynamicMessage::deserialize(desc, answer).map_err(|e| e.to_string())?;
    Ok(conveyance::convey_answer(hook, &message))
}

/// Checks what the host handed over for `sent` (`Err`: the call failed, described)
/// against [`expected_answer`].
pub(crate) fn check_answer(
    ctx: &Ctx,
    hook: &str,
    sent: &DynamicMessage,
    answer: Result<&DynamicMessage, &str>,
) {
    check_answer_as(ctx, "answer", hook, sent, answer);
}

/// [`check_answer`] with the check named `label`.
pub(crate) fn check_answer_as(
    ctx: &Ctx,
    label: &str,
    hook: &str,
    sent: &DynamicMessage,
    answer: Result<&DynamicMessage, &str>,
) {
    match (expected_answer(hook, sent), answer) {
        (Ok(expected), Ok(answer)) => {
            let mut seen = conveyance::convey_answer(hook, answer);
            conveyance::reconcile_blobs(&expected, &mut seen);
            let (expected, seen) = (to_json(&expected), to_json(&seen));
            let diffs = differences(&expected, &seen);
            ctx.check(
                label,
                crate::support::clip(expected.to_string()),
                if diffs.is_empty() {
                    "as expected".to_string()
                } else {
                    crate::support::clip(diffs.join("; "))
                },
                diffs.is_empty(),
            );
        }
        (Ok(expected), Err(why)) => {
            ctx.check(label, to_json(&expected).to_string(), why, false);
        }
        (Err(raised), Ok(answer)) => {
            ctx.check(
                label,
                format!("a failed call (the plugin raises: {raised})"),
                to_json(answer).to_string(),
                false,
            );
        }
        (Err(_), Err(why)) => {
            ctx.check(label, "a failed call (the plugin raises)", why, true);
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
    answer: Result<DynamicMessage, String>,
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
        let sent = behaviour::populated(hook, hook).expect("hook descriptor");
        let answer = match plugin.call_hook(hook, sent.clone()).await {
            HookOutcome::Answered(m) => Ok(m),
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
                check_answer(
                    &ctx,
                    hook,
                    &call.sent,
                    call.answer.as_ref().map_err(String::as_str),
                );
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
        // The two hooks whose requests carry nothing to put a marker in fail by
        // configuration (BEHAVIOUR.md `fail_hooks`).
        let bundle = match self.subject {
            Plugin::Fake => conformance_plugin()
                .option("fail_hooks", FAIL_HOOKS.join(","))
                .write(&scratch.path().join("b"))?,
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
                    conformance_core::python_reference::PluginOptions {
                        fail_hooks: FAIL_HOOKS,
                        ..Default::default()
                    },
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
    ground: Vec<String>,
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
        "SPEC §10.2, §10.3, §11.5; BEHAVIOUR.md",
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
    .provenance(ground)
}

/// The hooks the applied batch's plugin is configured to fail (BEHAVIOUR.md `fail_hooks`).
const FAIL_HOOKS: &[&str] = &["OnDeactivate", "OnConfigurationChange"];

/// The checks of an SDK AppError (fixed id, 500, `where` = the hook) applied by the host.
fn sdk_error_checks(hook: &str) -> Vec<(&'static str, Json)> {
    let error = behaviour::sdk_error(hook);
    vec![
        ("error.id", error["id"].clone()),
        ("error.status_code", json!(500)),
        ("error.where", json!(hook)),
    ]
}

fn behaviour_cases(subject: Plugin) -> Vec<Case> {
    use crate::ground;
    let batch = std::sync::Arc::new(AppliedBatch {
        subject,
        requests: std::sync::Mutex::default(),
        result: crate::support::SharedResult::default(),
    });
    let case = |name: &str,
                hook: &'static str,
                summary: &str,
                mut ground: Vec<String>,
                req: Json,
                checks: Vec<(&'static str, Json)>| {
        ground.extend(ground::hook(hook));
        applied_case(&batch, name, hook, summary, ground, req, checks)
    };
    let rejected = |reason: &str| vec![("rejected", json!(true)), ("reason", json!(reason))];
    let raised = |hook: &str| {
        vec![
            ground::sdk_runner(),
            ground::client(&format!("hooksGRPCClient.{hook} (gRPC error branch)")),
        ]
    };
    let config = |site_name: &str| {
        json!({"new_config": {"config_json": b64(&json!({
            "ServiceSettings": {"SiteURL": "http://conformance.test"},
            "TeamSettings": {"SiteName": site_name},
        }).to_string())}})
    };
    // The SDK's fixed AppError of a hook answering `fail-me` in-band.
    let fail_case = |hook: &'static str, req: Json| {
        case(
            "fail",
            hook,
            &format!(
                "a failure {hook} answers in-band (the SDK's AppError {}, 500) reaches the host as that AppError",
                behaviour::sdk_error(hook)["id"]
                    .as_str()
                    .unwrap_or_default()
            ),
            vec![
                ground::client("appErrorFromProto"),
                ground::behaviour(&format!("{hook} fail-me")),
            ],
            req,
            sdk_error_checks(hook),
        )
    };
    // A handler that raises: the plugin answers a status, the host takes its failure branch.
    let plain_error = |hook: &'static str, req: Json| {
        case(
            "raise",
            hook,
            &format!(
                "a {hook} handler that raises fails the call, and the host returns a plain error (not an AppError)"
            ),
            raised(hook),
            req,
            vec![("error.id", Json::Null), ("failed", json!(true))],
        )
    };
    let mut cases = vec![
        case(
            "reject",
            "MessageWillBePosted",
            "a post containing reject-me is rejected with the plugin's reason",
            vec![ground::behaviour("MessageWillBePosted reject-me")],
            json!({"post": {"id": "p1", "message": "please reject-me"}}),
            rejected(behaviour::REJECTION),
        ),
        case(
            "dismiss",
            "MessageWillBePosted",
            "a rejection with Mattermost's dismiss constant reaches the host as that reason",
            vec![
                "mattermost server/public/plugin/hooks.go DismissPostError".into(),
                ground::behaviour("MessageWillBePosted dismiss-me"),
            ],
            json!({"post": {"id": "p1", "message": "dismiss-me"}}),
            rejected(behaviour::DISMISS_POST_ERROR),
        ),
        case(
            "modify",
            "MessageWillBePosted",
            "a post containing modify-me is replaced by the plugin's post, which carries no props (postFromProto has none)",
            vec![
                ground::client("postFromProto"),
                ground::behaviour("MessageWillBePosted modify-me"),
            ],
            json!({"post": {"id": "p1", "message": "modify-me", "props": {"a": "b"}}}),
            vec![
                ("rejected", json!(false)),
                ("result.message", json!("modify-me [modified]")),
                ("result.id", json!("p1")),
                ("result.props", Json::Null),
            ],
        ),
        case(
            "pass",
            "MessageWillBePosted",
            "a plain post passes unchanged",
            vec![ground::behaviour("MessageWillBePosted")],
            json!({"post": {"id": "p1", "message": "hello"}}),
            vec![
                ("rejected", json!(false)),
                ("result.message", json!("hello")),
            ],
        ),
        case(
            "raise",
            "MessageWillBePosted",
            "a handler that raises lets the post through unchanged (fail open)",
            raised("MessageWillBePosted"),
            json!({"post": {"id": "p1", "message": "raise-me"}}),
            vec![
                ("failed", json!(true)),
                ("rejected", json!(false)),
                ("result.message", json!("raise-me")),
            ],
        ),
        case(
            "reject",
            "MessageWillBeUpdated",
            "an edit containing reject-me is rejected",
            vec![ground::behaviour("MessageWillBeUpdated reject-me")],
            json!({"new_post": {"message": "reject-me"}, "old_post": {"message": "before"}}),
            rejected(behaviour::REJECTION),
        ),
        case(
            "modify",
            "MessageWillBeUpdated",
            "an edit containing modify-me is replaced",
            vec![ground::behaviour("MessageWillBeUpdated modify-me")],
            json!({"new_post": {"message": "modify-me"}, "old_post": {"message": "before"}}),
            vec![("result.message", json!("modify-me [modified]"))],
        ),
        case(
            "raise",
            "MessageWillBeUpdated",
            "a handler that raises lets the edit through unchanged (fail open)",
            raised("MessageWillBeUpdated"),
            json!({"new_post": {"message": "raise-me"}, "old_post": {"message": "before"}}),
            vec![
                ("failed", json!(true)),
                ("rejected", json!(false)),
                ("result.message", json!("raise-me")),
            ],
        ),
        case(
            "reject",
            "FileWillBeUploaded",
            "an upload named reject-me is rejected",
            vec![ground::behaviour("FileWillBeUploaded reject-me")],
            json!({"file_info": {"name": "reject-me.txt"}, "file_content": "aGk="}),
            rejected(behaviour::REJECTION),
        ),
        case(
            "modify",
            "FileWillBeUploaded",
            "an upload named modify-me gets the plugin's name and content",
            vec![
                ground::client(
                    "hooksGRPCClient.FileWillBeUploaded (modified_content written when not empty)",
                ),
                ground::behaviour("FileWillBeUploaded modify-me"),
            ],
            json!({"file_info": {"name": "modify-me.txt"}, "file_content": "aGk="}),
            vec![
                ("rejected", json!(false)),
                ("result.name", json!("modified-modify-me.txt")),
                ("content", json!(b64(behaviour::MODIFIED_CONTENT))),
            ],
        ),
        case(
            "raise",
            "FileWillBeUploaded",
            "a handler that raises lets the upload through unchanged (fail open)",
            raised("FileWillBeUploaded"),
            json!({"file_info": {"name": "raise-me.txt"}, "file_content": "aGk="}),
            vec![
                ("failed", json!(true)),
                ("rejected", json!(false)),
                ("result.name", json!("raise-me.txt")),
                ("content", json!("aGk=")),
            ],
        ),
        case(
            "reject",
            "NotificationWillBePushed",
            "a push notification containing reject-me is rejected",
            vec![ground::behaviour("NotificationWillBePushed reject-me")],
            json!({"push_notification": {"message": "reject-me"}, "user_id": "u1"}),
            rejected(behaviour::REJECTION),
        ),
        case(
            "modify",
            "NotificationWillBePushed",
            "a push notification containing modify-me is replaced",
            vec![ground::behaviour("NotificationWillBePushed modify-me")],
            json!({"push_notification": {"message": "modify-me", "badge": "3"}, "user_id": "u1"}),
            vec![
                ("result.message", json!("modify-me [modified]")),
                ("result.badge", json!("3")),
            ],
        ),
        case(
            "raise",
            "NotificationWillBePushed",
            "a handler that raises lets the notification through unchanged (fail open)",
            raised("NotificationWillBePushed"),
            json!({"push_notification": {"message": "raise-me"}, "user_id": "u1"}),
            vec![
                ("failed", json!(true)),
                ("rejected", json!(false)),
                ("result.message", json!("raise-me")),
            ],
        ),
        case(
            "reject",
            "EmailNotificationWillBeSent",
            "an email notification containing reject-me is rejected",
            vec![ground::behaviour("EmailNotificationWillBeSent reject-me")],
            json!({"email_notification": {"notification_json": b64(r#"{"post_id":"p","subject":"reject-me"}"#)}}),
            rejected(behaviour::REJECTION),
        ),
        case(
            "modify",
            "EmailNotificationWillBeSent",
            "an email notification containing modify-me gets the plugin's subject",
            vec![
                ground::client("emailNotificationContentFromProto"),
                ground::behaviour("EmailNotificationWillBeSent modify-me"),
            ],
            json!({"email_notification": {"notification_json": b64(r#"{"post_id":"p","subject":"modify-me"}"#)}}),
            vec![("result.subject", json!(behaviour::MODIFIED_CONTENT))],
        ),
        case(
            "raise",
            "EmailNotificationWillBeSent",
            "a handler that raises leaves the email as it was (no rejection)",
            raised("EmailNotificationWillBeSent"),
            json!({"email_notification": {"notification_json": b64(r#"{"post_id":"p","subject":"raise-me"}"#)}}),
            vec![("failed", json!(true)), ("rejected", json!(false))],
        ),
        case(
            "blocked",
            "UserWillLogIn",
            "the login of user blocked is rejected",
            vec![ground::behaviour("UserWillLogIn")],
            json!({"user": {"username": "blocked"}}),
            rejected(behaviour::LOGIN_REJECTION),
        ),
        case(
            "allowed",
            "UserWillLogIn",
            "any other login is allowed",
            vec![ground::behaviour("UserWillLogIn")],
            json!({"user": {"username": "alice"}}),
            vec![("rejected", json!(false))],
        ),
        case(
            "raise",
            "UserWillLogIn",
            "a handler that raises lets the login go ahead (fail open)",
            raised("UserWillLogIn"),
            json!({"user": {"username": "raise-me"}}),
            vec![("failed", json!(true)), ("rejected", json!(false))],
        ),
        case(
            "reject",
            "ConfigurationWillBeSaved",
            "a configuration the plugin refuses is refused with the SDK's AppError (500)",
            vec![
                ground::client("appErrorFromProto"),
                ground::behaviour("ConfigurationWillBeSaved reject-me"),
            ],
            config("reject-me"),
            sdk_error_checks("ConfigurationWillBeSaved"),
        ),
        case(
            "modify",
            "ConfigurationWillBeSaved",
            "a configuration containing modify-me is replaced by the plugin's",
            vec![ground::behaviour("ConfigurationWillBeSaved modify-me")],
            config("modify-me"),
            vec![(
                "modified_config.config_json",
                json!(b64(&json!({
                    "ServiceSettings": {"SiteURL": "http://conformance.test"},
                    "TeamSettings": {"SiteName": behaviour::MODIFIED_CONTENT},
                })
                .to_string())),
            )],
        ),
        plain_error("ConfigurationWillBeSaved", config("raise-me")),
        case(
            "echo",
            "ExecuteCommand",
            "/echo TEXT answers TEXT as an ephemeral response",
            vec![
                ground::client("commandResponseFromProto"),
                ground::behaviour("ExecuteCommand"),
            ],
            json!({"args": {"command": "/echo hello there"}}),
            vec![
                ("response.text", json!("hello there")),
                ("response.response_type", json!("ephemeral")),
                ("error", Json::Null),
            ],
        ),
        case(
            "unknown",
            "ExecuteCommand",
            "an unknown command makes the handler raise, and the host answers its own AppError plugin.grpc.execute_command.error (500)",
            raised("ExecuteCommand"),
            json!({"args": {"command": "/nosuch"}}),
            vec![
                ("failed", json!(true)),
                ("error.id", json!("plugin.grpc.execute_command.error")),
                ("error.status_code", json!(500)),
                ("error.where", json!("ExecuteCommand")),
                ("response", Json::Null),
            ],
        ),
        case(
            "count",
            "RunDataRetention",
            "the deleted count the plugin reports reaches the host",
            vec![ground::behaviour("RunDataRetention")],
            json!({"now_time": 1_700_000_000_000i64, "batch_size": 50}),
            vec![("deleted_count", json!(100))],
        ),
        {
            let mut checks = sdk_error_checks("RunDataRetention");
            checks.push(("deleted_count", Json::Null));
            case(
                "fail",
                "RunDataRetention",
                "a refused batch reaches the host as the SDK's AppError, and no count with it",
                vec![
                    ground::client("hooksGRPCClient.RunDataRetention (error returns 0)"),
                    ground::behaviour("RunDataRetention negative batch"),
                ],
                json!({"now_time": 1_700_000_000_000i64, "batch_size": -1}),
                checks,
            )
        },
        fail_case("OnSAMLLogin", json!({"user": {"username": "fail-me"}})),
        plain_error("OnSAMLLogin", json!({"user": {"username": "raise-me"}})),
        fail_case("OnInstall", json!({"event": {"user_id": "fail-me"}})),
        plain_error("OnInstall", json!({"event": {"user_id": "raise-me"}})),
        fail_case(
            "OnSharedChannelsAttachmentSyncMsg",
            json!({"post": {"message": "fail-me"}}),
        ),
        fail_case(
            "OnSharedChannelsProfileImageSyncMsg",
            json!({"user": {"username": "fail-me"}}),
        ),
        fail_case(
            "OnSharedChannelsSyncMsg",
            json!({"remote_cluster": {"name": "fail-me"}}),
        ),
        case(
            "sync",
            "OnSharedChannelsSyncMsg",
            "the plugin's sync response reaches the host",
            vec![
                ground::client("syncResponseFromProto"),
                ground::behaviour("OnSharedChannelsSyncMsg"),
            ],
            json!({"remote_cluster": {"name": "remote"}}),
            vec![
                ("response.users_syncd", json!(["conformance"])),
                ("response.users_last_update_at", json!(1)),
            ],
        ),
        fail_case(
            "GenerateSupportData",
            json!({"plugin_context": {"request_id": "fail-me"}}),
        ),
        case(
            "files",
            "GenerateSupportData",
            "the plugin's support file reaches the host",
            vec![ground::behaviour("GenerateSupportData")],
            json!({}),
            vec![("files.0.filename", json!("conformance.txt"))],
        ),
        case(
            "healthy",
            "OnSharedChannelsPing",
            "a healthy answer reaches the host",
            vec![ground::behaviour("OnSharedChannelsPing")],
            json!({"remote_cluster": {"name": "remote"}}),
            vec![("healthy", json!(true))],
        ),
        case(
            "unhealthy",
            "OnSharedChannelsPing",
            "an unhealthy answer reaches the host",
            vec![ground::behaviour("OnSharedChannelsPing fail-me")],
            json!({"remote_cluster": {"name": "fail-me"}}),
            vec![("healthy", json!(false))],
        ),
        case(
            "raise",
            "OnSharedChannelsPing",
            "a handler that raises makes the remote unhealthy",
            raised("OnSharedChannelsPing"),
            json!({"remote_cluster": {"name": "raise-me"}}),
            vec![("failed", json!(true)), ("healthy", json!(false))],
        ),
        case(
            "modifies-each",
            "MessagesWillBeConsumed",
            "every consumed post comes back modified, in order",
            vec![ground::behaviour("MessagesWillBeConsumed")],
            json!({"posts": [{"message": "a"}, {"message": "b"}]}),
            vec![
                ("posts.0.message", json!("a [consumed]")),
                ("posts.1.message", json!("b [consumed]")),
            ],
        ),
        case(
            "empty-keeps",
            "MessagesWillBeConsumed",
            "an empty answer list keeps the original posts (the client cannot tell it from no answer)",
            vec![
                ground::client("hooksGRPCClient.MessagesWillBeConsumed (resp.Posts != nil)"),
                ground::behaviour("MessagesWillBeConsumed drop-me"),
            ],
            json!({"posts": [{"message": "a"}, {"message": "drop-me"}]}),
            vec![
                ("posts.0.message", json!("a")),
                ("posts.1.message", json!("drop-me")),
            ],
        ),
        case(
            "raise",
            "MessagesWillBeConsumed",
            "a handler that raises leaves the posts as they were",
            raised("MessagesWillBeConsumed"),
            json!({"posts": [{"message": "raise-me"}]}),
            vec![
                ("failed", json!(true)),
                ("posts.0.message", json!("raise-me")),
            ],
        ),
        case(
            "raise",
            "MessageHasBeenPosted",
            "a notification hook whose handler raises fails the call; the host only logs it",
            raised("MessageHasBeenPosted"),
            json!({"post": {"message": "raise-me"}}),
            vec![("error", Json::Null), ("failed", json!(true))],
        ),
    ];
    // OnDeactivate and OnConfigurationChange carry nothing a marker could sit in: the
    // batch's plugin is configured to fail them (the SDK embeds a raised exception of
    // these two as its AppError in a gRPC-OK answer).
    for hook in FAIL_HOOKS {
        cases.push(case(
            "fail",
            hook,
            &format!(
                "{hook} configured to fail answers the SDK's AppError, which reaches the host"
            ),
            vec![
                ground::client("appErrorFromProto"),
                ground::behaviour(&format!("{hook} fail_hooks")),
            ],
            json!({}),
            sdk_error_checks(hook),
        ));
    }
    cases
}

/// `hooks/<Hook>/multi-*`: the hooks the application runs across plugins, with two fake
/// conformance plugins through the reference host's [`run_multi_plugin_hook`].
///
/// [`run_multi_plugin_hook`]: conformance_core::supervisor::multi::run_multi_plugin_hook
fn multi_plugin_cases() -> Vec<Case> {
    crate::multi_hooks::scenarios()
        .into_iter()
        .map(|scenario| {
            let scenario = std::sync::Arc::new(scenario);
            let s = scenario.clone();
            Case::new(
                &format!("hooks/{}/{}", scenario.hook, scenario.name),
                Level::Must,
                "SPEC §11.6",
                scenario.summary,
                move |ctx| {
                    let scenario = s.clone();
                    async move {
                        let first = conformance_plugin()
                            .plugin_id("com.mattermost.conformance.first")
                            .write(&ctx.scratch.join("first"))
                            .map_err(anyhow::Error::msg)?;
                        let second = conformance_plugin()
                            .plugin_id("com.mattermost.conformance.second")
                            .option("hooks", scenario.second_hooks())
                            .write(&ctx.scratch.join("second"))
                            .map_err(anyhow::Error::msg)?;
                        let mut running = Vec::new();
                        for bundle in [&first, &second] {
                            match conformance_core::supervisor::start(
                                &bundle.dir,
                                HostConfig::default(),
                            )
                            .await
                            {
                                Ok(p) => running.push(p),
                                Err(f) => {
                                    ctx.check("plugin started", "started", f.to_string(), false);
                                    for p in running {
                                        p.shutdown().await;
                                    }
                                    return Ok(());
                                }
                            }
                        }
                        let mut activated = true;
                        for p in running.iter_mut() {
                            if let Err(e) = p.activate().await {
                                ctx.check("activated", "activated", e.to_string(), false);
                                activated = false;
                            }
                        }
                        if activated {
                            let plugins: Vec<(String, &RunningPlugin)> = running
                                .iter()
                                .zip([&first, &second])
                                .map(|(p, b)| (b.plugin_id.clone(), p))
                                .collect();
                            let request = scenario.request()?;
                            match conformance_core::supervisor::multi::run_multi_plugin_hook(
                                &plugins,
                                scenario.hook,
                                &request,
                            )
                            .await
                            {
                                Ok(outcome) => {
                                    let mut seen = seen_requests(&first, scenario.hook);
                                    seen.extend(seen_requests(&second, scenario.hook));
                                    crate::multi_hooks::check(&ctx, &scenario, &outcome, &seen);
                                }
                                Err(e) => {
                                    ctx.check("the run", "an outcome", e, false);
                                }
                            }
                        }
                        for p in running {
                            shutdown_checked(&ctx, p).await;
                        }
                        Ok(())
                    }
                },
            )
            .provenance(scenario.provenance())
        })
        .collect()
}

fn lifecycle_cases() -> Vec<Case> {
    vec![
        Case::new(
            "hooks/Implemented/error-refuses-start",
            Level::Must,
            "SPEC §11.4, §12",
            "an AppError answered to Implemented fails the plugin's start, and OnActivate is never called",
            |ctx| async move {
                let (bundle, mut plugin) = start_ok(
                    &ctx,
                    conformance_plugin().option("implemented_error", "true"),
                    HostConfig::default(),
                )
                .await?;
                let result = plugin.activate().await;
                ctx.check(
                    "start refused",
                    "failed to query implemented hooks: <the AppError>",
                    format!("{result:?}"),
                    matches!(&result, Err(e) if e.to_string().contains("failed to query implemented hooks")
                        && e.to_string().contains("conformance.implemented.refused")),
                );
                ctx.eq("OnActivate calls", 0, seen_requests(&bundle, "OnActivate").len());
                shutdown_checked(&ctx, plugin).await;
                Ok(())
            },
        )
        .provenance(vec![
            crate::ground::client("newHooksGRPCClient, hooksGRPCClient.Implemented (resp.error → appErrorFromProto)"),
        ]),
        Case::new(
            "hooks/ServeMetrics/not-called",
            Level::Must,
            "SPEC §11.2, §11.4",
            "the metrics endpoint never reaches a gRPC plugin: 404 when it does not list ServeMetrics, 501 when it does",
            |ctx| async move {
                for (i, (hooks, expected)) in [
                    ("OnActivate", (404, "404 page not found")),
                    ("OnActivate,ServeMetrics", (501, "ServeMetrics not yet implemented for gRPC plugins")),
                ]
                .into_iter()
                .enumerate()
                {
                    let bundle = conformance_plugin()
                        .option("hooks", hooks)
                        .write(&ctx.scratch.join(format!("b{i}")))
                        .map_err(anyhow::Error::msg)?;
                    let plugin = conformance_core::supervisor::start(&bundle.dir, HostConfig::default())
                        .await
                        .map_err(|f| anyhow::anyhow!("the plugin did not start: {f}"))?;
                    let (bundle, plugin) = activate(&ctx, bundle, plugin).await?;
                    ctx.eq(&format!("listed {hooks}"), expected, plugin.serve_metrics());
                    ctx.eq(
                        &format!("listed {hooks}: the plugin was asked nothing but Implemented and OnActivate"),
                        2,
                        observed(&bundle, |e| matches!(e, Observed::HookCall { .. }).then_some(())).len(),
                    );
                    shutdown_checked(&ctx, plugin).await;
                }
                Ok(())
            },
        )
        .provenance(vec![crate::ground::client(
            "hooksGRPCClient.ServeMetrics; init (hookNameToId gets ServeMetrics)",
        )]),
        Case::new(
            "hooks/OnDeactivate/capped-at-environment-shutdown",
            Level::Must,
            "SPEC §9.1, §12",
            "when the environment shuts down, an OnDeactivate that does not answer is given up at the cap and the plugin is stopped anyway",
            |ctx| async move {
                let cap = Duration::from_secs(1);
                let config = HostConfig {
                    deactivate_cap: cap,
                    ..HostConfig::default()
                };
                let (bundle, plugin) = activated(
                    &ctx,
                    conformance_plugin().option("hang_hooks", "OnDeactivate"),
                    config,
                )
                .await?;
                let pid = plugin.pid;
                let (outcome, report) = plugin.deactivate_at_environment_shutdown(cap).await;
                ctx.check(
                    "OnDeactivate given up at the cap",
                    format!("TimedOut({cap:?})"),
                    outcome.describe(),
                    matches!(outcome, HookOutcome::TimedOut(d) if d == cap),
                );
                ctx.eq("the plugin saw OnDeactivate", 1, seen_requests(&bundle, "OnDeactivate").len());
                ctx.eq("the process is gone", false, conformance_core::process::is_running(pid));
                ctx.note(format!("shutdown: {report:?}"));
                Ok(())
            },
        )
        .provenance(vec![crate::ground::environment(
            "Environment.Shutdown (OnDeactivate raced against 10 s, then supervisor.Shutdown)",
        )]),
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
                    "refused with plugin.on_activate.error",
                    format!("{result:?}"),
                    matches!(&result, Err(e) if e.to_string().contains("plugin.on_activate.error")),
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
    let mut cases = plugin_cases(Plugin::Python);
    crate::ground::fill(&mut cases);
    cases
}

pub fn cases() -> Vec<Case> {
    let mut cases = plugin_cases(Plugin::Fake);
    cases.extend(lifecycle_cases());
    cases.extend(multi_plugin_cases());
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
    crate::ground::fill(&mut cases);
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
    fn every_hook_case_names_its_upstream_ground() {
        let mut all = cases();
        all.extend(python_cases());
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("plugin.json"),
            r#"{"id": "com.example.x", "server": {"executable": "plugin.py"},
                "props": {"conformance_behaviour": "v2"}}"#,
        )
        .unwrap();
        all.extend(
            crate::plugin_check::cases(dir.path())
                .into_iter()
                .filter(|c| {
                    c.name.starts_with("plugin/hooks/") || c.name.starts_with("plugin/behaviour/")
                }),
        );
        let without: Vec<&str> = all
            .iter()
            .filter(|c| c.provenance.is_empty())
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(without, Vec::<&str>::new());
        assert!(all.len() > 200, "{}", all.len());
    }

    #[test]
    fn every_hook_is_covered_and_removing_one_is_caught() {
        let mut names: BTreeSet<String> = cases().iter().map(|c| c.name.clone()).collect();
        assert_eq!(uncovered_hooks(&names), Vec::<String>::new());
        names.retain(|n| !n.starts_with("hooks/OnInstall/"));
        assert_eq!(uncovered_hooks(&names), vec!["OnInstall".to_string()]);
    }
}
