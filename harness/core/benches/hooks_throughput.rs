//! Hook round trip and ServeHTTP throughput, each against a floor measured in the same run
//! on the same plugin process (the fake interpreter's `conformance-plugin` mode, started
//! by the reference host):
//! * `MessageHasBeenPosted` round trip vs `grpc.health.v1.Health/Check` on the same
//!   connection (goal: within 1.3x);
//! * 256 MiB each way through the HTTP bridge vs the same transfer on a raw ServeHTTP
//!   gRPC stream (goal: at least 60% of the floor's throughput).
//!
//! `cargo bench -p conformance-core --bench hooks_throughput`

use std::time::{Duration, Instant};

use bytes::Bytes;
use conformance_core::behaviour::message_of;
use conformance_core::fixtures::{BundleBuilder, FakeMode};
use conformance_core::supervisor::{self, HostConfig};
use http_body_util::{BodyExt, Empty, StreamBody};
use hyper::body::Frame;
use hyper_util::rt::TokioIo;
use pluginapi_proto::pluginapi::plugin_hooks_client::PluginHooksClient;
use pluginapi_proto::pluginapi::{ServeHttpRequest, ServeHttpRequestInit};
use prost_reflect::DynamicMessage;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

const CALLS: usize = 500;
const ROUNDS: usize = 7;
const BYTES: usize = 256 << 20;
const CHUNK: usize = 64 << 10;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// Upload then download `BYTES` on a raw ServeHTTP stream; seconds for each.
async fn raw_stream(channel: tonic::transport::Channel) -> (f64, f64) {
    static BLOCK: [u8; CHUNK] = [b'x'; CHUNK];
    let mut client = PluginHooksClient::new(channel)
        .max_decoding_message_size(usize::MAX)
        .max_encoding_message_size(usize::MAX);
    let init = |method: &str, url: &str| ServeHttpRequestInit {
        method: method.into(),
        url: url.into(),
        ..Default::default()
    };
    let start = Instant::now();
    let n = BYTES / CHUNK;
    let first = ServeHttpRequest {
        init: Some(init("POST", "/count")),
        body_chunk: Vec::new(),
        body_complete: false,
    };
    let body = (0..n).map(move |i| ServeHttpRequest {
        init: None,
        body_chunk: BLOCK.to_vec(),
        body_complete: i == n - 1,
    });
    let outbound = tokio_stream::iter(std::iter::once(first).chain(body));
    let mut inbound = client.serve_http(outbound).await.unwrap().into_inner();
    while inbound.message().await.unwrap().is_some() {}
    let up = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let request = ServeHttpRequest {
        init: Some(init("GET", &format!("/stream?bytes={BYTES}"))),
        body_chunk: Vec::new(),
        body_complete: true,
    };
    let mut inbound = client
        .serve_http(tokio_stream::iter(vec![request]))
        .await
        .unwrap()
        .into_inner();
    let mut total = 0;
    while let Some(m) = inbound.message().await.unwrap() {
        total += m.body_chunk.len();
    }
    assert_eq!(total, BYTES);
    (up, start.elapsed().as_secs_f64())
}

/// The same transfers through the HTTP bridge.
async fn bridged(address: std::net::SocketAddr, base: &str) -> (f64, f64) {
    static BLOCK: [u8; CHUNK] = [b'x'; CHUNK];
    async fn send(
        address: std::net::SocketAddr,
        req: hyper::Request<http_body_util::combinators::BoxBody<Bytes, std::io::Error>>,
    ) -> hyper::Response<hyper::body::Incoming> {
        let tcp = tokio::net::TcpStream::connect(address).await.unwrap();
        tcp.set_nodelay(true).unwrap();
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
            .await
            .unwrap();
        tokio::spawn(conn);
        sender.send_request(req).await.unwrap()
    }
    let start = Instant::now();
    let body =
        StreamBody::new(futures::stream::iter((0..BYTES / CHUNK).map(|_| {
            Ok::<_, std::io::Error>(Frame::data(Bytes::from_static(&BLOCK)))
        })))
        .boxed();
    let req = hyper::Request::post(format!("{base}/count"))
        .header("Host", "localhost")
        .body(body)
        .unwrap();
    let r = send(address, req).await;
    let text = r.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(text, BYTES.to_string());
    let up = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let empty = Empty::new().map_err(|never| match never {}).boxed();
    let req = hyper::Request::get(format!("{base}/stream?bytes={BYTES}"))
        .header("Host", "localhost")
        .body(empty)
        .unwrap();
    let mut body = send(address, req).await.into_body();
    let mut total = 0;
    while let Some(frame) = body.frame().await {
        if let Ok(d) = frame.unwrap().into_data() {
            total += d.len();
        }
    }
    assert_eq!(total, BYTES);
    (up, start.elapsed().as_secs_f64())
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = BundleBuilder::new(FakeMode::ConformancePlugin)
        .write(&dir.path().join("b"))
        .unwrap();
    let mut plugin = supervisor::start(&bundle.dir, HostConfig::default())
        .await
        .unwrap();
    plugin.activate().await.unwrap();
    let bridge = plugin.start_http_bridge().await.unwrap();
    let base = format!("/plugins/{}", bundle.plugin_id);

    // Hook round trip vs the empty-rpc floor.
    let health = HealthClient::new(plugin.channel());
    let request = DynamicMessage::deserialize(
        message_of("MessageHasBeenPosted", "Request").unwrap(),
        serde_json::json!({"post": {"id": "p", "message": "benchmark"}}),
    )
    .unwrap();
    let time = |n: usize| {
        let health = health.clone();
        async move {
            let start = Instant::now();
            for _ in 0..n {
                let mut h = health.clone();
                h.check(HealthCheckRequest {
                    service: "plugin".into(),
                })
                .await
                .unwrap();
            }
            start.elapsed() / n as u32
        }
    };
    let (mut hook_us, mut floor_us, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    time(200).await;
    for _ in 0..ROUNDS {
        let floor = time(CALLS).await;
        let start = Instant::now();
        for _ in 0..CALLS {
            plugin
                .call_hook("MessageHasBeenPosted", request.clone())
                .await;
        }
        let hook: Duration = start.elapsed() / CALLS as u32;
        hook_us.push(hook.as_secs_f64() * 1e6);
        floor_us.push(floor.as_secs_f64() * 1e6);
        ratios.push(hook.as_secs_f64() / floor.as_secs_f64());
    }
    let ratio = median(ratios);
    println!("| measure | subject | floor | ratio | goal |");
    println!("|---|---:|---:|---:|---|");
    println!(
        "| hook round trip (MessageHasBeenPosted vs Health/Check), µs | {:.1} | {:.1} | {:.2}× | ≤ 1.3× {} |",
        median(hook_us),
        median(floor_us),
        ratio,
        if ratio <= 1.3 { "met" } else { "missed" }
    );

    // ServeHTTP throughput, 256 MiB each way, bridge vs raw stream (best of 3).
    let mut best_raw = (f64::MAX, f64::MAX);
    let mut best_bridge = (f64::MAX, f64::MAX);
    for _ in 0..3 {
        let raw = raw_stream(plugin.channel()).await;
        best_raw = (best_raw.0.min(raw.0), best_raw.1.min(raw.1));
        let via = bridged(bridge.address(), &base).await;
        best_bridge = (best_bridge.0.min(via.0), best_bridge.1.min(via.1));
    }
    let mib = (BYTES >> 20) as f64;
    for (name, raw, via) in [
        ("upload", best_raw.0, best_bridge.0),
        ("download", best_raw.1, best_bridge.1),
    ] {
        let share = raw / via;
        println!(
            "| ServeHTTP 256 MiB {name}, MiB/s (bridge vs raw stream) | {:.0} | {:.0} | {:.0}% | ≥ 60% {} |",
            mib / via,
            mib / raw,
            share * 100.0,
            if share >= 0.6 { "met" } else { "missed" }
        );
    }
    drop(bridge);
    plugin.shutdown().await;
}
