//! The reference host behind the driver contract: `plugin-conformance reference-host`.
//! Each LoadPlugin starts the bundle with the supervisor (its own PluginAPI server, which
//! honours sessions), one HTTP bridge serves every loaded plugin, and the hook proxy
//! ([`super::proxy`]) calls hooks through the supervisor's hook client.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pluginapi_proto::harness::host_driver_server::{HostDriver, HostDriverServer};
use pluginapi_proto::harness::*;
use pluginapi_proto::pluginapi::plugin_hooks_server::PluginHooksServer;
use tokio::sync::{Notify, RwLock};
use tonic::codegen::BoxStream;
use tonic::{Request, Response, Status};

use super::state::{Loaded, Shared};
use crate::apicase::Capability;
use crate::http_bridge::{HttpBridge, Route, RouteTable};
use crate::supervisor::{self, HostConfig, RunningPlugin};

/// How often an Events stream looks for new entries.
const EVENTS_POLL: Duration = Duration::from_millis(20);

/// The reference host's driver.
#[derive(Clone)]
pub struct ReferenceDriver {
    shared: Arc<Shared>,
    _bridge: Arc<HttpBridge>,
}

impl ReferenceDriver {
    /// Starts the HTTP bridge on a free loopback port. Every plugin's PluginAPI server
    /// works on one store, as every plugin of a Mattermost server sees the same data; it
    /// honours the harness's request metadata only as far as `capabilities` declare. Without
    /// `api-sessions` the store starts with the small fixture dataset (a server in use is
    /// never empty), and the cases share it as they would a live server.
    pub async fn new(
        mut config: HostConfig,
        capabilities: BTreeSet<Capability>,
    ) -> std::io::Result<Self> {
        let store = crate::api::SharedStore::default();
        if !capabilities.contains(&Capability::ApiSessions) {
            crate::api::seed::seed(
                &mut store.lock().unwrap_or_else(|e| e.into_inner()),
                "com.mattermost.conformance.seed",
            )
            .map_err(std::io::Error::other)?;
        }
        config.api = crate::api::ApiOptions {
            store: Some(store),
            sessions: capabilities.contains(&Capability::ApiSessions),
            plugin_identity: capabilities.contains(&Capability::PluginIdentity),
        };
        let routes = RouteTable::default();
        let bridge = HttpBridge::start_shared(
            SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, 0)),
            routes.clone(),
        )
        .await?;
        Ok(Self {
            shared: Arc::new(Shared {
                config,
                capabilities,
                plugins: Mutex::default(),
                routes,
                http_base_url: format!("http://{}", bridge.address()),
                stop: Notify::new(),
            }),
            _bridge: Arc::new(bridge),
        })
    }

    /// Serves the driver and the hook proxy on `listener` until Shutdown (or `signal`),
    /// then unloads every plugin.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        signal: impl std::future::Future<Output = ()> + Send,
    ) -> Result<(), tonic::transport::Error> {
        let shared = self.shared.clone();
        let incoming =
            tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
        let proxy = super::proxy::HookProxy {
            shared: shared.clone(),
        };
        let stopped = async {
            tokio::select! {
                _ = shared.stop.notified() => {}
                _ = signal => {}
            }
        };
        let result = tonic::transport::Server::builder()
            .add_service(HostDriverServer::new(self.clone()))
            .add_service(
                PluginHooksServer::new(proxy)
                    .max_decoding_message_size(usize::MAX)
                    .max_encoding_message_size(usize::MAX),
            )
            .serve_with_incoming_shutdown(incoming, stopped)
            .await;
        self.unload_all().await;
        result
    }

    /// Unloads every plugin at once, as Mattermost's `Environment.Shutdown` does: each
    /// plugin's OnDeactivate gets at most the configured cap (10 s), then it is stopped.
    async fn unload_all(&self) {
        let ids: Vec<String> = self
            .shared
            .plugins
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .cloned()
            .collect();
        futures::future::join_all(ids.iter().map(|id| self.unload(id, true))).await;
    }

    /// Unloads one plugin: as a disabled plugin (OnDeactivate under the hook deadline), or
    /// at `environment_shutdown` (OnDeactivate capped, [`unload_all`](Self::unload_all)).
    async fn unload(
        &self,
        plugin_id: &str,
        environment_shutdown: bool,
    ) -> Result<UnloadPluginResponse, Status> {
        let loaded = self
            .shared
            .get(plugin_id)
            .ok_or_else(|| Status::not_found(format!("no plugin {plugin_id:?} is loaded")))?;
        let Some(plugin) = loaded.plugin.write().await.take() else {
            return Ok(UnloadPluginResponse {
                error: format!("plugin {plugin_id:?} was already unloaded"),
                ..Default::default()
            });
        };
        self.shared
            .routes
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(plugin_id);
        let report = if !loaded.activated {
            plugin.shutdown().await
        } else {
            loaded.record(plugin_id, "hook_called", "OnDeactivate");
            if environment_shutdown {
                let cap = self.shared.config.deactivate_cap;
                plugin.deactivate_at_environment_shutdown(cap).await.1
            } else {
                plugin.deactivate_and_shutdown().await.1
            }
        };
        *loaded.finished.lock().unwrap_or_else(|e| e.into_inner()) = true;
        Ok(UnloadPluginResponse {
            graceful: report.graceful,
            killed: report.killed,
            error: String::new(),
        })
    }
}

#[tonic::async_trait]
impl HostDriver for ReferenceDriver {
    async fn describe(
        &self,
        _: Request<DescribeRequest>,
    ) -> Result<Response<DescribeResponse>, Status> {
        Ok(Response::new(DescribeResponse {
            name: "plugin-conformance reference host".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            http_base_url: self.shared.http_base_url.clone(),
            api_sessions: false,
            capabilities: self
                .shared
                .capabilities
                .iter()
                .map(|c| c.name().to_string())
                .collect(),
        }))
    }

    async fn api_calls(
        &self,
        request: Request<ApiCallsRequest>,
    ) -> Result<Response<ApiCallsResponse>, Status> {
        if !self.shared.capabilities.contains(&Capability::CallLog) {
            return Err(Status::unimplemented(
                "this reference host was started without the call-log capability",
            ));
        }
        let plugin_id = request.into_inner().plugin_id;
        let loaded = self
            .shared
            .get(&plugin_id)
            .ok_or_else(|| Status::not_found(format!("no plugin {plugin_id:?} is loaded")))?;
        let plugin = loaded.plugin.read().await;
        let calls = plugin
            .as_ref()
            .map(|p| p.api_calls())
            .unwrap_or_default()
            .into_iter()
            .map(|c| ApiCall {
                rpc: c.rpc,
                session: c.session.unwrap_or_default(),
                outcome: c.outcome,
                effect: c.effect.unwrap_or_default(),
            })
            .collect();
        Ok(Response::new(ApiCallsResponse { calls }))
    }

    async fn load_plugin(
        &self,
        request: Request<LoadPluginRequest>,
    ) -> Result<Response<LoadPluginResponse>, Status> {
        let request = request.into_inner();
        let bundle = PathBuf::from(&request.bundle_dir);
        if !bundle.is_absolute() {
            return Err(Status::invalid_argument(format!(
                "bundle_dir must be absolute, got {:?}",
                request.bundle_dir
            )));
        }
        let manifest_id = crate::manifest::LaunchPlan::for_bundle(&bundle, None)
            .map(|p| p.manifest.id)
            .unwrap_or_default();
        let mut plugin = match supervisor::start(&bundle, self.shared.config.clone()).await {
            Ok(plugin) => plugin,
            Err(failure) => {
                let loaded = Arc::new(Loaded {
                    plugin: RwLock::new(None),
                    activated: false,
                    timeline: failure.timeline.clone(),
                    extra: Mutex::default(),
                    finished: Mutex::new(true),
                });
                if !manifest_id.is_empty() {
                    self.shared
                        .plugins
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(manifest_id.clone(), loaded);
                }
                return Ok(Response::new(LoadPluginResponse {
                    started: false,
                    plugin_id: manifest_id,
                    error: failure.to_string(),
                    pid: failure.pid.unwrap_or_default(),
                    ..Default::default()
                }));
            }
        };
        let plugin_id = plugin.plan.manifest.id.clone();
        if self.shared.get(&plugin_id).is_some_and(|l| !l.finished()) {
            plugin.shutdown().await;
            return Err(Status::already_exists(format!(
                "a plugin with id {plugin_id:?} is already loaded"
            )));
        }
        let loaded_extra = Mutex::new(vec![LifecycleEvent {
            t_us: crate::clock::now_us(),
            plugin_id: plugin_id.clone(),
            kind: "hook_called".into(),
            detail: "Implemented".into(),
        }]);
        let mut response = LoadPluginResponse {
            started: true,
            plugin_id: plugin_id.clone(),
            pid: plugin.pid,
            api_target: plugin.api_address.to_string(),
            ..Default::default()
        };
        let activation = if request.activate {
            plugin.activate().await.map(|a| {
                if !matches!(a.on_activate, supervisor::hooks::HookOutcome::NotCalled) {
                    loaded_extra
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(LifecycleEvent {
                            t_us: crate::clock::now_us(),
                            plugin_id: plugin_id.clone(),
                            kind: "hook_called".into(),
                            detail: "OnActivate".into(),
                        });
                }
                a.implemented
            })
        } else {
            plugin.fetch_implemented().await.map(|(i, _)| i)
        };
        match activation {
            Ok(implemented) => response.implemented = implemented.into_iter().collect(),
            Err(e) => {
                let timeline = plugin.timeline.clone();
                plugin.shutdown().await;
                let loaded = Arc::new(Loaded {
                    plugin: RwLock::new(None),
                    activated: false,
                    timeline,
                    extra: loaded_extra,
                    finished: Mutex::new(true),
                });
                self.shared
                    .plugins
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(plugin_id, loaded);
                response.started = false;
                response.activation_error = e.to_string();
                response.error = e.to_string();
                return Ok(Response::new(response));
            }
        }
        self.shared
            .routes
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                plugin_id.clone(),
                Route {
                    plugin_id: plugin_id.clone(),
                    channel: plugin.channel(),
                    implemented: plugin.implements("ServeHTTP"),
                },
            );
        let loaded = Arc::new(Loaded {
            timeline: plugin.timeline.clone(),
            plugin: RwLock::new(Some(plugin)),
            activated: request.activate,
            extra: loaded_extra,
            finished: Mutex::new(false),
        });
        self.shared
            .plugins
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(plugin_id, loaded);
        Ok(Response::new(response))
    }

    async fn unload_plugin(
        &self,
        request: Request<UnloadPluginRequest>,
    ) -> Result<Response<UnloadPluginResponse>, Status> {
        self.unload(&request.into_inner().plugin_id, false)
            .await
            .map(Response::new)
    }

    async fn check_health(
        &self,
        request: Request<CheckHealthRequest>,
    ) -> Result<Response<CheckHealthResponse>, Status> {
        let id = request.into_inner().plugin_id;
        let loaded = self
            .shared
            .get(&id)
            .ok_or_else(|| Status::not_found(format!("no plugin {id:?} is loaded")))?;
        let guard = loaded.plugin.read().await;
        let plugin = guard
            .as_ref()
            .ok_or_else(|| Status::failed_precondition(format!("plugin {id:?} is unloaded")))?;
        let outcome = plugin.ping().await;
        Ok(Response::new(CheckHealthResponse {
            healthy: outcome.ping_passes(),
            error: if outcome.ping_passes() {
                String::new()
            } else {
                outcome.describe()
            },
        }))
    }

    async fn events(
        &self,
        request: Request<EventsRequest>,
    ) -> Result<Response<BoxStream<LifecycleEvent>>, Status> {
        let id = request.into_inner().plugin_id;
        let loaded = self
            .shared
            .get(&id)
            .ok_or_else(|| Status::not_found(format!("no plugin {id:?} was loaded")))?;
        let (sender, receiver) = tokio::sync::mpsc::channel(64);
        tokio::spawn(async move {
            let mut sent = 0;
            loop {
                // Read `finished` first: events recorded before it are all in this read.
                let finished = loaded.finished();
                let events = loaded.events(&id);
                for event in events.into_iter().skip(sent) {
                    if sender.send(Ok(event)).await.is_err() {
                        return;
                    }
                    sent += 1;
                }
                if finished {
                    return;
                }
                tokio::time::sleep(EVENTS_POLL).await;
            }
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(receiver),
        )))
    }

    async fn run_multi_plugin_hook(
        &self,
        request: Request<RunMultiPluginHookRequest>,
    ) -> Result<Response<RunMultiPluginHookResponse>, Status> {
        use prost::Message as _;
        if !self
            .shared
            .capabilities
            .contains(&Capability::MultiPluginHooks)
        {
            return Err(Status::unimplemented(
                "this driver does not declare multi-plugin-hooks",
            ));
        }
        let request = request.into_inner();
        let hook = request.hook.as_str();
        if !supervisor::multi::MULTI_PLUGIN_HOOKS.contains(&hook) {
            return Err(Status::invalid_argument(format!(
                "{hook:?} is not one of {}",
                supervisor::multi::MULTI_PLUGIN_HOOKS.join(", ")
            )));
        }
        let desc = crate::behaviour::message_of(hook, "Request")
            .ok_or_else(|| Status::invalid_argument(format!("no hook {hook:?}")))?;
        let message = prost_reflect::DynamicMessage::decode(desc, request.request.as_slice())
            .map_err(|e| Status::invalid_argument(format!("the {hook} request: {e}")))?;
        // The activated plugins, in id order (Mattermost's order is unspecified).
        let mut loaded: Vec<(String, Arc<Loaded>)> = self
            .shared
            .plugins
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|(_, l)| l.activated)
            .map(|(id, l)| (id.clone(), l.clone()))
            .collect();
        loaded.sort_by(|a, b| a.0.cmp(&b.0));
        let mut guards = Vec::new();
        for (id, l) in &loaded {
            guards.push((id.clone(), l.plugin.read().await));
        }
        let plugins: Vec<(String, &RunningPlugin)> = guards
            .iter()
            .filter_map(|(id, g)| g.as_ref().map(|p| (id.clone(), p)))
            .collect();
        let outcome = supervisor::multi::run_multi_plugin_hook(&plugins, hook, &message)
            .await
            .map_err(Status::invalid_argument)?;
        for id in &outcome.called {
            if let Some((_, l)) = loaded.iter().find(|(i, _)| i == id) {
                l.record(id, "hook_called", hook);
            }
        }
        Ok(Response::new(RunMultiPluginHookResponse {
            result: outcome.result.encode_to_vec(),
            error: outcome.error.map(|e| HostError {
                r#where: e.r#where,
                id: e.id,
                status_code: e.status_code,
                detailed_error: e.detailed_error,
            }),
            called: outcome.called,
        }))
    }

    async fn shutdown(
        &self,
        _: Request<ShutdownRequest>,
    ) -> Result<Response<ShutdownResponse>, Status> {
        self.unload_all().await;
        self.shared.stop.notify_one();
        Ok(Response::new(ShutdownResponse {}))
    }
}
