//! Team rpcs of the reference PluginAPI server.

use std::collections::BTreeMap;

use super::prelude::*;

/// Teams and memberships. Other domains read them (see `Cx::team`).
#[derive(Debug, Default)]
pub struct TeamsState {
    /// Teams by id.
    pub teams: BTreeMap<String, Team>,
    /// Memberships by (team id, user id).
    pub members: BTreeMap<(String, String), TeamMember>,
}

/// `CreateTeam`: create a team.
pub fn create_team(_cx: &mut Cx<'_>, _req: CreateTeamRequest) -> Res<CreateTeamResponse> {
    todo_rpc("CreateTeam")
}

/// `DeleteTeam`: delete a team by id.
pub fn delete_team(_cx: &mut Cx<'_>, _req: DeleteTeamRequest) -> Res<DeleteTeamResponse> {
    todo_rpc("DeleteTeam")
}

/// `GetTeams`: list all teams.
pub fn get_teams(_cx: &mut Cx<'_>, _req: GetTeamsRequest) -> Res<GetTeamsResponse> {
    todo_rpc("GetTeams")
}

/// `GetTeam`: fetch a team by id.
pub fn get_team(_cx: &mut Cx<'_>, _req: GetTeamRequest) -> Res<GetTeamResponse> {
    todo_rpc("GetTeam")
}

/// `GetTeamByName`: fetch a team by URL name.
pub fn get_team_by_name(
    _cx: &mut Cx<'_>,
    _req: GetTeamByNameRequest,
) -> Res<GetTeamByNameResponse> {
    todo_rpc("GetTeamByName")
}

/// `GetTeamsUnreadForUser`: unread/mention counts per team for a user.
pub fn get_teams_unread_for_user(
    _cx: &mut Cx<'_>,
    _req: GetTeamsUnreadForUserRequest,
) -> Res<GetTeamsUnreadForUserResponse> {
    todo_rpc("GetTeamsUnreadForUser")
}

/// `UpdateTeam`: overwrite a team record.
pub fn update_team(_cx: &mut Cx<'_>, _req: UpdateTeamRequest) -> Res<UpdateTeamResponse> {
    todo_rpc("UpdateTeam")
}

/// `SearchTeams`: search teams by term.
pub fn search_teams(_cx: &mut Cx<'_>, _req: SearchTeamsRequest) -> Res<SearchTeamsResponse> {
    todo_rpc("SearchTeams")
}

/// `GetTeamsForUser`: teams a user belongs to.
pub fn get_teams_for_user(
    _cx: &mut Cx<'_>,
    _req: GetTeamsForUserRequest,
) -> Res<GetTeamsForUserResponse> {
    todo_rpc("GetTeamsForUser")
}

/// `CreateTeamMember`: add a user to a team.
pub fn create_team_member(
    _cx: &mut Cx<'_>,
    _req: CreateTeamMemberRequest,
) -> Res<CreateTeamMemberResponse> {
    todo_rpc("CreateTeamMember")
}

/// `CreateTeamMembers`: add several users to a team.
pub fn create_team_members(
    _cx: &mut Cx<'_>,
    _req: CreateTeamMembersRequest,
) -> Res<CreateTeamMembersResponse> {
    todo_rpc("CreateTeamMembers")
}

/// `CreateTeamMembersGracefully`: add several users, reporting per-user errors.
pub fn create_team_members_gracefully(
    _cx: &mut Cx<'_>,
    _req: CreateTeamMembersGracefullyRequest,
) -> Res<CreateTeamMembersGracefullyResponse> {
    todo_rpc("CreateTeamMembersGracefully")
}

/// `DeleteTeamMember`: remove a user from a team.
pub fn delete_team_member(
    _cx: &mut Cx<'_>,
    _req: DeleteTeamMemberRequest,
) -> Res<DeleteTeamMemberResponse> {
    todo_rpc("DeleteTeamMember")
}

/// `GetTeamMembers`: page through a team's memberships.
pub fn get_team_members(
    _cx: &mut Cx<'_>,
    _req: GetTeamMembersRequest,
) -> Res<GetTeamMembersResponse> {
    todo_rpc("GetTeamMembers")
}

/// `GetTeamMember`: fetch one team membership.
pub fn get_team_member(_cx: &mut Cx<'_>, _req: GetTeamMemberRequest) -> Res<GetTeamMemberResponse> {
    todo_rpc("GetTeamMember")
}

/// `GetTeamMembersForUser`: page through a user's team memberships.
pub fn get_team_members_for_user(
    _cx: &mut Cx<'_>,
    _req: GetTeamMembersForUserRequest,
) -> Res<GetTeamMembersForUserResponse> {
    todo_rpc("GetTeamMembersForUser")
}

/// `UpdateTeamMemberRoles`: replace a member's team roles.
pub fn update_team_member_roles(
    _cx: &mut Cx<'_>,
    _req: UpdateTeamMemberRolesRequest,
) -> Res<UpdateTeamMemberRolesResponse> {
    todo_rpc("UpdateTeamMemberRoles")
}

/// `GetTeamIcon`: download a team icon.
pub fn get_team_icon(_cx: &mut Cx<'_>, _req: GetTeamIconRequest) -> Res<GetTeamIconResponse> {
    todo_rpc("GetTeamIcon")
}

/// `SetTeamIcon`: upload a team icon.
pub fn set_team_icon(_cx: &mut Cx<'_>, _req: SetTeamIconRequest) -> Res<SetTeamIconResponse> {
    todo_rpc("SetTeamIcon")
}

/// `RemoveTeamIcon`: delete a team icon.
pub fn remove_team_icon(
    _cx: &mut Cx<'_>,
    _req: RemoveTeamIconRequest,
) -> Res<RemoveTeamIconResponse> {
    todo_rpc("RemoveTeamIcon")
}

/// `GetTeamStats`: member counts for a team.
pub fn get_team_stats(_cx: &mut Cx<'_>, _req: GetTeamStatsRequest) -> Res<GetTeamStatsResponse> {
    todo_rpc("GetTeamStats")
}
