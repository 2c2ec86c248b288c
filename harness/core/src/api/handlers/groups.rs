//! Group rpcs of the reference PluginAPI server.

use super::prelude::*;

/// This domain's part of the store.
#[derive(Debug, Default)]
pub struct GroupsState {}

/// `GetGroup`: fetch a user group by id.
pub fn get_group(_cx: &mut Cx<'_>, _req: GetGroupRequest) -> Res<GetGroupResponse> {
    todo_rpc("GetGroup")
}

/// `GetGroupByName`: fetch a user group by name.
pub fn get_group_by_name(
    _cx: &mut Cx<'_>,
    _req: GetGroupByNameRequest,
) -> Res<GetGroupByNameResponse> {
    todo_rpc("GetGroupByName")
}

/// `GetGroupMemberUsers`: page through users in a group.
pub fn get_group_member_users(
    _cx: &mut Cx<'_>,
    _req: GetGroupMemberUsersRequest,
) -> Res<GetGroupMemberUsersResponse> {
    todo_rpc("GetGroupMemberUsers")
}

/// `GetGroupsBySource`: groups from a source (ldap/custom).
pub fn get_groups_by_source(
    _cx: &mut Cx<'_>,
    _req: GetGroupsBySourceRequest,
) -> Res<GetGroupsBySourceResponse> {
    todo_rpc("GetGroupsBySource")
}

/// `GetGroupsForUser`: groups a user belongs to.
pub fn get_groups_for_user(
    _cx: &mut Cx<'_>,
    _req: GetGroupsForUserRequest,
) -> Res<GetGroupsForUserResponse> {
    todo_rpc("GetGroupsForUser")
}

/// `UpsertGroupMember`: add or restore one group member.
pub fn upsert_group_member(
    _cx: &mut Cx<'_>,
    _req: UpsertGroupMemberRequest,
) -> Res<UpsertGroupMemberResponse> {
    todo_rpc("UpsertGroupMember")
}

/// `UpsertGroupMembers`: add or restore several group members.
pub fn upsert_group_members(
    _cx: &mut Cx<'_>,
    _req: UpsertGroupMembersRequest,
) -> Res<UpsertGroupMembersResponse> {
    todo_rpc("UpsertGroupMembers")
}

/// `GetGroupByRemoteID`: fetch a group by remote id and source.
pub fn get_group_by_remote_id(
    _cx: &mut Cx<'_>,
    _req: GetGroupByRemoteIdRequest,
) -> Res<GetGroupByRemoteIdResponse> {
    todo_rpc("GetGroupByRemoteID")
}

/// `CreateGroup`: create a group.
pub fn create_group(_cx: &mut Cx<'_>, _req: CreateGroupRequest) -> Res<CreateGroupResponse> {
    todo_rpc("CreateGroup")
}

/// `UpdateGroup`: update a group.
pub fn update_group(_cx: &mut Cx<'_>, _req: UpdateGroupRequest) -> Res<UpdateGroupResponse> {
    todo_rpc("UpdateGroup")
}

/// `DeleteGroup`: delete a group, returning it.
pub fn delete_group(_cx: &mut Cx<'_>, _req: DeleteGroupRequest) -> Res<DeleteGroupResponse> {
    todo_rpc("DeleteGroup")
}

/// `RestoreGroup`: undelete a group.
pub fn restore_group(_cx: &mut Cx<'_>, _req: RestoreGroupRequest) -> Res<RestoreGroupResponse> {
    todo_rpc("RestoreGroup")
}

/// `DeleteGroupMember`: remove a group member, returning the membership.
pub fn delete_group_member(
    _cx: &mut Cx<'_>,
    _req: DeleteGroupMemberRequest,
) -> Res<DeleteGroupMemberResponse> {
    todo_rpc("DeleteGroupMember")
}

/// `GetGroupSyncable`: one group-to-team/channel link.
pub fn get_group_syncable(
    _cx: &mut Cx<'_>,
    _req: GetGroupSyncableRequest,
) -> Res<GetGroupSyncableResponse> {
    todo_rpc("GetGroupSyncable")
}

/// `GetGroupSyncables`: all links of a group for a syncable type.
pub fn get_group_syncables(
    _cx: &mut Cx<'_>,
    _req: GetGroupSyncablesRequest,
) -> Res<GetGroupSyncablesResponse> {
    todo_rpc("GetGroupSyncables")
}

/// `UpsertGroupSyncable`: create or update a group link.
pub fn upsert_group_syncable(
    _cx: &mut Cx<'_>,
    _req: UpsertGroupSyncableRequest,
) -> Res<UpsertGroupSyncableResponse> {
    todo_rpc("UpsertGroupSyncable")
}

/// `UpdateGroupSyncable`: update a group link.
pub fn update_group_syncable(
    _cx: &mut Cx<'_>,
    _req: UpdateGroupSyncableRequest,
) -> Res<UpdateGroupSyncableResponse> {
    todo_rpc("UpdateGroupSyncable")
}

/// `DeleteGroupSyncable`: delete a group link.
pub fn delete_group_syncable(
    _cx: &mut Cx<'_>,
    _req: DeleteGroupSyncableRequest,
) -> Res<DeleteGroupSyncableResponse> {
    todo_rpc("DeleteGroupSyncable")
}

/// `GetGroups`: page through groups with search options and view restrictions.
pub fn get_groups(_cx: &mut Cx<'_>, _req: GetGroupsRequest) -> Res<GetGroupsResponse> {
    todo_rpc("GetGroups")
}

/// `CreateDefaultSyncableMemberships`: add group members to linked teams/channels.
pub fn create_default_syncable_memberships(
    _cx: &mut Cx<'_>,
    _req: CreateDefaultSyncableMembershipsRequest,
) -> Res<CreateDefaultSyncableMembershipsResponse> {
    todo_rpc("CreateDefaultSyncableMemberships")
}

/// `DeleteGroupConstrainedMemberships`: remove members not allowed by group constraints.
pub fn delete_group_constrained_memberships(
    _cx: &mut Cx<'_>,
    _req: DeleteGroupConstrainedMembershipsRequest,
) -> Res<DeleteGroupConstrainedMembershipsResponse> {
    todo_rpc("DeleteGroupConstrainedMemberships")
}
