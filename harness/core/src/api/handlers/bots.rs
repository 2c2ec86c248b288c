//! Bot rpcs of the reference PluginAPI server. A bot is also a user: creating one inserts
//! a `User` with `is_bot = true` into the users domain, and the bot record (owner,
//! description...) lives here, keyed by that user id.

use std::collections::BTreeMap;

use super::prelude::*;

/// Mattermost's limits on bot display names and descriptions.
const BOT_DISPLAY_NAME_MAX_RUNES: usize = 64;
const BOT_DESCRIPTION_MAX_RUNES: usize = 1024;

/// This domain's part of the store.
#[derive(Debug, Default)]
pub struct BotsState {
    /// Bots by user id.
    bots: BTreeMap<String, Bot>,
}

impl BotsState {
    /// The bot with this user id, if any (deleted ones included).
    pub fn bot(&self, user_id: &str) -> Option<&Bot> {
        self.bots.get(user_id)
    }
}

fn bot_not_found(cx: &Cx<'_>, id: &str) -> AppError {
    cx.err(
        404,
        "store.sql_bot.get.missing.app_error",
        format!("bot {id:?} not found"),
    )
}

fn check_username(cx: &Cx<'_>, username: &str, except: Option<&str>) -> Res<()> {
    if !valid_username(username) {
        return Err(cx.bad(
            "model.user.is_valid.username.app_error",
            format!("invalid bot username {username:?}"),
        ));
    }
    let taken = cx
        .store
        .users
        .users
        .values()
        .any(|u| u.username == username && Some(u.id.as_str()) != except);
    if taken {
        return Err(cx.bad(
            "app.user.save.username_exists.app_error",
            format!("an account with the username {username:?} already exists"),
        ));
    }
    Ok(())
}

fn check_texts(cx: &Cx<'_>, display_name: &str, description: &str) -> Res<()> {
    if display_name.chars().count() > BOT_DISPLAY_NAME_MAX_RUNES {
        return Err(cx.bad(
            "model.bot.is_valid.username.app_error",
            format!("the display name must be at most {BOT_DISPLAY_NAME_MAX_RUNES} characters"),
        ));
    }
    if description.chars().count() > BOT_DESCRIPTION_MAX_RUNES {
        return Err(cx.bad(
            "model.bot.is_valid.description.app_error",
            format!("the description must be at most {BOT_DESCRIPTION_MAX_RUNES} characters"),
        ));
    }
    Ok(())
}

/// Creates the bot and its user; the owner defaults to the calling plugin.
fn insert_bot(cx: &mut Cx<'_>, bot: Bot) -> Res<Bot> {
    let username = bot.username.to_lowercase();
    check_username(cx, &username, None)?;
    check_texts(cx, &bot.display_name, &bot.description)?;
    let id = new_id();
    let owner_id = if bot.owner_id.is_empty() {
        cx.plugin_id.to_string()
    } else {
        bot.owner_id
    };
    let bot = Bot {
        user_id: id.clone(),
        username: username.clone(),
        display_name: bot.display_name,
        description: bot.description,
        owner_id,
        create_at: cx.now,
        update_at: cx.now,
        delete_at: 0,
        last_icon_update: 0,
    };
    let user = User {
        id: id.clone(),
        create_at: cx.now,
        update_at: cx.now,
        username: username.clone(),
        email: format!("{username}@localhost"),
        first_name: bot.display_name.clone(),
        roles: "system_user".into(),
        is_bot: true,
        bot_description: bot.description.clone(),
        locale: "en".into(),
        ..Default::default()
    };
    cx.store.users.users.insert(id.clone(), user);
    cx.store.bots.bots.insert(id, bot.clone());
    Ok(bot)
}

/// Copies the bot's public fields onto its user.
fn sync_user(cx: &mut Cx<'_>, bot: &Bot) {
    if let Some(user) = cx.store.users.users.get_mut(&bot.user_id) {
        user.username = bot.username.clone();
        user.first_name = bot.display_name.clone();
        user.bot_description = bot.description.clone();
        user.delete_at = bot.delete_at;
        user.update_at = bot.update_at;
    }
}

/// `CreateBot`: create a bot account.
pub fn create_bot(cx: &mut Cx<'_>, req: CreateBotRequest) -> Res<CreateBotResponse> {
    let bot = req.bot.ok_or_else(|| cx.required("bot"))?;
    let bot = insert_bot(cx, bot)?;
    Ok(CreateBotResponse {
        bot: Some(bot),
        ..Default::default()
    })
}

/// `PatchBot`: patch a bot's username/display name/description.
pub fn patch_bot(cx: &mut Cx<'_>, req: PatchBotRequest) -> Res<PatchBotResponse> {
    let patch = req.bot_patch.ok_or_else(|| cx.required("bot_patch"))?;
    let mut bot = cx
        .store
        .bots
        .bots
        .get(&req.bot_user_id)
        .cloned()
        .ok_or_else(|| bot_not_found(cx, &req.bot_user_id))?;
    if let Some(username) = patch.username {
        let username = username.to_lowercase();
        check_username(cx, &username, Some(&bot.user_id))?;
        bot.username = username;
    }
    if let Some(display_name) = patch.display_name {
        bot.display_name = display_name;
    }
    if let Some(description) = patch.description {
        bot.description = description;
    }
    check_texts(cx, &bot.display_name, &bot.description)?;
    bot.update_at = cx.now;
    sync_user(cx, &bot);
    cx.store.bots.bots.insert(bot.user_id.clone(), bot.clone());
    Ok(PatchBotResponse {
        bot: Some(bot),
        ..Default::default()
    })
}

/// `GetBot`: fetch a bot by user id.
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

/// `GetBots`: list bots with options, sorted by username. A bot is orphaned when its
/// owner is a user account that has been deactivated (plugin-owned bots never are).
pub fn get_bots(cx: &mut Cx<'_>, req: GetBotsRequest) -> Res<GetBotsResponse> {
    let options = req.options.unwrap_or_default();
    if options.page < 0 || options.per_page < 0 {
        return Err(cx.bad(
            "api.context.invalid_url_param.app_error",
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
    bots.sort_by(|a, b| a.username.cmp(&b.username).then(a.user_id.cmp(&b.user_id)));
    Ok(GetBotsResponse {
        bots: paginate(&bots, options.page, options.per_page),
        ..Default::default()
    })
}

/// `UpdateBotActive`: activate or deactivate a bot (and its user): deactivation sets
/// `delete_at`, activation clears it.
pub fn update_bot_active(
    cx: &mut Cx<'_>,
    req: UpdateBotActiveRequest,
) -> Res<UpdateBotActiveResponse> {
    let mut bot = cx
        .store
        .bots
        .bots
        .get(&req.bot_user_id)
        .cloned()
        .ok_or_else(|| bot_not_found(cx, &req.bot_user_id))?;
    let active_now = bot.delete_at == 0;
    if active_now != req.active {
        bot.delete_at = if req.active { 0 } else { cx.now };
        bot.update_at = cx.now;
        sync_user(cx, &bot);
        cx.store.bots.bots.insert(bot.user_id.clone(), bot.clone());
    }
    Ok(UpdateBotActiveResponse {
        bot: Some(bot),
        ..Default::default()
    })
}

/// `PermanentDeleteBot`: permanently delete a bot and its user.
pub fn permanent_delete_bot(
    cx: &mut Cx<'_>,
    req: PermanentDeleteBotRequest,
) -> Res<PermanentDeleteBotResponse> {
    if cx.store.bots.bots.remove(&req.bot_user_id).is_none() {
        return Err(bot_not_found(cx, &req.bot_user_id));
    }
    cx.store.users.users.remove(&req.bot_user_id);
    Ok(PermanentDeleteBotResponse::default())
}

/// `EnsureBotUser`: get-or-create by username. An existing bot keeps its id (a changed
/// display name or description is patched in, a deactivated bot is reactivated); a
/// username held by a human account is refused.
pub fn ensure_bot_user(cx: &mut Cx<'_>, req: EnsureBotUserRequest) -> Res<EnsureBotUserResponse> {
    let bot = req.bot.ok_or_else(|| cx.required("bot"))?;
    let username = bot.username.to_lowercase();
    if username.is_empty() {
        return Err(cx.required("bot.username"));
    }
    let existing = cx
        .store
        .users
        .users
        .values()
        .find(|u| u.username == username)
        .cloned();
    let bot_user_id = match existing {
        Some(user) if !user.is_bot => {
            return Err(cx.bad(
                "plugin_api.bot_cant_create_bot",
                format!("the username {username:?} belongs to a user that is not a bot"),
            ));
        }
        Some(user) => {
            if let Some(mut current) = cx.store.bots.bots.get(&user.id).cloned() {
                let mut changed = current.delete_at != 0;
                if !bot.display_name.is_empty() && bot.display_name != current.display_name {
                    current.display_name = bot.display_name;
                    changed = true;
                }
                if !bot.description.is_empty() && bot.description != current.description {
                    current.description = bot.description;
                    changed = true;
                }
                if changed {
                    check_texts(cx, &current.display_name, &current.description)?;
                    current.delete_at = 0;
                    current.update_at = cx.now;
                    sync_user(cx, &current);
                    cx.store.bots.bots.insert(user.id.clone(), current);
                }
            }
            user.id
        }
        None => {
            let bot = Bot {
                owner_id: cx.plugin_id.to_string(),
                ..bot
            };
            insert_bot(cx, bot)?.user_id
        }
    };
    Ok(EnsureBotUserResponse {
        bot_user_id,
        ..Default::default()
    })
}
