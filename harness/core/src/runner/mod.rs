//! Running cases: filters, parallel execution with per-case timeouts, retries, and
//! outcomes.

mod answer;
mod case;
mod expected;
mod filter;

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use answer::AnswerSnapshot;
pub use case::{Assertion, Case, CaseFuture, Ctx, DEFAULT_TIMEOUT, Level, Subject, Void};
pub use expected::{ExpectationKind, Expected};
pub(crate) use filter::compile as compile_glob;
pub use filter::{Filter, FilterError};
use serde::{Deserialize, Serialize};

/// How a case ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Every assertion passed (and there was at least one), on the first attempt.
    Passed,
    /// An assertion failed.
    Failed,
    /// Not applicable, with a reason.
    Skipped,
    /// The case could not be carried out, or checked nothing.
    Errored,
    /// The case ran past its timeout.
    TimedOut,
    /// Listed as known-failing, and it failed, errored or timed out as expected: not a
    /// failure of the run.
    KnownFailing,
    /// Failed, then passed on a retry: not a failure of the run, never counted as passed.
    Flaky,
    /// Listed as known-failing, but it passed: the entry is stale and the run fails.
    StaleKnownFailing,
}

impl Status {
    /// A failure of the subject: counts against the run at MUST level.
    pub fn is_failure(self) -> bool {
        matches!(self, Status::Failed | Status::Errored | Status::TimedOut)
    }

    /// Every status, in report order.
    pub const ALL: [Status; 8] = [
        Status::Passed,
        Status::Failed,
        Status::Skipped,
        Status::Errored,
        Status::TimedOut,
        Status::KnownFailing,
        Status::Flaky,
        Status::StaleKnownFailing,
    ];
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Passed => "passed",
            Status::Failed => "failed",
            Status::Skipped => "skipped",
            Status::Errored => "errored",
            Status::TimedOut => "timed-out",
            Status::KnownFailing => "known-failing",
            Status::Flaky => "flaky",
            Status::StaleKnownFailing => "stale-known-failing",
        })
    }
}

/// One earlier attempt of a retried case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    pub status: Status,
    pub message: Option<String>,
    pub duration_ms: u64,
}

/// The outcome of one case.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaseOutcome {
    pub name: String,
    pub suite: String,
    pub level: Level,
    pub clause: String,
    /// The text of each clause cited, quoted from `docs/SPEC.md` with its link, one per
    /// line, so that a failure explains itself.
    #[serde(default)]
    pub clause_text: String,
    pub summary: String,
    /// Where the case's expectations come from upstream (path, function or test, commit).
    #[serde(default)]
    pub provenance: Vec<String>,
    pub subject: Subject,
    pub status: Status,
    /// The first failed assertion, the error, or the skip reason.
    pub message: Option<String>,
    /// Every attempt included.
    pub duration_ms: u64,
    /// The assertions of the last attempt.
    pub assertions: Vec<Assertion>,
    /// What the subject did during the case (API calls, plugin log lines...).
    #[serde(default)]
    pub notes: Vec<String>,
    /// The failed attempts before the last one (empty unless the case was retried).
    #[serde(default)]
    pub previous_attempts: Vec<Attempt>,
    /// The known-failing or known-flaky entry that matched the case.
    #[serde(default)]
    pub expected: Option<Expected>,
    /// The root-cause case when this one was not run because a case it needs failed.
    #[serde(default)]
    pub blocked_by: Option<String>,
    /// What the subject answered to each request the case sent (plugin hook cases), in
    /// order, for `diff` to compare behaviour.
    #[serde(default)]
    pub answers: Vec<AnswerSnapshot>,
}

impl CaseOutcome {
    /// The first assertion that failed, as `name: expected E, saw S`.
    pub fn first_failed_assertion(&self) -> Option<String> {
        first_failed(&self.assertions)
    }
}

fn first_failed(assertions: &[Assertion]) -> Option<String> {
    assertions
        .iter()
        .find(|a| !a.passed)
        .map(|a| format!("{}: expected {}, saw {}", a.name, a.expected, a.seen))
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
    // Whatever the case made goes now, whatever came of it (a timed-out body is dropped).
    ctx.run_cleanups().await;
    let _ = std::fs::remove_dir_all(&scratch);
    let assertions = ctx.assertions();
    let first_failed = first_failed(&assertions);
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
    let void = ctx.voided();
    let (status, message) = match &void {
        Some(v) => (Status::Errored, Some(v.reason.clone())),
        None => (status, message),
    };
    CaseOutcome {
        duration_ms: started.elapsed().as_millis() as u64,
        assertions,
        notes: ctx.notes(),
        answers: ctx.answers(),
        blocked_by: void.and_then(|v| v.root),
        ..CaseOutcome::of(case, status, message)
    }
}

impl CaseOutcome {
    /// The outcome of `case` with `status` and `message`, its description copied from the
    /// case; no assertion, note, time, retry, expectation or blocker yet.
    fn of(case: &Case, status: Status, message: Option<String>) -> Self {
        Self {
            name: case.name.clone(),
            suite: case.suite().to_string(),
            level: case.level,
            clause: case.clause.clone(),
            clause_text: crate::spec::quote(&case.clause),
            summary: case.summary.clone(),
            provenance: case.provenance.clone(),
            subject: case.subject,
            status,
            message,
            duration_ms: 0,
            assertions: Vec::new(),
            notes: Vec::new(),
            previous_attempts: Vec::new(),
            expected: None,
            blocked_by: None,
            answers: Vec::new(),
        }
    }
}

/// What a finished case tells the cases that need it: whether it failed, and the root
/// cause (itself, or the case that blocked it) with its message.
#[derive(Debug, Clone)]
struct Settled {
    failed: bool,
    root: String,
    message: String,
}

impl Settled {
    fn of(o: &CaseOutcome) -> Self {
        let root = o.blocked_by.clone().unwrap_or_else(|| o.name.clone());
        let message = o.message.clone().unwrap_or_default();
        // A blocked case's message already names the root: pass on the root's own.
        let message = message
            .strip_prefix(&format!("blocked by {root}: "))
            .map_or(message.clone(), str::to_string);
        Self {
            failed: o.status.is_failure(),
            root,
            message,
        }
    }
}

/// The outcome of `case` when `need` (settled as `cause`) failed: not run, failed as its
/// level says, blocked by the root cause.
fn blocked(case: &Case, need: &str, cause: &Settled) -> CaseOutcome {
    let seen = if cause.root == need {
        format!("{need} failed: {}", cause.message)
    } else {
        format!("{need} was blocked by {}", cause.root)
    };
    CaseOutcome {
        assertions: vec![Assertion {
            name: format!("needs {need}"),
            expected: "passed".into(),
            seen,
            passed: false,
        }],
        blocked_by: Some(cause.root.clone()),
        ..CaseOutcome::of(
            case,
            Status::Failed,
            Some(format!("blocked by {}: {}", cause.root, cause.message)),
        )
    }
}

/// Runs `case` and, while it fails (failed, errored or timed out), up to `retries` more
/// times. A case that passes on a retry is [`Status::Flaky`], never `Passed`; the failed
/// attempts are kept in `previous_attempts`, and `duration_ms` covers every attempt.
pub async fn run_case_retrying(
    case: &Case,
    scratch_root: &Path,
    dir_name: &str,
    retries: u32,
) -> CaseOutcome {
    let mut previous: Vec<Attempt> = Vec::new();
    let mut spent_ms = 0;
    loop {
        let dir = match previous.len() {
            0 => dir_name.to_string(),
            n => format!("{dir_name}.retry{n}"),
        };
        let mut outcome = run_case(case, scratch_root, &dir).await;
        spent_ms += outcome.duration_ms;
        if outcome.status.is_failure() && previous.len() < retries as usize {
            previous.push(Attempt {
                status: outcome.status,
                message: outcome.message,
                duration_ms: outcome.duration_ms,
            });
            continue;
        }
        if let Some(first) = previous.first() {
            let attempts = previous.len() + 1;
            let first = format!(
                "attempt 1 {}: {}",
                first.status,
                first.message.as_deref().unwrap_or("no message")
            );
            if outcome.status == Status::Passed {
                outcome.status = Status::Flaky;
                outcome.message = Some(format!("passed on attempt {attempts}; {first}"));
            } else if outcome.status.is_failure() {
                outcome.message = Some(format!(
                    "{} (failed all {attempts} attempts)",
                    outcome.message.as_deref().unwrap_or("no message")
                ));
            }
        }
        outcome.duration_ms = spent_ms;
        outcome.previous_attempts = previous;
        return outcome;
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
    cores() * 8
}

/// The cores this process may use (2 when that cannot be told).
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
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
    run_cases_with_retries(cases, options, |_| 0, progress).await
}

/// [`run_cases`], retrying each failed case up to `retries(case)` times (see
/// [`run_case_retrying`]). The progress callback sees each case once, when it is done.
pub async fn run_cases_with_retries(
    cases: Vec<Case>,
    options: &RunOptions,
    retries: impl Fn(&Case) -> u32,
    progress: Option<Progress>,
) -> anyhow::Result<(Vec<CaseOutcome>, Duration)> {
    let root = crate::scratch::dir("run")?;
    let started = Instant::now();
    let limit = Arc::new(tokio::sync::Semaphore::new(options.jobs.max(1)));
    let total = cases.len();
    // Exclusive cases run after all the others, one at a time: started in list order they
    // would each wait for every running case to finish, turning the run into phases
    // whose slowest cases add up instead of overlapping.
    let (alone, shared): (Vec<_>, Vec<_>) = cases
        .into_iter()
        .enumerate()
        .partition(|(_, c)| c.exclusive);
    // Each shared case publishes how it settled, for the cases listed after it that
    // need it (only earlier cases count, so needs cannot wait in a cycle); a case waits
    // for what it needs before it takes a job, so waiting never holds one.
    let mut receivers: HashMap<String, tokio::sync::watch::Receiver<Option<Settled>>> =
        HashMap::new();
    let mut tasks = Vec::with_capacity(shared.len());
    for (i, case) in shared {
        let limit = limit.clone();
        let root = root.path().to_path_buf();
        let progress = progress.clone();
        let retries = retries(&case);
        let needs: Vec<(String, tokio::sync::watch::Receiver<Option<Settled>>)> = case
            .needs
            .iter()
            .filter_map(|n| receivers.get(n).map(|rx| (n.clone(), rx.clone())))
            .collect();
        let (publish, rx) = tokio::sync::watch::channel(None);
        receivers.insert(case.name.clone(), rx);
        tasks.push((
            i,
            tokio::spawn(async move {
                let mut cause = None;
                for (need, mut rx) in needs {
                    let done = rx
                        .wait_for(Option::is_some)
                        .await
                        .ok()
                        .and_then(|v| v.clone());
                    if let Some(s) = done.filter(|s| s.failed) {
                        cause = Some((need, s));
                        break;
                    }
                }
                let outcome = match cause {
                    Some((need, s)) => blocked(&case, &need, &s),
                    None => {
                        let _permit = limit.acquire_owned().await.expect("semaphore open");
                        run_case_retrying(&case, &root, &format!("c{i}"), retries).await
                    }
                };
                publish.send_replace(Some(Settled::of(&outcome)));
                if let Some(p) = progress {
                    p(&outcome);
                }
                outcome
            }),
        ));
    }
    drop(receivers);
    let mut outcomes: Vec<Option<CaseOutcome>> = (0..total).map(|_| None).collect();
    for (i, task) in tasks {
        outcomes[i] = Some(task.await?);
    }
    for (i, case) in alone {
        let outcome = run_case_retrying(&case, root.path(), &format!("c{i}"), retries(&case)).await;
        if let Some(p) = &progress {
            p(&outcome);
        }
        outcomes[i] = Some(outcome);
    }
    let outcomes: Vec<CaseOutcome> = outcomes
        .into_iter()
        .map(|o| o.expect("every case ran"))
        .collect();
    let elapsed = started.elapsed();
    root.close()?;
    Ok((outcomes, elapsed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_case_whose_need_failed_is_blocked_by_the_root_cause_and_not_run() {
        let ran = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let body = |ran: Arc<std::sync::atomic::AtomicUsize>| {
            move |ctx: Ctx| {
                let ran = ran.clone();
                async move {
                    ran.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    ctx.eq("ran", 1, 1);
                    Ok(())
                }
            }
        };
        let cases = vec![
            Case::new("t/root", Level::Must, "x", "x", |ctx| async move {
                ctx.eq("launchable", true, false);
                Ok(())
            }),
            Case::new("t/ok", Level::Must, "x", "x", body(ran.clone())),
            Case::new("t/child", Level::Should, "x", "x", body(ran.clone())).needs(&["t/root"]),
            Case::new("t/grandchild", Level::Must, "x", "x", body(ran.clone()))
                .needs(&["t/ok", "t/child"]),
            Case::new("t/fine", Level::Must, "x", "x", body(ran.clone()))
                .needs(&["t/ok", "t/not-in-the-run"]),
        ];
        let (out, _) = run_cases(cases, &RunOptions { jobs: 1 }, None)
            .await
            .unwrap();
        let by = |n: &str| out.iter().find(|o| o.name == n).unwrap();
        assert_eq!(
            ran.load(std::sync::atomic::Ordering::SeqCst),
            2,
            "only ok and fine ran"
        );
        for name in ["t/child", "t/grandchild"] {
            let o = by(name);
            assert_eq!(o.status, Status::Failed, "{o:?}");
            assert_eq!(o.blocked_by.as_deref(), Some("t/root"), "{o:?}");
            assert!(
                o.message
                    .as_deref()
                    .unwrap()
                    .starts_with("blocked by t/root: launchable"),
                "{o:?}"
            );
        }
        assert_eq!(by("t/fine").status, Status::Passed);
        assert_eq!(by("t/root").blocked_by, None);
    }

    #[tokio::test]
    async fn deferred_cleanups_run_newest_first_whatever_the_outcome() {
        let done = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let body = |tag: &'static str, end: &'static str| {
            let done = done.clone();
            move |ctx: Ctx| {
                let done = done.clone();
                async move {
                    for n in [1, 2] {
                        let done = done.clone();
                        ctx.defer(format!("{tag} {n}"), move || async move {
                            done.lock().unwrap().push(format!("{tag} {n}"));
                        });
                    }
                    match end {
                        "fail" => {
                            ctx.eq("x", 1, 2);
                            Ok(())
                        }
                        "error" => anyhow::bail!("could not"),
                        _ => std::future::pending().await,
                    }
                }
            }
        };
        for (tag, end, status) in [
            ("failed", "fail", Status::Failed),
            ("errored", "error", Status::Errored),
            ("timed-out", "hang", Status::TimedOut),
        ] {
            done.lock().unwrap().clear();
            let case = Case::new("t/c", Level::Must, "x", "x", body(tag, end))
                .timeout(Duration::from_millis(50));
            let dir = tempfile::tempdir().unwrap();
            let outcome = run_case(&case, dir.path(), "c").await;
            assert_eq!(outcome.status, status);
            assert_eq!(
                *done.lock().unwrap(),
                [format!("{tag} 2"), format!("{tag} 1")]
            );
        }
    }

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

    /// A case that fails on its first `fail_first` attempts, then passes.
    fn failing_first(name: &str, fail_first: usize) -> Case {
        let runs = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        Case::new(name, Level::Must, "x", "x", move |ctx| {
            let run = runs.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async move {
                ctx.eq("attempt passes", true, run >= fail_first);
                Ok(())
            }
        })
    }

    #[tokio::test]
    async fn a_case_that_passes_on_a_retry_is_flaky_not_passed() {
        let cases = vec![
            failing_first("t/flaky", 1),
            failing_first("t/never", 10),
            failing_first("t/no-retries", 1),
            failing_first("t/steady", 0),
        ];
        let retries = |c: &Case| if c.name == "t/no-retries" { 0 } else { 2 };
        let (outcomes, _) = run_cases_with_retries(cases, &RunOptions::default(), retries, None)
            .await
            .unwrap();

        let flaky = &outcomes[0];
        assert_eq!(flaky.status, Status::Flaky);
        assert_eq!(flaky.previous_attempts.len(), 1);
        assert_eq!(flaky.previous_attempts[0].status, Status::Failed);
        assert_eq!(
            flaky.message.as_deref(),
            Some("passed on attempt 2; attempt 1 failed: attempt passes: expected true, saw false")
        );

        let never = &outcomes[1];
        assert_eq!(never.status, Status::Failed);
        assert_eq!(never.previous_attempts.len(), 2, "1 run + 2 retries");
        assert!(
            never
                .message
                .as_deref()
                .unwrap()
                .ends_with("(failed all 3 attempts)"),
            "{:?}",
            never.message
        );

        assert_eq!(outcomes[2].status, Status::Failed);
        assert!(outcomes[2].previous_attempts.is_empty());
        assert_eq!(outcomes[3].status, Status::Passed);
        assert!(outcomes[3].previous_attempts.is_empty());
    }
}
