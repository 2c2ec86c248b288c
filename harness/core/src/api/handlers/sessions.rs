//! Session rpcs of the reference PluginAPI server: sessions (create, read, extend,
//! revoke) and personal access tokens, which upstream backs with a session of their own.

// Every handler answers `Res<_>`, whose error is the protocol's AppError message.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;

use super::prelude::*;

/// Session prop naming the access token a session belongs to (upstream
/// `SessionPropUserAccessTokenId`).
const PROP_TOKEN_ID: &str = "user_access_token_id";
/// Session prop naming the session type (upstream `SessionPropType`).
const PROP_TYPE: &str = "type";

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

fn session_not_found(cx: &Cx<'_>, id: &str) -> AppError {
    cx.err(
        404,
        "app.session.get.app_error",
        format!("session {id:?} not found"),
    )
}

/// `GetSession`: fetch a session by id.
pub fn get_session(cx: &mut Cx<'_>, req: GetSessionRequest) -> Res<GetSessionResponse> {
    let session = cx
        .store
        .sessions
        .sessions
        .get(&req.session_id)
        .cloned()
        .ok_or_else(|| session_not_found(cx, &req.session_id))?;
    Ok(GetSessionResponse {
        session: Some(session),
        ..Default::default()
    })
}

/// `CreateSession`: create a session record for an existing user. As upstream, a given id
/// is refused, the token is always generated, create_at and last_activity_at are now and
/// the given expires_at, roles and props are kept.
pub fn create_session(cx: &mut Cx<'_>, req: CreateSessionRequest) -> Res<CreateSessionResponse> {
    let mut session = req.session.ok_or_else(|| cx.required("session"))?;
    if !session.id.is_empty() {
        return Err(cx.bad(
            "store.sql_session.save.existing.app_error",
            "a new session must not have an id",
        ));
    }
    if !is_valid_id(&session.user_id) {
        return Err(cx.bad(
            "model.session.is_valid.user_id.app_error",
            format!("invalid user id {:?}", session.user_id),
        ));
    }
    cx.user(&session.user_id)?;
    if session.expires_at < 0 {
        return Err(cx.bad(
            "model.session.is_valid.expires_at.app_error",
            "expires_at must not be negative",
        ));
    }
    session.id = new_id();
    session.token = new_id();
    session.create_at = cx.now;
    session.last_activity_at = cx.now;
    cx.store
        .sessions
        .sessions
        .insert(session.id.clone(), session.clone());
    Ok(CreateSessionResponse {
        session: Some(session),
        ..Default::default()
    })
}

/// `ExtendSessionExpiry`: move a session's expiry time (ms; must be positive).
pub fn extend_session_expiry(
    cx: &mut Cx<'_>,
    req: ExtendSessionExpiryRequest,
) -> Res<ExtendSessionExpiryResponse> {
    if req.new_expiry <= 0 {
        return Err(cx.bad(
            "app.session.extend_session_expiry.app_error",
            "new_expiry must be a positive time in milliseconds",
        ));
    }
    let not_found = session_not_found(cx, &req.session_id);
    let session = cx
        .store
        .sessions
        .sessions
        .get_mut(&req.session_id)
        .ok_or(not_found)?;
    session.expires_at = req.new_expiry;
    Ok(ExtendSessionExpiryResponse::default())
}

/// `RevokeSession`: revoke (delete) a session; a later GetSession is 404.
pub fn revoke_session(cx: &mut Cx<'_>, req: RevokeSessionRequest) -> Res<RevokeSessionResponse> {
    if cx.store.sessions.sessions.remove(&req.session_id).is_none() {
        return Err(session_not_found(cx, &req.session_id));
    }
    Ok(RevokeSessionResponse::default())
}

/// `CreateUserAccessToken`: mint a personal access token for an existing, active user.
/// The token string is answered once (and backs a new session of type
/// `UserAccessToken`, as upstream); the description is at most 255 characters.
pub fn create_user_access_token(
    cx: &mut Cx<'_>,
    req: CreateUserAccessTokenRequest,
) -> Res<CreateUserAccessTokenResponse> {
    let mut token = req.token.ok_or_else(|| cx.required("token"))?;
    let user = cx.user(&token.user_id)?;
    if user.delete_at != 0 {
        return Err(cx.bad(
            "app.user_access_token.inactive_user.app_error",
            "the user is deactivated",
        ));
    }
    if token.description.chars().count() > 255 {
        return Err(cx.bad(
            "model.user_access_token.is_valid.description.app_error",
            "the description is longer than 255 characters",
        ));
    }
    token.id = new_id();
    token.token = new_id();
    token.is_active = true;
    let session = Session {
        id: new_id(),
        token: token.token.clone(),
        create_at: cx.now,
        last_activity_at: cx.now,
        // Upstream: 100 years.
        expires_at: cx.now + 100 * 365 * 24 * 3600 * 1000,
        user_id: user.id.clone(),
        roles: user.roles.clone(),
        props: [
            (PROP_TOKEN_ID.to_string(), token.id.clone()),
            (PROP_TYPE.to_string(), "UserAccessToken".to_string()),
        ]
        .into_iter()
        .collect(),
        ..Default::default()
    };
    let sessions = &mut cx.store.sessions;
    sessions.sessions.insert(session.id.clone(), session);
    sessions.tokens.insert(token.id.clone(), token.clone());
    Ok(CreateUserAccessTokenResponse {
        token: Some(token),
        ..Default::default()
    })
}

/// `RevokeUserAccessToken`: revoke (delete) a personal access token and its session;
/// an unknown token id is 404.
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
