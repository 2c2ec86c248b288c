//! OAuth rpcs of the reference PluginAPI server.

use super::prelude::*;

/// This domain's part of the store.
#[derive(Debug, Default)]
pub struct OauthState {}

/// `CreateOAuthApp`: register an OAuth app.
pub fn create_o_auth_app(
    _cx: &mut Cx<'_>,
    _req: CreateOAuthAppRequest,
) -> Res<CreateOAuthAppResponse> {
    todo_rpc("CreateOAuthApp")
}

/// `GetOAuthApp`: fetch an OAuth app.
pub fn get_o_auth_app(_cx: &mut Cx<'_>, _req: GetOAuthAppRequest) -> Res<GetOAuthAppResponse> {
    todo_rpc("GetOAuthApp")
}

/// `UpdateOAuthApp`: update an OAuth app.
pub fn update_o_auth_app(
    _cx: &mut Cx<'_>,
    _req: UpdateOAuthAppRequest,
) -> Res<UpdateOAuthAppResponse> {
    todo_rpc("UpdateOAuthApp")
}

/// `DeleteOAuthApp`: delete an OAuth app.
pub fn delete_o_auth_app(
    _cx: &mut Cx<'_>,
    _req: DeleteOAuthAppRequest,
) -> Res<DeleteOAuthAppResponse> {
    todo_rpc("DeleteOAuthApp")
}
