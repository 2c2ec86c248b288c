//! The API suite: the declarative cases of `suites/api/*.json`, run from inside a plugin
//! process against the PluginAPI server of the reference host, through two exercisers:
//! the fake interpreter's `api-exerciser` mode (`api/*`) and the Python reference plugin
//! (`api-python/*`). The exercisers report raw outcomes; the runner judges them with
//! [`evaluate`]. Plus a coverage case computed from the descriptors.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use conformance_core::api::ApiOptions;
use conformance_core::api::CallRecord;
use conformance_core::api::handlers::common::new_id;
use conformance_core::apicase::fields::FieldCoverage;
use conformance_core::apicase::{
    ApiCase, Capability, CaseFileError, Exercise, ExerciseFile, StepOutcome, evaluate,
    load_case_file,
};
use conformance_core::driver::process::DriverProcess;
use conformance_core::fixtures::{BundleBuilder, FakeMode};
use conformance_core::observe::Observed;
use conformance_core::python_reference::{self, PluginOptions};
use conformance_core::runner::{Case, Ctx, Level};
use conformance_core::supervisor::{self, HostConfig, RunningPlugin};
use pluginapi_proto::harness::{ApiCallsRequest, LoadPluginRequest, UnloadPluginRequest};
use serde_json::Value;

use crate::hooks::Plugin;
use crate::support::{SharedResult, wait_for};

/// The case files, embedded so the binary carries its specification.
pub const CASE_FILES: &[(&str, &str)] = &[
    ("kv.json", include_str!("../api/kv.json")),
    ("server.json", include_str!("../api/server.json")),
    ("users.json", include_str!("../api/users.json")),
    ("teams.json", include_str!("../api/teams.json")),
    ("channels.json", include_str!("../api/channels.json")),
    ("posts.json", include_str!("../api/posts.json")),
    ("files.json", include_str!("../api/files.json")),
    ("bots.json", include_str!("../api/bots.json")),
    ("commands.json", include_str!("../api/commands.json")),
    ("config.json", include_str!("../api/config.json")),
    ("plugins.json", include_str!("../api/plugins.json")),
    ("misc.json", include_str!("../api/misc.json")),
    ("groups.json", include_str!("../api/groups.json")),
    ("properties.json", include_str!("../api/properties.json")),
    (
        "shared_channels.json",
        include_str!("../api/shared_channels.json"),
    ),
];

/// Every case of every file, with the file it comes from, loaded and checked once.
pub fn loaded() -> Result<&'static [(&'static str, ApiCase)], &'static CaseFileError> {
    static LOADED: OnceLock<Result<Vec<(&'static str, ApiCase)>, CaseFileError>> = OnceLock::new();
    LOADED
        .get_or_init(|| {
            let mut all = Vec::new();
            for (name, text) in CASE_FILES {
                let file = format!("suites/api/{name}");
                all.extend(
                    load_case_file(&file, text)?
                        .into_iter()
                        .map(|case| (*name, case)),
                );
            }
            Ok(all)
        })
        .as_ref()
        .map(Vec::as_slice)
}

/// Every API case of every file; panics with the load error on a malformed file (the CLI
/// checks [`loaded`] first and refuses to run; a unit test loads them all).
pub fn api_cases() -> Vec<ApiCase> {
    loaded()
        .unwrap_or_else(|e| panic!("{e}"))
        .iter()
        .map(|(_, c)| c.clone())
        .collect()
}

/// PluginAPI rpcs that no case covers (by the cases' `rpc` field).
pub fn uncovered(cases: &[ApiCase]) -> Vec<String> {
    let covered: BTreeSet<&str> = cases.iter().map(|c| c.rpc.as_str()).collect();
    pluginapi_proto::descriptor_pool()
        .get_service_by_name(pluginapi_proto::service_names::PLUGIN_API)
        .expect("PluginAPI is compiled in")
        .methods()
        .map(|m| m.name().to_string())
        .filter(|m| !covered.contains(m.as_str()))
        .collect()
}

/// How long one API case may take, waiting for its batch included.
const CASE_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a batch waits for its exerciser to finish every case (cases run at once, so
/// this bounds the slowest case, expiry waits included).
const BATCH_TIMEOUT: Duration = Duration::from_secs(25);

/// The host the exerciser runs in.
#[derive(Clone)]
pub enum Launcher {
    /// The reference host, in process, its PluginAPI server set up as given.
    Reference(ApiOptions),
    /// Any host, through its driver (`plugin-conformance host`).
    Driver(Arc<DriverProcess>),
}

impl Launcher {
    /// The reference host as the self-test runs it: every harness extension honoured.
    pub fn reference() -> Self {
        Launcher::Reference(ApiOptions::default())
    }

    /// What the host can do beyond the protocol. The in-process reference host reads its
    /// own call log and seeds the fixture emoji; the rest follows its API options. A driver
    /// declares its own.
    pub fn capabilities(&self) -> BTreeSet<Capability> {
        match self {
            Launcher::Reference(api) => {
                let mut out = BTreeSet::from([Capability::CallLog, Capability::FixtureEmoji]);
                if api.sessions {
                    out.insert(Capability::ApiSessions);
                }
                if api.plugin_identity {
                    out.insert(Capability::PluginIdentity);
                }
                out
            }
            // `host` refuses a driver that declares an unknown capability before any
            // case is built, so nothing is lost here.
            Launcher::Driver(driver) => driver.capabilities().unwrap_or_default(),
        }
    }
}

/// What the user allows the API cases to do to the host.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiPolicy {
    /// Run the cases marked destructive even on a host whose cases share one store.
    pub allow_destructive: bool,
}

/// Why `case` cannot run on a host with `capabilities` under `policy`, if it cannot.
pub fn gate(
    case: &ApiCase,
    capabilities: &BTreeSet<Capability>,
    policy: ApiPolicy,
) -> Option<String> {
    let missing: Vec<Capability> = case
        .required_capabilities()
        .into_iter()
        .filter(|c| !capabilities.contains(c))
        .collect();
    if !missing.is_empty() {
        return Some(format!(
            "needs what the host does not declare: {} (SPEC §25.2)",
            missing
                .iter()
                .map(|c| format!("`{c}` ({})", c.meaning()))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if let Some(why) = &case.destructive
        && !capabilities.contains(&Capability::ApiSessions)
        && !policy.allow_destructive
    {
        return Some(format!(
            "destructive: {why}; it runs only with --allow-destructive, or on a host whose \
             `api-sessions` give each case a store of its own (SPEC §25.4)"
        ));
    }
    None
}

/// A started exerciser.
enum Started {
    Reference(Box<RunningPlugin>),
    Driver(Arc<DriverProcess>, String),
}

/// What one case's exerciser reported.
#[derive(Debug, Default)]
struct CaseRun {
    /// The variables the exerciser started the case with.
    vars: BTreeMap<String, Value>,
    outcomes: Vec<StepOutcome>,
    /// `None` when the case never reported its end; `Some(Some(e))` when it could not run.
    done: Option<Option<String>>,
    calls: Vec<CallRecord>,
}

/// What a batch produced.
#[derive(Debug, Default)]
struct BatchResult {
    /// Why the exerciser could not be had at all (a skip for the Python reference plugin
    /// without its venv, a failure otherwise).
    skip: Option<String>,
    failure: Option<String>,
    cases: HashMap<String, CaseRun>,
}

/// One plugin process running a group of cases at once (all of them, or one), each case
/// in its own session of the reference PluginAPI server (`x-conformance-session`), so
/// cases stay as isolated as with a process each at a fraction of the cost. Started by the
/// first of the group's cases that runs; the others wait for the same result.
struct Batch {
    plugin: Plugin,
    launcher: Launcher,
    file: &'static str,
    cases: Vec<ApiCase>,
    /// Each case in its own session (the host has `api-sessions`).
    sessions: bool,
    result: SharedResult<BatchResult>,
}

impl Batch {
    /// The batch's result, starting it on first use. Runs on a task of its own, so a case
    /// that times out does not cancel the others' results.
    async fn result(self: &Arc<Self>) -> Arc<BatchResult> {
        let batch = self.clone();
        self.result
            .get(
                || async move {
                    batch.run().await.unwrap_or_else(|e| BatchResult {
                        failure: Some(format!("{e:#}")),
                        ..BatchResult::default()
                    })
                },
                || BatchResult {
                    failure: Some("the batch task ended without a result".into()),
                    ..BatchResult::default()
                },
            )
            .await
    }

    async fn run(&self) -> anyhow::Result<BatchResult> {
        let scratch = conformance_core::scratch::dir("api")?;
        let exercises_file = scratch.path().join("exercises.json");
        let bundle = match self.plugin {
            Plugin::Fake => BundleBuilder::new(FakeMode::ApiExerciser)
                .plugin_id(&format!(
                    "com.mattermost.conformance.api-{}",
                    &new_id()[..10]
                ))
                .option("cases", exercises_file.display())
                .write(&scratch.path().join("b"))
                .map_err(anyhow::Error::msg)?,
            Plugin::Python => {
                let prepared = match tokio::task::spawn_blocking(python_reference::prepare).await? {
                    Ok(p) => p,
                    Err(reason) => {
                        return Ok(BatchResult {
                            skip: Some(format!(
                                "the Python reference plugin cannot be prepared: {reason}"
                            )),
                            ..BatchResult::default()
                        });
                    }
                };
                python_reference::write_bundle(
                    prepared,
                    &scratch.path().join("b"),
                    PluginOptions {
                        api_exercises: Some(&exercises_file),
                        ..PluginOptions::default()
                    },
                )
                .map_err(anyhow::Error::msg)?
            }
        };
        let now = conformance_core::clock::now_us() / 1000;
        let exercises: Vec<Exercise> = self
            .cases
            .iter()
            .map(|case| Exercise {
                case: case.clone(),
                vars: [
                    ("run".to_string(), Value::String(new_id()[..8].to_string())),
                    (
                        "plugin_id".to_string(),
                        Value::String(bundle.plugin_id.clone()),
                    ),
                    ("now".to_string(), Value::from(now)),
                ]
                .into(),
                session: if self.sessions {
                    case.name.clone()
                } else {
                    String::new()
                },
            })
            .collect();
        std::fs::write(
            &exercises_file,
            serde_json::to_string(&ExerciseFile {
                exercises: exercises.clone(),
            })?,
        )?;
        let started = match &self.launcher {
            Launcher::Reference(api) => {
                let config = HostConfig {
                    api: api.clone(),
                    ..HostConfig::default()
                };
                match supervisor::start(&bundle.dir, config).await {
                    Ok(plugin) => Ok(Started::Reference(Box::new(plugin))),
                    Err(failure) => Err(failure.to_string()),
                }
            }
            Launcher::Driver(driver) => {
                let dir = std::path::absolute(&bundle.dir)?;
                match driver
                    .driver()
                    .load_plugin(LoadPluginRequest {
                        bundle_dir: dir.display().to_string(),
                        activate: false,
                    })
                    .await
                {
                    Ok(r) if r.get_ref().started => {
                        Ok(Started::Driver(driver.clone(), r.into_inner().plugin_id))
                    }
                    Ok(r) => Err(r.into_inner().error),
                    Err(s) => Err(format!(
                        "LoadPlugin failed: {:?}: {}",
                        s.code(),
                        s.message()
                    )),
                }
            }
        };
        let started = match started {
            Ok(started) => started,
            Err(why) => {
                return Ok(BatchResult {
                    failure: Some(format!(
                        "the exerciser plugin ({}) did not start: {why}",
                        self.file
                    )),
                    ..BatchResult::default()
                });
            }
        };
        let expected = exercises.len();
        let finished = wait_for(BATCH_TIMEOUT, || {
            let text = std::fs::read_to_string(&bundle.observations).unwrap_or_default();
            (text.matches(r#""event":"api_case_done""#).count() >= expected).then_some(())
        })
        .await;
        let mut result = BatchResult::default();
        for exercise in exercises {
            result.cases.insert(
                exercise.case.name.clone(),
                CaseRun {
                    vars: exercise.vars,
                    ..CaseRun::default()
                },
            );
        }
        let mut whole_file_error = None;
        for observation in bundle.observations() {
            match observation.event {
                Observed::ApiOutcome { outcome } => {
                    if let Some(run) = result.cases.get_mut(&outcome.case) {
                        run.outcomes.push(outcome);
                    }
                }
                Observed::ApiCaseDone { case, error, .. } => match result.cases.get_mut(&case) {
                    Some(run) => run.done = Some(error),
                    None => whole_file_error = error.or(Some(format!("an unknown case {case:?}"))),
                },
                _ => {}
            }
        }
        let calls = match started {
            Started::Reference(plugin) => {
                let calls = plugin.api_calls();
                plugin.shutdown().await;
                calls
            }
            Started::Driver(driver, plugin_id) => {
                let calls = if self.launcher.capabilities().contains(&Capability::CallLog) {
                    driver_calls(&driver, &plugin_id).await
                } else {
                    Vec::new()
                };
                let _ = driver
                    .driver()
                    .unload_plugin(UnloadPluginRequest { plugin_id })
                    .await;
                calls
            }
        };
        // A call belongs to the case of its session; without sessions a batch holds one
        // case, which made every call.
        let only = (result.cases.len() == 1)
            .then(|| result.cases.keys().next().cloned())
            .flatten();
        for call in calls {
            let owner = call.session.clone().or_else(|| only.clone());
            if let Some(run) = owner.and_then(|s| result.cases.get_mut(&s)) {
                run.calls.push(call);
            }
        }
        if let Some(e) = whole_file_error {
            result.failure = Some(format!("the exerciser could not run {}: {e}", self.file));
        } else if finished.is_none() {
            for run in result.cases.values_mut() {
                if run.done.is_none() {
                    run.done = Some(Some(format!(
                        "no end reported within {} s (the batch's limit)",
                        BATCH_TIMEOUT.as_secs()
                    )));
                }
            }
        }
        Ok(result)
    }
}

/// The driver's record of the PluginAPI calls of `plugin_id` (the `call-log` capability).
async fn driver_calls(driver: &DriverProcess, plugin_id: &str) -> Vec<CallRecord> {
    let answer = tokio::time::timeout(
        Duration::from_secs(10),
        driver.driver().api_calls(ApiCallsRequest {
            plugin_id: plugin_id.to_string(),
        }),
    )
    .await;
    match answer {
        Ok(Ok(r)) => r
            .into_inner()
            .calls
            .into_iter()
            .map(|c| CallRecord {
                t_us: 0,
                plugin_id: plugin_id.to_string(),
                session: (!c.session.is_empty()).then_some(c.session),
                rpc: c.rpc,
                outcome: c.outcome,
                effect: (!c.effect.is_empty()).then_some(c.effect),
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Judges one case from its batch's result.
async fn run_api_case(ctx: Ctx, batch: Arc<Batch>, case: ApiCase) -> anyhow::Result<()> {
    let result = batch.result().await;
    if let Some(reason) = &result.skip {
        ctx.skip(reason);
        anyhow::bail!("skipped: {reason}");
    }
    if let Some(failure) = &result.failure {
        ctx.check("the exerciser ran", "a running exerciser", failure, false);
        return Ok(());
    }
    let Some(run) = result.cases.get(&case.name) else {
        ctx.check("the case was run", "a result", "none", false);
        return Ok(());
    };
    match &run.done {
        None => {
            ctx.check("the case ran to its end", "done", "no end reported", false);
        }
        Some(Some(error)) => {
            ctx.check("the case could run", "a PluginAPI connection", error, false);
        }
        Some(None) => {
            let mut vars = run.vars.clone();
            for report in evaluate(&case, &mut vars, &run.outcomes) {
                if let Some(why) = &report.not_run {
                    ctx.note(format!(
                        "cleanup {} {}: {why}",
                        report.index + 1 - case.steps.len(),
                        report.call
                    ));
                }
                for a in report.assertions {
                    ctx.check(&a.name, a.expected, a.seen, a.passed);
                }
            }
            check_host_effects(&ctx, &case, &vars, &run.calls);
        }
    }
    for call in &run.calls {
        ctx.note(format!("api call {} -> {}", call.rpc, call.outcome));
    }
    Ok(())
}

/// Checks each step's `host_effect` against the host's record of that call: the k-th call
/// of an rpc in the case's session is the k-th step that calls it.
/// (Only reached on hosts with the `call-log` capability: [`gate`] skips the others.)
fn check_host_effects(
    ctx: &Ctx,
    case: &ApiCase,
    vars: &BTreeMap<String, Value>,
    calls: &[CallRecord],
) {
    for (index, step) in case.steps.iter().enumerate() {
        let Some(expected) = &step.expect.host_effect else {
            continue;
        };
        let expected =
            conformance_core::apicase::substitute(&Value::String(expected.clone()), vars);
        let expected = expected.as_str().unwrap_or_default().to_string();
        let nth = case.steps[..index]
            .iter()
            .filter(|s| s.call == step.call)
            .count();
        let effect = calls
            .iter()
            .filter(|c| c.rpc == step.call)
            .nth(nth)
            .and_then(|c| c.effect.clone());
        ctx.check(
            &format!("step {} {} effect on the host", index + 1, step.call),
            format!("contains {expected:?}"),
            effect
                .clone()
                .unwrap_or_else(|| "no effect recorded".into()),
            effect.is_some_and(|e| e.contains(&expected)),
        );
    }
}

fn clause_of(case: &ApiCase) -> String {
    case.clause.clone().unwrap_or_else(|| {
        format!(
            "SPEC §10.1; api-methods.tsv {} ({})",
            case.rpc,
            conformance_core::api::regime::api_methods()
                .get(&case.rpc)
                .map_or("unknown rpc", |m| m.note.as_str())
        )
    })
}

/// What `list` and the reports show of where a case's expectations come from.
fn provenance_of(case: &ApiCase) -> Vec<String> {
    let mut out: Vec<String> = case.provenance.iter().map(ToString::to_string).collect();
    for (index, step) in case.steps.iter().enumerate() {
        out.extend(
            step.provenance
                .iter()
                .map(|p| format!("step {} {}: {p}", index + 1, step.call)),
        );
    }
    if let Some(why) = &case.reference_only {
        out.push(format!("reference-only: {why}"));
    }
    out
}

/// The cases of every file run through `plugin` in the host of `launcher`, named
/// `<prefix>/<case>`: one batch for them all, each case in a session of its own, or one
/// batch per case when the host's PluginAPI server has no sessions (then each case has a
/// plugin, and so a KV namespace, of its own, and the cases share the host's store as on
/// a live server). Only the cases whose full name `keep` selects are built, so a selection
/// runs only its own exercises. A case the host cannot run ([`gate`]) is skipped with the
/// reason and never sent to the host.
pub fn batched_cases(
    plugin: Plugin,
    launcher: &Launcher,
    prefix: &str,
    policy: ApiPolicy,
    keep: &dyn Fn(&str) -> bool,
) -> Vec<Case> {
    batched(plugin, launcher, prefix, policy, keep).cases
}

/// The cases of [`batched_cases`] with the batches that run them.
struct Batched {
    cases: Vec<Case>,
    batches: Vec<Arc<Batch>>,
    /// Every API case is among them and runnable (none left out by the selection or gated).
    complete: bool,
}

fn batched(
    plugin: Plugin,
    launcher: &Launcher,
    prefix: &str,
    policy: ApiPolicy,
    keep: &dyn Fn(&str) -> bool,
) -> Batched {
    let capabilities = launcher.capabilities();
    let sessions = capabilities.contains(&Capability::ApiSessions);
    let mut out = Vec::new();
    let mut runnable: Vec<(&'static str, ApiCase)> = Vec::new();
    for (file, case) in loaded().unwrap_or_else(|e| panic!("{e}")) {
        if !keep(&format!("{prefix}/{}", case.name)) {
            continue;
        }
        match gate(case, &capabilities, policy) {
            Some(reason) => out.push(skipped_case(prefix, case, reason)),
            None => runnable.push((file, case.clone())),
        }
    }
    let complete = runnable.len() == loaded().map_or(0, <[_]>::len);
    let mut batches = Vec::new();
    let groups: Vec<(&'static str, Vec<ApiCase>)> = if sessions {
        vec![(
            "suites/api/*.json",
            runnable.into_iter().map(|(_, c)| c).collect(),
        )]
    } else {
        runnable
            .into_iter()
            .map(|(file, c)| (file, vec![c]))
            .collect()
    };
    for (file, group) in groups.into_iter().filter(|(_, g)| !g.is_empty()) {
        let batch = Arc::new(Batch {
            plugin,
            launcher: launcher.clone(),
            file,
            cases: group.clone(),
            sessions,
            result: SharedResult::default(),
        });
        batches.push(batch.clone());
        for case in group {
            let batch = batch.clone();
            let body_case = case.clone();
            let mut runner_case = api_case(prefix, &case, move |ctx| {
                run_api_case(ctx, batch.clone(), body_case.clone())
            })
            .timeout(CASE_TIMEOUT);
            // On a shared store (no sessions: a live server) a case that rewrites the
            // configuration runs alone, as an administrator would change it: the others'
            // changes and its cleanup would otherwise overwrite each other.
            if !sessions && writes_server_wide(&case) {
                runner_case = runner_case.exclusive();
            }
            out.push(runner_case);
        }
    }
    Batched {
        cases: out,
        batches,
        complete,
    }
}

/// Rpcs that rewrite server-wide state as a whole: `SaveConfig` replaces the whole
/// configuration document (upstream too), and the plugin rpcs and `SavePluginConfig`
/// rewrite it as well. Two cases doing so at once on a shared store undo each other.
const SERVER_WIDE_WRITES: &[&str] = &[
    "SaveConfig",
    "SavePluginConfig",
    "EnablePlugin",
    "DisablePlugin",
    "InstallPlugin",
    "RemovePlugin",
    "RequestTrialLicense",
];

/// Whether `case` rewrites server-wide state (its steps or its cleanup).
fn writes_server_wide(case: &ApiCase) -> bool {
    case.steps
        .iter()
        .map(|s| s.call.as_str())
        .chain(case.cleanup.iter().map(|s| s.call.as_str()))
        .any(|call| SERVER_WIDE_WRITES.contains(&call))
}

/// The runner's case for an API case, with its clause and provenance.
fn api_case<F, Fut>(prefix: &str, case: &ApiCase, body: F) -> Case
where
    F: Fn(Ctx) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send + 'static,
{
    Case::new(
        &format!("{prefix}/{}", case.name),
        case.level,
        &clause_of(case),
        &case.summary,
        body,
    )
    .provenance(provenance_of(case))
}

/// A case that is not run on this host, for `reason`.
fn skipped_case(prefix: &str, case: &ApiCase, reason: String) -> Case {
    api_case(prefix, case, move |ctx| {
        let reason = reason.clone();
        async move {
            ctx.skip(&reason);
            Ok(())
        }
    })
}

/// The API cases through the fake exerciser, and the coverage case.
pub fn cases(keep: &dyn Fn(&str) -> bool) -> Vec<Case> {
    let all = api_cases();
    let Batched {
        cases: mut out,
        batches,
        complete,
    } = batched(
        Plugin::Fake,
        &Launcher::reference(),
        "api",
        ApiPolicy::default(),
        keep,
    );
    out.push(
        Case::new(
            "api/coverage",
            Level::Must,
            "SPEC §24 (every PluginAPI rpc has cases; every response field upstream fills is seen filled)",
            "every rpc of mattermost.pluginapi.v1.PluginAPI, as compiled, has at least one API case, and every field of its response (one level into message fields) that upstream fills is seen with a non-default value in some response of the run",
            move |ctx| {
                let missing = uncovered(&all);
                let batches = batches.clone();
                async move {
                    ctx.eq("rpcs without a case", Vec::<String>::new(), missing);
                    let mut coverage = FieldCoverage::default();
                    for batch in &batches {
                        for run in batch.result().await.cases.values() {
                            for outcome in &run.outcomes {
                                coverage.add(outcome);
                            }
                        }
                    }
                    judge_field_coverage(&ctx, &coverage, complete);
                    Ok(())
                }
            },
        )
        .timeout(Duration::from_secs(60)),
    );
    out
}

pub use conformance_core::apicase::fields::{UNFILLED_FIELDS, unfilled_fields};

/// Reports the field coverage of a run and, when the run had every API case, fails on a
/// field never seen filled that the list of unfilled fields does not justify, and on a
/// listed field that was seen after all (a stale row).
fn judge_field_coverage(ctx: &Ctx, coverage: &FieldCoverage, complete: bool) {
    let per_rpc = coverage.per_rpc();
    let seen: usize = per_rpc.iter().map(|(_, s, _)| s).sum();
    let all: usize = per_rpc.iter().map(|(_, _, a)| a).sum();
    ctx.note(format!(
        "response fields seen filled: {seen} of {all} ({:.1} %)",
        100.0 * seen as f64 / all.max(1) as f64
    ));
    for (rpc, s, a) in &per_rpc {
        if s < a {
            ctx.note(format!("fields of {rpc}: {s} of {a}"));
        }
    }
    if !complete {
        ctx.note("field coverage not judged: the run did not have every API case");
        return;
    }
    let justified = unfilled_fields();
    let unseen = coverage.unseen();
    let unjustified: Vec<String> = unseen
        .iter()
        .filter(|(rpc, p)| !justified.contains_key(&(rpc.clone(), p.to_string())))
        .map(|(rpc, p)| format!("{rpc} {p}"))
        .collect();
    let unseen: BTreeSet<(String, String)> = unseen
        .iter()
        .map(|(r, p)| (r.clone(), p.to_string()))
        .collect();
    let stale: Vec<String> = justified
        .keys()
        .filter(|k| !unseen.contains(*k))
        .map(|(rpc, p)| format!("{rpc} {p}"))
        .collect();
    ctx.eq(
        "response fields never seen filled and not in unfilled-response-fields.tsv",
        Vec::<String>::new(),
        unjustified,
    );
    ctx.eq(
        "rows of unfilled-response-fields.tsv whose field was seen filled (stale)",
        Vec::<String>::new(),
        stale,
    );
}

/// The API cases through the Python reference plugin's exerciser.
pub fn python_cases(keep: &dyn Fn(&str) -> bool) -> Vec<Case> {
    batched_cases(
        Plugin::Python,
        &Launcher::reference(),
        "api-python",
        ApiPolicy::default(),
        keep,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_case_file_loads() {
        // Loading checks each case (rpc names, provenance, levels, error shapes, cleanup);
        // see conformance_core::apicase::load for the rules and their tests.
        let cases = loaded().unwrap_or_else(|e| panic!("{e}"));
        assert!(cases.len() > 300, "{} cases", cases.len());
    }

    #[test]
    fn the_readme_lists_exactly_the_destructive_cases() {
        let readme = include_str!("../../README.md");
        let section = readme
            .split("### Destructive API cases")
            .nth(1)
            .expect("README has a Destructive API cases section");
        let section = section.split("\n## ").next().unwrap_or(section);
        let listed: BTreeSet<String> = section
            .lines()
            .filter_map(|l| l.strip_prefix("| `api/"))
            .filter_map(|l| l.split('`').next())
            .map(str::to_string)
            .collect();
        let destructive: BTreeSet<String> = api_cases()
            .into_iter()
            .filter(|c| c.destructive.is_some())
            .map(|c| c.name)
            .collect();
        assert_eq!(listed, destructive, "README.md's list of destructive cases");
    }

    #[test]
    fn gating_skips_for_missing_capabilities_and_destructive_cases() {
        let mut case = api_cases().remove(0);
        case.requires = vec![Capability::PluginIdentity];
        let none = BTreeSet::new();
        let reason = gate(&case, &none, ApiPolicy::default()).unwrap();
        assert!(reason.contains("plugin-identity"), "{reason}");
        let all: BTreeSet<Capability> = Capability::ALL.into_iter().collect();
        assert_eq!(gate(&case, &all, ApiPolicy::default()), None);
        case.requires.clear();
        case.destructive = Some("it removes a plugin".into());
        let reason = gate(&case, &none, ApiPolicy::default()).unwrap();
        assert!(reason.contains("--allow-destructive"), "{reason}");
        let allowed = ApiPolicy {
            allow_destructive: true,
        };
        assert_eq!(gate(&case, &none, allowed), None);
        assert_eq!(gate(&case, &all, ApiPolicy::default()), None);
    }

    #[test]
    fn every_unfilled_row_names_a_response_field_once() {
        let rows: Vec<(String, String)> = UNFILLED_FIELDS
            .lines()
            .skip(1)
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .map(|l| {
                let mut cols = l.split('\t');
                (
                    cols.next().unwrap_or_default().to_string(),
                    cols.next().unwrap_or_default().to_string(),
                )
            })
            .collect();
        let table = unfilled_fields();
        assert_eq!(table.len(), rows.len(), "a row is repeated");
        for (rpc, path) in table.keys() {
            let fields = conformance_core::apicase::fields::response_fields(rpc);
            assert!(
                fields.iter().any(|f| f.to_string() == *path),
                "unfilled-response-fields.tsv: {rpc} has no response field {path}"
            );
        }
    }

    #[test]
    fn removing_the_cases_of_one_rpc_fails_coverage() {
        let mut cases = api_cases();
        let victim = cases[0].rpc.clone();
        let before = uncovered(&cases);
        assert!(!before.contains(&victim));
        cases.retain(|c| c.rpc != victim);
        let after = uncovered(&cases);
        assert!(after.contains(&victim), "{victim} should now be uncovered");
        assert_eq!(after.len(), before.len() + 1);
    }
}
