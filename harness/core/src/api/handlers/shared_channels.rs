//! SharedChannel rpcs of the reference PluginAPI server, following upstream's
//! `app/shared_channel.go`, `app/remote_cluster.go` and the shared-channels service
//! (SPEC §24.7). Sharing, updating, unsharing, syncing and invitations need the
//! shared-channels service, which a server has only with a licence and
//! `ExperimentalSettings.EnableSharedChannels`: otherwise they answer 400
//! `api.command_share.service_disabled`. Cursor updates need no service. Registering a
//! plugin as a remote through gRPC cannot succeed (the request carries no creator id).

// Every handler returns `Res<T>` = `Result<T, AppError>`; AppError is the wire type.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;

use super::prelude::*;

/// Upstream's `model.SiteURLPlugin`: a plugin remote's site URL is this plus its plugin id.
const SITE_URL_PLUGIN: &str = "plugin_";

/// A remote cluster (upstream's `RemoteClusters` row), as plugin registration creates it.
#[derive(Debug, Clone)]
pub struct Remote {
    pub remote_id: String,
    pub name: String,
    pub display_name: String,
    pub site_url: String,
    pub plugin_id: String,
    pub creator_id: String,
    pub create_at: i64,
    pub delete_at: i64,
}

/// A remote invited to a shared channel (a `SharedChannelRemotes` row), with its cursor.
#[derive(Debug, Clone)]
pub struct ChannelRemote {
    pub invited_by: String,
    pub create_at: i64,
    pub cursor: GetPostsSinceForSyncCursor,
}

/// This domain's part of the store.
#[derive(Debug, Default)]
pub struct SharedChannelsState {
    /// Remote clusters by remote id (unregistered ones keep `delete_at`).
    pub remotes: BTreeMap<String, Remote>,
    /// Shared channels by channel id (`type` kept internally; never answered).
    pub shared: BTreeMap<String, SharedChannel>,
    /// Invited remotes by (channel id, remote id).
    pub invites: BTreeMap<(String, String), ChannelRemote>,
    /// Forced syncs per channel: (count, time of the last one).
    pub syncs: BTreeMap<String, (u64, i64)>,
}

fn channel_type_code(t: i32) -> &'static str {
    match ChannelType::try_from(t).unwrap_or(ChannelType::Unspecified) {
        ChannelType::Private => "P",
        ChannelType::Direct => "D",
        ChannelType::Group => "G",
        _ => "O",
    }
}

/// Whether the shared-channels service runs. Upstream creates it at server start when the
/// licence and configuration allow; the reference server looks at both at every call, so
/// that a session can enable it (a departure, SPEC §24.7).
fn service(cx: &mut Cx<'_>) -> Res<()> {
    let enabled = cx
        .store
        .config
        .setting("ExperimentalSettings.EnableSharedChannels")
        .as_bool()
        == Some(true);
    if cx.store.server.licensed() && enabled {
        return Ok(());
    }
    Err(cx.bad(
        "api.command_share.service_disabled",
        "Shared Channels Service is disabled.",
    ))
}

/// What upstream's `sharedChannelToProto` sends: everything but `type`.
fn answered(mut sc: SharedChannel) -> SharedChannel {
    sc.r#type.clear();
    sc
}

fn set_channel_shared(cx: &mut Cx<'_>, channel_id: &str, shared: bool) {
    if let Some(ch) = cx.store.channels.channels.get_mut(channel_id) {
        ch.shared = Some(shared);
    }
}

/// The service's `ShareChannel`: the channel must exist (a plain error otherwise), direct
/// and group channels are refused, an already shared channel answers its existing record;
/// an empty team, type, share names, purpose, header and creator are filled from the
/// channel (upstream `Service.ShareChannel`), and the channel is flagged shared.
fn share(cx: &mut Cx<'_>, mut sc: SharedChannel) -> Res<SharedChannel> {
    let Some(channel) = cx.store.channels.channels.get(&sc.channel_id).cloned() else {
        return Err(cx.go_error(format!(
            "cannot fetch channel while sharing channel {}: not found",
            sc.channel_id
        )));
    };
    let kind = channel_type_code(channel.r#type);
    if kind == "D" || kind == "G" {
        return Err(cx.go_error(format!(
            "cannot share channel {}: direct and group channels cannot be shared",
            sc.channel_id
        )));
    }
    if let Some(existing) = cx.store.shared_channels.shared.get(&sc.channel_id) {
        return Ok(existing.clone());
    }
    if sc.team_id.is_empty() {
        sc.team_id = channel.team_id.clone();
    }
    if sc.r#type.is_empty() {
        sc.r#type = kind.to_string();
    }
    for (dst, src) in [
        (&mut sc.share_name, &channel.name),
        (&mut sc.share_display_name, &channel.display_name),
        (&mut sc.share_purpose, &channel.purpose),
        (&mut sc.share_header, &channel.header),
        (&mut sc.creator_id, &channel.creator_id),
    ] {
        if dst.is_empty() {
            *dst = src.clone();
        }
    }
    if sc.home != "true" {
        sc.home.clear();
    }
    sc.create_at = cx.now;
    sc.update_at = cx.now;
    cx.store
        .shared_channels
        .shared
        .insert(sc.channel_id.clone(), sc.clone());
    set_channel_shared(cx, &sc.channel_id, true);
    Ok(sc)
}

/// Upstream's `model.CleanRemoteName`, approximately: the characters a remote name may
/// hold, at most 64.
fn clean_remote_name(display_name: &str) -> String {
    display_name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .take(64)
        .collect::<String>()
        .to_lowercase()
}

/// `RegisterPluginForSharedChannels`, as upstream's gRPC converter and
/// `App.RegisterPluginForSharedChannels`: only the display name reaches the app (plugin
/// id and description are dropped, the creator id is not in the request), so the site
/// URL is `plugin_`; an existing remote with that URL is restored and answered; a new one
/// fails the model's checks: an invalid name (400 `model.cluster.is_valid.name.app_error`)
/// or, always, the missing creator (400 `model.cluster.is_valid.id.app_error`).
pub fn register_plugin_for_shared_channels(
    cx: &mut Cx<'_>,
    req: RegisterPluginForSharedChannelsRequest,
) -> Res<RegisterPluginForSharedChannelsResponse> {
    let opts = req.opts.unwrap_or_default();
    let plugin_id = String::new();
    let creator_id = String::new();
    let site_url = format!("{SITE_URL_PLUGIN}{plugin_id}");
    let found = cx
        .store
        .shared_channels
        .remotes
        .values()
        .find(|r| r.site_url == site_url)
        .cloned();
    if let Some(rc) = found {
        if rc.plugin_id != plugin_id {
            return Err(cx.go_error(format!(
                "SiteURL {site_url:?} is already in use by remote {} (plugin {:?})",
                rc.remote_id, rc.plugin_id
            )));
        }
        let rc = cx
            .store
            .shared_channels
            .remotes
            .get_mut(&rc.remote_id)
            .expect("found above");
        rc.delete_at = 0;
        rc.display_name = opts.display_name;
        return Ok(RegisterPluginForSharedChannelsResponse {
            remote_id: rc.remote_id.clone(),
            ..Default::default()
        });
    }
    let name = clean_remote_name(&opts.display_name);
    let rc = Remote {
        remote_id: new_id(),
        display_name: if opts.display_name.is_empty() {
            name.clone()
        } else {
            opts.display_name
        },
        name,
        site_url,
        plugin_id,
        creator_id,
        create_at: cx.now,
        delete_at: 0,
    };
    if rc.name.is_empty() || rc.name.len() > 64 {
        return Err(cx.bad(
            "model.cluster.is_valid.name.app_error",
            "Name must be 1 to 64 characters of a-z, 0-9, '.', '-' or '_'.",
        ));
    }
    if !is_valid_id(&rc.creator_id) {
        return Err(cx.bad("model.cluster.is_valid.id.app_error", "Invalid Id."));
    }
    let remote_id = rc.remote_id.clone();
    cx.store
        .shared_channels
        .remotes
        .insert(remote_id.clone(), rc);
    Ok(RegisterPluginForSharedChannelsResponse {
        remote_id,
        ..Default::default()
    })
}

/// `UnregisterPluginForSharedChannels`: soft-deletes every live remote registered with
/// this plugin id (the id as given) and its channel invitations; none is not an error.
pub fn unregister_plugin_for_shared_channels(
    cx: &mut Cx<'_>,
    req: UnregisterPluginForSharedChannelsRequest,
) -> Res<UnregisterPluginForSharedChannelsResponse> {
    let now = cx.now;
    let mut gone = Vec::new();
    for rc in cx.store.shared_channels.remotes.values_mut() {
        if rc.plugin_id == req.plugin_id && rc.delete_at == 0 {
            rc.delete_at = now;
            gone.push(rc.remote_id.clone());
        }
    }
    cx.store
        .shared_channels
        .invites
        .retain(|(_, r), _| !gone.contains(r));
    cx.effect = Some(format!(
        "unregistered {} remote(s) of plugin {:?}",
        gone.len(),
        req.plugin_id
    ));
    Ok(UnregisterPluginForSharedChannelsResponse::default())
}

/// `ShareChannel`: mark a channel as shared (see [`share`]); needs the service.
pub fn share_channel(cx: &mut Cx<'_>, req: ShareChannelRequest) -> Res<ShareChannelResponse> {
    let sc = req
        .shared_channel
        .ok_or_else(|| cx.required("shared_channel"))?;
    service(cx)?;
    let shared_channel = share(cx, sc)?;
    Ok(ShareChannelResponse {
        shared_channel: Some(answered(shared_channel)),
        ..Default::default()
    })
}

/// `UpdateSharedChannel`: needs the service and an existing channel; the shared record's
/// share names, purpose, header, read-only flag, home and remote id are replaced by the
/// request's (the channel, team, creator, type and create time are kept). A channel that
/// is not shared is a plain error.
pub fn update_shared_channel(
    cx: &mut Cx<'_>,
    req: UpdateSharedChannelRequest,
) -> Res<UpdateSharedChannelResponse> {
    let sc = req
        .shared_channel
        .ok_or_else(|| cx.required("shared_channel"))?;
    service(cx)?;
    if !cx.store.channels.channels.contains_key(&sc.channel_id) {
        return Err(cx.go_error(format!(
            "cannot fetch channel while updating shared channel {}: not found",
            sc.channel_id
        )));
    }
    let now = cx.now;
    let Some(cur) = cx.store.shared_channels.shared.get_mut(&sc.channel_id) else {
        return Err(cx.go_error(format!(
            "failed to update shared channel {}: not found",
            sc.channel_id
        )));
    };
    cur.share_name = sc.share_name;
    cur.share_display_name = sc.share_display_name;
    cur.share_purpose = sc.share_purpose;
    cur.share_header = sc.share_header;
    cur.read_only = sc.read_only;
    cur.home = if sc.home == "true" {
        sc.home
    } else {
        String::new()
    };
    cur.remote_id = sc.remote_id;
    cur.update_at = now.max(cur.update_at + 1);
    let out = cur.clone();
    Ok(UpdateSharedChannelResponse {
        shared_channel: Some(answered(out)),
        ..Default::default()
    })
}

/// `UnshareChannel`: needs the service and an existing channel; answers whether a shared
/// record was deleted, clears the channel's flag and drops its invited remotes.
pub fn unshare_channel(cx: &mut Cx<'_>, req: UnshareChannelRequest) -> Res<UnshareChannelResponse> {
    service(cx)?;
    if !cx.store.channels.channels.contains_key(&req.channel_id) {
        return Err(cx.go_error(format!(
            "cannot fetch channel while unsharing channel {}: not found",
            req.channel_id
        )));
    }
    let unshared = cx
        .store
        .shared_channels
        .shared
        .remove(&req.channel_id)
        .is_some();
    cx.store
        .shared_channels
        .invites
        .retain(|(c, _), _| *c != req.channel_id);
    cx.store.shared_channels.syncs.remove(&req.channel_id);
    set_channel_shared(cx, &req.channel_id, false);
    Ok(UnshareChannelResponse {
        unshared,
        ..Default::default()
    })
}

/// `UpdateSharedChannelCursor`: no service needed. The remote must be invited to the
/// channel (else the plain error "cursor update failed - cannot fetch shared channel
/// remote: ..."), then a cursor with neither a positive time nor a post id is the plain
/// error "cursor empty". A missing cursor is an empty one.
pub fn update_shared_channel_cursor(
    cx: &mut Cx<'_>,
    req: UpdateSharedChannelCursorRequest,
) -> Res<UpdateSharedChannelCursorResponse> {
    let cursor = req.cursor.unwrap_or_default();
    let key = (req.channel_id.clone(), req.remote_id.clone());
    if !cx.store.shared_channels.invites.contains_key(&key) {
        return Err(cx.go_error(format!(
            "cursor update failed - cannot fetch shared channel remote: no remote {} in channel {}",
            req.remote_id, req.channel_id
        )));
    }
    if cursor.last_post_update_at <= 0 && cursor.last_post_id.is_empty() {
        return Err(cx.go_error("cursor empty"));
    }
    if let Some(invite) = cx.store.shared_channels.invites.get_mut(&key) {
        invite.cursor = cursor;
    }
    Ok(UpdateSharedChannelCursorResponse::default())
}

/// `SyncSharedChannel`: needs the service; then any channel id is accepted (upstream only
/// notifies the service that the channel changed).
pub fn sync_shared_channel(
    cx: &mut Cx<'_>,
    req: SyncSharedChannelRequest,
) -> Res<SyncSharedChannelResponse> {
    service(cx)?;
    let now = cx.now;
    let entry = cx
        .store
        .shared_channels
        .syncs
        .entry(req.channel_id)
        .or_insert((0, now));
    entry.0 += 1;
    entry.1 = now;
    Ok(SyncSharedChannelResponse::default())
}

/// `InviteRemoteToChannel`, as the service does it: an invited remote succeeds again; a
/// channel that is not shared is shared first when `share_if_not_shared` (a failure is 400
/// `api.command_share.share_channel.error`), else 400
/// `api.command_share.channel_not_shared.error`; an unknown remote is 500
/// `api.command_share.remote_id_invalid.error`; a channel homed elsewhere is 400
/// `api.command_share.channel_invite_not_home.error`.
pub fn invite_remote_to_channel(
    cx: &mut Cx<'_>,
    req: InviteRemoteToChannelRequest,
) -> Res<InviteRemoteToChannelResponse> {
    service(cx)?;
    let key = (req.channel_id.clone(), req.remote_id.clone());
    if cx.store.shared_channels.invites.contains_key(&key) {
        return Ok(InviteRemoteToChannelResponse::default());
    }
    if !cx
        .store
        .shared_channels
        .shared
        .contains_key(&req.channel_id)
    {
        if !req.share_if_not_shared {
            return Err(cx.bad(
                "api.command_share.channel_not_shared.error",
                format!("channel {:?} is not shared", req.channel_id),
            ));
        }
        let shared = share(
            cx,
            SharedChannel {
                channel_id: req.channel_id.clone(),
                creator_id: req.user_id.clone(),
                home: "true".into(),
                ..Default::default()
            },
        );
        if shared.is_err() {
            return Err(cx.bad(
                "api.command_share.share_channel.error",
                format!("cannot share channel {:?}", req.channel_id),
            ));
        }
    }
    if cx
        .store
        .shared_channels
        .remotes
        .get(&req.remote_id)
        .is_none_or(|r| r.delete_at != 0)
    {
        return Err(cx.err(
            500,
            "api.command_share.remote_id_invalid.error",
            format!("remote {:?} not found", req.remote_id),
        ));
    }
    if cx
        .store
        .shared_channels
        .shared
        .get(&req.channel_id)
        .is_some_and(|s| s.home != "true")
    {
        return Err(cx.bad(
            "api.command_share.channel_invite_not_home.error",
            "the channel is homed on a remote",
        ));
    }
    let now = cx.now;
    cx.store.shared_channels.invites.insert(
        key,
        ChannelRemote {
            invited_by: req.user_id,
            create_at: now,
            cursor: GetPostsSinceForSyncCursor::default(),
        },
    );
    Ok(InviteRemoteToChannelResponse::default())
}

/// `UninviteRemoteFromChannel`: needs the service; a remote that is not invited to the
/// channel is 500 `api.command_share.channel_remote_id_not_exists`.
pub fn uninvite_remote_from_channel(
    cx: &mut Cx<'_>,
    req: UninviteRemoteFromChannelRequest,
) -> Res<UninviteRemoteFromChannelResponse> {
    service(cx)?;
    let key = (req.channel_id.clone(), req.remote_id.clone());
    if cx.store.shared_channels.invites.remove(&key).is_none() {
        return Err(cx.err(
            500,
            "api.command_share.channel_remote_id_not_exists",
            format!(
                "remote {:?} is not invited to channel {:?}",
                req.remote_id, req.channel_id
            ),
        ));
    }
    Ok(UninviteRemoteFromChannelResponse::default())
}
