//! Request echo: when a step creates or updates an entity (its request carries a message of
//! the same type as a field of its response: `CreateUserRequest.user` and
//! `CreateUserResponse.user`), every field the request set comes back unchanged, in the
//! response and in any later read of the same entity (same message type and id) in the
//! case, unless upstream rewrites that field on the way
//! (`fixtures/protocol/echo-rewrites.tsv`, each row citing where). Map fields and
//! `google.protobuf.Struct` props are compared as subsets: upstream adds defaults to them.
//!
//! Rows of the table whose reason starts `lower-cased:` compare lower-cased; rows whose
//! reason starts `not stored:` are checked in the answer only.
//!
//! A later mutating step (an rpc that is not a read) whose request names the entity's id
//! ends what the case may expect of it: such a step may change it in ways only upstream
//! knows (a patch, a role change, a deactivation).

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use prost_reflect::{DynamicMessage, FieldDescriptor, Kind, ReflectMessage, Value};

/// The rewrite table, embedded.
pub const ECHO_REWRITES: &str = include_str!("../../../../fixtures/protocol/echo-rewrites.tsv");

/// `(message, field) -> [(rpc or "*", reason)]` of [`ECHO_REWRITES`].
type RewriteTable = HashMap<(String, String), Vec<(String, String)>>;

fn rewrites() -> &'static RewriteTable {
    static TABLE: OnceLock<RewriteTable> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut out = RewriteTable::new();
        for line in ECHO_REWRITES.lines().skip(1) {
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let cols: Vec<&str> = line.split('\t').collect();
            if let [message, field, rpc, reason] = cols.as_slice() {
                out.entry((message.to_string(), field.to_string()))
                    .or_default()
                    .push((rpc.to_string(), reason.to_string()));
            }
        }
        out
    })
}

/// Malformed rows of the rewrite table (four non-empty columns), for its unit test.
pub fn malformed_rewrite_rows() -> Vec<String> {
    ECHO_REWRITES
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            cols.len() != 4 || cols.iter().any(|c| c.trim().is_empty())
        })
        .map(str::to_string)
        .collect()
}

/// What the echo expects of one field a request set, by the rows of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Treatment {
    /// Back unchanged, in the answer and in later reads.
    Echoed,
    /// Upstream rewrites it: not expected back.
    Rewritten,
    /// Back lower-cased (a row whose reason starts `lower-cased:`).
    Lowercased,
    /// Back in the answer only (a row whose reason starts `not stored:`).
    NotStored,
}

const LOWERCASED: &str = "lower-cased:";
const NOT_STORED: &str = "not stored:";

/// The treatment of `field` of `message` in `rpc` (a row's message `*` stands for every
/// message, its rpc `*` for every rpc).
fn treatment(message: &str, field: &str, rpc: &str) -> Treatment {
    [message, "*"]
        .iter()
        .filter_map(|m| rewrites().get(&(m.to_string(), field.to_string())))
        .flatten()
        .find(|(r, _)| r == "*" || r == rpc)
        .map_or(Treatment::Echoed, |(_, why)| {
            if why.starts_with(LOWERCASED) {
                Treatment::Lowercased
            } else if why.starts_with(NOT_STORED) {
                Treatment::NotStored
            } else {
                Treatment::Rewritten
            }
        })
}

/// Whether `rpc` only reads (its name says so): such a step never ends an expectation.
pub fn is_read(rpc: &str) -> bool {
    const READS: &[&str] = &[
        "Get", "Search", "Has", "List", "Is", "Read", "Count", "Check",
    ];
    READS.iter().any(|p| rpc.starts_with(p)) || matches!(rpc, "KVGet" | "KVList")
}

/// One failed echo: `(what, expected, seen)`.
pub type EchoFailure = (String, String, String);

/// The entities a case has created or updated: `(message, id) -> field -> value sent`.
#[derive(Debug, Default)]
pub struct EchoTracker {
    expected: BTreeMap<(String, String), (String, BTreeMap<String, Value>)>,
}

fn id_of(message: &DynamicMessage) -> Option<String> {
    match message.get_field_by_name("id")?.as_ref() {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

fn message_fields(message: &DynamicMessage) -> Vec<(FieldDescriptor, DynamicMessage)> {
    let mut out = Vec::new();
    for field in message.descriptor().fields() {
        if field.name() == "error" || !message.has_field(&field) {
            continue;
        }
        if let Kind::Message(_) = field.kind()
            && !field.is_map()
        {
            match message.get_field(&field).as_ref() {
                Value::Message(m) => out.push((field.clone(), m.clone())),
                Value::List(items) => out.extend(items.iter().filter_map(|v| match v {
                    Value::Message(m) => Some((field.clone(), m.clone())),
                    _ => None,
                })),
                _ => {}
            }
        }
    }
    out
}

/// Whether `seen` holds what `sent` holds: equal, or for maps and Structs every entry sent.
fn holds(sent: &Value, seen: &Value) -> bool {
    match (sent, seen) {
        (Value::Map(a), Value::Map(b)) => a.iter().all(|(k, v)| b.get(k) == Some(v)),
        (Value::Message(a), Value::Message(b))
            if a.descriptor().full_name() == "google.protobuf.Struct" =>
        {
            match (a.get_field_by_name("fields"), b.get_field_by_name("fields")) {
                (Some(x), Some(y)) => holds(x.as_ref(), y.as_ref()),
                _ => a == b,
            }
        }
        _ => sent == seen,
    }
}

fn brief(v: &Value) -> String {
    let s = format!("{v:?}");
    if s.chars().count() > 160 {
        format!("{}…", s.chars().take(160).collect::<String>())
    } else {
        s
    }
}

impl EchoTracker {
    /// Judges one step's response (`request` and `response` as messages of `rpc`), then
    /// records what the step sent and forgets what a mutating step may have changed.
    pub fn step(
        &mut self,
        rpc: &str,
        request: &DynamicMessage,
        response: &DynamicMessage,
    ) -> Vec<EchoFailure> {
        let mut failures = Vec::new();
        if is_read(rpc) {
            // Later reads of what earlier steps sent.
            for (field, entity) in message_fields(response) {
                let Some(id) = id_of(&entity) else { continue };
                let key = (entity.descriptor().full_name().to_string(), id.clone());
                let Some((step, sent)) = self.expected.get(&key) else {
                    continue;
                };
                for (name, value) in sent {
                    let seen = entity
                        .get_field_by_name(name)
                        .map_or(Value::Bool(false), |v| v.into_owned());
                    if !holds(value, &seen) {
                        failures.push((
                            format!("{} {id} `{name}` as {step} sent it", field.name()),
                            brief(value),
                            brief(&seen),
                        ));
                    }
                }
            }
        } else {
            // A mutating step that names an entity may change it; one that sends an
            // entity without an id (an upsert) may change any of that type.
            let text = format!("{request:?}");
            let upserted: Vec<String> = message_fields(request)
                .into_iter()
                .filter(|(_, m)| id_of(m).is_none())
                .map(|(_, m)| m.descriptor().full_name().to_string())
                .collect();
            self.expected
                .retain(|(kind, id), _| !text.contains(id.as_str()) && !upserted.contains(kind));
        }
        // The echo of this step's own request.
        let answered = message_fields(response);
        for (req_field, sent) in message_fields(request) {
            let type_name = sent.descriptor().full_name().to_string();
            let Some((resp_field, echoed)) = answered.iter().find(|(f, m)| {
                m.descriptor().full_name() == type_name && !f.is_list() && !req_field.is_list()
            }) else {
                continue;
            };
            let mut kept = BTreeMap::new();
            for field in sent.descriptor().fields() {
                let how = treatment(&type_name, field.name(), rpc);
                if !sent.has_field(&field) || how == Treatment::Rewritten {
                    continue;
                }
                let mut value = sent.get_field(&field).into_owned();
                if how == Treatment::Lowercased
                    && let Value::String(text) = &value
                {
                    value = Value::String(text.to_lowercase());
                }
                let seen = echoed.get_field(&field).into_owned();
                if !holds(&value, &seen) {
                    failures.push((
                        format!(
                            "{} `{}` echoed from the request",
                            resp_field.name(),
                            field.name()
                        ),
                        brief(&value),
                        brief(&seen),
                    ));
                }
                if how != Treatment::NotStored {
                    kept.insert(field.name().to_string(), value);
                }
            }
            if let Some(id) = id_of(echoed) {
                self.expected
                    .insert((type_name, id), (rpc.to_string(), kept));
            }
        }
        failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(rpc: &str, request: bool, json: serde_json::Value) -> DynamicMessage {
        let method = pluginapi_proto::descriptor_pool()
            .get_service_by_name(pluginapi_proto::service_names::PLUGIN_API)
            .unwrap()
            .methods()
            .find(|m| m.name() == rpc)
            .unwrap();
        let d = if request {
            method.input()
        } else {
            method.output()
        };
        DynamicMessage::deserialize(d, json).unwrap()
    }

    #[test]
    fn the_table_is_well_formed_and_names_real_fields_and_rpcs() {
        assert_eq!(malformed_rewrite_rows(), Vec::<String>::new());
        let pool = pluginapi_proto::descriptor_pool();
        for ((message, field), rows) in rewrites() {
            if message != "*" {
                let m = pool
                    .get_message_by_name(message)
                    .unwrap_or_else(|| panic!("echo-rewrites.tsv: no message {message}"));
                assert!(
                    m.get_field_by_name(field).is_some(),
                    "echo-rewrites.tsv: {message} has no field {field}"
                );
            }
            for (rpc, _) in rows {
                assert!(
                    rpc == "*" || pluginapi_proto::api::API_RPCS.iter().any(|(r, _)| r == rpc),
                    "echo-rewrites.tsv: no rpc {rpc}"
                );
            }
        }
        let user = "mattermost.pluginapi.v1.User";
        assert_eq!(treatment(user, "roles", "CreateUser"), Treatment::Rewritten);
        assert_eq!(treatment(user, "roles", "GetUser"), Treatment::Echoed);
        assert_eq!(
            treatment(user, "email", "CreateUser"),
            Treatment::Lowercased
        );
        assert_eq!(
            treatment(user, "is_bot", "CreateUser"),
            Treatment::NotStored
        );
        assert_eq!(
            treatment(user, "update_at", "UpdateUser"),
            Treatment::Rewritten
        );
    }

    #[test]
    fn a_dropped_or_changed_field_fails_in_the_response_and_in_a_later_read() {
        let mut t = EchoTracker::default();
        let req = message(
            "CreateUser",
            true,
            serde_json::json!({"user": {"username": "ann", "nickname": "A", "roles": "system_admin",
                "notifyProps": {"email": "false"}}}),
        );
        let resp = message(
            "CreateUser",
            false,
            serde_json::json!({"user": {"id": "u1", "username": "ann", "nickname": "A", "roles": "system_user",
                "notifyProps": {"email": "false", "push": "mention"}}}),
        );
        assert_eq!(t.step("CreateUser", &req, &resp), vec![]);
        let get = message("GetUser", true, serde_json::json!({"userId": "u1"}));
        let read = message(
            "GetUser",
            false,
            serde_json::json!({"user": {"id": "u1", "username": "ann"}}),
        );
        let failures = t.step("GetUser", &get, &read);
        assert_eq!(failures.len(), 2, "{failures:?}");
        assert!(failures[0].0.contains("nickname") || failures[1].0.contains("nickname"));
        let dropped = message(
            "CreateUser",
            false,
            serde_json::json!({"user": {"id": "u2", "username": "ann"}}),
        );
        let failures = t.step("CreateUser", &req, &dropped);
        assert_eq!(failures.len(), 2, "{failures:?}");
    }

    #[test]
    fn a_mutating_step_naming_the_entity_ends_the_expectation() {
        let mut t = EchoTracker::default();
        let req = message(
            "CreateUser",
            true,
            serde_json::json!({"user": {"username": "ann", "nickname": "A"}}),
        );
        let resp = message(
            "CreateUser",
            false,
            serde_json::json!({"user": {"id": "u1", "username": "ann", "nickname": "A"}}),
        );
        t.step("CreateUser", &req, &resp);
        let active = message(
            "UpdateUserActive",
            true,
            serde_json::json!({"userId": "u1", "active": false}),
        );
        let empty = message("UpdateUserActive", false, serde_json::json!({}));
        assert_eq!(t.step("UpdateUserActive", &active, &empty), vec![]);
        let get = message("GetUser", true, serde_json::json!({"userId": "u1"}));
        let read = message("GetUser", false, serde_json::json!({"user": {"id": "u1"}}));
        assert_eq!(t.step("GetUser", &get, &read), vec![]);
    }
}
