//! Fully populated messages: every field set to a value distinct from its default and
//! from its siblings (proto3 `optional` fields present, two list elements, two map
//! entries, nested messages filled to a depth), so a check that the other side saw the
//! same message notices any field that was dropped, zeroed or renumbered.

use prost_reflect::{DynamicMessage, Kind, MapKey, MessageDescriptor, Value};

/// Nested messages are filled this deep; below it they stay empty.
pub const MAX_DEPTH: usize = 3;

fn scalar(kind: &Kind, tag: &str, n: u32) -> Option<Value> {
    Some(match kind {
        Kind::String => Value::String(format!("{tag}-{n}")),
        Kind::Bytes => Value::Bytes(format!("{tag}-{n}").into_bytes().into()),
        Kind::Bool => Value::Bool(true),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => Value::I32(1000 + n as i32),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => Value::I64(1_700_000_000_000 + n as i64),
        Kind::Uint32 | Kind::Fixed32 => Value::U32(2000 + n),
        Kind::Uint64 | Kind::Fixed64 => Value::U64(3000 + n as u64),
        Kind::Float => Value::F32(0.5 + n as f32),
        Kind::Double => Value::F64(0.25 + n as f64),
        Kind::Enum(e) => {
            let v = e.values().find(|v| v.number() != 0)?;
            Value::EnumNumber(v.number())
        }
        Kind::Message(_) => return None,
    })
}

fn value(kind: &Kind, tag: &str, n: u32, depth: usize) -> Option<Value> {
    match kind {
        Kind::Message(m) => {
            (depth < MAX_DEPTH).then(|| Value::Message(populate_at(m, tag, depth + 1)))
        }
        other => scalar(other, tag, n),
    }
}

/// Fields whose upstream type is not the proto's: the JSON blobs Mattermost fills with
/// `json.Marshal` of a Go struct (a document of that struct's shape, with real key names,
/// so a handler's `json.loads` and the host's `json.Unmarshal` both take it), and
/// PushNotification's `badge` (an int in Go, sent as its decimal string).
fn upstream_form(field: &str, kind: &Kind, tag: &str, n: u32) -> Option<Value> {
    let doc = match (field, kind) {
        ("badge", Kind::String) => return Some(Value::String((40 + n).to_string())),
        ("config_json", Kind::Bytes) => serde_json::json!({
            "ServiceSettings": {"SiteURL": format!("http://{tag}.test")},
            "TeamSettings": {"SiteName": tag},
        }),
        ("notification_json", Kind::Bytes) => serde_json::json!({
            "post_id": format!("{tag}-post"),
            "channel_id": format!("{tag}-channel"),
            "team_id": format!("{tag}-team"),
            "sender_id": format!("{tag}-sender"),
            "recipient_id": format!("{tag}-recipient"),
            "channel_name": format!("{tag}-channel-name"),
            "is_thread_reply": true,
            "subject": format!("{tag}-subject"),
            "message_text": tag,
        }),
        ("assertion_json", Kind::Bytes) => serde_json::json!({
            "NameID": tag,
            "SessionIndex": format!("{tag}-session"),
            "ResponseSignatureValidated": true,
        }),
        ("sync_msg_json", Kind::Bytes) => serde_json::json!({
            "id": format!("{tag}-id"),
            "channel_id": format!("{tag}-channel"),
            "mention_transforms": {format!("{tag}-from"): format!("{tag}-to")},
        }),
        _ => return None,
    };
    Some(Value::Bytes(doc.to_string().into_bytes().into()))
}

fn populate_at(desc: &MessageDescriptor, tag: &str, depth: usize) -> DynamicMessage {
    let mut message = DynamicMessage::new(desc.clone());
    // google.protobuf.Value is a oneof: give it one string.
    if desc.full_name() == "google.protobuf.Value" {
        if let Some(f) = desc.get_field_by_name("string_value") {
            message.set_field(&f, Value::String(format!("{tag}-value")));
        }
        return message;
    }
    for field in desc.fields() {
        let name = format!("{tag}.{}", field.name());
        let n = field.number();
        if field.is_map() {
            let Kind::Message(entry) = field.kind() else {
                continue;
            };
            let value_kind = entry.map_entry_value_field().kind();
            let mut map = std::collections::HashMap::new();
            for i in 0..2 {
                let key = MapKey::String(format!("{name}-key{i}"));
                if let Some(v) = value(&value_kind, &format!("{name}[{i}]"), n + i, depth) {
                    map.insert(key, v);
                }
            }
            if !map.is_empty() {
                message.set_field(&field, Value::Map(map));
            }
        } else if field.is_list() {
            let items: Vec<Value> = (0..2)
                .filter_map(|i| value(&field.kind(), &format!("{name}[{i}]"), n + i, depth))
                .collect();
            if !items.is_empty() {
                message.set_field(&field, Value::List(items));
            }
        } else if field.containing_oneof().is_some_and(|o| !o.is_synthetic()) {
            // Only the first member of a real oneof.
            let first = field
                .containing_oneof()
                .and_then(|o| o.fields().next())
                .is_some_and(|f| f.number() == field.number());
            if first && let Some(v) = value(&field.kind(), &name, n, depth) {
                message.set_field(&field, v);
            }
        } else if let Some(v) = upstream_form(field.name(), &field.kind(), &name, n)
            .or_else(|| value(&field.kind(), &name, n, depth))
        {
            message.set_field(&field, v);
        }
    }
    message
}

/// A message of `desc` with every field set; strings start with `tag`.
pub fn populate(desc: &MessageDescriptor, tag: &str) -> DynamicMessage {
    populate_at(desc, tag, 0)
}

/// The paths where two messages' JSON forms differ (empty when equal).
pub fn differences(expected: &serde_json::Value, seen: &serde_json::Value) -> Vec<String> {
    fn walk(path: &str, a: &serde_json::Value, b: &serde_json::Value, out: &mut Vec<String>) {
        use serde_json::Value as J;
        match (a, b) {
            (J::Object(x), J::Object(y)) => {
                let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
                for k in keys {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    match (x.get(k), y.get(k)) {
                        (Some(va), Some(vb)) => walk(&p, va, vb, out),
                        (Some(_), None) => out.push(format!("{p}: missing")),
                        (None, Some(_)) => out.push(format!("{p}: unexpected")),
                        (None, None) => {}
                    }
                }
            }
            (J::Array(x), J::Array(y)) if x.len() == y.len() => {
                for (i, (va, vb)) in x.iter().zip(y).enumerate() {
                    walk(&format!("{path}.{i}"), va, vb, out);
                }
            }
            _ if a == b => {}
            _ => out.push(format!("{path}: expected {a}, saw {b}")),
        }
    }
    let mut out = Vec::new();
    walk("", expected, seen, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::behaviour::{message_of, to_json};
    use prost::Message;

    #[test]
    fn every_hook_request_is_fully_populated_and_round_trips() {
        for (hook, _) in pluginapi_proto::hooks::HOOK_RPCS {
            let desc = message_of(hook, "Request").unwrap();
            let m = populate(&desc, hook);
            for field in desc.fields() {
                assert!(m.has_field(&field), "{hook}.{} not set", field.name());
            }
            let back = DynamicMessage::decode(desc, m.encode_to_vec().as_slice()).unwrap();
            assert!(differences(&to_json(&m), &to_json(&back)).is_empty());
        }
    }

    #[test]
    fn a_dropped_field_is_a_difference() {
        let desc = message_of("UserHasJoinedChannel", "Request").unwrap();
        let sent = populate(&desc, "x");
        let mut seen = sent.clone();
        seen.clear_field_by_name("actor");
        let diffs = differences(&to_json(&sent), &to_json(&seen));
        assert_eq!(diffs, vec!["actor: missing".to_string()]);
    }
}
