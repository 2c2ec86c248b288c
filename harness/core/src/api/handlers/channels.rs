//! Channel rpcs of the reference PluginAPI server.

use std::collections::BTreeMap;

use super::prelude::*;

/// Channels and memberships. Other domains read them (see `Cx::channel`).
#[derive(Debug, Default)]
pub struct ChannelsState {
    /// Channels by id.
    pub channels: BTreeMap<String, Channel>,
    /// Memberships by (channel id, user id).
    pub members: BTreeMap<(String, String), ChannelMember>,
}

/// `CreateChannel`: create a channel.
pub fn create_channel(_cx: &mut Cx<'_>, _req: CreateChannelRequest) -> Res<CreateChannelResponse> {
    todo_rpc("CreateChannel")
}

/// `DeleteChannel`: delete (archive) a channel.
pub fn delete_channel(_cx: &mut Cx<'_>, _req: DeleteChannelRequest) -> Res<DeleteChannelResponse> {
    todo_rpc("DeleteChannel")
}

/// `GetPublicChannelsForTeam`: page through a team's public channels.
pub fn get_public_channels_for_team(
    _cx: &mut Cx<'_>,
    _req: GetPublicChannelsForTeamRequest,
) -> Res<GetPublicChannelsForTeamResponse> {
    todo_rpc("GetPublicChannelsForTeam")
}

/// `GetChannel`: fetch a channel by id.
pub fn get_channel(_cx: &mut Cx<'_>, _req: GetChannelRequest) -> Res<GetChannelResponse> {
    todo_rpc("GetChannel")
}

/// `GetChannelByName`: fetch a channel by team id and name.
pub fn get_channel_by_name(
    _cx: &mut Cx<'_>,
    _req: GetChannelByNameRequest,
) -> Res<GetChannelByNameResponse> {
    todo_rpc("GetChannelByName")
}

/// `GetChannelByNameForTeamName`: fetch a channel by team name and channel name.
pub fn get_channel_by_name_for_team_name(
    _cx: &mut Cx<'_>,
    _req: GetChannelByNameForTeamNameRequest,
) -> Res<GetChannelByNameForTeamNameResponse> {
    todo_rpc("GetChannelByNameForTeamName")
}

/// `GetChannelsForTeamForUser`: channels a user is in within a team.
pub fn get_channels_for_team_for_user(
    _cx: &mut Cx<'_>,
    _req: GetChannelsForTeamForUserRequest,
) -> Res<GetChannelsForTeamForUserResponse> {
    todo_rpc("GetChannelsForTeamForUser")
}

/// `GetChannelStats`: member/guest/pinned/file counts for a channel.
pub fn get_channel_stats(
    _cx: &mut Cx<'_>,
    _req: GetChannelStatsRequest,
) -> Res<GetChannelStatsResponse> {
    todo_rpc("GetChannelStats")
}

/// `GetDirectChannel`: get or create the DM channel between two users.
pub fn get_direct_channel(
    _cx: &mut Cx<'_>,
    _req: GetDirectChannelRequest,
) -> Res<GetDirectChannelResponse> {
    todo_rpc("GetDirectChannel")
}

/// `GetGroupChannel`: get or create a group-message channel for users.
pub fn get_group_channel(
    _cx: &mut Cx<'_>,
    _req: GetGroupChannelRequest,
) -> Res<GetGroupChannelResponse> {
    todo_rpc("GetGroupChannel")
}

/// `UpdateChannel`: overwrite a channel record.
pub fn update_channel(_cx: &mut Cx<'_>, _req: UpdateChannelRequest) -> Res<UpdateChannelResponse> {
    todo_rpc("UpdateChannel")
}

/// `SearchChannels`: search channels in a team.
pub fn search_channels(
    _cx: &mut Cx<'_>,
    _req: SearchChannelsRequest,
) -> Res<SearchChannelsResponse> {
    todo_rpc("SearchChannels")
}

/// `AddChannelMember`: add a user to a channel.
pub fn add_channel_member(
    _cx: &mut Cx<'_>,
    _req: AddChannelMemberRequest,
) -> Res<AddChannelMemberResponse> {
    todo_rpc("AddChannelMember")
}

/// `AddUserToChannel`: add a user to a channel acting as another user.
pub fn add_user_to_channel(
    _cx: &mut Cx<'_>,
    _req: AddUserToChannelRequest,
) -> Res<AddUserToChannelResponse> {
    todo_rpc("AddUserToChannel")
}

/// `GetChannelMember`: fetch one channel membership.
pub fn get_channel_member(
    _cx: &mut Cx<'_>,
    _req: GetChannelMemberRequest,
) -> Res<GetChannelMemberResponse> {
    todo_rpc("GetChannelMember")
}

/// `GetChannelMembers`: page through a channel's memberships.
pub fn get_channel_members(
    _cx: &mut Cx<'_>,
    _req: GetChannelMembersRequest,
) -> Res<GetChannelMembersResponse> {
    todo_rpc("GetChannelMembers")
}

/// `GetChannelMembersByIds`: memberships of given users in a channel.
pub fn get_channel_members_by_ids(
    _cx: &mut Cx<'_>,
    _req: GetChannelMembersByIdsRequest,
) -> Res<GetChannelMembersByIdsResponse> {
    todo_rpc("GetChannelMembersByIds")
}

/// `GetChannelMembersForUser`: page through a user's channel memberships in a team.
pub fn get_channel_members_for_user(
    _cx: &mut Cx<'_>,
    _req: GetChannelMembersForUserRequest,
) -> Res<GetChannelMembersForUserResponse> {
    todo_rpc("GetChannelMembersForUser")
}

/// `UpdateChannelMemberRoles`: replace a member's channel roles.
pub fn update_channel_member_roles(
    _cx: &mut Cx<'_>,
    _req: UpdateChannelMemberRolesRequest,
) -> Res<UpdateChannelMemberRolesResponse> {
    todo_rpc("UpdateChannelMemberRoles")
}

/// `UpdateChannelMemberNotifications`: set a member's notification props.
pub fn update_channel_member_notifications(
    _cx: &mut Cx<'_>,
    _req: UpdateChannelMemberNotificationsRequest,
) -> Res<UpdateChannelMemberNotificationsResponse> {
    todo_rpc("UpdateChannelMemberNotifications")
}

/// `PatchChannelMembersNotifications`: patch notify props for many memberships at once.
pub fn patch_channel_members_notifications(
    _cx: &mut Cx<'_>,
    _req: PatchChannelMembersNotificationsRequest,
) -> Res<PatchChannelMembersNotificationsResponse> {
    todo_rpc("PatchChannelMembersNotifications")
}

/// `DeleteChannelMember`: remove a user from a channel.
pub fn delete_channel_member(
    _cx: &mut Cx<'_>,
    _req: DeleteChannelMemberRequest,
) -> Res<DeleteChannelMemberResponse> {
    todo_rpc("DeleteChannelMember")
}

/// `CreateChannelSidebarCategory`: create a sidebar category for a user in a team.
pub fn create_channel_sidebar_category(
    _cx: &mut Cx<'_>,
    _req: CreateChannelSidebarCategoryRequest,
) -> Res<CreateChannelSidebarCategoryResponse> {
    todo_rpc("CreateChannelSidebarCategory")
}

/// `GetChannelSidebarCategories`: read a user's ordered sidebar categories.
pub fn get_channel_sidebar_categories(
    _cx: &mut Cx<'_>,
    _req: GetChannelSidebarCategoriesRequest,
) -> Res<GetChannelSidebarCategoriesResponse> {
    todo_rpc("GetChannelSidebarCategories")
}

/// `UpdateChannelSidebarCategories`: update a user's sidebar categories.
pub fn update_channel_sidebar_categories(
    _cx: &mut Cx<'_>,
    _req: UpdateChannelSidebarCategoriesRequest,
) -> Res<UpdateChannelSidebarCategoriesResponse> {
    todo_rpc("UpdateChannelSidebarCategories")
}
