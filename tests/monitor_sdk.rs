//! The monitor against mocked SDK clients: paging, retries, not-found,
//! ignore tags and publish failures.

mod common;

use aws_sdk_codestarconnections::operation::list_connections::ListConnectionsOutput;
use aws_sdk_codestarconnections::operation::list_tags_for_resource::{
    ListTagsForResourceError, ListTagsForResourceOutput,
};
use aws_sdk_codestarconnections::types::error::ResourceNotFoundException;
use aws_sdk_codestarconnections::types::Tag;
use aws_sdk_codestarconnections::Client as CodestarClient;
use aws_sdk_sns::operation::publish::{PublishError, PublishOutput};
use aws_sdk_sns::types::error::NotFoundException;
use aws_sdk_sns::Client as SnsClient;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use chrono::{TimeZone, Utc};
use common::{arn, connection, fast_retries, ACCOUNT, THROTTLED};
use connection_watch::config::MonitorConfig;
use connection_watch::monitor::{Monitor, MonitorError, RunRequest};
use connection_watch::selection::RunReport;
use serde_json::Value;
use std::sync::{Arc, Mutex};

const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:connection-alerts";

fn config(regions: &[&str]) -> MonitorConfig {
    MonitorConfig {
        topic_arn: Some(TOPIC.into()),
        statuses: vec!["PENDING".into(), "ERROR".into()],
        regions: regions.iter().map(|r| r.to_string()).collect(),
        provider_types: None,
        ignore_tag: "connection-watch:ignore".into(),
        dry_run: false,
        state_table: None,
        repeat_interval: connection_watch::config::DEFAULT_REPEAT_INTERVAL,
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

fn codestar(rules: &[&Rule]) -> aws_sdk_codestarconnections::Config {
    mock_client!(
        aws_sdk_codestarconnections,
        RuleMode::MatchAny,
        rules,
        fast_retries
    )
    .config()
    .clone()
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

/// A monitor of us-east-1 over mocked clients.
fn monitor(codestar_rules: &[&Rule], sns_rules: &[&Rule]) -> Monitor {
    Monitor::new(
        config(&["us-east-1"]),
        codestar(codestar_rules),
        sns(sns_rules),
    )
}

async fn run(monitor: &Monitor) -> Result<RunReport, MonitorError> {
    monitor.run(&RunRequest::default(), ACCOUNT, now()).await
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
    let attributes = input.message_attributes().unwrap();
    assert_eq!(attributes["count"].string_value(), Some("30"));
    assert_eq!(attributes["statuses"].data_type(), "String.Array");
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
async fn a_repeated_token_fails_the_region_instead_of_spinning() {
    let listing = mock!(CodestarClient::list_connections).then_output(|| {
        ListConnectionsOutput::builder()
            .connections(connection("us-east-1", 1, "PENDING"))
            .next_token("same")
            .build()
    });
    let (publish, _) = publish_capture();
    let monitor = monitor(&[&listing, &no_tags()], &[&publish]);

    let err = run(&monitor).await.unwrap_err();

    assert_eq!(listing.num_calls(), 2);
    match err {
        MonitorError::RegionsFailed { report, failures } => {
            assert_eq!(report.failed_regions, ["us-east-1"]);
            assert!(
                failures[0].1.to_string().contains("\"same\""),
                "{}",
                failures[0].1
            );
        }
        other => panic!("{other}"),
    }
    assert_eq!(
        publish.num_calls(),
        0,
        "nothing stuck in the regions that were scanned"
    );
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

    assert_eq!(listing.num_calls(), 3, "the configured attempts, no more");
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
        .run(&dry, ACCOUNT, now())
        .await
        .unwrap();
    assert_eq!(report.stuck.len(), 30);
    assert_eq!(report.messages_published, 0);

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
async fn every_configured_region_is_scanned_and_a_manual_run_narrows() {
    let listing = mock!(CodestarClient::list_connections).then_output(|| {
        ListConnectionsOutput::builder()
            .connections(connection("eu-west-1", 1, "PENDING"))
            .build()
    });
    let (publish, published) = publish_capture();
    let monitor = Monitor::new(
        config(&["us-east-1", "eu-west-1", "ap-southeast-2"]),
        codestar(&[&listing, &no_tags()]),
        sns(&[&publish]),
    );
    let report = run(&monitor).await.unwrap();
    assert_eq!(listing.num_calls(), 3);
    assert_eq!(
        report.regions.keys().collect::<Vec<_>>(),
        ["ap-southeast-2", "eu-west-1", "us-east-1"]
    );
    assert_eq!(
        published.lock().unwrap().len(),
        1,
        "one alert for all regions"
    );

    let narrowed = RunRequest {
        regions: Some(vec!["eu-north-1".into()]),
        ..RunRequest::default()
    };
    let report = monitor.run(&narrowed, ACCOUNT, now()).await.unwrap();
    assert_eq!(listing.num_calls(), 4);
    assert_eq!(report.regions.keys().collect::<Vec<_>>(), ["eu-north-1"]);
}
