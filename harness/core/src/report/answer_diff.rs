//! The behavioural half of `diff`: for every case in both reports, each request sent in
//! both (same hook, label and request) whose answer changed. A change fails the diff
//! unless an `--accept-answer-changes GLOB=REASON` entry says it is expected.

use std::collections::BTreeMap;

use globset::GlobSet;
use serde_json::Value as Json;

use crate::runner::{AnswerSnapshot, CaseOutcome, FilterError, Level, compile_glob};

/// At most this many changed fields are listed per answer.
const MAX_FIELD_LINES: usize = 8;

/// One request whose answer differs between the two reports.
#[derive(Debug, Clone, PartialEq)]
pub struct AnswerChange {
    pub case: String,
    pub level: Level,
    pub hook: String,
    pub request_label: String,
    pub request: Json,
    /// OLD's answer (or `{"error": ...}`).
    pub old: Json,
    pub new: Json,
    /// The entry that accepted the change: its glob and reason.
    pub accepted: Option<(String, String)>,
}

impl AnswerChange {
    /// `[LEVEL] case: Hook, request "label" {...}`.
    pub fn headline(&self) -> String {
        format!(
            "[{}] {}: {}, request \"{}\" {}",
            self.level,
            self.case,
            self.hook,
            self.request_label,
            clip(&self.request.to_string(), 160)
        )
    }

    /// The changed fields, one `path: OLD -> NEW` each (at most [`MAX_FIELD_LINES`]).
    pub fn field_lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        json_changes(&self.old, &self.new, "", &mut lines);
        if lines.len() > MAX_FIELD_LINES {
            let more = lines.len() - MAX_FIELD_LINES;
            lines.truncate(MAX_FIELD_LINES);
            lines.push(format!("... and {more} more changed field(s)"));
        }
        lines
    }
}

fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((at, _)) => format!("{}...", &s[..at]),
        None => s.to_string(),
    }
}

fn shown(value: Option<&Json>) -> String {
    value.map_or("absent".to_string(), |v| clip(&v.to_string(), 120))
}

/// Appends `path: old -> new` for every leaf that differs (objects by key, arrays of the
/// same length by index, anything else whole).
fn json_changes(old: &Json, new: &Json, path: &str, out: &mut Vec<String>) {
    let at = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    match (old, new) {
        _ if old == new => {}
        (Json::Object(o), Json::Object(n)) => {
            let keys: std::collections::BTreeSet<&String> = o.keys().chain(n.keys()).collect();
            for key in keys {
                match (o.get(key), n.get(key)) {
                    (Some(a), Some(b)) => json_changes(a, b, &at(key), out),
                    (a, b) => out.push(format!("{}: {} -> {}", at(key), shown(a), shown(b))),
                }
            }
        }
        (Json::Array(o), Json::Array(n)) if o.len() == n.len() => {
            for (i, (a, b)) in o.iter().zip(n).enumerate() {
                json_changes(a, b, &format!("{path}[{i}]"), out);
            }
        }
        _ => out.push(format!(
            "{}: {} -> {}",
            if path.is_empty() { "answer" } else { path },
            shown(Some(old)),
            shown(Some(new))
        )),
    }
}

/// `--accept-answer-changes GLOB=REASON` entries: a change whose case or hook name
/// matches GLOB is expected, for REASON.
#[derive(Debug, Default)]
pub struct AcceptedAnswerChanges {
    entries: Vec<(String, GlobSet, String)>,
}

#[derive(Debug, thiserror::Error)]
pub enum AcceptError {
    #[error(
        "--accept-answer-changes {0:?} gives no reason; write it as GLOB=REASON, e.g. 'plugin/hooks/MessageWillBePosted=the SDK now trims messages (#123)'"
    )]
    MissingReason(String),
    #[error("--accept-answer-changes: {0}")]
    Glob(#[from] FilterError),
}

impl AcceptedAnswerChanges {
    pub fn parse(entries: &[String]) -> Result<Self, AcceptError> {
        let mut parsed = Vec::new();
        for entry in entries {
            let (glob, reason) = entry
                .split_once('=')
                .map(|(g, r)| (g.trim(), r.trim()))
                .filter(|(g, r)| !g.is_empty() && !r.is_empty())
                .ok_or_else(|| AcceptError::MissingReason(entry.clone()))?;
            parsed.push((glob.to_string(), compile_glob(glob)?, reason.to_string()));
        }
        Ok(Self { entries: parsed })
    }

    /// The first entry whose glob matches the case or the hook: `(glob, reason)`.
    fn accepting(&self, change: &AnswerChange) -> Option<(String, String)> {
        self.entries
            .iter()
            .find(|(_, set, _)| set.is_match(&change.case) || set.is_match(&change.hook))
            .map(|(glob, _, reason)| (glob.clone(), reason.clone()))
    }

    /// The globs that matched none of `changes`, for a note (an entry that goes stale).
    pub fn unused(&self, changes: &[AnswerChange]) -> Vec<String> {
        self.entries
            .iter()
            .filter(|(glob, _, _)| {
                !changes
                    .iter()
                    .any(|c| c.accepted.as_ref().is_some_and(|(g, _)| g == glob))
            })
            .map(|(glob, _, _)| glob.clone())
            .collect()
    }
}

/// What the answers of two reports show.
#[derive(Debug, Clone, Default)]
pub struct AnswerComparison {
    pub changes: Vec<AnswerChange>,
    /// Requests answered in both reports with the same answer.
    pub same: usize,
    /// Requests of a case in both reports that only one report sent (a request that
    /// changed between harness versions, a stimulus added or removed): not compared.
    pub not_compared: usize,
}

/// Each answer with its key and which occurrence of that key it is in the case (the same
/// request sent twice is compared first with first, second with second).
fn keyed(
    answers: &[AnswerSnapshot],
) -> impl Iterator<Item = ((String, String, String, usize), &AnswerSnapshot)> {
    let mut seen: BTreeMap<(String, String, String), usize> = BTreeMap::new();
    answers.iter().map(move |a| {
        let key = a.key();
        let n = seen.entry(key.clone()).or_default();
        *n += 1;
        ((key.0, key.1, key.2, *n), a)
    })
}

/// Compares the answers of the cases in both reports, in NEW's order.
pub fn compare(
    olds: &BTreeMap<&str, &CaseOutcome>,
    news: &[CaseOutcome],
    accept: &AcceptedAnswerChanges,
) -> AnswerComparison {
    let mut result = AnswerComparison::default();
    for n in news {
        let Some(o) = olds.get(n.name.as_str()) else {
            continue;
        };
        let mut old_answers: BTreeMap<_, &AnswerSnapshot> = keyed(&o.answers).collect();
        for (key, new) in keyed(&n.answers) {
            let Some(old) = old_answers.remove(&key) else {
                result.not_compared += 1;
                continue;
            };
            let (before, after) = (old.outcome(), new.outcome());
            if before == after {
                result.same += 1;
                continue;
            }
            let mut change = AnswerChange {
                case: n.name.clone(),
                level: n.level,
                hook: new.hook.clone(),
                request_label: new.request_label.clone(),
                request: new.request.clone(),
                old: before,
                new: after,
                accepted: None,
            };
            change.accepted = accept.accepting(&change);
            result.changes.push(change);
        }
        // Requests only OLD sent.
        result.not_compared += old_answers.len();
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::outcome;
    use crate::runner::Status;
    use serde_json::json;

    fn snapshot(label: &str, answer: Json) -> AnswerSnapshot {
        AnswerSnapshot {
            hook: "MessageWillBePosted".into(),
            request_label: label.into(),
            request: json!({"post": {"message": label}}),
            answer: Some(answer),
            error: None,
        }
    }

    fn case(name: &str, answers: Vec<AnswerSnapshot>) -> CaseOutcome {
        CaseOutcome {
            answers,
            ..outcome(name, Level::Must, Status::Passed)
        }
    }

    #[test]
    fn a_changed_answer_to_the_same_request_is_listed_with_its_fields() {
        let old = [case(
            "plugin/stimuli/x",
            vec![
                snapshot("reject", json!({"rejectionReason": "no"})),
                snapshot("plain", json!({})),
                snapshot("gone", json!({})),
            ],
        )];
        let mut failed = snapshot("failing", Json::Null);
        failed.answer = None;
        failed.error = Some("Unknown: boom".into());
        let new = [case(
            "plugin/stimuli/x",
            vec![
                snapshot("reject", json!({})),
                snapshot("plain", json!({})),
                snapshot("added", json!({})),
                failed,
            ],
        )];
        let olds = old.iter().map(|c| (c.name.as_str(), c)).collect();
        let cmp = compare(&olds, &new, &AcceptedAnswerChanges::default());
        assert_eq!(cmp.changes.len(), 1, "{cmp:?}");
        assert_eq!(cmp.same, 1);
        // "added" and "failing" only in NEW, "gone" only in OLD.
        assert_eq!(cmp.not_compared, 3);
        let change = &cmp.changes[0];
        assert_eq!(
            change.headline(),
            "[MUST] plugin/stimuli/x: MessageWillBePosted, request \"reject\" {\"post\":{\"message\":\"reject\"}}"
        );
        assert_eq!(change.field_lines(), ["rejectionReason: \"no\" -> absent"]);
    }

    #[test]
    fn the_same_request_sent_twice_is_compared_in_order() {
        let old = [case("plugin/x", vec![snapshot("p", json!({"a": 1}))])];
        let new = [case(
            "plugin/x",
            vec![
                snapshot("p", json!({"a": 1})),
                snapshot("p", json!({"a": 2})),
            ],
        )];
        let olds = old.iter().map(|c| (c.name.as_str(), c)).collect();
        let cmp = compare(&olds, &new, &AcceptedAnswerChanges::default());
        assert_eq!((cmp.same, cmp.changes.len(), cmp.not_compared), (1, 0, 1));
        let olds = new.iter().map(|c| (c.name.as_str(), c)).collect();
        let cmp = compare(&olds, &old, &AcceptedAnswerChanges::default());
        assert_eq!((cmp.same, cmp.changes.len(), cmp.not_compared), (1, 0, 1));
    }

    #[test]
    fn accepted_changes_carry_their_reason_and_a_reason_is_required() {
        let old = [case("plugin/hooks/A", vec![snapshot("p", json!({"a": 1}))])];
        let new = [case("plugin/hooks/A", vec![snapshot("p", json!({"a": 2}))])];
        let olds = old.iter().map(|c| (c.name.as_str(), c)).collect();
        let accept = AcceptedAnswerChanges::parse(&[
            "MessageWillBePosted = the filter moved to the server".into(),
            "plugin/other/*=never used".into(),
        ])
        .unwrap();
        let cmp = compare(&olds, &new, &accept);
        assert_eq!(
            cmp.changes[0].accepted,
            Some((
                "MessageWillBePosted".into(),
                "the filter moved to the server".into()
            ))
        );
        assert_eq!(cmp.changes[0].field_lines(), ["a: 1 -> 2"]);
        assert_eq!(accept.unused(&cmp.changes), ["plugin/other/*"]);
        for bad in ["plugin/hooks/*", "plugin/hooks/*=", "=reason"] {
            let err = AcceptedAnswerChanges::parse(&[bad.into()]).unwrap_err();
            assert!(err.to_string().contains("GLOB=REASON"), "{err}");
        }
    }
}
