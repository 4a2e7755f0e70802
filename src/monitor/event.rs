//! What one monitor invocation asks for, parsed from its event. Pure: no I/O.

use crate::domain::arn::{parse_account, parse_region};
use crate::domain::git_sync::{
    parse_branch, parse_repository_link_id, parse_resource_name, LinkBranch, SyncTarget,
};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use serde_json::Value;
use thiserror::Error;

/// How far a scheduled event's `time` may lie from the clock and still be
/// the run's "now": Lambda delivers an asynchronous event late (at most six
/// hours, and the template drops events older than one), never early, so
/// the future allows only clock skew. A week back keeps replays of recent
/// events deterministic.
const EARLIEST: Duration = Duration::days(7);
const LATEST: Duration = Duration::minutes(5);

#[derive(Debug, Error, PartialEq, Eq)]
#[error("invalid event: {0}")]
pub struct InvalidEvent(pub String);

/// What one invocation asks for, beyond the configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunRequest {
    /// Narrows the watched regions for this run, each named once.
    pub regions: Option<Vec<String>>,
    pub dry_run: Option<bool>,
    /// The scheduled event's `time`, the run's "now".
    pub time: Option<DateTime<Utc>>,
    /// Organization-wide: narrows the run to these accounts.
    pub accounts: Option<Vec<String>>,
    /// A Git sync event's run: only these synced stacks (or a region's).
    pub syncs: Option<Vec<SyncTarget>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ManualRun {
    regions: Option<Vec<String>>,
    dry_run: Option<bool>,
    accounts: Option<Vec<String>>,
    syncs: Option<Vec<NamedSync>>,
}

/// `{"region": "eu-west-1", "resourceName": "web"}`, as the template's Git
/// sync rule writes it, or `{"region": ..., "repositoryLinkId": ...,
/// "branch": ...}`, as its repository sync rule does (the event's detail
/// carries both: CloudFormation User Guide, "Repository Sync Status Change
/// event detail"); with neither, the region's synced stacks.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NamedSync {
    region: String,
    resource_name: Option<String>,
    repository_link_id: Option<String>,
    branch: Option<String>,
}

impl NamedSync {
    fn parse(&self) -> Result<SyncTarget, InvalidEvent> {
        let invalid = |e: String| InvalidEvent(format!("syncs: {e}"));
        Ok(SyncTarget {
            region: parse_region(&self.region).map_err(invalid)?,
            resource_name: self
                .resource_name
                .as_deref()
                .map(parse_resource_name)
                .transpose()
                .map_err(invalid)?,
            branch: match (&self.repository_link_id, &self.branch) {
                (Some(id), Some(branch)) => Some(LinkBranch {
                    repository_link_id: parse_repository_link_id(id).map_err(invalid)?,
                    branch: parse_branch(branch).map_err(invalid)?,
                }),
                (None, None) => None,
                _ => {
                    return Err(invalid(
                        "repositoryLinkId and branch name one branch: both or neither".into(),
                    ))
                }
            },
        })
    }
}

impl RunRequest {
    /// A scheduled EventBridge event (`source: aws.events`, `detail-type:
    /// Scheduled Event`), `{}`, or `{"regions": [...], "dryRun": true}`.
    /// `clock` is now: a scheduled `time` far from it is replaced by it, so
    /// an event cannot date the lifecycle's records into the future.
    pub fn from_event(event: &Value, clock: DateTime<Utc>) -> Result<Self, InvalidEvent> {
        if is_scheduled(event) {
            let time = match event.get("time") {
                None | Some(Value::Null) => None,
                Some(t) => {
                    let time: DateTime<Utc> = serde_json::from_value(t.clone())
                        .map_err(|e| InvalidEvent(format!("time {t}: {e}")))?;
                    if time < clock - EARLIEST || time > clock + LATEST {
                        tracing::warn!(%time, %clock, "the event's time is far from the clock; the clock is used");
                        Some(clock)
                    } else {
                        Some(time)
                    }
                }
            };
            return Ok(Self {
                time,
                ..Self::default()
            });
        }
        if let Some(syncs) = git_sync_event(event)? {
            return Ok(Self {
                syncs: Some(syncs),
                ..Self::default()
            });
        }
        let manual: ManualRun = match event {
            Value::Null => return Ok(Self::default()),
            other => serde_json::from_value(other.clone()).map_err(|e| {
                InvalidEvent(format!(
                    "{e}; expected a scheduled event (source aws.events, detail-type Scheduled Event), \
                     {{}}, or {{\"regions\": [\"eu-west-1\"], \"dryRun\": true}}"
                ))
            })?,
        };
        let regions = manual
            .regions
            .map(|named| each_once("regions", &named, parse_region))
            .transpose()?;
        let accounts = manual
            .accounts
            .map(|named| each_once("accounts", &named, parse_account))
            .transpose()?;
        let syncs = manual.syncs.map(|named| sync_targets(&named)).transpose()?;
        if syncs.is_some() && (regions.is_some() || accounts.is_some()) {
            return Err(InvalidEvent(
                "syncs narrows a run to synced stacks of the own account; it cannot be \
                 combined with regions or accounts"
                    .into(),
            ));
        }
        Ok(Self {
            regions,
            dry_run: manual.dry_run,
            time: None,
            accounts,
            syncs,
        })
    }
}

/// The most synced stacks one narrowed run names: a Git sync event names one.
const MAX_SYNC_TARGETS: usize = 100;

/// A non-empty list of synced stacks, each kept once.
fn sync_targets(named: &[NamedSync]) -> Result<Vec<SyncTarget>, InvalidEvent> {
    if named.is_empty() || named.len() > MAX_SYNC_TARGETS {
        return Err(InvalidEvent(format!(
            "syncs names {} stacks; expected 1 to {MAX_SYNC_TARGETS}",
            named.len()
        )));
    }
    let mut targets: Vec<SyncTarget> = Vec::new();
    for target in named.iter().map(NamedSync::parse) {
        let target = target?;
        if !targets.contains(&target) {
            targets.push(target);
        }
    }
    Ok(targets)
}

/// A non-empty list in which every item parses, each kept once.
fn each_once(
    field: &str,
    named: &[String],
    parse: fn(&str) -> Result<String, String>,
) -> Result<Vec<String>, InvalidEvent> {
    if named.is_empty() {
        return Err(InvalidEvent(format!("{field} is empty")));
    }
    let mut items: Vec<String> = Vec::new();
    for raw in named {
        let item = parse(raw).map_err(|e| InvalidEvent(format!("{field}: {e}")))?;
        if !items.contains(&item) {
            items.push(item);
        }
    }
    Ok(items)
}

/// A Git sync event as AWS emits it (`source: aws.codeconnections`), for a
/// rule that targets the monitor without the template's input transformer:
/// a resource's sync names its stack (`detail.syncTarget`), a repository's
/// sync its link and branch (`detail.repositoryLinkId`, `detail.branch`).
/// Both spellings of the detail types count ("GitSync ..."
/// in the EventBridge events reference, "Git Sync ..." in the
/// CloudFormation User Guide).
fn git_sync_event(event: &Value) -> Result<Option<Vec<SyncTarget>>, InvalidEvent> {
    if event.get("source").and_then(Value::as_str) != Some("aws.codeconnections") {
        return Ok(None);
    }
    let kind = event
        .get("detail-type")
        .and_then(Value::as_str)
        .map(|t| t.replacen("Git Sync", "GitSync", 1));
    let text = |path: &str| {
        event
            .pointer(path)
            .and_then(Value::as_str)
            .unwrap_or_default()
    };
    let given = |path: &str| {
        event
            .pointer(path)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let named = match kind.as_deref() {
        Some("GitSync Resource Sync Status Change") => NamedSync {
            region: text("/region").to_string(),
            resource_name: Some(text("/detail/syncTarget").to_string()),
            repository_link_id: None,
            branch: None,
        },
        Some("GitSync Repository Sync Status Change") => NamedSync {
            region: text("/region").to_string(),
            resource_name: None,
            repository_link_id: given("/detail/repositoryLinkId"),
            branch: given("/detail/branch"),
        },
        _ => {
            return Err(InvalidEvent(format!(
                "an aws.codeconnections event of detail-type {:?} asks for no run",
                text("/detail-type")
            )))
        }
    };
    Ok(Some(vec![named.parse()?]))
}

fn is_scheduled(event: &Value) -> bool {
    event.get("source").and_then(Value::as_str) == Some("aws.events")
        && event.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn clock() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 8, 1, 0).unwrap()
    }

    fn parse(event: Value) -> Result<RunRequest, InvalidEvent> {
        RunRequest::from_event(&event, clock())
    }

    fn scheduled(time: &str) -> Value {
        json!({
            "version": "0", "id": "53dc4d37", "detail-type": "Scheduled Event",
            "source": "aws.events", "account": "123456789012", "time": time,
            "region": "us-east-1", "resources": [], "detail": {}
        })
    }

    #[test]
    fn scheduled_event_and_empty_object_use_the_configuration() {
        let request = parse(scheduled("2026-11-25T08:00:00Z")).unwrap();
        assert_eq!(request.regions, None);
        assert_eq!(request.dry_run, None);
        assert_eq!(
            request.time.unwrap().to_rfc3339(),
            "2026-11-25T08:00:00+00:00"
        );
        assert_eq!(parse(json!({})).unwrap(), RunRequest::default());
        assert_eq!(parse(Value::Null).unwrap(), RunRequest::default());
    }

    #[test]
    fn a_time_far_from_the_clock_is_replaced_by_the_clock() {
        for far in [
            "2099-01-01T00:00:00Z",
            "2026-11-25T08:07:00Z",
            "2026-11-17T08:00:00Z",
        ] {
            assert_eq!(parse(scheduled(far)).unwrap().time, Some(clock()), "{far}");
        }
        let late = parse(scheduled("2026-11-22T06:00:00Z")).unwrap();
        assert_eq!(late.time.unwrap().to_rfc3339(), "2026-11-22T06:00:00+00:00");
    }

    #[test]
    fn only_a_real_scheduled_event_is_scheduled() {
        // Anything else with a detail-type is no manual run either: refused.
        for event in [
            json!({"detail-type": "anything", "time": "2026-11-25T08:00:00Z"}),
            json!({"source": "my.app", "detail-type": "Scheduled Event", "time": "2026-11-25T08:00:00Z"}),
        ] {
            assert!(parse(event).is_err());
        }
    }

    #[test]
    fn manual_run_narrows_and_names_each_region_once() {
        let request =
            parse(json!({"regions": ["eu-west-1", "us-east-1", "eu-west-1"], "dryRun": true}))
                .unwrap();
        assert_eq!(request.regions.unwrap(), ["eu-west-1", "us-east-1"]);
        assert_eq!(request.dry_run, Some(true));
        let accounts = parse(json!({"accounts": ["111111111111", "111111111111"]})).unwrap();
        assert_eq!(accounts.accounts.unwrap(), ["111111111111"]);
    }

    #[test]
    fn a_git_sync_run_names_its_stacks_each_once() {
        let one = json!({"region": "eu-west-1", "resourceName": "web"});
        let request = parse(json!({"syncs": [one, one, {"region": "us-east-1"}]})).unwrap();
        let syncs = request.syncs.unwrap();
        assert_eq!(syncs.len(), 2);
        assert_eq!(syncs[0].resource_name.as_deref(), Some("web"));
        assert_eq!(
            (syncs[1].region.as_str(), &syncs[1].resource_name),
            ("us-east-1", &None)
        );
        let names = |n: usize| {
            let syncs: Vec<Value> = (0..n)
                .map(|i| json!({"region": "eu-west-1", "resourceName": format!("s{i}")}))
                .collect();
            parse(json!({ "syncs": syncs }))
        };
        assert_eq!(names(99).unwrap().syncs.unwrap().len(), 99);
        assert_eq!(names(100).unwrap().syncs.unwrap().len(), 100);
        assert!(names(101).is_err());
    }

    const LINK: &str = "0a1b2c3d-0000-4000-8000-00000000000f";

    #[test]
    fn a_repository_sync_run_reads_one_link_branch() {
        let named =
            json!({"syncs": [{"region": "eu-west-1", "repositoryLinkId": LINK, "branch": "main"}]});
        let [target] = &parse(named).unwrap().syncs.unwrap()[..] else {
            panic!("one target")
        };
        let branch = target.branch.as_ref().unwrap();
        assert_eq!(
            (branch.repository_link_id.as_str(), branch.branch.as_str()),
            (LINK, "main")
        );
        assert_eq!(target.resource_name, None);
        let raw = |detail: Value| {
            parse(json!({
                "source": "aws.codeconnections", "region": "eu-west-1",
                "detail-type": "Git Sync Repository Sync Status Change", "detail": detail
            }))
            .unwrap()
            .syncs
            .unwrap()
        };
        let from_aws = raw(json!({"repositoryLinkId": LINK, "branch": "main", "status": "FAILED"}));
        assert_eq!(from_aws[0].branch, target.branch, "AWS's own event");
        let older = raw(json!({"status": "FAILED"}));
        assert_eq!(older[0].branch, None, "without them, the whole region");
    }

    #[test]
    fn bad_events_are_refused_with_the_reason() {
        for (event, expect) in [
            (json!({"region": ["eu-west-1"]}), "unknown field `region`"),
            (json!({"regions": "eu-west-1"}), "invalid type"),
            (json!({"regions": []}), "regions is empty"),
            (json!({"regions": ["mars-1"]}), "\"mars-1\" is not a region"),
            (json!({"accounts": ["12345"]}), "not a 12-digit account id"),
            (json!({"accounts": []}), "accounts is empty"),
            (json!({"dryRun": "yes"}), "invalid type"),
            (scheduled("yesterday"), "time"),
            (json!([1, 2]), "invalid type"),
            (json!({"syncs": []}), "expected 1 to 100"),
            (json!({"syncs": [{"region": "mars"}]}), "not a region"),
            (
                json!({"syncs": [{"region": "eu-west-1", "resourceName": "a b"}]}),
                "not a stack name",
            ),
            (
                json!({"syncs": [{"region": "eu-west-1", "stack": "a"}]}),
                "unknown field `stack`",
            ),
            (
                json!({"syncs": [{"region": "eu-west-1"}], "regions": ["eu-west-1"]}),
                "cannot be combined",
            ),
            (
                json!({"syncs": [{"region": "eu-west-1", "repositoryLinkId": LINK}]}),
                "both or neither",
            ),
            (
                json!({"syncs": [{"region": "eu-west-1", "branch": "main"}]}),
                "both or neither",
            ),
            (
                json!({"syncs": [{"region": "eu-west-1", "repositoryLinkId": "l", "branch": "main"}]}),
                "not a repository link id",
            ),
            (
                json!({"syncs": [{"region": "eu-west-1", "repositoryLinkId": LINK, "branch": ""}]}),
                "not a branch name",
            ),
        ] {
            let err = parse(event.clone()).unwrap_err().to_string();
            assert!(err.contains(expect), "{event}: {err}");
        }
    }
}
