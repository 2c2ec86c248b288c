//! The conformance plugin behaviour of `fixtures/plugins/BEHAVIOUR.md`, over dynamic
//! messages: given a hook and its request, the response a conformance plugin gives. The
//! fake interpreter's `conformance-plugin` mode answers with it, and the hooks suite uses
//! it to know what a plugin must have answered.

use base64::Engine as _;
use prost_reflect::{DynamicMessage, MessageDescriptor, ReflectMessage, Value};
use serde_json::{Value as Json, json};

/// Markers that select a behaviour when they appear in a field the hook's handler
/// receives (never in `context`, which Mattermost's hook client does not send).
pub const REJECT: &str = "reject-me";
pub const MODIFY: &str = "modify-me";
/// The hook answers its in-band error (the SDK's fixed AppError, or an unhealthy ping).
pub const FAIL: &str = "fail-me";
/// The handler raises: the plugin answers a non-OK gRPC status (the SDK's error path).
pub const RAISE: &str = "raise-me";
/// MessageWillBePosted/Updated reject with Mattermost's dismiss constant.
pub const DISMISS: &str = "dismiss-me";
/// MessagesWillBeConsumed answers an empty list.
pub const DROP: &str = "drop-me";
/// A request containing this is never answered (for deadline cases).
pub const HANG: &str = "hang-me";

/// The rejection reason of the message, file and notification filters.
pub const REJECTION: &str = "rejected by the conformance plugin";
/// The rejection reason of UserWillLogIn.
pub const LOGIN_REJECTION: &str = "user blocked by the conformance plugin";
/// The replacement content of FileWillBeUploaded, the subject of a modified email and
/// the site name of a modified configuration.
pub const MODIFIED_CONTENT: &str = "modified by the conformance plugin";
/// Mattermost's `plugin.DismissPostError` (server/public/plugin/hooks.go): a rejection with
/// this reason dismisses the post silently.
pub const DISMISS_POST_ERROR: &str = "plugin.message_will_be_posted.dismiss_post";

/// Hooks that answer `fail-me` with the SDK's fixed AppError (`plugin.<snake>.error`, 500).
const ERROR_HOOKS: &[&str] = &[
    "OnInstall",
    "OnSAMLLogin",
    "OnSharedChannelsAttachmentSyncMsg",
    "OnSharedChannelsProfileImageSyncMsg",
    "OnSharedChannelsSyncMsg",
    "GenerateSupportData",
];

/// Hooks whose request carries nothing a marker could sit in: the configuration's
/// `fail_hooks` and `hang_hooks` choose their behaviour. In the upstream SDK these are also
/// the hooks whose raised exception becomes an AppError in a gRPC-OK answer.
pub const CONFIGURED_HOOKS: &[&str] = &["OnActivate", "OnDeactivate", "OnConfigurationChange"];

/// What the runner configures a conformance plugin with (`conformance.json`).
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// What `Implemented` answers.
    pub hooks: Vec<String>,
    /// OnActivate answers its AppError.
    pub fail_activate: bool,
    /// OnDeactivate / OnConfigurationChange named here answer their AppError.
    pub fail_hooks: Vec<String>,
    /// Hooks named here are never answered.
    pub hang_hooks: Vec<String>,
    /// Not in BEHAVIOUR.md (an SDK cannot do it): `Implemented` answers an AppError
    /// (the fake interpreter's `implemented_error` option, for host cases).
    pub implemented_error: bool,
}

impl Settings {
    /// Every hook listed (`"all"`), nothing failing.
    pub fn all() -> Self {
        Settings {
            hooks: listed_hooks(),
            ..Settings::default()
        }
    }
}

/// What a conformance plugin does with a hook call.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A gRPC-OK answer.
    Answer(DynamicMessage),
    /// The handler raised: a non-OK status (INTERNAL) with this message.
    Raise(String),
    /// No answer at all.
    Hang,
}

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

/// Whether a field the hook's handler receives contains `marker`: anything but the
/// top-level `context` (SPEC §11.5: Mattermost never sends it, and the SDK never hands it
/// to a handler).
pub fn handler_sees(request: &DynamicMessage, marker: &str) -> bool {
    let mut visible = request.clone();
    visible.clear_field_by_name("context");
    contains_marker(&visible, marker)
}

/// A message in canonical proto3 JSON (the JSON mapping's defaults: lowerCamelCase names,
/// 64-bit integers as strings, default values left out), as answer snapshots keep it.
pub fn canonical_json(message: &DynamicMessage) -> Json {
    message
        .serialize_with_options(
            serde_json::value::Serializer,
            &prost_reflect::SerializeOptions::new(),
        )
        .unwrap_or(Json::Null)
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

/// `OnSAMLLogin` → `on_saml_login`, as the SDK names its hooks' AppError ids.
pub fn snake_case(hook: &str) -> String {
    let chars: Vec<char> = hook.chars().collect();
    let mut out = String::new();
    for (i, c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let prev_lower = i > 0 && chars[i - 1].is_ascii_lowercase();
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            let prev_upper = i > 0 && chars[i - 1].is_ascii_uppercase();
            if i > 0 && (prev_lower || (prev_upper && next_lower)) {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(*c);
        }
    }
    out
}

/// The AppError the upstream SDK answers for a failed `hook` (fixed id, 500, `where` = the
/// hook; python-sdk `servicers/hooks_servicer.py` `_make_app_error`).
pub fn sdk_error(hook: &str) -> Json {
    let id = match hook {
        "ConfigurationWillBeSaved" => "plugin.configuration_will_be_saved.rejected".to_string(),
        _ => format!("plugin.{}.error", snake_case(hook)),
    };
    json!({"id": id, "message": format!("the conformance plugin failed {hook} on request"),
           "status_code": 500, "where": hook})
}

/// Standard base64, as proto3 JSON writes bytes.
pub fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn append_message(mut post: Json, suffix: &str) -> Json {
    let message = post["message"].as_str().unwrap_or_default().to_string();
    post["message"] = Json::String(format!("{message}{suffix}"));
    post
}

/// The configuration JSON of a ConfigurationWillBeSaved request (empty object when none).
fn config_of(request: &DynamicMessage) -> Json {
    let raw = request
        .get_field_by_name("new_config")
        .and_then(|c| {
            c.as_message()
                .and_then(|m| m.get_field_by_name("config_json"))
                .and_then(|v| v.as_bytes().map(|b| b.to_vec()))
        })
        .unwrap_or_default();
    serde_json::from_slice(&raw).unwrap_or_else(|_| json!({}))
}

/// What the conformance plugin does with `request` (`fixtures/plugins/BEHAVIOUR.md`).
pub fn respond(hook: &str, request: &DynamicMessage, settings: &Settings) -> Result<Reply, String> {
    let desc = message_of(hook, "Response").ok_or_else(|| format!("no hook {hook}"))?;
    let req = to_json(request);
    let has = |m: &str| handler_sees(request, m);
    if settings.hang_hooks.iter().any(|h| h == hook) || has(HANG) {
        return Ok(Reply::Hang);
    }
    if !CONFIGURED_HOOKS.contains(&hook) && hook != "Implemented" && has(RAISE) {
        return Ok(Reply::Raise(format!("{RAISE} in {hook}")));
    }
    let response = match hook {
        "Implemented" if settings.implemented_error => json!({"error": {
            "id": "conformance.implemented.refused", "message": "Implemented refused by configuration",
            "status_code": 500, "where": "Implemented"}}),
        "Implemented" => json!({ "hooks": settings.hooks }),
        "OnActivate" if settings.fail_activate => json!({ "error": sdk_error(hook) }),
        "OnDeactivate" | "OnConfigurationChange"
            if settings.fail_hooks.iter().any(|h| h == hook) =>
        {
            json!({ "error": sdk_error(hook) })
        }
        h if ERROR_HOOKS.contains(&h) && has(FAIL) => json!({ "error": sdk_error(hook) }),
        "RunDataRetention" => match req["batch_size"].as_i64().unwrap_or(0) {
            n if n < 0 => json!({ "error": sdk_error(hook) }),
            n => json!({ "deleted_count": n * 2 }),
        },
        "ConfigurationWillBeSaved" => {
            if has(REJECT) {
                json!({ "error": sdk_error(hook) })
            } else if has(MODIFY) {
                let mut config = config_of(request);
                if !config.is_object() {
                    config = json!({});
                }
                if !config["TeamSettings"].is_object() {
                    config["TeamSettings"] = json!({});
                }
                config["TeamSettings"]["SiteName"] = json!(MODIFIED_CONTENT);
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
            } else if has(DISMISS) {
                json!({ "rejection_reason": DISMISS_POST_ERROR })
            } else if has(MODIFY) {
                json!({"modified_post": append_message(req[field].clone(), " [modified]")})
            } else {
                json!({})
            }
        }
        "MessagesWillBeConsumed" if has(DROP) => json!({ "posts": [] }),
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
                // The SDK's way to fail a command: raise (its handler cannot answer an
                // AppError of its own).
                None => return Ok(Reply::Raise(format!("unknown command {command:?}"))),
            }
        }
        "OnSharedChannelsSyncMsg" => {
            json!({"response": {"users_syncd": ["conformance"], "users_last_update_at": 1}})
        }
        "OnSharedChannelsPing" => json!({ "healthy": !has(FAIL) }),
        "GenerateSupportData" => json!({"files": [
            {"filename": "conformance.txt", "data": b64("conformance support data")}
        ]}),
        _ => json!({}),
    };
    from_json(desc, response)
        .map(Reply::Answer)
        .map_err(|e| format!("building the {hook} response: {e}"))
}

/// A fully populated request of `hook` with no marker (strings start with `tag`) that the
/// behaviour answers in-band: an ExecuteCommand request runs `/echo`.
pub fn populated(hook: &str, tag: &str) -> Option<DynamicMessage> {
    let desc = message_of(hook, "Request")?;
    let mut request = crate::requestgen::populate(&desc, tag);
    if hook == "ExecuteCommand" {
        let mut json = to_json(&request);
        json["args"]["command"] = json!(format!("/echo {tag}"));
        request = DynamicMessage::deserialize(desc, json).ok()?;
    }
    Some(request)
}

/// The hook names a plugin can list in `Implemented`: every rpc but `Implemented` itself
/// (an SDK plugin never lists it; upstream's host never gates it).
pub fn listed_hooks() -> Vec<String> {
    all_hooks()
        .into_iter()
        .filter(|h| h != "Implemented")
        .collect()
}

/// Every hook name, in contract order.
pub fn all_hooks() -> Vec<String> {
    pluginapi_proto::hooks::HOOK_RPCS
        .iter()
        .map(|(n, _)| n.to_string())
        .collect()
}

/// What a conformance plugin does with `request` under the runner's settings (every hook
/// listed), as JSON for checks: `Ok(answer)`, or `Err(why)` when it raises (or hangs).
pub fn expected_json(hook: &str, request: &DynamicMessage) -> Result<Json, String> {
    match respond(hook, request, &Settings::all()) {
        Ok(Reply::Answer(m)) => Ok(to_json(&m)),
        Ok(Reply::Raise(why)) => Err(why),
        Ok(Reply::Hang) => Err("no answer".into()),
        Err(e) => Err(e),
    }
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

    fn answer(hook: &str, r: &DynamicMessage) -> Json {
        expected_json(hook, r).expect("an answer")
    }

    #[test]
    fn every_hook_has_a_response() {
        for hook in all_hooks() {
            if hook == "ServeHTTP" {
                continue;
            }
            let req = DynamicMessage::new(message_of(&hook, "Request").unwrap());
            assert!(respond(&hook, &req, &Settings::all()).is_ok(), "{hook}");
        }
    }

    #[test]
    fn markers_in_the_handlers_fields_choose_the_answer_and_context_is_ignored() {
        let post = |m: &str| request("MessageWillBePosted", json!({"post": {"message": m}}));
        assert_eq!(answer("MessageWillBePosted", &post("hi")), json!({}));
        assert_eq!(
            answer("MessageWillBePosted", &post("please reject-me"))["rejection_reason"],
            REJECTION
        );
        assert_eq!(
            answer("MessageWillBePosted", &post("dismiss-me"))["rejection_reason"],
            DISMISS_POST_ERROR
        );
        assert_eq!(
            answer("MessageWillBePosted", &post("modify-me"))["modified_post"]["message"],
            "modify-me [modified]"
        );
        let in_context = request(
            "MessageWillBePosted",
            json!({"context": {"request_id": "reject-me"}, "post": {"message": "hi"}}),
        );
        assert_eq!(answer("MessageWillBePosted", &in_context), json!({}));
        assert!(expected_json("MessageWillBePosted", &post("raise-me")).is_err());
        let config = request(
            "ConfigurationWillBeSaved",
            json!({"new_config": {"config_json": b64(r#"{"TeamSettings":{"SiteName":"modify-me"}}"#)}}),
        );
        let modified = answer("ConfigurationWillBeSaved", &config);
        let raw = base64::engine::general_purpose::STANDARD
            .decode(modified["modified_config"]["config_json"].as_str().unwrap())
            .unwrap();
        let json: Json = serde_json::from_slice(&raw).unwrap();
        assert_eq!(json["TeamSettings"]["SiteName"], MODIFIED_CONTENT);
        let cmd = |c: &str| request("ExecuteCommand", json!({"args": {"command": c}}));
        assert_eq!(
            answer("ExecuteCommand", &cmd("/echo hi there"))["response"]["text"],
            "hi there"
        );
        assert!(expected_json("ExecuteCommand", &cmd("/nosuch")).is_err());
        let consumed = request(
            "MessagesWillBeConsumed",
            json!({"posts": [{"message": "a"}, {"message": "drop-me"}]}),
        );
        assert_eq!(answer("MessagesWillBeConsumed", &consumed), json!({}));
    }

    #[test]
    fn errors_take_the_sdks_fixed_ids() {
        assert_eq!(snake_case("OnSAMLLogin"), "on_saml_login");
        assert_eq!(
            snake_case("OnSharedChannelsProfileImageSyncMsg"),
            "on_shared_channels_profile_image_sync_msg"
        );
        assert_eq!(snake_case("GenerateSupportData"), "generate_support_data");
        let install = request("OnInstall", json!({"event": {"user_id": "fail-me"}}));
        assert_eq!(
            answer("OnInstall", &install)["error"]["id"],
            "plugin.on_install.error"
        );
        let retention = request("RunDataRetention", json!({"batch_size": -1}));
        assert_eq!(
            answer("RunDataRetention", &retention)["error"]["id"],
            "plugin.run_data_retention.error"
        );
        let settings = Settings {
            fail_hooks: vec!["OnDeactivate".into()],
            fail_activate: true,
            ..Settings::all()
        };
        let empty = |h: &str| DynamicMessage::new(message_of(h, "Request").unwrap());
        for (hook, id) in [
            ("OnDeactivate", "plugin.on_deactivate.error"),
            ("OnActivate", "plugin.on_activate.error"),
        ] {
            let Ok(Reply::Answer(m)) = respond(hook, &empty(hook), &settings) else {
                panic!("{hook} answers");
            };
            assert_eq!(to_json(&m)["error"]["id"], id);
            assert_eq!(to_json(&m)["error"]["status_code"], 500);
        }
        assert!(!listed_hooks().contains(&"Implemented".to_string()));
        assert_eq!(listed_hooks().len(), 41);
    }
}
