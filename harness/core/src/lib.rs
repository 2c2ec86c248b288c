//! plugin-conformance: a conformance and integration harness for Mattermost's
//! Python-plugin protocol (hashicorp/go-plugin in gRPC mode plus the
//! `mattermost.pluginapi.v1` services).
//!
//! * [`handshake`], [`manifest`]: the go-plugin line and `plugin.json` rules.
//! * [`supervisor`]: the reference host. [`api`]: the reference PluginAPI server.
//! * [`fixtures`]: fake-interpreter bundles. [`observe`]: what a fake plugin reports.
//! * [`runner`]: cases, filters, execution. [`report`]: JUnit, JSON, summaries.

pub mod api;
pub mod apicase;
pub mod behaviour;
pub mod bundle_archive;
pub mod clock;
pub mod conveyance;
pub mod driver;
pub mod expectations;
pub mod fake_modes;
pub mod fixtures;
pub mod go_host;
pub mod handshake;
pub mod http_bridge;
pub mod manifest;
pub mod mutants;
pub mod observe;
pub mod process;
pub mod python_reference;
pub mod reference_bundle;
pub mod report;
pub mod requestgen;
pub mod runner;
pub mod scratch;
pub mod spec;
pub mod supervisor;

pub use pluginapi_proto as proto;
