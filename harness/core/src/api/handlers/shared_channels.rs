//! SharedChannel rpcs of the reference PluginAPI server: plugins register as remotes
//! (one stable remote id per plugin id), channels are shared once, remotes are invited to
//! shared channels, and every invited remote has a sync cursor.

// Every handler returns `Res<T>` = `Result<T, AppError>`; AppError is the wire type.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;

use super::prelude::*;

/// A plugin registered as a shared-channels remote.
#[derive(Debug, Clone)]
pub struct PluginRemote {
    pub remote_id: String,
    pub plugin_id: String,
    pub display_name: String,
    pub description: String,
    pub create_at: i64,
}

/// A remote invited to a shared channel, with its sync cursor.
#[derive(Debug, Clone)]
pub struct ChannelRemote {
    pub invited_by: String,
    pub create_at: i64,
    pub cursor: GetPostsSinceForSyncCursor,
}

/// This domain's part of the store.
#[derive(Debug, Default)]
pub struct SharedChannelsState {
    /// Registered remotes by plugin id.
    pub remotes: BTreeMap<String, PluginRemote>,
    /// Shared channels by channel id.
    pub shared: BTreeMap<String, SharedChannel>,
    /// Invited remotes by (channel id, remote id).
    pub invites: BTreeMap<(String, String), ChannelRemote>,
    /// Forced syncs per channel: (count, time of the last one).
    pub syncs: BTreeMap<String, (u64, i64)>,
}

impl SharedChannelsState {
    fn remote_by_id(&self, remote_id: &str) -> Option<&PluginRemote> {
        self.remotes.values().find(|r| r.remote_id == remote_id)
    }
}

fn channel_type_code(t: i32) -> &'static str {
    match ChannelType::try_from(t).unwrap_or(ChannelType::Unspecified) {
        ChannelType::Private => "P",
        ChannelType::Direct => "D",
        ChannelType::Group => "G",
        _ => "O",
    }
}

fn not_shared(cx: &Cx<'_>, channel_id: &str) -> AppError {
    cx.not_found("shared channel", channel_id)
}

fn not_invited(cx: &Cx<'_>, channel_id: &str, remote_id: &str) -> AppError {
    cx.err(
        404,
        "app.shared_channel_remote.get.app_error",
        format!("remote {remote_id:?} is not invited to channel {channel_id:?}"),
    )
}

fn check_share_name(cx: &Cx<'_>, name: &str) -> Res<()> {
    if !name.is_empty() && !valid_channel_name(name) {
        return Err(cx.bad(
            "model.channel.is_valid.name.app_error",
            format!("invalid share name {name:?}"),
        ));
    }
    Ok(())
}

fn set_channel_shared(cx: &mut Cx<'_>, channel_id: &str, shared: bool) {
    if let Some(ch) = cx.store.channels.channels.get_mut(channel_id) {
        ch.shared = Some(shared);
    }
}

/// Shares `sc.channel_id` (which must exist and not be shared yet; a creator, if given,
/// must exist), filling empty share names, purpose and header, the team and the type
/// ("O", "P", "D", "G") from the channel, and sets the channel's `shared` flag.
fn share(cx: &mut Cx<'_>, mut sc: SharedChannel) -> Res<SharedChannel> {
    if sc.channel_id.is_empty() {
        return Err(cx.required("shared_channel.channel_id"));
    }
    let channel = cx.channel(&sc.channel_id)?;
    if cx.store.shared_channels.shared.contains_key(&sc.channel_id) {
        return Err(cx.conflict(
            "app.shared_channel.save.already_shared.app_error",
            format!("channel {:?} is already shared", sc.channel_id),
        ));
    }
    check_share_name(cx, &sc.share_name)?;
    if !sc.creator_id.is_empty() {
        cx.user(&sc.creator_id)?;
    }
    if sc.share_name.is_empty() {
        sc.share_name = channel.name.clone();
    }
    if sc.share_display_name.is_empty() {
        sc.share_display_name = channel.display_name.clone();
    }
    if sc.share_purpose.is_empty() {
        sc.share_purpose = channel.purpose.clone();
    }
    if sc.share_header.is_empty() {
        sc.share_header = channel.header.clone();
    }
    sc.team_id = channel.team_id.clone();
    sc.r#type = channel_type_code(channel.r#type).to_string();
    sc.create_at = cx.now;
    sc.update_at = cx.now;
    cx.store
        .shared_channels
        .shared
        .insert(sc.channel_id.clone(), sc.clone());
    set_channel_shared(cx, &sc.channel_id, true);
    Ok(sc)
}

/// `RegisterPluginForSharedChannels`: register the plugin as a shared-channels remote.
/// Registering the same plugin id again answers the same remote id (and refreshes its
/// display name and description). An empty plugin id means the calling plugin.
pub fn register_plugin_for_shared_channels(
    cx: &mut Cx<'_>,
    req: RegisterPluginForSharedChannelsRequest,
) -> Res<RegisterPluginForSharedChannelsResponse> {
    let opts = req.opts.ok_or_else(|| cx.required("opts"))?;
    let plugin_id = if opts.plugin_id.is_empty() {
        cx.plugin_id.to_string()
    } else {
        opts.plugin_id.clone()
    };
    let now = cx.now;
    let remote = cx
        .store
        .shared_channels
        .remotes
        .entry(plugin_id.clone())
        .or_insert_with(|| PluginRemote {
            remote_id: new_id(),
            plugin_id,
            display_name: String::new(),
            description: String::new(),
            create_at: now,
        });
    remote.display_name = opts.display_name;
    remote.description = opts.description;
    Ok(RegisterPluginForSharedChannelsResponse {
        remote_id: remote.remote_id.clone(),
        ..Default::default()
    })
}

/// `UnregisterPluginForSharedChannels`: unregister the plugin as a remote; its channel
/// invitations go with it. A plugin that is not registered is 404.
pub fn unregister_plugin_for_shared_channels(
    cx: &mut Cx<'_>,
    req: UnregisterPluginForSharedChannelsRequest,
) -> Res<UnregisterPluginForSharedChannelsResponse> {
    let plugin_id = if req.plugin_id.is_empty() {
        cx.plugin_id.to_string()
    } else {
        req.plugin_id
    };
    let remote = cx
        .store
        .shared_channels
        .remotes
        .remove(&plugin_id)
        .ok_or_else(|| cx.not_found("remote cluster", &plugin_id))?;
    cx.store
        .shared_channels
        .invites
        .retain(|(_, r), _| *r != remote.remote_id);
    Ok(UnregisterPluginForSharedChannelsResponse::default())
}

/// `ShareChannel`: mark a channel as shared.
pub fn share_channel(cx: &mut Cx<'_>, req: ShareChannelRequest) -> Res<ShareChannelResponse> {
    let sc = req
        .shared_channel
        .ok_or_else(|| cx.required("shared_channel"))?;
    let shared_channel = share(cx, sc)?;
    Ok(ShareChannelResponse {
        shared_channel: Some(shared_channel),
        ..Default::default()
    })
}

/// `UpdateSharedChannel`: update shared-channel settings. `read_only` is taken as given;
/// the share names, purpose, header and home change when non-empty. The channel, team,
/// type, creator, remote and create time are kept.
pub fn update_shared_channel(
    cx: &mut Cx<'_>,
    req: UpdateSharedChannelRequest,
) -> Res<UpdateSharedChannelResponse> {
    let sc = req
        .shared_channel
        .ok_or_else(|| cx.required("shared_channel"))?;
    if sc.channel_id.is_empty() {
        return Err(cx.required("shared_channel.channel_id"));
    }
    check_share_name(cx, &sc.share_name)?;
    let now = cx.now;
    let Some(cur) = cx.store.shared_channels.shared.get_mut(&sc.channel_id) else {
        return Err(not_shared(cx, &sc.channel_id));
    };
    cur.read_only = sc.read_only;
    for (dst, src) in [
        (&mut cur.share_name, sc.share_name),
        (&mut cur.share_display_name, sc.share_display_name),
        (&mut cur.share_purpose, sc.share_purpose),
        (&mut cur.share_header, sc.share_header),
        (&mut cur.home, sc.home),
    ] {
        if !src.is_empty() {
            *dst = src;
        }
    }
    cur.update_at = now.max(cur.update_at + 1);
    Ok(UpdateSharedChannelResponse {
        shared_channel: Some(cur.clone()),
        ..Default::default()
    })
}

/// `UnshareChannel`: stop sharing a channel. As upstream, a channel that is not shared
/// (or does not exist) is not an error: it answers `unshared = false`.
pub fn unshare_channel(cx: &mut Cx<'_>, req: UnshareChannelRequest) -> Res<UnshareChannelResponse> {
    if req.channel_id.is_empty() {
        return Err(cx.required("channel_id"));
    }
    let unshared = cx
        .store
        .shared_channels
        .shared
        .remove(&req.channel_id)
        .is_some();
    if unshared {
        cx.store
            .shared_channels
            .invites
            .retain(|(c, _), _| *c != req.channel_id);
        cx.store.shared_channels.syncs.remove(&req.channel_id);
        set_channel_shared(cx, &req.channel_id, false);
    }
    Ok(UnshareChannelResponse {
        unshared,
        ..Default::default()
    })
}

/// `UpdateSharedChannelCursor`: move a remote's sync cursor. The channel must be shared
/// and the remote invited to it.
pub fn update_shared_channel_cursor(
    cx: &mut Cx<'_>,
    req: UpdateSharedChannelCursorRequest,
) -> Res<UpdateSharedChannelCursorResponse> {
    if req.channel_id.is_empty() {
        return Err(cx.required("channel_id"));
    }
    if req.remote_id.is_empty() {
        return Err(cx.required("remote_id"));
    }
    let cursor = req.cursor.ok_or_else(|| cx.required("cursor"))?;
    if cursor.last_post_update_at < 0
        || (!cursor.last_post_id.is_empty() && !is_valid_id(&cursor.last_post_id))
    {
        return Err(cx.bad(
            "model.shared_channel_remote.cursor.app_error",
            "the cursor needs a non-negative time and an empty or valid post id",
        ));
    }
    if !cx
        .store
        .shared_channels
        .shared
        .contains_key(&req.channel_id)
    {
        return Err(not_shared(cx, &req.channel_id));
    }
    let key = (req.channel_id.clone(), req.remote_id.clone());
    match cx.store.shared_channels.invites.get_mut(&key) {
        Some(invite) => invite.cursor = cursor,
        None => return Err(not_invited(cx, &req.channel_id, &req.remote_id)),
    }
    Ok(UpdateSharedChannelCursorResponse::default())
}

/// `SyncSharedChannel`: trigger a sync of a shared channel (recorded; there is no remote
/// to talk to).
pub fn sync_shared_channel(
    cx: &mut Cx<'_>,
    req: SyncSharedChannelRequest,
) -> Res<SyncSharedChannelResponse> {
    if req.channel_id.is_empty() {
        return Err(cx.required("channel_id"));
    }
    if !cx
        .store
        .shared_channels
        .shared
        .contains_key(&req.channel_id)
    {
        return Err(not_shared(cx, &req.channel_id));
    }
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

/// `InviteRemoteToChannel`: invite a registered remote to a shared channel (sharing it
/// first when `share_if_not_shared`). Inviting a remote that is already invited succeeds
/// and changes nothing, as upstream.
pub fn invite_remote_to_channel(
    cx: &mut Cx<'_>,
    req: InviteRemoteToChannelRequest,
) -> Res<InviteRemoteToChannelResponse> {
    if req.channel_id.is_empty() {
        return Err(cx.required("channel_id"));
    }
    if req.remote_id.is_empty() {
        return Err(cx.required("remote_id"));
    }
    cx.channel(&req.channel_id)?;
    if !req.user_id.is_empty() {
        cx.user(&req.user_id)?;
    }
    if cx
        .store
        .shared_channels
        .remote_by_id(&req.remote_id)
        .is_none()
    {
        return Err(cx.not_found("remote cluster", &req.remote_id));
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
        share(
            cx,
            SharedChannel {
                channel_id: req.channel_id.clone(),
                creator_id: req.user_id.clone(),
                ..Default::default()
            },
        )?;
    }
    let now = cx.now;
    cx.store
        .shared_channels
        .invites
        .entry((req.channel_id, req.remote_id))
        .or_insert(ChannelRemote {
            invited_by: req.user_id,
            create_at: now,
            cursor: GetPostsSinceForSyncCursor::default(),
        });
    Ok(InviteRemoteToChannelResponse::default())
}

/// `UninviteRemoteFromChannel`: remove a remote cluster from a channel; a remote that is
/// not invited is 404.
pub fn uninvite_remote_from_channel(
    cx: &mut Cx<'_>,
    req: UninviteRemoteFromChannelRequest,
) -> Res<UninviteRemoteFromChannelResponse> {
    if req.channel_id.is_empty() {
        return Err(cx.required("channel_id"));
    }
    if req.remote_id.is_empty() {
        return Err(cx.required("remote_id"));
    }
    let key = (req.channel_id.clone(), req.remote_id.clone());
    if cx.store.shared_channels.invites.remove(&key).is_none() {
        return Err(not_invited(cx, &req.channel_id, &req.remote_id));
    }
    Ok(UninviteRemoteFromChannelResponse::default())
}
