//! Emoji rpcs of the reference PluginAPI server.

use super::prelude::*;

/// This domain's part of the store.
#[derive(Debug, Default)]
pub struct EmojiState {}

/// `GetEmojiList`: page through custom emoji.
pub fn get_emoji_list(_cx: &mut Cx<'_>, _req: GetEmojiListRequest) -> Res<GetEmojiListResponse> {
    todo_rpc("GetEmojiList")
}

/// `GetEmojiByName`: fetch a custom emoji by name.
pub fn get_emoji_by_name(
    _cx: &mut Cx<'_>,
    _req: GetEmojiByNameRequest,
) -> Res<GetEmojiByNameResponse> {
    todo_rpc("GetEmojiByName")
}

/// `GetEmoji`: fetch a custom emoji by id.
pub fn get_emoji(_cx: &mut Cx<'_>, _req: GetEmojiRequest) -> Res<GetEmojiResponse> {
    todo_rpc("GetEmoji")
}

/// `GetEmojiImage`: download an emoji image and its content type.
pub fn get_emoji_image(_cx: &mut Cx<'_>, _req: GetEmojiImageRequest) -> Res<GetEmojiImageResponse> {
    todo_rpc("GetEmojiImage")
}
