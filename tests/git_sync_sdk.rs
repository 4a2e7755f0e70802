//! The Git sync scan of one region against mocked CodeConnections and
//! CloudFormation clients: links and configurations over pages, a blocked,
//! a failed and a healthy stack judged, a stack not synced yet
//! (`ResourceNotFoundException` is no error), a throttled and an
//! access-denied `GetSyncBlockerSummary` costing only their stack, and the
//! ignore tag read with `DescribeStacks` for stuck stacks only.

use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksOutput;
use aws_sdk_cloudformation::types::{Stack, StackStatus, Tag};
use aws_sdk_codestarconnections::operation::get_repository_sync_status::GetRepositorySyncStatusOutput;
use aws_sdk_codestarconnections::operation::get_resource_sync_status::GetResourceSyncStatusOutput;
use aws_sdk_codestarconnections::operation::get_sync_blocker_summary::GetSyncBlockerSummaryOutput;
use aws_sdk_codestarconnections::operation::list_repository_links::ListRepositoryLinksOutput;
use aws_sdk_codestarconnections::operation::list_sync_configurations::ListSyncConfigurationsOutput;
use aws_sdk_codestarconnections::primitives::DateTime;
use aws_sdk_codestarconnections::types::{
    BlockerStatus, BlockerType, ProviderType, RepositoryLinkInfo, RepositorySyncAttempt,
    RepositorySyncEvent, RepositorySyncStatus, ResourceSyncAttempt, ResourceSyncStatus, Revision,
    SyncBlocker, SyncBlockerSummary, SyncConfiguration, SyncConfigurationType,
};
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use connection_watch::aws::codestar::Connections;
use connection_watch::aws::stacks::StackClients;
use connection_watch::monitor::config::MonitorConfig;
use connection_watch::monitor::read::syncs::{scan_syncs, SyncScan};
use std::collections::HashMap;
use std::time::Duration;
use tokio::time::Instant;

const REGION: &str = "eu-west-1";
const CONNECTION: &str =
    "arn:aws:codeconnections:us-east-1:123456789012:connection/0a1b2c3d-aaaa-bbbb-cccc-dddddddddddd";

fn link(i: usize) -> RepositoryLinkInfo {
    let id = format!("{i:08}-2222-3333-4444-555555555555");
    RepositoryLinkInfo::builder()
        .connection_arn(CONNECTION)
        .owner_id("acme")
        .provider_type(ProviderType::Github)
        .repository_link_arn(format!(
            "arn:aws:codestar-connections:{REGION}:123456789012:repository-link/{id}"
        ))
        .repository_link_id(id)
        .repository_name(format!("repo-{i}"))
        .build()
        .unwrap()
}

fn sync(link: &str, stack: &str) -> SyncConfiguration {
    on_branch(link, stack, "main")
}

fn on_branch(link: &str, stack: &str, branch: &str) -> SyncConfiguration {
    SyncConfiguration::builder()
        .branch(branch)
        .owner_id("acme")
        .provider_type(ProviderType::Github)
        .repository_link_id(link)
        .repository_name("infra")
        .resource_name(stack)
        .role_arn("arn:aws:iam::123456789012:role/sync")
        .sync_type(SyncConfigurationType::CfnStackSync)
        .build()
        .unwrap()
}

fn blocker(id: &str, status: BlockerStatus) -> SyncBlocker {
    SyncBlocker::builder()
        .id(id)
        .r#type(BlockerType::Automated)
        .status(status)
        .created_reason("Stack update failed")
        .created_at(DateTime::from_secs(1_764_000_000))
        .build()
        .unwrap()
}

fn attempt(status: ResourceSyncStatus) -> ResourceSyncAttempt {
    let revision = Revision::builder()
        .branch("main")
        .directory("deployment.yaml")
        .owner_id("acme")
        .repository_name("infra")
        .provider_type(ProviderType::Github)
        .sha("0000000000000000000000000000000000000000")
        .build()
        .unwrap();
    ResourceSyncAttempt::builder()
        .set_events(Some(Vec::new()))
        .initial_revision(revision.clone())
        .started_at(DateTime::from_secs(1_764_000_100))
        .status(status)
        .target_revision(revision)
        .target("stack")
        .build()
        .unwrap()
}

/// `(stack, its blockers, its latest sync)`; `None`: never synced, which
/// GetResourceSyncStatus answers with ResourceNotFoundException.
type Stacks = &'static [(
    &'static str,
    &'static [(&'static str, BlockerStatus)],
    Option<ResourceSyncStatus>,
)];

fn reads(stacks: Stacks) -> (Rule, Rule) {
    let by_name: HashMap<&str, _> = stacks
        .iter()
        .map(|(n, b, s)| (*n, (*b, s.clone())))
        .collect();
    let blockers_of = by_name.clone();
    let blockers = mock!(aws_sdk_codestarconnections::Client::get_sync_blocker_summary)
        .match_requests(|r| r.sync_type() == Some(&SyncConfigurationType::CfnStackSync))
        .then_compute_output(move |r| {
            let name = r.resource_name().unwrap();
            let latest = blockers_of[name]
                .0
                .iter()
                .map(|(id, s)| blocker(id, s.clone()));
            let summary = SyncBlockerSummary::builder()
                .resource_name(name)
                .set_latest_blockers(Some(latest.collect()))
                .build()
                .unwrap();
            GetSyncBlockerSummaryOutput::builder()
                .sync_blocker_summary(summary)
                .build()
        });
    let status = mock!(aws_sdk_codestarconnections::Client::get_resource_sync_status)
        .match_requests(move |r| by_name[r.resource_name().unwrap()].1.is_some())
        .then_compute_output(|_| {
            GetResourceSyncStatusOutput::builder()
                .latest_sync(attempt(ResourceSyncStatus::Failed))
                .build()
        });
    (blockers, status)
}

/// GetRepositorySyncStatus for every branch: none synced yet
/// (`ResourceNotFoundException`), as for a link made before repository sync.
fn no_repository_sync() -> Rule {
    mock!(aws_sdk_codestarconnections::Client::get_repository_sync_status)
        .sequence()
        .http_status(
            400,
            Some(r#"{"__type":"ResourceNotFoundException","message":"no repository sync"}"#.into()),
        )
        .repeatedly()
        .build()
}

/// The latest repository sync of `branch`, with `events` (oldest first).
fn repository_sync(branch: &'static str, status: RepositorySyncStatus, events: usize) -> Rule {
    mock!(aws_sdk_codestarconnections::Client::get_repository_sync_status)
        .match_requests(move |r| {
            r.branch() == Some(branch)
                && r.sync_type() == Some(&SyncConfigurationType::CfnStackSync)
        })
        .then_compute_output(move |_| {
            let events = (0..events).map(|n| {
                RepositorySyncEvent::builder()
                    .event(format!("event {n}"))
                    .r#type("ERROR")
                    .time(DateTime::from_secs(1_764_000_200 + n as i64))
                    .build()
                    .unwrap()
            });
            let attempt = RepositorySyncAttempt::builder()
                .started_at(DateTime::from_secs(1_764_000_150))
                .status(status.clone())
                .set_events(Some(events.collect()))
                .build()
                .unwrap();
            GetRepositorySyncStatusOutput::builder()
                .latest_sync(attempt)
                .build()
        })
}

/// GetResourceSyncStatus for a stack never synced: ResourceNotFoundException.
fn never_synced(stack: &'static str) -> Rule {
    mock!(aws_sdk_codestarconnections::Client::get_resource_sync_status)
        .match_requests(move |r| r.resource_name() == Some(stack))
        .sequence()
        .http_status(
            400,
            Some(r#"{"__type":"ResourceNotFoundException","message":"no sync status"}"#.into()),
        )
        .repeatedly()
        .build()
}

/// Each stuck stack's (name, status), sorted by name.
fn stuck_by_name(found: &SyncScan) -> Vec<(&str, &str)> {
    let mut stuck: Vec<(&str, &str)> = found
        .tagged
        .stuck
        .iter()
        .map(|s| (s.resource_name.as_str(), s.status.as_str()))
        .collect();
    stuck.sort();
    stuck
}

fn codestar(rules: &[&Rule]) -> Connections {
    let client = mock_client!(
        aws_sdk_codestarconnections,
        RuleMode::MatchAny,
        rules,
        |b| {
            b.retry_config(
                aws_sdk_codestarconnections::config::retry::RetryConfig::standard()
                    .with_max_attempts(2)
                    .with_initial_backoff(Duration::from_millis(1)),
            )
        }
    );
    Connections::new(client)
}

fn cloudformation(rules: &[&Rule]) -> StackClients {
    let client = mock_client!(aws_sdk_cloudformation, RuleMode::MatchAny, rules, |b| {
        b.retry_config(aws_sdk_cloudformation::config::retry::RetryConfig::disabled())
    });
    StackClients::new(client.config().clone())
}

fn tags(stack: &'static str, tags: &'static [(&'static str, &'static str)]) -> Rule {
    mock!(aws_sdk_cloudformation::Client::describe_stacks)
        .match_requests(move |r| r.stack_name() == Some(stack))
        .then_output(move || {
            let mut built = Stack::builder()
                .stack_name(stack)
                .stack_id(stack_id(stack))
                .stack_status(StackStatus::UpdateComplete)
                .creation_time(aws_sdk_cloudformation::primitives::DateTime::from_secs(0));
            for (k, v) in tags {
                built = built.tags(Tag::builder().key(*k).value(*v).build());
            }
            DescribeStacksOutput::builder()
                .stacks(built.build())
                .build()
        })
}

/// A real StackId: the name, then a uuid.
fn stack_id(stack: &str) -> String {
    format!("arn:aws:cloudformation:{REGION}:123456789012:stack/{stack}/4a1b2c3d-0000-4000-8000-00000000abcd")
}

fn config() -> MonitorConfig {
    let vars = HashMap::from([("DRY_RUN", "true"), ("MONITOR_REGIONS", REGION)]);
    MonitorConfig::from_vars(|n| vars.get(n).map(|v| v.to_string()), Some(REGION)).unwrap()
}

async fn scan(codestar: Connections, stacks: StackClients) -> SyncScan {
    let deadline = Instant::now() + Duration::from_secs(5);
    scan_syncs(
        &config(),
        REGION,
        deadline,
        codestar,
        stacks.in_region(REGION),
    )
    .await
}

/// 101 links over two pages, and 101 stacks over two pages of the first
/// link's configurations: every page read at 100 (the model's largest),
/// and the two reads made once per stack, the minimum.
#[tokio::test]
async fn links_and_configurations_are_read_over_pages_and_each_stack_twice() {
    let links = mock!(aws_sdk_codestarconnections::Client::list_repository_links)
        .match_requests(|r| r.max_results() == Some(100))
        .then_compute_output(|r| match r.next_token() {
            None => ListRepositoryLinksOutput::builder()
                .set_repository_links(Some((0..100).map(link).collect()))
                .next_token("links-2")
                .build()
                .unwrap(),
            Some(_) => ListRepositoryLinksOutput::builder()
                .repository_links(link(100))
                .build()
                .unwrap(),
        });
    let first = link(0).repository_link_id().to_string();
    let configurations = mock!(aws_sdk_codestarconnections::Client::list_sync_configurations)
        .match_requests(|r| {
            r.max_results() == Some(100)
                && r.sync_type() == Some(&SyncConfigurationType::CfnStackSync)
        })
        .then_compute_output(move |r| {
            let id = r.repository_link_id().unwrap();
            let page = ListSyncConfigurationsOutput::builder();
            if id != first {
                return page
                    .set_sync_configurations(Some(Vec::new()))
                    .build()
                    .unwrap();
            }
            match r.next_token() {
                None => page
                    .set_sync_configurations(Some(
                        (0..100).map(|i| sync(id, &format!("s{i}"))).collect(),
                    ))
                    .next_token("syncs-2"),
                Some(_) => page.sync_configurations(sync(id, "s100")),
            }
            .build()
            .unwrap()
        });
    let blockers = mock!(aws_sdk_codestarconnections::Client::get_sync_blocker_summary)
        .then_compute_output(|r| {
            let active = r.resource_name() == Some("s7");
            let summary = SyncBlockerSummary::builder()
                .resource_name(r.resource_name().unwrap())
                .set_latest_blockers(Some(if active {
                    vec![blocker("b7", BlockerStatus::Active)]
                } else {
                    vec![blocker("old", BlockerStatus::Resolved)]
                }))
                .build()
                .unwrap();
            GetSyncBlockerSummaryOutput::builder()
                .sync_blocker_summary(summary)
                .build()
        });
    let status = mock!(aws_sdk_codestarconnections::Client::get_resource_sync_status)
        .then_compute_output(|r| {
            let failed = r.resource_name() == Some("s42");
            let status = if failed {
                ResourceSyncStatus::Failed
            } else {
                ResourceSyncStatus::Succeeded
            };
            GetResourceSyncStatusOutput::builder()
                .latest_sync(attempt(status))
                .build()
        });
    let describe = mock!(aws_sdk_cloudformation::Client::describe_stacks)
        .then_output(|| DescribeStacksOutput::builder().build());
    let repository = repository_sync("main", RepositorySyncStatus::Succeeded, 1);

    let found = scan(
        codestar(&[&links, &configurations, &blockers, &status, &repository]),
        cloudformation(&[&describe]),
    )
    .await;

    assert_eq!(found.scanned, Some(101));
    assert_eq!(repository.num_calls(), 1, "once for the one synced branch");
    assert_eq!((links.num_calls(), configurations.num_calls()), (2, 102));
    assert_eq!((blockers.num_calls(), status.num_calls()), (101, 101));
    assert_eq!(describe.num_calls(), 2, "tags of the stuck ones only");
    let stuck = stuck_by_name(&found);
    assert_eq!(stuck, [("s42", "FAILED"), ("s7", "BLOCKED")]);
    assert!(found.tagged.failures.is_empty());
    let blocked = found
        .tagged
        .stuck
        .iter()
        .find(|s| s.resource_name == "s7")
        .unwrap();
    assert_eq!(blocked.blockers[0].id, "b7");
    assert_eq!(
        blocked.arn,
        "arn:aws:cloudformation:eu-west-1:123456789012:stack/s7"
    );
    assert_eq!(blocked.connection_arn, CONNECTION);
}

/// One link, whose configurations are `(stack, branch)`.
fn one_link(stacks: &'static [(&'static str, &'static str)]) -> (Rule, Rule) {
    let links =
        mock!(aws_sdk_codestarconnections::Client::list_repository_links).then_output(|| {
            ListRepositoryLinksOutput::builder()
                .repository_links(link(0))
                .build()
                .unwrap()
        });
    let configurations = mock!(aws_sdk_codestarconnections::Client::list_sync_configurations)
        .then_compute_output(move |r| {
            let id = r.repository_link_id().unwrap();
            ListSyncConfigurationsOutput::builder()
                .set_sync_configurations(Some(
                    stacks.iter().map(|(s, b)| on_branch(id, s, b)).collect(),
                ))
                .build()
                .unwrap()
        });
    (links, configurations)
}

/// A throttled (after the SDK's retries) and an access-denied
/// GetSyncBlockerSummary fail their region with the reason, and cost only
/// their stacks: the other stuck stack is still alerted. A stack never
/// synced is not stuck and no failure.
#[tokio::test]
async fn a_refused_stack_read_costs_only_that_stack() {
    let (links, configurations) = one_link(&[
        ("throttled", "main"),
        ("denied", "main"),
        ("blocked", "main"),
        ("fresh", "main"),
    ]);
    let refused = |name: &'static str, body: &'static str| {
        mock!(aws_sdk_codestarconnections::Client::get_sync_blocker_summary)
            .match_requests(move |r| r.resource_name() == Some(name))
            .sequence()
            .http_status(400, Some(body.to_string()))
            .repeatedly()
            .build()
    };
    let throttled = refused(
        "throttled",
        r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#,
    );
    let denied = refused(
        "denied",
        r#"{"__type":"AccessDeniedException","message":"not authorized to perform codeconnections:GetSyncBlockerSummary"}"#,
    );
    let (blockers, status) = reads(&[
        (
            "blocked",
            &[("b1", BlockerStatus::Active)],
            Some(ResourceSyncStatus::Failed),
        ),
        ("fresh", &[], None),
        ("throttled", &[], Some(ResourceSyncStatus::Failed)),
        ("denied", &[], Some(ResourceSyncStatus::Failed)),
    ]);
    let not_synced = never_synced("fresh");
    let describe = tags("blocked", &[("team", "web")]);

    let found = scan(
        codestar(&[
            &links,
            &configurations,
            &throttled,
            &denied,
            &blockers,
            &not_synced,
            &status,
            &no_repository_sync(),
        ]),
        cloudformation(&[&describe]),
    )
    .await;

    assert_eq!(
        throttled.num_calls(),
        2,
        "retried by the SDK, then given up"
    );
    let stuck: Vec<&str> = found
        .tagged
        .stuck
        .iter()
        .map(|s| s.resource_name.as_str())
        .collect();
    assert_eq!(stuck, ["blocked"]);
    // Shown by its real StackId, and linked by it (encoded in the console's query).
    let blocked = &found.tagged.stuck[0];
    assert_eq!(
        blocked.stack_id.as_deref(),
        Some(stack_id("blocked").as_str())
    );
    assert!(
        blocked.console_url.ends_with(&format!(
            "stackId=arn%3Aaws%3Acloudformation%3A{REGION}%3A123456789012%3Astack%2Fblocked%2F4a1b2c3d-0000-4000-8000-00000000abcd"
        )),
        "{}",
        blocked.console_url
    );
    assert_eq!(
        blocked.arn,
        format!("arn:aws:cloudformation:{REGION}:123456789012:stack/blocked"),
        "the lifecycle key stays the sync identity"
    );
    let mut errors: Vec<String> = found
        .tagged
        .failures
        .iter()
        .map(|f| f.error.to_string())
        .collect();
    errors.sort();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors[0].contains("GetSyncBlockerSummary failed") && errors[0].contains("AccessDenied"),
        "{errors:?}"
    );
    assert!(errors[1].contains("ThrottlingException"), "{errors:?}");
    assert!(found.tagged.failures.iter().all(|f| f.region == REGION));
}

/// The ignore tag, on the stack, mutes it; a stack DescribeStacks no
/// longer knows (ValidationError "does not exist") is still alerted.
#[tokio::test]
async fn the_ignore_tag_on_the_stack_mutes_it() {
    let (links, configurations) = one_link(&[("muted", "main"), ("gone", "main")]);
    let (blockers, status) = reads(&[
        (
            "muted",
            &[("b1", BlockerStatus::Active)],
            Some(ResourceSyncStatus::Failed),
        ),
        (
            "gone",
            &[("b2", BlockerStatus::Active)],
            Some(ResourceSyncStatus::Failed),
        ),
    ]);
    let muted = tags("muted", &[("connection-watch:ignore", "true")]);
    let gone = mock!(aws_sdk_cloudformation::Client::describe_stacks)
        .match_requests(|r| r.stack_name() == Some("gone"))
        .sequence()
        .http_status(
            400,
            Some(
                "<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError</Code>\
                 <Message>Stack with id gone does not exist</Message></Error></ErrorResponse>"
                    .into(),
            ),
        )
        .repeatedly()
        .build();

    let found = scan(
        codestar(&[
            &links,
            &configurations,
            &blockers,
            &status,
            &no_repository_sync(),
        ]),
        cloudformation(&[&muted, &gone]),
    )
    .await;

    assert_eq!(found.tagged.ignored, 1);
    let stuck: Vec<&str> = found
        .tagged
        .stuck
        .iter()
        .map(|s| s.resource_name.as_str())
        .collect();
    assert_eq!(stuck, ["gone"]);
    let gone = &found.tagged.stuck[0];
    assert_eq!(
        gone.stack_id, None,
        "no id to show for a stack that is gone"
    );
    assert!(
        gone.console_url.ends_with("stackId=gone"),
        "{}",
        gone.console_url
    );
    assert!(
        found.tagged.failures.is_empty(),
        "{:?}",
        found.tagged.failures.len()
    );
}

/// A failed repository sync makes every stack on that branch stuck as
/// REPOSITORY_SYNC_FAILED though its own sync SUCCEEDED, with the latest
/// events; a BLOCKED stack stays BLOCKED and keeps the cause upstream; a
/// stack on another branch is not touched. Each branch is read once.
#[tokio::test]
async fn a_failed_repository_sync_makes_its_branchs_stacks_stuck() {
    let (links, configurations) = one_link(&[
        ("web", "main"),
        ("api", "main"),
        ("blocked", "main"),
        ("docs", "dev"),
    ]);
    let blockers = mock!(aws_sdk_codestarconnections::Client::get_sync_blocker_summary)
        .then_compute_output(|r| {
            let name = r.resource_name().unwrap();
            let latest = (name == "blocked").then(|| blocker("b1", BlockerStatus::Active));
            let summary = SyncBlockerSummary::builder()
                .resource_name(name)
                .set_latest_blockers(Some(latest.into_iter().collect()))
                .build()
                .unwrap();
            GetSyncBlockerSummaryOutput::builder()
                .sync_blocker_summary(summary)
                .build()
        });
    let status =
        mock!(aws_sdk_codestarconnections::Client::get_resource_sync_status).then_output(|| {
            GetResourceSyncStatusOutput::builder()
                .latest_sync(attempt(ResourceSyncStatus::Succeeded))
                .build()
        });
    let main = repository_sync("main", RepositorySyncStatus::Failed, 12);
    let dev = repository_sync("dev", RepositorySyncStatus::Succeeded, 0);
    let describe = mock!(aws_sdk_cloudformation::Client::describe_stacks)
        .then_output(|| DescribeStacksOutput::builder().build());

    let found = scan(
        codestar(&[&links, &configurations, &blockers, &status, &main, &dev]),
        cloudformation(&[&describe]),
    )
    .await;

    assert_eq!((main.num_calls(), dev.num_calls()), (1, 1));
    let stuck = stuck_by_name(&found);
    assert_eq!(
        stuck,
        [
            ("api", "REPOSITORY_SYNC_FAILED"),
            ("blocked", "BLOCKED"),
            ("web", "REPOSITORY_SYNC_FAILED")
        ]
    );
    for stack in &found.tagged.stuck {
        let sync = stack
            .repository_sync
            .as_ref()
            .expect("the failed repository sync");
        assert_eq!(sync.status, "FAILED");
        assert_eq!(sync.events.len(), 10, "the latest 10 of 12");
        assert_eq!(sync.events.last().unwrap().event, "event 11");
    }
    assert!(found.tagged.failures.is_empty());
}

/// A refused GetRepositorySyncStatus is a Git sync failure of the region,
/// with the reason; each stack's own verdict still stands.
#[tokio::test]
async fn a_refused_repository_sync_read_fails_the_regions_git_sync_only() {
    let (links, configurations) = one_link(&[("failed", "main"), ("fine", "main")]);
    let (blockers, status) = reads(&[
        ("failed", &[], Some(ResourceSyncStatus::Failed)),
        ("fine", &[], None),
    ]);
    let denied = mock!(aws_sdk_codestarconnections::Client::get_repository_sync_status)
        .sequence()
        .http_status(
            400,
            Some(r#"{"__type":"AccessDeniedException","message":"not authorized to perform codeconnections:GetRepositorySyncStatus"}"#.into()),
        )
        .repeatedly()
        .build();
    let not_synced = never_synced("fine");
    let describe = tags("failed", &[]);

    let found = scan(
        codestar(&[
            &links,
            &configurations,
            &denied,
            &blockers,
            &not_synced,
            &status,
        ]),
        cloudformation(&[&describe]),
    )
    .await;

    assert_eq!(denied.num_calls(), 1, "one branch, read once");
    let stuck = stuck_by_name(&found);
    assert_eq!(stuck, [("failed", "FAILED")]);
    let [failure] = &found.tagged.failures[..] else {
        panic!("one failure")
    };
    assert_eq!(
        (failure.region.as_str(), failure.kind),
        (REGION, connection_watch::domain::watched::Kind::GitSync)
    );
    let error = failure.error.to_string();
    assert!(
        error.contains("GetRepositorySyncStatus failed") && error.contains("AccessDenied"),
        "{error}"
    );
}
