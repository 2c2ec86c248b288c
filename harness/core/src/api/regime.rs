//! How each rpc reports failure (SPEC §10.1, `api-methods.tsv`): as a gRPC status
//! whose code comes from the AppError's HTTP status and whose message is
//! `"<id>: <message>"`, or as an AppError embedded in response field 1 with gRPC OK.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use pluginapi_proto::api::ApiResponse;

use crate::mutants::{self, Protocol};
use pluginapi_proto::pluginapi::AppError;
use tonic::{Code, Response, Status};

/// `api-methods.tsv`, embedded.
pub const API_METHODS_TSV: &str = include_str!("../../../../fixtures/protocol/api-methods.tsv");

/// The `go_server_error_reporting` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UpstreamRegime {
    Status,
    Embedded,
    None,
    Unimplemented,
    NoHandler,
}

/// How our reference server reports a failure of an rpc.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Regime {
    /// Non-OK gRPC status, no response message.
    Status,
    /// gRPC OK, AppError in field 1.
    Embedded,
    /// The Go method has no error result: always OK with `error` unset.
    Infallible,
}

impl UpstreamRegime {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "status" => Self::Status,
            "embedded" => Self::Embedded,
            "none" => Self::None,
            "unimplemented" => Self::Unimplemented,
            "no-handler" => Self::NoHandler,
            _ => return None,
        })
    }

    /// What our server does. Upstream has no handler for 35 rpcs (and answers
    /// `GetPluginID` with UNIMPLEMENTED); we implement them for real and report their
    /// failures the way upstream's handler files do for the rest of their groups: as a
    /// gRPC status.
    pub fn ours(self) -> Regime {
        match self {
            Self::Status | Self::Unimplemented | Self::NoHandler => Regime::Status,
            Self::Embedded => Regime::Embedded,
            Self::None => Regime::Infallible,
        }
    }
}

/// A kind of failure upstream's gRPC handler of an rpc can answer (the `error_classes`
/// column of `api-methods.tsv`, SPEC §10.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ErrorClass {
    /// A `*model.AppError`, reported in the rpc's regime.
    AppError,
    /// A plain Go error: status INTERNAL, message `"internal error: ..."` (`ErrorToStatus`).
    GoError,
    /// The handler's own check of a missing sub-message: INVALID_ARGUMENT with plain text.
    Guard,
}

impl ErrorClass {
    pub fn name(self) -> &'static str {
        match self {
            ErrorClass::AppError => "app-error",
            ErrorClass::GoError => "go-error",
            ErrorClass::Guard => "guard",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "app-error" => Self::AppError,
            "go-error" => Self::GoError,
            "guard" => Self::Guard,
            _ => return None,
        })
    }
}

/// One row of `api-methods.tsv`.
#[derive(Debug, Clone)]
pub struct ApiMethod {
    pub rpc: String,
    pub group: String,
    pub note: String,
    pub upstream: UpstreamRegime,
    /// The failures upstream's handler can answer. For rpcs upstream does not serve, the
    /// AppErrors of the Go plugin API method, which our reference server reports.
    pub error_classes: std::collections::BTreeSet<ErrorClass>,
}

/// Every row of `api-methods.tsv` by rpc name.
pub fn api_methods() -> &'static BTreeMap<String, ApiMethod> {
    static METHODS: OnceLock<BTreeMap<String, ApiMethod>> = OnceLock::new();
    METHODS.get_or_init(|| {
        API_METHODS_TSV
            .lines()
            .skip(1)
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let cols: Vec<&str> = l.split('\t').collect();
                let upstream = UpstreamRegime::parse(cols[5])
                    .unwrap_or_else(|| panic!("unknown regime {:?} for {}", cols[5], cols[0]));
                let error_classes = match cols.get(6) {
                    Some(list) => list
                        .split(',')
                        .map(str::trim)
                        .filter(|c| !c.is_empty() && *c != "-")
                        .map(|c| {
                            ErrorClass::parse(c).unwrap_or_else(|| {
                                panic!("unknown error class {c:?} for {}", cols[0])
                            })
                        })
                        .collect(),
                    None if upstream == UpstreamRegime::None => Default::default(),
                    None => [ErrorClass::AppError].into(),
                };
                let method = ApiMethod {
                    rpc: cols[0].to_string(),
                    group: cols[1].to_string(),
                    note: cols[4].to_string(),
                    upstream,
                    error_classes,
                };
                (method.rpc.clone(), method)
            })
            .collect()
    })
}

/// Our regime for an rpc (Status for an rpc missing from the table).
pub fn regime(rpc: &str) -> Regime {
    api_methods()
        .get(rpc)
        .map_or(Regime::Status, |m| m.upstream.ours())
}

/// The gRPC code upstream's `AppErrorToStatus` derives from an HTTP status.
pub fn code_for_http(status: i32) -> Code {
    match status {
        400 => Code::InvalidArgument,
        401 => Code::Unauthenticated,
        403 => Code::PermissionDenied,
        404 => Code::NotFound,
        409 => Code::AlreadyExists,
        413 | 429 => Code::ResourceExhausted,
        501 => Code::Unimplemented,
        503 => Code::Unavailable,
        _ => Code::Internal,
    }
}

/// A gRPC code by its canonical name (`NOT_FOUND`).
pub fn code_by_name(name: &str) -> Option<Code> {
    (0..=16).map(Code::from_i32).find(|c| code_name(*c) == name)
}

/// The canonical name of a gRPC code (`NOT_FOUND`).
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// The status an AppError becomes in the status regime.
pub fn to_status(e: &AppError) -> Status {
    let code = if e.status_code == 404 && mutants::is(Protocol::NotFoundWrongCode) {
        Code::Internal
    } else {
        code_for_http(e.status_code)
    };
    Status::new(code, format!("{}: {}", e.id, e.message))
}

/// Answers a failed call in the rpc's regime. Failures that are no AppError upstream (a
/// plain Go error, a handler's guard) are statuses in every regime, as upstream's gRPC
/// layer produces them (`ErrorToStatus`, the handlers' own checks).
pub fn respond<R: ApiResponse>(rpc: &str, error: AppError) -> Result<Response<R>, Status> {
    if error.r#where == crate::api::handlers::common::GO_ERROR {
        return Err(Status::internal(format!(
            "internal error: {}",
            error.message
        )));
    }
    if error.r#where == crate::api::handlers::common::GUARD_ERROR {
        return Err(Status::invalid_argument(error.message));
    }
    let regime = match regime(rpc) {
        Regime::Embedded if mutants::is(Protocol::AppErrorWrongChannel) => Regime::Status,
        Regime::Status if mutants::is(Protocol::AppErrorWrongChannel) => Regime::Embedded,
        r => r,
    };
    match regime {
        Regime::Embedded => Ok(Response::new(R::with_error(error))),
        // A handler of an infallible rpc should not fail; if it does, a status is the
        // only honest answer.
        Regime::Status | Regime::Infallible => Err(to_status(&error)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_has_every_rpc_with_upstream_counts() {
        let m = api_methods();
        assert_eq!(m.len(), 236);
        let count = |r: UpstreamRegime| m.values().filter(|x| x.upstream == r).count();
        assert_eq!(count(UpstreamRegime::Status), 149);
        assert_eq!(count(UpstreamRegime::Embedded), 31);
        assert_eq!(count(UpstreamRegime::None), 20);
        assert_eq!(count(UpstreamRegime::Unimplemented), 1);
        assert_eq!(count(UpstreamRegime::NoHandler), 35);
        let names: std::collections::BTreeSet<&str> = pluginapi_proto::api::API_RPCS
            .iter()
            .map(|(n, _)| *n)
            .collect();
        assert!(m.keys().all(|k| names.contains(k.as_str())));
    }

    #[test]
    fn codes_by_name() {
        assert_eq!(code_by_name("NOT_FOUND"), Some(Code::NotFound));
        assert_eq!(code_by_name("UNAUTHENTICATED"), Some(Code::Unauthenticated));
        assert_eq!(code_by_name("NotFound"), None);
    }

    #[test]
    fn http_to_grpc_codes() {
        assert_eq!(code_for_http(404), Code::NotFound);
        assert_eq!(code_for_http(413), Code::ResourceExhausted);
        assert_eq!(code_for_http(500), Code::Internal);
        let s = to_status(&AppError {
            id: "app.user.missing".into(),
            message: "not found".into(),
            status_code: 404,
            ..Default::default()
        });
        assert_eq!(s.code(), Code::NotFound);
        assert_eq!(s.message(), "app.user.missing: not found");
    }
}
