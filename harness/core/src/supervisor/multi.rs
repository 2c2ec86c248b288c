//! A hook run across several plugins, as Mattermost's application code runs it through
//! `Environment.RunMultiPluginHook` (SPEC §11.6): each plugin that lists the hook in turn,
//! the object each one leaves feeding the next where the application chains, the first
//! rejection ending the run with the application's AppError, a plugin whose call fails
//! passed over. Upstream's order among plugins is unspecified; this host goes in the order
//! it is given.
//!
//! Sources: `server/public/plugin/environment.go` (RunMultiPluginHook);
//! `server/channels/app/post.go` (CreatePost, UpdatePost, applyPostsWillBeConsumedHook);
//! `server/channels/app/file.go` (DoUploadFileExpectModification);
//! `server/channels/app/login.go` (DoLogin); `server/public/plugin/hooks.go`
//! (DismissPostError).

use prost_reflect::DynamicMessage;
use serde::Serialize;
use serde_json::{Value as Json, json};

use super::RunningPlugin;
use super::hooks::HookOutcome;
use crate::behaviour::{DISMISS_POST_ERROR, message_of, to_json};

/// The hooks this runs (the application code paths SPEC §11.6 names).
pub const MULTI_PLUGIN_HOOKS: &[&str] = &[
    "MessageWillBePosted",
    "MessageWillBeUpdated",
    "FileWillBeUploaded",
    "UserWillLogIn",
    "MessagesWillBeConsumed",
];

/// The application's error, as Mattermost builds it (`model.NewAppError`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostError {
    pub r#where: String,
    pub id: String,
    pub status_code: i32,
    pub detailed_error: String,
}

/// What the application goes on with after the run.
#[derive(Debug, Clone)]
pub struct MultiOutcome {
    /// The hook's response message, holding the final object (see driver.proto).
    pub result: DynamicMessage,
    pub error: Option<HostError>,
    /// The plugins called, in order.
    pub called: Vec<String>,
}

impl MultiOutcome {
    /// As JSON: `{"result", "error", "called"}`.
    pub fn to_json(&self) -> Json {
        json!({
            "result": to_json(&self.result),
            "error": self.error,
            "called": self.called,
        })
    }
}

fn rejection(r#where: &str, id: String) -> HostError {
    HostError {
        r#where: r#where.to_string(),
        id,
        status_code: 400,
        detailed_error: String::new(),
    }
}

/// The answer of a plugin's call as JSON; `None` when it was not called or failed.
fn answered(outcome: &HookOutcome) -> Option<Json> {
    match outcome {
        HookOutcome::Answered(m) => Some(to_json(m)),
        _ => None,
    }
}

fn reason_of(answer: &Json) -> Option<String> {
    answer["rejection_reason"]
        .as_str()
        .filter(|r| !r.is_empty())
        .map(str::to_string)
}

/// Runs `hook` with `request` across `plugins` (id, plugin), in that order.
pub async fn run_multi_plugin_hook(
    plugins: &[(String, &RunningPlugin)],
    hook: &str,
    request: &DynamicMessage,
) -> Result<MultiOutcome, String> {
    if !MULTI_PLUGIN_HOOKS.contains(&hook) {
        return Err(format!(
            "{hook} is not run across plugins here (one of {})",
            MULTI_PLUGIN_HOOKS.join(", ")
        ));
    }
    let request_desc = message_of(hook, "Request").ok_or("no request descriptor")?;
    let response_desc = message_of(hook, "Response").ok_or("no response descriptor")?;
    let mut req = to_json(request);
    let mut called = Vec::new();
    let mut error = None;
    // The object being passed along: post, new_post, (file_info, file_content) or posts.
    let original_posts: Vec<Json> = req["posts"].as_array().cloned().unwrap_or_default();
    let mut posts = original_posts.clone();
    for (id, plugin) in plugins {
        if !plugin.implements(hook) {
            continue;
        }
        let message = DynamicMessage::deserialize(request_desc.clone(), req.clone())
            .map_err(|e| format!("{hook} request: {e}"))?;
        let outcome = plugin.call_hook(hook, message).await;
        called.push(id.clone());
        // A failed call is passed over (the hook client fails open for these hooks).
        let Some(answer) = answered(&outcome) else {
            continue;
        };
        match hook {
            "MessageWillBePosted" | "MessageWillBeUpdated" => {
                let field = if hook == "MessageWillBePosted" {
                    "post"
                } else {
                    "new_post"
                };
                if let Some(reason) = reason_of(&answer) {
                    let (r#where, id) = match hook {
                        "MessageWillBePosted" if reason == DISMISS_POST_ERROR => {
                            ("createPost", reason)
                        }
                        "MessageWillBePosted" => {
                            ("createPost", format!("Post rejected by plugin. {reason}"))
                        }
                        _ => ("UpdatePost", format!("Post rejected by plugin. {reason}")),
                    };
                    error = Some(rejection(r#where, id));
                    break;
                }
                if let Some(mut replacement) = answer.get("modified_post").cloned() {
                    // CreatePost gives the replacement the metadata the post had before
                    // the hooks (a gRPC replacement carries none).
                    if hook == "MessageWillBePosted"
                        && let Some(metadata) = req[field].get("metadata").cloned()
                    {
                        replacement["metadata"] = metadata;
                    }
                    req[field] = replacement;
                }
            }
            "FileWillBeUploaded" => {
                if let Some(reason) = reason_of(&answer) {
                    error = Some(rejection(
                        "DoUploadFile",
                        format!("File rejected by plugin. {reason}"),
                    ));
                    break;
                }
                if let Some(info) = answer.get("modified_file_info").cloned() {
                    req["file_info"] = info;
                }
                if let Some(content) = answer["modified_content"]
                    .as_str()
                    .filter(|c| !c.is_empty())
                {
                    use base64::Engine as _;
                    let len = base64::engine::general_purpose::STANDARD
                        .decode(content)
                        .map(|b| b.len())
                        .unwrap_or_default();
                    req["file_content"] = json!(content);
                    if !req["file_info"].is_object() {
                        req["file_info"] = json!({});
                    }
                    req["file_info"]["size"] = json!(len);
                }
            }
            "UserWillLogIn" => {
                if let Some(reason) = reason_of(&answer) {
                    error = Some(rejection(
                        "DoLogin",
                        format!("Login rejected by plugin: {reason}"),
                    ));
                    break;
                }
            }
            // Every plugin sees the original posts; a returned post replaces the entry of
            // its id (or is added); an empty answer changes nothing.
            _ => {
                for returned in answer["posts"].as_array().cloned().unwrap_or_default() {
                    let id = returned["id"].clone();
                    match posts.iter_mut().find(|p| p["id"] == id) {
                        Some(slot) => *slot = returned,
                        None => posts.push(returned),
                    }
                }
            }
        }
    }
    let result = if error.is_some() {
        json!({})
    } else {
        match hook {
            "MessageWillBePosted" => json!({"modified_post": req["post"]}),
            "MessageWillBeUpdated" => json!({"modified_post": req["new_post"]}),
            "FileWillBeUploaded" => json!({
                "modified_file_info": req["file_info"],
                "modified_content": req["file_content"],
            }),
            "MessagesWillBeConsumed" => json!({"posts": posts}),
            _ => json!({}),
        }
    };
    let result = strip_nulls(result);
    let result = DynamicMessage::deserialize(response_desc, result)
        .map_err(|e| format!("{hook} result: {e}"))?;
    Ok(MultiOutcome {
        result,
        error,
        called,
    })
}

/// `result` without null members (a field the request did not have).
fn strip_nulls(mut result: Json) -> Json {
    if let Some(map) = result.as_object_mut() {
        map.retain(|_, v| !v.is_null());
    }
    result
}
