//! The lifecycle's records, loaded by key and written under claims.
//!
//! Two overlapping runs must not both alert a connection, and state may
//! change only after the alert went out. So a run first *claims* each record
//! it will change (a conditional write of `claimedBy`/`claimExpires` that
//! also checks the record is still as read), publishes, then commits the
//! records in batches, or releases the claims if the publish failed. A claim
//! left by a run that died expires after `CLAIM_LEASE`.
//!
//! A run loads the records by key, partition by partition, through the
//! index of the partitions that hold records, so it never reads (nor pays
//! for) a cache item it does not want: a Scan reads every item whatever it
//! filters.

use super::{key, n, rfc3339, s, Item, StateError, StateTable, BESIDE_RECORDS, RECORD_TTL_SLACK};
use crate::aws::sdk::{pause_before_resend, PARTIAL_ATTEMPTS};
use crate::domain::lifecycle::{Change, Prior, Stored};
use crate::domain::watched::Kind;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, PutRequest, WriteRequest};
use chrono::{DateTime, Duration, Utc};
use futures_util::stream::{self, StreamExt};

/// How long a claim holds when its run never commits nor releases it.
pub const CLAIM_LEASE: Duration = Duration::minutes(5);
/// The item listing the partitions (home regions) that hold records, as a
/// string set `regions`; a claim adds its region before it writes there.
const INDEX_ARN: &str = "record-regions";
const WRITES_IN_FLIGHT: usize = 8;
const BATCH: usize = 25;

/// What the table holds: the records this version reads, and the ARNs of
/// those it cannot.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Loaded {
    pub records: Vec<Stored>,
    pub unreadable: Vec<String>,
}

/// Whether a load may write the table's bookkeeping (the record index of a
/// table from an older version). A dry run writes nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Writes {
    Allowed,
    Forbidden,
}

impl Writes {
    pub fn unless_dry(dry_run: bool) -> Self {
        if dry_run {
            Self::Forbidden
        } else {
            Self::Allowed
        }
    }
}

/// Loading the records, by key.
impl StateTable {
    /// Every record: the index of the partitions that hold records, then a
    /// consistent, paged Query of each. A table without the index (written
    /// by an older version, or new) is read by one Scan, and indexed where
    /// `writes` allows (so once).
    pub async fn load(&self, writes: Writes) -> Result<Loaded, StateError> {
        let index = self
            .get_beside(INDEX_ARN, "GetItem (record index)", true)
            .await?;
        let Some(index) = index else {
            return self.load_unindexed(writes).await;
        };
        let regions = index
            .get("regions")
            .and_then(|v| v.as_ss().ok())
            .cloned()
            .unwrap_or_default();
        let mut loaded = Loaded::default();
        for region in regions {
            let mut pages = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#region = :region")
                .expression_attribute_names("#region", "region")
                .expression_attribute_values(":region", s(&region))
                .consistent_read(true)
                .into_paginator()
                .items()
                .send();
            while let Some(item) = pages.next().await {
                sort_into(&mut loaded, &item.map_err(|e| self.error("Query", e))?);
            }
        }
        Ok(loaded)
    }

    /// The one Scan of a table that has no index yet, which then writes it.
    async fn load_unindexed(&self, writes: Writes) -> Result<Loaded, StateError> {
        let mut loaded = Loaded::default();
        let mut regions = std::collections::BTreeSet::new();
        let mut pages = self
            .client
            .scan()
            .table_name(&self.table)
            .consistent_read(true)
            .into_paginator()
            .items()
            .send();
        while let Some(item) = pages.next().await {
            let item = item.map_err(|e| self.error("Scan", e))?;
            let region = item.get("region").and_then(|v| v.as_s().ok());
            if let Some(region) = region.filter(|r| *r != BESIDE_RECORDS) {
                regions.insert(region.clone());
            }
            sort_into(&mut loaded, &item);
        }
        if writes == Writes::Allowed {
            self.index(regions.into_iter().collect()).await?;
        }
        Ok(loaded)
    }

    /// Adds `regions` to the index (creating it, even with none), before
    /// anything is written there, so that no record is out of the load's
    /// reach.
    async fn index(&self, regions: Vec<String>) -> Result<(), StateError> {
        let request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(BESIDE_RECORDS, INDEX_ARN)));
        let request = if regions.is_empty() {
            request
                .update_expression("SET indexedAt = if_not_exists(indexedAt, :now)")
                .expression_attribute_values(":now", s(&rfc3339(Utc::now())))
        } else {
            request
                .update_expression("ADD regions :regions")
                .expression_attribute_values(":regions", AttributeValue::Ss(regions))
        };
        request
            .send()
            .await
            .map(drop)
            .map_err(|e| self.error("UpdateItem (record index)", e))
    }
}

/// The lifecycle's writes: claims, commits and releases.
impl StateTable {
    /// Claims the records `changes` touch; returns, per change, whether this
    /// run holds it (false: another run has it, or it changed since read).
    /// Leases run on the clock, not on the event's time, which a replay sets.
    pub async fn claim(&self, changes: &[Change], run_id: &str) -> Result<Vec<bool>, StateError> {
        let mut regions: Vec<String> = changes
            .iter()
            .filter(|c| !matches!(c, Change::Delete { .. }))
            .map(|c| c.region().to_string())
            .collect();
        regions.sort();
        regions.dedup();
        if !regions.is_empty() {
            self.index(regions).await?;
        }
        let now = Utc::now();
        let claims = changes.iter().map(|change| async move {
            let mut request = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key(change.region(), change.arn())))
                .update_expression("SET claimedBy = :run, claimExpires = :until, expiresAt = if_not_exists(expiresAt, :ttl)")
                .expression_attribute_values(":run", s(run_id))
                .expression_attribute_values(":until", n((now + CLAIM_LEASE).timestamp()))
                .expression_attribute_values(":now", n(now.timestamp()))
                .expression_attribute_values(":ttl", n((now + RECORD_TTL_SLACK).timestamp()));
            const FREE: &str = "(attribute_not_exists(claimExpires) OR claimExpires < :now)";
            request = match change.prior() {
                Prior::LastAlerted(last) => request
                    .condition_expression(format!("{FREE} AND lastAlerted = :expected"))
                    .expression_attribute_values(":expected", s(&rfc3339(last))),
                Prior::Absent => request
                    .condition_expression(format!("{FREE} AND attribute_not_exists(lastAlerted)")),
                // Whatever it holds, it is replaced; the lease still keeps runs apart.
                Prior::Unreadable => request.condition_expression(FREE),
            };
            match request.send().await {
                Ok(_) => Ok(true),
                Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => Ok(false),
                Err(e) => Err(self.error("UpdateItem (claim)", e)),
            }
        });
        stream::iter(claims)
            .buffered(WRITES_IN_FLIGHT)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect()
    }

    /// Writes the claimed changes, 25 to a BatchWriteItem; a Put replaces the
    /// item and so drops the claim.
    pub async fn commit(
        &self,
        changes: &[Change],
        repeat_interval: Duration,
    ) -> Result<(), StateError> {
        for chunk in changes.chunks(BATCH) {
            let mut requests: Vec<WriteRequest> = chunk
                .iter()
                .map(|c| write_request(c, repeat_interval))
                .collect();
            // DynamoDB may leave some items unprocessed under load: send them again.
            for attempt in 0..PARTIAL_ATTEMPTS {
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, requests)
                    .send()
                    .await
                    .map_err(|e| self.error("BatchWriteItem", e))?;
                requests = out
                    .unprocessed_items()
                    .and_then(|u| u.get(&self.table))
                    .cloned()
                    .unwrap_or_default();
                if requests.is_empty() {
                    break;
                }
                pause_before_resend(attempt).await;
            }
            if !requests.is_empty() {
                return Err(StateError {
                    table: self.table.clone(),
                    operation: "BatchWriteItem",
                    message: format!("{} items stayed unprocessed", requests.len()),
                });
            }
        }
        Ok(())
    }

    /// Gives the claims back after a failed publish, leaving the table as it
    /// was read, so the next run alerts again.
    pub async fn release(&self, changes: &[Change], run_id: &str) {
        let releases = changes.iter().map(|change| async move {
            let (region, arn) = (change.region(), change.arn());
            let released = if change.prior() == Prior::Absent {
                // The claim made the item; take it away again.
                self.client
                    .delete_item()
                    .table_name(&self.table)
                    .set_key(Some(key(region, arn)))
                    .condition_expression("claimedBy = :run AND attribute_not_exists(lastAlerted)")
                    .expression_attribute_values(":run", s(run_id))
                    .send()
                    .await
                    .map(drop)
                    .map_err(|e| DisplayErrorContext(e).to_string())
            } else {
                self.client
                    .update_item()
                    .table_name(&self.table)
                    .set_key(Some(key(region, arn)))
                    .update_expression("REMOVE claimedBy, claimExpires")
                    .condition_expression("claimedBy = :run")
                    .expression_attribute_values(":run", s(run_id))
                    .send()
                    .await
                    .map(drop)
                    .map_err(|e| DisplayErrorContext(e).to_string())
            };
            if let Err(error) = released {
                tracing::warn!(%arn, %error, "claim not released; it expires on its own");
            }
        });
        stream::iter(releases)
            .buffered(WRITES_IN_FLIGHT)
            .collect::<Vec<_>>()
            .await;
    }
}

/// One loaded item: a record, another version's record (named in
/// `unreadable`), or an item that is no record.
fn sort_into(loaded: &mut Loaded, item: &Item) {
    match from_item(item) {
        Some(record) => loaded.records.push(record),
        // Claim-only items belong to a run that never committed: a new
        // record's claim expects no lastAlerted, as they have. The cursor,
        // caches and index have none either.
        None if !item.contains_key("lastAlerted") => {}
        // Another version's schema: replaced when next alerted.
        None => loaded
            .unreadable
            .extend(item.get("arn").and_then(|v| v.as_s().ok()).cloned()),
    }
}

fn write_request(change: &Change, repeat_interval: Duration) -> WriteRequest {
    match change {
        Change::Put { record, .. } | Change::Replace { record } => WriteRequest::builder()
            .put_request(
                PutRequest::builder()
                    .set_item(Some(to_item(record, repeat_interval)))
                    .build()
                    .expect("item is set"),
            )
            .build(),
        Change::Delete { region, arn, .. } => WriteRequest::builder()
            .delete_request(
                DeleteRequest::builder()
                    .set_key(Some(key(region, arn)))
                    .build()
                    .expect("key is set"),
            )
            .build(),
    }
}

pub fn to_item(record: &Stored, repeat_interval: Duration) -> Item {
    let mut item = key(&record.region, &record.arn);
    item.extend([
        ("kind".to_string(), s(record.kind.as_str())),
        ("status".to_string(), s(&record.status)),
        ("firstSeen".to_string(), s(&rfc3339(record.first_seen))),
        ("lastAlerted".to_string(), s(&rfc3339(record.last_alerted))),
        (
            "expiresAt".to_string(),
            n((record.last_alerted + repeat_interval + RECORD_TTL_SLACK).timestamp()),
        ),
        ("document".to_string(), s(&record.document)),
    ]);
    item
}

pub fn from_item(item: &Item) -> Option<Stored> {
    let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok());
    let time = |name: &str| {
        text(name)
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc))
    };
    let kind = match text("kind")?.as_str() {
        "connection" => Kind::Connection,
        "host" => Kind::Host,
        "git-sync" => Kind::GitSync,
        "access" => Kind::Access,
        _ => return None,
    };
    Some(Stored {
        kind,
        region: text("region")?.to_string(),
        arn: text("arn")?.to_string(),
        status: text("status")?.to_string(),
        document: text("document")?.to_string(),
        first_seen: time("firstSeen")?,
        last_alerted: time("lastAlerted")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn items_round_trip_and_claim_only_items_are_skipped() {
        let record = Stored {
            kind: Kind::Host,
            region: "us-east-1".into(),
            arn: "arn:aws:codestar-connections:us-east-1:123456789012:host/ghe-1".into(),
            status: "PENDING".into(),
            document: "{}".into(),
            first_seen: Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap(),
            last_alerted: Utc.with_ymd_and_hms(2026, 11, 2, 0, 0, 0).unwrap(),
        };
        let item = to_item(&record, Duration::hours(24));
        assert_eq!(from_item(&item), Some(record.clone()));
        let expires: i64 = item["expiresAt"].as_n().unwrap().parse().unwrap();
        assert_eq!(
            expires,
            (record.last_alerted + Duration::days(31)).timestamp()
        );

        let claim_only = Item::from([
            ("region".to_string(), s("us-east-1")),
            ("arn".to_string(), s(&record.arn)),
            ("claimedBy".to_string(), s("run")),
        ]);
        assert_eq!(from_item(&claim_only), None);
    }
}
