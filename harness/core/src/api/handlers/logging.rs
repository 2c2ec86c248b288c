//! Logging rpcs of the reference PluginAPI server: every line a plugin logs is recorded
//! (time, plugin, level, message, key/value pairs) so reports can show it. These rpcs
//! never fail.

use std::collections::VecDeque;

use serde::Serialize;

use super::prelude::*;

/// How many lines are kept (the oldest go first).
pub const LOG_LINES_KEPT: usize = 10_000;

/// One line a plugin logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogLine {
    /// Milliseconds since the Unix epoch.
    pub at: i64,
    pub plugin_id: String,
    /// `debug`, `info`, `warn` or `error`.
    pub level: String,
    pub msg: String,
    /// The key/value pairs, values rendered as JSON (strings unquoted).
    pub fields: Vec<(String, String)>,
}

/// This domain's part of the store.
#[derive(Debug, Default)]
pub struct LoggingState {
    lines: VecDeque<LogLine>,
}

impl LoggingState {
    /// The recorded lines, oldest first.
    pub fn lines(&self) -> impl Iterator<Item = &LogLine> {
        self.lines.iter()
    }

    /// The recorded lines of one plugin, oldest first.
    pub fn lines_of<'a>(&'a self, plugin_id: &'a str) -> impl Iterator<Item = &'a LogLine> {
        self.lines.iter().filter(move |l| l.plugin_id == plugin_id)
    }
}

/// A log field's value as text: strings as they are, everything else as JSON.
fn render(v: Option<&prost_types::Value>) -> String {
    use prost_types::value::Kind;
    fn json(v: &prost_types::Value) -> serde_json::Value {
        match &v.kind {
            None | Some(Kind::NullValue(_)) => serde_json::Value::Null,
            Some(Kind::BoolValue(b)) => (*b).into(),
            Some(Kind::NumberValue(n)) => {
                if n.fract() == 0.0 && n.abs() < 9.007_199_254_740_992e15 {
                    (*n as i64).into()
                } else {
                    (*n).into()
                }
            }
            Some(Kind::StringValue(s)) => s.clone().into(),
            Some(Kind::StructValue(s)) => s
                .fields
                .iter()
                .map(|(k, v)| (k.clone(), json(v)))
                .collect::<serde_json::Map<_, _>>()
                .into(),
            Some(Kind::ListValue(l)) => l.values.iter().map(json).collect(),
        }
    }
    match v.map(|v| &v.kind) {
        Some(Some(Kind::StringValue(s))) => s.clone(),
        Some(_) => json(v.expect("some")).to_string(),
        None => "null".into(),
    }
}

fn record(cx: &mut Cx<'_>, level: &str, msg: String, pairs: Vec<KeyValuePair>) {
    let line = LogLine {
        at: cx.now,
        plugin_id: cx.plugin_id.to_string(),
        level: level.to_string(),
        msg,
        fields: pairs
            .into_iter()
            .map(|p| {
                let value = render(p.value.as_ref());
                (p.key, value)
            })
            .collect(),
    };
    cx.effect = Some(format!(
        "log {} {:?} {}",
        line.level,
        line.msg,
        line.fields
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    ));
    let lines = &mut cx.store.logging.lines;
    if lines.len() == LOG_LINES_KEPT {
        lines.pop_front();
    }
    lines.push_back(line);
}

/// `LogDebug`: write a debug line to the server log.
pub fn log_debug(cx: &mut Cx<'_>, req: LogDebugRequest) -> Res<LogDebugResponse> {
    record(cx, "debug", req.msg, req.key_value_pairs);
    Ok(LogDebugResponse::default())
}

/// `LogInfo`: write an info line to the server log.
pub fn log_info(cx: &mut Cx<'_>, req: LogInfoRequest) -> Res<LogInfoResponse> {
    record(cx, "info", req.msg, req.key_value_pairs);
    Ok(LogInfoResponse::default())
}

/// `LogError`: write an error line to the server log.
pub fn log_error(cx: &mut Cx<'_>, req: LogErrorRequest) -> Res<LogErrorResponse> {
    record(cx, "error", req.msg, req.key_value_pairs);
    Ok(LogErrorResponse::default())
}

/// `LogWarn`: write a warning line to the server log.
pub fn log_warn(cx: &mut Cx<'_>, req: LogWarnRequest) -> Res<LogWarnResponse> {
    record(cx, "warn", req.msg, req.key_value_pairs);
    Ok(LogWarnResponse::default())
}

#[cfg(test)]
mod tests {
    use super::super::Store;
    use super::*;

    #[test]
    fn lines_are_recorded_with_level_and_fields() {
        let mut store = Store::default();
        let mut cx = Cx {
            store: &mut store,
            plugin_id: "com.example.p",
            now: 42,
            rpc: "LogWarn",
            effect: None,
        };
        let pairs = vec![
            KeyValuePair {
                key: "s".into(),
                value: Some(prost_types::Value {
                    kind: Some(prost_types::value::Kind::StringValue("text".into())),
                }),
            },
            KeyValuePair {
                key: "n".into(),
                value: Some(prost_types::Value {
                    kind: Some(prost_types::value::Kind::NumberValue(3.0)),
                }),
            },
            KeyValuePair {
                key: "none".into(),
                value: None,
            },
        ];
        log_warn(
            &mut cx,
            LogWarnRequest {
                msg: "careful".into(),
                key_value_pairs: pairs,
            },
        )
        .unwrap();
        log_debug(
            &mut cx,
            LogDebugRequest {
                msg: "d".into(),
                ..Default::default()
            },
        )
        .unwrap();
        let lines: Vec<&LogLine> = store.logging.lines_of("com.example.p").collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].level, "warn");
        assert_eq!(lines[0].msg, "careful");
        assert_eq!(lines[0].at, 42);
        assert_eq!(
            lines[0].fields,
            vec![
                ("s".to_string(), "text".to_string()),
                ("n".to_string(), "3".to_string()),
                ("none".to_string(), "null".to_string()),
            ]
        );
        assert_eq!(lines[1].level, "debug");
        assert_eq!(store.logging.lines_of("other").count(), 0);
    }
}
