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
use conformance_core::fixtures::BundleBuilder;
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
    pub duration_ms: u64,
}

#[derive(Debug, Serialize)]
struct Score {
    caught: usize,
    total: usize,
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
fn plugin_args(mode: &str, options: &[(&str, &str)], dir: &Path) -> Result<Vec<OsString>, String> {
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
            let mut args = plugin_args(mode, &[], &dir.join("bundle"))?;
            for glob in &run.run {
                args.extend(["--run".into(), glob.into()]);
            }
            Ok(args)
        }
        m => Ok(run_args(Some(m), &run.run, &run.skip)),
    }
}

/// Runs `exe ARGS` (`run` or `plugin`) with its reports in `out_dir` and reads its JSON
/// report.
async fn run_selection(
    exe: &Path,
    args: Vec<OsString>,
    out_dir: &Path,
) -> Result<RunReport, String> {
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
    RunReport::read(&report).map_err(|e| {
        let tail: String = stderr.lines().rev().take(5).collect::<Vec<_>>().join(" | ");
        format!("no report ({status}): {e}; stderr: {tail}")
    })
}

fn judge(run: &MutantRun, outcome: Result<RunReport, String>, started: Instant) -> MutantResult {
    let mut result = MutantResult {
        mutant: run.mutant.to_string(),
        clause: run.mutant.clause(),
        description: run.mutant.description(),
        cases_run: 0,
        caught_by: Vec::new(),
        evidence: None,
        error: None,
        duration_ms: 0,
    };
    match outcome {
        Ok(report) => {
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
    let mut out = format!(
        "## Mutation score\n\n**{} / {} mutants caught** ({:.1}%): {} generated (one per PluginAPI rpc, \
         per hook request, per hook answer with fields), {} catalogued (host protocol mutants and broken \
         plugins); baselines: {} cases, all passing; {:.1} s.\n\n",
        score.caught,
        score.total,
        percent(score.caught, score.total),
        score.generated,
        score.catalogued,
        score.baseline_cases,
        score.duration_ms as f64 / 1000.0
    );
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
            "conformance-plugin",
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
    let caught = results
        .iter()
        .filter(|r| r.error.is_none() && !r.caught_by.is_empty())
        .count();
    let score = Score {
        caught,
        total,
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
            .filter(|r| r.error.is_none() && r.caught_by.is_empty())
            .map(|r| r.mutant.clone())
            .collect(),
        errors: results
            .iter()
            .filter_map(|r| r.error.as_ref().map(|e| format!("{}: {e}", r.mutant)))
            .collect(),
        mutants: results,
    };
    std::fs::create_dir_all(&args.out_dir)?;
    let json = args.out_dir.join("mutants.json");
    let md = args.out_dir.join("mutants.md");
    std::fs::write(&json, serde_json::to_string_pretty(&score)?)?;
    std::fs::write(&md, markdown(&score))?;
    println!(
        "mutation score: {caught}/{total} mutants caught ({:.1}%) in {:.1} s",
        percent(caught, total),
        score.duration_ms as f64 / 1000.0
    );
    for m in &score.surviving {
        println!("survived: {m}");
    }
    for e in &score.errors {
        println!("error: {e}");
    }
    println!("reports: {} {}", json.display(), md.display());
    Ok(if caught == total {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
