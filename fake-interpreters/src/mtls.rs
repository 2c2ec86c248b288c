//! The security modes: AutoMTLS on the plugin side (`auto-mtls`, and `cert-without-tls`
//! with option `cert=real`), and plugins that announce an address a host must not dial
//! (`non-loopback-address`, `socket-outside-dir`).
//!
//! Each serves a healthy plugin (health "plugin" SERVING, GRPCController, every hook of
//! the conformance behaviour), so a host that does dial starts it successfully. When
//! option `connections` names a file, every connection is appended to it as one JSON
//! object per line: `{"t_us", "event", "peer", "detail"}` with `event` one of
//! `announced` (what the line announced, before anything), `accepted` (a connection
//! arrived), `tls-accepted` and `tls-refused` (how its TLS handshake ended).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use conformance_core::supervisor::mtls::{self, Identity};
use pluginapi_proto::goplugin::grpc_controller_server::GrpcControllerServer;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{Notify, mpsc};
use tonic::transport::server::Connected;
use tonic_health::pb::health_server::HealthServer;

use crate::services::{FakeController, FakeHealth, HealthBehaviour, ShutdownBehaviour};
use crate::{TerminationSignals, announce, exit_with};

/// The announced address when this machine has no non-loopback IPv4 address (TEST-NET-1).
const FALLBACK: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
/// Longest wait for one client's TLS handshake.
const TLS_HANDSHAKE: Duration = Duration::from_secs(10);

/// Appends connection events to the `connections` file, when there is one.
#[derive(Clone)]
struct Log(Option<PathBuf>);

impl Log {
    fn new(options: &BTreeMap<String, String>) -> Self {
        Self(options.get("connections").map(PathBuf::from))
    }

    fn record(&self, event: &str, peer: &str, detail: &str) {
        use std::io::Write;
        let Some(path) = &self.0 else { return };
        let line = serde_json::json!({
            "t_us": conformance_core::clock::now_us(),
            "event": event,
            "peer": peer,
            "detail": detail,
        });
        let mut bytes = line.to_string().into_bytes();
        bytes.push(b'\n');
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut f| f.write_all(&bytes));
        if let Err(e) = written {
            eprintln!("fake-interpreter: cannot record to {}: {e}", path.display());
        }
    }
}

/// `auto-mtls` (and, with `unrequested`, `cert-without-tls` with `cert=real`).
///
/// With `PLUGIN_CLIENT_CERT` set: a fresh server certificate, TLS that requires exactly the
/// host's certificate, and the six-field line with the certificate (option
/// `announce=other`: the certificate of another identity, to test that the host pins).
/// Without it: like a go-plugin server, plain gRPC and an empty sixth field; with
/// `unrequested`, the certificate is printed (and TLS served) all the same.
pub async fn auto_mtls(obs: &Path, options: &BTreeMap<String, String>, unrequested: bool) -> i32 {
    let log = Log::new(options);
    let client_pem = std::env::var(mtls::CLIENT_CERT_ENV)
        .ok()
        .filter(|v| !v.is_empty());
    let client_cert = match client_pem.as_deref().map(mtls::parse_client_pem) {
        None => None,
        Some(Ok(cert)) => Some(cert),
        Some(Err(e)) => {
            eprintln!("fake-interpreter: {e}");
            return exit_with(obs, 1, "bad PLUGIN_CLIENT_CERT");
        }
    };
    if client_cert.is_none() && !unrequested {
        let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("fake-interpreter: cannot listen: {e}");
                return exit_with(obs, 1, "tcp listen failed");
            }
        };
        let Ok(addr) = listener.local_addr() else {
            return exit_with(obs, 1, "no local address");
        };
        let line = format!("1|1|tcp|{addr}|grpc|");
        log.record("announced", "", &line);
        let signals = announce(obs, &line, true).await;
        return serve(obs, signals, tcp_incoming(listener, None, log)).await;
    }
    let (identity, announced) = match (Identity::generate(), Identity::generate()) {
        (Ok(id), Ok(other)) => {
            let field = if options.get("announce").map(String::as_str) == Some("other") {
                other.handshake_field()
            } else {
                id.handshake_field()
            };
            (id, field)
        }
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("fake-interpreter: {e}");
            return exit_with(obs, 1, "no certificate");
        }
    };
    let config = match mtls::server_config(&identity, client_cert) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("fake-interpreter: {e}");
            return exit_with(obs, 1, "bad TLS configuration");
        }
    };
    let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("fake-interpreter: cannot listen: {e}");
            return exit_with(obs, 1, "tcp listen failed");
        }
    };
    let Ok(addr) = listener.local_addr() else {
        return exit_with(obs, 1, "no local address");
    };
    let line = format!("1|1|tcp|{addr}|grpc|{announced}");
    log.record("announced", "", &line);
    let signals = announce(obs, &line, true).await;
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    serve(obs, signals, tcp_incoming(listener, Some(acceptor), log)).await
}

/// A non-loopback IPv4 address of this machine (`getifaddrs`), if it has one.
fn machine_address() -> Option<Ipv4Addr> {
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `list` with a linked list we free below.
    if unsafe { libc::getifaddrs(&mut list) } != 0 {
        return None;
    }
    let mut found = None;
    let mut cur = list;
    while !cur.is_null() {
        // SAFETY: `cur` is an element of the list getifaddrs returned, not yet freed.
        let ifa = unsafe { &*cur };
        if !ifa.ifa_addr.is_null() {
            // SAFETY: a non-null ifa_addr points to a sockaddr of at least the family field.
            let family = i32::from(unsafe { (*ifa.ifa_addr).sa_family });
            if family == libc::AF_INET {
                // SAFETY: an AF_INET address is a sockaddr_in.
                let sin = unsafe { &*(ifa.ifa_addr as *const libc::sockaddr_in) };
                let ip = Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr));
                if !ip.is_loopback() && !ip.is_unspecified() {
                    found = Some(ip);
                    break;
                }
            }
        }
        cur = ifa.ifa_next;
    }
    // SAFETY: `list` came from getifaddrs and is freed once.
    unsafe { libc::freeifaddrs(list) };
    found
}

/// `non-loopback-address`: listens on every interface and announces a non-loopback
/// address of this machine (192.0.2.1 when it has none; option `announce=loopback`:
/// 127.0.0.1, the control that shows connections are recorded).
pub async fn non_loopback(obs: &Path, options: &BTreeMap<String, String>) -> i32 {
    let log = Log::new(options);
    let listener = match tokio::net::TcpListener::bind("0.0.0.0:0").await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("fake-interpreter: cannot listen on all interfaces: {e}");
            return exit_with(obs, 1, "tcp listen failed");
        }
    };
    let Ok(port) = listener.local_addr().map(|a| a.port()) else {
        return exit_with(obs, 1, "no local address");
    };
    let (ip, source) = if options.get("announce").map(String::as_str) == Some("loopback") {
        (Ipv4Addr::LOCALHOST, "loopback (control)")
    } else {
        match machine_address() {
            Some(ip) => (ip, "an interface of this machine"),
            None => (
                FALLBACK,
                "TEST-NET fallback: this machine has no non-loopback address",
            ),
        }
    };
    let address = SocketAddr::new(IpAddr::V4(ip), port);
    let line = format!("1|1|tcp|{address}|grpc");
    log.record("announced", &address.to_string(), source);
    let signals = announce(obs, &line, true).await;
    serve(obs, signals, tcp_incoming(listener, None, log)).await
}

/// `socket-outside-dir`: a Unix socket in the bundle directory (the working directory),
/// whatever `PLUGIN_UNIX_SOCKET_DIR` says.
pub async fn socket_outside_dir(obs: &Path, options: &BTreeMap<String, String>) -> i32 {
    let log = Log::new(options);
    let path = std::env::current_dir()
        .unwrap_or_else(|_| PathBuf::from("."))
        .join("outside.sock");
    let _ = std::fs::remove_file(&path);
    let listener = match tokio::net::UnixListener::bind(&path) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("fake-interpreter: cannot listen on {}: {e}", path.display());
            return exit_with(obs, 1, "unix listen failed");
        }
    };
    let line = format!("1|1|unix|{}|grpc|", path.display());
    log.record(
        "announced",
        &path.display().to_string(),
        "the bundle directory",
    );
    let signals = announce(obs, &line, true).await;
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    log.record("accepted", "unix", "");
                    if tx.send(Ok(stream)).await.is_err() {
                        return;
                    }
                }
                Err(e) => {
                    eprintln!("fake-interpreter: accept failed: {e}");
                    return;
                }
            }
        }
    });
    serve(obs, signals, rx).await
}

type Incoming<S> = mpsc::Receiver<std::io::Result<S>>;

/// Accepts TCP connections, records each, and (with `tls`) runs the TLS handshake.
fn tcp_incoming(
    listener: tokio::net::TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    log: Log,
) -> Incoming<Stream> {
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(async move {
        loop {
            let (stream, peer) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    eprintln!("fake-interpreter: accept failed: {e}");
                    return;
                }
            };
            let peer = peer.to_string();
            let _ = stream.set_nodelay(true);
            log.record("accepted", &peer, "");
            let Some(acceptor) = tls.clone() else {
                if tx.send(Ok(Stream::Plain(stream))).await.is_err() {
                    return;
                }
                continue;
            };
            let (tx, log) = (tx.clone(), log.clone());
            tokio::spawn(async move {
                match tokio::time::timeout(TLS_HANDSHAKE, acceptor.accept(stream)).await {
                    Ok(Ok(tls)) => {
                        log.record("tls-accepted", &peer, "client certificate accepted");
                        let _ = tx.send(Ok(Stream::Tls(Box::new(tls)))).await;
                    }
                    Ok(Err(e)) => log.record("tls-refused", &peer, &e.to_string()),
                    Err(_) => log.record("tls-refused", &peer, "no TLS handshake within 10 s"),
                }
            });
        }
    });
    rx
}

/// A plain or TLS TCP connection, as one type for the server.
enum Stream {
    Plain(tokio::net::TcpStream),
    Tls(Box<tokio_rustls::server::TlsStream<tokio::net::TcpStream>>),
}

impl Connected for Stream {
    type ConnectInfo = Option<SocketAddr>;

    fn connect_info(&self) -> Self::ConnectInfo {
        match self {
            Stream::Plain(s) => s.peer_addr().ok(),
            Stream::Tls(s) => s.get_ref().0.peer_addr().ok(),
        }
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => std::pin::Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => std::pin::Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => std::pin::Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => std::pin::Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => std::pin::Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => std::pin::Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => std::pin::Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => std::pin::Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// Serves health, the controller and every conformance hook on `incoming` until Shutdown
/// or SIGTERM/SIGINT.
async fn serve<S>(obs: &Path, signals: TerminationSignals, incoming: Incoming<S>) -> i32
where
    S: Connected + AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let stop = Arc::new(Notify::new());
    let health = HealthServer::new(FakeHealth {
        behaviour: HealthBehaviour::Serving,
        observe: obs.to_path_buf(),
    });
    let controller = GrpcControllerServer::new(FakeController {
        behaviour: ShutdownBehaviour::Exit,
        observe: obs.to_path_buf(),
        stop: stop.clone(),
    });
    let hooks = pluginapi_proto::pluginapi::plugin_hooks_server::PluginHooksServer::new(
        crate::hooks::ConformanceHooks {
            observe: obs.to_path_buf(),
            settings: conformance_core::behaviour::Settings::all(),
        },
    );
    let stopped = async move { stop.notified().await };
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(health)
            .add_service(controller)
            .add_service(hooks)
            .serve_with_incoming_shutdown(
                tokio_stream::wrappers::ReceiverStream::new(incoming),
                stopped,
            ),
    );
    tokio::select! {
        result = server => match result {
            Ok(Ok(())) => exit_with(obs, 0, "shutdown rpc"),
            Ok(Err(e)) => {
                eprintln!("fake-interpreter: server failed: {e}");
                exit_with(obs, 1, "server failed")
            }
            Err(e) => {
                eprintln!("fake-interpreter: server task failed: {e}");
                exit_with(obs, 1, "server task failed")
            }
        },
        code = signals.wait(obs, false) => code,
    }
}
