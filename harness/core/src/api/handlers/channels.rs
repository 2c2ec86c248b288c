//! Channel rpcs of the reference PluginAPI server.
//!
//! Semantics follow Mattermost's app layer:
//! * `DeleteChannel` archives (soft delete: `delete_at` set); an archived channel stays
//!   readable by id, is left out of listings and refuses new members and updates.
//! * `DeleteChannelMember` removes the membership row (hard delete, as upstream).
//! * Direct channels are named `<id1>__<id2>` (ids sorted) and group channels by the SHA-1
//!   of their sorted member ids, as upstream; both are get-or-create.
//! * New members get roles `channel_user` (`channel_guest` for guests) and Mattermost's
//!   default channel notify props. No "joined/left" system posts are written.
//! * `CreateChannel` makes the creator (if given) a member, as the lead's design asks.
//! * Sidebar categories are kept per (user, team); the defaults (favorites, channels,
//!   direct_messages) are created on first use, and the channels/direct_messages
//!   categories implicitly hold the user's channels that no category lists.

use std::collections::BTreeMap;

use super::prelude::*;

/// Channels and memberships. Other domains read them (see `Cx::channel`).
#[derive(Debug, Default)]
pub struct ChannelsState {
    /// Channels by id.
    pub channels: BTreeMap<String, Channel>,
    /// Memberships by (channel id, user id).
    pub members: BTreeMap<(String, String), ChannelMember>,
    /// Ordered sidebar categories by (user id, team id).
    sidebar: BTreeMap<(String, String), Vec<SidebarCategoryWithChannels>>,
}

const OPEN: i32 = 1;
const PRIVATE: i32 = 2;
const DIRECT: i32 = 3;
const GROUP: i32 = 4;

/// The channels every team gets, joined by every (non-guest) team member.
const DEFAULT_CHANNELS: &[(&str, &str)] =
    &[("town-square", "Town Square"), ("off-topic", "Off-Topic")];

/// Mattermost's `GetDefaultChannelNotifyProps`.
fn default_notify_props() -> std::collections::HashMap<String, String> {
    [
        ("desktop", "default"),
        ("email", "default"),
        ("push", "default"),
        ("mark_unread", "all"),
        ("ignore_channel_mentions", "default"),
        ("channel_auto_follow_threads", "off"),
        ("desktop_threads", "default"),
        ("push_threads", "default"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn is_guest(user: &User) -> bool {
    user.roles.split_whitespace().any(|r| r == "system_guest")
}

fn new_member(channel_id: &str, user: &User, now: i64) -> ChannelMember {
    let guest = is_guest(user);
    ChannelMember {
        channel_id: channel_id.to_string(),
        user_id: user.id.clone(),
        roles: if guest {
            "channel_guest"
        } else {
            "channel_user"
        }
        .to_string(),
        notify_props: default_notify_props(),
        last_update_at: now,
        scheme_guest: guest,
        scheme_user: !guest,
        ..Default::default()
    }
}

/// Creates a team's default channels (called by `CreateTeam`).
pub(crate) fn create_default_channels(cx: &mut Cx<'_>, team_id: &str) {
    for (name, display) in DEFAULT_CHANNELS {
        let channel = Channel {
            id: new_id(),
            create_at: cx.now,
            update_at: cx.now,
            team_id: team_id.to_string(),
            r#type: OPEN,
            display_name: display.to_string(),
            name: name.to_string(),
            ..Default::default()
        };
        cx.store
            .channels
            .channels
            .insert(channel.id.clone(), channel);
    }
}

/// Joins a new team member to the team's default channels (called on team join).
pub(crate) fn join_default_channels(cx: &mut Cx<'_>, team_id: &str, user: &User) {
    let ids: Vec<String> = cx
        .store
        .channels
        .channels
        .values()
        .filter(|c| {
            c.team_id == team_id
                && c.delete_at == 0
                && DEFAULT_CHANNELS.iter().any(|(n, _)| *n == c.name)
        })
        .map(|c| c.id.clone())
        .collect();
    for id in ids {
        let member = new_member(&id, user, cx.now);
        cx.store
            .channels
            .members
            .entry((id, user.id.clone()))
            .or_insert(member);
    }
}

fn member_missing(cx: &Cx<'_>, channel_id: &str, user_id: &str) -> AppError {
    cx.err(
        404,
        "app.channel.get_member.missing.app_error",
        format!("user {user_id:?} is not a member of channel {channel_id:?}"),
    )
}

fn exists_error(cx: &Cx<'_>, id: &str, name: &str) -> AppError {
    cx.bad(
        id,
        format!("a channel named {name:?} already exists on the same team"),
    )
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

/// Mattermost's `Channel.IsValid` for the fields a plugin controls.
fn validate_channel(cx: &Cx<'_>, channel: &Channel) -> Res<()> {
    if !matches!(channel.r#type, OPEN | PRIVATE | DIRECT | GROUP) {
        return Err(cx.bad(
            "model.channel.is_valid.type.app_error",
            "type must be open, private, direct or group",
        ));
    }
    if !valid_channel_name(&channel.name) {
        return Err(cx.bad(
            "model.channel.is_valid.2_or_more.app_error",
            format!("invalid channel name {:?}", channel.name),
        ));
    }
    let display = channel.display_name.chars().count();
    if display > 64 || (display == 0 && matches!(channel.r#type, OPEN | PRIVATE)) {
        return Err(cx.bad(
            "model.channel.is_valid.display_name.app_error",
            "display_name must be 1 to 64 characters",
        ));
    }
    if channel.header.chars().count() > 1024 {
        return Err(cx.bad(
            "model.channel.is_valid.header.app_error",
            "header is longer than 1024 characters",
        ));
    }
    if channel.purpose.chars().count() > 250 {
        return Err(cx.bad(
            "model.channel.is_valid.purpose.app_error",
            "purpose is longer than 250 characters",
        ));
    }
    Ok(())
}

/// Sorts channels by display name (case-insensitive), then name, then id.
fn sort_channels(channels: &mut [Channel]) {
    channels.sort_by(|a, b| {
        (a.display_name.to_lowercase(), &a.name, &a.id).cmp(&(
            b.display_name.to_lowercase(),
            &b.name,
            &b.id,
        ))
    });
}

/// A channel of `team_id` (or a team-less direct/group channel) named `name`.
fn channel_by_name(cx: &Cx<'_>, team_id: &str, name: &str, include_deleted: bool) -> Res<Channel> {
    let found = cx.store.channels.channels.values().find(|c| {
        c.name == name
            && (c.team_id == team_id || c.team_id.is_empty())
            && (include_deleted || c.delete_at == 0)
    });
    found.cloned().ok_or_else(|| {
        cx.err(
            404,
            "app.channel.get_by_name.missing.app_error",
            format!("channel {name:?} not found in team {team_id:?}"),
        )
    })
}

/// `CreateChannel`: create an open or private channel in an existing team.
pub fn create_channel(cx: &mut Cx<'_>, req: CreateChannelRequest) -> Res<CreateChannelResponse> {
    let Some(mut channel) = req.channel else {
        return Err(cx.required("channel"));
    };
    if !channel.id.is_empty() {
        return Err(cx.bad(
            "store.sql_channel.save_channel.existing.app_error",
            "a new channel must not have an id",
        ));
    }
    if channel.delete_at != 0 {
        return Err(cx.bad(
            "store.sql_channel.save.archived_channel.app_error",
            "a new channel cannot be archived",
        ));
    }
    if matches!(channel.r#type, DIRECT | GROUP) {
        return Err(cx.bad(
            "store.sql_channel.save.direct_channel.app_error",
            "direct and group channels are made with GetDirectChannel / GetGroupChannel",
        ));
    }
    channel.display_name = channel.display_name.trim().to_string();
    validate_channel(cx, &channel)?;
    let team = cx.team(&channel.team_id)?;
    if cx
        .store
        .channels
        .channels
        .values()
        .any(|c| c.team_id == team.id && c.name == channel.name)
    {
        return Err(exists_error(
            cx,
            "store.sql_channel.save_channel.exists.app_error",
            &channel.name,
        ));
    }
    let creator = if channel.creator_id.is_empty() {
        None
    } else {
        Some(cx.user(&channel.creator_id)?)
    };
    channel.id = new_id();
    channel.create_at = cx.now;
    channel.update_at = cx.now;
    cx.store
        .channels
        .channels
        .insert(channel.id.clone(), channel.clone());
    if let Some(user) = creator {
        let member = new_member(&channel.id, &user, cx.now);
        cx.store
            .channels
            .members
            .insert((channel.id.clone(), user.id.clone()), member);
    }
    Ok(CreateChannelResponse {
        channel: Some(channel),
        ..Default::default()
    })
}

/// `DeleteChannel`: archive a channel (soft delete).
pub fn delete_channel(cx: &mut Cx<'_>, req: DeleteChannelRequest) -> Res<DeleteChannelResponse> {
    let mut channel = cx.channel(&req.channel_id)?;
    if channel.delete_at > 0 {
        return Err(cx.bad(
            "api.channel.delete_channel.deleted.app_error",
            "the channel is already archived",
        ));
    }
    if matches!(channel.r#type, DIRECT | GROUP) {
        return Err(cx.bad(
            "api.channel.delete_channel.type.invalid",
            "direct and group channels cannot be deleted",
        ));
    }
    channel.delete_at = cx.now;
    channel.update_at = cx.now;
    cx.store
        .channels
        .channels
        .insert(channel.id.clone(), channel);
    Ok(DeleteChannelResponse::default())
}

/// `GetPublicChannelsForTeam`: page through a team's open, unarchived channels, sorted by
/// display name.
pub fn get_public_channels_for_team(
    cx: &mut Cx<'_>,
    req: GetPublicChannelsForTeamRequest,
) -> Res<GetPublicChannelsForTeamResponse> {
    check_paging(cx, req.page, req.per_page)?;
    let mut all: Vec<Channel> = cx
        .store
        .channels
        .channels
        .values()
        .filter(|c| c.team_id == req.team_id && c.r#type == OPEN && c.delete_at == 0)
        .cloned()
        .collect();
    sort_channels(&mut all);
    Ok(GetPublicChannelsForTeamResponse {
        channels: paginate(&all, req.page, req.per_page),
        ..Default::default()
    })
}

/// `GetChannel`: fetch a channel by id (an archived one too).
pub fn get_channel(cx: &mut Cx<'_>, req: GetChannelRequest) -> Res<GetChannelResponse> {
    Ok(GetChannelResponse {
        channel: Some(cx.channel(&req.channel_id)?),
        ..Default::default()
    })
}

/// `GetChannelByName`: fetch a channel by team id and name.
pub fn get_channel_by_name(
    cx: &mut Cx<'_>,
    req: GetChannelByNameRequest,
) -> Res<GetChannelByNameResponse> {
    let channel = channel_by_name(cx, &req.team_id, &req.name, req.include_deleted)?;
    Ok(GetChannelByNameResponse {
        channel: Some(channel),
        ..Default::default()
    })
}

/// `GetChannelByNameForTeamName`: fetch a channel by team name and channel name.
pub fn get_channel_by_name_for_team_name(
    cx: &mut Cx<'_>,
    req: GetChannelByNameForTeamNameRequest,
) -> Res<GetChannelByNameForTeamNameResponse> {
    let team_id = cx
        .store
        .teams
        .teams
        .values()
        .find(|t| t.name == req.team_name)
        .map(|t| t.id.clone())
        .ok_or_else(|| {
            cx.err(
                404,
                "app.team.get_by_name.missing.app_error",
                format!("team named {:?} not found", req.team_name),
            )
        })?;
    let channel = channel_by_name(cx, &team_id, &req.channel_name, req.include_deleted)?;
    Ok(GetChannelByNameForTeamNameResponse {
        channel: Some(channel),
        ..Default::default()
    })
}

/// `GetChannelsForTeamForUser`: the channels of a team (and the team-less direct/group
/// channels) a user is a member of, sorted by display name; none is 404, as upstream.
pub fn get_channels_for_team_for_user(
    cx: &mut Cx<'_>,
    req: GetChannelsForTeamForUserRequest,
) -> Res<GetChannelsForTeamForUserResponse> {
    let store = &*cx.store;
    let mut channels: Vec<Channel> = store
        .channels
        .members
        .keys()
        .filter(|(_, user_id)| *user_id == req.user_id)
        .filter_map(|(channel_id, _)| store.channels.channels.get(channel_id))
        .filter(|c| {
            (c.team_id == req.team_id || c.team_id.is_empty())
                && (req.include_deleted || c.delete_at == 0)
        })
        .cloned()
        .collect();
    if channels.is_empty() {
        return Err(cx.err(
            404,
            "app.channel.get_channels.not_found.app_error",
            format!(
                "user {:?} has no channels in team {:?}",
                req.user_id, req.team_id
            ),
        ));
    }
    sort_channels(&mut channels);
    Ok(GetChannelsForTeamForUserResponse {
        channels,
        ..Default::default()
    })
}

/// `GetChannelStats`: members (active users), guests, pinned posts and files of a
/// channel. An unknown channel has zero counts, as upstream. (Upstream's plugin API fills
/// only the member count, and reports it as the guest count too; the reference server
/// answers every field with its real value.)
pub fn get_channel_stats(
    cx: &mut Cx<'_>,
    req: GetChannelStatsRequest,
) -> Res<GetChannelStatsResponse> {
    let store = &*cx.store;
    let mut stats = ChannelStats {
        channel_id: req.channel_id.clone(),
        ..Default::default()
    };
    for (channel_id, user_id) in store.channels.members.keys() {
        if *channel_id != req.channel_id {
            continue;
        }
        if let Some(user) = store.users.users.get(user_id)
            && user.delete_at == 0
        {
            stats.member_count += 1;
            if is_guest(user) {
                stats.guest_count += 1;
            }
        }
    }
    for post in store.posts.posts.values() {
        if post.channel_id == req.channel_id && post.delete_at == 0 {
            if post.is_pinned {
                stats.pinnedpost_count += 1;
            }
            stats.files_count += post.file_ids.len() as i64;
        }
    }
    Ok(GetChannelStatsResponse {
        channel_stats: Some(stats),
        ..Default::default()
    })
}

/// `GetDirectChannel`: get or create the DM channel between two users (a user may DM
/// themself).
pub fn get_direct_channel(
    cx: &mut Cx<'_>,
    req: GetDirectChannelRequest,
) -> Res<GetDirectChannelResponse> {
    let mut users = Vec::new();
    for id in [&req.user_id_1, &req.user_id_2] {
        match cx.store.users.users.get(id.as_str()) {
            Some(u) => users.push(u.clone()),
            None => {
                return Err(cx.bad(
                    "api.channel.create_direct_channel.invalid_user.app_error",
                    format!("user {id:?} does not exist"),
                ));
            }
        }
    }
    let mut ids = [req.user_id_1.clone(), req.user_id_2.clone()];
    ids.sort();
    let name = format!("{}__{}", ids[0], ids[1]);
    if let Some(existing) = cx
        .store
        .channels
        .channels
        .values()
        .find(|c| c.r#type == DIRECT && c.name == name)
    {
        return Ok(GetDirectChannelResponse {
            channel: Some(existing.clone()),
            ..Default::default()
        });
    }
    let channel = Channel {
        id: new_id(),
        create_at: cx.now,
        update_at: cx.now,
        r#type: DIRECT,
        name,
        ..Default::default()
    };
    cx.store
        .channels
        .channels
        .insert(channel.id.clone(), channel.clone());
    for user in &users {
        let member = new_member(&channel.id, user, cx.now);
        cx.store
            .channels
            .members
            .insert((channel.id.clone(), user.id.clone()), member);
    }
    Ok(GetDirectChannelResponse {
        channel: Some(channel),
        ..Default::default()
    })
}

/// `GetGroupChannel`: get or create the group-message channel of 3 to 8 distinct users.
pub fn get_group_channel(
    cx: &mut Cx<'_>,
    req: GetGroupChannelRequest,
) -> Res<GetGroupChannelResponse> {
    let mut ids = req.user_ids.clone();
    ids.sort();
    ids.dedup();
    if !(3..=8).contains(&ids.len()) {
        return Err(cx.bad(
            "api.channel.create_group.bad_size.app_error",
            format!(
                "a group channel needs 3 to 8 distinct users, got {}",
                ids.len()
            ),
        ));
    }
    let mut users = Vec::new();
    for id in &ids {
        match cx.store.users.users.get(id) {
            Some(u) => users.push(u.clone()),
            None => {
                return Err(cx.bad(
                    "api.channel.create_group.bad_user.app_error",
                    format!("user {id:?} does not exist"),
                ));
            }
        }
    }
    // Upstream names a group channel by the hex SHA-1 of its sorted member ids.
    let name = sha1_smol::Sha1::from(ids.concat().as_bytes())
        .digest()
        .to_string();
    if let Some(existing) = cx
        .store
        .channels
        .channels
        .values()
        .find(|c| c.r#type == GROUP && c.name == name)
    {
        return Ok(GetGroupChannelResponse {
            channel: Some(existing.clone()),
            ..Default::default()
        });
    }
    let mut usernames: Vec<&str> = users.iter().map(|u| u.username.as_str()).collect();
    usernames.sort();
    let channel = Channel {
        id: new_id(),
        create_at: cx.now,
        update_at: cx.now,
        r#type: GROUP,
        name,
        display_name: usernames.join(", "),
        ..Default::default()
    };
    cx.store
        .channels
        .channels
        .insert(channel.id.clone(), channel.clone());
    for user in &users {
        let member = new_member(&channel.id, user, cx.now);
        cx.store
            .channels
            .members
            .insert((channel.id.clone(), user.id.clone()), member);
    }
    Ok(GetGroupChannelResponse {
        channel: Some(channel),
        ..Default::default()
    })
}

/// `UpdateChannel`: overwrite a channel's plugin-controlled fields (names, header,
/// purpose, props, open/private type...); id, team, creator, times and counters are the
/// server's. Archived channels cannot be updated.
pub fn update_channel(cx: &mut Cx<'_>, req: UpdateChannelRequest) -> Res<UpdateChannelResponse> {
    let Some(new) = req.channel else {
        return Err(cx.required("channel"));
    };
    let old = cx.channel(&new.id)?;
    if old.delete_at != 0 || new.delete_at != 0 {
        return Err(cx.bad(
            "app.channel.update.bad_id",
            "an archived channel cannot be updated",
        ));
    }
    let group_like = |t: i32| matches!(t, DIRECT | GROUP);
    if new.r#type != old.r#type && (group_like(old.r#type) || group_like(new.r#type)) {
        return Err(cx.bad(
            "model.channel.is_valid.type.app_error",
            "only open and private channels can change type",
        ));
    }
    let channel = Channel {
        id: old.id.clone(),
        create_at: old.create_at,
        update_at: cx.now.max(old.update_at + 1),
        delete_at: 0,
        team_id: old.team_id.clone(),
        creator_id: old.creator_id.clone(),
        last_post_at: old.last_post_at,
        last_root_post_at: old.last_root_post_at,
        total_msg_count: old.total_msg_count,
        total_msg_count_root: old.total_msg_count_root,
        extra_update_at: old.extra_update_at,
        shared: old.shared,
        display_name: new.display_name.trim().to_string(),
        ..new
    };
    validate_channel(cx, &channel)?;
    if cx
        .store
        .channels
        .channels
        .values()
        .any(|c| c.id != channel.id && c.team_id == channel.team_id && c.name == channel.name)
    {
        return Err(exists_error(
            cx,
            "store.sql_channel.update.exists.app_error",
            &channel.name,
        ));
    }
    cx.store
        .channels
        .channels
        .insert(channel.id.clone(), channel.clone());
    Ok(UpdateChannelResponse {
        channel: Some(channel),
        ..Default::default()
    })
}

/// `SearchChannels`: open, unarchived channels of a team whose name, display name or
/// purpose contains the term (case-insensitive), sorted by display name; at most 100.
pub fn search_channels(cx: &mut Cx<'_>, req: SearchChannelsRequest) -> Res<SearchChannelsResponse> {
    let term = req.term.trim().to_lowercase();
    let mut channels: Vec<Channel> = cx
        .store
        .channels
        .channels
        .values()
        .filter(|c| c.team_id == req.team_id && c.r#type == OPEN && c.delete_at == 0)
        .filter(|c| {
            c.name.to_lowercase().contains(&term)
                || c.display_name.to_lowercase().contains(&term)
                || c.purpose.to_lowercase().contains(&term)
        })
        .cloned()
        .collect();
    sort_channels(&mut channels);
    channels.truncate(100);
    Ok(SearchChannelsResponse {
        channels,
        ..Default::default()
    })
}

/// Upstream's `AddChannelMember`: an existing membership is returned as is; otherwise the
/// user (and requestor, if any) must exist, the channel must be an unarchived open or
/// private channel and the user an active member of its team.
fn add_member(
    cx: &mut Cx<'_>,
    channel_id: &str,
    user_id: &str,
    requestor: &str,
) -> Res<ChannelMember> {
    let channel = cx.channel(channel_id)?;
    let key = (channel.id.clone(), user_id.to_string());
    if let Some(m) = cx.store.channels.members.get(&key) {
        return Ok(m.clone());
    }
    let user = cx.user(user_id)?;
    if !requestor.is_empty() {
        cx.user(requestor)?;
    }
    if channel.delete_at > 0 {
        return Err(cx.bad(
            "api.channel.add_user_to_channel.deleted.app_error",
            "the channel is archived",
        ));
    }
    if !matches!(channel.r#type, OPEN | PRIVATE) {
        return Err(cx.bad(
            "api.channel.add_user_to_channel.type.app_error",
            "users can only be added to open and private channels",
        ));
    }
    match cx
        .store
        .teams
        .members
        .get(&(channel.team_id.clone(), user.id.clone()))
    {
        None => {
            return Err(cx.err(
                404,
                "app.team.get_member.missing.app_error",
                format!("user {:?} is not a member of the channel's team", user.id),
            ));
        }
        Some(tm) if tm.delete_at > 0 => {
            return Err(cx.bad(
                "api.channel.add_user.to.channel.failed.deleted.app_error",
                format!("user {:?} was removed from the channel's team", user.id),
            ));
        }
        Some(_) => {}
    }
    let member = new_member(&channel.id, &user, cx.now);
    cx.store.channels.members.insert(key, member.clone());
    Ok(member)
}

/// `AddChannelMember`: add a user to a channel.
pub fn add_channel_member(
    cx: &mut Cx<'_>,
    req: AddChannelMemberRequest,
) -> Res<AddChannelMemberResponse> {
    let member = add_member(cx, &req.channel_id, &req.user_id, "")?;
    Ok(AddChannelMemberResponse {
        channel_member: Some(member),
        ..Default::default()
    })
}

/// `AddUserToChannel`: add a user to a channel acting as another user (who must exist).
pub fn add_user_to_channel(
    cx: &mut Cx<'_>,
    req: AddUserToChannelRequest,
) -> Res<AddUserToChannelResponse> {
    let member = add_member(cx, &req.channel_id, &req.user_id, &req.as_user_id)?;
    Ok(AddUserToChannelResponse {
        channel_member: Some(member),
        ..Default::default()
    })
}

fn get_member(cx: &Cx<'_>, channel_id: &str, user_id: &str) -> Res<ChannelMember> {
    cx.store
        .channels
        .members
        .get(&(channel_id.to_string(), user_id.to_string()))
        .cloned()
        .ok_or_else(|| member_missing(cx, channel_id, user_id))
}

/// `GetChannelMember`: fetch one channel membership.
pub fn get_channel_member(
    cx: &mut Cx<'_>,
    req: GetChannelMemberRequest,
) -> Res<GetChannelMemberResponse> {
    Ok(GetChannelMemberResponse {
        channel_member: Some(get_member(cx, &req.channel_id, &req.user_id)?),
        ..Default::default()
    })
}

/// `GetChannelMembers`: page through a channel's memberships, ordered by user id.
pub fn get_channel_members(
    cx: &mut Cx<'_>,
    req: GetChannelMembersRequest,
) -> Res<GetChannelMembersResponse> {
    check_paging(cx, req.page, req.per_page)?;
    let all: Vec<ChannelMember> = cx
        .store
        .channels
        .members
        .values()
        .filter(|m| m.channel_id == req.channel_id)
        .cloned()
        .collect();
    Ok(GetChannelMembersResponse {
        channel_members: paginate(&all, req.page, req.per_page),
        ..Default::default()
    })
}

/// `GetChannelMembersByIds`: the memberships of the given users in a channel (users who
/// are not members are left out), ordered by user id.
pub fn get_channel_members_by_ids(
    cx: &mut Cx<'_>,
    req: GetChannelMembersByIdsRequest,
) -> Res<GetChannelMembersByIdsResponse> {
    let channel_members = cx
        .store
        .channels
        .members
        .values()
        .filter(|m| m.channel_id == req.channel_id && req.user_ids.contains(&m.user_id))
        .cloned()
        .collect();
    Ok(GetChannelMembersByIdsResponse {
        channel_members,
        ..Default::default()
    })
}

/// `GetChannelMembersForUser`: page through all of a user's channel memberships, ordered
/// by channel id. As upstream, the team id is ignored (it "was never used in the SQL
/// query").
pub fn get_channel_members_for_user(
    cx: &mut Cx<'_>,
    req: GetChannelMembersForUserRequest,
) -> Res<GetChannelMembersForUserResponse> {
    check_paging(cx, req.page, req.per_page)?;
    let all: Vec<ChannelMember> = cx
        .store
        .channels
        .members
        .values()
        .filter(|m| m.user_id == req.user_id)
        .cloned()
        .collect();
    Ok(GetChannelMembersForUserResponse {
        channel_members: paginate(&all, req.page, req.per_page),
        ..Default::default()
    })
}

/// `UpdateChannelMemberRoles`: replace a member's channel roles. `channel_user`,
/// `channel_admin` and `channel_guest` become scheme flags; other known roles are refused
/// as not channel-scheme roles, unknown roles as unknown.
pub fn update_channel_member_roles(
    cx: &mut Cx<'_>,
    req: UpdateChannelMemberRolesRequest,
) -> Res<UpdateChannelMemberRolesResponse> {
    let mut member = get_member(cx, &req.channel_id, &req.user_id)?;
    let (guest, user, admin) = scheme_roles(
        cx,
        &req.new_roles,
        "channel",
        "api.channel.update_channel_member_roles",
    )?;
    let roles: Vec<&str> = [
        (guest, "channel_guest"),
        (user, "channel_user"),
        (admin, "channel_admin"),
    ]
    .into_iter()
    .filter_map(|(on, r)| on.then_some(r))
    .collect();
    member.roles = roles.join(" ");
    member.scheme_guest = guest;
    member.scheme_user = user;
    member.scheme_admin = admin;
    member.last_update_at = cx.now;
    cx.store.channels.members.insert(
        (member.channel_id.clone(), member.user_id.clone()),
        member.clone(),
    );
    Ok(UpdateChannelMemberRolesResponse {
        channel_member: Some(member),
        ..Default::default()
    })
}

/// Mattermost's `ChannelMember.IsValid` rules for the notify props it knows.
fn validate_notify_props(
    cx: &Cx<'_>,
    props: &std::collections::HashMap<String, String>,
) -> Res<()> {
    let rules: &[(&str, &[&str], &str)] = &[
        (
            "mark_unread",
            &["all", "mention"],
            "model.channel_member.is_valid.unread_level.app_error",
        ),
        (
            "desktop",
            &["default", "all", "mention", "none"],
            "model.channel_member.is_valid.notify_level.app_error",
        ),
        (
            "push",
            &["default", "all", "mention", "none"],
            "model.channel_member.is_valid.push_level.app_error",
        ),
        (
            "email",
            &["default", "true", "false"],
            "model.channel_member.is_valid.email_value.app_error",
        ),
        (
            "ignore_channel_mentions",
            &["default", "off", "on"],
            "model.channel_member.is_valid.ignore_channel_mentions_value.app_error",
        ),
    ];
    for (key, allowed, id) in rules {
        if let Some(v) = props.get(*key)
            && !allowed.contains(&v.as_str())
        {
            return Err(cx.bad(id, format!("invalid {key} notify prop {v:?}")));
        }
    }
    Ok(())
}

/// `UpdateChannelMemberNotifications`: merge notify props into a membership (other
/// props are kept).
pub fn update_channel_member_notifications(
    cx: &mut Cx<'_>,
    req: UpdateChannelMemberNotificationsRequest,
) -> Res<UpdateChannelMemberNotificationsResponse> {
    let mut member = get_member(cx, &req.channel_id, &req.user_id)?;
    member.notify_props.extend(req.notifications);
    validate_notify_props(cx, &member.notify_props)?;
    member.last_update_at = cx.now;
    cx.store.channels.members.insert(
        (member.channel_id.clone(), member.user_id.clone()),
        member.clone(),
    );
    Ok(UpdateChannelMemberNotificationsResponse {
        channel_member: Some(member),
        ..Default::default()
    })
}

/// `PatchChannelMembersNotifications`: merge the same notify props into many memberships
/// at once (at most 200); all must exist, else nothing changes.
pub fn patch_channel_members_notifications(
    cx: &mut Cx<'_>,
    req: PatchChannelMembersNotificationsRequest,
) -> Res<PatchChannelMembersNotificationsResponse> {
    if req.members.len() > 200 {
        return Err(cx.bad(
            "app.channel.patch_channel_members_notify_props.too_many",
            "at most 200 memberships can be patched at once",
        ));
    }
    validate_notify_props(cx, &req.notify_props)?;
    let mut updated = Vec::new();
    for id in &req.members {
        let mut member = get_member(cx, &id.channel_id, &id.user_id)?;
        member.notify_props.extend(req.notify_props.clone());
        member.last_update_at = cx.now;
        updated.push(member);
    }
    for member in updated {
        cx.store
            .channels
            .members
            .insert((member.channel_id.clone(), member.user_id.clone()), member);
    }
    Ok(PatchChannelMembersNotificationsResponse::default())
}

/// `DeleteChannelMember`: the user leaves the channel (the membership is removed). Not
/// allowed for direct/group channels, for the last member of a private channel, or for
/// town-square (guests excepted), checked in upstream's order.
pub fn delete_channel_member(
    cx: &mut Cx<'_>,
    req: DeleteChannelMemberRequest,
) -> Res<DeleteChannelMemberResponse> {
    let channel = cx.channel(&req.channel_id)?;
    let user = cx.user(&req.user_id)?;
    if matches!(channel.r#type, DIRECT | GROUP) {
        return Err(cx.bad(
            "api.channel.leave.direct.app_error",
            "direct and group channels cannot be left",
        ));
    }
    if channel.r#type == PRIVATE
        && cx
            .store
            .channels
            .members
            .keys()
            .filter(|(c, _)| *c == channel.id)
            .count()
            == 1
    {
        return Err(cx.bad(
            "api.channel.leave.last_member.app_error",
            "the last member cannot leave a private channel",
        ));
    }
    if channel.name == "town-square" && !is_guest(&user) {
        return Err(cx.bad(
            "api.channel.remove.default.app_error",
            "users cannot leave the default channel",
        ));
    }
    let key = (channel.id.clone(), user.id.clone());
    if !cx.store.channels.members.contains_key(&key) {
        return Err(member_missing(cx, &channel.id, &user.id));
    }
    cx.store.channels.members.remove(&key);
    Ok(DeleteChannelMemberResponse::default())
}

// ---- sidebar categories ----

const SIDEBAR_DEFAULTS: &[(&str, &str)] = &[
    ("favorites", "Favorites"),
    ("channels", "Channels"),
    ("direct_messages", "Direct Messages"),
];

/// The (user, team) sidebar, created with the default categories on first use; the user
/// and the team must exist.
fn sidebar_key(cx: &mut Cx<'_>, user_id: &str, team_id: &str) -> Res<(String, String)> {
    let user = cx.user(user_id)?;
    let team = cx.team(team_id)?;
    let key = (user.id.clone(), team.id.clone());
    cx.store
        .channels
        .sidebar
        .entry(key.clone())
        .or_insert_with(|| {
            SIDEBAR_DEFAULTS
                .iter()
                .map(|(kind, display)| SidebarCategoryWithChannels {
                    id: format!("{kind}_{}_{}", user.id, team.id),
                    user_id: user.id.clone(),
                    team_id: team.id.clone(),
                    display_name: display.to_string(),
                    r#type: kind.to_string(),
                    ..Default::default()
                })
                .collect()
        });
    Ok(key)
}

/// The categories as the user sees them: the `channels` and `direct_messages` categories
/// also hold the user's unarchived channels of the team (resp. direct/group channels)
/// that no category lists, sorted by display name.
fn sidebar_view(cx: &Cx<'_>, key: &(String, String)) -> Vec<SidebarCategoryWithChannels> {
    let store = &*cx.store;
    let mut categories = store.channels.sidebar.get(key).cloned().unwrap_or_default();
    let listed: std::collections::BTreeSet<String> = categories
        .iter()
        .flat_map(|c| c.channel_ids.iter().cloned())
        .collect();
    let mut unlisted: Vec<Channel> = store
        .channels
        .members
        .keys()
        .filter(|(channel_id, user_id)| *user_id == key.0 && !listed.contains(channel_id))
        .filter_map(|(channel_id, _)| store.channels.channels.get(channel_id))
        .filter(|c| c.delete_at == 0 && (c.team_id == key.1 || c.team_id.is_empty()))
        .cloned()
        .collect();
    sort_channels(&mut unlisted);
    for category in &mut categories {
        let direct = match category.r#type.as_str() {
            "channels" => false,
            "direct_messages" => true,
            _ => continue,
        };
        category.channel_ids.extend(
            unlisted
                .iter()
                .filter(|c| matches!(c.r#type, DIRECT | GROUP) == direct)
                .map(|c| c.id.clone()),
        );
    }
    categories
}

/// Removes `channel_ids` from every category of the sidebar except `except`.
fn take_channels(
    categories: &mut [SidebarCategoryWithChannels],
    channel_ids: &[String],
    except: &str,
) {
    for category in categories.iter_mut().filter(|c| c.id != except) {
        category.channel_ids.retain(|id| !channel_ids.contains(id));
    }
}

fn dedup_ids(ids: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::BTreeSet::new();
    ids.into_iter()
        .filter(|id| seen.insert(id.clone()))
        .collect()
}

/// `CreateChannelSidebarCategory`: create a custom category at the top of the user's
/// sidebar; channels it lists leave their previous category.
pub fn create_channel_sidebar_category(
    cx: &mut Cx<'_>,
    req: CreateChannelSidebarCategoryRequest,
) -> Res<CreateChannelSidebarCategoryResponse> {
    let Some(new) = req.new_category else {
        return Err(cx.required("new_category"));
    };
    if new.display_name.trim().is_empty() {
        return Err(cx.bad(
            "model.sidebar_category.is_valid.display_name.app_error",
            "a category needs a display name",
        ));
    }
    let key = sidebar_key(cx, &req.user_id, &req.team_id)?;
    let category = SidebarCategoryWithChannels {
        id: new_id(),
        user_id: key.0.clone(),
        team_id: key.1.clone(),
        display_name: new.display_name.trim().to_string(),
        r#type: "custom".to_string(),
        sorting: new.sorting,
        muted: new.muted,
        collapsed: new.collapsed,
        channel_ids: dedup_ids(new.channel_ids),
    };
    let categories = cx.store.channels.sidebar.entry(key).or_default();
    take_channels(categories, &category.channel_ids, &category.id);
    categories.insert(0, category.clone());
    Ok(CreateChannelSidebarCategoryResponse {
        category: Some(category),
        ..Default::default()
    })
}

/// `GetChannelSidebarCategories`: the user's ordered sidebar categories in a team.
pub fn get_channel_sidebar_categories(
    cx: &mut Cx<'_>,
    req: GetChannelSidebarCategoriesRequest,
) -> Res<GetChannelSidebarCategoriesResponse> {
    let key = sidebar_key(cx, &req.user_id, &req.team_id)?;
    let categories = sidebar_view(cx, &key);
    let order = categories.iter().map(|c| c.id.clone()).collect();
    Ok(GetChannelSidebarCategoriesResponse {
        categories: Some(OrderedSidebarCategories { categories, order }),
        ..Default::default()
    })
}

/// `UpdateChannelSidebarCategories`: update existing categories (display name of custom
/// ones, sorting, muted, collapsed, channels); channels a category now lists leave
/// their previous category. Unknown category ids are 404 and change nothing.
pub fn update_channel_sidebar_categories(
    cx: &mut Cx<'_>,
    req: UpdateChannelSidebarCategoriesRequest,
) -> Res<UpdateChannelSidebarCategoriesResponse> {
    let key = sidebar_key(cx, &req.user_id, &req.team_id)?;
    let current = cx
        .store
        .channels
        .sidebar
        .get(&key)
        .cloned()
        .unwrap_or_default();
    for update in &req.categories {
        if !current.iter().any(|c| c.id == update.id) {
            return Err(cx.err(
                404,
                "app.channel.sidebar_categories.app_error",
                format!("sidebar category {:?} not found", update.id),
            ));
        }
        if update.r#type == "custom" && update.display_name.trim().is_empty() {
            return Err(cx.bad(
                "model.sidebar_category.is_valid.display_name.app_error",
                "a category needs a display name",
            ));
        }
    }
    let categories = cx.store.channels.sidebar.entry(key.clone()).or_default();
    for update in &req.categories {
        let channel_ids = dedup_ids(update.channel_ids.clone());
        take_channels(categories, &channel_ids, &update.id);
        if let Some(c) = categories.iter_mut().find(|c| c.id == update.id) {
            if c.r#type == "custom" {
                c.display_name = update.display_name.trim().to_string();
            }
            c.sorting = update.sorting;
            c.muted = update.muted;
            c.collapsed = update.collapsed;
            c.channel_ids = channel_ids;
        }
    }
    let view = sidebar_view(cx, &key);
    let categories = req
        .categories
        .iter()
        .filter_map(|u| view.iter().find(|c| c.id == u.id).cloned())
        .collect();
    Ok(UpdateChannelSidebarCategoriesResponse {
        categories,
        ..Default::default()
    })
}
