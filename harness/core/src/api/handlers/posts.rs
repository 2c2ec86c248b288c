//! Post rpcs of the reference PluginAPI server: posts with threads (root + replies),
//! soft deletes, edits with their history copies, reactions, ephemeral posts, system posts
//! written for other domains (`insert_system_post`), channel post lists (newest first, with
//! Mattermost's since/after/before semantics) and plain term search (SPEC §24.4).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::emoji;
use super::files;
use super::prelude::*;

/// Mattermost's `PostMessageMaxRunesV2`.
pub const MAX_MESSAGE_RUNES: usize = 16383;

/// Upstream caps the JSON of `file_ids` at 300 runes: 10 ids.
const MAX_FILE_IDS: usize = 10;

/// Upstream caps one search or channel-since answer at 1000 posts.
const MAX_SINCE_POSTS: usize = 1000;

/// The type of ephemeral posts (`model.PostTypeEphemeral`).
pub const EPHEMERAL_TYPE: &str = "system_ephemeral";

/// Posts. Other domains read them (see `Cx::post`).
#[derive(Debug, Default)]
pub struct PostsState {
    /// Posts by id.
    pub posts: BTreeMap<String, Post>,
    /// Insertion sequence of every post, the tie-break for equal `create_at`.
    seq: BTreeMap<String, u64>,
    next_seq: u64,
    /// Reactions by (post id, user id, emoji name).
    reactions: BTreeMap<(String, String, String), Reaction>,
    /// Ephemeral posts by (user id, post id); never part of `posts`.
    ephemeral: BTreeMap<(String, String), Post>,
    /// Reply ids by root id, so a thread is read without scanning every post.
    threads: HashMap<String, Vec<String>>,
}

impl PostsState {
    /// The ordering key of a post: creation time, then insertion order.
    fn key(&self, p: &Post) -> (i64, u64) {
        (
            p.create_at,
            self.seq.get(&p.id).copied().unwrap_or(u64::MAX),
        )
    }

    /// Ids sorted newest first.
    fn newest_first(&self, mut ids: Vec<String>) -> Vec<String> {
        ids.sort_by_key(|id| {
            std::cmp::Reverse(self.posts.get(id).map(|p| self.key(p)).unwrap_or_default())
        });
        ids
    }

    /// The live (not deleted) posts of a channel, newest first.
    fn channel_posts(&self, channel_id: &str) -> Vec<String> {
        let ids = self
            .posts
            .values()
            .filter(|p| p.channel_id == channel_id && p.delete_at == 0)
            .map(|p| p.id.clone())
            .collect();
        self.newest_first(ids)
    }

    /// The live replies of a root post.
    fn replies(&self, root_id: &str) -> impl Iterator<Item = &Post> {
        self.threads
            .get(root_id)
            .into_iter()
            .flatten()
            .filter_map(|id| self.posts.get(id))
            .filter(|p| p.delete_at == 0)
    }

    /// A post as answered to clients: with its thread's live reply count.
    fn out(&self, p: &Post) -> Post {
        let mut p = p.clone();
        let root = if p.root_id.is_empty() {
            p.id.clone()
        } else {
            p.root_id.clone()
        };
        p.reply_count = self.replies(&root).count() as i64;
        p
    }

    /// A PostList whose `order` is `order` and whose `posts` also hold `extra`.
    fn list(&self, order: Vec<String>, extra: Vec<String>) -> PostList {
        let mut posts = HashMap::new();
        for id in order.iter().chain(extra.iter()) {
            if let Some(p) = self.posts.get(id) {
                posts.insert(id.clone(), self.out(p));
            }
        }
        PostList {
            order,
            posts,
            ..Default::default()
        }
    }

    /// The threads of the replies among `ids` (root and its live replies), as upstream's
    /// `getParentsPosts` adds them to a page's `posts`.
    fn parents_of(&self, ids: &[String]) -> Vec<String> {
        let roots: BTreeSet<&str> = ids
            .iter()
            .filter_map(|id| self.posts.get(id))
            .filter(|p| !p.root_id.is_empty())
            .map(|p| p.root_id.as_str())
            .collect();
        let mut extra = Vec::new();
        for root in roots {
            if self.posts.get(root).is_some_and(|p| p.delete_at == 0) {
                extra.push(root.to_string());
            }
            extra.extend(self.replies(root).map(|p| p.id.clone()));
        }
        extra
    }
}

/// The live post with this id, or 404 `app.post.get.app_error` (deleted posts are hidden).
fn live_post(cx: &Cx<'_>, id: &str) -> Res<Post> {
    let post = cx.post(id)?;
    if post.delete_at != 0 {
        return Err(cx.not_found("post", id));
    }
    Ok(post)
}

/// Mattermost's message length rule.
fn check_message(cx: &Cx<'_>, message: &str) -> Res<()> {
    let runes = message.chars().count();
    if runes > MAX_MESSAGE_RUNES {
        return Err(cx.bad(
            "model.post.is_valid.message_length.app_error",
            format!("the message has {runes} characters, more than {MAX_MESSAGE_RUNES}"),
        ));
    }
    Ok(())
}

/// The hashtags of a message, space-separated, as `model.ParseHashtags` finds them.
fn parse_hashtags(message: &str) -> String {
    let mut tags: Vec<String> = Vec::new();
    for word in message.split_whitespace() {
        let word = word.trim_end_matches(|c: char| ",.!?:;\"')".contains(c));
        let Some(body) = word.strip_prefix('#') else {
            continue;
        };
        let valid = word.chars().count() >= 3
            && body.starts_with(|c: char| c.is_alphanumeric())
            && body.ends_with(|c: char| c.is_alphanumeric())
            && body
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if valid && !tags.iter().any(|t| t == word) {
            tags.push(word.to_string());
        }
    }
    tags.join(" ")
}

/// The post types `model.Post.IsValid` accepts besides `""` and `custom_*` types.
const KNOWN_TYPES: &[&str] = &[
    "slack_attachment",
    "system_generic",
    "system_join_leave",
    "system_join_channel",
    "system_guest_join_channel",
    "system_leave_channel",
    "system_join_team",
    "system_leave_team",
    "system_auto_responder",
    "system_add_remove",
    "system_add_to_channel",
    "system_add_guest_to_chan",
    "system_remove_from_channel",
    "system_move_channel",
    "system_add_to_team",
    "system_remove_from_team",
    "system_header_change",
    "system_displayname_change",
    "system_convert_channel",
    "system_purpose_change",
    "system_channel_deleted",
    "system_channel_restored",
    "system_change_chan_privacy",
    "add_bot_teams_channels",
    "system_wrangler",
    "system_gm_to_channel",
    "me",
    "reminder",
    "burn_on_read",
];

/// `Post.SanitizeProps`: props a plugin may not set.
fn sanitize_props(post: &mut Post) {
    if let Some(props) = post.props.as_mut() {
        props.fields.remove("add_channel_member");
        props.fields.remove("force_notification");
    }
}

/// Adds (or overwrites) a string prop of a post.
fn set_prop(post: &mut Post, key: &str, value: &str) {
    post.props
        .get_or_insert_with(Default::default)
        .fields
        .insert(
            key.to_string(),
            prost_types::Value {
                kind: Some(prost_types::value::Kind::StringValue(value.to_string())),
            },
        );
}

/// `CreatePost`: create a post, in upstream's order (`PluginAPI.CreatePost` →
/// `CreatePostMissingChannel` → `CreatePost` → the store's `Save`): the prop `from_plugin`
/// is set; the channel must exist (404, even for an empty id; an archived channel is
/// accepted on this path); the user must exist (404 `app.user.missing_account.const`, even
/// for an empty id); the root must be a live root post (400) of the same channel (500);
/// then the store refuses a post that has an id and runs `Post.IsValid` (message length,
/// type, file ids: 400).
pub fn create_post(cx: &mut Cx<'_>, req: CreatePostRequest) -> Res<CreatePostResponse> {
    // Upstream's handler passes a nil post on and dereferences it: a guard here (departure).
    let mut post = req.post.ok_or_else(|| cx.required("post"))?;
    set_prop(&mut post, "from_plugin", "true");
    sanitize_props(&mut post);
    cx.channel(&post.channel_id)?;
    let user = cx.user(&post.user_id)?;
    if user.is_bot {
        set_prop(&mut post, "from_bot", "true");
    }
    if !post.root_id.is_empty() {
        let root = cx
            .store
            .posts
            .posts
            .get(&post.root_id)
            .filter(|r| r.delete_at == 0)
            .cloned()
            .ok_or_else(|| {
                cx.bad(
                    "api.post.create_post.root_id.app_error",
                    format!("invalid root_id {:?}", post.root_id),
                )
            })?;
        if root.channel_id != post.channel_id {
            return Err(cx.err(
                500,
                "api.post.create_post.channel_root_id.app_error",
                "the root post is in another channel",
            ));
        }
        if !root.root_id.is_empty() {
            return Err(cx.bad(
                "api.post.create_post.root_id.app_error",
                format!("the root {:?} is itself a reply", post.root_id),
            ));
        }
    }
    post.hashtags = parse_hashtags(&post.message);
    if post.create_at == 0 {
        post.create_at = cx.now;
    }
    // The store: a post with an id is an existing post; PreSave; IsValid.
    if !post.id.is_empty() {
        return Err(cx.bad(
            "app.post.save.existing.app_error",
            "a new post must not carry an id",
        ));
    }
    post.id = new_id();
    post.update_at = post.create_at;
    post.edit_at = 0;
    post.delete_at = 0;
    post.original_id.clear();
    post.reply_count = 0;
    let mut seen = BTreeSet::new();
    post.file_ids.retain(|f| seen.insert(f.clone()));
    if !post.root_id.is_empty() && !is_valid_id(&post.root_id) {
        return Err(cx.bad("model.post.is_valid.root_id.app_error", "invalid root_id"));
    }
    check_message(cx, &post.message)?;
    if !(post.r#type.is_empty()
        || post.r#type.starts_with("custom_")
        || KNOWN_TYPES.contains(&post.r#type.as_str()))
    {
        return Err(cx.bad(
            "model.post.is_valid.type.app_error",
            format!("invalid type {:?}", post.r#type),
        ));
    }
    if post.file_ids.len() > MAX_FILE_IDS {
        return Err(cx.bad(
            "model.post.is_valid.file_ids.app_error",
            format!("at most {MAX_FILE_IDS} file ids"),
        ));
    }
    // Attach the files: only unattached ones of this user (or uploaded by a plugin).
    let (pid, cid, uid) = (
        post.id.clone(),
        post.channel_id.clone(),
        post.user_id.clone(),
    );
    post.file_ids
        .retain(|f| files::attach_to_post(&mut cx.store.files, f, &pid, &cid, &uid, cx.now));

    // The pending post id only keys upstream's deduplication cache: the saved post object,
    // with it, is answered, but it is no Posts column, so later reads have none.
    let pending = std::mem::take(&mut post.pending_post_id);
    save_post(cx, &post);
    let mut answer = cx.store.posts.out(&post);
    answer.pending_post_id = pending;
    Ok(CreatePostResponse {
        post: Some(answer),
        ..Default::default()
    })
}

/// The post types upstream's `Post.IsJoinLeaveMessage` names: saved like other posts but
/// not counted in the channel's `total_msg_count(_root)`.
const JOIN_LEAVE_TYPES: &[&str] = &[
    "system_join_leave",
    "system_add_remove",
    "system_join_channel",
    "system_leave_channel",
    "system_join_team",
    "system_leave_team",
    "system_add_to_channel",
    "system_remove_from_channel",
    "system_add_to_team",
    "system_remove_from_team",
];

/// Store a new post (upstream's store `SaveMultiple`): the channel's last post times and
/// counters (join/leave messages count 0), the root's update time, the thread index.
fn save_post(cx: &mut Cx<'_>, post: &Post) {
    let counted = i64::from(!JOIN_LEAVE_TYPES.contains(&post.r#type.as_str()));
    if let Some(ch) = cx.store.channels.channels.get_mut(&post.channel_id) {
        ch.last_post_at = ch.last_post_at.max(post.create_at);
        ch.total_msg_count += counted;
        if post.root_id.is_empty() {
            ch.total_msg_count_root += counted;
            ch.last_root_post_at = ch.last_root_post_at.max(post.create_at);
        }
    }
    // `last_reply_at` is no Posts column upstream (it lives in the Threads table and is
    // only filled by collapsed-thread reads, which no PluginAPI call makes): not kept here.
    if let Some(root) = cx.store.posts.posts.get_mut(&post.root_id) {
        root.update_at = root.update_at.max(post.create_at);
    }
    let state = &mut cx.store.posts;
    state.seq.insert(post.id.clone(), state.next_seq);
    state.next_seq += 1;
    if !post.root_id.is_empty() {
        state
            .threads
            .entry(post.root_id.clone())
            .or_default()
            .push(post.id.clone());
    }
    state.posts.insert(post.id.clone(), post.clone());
}

/// Write a system post (a join/leave message, a header change...) as upstream's app does
/// on behalf of other operations: `post_type` (`system_join_channel`...), `message` and
/// `props` as given, created now by `user_id` in `channel_id`. Listed by the channel's post
/// lists, never found by search, not counted in the channel's message totals when it is a
/// join/leave message. Returns the stored post.
pub fn insert_system_post(
    cx: &mut Cx<'_>,
    channel_id: &str,
    user_id: &str,
    post_type: &str,
    message: &str,
    props: &[(&str, &str)],
) -> Post {
    let post = Post {
        id: new_id(),
        create_at: cx.now,
        update_at: cx.now,
        user_id: user_id.to_string(),
        channel_id: channel_id.to_string(),
        message: message.to_string(),
        r#type: post_type.to_string(),
        props: Some(struct_of(props)),
        ..Default::default()
    };
    save_post(cx, &post);
    post
}

/// The emoji name rule of `model.Reaction.IsValid`: 1-64 of `a-zA-Z0-9-+_`.
fn valid_emoji_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '+' | '_'))
}

/// The checks of `model.Reaction.IsValid`.
fn check_reaction(cx: &Cx<'_>, r: &Reaction) -> Res<()> {
    if !is_valid_id(&r.user_id) {
        return Err(cx.bad(
            "model.reaction.is_valid.user_id.app_error",
            "invalid user_id",
        ));
    }
    if !is_valid_id(&r.post_id) {
        return Err(cx.bad(
            "model.reaction.is_valid.post_id.app_error",
            "invalid post_id",
        ));
    }
    if !valid_emoji_name(&r.emoji_name) {
        return Err(cx.bad(
            "model.reaction.is_valid.emoji_name.app_error",
            format!("invalid emoji name {:?}", r.emoji_name),
        ));
    }
    Ok(())
}

/// Refresh a post's `has_reactions` and bump its `update_at`.
fn touch_reactions(cx: &mut Cx<'_>, post_id: &str) {
    let has = cx
        .store
        .posts
        .reactions
        .keys()
        .any(|(p, _, _)| p == post_id);
    if let Some(p) = cx.store.posts.posts.get_mut(post_id) {
        p.has_reactions = has;
        p.update_at = p.update_at.max(cx.now);
    }
}

/// The channel of a post, and whether it is archived.
fn post_channel_archived(cx: &Cx<'_>, post: &Post) -> bool {
    cx.store
        .channels
        .channels
        .get(&post.channel_id)
        .is_some_and(|c| c.delete_at != 0)
}

/// `AddReaction`: add an emoji reaction, in upstream's order (`SaveReactionForPost`): the
/// post must be live (404 `app.post.get.app_error`); a name that is no system emoji must be
/// a custom emoji (`GetEmojiByName`: 404 `app.emoji.get_by_name.no_result`, 403 when custom
/// emoji are disabled); the post's channel must not be archived (403); then the store's
/// `Reaction.IsValid` (400). The user is not looked up. Adding the same (user, post, emoji)
/// again is not an error (upstream upserts); the answer carries the new save time.
pub fn add_reaction(cx: &mut Cx<'_>, req: AddReactionRequest) -> Res<AddReactionResponse> {
    // Upstream's handler passes a nil reaction on and dereferences it: a guard here
    // (departure).
    let mut r = req.reaction.ok_or_else(|| cx.required("reaction"))?;
    let post = live_post(cx, &r.post_id)?;
    if !emoji::is_system_emoji(&r.emoji_name) {
        emoji::custom_by_name(cx, &r.emoji_name)?;
    }
    if post_channel_archived(cx, &post) {
        return Err(cx.forbidden(
            "api.reaction.save.archived_channel.app_error",
            "can not react to a post in an archived channel",
        ));
    }
    check_reaction(cx, &r)?;
    let key = (r.post_id.clone(), r.user_id.clone(), r.emoji_name.clone());
    let create_at = cx
        .store
        .posts
        .reactions
        .get(&key)
        .map_or(cx.now, |old| old.create_at);
    r.update_at = cx.now;
    r.delete_at = 0;
    r.channel_id = Some(post.channel_id);
    let mut stored = r.clone();
    stored.create_at = create_at;
    r.create_at = cx.now;
    cx.store.posts.reactions.insert(key, stored);
    touch_reactions(cx, &r.post_id);
    Ok(AddReactionResponse {
        reaction: Some(r),
        ..Default::default()
    })
}

/// `RemoveReaction`: remove an emoji reaction (`DeleteReactionForPost`): the post must be
/// live (404) in an unarchived channel (403); the reaction is not validated and need not
/// exist (upstream's soft delete matches no row); the post's `has_reactions` is recomputed.
pub fn remove_reaction(cx: &mut Cx<'_>, req: RemoveReactionRequest) -> Res<RemoveReactionResponse> {
    // Upstream dereferences a nil reaction: a guard here (departure).
    let r = req.reaction.ok_or_else(|| cx.required("reaction"))?;
    let post = live_post(cx, &r.post_id)?;
    if post_channel_archived(cx, &post) {
        return Err(cx.forbidden(
            "api.reaction.delete.archived_channel.app_error",
            "can not remove a reaction in an archived channel",
        ));
    }
    let key = (r.post_id.clone(), r.user_id.clone(), r.emoji_name.clone());
    cx.store.posts.reactions.remove(&key);
    touch_reactions(cx, &r.post_id);
    Ok(RemoveReactionResponse::default())
}

/// `GetReactions`: list reactions on a post, oldest first. A post without reactions,
/// or an unknown post, has none (upstream only queries the reactions table).
pub fn get_reactions(cx: &mut Cx<'_>, req: GetReactionsRequest) -> Res<GetReactionsResponse> {
    let mut reactions: Vec<Reaction> = cx
        .store
        .posts
        .reactions
        .values()
        .filter(|r| r.post_id == req.post_id)
        .cloned()
        .collect();
    reactions.sort_by(|a, b| {
        (a.create_at, &a.user_id, &a.emoji_name).cmp(&(b.create_at, &b.user_id, &b.emoji_name))
    });
    Ok(GetReactionsResponse {
        reactions,
        ..Default::default()
    })
}

/// Make `post` an ephemeral post for `user_id` and remember it (for the host effect of
/// its deletion). Sending gives it an id and a create time when it has none; updating does
/// neither (upstream's `UpdateEphemeralPost` only sets the type and `update_at`).
fn store_ephemeral(cx: &mut Cx<'_>, user_id: &str, mut post: Post, update: bool) -> Post {
    if update {
        post.update_at = cx.now;
    } else {
        if post.id.is_empty() {
            post.id = new_id();
        }
        if post.create_at == 0 {
            post.create_at = cx.now;
        }
    }
    post.r#type = EPHEMERAL_TYPE.to_string();
    post.props.get_or_insert_with(Default::default);
    cx.store
        .posts
        .ephemeral
        .insert((user_id.to_string(), post.id.clone()), post.clone());
    post
}

/// `SendEphemeralPost`: show a post to one user only. It gets an id (if it has none),
/// type `system_ephemeral` and create_at; it is never stored as a channel post and nothing
/// is validated. Upstream dereferences a missing post; the reference server answers a
/// guard (departure).
pub fn send_ephemeral_post(
    cx: &mut Cx<'_>,
    req: SendEphemeralPostRequest,
) -> Res<SendEphemeralPostResponse> {
    let post = req.post.ok_or_else(|| cx.required("post"))?;
    let post = store_ephemeral(cx, &req.user_id, post, false);
    Ok(SendEphemeralPostResponse {
        post: Some(post),
        ..Default::default()
    })
}

/// `UpdateEphemeralPost`: replace an ephemeral post for one user: type
/// `system_ephemeral`, update_at = now; no id or create time is assigned.
pub fn update_ephemeral_post(
    cx: &mut Cx<'_>,
    req: UpdateEphemeralPostRequest,
) -> Res<UpdateEphemeralPostResponse> {
    let post = req.post.ok_or_else(|| cx.required("post"))?;
    let post = store_ephemeral(cx, &req.user_id, post, true);
    Ok(UpdateEphemeralPostResponse {
        post: Some(post),
        ..Default::default()
    })
}

/// `DeleteEphemeralPost`: tell one user's clients to drop an ephemeral post (upstream
/// publishes a `post_deleted` WebSocket event, whatever the id). Cannot fail.
pub fn delete_ephemeral_post(
    cx: &mut Cx<'_>,
    req: DeleteEphemeralPostRequest,
) -> Res<DeleteEphemeralPostResponse> {
    cx.store
        .posts
        .ephemeral
        .remove(&(req.user_id.clone(), req.post_id.clone()));
    cx.effect = Some(format!(
        "post_deleted event for ephemeral post {} sent to user {}",
        req.post_id, req.user_id
    ));
    Ok(DeleteEphemeralPostResponse::default())
}

/// `DeletePost`: soft-delete a post (`deletePostWithChannel`): the post must be live (any
/// failure, an unknown or already deleted post included, is 400 `app.post.get.app_error`)
/// and its channel not archived (400). The post and, for a root, its replies get
/// delete_at = update_at = now and the prop `deleteBy` (the calling plugin); their files
/// are soft-deleted.
pub fn delete_post(cx: &mut Cx<'_>, req: DeletePostRequest) -> Res<DeletePostResponse> {
    let post = live_post(cx, &req.post_id).map_err(|e| AppError {
        status_code: 400,
        ..e
    })?;
    if post_channel_archived(cx, &post) {
        return Err(cx.bad(
            "api.post.delete_post.can_not_delete_post_in_deleted.error",
            "can not delete a post in an archived channel",
        ));
    }
    let now = cx.now;
    let plugin = cx.plugin_id.to_string();
    let mut deleted = Vec::new();
    for p in cx.store.posts.posts.values_mut() {
        if p.delete_at == 0 && (p.id == post.id || p.root_id == post.id) {
            p.delete_at = now;
            p.update_at = now;
            set_prop(p, "deleteBy", &plugin);
            deleted.push(p.id.clone());
        }
    }
    for id in &deleted {
        files::delete_for_post(&mut cx.store.files, id, now);
    }
    if let Some(root) = cx.store.posts.posts.get_mut(&post.root_id) {
        root.update_at = root.update_at.max(now);
    }
    Ok(DeletePostResponse::default())
}

/// `GetPostThread`: the thread of a live post: `order` starts with the requested post,
/// followed by the other live posts of its thread (root and replies) in no specified order
/// (upstream's query has no ORDER BY; the reference server lists them oldest first).
pub fn get_post_thread(cx: &mut Cx<'_>, req: GetPostThreadRequest) -> Res<GetPostThreadResponse> {
    let post = live_post(cx, &req.post_id)?;
    let root_id = if post.root_id.is_empty() {
        post.id.clone()
    } else {
        post.root_id.clone()
    };
    let state = &cx.store.posts;
    let mut others: Vec<String> = state.replies(&root_id).map(|p| p.id.clone()).collect();
    if state.posts.get(&root_id).is_some_and(|p| p.delete_at == 0) {
        others.push(root_id);
    }
    others.retain(|id| *id != post.id);
    let mut others = state.newest_first(others);
    others.reverse();
    let mut order = vec![post.id];
    order.extend(others);
    Ok(GetPostThreadResponse {
        post_list: Some(state.list(order, Vec::new())),
        ..Default::default()
    })
}

/// `GetPost`: fetch a post by id; deleted posts are 404 as upstream hides them.
pub fn get_post(cx: &mut Cx<'_>, req: GetPostRequest) -> Res<GetPostResponse> {
    let post = live_post(cx, &req.post_id)?;
    Ok(GetPostResponse {
        post: Some(cx.store.posts.out(&post)),
        ..Default::default()
    })
}

/// `GetPostsSince`: every post of the channel whose update_at is after `time` (created,
/// edited, deleted: no delete filter, edit-history copies included), newest first, at most
/// 1000; `posts` also holds the roots of the changed replies, which are in `order` only
/// when they changed themselves. An unknown channel has no posts.
pub fn get_posts_since(cx: &mut Cx<'_>, req: GetPostsSinceRequest) -> Res<GetPostsSinceResponse> {
    let state = &cx.store.posts;
    let changed: Vec<String> = state
        .posts
        .values()
        .filter(|p| p.channel_id == req.channel_id && p.update_at > req.time)
        .map(|p| p.id.clone())
        .collect();
    let mut order = state.newest_first(changed);
    order.truncate(MAX_SINCE_POSTS);
    let roots: BTreeSet<String> = order
        .iter()
        .filter_map(|id| state.posts.get(id))
        .filter(|p| !p.root_id.is_empty() && state.posts.contains_key(&p.root_id))
        .map(|p| p.root_id.clone())
        .collect();
    Ok(GetPostsSinceResponse {
        post_list: Some(state.list(order, roots.into_iter().collect())),
        ..Default::default()
    })
}

/// A page of `items` as upstream's SQL `LIMIT per_page OFFSET page*per_page` gives it
/// (`per_page` 0 is an empty page).
fn sql_page<T: Clone>(items: &[T], page: i32, per_page: i32) -> Vec<T> {
    let per_page = per_page.max(0) as usize;
    let start = (page.max(0) as usize).saturating_mul(per_page);
    items.iter().skip(start).take(per_page).cloned().collect()
}

/// The live posts of a channel strictly before (`before`) or after the given post, newest
/// first, paged from the reference post outwards (upstream's `getPostsAround`: a negative
/// page or per_page is 400 `app.post.get_posts_around.get.app_error`).
fn around(
    cx: &Cx<'_>,
    channel_id: &str,
    post_id: &str,
    page: i32,
    per_page: i32,
    before: bool,
) -> Res<PostList> {
    if page < 0 || per_page < 0 {
        return Err(cx.bad(
            "app.post.get_posts_around.get.app_error",
            "page and per_page must not be negative",
        ));
    }
    let state = &cx.store.posts;
    let Some(reference) = state.posts.get(post_id).map(|p| state.key(p)) else {
        return Ok(PostList::default());
    };
    // Newest first; walk outwards from the reference post.
    let all = state.channel_posts(channel_id);
    let mut side: Vec<String> = all
        .into_iter()
        .filter(|id| {
            let k = state.key(&state.posts[id]);
            if before { k < reference } else { k > reference }
        })
        .collect();
    if !before {
        side.reverse();
    }
    let mut order = sql_page(&side, page, per_page);
    if !before {
        order.reverse();
    }
    let extra = state.parents_of(&order);
    Ok(state.list(order, extra))
}

/// `GetPostsAfter`: the page of live posts created after a given post, newest first
/// (page 0 holds the posts right after it). An unknown post gives an empty list.
pub fn get_posts_after(cx: &mut Cx<'_>, req: GetPostsAfterRequest) -> Res<GetPostsAfterResponse> {
    let list = around(
        cx,
        &req.channel_id,
        &req.post_id,
        req.page,
        req.per_page,
        false,
    )?;
    Ok(GetPostsAfterResponse {
        post_list: Some(list),
        ..Default::default()
    })
}

/// `GetPostsBefore`: the page of live posts created before a given post, newest first
/// (page 0 holds the posts right before it). An unknown post gives an empty list.
pub fn get_posts_before(
    cx: &mut Cx<'_>,
    req: GetPostsBeforeRequest,
) -> Res<GetPostsBeforeResponse> {
    let list = around(
        cx,
        &req.channel_id,
        &req.post_id,
        req.page,
        req.per_page,
        true,
    )?;
    Ok(GetPostsBeforeResponse {
        post_list: Some(list),
        ..Default::default()
    })
}

/// Upstream's largest `per_page` for a channel's posts.
const MAX_POSTS_PER_PAGE: i32 = 1000;

/// `GetPostsForChannel`: page through a channel's live posts (roots, replies and system
/// posts), newest first; `posts` also holds the threads of the replies on the page. An
/// unknown channel has no posts; per_page 0 is an empty page; per_page above 1000 is 400
/// `app.post.get_posts.app_error`; a negative page or per_page is a database error upstream
/// (500 `app.post.get_root_posts.app_error`).
pub fn get_posts_for_channel(
    cx: &mut Cx<'_>,
    req: GetPostsForChannelRequest,
) -> Res<GetPostsForChannelResponse> {
    if req.per_page > MAX_POSTS_PER_PAGE {
        return Err(cx.bad(
            "app.post.get_posts.app_error",
            format!("per_page must not exceed {MAX_POSTS_PER_PAGE}"),
        ));
    }
    if req.page < 0 || req.per_page < 0 {
        return Err(cx.err(
            500,
            "app.post.get_root_posts.app_error",
            "negative LIMIT or OFFSET",
        ));
    }
    let state = &cx.store.posts;
    let order = sql_page(
        &state.channel_posts(&req.channel_id),
        req.page,
        req.per_page,
    );
    let extra = state.parents_of(&order);
    Ok(GetPostsForChannelResponse {
        post_list: Some(state.list(order, extra)),
        ..Default::default()
    })
}

/// `UpdatePost`: edit a post (`UpdatePost` with safeUpdate false, then the store's
/// `Update`): an empty id is 400 and an unknown or deleted post 404
/// (`app.post.get.app_error`); system messages (400) and posts of archived channels (400)
/// are not edited. The message (edit_at = now when it changes), file ids, props, is_pinned
/// and has_reactions are taken from the request; id, user, channel, root and create_at are
/// kept; update_at = now; `Post.IsValid` (400). The previous version is kept as a deleted
/// copy (new id, `original_id` = the post, delete_at = update_at = now), as upstream's store
/// keeps edit history; the channel's last post time and a reply's root are touched.
pub fn update_post(cx: &mut Cx<'_>, req: UpdatePostRequest) -> Res<UpdatePostResponse> {
    // Upstream dereferences a nil post: a guard here (departure).
    let mut received = req.post.ok_or_else(|| cx.required("post"))?;
    sanitize_props(&mut received);
    if received.id.is_empty() {
        return Err(cx.bad("app.post.get.app_error", "the post has no id"));
    }
    let old = live_post(cx, &received.id)?;
    if old.r#type.starts_with("system_") {
        return Err(cx.bad(
            "api.post.update_post.system_message.app_error",
            "system messages can not be edited",
        ));
    }
    if post_channel_archived(cx, &old) {
        return Err(cx.bad(
            "api.post.update_post.can_not_update_post_in_deleted.error",
            "can not edit a post in an archived channel",
        ));
    }
    let mut post = old.clone();
    if post.message != received.message {
        post.message = received.message;
        post.edit_at = cx.now;
        post.hashtags = parse_hashtags(&post.message);
    }
    post.is_pinned = received.is_pinned;
    post.has_reactions = received.has_reactions;
    post.file_ids = received.file_ids;
    post.props = received.props;
    post.update_at = cx.now.max(old.update_at);
    check_message(cx, &post.message)?;
    if post.file_ids.len() > MAX_FILE_IDS {
        return Err(cx.bad(
            "model.post.is_valid.file_ids.app_error",
            format!("at most {MAX_FILE_IDS} file ids"),
        ));
    }
    // The edit history: the old version as a deleted copy.
    let history = Post {
        id: new_id(),
        original_id: old.id.clone(),
        delete_at: post.update_at,
        update_at: post.update_at,
        ..old.clone()
    };
    let now = post.update_at;
    if let Some(ch) = cx.store.channels.channels.get_mut(&post.channel_id) {
        ch.last_post_at = ch.last_post_at.max(now);
    }
    let state = &mut cx.store.posts;
    if let Some(root) = state.posts.get_mut(&post.root_id) {
        root.update_at = root.update_at.max(now);
    }
    state.seq.insert(history.id.clone(), state.next_seq);
    state.next_seq += 1;
    state.posts.insert(history.id.clone(), history);
    state.posts.insert(post.id.clone(), post.clone());
    Ok(UpdatePostResponse {
        post: Some(state.out(&post)),
        ..Default::default()
    })
}

/// A parsed search: words and quoted phrases, plus `from:`/`in:` filters.
#[derive(Debug, Default)]
struct Query {
    terms: Vec<String>,
    excluded_terms: Vec<String>,
    or: bool,
    in_channels: Vec<String>,
    excluded_channels: Vec<String>,
    from_users: Vec<String>,
    excluded_users: Vec<String>,
    include_deleted_channels: bool,
}

impl Query {
    /// Parse Mattermost search terms: `"a phrase"`, `-word`, `from:name`, `in:channel`,
    /// `-from:`, `-in:`; everything else is a word (a trailing `*` is a prefix match).
    fn parse(text: &str) -> Query {
        let mut q = Query::default();
        let mut rest = text.trim();
        while !rest.is_empty() {
            let (token, tail) = if let Some(stripped) = rest.strip_prefix('"') {
                match stripped.find('"') {
                    Some(end) => (format!("\"{}\"", &stripped[..end]), &stripped[end + 1..]),
                    None => (rest.to_string(), ""),
                }
            } else {
                match rest.find(char::is_whitespace) {
                    Some(end) => (rest[..end].to_string(), &rest[end..]),
                    None => (rest.to_string(), ""),
                }
            };
            rest = tail.trim_start();
            let lower = token.to_lowercase();
            if let Some(v) = lower.strip_prefix("from:") {
                q.from_users.push(v.trim_start_matches('@').to_string());
            } else if let Some(v) = lower.strip_prefix("-from:") {
                q.excluded_users.push(v.trim_start_matches('@').to_string());
            } else if let Some(v) = lower.strip_prefix("in:") {
                q.in_channels.push(v.trim_start_matches('~').to_string());
            } else if let Some(v) = lower.strip_prefix("-in:") {
                q.excluded_channels
                    .push(v.trim_start_matches('~').to_string());
            } else if let Some(v) = lower.strip_prefix('-') {
                if !v.is_empty() {
                    q.excluded_terms.push(v.to_string());
                }
            } else if !lower.is_empty() && lower != "*" {
                q.terms.push(lower);
            }
        }
        q
    }

    /// The terms of `message` this query matches; None when the post does not match.
    fn matches(&self, message: &str) -> Option<Vec<String>> {
        let lower = message.to_lowercase();
        let words: Vec<&str> = lower
            .split(|c: char| !(c.is_alphanumeric() || matches!(c, '-' | '_' | '#' | '@' | '.')))
            .map(|w| w.trim_matches('.'))
            .filter(|w| !w.is_empty())
            .collect();
        let hit = |term: &str| -> Option<Vec<String>> {
            if let Some(phrase) = term.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
                return (!phrase.is_empty() && lower.contains(phrase))
                    .then(|| vec![phrase.to_string()]);
            }
            let found: Vec<String> = match term.strip_suffix('*') {
                Some(prefix) => words
                    .iter()
                    .filter(|w| w.starts_with(prefix))
                    .map(|w| w.to_string())
                    .collect(),
                None => words
                    .iter()
                    .filter(|w| **w == term)
                    .map(|w| w.to_string())
                    .collect(),
            };
            (!found.is_empty()).then_some(found)
        };
        if self.excluded_terms.iter().any(|t| hit(t).is_some()) {
            return None;
        }
        if self.terms.is_empty() {
            return Some(Vec::new());
        }
        let hits: Vec<Option<Vec<String>>> = self.terms.iter().map(|t| hit(t)).collect();
        let ok = if self.or {
            hits.iter().any(Option::is_some)
        } else {
            hits.iter().all(Option::is_some)
        };
        if !ok {
            return None;
        }
        let mut out: Vec<String> = Vec::new();
        for w in hits.into_iter().flatten().flatten() {
            if !out.contains(&w) {
                out.push(w);
            }
        }
        Some(out)
    }
}

/// Run a search over the channels `channel_ok` admits: the matching live, non-system
/// posts, newest first, with the words each matched.
fn search(
    cx: &Cx<'_>,
    q: &Query,
    channel_ok: &dyn Fn(&Channel) -> bool,
) -> Vec<(String, Vec<String>)> {
    if q.terms.is_empty() && q.from_users.is_empty() && q.in_channels.is_empty() {
        return Vec::new();
    }
    let state = &cx.store.posts;
    let username = |id: &str| {
        cx.store
            .users
            .users
            .get(id)
            .map(|u| u.username.to_lowercase())
            .unwrap_or_default()
    };
    let mut hits: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for p in state.posts.values() {
        if p.delete_at != 0 || p.r#type.starts_with("system_") {
            continue;
        }
        let Some(ch) = cx.store.channels.channels.get(&p.channel_id) else {
            continue;
        };
        if !channel_ok(ch) || (ch.delete_at != 0 && !q.include_deleted_channels) {
            continue;
        }
        let cname = ch.name.to_lowercase();
        if (!q.in_channels.is_empty() && !q.in_channels.contains(&cname))
            || q.excluded_channels.contains(&cname)
        {
            continue;
        }
        let uname = username(&p.user_id);
        if (!q.from_users.is_empty() && !q.from_users.contains(&uname))
            || q.excluded_users.contains(&uname)
        {
            continue;
        }
        if let Some(words) = q.matches(&p.message) {
            hits.insert(p.id.clone(), words);
        }
    }
    let order = state.newest_first(hits.keys().cloned().collect());
    order
        .into_iter()
        .map(|id| {
            let words = hits.remove(&id).unwrap_or_default();
            (id, words)
        })
        .collect()
}

/// Upstream's database search answers at most 100 posts per parameter set.
const MAX_SEARCH_RESULTS: usize = 100;

/// `ServiceSettings.EnablePostSearch` (default true): when false, searches are 501
/// `store.sql_post.search.disabled`.
fn check_search_enabled(cx: &mut Cx<'_>) -> Res<()> {
    if cx.store.config.setting("ServiceSettings.EnablePostSearch") == serde_json::Value::Bool(false)
    {
        return Err(cx.err(
            501,
            "store.sql_post.search.disabled",
            "searching posts is disabled on this server",
        ));
    }
    Ok(())
}

/// `SearchPostsInTeam`: search the posts of the team's channels and of every direct and
/// group channel (upstream searches without a user). Each parameter set is a search
/// (terms, `is_or_search`, `in_channels`/`excluded_channels` by channel name,
/// `from_users`/`excluded_users` by username, `include_deleted_channels`; terms `*` alone
/// are skipped), at most 100 posts each; the answer is the union, newest first. Words
/// match whole words, case-insensitively; `word*` is a prefix and `"a phrase"` a
/// substring (upstream uses the database's full-text search, with stemming).
pub fn search_posts_in_team(
    cx: &mut Cx<'_>,
    req: SearchPostsInTeamRequest,
) -> Res<SearchPostsInTeamResponse> {
    check_search_enabled(cx)?;
    let mut ids: BTreeSet<String> = BTreeSet::new();
    for params in &req.params_list {
        if params.terms.trim() == "*" {
            continue;
        }
        let mut q = Query::parse(&params.terms);
        q.or = params.is_or_search;
        q.include_deleted_channels = params.include_deleted_channels;
        let lower = |v: &[String]| v.iter().map(|s| s.to_lowercase()).collect::<Vec<_>>();
        q.in_channels.extend(lower(&params.in_channels));
        q.excluded_channels.extend(lower(&params.excluded_channels));
        q.from_users.extend(lower(&params.from_users));
        q.excluded_users.extend(lower(&params.excluded_users));
        let team = req.team_id.clone();
        ids.extend(
            search(cx, &q, &|ch: &Channel| {
                ch.team_id == team || ch.team_id.is_empty()
            })
            .into_iter()
            .take(MAX_SEARCH_RESULTS)
            .map(|(id, _)| id),
        );
    }
    let state = &cx.store.posts;
    let posts = state
        .newest_first(ids.into_iter().collect())
        .iter()
        .filter_map(|id| state.posts.get(id))
        .map(|p| state.out(p))
        .collect();
    Ok(SearchPostsInTeamResponse {
        posts,
        ..Default::default()
    })
}

/// `SearchPostsInTeamForUser`: search as a user: only the channels of the team (and
/// direct/group channels) the user is a member of. The terms may hold `from:`/`in:`
/// filters. Upstream's database search does not page: a page above 0 is empty and
/// per_page is ignored (at most 100 posts); `matches` stays empty (only the Elasticsearch
/// and Bleve engines fill it).
pub fn search_posts_in_team_for_user(
    cx: &mut Cx<'_>,
    req: SearchPostsInTeamForUserRequest,
) -> Res<SearchPostsInTeamForUserResponse> {
    let params = req.search_params.unwrap_or_default();
    check_search_enabled(cx)?;
    let mut results = PostSearchResults::default();
    if params.page > 0 || params.terms.trim() == "*" {
        return Ok(SearchPostsInTeamForUserResponse {
            results: Some(results),
            ..Default::default()
        });
    }
    let mut q = Query::parse(&params.terms);
    q.or = params.is_or_search;
    q.include_deleted_channels = params.include_deleted_channels;
    let member_of: BTreeSet<String> = cx
        .store
        .channels
        .members
        .keys()
        .filter(|(_, u)| *u == req.user_id)
        .map(|(c, _)| c.clone())
        .collect();
    let team = req.team_id.clone();
    let hits = search(cx, &q, &|ch: &Channel| {
        (ch.team_id == team || ch.team_id.is_empty()) && member_of.contains(&ch.id)
    });
    let state = &cx.store.posts;
    for (id, _) in hits.into_iter().take(MAX_SEARCH_RESULTS) {
        if let Some(p) = state.posts.get(&id) {
            results.posts.insert(id.clone(), state.out(p));
        }
        results.order.push(id);
    }
    Ok(SearchPostsInTeamForUserResponse {
        results: Some(results),
        ..Default::default()
    })
}
