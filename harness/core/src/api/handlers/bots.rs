//! Bot rpcs of the reference PluginAPI server.

use super::prelude::*;

/// This domain's part of the store.
#[derive(Debug, Default)]
pub struct BotsState {}

/// `CreateBot`: create a bot account.
pub fn create_bot(_cx: &mut Cx<'_>, _req: CreateBotRequest) -> Res<CreateBotResponse> {
    todo_rpc("CreateBot")
}

/// `PatchBot`: patch a bot's username/display name/description.
pub fn patch_bot(_cx: &mut Cx<'_>, _req: PatchBotRequest) -> Res<PatchBotResponse> {
    todo_rpc("PatchBot")
}

/// `GetBot`: fetch a bot by user id.
pub fn get_bot(_cx: &mut Cx<'_>, _req: GetBotRequest) -> Res<GetBotResponse> {
    todo_rpc("GetBot")
}

/// `GetBots`: list bots with options.
pub fn get_bots(_cx: &mut Cx<'_>, _req: GetBotsRequest) -> Res<GetBotsResponse> {
    todo_rpc("GetBots")
}

/// `UpdateBotActive`: activate or deactivate a bot.
pub fn update_bot_active(
    _cx: &mut Cx<'_>,
    _req: UpdateBotActiveRequest,
) -> Res<UpdateBotActiveResponse> {
    todo_rpc("UpdateBotActive")
}

/// `PermanentDeleteBot`: permanently delete a bot.
pub fn permanent_delete_bot(
    _cx: &mut Cx<'_>,
    _req: PermanentDeleteBotRequest,
) -> Res<PermanentDeleteBotResponse> {
    todo_rpc("PermanentDeleteBot")
}

/// `EnsureBotUser`: create the bot if missing and return its user id.
pub fn ensure_bot_user(_cx: &mut Cx<'_>, _req: EnsureBotUserRequest) -> Res<EnsureBotUserResponse> {
    todo_rpc("EnsureBotUser")
}
