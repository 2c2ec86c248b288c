//! The Python reference plugin (`fixtures/plugins/python-reference/`, real grpcio) driven
//! through the reference host: SDK handshake, health, `Implemented`, hook answers and
//! their `hook_call` observations, `OnActivate` against the host's PluginAPI, streaming
//! ServeHTTP, graceful shutdown.
//!
//! Each test prints `skipped: <reason>` and passes when Python cannot be prepared here
//! (no `python3`, no PyPI).

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use conformance_core::behaviour;
use conformance_core::fixtures::Bundle;
use conformance_core::manifest::InterpreterSource;
use conformance_core::observe::Observed;
use conformance_core::python_reference::{self, PreparedPython};
use conformance_core::supervisor::{self, HealthOutcome, HostConfig, RunningPlugin};
use pluginapi_proto::pluginapi as pb;
use pluginapi_proto::pluginapi::plugin_api_client::PluginApiClient;
use pluginapi_proto::pluginapi::plugin_hooks_client::PluginHooksClient;
use prost_reflect::{DynamicMessage, ReflectMessage};
use tonic::transport::Channel;

const CHUNK: usize = 64 * 1024;

fn prepared() -> Option<&'static PreparedPython> {
    match python_reference::prepare() {
        Ok(p) => {
            eprintln!(
                "python reference: {} ({}, {:?})",
                p.cache.display(),
                if p.reused { "cached" } else { "prepared" },
                p.took
            );
            Some(p)
        }
        Err(reason) => {
            eprintln!("skipped: {reason}");
            None
        }
    }
}

/// Writes a bundle into a fresh temporary directory and starts it through the host.
async fn start(
    prepared: &PreparedPython,
    hooks: Option<&[&str]>,
    fail_activate: bool,
) -> (tempfile::TempDir, Bundle, RunningPlugin) {
    let scratch = tempfile::tempdir().unwrap();
    let bundle = python_reference::write_bundle(
        prepared,
        &scratch.path().join("b"),
        python_reference::PluginOptions {
            hooks,
            fail_activate,
            ..Default::default()
        },
    )
    .unwrap();
    let plugin = match supervisor::start(&bundle.dir, HostConfig::default()).await {
        Ok(plugin) => plugin,
        Err(failure) => panic!(
            "the reference plugin did not start: {failure}\nlogs: {:?}",
            failure.logs
        ),
    };
    (scratch, bundle, plugin)
}

fn hooks_client(plugin: &RunningPlugin) -> PluginHooksClient<Channel> {
    PluginHooksClient::new(plugin.channel())
}

/// The `hook_call` observations, in order, as (hook, request JSON).
fn hook_calls(bundle: &Bundle) -> Vec<(String, serde_json::Value)> {
    bundle
        .observations()
        .into_iter()
        .filter_map(|o| match o.event {
            Observed::HookCall { hook, request } => Some((hook, request)),
            _ => None,
        })
        .collect()
}

/// Parses an observed request back into the message type that was sent.
fn parse_back<T: prost::Message + Default>(hook: &str, request: &serde_json::Value) -> T {
    let desc = behaviour::message_of(hook, "Request").expect("a hook request type");
    let dynamic = DynamicMessage::deserialize(desc, request.clone())
        .unwrap_or_else(|e| panic!("{hook}: observed request {request} does not parse: {e}"));
    dynamic.transcode_to::<T>().unwrap()
}

/// The response the Rust behaviour model gives for `request`, as typed `Resp`.
fn expected<Req: prost::Message, Resp: prost::Message + Default>(hook: &str, req: &Req) -> Resp {
    let desc = behaviour::message_of(hook, "Request").unwrap();
    let dynamic = behaviour::dynamic_of(req, desc);
    match behaviour::respond(hook, &dynamic, &behaviour::Settings::all()).unwrap() {
        behaviour::Reply::Answer(m) => m.transcode_to::<Resp>().unwrap(),
        other => panic!("{hook}: the model does not answer: {other:?}"),
    }
}

/// The hook names `"all"` lists: every rpc but Implemented.
fn listed_hook_names() -> BTreeSet<String> {
    behaviour::listed_hooks().into_iter().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starts_like_the_sdk_answers_health_and_implemented_and_stops_gracefully() {
    let Some(prepared) = prepared() else { return };
    let (_scratch, bundle, plugin) = start(prepared, None, false).await;

    let fields: Vec<&str> = plugin.handshake_line.trim_end().split('|').collect();
    assert_eq!(fields.len(), 5, "handshake {:?}", plugin.handshake_line);
    assert_eq!(&fields[..3], ["1", "1", "tcp"]);
    assert_eq!(fields[4], "grpc");
    let port = fields[3]
        .strip_prefix("127.0.0.1:")
        .and_then(|p| p.parse::<u16>().ok());
    assert!(port.is_some_and(|p| p > 0), "address {:?}", fields[3]);

    assert_eq!(plugin.ping().await, HealthOutcome::Serving);
    assert_eq!(plugin.health_check("").await, HealthOutcome::Serving);

    let sent = pb::ImplementedRequest::default();
    let resp = hooks_client(&plugin)
        .implemented(sent.clone())
        .await
        .unwrap()
        .into_inner();
    assert!(resp.error.is_none());
    assert_eq!(resp.hooks.len(), 41);
    assert_eq!(
        resp.hooks.iter().cloned().collect::<BTreeSet<_>>(),
        listed_hook_names()
    );

    let calls = hook_calls(&bundle);
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].0, "Implemented");
    assert_eq!(
        parse_back::<pb::ImplementedRequest>("Implemented", &calls[0].1),
        sent
    );

    let pid = plugin.pid;
    let report = plugin.shutdown().await;
    assert!(report.graceful, "{report:?}");
    assert!(!report.killed, "{report:?}");
    assert!(
        report.exit_status.contains('0'),
        "exit status {:?}",
        report.exit_status
    );
    assert!(!conformance_core::process::is_running(pid));
    let saw_shutdown = bundle
        .observations()
        .iter()
        .any(|o| matches!(o.event, Observed::ShutdownRpc));
    assert!(saw_shutdown, "GRPCController/Shutdown was not observed");
}

fn post(message: &str) -> pb::Post {
    let mut props = prost_types::Struct::default();
    props.fields.insert(
        "from_bot".into(),
        prost_types::Value {
            kind: Some(prost_types::value::Kind::BoolValue(true)),
        },
    );
    props.fields.insert(
        "nested".into(),
        prost_types::Value {
            kind: Some(prost_types::value::Kind::StructValue(prost_types::Struct {
                fields: [(
                    "n".to_string(),
                    prost_types::Value {
                        kind: Some(prost_types::value::Kind::NumberValue(1.5)),
                    },
                )]
                .into(),
            })),
        },
    );
    pb::Post {
        id: "p".repeat(26),
        create_at: 1_700_000_000_123,
        user_id: "u".repeat(26),
        channel_id: "c".repeat(26),
        message: message.to_string(),
        props: Some(props),
        file_ids: vec!["f1".into(), "f2".into()],
        // proto3 `optional` fields explicitly present with their default values.
        remote_id: Some(String::new()),
        is_following: Some(false),
        ..Default::default()
    }
}

fn plugin_context() -> pb::PluginContext {
    pb::PluginContext {
        session_id: "s".repeat(26),
        request_id: "r".repeat(26),
        ip_address: "127.0.0.1".into(),
        accept_language: "en".into(),
        user_agent: "conformance".into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hooks_answer_as_specified_and_report_every_request_intact() {
    let Some(prepared) = prepared() else { return };
    let (_scratch, bundle, plugin) = start(prepared, None, false).await;
    let mut client = hooks_client(&plugin);

    // MessageWillBePosted: modify-me, reject-me, neutral.
    let mut posted = Vec::new();
    for text in ["please modify-me", "please reject-me", "hello"] {
        let req = pb::MessageWillBePostedRequest {
            plugin_context: Some(plugin_context()),
            post: Some(post(text)),
            ..Default::default()
        };
        let resp = client
            .message_will_be_posted(req.clone())
            .await
            .unwrap()
            .into_inner();
        posted.push((req, resp));
    }
    let modified = posted[0].1.modified_post.clone().expect("a modified post");
    assert_eq!(modified.message, "please modify-me [modified]");
    assert_eq!(
        pb::Post {
            message: "please modify-me".into(),
            ..modified.clone()
        },
        post("please modify-me"),
        "the rest of the post is unchanged"
    );
    assert_eq!(posted[0].1.rejection_reason, "");
    assert_eq!(
        posted[1].1.rejection_reason,
        "rejected by the conformance plugin"
    );
    assert!(posted[1].1.modified_post.is_none());
    assert_eq!(posted[2].1, pb::MessageWillBePostedResponse::default());

    // More hooks, each compared with the Rust model of BEHAVIOUR.md.
    let config = pb::ConfigurationWillBeSavedRequest {
        new_config: Some(pb::ConfigJson {
            config_json: br#"{"ServiceSettings":{"SiteURL":"http://x"},"TeamSettings":{"SiteName":"modify-me"}}"#
                .to_vec(),
        }),
        ..Default::default()
    };
    let resp = client
        .configuration_will_be_saved(config.clone())
        .await
        .unwrap()
        .into_inner();
    let modified: serde_json::Value =
        serde_json::from_slice(&resp.modified_config.as_ref().unwrap().config_json).unwrap();
    assert_eq!(
        modified["TeamSettings"]["SiteName"],
        "modified by the conformance plugin"
    );
    assert_eq!(modified["ServiceSettings"]["SiteURL"], "http://x");
    assert_eq!(resp, expected("ConfigurationWillBeSaved", &config));

    // The marker only in a bytes field.
    let upload = pb::FileWillBeUploadedRequest {
        plugin_context: Some(plugin_context()),
        file_info: Some(pb::FileInfo {
            name: "a.txt".into(),
            size: 9,
            ..Default::default()
        }),
        file_content: b"reject-me".to_vec(),
        ..Default::default()
    };
    let resp = client
        .file_will_be_uploaded(upload.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resp.rejection_reason, "rejected by the conformance plugin");
    assert_eq!(resp, expected("FileWillBeUploaded", &upload));

    let command = pb::ExecuteCommandRequest {
        plugin_context: Some(plugin_context()),
        args: Some(pb::CommandArgs {
            command: "/echo hi there".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let resp = client
        .execute_command(command.clone())
        .await
        .unwrap()
        .into_inner();
    let r = resp.response.clone().unwrap();
    assert_eq!(
        (r.text.as_str(), r.response_type.as_str()),
        ("hi there", "ephemeral")
    );
    assert_eq!(resp, expected("ExecuteCommand", &command));

    let unknown = pb::ExecuteCommandRequest {
        args: Some(pb::CommandArgs {
            command: "/nope".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    // The SDK's way to fail a command: the handler raises, the call fails with a status.
    let status = client
        .execute_command(unknown.clone())
        .await
        .expect_err("an unknown command fails the call");
    assert_eq!(status.code(), tonic::Code::Internal, "{status:?}");

    let retention = pb::RunDataRetentionRequest {
        now_time: 1_700_000_000_000,
        batch_size: 21,
        ..Default::default()
    };
    let resp = client
        .run_data_retention(retention.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resp.deleted_count, 42);
    assert_eq!(resp, expected("RunDataRetention", &retention));

    let deactivate = pb::OnDeactivateRequest {
        context: Some(pb::RequestContext::default()),
    };
    let resp = client
        .on_deactivate(deactivate.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resp, expected("OnDeactivate", &deactivate));

    // An optional message field present but empty, and a user with a props map.
    let joined = pb::UserHasJoinedChannelRequest {
        plugin_context: Some(plugin_context()),
        channel_member: Some(pb::ChannelMember {
            channel_id: "c".repeat(26),
            user_id: "fail-me".into(),
            ..Default::default()
        }),
        actor: Some(pb::User {
            username: "actor".into(),
            props: [("k".to_string(), "v".to_string())].into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let resp = client
        .user_has_joined_channel(joined.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resp, pb::UserHasJoinedChannelResponse::default());
    let joined_empty_actor = pb::UserHasJoinedChannelRequest {
        actor: Some(pb::User::default()),
        ..Default::default()
    };
    client
        .user_has_joined_channel(joined_empty_actor.clone())
        .await
        .unwrap();

    let ping = pb::OnSharedChannelsPingRequest {
        context: Some(pb::RequestContext::default()),
        ..Default::default()
    };
    let resp = client
        .on_shared_channels_ping(ping.clone())
        .await
        .unwrap()
        .into_inner();
    assert!(resp.healthy);

    let support = pb::GenerateSupportDataRequest::default();
    let resp = client
        .generate_support_data(support.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resp, expected("GenerateSupportData", &support));

    // Every call reported once, in order, and each request parses back intact.
    let calls = hook_calls(&bundle);
    let names: Vec<&str> = calls.iter().map(|(h, _)| h.as_str()).collect();
    assert_eq!(
        names,
        [
            "MessageWillBePosted",
            "MessageWillBePosted",
            "MessageWillBePosted",
            "ConfigurationWillBeSaved",
            "FileWillBeUploaded",
            "ExecuteCommand",
            "ExecuteCommand",
            "RunDataRetention",
            "OnDeactivate",
            "UserHasJoinedChannel",
            "UserHasJoinedChannel",
            "OnSharedChannelsPing",
            "GenerateSupportData",
        ]
    );
    for (i, (req, _)) in posted.iter().enumerate() {
        assert_eq!(
            &parse_back::<pb::MessageWillBePostedRequest>("MessageWillBePosted", &calls[i].1),
            req
        );
    }
    assert_eq!(
        parse_back::<pb::ConfigurationWillBeSavedRequest>("ConfigurationWillBeSaved", &calls[3].1),
        config
    );
    assert_eq!(
        parse_back::<pb::FileWillBeUploadedRequest>("FileWillBeUploaded", &calls[4].1),
        upload
    );
    assert_eq!(
        parse_back::<pb::ExecuteCommandRequest>("ExecuteCommand", &calls[5].1),
        command
    );
    assert_eq!(
        parse_back::<pb::ExecuteCommandRequest>("ExecuteCommand", &calls[6].1),
        unknown
    );
    assert_eq!(
        parse_back::<pb::RunDataRetentionRequest>("RunDataRetention", &calls[7].1),
        retention
    );
    assert_eq!(
        parse_back::<pb::OnDeactivateRequest>("OnDeactivate", &calls[8].1),
        deactivate
    );
    assert_eq!(
        parse_back::<pb::UserHasJoinedChannelRequest>("UserHasJoinedChannel", &calls[9].1),
        joined
    );
    assert_eq!(
        parse_back::<pb::UserHasJoinedChannelRequest>("UserHasJoinedChannel", &calls[10].1),
        joined_empty_actor
    );
    assert_eq!(
        parse_back::<pb::OnSharedChannelsPingRequest>("OnSharedChannelsPing", &calls[11].1),
        ping
    );
    assert_eq!(
        parse_back::<pb::GenerateSupportDataRequest>("GenerateSupportData", &calls[12].1),
        support
    );

    let report = plugin.shutdown().await;
    assert!(report.graceful && !report.killed, "{report:?}");
}

fn with_plugin_id<T>(message: T, plugin_id: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert(
        conformance_core::api::PLUGIN_ID_HEADER,
        plugin_id.parse().unwrap(),
    );
    request
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_activate_calls_the_plugin_api_and_fail_activate_refuses() {
    let Some(prepared) = prepared() else { return };
    let (_scratch, bundle, plugin) = start(prepared, None, false).await;
    let resp = hooks_client(&plugin)
        .on_activate(pb::OnActivateRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(resp.error.is_none(), "{resp:?}");
    let rpcs: Vec<String> = plugin.api_calls().into_iter().map(|c| c.rpc).collect();
    let version_at = rpcs.iter().position(|r| r == "GetServerVersion");
    let kv_at = rpcs.iter().position(|r| r == "KVSet");
    assert!(
        matches!((version_at, kv_at), (Some(v), Some(k)) if v < k),
        "PluginAPI calls {rpcs:?}"
    );
    let mut api = PluginApiClient::connect(format!("http://{}", plugin.api_address))
        .await
        .unwrap();
    let kv = api
        .kv_get(with_plugin_id(
            pb::KvGetRequest {
                key: "conformance-activated".into(),
            },
            &bundle.plugin_id,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(kv.error.is_none(), "{kv:?}");
    assert_eq!(kv.value, b"1");
    let report = plugin.shutdown().await;
    assert!(report.graceful && !report.killed, "{report:?}");

    // A configured subset and fail_activate.
    let (_scratch, _bundle, plugin) =
        start(prepared, Some(&["OnActivate", "ServeHTTP"]), true).await;
    let mut client = hooks_client(&plugin);
    let implemented = client
        .implemented(pb::ImplementedRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(implemented.hooks, ["OnActivate", "ServeHTTP"]);
    let resp = client
        .on_activate(pb::OnActivateRequest::default())
        .await
        .unwrap()
        .into_inner();
    let error = resp.error.expect("activation refused");
    assert_eq!(error.id, "plugin.on_activate.error");
    assert_eq!(error.status_code, 500);
    let report = plugin.shutdown().await;
    assert!(report.graceful && !report.killed, "{report:?}");
}

/// One ServeHTTP exchange: the request messages, then every response message.
async fn serve_http(
    client: &mut PluginHooksClient<Channel>,
    messages: Vec<pb::ServeHttpRequest>,
) -> Vec<pb::ServeHttpResponse> {
    let mut stream = client
        .serve_http(tokio_stream::iter(messages))
        .await
        .unwrap()
        .into_inner();
    let mut out = Vec::new();
    while let Some(message) = stream.message().await.unwrap() {
        out.push(message);
    }
    out
}

fn init(method: &str, url: &str, headers: &[(&str, &str)]) -> pb::ServeHttpRequestInit {
    pb::ServeHttpRequestInit {
        plugin_context: Some(plugin_context()),
        method: method.into(),
        url: url.into(),
        proto: "HTTP/1.1".into(),
        proto_major: 1,
        proto_minor: 1,
        headers: headers
            .iter()
            .map(|(k, v)| pb::HttpHeader {
                key: k.to_string(),
                values: vec![v.to_string()],
            })
            .collect(),
        host: "localhost".into(),
        remote_addr: "127.0.0.1:5555".into(),
        request_uri: format!("/plugins/com.mattermost.conformance.python-reference{url}"),
        content_length: 0,
    }
}

/// A request without a body: init and body_complete in one message.
fn get(url: &str) -> Vec<pb::ServeHttpRequest> {
    vec![pb::ServeHttpRequest {
        init: Some(init("GET", url, &[])),
        body_chunk: Vec::new(),
        body_complete: true,
    }]
}

/// Status, headers, body and whether the framing rules hold: init first and only there,
/// chunks of at most 64 KiB, body_complete exactly on the last message.
struct HttpAnswer {
    status: i32,
    headers: Vec<pb::HttpHeader>,
    body: Vec<u8>,
    chunk_sizes: Vec<usize>,
    flushes: Vec<bool>,
}

fn answer(messages: &[pb::ServeHttpResponse]) -> HttpAnswer {
    assert!(!messages.is_empty(), "no response message");
    let init = messages[0]
        .init
        .clone()
        .expect("the first message has the init");
    for (i, m) in messages.iter().enumerate() {
        assert!(i == 0 || m.init.is_none(), "init again in message {i}");
        assert!(
            m.body_chunk.len() <= CHUNK,
            "chunk {i} is {} bytes",
            m.body_chunk.len()
        );
        assert_eq!(
            m.body_complete,
            i == messages.len() - 1,
            "body_complete on message {i} of {}",
            messages.len()
        );
    }
    let body_messages: Vec<&pb::ServeHttpResponse> = messages
        .iter()
        .filter(|m| !m.body_chunk.is_empty())
        .collect();
    HttpAnswer {
        status: init.status_code,
        headers: init.headers,
        body: messages.iter().flat_map(|m| m.body_chunk.clone()).collect(),
        chunk_sizes: body_messages.iter().map(|m| m.body_chunk.len()).collect(),
        flushes: body_messages.iter().map(|m| m.flush).collect(),
    }
}

fn header<'a>(headers: &'a [pb::HttpHeader], name: &str) -> Option<&'a [String]> {
    headers
        .iter()
        .find(|h| h.key.eq_ignore_ascii_case(name))
        .map(|h| h.values.as_slice())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_http_streams_in_both_directions() {
    let Some(prepared) = prepared() else { return };
    let (_scratch, bundle, plugin) = start(prepared, None, false).await;
    let mut client = hooks_client(&plugin);

    let hello = answer(&serve_http(&mut client, get("/hello")).await);
    assert_eq!(hello.status, 200);
    assert_eq!(hello.body, b"Hello, world!");
    assert_eq!(
        header(&hello.headers, "Content-Type"),
        Some(&["text/plain".to_string()][..])
    );

    // /echo: 150 000 bytes in three request messages, body_complete on an empty last one.
    let body: Vec<u8> = (0..150_000u32).map(|i| (i % 251) as u8).collect();
    let mut messages = vec![pb::ServeHttpRequest {
        init: Some(init(
            "POST",
            "/echo",
            &[("Content-Type", "application/x-test")],
        )),
        body_chunk: body[..CHUNK].to_vec(),
        body_complete: false,
    }];
    messages.push(pb::ServeHttpRequest {
        init: None,
        body_chunk: body[CHUNK..2 * CHUNK].to_vec(),
        body_complete: false,
    });
    messages.push(pb::ServeHttpRequest {
        init: None,
        body_chunk: body[2 * CHUNK..].to_vec(),
        body_complete: false,
    });
    messages.push(pb::ServeHttpRequest {
        init: None,
        body_chunk: Vec::new(),
        body_complete: true,
    });
    let echo = answer(&serve_http(&mut client, messages.clone()).await);
    assert_eq!(echo.status, 200);
    assert_eq!(echo.body, body);
    assert_eq!(
        header(&echo.headers, "Content-Type"),
        Some(&["application/x-test".to_string()][..])
    );

    let stream = answer(&serve_http(&mut client, get("/stream?bytes=200000")).await);
    assert_eq!(stream.status, 200);
    assert_eq!(stream.body.len(), 200_000);
    assert!(
        stream
            .body
            .iter()
            .enumerate()
            .all(|(i, &b)| b == b'a' + (i % 26) as u8)
    );
    assert_eq!(
        stream.chunk_sizes,
        [CHUNK, CHUNK, CHUNK, 200_000 - 3 * CHUNK]
    );
    assert_eq!(stream.flushes, [true, false, false, false]);

    // /early answers before the body is sent: send the init alone and wait for the answer.
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tx.send(pb::ServeHttpRequest {
        init: Some(init("POST", "/early", &[])),
        body_chunk: Vec::new(),
        body_complete: false,
    })
    .await
    .unwrap();
    let mut responses = client
        .serve_http(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .unwrap()
        .into_inner();
    let mut early = Vec::new();
    while let Some(m) = tokio::time::timeout(Duration::from_secs(10), responses.message())
        .await
        .expect("/early answered before the body was sent")
        .unwrap()
    {
        let done = m.body_complete;
        early.push(m);
        if done {
            break;
        }
    }
    tx.send(pb::ServeHttpRequest {
        init: None,
        body_chunk: vec![b'x'; 1000],
        body_complete: true,
    })
    .await
    .unwrap();
    drop(tx);
    while responses.message().await.unwrap().is_some() {}
    let early = answer(&early);
    assert_eq!((early.status, early.body.as_slice()), (200, &b"early"[..]));

    let count = answer(
        &serve_http(
            &mut client,
            vec![
                pb::ServeHttpRequest {
                    init: Some(init("POST", "/count", &[])),
                    body_chunk: vec![1; 1000],
                    body_complete: false,
                },
                pb::ServeHttpRequest {
                    init: None,
                    body_chunk: vec![2; 234],
                    body_complete: true,
                },
            ],
        )
        .await,
    );
    assert_eq!((count.status, count.body.as_slice()), (200, &b"1234"[..]));

    let teapot = answer(&serve_http(&mut client, get("/status/418")).await);
    assert_eq!((teapot.status, teapot.body.len()), (418, 0));

    let missing = answer(&serve_http(&mut client, get("/nowhere")).await);
    assert_eq!(
        (missing.status, missing.body.as_slice()),
        (404, &b"Not Found"[..])
    );

    let mut headers_req = get("/headers");
    headers_req[0].init.as_mut().unwrap().headers = vec![
        pb::HttpHeader {
            key: "X-Multi".into(),
            values: vec!["a".into(), "b".into()],
        },
        pb::HttpHeader {
            key: "Accept".into(),
            values: vec!["*/*".into()],
        },
    ];
    let headers = answer(&serve_http(&mut client, headers_req).await);
    assert_eq!(headers.status, 200);
    let seen: serde_json::Value = serde_json::from_slice(&headers.body).unwrap();
    assert_eq!(
        seen,
        serde_json::json!({"x-multi": ["a", "b"], "accept": ["*/*"]})
    );

    // Each ServeHTTP call is reported with its first request message.
    let calls = hook_calls(&bundle);
    assert_eq!(calls.len(), 8, "{calls:?}");
    assert!(calls.iter().all(|(h, _)| h == "ServeHTTP"));
    assert_eq!(
        parse_back::<pb::ServeHttpRequest>("ServeHTTP", &calls[1].1),
        messages[0]
    );

    let report = plugin.shutdown().await;
    assert!(report.graceful && !report.killed, "{report:?}");
}

#[test]
fn write_bundle_lays_out_a_launchable_bundle() {
    let Some(prepared) = prepared() else { return };
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().join("b");
    let bundle = python_reference::write_bundle(
        prepared,
        &dir,
        python_reference::PluginOptions {
            hooks: Some(&["OnActivate"]),
            fail_activate: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        bundle.plugin_id,
        "com.mattermost.conformance.python-reference"
    );
    assert!(dir.join("plugin.py").is_file() && dir.join("plugin.json").is_file());
    assert!(dir.join("venv/bin/python").exists());
    assert!(dir.join("_generated/hooks_pb2.py").is_file());
    assert!(dir.join("_generated/plugin/__init__.py").is_file());
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("conformance.json")).unwrap()).unwrap();
    assert_eq!(
        config,
        serde_json::json!({
            "observe": bundle.observations,
            "hooks": ["OnActivate"],
            "fail_activate": true,
            "fail_hooks": [],
            "hang_hooks": [],
            "api_exercises": null,
        })
    );
    let plan = conformance_core::manifest::LaunchPlan::for_bundle(Path::new(&dir), None).unwrap();
    assert_eq!(
        plan.interpreter_source,
        InterpreterSource::Bundle("venv/bin/python")
    );
    assert_eq!(plan.script, Path::new("plugin.py"));
}

/// Every unary hook, with fully populated requests carrying no marker and each marker in
/// every string, answers exactly as the Rust model of BEHAVIOUR.md
/// (`conformance_core::behaviour::respond`), and reports each request intact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_unary_hook_answers_as_the_behaviour_model() {
    use conformance_core::requestgen::{differences, populate};
    use conformance_core::supervisor::hooks::HookOutcome;

    let Some(prepared) = prepared() else { return };
    let (_scratch, bundle, mut plugin) = start(prepared, None, false).await;
    let activation = plugin.activate().await.expect("activation");
    assert_eq!(activation.implemented.len(), 41);

    let mut mismatches = Vec::new();
    let mut sent = Vec::new();
    for hook in behaviour::all_hooks() {
        if hook == "ServeHTTP" || hook == "Implemented" || hook == "OnActivate" {
            continue;
        }
        for tag in [
            "plain",
            behaviour::MODIFY,
            behaviour::REJECT,
            behaviour::FAIL,
            behaviour::RAISE,
            behaviour::DISMISS,
            behaviour::DROP,
        ] {
            let request = behaviour::populated(&hook, tag).unwrap();
            // What the plugin gets: what Mattermost's hook client conveys.
            let conveyed = conformance_core::conveyance::convey_request(&hook, &request);
            // And what the host applies of the answer (an AppError's message is dropped).
            let expected = behaviour::expected_json(&hook, &conveyed).map(|answer| {
                let desc = behaviour::message_of(&hook, "Response").unwrap();
                let message = DynamicMessage::deserialize(desc, answer).unwrap();
                behaviour::to_json(&conformance_core::conveyance::convey_answer(
                    &hook, &message,
                ))
            });
            match (plugin.call_hook(&hook, request.clone()).await, expected) {
                (HookOutcome::Answered(m), Ok(expected)) => {
                    let seen = behaviour::to_json(&m);
                    let diffs = differences(&expected, &seen);
                    if !diffs.is_empty() {
                        mismatches.push(format!("{hook} [{tag}]: {}", diffs.join("; ")));
                    }
                }
                // The SDK's error path: the handler raised, the call failed with INTERNAL.
                (
                    HookOutcome::Failed {
                        code: tonic::Code::Internal,
                        ..
                    },
                    Err(_),
                ) => {}
                (other, expected) => mismatches.push(format!(
                    "{hook} [{tag}]: expected {expected:?}, saw {}",
                    other.describe()
                )),
            }
            sent.push((hook.clone(), conveyed));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));

    // After Implemented and OnActivate from activation, each request in order, intact.
    let calls = hook_calls(&bundle);
    assert_eq!(calls.len(), sent.len() + 2);
    for ((hook, request), (seen_hook, json)) in sent.iter().zip(&calls[2..]) {
        assert_eq!(hook, seen_hook);
        let parsed = DynamicMessage::deserialize(request.descriptor(), json.clone()).unwrap();
        let diffs = differences(&behaviour::to_json(request), &behaviour::to_json(&parsed));
        assert!(diffs.is_empty(), "{hook}: {}", diffs.join("; "));
    }

    // A request with `hang-me` is never answered; shutdown is still graceful.
    let hang = populate(
        &behaviour::message_of("MessageWillBePosted", "Request").unwrap(),
        behaviour::HANG,
    );
    let mut client = hooks_client(&plugin);
    let request = hang
        .transcode_to::<pb::MessageWillBePostedRequest>()
        .unwrap();
    let answer = tokio::time::timeout(
        Duration::from_millis(800),
        client.message_will_be_posted(request),
    )
    .await;
    assert!(answer.is_err(), "answered a hang-me request: {answer:?}");

    let report = plugin.shutdown().await;
    assert!(report.graceful && !report.killed, "{report:?}");
}
