//! Preference rpcs of the reference PluginAPI server.

use super::prelude::*;

/// This domain's part of the store.
#[derive(Debug, Default)]
pub struct PreferencesState {}

/// `GetPreferenceForUser`: one preference by category/name.
pub fn get_preference_for_user(
    _cx: &mut Cx<'_>,
    _req: GetPreferenceForUserRequest,
) -> Res<GetPreferenceForUserResponse> {
    todo_rpc("GetPreferenceForUser")
}

/// `GetPreferencesForUser`: all preferences of a user.
pub fn get_preferences_for_user(
    _cx: &mut Cx<'_>,
    _req: GetPreferencesForUserRequest,
) -> Res<GetPreferencesForUserResponse> {
    todo_rpc("GetPreferencesForUser")
}

/// `UpdatePreferencesForUser`: save preferences for a user.
pub fn update_preferences_for_user(
    _cx: &mut Cx<'_>,
    _req: UpdatePreferencesForUserRequest,
) -> Res<UpdatePreferencesForUserResponse> {
    todo_rpc("UpdatePreferencesForUser")
}

/// `DeletePreferencesForUser`: delete preferences for a user.
pub fn delete_preferences_for_user(
    _cx: &mut Cx<'_>,
    _req: DeletePreferencesForUserRequest,
) -> Res<DeletePreferencesForUserResponse> {
    todo_rpc("DeletePreferencesForUser")
}
