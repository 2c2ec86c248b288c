//! The reference PluginAPI server: a real tonic server on loopback that a plugin reaches
//! through `MATTERMOST_PLUGIN_API_TARGET`, with in-memory semantics for every rpc
//! ([`handlers`]) and each rpc's failures reported in upstream's regime ([`regime`]).

pub mod handlers;
pub mod limits;
pub mod regime;
pub mod seed;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pluginapi_proto::api::ApiResponse;

use crate::mutants;
use pluginapi_proto::pluginapi::AppError;
use pluginapi_proto::pluginapi::plugin_api_server::PluginApiServer;
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::{Request, Response, Status};

pub use handlers::Store;

/// How long a stopping server waits for open calls before it drops them.
pub const STOP_GRACE: Duration = Duration::from_secs(2);

/// Request metadata naming the calling plugin, for one server shared by several plugins
/// (`serve-api`); without it the server's own plugin id applies.
pub const PLUGIN_ID_HEADER: &str = "x-mattermost-plugin-id";

/// Request metadata naming an isolated session: calls that carry it see a store of their
/// own, created empty on first use. A harness extension (not upstream): the API suite runs
/// many cases through one plugin and one server at once, each case in its own session, so
/// that no case sees another's users, KV keys or config. Without it the shared store applies.
pub const SESSION_HEADER: &str = "x-conformance-session";

/// Calls kept in the call log.
const CALL_LOG_LIMIT: usize = 10_000;

/// A store shared by the servers of several plugins (one host, many plugins).
pub type SharedStore = Arc<Mutex<Store>>;

/// One call the server answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallRecord {
    pub t_us: u64,
    pub plugin_id: String,
    /// The [`SESSION_HEADER`] of the call, if any.
    pub session: Option<String>,
    pub rpc: String,
    /// `ok`, or the AppError id of a failure.
    pub outcome: String,
    /// What the call did that no rpc reads back ([`handlers::Cx::effect`]).
    pub effect: Option<String>,
}

/// How a plugin's reference PluginAPI server is set up: what it shares and which harness
/// extensions it honours (a driver declares the matching capabilities, SPEC §25.2).
#[derive(Debug, Clone)]
pub struct ApiOptions {
    /// The store, when it is shared with other plugins' servers (one host, many plugins,
    /// as in Mattermost); `None`: a fresh store of the plugin's own.
    pub store: Option<SharedStore>,
    /// Honour [`SESSION_HEADER`] (the `api-sessions` capability).
    pub sessions: bool,
    /// Honour [`PLUGIN_ID_HEADER`] (the `plugin-identity` capability).
    pub plugin_identity: bool,
}

impl Default for ApiOptions {
    fn default() -> Self {
        Self {
            store: None,
            sessions: true,
            plugin_identity: true,
        }
    }
}

/// The PluginAPI service of one plugin id.
#[derive(Debug, Clone)]
pub struct ReferenceApi {
    pub plugin_id: String,
    pub store: SharedStore,
    /// Stores of the [`SESSION_HEADER`] sessions.
    pub sessions: Arc<Mutex<HashMap<String, SharedStore>>>,
    pub calls: Arc<Mutex<VecDeque<CallRecord>>>,
    /// Whether [`SESSION_HEADER`] is honoured (otherwise ignored).
    pub honour_sessions: bool,
    /// Whether [`PLUGIN_ID_HEADER`] is honoured (otherwise ignored).
    pub honour_plugin_identity: bool,
}

impl ReferenceApi {
    pub fn new(plugin_id: &str, store: SharedStore) -> Self {
        Self {
            plugin_id: plugin_id.to_string(),
            store,
            sessions: Arc::default(),
            calls: Arc::default(),
            honour_sessions: true,
            honour_plugin_identity: true,
        }
    }

    /// The service of `plugin_id` set up as `options` say.
    pub fn configured(plugin_id: &str, options: &ApiOptions) -> Self {
        Self {
            honour_sessions: options.sessions,
            honour_plugin_identity: options.plugin_identity,
            ..Self::new(plugin_id, options.store.clone().unwrap_or_default())
        }
    }

    /// The store a call with `session` works on.
    fn store_of(&self, session: Option<&str>) -> SharedStore {
        match session.filter(|_| self.honour_sessions) {
            None => self.store.clone(),
            Some(name) => self
                .sessions
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry(name.to_string())
                .or_default()
                .clone(),
        }
    }

    /// Serves one call: runs the handler under the store lock and answers a failure in
    /// the rpc's regime.
    fn call<Req, Resp: ApiResponse + prost::Message>(
        &self,
        rpc: &'static str,
        request: Request<Req>,
        handler: fn(&mut handlers::Cx<'_>, Req) -> Result<Resp, AppError>,
    ) -> Result<Response<Resp>, Status> {
        let mut plugin_id = request
            .metadata()
            .get(PLUGIN_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty() && self.honour_plugin_identity)
            .unwrap_or(&self.plugin_id)
            .to_string();
        if rpc.starts_with("KV") && mutants::is(mutants::Protocol::KvNotNamespaced) {
            plugin_id = "shared".to_string();
        }
        let session = request
            .metadata()
            .get(SESSION_HEADER)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty() && self.honour_sessions)
            .map(str::to_string);
        let result = {
            let store = self.store_of(session.as_deref());
            let mut store = store.lock().unwrap_or_else(|e| e.into_inner());
            let mut cx = handlers::Cx {
                store: &mut store,
                plugin_id: &plugin_id,
                now: handlers::common::now_ms(),
                rpc,
                effect: None,
            };
            let result = if mutants::api_default(rpc) {
                Ok(Resp::default())
            } else {
                handler(&mut cx, request.into_inner())
            };
            let result = match (result, mutants::dropped_field(rpc)) {
                (Ok(response), Some(path)) => Ok(drop_field(rpc, response, path)),
                (result, _) => result,
            };
            (result, cx.effect)
        };
        let (result, effect) = result;
        let outcome = match &result {
            Ok(r) => r.app_error().map_or("ok".to_string(), |e| e.id.clone()),
            Err(e) if e.id.is_empty() => format!("{} {}", e.r#where, e.message),
            Err(e) => e.id.clone(),
        };
        {
            let mut calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
            if calls.len() == CALL_LOG_LIMIT {
                calls.pop_front();
            }
            calls.push_back(CallRecord {
                t_us: crate::clock::now_us(),
                plugin_id,
                session,
                rpc: rpc.to_string(),
                outcome,
                effect,
            });
        }
        match result {
            Ok(response) => Ok(Response::new(response)),
            Err(error) => regime::respond(rpc, error),
        }
    }
}

/// `response` without `path` (the `api-drop-field` mutants), counting the answers it
/// changes.
fn drop_field<Resp: prost::Message + Default>(
    rpc: &str,
    response: Resp,
    path: &crate::apicase::fields::FieldPath,
) -> Resp {
    let Some(descriptor) = crate::apicase::fields::response_descriptor(rpc) else {
        return response;
    };
    let Ok(mut message) =
        prost_reflect::DynamicMessage::decode(descriptor, response.encode_to_vec().as_slice())
    else {
        return response;
    };
    if !crate::apicase::fields::clear(&mut message, path) {
        return response;
    }
    mutants::record_effect();
    Resp::decode(prost::Message::encode_to_vec(&message).as_slice()).unwrap_or(response)
}

pluginapi_proto::plugin_api_impl!(ReferenceApi, crate::api::handlers);

/// A running PluginAPI server.
#[derive(Debug)]
pub struct ApiServer {
    address: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), tonic::transport::Error>>>,
    calls: Arc<Mutex<VecDeque<CallRecord>>>,
    store: SharedStore,
}

impl ApiServer {
    /// Binds `listen` (port 0 for any free port) and starts serving before it returns, so
    /// the address can be handed to a plugin at once.
    pub async fn start(listen: SocketAddr, plugin_id: &str) -> std::io::Result<Self> {
        Self::start_with(
            listen,
            ReferenceApi::new(plugin_id, SharedStore::default()),
            false,
        )
        .await
    }

    /// Starts `api`, optionally with gRPC server reflection (for grpcurl), with the
    /// default message limit ([`limits::DEFAULT_MAX_MESSAGE`]).
    pub async fn start_with(
        listen: SocketAddr,
        api: ReferenceApi,
        reflection: bool,
    ) -> std::io::Result<Self> {
        Self::start_limited(listen, api, reflection, limits::DEFAULT_MAX_MESSAGE).await
    }

    /// [`ApiServer::start_with`] with a message limit of `max_message` bytes each way; a
    /// larger request is answered RESOURCE_EXHAUSTED.
    pub async fn start_limited(
        listen: SocketAddr,
        api: ReferenceApi,
        reflection: bool,
        max_message: usize,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind(listen).await?;
        let address = listener.local_addr()?;
        let incoming =
            tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
        let (stop, stopped) = oneshot::channel::<()>();
        let calls = api.calls.clone();
        let store = api.store.clone();
        let service = PluginApiServer::new(api)
            .max_decoding_message_size(max_message)
            .max_encoding_message_size(max_message);
        let reflection = if reflection {
            Some(
                tonic_reflection::server::Builder::configure()
                    .register_encoded_file_descriptor_set(pluginapi_proto::DESCRIPTOR_SET)
                    .build_v1()
                    .map_err(std::io::Error::other)?,
            )
        } else {
            None
        };
        // Health: a liveness probe for `serve-api` users and the empty-rpc floor of the
        // latency benchmark (same server, same connection, no work).
        let (health_reporter, health) = tonic_health::server::health_reporter();
        health_reporter
            .set_service_status(
                pluginapi_proto::service_names::PLUGIN_API,
                tonic_health::ServingStatus::Serving,
            )
            .await;
        let task = tokio::spawn(
            tonic::transport::Server::builder()
                .layer(limits::LimitLayer { limit: max_message })
                .add_service(service)
                .add_service(health)
                .add_optional_service(reflection)
                // TCP_NODELAY: without it small response frames wait for the peer's
                // delayed ACK (about 40 ms per call on Linux).
                .serve_with_incoming_shutdown(incoming, async {
                    let _ = stopped.await;
                }),
        );
        Ok(Self {
            address,
            stop: Some(stop),
            task: Some(task),
            calls,
            store,
        })
    }

    /// The store behind the server.
    pub fn store(&self) -> SharedStore {
        self.store.clone()
    }

    /// The calls answered so far.
    pub fn calls(&self) -> Vec<CallRecord> {
        self.calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Stops accepting, lets open calls finish for up to [`STOP_GRACE`], then drops them.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(STOP_GRACE, &mut task).await.is_err()
        {
            task.abort();
            let _ = task.await;
        }
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
