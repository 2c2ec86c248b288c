//! Audit rpcs of the reference PluginAPI server: records are kept in memory, in the order
//! they were logged; as upstream's Go methods, they never fail.

// Every handler returns `Res<T>` = `Result<T, AppError>`; AppError is the wire type.
#![allow(clippy::result_large_err)]

use super::prelude::*;

/// The level `LogAuditRec` records at (upstream's `LevelAPI`).
pub const DEFAULT_AUDIT_LEVEL: &str = "audit-api";

/// One logged record with the plugin that logged it and the level it was logged at.
#[derive(Debug, Clone)]
pub struct LoggedAudit {
    pub plugin_id: String,
    pub level: String,
    pub record: AuditRecord,
}

/// This domain's part of the store.
#[derive(Debug, Default)]
pub struct AuditState {
    /// Every accepted record, oldest first.
    pub records: Vec<LoggedAudit>,
}

/// Keeps a record with its id, time and level filled. Upstream's Go methods return
/// nothing, so a plugin never sees a failure: a missing record is ignored, and records
/// are not validated (SPEC §24.7).
fn log(cx: &mut Cx<'_>, record: Option<AuditRecord>, level: &str) -> Res<()> {
    let Some(mut record) = record else {
        cx.effect = Some("audit record: none given, nothing logged".into());
        return Ok(());
    };
    if record.id.is_empty() {
        record.id = new_id();
    }
    if record.create_at == 0 {
        record.create_at = cx.now;
    }
    record.level = level.to_string();
    if record.status.is_empty() {
        record.status = "attempt".into();
    }
    cx.effect = Some(format!(
        "audit record {:?} status {} at level {level}",
        record.event, record.status
    ));
    let plugin_id = cx.plugin_id.to_string();
    cx.store.audit.records.push(LoggedAudit {
        plugin_id,
        level: level.to_string(),
        record,
    });
    Ok(())
}

/// `LogAuditRec`: write an audit record.
pub fn log_audit_rec(cx: &mut Cx<'_>, req: LogAuditRecRequest) -> Res<LogAuditRecResponse> {
    let level = req
        .record
        .as_ref()
        .map(|r| r.level.clone())
        .filter(|l| !l.is_empty())
        .unwrap_or_else(|| DEFAULT_AUDIT_LEVEL.to_string());
    log(cx, req.record, &level)?;
    Ok(LogAuditRecResponse::default())
}

/// `LogAuditRecWithLevel`: write an audit record at a level.
pub fn log_audit_rec_with_level(
    cx: &mut Cx<'_>,
    req: LogAuditRecWithLevelRequest,
) -> Res<LogAuditRecWithLevelResponse> {
    log(cx, req.record, &req.level)?;
    Ok(LogAuditRecWithLevelResponse::default())
}
