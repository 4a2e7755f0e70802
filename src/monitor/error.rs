//! How a run fails, and which failure it reports when several happen.

use super::event::InvalidEvent;
use super::report::{describe, FailedAccount, RegionFailure};
use crate::aws::sns::PublishError;
use crate::aws::state::StateError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum MonitorError {
    #[error(transparent)]
    InvalidEvent(#[from] InvalidEvent),
    #[error("{0}")]
    Publish(#[from] PublishError),
    /// The state table could not be used; everything stuck was still alerted.
    #[error("{0}")]
    State(StateError),
    #[error("could not scan {}; everything else was scanned and alerted", describe(.0))]
    RegionsFailed(Vec<RegionFailure>),
    #[error("could not scan accounts {}; every other account was scanned and alerted", describe_accounts(.0))]
    AccountsFailed(Vec<FailedAccount>),
}

impl From<MonitorError> for lambda_runtime::Diagnostic {
    fn from(e: MonitorError) -> Self {
        let error_type = match &e {
            MonitorError::InvalidEvent(_) => "InvalidEvent",
            MonitorError::Publish(_) => "PublishFailed",
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

fn describe_accounts(failed: &[FailedAccount]) -> String {
    failed
        .iter()
        .map(|f| format!("{} ({})", f.account, f.error))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The one failure a run that published ends in: the state table first
/// (the lifecycle is off until it is fixed), then accounts, then regions.
pub fn run_failure(
    state_error: Option<StateError>,
    failed_accounts: Option<Vec<FailedAccount>>,
    failed_regions: Vec<RegionFailure>,
) -> Option<MonitorError> {
    if let Some(error) = state_error {
        return Some(MonitorError::State(error));
    }
    if let Some(failed) = failed_accounts.filter(|f| !f.is_empty()) {
        return Some(MonitorError::AccountsFailed(failed));
    }
    (!failed_regions.is_empty()).then_some(MonitorError::RegionsFailed(failed_regions))
}
