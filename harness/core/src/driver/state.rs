//! The reference driver's state: the plugins it loaded and what its driver service and
//! hook proxy ([`super::proxy`]) share, so that neither needs the other.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use pluginapi_proto::harness::LifecycleEvent;
use tokio::sync::{Notify, RwLock};

use super::events::event_of;
use crate::apicase::Capability;
use crate::http_bridge::RouteTable;
use crate::supervisor::timeline::Timeline;
use crate::supervisor::{HostConfig, RunningPlugin};

/// One plugin the driver knows: running (or unloaded, kept for its events).
pub(super) struct Loaded {
    /// `None` once unloaded.
    pub(super) plugin: RwLock<Option<RunningPlugin>>,
    pub(super) activated: bool,
    pub(super) timeline: Arc<Timeline>,
    /// Events the driver adds itself (hook calls), merged with the timeline's.
    pub(super) extra: Mutex<Vec<LifecycleEvent>>,
    pub(super) finished: Mutex<bool>,
}

impl Loaded {
    pub(super) fn record(&self, plugin_id: &str, kind: &str, detail: &str) {
        self.extra
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(LifecycleEvent {
                t_us: crate::clock::now_us(),
                plugin_id: plugin_id.to_string(),
                kind: kind.to_string(),
                detail: detail.to_string(),
            });
    }

    pub(super) fn events(&self, plugin_id: &str) -> Vec<LifecycleEvent> {
        let mut all: Vec<LifecycleEvent> = self
            .timeline
            .entries()
            .iter()
            .filter_map(|e| event_of(plugin_id, e))
            .collect();
        all.extend(
            self.extra
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .cloned(),
        );
        all.sort_by_key(|e| e.t_us);
        all
    }

    pub(super) fn finished(&self) -> bool {
        *self.finished.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// State shared by the driver service and the hook proxy.
pub(super) struct Shared {
    pub(super) config: HostConfig,
    /// What Describe declares, and what the PluginAPI servers honour.
    pub(super) capabilities: BTreeSet<Capability>,
    pub(super) plugins: Mutex<HashMap<String, Arc<Loaded>>>,
    pub(super) routes: RouteTable,
    pub(super) http_base_url: String,
    pub(super) stop: Notify,
}

impl Shared {
    pub(super) fn get(&self, plugin_id: &str) -> Option<Arc<Loaded>> {
        self.plugins
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(plugin_id)
            .cloned()
    }
}
