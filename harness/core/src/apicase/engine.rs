//! Runs an [`ApiCase`] in two halves: [`execute`] (inside an exerciser: substitute
//! variables, call each rpc, capture values for later steps) and [`evaluate`] (in the
//! runner: check each reported outcome in the rpc's error regime and the expected fields).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::dynamic::{DynamicClient, RpcError, normalize_request, normalize_response};
use super::matcher::{lookup, matches};
use super::outcome::{CallError, StepOutcome};
use super::{ApiCase, Exercise, Step};
use crate::api::regime::{Regime, code_for_http, regime};
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
}

/// Replaces `${name}` in every string of `v`. A string that is exactly one placeholder
/// takes the variable's JSON value (so a captured number stays a number).
pub fn substitute(v: &Value, vars: &BTreeMap<String, Value>) -> Value {
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
    match &step.expect.error {
        None => {
            let ok = matches!(outcome, Ok(v) if lookup(v, "error").is_none());
            out.push(assertion(
                format!("{label} succeeds"),
                "OK, no AppError".into(),
                seen,
                ok,
            ));
        }
        Some(e) => match regime(&step.call) {
            Regime::Status => {
                let code = code_for_http(e.http);
                let (seen_code, message) = match outcome {
                    Err(RpcError::Status { code, message }) => (Some(*code), message.clone()),
                    _ => (None, String::new()),
                };
                out.push(assertion(
                    format!("{label} fails with a gRPC status"),
                    format!("{code:?} (HTTP {})", e.http),
                    seen.clone(),
                    seen_code == Some(code),
                ));
                if let Some(id) = &e.id {
                    let id = substitute(&Value::String(id.clone()), vars);
                    let prefix = format!("{}: ", id.as_str().unwrap_or_default());
                    out.push(assertion(
                        format!("{label} status message is \"<id>: <message>\""),
                        format!("starts with {prefix:?}"),
                        message.clone(),
                        message.starts_with(&prefix),
                    ));
                }
            }
            Regime::Embedded => {
                let error = outcome.as_ref().ok().and_then(|v| lookup(v, "error"));
                let status = error
                    .and_then(|e| lookup(e, "statusCode"))
                    .and_then(Value::as_i64);
                out.push(assertion(
                    format!("{label} fails with an embedded AppError (gRPC OK)"),
                    format!("OK with error.statusCode {}", e.http),
                    seen.clone(),
                    status == Some(e.http as i64),
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
                format!("the case expects HTTP {}", e.http),
                false,
            )),
        },
    }
}

/// Runs every step of `exercise` in order and reports each raw outcome. Captures feed the
/// later steps' requests; nothing is judged here (see [`evaluate`]).
pub async fn execute(client: &mut DynamicClient, exercise: &Exercise) -> Vec<StepOutcome> {
    let case = &exercise.case;
    let mut vars = exercise.vars.clone();
    let mut outcomes = Vec::with_capacity(case.steps.len());
    for (index, step) in case.steps.iter().enumerate() {
        if let Some(ms) = step.after_ms {
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
        }
        let request = substitute(&step.request, &vars);
        let as_plugin = as_plugin(step, &vars);
        let result = client
            .call(
                &step.call,
                &request,
                as_plugin.as_deref(),
                Some(exercise.session.as_str()),
            )
            .await;
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
    let mut reports = Vec::with_capacity(case.steps.len());
    for (index, step) in case.steps.iter().enumerate() {
        let label = format!("step {} {}", index + 1, step.call);
        let request = substitute(&step.request, vars);
        let Some(reported) = outcomes.iter().find(|o| o.index == index) else {
            reports.push(StepReport {
                index,
                call: step.call.clone(),
                request,
                response: None,
                error: Some("not run".into()),
                assertions: vec![assertion(
                    format!("{label} was run"),
                    "an outcome reported by the exerciser".into(),
                    "none".into(),
                    false,
                )],
            });
            continue;
        };
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
        reports.push(StepReport {
            index,
            call: step.call.clone(),
            request,
            response: outcome.as_ref().ok().cloned(),
            error: outcome.as_ref().err().map(ToString::to_string),
            assertions,
        });
    }
    reports
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
