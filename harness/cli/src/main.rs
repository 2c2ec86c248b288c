//! `plugin-conformance`: runs the conformance suites and writes reports.
//!
//! * `run`: the self-conformance run (reference host against the fake plugins); writes
//!   JUnit, JSON and a Markdown summary (by default under `reports/`), prints a summary,
//!   and exits 0 only when every MUST case passed.
//! * `list`: the cases, with level and clause.
//! * `serve-api`: the reference PluginAPI server on its own.

mod bundle_cmd;
mod diff;
mod execute;
mod host_cmd;
mod mutants_cmd;
mod plugin_cmd;

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use conformance_core::report::SubjectInfo;
use conformance_core::runner::{Case, Filter};

use execute::{ExecutionArgs, execute};

#[derive(Parser)]
#[command(name = "plugin-conformance", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the cases: the reference host against the fake plugins.
    Run(RunArgs),
    /// List the cases.
    List(ListArgs),
    /// Serve the reference PluginAPI on its own (with gRPC reflection); prints the bound
    /// address as the first stdout line and serves until SIGINT or SIGTERM.
    ServeApi(ServeApiArgs),
    /// Compare two JSON reports: regressions, fixes, new and removed cases, and every
    /// request (hook plus request) whose answer changed. Exits 1 on any regression or
    /// unexpected answer change, 0 otherwise, 2 when a report cannot be read.
    Diff(DiffArgs),
    /// Validate a host through its driver (`proto/harness/v1/driver.proto`): runs every
    /// host-side case against the driver started by CMD.
    Host(host_cmd::HostArgs),
    /// Serve the reference host behind the driver contract (announcement line on stdout).
    ReferenceHost(host_cmd::ReferenceHostArgs),
    /// Write a bundle of the Python reference plugin to DIR; prints its path.
    ReferencePlugin(bundle_cmd::ReferencePluginArgs),
    /// The mutation score: runs the suites against every mutant of the reference host
    /// (one per PluginAPI rpc, per hook, per catalogued protocol clause) and counts those
    /// some case catches. Exits 0 only when every mutant is caught.
    Mutants(mutants_cmd::MutantsArgs),
    /// Check any plugin bundle (a directory with plugin.json) through the reference host:
    /// handshake, health, Implemented, every listed hook, ServeHTTP, shutdown manners, and
    /// BEHAVIOUR.md when the manifest declares it. Same reports and exit codes as `run`.
    Plugin(plugin_cmd::PluginArgs),
}

#[derive(Args)]
struct ServeApiArgs {
    /// Address to listen on; port 0 picks a free port. Loopback unless told otherwise.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: std::net::SocketAddr,
    /// Plugin id of callers that send no `x-mattermost-plugin-id` header (KV namespace).
    #[arg(long, default_value = "com.mattermost.conformance.client")]
    plugin_id: String,
    /// Start with a small fixture dataset (a team, three users, two channels, a thread);
    /// its ids are printed as JSON on the second stdout line.
    #[arg(long)]
    seed: bool,
    /// Allow a non-loopback listen address.
    #[arg(long)]
    allow_remote: bool,
}

#[derive(Args)]
struct DiffArgs {
    /// The earlier JSON report (e.g. of the base branch).
    old: std::path::PathBuf,
    /// The later JSON report.
    new: std::path::PathBuf,
    /// Also write the differences as Markdown to PATH (e.g. $GITHUB_STEP_SUMMARY).
    #[arg(long, value_name = "PATH")]
    markdown: Option<std::path::PathBuf>,
    /// An answer change that is expected, with the reason: GLOB matches the case name or
    /// the hook name (`*` crosses `/`). Repeatable. E.g.
    /// 'MessageWillBePosted=the SDK now trims messages (#123)'.
    #[arg(long, value_name = "GLOB=REASON")]
    accept_answer_changes: Vec<String>,
}

#[derive(Args)]
struct ListArgs {
    #[command(flatten)]
    select: SelectArgs,
    /// Also print, under each case, the upstream code or tests its expectations come from.
    #[arg(long)]
    provenance: bool,
}

#[derive(Args)]
struct SelectArgs {
    /// Only cases whose name matches this glob (repeatable; `*` crosses `/`).
    #[arg(long = "run", value_name = "GLOB")]
    run: Vec<String>,
    /// Leave out cases whose name matches this glob (repeatable).
    #[arg(long = "skip", value_name = "GLOB")]
    skip: Vec<String>,
}

#[derive(Args)]
struct RunArgs {
    #[command(flatten)]
    select: SelectArgs,
    #[command(flatten)]
    execution: ExecutionArgs,
    /// Run against a deliberately broken reference host: the named mutant (see
    /// `plugin-conformance mutants --list`). Used by the mutation score.
    #[arg(long, value_name = "NAME")]
    mutant: Option<conformance_core::mutants::Mutant>,
}

/// Refuses to go on when an embedded API case file is invalid (exit 2, naming the file
/// and the case), rather than running half a specification.
pub(crate) fn check_case_files() -> anyhow::Result<()> {
    conformance_suites::api::loaded()
        .map(|_| ())
        .map_err(|e| anyhow::anyhow!("invalid API case file: {e}"))
}

fn select(args: &SelectArgs) -> anyhow::Result<Vec<Case>> {
    check_case_files()?;
    let filter = Filter::new(&args.run, &args.skip)?;
    let cases = conformance_suites::selected(&|name| filter.selects(name));
    Ok(filter.apply(cases, |c| c.name.as_str())?)
}

fn list(args: &ListArgs) -> anyhow::Result<ExitCode> {
    let cases = select(&args.select)?;
    for c in &cases {
        println!(
            "{:<48} {:<6} {:<60} {}",
            c.name, c.level, c.clause, c.summary
        );
        if args.provenance {
            for line in &c.provenance {
                println!("    provenance: {line}");
            }
        }
    }
    eprintln!("{} cases", cases.len());
    Ok(ExitCode::SUCCESS)
}

async fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let mutant = args.mutant.clone();
    if let Some(mutant) = &mutant {
        conformance_core::mutants::activate(mutant.clone()).map_err(anyhow::Error::msg)?;
    }
    let cases = select(&args.select)?;
    tokio::task::spawn_blocking(conformance_core::fixtures::fake_interpreter)
        .await?
        .map_err(anyhow::Error::msg)?;
    // Prepare the Python reference plugin before the clock of any case starts; when it
    // cannot be had, its cases skip themselves with the reason.
    if cases
        .iter()
        .any(|c| conformance_suites::needs_python(&c.name))
        && let Err(reason) =
            tokio::task::spawn_blocking(conformance_core::python_reference::prepare).await?
    {
        eprintln!("Python reference plugin cases will be skipped: {reason}");
    }
    let subject = SubjectInfo {
        kind: "self-test".into(),
        name: match &mutant {
            None => "reference host vs fake plugins".into(),
            Some(m) => format!("mutant {m} of the reference host vs fake plugins"),
        },
        version: env!("CARGO_PKG_VERSION").into(),
    };
    let code = execute(cases, subject, &args.execution).await?;
    if let Some(m @ conformance_core::mutants::Mutant::ApiDropField(..)) = &mutant {
        eprintln!(
            "{}",
            conformance_core::mutants::effects_line(m, conformance_core::mutants::effects())
        );
    }
    Ok(code)
}

async fn serve_api(args: ServeApiArgs) -> anyhow::Result<ExitCode> {
    use conformance_core::api::{ApiServer, ReferenceApi, SharedStore};
    use std::io::Write;
    if !args.listen.ip().is_loopback() && !args.allow_remote {
        anyhow::bail!(
            "refusing to listen on {} (not loopback); pass --allow-remote to expose the API",
            args.listen
        );
    }
    let store = SharedStore::default();
    let seeded = if args.seed {
        let mut guard = store.lock().expect("fresh store");
        Some(
            conformance_core::api::seed::seed(&mut guard, &args.plugin_id)
                .map_err(anyhow::Error::msg)?,
        )
    } else {
        None
    };
    let server =
        ApiServer::start_with(args.listen, ReferenceApi::new(&args.plugin_id, store), true).await?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", server.address())?;
    if let Some(seeded) = seeded {
        writeln!(out, "{}", serde_json::to_string(&seeded)?)?;
    }
    out.flush()?;
    drop(out);
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    server.stop().await;
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    if fake_interpreter::is_invocation(&args) {
        fake_interpreter::main(args);
    }
    // Bundles this process writes link their interpreter to this very binary.
    if let Ok(exe) = std::env::current_exe() {
        conformance_core::fixtures::prefer_fake_interpreter(exe);
    }
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::List(args) => list(&args),
        Command::ReferencePlugin(args) => bundle_cmd::reference_plugin(args),
        Command::Diff(args) => diff::diff(
            &args.old,
            &args.new,
            args.markdown.as_deref(),
            &args.accept_answer_changes,
        ),
        Command::Run(args) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(anyhow::Error::from)
            .and_then(|rt| rt.block_on(run(args))),
        Command::Host(args) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(anyhow::Error::from)
            .and_then(|rt| rt.block_on(host_cmd::host(args))),
        Command::ReferenceHost(args) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(anyhow::Error::from)
            .and_then(|rt| rt.block_on(host_cmd::reference_host(args))),
        Command::Plugin(args) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(anyhow::Error::from)
            .and_then(|rt| rt.block_on(plugin_cmd::plugin(args))),
        Command::Mutants(args) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(anyhow::Error::from)
            .and_then(|rt| rt.block_on(mutants_cmd::mutants(args))),
        Command::ServeApi(args) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(anyhow::Error::from)
            .and_then(|rt| rt.block_on(serve_api(args))),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("plugin-conformance: {e:#}");
            ExitCode::from(2)
        }
    }
}
