//! Loading a case file: every case is parsed on its own and checked, so that a bad case is
//! refused at load time with its file and its name, never half-run.

use std::collections::BTreeSet;
use std::fmt;

use serde_json::Value;

use super::{ApiCase, ErrorShape, Step};
use crate::api::regime::{ErrorClass, Regime, UpstreamRegime, api_methods, regime};
use crate::runner::Level;

/// Why a case file, or one case in it, was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseFileError {
    pub file: String,
    /// The case's name (or its position when it has no readable name).
    pub case: Option<String>,
    pub problem: String,
}

impl fmt::Display for CaseFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.case {
            Some(case) => write!(f, "{}: case {case}: {}", self.file, self.problem),
            None => write!(f, "{}: {}", self.file, self.problem),
        }
    }
}

impl std::error::Error for CaseFileError {}

/// Parses and checks every case of the file `file` (its name, for messages) holding `text`.
pub fn load_case_file(file: &str, text: &str) -> Result<Vec<ApiCase>, CaseFileError> {
    let error = |case: Option<String>, problem: String| CaseFileError {
        file: file.to_string(),
        case,
        problem,
    };
    let root: Value = serde_json::from_str(text).map_err(|e| error(None, e.to_string()))?;
    let Some(items) = root.get("cases").and_then(Value::as_array) else {
        return Err(error(None, "no \"cases\" array at the top level".into()));
    };
    if let Some(other) = root
        .as_object()
        .and_then(|o| o.keys().find(|k| *k != "cases"))
    {
        return Err(error(None, format!("unknown top-level key {other:?}")));
    }
    let mut names = BTreeSet::new();
    let mut cases = Vec::with_capacity(items.len());
    for (position, item) in items.iter().enumerate() {
        let label = item
            .get("name")
            .and_then(Value::as_str)
            .map_or_else(|| format!("#{}", position + 1), |n| format!("{n:?}"));
        let case: ApiCase = serde_json::from_value(item.clone())
            .map_err(|e| error(Some(label.clone()), e.to_string()))?;
        check(&case).map_err(|problem| error(Some(label.clone()), problem))?;
        if !names.insert(case.name.clone()) {
            return Err(error(Some(label), "a second case of this name".into()));
        }
        cases.push(case);
    }
    Ok(cases)
}

fn known_rpc(name: &str) -> bool {
    pluginapi_proto::api::API_RPCS
        .iter()
        .any(|(n, _)| *n == name)
}

/// Everything a case must satisfy beyond its JSON shape.
fn check(case: &ApiCase) -> Result<(), String> {
    if !known_rpc(&case.rpc) {
        return Err(format!("unknown rpc {:?}", case.rpc));
    }
    if !case.name.starts_with(&format!("{}/", case.rpc)) {
        return Err(format!("the name must start with \"{}/\"", case.rpc));
    }
    if case.provenance.is_empty() {
        return Err(
            "no provenance: name the upstream code or test whose behaviour the case asserts".into(),
        );
    }
    for p in case
        .steps
        .iter()
        .flat_map(|s| &s.provenance)
        .chain(&case.provenance)
    {
        if let Some(problem) = p.problem() {
            return Err(problem);
        }
    }
    if let Some(why) = &case.reference_only {
        if why.trim().is_empty() {
            return Err("reference_only needs the reason upstream's behaviour is unknown".into());
        }
        if case.level != Level::May {
            return Err(format!(
                "a reference-only case must be MAY (it is {})",
                case.level
            ));
        }
    }
    if case
        .destructive
        .as_deref()
        .is_some_and(|d| d.trim().is_empty())
    {
        return Err("destructive needs the reason the change cannot be undone".into());
    }
    let method = api_methods()
        .get(&case.rpc)
        .ok_or_else(|| format!("{} has no row in api-methods.tsv", case.rpc))?;
    if matches!(
        method.upstream,
        UpstreamRegime::NoHandler | UpstreamRegime::Unimplemented
    ) && case.level == Level::Must
    {
        return Err(format!(
            "upstream's gRPC server does not serve {} ({:?}), so its cases are SHOULD at most",
            case.rpc, method.upstream
        ));
    }
    if case.steps.is_empty() {
        return Err("no steps".into());
    }
    if !case.steps.iter().any(|s| s.call == case.rpc) {
        return Err(format!("no step calls {}", case.rpc));
    }
    for (index, step) in case.steps.iter().enumerate() {
        check_step(step, case.reference_only.is_none())
            .map_err(|e| format!("step {} {}: {e}", index + 1, step.call))?;
    }
    for (index, step) in case.cleanup.iter().enumerate() {
        if !known_rpc(&step.call) {
            return Err(format!(
                "cleanup {}: unknown rpc {:?}",
                index + 1,
                step.call
            ));
        }
    }
    Ok(())
}

/// `upstream_classes`: whether an error expectation must be one upstream's handler can
/// produce (not for reference-only cases, which check our reference server's own answer
/// where upstream's is unknown or unsafe to provoke).
fn check_step(step: &Step, upstream_classes: bool) -> Result<(), String> {
    if !known_rpc(&step.call) {
        return Err("unknown rpc".into());
    }
    if let Some(ms) = step.poll_ms {
        if ms > super::MAX_POLL_MS {
            return Err(format!("poll_ms is at most {}", super::MAX_POLL_MS));
        }
        if step.expect.error.is_some() {
            return Err("a polling step waits for a success, not an error".into());
        }
    }
    let Some(error) = &step.expect.error else {
        return Ok(());
    };
    let shape = error.shape()?;
    if !step.expect.fields.is_empty() && shape != ErrorShape::AppError {
        return Err("a call that fails with a status has no response fields to expect".into());
    }
    if regime(&step.call) == Regime::Infallible {
        return Err("this rpc never fails upstream (its Go method has no error)".into());
    }
    let class = match shape {
        ErrorShape::AppError => Some(ErrorClass::AppError),
        ErrorShape::GoError => Some(ErrorClass::GoError),
        ErrorShape::Guard => Some(ErrorClass::Guard),
        ErrorShape::Grpc => {
            let code = error.grpc.as_deref().unwrap_or_default();
            crate::api::regime::code_by_name(code)
                .ok_or_else(|| format!("unknown gRPC code {code:?}"))?;
            None
        }
    };
    if let (Some(class), Some(method), true) =
        (class, api_methods().get(&step.call), upstream_classes)
        && !method.error_classes.contains(&class)
    {
        return Err(format!(
            "expects a {} failure, but upstream's handler of {} produces only {}",
            class.name(),
            step.call,
            method
                .error_classes
                .iter()
                .map(|c| c.name())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

    fn file(case: Value) -> String {
        json!({"cases": [case]}).to_string()
    }

    fn good() -> Value {
        json!({
            "name": "KVGet/x", "rpc": "KVGet", "summary": "s",
            "provenance": [{"path": "server/channels/app/plugin_api.go",
                            "symbol": "PluginAPI.KVGet", "commit": COMMIT}],
            "steps": [{"call": "KVGet", "request": {"key": "k"}}]
        })
    }

    fn refused(case: Value) -> CaseFileError {
        load_case_file("suites/api/t.json", &file(case)).unwrap_err()
    }

    #[test]
    fn a_good_case_loads() {
        let cases = load_case_file("t.json", &file(good())).unwrap();
        assert_eq!(cases[0].name, "KVGet/x");
    }

    #[test]
    fn a_case_without_provenance_is_refused_naming_file_and_case() {
        let mut c = good();
        c.as_object_mut().unwrap().remove("provenance");
        let e = refused(c);
        assert_eq!(e.file, "suites/api/t.json");
        assert_eq!(e.case.as_deref(), Some("\"KVGet/x\""));
        assert!(e.problem.contains("no provenance"), "{e}");
        assert!(
            e.to_string()
                .starts_with("suites/api/t.json: case \"KVGet/x\": ")
        );
    }

    #[test]
    fn an_unknown_capability_is_refused() {
        let mut c = good();
        c["requires"] = json!(["time-travel"]);
        let e = refused(c);
        assert!(e.problem.contains("time-travel"), "{e}");
        assert_eq!(e.case.as_deref(), Some("\"KVGet/x\""));
    }

    #[test]
    fn a_cleanup_step_that_is_not_a_call_is_refused() {
        let mut c = good();
        c["cleanup"] = json!([{"delete": "everything"}]);
        let e = refused(c.clone());
        assert!(
            e.problem.contains("delete") || e.problem.contains("call"),
            "{e}"
        );
        c["cleanup"] = json!([{"call": "KVDelete", "request": {"key": "k"},
                               "expect": {"fields": {}}}]);
        assert!(refused(c.clone()).problem.contains("expect"));
        c["cleanup"] = json!([{"call": "NoSuchRpc"}]);
        assert!(refused(c).problem.contains("unknown rpc"));
    }

    #[test]
    fn reference_only_cases_are_may() {
        let mut c = good();
        c["reference_only"] = json!("upstream has no implementation");
        assert!(refused(c.clone()).problem.contains("MAY"));
        c["level"] = json!("MAY");
        load_case_file("t.json", &file(c)).unwrap();
    }

    #[test]
    fn unserved_rpcs_cannot_have_must_cases() {
        let mut c = good();
        c["name"] = json!("GetPluginID/x");
        c["rpc"] = json!("GetPluginID");
        c["steps"] = json!([{"call": "GetPluginID"}]);
        assert!(refused(c.clone()).problem.contains("SHOULD"));
        c["level"] = json!("SHOULD");
        load_case_file("t.json", &file(c)).unwrap();
    }

    #[test]
    fn error_expectations_must_have_one_shape_that_fits_the_rpc() {
        let mut c = good();
        c["steps"] = json!([{"call": "KVGet", "expect": {"error": {"id": "x"}}}]);
        assert!(refused(c.clone()).problem.contains("one of"));
        c["steps"] = json!([{"call": "KVGet", "expect": {"error": {"http": 400, "guard": "x"}}}]);
        assert!(refused(c.clone()).problem.contains("exactly one"));
        c["steps"] = json!([{"call": "KVGet", "expect": {"error": {"grpc": "NOPE"}}}]);
        assert!(refused(c.clone()).problem.contains("unknown gRPC code"));
        c["name"] = json!("LogInfo/x");
        c["rpc"] = json!("LogInfo");
        c["steps"] = json!([{"call": "LogInfo", "expect": {"error": {"http": 400}}}]);
        assert!(refused(c).problem.contains("never fails"));
    }

    #[test]
    fn reference_only_cases_may_expect_what_upstream_never_answers() {
        let mut c = good();
        c["name"] = json!("CreateUser/x");
        c["rpc"] = json!("CreateUser");
        c["steps"] =
            json!([{"call": "CreateUser", "expect": {"error": {"guard": "user is required"}}}]);
        assert!(
            refused(c.clone())
                .problem
                .contains("produces only app-error")
        );
        c["reference_only"] = json!("upstream dereferences the missing user");
        c["level"] = json!("MAY");
        load_case_file("t.json", &file(c)).unwrap();
    }

    #[test]
    fn polling_steps_wait_for_a_success_within_the_limit() {
        let mut c = good();
        c["steps"] = json!([{"call": "KVGet", "poll_ms": 20000}]);
        assert!(refused(c.clone()).problem.contains("at most"));
        c["steps"] = json!([{"call": "KVGet", "poll_ms": 500,
                             "expect": {"error": {"http": 500}}}]);
        assert!(refused(c.clone()).problem.contains("success"));
        c["steps"] = json!([{"call": "KVGet", "poll_ms": 500,
                             "expect": {"fields": {"value": {"absent": true}}}}]);
        load_case_file("t.json", &file(c)).unwrap();
    }

    #[test]
    fn duplicate_names_and_unknown_keys_are_refused() {
        let text = json!({"cases": [good(), good()]}).to_string();
        let e = load_case_file("t.json", &text).unwrap_err();
        assert!(e.problem.contains("second case"));
        let text = json!({"cases": [], "extra": 1}).to_string();
        assert!(
            load_case_file("t.json", &text)
                .unwrap_err()
                .problem
                .contains("extra")
        );
    }
}
