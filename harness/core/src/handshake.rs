//! The go-plugin handshake line: `CORE|APP|NETWORK|ADDRESS|PROTOCOL[|CERT[|MUX]]`.
//!
//! Parsing follows the host side of SPEC §4 and §5: the first stdout line is
//! trimmed as a whole (a trailing `\r` included), split on `|` (4 to 7 fields; extra
//! fields are ignored), the fields themselves are not trimmed, a missing protocol means
//! `netrpc`, the certificate field is only looked at when longer than 50 characters, and
//! the multiplexing field only when the host asked for multiplexing. Every failure mode
//! of the table in §5 has its own [`HandshakeError`] variant whose message says what the
//! plugin author should change.

use std::fmt;

use base64::Engine as _;

/// Core protocol version every go-plugin host speaks.
pub const CORE_PROTOCOL_VERSION: i64 = 1;
/// Mattermost's app protocol version.
pub const APP_PROTOCOL_VERSION: i64 = 1;
/// A certificate field of this length or shorter is ignored (go-plugin `client.go`).
pub const CERT_FIELD_MIN_LEN: usize = 50;

/// The transport a plugin announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Network {
    Tcp,
    Unix,
}

impl Network {
    pub fn as_str(self) -> &'static str {
        match self {
            Network::Tcp => "tcp",
            Network::Unix => "unix",
        }
    }
}

/// The RPC protocol a plugin announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    Grpc,
    NetRpc,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Grpc => "grpc",
            Protocol::NetRpc => "netrpc",
        }
    }
}

/// Where to dial the plugin.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Address {
    /// `host:port`; an empty host (`:1234`) means the local machine, as in Go.
    Tcp { host: String, port: u16 },
    /// A Unix socket path.
    Unix(String),
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Tcp { host, port } if host.contains(':') => write!(f, "[{host}]:{port}"),
            Address::Tcp { host, port } => write!(f, "{host}:{port}"),
            Address::Unix(path) => f.write_str(path),
        }
    }
}

/// A parsed, accepted handshake line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handshake {
    pub core_version: i64,
    pub app_version: i64,
    pub network: Network,
    pub address: Address,
    pub protocol: Protocol,
    /// The raw certificate field when it is longer than 50 characters (AutoMTLS).
    pub server_cert: Option<String>,
    /// Field 7, when the host asked for multiplexing.
    pub multiplex: Option<bool>,
    /// How many `|`-separated fields the line had (extra ones past 7 are ignored).
    pub field_count: usize,
}

impl Handshake {
    /// The line a well-behaved plugin prints for this handshake (without the newline).
    pub fn to_line(&self) -> String {
        let address = match &self.address {
            Address::Tcp { .. } => self.address.to_string(),
            Address::Unix(path) => path.clone(),
        };
        let mut line = format!(
            "{}|{}|{}|{}|{}",
            self.core_version,
            self.app_version,
            self.network.as_str(),
            address,
            self.protocol.as_str()
        );
        if self.server_cert.is_some() || self.multiplex.is_some() {
            line.push('|');
            line.push_str(self.server_cert.as_deref().unwrap_or(""));
        }
        if let Some(mux) = self.multiplex {
            line.push('|');
            line.push_str(if mux { "true" } else { "false" });
        }
        line
    }
}

/// What the host accepts; go-plugin's `ClientConfig` as Mattermost sets it by default.
#[derive(Debug, Clone)]
pub struct HostExpectations {
    pub core_version: i64,
    pub app_versions: Vec<i64>,
    pub allowed_protocols: Vec<Protocol>,
    /// The host has a TLS configuration (AutoMTLS), so a certificate field is acceptable.
    pub tls: bool,
    /// The host asked for gRPC broker multiplexing (`PLUGIN_MULTIPLEX_GRPC`).
    pub multiplex: bool,
}

impl Default for HostExpectations {
    fn default() -> Self {
        Self {
            core_version: CORE_PROTOCOL_VERSION,
            app_versions: vec![APP_PROTOCOL_VERSION],
            allowed_protocols: vec![Protocol::Grpc],
            tls: false,
            multiplex: false,
        }
    }
}

/// Every way a handshake line can be refused (SPEC §5), each with the go-plugin
/// text a Mattermost operator would see and advice for the plugin author.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandshakeError {
    #[error(
        "unrecognized handshake line {line:?}: it has {fields} '|'-separated field(s), at least 4 are needed \
         (go-plugin: \"Unrecognized remote plugin message\"). Print `1|1|tcp|127.0.0.1:PORT|grpc` as the very \
         first stdout line, and send logs and banners to stderr"
    )]
    Unrecognized { line: String, fields: usize },
    #[error(
        "core protocol version {field:?} is not an integer (go-plugin: \"error parsing core protocol version\"). \
         The first field must be `1`, with no spaces around it"
    )]
    CoreVersionNotInteger { field: String },
    #[error(
        "incompatible core protocol version {plugin}: the host speaks core version {host} (go-plugin: \
         \"incompatible core API version with plugin\"). The first field must be `{host}`"
    )]
    CoreVersionMismatch { plugin: i64, host: i64 },
    #[error(
        "app protocol version {field:?} is not an integer (go-plugin: \"Error parsing protocol version\"). \
         The second field must be `1` for Mattermost"
    )]
    AppVersionNotInteger { field: String },
    #[error(
        "incompatible app protocol version {plugin}: the host offers {offered:?} in PLUGIN_PROTOCOL_VERSIONS \
         (go-plugin: \"incompatible API version with plugin\"). Print one of the offered versions as the second field"
    )]
    AppVersionNotOffered { plugin: i64, offered: Vec<i64> },
    #[error(
        "unknown network {network:?} for address {address:?} (go-plugin: \"unknown address type\"). \
         The third field must be `tcp` or `unix`"
    )]
    UnknownNetwork { network: String, address: String },
    #[error(
        "bad tcp address {address:?}: {reason} (go-plugin: the net.ResolveTCPAddr error). Print the address \
         the plugin is listening on as host:port, e.g. 127.0.0.1:PORT"
    )]
    BadTcpAddress { address: String, reason: String },
    #[error(
        "empty unix socket path (go-plugin would fail to dial). Print the absolute path of the socket the plugin \
         listens on"
    )]
    EmptyUnixPath,
    #[error(
        "no protocol field: a handshake with 4 fields means netrpc, which a Mattermost host does not accept \
         (go-plugin: \"unsupported plugin protocol \\\"netrpc\\\". Supported: [grpc]\"). Add `|grpc` as the fifth field"
    )]
    MissingProtocol,
    #[error(
        "unsupported plugin protocol {protocol:?}; the host accepts {allowed} (go-plugin: \"unsupported plugin \
         protocol\"). The fifth field must be `grpc`"
    )]
    UnsupportedProtocol { protocol: String, allowed: String },
    #[error(
        "the handshake carries a server certificate but the host did not ask for TLS (no PLUGIN_CLIENT_CERT was \
         set; a go-plugin host panics here). Send field 6 only when PLUGIN_CLIENT_CERT is in the environment, or \
         leave it empty"
    )]
    UnexpectedServerCert,
    #[error(
        "the server certificate field cannot be used: {reason} (go-plugin: \"error parsing server cert\"). Field 6 \
         must be the DER certificate in base64 without padding"
    )]
    BadServerCert { reason: String },
    #[error(
        "the host asked for gRPC broker multiplexing (PLUGIN_MULTIPLEX_GRPC) but the handshake has no 7th field \
         (go-plugin: \"client requested gRPC broker multiplexing but plugin does not support the feature\")"
    )]
    MultiplexNotSupported,
    #[error(
        "field 7 {field:?} is not a boolean (go-plugin: \"error parsing ... as a boolean for gRPC broker \
         multiplexing support\")"
    )]
    MultiplexNotBool { field: String },
}

impl HandshakeError {
    /// A stable identifier of the failure mode, used by cases and reports.
    pub fn kind(&self) -> &'static str {
        match self {
            HandshakeError::Unrecognized { .. } => "unrecognized",
            HandshakeError::CoreVersionNotInteger { .. } => "core-version-not-integer",
            HandshakeError::CoreVersionMismatch { .. } => "core-version-mismatch",
            HandshakeError::AppVersionNotInteger { .. } => "app-version-not-integer",
            HandshakeError::AppVersionNotOffered { .. } => "app-version-not-offered",
            HandshakeError::UnknownNetwork { .. } => "unknown-network",
            HandshakeError::BadTcpAddress { .. } => "bad-tcp-address",
            HandshakeError::EmptyUnixPath => "empty-unix-path",
            HandshakeError::MissingProtocol => "missing-protocol",
            HandshakeError::UnsupportedProtocol { .. } => "unsupported-protocol",
            HandshakeError::UnexpectedServerCert => "unexpected-server-cert",
            HandshakeError::BadServerCert { .. } => "bad-server-cert",
            HandshakeError::MultiplexNotSupported => "multiplex-not-supported",
            HandshakeError::MultiplexNotBool { .. } => "multiplex-not-bool",
        }
    }
}

/// Go's `strconv.Atoi`: optional sign, ASCII digits, no spaces.
fn atoi(field: &str) -> Option<i64> {
    let digits = field.strip_prefix(['+', '-']).unwrap_or(field);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    field.parse().ok()
}

/// Go's `strconv.ParseBool`.
fn parse_bool(field: &str) -> Option<bool> {
    match field {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

fn parse_tcp(address: &str) -> Result<Address, HandshakeError> {
    let bad = |reason: &str| HandshakeError::BadTcpAddress {
        address: address.to_string(),
        reason: reason.to_string(),
    };
    let (host, port) = if let Some(rest) = address.strip_prefix('[') {
        let (host, rest) = rest
            .split_once(']')
            .ok_or_else(|| bad("missing ']' in address"))?;
        let port = rest
            .strip_prefix(':')
            .ok_or_else(|| bad("missing port in address"))?;
        (host, port)
    } else {
        let (host, port) = address
            .rsplit_once(':')
            .ok_or_else(|| bad("missing port in address"))?;
        if host.contains(':') {
            return Err(bad("too many colons in address"));
        }
        (host, port)
    };
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(&format!("invalid port {port:?}")));
    }
    let port: u16 = port
        .parse()
        .map_err(|_| bad(&format!("port {port} is out of range")))?;
    Ok(Address::Tcp {
        host: host.to_string(),
        port,
    })
}

fn check_cert(field: &str) -> Result<(), HandshakeError> {
    let der = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(field)
        .map_err(|e| HandshakeError::BadServerCert {
            reason: format!("not base64 without padding: {e}"),
        })?;
    // A DER certificate is a SEQUENCE; anything else cannot be an X.509 certificate.
    if der.first() != Some(&0x30) || der.len() < 32 {
        return Err(HandshakeError::BadServerCert {
            reason: "decoded bytes are not a DER-encoded X.509 certificate".into(),
        });
    }
    Ok(())
}

/// Parses one handshake line as a host with these expectations would.
pub fn parse(line: &str, host: &HostExpectations) -> Result<Handshake, HandshakeError> {
    let trimmed = line.trim();
    let fields: Vec<&str> = trimmed.split('|').collect();
    if fields.len() < 4 {
        return Err(HandshakeError::Unrecognized {
            line: trimmed.to_string(),
            fields: if trimmed.is_empty() { 0 } else { fields.len() },
        });
    }
    let core_version = atoi(fields[0]).ok_or_else(|| HandshakeError::CoreVersionNotInteger {
        field: fields[0].to_string(),
    })?;
    if core_version != host.core_version {
        return Err(HandshakeError::CoreVersionMismatch {
            plugin: core_version,
            host: host.core_version,
        });
    }
    let app_version = atoi(fields[1]).ok_or_else(|| HandshakeError::AppVersionNotInteger {
        field: fields[1].to_string(),
    })?;
    if !host.app_versions.contains(&app_version) {
        return Err(HandshakeError::AppVersionNotOffered {
            plugin: app_version,
            offered: host.app_versions.clone(),
        });
    }
    let (network, address) = match fields[2] {
        "tcp" => (Network::Tcp, parse_tcp(fields[3])?),
        "unix" if fields[3].is_empty() => return Err(HandshakeError::EmptyUnixPath),
        "unix" => (Network::Unix, Address::Unix(fields[3].to_string())),
        other => {
            return Err(HandshakeError::UnknownNetwork {
                network: other.to_string(),
                address: fields[3].to_string(),
            });
        }
    };
    let protocol = match fields.get(4) {
        None => Protocol::NetRpc,
        Some(&"grpc") => Protocol::Grpc,
        Some(&"netrpc") => Protocol::NetRpc,
        Some(other) => {
            return Err(HandshakeError::UnsupportedProtocol {
                protocol: other.to_string(),
                allowed: allowed_list(host),
            });
        }
    };
    if !host.allowed_protocols.contains(&protocol) {
        return Err(if fields.len() == 4 {
            HandshakeError::MissingProtocol
        } else {
            HandshakeError::UnsupportedProtocol {
                protocol: protocol.as_str().to_string(),
                allowed: allowed_list(host),
            }
        });
    }
    let server_cert = match fields.get(5) {
        Some(cert) if cert.len() > CERT_FIELD_MIN_LEN => {
            if !host.tls {
                return Err(HandshakeError::UnexpectedServerCert);
            }
            check_cert(cert)?;
            Some(cert.to_string())
        }
        _ => None,
    };
    let multiplex = if host.multiplex {
        match fields.get(6) {
            None => return Err(HandshakeError::MultiplexNotSupported),
            Some(field) => match parse_bool(field) {
                Some(true) => Some(true),
                Some(false) => return Err(HandshakeError::MultiplexNotSupported),
                None => {
                    return Err(HandshakeError::MultiplexNotBool {
                        field: field.to_string(),
                    });
                }
            },
        }
    } else {
        None
    };
    Ok(Handshake {
        core_version,
        app_version,
        network,
        address,
        protocol,
        server_cert,
        multiplex,
        field_count: fields.len(),
    })
}

fn allowed_list(host: &HostExpectations) -> String {
    let names: Vec<&str> = host.allowed_protocols.iter().map(|p| p.as_str()).collect();
    format!("[{}]", names.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rstest::rstest;

    fn host() -> HostExpectations {
        HostExpectations::default()
    }

    #[rstest]
    #[case::python_sdk("1|1|tcp|127.0.0.1:1234|grpc", 5)]
    #[case::go_server_six_fields("1|1|tcp|127.0.0.1:1234|grpc|", 6)]
    #[case::seven_fields_ignored_without_mux("1|1|tcp|127.0.0.1:1234|grpc||true", 7)]
    #[case::eight_fields("1|1|tcp|127.0.0.1:1234|grpc|||extra", 8)]
    #[case::crlf_and_spaces("  1|1|tcp|127.0.0.1:1234|grpc \r\n", 5)]
    #[case::short_cert_ignored("1|1|tcp|127.0.0.1:1234|grpc|c2hvcnQ", 6)]
    fn accepts_valid_lines(#[case] line: &str, #[case] fields: usize) {
        let h = parse(line, &host()).unwrap();
        assert_eq!(h.network, Network::Tcp);
        assert_eq!(
            h.address,
            Address::Tcp {
                host: "127.0.0.1".into(),
                port: 1234
            }
        );
        assert_eq!(h.protocol, Protocol::Grpc);
        assert_eq!(h.server_cert, None);
        assert_eq!(h.field_count, fields);
    }

    #[test]
    fn accepts_unix_sockets_and_bare_ports() {
        let h = parse("1|1|unix|/tmp/plugin123|grpc|", &host()).unwrap();
        assert_eq!(h.address, Address::Unix("/tmp/plugin123".into()));
        let h = parse("1|1|tcp|:1234|grpc", &host()).unwrap();
        assert_eq!(
            h.address,
            Address::Tcp {
                host: String::new(),
                port: 1234
            }
        );
        let h = parse("1|1|tcp|[::1]:80|grpc", &host()).unwrap();
        assert_eq!(h.address.to_string(), "[::1]:80");
    }

    #[rstest]
    #[case::garbage("hello world", "unrecognized")]
    #[case::empty("", "unrecognized")]
    #[case::three_fields("1|1|tcp", "unrecognized")]
    #[case::core_not_int("x|1|tcp|127.0.0.1:1|grpc", "core-version-not-integer")]
    #[case::core_padded("1 |1|tcp|127.0.0.1:1|grpc", "core-version-not-integer")]
    #[case::core_two("2|1|tcp|127.0.0.1:1|grpc", "core-version-mismatch")]
    #[case::app_not_int("1|x|tcp|127.0.0.1:1|grpc", "app-version-not-integer")]
    #[case::app_two("1|2|tcp|127.0.0.1:1|grpc", "app-version-not-offered")]
    #[case::udp("1|1|udp|127.0.0.1:1|grpc", "unknown-network")]
    #[case::no_port("1|1|tcp|127.0.0.1|grpc", "bad-tcp-address")]
    #[case::bad_port("1|1|tcp|127.0.0.1:99999|grpc", "bad-tcp-address")]
    #[case::empty_unix("1|1|unix||grpc", "empty-unix-path")]
    #[case::no_protocol("1|1|tcp|127.0.0.1:1", "missing-protocol")]
    #[case::netrpc("1|1|tcp|127.0.0.1:1|netrpc", "unsupported-protocol")]
    #[case::http("1|1|tcp|127.0.0.1:1|http", "unsupported-protocol")]
    #[case::cert_without_tls(
        "1|1|tcp|127.0.0.1:1|grpc|MIIBszCCAVmgAwIBAgIRAKp4zTp2l3GcZ1Oq8ObTdeMwCgYIKoZIzj0EAwIw",
        "unexpected-server-cert"
    )]
    fn refuses_each_failure_mode(#[case] line: &str, #[case] kind: &str) {
        let err = parse(line, &host()).unwrap_err();
        assert_eq!(err.kind(), kind, "{err}");
        assert!(
            err.to_string().len() > 40,
            "message tells what to fix: {err}"
        );
    }

    #[test]
    fn certificate_and_multiplex_rules_when_the_host_asks_for_them() {
        let tls = HostExpectations {
            tls: true,
            ..host()
        };
        let not_base64 = format!("1|1|tcp|127.0.0.1:1|grpc|{}", "!".repeat(60));
        assert_eq!(
            parse(&not_base64, &tls).unwrap_err().kind(),
            "bad-server-cert"
        );
        let mux = HostExpectations {
            multiplex: true,
            ..host()
        };
        let six = "1|1|tcp|127.0.0.1:1|grpc|";
        assert_eq!(
            parse(six, &mux).unwrap_err().kind(),
            "multiplex-not-supported"
        );
        let no = "1|1|tcp|127.0.0.1:1|grpc||false";
        assert_eq!(
            parse(no, &mux).unwrap_err().kind(),
            "multiplex-not-supported"
        );
        let x = "1|1|tcp|127.0.0.1:1|grpc||x";
        assert_eq!(parse(x, &mux).unwrap_err().kind(), "multiplex-not-bool");
        let yes = "1|1|tcp|127.0.0.1:1|grpc||true";
        assert_eq!(parse(yes, &mux).unwrap().multiplex, Some(true));
    }

    #[test]
    fn netrpc_accepted_when_allowed() {
        let both = HostExpectations {
            allowed_protocols: vec![Protocol::Grpc, Protocol::NetRpc],
            ..host()
        };
        assert_eq!(
            parse("1|1|tcp|:1234", &both).unwrap().protocol,
            Protocol::NetRpc
        );
    }

    fn arb_handshake() -> impl Strategy<Value = Handshake> {
        let address = prop_oneof![
            ("[a-z0-9.]{0,20}", any::<u16>())
                .prop_map(|(host, port)| (Network::Tcp, Address::Tcp { host, port })),
            "/[a-zA-Z0-9_/.-]{1,60}".prop_map(|p| (Network::Unix, Address::Unix(p))),
        ];
        (address, proptest::option::of(any::<bool>())).prop_map(|((network, address), mux)| {
            Handshake {
                core_version: 1,
                app_version: 1,
                network,
                address,
                protocol: Protocol::Grpc,
                server_cert: None,
                multiplex: mux,
                field_count: match mux {
                    Some(_) => 7,
                    None => 5,
                },
            }
        })
    }

    proptest! {
        #[test]
        fn arbitrary_input_never_panics(line in ".{0,300}", tls: bool, mux: bool) {
            let host = HostExpectations { tls, multiplex: mux, ..HostExpectations::default() };
            let _ = parse(&line, &host);
        }

        #[test]
        fn arbitrary_pipe_separated_fields_never_panic(fields in proptest::collection::vec("[ -~]{0,80}", 0..10)) {
            let line = fields.join("|");
            let host = HostExpectations { tls: true, multiplex: true, ..HostExpectations::default() };
            let _ = parse(&line, &host);
        }

        #[test]
        fn format_then_parse_round_trips(h in arb_handshake()) {
            let host = HostExpectations { multiplex: h.multiplex == Some(true), ..HostExpectations::default() };
            let line = h.to_line();
            match parse(&line, &host) {
                Ok(parsed) => {
                    // A `false` mux field is only read when the host asks for multiplexing.
                    let expected = Handshake { multiplex: h.multiplex.filter(|m| *m), ..h.clone() };
                    prop_assert_eq!(parsed, expected);
                }
                Err(e) => prop_assert!(false, "{} did not parse: {}", line, e),
            }
        }
    }
}
