//! Team rpcs of the reference PluginAPI server.
//!
//! Semantics follow Mattermost's app layer and store (SPEC §24.3):
//! * `CreateTeam` validates as `Team.IsValid` after `PreSave` (which syncs the type with
//!   `allow_open_invite`: a team without open invites is invite-only) and also creates the
//!   default channels `town-square` and `off-topic`; joining a team (`CreateTeamMember*`)
//!   joins the user to them, with the "joined the team" / "joined the channel" system posts.
//! * `DeleteTeam` is a soft delete (`delete_at` set); the team stays readable by id and
//!   name, and stays in `GetTeams` and `SearchTeams` (upstream's store does not filter it).
//! * `DeleteTeamMember` is a soft delete too: the membership keeps its row and scheme
//!   flags with `delete_at` set (still readable with `GetTeamMember` and listed by
//!   `GetTeamMembersForUser`), the user leaves the team's channels and a "left/removed from
//!   the team" post is written in town-square; joining again revives it.
//! * Team icons are stored as given (upstream re-encodes them as PNG); only PNG, JPEG and
//!   GIF data is accepted. Removing an icon keeps the file, as upstream.

use std::collections::BTreeMap;

use super::channels::{clear_sidebar, join_default_channels, leave_join_messages, store_page};
use super::posts::insert_system_post;
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

/// `model.IsValidEmail`: lower-case, one `@`, a plausible address.
fn valid_team_email(email: &str) -> bool {
    email == email.to_lowercase() && valid_email(email)
}

/// `Team.IsValid` for the fields a plugin controls, in upstream's order (run after
/// `PreSave`/`PreUpdate`, so the ids, times and invite id are set). Lengths are in bytes
/// except the display name's, as upstream.
fn validate_team(cx: &Cx<'_>, team: &Team) -> Res<()> {
    if team.email.len() > 128 || (!team.email.is_empty() && !valid_team_email(&team.email)) {
        return Err(cx.bad("model.team.is_valid.email.app_error", "invalid team email"));
    }
    let display = team.display_name.chars().count();
    if display == 0 || display > 64 {
        return Err(cx.bad(
            "model.team.is_valid.name.app_error",
            "display_name must be 1 to 64 characters",
        ));
    }
    if team.name.len() > 64 {
        return Err(cx.bad("model.team.is_valid.url.app_error", "name is too long"));
    }
    if team.description.len() > 255 {
        return Err(cx.bad(
            "model.team.is_valid.description.app_error",
            "description is too long",
        ));
    }
    if is_reserved_team_name(&team.name) {
        return Err(cx.bad(
            "model.team.is_valid.reserved.app_error",
            format!("team name {:?} begins with a reserved word", team.name),
        ));
    }
    if !valid_team_name(&team.name) {
        return Err(cx.bad(
            "model.team.is_valid.characters.app_error",
            format!("invalid team name {:?}", team.name),
        ));
    }
    if team.r#type != TEAM_TYPE_OPEN && team.r#type != TEAM_TYPE_INVITE {
        return Err(cx.bad("model.team.is_valid.type.app_error", "invalid team type"));
    }
    if team.company_name.len() > 64 {
        return Err(cx.bad(
            "model.team.is_valid.company.app_error",
            "company_name is too long",
        ));
    }
    if team.allowed_domains.len() > 500 {
        return Err(cx.bad(
            "model.team.is_valid.domains.app_error",
            "allowed_domains is too long",
        ));
    }
    Ok(())
}

/// `Team.syncTypeAndAllowOpenInvite` (run by `PreSave` and `PreUpdate`): an invite-only
/// team has no open invite, and the type follows the open-invite flag, so a team without
/// `allow_open_invite` is invite-only whatever type was asked.
fn sync_type(team: &mut Team) {
    if team.r#type == TEAM_TYPE_INVITE {
        team.allow_open_invite = false;
    }
    team.r#type = if team.allow_open_invite {
        TEAM_TYPE_OPEN
    } else {
        TEAM_TYPE_INVITE
    };
}

/// Teams sorted by display name (case-insensitive), then name, then id; deleted ones
/// included, as upstream's store does not filter them.
fn sorted(teams: impl Iterator<Item = Team>) -> Vec<Team> {
    let mut out: Vec<Team> = teams.collect();
    out.sort_by(|a, b| {
        (a.display_name.to_lowercase(), &a.name, &a.id).cmp(&(
            b.display_name.to_lowercase(),
            &b.name,
            &b.id,
        ))
    });
    out
}

/// The membership's roles string from its scheme flags (explicit roles first), as the
/// store computes it on every read.
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

/// Whether a user's email domain is one of the team's allowed domains (bots always are).
fn email_allowed(team: &Team, user: &User) -> bool {
    let allowed: Vec<String> = team
        .allowed_domains
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|d| !d.is_empty())
        .map(|d| d.trim_start_matches('@').to_lowercase())
        .collect();
    if allowed.is_empty() || user.is_bot {
        return true;
    }
    let domain = user
        .email
        .rsplit_once('@')
        .map(|(_, d)| d.to_lowercase())
        .unwrap_or_default();
    allowed.contains(&domain)
}

/// `AddUserToTeam` + `JoinUserToTeam`: the team (first) and the user must exist; an active
/// membership is returned unchanged, a removed one is revived, within
/// `TeamSettings.MaxUsersPerTeam`. A new member is `team_admin` too when the team's email
/// is the user's. Non-guests join the team's default channels.
fn add_user_to_team(cx: &mut Cx<'_>, team_id: &str, user_id: &str) -> Res<TeamMember> {
    let team = cx.team(team_id)?;
    let user = cx.user(user_id)?;
    if !email_allowed(&team, &user) {
        return Err(cx.bad(
            "api.team.join_user_to_team.allowed_domains.app_error",
            format!(
                "the email of user {:?} is not in the team's allowed domains",
                user.id
            ),
        ));
    }
    let key = (team.id.clone(), user.id.clone());
    let existing = cx.store.teams.members.get(&key).cloned();
    if let Some(m) = &existing
        && m.delete_at == 0
    {
        return Ok(m.clone());
    }
    let max = cx
        .store
        .config
        .setting("TeamSettings.MaxUsersPerTeam")
        .as_i64()
        .unwrap_or(50);
    let active = cx
        .store
        .teams
        .members
        .values()
        .filter(|m| m.team_id == team.id && m.delete_at == 0)
        .count() as i64;
    if active >= max {
        let id = if existing.is_some() {
            "app.team.join_user_to_team.max_accounts.app_error"
        } else {
            "app.team.join_user_to_team.save_member.max_accounts.app_error"
        };
        return Err(cx.bad(
            id,
            format!("the team has reached its limit of {max} members"),
        ));
    }
    let guest = user.roles.split_whitespace().any(|r| r == "system_guest");
    let admin = !team.email.is_empty() && team.email == user.email;
    let member = TeamMember {
        team_id: team.id.clone(),
        user_id: user.id.clone(),
        roles: team_roles(&[], guest, !guest, admin),
        delete_at: 0,
        scheme_guest: guest,
        scheme_user: !guest,
        scheme_admin: admin,
        create_at: cx.now,
    };
    cx.store.teams.members.insert(key, member.clone());
    if !guest {
        join_default_channels(cx, &team.id, &user, admin);
    }
    Ok(member)
}

/// `CreateTeam`: create a team (and its default channels). Nobody becomes a member.
pub fn create_team(cx: &mut Cx<'_>, req: CreateTeamRequest) -> Res<CreateTeamResponse> {
    // Upstream passes a missing team on as nil and dereferences it (departure: a guard).
    let Some(mut team) = req.team else {
        return Err(cx.required("team"));
    };
    if !team.id.is_empty() {
        return Err(cx.bad(
            "app.team.save.existing.app_error",
            "a new team must not have an id",
        ));
    }
    // The teams service discards a given invite id; PreSave makes a new one.
    team.id = new_id();
    team.create_at = cx.now;
    team.update_at = cx.now;
    team.invite_id = new_id();
    sync_type(&mut team);
    validate_team(cx, &team)?;
    if cx.store.teams.teams.values().any(|t| t.name == team.name) {
        return Err(cx.bad(
            "app.team.save.existing.app_error",
            format!("a team named {:?} already exists", team.name),
        ));
    }
    cx.store.teams.teams.insert(team.id.clone(), team.clone());
    super::channels::create_default_channels(cx, &team.id);
    Ok(CreateTeamResponse {
        team: Some(team),
        ..Default::default()
    })
}

/// `DeleteTeam`: soft-delete a team (`delete_at` set, again on a second call). Channels
/// and memberships are not touched.
pub fn delete_team(cx: &mut Cx<'_>, req: DeleteTeamRequest) -> Res<DeleteTeamResponse> {
    let mut team = cx.team(&req.team_id)?;
    team.delete_at = cx.now;
    team.update_at = cx.now;
    cx.store.teams.teams.insert(team.id.clone(), team);
    Ok(DeleteTeamResponse::default())
}

/// `GetTeams`: every team, deleted ones included, sorted by display name.
pub fn get_teams(cx: &mut Cx<'_>, _req: GetTeamsRequest) -> Res<GetTeamsResponse> {
    Ok(GetTeamsResponse {
        teams: sorted(cx.store.teams.teams.values().cloned()),
        ..Default::default()
    })
}

/// `GetTeam`: fetch a team by id (a deleted one too).
pub fn get_team(cx: &mut Cx<'_>, req: GetTeamRequest) -> Res<GetTeamResponse> {
    Ok(GetTeamResponse {
        team: Some(cx.team(&req.team_id)?),
        ..Default::default()
    })
}

/// `GetTeamByName`: fetch a team by URL name (a deleted one too).
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

/// `GetTeamsUnreadForUser`: unread/mention counts per team, from the user's CHANNEL
/// memberships (upstream's `GetChannelUnreadsForAllTeams`): one entry per team that has an
/// unarchived channel the user is a member of (team deletion and team membership are not
/// consulted; direct/group channels have no team and are left out). Messages are the
/// channel's totals minus the member's counts, skipped when the member's `mark_unread` is
/// `mention`. An unknown user has no entries. Entries are sorted by team id (upstream's
/// order is a map's).
pub fn get_teams_unread_for_user(
    cx: &mut Cx<'_>,
    req: GetTeamsUnreadForUserRequest,
) -> Res<GetTeamsUnreadForUserResponse> {
    let store = &*cx.store;
    let mut per_team: BTreeMap<String, TeamUnread> = BTreeMap::new();
    for ((channel_id, member_user), cm) in &store.channels.members {
        if *member_user != req.user_id {
            continue;
        }
        let Some(channel) = store.channels.channels.get(channel_id) else {
            continue;
        };
        if channel.delete_at != 0 || channel.team_id.is_empty() {
            continue;
        }
        let unread = per_team
            .entry(channel.team_id.clone())
            .or_insert_with(|| TeamUnread {
                team_id: channel.team_id.clone(),
                ..Default::default()
            });
        if cm.notify_props.get("mark_unread").map(String::as_str) != Some("mention") {
            unread.msg_count += channel.total_msg_count - cm.msg_count;
            unread.msg_count_root += channel.total_msg_count_root - cm.msg_count_root;
        }
        unread.mention_count += cm.mention_count;
        unread.mention_count_root += cm.mention_count_root;
    }
    Ok(GetTeamsUnreadForUserResponse {
        team_unreads: per_team.into_values().collect(),
        ..Default::default()
    })
}

/// `UpdateTeam`: as upstream's teams service, only the display name, description,
/// open-invite flag, company name, allowed domains, icon time and group constraint are
/// taken from the request (name, type, email, invite id are kept), then the type is synced
/// with the open-invite flag and the team validated.
pub fn update_team(cx: &mut Cx<'_>, req: UpdateTeamRequest) -> Res<UpdateTeamResponse> {
    // Upstream dereferences a missing team (departure: a guard).
    let Some(new) = req.team else {
        return Err(cx.required("team"));
    };
    let mut team = cx.team(&new.id)?;
    team.display_name = new.display_name;
    team.description = new.description;
    team.allow_open_invite = new.allow_open_invite;
    team.company_name = new.company_name;
    team.allowed_domains = new.allowed_domains;
    team.last_team_icon_update = new.last_team_icon_update;
    team.group_constrained = new.group_constrained;
    // Upstream takes the time of the call; the reference server keeps update_at growing.
    team.update_at = cx.now.max(team.update_at + 1);
    sync_type(&mut team);
    validate_team(cx, &team)?;
    cx.store.teams.teams.insert(team.id.clone(), team.clone());
    Ok(UpdateTeamResponse {
        team: Some(team),
        ..Default::default()
    })
}

/// `SearchTeams`: teams whose name or display name contains the term, case-insensitively,
/// deleted ones included (upstream's search has no delete filter); all teams for an empty
/// term.
pub fn search_teams(cx: &mut Cx<'_>, req: SearchTeamsRequest) -> Res<SearchTeamsResponse> {
    let term = req.term.to_lowercase();
    let teams = sorted(
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
    let teams = sorted(
        store
            .teams
            .members
            .values()
            .filter(|m| m.user_id == req.user_id && m.delete_at == 0)
            .filter_map(|m| store.teams.teams.get(&m.team_id).cloned())
            .filter(|t| t.delete_at == 0),
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
/// (users added before it stay added). The requestor only names the actor for hooks.
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

/// `DeleteTeamMember` (upstream's `RemoveUserFromTeam` + `LeaveTeam`): the user leaves the
/// team's channels (archived ones too), a "left the team" (requestor = the user) or
/// "removed from the team" post goes to town-square, and the membership row keeps its
/// scheme flags with `delete_at` set; the user's sidebar categories of the team are
/// dropped. A removed membership can be removed again; only a user who never joined is
/// refused. The requestor is not checked.
pub fn delete_team_member(
    cx: &mut Cx<'_>,
    req: DeleteTeamMemberRequest,
) -> Res<DeleteTeamMemberResponse> {
    let Some(team) = cx.store.teams.teams.get(&req.team_id).cloned() else {
        return Err(cx.err(
            404,
            "app.team.get_by_invite_id.finding.app_error",
            format!("team {:?} not found", req.team_id),
        ));
    };
    let user = cx.user(&req.user_id)?;
    let key = (team.id.clone(), user.id.clone());
    let Some(mut member) = cx.store.teams.members.get(&key).cloned() else {
        return Err(cx.bad(
            "api.team.remove_user_from_team.missing.app_error",
            format!("user {:?} is not a member of team {:?}", user.id, team.id),
        ));
    };
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
    if leave_join_messages(cx) {
        let town_square = cx
            .store
            .channels
            .channels
            .values()
            .find(|c| c.team_id == team.id && c.name == "town-square" && c.delete_at == 0)
            .map(|c| c.id.clone())
            .ok_or_else(|| {
                cx.err(
                    404,
                    "app.channel.get_by_name.missing.app_error",
                    format!("team {:?} has no town-square", team.id),
                )
            })?;
        let username = user.username.as_str();
        if req.requestor_id == user.id {
            insert_system_post(
                cx,
                &town_square,
                &user.id,
                "system_leave_team",
                &format!("{username} left the team."),
                &[("username", username)],
            );
        } else {
            insert_system_post(
                cx,
                &town_square,
                &user.id,
                "system_remove_from_team",
                &format!("{username} was removed from the team."),
                &[("username", username)],
            );
        }
    }
    member.delete_at = cx.now;
    member.roles = team_roles(
        &[],
        member.scheme_guest,
        member.scheme_user,
        member.scheme_admin,
    );
    cx.store.teams.members.insert(key, member);
    clear_sidebar(cx, &user.id, &team.id);
    Ok(DeleteTeamMemberResponse::default())
}

/// `GetTeamMembers`: a page of a team's active memberships, ordered by user id
/// (`per_page` 0 is an empty page, as upstream's `LIMIT 0`).
pub fn get_team_members(
    cx: &mut Cx<'_>,
    req: GetTeamMembersRequest,
) -> Res<GetTeamMembersResponse> {
    let all: Vec<TeamMember> = cx
        .store
        .teams
        .members
        .values()
        .filter(|m| m.team_id == req.team_id && m.delete_at == 0)
        .cloned()
        .collect();
    Ok(GetTeamMembersResponse {
        team_members: store_page(&all, req.page, req.per_page),
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

/// `GetTeamMembersForUser`: a page of ALL of a user's team memberships, removed ones
/// included (upstream's query has no delete filter), ordered by team id.
pub fn get_team_members_for_user(
    cx: &mut Cx<'_>,
    req: GetTeamMembersForUserRequest,
) -> Res<GetTeamMembersForUserResponse> {
    let all: Vec<TeamMember> = cx
        .store
        .teams
        .members
        .values()
        .filter(|m| m.user_id == req.user_id)
        .cloned()
        .collect();
    Ok(GetTeamMembersForUserResponse {
        team_members: store_page(&all, req.page, req.per_page),
        ..Default::default()
    })
}

/// `UpdateTeamMemberRoles`: replace a member's team roles (a removed member's too).
/// `team_user`, `team_admin` and `team_guest` become scheme flags; other built-in roles
/// are refused as not team-scheme roles, unknown roles as unknown; guest with user, and a
/// change of the guest flag, are refused.
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
        .cloned()
        .ok_or_else(|| member_missing(cx, &req.team_id, &req.user_id))?;
    cx.team(&req.team_id)?;
    let (guest, user, admin) = scheme_roles(
        cx,
        &req.new_roles,
        "team",
        "api.channel.update_team_member_roles.scheme_role.app_error",
        "api.team.update_team_member_roles.guest_and_user.app_error",
    )?;
    if guest != member.scheme_guest {
        return Err(cx.bad(
            "api.channel.update_team_member_roles.changing_guest_role.app_error",
            "the guest role of a member cannot be changed",
        ));
    }
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

/// `SetTeamIcon`: upload a team icon (PNG, JPEG or GIF); sets `last_team_icon_update` and
/// `update_at`.
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

/// `RemoveTeamIcon`: as upstream's store `UpdateLastTeamIconUpdate(team, 0)`, both
/// `last_team_icon_update` and `update_at` become 0; the icon file is not deleted (GetTeamIcon
/// still answers it). An unknown team is 404 (the plugin API looks the team up first).
pub fn remove_team_icon(
    cx: &mut Cx<'_>,
    req: RemoveTeamIconRequest,
) -> Res<RemoveTeamIconResponse> {
    let mut team = cx.team(&req.team_id)?;
    team.last_team_icon_update = 0;
    team.update_at = 0;
    cx.store.teams.teams.insert(team.id.clone(), team);
    Ok(RemoveTeamIconResponse::default())
}

/// `GetTeamStats`: active memberships (total) and those whose user is not deactivated
/// (active). An unknown team has zero counts, as upstream.
pub fn get_team_stats(cx: &mut Cx<'_>, req: GetTeamStatsRequest) -> Res<GetTeamStatsResponse> {
    let store = &*cx.store;
    let members: Vec<&TeamMember> = store
        .teams
        .members
        .values()
        .filter(|m| m.team_id == req.team_id && m.delete_at == 0)
        .collect();
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
