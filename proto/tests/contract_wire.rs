//! Compiles `proto/` afresh with protox (the way build.rs does) and compares every
//! descriptor with `fixtures/contract/pluginapi-v1.json`: the wire test of the issue.

use std::path::PathBuf;

use pluginapi_proto::contract::{Contract, compare};
use prost_reflect::DescriptorPool;

#[test]
fn proto_tree_compiles_to_the_contract_with_zero_differences() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let set = protox::compile(
        ["api.proto", "hooks.proto"],
        [root.join("mattermost/pluginapi/v1"), root.clone()],
    )
    .expect("proto/ compiles");
    let pool = DescriptorPool::from_file_descriptor_set(set).expect("descriptors are consistent");
    let contract = Contract::parse(
        &std::fs::read_to_string(root.join("../fixtures/contract/pluginapi-v1.json"))
            .expect("contract file is readable"),
    )
    .expect("contract parses");
    let diffs = compare(&contract, &pool);
    for d in &diffs {
        eprintln!("{d}");
    }
    eprintln!("wire contract: {} differences", diffs.len());
    assert!(
        diffs.is_empty(),
        "{} differences from the contract",
        diffs.len()
    );
}
