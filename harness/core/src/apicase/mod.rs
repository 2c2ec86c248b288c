//! Declarative PluginAPI cases: a case is a list of steps, each calling one rpc with a
//! request written as proto3 JSON, capturing values from the response, and expecting
//! fields or an error. Steps are run from inside a plugin process (an exerciser: the fake
//! interpreter's `api-exerciser` mode, or the Python reference plugin), which reports each
//! raw [`StepOutcome`]; the runner judges them ([`evaluate`]). So the same files check our
//! reference server and any other host's PluginAPI server, through any plugin runtime.
//!
//! The file format is documented in `suites/api/README.md`.

mod capability;
pub mod consistency;
pub(crate) mod dynamic;
pub mod echo;
mod engine;
pub mod fields;
pub mod invariants;
mod load;
mod matcher;
mod outcome;
mod provenance;
mod walk;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use capability::Capability;
pub use dynamic::{
    DynamicClient, RpcError, normalize_request, normalize_response, response_message,
};
pub use engine::{StepReport, evaluate, execute, substitute, unresolved};
pub use load::{CaseFileError, load_case_file};
pub use matcher::{lookup, matches};
pub use outcome::{CallError, CallErrorKind, StepOutcome};
pub use provenance::Provenance;

use crate::runner::Level;

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
    /// The clause checked (`SPEC §24.9`); defaults to the rpc's error regime clause.
    #[serde(default)]
    pub clause: Option<String>,
    pub summary: String,
    /// The upstream code or tests whose behaviour the case asserts (at least one).
    #[serde(default)]
    pub provenance: Vec<Provenance>,
    /// Why upstream's behaviour could not be determined from its source: the case then
    /// checks only our reference server's choice, and must be a MAY case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_only: Option<String>,
    /// What the case needs of the host beyond the protocol; also derived from the steps
    /// (see [`ApiCase::required_capabilities`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requires: Vec<Capability>,
    /// Why the case changes shared server state that its cleanup cannot restore: such a
    /// case runs only where each case has a store of its own, or with `--allow-destructive`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destructive: Option<String>,
    pub steps: Vec<Step>,
    /// Calls that undo what the steps did (remove what they created, restore what they
    /// changed). They run after the steps whatever their outcome; each must succeed. A
    /// cleanup call whose variables were never captured (an earlier step failed) is not
    /// made, and the report says so.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cleanup: Vec<CleanupStep>,
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
    /// server honours); needs the host capability `plugin-identity`.
    #[serde(default)]
    pub as_plugin: Option<String>,
    /// Wait this long before the call (for expiry cases: time passing is the event).
    #[serde(default)]
    pub after_ms: Option<u64>,
    /// Poll: repeat the call (every [`POLL_INTERVAL_MS`]) until its expectation holds, for
    /// at most this long: for effects upstream produces asynchronously (a post an /echo
    /// writes, a plugin's state after enabling, a key's expiry). The exerciser checks the
    /// expectation to know when to stop; the runner judges the last call as usual.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poll_ms: Option<u64>,
    /// Where this step's expectation comes from, when it is not the case's provenance.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub provenance: Vec<Provenance>,
}

/// A call that undoes part of what a case did. Only a call: no expectation, no capture.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CleanupStep {
    pub call: String,
    #[serde(default = "empty_object")]
    pub request: serde_json::Value,
    #[serde(default)]
    pub as_plugin: Option<String>,
}

impl CleanupStep {
    /// The cleanup call as a step that expects success.
    pub fn as_step(&self) -> Step {
        Step {
            call: self.call.clone(),
            request: self.request.clone(),
            capture: BTreeMap::new(),
            expect: Expect::default(),
            as_plugin: self.as_plugin.clone(),
            after_ms: None,
            poll_ms: None,
            provenance: Vec::new(),
        }
    }
}

/// How often a polling step repeats its call.
pub const POLL_INTERVAL_MS: u64 = 50;

/// The longest a step may poll.
pub const MAX_POLL_MS: u64 = 10_000;

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
    /// Needs the host capability `call-log`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_effect: Option<String>,
}

/// An expected failure, in one of the shapes upstream's gRPC layer produces (SPEC §10.1):
/// * an AppError: `{"http": 404, "id": "..."}`, judged in the rpc's regime (a status
///   whose code comes from the HTTP status and whose message is `"<id>: <message>"`, or an
///   embedded AppError);
/// * a plain Go error: `{"go_error": "text"}`, a status INTERNAL whose message is
///   `"internal error: ..."` and contains the text (which may be empty);
/// * a handler's guard: `{"guard": "bot is required"}`, a status INVALID_ARGUMENT whose
///   message is exactly the text, with no AppError id;
/// * `{"grpc": "UNIMPLEMENTED"}`: a bare status code, for rpcs upstream does not serve.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ErrorExpect {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub go_error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guard: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grpc: Option<String>,
}

/// The shape of an [`ErrorExpect`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorShape {
    AppError,
    GoError,
    Guard,
    Grpc,
}

impl ErrorExpect {
    /// Which shape this is, or why it is none (zero or several shapes given).
    pub fn shape(&self) -> Result<ErrorShape, String> {
        let shapes: Vec<ErrorShape> = [
            (self.http.is_some(), ErrorShape::AppError),
            (self.go_error.is_some(), ErrorShape::GoError),
            (self.guard.is_some(), ErrorShape::Guard),
            (self.grpc.is_some(), ErrorShape::Grpc),
        ]
        .into_iter()
        .filter_map(|(given, shape)| given.then_some(shape))
        .collect();
        match shapes.as_slice() {
            [shape] if *shape != ErrorShape::AppError && self.id.is_some() => {
                Err("`id` belongs to an AppError expectation (`http`)".into())
            }
            [shape] => Ok(*shape),
            [] => {
                Err("an error expectation needs one of `http`, `go_error`, `guard`, `grpc`".into())
            }
            _ => Err(
                "an error expectation has exactly one of `http`, `go_error`, `guard`, `grpc`"
                    .into(),
            ),
        }
    }
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
    /// Sent on every call as the session header ([`crate::api::SESSION_HEADER`]); empty
    /// when the host has no sessions (then nothing is sent).
    pub session: String,
}

impl ApiCase {
    /// Every capability the case needs: those it declares, `plugin-identity` when a step
    /// or cleanup call runs `as_plugin`, `call-log` when a step expects a host effect.
    pub fn required_capabilities(&self) -> std::collections::BTreeSet<Capability> {
        let mut out: std::collections::BTreeSet<Capability> =
            self.requires.iter().copied().collect();
        if self.steps.iter().any(|s| s.as_plugin.is_some())
            || self.cleanup.iter().any(|s| s.as_plugin.is_some())
        {
            out.insert(Capability::PluginIdentity);
        }
        if self.steps.iter().any(|s| s.expect.host_effect.is_some()) {
            out.insert(Capability::CallLog);
        }
        out
    }

    /// The steps and then the cleanup calls, as the exerciser runs them.
    pub fn all_steps(&self) -> Vec<Step> {
        self.steps
            .iter()
            .cloned()
            .chain(self.cleanup.iter().map(CleanupStep::as_step))
            .collect()
    }
}
