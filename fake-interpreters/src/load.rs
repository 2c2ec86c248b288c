//! The `api-load` mode's PluginAPI load: after the handshake (or once a start file
//! appears in the bundle), `calls` PluginAPI calls against `MATTERMOST_PLUGIN_API_TARGET`
//! over one connection, `concurrency` at a time, KVSet / KVGet / GetServerVersion in turn;
//! then one `api_load` observation with the ok and error counts. Every wait is bounded:
//! the connection, each call and the wait for the start file.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use conformance_core::observe::{self, Observed};
use pluginapi_proto::api::ApiResponse;
use pluginapi_proto::pluginapi::plugin_api_client::PluginApiClient;
use pluginapi_proto::pluginapi::{GetServerVersionRequest, KvGetRequest, KvSetRequest};
use tonic::transport::Channel;

/// Deadline of one call.
const CALL_DEADLINE: Duration = Duration::from_secs(10);
/// Deadline of the connection to the PluginAPI server.
const CONNECT_DEADLINE: Duration = Duration::from_secs(5);
/// Longest wait for the start file.
const START_WAIT: Duration = Duration::from_secs(120);
/// Distinct KV keys the load cycles through.
const KEYS: u64 = 64;

/// What to do: the mode's options `calls` (default 100), `concurrency` (default 4) and
/// `start_file` (a path relative to the bundle, the working directory).
#[derive(Debug, Clone)]
pub struct Load {
    calls: u64,
    concurrency: u64,
    start_file: Option<PathBuf>,
}

impl Load {
    pub fn from_options(options: &BTreeMap<String, String>) -> Self {
        let number = |k: &str, default: u64| {
            options
                .get(k)
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(default)
        };
        Self {
            calls: number("calls", 100),
            concurrency: number("concurrency", 4).max(1),
            start_file: options.get("start_file").map(PathBuf::from),
        }
    }
}

/// The tally of the calls made so far.
#[derive(Default)]
struct Tally {
    ok: AtomicU64,
    errors: AtomicU64,
    first_error: Mutex<Option<String>>,
}

impl Tally {
    fn error(&self, what: String) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        let mut first = self.first_error.lock().unwrap_or_else(|e| e.into_inner());
        first.get_or_insert(what);
    }

    fn outcome<R: ApiResponse>(&self, rpc: &str, result: CallResult<R>) {
        match result {
            Ok(Ok(response)) => match response.into_inner().app_error() {
                None => {
                    self.ok.fetch_add(1, Ordering::Relaxed);
                }
                Some(e) => self.error(format!("{rpc}: AppError {}: {}", e.id, e.message)),
            },
            Ok(Err(status)) => {
                self.error(format!("{rpc}: {:?}: {}", status.code(), status.message()))
            }
            Err(_) => self.error(format!("{rpc}: no answer within {CALL_DEADLINE:?}")),
        }
    }
}

type CallResult<R> = Result<Result<tonic::Response<R>, tonic::Status>, tokio::time::error::Elapsed>;

/// Call `i` of the load: KVSet, KVGet and GetServerVersion in turn, on `KEYS` keys.
async fn call(client: &mut PluginApiClient<Channel>, i: u64, tally: &Tally) {
    let key = format!("load-{}", (i / 3) % KEYS);
    match i % 3 {
        0 => {
            let request = KvSetRequest {
                key,
                value: format!("{{\"call\":{i}}}").into_bytes(),
            };
            let result = tokio::time::timeout(CALL_DEADLINE, client.kv_set(request)).await;
            tally.outcome("KVSet", result);
        }
        1 => {
            let result =
                tokio::time::timeout(CALL_DEADLINE, client.kv_get(KvGetRequest { key })).await;
            tally.outcome("KVGet", result);
        }
        _ => {
            let request = GetServerVersionRequest {};
            let result =
                tokio::time::timeout(CALL_DEADLINE, client.get_server_version(request)).await;
            tally.outcome("GetServerVersion", result);
        }
    }
}

/// Waits for the start file; false when it did not appear within [`START_WAIT`].
async fn wait_for(file: &std::path::Path) -> bool {
    let deadline = tokio::time::Instant::now() + START_WAIT;
    while tokio::time::Instant::now() < deadline {
        if file.exists() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    false
}

async fn connect() -> Result<Channel, String> {
    let target = std::env::var("MATTERMOST_PLUGIN_API_TARGET").unwrap_or_default();
    let endpoint = tonic::transport::Endpoint::from_shared(format!("http://{target}"))
        .map_err(|e| format!("bad MATTERMOST_PLUGIN_API_TARGET {target:?}: {e}"))?
        .connect_timeout(CONNECT_DEADLINE)
        .tcp_nodelay(true);
    match tokio::time::timeout(CONNECT_DEADLINE, endpoint.connect()).await {
        Ok(Ok(channel)) => Ok(channel),
        Ok(Err(e)) => Err(format!(
            "cannot connect to the PluginAPI at {target:?}: {e}"
        )),
        Err(_) => Err(format!(
            "no connection to the PluginAPI at {target:?} within {CONNECT_DEADLINE:?}"
        )),
    }
}

/// Runs the load and records its `api_load` observation.
pub async fn run(obs: PathBuf, load: Load) {
    let tally = Arc::new(Tally::default());
    let waited = match &load.start_file {
        Some(file) => wait_for(file).await,
        None => true,
    };
    let started_us = conformance_core::clock::now_us();
    let start = Instant::now();
    let channel = if waited {
        connect().await
    } else {
        Err(format!(
            "the start file {:?} did not appear within {START_WAIT:?}",
            load.start_file
        ))
    };
    match channel {
        Err(e) => {
            tally.errors.store(load.calls, Ordering::Relaxed);
            *tally.first_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(e);
        }
        Ok(channel) => {
            let client = PluginApiClient::new(channel);
            let next = Arc::new(AtomicU64::new(0));
            let mut workers = tokio::task::JoinSet::new();
            for _ in 0..load.concurrency.min(load.calls) {
                let (mut client, next, tally) = (client.clone(), next.clone(), tally.clone());
                let calls = load.calls;
                workers.spawn(async move {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= calls {
                            break;
                        }
                        call(&mut client, i, &tally).await;
                    }
                });
            }
            while let Some(done) = workers.join_next().await {
                if let Err(e) = done {
                    tally.error(format!("a load worker failed: {e}"));
                }
            }
        }
    }
    let ok = tally.ok.load(Ordering::Relaxed);
    let errors = tally.errors.load(Ordering::Relaxed);
    let first_error = tally
        .first_error
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let _ = observe::record(
        &obs,
        Observed::ApiLoad {
            calls: load.calls,
            ok,
            errors,
            first_error,
            started_us,
            elapsed_us: start.elapsed().as_micros() as u64,
        },
    );
}
