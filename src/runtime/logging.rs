//! Logging for both Lambdas: Lambda's advanced logging controls, read as
//! `lambda_runtime` reads them, with the runtime's own crates capped at INFO.
//! At TRACE `lambda_runtime` logs each raw event, and a custom resource's
//! event holds its presigned `ResponseURL`, a credential.

use lambda_runtime::tracing::subscriber::filter::{Directive, EnvFilter, LevelFilter};
use std::str::FromStr;

/// The runtime's crates never log below this, whatever the level asked for.
const RUNTIME_CAPS: [&str; 2] = ["lambda_runtime=info", "lambda_runtime_api_client=info"];

/// The filter. The level is `AWS_LAMBDA_LOG_LEVEL` (Lambda's advanced logging
/// controls) when set, else a bare level in `RUST_LOG`, else INFO. `RUST_LOG`'s
/// per-target directives (`connection_watch::aws=debug`) apply on top; with
/// `AWS_LAMBDA_LOG_LEVEL` set, its bare levels do not replace Lambda's. The
/// runtime's crates are capped whatever is asked.
pub fn filter(aws_lambda_log_level: Option<&str>, rust_log: Option<&str>) -> EnvFilter {
    let lambda_level = aws_lambda_log_level
        .filter(|l| !l.trim().is_empty())
        .and_then(|l| LevelFilter::from_str(l.trim()).ok());
    let rust_log = rust_log.unwrap_or_default();
    // An empty piece parses as ERROR: only a word is a level.
    let pieces = || rust_log.split(',').map(str::trim).filter(|d| !d.is_empty());
    let bare_level = pieces()
        .filter_map(|d| LevelFilter::from_str(d).ok())
        .next_back();
    let level = lambda_level.or(bare_level).unwrap_or(LevelFilter::INFO);
    // The level is a directive of its own, not a default: a default applies
    // only when nothing else parses.
    let directives: Vec<String> = std::iter::once(level.to_string().to_lowercase())
        .chain(
            pieces()
                .filter(|d| LevelFilter::from_str(d).is_err())
                .map(str::to_string),
        )
        .collect();
    let mut filter = EnvFilter::builder().parse_lossy(directives.join(","));
    for cap in RUNTIME_CAPS {
        filter = filter.add_directive(Directive::from_str(cap).expect("a valid directive"));
    }
    filter
}

/// Installs the subscriber on standard output, as Lambda reads it: JSON when
/// `AWS_LAMBDA_LOG_FORMAT=JSON`, plain otherwise.
pub fn init() {
    install(std::io::stdout, None)
}

/// For a run outside Lambda, whose standard output is for the person: the
/// log goes to standard error, at WARN unless `RUST_LOG` says otherwise.
pub fn init_to_stderr() {
    install(std::io::stderr, Some("warn"))
}

fn install<W>(writer: W, default_level: Option<&str>)
where
    W: for<'a> lambda_runtime::tracing::subscriber::fmt::MakeWriter<'a> + Send + Sync + 'static,
{
    let var = |name: &str| std::env::var(name).ok();
    let rust_log = var("RUST_LOG").or(default_level.map(str::to_string));
    let collector = lambda_runtime::tracing::subscriber::fmt()
        .with_writer(writer)
        .with_target(false)
        .without_time()
        .with_env_filter(filter(
            var("AWS_LAMBDA_LOG_LEVEL").as_deref(),
            rust_log.as_deref(),
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
    fn lambdas_level_wins_and_rust_log_adds_targets() {
        let shown = |level, rust_log| filter(level, rust_log).to_string();
        assert!(shown(Some("ERROR"), Some("debug")).contains("error"));
        assert!(!shown(Some("ERROR"), Some("debug")).contains("debug"));
        let both = shown(Some("WARN"), Some("connection_watch::aws=debug"));
        assert!(
            both.contains("warn") && both.contains("connection_watch::aws=debug"),
            "{both}"
        );
        assert!(shown(None, Some("debug")).contains("debug"));
        for (level, rust_log) in [(None, None), (Some(""), Some("")), (Some(" "), Some(" , "))] {
            assert_eq!(
                shown(level, rust_log),
                "lambda_runtime_api_client=info,lambda_runtime=info,info",
                "an empty setting is no setting, not ERROR"
            );
        }
        let mixed = shown(None, Some("connection_watch=trace,warn"));
        assert!(
            mixed.contains("connection_watch=trace") && mixed.contains("warn"),
            "{mixed}"
        );
    }

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
