//! Plugin rpcs of the reference PluginAPI server.

use super::prelude::*;

/// This domain's part of the store.
#[derive(Debug, Default)]
pub struct PluginsState {}

/// `GetBundlePath`: filesystem path of the plugin bundle.
pub fn get_bundle_path(_cx: &mut Cx<'_>, _req: GetBundlePathRequest) -> Res<GetBundlePathResponse> {
    todo_rpc("GetBundlePath")
}

/// `GetPlugins`: manifests of installed plugins.
pub fn get_plugins(_cx: &mut Cx<'_>, _req: GetPluginsRequest) -> Res<GetPluginsResponse> {
    todo_rpc("GetPlugins")
}

/// `EnablePlugin`: enable a plugin by id.
pub fn enable_plugin(_cx: &mut Cx<'_>, _req: EnablePluginRequest) -> Res<EnablePluginResponse> {
    todo_rpc("EnablePlugin")
}

/// `DisablePlugin`: disable a plugin by id.
pub fn disable_plugin(_cx: &mut Cx<'_>, _req: DisablePluginRequest) -> Res<DisablePluginResponse> {
    todo_rpc("DisablePlugin")
}

/// `RemovePlugin`: uninstall a plugin by id.
pub fn remove_plugin(_cx: &mut Cx<'_>, _req: RemovePluginRequest) -> Res<RemovePluginResponse> {
    todo_rpc("RemovePlugin")
}

/// `GetPluginStatus`: running state of a plugin.
pub fn get_plugin_status(
    _cx: &mut Cx<'_>,
    _req: GetPluginStatusRequest,
) -> Res<GetPluginStatusResponse> {
    todo_rpc("GetPluginStatus")
}

/// `InstallPlugin`: install a plugin bundle from bytes.
pub fn install_plugin(_cx: &mut Cx<'_>, _req: InstallPluginRequest) -> Res<InstallPluginResponse> {
    todo_rpc("InstallPlugin")
}

/// `GetPluginID`: the calling plugin's id.
pub fn get_plugin_id(_cx: &mut Cx<'_>, _req: GetPluginIdRequest) -> Res<GetPluginIdResponse> {
    todo_rpc("GetPluginID")
}
