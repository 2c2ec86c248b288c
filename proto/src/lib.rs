//! Rust bindings for the Mattermost Python-plugin wire protocol.
//!
//! * [`pluginapi`]: package `mattermost.pluginapi.v1`, generated from `proto/`, which is
//!   checked field by field against `fixtures/contract/pluginapi-v1.json` (see
//!   [`contract`]).
//! * [`goplugin`]: package `plugin`, hashicorp/go-plugin's controller, stdio and broker.
//! * [`harness`]: package `plugin_conformance.harness.v1`, the host driver contract.

pub mod contract;

/// `mattermost.pluginapi.v1`: the `PluginAPI` (236 rpcs) and `PluginHooks` (42 rpcs) services.
pub mod pluginapi {
    #![allow(clippy::all, missing_docs)]
    tonic::include_proto!("mattermost.pluginapi.v1");
}

/// Generated helpers over the `PluginAPI` service: the [`api::ApiResponse`] trait for all
/// 236 responses, [`api::API_RPCS`], and the `plugin_api_impl!` macro.
pub mod api {
    #![allow(clippy::all, missing_docs)]
    include!(concat!(env!("OUT_DIR"), "/api_support.rs"));
}

/// Generated helpers over the `PluginHooks` service: [`hooks::HOOK_RPCS`] and the
/// `plugin_hooks_impl!` macro.
pub mod hooks {
    #![allow(clippy::all, missing_docs)]
    include!(concat!(env!("OUT_DIR"), "/hooks_support.rs"));
}

/// `plugin`: go-plugin's own services.
pub mod goplugin {
    #![allow(clippy::all, missing_docs)]
    tonic::include_proto!("plugin");
}

/// `plugin_conformance.harness.v1`: the host driver contract (`proto/harness/v1/driver.proto`),
/// which lets the runner drive any host.
pub mod harness {
    #![allow(clippy::all, missing_docs)]
    tonic::include_proto!("plugin_conformance.harness.v1");
}

/// The encoded `FileDescriptorSet` of everything in `proto/` (plus the well-known types it
/// imports), for server reflection and dynamic messages.
pub const DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/descriptor_set.bin"));

/// Full gRPC service names.
pub mod service_names {
    pub const PLUGIN_API: &str = "mattermost.pluginapi.v1.PluginAPI";
    pub const PLUGIN_HOOKS: &str = "mattermost.pluginapi.v1.PluginHooks";
    pub const GRPC_CONTROLLER: &str = "plugin.GRPCController";
    pub const GRPC_STDIO: &str = "plugin.GRPCStdio";
    pub const GRPC_BROKER: &str = "plugin.GRPCBroker";
    pub const HOST_DRIVER: &str = "plugin_conformance.harness.v1.HostDriver";
}

/// The descriptor pool of [`DESCRIPTOR_SET`], decoded once.
pub fn descriptor_pool() -> &'static prost_reflect::DescriptorPool {
    static POOL: std::sync::OnceLock<prost_reflect::DescriptorPool> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        prost_reflect::DescriptorPool::decode(DESCRIPTOR_SET)
            .expect("the descriptor set written by build.rs decodes")
    })
}
