//! Field matchers over a JSON response.
//!
//! A path is dot-separated (`user.id`, `users.0.username`, `attributes.mail`). A matcher is
//! either a plain JSON value (equality; numbers compare by value) or an object with one
//! operator: `{"len": n}`, `{"absent": true}`, `{"present": true}`, `{"contains": x}`
//! (substring, array element, or an array element that has all of an object's fields),
//! `{"not": x}`, `{"one_of": [..]}`, `{"ge"|"gt"|"le"|"lt": n}`, `{"prefix": s}`,
//! `{"glob": "[0-9]*.[0-9]*"}` (shell-style pattern over a string), `{"json": {path:
//! matcher, ...}}` (a `bytes` field holding JSON, as `GetConfig.configJson`: decoded from
//! base64, parsed, and every path matched), `{"exactly": x}` (equality without the
//! absent-equals-default reading: a proto3 `optional` field set to `""` or `0` is in the
//! JSON, and only `exactly` tells it from an unset one).

use serde_json::Value;

/// The value at `path`, if any.
pub fn lookup<'a>(root: &'a Value, path: &str) -> Option<&'a Value> {
    if path.is_empty() || path == "." {
        return Some(root);
    }
    path.split('.').try_fold(root, |v, seg| match v {
        Value::Object(m) => m.get(seg),
        Value::Array(a) => seg.parse::<usize>().ok().and_then(|i| a.get(i)),
        _ => None,
    })
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// Equality where numbers compare by value (proto3 JSON may stringify 64-bit integers).
fn same(expected: &Value, seen: &Value) -> bool {
    match (number(expected), number(seen)) {
        (Some(a), Some(b)) if expected.is_number() || seen.is_number() => a == b,
        _ => expected == seen,
    }
}

/// An array element matches a pattern when equal, or when the pattern is an object whose
/// every field matches the element's (a field's pattern may be an operator:
/// `{"id": "x", "deleteAt": {"gt": 0}}`).
fn element_matches(pattern: &Value, element: &Value) -> bool {
    if same(pattern, element) {
        return true;
    }
    match (pattern, element) {
        (Value::Object(p), Value::Object(e)) => p.iter().all(|(k, pv)| {
            if is_operator(pv) {
                matches(pv, e.get(k))
            } else {
                e.get(k).is_some_and(|ev| element_matches(pv, ev))
            }
        }),
        _ => false,
    }
}

fn is_default(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    }
}

fn length(v: &Value) -> Option<usize> {
    match v {
        Value::String(s) => Some(s.chars().count()),
        Value::Array(a) => Some(a.len()),
        Value::Object(o) => Some(o.len()),
        _ => None,
    }
}

const OPERATORS: &[&str] = &[
    "len", "absent", "present", "contains", "not", "one_of", "ge", "gt", "le", "lt", "prefix",
    "glob", "json", "exactly",
];

/// Whether `v` is an operator object (`{"gt": 0}`), not a value to compare.
fn is_operator(v: &Value) -> bool {
    matches!(v, Value::Object(m) if m.len() == 1 && m.keys().all(|k| OPERATORS.contains(&k.as_str())))
}

/// The JSON document a proto3-JSON `bytes` value (base64) holds, if it holds one.
pub fn json_in_bytes(v: &Value) -> Option<Value> {
    use base64::Engine;
    let text = v.as_str()?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(text))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Whether `seen` (the value at a path, `None` when absent) satisfies `matcher`.
pub fn matches(matcher: &Value, seen: Option<&Value>) -> bool {
    let op = match matcher {
        Value::Object(m) if is_operator(matcher) => m.iter().next().map(|(k, v)| (k.as_str(), v)),
        _ => None,
    };
    let Some((op, arg)) = op else {
        return seen.is_some_and(|s| same(matcher, s)) || (seen.is_none() && is_default(matcher));
    };
    let num = |f: fn(f64, f64) -> bool| match (seen.and_then(number), number(arg)) {
        (Some(s), Some(a)) => f(s, a),
        _ => false,
    };
    match op {
        "len" => {
            let want = arg.as_u64().map(|n| n as usize);
            match seen {
                Some(s) => length(s) == want,
                None => want == Some(0),
            }
        }
        "absent" => seen.is_none_or(is_default) == arg.as_bool().unwrap_or(true),
        "present" => seen.is_some_and(|s| !is_default(s)) == arg.as_bool().unwrap_or(true),
        "contains" => match seen {
            Some(Value::String(s)) => arg.as_str().is_some_and(|a| s.contains(a)),
            Some(Value::Array(a)) => a.iter().any(|e| element_matches(arg, e)),
            Some(Value::Object(o)) => arg.as_str().is_some_and(|k| o.contains_key(k)),
            _ => false,
        },
        "not" => !matches(arg, seen),
        "exactly" => seen.is_some_and(|s| same(arg, s)),
        "one_of" => arg
            .as_array()
            .is_some_and(|opts| opts.iter().any(|o| matches(o, seen))),
        "ge" => num(|s, a| s >= a),
        "gt" => num(|s, a| s > a),
        "le" => num(|s, a| s <= a),
        "lt" => num(|s, a| s < a),
        "prefix" => match (seen, arg.as_str()) {
            (Some(Value::String(s)), Some(p)) => s.starts_with(p),
            _ => false,
        },
        "glob" => match (seen, arg.as_str()) {
            (Some(Value::String(s)), Some(p)) => globset::Glob::new(p)
                .map(|g| g.compile_matcher().is_match(s))
                .unwrap_or(false),
            _ => false,
        },
        "json" => match (seen.and_then(json_in_bytes), arg.as_object()) {
            (Some(doc), Some(paths)) => {
                paths.iter().all(|(path, m)| matches(m, lookup(&doc, path)))
            }
            _ => false,
        },
        _ => unreachable!("operators are listed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_and_operators() {
        let v = json!({"user": {"id": "abc", "createAt": 5, "props": {"a": "b"}},
                       "users": [{"username": "x", "id": "1"}, {"username": "y"}], "n": "12"});
        assert_eq!(lookup(&v, "users.1.username"), Some(&json!("y")));
        assert!(matches(&json!("abc"), lookup(&v, "user.id")));
        assert!(matches(&json!({"len": 3}), lookup(&v, "user.id")));
        assert!(matches(&json!({"len": 2}), lookup(&v, "users")));
        assert!(matches(&json!({"len": 0}), lookup(&v, "nothing")));
        assert!(matches(
            &json!({"absent": true}),
            lookup(&v, "user.deleteAt")
        ));
        assert!(!matches(&json!({"absent": true}), lookup(&v, "user.id")));
        assert!(matches(
            &json!({"present": true}),
            lookup(&v, "user.createAt")
        ));
        assert!(matches(
            &json!({"contains": {"username": "x"}}),
            lookup(&v, "users")
        ));
        assert!(!matches(
            &json!({"contains": {"username": "z"}}),
            lookup(&v, "users")
        ));
        assert!(matches(
            &json!({"contains": {"username": "x", "id": {"len": 1}}}),
            lookup(&v, "users")
        ));
        assert!(!matches(
            &json!({"contains": {"username": "y", "id": {"present": true}}}),
            lookup(&v, "users")
        ));
        assert!(matches(&json!({"contains": "a"}), lookup(&v, "user.props")));
        assert!(matches(&json!({"gt": 4}), lookup(&v, "user.createAt")));
        assert!(matches(&json!(12), lookup(&v, "n")));
        assert!(matches(
            &json!({"not": "y"}),
            lookup(&v, "users.0.username")
        ));
        assert!(matches(
            &json!({"one_of": ["q", "x"]}),
            lookup(&v, "users.0.username")
        ));
        assert!(matches(&json!(false), lookup(&v, "missing.flag")));
        assert!(matches(&json!(0), lookup(&v, "missing.count")));
        assert!(!matches(&json!(1), lookup(&v, "missing.count")));
        assert!(matches(&json!({"prefix": "ab"}), lookup(&v, "user.id")));
        assert!(matches(&json!({"glob": "a?c"}), lookup(&v, "user.id")));
        assert!(!matches(&json!({"glob": "[0-9]*"}), lookup(&v, "user.id")));
        let set_empty = json!({"user": {"authData": ""}});
        assert!(matches(
            &json!({"exactly": ""}),
            lookup(&set_empty, "user.authData")
        ));
        assert!(!matches(
            &json!({"exactly": ""}),
            lookup(&v, "user.authData")
        ));
        assert!(matches(&json!(""), lookup(&v, "user.authData")));
    }

    #[test]
    fn json_inside_bytes() {
        use base64::Engine;
        let doc = br#"{"ServiceSettings": {"SiteURL": "", "Enable": true}, "n": [1, 2]}"#;
        let b64 = json!(base64::engine::general_purpose::STANDARD.encode(doc));
        let m = json!({"json": {"ServiceSettings.Enable": true, "n": {"len": 2},
                                "ServiceSettings.SiteURL": {"absent": true}}});
        assert!(matches(&m, Some(&b64)));
        assert!(!matches(&json!({"json": {"n": {"len": 3}}}), Some(&b64)));
        assert!(!matches(&m, Some(&json!("not base64!"))));
        assert!(!matches(&m, None));
    }
}
