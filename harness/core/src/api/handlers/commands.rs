//! Command rpcs of the reference PluginAPI server.

use super::prelude::*;

/// This domain's part of the store.
#[derive(Debug, Default)]
pub struct CommandsState {}

/// `RegisterCommand`: register a slash command owned by the plugin.
pub fn register_command(
    _cx: &mut Cx<'_>,
    _req: RegisterCommandRequest,
) -> Res<RegisterCommandResponse> {
    todo_rpc("RegisterCommand")
}

/// `UnregisterCommand`: unregister a plugin slash command.
pub fn unregister_command(
    _cx: &mut Cx<'_>,
    _req: UnregisterCommandRequest,
) -> Res<UnregisterCommandResponse> {
    todo_rpc("UnregisterCommand")
}

/// `ExecuteSlashCommand`: run a slash command as if typed.
pub fn execute_slash_command(
    _cx: &mut Cx<'_>,
    _req: ExecuteSlashCommandRequest,
) -> Res<ExecuteSlashCommandResponse> {
    todo_rpc("ExecuteSlashCommand")
}

/// `CreateCommand`: create a custom (webhook) slash command.
pub fn create_command(_cx: &mut Cx<'_>, _req: CreateCommandRequest) -> Res<CreateCommandResponse> {
    todo_rpc("CreateCommand")
}

/// `ListCommands`: all commands visible in a team.
pub fn list_commands(_cx: &mut Cx<'_>, _req: ListCommandsRequest) -> Res<ListCommandsResponse> {
    todo_rpc("ListCommands")
}

/// `ListCustomCommands`: custom commands in a team.
pub fn list_custom_commands(
    _cx: &mut Cx<'_>,
    _req: ListCustomCommandsRequest,
) -> Res<ListCustomCommandsResponse> {
    todo_rpc("ListCustomCommands")
}

/// `ListPluginCommands`: plugin-registered commands in a team.
pub fn list_plugin_commands(
    _cx: &mut Cx<'_>,
    _req: ListPluginCommandsRequest,
) -> Res<ListPluginCommandsResponse> {
    todo_rpc("ListPluginCommands")
}

/// `ListBuiltInCommands`: built-in commands.
pub fn list_built_in_commands(
    _cx: &mut Cx<'_>,
    _req: ListBuiltInCommandsRequest,
) -> Res<ListBuiltInCommandsResponse> {
    todo_rpc("ListBuiltInCommands")
}

/// `GetCommand`: fetch a command by id.
pub fn get_command(_cx: &mut Cx<'_>, _req: GetCommandRequest) -> Res<GetCommandResponse> {
    todo_rpc("GetCommand")
}

/// `UpdateCommand`: update a command.
pub fn update_command(_cx: &mut Cx<'_>, _req: UpdateCommandRequest) -> Res<UpdateCommandResponse> {
    todo_rpc("UpdateCommand")
}

/// `DeleteCommand`: delete a command.
pub fn delete_command(_cx: &mut Cx<'_>, _req: DeleteCommandRequest) -> Res<DeleteCommandResponse> {
    todo_rpc("DeleteCommand")
}
