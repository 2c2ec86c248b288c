//! Running cases: filters, parallel execution with per-case timeouts, and outcomes.

mod case;
mod filter;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use case::{Assertion, Case, CaseFuture, Ctx, DEFAULT_TIMEOUT, Level, Subject};
pub use filter::{Filter, FilterError};
use serde::{Deserialize, Serialize};

/// How a case ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Every assertion passed (and there was at least one).
    Passed,
    /// An assertion failed.
    Failed,
    /// Not applicable, with a reason.
    Skipped,
    /// The case could not be carried out, or checked nothing.
    Errored,
    /// The case ran past its timeout.
    TimedOut,
}

impl Status {
    pub fn is_failure(self) -> bool {
        matches!(self, Status::Failed | Status::Errored | Status::TimedOut)
    }
}

/// The outcome of one case.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaseOutcome {
    pub name: String,
    pub suite: String,
    pub level: Level,
    pub clause: String,
    pub summary: String,
    pub subject: Subject,
    pub status: Status,
    /// The first failed assertion, the error, or the skip reason.
    pub message: Option<String>,
    pub duration_ms: u64,
    pub assertions: Vec<Assertion>,
    /// What the subject did during the case (API calls, plugin log lines...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// Runs one case in `scratch_root/<dir_name>` with its timeout. The case's future is
/// dropped on timeout, which kills whatever processes it owns.
pub async fn run_case(case: &Case, scratch_root: &Path, dir_name: &str) -> CaseOutcome {
    // Exclusive cases take the write side; tokio's lock is fair, so once one waits no new
    // case starts, and it runs when the running ones are done.
    static EXCLUSIVE: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());
    let (_shared, _alone) = if case.exclusive {
        (None, Some(EXCLUSIVE.write().await))
    } else {
        (Some(EXCLUSIVE.read().await), None)
    };
    let scratch = scratch_root.join(dir_name);
    let started = Instant::now();
    let made = std::fs::create_dir_all(&scratch);
    let ctx = Ctx::new(scratch.clone());
    let result = match made {
        Ok(()) => tokio::time::timeout(case.timeout, case.start(ctx.clone())).await,
        Err(e) => Ok(Err(anyhow::anyhow!(
            "cannot create the case directory: {e}"
        ))),
    };
    let _ = std::fs::remove_dir_all(&scratch);
    let assertions = ctx.assertions();
    let first_failed = assertions
        .iter()
        .find(|a| !a.passed)
        .map(|a| format!("{}: expected {}, saw {}", a.name, a.expected, a.seen));
    let (status, message) = match result {
        Err(_) => (
            Status::TimedOut,
            Some(format!(
                "timed out after {:?}{}",
                case.timeout,
                first_failed.map(|f| format!("; {f}")).unwrap_or_default()
            )),
        ),
        // A body that stops after a failed assertion failed; one that stops without
        // having found a failure could not be carried out.
        Ok(Err(e)) => match (first_failed, ctx.skipped()) {
            (Some(f), _) => (Status::Failed, Some(f)),
            (None, Some(reason)) => (Status::Skipped, Some(reason)),
            (None, None) => (Status::Errored, Some(format!("{e:#}"))),
        },
        Ok(Ok(())) => match (ctx.skipped(), first_failed) {
            (_, Some(f)) => (Status::Failed, Some(f)),
            (Some(reason), None) => (Status::Skipped, Some(reason)),
            (None, None) if assertions.is_empty() => (
                Status::Errored,
                Some("the case recorded no assertion, so it checked nothing".into()),
            ),
            (None, None) => (Status::Passed, None),
        },
    };
    CaseOutcome {
        name: case.name.clone(),
        suite: case.suite().to_string(),
        level: case.level,
        clause: case.clause.clone(),
        summary: case.summary.clone(),
        subject: case.subject,
        status,
        message,
        duration_ms: started.elapsed().as_millis() as u64,
        assertions,
        notes: ctx.notes(),
    }
}

/// Options of a run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Cases run at once.
    pub jobs: usize,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            jobs: default_jobs(),
        }
    }
}

/// Cases spend most of their time waiting on processes and timers, so several per core.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get()) * 8
}

/// Progress callback: called once per finished case.
pub type Progress = Arc<dyn Fn(&CaseOutcome) + Send + Sync>;

/// Runs the cases in parallel and returns outcomes in the cases' order. All case
/// directories live in one temporary directory that is removed before this returns.
pub async fn run_cases(
    cases: Vec<Case>,
    options: &RunOptions,
    progress: Option<Progress>,
) -> anyhow::Result<(Vec<CaseOutcome>, Duration)> {
    let root = tempfile::Builder::new().prefix("pc-").tempdir()?;
    let started = Instant::now();
    let limit = Arc::new(tokio::sync::Semaphore::new(options.jobs.max(1)));
    let mut tasks = Vec::with_capacity(cases.len());
    for (i, case) in cases.into_iter().enumerate() {
        let limit = limit.clone();
        let root = root.path().to_path_buf();
        let progress = progress.clone();
        tasks.push(tokio::spawn(async move {
            let _permit = limit.acquire_owned().await.expect("semaphore open");
            let outcome = run_case(&case, &root, &format!("c{i}")).await;
            if let Some(p) = progress {
                p(&outcome);
            }
            outcome
        }));
    }
    let mut outcomes = Vec::with_capacity(tasks.len());
    for task in tasks {
        outcomes.push(task.await?);
    }
    let elapsed = started.elapsed();
    root.close()?;
    Ok((outcomes, elapsed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn statuses_follow_assertions_errors_skips_and_timeouts() {
        let cases = vec![
            Case::new("t/pass", Level::Must, "x", "x", |ctx| async move {
                ctx.eq("one", 1, 1);
                Ok(())
            }),
            Case::new("t/fail", Level::Must, "x", "x", |ctx| async move {
                ctx.eq("one", 1, 1);
                ctx.eq("two", 2, 3);
                Ok(())
            }),
            Case::new(
                "t/empty",
                Level::Must,
                "x",
                "x",
                |_ctx| async move { Ok(()) },
            ),
            Case::new("t/skip", Level::May, "x", "x", |ctx| async move {
                ctx.skip("not applicable");
                Ok(())
            }),
            Case::new("t/error", Level::Must, "x", "x", |_ctx| async move {
                anyhow::bail!("setup broke")
            }),
            Case::new(
                "t/skip-then-stop",
                Level::Must,
                "x",
                "x",
                |ctx| async move {
                    ctx.skip("python is missing");
                    anyhow::bail!("cannot go on")
                },
            ),
            Case::new(
                "t/fail-then-stop",
                Level::Must,
                "x",
                "x",
                |ctx| async move {
                    ctx.eq("started", true, false);
                    anyhow::bail!("cannot go on")
                },
            ),
            Case::new("t/slow", Level::Must, "x", "x", |ctx| async move {
                ctx.eq("first", 1, 1);
                std::future::pending::<()>().await;
                Ok(())
            })
            .timeout(Duration::from_millis(50)),
        ];
        let (outcomes, _) = run_cases(cases, &RunOptions::default(), None)
            .await
            .unwrap();
        let statuses: Vec<Status> = outcomes.iter().map(|o| o.status).collect();
        assert_eq!(
            statuses,
            vec![
                Status::Passed,
                Status::Failed,
                Status::Errored,
                Status::Skipped,
                Status::Errored,
                Status::Skipped,
                Status::Failed,
                Status::TimedOut
            ]
        );
        assert_eq!(
            outcomes[1].message.as_deref(),
            Some("two: expected 2, saw 3")
        );
        assert_eq!(outcomes[7].assertions.len(), 1);
    }
}
