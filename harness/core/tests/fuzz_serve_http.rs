//! Fuzzing the ServeHTTP bridge (SPEC §13) with arbitrary plugin answers.
//!
//! An in-process tonic `PluginHooks` server implements only `ServeHTTP` and answers each
//! stream with a proptest-generated script: reject the stream, or (after reading nothing,
//! the first message or the whole request) send any sequence of `ServeHTTPResponse`
//! messages — `init` with any status (0, 99, 100, 101, 999, 1000, negative...), headers
//! with odd names and values (invalid bytes, CR/LF, framing headers), `init` again in later
//! messages, body chunks of 0 to 200 KiB, `flush`, `body_complete` anywhere, messages after
//! it — then end the stream cleanly or with an error status. The bridge
//! (`HttpBridge::start`) serves it to a hyper client sending GET or POST with a random
//! body. Properties:
//! * every request ends within a bound ([`BOUND`]) in an HTTP response (complete, or with
//!   its body cut off), and never in a panic (a panic hook counts them, since tasks
//!   swallow panics); a connection closed without a response is accepted only when more
//!   than 64 KiB of request body was left unread (a reset may then lose the response);
//! * the status is in 100..=999 and is the one §13.4/§13.5 give (0 → 200, outside 100–999
//!   → 500, stream refused → 503, no first message → 502; 1xx other than 101 → 200, as a
//!   client of Go's net/http ends up with); the body is exactly the chunks up to
//!   `body_complete` (or the end of the stream), and is cut off, never completed, when the
//!   stream fails first (not checked when the plugin sets a framing header such as
//!   Content-Length, which may shorten or cut it); valid headers of the first `init`
//!   arrive in order, and nothing else does (no header from a later `init`, no injected
//!   header);
//! * when the plugin reads the whole request, it received exactly what the client sent:
//!   `init` once, chunks of at most 64 KiB, `body_complete` on the last message, then the
//!   half-close.
//!
//! A plugin that never answers (and keeps the stream open) is not part of the fuzzing: the
//! bridge has no timeout of its own (as upstream, the stream lives as long as the HTTP
//! request), so such a request waits until the client goes away. The separate test
//! `a_silent_plugin_holds_the_request_until_the_client_leaves` pins that down, and checks
//! that the client leaving cancels the plugin's stream.
//!
//! `PROPTEST_CASES` overrides the case count (default 64).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use conformance_core::http_bridge::{CHUNK, HttpBridge, Route};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use pluginapi_proto::pluginapi::plugin_hooks_server::{PluginHooks, PluginHooksServer};
use pluginapi_proto::pluginapi::{
    HttpHeader, ServeHttpRequest, ServeHttpRequestInit, ServeHttpResponse, ServeHttpResponseInit,
};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use tokio::sync::mpsc;
use tokio_stream::wrappers::{ReceiverStream, TcpListenerStream};
use tonic::codegen::BoxStream;
use tonic::{Request, Response, Status, Streaming};

/// Every request must end (response and body) within this.
const BOUND: Duration = Duration::from_secs(10);
const PLUGIN: &str = "com.example.fuzz";

// ---------------------------------------------------------------------------------------
// The scripted plugin
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Read {
    Nothing,
    First,
    All,
}

#[derive(Debug, Clone)]
enum End {
    Close,
    Fail(tonic::Code),
    /// Keep the stream open until the bridge cancels it (only in the silent-plugin test).
    Hang,
}

#[derive(Debug, Clone)]
struct Script {
    /// Refuse the stream (the handler returns this status).
    reject: Option<tonic::Code>,
    read: Read,
    messages: Vec<ServeHttpResponse>,
    end: End,
}

/// What the plugin read of the request.
#[derive(Debug, Default, Clone)]
struct Seen {
    inits: Vec<(usize, ServeHttpRequestInit)>,
    chunk_sizes: Vec<usize>,
    complete_at: Vec<usize>,
    body: Vec<u8>,
    /// The request stream ended (half-close) after the last message.
    half_closed: bool,
}

#[derive(Clone, Default)]
struct Plugin {
    next: Arc<Mutex<Option<Script>>>,
    seen: Arc<Mutex<Option<Seen>>>,
    /// Streams the bridge cancelled while the plugin held them open (`End::Hang`).
    cancelled: Arc<tokio::sync::Notify>,
}

fn record(seen: &mut Seen, m: ServeHttpRequest) {
    let i = seen.chunk_sizes.len();
    if let Some(init) = m.init {
        seen.inits.push((i, init));
    }
    if m.body_complete {
        seen.complete_at.push(i);
    }
    seen.chunk_sizes.push(m.body_chunk.len());
    seen.body.extend_from_slice(&m.body_chunk);
}

#[tonic::async_trait]
impl PluginHooks for Plugin {
    async fn serve_http(
        &self,
        request: Request<Streaming<ServeHttpRequest>>,
    ) -> Result<Response<BoxStream<ServeHttpResponse>>, Status> {
        let script = self
            .next
            .lock()
            .unwrap()
            .take()
            .ok_or_else(|| Status::internal("no script for this stream"))?;
        if let Some(code) = script.reject {
            return Err(Status::new(code, "refused by the script"));
        }
        let mut inbound = request.into_inner();
        let (tx, rx) = mpsc::channel::<Result<ServeHttpResponse, Status>>(2);
        let seen = self.seen.clone();
        let cancelled = self.cancelled.clone();
        tokio::spawn(async move {
            let mut got = Seen::default();
            match script.read {
                Read::Nothing => {}
                Read::First => {
                    if let Ok(Some(m)) = inbound.message().await {
                        record(&mut got, m);
                    }
                }
                Read::All => loop {
                    match inbound.message().await {
                        Ok(Some(m)) => record(&mut got, m),
                        Ok(None) => {
                            got.half_closed = true;
                            break;
                        }
                        Err(_) => break,
                    }
                },
            }
            *seen.lock().unwrap() = Some(got);
            for m in script.messages {
                if tx.send(Ok(m)).await.is_err() {
                    return;
                }
            }
            match script.end {
                End::Close => {}
                End::Fail(code) => {
                    let _ = tx
                        .send(Err(Status::new(code, "failed by the script")))
                        .await;
                }
                End::Hang => {
                    tx.closed().await;
                    cancelled.notify_one();
                }
            }
            // `inbound` lives until here, so not reading it never cancels the stream.
            drop(inbound);
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }
}

/// A plugin server and a bridge in front of it.
async fn start(plugin: Plugin) -> HttpBridge {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(PluginHooksServer::new(plugin))
            .serve_with_incoming(TcpListenerStream::new(listener)),
    );
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{address}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    HttpBridge::start(
        "127.0.0.1:0".parse().unwrap(),
        Route {
            plugin_id: PLUGIN.into(),
            channel,
            implemented: true,
        },
    )
    .await
    .unwrap()
}

// ---------------------------------------------------------------------------------------
// The client
// ---------------------------------------------------------------------------------------

#[derive(Debug)]
enum Outcome {
    /// The connection closed (or failed) before a response head.
    Closed(String),
    Response {
        status: u16,
        headers: hyper::HeaderMap,
        body: Vec<u8>,
        /// `None` when the body ended normally, else why it was cut off.
        cut: Option<String>,
    },
}

/// One request on a fresh connection; `Err` only when it did not end within [`BOUND`].
async fn call(bridge: SocketAddr, post: bool, body: Vec<u8>, n: u64) -> Result<Outcome, String> {
    let work = async {
        let tcp = match tokio::net::TcpStream::connect(bridge).await {
            Ok(tcp) => tcp,
            Err(e) => return Outcome::Closed(format!("connect: {e}")),
        };
        let (mut sender, connection) =
            match hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await {
                Ok(pair) => pair,
                Err(e) => return Outcome::Closed(format!("handshake: {e}")),
            };
        let connection = tokio::spawn(connection);
        let request = hyper::Request::builder()
            .method(if post { "POST" } else { "GET" })
            .uri(format!("/plugins/{PLUGIN}/case?n={n}"))
            .header(hyper::header::HOST, "localhost")
            .body(Full::new(Bytes::from(body)))
            .unwrap();
        let response: hyper::Response<Incoming> = match sender.send_request(request).await {
            Ok(r) => r,
            Err(e) => {
                connection.abort();
                return Outcome::Closed(e.to_string());
            }
        };
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let mut incoming = response.into_body();
        let mut body = Vec::new();
        let cut = loop {
            match incoming.frame().await {
                None => break None,
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        body.extend_from_slice(&data);
                    }
                }
                Some(Err(e)) => break Some(e.to_string()),
            }
        };
        connection.abort();
        Outcome::Response {
            status,
            headers,
            body,
            cut,
        }
    };
    tokio::time::timeout(BOUND, work)
        .await
        .map_err(|_| format!("the request did not end within {BOUND:?}"))
}

// ---------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------

/// `len` pseudo-random bytes from `seed` (cheaper than a proptest vec of 200 KiB).
fn filler(len: usize, seed: u8) -> Vec<u8> {
    let mut x = u32::from(seed) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

fn bytes_up_to_200k() -> impl Strategy<Value = Vec<u8>> {
    let len = prop_oneof![
        6 => 0usize..64,
        2 => 0usize..4096,
        1 => 0usize..=200 * 1024,
    ];
    (len, any::<u8>()).prop_map(|(len, seed)| filler(len, seed))
}

fn status() -> impl Strategy<Value = i32> {
    prop_oneof![
        4 => Just(0),
        8 => proptest::sample::select(vec![200, 201, 204, 205, 301, 302, 304, 400, 404, 418, 500, 503]),
        2 => 100..=999,
        3 => proptest::sample::select(vec![
            99, 100, 101, 102, 103, 199, 999, 1000, -1, -200, i32::MIN, i32::MAX, 600, 700,
        ]),
        1 => any::<i32>(),
    ]
}

/// A header value that survives HTTP/1.1 unchanged (visible ASCII, inner spaces).
fn plain_value() -> impl Strategy<Value = String> {
    "[!-~]([ !-~]{0,30}[!-~])?"
}

fn odd_value() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(vec![
            "a\r\nInjected: 1",
            "a\nInjected: 1",
            "\r\n\r\nInjected: 1",
            "\u{7f}",
            "é",
            "\0",
            " lead",
            "trail ",
            "",
            "\t",
            "a\u{0}b",
        ])
        .prop_map(String::from),
        (0usize..40 * 1024).prop_map(|n| "v".repeat(n)),
        "\\PC{0,10}",
    ]
}

fn odd_name() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(vec![
            "",
            "bad name",
            "x\u{e9}",
            "x:y",
            "x\r\nInjected: 1",
            "\u{0}",
            "X-Mixed-Case",
            "Injected\r\n",
            "(",
            "x\ty",
        ])
        .prop_map(String::from),
        (100usize..70_000).prop_map(|n| format!("x-{}", "a".repeat(n))),
        "\\PC{0,10}",
    ]
}

/// Headers the HTTP server itself cares about.
fn framing_header() -> impl Strategy<Value = HttpHeader> {
    let name = proptest::sample::select(vec![
        "content-length",
        "Content-Length",
        "transfer-encoding",
        "connection",
        "upgrade",
        "keep-alive",
        "trailer",
        "te",
        "date",
        "server",
        "host",
    ]);
    let value = proptest::sample::select(vec![
        "0",
        "5",
        "abc",
        "-1",
        "99999999",
        "chunked",
        "gzip",
        "identity",
        "gzip, chunked",
        "close",
        "upgrade",
        "keep-alive",
        "",
    ]);
    (name, vec(value, 1..3)).prop_map(|(key, values)| HttpHeader {
        key: key.to_string(),
        values: values.into_iter().map(String::from).collect(),
    })
}

/// The first `init`'s headers: `x-fuzz-<i>` with plain values (checked exactly), odd
/// ones, and (rarely) framing ones.
fn first_headers() -> impl Strategy<Value = Vec<HttpHeader>> {
    let fuzz = vec(vec(plain_value(), 0..3), 0..5).prop_map(|all| {
        all.into_iter()
            .enumerate()
            .map(|(i, values)| HttpHeader {
                key: format!("X-Fuzz-{i}"),
                values,
            })
            .collect::<Vec<_>>()
    });
    let odd = vec(
        prop_oneof![
            (odd_name(), vec(plain_value(), 0..2))
                .prop_map(|(key, values)| HttpHeader { key, values }),
            (Just("x-odd".to_string()), vec(odd_value(), 1..3))
                .prop_map(|(key, values)| HttpHeader { key, values }),
        ],
        0..3,
    );
    let framing = proptest::option::weighted(0.15, framing_header());
    (fuzz, odd, framing).prop_map(|(mut all, odd, framing)| {
        all.extend(odd);
        all.extend(framing);
        all
    })
}

fn message(first: bool) -> impl Strategy<Value = ServeHttpResponse> {
    let init = if first {
        proptest::option::weighted(0.85, (status(), first_headers())).boxed()
    } else {
        // A later `init` must be ignored: its headers never reach the client.
        proptest::option::weighted(
            0.15,
            (status(), vec(plain_value(), 1..2)).prop_map(|(s, values)| {
                (
                    s,
                    vec![HttpHeader {
                        key: "x-late".into(),
                        values,
                    }],
                )
            }),
        )
        .boxed()
    };
    (
        init,
        bytes_up_to_200k(),
        proptest::bool::weighted(0.15),
        any::<bool>(),
    )
        .prop_map(
            |(init, body_chunk, body_complete, flush)| ServeHttpResponse {
                init: init.map(|(status_code, headers)| ServeHttpResponseInit {
                    status_code,
                    headers,
                }),
                body_chunk,
                body_complete,
                flush,
            },
        )
}

fn script() -> impl Strategy<Value = Script> {
    let read = proptest::sample::select(vec![Read::Nothing, Read::First, Read::All, Read::All]);
    let end = prop_oneof![
        3 => Just(End::Close),
        1 => proptest::sample::select(vec![
            tonic::Code::Internal,
            tonic::Code::Unavailable,
            tonic::Code::Cancelled,
            tonic::Code::Unknown,
        ])
        .prop_map(End::Fail),
    ];
    let reject = proptest::option::weighted(
        0.05,
        proptest::sample::select(vec![tonic::Code::Unavailable, tonic::Code::Internal]),
    );
    let messages = prop_oneof![
        1 => Just(Vec::new()),
        12 => (message(true), vec(message(false), 0..6)).prop_map(|(first, rest)| {
            let mut all = vec![first];
            all.extend(rest);
            all
        }),
    ];
    (reject, read, messages, end).prop_map(|(reject, read, messages, end)| Script {
        reject,
        read,
        messages,
        end,
    })
}

// ---------------------------------------------------------------------------------------
// The model
// ---------------------------------------------------------------------------------------

#[derive(Debug)]
enum Body {
    /// Exactly these bytes, complete.
    Exact(Vec<u8>),
    /// A prefix of these bytes, cut off.
    Cut(Vec<u8>),
    /// Complete, containing this text (the bridge's own answers).
    Says(&'static str),
}

#[derive(Debug)]
struct Expected {
    status: u16,
    body: Body,
    /// Headers of the first `init` that must arrive, in order (lower-case names).
    headers: Vec<(String, Vec<String>)>,
}

fn is_valid(name: &str, value: &str) -> bool {
    hyper::header::HeaderName::from_bytes(name.as_bytes()).is_ok()
        && hyper::header::HeaderValue::from_str(value).is_ok()
}

fn expect(script: &Script) -> Expected {
    let says = |status, text| Expected {
        status,
        body: Body::Says(text),
        headers: Vec::new(),
    };
    if script.reject.is_some() {
        return says(503, "could not be opened");
    }
    let Some(first) = script.messages.first() else {
        return match script.end {
            End::Close | End::Hang => says(502, "sent no response"),
            End::Fail(_) => says(502, "stream failed"),
        };
    };
    let init = first.init.clone().unwrap_or_default();
    let status = match init.status_code {
        // 1xx but 101: what a client of Go's net/http sees after the interim response.
        0 | 100 | 102..=199 => 200,
        s @ 100..=999 => s as u16,
        _ => return says(500, "invalid status code"),
    };
    let headers = init
        .headers
        .iter()
        .filter(|h| h.key.starts_with("X-Fuzz-"))
        .map(|h| {
            let values = h
                .values
                .iter()
                .filter(|v| is_valid(&h.key, v))
                .cloned()
                .collect();
            (h.key.to_ascii_lowercase(), values)
        })
        .collect();
    let mut bytes = Vec::new();
    let mut complete = matches!(script.end, End::Close);
    for m in &script.messages {
        bytes.extend_from_slice(&m.body_chunk);
        if m.body_complete {
            complete = true;
            break;
        }
    }
    let body = match status {
        101 | 204 | 304 => Body::Exact(Vec::new()),
        _ if complete => Body::Exact(bytes),
        _ => Body::Cut(bytes),
    };
    Expected {
        status,
        body,
        headers,
    }
}

/// Headers the server itself sets or that change the framing: with one of them in the
/// first `init`, the body is not checked.
fn has_framing_header(script: &Script) -> bool {
    script
        .messages
        .first()
        .and_then(|m| m.init.as_ref())
        .is_some_and(|init| {
            init.headers.iter().any(|h| {
                matches!(
                    h.key.to_ascii_lowercase().as_str(),
                    "content-length"
                        | "transfer-encoding"
                        | "connection"
                        | "upgrade"
                        | "keep-alive"
                        | "trailer"
                        | "te"
                        | "date"
                        | "server"
                        | "host"
                )
            })
        })
}

// ---------------------------------------------------------------------------------------
// The property
// ---------------------------------------------------------------------------------------

static PANICS: AtomicUsize = AtomicUsize::new(0);

fn count_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.fetch_add(1, Ordering::SeqCst);
            previous(info);
        }));
    });
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64)
}

static OUTCOMES: Mutex<BTreeMap<String, usize>> = Mutex::new(BTreeMap::new());

fn tally(what: String) {
    *OUTCOMES.lock().unwrap().entry(what).or_default() += 1;
}

fn check_case(
    rt: &tokio::runtime::Runtime,
    bridge: SocketAddr,
    plugin: &Plugin,
    n: u64,
    script: &Script,
    post: bool,
    body: &[u8],
) -> Result<(), TestCaseError> {
    *plugin.seen.lock().unwrap() = None;
    *plugin.next.lock().unwrap() = Some(script.clone());
    let outcome = rt
        .block_on(call(bridge, post, body.to_vec(), n))
        .map_err(TestCaseError::fail)?;
    let expected = expect(script);
    // A request body larger than the queues hold, left unread by the plugin (or by the
    // bridge answering by itself), may reset the connection: then the response can be
    // lost or cut. Everything else must end in a complete response.
    let unread = body.len() > CHUNK
        && (script.read != Read::All
            || script.reject.is_some()
            || matches!(expected.body, Body::Says(_)));
    // A framing header may legitimately cut or shorten the body (a Content-Length that
    // does not match it): the status and headers are still checked.
    let framing = has_framing_header(script);
    match &outcome {
        Outcome::Closed(e) => {
            tally(format!("closed: {e}"));
            prop_assert!(
                unread,
                "the connection closed without a response ({}); expected {:?}",
                e,
                expected.status
            );
        }
        Outcome::Response {
            status,
            headers,
            body: got,
            cut,
        } => {
            tally(format!(
                "{status}{}",
                if cut.is_some() { " cut" } else { "" }
            ));
            prop_assert!((100..=999).contains(status), "status {}", status);
            for name in headers.keys() {
                prop_assert!(
                    !name.as_str().contains("injected") && name.as_str() != "x-late",
                    "header {} reached the client",
                    name
                );
            }
            prop_assert_eq!(*status, expected.status, "cut: {:?}", cut);
            match &expected.body {
                _ if framing => {}
                Body::Exact(bytes) => {
                    if cut.is_some() && unread {
                        prop_assert!(bytes.starts_with(got));
                    } else {
                        prop_assert!(cut.is_none(), "body cut off: {:?}", cut);
                        prop_assert!(
                            got == bytes,
                            "body of {} bytes, expected {}",
                            got.len(),
                            bytes.len()
                        );
                    }
                }
                Body::Cut(bytes) => {
                    prop_assert!(cut.is_some(), "a failed stream ended the body as complete");
                    prop_assert!(bytes.starts_with(got), "the body is not a prefix");
                }
                Body::Says(text) => {
                    if !(cut.is_some() && unread) {
                        prop_assert!(cut.is_none(), "body cut off: {:?}", cut);
                        let got = String::from_utf8_lossy(got);
                        prop_assert!(got.contains(text), "{:?} does not say {:?}", got, text);
                    }
                }
            }
            for (name, values) in &expected.headers {
                let got: Vec<&[u8]> = headers
                    .get_all(name.as_str())
                    .iter()
                    .map(|v| v.as_bytes())
                    .collect();
                let want: Vec<&[u8]> = values.iter().map(|v| v.as_bytes()).collect();
                prop_assert_eq!(got, want, "header {}", name);
            }
        }
    }
    if script.read == Read::All && script.reject.is_none() {
        let seen = plugin.seen.lock().unwrap().clone();
        let seen = seen.ok_or_else(|| TestCaseError::fail("the plugin saw no request"))?;
        let inits: Vec<usize> = seen.inits.iter().map(|(i, _)| *i).collect();
        prop_assert_eq!(inits, vec![0], "init only on the first message");
        let init = &seen.inits[0].1;
        prop_assert_eq!(&init.method, if post { "POST" } else { "GET" });
        prop_assert_eq!(&init.url, &format!("/case?n={n}"));
        // Go's `r.ContentLength`: 0 when the request declares no body.
        prop_assert_eq!(init.content_length, body.len() as i64);
        prop_assert!(
            seen.chunk_sizes.iter().all(|&s| s <= CHUNK),
            "{:?}",
            seen.chunk_sizes
        );
        prop_assert_eq!(
            seen.complete_at,
            vec![seen.chunk_sizes.len() - 1],
            "body_complete only on the last message"
        );
        prop_assert!(
            seen.body == body,
            "the plugin got {} bytes of {}",
            seen.body.len(),
            body.len()
        );
        prop_assert!(
            seen.half_closed,
            "the host did not half-close after the body"
        );
    }
    Ok(())
}

#[test]
fn arbitrary_plugin_answers_end_in_a_bounded_well_formed_response() {
    count_panics();
    let rt = runtime();
    let plugin = Plugin::default();
    let bridge = rt.block_on(start(plugin.clone()));
    let address = bridge.address();
    let mut runner = TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (script(), any::<bool>(), bytes_up_to_200k());
    let counter = AtomicUsize::new(0);
    let before = PANICS.load(Ordering::SeqCst);
    let result = runner.run(&strategy, |(script, post, body)| {
        let n = counter.fetch_add(1, Ordering::SeqCst) as u64;
        let body = if post { body } else { Vec::new() };
        check_case(&rt, address, &plugin, n, &script, post, &body)
    });
    eprintln!("outcomes: {:#?}", OUTCOMES.lock().unwrap());
    let panics = PANICS.load(Ordering::SeqCst) - before;
    drop(bridge);
    result.unwrap();
    assert_eq!(panics, 0, "tasks panicked");
}

/// A plugin that never answers, or stops mid-body, keeps the request waiting: the bridge
/// has no timeout of its own (SPEC §12: ServeHTTP uses the HTTP request's context,
/// not the 30 s hook deadline). The client leaving cancels the plugin's stream.
#[test]
fn a_silent_plugin_holds_the_request_until_the_client_leaves() {
    count_panics();
    let rt = runtime();
    let plugin = Plugin::default();
    let bridge = rt.block_on(start(plugin.clone()));
    let address = bridge.address();
    let head_only = ServeHttpResponse {
        init: Some(ServeHttpResponseInit {
            status_code: 200,
            headers: Vec::new(),
        }),
        body_chunk: b"partial".to_vec(),
        body_complete: false,
        flush: true,
    };
    for messages in [Vec::new(), vec![head_only]] {
        let started = !messages.is_empty();
        *plugin.next.lock().unwrap() = Some(Script {
            reject: None,
            read: Read::All,
            messages,
            end: End::Hang,
        });
        rt.block_on(async {
            let cancelled = plugin.cancelled.notified();
            let waiting = tokio::time::timeout(
                Duration::from_millis(500),
                call(address, true, b"hello".to_vec(), 0),
            )
            .await;
            assert!(
                waiting.is_err(),
                "a silent plugin's request ended by itself ({}): {waiting:?}",
                if started {
                    "after the head"
                } else {
                    "before any message"
                }
            );
            // The timed-out `call` dropped its connection: the bridge must cancel the stream.
            tokio::time::timeout(Duration::from_secs(5), cancelled)
                .await
                .unwrap_or_else(|_| {
                    panic!(
                        "the plugin's stream was not cancelled after the client left ({})",
                        if started {
                            "after the head"
                        } else {
                            "before any message"
                        }
                    )
                });
        });
    }
    drop(bridge);
    assert_eq!(PANICS.load(Ordering::SeqCst), 0, "tasks panicked");
}

fn answer(status_code: i32, headers: &[(&str, &[&str])], body: &[u8]) -> Script {
    Script {
        reject: None,
        read: Read::All,
        messages: vec![ServeHttpResponse {
            init: Some(ServeHttpResponseInit {
                status_code,
                headers: headers
                    .iter()
                    .map(|(key, values)| HttpHeader {
                        key: key.to_string(),
                        values: values.iter().map(|v| v.to_string()).collect(),
                    })
                    .collect(),
            }),
            body_chunk: body.to_vec(),
            body_complete: true,
            flush: false,
        }],
        end: End::Close,
    }
}

/// Bridge bugs the fuzzing found, as fixed cases (each failed before its fix in
/// `src/http_bridge.rs`).
#[test]
fn bridge_regressions_found_by_fuzzing() {
    count_panics();
    let rt = runtime();
    let plugin = Plugin::default();
    let bridge = rt.block_on(start(plugin.clone()));
    let address = bridge.address();
    let run = |script: Script, post: bool, body: &[u8]| {
        check_case(&rt, address, &plugin, 7, &script, post, body)
            .unwrap_or_else(|e| panic!("{script:?}: {e}"));
        *plugin.next.lock().unwrap() = Some(script);
        match rt.block_on(call(address, post, body.to_vec(), 7)).unwrap() {
            Outcome::Response {
                status,
                headers,
                body,
                cut: None,
            } => (status, headers, body),
            other => panic!("{other:?}"),
        }
    };
    // 1xx (not 101): hyper answered an empty 500 and dropped the connection; Go sends the
    // interim response, then 200 with the headers and body.
    for code in [100, 102, 103, 199] {
        let (status, headers, body) = run(answer(code, &[("X-Fuzz-0", &["a"])], b"hi"), false, b"");
        assert_eq!(
            (status, body.as_slice()),
            (200, &b"hi"[..]),
            "status {code}"
        );
        assert_eq!(headers["x-fuzz-0"], "a");
    }
    // A bad, repeated-and-different or chunked Content-Length: hyper closed the connection
    // without any response; as in Go, the first value counts if it is a length.
    for (values, te, want) in [
        (&["abc"][..], false, None),
        (&["-1"][..], false, None),
        (&["5", "6"][..], false, Some("5")),
        (&["+5"][..], false, Some("5")),
        (&["5"][..], true, Some("5")),
    ] {
        let mut headers: Vec<(&str, &[&str])> = vec![("Content-Length", values)];
        if te {
            headers.insert(0, ("Transfer-Encoding", &["chunked"]));
        }
        let (status, got, body) = run(answer(200, &headers, b"hello"), false, b"");
        assert_eq!(
            (status, body.as_slice()),
            (200, &b"hello"[..]),
            "{headers:?}"
        );
        assert_eq!(
            got.get("content-length").map(|v| v.to_str().unwrap()),
            want,
            "{headers:?}"
        );
        assert_eq!(
            got.contains_key("transfer-encoding"),
            want.is_none(),
            "{headers:?}"
        );
    }
    // A request without a body: `content_length` is 0 as Go's `r.ContentLength`, not -1.
    run(answer(200, &[], b""), false, b"");
    let seen = plugin.seen.lock().unwrap().clone().unwrap();
    assert_eq!(seen.inits[0].1.content_length, 0);
    drop(bridge);
    assert_eq!(PANICS.load(Ordering::SeqCst), 0, "tasks panicked");
}
