//! The reference PluginAPI server: a real tonic server on loopback that a plugin reaches
//! through `MATTERMOST_PLUGIN_API_TARGET`.
//!
//! The rpcs themselves arrive with the next milestone; until then every one answers
//! UNIMPLEMENTED, which is already what go-plugin hosts answer for rpcs they lack.

use std::net::SocketAddr;
use std::time::Duration;

use pluginapi_proto::pluginapi::plugin_api_server::{PluginApi, PluginApiServer};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::TcpListenerStream;

/// How long a stopping server waits for open calls before it drops them.
pub const STOP_GRACE: Duration = Duration::from_secs(2);

/// The PluginAPI service of one plugin id.
#[derive(Debug, Clone)]
pub struct ReferenceApi {
    pub plugin_id: String,
}

impl PluginApi for ReferenceApi {}

/// A running PluginAPI server.
#[derive(Debug)]
pub struct ApiServer {
    address: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), tonic::transport::Error>>>,
}

impl ApiServer {
    /// Binds `listen` (port 0 for any free port) and starts serving before it returns, so
    /// the address can be handed to a plugin at once.
    pub async fn start(listen: SocketAddr, plugin_id: &str) -> std::io::Result<Self> {
        let listener = TcpListener::bind(listen).await?;
        let address = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let service = PluginApiServer::new(ReferenceApi {
            plugin_id: plugin_id.to_string(),
        })
        .max_decoding_message_size(usize::MAX)
        .max_encoding_message_size(usize::MAX);
        let task = tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming_shutdown(TcpListenerStream::new(listener), async {
                    let _ = stopped.await;
                }),
        );
        Ok(Self {
            address,
            stop: Some(stop),
            task: Some(task),
        })
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
