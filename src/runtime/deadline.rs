//! The time an invocation has left, from the deadline Lambda gives it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What an invocation gets when its deadline is missing, zero or already
/// past on arrival, as local emulators send it (`cargo lambda watch`, and
/// aws/aws-lambda-go#361, #564, aws/aws-lambda-dotnet#1998).
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(60);

/// Time left until `deadline_ms` (milliseconds since the epoch, as in
/// `lambda_runtime::Context::deadline`), or `DEFAULT_BUDGET` with a warning
/// when that is not in the future: Lambda itself always gives a future one.
pub fn time_left(deadline_ms: u64) -> Duration {
    budget(deadline_ms, SystemTime::now())
}

fn budget(deadline_ms: u64, now: SystemTime) -> Duration {
    let left = (UNIX_EPOCH + Duration::from_millis(deadline_ms))
        .duration_since(now)
        .unwrap_or_default();
    if left.is_zero() {
        tracing::warn!(
            deadline_ms,
            "the invocation's deadline is not in the future (a local emulator?): using 60 s"
        );
        return DEFAULT_BUDGET;
    }
    left
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_that_is_missing_or_past_gets_the_default_budget() {
        let now = UNIX_EPOCH + Duration::from_secs(1_764_000_000);
        let now_ms = 1_764_000_000_000;
        assert_eq!(budget(0, now), DEFAULT_BUDGET);
        assert_eq!(budget(now_ms - 1, now), DEFAULT_BUDGET);
        assert_eq!(budget(now_ms, now), DEFAULT_BUDGET);
        assert_eq!(budget(now_ms + 1, now), Duration::from_millis(1));
        assert_eq!(budget(now_ms + 900_000, now), Duration::from_secs(900));
    }
}
