//! Group rpcs of the reference PluginAPI server: user groups ("custom", "ldap" or
//! "plugin_*" sources) with soft delete/restore, soft-deleted memberships, and syncables
//! linking a group to a team or channel, from which default memberships are created and
//! group-constrained memberships pruned. Semantics follow upstream's `app/group.go`,
//! `store/sqlstore/group_store.go` and `model/group.go` (SPEC §24.7): lookups by group do
//! not check that the group exists, deleted groups stay readable, and store errors the app
//! does not map become 500 `app.insert_error` / `app.update_error`.

// Every handler returns `Res<T>` = `Result<T, AppError>`; AppError is the wire type.
#![allow(clippy::result_large_err)]

use std::collections::{BTreeMap, BTreeSet};

use super::prelude::*;

/// Upstream's limits (`model/group.go`); lengths are in bytes, as Go's `len`.
const GROUP_NAME_MAX: usize = 64;
const GROUP_DISPLAY_NAME_MAX: usize = 128;
const GROUP_DESCRIPTION_MAX: usize = 1024;
const GROUP_REMOTE_ID_MAX: usize = 48;
const RESERVED_GROUP_NAMES: &[&str] = &["all", "channel", "here"];

/// `GroupSyncableType` values, exactly as upstream spells them (no case folding).
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

/// A store failure the app does not map (upstream: 500 `app.insert_error`).
fn insert_error(cx: &Cx<'_>, why: impl Into<String>) -> AppError {
    cx.err(500, "app.insert_error", why)
}

/// A store failure the app does not map (upstream: 500 `app.update_error`).
fn update_error(cx: &Cx<'_>, why: impl Into<String>) -> AppError {
    cx.err(500, "app.update_error", why)
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

/// Whether a source needs a remote id: `ldap` upstream; `plugin_*` sources (accepted by
/// newer upstream models) are treated alike.
fn requires_remote_id(source: &str) -> bool {
    source == "ldap" || source.starts_with("plugin_")
}

/// Upstream's `Group.IsValidForCreate`, in its order: name, display name, description,
/// source, remote id. An empty name stands for upstream's nil name: allowed unless the
/// group allows references.
fn validate_group(cx: &Cx<'_>, g: &Group) -> Res<()> {
    let bad = |id: &str, msg: String| Err(cx.bad(id, msg));
    if g.name.is_empty() {
        if g.allow_reference {
            return bad(
                "model.group.name.app_error",
                "a group that allows references needs a name".into(),
            );
        }
    } else {
        if g.name.len() > GROUP_NAME_MAX {
            return bad(
                "model.group.name.invalid_length.app_error",
                format!("a group name has 1 to {GROUP_NAME_MAX} characters"),
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
    if g.display_name.is_empty() || g.display_name.len() > GROUP_DISPLAY_NAME_MAX {
        return bad(
            "model.group.display_name.app_error",
            format!("a group display name has 1 to {GROUP_DISPLAY_NAME_MAX} bytes"),
        );
    }
    if g.description.len() > GROUP_DESCRIPTION_MAX {
        return bad(
            "model.group.description.app_error",
            format!("a group description has at most {GROUP_DESCRIPTION_MAX} bytes"),
        );
    }
    if !(g.source == "custom" || g.source == "ldap" || g.source.starts_with("plugin_")) {
        return bad(
            "model.group.source.app_error",
            format!("invalid group source {:?}", g.source),
        );
    }
    if (g.remote_id.is_empty() && requires_remote_id(&g.source))
        || g.remote_id.len() > GROUP_REMOTE_ID_MAX
    {
        return bad(
            "model.group.remote_id.app_error",
            format!(
                "a {} group needs a remote id of at most {GROUP_REMOTE_ID_MAX} bytes",
                g.source
            ),
        );
    }
    Ok(())
}

/// Upstream's `isUniqueToUsernames`: a group may not take a user's username.
fn check_not_a_username(cx: &Cx<'_>, name: &str) -> Res<()> {
    if !name.is_empty() && cx.store.users.users.values().any(|u| u.username == name) {
        return Err(cx.bad(
            "app.group.username_conflict",
            format!("a user is already named {name:?}"),
        ));
    }
    Ok(())
}

/// The store's unique indexes: group name, and (source, remote id). Another group `g`
/// collides with, if any (deleted groups keep their name and remote id).
fn unique_collision<'a>(cx: &'a Cx<'_>, g: &Group) -> Option<&'a Group> {
    cx.store.groups.groups.values().find(|o| {
        o.id != g.id
            && ((!g.name.is_empty() && o.name == g.name)
                || (!g.remote_id.is_empty() && o.source == g.source && o.remote_id == g.remote_id))
    })
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

fn syncable_key(group_id: &str, syncable_id: &str, t: &str) -> (String, String, String) {
    (group_id.to_string(), syncable_id.to_string(), t.to_string())
}

/// The stored link, whatever its state (upstream's `getGroupSyncable`: only the exact types
/// "Team" and "Channel" can match).
fn stored_link(cx: &Cx<'_>, group_id: &str, syncable_id: &str, t: &str) -> Option<GroupSyncable> {
    if t != SYNCABLE_TEAM && t != SYNCABLE_CHANNEL {
        return None;
    }
    cx.store
        .groups
        .syncables
        .get(&syncable_key(group_id, syncable_id, t))
        .cloned()
}

/// `GetGroup`: fetch a user group by id (deleted groups too, with `delete_at` set).
pub fn get_group(cx: &mut Cx<'_>, req: GetGroupRequest) -> Res<GetGroupResponse> {
    let group = group_of(cx, &req.group_id)?;
    Ok(GetGroupResponse {
        group: Some(group),
        ..Default::default()
    })
}

/// `GetGroupByName`: fetch a user group by name (deleted groups too).
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

/// Upstream's `sanitizeProfiles(users, false)` (app/group.go
/// `App.GetGroupMemberUsersSortedPage`): `User.SanitizeProfile` with the options of a
/// non-admin, that is `ClearNonProfileFields` (no password, MFA secret, verification,
/// marketing flag, notify props, password time or failed attempts; auth data "") and then
/// `Sanitize` with the privacy settings only, which clears the last login and, since
/// `authservice` is not among those options, the auth service (model/user.go
/// @02728cf7fb0e1a27073bf1bd1eab1a5a56b4e03f; app/users `GetSanitizeOptions`). Email and
/// full name stay: the default privacy settings show them.
fn sanitize(mut u: User) -> User {
    u.password.clear();
    u.mfa_secret.clear();
    u.auth_data = Some(String::new());
    u.email_verified = false;
    u.allow_marketing = false;
    u.notify_props.clear();
    u.last_password_update = 0;
    u.failed_attempts = 0;
    u.last_login = 0;
    u.auth_service.clear();
    u
}

/// `GetGroupMemberUsers`: the active users with a live membership of the group, by
/// username, `per_page` at page `page` (upstream's LIMIT/OFFSET: `per_page` 0 is an empty
/// page). The group is not looked up: an unknown group has no members.
pub fn get_group_member_users(
    cx: &mut Cx<'_>,
    req: GetGroupMemberUsersRequest,
) -> Res<GetGroupMemberUsersResponse> {
    let mut users: Vec<User> = cx
        .store
        .groups
        .members
        .values()
        .filter(|m| m.group_id == req.group_id && m.delete_at == 0)
        .filter_map(|m| cx.store.users.users.get(&m.user_id))
        .filter(|u| u.delete_at == 0)
        .cloned()
        .map(sanitize)
        .collect();
    users.sort_by(|a, b| (&a.username, &a.id).cmp(&(&b.username, &b.id)));
    let per_page = req.per_page.max(0) as usize;
    let start = (req.page.max(0) as usize).saturating_mul(per_page);
    Ok(GetGroupMemberUsersResponse {
        users: users.into_iter().skip(start).take(per_page).collect(),
        ..Default::default()
    })
}

/// `GetGroupsBySource`: the live groups from a source (upstream gives no order; ours is by
/// display name).
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

/// `GetGroupsForUser`: the groups a user has a live membership of, deleted groups
/// included (upstream's `GetByUser` joins without filtering the group's `delete_at`); an
/// unknown user has none.
pub fn get_groups_for_user(
    cx: &mut Cx<'_>,
    req: GetGroupsForUserRequest,
) -> Res<GetGroupsForUserResponse> {
    let g = &cx.store.groups;
    let mut groups: Vec<Group> = g
        .members
        .values()
        .filter(|m| m.user_id == req.user_id && m.delete_at == 0)
        .filter_map(|m| g.groups.get(&m.group_id))
        .cloned()
        .collect();
    sort_groups(&mut groups);
    Ok(GetGroupsForUserResponse {
        groups,
        ..Default::default()
    })
}

/// Upstream's `UpsertMembers`: the group must exist (deleted or not) and every user must
/// be active, else 500 `app.update_error` (the store's errors are not mapped); all or
/// nothing. Every member gets `create_at` now and `delete_at` 0, even one that was live.
fn upsert_members(cx: &mut Cx<'_>, group_id: &str, user_ids: &[String]) -> Res<Vec<GroupMember>> {
    if !cx.store.groups.groups.contains_key(group_id) {
        return Err(update_error(cx, format!("group {group_id:?} not found")));
    }
    for uid in user_ids {
        if cx
            .store
            .users
            .users
            .get(uid)
            .is_none_or(|u| u.delete_at != 0)
        {
            return Err(update_error(cx, format!("user {uid:?} not found")));
        }
    }
    let distinct: BTreeSet<&String> = user_ids.iter().collect();
    if distinct.len() != user_ids.len() {
        return Err(update_error(
            cx,
            "the same user twice in one upsert (ON CONFLICT cannot affect a row twice)",
        ));
    }
    let now = cx.now;
    let mut out = Vec::new();
    for uid in user_ids {
        let m = GroupMember {
            group_id: group_id.to_string(),
            user_id: uid.clone(),
            create_at: now,
            delete_at: 0,
        };
        cx.store
            .groups
            .members
            .insert((group_id.to_string(), uid.clone()), m.clone());
        out.push(m);
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

/// `GetGroupByRemoteID`: fetch a group by remote id and source (deleted groups too).
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

/// `CreateGroup`, in upstream's order: a user's username is 400
/// `app.group.username_conflict`, a preset id 400 `app.group.id.app_error`, then the
/// model's checks; a taken name or (source, remote id) fails the insert: 500
/// `app.insert_error`. `delete_at` is stored as given.
pub fn create_group(cx: &mut Cx<'_>, req: CreateGroupRequest) -> Res<CreateGroupResponse> {
    let mut group = req.group.ok_or_else(|| cx.required("group"))?;
    check_not_a_username(cx, &group.name)?;
    if !group.id.is_empty() {
        return Err(cx.bad("app.group.id.app_error", "a new group must not have an id"));
    }
    validate_group(cx, &group)?;
    if let Some(other) = unique_collision(cx, &group) {
        return Err(insert_error(
            cx,
            format!("group {:?} has the same name or remote id", other.id),
        ));
    }
    group.id = new_id();
    group.create_at = cx.now;
    group.update_at = cx.now;
    cx.store
        .groups
        .groups
        .insert(group.id.clone(), group.clone());
    Ok(CreateGroupResponse {
        group: Some(group),
        ..Default::default()
    })
}

/// `UpdateGroup`, in upstream's order: username conflict (400), unknown id (404), a
/// `delete_at` other than 0 or the stored one (500 `app.select_error`), the model's checks
/// (400), a taken name or remote id (400 `app.custom_group.unique_name`). Name, display
/// name, description, source, remote id, allow_reference and `delete_at` are written from
/// the request; `create_at` is kept. The answer is the request's group with its times.
pub fn update_group(cx: &mut Cx<'_>, req: UpdateGroupRequest) -> Res<UpdateGroupResponse> {
    let mut next = req.group.ok_or_else(|| cx.required("group"))?;
    check_not_a_username(cx, &next.name)?;
    let cur = group_of(cx, &next.id)?;
    if next.delete_at != 0 && next.delete_at != cur.delete_at {
        return Err(cx.err(
            500,
            "app.select_error",
            "delete_at must be 0 or the stored value",
        ));
    }
    validate_group(cx, &next)?;
    if let Some(other) = unique_collision(cx, &next) {
        return Err(cx.bad(
            "app.custom_group.unique_name",
            format!("group {:?} has the same name or remote id", other.id),
        ));
    }
    next.create_at = cur.create_at;
    next.update_at = bump(cx.now, cur.update_at);
    cx.store.groups.groups.insert(next.id.clone(), next.clone());
    Ok(UpdateGroupResponse {
        group: Some(next),
        ..Default::default()
    })
}

/// `DeleteGroup`: soft-delete a live group, returning it; unknown or already deleted is
/// 404. Members and links are kept.
pub fn delete_group(cx: &mut Cx<'_>, req: DeleteGroupRequest) -> Res<DeleteGroupResponse> {
    let g = group_of(cx, &req.group_id)?;
    if g.delete_at != 0 {
        return Err(no_rows(cx, &format!("live group {:?}", req.group_id)));
    }
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

/// `DeleteGroupMember`: soft-remove a live membership, returning it; no live membership
/// (or no such group) is 404.
pub fn delete_group_member(
    cx: &mut Cx<'_>,
    req: DeleteGroupMemberRequest,
) -> Res<DeleteGroupMemberResponse> {
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

/// `GetGroupSyncable`: one link, deleted ones too. Any type other than "Team" or
/// "Channel" finds nothing (404). As upstream's `getGroupSyncable`, `scheme_admin` is not
/// read back.
pub fn get_group_syncable(
    cx: &mut Cx<'_>,
    req: GetGroupSyncableRequest,
) -> Res<GetGroupSyncableResponse> {
    let mut gs = stored_link(cx, &req.group_id, &req.syncable_id, &req.syncable_type)
        .ok_or_else(|| no_rows(cx, &format!("group {} link", req.syncable_type)))?;
    gs.scheme_admin = false;
    Ok(GetGroupSyncableResponse {
        group_syncable: Some(gs),
        ..Default::default()
    })
}

/// Whether a link's team or channel (and the channel's team) still exists: upstream's
/// listing joins the links with Teams / Channels.
fn link_target_exists(cx: &Cx<'_>, s: &GroupSyncable) -> bool {
    if s.syncable_type == SYNCABLE_TEAM {
        cx.store.teams.teams.contains_key(&s.syncable_id)
    } else {
        cx.store
            .channels
            .channels
            .get(&s.syncable_id)
            .is_some_and(|c| cx.store.teams.teams.contains_key(&c.team_id))
    }
}

/// `GetGroupSyncables`: the live links of a group for one exact syncable type, whose team
/// or channel exists. An unknown group or type has none.
pub fn get_group_syncables(
    cx: &mut Cx<'_>,
    req: GetGroupSyncablesRequest,
) -> Res<GetGroupSyncablesResponse> {
    let group_syncables = cx
        .store
        .groups
        .syncables
        .values()
        .filter(|s| {
            s.group_id == req.group_id
                && s.syncable_type == req.syncable_type
                && s.delete_at == 0
                && link_target_exists(cx, s)
        })
        .cloned()
        .collect();
    Ok(GetGroupSyncablesResponse {
        group_syncables,
        ..Default::default()
    })
}

/// Upstream's `GroupSyncable.IsValid`: both ids must be valid ids.
fn check_link_ids(cx: &Cx<'_>, gs: &GroupSyncable) -> Res<()> {
    if !is_valid_id(&gs.group_id) {
        return Err(cx.bad(
            "model.group_syncable.group_id.app_error",
            "invalid group id",
        ));
    }
    if !is_valid_id(&gs.syncable_id) {
        return Err(cx.bad(
            "model.group_syncable.syncable_id.app_error",
            "invalid syncable id",
        ));
    }
    Ok(())
}

/// Upstream's store `CreateGroupSyncable`: ids valid, the team (404
/// `store.sql_channel.get.existing.app_error`, as the app maps any not-found) or channel
/// must exist, an unknown type fails the insert (500 `app.insert_error`). The group is not
/// checked. Answers the link as created.
fn create_link(cx: &mut Cx<'_>, mut gs: GroupSyncable) -> Res<GroupSyncable> {
    check_link_ids(cx, &gs)?;
    match gs.syncable_type.as_str() {
        SYNCABLE_TEAM => {
            if !cx.store.teams.teams.contains_key(&gs.syncable_id) {
                return Err(cx.err(
                    404,
                    "store.sql_channel.get.existing.app_error",
                    format!("team {:?} not found", gs.syncable_id),
                ));
            }
        }
        SYNCABLE_CHANNEL => {
            cx.channel(&gs.syncable_id)?;
        }
        other => {
            return Err(insert_error(
                cx,
                format!("invalid GroupSyncableType: {other}"),
            ));
        }
    }
    gs.create_at = cx.now;
    gs.update_at = cx.now;
    gs.delete_at = 0;
    cx.store.groups.syncables.insert(
        syncable_key(&gs.group_id, &gs.syncable_id, &gs.syncable_type),
        gs.clone(),
    );
    Ok(gs)
}

/// Upstream's store `UpdateGroupSyncable`: the link must exist (else 500
/// `app.update_error`), ids valid, `delete_at` 0 or the stored one; `auto_add`,
/// `scheme_admin` and `delete_at` are written from `gs` (0 revives a deleted link),
/// `create_at` is kept. Answers `gs` with its times.
fn update_link(cx: &mut Cx<'_>, mut gs: GroupSyncable) -> Res<GroupSyncable> {
    let Some(cur) = stored_link(cx, &gs.group_id, &gs.syncable_id, &gs.syncable_type) else {
        return Err(update_error(
            cx,
            format!("no {} link to {:?}", gs.syncable_type, gs.syncable_id),
        ));
    };
    check_link_ids(cx, &gs)?;
    if gs.delete_at != 0 && gs.delete_at != cur.delete_at {
        return Err(update_error(cx, "delete_at must be 0 or the stored value"));
    }
    if gs.syncable_type == SYNCABLE_CHANNEL
        && !cx.store.channels.channels.contains_key(&gs.syncable_id)
    {
        return Err(update_error(
            cx,
            format!("channel {:?} not found", gs.syncable_id),
        ));
    }
    gs.create_at = cur.create_at;
    gs.update_at = bump(cx.now, cur.update_at);
    cx.store.groups.syncables.insert(
        syncable_key(&gs.group_id, &gs.syncable_id, &gs.syncable_type),
        gs.clone(),
    );
    Ok(gs)
}

/// Upstream's `App.UpsertGroupSyncable`. A channel link needs the channel (404
/// `app.channel.get.existing.app_error`) and its team (404 `app.team.get.find.app_error`);
/// in a group-constrained team the group must already be linked to the team (400
/// `group_not_associated_to_synced_team`), otherwise the team link is upserted too (with
/// the channel link's `auto_add`, no scheme admin, live). Then the link is created, or
/// updated in place when it exists.
fn upsert_link(cx: &mut Cx<'_>, gs: GroupSyncable) -> Res<GroupSyncable> {
    let existing = stored_link(cx, &gs.group_id, &gs.syncable_id, &gs.syncable_type);
    if gs.syncable_type == SYNCABLE_CHANNEL {
        let channel = cx.channel(&gs.syncable_id)?;
        let team = cx.team(&channel.team_id)?;
        if team.group_constrained == Some(true) {
            let linked = cx.store.groups.syncables.values().any(|s| {
                s.group_id == gs.group_id
                    && s.syncable_type == SYNCABLE_TEAM
                    && s.syncable_id == team.id
                    && s.delete_at == 0
            }) && cx
                .store
                .groups
                .groups
                .get(&gs.group_id)
                .is_some_and(|g| g.delete_at == 0);
            if !linked {
                return Err(cx.bad(
                    "group_not_associated_to_synced_team",
                    "the group is not linked to the channel's group-constrained team",
                ));
            }
        } else {
            upsert_link(
                cx,
                GroupSyncable {
                    group_id: gs.group_id.clone(),
                    syncable_id: team.id.clone(),
                    syncable_type: SYNCABLE_TEAM.into(),
                    auto_add: gs.auto_add,
                    ..Default::default()
                },
            )?;
        }
    }
    match existing {
        None => create_link(cx, gs),
        Some(_) => update_link(cx, gs),
    }
}

/// `UpsertGroupSyncable`: create, update or revive a group link (see [`upsert_link`]).
pub fn upsert_group_syncable(
    cx: &mut Cx<'_>,
    req: UpsertGroupSyncableRequest,
) -> Res<UpsertGroupSyncableResponse> {
    let gs = req
        .group_syncable
        .ok_or_else(|| cx.required("group_syncable"))?;
    let out = upsert_link(cx, gs)?;
    Ok(UpsertGroupSyncableResponse {
        group_syncable: Some(out),
        ..Default::default()
    })
}

/// `UpdateGroupSyncable`: with `delete_at` 0 the stored link is updated (a missing link
/// is 500 `app.update_error`, a deleted one is revived); with another `delete_at` the link
/// goes through the upsert, as upstream's `App.UpdateGroupSyncable`.
pub fn update_group_syncable(
    cx: &mut Cx<'_>,
    req: UpdateGroupSyncableRequest,
) -> Res<UpdateGroupSyncableResponse> {
    let gs = req
        .group_syncable
        .ok_or_else(|| cx.required("group_syncable"))?;
    let out = if gs.delete_at == 0 {
        update_link(cx, gs)?
    } else {
        upsert_link(cx, gs)?
    };
    Ok(UpdateGroupSyncableResponse {
        group_syncable: Some(out),
        ..Default::default()
    })
}

/// `DeleteGroupSyncable`: soft-delete a link (404 if missing or of another type, 400
/// `app.group.group_syncable_already_deleted` if deleted). As upstream, the row is written
/// back without `scheme_admin`, and deleting a team link also deletes every live channel
/// link of the group, in any team.
pub fn delete_group_syncable(
    cx: &mut Cx<'_>,
    req: DeleteGroupSyncableRequest,
) -> Res<DeleteGroupSyncableResponse> {
    let cur = stored_link(cx, &req.group_id, &req.syncable_id, &req.syncable_type)
        .ok_or_else(|| no_rows(cx, &format!("group {} link", req.syncable_type)))?;
    if cur.delete_at != 0 {
        return Err(cx.bad(
            "app.group.group_syncable_already_deleted",
            "the group link is already deleted",
        ));
    }
    let now = cx.now;
    let key = syncable_key(&req.group_id, &req.syncable_id, &req.syncable_type);
    let is_team = req.syncable_type == SYNCABLE_TEAM;
    let mut out = None;
    for (k, s) in cx.store.groups.syncables.iter_mut() {
        let cascade = is_team
            && s.group_id == req.group_id
            && s.syncable_type == SYNCABLE_CHANNEL
            && s.delete_at == 0;
        if *k == key || cascade {
            s.delete_at = now;
            s.update_at = bump(now, s.update_at);
            if *k == key {
                s.scheme_admin = false;
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
/// `filter_archived` (only deleted groups), `since` (update_at after it, in ms; with it,
/// deleted groups are listed too). Without `filter_archived` or `since` only live groups.
/// View restrictions keep groups with a live member in one of the listed teams or
/// channels. `page`/`per_page` fall back to the options' page fields; `per_page` 0 lists
/// everything.
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
        .filter(|x| {
            if opts.filter_archived {
                x.delete_at != 0
            } else {
                since > 0 || x.delete_at == 0
            }
        })
        .filter(|x| {
            q.is_empty()
                || x.name.to_lowercase().contains(&q)
                || x.display_name.to_lowercase().contains(&q)
        })
        .filter(|x| opts.source.is_empty() || x.source == opts.source)
        .filter(|x| opts.filter_allow_reference != "true" || x.allow_reference)
        .filter(|x| since <= 0 || x.update_at > since)
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
    let groups = if per_page == 0 {
        groups
    } else {
        paginate(&groups, page, per_page)
    };
    Ok(GetGroupsResponse {
        groups,
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
/// not in a live group linked to it. Bots are never removed (upstream's
/// `TeamMembersToRemove` / `ChannelMembersToRemove` leave them out).
pub fn delete_group_constrained_memberships(
    cx: &mut Cx<'_>,
    _req: DeleteGroupConstrainedMembershipsRequest,
) -> Res<DeleteGroupConstrainedMembershipsResponse> {
    let now = cx.now;
    let store = &mut *cx.store;
    let bots: BTreeSet<String> = store
        .users
        .users
        .values()
        .filter(|u| u.is_bot)
        .map(|u| u.id.clone())
        .collect();
    let constrained_teams: Vec<String> = store
        .teams
        .teams
        .values()
        .filter(|t| t.group_constrained == Some(true) && t.delete_at == 0)
        .map(|t| t.id.clone())
        .collect();
    for team_id in constrained_teams {
        let mut allowed = store.groups.allowed_users(&team_id, SYNCABLE_TEAM);
        allowed.extend(bots.iter().cloned());
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
        let mut allowed = store.groups.allowed_users(&channel_id, SYNCABLE_CHANNEL);
        allowed.extend(bots.iter().cloned());
        store
            .channels
            .members
            .retain(|(c, u), _| *c != channel_id || allowed.contains(u));
    }
    Ok(DeleteGroupConstrainedMembershipsResponse::default())
}
