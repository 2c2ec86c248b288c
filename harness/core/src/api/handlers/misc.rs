//! Misc, WebSocket rpcs of the reference PluginAPI server.

use super::prelude::*;

/// This domain's part of the store.
#[derive(Debug, Default)]
pub struct MiscState {}

/// `PublishWebSocketEvent`: send a plugin websocket event to chosen recipients.
pub fn publish_web_socket_event(
    _cx: &mut Cx<'_>,
    _req: PublishWebSocketEventRequest,
) -> Res<PublishWebSocketEventResponse> {
    todo_rpc("PublishWebSocketEvent")
}

/// `PluginHTTP`: make an HTTP request to another plugin (buffered, single-valued headers).
pub fn plugin_http(_cx: &mut Cx<'_>, _req: PluginHttpRequest) -> Res<PluginHttpResponse> {
    todo_rpc("PluginHTTP")
}

/// `GetCloudLimits`: cloud product limits as a JSON blob.
pub fn get_cloud_limits(
    _cx: &mut Cx<'_>,
    _req: GetCloudLimitsRequest,
) -> Res<GetCloudLimitsResponse> {
    todo_rpc("GetCloudLimits")
}

/// `OpenInteractiveDialog`: open an interactive dialog for a trigger id.
pub fn open_interactive_dialog(
    _cx: &mut Cx<'_>,
    _req: OpenInteractiveDialogRequest,
) -> Res<OpenInteractiveDialogResponse> {
    todo_rpc("OpenInteractiveDialog")
}

/// `PublishPluginClusterEvent`: send an event to this plugin on other cluster nodes.
pub fn publish_plugin_cluster_event(
    _cx: &mut Cx<'_>,
    _req: PublishPluginClusterEventRequest,
) -> Res<PublishPluginClusterEventResponse> {
    todo_rpc("PublishPluginClusterEvent")
}

/// `RegisterCollectionAndTopic`: register a collection/topic type for shared data.
pub fn register_collection_and_topic(
    _cx: &mut Cx<'_>,
    _req: RegisterCollectionAndTopicRequest,
) -> Res<RegisterCollectionAndTopicResponse> {
    todo_rpc("RegisterCollectionAndTopic")
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

/// `RolesGrantPermission`: whether any of the roles grants a permission.
pub fn roles_grant_permission(
    _cx: &mut Cx<'_>,
    _req: RolesGrantPermissionRequest,
) -> Res<RolesGrantPermissionResponse> {
    todo_rpc("RolesGrantPermission")
}

/// `SendMail`: send an HTML email.
pub fn send_mail(_cx: &mut Cx<'_>, _req: SendMailRequest) -> Res<SendMailResponse> {
    todo_rpc("SendMail")
}

/// `SendPushNotification`: send a push notification to a user.
pub fn send_push_notification(
    _cx: &mut Cx<'_>,
    _req: SendPushNotificationRequest,
) -> Res<SendPushNotificationResponse> {
    todo_rpc("SendPushNotification")
}
