//! Human summaries: a few lines for a terminal, Markdown for a CI step summary.

use crate::runner::Status;

use super::RunReport;

fn verdict(report: &RunReport) -> &'static str {
    if report.passed() { "PASS" } else { "FAIL" }
}

/// Terminal summary: totals, then every case that did not pass.
pub fn to_text(report: &RunReport) -> String {
    let c = &report.counts;
    let mut s = String::new();
    for o in report.cases.iter().filter(|o| o.status != Status::Passed) {
        let tag = match o.status {
            Status::Skipped => "SKIP",
            Status::Failed => "FAIL",
            Status::Errored => "ERROR",
            Status::TimedOut => "TIMEOUT",
            Status::Passed => unreachable!(),
        };
        s.push_str(&format!(
            "{tag:7} [{}] {} - {}\n",
            o.level,
            o.name,
            o.message.as_deref().unwrap_or("")
        ));
    }
    s.push_str(&format!(
        "{}: {} cases: {} passed, {} failed, {} skipped, {} errored, {} timed out; {} MUST failure(s), {} warning(s) in {:.1} s\n",
        verdict(report),
        c.total,
        c.passed,
        c.failed,
        c.skipped,
        c.errored,
        c.timed_out,
        c.must_failures,
        c.warnings,
        report.duration_ms as f64 / 1000.0
    ));
    s.push_str(&format!(
        "{} passed, {} failed\n",
        c.passed,
        c.total - c.passed - c.skipped
    ));
    s
}

/// Markdown summary with a table per suite and the failures listed.
pub fn to_markdown(report: &RunReport) -> String {
    let c = &report.counts;
    let mut s = format!(
        "## plugin-conformance: {} ({} {})\n\n**{}**: {} cases, {} passed, {} failed, {} skipped, {} errored, {} timed out ({} MUST failures, {} warnings), {:.1} s\n\n",
        report.subject.name,
        report.subject.kind,
        report.subject.version,
        verdict(report),
        c.total,
        c.passed,
        c.failed,
        c.skipped,
        c.errored,
        c.timed_out,
        c.must_failures,
        c.warnings,
        report.duration_ms as f64 / 1000.0
    );
    s.push_str("| suite | cases | passed | failed | skipped | errored | timed out |\n|---|---:|---:|---:|---:|---:|---:|\n");
    for (name, sc) in &report.suites {
        s.push_str(&format!(
            "| {name} | {} | {} | {} | {} | {} | {} |\n",
            sc.total, sc.passed, sc.failed, sc.skipped, sc.errored, sc.timed_out
        ));
    }
    let problems: Vec<_> = report
        .cases
        .iter()
        .filter(|o| o.status.is_failure())
        .collect();
    if !problems.is_empty() {
        s.push_str("\n### Not passing\n\n| case | level | clause | message |\n|---|---|---|---|\n");
        for o in problems {
            s.push_str(&format!(
                "| `{}` | {} | {} | {} |\n",
                o.name,
                o.level,
                o.clause,
                o.message
                    .as_deref()
                    .unwrap_or("")
                    .replace('|', "\\|")
                    .replace('\n', " ")
            ));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_markdown_carry_the_computed_counts() {
        let r = crate::report::tests::sample();
        let t = to_text(&r);
        assert!(
            t.contains("FAIL: 4 cases: 1 passed, 2 failed, 1 skipped"),
            "{t}"
        );
        assert!(t.contains("FAIL    [MUST] handshake/b"), "{t}");
        let m = to_markdown(&r);
        assert!(m.contains("| handshake | 2 | 1 | 1 | 0 | 0 | 0 |"), "{m}");
        assert!(m.contains("`handshake/b`"), "{m}");
    }
}
