//! `plugin.json`, Python runtime detection, interpreter discovery and the script path rule
//! (SPEC §3.1, §16, §17).

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Deserializer};

/// The manifest file name inside a bundle.
pub const MANIFEST_FILE: &str = "plugin.json";

/// Interpreter candidates inside a bundle, in upstream order (`findPythonInterpreter`).
pub const VENV_INTERPRETERS: [&str; 4] = [
    "venv/bin/python",
    "venv/bin/python3",
    ".venv/bin/python",
    ".venv/bin/python3",
];

/// Interpreter names looked up on `PATH` after the bundle's own venvs.
pub const PATH_INTERPRETERS: [&str; 2] = ["python3", "python"];

/// The parts of `plugin.json` a host needs to launch a server plugin.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default, deserialize_with = "server_object")]
    pub server: Option<ManifestServer>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq, Default)]
pub struct ManifestServer {
    #[serde(default)]
    pub executable: Option<String>,
    /// Per-platform executables keyed `<os>-<arch>` (e.g. `linux-amd64`). As in Go, a
    /// `null` map reads as empty and a `null` entry as `""`.
    #[serde(default, deserialize_with = "nullable_map")]
    pub executables: BTreeMap<String, String>,
    #[serde(default)]
    pub runtime: Option<String>,
    #[serde(default)]
    pub python_version: Option<String>,
}

/// `T` read from a JSON object only. A derived struct also reads a JSON array as its
/// fields in order (`["com.example.p"]` would be a manifest), which Go's `encoding/json`,
/// and so Mattermost, refuses.
struct ObjectOnly<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for ObjectOnly<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for Visitor<T> {
            type Value = T;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map))
            }
        }
        d.deserialize_map(Visitor(std::marker::PhantomData))
            .map(ObjectOnly)
    }
}

fn server_object<'de, D: Deserializer<'de>>(d: D) -> Result<Option<ManifestServer>, D::Error> {
    Ok(Option::<ObjectOnly<ManifestServer>>::deserialize(d)?.map(|o| o.0))
}

fn nullable_map<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    let map = Option::<BTreeMap<String, Option<String>>>::deserialize(d)?;
    Ok(map
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, v.unwrap_or_default()))
        .collect())
}

/// Why a bundle cannot be launched as a Python plugin.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("no {MANIFEST_FILE} in bundle {bundle}: a plugin bundle needs a manifest at its root")]
    Missing { bundle: PathBuf },
    #[error("cannot read {path}: {source}")]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path} is not a valid manifest: {source} (expected a JSON object with a string \"id\" and a \"server\" object)"
    )]
    Malformed {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error(
        "the manifest id {id:?} is not valid: ids are 3 to 190 characters of letters, digits, '.', '-' and '_'"
    )]
    BadId { id: String },
    #[error("the manifest has no \"server\" section, so there is no server plugin to launch")]
    NoServer,
    #[error(
        "the manifest names no server executable for {platform}: set \"server.executable\" or \
         \"server.executables\": {{\"{platform}\": \"plugin.py\"}}"
    )]
    NoExecutable { platform: String },
    #[error(
        "not a Python plugin: \"server.runtime\" is {runtime:?} and the executable {executable:?} does not end in .py"
    )]
    NotPython {
        runtime: Option<String>,
        executable: String,
    },
    #[error(
        "the executable {executable:?} escapes the bundle (path traversal): keep the script inside the plugin directory"
    )]
    PathTraversal { executable: String },
    #[error("the script {executable:?} was not found in the bundle (looked for {path})")]
    ScriptNotFound { executable: String, path: PathBuf },
    #[error(
        "the script {executable:?} is a symlink that resolves to {target}, outside the bundle {bundle}: a plugin \
         must not run code from outside its own directory"
    )]
    SymlinkEscape {
        executable: String,
        target: PathBuf,
        bundle: PathBuf,
    },
    #[error(
        "no Python interpreter: none of {venv} exists in the bundle and neither python3 nor python is on PATH. \
         Ship a venv in the bundle or install Python"
    )]
    NoInterpreter { venv: String },
}

/// The `<os>-<arch>` key Mattermost uses for this machine (`linux-amd64`, `darwin-arm64`...).
pub fn platform_key() -> String {
    let os = std::env::consts::OS;
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    };
    format!("{os}-{arch}")
}

impl Manifest {
    /// Reads and validates `<bundle>/plugin.json`.
    pub fn load(bundle: &Path) -> Result<Self, ManifestError> {
        let path = bundle.join(MANIFEST_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ManifestError::Missing {
                    bundle: bundle.to_path_buf(),
                });
            }
            Err(source) => return Err(ManifestError::Unreadable { path, source }),
        };
        Self::parse(&text).map_err(|e| match e {
            ManifestError::Malformed { source, .. } => ManifestError::Malformed { path, source },
            other => other,
        })
    }

    /// Parses and validates manifest text.
    pub fn parse(text: &str) -> Result<Self, ManifestError> {
        let ObjectOnly(manifest) =
            serde_json::from_str::<ObjectOnly<Manifest>>(text).map_err(|source| {
                ManifestError::Malformed {
                    path: PathBuf::from(MANIFEST_FILE),
                    source,
                }
            })?;
        let id_ok = (3..=190).contains(&manifest.id.len())
            && manifest
                .id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
        if !id_ok {
            return Err(ManifestError::BadId { id: manifest.id });
        }
        Ok(manifest)
    }

    /// The executable for this platform: `server.executables[<os>-<arch>]`, else (also
    /// when that entry is empty) `server.executable` (`GetExecutableForRuntime`).
    pub fn executable(&self) -> Result<&str, ManifestError> {
        let server = self.server.as_ref().ok_or(ManifestError::NoServer)?;
        let platform = platform_key();
        server
            .executables
            .get(&platform)
            .filter(|e| !e.is_empty())
            .or(server.executable.as_ref())
            .map(String::as_str)
            .filter(|e| !e.is_empty())
            .ok_or(ManifestError::NoExecutable { platform })
    }

    /// Python plugins declare `server.runtime = "python"` (exactly, as `isPythonPlugin`
    /// compares it) or have a `.py` executable.
    pub fn is_python(&self) -> bool {
        let runtime_python =
            self.server.as_ref().and_then(|s| s.runtime.as_deref()) == Some("python");
        runtime_python || self.executable().is_ok_and(|e| e.ends_with(".py"))
    }
}

/// The script path rule (`sanitizePythonScriptPath`): clean `join(".", executable)`,
/// refuse a result that climbs out with `..` (absolute paths are re-rooted inside the
/// bundle), require the file to exist, and (stricter than upstream) refuse a symlink
/// whose target lies outside the bundle. Returns the path relative to the bundle.
pub fn script_path(bundle: &Path, executable: &str) -> Result<PathBuf, ManifestError> {
    let mut clean = PathBuf::new();
    for component in Path::new(executable).components() {
        match component {
            Component::Normal(part) => clean.push(part),
            Component::ParentDir => {
                if !clean.pop() {
                    return Err(ManifestError::PathTraversal {
                        executable: executable.to_string(),
                    });
                }
            }
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
        }
    }
    if clean.as_os_str().is_empty() {
        return Err(ManifestError::ScriptNotFound {
            executable: executable.to_string(),
            path: bundle.to_path_buf(),
        });
    }
    let full = bundle.join(&clean);
    if !full.is_file() {
        return Err(ManifestError::ScriptNotFound {
            executable: executable.to_string(),
            path: full,
        });
    }
    let real_bundle = bundle
        .canonicalize()
        .map_err(|source| ManifestError::Unreadable {
            path: bundle.to_path_buf(),
            source,
        })?;
    let real_script = full
        .canonicalize()
        .map_err(|source| ManifestError::Unreadable {
            path: full.clone(),
            source,
        })?;
    if !real_script.starts_with(&real_bundle) {
        return Err(ManifestError::SymlinkEscape {
            executable: executable.to_string(),
            target: real_script,
            bundle: real_bundle,
        });
    }
    Ok(clean)
}

/// Where an interpreter was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InterpreterSource {
    /// Inside the bundle, e.g. `venv/bin/python`.
    Bundle(&'static str),
    /// On `PATH`.
    Path(&'static str),
}

/// Finds the interpreter in upstream order: the bundle's venvs first (made absolute), then
/// `python3` and `python` on the given `PATH`.
pub fn find_interpreter(
    bundle: &Path,
    path_var: Option<&std::ffi::OsStr>,
) -> Result<(PathBuf, InterpreterSource), ManifestError> {
    for candidate in VENV_INTERPRETERS {
        let p = bundle.join(candidate);
        if is_executable(&p) {
            let absolute = std::path::absolute(&p).unwrap_or(p);
            return Ok((absolute, InterpreterSource::Bundle(candidate)));
        }
    }
    on_path(path_var).ok_or_else(|| ManifestError::NoInterpreter {
        venv: VENV_INTERPRETERS.join(", "),
    })
}

/// `python3`, then `python`, on `path_var`.
fn on_path(path_var: Option<&std::ffi::OsStr>) -> Option<(PathBuf, InterpreterSource)> {
    let path_var = path_var?;
    for name in PATH_INTERPRETERS {
        for dir in std::env::split_paths(path_var) {
            let p = dir.join(name);
            if is_executable(&p) {
                return Some((p, InterpreterSource::Path(name)));
            }
        }
    }
    None
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Everything a host needs to spawn a Python plugin bundle.
#[derive(Debug, Clone)]
pub struct LaunchPlan {
    pub manifest: Manifest,
    pub bundle: PathBuf,
    pub interpreter: PathBuf,
    pub interpreter_source: InterpreterSource,
    /// The script, relative to the bundle (the command's working directory).
    pub script: PathBuf,
}

/// How a host applies the bundle rules. Upstream's, the default, keeps the script inside
/// the bundle ([`script_path`]) and looks for the interpreter in the bundle's venvs first
/// ([`find_interpreter`]); the other settings describe hosts that do not (the mutation
/// score's deviations of the reference host are made of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LaunchRules {
    /// Refuse a script path that leaves the bundle or does not exist (else: as written).
    pub contain_script: bool,
    /// The bundle's venvs before `PATH` (else: `PATH` first).
    pub venv_first: bool,
}

impl Default for LaunchRules {
    fn default() -> Self {
        Self {
            contain_script: true,
            venv_first: true,
        }
    }
}

impl LaunchPlan {
    /// Loads the manifest, checks it is a Python plugin, applies the script rule and finds
    /// an interpreter, as upstream does.
    pub fn for_bundle(
        bundle: &Path,
        path_var: Option<&std::ffi::OsStr>,
    ) -> Result<Self, ManifestError> {
        Self::with_rules(bundle, path_var, LaunchRules::default())
    }

    /// [`LaunchPlan::for_bundle`] with the host's `rules`.
    pub fn with_rules(
        bundle: &Path,
        path_var: Option<&std::ffi::OsStr>,
        rules: LaunchRules,
    ) -> Result<Self, ManifestError> {
        let bundle = std::path::absolute(bundle).unwrap_or_else(|_| bundle.to_path_buf());
        let manifest = Manifest::load(&bundle)?;
        let executable = manifest.executable()?.to_string();
        if !manifest.is_python() {
            return Err(ManifestError::NotPython {
                runtime: manifest.server.as_ref().and_then(|s| s.runtime.clone()),
                executable,
            });
        }
        let script = if rules.contain_script {
            script_path(&bundle, &executable)?
        } else {
            PathBuf::from(&executable)
        };
        let from_path = (!rules.venv_first).then(|| on_path(path_var)).flatten();
        let (interpreter, interpreter_source) = match from_path {
            Some(found) => found,
            None => find_interpreter(&bundle, path_var)?,
        };
        Ok(Self {
            manifest,
            bundle,
            interpreter,
            interpreter_source,
            script,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn bundle_with(manifest: &str, files: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(MANIFEST_FILE), manifest).unwrap();
        for f in files {
            let p = dir.path().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, "#!/bin/sh\n").unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        dir
    }

    const PY: &str =
        r#"{"id":"com.example.p","server":{"runtime":"python","executable":"plugin.py"}}"#;

    #[test]
    fn detects_python_by_runtime_or_extension() {
        assert!(Manifest::parse(PY).unwrap().is_python());
        let by_ext = r#"{"id":"com.example.p","server":{"executable":"main.py"}}"#;
        assert!(Manifest::parse(by_ext).unwrap().is_python());
        let go = r#"{"id":"com.example.p","server":{"runtime":"go","executable":"server/plugin"}}"#;
        assert!(!Manifest::parse(go).unwrap().is_python());
    }

    #[test]
    fn platform_executable_wins() {
        let m = format!(
            r#"{{"id":"com.example.p","server":{{"executable":"a.py","executables":{{"{}":"b.py"}}}}}}"#,
            platform_key()
        );
        assert_eq!(Manifest::parse(&m).unwrap().executable().unwrap(), "b.py");
    }

    /// Regressions found by `tests/fuzz_manifest.rs`, each against Go's reading of the
    /// same manifest (`encoding/json`, `GetExecutableForRuntime`, `isPythonPlugin`).
    #[test]
    fn manifest_reading_matches_go() {
        // A derived struct reads a JSON array as its fields; Go refuses it.
        for text in [
            r#"["com.example.p"]"#,
            r#"["com.example.p", "n", "1", {"executable": "plugin.py"}]"#,
            r#"{"id":"com.example.p","server":["plugin.py"]}"#,
        ] {
            let err = Manifest::parse(text).unwrap_err();
            assert!(
                matches!(err, ManifestError::Malformed { .. }),
                "{text}: {err}"
            );
            assert!(err.to_string().contains("expected a JSON object"), "{err}");
        }
        // `null` executables (or entries) read as empty, as in Go.
        let m = Manifest::parse(
            r#"{"id":"com.example.p","server":{"executable":"a.py","executables":null}}"#,
        )
        .unwrap();
        assert_eq!(m.executable().unwrap(), "a.py");
        // An empty (or null) platform entry falls back to `server.executable`.
        for entry in [r#""""#, "null"] {
            let m = format!(
                r#"{{"id":"com.example.p","server":{{"executable":"a.py","executables":{{"{}":{entry}}}}}}}"#,
                platform_key()
            );
            assert_eq!(Manifest::parse(&m).unwrap().executable().unwrap(), "a.py");
        }
        // `runtime` must be exactly "python".
        let upper = r#"{"id":"com.example.p","server":{"runtime":"PYTHON","executable":"main"}}"#;
        assert!(!Manifest::parse(upper).unwrap().is_python());
        // A `null` server is no server, and objects still read with unknown keys.
        let m = Manifest::parse(r#"{"id":"com.example.p","server":null,"x":[[1]]}"#).unwrap();
        assert!(matches!(m.executable(), Err(ManifestError::NoServer)));
    }

    #[test]
    fn malformed_and_missing_manifests_are_diagnosed() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            Manifest::load(dir.path()),
            Err(ManifestError::Missing { .. })
        ));
        std::fs::write(dir.path().join(MANIFEST_FILE), "{not json").unwrap();
        let err = Manifest::load(dir.path()).unwrap_err();
        assert!(matches!(err, ManifestError::Malformed { .. }));
        assert!(err.to_string().contains("plugin.json"), "{err}");
        assert!(matches!(
            Manifest::parse(r#"{"id":"a b"}"#),
            Err(ManifestError::BadId { .. })
        ));
        assert!(matches!(
            Manifest::parse(r#"{"id":"abc"}"#).unwrap().executable(),
            Err(ManifestError::NoServer)
        ));
    }

    #[test]
    fn script_rule() {
        let dir = bundle_with(PY, &["plugin.py", "etc/passwd"]);
        let b = dir.path();
        assert_eq!(
            script_path(b, "plugin.py").unwrap(),
            PathBuf::from("plugin.py")
        );
        assert_eq!(
            script_path(b, "./x/../plugin.py").unwrap(),
            PathBuf::from("plugin.py")
        );
        assert_eq!(
            script_path(b, "/etc/passwd").unwrap(),
            PathBuf::from("etc/passwd")
        );
        let err = script_path(b, "../outside.py").unwrap_err();
        assert!(err.to_string().contains("path traversal"), "{err}");
        let err = script_path(b, "missing.py").unwrap_err();
        assert!(err.to_string().contains("not found"), "{err}");
    }

    #[test]
    fn symlink_escaping_the_bundle_is_refused() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("evil.py"), "").unwrap();
        let dir = bundle_with(PY, &[]);
        std::os::unix::fs::symlink(outside.path().join("evil.py"), dir.path().join("plugin.py"))
            .unwrap();
        let err = script_path(dir.path(), "plugin.py").unwrap_err();
        assert!(matches!(err, ManifestError::SymlinkEscape { .. }), "{err}");
        // A symlink that stays inside the bundle is fine.
        std::fs::write(dir.path().join("real.py"), "").unwrap();
        std::os::unix::fs::symlink(dir.path().join("real.py"), dir.path().join("link.py")).unwrap();
        assert!(script_path(dir.path(), "link.py").is_ok());
    }

    #[test]
    fn interpreter_discovery_order() {
        let dir = bundle_with(PY, &["plugin.py", ".venv/bin/python", "venv/bin/python3"]);
        let (p, src) = find_interpreter(dir.path(), None).unwrap();
        assert_eq!(src, InterpreterSource::Bundle("venv/bin/python3"));
        assert!(p.is_absolute());
        let empty = tempfile::tempdir().unwrap();
        let bin = bundle_with("{}", &["python", "python3"]);
        let (p, src) = find_interpreter(empty.path(), Some(bin.path().as_os_str())).unwrap();
        assert_eq!(src, InterpreterSource::Path("python3"));
        assert_eq!(p, bin.path().join("python3"));
        let err = find_interpreter(empty.path(), Some(empty.path().as_os_str())).unwrap_err();
        assert!(matches!(err, ManifestError::NoInterpreter { .. }));
    }

    proptest! {
        #[test]
        fn arbitrary_manifest_text_never_panics(text in ".{0,200}") {
            let _ = Manifest::parse(&text).map(|m| (m.is_python(), m.executable().map(str::to_owned)));
        }

        #[test]
        fn script_rule_never_escapes(parts in proptest::collection::vec(prop_oneof![Just("..".to_string()), Just(".".to_string()), "[a-z]{1,5}".prop_map(|s| s)], 1..8)) {
            let dir = tempfile::tempdir().unwrap();
            let exe = parts.join("/");
            if let Ok(rel) = script_path(dir.path(), &exe) {
                prop_assert!(!rel.components().any(|c| matches!(c, Component::ParentDir)));
            }
        }
    }
}
