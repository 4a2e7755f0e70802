//! The SDK configuration both Lambdas share, built once at start-up.

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_http_client::tls;
use std::time::Duration;

/// `aws-config` defaults (region, credentials, `AWS_ENDPOINT_URL_*`) with the
/// SDK's standard retry (exponential backoff with jitter on throttling and
/// 5xx) and per-attempt timeouts, so a stalled connection is retried rather
/// than waited on. Eight attempts from 100 ms keep a run complete through a
/// 20% error rate (0.2^8 per call) while the backoff stays under 13 s. The
/// operation timeout bounds one call, retries included; the callers' own
/// deadlines (the run's, the answer's) bound the rest.
///
/// One HTTP client, set here, serves every service, region and account: left
/// to the SDK, each client (each member account's, each region's) would make
/// its own connection pool, and pay a TLS handshake per account to the same
/// endpoint (`tests/e2e/test_organization.py` counts them over TLS).
///
/// `profile` names a profile of the caller's AWS config for a look from a
/// terminal (`--profile`); the SDK is built with IAM Identity Center (SSO)
/// and `credential_process` support, the credentials people use there.
/// Lambda passes `None`: its credentials are in the environment.
pub async fn sdk_config(profile: Option<&str>) -> SdkConfig {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::AwsLc,
        ))
        .build_https();
    let loader = aws_config::defaults(BehaviorVersion::latest());
    let loader = match profile {
        Some(profile) => loader.profile_name(profile),
        None => loader,
    };
    loader
        .http_client(http)
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(8)
                .with_initial_backoff(Duration::from_millis(100)),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(3))
                .operation_attempt_timeout(Duration::from_secs(10))
                .operation_timeout(Duration::from_secs(30))
                .build(),
        )
        .load()
        .await
}

/// How often a batch call's unprocessed or failed entries are sent again
/// (DynamoDB's `UnprocessedItems`, EventBridge's `FailedEntryCount`).
pub const PARTIAL_ATTEMPTS: u32 = 5;

/// The pause before sending a batch's leftovers again: 50 ms, doubling.
pub async fn pause_before_resend(attempt: u32) {
    tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
}
