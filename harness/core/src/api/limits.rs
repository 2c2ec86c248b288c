//! The PluginAPI server's message size limit, answered as gRPC says: a request over the
//! limit gets RESOURCE_EXHAUSTED with a message naming the limit (tonic itself answers
//! OUT_OF_RANGE, which clients of other stacks do not expect), never a hang.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tonic::codegen::http;

/// The reference server's default limit each way: the Python SDK's PluginAPI client limit
/// (100 MiB). Upstream's Go server keeps gRPC's 4 MiB receive default (SPEC §22).
pub const DEFAULT_MAX_MESSAGE: usize = 100 * 1024 * 1024;

/// tonic's own text for a request over the decoding limit.
const TONIC_TOO_LARGE: &str = "Error, decoded message length too large";

/// A tower layer that rewrites tonic's OUT_OF_RANGE "too large" answer.
#[derive(Debug, Clone, Copy)]
pub struct LimitLayer {
    pub limit: usize,
}

impl<S> tower::Layer<S> for LimitLayer {
    type Service = LimitService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        LimitService {
            inner,
            limit: self.limit,
        }
    }
}

#[derive(Debug, Clone)]
pub struct LimitService<S> {
    inner: S,
    limit: usize,
}

/// The RESOURCE_EXHAUSTED status for a request tonic refused as too large, if it is one.
fn rewritten(headers: &http::HeaderMap, limit: usize) -> Option<tonic::Status> {
    let status = tonic::Status::from_header_map(headers)?;
    (status.code() == tonic::Code::OutOfRange && status.message().starts_with(TONIC_TOO_LARGE))
        .then(|| {
            tonic::Status::resource_exhausted(format!(
                "the request is larger than this PluginAPI server accepts ({limit} bytes; {})",
                status.message()
            ))
        })
}

impl<S, ReqBody, ResBody> tower::Service<http::Request<ReqBody>> for LimitService<S>
where
    S: tower::Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
    ResBody: Default + Send + 'static,
{
    type Response = http::Response<ResBody>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let limit = self.limit;
        let response = self.inner.call(request);
        Box::pin(async move {
            let response = response.await?;
            if crate::mutants::is(crate::mutants::Protocol::OverLimitOutOfRange) {
                return Ok(response);
            }
            Ok(match rewritten(response.headers(), limit) {
                Some(status) => status.into_http(),
                None => response,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_tonics_too_large_answer_is_rewritten() {
        let mut headers = http::HeaderMap::new();
        tonic::Status::out_of_range(format!(
            "{TONIC_TOO_LARGE}: found 9 bytes, the limit is: 4 bytes"
        ))
        .add_header(&mut headers)
        .unwrap();
        let status = rewritten(&headers, 4).expect("rewritten");
        assert_eq!(status.code(), tonic::Code::ResourceExhausted);
        assert!(status.message().contains("4 bytes"), "{}", status.message());

        let mut other = http::HeaderMap::new();
        tonic::Status::out_of_range("page out of range")
            .add_header(&mut other)
            .unwrap();
        assert!(rewritten(&other, 4).is_none());
    }
}
