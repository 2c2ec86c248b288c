//! Restarting a plugin's PluginAPI server under the live plugin (a fault the host can
//! suffer): the server stops, and a new one serves the same store on the same address,
//! so the plugin's client must reconnect.

use super::RunningPlugin;
use super::timeline::Step;
use crate::api::{ApiServer, ReferenceApi};

impl RunningPlugin {
    /// Stops the PluginAPI server and starts a new one on the same address with the same
    /// store. Errors if the address cannot be bound again.
    pub async fn restart_api_server(&mut self) -> std::io::Result<()> {
        let Some(old) = self.api.take() else {
            return Err(std::io::Error::other("the plugin has no PluginAPI server"));
        };
        let store = old.store();
        let address = old.address();
        old.stop().await;
        self.timeline.push(Step::ApiServerStopped);
        let api = ApiServer::start_limited(
            address,
            ReferenceApi::configured(
                &self.plan.manifest.id,
                &crate::api::ApiOptions {
                    store: Some(store),
                    ..self.config.api.clone()
                },
            ),
            false,
            self.config.api_max_message,
        )
        .await?;
        self.timeline.push(Step::ApiServerStarted {
            address: api.address().to_string(),
        });
        self.api = Some(api);
        Ok(())
    }
}
