//! The host driver contract (`proto/harness/v1/driver.proto`): how the runner drives any
//! host. [`reference`] serves it over the reference host; [`process`] starts a driver
//! command and connects to it; this module holds what both sides share: the announcement
//! line and the metadata names.

pub mod events;
pub mod process;
mod proxy;
pub mod reference;
mod state;

use std::net::SocketAddr;

/// The first field of the announcement line.
pub const ANNOUNCE_PREFIX: &str = "plugin-conformance-driver";
/// The contract version this harness speaks.
pub const CONTRACT_VERSION: u32 = 1;
/// Added to a driver's environment.
pub const DRIVER_ENV: &str = "PLUGIN_CONFORMANCE_DRIVER";
/// Metadata naming the loaded plugin a proxied hook call is for.
pub const PLUGIN_METADATA: &str = "x-conformance-plugin-id";
/// Response metadata of a proxied hook call the host answered without calling the plugin
/// (the plugin did not list the hook): value `"true"`.
pub const NOT_CALLED_METADATA: &str = "x-conformance-not-called";

/// `plugin-conformance-driver|1|127.0.0.1:PORT`.
pub fn announcement(address: SocketAddr) -> String {
    format!("{ANNOUNCE_PREFIX}|{CONTRACT_VERSION}|{address}")
}

/// Why an announcement line was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnnounceError {
    #[error(
        "expected `{ANNOUNCE_PREFIX}|{CONTRACT_VERSION}|127.0.0.1:PORT`, got {0:?}: print exactly that line first on stdout"
    )]
    Format(String),
    #[error("the driver speaks contract version {0}; this harness speaks {CONTRACT_VERSION}")]
    Version(String),
    #[error("{0:?} is not an IP address and port")]
    Address(String),
    #[error(
        "the driver listens on {0}, which is not loopback: a driver must bind 127.0.0.1 or ::1"
    )]
    NotLoopback(SocketAddr),
}

/// Parses an announcement line (trailing newline allowed).
pub fn parse_announcement(line: &str) -> Result<SocketAddr, AnnounceError> {
    let line = line.trim_end_matches(['\r', '\n']);
    let mut parts = line.split('|');
    let (Some(prefix), Some(version), Some(address), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(AnnounceError::Format(line.to_string()));
    };
    if prefix != ANNOUNCE_PREFIX {
        return Err(AnnounceError::Format(line.to_string()));
    }
    if version != CONTRACT_VERSION.to_string() {
        return Err(AnnounceError::Version(version.to_string()));
    }
    let address: SocketAddr = address
        .parse()
        .map_err(|_| AnnounceError::Address(address.to_string()))?;
    if !address.ip().is_loopback() {
        return Err(AnnounceError::NotLoopback(address));
    }
    Ok(address)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announcements_round_trip_and_bad_ones_are_named() {
        let a: SocketAddr = "127.0.0.1:4567".parse().unwrap();
        assert_eq!(parse_announcement(&(announcement(a) + "\n")), Ok(a));
        assert!(matches!(
            parse_announcement("1|1|tcp|127.0.0.1:1|grpc"),
            Err(AnnounceError::Format(_))
        ));
        assert_eq!(
            parse_announcement("plugin-conformance-driver|2|127.0.0.1:1"),
            Err(AnnounceError::Version("2".into()))
        );
        assert!(matches!(
            parse_announcement("plugin-conformance-driver|1|localhost:1"),
            Err(AnnounceError::Address(_))
        ));
        assert!(matches!(
            parse_announcement("plugin-conformance-driver|1|10.0.0.1:1"),
            Err(AnnounceError::NotLoopback(_))
        ));
    }
}
