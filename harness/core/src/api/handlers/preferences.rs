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

/// Upstream limits (`model.Preference.IsValid`).
const MAX_CATEGORY: usize = 32;
const MAX_NAME: usize = 32;
const MAX_VALUE: usize = 2000;

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

fn validate(cx: &Cx<'_>, p: &Preference) -> Res<()> {
    let invalid = |field: &str, msg: String| {
        cx.bad(&format!("model.preference.is_valid.{field}.app_error"), msg)
    };
    if p.category.is_empty() || p.category.chars().count() > MAX_CATEGORY {
        return Err(invalid(
            "category",
            format!("category must be 1 to {MAX_CATEGORY} characters"),
        ));
    }
    if p.name.chars().count() > MAX_NAME {
        return Err(invalid(
            "name",
            format!("name must be at most {MAX_NAME} characters"),
        ));
    }
    if p.value.chars().count() > MAX_VALUE {
        return Err(invalid(
            "value",
            format!("value must be at most {MAX_VALUE} characters"),
        ));
    }
    if p.category == "theme" && serde_json::from_str::<serde_json::Value>(&p.value).is_err() {
        return Err(invalid("theme", "a theme value must be JSON".into()));
    }
    Ok(())
}

/// `GetPreferenceForUser`: one preference by category/name (404 when unset).
pub fn get_preference_for_user(
    cx: &mut Cx<'_>,
    req: GetPreferenceForUserRequest,
) -> Res<GetPreferenceForUserResponse> {
    cx.user(&req.user_id)?;
    let key = (req.user_id, req.category, req.name);
    let value = cx
        .store
        .preferences
        .prefs
        .get(&key)
        .cloned()
        .ok_or_else(|| {
            cx.err(
                404,
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

/// `GetPreferencesForUser`: all preferences of a user, sorted by category then name.
pub fn get_preferences_for_user(
    cx: &mut Cx<'_>,
    req: GetPreferencesForUserRequest,
) -> Res<GetPreferencesForUserResponse> {
    cx.user(&req.user_id)?;
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
/// nothing.
pub fn update_preferences_for_user(
    cx: &mut Cx<'_>,
    req: UpdatePreferencesForUserRequest,
) -> Res<UpdatePreferencesForUserResponse> {
    cx.user(&req.user_id)?;
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
/// ones are ignored.
pub fn delete_preferences_for_user(
    cx: &mut Cx<'_>,
    req: DeletePreferencesForUserRequest,
) -> Res<DeletePreferencesForUserResponse> {
    cx.user(&req.user_id)?;
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
