//! The response fields of each PluginAPI rpc that the suite should see: every top-level
//! field but `error`, and one level into each message-typed one (in every element of a
//! repeated field). Field coverage counts which of them some response carried with a
//! non-default value, and the `api-drop-field` mutants clear them one at a time, so both
//! speak of the same paths (`user`, `user.create_at`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use prost_reflect::{
    DynamicMessage, FieldDescriptor, Kind, MessageDescriptor, ReflectMessage, Value,
};

use super::{StepOutcome, response_message};

/// One field of an rpc's response: `outer`, or `outer.inner` inside a message field.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldPath {
    pub outer: String,
    pub inner: Option<String>,
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            None => write!(f, "{}", self.outer),
            Some(inner) => write!(f, "{}.{inner}", self.outer),
        }
    }
}

impl std::str::FromStr for FieldPath {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let mut parts = s.split('.');
        let outer = parts.next().filter(|p| !p.is_empty());
        let inner = parts.next();
        match (outer, inner, parts.next()) {
            (Some(outer), inner, None) if inner != Some("") => Ok(FieldPath {
                outer: outer.to_string(),
                inner: inner.map(str::to_string),
            }),
            _ => Err(format!(
                "{s:?}: expected FIELD or FIELD.FIELD (one level into a message field)"
            )),
        }
    }
}

/// The message a field holds, when it is a singular or repeated message field (not a map:
/// a map's entries are not one entity's fields).
fn message_of(field: &FieldDescriptor) -> Option<MessageDescriptor> {
    match field.kind() {
        Kind::Message(m) if !field.is_map() => Some(m),
        _ => None,
    }
}

fn sorted_fields(message: &MessageDescriptor) -> Vec<FieldDescriptor> {
    let mut fields: Vec<FieldDescriptor> = message.fields().collect();
    fields.sort_by_key(FieldDescriptor::number);
    fields
}

/// The response message of `rpc`, if there is such an rpc.
pub fn response_descriptor(rpc: &str) -> Option<MessageDescriptor> {
    pluginapi_proto::descriptor_pool()
        .get_service_by_name(pluginapi_proto::service_names::PLUGIN_API)?
        .methods()
        .find(|m| m.name() == rpc)
        .map(|m| m.output())
}

/// Every field path of `rpc`'s response, in field-number order (empty for an unknown rpc).
pub fn response_fields(rpc: &str) -> Vec<FieldPath> {
    let Some(response) = response_descriptor(rpc) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for field in sorted_fields(&response) {
        if field.name() == "error" {
            continue;
        }
        out.push(FieldPath {
            outer: field.name().to_string(),
            inner: None,
        });
        if let Some(inner) = message_of(&field) {
            out.extend(sorted_fields(&inner).into_iter().map(|f| FieldPath {
                outer: field.name().to_string(),
                inner: Some(f.name().to_string()),
            }));
        }
    }
    out
}

/// The elements of message field `field` of `message` (one for a singular field that is
/// set, each element of a repeated one).
fn elements<'a>(message: &'a DynamicMessage, field: &FieldDescriptor) -> Vec<&'a DynamicMessage> {
    if !message.has_field(field) {
        return Vec::new();
    }
    match message.get_field(field) {
        std::borrow::Cow::Borrowed(Value::Message(m)) => vec![m],
        std::borrow::Cow::Borrowed(Value::List(items)) => items
            .iter()
            .filter_map(|v| match v {
                Value::Message(m) => Some(m),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The paths of [`response_fields`] that `response` carries with a non-default value.
pub fn populated(response: &DynamicMessage) -> BTreeSet<FieldPath> {
    let mut out = BTreeSet::new();
    for field in response.descriptor().fields() {
        if field.name() == "error" || !response.has_field(&field) {
            continue;
        }
        out.insert(FieldPath {
            outer: field.name().to_string(),
            inner: None,
        });
        if message_of(&field).is_some() {
            for element in elements(response, &field) {
                for inner in element.descriptor().fields() {
                    if element.has_field(&inner) {
                        out.insert(FieldPath {
                            outer: field.name().to_string(),
                            inner: Some(inner.name().to_string()),
                        });
                    }
                }
            }
        }
    }
    out
}

/// Clears `path` in `response` (in every element of a repeated outer field). Returns
/// whether anything changed; an unknown path changes nothing.
pub fn clear(response: &mut DynamicMessage, path: &FieldPath) -> bool {
    let Some(outer) = response.descriptor().get_field_by_name(&path.outer) else {
        return false;
    };
    if !response.has_field(&outer) {
        return false;
    }
    let Some(inner_name) = &path.inner else {
        response.clear_field(&outer);
        return true;
    };
    let mut changed = false;
    let mut clear_in = |m: &mut DynamicMessage| {
        if let Some(inner) = m.descriptor().get_field_by_name(inner_name)
            && m.has_field(&inner)
        {
            m.clear_field(&inner);
            changed = true;
        }
    };
    match response.get_field_mut(&outer) {
        Value::Message(m) => clear_in(m),
        Value::List(items) => {
            for item in items.iter_mut() {
                if let Value::Message(m) = item {
                    clear_in(m);
                }
            }
        }
        _ => {}
    }
    changed
}

/// Which response fields the responses of a run carried with a non-default value, per rpc.
#[derive(Debug, Clone, Default)]
pub struct FieldCoverage {
    seen: BTreeMap<String, BTreeSet<FieldPath>>,
}

impl FieldCoverage {
    /// Counts the response of `outcome`, if the call answered one that fits its message.
    pub fn add(&mut self, outcome: &StepOutcome) {
        if let Ok(json) = outcome.result()
            && let Ok(message) = response_message(&outcome.call, &json)
        {
            self.seen
                .entry(outcome.call.clone())
                .or_default()
                .extend(populated(&message));
        }
    }

    /// Whether some response of `rpc` carried `path`.
    pub fn seen(&self, rpc: &str, path: &FieldPath) -> bool {
        self.seen.get(rpc).is_some_and(|s| s.contains(path))
    }

    /// `(rpc, fields seen, fields in all)` for every PluginAPI rpc whose response has fields.
    pub fn per_rpc(&self) -> Vec<(String, usize, usize)> {
        pluginapi_proto::api::API_RPCS
            .iter()
            .map(|(rpc, _)| {
                let all = response_fields(rpc);
                let seen = all.iter().filter(|p| self.seen(rpc, p)).count();
                (rpc.to_string(), seen, all.len())
            })
            .filter(|(_, _, all)| *all > 0)
            .collect()
    }

    /// Every response field no response carried, as `(rpc, path)`.
    pub fn unseen(&self) -> Vec<(String, FieldPath)> {
        pluginapi_proto::api::API_RPCS
            .iter()
            .flat_map(|(rpc, _)| {
                response_fields(rpc)
                    .into_iter()
                    .filter(|p| !self.seen(rpc, p))
                    .map(|p| (rpc.to_string(), p))
            })
            .collect()
    }
}

/// Response fields no case is expected to see filled, each with the reason
/// (`fixtures/protocol/unfilled-response-fields.tsv`: rpc, path, reason).
pub const UNFILLED_FIELDS: &str =
    include_str!("../../../../fixtures/protocol/unfilled-response-fields.tsv");

/// `(rpc, path) -> reason` of [`UNFILLED_FIELDS`]; panics on a malformed row (the unit
/// test `every_unfilled_row_names_a_response_field_once` reads the file).
pub fn unfilled_fields() -> BTreeMap<(String, String), String> {
    unfilled_table().clone()
}

/// [`unfilled_fields`], parsed once.
pub fn unfilled_table() -> &'static BTreeMap<(String, String), String> {
    static TABLE: std::sync::OnceLock<BTreeMap<(String, String), String>> =
        std::sync::OnceLock::new();
    TABLE.get_or_init(parse_unfilled)
}

fn parse_unfilled() -> BTreeMap<(String, String), String> {
    UNFILLED_FIELDS
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            assert!(
                cols.len() == 3 && !cols[2].trim().is_empty(),
                "unfilled-response-fields.tsv: expected rpc, path and reason: {l:?}"
            );
            (
                (cols[0].to_string(), cols[1].to_string()),
                cols[2].to_string(),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(rpc: &str, json: serde_json::Value) -> DynamicMessage {
        DynamicMessage::deserialize(response_descriptor(rpc).unwrap(), json).unwrap()
    }

    #[test]
    fn paths_go_one_level_into_message_fields_and_skip_error() {
        let fields = response_fields("GetUser");
        assert_eq!(fields[0].to_string(), "user");
        assert!(fields.iter().any(|f| f.to_string() == "user.create_at"));
        assert!(!fields.iter().any(|f| f.outer == "error"));
        let kv = response_fields("KVGet");
        assert_eq!(
            kv.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["value"]
        );
        assert!(response_fields("NoSuchRpc").is_empty());
        for s in ["user", "user.id"] {
            assert_eq!(s.parse::<FieldPath>().unwrap().to_string(), s);
        }
        assert!("a.b.c".parse::<FieldPath>().is_err());
        assert!("".parse::<FieldPath>().is_err());
        assert!("a.".parse::<FieldPath>().is_err());
    }

    #[test]
    fn populated_sees_set_fields_in_any_element_and_clear_removes_them() {
        let mut m = decode(
            "GetUsers",
            serde_json::json!({"users": [{"id": "a"}, {"id": "b", "username": "x"}]}),
        );
        let seen: Vec<String> = populated(&m).iter().map(ToString::to_string).collect();
        assert_eq!(seen, ["users", "users.id", "users.username"]);
        assert!(clear(&mut m, &"users.username".parse().unwrap()));
        assert!(!clear(&mut m, &"users.username".parse().unwrap()));
        assert!(!clear(&mut m, &"users.nope".parse().unwrap()));
        let seen: Vec<String> = populated(&m).iter().map(ToString::to_string).collect();
        assert_eq!(seen, ["users", "users.id"]);
        assert!(clear(&mut m, &"users".parse().unwrap()));
        assert!(populated(&m).is_empty());
    }
}
