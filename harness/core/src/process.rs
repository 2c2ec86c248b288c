//! Process groups: the plugin runs in a group of its own, so the host can kill it and
//! every grandchild it started with one signal, and no process outlives a run.

/// Kills a process group when dropped, so a cancelled or timed-out case leaves nothing
/// running. [`ProcessGroup::kill`] is idempotent.
#[derive(Debug)]
pub struct ProcessGroup {
    pgid: i32,
    /// Whether dropping the handle kills the group (the safety net; see [`Self::disarm`]).
    armed: bool,
}

impl ProcessGroup {
    /// Takes ownership of the group led by `pid` (spawned with `process_group(0)`).
    pub fn new(pid: u32) -> Self {
        Self {
            pgid: pid as i32,
            armed: true,
        }
    }

    /// Dropping the handle no longer kills the group: for a host that is meant to leave
    /// the group alone (the mutation score's `kill-leader-only` deviation, whose leftovers
    /// its runner reaps, see [`kill_children`]).
    pub fn disarm(&mut self) {
        self.armed = false;
    }

    pub fn id(&self) -> i32 {
        self.pgid
    }

    /// Sends SIGKILL to every process in the group.
    pub fn kill(&self) -> bool {
        // SAFETY: killpg has no memory-safety preconditions.
        unsafe { libc::killpg(self.pgid, libc::SIGKILL) == 0 }
    }

    /// Whether any process (zombies included) is still in the group.
    pub fn any_alive(&self) -> bool {
        // SAFETY: signal 0 only checks for existence.
        unsafe { libc::killpg(self.pgid, 0) == 0 }
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        if self.armed {
            self.kill();
        }
    }
}

/// Makes this process the reaper of its orphaned descendants (Linux
/// `PR_SET_CHILD_SUBREAPER`), so that [`kill_children`] can find them.
pub fn become_subreaper() -> std::io::Result<()> {
    // SAFETY: prctl with these arguments has no memory-safety preconditions.
    if unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Sends SIGKILL to every child of this process (after [`become_subreaper`], orphaned
/// descendants included) and reaps them; returns the pid and command line of each one that
/// was still running (orphans that had already exited are only reaped).
pub fn kill_children() -> Vec<String> {
    let me = std::process::id();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let children: Vec<i32> = dir
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|stat| {
                    let (_, rest) = stat.rsplit_once(')')?;
                    rest.split_whitespace().nth(1)?.parse::<u32>().ok()
                })
                == Some(me)
        })
        .collect();
    let mut killed = Vec::with_capacity(children.len());
    for pid in children {
        let running = is_running(pid as u32);
        let command = std::fs::read(format!("/proc/{pid}/cmdline"))
            .map(|c| {
                String::from_utf8_lossy(&c)
                    .replace('\0', " ")
                    .trim()
                    .to_string()
            })
            .unwrap_or_default();
        // SAFETY: kill and waitpid have no memory-safety preconditions.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
            libc::waitpid(pid, std::ptr::null_mut(), 0);
        }
        if running {
            killed.push(format!("{pid} {command}"));
        }
    }
    killed
}

/// Whether a process is alive and not a zombie.
pub fn is_running(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

/// Whether a live (non-zombie) process is in process group `pgid` (scans `/proc`;
/// `killpg(pgid, 0)` would also count zombies waiting to be reaped).
pub fn group_has_live_members(pgid: i32) -> bool {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return false;
    };
    dir.filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .any(|pid| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                return false;
            };
            let Some((_, rest)) = stat.rsplit_once(')') else {
                return false;
            };
            // After the command name: state, ppid, pgrp, ...
            let fields: Vec<&str> = rest.split_whitespace().collect();
            fields.first().is_some_and(|s| *s != "Z" && *s != "X")
                && fields.get(2).and_then(|g| g.parse::<i32>().ok()) == Some(pgid)
        })
}

/// Makes the child die with the host (Linux `PR_SET_PDEATHSIG`); called between fork and
/// exec.
pub fn die_with_parent() -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    // SAFETY: prctl with PR_SET_PDEATHSIG is async-signal-safe.
    unsafe {
        if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_kill_on_drop() {
        use std::os::unix::process::CommandExt;
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .process_group(0)
            .spawn()
            .unwrap();
        let pid = child.id();
        assert!(is_running(pid));
        drop(ProcessGroup::new(pid));
        child.wait().unwrap();
        assert!(!is_running(pid));
    }
}
