//! Who the caller is: the account of the credentials in use, for a run
//! started outside Lambda, where no function ARN names it.

use aws_sdk_sts::error::DisplayErrorContext;
use thiserror::Error;

#[derive(Debug, Error)]
#[error("sts:GetCallerIdentity failed (are AWS credentials configured?): {0}")]
pub struct IdentityError(String);

/// The 12-digit account of the credentials `sts` signs with.
pub async fn caller_account(sts: &aws_sdk_sts::Client) -> Result<String, IdentityError> {
    let identity = sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| IdentityError(DisplayErrorContext(&e).to_string()))?;
    identity
        .account
        .ok_or_else(|| IdentityError("the answer names no account".into()))
}
