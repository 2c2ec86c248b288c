//! Scratch directories that do not outlive a killed run. Every temporary directory the
//! harness makes is named `plugin-conformance-<pid>-<kind>-XXXXXX` under the system temp
//! directory. A run that ends normally removes its own; a run killed with SIGKILL cannot,
//! so each run first removes those whose `<pid>` is no longer alive ([`sweep_stale`]).

use std::path::Path;

/// The name prefix of every scratch directory of this harness.
pub const PREFIX: &str = "plugin-conformance-";

/// A new scratch directory of `kind` (removed when the value is dropped).
pub fn dir(kind: &str) -> std::io::Result<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix(&format!("{PREFIX}{}-{kind}-", std::process::id()))
        .tempdir()
}

/// The pid in a scratch directory's name, if it is one of ours.
fn owner(name: &str) -> Option<u32> {
    name.strip_prefix(PREFIX)?.split('-').next()?.parse().ok()
}

/// Removes the scratch directories under `tmp` left by processes that are gone; returns
/// how many were removed.
pub fn sweep_stale_in(tmp: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(tmp) else {
        return 0;
    };
    entries
        .flatten()
        .filter(|e| {
            e.file_name().to_str().and_then(owner).is_some_and(|pid| {
                pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists()
            })
        })
        .filter(|e| std::fs::remove_dir_all(e.path()).is_ok())
        .count()
}

/// [`sweep_stale_in`] the system temp directory.
pub fn sweep_stale() -> usize {
    sweep_stale_in(&std::env::temp_dir())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_directories_of_dead_owners_are_swept() {
        let tmp = tempfile::tempdir().unwrap();
        // pid 1 is alive (init); u32::MAX never is.
        let alive = tmp.path().join(format!("{PREFIX}1-run-x"));
        let dead = tmp.path().join(format!("{PREFIX}{}-run-y", u32::MAX));
        let mine = tmp
            .path()
            .join(format!("{PREFIX}{}-run-z", std::process::id()));
        let other = tmp.path().join("someone-else");
        for d in [&alive, &dead, &mine, &other] {
            std::fs::create_dir(d).unwrap();
        }
        assert_eq!(sweep_stale_in(tmp.path()), 1);
        assert!(alive.exists() && mine.exists() && other.exists() && !dead.exists());
    }
}
