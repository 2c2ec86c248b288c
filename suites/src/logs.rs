//! Plugin output after the handshake (SPEC §8.4, §20.4 items 13-14): stderr lines
//! become logs at the level hclog would give them, and stdout is drained so a chatty plugin
//! never blocks.

use std::time::Duration;

use conformance_core::fixtures::{BundleBuilder, FakeMode};
use conformance_core::observe::Observed;
use conformance_core::runner::{Case, Level};
use conformance_core::supervisor::{self as host, HostConfig, LogLine};

use crate::support::{observed, shutdown_checked, start_ok, wait_for};

fn find<'a>(lines: &'a [LogLine], text: &str) -> Option<&'a LogLine> {
    lines.iter().find(|l| l.message.contains(text))
}

pub fn cases() -> Vec<Case> {
    vec![
        Case::new(
            "logs/stderr-levels",
            Level::Should,
            "SPEC §8.4 (logStderr)",
            "stderr lines are logged: hclog JSON at its level with its fields, [ERROR] text at Error, plain text at Debug",
            |ctx| async move {
                let (_bundle, plugin) = start_ok(
                    &ctx,
                    BundleBuilder::new(FakeMode::Chatty),
                    HostConfig::default(),
                )
                .await?;
                let logs = plugin.logs.clone();
                let lines = wait_for(Duration::from_secs(10), || {
                    let lines = logs.lines();
                    (lines.len() >= 3).then_some(lines)
                })
                .await
                .unwrap_or_else(|| logs.lines());
                let level = |text: &str| find(&lines, text).map(|l| l.level);
                ctx.eq(
                    "hclog JSON line",
                    Some(host::Level::Warn),
                    level("disk almost full"),
                );
                ctx.eq(
                    "hclog fields kept",
                    Some(vec![("free_mb".to_string(), "12".to_string())]),
                    find(&lines, "disk almost full").map(|l| l.fields.clone()),
                );
                ctx.eq(
                    "[ERROR] prefix",
                    Some(host::Level::Error),
                    level("could not reach the upstream service"),
                );
                ctx.eq(
                    "plain line",
                    Some(host::Level::Debug),
                    level("a plain line"),
                );
                shutdown_checked(&ctx, plugin).await;
                Ok(())
            },
        ),
        Case::new(
            "logs/stdout-drained-after-handshake",
            Level::Must,
            "SPEC §8.4 (stdout after the handshake is discarded), §20.4 item 13",
            "1 MiB written to stdout after the handshake is drained by the host, so the plugin does not block",
            |ctx| async move {
                let (bundle, plugin) = start_ok(
                    &ctx,
                    BundleBuilder::new(FakeMode::Chatty),
                    HostConfig::default(),
                )
                .await?;
                let flood = wait_for(Duration::from_secs(10), || {
                    observed(&bundle, |e| match e {
                        Observed::StdoutFlood { bytes } => Some(*bytes),
                        _ => None,
                    })
                    .first()
                    .copied()
                })
                .await;
                ctx.eq("bytes the plugin finished writing", Some(1 << 20), flood);
                let leaked = plugin
                    .logs
                    .lines()
                    .iter()
                    .any(|l| l.message.contains("....."));
                ctx.eq("stdout not logged as plugin logs", false, leaked);
                shutdown_checked(&ctx, plugin).await;
                Ok(())
            },
        ),
    ]
}
