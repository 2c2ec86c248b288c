//! Misc, WebSocket rpcs of the reference PluginAPI server: websocket events, inter-plugin
//! HTTP, cloud limits, interactive dialogs, cluster events, shared-data collections,
//! trial licenses, role checks, mail and push notifications. What is "sent" is kept here
//! so reports can show it.

use std::collections::{BTreeMap, VecDeque};

use super::prelude::*;

/// How many sent items of each kind are kept.
const KEEP: usize = 1000;

/// How long a trigger id stays usable (upstream `InteractiveDialogTriggerTimeoutMilliseconds`).
const TRIGGER_TIMEOUT_MS: i64 = 3 * 60 * 1000;

/// A websocket event a plugin published.
#[derive(Debug, Clone, PartialEq)]
pub struct WsEvent {
    pub plugin_id: String,
    /// `custom_<plugin id>_<event>`, as upstream names plugin events.
    pub event: String,
    pub payload: Option<prost_types::Struct>,
    pub broadcast: Option<WebsocketBroadcast>,
    pub at: i64,
}

/// A mail a plugin sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub plugin_id: String,
    pub to: String,
    pub subject: String,
    pub html_body: String,
    pub at: i64,
}

/// A push notification a plugin sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Push {
    pub plugin_id: String,
    pub user_id: String,
    pub notification: PushNotification,
    pub at: i64,
}

/// A dialog a plugin opened.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenedDialog {
    pub plugin_id: String,
    pub user_id: String,
    pub request: OpenDialogRequest,
    pub at: i64,
}

/// A cluster event a plugin published (a single-node server delivers it nowhere).
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterEvent {
    pub plugin_id: String,
    pub event: PluginClusterEvent,
    pub send_type: String,
    pub target_id: String,
    pub at: i64,
}

/// This domain's part of the store.
#[derive(Debug, Default)]
pub struct MiscState {
    ws_events: VecDeque<WsEvent>,
    mails: VecDeque<Mail>,
    pushes: VecDeque<Push>,
    dialogs: VecDeque<OpenedDialog>,
    cluster_events: VecDeque<ClusterEvent>,
    /// Trigger ids issued by ExecuteSlashCommand: id -> (user id, issued at).
    triggers: BTreeMap<String, (String, i64)>,
    /// Shared-data collection type -> owning plugin id.
    collections: BTreeMap<String, String>,
    /// Topic type -> collection type.
    topics: BTreeMap<String, String>,
}

fn keep<T>(queue: &mut VecDeque<T>, item: T) {
    if queue.len() == KEEP {
        queue.pop_front();
    }
    queue.push_back(item);
}

impl MiscState {
    /// A fresh trigger id for a user (ExecuteSlashCommand hands these out).
    pub fn issue_trigger_id(&mut self, user_id: &str, now: i64) -> String {
        self.triggers
            .retain(|_, (_, at)| now - *at <= TRIGGER_TIMEOUT_MS);
        let id = format!("{}:{}:{}", new_id(), user_id, now);
        self.triggers.insert(id.clone(), (user_id.to_string(), now));
        id
    }

    pub fn ws_events(&self) -> impl Iterator<Item = &WsEvent> {
        self.ws_events.iter()
    }

    pub fn mails(&self) -> impl Iterator<Item = &Mail> {
        self.mails.iter()
    }

    pub fn pushes(&self) -> impl Iterator<Item = &Push> {
        self.pushes.iter()
    }

    pub fn dialogs(&self) -> impl Iterator<Item = &OpenedDialog> {
        self.dialogs.iter()
    }

    pub fn cluster_events(&self) -> impl Iterator<Item = &ClusterEvent> {
        self.cluster_events.iter()
    }
}

/// `PublishWebSocketEvent`: send a plugin websocket event to chosen recipients. The
/// reference server has no websocket clients: the event is recorded (never fails).
pub fn publish_web_socket_event(
    cx: &mut Cx<'_>,
    req: PublishWebSocketEventRequest,
) -> Res<PublishWebSocketEventResponse> {
    let event = WsEvent {
        plugin_id: cx.plugin_id.to_string(),
        event: format!("custom_{}_{}", cx.plugin_id, req.event),
        payload: req.payload,
        broadcast: req.broadcast,
        at: cx.now,
    };
    cx.effect = Some(format!(
        "websocket event {} broadcast {:?}",
        event.event, event.broadcast
    ));
    keep(&mut cx.store.misc.ws_events, event);
    Ok(PublishWebSocketEventResponse::default())
}

fn http_answer(status: i32, text: &str) -> PluginHttpResponse {
    PluginHttpResponse {
        status_code: status,
        headers: [(
            "Content-Type".to_string(),
            "text/plain; charset=utf-8".to_string(),
        )]
        .into(),
        body: format!("{text}\n").into_bytes(),
        ..Default::default()
    }
}

/// `PluginHTTP`: an HTTP request to another plugin, addressed as `/<plugin id>/<path>`.
/// Failures are HTTP answers, never AppErrors: a URL that names no plugin is 400, a plugin
/// that is not installed or not enabled is 404. The reference server cannot reach a
/// plugin's ServeHTTP from an API call, so a request to an active plugin is 501.
pub fn plugin_http(cx: &mut Cx<'_>, req: PluginHttpRequest) -> Res<PluginHttpResponse> {
    if req.url.is_empty() {
        return Err(cx.required("url"));
    }
    let method = if req.method.is_empty() {
        "GET".to_string()
    } else {
        req.method.to_uppercase()
    };
    if !method.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(cx.bad(
            "plugin_api.plugin_http.method.app_error",
            format!("invalid HTTP method {:?}", req.method),
        ));
    }
    let path = req.url.split(['?', '#']).next().unwrap_or_default();
    let Some(rest) = path.strip_prefix('/') else {
        return Ok(http_answer(
            400,
            "the URL must be a path of the form /<plugin id>/...",
        ));
    };
    let plugin = rest.split('/').next().unwrap_or_default();
    if plugin.is_empty() {
        return Ok(http_answer(400, "the URL names no plugin"));
    }
    let caller = cx.plugin_id.to_string();
    if !cx.store.plugins.is_active(plugin, &caller) {
        return Ok(http_answer(
            404,
            &format!("plugin {plugin:?} is not installed or not enabled"),
        ));
    }
    Ok(http_answer(
        501,
        &format!(
            "{method} {}: the reference server does not forward requests to plugin {plugin:?}",
            req.url
        ),
    ))
}

/// `GetCloudLimits`: cloud product limits as a JSON blob; the reference server is not a
/// cloud server, so the limits are an empty object.
pub fn get_cloud_limits(
    _cx: &mut Cx<'_>,
    _req: GetCloudLimitsRequest,
) -> Res<GetCloudLimitsResponse> {
    Ok(GetCloudLimitsResponse {
        limits_json: b"{}".to_vec(),
        ..Default::default()
    })
}

const DIALOG_ELEMENT_TYPES: &[&str] = &["text", "textarea", "select", "bool", "radio"];
const DIALOG_TITLE_MAX_RUNES: usize = 24;

/// `OpenInteractiveDialog`: open a dialog for a trigger id issued by ExecuteSlashCommand
/// (unknown ids and ids older than 3 minutes are 400), with a URL and a valid dialog.
pub fn open_interactive_dialog(
    cx: &mut Cx<'_>,
    req: OpenInteractiveDialogRequest,
) -> Res<OpenInteractiveDialogResponse> {
    let request = req.dialog.ok_or_else(|| cx.required("dialog"))?;
    if request.trigger_id.is_empty() {
        return Err(cx.bad(
            "interactive_message.decode_trigger_id.missing_data",
            "the trigger id is missing",
        ));
    }
    let Some((user_id, issued)) = cx.store.misc.triggers.get(&request.trigger_id).cloned() else {
        return Err(cx.bad(
            "interactive_message.decode_trigger_id.signature_decode_failed",
            format!(
                "the trigger id {:?} was not issued by this server",
                request.trigger_id
            ),
        ));
    };
    if cx.now - issued > TRIGGER_TIMEOUT_MS {
        return Err(cx.bad(
            "interactive_message.decode_trigger_id.expired",
            "the trigger id has expired",
        ));
    }
    if request.url.is_empty() {
        return Err(cx.bad(
            "interactive_message.open_dialog.missing_url.app_error",
            "the dialog needs a submission URL",
        ));
    }
    let dialog = request
        .dialog
        .as_ref()
        .ok_or_else(|| cx.required("dialog.dialog"))?;
    let title_len = dialog.title.chars().count();
    if title_len == 0 || title_len > DIALOG_TITLE_MAX_RUNES {
        return Err(cx.bad(
            "interactive_message.open_dialog.title.app_error",
            format!("the dialog title must be 1 to {DIALOG_TITLE_MAX_RUNES} characters"),
        ));
    }
    let mut names = std::collections::BTreeSet::new();
    for element in &dialog.elements {
        if element.name.is_empty() || !names.insert(element.name.as_str()) {
            return Err(cx.bad(
                "interactive_message.open_dialog.element_name.app_error",
                format!(
                    "element names must be present and unique, got {:?}",
                    element.name
                ),
            ));
        }
        if !DIALOG_ELEMENT_TYPES.contains(&element.r#type.as_str()) {
            return Err(cx.bad(
                "interactive_message.open_dialog.element_type.app_error",
                format!(
                    "element {:?} has an unknown type {:?}",
                    element.name, element.r#type
                ),
            ));
        }
    }
    let opened = OpenedDialog {
        plugin_id: cx.plugin_id.to_string(),
        user_id,
        request,
        at: cx.now,
    };
    keep(&mut cx.store.misc.dialogs, opened);
    Ok(OpenInteractiveDialogResponse::default())
}

/// `PublishPluginClusterEvent`: send an event to this plugin on other cluster nodes. The
/// reference server is a single node: a valid event is recorded and goes nowhere.
pub fn publish_plugin_cluster_event(
    cx: &mut Cx<'_>,
    req: PublishPluginClusterEventRequest,
) -> Res<PublishPluginClusterEventResponse> {
    let event = req.event.ok_or_else(|| cx.required("event"))?;
    if event.id.is_empty() {
        return Err(cx.required("event.id"));
    }
    let opts = req.opts.unwrap_or_default();
    if !matches!(opts.send_type.as_str(), "" | "reliable" | "best_effort") {
        return Err(cx.bad(
            "plugin_api.publish_plugin_cluster_event.send_type.app_error",
            format!(
                "send_type must be \"reliable\" or \"best_effort\", got {:?}",
                opts.send_type
            ),
        ));
    }
    let event = ClusterEvent {
        plugin_id: cx.plugin_id.to_string(),
        event,
        send_type: if opts.send_type.is_empty() {
            "best_effort".into()
        } else {
            opts.send_type
        },
        target_id: opts.target_id,
        at: cx.now,
    };
    keep(&mut cx.store.misc.cluster_events, event);
    Ok(PublishPluginClusterEventResponse::default())
}

/// `RegisterCollectionAndTopic`: register a collection type (owned by the first plugin
/// that registers it) and a topic type (bound to one collection type). Re-registering the
/// same pair is fine; another plugin's collection or a topic of another collection is 400.
pub fn register_collection_and_topic(
    cx: &mut Cx<'_>,
    req: RegisterCollectionAndTopicRequest,
) -> Res<RegisterCollectionAndTopicResponse> {
    if req.collection_type.is_empty() {
        return Err(cx.required("collection_type"));
    }
    if req.topic_type.is_empty() {
        return Err(cx.required("topic_type"));
    }
    let misc = &cx.store.misc;
    if let Some(owner) = misc.collections.get(&req.collection_type)
        && owner != cx.plugin_id
    {
        return Err(cx.bad(
            "app.collection.add_collection.exists.app_error",
            format!(
                "collection type {:?} is registered by plugin {owner:?}",
                req.collection_type
            ),
        ));
    }
    if let Some(collection) = misc.topics.get(&req.topic_type)
        && *collection != req.collection_type
    {
        return Err(cx.bad(
            "app.collection.add_topic.exists.app_error",
            format!(
                "topic type {:?} belongs to collection type {collection:?}",
                req.topic_type
            ),
        ));
    }
    let plugin = cx.plugin_id.to_string();
    let misc = &mut cx.store.misc;
    misc.collections.insert(req.collection_type.clone(), plugin);
    misc.topics.insert(req.topic_type, req.collection_type);
    Ok(RegisterCollectionAndTopicResponse::default())
}

/// `RequestTrialLicense`: request and install a trial license.
pub fn request_trial_license(
    cx: &mut Cx<'_>,
    req: RequestTrialLicenseRequest,
) -> Res<RequestTrialLicenseResponse> {
    if !req.terms_accepted {
        return Err(cx.bad(
            "api.license.request_trial_license.terms_not_accepted.app_error",
            "the trial terms must be accepted",
        ));
    }
    if req.users <= 0 {
        return Err(cx.bad(
            "api.license.request_trial_license.users.app_error",
            "a trial license needs a positive number of users",
        ));
    }
    let license = serde_json::json!({
        "id": new_id(),
        "issued_at": cx.now,
        "starts_at": cx.now,
        "expires_at": cx.now + 30 * 24 * 3600 * 1000,
        "customer": {"name": "plugin-conformance trial"},
        "features": {"users": req.users},
        "sku_short_name": "enterprise",
        "is_trial": true,
    });
    cx.store
        .server
        .set_license(license.to_string().into_bytes());
    Ok(RequestTrialLicenseResponse::default())
}

/// `RolesGrantPermission`: whether any of the roles grants a permission (never fails).
pub fn roles_grant_permission(
    _cx: &mut Cx<'_>,
    req: RolesGrantPermissionRequest,
) -> Res<RolesGrantPermissionResponse> {
    Ok(RolesGrantPermissionResponse {
        has_permission: roles_grant(&req.role_names.join(" "), &req.permission_id),
        ..Default::default()
    })
}

/// `SendMail`: send an HTML email (recorded). Recipient, subject and body are required,
/// and the recipient must be a valid address.
pub fn send_mail(cx: &mut Cx<'_>, req: SendMailRequest) -> Res<SendMailResponse> {
    if req.to.is_empty() {
        return Err(cx.bad(
            "plugin_api.send_mail.missing_to",
            "the recipient is required",
        ));
    }
    if req.subject.is_empty() {
        return Err(cx.bad(
            "plugin_api.send_mail.missing_subject",
            "the subject is required",
        ));
    }
    if req.html_body.is_empty() {
        return Err(cx.bad(
            "plugin_api.send_mail.missing_htmlbody",
            "the HTML body is required",
        ));
    }
    if !valid_email(&req.to) {
        return Err(cx.bad(
            "plugin_api.send_mail.invalid_to",
            format!("{:?} is not a valid email address", req.to),
        ));
    }
    let mail = Mail {
        plugin_id: cx.plugin_id.to_string(),
        to: req.to,
        subject: req.subject,
        html_body: req.html_body,
        at: cx.now,
    };
    keep(&mut cx.store.misc.mails, mail);
    Ok(SendMailResponse::default())
}

/// `SendPushNotification`: send a push notification to an existing, active user
/// (recorded).
pub fn send_push_notification(
    cx: &mut Cx<'_>,
    req: SendPushNotificationRequest,
) -> Res<SendPushNotificationResponse> {
    let notification = req
        .notification
        .ok_or_else(|| cx.required("notification"))?;
    let user = cx.user(&req.user_id)?;
    if user.delete_at != 0 {
        return Err(cx.bad(
            "api.push_notification.user_deactivated.app_error",
            format!("user {:?} is deactivated", req.user_id),
        ));
    }
    let push = Push {
        plugin_id: cx.plugin_id.to_string(),
        user_id: req.user_id,
        notification,
        at: cx.now,
    };
    keep(&mut cx.store.misc.pushes, push);
    Ok(SendPushNotificationResponse::default())
}

#[cfg(test)]
mod tests {
    use super::super::Store;
    use super::*;

    #[test]
    fn sent_items_are_recorded() {
        let mut store = Store::default();
        let mut cx = Cx {
            store: &mut store,
            plugin_id: "com.example.p",
            now: 7,
            rpc: "SendMail",
            effect: None,
        };
        send_mail(
            &mut cx,
            SendMailRequest {
                to: "a@example.com".into(),
                subject: "s".into(),
                html_body: "<p>b</p>".into(),
            },
        )
        .unwrap();
        assert!(
            send_mail(
                &mut cx,
                SendMailRequest {
                    to: "nope".into(),
                    subject: "s".into(),
                    html_body: "b".into(),
                },
            )
            .is_err()
        );
        publish_web_socket_event(
            &mut cx,
            PublishWebSocketEventRequest {
                event: "ev".into(),
                ..Default::default()
            },
        )
        .unwrap();
        let mails: Vec<&Mail> = store.misc.mails().collect();
        assert_eq!(mails.len(), 1);
        assert_eq!(mails[0].to, "a@example.com");
        assert_eq!(mails[0].at, 7);
        let events: Vec<&WsEvent> = store.misc.ws_events().collect();
        assert_eq!(events[0].event, "custom_com.example.p_ev");
    }
}
