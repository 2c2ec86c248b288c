//! The `conformance-plugin` mode's `PluginHooks` service: every unary hook is reported to
//! the observation file and answered as `fixtures/plugins/BEHAVIOUR.md` says (through
//! `conformance_core::behaviour`); `ServeHTTP` streams as the behaviour's route table says.

use std::path::PathBuf;

use conformance_core::behaviour;
use conformance_core::observe::{self, Observed};
use pluginapi_proto::pluginapi::{
    HttpHeader, ServeHttpRequest, ServeHttpRequestInit, ServeHttpResponse, ServeHttpResponseInit,
};
use prost::Message;
use prost_reflect::DynamicMessage;
use tokio::sync::mpsc;
use tonic::codegen::BoxStream;
use tonic::{Request, Response, Status, Streaming};

/// ServeHTTP body chunks are at most this long (upstream's `serveHTTPChunkSize`).
pub const CHUNK: usize = 64 * 1024;

pub struct ConformanceHooks {
    pub observe: PathBuf,
    pub settings: behaviour::Settings,
}

pluginapi_proto::plugin_hooks_impl!(ConformanceHooks);

impl ConformanceHooks {
    async fn unary_hook<Req, Resp>(
        &self,
        hook: &'static str,
        request: Request<Req>,
    ) -> Result<Response<Resp>, Status>
    where
        Req: Message,
        Resp: Message + Default,
    {
        let desc = behaviour::message_of(hook, "Request")
            .ok_or_else(|| Status::internal(format!("no descriptor for {hook}")))?;
        let dynamic = DynamicMessage::decode(desc, request.into_inner().encode_to_vec().as_slice())
            .map_err(|e| Status::internal(e.to_string()))?;
        let _ = observe::record(
            &self.observe,
            Observed::HookCall {
                hook: hook.to_string(),
                request: behaviour::to_json(&dynamic),
            },
        );
        if behaviour::contains_marker(&dynamic, CRASH) {
            let _ = observe::record(
                &self.observe,
                Observed::Exiting {
                    code: 70,
                    reason: format!("crash-me in {hook}"),
                },
            );
            std::process::exit(70);
        }
        if behaviour::contains_marker(&dynamic, CRASH_DURING_API) {
            crash_during_api(&self.observe).await;
        }
        if behaviour::contains_marker(&dynamic, BIG_API_CALL) {
            big_api_call(&self.observe).await;
        }
        if hook == "OnActivate" {
            activate().await;
        }
        match behaviour::respond(hook, &dynamic, &self.settings).map_err(Status::internal)? {
            behaviour::Reply::Answer(answer) => Resp::decode(answer.encode_to_vec().as_slice())
                .map(Response::new)
                .map_err(|e| Status::internal(e.to_string())),
            // The SDK's error path: the handler raised, the plugin answers a status.
            behaviour::Reply::Raise(why) => Err(Status::internal(why)),
            behaviour::Reply::Hang => std::future::pending().await,
        }
    }

    async fn serve_http_stream(
        &self,
        request: Request<Streaming<ServeHttpRequest>>,
    ) -> Result<Response<BoxStream<ServeHttpResponse>>, Status> {
        let mut inbound = request.into_inner();
        let first = inbound
            .message()
            .await?
            .ok_or_else(|| Status::invalid_argument("empty ServeHTTP stream"))?;
        let init = first.init.clone().unwrap_or_default();
        let _ = observe::record(
            &self.observe,
            Observed::HookCall {
                hook: "ServeHTTP".into(),
                request: behaviour::to_json(&behaviour::dynamic_of(
                    &first,
                    behaviour::message_of("ServeHTTP", "Request").expect("descriptor"),
                )),
            },
        );
        // A small buffer: the response stream applies backpressure to the writer.
        let (tx, rx) = mpsc::channel::<Result<ServeHttpResponse, Status>>(4);
        tokio::spawn(route(init, first, inbound, tx, self.observe.clone()));
        let stream = tokio_stream::wrappers::ReceiverStream::new(rx);
        Ok(Response::new(Box::pin(stream)))
    }
}

/// Fake-only fault markers (not part of BEHAVIOUR.md): a request carrying `crash-me`
/// makes the process exit while it handles the hook; `crash-during-api` makes it exit
/// while a 32 MiB PluginAPI call is on the wire.
pub const CRASH: &str = "crash-me";
pub const CRASH_DURING_API: &str = "crash-during-api";
/// `big-api-call`: a 2 MiB `KVSet`, its outcome recorded as an `ApiProbe` (phase
/// `big-api-call`; detail = the gRPC code and message, or `ok`).
pub const BIG_API_CALL: &str = "big-api-call";

async fn big_api_call(observe: &std::path::Path) {
    use pluginapi_proto::pluginapi::KvSetRequest;
    use pluginapi_proto::pluginapi::plugin_api_client::PluginApiClient;
    let target = std::env::var("MATTERMOST_PLUGIN_API_TARGET").unwrap_or_default();
    let detail = match PluginApiClient::connect(format!("http://{target}")).await {
        Err(e) => format!("no connection: {e}"),
        Ok(client) => {
            let mut client = client
                .max_encoding_message_size(usize::MAX)
                .max_decoding_message_size(usize::MAX);
            let call = client.kv_set(KvSetRequest {
                key: "big".into(),
                value: vec![b'x'; 2 << 20],
            });
            match tokio::time::timeout(std::time::Duration::from_secs(10), call).await {
                Err(_) => "no answer within 10 s".to_string(),
                Ok(Ok(_)) => "ok".to_string(),
                Ok(Err(s)) => format!("{:?}: {}", s.code(), s.message()),
            }
        }
    };
    let _ = observe::record(
        observe,
        Observed::ApiProbe {
            phase: "big-api-call".into(),
            target,
            reachable: true,
            detail,
        },
    );
}

/// Starts a 32 MiB `KVSet`, and exits once the request is under way.
async fn crash_during_api(observe: &std::path::Path) -> ! {
    use pluginapi_proto::pluginapi::KvSetRequest;
    use pluginapi_proto::pluginapi::plugin_api_client::PluginApiClient;
    let target = std::env::var("MATTERMOST_PLUGIN_API_TARGET").unwrap_or_default();
    if let Ok(client) = PluginApiClient::connect(format!("http://{target}")).await {
        let mut client = client
            .max_encoding_message_size(usize::MAX)
            .max_decoding_message_size(usize::MAX);
        tokio::spawn(async move {
            let _ = client
                .kv_set(KvSetRequest {
                    key: "crash-during-api".into(),
                    value: vec![b'x'; 32 << 20],
                })
                .await;
        });
        // Let the call start writing, then die with it in flight.
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let _ = observe::record(
        observe,
        Observed::Exiting {
            code: 71,
            reason: "crash-during-api".into(),
        },
    );
    std::process::exit(71)
}

/// Calls GetServerVersion and KVSet("conformance-activated", "1") on the host's PluginAPI.
async fn activate() {
    use pluginapi_proto::pluginapi::plugin_api_client::PluginApiClient;
    use pluginapi_proto::pluginapi::{GetServerVersionRequest, KvSetRequest};
    let target = std::env::var("MATTERMOST_PLUGIN_API_TARGET").unwrap_or_default();
    if let Ok(mut client) = PluginApiClient::connect(format!("http://{target}")).await {
        let _ = client.get_server_version(GetServerVersionRequest {}).await;
        let _ = client
            .kv_set(KvSetRequest {
                key: "conformance-activated".into(),
                value: b"1".to_vec(),
            })
            .await;
    }
}

fn header(key: &str, value: &str) -> HttpHeader {
    HttpHeader {
        key: key.into(),
        values: vec![value.into()],
    }
}

fn head(status: i32, headers: Vec<HttpHeader>) -> ServeHttpResponse {
    ServeHttpResponse {
        init: Some(ServeHttpResponseInit {
            status_code: status,
            headers,
        }),
        ..Default::default()
    }
}

fn chunk(body: Vec<u8>, complete: bool, flush: bool) -> ServeHttpResponse {
    ServeHttpResponse {
        init: None,
        body_chunk: body,
        body_complete: complete,
        flush,
    }
}

/// The request body after `first`: chunks until `body_complete` or the end of the stream.
struct Body {
    first: Option<Vec<u8>>,
    done: bool,
    /// The body ended with a `body_complete` message.
    completed: bool,
    inbound: Streaming<ServeHttpRequest>,
}

impl Body {
    async fn next(&mut self) -> Option<Vec<u8>> {
        if let Some(b) = self.first.take() {
            return Some(b);
        }
        if self.done {
            return None;
        }
        match self.inbound.message().await {
            Ok(Some(m)) => {
                self.done = m.body_complete;
                self.completed = m.body_complete;
                Some(m.body_chunk)
            }
            _ => {
                self.done = true;
                None
            }
        }
    }
}

async fn route(
    init: ServeHttpRequestInit,
    first: ServeHttpRequest,
    inbound: Streaming<ServeHttpRequest>,
    tx: mpsc::Sender<Result<ServeHttpResponse, Status>>,
    obs: PathBuf,
) {
    let path = init.url.split('?').next().unwrap_or_default().to_string();
    let completed = serve_route(init, first, inbound, tx).await.is_ok();
    let _ = observe::record(&obs, Observed::HttpStreamEnded { path, completed });
}

/// Answers one request; `Err` when the host stopped reading before the end.
async fn serve_route(
    init: ServeHttpRequestInit,
    first: ServeHttpRequest,
    inbound: Streaming<ServeHttpRequest>,
    tx: mpsc::Sender<Result<ServeHttpResponse, Status>>,
) -> Result<(), ()> {
    let mut body = Body {
        first: Some(first.body_chunk),
        done: first.body_complete,
        completed: first.body_complete,
        inbound,
    };
    let (path, query) = init.url.split_once('?').unwrap_or((init.url.as_str(), ""));
    let send = |m| tx.send(Ok(m));
    let method = init.method.as_str();
    let result = match (method, path) {
        ("GET", "/hello") => {
            let _ = send(head(200, vec![header("Content-Type", "text/plain")])).await;
            send(chunk(b"Hello, world!".to_vec(), true, false)).await
        }
        ("POST", "/echo") => {
            let content_type = init
                .headers
                .iter()
                .find(|h| h.key.eq_ignore_ascii_case("content-type"))
                .and_then(|h| h.values.first().cloned())
                .unwrap_or_else(|| "application/octet-stream".into());
            let _ = send(head(200, vec![header("Content-Type", &content_type)])).await;
            while let Some(piece) = body.next().await {
                for part in piece.chunks(CHUNK) {
                    if send(chunk(part.to_vec(), false, false)).await.is_err() {
                        return Err(());
                    }
                }
            }
            send(chunk(Vec::new(), true, false)).await
        }
        ("GET", "/headers") => {
            let mut map = serde_json::Map::new();
            for h in &init.headers {
                let entry = map
                    .entry(h.key.to_lowercase())
                    .or_insert_with(|| serde_json::Value::Array(Vec::new()));
                if let Some(list) = entry.as_array_mut() {
                    list.extend(h.values.iter().cloned().map(serde_json::Value::String));
                }
            }
            let _ = send(head(200, vec![header("Content-Type", "application/json")])).await;
            send(chunk(
                serde_json::Value::Object(map).to_string().into_bytes(),
                true,
                false,
            ))
            .await
        }
        ("GET", "/stream") => {
            let total: usize = query
                .split('&')
                .find_map(|kv| kv.strip_prefix("bytes="))
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            let _ = send(head(
                200,
                vec![header("Content-Type", "application/octet-stream")],
            ))
            .await;
            let mut sent = 0;
            let mut first_chunk = true;
            // `a`..`z` repeating; cut from one pattern buffer (26 * 2521 + 26 >= CHUNK + 26).
            let pattern: Vec<u8> = (0..CHUNK + 26).map(|i| b'a' + (i % 26) as u8).collect();
            while sent < total {
                let n = CHUNK.min(total - sent);
                let offset = sent % 26;
                let data = pattern[offset..offset + n].to_vec();
                sent += n;
                if send(chunk(data, sent == total, first_chunk)).await.is_err() {
                    return Err(());
                }
                first_chunk = false;
            }
            if total == 0 {
                send(chunk(Vec::new(), true, false)).await
            } else {
                Ok(())
            }
        }
        ("POST", "/count") => {
            let mut count = 0usize;
            while let Some(piece) = body.next().await {
                count += piece.len();
            }
            let _ = send(head(200, vec![header("Content-Type", "text/plain")])).await;
            send(chunk(count.to_string().into_bytes(), true, false)).await
        }
        ("POST", "/early") => {
            let _ = send(head(200, vec![header("Content-Type", "text/plain")])).await;
            let sent = send(chunk(b"early".to_vec(), true, false)).await;
            while body.next().await.is_some() {}
            sent
        }
        ("POST", "/chunks") => {
            // Fake-only: the sizes of the request body chunks, as the host cut them, and
            // whether the body ended with `body_complete` (rather than the stream's end).
            let mut sizes = Vec::new();
            while let Some(piece) = body.next().await {
                if !piece.is_empty() {
                    sizes.push(piece.len());
                }
            }
            let answer = serde_json::json!({"sizes": sizes, "body_complete": body.completed});
            let _ = send(head(200, vec![header("Content-Type", "application/json")])).await;
            send(chunk(answer.to_string().into_bytes(), true, false)).await
        }
        ("GET", "/flush-wait") => {
            // Fake-only: the first chunk with `flush`, then the rest only once the client
            // shows it has the first chunk by creating `flush-<token>` in the bundle
            // directory (the working directory); gives up after 10 s.
            let token = query
                .split('&')
                .find_map(|kv| kv.strip_prefix("token="))
                .unwrap_or("x")
                .to_string();
            let _ = send(head(200, vec![header("Content-Type", "text/plain")])).await;
            if send(chunk(b"first;".to_vec(), false, true)).await.is_err() {
                return Err(());
            }
            let marker = std::path::PathBuf::from(format!("flush-{token}"));
            let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
            let mut seen = false;
            while tokio::time::Instant::now() < deadline {
                if marker.exists() {
                    seen = true;
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            let rest: &[u8] = if seen { b"rest" } else { b"gave-up" };
            send(chunk(rest.to_vec(), true, false)).await
        }
        ("GET", "/crash") => {
            // Fake-only: half a response, then the process dies.
            let _ = send(head(200, vec![header("Content-Type", "text/plain")])).await;
            let _ = send(chunk(b"partial".to_vec(), false, true)).await;
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            std::process::exit(3);
        }
        (_, p) if p.starts_with("/status/") => {
            let status = p["/status/".len()..].parse().unwrap_or(500);
            let _ = send(head(status, Vec::new())).await;
            send(chunk(Vec::new(), true, false)).await
        }
        _ => {
            let _ = send(head(404, vec![header("Content-Type", "text/plain")])).await;
            send(chunk(b"Not Found".to_vec(), true, false)).await
        }
    };
    result.map_err(|_| ())
}
