//! `ServeHTTP` (SPEC §13), when the plugin lists it: a GET through the reference
//! host's HTTP bridge and on the raw stream, a request body in 64 KiB chunks, and the
//! shape of the response stream.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use conformance_core::runner::{Case, Ctx, Level};
use conformance_core::supervisor::RunningPlugin;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use pluginapi_proto::pluginapi::plugin_hooks_client::PluginHooksClient;
use pluginapi_proto::pluginapi::{
    HttpHeader, ServeHttpRequest, ServeHttpRequestInit, ServeHttpResponse,
};

use super::{activated, case, finish};

/// Longest wait for a whole ServeHTTP exchange.
pub(super) const STREAM_TIMEOUT: Duration = Duration::from_secs(30);
/// Response bytes read at most from one stream (a plugin may stream forever).
const READ_LIMIT: usize = 16 << 20;
/// Upstream's chunk size (`serveHTTPChunkSize`).
pub(super) const CHUNK: usize = 64 * 1024;

pub(super) type ClientBody = BoxBody<Bytes, std::io::Error>;

pub(super) fn cases(bundle: &Arc<PathBuf>) -> Vec<Case> {
    vec![
        case(
            bundle,
            "serve-http/get",
            Level::Must,
            "SPEC §13.4, §13.5",
            "if listed, a GET answers with a valid status and a stream that ends cleanly, on the raw stream and through the HTTP bridge",
            get,
        )
        .timeout(super::HOOK_CASE_TIMEOUT),
        case(
            bundle,
            "serve-http/request-body-chunks",
            Level::Must,
            "SPEC §13.2, §13.3",
            "if listed, a 200 KiB POST body sent in 64 KiB chunks is taken and answered with a valid status",
            request_body_chunks,
        )
        .timeout(super::HOOK_CASE_TIMEOUT),
        case(
            bundle,
            "serve-http/stream-shape",
            Level::Should,
            "SPEC §13.4 (headers after the first message are ignored; the response ends at body_complete)",
            "if listed, the response stream has init on its first message only and nothing after body_complete",
            stream_shape,
        )
        .timeout(super::HOOK_CASE_TIMEOUT),
    ]
}

/// What a raw ServeHTTP stream came to.
pub(super) enum Raw {
    /// The stream could not be opened (gRPC status).
    NotOpened(String),
    /// The plugin answered: its messages, and how the stream ended (`Err` = a gRPC error).
    Answered {
        messages: Vec<ServeHttpResponse>,
        end: Result<(), String>,
        truncated: bool,
    },
    TimedOut,
}

pub(super) fn init(
    method: &str,
    url: &str,
    headers: Vec<HttpHeader>,
    length: i64,
) -> ServeHttpRequestInit {
    ServeHttpRequestInit {
        method: method.into(),
        url: url.into(),
        proto: "HTTP/1.1".into(),
        proto_major: 1,
        proto_minor: 1,
        headers,
        host: "localhost".into(),
        remote_addr: "127.0.0.1:5555".into(),
        request_uri: url.into(),
        content_length: length,
        ..Default::default()
    }
}

/// The messages a host sends for a request: `init` with the first chunk, 64 KiB chunks,
/// `body_complete` on the last (a lone `init` + `body_complete` without a body).
pub(super) fn messages(init: ServeHttpRequestInit, body: &[u8]) -> Vec<ServeHttpRequest> {
    let mut init = Some(init);
    let chunks: Vec<&[u8]> = if body.is_empty() {
        vec![&[]]
    } else {
        body.chunks(CHUNK).collect()
    };
    let last = chunks.len() - 1;
    chunks
        .into_iter()
        .enumerate()
        .map(|(i, chunk)| ServeHttpRequest {
            init: init.take(),
            body_chunk: chunk.to_vec(),
            body_complete: i == last,
        })
        .collect()
}

/// One ServeHTTP stream straight to the plugin (no bridge), bounded in time and bytes.
pub(super) async fn raw(plugin: &RunningPlugin, requests: Vec<ServeHttpRequest>) -> Raw {
    let exchange = async {
        let mut client = PluginHooksClient::new(plugin.channel())
            .max_decoding_message_size(usize::MAX)
            .max_encoding_message_size(usize::MAX);
        let mut stream = match client.serve_http(tokio_stream::iter(requests)).await {
            Ok(r) => r.into_inner(),
            Err(status) => {
                return Raw::NotOpened(format!("{:?}: {}", status.code(), status.message()));
            }
        };
        let mut messages = Vec::new();
        let mut bytes = 0;
        loop {
            match stream.message().await {
                Ok(Some(m)) => {
                    bytes += m.body_chunk.len();
                    messages.push(m);
                    if bytes > READ_LIMIT {
                        return Raw::Answered {
                            messages,
                            end: Ok(()),
                            truncated: true,
                        };
                    }
                }
                Ok(None) => {
                    return Raw::Answered {
                        messages,
                        end: Ok(()),
                        truncated: false,
                    };
                }
                Err(status) => {
                    return Raw::Answered {
                        messages,
                        end: Err(format!("{:?}: {}", status.code(), status.message())),
                        truncated: false,
                    };
                }
            }
        }
    };
    tokio::time::timeout(STREAM_TIMEOUT, exchange)
        .await
        .unwrap_or(Raw::TimedOut)
}

/// The status the host makes of the first message (SPEC §13.4): `None` when the
/// plugin's status is outside 0 and 100–999 (the host answers 500 instead).
fn host_status(messages: &[ServeHttpResponse]) -> Option<i32> {
    let status = messages
        .first()
        .and_then(|m| m.init.as_ref())
        .map_or(0, |i| i.status_code);
    match status {
        0 => Some(200),
        s if (100..=999).contains(&s) => Some(s),
        _ => None,
    }
}

/// Response headers left out of an answer snapshot: they differ from run to run.
const VOLATILE_HEADERS: &[&str] = &["date"];
/// Response body bytes kept in an answer snapshot (the byte count is kept whole).
const SNAPSHOT_BODY: usize = 4096;

/// Records a raw exchange in the case's answer snapshots (`ServeHTTP`, labelled `label`):
/// status, headers (but the volatile ones), body, how the stream ended.
fn record_stream(ctx: &Ctx, label: &str, request: serde_json::Value, outcome: &Raw) {
    let (answer, error) = match outcome {
        Raw::NotOpened(e) => (None, Some(format!("stream not opened: {e}"))),
        Raw::TimedOut => (None, Some(format!("no end within {STREAM_TIMEOUT:?}"))),
        Raw::Answered { messages, end, .. } => {
            let init = messages
                .first()
                .and_then(|m| m.init.clone())
                .unwrap_or_default();
            let mut headers = serde_json::Map::new();
            for h in &init.headers {
                let key = h.key.to_ascii_lowercase();
                if !VOLATILE_HEADERS.contains(&key.as_str()) {
                    headers.insert(key, serde_json::json!(h.values));
                }
            }
            let body: Vec<u8> = messages.iter().flat_map(|m| m.body_chunk.clone()).collect();
            let shown = &body[..body.len().min(SNAPSHOT_BODY)];
            let answer = serde_json::json!({
                "statusCode": init.status_code,
                "headers": headers,
                "body": String::from_utf8_lossy(shown),
                "bodyBytes": body.len(),
                "end": match end { Ok(()) => "end of stream".to_string(), Err(e) => e.clone() },
            });
            (Some(answer), None)
        }
    };
    ctx.record_answer(conformance_core::runner::AnswerSnapshot {
        hook: "ServeHTTP".into(),
        request_label: label.into(),
        request,
        answer,
        error,
    });
}

/// Checks that a raw exchange was answered with a valid status and ended cleanly.
fn check_answered(ctx: &Ctx, what: &str, outcome: &Raw) {
    match outcome {
        Raw::NotOpened(e) => {
            ctx.check(
                &format!("{what}: stream opened"),
                "opened",
                format!("{e} (the host answers 503)"),
                false,
            );
        }
        Raw::TimedOut => {
            ctx.check(
                &format!("{what}: answered"),
                format!("the stream ends within {STREAM_TIMEOUT:?}"),
                "no end",
                false,
            );
        }
        Raw::Answered { messages, end, .. } => {
            let first = messages.first().and_then(|m| m.init.as_ref());
            ctx.note(format!(
                "{what}: status {:?}, {} message(s), {} body byte(s)",
                first.map(|i| i.status_code),
                messages.len(),
                messages.iter().map(|m| m.body_chunk.len()).sum::<usize>()
            ));
            ctx.check(
                &format!("{what}: a first response message"),
                "at least one message",
                format!(
                    "{} message(s){}",
                    messages.len(),
                    if messages.is_empty() {
                        " (the host answers 502)"
                    } else {
                        ""
                    }
                ),
                !messages.is_empty(),
            );
            ctx.check(
                &format!("{what}: valid status"),
                "0 (= 200) or 100-999",
                format!("{:?}", first.map(|i| i.status_code)),
                host_status(messages).is_some(),
            );
            ctx.check(
                &format!("{what}: the stream ends cleanly"),
                "end of stream, no gRPC error",
                match end {
                    Ok(()) => "end of stream".to_string(),
                    Err(e) => format!("{e} (the host aborts the HTTP response)"),
                },
                end.is_ok(),
            );
        }
    }
}

/// Starts, activates; `None` (case skipped) when the plugin does not list ServeHTTP.
async fn serving(ctx: &Ctx, bundle: &std::path::Path) -> anyhow::Result<Option<RunningPlugin>> {
    let (plugin, activation) = activated(ctx, bundle).await?;
    if activation.implemented.contains("ServeHTTP") {
        Ok(Some(plugin))
    } else {
        ctx.skip("ServeHTTP is not implemented by the plugin (not listed by Implemented)");
        finish(ctx, plugin).await;
        Ok(None)
    }
}

pub(super) fn empty() -> ClientBody {
    Empty::new().map_err(|never| match never {}).boxed()
}

pub(super) fn full(data: Vec<u8>) -> ClientBody {
    Full::new(Bytes::from(data))
        .map_err(|never| match never {})
        .boxed()
}

pub(super) fn request(method: &str, uri: &str, body: ClientBody) -> Request<ClientBody> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header("Host", "localhost")
        .body(body)
        .expect("a valid request")
}

/// One request on a fresh HTTP/1.1 connection, bounded in time.
pub(super) async fn send(
    address: std::net::SocketAddr,
    request: Request<ClientBody>,
) -> anyhow::Result<Response<Incoming>> {
    let exchange = async {
        let tcp = tokio::net::TcpStream::connect(address).await?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await?;
        tokio::spawn(connection);
        anyhow::Ok(sender.send_request(request).await?)
    };
    tokio::time::timeout(STREAM_TIMEOUT, exchange)
        .await
        .map_err(|_| anyhow::anyhow!("no HTTP response within {STREAM_TIMEOUT:?}"))?
}

/// Reads a body (at most [`READ_LIMIT`] bytes), bounded in time; also the largest frame.
pub(super) async fn read_body(mut body: Incoming) -> anyhow::Result<(Vec<u8>, usize)> {
    let read = async {
        let mut out = Vec::new();
        let mut largest = 0;
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame?.into_data() {
                largest = largest.max(data.len());
                out.extend_from_slice(&data);
                if out.len() > READ_LIMIT {
                    break;
                }
            }
        }
        anyhow::Ok((out, largest))
    };
    tokio::time::timeout(STREAM_TIMEOUT, read)
        .await
        .map_err(|_| anyhow::anyhow!("the body did not end within {STREAM_TIMEOUT:?}"))?
}

async fn get(ctx: Ctx, bundle: Arc<PathBuf>) -> anyhow::Result<()> {
    let Some(plugin) = serving(&ctx, &bundle).await? else {
        return Ok(());
    };
    let outcome = raw(&plugin, messages(init("GET", "/", Vec::new(), 0), &[])).await;
    record_stream(
        &ctx,
        "GET /",
        serde_json::json!({"method": "GET", "url": "/"}),
        &outcome,
    );
    check_answered(&ctx, "GET / on the raw stream", &outcome);
    let result = async {
        let bridge = plugin.start_http_bridge().await?;
        let url = format!("{}/", bridge.base_url(&plugin.plan.manifest.id));
        let response = send(bridge.address(), request("GET", &url, empty())).await;
        let response = match response {
            Ok(r) => r,
            Err(e) => {
                ctx.check(
                    "GET through the HTTP bridge",
                    "an HTTP response",
                    e.to_string(),
                    false,
                );
                return anyhow::Ok(());
            }
        };
        let status = response.status().as_u16();
        let body = read_body(response.into_body()).await;
        let bridge_error = (status == 502 || status == 503)
            && body
                .as_ref()
                .is_ok_and(|(b, _)| String::from_utf8_lossy(b).starts_with("the plugin"));
        ctx.check(
            "GET through the HTTP bridge: the plugin's answer",
            "the plugin's status",
            match &body {
                Ok((b, _)) if bridge_error => {
                    format!("{status} from the bridge: {}", String::from_utf8_lossy(b))
                }
                _ => status.to_string(),
            },
            !bridge_error,
        );
        ctx.check(
            "GET through the HTTP bridge: the body ends",
            "a complete body",
            match &body {
                Ok((b, _)) => format!("{} byte(s)", b.len()),
                Err(e) => format!("{e:#}"),
            },
            body.is_ok(),
        );
        Ok(())
    }
    .await;
    finish(&ctx, plugin).await;
    result
}

async fn request_body_chunks(ctx: Ctx, bundle: Arc<PathBuf>) -> anyhow::Result<()> {
    let Some(plugin) = serving(&ctx, &bundle).await? else {
        return Ok(());
    };
    let body: Vec<u8> = (0..200 * 1024).map(|i| b'a' + (i % 26) as u8).collect();
    let headers = vec![HttpHeader {
        key: "Content-Type".into(),
        values: vec!["application/octet-stream".into()],
    }];
    let sent = messages(init("POST", "/", headers, body.len() as i64), &body);
    ctx.note(format!("request: {} messages", sent.len()));
    let outcome = raw(&plugin, sent).await;
    record_stream(
        &ctx,
        "POST / with 200 KiB",
        serde_json::json!({"method": "POST", "url": "/", "bodyBytes": body.len()}),
        &outcome,
    );
    check_answered(&ctx, "POST / with 200 KiB", &outcome);
    finish(&ctx, plugin).await;
    Ok(())
}

async fn stream_shape(ctx: Ctx, bundle: Arc<PathBuf>) -> anyhow::Result<()> {
    let Some(plugin) = serving(&ctx, &bundle).await? else {
        return Ok(());
    };
    let outcome = raw(&plugin, messages(init("GET", "/", Vec::new(), 0), &[])).await;
    finish(&ctx, plugin).await;
    let Raw::Answered {
        messages,
        truncated,
        ..
    } = &outcome
    else {
        check_answered(&ctx, "GET /", &outcome);
        return Ok(());
    };
    ctx.check(
        "the first message carries init",
        "init with the status and headers",
        if messages.first().is_some_and(|m| m.init.is_some()) {
            "init"
        } else {
            "no init (the host answers 200 with no headers)"
        },
        messages.first().is_some_and(|m| m.init.is_some()),
    );
    let late_inits: Vec<usize> = messages
        .iter()
        .enumerate()
        .skip(1)
        .filter(|(_, m)| m.init.is_some())
        .map(|(i, _)| i)
        .collect();
    ctx.check(
        "no init after the first message (the host ignores it)",
        "none",
        format!("init on message(s) {late_inits:?}"),
        late_inits.is_empty(),
    );
    let complete_at = messages.iter().position(|m| m.body_complete);
    let after = complete_at.map_or(0, |i| messages.len() - i - 1);
    ctx.check(
        "nothing after body_complete (the host stops reading there)",
        "no message",
        format!("{after} message(s) after body_complete"),
        after == 0,
    );
    if complete_at.is_none() && !truncated {
        ctx.note("the response ends at end-of-stream without body_complete (accepted by the host)");
    }
    let largest = messages
        .iter()
        .map(|m| m.body_chunk.len())
        .max()
        .unwrap_or(0);
    let flushes = messages.iter().filter(|m| m.flush).count();
    ctx.note(format!(
        "{} message(s), largest body chunk {largest} byte(s), {flushes} with flush{}",
        messages.len(),
        if *truncated {
            ", read stopped at 16 MiB"
        } else {
            ""
        }
    ));
    if largest > CHUNK {
        ctx.note(format!(
            "a body chunk of {largest} bytes: the host takes it, but upstream streams 64 KiB chunks"
        ));
    }
    Ok(())
}
