//! Per-call latency of PluginAPI rpcs over loopback TCP, each as a ratio to an empty rpc
//! (`grpc.health.v1.Health/Check`, served by the same server) on the same connection,
//! measured in the same run. Goal: every ratio within 1.3x.
//!
//! `cargo bench -p conformance-core --bench api_latency`

use std::time::{Duration, Instant};

use conformance_core::api::{ApiServer, ReferenceApi, SharedStore};
use pluginapi_proto::pluginapi::plugin_api_client::PluginApiClient;
use pluginapi_proto::pluginapi::*;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

const WARMUP: usize = 300;
const CALLS: usize = 400;
const ROUNDS: usize = 7;

async fn time_calls<F, Fut>(n: usize, mut f: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let start = Instant::now();
    for _ in 0..n {
        f().await;
    }
    start.elapsed() / n as u32
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

#[tokio::main]
async fn main() {
    let store = SharedStore::default();
    let seeded = {
        let mut guard = store.lock().unwrap();
        conformance_core::api::seed::seed(&mut guard, "com.example.bench").expect("seed")
    };
    let server = ApiServer::start_with(
        "127.0.0.1:0".parse().unwrap(),
        ReferenceApi::new("com.example.bench", store),
        false,
    )
    .await
    .unwrap();
    let channel: Channel =
        tonic::transport::Endpoint::from_shared(format!("http://{}", server.address()))
            .unwrap()
            .tcp_nodelay(true)
            .connect()
            .await
            .unwrap();
    let api = PluginApiClient::new(channel.clone());
    let health = HealthClient::new(channel);
    let user_id = seeded.user_ids[0].clone();
    let channel_id = seeded.channel_ids[0].clone();

    let floor = || {
        let mut h = health.clone();
        async move {
            h.check(HealthCheckRequest {
                service: String::new(),
            })
            .await
            .unwrap();
        }
    };
    type Op = Box<dyn Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>>;
    let ops: Vec<(&str, Op)> = vec![
        ("GetServerVersion", {
            let api = api.clone();
            Box::new(move || {
                let mut c = api.clone();
                Box::pin(async move {
                    c.get_server_version(GetServerVersionRequest {})
                        .await
                        .unwrap();
                })
            })
        }),
        ("GetUser", {
            let (api, id) = (api.clone(), user_id.clone());
            Box::new(move || {
                let (mut c, id) = (api.clone(), id.clone());
                Box::pin(async move {
                    c.get_user(GetUserRequest { user_id: id }).await.unwrap();
                })
            })
        }),
        ("CreatePost", {
            let (api, user, ch) = (api.clone(), user_id.clone(), channel_id.clone());
            Box::new(move || {
                let (mut c, user, ch) = (api.clone(), user.clone(), ch.clone());
                Box::pin(async move {
                    c.create_post(CreatePostRequest {
                        post: Some(Post {
                            channel_id: ch,
                            user_id: user,
                            message: "benchmark".into(),
                            ..Default::default()
                        }),
                    })
                    .await
                    .unwrap();
                })
            })
        }),
        ("GetChannel", {
            let (api, id) = (api.clone(), channel_id.clone());
            Box::new(move || {
                let (mut c, id) = (api.clone(), id.clone());
                Box::pin(async move {
                    c.get_channel(GetChannelRequest { channel_id: id })
                        .await
                        .unwrap();
                })
            })
        }),
        ("KVSet", {
            let api = api.clone();
            Box::new(move || {
                let mut c = api.clone();
                Box::pin(async move {
                    c.kv_set(KvSetRequest {
                        key: "bench".into(),
                        value: b"value".to_vec(),
                    })
                    .await
                    .unwrap();
                })
            })
        }),
        ("KVGet", {
            let api = api.clone();
            Box::new(move || {
                let mut c = api.clone();
                Box::pin(async move {
                    c.kv_get(KvGetRequest {
                        key: "bench".into(),
                    })
                    .await
                    .unwrap();
                })
            })
        }),
        ("HasPermissionTo", {
            let (api, id) = (api.clone(), user_id.clone());
            Box::new(move || {
                let (mut c, id) = (api.clone(), id.clone());
                Box::pin(async move {
                    c.has_permission_to(HasPermissionToRequest {
                        user_id: id,
                        permission_id: "create_team".into(),
                    })
                    .await
                    .unwrap();
                })
            })
        }),
    ];

    time_calls(WARMUP, floor).await;
    println!("| rpc | µs per call | empty-rpc floor µs | ratio | goal ≤ 1.3× |");
    println!("|---|---:|---:|---:|---|");
    let mut worst: f64 = 0.0;
    for (name, op) in &ops {
        time_calls(WARMUP, op).await;
        let (mut ratios, mut op_us, mut floor_us) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            let f = time_calls(CALLS, floor).await.as_secs_f64() * 1e6;
            let o = time_calls(CALLS, op).await.as_secs_f64() * 1e6;
            ratios.push(o / f);
            op_us.push(o);
            floor_us.push(f);
        }
        let ratio = median(ratios);
        worst = worst.max(ratio);
        println!(
            "| {name} | {:.1} | {:.1} | {:.2} | {} |",
            median(op_us),
            median(floor_us),
            ratio,
            if ratio <= 1.3 { "met" } else { "missed" }
        );
    }
    println!(
        "\nworst ratio {worst:.2} ({} rounds of {CALLS} calls, median)",
        ROUNDS
    );
    server.stop().await;
}
