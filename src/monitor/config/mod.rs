//! The monitor's configuration, read once at start-up from the environment.

use crate::domain::account::AccountScope;
use crate::domain::arn::{is_region, parse_account, parse_region};
use crate::domain::connection::{CONNECTION_STATUSES, PROVIDER_TYPES};
use crate::domain::git_sync::SyncTarget;
use chrono::Duration;
use thiserror::Error;

pub use crate::domain::watched::DEFAULT_IGNORE_TAG;
use used_by::{used_by, used_by_regions};
pub use used_by::{UsedBy, UsedByRegions};

mod scope;
mod used_by;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{variable} is required{hint}")]
    Missing {
        variable: &'static str,
        /// What else would do, if anything.
        hint: &'static str,
    },
    #[error("{variable}={value:?} is invalid: {reason}")]
    Invalid {
        variable: &'static str,
        value: String,
        reason: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MonitorConfig {
    pub topic_arn: Option<String>,
    /// `EVENT_BUS`: the bus (name or ARN) each alerted object becomes an event on.
    pub event_bus: Option<String>,
    pub statuses: Vec<String>,
    pub host_statuses: Vec<String>,
    /// The function's region: where connections are listed from, and whose
    /// hosts are watched when `regions` is unset.
    pub own_region: String,
    /// `MONITOR_REGIONS`: the home regions whose connections, and the regions
    /// whose hosts, are watched; `None`: every home region, own region's hosts.
    pub regions: Option<Vec<String>>,
    /// `None` watches every provider type.
    pub provider_types: Option<Vec<String>>,
    pub ignore_tag: String,
    pub dry_run: bool,
    /// DynamoDB table for the alert lifecycle; `None` alerts everything stuck on every run.
    pub state_table: Option<String>,
    pub repeat_interval: Duration,
    /// `ACCOUNTS`: which accounts one run watches.
    pub accounts: AccountScope,
    /// The role assumed in each other account.
    pub member_role_name: String,
    pub exclude_accounts: Vec<String>,
    /// How many accounts are scanned at once.
    pub account_concurrency: usize,
    /// A manual run's `{"accounts": [...]}`: these accounts of the scope only.
    pub narrowed_accounts: Option<Vec<String>>,
    /// `USED_BY`: which consumers of alerted connections are looked up.
    pub used_by: UsedBy,
    /// `USED_BY_REGIONS`: where they are looked up.
    pub used_by_regions: UsedByRegions,
    /// `RETRY_ON_RESOLVED`: restart the pipelines a healed connection had failed.
    pub retry_on_resolved: bool,
    /// `RUN_INTERVAL`: the time between two scheduled runs (an outage began
    /// up to that long before the run that first saw it).
    pub run_interval: Duration,
    /// `GIT_SYNC`: watch the stacks synced from Git in the watched regions.
    pub git_sync: bool,
    /// A run asked for by a Git sync event, `{"syncs": [...]}`: only these
    /// synced stacks are read; connections and hosts are not listed.
    pub narrowed_syncs: Option<Vec<SyncTarget>>,
    /// `ACCESS_CHECK` and `ACCESS_CHECK_HOURS`: how long a consumer's access
    /// verdict is kept before it is simulated again; `None`: access is not
    /// checked.
    pub access_check: Option<Duration>,
}

pub const DEFAULT_MEMBER_ROLE_NAME: &str = "connection-watch-reader";
/// Accounts scanned at once. Each account's scan makes one AssumeRole and a
/// handful of CodeConnections calls in its own account (whose quotas are per
/// account), so the bound sets the monitor's memory and its AssumeRole rate
/// (docs/development.md, "Scale, measured").
pub const DEFAULT_ACCOUNT_CONCURRENCY: usize = 16;

pub const DEFAULT_REPEAT_INTERVAL: Duration = Duration::hours(24);
/// The API reference spells a failed host `VPC_CONFIG_FAILED_INITIALIZATION`
/// (`Host.Status`), the console guide's "View host details" page
/// `VPC_CONFIG_VPC_FAILED_INITIALIZATION`: both count.
pub const DEFAULT_HOST_STATUSES: [&str; 4] = [
    "PENDING",
    "ERROR",
    "VPC_CONFIG_FAILED_INITIALIZATION",
    "VPC_CONFIG_VPC_FAILED_INITIALIZATION",
];

impl MonitorConfig {
    /// Reads the configuration through `var`, so tests need not touch the
    /// process environment. `own_region` is the function's region. Each
    /// section's parser names the variable it refuses.
    pub fn from_vars(
        var: impl Fn(&str) -> Option<String>,
        own_region: Option<&str>,
    ) -> Result<Self, ConfigError> {
        let set = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let set: &Vars<'_> = &set;

        let dry_run = flag(set, "DRY_RUN", false)?;
        let topic_arn = topic_arn(set, dry_run)?;
        let event_bus = event_bus(set)?;
        let statuses = statuses(set)?;
        let host_statuses = host_statuses(set)?;
        let own_region = match own_region {
            Some(r) => parse_region(r).map_err(|reason| invalid("AWS_REGION", r, &reason))?,
            None => {
                return Err(ConfigError::Missing {
                    variable: "AWS_REGION",
                    hint: " (Lambda sets it; elsewhere set AWS_REGION or AWS_DEFAULT_REGION)",
                })
            }
        };
        let regions = set("MONITOR_REGIONS")
            .map(|v| list("MONITOR_REGIONS", &v, parse_region))
            .transpose()?;
        let provider_types = provider_types(set)?;
        let ignore_tag = ignore_tag(set)?;
        let state_table = state_table(set)?;
        let repeat_interval = interval(set, "REPEAT_INTERVAL", DEFAULT_REPEAT_INTERVAL)?;
        let organization = organization(set)?;
        let used_by = used_by(set)?;
        let used_by_regions = used_by_regions(set)?;
        let retry_on_resolved = flag(set, "RETRY_ON_RESOLVED", false)?;
        let git_sync = flag(set, "GIT_SYNC", true)?;
        let run_interval = interval(set, "RUN_INTERVAL", Duration::hours(1))?;
        let access_check = access_check(set)?;
        if retry_on_resolved && !used_by.pipelines {
            return Err(invalid(
                "RETRY_ON_RESOLVED",
                "true",
                "needs USED_BY to include pipelines, which finds the pipelines to restart",
            ));
        }

        Ok(Self {
            topic_arn,
            event_bus,
            statuses,
            host_statuses,
            own_region,
            regions,
            provider_types,
            ignore_tag,
            dry_run,
            state_table,
            repeat_interval,
            accounts: organization.accounts,
            member_role_name: organization.member_role_name,
            exclude_accounts: organization.exclude_accounts,
            account_concurrency: organization.account_concurrency,
            narrowed_accounts: None,
            used_by,
            used_by_regions,
            retry_on_resolved,
            run_interval,
            git_sync,
            narrowed_syncs: None,
            access_check,
        })
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        let own_region = std::env::var("AWS_REGION")
            .or_else(|_| std::env::var("AWS_DEFAULT_REGION"))
            .ok();
        Self::from_vars(|name| std::env::var(name).ok(), own_region.as_deref())
    }

    /// A look before deploying: the environment's configuration as a dry run
    /// (no topic needed), in `region`, the one the SDK resolved (from
    /// `AWS_REGION`, `AWS_DEFAULT_REGION` or a profile).
    pub fn for_a_look(region: Option<&str>) -> Result<Self, ConfigError> {
        let var = |name: &str| match name {
            "DRY_RUN" => Some("true".to_string()),
            _ => std::env::var(name).ok(),
        };
        Self::from_vars(var, region)
    }
}

/// A variable set to something other than white space.
type Vars<'a> = dyn Fn(&str) -> Option<String> + 'a;

// Alerting: DRY_RUN, ALERT_TOPIC_ARN, ALERT_STATUSES, ALERT_HOST_STATUSES.

fn flag(set: &Vars<'_>, variable: &'static str, default: bool) -> Result<bool, ConfigError> {
    match set(variable) {
        None => Ok(default),
        Some(v) => parse_bool(&v).ok_or_else(|| invalid(variable, &v, "expected true or false")),
    }
}

fn topic_arn(set: &Vars<'_>, dry_run: bool) -> Result<Option<String>, ConfigError> {
    match set("ALERT_TOPIC_ARN") {
        Some(arn) if is_topic_arn(&arn) => Ok(Some(arn)),
        Some(arn) => Err(invalid(
            "ALERT_TOPIC_ARN",
            &arn,
            "expected an SNS topic ARN like arn:aws:sns:us-east-1:123456789012:alerts",
        )),
        None if dry_run => Ok(None),
        None => Err(ConfigError::Missing {
            variable: "ALERT_TOPIC_ARN",
            hint: " (or set DRY_RUN=true to publish nothing)",
        }),
    }
}

/// A bus name or ARN as PutEvents takes it: `NonPartnerEventBusNameOrArn`
/// in AWS's model (botocore `events/2015-10-07`), 1 to 1,600 characters of
/// `(arn:aws[\w-]*:events:<region>:[0-9]{12}:event-bus/)?[.\-_A-Za-z0-9]+`.
fn event_bus(set: &Vars<'_>) -> Result<Option<String>, ConfigError> {
    let Some(bus) = set("EVENT_BUS") else {
        return Ok(None);
    };
    let name = match bus.strip_prefix("arn:") {
        Some(_) => {
            let parts: Vec<&str> = bus.splitn(6, ':').collect();
            match parts[..] {
                [_, partition, "events", region, account, resource]
                    if partition.starts_with("aws")
                        && parse_region(region).is_ok()
                        && account.len() == 12
                        && account.bytes().all(|b| b.is_ascii_digit()) =>
                {
                    resource.strip_prefix("event-bus/").unwrap_or_default()
                }
                _ => "",
            }
        }
        None => bus.as_str(),
    };
    let valid = !name.is_empty()
        && bus.len() <= 1600
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-_".contains(&b));
    if valid {
        Ok(Some(bus))
    } else {
        Err(invalid(
            "EVENT_BUS",
            &bus,
            "expected an event bus name (default, or A-Z a-z 0-9 . - _) or its ARN \
             arn:aws:events:<region>:<account>:event-bus/<name>",
        ))
    }
}

fn statuses(set: &Vars<'_>) -> Result<Vec<String>, ConfigError> {
    let Some(v) = set("ALERT_STATUSES") else {
        return Ok(vec!["PENDING".to_string(), "ERROR".to_string()]);
    };
    // Any status word: AWS may add statuses, and refusing one would stop
    // the monitor at start-up. One AWS does not document is worth a warning.
    let statuses = list("ALERT_STATUSES", &v, status_word)?;
    for status in statuses
        .iter()
        .filter(|s| !CONNECTION_STATUSES.contains(&s.as_str()))
    {
        tracing::warn!(
            %status,
            documented = %CONNECTION_STATUSES.join(", "),
            "ALERT_STATUSES names a status AWS does not document for connections"
        );
    }
    Ok(statuses)
}

/// An upper-case status word like PENDING or VPC_CONFIG_FAILED_INITIALIZATION.
fn status_word(s: &str) -> Result<String, String> {
    let upper = s.to_ascii_uppercase();
    if upper
        .bytes()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
    {
        Ok(upper)
    } else {
        Err(format!(
            "{s:?} is not a status like PENDING or VPC_CONFIG_FAILED_INITIALIZATION"
        ))
    }
}

fn host_statuses(set: &Vars<'_>) -> Result<Vec<String>, ConfigError> {
    let Some(v) = set("ALERT_HOST_STATUSES") else {
        return Ok(DEFAULT_HOST_STATUSES.map(str::to_string).to_vec());
    };
    // Any status word: AWS types it as a free string and may add some.
    list("ALERT_HOST_STATUSES", &v, status_word)
}

// What is watched: PROVIDER_TYPES, IGNORE_TAG (AWS_REGION and
// MONITOR_REGIONS are read in `from_vars`).

fn provider_types(set: &Vars<'_>) -> Result<Option<Vec<String>>, ConfigError> {
    set("PROVIDER_TYPES")
        .map(|v| {
            list("PROVIDER_TYPES", &v, |p| {
                PROVIDER_TYPES
                    .iter()
                    .find(|known| known.eq_ignore_ascii_case(p))
                    .map(|known| known.to_string())
                    .ok_or_else(|| {
                        format!(
                            "unknown provider type {p:?}; known: {}",
                            PROVIDER_TYPES.join(", ")
                        )
                    })
            })
        })
        .transpose()
}

fn ignore_tag(set: &Vars<'_>) -> Result<String, ConfigError> {
    let ignore_tag = set("IGNORE_TAG").unwrap_or_else(|| DEFAULT_IGNORE_TAG.to_string());
    if ignore_tag.len() > 128 {
        return Err(invalid(
            "IGNORE_TAG",
            &ignore_tag,
            "a tag key has at most 128 characters",
        ));
    }
    Ok(ignore_tag)
}

// The lifecycle: STATE_TABLE, REPEAT_INTERVAL.

fn state_table(set: &Vars<'_>) -> Result<Option<String>, ConfigError> {
    set("STATE_TABLE")
        .map(|t| {
            let valid = (3..=255).contains(&t.len())
                && t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
            if valid {
                Ok(t)
            } else {
                Err(invalid(
                    "STATE_TABLE",
                    &t,
                    "a DynamoDB table name has 3 to 255 of a-z, A-Z, 0-9, _ . -",
                ))
            }
        })
        .transpose()
}

/// `30m`, `4h` or `2d` in the variable `name`, or `default` when unset.
fn interval(
    set: &Vars<'_>,
    name: &'static str,
    default: Duration,
) -> Result<Duration, ConfigError> {
    let Some(v) = set(name) else {
        return Ok(default);
    };
    parse_interval(&v).ok_or_else(|| {
        invalid(
            name,
            &v,
            "expected a positive whole number of m, h or d, like 30m, 4h or 2d",
        )
    })
}

// Access: ACCESS_CHECK, ACCESS_CHECK_HOURS.

/// How long a verdict is kept when `ACCESS_CHECK_HOURS` is unset.
pub const DEFAULT_ACCESS_CHECK_HOURS: i64 = 24;
/// The longest `ACCESS_CHECK_HOURS`: a year. A verdict older than that says
/// little about a role that may have changed since.
const MAX_ACCESS_CHECK_HOURS: i64 = 24 * 366;

fn access_check(set: &Vars<'_>) -> Result<Option<Duration>, ConfigError> {
    let hours = match set("ACCESS_CHECK_HOURS") {
        None => DEFAULT_ACCESS_CHECK_HOURS,
        Some(v) => v
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|h| (0..=MAX_ACCESS_CHECK_HOURS).contains(h))
            .ok_or_else(|| {
                invalid(
                    "ACCESS_CHECK_HOURS",
                    &v,
                    &format!("expected a whole number of hours from 0 to {MAX_ACCESS_CHECK_HOURS}"),
                )
            })?,
    };
    Ok(flag(set, "ACCESS_CHECK", true)?.then(|| Duration::hours(hours)))
}

// Organization-wide: ACCOUNTS, EXCLUDE_ACCOUNTS, MEMBER_ROLE_NAME, ACCOUNT_CONCURRENCY.

struct Organization {
    accounts: AccountScope,
    exclude_accounts: Vec<String>,
    member_role_name: String,
    account_concurrency: usize,
}

fn organization(set: &Vars<'_>) -> Result<Organization, ConfigError> {
    let accounts = match set("ACCOUNTS") {
        None => AccountScope::Own,
        Some(v) if v.trim().eq_ignore_ascii_case("organization") => AccountScope::Organization,
        Some(v) => AccountScope::List(list("ACCOUNTS", &v, parse_account)?),
    };
    let exclude_accounts = set("EXCLUDE_ACCOUNTS")
        .map(|v| list("EXCLUDE_ACCOUNTS", &v, parse_account))
        .transpose()?
        .unwrap_or_default();
    let member_role_name =
        set("MEMBER_ROLE_NAME").unwrap_or_else(|| DEFAULT_MEMBER_ROLE_NAME.to_string());
    let role_name_ok = (1..=64).contains(&member_role_name.len())
        && member_role_name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b));
    if !role_name_ok {
        return Err(invalid(
            "MEMBER_ROLE_NAME",
            &member_role_name,
            "an IAM role name has 1 to 64 of a-z, A-Z, 0-9 and +=,.@_-",
        ));
    }
    let account_concurrency = match set("ACCOUNT_CONCURRENCY") {
        None => DEFAULT_ACCOUNT_CONCURRENCY,
        Some(v) => v
            .trim()
            .parse()
            .ok()
            .filter(|n| (1..=256).contains(n))
            .ok_or_else(|| invalid("ACCOUNT_CONCURRENCY", &v, "expected a number from 1 to 256"))?,
    };
    Ok(Organization {
        accounts,
        exclude_accounts,
        member_role_name,
        account_concurrency,
    })
}

fn invalid(variable: &'static str, value: &str, reason: &str) -> ConfigError {
    ConfigError::Invalid {
        variable,
        value: value.to_string(),
        reason: reason.to_string(),
    }
}

/// A comma list in which every item must parse; empty items and duplicates are errors.
fn list(
    variable: &'static str,
    value: &str,
    item: impl Fn(&str) -> Result<String, String>,
) -> Result<Vec<String>, ConfigError> {
    let mut items: Vec<String> = Vec::new();
    for raw in value.split(',') {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(invalid(variable, value, "the list has an empty item"));
        }
        let parsed = item(raw).map_err(|reason| invalid(variable, value, &reason))?;
        if !items.contains(&parsed) {
            items.push(parsed);
        }
    }
    Ok(items)
}

/// `30m`, `4h`, `2d`.
pub fn parse_interval(value: &str) -> Option<Duration> {
    let value = value.trim();
    let unit = match value.chars().last()? {
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => return None,
    };
    let count: u64 = value[..value.len() - 1].parse().ok()?;
    let seconds = count.checked_mul(unit).filter(|_| count > 0)?;
    Duration::try_seconds(i64::try_from(seconds).ok()?)
}

pub fn parse_bool(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Some(true),
        "false" | "0" | "no" => Some(false),
        _ => None,
    }
}

fn is_topic_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.split(':').collect();
    matches!(parts.as_slice(),
        ["arn", partition, "sns", region, account, name]
            if partition.starts_with("aws")
                && is_region(region)
                && account.len() == 12
                && account.bytes().all(|b| b.is_ascii_digit())
                && !name.is_empty()
                && name.len() <= 256
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:connection-alerts";

    fn config(vars: &[(&str, &str)]) -> Result<MonitorConfig, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        MonitorConfig::from_vars(|name| vars.get(name).cloned(), Some("us-east-1"))
    }

    #[test]
    fn defaults() {
        let c = config(&[("ALERT_TOPIC_ARN", TOPIC)]).unwrap();
        assert_eq!(c.topic_arn.as_deref(), Some(TOPIC));
        assert_eq!(c.statuses, ["PENDING", "ERROR"]);
        assert_eq!(c.host_statuses, DEFAULT_HOST_STATUSES);
        assert_eq!(c.own_region, "us-east-1");
        assert_eq!(c.regions, None);
        assert!(c.watches("ap-south-2"), "unset: every home region");
        assert_eq!(c.host_regions(), ["us-east-1"]);
        assert_eq!(c.provider_types, None);
        assert_eq!(c.ignore_tag, DEFAULT_IGNORE_TAG);
        assert!(!c.dry_run);
        assert_eq!(c.state_table, None);
        assert_eq!(c.repeat_interval, DEFAULT_REPEAT_INTERVAL);
        assert_eq!(c.access_check, Some(Duration::hours(24)));
    }

    #[test]
    fn access_verdicts_are_kept_from_0_hours_to_a_year_or_not_checked() {
        let hours = |v: &str| config(&[("ALERT_TOPIC_ARN", TOPIC), ("ACCESS_CHECK_HOURS", v)]);
        assert_eq!(hours("0").unwrap().access_check, Some(Duration::zero()));
        assert_eq!(
            hours("8784").unwrap().access_check,
            Some(Duration::hours(8784))
        );
        assert!(hours("8785").is_err());
        let off = config(&[("ALERT_TOPIC_ARN", TOPIC), ("ACCESS_CHECK", "false")]).unwrap();
        assert_eq!(off.access_check, None);
    }

    #[test]
    fn accounts() {
        let own = config(&[("ALERT_TOPIC_ARN", TOPIC)]).unwrap();
        assert_eq!(own.accounts, AccountScope::Own);
        assert_eq!(own.member_role_name, DEFAULT_MEMBER_ROLE_NAME);
        assert_eq!(own.account_concurrency, DEFAULT_ACCOUNT_CONCURRENCY);
        let org = config(&[
            ("ALERT_TOPIC_ARN", TOPIC),
            ("ACCOUNTS", "Organization"),
            ("EXCLUDE_ACCOUNTS", "111111111111, 222222222222"),
            ("MEMBER_ROLE_NAME", "audit-reader"),
            ("ACCOUNT_CONCURRENCY", "4"),
        ])
        .unwrap();
        assert_eq!(org.accounts, AccountScope::Organization);
        assert_eq!(org.exclude_accounts, ["111111111111", "222222222222"]);
        assert_eq!(
            (org.member_role_name.as_str(), org.account_concurrency),
            ("audit-reader", 4)
        );
        let listed = config(&[
            ("ALERT_TOPIC_ARN", TOPIC),
            ("ACCOUNTS", "333333333333,444444444444"),
        ])
        .unwrap();
        assert_eq!(
            listed.accounts,
            AccountScope::List(vec!["333333333333".into(), "444444444444".into()])
        );
    }

    #[test]
    fn lifecycle_settings() {
        let c = config(&[
            ("ALERT_TOPIC_ARN", TOPIC),
            ("STATE_TABLE", "connection-watch-state"),
            ("REPEAT_INTERVAL", "4h"),
        ])
        .unwrap();
        assert_eq!(c.state_table.as_deref(), Some("connection-watch-state"));
        assert_eq!(c.repeat_interval, Duration::hours(4));
        assert_eq!(parse_interval("30m"), Some(Duration::minutes(30)));
        assert_eq!(parse_interval("2d"), Some(Duration::days(2)));
        for bad in [
            "",
            "0h",
            "4",
            "h",
            "-1h",
            "1.5h",
            "4w",
            "99999999999999999d",
        ] {
            assert_eq!(parse_interval(bad), None, "{bad}");
        }
    }

    #[test]
    fn lists_are_trimmed_normalised_and_deduplicated() {
        let c = config(&[
            ("ALERT_TOPIC_ARN", TOPIC),
            ("ALERT_STATUSES", "pending, ERROR,PENDING"),
            ("MONITOR_REGIONS", "eu-west-1, us-east-1"),
            ("PROVIDER_TYPES", "github,GitLab"),
            ("ALERT_HOST_STATUSES", "pending, SOME_NEW_STATUS"),
        ])
        .unwrap();
        assert_eq!(c.statuses, ["PENDING", "ERROR"]);
        assert_eq!(
            c.regions.as_deref(),
            Some(&["eu-west-1".to_string(), "us-east-1".to_string()][..])
        );
        assert!(c.watches("eu-west-1") && !c.watches("ap-south-1"));
        assert_eq!(c.host_regions(), ["eu-west-1", "us-east-1"]);
        assert_eq!(c.host_statuses, ["PENDING", "SOME_NEW_STATUS"]);
        assert_eq!(c.provider_types.unwrap(), ["GitHub", "GitLab"]);
    }

    #[test]
    fn statuses_and_provider_types_aws_added_are_accepted() {
        let c = config(&[
            ("ALERT_TOPIC_ARN", TOPIC),
            ("ALERT_STATUSES", "pending,suspended"),
            (
                "PROVIDER_TYPES",
                "AzureDevOps,githubenterpriseclouddataresidency",
            ),
        ])
        .unwrap();
        assert_eq!(c.statuses, ["PENDING", "SUSPENDED"]);
        assert_eq!(
            c.provider_types.unwrap(),
            ["AzureDevOps", "GitHubEnterpriseCloudDataResidency"]
        );
    }

    #[test]
    fn a_missing_region_says_so_even_in_a_dry_run() {
        let vars = |name: &str| (name == "DRY_RUN").then(|| "true".to_string());
        let message = MonitorConfig::from_vars(vars, None)
            .unwrap_err()
            .to_string();
        assert!(message.starts_with("AWS_REGION is required"), "{message}");
        assert!(!message.contains("DRY_RUN"), "{message}");
    }

    #[test]
    fn topic_is_optional_only_in_dry_run() {
        assert_eq!(
            config(&[]).unwrap_err(),
            ConfigError::Missing {
                variable: "ALERT_TOPIC_ARN",
                hint: " (or set DRY_RUN=true to publish nothing)",
            }
        );
        assert_eq!(config(&[("DRY_RUN", "true")]).unwrap().topic_arn, None);
    }

    #[test]
    fn every_bad_value_names_its_variable_and_value() {
        for (variable, value) in [
            ("ALERT_STATUSES", "PENDING,NOT A STATUS"),
            ("ALERT_STATUSES", "PENDING,,ERROR"),
            ("MONITOR_REGIONS", "us-east-1,"),
            ("MONITOR_REGIONS", "mars-north-1a"),
            ("PROVIDER_TYPES", "GitHub,CodeCommit"),
            ("DRY_RUN", "maybe"),
            ("ALERT_TOPIC_ARN", "arn:aws:sqs:us-east-1:123456789012:q"),
            ("ALERT_TOPIC_ARN", "arn:aws:sns:us-east-1:1234:topic"),
            ("REPEAT_INTERVAL", "daily"),
            ("STATE_TABLE", "a/b"),
            ("ALERT_HOST_STATUSES", "PENDING,"),
            ("ALERT_HOST_STATUSES", "VPC CONFIG"),
            ("ACCOUNTS", "123,organization"),
            ("EXCLUDE_ACCOUNTS", "12345678901x"),
            ("MEMBER_ROLE_NAME", "role/with/slashes"),
            ("ACCOUNT_CONCURRENCY", "0"),
            ("EVENT_BUS", "bus with spaces"),
            ("USED_BY", "pipelines,lambda"),
            ("RETRY_ON_RESOLVED", "sometimes"),
            ("USED_BY", "none,codebuild"),
            ("USED_BY_REGIONS", "us-east-1,enabled"),
            ("USED_BY_REGIONS", "us-east-1,,eu-west-1"),
            ("RUN_INTERVAL", "hourly"),
            ("ACCESS_CHECK", "maybe"),
            ("ACCESS_CHECK_HOURS", "-1"),
            ("ACCESS_CHECK_HOURS", "8785"),
            ("ACCESS_CHECK_HOURS", "1.5"),
            ("EVENT_BUS", "aws.partner/saas.com/1/bus"),
            (
                "EVENT_BUS",
                "arn:aws:sns:us-east-1:123456789012:event-bus/alerts",
            ),
            (
                "EVENT_BUS",
                "arn:aws:events:us-east-1:123456789012:rule/alerts",
            ),
        ] {
            let mut vars = vec![("ALERT_TOPIC_ARN", TOPIC)];
            vars.push((variable, value));
            let err = config(&vars).unwrap_err();
            let message = err.to_string();
            assert!(message.starts_with(variable), "{message}");
            assert!(message.contains(&format!("{value:?}")), "{message}");
        }
    }

    #[test]
    fn retry_on_resolved_needs_the_pipelines_looked_up() {
        let on = |used_by: &str| {
            config(&[
                ("ALERT_TOPIC_ARN", TOPIC),
                ("RETRY_ON_RESOLVED", "true"),
                ("USED_BY", used_by),
            ])
        };
        assert!(on("pipelines").unwrap().retry_on_resolved);
        let err = on("codebuild").unwrap_err().to_string();
        assert!(err.starts_with("RETRY_ON_RESOLVED"), "{err}");
        assert!(
            !config(&[("ALERT_TOPIC_ARN", TOPIC)])
                .unwrap()
                .retry_on_resolved
        );
    }

    #[test]
    fn used_by_names_what_is_looked_up() {
        let used_by = |value: Option<&str>| {
            let mut vars = vec![("ALERT_TOPIC_ARN", TOPIC)];
            vars.extend(value.map(|v| ("USED_BY", v)));
            let u = config(&vars).unwrap().used_by;
            (u.pipelines, u.codebuild, u.git_sync)
        };
        assert_eq!(used_by(None), (true, true, true));
        assert_eq!(used_by(Some("pipelines")), (true, false, false));
        assert_eq!(used_by(Some(" CodeBuild ")), (false, true, false));
        assert_eq!(used_by(Some("none")), (false, false, false));
        assert_eq!(used_by(Some("codebuild,pipelines")), (true, true, false));
        assert_eq!(used_by(Some("GitSync")), (false, false, true));
    }

    #[test]
    fn used_by_regions_default_to_every_enabled_region() {
        let regions = |value: Option<&str>| {
            let mut vars = vec![("ALERT_TOPIC_ARN", TOPIC)];
            vars.extend(value.map(|v| ("USED_BY_REGIONS", v)));
            config(&vars).unwrap().used_by_regions
        };
        assert_eq!(regions(None), UsedByRegions::Enabled);
        assert_eq!(regions(Some(" Enabled ")), UsedByRegions::Enabled);
        assert_eq!(
            regions(Some("eu-west-1, us-east-1")),
            UsedByRegions::Listed(vec!["eu-west-1".into(), "us-east-1".into()])
        );
    }

    #[test]
    fn an_event_bus_is_a_name_or_an_arn() {
        let bus = |value: &str| {
            config(&[("ALERT_TOPIC_ARN", TOPIC), ("EVENT_BUS", value)]).map(|c| c.event_bus)
        };
        assert_eq!(
            config(&[("ALERT_TOPIC_ARN", TOPIC)]).unwrap().event_bus,
            None
        );
        for ok in [
            "default",
            "platform.alerts-1",
            "arn:aws:events:eu-west-1:123456789012:event-bus/central",
            "arn:aws-us-gov:events:us-gov-west-1:123456789012:event-bus/default",
        ] {
            assert_eq!(bus(ok).unwrap().as_deref(), Some(ok));
        }
        // The 1,600-character edge of EventBusName.
        assert!(bus(&"b".repeat(1600)).is_ok());
        assert!(bus(&"b".repeat(1601)).is_err());
    }

    #[test]
    fn the_function_region_is_required() {
        let err = MonitorConfig::from_vars(|n| (n == "DRY_RUN").then(|| "true".into()), None)
            .unwrap_err();
        assert!(err.to_string().contains("AWS_REGION"));
    }
}
