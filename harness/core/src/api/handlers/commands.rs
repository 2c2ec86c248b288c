//! Command rpcs of the reference PluginAPI server: plugin-registered slash commands (kept
//! in memory in registration order, as upstream's `Channels.pluginCommands`), custom
//! commands created through the API (rows that are soft-deleted), a fixed set of
//! Mattermost built-ins, and execution. The semantics follow upstream's plugin API
//! (`app/plugin_api.go`), `app/plugin_commands.go`, `app/command.go`, `model/command.go`
//! and `sqlstore/command_store.go`; SPEC §24.5.6-§24.5.10.

use std::collections::BTreeMap;

use super::prelude::*;

/// `model.MaxTriggerLength` (bytes).
const TRIGGER_MAX_LENGTH: usize = 128;
/// `Command.IsValid` limits (bytes).
const URL_MAX_LENGTH: usize = 1024;
const DISPLAY_NAME_MAX_LENGTH: usize = 64;
const DESCRIPTION_MAX_LENGTH: usize = 128;
/// Upstream truncates an unknown trigger to this many bytes in its not-found error.
const MAX_TRIGGER_IN_ERROR: usize = 512;
/// `/echo`'s longest delay, in seconds.
const ECHO_MAX_DELAY: i64 = 10000;

/// A plugin-registered command and the plugin that registered it (upstream's
/// `PluginCommand`; the plugin id is never exposed through the command).
#[derive(Debug, Clone)]
struct PluginCommand {
    plugin_id: String,
    command: Command,
}

/// This domain's part of the store.
#[derive(Debug, Default)]
pub struct CommandsState {
    /// Custom commands by id (deleted ones keep `delete_at`).
    custom: BTreeMap<String, Command>,
    /// Plugin-registered commands in registration order; team id "" is every team.
    plugin: Vec<PluginCommand>,
}

impl CommandsState {
    /// The commands plugins registered: `(plugin id, trigger, team id)`, in order.
    pub fn registered(&self) -> Vec<(String, String, String)> {
        self.plugin
            .iter()
            .map(|pc| {
                (
                    pc.plugin_id.clone(),
                    pc.command.trigger.clone(),
                    pc.command.team_id.clone(),
                )
            })
            .collect()
    }

    /// Drops every command `plugin_id` registered (upstream does so when a plugin is
    /// deactivated: `Channels.unregisterPluginCommands`).
    pub fn unregister_plugin_commands(&mut self, plugin_id: &str) {
        self.plugin.retain(|pc| pc.plugin_id != plugin_id);
    }
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

/// The built-ins as upstream lists them: sanitized (no token, creator, method, URL,
/// username or icon), auto-complete on.
fn built_ins() -> Vec<Command> {
    BUILT_INS
        .iter()
        .map(|(trigger, hint, desc)| Command {
            trigger: trigger.to_string(),
            auto_complete: true,
            auto_complete_hint: hint.to_string(),
            auto_complete_desc: desc.to_string(),
            display_name: trigger.to_string(),
            ..Default::default()
        })
        .collect()
}

fn is_built_in(trigger: &str) -> bool {
    BUILT_INS.iter().any(|(t, _, _)| *t == trigger)
}

/// The store's not-found error: a plain Go error upstream (`store.ErrNotFound`).
fn command_not_found(cx: &Cx<'_>, id: &str) -> AppError {
    cx.go_error(format!("resource \"Command\" not found, id: {id}"))
}

/// `model.IsValidPluginId`: 3-190 of `a-zA-Z0-9-_.`.
fn valid_plugin_id(id: &str) -> bool {
    (3..=190).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// `model.IsValidHTTPURL`: http(s), with a host.
fn valid_http_url(url: &str) -> bool {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"));
    rest.is_some_and(|r| {
        let host = r.split(['/', '?', '#']).next().unwrap_or_default();
        !host.is_empty() && !url.contains(char::is_whitespace)
    })
}

/// `Command.IsValid`, in upstream's order.
fn check_command(cx: &Cx<'_>, cmd: &Command) -> Res<()> {
    let bad = |field: &str, message: &str| {
        cx.bad(
            &format!("model.command.is_valid.{field}.app_error"),
            message.to_string(),
        )
    };
    if !is_valid_id(&cmd.id) {
        return Err(bad("id", "invalid id"));
    }
    if cmd.token.len() != 26 {
        return Err(bad("token", "the token must be 26 characters"));
    }
    if cmd.create_at == 0 {
        return Err(bad("create_at", "create_at must be set"));
    }
    if cmd.update_at == 0 {
        return Err(bad("update_at", "update_at must be set"));
    }
    if cmd.creator_id.is_empty() && !valid_plugin_id(&cmd.plugin_id) {
        return Err(bad(
            "plugin_id",
            "a command without a creator needs a plugin id",
        ));
    }
    if cmd.plugin_id.is_empty() && !is_valid_id(&cmd.creator_id) {
        return Err(bad(
            "user_id",
            "a command without a plugin id needs a creator",
        ));
    }
    if !cmd.creator_id.is_empty() && !cmd.plugin_id.is_empty() {
        return Err(bad(
            "plugin_id",
            "a command cannot have both a creator and a plugin id",
        ));
    }
    if !is_valid_id(&cmd.team_id) {
        return Err(bad("team_id", "invalid team id"));
    }
    if cmd.trigger.is_empty()
        || cmd.trigger.len() > TRIGGER_MAX_LENGTH
        || cmd.trigger.starts_with('/')
        || cmd.trigger.contains(' ')
    {
        return Err(bad(
            "trigger",
            &format!(
                "a trigger is 1 to {TRIGGER_MAX_LENGTH} bytes, without a leading slash or \
                 spaces; got {:?}",
                cmd.trigger
            ),
        ));
    }
    if cmd.url.is_empty() || cmd.url.len() > URL_MAX_LENGTH {
        return Err(bad("url", "the URL must be 1 to 1024 bytes"));
    }
    if !valid_http_url(&cmd.url) {
        return Err(bad("url_http", "the URL must be an http or https URL"));
    }
    if cmd.method != "P" && cmd.method != "G" {
        return Err(bad("method", "the method must be \"P\" or \"G\""));
    }
    if cmd.display_name.len() > DISPLAY_NAME_MAX_LENGTH {
        return Err(bad("display_name", "the display name is too long"));
    }
    if cmd.description.len() > DESCRIPTION_MAX_LENGTH {
        return Err(bad("description", "the description is too long"));
    }
    Ok(())
}

/// The team's live custom commands, in creation order (upstream's store query has no
/// ORDER BY: the order is unspecified).
fn live_custom(cx: &Cx<'_>, team_id: &str) -> Vec<Command> {
    let mut out: Vec<Command> = cx
        .store
        .commands
        .custom
        .values()
        .filter(|c| c.delete_at == 0 && c.team_id == team_id)
        .cloned()
        .collect();
    out.sort_by(|a, b| a.create_at.cmp(&b.create_at).then(a.id.cmp(&b.id)));
    out
}

/// Upstream's `CommandsForTeam`: the plugin commands of the team and of every team, in
/// registration order, duplicates included.
fn plugin_commands_for<'a>(
    cx: &'a Cx<'_>,
    team_id: &'a str,
) -> impl Iterator<Item = &'a PluginCommand> {
    cx.store
        .commands
        .plugin
        .iter()
        .filter(move |pc| pc.command.team_id.is_empty() || pc.command.team_id == team_id)
}

/// `ListPluginCommands`' list: the first command of each trigger.
fn listed_plugin_commands(cx: &Cx<'_>, team_id: &str) -> Vec<Command> {
    let mut seen = std::collections::BTreeSet::new();
    plugin_commands_for(cx, team_id)
        .filter(|pc| seen.insert(pc.command.trigger.clone()))
        .map(|pc| pc.command.clone())
        .collect()
}

/// `RegisterCommand`: upstream's `RegisterPluginCommand`. Only an empty trigger is
/// refused (a plain error); no team is checked. The stored command keeps the lower-cased
/// trigger, the team and the auto-complete fields and display name, nothing else. The
/// same plugin registering the same (team, trigger) replaces its entry in place; another
/// plugin's registration is appended (the first one of a trigger wins in listings and
/// execution).
pub fn register_command(
    cx: &mut Cx<'_>,
    req: RegisterCommandRequest,
) -> Res<RegisterCommandResponse> {
    let cmd = req.command.ok_or_else(|| cx.required("command"))?;
    if cmd.trigger.is_empty() {
        return Err(cx.go_error("invalid command"));
    }
    let command = Command {
        trigger: cmd.trigger.to_lowercase(),
        team_id: cmd.team_id,
        auto_complete: cmd.auto_complete,
        auto_complete_desc: cmd.auto_complete_desc,
        auto_complete_hint: cmd.auto_complete_hint,
        display_name: cmd.display_name,
        ..Default::default()
    };
    let plugin_id = cx.plugin_id.to_string();
    let own = cx.store.commands.plugin.iter_mut().find(|pc| {
        pc.plugin_id == plugin_id
            && pc.command.trigger == command.trigger
            && pc.command.team_id == command.team_id
    });
    match own {
        Some(pc) => pc.command = command,
        None => cx
            .store
            .commands
            .plugin
            .push(PluginCommand { plugin_id, command }),
    }
    Ok(RegisterCommandResponse::default())
}

/// `UnregisterCommand`: removes every plugin command with exactly this team id and
/// (lower-cased) trigger, whichever plugin registered it. Never fails.
pub fn unregister_command(
    cx: &mut Cx<'_>,
    req: UnregisterCommandRequest,
) -> Res<UnregisterCommandResponse> {
    let trigger = req.trigger.to_lowercase();
    cx.store
        .commands
        .plugin
        .retain(|pc| !(pc.command.team_id == req.team_id && pc.command.trigger == trigger));
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

/// A post of the command's user in the command's channel (upstream's
/// `CreatePostMissingChannel`); its failure is the caller's to report or ignore.
fn post_as_user(
    cx: &mut Cx<'_>,
    args: &CommandArgs,
    channel_id: &str,
    message: &str,
    post_type: &str,
) -> Res<()> {
    super::posts::create_post(
        cx,
        CreatePostRequest {
            post: Some(Post {
                channel_id: channel_id.to_string(),
                root_id: args.root_id.clone(),
                user_id: args.user_id.clone(),
                message: message.to_string(),
                r#type: post_type.to_string(),
                ..Default::default()
            }),
        },
    )
    .map(|_| ())
}

/// `/echo`: the message (a quoted message may be followed by a delay, an unquoted one may
/// end with one) is posted by the user in the channel after the delay, and the answer is
/// empty. The reference server posts at once (departure: no delay).
fn echo(cx: &mut Cx<'_>, args: &CommandArgs, message: &str) -> CommandResponse {
    if message.is_empty() {
        return ephemeral("A message must be provided with the /echo command.");
    }
    let mut text = message;
    let mut delay = 0_i64;
    match message.rfind('"') {
        Some(end) if message.starts_with('"') && end > 1 => {
            if let Ok(d) = message[end..].trim_matches([' ', '"']).parse::<i64>() {
                delay = d;
            }
            text = &message[1..end];
        }
        _ => {
            if let Some(idx) = message.rfind(' ')
                && let Ok(d) = message[idx..].trim().parse::<i64>()
            {
                delay = d;
                text = &message[..idx];
            }
        }
    }
    if delay > ECHO_MAX_DELAY {
        return ephemeral("Delays must be under 10000 seconds.");
    }
    // Upstream only logs a failure of the asynchronous post.
    let _ = post_as_user(cx, args, &args.channel_id, text, "");
    CommandResponse::default()
}

fn run_built_in(
    cx: &mut Cx<'_>,
    args: &CommandArgs,
    trigger: &str,
    message: &str,
) -> CommandResponse {
    match trigger {
        "echo" => echo(cx, args, message),
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

/// Upstream's `HandleCommandResponse`: an `in_channel` answer becomes a post of the user
/// (in `response.channel_id` if set, which needs membership), an ephemeral answer with a
/// text an ephemeral post; a failure is 500 `create_post_failed`. The answer goes back
/// without `type` and attachments (upstream's converter never sends them).
fn handle_response(
    cx: &mut Cx<'_>,
    args: &CommandArgs,
    trigger: &str,
    mut response: CommandResponse,
) -> Res<ExecuteSlashCommandResponse> {
    let mut channel_id = args.channel_id.clone();
    let mut failed = false;
    if !response.channel_id.is_empty() {
        let member = cx
            .store
            .channels
            .members
            .contains_key(&(response.channel_id.clone(), args.user_id.clone()));
        failed = !member;
        channel_id = response.channel_id.clone();
    }
    if !failed && response.r#type.starts_with("system_") {
        failed = true;
    }
    if !failed {
        if response.response_type == "in_channel" {
            failed = post_as_user(cx, args, &channel_id, &response.text, &response.r#type).is_err();
        } else if (response.response_type.is_empty() || response.response_type == "ephemeral")
            && !response.text.is_empty()
        {
            let post = Post {
                channel_id,
                root_id: args.root_id.clone(),
                user_id: args.user_id.clone(),
                message: response.text.clone(),
                r#type: response.r#type.clone(),
                ..Default::default()
            };
            let _ = super::posts::send_ephemeral_post(
                cx,
                SendEphemeralPostRequest {
                    user_id: args.user_id.clone(),
                    post: Some(post),
                },
            );
        }
    }
    if failed {
        return Err(cx.err(
            500,
            "api.command.execute_command.create_post_failed.app_error",
            format!("the answer of /{trigger} could not be posted"),
        ));
    }
    response.r#type.clear();
    response.attachments.clear();
    Ok(ExecuteSlashCommandResponse {
        response: Some(response),
        ..Default::default()
    })
}

fn enable_commands(cx: &mut Cx<'_>) -> bool {
    cx.store
        .config
        .setting("ServiceSettings.EnableCommands")
        .as_bool()
        .unwrap_or(true)
}

/// `ExecuteSlashCommand`: run a slash command as the user `command_args.user_id` (404 if
/// unknown). As upstream's `ExecuteCommand`: the text is split at its first whitespace,
/// the trigger lower-cased and must start with `/` (400); then plugin commands of the team
/// (or of every team), then — with `EnableCommands` — custom commands, which load the team
/// (404), the user and the channel (404) even when no custom command matches, then the
/// built-ins; otherwise 404. Only plugin and custom command answers carry a trigger id.
/// The reference server answers a plugin command with an ephemeral note instead of
/// calling the plugin's `ExecuteCommand` hook, and a custom command with a note instead
/// of calling its URL.
pub fn execute_slash_command(
    cx: &mut Cx<'_>,
    req: ExecuteSlashCommandRequest,
) -> Res<ExecuteSlashCommandResponse> {
    let args = req
        .command_args
        .ok_or_else(|| cx.required("command_args"))?;
    cx.user(&args.user_id)?;
    let command = args.command.as_str();
    let (first, message) = match command.char_indices().find(|(_, c)| c.is_whitespace()) {
        Some((i, c)) => (&command[..i], &command[i + c.len_utf8()..]),
        None => (command, ""),
    };
    let first = first.to_lowercase();
    let Some(trigger) = first.strip_prefix('/') else {
        return Err(cx.bad(
            "api.command.execute_command.format.app_error",
            format!("a command starts with a slash, got {first:?}"),
        ));
    };
    let trigger = trigger.to_string();
    let message = message.to_string();

    let plugin = plugin_commands_for(cx, &args.team_id)
        .find(|pc| pc.command.trigger == trigger)
        .cloned();
    if let Some(pc) = plugin {
        let mut response = ephemeral(format!(
            "/{trigger} belongs to plugin {:?}; the reference server does not run plugin \
             hooks from an API call",
            pc.plugin_id
        ));
        let now = cx.now;
        response.trigger_id = cx.store.misc.issue_trigger_id(&args.user_id, now);
        return handle_response(cx, &args, &trigger, response);
    }

    if !enable_commands(cx) {
        return Err(cx.err(
            501,
            "api.command.disabled.app_error",
            "slash commands are disabled (ServiceSettings.EnableCommands)",
        ));
    }
    cx.team(&args.team_id)?;
    cx.user(&args.user_id)?;
    cx.channel(&args.channel_id)?;
    let custom = live_custom(cx, &args.team_id)
        .into_iter()
        .rfind(|c| c.trigger == trigger);
    if let Some(cmd) = custom {
        let site_url = cx.store.config.setting("ServiceSettings.SiteURL");
        if site_url.as_str().unwrap_or_default().is_empty() {
            return Err(cx.bad(
                "api.command.execute_command.site_url_required.app_error",
                "custom commands need ServiceSettings.SiteURL",
            ));
        }
        let mut response = ephemeral(format!(
            "/{trigger} is a custom command ({} {}); the reference server does not call it",
            cmd.method, cmd.url
        ));
        let now = cx.now;
        response.trigger_id = cx.store.misc.issue_trigger_id(&args.user_id, now);
        return handle_response(cx, &args, &trigger, response);
    }

    if is_built_in(&trigger) {
        let response = run_built_in(cx, &args, &trigger, &message);
        return handle_response(cx, &args, &trigger, response);
    }
    let mut shown = trigger.clone();
    if shown.len() > MAX_TRIGGER_IN_ERROR {
        let mut end = MAX_TRIGGER_IN_ERROR;
        while !shown.is_char_boundary(end) {
            end -= 1;
        }
        shown.truncate(end);
        shown.push_str("...");
    }
    Err(cx.err(
        404,
        "api.command.execute_command.not_found.app_error",
        format!("Command with a trigger of '/{shown}' not found."),
    ))
}

/// `CreateCommand`: upstream's plugin API clears the creator, sets the plugin id to the
/// caller's and runs `createCommand` (EnableCommands is not consulted): the trigger is
/// lower-cased; a built-in's trigger or a live custom command of the team with the same
/// trigger is 400 duplicate; a request id is 500; the store keeps a request token and
/// `delete_at`, sets id, token when empty and times, and validates (`Command.IsValid`: the
/// team id must look like an id, the team need not exist; URL and method "P"/"G" are
/// required).
pub fn create_command(cx: &mut Cx<'_>, req: CreateCommandRequest) -> Res<CreateCommandResponse> {
    let mut cmd = req.cmd.ok_or_else(|| cx.required("command"))?;
    cmd.creator_id.clear();
    cmd.plugin_id = cx.plugin_id.to_string();
    cmd.trigger = cmd.trigger.to_lowercase();
    let duplicate = is_built_in(&cmd.trigger)
        || live_custom(cx, &cmd.team_id)
            .iter()
            .any(|c| c.trigger.to_lowercase() == cmd.trigger);
    if duplicate {
        return Err(cx.bad(
            "api.command.duplicate_trigger.app_error",
            format!(
                "the trigger {:?} is already used in team {:?}",
                cmd.trigger, cmd.team_id
            ),
        ));
    }
    if !cmd.id.is_empty() {
        return Err(cx.err(
            500,
            "app.command.createcommand.internal_error",
            "a new command must not carry an id",
        ));
    }
    cmd.id = new_id();
    if cmd.token.is_empty() {
        cmd.token = new_id();
    }
    cmd.create_at = cx.now;
    cmd.update_at = cx.now;
    check_command(cx, &cmd)?;
    cx.store.commands.custom.insert(cmd.id.clone(), cmd.clone());
    Ok(CreateCommandResponse {
        command: Some(cmd),
        ..Default::default()
    })
}

/// `ListCommands`: the team's plugin commands, then the built-ins, then the team's custom
/// commands (unsanitized), with no team check and no de-duplication across the groups.
pub fn list_commands(cx: &mut Cx<'_>, req: ListCommandsRequest) -> Res<ListCommandsResponse> {
    let mut commands = listed_plugin_commands(cx, &req.team_id);
    commands.extend(built_ins());
    commands.extend(live_custom(cx, &req.team_id));
    Ok(ListCommandsResponse {
        commands,
        ..Default::default()
    })
}

/// `ListCustomCommands`: the live custom commands with this team id (no team check).
pub fn list_custom_commands(
    cx: &mut Cx<'_>,
    req: ListCustomCommandsRequest,
) -> Res<ListCustomCommandsResponse> {
    Ok(ListCustomCommandsResponse {
        commands: live_custom(cx, &req.team_id),
        ..Default::default()
    })
}

/// `ListPluginCommands`: the plugin commands of the team and of every team, the first of
/// each trigger, in registration order (no team check).
pub fn list_plugin_commands(
    cx: &mut Cx<'_>,
    req: ListPluginCommandsRequest,
) -> Res<ListPluginCommandsResponse> {
    Ok(ListPluginCommandsResponse {
        commands: listed_plugin_commands(cx, &req.team_id),
        ..Default::default()
    })
}

/// `ListBuiltInCommands`: Mattermost's auto-complete built-ins, sanitized.
pub fn list_built_in_commands(
    _cx: &mut Cx<'_>,
    _req: ListBuiltInCommandsRequest,
) -> Res<ListBuiltInCommandsResponse> {
    Ok(ListBuiltInCommandsResponse {
        commands: built_ins(),
        ..Default::default()
    })
}

fn live_command(cx: &Cx<'_>, id: &str) -> Res<Command> {
    cx.store
        .commands
        .custom
        .get(id)
        .filter(|c| c.delete_at == 0)
        .cloned()
        .ok_or_else(|| command_not_found(cx, id))
}

/// `GetCommand`: the live custom command with this id, read from the store directly
/// (unknown or deleted: a plain not-found error).
pub fn get_command(cx: &mut Cx<'_>, req: GetCommandRequest) -> Res<GetCommandResponse> {
    let command = live_command(cx, &req.command_id)?;
    Ok(GetCommandResponse {
        command: Some(command),
        ..Default::default()
    })
}

/// `UpdateCommand`: as upstream's plugin API: the live command is read first (a plain
/// not-found error), the request's fields replace it with the trigger lower-cased and id,
/// token, create_at and delete_at kept, update_at now, the caller's plugin id, the old
/// team when the request names none and the creator the request gives; the store then
/// validates (`Command.IsValid`). No trigger uniqueness check and no team check.
pub fn update_command(cx: &mut Cx<'_>, req: UpdateCommandRequest) -> Res<UpdateCommandResponse> {
    let mut cmd = req.updated_cmd.ok_or_else(|| cx.required("command"))?;
    let old = live_command(cx, &req.command_id)?;
    cmd.trigger = cmd.trigger.to_lowercase();
    cmd.id = old.id;
    cmd.token = old.token;
    cmd.create_at = old.create_at;
    cmd.update_at = cx.now;
    cmd.delete_at = old.delete_at;
    cmd.plugin_id = cx.plugin_id.to_string();
    if cmd.team_id.is_empty() {
        cmd.team_id = old.team_id;
    }
    check_command(cx, &cmd)?;
    cx.store.commands.custom.insert(cmd.id.clone(), cmd.clone());
    Ok(UpdateCommandResponse {
        command: Some(cmd),
        ..Default::default()
    })
}

/// `DeleteCommand`: soft delete (`delete_at`, `update_at` = now) of the row with this id,
/// deleted or not; an unknown id is no error (upstream's UPDATE matches no row).
pub fn delete_command(cx: &mut Cx<'_>, req: DeleteCommandRequest) -> Res<DeleteCommandResponse> {
    let now = cx.now;
    if let Some(cmd) = cx.store.commands.custom.get_mut(&req.command_id) {
        cmd.delete_at = now;
        cmd.update_at = now;
    }
    Ok(DeleteCommandResponse::default())
}
