//! Comparing two JSON reports (`plugin-conformance diff OLD NEW`), so a CI job can fail
//! on what got worse instead of on failures that were already there.
//!
//! A case *passes* when the case itself passed: status `passed`, or `stale_known_failing`
//! (it passed, only its known-failing entry is wrong). `flaky` and `known_failing` do not
//! pass. A regression is a case that passed in OLD and does not in NEW; a fix is the
//! reverse. Cases only in NEW are new, cases only in OLD are removed; other status
//! changes (e.g. `failed` → `timed_out`) are listed but are neither.
//!
//! Behaviour is compared too ([`super::answer_diff`]): a request a case sent in both runs
//! whose answer changed fails the diff like a regression, unless accepted with a reason.

use std::collections::BTreeMap;

use crate::runner::{CaseOutcome, Level, Status};

use super::RunReport;
use super::answer_diff::{AcceptedAnswerChanges, AnswerComparison, compare};

/// One answer change as text: its headline and the lines under it.
type AnswerBlock = (String, Vec<String>);

fn passes(status: Status) -> bool {
    matches!(status, Status::Passed | Status::StaleKnownFailing)
}

/// One case that differs between the two reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseChange {
    pub name: String,
    pub level: Level,
    /// `None` when the case is not in OLD.
    pub old: Option<Status>,
    /// `None` when the case is not in NEW.
    pub new: Option<Status>,
    /// NEW's message (OLD's for a removed case).
    pub message: Option<String>,
}

impl CaseChange {
    fn line(&self) -> String {
        let transition = match (self.old, self.new) {
            (Some(o), Some(n)) => format!("{o} -> {n}"),
            (None, Some(n)) => n.to_string(),
            (Some(o), None) => format!("was {o}"),
            (None, None) => String::new(),
        };
        let message = self
            .message
            .as_deref()
            .map(|m| format!(": {}", m.replace('\n', " ")))
            .unwrap_or_default();
        format!("[{}] {}: {transition}{message}", self.level, self.name)
    }
}

/// What changed from OLD to NEW.
#[derive(Debug, Clone, Default)]
pub struct ReportDiff {
    pub regressions: Vec<CaseChange>,
    pub fixes: Vec<CaseChange>,
    pub added: Vec<CaseChange>,
    pub removed: Vec<CaseChange>,
    /// Status changes that are neither regressions nor fixes.
    pub other: Vec<CaseChange>,
    /// Cases in both reports with the same status.
    pub unchanged: usize,
    /// Differences of subject or contract worth a line, e.g. comparing two hosts.
    pub notes: Vec<String>,
    /// Answers to the same requests that changed.
    pub answers: AnswerComparison,
}

impl ReportDiff {
    /// Compares two reports case by case (by name), in NEW's order, then OLD's; every
    /// answer change is unexpected.
    pub fn new(old: &RunReport, new: &RunReport) -> Self {
        Self::accepting(old, new, &AcceptedAnswerChanges::default())
    }

    /// As [`ReportDiff::new`], with the answer changes `accept` expects.
    pub fn accepting(old: &RunReport, new: &RunReport, accept: &AcceptedAnswerChanges) -> Self {
        let mut diff = ReportDiff::default();
        if old.subject != new.subject {
            diff.notes.push(format!(
                "the subjects differ: OLD is {} {} {}, NEW is {} {} {}",
                old.subject.kind,
                old.subject.name,
                old.subject.version,
                new.subject.kind,
                new.subject.name,
                new.subject.version
            ));
        }
        if old.contract_version != new.contract_version {
            diff.notes.push(format!(
                "the contract versions differ: OLD {}, NEW {}",
                old.contract_version, new.contract_version
            ));
        }
        let olds: BTreeMap<&str, &CaseOutcome> =
            old.cases.iter().map(|c| (c.name.as_str(), c)).collect();
        let news: BTreeMap<&str, &CaseOutcome> =
            new.cases.iter().map(|c| (c.name.as_str(), c)).collect();
        for n in &new.cases {
            let change = |old: Option<Status>| CaseChange {
                name: n.name.clone(),
                level: n.level,
                old,
                new: Some(n.status),
                message: n.message.clone(),
            };
            match olds.get(n.name.as_str()) {
                None => diff.added.push(change(None)),
                Some(o) if o.status == n.status => diff.unchanged += 1,
                Some(o) => {
                    let list = match (passes(o.status), passes(n.status)) {
                        (true, false) => &mut diff.regressions,
                        (false, true) => &mut diff.fixes,
                        _ => &mut diff.other,
                    };
                    list.push(change(Some(o.status)));
                }
            }
        }
        for o in old
            .cases
            .iter()
            .filter(|o| !news.contains_key(o.name.as_str()))
        {
            diff.removed.push(CaseChange {
                name: o.name.clone(),
                level: o.level,
                old: Some(o.status),
                new: None,
                message: o.message.clone(),
            });
        }
        diff.answers = compare(&olds, &new.cases, accept);
        for glob in accept.unused(&diff.answers.changes) {
            diff.notes.push(format!(
                "--accept-answer-changes {glob:?} matched no answer change"
            ));
        }
        diff
    }

    pub fn has_regressions(&self) -> bool {
        !self.regressions.is_empty()
    }

    /// Answer changes no `--accept-answer-changes` entry expects.
    pub fn unexpected_answer_changes(&self) -> usize {
        self.answers
            .changes
            .iter()
            .filter(|c| c.accepted.is_none())
            .count()
    }

    /// Whether the diff fails: a regression or an unexpected answer change.
    pub fn fails(&self) -> bool {
        self.has_regressions() || self.unexpected_answer_changes() > 0
    }

    /// The non-empty answer sections, unexpected changes first: a title and the blocks.
    fn answer_sections(&self) -> Vec<(&'static str, Vec<AnswerBlock>)> {
        [("Answer changes", false), ("Accepted answer changes", true)]
            .into_iter()
            .map(|(title, accepted)| (title, self.answer_blocks(accepted)))
            .filter(|(_, blocks)| !blocks.is_empty())
            .collect()
    }

    /// The answer changes as text blocks: a headline, then one indented line per changed
    /// field, then the acceptance if any.
    fn answer_blocks(&self, accepted: bool) -> Vec<AnswerBlock> {
        self.answers
            .changes
            .iter()
            .filter(|c| c.accepted.is_some() == accepted)
            .map(|c| {
                let mut lines = c.field_lines();
                if let Some((glob, reason)) = &c.accepted {
                    lines.push(format!("accepted by {glob:?}: {reason}"));
                }
                (c.headline(), lines)
            })
            .collect()
    }

    fn sections(&self) -> [(&'static str, &[CaseChange]); 5] {
        [
            ("Regressions", &self.regressions),
            ("Fixes", &self.fixes),
            ("New cases", &self.added),
            ("Removed cases", &self.removed),
            ("Other status changes", &self.other),
        ]
    }

    /// One line of counts.
    pub fn counts_line(&self) -> String {
        let plural =
            |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        let accepted = self.answers.changes.len() - self.unexpected_answer_changes();
        format!(
            "{}, {}, {}, {}, {}, {} unchanged; {} ({accepted} accepted) of {} answers compared, {} not comparable",
            plural(self.regressions.len(), "regression", "regressions"),
            plural(self.fixes.len(), "fix", "fixes"),
            plural(self.added.len(), "new case", "new cases"),
            plural(self.removed.len(), "removed case", "removed cases"),
            plural(self.other.len(), "other change", "other changes"),
            self.unchanged,
            plural(
                self.answers.changes.len(),
                "answer change",
                "answer changes"
            ),
            self.answers.same + self.answers.changes.len(),
            self.answers.not_compared
        )
    }

    /// For a terminal: the counts, then each non-empty section.
    pub fn to_text(&self, old_label: &str, new_label: &str) -> String {
        let mut s = format!("diff {old_label} -> {new_label}: {}\n", self.counts_line());
        for note in &self.notes {
            s.push_str(&format!("note: {note}\n"));
        }
        for (title, blocks) in self.answer_sections() {
            s.push_str(&format!("{title} ({}):\n", blocks.len()));
            for (headline, lines) in blocks {
                s.push_str(&format!("  {headline}\n"));
                for line in lines {
                    s.push_str(&format!("      {line}\n"));
                }
            }
        }
        for (title, changes) in self.sections() {
            if changes.is_empty() {
                continue;
            }
            s.push_str(&format!("{title} ({}):\n", changes.len()));
            for c in changes {
                s.push_str(&format!("  {}\n", c.line()));
            }
        }
        s
    }

    /// For a CI step summary: the same as Markdown.
    pub fn to_markdown(&self, old_label: &str, new_label: &str) -> String {
        let verdict = if self.has_regressions() {
            "REGRESSED"
        } else if self.fails() {
            "BEHAVIOUR CHANGED"
        } else {
            "NO REGRESSION"
        };
        let mut s = format!(
            "## plugin-conformance diff: `{old_label}` → `{new_label}`\n\n**{verdict}**: {}\n",
            self.counts_line()
        );
        for note in &self.notes {
            s.push_str(&format!("\n> {note}\n"));
        }
        for (title, blocks) in self.answer_sections() {
            s.push_str(&format!("\n### {title} ({})\n\n", blocks.len()));
            for (headline, lines) in blocks {
                s.push_str(&format!("- {}\n", super::summary::table_cell(&headline)));
                for line in lines {
                    s.push_str(&format!("  - `{}`\n", line.replace('`', "'")));
                }
            }
        }
        for (title, changes) in self.sections() {
            if changes.is_empty() {
                continue;
            }
            s.push_str(&format!(
                "\n### {title} ({})\n\n| case | level | old | new | message |\n|---|---|---|---|---|\n",
                changes.len()
            ));
            for c in changes {
                let status = |s: Option<Status>| s.map_or("—".to_string(), |s| s.to_string());
                s.push_str(&format!(
                    "| `{}` | {} | {} | {} | {} |\n",
                    c.name,
                    c.level,
                    status(c.old),
                    status(c.new),
                    super::summary::table_cell(c.message.as_deref().unwrap_or(""))
                ));
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::{outcome, sample};

    fn with(cases: Vec<CaseOutcome>) -> RunReport {
        let s = sample();
        RunReport::new(s.subject, 0, 1, cases)
    }

    #[test]
    fn regressions_fixes_new_removed_and_other_changes() {
        let old = with(vec![
            outcome("a/regresses", Level::Must, Status::Passed),
            outcome("a/fixed", Level::Must, Status::Failed),
            outcome("a/same", Level::Must, Status::Passed),
            outcome("a/removed", Level::Should, Status::Passed),
            outcome("a/worse-kind", Level::Must, Status::Failed),
            outcome("a/now-flaky", Level::Must, Status::Passed),
            outcome("a/was-known", Level::Must, Status::KnownFailing),
        ]);
        let new = with(vec![
            outcome("a/regresses", Level::Must, Status::Failed),
            outcome("a/fixed", Level::Must, Status::Passed),
            outcome("a/same", Level::Must, Status::Passed),
            outcome("a/worse-kind", Level::Must, Status::TimedOut),
            outcome("a/now-flaky", Level::Must, Status::Flaky),
            outcome("a/was-known", Level::Must, Status::StaleKnownFailing),
            outcome("b/new", Level::Must, Status::Failed),
        ]);
        let d = ReportDiff::new(&old, &new);
        let names = |l: &[CaseChange]| l.iter().map(|c| c.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(&d.regressions), ["a/regresses", "a/now-flaky"]);
        assert_eq!(names(&d.fixes), ["a/fixed", "a/was-known"]);
        assert_eq!(names(&d.added), ["b/new"]);
        assert_eq!(names(&d.removed), ["a/removed"]);
        assert_eq!(names(&d.other), ["a/worse-kind"]);
        assert_eq!(d.unchanged, 1);
        assert!(d.has_regressions());

        let text = d.to_text("old.json", "new.json");
        assert!(
            text.starts_with(
                "diff old.json -> new.json: 2 regressions, 2 fixes, 1 new case, 1 removed case, 1 other change, 1 unchanged; 0 answer changes (0 accepted) of 0 answers compared, 0 not comparable\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "Regressions (2):\n  [MUST] a/regresses: passed -> failed: x: expected 1, saw 2\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("  [SHOULD] a/removed: was passed\n"),
            "{text}"
        );
        let md = d.to_markdown("old.json", "new.json");
        assert!(md.contains("**REGRESSED**"), "{md}");
        assert!(
            md.contains("| `a/regresses` | MUST | passed | failed | x: expected 1, saw 2 |"),
            "{md}"
        );
        assert!(md.contains("| `b/new` | MUST | — | failed |"), "{md}");
    }

    #[test]
    fn identical_reports_have_no_regression() {
        let d = ReportDiff::new(&sample(), &sample());
        assert!(!d.has_regressions());
        assert_eq!(d.unchanged, 4);
        assert!(d.notes.is_empty());
        assert!(d.to_markdown("a", "b").contains("**NO REGRESSION**"));
    }

    #[test]
    fn a_different_subject_is_noted() {
        let mut other = sample();
        other.subject.name = "another host".into();
        let d = ReportDiff::new(&sample(), &other);
        assert_eq!(d.notes.len(), 1);
        assert!(d.to_text("a", "b").contains("note: the subjects differ"));
    }
}
