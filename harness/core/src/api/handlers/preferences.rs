//! Preference rpcs of the reference PluginAPI server: (category, name) -> value per
//! user, with upstream's validation and ownership check.

// Every handler answers `Res<_>`, whose error is the protocol's AppError message.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;

use super::prelude::*;

/// Preferences by (user id, category, name) -> value.
#[derive(Debug, Default)]
pub struct PreferencesState {
    prefs: BTreeMap<(String, String, String), String>,
}

/// Upstream limits (`model.Preference.IsValid`): category and name in bytes, value in
/// characters.
const MAX_CATEGORY: usize = 32;
const MAX_NAME: usize = 32;
const MAX_VALUE: usize = 20000;

/// Saves one preference of a user (insert or overwrite), for other rpcs' side effects.
pub(super) fn set_preference(
    cx: &mut Cx<'_>,
    user_id: &str,
    category: &str,
    name: &str,
    value: &str,
) {
    cx.store.preferences.prefs.insert(
        (user_id.to_string(), category.to_string(), name.to_string()),
        value.to_string(),
    );
}

/// The preferences upstream's `createUserOrGuest` saves for every user it creates:
/// recommended next steps not hidden, the tutorial at step 0, and the "GM as DM" system
/// notice marked as seen.
pub(super) fn set_new_user_preferences(cx: &mut Cx<'_>, user_id: &str) {
    set_preference(cx, user_id, "recommended_next_steps", "hide", "false");
    set_preference(cx, user_id, "tutorial_step", user_id, "0");
    set_preference(cx, user_id, "system_notice", "GMasDM", "true");
}

/// Every preference must belong to `user_id` (403 otherwise, as upstream's
/// `UpdatePreferences`/`DeletePreferences`).
fn check_owner(cx: &Cx<'_>, user_id: &str, prefs: &[Preference], error_id: &str) -> Res<()> {
    if let Some(p) = prefs.iter().find(|p| p.user_id != user_id) {
        return Err(cx.forbidden(
            error_id,
            format!(
                "preference user id {:?} does not match {user_id:?}",
                p.user_id
            ),
        ));
    }
    Ok(())
}

/// Upstream's `Preference.IsValid`, in its order.
fn validate(cx: &Cx<'_>, p: &Preference) -> Res<()> {
    let invalid = |field: &str, msg: String| {
        cx.bad(&format!("model.preference.is_valid.{field}.app_error"), msg)
    };
    if !is_valid_id(&p.user_id) {
        return Err(invalid("id", format!("invalid user id {:?}", p.user_id)));
    }
    if p.category.is_empty() || p.category.len() > MAX_CATEGORY {
        return Err(invalid(
            "category",
            format!("category must be 1 to {MAX_CATEGORY} bytes"),
        ));
    }
    if p.name.len() > MAX_NAME {
        return Err(invalid(
            "name",
            format!("name must be at most {MAX_NAME} bytes"),
        ));
    }
    if p.value.chars().count() > MAX_VALUE {
        return Err(invalid(
            "value",
            format!("value must be at most {MAX_VALUE} characters"),
        ));
    }
    if p.category == "theme"
        && serde_json::from_str::<std::collections::HashMap<String, String>>(&p.value).is_err()
    {
        return Err(invalid(
            "theme",
            "a theme value must be a JSON object of strings".into(),
        ));
    }
    if p.category == "sidebar_settings"
        && p.name == "limit_visible_dms_gms"
        && !p.value.parse::<i64>().is_ok_and(|n| (1..=40).contains(&n))
    {
        return Err(invalid(
            "limit_visible_dms_gms",
            "limit_visible_dms_gms must be a number from 1 to 40".into(),
        ));
    }
    Ok(())
}

/// `GetPreferenceForUser`: one preference by category/name. An unset one (of any user id,
/// known or not) is 400 `app.preference.get.app_error`, as upstream's store error.
pub fn get_preference_for_user(
    cx: &mut Cx<'_>,
    req: GetPreferenceForUserRequest,
) -> Res<GetPreferenceForUserResponse> {
    let key = (req.user_id, req.category, req.name);
    let value = cx
        .store
        .preferences
        .prefs
        .get(&key)
        .cloned()
        .ok_or_else(|| {
            cx.bad(
                "app.preference.get.app_error",
                format!("no preference {:?}/{:?}", key.1, key.2),
            )
        })?;
    let (user_id, category, name) = key;
    Ok(GetPreferenceForUserResponse {
        preference: Some(Preference {
            user_id,
            category,
            name,
            value,
        }),
        ..Default::default()
    })
}

/// `GetPreferencesForUser`: all preferences of a user, sorted by category then name; an
/// unknown user has none (no error, as upstream).
pub fn get_preferences_for_user(
    cx: &mut Cx<'_>,
    req: GetPreferencesForUserRequest,
) -> Res<GetPreferencesForUserResponse> {
    let preferences = cx
        .store
        .preferences
        .prefs
        .iter()
        .filter(|((u, _, _), _)| *u == req.user_id)
        .map(|((user_id, category, name), value)| Preference {
            user_id: user_id.clone(),
            category: category.clone(),
            name: name.clone(),
            value: value.clone(),
        })
        .collect();
    Ok(GetPreferencesForUserResponse {
        preferences,
        ..Default::default()
    })
}

/// `UpdatePreferencesForUser`: save (insert or overwrite) preferences for a user; all or
/// nothing: ownership of every preference first (403), then each one's validity (400).
/// The user itself is not looked up, as upstream.
pub fn update_preferences_for_user(
    cx: &mut Cx<'_>,
    req: UpdatePreferencesForUserRequest,
) -> Res<UpdatePreferencesForUserResponse> {
    check_owner(
        cx,
        &req.user_id,
        &req.preferences,
        "api.preference.update_preferences.set.app_error",
    )?;
    for p in &req.preferences {
        validate(cx, p)?;
    }
    for p in req.preferences {
        cx.store
            .preferences
            .prefs
            .insert((p.user_id, p.category, p.name), p.value);
    }
    Ok(UpdatePreferencesForUserResponse::default())
}

/// `DeletePreferencesForUser`: delete preferences for a user by (category, name); missing
/// ones are ignored, and so is whether the user exists.
pub fn delete_preferences_for_user(
    cx: &mut Cx<'_>,
    req: DeletePreferencesForUserRequest,
) -> Res<DeletePreferencesForUserResponse> {
    check_owner(
        cx,
        &req.user_id,
        &req.preferences,
        "api.preference.delete_preferences.delete.app_error",
    )?;
    for p in req.preferences {
        cx.store
            .preferences
            .prefs
            .remove(&(p.user_id, p.category, p.name));
    }
    Ok(DeletePreferencesForUserResponse::default())
}
