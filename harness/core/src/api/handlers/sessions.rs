//! Session rpcs of the reference PluginAPI server: sessions (create, read, extend,
//! revoke) and personal access tokens, which upstream backs with a session of their own.

// Every handler answers `Res<_>`, whose error is the protocol's AppError message.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;

use super::prelude::*;

/// Session prop naming the access token a session belongs to (upstream
/// `SessionPropUserAccessTokenId`).
const PROP_TOKEN_ID: &str = "user_access_token_id";

/// Sessions and personal access tokens.
#[derive(Debug, Default)]
pub struct SessionsState {
    /// Sessions by id.
    sessions: BTreeMap<String, Session>,
    /// Personal access tokens by id.
    tokens: BTreeMap<String, UserAccessToken>,
}

/// Revokes every session of a user and deactivates nothing else (a deactivated user's
/// sessions end, as upstream's `UpdateActive`).
pub(super) fn revoke_all_for_user(cx: &mut Cx<'_>, user_id: &str) {
    cx.store
        .sessions
        .sessions
        .retain(|_, s| s.user_id != user_id);
}

/// Gives every session of a user the user's new roles (upstream's `UpdateUserRoles`
/// updates the sessions' roles too).
pub(super) fn set_roles_for_user(cx: &mut Cx<'_>, user_id: &str, roles: &str) {
    for s in cx.store.sessions.sessions.values_mut() {
        if s.user_id == user_id {
            s.roles = roles.to_string();
        }
    }
}

/// The session with this id or token (upstream's session store reads either).
fn find_session<'a>(cx: &'a Cx<'_>, id_or_token: &str) -> Option<&'a Session> {
    let sessions = &cx.store.sessions.sessions;
    sessions.get(id_or_token).or_else(|| {
        sessions
            .values()
            .find(|s| !id_or_token.is_empty() && s.token == id_or_token)
    })
}

/// The user's live team memberships, which upstream's session store attaches to every
/// session it saves or reads (`TeamMembers` is no column of the sessions table).
fn live_team_members(cx: &Cx<'_>, user_id: &str) -> Vec<TeamMember> {
    cx.store
        .teams
        .members
        .values()
        .filter(|m| m.user_id == user_id && m.delete_at == 0)
        .cloned()
        .collect()
}

/// Upstream's `GetSessionById` failure: any store error, not found included, is 400.
fn session_not_found(cx: &Cx<'_>, id: &str) -> AppError {
    cx.bad(
        "app.session.get.app_error",
        format!("session {id:?} not found"),
    )
}

/// `GetSession`: fetch a session by id (or token), as stored: expired sessions too, the
/// token included, with the user's live team memberships. An unknown one is 400
/// `app.session.get.app_error`.
pub fn get_session(cx: &mut Cx<'_>, req: GetSessionRequest) -> Res<GetSessionResponse> {
    let mut session = find_session(cx, &req.session_id)
        .cloned()
        .ok_or_else(|| session_not_found(cx, &req.session_id))?;
    session.team_members = live_team_members(cx, &session.user_id);
    Ok(GetSessionResponse {
        session: Some(session),
        ..Default::default()
    })
}

/// `CreateSession`: create a session record, as upstream's `App.CreateSession` and
/// `Session.PreSave`: the user need not exist (a remote user is 401); a given id is 400
/// `app.session.save.existing.app_error`; the token is always generated; create_at and
/// last_activity_at are now; expires_at (0: never), device id, roles, the OAuth and
/// expiry-notified flags and props are kept; the team members are the user's live ones.
pub fn create_session(cx: &mut Cx<'_>, req: CreateSessionRequest) -> Res<CreateSessionResponse> {
    let mut session = req.session.ok_or_else(|| cx.required("session"))?;
    if let Some(user) = cx.store.users.users.get(&session.user_id)
        && user.remote_id.as_deref().is_some_and(|r| !r.is_empty())
    {
        return Err(cx.err(
            401,
            "api.user.login.remote_users.login.error",
            "remote users cannot have sessions",
        ));
    }
    if !session.id.is_empty() {
        return Err(cx.bad(
            "app.session.save.existing.app_error",
            "a new session must not have an id",
        ));
    }
    session.id = new_id();
    session.token = new_id();
    session.create_at = cx.now;
    session.last_activity_at = cx.now;
    session.team_members = live_team_members(cx, &session.user_id);
    // `Local` is no column either: the answer (the saved object) keeps it, a read has none.
    let mut stored = session.clone();
    stored.local = false;
    stored.team_members.clear();
    cx.store
        .sessions
        .sessions
        .insert(session.id.clone(), stored);
    Ok(CreateSessionResponse {
        session: Some(session),
        ..Default::default()
    })
}

/// `ExtendSessionExpiry`: set a session's expiry (any value, not checked). An unknown
/// session is 500 `app.session.get_sessions.app_error`, as upstream's plugin API maps the
/// lookup's failure.
pub fn extend_session_expiry(
    cx: &mut Cx<'_>,
    req: ExtendSessionExpiryRequest,
) -> Res<ExtendSessionExpiryResponse> {
    let id = find_session(cx, &req.session_id)
        .map(|s| s.id.clone())
        .ok_or_else(|| {
            cx.err(
                500,
                "app.session.get_sessions.app_error",
                format!("session {:?} not found", req.session_id),
            )
        })?;
    if let Some(session) = cx.store.sessions.sessions.get_mut(&id) {
        session.expires_at = req.new_expiry;
    }
    Ok(ExtendSessionExpiryResponse::default())
}

/// `RevokeSession`: revoke (delete) a session; an unknown one is 400
/// `app.session.get.app_error`.
pub fn revoke_session(cx: &mut Cx<'_>, req: RevokeSessionRequest) -> Res<RevokeSessionResponse> {
    let id = find_session(cx, &req.session_id)
        .map(|s| s.id.clone())
        .ok_or_else(|| session_not_found(cx, &req.session_id))?;
    cx.store.sessions.sessions.remove(&id);
    Ok(RevokeSessionResponse::default())
}

/// `CreateUserAccessToken`: mint a personal access token, as upstream's
/// `App.CreateUserAccessToken`: the user must exist (404); unless it is a bot, personal
/// access tokens must be enabled (`ServiceSettings.EnableUserAccessTokens`, off by
/// default: 501 `app.user_access_token.disabled`); the token string is generated and
/// answered once; the description is at most 255 characters. No session is made until the
/// token is used.
pub fn create_user_access_token(
    cx: &mut Cx<'_>,
    req: CreateUserAccessTokenRequest,
) -> Res<CreateUserAccessTokenResponse> {
    let mut token = req.token.ok_or_else(|| cx.required("token"))?;
    let user = cx.user(&token.user_id)?;
    let enabled = cx
        .store
        .config
        .setting("ServiceSettings.EnableUserAccessTokens")
        .as_bool()
        .unwrap_or(false);
    if !enabled && !user.is_bot {
        return Err(cx.err(
            501,
            "app.user_access_token.disabled",
            "personal access tokens are disabled on this server",
        ));
    }
    token.id = new_id();
    token.token = new_id();
    token.is_active = true;
    if token.description.chars().count() > 255 {
        return Err(cx.bad(
            "model.user_access_token.is_valid.description.app_error",
            "the description is longer than 255 characters",
        ));
    }
    cx.store
        .sessions
        .tokens
        .insert(token.id.clone(), token.clone());
    Ok(CreateUserAccessTokenResponse {
        token: Some(token),
        ..Default::default()
    })
}

/// `RevokeUserAccessToken`: revoke (delete) a personal access token and any session made
/// from it; an unknown token id is 404 `app.user_access_token.get_by_user.app_error`.
pub fn revoke_user_access_token(
    cx: &mut Cx<'_>,
    req: RevokeUserAccessTokenRequest,
) -> Res<RevokeUserAccessTokenResponse> {
    if cx.store.sessions.tokens.remove(&req.token_id).is_none() {
        return Err(cx.err(
            404,
            "app.user_access_token.get_by_user.app_error",
            format!("access token {:?} not found", req.token_id),
        ));
    }
    cx.store
        .sessions
        .sessions
        .retain(|_, s| s.props.get(PROP_TOKEN_ID) != Some(&req.token_id));
    Ok(RevokeUserAccessTokenResponse::default())
}
