//! The messages inside a response (or request): message fields, list elements and map
//! values, down to [`MAX_DEPTH`] levels. The entity checks ([`super::invariants`],
//! [`super::consistency`]) share this one walk.

use prost_reflect::{DynamicMessage, Kind, ReflectMessage, Value};

/// How many levels below the top message the walk goes.
pub const MAX_DEPTH: usize = 3;

/// One message found inside the top one.
pub struct Found<'a> {
    /// Where: `users[0]`, `post_list.posts["id"]`.
    pub path: &'a str,
    /// The top-level field it is under (`users`, `post_list`).
    pub outer: &'a str,
    pub message: &'a DynamicMessage,
}

/// Calls `visit` for every message inside `top` (not `top` itself), parents before their
/// children; `visit` answers whether to look inside the message it was given.
pub fn messages(top: &DynamicMessage, visit: &mut dyn FnMut(&Found<'_>) -> bool) {
    walk(top, "", "", 0, visit);
}

fn walk(
    m: &DynamicMessage,
    path: &str,
    outer: &str,
    depth: usize,
    visit: &mut dyn FnMut(&Found<'_>) -> bool,
) {
    if depth > 0
        && !visit(&Found {
            path,
            outer,
            message: m,
        })
    {
        return;
    }
    if depth >= MAX_DEPTH {
        return;
    }
    for field in m.descriptor().fields() {
        if field.name() == "error" || !m.has_field(&field) {
            continue;
        }
        let Kind::Message(_) = field.kind() else {
            continue;
        };
        let here = if path.is_empty() {
            field.name().to_string()
        } else {
            format!("{path}.{}", field.name())
        };
        let outer = if depth == 0 { field.name() } else { outer };
        match m.get_field(&field).as_ref() {
            Value::Message(inner) => walk(inner, &here, outer, depth + 1, visit),
            Value::List(items) => {
                for (i, item) in items.iter().enumerate() {
                    if let Value::Message(inner) = item {
                        walk(inner, &format!("{here}[{i}]"), outer, depth + 1, visit);
                    }
                }
            }
            Value::Map(entries) => {
                for (k, v) in entries {
                    if let Value::Message(inner) = v {
                        walk(inner, &format!("{here}[{k:?}]"), outer, depth + 1, visit);
                    }
                }
            }
            _ => {}
        }
    }
}
