//! Post rpcs of the reference PluginAPI server.

use std::collections::BTreeMap;

use super::prelude::*;

/// Posts. Other domains read them (see `Cx::post`).
#[derive(Debug, Default)]
pub struct PostsState {
    /// Posts by id.
    pub posts: BTreeMap<String, Post>,
}

/// `CreatePost`: create a post.
pub fn create_post(_cx: &mut Cx<'_>, _req: CreatePostRequest) -> Res<CreatePostResponse> {
    todo_rpc("CreatePost")
}

/// `AddReaction`: add an emoji reaction.
pub fn add_reaction(_cx: &mut Cx<'_>, _req: AddReactionRequest) -> Res<AddReactionResponse> {
    todo_rpc("AddReaction")
}

/// `RemoveReaction`: remove an emoji reaction.
pub fn remove_reaction(
    _cx: &mut Cx<'_>,
    _req: RemoveReactionRequest,
) -> Res<RemoveReactionResponse> {
    todo_rpc("RemoveReaction")
}

/// `GetReactions`: list reactions on a post.
pub fn get_reactions(_cx: &mut Cx<'_>, _req: GetReactionsRequest) -> Res<GetReactionsResponse> {
    todo_rpc("GetReactions")
}

/// `SendEphemeralPost`: show a post to one user only.
pub fn send_ephemeral_post(
    _cx: &mut Cx<'_>,
    _req: SendEphemeralPostRequest,
) -> Res<SendEphemeralPostResponse> {
    todo_rpc("SendEphemeralPost")
}

/// `UpdateEphemeralPost`: replace an ephemeral post for one user.
pub fn update_ephemeral_post(
    _cx: &mut Cx<'_>,
    _req: UpdateEphemeralPostRequest,
) -> Res<UpdateEphemeralPostResponse> {
    todo_rpc("UpdateEphemeralPost")
}

/// `DeleteEphemeralPost`: remove an ephemeral post for one user.
pub fn delete_ephemeral_post(
    _cx: &mut Cx<'_>,
    _req: DeleteEphemeralPostRequest,
) -> Res<DeleteEphemeralPostResponse> {
    todo_rpc("DeleteEphemeralPost")
}

/// `DeletePost`: delete a post.
pub fn delete_post(_cx: &mut Cx<'_>, _req: DeletePostRequest) -> Res<DeletePostResponse> {
    todo_rpc("DeletePost")
}

/// `GetPostThread`: fetch a post with its whole thread.
pub fn get_post_thread(_cx: &mut Cx<'_>, _req: GetPostThreadRequest) -> Res<GetPostThreadResponse> {
    todo_rpc("GetPostThread")
}

/// `GetPost`: fetch a post by id.
pub fn get_post(_cx: &mut Cx<'_>, _req: GetPostRequest) -> Res<GetPostResponse> {
    todo_rpc("GetPost")
}

/// `GetPostsSince`: posts in a channel changed since a time.
pub fn get_posts_since(_cx: &mut Cx<'_>, _req: GetPostsSinceRequest) -> Res<GetPostsSinceResponse> {
    todo_rpc("GetPostsSince")
}

/// `GetPostsAfter`: page of posts after a given post.
pub fn get_posts_after(_cx: &mut Cx<'_>, _req: GetPostsAfterRequest) -> Res<GetPostsAfterResponse> {
    todo_rpc("GetPostsAfter")
}

/// `GetPostsBefore`: page of posts before a given post.
pub fn get_posts_before(
    _cx: &mut Cx<'_>,
    _req: GetPostsBeforeRequest,
) -> Res<GetPostsBeforeResponse> {
    todo_rpc("GetPostsBefore")
}

/// `GetPostsForChannel`: page through a channel's posts.
pub fn get_posts_for_channel(
    _cx: &mut Cx<'_>,
    _req: GetPostsForChannelRequest,
) -> Res<GetPostsForChannelResponse> {
    todo_rpc("GetPostsForChannel")
}

/// `UpdatePost`: edit a post.
pub fn update_post(_cx: &mut Cx<'_>, _req: UpdatePostRequest) -> Res<UpdatePostResponse> {
    todo_rpc("UpdatePost")
}

/// `SearchPostsInTeam`: search posts in a team with parameter sets.
pub fn search_posts_in_team(
    _cx: &mut Cx<'_>,
    _req: SearchPostsInTeamRequest,
) -> Res<SearchPostsInTeamResponse> {
    todo_rpc("SearchPostsInTeam")
}

/// `SearchPostsInTeamForUser`: search posts as a user, with match highlights.
pub fn search_posts_in_team_for_user(
    _cx: &mut Cx<'_>,
    _req: SearchPostsInTeamForUserRequest,
) -> Res<SearchPostsInTeamForUserResponse> {
    todo_rpc("SearchPostsInTeamForUser")
}
