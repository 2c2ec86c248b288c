//! The committed JSON Schema of the report and a small checker of a report against it
//! (keys, required keys, types, enums), so the schema cannot drift from what
//! [`RunReport::to_json`](super::RunReport::to_json) writes without a test failing. Not a
//! general JSON Schema validator: it knows the keywords the schema file uses.

use serde_json::Value;

/// The schema file, relative to the workspace root.
pub const SCHEMA_PATH: &str = "reports/schema/conformance-report.v1.schema.json";

/// Where `report` departs from `schema`; empty when it conforms.
pub fn schema_mismatches(report: &Value, schema: &Value) -> Vec<String> {
    let mut found = Vec::new();
    check(report, schema, schema, "$", &mut found);
    found
}

fn resolve<'a>(node: &'a Value, root: &'a Value) -> Result<&'a Value, String> {
    match node.get("$ref").and_then(Value::as_str) {
        Some(pointer) => root
            .pointer(pointer.trim_start_matches('#'))
            .ok_or_else(|| format!("the schema's $ref {pointer} points nowhere")),
        None => Ok(node),
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_u64() || n.is_i64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn check(value: &Value, node: &Value, root: &Value, at: &str, found: &mut Vec<String>) {
    let node = match resolve(node, root) {
        Ok(node) => node,
        Err(e) => return found.push(format!("{at}: {e}")),
    };
    if let Some(types) = node.get("type") {
        let allowed: Vec<&str> = match types {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        let actual = type_name(value);
        let fits =
            allowed.contains(&actual) || (actual == "integer" && allowed.contains(&"number"));
        if !fits {
            found.push(format!("{at}: is {actual}, the schema allows {allowed:?}"));
            return;
        }
    }
    if let Some(allowed) = node.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        found.push(format!("{at}: {value} is not one of {allowed:?}"));
    }
    if let Some(constant) = node.get("const")
        && constant != value
    {
        found.push(format!("{at}: {value} is not {constant}"));
    }
    if let Some(branches) = node.get("oneOf").and_then(Value::as_array) {
        let fits = |b: &Value| {
            let mut inner = Vec::new();
            check(value, b, root, at, &mut inner);
            inner
        };
        let results: Vec<Vec<String>> = branches.iter().map(fits).collect();
        if results.iter().filter(|r| r.is_empty()).count() != 1 {
            found.push(format!(
                "{at}: fits {} of the oneOf branches, not exactly one: {results:?}",
                results.iter().filter(|r| r.is_empty()).count()
            ));
        }
    }
    if let (Some(items), Value::Array(values)) = (node.get("items"), value) {
        for (i, v) in values.iter().enumerate() {
            check(v, items, root, &format!("{at}[{i}]"), found);
        }
    }
    let Value::Object(object) = value else {
        return;
    };
    let properties = node.get("properties").and_then(Value::as_object);
    if let Some(required) = node.get("required").and_then(Value::as_array) {
        for key in required.iter().filter_map(Value::as_str) {
            if !object.contains_key(key) {
                found.push(format!("{at}: required key {key:?} is missing"));
            }
        }
    }
    for (key, v) in object {
        let here = format!("{at}.{key}");
        match (
            properties.and_then(|p| p.get(key)),
            node.get("additionalProperties"),
        ) {
            (Some(property), _) => check(v, property, root, &here, found),
            (None, Some(Value::Bool(false))) | (None, None) if properties.is_some() => {
                found.push(format!("{at}: key {key:?} is not in the schema"));
            }
            (None, Some(additional @ Value::Object(_))) => check(v, additional, root, &here, found),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use super::*;
    use crate::expectations::{ExpectationKind, Expected};
    use crate::runner::{Attempt, Status};

    fn schema() -> Value {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(SCHEMA_PATH);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("the schema {} must be committed: {e}", path.display()));
        serde_json::from_str(&text).expect("the schema is JSON")
    }

    /// A report that uses every part of the layout: every status, a retried case and an
    /// expectation entry.
    fn full_report() -> Value {
        let mut report = super::super::tests::sample();
        for (i, status) in Status::ALL.into_iter().enumerate() {
            let mut case = super::super::tests::outcome(
                &format!("all/{i}"),
                crate::runner::Level::Must,
                status,
            );
            case.notes.push("plugin logged a line".into());
            case.previous_attempts.push(Attempt {
                status: Status::Failed,
                message: Some("x: expected 1, saw 2".into()),
                duration_ms: 1,
            });
            case.expected = Some(Expected {
                kind: ExpectationKind::KnownFlaky,
                pattern: "all/*".into(),
                justification: "why".into(),
                source: "flaky.txt:1".into(),
            });
            report.cases.push(case);
        }
        let report = crate::report::RunReport::new(
            report.subject,
            report.started_at_us,
            report.duration_ms,
            report.cases,
        );
        serde_json::from_str(&report.to_json()).unwrap()
    }

    fn keys(v: &Value) -> BTreeSet<String> {
        v.as_object().unwrap().keys().cloned().collect()
    }

    fn listed(v: &Value) -> BTreeSet<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn top_level_and_case_keys_are_exactly_the_schemas() {
        let schema = schema();
        let report = full_report();
        assert_eq!(keys(&report), listed(&schema["required"]));
        assert_eq!(keys(&report), keys(&schema["properties"]));
        let case = &schema["$defs"]["case"];
        for c in report["cases"].as_array().unwrap() {
            assert_eq!(keys(c), listed(&case["required"]), "{c}");
            assert_eq!(keys(c), keys(&case["properties"]), "{c}");
        }
        assert_eq!(schema_mismatches(&report, &schema), Vec::<String>::new());
    }

    #[test]
    fn the_schema_lists_every_status_and_expectation_kind() {
        let schema = schema();
        let statuses: BTreeSet<String> = Status::ALL
            .iter()
            .map(|s| {
                serde_json::to_value(s)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(statuses, listed(&schema["$defs"]["status"]["enum"]));
        let kinds: BTreeSet<String> = [ExpectationKind::KnownFailing, ExpectationKind::KnownFlaky]
            .iter()
            .map(|k| {
                serde_json::to_value(k)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(
            kinds,
            listed(&schema["$defs"]["expected"]["properties"]["kind"]["enum"])
        );
    }

    #[test]
    fn the_checker_catches_extra_missing_and_mistyped_keys() {
        let schema = schema();
        let mut report = full_report();
        report["extra"] = Value::Bool(true);
        report["cases"][0].as_object_mut().unwrap().remove("notes");
        report["cases"][1]["status"] = "green".into();
        report["counts"]["total"] = "many".into();
        report["cases"][2]["expected"] = serde_json::json!({"kind": "known_failing"});
        let found = schema_mismatches(&report, &schema);
        let expect = [
            "$: key \"extra\" is not in the schema",
            "$.cases[0]: required key \"notes\" is missing",
            "$.cases[1].status: \"green\" is not one of",
            "$.counts.total: is string",
            "$.cases[2].expected: fits 0 of the oneOf branches",
        ];
        for e in expect {
            assert!(
                found.iter().any(|f| f.starts_with(e)),
                "{e} not in {found:#?}"
            );
        }
        assert_eq!(found.len(), expect.len(), "{found:#?}");
    }
}
