//! The ServeHTTP bridge (SPEC §13): a real HTTP/1.1 server (hyper) on loopback that
//! routes `/plugins/{id}/...` to the plugin's bidirectional `ServeHTTP` stream.
//!
//! Request: the first message carries `init` (method, URL as path and query, multi-value
//! headers, host, remote address, content length) and up to 64 KiB of body; the body
//! follows in chunks of at most 64 KiB; the message where the body ends has
//! `body_complete`; then the host half-closes. Response: the first message's `init` gives
//! status (0 → 200; 1xx other than 101 → 200, as after Go's interim response; outside
//! 100–999 → 500) and headers; body chunks are passed on as they arrive (one HTTP chunk
//! each, so `flush` needs nothing more); the response ends at `body_complete` or the end of
//! the stream. The stream cannot be opened → 503; no first
//! message → 502. Every queue is bounded, so a slow HTTP reader slows the plugin down
//! instead of growing memory, and a client that goes away cancels the stream.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use pluginapi_proto::pluginapi::plugin_hooks_client::PluginHooksClient;
use pluginapi_proto::pluginapi::{HttpHeader, ServeHttpRequest, ServeHttpRequestInit};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::ReceiverStream;

use crate::mutants::{self, Protocol};

/// Body chunks are at most this long in both directions (upstream's `serveHTTPChunkSize`).
pub const CHUNK: usize = 64 * 1024;
/// Messages queued per direction before the producer waits.
const QUEUE: usize = 4;

type Body = BoxBody<Bytes, std::io::Error>;

/// A running bridge for one plugin.
#[derive(Debug)]
pub struct HttpBridge {
    address: SocketAddr,
    task: JoinHandle<()>,
}

/// What the bridge needs of a plugin.
#[derive(Debug, Clone)]
pub struct Route {
    pub plugin_id: String,
    pub channel: tonic::transport::Channel,
    /// Whether the plugin listed ServeHTTP in `Implemented` (unlisted: 404, no call).
    pub implemented: bool,
}

/// Routes of several plugins by id, for one bridge in front of a host with many plugins
/// (the reference host's driver). Entries can come and go while the bridge serves.
pub type RouteTable = Arc<RwLock<HashMap<String, Route>>>;

/// Which plugins a bridge serves.
#[derive(Debug, Clone)]
enum Router {
    One(Route),
    Table(RouteTable),
}

impl Router {
    /// The route of a request path `/plugins/<id>/...`, and the rest of the path.
    fn resolve<'p>(&self, path: &'p str) -> Option<(Route, &'p str)> {
        let after = path.strip_prefix("/plugins/")?;
        let (id, rest) = match after.find('/') {
            Some(i) => (&after[..i], &after[i..]),
            None => (after, "/"),
        };
        let route = match self {
            Router::One(route) => (route.plugin_id == id).then(|| route.clone()),
            Router::Table(table) => table
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .get(id)
                .cloned(),
        }?;
        Some((route, rest))
    }
}

impl HttpBridge {
    /// Listens on `listen` (loopback by default) and serves one plugin until dropped.
    pub async fn start(listen: SocketAddr, route: Route) -> std::io::Result<Self> {
        Self::serve(listen, Router::One(route)).await
    }

    /// Listens on `listen` and serves every plugin of `table` until dropped.
    pub async fn start_shared(listen: SocketAddr, table: RouteTable) -> std::io::Result<Self> {
        Self::serve(listen, Router::Table(table)).await
    }

    async fn serve(listen: SocketAddr, route: Router) -> std::io::Result<Self> {
        let listener = TcpListener::bind(listen).await?;
        let address = listener.local_addr()?;
        let task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((tcp, peer)) = listener.accept().await {
                let _ = tcp.set_nodelay(true);
                let route = route.clone();
                connections.spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let route = route.clone();
                        async move { Ok::<_, Infallible>(handle(route, peer, req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tcp), service)
                        .await;
                });
            }
        });
        Ok(Self { address, task })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The base URL of the plugin's routes: `http://127.0.0.1:PORT/plugins/<id>`.
    pub fn base_url(&self, plugin_id: &str) -> String {
        format!("http://{}/plugins/{plugin_id}", self.address)
    }
}

impl Drop for HttpBridge {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn plain(status: StatusCode, text: &str) -> Response<Body> {
    let mut r = Response::new(
        Full::new(Bytes::from(text.to_string()))
            .map_err(|never| match never {})
            .boxed(),
    );
    *r.status_mut() = status;
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// Multi-value headers in first-seen order of their names.
fn headers_of(req: &Request<Incoming>) -> Vec<HttpHeader> {
    let mut out: Vec<HttpHeader> = Vec::new();
    for (name, value) in req.headers() {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        match out
            .iter_mut()
            .find(|h| h.key.eq_ignore_ascii_case(name.as_str()))
        {
            // The HeadersCollapsed mutant keeps the first value only.
            Some(_) if mutants::is(Protocol::HeadersCollapsed) => {}
            Some(h) => h.values.push(value),
            None => out.push(HttpHeader {
                key: canonical(name.as_str()),
                values: vec![value],
            }),
        }
    }
    out
}

/// Go's canonical header form (`content-type` → `Content-Type`), as `net/http` presents it.
fn canonical(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut c = part.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + &c.as_str().to_ascii_lowercase(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

async fn handle(router: Router, peer: SocketAddr, req: Request<Incoming>) -> Response<Body> {
    let Some((route, rest)) = router.resolve(req.uri().path()) else {
        return plain(StatusCode::NOT_FOUND, "Not Found");
    };
    if !route.implemented {
        return plain(StatusCode::NOT_FOUND, "Not Found");
    }
    let url = match req.uri().query() {
        Some(q) => format!("{rest}?{q}"),
        None => rest.to_string(),
    };
    // Go's `r.ContentLength`: the declared length, -1 for a chunked body, and 0 when the
    // request declares no body at all (hyper has already refused a bad Content-Length).
    let content_length = hyper::body::Body::size_hint(req.body())
        .exact()
        .map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX));
    let init = ServeHttpRequestInit {
        plugin_context: None,
        method: req.method().to_string(),
        url,
        proto: "HTTP/1.1".into(),
        proto_major: 1,
        proto_minor: 1,
        headers: headers_of(&req),
        host: req
            .headers()
            .get(hyper::header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string(),
        remote_addr: peer.to_string(),
        request_uri: req
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_default(),
        content_length,
    };

    // Host → plugin: init, then the body in chunks of at most 64 KiB.
    let (to_plugin, outbound) = mpsc::channel::<ServeHttpRequest>(QUEUE);
    let mut body = req.into_body();
    // Mutants of the request side (see `mutants`): larger chunks, no body_complete, no init.
    let chunk = if mutants::is(Protocol::ChunkOver64k) {
        16 * CHUNK
    } else {
        CHUNK
    };
    let complete = !mutants::is(Protocol::NoBodyComplete);
    let init = (!mutants::zeroes_request_of("ServeHTTP")).then_some(init);
    tokio::spawn(async move {
        let mut init = init;
        let mut pending: Vec<u8> = Vec::new();
        loop {
            let data = match body.frame().await {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(d) => d,
                    Err(_) => continue,
                },
                Some(Err(_)) => break,
                None => {
                    if !pending.is_empty() || (!complete && init.is_some()) {
                        let _ = to_plugin
                            .send(ServeHttpRequest {
                                init: init.take(),
                                body_chunk: std::mem::take(&mut pending),
                                body_complete: false,
                            })
                            .await;
                    }
                    if complete {
                        let _ = to_plugin
                            .send(ServeHttpRequest {
                                init: init.take(),
                                body_chunk: Vec::new(),
                                body_complete: true,
                            })
                            .await;
                    }
                    return;
                }
            };
            let data = if chunk > CHUNK {
                // The ChunkOver64k mutant gathers the body into big chunks.
                pending.extend_from_slice(&data);
                if pending.len() < chunk {
                    continue;
                }
                Bytes::from(std::mem::take(&mut pending))
            } else {
                data
            };
            for piece in data.chunks(chunk) {
                let message = ServeHttpRequest {
                    init: init.take(),
                    body_chunk: piece.to_vec(),
                    body_complete: false,
                };
                if to_plugin.send(message).await.is_err() {
                    return;
                }
            }
        }
    });

    let mut client = PluginHooksClient::new(route.channel)
        .max_decoding_message_size(usize::MAX)
        .max_encoding_message_size(usize::MAX);
    let mut inbound = match client.serve_http(ReceiverStream::new(outbound)).await {
        Ok(r) => r.into_inner(),
        Err(status) => {
            return plain(
                StatusCode::SERVICE_UNAVAILABLE,
                &format!(
                    "the plugin's ServeHTTP stream could not be opened: {}",
                    status.message()
                ),
            );
        }
    };
    if mutants::ignores_answer_of("ServeHTTP") {
        return plain(StatusCode::OK, "");
    }
    let first = match inbound.message().await {
        Ok(Some(m)) => m,
        Ok(None) => return plain(StatusCode::BAD_GATEWAY, "the plugin sent no response"),
        Err(status) => {
            return plain(
                StatusCode::BAD_GATEWAY,
                &format!("the plugin's ServeHTTP stream failed: {}", status.message()),
            );
        }
    };
    let init = first.init.clone().unwrap_or_default();
    let status = match init.status_code {
        0 => StatusCode::OK,
        // An informational status cannot be the final one: hyper would answer an empty 500
        // and drop the connection. Go's net/http (the upstream host) sends it as an interim
        // response and then 200 with the headers and body, which is what the client gets.
        100 | 102..=199 => StatusCode::OK,
        s if (100..=999).contains(&s) => {
            StatusCode::from_u16(s as u16).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
        }
        _ => {
            return plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                "invalid status code from the plugin",
            );
        }
    };

    // Plugin → client: pass chunks on as they come, through a bounded queue.
    let (to_client, frames) = mpsc::channel::<Result<Frame<Bytes>, std::io::Error>>(QUEUE);
    let hold = mutants::is(Protocol::FlushIgnored);
    tokio::spawn(async move {
        let mut message = Some(first);
        let mut held: Vec<u8> = Vec::new();
        loop {
            let m = match message.take() {
                Some(m) => m,
                None => match tokio::select! {
                    // The client went away while the plugin is silent: return, so that
                    // dropping `inbound` cancels the stream (else both would wait forever).
                    () = to_client.closed() => None,
                    m = inbound.message() => Some(m),
                } {
                    None | Some(Ok(None)) => {
                        if !held.is_empty() {
                            let _ = to_client.send(Ok(Frame::data(Bytes::from(held)))).await;
                        }
                        return;
                    }
                    Some(Ok(Some(m))) => m,
                    Some(Err(status)) => {
                        // The plugin failed mid-stream: abort the HTTP response rather than
                        // end it as if it were complete.
                        let _ = to_client
                            .send(Err(std::io::Error::other(format!(
                                "ServeHTTP stream failed: {}",
                                status.message()
                            ))))
                            .await;
                        return;
                    }
                },
            };
            if hold {
                // The FlushIgnored mutant holds everything back until the end.
                held.extend_from_slice(&m.body_chunk);
                if m.body_complete {
                    let _ = to_client.send(Ok(Frame::data(Bytes::from(held)))).await;
                    return;
                }
                continue;
            }
            if !m.body_chunk.is_empty()
                && to_client
                    .send(Ok(Frame::data(Bytes::from(m.body_chunk))))
                    .await
                    .is_err()
            {
                // The client went away: dropping `inbound` cancels the stream.
                return;
            }
            if m.body_complete {
                return;
            }
        }
    });
    let mut response = Response::new(StreamBody::new(ReceiverStream::new(frames)).boxed());
    *response.status_mut() = status;
    let mut content_length = None;
    for h in init.headers {
        let Ok(name) = hyper::header::HeaderName::from_bytes(h.key.as_bytes()) else {
            continue;
        };
        for v in h.values {
            if name == hyper::header::CONTENT_LENGTH {
                content_length.get_or_insert(v);
            } else if let Ok(value) = hyper::header::HeaderValue::from_str(&v) {
                response.headers_mut().append(name.clone(), value);
            }
        }
    }
    // Content-Length as Go's net/http takes it: the first value, if it is a length (else
    // dropped), and then no Transfer-Encoding. hyper would instead close the connection
    // without any response on a bad, repeated-and-different or chunked Content-Length.
    if let Some(n) = content_length.and_then(|v| v.parse::<i64>().ok().filter(|n| *n >= 0)) {
        let headers = response.headers_mut();
        headers.remove(hyper::header::TRANSFER_ENCODING);
        headers.insert(hyper::header::CONTENT_LENGTH, n.into());
    }
    response
}
