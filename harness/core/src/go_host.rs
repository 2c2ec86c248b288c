//! The go-plugin host driver (`fixtures/hosts/go-plugin/`): a real
//! hashicorp/go-plugin host that serves the host driver contract
//! (`proto/harness/v1/driver.proto`), built at test time.
//!
//! [`build`] runs, once per process and output path,
//!
//! ```text
//! go build -buildvcs=false -o <target>/go-plugin-host/go-plugin-host .
//! ```
//!
//! in that directory (Go's module and build caches make later builds quick; the first one
//! downloads the modules of its `go.sum`). The binary is linked under a temporary name and
//! renamed into place, so a test process still running an older binary is not disturbed.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::python_reference::{target_dir, workspace_root};

/// The Go module, relative to the workspace root.
pub const HOST_DIR: &str = "fixtures/hosts/go-plugin";
/// How long `go build` may take: the first build downloads go-plugin, grpc-go and their
/// dependencies from the module proxy.
pub const BUILD_TIMEOUT: Duration = Duration::from_secs(600);

/// `<target>/go-plugin-host/go-plugin-host`.
pub fn default_output() -> PathBuf {
    target_dir().join("go-plugin-host").join("go-plugin-host")
}

/// Builds the host into [`default_output`] once per process; `Err` says why it cannot be
/// built here ("go not found on PATH", "go build failed: ..."), for callers to skip with.
pub fn build() -> Result<PathBuf, String> {
    build_to(&default_output())
}

/// [`build`] into `output`, once per process for each output path.
pub fn build_to(output: &Path) -> Result<PathBuf, String> {
    static BUILDS: OnceLock<Mutex<HashMap<PathBuf, Result<PathBuf, String>>>> = OnceLock::new();
    let mut builds = BUILDS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(result) = builds.get(output) {
        return result.clone();
    }
    let result = go_build(&workspace_root().join(HOST_DIR), output, BUILD_TIMEOUT);
    builds.insert(output.to_path_buf(), result.clone());
    result
}

/// `go build` of the module in `source` into `output`, without any caching of ours.
pub fn go_build(source: &Path, output: &Path, timeout: Duration) -> Result<PathBuf, String> {
    if !source.join("go.mod").is_file() {
        return Err(format!(
            "the go-plugin host's sources are not at {}",
            source.display()
        ));
    }
    let dir = output
        .parent()
        .ok_or_else(|| format!("{} has no parent directory", output.display()))?;
    std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let name = output
        .file_name()
        .ok_or_else(|| format!("{} has no file name", output.display()))?
        .to_string_lossy();
    let partial = dir.join(format!(".{name}.{}.partial", std::process::id()));
    let log = dir.join(format!(".{name}.{}.build.log", std::process::id()));

    let mut cmd = Command::new("go");
    cmd.current_dir(source)
        .args(["build", "-buildvcs=false", "-o"])
        .arg(&partial)
        .arg(".")
        // A go.work above the workspace must not pull this module into another build.
        .env("GOWORK", "off");
    let started = Instant::now();
    let outcome = run(&mut cmd, timeout, &log);
    let _ = std::fs::remove_file(&log);
    if let Err(e) = outcome {
        let _ = std::fs::remove_file(&partial);
        return Err(e);
    }
    std::fs::rename(&partial, output).map_err(|e| {
        let _ = std::fs::remove_file(&partial);
        format!("moving {} to {}: {e}", partial.display(), output.display())
    })?;
    tracing::debug!(took = ?started.elapsed(), output = %output.display(), "built the go-plugin host");
    Ok(output.to_path_buf())
}

/// Runs `cmd` with stdout and stderr to `log`, killing it after `timeout`.
fn run(cmd: &mut Command, timeout: Duration, log: &Path) -> Result<(), String> {
    let file =
        std::fs::File::create(log).map_err(|e| format!("creating {}: {e}", log.display()))?;
    let err = file
        .try_clone()
        .map_err(|e| format!("creating {}: {e}", log.display()))?;
    let mut child = match cmd.stdin(Stdio::null()).stdout(file).stderr(err).spawn() {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(
                "go not found on PATH: building the go-plugin host needs Go 1.26 or newer".into(),
            );
        }
        Err(e) => return Err(format!("go could not be run: {e}")),
    };
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "go build timed out after {timeout:?}{}",
                    log_tail(log)
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => return Err(format!("waiting for go build: {e}")),
        }
    };
    if status.success() {
        Ok(())
    } else {
        Err(format!("go build failed ({status}){}", log_tail(log)))
    }
}

/// The last 2,000 characters of a log, as `: <text>`.
fn log_tail(log: &Path) -> String {
    let mut text = String::new();
    if let Ok(mut f) = std::fs::File::open(log) {
        let _ = f.read_to_string(&mut text);
    }
    let text = text.trim();
    if text.is_empty() {
        return String::new();
    }
    let start = text
        .char_indices()
        .rev()
        .nth(2000)
        .map(|(i, _)| i)
        .unwrap_or(0);
    format!(": {}", &text[start..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_module_is_a_clear_error() {
        let scratch = tempfile::tempdir().unwrap();
        let err = go_build(
            scratch.path(),
            &scratch.path().join("out/host"),
            Duration::from_secs(5),
        )
        .unwrap_err();
        assert!(err.contains("sources are not at"), "{err}");
    }
}
