//! Group rpcs of the reference PluginAPI server: user groups ("custom", "ldap" or
//! "plugin_*" sources) with soft delete/restore, soft-deleted memberships, and syncables
//! linking a group to a team or channel, from which default memberships are created and
//! group-constrained memberships pruned.

// Every handler returns `Res<T>` = `Result<T, AppError>`; AppError is the wire type.
#![allow(clippy::result_large_err)]

use std::collections::{BTreeMap, BTreeSet};

use super::prelude::*;

/// Upstream's limits (`model/group.go`).
const GROUP_NAME_MAX: usize = 64;
const GROUP_DISPLAY_NAME_MAX: usize = 128;
const GROUP_DESCRIPTION_MAX: usize = 1024;
const GROUP_REMOTE_ID_MAX: usize = 48;
const RESERVED_GROUP_NAMES: &[&str] = &["all", "channel", "here"];

/// `GroupSyncableType` values as upstream spells them.
const SYNCABLE_TEAM: &str = "Team";
const SYNCABLE_CHANNEL: &str = "Channel";

/// This domain's part of the store.
#[derive(Debug, Default)]
pub struct GroupsState {
    /// Groups by id (deleted ones keep `delete_at`).
    pub groups: BTreeMap<String, Group>,
    /// Memberships by (group id, user id); removed ones keep `delete_at`.
    pub members: BTreeMap<(String, String), GroupMember>,
    /// Links by (group id, syncable id, syncable type); deleted ones keep `delete_at`.
    pub syncables: BTreeMap<(String, String, String), GroupSyncable>,
}

impl GroupsState {
    /// Live members' user ids of the live groups linked (live) to a team or channel.
    fn allowed_users(&self, syncable_id: &str, syncable_type: &str) -> BTreeSet<String> {
        let groups: BTreeSet<&str> = self
            .syncables
            .values()
            .filter(|s| {
                s.syncable_id == syncable_id && s.syncable_type == syncable_type && s.delete_at == 0
            })
            .map(|s| s.group_id.as_str())
            .filter(|g| self.groups.get(*g).is_some_and(|g| g.delete_at == 0))
            .collect();
        self.members
            .values()
            .filter(|m| m.delete_at == 0 && groups.contains(m.group_id.as_str()))
            .map(|m| m.user_id.clone())
            .collect()
    }
}

fn no_rows(cx: &Cx<'_>, what: &str) -> AppError {
    cx.err(404, "app.group.no_rows", format!("{what} not found"))
}

fn bump(now: i64, prev: i64) -> i64 {
    now.max(prev + 1)
}

fn group_of(cx: &Cx<'_>, id: &str) -> Res<Group> {
    cx.store
        .groups
        .groups
        .get(id)
        .cloned()
        .ok_or_else(|| no_rows(cx, &format!("group {id:?}")))
}

/// A group that exists and is not deleted.
fn live_group(cx: &Cx<'_>, id: &str) -> Res<Group> {
    let g = group_of(cx, id)?;
    if g.delete_at != 0 {
        return Err(no_rows(cx, &format!("group {id:?} (deleted)")));
    }
    Ok(g)
}

fn requires_remote_id(source: &str) -> bool {
    source == "ldap" || source.starts_with("plugin_")
}

/// Upstream's `Group.IsValidForCreate` plus the uniqueness checks of the store and app.
fn validate_group(cx: &Cx<'_>, g: &Group) -> Res<()> {
    let bad = |id: &str, msg: String| Err(cx.bad(id, msg));
    if !(g.source == "custom" || g.source == "ldap" || g.source.starts_with("plugin_")) {
        return bad(
            "model.group.source.app_error",
            format!("invalid group source {:?}", g.source),
        );
    }
    if g.name.is_empty() {
        if g.allow_reference || g.source == "custom" {
            return bad(
                "model.group.name.app_error",
                "a referenceable or custom group needs a name".into(),
            );
        }
    } else {
        if g.name.len() > GROUP_NAME_MAX {
            return bad(
                "model.group.name.invalid_length.app_error",
                format!("a group name has at most {GROUP_NAME_MAX} characters"),
            );
        }
        if RESERVED_GROUP_NAMES.contains(&g.name.as_str()) {
            return bad(
                "model.group.name.reserved_name.app_error",
                format!("{:?} is a reserved name", g.name),
            );
        }
        if !g
            .name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '_'))
        {
            return bad(
                "model.group.name.invalid_chars.app_error",
                format!("invalid characters in group name {:?}", g.name),
            );
        }
    }
    if g.display_name.is_empty() || g.display_name.chars().count() > GROUP_DISPLAY_NAME_MAX {
        return bad(
            "model.group.display_name.app_error",
            format!("a group display name has 1 to {GROUP_DISPLAY_NAME_MAX} characters"),
        );
    }
    if g.description.chars().count() > GROUP_DESCRIPTION_MAX {
        return bad(
            "model.group.description.app_error",
            format!("a group description has at most {GROUP_DESCRIPTION_MAX} characters"),
        );
    }
    if (g.remote_id.is_empty() && requires_remote_id(&g.source))
        || g.remote_id.len() > GROUP_REMOTE_ID_MAX
    {
        return bad(
            "model.group.remote_id.app_error",
            format!(
                "a {} group needs a remote id of at most {GROUP_REMOTE_ID_MAX} characters",
                g.source
            ),
        );
    }
    if !g.name.is_empty() {
        if cx.store.users.users.values().any(|u| u.username == g.name) {
            return bad(
                "app.group.username_conflict",
                format!("a user is already named {:?}", g.name),
            );
        }
        if cx
            .store
            .groups
            .groups
            .values()
            .any(|o| o.id != g.id && o.name == g.name)
        {
            return bad(
                "app.custom_group.unique_name",
                format!("a group is already named {:?}", g.name),
            );
        }
    }
    if !g.remote_id.is_empty()
        && cx
            .store
            .groups
            .groups
            .values()
            .any(|o| o.id != g.id && o.source == g.source && o.remote_id == g.remote_id)
    {
        return Err(cx.conflict(
            "app.group.remote_id.unique.app_error",
            format!(
                "a {} group already has remote id {:?}",
                g.source, g.remote_id
            ),
        ));
    }
    Ok(())
}

fn sort_groups(groups: &mut [Group]) {
    groups.sort_by(|a, b| {
        (a.display_name.as_str(), a.name.as_str(), a.id.as_str()).cmp(&(
            b.display_name.as_str(),
            b.name.as_str(),
            b.id.as_str(),
        ))
    });
}

/// "Team"/"team" -> "Team", "Channel"/"channel" -> "Channel"; anything else is 400.
fn syncable_type(cx: &Cx<'_>, t: &str) -> Res<&'static str> {
    if t.eq_ignore_ascii_case(SYNCABLE_TEAM) {
        Ok(SYNCABLE_TEAM)
    } else if t.eq_ignore_ascii_case(SYNCABLE_CHANNEL) {
        Ok(SYNCABLE_CHANNEL)
    } else {
        Err(cx.bad(
            "model.group_syncable.type.app_error",
            format!("syncable type must be \"Team\" or \"Channel\", got {t:?}"),
        ))
    }
}

fn syncable_key(group_id: &str, syncable_id: &str, t: &str) -> (String, String, String) {
    (group_id.to_string(), syncable_id.to_string(), t.to_string())
}

/// Creates or revives a link; `auto_add`/`scheme_admin` are taken from `gs`.
fn upsert_syncable(cx: &mut Cx<'_>, gs: &GroupSyncable, t: &'static str) -> GroupSyncable {
    let now = cx.now;
    let key = syncable_key(&gs.group_id, &gs.syncable_id, t);
    let entry = cx
        .store
        .groups
        .syncables
        .entry(key)
        .or_insert_with(|| GroupSyncable {
            group_id: gs.group_id.clone(),
            syncable_id: gs.syncable_id.clone(),
            syncable_type: t.to_string(),
            create_at: now,
            update_at: now - 1,
            ..Default::default()
        });
    entry.auto_add = gs.auto_add;
    entry.scheme_admin = gs.scheme_admin;
    entry.delete_at = 0;
    entry.update_at = bump(now, entry.update_at);
    entry.clone()
}

/// `GetGroup`: fetch a user group by id (deleted groups too, with `delete_at` set).
pub fn get_group(cx: &mut Cx<'_>, req: GetGroupRequest) -> Res<GetGroupResponse> {
    let group = group_of(cx, &req.group_id)?;
    Ok(GetGroupResponse {
        group: Some(group),
        ..Default::default()
    })
}

/// `GetGroupByName`: fetch a user group by name.
pub fn get_group_by_name(
    cx: &mut Cx<'_>,
    req: GetGroupByNameRequest,
) -> Res<GetGroupByNameResponse> {
    let group = cx
        .store
        .groups
        .groups
        .values()
        .find(|g| !req.name.is_empty() && g.name == req.name)
        .cloned()
        .ok_or_else(|| no_rows(cx, &format!("group named {:?}", req.name)))?;
    Ok(GetGroupByNameResponse {
        group: Some(group),
        ..Default::default()
    })
}

/// `GetGroupMemberUsers`: page through the active users in a group, by username.
pub fn get_group_member_users(
    cx: &mut Cx<'_>,
    req: GetGroupMemberUsersRequest,
) -> Res<GetGroupMemberUsersResponse> {
    group_of(cx, &req.group_id)?;
    let mut users: Vec<User> = cx
        .store
        .groups
        .members
        .values()
        .filter(|m| m.group_id == req.group_id && m.delete_at == 0)
        .filter_map(|m| cx.store.users.users.get(&m.user_id))
        .filter(|u| u.delete_at == 0)
        .cloned()
        .collect();
    users.sort_by(|a, b| (&a.username, &a.id).cmp(&(&b.username, &b.id)));
    Ok(GetGroupMemberUsersResponse {
        users: paginate(&users, req.page, req.per_page),
        ..Default::default()
    })
}

/// `GetGroupsBySource`: the live groups from a source (ldap/custom/plugin_*).
pub fn get_groups_by_source(
    cx: &mut Cx<'_>,
    req: GetGroupsBySourceRequest,
) -> Res<GetGroupsBySourceResponse> {
    let mut groups: Vec<Group> = cx
        .store
        .groups
        .groups
        .values()
        .filter(|g| g.source == req.group_source && g.delete_at == 0)
        .cloned()
        .collect();
    sort_groups(&mut groups);
    Ok(GetGroupsBySourceResponse {
        groups,
        ..Default::default()
    })
}

/// `GetGroupsForUser`: the live groups a user is a (live) member of; unknown user 404.
pub fn get_groups_for_user(
    cx: &mut Cx<'_>,
    req: GetGroupsForUserRequest,
) -> Res<GetGroupsForUserResponse> {
    cx.user(&req.user_id)?;
    let g = &cx.store.groups;
    let mut groups: Vec<Group> = g
        .members
        .values()
        .filter(|m| m.user_id == req.user_id && m.delete_at == 0)
        .filter_map(|m| g.groups.get(&m.group_id))
        .filter(|g| g.delete_at == 0)
        .cloned()
        .collect();
    sort_groups(&mut groups);
    Ok(GetGroupsForUserResponse {
        groups,
        ..Default::default()
    })
}

/// Adds (or revives) members; every user must exist, the group must be live. A live
/// member keeps its `create_at`; a revived one gets a new one.
fn upsert_members(cx: &mut Cx<'_>, group_id: &str, user_ids: &[String]) -> Res<Vec<GroupMember>> {
    live_group(cx, group_id)?;
    for uid in user_ids {
        cx.user(uid)?;
    }
    let now = cx.now;
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for uid in user_ids {
        if !seen.insert(uid.clone()) {
            continue;
        }
        let m = cx
            .store
            .groups
            .members
            .entry((group_id.to_string(), uid.clone()))
            .or_insert_with(|| GroupMember {
                group_id: group_id.to_string(),
                user_id: uid.clone(),
                create_at: now,
                delete_at: 0,
            });
        if m.delete_at != 0 {
            m.delete_at = 0;
            m.create_at = now;
        }
        out.push(m.clone());
    }
    Ok(out)
}

/// `UpsertGroupMember`: add or restore one group member.
pub fn upsert_group_member(
    cx: &mut Cx<'_>,
    req: UpsertGroupMemberRequest,
) -> Res<UpsertGroupMemberResponse> {
    let mut members = upsert_members(cx, &req.group_id, std::slice::from_ref(&req.user_id))?;
    Ok(UpsertGroupMemberResponse {
        group_member: members.pop(),
        ..Default::default()
    })
}

/// `UpsertGroupMembers`: add or restore several group members (all or nothing).
pub fn upsert_group_members(
    cx: &mut Cx<'_>,
    req: UpsertGroupMembersRequest,
) -> Res<UpsertGroupMembersResponse> {
    let group_members = upsert_members(cx, &req.group_id, &req.user_ids)?;
    Ok(UpsertGroupMembersResponse {
        group_members,
        ..Default::default()
    })
}

/// `GetGroupByRemoteID`: fetch a group by remote id and source.
pub fn get_group_by_remote_id(
    cx: &mut Cx<'_>,
    req: GetGroupByRemoteIdRequest,
) -> Res<GetGroupByRemoteIdResponse> {
    let group = cx
        .store
        .groups
        .groups
        .values()
        .find(|g| {
            !req.remote_id.is_empty()
                && g.remote_id == req.remote_id
                && g.source == req.group_source
        })
        .cloned()
        .ok_or_else(|| {
            no_rows(
                cx,
                &format!(
                    "{} group with remote id {:?}",
                    req.group_source, req.remote_id
                ),
            )
        })?;
    Ok(GetGroupByRemoteIdResponse {
        group: Some(group),
        ..Default::default()
    })
}

/// `CreateGroup`: create a group. A preset id is 400 `app.group.id.app_error`; a taken
/// name is 400 `app.custom_group.unique_name`.
pub fn create_group(cx: &mut Cx<'_>, req: CreateGroupRequest) -> Res<CreateGroupResponse> {
    let mut group = req.group.ok_or_else(|| cx.required("group"))?;
    if !group.id.is_empty() {
        return Err(cx.bad("app.group.id.app_error", "a new group must not have an id"));
    }
    validate_group(cx, &group)?;
    group.id = new_id();
    group.create_at = cx.now;
    group.update_at = cx.now;
    group.delete_at = 0;
    cx.store
        .groups
        .groups
        .insert(group.id.clone(), group.clone());
    Ok(CreateGroupResponse {
        group: Some(group),
        ..Default::default()
    })
}

/// `UpdateGroup`: update a group's name, display name, description, remote id and
/// allow_reference; id, source, create_at and delete_at are kept.
pub fn update_group(cx: &mut Cx<'_>, req: UpdateGroupRequest) -> Res<UpdateGroupResponse> {
    let patch = req.group.ok_or_else(|| cx.required("group"))?;
    if patch.id.is_empty() {
        return Err(cx.required("group.id"));
    }
    let cur = group_of(cx, &patch.id)?;
    let next = Group {
        name: patch.name,
        display_name: patch.display_name,
        description: patch.description,
        remote_id: patch.remote_id,
        allow_reference: patch.allow_reference,
        update_at: bump(cx.now, cur.update_at),
        ..cur
    };
    validate_group(cx, &next)?;
    cx.store.groups.groups.insert(next.id.clone(), next.clone());
    Ok(UpdateGroupResponse {
        group: Some(next),
        ..Default::default()
    })
}

/// `DeleteGroup`: soft-delete a group, returning it; unknown or already deleted is 404.
pub fn delete_group(cx: &mut Cx<'_>, req: DeleteGroupRequest) -> Res<DeleteGroupResponse> {
    live_group(cx, &req.group_id)?;
    let now = cx.now;
    let g = cx
        .store
        .groups
        .groups
        .get_mut(&req.group_id)
        .expect("checked above");
    g.delete_at = now;
    g.update_at = bump(now, g.update_at);
    Ok(DeleteGroupResponse {
        group: Some(g.clone()),
        ..Default::default()
    })
}

/// `RestoreGroup`: undelete a group; unknown or not deleted is 404, as upstream.
pub fn restore_group(cx: &mut Cx<'_>, req: RestoreGroupRequest) -> Res<RestoreGroupResponse> {
    let g = group_of(cx, &req.group_id)?;
    if g.delete_at == 0 {
        return Err(no_rows(cx, &format!("deleted group {:?}", req.group_id)));
    }
    let now = cx.now;
    let g = cx
        .store
        .groups
        .groups
        .get_mut(&req.group_id)
        .expect("checked above");
    g.delete_at = 0;
    g.update_at = bump(now, g.update_at);
    Ok(RestoreGroupResponse {
        group: Some(g.clone()),
        ..Default::default()
    })
}

/// `DeleteGroupMember`: soft-remove a group member, returning the membership; a user who
/// is not a (live) member is 404.
pub fn delete_group_member(
    cx: &mut Cx<'_>,
    req: DeleteGroupMemberRequest,
) -> Res<DeleteGroupMemberResponse> {
    group_of(cx, &req.group_id)?;
    let now = cx.now;
    let key = (req.group_id.clone(), req.user_id.clone());
    match cx.store.groups.members.get_mut(&key) {
        Some(m) if m.delete_at == 0 => {
            m.delete_at = now;
            Ok(DeleteGroupMemberResponse {
                group_member: Some(m.clone()),
                ..Default::default()
            })
        }
        _ => Err(no_rows(
            cx,
            &format!("member {:?} of group {:?}", req.user_id, req.group_id),
        )),
    }
}

/// `GetGroupSyncable`: one group-to-team/channel link (deleted ones too).
pub fn get_group_syncable(
    cx: &mut Cx<'_>,
    req: GetGroupSyncableRequest,
) -> Res<GetGroupSyncableResponse> {
    let t = syncable_type(cx, &req.syncable_type)?;
    let gs = cx
        .store
        .groups
        .syncables
        .get(&syncable_key(&req.group_id, &req.syncable_id, t))
        .cloned()
        .ok_or_else(|| no_rows(cx, &format!("group {} link", t)))?;
    Ok(GetGroupSyncableResponse {
        group_syncable: Some(gs),
        ..Default::default()
    })
}

/// `GetGroupSyncables`: the live links of a group for a syncable type, by syncable id.
pub fn get_group_syncables(
    cx: &mut Cx<'_>,
    req: GetGroupSyncablesRequest,
) -> Res<GetGroupSyncablesResponse> {
    let t = syncable_type(cx, &req.syncable_type)?;
    group_of(cx, &req.group_id)?;
    let group_syncables = cx
        .store
        .groups
        .syncables
        .values()
        .filter(|s| s.group_id == req.group_id && s.syncable_type == t && s.delete_at == 0)
        .cloned()
        .collect();
    Ok(GetGroupSyncablesResponse {
        group_syncables,
        ..Default::default()
    })
}

/// `UpsertGroupSyncable`: create, update or revive a group link. The group must be live
/// and the team or channel must exist; linking a channel also links the channel's team
/// (or, if that team is group-constrained, needs the group to be linked to it already).
pub fn upsert_group_syncable(
    cx: &mut Cx<'_>,
    req: UpsertGroupSyncableRequest,
) -> Res<UpsertGroupSyncableResponse> {
    let gs = req
        .group_syncable
        .ok_or_else(|| cx.required("group_syncable"))?;
    let t = syncable_type(cx, &gs.syncable_type)?;
    live_group(cx, &gs.group_id)?;
    if t == SYNCABLE_TEAM {
        cx.team(&gs.syncable_id)?;
    } else {
        let channel = cx.channel(&gs.syncable_id)?;
        if !channel.team_id.is_empty() {
            let team = cx.team(&channel.team_id)?;
            if team.group_constrained == Some(true) {
                let linked = cx
                    .store
                    .groups
                    .syncables
                    .get(&syncable_key(&gs.group_id, &team.id, SYNCABLE_TEAM))
                    .is_some_and(|s| s.delete_at == 0);
                if !linked {
                    return Err(cx.bad(
                        "group_not_associated_to_synced_team",
                        "the group is not linked to the channel's group-constrained team",
                    ));
                }
            } else {
                let team_link = GroupSyncable {
                    group_id: gs.group_id.clone(),
                    syncable_id: team.id.clone(),
                    auto_add: gs.auto_add,
                    ..Default::default()
                };
                let existing = cx
                    .store
                    .groups
                    .syncables
                    .get(&syncable_key(&gs.group_id, &team.id, SYNCABLE_TEAM))
                    .filter(|s| s.delete_at == 0)
                    .cloned();
                if existing.is_none() {
                    upsert_syncable(cx, &team_link, SYNCABLE_TEAM);
                }
            }
        }
    }
    let out = upsert_syncable(cx, &gs, t);
    Ok(UpsertGroupSyncableResponse {
        group_syncable: Some(out),
        ..Default::default()
    })
}

/// `UpdateGroupSyncable`: update a live link's auto_add and scheme_admin; a missing or
/// deleted link is 404.
pub fn update_group_syncable(
    cx: &mut Cx<'_>,
    req: UpdateGroupSyncableRequest,
) -> Res<UpdateGroupSyncableResponse> {
    let gs = req
        .group_syncable
        .ok_or_else(|| cx.required("group_syncable"))?;
    let t = syncable_type(cx, &gs.syncable_type)?;
    let now = cx.now;
    let key = syncable_key(&gs.group_id, &gs.syncable_id, t);
    match cx.store.groups.syncables.get_mut(&key) {
        Some(cur) if cur.delete_at == 0 => {
            cur.auto_add = gs.auto_add;
            cur.scheme_admin = gs.scheme_admin;
            cur.update_at = bump(now, cur.update_at);
            Ok(UpdateGroupSyncableResponse {
                group_syncable: Some(cur.clone()),
                ..Default::default()
            })
        }
        _ => Err(no_rows(cx, &format!("group {t} link"))),
    }
}

/// `DeleteGroupSyncable`: soft-delete a link (404 if missing, 400
/// `app.group.group_syncable_already_deleted` if deleted). Unlinking a team also unlinks
/// the group from that team's channels.
pub fn delete_group_syncable(
    cx: &mut Cx<'_>,
    req: DeleteGroupSyncableRequest,
) -> Res<DeleteGroupSyncableResponse> {
    let t = syncable_type(cx, &req.syncable_type)?;
    let key = syncable_key(&req.group_id, &req.syncable_id, t);
    let cur = cx
        .store
        .groups
        .syncables
        .get(&key)
        .cloned()
        .ok_or_else(|| no_rows(cx, &format!("group {t} link")))?;
    if cur.delete_at != 0 {
        return Err(cx.bad(
            "app.group.group_syncable_already_deleted",
            "the group link is already deleted",
        ));
    }
    let now = cx.now;
    let team_channels: BTreeSet<String> = if t == SYNCABLE_TEAM {
        cx.store
            .channels
            .channels
            .values()
            .filter(|c| c.team_id == req.syncable_id)
            .map(|c| c.id.clone())
            .collect()
    } else {
        BTreeSet::new()
    };
    let mut out = None;
    for (k, s) in cx.store.groups.syncables.iter_mut() {
        let hit = *k == key
            || (s.group_id == req.group_id
                && s.syncable_type == SYNCABLE_CHANNEL
                && s.delete_at == 0
                && team_channels.contains(&s.syncable_id));
        if hit {
            s.delete_at = now;
            s.update_at = bump(now, s.update_at);
            if *k == key {
                out = Some(s.clone());
            }
        }
    }
    Ok(DeleteGroupSyncableResponse {
        group_syncable: out,
        ..Default::default()
    })
}

/// `GetGroups`: page through groups, by display name. Options: `q` (substring of name or
/// display name, case-insensitive), `source`, `filter_allow_reference` ("true"),
/// `filter_archived` (only deleted groups instead of only live ones), `since` (update_at
/// at or after, in ms). View restrictions keep groups with a live member in one of the
/// listed teams or channels. `page`/`per_page` fall back to the options' page fields.
pub fn get_groups(cx: &mut Cx<'_>, req: GetGroupsRequest) -> Res<GetGroupsResponse> {
    let opts = req.opts.unwrap_or_default();
    let since: i64 = if opts.since.trim().is_empty() {
        0
    } else {
        opts.since.trim().parse().map_err(|_| {
            cx.bad(
                "api.context.invalid_param.app_error",
                format!("since must be milliseconds, got {:?}", opts.since),
            )
        })?
    };
    let q = opts.q.to_lowercase();
    let restrict = req
        .view_restrictions
        .filter(|v| !v.teams.is_empty() || !v.channels.is_empty());
    let visible_user = |uid: &str| -> bool {
        let Some(v) = &restrict else { return true };
        v.teams.iter().any(|t| {
            cx.store
                .teams
                .members
                .get(&(t.clone(), uid.to_string()))
                .is_some_and(|m| m.delete_at == 0)
        }) || v.channels.iter().any(|c| {
            cx.store
                .channels
                .members
                .contains_key(&(c.clone(), uid.to_string()))
        })
    };
    let g = &cx.store.groups;
    let mut groups: Vec<Group> = g
        .groups
        .values()
        .filter(|x| (x.delete_at != 0) == opts.filter_archived)
        .filter(|x| {
            q.is_empty()
                || x.name.to_lowercase().contains(&q)
                || x.display_name.to_lowercase().contains(&q)
        })
        .filter(|x| opts.source.is_empty() || x.source == opts.source)
        .filter(|x| opts.filter_allow_reference != "true" || x.allow_reference)
        .filter(|x| x.update_at >= since)
        .filter(|x| {
            restrict.is_none()
                || g.members
                    .values()
                    .any(|m| m.group_id == x.id && m.delete_at == 0 && visible_user(&m.user_id))
        })
        .cloned()
        .collect();
    sort_groups(&mut groups);
    let (page, per_page) = if req.per_page == 0 && req.page == 0 {
        (opts.page_opts_page, opts.page_opts_per_page)
    } else {
        (req.page, req.per_page)
    };
    Ok(GetGroupsResponse {
        groups: paginate(&groups, page, per_page),
        ..Default::default()
    })
}

/// Mattermost's default channel notify props.
fn default_notify_props() -> std::collections::HashMap<String, String> {
    [
        ("desktop", "default"),
        ("email", "default"),
        ("push", "default"),
        ("mark_unread", "all"),
        ("ignore_channel_mentions", "default"),
        ("channel_auto_follow_threads", "off"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn team_roles(admin: bool) -> String {
    if admin {
        "team_user team_admin".into()
    } else {
        "team_user".into()
    }
}

/// The (user, syncable) pairs a default-membership pass adds for one syncable type.
fn members_to_add(cx: &Cx<'_>, t: &str, since: i64) -> Vec<(String, String, bool)> {
    let g = &cx.store.groups;
    let mut out = Vec::new();
    for s in g.syncables.values() {
        if s.syncable_type != t || s.delete_at != 0 || !s.auto_add {
            continue;
        }
        if g.groups.get(&s.group_id).is_none_or(|x| x.delete_at != 0) {
            continue;
        }
        for m in g.members.values() {
            if m.group_id != s.group_id || m.delete_at != 0 {
                continue;
            }
            if m.create_at < since && s.update_at < since {
                continue;
            }
            if cx
                .store
                .users
                .users
                .get(&m.user_id)
                .is_none_or(|u| u.delete_at != 0)
            {
                continue;
            }
            out.push((s.syncable_id.clone(), m.user_id.clone(), s.scheme_admin));
        }
    }
    out
}

/// `CreateDefaultSyncableMemberships`: add the members of groups linked with auto_add to
/// the linked teams, then channels (channel members must be members of the channel's
/// team). Neither scope flag means both. Team members who were removed are re-added only
/// with `re_add_removed_members`. Only group members added, or links updated, at or after
/// `since` count.
pub fn create_default_syncable_memberships(
    cx: &mut Cx<'_>,
    req: CreateDefaultSyncableMembershipsRequest,
) -> Res<CreateDefaultSyncableMembershipsResponse> {
    let p = req.params.ok_or_else(|| cx.required("params"))?;
    let (teams, channels) = if !p.scope_teams && !p.scope_channels {
        (true, true)
    } else {
        (p.scope_teams, p.scope_channels)
    };
    let now = cx.now;
    if teams {
        for (team_id, user_id, admin) in members_to_add(cx, SYNCABLE_TEAM, p.since) {
            if cx
                .store
                .teams
                .teams
                .get(&team_id)
                .is_none_or(|t| t.delete_at != 0)
            {
                continue;
            }
            let key = (team_id.clone(), user_id.clone());
            match cx.store.teams.members.get_mut(&key) {
                Some(m) if m.delete_at == 0 => {}
                Some(m) => {
                    if p.re_add_removed_members {
                        m.delete_at = 0;
                        m.roles = team_roles(admin);
                        m.scheme_user = true;
                        m.scheme_admin = admin;
                    }
                }
                None => {
                    cx.store.teams.members.insert(
                        key,
                        TeamMember {
                            team_id,
                            user_id,
                            roles: team_roles(admin),
                            scheme_user: true,
                            scheme_admin: admin,
                            create_at: now,
                            ..Default::default()
                        },
                    );
                }
            }
        }
    }
    if channels {
        for (channel_id, user_id, admin) in members_to_add(cx, SYNCABLE_CHANNEL, p.since) {
            let Some(channel) = cx.store.channels.channels.get(&channel_id) else {
                continue;
            };
            if channel.delete_at != 0 {
                continue;
            }
            if !channel.team_id.is_empty()
                && cx
                    .store
                    .teams
                    .members
                    .get(&(channel.team_id.clone(), user_id.clone()))
                    .is_none_or(|m| m.delete_at != 0)
            {
                continue;
            }
            let key = (channel_id.clone(), user_id.clone());
            if cx.store.channels.members.contains_key(&key) {
                continue;
            }
            cx.store.channels.members.insert(
                key,
                ChannelMember {
                    channel_id,
                    user_id,
                    roles: if admin {
                        "channel_user channel_admin".into()
                    } else {
                        "channel_user".into()
                    },
                    scheme_user: true,
                    scheme_admin: admin,
                    notify_props: default_notify_props(),
                    last_update_at: now,
                    ..Default::default()
                },
            );
        }
    }
    Ok(CreateDefaultSyncableMembershipsResponse::default())
}

/// `DeleteGroupConstrainedMemberships`: remove from every group-constrained team (soft:
/// `delete_at`, and out of the team's channels) and channel (hard) the members who are
/// not in a live group linked to it.
pub fn delete_group_constrained_memberships(
    cx: &mut Cx<'_>,
    _req: DeleteGroupConstrainedMembershipsRequest,
) -> Res<DeleteGroupConstrainedMembershipsResponse> {
    let now = cx.now;
    let store = &mut *cx.store;
    let constrained_teams: Vec<String> = store
        .teams
        .teams
        .values()
        .filter(|t| t.group_constrained == Some(true) && t.delete_at == 0)
        .map(|t| t.id.clone())
        .collect();
    for team_id in constrained_teams {
        let allowed = store.groups.allowed_users(&team_id, SYNCABLE_TEAM);
        let mut removed = BTreeSet::new();
        for ((t, u), m) in store.teams.members.iter_mut() {
            if *t == team_id && m.delete_at == 0 && !allowed.contains(u) {
                // Shaped like DeleteTeamMember's removal: roles cleared, delete_at set.
                m.delete_at = now;
                m.roles.clear();
                removed.insert(u.clone());
            }
        }
        let team_channels: BTreeSet<String> = store
            .channels
            .channels
            .values()
            .filter(|c| c.team_id == team_id)
            .map(|c| c.id.clone())
            .collect();
        store
            .channels
            .members
            .retain(|(c, u), _| !(team_channels.contains(c) && removed.contains(u)));
    }
    let constrained_channels: Vec<String> = store
        .channels
        .channels
        .values()
        .filter(|c| c.group_constrained == Some(true) && c.delete_at == 0)
        .map(|c| c.id.clone())
        .collect();
    for channel_id in constrained_channels {
        let allowed = store.groups.allowed_users(&channel_id, SYNCABLE_CHANNEL);
        store
            .channels
            .members
            .retain(|(c, u), _| *c != channel_id || allowed.contains(u));
    }
    Ok(DeleteGroupConstrainedMembershipsResponse::default())
}
