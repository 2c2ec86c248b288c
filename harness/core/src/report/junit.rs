//! JUnit XML through quick-junit: one `<testsuite>` per suite, `classname` = suite,
//! `name` = the case name, the first failed assertion as the failure message, and every
//! assertion in the failure text so CI shows the whole checklist. Each suite carries the
//! subject (kind, name, version), the contract and harness versions as properties.
//!
//! Expectation statuses, chosen so CI tools that only know JUnit agree with the run:
//! * `known_failing` → `<skipped message="known failing: ...">` (not a failure of the run)
//!   with the case properties `expectation`, `expectation.justification` and
//!   `expectation.source`;
//! * `flaky` → success with one `<flakyFailure>`/`<flakyError>` per failed attempt;
//! * `stale_known_failing` → `<failure>` whose message names the stale entry;
//! * a SHOULD or MAY case that failed, errored or timed out (a warning: it never fails the
//!   run, see `RunReport::passed`) → `<skipped message="warning: [SHOULD] ...">` with the
//!   checklist, and the case properties `status` (its real status) and `warning = true`.
//!   JUnit has no warning element; consumers (GitHub test reporters, Jenkins, GitLab)
//!   count a `<failure>` or `<error>` as a failed test whatever the job's exit code, and
//!   show `<skipped>` as neither passed nor failed with its message, so a passing run
//!   shows no failed test and every warning stays visible.

use std::time::Duration;

use quick_junit::{
    NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestRerun, TestSuite,
};

use super::RunReport;
use crate::runner::{CaseOutcome, Level, Status};

fn checklist(o: &CaseOutcome) -> String {
    let mut s = format!("[{}] {} ({})\n", o.level, o.summary, o.clause);
    for line in o.clause_text.lines() {
        s.push_str(&format!("clause {line}\n"));
    }
    for line in &o.provenance {
        s.push_str(&format!("upstream {line}\n"));
    }
    for a in &o.assertions {
        let mark = if a.passed { "ok  " } else { "FAIL" };
        s.push_str(&format!(
            "{mark} {}: expected {}, saw {}\n",
            a.name, a.expected, a.seen
        ));
    }
    s
}

fn kind(status: Status) -> NonSuccessKind {
    match status {
        Status::Errored | Status::TimedOut => NonSuccessKind::Error,
        _ => NonSuccessKind::Failure,
    }
}

/// The failure message: for a failed case, its first failed assertion; otherwise the
/// outcome's message (error, timeout, skip reason, stale entry).
fn message(o: &CaseOutcome) -> Option<String> {
    let first = (o.status == Status::Failed)
        .then(|| o.first_failed_assertion())
        .flatten();
    first.or_else(|| o.message.clone())
}

fn status(o: &CaseOutcome) -> TestCaseStatus {
    let message = message(o);
    let mut status = match o.status {
        Status::Passed => return TestCaseStatus::success(),
        Status::Flaky => {
            let mut status = TestCaseStatus::success();
            status.add_reruns(o.previous_attempts.iter().map(|a| {
                let mut rerun = TestRerun::new(kind(a.status));
                rerun.set_time(Duration::from_millis(a.duration_ms));
                if let Some(m) = &a.message {
                    rerun.set_message(format!("[{}] attempt {}: {m}", o.level, a.status));
                }
                rerun
            }));
            return status;
        }
        Status::Skipped => TestCaseStatus::skipped(),
        Status::KnownFailing => {
            let mut status = TestCaseStatus::skipped();
            let why = o.expected.as_ref().map_or(String::new(), |e| {
                format!(" ({}, {})", e.justification, e.source)
            });
            status.set_message(format!(
                "known failing{why}: [{}] {}",
                o.level,
                message.unwrap_or_default()
            ));
            status.set_description(checklist(o));
            return status;
        }
        s if s.is_failure() && o.level != Level::Must => {
            let mut status = TestCaseStatus::skipped();
            status.set_message(format!(
                "warning: [{}] not met ({s}, not a failure of the run): {}",
                o.level,
                message.unwrap_or_default()
            ));
            status.set_description(checklist(o));
            return status;
        }
        s => TestCaseStatus::non_success(kind(s)),
    };
    if let Some(message) = message {
        status.set_message(format!("[{}] {message}", o.level));
    }
    if o.status.is_failure() || o.status == Status::StaleKnownFailing {
        status.set_description(checklist(o));
    }
    status
}

/// Renders the report as JUnit XML.
pub fn to_junit(report: &RunReport) -> String {
    let mut junit = Report::new(format!("plugin-conformance: {}", report.subject.name));
    junit.set_time(Duration::from_millis(report.duration_ms));
    for suite_name in report.suites.keys() {
        let mut suite = TestSuite::new(suite_name.as_str());
        suite.add_property(Property::new("subject.kind", report.subject.kind.as_str()));
        suite.add_property(Property::new("subject.name", report.subject.name.as_str()));
        suite.add_property(Property::new(
            "subject.version",
            report.subject.version.as_str(),
        ));
        suite.add_property(Property::new(
            "contract.version",
            report.contract_version.to_string(),
        ));
        suite.add_property(Property::new(
            "harness.version",
            report.harness_version.as_str(),
        ));
        for o in report.cases.iter().filter(|c| &c.suite == suite_name) {
            let mut case = TestCase::new(o.name.as_str(), status(o));
            case.set_classname(suite_name.as_str());
            case.set_time(Duration::from_millis(o.duration_ms));
            case.set_assertions(o.assertions.len());
            case.add_property(Property::new("level", o.level.to_string()));
            case.add_property(Property::new("clause", o.clause.as_str()));
            case.add_property(Property::new("status", o.status.to_string()));
            if o.status.is_failure() && o.level != Level::Must {
                case.add_property(Property::new("warning", "true"));
            }
            if !o.previous_attempts.is_empty() {
                case.add_property(Property::new(
                    "attempts",
                    (o.previous_attempts.len() + 1).to_string(),
                ));
            }
            if let Some(e) = &o.expected {
                case.add_property(Property::new("expectation", e.kind.to_string()));
                case.add_property(Property::new(
                    "expectation.justification",
                    e.justification.as_str(),
                ));
                case.add_property(Property::new("expectation.source", e.source.as_str()));
            }
            if !o.notes.is_empty() {
                case.set_system_out(o.notes.join("\n"));
            }
            suite.add_test_case(case);
        }
        junit.add_test_suite(suite);
    }
    junit.to_string().expect("JUnit serializes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expectations::{ExpectationKind, Expected};
    use crate::report::tests::{outcome, sample};
    use crate::runner::{Assertion, Attempt, Level};

    fn assertion(name: &str, passed: bool) -> Assertion {
        Assertion {
            name: name.into(),
            expected: "1".into(),
            seen: if passed { "1" } else { "2" }.into(),
            passed,
        }
    }

    #[test]
    fn suites_cases_and_failure_messages() {
        let xml = to_junit(&sample());
        assert!(
            xml.contains("<testsuite name=\"handshake\" tests=\"2\""),
            "{xml}"
        );
        assert!(xml.contains("classname=\"health\""), "{xml}");
        assert!(
            xml.contains("message=\"[MUST] x: expected 1, saw 2\""),
            "{xml}"
        );
        assert!(xml.contains("<skipped"), "{xml}");
    }

    #[test]
    fn the_first_failed_assertion_is_the_message_and_the_subject_is_in_properties() {
        let mut report = sample();
        let case = &mut report.cases[1];
        assert_eq!(case.name, "handshake/b");
        case.assertions = vec![
            assertion("started", true),
            assertion("first broken", false),
            assertion("second broken", false),
        ];
        case.message = Some("first broken: expected 1, saw 2".into());
        let xml = to_junit(&report);
        let failure = xml
            .split("<testcase name=\"handshake/b\"")
            .nth(1)
            .and_then(|rest| rest.split("</testcase>").next())
            .expect("the case is in the XML");
        assert!(
            failure.contains("<failure message=\"[MUST] first broken: expected 1, saw 2\""),
            "{failure}"
        );
        assert!(failure.contains("classname=\"handshake\""), "{failure}");
        // The whole checklist is in the failure text, in order.
        let ok = failure
            .find("ok   started")
            .expect("passed assertion listed");
        let second = failure
            .find("FAIL second broken")
            .expect("second failure listed");
        assert!(ok < second, "{failure}");
        for (name, value) in [
            ("subject.kind", "self-test"),
            ("subject.name", "reference host"),
            ("subject.version", "0.1.0"),
            ("contract.version", &report.contract_version.to_string()),
            ("harness.version", env!("CARGO_PKG_VERSION")),
        ] {
            let property = format!("<property name=\"{name}\" value=\"{value}\"/>");
            // One set of properties per suite.
            assert_eq!(xml.matches(&property).count(), 2, "{property} in {xml}");
        }
    }

    #[test]
    fn should_and_may_misses_are_warnings_not_failed_tests() {
        let mut should = outcome("s/should", Level::Should, Status::Failed);
        should.message = Some("x: expected 1, saw 2".into());
        let may = outcome("s/may", Level::May, Status::TimedOut);
        let report = RunReport::new(sample().subject, 0, 1, vec![should, may]);
        assert!(report.passed());
        let xml = to_junit(&report);
        assert!(xml.contains("failures=\"0\""), "{xml}");
        assert!(xml.contains("errors=\"0\""), "{xml}");
        assert!(
            !xml.contains("<failure") && !xml.contains("<error"),
            "{xml}"
        );
        assert!(
            xml.contains("<skipped message=\"warning: [SHOULD] not met (failed, not a failure of the run): x: expected 1, saw 2\""),
            "{xml}"
        );
        assert_eq!(
            xml.matches("<property name=\"warning\" value=\"true\"/>")
                .count(),
            2,
            "{xml}"
        );
    }

    #[test]
    fn expectation_statuses() {
        let expected = Expected {
            kind: ExpectationKind::KnownFailing,
            pattern: "s/*".into(),
            justification: "bug 9".into(),
            source: "kf.txt:1".into(),
        };
        let mut known = outcome("s/known", Level::Must, Status::KnownFailing);
        known.expected = Some(expected.clone());
        let mut stale = outcome("s/stale", Level::Must, Status::StaleKnownFailing);
        stale.expected = Some(expected);
        stale.message = Some("stale known-failing entry: the case passed".into());
        let mut flaky = outcome("s/flaky", Level::Must, Status::Flaky);
        flaky.previous_attempts = vec![Attempt {
            status: Status::TimedOut,
            message: Some("timed out after 1s".into()),
            duration_ms: 1000,
        }];
        let report = RunReport::new(sample().subject, 0, 1, vec![known, stale, flaky]);
        let xml = to_junit(&report);
        assert!(
            xml.contains(
                "<skipped message=\"known failing (bug 9, kf.txt:1): [MUST] x: expected 1, saw 2\""
            ),
            "{xml}"
        );
        assert!(
            xml.contains("<property name=\"expectation\" value=\"known-failing\"/>"),
            "{xml}"
        );
        assert!(
            xml.contains("<failure message=\"[MUST] stale known-failing entry: the case passed\""),
            "{xml}"
        );
        assert!(
            xml.contains("<flakyError time=\"1.000\" message=\"[MUST] attempt timed-out: timed out after 1s\""),
            "{xml}"
        );
        assert!(
            xml.contains("<property name=\"status\" value=\"flaky\"/>"),
            "{xml}"
        );
        assert_eq!(xml.matches("<failure").count(), 1, "{xml}");
    }
}
