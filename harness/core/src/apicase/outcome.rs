//! What an exerciser reports for one step: the request it sent and the raw answer, with no
//! judgement. The runner evaluates outcomes ([`super::evaluate`]), so an exerciser written
//! in any language (the fake interpreter's, the Python reference plugin's) only has to
//! call and report, and every plugin is judged by the same code.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::dynamic::RpcError;

/// One step as an exerciser ran it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepOutcome {
    /// The case's name.
    pub case: String,
    /// The step's position in the case, from 0.
    pub index: usize,
    pub call: String,
    /// The request after substitution, as sent.
    pub request: Value,
    /// The response as proto3 JSON (any valid spelling), when the call answered OK.
    #[serde(default)]
    pub response: Option<Value>,
    /// Why there is no response.
    #[serde(default)]
    pub error: Option<CallError>,
}

/// Why a call produced no response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallError {
    pub kind: CallErrorKind,
    /// The gRPC status code, for [`CallErrorKind::Status`].
    #[serde(default)]
    pub code: Option<i32>,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallErrorKind {
    /// The call completed with a non-OK gRPC status (transport failures included).
    Status,
    /// The request could not be built from the case's JSON.
    BadRequest,
    /// The exerciser knows no such rpc.
    UnknownRpc,
    /// A cleanup call that was not made: its request names variables that were never
    /// captured (the message lists them).
    NotRun,
}

impl CallError {
    /// The outcome of a cleanup call not made for want of `missing` variables.
    pub fn not_run(missing: &[String]) -> Self {
        CallError {
            kind: CallErrorKind::NotRun,
            code: None,
            message: format!(
                "not made: never captured: {}",
                missing
                    .iter()
                    .map(|m| format!("${{{m}}}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

impl From<&RpcError> for CallError {
    fn from(e: &RpcError) -> Self {
        match e {
            RpcError::Status { code, message } => CallError {
                kind: CallErrorKind::Status,
                code: Some(*code as i32),
                message: message.clone(),
            },
            RpcError::UnknownRpc(rpc) => CallError {
                kind: CallErrorKind::UnknownRpc,
                code: None,
                message: rpc.clone(),
            },
            RpcError::BadRequest { .. } | RpcError::BadResponse { .. } => CallError {
                kind: CallErrorKind::BadRequest,
                code: None,
                message: e.to_string(),
            },
        }
    }
}

impl StepOutcome {
    /// The outcome as the evaluator reads it. A response is not yet normalised.
    pub fn result(&self) -> Result<Value, RpcError> {
        match (&self.error, &self.response) {
            (None, Some(v)) => Ok(v.clone()),
            (None, None) => Err(RpcError::BadResponse {
                message: "a step outcome".into(),
                error: "the exerciser reported neither a response nor an error".into(),
            }),
            (Some(e), _) => Err(match e.kind {
                CallErrorKind::Status => RpcError::Status {
                    code: tonic::Code::from_i32(e.code.unwrap_or(tonic::Code::Unknown as i32)),
                    message: e.message.clone(),
                },
                CallErrorKind::BadRequest => RpcError::BadRequest {
                    message: self.call.clone(),
                    error: e.message.clone(),
                },
                CallErrorKind::UnknownRpc => RpcError::UnknownRpc(self.call.clone()),
                CallErrorKind::NotRun => RpcError::BadResponse {
                    message: self.call.clone(),
                    error: e.message.clone(),
                },
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_status_survives_the_round_trip() {
        let e = RpcError::Status {
            code: tonic::Code::NotFound,
            message: "app.user.missing: no".into(),
        };
        let o = StepOutcome {
            case: "c".into(),
            index: 0,
            call: "GetUser".into(),
            request: json!({}),
            response: None,
            error: Some(CallError::from(&e)),
        };
        let back: StepOutcome = serde_json::from_value(serde_json::to_value(&o).unwrap()).unwrap();
        assert_eq!(back.result(), Err(e));
    }

    #[test]
    fn neither_response_nor_error_is_a_bad_response() {
        let o = StepOutcome {
            case: "c".into(),
            index: 0,
            call: "GetUser".into(),
            request: json!({}),
            response: None,
            error: None,
        };
        assert!(matches!(o.result(), Err(RpcError::BadResponse { .. })));
    }
}
