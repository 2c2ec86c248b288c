//! What every handler uses: the call context, Mattermost-style ids and times, AppError
//! constructors, validation rules and paging.

use std::sync::atomic::{AtomicU64, Ordering};

use pluginapi_proto::pluginapi::{AppError, Channel, Post, Team, User};

use super::Store;

/// A handler's result: the response, or an AppError reported in the rpc's regime.
pub type Res<T> = Result<T, AppError>;

/// One call: the store (locked for the call), the calling plugin and the time.
pub struct Cx<'a> {
    pub store: &'a mut Store,
    /// The plugin whose API server received the call (KV namespace, command owner...).
    pub plugin_id: &'a str,
    /// Milliseconds since the Unix epoch, fixed for the call.
    pub now: i64,
    /// The rpc being served, for `AppError.where`.
    pub rpc: &'static str,
    /// What the call did that only the host can see (a log line, a WebSocket event...),
    /// in words; kept in the call log so that cases can check effects no rpc reads back.
    pub effect: Option<String>,
}

impl Cx<'_> {
    /// An AppError of this rpc.
    pub fn err(&self, status: i32, id: &str, message: impl Into<String>) -> AppError {
        AppError {
            id: id.to_string(),
            message: message.into(),
            status_code: status,
            r#where: self.rpc.to_string(),
            ..Default::default()
        }
    }

    /// 400 with the given id.
    pub fn bad(&self, id: &str, message: impl Into<String>) -> AppError {
        self.err(400, id, message)
    }

    /// 404: `what` with `key` does not exist.
    pub fn not_found(&self, what: &str, key: &str) -> AppError {
        self.err(
            404,
            &format!("app.{}.get.app_error", what.replace(' ', "_")),
            format!("{what} {key:?} not found"),
        )
    }

    /// 409 with the given id.
    pub fn conflict(&self, id: &str, message: impl Into<String>) -> AppError {
        self.err(409, id, message)
    }

    /// 403 with the given id.
    pub fn forbidden(&self, id: &str, message: impl Into<String>) -> AppError {
        self.err(403, id, message)
    }

    /// The user with this id, or 404 `app.user.missing_account.const`.
    pub fn user(&self, id: &str) -> Res<User> {
        self.store.users.users.get(id).cloned().ok_or_else(|| {
            self.err(
                404,
                "app.user.missing_account.const",
                format!("user {id:?} not found"),
            )
        })
    }

    /// The team with this id, or 404 `app.team.get.find.app_error`.
    pub fn team(&self, id: &str) -> Res<Team> {
        self.store.teams.teams.get(id).cloned().ok_or_else(|| {
            self.err(
                404,
                "app.team.get.find.app_error",
                format!("team {id:?} not found"),
            )
        })
    }

    /// The channel with this id, or 404 `app.channel.get.existing.app_error`.
    pub fn channel(&self, id: &str) -> Res<Channel> {
        self.store
            .channels
            .channels
            .get(id)
            .cloned()
            .ok_or_else(|| {
                self.err(
                    404,
                    "app.channel.get.existing.app_error",
                    format!("channel {id:?} not found"),
                )
            })
    }

    /// The post with this id, or 404 `app.post.get.app_error`.
    pub fn post(&self, id: &str) -> Res<Post> {
        self.store.posts.posts.get(id).cloned().ok_or_else(|| {
            self.err(
                404,
                "app.post.get.app_error",
                format!("post {id:?} not found"),
            )
        })
    }

    /// A required sub-message is missing: upstream's gRPC handler refuses it itself, with
    /// INVALID_ARGUMENT and the plain text `"<what> is required"`, no AppError id
    /// (SPEC §10.1, guard errors).
    pub fn required(&self, what: &str) -> AppError {
        guard_error(format!("{what} is required"))
    }

    /// A plain Go error of upstream's implementation (a store error, a service error):
    /// upstream's gRPC layer answers INTERNAL `"internal error: <text>"` (SPEC §10.1).
    pub fn go_error(&self, text: impl Into<String>) -> AppError {
        AppError {
            message: text.into(),
            r#where: GO_ERROR.to_string(),
            ..Default::default()
        }
    }
}

/// `AppError.where` of a failure that is not an AppError upstream but a plain Go error.
pub const GO_ERROR: &str = "<go error>";

/// `AppError.where` of a failure that upstream's gRPC handler answers itself (a guard).
pub const GUARD_ERROR: &str = "<grpc guard>";

/// A guard failure: INVALID_ARGUMENT with exactly `text` (see [`Cx::required`]).
pub fn guard_error(text: impl Into<String>) -> AppError {
    AppError {
        message: text.into(),
        r#where: GUARD_ERROR.to_string(),
        ..Default::default()
    }
}

const ID_ALPHABET: &[u8; 32] = b"ybndrfg8ejkmcpqxot1uwisza345h769";

/// A new 26-character Mattermost id (base32 of 128 random bits).
pub fn new_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    use std::hash::{BuildHasher, Hasher};
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let state = std::collections::hash_map::RandomState::new();
    let mut a = state.build_hasher();
    a.write_u64(n);
    a.write_u64(crate::clock::now_us());
    let mut b = state.build_hasher();
    b.write_u64(a.finish());
    b.write_u64(n.rotate_left(17));
    let bits = ((a.finish() as u128) << 64) | b.finish() as u128;
    (0..26)
        .map(|i| ID_ALPHABET[((bits >> (i * 5 % 128)) & 31) as usize] as char)
        .collect()
}

/// Whether `id` looks like a Mattermost id.
pub fn is_valid_id(id: &str) -> bool {
    id.len() == 26
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    (crate::clock::now_us() / 1000) as i64
}

/// Usernames upstream refuses whatever their form (`model.restrictedUsernames`).
const RESERVED_USERNAMES: &[&str] = &["all", "channel", "matterbot", "system"];

/// Mattermost's username rule (`model.IsValidUsername`): 1-64 of `a-z0-9.-_` (any of them
/// first), not one of the reserved names. Callers lower-case first, as upstream's
/// `PreSave`/`PreUpdate` do.
pub fn valid_username(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '_'))
        && !RESERVED_USERNAMES.contains(&name)
}

/// A plausible email: one `@` with text on both sides and a dot in the domain.
pub fn valid_email(email: &str) -> bool {
    match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !email.contains(char::is_whitespace)
        }
        None => false,
    }
}

/// Mattermost's channel name rule (`model.IsValidChannelIdentifier`: `^[a-z0-9]+([a-z\-_0-9]+|(__)?)[a-z0-9]*$`,
/// at least 1 character), with the 64-character limit of the name column.
pub fn valid_channel_name(name: &str) -> bool {
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    (1..=64).contains(&name.len())
        && name.starts_with(alnum)
        && name.chars().all(|c| alnum(c) || c == '-' || c == '_')
}

/// Upstream's reserved team names (`model.reservedName`); a name that STARTS with one of
/// them (case-insensitively) is reserved (`model.IsReservedTeamName`).
const RESERVED_TEAM_NAMES: &[&str] = &[
    "admin",
    "api",
    "channel",
    "claim",
    "error",
    "files",
    "help",
    "landing",
    "login",
    "mfa",
    "oauth",
    "plug",
    "plugins",
    "post",
    "signup",
    "boards",
    "playbooks",
];

/// `model.IsReservedTeamName`: the lower-cased name begins with a reserved word.
pub fn is_reserved_team_name(name: &str) -> bool {
    let lower = name.to_lowercase();
    RESERVED_TEAM_NAMES.iter().any(|r| lower.starts_with(r))
}

/// `model.IsValidTeamName` (reserved names aside): `^[a-z0-9]+([a-z\-0-9]+|(__)?)[a-z0-9]+$`,
/// so 2 or more characters of `a-z0-9-` beginning and ending with a letter or digit, or two
/// alphanumeric runs joined by `__`.
pub fn valid_team_name(name: &str) -> bool {
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    let b = name.as_bytes();
    if b.len() < 2 || !name.starts_with(alnum) || !name.ends_with(alnum) {
        return false;
    }
    if name.chars().all(|c| alnum(c) || c == '-') {
        return true;
    }
    // The `__` form: alphanumeric, `__`, alphanumeric.
    match name.split_once("__") {
        Some((a, z)) => {
            !a.is_empty() && !z.is_empty() && a.chars().all(alnum) && z.chars().all(alnum)
        }
        None => false,
    }
}

/// Page `page` (0-based) of `per_page` items; `per_page <= 0` means 60, as the REST API
/// defaults.
pub fn paginate<T: Clone>(items: &[T], page: i32, per_page: i32) -> Vec<T> {
    let per_page = if per_page <= 0 { 60 } else { per_page as usize };
    let start = (page.max(0) as usize).saturating_mul(per_page);
    items.iter().skip(start).take(per_page).cloned().collect()
}

/// Parses the roles of a team or channel member (`scope` = `team` or `channel`) into the
/// scheme flags `(guest, user, admin)`, role by role as upstream's `UpdateTeamMemberRoles` /
/// `updateChannelMemberRolesInternal` do: an unknown role is refused with
/// `app.role.get_by_name.app_error`, a scheme-managed role of another scope with
/// `scheme_role_id`, and guest together with user with `guest_and_user_id` (all 400).
/// (Every built-in role of the reference server is scheme-managed, so there are no explicit
/// roles.)
pub fn scheme_roles(
    cx: &Cx<'_>,
    roles: &str,
    scope: &str,
    scheme_role_id: &str,
    guest_and_user_id: &str,
) -> Res<(bool, bool, bool)> {
    let (mut guest, mut user, mut admin) = (false, false, false);
    for role in roles.split_whitespace() {
        match role.strip_prefix(scope).and_then(|r| r.strip_prefix('_')) {
            Some("guest") => guest = true,
            Some("user") => user = true,
            Some("admin") => admin = true,
            _ if ROLE_PERMISSIONS.iter().any(|(name, _)| *name == role) => {
                return Err(cx.bad(
                    scheme_role_id,
                    format!("{role:?} is not a {scope} scheme role"),
                ));
            }
            _ => {
                return Err(cx.bad(
                    "app.role.get_by_name.app_error",
                    format!("unknown role {role:?}"),
                ));
            }
        }
    }
    if guest && user {
        return Err(cx.bad(
            guest_and_user_id,
            format!("a member cannot be both {scope}_guest and {scope}_user"),
        ));
    }
    Ok((guest, user, admin))
}

/// Whether `data` starts like a PNG, JPEG or GIF image (profile images, team icons).
pub fn is_image(data: &[u8]) -> bool {
    data.starts_with(b"\x89PNG\r\n\x1a\n")
        || data.starts_with(&[0xFF, 0xD8, 0xFF])
        || data.starts_with(b"GIF87a")
        || data.starts_with(b"GIF89a")
}

/// A `google.protobuf.Struct` from string pairs.
pub fn struct_of(pairs: &[(&str, &str)]) -> prost_types::Struct {
    prost_types::Struct {
        fields: pairs
            .iter()
            .map(|(k, v)| {
                (
                    k.to_string(),
                    prost_types::Value {
                        kind: Some(prost_types::value::Kind::StringValue(v.to_string())),
                    },
                )
            })
            .collect(),
    }
}

/// Mattermost's built-in roles and the permissions the reference server gives them (a
/// subset of upstream's defaults: enough for permission checks to be consistent).
pub const ROLE_PERMISSIONS: &[(&str, &[&str])] = &[
    (
        "system_user",
        &[
            "create_team",
            "create_direct_channel",
            "create_group_channel",
            "list_public_teams",
            "join_public_teams",
            "view_members",
            "create_emojis",
        ],
    ),
    (
        "team_user",
        &[
            "view_team",
            "list_team_channels",
            "join_public_channels",
            "read_public_channel",
            "create_public_channel",
            "create_private_channel",
            "invite_user",
            "add_user_to_team",
        ],
    ),
    (
        "team_admin",
        &[
            "manage_team",
            "manage_team_roles",
            "remove_user_from_team",
            "manage_public_channel_members",
            "manage_private_channel_members",
            "delete_public_channel",
            "delete_private_channel",
            "manage_channel_roles",
            "delete_others_posts",
            "edit_others_posts",
        ],
    ),
    (
        "channel_user",
        &[
            "read_channel",
            "read_channel_content",
            "create_post",
            "edit_post",
            "delete_post",
            "upload_file",
            "add_reaction",
            "remove_reaction",
            "use_channel_mentions",
            "manage_public_channel_properties",
            "manage_private_channel_properties",
        ],
    ),
    (
        "channel_admin",
        &[
            "manage_channel_roles",
            "manage_public_channel_members",
            "manage_private_channel_members",
            "use_group_mentions",
        ],
    ),
    (
        "system_guest",
        &["create_direct_channel", "create_group_channel"],
    ),
    ("team_guest", &["view_team"]),
    (
        "channel_guest",
        &[
            "read_channel",
            "read_channel_content",
            "create_post",
            "add_reaction",
            "upload_file",
        ],
    ),
];

/// Whether any of the space-separated `roles` grants `permission`. `system_admin`
/// grants everything; an admin role also grants its user role's permissions.
pub fn roles_grant(roles: &str, permission: &str) -> bool {
    roles.split_whitespace().any(|role| {
        if role == "system_admin" {
            return true;
        }
        let implied: Vec<&str> = match role {
            "team_admin" => vec!["team_admin", "team_user"],
            "channel_admin" => vec!["channel_admin", "channel_user"],
            other => vec![other],
        };
        implied.iter().any(|r| {
            ROLE_PERMISSIONS
                .iter()
                .any(|(name, perms)| name == r && perms.contains(&permission))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_26_chars_and_unique() {
        let ids: std::collections::BTreeSet<String> = (0..2000).map(|_| new_id()).collect();
        assert_eq!(ids.len(), 2000);
        assert!(ids.iter().all(|i| is_valid_id(i)));
    }

    #[test]
    fn naming_rules() {
        assert!(valid_username("alice.b-c_1"));
        assert!(valid_username("1alice"));
        assert!(valid_username("a"));
        assert!(valid_username("here"));
        assert!(!valid_username("Al"));
        assert!(!valid_username("a b"));
        assert!(!valid_username(""));
        assert!(!valid_username(&"a".repeat(65)));
        assert!(!valid_username("all"));
        assert!(!valid_username("matterbot"));
        assert!(valid_email("a@b.co"));
        assert!(!valid_email("a@b"));
        assert!(!valid_email("ab.co"));
        assert!(valid_team_name("core-team"));
        assert!(valid_team_name("1a"));
        assert!(valid_team_name("ab__cd"));
        assert!(!valid_team_name("a"));
        assert!(!valid_team_name("ab-"));
        assert!(!valid_team_name("Bad Name"));
        assert!(is_reserved_team_name("api"));
        assert!(is_reserved_team_name("APIstuff"));
        assert!(!is_reserved_team_name("myapi"));
        assert!(valid_channel_name("a"));
        assert!(valid_channel_name("a-"));
        assert!(!valid_channel_name("_a"));
        assert!(valid_channel_name("town-square"));
        assert!(!valid_channel_name("Town"));
        assert_eq!(paginate(&[1, 2, 3, 4, 5], 1, 2), vec![3, 4]);
        assert_eq!(paginate(&[1, 2, 3], 5, 2), Vec::<i32>::new());
    }

    #[test]
    fn scheme_role_parsing() {
        let mut store = Store::default();
        let cx = Cx {
            store: &mut store,
            plugin_id: "p",
            now: 0,
            rpc: "test",
            effect: None,
        };
        let (p, g) = ("api.x.scheme_role", "api.x.guest_and_user");
        assert_eq!(
            scheme_roles(&cx, "channel_user channel_admin", "channel", p, g).unwrap(),
            (false, true, true)
        );
        let id = |r: Res<(bool, bool, bool)>| r.unwrap_err().id;
        assert_eq!(id(scheme_roles(&cx, "team_admin", "channel", p, g)), p);
        assert_eq!(
            id(scheme_roles(&cx, "nosuch", "team", p, g)),
            "app.role.get_by_name.app_error"
        );
        assert_eq!(
            id(scheme_roles(&cx, "team_guest team_user", "team", p, g)),
            g
        );
    }

    #[test]
    fn roles() {
        assert!(roles_grant("system_user system_admin", "manage_system"));
        assert!(roles_grant("team_admin", "view_team"));
        assert!(!roles_grant("team_user", "manage_team"));
        assert!(roles_grant("channel_user", "create_post"));
        assert!(!roles_grant("", "create_post"));
    }
}
