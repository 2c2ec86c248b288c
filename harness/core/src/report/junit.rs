//! JUnit XML through quick-junit: one `<testsuite>` per suite, `classname` = suite,
//! `name` = the case name, the first failed assertion as the failure message, and every
//! assertion in the failure text so CI shows the whole checklist.

use std::time::Duration;

use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

use super::RunReport;
use crate::runner::{CaseOutcome, Status};

fn checklist(o: &CaseOutcome) -> String {
    let mut s = format!("[{}] {} ({})\n", o.level, o.summary, o.clause);
    for a in &o.assertions {
        let mark = if a.passed { "ok  " } else { "FAIL" };
        s.push_str(&format!(
            "{mark} {}: expected {}, saw {}\n",
            a.name, a.expected, a.seen
        ));
    }
    s
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
            let mut status = match o.status {
                Status::Passed => TestCaseStatus::success(),
                Status::Skipped => TestCaseStatus::skipped(),
                Status::Failed => TestCaseStatus::non_success(NonSuccessKind::Failure),
                Status::Errored | Status::TimedOut => {
                    TestCaseStatus::non_success(NonSuccessKind::Error)
                }
            };
            if let Some(message) = &o.message {
                status.set_message(format!("[{}] {message}", o.level));
            }
            if o.status.is_failure() {
                status.set_description(checklist(o));
            }
            let mut case = TestCase::new(o.name.as_str(), status);
            case.set_classname(suite_name.as_str());
            case.set_time(Duration::from_millis(o.duration_ms));
            case.set_assertions(o.assertions.len());
            case.add_property(Property::new("level", o.level.to_string()));
            case.add_property(Property::new("clause", o.clause.as_str()));
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

    #[test]
    fn suites_cases_and_failure_messages() {
        let xml = to_junit(&crate::report::tests::sample());
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
        assert!(
            xml.contains("name=\"subject.name\" value=\"reference host\""),
            "{xml}"
        );
    }
}
