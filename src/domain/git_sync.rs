//! A CloudFormation stack synced from Git, as the project reports it, and
//! the rule that makes one stuck. Pure: no I/O.
//!
//! Git sync keeps a stack in step with a file in a branch, through a
//! repository link on a connection. When a sync fails, AWS puts a sync
//! blocker on the stack, and every later commit is ignored until a person
//! resolves it (API reference, `GetSyncBlockerSummary`, `SyncBlocker`).

use super::arn::{connection_key, stack_console_url};
use super::watched::{impl_watched, Kind, Lifecycle};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The regions where CloudFormation offers Git sync (CloudFormation User
/// Guide, "Sync stacks with Git sync", docs.aws.amazon.com/AWSCloudFormation/
/// latest/UserGuide/git-sync.html: "Git sync is available in the
/// following Regions"). Elsewhere the monitor reads no Git sync, so that an
/// answer AWS cannot give never marks a region unread on every run. A region
/// AWS adds is read from the release whose list names it.
pub const GIT_SYNC_REGIONS: [&str; 17] = [
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "ca-central-1",
    "ap-south-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-north-1",
    "eu-central-1",
    "eu-south-1",
    "sa-east-1",
];

/// Whether AWS offers Git sync in `region`.
pub fn offers_git_sync(region: &str) -> bool {
    GIT_SYNC_REGIONS.contains(&region)
}

/// A stack with an `ACTIVE` blocker: no commit reaches it until a person
/// resolves the blocker.
pub const BLOCKED: &str = "BLOCKED";
/// A stack whose branch's repository sync failed (a deployment file that
/// does not parse, a deleted branch, a connection in ERROR), with no active
/// blocker: its own latest sync may still read SUCCEEDED.
pub const REPOSITORY_SYNC_FAILED: &str = "REPOSITORY_SYNC_FAILED";
/// A stack whose latest sync attempt failed, with no active blocker (yet).
pub const FAILED: &str = "FAILED";

/// `SyncBlocker.Status` of a blocker still in force (`BlockerStatus`:
/// `ACTIVE`, `RESOLVED`).
const BLOCKER_ACTIVE: &str = "ACTIVE";
/// `ResourceSyncAttempt.Status` of a failed attempt.
const SYNC_FAILED: &str = "FAILED";
/// `ResourceSyncStatus` as the API reference lists it today; AWS may add words.
const SYNC_STATUSES: [&str; 4] = [SYNC_FAILED, "INITIATED", "IN_PROGRESS", "SUCCEEDED"];

/// Whether a sync attempt's status says it failed: `FAILED`, or a word AWS
/// may add that ends in it (`PARTIALLY_FAILED`, say), so that a new way to
/// fail never reads as healthy.
pub fn attempt_failed(status: &str) -> bool {
    status.ends_with(SYNC_FAILED)
}

/// Whether this version knows the sync status word (it is shown as AWS
/// wrote it either way).
pub fn is_known_sync_status(status: &str) -> bool {
    SYNC_STATUSES.contains(&status)
}

/// An active sync blocker, as `GetSyncBlockerSummary` describes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Blocker {
    pub id: String,
    /// Why AWS blocked the sync: text from AWS, escaped wherever it is shown.
    pub created_reason: String,
    pub created_at: DateTime<Utc>,
}

/// The latest sync attempt, as `GetResourceSyncStatus` describes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LatestSync {
    pub status: String,
    pub started_at: DateTime<Utc>,
}

/// The latest repository sync of one (link, branch), as
/// `GetRepositorySyncStatus` describes it (`RepositorySyncAttempt`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RepositorySync {
    pub status: String,
    pub started_at: DateTime<Utc>,
    /// The attempt's events, the latest `REPOSITORY_SYNC_EVENTS_KEPT`.
    pub events: Vec<RepositorySyncEvent>,
}

/// How many of a repository sync's events a stack carries: AWS gives no
/// bound (`RepositorySyncEventList`), and a record must stay under
/// DynamoDB's 400 KB item limit.
pub const REPOSITORY_SYNC_EVENTS_KEPT: usize = 10;

/// The longest event text a stack carries, in characters: the model gives
/// `Event` no bound, and each stack's record and message must stay small.
pub const REPOSITORY_SYNC_EVENT_CHARS: usize = 1000;

/// One event of a repository sync attempt (`RepositorySyncEvent`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RepositorySyncEvent {
    /// What happened: text from AWS, escaped wherever it is shown.
    pub event: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub time: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
}

impl RepositorySync {
    /// The attempt with only its latest events kept, each cut to
    /// `REPOSITORY_SYNC_EVENT_CHARS` (and an ellipsis).
    pub fn kept(mut self) -> Self {
        self.events.sort_by_key(|e| e.time);
        let drop = self
            .events
            .len()
            .saturating_sub(REPOSITORY_SYNC_EVENTS_KEPT);
        self.events.drain(..drop);
        for e in &mut self.events {
            if let Some((cut, _)) = e.event.char_indices().nth(REPOSITORY_SYNC_EVENT_CHARS) {
                e.event.truncate(cut);
                e.event.push('…');
            }
        }
        self
    }

    pub fn failed(&self) -> bool {
        attempt_failed(&self.status)
    }
}

/// A blocker as read, whatever its status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadBlocker {
    pub blocker: Blocker,
    pub status: String,
}

/// A repository link: a repository reached through a connection, in one
/// region (`ListRepositoryLinks`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RepositoryLink {
    pub id: String,
    pub arn: String,
    pub connection_arn: String,
    pub repository_name: String,
    pub provider_type: String,
}

impl RepositoryLink {
    /// The configuration of the stack `resource_name` synced from `branch`
    /// through this link; its region, account and partition are the link
    /// ARN's (`arn:<partition>:codestar-connections:<region>:<account>:repository-link/<id>`).
    pub fn sync_config(&self, resource_name: &str, branch: &str) -> Option<SyncConfig> {
        let parts: Vec<&str> = self.arn.splitn(6, ':').collect();
        let ["arn", partition, _, region, account, resource] = parts[..] else {
            return None;
        };
        resource.strip_prefix("repository-link/")?;
        Some(SyncConfig {
            region: region.to_string(),
            account: account.to_string(),
            partition: partition.to_string(),
            resource_name: resource_name.to_string(),
            repository_name: self.repository_name.clone(),
            branch: branch.to_string(),
            provider_type: self.provider_type.clone(),
            connection_arn: self.connection_arn.clone(),
            repository_link_id: self.id.clone(),
            repository_link_arn: self.arn.clone(),
        })
    }
}

/// What one stack's sync configuration says, before it is judged.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncConfig {
    pub region: String,
    pub account: String,
    pub partition: String,
    pub resource_name: String,
    pub repository_name: String,
    pub branch: String,
    pub provider_type: String,
    pub connection_arn: String,
    pub repository_link_id: String,
    pub repository_link_arn: String,
}

impl SyncConfig {
    /// The branch whose repository sync this stack follows.
    pub fn link_branch(&self) -> LinkBranch {
        LinkBranch {
            repository_link_id: self.repository_link_id.clone(),
            branch: self.branch.clone(),
        }
    }

    pub fn place(&self) -> SyncPlace<'_> {
        SyncPlace {
            region: &self.region,
            resource_name: &self.resource_name,
            repository_link_id: &self.repository_link_id,
            branch: &self.branch,
        }
    }
}

/// Where a stack is synced from: what a narrowed run's targets are matched
/// against.
#[derive(Clone, Copy, Debug)]
pub struct SyncPlace<'a> {
    pub region: &'a str,
    pub resource_name: &'a str,
    pub repository_link_id: &'a str,
    pub branch: &'a str,
}

/// One synced stack, in the shape of the reference's `syncs` objects.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncedStack {
    pub resource_name: String,
    /// Its sync identity, `arn:<partition>:cloudformation:<region>:<account>:stack/<name>`:
    /// the sync names the stack, not its id. The state table's key.
    pub arn: String,
    pub region: String,
    pub repository_name: String,
    pub branch: String,
    pub provider_type: String,
    pub connection_arn: String,
    pub repository_link_arn: String,
    /// `BLOCKED`, `REPOSITORY_SYNC_FAILED` or `FAILED`.
    pub status: String,
    /// The active blockers.
    pub blockers: Vec<Blocker>,
    pub latest_sync: Option<LatestSync>,
    /// Its connection's status, when it was listed or read (`None`: it
    /// could not be read); one not AVAILABLE is the first thing to repair.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_status: Option<String>,
    /// Its branch's latest repository sync, when that failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository_sync: Option<RepositorySync>,
    /// The stack's real id, `arn:...:stack/<name>/<uuid>`, from
    /// DescribeStacks; absent when the stack could not be described (it no
    /// longer exists).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack_id: Option<String>,
    /// The console's stack page: by `stack_id` once it is known, else by name.
    pub console_url: String,
    /// Organization-wide: the account it belongs to, and its name when
    /// AWS Organizations knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_name: Option<String>,
    #[serde(flatten)]
    pub lifecycle: Lifecycle,
}

impl_watched!(SyncedStack, Kind::GitSync, resource_name);

impl SyncedStack {
    pub fn place(&self) -> SyncPlace<'_> {
        let link_id = self
            .repository_link_arn
            .rsplit_once("repository-link/")
            .map_or("", |(_, id)| id);
        SyncPlace {
            region: &self.region,
            resource_name: &self.resource_name,
            repository_link_id: link_id,
            branch: &self.branch,
        }
    }

    /// Names the stack by the id DescribeStacks gave, and links the console
    /// to it: the console's `stackId` takes a stack's id (a name finds only
    /// a stack that is not deleted, and may find another of that name).
    pub fn described(&mut self, stack_id: String) {
        let partition = self.arn.split(':').nth(1).unwrap_or("aws");
        self.console_url = stack_console_url(partition, &self.region, &stack_id);
        self.stack_id = Some(stack_id);
    }
}

/// Notes on each stuck stack the status of its connection, from
/// `statuses` by `connection_key`; one not there is left as it was.
pub fn note_connection_status(stuck: &mut [SyncedStack], statuses: &HashMap<String, String>) {
    for stack in stuck {
        if let Some(status) = connection_key(&stack.connection_arn).and_then(|k| statuses.get(&k)) {
            stack.connection_status = Some(status.clone());
        }
    }
}

/// What was read of one synced stack: its blockers, its latest sync, and
/// its branch's latest repository sync.
#[derive(Clone, Debug, Default)]
pub struct SyncReads {
    pub blockers: Vec<ReadBlocker>,
    pub latest: Option<LatestSync>,
    pub repository: Option<RepositorySync>,
}

/// The stack `config` syncs, when it is stuck, the first of: a blocker in
/// `LatestBlockers` is `ACTIVE` (`BLOCKED`: no commit reaches it), its
/// branch's repository sync failed (`REPOSITORY_SYNC_FAILED`: the cause is
/// upstream of the stack), or its latest sync attempt failed (`FAILED`).
/// `None`: healthy, or not synced yet.
pub fn judge(config: SyncConfig, reads: SyncReads) -> Option<SyncedStack> {
    let SyncReads {
        blockers,
        latest,
        repository,
    } = reads;
    let active: Vec<Blocker> = blockers
        .into_iter()
        .filter(|b| b.status == BLOCKER_ACTIVE)
        .map(|b| b.blocker)
        .collect();
    let repository = repository.filter(RepositorySync::failed);
    let failed = latest.as_ref().is_some_and(|l| attempt_failed(&l.status));
    let status = if !active.is_empty() {
        BLOCKED
    } else if repository.is_some() {
        REPOSITORY_SYNC_FAILED
    } else if failed {
        FAILED
    } else {
        return None;
    };
    let SyncConfig {
        region,
        account,
        partition,
        resource_name,
        repository_name,
        branch,
        provider_type,
        connection_arn,
        repository_link_id: _,
        repository_link_arn,
    } = config;
    Some(SyncedStack {
        arn: format!("arn:{partition}:cloudformation:{region}:{account}:stack/{resource_name}"),
        console_url: stack_console_url(&partition, &region, &resource_name),
        resource_name,
        region,
        repository_name,
        branch,
        provider_type,
        connection_arn,
        repository_link_arn,
        status: status.to_string(),
        blockers: active,
        latest_sync: latest,
        repository_sync: repository.map(RepositorySync::kept),
        connection_status: None,
        stack_id: None,
        account: None,
        account_name: None,
        lifecycle: Lifecycle::default(),
    })
}

/// What a narrowed run reads of Git sync: one region's synced stacks, only
/// the one named, or only those of one repository link's branch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncTarget {
    pub region: String,
    pub resource_name: Option<String>,
    pub branch: Option<LinkBranch>,
}

/// A branch of a repository link: what one repository sync reads.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LinkBranch {
    pub repository_link_id: String,
    pub branch: String,
}

impl SyncTarget {
    pub fn covers(&self, place: SyncPlace<'_>) -> bool {
        self.region == place.region
            && self
                .resource_name
                .as_deref()
                .is_none_or(|name| name == place.resource_name)
            && self.branch.as_ref().is_none_or(|b| {
                b.repository_link_id == place.repository_link_id && b.branch == place.branch
            })
    }
}

/// A repository link id as `GetRepositorySyncStatus` takes it: a UUID
/// (botocore's codestar-connections model, `RepositoryLinkId`).
pub fn parse_repository_link_id(id: &str) -> Result<String, String> {
    let groups: Vec<&str> = id.split('-').collect();
    let shaped = groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups
            .iter()
            .all(|g| g.chars().all(|c| c.is_ascii_hexdigit()));
    if shaped {
        Ok(id.to_string())
    } else {
        Err(format!(
            "{:?} is not a repository link id (a UUID)",
            id.chars().take(60).collect::<String>()
        ))
    }
}

/// A branch name as `GetRepositorySyncStatus` takes it: 1 to 255
/// characters, with no line break (botocore's model, `BranchName`, `^.*$`).
pub fn parse_branch(branch: &str) -> Result<String, String> {
    let chars = branch.chars().count();
    if (1..=255).contains(&chars) && !branch.contains(['\n', '\r']) {
        Ok(branch.to_string())
    } else {
        Err(format!(
            "{:?} is not a branch name (1 to 255 characters on one line)",
            branch.chars().take(60).collect::<String>()
        ))
    }
}

/// A stack name as `GetSyncBlockerSummary` takes it: 1 to 100 characters,
/// letters and digits first, then letters, digits, `_` and `-` (botocore's
/// codestar-connections model, `ResourceName`).
pub fn parse_resource_name(name: &str) -> Result<String, String> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if first_ok && rest_ok && name.len() <= 100 {
        Ok(name.to_string())
    } else {
        Err(format!(
            "{:?} is not a stack name (1 to 100 letters, digits, _ and -, a letter or digit first)",
            name.chars().take(120).collect::<String>()
        ))
    }
}

#[cfg(test)]
pub(crate) fn sample(name: &str, status: &str, region: &str) -> SyncedStack {
    let at = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 12, 1, 6, 0, 0).unwrap();
    let blockers = (status == BLOCKED)
        .then(|| ReadBlocker {
            blocker: Blocker {
                id: format!("blocker-{name}"),
                created_reason: "Stack update failed: the template is not valid".into(),
                created_at: at,
            },
            status: BLOCKER_ACTIVE.into(),
        })
        .into_iter()
        .collect();
    let latest = LatestSync {
        status: if status == FAILED {
            SYNC_FAILED
        } else {
            "SUCCEEDED"
        }
        .into(),
        started_at: at,
    };
    let config = SyncConfig {
        region: region.into(),
        account: "123456789012".into(),
        partition: "aws".into(),
        resource_name: name.into(),
        repository_name: "infra".into(),
        branch: "main".into(),
        provider_type: "GitHub".into(),
        connection_arn: format!(
            "arn:aws:codestar-connections:{region}:123456789012:connection/00000000-0000-4000-8000-000000000001"
        ),
        repository_link_id: "00000000-0000-4000-8000-000000000002".into(),
        repository_link_arn: format!(
            "arn:aws:codestar-connections:{region}:123456789012:repository-link/00000000-0000-4000-8000-000000000002"
        ),
    };
    judge(
        config,
        SyncReads {
            blockers,
            latest: Some(latest),
            repository: None,
        },
    )
    .expect("a stuck sample")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, hour, 0, 0).unwrap()
    }

    fn blocker(id: &str, status: &str) -> ReadBlocker {
        ReadBlocker {
            blocker: Blocker {
                id: id.into(),
                created_reason: "reason".into(),
                created_at: at(1),
            },
            status: status.into(),
        }
    }

    fn sync(status: &str) -> Option<LatestSync> {
        Some(LatestSync {
            status: status.into(),
            started_at: at(2),
        })
    }

    fn reads(blockers: Vec<ReadBlocker>, latest: Option<LatestSync>) -> SyncReads {
        SyncReads {
            blockers,
            latest,
            repository: None,
        }
    }

    fn repository(status: &str, events: usize) -> RepositorySync {
        RepositorySync {
            status: status.into(),
            started_at: at(3),
            events: (0..events)
                .map(|n| RepositorySyncEvent {
                    event: format!("event {n}"),
                    kind: "ERROR".into(),
                    time: at(3) + chrono::Duration::seconds(n as i64),
                    external_id: None,
                })
                .rev()
                .collect(),
        }
    }

    fn config() -> SyncConfig {
        SyncConfig {
            region: "eu-west-1".into(),
            account: "111111111111".into(),
            partition: "aws".into(),
            resource_name: "web".into(),
            ..SyncConfig::default()
        }
    }

    #[test]
    fn an_active_blocker_blocks_whatever_the_latest_sync_says() {
        let stack = judge(
            config(),
            reads(vec![blocker("b1", "ACTIVE")], sync("SUCCEEDED")),
        )
        .unwrap();
        assert_eq!(stack.status, BLOCKED);
        assert_eq!(stack.blockers.len(), 1);
        assert_eq!(
            stack.arn,
            "arn:aws:cloudformation:eu-west-1:111111111111:stack/web"
        );
        assert!(stack
            .console_url
            .contains("region=eu-west-1#/stacks/stackinfo?stackId=web"));
        let both = vec![blocker("b1", "RESOLVED"), blocker("b2", "ACTIVE")];
        let stack = judge(config(), reads(both, sync("FAILED"))).unwrap();
        assert_eq!(stack.status, BLOCKED);
        assert_eq!(stack.blockers[0].id, "b2", "only the active ones");
    }

    #[test]
    fn a_failed_repository_sync_comes_after_a_blocker_and_before_the_stacks_own_sync() {
        let failed = |blockers, latest| SyncReads {
            repository: Some(repository("FAILED", 3)),
            ..reads(blockers, latest)
        };
        let stack = judge(config(), failed(Vec::new(), sync("SUCCEEDED"))).unwrap();
        assert_eq!(
            stack.status, REPOSITORY_SYNC_FAILED,
            "its own sync succeeded"
        );
        assert_eq!(stack.repository_sync.unwrap().events.len(), 3);
        let stack = judge(config(), failed(Vec::new(), sync("FAILED"))).unwrap();
        assert_eq!(stack.status, REPOSITORY_SYNC_FAILED);
        let stack = judge(config(), failed(vec![blocker("b", "ACTIVE")], None)).unwrap();
        assert_eq!(stack.status, BLOCKED);
        assert!(
            stack.repository_sync.is_some(),
            "the cause upstream is kept"
        );
        for fine in ["SUCCEEDED", "QUEUED", "IN_PROGRESS", "INITIATED"] {
            let reads = SyncReads {
                repository: Some(repository(fine, 1)),
                ..reads(Vec::new(), sync("SUCCEEDED"))
            };
            assert_eq!(judge(config(), reads), None, "{fine}");
        }
    }

    #[test]
    fn a_repository_sync_keeps_its_latest_events() {
        for (n, kept) in [(9, 9), (10, 10), (11, 10)] {
            let sync = repository("FAILED", n).kept();
            assert_eq!(sync.events.len(), kept, "{n}");
            assert_eq!(
                sync.events.last().unwrap().event,
                format!("event {}", n - 1)
            );
        }
        assert_eq!(REPOSITORY_SYNC_EVENTS_KEPT, 10);
    }

    #[test]
    fn a_long_event_is_cut_at_a_character() {
        for (chars, kept) in [(999, 999), (1000, 1000), (1001, 1001)] {
            let mut sync = repository("FAILED", 1);
            sync.events[0].event = "é".repeat(chars);
            let event = &sync.kept().events[0].event;
            assert_eq!(event.chars().count(), kept, "{chars}");
            assert_eq!(
                event.ends_with('…'),
                chars > REPOSITORY_SYNC_EVENT_CHARS,
                "{chars}"
            );
        }
    }

    #[test]
    fn a_failed_sync_without_a_blocker_is_failed() {
        let stack = judge(
            config(),
            reads(vec![blocker("b1", "RESOLVED")], sync("FAILED")),
        )
        .unwrap();
        assert_eq!((stack.status.as_str(), stack.blockers.len()), (FAILED, 0));
    }

    #[test]
    fn an_unknown_status_word_is_kept_as_aws_wrote_it_and_fails_only_if_it_ends_in_failed() {
        let stack = judge(config(), reads(Vec::new(), sync("PARTIALLY_FAILED"))).unwrap();
        assert_eq!(stack.status, FAILED);
        assert_eq!(stack.latest_sync.unwrap().status, "PARTIALLY_FAILED");
        assert!(!is_known_sync_status("PARTIALLY_FAILED"));
        assert_eq!(judge(config(), reads(Vec::new(), sync("QUEUED"))), None);
        assert!(SYNC_STATUSES.iter().all(|s| is_known_sync_status(s)));
    }

    #[test]
    fn healthy_resolved_and_not_yet_synced_stacks_are_not_stuck() {
        for latest in [
            sync("SUCCEEDED"),
            sync("IN_PROGRESS"),
            sync("INITIATED"),
            None,
        ] {
            assert_eq!(
                judge(
                    config(),
                    reads(vec![blocker("b", "RESOLVED")], latest.clone())
                ),
                None
            );
            assert_eq!(judge(config(), reads(Vec::new(), latest)), None);
        }
    }

    #[test]
    fn stack_names_follow_the_model() {
        assert!(parse_resource_name("web-prod_2").is_ok());
        let long = "a".repeat(100);
        assert!(parse_resource_name(&long).is_ok());
        for bad in ["", "-web", "web stack", "web\n", &"a".repeat(101)] {
            assert!(parse_resource_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_target_covers_its_region_or_its_stack() {
        let region = SyncTarget {
            region: "eu-west-1".into(),
            resource_name: None,
            branch: None,
        };
        let stack = SyncTarget {
            resource_name: Some("web".into()),
            ..region.clone()
        };
        let main = SyncTarget {
            branch: Some(LinkBranch {
                repository_link_id: "link".into(),
                branch: "main".into(),
            }),
            ..region.clone()
        };
        let place = |region, resource_name, branch| SyncPlace {
            region,
            resource_name,
            repository_link_id: "link",
            branch,
        };
        let (web, api) = (
            place("eu-west-1", "web", "main"),
            place("eu-west-1", "api", "main"),
        );
        assert!(region.covers(api) && stack.covers(web) && main.covers(api));
        assert!(!stack.covers(api) && !region.covers(place("us-east-1", "web", "main")));
        assert!(!main.covers(place("eu-west-1", "web", "dev")));
        let other_link = SyncPlace {
            repository_link_id: "other",
            ..web
        };
        assert!(!main.covers(other_link));
    }

    #[test]
    fn link_ids_and_branches_follow_the_model() {
        assert!(parse_repository_link_id("0a1B2c3d-0000-4000-8000-00000000000f").is_ok());
        for bad in [
            "",
            "link",
            "0a1b2c3d-0000-4000-8000-00000000000",
            "0a1b2c3d_0000-4000-8000-000000000000",
        ] {
            assert!(parse_repository_link_id(bad).is_err(), "{bad:?}");
        }
        assert!(parse_branch("feature/ü").is_ok() && parse_branch(&"b".repeat(255)).is_ok());
        for bad in ["", "a\nb", &"b".repeat(256)] {
            assert!(parse_branch(bad).is_err(), "{bad:?}");
        }
    }
}
