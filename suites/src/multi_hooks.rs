//! Hooks run across two plugins (SPEC §11.6), as Mattermost's application runs them with
//! `RunMultiPluginHook`: the replacement one plugin returns feeds the next, the first
//! rejection ends the run with the application's AppError, a failed call is passed over,
//! a plugin that does not list the hook is not called, and MessagesWillBeConsumed gives
//! every plugin the original posts. The same scenarios run against the reference host
//! (`hooks/<Hook>/multi-*`) and, through `RunMultiPluginHook`, a driver that declares
//! `multi-plugin-hooks` (`host/hooks/<Hook>/multi-*`).
//!
//! Mattermost's order among plugins is unspecified, so every expectation holds in any
//! order: two identical conformance plugins, and the order-free facts (how many calls,
//! which messages the plugins saw, the final object, the error).

use conformance_core::behaviour::{self, b64, message_of, to_json};
use conformance_core::runner::Ctx;
use conformance_core::supervisor::multi::MultiOutcome;
use prost_reflect::DynamicMessage;
use serde_json::{Value as Json, json};

use crate::ground;

/// One run across two plugins.
pub(crate) struct Scenario {
    /// The case name's last part (`multi-<name>`).
    pub name: &'static str,
    pub hook: &'static str,
    pub summary: &'static str,
    pub request: Json,
    /// Whether the second plugin lists the hook (the first always does).
    pub second_lists: bool,
    /// `(path, expected)` into [`observed`]'s JSON.
    pub checks: Vec<(&'static str, Json)>,
    /// Upstream lines beyond the common ones.
    pub ground: Vec<String>,
}

impl Scenario {
    /// The hooks option of the second plugin's bundle.
    pub fn second_hooks(&self) -> String {
        if self.second_lists {
            format!("OnActivate,{}", self.hook)
        } else {
            "OnActivate".to_string()
        }
    }

    pub fn provenance(&self) -> Vec<String> {
        let mut lines = vec![
            ground::environment("Environment.RunMultiPluginHook"),
            ground::client(&format!("hooksGRPCClient.{}", self.hook)),
        ];
        lines.extend(self.ground.iter().cloned());
        lines
    }

    pub fn request(&self) -> anyhow::Result<DynamicMessage> {
        let desc = message_of(self.hook, "Request")
            .ok_or_else(|| anyhow::anyhow!("no hook {}", self.hook))?;
        Ok(DynamicMessage::deserialize(desc, self.request.clone())?)
    }
}

fn post(message: &str) -> Json {
    json!({"id": "p1", "channel_id": "c1", "user_id": "u1", "message": message})
}

fn create_post() -> String {
    ground::app(
        "post.go",
        "App.CreatePost (RunMultiHook MessageWillBePostedID)",
    )
}

/// Every scenario.
pub(crate) fn scenarios() -> Vec<Scenario> {
    let rejected_post = format!("Post rejected by plugin. {}", behaviour::REJECTION);
    vec![
        Scenario {
            name: "multi-chain",
            hook: "MessageWillBePosted",
            summary: "across two plugins, the second gets the post the first replaced, and the application goes on with the last replacement",
            request: json!({"post": post("modify-me")}),
            second_lists: true,
            checks: vec![
                ("error", Json::Null),
                ("called", json!(2)),
                ("seen", json!(["modify-me", "modify-me [modified]"])),
                (
                    "result.modified_post.message",
                    json!("modify-me [modified] [modified]"),
                ),
                ("result.modified_post.id", json!("p1")),
            ],
            ground: vec![create_post()],
        },
        Scenario {
            name: "multi-first-rejection",
            hook: "MessageWillBePosted",
            summary: "the first rejection ends the run: the other plugin is not called, and the application fails with createPost's AppError \"Post rejected by plugin. <reason>\" (400)",
            request: json!({"post": post("reject-me")}),
            second_lists: true,
            checks: vec![
                ("called", json!(1)),
                ("seen", json!(["reject-me"])),
                ("error.where", json!("createPost")),
                ("error.id", json!(rejected_post.clone())),
                ("error.status_code", json!(400)),
                ("result.modified_post", Json::Null),
            ],
            ground: vec![create_post()],
        },
        Scenario {
            name: "multi-dismiss",
            hook: "MessageWillBePosted",
            summary: "a rejection with the dismiss constant makes the AppError id that constant alone",
            request: json!({"post": post("dismiss-me")}),
            second_lists: true,
            checks: vec![
                ("called", json!(1)),
                ("error.id", json!(behaviour::DISMISS_POST_ERROR)),
                ("error.status_code", json!(400)),
            ],
            ground: vec![
                create_post(),
                "mattermost server/public/plugin/hooks.go DismissPostError".into(),
            ],
        },
        Scenario {
            name: "multi-failed-passed-over",
            hook: "MessageWillBePosted",
            summary: "plugins whose handler raises are passed over: the post goes on unchanged, with no error",
            request: json!({"post": post("raise-me")}),
            second_lists: true,
            checks: vec![
                ("error", Json::Null),
                ("called", json!(2)),
                ("result.modified_post.message", json!("raise-me")),
            ],
            ground: vec![
                create_post(),
                ground::client(
                    "hooksGRPCClient.MessageWillBePosted (gRPC error: the post unchanged)",
                ),
            ],
        },
        Scenario {
            name: "multi-unlisted-not-called",
            hook: "MessageWillBePosted",
            summary: "a plugin that does not list the hook is not called",
            request: json!({"post": post("modify-me")}),
            second_lists: false,
            checks: vec![
                ("called", json!(1)),
                ("seen", json!(["modify-me"])),
                (
                    "result.modified_post.message",
                    json!("modify-me [modified]"),
                ),
            ],
            ground: vec![create_post()],
        },
        Scenario {
            name: "multi-chain",
            hook: "MessageWillBeUpdated",
            summary: "an edit passes through both plugins, each replacement feeding the next",
            request: json!({"new_post": post("modify-me"), "old_post": post("before")}),
            second_lists: true,
            checks: vec![
                ("error", Json::Null),
                ("called", json!(2)),
                (
                    "result.modified_post.message",
                    json!("modify-me [modified] [modified]"),
                ),
            ],
            ground: vec![ground::app(
                "post.go",
                "App.UpdatePost (RunMultiHook MessageWillBeUpdatedID)",
            )],
        },
        Scenario {
            name: "multi-first-rejection",
            hook: "MessageWillBeUpdated",
            summary: "a rejected edit fails with UpdatePost's AppError \"Post rejected by plugin. <reason>\" (400) after one call",
            request: json!({"new_post": post("reject-me"), "old_post": post("before")}),
            second_lists: true,
            checks: vec![
                ("called", json!(1)),
                ("error.where", json!("UpdatePost")),
                ("error.id", json!(rejected_post)),
                ("error.status_code", json!(400)),
            ],
            ground: vec![ground::app(
                "post.go",
                "App.UpdatePost (RunMultiHook MessageWillBeUpdatedID)",
            )],
        },
        Scenario {
            name: "multi-chain",
            hook: "FileWillBeUploaded",
            summary: "an upload passes through both plugins: the second gets the first's file info, the content is the last replacement and the size its length",
            request: json!({"file_info": {"id": "f1", "name": "modify-me.txt", "size": 2},
                            "file_content": b64("hi")}),
            second_lists: true,
            checks: vec![
                ("error", Json::Null),
                ("called", json!(2)),
                (
                    "result.modified_file_info.name",
                    json!("modified-modified-modify-me.txt"),
                ),
                (
                    "result.modified_file_info.size",
                    json!(behaviour::MODIFIED_CONTENT.len()),
                ),
                (
                    "result.modified_content",
                    json!(b64(behaviour::MODIFIED_CONTENT)),
                ),
            ],
            ground: vec![ground::app("file.go", "App.DoUploadFileExpectModification")],
        },
        Scenario {
            name: "multi-first-rejection",
            hook: "FileWillBeUploaded",
            summary: "a rejected upload fails with DoUploadFile's AppError \"File rejected by plugin. <reason>\" (400) after one call",
            request: json!({"file_info": {"name": "reject-me.txt"}, "file_content": b64("hi")}),
            second_lists: true,
            checks: vec![
                ("called", json!(1)),
                ("error.where", json!("DoUploadFile")),
                (
                    "error.id",
                    json!(format!("File rejected by plugin. {}", behaviour::REJECTION)),
                ),
                ("error.status_code", json!(400)),
            ],
            ground: vec![ground::app("file.go", "App.DoUploadFileExpectModification")],
        },
        Scenario {
            name: "multi-first-rejection",
            hook: "UserWillLogIn",
            summary: "a refused login fails with DoLogin's AppError \"Login rejected by plugin: <reason>\" (400) after one call",
            request: json!({"user": {"id": "u1", "username": "blocked"}}),
            second_lists: true,
            checks: vec![
                ("called", json!(1)),
                ("error.where", json!("DoLogin")),
                (
                    "error.id",
                    json!(format!(
                        "Login rejected by plugin: {}",
                        behaviour::LOGIN_REJECTION
                    )),
                ),
                ("error.status_code", json!(400)),
            ],
            ground: vec![ground::app(
                "login.go",
                "App.DoLogin (RunMultiHook UserWillLogInID)",
            )],
        },
        Scenario {
            name: "multi-originals",
            hook: "MessagesWillBeConsumed",
            summary: "every plugin gets the original posts (no chaining), and each returned post replaces the one of its id",
            request: json!({"posts": [post("a"), {"id": "p2", "message": "b"}]}),
            second_lists: true,
            checks: vec![
                ("called", json!(2)),
                ("seen", json!(["a", "a"])),
                ("result.posts.0.message", json!("a [consumed]")),
                ("result.posts.1.message", json!("b [consumed]")),
                ("result.posts.2", Json::Null),
            ],
            ground: vec![ground::app("post.go", "App.applyPostsWillBeConsumedHook")],
        },
    ]
}

/// The first message of what one plugin saw of a call: the post, the edit, the file name,
/// the first consumed post.
fn first_message(hook: &str, request: &Json) -> Json {
    match hook {
        "MessageWillBePosted" => request["post"]["message"].clone(),
        "MessageWillBeUpdated" => request["new_post"]["message"].clone(),
        "FileWillBeUploaded" => request["file_info"]["name"].clone(),
        "MessagesWillBeConsumed" => request["posts"][0]["message"].clone(),
        _ => request["user"]["username"].clone(),
    }
}

/// What a run produced, as the scenarios' checks read it: `result`, `error`, `called`
/// (how many plugins the host called), `seen` (the first message of every call the two
/// plugins report, sorted).
pub(crate) fn observed(hook: &str, outcome: &MultiOutcome, seen: &[Json]) -> Json {
    let mut messages: Vec<Json> = seen.iter().map(|r| first_message(hook, r)).collect();
    messages.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
    json!({
        "result": to_json(&outcome.result),
        "error": outcome.error,
        "called": outcome.called.len(),
        "seen": messages,
    })
}

/// Checks `scenario` against what the run produced.
pub(crate) fn check(ctx: &Ctx, scenario: &Scenario, outcome: &MultiOutcome, seen: &[Json]) {
    let doc = observed(scenario.hook, outcome, seen);
    ctx.note(crate::support::clip(format!("outcome: {doc}")));
    ctx.eq(
        "every call the host made reached a plugin",
        outcome.called.len(),
        seen.len(),
    );
    for (path, expected) in &scenario.checks {
        let got = conformance_core::apicase::lookup(&doc, path)
            .cloned()
            .unwrap_or(Json::Null);
        ctx.check(path, expected, &got, &got == expected);
    }
}
