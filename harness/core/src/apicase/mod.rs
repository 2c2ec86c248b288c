//! Declarative PluginAPI cases: a case is a list of steps, each calling one rpc with a
//! request written as proto3 JSON, capturing values from the response, and expecting
//! fields or an error. Steps are run from inside a plugin process (an exerciser: the fake
//! interpreter's `api-exerciser` mode, or the Python reference plugin), which reports each
//! raw [`StepOutcome`]; the runner judges them ([`evaluate`]). So the same files check our
//! reference server and any other host's PluginAPI server, through any plugin runtime.
//!
//! The file format is documented in `suites/api/README.md`.

pub(crate) mod dynamic;
mod engine;
mod matcher;
mod outcome;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use dynamic::{DynamicClient, RpcError, normalize_request, normalize_response};
pub use engine::{StepReport, evaluate, execute, substitute};
pub use matcher::{lookup, matches};
pub use outcome::{CallError, CallErrorKind, StepOutcome};

use crate::runner::Level;

/// A file of API cases.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApiCaseFile {
    pub cases: Vec<ApiCase>,
}

/// One API case.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiCase {
    /// `<Rpc>/<what>`, e.g. `KVCompareAndSet/stale-old-value`; the runner prefixes `api/`.
    pub name: String,
    /// The rpc this case covers (coverage is computed from this field).
    pub rpc: String,
    #[serde(default = "must")]
    pub level: Level,
    /// The clause checked; defaults to the rpc's row of api-methods.tsv.
    #[serde(default)]
    pub clause: Option<String>,
    pub summary: String,
    pub steps: Vec<Step>,
}

fn must() -> Level {
    Level::Must
}

/// One call.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// The rpc name, e.g. `CreateUser`.
    pub call: String,
    /// The request as proto3 JSON; strings may contain `${var}` placeholders.
    #[serde(default = "empty_object")]
    pub request: serde_json::Value,
    /// Variables to capture: name → path into the response (e.g. `user.id`).
    #[serde(default)]
    pub capture: BTreeMap<String, String>,
    #[serde(default)]
    pub expect: Expect,
    /// Call as another plugin (sets the plugin-id request header, which the reference
    /// server honours); for isolation cases.
    #[serde(default)]
    pub as_plugin: Option<String>,
    /// Wait this long before the call (for expiry cases: time passing is the event).
    #[serde(default)]
    pub after_ms: Option<u64>,
}

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(Default::default())
}

/// What a step expects.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// A failure, checked in the rpc's error regime.
    #[serde(default)]
    pub error: Option<ErrorExpect>,
    /// Path → matcher (see `matcher.rs`), over the response as proto3 JSON with 64-bit
    /// integers as numbers and default values omitted.
    #[serde(default)]
    pub fields: BTreeMap<String, serde_json::Value>,
    /// Text the host's record of this call's effect must contain, for rpcs whose effect
    /// no rpc reads back (a log line, a WebSocket event); may hold `${var}` placeholders.
    /// Checked where the host keeps a call log (the reference host); noted elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_effect: Option<String>,
}

/// An expected failure: the AppError's HTTP status and optionally its id.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorExpect {
    pub http: i32,
    #[serde(default)]
    pub id: Option<String>,
}

/// What an exerciser reads: cases to run, each with its starting variables and session.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExerciseFile {
    pub exercises: Vec<Exercise>,
}

/// One case to run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Exercise {
    pub case: ApiCase,
    /// `run`, `plugin_id` and `now`, as the case's variables start.
    pub vars: BTreeMap<String, serde_json::Value>,
    /// Sent on every call as the session header ([`crate::api::SESSION_HEADER`]).
    pub session: String,
}

impl ApiCaseFile {
    pub fn parse(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }
}
