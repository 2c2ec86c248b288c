//! The runner killed with SIGKILL mid-run: no plugin process survives it (each plugin has
//! the parent-death signal and its own process group), and the scratch directories it
//! could not remove are removed by the next run.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn processes_under(dir: &Path) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if let Ok(cwd) = std::fs::read_link(entry.path().join("cwd"))
            && cwd.starts_with(dir)
            && conformance_core::process::is_running(pid)
        {
            found.push(pid);
        }
    }
    found
}

fn wait_until(limit: Duration, mut ready: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if ready() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    ready()
}

fn scratch_dirs(tmp: &Path) -> Vec<String> {
    std::fs::read_dir(tmp)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(conformance_core::scratch::PREFIX) || n.starts_with(".tmp"))
        .collect()
}

#[test]
fn a_runner_killed_mid_run_leaves_no_plugin_and_its_scratch_is_swept_next_run() {
    let tmp = tempfile::tempdir().unwrap();
    let tmp = tmp.path().canonicalize().unwrap();
    let exe = assert_cmd::cargo::cargo_bin!("plugin-conformance");
    let mut runner = Command::new(exe)
        .env("TMPDIR", &tmp)
        .env("CI", "true")
        .args(["run", "--run", "hooks/*", "--out-dir"])
        .arg(tmp.join("reports"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let busy = wait_until(Duration::from_secs(120), || {
        processes_under(&tmp).len() >= 2
    });
    let plugins = processes_under(&tmp);
    runner.kill().unwrap();
    runner.wait().unwrap();
    assert!(busy, "no plugin process appeared under {}", tmp.display());
    let all_gone = wait_until(Duration::from_secs(10), || processes_under(&tmp).is_empty());
    assert!(
        all_gone,
        "plugins {plugins:?} were running; still alive: {:?}",
        processes_under(&tmp)
    );
    let left = scratch_dirs(&tmp);
    assert!(
        !left.is_empty(),
        "a killed run cannot remove its scratch directory"
    );

    let next = Command::new(exe)
        .env("TMPDIR", &tmp)
        .env("CI", "true")
        .args(["run", "--run", "logs/*", "--out-dir"])
        .arg(tmp.join("reports"))
        .output()
        .unwrap();
    assert!(
        next.status.success(),
        "{}",
        String::from_utf8_lossy(&next.stdout)
    );
    assert_eq!(
        scratch_dirs(&tmp),
        Vec::<String>::new(),
        "left by the killed run: {left:?}"
    );
}
