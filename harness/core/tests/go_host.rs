//! The go-plugin host (`fixtures/hosts/go-plugin/`: a real hashicorp/go-plugin host)
//! driven over the host driver contract (`proto/harness/v1/driver.proto`) with fake
//! interpreter bundles: Describe, LoadPlugin with activation, the host's own PluginAPI
//! server, CheckHealth, a hook through the PluginHooks proxy, ServeHTTP over HTTP,
//! UnloadPlugin, the Events stream, a refused handshake, and Shutdown.
//!
//! Prints `skipped: <reason>` and passes when the host cannot be built here (no `go`).

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use conformance_core::fixtures::{Bundle, BundleBuilder, FakeMode};
use conformance_core::go_host;
use conformance_core::observe::Observed;
use conformance_core::process::{ProcessGroup, is_running};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use pluginapi_proto::harness as hv1;
use pluginapi_proto::harness::host_driver_client::HostDriverClient;
use pluginapi_proto::pluginapi as pb;
use pluginapi_proto::pluginapi::plugin_api_client::PluginApiClient;
use pluginapi_proto::pluginapi::plugin_hooks_client::PluginHooksClient;
use tonic::transport::Channel;

const ANNOUNCE_PREFIX: &str = "plugin-conformance-driver|1|";
const ANNOUNCE_TIMEOUT: Duration = Duration::from_secs(30);
const EXIT_TIMEOUT: Duration = Duration::from_secs(10);

/// The driver process: its own process group, killed (with every plugin it started) on
/// drop; its stderr goes to a file, shown when the test fails.
struct Driver {
    child: Child,
    group: ProcessGroup,
    address: SocketAddr,
    log: PathBuf,
}

impl Driver {
    fn spawn(exe: &Path, log: &Path) -> Self {
        let stderr = std::fs::File::create(log).unwrap();
        let mut child = Command::new(exe)
            .env("PLUGIN_CONFORMANCE_DRIVER", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", exe.display()));
        let group = ProcessGroup::new(child.id());
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = tx.send(line);
            // Anything after the announcement is drained (there should be nothing).
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        let line = rx
            .recv_timeout(ANNOUNCE_TIMEOUT)
            .expect("the driver announces itself within 30 s");
        let address = line
            .trim_end()
            .strip_prefix(ANNOUNCE_PREFIX)
            .and_then(|a| a.parse::<SocketAddr>().ok())
            .unwrap_or_else(|| panic!("bad announcement {line:?}"));
        assert!(address.ip().is_loopback(), "{address}");
        Self {
            child,
            group,
            address,
            log: log.to_path_buf(),
        }
    }

    async fn channel(&self) -> Channel {
        tonic::transport::Endpoint::from_shared(format!("http://{}", self.address))
            .unwrap()
            .connect_timeout(Duration::from_secs(5))
            .connect()
            .await
            .expect("connect to the driver")
    }

    /// Waits for the driver to exit by itself.
    fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut text = String::new();
            if let Ok(mut f) = std::fs::File::open(&self.log) {
                let _ = f.read_to_string(&mut text);
            }
            let start = text.len().saturating_sub(6000);
            let start = (start..=text.len())
                .find(|i| text.is_char_boundary(*i))
                .unwrap_or(0);
            eprintln!("--- go-plugin-host stderr (end) ---\n{}", &text[start..]);
        }
        self.group.kill();
        let _ = self.child.wait();
    }
}

fn with_plugin<T>(message: T, plugin_id: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("x-conformance-plugin-id", plugin_id.parse().unwrap());
    request
}

/// Every event of a plugin; the stream must end (after unload or a failed start).
async fn events(
    client: &mut HostDriverClient<Channel>,
    plugin_id: &str,
) -> Vec<hv1::LifecycleEvent> {
    let mut stream = client
        .events(hv1::EventsRequest {
            plugin_id: plugin_id.into(),
        })
        .await
        .unwrap()
        .into_inner();
    let mut out = Vec::new();
    while let Some(event) = tokio::time::timeout(Duration::from_secs(10), stream.message())
        .await
        .expect("the Events stream ends once the plugin is gone")
        .unwrap()
    {
        out.push(event);
    }
    out
}

fn kinds(events: &[hv1::LifecycleEvent]) -> Vec<&str> {
    events.iter().map(|e| e.kind.as_str()).collect()
}

/// Whether `expected` appears in `seen` in this order (other kinds may come between).
fn in_order(seen: &[&str], expected: &[&str]) -> bool {
    let mut rest = seen.iter();
    expected.iter().all(|want| rest.any(|k| k == want))
}

/// `GET <base><path>` over HTTP/1.1: status, Content-Type, body.
async fn http_get(base: &str, path: &str) -> (u16, String, Bytes) {
    let authority = base.strip_prefix("http://").expect("an http:// base URL");
    let tcp = tokio::net::TcpStream::connect(authority).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .unwrap();
    tokio::spawn(connection);
    let request = hyper::Request::get(path)
        .header(hyper::header::HOST, authority)
        .body(Empty::<Bytes>::new())
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(hyper::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, content_type, body)
}

fn hook_calls(bundle: &Bundle, hook: &str) -> Vec<serde_json::Value> {
    bundle
        .observations()
        .into_iter()
        .filter_map(|o| match o.event {
            Observed::HookCall { hook: h, request } if h == hook => Some(request),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn go_plugin_host_drives_fake_plugins_over_the_driver_contract() {
    let started = Instant::now();
    let exe = match go_host::build() {
        Ok(exe) => exe,
        Err(reason) => {
            eprintln!("skipped: {reason}");
            return;
        }
    };
    eprintln!(
        "go-plugin host: {} (build {:?})",
        exe.display(),
        started.elapsed()
    );
    let scratch = tempfile::tempdir().unwrap();
    let mut driver = Driver::spawn(&exe, &scratch.path().join("driver.log"));
    let channel = driver.channel().await;
    let mut client = HostDriverClient::new(channel.clone());

    // Describe.
    let description = client
        .describe(hv1::DescribeRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(description.name, "go-plugin-host");
    assert!(description.version.starts_with("v1."), "{description:?}");
    assert!(
        description.http_base_url.starts_with("http://127.0.0.1:"),
        "{description:?}"
    );
    assert!(!description.api_sessions);

    // LoadPlugin with activation: spawned, handshake, Implemented, OnActivate.
    let bundle = BundleBuilder::new(FakeMode::ConformancePlugin)
        .write(&scratch.path().join("conformance"))
        .unwrap();
    let loaded = client
        .load_plugin(hv1::LoadPluginRequest {
            bundle_dir: bundle.dir.display().to_string(),
            activate: true,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(loaded.started, "{loaded:?}");
    assert_eq!(loaded.plugin_id, bundle.plugin_id);
    assert!(
        loaded.error.is_empty() && loaded.activation_error.is_empty(),
        "{loaded:?}"
    );
    assert!(loaded.pid != 0 && is_running(loaded.pid), "{loaded:?}");
    assert_eq!(loaded.implemented.len(), 41, "{loaded:?}");
    assert!(
        loaded
            .implemented
            .iter()
            .any(|h| h == "MessageWillBePosted")
    );

    // The plugin was started as Mattermost starts Python plugins.
    let start = bundle
        .observations()
        .into_iter()
        .find_map(|o| match o.event {
            Observed::Started { argv, cwd, env, .. } => Some((o.pid, argv, cwd, env)),
            _ => None,
        })
        .expect("the fake recorded its start");
    assert_eq!(start.0, loaded.pid);
    assert_eq!(start.1.last().map(String::as_str), Some("plugin.py"));
    assert!(start.1[0].ends_with("venv/bin/python"), "{:?}", start.1);
    assert_eq!(Path::new(&start.2), bundle.dir.as_path());
    assert_eq!(
        start.3.get("MATTERMOST_PLUGIN").map(String::as_str),
        Some("Securely message teams, anywhere.")
    );
    assert_eq!(
        start.3.get("MATTERMOST_PLUGIN_API_TARGET"),
        Some(&loaded.api_target)
    );
    assert_eq!(
        start.3.get("PLUGIN_PROTOCOL_VERSIONS").map(String::as_str),
        Some("1")
    );

    // OnActivate ran against the host's own PluginAPI server (GetServerVersion, KVSet).
    assert_eq!(hook_calls(&bundle, "OnActivate").len(), 1);
    let mut api = PluginApiClient::connect(format!("http://{}", loaded.api_target))
        .await
        .unwrap();
    let kv = api
        .kv_get(pb::KvGetRequest {
            key: "conformance-activated".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(kv.value, b"1", "{kv:?}");
    let unimplemented = api
        .get_user(pb::GetUserRequest {
            user_id: "nobody".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(unimplemented.code(), tonic::Code::Unimplemented);
    drop(api);

    // CheckHealth: go-plugin's Ping.
    let health = client
        .check_health(hv1::CheckHealthRequest {
            plugin_id: bundle.plugin_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(health.healthy, "{health:?}");

    // A hook through the proxy reaches the plugin, and its answer comes back.
    let mut hooks = PluginHooksClient::new(channel.clone());
    let post = pb::Post {
        id: "post-1".into(),
        message: "please reject-me".into(),
        ..Default::default()
    };
    let answer = hooks
        .message_will_be_posted(with_plugin(
            pb::MessageWillBePostedRequest {
                post: Some(post.clone()),
                ..Default::default()
            },
            &bundle.plugin_id,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        answer.rejection_reason,
        "rejected by the conformance plugin"
    );
    let seen = hook_calls(&bundle, "MessageWillBePosted");
    assert_eq!(seen.len(), 1);
    assert!(seen[0].to_string().contains("please reject-me"), "{seen:?}");
    let unknown = hooks
        .message_will_be_posted(with_plugin(
            pb::MessageWillBePostedRequest::default(),
            "com.example.not-loaded",
        ))
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), tonic::Code::NotFound);

    // ServeHTTP through the host's HTTP server.
    let base = &description.http_base_url;
    let (status, content_type, body) =
        http_get(base, &format!("/plugins/{}/hello", bundle.plugin_id)).await;
    assert_eq!((status, content_type.as_str()), (200, "text/plain"));
    assert_eq!(&body[..], b"Hello, world!");
    let (status, _, body) = http_get(
        base,
        &format!("/plugins/{}/stream?bytes=150000", bundle.plugin_id),
    )
    .await;
    assert_eq!((status, body.len()), (200, 150_000));
    let (status, _, _) = http_get(base, "/plugins/com.example.not-loaded/hello").await;
    assert_eq!(status, 404);

    // UnloadPlugin: OnDeactivate, go-plugin's Kill (GRPCController/Shutdown: the fake exits).
    let unloaded = client
        .unload_plugin(hv1::UnloadPluginRequest {
            plugin_id: bundle.plugin_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(unloaded.error.is_empty(), "{unloaded:?}");
    assert!(unloaded.graceful && !unloaded.killed, "{unloaded:?}");
    assert!(
        !is_running(loaded.pid),
        "the plugin process is gone after UnloadPlugin"
    );
    assert_eq!(hook_calls(&bundle, "OnDeactivate").len(), 1);
    assert!(
        bundle
            .observations()
            .iter()
            .any(|o| o.event == Observed::ShutdownRpc)
    );
    let again = client
        .unload_plugin(hv1::UnloadPluginRequest {
            plugin_id: bundle.plugin_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(again.error.contains("not loaded"), "{again:?}");

    // Events: everything since LoadPlugin, in order; the stream ends after the unload.
    let all = events(&mut client, &bundle.plugin_id).await;
    let seen = kinds(&all);
    assert!(
        in_order(
            &seen,
            &[
                "api_server_started",
                "spawned",
                "connected",
                "health_checked",
                "hook_called",
                "shutdown_requested",
                "controller_shutdown",
                "process_exited",
                "api_server_stopped",
            ]
        ),
        "{seen:?}"
    );
    assert!(!seen.contains(&"kill_sent"), "{seen:?}");
    let detail = |kind: &str| {
        all.iter()
            .filter(|e| e.kind == kind)
            .map(|e| e.detail.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(detail("spawned"), [loaded.pid.to_string()]);
    assert_eq!(detail("api_server_started"), [loaded.api_target.as_str()]);
    let hooks_called = detail("hook_called");
    for hook in [
        "Implemented",
        "OnActivate",
        "MessageWillBePosted",
        "ServeHTTP",
        "OnDeactivate",
    ] {
        assert!(
            hooks_called.iter().any(|h| h == hook),
            "{hook}: {hooks_called:?}"
        );
    }
    assert!(all.iter().all(|e| e.plugin_id == bundle.plugin_id));
    assert!(all.windows(2).all(|w| w[0].t_us <= w[1].t_us), "{all:?}");

    // A refused handshake: started false, go-plugin's error, no process left.
    let broken = BundleBuilder::new(FakeMode::BadCoreVersion)
        .plugin_id("com.mattermost.conformance.bad-core")
        .write(&scratch.path().join("broken"))
        .unwrap();
    let refused = client
        .load_plugin(hv1::LoadPluginRequest {
            bundle_dir: broken.dir.display().to_string(),
            activate: true,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!refused.started, "{refused:?}");
    assert_eq!(refused.plugin_id, broken.plugin_id);
    assert!(
        refused.error.contains("incompatible core API version"),
        "{refused:?}"
    );
    assert!(refused.pid != 0 && !is_running(refused.pid), "{refused:?}");
    let failed = events(&mut client, &broken.plugin_id).await;
    let seen = kinds(&failed);
    assert!(
        in_order(
            &seen,
            &[
                "api_server_started",
                "spawned",
                "process_exited",
                "api_server_stopped"
            ]
        ) && seen.contains(&"start_failed"),
        "{seen:?}"
    );

    // Implemented gating: a plugin that lists only OnActivate gets no other hook call;
    // the host answers its defaults itself. Then Shutdown unloads it and the driver exits.
    let last = BundleBuilder::new(FakeMode::ConformancePlugin)
        .plugin_id("com.mattermost.conformance.last")
        .option("hooks", "OnActivate")
        .write(&scratch.path().join("last"))
        .unwrap();
    let running = client
        .load_plugin(hv1::LoadPluginRequest {
            bundle_dir: last.dir.display().to_string(),
            activate: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(running.started, "{running:?}");
    assert_eq!(running.implemented, ["OnActivate"]);
    let gated = hooks
        .message_will_be_posted(with_plugin(
            pb::MessageWillBePostedRequest {
                post: Some(post),
                ..Default::default()
            },
            &last.plugin_id,
        ))
        .await
        .unwrap();
    assert_eq!(
        gated
            .metadata()
            .get("x-conformance-not-called")
            .and_then(|v| v.to_str().ok()),
        Some("true")
    );
    assert_eq!(
        gated.into_inner(),
        pb::MessageWillBePostedResponse::default()
    );
    let ping = hooks
        .on_shared_channels_ping(with_plugin(
            pb::OnSharedChannelsPingRequest::default(),
            &last.plugin_id,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(
        ping.healthy,
        "the default of an unlisted OnSharedChannelsPing"
    );
    let (status, _, _) = http_get(base, &format!("/plugins/{}/hello", last.plugin_id)).await;
    assert_eq!(status, 404, "ServeHTTP is not listed");
    assert!(hook_calls(&last, "MessageWillBePosted").is_empty());
    assert!(hook_calls(&last, "ServeHTTP").is_empty());
    client.shutdown(hv1::ShutdownRequest {}).await.unwrap();
    let status = driver
        .wait_exit(EXIT_TIMEOUT)
        .expect("the driver exits after Shutdown");
    assert!(status.success(), "{status}");
    assert!(!is_running(running.pid), "Shutdown left the plugin running");
}
