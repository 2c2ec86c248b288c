//! `plugin-conformance reference-plugin --out DIR | --pack FILE.tar.gz`: a self-contained
//! bundle of the Python reference plugin (`conformance_core::reference_bundle`): its
//! files, the generated stubs and a venv prepared from its `requirements.txt`, nothing
//! pointing into the cargo target directory; packed as Mattermost distributes plugins
//! with `--pack`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use conformance_core::{python_reference, reference_bundle};

#[derive(Args)]
#[command(group = clap::ArgGroup::new("output").required(true).multiple(true))]
pub struct ReferencePluginArgs {
    /// Where to write the bundle (created if needed; its venv is kept when usable).
    /// Printed on stdout.
    #[arg(long, value_name = "DIR", group = "output")]
    out: Option<PathBuf>,
    /// Also pack the bundle as FILE.tar.gz (the plugin id as top directory, venv
    /// included). Without --out, the bundle is written to a temporary directory first.
    /// Printed on stdout.
    #[arg(long, value_name = "FILE.tar.gz", group = "output")]
    pack: Option<PathBuf>,
}

pub fn reference_plugin(args: ReferencePluginArgs) -> anyhow::Result<ExitCode> {
    let prepared = python_reference::prepare()
        .map_err(|e| anyhow::anyhow!("the Python reference plugin cannot be prepared: {e}"))?;
    let scratch;
    let dir = match &args.out {
        Some(dir) => dir.clone(),
        None => {
            scratch = tempfile::Builder::new()
                .prefix("plugin-conformance-reference-")
                .tempdir()?;
            scratch.path().join("bundle")
        }
    };
    let bundle = reference_bundle::write(prepared, &dir).map_err(anyhow::Error::msg)?;
    eprintln!(
        "{}: the Python reference plugin ({}, venv {}) in {:.1} s",
        bundle.dir.display(),
        bundle.plugin_id,
        if bundle.venv_reused {
            "kept"
        } else {
            "prepared from requirements.txt"
        },
        bundle.took.as_secs_f64()
    );
    if args.out.is_some() {
        println!("{}", bundle.dir.display());
    }
    if let Some(archive) = &args.pack {
        reference_bundle::pack(&bundle, archive).map_err(anyhow::Error::msg)?;
        println!("{}", std::path::absolute(archive)?.display());
    }
    Ok(ExitCode::SUCCESS)
}
