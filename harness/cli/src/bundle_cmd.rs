//! `plugin-conformance reference-plugin --out DIR`: writes a bundle of the Python reference
//! plugin (venv prepared on first use), for recipes and for trying `plugin --bundle`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use conformance_core::python_reference::{self, PluginOptions};

#[derive(Args)]
pub struct ReferencePluginArgs {
    /// Where to write the bundle (created if needed).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

pub fn reference_plugin(args: ReferencePluginArgs) -> anyhow::Result<ExitCode> {
    let prepared = python_reference::prepare()
        .map_err(|e| anyhow::anyhow!("the Python reference plugin cannot be prepared: {e}"))?;
    let bundle = python_reference::write_bundle(prepared, &args.out, PluginOptions::default())
        .map_err(anyhow::Error::msg)?;
    println!("{}", std::path::absolute(&bundle.dir)?.display());
    Ok(ExitCode::SUCCESS)
}
