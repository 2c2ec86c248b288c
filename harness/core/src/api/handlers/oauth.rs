//! OAuth rpcs of the reference PluginAPI server: OAuth 2.0 apps registered with the
//! server's provider, validated as Mattermost's `OAuthApp.IsValid` does. Deletes are
//! permanent, as upstream's.

use std::collections::BTreeMap;

use super::prelude::*;

/// This domain's part of the store.
#[derive(Debug, Default)]
pub struct OauthState {
    /// Apps by id.
    apps: BTreeMap<String, OAuthApp>,
}

impl OauthState {
    /// The app with this id, if any.
    pub fn app(&self, id: &str) -> Option<&OAuthApp> {
        self.apps.get(id)
    }
}

fn app_not_found(cx: &Cx<'_>, id: &str) -> AppError {
    cx.err(
        404,
        "app.oauth.get_app.find.app_error",
        format!("OAuth app {id:?} not found"),
    )
}

/// An absolute http(s) URL with a host.
fn valid_http_url(url: &str) -> bool {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    rest.is_some_and(|r| {
        let host = r.split(['/', '?', '#']).next().unwrap_or_default();
        !host.is_empty() && !url.contains(char::is_whitespace)
    })
}

/// The callback URLs of `callback_urls` (separated by spaces or commas).
fn callbacks(list: &str) -> Vec<&str> {
    list.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .collect()
}

fn invalid(cx: &Cx<'_>, field: &str, message: impl Into<String>) -> AppError {
    cx.bad(&format!("model.oauth.is_valid.{field}.app_error"), message)
}

/// Mattermost's `OAuthApp.IsValid` (the id and times are the server's own).
fn check_app(cx: &Cx<'_>, app: &OAuthApp) -> Res<()> {
    if !is_valid_id(&app.creator_id) {
        return Err(invalid(
            cx,
            "creator_id",
            "the creator id must be a valid id",
        ));
    }
    let name = app.name.chars().count();
    if name == 0 || name > 64 {
        return Err(invalid(cx, "name", "the name must be 1 to 64 characters"));
    }
    let urls = callbacks(&app.callback_urls);
    if urls.is_empty() || urls.iter().any(|u| !valid_http_url(u) || u.len() > 1024) {
        return Err(invalid(
            cx,
            "callback",
            "at least one callback URL is required and each must be an http(s) URL",
        ));
    }
    if !valid_http_url(&app.homepage) || app.homepage.len() > 256 {
        return Err(invalid(
            cx,
            "homepage",
            "the homepage must be an http(s) URL",
        ));
    }
    if app.description.chars().count() > 512 {
        return Err(invalid(
            cx,
            "description",
            "the description must be at most 512 characters",
        ));
    }
    if !app.icon_url.is_empty() && (!valid_http_url(&app.icon_url) || app.icon_url.len() > 512) {
        return Err(invalid(
            cx,
            "icon_url",
            "the icon URL must be an http(s) URL",
        ));
    }
    Ok(())
}

/// `CreateOAuthApp`: register an OAuth app; the server assigns its id, client secret and
/// times.
pub fn create_o_auth_app(
    cx: &mut Cx<'_>,
    req: CreateOAuthAppRequest,
) -> Res<CreateOAuthAppResponse> {
    let mut app = req.app.ok_or_else(|| cx.required("app"))?;
    check_app(cx, &app)?;
    app.id = new_id();
    app.client_secret = new_id();
    app.create_at = cx.now;
    app.update_at = cx.now;
    cx.store.oauth.apps.insert(app.id.clone(), app.clone());
    Ok(CreateOAuthAppResponse {
        app: Some(app),
        ..Default::default()
    })
}

/// `GetOAuthApp`: fetch an OAuth app (404 when unknown).
pub fn get_o_auth_app(cx: &mut Cx<'_>, req: GetOAuthAppRequest) -> Res<GetOAuthAppResponse> {
    let app = cx
        .store
        .oauth
        .apps
        .get(&req.app_id)
        .cloned()
        .ok_or_else(|| app_not_found(cx, &req.app_id))?;
    Ok(GetOAuthAppResponse {
        app: Some(app),
        ..Default::default()
    })
}

/// `UpdateOAuthApp`: update the app named by `app.id`: name, description, icon URL,
/// callback URLs, homepage, trust and Mattermost app id change; id, creator, client
/// secret and create_at are kept; update_at is bumped.
pub fn update_o_auth_app(
    cx: &mut Cx<'_>,
    req: UpdateOAuthAppRequest,
) -> Res<UpdateOAuthAppResponse> {
    let update = req.app.ok_or_else(|| cx.required("app"))?;
    let old = cx
        .store
        .oauth
        .apps
        .get(&update.id)
        .cloned()
        .ok_or_else(|| app_not_found(cx, &update.id))?;
    let app = OAuthApp {
        id: old.id,
        creator_id: old.creator_id,
        create_at: old.create_at,
        update_at: cx.now.max(old.update_at),
        client_secret: old.client_secret,
        ..update
    };
    check_app(cx, &app)?;
    cx.store.oauth.apps.insert(app.id.clone(), app.clone());
    Ok(UpdateOAuthAppResponse {
        app: Some(app),
        ..Default::default()
    })
}

/// `DeleteOAuthApp`: delete an OAuth app permanently (404 when unknown).
pub fn delete_o_auth_app(
    cx: &mut Cx<'_>,
    req: DeleteOAuthAppRequest,
) -> Res<DeleteOAuthAppResponse> {
    if cx.store.oauth.apps.remove(&req.app_id).is_none() {
        return Err(app_not_found(cx, &req.app_id));
    }
    Ok(DeleteOAuthAppResponse::default())
}
