//! Runs an [`ApiCase`]: substitutes variables, calls each rpc, checks the outcome in the
//! rpc's error regime and the expected fields, and captures values for later steps.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::dynamic::{DynamicClient, RpcError};
use super::matcher::{lookup, matches};
use super::{ApiCase, Step};
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

/// Runs every step of `case`; `vars` starts with `run` and `plugin_id` and collects captures.
pub async fn run_case(
    client: &mut DynamicClient,
    case: &ApiCase,
    vars: &mut BTreeMap<String, Value>,
) -> Vec<StepReport> {
    let mut reports = Vec::with_capacity(case.steps.len());
    for (index, step) in case.steps.iter().enumerate() {
        if let Some(ms) = step.after_ms {
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
        }
        let label = format!("step {} {}", index + 1, step.call);
        let request = substitute(&step.request, vars);
        let as_plugin = step
            .as_plugin
            .as_ref()
            .map(|p| substitute(&Value::String(p.clone()), vars))
            .and_then(|v| v.as_str().map(str::to_string));
        let outcome = client
            .call(&step.call, &request, as_plugin.as_deref())
            .await;
        let mut assertions = Vec::new();
        if let Err(e @ (RpcError::BadRequest { .. } | RpcError::UnknownRpc(_))) = &outcome {
            assertions.push(assertion(
                format!("{label} request fits the message"),
                "a valid request".into(),
                e.to_string(),
                false,
            ));
        } else {
            check_outcome(step, &label, &outcome, vars, &mut assertions);
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
}
