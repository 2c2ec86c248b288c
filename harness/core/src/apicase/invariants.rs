//! Entity invariants from upstream's models: what `IsValid` and `PreSave` of
//! `server/public/model/*.go` guarantee of every stored entity, checked on every entity of
//! every response the API cases see (the evaluator runs them; no case writes them). Only
//! rules that hold for every entity a correct server returns through the plugin API are
//! here: ephemeral posts, plugin-owned bots, server-made sidebar categories, commands
//! listed from providers and the fields the gRPC conversion drops are left out on purpose
//! (the research behind each row is in the commit that added it).

use std::borrow::Cow;

use prost_reflect::{DynamicMessage, ReflectMessage, Value};

const PKG: &str = "mattermost.pluginapi.v1.";

/// How far in the future a timestamp may be: another host's clock may run ahead of ours.
const CLOCK_SKEW_MS: i64 = 5 * 60 * 1000;

/// One broken invariant: which entity, which rule, and where upstream states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub at: String,
    pub rule: String,
    pub upstream: &'static str,
}

/// What the checks may know of the step.
pub struct StepContext {
    /// Milliseconds since the epoch when the step was judged.
    pub now_ms: i64,
    /// The request named `create_at` itself: upstream keeps a caller's value, so its order
    /// against `update_at` is not the server's to keep.
    pub caller_set_create_at: bool,
}

fn get<'a>(m: &'a DynamicMessage, name: &str) -> Option<Cow<'a, Value>> {
    m.get_field_by_name(name)
}

fn string(m: &DynamicMessage, name: &str) -> String {
    match get(m, name).as_deref() {
        Some(Value::String(s)) => s.clone(),
        _ => String::new(),
    }
}

fn int(m: &DynamicMessage, name: &str) -> i64 {
    match get(m, name).as_deref() {
        Some(Value::I64(v)) => *v,
        Some(Value::I32(v)) => i64::from(*v),
        Some(Value::EnumNumber(v)) => i64::from(*v),
        _ => 0,
    }
}

fn has(m: &DynamicMessage, name: &str) -> bool {
    m.descriptor().get_field_by_name(name).is_some()
}

/// `IsValidId`: 26 bytes, every character a letter or a digit (model/utils.go).
pub fn is_valid_id(s: &str) -> bool {
    s.len() == 26 && s.chars().all(char::is_alphanumeric)
}

const USER: &str = "model/user.go User.IsValid @02728cf7fb0e1a27073bf1bd1eab1a5a56b4e03f";
const TEAM: &str = "model/team.go Team.IsValid @2307ab174f57999ef15b31566d5593020846026d";
const CHANNEL: &str = "model/channel.go Channel.IsValid @004340fa1b599e5c2c24f28c6e18e2d0829889b9";
const POST: &str = "model/post.go Post.IsValid @0075a909";
const BOT: &str = "model/bot.go Bot.IsValid @0e1dc0e7b99cac833fe841d9ce1900c575caf8f8";
const CHANNEL_MEMBER: &str =
    "model/channel_member.go ChannelMember.IsValid @04df596ca49e4c680e3b58f0c4a52cd37ba26d78";
const CHANNEL_MEMBER_SAVE: &str = "model/channel_member.go ChannelMember.PreSave and PreUpdate (LastUpdateAt = now) @04df596ca49e4c680e3b58f0c4a52cd37ba26d78";
const TEAM_MEMBER: &str =
    "model/team_member.go TeamMember.IsValid @166a676fe55c0852220bc1c4fbf31aebe26e4532";
const PROPERTY_FIELD: &str =
    "model/property_field.go PropertyField.IsValid @0214d7eb947d3d8ecfde169cb07c210ecbfc9c92";
const PROPERTY_VALUE: &str =
    "model/property_value.go PropertyValue.IsValid @00de161113bfd62cd8c7ea49ffb1c32502d13bff";
const UPLOAD: &str =
    "model/upload_session.go UploadSession.IsValid @5c839440e3b0557e886e4046cae4913b9b5366b1";
const FILE: &str = "model/file_info.go FileInfo.IsValid @0232f2ef";
const REACTION: &str = "model/reaction.go Reaction.IsValid @021a50d7";
const EMOJI: &str = "model/emoji.go Emoji.IsValid @6c4a2950e40d3fefe0623ce38822bd243c040d4e";
const COMMAND: &str = "model/command.go Command.IsValid @1140b87e03b700f9eb8cfcae7393f5a86271f687";
const OAUTH: &str = "model/oauth.go OAuthApp.IsValid @1246420b0a8b0b557162417c222f7557aac2020d";
const GROUP: &str =
    "model/group.go Group.IsValidForCreate @06f0c97f78ca97ebb355787adc1b6dbd34b30be1";

/// The entities [`check`] knows rules for.
const ENTITIES: &[&str] = &[
    "User",
    "Team",
    "Channel",
    "Post",
    "Bot",
    "ChannelMember",
    "TeamMember",
    "PropertyField",
    "PropertyValue",
    "UploadSession",
    "FileInfo",
    "Reaction",
    "OAuthApp",
    "Group",
    "Emoji",
    "Command",
];

/// Checks `entity` (found at `at`) and pushes what it breaks; whether it is an entity.
fn check_entity(
    entity: &DynamicMessage,
    at: &str,
    cx: &StepContext,
    out: &mut Vec<Violation>,
) -> bool {
    let name = entity.descriptor().full_name().to_string();
    let Some(short) = name.strip_prefix(PKG).filter(|s| ENTITIES.contains(s)) else {
        return false;
    };
    let mut fail = |rule: String, upstream: &'static str| {
        out.push(Violation {
            at: at.to_string(),
            rule,
            upstream,
        })
    };
    let ids =
        |fields: &[&str], upstream: &'static str, fail: &mut dyn FnMut(String, &'static str)| {
            for f in fields {
                let v = string(entity, f);
                if !is_valid_id(&v) {
                    fail(
                        format!("`{f}` is a valid id (26 letters or digits), not {v:?}"),
                        upstream,
                    );
                }
            }
        };
    let stamps = |fields: &[&str],
                  upstream: &'static str,
                  fail: &mut dyn FnMut(String, &'static str)| {
        for f in fields {
            let v = int(entity, f);
            if v == 0 {
                fail(format!("`{f}` is set"), upstream);
            } else if v > cx.now_ms + CLOCK_SKEW_MS {
                fail(
                    format!("`{f}` ({v}) is not in the future (now {})", cx.now_ms),
                    upstream,
                );
            }
        }
        if fields.contains(&"update_at")
            && fields.contains(&"create_at")
            && !cx.caller_set_create_at
        {
            let (c, u) = (int(entity, "create_at"), int(entity, "update_at"));
            if c != 0 && u != 0 && u < c {
                fail(
                    format!(
                        "`update_at` ({u}) is not before `create_at` ({c}): PreSave sets them equal, PreUpdate moves update_at to now"
                    ),
                    upstream,
                );
            }
        }
    };
    let deleted_ok = |fail: &mut dyn FnMut(String, &'static str), upstream: &'static str| {
        if has(entity, "delete_at") {
            let d = int(entity, "delete_at");
            if d < 0 || d > cx.now_ms + CLOCK_SKEW_MS {
                fail(format!("`delete_at` ({d}) is 0 or a past time"), upstream);
            }
        }
    };
    match short {
        "User" => {
            ids(&["id"], USER, &mut fail);
            stamps(&["create_at", "update_at"], USER, &mut fail);
            deleted_ok(&mut fail, USER);
            let username = string(entity, "username");
            let remote = !string(entity, "remote_id").is_empty();
            let allowed = |c: char| {
                c.is_ascii_lowercase()
                    || c.is_ascii_digit()
                    || "._-".contains(c)
                    || (remote && c == ':')
            };
            if username.is_empty() || username.len() > 64 || !username.chars().all(allowed) {
                fail(
                    format!(
                        "`username` is 1–64 of [a-z0-9._-] (IsValidUsername), not {username:?}"
                    ),
                    USER,
                );
            }
            let email = string(entity, "email");
            if email.is_empty() || email != email.to_lowercase() || !email.contains('@') {
                fail(
                    format!("`email` is a lower-case address, not {email:?}"),
                    USER,
                );
            }
        }
        "Team" => {
            ids(&["id"], TEAM, &mut fail);
            // Not update_at: upstream's RemoveTeamIcon writes 0 to it
            // (SqlTeamStore.UpdateLastTeamIconUpdate sets UpdateAt to the icon time).
            stamps(&["create_at"], TEAM, &mut fail);
            deleted_ok(&mut fail, TEAM);
            let name = string(entity, "name");
            let ok = (2..=64).contains(&name.len())
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
                && name.starts_with(|c: char| c.is_ascii_alphanumeric())
                && name.ends_with(|c: char| c.is_ascii_alphanumeric());
            if !ok {
                fail(
                    format!(
                        "`name` is a team name (2–64 of [a-z0-9-], alphanumeric at both ends), not {name:?}"
                    ),
                    TEAM,
                );
            }
            let display = string(entity, "display_name");
            if display.is_empty() || display.chars().count() > 64 {
                fail(
                    format!("`display_name` is 1–64 characters, not {display:?}"),
                    TEAM,
                );
            }
            if int(entity, "type") == 0 {
                fail("`type` is O or I".into(), TEAM);
            }
        }
        "Channel" => {
            ids(&["id"], CHANNEL, &mut fail);
            stamps(&["create_at", "update_at"], CHANNEL, &mut fail);
            deleted_ok(&mut fail, CHANNEL);
            let name = string(entity, "name");
            let ok = name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
            if !ok {
                fail(
                    format!("`name` is [a-z0-9] then [a-z0-9_-]*, not {name:?}"),
                    CHANNEL,
                );
            }
            if string(entity, "display_name").chars().count() > 64 {
                fail("`display_name` is at most 64 characters".into(), CHANNEL);
            }
        }
        "Post" if string(entity, "type") != "system_ephemeral" => {
            ids(&["id", "channel_id", "user_id"], POST, &mut fail);
            stamps(&["create_at", "update_at"], POST, &mut fail);
            deleted_ok(&mut fail, POST);
            let root = string(entity, "root_id");
            if !root.is_empty() && !is_valid_id(&root) {
                fail(
                    format!("`root_id` is empty or a valid id, not {root:?}"),
                    POST,
                );
            }
        }
        "Bot" => {
            ids(&["user_id"], BOT, &mut fail);
            stamps(&["create_at", "update_at"], BOT, &mut fail);
            deleted_ok(&mut fail, BOT);
            if string(entity, "owner_id").is_empty() {
                fail(
                    "`owner_id` is set (a user id or the plugin's id)".into(),
                    BOT,
                );
            }
            let username = string(entity, "username");
            if username.is_empty() || username != username.to_lowercase() {
                fail(
                    format!("`username` is set and lower-case, not {username:?}"),
                    BOT,
                );
            }
        }
        "ChannelMember" => {
            ids(&["channel_id", "user_id"], CHANNEL_MEMBER, &mut fail);
            stamps(&["last_update_at"], CHANNEL_MEMBER_SAVE, &mut fail);
            let props = match get(entity, "notify_props").as_deref() {
                Some(Value::Map(m)) => m.clone(),
                _ => Default::default(),
            };
            let prop = |k: &str| {
                props
                    .get(&prost_reflect::MapKey::String(k.into()))
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
            };
            // Members get default notify props when they join (GetDefaultChannelNotifyProps);
            // their values are not checked: upstream's UpdateMemberNotifyProps merges
            // values without validating them.
            for key in ["desktop", "mark_unread"] {
                if prop(key).is_empty() {
                    fail(format!("`notify_props.{key}` is set"), CHANNEL_MEMBER);
                }
            }
        }
        "TeamMember" => {
            ids(&["team_id", "user_id"], TEAM_MEMBER, &mut fail);
            deleted_ok(&mut fail, TEAM_MEMBER);
        }
        "PropertyField" => {
            ids(&["id", "group_id"], PROPERTY_FIELD, &mut fail);
            stamps(&["create_at", "update_at"], PROPERTY_FIELD, &mut fail);
            deleted_ok(&mut fail, PROPERTY_FIELD);
            if string(entity, "name").trim().is_empty() {
                fail("`name` is set".into(), PROPERTY_FIELD);
            }
            let kind = string(entity, "type");
            if !["text", "select", "multiselect", "date", "user", "multiuser"]
                .contains(&kind.as_str())
            {
                fail(
                    format!(
                        "`type` is text, select, multiselect, date, user or multiuser, not {kind:?}"
                    ),
                    PROPERTY_FIELD,
                );
            }
        }
        "PropertyValue" => {
            ids(
                &["id", "target_id", "group_id", "field_id"],
                PROPERTY_VALUE,
                &mut fail,
            );
            stamps(&["create_at", "update_at"], PROPERTY_VALUE, &mut fail);
            deleted_ok(&mut fail, PROPERTY_VALUE);
            if string(entity, "target_type").is_empty() {
                fail("`target_type` is set".into(), PROPERTY_VALUE);
            }
        }
        "UploadSession" => {
            ids(&["id"], UPLOAD, &mut fail);
            stamps(&["create_at"], UPLOAD, &mut fail);
            let (size, offset) = (int(entity, "file_size"), int(entity, "file_offset"));
            if size <= 0 || offset < 0 || offset > size {
                fail(
                    format!(
                        "0 ≤ `file_offset` ({offset}) ≤ `file_size` ({size}), and the size is positive"
                    ),
                    UPLOAD,
                );
            }
            if string(entity, "filename").is_empty() {
                fail("`filename` is set".into(), UPLOAD);
            }
        }
        "FileInfo" => {
            ids(&["id"], FILE, &mut fail);
            stamps(&["create_at", "update_at"], FILE, &mut fail);
            deleted_ok(&mut fail, FILE);
            let post = string(entity, "post_id");
            if !post.is_empty() && !is_valid_id(&post) {
                fail(
                    format!("`post_id` is empty or a valid id, not {post:?}"),
                    FILE,
                );
            }
        }
        "Reaction" => {
            ids(&["user_id", "post_id"], REACTION, &mut fail);
            stamps(&["create_at", "update_at"], REACTION, &mut fail);
            if string(entity, "emoji_name").is_empty() {
                fail("`emoji_name` is set".into(), REACTION);
            }
        }
        "OAuthApp" => {
            ids(&["id"], OAUTH, &mut fail);
            stamps(&["create_at", "update_at"], OAUTH, &mut fail);
            if string(entity, "name").is_empty() {
                fail("`name` is set".into(), OAUTH);
            }
        }
        "Group" => {
            ids(&["id"], GROUP, &mut fail);
            stamps(&["create_at", "update_at"], GROUP, &mut fail);
            deleted_ok(&mut fail, GROUP);
            if string(entity, "display_name").is_empty() {
                fail("`display_name` is set".into(), GROUP);
            }
        }
        "Emoji" => {
            ids(&["id"], EMOJI, &mut fail);
            stamps(&["create_at", "update_at"], EMOJI, &mut fail);
            deleted_ok(&mut fail, EMOJI);
            if string(entity, "name").is_empty() {
                fail("`name` is set".into(), EMOJI);
            }
        }
        // Only stored commands: built-ins and plugin-registered ones are listed from their
        // providers without an id, times or token.
        "Command" if !string(entity, "id").is_empty() => {
            ids(&["id", "team_id"], COMMAND, &mut fail);
            stamps(&["create_at", "update_at"], COMMAND, &mut fail);
            if string(entity, "trigger").is_empty() {
                fail("`trigger` is set".into(), COMMAND);
            }
        }
        _ => {}
    }
    true
}

/// Checks every entity of `response` (its message fields, elements of repeated ones and
/// values of maps of messages, down to three levels) against upstream's invariants.
/// Returns how many entities it checked and what they break.
pub fn check(response: &DynamicMessage, cx: &StepContext) -> (usize, Vec<Violation>) {
    let mut out = Vec::new();
    let mut checked = 0;
    super::walk::messages(response, &mut |found| {
        let message = found.message;
        if check_entity(message, found.path, cx, &mut out) {
            checked += 1;
        }
        // What an ephemeral post carries is the plugin's own, never stored or validated.
        !(message.descriptor().full_name() == format!("{PKG}Post")
            && string(message, "type") == "system_ephemeral")
    });
    (checked, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(rpc: &str, json: serde_json::Value) -> DynamicMessage {
        DynamicMessage::deserialize(
            crate::apicase::fields::response_descriptor(rpc).unwrap(),
            json,
        )
        .unwrap()
    }

    fn cx() -> StepContext {
        StepContext {
            now_ms: 1_700_000_000_000,
            caller_set_create_at: false,
        }
    }

    const ID: &str = "abcdefghijkmnopqrstuwxyz13";

    #[test]
    fn a_valid_user_passes_and_each_broken_rule_is_named() {
        let good = serde_json::json!({"user": {"id": ID, "createAt": 1, "updateAt": 2,
            "username": "ann.b", "email": "ann@example.com"}});
        assert_eq!(
            check(&response("GetUser", good.clone()), &cx()),
            (1, vec![])
        );
        let mut bad = good;
        bad["user"]["createAt"] = 0.into();
        bad["user"]["username"] = "Ann".into();
        bad["user"]["updateAt"] = 1_800_000_000_000i64.into();
        let (_, v) = check(&response("GetUser", bad), &cx());
        let rules: Vec<&str> = v.iter().map(|v| v.rule.as_str()).collect();
        assert_eq!(v.len(), 3, "{rules:?}");
        assert!(
            v.iter()
                .all(|v| v.at == "user" && v.upstream.contains("User.IsValid"))
        );
    }

    #[test]
    fn entities_in_lists_are_checked_and_ephemeral_posts_are_not() {
        let users = serde_json::json!({"users": [{"id": "short", "createAt": 1, "updateAt": 1,
            "username": "a", "email": "a@b"}]});
        let (_, v) = check(&response("GetUsers", users), &cx());
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].at, "users[0]");
        let ephemeral = serde_json::json!({"post": {"type": "system_ephemeral"}});
        assert_eq!(
            check(&response("SendEphemeralPost", ephemeral), &cx()),
            (1, vec![])
        );
    }

    #[test]
    fn ids_follow_is_valid_id() {
        assert!(is_valid_id(ID));
        assert!(!is_valid_id("abc"));
        assert!(!is_valid_id("abcdefghijkmnopqrstuwxyz1_"));
    }
}
