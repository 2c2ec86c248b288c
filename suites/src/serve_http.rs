//! ServeHTTP through the reference host's HTTP bridge (SPEC §13): a real HTTP/1.1
//! client against `/plugins/{id}/...`, the plugin's stream behind it.

use std::time::Duration;

use bytes::Bytes;
use conformance_core::fixtures::{Bundle, BundleBuilder, FakeMode};
use conformance_core::observe::Observed;
use conformance_core::runner::{Case, Ctx, Level};
use conformance_core::supervisor::{HostConfig, RunningPlugin};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

use crate::hooks::{Plugin, activate, start_plugin};
use crate::support::{observed, shutdown_checked, start_ok, wait_for};

pub(crate) type ClientBody = BoxBody<Bytes, std::io::Error>;

const MIB: usize = 1 << 20;

pub(crate) fn empty() -> ClientBody {
    Empty::new().map_err(|never| match never {}).boxed()
}

pub(crate) fn full(data: &'static [u8]) -> ClientBody {
    Full::new(Bytes::from_static(data))
        .map_err(|never| match never {})
        .boxed()
}

/// `total` bytes made 64 KiB at a time, never held whole.
fn generated(total: usize) -> ClientBody {
    static BLOCK: [u8; 64 * 1024] = [b'x'; 64 * 1024];
    let chunks = (0..total.div_ceil(64 * 1024)).map(move |i| {
        let n = (64 * 1024).min(total - i * 64 * 1024);
        Ok::<_, std::io::Error>(Frame::data(Bytes::from_static(&BLOCK[..n])))
    });
    StreamBody::new(futures::stream::iter(chunks)).boxed()
}

/// Sends one request on a fresh connection.
pub(crate) async fn send(
    address: std::net::SocketAddr,
    request: Request<ClientBody>,
) -> anyhow::Result<Response<Incoming>> {
    let tcp = tokio::net::TcpStream::connect(address).await?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await?;
    tokio::spawn(connection);
    Ok(sender.send_request(request).await?)
}

pub(crate) fn request(method: &str, uri: &str, body: ClientBody) -> Request<ClientBody> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header("Host", "localhost")
        .body(body)
        .expect("a valid request")
}

/// Reads a whole body, keeping the largest frame size.
async fn read_all(mut body: Incoming) -> anyhow::Result<(Vec<u8>, usize)> {
    let mut out = Vec::new();
    let mut largest = 0;
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            largest = largest.max(data.len());
            out.extend_from_slice(&data);
        }
    }
    Ok((out, largest))
}

/// Counts a body without keeping it.
async fn count_all(mut body: Incoming) -> anyhow::Result<(usize, usize)> {
    let (mut total, mut largest) = (0, 0);
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            largest = largest.max(data.len());
            total += data.len();
        }
    }
    Ok((total, largest))
}

fn vm_kib(field: &str) -> Option<usize> {
    std::fs::read_to_string("/proc/self/status")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
}

/// Resets the peak RSS; returns the current RSS in bytes.
fn reset_peak() -> usize {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    vm_kib("VmRSS:").unwrap_or(0) * 1024
}

fn peak() -> usize {
    vm_kib("VmHWM:").unwrap_or(0) * 1024
}

/// Starts the conformance plugin, activates it and starts the bridge.
async fn bridged(
    ctx: &Ctx,
    builder: BundleBuilder,
) -> anyhow::Result<(
    Bundle,
    RunningPlugin,
    conformance_core::http_bridge::HttpBridge,
)> {
    let (bundle, mut plugin) = start_ok(ctx, builder, HostConfig::default()).await?;
    if let Err(e) = plugin.activate().await {
        ctx.check("activated", "activated", e.to_string(), false);
        plugin.shutdown().await;
        anyhow::bail!("activation failed: {e}");
    }
    let bridge = plugin.start_http_bridge().await?;
    Ok((bundle, plugin, bridge))
}

/// The `init` of the first ServeHTTP request the plugin reported, parsed back into the
/// message and rendered by us, so the plugin's JSON spelling does not matter (Null if none).
fn reported_init(bundle: &Bundle) -> serde_json::Value {
    let desc = conformance_core::behaviour::message_of("ServeHTTP", "Request").expect("descriptor");
    observed(bundle, |e| match e {
        Observed::HookCall { hook, request } if hook == "ServeHTTP" => Some(request.clone()),
        _ => None,
    })
    .into_iter()
    .next()
    .and_then(|r| prost_reflect::DynamicMessage::deserialize(desc, r).ok())
    .map(|m| conformance_core::behaviour::to_json(&m)["init"].clone())
    .unwrap_or_default()
}

/// Starts `subject` through the reference host, activates it and starts the bridge.
async fn bridged_subject(
    ctx: &Ctx,
    subject: Plugin,
) -> anyhow::Result<(
    Bundle,
    RunningPlugin,
    conformance_core::http_bridge::HttpBridge,
)> {
    let (bundle, running) = start_plugin(ctx, subject, HostConfig::default()).await?;
    let (bundle, plugin) = activate(ctx, bundle, running).await?;
    let bridge = plugin.start_http_bridge().await?;
    Ok((bundle, plugin, bridge))
}

/// The suite prefix of the ServeHTTP cases of `subject`.
fn prefix(subject: Plugin) -> &'static str {
    match subject {
        Plugin::Fake => "serve-http",
        Plugin::Python => "serve-http-python",
    }
}

fn plugin() -> BundleBuilder {
    BundleBuilder::new(FakeMode::ConformancePlugin)
}

macro_rules! http_case {
    ($subject:expr, $name:expr, $level:expr, $clause:expr, $summary:expr, |$ctx:ident, $bundle:ident, $bridge:ident, $url:ident| $body:block) => {
        Case::new(
            &format!("{}/{}", prefix($subject), $name),
            $level,
            $clause,
            $summary,
            move |$ctx: Ctx| async move {
                let ($bundle, plugin, $bridge) = bridged_subject(&$ctx, $subject).await?;
                let $url = $bridge.base_url(&$bundle.plugin_id);
                let result: anyhow::Result<()> = async { $body }.await;
                drop($bridge);
                shutdown_checked(&$ctx, plugin).await;
                result
            },
        )
    };
}

/// The ServeHTTP cases any conformance plugin must pass (routes of BEHAVIOUR.md).
fn portable(subject: Plugin) -> Vec<Case> {
    vec![
        http_case!(
            subject,
            "get",
            Level::Must,
            "SPEC §13",
            "GET reaches the plugin and its answer reaches the client",
            |ctx, bundle, bridge, url| {
                let r = send(
                    bridge.address(),
                    request("GET", &format!("{url}/hello"), empty()),
                )
                .await?;
                ctx.eq("status", 200, r.status().as_u16());
                ctx.eq(
                    "content type",
                    Some("text/plain"),
                    r.headers()
                        .get("content-type")
                        .and_then(|v| v.to_str().ok()),
                );
                let (body, _) = read_all(r.into_body()).await?;
                ctx.eq(
                    "body",
                    "Hello, world!".to_string(),
                    String::from_utf8_lossy(&body).into_owned(),
                );
                ctx.eq(
                    "the plugin saw the path without its /plugins/{id} prefix",
                    serde_json::json!("/hello"),
                    reported_init(&bundle)["url"].clone(),
                );
                Ok(())
            }
        ),
        http_case!(
            subject,
            "post-echo",
            Level::Must,
            "SPEC §13.3",
            "a POST body and its content type are echoed back",
            |ctx, bundle, bridge, url| {
                let mut req = request("POST", &format!("{url}/echo?x=1"), full(b"{\"ping\":true}"));
                req.headers_mut()
                    .insert("content-type", "application/json".parse()?);
                let r = send(bridge.address(), req).await?;
                ctx.eq("status", 200, r.status().as_u16());
                ctx.eq(
                    "content type",
                    Some("application/json"),
                    r.headers()
                        .get("content-type")
                        .and_then(|v| v.to_str().ok()),
                );
                let (body, _) = read_all(r.into_body()).await?;
                ctx.eq(
                    "body",
                    "{\"ping\":true}".to_string(),
                    String::from_utf8_lossy(&body).into_owned(),
                );
                let init = reported_init(&bundle);
                ctx.eq(
                    "url has path and query",
                    serde_json::json!("/echo?x=1"),
                    init["url"].clone(),
                );
                ctx.eq("method", serde_json::json!("POST"), init["method"].clone());
                ctx.eq(
                    "content length",
                    serde_json::json!(13),
                    init["content_length"].clone(),
                );
                ctx.eq("host", serde_json::json!("localhost"), init["host"].clone());
                ctx.check(
                    "remote address",
                    "127.0.0.1:PORT",
                    &init["remote_addr"],
                    init["remote_addr"]
                        .as_str()
                        .is_some_and(|a| a.starts_with("127.0.0.1:")),
                );
                Ok(())
            }
        ),
        http_case!(
            subject,
            "100kib-in-chunks",
            Level::Must,
            "SPEC §13.3, §13.7",
            "a 100 KiB response arrives whole, in chunks of at most 64 KiB",
            |ctx, _bundle, bridge, url| {
                let r = send(
                    bridge.address(),
                    request("GET", &format!("{url}/stream?bytes=102400"), empty()),
                )
                .await?;
                let (body, largest) = read_all(r.into_body()).await?;
                ctx.eq("bytes", 102400, body.len());
                ctx.check("largest chunk", "<= 65536", largest, largest <= 65536);
                let expected: Vec<u8> = (0..102400).map(|i| b'a' + (i % 26) as u8).collect();
                ctx.eq("content", true, body == expected);
                Ok(())
            }
        ),
        http_case!(
            subject,
            "multi-value-headers",
            Level::Must,
            "SPEC §13.1 (HTTPHeader values)",
            "a header sent twice reaches the plugin as one key with two values",
            |ctx, _bundle, bridge, url| {
                let mut req = request("GET", &format!("{url}/headers"), empty());
                req.headers_mut().append("x-multi", "a".parse()?);
                req.headers_mut().append("x-multi", "b".parse()?);
                let r = send(bridge.address(), req).await?;
                let (body, _) = read_all(r.into_body()).await?;
                let json: serde_json::Value = serde_json::from_slice(&body)?;
                ctx.eq(
                    "values",
                    serde_json::json!(["a", "b"]),
                    json["x-multi"].clone(),
                );
                Ok(())
            }
        ),
        http_case!(
            subject,
            "response-before-body",
            Level::Must,
            "SPEC §13.2 (truly bidirectional)",
            "a plugin may answer before it reads the request body",
            |ctx, _bundle, bridge, url| {
                let r = send(
                    bridge.address(),
                    request("POST", &format!("{url}/early"), generated(2 * MIB)),
                )
                .await?;
                ctx.eq("status", 200, r.status().as_u16());
                let (body, _) = read_all(r.into_body()).await?;
                ctx.eq(
                    "body",
                    "early".to_string(),
                    String::from_utf8_lossy(&body).into_owned(),
                );
                Ok(())
            }
        ),
        http_case!(
            subject,
            "status-mapping",
            Level::Must,
            "SPEC §13.4 (0 → 200; outside 100–999 → 500)",
            "a status of 0 becomes 200, 418 stays, and 1000 becomes 500",
            |ctx, _bundle, bridge, url| {
                for (path, expected) in [
                    ("/status/0", 200),
                    ("/status/418", 418),
                    ("/status/1000", 500),
                ] {
                    let r = send(
                        bridge.address(),
                        request("GET", &format!("{url}{path}"), empty()),
                    )
                    .await?;
                    ctx.eq(&format!("GET {path}"), expected, r.status().as_u16());
                }
                Ok(())
            }
        ),
        http_case!(
            subject,
            "concurrent",
            Level::Must,
            "SPEC §12",
            "16 concurrent requests all complete",
            |ctx, _bundle, bridge, url| {
                let address = bridge.address();
                let requests = (0..16).map(|_| {
                    let uri = format!("{url}/hello");
                    async move {
                        match send(address, request("GET", &uri, empty())).await {
                            Ok(r) if r.status() == 200 => read_all(r.into_body())
                                .await
                                .map(|(b, _)| b == b"Hello, world!")
                                .unwrap_or(false),
                            _ => false,
                        }
                    }
                });
                let ok = futures::future::join_all(requests)
                    .await
                    .into_iter()
                    .filter(|x| *x)
                    .count();
                ctx.eq("requests answered", 16, ok);
                Ok(())
            }
        ),
    ]
}

/// The ServeHTTP cases of the Python reference plugin (skipped with the reason when
/// Python cannot be had).
pub fn python_cases() -> Vec<Case> {
    portable(Plugin::Python)
}

pub fn cases() -> Vec<Case> {
    let subject = Plugin::Fake;
    let mut cases = portable(subject);
    cases.extend(vec![
        http_case!(subject, "request-chunks", Level::Must, "SPEC §13.3", "a 300 KiB request body reaches the plugin in chunks of at most 64 KiB, ended by body_complete", |ctx, _bundle, bridge, url| {
            let r = send(bridge.address(), request("POST", &format!("{url}/chunks"), generated(300 * 1024))).await?;
            let (body, _) = read_all(r.into_body()).await?;
            let answer: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            let sizes: Vec<usize> = serde_json::from_value(answer["sizes"].clone()).unwrap_or_default();
            ctx.eq("total", 300 * 1024, sizes.iter().sum::<usize>());
            ctx.check("every chunk", "<= 65536 bytes", format!("{sizes:?}"), sizes.iter().all(|s| *s <= 65536));
            ctx.eq("the body ended with body_complete (not only the stream's end)", Some(true), answer["body_complete"].as_bool());
            Ok(())
        }),
        http_case!(subject, "flush", Level::Must, "SPEC §13.4 (flush)", "a flushed first chunk reaches the client while the plugin is still waiting to finish", |ctx, bundle, bridge, url| {
            let r = send(bridge.address(), request("GET", &format!("{url}/flush-wait?token=t1"), empty())).await?;
            let mut body = r.into_body();
            let first = match tokio::time::timeout(Duration::from_secs(8), body.frame()).await {
                Ok(Some(Ok(f))) => f.into_data().unwrap_or_default(),
                _ => Bytes::new(),
            };
            ctx.eq("first chunk before the plugin finished", "first;".to_string(), String::from_utf8_lossy(&first).into_owned());
            std::fs::write(bundle.dir.join("flush-t1"), "")?;
            let mut rest = Vec::new();
            while let Some(f) = body.frame().await {
                if let Ok(d) = f?.into_data() { rest.extend_from_slice(&d); }
            }
            ctx.eq("rest, after the client saw the first chunk", "rest".to_string(), String::from_utf8_lossy(&rest).into_owned());
            Ok(())
        }),
        http_case!(subject, "other-plugin-404", Level::Must, "SPEC §13 (routing)", "a path for another plugin id is 404 and never reaches this plugin", |ctx, bundle, bridge, _url| {
            let r = send(bridge.address(), request("GET", "/plugins/com.example.other/hello", empty())).await?;
            ctx.eq("status", 404, r.status().as_u16());
            let calls = observed(&bundle, |e| matches!(e, Observed::HookCall { hook, .. } if hook == "ServeHTTP").then_some(())).len();
            ctx.eq("ServeHTTP calls", 0, calls);
            Ok(())
        }),
        http_case!(subject, "client-disconnect-cancels", Level::Must, "SPEC §13.2, §13.5", "a client that goes away cancels the plugin's stream", |ctx, bundle, bridge, url| {
            let r = send(bridge.address(), request("GET", &format!("{url}/stream?bytes=1073741824"), empty())).await?;
            let mut body = r.into_body();
            let _ = body.frame().await;
            drop(body);
            let ended = wait_for(Duration::from_secs(10), || {
                observed(&bundle, |e| match e { Observed::HttpStreamEnded { path, completed } if path == "/stream" => Some(*completed), _ => None }).into_iter().next()
            }).await;
            ctx.eq("the plugin's stream ended early", Some(false), ended);
            Ok(())
        }),
        Case::new("serve-http/not-implemented-404", Level::Must, "SPEC §11.4, §13.5", "a plugin that does not list ServeHTTP gets no call, and the client gets 404", |ctx| async move {
            let (bundle, plugin, bridge) = bridged(&ctx, plugin().option("hooks", "OnActivate")).await?;
            let url = bridge.base_url(&bundle.plugin_id);
            let r = send(bridge.address(), request("GET", &format!("{url}/hello"), empty())).await?;
            ctx.eq("status", 404, r.status().as_u16());
            let calls = observed(&bundle, |e| matches!(e, Observed::HookCall { hook, .. } if hook == "ServeHTTP").then_some(())).len();
            ctx.eq("ServeHTTP calls", 0, calls);
            drop(bridge);
            shutdown_checked(&ctx, plugin).await;
            Ok(())
        }),
        Case::new("serve-http/plugin-crash-mid-stream", Level::Must, "SPEC §13.5", "a plugin that dies mid-response aborts the HTTP response instead of ending it as complete", |ctx| async move {
            let (bundle, plugin, bridge) = bridged(&ctx, plugin()).await?;
            let url = bridge.base_url(&bundle.plugin_id);
            let r = send(bridge.address(), request("GET", &format!("{url}/crash"), empty())).await?;
            ctx.eq("status of the started response", 200, r.status().as_u16());
            let read = tokio::time::timeout(Duration::from_secs(10), read_all(r.into_body())).await;
            ctx.check("the client sees an aborted body", "an error reading the body", format!("{read:?}"), matches!(read, Ok(Err(_))));
            drop(bridge);
            plugin.shutdown().await;
            Ok(())
        }).timeout(Duration::from_secs(30)),
        Case::new("serve-http/256mib-each-way", Level::Must, "SPEC §13.3, §13.4 (chunks streamed as they come, not buffered whole)", "256 MiB go each way through the bridge while the process's memory grows by less than 64 MiB", |ctx| async move {
            let (bundle, plugin, bridge) = bridged(&ctx, plugin()).await?;
            let url = bridge.base_url(&bundle.plugin_id);
            let before = reset_peak();
            let r = send(bridge.address(), request("POST", &format!("{url}/count"), generated(256 * MIB))).await?;
            let (body, _) = read_all(r.into_body()).await?;
            ctx.eq("bytes the plugin counted", (256 * MIB).to_string(), String::from_utf8_lossy(&body).into_owned());
            let r = send(bridge.address(), request("GET", &format!("{url}/stream?bytes={}", 256 * MIB), empty())).await?;
            let (total, largest) = count_all(r.into_body()).await?;
            ctx.eq("bytes the client received", 256 * MIB, total);
            ctx.check("largest chunk", "<= 65536", largest, largest <= 65536);
            let growth = peak().saturating_sub(before);
            ctx.check("peak memory growth", "< 64 MiB", format!("{:.1} MiB", growth as f64 / MIB as f64), growth < 64 * MIB);
            drop(bridge);
            shutdown_checked(&ctx, plugin).await;
            Ok(())
        }).timeout(Duration::from_secs(240)).exclusive(),
        Case::new("serve-http/slow-reader", Level::Must, "SPEC §13 (bounded queues)", "a client that stops reading holds the plugin back instead of filling memory", |ctx| async move {
            let (bundle, plugin, bridge) = bridged(&ctx, plugin()).await?;
            let url = bridge.base_url(&bundle.plugin_id);
            let before = reset_peak();
            let r = send(bridge.address(), request("GET", &format!("{url}/stream?bytes={}", 128 * MIB), empty())).await?;
            let mut body = r.into_body();
            let _ = body.frame().await;
            // The reader pauses: with bounded queues the plugin's stream stalls. Its end is
            // the event waited for; it must not come while nobody reads.
            let ended_early = wait_for(Duration::from_millis(1500), || {
                observed(&bundle, |e| matches!(e, Observed::HttpStreamEnded { .. }).then_some(())).into_iter().next()
            }).await;
            ctx.eq("the plugin's stream waits for the reader", None, ended_early);
            let stalled_growth = peak().saturating_sub(before);
            ctx.check("memory while the reader paused", "< 64 MiB (the stream is 128 MiB)", format!("{:.1} MiB", stalled_growth as f64 / MIB as f64), stalled_growth < 64 * MIB);
            let (rest, _) = count_all(body).await?;
            ctx.check("the rest arrives once reading resumes", "128 MiB in all", rest, rest + 64 * 1024 >= 128 * MIB && rest < 128 * MIB);
            drop(bridge);
            shutdown_checked(&ctx, plugin).await;
            Ok(())
        }).timeout(Duration::from_secs(120)).exclusive(),
    ]);
    cases
}
