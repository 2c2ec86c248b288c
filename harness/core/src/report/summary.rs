//! Human summaries: a few lines for a terminal, Markdown for a CI step summary.

use crate::runner::{CaseOutcome, Status};

use super::{Counts, RunReport};

fn verdict(report: &RunReport) -> &'static str {
    if report.passed() { "PASS" } else { "FAIL" }
}

/// Failures of the run's cases: failed, errored, timed out, or a stale known-failing entry.
fn failing(c: &Counts) -> usize {
    c.failed + c.errored + c.timed_out + c.stale_known_failing
}

fn tag(status: Status) -> &'static str {
    match status {
        Status::Passed => "PASS",
        Status::Skipped => "SKIP",
        Status::Failed => "FAIL",
        Status::Errored => "ERROR",
        Status::TimedOut => "TIMEOUT",
        Status::KnownFailing => "KNOWN-FAILING",
        Status::Flaky => "FLAKY",
        Status::StaleKnownFailing => "STALE",
    }
}

/// Text for a Markdown table cell: one line, pipes escaped.
pub(super) fn table_cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// Terminal summary: every case that did not pass, then the totals, then a plain
/// `N passed, N failed` line.
pub fn to_text(report: &RunReport) -> String {
    let c = &report.counts;
    let mut s = String::new();
    let roots = root_causes(report);
    for (root, blocked) in &roots {
        s.push_str(&format!(
            "ROOT CAUSE [{}] {} - {} (blocks {blocked} case(s))\n",
            root.level,
            root.name,
            root.message.as_deref().unwrap_or("")
        ));
    }
    let shown = |o: &&CaseOutcome| {
        o.status != Status::Passed && !roots.iter().any(|(r, _)| r.name == o.name)
    };
    for o in report.cases.iter().filter(shown) {
        let (tag, message) = match &o.blocked_by {
            Some(root) => ("BLOCKED", format!("blocked by {root}")),
            None => (tag(o.status), o.message.clone().unwrap_or_default()),
        };
        s.push_str(&format!("{:7} [{}] {} - {message}\n", tag, o.level, o.name));
    }
    let logs = warning_log_lines(report);
    if !logs.is_empty() {
        s.push_str(&format!(
            "plugin log lines at WARN or above ({}):\n",
            logs.len()
        ));
        for (line, cases) in logs.iter().take(MAX_LOG_LINES) {
            s.push_str(&format!("  {line}  ({cases})\n"));
        }
    }
    s.push_str(&format!(
        "{}: {}{} cases: {} passed, {} failed, {} skipped, {} errored, {} timed out, {} known-failing, {} flaky, {} stale known-failing; {} MUST failure(s), {} warning(s) in {:.1} s\n",
        verdict(report),
        lead(&roots),
        c.total,
        c.passed,
        c.failed,
        c.skipped,
        c.errored,
        c.timed_out,
        c.known_failing,
        c.flaky,
        c.stale_known_failing,
        c.must_failures,
        c.warnings,
        report.duration_ms as f64 / 1000.0
    ));
    s.push_str(&format!("{} passed, {} failed\n", c.passed, failing(c)));
    s
}

/// The cases that blocked others, in list order, with how many each blocked.
fn root_causes(report: &RunReport) -> Vec<(&CaseOutcome, usize)> {
    report
        .cases
        .iter()
        .filter_map(|root| {
            let n = report
                .cases
                .iter()
                .filter(|o| o.blocked_by.as_deref() == Some(root.name.as_str()))
                .count();
            (n > 0).then_some((root, n))
        })
        .collect()
}

/// `root cause X (blocks N); ` for the verdict line, empty without blocked cases.
fn lead(roots: &[(&CaseOutcome, usize)]) -> String {
    roots
        .iter()
        .map(|(r, n)| format!("root cause {} (blocks {n}); ", r.name))
        .collect()
}

/// How many distinct plugin log lines the summaries list.
const MAX_LOG_LINES: usize = 40;

/// The distinct plugin log lines at WARN or above, each with the cases that logged it
/// (`name`, or `name and N more`), in the order first seen.
fn warning_log_lines(report: &RunReport) -> Vec<(String, String)> {
    let mut seen: Vec<(String, Vec<&str>)> = Vec::new();
    for o in &report.cases {
        for line in super::warning_logs(&o.notes) {
            let line = line.strip_prefix(super::PLUGIN_LOG_NOTE).unwrap_or(line);
            match seen.iter_mut().find(|(l, _)| l == line) {
                Some((_, cases)) if !cases.contains(&o.name.as_str()) => cases.push(&o.name),
                Some(_) => {}
                None => seen.push((line.to_string(), vec![&o.name])),
            }
        }
    }
    seen.into_iter()
        .map(|(line, cases)| {
            let who = match cases.len() {
                1 => cases[0].to_string(),
                n => format!("{} and {} more", cases[0], n - 1),
            };
            (line, who)
        })
        .collect()
}

fn case_table(s: &mut String, title: &str, cases: &[&CaseOutcome], detail: &str) {
    if cases.is_empty() {
        return;
    }
    s.push_str(&format!(
        "\n### {title} ({})\n\n| case | level | clause | {detail} |\n|---|---|---|---|\n",
        cases.len()
    ));
    for o in cases {
        let text = match (&o.expected, o.status) {
            (Some(e), Status::KnownFailing) => format!(
                "{} — {} ({})",
                o.message.as_deref().unwrap_or(""),
                e.justification,
                e.source
            ),
            _ => o.message.clone().unwrap_or_default(),
        };
        s.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            o.name,
            o.level,
            table_cell(&o.clause),
            table_cell(&text)
        ));
    }
}

/// Markdown summary: totals, a table of counts per suite, then the failures (with their
/// first failed assertion), stale known-failing entries, known-failing and flaky cases.
pub fn to_markdown(report: &RunReport) -> String {
    let c = &report.counts;
    let mut s = format!(
        "## plugin-conformance: {} ({} {})\n\n**{}**: {} cases, {} passed, {} failed, {} skipped, {} errored, {} timed out, {} known-failing, {} flaky, {} stale known-failing ({} MUST failures, {} warnings), {:.1} s\n\n",
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
        c.known_failing,
        c.flaky,
        c.stale_known_failing,
        c.must_failures,
        c.warnings,
        report.duration_ms as f64 / 1000.0
    );
    s.push_str("| suite | cases | passed | failed | skipped | errored | timed out | known-failing | flaky | stale |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (name, sc) in &report.suites {
        s.push_str(&format!(
            "| {name} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            sc.total,
            sc.passed,
            sc.failed,
            sc.skipped,
            sc.errored,
            sc.timed_out,
            sc.known_failing,
            sc.flaky,
            sc.stale_known_failing
        ));
    }
    let with = |pick: fn(Status) -> bool| -> Vec<&CaseOutcome> {
        report
            .cases
            .iter()
            .filter(|o| pick(o.status) && o.blocked_by.is_none())
            .collect()
    };
    let roots = root_causes(report);
    if !roots.is_empty() {
        s.push_str(&format!(
            "\n### Root causes ({})\n\n| case | level | blocks | failure |\n|---|---|---:|---|\n",
            roots.len()
        ));
        for (r, n) in &roots {
            s.push_str(&format!(
                "| `{}` | {} | {n} | {} |\n",
                r.name,
                r.level,
                table_cell(r.message.as_deref().unwrap_or(""))
            ));
        }
    }
    case_table(
        &mut s,
        "Not passing",
        &with(Status::is_failure),
        "first failed assertion or error",
    );
    let blocked: Vec<&CaseOutcome> = report
        .cases
        .iter()
        .filter(|o| o.blocked_by.is_some())
        .collect();
    case_table(&mut s, "Blocked (not run)", &blocked, "blocked by");
    case_table(
        &mut s,
        "Stale known-failing entries",
        &with(|st| st == Status::StaleKnownFailing),
        "entry",
    );
    case_table(
        &mut s,
        "Known failing",
        &with(|st| st == Status::KnownFailing),
        "failure — justification (entry)",
    );
    case_table(
        &mut s,
        "Flaky",
        &with(|st| st == Status::Flaky),
        "retry history",
    );
    let logs = warning_log_lines(report);
    if !logs.is_empty() {
        s.push_str(&format!(
            "\n### Plugin log lines at WARN or above ({})\n\n| line | logged during |\n|---|---|\n",
            logs.len()
        ));
        for (line, cases) in logs.iter().take(MAX_LOG_LINES) {
            s.push_str(&format!(
                "| `{}` | `{}` |\n",
                table_cell(line).replace('`', "'"),
                cases
            ));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expectations::{ExpectationKind, Expected};
    use crate::report::SubjectInfo;
    use crate::report::tests::{outcome, sample};
    use crate::runner::Level;

    #[test]
    fn root_causes_lead_and_blocked_cases_are_listed_apart() {
        let mut r = sample();
        let root = r.cases[1].name.clone();
        let mut blocked = outcome("health/blocked", Level::Must, Status::Failed);
        blocked.blocked_by = Some(root.clone());
        blocked.message = Some(format!("blocked by {root}: x"));
        let mut cases = r.cases.clone();
        cases.push(blocked);
        r = RunReport::new(r.subject.clone(), 0, 1, cases);
        assert_eq!(r.counts.blocked, 1);
        let text = to_text(&r);
        assert!(
            text.starts_with(&format!("ROOT CAUSE [MUST] {root} - ")),
            "{text}"
        );
        assert!(text.contains("BLOCKED [MUST] health/blocked"), "{text}");
        assert!(
            text.contains(&format!("FAIL: root cause {root} (blocks 1); ")),
            "{text}"
        );
        let md = to_markdown(&r);
        let roots_at = md.find("### Root causes (1)").expect("root causes table");
        let blocked_at = md.find("### Blocked (not run) (1)").expect("blocked table");
        assert!(roots_at < blocked_at, "{md}");
    }

    #[test]
    fn plugin_warnings_are_listed_once_with_the_cases_that_logged_them() {
        let mut r = sample();
        for case in r.cases.iter_mut() {
            case.notes = vec![
                "plugin log [WARN] Client is not connected".into(),
                "plugin log [DEBUG] chatter".into(),
                "PluginAPI call: KVGet → ok".into(),
            ];
        }
        r.cases[0].notes.push("plugin log [ERROR] boom k=v".into());
        let md = to_markdown(&r);
        assert!(
            md.contains("### Plugin log lines at WARN or above (2)"),
            "{md}"
        );
        let first = &r.cases[0].name;
        assert!(
            md.contains(&format!(
                "| `[WARN] Client is not connected` | `{first} and {} more` |",
                r.cases.len() - 1
            )),
            "{md}"
        );
        assert!(!md.contains("chatter"), "{md}");
        let text = to_text(&r);
        assert!(text.contains("[ERROR] boom k=v"), "{text}");
    }

    #[test]
    fn text_and_markdown_carry_the_computed_counts() {
        let r = sample();
        let t = to_text(&r);
        assert!(
            t.contains("FAIL: 4 cases: 1 passed, 2 failed, 1 skipped"),
            "{t}"
        );
        assert!(t.contains("FAIL    [MUST] handshake/b"), "{t}");
        assert!(t.ends_with("\n1 passed, 2 failed\n"), "{t}");
        let m = to_markdown(&r);
        assert!(
            m.contains("| handshake | 2 | 1 | 1 | 0 | 0 | 0 | 0 | 0 | 0 |"),
            "{m}"
        );
        assert!(
            m.contains("### Not passing (2)")
                && m.contains("| `handshake/b` | MUST | SPEC §5 | x: expected 1, saw 2 |"),
            "{m}"
        );
        assert!(!m.contains("### Flaky"), "no empty sections: {m}");
    }

    #[test]
    fn expectation_statuses_get_counts_and_sections() {
        let known = |name: &str, status| {
            let mut o = outcome(name, Level::Must, status);
            o.expected = Some(Expected {
                kind: ExpectationKind::KnownFailing,
                pattern: name.into(),
                justification: "bug 7".into(),
                source: "kf.txt:2".into(),
            });
            o
        };
        let r = RunReport::new(
            SubjectInfo {
                kind: "host".into(),
                name: "h".into(),
                version: "1".into(),
            },
            0,
            1,
            vec![
                known("s/known", Status::KnownFailing),
                known("s/stale", Status::StaleKnownFailing),
                outcome("s/flaky", Level::Must, Status::Flaky),
                outcome("s/ok", Level::Must, Status::Passed),
            ],
        );
        let t = to_text(&r);
        assert!(
            t.contains("\nFAIL: 4 cases: 1 passed, 0 failed"),
            "a stale entry fails the run: {t}"
        );
        assert!(
            t.contains("1 known-failing, 1 flaky, 1 stale known-failing"),
            "{t}"
        );
        assert!(t.contains("KNOWN-FAILING [MUST] s/known"), "{t}");
        assert!(t.ends_with("\n1 passed, 1 failed\n"), "{t}");
        let m = to_markdown(&r);
        assert!(
            m.contains("| s | 4 | 1 | 0 | 0 | 0 | 0 | 1 | 1 | 1 |"),
            "{m}"
        );
        assert!(m.contains("### Stale known-failing entries (1)"), "{m}");
        assert!(
            m.contains("### Known failing (1)")
                && m.contains(
                    "| `s/known` | MUST | SPEC §5 | x: expected 1, saw 2 — bug 7 (kf.txt:2) |"
                ),
            "{m}"
        );
        assert!(m.contains("### Flaky (1)"), "{m}");
        assert!(!m.contains("### Not passing"), "{m}");
    }
}
