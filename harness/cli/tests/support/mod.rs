//! Helpers shared by the tests that run `plugin-conformance plugin`: a work directory with
//! its own TMPDIR, bundles (the Python reference plugin, fake interpreters), the JSON
//! report, and the check that nothing outlives a run.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use assert_cmd::cargo::cargo_bin;
use conformance_core::fixtures::{BundleBuilder, FakeMode};
use serde_json::Value;

pub fn cli() -> Command {
    Command::new(cargo_bin!("plugin-conformance"))
}

/// `plugin-conformance diff OLD NEW EXTRA...`.
pub fn diff(old: &Path, new: &Path, extra: &[&str]) -> Output {
    cli()
        .arg("diff")
        .arg(old)
        .arg(new)
        .args(extra)
        .output()
        .unwrap()
}

/// Processes whose working directory lies under `dir` (bundles live there).
pub fn processes_under(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if let Ok(cwd) = std::fs::read_link(entry.path().join("cwd"))
            && cwd.starts_with(dir)
            && conformance_core::process::is_running(pid)
        {
            found.push(format!("{pid} in {}", cwd.display()));
        }
    }
    found
}

/// A work directory with `tmp/` (the run's TMPDIR) and `reports/`.
pub struct Work {
    dir: tempfile::TempDir,
}

impl Work {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("tmp")).unwrap();
        Self { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `plugin --bundle BUNDLE ARGS... --out-dir reports`, with TMPDIR in the work dir.
    pub fn plugin(&self, bundle: &Path, args: &[&str]) -> Output {
        self.plugin_to(bundle, args, "reports")
    }

    /// `plugin --bundle BUNDLE ARGS... --out-dir OUT` (OUT under the work dir).
    pub fn plugin_to(&self, bundle: &Path, args: &[&str], out: &str) -> Output {
        cli()
            .arg("plugin")
            .arg("--bundle")
            .arg(bundle)
            .args(args)
            .arg("--out-dir")
            .arg(self.path().join(out))
            .env("TMPDIR", self.path().join("tmp"))
            .env("CI", "true")
            // Python would otherwise write __pycache__ into the bundle it imports from.
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .output()
            .unwrap()
    }

    pub fn report(&self) -> Value {
        let text = std::fs::read_to_string(self.path().join("reports/conformance.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    /// Nothing outlives the run: no temporary directory, no process in the work dir.
    pub fn assert_clean(&self) {
        let left: Vec<PathBuf> = std::fs::read_dir(self.path().join("tmp"))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        assert!(left.is_empty(), "left in TMPDIR: {left:?}");
        // A process SIGKILLed just before the run ended may take a moment to go.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !processes_under(self.path()).is_empty() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        assert_eq!(processes_under(self.path()), Vec::<String>::new());
    }

    /// A bundle of the Python reference plugin in the work dir, or None (printed as a
    /// skip) when its venv cannot be prepared here.
    pub fn python_reference(&self) -> Option<PathBuf> {
        self.python_reference_at("python-reference")
    }

    /// As [`Work::python_reference`], written to `name` under the work dir.
    pub fn python_reference_at(&self, name: &str) -> Option<PathBuf> {
        let prepared = match conformance_core::python_reference::prepare() {
            Ok(p) => p,
            Err(reason) => {
                println!("skipped: the Python reference plugin cannot be prepared: {reason}");
                return None;
            }
        };
        let bundle = self.path().join(name);
        conformance_core::python_reference::write_bundle(prepared, &bundle, Default::default())
            .unwrap();
        Some(bundle)
    }

    pub fn fake(&self, mode: FakeMode) -> PathBuf {
        self.fake_with(mode, &[])
    }

    /// A fake-interpreter bundle of `mode` with options, in the work dir.
    pub fn fake_with(&self, mode: FakeMode, options: &[(&str, &str)]) -> PathBuf {
        // The CLI is also the fake interpreter: no escargot build of a second binary, which
        // under `cargo test -p plugin-conformance` would resolve features differently and
        // recompile the shared crates on every run.
        conformance_core::fixtures::prefer_fake_interpreter(
            cargo_bin!("plugin-conformance").to_path_buf(),
        );
        let dir = self.path().join(mode.name());
        let mut builder = BundleBuilder::new(mode).plugin_id("com.example.misbehaving");
        for (key, value) in options {
            builder = builder.option(key, value);
        }
        builder.write(&dir).unwrap();
        dir
    }
}

pub fn case<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no case {name} in the report"))
}

/// The case `name` of the report, which must have `status` (else the case and the run's
/// output are shown).
pub fn expect(out: &Output, report: &Value, name: &str, status: &str) -> Value {
    let c = case(report, name).clone();
    assert_eq!(c["status"], status, "{name}: {c:#}\n{}", explain(out));
    c
}

pub fn explain(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
