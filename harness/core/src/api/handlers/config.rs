//! Config rpcs of the reference PluginAPI server.

use super::prelude::*;

/// This domain's part of the store.
#[derive(Debug, Default)]
pub struct ConfigState {}

/// `LoadPluginConfiguration`: read this plugin's settings as a JSON blob.
pub fn load_plugin_configuration(
    _cx: &mut Cx<'_>,
    _req: LoadPluginConfigurationRequest,
) -> Res<LoadPluginConfigurationResponse> {
    todo_rpc("LoadPluginConfiguration")
}

/// `GetConfig`: read the sanitized server config as a JSON blob.
pub fn get_config(_cx: &mut Cx<'_>, _req: GetConfigRequest) -> Res<GetConfigResponse> {
    todo_rpc("GetConfig")
}

/// `GetUnsanitizedConfig`: read the full server config (with secrets) as JSON.
pub fn get_unsanitized_config(
    _cx: &mut Cx<'_>,
    _req: GetUnsanitizedConfigRequest,
) -> Res<GetUnsanitizedConfigResponse> {
    todo_rpc("GetUnsanitizedConfig")
}

/// `SaveConfig`: save a server config supplied as JSON.
pub fn save_config(_cx: &mut Cx<'_>, _req: SaveConfigRequest) -> Res<SaveConfigResponse> {
    todo_rpc("SaveConfig")
}

/// `GetPluginConfig`: read this plugin's settings as a Struct.
pub fn get_plugin_config(
    _cx: &mut Cx<'_>,
    _req: GetPluginConfigRequest,
) -> Res<GetPluginConfigResponse> {
    todo_rpc("GetPluginConfig")
}

/// `SavePluginConfig`: save this plugin's settings from a Struct.
pub fn save_plugin_config(
    _cx: &mut Cx<'_>,
    _req: SavePluginConfigRequest,
) -> Res<SavePluginConfigResponse> {
    todo_rpc("SavePluginConfig")
}
