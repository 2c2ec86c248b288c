//! `plugin-conformance mutants`: the mutation score. Every mutant of
//! `conformance_core::mutants` is run as `plugin-conformance run --mutant NAME` over its
//! selection (`conformance_suites::mutation`), in a process of its own; a mutant is caught
//! when at least one selected case fails against it. The same selections run once without
//! a mutant first: a baseline that fails would make every "caught" meaningless.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use conformance_core::fixtures::{BundleBuilder, FakeMode};
use conformance_core::mutants::Mutant;
use conformance_core::report::RunReport;
use conformance_core::runner::Filter;
use conformance_suites::mutation::{MutantRun, baseline, plan};
use serde::Serialize;
use tokio::io::AsyncReadExt;

/// Longest a single mutant run may take (every case inside has its own, shorter timeout).
const RUN_LIMIT: Duration = Duration::from_secs(300);

#[derive(Args, Debug)]
pub struct MutantsArgs {
    /// List the mutants (name, clause, what breaks, selection) and run nothing.
    #[arg(long)]
    list: bool,
    /// Only mutants whose name matches this glob (repeatable), e.g. `protocol/*`.
    #[arg(long = "only", value_name = "GLOB")]
    only: Vec<String>,
    /// Mutant runs at once (each runs its cases 16 at a time: they mostly wait).
    #[arg(long, default_value_t = 3)]
    jobs: usize,
    /// Directory for `mutants.json` and `mutants.md`.
    #[arg(long, default_value = "reports")]
    out_dir: PathBuf,
    /// Run only this many of the `api-drop-field` mutants, the same ones every time (a fixed
    /// hash of their names orders them): for `cargo test`, where the whole family is too slow.
    #[arg(long, value_name = "N")]
    sample_drop_field: Option<usize>,
}

/// The least share of the exercised `api-drop-field` mutants that must be caught (a gate),
/// and the share of "not exercised" ones aimed at (reported, not a gate: each of those must
/// instead be justified in `unfilled-response-fields.tsv`). Every other family must be
/// caught whole.
const DROP_FIELD_CAUGHT_MIN: f64 = 98.0;
const DROP_FIELD_UNEXERCISED_AIM: f64 = 5.0;

/// FNV-1a of `name`: a stable order for sampling (the same sample on every machine).
fn stable_hash(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Keeps `n` of the `api-drop-field` mutants of `runs` (the first by [`stable_hash`]) and
/// every other mutant.
fn sample_drop_field(runs: Vec<MutantRun>, n: usize) -> Vec<MutantRun> {
    let mut drop: Vec<(u64, String)> = runs
        .iter()
        .filter(|r| matches!(r.mutant, Mutant::ApiDropField(..)))
        .map(|r| (stable_hash(&r.mutant.to_string()), r.mutant.to_string()))
        .collect();
    drop.sort();
    let keep: std::collections::BTreeSet<String> =
        drop.into_iter().take(n).map(|(_, name)| name).collect();
    runs.into_iter()
        .filter(|r| {
            !matches!(r.mutant, Mutant::ApiDropField(..)) || keep.contains(&r.mutant.to_string())
        })
        .collect()
}

/// The family of a mutant's name (`api-default`, `api-drop-field`, ...).
fn family(name: &str) -> &str {
    name.split('/').next().unwrap_or(name)
}

/// One family's figures.
#[derive(Debug, Default, Clone, Serialize)]
struct FamilyScore {
    total: usize,
    caught: usize,
    not_exercised: usize,
}

/// What one mutant came to.
#[derive(Debug, Clone, Serialize)]
pub struct MutantResult {
    pub mutant: String,
    pub clause: String,
    pub description: String,
    /// Cases run against it.
    pub cases_run: usize,
    /// The cases that failed against it (empty: it survived).
    pub caught_by: Vec<String>,
    /// The first failed assertion of the first catching case.
    pub evidence: Option<String>,
    /// Why the run itself could not be judged.
    pub error: Option<String>,
    /// How many answers the mutant changed (`api-drop-field` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effects: Option<u64>,
    /// The mutant changed no answer in its whole run: the field it drops was never filled
    /// in any response its cases saw, so no case could have caught it. Counted apart.
    pub not_exercised: bool,
    pub duration_ms: u64,
}

#[derive(Debug, Serialize)]
struct Score {
    /// Caught, of the exercised mutants.
    caught: usize,
    total: usize,
    /// `api-drop-field` mutants that changed no answer (counted apart, not in `caught`).
    not_exercised: Vec<String>,
    /// Not-exercised mutants whose field `unfilled-response-fields.tsv` does not justify.
    not_exercised_unjustified: Vec<String>,
    families: std::collections::BTreeMap<String, FamilyScore>,
    /// Why the score fails its gates (empty: it passes).
    gate_failures: Vec<String>,
    generated: usize,
    catalogued: usize,
    baseline_cases: usize,
    duration_ms: u64,
    surviving: Vec<String>,
    errors: Vec<String>,
    mutants: Vec<MutantResult>,
}

/// The arguments of `run` over a selection, optionally against a host mutant.
fn run_args(mutant: Option<&Mutant>, run: &[String], skip: &[String]) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec!["run".into()];
    if let Some(m) = mutant {
        args.extend(["--mutant".into(), m.to_string().into()]);
    }
    for glob in run {
        args.extend(["--run".into(), glob.into()]);
    }
    for glob in skip {
        args.extend(["--skip".into(), glob.into()]);
    }
    args
}

/// Writes a fake plugin bundle in `mode` (its interpreter is this very binary) and returns
/// the arguments of the plugin suite against it.
fn plugin_args(
    mode: FakeMode,
    options: &[(&str, &str)],
    dir: &Path,
) -> Result<Vec<OsString>, String> {
    let mut builder =
        BundleBuilder::new(mode).plugin_id(&format!("com.mattermost.conformance.mutant-{mode}"));
    for (k, v) in options {
        builder = builder.option(k, v);
    }
    let bundle = builder.write(dir)?;
    Ok(vec![
        "plugin".into(),
        "--bundle".into(),
        bundle.dir.into_os_string(),
    ])
}

/// The arguments that check `run`: the suites against the host mutant, or the plugin
/// suite against a bundle of the broken plugin (written under `dir`).
fn args_for(run: &MutantRun, dir: &Path) -> Result<Vec<OsString>, String> {
    match &run.mutant {
        Mutant::PluginMode(mode) => {
            let mut args = plugin_args(*mode, &[], &dir.join("bundle"))?;
            for glob in &run.run {
                args.extend(["--run".into(), glob.into()]);
            }
            Ok(args)
        }
        m => Ok(run_args(Some(m), &run.run, &run.skip)),
    }
}

/// What a selection's run came to: its JSON report, and how many answers its mutant
/// changed when the mutant counts them (`api-drop-field`).
struct SelectionRun {
    report: RunReport,
    effects: Option<u64>,
}

/// Runs `exe ARGS` (`run` or `plugin`) with its reports in `out_dir` and reads its JSON
/// report.
async fn run_selection(
    exe: &Path,
    args: Vec<OsString>,
    out_dir: &Path,
) -> Result<SelectionRun, String> {
    let mut command = tokio::process::Command::new(exe);
    command.args(args);
    command
        .arg("--out-dir")
        .arg(out_dir)
        .args(["--jobs", "16"])
        .env("CI", "true")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    // SAFETY: die_with_parent only calls prctl, which is async-signal-safe.
    unsafe {
        command.pre_exec(conformance_core::process::die_with_parent);
    }
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", exe.display()))?;
    let group = conformance_core::process::ProcessGroup::new(child.id().unwrap_or_default());
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let read_stderr = async move {
        let mut text = Vec::new();
        let _ = stderr.read_to_end(&mut text).await;
        String::from_utf8_lossy(&text).into_owned()
    };
    let waited = tokio::time::timeout(RUN_LIMIT, async {
        let (status, text) = tokio::join!(child.wait(), read_stderr);
        (status, text)
    })
    .await;
    let (status, stderr) = match waited {
        Ok(result) => result,
        Err(_) => {
            group.kill();
            return Err(format!("the run did not finish within {RUN_LIMIT:?}"));
        }
    };
    let status = status.map_err(|e| format!("waiting for the run failed: {e}"))?;
    let report = out_dir.join("conformance.json");
    let report = RunReport::read(&report).map_err(|e| {
        let tail: String = stderr.lines().rev().take(5).collect::<Vec<_>>().join(" | ");
        format!("no report ({status}): {e}; stderr: {tail}")
    })?;
    Ok(SelectionRun {
        report,
        effects: conformance_core::mutants::parse_effects_line(&stderr),
    })
}

fn judge(run: &MutantRun, outcome: Result<SelectionRun, String>, started: Instant) -> MutantResult {
    let mut result = MutantResult {
        mutant: run.mutant.to_string(),
        clause: run.mutant.clause(),
        description: run.mutant.description(),
        cases_run: 0,
        caught_by: Vec::new(),
        evidence: None,
        error: None,
        effects: None,
        not_exercised: false,
        duration_ms: 0,
    };
    match outcome {
        Ok(SelectionRun { report, effects }) => {
            result.effects = effects;
            if matches!(run.mutant, Mutant::ApiDropField(..)) {
                match effects {
                    Some(0) => result.not_exercised = true,
                    Some(_) => {}
                    None => {
                        result.error =
                            Some("the run did not say how many answers the mutant changed".into())
                    }
                }
            }
            result.cases_run = report.cases.len();
            let caught: Vec<_> = report
                .cases
                .iter()
                .filter(|c| c.status.is_failure())
                .collect();
            result.evidence = caught.first().map(|c| {
                c.first_failed_assertion()
                    .or_else(|| c.message.clone())
                    .unwrap_or_else(|| c.status.to_string())
            });
            result.caught_by = caught.iter().map(|c| c.name.clone()).collect();
        }
        Err(e) => result.error = Some(e),
    }
    result.duration_ms = started.elapsed().as_millis() as u64;
    result
}

fn markdown(score: &Score) -> String {
    let exercised = score.total - score.not_exercised.len();
    let mut out = format!(
        "## Mutation score\n\n**{} / {} exercised mutants caught** ({:.1}%), {} not exercised: {} generated \
         (per PluginAPI rpc, per response field, per hook request, per hook answer with fields), {} \
         catalogued (host protocol mutants and broken plugins); baselines: {} cases, all passing; {:.1} s.\n\n",
        score.caught,
        exercised,
        percent(score.caught, exercised),
        score.not_exercised.len(),
        score.generated,
        score.catalogued,
        score.baseline_cases,
        score.duration_ms as f64 / 1000.0
    );
    out.push_str("| family | mutants | caught | not exercised |\n|---|---:|---:|---:|\n");
    for (name, f) in &score.families {
        out.push_str(&format!(
            "| `{name}` | {} | {} | {} |\n",
            f.total, f.caught, f.not_exercised
        ));
    }
    out.push('\n');
    if score.gate_failures.is_empty() {
        out.push_str("Every gate holds.\n\n");
    } else {
        out.push_str("### Gates failed\n\n");
        for g in &score.gate_failures {
            out.push_str(&format!("* {g}\n"));
        }
        out.push('\n');
    }
    if !score.not_exercised.is_empty() {
        out.push_str("### Not exercised (no response of the run carried the field)\n\n");
        for m in &score.not_exercised {
            let mark = if score.not_exercised_unjustified.contains(m) {
                " (not in unfilled-response-fields.tsv)"
            } else {
                ""
            };
            out.push_str(&format!("* `{m}`{mark}\n"));
        }
        out.push('\n');
    }
    if score.surviving.is_empty() {
        out.push_str("No mutant survived.\n\n");
    } else {
        out.push_str("### Surviving\n\n");
        for m in &score.surviving {
            out.push_str(&format!("* `{m}`\n"));
        }
        out.push('\n');
    }
    out.push_str("| mutant | clause | cases run | caught by |\n|---|---|---:|---|\n");
    for m in &score.mutants {
        let caught = match (&m.error, m.caught_by.first()) {
            (Some(e), _) => format!("error: {e}"),
            (None, _) if m.not_exercised => "not exercised".to_string(),
            (None, None) => "**survived**".to_string(),
            (None, Some(first)) if m.caught_by.len() == 1 => format!("`{first}`"),
            (None, Some(first)) => format!("`{first}` and {} more", m.caught_by.len() - 1),
        };
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            m.mutant,
            m.clause.replace('|', "\\|"),
            m.cases_run,
            caught.replace('|', "\\|")
        ));
    }
    out
}

fn percent(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

pub async fn mutants(args: MutantsArgs) -> anyhow::Result<ExitCode> {
    let only = Filter::new(&args.only, &[])?;
    let runs: Vec<MutantRun> = plan()
        .into_iter()
        .filter(|r| only.selects(&r.mutant.to_string()))
        .collect();
    if runs.is_empty() {
        anyhow::bail!("no mutant matches {:?}", args.only);
    }
    let runs = match args.sample_drop_field {
        Some(n) => sample_drop_field(runs, n),
        None => runs,
    };
    if args.list {
        for r in &runs {
            println!(
                "{:<52} {}\n    {}\n    cases: {} (skip: {})",
                r.mutant.to_string(),
                r.mutant.clause(),
                r.mutant.description(),
                if r.run.len() > 6 {
                    format!("{} named cases", r.run.len())
                } else {
                    r.run.join(" ")
                },
                if r.skip.is_empty() {
                    "none".to_string()
                } else {
                    r.skip.join(" ")
                }
            );
        }
        eprintln!("{} mutants", runs.len());
        return Ok(ExitCode::SUCCESS);
    }
    let exe = std::env::current_exe()?;
    // Some mutants leave processes behind on purpose (a host that does not kill the
    // plugin's group); as their reaper this process kills them when the score is done.
    conformance_core::process::become_subreaper()?;
    let scratch = conformance_core::scratch::dir("mutants")?;
    let started = Instant::now();

    // Baselines: the host mutants' selections against the unmutated host, and the plugin
    // suite against a healthy conformance plugin. Each must pass every case it runs.
    let mut baselines = Vec::new();
    let globs = baseline(&runs);
    if !globs.is_empty() {
        baselines.push((
            "the unmutated reference host",
            run_args(None, &globs, &[]),
            scratch.path().join("baseline-host"),
        ));
    }
    if runs
        .iter()
        .any(|r| matches!(r.mutant, Mutant::PluginMode(_)))
    {
        let dir = scratch.path().join("baseline-plugin");
        let args = plugin_args(
            FakeMode::ConformancePlugin,
            &[("hooks", "all")],
            &dir.join("bundle"),
        )
        .map_err(anyhow::Error::msg)?;
        baselines.push(("a healthy conformance plugin (fake)", args, dir));
    }
    let mut baseline_cases = 0;
    for (what, args, dir) in baselines {
        let base = run_selection(&exe, args, &dir.join("reports"))
            .await
            .map(|r| r.report)
            .map_err(|e| anyhow::anyhow!("the baseline run against {what} failed to run: {e}"))?;
        let failing: Vec<&str> = base
            .cases
            .iter()
            .filter(|c| c.status.is_failure())
            .map(|c| c.name.as_str())
            .collect();
        if !failing.is_empty() {
            anyhow::bail!(
                "{what} fails {} of the selected cases ({}); a mutation score against it would \
                 mean nothing",
                failing.len(),
                failing.join(", ")
            );
        }
        eprintln!("baseline: {} cases pass against {what}", base.cases.len());
        baseline_cases += base.cases.len();
    }

    let limit = Arc::new(tokio::sync::Semaphore::new(args.jobs.max(1)));
    let mut tasks = Vec::new();
    for (i, run) in runs.iter().cloned().enumerate() {
        let limit = limit.clone();
        let exe = exe.clone();
        let dir = scratch.path().join(format!("m{i}"));
        tasks.push(tokio::spawn(async move {
            let _permit = limit.acquire_owned().await.expect("semaphore open");
            let t = Instant::now();
            let outcome = match args_for(&run, &dir) {
                Ok(args) => run_selection(&exe, args, &dir.join("reports")).await,
                Err(e) => Err(format!("cannot prepare the mutant: {e}")),
            };
            let _ = std::fs::remove_dir_all(&dir);
            judge(&run, outcome, t)
        }));
    }
    let mut results = Vec::with_capacity(tasks.len());
    for task in tasks {
        results.push(task.await?);
    }
    let left = tokio::task::spawn_blocking(conformance_core::process::kill_children).await?;
    if !left.is_empty() {
        eprintln!(
            "killed {} process(es) the mutants left behind (mutants such as \
             protocol/kill-leader-only leak them on purpose): {}",
            left.len(),
            left.join("; ")
        );
    }
    let total = results.len();
    let judged = |r: &&MutantResult| r.error.is_none() && !r.not_exercised;
    let caught = results
        .iter()
        .filter(judged)
        .filter(|r| !r.caught_by.is_empty())
        .count();
    let mut families: std::collections::BTreeMap<String, FamilyScore> = Default::default();
    for r in &results {
        let f = families.entry(family(&r.mutant).to_string()).or_default();
        f.total += 1;
        f.not_exercised += usize::from(r.not_exercised);
        f.caught += usize::from(judged(&r) && !r.caught_by.is_empty());
    }
    let not_exercised: Vec<String> = results
        .iter()
        .filter(|r| r.not_exercised)
        .map(|r| r.mutant.clone())
        .collect();
    let justified = conformance_suites::api::unfilled_fields();
    // Results come back in the order of `runs` (one task per run, awaited in turn).
    let not_exercised_unjustified: Vec<String> = runs
        .iter()
        .zip(&results)
        .filter(|(_, r)| r.not_exercised)
        .filter(|(run, _)| match &run.mutant {
            Mutant::ApiDropField(rpc, path) => {
                !justified.contains_key(&(rpc.clone(), path.to_string()))
            }
            _ => true,
        })
        .map(|(_, r)| r.mutant.clone())
        .collect();
    let mut gate_failures = Vec::new();
    for (name, f) in &families {
        let exercised = f.total - f.not_exercised;
        if name == "api-drop-field" {
            let caught_pct = percent(f.caught, exercised);
            if exercised > 0 && caught_pct < DROP_FIELD_CAUGHT_MIN {
                gate_failures.push(format!(
                    "{name}: {:.1} % of the exercised mutants caught, below {DROP_FIELD_CAUGHT_MIN} %",
                    caught_pct
                ));
            }
            // Not a gate: a field upstream never fills cannot be exercised by a faithful
            // case, so what counts is that each such mutant is justified (below); the
            // share is reported against the 5 % aim.
            if percent(f.not_exercised, f.total) > DROP_FIELD_UNEXERCISED_AIM {
                eprintln!(
                    "note: {name}: {:.1} % not exercised, above the {DROP_FIELD_UNEXERCISED_AIM} % aim; each is justified in fixtures/protocol/unfilled-response-fields.tsv or fails the gate",
                    percent(f.not_exercised, f.total)
                );
            }
        } else if f.caught < f.total {
            gate_failures.push(format!(
                "{name}: {} of {} caught, not all",
                f.caught, f.total
            ));
        }
    }
    if !not_exercised_unjustified.is_empty() {
        gate_failures.push(format!(
            "{} not-exercised mutant(s) whose field fixtures/protocol/unfilled-response-fields.tsv does not justify",
            not_exercised_unjustified.len()
        ));
    }
    let errors: Vec<String> = results
        .iter()
        .filter_map(|r| r.error.as_ref().map(|e| format!("{}: {e}", r.mutant)))
        .collect();
    if !errors.is_empty() {
        gate_failures.push(format!(
            "{} mutant run(s) could not be judged",
            errors.len()
        ));
    }
    let score = Score {
        caught,
        total,
        not_exercised,
        not_exercised_unjustified,
        families,
        gate_failures,
        generated: runs
            .iter()
            .filter(|r| !matches!(r.mutant, Mutant::Protocol(_) | Mutant::PluginMode(_)))
            .count(),
        catalogued: runs
            .iter()
            .filter(|r| matches!(r.mutant, Mutant::Protocol(_) | Mutant::PluginMode(_)))
            .count(),
        baseline_cases,
        duration_ms: started.elapsed().as_millis() as u64,
        surviving: results
            .iter()
            .filter(judged)
            .filter(|r| r.caught_by.is_empty())
            .map(|r| r.mutant.clone())
            .collect(),
        errors,
        mutants: results,
    };
    std::fs::create_dir_all(&args.out_dir)?;
    let json = args.out_dir.join("mutants.json");
    let md = args.out_dir.join("mutants.md");
    std::fs::write(&json, serde_json::to_string_pretty(&score)?)?;
    std::fs::write(&md, markdown(&score))?;
    let exercised = total - score.not_exercised.len();
    println!(
        "mutation score: {caught}/{exercised} exercised mutants caught ({:.1}%), {} not exercised, in {:.1} s",
        percent(caught, exercised),
        score.not_exercised.len(),
        score.duration_ms as f64 / 1000.0
    );
    for (name, f) in &score.families {
        println!(
            "  {name}: {}/{} caught{}",
            f.caught,
            f.total - f.not_exercised,
            if f.not_exercised > 0 {
                format!(", {} not exercised", f.not_exercised)
            } else {
                String::new()
            }
        );
    }
    for m in &score.surviving {
        println!("survived: {m}");
    }
    for m in &score.not_exercised_unjustified {
        println!("not exercised, not justified: {m}");
    }
    for e in &score.errors {
        println!("error: {e}");
    }
    for g in &score.gate_failures {
        println!("gate: {g}");
    }
    println!("reports: {} {}", json.display(), md.display());
    Ok(if score.gate_failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
