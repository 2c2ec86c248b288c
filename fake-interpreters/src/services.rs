//! The gRPC services a fake plugin serves, each with the misbehaviours its modes need.

use std::path::PathBuf;
use std::sync::Arc;

use conformance_core::observe::{self, Observed};
use pluginapi_proto::goplugin::Empty;
use pluginapi_proto::goplugin::grpc_controller_server::GrpcController;
use tokio::sync::Notify;
use tonic::{Request, Response, Status};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_server::Health;
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};

/// How `grpc.health.v1.Health/Check` answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthBehaviour {
    /// "plugin" and "" SERVING, like the Python SDK.
    Serving,
    /// Only "" is known; "plugin" is NOT_FOUND.
    WrongName,
    /// "plugin" answers NOT_SERVING.
    NotServing,
    /// Never answers.
    Hangs,
}

pub struct FakeHealth {
    pub behaviour: HealthBehaviour,
    pub observe: PathBuf,
}

type WatchStream =
    std::pin::Pin<Box<dyn tokio_stream::Stream<Item = Result<HealthCheckResponse, Status>> + Send>>;

#[tonic::async_trait]
impl Health for FakeHealth {
    async fn check(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<HealthCheckResponse>, Status> {
        let service = request.into_inner().service;
        let _ = observe::record(
            &self.observe,
            Observed::HealthCheck {
                service: service.clone(),
            },
        );
        let status = match (self.behaviour, service.as_str()) {
            (HealthBehaviour::Hangs, _) => std::future::pending().await,
            (_, "") => ServingStatus::Serving,
            (HealthBehaviour::Serving, "plugin") => ServingStatus::Serving,
            (HealthBehaviour::NotServing, "plugin") => ServingStatus::NotServing,
            _ => return Err(Status::not_found(format!("unknown service {service:?}"))),
        };
        Ok(Response::new(HealthCheckResponse {
            status: status as i32,
        }))
    }

    type WatchStream = WatchStream;

    async fn watch(
        &self,
        _request: Request<HealthCheckRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        Err(Status::unimplemented(
            "watch is not served by the fake plugin",
        ))
    }
}

/// What `GRPCController/Shutdown` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownBehaviour {
    /// Answer, then stop serving and exit 0 (go-plugin's Python example).
    Exit,
    /// Probe the PluginAPI server first, then exit: shows whether the host kept it up.
    ProbeApiThenExit,
    /// Answer and keep running.
    Ignore,
}

pub struct FakeController {
    pub behaviour: ShutdownBehaviour,
    pub observe: PathBuf,
    pub stop: Arc<Notify>,
}

#[tonic::async_trait]
impl GrpcController for FakeController {
    async fn shutdown(&self, _request: Request<Empty>) -> Result<Response<Empty>, Status> {
        let _ = observe::record(&self.observe, Observed::ShutdownRpc);
        match self.behaviour {
            ShutdownBehaviour::Ignore => {}
            ShutdownBehaviour::Exit => self.stop.notify_one(),
            ShutdownBehaviour::ProbeApiThenExit => {
                crate::probe_api(&self.observe, "shutdown").await;
                self.stop.notify_one();
            }
        }
        Ok(Response::new(Empty {}))
    }
}
