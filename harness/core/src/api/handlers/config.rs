//! Config rpcs of the reference PluginAPI server: one server configuration that starts as
//! a freshly installed Team Edition server's (upstream's section and setting names, with
//! upstream's default values, for the sections the reference server models), read
//! sanitized or whole, replaced by SaveConfig (which fills missing settings with their
//! defaults and validates, as upstream's config store does), and each plugin's settings
//! under `PluginSettings.Plugins.<plugin id>`.
//!
//! Every JSON blob the server answers is compact with object keys sorted, so the same
//! config always gives the same bytes.

use serde_json::{Map, Value, json};

use super::prelude::*;

/// What sanitized secrets read as (upstream `model.FakeSetting`: 32 asterisks).
pub const FAKE_SETTING: &str = "********************************";

/// Plugin ids upstream's `PluginSettings.SetDefaults` enables unless configured
/// (`PluginIdNPS`, `PluginIdCalls`, `PluginIdPlaybooks`).
const DEFAULT_PLUGIN_STATES: &[&str] = &["com.mattermost.calls", "com.mattermost.nps", "playbooks"];

/// Settings that hold secrets, as `model.Config.Sanitize` masks them: `true` when masked
/// even if empty, `false` when masked only if set.
const SECRETS: &[(&str, bool)] = &[
    ("LdapSettings.BindPassword", false),
    ("FileSettings.PublicLinkSalt", true),
    ("FileSettings.AmazonS3SecretAccessKey", false),
    ("EmailSettings.SMTPPassword", false),
    ("GitLabSettings.Secret", false),
    ("GoogleSettings.Secret", false),
    ("Office365Settings.Secret", false),
    ("OpenIdSettings.Secret", false),
    ("SqlSettings.DataSource", true),
    ("SqlSettings.AtRestEncryptKey", true),
    ("ElasticsearchSettings.Password", true),
    (
        "MessageExportSettings.GlobalRelaySettings.SMTPPassword",
        false,
    ),
    ("ServiceSettings.SplitKey", true),
    ("CacheSettings.RedisPassword", true),
];

/// Secret lists: every element is masked (`DataSourceReplicas`, `DataSourceSearchReplicas`).
const SECRET_LISTS: &[&str] = &[
    "SqlSettings.DataSourceReplicas",
    "SqlSettings.DataSourceSearchReplicas",
];

/// This domain's part of the store.
#[derive(Debug, Default)]
pub struct ConfigState {
    /// The current config; `None` until first touched (then the default).
    config: Option<Value>,
}

/// A 32-character random string of Mattermost's id alphabet (`model.NewRandomString(32)`).
fn random_string_32() -> String {
    let mut s = new_id();
    s.push_str(&new_id());
    s.truncate(32);
    s
}

/// The configuration of a freshly installed Team Edition server, for the sections the
/// reference server models (upstream `model.Config.SetDefaults`); the generated secrets
/// (`PublicLinkSalt`, `AtRestEncryptKey`) are filled in by [`ConfigState::config`].
fn default_config() -> Value {
    static DEFAULT: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    DEFAULT
        .get_or_init(|| serde_json::from_str(DEFAULT_CONFIG).expect("the default config is JSON"))
        .clone()
}

/// The settings of [`default_config`], as JSON.
const DEFAULT_CONFIG: &str = r##"{
  "ServiceSettings": {
    "SiteURL": "",
    "WebsocketURL": "",
    "LicenseFileLocation": "",
    "ListenAddress": ":8065",
    "ConnectionSecurity": "",
    "TLSCertFile": "",
    "TLSKeyFile": "",
    "TLSMinVer": "1.2",
    "TLSStrictTransport": false,
    "TLSStrictTransportMaxAge": 63072000,
    "TLSOverwriteCiphers": [],
    "UseLetsEncrypt": false,
    "LetsEncryptCertificateCacheFile": "./config/letsencrypt.cache",
    "Forward80To443": false,
    "TrustedProxyIPHeader": [],
    "ReadTimeout": 300,
    "WriteTimeout": 300,
    "IdleTimeout": 60,
    "MaximumLoginAttempts": 10,
    "GoroutineHealthThreshold": -1,
    "EnableOAuthServiceProvider": true,
    "EnableIncomingWebhooks": true,
    "EnableOutgoingWebhooks": true,
    "EnableOutgoingOAuthConnections": false,
    "EnableCommands": true,
    "OutgoingIntegrationRequestsTimeout": 30,
    "EnablePostUsernameOverride": false,
    "EnablePostIconOverride": false,
    "GoogleDeveloperKey": "",
    "EnableLinkPreviews": true,
    "EnablePermalinkPreviews": true,
    "RestrictLinkPreviews": "",
    "EnableTesting": false,
    "EnableDeveloper": false,
    "DeveloperFlags": "",
    "EnableClientPerformanceDebugging": false,
    "EnableOpenTracing": false,
    "EnableSecurityFixAlert": true,
    "EnableInsecureOutgoingConnections": false,
    "AllowedUntrustedInternalConnections": "",
    "EnableMultifactorAuthentication": false,
    "EnforceMultifactorAuthentication": false,
    "EnableUserAccessTokens": false,
    "AllowCorsFrom": "",
    "CorsExposedHeaders": "",
    "CorsAllowCredentials": false,
    "CorsDebug": false,
    "AllowCookiesForSubdomains": false,
    "ExtendSessionLengthWithActivity": true,
    "TerminateSessionsOnPasswordChange": true,
    "SessionLengthWebInDays": 30,
    "SessionLengthWebInHours": 720,
    "SessionLengthMobileInDays": 30,
    "SessionLengthMobileInHours": 720,
    "SessionLengthSSOInDays": 30,
    "SessionLengthSSOInHours": 720,
    "SessionCacheInMinutes": 10,
    "SessionIdleTimeoutInMinutes": 43200,
    "WebsocketSecurePort": 443,
    "WebsocketPort": 80,
    "WebserverMode": "gzip",
    "EnableGifPicker": true,
    "GiphySdkKey": "",
    "EnableCustomEmoji": true,
    "EnableEmojiPicker": true,
    "PostEditTimeLimit": -1,
    "TimeBetweenUserTypingUpdatesMilliseconds": 5000,
    "EnablePostSearch": true,
    "EnableFileSearch": true,
    "MinimumHashtagLength": 3,
    "EnableUserTypingMessages": true,
    "EnableChannelViewedMessages": true,
    "EnableUserStatuses": true,
    "ExperimentalEnableAuthenticationTransfer": true,
    "ClusterLogTimeoutMilliseconds": 2000,
    "EnableTutorial": true,
    "EnableOnboardingFlow": true,
    "ExperimentalEnableDefaultChannelLeaveJoinMessages": true,
    "ExperimentalGroupUnreadChannels": "disabled",
    "EnableAPITeamDeletion": false,
    "EnableAPITriggerAdminNotifications": false,
    "EnableAPIUserDeletion": false,
    "EnableAPIChannelDeletion": false,
    "ExperimentalEnableHardenedMode": false,
    "ExperimentalStrictCSRFEnforcement": false,
    "EnableEmailInvitations": false,
    "DisableBotsWhenOwnerIsDeactivated": true,
    "EnableBotAccountCreation": false,
    "EnableSVGs": false,
    "EnableLatex": false,
    "EnableInlineLatex": true,
    "PostPriority": true,
    "AllowPersistentNotifications": true,
    "AllowPersistentNotificationsForGuests": false,
    "PersistentNotificationIntervalMinutes": 5,
    "PersistentNotificationMaxCount": 6,
    "PersistentNotificationMaxRecipients": 5,
    "EnableLocalMode": false,
    "LocalModeSocketLocation": "/var/tmp/mattermost_local.socket",
    "EnableAWSMetering": false,
    "SplitKey": "",
    "FeatureFlagSyncIntervalSeconds": 30,
    "DebugSplit": false,
    "ThreadAutoFollow": true,
    "CollapsedThreads": "always_on",
    "ManagedResourcePaths": "",
    "EnableCustomGroups": true,
    "AllowSyncedDrafts": true,
    "UniqueEmojiReactionLimitPerPost": 50,
    "RefreshPostStatsRunTime": "00:00",
    "MaximumPayloadSizeBytes": 300000,
    "MaximumURLLength": 2048
  },
  "TeamSettings": {
    "SiteName": "Mattermost",
    "MaxUsersPerTeam": 50,
    "EnableJoinLeaveMessageByDefault": true,
    "EnableUserCreation": true,
    "EnableOpenServer": false,
    "EnableUserDeactivation": false,
    "RestrictCreationToDomains": "",
    "EnableCustomUserStatuses": true,
    "EnableCustomBrand": false,
    "CustomBrandText": "",
    "CustomDescriptionText": "",
    "RestrictDirectMessage": "any",
    "EnableLastActiveTime": true,
    "UserStatusAwayTimeout": 300,
    "MaxChannelsPerTeam": 2000,
    "MaxNotificationsPerChannel": 1000,
    "EnableConfirmNotificationsToChannel": true,
    "TeammateNameDisplay": "username",
    "ExperimentalViewArchivedChannels": true,
    "ExperimentalEnableAutomaticReplies": false,
    "LockTeammateNameDisplay": false,
    "ExperimentalPrimaryTeam": "",
    "ExperimentalDefaultChannels": []
  },
  "SqlSettings": {
    "DriverName": "postgres",
    "DataSource": "postgres://mmuser:mostest@localhost/mattermost_test?sslmode=disable&connect_timeout=10&binary_parameters=yes",
    "DataSourceReplicas": [],
    "DataSourceSearchReplicas": [],
    "MaxIdleConns": 20,
    "ConnMaxLifetimeMilliseconds": 3600000,
    "ConnMaxIdleTimeMilliseconds": 300000,
    "MaxOpenConns": 300,
    "Trace": false,
    "AtRestEncryptKey": "",
    "QueryTimeout": 30,
    "DisableDatabaseSearch": false,
    "MigrationsStatementTimeoutSeconds": 100000,
    "ReplicaLagSettings": [],
    "ReplicaMonitorIntervalSeconds": 5
  },
  "LogSettings": {
    "EnableConsole": true,
    "ConsoleLevel": "DEBUG",
    "ConsoleJson": true,
    "EnableColor": false,
    "EnableFile": true,
    "FileLevel": "INFO",
    "FileJson": true,
    "FileLocation": "",
    "EnableWebhookDebugging": true,
    "EnableDiagnostics": true,
    "VerboseDiagnostics": false,
    "EnableSentry": true,
    "AdvancedLoggingJSON": {},
    "MaxFieldSize": 2048
  },
  "PasswordSettings": {
    "MinimumLength": 8,
    "Lowercase": false,
    "Number": false,
    "Uppercase": false,
    "Symbol": false,
    "EnableForgotLink": true
  },
  "FileSettings": {
    "EnableFileAttachments": true,
    "EnableMobileUpload": true,
    "EnableMobileDownload": true,
    "MaxFileSize": 104857600,
    "MaxImageResolution": 33177600,
    "MaxImageDecoderConcurrency": -1,
    "DriverName": "local",
    "Directory": "./data/",
    "EnablePublicLink": false,
    "ExtractContent": true,
    "ArchiveRecursion": false,
    "PublicLinkSalt": "",
    "InitialFont": "nunito-bold.ttf",
    "AmazonS3AccessKeyId": "",
    "AmazonS3SecretAccessKey": "",
    "AmazonS3Bucket": "",
    "AmazonS3PathPrefix": "",
    "AmazonS3Region": "",
    "AmazonS3Endpoint": "s3.amazonaws.com",
    "AmazonS3SSL": true,
    "AmazonS3SignV2": false,
    "AmazonS3SSE": false,
    "AmazonS3Trace": false,
    "AmazonS3RequestTimeoutMilliseconds": 30000
  },
  "EmailSettings": {
    "EnableSignUpWithEmail": true,
    "EnableSignInWithEmail": true,
    "EnableSignInWithUsername": true,
    "SendEmailNotifications": true,
    "UseChannelInEmailNotifications": false,
    "RequireEmailVerification": false,
    "FeedbackName": "",
    "FeedbackEmail": "test@example.com",
    "ReplyToAddress": "test@example.com",
    "FeedbackOrganization": "",
    "EnableSMTPAuth": false,
    "SMTPUsername": "",
    "SMTPPassword": "",
    "SMTPServer": "localhost",
    "SMTPPort": "10025",
    "SMTPServerTimeout": 10,
    "ConnectionSecurity": "",
    "SendPushNotifications": true,
    "PushNotificationServer": "https://push-test.mattermost.com",
    "PushNotificationContents": "full",
    "PushNotificationBuffer": 1000,
    "EnableEmailBatching": false,
    "EmailBatchingBufferSize": 256,
    "EmailBatchingInterval": 30,
    "EnablePreviewModeBanner": true,
    "SkipServerCertificateVerification": false,
    "EmailNotificationContentsType": "full",
    "LoginButtonColor": "#0000",
    "LoginButtonBorderColor": "#2389D7",
    "LoginButtonTextColor": "#2389D7"
  },
  "RateLimitSettings": {
    "Enable": false,
    "PerSec": 10,
    "MaxBurst": 100,
    "MemoryStoreSize": 10000,
    "VaryByRemoteAddr": true,
    "VaryByUser": false,
    "VaryByHeader": ""
  },
  "PrivacySettings": {
    "ShowEmailAddress": true,
    "ShowFullName": true
  },
  "GitLabSettings": {
    "Enable": false,
    "Secret": "",
    "Id": "",
    "Scope": "",
    "AuthEndpoint": "",
    "TokenEndpoint": "",
    "UserAPIEndpoint": "",
    "DiscoveryEndpoint": ""
  },
  "GoogleSettings": {
    "Enable": false,
    "Secret": "",
    "Id": "",
    "Scope": "profile email",
    "AuthEndpoint": "https://accounts.google.com/o/oauth2/v2/auth",
    "TokenEndpoint": "https://www.googleapis.com/oauth2/v4/token",
    "UserAPIEndpoint": "https://people.googleapis.com/v1/people/me?personFields=names,emailAddresses,nicknames,metadata",
    "DiscoveryEndpoint": ""
  },
  "Office365Settings": {
    "Enable": false,
    "Secret": "",
    "Id": "",
    "Scope": "User.Read",
    "AuthEndpoint": "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
    "TokenEndpoint": "https://login.microsoftonline.com/common/oauth2/v2.0/token",
    "UserAPIEndpoint": "https://graph.microsoft.com/v1.0/me",
    "DiscoveryEndpoint": "",
    "DirectoryId": ""
  },
  "OpenIdSettings": {
    "Enable": false,
    "Secret": "",
    "Id": "",
    "Scope": "profile openid email",
    "AuthEndpoint": "",
    "TokenEndpoint": "",
    "UserAPIEndpoint": "",
    "DiscoveryEndpoint": ""
  },
  "LdapSettings": {
    "Enable": false,
    "EnableSync": false,
    "LdapServer": "",
    "LdapPort": 389,
    "ConnectionSecurity": "",
    "BaseDN": "",
    "BindUsername": "",
    "BindPassword": "",
    "MaximumLoginAttempts": 10,
    "SyncIntervalMinutes": 60,
    "MaxPageSize": 0
  },
  "LocalizationSettings": {
    "DefaultServerLocale": "en",
    "DefaultClientLocale": "en",
    "AvailableLocales": ""
  },
  "ElasticsearchSettings": {
    "ConnectionURL": "http://localhost:9200",
    "Username": "elastic",
    "Password": "changeme",
    "EnableIndexing": false,
    "EnableSearching": false,
    "EnableAutocomplete": false,
    "IndexPrefix": "",
    "LiveIndexingBatchSize": 10,
    "BatchSize": 10000,
    "RequestTimeoutSeconds": 30,
    "SkipTLSVerification": false,
    "Trace": "",
    "IgnoredPurgeIndexes": ""
  },
  "CacheSettings": {
    "CacheType": "lru",
    "RedisAddress": "",
    "RedisPassword": "",
    "RedisDB": -1,
    "DisableClientCache": false
  },
  "ClusterSettings": {
    "Enable": false,
    "ClusterName": "",
    "OverrideHostname": "",
    "NetworkInterface": "",
    "BindAddress": "",
    "AdvertiseAddress": "",
    "UseIPAddress": true
  },
  "ExperimentalSettings": {
    "LinkMetadataTimeoutMilliseconds": 5000,
    "RestrictSystemAdmin": false,
    "EnableSharedChannels": false,
    "EnableRemoteClusterService": false,
    "DisableAppBar": false,
    "DisableRefetchingOnBrowserFocus": false,
    "DelayChannelAutocomplete": false,
    "DisableWakeUpReconnectHandler": false,
    "UsersStatusAndProfileFetchingPollIntervalMilliseconds": 3000,
    "YoutubeReferrerPolicy": false
  },
  "ImportSettings": {
    "Directory": "./import",
    "RetentionDays": 30
  },
  "ExportSettings": {
    "Directory": "./export",
    "RetentionDays": 30
  },
  "MessageExportSettings": {
    "EnableExport": false,
    "ExportFormat": "actiance",
    "DailyRunTime": "01:00",
    "ExportFromTimestamp": 0,
    "BatchSize": 10000,
    "DownloadExportResults": false,
    "GlobalRelaySettings": {
      "CustomerType": "A9",
      "SMTPUsername": "",
      "SMTPPassword": "",
      "EmailAddress": "",
      "SMTPServerTimeout": 1800,
      "CustomSMTPServerName": "",
      "CustomSMTPPort": "25"
    }
  },
  "DisplaySettings": {
    "CustomURLSchemes": [],
    "MaxMarkdownNodes": 0
  },
  "ConnectedWorkspacesSettings": {
    "EnableSharedChannels": false,
    "EnableRemoteClusterService": false,
    "DisableSharedChannelsStatusSync": false
  },
  "PluginSettings": {
    "Enable": true,
    "EnableUploads": false,
    "AllowInsecureDownloadURL": false,
    "EnableHealthCheck": true,
    "Directory": "./plugins",
    "ClientDirectory": "./client/plugins",
    "Plugins": {},
    "PluginStates": {
      "com.mattermost.calls": {
        "Enable": true
      },
      "com.mattermost.nps": {
        "Enable": true
      },
      "playbooks": {
        "Enable": true
      }
    },
    "EnableMarketplace": true,
    "EnableRemoteMarketplace": true,
    "AutomaticPrepackagedPlugins": true,
    "RequirePluginSignature": false,
    "MarketplaceURL": "https://api.integrations.mattermost.com",
    "SignaturePublicKeyFiles": [],
    "ChimeraOAuthProxyURL": ""
  }
}"##;

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

/// The value at a dotted path, mutable.
fn at_mut<'a>(v: &'a mut Value, path: &str) -> Option<&'a mut Value> {
    path.split('.').try_fold(v, |v, key| v.get_mut(key))
}

/// The value at a dotted path.
fn at<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(v, |v, key| v.get(key))
}

/// `model.Config.Sanitize`: every secret setting replaced by [`FAKE_SETTING`] (some only
/// when set, see [`SECRETS`]), every element of the replica lists too. Plugin settings are
/// the plugins' own and stay as they are.
fn sanitize(config: &mut Value) {
    for (path, always) in SECRETS {
        if let Some(Value::String(s)) = at_mut(config, path)
            && (*always || !s.is_empty())
        {
            *s = FAKE_SETTING.into();
        }
    }
    for path in SECRET_LISTS {
        if let Some(Value::Array(items)) = at_mut(config, path) {
            for item in items.iter_mut() {
                *item = Value::String(FAKE_SETTING.into());
            }
        }
    }
    if let Some(Value::Array(items)) = at_mut(config, "SqlSettings.ReplicaLagSettings") {
        for item in items.iter_mut() {
            if let Value::Object(m) = item {
                m.insert("DataSource".into(), Value::String(FAKE_SETTING.into()));
            }
        }
    }
}

/// Puts the current value back wherever a secret setting of `new` holds the fake setting
/// (a config read with GetConfig and saved keeps its secrets), as upstream's config store
/// does before saving.
fn desanitize(new: &mut Value, old: &Value) {
    for (path, _) in SECRETS {
        if at(new, path).and_then(Value::as_str) == Some(FAKE_SETTING)
            && let (Some(slot), Some(value)) = (at_mut(new, path), at(old, path))
        {
            *slot = value.clone();
        }
    }
    for path in SECRET_LISTS
        .iter()
        .copied()
        .chain(["SqlSettings.ReplicaLagSettings"])
    {
        let Some(Value::Array(old_items)) = at(old, path) else {
            continue;
        };
        if let Some(Value::Array(items)) = at_mut(new, path) {
            for (item, old_item) in items.iter_mut().zip(old_items) {
                match item {
                    Value::String(s) if s == FAKE_SETTING => *item = old_item.clone(),
                    Value::Object(m)
                        if m.get("DataSource").and_then(Value::as_str) == Some(FAKE_SETTING) =>
                    {
                        if let Some(ds) = old_item.get("DataSource") {
                            m.insert("DataSource".into(), ds.clone());
                        }
                    }
                    _ => {}
                }
            }
        }
    }
}

/// The JSON type name Go's encoding/json reports for a value.
fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The Go type of a setting whose default is `v` (for unmarshal error texts).
fn go_type(v: &Value) -> &'static str {
    match v {
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float64",
        Value::Number(_) => "int",
        Value::String(_) => "string",
        Value::Array(_) => "[]string",
        _ => "map[string]interface {}",
    }
}

/// Whether a value given for a setting fits the setting's type (the default's kind).
fn same_kind(given: &Value, default: &Value) -> bool {
    matches!(
        (given, default),
        (Value::Null, _)
            | (Value::Bool(_), Value::Bool(_))
            | (Value::Number(_), Value::Number(_))
            | (Value::String(_), Value::String(_))
            | (Value::Array(_), Value::Array(_))
            | (Value::Object(_), Value::Object(_))
    )
}

/// Unmarshals a saved document into the modelled config the way Go's encoding/json fills
/// `model.Config`: unknown sections and settings are dropped, a setting of the wrong JSON
/// type is an error (reported after the whole document, as Go does), `null` leaves a
/// setting unset. The result holds only what the document set.
fn unmarshal(doc: &Value, defaults: &Value) -> Result<Value, String> {
    let Value::Object(doc) = doc else {
        // `null` unmarshals into an empty config; anything else is a type error.
        return match doc {
            Value::Null => Ok(Value::Object(Map::new())),
            other => Err(format!(
                "json: cannot unmarshal {} into Go value of type model.Config",
                json_kind(other)
            )),
        };
    };
    let mut first_error = None;
    let mut out = Map::new();
    for (section, value) in doc {
        let Some(Value::Object(section_defaults)) = defaults.get(section) else {
            continue;
        };
        match value {
            Value::Null => {}
            Value::Object(settings) => {
                let mut kept = Map::new();
                for (key, given) in settings {
                    let Some(default) = section_defaults.get(key) else {
                        continue;
                    };
                    if !same_kind(given, default) {
                        first_error.get_or_insert_with(|| {
                            format!(
                                "json: cannot unmarshal {} into Go struct field {section}.{section}.{key} of type {}",
                                json_kind(given),
                                go_type(default)
                            )
                        });
                        continue;
                    }
                    if !given.is_null() {
                        kept.insert(key.clone(), given.clone());
                    }
                }
                out.insert(section.clone(), Value::Object(kept));
            }
            other => {
                first_error.get_or_insert_with(|| {
                    format!(
                        "json: cannot unmarshal {} into Go struct field Config.{section} of type model.{section}",
                        json_kind(other)
                    )
                });
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(Value::Object(out)),
    }
}

/// Upstream's `Config.SetDefaults` over a document [`unmarshal`] produced: every setting
/// it does not set takes its default; empty required strings take their default too;
/// missing secrets are generated; the default plugin states are added.
fn set_defaults(given: &Value) -> Value {
    let mut config = default_config();
    let sections = config.as_object_mut().expect("an object");
    if let Value::Object(given) = given {
        for (section, settings) in given {
            let (Some(Value::Object(target)), Value::Object(settings)) =
                (sections.get_mut(section), settings)
            else {
                continue;
            };
            for (key, value) in settings {
                match (target.get_mut(key), value) {
                    // A nested settings struct (GlobalRelaySettings) gets its own defaults.
                    (Some(Value::Object(inner)), Value::Object(given_inner))
                        if key == "GlobalRelaySettings" =>
                    {
                        for (k, v) in given_inner {
                            inner.insert(k.clone(), v.clone());
                        }
                    }
                    _ => {
                        target.insert(key.clone(), value.clone());
                    }
                }
            }
        }
    }
    for path in [
        "TeamSettings.SiteName",
        "FileSettings.Directory",
        "PluginSettings.Directory",
        "PluginSettings.ClientDirectory",
        "PluginSettings.MarketplaceURL",
        "EmailSettings.SMTPServer",
        "EmailSettings.SMTPPort",
    ] {
        if at(&config, path).and_then(Value::as_str) == Some("") {
            let default = at(&default_config(), path).cloned().unwrap_or(Value::Null);
            if let Some(slot) = at_mut(&mut config, path) {
                *slot = default;
            }
        }
    }
    for path in [
        "FileSettings.PublicLinkSalt",
        "SqlSettings.AtRestEncryptKey",
    ] {
        if let Some(Value::String(s)) = at_mut(&mut config, path)
            && s.is_empty()
        {
            *s = random_string_32();
        }
    }
    if let Some(Value::Object(states)) = at_mut(&mut config, "PluginSettings.PluginStates") {
        for id in DEFAULT_PLUGIN_STATES {
            states
                .entry(id.to_string())
                .or_insert_with(|| json!({"Enable": true}));
        }
    }
    config
}

/// The first failure of upstream's `Config.IsValid` among the settings the reference
/// server models (its id), in upstream's order.
fn invalid_setting(config: &Value) -> Option<&'static str> {
    let int = |path: &str| at(config, path).and_then(Value::as_i64).unwrap_or_default();
    let text = |path: &str| {
        at(config, path)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let checks: Vec<(bool, &'static str)> = vec![
        (
            !matches!(text("CacheSettings.CacheType").as_str(), "lru" | "redis"),
            "model.config.is_valid.cache_type.app_error",
        ),
        (
            int("TeamSettings.MaxUsersPerTeam") <= 0,
            "model.config.is_valid.max_users.app_error",
        ),
        (
            int("TeamSettings.MaxChannelsPerTeam") <= 0,
            "model.config.is_valid.max_channels.app_error",
        ),
        (
            int("TeamSettings.UserStatusAwayTimeout") <= 0,
            "model.config.is_valid.user_status_away_timeout.app_error",
        ),
        (
            int("TeamSettings.MaxNotificationsPerChannel") <= 0,
            "model.config.is_valid.max_notify_per_channel.app_error",
        ),
        (
            !matches!(
                text("TeamSettings.RestrictDirectMessage").as_str(),
                "any" | "team"
            ),
            "model.config.is_valid.restrict_direct_message.app_error",
        ),
        (
            !matches!(
                text("TeamSettings.TeammateNameDisplay").as_str(),
                "full_name" | "nickname_full_name" | "username"
            ),
            "model.config.is_valid.teammate_name_display.app_error",
        ),
        (
            text("TeamSettings.SiteName").len() > 30,
            "model.config.is_valid.sitename_length.app_error",
        ),
        (
            int("ExperimentalSettings.LinkMetadataTimeoutMilliseconds") <= 0,
            "model.config.is_valid.link_metadata_timeout.app_error",
        ),
        (
            {
                let key = text("SqlSettings.AtRestEncryptKey");
                !key.is_empty() && key.len() < 32
            },
            "model.config.is_valid.encrypt_sql.app_error",
        ),
        (
            !matches!(
                text("SqlSettings.DriverName").as_str(),
                "mysql" | "postgres"
            ),
            "model.config.is_valid.sql_driver.app_error",
        ),
        (
            int("SqlSettings.MaxIdleConns") <= 0,
            "model.config.is_valid.sql_idle.app_error",
        ),
        (
            int("SqlSettings.QueryTimeout") <= 0,
            "model.config.is_valid.sql_query_timeout.app_error",
        ),
        (
            text("SqlSettings.DataSource").is_empty(),
            "model.config.is_valid.sql_data_src.app_error",
        ),
        (
            int("SqlSettings.MaxOpenConns") <= 0,
            "model.config.is_valid.sql_max_conn.app_error",
        ),
        (
            int("FileSettings.MaxFileSize") <= 0,
            "model.config.is_valid.max_file_size.app_error",
        ),
        (
            !matches!(
                text("FileSettings.DriverName").as_str(),
                "local" | "amazons3"
            ),
            "model.config.is_valid.file_driver.app_error",
        ),
        (
            {
                let salt = text("FileSettings.PublicLinkSalt");
                !salt.is_empty() && salt.len() < 32
            },
            "model.config.is_valid.file_salt.app_error",
        ),
        (
            text("FileSettings.Directory").is_empty(),
            "model.config.is_valid.directory.app_error",
        ),
        (
            !matches!(
                text("EmailSettings.ConnectionSecurity").as_str(),
                "" | "TLS" | "STARTTLS" | "PLAIN"
            ),
            "model.config.is_valid.email_security.app_error",
        ),
        (
            int("EmailSettings.EmailBatchingBufferSize") <= 0,
            "model.config.is_valid.email_batching_buffer_size.app_error",
        ),
        (
            int("EmailSettings.EmailBatchingInterval") < 30,
            "model.config.is_valid.email_batching_interval.app_error",
        ),
        (
            int("RateLimitSettings.MemoryStoreSize") <= 0,
            "model.config.is_valid.rate_mem.app_error",
        ),
        (
            int("RateLimitSettings.PerSec") <= 0,
            "model.config.is_valid.rate_sec.app_error",
        ),
        (
            int("RateLimitSettings.MaxBurst") <= 0,
            "model.config.is_valid.max_burst.app_error",
        ),
        (
            !matches!(
                text("ServiceSettings.ConnectionSecurity").as_str(),
                "" | "TLS"
            ),
            "model.config.is_valid.webserver_security.app_error",
        ),
        (
            int("ServiceSettings.MaximumPayloadSizeBytes") <= 0,
            "model.config.is_valid.max_payload_size.app_error",
        ),
        (
            int("ServiceSettings.MaximumURLLength") <= 0,
            "model.config.is_valid.max_url_length.app_error",
        ),
        (
            int("ServiceSettings.ReadTimeout") <= 0,
            "model.config.is_valid.read_timeout.app_error",
        ),
        (
            int("ServiceSettings.WriteTimeout") <= 0,
            "model.config.is_valid.write_timeout.app_error",
        ),
        (
            int("ServiceSettings.TimeBetweenUserTypingUpdatesMilliseconds") < 1000,
            "model.config.is_valid.time_between_user_typing.app_error",
        ),
        (
            int("ServiceSettings.MaximumLoginAttempts") <= 0,
            "model.config.is_valid.login_attempts.app_error",
        ),
        (
            {
                let url = text("ServiceSettings.SiteURL");
                !url.is_empty() && !request_uri(&url)
            },
            "model.config.is_valid.site_url.app_error",
        ),
        (
            int("ServiceSettings.OutgoingIntegrationRequestsTimeout") <= 0,
            "model.config.is_valid.outgoing_integrations_request_timeout.app_error",
        ),
    ];
    checks
        .into_iter()
        .find_map(|(failed, id)| failed.then_some(id))
}

/// Roughly Go's `url.ParseRequestURI`: an absolute URL (`scheme:...`) or an absolute path,
/// without control characters or spaces in the host.
fn request_uri(url: &str) -> bool {
    if url.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return false;
    }
    if url.starts_with('/') {
        return true;
    }
    let Some((scheme, rest)) = url.split_once(':') else {
        return false;
    };
    let scheme_ok = scheme
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    let host = rest
        .strip_prefix("//")
        .map(|r| r.split(['/', '?', '#']).next().unwrap_or_default());
    scheme_ok && host.is_none_or(|h| !h.contains(' '))
}

impl ConfigState {
    /// One setting of the current config by its dotted path
    /// (`FileSettings.EnablePublicLink`), `Value::Null` when absent. How other domains read
    /// the configuration their rpcs depend on.
    pub fn setting(&mut self, path: &str) -> Value {
        at(self.config(), path).cloned().unwrap_or(Value::Null)
    }

    /// A boolean setting (`false` when absent).
    pub fn flag(&mut self, path: &str) -> bool {
        self.setting(path).as_bool().unwrap_or_default()
    }

    /// The current config (the default until something is saved).
    pub fn config(&mut self) -> &mut Value {
        self.config.get_or_insert_with(|| set_defaults(&json!({})))
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

    /// `PluginSettings.PluginStates.<plugin_id>.Enable`, `None` without an entry.
    pub fn plugin_enabled(&mut self, plugin_id: &str) -> Option<bool> {
        self.config()
            .pointer(&format!(
                "/PluginSettings/PluginStates/{}/Enable",
                pointer_escape(plugin_id)
            ))
            .and_then(Value::as_bool)
    }

    /// Records `PluginSettings.PluginStates.<plugin_id>.Enable` (EnablePlugin, DisablePlugin
    /// and RemovePlugin, which leaves `{"Enable": false}` behind as upstream does); `None`
    /// removes the entry.
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
/// JSON object with every top-level key lower-cased, as upstream's
/// `PluginAPI.LoadPluginConfiguration` builds the map it decodes; `{}` when it has none.
/// (Upstream starts from the defaults of the manifest's settings schema, which the
/// reference server does not read: a departure.)
pub fn load_plugin_configuration(
    cx: &mut Cx<'_>,
    _req: LoadPluginConfigurationRequest,
) -> Res<LoadPluginConfigurationResponse> {
    let settings = cx.store.config.plugin_settings(cx.plugin_id);
    let lowered: Map<String, Value> = settings
        .into_iter()
        .map(|(k, v)| (k.to_lowercase(), v))
        .collect();
    Ok(LoadPluginConfigurationResponse {
        config_json: to_bytes(&Value::Object(lowered)),
        ..Default::default()
    })
}

/// `GetConfig`: the whole server config as JSON with the secrets `model.Config.Sanitize`
/// masks replaced by [`FAKE_SETTING`].
pub fn get_config(cx: &mut Cx<'_>, _req: GetConfigRequest) -> Res<GetConfigResponse> {
    let mut config = cx.store.config.config().clone();
    sanitize(&mut config);
    Ok(GetConfigResponse {
        config_json: to_bytes(&config),
        ..Default::default()
    })
}

/// `GetUnsanitizedConfig`: the whole server config (with secrets) as JSON.
pub fn get_unsanitized_config(
    cx: &mut Cx<'_>,
    _req: GetUnsanitizedConfigRequest,
) -> Res<GetUnsanitizedConfigResponse> {
    Ok(GetUnsanitizedConfigResponse {
        config_json: to_bytes(cx.store.config.config()),
        ..Default::default()
    })
}

/// `SaveConfig`: replace the server config, as upstream's handler and config store do:
/// empty bytes are the guard `config_json is required`; a document that does not
/// unmarshal into the config is the guard `failed to unmarshal config: <Go's error>`;
/// then secrets given as [`FAKE_SETTING`] keep their current value, every setting the
/// document does not set takes its default (unknown settings are dropped), and a config
/// that fails validation is 500 `app.save_config.app_error` and changes nothing.
pub fn save_config(cx: &mut Cx<'_>, req: SaveConfigRequest) -> Res<SaveConfigResponse> {
    if req.config_json.is_empty() {
        return Err(cx.required("config_json"));
    }
    let unmarshal_error = |e: String| guard_error(format!("failed to unmarshal config: {e}"));
    let doc: Value = serde_json::from_slice(&req.config_json)
        .map_err(|_| unmarshal_error(go_json_syntax_error(&req.config_json)))?;
    let given = unmarshal(&doc, &default_config()).map_err(unmarshal_error)?;
    let mut config = set_defaults(&given);
    desanitize(&mut config, cx.store.config.config());
    if let Some(id) = invalid_setting(&config) {
        return Err(cx.err(
            500,
            "app.save_config.app_error",
            format!("the configuration is not valid: {id}"),
        ));
    }
    *cx.store.config.config() = config;
    Ok(SaveConfigResponse::default())
}

/// The text of Go's encoding/json syntax error for bytes that are not valid JSON (its
/// scanner's wording: `invalid character 'o' in literal null (expecting 'u')`,
/// `unexpected end of JSON input`, ...).
pub fn go_json_syntax_error(bytes: &[u8]) -> String {
    GoScanner { s: bytes, i: 0 }
        .document()
        .err()
        .unwrap_or_else(|| "invalid JSON".into())
}

/// A recursive reading of JSON that fails with the messages of Go's `encoding/json`
/// scanner.
struct GoScanner<'a> {
    s: &'a [u8],
    i: usize,
}

fn quote_char(c: u8) -> String {
    match c {
        b'\'' => "'\\''".into(),
        b'"' => "'\"'".into(),
        c if c.is_ascii_graphic() || c == b' ' => format!("'{}'", c as char),
        c => format!("'\\x{c:02x}'"),
    }
}

impl GoScanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn invalid(&self, c: u8, context: &str) -> String {
        format!("invalid character {} {context}", quote_char(c))
    }

    fn document(&mut self) -> Result<(), String> {
        self.ws();
        self.value()?;
        self.ws();
        match self.peek() {
            None => Ok(()),
            Some(c) => Err(self.invalid(c, "after top-level value")),
        }
    }

    fn value(&mut self) -> Result<(), String> {
        let Some(c) = self.peek() else {
            return Err("unexpected end of JSON input".into());
        };
        match c {
            b'{' => self.object(),
            b'[' => self.array(),
            b'"' => self.string(),
            b'-' | b'0'..=b'9' => self.number(),
            b't' => self.literal("true"),
            b'f' => self.literal("false"),
            b'n' => self.literal("null"),
            c => Err(self.invalid(c, "looking for beginning of value")),
        }
    }

    fn literal(&mut self, word: &str) -> Result<(), String> {
        for expected in word.bytes() {
            match self.peek() {
                None => return Err("unexpected end of JSON input".into()),
                Some(c) if c == expected => self.i += 1,
                Some(c) => {
                    return Err(self.invalid(
                        c,
                        &format!("in literal {word} (expecting {})", quote_char(expected)),
                    ));
                }
            }
        }
        Ok(())
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        self.i - start
    }

    fn number(&mut self) -> Result<(), String> {
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek() {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            Some(c) => return Err(self.invalid(c, "in numeric literal")),
            None => return Err("unexpected end of JSON input".into()),
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return match self.peek() {
                    Some(c) => Err(self.invalid(c, "after decimal point in numeric literal")),
                    None => Err("unexpected end of JSON input".into()),
                };
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if self.digits() == 0 {
                return match self.peek() {
                    Some(c) => Err(self.invalid(c, "in exponent of numeric literal")),
                    None => Err("unexpected end of JSON input".into()),
                };
            }
        }
        Ok(())
    }

    fn string(&mut self) -> Result<(), String> {
        self.i += 1;
        loop {
            match self.peek() {
                None => return Err("unexpected end of JSON input".into()),
                Some(b'"') => {
                    self.i += 1;
                    return Ok(());
                }
                Some(b'\\') => {
                    self.i += 1;
                    match self.peek() {
                        None => return Err("unexpected end of JSON input".into()),
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => self.i += 1,
                        Some(b'u') => {
                            self.i += 1;
                            for _ in 0..4 {
                                match self.peek() {
                                    None => return Err("unexpected end of JSON input".into()),
                                    Some(c) if c.is_ascii_hexdigit() => self.i += 1,
                                    Some(c) => {
                                        return Err(
                                            self.invalid(c, "in \\u hexadecimal character escape")
                                        );
                                    }
                                }
                            }
                        }
                        Some(c) => return Err(self.invalid(c, "in string escape code")),
                    }
                }
                Some(c) if c < 0x20 => return Err(self.invalid(c, "in string literal")),
                Some(_) => self.i += 1,
            }
        }
    }

    fn array(&mut self) -> Result<(), String> {
        self.i += 1;
        self.ws();
        if self.peek() == Some(b']') {
            self.i += 1;
            return Ok(());
        }
        loop {
            self.ws();
            self.value()?;
            self.ws();
            match self.peek() {
                None => return Err("unexpected end of JSON input".into()),
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(());
                }
                Some(c) => return Err(self.invalid(c, "after array element")),
            }
        }
    }

    fn object(&mut self) -> Result<(), String> {
        self.i += 1;
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(());
        }
        loop {
            self.ws();
            match self.peek() {
                None => return Err("unexpected end of JSON input".into()),
                Some(b'"') => self.string()?,
                Some(c) => {
                    return Err(self.invalid(c, "looking for beginning of object key string"));
                }
            }
            self.ws();
            match self.peek() {
                None => return Err("unexpected end of JSON input".into()),
                Some(b':') => self.i += 1,
                Some(c) => return Err(self.invalid(c, "after object key")),
            }
            self.ws();
            self.value()?;
            self.ws();
            match self.peek() {
                None => return Err("unexpected end of JSON input".into()),
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(());
                }
                Some(c) => return Err(self.invalid(c, "after object key:value pair")),
            }
        }
    }
}

/// `GetPluginConfig`: this plugin's settings as a Struct (empty when it has none, as
/// upstream answers an empty map).
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
/// with a Struct (no merge); a missing Struct is the guard `config is required`.
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
        let mut original = set_defaults(&json!({}));
        *at_mut(&mut original, "SqlSettings.DataSourceReplicas").unwrap() = json!(["r1"]);
        *at_mut(&mut original, "LdapSettings.BindPassword").unwrap() = json!("ldap");
        *at_mut(&mut original, "PluginSettings.Plugins").unwrap() =
            json!({"p": {"Password": "own"}});
        let mut sanitized = original.clone();
        sanitize(&mut sanitized);
        assert_eq!(sanitized["SqlSettings"]["DataSource"], FAKE_SETTING);
        assert_eq!(
            sanitized["SqlSettings"]["DataSourceReplicas"][0],
            FAKE_SETTING
        );
        assert_eq!(sanitized["SqlSettings"]["DriverName"], "postgres");
        assert_eq!(sanitized["EmailSettings"]["SMTPPassword"], "");
        assert_eq!(sanitized["ServiceSettings"]["SplitKey"], FAKE_SETTING);
        assert_eq!(sanitized["LdapSettings"]["BindPassword"], FAKE_SETTING);
        assert_eq!(
            sanitized["PluginSettings"]["Plugins"]["p"]["Password"],
            "own"
        );
        desanitize(&mut sanitized, &original);
        assert_eq!(sanitized, original);
    }

    #[test]
    fn partial_configs_are_filled_with_defaults_and_unknown_keys_dropped() {
        let given = unmarshal(
            &json!({"TeamSettings": {"SiteName": "X", "Nope": 1}, "Unknown": {"a": 1}}),
            &default_config(),
        )
        .unwrap();
        let config = set_defaults(&given);
        assert_eq!(config["TeamSettings"]["SiteName"], "X");
        assert_eq!(config["TeamSettings"]["MaxUsersPerTeam"], 50);
        assert!(config["TeamSettings"].get("Nope").is_none());
        assert!(config.get("Unknown").is_none());
        assert_eq!(config["PluginSettings"]["EnableUploads"], false);
        assert_eq!(
            config["FileSettings"]["PublicLinkSalt"]
                .as_str()
                .unwrap()
                .len(),
            32
        );
        assert_eq!(invalid_setting(&config), None);
        assert!(unmarshal(&json!([1, 2]), &default_config()).is_err());
        assert!(unmarshal(&json!({"TeamSettings": {"SiteName": 5}}), &default_config()).is_err());
    }

    #[test]
    fn go_json_errors() {
        assert_eq!(
            go_json_syntax_error(b"not json"),
            "invalid character 'o' in literal null (expecting 'u')"
        );
        assert_eq!(go_json_syntax_error(b"{"), "unexpected end of JSON input");
        assert_eq!(
            go_json_syntax_error(b"{\"a\" 1}"),
            "invalid character '1' after object key"
        );
        assert_eq!(
            go_json_syntax_error(b"x"),
            "invalid character 'x' looking for beginning of value"
        );
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
