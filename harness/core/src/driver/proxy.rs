//! The `PluginHooks` proxy of the reference driver: a hook call from the runner, for the
//! plugin named by [`super::PLUGIN_METADATA`], goes through the reference host's own hook
//! client ([`crate::supervisor::RunningPlugin::call_hook`]): `Implemented` gating, hook
//! deadline, failures as the client sees them.

use std::sync::Arc;

use pluginapi_proto::pluginapi::ServeHttpRequest;
use prost::Message;
use prost_reflect::DynamicMessage;
use tonic::codegen::BoxStream;
use tonic::{Request, Response, Status, Streaming};

use super::state::Shared;
use super::{NOT_CALLED_METADATA, PLUGIN_METADATA};
use crate::behaviour::message_of;
use crate::supervisor::hooks::HookOutcome;

pub(super) struct HookProxy {
    pub(super) shared: Arc<Shared>,
}

pluginapi_proto::plugin_hooks_impl!(HookProxy);

impl HookProxy {
    async fn unary_hook<Req, Resp>(
        &self,
        hook: &'static str,
        request: Request<Req>,
    ) -> Result<Response<Resp>, Status>
    where
        Req: Message,
        Resp: Message + Default,
    {
        let plugin_id = request
            .metadata()
            .get(PLUGIN_METADATA)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .ok_or_else(|| {
                Status::invalid_argument(format!(
                    "a proxied hook call needs the {PLUGIN_METADATA} metadata"
                ))
            })?;
        let loaded = self
            .shared
            .get(&plugin_id)
            .ok_or_else(|| Status::not_found(format!("no plugin {plugin_id:?} is loaded")))?;
        let descriptor = message_of(hook, "Request")
            .ok_or_else(|| Status::internal(format!("no descriptor for {hook}")))?;
        let dynamic =
            DynamicMessage::decode(descriptor, request.into_inner().encode_to_vec().as_slice())
                .map_err(|e| Status::internal(format!("re-decoding the request: {e}")))?;
        let guard = loaded.plugin.read().await;
        let plugin = guard
            .as_ref()
            .ok_or_else(|| Status::not_found(format!("plugin {plugin_id:?} is unloaded")))?;
        let outcome = plugin.call_hook(hook, dynamic).await;
        if !matches!(outcome, HookOutcome::NotCalled) {
            loaded.record(&plugin_id, "hook_called", hook);
        }
        match outcome {
            HookOutcome::NotCalled => {
                let mut response = Response::new(Resp::default());
                response.metadata_mut().insert(
                    NOT_CALLED_METADATA,
                    tonic::metadata::MetadataValue::from_static("true"),
                );
                Ok(response)
            }
            HookOutcome::Answered(message) => Resp::decode(message.encode_to_vec().as_slice())
                .map(Response::new)
                .map_err(|e| Status::internal(format!("re-encoding the answer: {e}"))),
            HookOutcome::Failed { code, message } => Err(Status::new(code, message)),
            HookOutcome::TimedOut(after) => Err(Status::deadline_exceeded(format!(
                "the plugin did not answer {hook} within the host's {after:?} hook deadline"
            ))),
        }
    }

    async fn serve_http_stream(
        &self,
        _: Request<Streaming<ServeHttpRequest>>,
    ) -> Result<Response<BoxStream<pluginapi_proto::pluginapi::ServeHttpResponse>>, Status> {
        Err(Status::unimplemented(
            "ServeHTTP is reached through the host's HTTP server (Describe.http_base_url)",
        ))
    }
}
