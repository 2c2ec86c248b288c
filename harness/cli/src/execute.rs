//! Running a selection of cases and writing the reports: shared by `run`, `host` and
//! `plugin`, so every mode has the same options, reports and exit codes.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use clap::Args;
use conformance_core::report::{self, RunReport, SubjectInfo};
use conformance_core::runner::{self, Case, CaseOutcome, RunOptions};

/// How cases run and where reports go.
#[derive(Args, Debug, Clone)]
pub struct ExecutionArgs {
    /// Cases run at once.
    #[arg(long, default_value_t = runner::default_jobs())]
    pub jobs: usize,
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
}

/// One progress line per finished case on a terminal; nothing in CI or when piped.
fn progress(total: usize) -> Option<runner::Progress> {
    let quiet = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false")
        || !std::io::stderr().is_terminal();
    if quiet {
        return None;
    }
    let done = Arc::new(AtomicUsize::new(0));
    Some(Arc::new(move |o: &CaseOutcome| {
        let n = done.fetch_add(1, Ordering::SeqCst) + 1;
        eprint!("\r\x1b[2K[{n}/{total}] {:?} {}", o.status, o.name);
        if n == total {
            eprintln!();
        }
    }))
}

/// Runs `cases` against `subject`, writes the three reports, prints the summary; exit 0
/// only when every MUST case passed.
pub async fn execute(
    cases: Vec<Case>,
    subject: SubjectInfo,
    args: &ExecutionArgs,
) -> anyhow::Result<ExitCode> {
    let total = cases.len();
    let started_at = conformance_core::clock::now_us();
    let options = RunOptions { jobs: args.jobs };
    let (outcomes, elapsed) = runner::run_cases(cases, &options, progress(total)).await?;
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
