//! Compiles `proto/` in pure Rust (protox: no `protoc` anywhere) and generates prost
//! messages plus tonic clients and servers. The encoded descriptor set is written next
//! to the generated code so that the library can expose it for reflection and for the
//! contract test.

use std::path::PathBuf;

use prost::Message;

const CONTRACT_DIR: &str = "mattermost/pluginapi/v1";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let contract_dir = root.join(CONTRACT_DIR);
    let plugin_dir = root.join("plugin");
    println!("cargo:rerun-if-changed={}", contract_dir.display());
    println!("cargo:rerun-if-changed={}", plugin_dir.display());

    let files = [
        "api.proto",
        "hooks.proto",
        "plugin/grpc_controller.proto",
        "plugin/grpc_stdio.proto",
        "plugin/grpc_broker.proto",
    ];
    let fds = protox::compile(files, [contract_dir, root.clone()])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out.join("descriptor_set.bin"), fds.encode_to_vec())?;

    tonic_prost_build::configure()
        .generate_default_stubs(true)
        .compile_fds(fds)?;
    Ok(())
}
