//! Audit rpcs of the reference PluginAPI server: records are validated and kept in memory,
//! in the order they were logged.

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

/// Validates a record, fills its id and time, and keeps it.
fn log(cx: &mut Cx<'_>, record: Option<AuditRecord>, level: &str) -> Res<()> {
    let mut record = record.ok_or_else(|| cx.required("record"))?;
    if record.event.trim().is_empty() {
        return Err(cx.bad(
            "model.audit_record.is_valid.event.app_error",
            "an audit record needs an event name",
        ));
    }
    if level.trim().is_empty() {
        return Err(cx.bad(
            "model.audit_record.is_valid.level.app_error",
            "an audit level must not be empty",
        ));
    }
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
