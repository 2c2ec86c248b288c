//! Reports: a versioned JSON document first, then JUnit and summaries rendered from it,
//! and the comparison of two JSON documents. Every count is computed from the outcomes.
//! The JSON layout is described by `reports/schema/conformance-report.v1.schema.json`.

mod answer_diff;
mod diff;
mod junit;
mod schema;
mod summary;

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

pub use answer_diff::{AcceptError, AcceptedAnswerChanges, AnswerChange, AnswerComparison};
pub use diff::{CaseChange, ReportDiff};
pub use junit::to_junit;
pub use schema::{SCHEMA_PATH, schema_mismatches};
pub use summary::{to_markdown, to_text};

/// The prefix of a case note that carries one of the plugin's stderr lines, with the
/// level go-plugin's `logStderr` gives it: `plugin log [WARN] ...`. The notes go into the
/// JSON report (`notes`), the JUnit `<system-out>` and, at WARN and above, the summaries.
pub const PLUGIN_LOG_NOTE: &str = "plugin log ";

/// The plugin log notes of `notes` at WARN or ERROR.
pub fn warning_logs(notes: &[String]) -> impl Iterator<Item = &str> {
    notes.iter().map(String::as_str).filter(|n| {
        n.strip_prefix(PLUGIN_LOG_NOTE)
            .is_some_and(|rest| rest.starts_with("[WARN]") || rest.starts_with("[ERROR]"))
    })
}

use crate::runner::{CaseOutcome, Level, Status};

/// Version of the JSON report layout.
pub const SCHEMA_VERSION: u32 = 1;

/// What was tested.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SubjectInfo {
    /// e.g. `self-test`, `host`, `plugin`.
    pub kind: String,
    pub name: String,
    pub version: String,
}

/// Counts by status, computed from the outcomes.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Counts {
    pub total: usize,
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    pub errored: usize,
    pub timed_out: usize,
    /// Listed as known-failing and failed: not failures of the run.
    #[serde(default)]
    pub known_failing: usize,
    /// Passed only on a retry: not failures of the run, not passes either.
    #[serde(default)]
    pub flaky: usize,
    /// Listed as known-failing but passed: each one fails the run.
    #[serde(default)]
    pub stale_known_failing: usize,
    /// Failed, errored or timed-out cases at MUST level.
    pub must_failures: usize,
    /// Failed, errored or timed-out cases at SHOULD or MAY level (warnings).
    pub warnings: usize,
    /// Failed cases not run because a case they need failed (`CaseOutcome::blocked_by`).
    #[serde(default)]
    pub blocked: usize,
}

impl Counts {
    pub fn of(cases: &[CaseOutcome]) -> Self {
        let mut c = Counts {
            total: cases.len(),
            ..Counts::default()
        };
        for o in cases {
            match o.status {
                Status::Passed => c.passed += 1,
                Status::Failed => c.failed += 1,
                Status::Skipped => c.skipped += 1,
                Status::Errored => c.errored += 1,
                Status::TimedOut => c.timed_out += 1,
                Status::KnownFailing => c.known_failing += 1,
                Status::Flaky => c.flaky += 1,
                Status::StaleKnownFailing => c.stale_known_failing += 1,
            }
            if o.blocked_by.is_some() {
                c.blocked += 1;
            }
            if o.status.is_failure() {
                if o.level == Level::Must {
                    c.must_failures += 1;
                } else {
                    c.warnings += 1;
                }
            }
        }
        c
    }
}

/// One run of the harness.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunReport {
    pub schema_version: u32,
    pub harness_version: String,
    pub contract_version: u32,
    pub subject: SubjectInfo,
    /// Microseconds since the Unix epoch.
    pub started_at_us: u64,
    pub duration_ms: u64,
    pub counts: Counts,
    /// Counts per suite.
    pub suites: BTreeMap<String, Counts>,
    pub cases: Vec<CaseOutcome>,
}

impl RunReport {
    pub fn new(
        subject: SubjectInfo,
        started_at_us: u64,
        duration_ms: u64,
        cases: Vec<CaseOutcome>,
    ) -> Self {
        let mut by_suite: BTreeMap<String, Vec<CaseOutcome>> = BTreeMap::new();
        for c in &cases {
            by_suite.entry(c.suite.clone()).or_default().push(c.clone());
        }
        Self {
            schema_version: SCHEMA_VERSION,
            harness_version: env!("CARGO_PKG_VERSION").to_string(),
            contract_version: pluginapi_proto::contract::Contract::embedded().contract_version,
            subject,
            started_at_us,
            duration_ms,
            counts: Counts::of(&cases),
            suites: by_suite
                .into_iter()
                .map(|(k, v)| (k, Counts::of(&v)))
                .collect(),
            cases,
        }
    }

    /// The run passes when no MUST case failed (known-failing and flaky cases are not
    /// failures) and no known-failing entry is stale.
    pub fn passed(&self) -> bool {
        self.counts.must_failures == 0 && self.counts.stale_known_failing == 0
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report serializes")
    }

    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// Reads a JSON report written by [`RunReport::to_json`], checking its schema version
    /// and that no case name appears twice; errors name the file.
    pub fn read(path: &Path) -> Result<Self, ReadError> {
        let at = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ReadError {
            path: at.clone(),
            problem: format!("cannot read it: {e}"),
        })?;
        let invalid = |problem: String| ReadError {
            path: at.clone(),
            problem,
        };
        let value: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| invalid(format!("not valid JSON: {e}")))?;
        match value.get("schema_version").and_then(|v| v.as_u64()) {
            Some(v) if v == u64::from(SCHEMA_VERSION) => {}
            Some(v) => {
                return Err(invalid(format!(
                    "schema_version {v} is not supported (this harness reads {SCHEMA_VERSION})"
                )));
            }
            None => {
                return Err(invalid(
                    "not a conformance report: no numeric `schema_version`".into(),
                ));
            }
        }
        let report: RunReport = serde_json::from_value(value)
            .map_err(|e| invalid(format!("not a conformance report: {e}")))?;
        let mut seen = std::collections::BTreeSet::new();
        if let Some(dup) = report.cases.iter().find(|c| !seen.insert(c.name.as_str())) {
            return Err(invalid(format!("case {} appears more than once", dup.name)));
        }
        Ok(report)
    }

    /// Writes `text` to `path`, creating parent directories.
    pub fn write(path: &Path, text: &str) -> std::io::Result<()> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, text)
    }
}

/// A JSON report that cannot be read back, with the file and the problem.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{path}: {problem}")]
pub struct ReadError {
    pub path: String,
    pub problem: String,
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::runner::{Assertion, Subject};

    pub(crate) fn outcome(name: &str, level: Level, status: Status) -> CaseOutcome {
        CaseOutcome {
            name: name.into(),
            suite: name.split('/').next().unwrap().into(),
            level,
            clause: "SPEC §5".into(),
            clause_text: crate::spec::quote("SPEC §5"),
            summary: "a case".into(),
            provenance: vec!["mattermost/mattermost server/x.go F @0123456789ab".into()],
            subject: Subject::Host,
            status,
            message: (status != Status::Passed).then(|| "x: expected 1, saw 2".into()),
            duration_ms: 3,
            assertions: vec![Assertion {
                name: "x".into(),
                expected: "1".into(),
                seen: if status == Status::Passed { "1" } else { "2" }.into(),
                passed: status == Status::Passed,
            }],
            notes: Vec::new(),
            previous_attempts: Vec::new(),
            expected: None,
            blocked_by: None,
            answers: Vec::new(),
        }
    }

    pub(crate) fn sample() -> RunReport {
        RunReport::new(
            SubjectInfo {
                kind: "self-test".into(),
                name: "reference host".into(),
                version: "0.1.0".into(),
            },
            0,
            10,
            vec![
                outcome("handshake/a", Level::Must, Status::Passed),
                outcome("handshake/b", Level::Must, Status::Failed),
                outcome("health/c", Level::Should, Status::Failed),
                outcome("health/d", Level::May, Status::Skipped),
            ],
        )
    }

    #[test]
    fn counts_are_computed_and_json_round_trips() {
        let r = sample();
        assert_eq!(r.counts.total, 4);
        assert_eq!(r.counts.passed, 1);
        assert_eq!(r.counts.must_failures, 1);
        assert_eq!(r.counts.warnings, 1);
        assert_eq!(r.suites["handshake"].total, 2);
        assert!(!r.passed());
        let back = RunReport::from_json(&r.to_json()).unwrap();
        assert_eq!(back.counts, r.counts);
        assert_eq!(back.cases.len(), 4);
    }

    #[test]
    fn read_checks_the_file_the_version_and_duplicates() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        let r = sample();
        std::fs::write(&path, r.to_json()).unwrap();
        assert_eq!(RunReport::read(&path).unwrap().counts, r.counts);

        let problem = |text: &str| {
            std::fs::write(&path, text).unwrap();
            let e = RunReport::read(&path).unwrap_err();
            assert_eq!(e.path, path.display().to_string());
            e.problem
        };
        assert!(problem("{").starts_with("not valid JSON"));
        assert!(problem("{}").contains("no numeric `schema_version`"));
        assert!(problem(r#"{"schema_version": 2}"#).contains("schema_version 2 is not supported"));
        assert!(problem(r#"{"schema_version": 1}"#).contains("missing field"));
        let mut twice = sample();
        twice.cases.push(twice.cases[0].clone());
        assert_eq!(
            problem(&twice.to_json()),
            "case handshake/a appears more than once"
        );
        let missing = dir.path().join("missing.json");
        let e = RunReport::read(&missing).unwrap_err();
        assert!(
            e.to_string()
                .starts_with(&format!("{}: cannot read it: ", missing.display()))
        );
    }

    /// A report from before the expectation fields still reads (they default).
    #[test]
    fn a_report_without_the_expectation_fields_still_reads() {
        let mut v: serde_json::Value = serde_json::from_str(&sample().to_json()).unwrap();
        for key in ["known_failing", "flaky", "stale_known_failing"] {
            v["counts"].as_object_mut().unwrap().remove(key);
        }
        for case in v["cases"].as_array_mut().unwrap() {
            for key in ["notes", "previous_attempts", "expected"] {
                case.as_object_mut().unwrap().remove(key);
            }
        }
        let back: RunReport = serde_json::from_value(v).unwrap();
        assert_eq!(back.counts, sample().counts);
    }
}
