//! Audit rpcs of the reference PluginAPI server.

use super::prelude::*;

/// This domain's part of the store.
#[derive(Debug, Default)]
pub struct AuditState {}

/// `LogAuditRec`: write an audit record.
pub fn log_audit_rec(_cx: &mut Cx<'_>, _req: LogAuditRecRequest) -> Res<LogAuditRecResponse> {
    todo_rpc("LogAuditRec")
}

/// `LogAuditRecWithLevel`: write an audit record at a level.
pub fn log_audit_rec_with_level(
    _cx: &mut Cx<'_>,
    _req: LogAuditRecWithLevelRequest,
) -> Res<LogAuditRecWithLevelResponse> {
    todo_rpc("LogAuditRecWithLevel")
}
