//! How a run fails, and which failure it reports when several happen.

use crate::aws::events::EventsError;
use crate::aws::sns::PublishError;
use crate::aws::state::StateError;
use crate::domain::watched::KindUnread;
use crate::monitor::event::InvalidEvent;
use crate::monitor::report::FailedAccount;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum MonitorError {
    #[error(transparent)]
    InvalidEvent(#[from] InvalidEvent),
    #[error("{0}")]
    Publish(#[from] PublishError),
    /// The SNS alert went out; some events did not, and no record was
    /// committed, so the next run sends both again.
    #[error("{0}; the alert was published, and the next run sends it and its events again")]
    EventsFailed(#[from] EventsError),
    /// The state table could not be used; everything stuck was still alerted.
    #[error("{0}")]
    State(StateError),
    /// Some kinds could not be read in some regions (and accounts); every
    /// other kind there was still read, resolved and alerted.
    #[error("could not scan {}; everything else was scanned and alerted", capped(&.0.describe()))]
    RegionsFailed(UnreadFailure),
    #[error("could not scan accounts {}; every other account was scanned and alerted", capped(&describe_accounts(.0)))]
    AccountsFailed(Vec<FailedAccount>),
}

impl From<MonitorError> for lambda_runtime::Diagnostic {
    fn from(e: MonitorError) -> Self {
        let error_type = match &e {
            MonitorError::InvalidEvent(_) => "InvalidEvent",
            MonitorError::Publish(_) => "PublishFailed",
            MonitorError::EventsFailed(_) => "EventsFailed",
            MonitorError::State(_) => "StateFailed",
            MonitorError::RegionsFailed(_) => "RegionsFailed",
            MonitorError::AccountsFailed(_) => "AccountsFailed",
        };
        Self {
            error_type: error_type.into(),
            error_message: e.to_string(),
        }
    }
}

/// The most of a failure list an error message carries. The message goes to
/// Lambda's failure destination (an SQS message or an EventBridge event, each
/// at most 256 KB) and into every alarm notification: 4 KB keeps it readable
/// there; the run result and the log have every failure.
pub const MAX_LISTED_BYTES: usize = 4_096;

fn capped(list: &str) -> String {
    if list.len() <= MAX_LISTED_BYTES {
        return list.to_string();
    }
    let mut cut = MAX_LISTED_BYTES;
    while !list.is_char_boundary(cut) {
        cut -= 1;
    }
    let cut = list[..cut].rfind("; ").unwrap_or(cut);
    let more = list[cut..].matches("; ").count();
    format!(
        "{} ... and {more} more (every one is in the run result and the log)",
        &list[..cut]
    )
}

/// What a run could not read, as its error names it.
#[derive(Debug)]
pub struct UnreadFailure {
    pub unread: Vec<KindUnread>,
    /// Organization-wide: each entry names its account.
    pub accounts_named: bool,
}

impl UnreadFailure {
    /// `eu-west-1 (error); eu-west-2, synced stacks (error)`.
    fn describe(&self) -> String {
        self.unread
            .iter()
            .map(|u| u.describe(self.accounts_named))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

fn describe_accounts(failed: &[FailedAccount]) -> String {
    failed
        .iter()
        .map(|f| format!("{} ({})", f.account, f.error))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The one failure a run that published ends in: the state table first
/// (the lifecycle is off until it is fixed), then accounts not entered,
/// then what was not read.
pub fn run_failure(
    state_error: Option<StateError>,
    failed_accounts: Option<Vec<FailedAccount>>,
    unread: UnreadFailure,
) -> Option<MonitorError> {
    if let Some(error) = state_error {
        return Some(MonitorError::State(error));
    }
    if let Some(failed) = failed_accounts.filter(|f| !f.is_empty()) {
        return Some(MonitorError::AccountsFailed(failed));
    }
    (!unread.unread.is_empty()).then_some(MonitorError::RegionsFailed(unread))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(n: usize, error_len: usize) -> Vec<FailedAccount> {
        (0..n)
            .map(|i| FailedAccount {
                account: format!("{:012}", i),
                error: "x".repeat(error_len),
            })
            .collect()
    }

    #[test]
    fn a_thousand_failed_accounts_make_a_message_of_a_few_kilobytes() {
        let message = MonitorError::AccountsFailed(failed(1_000, 400)).to_string();
        assert!(message.len() < MAX_LISTED_BYTES + 200, "{}", message.len());
        assert!(message.contains("000000000000 (") && !message.contains("000000000999"));
        assert!(message.contains("and 991 more"), "{message}");
    }

    #[test]
    fn a_list_at_the_cap_is_whole() {
        // "000000000000 (" + error + ")" is 15 bytes more than the error.
        let whole = MonitorError::AccountsFailed(failed(1, MAX_LISTED_BYTES - 15)).to_string();
        assert!(!whole.contains("more"), "{whole}");
        let over = MonitorError::AccountsFailed(failed(2, MAX_LISTED_BYTES / 2)).to_string();
        assert!(over.contains("and 1 more"), "{over}");
    }
}
