//! Running a selection of cases and writing the reports: shared by `run`, `host` and
//! `plugin`, so every mode has the same options (expectation lists and retries included),
//! reports and exit codes.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use clap::Args;
use conformance_core::expectations::{self, Expectations};
use conformance_core::report::{self, RunReport, SubjectInfo};
use conformance_core::runner::{self, Case, CaseOutcome, RunOptions};

/// How cases run and where reports go.
#[derive(Args, Debug, Clone)]
pub struct ExecutionArgs {
    /// Cases run at once [default: 8 per core for `run` and `host`, whose fake plugins
    /// mostly wait; one per core for `plugin`, whose real interpreter's start is CPU-bound].
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Directory for the reports not given a path of their own.
    #[arg(long, default_value = "reports")]
    pub out_dir: PathBuf,
    /// JUnit XML report [default: OUT_DIR/conformance.junit.xml].
    #[arg(long, value_name = "PATH")]
    pub junit: Option<PathBuf>,
    /// JSON report [default: OUT_DIR/conformance.json].
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
    /// Markdown summary [default: OUT_DIR/summary.md].
    #[arg(long, value_name = "PATH")]
    pub summary: Option<PathBuf>,
    /// Cases expected to fail: one glob per line, each followed by `# justification`.
    /// They still run; failing is reported as known-failing, passing fails the run (stale
    /// entry). An entry that matches no selected case is an error.
    #[arg(long, value_name = "FILE")]
    pub known_failing: Option<PathBuf>,
    /// Cases known to be flaky (same format): retried when they fail (see --retries,
    /// default 2 for these), reported as flaky when a retry passes.
    #[arg(long, value_name = "FILE")]
    pub known_flaky: Option<PathBuf>,
    /// Retry a failed case up to N times; one that passes on a retry is reported as flaky,
    /// never as passed [default: 0, 2 for known-flaky cases].
    #[arg(long, value_name = "N")]
    pub retries: Option<u32>,
}

/// Whether to stay quiet: when `CI` is set (non-empty and not `false`) or stderr is not a
/// terminal.
fn quiet(ci: Option<&str>, stderr_is_terminal: bool) -> bool {
    ci.is_some_and(|v| !v.is_empty() && v != "false") || !stderr_is_terminal
}

/// One progress line, rewritten per finished case, on a terminal; nothing in CI or when
/// piped.
fn progress(total: usize) -> Option<runner::Progress> {
    let ci = std::env::var("CI").ok();
    if quiet(ci.as_deref(), std::io::stderr().is_terminal()) {
        return None;
    }
    let done = Arc::new(AtomicUsize::new(0));
    Some(Arc::new(move |o: &CaseOutcome| {
        let n = done.fetch_add(1, Ordering::SeqCst) + 1;
        eprint!("\r\x1b[2K[{n}/{total}] {} {}", o.status, o.name);
        if n == total {
            eprintln!();
        }
    }))
}

/// Runs `cases` against `subject` with the expectation lists and retries, writes the
/// three reports, prints the summary; exit 0 only when every MUST case passed (or failed
/// as known) and no known-failing entry is stale. A bad expectation list is an error
/// before any case runs.
pub async fn execute(
    cases: Vec<Case>,
    subject: SubjectInfo,
    args: &ExecutionArgs,
) -> anyhow::Result<ExitCode> {
    // Scratch directories of earlier runs that were killed (SIGKILL cannot clean up).
    let swept = conformance_core::scratch::sweep_stale();
    if swept > 0 {
        eprintln!("removed {swept} scratch director(ies) left by killed runs");
    }
    let lists = Expectations::load(args.known_failing.as_deref(), args.known_flaky.as_deref())?;
    let expected = lists.resolve(cases.iter().map(|c| c.name.as_str()))?;
    let retries: std::collections::HashMap<String, u32> = cases
        .iter()
        .zip(&expected)
        .map(|(c, e)| {
            (
                c.name.clone(),
                expectations::retries_for(e.as_ref(), args.retries),
            )
        })
        .collect();
    let total = cases.len();
    let started_at = conformance_core::clock::now_us();
    let options = RunOptions {
        jobs: args.jobs.unwrap_or_else(runner::default_jobs).max(1),
    };
    let (outcomes, elapsed) = runner::run_cases_with_retries(
        cases,
        &options,
        |c| retries.get(&c.name).copied().unwrap_or(0),
        progress(total),
    )
    .await?;
    let mut outcomes: Vec<_> = outcomes
        .into_iter()
        .zip(expected)
        .map(|(o, e)| expectations::apply(o, e))
        .collect();
    expectations::inherit_blocked(&mut outcomes);
    let report = RunReport::new(subject, started_at, elapsed.as_millis() as u64, outcomes);
    let junit = args
        .junit
        .clone()
        .unwrap_or_else(|| args.out_dir.join("conformance.junit.xml"));
    let json = args
        .json
        .clone()
        .unwrap_or_else(|| args.out_dir.join("conformance.json"));
    let summary = args
        .summary
        .clone()
        .unwrap_or_else(|| args.out_dir.join("summary.md"));
    RunReport::write(&junit, &report::to_junit(&report))?;
    RunReport::write(&json, &report.to_json())?;
    RunReport::write(&summary, &report::to_markdown(&report))?;
    print!("{}", report::to_text(&report));
    println!(
        "reports: {} {} {}",
        junit.display(),
        json.display(),
        summary.display()
    );
    Ok(if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

#[cfg(test)]
mod tests {
    use super::quiet;

    #[test]
    fn quiet_in_ci_or_off_a_terminal() {
        assert!(!quiet(None, true), "a terminal without CI gets progress");
        assert!(!quiet(Some(""), true), "an empty CI is unset");
        assert!(!quiet(Some("false"), true));
        assert!(quiet(Some("true"), true));
        assert!(quiet(Some("1"), true));
        assert!(quiet(None, false), "stderr piped");
        assert!(quiet(Some("false"), false));
    }
}
