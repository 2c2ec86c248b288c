//! Emoji rpcs of the reference PluginAPI server. The plugin API cannot create custom
//! emoji, so the store seeds three deterministic ones on first access (see [`SEED`]): a
//! freshly installed Mattermost server has none, and cases that read them need the
//! `fixture-emoji` capability (D8). Also the system emoji names reactions may use.

use std::collections::BTreeMap;

use serde_json::Value;

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

/// Names of Unicode emoji that upstream's `model.GetSystemEmojiId` knows (a subset of its
/// table: the reference server does not carry all of it). A reaction with a name outside
/// this list must be a custom emoji.
const SYSTEM_EMOJI: &[&str] = &[
    "+1",
    "-1",
    "100",
    "8ball",
    "abc",
    "abcd",
    "airplane",
    "alarm_clock",
    "alien",
    "ambulance",
    "anchor",
    "anger",
    "angry",
    "anguished",
    "apple",
    "arrow_down",
    "arrow_forward",
    "arrow_left",
    "arrow_right",
    "arrow_up",
    "arrows_counterclockwise",
    "art",
    "asterisk",
    "astonished",
    "avocado",
    "baby",
    "baby_chick",
    "back",
    "bacon",
    "balloon",
    "ballot_box_with_check",
    "banana",
    "bangbang",
    "bank",
    "bar_chart",
    "baseball",
    "basketball",
    "battery",
    "beach_with_umbrella",
    "bear",
    "bee",
    "beer",
    "beers",
    "bell",
    "bento",
    "bike",
    "bird",
    "birthday",
    "black_circle",
    "black_heart",
    "black_joker",
    "black_nib",
    "blossom",
    "blowfish",
    "blue_book",
    "blue_heart",
    "blush",
    "bomb",
    "book",
    "bookmark",
    "books",
    "boom",
    "bouquet",
    "bow",
    "bowling",
    "boy",
    "bread",
    "briefcase",
    "broken_heart",
    "brown_heart",
    "bug",
    "bulb",
    "burrito",
    "bus",
    "bust_in_silhouette",
    "busts_in_silhouette",
    "butterfly",
    "cactus",
    "cake",
    "calendar",
    "call_me_hand",
    "calling",
    "camera",
    "camera_with_flash",
    "candle",
    "candy",
    "capital_abcd",
    "car",
    "card_index",
    "carrot",
    "cat",
    "cd",
    "chains",
    "champagne",
    "chart",
    "chart_with_downwards_trend",
    "chart_with_upwards_trend",
    "checkered_flag",
    "cheese_wedge",
    "cherries",
    "cherry_blossom",
    "chess_pawn",
    "chicken",
    "chocolate_bar",
    "christmas_tree",
    "church",
    "clap",
    "clinking_glasses",
    "clipboard",
    "closed_book",
    "closed_lock_with_key",
    "cloud",
    "clown_face",
    "clubs",
    "cocktail",
    "coconut",
    "coffee",
    "coin",
    "cold_face",
    "cold_sweat",
    "collision",
    "comet",
    "computer",
    "confetti_ball",
    "confounded",
    "confused",
    "construction",
    "construction_worker",
    "cookie",
    "cool",
    "cop",
    "copyright",
    "corn",
    "couple",
    "cow",
    "crab",
    "credit_card",
    "crescent_moon",
    "croissant",
    "crossed_fingers",
    "crossed_flags",
    "cry",
    "crying_cat_face",
    "cup_with_straw",
    "cupid",
    "curry",
    "dancer",
    "dart",
    "dash",
    "date",
    "deciduous_tree",
    "desert",
    "desktop_computer",
    "diamonds",
    "disappointed",
    "disappointed_relieved",
    "dizzy",
    "dizzy_face",
    "dna",
    "dog",
    "dollar",
    "dolphin",
    "doughnut",
    "drooling_face",
    "drum_with_drumsticks",
    "dvd",
    "e-mail",
    "earth_africa",
    "earth_americas",
    "earth_asia",
    "egg",
    "eggplant",
    "eight",
    "electric_plug",
    "email",
    "end",
    "envelope",
    "euro",
    "evergreen_tree",
    "exclamation",
    "exploding_head",
    "expressionless",
    "eye",
    "eyes",
    "face_vomiting",
    "face_with_cowboy_hat",
    "face_with_hand_over_mouth",
    "face_with_head_bandage",
    "face_with_monocle",
    "face_with_raised_eyebrow",
    "face_with_rolling_eyes",
    "face_with_symbols_on_mouth",
    "face_with_thermometer",
    "facepalm",
    "facepunch",
    "fallen_leaf",
    "family",
    "fast_forward",
    "fearful",
    "file_folder",
    "fire",
    "fire_engine",
    "fireworks",
    "first_place_medal",
    "fish",
    "fist",
    "five",
    "flashlight",
    "flower_playing_cards",
    "flushed",
    "football",
    "footprints",
    "four",
    "four_leaf_clover",
    "fox_face",
    "free",
    "fries",
    "frog",
    "frowning",
    "full_moon",
    "game_die",
    "gear",
    "gem",
    "ghost",
    "gift",
    "gift_heart",
    "girl",
    "globe_with_meridians",
    "grapes",
    "green_apple",
    "green_book",
    "green_heart",
    "grey_exclamation",
    "grey_question",
    "grimacing",
    "grin",
    "grinning",
    "guardsman",
    "guitar",
    "hamburger",
    "hammer",
    "hammer_and_wrench",
    "hamster",
    "hand",
    "handshake",
    "hankey",
    "hash",
    "headphones",
    "hear_no_evil",
    "heart",
    "heart_decoration",
    "heart_eyes",
    "heart_eyes_cat",
    "heartbeat",
    "heartpulse",
    "hearts",
    "heavy_check_mark",
    "heavy_division_sign",
    "heavy_dollar_sign",
    "heavy_exclamation_mark",
    "heavy_heart_exclamation_mark_ornament",
    "heavy_minus_sign",
    "heavy_multiplication_x",
    "heavy_plus_sign",
    "herb",
    "hibiscus",
    "hole",
    "hospital",
    "hot_face",
    "hot_pepper",
    "hotdog",
    "hotel",
    "hourglass",
    "hourglass_flowing_sand",
    "house",
    "house_with_garden",
    "hugging_face",
    "hushed",
    "i_love_you_hand_sign",
    "ice_cream",
    "icecream",
    "imp",
    "inbox_tray",
    "incoming_envelope",
    "information_desk_person",
    "information_source",
    "innocent",
    "interrobang",
    "iphone",
    "jack_o_lantern",
    "japan",
    "japanese_goblin",
    "japanese_ogre",
    "jigsaw",
    "joy",
    "joy_cat",
    "key",
    "keyboard",
    "keycap_ten",
    "kiss",
    "kissing",
    "kissing_cat",
    "kissing_closed_eyes",
    "kissing_heart",
    "kissing_smiling_eyes",
    "kiwifruit",
    "koala",
    "label",
    "large_blue_circle",
    "large_blue_diamond",
    "large_orange_diamond",
    "laughing",
    "leaves",
    "ledger",
    "left-facing_fist",
    "lemon",
    "link",
    "lion_face",
    "lips",
    "lock",
    "lock_with_ink_pen",
    "lollipop",
    "loud_sound",
    "loudspeaker",
    "love_letter",
    "lying_face",
    "mag",
    "mag_right",
    "mahjong",
    "mailbox",
    "man",
    "man_dancing",
    "maple_leaf",
    "mask",
    "medal",
    "mega",
    "melon",
    "memo",
    "microbe",
    "microphone",
    "middle_finger",
    "money_mouth_face",
    "money_with_wings",
    "moneybag",
    "monkey_face",
    "mountain",
    "mouse",
    "movie_camera",
    "moyai",
    "muscle",
    "mushroom",
    "musical_keyboard",
    "musical_note",
    "mute",
    "nail_care",
    "nauseated_face",
    "nerd_face",
    "neutral_face",
    "new",
    "new_moon",
    "newspaper",
    "nine",
    "no_bell",
    "no_entry",
    "no_entry_sign",
    "no_good",
    "no_mouth",
    "notebook",
    "notes",
    "nut_and_bolt",
    "o",
    "ocean",
    "octopus",
    "office",
    "ok",
    "ok_hand",
    "ok_woman",
    "old_key",
    "older_man",
    "older_woman",
    "on",
    "one",
    "open_file_folder",
    "open_hands",
    "open_mouth",
    "orange_book",
    "orange_heart",
    "outbox_tray",
    "package",
    "palm_tree",
    "palms_up_together",
    "pancakes",
    "panda_face",
    "paperclip",
    "partly_sunny",
    "partying_face",
    "peach",
    "pear",
    "pen",
    "pencil",
    "pencil2",
    "penguin",
    "pensive",
    "performing_arts",
    "persevere",
    "person_frowning",
    "person_with_pouting_face",
    "phone",
    "pig",
    "pinching_hand",
    "pineapple",
    "pirate_flag",
    "pizza",
    "pleading_face",
    "point_down",
    "point_left",
    "point_right",
    "point_up",
    "point_up_2",
    "police_car",
    "poop",
    "popcorn",
    "postbox",
    "pound",
    "pout",
    "pouting_cat",
    "pray",
    "prince",
    "princess",
    "printer",
    "punch",
    "purple_heart",
    "pushpin",
    "question",
    "rabbit",
    "radio",
    "rage",
    "rain_cloud",
    "rainbow",
    "rainbow_flag",
    "raised_back_of_hand",
    "raised_hand",
    "raised_hand_with_fingers_splayed",
    "raised_hands",
    "raising_hand",
    "ramen",
    "recycle",
    "red_circle",
    "registered",
    "relaxed",
    "relieved",
    "repeat",
    "reversed_hand_with_middle_finger_extended",
    "revolving_hearts",
    "rewind",
    "ribbon",
    "rice",
    "right-facing_fist",
    "robot_face",
    "rocket",
    "rofl",
    "rolling_on_the_floor_laughing",
    "rose",
    "rotating_light",
    "round_pushpin",
    "rugby_football",
    "runner",
    "running",
    "satisfied",
    "school",
    "scissors",
    "scream",
    "scream_cat",
    "second_place_medal",
    "see_no_evil",
    "seedling",
    "selfie",
    "seven",
    "shamrock",
    "shark",
    "ship",
    "shit",
    "shrug",
    "shushing_face",
    "sign_of_the_horns",
    "six",
    "skull",
    "skull_and_crossbones",
    "sleeping",
    "sleepy",
    "slightly_frowning_face",
    "slightly_smiling_face",
    "small_red_triangle",
    "smile",
    "smile_cat",
    "smiley",
    "smiley_cat",
    "smiling_face_with_3_hearts",
    "smiling_imp",
    "smirk",
    "smirk_cat",
    "snail",
    "snake",
    "sneezing_face",
    "snowflake",
    "snowman",
    "sob",
    "soccer",
    "soon",
    "sos",
    "sound",
    "space_invader",
    "spades",
    "spaghetti",
    "sparkler",
    "sparkles",
    "sparkling_heart",
    "speak_no_evil",
    "speaker",
    "speaking_head_in_silhouette",
    "speech_balloon",
    "spiral_calendar_pad",
    "spock-hand",
    "sports_medal",
    "star",
    "star-struck",
    "star2",
    "statue_of_liberty",
    "stop_sign",
    "stopwatch",
    "straight_ruler",
    "strawberry",
    "stuck_out_tongue",
    "stuck_out_tongue_closed_eyes",
    "stuck_out_tongue_winking_eye",
    "sun_with_face",
    "sunflower",
    "sunglasses",
    "sunny",
    "sushi",
    "sweat",
    "sweat_drops",
    "sweat_smile",
    "taco",
    "tada",
    "tangerine",
    "taxi",
    "tea",
    "telephone_receiver",
    "tennis",
    "tent",
    "test_tube",
    "the_horns",
    "thinking_face",
    "third_place_medal",
    "thought_balloon",
    "three",
    "thumbsdown",
    "thumbsup",
    "tiger",
    "tired_face",
    "tm",
    "tomato",
    "tongue",
    "top",
    "traffic_light",
    "triangular_flag_on_post",
    "triangular_ruler",
    "triumph",
    "trophy",
    "tropical_drink",
    "tropical_fish",
    "truck",
    "trumpet",
    "tulip",
    "tumbler_glass",
    "turtle",
    "tv",
    "two",
    "two_hearts",
    "two_men_holding_hands",
    "two_women_holding_hands",
    "umbrella",
    "unamused",
    "unicorn_face",
    "unlock",
    "up",
    "upside_down_face",
    "v",
    "vertical_traffic_light",
    "video_game",
    "violin",
    "volcano",
    "volleyball",
    "walking",
    "warning",
    "watch",
    "watermelon",
    "wave",
    "waving_black_flag",
    "waving_white_flag",
    "weary",
    "whale",
    "white_check_mark",
    "white_circle",
    "white_frowning_face",
    "white_heart",
    "wilted_flower",
    "wine_glass",
    "wink",
    "woman",
    "woozy_face",
    "worried",
    "wrench",
    "writing_hand",
    "x",
    "yawning_face",
    "yellow_heart",
    "yen",
    "yum",
    "zany_face",
    "zap",
    "zero",
    "zipper_mouth_face",
    "zzz",
];

/// Whether `name` is a system (Unicode) emoji name.
pub fn is_system_emoji(name: &str) -> bool {
    SYSTEM_EMOJI.binary_search(&name).is_ok()
}

/// The configuration checks of upstream's `GetEmoji` / `GetEmojiByName`: custom emoji
/// disabled (`ServiceSettings.EnableCustomEmoji` false) or no file driver
/// (`FileSettings.DriverName` "") are 403.
fn check_custom_emoji(cx: &mut Cx<'_>) -> Res<()> {
    if cx.store.config.setting("ServiceSettings.EnableCustomEmoji") == Value::Bool(false) {
        return Err(cx.forbidden("api.emoji.disabled.app_error", "custom emoji are disabled"));
    }
    if cx.store.config.setting("FileSettings.DriverName") == Value::String(String::new()) {
        return Err(cx.forbidden(
            "api.emoji.storage.app_error",
            "the file storage is not configured",
        ));
    }
    Ok(())
}

/// The live custom emoji named `name` (upstream's `GetEmojiByName`, with its configuration
/// checks), or 404 `app.emoji.get_by_name.no_result`.
pub fn custom_by_name(cx: &mut Cx<'_>, name: &str) -> Res<Emoji> {
    check_custom_emoji(cx)?;
    let found = cx
        .store
        .emoji
        .all()
        .values()
        .find(|s| s.emoji.delete_at == 0 && s.emoji.name == name)
        .map(|s| s.emoji.clone());
    found.ok_or_else(|| {
        cx.err(
            404,
            "app.emoji.get_by_name.no_result",
            format!("emoji {name:?} not found"),
        )
    })
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
        // Upstream passes them to the database, which refuses a negative LIMIT or OFFSET.
        return Err(cx.err(
            500,
            "app.emoji.get_list.internal_error",
            "negative LIMIT or OFFSET",
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
        emojis: list
            .into_iter()
            .skip((req.page as usize).saturating_mul(req.per_page as usize))
            .take(req.per_page as usize)
            .collect(),
        ..Default::default()
    })
}

/// `GetEmojiByName`: fetch a custom emoji by name (404 `app.emoji.get_by_name.no_result`;
/// 403 when custom emoji are disabled). System emoji are not found here.
pub fn get_emoji_by_name(
    cx: &mut Cx<'_>,
    req: GetEmojiByNameRequest,
) -> Res<GetEmojiByNameResponse> {
    let emoji = custom_by_name(cx, &req.name)?;
    Ok(GetEmojiByNameResponse {
        emoji: Some(emoji),
        ..Default::default()
    })
}

/// `GetEmoji`: fetch a custom emoji by id (404 `app.emoji.get.no_result`; 403 when custom
/// emoji are disabled).
pub fn get_emoji(cx: &mut Cx<'_>, req: GetEmojiRequest) -> Res<GetEmojiResponse> {
    check_custom_emoji(cx)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_emoji_are_sorted_for_binary_search() {
        assert!(SYSTEM_EMOJI.windows(2).all(|w| w[0] < w[1]));
        for name in [
            "smile",
            "+1",
            "thumbsup",
            "tada",
            "heart",
            "white_check_mark",
        ] {
            assert!(is_system_emoji(name), "{name}");
        }
        assert!(!is_system_emoji("conformance-parrot"));
        assert!(!is_system_emoji("not valid!"));
    }
}
