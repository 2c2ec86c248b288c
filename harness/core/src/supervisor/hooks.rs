//! The reference host's hook client (SPEC §11, §12): `Implemented` at activation
//! (30 s deadline), then `OnActivate` only if listed; afterwards a hook is called only
//! when the plugin listed it, with a per-hook deadline, and the host applies the answer
//! (or, for an unlisted or failed hook, upstream's default) as [`apply`] describes.

use std::collections::BTreeSet;
use std::time::Duration;

use prost_reflect::DynamicMessage;
use serde_json::{Value as Json, json};

use super::RunningPlugin;
use crate::apicase::dynamic::DynamicCodec;
use crate::behaviour::{message_of, to_json};
use crate::mutants::{self, Protocol};

/// Deadline of the `Implemented` call at activation.
pub const IMPLEMENTED_DEADLINE: Duration = Duration::from_secs(30);

/// What one hook call came to.
#[derive(Debug, Clone)]
pub enum HookOutcome {
    /// Not listed by `Implemented`: the host did not call it.
    NotCalled,
    Answered(DynamicMessage),
    /// The call failed (a gRPC status or a transport error).
    Failed {
        code: tonic::Code,
        message: String,
    },
    /// No answer within the hook deadline.
    TimedOut(Duration),
}

impl HookOutcome {
    pub fn describe(&self) -> String {
        match self {
            HookOutcome::NotCalled => "not called (not listed by Implemented)".into(),
            HookOutcome::Answered(m) => format!("answered {}", to_json(m)),
            HookOutcome::Failed { code, message } => format!("failed: {code:?}: {message}"),
            HookOutcome::TimedOut(d) => format!("no answer within the {d:?} hook deadline"),
        }
    }
}

/// What activation found.
#[derive(Debug, Clone)]
pub struct Activation {
    /// The names the plugin listed that the host knows.
    pub implemented: BTreeSet<String>,
    /// Listed names that are not hooks of the contract (logged and ignored, as upstream).
    pub unknown: Vec<String>,
    /// `OnActivate`'s outcome (NotCalled when unlisted).
    pub on_activate: HookOutcome,
}

/// Why activation failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ActivationError {
    #[error("Implemented failed: {0}")]
    Implemented(String),
    #[error("OnActivate refused activation: {0}")]
    Refused(String),
    #[error("OnActivate failed: {0}")]
    OnActivate(String),
}

async fn call_raw(
    channel: tonic::transport::Channel,
    hook: &str,
    mut request: DynamicMessage,
    deadline: Duration,
) -> HookOutcome {
    mutants::mutate_hook_request(hook, &mut request);
    // What Mattermost's hook client sends of it (SPEC §11.5).
    let request = crate::conveyance::convey_request(hook, &request);
    let Some(response) = message_of(hook, "Response") else {
        return HookOutcome::Failed {
            code: tonic::Code::Internal,
            message: format!("no hook {hook}"),
        };
    };
    let response_descriptor = response.clone();
    let mut grpc = tonic::client::Grpc::new(channel)
        .max_decoding_message_size(usize::MAX)
        .max_encoding_message_size(usize::MAX);
    let path: tonic::codegen::http::uri::PathAndQuery =
        match format!("/mattermost.pluginapi.v1.PluginHooks/{hook}").parse() {
            Ok(p) => p,
            Err(e) => {
                return HookOutcome::Failed {
                    code: tonic::Code::Internal,
                    message: e.to_string(),
                };
            }
        };
    let call = async {
        grpc.ready()
            .await
            .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
        grpc.unary(
            tonic::Request::new(request),
            path,
            DynamicCodec { response },
        )
        .await
    };
    match tokio::time::timeout(deadline, call).await {
        Err(_) => HookOutcome::TimedOut(deadline),
        Ok(Ok(_)) if mutants::ignores_answer_of(hook) => {
            HookOutcome::Answered(DynamicMessage::new(response_descriptor))
        }
        // What Mattermost's hook client hands its caller of the answer.
        Ok(Ok(r)) => HookOutcome::Answered(crate::conveyance::convey_answer(hook, &r.into_inner())),
        Ok(Err(s)) => HookOutcome::Failed {
            code: s.code(),
            message: s.message().to_string(),
        },
    }
}

impl RunningPlugin {
    /// `Implemented` (30 s), then `OnActivate` if listed; a non-empty `error` from
    /// `OnActivate` aborts activation. The configuration change hook is not called here:
    /// upstream's gRPC path does not guarantee it before `OnActivate` (SPEC §12),
    /// and this host does not either.
    pub async fn activate(&mut self) -> Result<Activation, ActivationError> {
        let (implemented, unknown) = self.fetch_implemented().await?;
        let on_activate = self
            .call_hook(
                "OnActivate",
                DynamicMessage::new(message_of("OnActivate", "Request").expect("hook")),
            )
            .await;
        match &on_activate {
            HookOutcome::Answered(m) => {
                let json = to_json(m);
                if let Some(e) = json.get("error") {
                    return Err(ActivationError::Refused(e.to_string()));
                }
            }
            HookOutcome::NotCalled => {}
            other => return Err(ActivationError::OnActivate(other.describe())),
        }
        Ok(Activation {
            implemented: implemented.into_iter().collect(),
            unknown,
            on_activate,
        })
    }

    /// `Implemented` (30 s): records the listed hooks the host knows (from now on only
    /// those are called) and returns them with the listed names that are not hooks.
    pub async fn fetch_implemented(
        &mut self,
    ) -> Result<(BTreeSet<String>, Vec<String>), ActivationError> {
        let request = DynamicMessage::new(message_of("Implemented", "Request").expect("hook"));
        let deadline = self.deadline(IMPLEMENTED_DEADLINE);
        let answer = match call_raw(self.channel(), "Implemented", request, deadline).await {
            HookOutcome::Answered(m) => to_json(&m),
            other => return Err(ActivationError::Implemented(other.describe())),
        };
        // An AppError fails the start (newHooksGRPCClient: "failed to query implemented
        // hooks").
        if let Some(error) = answer.get("error") {
            return Err(ActivationError::Implemented(format!(
                "failed to query implemented hooks: {error}"
            )));
        }
        // Every rpc, and ServeMetrics, which has none but which upstream's hook client
        // registers a name for (its init()).
        let mut known: BTreeSet<String> = crate::behaviour::all_hooks().into_iter().collect();
        known.insert(SERVE_METRICS.to_string());
        let listed: Vec<String> = answer["hooks"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|h| h.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let (implemented, unknown): (Vec<String>, Vec<String>) =
            listed.into_iter().partition(|h| known.contains(h));
        let implemented: BTreeSet<String> = implemented.into_iter().collect();
        self.implemented = Some(implemented.clone());
        Ok((implemented, unknown))
    }

    /// Deactivates and stops the plugin: `OnDeactivate` (if listed; its error is only
    /// informational, SPEC §12) while the PluginAPI is still up, then the
    /// shutdown sequence.
    pub async fn deactivate_and_shutdown(self) -> (HookOutcome, super::ShutdownReport) {
        let on_deactivate = self
            .call_hook("OnDeactivate", on_deactivate_request())
            .await;
        (on_deactivate, self.shutdown().await)
    }

    /// What the host's metrics endpoint answers for this plugin: Mattermost's hook client
    /// never calls a gRPC plugin for it (there is no rpc), answering 404 when the plugin
    /// did not list `ServeMetrics` and 501 when it did (`hooksGRPCClient.ServeMetrics`).
    pub fn serve_metrics(&self) -> (u16, &'static str) {
        if self.implements(SERVE_METRICS) {
            (501, "ServeMetrics not yet implemented for gRPC plugins")
        } else {
            (404, "404 page not found")
        }
    }

    /// Deactivates and stops the plugin as Mattermost's environment does when the server
    /// shuts down (`Environment.Shutdown`): OnDeactivate gets at most `cap` (upstream: 10 s),
    /// after which the plugin is stopped whether it answered or not.
    pub async fn deactivate_at_environment_shutdown(
        self,
        cap: Duration,
    ) -> (HookOutcome, super::ShutdownReport) {
        let call = self.call_hook("OnDeactivate", on_deactivate_request());
        let on_deactivate = match tokio::time::timeout(cap, call).await {
            Ok(outcome) => outcome,
            Err(_) => {
                tracing::warn!(plugin = %self.plan.manifest.id, "Plugin OnDeactivate() failed to complete in {cap:?}");
                HookOutcome::TimedOut(cap)
            }
        };
        (on_deactivate, self.shutdown().await)
    }

    /// Starts the ServeHTTP bridge for this plugin on a free loopback port.
    pub async fn start_http_bridge(&self) -> std::io::Result<crate::http_bridge::HttpBridge> {
        crate::http_bridge::HttpBridge::start(
            std::net::SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, 0)),
            crate::http_bridge::Route {
                plugin_id: self.plan.manifest.id.clone(),
                channel: self.channel(),
                implemented: self.implements("ServeHTTP"),
            },
        )
        .await
    }

    /// Whether the plugin listed `hook` (false before activation).
    pub fn implements(&self, hook: &str) -> bool {
        self.implemented.as_ref().is_some_and(|s| s.contains(hook))
    }

    /// The deadline the host keeps for a call that should take at most `deadline` (ten
    /// times more for a host that deviates by `hook-deadline-ignored`).
    fn deadline(&self, deadline: Duration) -> Duration {
        if self.config.deviates(Protocol::HookDeadlineIgnored) {
            deadline * 10
        } else {
            deadline
        }
    }

    /// Calls a unary hook if the plugin listed it, with the configured hook deadline.
    pub async fn call_hook(&self, hook: &str, request: DynamicMessage) -> HookOutcome {
        // Implemented is how the host learns what is listed: never gated.
        if hook != "Implemented"
            && !self.implements(hook)
            && !self.config.deviates(Protocol::ImplementedIgnored)
        {
            return HookOutcome::NotCalled;
        }
        let deadline = self.deadline(self.config.hook_deadline);
        call_raw(self.channel(), hook, request, deadline).await
    }
}

/// OnDeactivate's request: empty, as Mattermost sends it.
fn on_deactivate_request() -> DynamicMessage {
    DynamicMessage::new(message_of("OnDeactivate", "Request").expect("OnDeactivate is a hook"))
}

/// The hook name upstream's hook client knows without an rpc (SPEC §11.4).
pub const SERVE_METRICS: &str = "ServeMetrics";

/// What Mattermost does when a call of `hook` fails (a non-OK status or the deadline), by
/// its hook client `server/public/plugin/hooks_grpc_client.go` (SPEC §10.3): the branch a
/// plugin that raises in its handler takes.
pub fn failure_rule(hook: &str) -> &'static str {
    match hook {
        "Implemented" => "the plugin does not start (failed to query implemented hooks)",
        "OnActivate" => "activation fails and the plugin is stopped",
        "OnDeactivate" | "OnConfigurationChange" => "the error is logged; nothing else changes",
        "MessageWillBePosted"
        | "MessageWillBeUpdated"
        | "FileWillBeUploaded"
        | "NotificationWillBePushed" => "the object passes unchanged (fail open)",
        "UserWillLogIn" => "the login goes ahead (fail open)",
        "MessagesWillBeConsumed" => "the original posts are used",
        "EmailNotificationWillBeSent" => "the email is sent unchanged",
        "ExecuteCommand" => {
            "the command fails with AppError plugin.grpc.execute_command.error (500)"
        }
        "OnSharedChannelsPing" => "the remote is taken as unhealthy",
        "RunDataRetention" => "no deletions are counted and the job gets the error",
        "ConfigurationWillBeSaved" => "the configuration is not saved; the caller gets the error",
        "OnInstall"
        | "OnSAMLLogin"
        | "OnSharedChannelsSyncMsg"
        | "OnSharedChannelsAttachmentSyncMsg"
        | "OnSharedChannelsProfileImageSyncMsg"
        | "GenerateSupportData" => "the caller gets a plain error (gRPC <Hook> call failed)",
        _ => "the error is logged; nothing else changes",
    }
}

/// Hooks whose answer is a possibly modified object or a rejection: `(hook, request field,
/// response replacement field)`. A failure fails open (the original object, no rejection).
const FILTERS: &[(&str, &str, &str)] = &[
    ("MessageWillBePosted", "post", "modified_post"),
    ("MessageWillBeUpdated", "new_post", "modified_post"),
    ("FileWillBeUploaded", "file_info", "modified_file_info"),
    (
        "NotificationWillBePushed",
        "push_notification",
        "modified_notification",
    ),
    (
        "EmailNotificationWillBeSent",
        "email_notification",
        "modified_content",
    ),
];

/// What the host does with a hook's outcome, as JSON:
/// * filters: `{"rejected", "reason", "result"}` (result = replacement or original);
/// * `UserWillLogIn`: `{"rejected", "reason"}`;
/// * `MessagesWillBeConsumed`: `{"posts"}`;
/// * `OnSharedChannelsPing`: `{"healthy"}`;
/// * `ExecuteCommand`: `{"error", "response"}`;
/// * other hooks with an `error` field: `{"error"}` plus their result field;
/// * void hooks: `{}`.
///
/// plus `"called"` (the plugin was called) and `"failed"` (the call failed) always. Unlisted hooks get upstream's defaults (nil error, unchanged
/// object, healthy ping, no command response); failures follow SPEC §10.3.
pub fn apply(hook: &str, request: &DynamicMessage, outcome: &HookOutcome) -> Json {
    let req = to_json(request);
    let answer = match outcome {
        HookOutcome::Answered(m) => Some(to_json(m)),
        _ => None,
    };
    let failure = match outcome {
        HookOutcome::Failed { code, message } => Some(format!("{code:?}: {message}")),
        HookOutcome::TimedOut(d) => Some(format!("deadline of {d:?} exceeded")),
        _ => None,
    };
    let called = !matches!(outcome, HookOutcome::NotCalled);
    let field = |name: &str| answer.as_ref().and_then(|a| a.get(name)).cloned();
    let mut out = if let Some((_, input, replacement)) = FILTERS.iter().find(|f| f.0 == hook) {
        let reason = field("rejection_reason").and_then(|r| r.as_str().map(str::to_string));
        let mut out = json!({
            "rejected": reason.as_deref().is_some_and(|r| !r.is_empty()),
            "reason": reason.unwrap_or_default(),
            "result": field(replacement).unwrap_or_else(|| req.get(*input).cloned().unwrap_or(Json::Null)),
        });
        if hook == "FileWillBeUploaded" {
            // Only non-empty content replaces the file (hooks_grpc_client.go writes
            // modified_content to the output only when it has bytes).
            out["content"] = field("modified_content")
                .filter(|c| c.as_str().is_some_and(|c| !c.is_empty()))
                .unwrap_or_else(|| req.get("file_content").cloned().unwrap_or(json!("")));
        }
        out
    } else {
        match hook {
            "UserWillLogIn" => {
                let reason = field("rejection_reason")
                    .and_then(|r| r.as_str().map(str::to_string))
                    .unwrap_or_default();
                json!({"rejected": !reason.is_empty(), "reason": reason})
            }
            // An empty (or absent) list keeps the originals: the client tests the decoded
            // repeated field against nil, and proto3 decodes an empty one as nil.
            "MessagesWillBeConsumed" => json!({
                "posts": field("posts")
                    .filter(|p| p.as_array().is_some_and(|p| !p.is_empty()))
                    .unwrap_or_else(|| req.get("posts").cloned().unwrap_or(json!([])))
            }),
            "OnSharedChannelsPing" => json!({
                "healthy": match &answer {
                    Some(a) => a.get("healthy").and_then(Json::as_bool).unwrap_or(false),
                    None => !called,
                }
            }),
            "ExecuteCommand" => match &failure {
                Some(f) => {
                    json!({"error": {"id": "plugin.grpc.execute_command.error", "status_code": 500,
                                     "where": "ExecuteCommand", "detailed_error": f}, "response": null})
                }
                None if field("error").is_some() => {
                    json!({"error": field("error"), "response": null})
                }
                None => json!({"error": null, "response": field("response")}),
            },
            _ => {
                let mut o = json!({});
                let returns_error = message_of(hook, "Response")
                    .is_some_and(|d| d.get_field_by_name("error").is_some());
                if let Some(f) = &failure {
                    if returns_error {
                        // A plain Go error, not an AppError.
                        o["error"] = json!({"message": format!("gRPC {hook} call failed: {f}")});
                    } else {
                        // Hooks that return nothing only log a failed call.
                        o["logged"] = json!(format!("gRPC {hook} call failed: {f}"));
                    }
                } else if let Some(e) = field("error") {
                    // With an error, the client returns its zero result.
                    o["error"] = e;
                } else {
                    for name in [
                        "deleted_count",
                        "modified_config",
                        "response",
                        "files",
                        "hooks",
                    ] {
                        if let Some(v) = field(name) {
                            o[name] = v;
                        }
                    }
                }
                o
            }
        }
    };
    out["called"] = Json::Bool(called);
    out["failed"] = Json::Bool(failure.is_some());
    out
}
