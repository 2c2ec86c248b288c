//! OAuth rpcs of the reference PluginAPI server: OAuth 2.0 apps registered with the
//! server's provider, validated as Mattermost's `OAuthApp.IsValid` does, seen through
//! upstream's gRPC converters (the callback URLs travel as one comma-separated string; the
//! Mattermost app id is never carried). Every call needs
//! `ServiceSettings.EnableOAuthServiceProvider` (on by default). Deletes are permanent and
//! do not check that the app exists, as upstream's.

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

/// The provider gate every app function checks first (501 when the provider is off).
fn provider_on(cx: &mut Cx<'_>, id: &str) -> Res<()> {
    if cx
        .store
        .config
        .flag("ServiceSettings.EnableOAuthServiceProvider")
    {
        Ok(())
    } else {
        Err(cx.err(
            501,
            id,
            "the OAuth service provider is turned off (ServiceSettings.EnableOAuthServiceProvider)",
        ))
    }
}

/// Upstream `model.IsValidHTTPURL`: an `http://` or `https://` URL with a host and no
/// control characters (spaces are allowed after the host, as Go's URL parser allows them).
fn valid_http_url(url: &str) -> bool {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    rest.is_some_and(|r| {
        let host = r.split(['/', '?', '#']).next().unwrap_or_default();
        !host.is_empty() && !host.contains(' ') && !url.bytes().any(|b| b < 0x20 || b == 0x7f)
    })
}

/// The callback URLs of `callback_urls`, split on commas as upstream's converter does
/// (`oauthAppFromProto`); an empty string is no URL.
fn callbacks(list: &str) -> Vec<&str> {
    if list.is_empty() {
        Vec::new()
    } else {
        list.split(',').collect()
    }
}

fn invalid(cx: &Cx<'_>, field: &str, message: impl Into<String>) -> AppError {
    cx.bad(&format!("model.oauth.is_valid.{field}.app_error"), message)
}

/// Mattermost's `OAuthApp.IsValid`, in its order (the id, times and client secret are
/// the server's own, so always valid).
fn check_app(cx: &Cx<'_>, app: &OAuthApp) -> Res<()> {
    if !is_valid_id(&app.creator_id) {
        return Err(invalid(
            cx,
            "creator_id",
            "the creator id must be a valid id",
        ));
    }
    if app.name.is_empty() || app.name.len() > 64 {
        return Err(invalid(cx, "name", "the name must be 1 to 64 bytes"));
    }
    let urls = callbacks(&app.callback_urls);
    // Upstream measures the list as `fmt.Sprintf("%s", list)` writes it: `[a b c]`.
    let formatted = urls.iter().map(|u| u.len()).sum::<usize>() + urls.len().max(1) + 1;
    if urls.is_empty() || formatted > 1024 || urls.iter().any(|u| !valid_http_url(u)) {
        return Err(invalid(
            cx,
            "callback",
            "at least one callback URL is required and each must be an http(s) URL",
        ));
    }
    if app.homepage.is_empty() || app.homepage.len() > 256 || !valid_http_url(&app.homepage) {
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
    if !app.icon_url.is_empty() && (app.icon_url.len() > 512 || !valid_http_url(&app.icon_url)) {
        return Err(invalid(
            cx,
            "icon_url",
            "the icon URL must be an http(s) URL",
        ));
    }
    Ok(())
}

/// `CreateOAuthApp`: register an OAuth app; the server assigns its id, client secret and
/// times. A missing app is the guard `app is required`.
pub fn create_o_auth_app(
    cx: &mut Cx<'_>,
    req: CreateOAuthAppRequest,
) -> Res<CreateOAuthAppResponse> {
    let mut app = req.app.ok_or_else(|| cx.required("app"))?;
    provider_on(cx, "api.oauth.register_oauth_app.turn_off.app_error")?;
    app.id = new_id();
    app.client_secret = new_id();
    app.create_at = cx.now;
    app.update_at = cx.now;
    app.mattermost_app_id = String::new();
    check_app(cx, &app)?;
    cx.store.oauth.apps.insert(app.id.clone(), app.clone());
    Ok(CreateOAuthAppResponse {
        app: Some(app),
        ..Default::default()
    })
}

/// `GetOAuthApp`: fetch an OAuth app (404 when unknown).
pub fn get_o_auth_app(cx: &mut Cx<'_>, req: GetOAuthAppRequest) -> Res<GetOAuthAppResponse> {
    provider_on(cx, "api.oauth.allow_oauth.turn_off.app_error")?;
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

/// `UpdateOAuthApp`: update the app named by `app.id` (404 when unknown): name,
/// description, icon URL, callback URLs, homepage and trust change; id, creator, client
/// secret and create_at are kept; update_at is bumped.
pub fn update_o_auth_app(
    cx: &mut Cx<'_>,
    req: UpdateOAuthAppRequest,
) -> Res<UpdateOAuthAppResponse> {
    let update = req.app.ok_or_else(|| cx.required("app"))?;
    provider_on(cx, "api.oauth.allow_oauth.turn_off.app_error")?;
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
        mattermost_app_id: String::new(),
        ..update
    };
    check_app(cx, &app)?;
    cx.store.oauth.apps.insert(app.id.clone(), app.clone());
    Ok(UpdateOAuthAppResponse {
        app: Some(app),
        ..Default::default()
    })
}

/// `DeleteOAuthApp`: delete an OAuth app permanently; an unknown id is not an error
/// (upstream deletes without looking the app up).
pub fn delete_o_auth_app(
    cx: &mut Cx<'_>,
    req: DeleteOAuthAppRequest,
) -> Res<DeleteOAuthAppResponse> {
    provider_on(cx, "api.oauth.allow_oauth.turn_off.app_error")?;
    cx.store.oauth.apps.remove(&req.app_id);
    Ok(DeleteOAuthAppResponse::default())
}
