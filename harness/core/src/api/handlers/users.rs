//! User rpcs of the reference PluginAPI server: accounts (create, update, soft delete by
//! deactivation), lookups and listings, presence statuses, custom statuses, profile
//! images, permission checks, auth data and system roles.

// Every handler answers `Res<_>`, whose error is the protocol's AppError message.
#![allow(clippy::result_large_err)]

use std::collections::{BTreeMap, BTreeSet};

use super::prelude::*;

/// A stored presence status row (upstream `model.Status`); a user without one has no
/// status (GetUserStatus is 404).
#[derive(Debug, Clone, Default)]
struct StatusRec {
    status: String,
    manual: bool,
    last_activity_at: i64,
    /// Timed do-not-disturb end, as given (Unix seconds); 0 = none.
    dnd_end_time: i64,
    /// The status before a timed DND (upstream `PrevStatus`, never sent over gRPC).
    prev_status: String,
}

/// Users and what hangs off them. Other domains read `users` (see `Cx::user`).
#[derive(Debug, Default)]
pub struct UsersState {
    /// Users by id, as stored: the password is a bcrypt hash.
    pub users: BTreeMap<String, User>,
    /// Presence by user id (any id: upstream writes rows for unknown ids too).
    statuses: BTreeMap<String, StatusRec>,
    /// Profile images (PNG) by user id.
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

/// The bcrypt cost of stored password hashes. Upstream uses 10; the reference server
/// uses 4 so that creating hundreds of users stays fast in debug builds (a departure
/// only in the hash's cost field, `$2a$04$`).
const BCRYPT_COST: u32 = 4;

/// Upstream's `model.PasswordMaximumLength` (bytes).
const PASSWORD_MAX_LEN: usize = 72;

/// The characters upstream's password policy counts as symbols (`model.PasswordSpecialChars`).
const PASSWORD_SYMBOLS: &str = " !\"\\#$%&'()*+,-./:;<=>?@[]^_`|~";

/// Locales a user may have; any other locale of a new user becomes the default client
/// locale, as upstream's `UserService.CreateUser` does with the server's translations.
const SUPPORTED_LOCALES: &[&str] = &[
    "bg", "de", "en", "en-AU", "es", "fa", "fr", "hu", "it", "ja", "ko", "nl", "pl", "pt-BR", "ro",
    "ru", "sv", "tr", "uk", "vi", "zh-CN", "zh-TW",
];

/// A user as upstream's `User.Sanitize(map{})` leaves it (CreateUser, UpdateUser,
/// UpdateUserRoles and the user listings answer this): no password hash, no MFA secret,
/// `auth_data` present but empty, no last login.
fn sanitized(mut user: User) -> User {
    user.password.clear();
    user.mfa_secret.clear();
    user.auth_data = Some(String::new());
    user.last_login = 0;
    user
}

/// A user as upstream's `User.SanitizeProfile` for an admin leaves it (searches and lookups
/// by several usernames or ids): also no notify props, verification, marketing or
/// password-change fields.
fn profile(user: User) -> User {
    let mut user = sanitized(user);
    user.email_verified = false;
    user.allow_marketing = false;
    user.notify_props.clear();
    user.last_password_update = 0;
    user.failed_attempts = 0;
    user
}

/// A user as the store keeps it: upstream's users table has no column for the last
/// activity, the terms-of-service acceptance or the welcome-email flag, and its insert
/// writes no last login; the bot fields come from the bot record (`known`, the stored user
/// the server already has, or none for a new user).
fn without_unstored(mut user: User, known: Option<&User>) -> User {
    user.last_activity_at = 0;
    user.terms_of_service_id.clear();
    user.terms_of_service_create_at = 0;
    user.disable_welcome_email = false;
    user.is_bot = known.is_some_and(|k| k.is_bot);
    user.bot_description = known.map(|k| k.bot_description.clone()).unwrap_or_default();
    user.bot_last_icon_update = known.map_or(0, |k| k.bot_last_icon_update);
    if known.is_none() {
        user.last_login = 0;
    }
    user
}

/// A bcrypt hash of `password` in the `$2a$` form upstream's Go bcrypt writes.
fn hash_password(password: &str) -> String {
    bcrypt::hash_with_result(password, BCRYPT_COST)
        .map(|h| h.format_for_version(bcrypt::Version::TwoA))
        .unwrap_or_default()
}

/// A boolean setting, `default` when absent.
fn flag(cx: &mut Cx<'_>, path: &str, default: bool) -> bool {
    cx.store.config.setting(path).as_bool().unwrap_or(default)
}

/// A string setting, `default` when absent.
fn text_setting(cx: &mut Cx<'_>, path: &str, default: &str) -> String {
    cx.store
        .config
        .setting(path)
        .as_str()
        .unwrap_or(default)
        .to_string()
}

/// A character class of the password policy: its `PasswordSettings` key, its suffix in
/// the error id, and the test of a character.
type PasswordClass = (&'static str, &'static str, fn(char) -> bool);

/// Upstream's password policy (`users.IsPasswordValidWithSettings` with the server's
/// `PasswordSettings`; defaults: at least 8 bytes, no character classes): at most 72
/// bytes. The error id names every class the policy requires
/// (`model.user.is_valid.pwd_lowercase_number.app_error`, ...).
fn check_password(cx: &mut Cx<'_>, password: &str) -> Res<()> {
    let min = cx
        .store
        .config
        .setting("PasswordSettings.MinimumLength")
        .as_i64()
        .unwrap_or(8);
    let mut failed = (password.len() as i64) < min || password.len() > PASSWORD_MAX_LEN;
    let mut id = String::from("model.user.is_valid.pwd");
    let classes: [PasswordClass; 4] = [
        ("Lowercase", "_lowercase", |c| c.is_ascii_lowercase()),
        ("Uppercase", "_uppercase", |c| c.is_ascii_uppercase()),
        ("Number", "_number", |c| c.is_ascii_digit()),
        ("Symbol", "_symbol", |c| PASSWORD_SYMBOLS.contains(c)),
    ];
    for (setting, suffix, class) in classes {
        if flag(cx, &format!("PasswordSettings.{setting}"), false) {
            id.push_str(suffix);
            failed |= !password.chars().any(class);
        }
    }
    if failed {
        id.push_str(".app_error");
        return Err(cx.bad(
            &id,
            format!("the password must be {min} to {PASSWORD_MAX_LEN} bytes long and meet the server's password policy"),
        ));
    }
    Ok(())
}

/// Upstream's `User.IsValid` after `PreSave`/`PreUpdate`, in its order (the id and times
/// are always valid here).
fn validate_user(cx: &Cx<'_>, user: &User) -> Res<()> {
    let invalid =
        |field: &str, msg: String| cx.bad(&format!("model.user.is_valid.{field}.app_error"), msg);
    if !valid_username(&user.username) {
        return Err(invalid(
            "username",
            format!("invalid username {:?}", user.username),
        ));
    }
    if user.email.is_empty() || user.email.len() > 128 || !valid_email(&user.email) {
        return Err(invalid("email", format!("invalid email {:?}", user.email)));
    }
    for (field, value, max) in [
        ("nickname", &user.nickname, 64),
        ("position", &user.position, 128),
        ("first_name", &user.first_name, 64),
        ("last_name", &user.last_name, 64),
    ] {
        if value.chars().count() > max {
            return Err(invalid(field, format!("{field} is longer than {max}")));
        }
    }
    let auth_data = user.auth_data.as_deref().unwrap_or("");
    if auth_data.chars().count() > 128 {
        return Err(invalid("auth_data", "auth_data is longer than 128".into()));
    }
    if !auth_data.is_empty() && user.auth_service.is_empty() {
        return Err(invalid(
            "auth_data_type",
            "auth_data needs an auth_service".into(),
        ));
    }
    if !auth_data.is_empty() && !user.password.is_empty() {
        return Err(invalid(
            "auth_data_pwd",
            "a user has either a password or auth data".into(),
        ));
    }
    if user.locale.len() > 5 {
        return Err(invalid(
            "locale",
            format!("invalid locale {:?}", user.locale),
        ));
    }
    let timezone = serde_json::to_string(&user.timezone).unwrap_or_default();
    if timezone.chars().count() > 256 {
        return Err(invalid(
            "timezone_limit",
            "the timezone is longer than 256".into(),
        ));
    }
    if user.roles.chars().count() > 256 {
        return Err(invalid("roles_limit", "roles are longer than 256".into()));
    }
    Ok(())
}

/// Refuses a username or email another user (`except` excluded) already has (upstream's
/// unique constraints, mapped by `createUserOrGuest`/`UpdateUser`).
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

/// A username a live group already has is taken (upstream `isUniqueToGroupNames`).
fn check_group_names(cx: &Cx<'_>, username: &str) -> Res<()> {
    if !username.is_empty()
        && cx
            .store
            .groups
            .groups
            .values()
            .any(|g| g.delete_at == 0 && g.name == username)
    {
        return Err(cx.bad(
            "app.user.save.username_exists.app_error",
            format!("a group is already named {username:?}"),
        ));
    }
    Ok(())
}

/// Whether `email` is in one of the domains of `TeamSettings.RestrictCreationToDomains`
/// (none: every domain), as upstream's `CheckUserDomain`.
fn domain_allowed(cx: &mut Cx<'_>, email: &str) -> bool {
    let domains = text_setting(cx, "TeamSettings.RestrictCreationToDomains", "")
        .to_lowercase()
        .replace(['@', ','], " ");
    let domains: Vec<&str> = domains.split_whitespace().collect();
    domains.is_empty()
        || domains
            .iter()
            .any(|d| email.to_lowercase().ends_with(&format!("@{d}")))
}

/// The lower-casing and defaults of upstream's `User.PreSave`/`PreUpdate` shared by both:
/// username and email lower-cased (not trimmed), empty auth data dropped, notify props
/// defaulted only when none are given.
fn normalize(user: &mut User) {
    user.username = user.username.to_lowercase();
    user.email = user.email.to_lowercase();
    if user.auth_data.as_deref() == Some("") {
        user.auth_data = None;
    }
    if user.notify_props.is_empty() {
        for (k, v) in DEFAULT_NOTIFY_PROPS {
            user.notify_props.insert(k.to_string(), v.to_string());
        }
    }
}

/// `CreateUser`: create a user account from a User message, in upstream's order
/// (`createUserOrGuest`, `UserService.createUser`, the store's `Save`): the username must
/// not be a group's; roles are always `system_user`; the email domain must be allowed;
/// an unsupported locale becomes the default; the password policy (unless an auth
/// service is set); a preset id is refused; `PreSave`; `IsValid`; uniqueness. The new user
/// gets upstream's three default preferences. The answer has no password hash.
pub fn create_user(cx: &mut Cx<'_>, req: CreateUserRequest) -> Res<CreateUserResponse> {
    let mut user = req.user.ok_or_else(|| cx.required("user"))?;
    check_group_names(cx, &user.username)?;
    user.roles = "system_user".into();
    if !domain_allowed(cx, &user.email) {
        return Err(cx.bad(
            "api.user.create_user.accepted_domain.app_error",
            "the email's domain is not allowed on this server",
        ));
    }
    if !SUPPORTED_LOCALES.contains(&user.locale.as_str()) {
        user.locale = text_setting(cx, "LocalizationSettings.DefaultClientLocale", "en");
    }
    if user.auth_service.is_empty() {
        check_password(cx, &user.password)?;
    }
    if !user.id.is_empty() {
        return Err(cx.bad(
            "app.user.save.existing.app_error",
            "a new user must not have an id",
        ));
    }
    // PreSave.
    user.id = new_id();
    if user.username.is_empty() {
        user.username = new_id();
    }
    normalize(&mut user);
    if user.create_at == 0 {
        user.create_at = cx.now;
    }
    user.update_at = user.create_at;
    user.last_password_update = user.create_at;
    user.mfa_active = false;
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
    if !user.password.is_empty() {
        user.password = hash_password(&user.password);
    }
    validate_user(cx, &user)?;
    check_unique(cx, &user, "")?;
    // The store's insert writes only the users table's columns; the answer is the
    // request's object after PreSave, so it still carries the rest as sent.
    cx.store
        .users
        .users
        .insert(user.id.clone(), without_unstored(user.clone(), None));
    super::preferences::set_new_user_preferences(cx, &user.id);
    Ok(CreateUserResponse {
        user: Some(sanitized(user)),
        ..Default::default()
    })
}

/// `GetUser`: fetch one user by id, deactivated or not, as stored (with the password
/// hash, as upstream's unsanitised read).
pub fn get_user(cx: &mut Cx<'_>, req: GetUserRequest) -> Res<GetUserResponse> {
    let user = cx.user(&req.user_id)?;
    Ok(GetUserResponse {
        user: Some(user),
        ..Default::default()
    })
}

/// `UpdateUser`: overwrite a user record as upstream's `App.UpdateUser` and the store's
/// untrusted `Update`: the user must exist (404 first); a new username must not be a
/// group's; a new email must be in an allowed domain (and, with email verification on,
/// is not changed yet); `PreUpdate` and `IsValid`; then create_at, delete_at, roles,
/// auth data, password and MFA fields come from the stored row; uniqueness last. The
/// answer carries the fields the users table has no column for as sent; a renamed user
/// with the default picture gets `last_picture_update` minus now and is answered as stored.
pub fn update_user(cx: &mut Cx<'_>, req: UpdateUserRequest) -> Res<UpdateUserResponse> {
    let mut user = req.user.ok_or_else(|| cx.required("user"))?;
    let old = cx.user(&user.id)?;
    user.create_at = old.create_at;
    if user.username != old.username {
        check_group_names(cx, &user.username)?;
    }
    if user.email.to_lowercase() != old.email {
        if !old.is_bot && !domain_allowed(cx, &user.email) {
            return Err(cx.bad(
                "api.user.update_user.accepted_domain.app_error",
                "the email's domain is not allowed on this server",
            ));
        }
        if flag(cx, "EmailSettings.RequireEmailVerification", false) {
            let wanted = user.email.to_lowercase();
            if cx
                .store
                .users
                .users
                .values()
                .any(|u| u.id != old.id && u.email == wanted)
            {
                return Err(cx.bad(
                    "app.user.save.email_exists.app_error",
                    format!("an account with email {wanted:?} already exists"),
                ));
            }
            user.email = old.email.clone();
        }
    }
    // PreUpdate, then IsValid on what the caller sent.
    normalize(&mut user);
    user.update_at = cx.now.max(old.update_at + 1);
    validate_user(cx, &user)?;
    user.auth_data = old.auth_data.clone();
    user.auth_service = old.auth_service.clone();
    user.password = old.password.clone();
    user.last_password_update = old.last_password_update;
    user.last_picture_update = old.last_picture_update;
    user.email_verified = old.email_verified && user.email == old.email;
    user.failed_attempts = old.failed_attempts;
    user.mfa_active = old.mfa_active;
    user.mfa_secret = old.mfa_secret.clone();
    user.last_login = old.last_login;
    user.roles = old.roles.clone();
    user.delete_at = old.delete_at;
    check_unique(cx, &user, &old.id)?;
    // The store writes only the users table's columns (the bot fields stay the bot
    // record's); the answer is the request's object as updated, the rest as sent.
    let mut stored = without_unstored(user.clone(), Some(&old));
    let mut answer = user;
    if stored.username != old.username && old.last_picture_update <= 0 {
        // App.UpdateUser: a renamed user with the default picture gets a new default
        // picture (ResetLastPictureUpdate: minus now), and the answer is then the user
        // read back from the store.
        stored.last_picture_update = -cx.now;
        answer = stored.clone();
    }
    cx.store.users.users.insert(stored.id.clone(), stored);
    Ok(UpdateUserResponse {
        user: Some(sanitized(answer)),
        ..Default::default()
    })
}

/// Ids of the users with a live membership of `team_id`.
fn team_members(cx: &Cx<'_>, team_id: &str) -> BTreeSet<String> {
    cx.store
        .teams
        .members
        .values()
        .filter(|m| m.team_id == team_id && m.delete_at == 0)
        .map(|m| m.user_id.clone())
        .collect()
}

/// Ids of the members of `channel_id`.
fn channel_members(cx: &Cx<'_>, channel_id: &str) -> BTreeSet<String> {
    cx.store
        .channels
        .members
        .values()
        .filter(|m| m.channel_id == channel_id)
        .map(|m| m.user_id.clone())
        .collect()
}

/// Ids of the live members of a live group.
fn group_members(cx: &Cx<'_>, group_id: &str) -> BTreeSet<String> {
    cx.store
        .groups
        .members
        .values()
        .filter(|m| m.group_id == group_id && m.delete_at == 0)
        .map(|m| m.user_id.clone())
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

fn by_username(users: &mut [User]) {
    users.sort_by(|a, b| a.username.cmp(&b.username).then(a.id.cmp(&b.id)));
}

/// Upstream's `OFFSET page*per_page LIMIT per_page` (per_page 0: nothing). Negative values
/// are not validated upstream: they become huge unsigned numbers the database refuses, so
/// the reference server answers the store's error (500 `app.user.get_profiles.app_error`).
fn page_of(cx: &Cx<'_>, users: Vec<User>, page: i32, per_page: i32) -> Res<Vec<User>> {
    if page < 0 || per_page < 0 {
        return Err(cx.err(
            500,
            "app.user.get_profiles.app_error",
            "page and per_page must not be negative",
        ));
    }
    let (page, per_page) = (page as usize, per_page as usize);
    Ok(users
        .into_iter()
        .skip(page.saturating_mul(per_page))
        .take(per_page)
        .collect())
}

/// The users with these ids, sorted by username, in the given form.
fn users_by_username(cx: &Cx<'_>, ids: &BTreeSet<String>, form: fn(User) -> User) -> Vec<User> {
    let mut users: Vec<User> = ids
        .iter()
        .filter_map(|id| cx.store.users.users.get(id).cloned().map(form))
        .collect();
    by_username(&mut users);
    users
}

/// Whether user statuses are on (`ServiceSettings.EnableUserStatuses`, default true).
fn statuses_enabled(cx: &mut Cx<'_>) -> bool {
    flag(cx, "ServiceSettings.EnableUserStatuses", true)
}

/// The stored status row of an id as the protocol's Status.
fn status_message(user_id: &str, rec: &StatusRec) -> Status {
    Status {
        user_id: user_id.to_string(),
        status: rec.status.clone(),
        manual: rec.manual,
        last_activity_at: rec.last_activity_at,
        dnd_end_time: rec.dnd_end_time,
    }
}

/// Upstream's `GetStatus`: an empty status when statuses are off, the stored row, or 404
/// `app.status.get.missing.app_error` when the id has none (a user whose status was never
/// set, or any unknown id).
fn read_status(cx: &mut Cx<'_>, user_id: &str) -> Res<Status> {
    if !statuses_enabled(cx) {
        return Ok(Status::default());
    }
    let rec = cx.store.users.statuses.get(user_id).ok_or_else(|| {
        cx.err(
            404,
            "app.status.get.missing.app_error",
            format!("no status for {user_id:?}"),
        )
    })?;
    Ok(status_message(user_id, rec))
}

/// The setters of upstream's status service (`SetStatusOnline`, `SetStatusOffline`,
/// `SetStatusAwayIfNeeded`, `SetStatusDoNotDisturb`, `SetStatusDoNotDisturbTimed`) for a
/// manual change: online is never manual and marks activity; offline is manual and marks
/// activity; away and dnd are manual and keep the last activity (0 for a new row); a
/// timed dnd remembers the previous status. Any id gets a row; nothing when statuses are
/// off.
fn set_status(cx: &mut Cx<'_>, user_id: &str, status: &str, dnd_end_time: Option<i64>) {
    if !statuses_enabled(cx) {
        return;
    }
    let now = cx.now;
    let rec = cx
        .store
        .users
        .statuses
        .entry(user_id.to_string())
        .or_insert_with(|| StatusRec {
            status: "offline".into(),
            ..Default::default()
        });
    match status {
        "online" => {
            rec.status = "online".into();
            rec.manual = false;
            rec.last_activity_at = now;
        }
        "offline" => {
            *rec = StatusRec {
                status: "offline".into(),
                manual: true,
                last_activity_at: now,
                ..Default::default()
            };
        }
        "away" => {
            rec.status = "away".into();
            rec.manual = true;
        }
        _ => {
            if let Some(end) = dnd_end_time {
                rec.prev_status = rec.status.clone();
                rec.dnd_end_time = end;
            }
            rec.status = "dnd".into();
            rec.manual = true;
        }
    }
}

/// Deactivates (`delete_at = update_at = now`) or reactivates a user, as upstream's
/// `UpdateActive`: deactivation revokes the user's sessions and writes an offline status.
fn set_active(cx: &mut Cx<'_>, user_id: &str, active: bool) -> Res<()> {
    let mut user = cx.user(user_id)?;
    let now = cx.now.max(user.update_at + 1);
    user.update_at = now;
    user.delete_at = if active { 0 } else { now };
    cx.store.users.users.insert(user.id.clone(), user);
    if !active {
        super::sessions::revoke_all_for_user(cx, user_id);
        // Upstream's userDeactivated: the user's bots are deactivated with it unless
        // ServiceSettings.DisableBotsWhenOwnerIsDeactivated is false (default true).
        if cx
            .store
            .config
            .setting("ServiceSettings.DisableBotsWhenOwnerIsDeactivated")
            .as_bool()
            != Some(false)
        {
            for bot_user_id in cx.store.bots.active_bots_of(user_id) {
                super::bots::update_bot_active(
                    cx,
                    UpdateBotActiveRequest {
                        bot_user_id,
                        active: false,
                    },
                )?;
            }
        }
        if statuses_enabled(cx) {
            cx.store.users.statuses.insert(
                user_id.to_string(),
                StatusRec {
                    status: "offline".into(),
                    manual: false,
                    last_activity_at: now,
                    ..Default::default()
                },
            );
        }
    }
    Ok(())
}

/// `DeleteUser`: as upstream's plugin API, a soft delete: the user is deactivated
/// (`delete_at` set, sessions revoked, the bots it owns deactivated) and stays readable;
/// an unknown user is 404.
pub fn delete_user(cx: &mut Cx<'_>, req: DeleteUserRequest) -> Res<DeleteUserResponse> {
    set_active(cx, &req.user_id, false)?;
    Ok(DeleteUserResponse::default())
}

/// Whether a user's system roles match a `GetUsers` `roles` entry as upstream's store
/// does: `system_user` means exactly `system_user`; the other system roles it knows
/// match as a substring; any other name matches nobody.
fn system_role_matches(roles: &str, wanted: &str) -> bool {
    match wanted {
        "system_user" => roles == "system_user",
        "system_guest"
        | "system_admin"
        | "system_user_manager"
        | "system_read_only_admin"
        | "system_manager" => roles.contains(wanted),
        _ => false,
    }
}

/// `GetUsers`: every user of the server by username, paged, as upstream's store
/// `GetAllProfiles`: it honours only `view_restrictions`, `role` (a substring of the
/// roles), `roles` (system roles), `inactive`/`active` and paging; the team, channel and
/// group filters are ignored. `per_page` 0 lists nothing.
pub fn get_users(cx: &mut Cx<'_>, req: GetUsersRequest) -> Res<GetUsersResponse> {
    let restriction = req.view_restrictions.as_ref().map(|r| {
        let mut ids = BTreeSet::new();
        for t in &r.teams {
            ids.extend(team_members(cx, t));
        }
        for c in &r.channels {
            ids.extend(channel_members(cx, c));
        }
        ids
    });
    let known_roles: Vec<&String> = req
        .roles
        .iter()
        .filter(|r| {
            matches!(
                r.as_str(),
                "system_user"
                    | "system_guest"
                    | "system_admin"
                    | "system_user_manager"
                    | "system_read_only_admin"
                    | "system_manager"
            )
        })
        .collect();
    let mut users: Vec<User> = cx
        .store
        .users
        .users
        .values()
        .filter(|u| {
            if restriction.as_ref().is_some_and(|r| !r.contains(&u.id)) {
                return false;
            }
            if !req.role.is_empty() && !u.roles.contains(&req.role) {
                return false;
            }
            if !known_roles.is_empty()
                && !known_roles.iter().any(|w| system_role_matches(&u.roles, w))
            {
                return false;
            }
            if req.inactive {
                u.delete_at != 0
            } else if req.active {
                u.delete_at == 0
            } else {
                true
            }
        })
        .cloned()
        .map(sanitized)
        .collect();
    by_username(&mut users);
    Ok(GetUsersResponse {
        users: page_of(cx, users, req.page, req.per_page)?,
        ..Default::default()
    })
}

/// `GetUsersByIds`: the users with these ids (unknown ids skipped, each user once), sorted
/// by username, as profiles. Upstream's order is not the request's.
pub fn get_users_by_ids(cx: &mut Cx<'_>, req: GetUsersByIdsRequest) -> Res<GetUsersByIdsResponse> {
    let ids: BTreeSet<String> = req.user_ids.into_iter().collect();
    Ok(GetUsersByIdsResponse {
        users: users_by_username(cx, &ids, profile),
        ..Default::default()
    })
}

/// `GetUserByEmail`: look a user up by email address, case-insensitively (not trimmed),
/// as stored.
pub fn get_user_by_email(
    cx: &mut Cx<'_>,
    req: GetUserByEmailRequest,
) -> Res<GetUserByEmailResponse> {
    let email = req.email.to_lowercase();
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
        user: Some(user),
        ..Default::default()
    })
}

/// `GetUserByUsername`: look a user up by username, case-insensitively (not trimmed), as
/// stored.
pub fn get_user_by_username(
    cx: &mut Cx<'_>,
    req: GetUserByUsernameRequest,
) -> Res<GetUserByUsernameResponse> {
    let name = req.name.to_lowercase();
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
        user: Some(user),
        ..Default::default()
    })
}

/// `GetUsersByUsernames`: the users with exactly these usernames (no lower-casing, unknown
/// names skipped), sorted by username, as profiles.
pub fn get_users_by_usernames(
    cx: &mut Cx<'_>,
    req: GetUsersByUsernamesRequest,
) -> Res<GetUsersByUsernamesResponse> {
    let wanted: BTreeSet<&str> = req.usernames.iter().map(String::as_str).collect();
    let ids: BTreeSet<String> = cx
        .store
        .users
        .users
        .values()
        .filter(|u| wanted.contains(u.username.as_str()))
        .map(|u| u.id.clone())
        .collect();
    Ok(GetUsersByUsernamesResponse {
        users: users_by_username(cx, &ids, profile),
        ..Default::default()
    })
}

/// `GetUsersInTeam`: the team's live members (deactivated users included) by username,
/// paged; an unknown team has none (no error), `per_page` 0 lists nothing.
pub fn get_users_in_team(
    cx: &mut Cx<'_>,
    req: GetUsersInTeamRequest,
) -> Res<GetUsersInTeamResponse> {
    let ids = team_members(cx, &req.team_id);
    let users = users_by_username(cx, &ids, sanitized);
    Ok(GetUsersInTeamResponse {
        users: page_of(cx, users, req.page, req.per_page)?,
        ..Default::default()
    })
}

/// `GetUserStatus`: read a status row (404 `app.status.get.missing.app_error` when the id
/// has none: a user's status exists only once something set it).
pub fn get_user_status(cx: &mut Cx<'_>, req: GetUserStatusRequest) -> Res<GetUserStatusResponse> {
    let status = read_status(cx, &req.user_id)?;
    Ok(GetUserStatusResponse {
        status: Some(status),
        ..Default::default()
    })
}

/// `GetUserStatusesByIds`: a status for every id asked (each once, in the order asked):
/// the stored row, or offline for an id without one (known or not). Nothing when statuses
/// are off.
pub fn get_user_statuses_by_ids(
    cx: &mut Cx<'_>,
    req: GetUserStatusesByIdsRequest,
) -> Res<GetUserStatusesByIdsResponse> {
    if !statuses_enabled(cx) {
        return Ok(GetUserStatusesByIdsResponse::default());
    }
    let mut seen = BTreeSet::new();
    let statuses = req
        .user_ids
        .iter()
        .filter(|id| seen.insert(id.as_str()))
        .map(|id| match cx.store.users.statuses.get(id) {
            Some(rec) => status_message(id, rec),
            None => Status {
                user_id: id.clone(),
                status: "offline".into(),
                ..Default::default()
            },
        })
        .collect();
    Ok(GetUserStatusesByIdsResponse {
        statuses,
        ..Default::default()
    })
}

/// `UpdateUserStatus`: set a status (online/away/dnd/offline, else 400
/// `plugin.api.update_user_status.bad_status` first) for any id, then read it back.
pub fn update_user_status(
    cx: &mut Cx<'_>,
    req: UpdateUserStatusRequest,
) -> Res<UpdateUserStatusResponse> {
    if !matches!(req.status.as_str(), "online" | "away" | "dnd" | "offline") {
        return Err(cx.bad(
            "plugin.api.update_user_status.bad_status",
            format!("unrecognized status {:?}", req.status),
        ));
    }
    set_status(cx, &req.user_id, &req.status, None);
    let status = read_status(cx, &req.user_id)?;
    Ok(UpdateUserStatusResponse {
        status: Some(status),
        ..Default::default()
    })
}

/// `SetUserStatusTimedDND`: do not disturb until `end_time` (kept as given, not checked)
/// for any id, then read it back. The reference server has no job that ends timed DND.
pub fn set_user_status_timed_dnd(
    cx: &mut Cx<'_>,
    req: SetUserStatusTimedDndRequest,
) -> Res<SetUserStatusTimedDndResponse> {
    set_status(cx, &req.user_id, "dnd", Some(req.end_time));
    let status = read_status(cx, &req.user_id)?;
    Ok(SetUserStatusTimedDndResponse {
        status: Some(status),
        ..Default::default()
    })
}

/// `UpdateUserActive`: activate or deactivate a user (`delete_at`); repeating either
/// succeeds.
pub fn update_user_active(
    cx: &mut Cx<'_>,
    req: UpdateUserActiveRequest,
) -> Res<UpdateUserActiveResponse> {
    set_active(cx, &req.user_id, req.active)?;
    Ok(UpdateUserActiveResponse::default())
}

/// RFC 3339 UTC of Unix milliseconds as Go's `time.Time` JSON writes it (fractional
/// seconds only when not zero, trailing zeros dropped).
fn rfc3339(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
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
    let fraction = if millis == 0 {
        String::new()
    } else {
        format!(".{millis:03}").trim_end_matches('0').to_string()
    };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}{fraction}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// A custom status as upstream's JSON (`model.CustomStatus`, fields in its order).
fn custom_status_json(emoji: &str, text: &str, duration: &str, expires_at: &str) -> String {
    let q = |v: &str| serde_json::to_string(v).unwrap_or_default();
    format!(
        "{{\"emoji\":{},\"text\":{},\"duration\":{},\"expires_at\":{}}}",
        q(emoji),
        q(text),
        q(duration),
        q(expires_at)
    )
}

/// `UpdateUserCustomStatus`: as upstream's `SetCustomStatus`: a missing status or one
/// without emoji and text is 400 (before the user is looked up); the user must exist;
/// `CustomStatus.PreSave` (duration `date_and_time` when none is given and the expiry is
/// not past; text cut to 100 characters; no default emoji, no duration check); stored as
/// JSON in the user's `customStatus` prop, and remembered in the user's
/// `custom_status`/`recent_custom_statuses` preference. `expires_at` is Unix ms.
pub fn update_user_custom_status(
    cx: &mut Cx<'_>,
    req: UpdateUserCustomStatusRequest,
) -> Res<UpdateUserCustomStatusResponse> {
    let cs = match req.custom_status {
        Some(cs) if !(cs.emoji.is_empty() && cs.text.is_empty()) => cs,
        _ => {
            return Err(cx.bad(
                "api.custom_status.set_custom_statuses.update.app_error",
                "a custom status needs an emoji or a text",
            ));
        }
    };
    let mut user = cx.user(&req.user_id)?;
    let text: String = cs.text.chars().take(100).collect();
    let duration = if cs.duration.is_empty() && cs.expires_at >= cx.now {
        "date_and_time".to_string()
    } else {
        cs.duration
    };
    let json = custom_status_json(&cs.emoji, &text, &duration, &rfc3339(cs.expires_at));
    user.props.insert("customStatus".into(), json.clone());
    user.update_at = cx.now.max(user.update_at + 1);
    cx.store.users.users.insert(user.id.clone(), user);
    super::preferences::set_preference(
        cx,
        &req.user_id,
        "custom_status",
        "recent_custom_statuses",
        &format!("[{json}]"),
    );
    Ok(UpdateUserCustomStatusResponse::default())
}

/// `RemoveUserCustomStatus`: as upstream's `ClearCustomStatus`, the `customStatus` prop
/// becomes "" (the key stays) and the user is updated, whether it had a status or not.
pub fn remove_user_custom_status(
    cx: &mut Cx<'_>,
    req: RemoveUserCustomStatusRequest,
) -> Res<RemoveUserCustomStatusResponse> {
    let mut user = cx.user(&req.user_id)?;
    user.props.insert("customStatus".into(), String::new());
    user.update_at = cx.now.max(user.update_at + 1);
    cx.store.users.users.insert(user.id.clone(), user);
    Ok(RemoveUserCustomStatusResponse::default())
}

/// `GetUsersInChannel`: the channel's members (deactivated users included), sorted by
/// `username`, or by `status` (online, away, dnd, anything else or none, then username);
/// another sort is 400 `plugin.api.get_users_in_channel` first. An unknown channel has
/// none; `per_page` 0 lists nothing.
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
    let ids = channel_members(cx, &req.channel_id);
    let mut users = users_by_username(cx, &ids, sanitized);
    if req.sort_by == "status" {
        let rank = |id: &str| match cx.store.users.statuses.get(id).map(|s| s.status.as_str()) {
            Some("online") => 1,
            Some("away") => 2,
            Some("dnd") => 3,
            _ => 4,
        };
        users.sort_by(|a, b| {
            rank(&a.id)
                .cmp(&rank(&b.id))
                .then(a.username.cmp(&b.username))
        });
    }
    Ok(GetUsersInChannelResponse {
        users: page_of(cx, users, req.page, req.per_page)?,
        ..Default::default()
    })
}

/// `GetLDAPUserAttributes`: the reference server is a Team Edition server, which has no
/// LDAP: 501 `ent.ldap.disabled.app_error`, before the user is looked up.
pub fn get_ldap_user_attributes(
    cx: &mut Cx<'_>,
    _req: GetLdapUserAttributesRequest,
) -> Res<GetLdapUserAttributesResponse> {
    Err(cx.err(
        501,
        "ent.ldap.disabled.app_error",
        "LDAP is not available on this server",
    ))
}

/// Whether a user matches a search term as upstream's store search with the plugin API's
/// options (no emails, no full names): every word (a leading `@` dropped) is a
/// case-insensitive substring of the username or the nickname, or the user's id.
fn matches_term(user: &User, term: &str) -> bool {
    let fields = [&user.username, &user.nickname].map(|f| f.to_lowercase());
    term.split_whitespace().all(|word| {
        let word = word.trim_start_matches('@');
        let lower = word.to_lowercase();
        user.id == word || fields.iter().any(|f| f.contains(&lower))
    })
}

/// `SearchUsers`: as upstream's plugin API, only the term, `allow_inactive`, `limit` and
/// the one membership filter upstream's dispatch picks (`without_team`, then
/// `in_channel_id`, `not_in_channel_id` (within `team_id` if given), `not_in_team_id`,
/// `in_group_id`, `not_in_group_id`, else `team_id`) apply; role filters are ignored.
/// Sorted by username, at most `limit` (0: nothing), as profiles.
pub fn search_users(cx: &mut Cx<'_>, req: SearchUsersRequest) -> Res<SearchUsersResponse> {
    let everyone = || -> Option<BTreeSet<String>> { None };
    let (allowed, excluded): (Option<BTreeSet<String>>, BTreeSet<String>) = if req.without_team {
        (everyone(), users_with_team(cx))
    } else if !req.in_channel_id.is_empty() {
        (
            Some(channel_members(cx, &req.in_channel_id)),
            BTreeSet::new(),
        )
    } else if !req.not_in_channel_id.is_empty() {
        let within = (!req.team_id.is_empty()).then(|| team_members(cx, &req.team_id));
        (within, channel_members(cx, &req.not_in_channel_id))
    } else if !req.not_in_team_id.is_empty() {
        (everyone(), team_members(cx, &req.not_in_team_id))
    } else if !req.in_group_id.is_empty() {
        (Some(group_members(cx, &req.in_group_id)), BTreeSet::new())
    } else if !req.not_in_group_id.is_empty() {
        (everyone(), group_members(cx, &req.not_in_group_id))
    } else {
        let within = (!req.team_id.is_empty()).then(|| team_members(cx, &req.team_id));
        (within, BTreeSet::new())
    };
    let term = req.term.trim();
    let mut users: Vec<User> = cx
        .store
        .users
        .users
        .values()
        .filter(|u| {
            allowed.as_ref().is_none_or(|a| a.contains(&u.id))
                && !excluded.contains(&u.id)
                && (req.allow_inactive || u.delete_at == 0)
                && matches_term(u, term)
        })
        .cloned()
        .map(profile)
        .collect();
    by_username(&mut users);
    users.truncate(req.limit.max(0) as usize);
    Ok(SearchUsersResponse {
        users,
        ..Default::default()
    })
}

/// CRC-32 (IEEE) of `bytes`, for PNG chunks.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Side of the profile images upstream stores and generates (128x128).
const PROFILE_IMAGE_SIDE: u32 = 128;

/// A 128x128 PNG of one colour (zlib with stored blocks: no compressor needed).
fn solid_png(rgb: [u8; 3]) -> Vec<u8> {
    let side = PROFILE_IMAGE_SIDE as usize;
    let mut row = vec![0u8];
    for _ in 0..side {
        row.extend_from_slice(&rgb);
    }
    let raw = row.repeat(side);
    let mut zlib = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = raw.chunks(65_535).collect();
    for (i, block) in blocks.iter().enumerate() {
        zlib.push(u8::from(i + 1 == blocks.len()));
        let len = block.len() as u16;
        zlib.extend_from_slice(&len.to_le_bytes());
        zlib.extend_from_slice(&(!len).to_le_bytes());
        zlib.extend_from_slice(block);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in &raw {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    zlib.extend_from_slice(&((b << 16) | a).to_be_bytes());
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut chunk = |kind: &[u8; 4], data: &[u8]| {
        png.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        png.extend_from_slice(&body);
        png.extend_from_slice(&crc32(&body).to_be_bytes());
    };
    let mut header = Vec::new();
    header.extend_from_slice(&PROFILE_IMAGE_SIDE.to_be_bytes());
    header.extend_from_slice(&PROFILE_IMAGE_SIDE.to_be_bytes());
    header.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(b"IHDR", &header);
    chunk(b"IDAT", &zlib);
    chunk(b"IEND", &[]);
    png
}

/// A colour picked from `bytes` (the reference server's stand-in for an image's content).
fn colour_of(bytes: &[u8]) -> [u8; 3] {
    let [r, g, b, _] = crc32(bytes).to_be_bytes();
    [r, g, b]
}

/// `GetProfileImage`: a user's profile image (404 for an unknown user): the stored PNG,
/// else a generated 128x128 PNG (upstream draws the user's initial; the reference server
/// a colour picked from the user id).
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
        .unwrap_or_else(|| solid_png(colour_of(req.user_id.as_bytes())));
    Ok(GetProfileImageResponse {
        image,
        ..Default::default()
    })
}

/// `SetProfileImage`: upstream decodes the image (400 when it cannot), scales it to
/// 128x128 and stores it re-encoded as PNG; storing the same PNG again changes nothing,
/// otherwise `last_picture_update` (and `update_at`) become now. The reference server does
/// not decode: it accepts PNG, JPEG and GIF data by their signature and stores a 128x128
/// PNG of a colour picked from the data.
pub fn set_profile_image(
    cx: &mut Cx<'_>,
    req: SetProfileImageRequest,
) -> Res<SetProfileImageResponse> {
    let mut user = cx.user(&req.user_id)?;
    if !is_image(&req.data) {
        return Err(cx.bad(
            "api.user.upload_profile_user.decode.app_error",
            "the profile image could not be decoded",
        ));
    }
    let png = solid_png(colour_of(&req.data));
    if cx.store.users.images.get(&user.id) == Some(&png) {
        return Ok(SetProfileImageResponse::default());
    }
    cx.store.users.images.insert(user.id.clone(), png);
    let now = cx.now.max(user.update_at + 1);
    user.last_picture_update = now;
    user.update_at = now;
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

/// `PublishUserTyping`: publish a `typing` WebSocket event to the channel (the user
/// left out). As upstream, nothing is checked and the call always succeeds; the reference
/// server records the event (the call log shows it).
pub fn publish_user_typing(
    cx: &mut Cx<'_>,
    req: PublishUserTypingRequest,
) -> Res<PublishUserTypingResponse> {
    cx.effect = Some(format!(
        "websocket event typing channel {} user {} parent_id {:?}",
        req.channel_id, req.user_id, req.parent_id
    ));
    let now = cx.now;
    let typing = &mut cx.store.users.typing;
    typing.push((req.user_id, req.channel_id, req.parent_id, now));
    if typing.len() > 1000 {
        typing.drain(..500);
    }
    Ok(PublishUserTypingResponse::default())
}

/// `UpdateUserAuth`: as upstream's store `UpdateAuthData`, set a user's auth service and
/// data, clear the password and failed attempts, and answer what was asked. Auth data
/// another user has (whatever its service) is 400
/// `app.user.update_auth_data.email_exists.app_error`; an unknown user id updates nothing
/// and succeeds.
pub fn update_user_auth(
    cx: &mut Cx<'_>,
    req: UpdateUserAuthRequest,
) -> Res<UpdateUserAuthResponse> {
    let auth = req.user_auth.ok_or_else(|| cx.required("user_auth"))?;
    let data = auth.auth_data.clone().filter(|d| !d.is_empty());
    if data.is_some()
        && cx
            .store
            .users
            .users
            .values()
            .any(|u| u.id != req.user_id && u.auth_data == data)
    {
        return Err(cx.bad(
            "app.user.update_auth_data.email_exists.app_error",
            "another account already uses this auth data",
        ));
    }
    let now = cx.now;
    if let Some(user) = cx.store.users.users.get_mut(&req.user_id) {
        user.auth_service = auth.auth_service.clone();
        user.auth_data = data;
        user.password.clear();
        user.last_password_update = now;
        user.failed_attempts = 0;
        user.update_at = now.max(user.update_at + 1);
    }
    Ok(UpdateUserAuthResponse {
        user_auth: Some(auth),
        ..Default::default()
    })
}

/// The roles of a fresh server (upstream `model.MakeDefaultRoles`): `UpdateUserRoles`
/// accepts any of them, whatever its scope.
const EXISTING_ROLES: &[&str] = &[
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
    "team_guest",
    "team_user",
    "team_admin",
    "team_post_all",
    "team_post_all_public",
    "channel_guest",
    "channel_user",
    "channel_admin",
    "playbook_admin",
    "playbook_member",
    "run_admin",
    "run_member",
];

/// `UpdateUserRoles`: replace a user's roles, as upstream's `App.UpdateUserRoles`: an
/// unknown user is 400 (the lookup's error, its status made 400); every role must exist
/// (400 `app.role.check_roles_exist.role_not_found`); the answer has no password hash.
pub fn update_user_roles(
    cx: &mut Cx<'_>,
    req: UpdateUserRolesRequest,
) -> Res<UpdateUserRolesResponse> {
    let mut user = cx.user(&req.user_id).map_err(|mut e| {
        e.status_code = 400;
        e
    })?;
    let roles: Vec<&str> = req.new_roles.split_whitespace().collect();
    if let Some(unknown) = roles.iter().find(|r| !EXISTING_ROLES.contains(r)) {
        return Err(cx.bad(
            "app.role.check_roles_exist.role_not_found",
            format!("role {unknown:?} does not exist"),
        ));
    }
    user.roles = req.new_roles.clone();
    user.update_at = cx.now.max(user.update_at + 1);
    cx.store.users.users.insert(user.id.clone(), user.clone());
    super::sessions::set_roles_for_user(cx, &user.id, &user.roles);
    Ok(UpdateUserRolesResponse {
        user: Some(sanitized(user)),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_formats_unix_ms_as_go_json() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_000), "1970-01-01T00:00:01Z");
        assert_eq!(rfc3339(1_500), "1970-01-01T00:00:01.5Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(4_102_444_799_000), "2099-12-31T23:59:59Z");
    }

    #[test]
    fn generated_images_are_128px_pngs() {
        let png = solid_png([1, 2, 3]);
        assert!(is_image(&png));
        assert_eq!(&png[12..16], b"IHDR");
        assert_eq!(u32::from_be_bytes(png[16..20].try_into().unwrap()), 128);
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        assert_ne!(solid_png([1, 2, 3]), solid_png([3, 2, 1]));
    }

    #[test]
    fn passwords_are_stored_as_bcrypt_2a() {
        let hash = hash_password("Conformance-Pw1!");
        assert!(hash.starts_with("$2a$04$"), "{hash}");
        assert!(bcrypt::verify("Conformance-Pw1!", &hash).unwrap());
    }

    #[test]
    fn search_terms_match_username_or_nickname_substrings() {
        let user = User {
            id: "u1".into(),
            username: "jane.doe".into(),
            nickname: "Janie".into(),
            first_name: "Quentin".into(),
            email: "jd@example.com".into(),
            ..Default::default()
        };
        assert!(matches_term(&user, "@jane"));
        assert!(matches_term(&user, "doe"));
        assert!(matches_term(&user, "ANE.D"));
        assert!(matches_term(&user, "janie doe"));
        assert!(matches_term(&user, "u1"));
        assert!(matches_term(&user, ""));
        assert!(!matches_term(&user, "quentin"));
        assert!(!matches_term(&user, "example"));
        assert!(!matches_term(&user, "jane jones"));
    }

    #[test]
    fn system_role_filters() {
        assert!(system_role_matches("system_user", "system_user"));
        assert!(!system_role_matches(
            "system_user system_admin",
            "system_user"
        ));
        assert!(system_role_matches(
            "system_user system_admin",
            "system_admin"
        ));
        assert!(!system_role_matches("team_user", "team_user"));
    }
}
