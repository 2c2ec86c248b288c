//! Dialling the address a plugin announced: TCP, or a Unix socket through a custom
//! connector (tonic has no `unix:` scheme of its own), in the clear or over AutoMTLS.
//!
//! Before anything is dialled, [`check_address`] makes sure the address is this machine's
//! loopback or a Unix socket inside the directory the host made for the plugin
//! (`PLUGIN_UNIX_SOCKET_DIR`): a plugin that listens on all interfaces and announces a
//! network address is refused, and never connected to.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tonic::transport::{Channel, Endpoint};

use crate::handshake::Address;

/// An announced address that passed [`check_address`]: exactly what will be dialled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    Tcp(SocketAddr),
    Unix(PathBuf),
}

/// Why the host refused to dial an announced address (SPEC §4 field 4): only this
/// machine's loopback and Unix sockets inside `PLUGIN_UNIX_SOCKET_DIR` are dialled, so a
/// plugin is never reached, or exposed, over the network.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressRefusal {
    #[error(
        "{address} is not a loopback address (it is {}); the host dials only 127.0.0.0/8, ::1 or a Unix \
         socket inside PLUGIN_UNIX_SOCKET_DIR, so that the plugin is not reachable from the network. Listen \
         on 127.0.0.1:0 (not 0.0.0.0 or a network interface) and print 127.0.0.1:PORT, as the Python SDK does",
        list_ips(resolved)
    )]
    NotLoopback {
        address: String,
        resolved: Vec<IpAddr>,
    },
    #[error(
        "the host name {host:?} could not be resolved ({reason}); print a loopback address such as \
         127.0.0.1:PORT"
    )]
    Unresolved { host: String, reason: String },
    #[error(
        "the Unix socket {path:?} is not inside the directory the host made for the plugin ({dir}, passed \
         in PLUGIN_UNIX_SOCKET_DIR); other places may be reachable by other users. Create the socket inside \
         $PLUGIN_UNIX_SOCKET_DIR and print its absolute path"
    )]
    SocketOutsideDir { path: String, dir: String },
}

fn list_ips(ips: &[IpAddr]) -> String {
    ips.iter()
        .map(IpAddr::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

impl AddressRefusal {
    /// A stable identifier, as [`LaunchError::kind`] reports it.
    pub fn kind(&self) -> &'static str {
        match self {
            AddressRefusal::NotLoopback { .. } => "address-not-loopback",
            AddressRefusal::Unresolved { .. } => "address-unresolved",
            AddressRefusal::SocketOutsideDir { .. } => "socket-outside-dir",
        }
    }
}

/// The server name go-plugin puts in its TLS configurations.
pub const SERVER_NAME: &str = "localhost";

/// The server name the host sends (go-plugin: `ServerName "localhost"`).
pub(super) fn server_name() -> rustls::pki_types::ServerName<'static> {
    rustls::pki_types::ServerName::DnsName(
        rustls::pki_types::DnsName::try_from(SERVER_NAME)
            .expect("localhost is a valid DNS name")
            .to_owned(),
    )
}

/// Whether `ip` is loopback, IPv4-mapped IPv6 addresses (`::ffff:127.0.0.1`) included.
pub(crate) fn is_loopback(ip: IpAddr) -> bool {
    ip.to_canonical().is_loopback()
}

/// Checks an announced address before any connection: a tcp host must be a loopback
/// address, empty (the local machine, as in Go) or a name that resolves only to loopback
/// addresses (the IPv4 one is dialled first, as Go's `ResolveTCPAddr` prefers); a Unix
/// socket must be an absolute path that, symlinks resolved, lies inside `socket_dir`.
pub(crate) async fn check_address(
    address: &Address,
    socket_dir: &Path,
    timeout: Duration,
) -> Result<Target, AddressRefusal> {
    match address {
        Address::Tcp { host, port } => {
            if host.is_empty() {
                return Ok(Target::Tcp(SocketAddr::from(([127, 0, 0, 1], *port))));
            }
            let literal = host.parse::<IpAddr>().ok();
            let resolved: Vec<SocketAddr> = match literal {
                Some(ip) => vec![SocketAddr::new(ip, *port)],
                None => {
                    let lookup = tokio::net::lookup_host((host.as_str(), *port));
                    match tokio::time::timeout(timeout, lookup).await {
                        Ok(Ok(addrs)) => addrs.collect(),
                        Ok(Err(e)) => {
                            return Err(AddressRefusal::Unresolved {
                                host: host.clone(),
                                reason: e.to_string(),
                            });
                        }
                        Err(_) => {
                            return Err(AddressRefusal::Unresolved {
                                host: host.clone(),
                                reason: format!("no answer within {timeout:?}"),
                            });
                        }
                    }
                }
            };
            if resolved.is_empty() {
                return Err(AddressRefusal::Unresolved {
                    host: host.clone(),
                    reason: "it resolves to no address".into(),
                });
            }
            if resolved.iter().any(|a| !is_loopback(a.ip()))
                && !crate::mutants::is(crate::mutants::Protocol::DialsAnyAddress)
            {
                return Err(AddressRefusal::NotLoopback {
                    address: address.to_string(),
                    resolved: resolved.iter().map(|a| a.ip()).collect(),
                });
            }
            let chosen = resolved
                .iter()
                .find(|a| a.is_ipv4())
                .or_else(|| resolved.first())
                .copied()
                .ok_or_else(|| AddressRefusal::Unresolved {
                    host: host.clone(),
                    reason: "it resolves to no address".into(),
                })?;
            Ok(Target::Tcp(chosen))
        }
        Address::Unix(path) => {
            let outside = |path: &str| AddressRefusal::SocketOutsideDir {
                path: path.to_string(),
                dir: socket_dir.display().to_string(),
            };
            let announced = Path::new(path);
            if !announced.is_absolute() {
                return Err(outside(path));
            }
            // The socket itself, symlinks resolved; a socket that does not exist yet is
            // judged by its (resolved) parent directory.
            let real = match std::fs::canonicalize(announced) {
                Ok(real) => real,
                Err(_) => {
                    let (Some(parent), Some(name)) = (announced.parent(), announced.file_name())
                    else {
                        return Err(outside(path));
                    };
                    match std::fs::canonicalize(parent) {
                        Ok(p) => p.join(name),
                        Err(_) => return Err(outside(path)),
                    }
                }
            };
            let dir = std::fs::canonicalize(socket_dir).unwrap_or_else(|_| socket_dir.into());
            let anywhere = crate::mutants::is(crate::mutants::Protocol::DialsAnyAddress);
            if anywhere || (real.starts_with(&dir) && real != dir) {
                Ok(Target::Unix(real))
            } else {
                Err(outside(path))
            }
        }
    }
}

/// Connects eagerly, so "nothing listens at the announced address" is diagnosed at start
/// rather than on the first call. With `tls`, the TLS handshake happens in the connector.
pub(crate) async fn dial(
    target: &Target,
    tls: Option<Arc<rustls::ClientConfig>>,
    timeout: Duration,
) -> Result<Channel, String> {
    let attempt = async {
        match target {
            Target::Tcp(addr) => {
                let endpoint = Endpoint::from_shared(format!("http://{addr}"))
                    .map_err(|e| e.to_string())?
                    .connect_timeout(timeout)
                    .tcp_nodelay(true);
                match tls {
                    None => endpoint.connect().await.map_err(|e| error_chain(&e)),
                    Some(config) => {
                        let addr = *addr;
                        over_tls(endpoint, config, move || async move {
                            let stream = tokio::net::TcpStream::connect(addr).await?;
                            stream.set_nodelay(true)?;
                            Ok(stream)
                        })
                        .await
                    }
                }
            }
            Target::Unix(path) => {
                let endpoint = Endpoint::from_static("http://localhost").connect_timeout(timeout);
                let path = path.clone();
                let open = move || {
                    let path = path.clone();
                    async move { tokio::net::UnixStream::connect(path).await }
                };
                match tls {
                    None => endpoint
                        .connect_with_connector(tower::service_fn(move |_| {
                            let open = open.clone();
                            async move { Ok::<_, std::io::Error>(TokioIo::new(open().await?)) }
                        }))
                        .await
                        .map_err(|e| error_chain(&e)),
                    Some(config) => over_tls(endpoint, config, open).await,
                }
            }
        }
    };
    match tokio::time::timeout(timeout, attempt).await {
        Ok(result) => result,
        Err(_) => Err(format!("no connection within {timeout:?}")),
    }
}

/// A channel whose connector opens a stream with `open` and runs the TLS handshake on it.
async fn over_tls<S, F, Fut>(
    endpoint: Endpoint,
    config: Arc<rustls::ClientConfig>,
    open: F,
) -> Result<Channel, String>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = std::io::Result<S>> + Send,
{
    let connector = tokio_rustls::TlsConnector::from(config);
    endpoint
        .connect_with_connector(tower::service_fn(move |_| {
            let open = open.clone();
            let connector = connector.clone();
            async move {
                let stream = open().await?;
                let tls = connector.connect(server_name(), stream).await?;
                Ok::<_, std::io::Error>(TokioIo::new(tls))
            }
        }))
        .await
        .map_err(|e| error_chain(&e))
}

/// An error with its sources, e.g. `transport error: Connection refused (os error 111)`.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp(host: &str) -> Address {
        Address::Tcp {
            host: host.into(),
            port: 4242,
        }
    }

    async fn check(address: &Address, dir: &Path) -> Result<Target, AddressRefusal> {
        check_address(address, dir, Duration::from_secs(5)).await
    }

    #[tokio::test]
    async fn loopback_addresses_are_dialled_as_announced() {
        let dir = tempfile::tempdir().unwrap();
        for (host, expected) in [
            ("127.0.0.1", "127.0.0.1:4242"),
            ("127.8.9.10", "127.8.9.10:4242"),
            ("::1", "[::1]:4242"),
            ("::ffff:127.0.0.1", "[::ffff:127.0.0.1]:4242"),
            ("", "127.0.0.1:4242"),
        ] {
            assert_eq!(
                check(&tcp(host), dir.path()).await,
                Ok(Target::Tcp(expected.parse().unwrap())),
                "{host}"
            );
        }
        // `localhost` resolves to loopback only; the IPv4 address is preferred.
        match check(&tcp("localhost"), dir.path()).await {
            Ok(Target::Tcp(a)) => assert!(is_loopback(a.ip()), "{a}"),
            other => panic!("localhost: {other:?}"),
        }
    }

    #[tokio::test]
    async fn network_addresses_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        for host in [
            "0.0.0.0",
            "::",
            "192.0.2.1",
            "10.1.2.3",
            "2001:db8::1",
            "::ffff:192.0.2.1",
        ] {
            let refusal = check(&tcp(host), dir.path()).await.unwrap_err();
            assert_eq!(refusal.kind(), "address-not-loopback", "{host}: {refusal}");
            assert!(
                refusal.to_string().contains("127.0.0.1"),
                "a fix: {refusal}"
            );
        }
        let refusal = check(&tcp("no-such-host.invalid"), dir.path())
            .await
            .unwrap_err();
        assert_eq!(refusal.kind(), "address-unresolved", "{refusal}");
    }

    #[tokio::test]
    async fn unix_sockets_must_lie_inside_the_socket_dir() {
        let dir = tempfile::tempdir().unwrap();
        let inside = dir.path().join("plugin.sock");
        std::fs::write(&inside, b"").unwrap();
        let real = std::fs::canonicalize(&inside).unwrap();
        let unix = |p: &Path| Address::Unix(p.display().to_string());
        assert_eq!(
            check(&unix(&inside), dir.path()).await,
            Ok(Target::Unix(real.clone()))
        );
        // Not created yet: judged by its directory.
        let later = dir.path().join("later.sock");
        assert!(check(&unix(&later), dir.path()).await.is_ok());

        let elsewhere = tempfile::tempdir().unwrap();
        let outside = elsewhere.path().join("plugin.sock");
        std::fs::write(&outside, b"").unwrap();
        let link = dir.path().join("link.sock");
        std::os::unix::fs::symlink(&outside, &link).unwrap();
        for refused in [
            unix(&outside),
            unix(&dir.path().join("..").join("x.sock")),
            unix(&link),
            unix(dir.path()),
            Address::Unix("relative.sock".into()),
        ] {
            let refusal = check(&refused, dir.path()).await.unwrap_err();
            assert_eq!(refusal.kind(), "socket-outside-dir", "{refused}: {refusal}");
            assert!(
                refusal.to_string().contains("PLUGIN_UNIX_SOCKET_DIR"),
                "{refusal}"
            );
        }
    }
}
