//! Answer snapshots: what the subject answered to each request a case sent, kept in the
//! JSON report (`CaseOutcome::answers`) so that `diff` sees a behaviour change that keeps
//! every answer well-formed (a filter that stops rejecting its trigger word).

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

/// One request a case sent and what came back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnswerSnapshot {
    /// The rpc called, e.g. `MessageWillBePosted`.
    pub hook: String,
    /// Which request this is, stable across runs: `fully populated`, `stimulus NAME`,
    /// `marker reject-me`...
    pub request_label: String,
    /// The request as sent, in canonical proto3 JSON.
    pub request: Json,
    /// The answer in canonical proto3 JSON; `None` when the call failed.
    #[serde(default)]
    pub answer: Option<Json>,
    /// How the call failed: the gRPC code and message, or the missed deadline.
    #[serde(default)]
    pub error: Option<String>,
}

impl AnswerSnapshot {
    /// What identifies the request across two reports of the same case: the hook, the
    /// label and the request itself (a request that changed is not compared).
    pub fn key(&self) -> (String, String, String) {
        (
            self.hook.clone(),
            self.request_label.clone(),
            self.request.to_string(),
        )
    }

    /// The answer as one comparable value: the answer, or `{"error": ...}`.
    pub fn outcome(&self) -> Json {
        match (&self.answer, &self.error) {
            (Some(answer), _) => answer.clone(),
            (None, Some(error)) => serde_json::json!({ "error": error }),
            (None, None) => Json::Null,
        }
    }
}
