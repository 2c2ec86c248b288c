//! One case per unary `PluginHooks` rpc (`plugin/hooks/<Hook>`): skipped when the plugin
//! does not list the hook; otherwise the hook gets a fully populated request and its
//! answer's shape is checked against the contract (SPEC §10.2, §11).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use conformance_core::behaviour::{message_of, to_json};
use conformance_core::requestgen::populate;
use conformance_core::runner::{Case, Ctx, Level};
use conformance_core::supervisor::RunningPlugin;
use conformance_core::supervisor::hooks::{HookOutcome, failure_rule};
use prost_reflect::{DynamicMessage, ReflectMessage, Value};
use serde_json::Value as Json;

use super::{activated, case, clip, finish, record_answer};

/// Hooks whose answer may reject with `rejection_reason` (SPEC §10.2, hooks.tsv
/// `result_channel`), with the field of their replacement object (if any).
const REJECTING: &[(&str, Option<&str>)] = &[
    ("MessageWillBePosted", Some("modified_post")),
    ("MessageWillBeUpdated", Some("modified_post")),
    ("FileWillBeUploaded", Some("modified_file_info")),
    ("NotificationWillBePushed", Some("modified_notification")),
    ("EmailNotificationWillBeSent", Some("modified_content")),
    ("UserWillLogIn", None),
];

pub(super) fn cases(bundle: &Arc<PathBuf>) -> Vec<Case> {
    pluginapi_proto::hooks::HOOK_RPCS
        .iter()
        .map(|(name, _)| *name)
        // Implemented is plugin/implemented/*; ServeHTTP is a stream (plugin/serve-http/*).
        .filter(|name| *name != "Implemented" && *name != "ServeHTTP")
        .map(|hook| {
            case(
                bundle,
                &format!("hooks/{hook}"),
                Level::Must,
                "SPEC §10.2, §11, hooks.tsv",
                &format!(
                    "if listed, {hook} answers a fully populated request within the deadline with a well-formed {hook}Response, or fails it with a non-OK status (the SDK's error path: a handler that raises; the host then takes its failure branch), never UNIMPLEMENTED"
                ),
                move |ctx, bundle| hook_case(ctx, bundle, hook),
            )
            .timeout(super::HOOK_CASE_TIMEOUT)
        })
        .collect()
}

async fn hook_case(ctx: Ctx, bundle: Arc<PathBuf>, hook: &'static str) -> anyhow::Result<()> {
    let (plugin, activation) = activated(&ctx, &bundle).await?;
    if !activation.implemented.contains(hook) {
        ctx.skip(&format!(
            "{hook} is not implemented by the plugin (not listed by Implemented)"
        ));
        finish(&ctx, plugin).await;
        return Ok(());
    }
    let desc = message_of(hook, "Request").expect("every hook has a request message");
    let (label, request, outcome) = if hook == "OnActivate" {
        // The host calls OnActivate once, at activation: judge that answer.
        ctx.note("OnActivate as called by the host at activation (empty request)");
        (
            "at activation",
            DynamicMessage::new(desc),
            activation.on_activate.clone(),
        )
    } else {
        let mut request = populate(&desc, hook);
        if hook == "ExecuteCommand" {
            request = command_request(&ctx, &plugin, request);
        }
        let started = Instant::now();
        let outcome = plugin.call_hook(hook, request.clone()).await;
        ctx.note(format!(
            "{hook} with a fully populated request: {:.1} ms",
            started.elapsed().as_secs_f64() * 1000.0
        ));
        ("fully populated", request, outcome)
    };
    record_answer(&ctx, hook, label, &request, &outcome);
    check_answer(&ctx, hook, &outcome);
    finish(&ctx, plugin).await;
    Ok(())
}

/// An ExecuteCommand request for a command the plugin registered (at activation, through
/// the PluginAPI), so that a plugin which only answers its own commands gets one of them.
fn command_request(ctx: &Ctx, plugin: &RunningPlugin, request: DynamicMessage) -> DynamicMessage {
    let Some((trigger, team)) = plugin.registered_commands().into_iter().next() else {
        ctx.note("the plugin registered no command: ExecuteCommand gets a made-up one");
        return request;
    };
    ctx.note(format!(
        "ExecuteCommand runs /{trigger}, which the plugin registered"
    ));
    let mut json = to_json(&request);
    json["args"]["command"] = Json::String(format!("/{trigger}"));
    if !team.is_empty() {
        json["args"]["team_id"] = Json::String(team);
    }
    DynamicMessage::deserialize(request.descriptor(), json).unwrap_or(request)
}

/// The shape checks of one hook answer.
pub(super) fn check_answer(ctx: &Ctx, hook: &str, outcome: &HookOutcome) {
    let response_type = format!("mattermost.pluginapi.v1.{hook}Response");
    let answer = match outcome {
        HookOutcome::Answered(answer) => answer,
        HookOutcome::Failed { code, message } if format!("{code:?}") != "Unimplemented" => {
            ctx.check(
                "answered or failed with a status",
                format!("a {response_type}, or a non-OK status other than UNIMPLEMENTED"),
                format!("{code:?}: {}", clip(message.clone())),
                true,
            );
            ctx.note(format!(
                "the plugin failed the call (the SDK's error path); Mattermost then: {}",
                failure_rule(hook)
            ));
            return;
        }
        other => {
            ctx.check(
                "answered",
                format!("a {response_type}"),
                format!(
                    "{}{}",
                    other.describe(),
                    if matches!(other, HookOutcome::Failed { code, .. } if format!("{code:?}") == "Unimplemented") {
                        " (the plugin lists the hook but does not serve it)"
                    } else {
                        ""
                    }
                ),
                false,
            );
            return;
        }
    };
    ctx.check(
        "answer decodes as the response type",
        &response_type,
        answer.descriptor().full_name(),
        answer.descriptor().full_name() == response_type,
    );
    let json = to_json(answer);
    ctx.note(clip(format!("answer: {json}")));
    let mut unknown = Vec::new();
    unknown_fields(answer, "", &mut unknown);
    if !unknown.is_empty() {
        ctx.note(format!(
            "the answer carries field numbers the contract does not define (the host ignores them; were the \
             stubs generated from another hooks.proto?): {}",
            unknown.join(", ")
        ));
    }
    if let Some(error) = json.get("error") {
        check_app_error(ctx, error);
    }
    if let Some((_, replacement)) = REJECTING.iter().find(|(h, _)| *h == hook) {
        let reason = json
            .get("rejection_reason")
            .and_then(Json::as_str)
            .unwrap_or_default();
        if !reason.is_empty() {
            ctx.check(
                "a rejection has a reason",
                "a non-blank rejection_reason",
                format!("{reason:?}"),
                !reason.trim().is_empty(),
            );
            if let Some(field) = replacement
                && json.get(*field).is_some()
            {
                ctx.note(format!(
                    "the answer rejects and also sets {field}; the host rejects and drops {field}"
                ));
            }
        }
    }
}

/// An AppError in a hook answer: an id and an HTTP status code (SPEC §10.2: the
/// host builds a `model.AppError` from `id`, `status_code`, `where`, ...).
fn check_app_error(ctx: &Ctx, error: &Json) {
    let id = error.get("id").and_then(Json::as_str).unwrap_or_default();
    let status = error
        .get("status_code")
        .and_then(Json::as_i64)
        .unwrap_or_default();
    ctx.note(format!("the answer carries an AppError: {error}"));
    ctx.check(
        "AppError has an id",
        "a non-empty id",
        format!("{id:?}"),
        !id.trim().is_empty(),
    );
    ctx.check(
        "AppError has an HTTP status code",
        "100 to 599",
        status,
        (100..=599).contains(&status),
    );
}

/// Paths of unknown fields (numbers the descriptor does not define), nested included.
fn unknown_fields(message: &DynamicMessage, path: &str, out: &mut Vec<String>) {
    for field in message.unknown_fields() {
        out.push(format!("{path}#{}", field.number()));
    }
    for (field, value) in message.fields() {
        let here = if path.is_empty() {
            field.name().to_string()
        } else {
            format!("{path}.{}", field.name())
        };
        walk_value(value, &here, out);
    }
}

fn walk_value(value: &Value, path: &str, out: &mut Vec<String>) {
    match value {
        Value::Message(m) => unknown_fields(m, path, out),
        Value::List(items) => {
            for (i, item) in items.iter().enumerate() {
                walk_value(item, &format!("{path}.{i}"), out);
            }
        }
        Value::Map(map) => {
            for (key, item) in map {
                walk_value(item, &format!("{path}[{key:?}]"), out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost_reflect::prost;

    #[test]
    fn unknown_field_numbers_are_found_nested() {
        let desc = message_of("MessageWillBePosted", "Response").unwrap();
        // modified_post (field 1) holding a Post with an unknown field 999 (varint 1),
        // next to an unknown top-level field 77.
        let mut post = Vec::new();
        prost::encoding::encode_key(999, prost::encoding::WireType::Varint, &mut post);
        prost::encoding::encode_varint(1, &mut post);
        let mut bytes = Vec::new();
        prost::encoding::bytes::encode(1, &post, &mut bytes);
        prost::encoding::encode_key(77, prost::encoding::WireType::Varint, &mut bytes);
        prost::encoding::encode_varint(5, &mut bytes);
        let m = DynamicMessage::decode(desc, bytes.as_slice()).unwrap();
        let mut out = Vec::new();
        unknown_fields(&m, "", &mut out);
        assert_eq!(
            out,
            vec!["#77".to_string(), "modified_post#999".to_string()]
        );
    }
}
