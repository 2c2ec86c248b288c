//! Server rpcs: version, license, enterprise readiness, install date, diagnostic and
//! telemetry ids. Values are fixed per store, so repeated calls agree.

use super::prelude::*;

/// The server version the reference server reports.
pub const SERVER_VERSION: &str = "10.11.0";

#[derive(Debug, Default)]
pub struct ServerState {
    install_date: i64,
    diagnostic_id: String,
    license_json: Vec<u8>,
}

impl ServerState {
    fn init(&mut self, now: i64) {
        if self.install_date == 0 {
            self.install_date = now;
            self.diagnostic_id = new_id();
        }
    }

    /// Installs a license (RequestTrialLicense).
    pub fn set_license(&mut self, json: Vec<u8>) {
        self.license_json = json;
    }

    pub fn licensed(&self) -> bool {
        !self.license_json.is_empty()
    }
}

/// `GetLicense`: current license as a JSON blob (empty without a license: a session
/// starts unlicensed, as a freshly installed server).
pub fn get_license(cx: &mut Cx<'_>, _req: GetLicenseRequest) -> Res<GetLicenseResponse> {
    Ok(GetLicenseResponse {
        license_json: cx.store.server.license_json.clone(),
        ..Default::default()
    })
}

/// `IsEnterpriseReady`: whether the build is enterprise-capable. Upstream answers its
/// build constant (`model.BuildEnterpriseReady`); the reference server stands for a
/// Team Edition build, which answers false.
pub fn is_enterprise_ready(
    _cx: &mut Cx<'_>,
    _req: IsEnterpriseReadyRequest,
) -> Res<IsEnterpriseReadyResponse> {
    Ok(IsEnterpriseReadyResponse {
        is_enterprise_ready: false,
        ..Default::default()
    })
}

/// `GetServerVersion`: server version string.
pub fn get_server_version(
    _cx: &mut Cx<'_>,
    _req: GetServerVersionRequest,
) -> Res<GetServerVersionResponse> {
    Ok(GetServerVersionResponse {
        version: SERVER_VERSION.to_string(),
        ..Default::default()
    })
}

/// `GetSystemInstallDate`: installation timestamp.
pub fn get_system_install_date(
    cx: &mut Cx<'_>,
    _req: GetSystemInstallDateRequest,
) -> Res<GetSystemInstallDateResponse> {
    let now = cx.now;
    cx.store.server.init(now);
    Ok(GetSystemInstallDateResponse {
        install_date: cx.store.server.install_date,
        ..Default::default()
    })
}

/// `GetDiagnosticId`: diagnostic id.
pub fn get_diagnostic_id(
    cx: &mut Cx<'_>,
    _req: GetDiagnosticIdRequest,
) -> Res<GetDiagnosticIdResponse> {
    let now = cx.now;
    cx.store.server.init(now);
    Ok(GetDiagnosticIdResponse {
        diagnostic_id: cx.store.server.diagnostic_id.clone(),
        ..Default::default()
    })
}

/// `GetTelemetryId`: telemetry id (the same id as the diagnostic id, as upstream).
pub fn get_telemetry_id(
    cx: &mut Cx<'_>,
    _req: GetTelemetryIdRequest,
) -> Res<GetTelemetryIdResponse> {
    let now = cx.now;
    cx.store.server.init(now);
    Ok(GetTelemetryIdResponse {
        telemetry_id: cx.store.server.diagnostic_id.clone(),
        ..Default::default()
    })
}
