//! KV rpcs: a key/value store namespaced by the calling plugin's id, with atomic
//! compare-and-set, compare-and-delete, expiry and paged listing.

use std::collections::BTreeMap;

use super::prelude::*;

/// Mattermost's limit on key length (`KEY_VALUE_KEY_MAX_RUNES`).
pub const MAX_KEY_RUNES: usize = 150;

#[derive(Debug, Clone)]
struct Entry {
    value: Vec<u8>,
    /// Milliseconds since the epoch; 0 = never.
    expire_at: i64,
}

/// Keys by plugin id, then key.
#[derive(Debug, Default)]
pub struct KvState {
    plugins: BTreeMap<String, BTreeMap<String, Entry>>,
}

impl KvState {
    fn live(&mut self, plugin: &str, key: &str, now: i64) -> Option<&Entry> {
        let space = self.plugins.get_mut(plugin)?;
        if space
            .get(key)
            .is_some_and(|e| e.expire_at != 0 && e.expire_at <= now)
        {
            space.remove(key);
        }
        space.get(key)
    }

    fn put(&mut self, plugin: &str, key: &str, value: Vec<u8>, expire_at: i64) {
        let space = self.plugins.entry(plugin.to_string()).or_default();
        // Setting an empty value deletes the key, as upstream does for a nil value.
        if value.is_empty() {
            space.remove(key);
        } else {
            space.insert(key.to_string(), Entry { value, expire_at });
        }
    }

    fn remove(&mut self, plugin: &str, key: &str) {
        if let Some(space) = self.plugins.get_mut(plugin) {
            space.remove(key);
        }
    }

    /// The live keys of a plugin, sorted.
    pub fn keys(&mut self, plugin: &str, now: i64) -> Vec<String> {
        let Some(space) = self.plugins.get_mut(plugin) else {
            return Vec::new();
        };
        space.retain(|_, e| e.expire_at == 0 || e.expire_at > now);
        space.keys().cloned().collect()
    }
}

fn check_key(cx: &Cx<'_>, key: &str) -> Res<()> {
    if key.is_empty() || key.chars().count() > MAX_KEY_RUNES {
        return Err(cx.bad(
            "model.plugin_key_value.is_valid.key.app_error",
            format!(
                "the key must be 1 to {MAX_KEY_RUNES} characters, got {}",
                key.chars().count()
            ),
        ));
    }
    Ok(())
}

fn expiry(cx: &Cx<'_>, seconds: i64) -> Res<i64> {
    if seconds < 0 {
        return Err(cx.bad(
            "model.plugin_kvset_options.is_valid.expire_in_seconds.app_error",
            "expire_in_seconds must not be negative",
        ));
    }
    Ok(if seconds == 0 {
        0
    } else {
        cx.now + seconds * 1000
    })
}

/// The atomic core shared by KVCompareAndSet and KVSetWithOptions.
fn compare_and_set(cx: &mut Cx<'_>, key: &str, old: &[u8], new: Vec<u8>, expire_at: i64) -> bool {
    let (plugin, now) = (cx.plugin_id.to_string(), cx.now);
    let current = cx.store.kv.live(&plugin, key, now).map(|e| e.value.clone());
    let matches = match current {
        // An empty old value means "only if the key does not exist".
        None => old.is_empty(),
        Some(v) => !old.is_empty() && v == old,
    };
    if matches {
        cx.store.kv.put(&plugin, key, new, expire_at);
    }
    matches
}

/// `KVSet`: store a value under a plugin-scoped key.
pub fn kv_set(cx: &mut Cx<'_>, req: KvSetRequest) -> Res<KvSetResponse> {
    check_key(cx, &req.key)?;
    let plugin = cx.plugin_id.to_string();
    cx.store.kv.put(&plugin, &req.key, req.value, 0);
    Ok(KvSetResponse::default())
}

/// `KVCompareAndSet`: set a key only if its current value matches.
pub fn kv_compare_and_set(
    cx: &mut Cx<'_>,
    req: KvCompareAndSetRequest,
) -> Res<KvCompareAndSetResponse> {
    check_key(cx, &req.key)?;
    let success = compare_and_set(cx, &req.key, &req.old_value, req.new_value, 0);
    Ok(KvCompareAndSetResponse {
        success,
        ..Default::default()
    })
}

/// `KVCompareAndDelete`: delete a key only if its value matches.
pub fn kv_compare_and_delete(
    cx: &mut Cx<'_>,
    req: KvCompareAndDeleteRequest,
) -> Res<KvCompareAndDeleteResponse> {
    check_key(cx, &req.key)?;
    let (plugin, now) = (cx.plugin_id.to_string(), cx.now);
    let success = cx
        .store
        .kv
        .live(&plugin, &req.key, now)
        .is_some_and(|e| !req.old_value.is_empty() && e.value == req.old_value);
    if success {
        cx.store.kv.remove(&plugin, &req.key);
    }
    Ok(KvCompareAndDeleteResponse {
        success,
        ..Default::default()
    })
}

/// `KVSetWithOptions`: set a key with atomic/expiry options.
pub fn kv_set_with_options(
    cx: &mut Cx<'_>,
    req: KvSetWithOptionsRequest,
) -> Res<KvSetWithOptionsResponse> {
    check_key(cx, &req.key)?;
    let options = req.options.unwrap_or_default();
    let expire_at = expiry(cx, options.expire_in_seconds)?;
    if !options.atomic && !options.old_value.is_empty() {
        return Err(cx.bad(
            "model.plugin_kvset_options.is_valid.old_value.app_error",
            "old_value is only allowed with atomic set",
        ));
    }
    let success = if options.atomic {
        compare_and_set(cx, &req.key, &options.old_value, req.value, expire_at)
    } else {
        let plugin = cx.plugin_id.to_string();
        cx.store.kv.put(&plugin, &req.key, req.value, expire_at);
        true
    };
    Ok(KvSetWithOptionsResponse {
        success,
        ..Default::default()
    })
}

/// `KVSetWithExpiry`: set a key that expires after N seconds.
pub fn kv_set_with_expiry(
    cx: &mut Cx<'_>,
    req: KvSetWithExpiryRequest,
) -> Res<KvSetWithExpiryResponse> {
    check_key(cx, &req.key)?;
    let expire_at = expiry(cx, req.expire_in_seconds)?;
    let plugin = cx.plugin_id.to_string();
    cx.store.kv.put(&plugin, &req.key, req.value, expire_at);
    Ok(KvSetWithExpiryResponse::default())
}

/// `KVGet`: read a key's value (absent: empty value, no error, as upstream).
pub fn kv_get(cx: &mut Cx<'_>, req: KvGetRequest) -> Res<KvGetResponse> {
    check_key(cx, &req.key)?;
    let (plugin, now) = (cx.plugin_id.to_string(), cx.now);
    let value = cx
        .store
        .kv
        .live(&plugin, &req.key, now)
        .map(|e| e.value.clone())
        .unwrap_or_default();
    Ok(KvGetResponse {
        value,
        ..Default::default()
    })
}

/// `KVDelete`: delete a key (deleting a missing key is not an error).
pub fn kv_delete(cx: &mut Cx<'_>, req: KvDeleteRequest) -> Res<KvDeleteResponse> {
    check_key(cx, &req.key)?;
    let plugin = cx.plugin_id.to_string();
    cx.store.kv.remove(&plugin, &req.key);
    Ok(KvDeleteResponse::default())
}

/// `KVDeleteAll`: delete every key of the plugin.
pub fn kv_delete_all(cx: &mut Cx<'_>, _req: KvDeleteAllRequest) -> Res<KvDeleteAllResponse> {
    cx.store.kv.plugins.remove(cx.plugin_id);
    Ok(KvDeleteAllResponse::default())
}

/// `KVList`: page through the plugin's keys, sorted.
pub fn kv_list(cx: &mut Cx<'_>, req: KvListRequest) -> Res<KvListResponse> {
    if req.page < 0 || req.per_page < 0 {
        return Err(cx.bad(
            "plugin.api.kv_list.paging.app_error",
            "page and per_page must not be negative",
        ));
    }
    let (plugin, now) = (cx.plugin_id.to_string(), cx.now);
    let keys = cx.store.kv.keys(&plugin, now);
    Ok(KvListResponse {
        keys: paginate(&keys, req.page, req.per_page),
        ..Default::default()
    })
}
