//! KV rpcs: a key/value store namespaced by the calling plugin's id, with atomic
//! compare-and-set, compare-and-delete, expiry and paged listing, as upstream's
//! `SqlPluginStore` behaves: keys are validated only on writes, reads of any key answer
//! what is stored (nothing for an empty or overlong key), a negative expiry stores a key
//! that has already expired, and listing pages default to 10 keys.

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

/// The expiry time of a key set with `seconds` (upstream `NewPluginKeyValueFromOptions`:
/// any non-zero value counts from now, so a negative one is already past; 0 = never).
fn expiry(now: i64, seconds: i64) -> i64 {
    if seconds == 0 {
        0
    } else {
        now + seconds * 1000
    }
}

/// Upstream's default page size for `KVList` (`defaultPluginKeyFetchLimit`).
const KV_LIST_DEFAULT_LIMIT: i64 = 10;

/// The atomic core shared by KVCompareAndSet and KVSetWithOptions (upstream
/// `SqlPluginStore.CompareAndSet`): an empty new value is a compare-and-delete; an empty
/// old value inserts only when no live key exists; otherwise the current value must equal
/// the old one.
fn compare_and_set(cx: &mut Cx<'_>, key: &str, old: &[u8], new: Vec<u8>, expire_at: i64) -> bool {
    let (plugin, now) = (cx.plugin_id.to_string(), cx.now);
    if new.is_empty() {
        return compare_and_delete(cx, key, old);
    }
    let current = cx.store.kv.live(&plugin, key, now).map(|e| e.value.clone());
    let matches = match current {
        None => old.is_empty(),
        Some(v) => !old.is_empty() && v == old,
    };
    if matches {
        cx.store.kv.put(&plugin, key, new, expire_at);
    }
    matches
}

/// Upstream `SqlPluginStore.CompareAndDelete`: an empty old value never matches.
fn compare_and_delete(cx: &mut Cx<'_>, key: &str, old: &[u8]) -> bool {
    let (plugin, now) = (cx.plugin_id.to_string(), cx.now);
    let success = !old.is_empty()
        && cx
            .store
            .kv
            .live(&plugin, key, now)
            .is_some_and(|e| e.value == old);
    if success {
        cx.store.kv.remove(&plugin, key);
    }
    success
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
    let success = compare_and_delete(cx, &req.key, &req.old_value);
    Ok(KvCompareAndDeleteResponse {
        success,
        ..Default::default()
    })
}

/// `KVSetWithOptions`: set a key with atomic/expiry options. The options are checked
/// before the key (upstream `PlatformService.SetPluginKeyWithOptions`): an old value
/// without `atomic` is 400; the expiry is not checked.
pub fn kv_set_with_options(
    cx: &mut Cx<'_>,
    req: KvSetWithOptionsRequest,
) -> Res<KvSetWithOptionsResponse> {
    let options = req.options.unwrap_or_default();
    if !options.atomic && !options.old_value.is_empty() {
        return Err(cx.bad(
            "model.plugin_kvset_options.is_valid.old_value.app_error",
            "old_value is only allowed with atomic set",
        ));
    }
    check_key(cx, &req.key)?;
    let expire_at = expiry(cx.now, options.expire_in_seconds);
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

/// `KVSetWithExpiry`: set a key that expires after N seconds (0 = never; a negative
/// value stores it already expired, as upstream does).
pub fn kv_set_with_expiry(
    cx: &mut Cx<'_>,
    req: KvSetWithExpiryRequest,
) -> Res<KvSetWithExpiryResponse> {
    check_key(cx, &req.key)?;
    let expire_at = expiry(cx.now, req.expire_in_seconds);
    let plugin = cx.plugin_id.to_string();
    cx.store.kv.put(&plugin, &req.key, req.value, expire_at);
    Ok(KvSetWithExpiryResponse::default())
}

/// `KVGet`: read a key's value (absent, empty or overlong key: empty value, no error,
/// as upstream, which validates keys only when writing).
pub fn kv_get(cx: &mut Cx<'_>, req: KvGetRequest) -> Res<KvGetResponse> {
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

/// `KVDelete`: delete a key (a missing key, empty or not, is not an error: upstream
/// does not validate the key here).
pub fn kv_delete(cx: &mut Cx<'_>, req: KvDeleteRequest) -> Res<KvDeleteResponse> {
    let plugin = cx.plugin_id.to_string();
    cx.store.kv.remove(&plugin, &req.key);
    Ok(KvDeleteResponse::default())
}

/// `KVDeleteAll`: delete every key of the plugin.
pub fn kv_delete_all(cx: &mut Cx<'_>, _req: KvDeleteAllRequest) -> Res<KvDeleteAllResponse> {
    cx.store.kv.plugins.remove(cx.plugin_id);
    Ok(KvDeleteAllResponse::default())
}

/// `KVList`: page through the plugin's live keys, sorted (upstream `SqlPluginStore.List`
/// with `offset = page * per_page`): a limit of 0 or less is 10, a negative offset is 0,
/// and paging values are never an error.
pub fn kv_list(cx: &mut Cx<'_>, req: KvListRequest) -> Res<KvListResponse> {
    let (page, per_page) = (i64::from(req.page), i64::from(req.per_page));
    let offset = (page * per_page).max(0) as usize;
    let limit = if per_page <= 0 {
        KV_LIST_DEFAULT_LIMIT
    } else {
        per_page
    } as usize;
    let (plugin, now) = (cx.plugin_id.to_string(), cx.now);
    let keys = cx.store.kv.keys(&plugin, now);
    Ok(KvListResponse {
        keys: keys.into_iter().skip(offset).take(limit).collect(),
        ..Default::default()
    })
}
