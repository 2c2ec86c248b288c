//! What Mattermost's hook client conveys (SPEC §11.5): which fields of each hook request
//! reach the plugin, and which fields of its answer the host applies, as upstream's
//! `hooks_grpc_client.go` builds requests from its Go models (`postToProto`, ...) and reads
//! answers back (`postFromProto`, `appErrorFromProto`, ...). Upstream never sets `context`,
//! drops what its models do not carry, re-marshals JSON blobs and ignores some answer
//! fields; `fixtures/protocol/hook-request-conveyance.tsv` and
//! `hook-answer-application.tsv` say so field by field, with their sources.
//!
//! The reference host's hook client conveys exactly this ([`convey_request`],
//! [`convey_answer`]), and the host cases use the same tables as their oracle: a field
//! upstream conveys must arrive intact, a field it never sets is not required.

use std::collections::HashMap;
use std::sync::OnceLock;

use prost_reflect::{DynamicMessage, Kind, ReflectMessage, Value};

/// `hook-request-conveyance.tsv`, embedded.
pub const REQUEST_TSV: &str =
    include_str!("../../../fixtures/protocol/hook-request-conveyance.tsv");

/// `hook-answer-application.tsv`, embedded.
pub const ANSWER_TSV: &str = include_str!("../../../fixtures/protocol/hook-answer-application.tsv");

/// How one field fares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Conveyed (applied) as it is.
    Kept,
    /// Never set (never read).
    Dropped,
    /// Conveyed in another form (see [`transform`]).
    Transformed,
}

/// One table: hook → field path (`post.participants[].id`) → fate.
pub type Table = HashMap<String, HashMap<String, Fate>>;

fn parse(text: &str) -> Table {
    let mut table: Table = HashMap::new();
    for line in text.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let cols: Vec<&str> = line.split('\t').collect();
        let fate = match cols.get(2).copied() {
            Some("yes") => Fate::Kept,
            Some("no") => Fate::Dropped,
            Some("transformed") => Fate::Transformed,
            // `n/a`: a response without fields.
            _ => continue,
        };
        table
            .entry(cols[0].to_string())
            .or_default()
            .insert(cols[1].to_string(), fate);
    }
    table
}

/// The request table.
pub fn requests() -> &'static Table {
    static T: OnceLock<Table> = OnceLock::new();
    T.get_or_init(|| parse(REQUEST_TSV))
}

/// The answer table.
pub fn answers() -> &'static Table {
    static T: OnceLock<Table> = OnceLock::new();
    T.get_or_init(|| parse(ANSWER_TSV))
}

/// Which side of a hook call a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Request,
    Answer,
}

/// The request as upstream's hook client sends it for `sent`: dropped fields cleared,
/// transformed fields in upstream's form. Fields the table does not name are kept.
pub fn convey_request(hook: &str, sent: &DynamicMessage) -> DynamicMessage {
    convey(Side::Request, hook, sent)
}

/// The answer as upstream's hook client hands it to its caller.
pub fn convey_answer(hook: &str, answer: &DynamicMessage) -> DynamicMessage {
    convey(Side::Answer, hook, answer)
}

/// `message` with every field of `hook`'s table for `side` applied.
pub fn convey(side: Side, hook: &str, message: &DynamicMessage) -> DynamicMessage {
    let table = match side {
        Side::Request => requests(),
        Side::Answer => answers(),
    };
    let mut out = message.clone();
    if let Some(fields) = table.get(hook) {
        walk(hook, fields, "", &mut out);
    }
    out
}

fn walk(hook: &str, fields: &HashMap<String, Fate>, prefix: &str, message: &mut DynamicMessage) {
    for field in message.descriptor().fields() {
        if !message.has_field(&field) {
            continue;
        }
        let path = format!("{prefix}{}", field.name());
        match fate_of(fields, &path, field.is_list()).unwrap_or(Fate::Kept) {
            Fate::Dropped => message.clear_field(&field),
            Fate::Transformed => {
                let value = message.get_field(&field).into_owned();
                match transform(hook, &path, value) {
                    Some(v) => message.set_field(&field, v),
                    None => message.clear_field(&field),
                }
            }
            Fate::Kept if field.is_map() => {}
            Fate::Kept => {
                if !matches!(field.kind(), Kind::Message(_)) {
                    continue;
                }
                let mut value = message.get_field(&field).into_owned();
                match &mut value {
                    Value::Message(m) => walk(hook, fields, &format!("{path}."), m),
                    Value::List(items) => {
                        for item in items.iter_mut() {
                            if let Value::Message(m) = item {
                                walk(hook, fields, &format!("{path}[]."), m);
                            }
                        }
                    }
                    _ => {}
                }
                message.set_field(&field, value);
            }
        }
    }
}

/// The fate of the field at `path`; a repeated message field is named `path[]` in the
/// tables (its elements' fields `path[].x`), a repeated scalar just `path`.
fn fate_of(fields: &HashMap<String, Fate>, path: &str, list: bool) -> Option<Fate> {
    fields
        .get(path)
        .or_else(|| list.then(|| fields.get(&format!("{path}[]"))).flatten())
        .copied()
}

/// A JSON blob as upstream re-marshals it from its Go struct: the same document, written
/// again (compact; this harness sorts keys, Go follows its struct order, so documents are
/// compared parsed). Bytes that are no JSON are left alone.
fn remarshal(bytes: &[u8]) -> Vec<u8> {
    match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(doc) => doc.to_string().into_bytes(),
        Err(_) => bytes.to_vec(),
    }
}

/// The form upstream gives a transformed field (`None`: the field ends up absent).
fn transform(hook: &str, path: &str, value: Value) -> Option<Value> {
    let leaf = path.rsplit(['.', ']']).next().unwrap_or(path);
    match (leaf, value) {
        // JSON blobs: json.Marshal of the Go struct they were unmarshalled into.
        (
            "config_json" | "notification_json" | "assertion_json" | "sync_msg_json",
            Value::Bytes(b),
        ) => Some(Value::Bytes(remarshal(&b).into())),
        // PushNotification.Badge is an int in Go: sent as %d, read back with Atoi (0 when
        // it does not parse).
        ("badge", Value::String(s)) => Some(Value::String(
            s.trim().parse::<i64>().unwrap_or(0).to_string(),
        )),
        // OnCloudLimitsUpdated: the limit sub-messages are sent present but empty.
        (_, Value::Message(m)) if hook == "OnCloudLimitsUpdated" => {
            Some(Value::Message(DynamicMessage::new(m.descriptor())))
        }
        // Reaction.ChannelId only when not empty (proto3 gives the same).
        (_, Value::String(s)) if s.is_empty() => None,
        (_, other) => Some(other),
    }
}

/// The JSON-blob fields: Mattermost fills them with `json.Marshal` of a Go struct, which
/// writes every field of the struct (zero values included) and drops keys the struct lacks.
pub const JSON_BLOBS: &[&str] = &[
    "config_json",
    "notification_json",
    "assertion_json",
    "sync_msg_json",
];

/// Whether JSON document `small` is contained in `big`: every key of every object in
/// `small` is in `big` with a contained value; anything else equal.
pub fn json_contained(small: &serde_json::Value, big: &serde_json::Value) -> bool {
    use serde_json::Value as J;
    match (small, big) {
        (J::Object(a), J::Object(b)) => a
            .iter()
            .all(|(k, v)| b.get(k).is_some_and(|w| json_contained(v, w))),
        _ => small == big,
    }
}

/// Sets each JSON blob of `seen` to the one of `expected` where the expected document is
/// contained in the seen one, so a comparison of the two messages accepts what upstream's
/// re-marshalling adds (SPEC §11.5) and still reports any value that changed or went
/// missing.
pub fn reconcile_blobs(expected: &DynamicMessage, seen: &mut DynamicMessage) {
    for field in expected.descriptor().fields() {
        if !expected.has_field(&field) || !seen.has_field(&field) {
            continue;
        }
        let want = expected.get_field(&field);
        let mut got = seen.get_field(&field).into_owned();
        match (want.as_ref(), &mut got) {
            (Value::Bytes(a), Value::Bytes(b)) if JSON_BLOBS.contains(&field.name()) => {
                let parsed = (
                    serde_json::from_slice::<serde_json::Value>(a),
                    serde_json::from_slice::<serde_json::Value>(b),
                );
                if let (Ok(x), Ok(y)) = parsed
                    && json_contained(&x, &y)
                {
                    *b = a.clone();
                }
            }
            (Value::Message(a), Value::Message(b)) => reconcile_blobs(a, b),
            (Value::List(a), Value::List(b)) => {
                for (x, y) in a.iter().zip(b.iter_mut()) {
                    if let (Value::Message(x), Value::Message(y)) = (x, y) {
                        reconcile_blobs(x, y);
                    }
                }
            }
            _ => continue,
        }
        seen.set_field(&field, got);
    }
}

/// Every field path of `hook`'s request or answer message that the table does not name
/// (down to `depth` levels), for a test that the tables cover the contract.
pub fn unnamed_paths(side: Side, hook: &str, depth: usize) -> Vec<String> {
    let table = match side {
        Side::Request => requests(),
        Side::Answer => answers(),
    };
    let suffix = match side {
        Side::Request => "Request",
        Side::Answer => "Response",
    };
    let Some(desc) = crate::behaviour::message_of(hook, suffix) else {
        return vec![format!("{hook}{suffix}: no such message")];
    };
    let empty = HashMap::new();
    let fields = table.get(hook).unwrap_or(&empty);
    let mut out = Vec::new();
    fn visit(
        desc: &prost_reflect::MessageDescriptor,
        prefix: &str,
        depth: usize,
        fields: &HashMap<String, Fate>,
        out: &mut Vec<String>,
    ) {
        for field in desc.fields() {
            let path = format!("{prefix}{}", field.name());
            let Some(fate) = fate_of(fields, &path, field.is_list()) else {
                out.push(path);
                continue;
            };
            if fate != Fate::Kept || field.is_map() || depth == 0 {
                continue;
            }
            if let Kind::Message(m) = field.kind() {
                if m.full_name().starts_with("google.protobuf.") {
                    continue;
                }
                let next = if field.is_list() {
                    format!("{path}[].")
                } else {
                    format!("{path}.")
                };
                visit(&m, &next, depth - 1, fields, out);
            }
        }
    }
    visit(&desc, "", depth, fields, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::behaviour::{message_of, to_json};
    use serde_json::json;

    fn request(hook: &str, json: serde_json::Value) -> DynamicMessage {
        DynamicMessage::deserialize(message_of(hook, "Request").unwrap(), json).unwrap()
    }

    #[test]
    fn the_tables_name_every_field_of_every_hook() {
        for (hook, _) in pluginapi_proto::hooks::HOOK_RPCS {
            if *hook == "ServeHTTP" {
                continue;
            }
            assert_eq!(
                unnamed_paths(Side::Request, hook, 3),
                Vec::<String>::new(),
                "{hook} request"
            );
            assert_eq!(
                unnamed_paths(Side::Answer, hook, 3),
                Vec::<String>::new(),
                "{hook} answer"
            );
        }
    }

    #[test]
    fn a_post_loses_context_props_and_participants_and_keeps_the_rest() {
        let sent = request(
            "MessageWillBePosted",
            json!({"context": {"request_id": "r"}, "plugin_context": {"session_id": "s"},
                   "post": {"id": "p", "message": "m", "props": {"a": "b"},
                            "participants": [{"id": "u"}]}}),
        );
        let conveyed = to_json(&convey_request("MessageWillBePosted", &sent));
        assert_eq!(
            conveyed,
            json!({"plugin_context": {"session_id": "s"}, "post": {"id": "p", "message": "m"}})
        );
    }

    #[test]
    fn transformed_fields_take_upstreams_form() {
        let sent = request(
            "NotificationWillBePushed",
            json!({"push_notification": {"badge": "x7", "message": "m"}}),
        );
        let conveyed = to_json(&convey_request("NotificationWillBePushed", &sent));
        assert_eq!(conveyed["push_notification"]["badge"], json!("0"));
        let sent = request(
            "ConfigurationWillBeSaved",
            json!({"new_config": {"config_json": base64(br#"{ "b": 1,  "a": [true] }"#)}}),
        );
        let conveyed = convey_request("ConfigurationWillBeSaved", &sent);
        assert_eq!(
            to_json(&conveyed)["new_config"]["config_json"],
            json!(base64(br#"{"a":[true],"b":1}"#))
        );
    }

    #[test]
    fn an_apperror_answer_loses_its_message_and_request_id() {
        let answer = DynamicMessage::deserialize(
            message_of("OnActivate", "Response").unwrap(),
            json!({"error": {"id": "x.y", "message": "text", "request_id": "r", "status_code": 500,
                             "where": "OnActivate"}}),
        )
        .unwrap();
        assert_eq!(
            to_json(&convey_answer("OnActivate", &answer)),
            json!({"error": {"id": "x.y", "status_code": 500, "where": "OnActivate"}})
        );
    }

    #[test]
    fn a_blob_may_gain_fields_but_not_lose_or_change_one() {
        let blob = |doc: &str| {
            request(
                "OnSAMLLogin",
                json!({"assertion": {"assertion_json": base64(doc.as_bytes())}}),
            )
        };
        let sent = blob(r#"{"NameID":"n","Values":{"a":1}}"#);
        let mut wider = blob(r#"{"NameID":"n","Values":{"a":1,"b":2},"SessionIndex":""}"#);
        reconcile_blobs(&sent, &mut wider);
        assert_eq!(to_json(&wider), to_json(&sent));
        let mut changed = blob(r#"{"NameID":"m","Values":{"a":1}}"#);
        reconcile_blobs(&sent, &mut changed);
        assert_ne!(to_json(&changed), to_json(&sent));
    }

    fn base64(bytes: &[u8]) -> String {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }
}
