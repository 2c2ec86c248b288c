//! Logging rpcs of the reference PluginAPI server.

use super::prelude::*;

/// This domain's part of the store.
#[derive(Debug, Default)]
pub struct LoggingState {}

/// `LogDebug`: write a debug line to the server log.
pub fn log_debug(_cx: &mut Cx<'_>, _req: LogDebugRequest) -> Res<LogDebugResponse> {
    todo_rpc("LogDebug")
}

/// `LogInfo`: write an info line to the server log.
pub fn log_info(_cx: &mut Cx<'_>, _req: LogInfoRequest) -> Res<LogInfoResponse> {
    todo_rpc("LogInfo")
}

/// `LogError`: write an error line to the server log.
pub fn log_error(_cx: &mut Cx<'_>, _req: LogErrorRequest) -> Res<LogErrorResponse> {
    todo_rpc("LogError")
}

/// `LogWarn`: write a warning line to the server log.
pub fn log_warn(_cx: &mut Cx<'_>, _req: LogWarnRequest) -> Res<LogWarnResponse> {
    todo_rpc("LogWarn")
}
