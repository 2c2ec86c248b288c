//! Runs an [`ApiCase`] in two halves: [`execute`] (inside an exerciser: substitute
//! variables, call each rpc, capture values for later steps) and [`evaluate`] (in the
//! runner: check each reported outcome in the rpc's error regime and the expected fields).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tonic::Code;

use super::dynamic::{DynamicClient, RpcError, normalize_request, normalize_response};
use super::matcher::{lookup, matches};
use super::outcome::{CallError, CallErrorKind, StepOutcome};
use super::{ApiCase, ErrorShape, Exercise, Step};
use crate::api::regime::{Regime, code_by_name, code_for_http, regime};
use crate::runner::Assertion;

/// What one step did and what was checked.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StepReport {
    pub index: usize,
    pub call: String,
    /// The request after substitution.
    pub request: Value,
    /// The response as JSON, when the call answered OK.
    pub response: Option<Value>,
    /// The failure, when it did not.
    pub error: Option<String>,
    pub assertions: Vec<Assertion>,
    /// A cleanup call rather than a step of the case.
    #[serde(default)]
    pub cleanup: bool,
    /// Why a cleanup call was not made.
    #[serde(default)]
    pub not_run: Option<String>,
}

/// Replaces `${name}` in every string of `v`. A string that is exactly one placeholder
/// takes the variable's JSON value (so a captured number stays a number). An object that
/// is exactly `{"$json_set": {"json": B64, "set": {"A.b": value, ...}}}` becomes the base64
/// of the JSON document in `B64` with each dotted path set (objects made as needed),
/// written compactly with sorted keys: how a case changes one setting of a configuration
/// it read (`GetUnsanitizedConfig`) before saving it. Every exerciser implements the same.
pub fn substitute(v: &Value, vars: &BTreeMap<String, Value>) -> Value {
    if let Value::Object(o) = v
        && o.len() == 1
        && let Some(spec) = o.get("$json_set")
    {
        let spec = substitute(spec, vars);
        return json_set(&spec).unwrap_or_else(|problem| {
            Value::String(format!("$json_set could not be applied: {problem}"))
        });
    }
    match v {
        Value::String(s) => {
            if let Some(name) = s.strip_prefix("${").and_then(|r| r.strip_suffix('}'))
                && let Some(val) = vars.get(name)
            {
                return val.clone();
            }
            let mut out = s.clone();
            for (name, val) in vars {
                let needle = format!("${{{name}}}");
                if out.contains(&needle) {
                    let text = match val {
                        Value::String(t) => t.clone(),
                        other => other.to_string(),
                    };
                    out = out.replace(&needle, &text);
                }
            }
            Value::String(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(|x| substitute(x, vars)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (k.clone(), substitute(x, vars)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// See [`substitute`].
fn json_set(spec: &Value) -> Result<Value, String> {
    use base64::Engine;
    let mut doc = spec
        .get("json")
        .and_then(super::matcher::json_in_bytes)
        .ok_or("`json` is not base64 of a JSON document")?;
    let set = spec
        .get("set")
        .and_then(Value::as_object)
        .ok_or("`set` is not an object")?;
    for (path, value) in set {
        let mut at = &mut doc;
        let segments: Vec<&str> = path.split('.').collect();
        for (i, segment) in segments.iter().enumerate() {
            let Value::Object(map) = at else {
                return Err(format!("{path}: not an object at {segment:?}"));
            };
            if i + 1 == segments.len() {
                map.insert(segment.to_string(), value.clone());
                break;
            }
            at = map
                .entry(segment.to_string())
                .or_insert_with(|| Value::Object(Default::default()));
        }
    }
    Ok(Value::String(
        base64::engine::general_purpose::STANDARD.encode(doc.to_string()),
    ))
}

fn assertion(name: String, expected: String, seen: String, passed: bool) -> Assertion {
    Assertion {
        name,
        expected,
        seen,
        passed,
    }
}

fn brief(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 300 {
        format!(
            "{}…",
            &s[..s.char_indices().nth(300).map_or(s.len(), |(i, _)| i)]
        )
    } else {
        s
    }
}

/// Checks the outcome of one call against the step's expectation.
fn check_outcome(
    step: &Step,
    label: &str,
    outcome: &Result<Value, RpcError>,
    vars: &BTreeMap<String, Value>,
    out: &mut Vec<Assertion>,
) {
    let seen = match outcome {
        Ok(v) => format!(
            "OK{}",
            lookup(v, "error")
                .map(|e| format!(" with error {}", brief(e)))
                .unwrap_or_default()
        ),
        Err(e) => e.to_string(),
    };
    let Some(e) = &step.expect.error else {
        let ok = matches!(outcome, Ok(v) if lookup(v, "error").is_none());
        out.push(assertion(
            format!("{label} succeeds"),
            "OK, no AppError".into(),
            seen,
            ok,
        ));
        return;
    };
    let status = match outcome {
        Err(RpcError::Status { code, message }) => Some((*code, message.as_str())),
        _ => None,
    };
    match e.shape() {
        Err(problem) => out.push(assertion(
            format!("{label} error expectation is well-formed"),
            "one shape".into(),
            problem,
            false,
        )),
        Ok(ErrorShape::GoError) => {
            let text = substitute(&Value::String(e.go_error.clone().unwrap_or_default()), vars);
            let text = text.as_str().unwrap_or_default();
            out.push(assertion(
                format!("{label} fails as a plain Go error"),
                format!("INTERNAL \"internal error: …{text}…\""),
                seen,
                status.is_some_and(|(code, message)| {
                    code == Code::Internal
                        && message
                            .strip_prefix("internal error: ")
                            .is_some_and(|rest| rest.contains(text))
                }),
            ));
        }
        Ok(ErrorShape::Guard) => {
            let text = e.guard.clone().unwrap_or_default();
            out.push(assertion(
                format!("{label} refused by the handler's guard"),
                format!("INVALID_ARGUMENT {text:?}"),
                seen,
                status == Some((Code::InvalidArgument, text.as_str())),
            ));
        }
        Ok(ErrorShape::Grpc) => {
            let name = e.grpc.clone().unwrap_or_default();
            let code = code_by_name(&name);
            out.push(assertion(
                format!("{label} fails with a gRPC status"),
                name,
                seen,
                code.is_some() && status.map(|(c, _)| c) == code,
            ));
        }
        Ok(ErrorShape::AppError) => {
            let http = e.http.unwrap_or_default();
            match regime(&step.call) {
                Regime::Status => {
                    let code = code_for_http(http);
                    out.push(assertion(
                        format!("{label} fails with a gRPC status"),
                        format!("{code:?} (HTTP {http})"),
                        seen.clone(),
                        status.map(|(c, _)| c) == Some(code),
                    ));
                    if let Some(id) = &e.id {
                        let id = substitute(&Value::String(id.clone()), vars);
                        let prefix = format!("{}: ", id.as_str().unwrap_or_default());
                        let message = status.map(|(_, m)| m).unwrap_or_default();
                        out.push(assertion(
                            format!("{label} status message is \"<id>: <message>\""),
                            format!("starts with {prefix:?}"),
                            message.to_string(),
                            message.starts_with(&prefix),
                        ));
                    }
                }
                Regime::Embedded => {
                    let error = outcome.as_ref().ok().and_then(|v| lookup(v, "error"));
                    let status_code = error
                        .and_then(|e| lookup(e, "statusCode"))
                        .and_then(Value::as_i64);
                    out.push(assertion(
                        format!("{label} fails with an embedded AppError (gRPC OK)"),
                        format!("OK with error.statusCode {http}"),
                        seen.clone(),
                        status_code == Some(http as i64),
                    ));
                    if let Some(id) = &e.id {
                        let seen_id = error.and_then(|e| lookup(e, "id")).cloned();
                        out.push(assertion(
                            format!("{label} error.id"),
                            id.clone(),
                            seen_id.map_or("none".into(), |v| brief(&v)),
                            error.and_then(|e| lookup(e, "id")).and_then(Value::as_str)
                                == Some(id.as_str()),
                        ));
                    }
                }
                Regime::Infallible => out.push(assertion(
                    format!("{label} expectation fits the rpc"),
                    "no error expectation: this rpc never fails upstream".into(),
                    format!("the case expects HTTP {http}"),
                    false,
                )),
            }
        }
    }
}

/// The `${name}` placeholders left in `v` after substitution: variables that were never
/// captured (an earlier step failed).
pub fn unresolved(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut visit = |s: &str| {
        let mut rest = s;
        while let Some(start) = rest.find("${") {
            let after = &rest[start + 2..];
            match after.find('}') {
                Some(end) => {
                    out.push(after[..end].to_string());
                    rest = &after[end + 1..];
                }
                None => break,
            }
        }
    };
    fn walk(v: &Value, visit: &mut dyn FnMut(&str)) {
        match v {
            Value::String(s) => visit(s),
            Value::Array(a) => a.iter().for_each(|x| walk(x, visit)),
            Value::Object(o) => o.iter().for_each(|(k, x)| {
                visit(k);
                walk(x, visit)
            }),
            _ => {}
        }
    }
    walk(v, &mut visit);
    out
}

/// Runs every step of `exercise` in order, then its cleanup calls, and reports each raw
/// outcome. Captures feed the later steps' requests; nothing is judged here (see
/// [`evaluate`]). A cleanup call whose request still holds a placeholder (its variable was
/// never captured) is not made: its outcome says so.
pub async fn execute(client: &mut DynamicClient, exercise: &Exercise) -> Vec<StepOutcome> {
    let case = &exercise.case;
    let mut vars = exercise.vars.clone();
    let steps = case.all_steps();
    let session = (!exercise.session.is_empty()).then_some(exercise.session.as_str());
    let mut outcomes = Vec::with_capacity(steps.len());
    for (index, step) in steps.iter().enumerate() {
        if let Some(ms) = step.after_ms {
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
        }
        let request = substitute(&step.request, &vars);
        let missing = unresolved(&request);
        if index >= case.steps.len() && !missing.is_empty() {
            outcomes.push(StepOutcome {
                case: case.name.clone(),
                index,
                call: step.call.clone(),
                request,
                response: None,
                error: Some(CallError::not_run(&missing)),
            });
            continue;
        }
        let as_plugin = as_plugin(step, &vars);
        let deadline = step
            .poll_ms
            .map(|ms| std::time::Instant::now() + std::time::Duration::from_millis(ms));
        let result = loop {
            let result = client
                .call(&step.call, &request, as_plugin.as_deref(), session)
                .await;
            match deadline {
                Some(deadline)
                    if std::time::Instant::now() < deadline
                        && !expectation_holds(step, &result, &vars) =>
                {
                    tokio::time::sleep(std::time::Duration::from_millis(super::POLL_INTERVAL_MS))
                        .await;
                }
                _ => break result,
            }
        };
        if let Ok(response) = &result {
            for (name, path) in &step.capture {
                if let Some(v) = lookup(response, path) {
                    vars.insert(name.clone(), v.clone());
                }
            }
        }
        outcomes.push(StepOutcome {
            case: case.name.clone(),
            index,
            call: step.call.clone(),
            request,
            response: result.as_ref().ok().cloned(),
            error: result.as_ref().err().map(CallError::from),
        });
    }
    outcomes
}

/// Whether a call's answer satisfies its step (a polling step stops once it does): a
/// success with no AppError, a value at every capture path, every field matcher holding.
fn expectation_holds(
    step: &Step,
    result: &Result<Value, RpcError>,
    vars: &BTreeMap<String, Value>,
) -> bool {
    let Ok(response) = result
        .clone()
        .and_then(|v| normalize_response(&step.call, &v))
    else {
        return false;
    };
    lookup(&response, "error").is_none()
        && step
            .capture
            .values()
            .all(|path| lookup(&response, path).is_some())
        && step
            .expect
            .fields
            .iter()
            .all(|(path, m)| matches(&substitute(m, vars), lookup(&response, path)))
}

fn as_plugin(step: &Step, vars: &BTreeMap<String, Value>) -> Option<String> {
    step.as_plugin
        .as_ref()
        .map(|p| substitute(&Value::String(p.clone()), vars))
        .and_then(|v| v.as_str().map(str::to_string))
}

/// Judges the outcomes an exerciser reported for `case`: each step's request against the
/// case, its answer in the rpc's error regime, the expected fields and the captures.
/// `vars` starts with the variables the exerciser was given and collects the captures.
pub fn evaluate(
    case: &ApiCase,
    vars: &mut BTreeMap<String, Value>,
    outcomes: &[StepOutcome],
) -> Vec<StepReport> {
    let steps = case.all_steps();
    let mut reports = Vec::with_capacity(steps.len());
    let mut echo = super::echo::EchoTracker::default();
    let mut consistency = super::consistency::ConsistencyTracker::default();
    for (index, step) in steps.iter().enumerate() {
        let cleanup = index >= case.steps.len();
        let label = if cleanup {
            format!("cleanup {} {}", index - case.steps.len() + 1, step.call)
        } else {
            format!("step {} {}", index + 1, step.call)
        };
        let request = substitute(&step.request, vars);
        let report = |response, error, assertions, not_run| StepReport {
            index,
            call: step.call.clone(),
            request: request.clone(),
            response,
            error,
            assertions,
            cleanup,
            not_run,
        };
        let Some(reported) = outcomes.iter().find(|o| o.index == index) else {
            reports.push(report(
                None,
                Some("not run".into()),
                vec![assertion(
                    format!("{label} was run"),
                    "an outcome reported by the exerciser".into(),
                    "none".into(),
                    false,
                )],
                None,
            ));
            continue;
        };
        if cleanup
            && let Some(e) = &reported.error
            && e.kind == CallErrorKind::NotRun
        {
            // Not made because an earlier step failed to capture a value: that step's
            // failure is the finding; the exerciser must not have made it either.
            let missing = unresolved(&request);
            let assertions = if missing.is_empty() {
                vec![assertion(
                    format!("{label} was made"),
                    "the call (every variable was captured)".into(),
                    e.message.clone(),
                    false,
                )]
            } else {
                Vec::new()
            };
            reports.push(report(None, None, assertions, Some(e.message.clone())));
            continue;
        }
        let mut assertions = Vec::new();
        if reported.call != step.call {
            assertions.push(assertion(
                format!("{label} called the rpc of the step"),
                step.call.clone(),
                reported.call.clone(),
                false,
            ));
        }
        if let (Ok(written), Ok(sent)) = (
            normalize_request(&step.call, &request),
            normalize_request(&step.call, &reported.request),
        ) && written != sent
        {
            assertions.push(assertion(
                format!("{label} request sent as written"),
                brief(&written),
                brief(&sent),
                false,
            ));
        }
        let outcome = reported
            .result()
            .and_then(|v| normalize_response(&step.call, &v));
        consistency.sent(&step.call, &reported.request);
        match &outcome {
            Err(
                e @ (RpcError::BadRequest { .. }
                | RpcError::UnknownRpc(_)
                | RpcError::BadResponse { .. }),
            ) => assertions.push(assertion(
                format!("{label} request and response fit their messages"),
                "a valid request and response".into(),
                e.to_string(),
                false,
            )),
            _ => check_outcome(step, &label, &outcome, vars, &mut assertions),
        }
        if let Ok(response) = &outcome {
            for (path, matcher) in &step.expect.fields {
                let matcher = substitute(matcher, vars);
                let seen = lookup(response, path);
                assertions.push(assertion(
                    format!("{label} {path}"),
                    brief(&matcher),
                    seen.map_or("absent".into(), brief),
                    matches(&matcher, seen),
                ));
            }
            for (name, path) in &step.capture {
                match lookup(response, path) {
                    Some(v) => {
                        vars.insert(name.clone(), v.clone());
                    }
                    None => assertions.push(assertion(
                        format!("{label} capture {name}"),
                        format!("a value at {path}"),
                        "absent".into(),
                        false,
                    )),
                }
            }
        }
        if let Ok(response) = &outcome {
            check_entities(
                &label,
                step,
                &reported.request,
                response,
                (&mut echo, &mut consistency),
                &mut assertions,
            );
        }
        reports.push(report(
            outcome.as_ref().ok().cloned(),
            outcome.as_ref().err().map(ToString::to_string),
            assertions,
            None,
        ));
    }
    reports
}

/// Whether `json` names `create_at` anywhere (a caller-supplied creation time).
fn names_create_at(json: &Value) -> bool {
    match json {
        Value::Object(map) => map
            .iter()
            .any(|(k, v)| k == "createAt" || k == "create_at" || names_create_at(v)),
        Value::Array(items) => items.iter().any(names_create_at),
        _ => false,
    }
}

/// The checks every step gets without writing them: each entity of the response keeps
/// upstream's model invariants ([`super::invariants`]), and what the step and earlier ones
/// sent of an entity comes back ([`super::echo`]), and what earlier answers showed of a
/// row the case touched is shown again ([`super::consistency`]).
fn check_entities(
    label: &str,
    step: &Step,
    request: &Value,
    response: &Value,
    (echo, consistency): (
        &mut super::echo::EchoTracker,
        &mut super::consistency::ConsistencyTracker,
    ),
    assertions: &mut Vec<Assertion>,
) {
    let (Ok(req), Ok(resp)) = (
        super::dynamic::request_message(&step.call, request),
        super::dynamic::response_message(&step.call, response),
    ) else {
        return;
    };
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let cx = super::invariants::StepContext {
        now_ms,
        caller_set_create_at: names_create_at(request),
    };
    let (checked, violations) = super::invariants::check(&resp, &cx);
    if checked > 0 {
        assertions.push(assertion(
            format!("{label} entities keep upstream's model invariants ({checked} checked)"),
            "every id valid, timestamps set and not in the future, names and types in their sets"
                .into(),
            if violations.is_empty() {
                "all hold".into()
            } else {
                violations
                    .iter()
                    .map(|v| format!("{}: {} ({})", v.at, v.rule, v.upstream))
                    .collect::<Vec<_>>()
                    .join("; ")
            },
            violations.is_empty(),
        ));
    }
    for (what, sent, seen) in echo.step(&step.call, &req, &resp) {
        assertions.push(assertion(format!("{label} {what}"), sent, seen, false));
    }
    for (what, before, now) in consistency.answered(label, &step.call, &resp) {
        assertions.push(assertion(format!("{label} {what}"), before, now, false));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_set_changes_settings_inside_bytes() {
        use base64::Engine;
        let b64 = |s: &str| json!(base64::engine::general_purpose::STANDARD.encode(s));
        let vars: BTreeMap<String, Value> =
            [("cfg".to_string(), b64(r#"{"B": {"x": 1}, "A": true}"#))].into();
        let v = substitute(
            &json!({"configJson": {"$json_set": {"json": "${cfg}",
                    "set": {"B.y": "two", "C.d.e": false}}}}),
            &vars,
        );
        // Sorted keys, compact: the Python exerciser writes the same bytes.
        assert_eq!(
            v,
            json!({"configJson": b64(r#"{"A":true,"B":{"x":1,"y":"two"},"C":{"d":{"e":false}}}"#)})
        );
        let bad = substitute(&json!({"$json_set": {"json": "!!", "set": {}}}), &vars);
        assert!(bad.as_str().unwrap().contains("could not be applied"));
    }

    #[test]
    fn a_polling_step_stops_once_its_expectation_holds() {
        let c = case(json!([
            {"call": "KVGet", "request": {"key": "k"}, "poll_ms": 1000,
             "capture": {"v": "value"}, "expect": {"fields": {"value": "${want}"}}}
        ]));
        let step = &c.steps[0];
        let vars: BTreeMap<String, Value> = [("want".to_string(), json!("dg=="))].into();
        assert!(expectation_holds(
            step,
            &Ok(json!({"value": "dg=="})),
            &vars
        ));
        assert!(!expectation_holds(step, &Ok(json!({})), &vars));
        assert!(!expectation_holds(
            step,
            &Ok(json!({"value": "eA=="})),
            &vars
        ));
        assert!(!expectation_holds(
            step,
            &Ok(json!({"value": "dg==", "error": {"id": "x", "statusCode": 500}})),
            &vars
        ));
        let failed = Err(RpcError::Status {
            code: tonic::Code::Unavailable,
            message: "down".into(),
        });
        assert!(!expectation_holds(step, &failed, &vars));
    }

    #[test]
    fn substitution_keeps_types_for_whole_placeholders() {
        let vars: BTreeMap<String, Value> =
            [("id".to_string(), json!("u1")), ("n".to_string(), json!(5))].into();
        let v = substitute(
            &json!({"a": "${id}", "b": "x-${id}-${n}", "c": ["${n}"], "d": "${missing}"}),
            &vars,
        );
        assert_eq!(
            v,
            json!({"a": "u1", "b": "x-u1-5", "c": [5], "d": "${missing}"})
        );
    }

    fn case(steps: Value) -> ApiCase {
        serde_json::from_value(json!({
            "name": "KVGet/x", "rpc": "KVGet", "summary": "s", "steps": steps
        }))
        .unwrap()
    }

    fn outcome(index: usize, call: &str, request: Value, response: Option<Value>) -> StepOutcome {
        StepOutcome {
            case: "KVGet/x".into(),
            index,
            call: call.into(),
            request,
            response,
            error: None,
        }
    }

    fn failed(reports: &[StepReport]) -> Vec<String> {
        reports
            .iter()
            .flat_map(|r| &r.assertions)
            .filter(|a| !a.passed)
            .map(|a| a.name.clone())
            .collect()
    }

    #[test]
    fn python_spellings_are_judged_like_rust_ones() {
        // int64 as a string, as Python's MessageToDict writes it; captured, then
        // substituted whole into the next request and matched as a number.
        let c = case(json!([
            {"call": "KVSetWithOptions", "request": {"key": "k", "value": "dg=="},
             "capture": {"n": "error.statusCode"}},
            {"call": "GetPostsSince", "request": {"channelId": "c", "time": 5},
             "expect": {"fields": {"posts.order": {"len": 0}}}},
            {"call": "KVGet", "request": {"key": "k"}, "expect": {"fields": {"value": "dg=="}}}
        ]));
        let outcomes = [
            outcome(
                0,
                "KVSetWithOptions",
                json!({"key": "k", "value": "dg=="}),
                Some(json!({"success": true, "error": {"statusCode": 400}})),
            ),
            outcome(
                1,
                "GetPostsSince",
                json!({"channel_id": "c", "time": "5"}),
                Some(json!({})),
            ),
            outcome(
                2,
                "KVGet",
                json!({"key": "k"}),
                Some(json!({"value": "dg=="})),
            ),
        ];
        let mut vars = BTreeMap::new();
        let reports = evaluate(&c, &mut vars, &outcomes);
        assert_eq!(
            failed(&reports),
            ["step 1 KVSetWithOptions succeeds"],
            "{reports:#?}"
        );
        assert_eq!(vars["n"], json!(400));
    }

    #[test]
    fn a_request_not_sent_as_written_and_a_missing_step_fail() {
        let c = case(json!([
            {"call": "KVGet", "request": {"key": "${run}"}},
            {"call": "KVGet", "request": {"key": "b"}}
        ]));
        let outcomes = [outcome(
            0,
            "KVGet",
            json!({"key": "not-the-run"}),
            Some(json!({})),
        )];
        let mut vars = [("run".to_string(), json!("r1"))].into();
        let reports = evaluate(&c, &mut vars, &outcomes);
        assert_eq!(
            failed(&reports),
            [
                "step 1 KVGet request sent as written",
                "step 2 KVGet was run"
            ]
        );
    }

    #[test]
    fn a_status_is_judged_in_the_rpcs_regime_and_a_bad_response_fails() {
        let c = case(json!([
            {"call": "GetUser", "request": {"userId": "u"},
             "expect": {"error": {"http": 404, "id": "app.user.missing"}}},
            {"call": "KVGet", "request": {"key": "k"}}
        ]));
        let mut missing = outcome(0, "GetUser", json!({"userId": "u"}), None);
        missing.error = Some(CallError::from(&RpcError::Status {
            code: tonic::Code::NotFound,
            message: "app.user.missing: gone".into(),
        }));
        let bad = outcome(1, "KVGet", json!({"key": "k"}), Some(json!({"nosuch": 1})));
        let reports = evaluate(&c, &mut BTreeMap::new(), &[missing, bad]);
        assert_eq!(
            failed(&reports),
            ["step 2 KVGet request and response fit their messages"]
        );
        assert_eq!(reports[0].assertions.len(), 2, "{:#?}", reports[0]);
    }
}
