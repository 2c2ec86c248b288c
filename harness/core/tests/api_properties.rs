//! Properties of the reference PluginAPI server over real loopback gRPC:
//! * arbitrary bytes and generated requests sent to every one of the 236 rpcs never crash
//!   (no handler panics) or wedge the server (every call answers within a deadline, and
//!   the server still serves afterwards);
//! * KV compare-and-set from 8 concurrent clients loses no update.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use conformance_core::api::{ApiServer, ReferenceApi, SharedStore};
use pluginapi_proto::api::API_RPCS;
use pluginapi_proto::pluginapi::plugin_api_client::PluginApiClient;
use pluginapi_proto::pluginapi::{AppError, KvCompareAndSetRequest, KvGetRequest};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use prost::Message;
use prost_reflect::{DynamicMessage, Kind, Value};
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::transport::Channel;

/// Sends and receives raw message bytes.
#[derive(Clone, Copy)]
struct RawCodec;
struct RawEncoder;
struct RawDecoder;

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawEncoder;
    type Decoder = RawDecoder;
    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }
    fn decoder(&mut self) -> RawDecoder {
        RawDecoder
    }
}

impl Encoder for RawEncoder {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        use bytes::BufMut;
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawDecoder {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, tonic::Status> {
        use bytes::Buf;
        let mut out = vec![0; src.remaining()];
        src.copy_to_slice(&mut out);
        Ok(Some(out))
    }
}

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

async fn server() -> (ApiServer, Channel) {
    let server = ApiServer::start_with(
        "127.0.0.1:0".parse().unwrap(),
        ReferenceApi::new("com.example.props", SharedStore::default()),
        false,
    )
    .await
    .unwrap();
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", server.address()))
        .unwrap()
        .connect()
        .await
        .unwrap();
    (server, channel)
}

/// Calls `rpc` with raw bytes; `Err` only when the call did not answer in time.
async fn raw_call(channel: &Channel, rpc: &str, body: Vec<u8>) -> Result<tonic::Code, String> {
    let mut grpc = tonic::client::Grpc::new(channel.clone());
    grpc.ready().await.map_err(|e| e.to_string())?;
    let path: tonic::codegen::http::uri::PathAndQuery =
        format!("/mattermost.pluginapi.v1.PluginAPI/{rpc}")
            .parse()
            .unwrap();
    let call = grpc.unary(tonic::Request::new(body), path, RawCodec);
    match tokio::time::timeout(Duration::from_secs(5), call).await {
        Err(_) => Err(format!("{rpc} did not answer within 5 s")),
        Ok(Ok(_)) => Ok(tonic::Code::Ok),
        Ok(Err(status)) => Ok(status.code()),
    }
}

/// A request of `rpc`'s input type with every top-level scalar field set from `seed`.
fn generated_request(rpc: &str, seed: &[u8]) -> Vec<u8> {
    let pool = pluginapi_proto::descriptor_pool();
    let method = pool
        .get_service_by_name("mattermost.pluginapi.v1.PluginAPI")
        .unwrap()
        .methods()
        .find(|m| m.name() == rpc)
        .unwrap();
    let mut message = DynamicMessage::new(method.input());
    let strings = [
        "",
        "x",
        "nosuchid00000000000000000",
        "../../etc/passwd",
        "é漢字🙂",
        "a b",
    ];
    for (i, field) in method.input().fields().enumerate() {
        let b = seed.get(i % seed.len().max(1)).copied().unwrap_or(0);
        let value = match field.kind() {
            Kind::String if !field.is_list() && !field.is_map() => {
                Value::String(strings[b as usize % strings.len()].to_string())
            }
            Kind::Bool if !field.is_list() => Value::Bool(b % 2 == 1),
            Kind::Int32 if !field.is_list() => Value::I32(i32::from(b as i8) * 1000),
            Kind::Int64 if !field.is_list() => Value::I64(i64::from(b as i8) * 1_000_000),
            Kind::Bytes if !field.is_list() => Value::Bytes(seed.to_vec().into()),
            _ => continue,
        };
        message.set_field(&field, value);
    }
    message.encode_to_vec()
}

#[test]
fn arbitrary_requests_to_every_rpc_never_crash_or_wedge() {
    count_panics();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (server, channel) = rt.block_on(server());
    let before = PANICS.load(Ordering::SeqCst);
    let mut runner = TestRunner::new(Config::with_cases(2 * API_RPCS.len() as u32));
    let strategy = (
        0..API_RPCS.len(),
        any::<bool>(),
        proptest::collection::vec(any::<u8>(), 0..64),
    );
    let result = runner.run(&strategy, |(i, structured, bytes)| {
        let rpc = API_RPCS[i].0;
        let body = if structured {
            generated_request(rpc, &bytes)
        } else {
            bytes
        };
        let code = rt
            .block_on(raw_call(&channel, rpc, body))
            .map_err(TestCaseError::fail)?;
        prop_assert_ne!(code, tonic::Code::Unknown, "{} answered Unknown", rpc);
        Ok(())
    });
    // Every rpc once more with structured input, so coverage does not depend on chance.
    for (rpc, _) in API_RPCS {
        let code = rt
            .block_on(raw_call(
                &channel,
                rpc,
                generated_request(rpc, b"\x01\x02\x03"),
            ))
            .unwrap();
        assert_ne!(code, tonic::Code::Unknown, "{rpc}");
    }
    let after = PANICS.load(Ordering::SeqCst);
    let still_serving = rt.block_on(raw_call(&channel, "GetServerVersion", Vec::new()));
    rt.block_on(server.stop());
    result.unwrap();
    assert_eq!(after - before, 0, "handlers panicked");
    assert_eq!(still_serving, Ok(tonic::Code::Ok));
}

#[test]
fn kv_compare_and_set_from_8_concurrent_clients_loses_no_update() {
    const CLIENTS: usize = 8;
    const INCREMENTS: usize = 25;
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let (server, _) = server().await;
        let address = format!("http://{}", server.address());
        let successes = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..CLIENTS {
            let address = address.clone();
            let successes = successes.clone();
            tasks.push(tokio::spawn(async move {
                // One connection per client.
                let mut client = PluginApiClient::connect(address).await.unwrap();
                let mut done = 0;
                while done < INCREMENTS {
                    let current = client
                        .kv_get(KvGetRequest {
                            key: "counter".into(),
                        })
                        .await
                        .unwrap()
                        .into_inner()
                        .value;
                    let n: usize = if current.is_empty() {
                        0
                    } else {
                        String::from_utf8(current.clone()).unwrap().parse().unwrap()
                    };
                    let swapped = client
                        .kv_compare_and_set(KvCompareAndSetRequest {
                            key: "counter".into(),
                            old_value: current,
                            new_value: (n + 1).to_string().into_bytes(),
                        })
                        .await
                        .unwrap()
                        .into_inner()
                        .success;
                    if swapped {
                        done += 1;
                        successes.fetch_add(1, Ordering::SeqCst);
                    }
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let mut client = PluginApiClient::connect(address).await.unwrap();
        let value = client
            .kv_get(KvGetRequest {
                key: "counter".into(),
            })
            .await
            .unwrap()
            .into_inner()
            .value;
        assert_eq!(
            String::from_utf8(value).unwrap(),
            (CLIENTS * INCREMENTS).to_string()
        );
        assert_eq!(successes.load(Ordering::SeqCst), CLIENTS * INCREMENTS);
        server.stop().await;
    });
}

/// Field 1 of every PluginAPI response.
#[derive(Clone, PartialEq, prost::Message)]
struct OnlyError {
    #[prost(message, optional, tag = "1")]
    error: Option<AppError>,
}

/// 501 AppErrors that upstream answers on a freshly installed Team Edition server with
/// default configuration, which the reference server stands in for (SPEC §24): these are
/// upstream's answers, not stubs.
const UPSTREAM_DISABLED: &[(&str, &str)] = &[
    ("ent.ldap.disabled.app_error", "Team Edition has no LDAP"),
    (
        "app.plugin.upload_disabled.app_error",
        "PluginSettings.EnableUploads defaults to false",
    ),
    (
        "plugin_api.get_file_link.disabled.app_error",
        "FileSettings.EnablePublicLink defaults to false",
    ),
];

fn upstream_disabled(id: &str) -> bool {
    UPSTREAM_DISABLED.iter().any(|(known, _)| *known == id)
}

#[test]
fn every_rpc_answers_something_other_than_unimplemented() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (server, channel) = rt.block_on(server());
    let mut unimplemented = Vec::new();
    for (rpc, _) in API_RPCS {
        for body in [Vec::new(), generated_request(rpc, b"\x05\x03")] {
            match rt.block_on(raw_call_body(&channel, rpc, body)) {
                Err(status)
                    if status.code() == tonic::Code::Unimplemented
                        && !upstream_disabled(status.message().split(':').next().unwrap_or("")) =>
                {
                    unimplemented.push(format!("{rpc}: status {}", status.message()));
                }
                Ok(bytes) => {
                    if let Some(e) = OnlyError::decode(bytes.as_slice())
                        .ok()
                        .and_then(|r| r.error)
                        && e.status_code == 501
                        && !upstream_disabled(&e.id)
                    {
                        unimplemented.push(format!("{rpc}: embedded {}", e.message));
                    }
                }
                Err(_) => {}
            }
        }
    }
    rt.block_on(server.stop());
    unimplemented.dedup();
    assert!(
        unimplemented.is_empty(),
        "{} rpc answers were UNIMPLEMENTED:\n{}",
        unimplemented.len(),
        unimplemented.join("\n")
    );
}

async fn raw_call_body(
    channel: &Channel,
    rpc: &str,
    body: Vec<u8>,
) -> Result<Vec<u8>, tonic::Status> {
    let mut grpc = tonic::client::Grpc::new(channel.clone());
    grpc.ready()
        .await
        .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
    let path: tonic::codegen::http::uri::PathAndQuery =
        format!("/mattermost.pluginapi.v1.PluginAPI/{rpc}")
            .parse()
            .unwrap();
    grpc.unary(tonic::Request::new(body), path, RawCodec)
        .await
        .map(tonic::Response::into_inner)
}

/// Calls in different sessions (`x-conformance-session`) see separate stores; calls
/// without one share the server's store, and the call log names each call's session.
#[test]
fn sessions_are_isolated_from_each_other_and_from_the_shared_store() {
    use conformance_core::apicase::DynamicClient;
    use serde_json::json;
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let (server, channel) = server().await;
        let mut client = DynamicClient::new(channel);
        let set = |v: &'static str| json!({"key": "k", "value": v});
        for (session, value) in [(Some("a"), "YQ=="), (Some("b"), "Yg=="), (None, "cw==")] {
            client
                .call("KVSet", &set(value), None, session)
                .await
                .unwrap();
        }
        for (session, value) in [(Some("a"), "YQ=="), (Some("b"), "Yg=="), (None, "cw==")] {
            let got = client
                .call("KVGet", &json!({"key": "k"}), None, session)
                .await
                .unwrap();
            assert_eq!(got, json!({"value": value}), "session {session:?}");
        }
        let fresh = client
            .call("KVList", &json!({}), None, Some("c"))
            .await
            .unwrap();
        assert_eq!(fresh, json!({}), "a new session starts empty");
        let sessions: Vec<Option<String>> = server.calls().into_iter().map(|c| c.session).collect();
        assert_eq!(sessions[0].as_deref(), Some("a"));
        assert_eq!(sessions[2], None);
        server.stop().await;
    });
}
