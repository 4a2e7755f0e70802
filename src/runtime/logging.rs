//! Logging for both Lambdas: Lambda's advanced logging controls, read as
//! `lambda_runtime` reads them, with the runtime's own crates capped at INFO.
//! At TRACE `lambda_runtime` logs each raw event, and a custom resource's
//! event holds its presigned `ResponseURL`, a credential.

use lambda_runtime::tracing::subscriber::filter::{Directive, EnvFilter, LevelFilter};
use std::str::FromStr;

/// The runtime's crates never log below this, whatever the level asked for.
const RUNTIME_CAPS: [&str; 2] = ["lambda_runtime=info", "lambda_runtime_api_client=info"];

/// The filter: `AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG`, else INFO, with the caps.
pub fn filter(aws_lambda_log_level: Option<&str>, rust_log: Option<&str>) -> EnvFilter {
    let level = aws_lambda_log_level
        .or(rust_log)
        .and_then(|l| LevelFilter::from_str(l).ok())
        .unwrap_or(LevelFilter::INFO);
    let mut filter = EnvFilter::builder()
        .with_default_directive(level.into())
        .parse_lossy(rust_log.unwrap_or_default());
    for cap in RUNTIME_CAPS {
        filter = filter.add_directive(Directive::from_str(cap).expect("a valid directive"));
    }
    filter
}

/// Installs the subscriber: JSON when `AWS_LAMBDA_LOG_FORMAT=JSON`, plain otherwise.
pub fn init() {
    let var = |name: &str| std::env::var(name).ok();
    let collector = lambda_runtime::tracing::subscriber::fmt()
        .with_target(false)
        .without_time()
        .with_env_filter(filter(
            var("AWS_LAMBDA_LOG_LEVEL").as_deref(),
            var("RUST_LOG").as_deref(),
        ));
    if var("AWS_LAMBDA_LOG_FORMAT").is_some_and(|f| f.eq_ignore_ascii_case("json")) {
        collector.json().init()
    } else {
        collector.init()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_runtime_is_capped_whatever_level_is_asked_for() {
        for (level, rust_log) in [
            (Some("TRACE"), None),
            (None, Some("trace")),
            (None, Some("lambda_runtime=trace,trace")),
        ] {
            let shown = filter(level, rust_log).to_string();
            assert!(shown.contains("lambda_runtime=info"), "{shown}");
            assert!(!shown.contains("lambda_runtime=trace"), "{shown}");
        }
    }
}
