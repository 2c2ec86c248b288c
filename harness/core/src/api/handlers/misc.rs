//! Misc, WebSocket rpcs of the reference PluginAPI server: websocket events, inter-plugin
//! HTTP, cloud limits, interactive dialogs, cluster events, shared-data collections,
//! trial licenses, role checks, mail and push notifications. What is "sent" is kept here
//! so reports can show it (and said in the call's host effect).

use std::collections::VecDeque;

use super::prelude::*;

/// How many sent items of each kind are kept.
const KEEP: usize = 1000;

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
    dialogs: VecDeque<OpenedDialog>,
    cluster_events: VecDeque<ClusterEvent>,
    /// The key trigger ids are signed with (made on first use).
    trigger_key: String,
}

fn keep<T>(queue: &mut VecDeque<T>, item: T) {
    if queue.len() == KEEP {
        queue.pop_front();
    }
    queue.push_back(item);
}

/// Go's `base64.StdEncoding`: padded, lenient about trailing bits.
fn go_base64() -> base64::engine::GeneralPurpose {
    base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::RequireCanonical),
    )
}

/// A DER INTEGER holding the unsigned big-endian `bytes`.
fn der_integer(bytes: &[u8]) -> Vec<u8> {
    let mut v: Vec<u8> = bytes.iter().copied().skip_while(|&b| b == 0).collect();
    if v.is_empty() || v[0] & 0x80 != 0 {
        v.insert(0, 0);
    }
    let mut out = vec![0x02, v.len() as u8];
    out.extend(v);
    out
}

/// Reads one DER element of tag `tag` at the start of `data`: its content and the rest.
fn der_element(data: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&t, rest) = data.split_first()?;
    if t != tag {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n || rest[0] == 0 {
            return None;
        }
        let len = rest[..n].iter().fold(0usize, |a, &b| (a << 8) | b as usize);
        if len < 0x80 {
            return None;
        }
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| rest.split_at(len))
}

/// Go's `asn1.Unmarshal` into `struct{ R, S *big.Int }`: a SEQUENCE of two minimally
/// encoded INTEGERs (what follows the sequence is ignored, as upstream ignores it).
fn der_signature(data: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let (seq, _) = der_element(data, 0x30)?;
    let (r, rest) = der_element(seq, 0x02)?;
    let (s, _) = der_element(rest, 0x02)?;
    let minimal = |i: &[u8]| {
        !i.is_empty()
            && !(i.len() > 1
                && ((i[0] == 0 && i[1] & 0x80 == 0) || (i[0] == 0xff && i[1] & 0x80 != 0)))
    };
    (minimal(r) && minimal(s)).then(|| (r.to_vec(), s.to_vec()))
}

impl MiscState {
    fn key(&mut self) -> String {
        if self.trigger_key.is_empty() {
            self.trigger_key = new_id();
        }
        self.trigger_key.clone()
    }

    /// The signature of a trigger id's data (`<client id>:<user id>:<ms>:`) as `(r, s)`.
    /// Upstream signs with the server's ECDSA key; the reference server signs with a
    /// keyed SHA-1 of its own, encoded the same way (a departure no plugin can see).
    fn sign(&mut self, data: &str) -> (Vec<u8>, Vec<u8>) {
        let digest = sha1_smol::Sha1::from(format!("{}:{data}", self.key()))
            .digest()
            .bytes();
        (digest[..10].to_vec(), digest[10..].to_vec())
    }

    /// A fresh trigger id for a user (ExecuteSlashCommand hands these out), in upstream's
    /// form: base64 of `<client id>:<user id>:<ms>:<base64 of the DER signature>`.
    pub fn issue_trigger_id(&mut self, user_id: &str, now: i64) -> String {
        use base64::Engine;
        let data = format!("{}:{user_id}:{now}:", new_id());
        let (r, s) = self.sign(&data);
        let (r, s) = (der_integer(&r), der_integer(&s));
        let mut der = vec![0x30, (r.len() + s.len()) as u8];
        der.extend(r);
        der.extend(s);
        let engine = go_base64();
        engine.encode(format!("{data}{}", engine.encode(der)))
    }

    /// Upstream `model.DecodeAndVerifyTriggerId`: the user id of a valid trigger id, or
    /// the id of the 400 AppError that refuses it.
    fn decode_trigger_id(
        &mut self,
        trigger_id: &str,
        now: i64,
        timeout_ms: i64,
    ) -> Result<String, &'static str> {
        use base64::Engine;
        let engine = go_base64();
        let decoded = engine
            .decode(trigger_id)
            .map_err(|_| "interactive_message.decode_trigger_id.base64_decode_failed")?;
        let text = String::from_utf8_lossy(&decoded).into_owned();
        let split: Vec<&str> = text.split(':').collect();
        let [client, user, timestamp, signature] = split[..] else {
            return Err("interactive_message.decode_trigger_id.missing_data");
        };
        let issued: i64 = timestamp.parse().unwrap_or(0);
        if now.saturating_sub(issued) > timeout_ms {
            return Err("interactive_message.decode_trigger_id.expired");
        }
        let signature = engine
            .decode(signature)
            .map_err(|_| "interactive_message.decode_trigger_id.base64_decode_failed_signature")?;
        let (r, s) = der_signature(&signature)
            .ok_or("interactive_message.decode_trigger_id.signature_decode_failed")?;
        let (want_r, want_s) = self.sign(&format!("{client}:{user}:{timestamp}:"));
        let strip = |v: &[u8]| {
            v.iter()
                .copied()
                .skip_while(|&b| b == 0)
                .collect::<Vec<u8>>()
        };
        if strip(&r) != strip(&want_r) || strip(&s) != strip(&want_s) {
            return Err("interactive_message.decode_trigger_id.verify_signature_failed");
        }
        Ok(user.to_string())
    }

    pub fn ws_events(&self) -> impl Iterator<Item = &WsEvent> {
        self.ws_events.iter()
    }

    pub fn dialogs(&self) -> impl Iterator<Item = &OpenedDialog> {
        self.dialogs.iter()
    }

    pub fn cluster_events(&self) -> impl Iterator<Item = &ClusterEvent> {
        self.cluster_events.iter()
    }
}

/// `PublishWebSocketEvent`: send a plugin websocket event to chosen recipients, named
/// `custom_<plugin id>_<event>` as upstream names plugin events. The reference server has
/// no websocket clients: the event is recorded (never fails). Without a broadcast it goes
/// to everyone (upstream hands a nil broadcast on: see the departures).
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

/// An HTTP answer upstream's `PluginHTTP` makes itself (a body, no headers).
fn http_answer(status: i32, text: &str) -> PluginHttpResponse {
    PluginHttpResponse {
        status_code: status,
        body: text.as_bytes().to_vec(),
        ..Default::default()
    }
}

/// Go's `http.NotFound`: 404 with its plain-text body and headers.
fn http_not_found() -> PluginHttpResponse {
    PluginHttpResponse {
        status_code: 404,
        headers: [
            (
                "Content-Type".to_string(),
                "text/plain; charset=utf-8".to_string(),
            ),
            ("X-Content-Type-Options".to_string(), "nosniff".to_string()),
        ]
        .into(),
        body: b"404 page not found\n".to_vec(),
        ..Default::default()
    }
}

/// Whether `b` may appear in an HTTP method (an RFC 7230 token character).
fn token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// The error Go's `url.Parse` reports for `url`, for the cases the reference server
/// checks: control characters, and `%` escapes that are not two hex digits before the
/// query.
fn go_url_error(url: &str) -> Option<String> {
    if url.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return Some("net/url: invalid control character in URL".into());
    }
    let head = url.split(['?', '#']).next().unwrap_or_default().as_bytes();
    let mut i = 0;
    while i < head.len() {
        if head[i] == b'%' {
            let ok = head.len() > i + 2
                && head[i + 1].is_ascii_hexdigit()
                && head[i + 2].is_ascii_hexdigit();
            if !ok {
                let end = (i + 3).min(head.len());
                let escape = String::from_utf8_lossy(&head[i..end]);
                return Some(format!("invalid URL escape {escape:?}"));
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    None
}

/// `PluginHTTP`: an HTTP request to another plugin, addressed as `/<plugin id>/<path>`.
/// As upstream: a request `http.NewRequest` refuses (an invalid method, an unparsable URL)
/// is the guard-like INVALID_ARGUMENT `failed to create request: <Go's error>`; a URL
/// with fewer than three `/`-separated parts (an empty one included) or no plugin id is an
/// HTTP 400 answer; a plugin without hooks (not installed, not enabled, or without a
/// server part) is Go's `http.NotFound` (404). The reference server cannot reach a
/// plugin's ServeHTTP from an API call, so a request to a plugin with hooks is 501.
pub fn plugin_http(cx: &mut Cx<'_>, req: PluginHttpRequest) -> Res<PluginHttpResponse> {
    if !req.method.is_empty() && !req.method.bytes().all(token_char) {
        return Err(guard_error(format!(
            "failed to create request: net/http: invalid method {:?}",
            req.method
        )));
    }
    if let Some(e) = go_url_error(&req.url) {
        return Err(guard_error(format!(
            "failed to create request: parse {:?}: {e}",
            req.url
        )));
    }
    let mut path = req.url.split(['?', '#']).next().unwrap_or_default();
    if let Some((_, rest)) = path.split_once("://") {
        path = rest.find('/').map_or("", |i| &rest[i..]);
    }
    let split: Vec<&str> = path.splitn(3, '/').collect();
    if split.len() != 3 {
        return Ok(http_answer(
            400,
            "Not enough URL. Form of URL should be /<pluginid>/*",
        ));
    }
    let plugin = split[1];
    if plugin.is_empty() {
        return Ok(http_answer(
            400,
            "No plugin specified. Form of URL should be /<pluginid>/*",
        ));
    }
    if !cx.store.config.flag("PluginSettings.Enable") {
        let mut answer = http_answer(
            501,
            "{\"id\":\"app.plugin.disabled.app_error\",\"status_code\":501}",
        );
        answer
            .headers
            .insert("Content-Type".into(), "application/json".into());
        return Ok(answer);
    }
    let caller = cx.plugin_id.to_string();
    if !cx.store.plugins.has_hooks(plugin, &caller) {
        return Ok(http_not_found());
    }
    Ok(http_answer(
        501,
        &format!(
            "{} {}: the reference server does not forward requests to plugin {plugin:?}\n",
            if req.method.is_empty() {
                "GET"
            } else {
                &req.method
            },
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

/// `OpenInteractiveDialog`: open a dialog for a trigger id. The trigger id is decoded and
/// verified as upstream's `DecodeAndVerifyTriggerId` does (a request without a dialog is
/// an empty one, so its trigger id is missing); the id must be younger than
/// `ServiceSettings.OutgoingIntegrationRequestsTimeout`. The dialog checks that follow
/// (URL, title, element names and types) are the reference server's own.
pub fn open_interactive_dialog(
    cx: &mut Cx<'_>,
    req: OpenInteractiveDialogRequest,
) -> Res<OpenInteractiveDialogResponse> {
    let request = req.dialog.unwrap_or_default();
    let timeout_ms = cx
        .store
        .config
        .setting("ServiceSettings.OutgoingIntegrationRequestsTimeout")
        .as_i64()
        .unwrap_or(30)
        * 1000;
    let now = cx.now;
    let user_id = cx
        .store
        .misc
        .decode_trigger_id(&request.trigger_id, now, timeout_ms)
        .map_err(|id| cx.bad(id, "the trigger id is not valid"))?;
    if request.url.is_empty() {
        return Err(cx.bad(
            "interactive_message.open_dialog.missing_url.app_error",
            "the dialog needs a submission URL",
        ));
    }
    let dialog = request.dialog.clone().unwrap_or_default();
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

/// `PublishPluginClusterEvent`: send an event to this plugin on other cluster nodes.
/// Nothing is validated, and upstream's converter keeps only the target id of the
/// options. The reference server is a single node without a cluster, where upstream
/// returns at once: the event is recorded and goes nowhere.
pub fn publish_plugin_cluster_event(
    cx: &mut Cx<'_>,
    req: PublishPluginClusterEventRequest,
) -> Res<PublishPluginClusterEventResponse> {
    let event = req.event.unwrap_or_default();
    let opts = req.opts.unwrap_or_default();
    cx.effect = Some(format!(
        "cluster event {:?} (single node: sent nowhere)",
        event.id
    ));
    let event = ClusterEvent {
        plugin_id: cx.plugin_id.to_string(),
        event,
        send_type: String::new(),
        target_id: opts.target_id,
        at: cx.now,
    };
    keep(&mut cx.store.misc.cluster_events, event);
    Ok(PublishPluginClusterEventResponse::default())
}

/// `RegisterCollectionAndTopic`: no longer supported upstream, which accepts every call
/// and does nothing.
pub fn register_collection_and_topic(
    _cx: &mut Cx<'_>,
    _req: RegisterCollectionAndTopicRequest,
) -> Res<RegisterCollectionAndTopicResponse> {
    Ok(RegisterCollectionAndTopicResponse::default())
}

/// `RequestTrialLicense`: request and install a trial license, refused as upstream's
/// `Channels.RequestTrialLicense` refuses: restricted system admin (403), terms not
/// accepted, no users (400), unknown requester (404). Upstream then asks the Mattermost
/// customer portal over the network; the reference server installs a licence of its own.
pub fn request_trial_license(
    cx: &mut Cx<'_>,
    req: RequestTrialLicenseRequest,
) -> Res<RequestTrialLicenseResponse> {
    if cx
        .store
        .config
        .flag("ExperimentalSettings.RestrictSystemAdmin")
    {
        return Err(cx.forbidden(
            "api.restricted_system_admin",
            "system admin actions are restricted (ExperimentalSettings.RestrictSystemAdmin)",
        ));
    }
    if !req.terms_accepted {
        return Err(cx.bad(
            "api.license.request-trial.bad-request.terms-not-accepted",
            "the trial terms must be accepted",
        ));
    }
    if req.users == 0 {
        return Err(cx.bad(
            "api.license.request-trial.bad-request",
            "a trial license needs a number of users",
        ));
    }
    cx.user(&req.requester_id)?;
    if req.users < 0 {
        return Err(cx.bad(
            "api.license.request-trial.bad-request",
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

/// `RolesGrantPermission`: whether any of the roles' own permission lists holds the
/// permission (upstream `App.RolesGrantPermission`: no implied roles). `system_admin`'s
/// list holds every permission.
pub fn roles_grant_permission(
    _cx: &mut Cx<'_>,
    req: RolesGrantPermissionRequest,
) -> Res<RolesGrantPermissionResponse> {
    let permission = req.permission_id.as_str();
    let has_permission = req.role_names.iter().any(|role| {
        role == "system_admin"
            || ROLE_PERMISSIONS
                .iter()
                .any(|(name, perms)| name == role && perms.contains(&permission))
    });
    Ok(RolesGrantPermissionResponse {
        has_permission,
        ..Default::default()
    })
}

/// `SendMail`: send an HTML email. Recipient, subject and body are required (400 each,
/// in that order); with `EmailSettings.SendEmailNotifications` off the mail is dropped
/// and the call succeeds; otherwise the reference server, which has no mail server to
/// reach, fails as upstream fails to send: 500 `plugin_api.send_mail.missing_htmlbody`.
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
    if !cx.store.config.flag("EmailSettings.SendEmailNotifications") {
        cx.effect = Some(format!(
            "mail to {:?} dropped (EmailSettings.SendEmailNotifications is off)",
            req.to
        ));
        return Ok(SendMailResponse::default());
    }
    let server = format!(
        "{}:{}",
        cx.store
            .config
            .setting("EmailSettings.SMTPServer")
            .as_str()
            .unwrap_or_default(),
        cx.store
            .config
            .setting("EmailSettings.SMTPPort")
            .as_str()
            .unwrap_or_default()
    );
    Err(cx.err(
        500,
        "plugin_api.send_mail.missing_htmlbody",
        format!("the mail could not be sent: no SMTP server at {server}"),
    ))
}

/// `SendPushNotification`: push a notification to every mobile session of a user. A
/// missing notification is the guard `notification is required`; the user is not looked
/// up (an unknown or deactivated user has no mobile session, so nothing is sent), as
/// upstream. The reference server's users have no mobile sessions.
pub fn send_push_notification(
    cx: &mut Cx<'_>,
    req: SendPushNotificationRequest,
) -> Res<SendPushNotificationResponse> {
    req.notification
        .ok_or_else(|| cx.required("notification"))?;
    cx.effect = Some(format!(
        "push notification for user {:?}: no mobile session, nothing sent",
        req.user_id
    ));
    Ok(SendPushNotificationResponse::default())
}

#[cfg(test)]
mod tests {
    use super::super::Store;
    use super::*;
    use base64::Engine;

    fn cx(store: &mut Store) -> Cx<'_> {
        Cx {
            store,
            plugin_id: "com.example.p",
            now: 1_000_000,
            rpc: "OpenInteractiveDialog",
            effect: None,
        }
    }

    #[test]
    fn trigger_ids_are_decoded_as_upstream_decodes_them() {
        let mut store = Store::default();
        let now = 1_700_000_000_000;
        let issued = store.misc.issue_trigger_id("u1", now);
        let b64 = |s: &str| go_base64().encode(s);
        let misc = &mut store.misc;
        assert_eq!(
            misc.decode_trigger_id(&issued, now + 100, 30_000),
            Ok("u1".into())
        );
        let cases = [
            (
                "junk!",
                "interactive_message.decode_trigger_id.base64_decode_failed",
            ),
            (
                &b64("junk!"),
                "interactive_message.decode_trigger_id.missing_data",
            ),
            ("", "interactive_message.decode_trigger_id.missing_data"),
            (
                &b64("some-trigger-id:some-user-id:1234567890:junksignature"),
                "interactive_message.decode_trigger_id.expired",
            ),
            (
                &b64("some-trigger-id:some-user-id:12345678900000:junk!"),
                "interactive_message.decode_trigger_id.base64_decode_failed_signature",
            ),
            (
                &b64("some-trigger-id:some-user-id:12345678900000:junk"),
                "interactive_message.decode_trigger_id.signature_decode_failed",
            ),
            (
                &b64("some-trigger-id:some-user-id:12345678900000:MAYCAQECAQE="),
                "interactive_message.decode_trigger_id.verify_signature_failed",
            ),
        ];
        for (trigger, id) in cases {
            assert_eq!(
                misc.decode_trigger_id(trigger, now + 100, 30_000),
                Err(id),
                "{trigger}"
            );
        }
        assert_eq!(
            misc.decode_trigger_id(&issued, now + 30_001, 30_000),
            Err("interactive_message.decode_trigger_id.expired")
        );
    }

    #[test]
    fn plugin_http_refuses_as_go_does() {
        let mut store = Store::default();
        let mut cx = cx(&mut store);
        let req = |method: &str, url: &str| PluginHttpRequest {
            method: method.into(),
            url: url.into(),
            ..Default::default()
        };
        let e = plugin_http(&mut cx, req("GE T", "/p/x")).unwrap_err();
        assert_eq!(
            e.message,
            "failed to create request: net/http: invalid method \"GE T\""
        );
        let e = plugin_http(&mut cx, req("GET", "/p/%zz")).unwrap_err();
        assert_eq!(
            e.message,
            "failed to create request: parse \"/p/%zz\": invalid URL escape \"%zz\""
        );
        for url in ["", "/", "no-leading-slash", "/p"] {
            assert_eq!(
                plugin_http(&mut cx, req("", url)).unwrap().status_code,
                400,
                "{url}"
            );
        }
        let nf = plugin_http(&mut cx, req("GET", "/nosuch/x")).unwrap();
        assert_eq!(
            (nf.status_code, nf.body.as_slice()),
            (404, &b"404 page not found\n"[..])
        );
    }
}
