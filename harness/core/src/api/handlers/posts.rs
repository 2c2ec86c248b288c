//! Post rpcs of the reference PluginAPI server: posts with threads (root + replies),
//! soft deletes, edits, reactions, ephemeral posts, channel post lists (newest first, with
//! Mattermost's since/after/before semantics) and plain term search.

use std::collections::{BTreeMap, BTreeSet, HashMap};

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

/// `CreatePost`: create a post.
pub fn create_post(cx: &mut Cx<'_>, req: CreatePostRequest) -> Res<CreatePostResponse> {
    let mut post = req.post.ok_or_else(|| cx.required("post"))?;
    if !post.id.is_empty() {
        return Err(cx.bad(
            "app.post.save.existing.app_error",
            "a new post must not carry an id",
        ));
    }
    if !is_valid_id(&post.user_id) {
        return Err(cx.bad("model.post.is_valid.user_id.app_error", "invalid user_id"));
    }
    if !is_valid_id(&post.channel_id) {
        return Err(cx.bad(
            "model.post.is_valid.channel_id.app_error",
            "invalid channel_id",
        ));
    }
    if !post.root_id.is_empty() && !is_valid_id(&post.root_id) {
        return Err(cx.bad("model.post.is_valid.root_id.app_error", "invalid root_id"));
    }
    check_message(cx, &post.message)?;
    if post.file_ids.len() > MAX_FILE_IDS {
        return Err(cx.bad(
            "model.post.is_valid.file_ids.app_error",
            format!("at most {MAX_FILE_IDS} file ids"),
        ));
    }
    let channel = cx.channel(&post.channel_id)?;
    cx.user(&post.user_id)?;
    if channel.delete_at != 0 {
        return Err(cx.bad(
            "api.post.create_post.can_not_post_to_deleted.error",
            "can not post to an archived channel",
        ));
    }
    if !post.root_id.is_empty() {
        let root = cx
            .store
            .posts
            .posts
            .get(&post.root_id)
            .filter(|r| r.delete_at == 0 && r.root_id.is_empty())
            .cloned()
            .ok_or_else(|| {
                cx.bad(
                    "api.post.create_post.root_id.app_error",
                    format!("invalid root_id {:?}", post.root_id),
                )
            })?;
        if root.channel_id != post.channel_id {
            return Err(cx.bad(
                "api.post.create_post.channel_root_id.app_error",
                "the root post is in another channel",
            ));
        }
    }

    post.id = new_id();
    if post.create_at == 0 {
        post.create_at = cx.now;
    }
    post.update_at = post.create_at;
    post.edit_at = 0;
    post.delete_at = 0;
    post.original_id.clear();
    post.reply_count = 0;
    post.hashtags = parse_hashtags(&post.message);
    // Attach the files: only unattached ones of this user (or uploaded by a plugin).
    let (pid, cid, uid) = (
        post.id.clone(),
        post.channel_id.clone(),
        post.user_id.clone(),
    );
    post.file_ids
        .retain(|f| files::attach_to_post(&mut cx.store.files, f, &pid, &cid, &uid, cx.now));

    // The channel's counters, and the root's update_at (clients refresh the thread).
    if let Some(ch) = cx.store.channels.channels.get_mut(&post.channel_id) {
        ch.last_post_at = ch.last_post_at.max(post.create_at);
        ch.total_msg_count += 1;
        if post.root_id.is_empty() {
            ch.total_msg_count_root += 1;
            ch.last_root_post_at = ch.last_root_post_at.max(post.create_at);
        }
    }
    if let Some(root) = cx.store.posts.posts.get_mut(&post.root_id) {
        root.update_at = root.update_at.max(post.create_at);
        root.last_reply_at = root.last_reply_at.max(post.create_at);
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
    Ok(CreatePostResponse {
        post: Some(state.out(&post)),
        ..Default::default()
    })
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

/// `AddReaction`: add an emoji reaction. Adding the same (user, post, emoji) again is
/// not an error: the reaction is saved again (upstream upserts).
pub fn add_reaction(cx: &mut Cx<'_>, req: AddReactionRequest) -> Res<AddReactionResponse> {
    let mut r = req.reaction.ok_or_else(|| cx.required("reaction"))?;
    check_reaction(cx, &r)?;
    let post = live_post(cx, &r.post_id)?;
    cx.user(&r.user_id)?;
    let key = (r.post_id.clone(), r.user_id.clone(), r.emoji_name.clone());
    let create_at = cx
        .store
        .posts
        .reactions
        .get(&key)
        .map_or(cx.now, |old| old.create_at);
    r.create_at = create_at;
    r.update_at = cx.now;
    r.delete_at = 0;
    r.channel_id = Some(post.channel_id);
    cx.store.posts.reactions.insert(key, r.clone());
    touch_reactions(cx, &r.post_id);
    Ok(AddReactionResponse {
        reaction: Some(r),
        ..Default::default()
    })
}

/// `RemoveReaction`: remove an emoji reaction. The post must exist (404); removing a
/// reaction that is not there is not an error (upstream's delete matches no row).
pub fn remove_reaction(cx: &mut Cx<'_>, req: RemoveReactionRequest) -> Res<RemoveReactionResponse> {
    let r = req.reaction.ok_or_else(|| cx.required("reaction"))?;
    check_reaction(cx, &r)?;
    live_post(cx, &r.post_id)?;
    let key = (r.post_id.clone(), r.user_id.clone(), r.emoji_name.clone());
    if cx.store.posts.reactions.remove(&key).is_some() {
        touch_reactions(cx, &r.post_id);
    }
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

/// Make `post` an ephemeral post for `user_id` and remember it.
fn store_ephemeral(cx: &mut Cx<'_>, user_id: &str, mut post: Post, update: bool) -> Post {
    if post.id.is_empty() {
        post.id = new_id();
    }
    post.r#type = EPHEMERAL_TYPE.to_string();
    if post.create_at == 0 {
        post.create_at = cx.now;
    }
    if update {
        post.update_at = cx.now;
    }
    cx.store
        .posts
        .ephemeral
        .insert((user_id.to_string(), post.id.clone()), post.clone());
    post
}

/// `SendEphemeralPost`: show a post to one user only. It gets an id (if it has none),
/// type `system_ephemeral` and create_at; it is never stored as a channel post. This rpc
/// cannot fail: a missing post is answered as an empty ephemeral post.
pub fn send_ephemeral_post(
    cx: &mut Cx<'_>,
    req: SendEphemeralPostRequest,
) -> Res<SendEphemeralPostResponse> {
    let post = store_ephemeral(cx, &req.user_id, req.post.unwrap_or_default(), false);
    Ok(SendEphemeralPostResponse {
        post: Some(post),
        ..Default::default()
    })
}

/// `UpdateEphemeralPost`: replace an ephemeral post for one user (update_at = now).
/// Cannot fail.
pub fn update_ephemeral_post(
    cx: &mut Cx<'_>,
    req: UpdateEphemeralPostRequest,
) -> Res<UpdateEphemeralPostResponse> {
    let post = store_ephemeral(cx, &req.user_id, req.post.unwrap_or_default(), true);
    Ok(UpdateEphemeralPostResponse {
        post: Some(post),
        ..Default::default()
    })
}

/// `DeleteEphemeralPost`: remove an ephemeral post for one user. Cannot fail: an unknown
/// one is ignored.
pub fn delete_ephemeral_post(
    cx: &mut Cx<'_>,
    req: DeleteEphemeralPostRequest,
) -> Res<DeleteEphemeralPostResponse> {
    let removed = cx
        .store
        .posts
        .ephemeral
        .remove(&(req.user_id.clone(), req.post_id.clone()))
        .is_some();
    cx.effect = Some(if removed {
        format!(
            "ephemeral post {} of user {} deleted",
            req.post_id, req.user_id
        )
    } else {
        format!("no ephemeral post {} of user {}", req.post_id, req.user_id)
    });
    Ok(DeleteEphemeralPostResponse::default())
}

/// `DeletePost`: soft-delete a post (delete_at = update_at = now). Deleting a root also
/// deletes its replies, and the files of the deleted posts, as upstream's store does.
pub fn delete_post(cx: &mut Cx<'_>, req: DeletePostRequest) -> Res<DeletePostResponse> {
    let post = live_post(cx, &req.post_id)?;
    let now = cx.now;
    let mut deleted = Vec::new();
    for p in cx.store.posts.posts.values_mut() {
        if p.delete_at == 0 && (p.id == post.id || p.root_id == post.id) {
            p.delete_at = now;
            p.update_at = now;
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

/// `GetPostThread`: the thread of a post (its root and all live replies), newest first.
pub fn get_post_thread(cx: &mut Cx<'_>, req: GetPostThreadRequest) -> Res<GetPostThreadResponse> {
    let post = live_post(cx, &req.post_id)?;
    let root_id = if post.root_id.is_empty() {
        post.id
    } else {
        post.root_id
    };
    let state = &cx.store.posts;
    let mut ids: Vec<String> = state.replies(&root_id).map(|p| p.id.clone()).collect();
    if state.posts.get(&root_id).is_some_and(|p| p.delete_at == 0) {
        ids.push(root_id);
    }
    let order = state.newest_first(ids);
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

/// `GetPostsSince`: the channel's posts changed (created, edited, deleted) after `time`,
/// plus the roots of changed replies, newest first. Deleted posts are included (with
/// delete_at) so clients can drop them. An unknown channel has no posts.
pub fn get_posts_since(cx: &mut Cx<'_>, req: GetPostsSinceRequest) -> Res<GetPostsSinceResponse> {
    let state = &cx.store.posts;
    let mut ids: BTreeSet<String> = state
        .posts
        .values()
        .filter(|p| p.channel_id == req.channel_id && p.update_at > req.time)
        .map(|p| p.id.clone())
        .collect();
    let roots: Vec<String> = ids
        .iter()
        .filter_map(|id| state.posts.get(id))
        .filter(|p| !p.root_id.is_empty() && state.posts.contains_key(&p.root_id))
        .map(|p| p.root_id.clone())
        .collect();
    ids.extend(roots);
    let mut order = state.newest_first(ids.into_iter().collect());
    order.truncate(MAX_SINCE_POSTS);
    Ok(GetPostsSinceResponse {
        post_list: Some(state.list(order, Vec::new())),
        ..Default::default()
    })
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

/// The live posts of a channel strictly before (`before`) or after the given post, newest
/// first, paged from the reference post outwards.
fn around(
    cx: &Cx<'_>,
    channel_id: &str,
    post_id: &str,
    page: i32,
    per_page: i32,
    before: bool,
) -> Res<PostList> {
    check_paging(cx, page, per_page)?;
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
    let mut order = paginate(&side, page, per_page);
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

/// `GetPostsForChannel`: page through a channel's live posts, newest first; `posts` also
/// holds the threads of the replies on the page. An unknown channel has no posts.
pub fn get_posts_for_channel(
    cx: &mut Cx<'_>,
    req: GetPostsForChannelRequest,
) -> Res<GetPostsForChannelResponse> {
    check_paging(cx, req.page, req.per_page)?;
    let state = &cx.store.posts;
    let order = paginate(
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

/// `UpdatePost`: edit a post. The message (edit_at = now when it changes), file ids,
/// props, is_pinned and has_reactions are taken from the request; id, user, channel,
/// root and create_at are kept; update_at = now.
pub fn update_post(cx: &mut Cx<'_>, req: UpdatePostRequest) -> Res<UpdatePostResponse> {
    let received = req.post.ok_or_else(|| cx.required("post"))?;
    let old = live_post(cx, &received.id)?;
    if old.r#type.starts_with("system_") {
        return Err(cx.bad(
            "api.post.update_post.system_message.app_error",
            "system messages can not be edited",
        ));
    }
    check_message(cx, &received.message)?;
    if received.file_ids.len() > MAX_FILE_IDS {
        return Err(cx.bad(
            "model.post.is_valid.file_ids.app_error",
            format!("at most {MAX_FILE_IDS} file ids"),
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
    let state = &mut cx.store.posts;
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

/// `SearchPostsInTeam`: search the posts of all the team's channels. Each parameter set
/// is a search (terms, `is_or_search`, `in_channels`/`excluded_channels` by channel name,
/// `from_users`/`excluded_users` by username, `include_deleted_channels`); the answer is
/// the union, newest first. Words match whole words, case-insensitively; `word*` is a
/// prefix and `"a phrase"` a substring. Paging fields are ignored (upstream too).
pub fn search_posts_in_team(
    cx: &mut Cx<'_>,
    req: SearchPostsInTeamRequest,
) -> Res<SearchPostsInTeamResponse> {
    let mut ids: BTreeSet<String> = BTreeSet::new();
    for params in &req.params_list {
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
            search(cx, &q, &|ch: &Channel| ch.team_id == team)
                .into_iter()
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
/// filters; `matches` gives the words each post matched. Paged newest first.
pub fn search_posts_in_team_for_user(
    cx: &mut Cx<'_>,
    req: SearchPostsInTeamForUserRequest,
) -> Res<SearchPostsInTeamForUserResponse> {
    let params = req.search_params.unwrap_or_default();
    check_paging(cx, params.page, params.per_page)?;
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
    let page = paginate(&hits, params.page, params.per_page);
    let state = &cx.store.posts;
    let mut results = PostSearchResults::default();
    for (id, words) in page {
        if let Some(p) = state.posts.get(&id) {
            results.posts.insert(id.clone(), state.out(p));
        }
        results
            .matches
            .insert(id.clone(), StringList { values: words });
        results.order.push(id);
    }
    Ok(SearchPostsInTeamForUserResponse {
        results: Some(results),
        ..Default::default()
    })
}
