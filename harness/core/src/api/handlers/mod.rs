//! The handlers of the 236 PluginAPI rpcs, one module per domain, each a plain function
//! `fn(&mut Cx, Request) -> Result<Response, AppError>` over the in-memory [`Store`]; the
//! `plugin_api_impl!` macro routes every rpc to the function of the same name.

// Handlers return the AppError by value: it is what goes on the wire (embedded in the
// response or turned into a status), so boxing it would only add an allocation.
#![allow(clippy::result_large_err)]

pub mod audit;
pub mod bots;
pub mod channels;
pub mod commands;
pub mod common;
pub mod config;
pub mod emoji;
pub mod files;
pub mod groups;
pub mod kv;
pub mod logging;
pub mod misc;
pub mod oauth;
pub mod plugins;
pub mod posts;
pub mod preferences;
pub mod properties;
pub mod server;
pub mod sessions;
pub mod shared_channels;
pub mod teams;
pub mod users;

pub use audit::*;
pub use bots::*;
pub use channels::*;
pub use commands::*;
pub use config::*;
pub use emoji::*;
pub use files::*;
pub use groups::*;
pub use kv::*;
pub use logging::*;
pub use misc::*;
pub use oauth::*;
pub use plugins::*;
pub use posts::*;
pub use preferences::*;
pub use properties::*;
pub use server::*;
pub use sessions::*;
pub use shared_channels::*;
pub use teams::*;
pub use users::*;

/// Names every handler module needs.
pub mod prelude {
    pub use super::common::*;
    pub use pluginapi_proto::pluginapi::*;
}

/// The whole in-memory server state: one part per domain.
#[derive(Debug, Default)]
pub struct Store {
    pub users: users::UsersState,
    pub sessions: sessions::SessionsState,
    pub teams: teams::TeamsState,
    pub channels: channels::ChannelsState,
    pub posts: posts::PostsState,
    pub emoji: emoji::EmojiState,
    pub kv: kv::KvState,
    pub misc: misc::MiscState,
    pub config: config::ConfigState,
    pub plugins: plugins::PluginsState,
    pub logging: logging::LoggingState,
    pub files: files::FilesState,
    pub bots: bots::BotsState,
    pub server: server::ServerState,
    pub commands: commands::CommandsState,
    pub preferences: preferences::PreferencesState,
    pub oauth: oauth::OauthState,
    pub groups: groups::GroupsState,
    pub shared_channels: shared_channels::SharedChannelsState,
    pub properties: properties::PropertiesState,
    pub audit: audit::AuditState,
}

pub use common::{Cx, Res};
