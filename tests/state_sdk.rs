//! The DynamoDB state table against a mocked client: the paginated load,
//! claims (held, taken by another run, failing), commits with unprocessed
//! items, and releases.

use aws_sdk_dynamodb::operation::batch_write_item::BatchWriteItemOutput;
use aws_sdk_dynamodb::operation::delete_item::{DeleteItemError, DeleteItemOutput};
use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
use aws_sdk_dynamodb::operation::query::QueryOutput;
use aws_sdk_dynamodb::operation::scan::ScanOutput;
use aws_sdk_dynamodb::operation::update_item::{UpdateItemError, UpdateItemOutput};
use aws_sdk_dynamodb::types::error::ConditionalCheckFailedException;
use aws_sdk_dynamodb::types::{AttributeValue, WriteRequest};
use aws_sdk_dynamodb::Client;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use chrono::{Duration, TimeZone, Utc};
use connection_watch::aws::state::{to_item, StateTable, Writes, PIPELINE_CACHE_MAX_BYTES};
use connection_watch::domain::lifecycle::{Change, Stored};
use connection_watch::domain::watched::Kind;
use std::sync::{Arc, Mutex};

const TABLE: &str = "connection-watch-state";

fn table(rules: &[&Rule]) -> StateTable {
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, rules, |b| {
        b.retry_config(
            aws_sdk_dynamodb::config::retry::RetryConfig::standard().with_max_attempts(2),
        )
    });
    StateTable::new(client, TABLE.into())
}

/// The write that adds regions to the record index, answered with success.
fn index_update() -> Rule {
    mock!(Client::update_item)
        .match_requests(|r| {
            r.key()
                .is_some_and(|k| k["arn"].as_s().is_ok_and(|a| a == "record-regions"))
        })
        .then_output(|| UpdateItemOutput::builder().build())
}

/// GetItem of the record index: absent, or listing `regions`.
fn index_read(regions: &'static [&'static str]) -> Rule {
    mock!(Client::get_item).then_compute_output(move |req| {
        assert_eq!(req.key().unwrap()["arn"].as_s().unwrap(), "record-regions");
        assert_eq!(req.consistent_read(), Some(true));
        let item = (!regions.is_empty()).then(|| {
            [
                (
                    "region".to_string(),
                    AttributeValue::S("connection-watch".into()),
                ),
                (
                    "arn".to_string(),
                    AttributeValue::S("record-regions".into()),
                ),
                (
                    "regions".to_string(),
                    AttributeValue::Ss(regions.iter().map(|r| r.to_string()).collect()),
                ),
            ]
            .into()
        });
        GetItemOutput::builder().set_item(item).build()
    })
}

fn stored(kind: Kind, arn_id: &str) -> Stored {
    let arn = match kind {
        Kind::Connection | Kind::Host => format!(
            "arn:aws:codestar-connections:eu-west-1:123456789012:{}/{arn_id}",
            kind.as_str()
        ),
        Kind::GitSync => format!("arn:aws:cloudformation:eu-west-1:123456789012:stack/{arn_id}"),
        Kind::Access => format!(
            "arn:aws:codepipeline:eu-west-1:123456789012:{arn_id}#arn:aws:codeconnections:eu-west-1:123456789012:connection/c#codeconnections:UseConnection"
        ),
    };
    Stored {
        kind,
        region: "eu-west-1".into(),
        arn,
        status: "PENDING".into(),
        document: "{}".into(),
        first_seen: Utc.with_ymd_and_hms(2026, 11, 24, 8, 0, 0).unwrap(),
        last_alerted: Utc.with_ymd_and_hms(2026, 11, 25, 8, 0, 0).unwrap(),
    }
}

fn put(id: &str, expected: bool) -> Change {
    let record = stored(Kind::Connection, id);
    Change::Put {
        expected_last_alerted: expected.then_some(record.last_alerted - Duration::days(1)),
        record,
    }
}

fn conditional_failed() -> UpdateItemError {
    UpdateItemError::ConditionalCheckFailedException(
        ConditionalCheckFailedException::builder()
            .message("The conditional request failed")
            .build(),
    )
}

/// A quiet run's load: the index, then each indexed partition by key. It
/// reads no cache item (they live in a partition the index never names)
/// and scans nothing.
#[tokio::test]
async fn load_queries_the_indexed_partitions_and_reads_no_cache_item() {
    let (a, b) = (stored(Kind::Connection, "a"), stored(Kind::Host, "b"));
    let (item_a, item_b) = (
        to_item(&a, Duration::hours(24)),
        to_item(&b, Duration::hours(24)),
    );
    let index = index_read(&["eu-west-1", "us-east-1"]);
    let regions = Arc::new(Mutex::new(Vec::new()));
    let asked = regions.clone();
    let query = mock!(Client::query).then_compute_output(move |req| {
        assert_eq!(req.consistent_read(), Some(true));
        let region = req.expression_attribute_values().unwrap()[":region"]
            .as_s()
            .unwrap()
            .clone();
        asked
            .lock()
            .unwrap()
            .push((region.clone(), req.exclusive_start_key().is_some()));
        match (region.as_str(), req.exclusive_start_key()) {
            ("eu-west-1", None) => QueryOutput::builder()
                .items(item_a.clone())
                .set_last_evaluated_key(Some(
                    [("arn".to_string(), AttributeValue::S("page-2".into()))].into(),
                ))
                .build(),
            ("eu-west-1", Some(_)) => QueryOutput::builder().items(item_b.clone()).build(),
            _ => QueryOutput::builder().build(),
        }
    });
    let scan = mock!(Client::scan).then_output(|| ScanOutput::builder().build());
    let records = table(&[&index, &query, &scan])
        .load(Writes::Allowed)
        .await
        .unwrap()
        .records;
    assert_eq!(records, [a, b]);
    assert_eq!(index.num_calls(), 1, "one GetItem, of the index only");
    assert_eq!(scan.num_calls(), 0);
    assert_eq!(
        *regions.lock().unwrap(),
        [
            ("eu-west-1".to_string(), false),
            ("eu-west-1".to_string(), true),
            ("us-east-1".to_string(), false)
        ]
    );
}

/// A table an older version wrote has no index: one Scan, which indexes
/// the partitions it found (never the cache's).
#[tokio::test]
async fn load_reads_every_page_and_skips_claim_only_items() {
    let (a, b) = (stored(Kind::Connection, "a"), stored(Kind::Host, "b"));
    let (item_a, item_b) = (
        to_item(&a, Duration::hours(24)),
        to_item(&b, Duration::hours(24)),
    );
    let scan = mock!(Client::scan).then_compute_output(move |req| {
        assert_eq!(req.consistent_read(), Some(true));
        match req.exclusive_start_key() {
            None => ScanOutput::builder()
                .items(item_a.clone())
                .items(
                    [
                        ("region", "eu-west-1"),
                        ("arn", "arn:claimed"),
                        ("claimedBy", "run-1"),
                    ]
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), AttributeValue::S(v.into())))
                    .collect(),
                )
                .set_last_evaluated_key(Some(
                    [("arn".to_string(), AttributeValue::S("page-2".into()))].into(),
                ))
                .build(),
            Some(_) => ScanOutput::builder().items(item_b.clone()).build(),
        }
    });
    let indexed = mock!(Client::update_item).then_compute_output(|req| {
        assert_eq!(req.update_expression(), Some("ADD regions :regions"));
        let regions = req.expression_attribute_values().unwrap()[":regions"]
            .as_ss()
            .unwrap();
        assert_eq!(regions, &["eu-west-1".to_string()]);
        UpdateItemOutput::builder().build()
    });
    let records = table(&[&index_read(&[]), &scan, &indexed])
        .load(Writes::Allowed)
        .await
        .unwrap()
        .records;
    assert_eq!(scan.num_calls(), 2);
    assert_eq!(indexed.num_calls(), 1);
    assert_eq!(records, [a, b]);
}

/// A dry run writes nothing (docs/reference.md, "Events and result"): it
/// reads an unindexed table whole and leaves the index to a real run.
#[tokio::test]
async fn a_dry_runs_load_of_an_unindexed_table_writes_no_index() {
    let scan = mock!(Client::scan).then_output(|| ScanOutput::builder().build());
    let indexed = mock!(Client::update_item).then_output(|| UpdateItemOutput::builder().build());
    let loaded = table(&[&index_read(&[]), &scan, &indexed])
        .load(Writes::Forbidden)
        .await
        .unwrap();
    assert!(loaded.records.is_empty());
    assert_eq!(scan.num_calls(), 1);
    assert_eq!(indexed.num_calls(), 0);
}

#[tokio::test]
async fn a_record_of_another_schema_is_reported_and_replaced_whatever_it_holds() {
    let other_schema: std::collections::HashMap<String, AttributeValue> = [
        ("region", AttributeValue::S("eu-west-1".into())),
        ("arn", AttributeValue::S("arn:old".into())),
        ("lastAlerted", AttributeValue::N("1700000000".into())),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let scan = mock!(Client::scan)
        .then_output(move || ScanOutput::builder().items(other_schema.clone()).build());
    let loaded = table(&[&index_read(&[]), &scan, &index_update()])
        .load(Writes::Allowed)
        .await
        .unwrap();
    assert!(loaded.records.is_empty());
    assert_eq!(loaded.unreadable, ["arn:old"]);

    let update = mock!(Client::update_item).then_compute_response(|req| {
        let condition = req.condition_expression().unwrap_or_default();
        assert!(
            condition.contains("claimExpires") && !condition.contains("lastAlerted"),
            "{condition}"
        );
        aws_smithy_mocks::MockResponse::Output(UpdateItemOutput::builder().build())
    });
    let replace = Change::Replace {
        record: stored(Kind::Connection, "old"),
    };
    let held = table(&[&index_update(), &update])
        .claim(&[replace], "run-1")
        .await
        .unwrap();
    assert_eq!(held, [true]);
}

#[tokio::test]
async fn claims_report_which_records_this_run_holds() {
    let update = mock!(Client::update_item).then_compute_response(|req| {
        let arn = req.key().unwrap()["arn"].as_s().unwrap().clone();
        let condition = req.condition_expression().unwrap_or_default().to_string();
        if arn.ends_with("/new") {
            assert!(
                condition.contains("attribute_not_exists(lastAlerted)"),
                "{condition}"
            );
        } else {
            assert!(condition.contains("lastAlerted = :expected"), "{condition}");
        }
        if arn.ends_with("/taken") {
            aws_smithy_mocks::MockResponse::Error(conditional_failed())
        } else {
            aws_smithy_mocks::MockResponse::Output(UpdateItemOutput::builder().build())
        }
    });
    let index = index_update();
    let held = table(&[&index, &update])
        .claim(
            &[put("new", false), put("taken", true), put("mine", true)],
            "run-1",
        )
        .await
        .unwrap();
    assert_eq!(held, [true, false, true]);
    assert_eq!(update.num_calls(), 3);
    assert_eq!(
        index.num_calls(),
        1,
        "the region indexed once, before the claims"
    );
}

#[tokio::test]
async fn a_claim_that_fails_otherwise_is_an_error_naming_the_table() {
    let update = mock!(Client::update_item)
        .sequence()
        .http_status(400, Some(r#"{"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException","message":"Requested resource not found"}"#.into()))
        .repeatedly()
        .build();
    let err = table(&[&index_update(), &update])
        .claim(&[put("a", false)], "run-1")
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with(&format!("state table {TABLE}: UpdateItem (claim) failed")),
        "{err}"
    );
}

#[tokio::test]
async fn commit_sends_unprocessed_items_again_and_gives_up_in_the_end() {
    let changes: Vec<Change> = (0..30).map(|i| put(&i.to_string(), false)).collect();
    // The first batch of 25 comes back with two unprocessed, then all pass.
    let batch = mock!(Client::batch_write_item)
        .sequence()
        .output(|| {
            let leftover: Vec<WriteRequest> = vec![WriteRequest::builder().build(); 2];
            BatchWriteItemOutput::builder()
                .unprocessed_items(TABLE, leftover)
                .build()
        })
        .output(|| BatchWriteItemOutput::builder().build())
        .repeatedly()
        .build();
    table(&[&batch])
        .commit(&changes, Duration::hours(24))
        .await
        .unwrap();
    assert_eq!(batch.num_calls(), 3, "25, the 2 again, then the last 5");

    let stuck = mock!(Client::batch_write_item).then_output(|| {
        BatchWriteItemOutput::builder()
            .unprocessed_items(TABLE, vec![WriteRequest::builder().build()])
            .build()
    });
    let err = table(&[&stuck])
        .commit(&changes[..1], Duration::hours(24))
        .await
        .unwrap_err();
    assert_eq!(stuck.num_calls(), 5);
    assert!(
        err.to_string().contains("1 items stayed unprocessed"),
        "{err}"
    );
}

#[tokio::test]
async fn release_removes_new_claims_and_unclaims_old_records() {
    let delete = mock!(Client::delete_item).then_compute_response(|req| {
        assert_eq!(
            req.condition_expression(),
            Some("claimedBy = :run AND attribute_not_exists(lastAlerted)")
        );
        if req.key().unwrap()["arn"].as_s().unwrap().ends_with("/gone") {
            aws_smithy_mocks::MockResponse::Error(DeleteItemError::ConditionalCheckFailedException(
                ConditionalCheckFailedException::builder().build(),
            ))
        } else {
            aws_smithy_mocks::MockResponse::Output(DeleteItemOutput::builder().build())
        }
    });
    let update = mock!(Client::update_item).then_compute_output(|req| {
        assert_eq!(
            req.update_expression(),
            Some("REMOVE claimedBy, claimExpires")
        );
        assert_eq!(
            req.expression_attribute_values().unwrap()[":run"]
                .as_s()
                .unwrap(),
            "run-1"
        );
        UpdateItemOutput::builder().build()
    });
    // A release that fails (the claim is someone else's by now) is only logged.
    table(&[&delete, &update])
        .release(
            &[put("new", false), put("gone", false), put("old", true)],
            "run-1",
        )
        .await;
    assert_eq!((delete.num_calls(), update.num_calls()), (2, 1));
}

#[tokio::test]
async fn the_pipeline_cache_is_one_item_within_dynamodbs_item_limit() {
    let written = Arc::new(Mutex::new(Vec::new()));
    let keep = written.clone();
    let update = mock!(Client::update_item)
        .match_requests(move |input| {
            keep.lock().unwrap().push(input.clone());
            true
        })
        .then_output(|| UpdateItemOutput::builder().build());
    let table = table(&[&update]);

    let at_limit = "x".repeat(PIPELINE_CACHE_MAX_BYTES);
    table
        .save_pipelines("123456789012", "eu-west-1", &at_limit)
        .await
        .unwrap();
    let over = table
        .save_pipelines("123456789012", "eu-west-1", &format!("{at_limit}x"))
        .await
        .unwrap_err();

    assert!(over.to_string().contains("not cached"), "{over}");
    assert_eq!(update.num_calls(), 1, "the one over the limit is not sent");
    let input = written.lock().unwrap()[0].clone();
    let key = input.key().unwrap();
    assert_eq!(key["region"], AttributeValue::S("connection-watch".into()));
    assert_eq!(
        key["arn"],
        AttributeValue::S("pipeline-cache/123456789012/eu-west-1".into())
    );
    assert!(input.update_expression().unwrap().contains("expiresAt"));
}
