//! Session rpcs of the reference PluginAPI server.

use super::prelude::*;

/// This domain's part of the store.
#[derive(Debug, Default)]
pub struct SessionsState {}

/// `GetSession`: fetch a session by id.
pub fn get_session(_cx: &mut Cx<'_>, _req: GetSessionRequest) -> Res<GetSessionResponse> {
    todo_rpc("GetSession")
}

/// `CreateSession`: create a session record.
pub fn create_session(_cx: &mut Cx<'_>, _req: CreateSessionRequest) -> Res<CreateSessionResponse> {
    todo_rpc("CreateSession")
}

/// `ExtendSessionExpiry`: move a session's expiry time.
pub fn extend_session_expiry(
    _cx: &mut Cx<'_>,
    _req: ExtendSessionExpiryRequest,
) -> Res<ExtendSessionExpiryResponse> {
    todo_rpc("ExtendSessionExpiry")
}

/// `RevokeSession`: revoke a session.
pub fn revoke_session(_cx: &mut Cx<'_>, _req: RevokeSessionRequest) -> Res<RevokeSessionResponse> {
    todo_rpc("RevokeSession")
}

/// `CreateUserAccessToken`: mint a personal access token.
pub fn create_user_access_token(
    _cx: &mut Cx<'_>,
    _req: CreateUserAccessTokenRequest,
) -> Res<CreateUserAccessTokenResponse> {
    todo_rpc("CreateUserAccessToken")
}

/// `RevokeUserAccessToken`: revoke a personal access token.
pub fn revoke_user_access_token(
    _cx: &mut Cx<'_>,
    _req: RevokeUserAccessTokenRequest,
) -> Res<RevokeUserAccessTokenResponse> {
    todo_rpc("RevokeUserAccessToken")
}
