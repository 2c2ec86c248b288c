//! One at a time for a bundle on a fixed address. The cases of a bundle start their own
//! copies of the plugin, several at once. A plugin that always listens on one fixed port
//! (go-plugin's Python example: `127.0.0.1:1234`) cannot run twice at once: with
//! `SO_REUSEPORT` the copies share the port and calls cross between them (the reference
//! host now refuses such a start: `foreign-listener`), without it the second copy fails
//! to bind. So every case of a bundle runs inside its bundle's gate: shared while the
//! bundle is not known to be fixed, alone once it is. A case whose start collides with
//! another copy of the bundle marks the bundle fixed, waits to be alone, and starts again.

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use conformance_core::runner::Ctx;
use conformance_core::supervisor::LaunchFailure;
use tokio::sync::{OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock};

/// The note of a case that ran alone because its bundle announces a fixed address.
pub const ALONE_NOTE: &str =
    "the bundle announces a fixed address, so its cases run one at a time (this one alone)";

/// The gate of one bundle.
#[derive(Default)]
pub(super) struct Gate {
    lock: Arc<RwLock<()>>,
    fixed: AtomicBool,
}

enum Held {
    Shared(#[allow(dead_code)] OwnedRwLockReadGuard<()>),
    Alone(#[allow(dead_code)] OwnedRwLockWriteGuard<()>),
}

/// What the running case holds of its bundle's gate.
struct Slot {
    gate: Arc<Gate>,
    held: Mutex<Option<Held>>,
    ctx: Ctx,
}

tokio::task_local! {
    static SLOT: Arc<Slot>;
}

/// The gate of `bundle` (one per bundle path for the life of the process).
pub(super) fn gate_for(bundle: &Path) -> Arc<Gate> {
    static GATES: OnceLock<Mutex<HashMap<PathBuf, Arc<Gate>>>> = OnceLock::new();
    GATES
        .get_or_init(Mutex::default)
        .lock()
        .expect("gates")
        .entry(bundle.to_path_buf())
        .or_default()
        .clone()
}

impl Gate {
    async fn enter(self: &Arc<Self>, ctx: &Ctx) -> Held {
        if self.fixed.load(Ordering::SeqCst) {
            let alone = self.lock.clone().write_owned().await;
            ctx.note(ALONE_NOTE);
            Held::Alone(alone)
        } else {
            Held::Shared(self.lock.clone().read_owned().await)
        }
    }
}

/// Runs a case body inside its bundle's gate.
pub(super) async fn within<F: Future>(gate: Arc<Gate>, ctx: Ctx, body: F) -> F::Output {
    let held = gate.enter(&ctx).await;
    let slot = Arc::new(Slot {
        gate,
        held: Mutex::new(Some(held)),
        ctx,
    });
    SLOT.scope(slot, body).await
}

/// Marks the running case's bundle as announcing a fixed address: the cases that enter
/// its gate from now on run alone.
pub(super) fn mark_fixed() {
    let _ = SLOT.try_with(|slot| slot.gate.fixed.store(true, Ordering::SeqCst));
}

/// Whether a failed start collided with another copy of the bundle: another process
/// listens on the announced address, or the plugin could not bind its fixed port.
pub(super) fn collided(failure: &LaunchFailure) -> bool {
    match failure.error.kind() {
        "foreign-listener" => true,
        "no-handshake" => failure.logs.lines().iter().any(|l| {
            let text = l.message.to_ascii_lowercase();
            text.contains("address already in use") || text.contains("failed to bind")
        }),
        _ => false,
    }
}

/// After a start that [`collided`]: when the running case shared its bundle with other
/// cases, marks the bundle fixed, waits until the case is alone and returns true (start
/// again); false when it already ran alone (the other listener is not one of the run's).
pub(super) async fn wait_alone_after_collision() -> bool {
    let Ok(slot) = SLOT.try_with(Arc::clone) else {
        return false;
    };
    {
        let mut held = slot.held.lock().expect("gate slot");
        if !matches!(*held, Some(Held::Shared(_))) {
            return false;
        }
        slot.gate.fixed.store(true, Ordering::SeqCst);
        // Let the other cases of the bundle finish: give up the shared hold first.
        *held = None;
    }
    let alone = slot.gate.lock.clone().write_owned().await;
    slot.ctx.note(ALONE_NOTE);
    *slot.held.lock().expect("gate slot") = Some(Held::Alone(alone));
    true
}
