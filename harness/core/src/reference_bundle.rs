//! A self-contained bundle of the Python reference plugin, for users
//! (`plugin-conformance reference-plugin --out DIR`, `--pack FILE.tar.gz`). Unlike
//! [`crate::python_reference::write_bundle`], whose bundles link into the cargo target
//! directory for the test suites' speed, nothing here points outside the bundle:
//!
//! ```text
//! DIR/plugin.json, plugin.py, conformance_*.py, README.md   the plugin's files
//! DIR/_generated/                 the Python stubs, copied
//! DIR/requirements.txt            what the plugin needs at run time (grpcio-tools left out)
//! DIR/conformance.json            hooks "all", no observation file
//! DIR/venv/                       python3 -m venv + pip install -r requirements.txt
//! ```
//!
//! The venv is prepared from the bundle's own `requirements.txt` the first time the bundle
//! is written, and again whenever it is missing or cannot import the requirements (another
//! machine, another Python). It survives `cargo clean`; a venv's interpreter links to the
//! machine's `python3`, so on another machine write the bundle there, or run
//! `python3 -m venv venv && venv/bin/pip install -r requirements.txt` in it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::python_reference::{self, PIP_TIMEOUT, PreparedPython, STEP_TIMEOUT};

/// The modules the plugin imports from its requirements, to tell a usable venv.
const IMPORT_CHECK: &str = "import grpc, grpc_health.v1.health, google.protobuf";

/// What [`write`] did.
#[derive(Debug)]
pub struct Standalone {
    /// The bundle, absolute.
    pub dir: PathBuf,
    pub plugin_id: String,
    /// Whether a usable venv was already there.
    pub venv_reused: bool,
    pub took: Duration,
}

/// Writes the self-contained bundle into `dir` (created if needed), preparing its venv
/// unless a usable one is there.
pub fn write(prepared: &PreparedPython, dir: &Path) -> Result<Standalone, String> {
    let started = Instant::now();
    let io = |what: &str, e: std::io::Error| format!("writing the bundle ({what}): {e}");
    std::fs::create_dir_all(dir).map_err(|e| io("dir", e))?;
    let dir = std::path::absolute(dir).map_err(|e| io("dir", e))?;
    for file in python_reference::plugin_files(&prepared.plugin_src)? {
        let name = file.file_name().expect("a file has a name");
        let to = dir.join(name);
        if name == "requirements.txt" {
            let text = std::fs::read_to_string(&file).map_err(|e| io("requirements.txt", e))?;
            std::fs::write(&to, runtime_requirements(&text))
                .map_err(|e| io("requirements.txt", e))?;
        } else {
            std::fs::copy(&file, &to).map_err(|e| io(&name.to_string_lossy(), e))?;
        }
    }
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.join(crate::manifest::MANIFEST_FILE))
            .map_err(|e| io("plugin.json", e))?,
    )
    .map_err(|e| format!("the reference plugin's plugin.json: {e}"))?;
    let plugin_id = manifest["id"]
        .as_str()
        .ok_or("the reference plugin's plugin.json has no id")?
        .to_string();

    let stubs = dir.join("_generated");
    remove(&stubs).map_err(|e| io("_generated", e))?;
    copy_tree(&prepared.stubs, &stubs).map_err(|e| io("_generated", e))?;

    let config = serde_json::json!({ "observe": null, "hooks": "all" });
    std::fs::write(
        dir.join("conformance.json"),
        serde_json::to_string_pretty(&config).expect("JSON serialises"),
    )
    .map_err(|e| io("conformance.json", e))?;

    let venv = dir.join("venv");
    let venv_reused = usable(&venv);
    if !venv_reused {
        prepare_venv(&venv, &dir.join("requirements.txt"))?;
    }
    Ok(Standalone {
        dir,
        plugin_id,
        venv_reused,
        took: started.elapsed(),
    })
}

/// Packs a bundle [`write`] made as Mattermost distributes plugins: a `.tar.gz` with the
/// bundle under a top directory named after the plugin id (venv included, bytecode
/// caches left out).
pub fn pack(bundle: &Standalone, archive: &Path) -> Result<(), String> {
    crate::bundle_archive::pack_filtered(&bundle.dir, &bundle.plugin_id, archive, &|path| {
        !path.components().any(|c| c.as_os_str() == "__pycache__")
    })
}

/// `requirements.txt` without what only the stub generation needs.
fn runtime_requirements(text: &str) -> String {
    let mut out = String::from(
        "# What the Python reference plugin needs at run time (written by plugin-conformance).\n",
    );
    for line in text.lines() {
        let name = line.split(['=', '<', '>', '~', ' ']).next().unwrap_or("");
        if !line.trim_start().starts_with('#') && !line.trim().is_empty() && name != "grpcio-tools"
        {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// Whether `venv`'s interpreter runs and imports the plugin's requirements.
fn usable(venv: &Path) -> bool {
    let python = venv.join("bin/python");
    !venv.is_symlink()
        && python.exists()
        && Command::new(&python)
            .args(["-c", IMPORT_CHECK])
            .output()
            .is_ok_and(|out| out.status.success())
}

fn prepare_venv(venv: &Path, requirements: &Path) -> Result<(), String> {
    remove(venv).map_err(|e| format!("removing the unusable {}: {e}", venv.display()))?;
    let logs = tempfile::tempdir().map_err(|e| format!("a directory for the logs: {e}"))?;
    let mut cmd = Command::new("python3");
    cmd.args(["-m", "venv"]).arg(venv);
    python_reference::run(&mut cmd, STEP_TIMEOUT, &logs.path().join("venv.log"))
        .map_err(|e| format!("python3 -m venv {} failed: {e}", venv.display()))?;
    let mut cmd = python_reference::pip_install(&venv.join("bin/python"), requirements);
    python_reference::run(&mut cmd, PIP_TIMEOUT, &logs.path().join("pip.log"))
        .map_err(|e| format!("pip install -r {} failed: {e}", requirements.display()))?;
    if !usable(venv) {
        return Err(format!(
            "the venv {} was prepared but cannot `{IMPORT_CHECK}`",
            venv.display()
        ));
    }
    Ok(())
}

/// Removes a file, link or directory tree at `path`, if any.
fn remove(path: &Path) -> std::io::Result<()> {
    match path.symlink_metadata() {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
        Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
    }
}

/// Copies the regular files and directories under `from` into `to` (bytecode caches left
/// out).
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let target = to.join(entry.file_name());
        if kind.is_dir() && entry.file_name() != "__pycache__" {
            copy_tree(&entry.path(), &target)?;
        } else if kind.is_file() {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_requirements_leave_out_grpcio_tools_and_comments() {
        let text = "# pinned\ngrpcio==1.85.1\ngrpcio-health-checking==1.85.1\ngrpcio-tools==1.85.1\n\nprotobuf==7.36.2\n";
        let out = runtime_requirements(text);
        let lines: Vec<&str> = out.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            lines,
            [
                "grpcio==1.85.1",
                "grpcio-health-checking==1.85.1",
                "protobuf==7.36.2"
            ]
        );
    }

    #[test]
    fn copy_tree_copies_files_and_leaves_out_bytecode() {
        let dir = tempfile::tempdir().unwrap();
        let from = dir.path().join("from");
        std::fs::create_dir_all(from.join("plugin/__pycache__")).unwrap();
        std::fs::write(from.join("hooks_pb2.py"), "x").unwrap();
        std::fs::write(from.join("plugin/__init__.py"), "").unwrap();
        std::fs::write(from.join("plugin/__pycache__/a.pyc"), "").unwrap();
        let to = dir.path().join("to");
        copy_tree(&from, &to).unwrap();
        assert!(to.join("hooks_pb2.py").is_file());
        assert!(to.join("plugin/__init__.py").is_file());
        assert!(!to.join("plugin/__pycache__").exists());
    }
}
