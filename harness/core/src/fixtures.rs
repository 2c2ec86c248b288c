//! Fake-interpreter bundles.
//!
//! Upstream's technique (SPEC §16): compile a program that speaks the protocol and
//! place it at `venv/bin/python` in a bundle; the host runs it as `<interpreter> plugin.py`.
//! Our one fake-interpreter binary has named modes; the mode, its options and the path of
//! the observation file (see [`crate::observe`]) are written into `plugin.py`, which the
//! fake reads instead of running it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Environment variable naming a prebuilt fake interpreter (skips the escargot build).
pub const FAKE_INTERPRETER_ENV: &str = "PLUGIN_CONFORMANCE_FAKE_INTERPRETER";

pub use crate::fake_modes::FakeMode;

/// The contents of a fake plugin's `plugin.py`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeScript {
    pub mode: String,
    pub observe: PathBuf,
    pub options: BTreeMap<String, String>,
}

impl FakeScript {
    pub fn render(&self) -> String {
        let mut s = String::from(
            "# plugin-conformance fake plugin.\n\
             # The fake interpreter at venv/bin/python reads this header instead of running Python.\n",
        );
        s.push_str(&format!("# mode: {}\n", self.mode));
        s.push_str(&format!("# observe: {}\n", self.observe.display()));
        for (k, v) in &self.options {
            s.push_str(&format!("# option {k}: {v}\n"));
        }
        s.push_str("raise SystemExit(\"run by the plugin-conformance fake interpreter only\")\n");
        s
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        let mut mode = None;
        let mut observe = None;
        let mut options = BTreeMap::new();
        for line in text.lines() {
            if let Some(m) = line.strip_prefix("# mode: ") {
                mode = Some(m.trim().to_string());
            } else if let Some(o) = line.strip_prefix("# observe: ") {
                observe = Some(PathBuf::from(o.trim()));
            } else if let Some(opt) = line.strip_prefix("# option ") {
                let (k, v) = opt
                    .split_once(": ")
                    .ok_or_else(|| format!("bad option line {line:?}"))?;
                options.insert(k.to_string(), v.to_string());
            }
        }
        Ok(Self {
            mode: mode.ok_or("no `# mode:` line")?,
            observe: observe.ok_or("no `# observe:` line")?,
            options,
        })
    }
}

/// The fake interpreter of this process, once chosen.
static FAKE: OnceLock<Result<PathBuf, String>> = OnceLock::new();

/// Makes `exe` (a binary that runs as the fake interpreter when linked as `python`, like
/// the `plugin-conformance` CLI) this process's fake interpreter, unless
/// `$PLUGIN_CONFORMANCE_FAKE_INTERPRETER` names one. Call before the first bundle.
pub fn prefer_fake_interpreter(exe: PathBuf) {
    if std::env::var_os(FAKE_INTERPRETER_ENV).is_none() {
        let _ = FAKE.set(Ok(exe));
    }
}

/// The fake interpreter binary: `$PLUGIN_CONFORMANCE_FAKE_INTERPRETER`, the one given to
/// [`prefer_fake_interpreter`], or built once per process from this workspace with
/// escargot.
pub fn fake_interpreter() -> Result<&'static Path, String> {
    FAKE.get_or_init(|| {
            if let Some(p) = std::env::var_os(FAKE_INTERPRETER_ENV) {
                let p = PathBuf::from(p);
                return if p.is_file() {
                    Ok(p)
                } else {
                    Err(format!("{FAKE_INTERPRETER_ENV}={} is not a file", p.display()))
                };
            }
            let manifest =
                Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fake-interpreters/Cargo.toml");
            if !manifest.is_file() {
                return Err(format!(
                    "the fake interpreter's sources are not at {}; run from a source checkout or set {FAKE_INTERPRETER_ENV}",
                    manifest.display()
                ));
            }
            build_fake_interpreter(&manifest)
        })
        .as_ref()
        .map(PathBuf::as_path)
        .map_err(Clone::clone)
}

/// `cargo build --workspace --lib --tests --bin fake-interpreter`: selecting the whole
/// workspace with its tests resolves features exactly as `cargo test --workspace` does,
/// so under `cargo test` this finds every artifact already built instead of compiling
/// tonic and the generated protos a second time with another feature set.
///
/// The variables cargo sets for the test process that runs this (`CARGO_MANIFEST_DIR`,
/// `CARGO_PKG_NAME`, ...) are removed: build scripts such as ring's declare
/// `rerun-if-env-changed` on them, so passing them on made every test crate's build
/// recompile ring, rustls, tonic and everything above them (about 2 minutes each), and
/// the next plain `cargo test` or `cargo run` compile it all back again.
fn build_fake_interpreter(manifest: &Path) -> Result<PathBuf, String> {
    let mut build = escargot::CargoBuild::new()
        .manifest_path(manifest)
        .args(["--workspace", "--lib", "--tests"])
        .bin("fake-interpreter")
        .current_release();
    for (name, _) in std::env::vars_os() {
        if is_set_by_cargo_for_the_test(&name.to_string_lossy()) {
            build = build.env_remove(name);
        }
    }
    let messages = build
        .exec()
        .map_err(|e| format!("building the fake interpreter failed: {e}"))?;
    let mut found = None;
    for message in messages {
        let message = message.map_err(|e| format!("building the fake interpreter failed: {e}"))?;
        // `--tests` also builds the bin's own unit-test harness under the same target
        // name; only the artifact built without the test profile is the interpreter.
        if let Ok(escargot::format::Message::CompilerArtifact(artifact)) = message.decode()
            && artifact.target.name == "fake-interpreter"
            && !artifact.profile.test
            && let Some(exe) = artifact.executable
        {
            found = Some(exe.to_path_buf());
        }
    }
    found.ok_or_else(|| "cargo built no fake-interpreter executable".to_string())
}

/// Whether `name` is one of the variables cargo sets for the crate it compiles or runs,
/// as opposed to configuration a user may set for cargo itself (`CARGO_HOME`,
/// `CARGO_TARGET_DIR`, `CARGO_INCREMENTAL`, ...), which is kept.
fn is_set_by_cargo_for_the_test(name: &str) -> bool {
    const PREFIXES: [&str; 3] = ["CARGO_PKG_", "CARGO_MANIFEST_", "CARGO_BIN_"];
    const NAMES: [&str; 4] = [
        "CARGO_CRATE_NAME",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_TARGET_TMPDIR",
        "CARGO_RUSTC_CURRENT_DIR",
    ];
    PREFIXES.iter().any(|p| name.starts_with(p)) || NAMES.contains(&name)
}

/// A generated plugin bundle on disk.
#[derive(Debug, Clone)]
pub struct Bundle {
    pub dir: PathBuf,
    pub plugin_id: String,
    pub observations: PathBuf,
}

impl Bundle {
    pub fn observations(&self) -> Vec<crate::observe::Observation> {
        crate::observe::read_all(&self.observations)
    }
}

/// Builds a bundle: `plugin.json`, `plugin.py` (the fake script), and the fake interpreter
/// linked at `venv/bin/python` (or another interpreter location).
#[derive(Debug, Clone)]
pub struct BundleBuilder {
    mode: FakeMode,
    plugin_id: String,
    options: BTreeMap<String, String>,
    interpreter_at: Option<String>,
    manifest: Option<String>,
}

impl BundleBuilder {
    pub fn new(mode: FakeMode) -> Self {
        Self {
            mode,
            plugin_id: "com.mattermost.conformance.fake".to_string(),
            options: BTreeMap::new(),
            interpreter_at: Some("venv/bin/python".to_string()),
            manifest: None,
        }
    }

    pub fn plugin_id(mut self, id: &str) -> Self {
        self.plugin_id = id.to_string();
        self
    }

    /// Sets an option of the mode. Panics on a key the mode does not read
    /// ([`FakeMode::options`]): a case would otherwise set up something the fake ignores.
    pub fn option(mut self, key: &str, value: impl ToString) -> Self {
        assert!(
            self.mode.options().contains(&key),
            "fake mode {} reads no option {key:?} (it reads {:?})",
            self.mode,
            self.mode.options()
        );
        self.options.insert(key.to_string(), value.to_string());
        self
    }

    /// Where in the bundle the interpreter goes; `None` for no interpreter at all.
    pub fn interpreter_at(mut self, relative: Option<&str>) -> Self {
        self.interpreter_at = relative.map(str::to_string);
        self
    }

    /// Replaces the generated `plugin.json` with this text.
    pub fn manifest(mut self, text: &str) -> Self {
        self.manifest = Some(text.to_string());
        self
    }

    /// Writes the bundle into `dir` (created if needed).
    pub fn write(&self, dir: &Path) -> Result<Bundle, String> {
        let io = |what: &str, e: std::io::Error| format!("writing the bundle ({what}): {e}");
        std::fs::create_dir_all(dir).map_err(|e| io("dir", e))?;
        let observations = dir.join("observations.jsonl");
        let manifest = self.manifest.clone().unwrap_or_else(|| {
            serde_json::json!({
                "id": self.plugin_id,
                "name": "plugin-conformance fake plugin",
                "version": "0.0.0",
                "server": {"runtime": "python", "executable": "plugin.py"}
            })
            .to_string()
        });
        std::fs::write(dir.join(crate::manifest::MANIFEST_FILE), manifest)
            .map_err(|e| io("plugin.json", e))?;
        let script = FakeScript {
            mode: self.mode.name().to_string(),
            observe: observations.clone(),
            options: self.options.clone(),
        };
        std::fs::write(dir.join("plugin.py"), script.render()).map_err(|e| io("plugin.py", e))?;
        if let Some(at) = &self.interpreter_at {
            let target = dir.join(at);
            std::fs::create_dir_all(target.parent().expect("interpreter path has a parent"))
                .map_err(|e| io("venv", e))?;
            std::os::unix::fs::symlink(fake_interpreter()?, &target)
                .map_err(|e| io("interpreter link", e))?;
        }
        Ok(Bundle {
            dir: dir.to_path_buf(),
            plugin_id: self.plugin_id.clone(),
            observations,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fake_build_drops_what_cargo_set_for_this_test_and_keeps_cargo_config() {
        for name in [
            "CARGO_MANIFEST_DIR",
            "CARGO_MANIFEST_PATH",
            "CARGO_PKG_NAME",
            "CARGO_PKG_VERSION_MAJOR",
            "CARGO_CRATE_NAME",
            "CARGO_BIN_EXE_plugin-conformance",
            "CARGO_TARGET_TMPDIR",
            "CARGO_PRIMARY_PACKAGE",
        ] {
            assert!(is_set_by_cargo_for_the_test(name), "{name} kept");
        }
        for name in [
            "CARGO",
            "CARGO_HOME",
            "CARGO_TARGET_DIR",
            "CARGO_INCREMENTAL",
            "CARGO_TERM_COLOR",
            "CARGO_BUILD_JOBS",
            "CARGO_PROFILE_DEV_DEBUG",
            "RUSTFLAGS",
        ] {
            assert!(!is_set_by_cargo_for_the_test(name), "{name} dropped");
        }
        // This test runs under cargo, which set ring's watched CARGO_MANIFEST_DIR for it.
        assert!(std::env::var_os("CARGO_MANIFEST_DIR").is_some());
    }

    #[test]
    fn script_round_trips() {
        let s = FakeScript {
            mode: "slow-start".into(),
            observe: "/tmp/x/observations.jsonl".into(),
            options: [("delay_ms".to_string(), "300".to_string())].into(),
        };
        assert_eq!(FakeScript::parse(&s.render()).unwrap(), s);
        assert!(FakeScript::parse("print('hi')").is_err());
    }
}
