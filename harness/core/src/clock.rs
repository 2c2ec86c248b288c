//! Wall-clock microseconds since the Unix epoch: the one time base shared by the host's
//! timeline and the observations a fake interpreter writes from another process.

use std::time::{SystemTime, UNIX_EPOCH};

/// Microseconds since the Unix epoch.
pub fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}
