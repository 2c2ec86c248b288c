//! The side channel from a fake interpreter to the runner.
//!
//! The runner writes the path of an observation file into the bundle it generates; the
//! fake interpreter appends one JSON object per line (one `write` each, `O_APPEND`), so
//! the runner learns what the plugin saw: its environment and arguments, the health
//! checks and Shutdown calls it received, the signals it got, the grandchildren it
//! started, and whether the host's PluginAPI server answered while it was shutting down.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// One line of the observation file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// Microseconds since the Unix epoch ([`crate::clock::now_us`]).
    pub t_us: u64,
    pub pid: u32,
    #[serde(flatten)]
    pub event: Observed,
}

/// What a fake interpreter observed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(clippy::large_enum_variant)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Observed {
    /// The process started.
    Started {
        argv: Vec<String>,
        cwd: String,
        /// Every `MATTERMOST_*` and `PLUGIN_*` variable, plus `PATH`.
        env: BTreeMap<String, String>,
        /// Process group id, to check the host put the plugin in its own group.
        pgid: i32,
    },
    /// The plugin tried the PluginAPI address it was given.
    ApiProbe {
        phase: String,
        target: String,
        reachable: bool,
        detail: String,
    },
    /// The plugin printed its handshake line (as bytes written, newline excluded).
    Handshake { line: String },
    /// A `grpc.health.v1.Health/Check` arrived.
    HealthCheck { service: String },
    /// `plugin.GRPCController/Shutdown` arrived.
    ShutdownRpc,
    /// A signal arrived.
    Signal { name: String },
    /// The plugin started a grandchild process.
    Grandchild { child_pid: u32 },
    /// The plugin finished writing this much to stdout after its handshake (the host
    /// must keep draining stdout, or the write blocks).
    StdoutFlood { bytes: u64 },
    /// A hook call arrived; `request` is the request as proto3 JSON.
    HookCall {
        hook: String,
        request: serde_json::Value,
    },
    /// A ServeHTTP response stream ended: `completed` false when the host went away first.
    HttpStreamEnded { path: String, completed: bool },
    /// One step of an API case the plugin ran against the host's PluginAPI server.
    ApiOutcome {
        outcome: crate::apicase::StepOutcome,
    },
    /// An API case finished (`error` when it could not run at all).
    ApiCaseDone {
        case: String,
        steps: usize,
        error: Option<String>,
    },
    /// The `api-load` mode finished its PluginAPI calls: `ok` + `errors` = `calls`. An
    /// error is a gRPC status, an AppError in the response, or no answer within the
    /// per-call deadline; `first_error` describes the first one. `started_us` is when the
    /// first call went out (µs since the Unix epoch), `elapsed_us` how long all took.
    ApiLoad {
        calls: u64,
        ok: u64,
        errors: u64,
        first_error: Option<String>,
        started_us: u64,
        elapsed_us: u64,
    },
    /// The plugin is about to exit.
    Exiting { code: i32, reason: String },
}

/// Appends one observation to the file.
pub fn record(path: &Path, event: Observed) -> std::io::Result<()> {
    let obs = Observation {
        t_us: crate::clock::now_us(),
        pid: std::process::id(),
        event,
    };
    let mut line = serde_json::to_vec(&obs).map_err(std::io::Error::other)?;
    line.push(b'\n');
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    f.write_all(&line)
}

/// Reads every complete observation; a torn last line (a process killed mid-write) and
/// a missing file are not errors.
pub fn read_all(path: &Path) -> Vec<Observation> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_then_read_and_torn_lines_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("obs.jsonl");
        record(&p, Observed::ShutdownRpc).unwrap();
        record(&p, Observed::Grandchild { child_pid: 7 }).unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&p)
            .unwrap()
            .write_all(b"{\"t_us\":1,")
            .unwrap();
        let all = read_all(&p);
        assert_eq!(all.len(), 2);
        assert_eq!(all[1].event, Observed::Grandchild { child_pid: 7 });
        assert!(read_all(&dir.path().join("none")).is_empty());
    }
}
