//! Known-failing and known-flaky lists (`--known-failing FILE`, `--known-flaky FILE`).
//!
//! Each list holds one case-name glob per line (the `--run` syntax) followed by a mandatory
//! `# justification`, so every exception to a green run is written down with its reason.
//! Entries go stale loudly: a pattern that selects no case is an error before anything
//! runs, and a known-failing case that passes fails the run.
//!
//! ```text
//! # upstream bug: the host does not wait for the grace period
//! shutdown/sigkill-after-grace   # MM-12345, fixed in 10.2
//! ```

use std::path::Path;

use globset::GlobSet;

use crate::runner::{CaseOutcome, Status, compile_glob};

/// Retries of a known-flaky case when `--retries` is not given.
pub const DEFAULT_FLAKY_RETRIES: u32 = 2;

pub use crate::runner::{ExpectationKind, Expected};

#[derive(Debug, thiserror::Error)]
pub enum ExpectationError {
    #[error("cannot read the {kind} list {path}: {error}")]
    Read {
        kind: ExpectationKind,
        path: String,
        error: std::io::Error,
    },
    #[error("{at}: {kind} entry {pattern:?} has no justification; write it as `{pattern}  # why`")]
    MissingJustification {
        at: String,
        kind: ExpectationKind,
        pattern: String,
    },
    #[error("{at}: {message}")]
    Malformed { at: String, message: String },
    #[error("{}", unmatched_message(.0))]
    MatchesNothing(Vec<Expected>),
    #[error("case {case} is listed both as known-failing ({failing}) and as known-flaky ({flaky})")]
    Conflict {
        case: String,
        failing: String,
        flaky: String,
    },
}

fn unmatched_message(entries: &[Expected]) -> String {
    let list: Vec<String> = entries
        .iter()
        .map(|e| format!("{}: {} pattern {:?}", e.source, e.kind, e.pattern))
        .collect();
    format!(
        "{} no selected case (a typo, a renamed case, or a --run/--skip that leaves it out): {}",
        if entries.len() == 1 {
            "an expectation entry matches".to_string()
        } else {
            format!("{} expectation entries match", entries.len())
        },
        list.join("; ")
    )
}

#[derive(Debug, Clone)]
struct Entry {
    expected: Expected,
    glob: GlobSet,
}

/// Both lists, parsed.
#[derive(Debug, Clone, Default)]
pub struct Expectations {
    entries: Vec<Entry>,
}

impl Expectations {
    /// Reads the lists given on the command line (either may be absent).
    pub fn load(
        known_failing: Option<&Path>,
        known_flaky: Option<&Path>,
    ) -> Result<Self, ExpectationError> {
        let mut all = Self::default();
        for (kind, path) in [
            (ExpectationKind::KnownFailing, known_failing),
            (ExpectationKind::KnownFlaky, known_flaky),
        ] {
            if let Some(path) = path {
                let text =
                    std::fs::read_to_string(path).map_err(|error| ExpectationError::Read {
                        kind,
                        path: path.display().to_string(),
                        error,
                    })?;
                all.add(kind, &path.display().to_string(), &text)?;
            }
        }
        Ok(all)
    }

    /// Parses one list; `source` names it in errors and reports.
    pub fn add(
        &mut self,
        kind: ExpectationKind,
        source: &str,
        text: &str,
    ) -> Result<(), ExpectationError> {
        for (i, line) in text.lines().enumerate() {
            let at = format!("{source}:{}", i + 1);
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (pattern, justification) = match line.split_once('#') {
                Some((p, j)) => (p.trim(), j.trim()),
                None => (line, ""),
            };
            if pattern.split_whitespace().count() > 1 {
                return Err(ExpectationError::Malformed {
                    at,
                    message: format!(
                        "{pattern:?} is more than one pattern; write one glob per line, then `# why`"
                    ),
                });
            }
            if justification.is_empty() {
                return Err(ExpectationError::MissingJustification {
                    at,
                    kind,
                    pattern: pattern.to_string(),
                });
            }
            let glob = compile_glob(pattern).map_err(|e| ExpectationError::Malformed {
                at: at.clone(),
                message: e.to_string(),
            })?;
            self.entries.push(Entry {
                expected: Expected {
                    kind,
                    pattern: pattern.to_string(),
                    justification: justification.to_string(),
                    source: at,
                },
                glob,
            });
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entry for each of the selected case names, in order (the first matching entry
    /// of the list wins). Fails when an entry matches none of `names`, or a case is in
    /// both lists.
    pub fn resolve<'a>(
        &self,
        names: impl IntoIterator<Item = &'a str>,
    ) -> Result<Vec<Option<Expected>>, ExpectationError> {
        let mut used = vec![false; self.entries.len()];
        let mut resolved = Vec::new();
        for name in names {
            let mut failing: Option<&Expected> = None;
            let mut flaky: Option<&Expected> = None;
            for (entry, used) in self.entries.iter().zip(used.iter_mut()) {
                if !entry.glob.is_match(name) {
                    continue;
                }
                *used = true;
                let slot = match entry.expected.kind {
                    ExpectationKind::KnownFailing => &mut failing,
                    ExpectationKind::KnownFlaky => &mut flaky,
                };
                slot.get_or_insert(&entry.expected);
            }
            if let (Some(failing), Some(flaky)) = (failing, flaky) {
                return Err(ExpectationError::Conflict {
                    case: name.to_string(),
                    failing: failing.source.clone(),
                    flaky: flaky.source.clone(),
                });
            }
            resolved.push(failing.or(flaky).cloned());
        }
        let unmatched: Vec<Expected> = self
            .entries
            .iter()
            .zip(&used)
            .filter(|(_, used)| !**used)
            .map(|(e, _)| e.expected.clone())
            .collect();
        if unmatched.is_empty() {
            Ok(resolved)
        } else {
            Err(ExpectationError::MatchesNothing(unmatched))
        }
    }
}

/// How many times a failed case is retried: `--retries` if given, else
/// [`DEFAULT_FLAKY_RETRIES`] for known-flaky cases and none for the others. A
/// known-failing case is never retried: failing is what it is expected to do.
pub fn retries_for(expected: Option<&Expected>, retries: Option<u32>) -> u32 {
    match expected.map(|e| e.kind) {
        Some(ExpectationKind::KnownFailing) => 0,
        Some(ExpectationKind::KnownFlaky) => retries.unwrap_or(DEFAULT_FLAKY_RETRIES),
        None => retries.unwrap_or(0),
    }
}

/// Applies the case's entry to its outcome: a known-failing case that failed becomes
/// [`Status::KnownFailing`]; one that passed becomes [`Status::StaleKnownFailing`] (which
/// fails the run). A known-flaky case keeps what the retries gave it (`flaky` when it
/// passed on a retry, a failure when it never passed).
pub fn apply(mut outcome: CaseOutcome, expected: Option<Expected>) -> CaseOutcome {
    let Some(expected) = expected else {
        return outcome;
    };
    if expected.kind == ExpectationKind::KnownFailing {
        if outcome.status.is_failure() {
            outcome.status = Status::KnownFailing;
        } else if matches!(outcome.status, Status::Passed | Status::Flaky) {
            outcome.status = Status::StaleKnownFailing;
            outcome.message = Some(format!(
                "stale known-failing entry: the case passed; remove `{}` ({}) from {}",
                expected.pattern, expected.justification, expected.source
            ));
        }
    }
    outcome.expected = Some(expected);
    outcome
}

/// A case blocked by a root cause that is known-failing (and failed) is known-failing
/// too, by the root's entry: listing the root is enough, its consequences are expected
/// with it. A blocked case with an entry of its own keeps it.
pub fn inherit_blocked(outcomes: &mut [CaseOutcome]) {
    let roots: std::collections::HashMap<String, Expected> = outcomes
        .iter()
        .filter(|o| o.status == Status::KnownFailing)
        .filter_map(|o| Some((o.name.clone(), o.expected.clone()?)))
        .collect();
    for o in outcomes.iter_mut() {
        let Some(root) = o.blocked_by.as_ref().and_then(|r| roots.get(r)) else {
            continue;
        };
        if o.expected.is_none() && o.status.is_failure() {
            o.status = Status::KnownFailing;
            o.expected = Some(Expected {
                justification: format!(
                    "blocked by the known-failing {}: {}",
                    o.blocked_by.as_deref().unwrap_or_default(),
                    root.justification
                ),
                ..root.clone()
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{RunReport, SubjectInfo};
    use crate::runner::Level;

    fn lists(failing: &str, flaky: &str) -> Result<Expectations, ExpectationError> {
        let mut e = Expectations::default();
        e.add(ExpectationKind::KnownFailing, "failing.txt", failing)?;
        e.add(ExpectationKind::KnownFlaky, "flaky.txt", flaky)?;
        Ok(e)
    }

    fn outcome(name: &str, status: Status) -> CaseOutcome {
        crate::report::tests::outcome(name, Level::Must, status)
    }

    fn report(cases: Vec<CaseOutcome>) -> RunReport {
        let subject = SubjectInfo {
            kind: "self-test".into(),
            name: "x".into(),
            version: "0".into(),
        };
        RunReport::new(subject, 0, 1, cases)
    }

    #[test]
    fn entries_parse_with_comments_and_justifications() {
        let e = lists(
            "# a comment\n\n  handshake/*   # upstream bug 12\nhealth/a#tight\n",
            "",
        )
        .unwrap();
        let resolved = e.resolve(["handshake/x", "health/a", "health/b"]).unwrap();
        let first = resolved[0].as_ref().unwrap();
        assert_eq!(first.pattern, "handshake/*");
        assert_eq!(first.justification, "upstream bug 12");
        assert_eq!(first.source, "failing.txt:3");
        assert_eq!(resolved[1].as_ref().unwrap().justification, "tight");
        assert_eq!(resolved[2], None);
    }

    #[test]
    fn an_entry_without_justification_is_an_error() {
        for text in ["handshake/a\n", "handshake/a   #   \n"] {
            let err = lists(text, "").unwrap_err();
            assert!(
                matches!(err, ExpectationError::MissingJustification { .. }),
                "{err}"
            );
            assert_eq!(
                err.to_string(),
                "failing.txt:1: known-failing entry \"handshake/a\" has no justification; write it as `handshake/a  # why`"
            );
        }
        let err = lists("", "# ok\nhealth/b\n").unwrap_err();
        assert!(
            err.to_string().starts_with("flaky.txt:2: known-flaky"),
            "{err}"
        );
    }

    #[test]
    fn two_patterns_on_a_line_or_a_bad_glob_are_errors() {
        let err = lists("a/x b/y # why\n", "").unwrap_err();
        assert!(err.to_string().contains("more than one pattern"), "{err}");
        let err = lists("[ # why\n", "").unwrap_err();
        assert!(
            err.to_string().starts_with("failing.txt:1: bad glob"),
            "{err}"
        );
    }

    #[test]
    fn a_pattern_that_matches_no_selected_case_is_an_error() {
        let e = lists(
            "handshake/a # why\nhandshake/typo # why\n",
            "nope/* # why\n",
        )
        .unwrap();
        let err = e.resolve(["handshake/a", "health/b"]).unwrap_err();
        let ExpectationError::MatchesNothing(unmatched) = &err else {
            panic!("{err}");
        };
        let sources: Vec<&str> = unmatched.iter().map(|u| u.source.as_str()).collect();
        assert_eq!(sources, ["failing.txt:2", "flaky.txt:1"]);
        assert!(err.to_string().contains("\"handshake/typo\""), "{err}");
    }

    #[test]
    fn a_case_in_both_lists_is_an_error() {
        let e = lists("health/* # why\n", "health/a # why\n").unwrap();
        let err = e.resolve(["health/a"]).unwrap_err();
        assert!(matches!(err, ExpectationError::Conflict { .. }), "{err}");
        assert!(err.to_string().contains("failing.txt:1"), "{err}");
        assert!(err.to_string().contains("flaky.txt:1"), "{err}");
    }

    #[test]
    fn a_known_failing_case_that_fails_does_not_fail_the_run() {
        let e = lists("handshake/b # bug 1\n", "").unwrap();
        let names = ["handshake/a", "handshake/b"];
        let resolved = e.resolve(names).unwrap();
        let cases = vec![
            apply(outcome("handshake/a", Status::Passed), resolved[0].clone()),
            apply(outcome("handshake/b", Status::Failed), resolved[1].clone()),
        ];
        assert_eq!(cases[1].status, Status::KnownFailing);
        assert_eq!(
            cases[1].message.as_deref(),
            Some("x: expected 1, saw 2"),
            "the failure stays readable"
        );
        assert_eq!(cases[1].expected.as_ref().unwrap().justification, "bug 1");
        let r = report(cases);
        assert_eq!(r.counts.known_failing, 1);
        assert_eq!(r.counts.must_failures, 0);
        assert!(r.passed());
        // The same failure without the entry fails the run.
        assert!(!report(vec![outcome("handshake/b", Status::Failed)]).passed());
    }

    #[test]
    fn a_stale_known_failing_entry_fails_the_run() {
        let e = lists("health/d # was broken\n", "").unwrap();
        let resolved = e.resolve(["health/d"]).unwrap();
        // A SHOULD case, so only the stale entry can fail the run.
        let mut passed = outcome("health/d", Status::Passed);
        passed.level = Level::Should;
        let stale = apply(passed, resolved[0].clone());
        assert_eq!(stale.status, Status::StaleKnownFailing);
        assert_eq!(
            stale.message.as_deref(),
            Some(
                "stale known-failing entry: the case passed; remove `health/d` (was broken) from failing.txt:1"
            )
        );
        let r = report(vec![stale]);
        assert_eq!(r.counts.stale_known_failing, 1);
        assert!(!r.passed());
    }

    #[test]
    fn known_flaky_outcomes_are_kept_and_never_count_as_passed() {
        let e = lists("", "health/* # slow machine\n").unwrap();
        let resolved = e.resolve(["health/a", "health/b"]).unwrap();
        let flaky = apply(outcome("health/a", Status::Flaky), resolved[0].clone());
        let failed = apply(outcome("health/b", Status::Failed), resolved[1].clone());
        assert_eq!(flaky.status, Status::Flaky);
        assert_eq!(failed.status, Status::Failed);
        let r = report(vec![flaky, failed]);
        assert_eq!(r.counts.flaky, 1);
        assert_eq!(r.counts.passed, 0);
        assert!(
            !r.passed(),
            "a known-flaky case that never passes is a failure"
        );
    }

    #[test]
    fn retries_follow_the_lists_and_the_option() {
        let e = lists("a/x # why\n", "a/y # why\n").unwrap();
        let r = e.resolve(["a/x", "a/y", "a/z"]).unwrap();
        assert_eq!(retries_for(r[0].as_ref(), None), 0);
        assert_eq!(retries_for(r[0].as_ref(), Some(5)), 0);
        assert_eq!(retries_for(r[1].as_ref(), None), DEFAULT_FLAKY_RETRIES);
        assert_eq!(retries_for(r[1].as_ref(), Some(4)), 4);
        assert_eq!(retries_for(r[2].as_ref(), None), 0);
        assert_eq!(retries_for(r[2].as_ref(), Some(1)), 1);
    }

    #[test]
    fn load_names_an_unreadable_file() {
        let err = Expectations::load(Some(Path::new("/nonexistent/kf.txt")), None).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("cannot read the known-failing list /nonexistent/kf.txt: "),
            "{err}"
        );
    }

    #[test]
    fn cases_blocked_by_a_known_failing_root_inherit_its_entry() {
        let e = lists("plugin/root   # upstream example has no executable\n", "").unwrap();
        let blocked = |name: &str| CaseOutcome {
            blocked_by: Some("plugin/root".into()),
            ..outcome(name, Status::Failed)
        };
        let cases = vec![
            outcome("plugin/root", Status::Failed),
            blocked("plugin/a"),
            blocked("plugin/b"),
            outcome("plugin/other", Status::Failed),
        ];
        let resolved = e.resolve(cases.iter().map(|c| c.name.as_str())).unwrap();
        let mut applied: Vec<CaseOutcome> = cases
            .into_iter()
            .zip(resolved)
            .map(|(o, x)| apply(o, x))
            .collect();
        inherit_blocked(&mut applied);
        let statuses: Vec<Status> = applied.iter().map(|o| o.status).collect();
        assert_eq!(
            statuses,
            [
                Status::KnownFailing,
                Status::KnownFailing,
                Status::KnownFailing,
                Status::Failed
            ]
        );
        let inherited = applied[1].expected.as_ref().unwrap();
        assert_eq!(inherited.pattern, "plugin/root");
        assert_eq!(
            inherited.justification,
            "blocked by the known-failing plugin/root: upstream example has no executable"
        );
        assert_eq!(report(applied).counts.must_failures, 1);
    }
}
