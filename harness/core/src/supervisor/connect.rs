//! Dialling the address a plugin announced: TCP, or a Unix socket through a custom
//! connector (tonic has no `unix:` scheme of its own).

use std::time::Duration;

use hyper_util::rt::TokioIo;
use tonic::transport::{Channel, Endpoint};

use crate::handshake::Address;

/// Connects eagerly, so "nothing listens at the announced address" is diagnosed at start
/// rather than on the first call.
pub(super) async fn dial(address: &Address, timeout: Duration) -> Result<Channel, String> {
    let attempt = async {
        match address {
            Address::Tcp { host, port } => {
                let host = match host.as_str() {
                    "" => "127.0.0.1".to_string(),
                    h if h.contains(':') => format!("[{h}]"),
                    h => h.to_string(),
                };
                Endpoint::from_shared(format!("http://{host}:{port}"))
                    .map_err(|e| e.to_string())?
                    .connect_timeout(timeout)
                    .tcp_nodelay(true)
                    .connect()
                    .await
                    .map_err(|e| error_chain(&e))
            }
            Address::Unix(path) => {
                let path = path.clone();
                Endpoint::from_static("http://localhost")
                    .connect_timeout(timeout)
                    .connect_with_connector(tower::service_fn(move |_| {
                        let path = path.clone();
                        async move {
                            Ok::<_, std::io::Error>(TokioIo::new(
                                tokio::net::UnixStream::connect(path).await?,
                            ))
                        }
                    }))
                    .await
                    .map_err(|e| error_chain(&e))
            }
        }
    };
    match tokio::time::timeout(timeout, attempt).await {
        Ok(result) => result,
        Err(_) => Err(format!("no connection within {timeout:?}")),
    }
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
