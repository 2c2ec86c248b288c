//! `plugin-conformance host -- CMD [ARGS...]` (validate any host through its driver) and
//! `plugin-conformance reference-host` (the reference host behind the driver contract).

use std::process::ExitCode;
use std::sync::Arc;

use std::collections::BTreeSet;

use clap::Args;
use conformance_core::apicase::Capability;
use conformance_core::driver::process::DriverProcess;
use conformance_core::driver::reference::ReferenceDriver;
use conformance_core::report::SubjectInfo;
use conformance_core::runner::Filter;
use conformance_core::supervisor::HostConfig;

use crate::execute::{ExecutionArgs, execute};

#[derive(Args)]
pub struct HostArgs {
    /// Only cases whose name matches this glob (repeatable; `*` crosses `/`).
    #[arg(long = "run", value_name = "GLOB")]
    run: Vec<String>,
    /// Leave out cases whose name matches this glob (repeatable).
    #[arg(long = "skip", value_name = "GLOB")]
    skip: Vec<String>,
    #[command(flatten)]
    execution: ExecutionArgs,
    /// Also run the API cases marked destructive (they change server state that their
    /// cleanup cannot restore) on a host whose cases share one store, such as a live
    /// server. Without it they are skipped with the reason.
    #[arg(long)]
    allow_destructive: bool,
    /// The driver command and its arguments (after `--`).
    #[arg(last = true, required = true, value_name = "CMD")]
    command: Vec<String>,
}

#[derive(Args)]
pub struct ReferenceHostArgs {
    /// Address to listen on (port 0: any free port). Loopback only.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: std::net::SocketAddr,
    /// Serve a deliberately broken reference host: the named mutant (see
    /// `plugin-conformance mutants --list`).
    #[arg(long, value_name = "NAME")]
    mutant: Option<conformance_core::mutants::Mutant>,
    /// The capabilities to declare and honour, comma-separated, or `none` (every plugin
    /// then shares one store and the harness's request metadata is ignored, as on a real
    /// Mattermost server) [default: all: api-sessions,plugin-identity,call-log].
    #[arg(long, value_name = "LIST")]
    capabilities: Option<String>,
}

/// Starts the driver, runs the host cases through it, stops it.
pub async fn host(args: HostArgs) -> anyhow::Result<ExitCode> {
    let filter = Filter::new(&args.run, &args.skip)?;
    crate::check_case_files()?;
    tokio::task::spawn_blocking(conformance_core::fixtures::fake_interpreter)
        .await?
        .map_err(anyhow::Error::msg)?;
    let driver = Arc::new(DriverProcess::start(&args.command).await?);
    let capabilities = match driver.capabilities() {
        Ok(c) => c,
        Err(e) => {
            driver.request_shutdown().await;
            anyhow::bail!("the driver's Describe: {e}");
        }
    };
    eprintln!(
        "driver: {} {} at {} (HTTP {}, capabilities: {})",
        driver.description.name,
        driver.description.version,
        driver.address,
        if driver.description.http_base_url.is_empty() {
            "none"
        } else {
            &driver.description.http_base_url
        },
        if capabilities.is_empty() {
            "none".to_string()
        } else {
            capabilities
                .iter()
                .map(|c| c.name())
                .collect::<Vec<_>>()
                .join(", ")
        }
    );
    let policy = conformance_suites::api::ApiPolicy {
        allow_destructive: args.allow_destructive,
    };
    let cases = filter.apply(
        conformance_suites::host::cases(driver.clone(), policy),
        |c| c.name.as_str(),
    );
    let subject = SubjectInfo {
        kind: "host".into(),
        name: driver.description.name.clone(),
        version: driver.description.version.clone(),
    };
    let code = match cases {
        Ok(cases) => execute(cases, subject, &args.execution).await,
        Err(e) => Err(e.into()),
    };
    // A driver that went away makes the run say nothing of the host: exit 2, as for any
    // run that could not be carried out, with the diagnosis (the report has it too, as
    // the root cause `host/driver/alive`).
    let code = match (code, driver.gone()) {
        (Ok(_), Some(gone)) => {
            eprintln!("plugin-conformance: the run could not be carried out: {gone}");
            Ok(ExitCode::from(2))
        }
        (code, _) => code,
    };
    // Every case holds a clone until it is dropped with the case list.
    match Arc::try_unwrap(driver) {
        Ok(driver) => {
            if !driver.stop().await {
                eprintln!(
                    "the driver did not exit within its time after Shutdown; its group was killed"
                );
            }
        }
        Err(driver) => {
            driver.request_shutdown().await;
        }
    }
    code
}

/// Serves the reference host as a driver: announcement line, then until Shutdown or a
/// signal.
pub async fn reference_host(args: ReferenceHostArgs) -> anyhow::Result<ExitCode> {
    use std::io::Write;
    if !args.listen.ip().is_loopback() {
        anyhow::bail!("refusing to listen on {} (not loopback)", args.listen);
    }
    if let Some(mutant) = args.mutant {
        conformance_core::mutants::activate(mutant).map_err(anyhow::Error::msg)?;
    }
    let capabilities = match args.capabilities.as_deref() {
        None => Capability::ALL.into_iter().collect(),
        Some("none") => BTreeSet::new(),
        Some(list) => list
            .split(',')
            .map(|name| Capability::parse(name.trim()))
            .collect::<Result<BTreeSet<_>, _>>()
            .map_err(anyhow::Error::msg)?,
    };
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    let address = listener.local_addr()?;
    let driver = ReferenceDriver::new(HostConfig::default(), capabilities).await?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", conformance_core::driver::announcement(address))?;
        out.flush()?;
    }
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    driver
        .serve(listener, async move {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        })
        .await?;
    Ok(ExitCode::SUCCESS)
}
