//! Channel rpcs of the reference PluginAPI server.
//!
//! Semantics follow Mattermost's app layer and store (SPEC §24.3):
//! * `CreateChannel` saves the channel as upstream's store does (`PreSave` keeps a given
//!   `create_at`; the team is not looked up; nobody becomes a member, not even the creator).
//! * `DeleteChannel` archives (soft delete: `delete_at` set) any channel but town-square,
//!   direct and group channels too, after an "archived" post by the system bot. An archived
//!   channel stays readable by id and is left out of most listings.
//! * `UpdateChannel` saves the channel exactly as sent (no merge with the stored row): a
//!   missing `create_at` is invalid, an unknown id updates nothing and succeeds, an archived
//!   channel sent with `delete_at` 0 is un-archived.
//! * `DeleteChannelMember` removes the membership row (hard delete, as upstream).
//! * Direct channels are named `<id1>__<id2>` (ids sorted) and group channels by the SHA-1
//!   of their sorted member ids, as upstream; both are get-or-create.
//! * New members get roles `channel_user` (`channel_guest` for guests) and Mattermost's
//!   default channel notify props; adding, joining and leaving write upstream's system posts
//!   (`system_join_channel`, `system_add_to_channel`, `system_leave_channel`...).
//! * Sidebar categories are kept per (user, team) for active members of live teams; the
//!   defaults (favorites, channels, direct_messages) are created on first use, and the
//!   channels/direct_messages categories implicitly hold, first, the user's channels that
//!   no category lists.

use std::collections::BTreeMap;

use super::posts::insert_system_post;
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

/// The notify props `UpdateChannelMemberNotifyProps` takes from a request; others are
/// dropped.
const NOTIFY_KEYS: &[&str] = &[
    "mark_unread",
    "desktop",
    "desktop_sound",
    "desktop_notification_sound",
    "desktop_threads",
    "email",
    "push",
    "push_threads",
    "ignore_channel_mentions",
    "channel_auto_follow_threads",
];

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

fn new_member(channel_id: &str, user: &User, admin: bool, now: i64) -> ChannelMember {
    let guest = is_guest(user);
    let mut roles = if guest {
        "channel_guest"
    } else {
        "channel_user"
    }
    .to_string();
    if admin {
        roles.push_str(" channel_admin");
    }
    ChannelMember {
        channel_id: channel_id.to_string(),
        user_id: user.id.clone(),
        roles,
        notify_props: default_notify_props(),
        last_update_at: now,
        scheme_guest: guest,
        scheme_user: !guest,
        scheme_admin: admin,
        ..Default::default()
    }
}

/// `ServiceSettings.ExperimentalEnableDefaultChannelLeaveJoinMessages` (default true):
/// whether joining a team's default channels and leaving a team write system posts.
pub(crate) fn leave_join_messages(cx: &mut Cx<'_>) -> bool {
    cx.store
        .config
        .setting("ServiceSettings.ExperimentalEnableDefaultChannelLeaveJoinMessages")
        != serde_json::Value::Bool(false)
}

/// A page as upstream's stores answer one (`LIMIT per_page OFFSET page*per_page`, no
/// default page size): `per_page` 0 (or a negative value) is an empty page.
pub(crate) fn store_page<T: Clone>(items: &[T], page: i32, per_page: i32) -> Vec<T> {
    if page < 0 || per_page <= 0 {
        return Vec::new();
    }
    let per_page = per_page as usize;
    items
        .iter()
        .skip((page as usize).saturating_mul(per_page))
        .take(per_page)
        .cloned()
        .collect()
}

/// Creates a team's default channels (called by `CreateTeam`): open, no creator, no
/// members.
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

/// `JoinDefaultChannels` (called when a non-guest joins a team): the user becomes a member
/// of the team's open default channels (`team_admin`s as `channel_admin`s too) and, unless
/// `ExperimentalEnableDefaultChannelLeaveJoinMessages` is off, a "joined the team" post goes
/// to town-square and a "joined the channel" post to the others.
pub(crate) fn join_default_channels(cx: &mut Cx<'_>, team_id: &str, user: &User, admin: bool) {
    let posts = leave_join_messages(cx);
    for (name, _) in DEFAULT_CHANNELS {
        let Some(id) = cx
            .store
            .channels
            .channels
            .values()
            .find(|c| c.team_id == team_id && c.name == *name && c.r#type == OPEN)
            .map(|c| c.id.clone())
        else {
            continue;
        };
        let key = (id.clone(), user.id.clone());
        if cx.store.channels.members.contains_key(&key) {
            continue;
        }
        let member = new_member(&id, user, admin, cx.now);
        cx.store.channels.members.insert(key, member);
        if posts {
            let username = user.username.as_str();
            let (kind, message) = if *name == "town-square" {
                ("system_join_team", format!("{username} joined the team."))
            } else {
                (
                    "system_join_channel",
                    format!("{username} joined the channel."),
                )
            };
            insert_system_post(cx, &id, &user.id, kind, &message, &[("username", username)]);
        }
    }
}

/// `ClearSidebarOnTeamLeave`: the user's sidebar categories of the team are deleted.
pub(crate) fn clear_sidebar(cx: &mut Cx<'_>, user_id: &str, team_id: &str) {
    cx.store
        .channels
        .sidebar
        .remove(&(user_id.to_string(), team_id.to_string()));
}

fn member_missing(cx: &Cx<'_>, channel_id: &str, user_id: &str) -> AppError {
    cx.err(
        404,
        "app.channel.get_member.missing.app_error",
        format!("user {user_id:?} is not a member of channel {channel_id:?}"),
    )
}

/// Whether `name` has the shape of a direct channel name (`<id>__<id>`) or of a group
/// channel name (40 lower-case hex digits), which open and private channels may not use.
fn dm_or_gm_like(name: &str) -> bool {
    let gm = name.len() == 40 && name.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    let dm = name
        .split_once("__")
        .is_some_and(|(a, b)| is_valid_id(a) && is_valid_id(b));
    gm || dm
}

/// `Channel.IsValid`, in upstream's order, for a channel about to be saved (`PreSave` or
/// `PreUpdate` done). An empty display name is valid.
fn validate_channel(cx: &Cx<'_>, channel: &Channel) -> Res<()> {
    if !is_valid_id(&channel.id) {
        return Err(cx.bad("model.channel.is_valid.id.app_error", "invalid channel id"));
    }
    if channel.create_at == 0 {
        return Err(cx.bad(
            "model.channel.is_valid.create_at.app_error",
            "create_at must be set",
        ));
    }
    if channel.update_at == 0 {
        return Err(cx.bad(
            "model.channel.is_valid.update_at.app_error",
            "update_at must be set",
        ));
    }
    if channel.display_name.chars().count() > 64 {
        return Err(cx.bad(
            "model.channel.is_valid.display_name.app_error",
            "display_name is longer than 64 characters",
        ));
    }
    if !valid_channel_name(&channel.name) {
        return Err(cx.bad(
            "model.channel.is_valid.1_or_more.app_error",
            format!("invalid channel name {:?}", channel.name),
        ));
    }
    if !matches!(channel.r#type, OPEN | PRIVATE | DIRECT | GROUP) {
        return Err(cx.bad(
            "model.channel.is_valid.type.app_error",
            "type must be open, private, direct or group",
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
    if channel.creator_id.len() > 26 {
        return Err(cx.bad(
            "model.channel.is_valid.creator_id.app_error",
            "invalid creator_id",
        ));
    }
    if matches!(channel.r#type, OPEN | PRIVATE) && dm_or_gm_like(&channel.name) {
        return Err(cx.bad(
            "model.channel.is_valid.name.app_error",
            format!("{:?} is a direct or group channel name", channel.name),
        ));
    }
    if let Some(banner) = channel
        .banner_info
        .as_ref()
        .filter(|b| b.enabled == Some(true))
    {
        if !matches!(channel.r#type, OPEN | PRIVATE) {
            return Err(cx.bad(
                "model.channel.is_valid.banner_info.channel_type.app_error",
                "only open and private channels have a banner",
            ));
        }
        match banner.text.as_deref() {
            None | Some("") => {
                return Err(cx.bad(
                    "model.channel.is_valid.banner_info.text.empty.app_error",
                    "an enabled banner needs a text",
                ));
            }
            Some(text) if text.len() > 1024 => {
                return Err(cx.bad(
                    "model.channel.is_valid.banner_info.text.invalid_length.app_error",
                    "the banner text is longer than 1024 bytes",
                ));
            }
            Some(_) => {}
        }
        let color = banner.background_color.as_deref().unwrap_or_default();
        if color.is_empty() {
            return Err(cx.bad(
                "model.channel.is_valid.banner_info.background_color.empty.app_error",
                "an enabled banner needs a background colour",
            ));
        }
        let hex = color.strip_prefix('#').unwrap_or_default();
        if !matches!(hex.len(), 3 | 6) || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(cx.bad(
                "model.channel.is_valid.banner_info.background_color.invalid.app_error",
                format!("{color:?} is not a #RGB or #RRGGBB colour"),
            ));
        }
    }
    if channel.group_constrained == Some(true) && !matches!(channel.r#type, OPEN | PRIVATE) {
        return Err(cx.bad(
            "model.channel.is_valid.group_constrained.app_error",
            "only open and private channels can be group constrained",
        ));
    }
    Ok(())
}

/// The channel as upstream's store keeps it: every `Channels` column, so not the props
/// and the policy id (no column), nor the policy flags (computed on reads from the access
/// control policies, of which a server without an Enterprise licence has none); a banner
/// with no field set is stored as NULL.
fn as_stored(channel: &Channel) -> Channel {
    Channel {
        props: None,
        policy_id: None,
        policy_enforced: false,
        policy_is_active: false,
        banner_info: channel
            .banner_info
            .clone()
            .filter(|b| b.enabled.is_some() || b.text.is_some() || b.background_color.is_some()),
        ..channel.clone()
    }
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

/// `CreateChannel`: save a new channel as upstream's `CreateChannel(addMember=false)` and
/// store `Save` do: archived, direct (and, in the reference server, group) channels and
/// given ids are refused first; `PreSave` keeps a given `create_at`; then `IsValid`, the
/// `TeamSettings.MaxChannelsPerTeam` limit and the (team, name) uniqueness, archived
/// channels included. The team is not looked up and nobody becomes a member.
pub fn create_channel(cx: &mut Cx<'_>, req: CreateChannelRequest) -> Res<CreateChannelResponse> {
    // Upstream passes a missing channel on as nil and dereferences it (departure: a guard).
    let Some(mut channel) = req.channel else {
        return Err(cx.required("channel"));
    };
    channel.display_name = channel.display_name.trim().to_string();
    channel.default_category_name = channel.default_category_name.trim().to_string();
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
    if !channel.id.is_empty() {
        return Err(cx.bad(
            "store.sql_channel.save_channel.existing.app_error",
            "a new channel must not have an id",
        ));
    }
    channel.id = new_id();
    if channel.create_at == 0 {
        channel.create_at = cx.now;
    }
    channel.update_at = channel.create_at;
    channel.extra_update_at = 0;
    validate_channel(cx, &channel)?;
    let max = cx
        .store
        .config
        .setting("TeamSettings.MaxChannelsPerTeam")
        .as_i64()
        .unwrap_or(2000);
    let in_team = cx
        .store
        .channels
        .channels
        .values()
        .filter(|c| {
            c.team_id == channel.team_id && c.delete_at == 0 && matches!(c.r#type, OPEN | PRIVATE)
        })
        .count() as i64;
    if in_team >= max {
        return Err(cx.bad(
            "store.sql_channel.save_channel.limit.app_error",
            format!("the team has reached its limit of {max} channels"),
        ));
    }
    if cx
        .store
        .channels
        .channels
        .values()
        .any(|c| c.team_id == channel.team_id && c.name == channel.name)
    {
        return Err(cx.bad(
            "store.sql_channel.save_channel.exists.app_error",
            format!(
                "a channel named {:?} already exists on the same team",
                channel.name
            ),
        ));
    }
    // The saved channel is answered (the request's object, props and policy fields
    // included); the store keeps its columns only.
    cx.store
        .channels
        .channels
        .insert(channel.id.clone(), as_stored(&channel));
    Ok(CreateChannelResponse {
        channel: Some(channel),
        ..Default::default()
    })
}

/// `DeleteChannel`: archive a channel (soft delete). Refused when already archived and for
/// town-square; direct and group channels are archived too (the type check is REST-only
/// upstream). The system bot posts that the channel was archived, before the archive.
pub fn delete_channel(cx: &mut Cx<'_>, req: DeleteChannelRequest) -> Res<DeleteChannelResponse> {
    let channel = cx.channel(&req.channel_id)?;
    if channel.delete_at > 0 {
        return Err(cx.bad(
            "api.channel.delete_channel.deleted.app_error",
            "the channel is already archived",
        ));
    }
    if channel.name == "town-square" {
        return Err(cx.bad(
            "api.channel.delete_channel.cannot.app_error",
            "the default channel town-square cannot be archived",
        ));
    }
    let bot = super::bots::system_bot_user_id(cx);
    insert_system_post(
        cx,
        &channel.id,
        &bot,
        "system_channel_deleted",
        "system-bot archived the channel.",
        &[("username", "system-bot")],
    );
    if let Some(c) = cx.store.channels.channels.get_mut(&channel.id) {
        c.delete_at = cx.now;
        c.update_at = cx.now;
    }
    Ok(DeleteChannelResponse::default())
}

/// `GetPublicChannelsForTeam`: a page of a team's open, unarchived channels, sorted by
/// display name.
pub fn get_public_channels_for_team(
    cx: &mut Cx<'_>,
    req: GetPublicChannelsForTeamRequest,
) -> Res<GetPublicChannelsForTeamResponse> {
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
        channels: store_page(&all, req.page, req.per_page),
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

/// `GetChannelStats`: as upstream's plugin API, only the member count is computed (members
/// whose user is not deactivated) and it is also answered as the guest count; pinned posts
/// and files are never counted (0). An unknown channel has zero counts.
pub fn get_channel_stats(
    cx: &mut Cx<'_>,
    req: GetChannelStatsRequest,
) -> Res<GetChannelStatsResponse> {
    let store = &*cx.store;
    let member_count = store
        .channels
        .members
        .keys()
        .filter(|(channel_id, user_id)| {
            *channel_id == req.channel_id
                && store
                    .users
                    .users
                    .get(user_id)
                    .is_some_and(|u| u.delete_at == 0)
        })
        .count() as i64;
    Ok(GetChannelStatsResponse {
        channel_stats: Some(ChannelStats {
            channel_id: req.channel_id,
            member_count,
            guest_count: member_count,
            ..Default::default()
        }),
        ..Default::default()
    })
}

/// `GetDirectChannel`: get or create the DM channel between two users (a user may DM
/// themself).
pub fn get_direct_channel(
    cx: &mut Cx<'_>,
    req: GetDirectChannelRequest,
) -> Res<GetDirectChannelResponse> {
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
    // Upstream's store `CreateDirectChannel`: the first user is the creator, and the
    // channel is shared only when one of the users is remote (never here).
    let channel = Channel {
        id: new_id(),
        create_at: cx.now,
        update_at: cx.now,
        r#type: DIRECT,
        name,
        creator_id: req.user_id_1.clone(),
        shared: Some(false),
        ..Default::default()
    };
    cx.store
        .channels
        .channels
        .insert(channel.id.clone(), channel.clone());
    for user in &users {
        let member = new_member(&channel.id, user, false, cx.now);
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

/// `GetGroupChannel`: get or create the group-message channel of 3 to 8 users. As
/// upstream, the size is that of the list as given (duplicates counted), and every id must
/// be a distinct existing user (`bad_user` otherwise).
pub fn get_group_channel(
    cx: &mut Cx<'_>,
    req: GetGroupChannelRequest,
) -> Res<GetGroupChannelResponse> {
    if !(3..=8).contains(&req.user_ids.len()) {
        return Err(cx.bad(
            "api.channel.create_group.bad_size.app_error",
            format!(
                "a group channel needs 3 to 8 users, got {}",
                req.user_ids.len()
            ),
        ));
    }
    let mut ids = req.user_ids.clone();
    ids.sort();
    ids.dedup();
    let users: Vec<User> = ids
        .iter()
        .filter_map(|id| cx.store.users.users.get(id).cloned())
        .collect();
    if users.len() != req.user_ids.len() {
        return Err(cx.bad(
            "api.channel.create_group.bad_user.app_error",
            "every user of a group channel must exist, once",
        ));
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
        // Upstream's `createGroupChannel`: shared only when a member is remote.
        shared: Some(false),
        ..Default::default()
    };
    cx.store
        .channels
        .channels
        .insert(channel.id.clone(), channel.clone());
    for user in &users {
        let member = new_member(&channel.id, user, false, cx.now);
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

/// `UpdateChannel`: as upstream's store `Update`, the channel is saved AS SENT, with no
/// read of the stored row: `PreUpdate` sets `update_at`, a non-zero `delete_at` is refused,
/// `IsValid` checks the request (a missing `create_at` is invalid), a (team, name) clash is
/// refused. Every column is written from the request (times, team, type, names, counters,
/// creator...), so an archived channel sent with `delete_at` 0 is un-archived; an unknown
/// id updates nothing and succeeds. The request is answered back.
pub fn update_channel(cx: &mut Cx<'_>, req: UpdateChannelRequest) -> Res<UpdateChannelResponse> {
    // Upstream dereferences a missing channel (departure: a guard).
    let Some(mut channel) = req.channel else {
        return Err(cx.required("channel"));
    };
    let stored = cx.store.channels.channels.get(&channel.id).cloned();
    // Upstream takes the time of the call; the reference server keeps update_at growing.
    channel.update_at = cx.now.max(stored.as_ref().map_or(0, |c| c.update_at + 1));
    if channel.delete_at != 0 {
        return Err(cx.bad(
            "app.channel.update.bad_id",
            "an archived channel cannot be updated",
        ));
    }
    validate_channel(cx, &channel)?;
    if cx
        .store
        .channels
        .channels
        .values()
        .any(|c| c.id != channel.id && c.team_id == channel.team_id && c.name == channel.name)
    {
        return Err(cx.bad(
            "store.sql_channel.save_channel.exists.app_error",
            format!(
                "a channel named {:?} already exists on the same team",
                channel.name
            ),
        ));
    }
    if stored.is_some() {
        cx.store
            .channels
            .channels
            .insert(channel.id.clone(), as_stored(&channel));
    }
    Ok(UpdateChannelResponse {
        channel: Some(channel),
        ..Default::default()
    })
}

/// `SearchChannels`: open channels of a team, archived ones included (upstream searches
/// with `includeDeleted`), whose name, display name or purpose contains the trimmed term
/// (case-insensitive), sorted by display name; at most 100.
pub fn search_channels(cx: &mut Cx<'_>, req: SearchChannelsRequest) -> Res<SearchChannelsResponse> {
    let term = req.term.trim().to_lowercase();
    let mut channels: Vec<Channel> = cx
        .store
        .channels
        .channels
        .values()
        .filter(|c| c.team_id == req.team_id && c.r#type == OPEN)
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

/// Upstream's `AddChannelMember` (plugin API): the channel must exist; an existing
/// membership is returned as is; the user must exist and be active, the requestor (if any)
/// exist, the user be an active member of the channel's team (direct/group channels have no
/// team: 404), and the channel be open or private. Archived channels are not refused. The
/// new member's join is posted: "joined the channel" by the user, or "added to the channel
/// by" by the requestor when it is someone else.
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
    if user.delete_at > 0 {
        return Err(cx.forbidden(
            "app.channel.add_member.deleted_user.app_error",
            format!("user {:?} is deactivated", user.id),
        ));
    }
    let requestor = if requestor.is_empty() {
        None
    } else {
        Some(cx.user(requestor)?)
    };
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
    if !matches!(channel.r#type, OPEN | PRIVATE) {
        return Err(cx.bad(
            "api.channel.add_user_to_channel.type.app_error",
            "users can only be added to open and private channels",
        ));
    }
    let member = new_member(&channel.id, &user, false, cx.now);
    cx.store.channels.members.insert(key, member.clone());
    let username = user.username.as_str();
    match requestor.filter(|r| r.id != user.id) {
        None => {
            let (kind, message) = if is_guest(&user) {
                (
                    "system_guest_join_channel",
                    format!("{username} joined the channel as a guest."),
                )
            } else {
                (
                    "system_join_channel",
                    format!("{username} joined the channel."),
                )
            };
            insert_system_post(
                cx,
                &channel.id,
                &user.id,
                kind,
                &message,
                &[("username", username)],
            );
        }
        Some(by) => {
            insert_system_post(
                cx,
                &channel.id,
                &by.id,
                "system_add_to_channel",
                &format!("{username} added to the channel by {}.", by.username),
                &[
                    ("userId", by.id.as_str()),
                    ("username", by.username.as_str()),
                    ("addedUserId", user.id.as_str()),
                    ("addedUsername", username),
                ],
            );
        }
    }
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

/// `GetChannelMembers`: a page of a channel's memberships, ordered by user id.
pub fn get_channel_members(
    cx: &mut Cx<'_>,
    req: GetChannelMembersRequest,
) -> Res<GetChannelMembersResponse> {
    let all: Vec<ChannelMember> = cx
        .store
        .channels
        .members
        .values()
        .filter(|m| m.channel_id == req.channel_id)
        .cloned()
        .collect();
    Ok(GetChannelMembersResponse {
        channel_members: store_page(&all, req.page, req.per_page),
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

/// `GetChannelMembersForUser`: a page of all of a user's channel memberships, ordered by
/// channel id. As upstream, the team id is ignored (it "was never used in the SQL query").
pub fn get_channel_members_for_user(
    cx: &mut Cx<'_>,
    req: GetChannelMembersForUserRequest,
) -> Res<GetChannelMembersForUserResponse> {
    let all: Vec<ChannelMember> = cx
        .store
        .channels
        .members
        .values()
        .filter(|m| m.user_id == req.user_id)
        .cloned()
        .collect();
    Ok(GetChannelMembersForUserResponse {
        channel_members: store_page(&all, req.page, req.per_page),
        ..Default::default()
    })
}

/// `UpdateChannelMemberRoles`: replace a member's channel roles. The membership is looked
/// up first, then the channel's scheme roles (through its team: a direct/group channel has
/// none, 404). `channel_user`, `channel_admin` and `channel_guest` become scheme flags;
/// other built-in roles are refused as not channel-scheme roles, unknown roles as unknown;
/// guest with user, a change of the guest flag, and neither user nor guest (so
/// `channel_admin` alone) are refused.
pub fn update_channel_member_roles(
    cx: &mut Cx<'_>,
    req: UpdateChannelMemberRolesRequest,
) -> Res<UpdateChannelMemberRolesResponse> {
    let mut member = get_member(cx, &req.channel_id, &req.user_id)?;
    let channel = cx.channel(&req.channel_id)?;
    cx.team(&channel.team_id)?;
    let (guest, user, admin) = scheme_roles(
        cx,
        &req.new_roles,
        "channel",
        "api.channel.update_channel_member_roles.scheme_role.app_error",
        "api.channel.update_channel_member_roles.guest_and_user.app_error",
    )?;
    if guest != member.scheme_guest {
        return Err(cx.bad(
            "api.channel.update_channel_member_roles.changing_guest_role.app_error",
            "the guest role of a member cannot be changed",
        ));
    }
    if !user && !guest {
        return Err(cx.bad(
            "api.channel.update_channel_member_roles.unset_user_scheme.app_error",
            "a member must keep channel_user (or channel_guest)",
        ));
    }
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

/// `UpdateChannelMemberNotifications`: merge notify props into a membership. Only the keys
/// upstream's `UpdateChannelMemberNotifyProps` knows are taken (others are dropped), and
/// their values are stored as given, unvalidated (upstream's store merges the JSON).
pub fn update_channel_member_notifications(
    cx: &mut Cx<'_>,
    req: UpdateChannelMemberNotificationsRequest,
) -> Res<UpdateChannelMemberNotificationsResponse> {
    let mut member = get_member(cx, &req.channel_id, &req.user_id)?;
    member.notify_props.extend(
        req.notifications
            .into_iter()
            .filter(|(k, _)| NOTIFY_KEYS.contains(&k.as_str())),
    );
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
/// at once (at most 200), values unvalidated. (Reference choice, upstream's store not read:
/// every membership must exist, else 404 and nothing changes.)
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

/// `DeleteChannelMember` (upstream's `LeaveChannel`): the user leaves the channel (the
/// membership is removed) and a "left the channel" post is written. Refused, in upstream's
/// order, for direct/group channels, for town-square (guests excepted) and for non-members.
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
    if channel.name != "town-square" || leave_join_messages(cx) {
        let username = user.username.as_str();
        insert_system_post(
            cx,
            &channel.id,
            &user.id,
            "system_leave_channel",
            &format!("{username} left the channel."),
            &[("username", username)],
        );
    }
    Ok(DeleteChannelMemberResponse::default())
}

// ---- sidebar categories ----

/// The default categories: (type, display name, sorting: 0 default, 2 recent).
const SIDEBAR_DEFAULTS: &[(&str, &str, i32)] = &[
    ("favorites", "Favorites", 0),
    ("channels", "Channels", 0),
    ("direct_messages", "Direct Messages", 2),
];

/// The (user, team) sidebar of an active member of a live team, created with the default
/// categories on first use (upstream creates them when the user joins the team); `None`
/// for anyone else.
fn sidebar_key(cx: &mut Cx<'_>, user_id: &str, team_id: &str) -> Option<(String, String)> {
    let member = cx
        .store
        .teams
        .members
        .get(&(team_id.to_string(), user_id.to_string()))
        .is_some_and(|m| m.delete_at == 0);
    let live = cx
        .store
        .teams
        .teams
        .get(team_id)
        .is_some_and(|t| t.delete_at == 0);
    if !member || !live {
        return None;
    }
    let key = (user_id.to_string(), team_id.to_string());
    cx.store
        .channels
        .sidebar
        .entry(key.clone())
        .or_insert_with(|| {
            SIDEBAR_DEFAULTS
                .iter()
                .map(|(kind, display, sorting)| SidebarCategoryWithChannels {
                    id: format!("{kind}_{user_id}_{team_id}"),
                    user_id: user_id.to_string(),
                    team_id: team_id.to_string(),
                    display_name: display.to_string(),
                    r#type: kind.to_string(),
                    sorting: *sorting,
                    ..Default::default()
                })
                .collect()
        });
    Some(key)
}

/// The categories as the user sees them: the `channels` and `direct_messages` categories
/// also hold, BEFORE their own, the user's unarchived channels of the team (resp.
/// direct/group channels) that no category lists, sorted by display name.
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
        let mut ids: Vec<String> = unlisted
            .iter()
            .filter(|c| matches!(c.r#type, DIRECT | GROUP) == direct)
            .map(|c| c.id.clone())
            .collect();
        ids.append(&mut category.channel_ids);
        category.channel_ids = ids;
    }
    categories
}

fn dedup_ids(ids: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::BTreeSet::new();
    ids.into_iter()
        .filter(|id| seen.insert(id.clone()))
        .collect()
}

fn categories_error(cx: &Cx<'_>, status: i32, what: String) -> AppError {
    cx.err(status, "app.channel.sidebar_categories.app_error", what)
}

/// `CreateChannelSidebarCategory`: a custom category, placed right after favorites (first
/// when favorites is not first). Its display name, sorting and muted flag are stored as
/// given (`collapsed` is not); the channels it lists leave their previous category. A user
/// without categories in the team (not an active member) is 404.
pub fn create_channel_sidebar_category(
    cx: &mut Cx<'_>,
    req: CreateChannelSidebarCategoryRequest,
) -> Res<CreateChannelSidebarCategoryResponse> {
    // Upstream dereferences a missing category (departure: a guard).
    let Some(new) = req.new_category else {
        return Err(cx.required("new_category"));
    };
    let Some(key) = sidebar_key(cx, &req.user_id, &req.team_id) else {
        return Err(categories_error(
            cx,
            404,
            format!(
                "user {:?} has no sidebar categories in team {:?}",
                req.user_id, req.team_id
            ),
        ));
    };
    let category = SidebarCategoryWithChannels {
        id: new_id(),
        user_id: key.0.clone(),
        team_id: key.1.clone(),
        display_name: new.display_name,
        r#type: "custom".to_string(),
        sorting: new.sorting,
        muted: new.muted,
        collapsed: false,
        channel_ids: dedup_ids(new.channel_ids),
    };
    let categories = cx.store.channels.sidebar.entry(key).or_default();
    for other in categories.iter_mut() {
        other
            .channel_ids
            .retain(|id| !category.channel_ids.contains(id));
    }
    let at = usize::from(categories.first().is_some_and(|c| c.r#type == "favorites"));
    categories.insert(at, category.clone());
    Ok(CreateChannelSidebarCategoryResponse {
        category: Some(category),
        ..Default::default()
    })
}

/// `GetChannelSidebarCategories`: the user's ordered sidebar categories in a team (none
/// when the user is not an active member of the live team).
pub fn get_channel_sidebar_categories(
    cx: &mut Cx<'_>,
    req: GetChannelSidebarCategoriesRequest,
) -> Res<GetChannelSidebarCategoriesResponse> {
    let categories = match sidebar_key(cx, &req.user_id, &req.team_id) {
        Some(key) => sidebar_view(cx, &key),
        None => Vec::new(),
    };
    let order = categories.iter().map(|c| c.id.clone()).collect();
    Ok(GetChannelSidebarCategoriesResponse {
        categories: Some(OrderedSidebarCategories { categories, order }),
        ..Default::default()
    })
}

/// `UpdateChannelSidebarCategories`: update existing categories of the user in the team.
/// The type, owner and position are the stored ones; the display name changes for custom
/// categories only; sorting and collapsed come from the request, muted too except for the
/// direct_messages category; the given channels replace the category's own (a
/// direct_messages category stores none), and are NOT taken out of categories the request
/// does not name. An unknown category id is a store error: 500, nothing changed.
pub fn update_channel_sidebar_categories(
    cx: &mut Cx<'_>,
    req: UpdateChannelSidebarCategoriesRequest,
) -> Res<UpdateChannelSidebarCategoriesResponse> {
    let key = sidebar_key(cx, &req.user_id, &req.team_id);
    let current = key
        .as_ref()
        .and_then(|k| cx.store.channels.sidebar.get(k).cloned())
        .unwrap_or_default();
    for update in &req.categories {
        if !current.iter().any(|c| c.id == update.id) {
            return Err(categories_error(
                cx,
                500,
                format!("sidebar category {:?} not found", update.id),
            ));
        }
    }
    let Some(key) = key else {
        return Ok(UpdateChannelSidebarCategoriesResponse::default());
    };
    let categories = cx.store.channels.sidebar.entry(key.clone()).or_default();
    for update in &req.categories {
        if let Some(c) = categories.iter_mut().find(|c| c.id == update.id) {
            if c.r#type == "custom" {
                c.display_name = update.display_name.clone();
            }
            c.sorting = update.sorting;
            c.collapsed = update.collapsed;
            if c.r#type != "direct_messages" {
                c.muted = update.muted;
                c.channel_ids = dedup_ids(update.channel_ids.clone());
            }
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
