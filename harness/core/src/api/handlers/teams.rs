//! Team rpcs of the reference PluginAPI server.
//!
//! Semantics follow Mattermost's app layer:
//! * `CreateTeam` also creates the default channels `town-square` and `off-topic`, and
//!   joining a team (`CreateTeamMember*`) joins the user to them, as upstream does.
//! * `DeleteTeam` is a soft delete (`delete_at` set); the team stays readable by id and
//!   name but leaves listings.
//! * `DeleteTeamMember` is a soft delete too: the membership keeps its row with
//!   `delete_at` set and no roles (still readable with `GetTeamMember`, left out of
//!   listings), and the user leaves the team's channels; joining again revives it.
//! * Team icons are stored as given; only PNG, JPEG and GIF data is accepted.

use std::collections::BTreeMap;

use super::channels::join_default_channels;
use super::prelude::*;

/// Teams and memberships. Other domains read them (see `Cx::team`).
#[derive(Debug, Default)]
pub struct TeamsState {
    /// Teams by id.
    pub teams: BTreeMap<String, Team>,
    /// Memberships by (team id, user id).
    pub members: BTreeMap<(String, String), TeamMember>,
    /// Team icon bytes by team id.
    icons: BTreeMap<String, Vec<u8>>,
}

const TEAM_TYPE_OPEN: i32 = 1;
const TEAM_TYPE_INVITE: i32 = 2;

fn member_missing(cx: &Cx<'_>, team_id: &str, user_id: &str) -> AppError {
    cx.err(
        404,
        "app.team.get_member.missing.app_error",
        format!("user {user_id:?} is not a member of team {team_id:?}"),
    )
}

/// Mattermost's `Team.IsValid` for the fields a plugin controls.
fn validate_team(cx: &Cx<'_>, team: &Team) -> Res<()> {
    if team.email.len() > 128 || (!team.email.is_empty() && !valid_email(&team.email)) {
        return Err(cx.bad("model.team.is_valid.email.app_error", "invalid team email"));
    }
    let display = team.display_name.trim();
    if display.is_empty() || display.chars().count() > 64 {
        return Err(cx.bad(
            "model.team.is_valid.name.app_error",
            "display_name must be 1 to 64 characters",
        ));
    }
    if team.name.len() > 64 {
        return Err(cx.bad("model.team.is_valid.url.app_error", "name is too long"));
    }
    if !valid_team_name(&team.name) {
        // A well-formed name that is still refused is a reserved one.
        let well_formed = team.name.len() >= 2
            && team.name.starts_with(|c: char| c.is_ascii_lowercase())
            && team
                .name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        let id = if well_formed {
            "model.team.is_valid.reserved.app_error"
        } else {
            "model.team.is_valid.characters.app_error"
        };
        return Err(cx.bad(id, format!("invalid team name {:?}", team.name)));
    }
    if team.r#type != TEAM_TYPE_OPEN && team.r#type != TEAM_TYPE_INVITE {
        return Err(cx.bad("model.team.is_valid.type.app_error", "invalid team type"));
    }
    if team.company_name.chars().count() > 64 {
        return Err(cx.bad(
            "model.team.is_valid.company.app_error",
            "company_name is too long",
        ));
    }
    if team.description.chars().count() > 255 {
        return Err(cx.bad(
            "model.team.is_valid.description.app_error",
            "description is too long",
        ));
    }
    Ok(())
}

/// Teams not deleted, sorted by display name, then name, then id.
fn live_sorted(teams: impl Iterator<Item = Team>) -> Vec<Team> {
    let mut out: Vec<Team> = teams.filter(|t| t.delete_at == 0).collect();
    out.sort_by(|a, b| {
        (a.display_name.to_lowercase(), &a.name, &a.id).cmp(&(
            b.display_name.to_lowercase(),
            &b.name,
            &b.id,
        ))
    });
    out
}

/// The membership's roles string from its scheme flags (explicit roles first).
fn team_roles(explicit: &[String], guest: bool, user: bool, admin: bool) -> String {
    let mut roles: Vec<String> = explicit.to_vec();
    if guest {
        roles.push("team_guest".into());
    }
    if user {
        roles.push("team_user".into());
    }
    if admin {
        roles.push("team_admin".into());
    }
    roles.join(" ")
}

/// `AddUserToTeam`: the team and user must exist; an existing membership is returned as
/// is, a removed one is revived. The user joins the team's default channels.
fn add_user_to_team(cx: &mut Cx<'_>, team_id: &str, user_id: &str) -> Res<TeamMember> {
    let team = cx.team(team_id)?;
    let user = cx.user(user_id)?;
    let key = (team.id.clone(), user.id.clone());
    if let Some(m) = cx.store.teams.members.get(&key)
        && m.delete_at == 0
    {
        return Ok(m.clone());
    }
    let guest = user.roles.split_whitespace().any(|r| r == "system_guest");
    let create_at = cx
        .store
        .teams
        .members
        .get(&key)
        .map(|m| m.create_at)
        .unwrap_or(cx.now);
    let member = TeamMember {
        team_id: team.id.clone(),
        user_id: user.id.clone(),
        roles: team_roles(&[], guest, !guest, false),
        delete_at: 0,
        scheme_guest: guest,
        scheme_user: !guest,
        scheme_admin: false,
        create_at,
    };
    cx.store.teams.members.insert(key, member.clone());
    if !guest {
        join_default_channels(cx, &team.id, &user);
    }
    Ok(member)
}

/// `CreateTeam`: create a team.
pub fn create_team(cx: &mut Cx<'_>, req: CreateTeamRequest) -> Res<CreateTeamResponse> {
    let Some(mut team) = req.team else {
        return Err(cx.required("team"));
    };
    if !team.id.is_empty() {
        return Err(cx.bad(
            "app.team.save.existing.app_error",
            "a new team must not have an id",
        ));
    }
    if team.r#type == 0 {
        team.r#type = TEAM_TYPE_OPEN;
    }
    team.display_name = team.display_name.trim().to_string();
    team.email = team.email.to_lowercase();
    validate_team(cx, &team)?;
    if cx.store.teams.teams.values().any(|t| t.name == team.name) {
        return Err(cx.bad(
            "app.team.save.existing.app_error",
            format!("a team named {:?} already exists", team.name),
        ));
    }
    team.id = new_id();
    team.create_at = cx.now;
    team.update_at = cx.now;
    team.delete_at = 0;
    if team.invite_id.is_empty() {
        team.invite_id = new_id();
    }
    cx.store.teams.teams.insert(team.id.clone(), team.clone());
    super::channels::create_default_channels(cx, &team.id);
    Ok(CreateTeamResponse {
        team: Some(team),
        ..Default::default()
    })
}

/// `DeleteTeam`: delete a team by id (soft: `delete_at` is set).
pub fn delete_team(cx: &mut Cx<'_>, req: DeleteTeamRequest) -> Res<DeleteTeamResponse> {
    let mut team = cx.team(&req.team_id)?;
    if team.delete_at == 0 {
        team.delete_at = cx.now;
    }
    team.update_at = cx.now;
    cx.store.teams.teams.insert(team.id.clone(), team);
    Ok(DeleteTeamResponse::default())
}

/// `GetTeams`: list all teams (not deleted), sorted by display name.
pub fn get_teams(cx: &mut Cx<'_>, _req: GetTeamsRequest) -> Res<GetTeamsResponse> {
    Ok(GetTeamsResponse {
        teams: live_sorted(cx.store.teams.teams.values().cloned()),
        ..Default::default()
    })
}

/// `GetTeam`: fetch a team by id.
pub fn get_team(cx: &mut Cx<'_>, req: GetTeamRequest) -> Res<GetTeamResponse> {
    Ok(GetTeamResponse {
        team: Some(cx.team(&req.team_id)?),
        ..Default::default()
    })
}

/// `GetTeamByName`: fetch a team by URL name.
pub fn get_team_by_name(cx: &mut Cx<'_>, req: GetTeamByNameRequest) -> Res<GetTeamByNameResponse> {
    let team = cx
        .store
        .teams
        .teams
        .values()
        .find(|t| t.name == req.name)
        .cloned()
        .ok_or_else(|| {
            cx.err(
                404,
                "app.team.get_by_name.missing.app_error",
                format!("team named {:?} not found", req.name),
            )
        })?;
    Ok(GetTeamByNameResponse {
        team: Some(team),
        ..Default::default()
    })
}

/// `GetTeamsUnreadForUser`: unread/mention counts per team for a user.
///
/// A channel's unread messages are its live posts by other users created after the
/// member's `last_viewed_at`; mentions are the member's `mention_count`. Direct and group
/// channels (no team) are not counted, as upstream. An unknown user has no teams.
pub fn get_teams_unread_for_user(
    cx: &mut Cx<'_>,
    req: GetTeamsUnreadForUserRequest,
) -> Res<GetTeamsUnreadForUserResponse> {
    let store = &*cx.store;
    let mut team_unreads = Vec::new();
    for ((team_id, user_id), tm) in &store.teams.members {
        if *user_id != req.user_id || tm.delete_at != 0 {
            continue;
        }
        if store
            .teams
            .teams
            .get(team_id)
            .is_none_or(|t| t.delete_at != 0)
        {
            continue;
        }
        let mut unread = TeamUnread {
            team_id: team_id.clone(),
            ..Default::default()
        };
        for ((channel_id, member_user), cm) in &store.channels.members {
            if member_user != user_id {
                continue;
            }
            let Some(channel) = store.channels.channels.get(channel_id) else {
                continue;
            };
            if channel.team_id != *team_id || channel.delete_at != 0 {
                continue;
            }
            for post in store.posts.posts.values() {
                if post.channel_id == *channel_id
                    && post.delete_at == 0
                    && post.user_id != *user_id
                    && post.create_at > cm.last_viewed_at
                {
                    unread.msg_count += 1;
                    if post.root_id.is_empty() {
                        unread.msg_count_root += 1;
                    }
                }
            }
            unread.mention_count += cm.mention_count;
            unread.mention_count_root += cm.mention_count_root;
        }
        team_unreads.push(unread);
    }
    Ok(GetTeamsUnreadForUserResponse {
        team_unreads,
        ..Default::default()
    })
}

/// `UpdateTeam`: update a team record. As upstream's `UpdateTeam`, only the display
/// name, description, open-invite flag, company name, allowed domains, icon time and
/// group constraint change; the name, type and email are kept.
pub fn update_team(cx: &mut Cx<'_>, req: UpdateTeamRequest) -> Res<UpdateTeamResponse> {
    let Some(new) = req.team else {
        return Err(cx.required("team"));
    };
    let mut team = cx.team(&new.id)?;
    team.display_name = new.display_name.trim().to_string();
    team.description = new.description;
    team.allow_open_invite = new.allow_open_invite;
    team.company_name = new.company_name;
    team.allowed_domains = new.allowed_domains;
    team.last_team_icon_update = new.last_team_icon_update;
    team.group_constrained = new.group_constrained;
    validate_team(cx, &team)?;
    team.update_at = cx.now.max(team.update_at + 1);
    cx.store.teams.teams.insert(team.id.clone(), team.clone());
    Ok(UpdateTeamResponse {
        team: Some(team),
        ..Default::default()
    })
}

/// `SearchTeams`: teams (not deleted) whose name or display name contains the term,
/// case-insensitively.
pub fn search_teams(cx: &mut Cx<'_>, req: SearchTeamsRequest) -> Res<SearchTeamsResponse> {
    let term = req.term.trim().to_lowercase();
    let teams = live_sorted(
        cx.store
            .teams
            .teams
            .values()
            .filter(|t| {
                t.name.to_lowercase().contains(&term)
                    || t.display_name.to_lowercase().contains(&term)
            })
            .cloned(),
    );
    Ok(SearchTeamsResponse {
        teams,
        ..Default::default()
    })
}

/// `GetTeamsForUser`: teams (not deleted) a user is an active member of.
pub fn get_teams_for_user(
    cx: &mut Cx<'_>,
    req: GetTeamsForUserRequest,
) -> Res<GetTeamsForUserResponse> {
    let store = &*cx.store;
    let teams = live_sorted(
        store
            .teams
            .members
            .values()
            .filter(|m| m.user_id == req.user_id && m.delete_at == 0)
            .filter_map(|m| store.teams.teams.get(&m.team_id).cloned()),
    );
    Ok(GetTeamsForUserResponse {
        teams,
        ..Default::default()
    })
}

/// `CreateTeamMember`: add a user to a team (idempotent).
pub fn create_team_member(
    cx: &mut Cx<'_>,
    req: CreateTeamMemberRequest,
) -> Res<CreateTeamMemberResponse> {
    let member = add_user_to_team(cx, &req.team_id, &req.user_id)?;
    Ok(CreateTeamMemberResponse {
        team_member: Some(member),
        ..Default::default()
    })
}

/// `CreateTeamMembers`: add several users to a team; the first failure stops the call
/// (users added before it stay added).
pub fn create_team_members(
    cx: &mut Cx<'_>,
    req: CreateTeamMembersRequest,
) -> Res<CreateTeamMembersResponse> {
    let mut team_members = Vec::new();
    for user_id in &req.user_ids {
        team_members.push(add_user_to_team(cx, &req.team_id, user_id)?);
    }
    Ok(CreateTeamMembersResponse {
        team_members,
        ..Default::default()
    })
}

/// `CreateTeamMembersGracefully`: add several users, reporting per-user errors.
pub fn create_team_members_gracefully(
    cx: &mut Cx<'_>,
    req: CreateTeamMembersGracefullyRequest,
) -> Res<CreateTeamMembersGracefullyResponse> {
    let mut team_members = Vec::new();
    for user_id in &req.user_ids {
        let entry = match add_user_to_team(cx, &req.team_id, user_id) {
            Ok(member) => TeamMemberWithError {
                user_id: user_id.clone(),
                member: Some(member),
                error: None,
            },
            Err(error) => TeamMemberWithError {
                user_id: user_id.clone(),
                member: None,
                error: Some(error),
            },
        };
        team_members.push(entry);
    }
    Ok(CreateTeamMembersGracefullyResponse {
        team_members,
        ..Default::default()
    })
}

/// `DeleteTeamMember`: remove a user from a team (soft: the membership gets `delete_at`
/// and loses its roles; the user leaves the team's channels).
pub fn delete_team_member(
    cx: &mut Cx<'_>,
    req: DeleteTeamMemberRequest,
) -> Res<DeleteTeamMemberResponse> {
    let team = cx.team(&req.team_id)?;
    let user = cx.user(&req.user_id)?;
    if !req.requestor_id.is_empty() {
        cx.user(&req.requestor_id)?;
    }
    let key = (team.id.clone(), user.id.clone());
    let Some(member) = cx
        .store
        .teams
        .members
        .get(&key)
        .filter(|m| m.delete_at == 0)
        .cloned()
    else {
        return Err(cx.bad(
            "api.team.remove_user_from_team.missing.app_error",
            format!("user {:?} is not a member of team {:?}", user.id, team.id),
        ));
    };
    let removed = TeamMember {
        roles: String::new(),
        delete_at: cx.now,
        scheme_guest: false,
        scheme_user: false,
        scheme_admin: false,
        ..member
    };
    cx.store.teams.members.insert(key, removed);
    let channels = &cx.store.channels.channels;
    cx.store
        .channels
        .members
        .retain(|(channel_id, user_id), _| {
            *user_id != user.id
                || channels
                    .get(channel_id)
                    .is_none_or(|c| c.team_id != team.id)
        });
    Ok(DeleteTeamMemberResponse::default())
}

/// Active memberships matching `keep`, sorted by their key.
fn live_members(cx: &Cx<'_>, keep: impl Fn(&TeamMember) -> bool) -> Vec<TeamMember> {
    cx.store
        .teams
        .members
        .values()
        .filter(|m| m.delete_at == 0 && keep(m))
        .cloned()
        .collect()
}

fn check_paging(cx: &Cx<'_>, page: i32, per_page: i32) -> Res<()> {
    if page < 0 || per_page < 0 {
        return Err(cx.bad(
            "api.context.invalid_url_param.app_error",
            "page and per_page must not be negative",
        ));
    }
    Ok(())
}

/// `GetTeamMembers`: page through a team's active memberships, ordered by user id.
pub fn get_team_members(
    cx: &mut Cx<'_>,
    req: GetTeamMembersRequest,
) -> Res<GetTeamMembersResponse> {
    check_paging(cx, req.page, req.per_page)?;
    let all = live_members(cx, |m| m.team_id == req.team_id);
    Ok(GetTeamMembersResponse {
        team_members: paginate(&all, req.page, req.per_page),
        ..Default::default()
    })
}

/// `GetTeamMember`: fetch one team membership (a removed one too, with `delete_at`).
pub fn get_team_member(cx: &mut Cx<'_>, req: GetTeamMemberRequest) -> Res<GetTeamMemberResponse> {
    let member = cx
        .store
        .teams
        .members
        .get(&(req.team_id.clone(), req.user_id.clone()))
        .cloned()
        .ok_or_else(|| member_missing(cx, &req.team_id, &req.user_id))?;
    Ok(GetTeamMemberResponse {
        team_member: Some(member),
        ..Default::default()
    })
}

/// `GetTeamMembersForUser`: page through a user's active team memberships, ordered by
/// team id.
pub fn get_team_members_for_user(
    cx: &mut Cx<'_>,
    req: GetTeamMembersForUserRequest,
) -> Res<GetTeamMembersForUserResponse> {
    check_paging(cx, req.page, req.per_page)?;
    let all = live_members(cx, |m| m.user_id == req.user_id);
    Ok(GetTeamMembersForUserResponse {
        team_members: paginate(&all, req.page, req.per_page),
        ..Default::default()
    })
}

/// `UpdateTeamMemberRoles`: replace a member's team roles. `team_user`, `team_admin` and
/// `team_guest` become scheme flags; other known roles are refused as not team-scheme
/// roles, unknown roles as unknown.
pub fn update_team_member_roles(
    cx: &mut Cx<'_>,
    req: UpdateTeamMemberRolesRequest,
) -> Res<UpdateTeamMemberRolesResponse> {
    let key = (req.team_id.clone(), req.user_id.clone());
    let mut member = cx
        .store
        .teams
        .members
        .get(&key)
        .filter(|m| m.delete_at == 0)
        .cloned()
        .ok_or_else(|| member_missing(cx, &req.team_id, &req.user_id))?;
    let (guest, user, admin) = scheme_roles(
        cx,
        &req.new_roles,
        "team",
        "api.channel.update_team_member_roles",
    )?;
    member.scheme_guest = guest;
    member.scheme_user = user;
    member.scheme_admin = admin;
    member.roles = team_roles(&[], guest, user, admin);
    cx.store.teams.members.insert(key, member.clone());
    Ok(UpdateTeamMemberRolesResponse {
        team_member: Some(member),
        ..Default::default()
    })
}

/// `GetTeamIcon`: download a team icon (404 when the team has none).
pub fn get_team_icon(cx: &mut Cx<'_>, req: GetTeamIconRequest) -> Res<GetTeamIconResponse> {
    let team = cx.team(&req.team_id)?;
    let icon = cx.store.teams.icons.get(&team.id).cloned().ok_or_else(|| {
        cx.err(
            404,
            "api.team.get_team_icon.read_file.app_error",
            format!("team {:?} has no icon", team.id),
        )
    })?;
    Ok(GetTeamIconResponse {
        icon,
        ..Default::default()
    })
}

/// `SetTeamIcon`: upload a team icon (PNG, JPEG or GIF); sets `last_team_icon_update`.
pub fn set_team_icon(cx: &mut Cx<'_>, req: SetTeamIconRequest) -> Res<SetTeamIconResponse> {
    let mut team = cx.team(&req.team_id)?;
    if !is_image(&req.data) {
        return Err(cx.bad(
            "api.team.set_team_icon.decode.app_error",
            "the icon is not a PNG, JPEG or GIF image",
        ));
    }
    cx.store.teams.icons.insert(team.id.clone(), req.data);
    team.last_team_icon_update = cx.now;
    team.update_at = cx.now;
    cx.store.teams.teams.insert(team.id.clone(), team);
    Ok(SetTeamIconResponse::default())
}

/// `RemoveTeamIcon`: delete a team icon; `last_team_icon_update` goes back to 0. An
/// unknown team is 400, as upstream.
pub fn remove_team_icon(
    cx: &mut Cx<'_>,
    req: RemoveTeamIconRequest,
) -> Res<RemoveTeamIconResponse> {
    let Ok(mut team) = cx.team(&req.team_id) else {
        return Err(cx.bad(
            "api.team.remove_team_icon.get_team.app_error",
            format!("team {:?} not found", req.team_id),
        ));
    };
    cx.store.teams.icons.remove(&team.id);
    team.last_team_icon_update = 0;
    team.update_at = cx.now;
    cx.store.teams.teams.insert(team.id.clone(), team);
    Ok(RemoveTeamIconResponse::default())
}

/// `GetTeamStats`: active memberships (total) and those whose user is not deactivated
/// (active). An unknown team has zero counts, as upstream.
pub fn get_team_stats(cx: &mut Cx<'_>, req: GetTeamStatsRequest) -> Res<GetTeamStatsResponse> {
    let store = &*cx.store;
    let members = live_members(cx, |m| m.team_id == req.team_id);
    let active = members
        .iter()
        .filter(|m| {
            store
                .users
                .users
                .get(&m.user_id)
                .is_some_and(|u| u.delete_at == 0)
        })
        .count();
    Ok(GetTeamStatsResponse {
        team_stats: Some(TeamStats {
            team_id: req.team_id,
            total_member_count: members.len() as i64,
            active_member_count: active as i64,
        }),
        ..Default::default()
    })
}
