//! Bot rpcs of the reference PluginAPI server. A bot is also a user: creating one inserts
//! a `User` with `is_bot = true` into the users domain, and the bot record (owner,
//! description...) lives here, keyed by that user id. The semantics follow upstream's
//! plugin API (`app/plugin_api.go`), app (`app/bot.go`), model (`model/bot.go`) and store
//! (`sqlstore/bot_store.go`); SPEC §24.5.1-§24.5.5.

use std::collections::BTreeMap;

use super::prelude::*;

/// `model.BotDisplayNameMaxRunes` (= `UserFirstNameMaxRunes`).
const BOT_DISPLAY_NAME_MAX_RUNES: usize = 64;
/// `model.BotDescriptionMaxRunes`.
const BOT_DESCRIPTION_MAX_RUNES: usize = 1024;
/// `model.BotCreatorIdMaxRunes` (= `KeyValuePluginIdMaxRunes`).
const BOT_CREATOR_ID_MAX_RUNES: usize = 190;
/// `model.UserNameMaxLength`.
const USERNAME_MAX_LENGTH: usize = 64;
/// Usernames `model.IsValidUsername` refuses.
const RESTRICTED_USERNAMES: &[&str] = &["all", "channel", "matterbot", "system"];
/// The plugin KV key where `EnsureBotUser` keeps the calling plugin's bot id (upstream's
/// internal prefix `mmi_` + `botid`).
pub const BOT_ID_KV_KEY: &str = "mmi_botid";
/// The post type of the note a new bot sends its user owner.
const ADD_BOT_TEAMS_CHANNELS: &str = "system_add_bot_teams_channels";

/// This domain's part of the store.
#[derive(Debug, Default)]
pub struct BotsState {
    /// Bots by user id.
    bots: BTreeMap<String, Bot>,
}

impl BotsState {
    /// The bot with this user id, if any (deactivated ones included).
    pub fn bot(&self, user_id: &str) -> Option<&Bot> {
        self.bots.get(user_id)
    }

    /// The ids of the active bots `owner_id` owns (what upstream's `disableUserBots`
    /// deactivates when a user owner is deactivated).
    pub fn active_bots_of(&self, owner_id: &str) -> Vec<String> {
        self.bots
            .values()
            .filter(|b| b.owner_id == owner_id && b.delete_at == 0)
            .map(|b| b.user_id.clone())
            .collect()
    }
}

/// `model.IsValidUsername`: 1-64 of `a-z0-9.-_`, not a restricted name. Upper case is
/// refused (a bot's username is checked before anything lower-cases it).
fn valid_bot_username(name: &str) -> bool {
    (1..=USERNAME_MAX_LENGTH).contains(&name.len())
        && name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'_')
        })
        && !RESTRICTED_USERNAMES.contains(&name)
}

fn bot_not_found(cx: &Cx<'_>, id: &str) -> AppError {
    cx.err(
        404,
        "store.sql_bot.get.missing.app_error",
        format!("bot {id:?} not found"),
    )
}

/// `Bot.IsValidCreate`, in upstream's order: username, display name, description, owner.
fn check_create(cx: &Cx<'_>, bot: &Bot) -> Res<()> {
    if !valid_bot_username(&bot.username) {
        return Err(cx.bad(
            "model.bot.is_valid.username.app_error",
            format!("invalid bot username {:?}", bot.username),
        ));
    }
    if bot.display_name.chars().count() > BOT_DISPLAY_NAME_MAX_RUNES {
        // Upstream reuses the user_id error id for this check.
        return Err(cx.bad(
            "model.bot.is_valid.user_id.app_error",
            format!("the display name must be at most {BOT_DISPLAY_NAME_MAX_RUNES} characters"),
        ));
    }
    if bot.description.chars().count() > BOT_DESCRIPTION_MAX_RUNES {
        return Err(cx.bad(
            "model.bot.is_valid.description.app_error",
            format!("the description must be at most {BOT_DESCRIPTION_MAX_RUNES} characters"),
        ));
    }
    let owner = bot.owner_id.chars().count();
    if owner == 0 || owner > BOT_CREATOR_ID_MAX_RUNES {
        return Err(cx.bad(
            "model.bot.is_valid.creator_id.app_error",
            format!("the owner id must be 1 to {BOT_CREATOR_ID_MAX_RUNES} characters"),
        ));
    }
    Ok(())
}

/// The user store's uniqueness of username, then email (`except`: the user being updated).
fn check_unique(cx: &Cx<'_>, username: &str, email: &str, except: Option<&str>) -> Res<()> {
    let others = || {
        cx.store
            .users
            .users
            .values()
            .filter(move |u| Some(u.id.as_str()) != except)
    };
    if others().any(|u| u.username == username) {
        return Err(cx.bad(
            "app.user.save.username_exists.app_error",
            format!("an account with the username {username:?} already exists"),
        ));
    }
    if others().any(|u| u.email.eq_ignore_ascii_case(email)) {
        return Err(cx.bad(
            "app.user.save.email_exists.app_error",
            format!("an account with the email {email:?} already exists"),
        ));
    }
    Ok(())
}

/// Upstream's `App.CreateBot`: validate, save the user (username lower-cased, email
/// `<username>@localhost`) and the bot; a bot owned by an existing user sends that user a
/// note in their direct channel.
fn insert_bot(cx: &mut Cx<'_>, bot: Bot) -> Res<Bot> {
    check_create(cx, &bot)?;
    let username = bot.username.to_lowercase();
    let email = format!("{username}@localhost");
    check_unique(cx, &username, &email, None)?;
    let id = new_id();
    let bot = Bot {
        user_id: id.clone(),
        username: username.clone(),
        display_name: bot.display_name,
        description: bot.description,
        owner_id: bot.owner_id,
        create_at: cx.now,
        update_at: cx.now,
        delete_at: 0,
        last_icon_update: 0,
    };
    let user = User {
        id: id.clone(),
        create_at: cx.now,
        update_at: cx.now,
        username,
        email,
        first_name: bot.display_name.clone(),
        roles: "system_user".into(),
        is_bot: true,
        bot_description: bot.description.clone(),
        locale: "en".into(),
        ..Default::default()
    };
    cx.store.users.users.insert(id.clone(), user);
    cx.store.bots.bots.insert(id.clone(), bot.clone());
    if cx.store.users.users.contains_key(&bot.owner_id) {
        let dm = super::channels::get_direct_channel(
            cx,
            GetDirectChannelRequest {
                user_id_1: id.clone(),
                user_id_2: bot.owner_id.clone(),
            },
        )?;
        if let Some(channel) = dm.channel {
            super::posts::insert_system_post(
                cx,
                &channel.id,
                &id,
                ADD_BOT_TEAMS_CHANNELS,
                "Add me to the teams and channels you want me to work in.",
                &[],
            );
        }
    }
    Ok(bot)
}

/// The system bot's user id: the bot with username `system-bot`, created when missing
/// (display name `System`), as upstream's `App.GetSystemBot` does for the posts the server
/// writes itself (a channel's archive message). Its owner is the first active system admin
/// by username, as upstream's (`GetUsersFromProfiles` with the system_admin role, one per
/// page); upstream refuses when there is none, where this keeps the owner empty (a
/// departure: the callers here cannot fail).
pub fn system_bot_user_id(cx: &mut Cx<'_>) -> String {
    const USERNAME: &str = "system-bot";
    if let Some(bot) = cx.store.bots.bots.values().find(|b| b.username == USERNAME) {
        return bot.user_id.clone();
    }
    let owner = cx
        .store
        .users
        .users
        .values()
        .filter(|u| u.delete_at == 0 && u.roles.split(' ').any(|r| r == "system_admin"))
        .min_by(|a, b| a.username.cmp(&b.username))
        .map(|u| u.id.clone())
        .unwrap_or_default();
    let id = new_id();
    let bot = Bot {
        user_id: id.clone(),
        owner_id: owner,
        username: USERNAME.into(),
        display_name: "System".into(),
        create_at: cx.now,
        update_at: cx.now,
        ..Default::default()
    };
    let user = User {
        id: id.clone(),
        create_at: cx.now,
        update_at: cx.now,
        username: USERNAME.into(),
        email: format!("{USERNAME}@localhost"),
        first_name: bot.display_name.clone(),
        roles: "system_user".into(),
        is_bot: true,
        locale: "en".into(),
        ..Default::default()
    };
    cx.store.users.users.insert(id.clone(), user);
    cx.store.bots.bots.insert(id.clone(), bot);
    id
}

/// Upstream's `App.PatchBot` (also what `EnsureBotUser` uses to sync a known bot): a
/// deactivated bot can be patched; a patch that changes nothing returns the bot as it is
/// (no new `update_at`); otherwise the bot's user is updated first (username lower-cased,
/// email `<username>@localhost`, first name = display name, the user store's checks),
/// then the bot.
fn apply_patch(cx: &mut Cx<'_>, bot_user_id: &str, patch: BotPatch) -> Res<Bot> {
    let mut bot = cx
        .store
        .bots
        .bots
        .get(bot_user_id)
        .cloned()
        .ok_or_else(|| bot_not_found(cx, bot_user_id))?;
    let differs = |new: &Option<String>, old: &str| new.as_deref().is_some_and(|n| n != old);
    let would_patch = differs(&patch.username, &bot.username)
        || differs(&patch.display_name, &bot.display_name)
        || differs(&patch.description, &bot.description);
    if !would_patch {
        return Ok(bot);
    }
    if let Some(username) = patch.username {
        bot.username = username.to_lowercase();
    }
    if let Some(display_name) = patch.display_name {
        bot.display_name = display_name;
    }
    if let Some(description) = patch.description {
        bot.description = description;
    }
    // The user row: `User.IsValid` after `PreUpdate`, then the unique indexes.
    if !valid_bot_username(&bot.username) {
        return Err(cx.bad(
            "model.user.is_valid.username.app_error",
            format!("invalid username {:?}", bot.username),
        ));
    }
    if bot.display_name.chars().count() > BOT_DISPLAY_NAME_MAX_RUNES {
        return Err(cx.bad(
            "model.user.is_valid.first_name.app_error",
            format!("the first name must be at most {BOT_DISPLAY_NAME_MAX_RUNES} characters"),
        ));
    }
    let email = format!("{}@localhost", bot.username);
    check_unique(cx, &bot.username, &email, Some(bot_user_id))?;
    let now = cx.now;
    if let Some(user) = cx.store.users.users.get_mut(bot_user_id) {
        user.username = bot.username.clone();
        user.email = email;
        user.first_name = bot.display_name.clone();
        user.update_at = now;
    }
    // The bot row: `Bot.IsValid`. Upstream updates the user first, without a transaction.
    if bot.description.chars().count() > BOT_DESCRIPTION_MAX_RUNES {
        return Err(cx.bad(
            "model.bot.is_valid.description.app_error",
            format!("the description must be at most {BOT_DESCRIPTION_MAX_RUNES} characters"),
        ));
    }
    bot.update_at = now;
    if let Some(user) = cx.store.users.users.get_mut(bot_user_id) {
        user.bot_description = bot.description.clone();
    }
    cx.store.bots.bots.insert(bot.user_id.clone(), bot.clone());
    Ok(bot)
}

/// `CreateBot`: create a bot account. The owner defaults to the calling plugin; a bot
/// cannot own a bot.
pub fn create_bot(cx: &mut Cx<'_>, req: CreateBotRequest) -> Res<CreateBotResponse> {
    let mut bot = req.bot.ok_or_else(|| cx.required("bot"))?;
    if bot.owner_id.is_empty() {
        bot.owner_id = cx.plugin_id.to_string();
    }
    if cx
        .store
        .users
        .users
        .get(&bot.owner_id)
        .is_some_and(|u| u.is_bot)
    {
        return Err(cx.bad(
            "plugin_api.bot_cant_create_bot",
            format!(
                "the owner {:?} is a bot; bots cannot own bots",
                bot.owner_id
            ),
        ));
    }
    let bot = insert_bot(cx, bot)?;
    Ok(CreateBotResponse {
        bot: Some(bot),
        ..Default::default()
    })
}

/// `PatchBot`: patch a bot's username/display name/description.
pub fn patch_bot(cx: &mut Cx<'_>, req: PatchBotRequest) -> Res<PatchBotResponse> {
    let patch = req.bot_patch.ok_or_else(|| cx.required("patch"))?;
    let bot = apply_patch(cx, &req.bot_user_id, patch)?;
    Ok(PatchBotResponse {
        bot: Some(bot),
        ..Default::default()
    })
}

/// `GetBot`: fetch a bot by user id (a deactivated one only with `include_deleted`).
pub fn get_bot(cx: &mut Cx<'_>, req: GetBotRequest) -> Res<GetBotResponse> {
    let bot = cx
        .store
        .bots
        .bots
        .get(&req.bot_user_id)
        .filter(|b| req.include_deleted || b.delete_at == 0)
        .cloned()
        .ok_or_else(|| bot_not_found(cx, &req.bot_user_id))?;
    Ok(GetBotResponse {
        bot: Some(bot),
        ..Default::default()
    })
}

/// `GetBots`: list bots in creation order (then username), `per_page` of them from
/// `page * per_page`: no default page size, so `per_page` 0 lists nothing. A bot is
/// orphaned when its owner is a user account that has been deactivated (plugin-owned bots
/// never are).
pub fn get_bots(cx: &mut Cx<'_>, req: GetBotsRequest) -> Res<GetBotsResponse> {
    let options = req.options.unwrap_or_default();
    if options.page < 0 || options.per_page < 0 {
        // A negative LIMIT/OFFSET is a database error upstream.
        return Err(cx.err(
            500,
            "app.bot.getbots.internal_error",
            "page and per_page must not be negative",
        ));
    }
    let users = &cx.store.users.users;
    let mut bots: Vec<Bot> = cx
        .store
        .bots
        .bots
        .values()
        .filter(|b| options.include_deleted || b.delete_at == 0)
        .filter(|b| options.owner_id.is_empty() || b.owner_id == options.owner_id)
        .filter(|b| {
            !options.only_orphaned
                || users
                    .get(&b.owner_id)
                    .is_some_and(|owner| owner.delete_at != 0)
        })
        .cloned()
        .collect();
    bots.sort_by(|a, b| {
        a.create_at
            .cmp(&b.create_at)
            .then(a.username.cmp(&b.username))
    });
    let offset = options.page as usize * options.per_page as usize;
    Ok(GetBotsResponse {
        bots: bots
            .into_iter()
            .skip(offset)
            .take(options.per_page as usize)
            .collect(),
        ..Default::default()
    })
}

/// `UpdateBotActive`: activate or deactivate a bot. As upstream, the user comes first
/// (unknown: 404 `app.user.missing_account.const`) and its active state is always set
/// (deactivation revokes its sessions), then the bot's `delete_at` when it changes; an
/// id that is a user but no bot is 404 after the user's state was set.
pub fn update_bot_active(
    cx: &mut Cx<'_>,
    req: UpdateBotActiveRequest,
) -> Res<UpdateBotActiveResponse> {
    cx.user(&req.bot_user_id)?;
    super::users::update_user_active(
        cx,
        UpdateUserActiveRequest {
            user_id: req.bot_user_id.clone(),
            active: req.active,
        },
    )?;
    let mut bot = cx
        .store
        .bots
        .bots
        .get(&req.bot_user_id)
        .cloned()
        .ok_or_else(|| bot_not_found(cx, &req.bot_user_id))?;
    if req.active == (bot.delete_at != 0) {
        bot.delete_at = if req.active { 0 } else { cx.now };
        bot.update_at = cx.now;
        cx.store.bots.bots.insert(bot.user_id.clone(), bot.clone());
    }
    Ok(UpdateBotActiveResponse {
        bot: Some(bot),
        ..Default::default()
    })
}

/// `PermanentDeleteBot`: delete the bot row and the user row with this id. As upstream's
/// current app code, nothing is checked first: an unknown id succeeds, and so does the id
/// of a user that is no bot (whose user row goes).
pub fn permanent_delete_bot(
    cx: &mut Cx<'_>,
    req: PermanentDeleteBotRequest,
) -> Res<PermanentDeleteBotResponse> {
    cx.store.bots.bots.remove(&req.bot_user_id);
    cx.store.users.users.remove(&req.bot_user_id);
    Ok(PermanentDeleteBotResponse::default())
}

/// Upstream wraps the AppErrors of `EnsureBot` in plain errors (`fmt.Errorf("...: %w")`),
/// which its gRPC layer reports as INTERNAL with the AppError's text.
fn wrapped(cx: &Cx<'_>, what: &str, e: AppError) -> AppError {
    if e.r#where == GO_ERROR || e.r#where == GUARD_ERROR {
        return cx.go_error(format!("{what}: {}", e.message));
    }
    cx.go_error(format!("{what}: {}: {}", e.r#where, e.message))
}

fn remember_bot(cx: &mut Cx<'_>, id: &str) -> Res<()> {
    super::kv::kv_set(
        cx,
        KvSetRequest {
            key: BOT_ID_KV_KEY.into(),
            value: id.as_bytes().to_vec(),
        },
    )
    .map_err(|e| wrapped(cx, "failed to set plugin key", e))?;
    Ok(())
}

/// `EnsureBotUser`: upstream's `App.EnsureBot`, keyed by the calling plugin: the bot id it
/// keeps in its KV key `mmi_botid`, when that bot still exists, is synced with the
/// request (username, display name and description, empty ones included; never
/// reactivated) and returned; otherwise a user with the username is returned as it is (a
/// bot's id is remembered, a human's is returned without error); otherwise a bot owned
/// by the plugin is created and remembered. Failures are plain errors.
pub fn ensure_bot_user(cx: &mut Cx<'_>, req: EnsureBotUserRequest) -> Res<EnsureBotUserResponse> {
    let bot = req.bot.ok_or_else(|| cx.required("bot"))?;
    if bot.username.is_empty() {
        return Err(cx.go_error("passed a bot with no username"));
    }
    let known = super::kv::kv_get(
        cx,
        KvGetRequest {
            key: BOT_ID_KV_KEY.into(),
        },
    )?
    .value;
    let known = String::from_utf8_lossy(&known).to_string();
    if !known.is_empty() && cx.store.bots.bots.contains_key(&known) {
        let patch = BotPatch {
            username: Some(bot.username.clone()),
            display_name: Some(bot.display_name.clone()),
            description: Some(bot.description.clone()),
        };
        apply_patch(cx, &known, patch).map_err(|e| wrapped(cx, "failed to patch bot", e))?;
        return Ok(EnsureBotUserResponse {
            bot_user_id: known,
            ..Default::default()
        });
    }
    let username = bot.username.to_lowercase();
    let existing = cx
        .store
        .users
        .users
        .values()
        .find(|u| u.username == username)
        .cloned();
    if let Some(user) = existing {
        if user.is_bot {
            remember_bot(cx, &user.id)?;
        }
        return Ok(EnsureBotUserResponse {
            bot_user_id: user.id,
            ..Default::default()
        });
    }
    let bot = Bot {
        owner_id: cx.plugin_id.to_string(),
        ..bot
    };
    let created = insert_bot(cx, bot).map_err(|e| wrapped(cx, "failed to create bot", e))?;
    remember_bot(cx, &created.user_id)?;
    Ok(EnsureBotUserResponse {
        bot_user_id: created.user_id,
        ..Default::default()
    })
}
