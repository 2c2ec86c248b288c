//! `plugin-conformance plugin --bundle DIR`: checks any plugin bundle through the reference
//! host (`conformance_suites::plugin_check`), with the same reports and exit codes as `run`.
//! The bundle is started as it is and never written to.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use conformance_core::manifest::Manifest;
use conformance_core::report::SubjectInfo;
use conformance_core::runner::Filter;
use conformance_suites::plugin_check;

use crate::execute::{ExecutionArgs, execute};

#[derive(Args)]
pub struct PluginArgs {
    /// The plugin bundle: a directory with plugin.json at its root, or a packed bundle
    /// (.tar.gz, as Mattermost distributes plugins; unpacked into a temporary directory
    /// for the run, as upstream's installer does). Declare `"props":
    /// {"conformance_behaviour": "v2"}` in plugin.json to have the behaviour of
    /// fixtures/plugins/BEHAVIOUR.md checked too.
    #[arg(long, value_name = "DIR|FILE.tar.gz")]
    pub bundle: PathBuf,
    /// Only cases whose name matches this glob (repeatable; `*` crosses `/`).
    #[arg(long = "run", value_name = "GLOB")]
    pub run: Vec<String>,
    /// Leave out cases whose name matches this glob (repeatable).
    #[arg(long = "skip", value_name = "GLOB")]
    pub skip: Vec<String>,
    /// Requests of your own, one case each (`plugin/stimuli/<name>`): a JSON array of
    /// `{"name"?, "hook", "request"}` entries, the request in proto3 JSON. Their answers
    /// are recorded in the JSON report, so `diff` sees a behaviour change that only a
    /// plugin-specific request shows (e.g. a message with the word the plugin filters).
    #[arg(long, value_name = "FILE")]
    pub stimuli: Option<PathBuf>,
    /// List the selected cases (name, level, clause, summary) instead of running them.
    #[arg(long)]
    pub list: bool,
    #[command(flatten)]
    pub execution: ExecutionArgs,
}

/// The bundle directory, absolute, with its manifest; a clear error for a directory that
/// is missing or has no valid plugin.json.
fn load(bundle: &Path) -> anyhow::Result<(PathBuf, Manifest)> {
    let dir = bundle.canonicalize().map_err(|e| {
        anyhow::anyhow!(
            "the plugin bundle {} cannot be opened: {e}",
            bundle.display()
        )
    })?;
    anyhow::ensure!(
        dir.is_dir(),
        "the plugin bundle {} is neither a directory with plugin.json nor a packed bundle (.tar.gz)",
        bundle.display()
    );
    let manifest = Manifest::load(&dir)
        .map_err(|e| anyhow::anyhow!("the plugin bundle {}: {e}", bundle.display()))?;
    Ok((dir, manifest))
}

/// A packed bundle unpacked for the run: the directory goes when this is dropped.
struct Unpacked {
    _scratch: tempfile::TempDir,
    bundle: PathBuf,
}

/// Unpacks `archive` into a temporary directory (under `$TMPDIR`).
fn unpack(archive: &Path) -> anyhow::Result<Unpacked> {
    let scratch = tempfile::Builder::new()
        .prefix("plugin-conformance-bundle-")
        .tempdir()
        .map_err(|e| anyhow::anyhow!("a temporary directory for the bundle: {e}"))?;
    let bundle = conformance_core::bundle_archive::unpack(archive, scratch.path())
        .map_err(|e| anyhow::anyhow!("the plugin bundle {}: {e}", archive.display()))?;
    Ok(Unpacked {
        _scratch: scratch,
        bundle,
    })
}

pub async fn plugin(args: PluginArgs) -> anyhow::Result<ExitCode> {
    let unpacked = if conformance_core::bundle_archive::is_packed(&args.bundle) {
        Some(unpack(&args.bundle)?)
    } else {
        None
    };
    let bundle = unpacked
        .as_ref()
        .map_or(args.bundle.as_path(), |u| u.bundle.as_path());
    let (dir, manifest) = load(bundle)?;
    let stimuli = match &args.stimuli {
        Some(path) => plugin_check::stimuli::load(path)?,
        None => Vec::new(),
    };
    let filter = Filter::new(&args.run, &args.skip)?;
    let cases = filter.apply(plugin_check::cases_with_stimuli(&dir, stimuli), |c| {
        c.name.as_str()
    })?;
    if args.list {
        for c in &cases {
            println!(
                "{:<48} {:<6} {:<60} {}",
                c.name, c.level, c.clause, c.summary
            );
        }
        eprintln!("{} cases", cases.len());
        return Ok(ExitCode::SUCCESS);
    }
    match plugin_check::declared_behaviour(&dir) {
        Some(v) if v == plugin_check::BEHAVIOUR_VERSION => eprintln!(
            "{} declares the conformance behaviour {v}: its cases run too",
            manifest.id
        ),
        Some(v) => eprintln!(
            "{} declares the conformance behaviour {v:?}, which this harness does not know (it checks {:?}); \
             those cases are left out",
            manifest.id,
            plugin_check::BEHAVIOUR_VERSION
        ),
        None => {}
    }
    let subject = SubjectInfo {
        kind: "plugin".into(),
        name: manifest.id.clone(),
        version: manifest.version.clone().unwrap_or_else(|| "unknown".into()),
    };
    let mut execution = args.execution;
    execution
        .jobs
        .get_or_insert_with(conformance_core::runner::cores);
    execute(cases, subject, &execution).await
}
