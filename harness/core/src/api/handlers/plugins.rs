//! Plugin rpcs of the reference PluginAPI server: the installed plugins, their enabled
//! state and status. The calling plugin is installed and enabled implicitly (until it is
//! removed). InstallPlugin takes the bundle as bytes; the reference server has no tar
//! reader, so the bundle it accepts is the `plugin.json` manifest document itself.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::prelude::*;

/// Where the reference server pretends its install lives (bundle paths are absolute).
const SERVER_ROOT: &str = "/opt/mattermost";

/// `model.PluginState*`.
pub const PLUGIN_STATE_NOT_RUNNING: i32 = 0;
pub const PLUGIN_STATE_RUNNING: i32 = 2;

#[derive(Debug, Clone)]
struct Installed {
    manifest: Manifest,
    enabled: bool,
}

/// This domain's part of the store.
#[derive(Debug, Default)]
pub struct PluginsState {
    plugins: BTreeMap<String, Installed>,
    /// Plugin ids that called the API once and were removed since: not re-added implicitly.
    removed: BTreeSet<String>,
}

impl PluginsState {
    /// Adds the calling plugin (installed, enabled) the first time it is seen.
    fn ensure(&mut self, caller: &str) {
        if !caller.is_empty() && !self.removed.contains(caller) {
            self.plugins
                .entry(caller.to_string())
                .or_insert_with(|| Installed {
                    manifest: Manifest {
                        id: caller.to_string(),
                        name: caller.to_string(),
                        ..Default::default()
                    },
                    enabled: true,
                });
        }
    }

    /// Whether plugin `id` is installed and enabled, as seen by plugin `caller`.
    pub fn is_active(&mut self, id: &str, caller: &str) -> bool {
        self.ensure(caller);
        self.plugins.get(id).is_some_and(|p| p.enabled)
    }
}

fn not_installed(cx: &Cx<'_>, id: &str) -> AppError {
    cx.err(
        404,
        "app.plugin.not_installed.app_error",
        format!("plugin {id:?} is not installed"),
    )
}

/// The installed plugin `id` (after adding the caller), or 404.
fn installed(cx: &mut Cx<'_>, id: &str) -> Res<Installed> {
    let caller = cx.plugin_id.to_string();
    cx.store.plugins.ensure(&caller);
    cx.store
        .plugins
        .plugins
        .get(id)
        .cloned()
        .ok_or_else(|| not_installed(cx, id))
}

fn bundle_path(cx: &mut Cx<'_>, id: &str) -> String {
    let dir = cx.store.config.plugin_directory();
    let dir = dir.trim_end_matches('/');
    let dir = if dir.starts_with('/') {
        dir.to_string()
    } else {
        format!("{SERVER_ROOT}/{}", dir.trim_start_matches("./"))
    };
    format!("{dir}/{id}")
}

/// Mattermost's plugin id rule: 3-190 of `a-zA-Z0-9-_.`.
fn valid_plugin_id(id: &str) -> bool {
    (3..=190).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// A semantic version `MAJOR.MINOR.PATCH` with an optional `-pre`/`+build` suffix and an
/// optional leading `v`.
fn valid_version(v: &str) -> bool {
    let v = v.strip_prefix('v').unwrap_or(v);
    let core = v.split(['-', '+']).next().unwrap_or_default();
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// Reads a `plugin.json` document into a Manifest.
fn parse_manifest(cx: &Cx<'_>, bytes: &[u8]) -> Res<Manifest> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        return Err(cx.bad(
            "app.plugin.extract.app_error",
            "the reference server cannot read tar.gz bundles; send the plugin.json manifest \
             document as the bundle",
        ));
    }
    let doc: Value = serde_json::from_slice(bytes).map_err(|e| {
        cx.bad(
            "app.plugin.manifest.missing.app_error",
            format!("the bundle is not a plugin.json manifest: {e}"),
        )
    })?;
    let Value::Object(m) = doc else {
        return Err(cx.bad(
            "app.plugin.manifest.missing.app_error",
            "the manifest must be a JSON object",
        ));
    };
    let text = |key: &str| -> Res<String> {
        match m.get(key) {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(cx.bad(
                "app.plugin.manifest.invalid.app_error",
                format!("manifest field {key:?} must be a string"),
            )),
        }
    };
    let manifest = Manifest {
        id: text("id")?,
        name: text("name")?,
        description: text("description")?,
        homepage_url: text("homepage_url")?,
        support_url: text("support_url")?,
        release_notes_url: text("release_notes_url")?,
        icon_path: text("icon_path")?,
        version: text("version")?,
        min_server_version: text("min_server_version")?,
    };
    if !valid_plugin_id(&manifest.id) {
        return Err(cx.bad(
            "app.plugin.invalid_id.app_error",
            format!(
                "plugin ids are 3 to 190 of a-z, A-Z, 0-9, '-', '_' and '.'; got {:?}",
                manifest.id
            ),
        ));
    }
    if !manifest.version.is_empty() && !valid_version(&manifest.version) {
        return Err(cx.bad(
            "model.manifest.is_valid.version.app_error",
            format!("version {:?} is not a semantic version", manifest.version),
        ));
    }
    if !manifest.min_server_version.is_empty() && !valid_version(&manifest.min_server_version) {
        return Err(cx.bad(
            "model.manifest.is_valid.min_server_version.app_error",
            format!(
                "min_server_version {:?} is not a semantic version",
                manifest.min_server_version
            ),
        ));
    }
    Ok(manifest)
}

/// `GetBundlePath`: the absolute path of the calling plugin's bundle:
/// `<PluginSettings.Directory>/<plugin id>`, relative directories under `/opt/mattermost`.
pub fn get_bundle_path(cx: &mut Cx<'_>, _req: GetBundlePathRequest) -> Res<GetBundlePathResponse> {
    let id = cx.plugin_id.to_string();
    Ok(GetBundlePathResponse {
        path: bundle_path(cx, &id),
        ..Default::default()
    })
}

/// `GetPlugins`: the manifests of every installed plugin, enabled or not, sorted by id.
pub fn get_plugins(cx: &mut Cx<'_>, _req: GetPluginsRequest) -> Res<GetPluginsResponse> {
    let caller = cx.plugin_id.to_string();
    cx.store.plugins.ensure(&caller);
    Ok(GetPluginsResponse {
        manifests: cx
            .store
            .plugins
            .plugins
            .values()
            .map(|p| p.manifest.clone())
            .collect(),
        ..Default::default()
    })
}

fn set_enabled(cx: &mut Cx<'_>, id: &str, enabled: bool) -> Res<()> {
    installed(cx, id)?;
    if let Some(p) = cx.store.plugins.plugins.get_mut(id) {
        p.enabled = enabled;
    }
    cx.store.config.set_plugin_enabled(id, Some(enabled));
    Ok(())
}

/// `EnablePlugin`: enable an installed plugin (404 when not installed); recorded in
/// `PluginSettings.PluginStates`.
pub fn enable_plugin(cx: &mut Cx<'_>, req: EnablePluginRequest) -> Res<EnablePluginResponse> {
    set_enabled(cx, &req.id, true)?;
    Ok(EnablePluginResponse::default())
}

/// `DisablePlugin`: disable an installed plugin (404 when not installed).
pub fn disable_plugin(cx: &mut Cx<'_>, req: DisablePluginRequest) -> Res<DisablePluginResponse> {
    set_enabled(cx, &req.id, false)?;
    Ok(DisablePluginResponse::default())
}

/// `RemovePlugin`: uninstall a plugin (404 when not installed).
pub fn remove_plugin(cx: &mut Cx<'_>, req: RemovePluginRequest) -> Res<RemovePluginResponse> {
    installed(cx, &req.id)?;
    cx.store.plugins.plugins.remove(&req.id);
    cx.store.plugins.removed.insert(req.id.clone());
    cx.store.config.set_plugin_enabled(&req.id, None);
    Ok(RemovePluginResponse::default())
}

/// `GetPluginStatus`: an installed plugin's state: 2 (running) when enabled, 0 (not
/// running) when disabled; 404 when not installed.
pub fn get_plugin_status(
    cx: &mut Cx<'_>,
    req: GetPluginStatusRequest,
) -> Res<GetPluginStatusResponse> {
    let plugin = installed(cx, &req.id)?;
    let path = bundle_path(cx, &req.id);
    Ok(GetPluginStatusResponse {
        status: Some(PluginStatus {
            plugin_id: plugin.manifest.id,
            plugin_path: path,
            state: if plugin.enabled {
                PLUGIN_STATE_RUNNING
            } else {
                PLUGIN_STATE_NOT_RUNNING
            },
            name: plugin.manifest.name,
            description: plugin.manifest.description,
            version: plugin.manifest.version,
        }),
        ..Default::default()
    })
}

/// `InstallPlugin`: install a plugin from its bundle bytes, which for the reference server
/// are the `plugin.json` manifest document (a tar.gz or anything else is 400). A new
/// plugin starts disabled; an installed id is 400 unless `replace`, which keeps its
/// enabled state.
pub fn install_plugin(cx: &mut Cx<'_>, req: InstallPluginRequest) -> Res<InstallPluginResponse> {
    if req.file_data.is_empty() {
        return Err(cx.required("file_data"));
    }
    let manifest = parse_manifest(cx, &req.file_data)?;
    let caller = cx.plugin_id.to_string();
    cx.store.plugins.ensure(&caller);
    let existing = cx.store.plugins.plugins.get(&manifest.id).cloned();
    if existing.is_some() && !req.replace {
        return Err(cx.bad(
            "app.plugin.install_id.app_error",
            format!(
                "a plugin with the id {:?} is already installed",
                manifest.id
            ),
        ));
    }
    let enabled = existing.is_some_and(|p| p.enabled);
    cx.store.plugins.removed.remove(&manifest.id);
    cx.store.plugins.plugins.insert(
        manifest.id.clone(),
        Installed {
            manifest: manifest.clone(),
            enabled,
        },
    );
    Ok(InstallPluginResponse {
        manifest: Some(manifest),
        ..Default::default()
    })
}

/// `GetPluginID`: the calling plugin's id (upstream answers UNIMPLEMENTED; we answer).
pub fn get_plugin_id(cx: &mut Cx<'_>, _req: GetPluginIdRequest) -> Res<GetPluginIdResponse> {
    Ok(GetPluginIdResponse {
        plugin_id: cx.plugin_id.to_string(),
        ..Default::default()
    })
}
