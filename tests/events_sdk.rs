//! The EventBridge adapter against a mocked client: batches of 10, a
//! failed entry sent again alone, a bus that does not exist, and an entry
//! that keeps failing.

use aws_sdk_eventbridge::operation::describe_event_bus::{
    DescribeEventBusError, DescribeEventBusOutput,
};
use aws_sdk_eventbridge::operation::put_events::{PutEventsInput, PutEventsOutput};
use aws_sdk_eventbridge::types::error::ResourceNotFoundException;
use aws_sdk_eventbridge::types::PutEventsResultEntry;
use aws_sdk_eventbridge::Client;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use chrono::{TimeZone, Utc};
use connection_watch::aws::events::{EventPublisher, Put};
use connection_watch::render::events::EventEntry;
use std::sync::{Arc, Mutex};

const BUS: &str = "platform-alerts";

fn publisher(rules: &[&Rule]) -> EventPublisher {
    let client: Client = mock_client!(aws_sdk_eventbridge, RuleMode::MatchAny, rules);
    EventPublisher::new(client, BUS.into())
}

fn entry(i: usize) -> EventEntry {
    EventEntry {
        detail_type: "Connection Alert",
        resource: format!("arn:aws:codeconnections:us-east-1:123456789012:connection/{i}"),
        detail: format!(r#"{{"name":"conn-{i}"}}"#),
    }
}

fn bus_exists() -> Rule {
    mock!(Client::describe_event_bus)
        .then_output(|| DescribeEventBusOutput::builder().name(BUS).build())
}

/// Answers every PutEvents, failing the entries `fail` picks (by the
/// resource's number and the call's number), and records each request.
fn put_events(
    fail: impl Fn(usize, usize) -> bool + Send + Sync + 'static,
) -> (Rule, Arc<Mutex<Vec<PutEventsInput>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let rule = mock!(Client::put_events)
        .match_requests(|_| true)
        .then_compute_output(move |input: &PutEventsInput| {
            let mut calls = record.lock().unwrap();
            calls.push(input.clone());
            let call = calls.len();
            let mut failed = 0;
            let entries = input.entries().iter().map(|e| {
                let resource: usize = e.resources()[0]
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .parse()
                    .unwrap();
                if fail(resource, call) {
                    failed += 1;
                    PutEventsResultEntry::builder()
                        .error_code("ThrottlingException")
                        .error_message("Rate exceeded")
                        .build()
                } else {
                    PutEventsResultEntry::builder()
                        .event_id(format!("id-{resource}"))
                        .build()
                }
            });
            let entries: Vec<_> = entries.collect();
            PutEventsOutput::builder()
                .set_entries(Some(entries))
                .failed_entry_count(failed)
                .build()
        });
    (rule, seen)
}

fn resources(input: &PutEventsInput) -> Vec<String> {
    input
        .entries()
        .iter()
        .map(|e| e.resources()[0].clone())
        .collect()
}

#[tokio::test]
async fn one_failed_entry_of_ten_is_sent_again_alone() {
    // Entry 3 fails on the first call only.
    let (put, seen) = put_events(|resource, call| resource == 3 && call == 1);
    let bus = bus_exists();
    let now = Utc.with_ymd_and_hms(2026, 12, 1, 8, 0, 0).unwrap();

    let done = publisher(&[&bus, &put])
        .put((0..12).map(entry).collect(), now)
        .await
        .unwrap();

    assert_eq!(
        done,
        Put {
            entries: 12,
            calls: 3
        }
    );
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].entries().len(), 10, "at most 10 entries a call");
    assert_eq!(
        resources(&seen[1]),
        [entry(3).resource],
        "only the failed entry again"
    );
    assert_eq!(seen[2].entries().len(), 2);
    let first = &seen[0].entries()[0];
    assert_eq!(first.source(), Some("connection-watch"));
    assert_eq!(first.detail_type(), Some("Connection Alert"));
    assert_eq!(first.event_bus_name(), Some(BUS));
    assert_eq!(first.time().map(|t| t.secs()), Some(now.timestamp()));
    assert_eq!(bus.num_calls(), 1, "the bus is checked once a put");
}

#[tokio::test]
async fn an_entry_that_keeps_failing_fails_the_put_naming_the_bus() {
    let (put, seen) = put_events(|resource, _| resource == 1);
    let bus = bus_exists();

    let err = publisher(&[&bus, &put])
        .put((0..3).map(entry).collect(), Utc::now())
        .await
        .unwrap_err();

    assert_eq!(err.bus, BUS);
    assert!(
        err.message
            .contains("1 entries still failed after 5 attempts"),
        "{err}"
    );
    assert!(
        err.message.contains("ThrottlingException: Rate exceeded"),
        "{err}"
    );
    assert_eq!(seen.lock().unwrap().len(), 5);
}

#[tokio::test]
async fn a_bus_that_does_not_exist_fails_before_any_event_is_put() {
    // AWS would accept the events and drop them (aws/aws-cli#9186).
    let missing = mock!(Client::describe_event_bus).then_error(|| {
        DescribeEventBusError::ResourceNotFoundException(
            ResourceNotFoundException::builder()
                .message("Event bus platform-alerts does not exist.")
                .build(),
        )
    });
    let (put, seen) = put_events(|_, _| false);

    let err = publisher(&[&missing, &put])
        .put(vec![entry(1)], Utc::now())
        .await
        .unwrap_err();

    assert!(err.to_string().contains("platform-alerts"), "{err}");
    assert!(err.message.contains("does not exist"), "{err}");
    assert!(seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn nothing_alerted_makes_no_call() {
    let bus = bus_exists();
    let (put, seen) = put_events(|_, _| false);
    let done = publisher(&[&bus, &put])
        .put(Vec::new(), Utc::now())
        .await
        .unwrap();
    assert_eq!(done, Put::default());
    assert_eq!(bus.num_calls(), 0);
    assert!(seen.lock().unwrap().is_empty());
}
