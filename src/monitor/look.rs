//! A look before deploying (docs/reference.md, "A look before deploying"):
//! started outside Lambda, the monitor runs once, as a dry run, with the
//! caller's own credentials and region, and prints what subscribers would
//! get, or the run result as JSON with `--json`.

use super::MonitorError;
use crate::aws::identity::caller_account;
use crate::aws::sdk::sdk_config;
use crate::monitor::adapters::Adapters;
use crate::monitor::config::MonitorConfig;
use crate::monitor::consumers::inventory::{inventory, Progress};
use crate::monitor::deliver::preview::render;
use crate::monitor::event::RunRequest;
use crate::monitor::run::{Monitor, Ran};
use crate::render::inventory::inventory_text;
use chrono::Utc;
use std::time::Duration;
use tokio::time::Instant;

pub const USAGE: &str = "usage: monitor [--once | --inventory] [--json] [--profile NAME]\n\
    Outside Lambda, runs one dry run with your AWS credentials and region (AWS_PROFILE,\n\
    AWS_REGION, ...) and the monitor's variables (docs/reference.md), prints the preview of\n\
    what subscribers would get, publishes nothing and writes nothing.\n\
    --inventory       instead, every connection with its consumers and their access\n\
    --json            print the run result (or the inventory) as JSON instead\n\
    --profile NAME    this profile of your AWS config (IAM Identity Center, credential_process,\n\
                      keys...) instead of AWS_PROFILE's";

/// A look may take as long as the longest Lambda invocation could.
const LOOK_BUDGET: Duration = Duration::from_secs(900);

/// The command line of a look.
#[derive(Debug, PartialEq, Eq)]
pub struct LookArgs {
    pub json: bool,
    pub inventory: bool,
    pub profile: Option<String>,
}

impl LookArgs {
    /// `--once` is what a look always does, accepted so that the command
    /// says so; anything else is refused with the usage.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Self, String> {
        let mut parsed = Self {
            json: false,
            inventory: false,
            profile: None,
        };
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--once" => {}
                "--inventory" => parsed.inventory = true,
                "--json" => parsed.json = true,
                "--profile" => match args
                    .next()
                    .filter(|p| !p.is_empty() && !p.starts_with("--"))
                {
                    Some(profile) => parsed.profile = Some(profile),
                    None => return Err(format!("monitor: --profile needs a name\n{USAGE}")),
                },
                other => return Err(format!("monitor: unknown argument {other:?}\n{USAGE}")),
            }
        }
        Ok(parsed)
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
    let sdk = sdk_config(args.profile.as_deref()).await;
    let region = sdk.region().map(|r| r.to_string());
    // The SDK reads a profile that is not there as an empty one: say which.
    if let (None, Some(profile)) = (&region, &args.profile) {
        eprintln!(
            "monitor: the profile {profile:?} gives no region: is it in AWS_CONFIG_FILE \
             (~/.aws/config), with a region?"
        );
        return 2;
    }
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
    let adapters = Adapters::from_sdk(&sdk, &config);
    if args.inventory {
        let progress = Progress::to_stderr();
        let deadline = Instant::now() + LOOK_BUDGET;
        let found = inventory(&adapters, &config, &account, &progress, deadline).await;
        if args.json {
            println!(
                "{}",
                serde_json::to_string_pretty(&found).unwrap_or_default()
            );
        } else {
            print!("{}", inventory_text(&found));
        }
        return if found.listed() { 0 } else { 1 };
    }
    let monitor = Monitor::new(config.clone(), adapters);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Result<LookArgs, String> {
        LookArgs::parse(list.iter().map(|a| a.to_string()))
    }

    #[test]
    fn once_json_and_a_profile_are_the_only_arguments() {
        let plain = |json| LookArgs {
            json,
            inventory: false,
            profile: None,
        };
        assert_eq!(args(&[]), Ok(plain(false)));
        assert_eq!(args(&["--once"]), Ok(plain(false)));
        assert_eq!(args(&["--once", "--json"]), Ok(plain(true)));
        assert_eq!(
            args(&["--profile", "sso-admin", "--json"]),
            Ok(LookArgs {
                json: true,
                inventory: false,
                profile: Some("sso-admin".into())
            })
        );
        assert_eq!(
            args(&["--inventory", "--json"]),
            Ok(LookArgs {
                json: true,
                inventory: true,
                profile: None
            })
        );
        for missing in [
            &["--profile"][..],
            &["--profile", "--json"],
            &["--profile", ""],
        ] {
            let refused = args(missing).unwrap_err();
            assert!(refused.contains("--profile needs a name"), "{refused}");
        }
        let refused = args(&["--dry"]).unwrap_err();
        assert!(
            refused.contains("\"--dry\"") && refused.contains("usage:"),
            "{refused}"
        );
    }
}
