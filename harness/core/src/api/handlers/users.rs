//! User rpcs of the reference PluginAPI server.

use std::collections::BTreeMap;

use super::prelude::*;

/// Users and what hangs off them. Other domains read `users` (see `Cx::user`).
#[derive(Debug, Default)]
pub struct UsersState {
    /// Users by id.
    pub users: BTreeMap<String, User>,
}

/// `CreateUser`: create a user account from a User message.
pub fn create_user(_cx: &mut Cx<'_>, _req: CreateUserRequest) -> Res<CreateUserResponse> {
    todo_rpc("CreateUser")
}

/// `DeleteUser`: delete a user by id.
pub fn delete_user(_cx: &mut Cx<'_>, _req: DeleteUserRequest) -> Res<DeleteUserResponse> {
    todo_rpc("DeleteUser")
}

/// `GetUsers`: list users matching filter/paging options.
pub fn get_users(_cx: &mut Cx<'_>, _req: GetUsersRequest) -> Res<GetUsersResponse> {
    todo_rpc("GetUsers")
}

/// `GetUsersByIds`: fetch several users by id.
pub fn get_users_by_ids(
    _cx: &mut Cx<'_>,
    _req: GetUsersByIdsRequest,
) -> Res<GetUsersByIdsResponse> {
    todo_rpc("GetUsersByIds")
}

/// `GetUser`: fetch one user by id.
pub fn get_user(_cx: &mut Cx<'_>, _req: GetUserRequest) -> Res<GetUserResponse> {
    todo_rpc("GetUser")
}

/// `GetUserByEmail`: look a user up by email address.
pub fn get_user_by_email(
    _cx: &mut Cx<'_>,
    _req: GetUserByEmailRequest,
) -> Res<GetUserByEmailResponse> {
    todo_rpc("GetUserByEmail")
}

/// `GetUserByUsername`: look a user up by username.
pub fn get_user_by_username(
    _cx: &mut Cx<'_>,
    _req: GetUserByUsernameRequest,
) -> Res<GetUserByUsernameResponse> {
    todo_rpc("GetUserByUsername")
}

/// `GetUsersByUsernames`: fetch several users by username.
pub fn get_users_by_usernames(
    _cx: &mut Cx<'_>,
    _req: GetUsersByUsernamesRequest,
) -> Res<GetUsersByUsernamesResponse> {
    todo_rpc("GetUsersByUsernames")
}

/// `GetUsersInTeam`: page through members of a team as users.
pub fn get_users_in_team(
    _cx: &mut Cx<'_>,
    _req: GetUsersInTeamRequest,
) -> Res<GetUsersInTeamResponse> {
    todo_rpc("GetUsersInTeam")
}

/// `UpdateUser`: overwrite a user record.
pub fn update_user(_cx: &mut Cx<'_>, _req: UpdateUserRequest) -> Res<UpdateUserResponse> {
    todo_rpc("UpdateUser")
}

/// `GetUserStatus`: read a user's presence status.
pub fn get_user_status(_cx: &mut Cx<'_>, _req: GetUserStatusRequest) -> Res<GetUserStatusResponse> {
    todo_rpc("GetUserStatus")
}

/// `GetUserStatusesByIds`: read presence for several users.
pub fn get_user_statuses_by_ids(
    _cx: &mut Cx<'_>,
    _req: GetUserStatusesByIdsRequest,
) -> Res<GetUserStatusesByIdsResponse> {
    todo_rpc("GetUserStatusesByIds")
}

/// `UpdateUserStatus`: set a user's presence (online/away/dnd/offline).
pub fn update_user_status(
    _cx: &mut Cx<'_>,
    _req: UpdateUserStatusRequest,
) -> Res<UpdateUserStatusResponse> {
    todo_rpc("UpdateUserStatus")
}

/// `SetUserStatusTimedDND`: put a user in do-not-disturb until a time.
pub fn set_user_status_timed_dnd(
    _cx: &mut Cx<'_>,
    _req: SetUserStatusTimedDndRequest,
) -> Res<SetUserStatusTimedDndResponse> {
    todo_rpc("SetUserStatusTimedDND")
}

/// `UpdateUserActive`: activate or deactivate a user.
pub fn update_user_active(
    _cx: &mut Cx<'_>,
    _req: UpdateUserActiveRequest,
) -> Res<UpdateUserActiveResponse> {
    todo_rpc("UpdateUserActive")
}

/// `UpdateUserCustomStatus`: set a user's custom status (emoji/text/expiry).
pub fn update_user_custom_status(
    _cx: &mut Cx<'_>,
    _req: UpdateUserCustomStatusRequest,
) -> Res<UpdateUserCustomStatusResponse> {
    todo_rpc("UpdateUserCustomStatus")
}

/// `RemoveUserCustomStatus`: clear a user's custom status.
pub fn remove_user_custom_status(
    _cx: &mut Cx<'_>,
    _req: RemoveUserCustomStatusRequest,
) -> Res<RemoveUserCustomStatusResponse> {
    todo_rpc("RemoveUserCustomStatus")
}

/// `GetUsersInChannel`: page through users in a channel with a sort key.
pub fn get_users_in_channel(
    _cx: &mut Cx<'_>,
    _req: GetUsersInChannelRequest,
) -> Res<GetUsersInChannelResponse> {
    todo_rpc("GetUsersInChannel")
}

/// `GetLDAPUserAttributes`: read selected LDAP attributes of a user.
pub fn get_ldap_user_attributes(
    _cx: &mut Cx<'_>,
    _req: GetLdapUserAttributesRequest,
) -> Res<GetLdapUserAttributesResponse> {
    todo_rpc("GetLDAPUserAttributes")
}

/// `SearchUsers`: search users by term and filters.
pub fn search_users(_cx: &mut Cx<'_>, _req: SearchUsersRequest) -> Res<SearchUsersResponse> {
    todo_rpc("SearchUsers")
}

/// `GetProfileImage`: download a user's avatar bytes.
pub fn get_profile_image(
    _cx: &mut Cx<'_>,
    _req: GetProfileImageRequest,
) -> Res<GetProfileImageResponse> {
    todo_rpc("GetProfileImage")
}

/// `SetProfileImage`: upload a user's avatar bytes.
pub fn set_profile_image(
    _cx: &mut Cx<'_>,
    _req: SetProfileImageRequest,
) -> Res<SetProfileImageResponse> {
    todo_rpc("SetProfileImage")
}

/// `HasPermissionTo`: check a system-wide permission for a user.
pub fn has_permission_to(
    _cx: &mut Cx<'_>,
    _req: HasPermissionToRequest,
) -> Res<HasPermissionToResponse> {
    todo_rpc("HasPermissionTo")
}

/// `HasPermissionToTeam`: check a team-scoped permission for a user.
pub fn has_permission_to_team(
    _cx: &mut Cx<'_>,
    _req: HasPermissionToTeamRequest,
) -> Res<HasPermissionToTeamResponse> {
    todo_rpc("HasPermissionToTeam")
}

/// `HasPermissionToChannel`: check a channel-scoped permission for a user.
pub fn has_permission_to_channel(
    _cx: &mut Cx<'_>,
    _req: HasPermissionToChannelRequest,
) -> Res<HasPermissionToChannelResponse> {
    todo_rpc("HasPermissionToChannel")
}

/// `PublishUserTyping`: broadcast a typing indicator for a user in a channel/thread.
pub fn publish_user_typing(
    _cx: &mut Cx<'_>,
    _req: PublishUserTypingRequest,
) -> Res<PublishUserTypingResponse> {
    todo_rpc("PublishUserTyping")
}

/// `UpdateUserAuth`: change a user's auth service/data.
pub fn update_user_auth(
    _cx: &mut Cx<'_>,
    _req: UpdateUserAuthRequest,
) -> Res<UpdateUserAuthResponse> {
    todo_rpc("UpdateUserAuth")
}

/// `UpdateUserRoles`: replace a user's system roles.
pub fn update_user_roles(
    _cx: &mut Cx<'_>,
    _req: UpdateUserRolesRequest,
) -> Res<UpdateUserRolesResponse> {
    todo_rpc("UpdateUserRoles")
}
