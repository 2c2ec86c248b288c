//! Plugin rpcs of the reference PluginAPI server: the installed plugins, their enabled
//! state (`PluginSettings.PluginStates` of the server config) and status. The calling
//! plugin is installed and enabled implicitly (until it is removed). InstallPlugin takes a
//! plugin bundle as upstream does: a gzip-compressed tar holding `plugin.json` (at its
//! root or in its single top-level directory), and only while
//! `PluginSettings.EnableUploads` is on (off by default).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::prelude::*;

/// Where the reference server pretends its install lives (bundle paths are absolute).
const SERVER_ROOT: &str = "/opt/mattermost";

/// `model.PluginState*`.
pub const PLUGIN_STATE_NOT_RUNNING: i32 = 0;
pub const PLUGIN_STATE_RUNNING: i32 = 2;

/// The most a bundle may inflate to (a bound against archive bombs).
const MAX_BUNDLE_BYTES: usize = 64 << 20;

#[derive(Debug, Clone)]
struct Installed {
    manifest: Manifest,
    enabled: bool,
    /// Whether the manifest declares a server part (only those serve inter-plugin HTTP).
    has_server: bool,
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
                    has_server: true,
                });
        }
    }

    /// Whether plugin `id` is installed and enabled, as seen by plugin `caller`.
    pub fn is_active(&mut self, id: &str, caller: &str) -> bool {
        self.ensure(caller);
        self.plugins.get(id).is_some_and(|p| p.enabled)
    }

    /// Whether plugin `id` is active with a server part, i.e. has hooks that could serve
    /// an inter-plugin request (upstream `Environment.HooksForPlugin` succeeds).
    pub fn has_hooks(&mut self, id: &str, caller: &str) -> bool {
        self.ensure(caller);
        self.plugins
            .get(id)
            .is_some_and(|p| p.enabled && p.has_server)
    }
}

fn not_installed(cx: &Cx<'_>, id: &str) -> AppError {
    cx.err(
        404,
        "app.plugin.not_installed.app_error",
        format!("plugin {id:?} is not installed"),
    )
}

/// Upstream answers 501 `app.plugin.disabled.app_error` from every plugin-management call
/// while plugins are turned off (`PluginSettings.Enable` false: no plugin environment).
fn plugins_on(cx: &mut Cx<'_>) -> Res<()> {
    if cx.store.config.flag("PluginSettings.Enable") {
        Ok(())
    } else {
        Err(cx.err(
            501,
            "app.plugin.disabled.app_error",
            "plugins are turned off (PluginSettings.Enable)",
        ))
    }
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

/// Mattermost's plugin id rule (`model.IsValidPluginId`): 3-190 of `a-zA-Z0-9-_.`.
fn valid_plugin_id(id: &str) -> bool {
    (3..=190).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

// ----- reading a bundle: gzip, DEFLATE and tar --------------------------------------

/// Reads bits of a DEFLATE stream, least significant first.
struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
    buf: u64,
    count: u32,
}

impl Bits<'_> {
    fn need(&mut self, n: u32) -> Result<u32, String> {
        while self.count < n {
            let byte = *self.data.get(self.pos).ok_or("unexpected EOF")?;
            self.pos += 1;
            self.buf |= u64::from(byte) << self.count;
            self.count += 8;
        }
        let v = (self.buf & ((1u64 << n) - 1)) as u32;
        self.buf >>= n;
        self.count -= n;
        Ok(v)
    }
}

/// A canonical Huffman code: how many codes of each length, and the symbols in order.
struct Huffman {
    counts: [i32; 16],
    symbols: Vec<u16>,
}

impl Huffman {
    fn new(lengths: &[u8]) -> Self {
        let mut counts = [0i32; 16];
        for &l in lengths {
            counts[l as usize] += 1;
        }
        counts[0] = 0;
        let mut offsets = [0usize; 16];
        for len in 1..15 {
            offsets[len + 1] = offsets[len] + counts[len] as usize;
        }
        let mut symbols = vec![0u16; lengths.len()];
        for (symbol, &l) in lengths.iter().enumerate() {
            if l != 0 {
                symbols[offsets[l as usize]] = symbol as u16;
                offsets[l as usize] += 1;
            }
        }
        Self { counts, symbols }
    }

    fn decode(&self, bits: &mut Bits<'_>) -> Result<u16, String> {
        let (mut code, mut first, mut index) = (0i32, 0i32, 0i32);
        for len in 1..16 {
            code |= bits.need(1)? as i32;
            let count = self.counts[len];
            if code - count < first {
                return self
                    .symbols
                    .get((index + code - first) as usize)
                    .copied()
                    .ok_or_else(|| "invalid Huffman code".to_string());
            }
            index += count;
            first += count;
            first <<= 1;
            code <<= 1;
        }
        Err("invalid Huffman code".into())
    }
}

const LENGTH_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
const LENGTH_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
const DIST_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
const DIST_EXTRA: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];

/// Inflates a raw DEFLATE stream (RFC 1951); answers the data and where the stream ended.
fn inflate(data: &[u8]) -> Result<(Vec<u8>, usize), String> {
    let mut bits = Bits {
        data,
        pos: 0,
        buf: 0,
        count: 0,
    };
    let mut out: Vec<u8> = Vec::new();
    loop {
        let last = bits.need(1)? == 1;
        match bits.need(2)? {
            0 => {
                bits.buf = 0;
                bits.count = 0;
                let header = data.get(bits.pos..bits.pos + 4).ok_or("unexpected EOF")?;
                let len = u16::from_le_bytes([header[0], header[1]]);
                let nlen = u16::from_le_bytes([header[2], header[3]]);
                if len != !nlen {
                    return Err("corrupt stored block".into());
                }
                bits.pos += 4;
                let block = data
                    .get(bits.pos..bits.pos + len as usize)
                    .ok_or("unexpected EOF")?;
                out.extend_from_slice(block);
                bits.pos += len as usize;
            }
            1 => {
                let mut lengths = [0u8; 288];
                lengths[..144].fill(8);
                lengths[144..256].fill(9);
                lengths[256..280].fill(7);
                lengths[280..].fill(8);
                let lit = Huffman::new(&lengths);
                let dist = Huffman::new(&[5u8; 30]);
                codes(&mut bits, &mut out, &lit, &dist)?;
            }
            2 => {
                let nlen = bits.need(5)? as usize + 257;
                let ndist = bits.need(5)? as usize + 1;
                let ncode = bits.need(4)? as usize + 4;
                const ORDER: [usize; 19] = [
                    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
                ];
                let mut code_lengths = [0u8; 19];
                for &i in ORDER.iter().take(ncode) {
                    code_lengths[i] = bits.need(3)? as u8;
                }
                let lencode = Huffman::new(&code_lengths);
                let mut lengths = vec![0u8; nlen + ndist];
                let mut i = 0;
                while i < nlen + ndist {
                    let symbol = lencode.decode(&mut bits)?;
                    let (value, repeat) = match symbol {
                        0..=15 => (symbol as u8, 1),
                        16 => {
                            let prev = *lengths
                                .get(i.wrapping_sub(1))
                                .ok_or("repeat with no first length")?;
                            (prev, 3 + bits.need(2)? as usize)
                        }
                        17 => (0, 3 + bits.need(3)? as usize),
                        _ => (0, 11 + bits.need(7)? as usize),
                    };
                    if i + repeat > nlen + ndist {
                        return Err("too many lengths".into());
                    }
                    lengths[i..i + repeat].fill(value);
                    i += repeat;
                }
                let lit = Huffman::new(&lengths[..nlen]);
                let dist = Huffman::new(&lengths[nlen..]);
                codes(&mut bits, &mut out, &lit, &dist)?;
            }
            _ => return Err("invalid block type".into()),
        }
        if out.len() > MAX_BUNDLE_BYTES {
            return Err("bundle too large".into());
        }
        if last {
            return Ok((out, bits.pos));
        }
    }
}

/// Decodes the literal/length and distance codes of one block.
fn codes(
    bits: &mut Bits<'_>,
    out: &mut Vec<u8>,
    lit: &Huffman,
    dist: &Huffman,
) -> Result<(), String> {
    loop {
        let symbol = lit.decode(bits)? as usize;
        match symbol {
            0..=255 => out.push(symbol as u8),
            256 => return Ok(()),
            _ => {
                let i = symbol - 257;
                let len = *LENGTH_BASE.get(i).ok_or("invalid length code")? as usize
                    + bits.need(u32::from(LENGTH_EXTRA[i]))? as usize;
                let d = dist.decode(bits)? as usize;
                let back = *DIST_BASE.get(d).ok_or("invalid distance code")? as usize
                    + bits.need(u32::from(DIST_EXTRA[d]))? as usize;
                if back > out.len() {
                    return Err("distance too far back".into());
                }
                for _ in 0..len {
                    out.push(out[out.len() - back]);
                }
                if out.len() > MAX_BUNDLE_BYTES {
                    return Err("bundle too large".into());
                }
            }
        }
    }
}

/// The CRC-32 (IEEE) of `data`, as gzip's trailer holds it.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// The content of a gzip file (its first member), checked against its trailer.
fn gunzip(data: &[u8]) -> Result<Vec<u8>, String> {
    if data.len() < 18 || data[0] != 0x1f || data[1] != 0x8b || data[2] != 8 {
        return Err("gzip: invalid header".into());
    }
    let flags = data[3];
    let mut pos = 10;
    if flags & 4 != 0 {
        let xlen = data.get(pos..pos + 2).ok_or("unexpected EOF")?;
        pos += 2 + u16::from_le_bytes([xlen[0], xlen[1]]) as usize;
    }
    for flag in [8u8, 16] {
        if flags & flag != 0 {
            let end = data
                .get(pos..)
                .and_then(|rest| rest.iter().position(|&b| b == 0))
                .ok_or("unexpected EOF")?;
            pos += end + 1;
        }
    }
    if flags & 2 != 0 {
        pos += 2;
    }
    let (out, used) = inflate(data.get(pos..).ok_or("unexpected EOF")?)?;
    let trailer = data
        .get(pos + used..pos + used + 8)
        .ok_or("unexpected EOF")?;
    let crc = u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
    let size = u32::from_le_bytes([trailer[4], trailer[5], trailer[6], trailer[7]]);
    if crc != crc32(&out) || size != out.len() as u32 {
        return Err("gzip: invalid checksum".into());
    }
    Ok(out)
}

/// A tar header's octal number field.
fn octal(field: &[u8]) -> Result<usize, String> {
    let text: String = field
        .iter()
        .take_while(|&&b| b != 0)
        .map(|&b| b as char)
        .collect();
    let text = text.trim();
    if text.is_empty() {
        return Ok(0);
    }
    usize::from_str_radix(text, 8).map_err(|_| "archive/tar: invalid header".to_string())
}

/// The regular files and directories of a tar archive: path (without a leading `./`) ->
/// content (`None` for a directory).
fn untar(data: &[u8]) -> Result<BTreeMap<String, Option<Vec<u8>>>, String> {
    let mut entries = BTreeMap::new();
    let mut pos = 0;
    while pos + 512 <= data.len() {
        let header = &data[pos..pos + 512];
        if header.iter().all(|&b| b == 0) {
            break;
        }
        let stored = octal(&header[148..156])?;
        let sum: usize = header
            .iter()
            .enumerate()
            .map(|(i, &b)| {
                if (148..156).contains(&i) {
                    32
                } else {
                    b as usize
                }
            })
            .sum();
        if sum != stored {
            return Err("archive/tar: invalid header".into());
        }
        let size = octal(&header[124..136])?;
        let text = |field: &[u8]| -> String {
            String::from_utf8_lossy(
                &field[..field.iter().position(|&b| b == 0).unwrap_or(field.len())],
            )
            .into_owned()
        };
        let mut name = text(&header[..100]);
        if &header[257..262] == b"ustar" {
            let prefix = text(&header[345..500]);
            if !prefix.is_empty() {
                name = format!("{prefix}/{name}");
            }
        }
        let body_start = pos + 512;
        let body = data
            .get(body_start..body_start + size)
            .ok_or("unexpected EOF")?;
        let name = name
            .trim_start_matches("./")
            .trim_end_matches('/')
            .to_string();
        match header[156] {
            b'0' | 0 if !name.is_empty() => {
                entries.insert(name, Some(body.to_vec()));
            }
            b'5' if !name.is_empty() => {
                entries.insert(name, None);
            }
            _ => {}
        }
        pos = body_start + size.div_ceil(512) * 512;
    }
    Ok(entries)
}

/// What upstream's `extractPlugin` finds in a bundle: its manifest and whether the
/// manifest declares a server part. Not a gzip'd tar: 400 `app.plugin.extract.app_error`;
/// no readable `plugin.json` (at the root, or in the single top-level directory): 400
/// `app.plugin.manifest.app_error`; a bad id: 400 `app.plugin.invalid_id.app_error`.
fn read_bundle(cx: &Cx<'_>, bytes: &[u8]) -> Res<(Manifest, bool)> {
    let extract = |e: String| {
        cx.bad(
            "app.plugin.extract.app_error",
            format!("extracting the bundle: {e}"),
        )
    };
    let entries = untar(&gunzip(bytes).map_err(extract)?).map_err(extract)?;
    let tops: BTreeSet<&str> = entries
        .keys()
        .map(|k| k.split('/').next().unwrap_or_default())
        .collect();
    let mut prefix = String::new();
    if let [top] = tops.into_iter().collect::<Vec<_>>()[..]
        && entries.keys().any(|k| k.starts_with(&format!("{top}/")))
            | matches!(entries.get(top), Some(None))
    {
        prefix = format!("{top}/");
    }
    let no_manifest = |why: String| {
        cx.bad(
            "app.plugin.manifest.app_error",
            format!("reading plugin.json: {why}"),
        )
    };
    let doc = entries
        .get(&format!("{prefix}plugin.json"))
        .and_then(Option::as_ref)
        .ok_or_else(|| no_manifest("the bundle has no plugin.json".into()))?;
    let doc: Value = serde_json::from_slice(doc).map_err(|e| no_manifest(e.to_string()))?;
    let Value::Object(m) = doc else {
        return Err(no_manifest("the manifest is not a JSON object".into()));
    };
    let text = |key: &str| -> Res<String> {
        match m.get(key) {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(no_manifest(format!("field {key:?} is not a string"))),
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
    let has_server = m.get("server").is_some_and(|s| !s.is_null());
    Ok((manifest, has_server))
}

// ----- handlers ----------------------------------------------------------------------

/// `GetBundlePath`: the absolute path of the calling plugin's bundle:
/// `<PluginSettings.Directory>/<plugin id>`, relative directories under `/opt/mattermost`.
pub fn get_bundle_path(cx: &mut Cx<'_>, _req: GetBundlePathRequest) -> Res<GetBundlePathResponse> {
    let id = cx.plugin_id.to_string();
    Ok(GetBundlePathResponse {
        path: bundle_path(cx, &id),
        ..Default::default()
    })
}

/// `GetPlugins`: the manifests of every installed plugin: the active ones, then the
/// inactive ones (upstream `App.GetPlugins`), each by id.
pub fn get_plugins(cx: &mut Cx<'_>, _req: GetPluginsRequest) -> Res<GetPluginsResponse> {
    plugins_on(cx)?;
    let caller = cx.plugin_id.to_string();
    cx.store.plugins.ensure(&caller);
    let all = &cx.store.plugins.plugins;
    let active = all.values().filter(|p| p.enabled);
    let inactive = all.values().filter(|p| !p.enabled);
    Ok(GetPluginsResponse {
        manifests: active.chain(inactive).map(|p| p.manifest.clone()).collect(),
        ..Default::default()
    })
}

/// EnablePlugin and DisablePlugin: the id is lower-cased before it is looked up (upstream
/// `enablePlugin`/`disablePlugin`); the state is recorded in `PluginSettings.PluginStates`;
/// disabling drops the plugin's slash commands.
fn set_enabled(cx: &mut Cx<'_>, id: &str, enabled: bool) -> Res<()> {
    plugins_on(cx)?;
    let id = id.to_lowercase();
    installed(cx, &id)?;
    if let Some(p) = cx.store.plugins.plugins.get_mut(&id) {
        p.enabled = enabled;
    }
    cx.store.config.set_plugin_enabled(&id, Some(enabled));
    if !enabled {
        // Upstream's disablePlugin unregisters the plugin's slash commands.
        cx.store.commands.unregister_plugin_commands(&id);
    }
    Ok(())
}

/// `EnablePlugin`: enable an installed plugin (404 when not installed).
pub fn enable_plugin(cx: &mut Cx<'_>, req: EnablePluginRequest) -> Res<EnablePluginResponse> {
    set_enabled(cx, &req.id, true)?;
    Ok(EnablePluginResponse::default())
}

/// `DisablePlugin`: disable an installed plugin (404 when not installed).
pub fn disable_plugin(cx: &mut Cx<'_>, req: DisablePluginRequest) -> Res<DisablePluginResponse> {
    set_enabled(cx, &req.id, false)?;
    Ok(DisablePluginResponse::default())
}

/// `RemovePlugin`: disable, then uninstall a plugin (404 when not installed). As upstream,
/// `PluginSettings.PluginStates.<id>` stays behind as `{"Enable": false}`.
pub fn remove_plugin(cx: &mut Cx<'_>, req: RemovePluginRequest) -> Res<RemovePluginResponse> {
    set_enabled(cx, &req.id, false)?;
    installed(cx, &req.id)?;
    cx.store.plugins.plugins.remove(&req.id);
    cx.store.plugins.removed.insert(req.id.clone());
    Ok(RemovePluginResponse::default())
}

/// `GetPluginStatus`: an installed plugin's state: 2 (running) when enabled, 0 (not
/// running) when disabled; 404 when not installed (the id compared as given).
pub fn get_plugin_status(
    cx: &mut Cx<'_>,
    req: GetPluginStatusRequest,
) -> Res<GetPluginStatusResponse> {
    plugins_on(cx)?;
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

/// `InstallPlugin`: install a plugin bundle (a tar.gz with its `plugin.json`). 501
/// `app.plugin.upload_disabled.app_error` unless `PluginSettings.Enable` and
/// `EnableUploads` are on; an installed id is 400 `app.plugin.install_id.app_error`
/// unless `replace`. The plugin is enabled only if `PluginStates` already says so.
pub fn install_plugin(cx: &mut Cx<'_>, req: InstallPluginRequest) -> Res<InstallPluginResponse> {
    if !cx.store.config.flag("PluginSettings.Enable")
        || !cx.store.config.flag("PluginSettings.EnableUploads")
    {
        return Err(cx.err(
            501,
            "app.plugin.upload_disabled.app_error",
            "plugin uploads are turned off (PluginSettings.EnableUploads)",
        ));
    }
    let (manifest, has_server) = read_bundle(cx, &req.file_data)?;
    let caller = cx.plugin_id.to_string();
    cx.store.plugins.ensure(&caller);
    if cx.store.plugins.plugins.contains_key(&manifest.id) && !req.replace {
        return Err(cx.bad(
            "app.plugin.install_id.app_error",
            format!(
                "a plugin with the id {:?} is already installed",
                manifest.id
            ),
        ));
    }
    let enabled = cx
        .store
        .config
        .plugin_enabled(&manifest.id)
        .unwrap_or_default();
    cx.store.plugins.removed.remove(&manifest.id);
    cx.store.plugins.plugins.insert(
        manifest.id.clone(),
        Installed {
            manifest: manifest.clone(),
            enabled,
            has_server,
        },
    );
    Ok(InstallPluginResponse {
        manifest: Some(manifest),
        ..Default::default()
    })
}

/// `GetPluginID`: the calling plugin's id. Upstream's gRPC server answers UNIMPLEMENTED
/// ("not yet implemented"); the reference server answers (a departure).
pub fn get_plugin_id(cx: &mut Cx<'_>, _req: GetPluginIdRequest) -> Res<GetPluginIdResponse> {
    Ok(GetPluginIdResponse {
        plugin_id: cx.plugin_id.to_string(),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn b64(s: &str) -> Vec<u8> {
        base64::engine::general_purpose::STANDARD.decode(s).unwrap()
    }

    /// Made with Python's gzip and tarfile (see suites/api/plugins.json, whose bundles
    /// are the same kind).
    const HELLO: &str = "H4sIAAAAAAACA8tIzcnJV8jARwIAVzdihSMAAAA=";
    const STORED: &str = "H4sIAAAAAAAEAwEMAPP/c3RvcmVkIGJsb2NrlKMkPQwAAAA=";
    const ALPHA: &str = "H4sIAAAAAAACA+3SzWoDIRQFYB8luE4cx8m0JLs+ySDGZCzjD+qUQOm755IWAhkKXaTd9Hybq/cqLo4mhmPMXgdjN3pKo27Yw0ny3PfXSu7rct22nVJs1bM/MJeqMz3P/iezyD9N88kF8VpieGD+T9vtt/kr1d3l3/WtZCuJ/H/dO3cHvueLb8DXPGhvafTytT3YYrJL1cVA3aPLpVJ3jN4mfbLDnCdqj7Wmsm8ae9Y+TVaY6OnQm83l81orlOio410Yis00GG7DnZBC8g8GAAAAAAAAAAAAAAAAAAAAAAA/cwF6onL1ACgAAA==";

    #[test]
    fn gunzip_reads_every_block_type_and_checks_the_trailer() {
        assert_eq!(
            gunzip(&b64(HELLO)).unwrap(),
            b"hello hello hello hello hello hello"
        );
        assert_eq!(gunzip(&b64(STORED)).unwrap(), b"stored block");
        let mut bad = b64(HELLO);
        let n = bad.len();
        bad[n - 5] ^= 1;
        assert!(gunzip(&bad).is_err());
        assert!(gunzip(b"hello").is_err());
        assert!(gunzip(&b64(HELLO)[..12]).is_err());
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn a_bundle_yields_its_manifest() {
        let entries = untar(&gunzip(&b64(ALPHA)).unwrap()).unwrap();
        assert!(entries.contains_key("conformance-alpha/plugin.json"));
        let mut store = super::super::Store::default();
        let cx = Cx {
            store: &mut store,
            plugin_id: "p",
            now: 0,
            rpc: "InstallPlugin",
            effect: None,
        };
        let (manifest, has_server) = read_bundle(&cx, &b64(ALPHA)).unwrap();
        assert_eq!(manifest.id, "conformance-alpha");
        assert_eq!(manifest.version, "1.2.3");
        assert!(!has_server);
        assert_eq!(
            read_bundle(&cx, b"[]").unwrap_err().id,
            "app.plugin.extract.app_error"
        );
    }
}
