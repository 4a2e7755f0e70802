//! The time an invocation has left, from the deadline Lambda gives it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Time left until `deadline_ms` (milliseconds since the epoch, as in
/// `lambda_runtime::Context::deadline`); zero when it has passed.
pub fn time_left(deadline_ms: u64) -> Duration {
    (UNIX_EPOCH + Duration::from_millis(deadline_ms))
        .duration_since(SystemTime::now())
        .unwrap_or_default()
}
