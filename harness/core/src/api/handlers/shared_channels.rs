//! SharedChannel rpcs of the reference PluginAPI server.

use super::prelude::*;

/// This domain's part of the store.
#[derive(Debug, Default)]
pub struct SharedChannelsState {}

/// `RegisterPluginForSharedChannels`: register the plugin as a shared-channels remote.
pub fn register_plugin_for_shared_channels(
    _cx: &mut Cx<'_>,
    _req: RegisterPluginForSharedChannelsRequest,
) -> Res<RegisterPluginForSharedChannelsResponse> {
    todo_rpc("RegisterPluginForSharedChannels")
}

/// `UnregisterPluginForSharedChannels`: unregister the plugin as a remote.
pub fn unregister_plugin_for_shared_channels(
    _cx: &mut Cx<'_>,
    _req: UnregisterPluginForSharedChannelsRequest,
) -> Res<UnregisterPluginForSharedChannelsResponse> {
    todo_rpc("UnregisterPluginForSharedChannels")
}

/// `ShareChannel`: mark a channel as shared.
pub fn share_channel(_cx: &mut Cx<'_>, _req: ShareChannelRequest) -> Res<ShareChannelResponse> {
    todo_rpc("ShareChannel")
}

/// `UpdateSharedChannel`: update shared-channel settings.
pub fn update_shared_channel(
    _cx: &mut Cx<'_>,
    _req: UpdateSharedChannelRequest,
) -> Res<UpdateSharedChannelResponse> {
    todo_rpc("UpdateSharedChannel")
}

/// `UnshareChannel`: stop sharing a channel.
pub fn unshare_channel(
    _cx: &mut Cx<'_>,
    _req: UnshareChannelRequest,
) -> Res<UnshareChannelResponse> {
    todo_rpc("UnshareChannel")
}

/// `UpdateSharedChannelCursor`: move a remote's sync cursor.
pub fn update_shared_channel_cursor(
    _cx: &mut Cx<'_>,
    _req: UpdateSharedChannelCursorRequest,
) -> Res<UpdateSharedChannelCursorResponse> {
    todo_rpc("UpdateSharedChannelCursor")
}

/// `SyncSharedChannel`: trigger a sync of a shared channel.
pub fn sync_shared_channel(
    _cx: &mut Cx<'_>,
    _req: SyncSharedChannelRequest,
) -> Res<SyncSharedChannelResponse> {
    todo_rpc("SyncSharedChannel")
}

/// `InviteRemoteToChannel`: invite a remote cluster to a channel.
pub fn invite_remote_to_channel(
    _cx: &mut Cx<'_>,
    _req: InviteRemoteToChannelRequest,
) -> Res<InviteRemoteToChannelResponse> {
    todo_rpc("InviteRemoteToChannel")
}

/// `UninviteRemoteFromChannel`: remove a remote cluster from a channel.
pub fn uninvite_remote_from_channel(
    _cx: &mut Cx<'_>,
    _req: UninviteRemoteFromChannelRequest,
) -> Res<UninviteRemoteFromChannelResponse> {
    todo_rpc("UninviteRemoteFromChannel")
}
