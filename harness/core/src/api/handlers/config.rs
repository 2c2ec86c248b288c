//! Config rpcs of the reference PluginAPI server: one server config (a JSON document that
//! starts as a small Mattermost-like default), read sanitized or whole, replaced by
//! SaveConfig, and each plugin's settings under `PluginSettings.Plugins.<plugin id>`.
//!
//! Every JSON blob the server answers is compact with object keys sorted, so the same
//! config always gives the same bytes.

use serde_json::{Map, Value, json};

use super::prelude::*;

/// What sanitized secrets read as (upstream `model.FakeSetting`).
pub const FAKE_SETTING: &str = "********";

/// This domain's part of the store.
#[derive(Debug, Default)]
pub struct ConfigState {
    /// The current config; `None` until first touched (then the default).
    config: Option<Value>,
}

/// The config a fresh reference server starts with.
fn default_config() -> Value {
    json!({
        "ServiceSettings": {
            "SiteURL": "http://localhost:8065",
            "ListenAddress": ":8065",
            "EnableOAuthServiceProvider": true,
            "EnableCommands": true,
            "EnablePostUsernameOverride": false,
            "EnableBotAccountCreation": true,
            "EnableUserAccessTokens": false,
            "SplitKey": "",
        },
        "TeamSettings": {
            "SiteName": "Mattermost",
            "MaxUsersPerTeam": 50,
            "EnableOpenServer": false,
        },
        "SqlSettings": {
            "DriverName": "postgres",
            "DataSource": "postgres://mmuser:mostest@localhost/mattermost_test?sslmode=disable",
            "DataSourceReplicas": [],
            "DataSourceSearchReplicas": [],
            "AtRestEncryptKey": "cd4cq6c5ktqjxab5oes5p96sgikxfd45",
        },
        "EmailSettings": {
            "SendEmailNotifications": true,
            "FeedbackEmail": "test@example.com",
            "SMTPServer": "localhost",
            "SMTPPort": "10025",
            "SMTPUsername": "",
            "SMTPPassword": "",
        },
        "FileSettings": {
            "DriverName": "local",
            "Directory": "./data/",
            "MaxFileSize": 104857600,
            "PublicLinkSalt": "w3mtqx8sjt4ekm6pqbz8n4ak1h1ytyf8",
            "AmazonS3SecretAccessKey": "",
        },
        "LogSettings": {"ConsoleLevel": "DEBUG", "EnableFile": false},
        "GitLabSettings": {"Enable": false, "Secret": ""},
        "GoogleSettings": {"Enable": false, "Secret": ""},
        "Office365Settings": {"Enable": false, "Secret": ""},
        "OpenIdSettings": {"Enable": false, "Secret": ""},
        "LdapSettings": {"Enable": false, "BindPassword": ""},
        "ElasticsearchSettings": {"EnableIndexing": false, "Password": ""},
        "PluginSettings": {
            "Enable": true,
            "EnableUploads": true,
            "Directory": "./plugins",
            "ClientDirectory": "./client/plugins",
            "Plugins": {},
            "PluginStates": {},
        },
    })
}

/// A copy of `v` whose objects have their keys sorted (the canonical form).
fn canonical(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), canonical(&m[k])))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

/// The canonical JSON bytes of `v`.
fn to_bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec(&canonical(v)).unwrap_or_default()
}

/// Setting names whose values are secrets: always masked when non-empty.
fn secret_key(key: &str) -> bool {
    key.ends_with("Password")
        || key.ends_with("Secret")
        || key.ends_with("SecretAccessKey")
        || key.ends_with("Salt")
        || key.ends_with("EncryptKey")
        || key.starts_with("DataSource")
        || key == "SplitKey"
}

/// Masks every secret string (and every string of a secret list) below `v`, except inside
/// `PluginSettings.Plugins`, whose settings belong to plugins.
fn sanitize(v: &mut Value, in_plugin_settings: bool) {
    let Value::Object(m) = v else {
        return;
    };
    for (key, value) in m.iter_mut() {
        if in_plugin_settings && key == "Plugins" {
            continue;
        }
        if secret_key(key) {
            match value {
                Value::String(s) if !s.is_empty() => *s = FAKE_SETTING.into(),
                Value::Array(items) => {
                    for item in items.iter_mut() {
                        if let Value::String(s) = item
                            && !s.is_empty()
                        {
                            *s = FAKE_SETTING.into();
                        }
                    }
                }
                _ => {}
            }
        } else {
            sanitize(value, key == "PluginSettings");
        }
    }
}

/// Puts the old values back wherever `new` holds the fake setting (a config read with
/// GetConfig, edited and saved keeps its secrets), as upstream's `Desanitize` does.
fn desanitize(new: &mut Value, old: &Value) {
    match (new, old) {
        (Value::Object(n), Value::Object(o)) => {
            for (key, value) in n.iter_mut() {
                if let Some(old_value) = o.get(key) {
                    desanitize(value, old_value);
                }
            }
        }
        (Value::Array(n), Value::Array(o)) => {
            for (value, old_value) in n.iter_mut().zip(o) {
                desanitize(value, old_value);
            }
        }
        (value @ Value::String(_), old_value) if value.as_str() == Some(FAKE_SETTING) => {
            *value = old_value.clone();
        }
        _ => {}
    }
}

impl ConfigState {
    /// One setting of the current config by its dotted path
    /// (`FileSettings.EnablePublicLink`), `Value::Null` when absent. How other domains read
    /// the configuration their rpcs depend on.
    pub fn setting(&mut self, path: &str) -> Value {
        path.split('.')
            .try_fold(&*self.config(), |v, key| v.get(key))
            .cloned()
            .unwrap_or(Value::Null)
    }

    /// The current config (the default until something is saved).
    pub fn config(&mut self) -> &mut Value {
        self.config.get_or_insert_with(default_config)
    }

    fn plugin_settings_mut(&mut self) -> &mut Map<String, Value> {
        let config = self.config();
        if !config.is_object() {
            *config = Value::Object(Map::new());
        }
        let root = config.as_object_mut().expect("an object");
        let settings = root
            .entry("PluginSettings")
            .or_insert_with(|| Value::Object(Map::new()));
        if !settings.is_object() {
            *settings = Value::Object(Map::new());
        }
        settings.as_object_mut().expect("an object")
    }

    /// `PluginSettings.Plugins.<plugin_id>`, an empty object when unset.
    pub fn plugin_settings(&mut self, plugin_id: &str) -> Map<String, Value> {
        self.config()
            .pointer(&format!(
                "/PluginSettings/Plugins/{}",
                pointer_escape(plugin_id)
            ))
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    }

    fn set_plugin_settings(&mut self, plugin_id: &str, settings: Map<String, Value>) {
        let plugins = self
            .plugin_settings_mut()
            .entry("Plugins")
            .or_insert_with(|| Value::Object(Map::new()));
        if !plugins.is_object() {
            *plugins = Value::Object(Map::new());
        }
        plugins
            .as_object_mut()
            .expect("an object")
            .insert(plugin_id.to_string(), Value::Object(settings));
    }

    /// Records `PluginSettings.PluginStates.<plugin_id>.Enable` (EnablePlugin and
    /// DisablePlugin); `None` removes the entry (RemovePlugin).
    pub fn set_plugin_enabled(&mut self, plugin_id: &str, enabled: Option<bool>) {
        let states = self
            .plugin_settings_mut()
            .entry("PluginStates")
            .or_insert_with(|| Value::Object(Map::new()));
        if !states.is_object() {
            *states = Value::Object(Map::new());
        }
        let states = states.as_object_mut().expect("an object");
        match enabled {
            Some(enable) => {
                states.insert(plugin_id.to_string(), json!({ "Enable": enable }));
            }
            None => {
                states.remove(plugin_id);
            }
        }
    }

    /// `PluginSettings.Directory`.
    pub fn plugin_directory(&mut self) -> String {
        self.config()
            .pointer("/PluginSettings/Directory")
            .and_then(Value::as_str)
            .unwrap_or("./plugins")
            .to_string()
    }
}

fn pointer_escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// A protobuf Value as JSON; whole numbers become integers, as Go's encoding/json writes
/// them.
fn value_to_json(v: &prost_types::Value) -> Value {
    use prost_types::value::Kind;
    match &v.kind {
        None | Some(Kind::NullValue(_)) => Value::Null,
        Some(Kind::BoolValue(b)) => Value::Bool(*b),
        Some(Kind::NumberValue(n)) => {
            if n.fract() == 0.0 && n.abs() < 9.007_199_254_740_992e15 {
                json!(*n as i64)
            } else {
                serde_json::Number::from_f64(*n).map_or(Value::Null, Value::Number)
            }
        }
        Some(Kind::StringValue(s)) => Value::String(s.clone()),
        Some(Kind::StructValue(s)) => Value::Object(struct_to_json(s)),
        Some(Kind::ListValue(l)) => Value::Array(l.values.iter().map(value_to_json).collect()),
    }
}

fn struct_to_json(s: &prost_types::Struct) -> Map<String, Value> {
    s.fields
        .iter()
        .map(|(k, v)| (k.clone(), value_to_json(v)))
        .collect()
}

fn json_to_value(v: &Value) -> prost_types::Value {
    use prost_types::value::Kind;
    let kind = match v {
        Value::Null => Kind::NullValue(0),
        Value::Bool(b) => Kind::BoolValue(*b),
        Value::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or_default()),
        Value::String(s) => Kind::StringValue(s.clone()),
        Value::Array(a) => Kind::ListValue(prost_types::ListValue {
            values: a.iter().map(json_to_value).collect(),
        }),
        Value::Object(m) => Kind::StructValue(json_to_struct(m)),
    };
    prost_types::Value { kind: Some(kind) }
}

fn json_to_struct(m: &Map<String, Value>) -> prost_types::Struct {
    prost_types::Struct {
        fields: m
            .iter()
            .map(|(k, v)| (k.clone(), json_to_value(v)))
            .collect(),
    }
}

/// `LoadPluginConfiguration`: this plugin's settings (`PluginSettings.Plugins.<id>`) as a
/// JSON object, `{}` when it has none.
pub fn load_plugin_configuration(
    cx: &mut Cx<'_>,
    _req: LoadPluginConfigurationRequest,
) -> Res<LoadPluginConfigurationResponse> {
    let settings = cx.store.config.plugin_settings(cx.plugin_id);
    Ok(LoadPluginConfigurationResponse {
        config_json: to_bytes(&Value::Object(settings)),
        ..Default::default()
    })
}

/// `GetConfig`: the server config as JSON with secrets (data sources, passwords, OAuth
/// secrets, salts, encryption keys) replaced by `********`.
pub fn get_config(cx: &mut Cx<'_>, _req: GetConfigRequest) -> Res<GetConfigResponse> {
    let mut config = cx.store.config.config().clone();
    sanitize(&mut config, false);
    Ok(GetConfigResponse {
        config_json: to_bytes(&config),
        ..Default::default()
    })
}

/// `GetUnsanitizedConfig`: the full server config (with secrets) as JSON.
pub fn get_unsanitized_config(
    cx: &mut Cx<'_>,
    _req: GetUnsanitizedConfigRequest,
) -> Res<GetUnsanitizedConfigResponse> {
    Ok(GetUnsanitizedConfigResponse {
        config_json: to_bytes(cx.store.config.config()),
        ..Default::default()
    })
}

/// `SaveConfig`: replace the server config with a JSON object. Empty is 400
/// `config_json is required`, anything but a JSON object is 400; values equal to
/// `********` keep the current value (a sanitized config can be saved back).
pub fn save_config(cx: &mut Cx<'_>, req: SaveConfigRequest) -> Res<SaveConfigResponse> {
    if req.config_json.is_empty() {
        return Err(cx.required("config_json"));
    }
    let mut config: Value = serde_json::from_slice(&req.config_json).map_err(|e| {
        cx.bad(
            "api.config.update_config.invalid_json.app_error",
            format!("config_json is not valid JSON: {e}"),
        )
    })?;
    if !config.is_object() {
        return Err(cx.bad(
            "api.config.update_config.invalid_json.app_error",
            "config_json must be a JSON object",
        ));
    }
    desanitize(&mut config, cx.store.config.config());
    *cx.store.config.config() = config;
    Ok(SaveConfigResponse::default())
}

/// `GetPluginConfig`: this plugin's settings as a Struct (empty when it has none).
pub fn get_plugin_config(
    cx: &mut Cx<'_>,
    _req: GetPluginConfigRequest,
) -> Res<GetPluginConfigResponse> {
    let settings = cx.store.config.plugin_settings(cx.plugin_id);
    Ok(GetPluginConfigResponse {
        config: Some(json_to_struct(&settings)),
        ..Default::default()
    })
}

/// `SavePluginConfig`: replace this plugin's settings (`PluginSettings.Plugins.<id>`)
/// with a Struct; a missing Struct is 400.
pub fn save_plugin_config(
    cx: &mut Cx<'_>,
    req: SavePluginConfigRequest,
) -> Res<SavePluginConfigResponse> {
    let config = req.config.ok_or_else(|| cx.required("config"))?;
    let plugin = cx.plugin_id.to_string();
    cx.store
        .config
        .set_plugin_settings(&plugin, struct_to_json(&config));
    Ok(SavePluginConfigResponse::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_masks_secrets_and_desanitize_restores_them() {
        let original = json!({
            "SqlSettings": {"DataSource": "postgres://u:p@h/db", "DataSourceReplicas": ["r1"], "DriverName": "postgres"},
            "EmailSettings": {"SMTPPassword": "", "SMTPUsername": "mailer"},
            "PluginSettings": {"Plugins": {"p": {"Password": "own"}}},
        });
        let mut sanitized = original.clone();
        sanitize(&mut sanitized, false);
        assert_eq!(sanitized["SqlSettings"]["DataSource"], FAKE_SETTING);
        assert_eq!(
            sanitized["SqlSettings"]["DataSourceReplicas"][0],
            FAKE_SETTING
        );
        assert_eq!(sanitized["SqlSettings"]["DriverName"], "postgres");
        assert_eq!(sanitized["EmailSettings"]["SMTPPassword"], "");
        assert_eq!(
            sanitized["PluginSettings"]["Plugins"]["p"]["Password"],
            "own"
        );
        desanitize(&mut sanitized, &original);
        assert_eq!(sanitized, original);
    }

    #[test]
    fn blobs_are_canonical() {
        let v: Value =
            serde_json::from_str(r#"{"b": 1, "a": {"d": [2, {"z": 0, "y": 1}], "c": 3}}"#).unwrap();
        assert_eq!(
            String::from_utf8(to_bytes(&v)).unwrap(),
            r#"{"a":{"c":3,"d":[2,{"y":1,"z":0}]},"b":1}"#
        );
    }
}
