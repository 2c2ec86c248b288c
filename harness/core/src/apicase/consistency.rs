//! Consistency of an entity across answers: between two answers of a case that carry the
//! same stored row (same message type and key) with no step in between that could have
//! changed it, the row's stored facts are the same. Upstream's plugin API answers every
//! entity from its store (`server/channels/store/sqlstore`); the sanitisers some rpcs apply
//! (`User.Sanitize`, `User.ClearNonProfileFields`) clear fields that are left out here, so a
//! field that one rpc carries and another drops is a defect of the host, wherever it
//! appears.
//!
//! Only rows the case itself touched are followed: one whose id (or every part of its
//! key) the case named in a request or was answered by one of its mutating steps. Other
//! rows a global listing shows may belong to another case running on a shared server and
//! change under this one.
//!
//! What may change a row ends what the case may expect of it: a step that is not a read
//! ([`super::echo::is_read`]) and whose request names the row's id, any id the row holds
//! (its team, channel, user, post, creator: a join message moves a channel's counters, a
//! deactivation its members), or sends a row of its type without an id (an upsert); a
//! row named by its own key also ends the expectations of the rows it holds the ids of
//! (deleting a reply moves its thread's root); one that names no id at all (pruning
//! group-constrained memberships) ends every expectation.
//!
//! A field an rpc never fills (`fixtures/protocol/unfilled-response-fields.tsv`: the
//! store's query for that rpc does not select it, for example) is not compared for that
//! rpc's answers. Plugin manifests are not followed: `InstallPlugin` replaces one with a
//! request that names no id (the id is inside the bundle).
//! `last_update_at` (a member's) is compared between reads only: upstream may bump it
//! while the step that added the member is still finishing (a join message).

use std::collections::{BTreeMap, BTreeSet};

use prost_reflect::{DynamicMessage, ReflectMessage, Value};

/// Stored facts of a row that no plugin-API sanitiser clears.
const STABLE: &[&str] = &[
    "create_at",
    "update_at",
    "delete_at",
    "edit_at",
    "last_update_at",
    "creator_id",
    "user_id",
    "channel_id",
    "team_id",
    "group_id",
    "post_id",
    "syncable_id",
    "syncable_type",
    "type",
    "name",
    "display_name",
    "description",
    "source",
    "remote_id",
    "shared",
    "group_constrained",
    "last_post_at",
    "last_root_post_at",
    "total_msg_count",
    "total_msg_count_root",
    "roles",
    "scheme_user",
    "scheme_admin",
    "scheme_guest",
    "allow_reference",
    "extension",
    "size",
    "mime_type",
    "has_preview_image",
    "auth_service",
    "manual",
    "status",
    "hashtags",
    "homepage_url",
    "min_server_version",
];

/// Fields of a row compared between reads only.
const READS_ONLY: &[&str] = &["last_update_at"];

/// The key of rows without an `id`, by message (short name).
const COMPOSITE_KEYS: &[(&str, &[&str])] = &[
    ("ChannelMember", &["channel_id", "user_id"]),
    ("TeamMember", &["team_id", "user_id"]),
    ("GroupMember", &["group_id", "user_id"]),
    ("GroupSyncable", &["group_id", "syncable_id"]),
    ("Status", &["user_id"]),
    ("Bot", &["user_id"]),
    ("Preference", &["user_id", "category", "name"]),
    ("Reaction", &["user_id", "post_id", "emoji_name"]),
];

/// Ids a row holds besides its key: a step naming one of them may change the row.
const PARENT_IDS: &[&str] = &[
    "id",
    "user_id",
    "channel_id",
    "team_id",
    "post_id",
    "root_id",
    "creator_id",
    "group_id",
    "syncable_id",
    "owner_id",
];

const PKG: &str = "mattermost.pluginapi.v1.";

/// One inconsistency: `(what, earlier, now)`.
pub type Inconsistency = (String, String, String);

/// Messages that are not rows a case can follow (see the module documentation).
const NOT_FOLLOWED: &[&str] = &["Manifest", "PluginStatus"];

#[derive(Debug, Clone)]
struct Sighting {
    step: String,
    /// The answering rpc and the response field the row was found under.
    rpc: String,
    outer: String,
    read: bool,
    parents: Vec<String>,
    fields: BTreeMap<&'static str, Value>,
}

/// The rows a case has seen, with what they showed last.
#[derive(Debug, Default)]
pub struct ConsistencyTracker {
    own: BTreeSet<String>,
    /// The ids every row seen so far holds, by its key (kept when its sighting is not).
    holds: BTreeMap<Vec<String>, Vec<String>>,
    seen: BTreeMap<(String, Vec<String>), Sighting>,
}

fn text(m: &DynamicMessage, name: &str) -> Option<String> {
    match m.get_field_by_name(name)?.as_ref() {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

/// The message's short name and key, when it is a row.
fn key_of(m: &DynamicMessage) -> Option<(String, Vec<String>)> {
    let full = m.descriptor().full_name().to_string();
    let short = full.strip_prefix(PKG)?.to_string();
    if NOT_FOLLOWED.contains(&short.as_str()) {
        return None;
    }
    if let Some((_, parts)) = COMPOSITE_KEYS.iter().find(|(n, _)| *n == short) {
        let key: Option<Vec<String>> = parts.iter().map(|p| text(m, p)).collect();
        return key.map(|k| (short, k));
    }
    text(m, "id").map(|id| (short, vec![id]))
}

/// Every message inside `m` with the response field it is under.
fn rows(m: &DynamicMessage) -> Vec<(String, DynamicMessage)> {
    let mut out = Vec::new();
    super::walk::messages(m, &mut |found| {
        out.push((found.outer.to_string(), found.message.clone()));
        true
    });
    out
}

/// Every string in a request, as JSON.
fn strings(json: &serde_json::Value, out: &mut BTreeSet<String>) {
    match json {
        serde_json::Value::String(s) if !s.is_empty() => {
            out.insert(s.clone());
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        serde_json::Value::Object(map) => map.values().for_each(|v| strings(v, out)),
        _ => {}
    }
}

fn brief(v: Option<&Value>) -> String {
    let s = v.map_or("unset".to_string(), |v| format!("{v:?}"));
    if s.chars().count() > 120 {
        format!("{}…", s.chars().take(120).collect::<String>())
    } else {
        s
    }
}

impl ConsistencyTracker {
    /// Notes what a step sent (`request` as JSON) before its answer is judged: a step that
    /// is not a read ends the expectations of every row it may change. Runs for every
    /// step, whatever its outcome (a failed mutation may still have changed something).
    pub fn sent(&mut self, rpc: &str, request: &serde_json::Value) {
        let mut named = BTreeSet::new();
        strings(request, &mut named);
        if !super::echo::is_read(rpc) {
            let upserted: BTreeSet<String> = super::dynamic::request_message(rpc, request)
                .map(|req| {
                    rows(&req)
                        .iter()
                        .map(|(_, m)| m)
                        .filter(|m| key_of(m).is_none())
                        .filter_map(|m| {
                            m.descriptor()
                                .full_name()
                                .strip_prefix(PKG)
                                .map(str::to_string)
                        })
                        .collect()
                })
                .unwrap_or_default();
            let held: BTreeSet<String> = self
                .holds
                .iter()
                .filter(|(key, _)| key.iter().all(|k| named.contains(k)))
                .flat_map(|(_, ids)| ids.iter().cloned())
                .collect();
            // A mutation that names no row at all (DeleteGroupConstrainedMemberships) may
            // change any.
            if !named.iter().any(|s| super::invariants::is_valid_id(s)) {
                self.seen.clear();
            }
            self.seen.retain(|(kind, key), s| {
                let changed = upserted.contains(kind)
                    || key.iter().chain(&s.parents).any(|id| named.contains(id))
                    || (key.len() == 1 && held.contains(&key[0]));
                !changed
            });
        }
        self.own.extend(named);
    }

    /// Judges the rows of one step's answer against what earlier answers showed of them,
    /// then remembers them.
    pub fn answered(
        &mut self,
        label: &str,
        rpc: &str,
        response: &DynamicMessage,
    ) -> Vec<Inconsistency> {
        let read = super::echo::is_read(rpc);
        let found = rows(response);
        let unfilled = super::fields::unfilled_table();
        let never_fills = |rpc: &str, outer: &str, field: &str| {
            unfilled.contains_key(&(rpc.to_string(), format!("{outer}.{field}")))
        };
        let mut failures = Vec::new();
        for (outer, row) in found {
            let Some((kind, key)) = key_of(&row) else {
                continue;
            };
            if !read {
                self.own.extend(key.iter().cloned());
            }
            if !key.iter().all(|k| self.own.contains(k)) {
                continue;
            }
            let fields: BTreeMap<&'static str, Value> = STABLE
                .iter()
                .filter_map(|name| {
                    let field = row.descriptor().get_field_by_name(name)?;
                    (row.has_field(&field)).then(|| (*name, row.get_field(&field).into_owned()))
                })
                .collect();
            let parents = PARENT_IDS.iter().filter_map(|p| text(&row, p)).collect();
            let now = Sighting {
                step: label.to_string(),
                rpc: rpc.to_string(),
                outer: outer.clone(),
                read,
                parents,
                fields,
            };
            self.holds.insert(key.clone(), now.parents.clone());
            let slot = (kind.clone(), key.clone());
            if let Some(before) = self.seen.get(&slot) {
                for name in STABLE {
                    if row.descriptor().get_field_by_name(name).is_none()
                        || (READS_ONLY.contains(name) && !(before.read && read))
                        || never_fills(&before.rpc, &before.outer, name)
                        || never_fills(rpc, &outer, name)
                    {
                        continue;
                    }
                    let (a, b) = (before.fields.get(name), now.fields.get(name));
                    if a != b {
                        failures.push((
                            format!(
                                "{kind} {} `{name}` as {} answered it",
                                key.join("/"),
                                before.step
                            ),
                            brief(a),
                            brief(b),
                        ));
                    }
                }
            }
            self.seen.insert(slot, now);
        }
        failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn response(rpc: &str, json: serde_json::Value) -> DynamicMessage {
        super::super::dynamic::response_message(rpc, &json).unwrap()
    }

    const TEAM: &str = "abcdefghijkmnopqrstuwxyz13";

    #[test]
    fn a_field_one_read_carries_and_another_drops_is_an_inconsistency() {
        let mut t = ConsistencyTracker::default();
        let create = json!({"team": {"name": "t1", "displayName": "T", "type": "TEAM_TYPE_OPEN"}});
        t.sent("CreateTeam", &create);
        let answer = json!({"team": {"id": TEAM, "name": "t1", "createAt": 5, "updateAt": 5}});
        assert_eq!(
            t.answered("step 1", "CreateTeam", &response("CreateTeam", answer)),
            vec![]
        );
        t.sent("GetTeam", &json!({"teamId": TEAM}));
        let dropped = json!({"team": {"id": TEAM, "name": "t1", "createAt": 5}});
        let failures = t.answered("step 2", "GetTeam", &response("GetTeam", dropped));
        assert_eq!(failures.len(), 1, "{failures:?}");
        assert!(failures[0].0.contains("update_at") && failures[0].0.contains("step 1"));
    }

    #[test]
    fn a_mutation_naming_the_row_or_its_parent_ends_the_expectation() {
        let mut t = ConsistencyTracker::default();
        t.sent("GetTeam", &json!({"teamId": TEAM}));
        let first = json!({"team": {"id": TEAM, "name": "t1", "createAt": 5, "updateAt": 5}});
        t.answered("step 1", "GetTeam", &response("GetTeam", first));
        t.sent("UpdateTeam", &json!({"team": {"id": TEAM, "name": "t1"}}));
        t.sent("GetTeam", &json!({"teamId": TEAM}));
        let later = json!({"team": {"id": TEAM, "name": "t1", "createAt": 5, "updateAt": 9}});
        assert_eq!(
            t.answered("step 3", "GetTeam", &response("GetTeam", later)),
            vec![]
        );
    }

    #[test]
    fn rows_the_case_never_named_are_not_followed() {
        let mut t = ConsistencyTracker::default();
        t.sent("GetTeams", &json!({}));
        let a = json!({"teams": [{"id": TEAM, "name": "t1", "updateAt": 5}]});
        t.answered("step 1", "GetTeams", &response("GetTeams", a));
        t.sent("GetTeams", &json!({}));
        let b = json!({"teams": [{"id": TEAM, "name": "t1", "updateAt": 7}]});
        assert_eq!(
            t.answered("step 2", "GetTeams", &response("GetTeams", b)),
            vec![]
        );
    }
}
