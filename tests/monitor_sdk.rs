//! The monitor against mocked SDK clients: paging, token cycles, retries,
//! fall-over, not-found, ignore tags, hosts and publish failures.

mod common;

use aws_sdk_codestarconnections::operation::list_connections::ListConnectionsOutput;
use aws_sdk_codestarconnections::operation::list_hosts::ListHostsOutput;
use aws_sdk_codestarconnections::operation::list_tags_for_resource::{
    ListTagsForResourceError, ListTagsForResourceOutput,
};
use aws_sdk_codestarconnections::types::error::ResourceNotFoundException;
use aws_sdk_codestarconnections::types::{Host, ProviderType, Tag};
use aws_sdk_codestarconnections::Client as CodestarClient;
use aws_sdk_sns::operation::publish::{PublishError, PublishOutput};
use aws_sdk_sns::types::error::NotFoundException;
use aws_sdk_sns::Client as SnsClient;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use chrono::{TimeZone, Utc};
use common::{arn, assert_golden, connection, fast_retries, ACCOUNT, THROTTLED};
use connection_watch::aws::codestar::CodestarClients;
use connection_watch::aws::organization::Accounts;
use connection_watch::aws::sns::AlertPublisher;
use connection_watch::domain::account::AccountScope;
use connection_watch::domain::watched::Kind;
use connection_watch::monitor::config::{
    MonitorConfig, UsedBy, UsedByRegions, DEFAULT_HOST_STATUSES, DEFAULT_MEMBER_ROLE_NAME,
};
use connection_watch::monitor::event::RunRequest;
use connection_watch::monitor::report::RunReport;
use connection_watch::monitor::{Adapters, Monitor, MonitorError, Ran};
use serde_json::Value;
use std::sync::{Arc, Mutex};

const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:connection-alerts";

/// The function runs in us-east-1; `regions` is MONITOR_REGIONS.
fn config(regions: Option<&[&str]>) -> MonitorConfig {
    MonitorConfig {
        topic_arn: Some(TOPIC.into()),
        event_bus: None,
        statuses: vec!["PENDING".into(), "ERROR".into()],
        host_statuses: DEFAULT_HOST_STATUSES.map(str::to_string).to_vec(),
        own_region: "us-east-1".into(),
        regions: regions.map(|r| r.iter().map(|r| r.to_string()).collect()),
        provider_types: None,
        ignore_tag: "connection-watch:ignore".into(),
        dry_run: false,
        state_table: None,
        repeat_interval: connection_watch::monitor::config::DEFAULT_REPEAT_INTERVAL,
        accounts: AccountScope::Own,
        member_role_name: DEFAULT_MEMBER_ROLE_NAME.into(),
        exclude_accounts: Vec::new(),
        account_concurrency: 4,
        narrowed_accounts: None,
        used_by: UsedBy {
            pipelines: false,
            codebuild: false,
            git_sync: false,
            service_catalog: false,
        },
        used_by_regions: UsedByRegions::Enabled,
        retry_on_resolved: false,
        git_sync: false,
        narrowed_syncs: None,
        run_interval: chrono::Duration::hours(1),
        access_check: None,
    }
}

/// 250 connections over pages of 100, 100, 50: every 10th PENDING, every 25th ERROR.
fn paged_listing() -> Rule {
    mock!(CodestarClient::list_connections).then_compute_output(|req| {
        assert_eq!(req.max_results(), Some(100));
        let page: usize = req.next_token().map_or(0, |t| t.parse().unwrap());
        let end = (page * 100 + 100).min(250);
        let connections = (page * 100..end).map(|i| {
            let status = if i % 25 == 0 {
                "ERROR"
            } else if i % 10 == 0 {
                "PENDING"
            } else {
                "AVAILABLE"
            };
            connection("us-east-1", i, status)
        });
        let mut out = ListConnectionsOutput::builder().set_connections(Some(connections.collect()));
        if end < 250 {
            out = out.next_token((page + 1).to_string());
        }
        out.build()
    })
}

fn no_tags() -> Rule {
    mock!(CodestarClient::list_tags_for_resource)
        .then_output(|| ListTagsForResourceOutput::builder().build())
}

fn no_hosts() -> Rule {
    mock!(CodestarClient::list_hosts).then_output(|| ListHostsOutput::builder().build())
}

fn host(region: &str, name: &str, status: &str) -> Host {
    Host::builder()
        .name(name)
        .host_arn(host_arn(region, name))
        .status(status)
        .provider_type(ProviderType::GithubEnterpriseServer)
        .provider_endpoint(format!("https://{name}.example.com"))
        .build()
}

fn host_arn(region: &str, name: &str) -> String {
    format!("arn:aws:codestar-connections:{region}:{ACCOUNT}:host/{name}-0a1b2c3d")
}

fn codestar_config(rules: &[&Rule]) -> aws_sdk_codestarconnections::Config {
    mock_client!(
        aws_sdk_codestarconnections,
        RuleMode::MatchAny,
        rules,
        fast_retries
    )
    .config()
    .clone()
}

fn codestar(rules: &[&Rule]) -> CodestarClients {
    CodestarClients::new(codestar_config(rules))
}

/// Publish accepted, its inputs kept.
fn publish_capture() -> (
    Rule,
    Arc<Mutex<Vec<aws_sdk_sns::operation::publish::PublishInput>>>,
) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let keep = seen.clone();
    let rule = mock!(SnsClient::publish)
        .match_requests(move |req| {
            keep.lock().unwrap().push(req.clone());
            true
        })
        .then_output(|| PublishOutput::builder().message_id("m-1").build());
    (rule, seen)
}

fn sns(rules: &[&Rule]) -> SnsClient {
    mock_client!(aws_sdk_sns, RuleMode::MatchAny, rules)
}

/// A monitor with `config` over mocked clients; a ListHosts rule is added
/// when the test gives none.
fn monitor_with(config: MonitorConfig, codestar_rules: &[&Rule], sns_rules: &[&Rule]) -> Monitor {
    let hosts = no_hosts();
    let mut rules = codestar_rules.to_vec();
    rules.push(&hosts);
    Monitor::new(
        config,
        Adapters {
            stacks: None,
            codestar: codestar(&rules),
            publisher: Some(AlertPublisher::new(sns(sns_rules), TOPIC.into())),
            events: None,
            consumers: None,
            state: None,
            accounts: None,
        },
    )
}

/// A monitor in us-east-1 with MONITOR_REGIONS unset.
fn monitor(codestar_rules: &[&Rule], sns_rules: &[&Rule]) -> Monitor {
    monitor_with(config(None), codestar_rules, sns_rules)
}

async fn run(monitor: &Monitor) -> Result<RunReport, MonitorError> {
    ran(monitor).await.and_then(Ran::into_result)
}

/// A run that published, with its report and the failure it ends in.
async fn ran(monitor: &Monitor) -> Result<Ran, MonitorError> {
    monitor
        .run(&RunRequest::default(), ACCOUNT, now(), later())
        .await
}

/// A scan deadline no test reaches.
fn later() -> tokio::time::Instant {
    tokio::time::Instant::now() + std::time::Duration::from_secs(600)
}

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 9, 0, 0).unwrap()
}

#[tokio::test]
async fn walks_every_page_and_publishes_one_alert() {
    let listing = paged_listing();
    let tags = no_tags();
    let (publish, published) = publish_capture();
    let monitor = monitor(&[&listing, &tags], &[&publish]);

    let report = run(&monitor).await.unwrap();

    assert_eq!(listing.num_calls(), 3);
    assert_eq!(report.scanned, 250);
    // 0..250 step 10 is 25 PENDING-or-ERROR; the multiples of 25 not of 10 add 5 more ERROR.
    assert_eq!(report.stuck.len(), 30);
    assert_eq!(
        tags.num_calls(),
        30,
        "tags are read for stuck connections only"
    );
    assert_eq!(report.messages_published, 1);

    let published = published.lock().unwrap();
    assert_eq!(published.len(), 1);
    let input = &published[0];
    assert_eq!(input.topic_arn(), Some(TOPIC));
    assert_eq!(input.message_structure(), Some("json"));
    assert_eq!(
        input.subject(),
        Some("30 CodeStar connections need attention (20 PENDING, 10 ERROR)")
    );
    assert!(
        input.message_attributes().is_none_or(|a| a.is_empty()),
        "SNS drops message attributes of JSON-structured messages: none are sent"
    );
    let message: Value = serde_json::from_str(input.message().unwrap()).unwrap();
    let document: Value = serde_json::from_str(message["sqs"].as_str().unwrap()).unwrap();
    let arns: Vec<&str> = document["connections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["arn"].as_str().unwrap())
        .collect();
    assert!(arns.contains(&arn("us-east-1", 0).as_str()));
    assert!(arns.contains(&arn("us-east-1", 240).as_str()));
    assert!(!arns.contains(&arn("us-east-1", 1).as_str()));
}

#[tokio::test]
async fn a_token_cycle_fails_the_listing_instead_of_spinning() {
    // A, B, A, B...: a cycle longer than one page.
    let listing = mock!(CodestarClient::list_connections).then_compute_output(|req| {
        let next = if req.next_token() == Some("A") {
            "B"
        } else {
            "A"
        };
        ListConnectionsOutput::builder()
            .connections(connection("us-east-1", 1, "AVAILABLE"))
            .next_token(next)
            .build()
    });
    let (publish, _) = publish_capture();
    let monitor = monitor(&[&listing, &no_tags()], &[&publish]);

    let Ran { report, failure } = ran(&monitor).await.unwrap();

    // Three pages in the own region, three in the fall-over region.
    assert_eq!(listing.num_calls(), 6);
    match failure.unwrap() {
        MonitorError::RegionsFailed(failures) => {
            assert_eq!(report.failed_regions, ["us-east-1", "us-west-2"]);
            assert_eq!(report.listed_from, None);
            let [unread] = &failures.unread[..] else {
                panic!("{:?}", failures.unread)
            };
            assert_eq!(
                (unread.region.as_deref(), unread.kind),
                (None, Kind::Connection)
            );
            assert!(unread.error.contains("\"A\""), "{}", unread.error);
            assert_eq!(report.unread, failures.unread);
        }
        other => panic!("{other}"),
    }
    assert_eq!(publish.num_calls(), 0, "nothing stuck was found");
}

#[tokio::test]
async fn throttling_is_retried_by_the_sdk() {
    let listing = mock!(CodestarClient::list_connections)
        .sequence()
        .http_status(400, Some(THROTTLED.into()))
        .times(2)
        .output(|| {
            ListConnectionsOutput::builder()
                .connections(connection("us-east-1", 1, "ERROR"))
                .build()
        })
        .build();
    let (publish, _) = publish_capture();
    let monitor = monitor(&[&listing, &no_tags()], &[&publish]);

    let report = run(&monitor).await.unwrap();

    assert_eq!(listing.num_calls(), 3);
    assert_eq!(report.stuck.len(), 1);
    assert_eq!(publish.num_calls(), 1);
}

#[tokio::test]
async fn throttling_that_outlasts_the_retries_fails_only_that_region() {
    let listing = mock!(CodestarClient::list_connections)
        .sequence()
        .http_status(400, Some(THROTTLED.into()))
        .repeatedly()
        .build();
    let monitor = monitor(&[&listing], &[]);

    let err = run(&monitor).await.unwrap_err();

    assert_eq!(
        listing.num_calls(),
        6,
        "the configured attempts in the own region and in one fall-over region, no more"
    );
    assert!(err.to_string().contains("ThrottlingException"), "{err}");
}

#[tokio::test]
async fn a_connection_deleted_before_its_tags_are_read_is_not_alerted() {
    let listing = mock!(CodestarClient::list_connections).then_output(|| {
        ListConnectionsOutput::builder()
            .connections(connection("us-east-1", 1, "PENDING"))
            .connections(connection("us-east-1", 2, "PENDING"))
            .build()
    });
    let gone = arn("us-east-1", 1);
    let tags = mock!(CodestarClient::list_tags_for_resource).then_compute_response(move |req| {
        if req.resource_arn() == Some(gone.as_str()) {
            aws_smithy_mocks::MockResponse::Error(
                ListTagsForResourceError::ResourceNotFoundException(
                    ResourceNotFoundException::builder().message("gone").build(),
                ),
            )
        } else {
            aws_smithy_mocks::MockResponse::Output(ListTagsForResourceOutput::builder().build())
        }
    });
    let (publish, _) = publish_capture();
    let monitor = monitor(&[&listing, &tags], &[&publish]);

    let report = run(&monitor).await.unwrap();

    assert_eq!(report.scanned, 2);
    let arns: Vec<&str> = report.stuck.iter().map(|c| c.arn.as_str()).collect();
    assert_eq!(arns, [arn("us-east-1", 2)]);
}

#[tokio::test]
async fn ignore_tag_true_is_counted_not_alerted() {
    let listing = mock!(CodestarClient::list_connections).then_output(|| {
        ListConnectionsOutput::builder()
            .connections(connection("us-east-1", 1, "PENDING"))
            .connections(connection("us-east-1", 2, "ERROR"))
            .build()
    });
    let ignored = arn("us-east-1", 1);
    let tags = mock!(CodestarClient::list_tags_for_resource).then_compute_output(move |req| {
        let mut out = ListTagsForResourceOutput::builder();
        if req.resource_arn() == Some(ignored.as_str()) {
            out = out.tags(
                Tag::builder()
                    .key("connection-watch:ignore")
                    .value("true")
                    .build()
                    .unwrap(),
            );
        }
        out.build()
    });
    let (publish, _) = publish_capture();
    let monitor = monitor(&[&listing, &tags], &[&publish]);

    let report = run(&monitor).await.unwrap();

    assert_eq!(report.ignored, 1);
    assert_eq!(report.stuck.len(), 1);
    assert_eq!(report.stuck[0].status, "ERROR");
}

#[tokio::test]
async fn a_failed_publish_is_an_error_naming_the_topic() {
    let listing = paged_listing();
    let publish = mock!(SnsClient::publish).then_error(|| {
        PublishError::NotFoundException(
            NotFoundException::builder()
                .message("Topic does not exist")
                .build(),
        )
    });
    let monitor = monitor(&[&listing, &no_tags()], &[&publish]);

    let err = run(&monitor).await.unwrap_err();

    assert!(matches!(err, MonitorError::Publish(_)), "{err}");
    assert!(err.to_string().contains(TOPIC), "{err}");
}

#[tokio::test]
async fn dry_run_and_nothing_stuck_publish_nothing() {
    let (publish, _) = publish_capture();
    let listing = paged_listing();
    let dry = RunRequest {
        dry_run: Some(true),
        ..RunRequest::default()
    };
    let report = monitor(&[&listing, &no_tags()], &[&publish])
        .run(&dry, ACCOUNT, now(), later())
        .await
        .unwrap()
        .report;
    assert_eq!(report.stuck.len(), 30);
    assert_eq!(report.messages_published, 0);
    // What people would get, shown rather than sent.
    let preview = report.preview.as_ref().unwrap();
    assert_eq!(preview.len(), 1);
    assert_eq!(
        preview[0].subject,
        "30 CodeStar connections need attention (20 PENDING, 10 ERROR)"
    );
    assert!(preview[0].text.contains(&arn("us-east-1", 240)));

    let healthy = mock!(CodestarClient::list_connections).then_output(|| {
        ListConnectionsOutput::builder()
            .connections(connection("us-east-1", 1, "AVAILABLE"))
            .build()
    });
    let report = run(&monitor(&[&healthy], &[&publish])).await.unwrap();
    assert_eq!(report.scanned, 1);
    assert_eq!(report.messages_published, 0);
    assert_eq!(publish.num_calls(), 0);
}

#[tokio::test]
async fn connections_are_listed_once_and_filtered_by_home_region() {
    // What any region lists: every region's connections, one of them twice.
    let listing = mock!(CodestarClient::list_connections).then_output(|| {
        ListConnectionsOutput::builder()
            .connections(connection("eu-west-1", 1, "PENDING"))
            .connections(connection("ap-southeast-2", 2, "ERROR"))
            .connections(connection("us-east-1", 3, "PENDING"))
            .connections(connection("us-east-1", 3, "PENDING"))
            .build()
    });
    let hosts = no_hosts();
    let (publish, published) = publish_capture();
    let all = monitor(&[&listing, &no_tags(), &hosts], &[&publish]);

    let report = run(&all).await.unwrap();
    assert_eq!(listing.num_calls(), 1, "one listing, not one per region");
    assert_eq!(hosts.num_calls(), 1, "hosts of the own region");
    assert_eq!(report.listed_from.as_deref(), Some("us-east-1"));
    assert_eq!(report.scanned, 3, "de-duplicated by ARN");
    let regions: Vec<&str> = report.stuck.iter().map(|c| c.region.as_str()).collect();
    assert_eq!(regions, ["ap-southeast-2", "eu-west-1", "us-east-1"]);
    assert_eq!(published.lock().unwrap().len(), 1);

    let watched = monitor_with(
        config(Some(&["eu-west-1", "sa-east-1"])),
        &[&listing, &no_tags(), &hosts],
        &[&publish],
    );
    let report = run(&watched).await.unwrap();
    assert_eq!(listing.num_calls(), 2);
    assert_eq!(hosts.num_calls(), 3, "hosts of each watched region");
    assert_eq!(report.scanned, 1);
    assert_eq!(report.stuck[0].arn, arn("eu-west-1", 1));
    assert_eq!(
        report.regions.keys().collect::<Vec<_>>(),
        ["eu-west-1", "sa-east-1"]
    );

    let narrowed = RunRequest {
        regions: Some(vec!["ap-southeast-2".into()]),
        ..RunRequest::default()
    };
    let report = all
        .run(&narrowed, ACCOUNT, now(), later())
        .await
        .unwrap()
        .report;
    assert_eq!(report.stuck.len(), 1);
    assert_eq!(report.stuck[0].region, "ap-southeast-2");
}

#[tokio::test]
async fn a_failing_listing_falls_over_to_another_region() {
    let listing = mock!(CodestarClient::list_connections)
        .sequence()
        .http_status(500, None)
        .times(3)
        .output(|| {
            ListConnectionsOutput::builder()
                .connections(connection("eu-west-1", 1, "PENDING"))
                .build()
        })
        .build();
    let (publish, _) = publish_capture();
    let monitor = monitor_with(
        config(Some(&["us-east-1", "eu-west-1"])),
        &[&listing, &no_tags()],
        &[&publish],
    );

    let report = run(&monitor).await.unwrap();

    assert_eq!(report.listed_from.as_deref(), Some("eu-west-1"));
    assert!(report.failed_regions.is_empty());
    assert_eq!(report.stuck.len(), 1);
    assert_eq!(publish.num_calls(), 1);
}

#[tokio::test]
async fn stuck_hosts_are_alerted_and_their_connections_say_so() {
    let ghe = host_arn("us-east-1", "ghe");
    let ghe_for_listing = ghe.clone();
    let listing = mock!(CodestarClient::list_connections).then_output(move || {
        let mut via_host = connection("us-east-1", 1, "PENDING");
        via_host.host_arn = Some(ghe_for_listing.clone());
        ListConnectionsOutput::builder()
            .connections(via_host)
            .connections(connection("us-east-1", 2, "PENDING"))
            .build()
    });
    let hosts = mock!(CodestarClient::list_hosts).then_output(|| {
        ListHostsOutput::builder()
            .hosts(host("us-east-1", "ghe", "PENDING"))
            .hosts(host("us-east-1", "gitlab", "AVAILABLE"))
            .hosts(host("us-east-1", "vpc", "VPC_CONFIG_FAILED_INITIALIZATION"))
            .hosts(host("us-east-1", "busy", "VPC_CONFIG_INITIALIZING"))
            .build()
    });
    let (publish, published) = publish_capture();
    let monitor = monitor(&[&listing, &hosts, &no_tags()], &[&publish]);

    let report = run(&monitor).await.unwrap();

    assert_eq!(report.hosts_scanned, 4);
    let stuck_hosts: Vec<(&str, &str)> = report
        .stuck_hosts
        .iter()
        .map(|h| (h.name.as_str(), h.status.as_str()))
        .collect();
    assert_eq!(
        stuck_hosts,
        [
            ("ghe", "PENDING"),
            ("vpc", "VPC_CONFIG_FAILED_INITIALIZATION")
        ]
    );
    assert_eq!(report.stuck[0].host_arn.as_deref(), Some(ghe.as_str()));
    assert_eq!(report.stuck[0].host_status.as_deref(), Some("PENDING"));
    assert_eq!(report.stuck[1].host_status, None);
    assert_eq!(report.regions["us-east-1"].stuck_hosts, 2);

    let published = published.lock().unwrap();
    let input = &published[0];
    assert_eq!(
        input.subject(),
        Some("2 connections and 2 hosts need attention (3 PENDING, 1 VPC_CONFIG_FAILED_INITIALIZATION)")
    );
    let message: Value = serde_json::from_str(input.message().unwrap()).unwrap();
    let document: Value = serde_json::from_str(message["sqs"].as_str().unwrap()).unwrap();
    assert_eq!(document["connections"].as_array().unwrap().len(), 2);
    assert_eq!(document["hosts"].as_array().unwrap().len(), 2);
    assert_eq!(
        document["hosts"][0]["providerEndpoint"],
        "https://ghe.example.com"
    );
    let email = message["email"].as_str().unwrap();
    assert!(email.contains("the host is PENDING"), "{email}");
    assert!(
        email.contains("/hosts/ghe-0a1b2c3d?region=us-east-1"),
        "{email}"
    );
}

#[tokio::test]
async fn a_region_whose_hosts_cannot_be_listed_fails_alone() {
    let hosts = mock!(CodestarClient::list_hosts)
        .sequence()
        .http_status(500, None)
        .repeatedly()
        .build();
    let listing = mock!(CodestarClient::list_connections).then_output(|| {
        ListConnectionsOutput::builder()
            .connections(connection("eu-west-1", 1, "PENDING"))
            .build()
    });
    let (publish, _) = publish_capture();
    let monitor = monitor(&[&listing, &hosts, &no_tags()], &[&publish]);

    let Ran { report, failure } = ran(&monitor).await.unwrap();
    match failure.unwrap() {
        MonitorError::RegionsFailed(failures) => {
            assert_eq!(report.failed_regions, ["us-east-1"]);
            assert_eq!(failures.unread[0].kind, Kind::Host);
            assert!(failures.unread[0].error.contains("ListHosts"));
            assert_eq!(report.stuck.len(), 1, "the connections are still alerted");
        }
        other => panic!("{other}"),
    }
    assert_eq!(publish.num_calls(), 1);
}

#[tokio::test]
async fn an_organization_is_scanned_account_by_account_through_assumed_roles() {
    use aws_sdk_organizations::operation::list_accounts::ListAccountsOutput;
    use aws_sdk_organizations::types::{Account, AccountState};
    use aws_sdk_sts::operation::assume_role::{AssumeRoleError, AssumeRoleOutput};
    use aws_sdk_sts::types::Credentials;

    let account = |id: &str, name: &str, state: AccountState| {
        Account::builder().id(id).name(name).state(state).build()
    };
    let listing =
        mock!(aws_sdk_organizations::Client::list_accounts).then_compute_output(move |req| {
            assert_eq!(req.max_results(), Some(20), "the most AWS gives a page");
            match req.next_token() {
                None => ListAccountsOutput::builder()
                    .accounts(account(ACCOUNT, "platform", AccountState::Active))
                    .accounts(account("222222222222", "payments", AccountState::Active))
                    .next_token("page-2")
                    .build(),
                Some(_) => ListAccountsOutput::builder()
                    .accounts(account("333333333333", "no-role", AccountState::Active))
                    .accounts(account("444444444444", "excluded", AccountState::Active))
                    .accounts(account("555555555555", "gone", AccountState::Suspended))
                    .build(),
            }
        });
    let roles = Arc::new(Mutex::new(Vec::new()));
    let seen = roles.clone();
    let assume = mock!(aws_sdk_sts::Client::assume_role).then_compute_response(move |req| {
        let role = req.role_arn().unwrap().to_string();
        seen.lock().unwrap().push(role.clone());
        if role.contains("333333333333") {
            aws_smithy_mocks::MockResponse::Error(AssumeRoleError::generic(
                aws_sdk_sts::error::ErrorMetadata::builder()
                    .code("AccessDenied")
                    .message("not authorized to perform sts:AssumeRole")
                    .build(),
            ))
        } else {
            let expiry = std::time::SystemTime::now() + std::time::Duration::from_secs(3600);
            aws_smithy_mocks::MockResponse::Output(
                AssumeRoleOutput::builder()
                    .credentials(
                        Credentials::builder()
                            .access_key_id("ASIA222")
                            .secret_access_key("secret")
                            .session_token("token")
                            .expiration(expiry.into())
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
        }
    });
    let connections = mock!(CodestarClient::list_connections).then_output(|| {
        ListConnectionsOutput::builder()
            .connections(connection("us-east-1", 1, "PENDING"))
            .build()
    });
    let hosts = no_hosts();
    let (publish, published) = publish_capture();
    let base = codestar_config(&[&connections, &no_tags(), &hosts]);
    let mut config = config(None);
    config.accounts = AccountScope::Organization;
    config.exclude_accounts = vec!["444444444444".into()];
    let monitor = Monitor::new(
        config,
        Adapters {
            stacks: None,
            accounts: Some(Accounts::new(
                mock_client!(aws_sdk_organizations, RuleMode::MatchAny, &[&listing]),
                mock_client!(aws_sdk_sts, RuleMode::MatchAny, &[&assume]),
                base.clone(),
                None,
            )),
            codestar: CodestarClients::new(base),
            publisher: Some(AlertPublisher::new(sns(&[&publish]), TOPIC.into())),
            events: None,
            consumers: None,
            state: None,
        },
    );

    let Ran { report, failure } = ran(&monitor).await.unwrap();

    let err = failure.unwrap();
    assert!(matches!(err, MonitorError::AccountsFailed(_)), "{err}");
    assert_golden(
        "report-organization.json",
        &format!(
            "{err}\n{}\n",
            serde_json::to_string_pretty(&report).unwrap()
        ),
    );
    assert_eq!(
        report.accounts,
        Some(3),
        "own, payments, no-role; excluded and suspended skipped"
    );
    let failed = report.failed_accounts.as_ref().unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].account, "333333333333");
    assert!(
        failed[0]
            .error
            .contains("arn:aws:iam::333333333333:role/connection-watch-reader"),
        "{}",
        failed[0].error
    );
    assert!(
        failed[0]
            .error
            .contains("Deploy member-role.yaml in account 333333333333"),
        "{}",
        failed[0].error
    );
    let owners: Vec<(Option<&str>, Option<&str>)> = report
        .stuck
        .iter()
        .map(|c| (c.account.as_deref(), c.account_name.as_deref()))
        .collect();
    assert_eq!(
        owners,
        [
            (Some(ACCOUNT), Some("platform")),
            (Some("222222222222"), Some("payments"))
        ]
    );
    assert_eq!(
        *roles.lock().unwrap(),
        [
            "arn:aws:iam::222222222222:role/connection-watch-reader",
            "arn:aws:iam::333333333333:role/connection-watch-reader"
        ],
        "no role is assumed into the own account"
    );
    assert_eq!(listing.num_calls(), 2, "every page of ListAccounts");
    let message: Value =
        serde_json::from_str(published.lock().unwrap()[0].message().unwrap()).unwrap();
    let document: Value = serde_json::from_str(message["sqs"].as_str().unwrap()).unwrap();
    let mut accounts: Vec<&str> = document["connections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["account"].as_str().unwrap())
        .collect();
    accounts.dedup();
    assert_eq!(accounts, ["123456789012", "222222222222"]);

    // Warm: the credentials of 222222222222 are reused, the refused role is
    // tried again, and the account list (an hour old at most) is not listed again.
    let _ = run(&monitor).await;
    assert_eq!(assume.num_calls(), 3);
    assert_eq!(listing.num_calls(), 2);
}

/// The run report and the published message of a run with connections in
/// two home regions and hosts, pinned byte for byte.
#[tokio::test]
async fn the_run_report_and_the_published_message_match_their_golden_files() {
    let ghe = host_arn("us-east-1", "ghe");
    let listing = mock!(CodestarClient::list_connections).then_output(move || {
        let mut via_host = connection("us-east-1", 1, "PENDING");
        via_host.host_arn = Some(ghe.clone());
        ListConnectionsOutput::builder()
            .connections(via_host)
            .connections(connection("us-east-1", 2, "ERROR"))
            .connections(connection("eu-west-1", 3, "PENDING"))
            .connections(connection("eu-west-1", 4, "AVAILABLE"))
            .build()
    });
    let hosts = mock!(CodestarClient::list_hosts)
        .match_requests(|_| true)
        .then_compute_response(|_| {
            aws_smithy_mocks::MockResponse::Output(
                ListHostsOutput::builder()
                    .hosts(host("us-east-1", "ghe", "PENDING"))
                    .hosts(host("us-east-1", "gitlab", "AVAILABLE"))
                    .build(),
            )
        });
    let (publish, published) = publish_capture();
    let monitor = monitor_with(
        config(Some(&["us-east-1", "eu-west-1"])),
        &[&listing, &hosts, &no_tags()],
        &[&publish],
    );

    let report = run(&monitor).await.unwrap();

    assert_golden(
        "report.json",
        &(serde_json::to_string_pretty(&report).unwrap() + "\n"),
    );
    let published = published.lock().unwrap();
    let input = &published[0];
    assert_golden(
        "published.txt",
        &format!(
            "subject: {}\nstructure: {}\n{}\n",
            input.subject().unwrap(),
            input.message_structure().unwrap(),
            input.message().unwrap()
        ),
    );
}

/// When the records cannot be claimed, nothing is held back: the alert
/// carries everything stuck, the suppressed too, and the run ends in the error.
#[tokio::test]
async fn claims_that_fail_alert_everything_stuck() {
    use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
    use aws_sdk_dynamodb::operation::query::QueryOutput;
    use connection_watch::aws::state::{to_item, StateTable};
    use connection_watch::domain::connection::Connection;
    use connection_watch::domain::lifecycle::Stored;
    use connection_watch::domain::watched::Kind;

    let listing = mock!(CodestarClient::list_connections).then_output(|| {
        ListConnectionsOutput::builder()
            .connections(connection("us-east-1", 1, "PENDING"))
            .connections(connection("us-east-1", 2, "PENDING"))
            .build()
    });
    // conn-1 was alerted an hour ago: not due again for a day.
    let remembered = Connection {
        name: "conn-1".into(),
        arn: arn("us-east-1", 1),
        status: "PENDING".into(),
        provider_type: "GitHub".into(),
        region: "us-east-1".into(),
        owner_account_id: ACCOUNT.into(),
        ..Connection::default()
    };
    let record = to_item(
        &Stored {
            kind: Kind::Connection,
            region: "us-east-1".into(),
            arn: remembered.arn.clone(),
            status: "PENDING".into(),
            document: serde_json::to_string(&remembered).unwrap(),
            first_seen: now() - chrono::Duration::hours(2),
            last_alerted: now() - chrono::Duration::hours(1),
        },
        chrono::Duration::hours(24),
    );
    let index = mock!(aws_sdk_dynamodb::Client::get_item).then_output(|| {
        let regions = aws_sdk_dynamodb::types::AttributeValue::Ss(vec!["us-east-1".into()]);
        GetItemOutput::builder().item("regions", regions).build()
    });
    let scan = mock!(aws_sdk_dynamodb::Client::query)
        .then_output(move || QueryOutput::builder().items(record.clone()).build());
    let claims = mock!(aws_sdk_dynamodb::Client::update_item)
        .sequence()
        .http_status(500, None)
        .repeatedly()
        .build();
    let releases = mock!(aws_sdk_dynamodb::Client::delete_item)
        .sequence()
        .http_status(500, None)
        .repeatedly()
        .build();
    let dynamodb = mock_client!(
        aws_sdk_dynamodb,
        RuleMode::MatchAny,
        &[&index, &scan, &claims, &releases],
        |b: aws_sdk_dynamodb::config::Builder| b.retry_config(
            aws_sdk_dynamodb::config::retry::RetryConfig::standard().with_max_attempts(1)
        )
    );
    let (publish, published) = publish_capture();
    let hosts = no_hosts();
    let monitor = Monitor::new(
        config(None),
        Adapters {
            stacks: None,
            codestar: codestar(&[&listing, &no_tags(), &hosts]),
            publisher: Some(AlertPublisher::new(sns(&[&publish]), TOPIC.into())),
            events: None,
            consumers: None,
            state: Some(StateTable::new(dynamodb, "state".into())),
            accounts: None,
        },
    );

    let Ran { failure, .. } = ran(&monitor).await.unwrap();

    assert!(
        matches!(failure, Some(MonitorError::State(_))),
        "{failure:?}"
    );
    let published = published.lock().unwrap();
    let message: Value = serde_json::from_str(published[0].message().unwrap()).unwrap();
    let document: Value = serde_json::from_str(message["sqs"].as_str().unwrap()).unwrap();
    let alerted: Vec<&str> = document["connections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["arn"].as_str().unwrap())
        .collect();
    assert_eq!(alerted, [arn("us-east-1", 1), arn("us-east-1", 2)]);
}
