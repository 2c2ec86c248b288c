//! Command rpcs of the reference PluginAPI server: plugin-registered slash commands
//! (unique trigger per team, owned by the registering plugin), custom commands created
//! through the API (soft-deleted), a fixed set of Mattermost built-ins, and execution of
//! the built-ins the reference server supports.

use std::collections::BTreeMap;

use super::prelude::*;

/// Mattermost's limit on triggers (`CommandTriggerMaxLength`).
const TRIGGER_MAX_RUNES: usize = 128;

/// This domain's part of the store.
#[derive(Debug, Default)]
pub struct CommandsState {
    /// Custom commands by id (deleted ones keep `delete_at`).
    custom: BTreeMap<String, Command>,
    /// Plugin-registered commands by (team id, trigger); team id "" is every team.
    plugin: BTreeMap<(String, String), Command>,
}

/// The built-ins: trigger, auto-complete hint, description.
const BUILT_INS: &[(&str, &str, &str)] = &[
    ("away", "", "Set your status away"),
    ("code", "[text]", "Display text as a code block"),
    ("collapse", "", "Turn on auto-collapsing of image previews"),
    (
        "dnd",
        "",
        "Do not disturb disables desktop and mobile push notifications",
    ),
    (
        "echo",
        "'message' [delay in seconds]",
        "Echo back text from your account",
    ),
    ("expand", "", "Turn off auto-collapsing of image previews"),
    (
        "groupmsg",
        "@[usernames] 'message'",
        "Send a Group Message to the specified users",
    ),
    ("header", "[text]", "Edit the channel header"),
    ("help", "", "Open the Mattermost help page"),
    (
        "invite",
        "@[username] ~[channel]",
        "Invite a user to a channel",
    ),
    ("join", "~[channel]", "Join the open channel"),
    ("kick", "@[username]", "Remove a member from the channel"),
    ("leave", "", "Leave the current channel"),
    ("logout", "", "Log out of Mattermost"),
    ("me", "[message]", "Do an action"),
    (
        "msg",
        "@[username] 'message'",
        "Send Direct Message to a user",
    ),
    (
        "mute",
        "~[channel]",
        "Turns off desktop, email and push notifications for a channel",
    ),
    ("offline", "", "Set your status offline"),
    ("online", "", "Set your status online"),
    ("open", "~[channel]", "Open a channel"),
    ("purpose", "[text]", "Edit the channel purpose"),
    ("remove", "@[username]", "Remove a member from the channel"),
    ("rename", "[text]", "Rename the channel"),
    ("search", "[text]", "Search text in messages"),
    ("settings", "", "Open the Settings dialog"),
    ("shortcuts", "", "Displays a list of keyboard shortcuts"),
    ("shrug", "[message]", "Adds ¯\\_(ツ)_/¯ to your message"),
    ("status", "", "Set your status"),
];

/// What `/shrug` appends (Mattermost's Go raw string `¯\\\_(ツ)\_/¯`, markdown-escaped).
const SHRUG: &str = "¯\\\\\\_(ツ)\\_/¯";

fn built_ins() -> Vec<Command> {
    BUILT_INS
        .iter()
        .map(|(trigger, hint, desc)| Command {
            trigger: trigger.to_string(),
            auto_complete: true,
            auto_complete_hint: hint.to_string(),
            auto_complete_desc: desc.to_string(),
            display_name: trigger.to_string(),
            description: desc.to_string(),
            ..Default::default()
        })
        .collect()
}

fn is_built_in(trigger: &str) -> bool {
    BUILT_INS.iter().any(|(t, _, _)| *t == trigger)
}

/// Lower-cases and validates a trigger (`model.command.is_valid.trigger.app_error`).
fn check_trigger(cx: &Cx<'_>, trigger: &str) -> Res<String> {
    let trigger = trigger.to_lowercase();
    if trigger.is_empty()
        || trigger.chars().count() > TRIGGER_MAX_RUNES
        || trigger.starts_with('/')
        || trigger.contains(char::is_whitespace)
    {
        return Err(cx.bad(
            "model.command.is_valid.trigger.app_error",
            format!(
                "a trigger is 1 to {TRIGGER_MAX_RUNES} characters, without a leading slash \
                 or spaces; got {trigger:?}"
            ),
        ));
    }
    Ok(trigger)
}

fn command_not_found(cx: &Cx<'_>, id: &str) -> AppError {
    cx.err(
        404,
        "app.command.getcommand.app_error",
        format!("command {id:?} not found"),
    )
}

/// A team id a command list or custom command names: required and existing.
fn check_team(cx: &Cx<'_>, team_id: &str) -> Res<()> {
    if team_id.is_empty() {
        return Err(cx.required("team_id"));
    }
    cx.team(team_id).map(|_| ())
}

/// Validates a custom command and fills its defaults; `except` is its own id on update.
fn check_custom(cx: &Cx<'_>, cmd: &mut Command, except: Option<&str>) -> Res<()> {
    cmd.trigger = check_trigger(cx, &cmd.trigger)?;
    check_team(cx, &cmd.team_id)?;
    if cmd.method.is_empty() {
        cmd.method = "P".into();
    }
    if cmd.method != "P" && cmd.method != "G" {
        return Err(cx.bad(
            "model.command.is_valid.method.app_error",
            format!("the method must be \"P\" or \"G\", got {:?}", cmd.method),
        ));
    }
    let http = cmd.url.starts_with("http://") || cmd.url.starts_with("https://");
    if !cmd.url.is_empty() && !http {
        return Err(cx.bad(
            "model.command.is_valid.url_http.app_error",
            format!("the URL must be http or https, got {:?}", cmd.url),
        ));
    }
    let duplicate = is_built_in(&cmd.trigger)
        || cx.store.commands.custom.values().any(|c| {
            c.delete_at == 0
                && c.team_id == cmd.team_id
                && c.trigger == cmd.trigger
                && Some(c.id.as_str()) != except
        });
    if duplicate {
        return Err(cx.bad(
            "api.command.duplicate_trigger.app_error",
            format!(
                "the trigger {:?} is already used in team {:?}",
                cmd.trigger, cmd.team_id
            ),
        ));
    }
    Ok(())
}

fn live_custom(cx: &Cx<'_>, team_id: &str) -> Vec<Command> {
    let mut out: Vec<Command> = cx
        .store
        .commands
        .custom
        .values()
        .filter(|c| c.delete_at == 0 && c.team_id == team_id)
        .cloned()
        .collect();
    out.sort_by(|a, b| a.trigger.cmp(&b.trigger).then(a.id.cmp(&b.id)));
    out
}

fn plugin_commands_for(cx: &Cx<'_>, team_id: &str) -> Vec<Command> {
    let mut out: Vec<Command> = cx
        .store
        .commands
        .plugin
        .iter()
        .filter(|((team, _), _)| team.is_empty() || team == team_id)
        .map(|(_, c)| c.clone())
        .collect();
    out.sort_by(|a, b| a.trigger.cmp(&b.trigger).then(a.team_id.cmp(&b.team_id)));
    out
}

/// `RegisterCommand`: register a slash command owned by the plugin. The trigger is unique
/// per team: the owning plugin re-registering replaces its command, another plugin gets
/// 409. An empty team id registers the command in every team.
pub fn register_command(
    cx: &mut Cx<'_>,
    req: RegisterCommandRequest,
) -> Res<RegisterCommandResponse> {
    let mut cmd = req.command.ok_or_else(|| cx.required("command"))?;
    cmd.trigger = check_trigger(cx, &cmd.trigger)?;
    if !cmd.team_id.is_empty() {
        cx.team(&cmd.team_id)?;
    }
    let clash = cx
        .store
        .commands
        .plugin
        .iter()
        .find(|((team, trigger), c)| {
            *trigger == cmd.trigger
                && c.plugin_id != cx.plugin_id
                && (team.is_empty() || cmd.team_id.is_empty() || *team == cmd.team_id)
        });
    if let Some((_, other)) = clash {
        return Err(cx.conflict(
            "app.command.register_plugin_command.duplicate.app_error",
            format!(
                "the trigger {:?} is already registered by plugin {:?}",
                cmd.trigger, other.plugin_id
            ),
        ));
    }
    cmd.plugin_id = cx.plugin_id.to_string();
    cmd.creator_id.clear();
    cmd.id.clear();
    cmd.token.clear();
    cmd.create_at = cx.now;
    cmd.update_at = cx.now;
    cmd.delete_at = 0;
    cx.store
        .commands
        .plugin
        .insert((cmd.team_id.clone(), cmd.trigger.clone()), cmd);
    Ok(RegisterCommandResponse::default())
}

/// `UnregisterCommand`: unregister one of the plugin's slash commands. Like upstream,
/// unregistering a trigger the plugin does not hold is not an error.
pub fn unregister_command(
    cx: &mut Cx<'_>,
    req: UnregisterCommandRequest,
) -> Res<UnregisterCommandResponse> {
    let key = (req.team_id.clone(), req.trigger.to_lowercase());
    if cx
        .store
        .commands
        .plugin
        .get(&key)
        .is_some_and(|c| c.plugin_id == cx.plugin_id)
    {
        cx.store.commands.plugin.remove(&key);
    }
    Ok(UnregisterCommandResponse::default())
}

fn ephemeral(text: impl Into<String>) -> CommandResponse {
    CommandResponse {
        response_type: "ephemeral".into(),
        text: text.into(),
        ..Default::default()
    }
}

fn in_channel(text: impl Into<String>) -> CommandResponse {
    CommandResponse {
        response_type: "in_channel".into(),
        text: text.into(),
        ..Default::default()
    }
}

/// The `/echo` argument: the message (quotes stripped) without a trailing delay.
fn echo_text(message: &str) -> String {
    let message = message.trim();
    let message = match message.rsplit_once(' ') {
        Some((text, delay)) if !text.is_empty() && delay.parse::<u32>().is_ok() => text.trim_end(),
        _ => message,
    };
    if message.len() >= 2 && message.starts_with('"') && message.ends_with('"') {
        message[1..message.len() - 1].to_string()
    } else {
        message.to_string()
    }
}

fn run_built_in(trigger: &str, message: &str) -> CommandResponse {
    match trigger {
        "echo" => {
            let text = echo_text(message);
            if text.is_empty() {
                ephemeral("Use /echo 'message' [delay in seconds]")
            } else {
                in_channel(text)
            }
        }
        "shrug" => in_channel(if message.is_empty() {
            SHRUG.to_string()
        } else {
            format!("{message} {SHRUG}")
        }),
        "me" => CommandResponse {
            r#type: "me".into(),
            ..in_channel(format!("*{message}*"))
        },
        "code" => {
            if message.is_empty() {
                ephemeral("A message must be provided with the /code command.")
            } else {
                in_channel(
                    message
                        .lines()
                        .map(|l| format!("    {l}"))
                        .collect::<Vec<_>>()
                        .join("\n"),
                )
            }
        }
        "away" => ephemeral("You are now away"),
        "online" => ephemeral("You are now online"),
        "offline" => ephemeral("You are now offline"),
        "dnd" => ephemeral("Do Not Disturb is enabled."),
        "help" => CommandResponse {
            goto_location: "https://mattermost.com/pl/help/".into(),
            ..ephemeral("")
        },
        other => ephemeral(format!(
            "/{other} is a Mattermost built-in that the reference server does not execute"
        )),
    }
}

/// `ExecuteSlashCommand`: run a slash command as if typed by `command_args.user_id`.
/// Built-ins `/echo`, `/shrug`, `/me`, `/code`, `/away`, `/online`, `/offline`, `/dnd`
/// and `/help` answer as Mattermost's do; other built-ins, custom and plugin commands
/// answer an ephemeral note (the reference server neither calls webhooks nor runs plugin
/// hooks from an API call). Every answer carries a fresh trigger id usable with
/// OpenInteractiveDialog. An unknown trigger is 404.
pub fn execute_slash_command(
    cx: &mut Cx<'_>,
    req: ExecuteSlashCommandRequest,
) -> Res<ExecuteSlashCommandResponse> {
    let args = req
        .command_args
        .ok_or_else(|| cx.required("command_args"))?;
    cx.user(&args.user_id)?;
    if !args.channel_id.is_empty() {
        cx.channel(&args.channel_id)?;
    }
    let Some(line) = args.command.trim_start().strip_prefix('/') else {
        return Err(cx.bad(
            "api.command.execute_command.format.app_error",
            format!("a command starts with a slash, got {:?}", args.command),
        ));
    };
    let (trigger, message) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    let (trigger, message) = (trigger.to_lowercase(), message.trim());
    if trigger.is_empty() {
        return Err(cx.bad(
            "api.command.execute_command.format.app_error",
            "the command has no trigger",
        ));
    }
    let team_id = match args.team_id.as_str() {
        "" => cx
            .channel(&args.channel_id)
            .map(|c| c.team_id)
            .unwrap_or_default(),
        t => t.to_string(),
    };
    let plugin = plugin_commands_for(cx, &team_id)
        .into_iter()
        .find(|c| c.trigger == trigger);
    let custom = live_custom(cx, &team_id)
        .into_iter()
        .find(|c| c.trigger == trigger);
    let mut response = if let Some(cmd) = plugin {
        ephemeral(format!(
            "/{trigger} belongs to plugin {:?}; the reference server does not run plugin \
             hooks from an API call",
            cmd.plugin_id
        ))
    } else if let Some(cmd) = custom {
        ephemeral(format!(
            "/{trigger} is a custom command ({} {}); the reference server does not call it",
            cmd.method, cmd.url
        ))
    } else if is_built_in(&trigger) {
        run_built_in(&trigger, message)
    } else {
        return Err(cx.err(
            404,
            "api.command.execute_command.not_found.app_error",
            format!("Command with a trigger of '/{trigger}' not found."),
        ));
    };
    if response.channel_id.is_empty() && response.response_type == "in_channel" {
        response.channel_id = args.channel_id.clone();
    }
    let now = cx.now;
    response.trigger_id = cx.store.misc.issue_trigger_id(&args.user_id, now);
    Ok(ExecuteSlashCommandResponse {
        response: Some(response),
        ..Default::default()
    })
}

/// `CreateCommand`: create a custom (webhook) slash command. As upstream's plugin API
/// does, the creator is cleared and the plugin id set to the caller's.
pub fn create_command(cx: &mut Cx<'_>, req: CreateCommandRequest) -> Res<CreateCommandResponse> {
    let mut cmd = req.cmd.ok_or_else(|| cx.required("cmd"))?;
    check_custom(cx, &mut cmd, None)?;
    cmd.id = new_id();
    cmd.token = new_id();
    cmd.creator_id.clear();
    cmd.plugin_id = cx.plugin_id.to_string();
    cmd.create_at = cx.now;
    cmd.update_at = cx.now;
    cmd.delete_at = 0;
    cx.store.commands.custom.insert(cmd.id.clone(), cmd.clone());
    Ok(CreateCommandResponse {
        command: Some(cmd),
        ..Default::default()
    })
}

/// `ListCommands`: all commands usable in a team: built-ins, then the team's custom and
/// plugin commands, each group sorted by trigger (a trigger is listed once).
pub fn list_commands(cx: &mut Cx<'_>, req: ListCommandsRequest) -> Res<ListCommandsResponse> {
    check_team(cx, &req.team_id)?;
    let mut commands = built_ins();
    for cmd in live_custom(cx, &req.team_id)
        .into_iter()
        .chain(plugin_commands_for(cx, &req.team_id))
    {
        if !commands.iter().any(|c| c.trigger == cmd.trigger) {
            commands.push(cmd);
        }
    }
    Ok(ListCommandsResponse {
        commands,
        ..Default::default()
    })
}

/// `ListCustomCommands`: the team's live custom commands, sorted by trigger.
pub fn list_custom_commands(
    cx: &mut Cx<'_>,
    req: ListCustomCommandsRequest,
) -> Res<ListCustomCommandsResponse> {
    check_team(cx, &req.team_id)?;
    Ok(ListCustomCommandsResponse {
        commands: live_custom(cx, &req.team_id),
        ..Default::default()
    })
}

/// `ListPluginCommands`: commands registered by any plugin for the team (or for every
/// team), sorted by trigger.
pub fn list_plugin_commands(
    cx: &mut Cx<'_>,
    req: ListPluginCommandsRequest,
) -> Res<ListPluginCommandsResponse> {
    check_team(cx, &req.team_id)?;
    Ok(ListPluginCommandsResponse {
        commands: plugin_commands_for(cx, &req.team_id),
        ..Default::default()
    })
}

/// `ListBuiltInCommands`: Mattermost's built-in commands, sorted by trigger.
pub fn list_built_in_commands(
    _cx: &mut Cx<'_>,
    _req: ListBuiltInCommandsRequest,
) -> Res<ListBuiltInCommandsResponse> {
    Ok(ListBuiltInCommandsResponse {
        commands: built_ins(),
        ..Default::default()
    })
}

/// `GetCommand`: fetch a live custom command by id.
pub fn get_command(cx: &mut Cx<'_>, req: GetCommandRequest) -> Res<GetCommandResponse> {
    let command = cx
        .store
        .commands
        .custom
        .get(&req.command_id)
        .filter(|c| c.delete_at == 0)
        .cloned()
        .ok_or_else(|| command_not_found(cx, &req.command_id))?;
    Ok(GetCommandResponse {
        command: Some(command),
        ..Default::default()
    })
}

/// `UpdateCommand`: replace a custom command's fields, keeping its id, token, create_at
/// and (when the update names none) its team, as upstream's plugin API does.
pub fn update_command(cx: &mut Cx<'_>, req: UpdateCommandRequest) -> Res<UpdateCommandResponse> {
    let old = cx
        .store
        .commands
        .custom
        .get(&req.command_id)
        .filter(|c| c.delete_at == 0)
        .cloned()
        .ok_or_else(|| command_not_found(cx, &req.command_id))?;
    let mut cmd = req.updated_cmd.ok_or_else(|| cx.required("updated_cmd"))?;
    if cmd.team_id.is_empty() {
        cmd.team_id = old.team_id.clone();
    }
    check_custom(cx, &mut cmd, Some(&old.id))?;
    cmd.id = old.id;
    cmd.token = old.token;
    cmd.create_at = old.create_at;
    cmd.update_at = cx.now;
    cmd.delete_at = old.delete_at;
    cmd.creator_id = old.creator_id;
    cmd.plugin_id = cx.plugin_id.to_string();
    cx.store.commands.custom.insert(cmd.id.clone(), cmd.clone());
    Ok(UpdateCommandResponse {
        command: Some(cmd),
        ..Default::default()
    })
}

/// `DeleteCommand`: soft-delete a custom command (sets `delete_at`; later reads are 404).
pub fn delete_command(cx: &mut Cx<'_>, req: DeleteCommandRequest) -> Res<DeleteCommandResponse> {
    let now = cx.now;
    match cx
        .store
        .commands
        .custom
        .get_mut(&req.command_id)
        .filter(|c| c.delete_at == 0)
    {
        Some(cmd) => {
            cmd.delete_at = now;
            cmd.update_at = now;
            Ok(DeleteCommandResponse::default())
        }
        None => Err(command_not_found(cx, &req.command_id)),
    }
}
