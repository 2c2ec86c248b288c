//! Calling any PluginAPI rpc by name with a proto3 JSON request, over the compiled
//! descriptors (prost-reflect dynamic messages and a tonic codec for them).

use std::str::FromStr;

use prost::Message;
use prost_reflect::{
    DeserializeOptions, DynamicMessage, MessageDescriptor, MethodDescriptor, SerializeOptions,
    ServiceDescriptor,
};
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::transport::Channel;

/// Why a dynamic call produced no response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RpcError {
    #[error("no rpc {0:?} in mattermost.pluginapi.v1.PluginAPI")]
    UnknownRpc(String),
    #[error("the request does not fit {message}: {error}")]
    BadRequest { message: String, error: String },
    #[error("{code:?}: {message}")]
    Status { code: tonic::Code, message: String },
    #[error("the response does not fit {message}: {error}")]
    BadResponse { message: String, error: String },
}

/// The descriptor of PluginAPI rpc `rpc`.
fn method(rpc: &str) -> Result<MethodDescriptor, RpcError> {
    pluginapi_proto::descriptor_pool()
        .get_service_by_name(pluginapi_proto::service_names::PLUGIN_API)
        .expect("PluginAPI is in the descriptor pool")
        .methods()
        .find(|m| m.name() == rpc)
        .ok_or_else(|| RpcError::UnknownRpc(rpc.to_string()))
}

fn strict(
    descriptor: MessageDescriptor,
    json: &serde_json::Value,
) -> Result<DynamicMessage, String> {
    DynamicMessage::deserialize_with_options(
        descriptor,
        json.clone(),
        &DeserializeOptions::new().deny_unknown_fields(true),
    )
    .map_err(|e| e.to_string())
}

/// `json` as the request of `rpc` in the form responses are compared in (see
/// [`response_json`]), so that two spellings of one request (a 64-bit integer as a
/// number or a string, a field by proto or JSON name) compare equal.
pub fn normalize_request(
    rpc: &str,
    json: &serde_json::Value,
) -> Result<serde_json::Value, RpcError> {
    let input = method(rpc)?.input();
    strict(input.clone(), json)
        .map(|m| response_json(&m))
        .map_err(|error| RpcError::BadRequest {
            message: input.full_name().to_string(),
            error,
        })
}

/// A response some exerciser reported as proto3 JSON (any valid spelling), in the form of
/// [`response_json`].
pub fn normalize_response(
    rpc: &str,
    json: &serde_json::Value,
) -> Result<serde_json::Value, RpcError> {
    let output = method(rpc)?.output();
    strict(output.clone(), json)
        .map(|m| response_json(&m))
        .map_err(|error| RpcError::BadResponse {
            message: output.full_name().to_string(),
            error,
        })
}

/// A request as proto3 JSON, as the message of `rpc`'s request.
pub fn request_message(rpc: &str, json: &serde_json::Value) -> Result<DynamicMessage, RpcError> {
    let input = method(rpc)?.input();
    strict(input.clone(), json).map_err(|error| RpcError::BadRequest {
        message: input.full_name().to_string(),
        error,
    })
}

/// A response some exerciser reported as proto3 JSON, as the message of `rpc`'s response.
pub fn response_message(rpc: &str, json: &serde_json::Value) -> Result<DynamicMessage, RpcError> {
    let output = method(rpc)?.output();
    strict(output.clone(), json).map_err(|error| RpcError::BadResponse {
        message: output.full_name().to_string(),
        error,
    })
}

/// A tonic codec for dynamic messages of one response type.
pub(crate) struct DynamicCodec {
    pub(crate) response: MessageDescriptor,
}

pub(crate) struct DynamicEncoder;
pub(crate) struct DynamicDecoder(MessageDescriptor);

impl Codec for DynamicCodec {
    type Encode = DynamicMessage;
    type Decode = DynamicMessage;
    type Encoder = DynamicEncoder;
    type Decoder = DynamicDecoder;

    fn encoder(&mut self) -> Self::Encoder {
        DynamicEncoder
    }

    fn decoder(&mut self) -> Self::Decoder {
        DynamicDecoder(self.response.clone())
    }
}

impl Encoder for DynamicEncoder {
    type Item = DynamicMessage;
    type Error = tonic::Status;

    fn encode(&mut self, item: Self::Item, dst: &mut EncodeBuf<'_>) -> Result<(), Self::Error> {
        item.encode(dst)
            .map_err(|e| tonic::Status::internal(format!("encoding the request: {e}")))
    }
}

impl Decoder for DynamicDecoder {
    type Item = DynamicMessage;
    type Error = tonic::Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Self::Item>, Self::Error> {
        DynamicMessage::decode(self.0.clone(), src)
            .map(Some)
            .map_err(|e| tonic::Status::internal(format!("decoding the response: {e}")))
    }
}

/// Calls PluginAPI rpcs by name.
#[derive(Debug, Clone)]
pub struct DynamicClient {
    grpc: tonic::client::Grpc<Channel>,
    service: ServiceDescriptor,
}

/// Responses as JSON: proto3 JSON names, 64-bit integers as numbers, defaults omitted.
pub fn response_json(message: &DynamicMessage) -> serde_json::Value {
    let options = SerializeOptions::new().stringify_64_bit_integers(false);
    message
        .serialize_with_options(serde_json::value::Serializer, &options)
        .unwrap_or_else(|e| serde_json::json!({ "$serialization_error": e.to_string() }))
}

impl DynamicClient {
    pub fn new(channel: Channel) -> Self {
        let service = pluginapi_proto::descriptor_pool()
            .get_service_by_name(pluginapi_proto::service_names::PLUGIN_API)
            .expect("PluginAPI is in the descriptor pool");
        Self {
            grpc: tonic::client::Grpc::new(channel)
                .max_decoding_message_size(usize::MAX)
                .max_encoding_message_size(usize::MAX),
            service,
        }
    }

    /// Connects to a PluginAPI server at `address` (5 s connect timeout).
    pub async fn connect(address: std::net::SocketAddr) -> Result<Self, String> {
        tonic::transport::Endpoint::from_shared(format!("http://{address}"))
            .map_err(|e| e.to_string())?
            .connect_timeout(std::time::Duration::from_secs(5))
            .connect()
            .await
            .map(Self::new)
            .map_err(|e| crate::supervisor::error_chain(&e))
    }

    /// Builds the request message of `rpc` from proto3 JSON (unknown fields refused).
    pub fn request(&self, rpc: &str, json: &serde_json::Value) -> Result<DynamicMessage, RpcError> {
        let input = method(rpc)?.input();
        strict(input.clone(), json).map_err(|error| RpcError::BadRequest {
            message: input.full_name().to_string(),
            error,
        })
    }

    /// Calls `rpc`; `as_plugin` sets the plugin-id request header, `session` the session
    /// header (see [`crate::api::SESSION_HEADER`]).
    pub async fn call(
        &mut self,
        rpc: &str,
        json: &serde_json::Value,
        as_plugin: Option<&str>,
        session: Option<&str>,
    ) -> Result<serde_json::Value, RpcError> {
        let message = self.request(rpc, json)?;
        let method = method(rpc)?;
        let path = tonic::codegen::http::uri::PathAndQuery::from_str(&format!(
            "/{}/{}",
            self.service.full_name(),
            rpc
        ))
        .expect("rpc paths are valid URIs");
        let mut request = tonic::Request::new(message);
        for (header, value) in [
            (crate::api::PLUGIN_ID_HEADER, as_plugin),
            (crate::api::SESSION_HEADER, session),
        ] {
            if let Some(Ok(v)) = value.map(str::parse) {
                request.metadata_mut().insert(header, v);
            }
        }
        let status = |s: tonic::Status| RpcError::Status {
            code: s.code(),
            message: s.message().to_string(),
        };
        self.grpc.ready().await.map_err(|e| RpcError::Status {
            code: tonic::Code::Unavailable,
            message: crate::supervisor::error_chain(&e),
        })?;
        let codec = DynamicCodec {
            response: method.output(),
        };
        let response = self
            .grpc
            .unary(request, path, codec)
            .await
            .map_err(status)?;
        Ok(response_json(response.get_ref()))
    }
}
