//! The case model: a stable hierarchical name, a requirement level with the clause it
//! checks, a timeout, and a body that records named assertions (expected vs seen), so a
//! failure reads as a checklist.

use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// RFC 2119 requirement level of the clause a case checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Level {
    Must,
    Should,
    May,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad`, so that widths (`{:<6}` in listings) apply.
        f.pad(match self {
            Level::Must => "MUST",
            Level::Should => "SHOULD",
            Level::May => "MAY",
        })
    }
}

/// Which side of the protocol a case judges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Subject {
    Host,
    Plugin,
}

/// One named check: what was expected, what was seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assertion {
    pub name: String,
    pub expected: String,
    pub seen: String,
    pub passed: bool,
}

/// What a case body gets: a scratch directory of its own and the assertion recorder.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// A fresh directory for this case, removed with the run.
    pub scratch: PathBuf,
    assertions: Arc<Mutex<Vec<Assertion>>>,
    skipped: Arc<Mutex<Option<String>>>,
    notes: Arc<Mutex<Vec<String>>>,
    answers: Arc<Mutex<Vec<super::AnswerSnapshot>>>,
    void: Arc<Mutex<Option<Void>>>,
    cleanups: Arc<Cleanups>,
}

/// The registered cleanups of a case, by name for `Debug`.
#[derive(Default)]
struct Cleanups(Mutex<Vec<(String, Cleanup)>>);

impl fmt::Debug for Cleanups {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = self.0.lock().unwrap_or_else(|e| e.into_inner());
        f.debug_list()
            .entries(list.iter().map(|(what, _)| what))
            .finish()
    }
}

/// Something a case made that goes when the case ends (see [`Ctx::defer`]).
type Cleanup = Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

/// How long each deferred cleanup may take.
pub const CLEANUP_TIMEOUT: Duration = Duration::from_secs(20);

/// Why a case could not be carried out, whatever it asserted: the subject's stand-in
/// went away (a host driver that exited), so its verdict says nothing of the subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Void {
    /// The case that reports the cause once (the root cause), if another.
    pub root: Option<String>,
    pub reason: String,
}

impl Ctx {
    pub(crate) fn new(scratch: PathBuf) -> Self {
        Self {
            scratch,
            assertions: Arc::default(),
            skipped: Arc::default(),
            notes: Arc::default(),
            answers: Arc::default(),
            void: Arc::default(),
            cleanups: Arc::default(),
        }
    }

    /// Records a check and returns whether it passed.
    pub fn check(
        &self,
        name: &str,
        expected: impl fmt::Display,
        seen: impl fmt::Display,
        passed: bool,
    ) -> bool {
        self.assertions.lock().expect("assertions").push(Assertion {
            name: name.to_string(),
            expected: expected.to_string(),
            seen: seen.to_string(),
            passed,
        });
        passed
    }

    /// Records `expected == seen`.
    pub fn eq<T: fmt::Debug + PartialEq>(&self, name: &str, expected: T, seen: T) -> bool {
        let passed = expected == seen;
        self.check(name, format!("{expected:?}"), format!("{seen:?}"), passed)
    }

    /// Records that `haystack` contains `needle`.
    pub fn contains(&self, name: &str, haystack: &str, needle: &str) -> bool {
        self.check(
            name,
            format!("contains {needle:?}"),
            haystack,
            haystack.contains(needle),
        )
    }

    /// Records what the subject did (API calls, plugin log lines...) for the reports.
    pub fn note(&self, text: impl Into<String>) {
        self.notes.lock().expect("notes").push(text.into());
    }

    pub(crate) fn notes(&self) -> Vec<String> {
        self.notes.lock().expect("notes").clone()
    }

    /// Records what the subject answered to a request, for `diff` (see
    /// [`super::AnswerSnapshot`]).
    pub fn record_answer(&self, snapshot: super::AnswerSnapshot) {
        self.answers.lock().expect("answers").push(snapshot);
    }

    pub(crate) fn answers(&self) -> Vec<super::AnswerSnapshot> {
        self.answers.lock().expect("answers").clone()
    }

    /// Registers the undoing of something the case made (a plugin it loaded, a row it
    /// created), as csi-sanity's cleanup registry does: the runner runs every registered
    /// cleanup when the case ends, whatever its outcome (failed, errored, timed out),
    /// newest first, each within [`CLEANUP_TIMEOUT`]. `what` names it in a note when it
    /// does not finish.
    pub fn defer<F, Fut>(&self, what: impl Into<String>, cleanup: F)
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.cleanups
            .0
            .lock()
            .expect("cleanups")
            .push((what.into(), Box::new(move || Box::pin(cleanup()))));
    }

    /// Runs the registered cleanups, newest first (the runner, when the case ends).
    pub(crate) async fn run_cleanups(&self) {
        loop {
            let next = self.cleanups.0.lock().expect("cleanups").pop();
            let Some((what, cleanup)) = next else {
                return;
            };
            if tokio::time::timeout(CLEANUP_TIMEOUT, cleanup())
                .await
                .is_err()
            {
                self.note(format!(
                    "cleanup: {what} did not finish within {CLEANUP_TIMEOUT:?}"
                ));
            }
        }
    }

    /// Marks the case as not carried out, whatever it asserted: it is reported errored with
    /// `reason`, blocked by `root` when given (see [`Void`]). The first call wins.
    pub fn void(&self, root: Option<&str>, reason: impl Into<String>) {
        self.void.lock().expect("void").get_or_insert(Void {
            root: root.map(str::to_string),
            reason: reason.into(),
        });
    }

    pub(crate) fn voided(&self) -> Option<Void> {
        self.void.lock().expect("void").clone()
    }

    /// Whether an assertion failed so far.
    pub fn any_failed(&self) -> bool {
        self.assertions
            .lock()
            .expect("assertions")
            .iter()
            .any(|a| !a.passed)
    }

    /// Marks the case as not applicable, with the reason.
    pub fn skip(&self, reason: &str) {
        *self.skipped.lock().expect("skip") = Some(reason.to_string());
    }

    pub(crate) fn assertions(&self) -> Vec<Assertion> {
        self.assertions.lock().expect("assertions").clone()
    }

    pub(crate) fn skipped(&self) -> Option<String> {
        self.skipped.lock().expect("skip").clone()
    }
}

/// The future a case body returns; an `Err` means the case could not be carried out.
pub type CaseFuture = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>>;
type Body = Arc<dyn Fn(Ctx) -> CaseFuture + Send + Sync>;

/// A conformance case.
#[derive(Clone)]
pub struct Case {
    /// `suite/case`, e.g. `handshake/bad-core-version`.
    pub name: String,
    pub level: Level,
    /// The clause checked, e.g. `SPEC §5`.
    pub clause: String,
    /// One sentence on what is checked.
    pub summary: String,
    pub subject: Subject,
    pub timeout: Duration,
    /// Runs with no other case of the process running (cases that measure the process).
    pub exclusive: bool,
    /// Where the case's expectations come from upstream (path, function or test, commit),
    /// one line each; shown by `list --provenance` and written to the JSON report.
    pub provenance: Vec<String>,
    /// Cases this one depends on (a launchable bundle, an answering `Implemented`, ...):
    /// when one of them fails, this case is not run and is reported blocked by the root
    /// cause. Only cases listed before this one count (so needs cannot form a cycle);
    /// names not in the run, and exclusive cases, are ignored.
    pub needs: Vec<String>,
    body: Body,
}

impl fmt::Debug for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Case")
            .field("name", &self.name)
            .field("level", &self.level)
            .field("clause", &self.clause)
            .finish_non_exhaustive()
    }
}

/// Default per-case timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

impl Case {
    pub fn new<F, Fut>(name: &str, level: Level, clause: &str, summary: &str, body: F) -> Self
    where
        F: Fn(Ctx) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        Self {
            name: name.to_string(),
            level,
            clause: clause.to_string(),
            summary: summary.to_string(),
            subject: Subject::Host,
            timeout: DEFAULT_TIMEOUT,
            exclusive: false,
            provenance: Vec::new(),
            needs: Vec::new(),
            body: Arc::new(move |ctx| Box::pin(body(ctx))),
        }
    }

    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Runs this case alone: it waits for the running cases to finish, and no other case
    /// starts until it is done.
    /// Wraps the body: `around` gets the case's context and the body's future, and
    /// decides when and whether it runs (a guard that gives up when the subject's
    /// stand-in goes away).
    pub fn around(
        mut self,
        around: impl Fn(Ctx, CaseFuture) -> CaseFuture + Send + Sync + 'static,
    ) -> Self {
        let body = self.body.clone();
        self.body = Arc::new(move |ctx: Ctx| around(ctx.clone(), body(ctx)));
        self
    }

    pub fn exclusive(mut self) -> Self {
        self.exclusive = true;
        self
    }

    /// Where the case's expectations come from (see [`Case::provenance`]).
    pub fn provenance(mut self, lines: Vec<String>) -> Self {
        self.provenance = lines;
        self
    }

    /// The cases this one needs to have passed (see [`Case::needs`]).
    pub fn needs(mut self, names: &[&str]) -> Self {
        self.needs = names.iter().map(|n| n.to_string()).collect();
        self
    }

    pub fn subject(mut self, subject: Subject) -> Self {
        self.subject = subject;
        self
    }

    /// The suite: the first segment of the name.
    pub fn suite(&self) -> &str {
        self.name.split('/').next().unwrap_or(&self.name)
    }

    pub(crate) fn start(&self, ctx: Ctx) -> CaseFuture {
        (self.body)(ctx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_take_a_width_so_listings_stay_in_columns() {
        assert_eq!(format!("{:<6}|", Level::Must), "MUST  |");
        assert_eq!(format!("{:<6}|", Level::May), "MAY   |");
        assert_eq!(format!("{:<6}|", Level::Should), "SHOULD|");
    }
}
