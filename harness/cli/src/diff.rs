//! `plugin-conformance diff OLD.json NEW.json`: what changed between two JSON reports.
//! Exit 1 on any regression or unexpected answer change, 0 otherwise; an unreadable or invalid report is an error
//! (exit 2, naming the file). The comparison itself is `conformance_core::report::diff`.

use std::path::Path;
use std::process::ExitCode;

use conformance_core::report::{AcceptedAnswerChanges, ReportDiff, RunReport};

/// Compares the reports, prints the differences, writes them as Markdown to `markdown`
/// when given.
pub fn diff(
    old: &Path,
    new: &Path,
    markdown: Option<&Path>,
    accept: &[String],
) -> anyhow::Result<ExitCode> {
    let accept = AcceptedAnswerChanges::parse(accept)?;
    let old_report = RunReport::read(old)?;
    let new_report = RunReport::read(new)?;
    let diff = ReportDiff::accepting(&old_report, &new_report, &accept);
    let (old_label, new_label) = (old.display().to_string(), new.display().to_string());
    print!("{}", diff.to_text(&old_label, &new_label));
    if let Some(path) = markdown {
        RunReport::write(path, &diff.to_markdown(&old_label, &new_label))
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    }
    Ok(if diff.fails() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
