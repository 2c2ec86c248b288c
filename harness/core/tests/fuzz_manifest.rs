//! Fuzzing the manifest parser and launch planning (SPEC §16–§17).
//!
//! Arbitrary bytes, JSON-ish manifests (random ids, executables with `..`, absolute paths,
//! unicode, huge strings, wrong types, nested junk, mutated and deeply nested text) are
//! written as `plugin.json` into a temporary bundle (with and without venvs, with symlinks
//! inside and out, reached directly or through a symlinked bundle dir) and planned with
//! `LaunchPlan::for_bundle`. Properties:
//! * never a panic: the outcome is `Ok` or a typed [`ManifestError`];
//! * the outcome is the one an independent model of the upstream rules predicts (Go's
//!   `GetExecutableForRuntime`, `isPythonPlugin`, `sanitizePythonScriptPath`,
//!   `findPythonInterpreter`), and an error's message names the problem (the variant's
//!   wording plus the offending id or executable);
//! * a planned script never leaves the bundle: `canonical(bundle/script)` is a file inside
//!   `canonical(bundle)`, and the script path is relative with no `..`.
//!
//! `PROPTEST_CASES` overrides the case count (default 1024; the check that every outcome was
//! reached runs only at 1024 or more).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use conformance_core::manifest::{
    InterpreterSource, LaunchPlan, MANIFEST_FILE, ManifestError, platform_key,
};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Map, Value, json};

const DEFAULT_CASES: u32 = 1024;

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CASES)
}

fn config() -> Config {
    Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    }
}

// ---------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------

/// Nested junk of any JSON type.
fn junk() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        (-1e6f64..1e6).prop_map(|f| json!(f)),
        "\\PC{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            vec(("[a-z_]{0,8}", inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// A string field: mostly a string from `s`, sometimes null or junk; `None` leaves the key out.
fn field(s: BoxedStrategy<String>) -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        40 => s.prop_map(|s| Some(Value::String(s))),
        1 => Just(None),
        1 => Just(Some(Value::Null)),
        1 => junk().prop_map(Some),
    ]
}

fn id() -> BoxedStrategy<String> {
    prop_oneof![
        12 => "[a-z]{1,8}(\\.[a-z0-9_-]{1,10}){1,3}",
        1 => "[a-zA-Z0-9._-]{0,4}",
        1 => (185usize..=195).prop_map(|n| "a".repeat(n)),
        1 => (1000usize..100_000).prop_map(|n| "x".repeat(n)),
        1 => "\\PC{1,12}",
        1 => "[a-z]{2,5}[ /\\\\:\u{e9}\u{0}\n]{1,2}[a-z]{1,5}",
    ]
    .boxed()
}

/// Executables that exercise every path of the script rule against the bundle layout
/// below (see `World::build`).
const EXECUTABLES: &[&str] = &[
    "plugin.py",
    "./plugin.py",
    "/plugin.py",
    "//plugin.py",
    "plugin.py/",
    "sub/inner.py",
    "sub/./inner.py",
    "sub/../plugin.py",
    "subdir-link/inner.py",
    "subdir-link/../plugin.py",
    "link-in.py",
    "abs-in.py",
    "link-out.py",
    "up-link.py",
    "outdir/evil.py",
    "outdir/../plugin.py",
    "loop.py",
    "dangling.py",
    "dir.py",
    "sub",
    "missing.py",
    "plugin",
    "etc/passwd",
    "/etc/passwd",
    "../outside.py",
    "../bundle/plugin.py",
    "sub/../../outside.py",
    "..",
    ".",
    "/",
    "",
    "./",
    "a/../..",
    "venv/bin/python",
    "plugin.json",
    "plugin.py\0",
    "plu\ngin.py",
    "..\\outside.py",
];

fn executable() -> BoxedStrategy<String> {
    let segment = prop_oneof![
        Just("..".to_string()),
        Just(".".to_string()),
        Just(String::new()),
        Just("sub".to_string()),
        Just("plugin.py".to_string()),
        Just("outdir".to_string()),
        Just("subdir-link".to_string()),
        Just("link-in.py".to_string()),
        Just("inner.py".to_string()),
        "[a-z]{1,3}(\\.py)?",
        Just("é漢字.py".to_string()),
    ];
    prop_oneof![
        8 => proptest::sample::select(EXECUTABLES).prop_map(str::to_string),
        4 => (any::<bool>(), vec(segment, 1..7)).prop_map(|(root, parts)| {
            format!("{}{}", if root { "/" } else { "" }, parts.join("/"))
        }),
        1 => "\\PC{0,20}",
        1 => (200usize..70_000).prop_map(|n| format!("{}.py", "a".repeat(n))),
        1 => (50usize..3000).prop_map(|n| format!("{}plugin.py", "sub/../".repeat(n))),
        1 => (50usize..3000).prop_map(|n| format!("{}plugin.py", "../".repeat(n))),
    ]
    .boxed()
}

fn runtime() -> BoxedStrategy<String> {
    prop_oneof![
        6 => Just("python".to_string()),
        1 => Just("PYTHON".to_string()),
        1 => Just("Python".to_string()),
        2 => Just("go".to_string()),
        1 => Just(String::new()),
        1 => Just(" python".to_string()),
        1 => "\\PC{0,10}",
    ]
    .boxed()
}

fn executables() -> impl Strategy<Value = Option<Value>> {
    let other_platforms = proptest::sample::select(vec![
        "windows-amd64",
        "darwin-arm64",
        "linux-arm64",
        "linux-amd64",
        "freebsd-amd64",
        "",
    ]);
    let map = (
        field(executable()),
        vec((other_platforms, field(executable())), 0..3),
    )
        .prop_map(|(ours, others)| {
            let mut m = Map::new();
            for (k, v) in others {
                if let Some(v) = v {
                    m.insert(k.to_string(), v);
                }
            }
            if let Some(v) = ours {
                m.insert(platform_key(), v);
            }
            Value::Object(m)
        });
    prop_oneof![
        8 => Just(None),
        1 => Just(Some(Value::Null)),
        8 => map.prop_map(Some),
        1 => junk().prop_map(Some),
    ]
}

fn server() -> impl Strategy<Value = Option<Value>> {
    let object = (
        field(executable()),
        executables(),
        field(runtime()),
        field("[<>=0-9. ]{0,8}".boxed()),
        vec(("[a-z_]{1,10}", junk()), 0..3),
    )
        .prop_map(|(exe, exes, rt, pyver, extra)| {
            let mut m = Map::new();
            for (k, v) in extra {
                m.insert(k, v);
            }
            for (k, v) in [
                ("executable", exe),
                ("executables", exes),
                ("runtime", rt),
                ("python_version", pyver),
            ] {
                if let Some(v) = v {
                    m.insert(k.to_string(), v);
                }
            }
            Value::Object(m)
        });
    prop_oneof![
        24 => object.prop_map(Some),
        1 => Just(None),
        1 => Just(Some(Value::Null)),
        2 => junk().prop_map(Some),
    ]
}

fn manifest_value() -> impl Strategy<Value = Value> {
    let object = (
        field(id()),
        field("\\PC{0,20}".boxed()),
        field("[0-9.]{0,8}".boxed()),
        server(),
        vec(("[a-z_]{1,12}", junk()), 0..3),
    )
        .prop_map(|(id, name, version, server, extra)| {
            let mut m = Map::new();
            for (k, v) in extra {
                m.insert(k, v);
            }
            for (k, v) in [
                ("id", id),
                ("name", name),
                ("version", version),
                ("server", server),
            ] {
                if let Some(v) = v {
                    m.insert(k.to_string(), v);
                }
            }
            Value::Object(m)
        });
    prop_oneof![16 => object, 1 => junk()]
}

fn mutate(mut bytes: Vec<u8>, at: Index, how: u8, byte: u8) -> Vec<u8> {
    let i = at.index(bytes.len() + 1);
    match how % 5 {
        0 => bytes.truncate(i),
        1 => bytes.insert(i, byte),
        2 if i < bytes.len() => bytes[i] = byte,
        3 if i < bytes.len() => {
            bytes.remove(i);
        }
        _ => bytes.splice(0..0, [0xEF, 0xBB, 0xBF]).for_each(drop),
    }
    bytes
}

/// The bytes of `plugin.json`.
fn manifest_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        20 => manifest_value().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        3 => manifest_value().prop_map(|v| serde_json::to_vec_pretty(&v).unwrap()),
        1 => vec(any::<u8>(), 0..600),
        2 => (manifest_value(), any::<Index>(), any::<u8>(), any::<u8>()).prop_map(
            |(v, at, how, byte)| mutate(serde_json::to_vec(&v).unwrap(), at, how, byte)
        ),
        1 => (1usize..3000).prop_map(|n| format!(
            r#"{{"id":"com.example.deep","server":{{"executable":"plugin.py"}},"junk":{}{}}}"#,
            "[".repeat(n),
            "]".repeat(n)
        ).into_bytes()),
        1 => proptest::sample::select(vec![
            "", " ", "null", "[]", "{}", "\"id\"", "{\"id\":\"abc\"}", "[\"com.example.arr\"]",
        ]).prop_map(|s| s.as_bytes().to_vec()),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Venv {
    None,
    Python,
    Python3Only,
    HiddenDir,
    NonExecThenDot,
    SymlinkOutside,
    Dangling,
    DirectoryThenPython3,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PathVar {
    Unset,
    EmptyDir,
    Python3,
    PythonOnly,
    NonExec,
    Several,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ManifestFile {
    Regular,
    SymlinkToOutside,
    Directory,
    Absent,
    Dangling,
}

#[derive(Clone)]
struct Layout {
    manifest: Vec<u8>,
    file: ManifestFile,
    venv: Venv,
    path: PathVar,
    bundle_via_symlink: bool,
}

impl std::fmt::Debug for Layout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Layout")
            .field("manifest", &String::from_utf8_lossy(&self.manifest))
            .field("utf8", &std::str::from_utf8(&self.manifest).is_ok())
            .field("file", &self.file)
            .field("venv", &self.venv)
            .field("path", &self.path)
            .field("bundle_via_symlink", &self.bundle_via_symlink)
            .finish()
    }
}

fn layout() -> impl Strategy<Value = Layout> {
    use Venv as V;
    let venv = proptest::sample::select(vec![
        V::None,
        V::Python,
        V::Python3Only,
        V::HiddenDir,
        V::NonExecThenDot,
        V::SymlinkOutside,
        V::Dangling,
        V::DirectoryThenPython3,
    ]);
    let path = proptest::sample::select(vec![
        PathVar::Unset,
        PathVar::EmptyDir,
        PathVar::Python3,
        PathVar::PythonOnly,
        PathVar::NonExec,
        PathVar::Several,
    ]);
    let file = prop_oneof![
        24 => Just(ManifestFile::Regular),
        2 => Just(ManifestFile::SymlinkToOutside),
        1 => Just(ManifestFile::Directory),
        1 => Just(ManifestFile::Absent),
        1 => Just(ManifestFile::Dangling),
    ];
    (manifest_bytes(), file, venv, path, any::<bool>()).prop_map(
        |(manifest, file, venv, path, bundle_via_symlink)| Layout {
            manifest,
            file,
            venv,
            path,
            bundle_via_symlink,
        },
    )
}

// ---------------------------------------------------------------------------------------
// The bundle on disk
// ---------------------------------------------------------------------------------------

/// One temporary tree per [`Venv`] kind, built once per test and reused by every case
/// (only `plugin.json` changes between cases, which keeps a case to a few syscalls):
/// ```text
/// <venv>/outside/{evil.py, python*, plugin.json}   <venv>/outside.py
/// <venv>/bin-python3/{python3*, python*}  <venv>/bin-python/python*
/// <venv>/bin-nonexec/python3  <venv>/bin-empty/  <venv>/bundle-link -> bundle
/// <venv>/bundle/{plugin.json, plugin.py, plugin, sub/inner.py, etc/passwd, dir.py/,
///                link-in.py -> plugin.py, abs-in.py -> <abs>/sub/inner.py,
///                link-out.py -> <abs>/outside/evil.py, up-link.py -> ../outside.py,
///                outdir -> <abs>/outside, subdir-link -> sub, loop.py -> loop.py,
///                dangling.py -> nowhere.py, venv/... per Venv}
/// ```
struct Trees {
    _tmp: tempfile::TempDir,
    root: PathBuf,
}

/// One case's view of its tree.
struct World {
    root: PathBuf,
    /// What is passed to `for_bundle`: `<venv>/bundle` or `<venv>/bundle-link`.
    bundle_arg: PathBuf,
    path_var: Option<OsString>,
}

fn file(path: &Path, mode: u32) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

const VENVS: [Venv; 8] = [
    Venv::None,
    Venv::Python,
    Venv::Python3Only,
    Venv::HiddenDir,
    Venv::NonExecThenDot,
    Venv::SymlinkOutside,
    Venv::Dangling,
    Venv::DirectoryThenPython3,
];

impl Trees {
    fn build() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        for venv in VENVS {
            Self::build_one(&root.join(format!("{venv:?}")), venv);
        }
        Trees { _tmp: tmp, root }
    }

    fn build_one(root: &Path, venv: Venv) {
        let bundle = root.join("bundle");
        let outside = root.join("outside");
        file(&outside.join("evil.py"), 0o644);
        file(&outside.join("python"), 0o755);
        file(&root.join("outside.py"), 0o644);
        file(&root.join("bin-python3/python3"), 0o755);
        file(&root.join("bin-python3/python"), 0o755);
        file(&root.join("bin-python/python"), 0o755);
        file(&root.join("bin-nonexec/python3"), 0o644);
        std::fs::create_dir_all(root.join("bin-empty")).unwrap();

        for f in ["plugin.py", "plugin", "sub/inner.py", "etc/passwd"] {
            file(&bundle.join(f), 0o644);
        }
        std::fs::create_dir_all(bundle.join("dir.py")).unwrap();
        symlink("plugin.py", bundle.join("link-in.py")).unwrap();
        symlink(bundle.join("sub/inner.py"), bundle.join("abs-in.py")).unwrap();
        symlink(outside.join("evil.py"), bundle.join("link-out.py")).unwrap();
        symlink("../outside.py", bundle.join("up-link.py")).unwrap();
        symlink(&outside, bundle.join("outdir")).unwrap();
        symlink("sub", bundle.join("subdir-link")).unwrap();
        symlink("loop.py", bundle.join("loop.py")).unwrap();
        symlink("nowhere.py", bundle.join("dangling.py")).unwrap();
        symlink(&bundle, root.join("bundle-link")).unwrap();

        match venv {
            Venv::None => {}
            Venv::Python => file(&bundle.join("venv/bin/python"), 0o755),
            Venv::Python3Only => file(&bundle.join("venv/bin/python3"), 0o755),
            Venv::HiddenDir => {
                file(&bundle.join(".venv/bin/python"), 0o755);
                file(&bundle.join(".venv/bin/python3"), 0o755);
            }
            Venv::NonExecThenDot => {
                file(&bundle.join("venv/bin/python"), 0o644);
                file(&bundle.join(".venv/bin/python3"), 0o755);
            }
            Venv::SymlinkOutside => {
                std::fs::create_dir_all(bundle.join("venv/bin")).unwrap();
                symlink(outside.join("python"), bundle.join("venv/bin/python")).unwrap();
            }
            Venv::Dangling => {
                std::fs::create_dir_all(bundle.join("venv/bin")).unwrap();
                symlink("/nonexistent/python", bundle.join("venv/bin/python")).unwrap();
            }
            Venv::DirectoryThenPython3 => {
                std::fs::create_dir_all(bundle.join("venv/bin/python")).unwrap();
                file(&bundle.join("venv/bin/python3"), 0o755);
            }
        }
    }

    /// Puts the case's `plugin.json` in place in its venv's tree.
    fn world(&self, layout: &Layout) -> World {
        let root = self.root.join(format!("{:?}", layout.venv));
        let bundle = root.join("bundle");
        let outside = root.join("outside");
        let manifest = bundle.join(MANIFEST_FILE);
        match std::fs::symlink_metadata(&manifest) {
            Ok(m) if m.is_dir() => std::fs::remove_dir(&manifest).unwrap(),
            Ok(_) => std::fs::remove_file(&manifest).unwrap(),
            Err(_) => {}
        }
        match layout.file {
            ManifestFile::Regular => std::fs::write(&manifest, &layout.manifest).unwrap(),
            ManifestFile::SymlinkToOutside => {
                std::fs::write(outside.join(MANIFEST_FILE), &layout.manifest).unwrap();
                symlink(outside.join(MANIFEST_FILE), &manifest).unwrap();
            }
            ManifestFile::Directory => std::fs::create_dir(&manifest).unwrap(),
            ManifestFile::Absent => {}
            ManifestFile::Dangling => symlink("nowhere.json", &manifest).unwrap(),
        }

        let path_var = match layout.path {
            PathVar::Unset => None,
            PathVar::EmptyDir => Some(root.join("bin-empty").into_os_string()),
            PathVar::Python3 => Some(root.join("bin-python3").into_os_string()),
            PathVar::PythonOnly => Some(root.join("bin-python").into_os_string()),
            PathVar::NonExec => Some(root.join("bin-nonexec").into_os_string()),
            PathVar::Several => Some(
                std::env::join_paths([
                    root.join("bin-empty"),
                    root.join("bin-nonexec"),
                    root.join("bin-python"),
                    root.join("bin-python3"),
                ])
                .unwrap(),
            ),
        };
        let bundle_arg = if layout.bundle_via_symlink {
            root.join("bundle-link")
        } else {
            bundle
        };
        World {
            root,
            bundle_arg,
            path_var,
        }
    }
}

impl World {
    fn bundle(&self) -> PathBuf {
        self.root.join("bundle")
    }
}

// ---------------------------------------------------------------------------------------
// The model
// ---------------------------------------------------------------------------------------

#[derive(Debug, PartialEq)]
enum Expect {
    Plan {
        script: PathBuf,
        interpreter: PathBuf,
        source: InterpreterSource,
    },
    Error {
        kind: &'static str,
        /// Substrings the message must contain.
        names: Vec<String>,
    },
}

fn error(kind: &'static str, names: &[&str]) -> Expect {
    Expect::Error {
        kind,
        names: names.iter().map(|s| s.to_string()).collect(),
    }
}

fn kind_of(e: &ManifestError) -> &'static str {
    match e {
        ManifestError::Missing { .. } => "missing",
        ManifestError::Unreadable { .. } => "unreadable",
        ManifestError::Malformed { .. } => "malformed",
        ManifestError::BadId { .. } => "bad-id",
        ManifestError::NoServer => "no-server",
        ManifestError::NoExecutable { .. } => "no-executable",
        ManifestError::NotPython { .. } => "not-python",
        ManifestError::PathTraversal { .. } => "path-traversal",
        ManifestError::ScriptNotFound { .. } => "script-not-found",
        ManifestError::SymlinkEscape { .. } => "symlink-escape",
        ManifestError::NoInterpreter { .. } => "no-interpreter",
    }
}

/// A string field as Go's `encoding/json` reads it into a `string`: absent or null is "",
/// any other non-string is a decode error (`None`).
fn string_field(object: &Map<String, Value>, key: &str) -> Option<String> {
    match object.get(key) {
        None | Some(Value::Null) => Some(String::new()),
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => None,
    }
}

/// The top-level object with the keys the model looks at; other keys are skipped unread
/// whatever their depth (as the parser does, and Go up to a depth of 10000), and a
/// repeated known key is an error (as in a derived struct).
struct Top(Map<String, Value>);

impl<'de> serde::Deserialize<'de> for Top {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Top;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Top, A::Error> {
                let mut out = Map::new();
                while let Some(key) = map.next_key::<String>()? {
                    if ["id", "name", "version", "server"].contains(&key.as_str()) {
                        let value: Value = map.next_value()?;
                        if out.insert(key, value).is_some() {
                            return Err(serde::de::Error::custom("duplicate field"));
                        }
                    } else {
                        map.next_value::<serde::de::IgnoredAny>()?;
                    }
                }
                Ok(Top(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// `filepath.Clean(filepath.Join(".", executable))`, or `None` when it starts with `..`.
fn clean(executable: &str) -> Option<PathBuf> {
    let mut parts: Vec<&str> = Vec::new();
    for part in executable.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    Some(parts.iter().collect())
}

fn expect(world: &World, layout: &Layout) -> Expect {
    let manifest_path = world.bundle_arg.join(MANIFEST_FILE);
    let manifest_path = manifest_path.to_string_lossy().into_owned();
    match layout.file {
        ManifestFile::Absent | ManifestFile::Dangling => {
            return error("missing", &["no plugin.json", "needs a manifest"]);
        }
        ManifestFile::Directory => return error("unreadable", &["cannot read", &manifest_path]),
        ManifestFile::Regular | ManifestFile::SymlinkToOutside => {}
    }
    let Ok(text) = std::str::from_utf8(&layout.manifest) else {
        return error("unreadable", &["cannot read", &manifest_path, "UTF-8"]);
    };
    let malformed = || error("malformed", &["is not a valid manifest", &manifest_path]);
    let Ok(Top(top)) = serde_json::from_str::<Top>(text) else {
        return malformed();
    };
    let Some(Value::String(id)) = top.get("id") else {
        return malformed();
    };
    if string_field(&top, "name").is_none() || string_field(&top, "version").is_none() {
        return malformed();
    }
    let server = match top.get("server") {
        None | Some(Value::Null) => None,
        Some(Value::Object(server)) => Some(server),
        Some(_) => return malformed(),
    };
    let mut executables = BTreeMap::new();
    let (mut executable, mut runtime) = (String::new(), String::new());
    if let Some(server) = server {
        let (Some(e), Some(r), Some(_)) = (
            string_field(server, "executable"),
            string_field(server, "runtime"),
            string_field(server, "python_version"),
        ) else {
            return malformed();
        };
        (executable, runtime) = (e, r);
        match server.get("executables") {
            None | Some(Value::Null) => {}
            Some(Value::Object(map)) => {
                for (k, v) in map {
                    match v {
                        Value::String(s) => executables.insert(k.clone(), s.clone()),
                        // Go reads a JSON null into a map's string value as "".
                        Value::Null => executables.insert(k.clone(), String::new()),
                        _ => return malformed(),
                    };
                }
            }
            Some(_) => return malformed(),
        }
    }
    let id_ok = (3..=190).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if !id_ok {
        return error("bad-id", &["manifest id", &format!("{id:?}")]);
    }
    if server.is_none() {
        return error("no-server", &["no \"server\" section"]);
    }
    // GetExecutableForRuntime: the platform entry, else (also when empty) `executable`.
    let executable = match executables.get(&platform_key()) {
        Some(e) if !e.is_empty() => e.clone(),
        _ => executable,
    };
    if executable.is_empty() {
        return error("no-executable", &[&platform_key()]);
    }
    let quoted = format!("{executable:?}");
    // isPythonPlugin: `runtime == "python"` exactly, or a `.py` executable.
    if runtime != "python" && !executable.ends_with(".py") {
        return error("not-python", &["not a Python plugin", &quoted]);
    }
    let Some(script) = clean(&executable) else {
        return error("path-traversal", &["path traversal", &quoted]);
    };
    if script.as_os_str().is_empty() {
        return error("script-not-found", &["not found", &quoted]);
    }
    let full = world.bundle().join(&script);
    if !std::fs::metadata(&full).is_ok_and(|m| m.is_file()) {
        return error("script-not-found", &["not found", &quoted]);
    }
    if !full.canonicalize().unwrap().starts_with(world.bundle()) {
        return error("symlink-escape", &["outside the bundle", &quoted]);
    }
    let arg = &world.bundle_arg;
    let venv = |c: &'static str| Some((arg.join(c), InterpreterSource::Bundle(c)));
    let on_path = |dir: &str, name: &'static str| {
        Some((
            world.root.join(dir).join(name),
            InterpreterSource::Path(name),
        ))
    };
    let interpreter = match layout.venv {
        Venv::Python | Venv::SymlinkOutside => venv("venv/bin/python"),
        Venv::Python3Only | Venv::DirectoryThenPython3 => venv("venv/bin/python3"),
        Venv::HiddenDir => venv(".venv/bin/python"),
        Venv::NonExecThenDot => venv(".venv/bin/python3"),
        Venv::None | Venv::Dangling => None,
    }
    .or(match layout.path {
        PathVar::Python3 | PathVar::Several => on_path("bin-python3", "python3"),
        PathVar::PythonOnly => on_path("bin-python", "python"),
        PathVar::Unset | PathVar::EmptyDir | PathVar::NonExec => None,
    });
    match interpreter {
        Some((interpreter, source)) => Expect::Plan {
            script,
            interpreter,
            source,
        },
        None => error("no-interpreter", &["no Python interpreter"]),
    }
}

// ---------------------------------------------------------------------------------------
// The properties
// ---------------------------------------------------------------------------------------

static OUTCOMES: Mutex<BTreeMap<&'static str, usize>> = Mutex::new(BTreeMap::new());

fn check(trees: &Trees, layout: &Layout) -> Result<(), TestCaseError> {
    let world = trees.world(layout);
    let path_var = world.path_var.as_deref();
    let got = std::panic::catch_unwind(|| LaunchPlan::for_bundle(&world.bundle_arg, path_var))
        .map_err(|_| TestCaseError::fail("LaunchPlan::for_bundle panicked"))?;
    let expected = expect(&world, layout);
    let outcome = match &got {
        Ok(_) => "ok",
        Err(e) => kind_of(e),
    };
    *OUTCOMES.lock().unwrap().entry(outcome).or_default() += 1;
    match (got, expected) {
        (
            Ok(plan),
            Expect::Plan {
                script,
                interpreter,
                source,
            },
        ) => {
            // The planned script stays inside the bundle, whatever the symlinks.
            let real_bundle = plan.bundle.canonicalize().unwrap();
            let real_script = plan.bundle.join(&plan.script).canonicalize().unwrap();
            prop_assert!(
                real_script.starts_with(&real_bundle) && real_script.is_file(),
                "script {:?} resolves to {:?}, outside {:?}",
                plan.script,
                real_script,
                real_bundle
            );
            prop_assert!(
                plan.script
                    .components()
                    .all(|c| matches!(c, std::path::Component::Normal(_))),
                "script path {:?} is not a plain relative path",
                plan.script
            );
            prop_assert_eq!(&plan.bundle, &world.bundle_arg);
            prop_assert_eq!(plan.script, script);
            prop_assert_eq!(plan.interpreter, interpreter);
            prop_assert_eq!(plan.interpreter_source, source);
        }
        (Err(e), Expect::Error { kind, names }) => {
            let message = e.to_string();
            prop_assert_eq!(kind_of(&e), kind, "message: {}", message);
            for name in names {
                prop_assert!(
                    message.contains(&name),
                    "the {} message does not name {:?}: {}",
                    kind,
                    name,
                    message
                );
            }
        }
        (got, expected) => {
            return Err(TestCaseError::fail(format!(
                "got {:?}, the model expects {:?}",
                got.map(|p| (p.script, p.interpreter))
                    .map_err(|e| e.to_string()),
                expected
            )));
        }
    }
    Ok(())
}

#[test]
fn arbitrary_bundles_plan_as_the_model_says_and_never_escape() {
    let trees = Trees::build();
    let mut runner = TestRunner::new(config());
    let result = runner.run(&layout(), |layout| check(&trees, &layout));
    let outcomes = OUTCOMES.lock().unwrap().clone();
    eprintln!("outcomes over {} cases: {outcomes:?}", cases());
    result.unwrap();
    // The generators reach every outcome, so the properties are not checked vacuously.
    if cases() >= DEFAULT_CASES {
        for kind in [
            "ok",
            "missing",
            "unreadable",
            "malformed",
            "bad-id",
            "no-server",
            "no-executable",
            "not-python",
            "path-traversal",
            "script-not-found",
            "symlink-escape",
            "no-interpreter",
        ] {
            assert!(
                outcomes.get(kind).copied().unwrap_or(0) > 0,
                "no case ended in {kind}: {outcomes:?}"
            );
        }
    }
}

/// One fixed case per outcome, so the model itself is checked whatever the random run drew.
#[test]
fn the_model_agrees_on_hand_picked_bundles() {
    let platform = platform_key();
    let py = |exe: &str| json!({"id": "com.example.p", "server": {"runtime": "python", "executable": exe}});
    let cases: Vec<(Value, Venv, &str)> = vec![
        (py("plugin.py"), Venv::Python, "ok"),
        (py("link-in.py"), Venv::SymlinkOutside, "ok"),
        (py("subdir-link/../plugin.py"), Venv::HiddenDir, "ok"),
        (py("/etc/passwd"), Venv::Python, "ok"),
        (py("../outside.py"), Venv::Python, "path-traversal"),
        (py("link-out.py"), Venv::Python, "symlink-escape"),
        (py("up-link.py"), Venv::Python, "symlink-escape"),
        (py("outdir/evil.py"), Venv::Python, "symlink-escape"),
        (py("loop.py"), Venv::Python, "script-not-found"),
        (py("dir.py"), Venv::Python, "script-not-found"),
        (py("plugin.py"), Venv::Dangling, "no-interpreter"),
        (json!({"id": "com.example.p"}), Venv::Python, "no-server"),
        (json!({"id": "ab", "server": {}}), Venv::Python, "bad-id"),
        (json!({"id": 5}), Venv::Python, "malformed"),
        (json!(["com.example.p"]), Venv::Python, "malformed"),
        (
            json!({"id": "com.example.p", "server": ["plugin.py"]}),
            Venv::Python,
            "malformed",
        ),
        (
            json!({"id": "com.example.p", "server": {"runtime": "python"}}),
            Venv::Python,
            "no-executable",
        ),
        (
            json!({"id": "com.example.p", "server": {"runtime": "go", "executable": "plugin"}}),
            Venv::Python,
            "not-python",
        ),
        (
            json!({"id": "com.example.p", "server": {"runtime": "PYTHON", "executable": "plugin"}}),
            Venv::Python,
            "not-python",
        ),
        (
            json!({"id": "com.example.p", "server": {"executable": "plugin.py", "executables": {platform.clone(): ""}}}),
            Venv::Python,
            "ok",
        ),
        (
            json!({"id": "com.example.p", "server": {"executable": "plugin.py", "executables": null}}),
            Venv::Python,
            "ok",
        ),
    ];
    let trees = Trees::build();
    for (value, venv, want) in cases {
        let layout = Layout {
            manifest: serde_json::to_vec(&value).unwrap(),
            file: ManifestFile::Regular,
            venv,
            path: PathVar::Unset,
            bundle_via_symlink: false,
        };
        let world = trees.world(&layout);
        let model = match expect(&world, &layout) {
            Expect::Plan { .. } => "ok",
            Expect::Error { kind, .. } => kind,
        };
        assert_eq!(model, want, "model on {value}");
        if let Err(e) = check(&trees, &layout) {
            panic!("{value}: {e}");
        }
    }
}
