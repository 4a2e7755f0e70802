//! A look before deploying (docs/reference.md, "A look before deploying"):
//! started outside Lambda, the monitor runs once, as a dry run, with the
//! caller's own credentials and region, and prints what subscribers would
//! get, or the run result as JSON with `--json`.

use super::adapters::Adapters;
use super::config::MonitorConfig;
use super::event::RunRequest;
use super::report::RunReport;
use super::run::{Monitor, Ran};
use super::MonitorError;
use crate::aws::identity::caller_account;
use crate::aws::sdk::sdk_config;
use chrono::Utc;
use std::fmt::Write;
use std::time::Duration;
use tokio::time::Instant;

pub const USAGE: &str = "usage: monitor [--once] [--json]\n\
    Outside Lambda, runs one dry run with your AWS credentials and region (AWS_PROFILE,\n\
    AWS_REGION, ...) and the monitor's variables (docs/reference.md), prints the preview of\n\
    what subscribers would get, publishes nothing and writes nothing.\n\
    --json  print the run result instead";

/// A look may take as long as the longest Lambda invocation could.
const LOOK_BUDGET: Duration = Duration::from_secs(900);

/// The command line of a look.
#[derive(Debug, PartialEq, Eq)]
pub struct LookArgs {
    pub json: bool,
}

impl LookArgs {
    /// `--once` is what a look always does, accepted so that the command
    /// says so; anything else is refused with the usage.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Self, String> {
        let mut json = false;
        for arg in args {
            match arg.as_str() {
                "--once" => {}
                "--json" => json = true,
                other => return Err(format!("monitor: unknown argument {other:?}\n{USAGE}")),
            }
        }
        Ok(Self { json })
    }
}

/// What a look prints, and whether the run ended in an error.
pub struct Looked {
    pub output: String,
    pub failure: Option<MonitorError>,
}

/// One dry run of `account`, whatever `DRY_RUN` says.
pub async fn look(monitor: &Monitor, account: &str, region: &str, args: &LookArgs) -> Looked {
    let request = RunRequest {
        dry_run: Some(true),
        ..RunRequest::default()
    };
    let ran = monitor
        .run(&request, account, Utc::now(), Instant::now() + LOOK_BUDGET)
        .await;
    match ran {
        Ok(Ran { report, failure }) => Looked {
            output: if args.json {
                serde_json::to_string_pretty(&report).unwrap_or_default()
            } else {
                render(&report, account, region)
            },
            failure,
        },
        Err(e) => Looked {
            output: String::new(),
            failure: Some(e),
        },
    }
}

/// One dry run with the caller's credentials and region; the exit code.
pub async fn look_once() -> i32 {
    let args = match LookArgs::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(usage) => {
            eprintln!("{usage}");
            return 2;
        }
    };
    let sdk = sdk_config().await;
    let region = sdk.region().map(|r| r.to_string());
    let config = match MonitorConfig::for_a_look(region.as_deref()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("monitor: configuration: {e}");
            return 2;
        }
    };
    let region = config.own_region.clone();
    let account = match caller_account(&aws_sdk_sts::Client::new(&sdk)).await {
        Ok(account) => account,
        Err(e) => {
            eprintln!("monitor: {e}");
            return 1;
        }
    };
    let monitor = Monitor::new(config.clone(), Adapters::from_sdk(&sdk, &config));
    let looked = look(&monitor, &account, &region, &args).await;
    print!("{}", looked.output);
    match looked.failure {
        None => 0,
        Some(e) => {
            eprintln!("monitor: the run ended in an error: {e}");
            1
        }
    }
}

/// The preview as a person reads it: what was read, what is stuck, then
/// each message as subscribers would get it. An empty preview claims
/// nothing beyond what was read.
pub fn render(report: &RunReport, account: &str, region: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "A dry run of connection-watch for account {account} from {region}: \
         nothing was published, no event put, nothing written."
    );
    let syncs = report
        .syncs_scanned
        .map(|n| format!(", {n} Git-synced stacks"))
        .unwrap_or_default();
    let listed_from = report.listed_from.as_deref().unwrap_or("nowhere");
    let _ = writeln!(
        out,
        "Read: {} connections (listed from {listed_from}), {} hosts{syncs}.",
        report.scanned, report.hosts_scanned
    );
    let accounts: Vec<&str> = report
        .failed_accounts
        .iter()
        .flatten()
        .map(|f| f.account.as_str())
        .collect();
    // A count is of what was read: with a region or account unread, the
    // line says so, so that "0" never reads as "nothing anywhere".
    let unread = !report.failed_regions.is_empty() || !accounts.is_empty();
    let _ = writeln!(
        out,
        "Stuck{}: {} connections, {} hosts, {} Git-synced stacks ({} muted by the ignore tag).",
        if unread { " in what was read" } else { "" },
        report.stuck.len() + report.suppressed.as_ref().map_or(0, Vec::len),
        report.stuck_hosts.len() + report.suppressed_hosts.as_ref().map_or(0, Vec::len),
        report.stuck_syncs.len() + report.suppressed_syncs.as_ref().map_or(0, Vec::len),
        report.ignored
    );
    if unread {
        let _ = writeln!(
            out,
            "Not read: regions [{}], accounts [{}]: nothing is known of them (the error follows).",
            report.failed_regions.join(", "),
            accounts.join(", ")
        );
    }
    let preview = report.preview.as_deref().unwrap_or_default();
    if preview.is_empty() {
        let _ = writeln!(out, "\nNo message would be sent now.");
    }
    for (i, message) in preview.iter().enumerate() {
        let _ = write!(
            out,
            "\n=== message {} of {} ===\nSubject: {}\n\n{}\n",
            i + 1,
            preview.len(),
            message.subject,
            message.text.trim_end()
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::report::Preview;

    fn args(list: &[&str]) -> Result<LookArgs, String> {
        LookArgs::parse(list.iter().map(|a| a.to_string()))
    }

    #[test]
    fn once_and_json_are_the_only_arguments() {
        assert_eq!(args(&[]), Ok(LookArgs { json: false }));
        assert_eq!(args(&["--once"]), Ok(LookArgs { json: false }));
        assert_eq!(args(&["--once", "--json"]), Ok(LookArgs { json: true }));
        let refused = args(&["--dry"]).unwrap_err();
        assert!(
            refused.contains("\"--dry\"") && refused.contains("usage:"),
            "{refused}"
        );
    }

    #[test]
    fn an_empty_preview_says_what_was_read_and_what_was_not() {
        let report = RunReport {
            scanned: 12,
            listed_from: Some("us-east-1".into()),
            hosts_scanned: 3,
            failed_regions: vec!["eu-west-1".into()],
            preview: Some(Vec::new()),
            ..RunReport::default()
        };
        let text = render(&report, "123456789012", "us-east-1");
        assert!(
            text.contains("Read: 12 connections (listed from us-east-1), 3 hosts."),
            "{text}"
        );
        assert!(text.contains("Not read: regions [eu-west-1]"), "{text}");
        assert!(
            text.contains("Stuck in what was read: 0 connections"),
            "{text}"
        );
        assert!(text.contains("No message would be sent now."), "{text}");
    }

    #[test]
    fn each_message_is_shown_with_its_subject() {
        let report = RunReport {
            preview: Some(vec![Preview {
                subject: "1 CodeStar connection needs attention (1 PENDING)".into(),
                text: "web - PENDING\n".into(),
            }]),
            ..RunReport::default()
        };
        let text = render(&report, "123456789012", "us-east-1");
        assert!(text.contains(
            "=== message 1 of 1 ===\nSubject: 1 CodeStar connection needs attention (1 PENDING)\n\nweb - PENDING\n"
        ), "{text}");
        assert!(!text.contains("Not read"), "{text}");
        assert!(text.contains("\nStuck: 0 connections"), "{text}");
    }
}
