//! Security through a driver: a host should not dial a plugin that announces a network
//! address. go-plugin dials whatever address the handshake names (SPEC §4 field
//! 4), so a plugin listening on all interfaces would be used, and exposed, over the
//! network; SHOULD, so a host that does dial is reported, not failed.

use std::sync::Arc;
use std::time::Duration;

use conformance_core::driver::process::DriverProcess;
use conformance_core::fixtures::{BundleBuilder, FakeMode};
use conformance_core::runner::{Case, Level};

use super::{gone, load, unload};
use crate::security::{connections_file, events_of};
use crate::support::wait_for;

/// How long a connection the host made during LoadPlugin may take to be recorded.
const SETTLE: Duration = Duration::from_secs(2);

pub(super) fn cases(driver: &Arc<DriverProcess>) -> Vec<Case> {
    let d = driver.clone();
    vec![Case::new(
        "host/security/non-loopback-address-not-dialed",
        Level::Should,
        "SPEC §4 field 4 (go-plugin dials whatever address is printed)",
        "a plugin that listens on all interfaces and announces a non-loopback address of this machine does not start, and the host never connects to it",
        move |ctx| {
            let driver = d.clone();
            async move {
                let conns = connections_file(&ctx, "connections.jsonl");
                let builder = BundleBuilder::new(FakeMode::NonLoopbackAddress)
                    .option("connections", conns.display());
                let (_bundle, loaded) = load(&ctx, &driver, builder, "exposed", false).await?;
                let announced = events_of(&conns, "announced");
                ctx.check(
                    "the plugin announced an address",
                    "one announcement",
                    format!("{announced:?}"),
                    announced.len() == 1,
                );
                if announced.iter().any(|a| a.contains("TEST-NET")) {
                    ctx.note(
                            "this machine has no non-loopback address: the plugin announced 192.0.2.1, which a \
                             dialling host cannot reach, so only the refusal is telling",
                        );
                }
                ctx.check(
                    "start refused",
                    "started = false",
                    format!("started = {}, error = {:?}", loaded.started, loaded.error),
                    !loaded.started,
                );
                ctx.check(
                    "a diagnosis",
                    "a non-empty error",
                    &loaded.error,
                    loaded.started || !loaded.error.is_empty(),
                );
                // A host that dialled did so before answering; give the record a moment.
                let dialled = wait_for(SETTLE, || {
                    let accepted = events_of(&conns, "accepted");
                    (!accepted.is_empty()).then_some(accepted)
                })
                .await;
                ctx.check(
                    "the host never connected to the plugin",
                    "no connection",
                    format!("{:?}", dialled.unwrap_or_default()),
                    events_of(&conns, "accepted").is_empty(),
                );
                if loaded.started {
                    unload(&ctx, &driver, &loaded.plugin_id).await;
                }
                let left =
                    wait_for(Duration::from_secs(5), || gone(loaded.pid).then_some(())).await;
                ctx.check(
                    "no process left",
                    "the plugin process is gone",
                    format!("pid {}", loaded.pid),
                    left.is_some(),
                );
                Ok(())
            }
        },
    )]
}
