//! The conformance plugin behaviour of `fixtures/plugins/BEHAVIOUR.md`, over dynamic
//! messages: given a hook and its request, the response a conformance plugin gives. The
//! fake interpreter's `conformance-plugin` mode answers with it, and the hooks suite uses
//! it to know what a plugin must have answered.

use base64::Engine as _;
use prost_reflect::{DynamicMessage, MessageDescriptor, ReflectMessage, Value};
use serde_json::{Value as Json, json};

/// Markers that select a behaviour when they appear anywhere in a request.
pub const REJECT: &str = "reject-me";
pub const MODIFY: &str = "modify-me";
pub const FAIL: &str = "fail-me";
/// A request containing this is never answered (for deadline cases).
pub const HANG: &str = "hang-me";

/// The rejection reason of the message, file and notification filters.
pub const REJECTION: &str = "rejected by the conformance plugin";
/// The rejection reason of UserWillLogIn.
pub const LOGIN_REJECTION: &str = "user blocked by the conformance plugin";
/// The replacement content of FileWillBeUploaded and the subject of a modified email.
pub const MODIFIED_CONTENT: &str = "modified by the conformance plugin";

/// Hooks whose only result is `AppError error = 1`.
const ERROR_HOOKS: &[&str] = &[
    "OnDeactivate",
    "OnConfigurationChange",
    "OnInstall",
    "OnSAMLLogin",
    "OnSharedChannelsAttachmentSyncMsg",
    "OnSharedChannelsProfileImageSyncMsg",
];

/// The request or response descriptor of a hook.
pub fn message_of(hook: &str, suffix: &str) -> Option<MessageDescriptor> {
    pluginapi_proto::descriptor_pool()
        .get_message_by_name(&format!("mattermost.pluginapi.v1.{hook}{suffix}"))
}

/// Whether any string, or any byte field read as UTF-8, of `message` contains `marker`.
pub fn contains_marker(message: &DynamicMessage, marker: &str) -> bool {
    fn value_has(v: &Value, marker: &str) -> bool {
        match v {
            Value::String(s) => s.contains(marker),
            Value::Bytes(b) => String::from_utf8_lossy(b).contains(marker),
            Value::Message(m) => contains_marker(m, marker),
            Value::List(items) => items.iter().any(|i| value_has(i, marker)),
            Value::Map(map) => map.iter().any(|(k, v)| {
                matches!(k, prost_reflect::MapKey::String(s) if s.contains(marker))
                    || value_has(v, marker)
            }),
            _ => false,
        }
    }
    message.fields().any(|(_, value)| value_has(value, marker))
}

/// A message as proto3 JSON (proto field names, 64-bit integers as numbers).
pub fn to_json(message: &DynamicMessage) -> Json {
    let options = prost_reflect::SerializeOptions::new()
        .stringify_64_bit_integers(false)
        .use_proto_field_name(true);
    message
        .serialize_with_options(serde_json::value::Serializer, &options)
        .unwrap_or(Json::Null)
}

fn from_json(desc: MessageDescriptor, json: Json) -> Result<DynamicMessage, String> {
    DynamicMessage::deserialize(desc, json).map_err(|e| e.to_string())
}

fn app_error(id: &str, status: i32, hook: &str, message: &str) -> Json {
    json!({"id": id, "message": message, "status_code": status, "where": hook})
}

fn failed(hook: &str) -> Json {
    app_error(
        &format!("conformance.{}.failed", hook.to_lowercase()),
        500,
        hook,
        "the request asked the conformance plugin to fail",
    )
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn append_message(mut post: Json, suffix: &str) -> Json {
    let message = post["message"].as_str().unwrap_or_default().to_string();
    post["message"] = Json::String(format!("{message}{suffix}"));
    post
}

/// What the conformance plugin answers. `hooks` is its `Implemented` list.
pub fn respond(
    hook: &str,
    request: &DynamicMessage,
    hooks: &[String],
    fail_activate: bool,
) -> Result<DynamicMessage, String> {
    let desc = message_of(hook, "Response").ok_or_else(|| format!("no hook {hook}"))?;
    let req = to_json(request);
    let has = |m: &str| contains_marker(request, m);
    let response = match hook {
        "Implemented" => json!({ "hooks": hooks }),
        "OnActivate" if fail_activate => json!({"error": app_error(
            "conformance.activate.refused", 500, hook, "activation refused by configuration")}),
        "OnActivate" => json!({}),
        h if ERROR_HOOKS.contains(&h) => {
            if has(FAIL) {
                json!({ "error": failed(hook) })
            } else {
                json!({})
            }
        }
        "RunDataRetention" if has(FAIL) => json!({ "error": failed(hook) }),
        "RunDataRetention" => {
            json!({"deleted_count": req["batch_size"].as_i64().unwrap_or(0) * 2})
        }
        "ConfigurationWillBeSaved" => {
            if has(REJECT) {
                json!({"error": app_error("conformance.config.rejected", 400, hook,
                    "configuration rejected by the conformance plugin")})
            } else if has(MODIFY) {
                let raw = request
                    .get_field_by_name("new_config")
                    .and_then(|c| {
                        c.as_message()
                            .and_then(|m| m.get_field_by_name("config_json"))
                            .and_then(|v| v.as_bytes().map(|b| b.to_vec()))
                    })
                    .unwrap_or_default();
                let mut config: Json = serde_json::from_slice(&raw).unwrap_or_else(|_| json!({}));
                if let Some(obj) = config.as_object_mut() {
                    obj.insert("ConformanceModified".into(), Json::Bool(true));
                }
                json!({"modified_config": {"config_json": b64(&config.to_string())}})
            } else {
                json!({})
            }
        }
        "MessageWillBePosted" | "MessageWillBeUpdated" => {
            let field = if hook == "MessageWillBePosted" {
                "post"
            } else {
                "new_post"
            };
            if has(REJECT) {
                json!({ "rejection_reason": REJECTION })
            } else if has(MODIFY) {
                json!({"modified_post": append_message(req[field].clone(), " [modified]")})
            } else {
                json!({})
            }
        }
        "MessagesWillBeConsumed" => {
            let posts: Vec<Json> = req["posts"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(|p| append_message(p, " [consumed]"))
                .collect();
            json!({ "posts": posts })
        }
        "FileWillBeUploaded" => {
            if has(REJECT) {
                json!({ "rejection_reason": REJECTION })
            } else if has(MODIFY) {
                let mut info = req["file_info"].clone();
                let name = info["name"].as_str().unwrap_or_default().to_string();
                info["name"] = Json::String(format!("modified-{name}"));
                json!({"modified_file_info": info, "modified_content": b64(MODIFIED_CONTENT)})
            } else {
                json!({})
            }
        }
        "NotificationWillBePushed" => {
            if has(REJECT) {
                json!({ "rejection_reason": REJECTION })
            } else if has(MODIFY) {
                json!({"modified_notification":
                    append_message(req["push_notification"].clone(), " [modified]")})
            } else {
                json!({})
            }
        }
        "EmailNotificationWillBeSent" => {
            if has(REJECT) {
                json!({ "rejection_reason": REJECTION })
            } else if has(MODIFY) {
                json!({"modified_content": {"subject": MODIFIED_CONTENT}})
            } else {
                json!({})
            }
        }
        "UserWillLogIn" => {
            if req["user"]["username"] == "blocked" || has(REJECT) {
                json!({ "rejection_reason": LOGIN_REJECTION })
            } else {
                json!({})
            }
        }
        "ExecuteCommand" => {
            let command = req["args"]["command"].as_str().unwrap_or_default();
            match command.strip_prefix("/echo ") {
                Some(text) => {
                    json!({"response": {"text": text, "response_type": "ephemeral"}})
                }
                None => json!({"error": app_error("conformance.command.unknown", 404, hook,
                    &format!("unknown command {command:?}"))}),
            }
        }
        "OnSharedChannelsSyncMsg" if has(FAIL) => json!({ "error": failed(hook) }),
        "OnSharedChannelsSyncMsg" => {
            json!({"response": {"users_syncd": ["conformance"], "users_last_update_at": 1}})
        }
        "OnSharedChannelsPing" => json!({ "healthy": !has(FAIL) }),
        "GenerateSupportData" => json!({"files": [
            {"filename": "conformance.txt", "data": b64("conformance support data")}
        ]}),
        _ => json!({}),
    };
    from_json(desc, response).map_err(|e| format!("building the {hook} response: {e}"))
}

/// Every hook name, in contract order.
pub fn all_hooks() -> Vec<String> {
    pluginapi_proto::hooks::HOOK_RPCS
        .iter()
        .map(|(n, _)| n.to_string())
        .collect()
}

/// The response a request would get, as JSON, for checks.
pub fn expected_json(hook: &str, request: &DynamicMessage) -> Json {
    respond(hook, request, &all_hooks(), false)
        .map(|m| to_json(&m))
        .unwrap_or(Json::Null)
}

/// Decodes a typed message into a dynamic one of the same type.
pub fn dynamic_of(message: &impl prost::Message, desc: MessageDescriptor) -> DynamicMessage {
    DynamicMessage::decode(desc, message.encode_to_vec().as_slice())
        .expect("a message decodes as its own type")
}

/// The descriptor of a dynamic message's type, by name, for readers of this module.
pub fn type_name(message: &DynamicMessage) -> String {
    message.descriptor().full_name().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(hook: &str, json: Json) -> DynamicMessage {
        from_json(message_of(hook, "Request").unwrap(), json).unwrap()
    }

    #[test]
    fn every_hook_has_a_response() {
        for hook in all_hooks() {
            if hook == "ServeHTTP" {
                continue;
            }
            let req = DynamicMessage::new(message_of(&hook, "Request").unwrap());
            assert!(respond(&hook, &req, &all_hooks(), false).is_ok(), "{hook}");
        }
    }

    #[test]
    fn markers_choose_the_answer() {
        let post = |m: &str| request("MessageWillBePosted", json!({"post": {"message": m}}));
        let answer =
            |r: &DynamicMessage| to_json(&respond("MessageWillBePosted", r, &[], false).unwrap());
        assert_eq!(answer(&post("hi")), json!({}));
        assert_eq!(
            answer(&post("please reject-me"))["rejection_reason"],
            REJECTION
        );
        assert_eq!(
            answer(&post("modify-me"))["modified_post"]["message"],
            "modify-me [modified]"
        );
        let config = request(
            "ConfigurationWillBeSaved",
            json!({"new_config": {"config_json": b64(r#"{"modify-me":1}"#)}}),
        );
        let modified = to_json(&respond("ConfigurationWillBeSaved", &config, &[], false).unwrap());
        let raw = base64::engine::general_purpose::STANDARD
            .decode(modified["modified_config"]["config_json"].as_str().unwrap())
            .unwrap();
        let json: Json = serde_json::from_slice(&raw).unwrap();
        assert_eq!(json["ConformanceModified"], true);
        let cmd = request(
            "ExecuteCommand",
            json!({"args": {"command": "/echo hi there"}}),
        );
        assert_eq!(
            to_json(&respond("ExecuteCommand", &cmd, &[], false).unwrap())["response"]["text"],
            "hi there"
        );
    }
}
