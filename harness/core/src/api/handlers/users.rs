//! User rpcs of the reference PluginAPI server: accounts (create, update, soft delete by
//! deactivation), lookups and listings, presence statuses, custom statuses, profile
//! images, permission checks, auth data and system roles.

// Every handler answers `Res<_>`, whose error is the protocol's AppError message.
#![allow(clippy::result_large_err)]

use std::collections::{BTreeMap, BTreeSet};

use super::prelude::*;

/// A stored presence status (a user without one is offline).
#[derive(Debug, Clone, Default)]
struct StatusRec {
    status: String,
    manual: bool,
    last_activity_at: i64,
    /// Timed do-not-disturb end, Unix seconds; 0 = none.
    dnd_end_time: i64,
    /// The status to return to when a timed DND ends.
    prev_status: String,
}

/// Users and what hangs off them. Other domains read `users` (see `Cx::user`).
#[derive(Debug, Default)]
pub struct UsersState {
    /// Users by id.
    pub users: BTreeMap<String, User>,
    /// Presence by user id.
    statuses: BTreeMap<String, StatusRec>,
    /// Uploaded profile images by user id.
    images: BTreeMap<String, Vec<u8>>,
    /// Typing events published: (user id, channel id, parent id, time).
    typing: Vec<(String, String, String, i64)>,
}

/// Mattermost's default notify props for a new user (`User.SetDefaultNotifications`).
const DEFAULT_NOTIFY_PROPS: &[(&str, &str)] = &[
    ("email", "true"),
    ("push", "mention"),
    ("desktop", "mention"),
    ("desktop_sound", "true"),
    ("mention_keys", ""),
    ("channel", "true"),
    ("first_name", "false"),
    ("push_status", "away"),
    ("comments", "never"),
    ("desktop_threads", "all"),
    ("email_threads", "all"),
    ("push_threads", "all"),
];

/// The user as rpcs answer it: never the password hash or the MFA secret.
fn sanitized(mut user: User) -> User {
    user.password.clear();
    user.mfa_secret.clear();
    user
}

/// Mattermost's field checks (`User.IsValid`) after normalisation.
fn validate_user(cx: &Cx<'_>, user: &User) -> Res<()> {
    let invalid =
        |field: &str, msg: String| cx.bad(&format!("model.user.is_valid.{field}.app_error"), msg);
    if !valid_username(&user.username) {
        return Err(invalid(
            "username",
            format!("invalid username {:?}", user.username),
        ));
    }
    if user.email.len() > 128 || !valid_email(&user.email) {
        return Err(invalid("email", format!("invalid email {:?}", user.email)));
    }
    for (field, value, max) in [
        ("nickname", &user.nickname, 64),
        ("first_name", &user.first_name, 64),
        ("last_name", &user.last_name, 64),
        ("position", &user.position, 128),
    ] {
        if value.chars().count() > max {
            return Err(invalid(field, format!("{field} is longer than {max}")));
        }
    }
    if user.locale.chars().count() > 5 {
        return Err(invalid(
            "locale",
            format!("invalid locale {:?}", user.locale),
        ));
    }
    Ok(())
}

/// Refuses a username or email another user (`except` excluded) already has.
fn check_unique(cx: &Cx<'_>, user: &User, except: &str) -> Res<()> {
    for other in cx.store.users.users.values() {
        if other.id == except {
            continue;
        }
        if other.username == user.username {
            return Err(cx.bad(
                "app.user.save.username_exists.app_error",
                format!(
                    "an account with username {:?} already exists",
                    user.username
                ),
            ));
        }
        if other.email == user.email {
            return Err(cx.bad(
                "app.user.save.email_exists.app_error",
                format!("an account with email {:?} already exists", user.email),
            ));
        }
    }
    Ok(())
}

/// Lowercases username and email as Mattermost's `PreSave`/`PreUpdate` do and fills the
/// maps' defaults.
fn normalize(user: &mut User) {
    user.username = user.username.trim().to_lowercase();
    user.email = user.email.trim().to_lowercase();
    for (k, v) in DEFAULT_NOTIFY_PROPS {
        user.notify_props
            .entry(k.to_string())
            .or_insert_with(|| v.to_string());
    }
    if user.locale.is_empty() {
        user.locale = "en".into();
    }
    if user.timezone.is_empty() {
        for (k, v) in [
            ("automaticTimezone", ""),
            ("manualTimezone", ""),
            ("useAutomaticTimezone", "true"),
        ] {
            user.timezone.insert(k.into(), v.into());
        }
    }
    if user.auth_data.as_deref() == Some("") {
        user.auth_data = None;
    }
}

/// `CreateUser`: create a user account from a User message.
pub fn create_user(cx: &mut Cx<'_>, req: CreateUserRequest) -> Res<CreateUserResponse> {
    let mut user = req.user.ok_or_else(|| cx.required("user"))?;
    if !user.id.is_empty() {
        return Err(cx.bad(
            "model.user.is_valid.id.app_error",
            "a new user must not have an id",
        ));
    }
    normalize(&mut user);
    validate_user(cx, &user)?;
    check_unique(cx, &user, "")?;
    user.id = new_id();
    user.create_at = cx.now;
    user.update_at = cx.now;
    user.delete_at = 0;
    if user.roles.trim().is_empty() {
        user.roles = "system_user".into();
    }
    if !user.password.is_empty() {
        // The reference server keeps no password; only the time it was set.
        user.last_password_update = cx.now;
        user.password.clear();
    }
    user.mfa_secret.clear();
    user.mfa_active = false;
    user.failed_attempts = 0;
    cx.store.users.users.insert(user.id.clone(), user.clone());
    Ok(CreateUserResponse {
        user: Some(sanitized(user)),
        ..Default::default()
    })
}

/// `GetUser`: fetch one user by id.
pub fn get_user(cx: &mut Cx<'_>, req: GetUserRequest) -> Res<GetUserResponse> {
    let user = cx.user(&req.user_id)?;
    Ok(GetUserResponse {
        user: Some(sanitized(user)),
        ..Default::default()
    })
}

/// `UpdateUser`: overwrite a user record. As upstream's untrusted update, the id,
/// create_at, delete_at, roles, auth data, password and MFA fields are kept; update_at
/// is bumped.
pub fn update_user(cx: &mut Cx<'_>, req: UpdateUserRequest) -> Res<UpdateUserResponse> {
    let mut user = req.user.ok_or_else(|| cx.required("user"))?;
    let old = cx.user(&user.id)?;
    normalize(&mut user);
    validate_user(cx, &user)?;
    check_unique(cx, &user, &old.id)?;
    user.create_at = old.create_at;
    user.update_at = cx.now.max(old.update_at + 1);
    user.delete_at = old.delete_at;
    user.roles = old.roles.clone();
    user.auth_data = old.auth_data.clone();
    user.auth_service = old.auth_service.clone();
    user.password = old.password.clone();
    user.last_password_update = old.last_password_update;
    user.last_picture_update = old.last_picture_update;
    user.failed_attempts = old.failed_attempts;
    user.mfa_active = old.mfa_active;
    user.mfa_secret = old.mfa_secret.clone();
    user.is_bot = old.is_bot;
    if user.email != old.email {
        user.email_verified = false;
    }
    cx.store.users.users.insert(user.id.clone(), user.clone());
    Ok(UpdateUserResponse {
        user: Some(sanitized(user)),
        ..Default::default()
    })
}

/// Ids of the users with a live membership of `team_id`, with their team roles.
fn team_members(cx: &Cx<'_>, team_id: &str) -> BTreeMap<String, String> {
    cx.store
        .teams
        .members
        .values()
        .filter(|m| m.team_id == team_id && m.delete_at == 0)
        .map(|m| (m.user_id.clone(), m.roles.clone()))
        .collect()
}

/// Ids of the members of `channel_id`, with their channel roles.
fn channel_members(cx: &Cx<'_>, channel_id: &str) -> BTreeMap<String, String> {
    cx.store
        .channels
        .members
        .values()
        .filter(|m| m.channel_id == channel_id)
        .map(|m| (m.user_id.clone(), m.roles.clone()))
        .collect()
}

/// Ids of the users with a live membership of any team.
fn users_with_team(cx: &Cx<'_>) -> BTreeSet<String> {
    cx.store
        .teams
        .members
        .values()
        .filter(|m| m.delete_at == 0)
        .map(|m| m.user_id.clone())
        .collect()
}

/// Whether any of the space-separated `roles` is in `wanted`.
fn has_any_role(roles: &str, wanted: &[String]) -> bool {
    roles
        .split_whitespace()
        .any(|r| wanted.iter().any(|w| w == r))
}

fn by_username(users: &mut [User]) {
    users.sort_by(|a, b| a.username.cmp(&b.username).then(a.id.cmp(&b.id)));
}

fn check_paging(cx: &Cx<'_>, page: i32, per_page: i32) -> Res<()> {
    if page < 0 || per_page < 0 {
        return Err(cx.bad(
            "api.context.invalid_param.app_error",
            "page and per_page must not be negative",
        ));
    }
    Ok(())
}

/// The user's status now; a timed DND that has ended reverts to the previous status.
fn status_of(cx: &mut Cx<'_>, user_id: &str) -> Status {
    let now_s = cx.now / 1000;
    let rec = cx.store.users.statuses.entry(user_id.to_string());
    let rec = match rec {
        std::collections::btree_map::Entry::Occupied(mut e) => {
            let r = e.get_mut();
            if r.status == "dnd" && r.dnd_end_time > 0 && r.dnd_end_time <= now_s {
                r.status = if r.prev_status.is_empty() {
                    "online".into()
                } else {
                    std::mem::take(&mut r.prev_status)
                };
                r.dnd_end_time = 0;
            }
            r.clone()
        }
        std::collections::btree_map::Entry::Vacant(_) => StatusRec {
            status: "offline".into(),
            ..Default::default()
        },
    };
    Status {
        user_id: user_id.to_string(),
        status: rec.status,
        manual: rec.manual,
        last_activity_at: rec.last_activity_at,
        dnd_end_time: rec.dnd_end_time,
    }
}

fn set_status(cx: &mut Cx<'_>, user_id: &str, status: &str, dnd_end_time: i64) {
    let now = cx.now;
    let rec = cx
        .store
        .users
        .statuses
        .entry(user_id.to_string())
        .or_default();
    if status == "dnd" && rec.status != "dnd" {
        rec.prev_status = if rec.status.is_empty() {
            "offline".into()
        } else {
            rec.status.clone()
        };
    }
    rec.status = status.to_string();
    rec.manual = true;
    rec.last_activity_at = now;
    rec.dnd_end_time = dnd_end_time;
}

/// Deactivates (`delete_at = now`) or reactivates a user; deactivation revokes the
/// user's sessions and sets them offline, as upstream's `UpdateActive`.
fn set_active(cx: &mut Cx<'_>, user_id: &str, active: bool) -> Res<()> {
    let now = cx.now;
    let mut user = cx.user(user_id)?;
    user.delete_at = if active { 0 } else { now };
    user.update_at = now.max(user.update_at + 1);
    cx.store.users.users.insert(user.id.clone(), user);
    if !active {
        super::sessions::revoke_all_for_user(cx, user_id);
        if let Some(rec) = cx.store.users.statuses.get_mut(user_id) {
            rec.status = "offline".into();
            rec.dnd_end_time = 0;
        }
    }
    Ok(())
}

/// `DeleteUser`: delete a user by id. As upstream's plugin API this is a soft delete: the
/// user is deactivated (`delete_at` set) and stays readable.
pub fn delete_user(cx: &mut Cx<'_>, req: DeleteUserRequest) -> Res<DeleteUserResponse> {
    set_active(cx, &req.user_id, false)?;
    Ok(DeleteUserResponse::default())
}

/// `GetUsers`: list users matching filter/paging options. Group filters match nobody:
/// the reference server keeps no group memberships here.
pub fn get_users(cx: &mut Cx<'_>, req: GetUsersRequest) -> Res<GetUsersResponse> {
    check_paging(cx, req.page, req.per_page)?;
    let in_team = (!req.in_team_id.is_empty()).then(|| team_members(cx, &req.in_team_id));
    let not_in_team =
        (!req.not_in_team_id.is_empty()).then(|| team_members(cx, &req.not_in_team_id));
    let in_channel =
        (!req.in_channel_id.is_empty()).then(|| channel_members(cx, &req.in_channel_id));
    let not_in_channel =
        (!req.not_in_channel_id.is_empty()).then(|| channel_members(cx, &req.not_in_channel_id));
    let with_team = users_with_team(cx);
    let restriction = req.view_restrictions.as_ref().map(|r| {
        let mut ids = BTreeSet::new();
        for t in &r.teams {
            ids.extend(team_members(cx, t).into_keys());
        }
        for c in &r.channels {
            ids.extend(channel_members(cx, c).into_keys());
        }
        ids
    });
    let mut roles = req.roles.clone();
    if !req.role.is_empty() {
        roles.push(req.role.clone());
    }
    let mut users: Vec<User> = cx
        .store
        .users
        .users
        .values()
        .filter(|u| {
            if !req.in_group_id.is_empty() {
                return false;
            }
            if let Some(m) = &in_team {
                match m.get(&u.id) {
                    None => return false,
                    Some(r) if !req.team_roles.is_empty() && !has_any_role(r, &req.team_roles) => {
                        return false;
                    }
                    _ => {}
                }
            }
            if let Some(m) = &in_channel {
                match m.get(&u.id) {
                    None => return false,
                    Some(r)
                        if !req.channel_roles.is_empty()
                            && !has_any_role(r, &req.channel_roles) =>
                    {
                        return false;
                    }
                    _ => {}
                }
            }
            if not_in_team.as_ref().is_some_and(|m| m.contains_key(&u.id))
                || not_in_channel
                    .as_ref()
                    .is_some_and(|m| m.contains_key(&u.id))
                || (req.without_team && with_team.contains(&u.id))
                || restriction.as_ref().is_some_and(|r| !r.contains(&u.id))
            {
                return false;
            }
            if req.inactive {
                if u.delete_at == 0 {
                    return false;
                }
            } else if req.active && u.delete_at != 0 {
                return false;
            }
            if !roles.is_empty() && !has_any_role(&u.roles, &roles) {
                return false;
            }
            u.update_at > req.updated_after
        })
        .cloned()
        .map(sanitized)
        .collect();
    match req.sort.as_str() {
        "create_at" => users.sort_by(|a, b| b.create_at.cmp(&a.create_at).then(a.id.cmp(&b.id))),
        "last_activity_at" => users.sort_by(|a, b| {
            b.last_activity_at
                .cmp(&a.last_activity_at)
                .then(a.username.cmp(&b.username))
        }),
        _ => by_username(&mut users),
    }
    Ok(GetUsersResponse {
        users: paginate(&users, req.page, req.per_page),
        ..Default::default()
    })
}

/// `GetUsersByIds`: fetch several users by id, in the order asked; unknown ids are
/// skipped, duplicates answered once.
pub fn get_users_by_ids(cx: &mut Cx<'_>, req: GetUsersByIdsRequest) -> Res<GetUsersByIdsResponse> {
    let mut seen = BTreeSet::new();
    let users = req
        .user_ids
        .iter()
        .filter(|id| seen.insert(id.as_str()))
        .filter_map(|id| cx.store.users.users.get(id).cloned().map(sanitized))
        .collect();
    Ok(GetUsersByIdsResponse {
        users,
        ..Default::default()
    })
}

/// `GetUserByEmail`: look a user up by email address (case-insensitive).
pub fn get_user_by_email(
    cx: &mut Cx<'_>,
    req: GetUserByEmailRequest,
) -> Res<GetUserByEmailResponse> {
    let email = req.email.trim().to_lowercase();
    let user = cx
        .store
        .users
        .users
        .values()
        .find(|u| !email.is_empty() && u.email == email)
        .cloned()
        .ok_or_else(|| {
            cx.err(
                404,
                "app.user.missing_account.const",
                format!("no user with email {:?}", req.email),
            )
        })?;
    Ok(GetUserByEmailResponse {
        user: Some(sanitized(user)),
        ..Default::default()
    })
}

/// `GetUserByUsername`: look a user up by username (case-insensitive).
pub fn get_user_by_username(
    cx: &mut Cx<'_>,
    req: GetUserByUsernameRequest,
) -> Res<GetUserByUsernameResponse> {
    let name = req.name.trim().to_lowercase();
    let user = cx
        .store
        .users
        .users
        .values()
        .find(|u| !name.is_empty() && u.username == name)
        .cloned()
        .ok_or_else(|| {
            cx.err(
                404,
                "app.user.get_by_username.app_error",
                format!("no user with username {:?}", req.name),
            )
        })?;
    Ok(GetUserByUsernameResponse {
        user: Some(sanitized(user)),
        ..Default::default()
    })
}

/// `GetUsersByUsernames`: fetch several users by username, in the order asked; unknown
/// names are skipped.
pub fn get_users_by_usernames(
    cx: &mut Cx<'_>,
    req: GetUsersByUsernamesRequest,
) -> Res<GetUsersByUsernamesResponse> {
    let by_name: BTreeMap<&str, &User> = cx
        .store
        .users
        .users
        .values()
        .map(|u| (u.username.as_str(), u))
        .collect();
    let mut seen = BTreeSet::new();
    let users = req
        .usernames
        .iter()
        .map(|n| n.trim().to_lowercase())
        .filter(|n| seen.insert(n.clone()))
        .filter_map(|n| by_name.get(n.as_str()).map(|u| sanitized((*u).clone())))
        .collect();
    Ok(GetUsersByUsernamesResponse {
        users,
        ..Default::default()
    })
}

/// `GetUsersInTeam`: page through members of a team as users, sorted by username.
pub fn get_users_in_team(
    cx: &mut Cx<'_>,
    req: GetUsersInTeamRequest,
) -> Res<GetUsersInTeamResponse> {
    check_paging(cx, req.page, req.per_page)?;
    cx.team(&req.team_id)?;
    let members = team_members(cx, &req.team_id);
    let mut users: Vec<User> = members
        .keys()
        .filter_map(|id| cx.store.users.users.get(id).cloned().map(sanitized))
        .collect();
    by_username(&mut users);
    Ok(GetUsersInTeamResponse {
        users: paginate(&users, req.page, req.per_page),
        ..Default::default()
    })
}

/// `GetUserStatus`: read a user's presence status (offline when never set).
pub fn get_user_status(cx: &mut Cx<'_>, req: GetUserStatusRequest) -> Res<GetUserStatusResponse> {
    if !cx.store.users.users.contains_key(&req.user_id) {
        return Err(cx.err(
            404,
            "app.status.get.missing.app_error",
            format!("no status for user {:?}", req.user_id),
        ));
    }
    let status = status_of(cx, &req.user_id);
    Ok(GetUserStatusResponse {
        status: Some(status),
        ..Default::default()
    })
}

/// `GetUserStatusesByIds`: read presence for several users, in the order asked; a user
/// without a status (or unknown) is offline, as upstream.
pub fn get_user_statuses_by_ids(
    cx: &mut Cx<'_>,
    req: GetUserStatusesByIdsRequest,
) -> Res<GetUserStatusesByIdsResponse> {
    let mut seen = BTreeSet::new();
    let ids: Vec<String> = req
        .user_ids
        .into_iter()
        .filter(|id| seen.insert(id.clone()))
        .collect();
    let statuses = ids.iter().map(|id| status_of(cx, id)).collect();
    Ok(GetUserStatusesByIdsResponse {
        statuses,
        ..Default::default()
    })
}

/// `UpdateUserStatus`: set a user's presence (online/away/dnd/offline), manually.
pub fn update_user_status(
    cx: &mut Cx<'_>,
    req: UpdateUserStatusRequest,
) -> Res<UpdateUserStatusResponse> {
    cx.user(&req.user_id)?;
    if !matches!(req.status.as_str(), "online" | "away" | "dnd" | "offline") {
        return Err(cx.bad(
            "plugin.api.update_user_status.bad_status",
            format!("unrecognized status {:?}", req.status),
        ));
    }
    set_status(cx, &req.user_id, &req.status, 0);
    let status = status_of(cx, &req.user_id);
    Ok(UpdateUserStatusResponse {
        status: Some(status),
        ..Default::default()
    })
}

/// `SetUserStatusTimedDND`: put a user in do-not-disturb until `end_time` (Unix seconds,
/// truncated to the minute as upstream); afterwards the previous status returns.
pub fn set_user_status_timed_dnd(
    cx: &mut Cx<'_>,
    req: SetUserStatusTimedDndRequest,
) -> Res<SetUserStatusTimedDndResponse> {
    cx.user(&req.user_id)?;
    let end = req.end_time - req.end_time.rem_euclid(60);
    if end <= cx.now / 1000 {
        return Err(cx.bad(
            "api.status.dnd_end_time.app_error",
            format!("end_time {} is not in the future", req.end_time),
        ));
    }
    set_status(cx, &req.user_id, "dnd", end);
    let status = status_of(cx, &req.user_id);
    Ok(SetUserStatusTimedDndResponse {
        status: Some(status),
        ..Default::default()
    })
}

/// `UpdateUserActive`: activate or deactivate a user (`delete_at`).
pub fn update_user_active(
    cx: &mut Cx<'_>,
    req: UpdateUserActiveRequest,
) -> Res<UpdateUserActiveResponse> {
    set_active(cx, &req.user_id, req.active)?;
    Ok(UpdateUserActiveResponse::default())
}

/// Custom-status durations upstream accepts.
const CUSTOM_STATUS_DURATIONS: &[&str] = &[
    "",
    "thirty_minutes",
    "one_hour",
    "four_hours",
    "today",
    "this_week",
    "date_and_time",
];

/// RFC 3339 UTC of Unix milliseconds; 0 is Go's zero time.
fn rfc3339(ms: i64) -> String {
    if ms == 0 {
        return "0001-01-01T00:00:00Z".into();
    }
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// `UpdateUserCustomStatus`: set a user's custom status (emoji/text/expiry), stored as
/// upstream does: JSON in the user's `customStatus` prop. `expires_at` is Unix ms.
pub fn update_user_custom_status(
    cx: &mut Cx<'_>,
    req: UpdateUserCustomStatusRequest,
) -> Res<UpdateUserCustomStatusResponse> {
    let mut user = cx.user(&req.user_id)?;
    let invalid = |msg: &str| {
        cx.bad(
            "api.custom_status.set_custom_statuses.update.app_error",
            msg.to_string(),
        )
    };
    let cs = req
        .custom_status
        .ok_or_else(|| cx.required("custom_status"))?;
    if cs.emoji.is_empty() && cs.text.is_empty() {
        return Err(invalid("a custom status needs an emoji or a text"));
    }
    if !CUSTOM_STATUS_DURATIONS.contains(&cs.duration.as_str()) {
        return Err(invalid("unknown custom status duration"));
    }
    if cs.expires_at != 0 && cs.expires_at < cx.now {
        return Err(invalid("the custom status expiry is in the past"));
    }
    let emoji = if cs.emoji.is_empty() {
        "speech_balloon".to_string()
    } else {
        cs.emoji
    };
    let text: String = cs.text.chars().take(100).collect();
    let duration = if cs.duration.is_empty() && cs.expires_at != 0 {
        "date_and_time".to_string()
    } else {
        cs.duration
    };
    let json = serde_json::json!({
        "emoji": emoji,
        "text": text,
        "duration": duration,
        "expires_at": rfc3339(cs.expires_at),
    });
    user.props.insert("customStatus".into(), json.to_string());
    user.update_at = cx.now.max(user.update_at + 1);
    cx.store.users.users.insert(user.id.clone(), user);
    Ok(UpdateUserCustomStatusResponse::default())
}

/// `RemoveUserCustomStatus`: clear a user's custom status.
pub fn remove_user_custom_status(
    cx: &mut Cx<'_>,
    req: RemoveUserCustomStatusRequest,
) -> Res<RemoveUserCustomStatusResponse> {
    let mut user = cx.user(&req.user_id)?;
    if user.props.remove("customStatus").is_some() {
        user.update_at = cx.now.max(user.update_at + 1);
        cx.store.users.users.insert(user.id.clone(), user);
    }
    Ok(RemoveUserCustomStatusResponse::default())
}

/// `GetUsersInChannel`: page through users in a channel, sorted by `username` or by
/// `status` (online, away, dnd, offline, then username), as upstream's plugin API.
pub fn get_users_in_channel(
    cx: &mut Cx<'_>,
    req: GetUsersInChannelRequest,
) -> Res<GetUsersInChannelResponse> {
    if !matches!(req.sort_by.as_str(), "username" | "status") {
        return Err(cx.bad(
            "plugin.api.get_users_in_channel",
            format!("invalid sort option {:?}", req.sort_by),
        ));
    }
    check_paging(cx, req.page, req.per_page)?;
    cx.channel(&req.channel_id)?;
    let members = channel_members(cx, &req.channel_id);
    let mut users: Vec<User> = members
        .keys()
        .filter_map(|id| cx.store.users.users.get(id).cloned().map(sanitized))
        .collect();
    by_username(&mut users);
    if req.sort_by == "status" {
        users.retain(|u| u.delete_at == 0);
        let mut keyed: Vec<(u8, User)> = users
            .into_iter()
            .map(|u| {
                let rank = match status_of(cx, &u.id).status.as_str() {
                    "online" => 0,
                    "away" => 1,
                    "dnd" => 2,
                    _ => 3,
                };
                (rank, u)
            })
            .collect();
        keyed.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.username.cmp(&b.1.username)));
        users = keyed.into_iter().map(|(_, u)| u).collect();
    }
    Ok(GetUsersInChannelResponse {
        users: paginate(&users, req.page, req.per_page),
        ..Default::default()
    })
}

/// `GetLDAPUserAttributes`: read selected LDAP attributes of a user. The reference server
/// has no LDAP directory: it answers from the user's own fields, under Mattermost field
/// names (`email`, `username`, `first_name`, ...) or common LDAP names (`mail`, `uid`,
/// `givenName`, `sn`, ...). Unknown or empty attributes are left out; an unknown user
/// is 404.
pub fn get_ldap_user_attributes(
    cx: &mut Cx<'_>,
    req: GetLdapUserAttributesRequest,
) -> Res<GetLdapUserAttributesResponse> {
    let user = cx.user(&req.user_id)?;
    let mut attributes = std::collections::HashMap::new();
    for name in &req.attributes {
        let value = match name.as_str() {
            "id" => user.id.clone(),
            "username" | "uid" | "sAMAccountName" => user.username.clone(),
            "email" | "mail" => user.email.clone(),
            "first_name" | "givenName" => user.first_name.clone(),
            "last_name" | "sn" => user.last_name.clone(),
            "nickname" | "displayName" => user.nickname.clone(),
            "position" | "title" => user.position.clone(),
            "locale" => user.locale.clone(),
            "auth_data" => user.auth_data.clone().unwrap_or_default(),
            _ => String::new(),
        };
        if !value.is_empty() {
            attributes.insert(name.clone(), value);
        }
    }
    Ok(GetLdapUserAttributesResponse {
        attributes,
        ..Default::default()
    })
}

/// Whether a user matches a search term: every word is a case-insensitive prefix of the
/// username, first name, last name, nickname or email (a leading `@` is ignored).
fn matches_term(user: &User, term: &str) -> bool {
    let fields = [
        &user.username,
        &user.first_name,
        &user.last_name,
        &user.nickname,
        &user.email,
    ]
    .map(|f| f.to_lowercase());
    term.split_whitespace().all(|word| {
        let word = word.trim_start_matches('@').to_lowercase();
        fields.iter().any(|f| {
            f.starts_with(&word)
                || f.split(['.', '-', '_', ' '])
                    .any(|part| part.starts_with(&word))
        })
    })
}

/// `SearchUsers`: search users by term and filters, sorted by username, at most `limit`
/// (default 100, at most 1000). Inactive users only with `allow_inactive`; group filters
/// match nobody (no group memberships here).
pub fn search_users(cx: &mut Cx<'_>, req: SearchUsersRequest) -> Res<SearchUsersResponse> {
    if req.limit < 0 {
        return Err(cx.bad(
            "api.context.invalid_param.app_error",
            "limit must not be negative",
        ));
    }
    let limit = if req.limit == 0 {
        100
    } else {
        req.limit.min(1000)
    } as usize;
    let in_team = (!req.team_id.is_empty()).then(|| team_members(cx, &req.team_id));
    let not_in_team =
        (!req.not_in_team_id.is_empty()).then(|| team_members(cx, &req.not_in_team_id));
    let in_channel =
        (!req.in_channel_id.is_empty()).then(|| channel_members(cx, &req.in_channel_id));
    let not_in_channel =
        (!req.not_in_channel_id.is_empty()).then(|| channel_members(cx, &req.not_in_channel_id));
    let with_team = users_with_team(cx);
    let mut roles = req.roles.clone();
    if !req.role.is_empty() {
        roles.push(req.role.clone());
    }
    let mut users: Vec<User> = cx
        .store
        .users
        .users
        .values()
        .filter(|u| {
            let team_ok = in_team.as_ref().is_none_or(|m| {
                m.get(&u.id)
                    .is_some_and(|r| req.team_roles.is_empty() || has_any_role(r, &req.team_roles))
            });
            let channel_ok = in_channel.as_ref().is_none_or(|m| {
                m.get(&u.id).is_some_and(|r| {
                    req.channel_roles.is_empty() || has_any_role(r, &req.channel_roles)
                })
            });
            req.in_group_id.is_empty()
                && team_ok
                && channel_ok
                && !not_in_team.as_ref().is_some_and(|m| m.contains_key(&u.id))
                && !not_in_channel
                    .as_ref()
                    .is_some_and(|m| m.contains_key(&u.id))
                && !(req.without_team && with_team.contains(&u.id))
                && (req.allow_inactive || u.delete_at == 0)
                && (roles.is_empty() || has_any_role(&u.roles, &roles))
                && matches_term(u, &req.term)
        })
        .cloned()
        .map(sanitized)
        .collect();
    by_username(&mut users);
    users.truncate(limit);
    Ok(SearchUsersResponse {
        users,
        ..Default::default()
    })
}

/// A 1x1 PNG (Mattermost blue): the generated default avatar.
const DEFAULT_AVATAR_PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x90, 0x9b, 0xf0, 0xff,
    0x3f, 0x00, 0x05, 0x2a, 0x02, 0xad, 0x8b, 0xac, 0xef, 0x6c, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// `GetProfileImage`: download a user's avatar bytes (a generated PNG when none was set).
pub fn get_profile_image(
    cx: &mut Cx<'_>,
    req: GetProfileImageRequest,
) -> Res<GetProfileImageResponse> {
    cx.user(&req.user_id)?;
    let image = cx
        .store
        .users
        .images
        .get(&req.user_id)
        .cloned()
        .unwrap_or_else(|| DEFAULT_AVATAR_PNG.to_vec());
    Ok(GetProfileImageResponse {
        image,
        ..Default::default()
    })
}

/// `SetProfileImage`: upload a user's avatar bytes (PNG, JPEG or GIF, else 400); sets
/// `last_picture_update`.
pub fn set_profile_image(
    cx: &mut Cx<'_>,
    req: SetProfileImageRequest,
) -> Res<SetProfileImageResponse> {
    let mut user = cx.user(&req.user_id)?;
    if !is_image(&req.data) {
        return Err(cx.bad(
            "api.user.upload_profile_user.decode.app_error",
            "the profile image is not a PNG, JPEG or GIF image",
        ));
    }
    cx.store.users.images.insert(user.id.clone(), req.data);
    user.last_picture_update = cx.now.max(user.last_picture_update + 1);
    user.update_at = cx.now.max(user.update_at + 1);
    cx.store.users.users.insert(user.id.clone(), user);
    Ok(SetProfileImageResponse::default())
}

/// The system roles of a user, if it exists.
fn system_roles(cx: &Cx<'_>, user_id: &str) -> Option<String> {
    cx.store.users.users.get(user_id).map(|u| u.roles.clone())
}

/// Team-level grant: the user's live team membership roles.
fn team_grants(cx: &Cx<'_>, user_id: &str, team_id: &str, permission: &str) -> bool {
    cx.store
        .teams
        .members
        .get(&(team_id.to_string(), user_id.to_string()))
        .is_some_and(|m| m.delete_at == 0 && roles_grant(&m.roles, permission))
}

/// `HasPermissionTo`: check a system-wide permission for a user (unknown user: false).
pub fn has_permission_to(
    cx: &mut Cx<'_>,
    req: HasPermissionToRequest,
) -> Res<HasPermissionToResponse> {
    let has_permission =
        system_roles(cx, &req.user_id).is_some_and(|r| roles_grant(&r, &req.permission_id));
    Ok(HasPermissionToResponse {
        has_permission,
        ..Default::default()
    })
}

/// `HasPermissionToTeam`: check a team-scoped permission for a user: system roles, then
/// the team membership's roles.
pub fn has_permission_to_team(
    cx: &mut Cx<'_>,
    req: HasPermissionToTeamRequest,
) -> Res<HasPermissionToTeamResponse> {
    let has_permission = !req.team_id.is_empty()
        && system_roles(cx, &req.user_id).is_some_and(|r| {
            roles_grant(&r, &req.permission_id)
                || team_grants(cx, &req.user_id, &req.team_id, &req.permission_id)
        });
    Ok(HasPermissionToTeamResponse {
        has_permission,
        ..Default::default()
    })
}

/// `HasPermissionToChannel`: check a channel-scoped permission for a user: system roles,
/// then the channel membership's roles, then the roles in the channel's team.
pub fn has_permission_to_channel(
    cx: &mut Cx<'_>,
    req: HasPermissionToChannelRequest,
) -> Res<HasPermissionToChannelResponse> {
    let perm = &req.permission_id;
    let has_permission = !req.channel_id.is_empty()
        && system_roles(cx, &req.user_id).is_some_and(|r| {
            roles_grant(&r, perm)
                || cx
                    .store
                    .channels
                    .members
                    .get(&(req.channel_id.clone(), req.user_id.clone()))
                    .is_some_and(|m| roles_grant(&m.roles, perm))
                || cx
                    .store
                    .channels
                    .channels
                    .get(&req.channel_id)
                    .is_some_and(|c| {
                        !c.team_id.is_empty() && team_grants(cx, &req.user_id, &c.team_id, perm)
                    })
        });
    Ok(HasPermissionToChannelResponse {
        has_permission,
        ..Default::default()
    })
}

/// `PublishUserTyping`: broadcast a typing indicator for a user in a channel/thread. The
/// reference server has no websocket clients; it checks the user, channel and parent post
/// exist and records the event.
pub fn publish_user_typing(
    cx: &mut Cx<'_>,
    req: PublishUserTypingRequest,
) -> Res<PublishUserTypingResponse> {
    cx.user(&req.user_id)?;
    cx.channel(&req.channel_id)?;
    if !req.parent_id.is_empty() {
        cx.post(&req.parent_id)?;
    }
    let now = cx.now;
    let typing = &mut cx.store.users.typing;
    typing.push((req.user_id, req.channel_id, req.parent_id, now));
    if typing.len() > 1000 {
        typing.drain(..500);
    }
    Ok(PublishUserTypingResponse::default())
}

/// `UpdateUserAuth`: change a user's auth service/data (clears the password, as
/// upstream's `UpdateAuthData`); an (auth service, auth data) pair another user has is
/// 400.
pub fn update_user_auth(
    cx: &mut Cx<'_>,
    req: UpdateUserAuthRequest,
) -> Res<UpdateUserAuthResponse> {
    let mut user = cx.user(&req.user_id)?;
    let mut auth = req.user_auth.ok_or_else(|| cx.required("user_auth"))?;
    if auth.auth_data.as_deref() == Some("") {
        auth.auth_data = None;
    }
    if auth.auth_data.is_some()
        && cx.store.users.users.values().any(|u| {
            u.id != user.id && u.auth_service == auth.auth_service && u.auth_data == auth.auth_data
        })
    {
        return Err(cx.bad(
            "app.user.update_auth_data.email_exists.app_error",
            "another account already uses this auth service and data",
        ));
    }
    user.auth_service = auth.auth_service.clone();
    user.auth_data = auth.auth_data.clone();
    user.password.clear();
    user.update_at = cx.now.max(user.update_at + 1);
    cx.store.users.users.insert(user.id.clone(), user);
    Ok(UpdateUserAuthResponse {
        user_auth: Some(auth),
        ..Default::default()
    })
}

/// The system-level roles `UpdateUserRoles` accepts.
const SYSTEM_ROLES: &[&str] = &[
    "system_user",
    "system_admin",
    "system_guest",
    "system_user_manager",
    "system_manager",
    "system_read_only_admin",
    "system_post_all",
    "system_post_all_public",
    "system_user_access_token",
    "system_custom_group_admin",
];

/// `UpdateUserRoles`: replace a user's system roles (every role must exist, 400
/// otherwise; `system_admin` alone is refused, as upstream's `IsValidUserRoles`).
pub fn update_user_roles(
    cx: &mut Cx<'_>,
    req: UpdateUserRolesRequest,
) -> Res<UpdateUserRolesResponse> {
    let mut user = cx.user(&req.user_id)?;
    let roles: Vec<&str> = req.new_roles.split_whitespace().collect();
    if let Some(unknown) = roles.iter().find(|r| !SYSTEM_ROLES.contains(r)) {
        return Err(cx.bad(
            "app.role.check_roles_exist.role_not_found",
            format!("role {unknown:?} does not exist"),
        ));
    }
    if roles == ["system_admin"] {
        return Err(cx.bad(
            "model.user.is_valid.roles.app_error",
            "system_admin needs system_user too",
        ));
    }
    user.roles = roles.join(" ");
    user.update_at = cx.now.max(user.update_at + 1);
    cx.store.users.users.insert(user.id.clone(), user.clone());
    Ok(UpdateUserRolesResponse {
        user: Some(sanitized(user)),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_formats_unix_ms() {
        assert_eq!(rfc3339(0), "0001-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_000), "1970-01-01T00:00:01Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(4_102_444_799_000), "2099-12-31T23:59:59Z");
    }

    #[test]
    fn image_magic() {
        assert!(is_image(DEFAULT_AVATAR_PNG));
        assert!(is_image(b"GIF89a\x01\x00"));
        assert!(is_image(&[0xff, 0xd8, 0xff, 0xe0]));
        assert!(!is_image(b"hello world"));
        assert!(!is_image(b""));
    }

    #[test]
    fn search_terms_match_word_prefixes() {
        let user = User {
            username: "jane.doe".into(),
            first_name: "Jane".into(),
            last_name: "Smith-Doe".into(),
            email: "jd@example.com".into(),
            ..Default::default()
        };
        assert!(matches_term(&user, "@jane"));
        assert!(matches_term(&user, "doe"));
        assert!(matches_term(&user, "jane smith"));
        assert!(matches_term(&user, ""));
        assert!(!matches_term(&user, "ane"));
        assert!(!matches_term(&user, "jane jones"));
    }
}
