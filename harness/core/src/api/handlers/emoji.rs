//! Emoji rpcs of the reference PluginAPI server. The plugin API cannot create custom
//! emoji, so the store seeds three deterministic ones on first access (see [`SEED`]).

use std::collections::BTreeMap;

use super::prelude::*;

/// A 1x1 transparent PNG.
const PNG_1X1: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae,
    0x42, 0x60, 0x82,
];

/// A 1x1 transparent GIF.
const GIF_1X1: &[u8] = &[
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x01, 0x44, 0x00, 0x3b,
];

/// The seeded custom emoji: (id, name, create_at, image, image type). The image type is
/// the format name upstream's `image.DecodeConfig` reports (`png`, `gif`), which is what
/// `GetEmojiImage` answers as its content type.
pub const SEED: &[(&str, &str, i64, &[u8], &str)] = &[
    (
        "emojiparrot00000000000000a",
        "conformance-parrot",
        1_700_000_000_000,
        GIF_1X1,
        "gif",
    ),
    (
        "emojithumbs00000000000000b",
        "conformance-thumbs",
        1_700_000_001_000,
        PNG_1X1,
        "png",
    ),
    (
        "emojiwave0000000000000000c",
        "conformance-wave",
        1_700_000_002_000,
        PNG_1X1,
        "png",
    ),
];

/// The creator of the seeded emoji.
pub const SEED_CREATOR: &str = "emojicreator00000000000000";

#[derive(Debug, Clone)]
struct Stored {
    emoji: Emoji,
    image: Vec<u8>,
    image_type: String,
}

/// Custom emoji by id, seeded on first access.
#[derive(Debug, Default)]
pub struct EmojiState {
    seeded: bool,
    emoji: BTreeMap<String, Stored>,
}

impl EmojiState {
    fn all(&mut self) -> &BTreeMap<String, Stored> {
        if !self.seeded {
            self.seeded = true;
            for (id, name, at, image, kind) in SEED {
                self.emoji.insert(
                    id.to_string(),
                    Stored {
                        emoji: Emoji {
                            id: id.to_string(),
                            create_at: *at,
                            update_at: *at,
                            delete_at: 0,
                            creator_id: SEED_CREATOR.to_string(),
                            name: name.to_string(),
                        },
                        image: image.to_vec(),
                        image_type: kind.to_string(),
                    },
                );
            }
        }
        &self.emoji
    }
}

/// The live emoji with this id, or 404 `app.emoji.get.no_result`.
fn by_id(cx: &mut Cx<'_>, id: &str) -> Res<Stored> {
    let found = cx
        .store
        .emoji
        .all()
        .get(id)
        .filter(|s| s.emoji.delete_at == 0)
        .cloned();
    found.ok_or_else(|| {
        cx.err(
            404,
            "app.emoji.get.no_result",
            format!("emoji {id:?} not found"),
        )
    })
}

/// `GetEmojiList`: page through custom emoji; `sort_by` `name` sorts by name, anything
/// else (upstream: no order) by create_at then id.
pub fn get_emoji_list(cx: &mut Cx<'_>, req: GetEmojiListRequest) -> Res<GetEmojiListResponse> {
    if req.page < 0 || req.per_page < 0 {
        return Err(cx.bad(
            "api.context.invalid_url_param.app_error",
            "page and per_page must not be negative",
        ));
    }
    let mut list: Vec<Emoji> = cx
        .store
        .emoji
        .all()
        .values()
        .filter(|s| s.emoji.delete_at == 0)
        .map(|s| s.emoji.clone())
        .collect();
    if req.sort_by == "name" {
        list.sort_by(|a, b| a.name.cmp(&b.name));
    } else {
        list.sort_by(|a, b| (a.create_at, &a.id).cmp(&(b.create_at, &b.id)));
    }
    Ok(GetEmojiListResponse {
        emojis: paginate(&list, req.page, req.per_page),
        ..Default::default()
    })
}

/// `GetEmojiByName`: fetch a custom emoji by name (404 `app.emoji.get_by_name.no_result`).
pub fn get_emoji_by_name(
    cx: &mut Cx<'_>,
    req: GetEmojiByNameRequest,
) -> Res<GetEmojiByNameResponse> {
    let found = cx
        .store
        .emoji
        .all()
        .values()
        .find(|s| s.emoji.delete_at == 0 && s.emoji.name == req.name)
        .map(|s| s.emoji.clone());
    let emoji = found.ok_or_else(|| {
        cx.err(
            404,
            "app.emoji.get_by_name.no_result",
            format!("emoji {:?} not found", req.name),
        )
    })?;
    Ok(GetEmojiByNameResponse {
        emoji: Some(emoji),
        ..Default::default()
    })
}

/// `GetEmoji`: fetch a custom emoji by id (404 `app.emoji.get.no_result`).
pub fn get_emoji(cx: &mut Cx<'_>, req: GetEmojiRequest) -> Res<GetEmojiResponse> {
    let stored = by_id(cx, &req.emoji_id)?;
    Ok(GetEmojiResponse {
        emoji: Some(stored.emoji),
        ..Default::default()
    })
}

/// `GetEmojiImage`: an emoji's image bytes and type (`png`, `gif`: the image format
/// name, as upstream answers it); 404 `app.emoji.get.no_result` for an unknown emoji.
pub fn get_emoji_image(cx: &mut Cx<'_>, req: GetEmojiImageRequest) -> Res<GetEmojiImageResponse> {
    let stored = by_id(cx, &req.emoji_id)?;
    Ok(GetEmojiImageResponse {
        image: stored.image,
        content_type: stored.image_type,
        ..Default::default()
    })
}
