//! Plugin stderr as logs, the way go-plugin's `logStderr` reads it (SPEC §8.4):
//! hclog JSON objects carry their own level, text lines may start with `[LEVEL]`, a
//! `panic: ` or `fatal error: ` line switches every later text line to Error, and
//! anything else is Debug. Lines over 64 KiB are split and logged at Debug unparsed.
//! The store keeps a bounded number of lines so a flooding plugin cannot exhaust memory.

use std::collections::VecDeque;
use std::sync::Mutex;

use serde::Serialize;

/// go-plugin's `PluginLogBufferSize`.
pub const MAX_LINE: usize = 64 * 1024;
/// Lines kept per plugin; older ones are dropped and counted.
pub const KEPT_LINES: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

/// One plugin log line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogLine {
    pub t_us: u64,
    pub level: Level,
    pub message: String,
    /// Key/value pairs of an hclog JSON line.
    pub fields: Vec<(String, String)>,
}

impl Level {
    /// hclog's level name, as the plugin's line shows in Mattermost's log.
    pub fn name(self) -> &'static str {
        match self {
            Level::Trace => "TRACE",
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warn => "WARN",
            Level::Error => "ERROR",
        }
    }
}

impl LogLine {
    /// The line as a case note: `plugin log [LEVEL] message key=value ...`
    /// ([`crate::report::PLUGIN_LOG_NOTE`] is its prefix; the summaries gather WARN and
    /// ERROR ones).
    pub fn note(&self) -> String {
        let mut s = format!(
            "{}[{}] {}",
            crate::report::PLUGIN_LOG_NOTE,
            self.level.name(),
            self.message
        );
        for (k, v) in &self.fields {
            s.push_str(&format!(" {k}={v}"));
        }
        s
    }
}

fn level_word(s: &str) -> Option<Level> {
    match s.to_ascii_lowercase().as_str() {
        "trace" => Some(Level::Trace),
        "debug" => Some(Level::Debug),
        "info" => Some(Level::Info),
        "warn" | "warning" => Some(Level::Warn),
        "error" => Some(Level::Error),
        _ => None,
    }
}

/// hclog's `@timestamp` layout `2006-01-02T15:04:05.000000Z07:00`.
fn valid_timestamp(ts: &str) -> bool {
    let b = ts.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|s| s.iter().all(u8::is_ascii_digit));
    if b.len() < 27 || !digits(0..4) || !digits(5..7) || !digits(8..10) {
        return false;
    }
    if b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'.'
    {
        return false;
    }
    if !digits(11..13) || !digits(14..16) || !digits(17..19) || !digits(20..26) {
        return false;
    }
    match &ts[26..] {
        "Z" => true,
        zone => {
            let z = zone.as_bytes();
            z.len() == 6
                && matches!(z[0], b'+' | b'-')
                && z[3] == b':'
                && z[1..3].iter().chain(&z[4..6]).all(u8::is_ascii_digit)
        }
    }
}

/// Parses stderr lines into log lines, remembering the panic switch.
#[derive(Debug, Default)]
pub struct StderrParser {
    panicked: bool,
}

impl StderrParser {
    pub fn parse(&mut self, raw: &str) -> Vec<LogLine> {
        let now = crate::clock::now_us();
        if raw.len() > MAX_LINE {
            let mut out = Vec::new();
            let mut rest = raw;
            while !rest.is_empty() {
                let mut cut = rest.len().min(MAX_LINE);
                while !rest.is_char_boundary(cut) {
                    cut -= 1;
                }
                out.push(LogLine {
                    t_us: now,
                    level: Level::Debug,
                    message: rest[..cut].to_string(),
                    fields: Vec::new(),
                });
                rest = &rest[cut..];
            }
            return out;
        }
        if let Some(line) = self.parse_json(raw, now) {
            return vec![line];
        }
        if raw.starts_with("panic: ") || raw.starts_with("fatal error: ") {
            self.panicked = true;
        }
        let (level, message) = if self.panicked {
            (Level::Error, raw)
        } else {
            ["[TRACE]", "[DEBUG]", "[INFO]", "[WARN]", "[ERROR]"]
                .iter()
                .find_map(|p| {
                    raw.strip_prefix(p).map(|rest| {
                        (
                            level_word(&p[1..p.len() - 1]).expect("known"),
                            rest.trim_start(),
                        )
                    })
                })
                .unwrap_or((Level::Debug, raw))
        };
        vec![LogLine {
            t_us: now,
            level,
            message: message.to_string(),
            fields: Vec::new(),
        }]
    }

    fn parse_json(&self, raw: &str, now: u64) -> Option<LogLine> {
        let serde_json::Value::Object(map) = serde_json::from_str(raw).ok()? else {
            return None;
        };
        let text = |k: &str| map.get(k).map(|v| v.as_str().map(str::to_string));
        // A non-string @message/@level/@timestamp crashes a Go host; we only log it raw.
        let (Some(message), Some(level), timestamp) = (
            text("@message").unwrap_or(Some(String::new())),
            text("@level").unwrap_or(Some(String::new())),
            text("@timestamp"),
        ) else {
            return Some(verbatim(raw, now));
        };
        if let Some(ts) = timestamp
            && !ts.as_deref().is_some_and(valid_timestamp)
        {
            return None;
        }
        let Some(level) = level_word(&level) else {
            return Some(verbatim(raw, now));
        };
        let fields = map
            .iter()
            .filter(|(k, _)| !k.starts_with('@'))
            .map(|(k, v)| {
                let v = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                (k.clone(), v)
            })
            .collect();
        Some(LogLine {
            t_us: now,
            level,
            message,
            fields,
        })
    }
}

fn verbatim(raw: &str, now: u64) -> LogLine {
    LogLine {
        t_us: now,
        level: Level::Debug,
        message: raw.to_string(),
        fields: Vec::new(),
    }
}

/// Bounded store of a plugin's log lines.
#[derive(Debug, Default)]
pub struct PluginLogs {
    inner: Mutex<(VecDeque<LogLine>, u64)>,
}

impl PluginLogs {
    pub fn push(&self, line: LogLine) {
        let mut g = self.inner.lock().expect("log lock");
        if g.0.len() == KEPT_LINES {
            g.0.pop_front();
            g.1 += 1;
        }
        g.0.push_back(line);
    }

    pub fn lines(&self) -> Vec<LogLine> {
        self.inner
            .lock()
            .expect("log lock")
            .0
            .iter()
            .cloned()
            .collect()
    }

    /// How many old lines were dropped to keep memory bounded.
    pub fn dropped(&self) -> u64 {
        self.inner.lock().expect("log lock").1
    }

    /// The last `n` messages, for error reports.
    pub fn tail(&self, n: usize) -> Vec<String> {
        let g = self.inner.lock().expect("log lock");
        let skip = g.0.len().saturating_sub(n);
        g.0.iter().skip(skip).map(|l| l.message.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hclog_json_text_prefixes_and_panic_switch() {
        let mut p = StderrParser::default();
        let l = p.parse(r#"{"@level":"warn","@message":"disk low","@timestamp":"2026-01-02T15:04:05.000000Z","free":"1"}"#);
        assert_eq!(l[0].level, Level::Warn);
        assert_eq!(l[0].message, "disk low");
        assert_eq!(l[0].fields, vec![("free".into(), "1".into())]);
        let bad_ts = p.parse(r#"{"@level":"warn","@message":"m","@timestamp":"yesterday"}"#);
        assert_eq!(bad_ts[0].level, Level::Debug);
        assert_eq!(p.parse("[WARN] careful")[0].level, Level::Warn);
        assert_eq!(p.parse("[12345]")[0].level, Level::Debug);
        assert_eq!(
            p.parse("2026-01-01 10:00:00 [INFO] python")[0].level,
            Level::Debug
        );
        assert_eq!(
            p.parse(r#"{"@message": 5, "@level": "info"}"#)[0].level,
            Level::Debug
        );
        assert_eq!(p.parse("panic: boom")[0].level, Level::Error);
        assert_eq!(p.parse("goroutine 1 [running]:")[0].level, Level::Error);
    }

    #[test]
    fn long_lines_are_split_and_the_store_is_bounded() {
        let mut p = StderrParser::default();
        let long = "x".repeat(MAX_LINE * 2 + 10);
        assert_eq!(p.parse(&long).len(), 3);
        let logs = PluginLogs::default();
        for i in 0..(KEPT_LINES + 5) {
            logs.push(LogLine {
                t_us: 0,
                level: Level::Info,
                message: i.to_string(),
                fields: vec![],
            });
        }
        assert_eq!(logs.lines().len(), KEPT_LINES);
        assert_eq!(logs.dropped(), 5);
        assert_eq!(logs.tail(1), vec![(KEPT_LINES + 4).to_string()]);
    }
}
