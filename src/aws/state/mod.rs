//! The DynamoDB state table of the alert lifecycle: one record per stuck
//! connection, host or synced stack (partition `region`, the home region;
//! sort `arn`; TTL `expiresAt`): `records`. Beside the records, under a
//! partition no region is named, the table keeps the organization-wide
//! account `cursor` and the pipeline `cache`s, each one item read by key.

mod cache;
mod cursor;
mod records;

pub use cache::PIPELINE_CACHE_MAX_BYTES;
pub use records::{from_item, to_item, Loaded, Writes, CLAIM_LEASE};

use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use std::collections::HashMap;
use thiserror::Error;

/// The partition of what is not a record (the cursor, the caches, the
/// record index); no region is named so.
const BESIDE_RECORDS: &str = "connection-watch";
/// Records and caches outlive their last write by this much (records
/// beyond the repeat interval), so a removed deployment leaves nothing
/// behind for ever.
const RECORD_TTL_SLACK: Duration = Duration::days(30);

#[derive(Debug, Error)]
#[error("state table {table}: {operation} failed: {message}")]
pub struct StateError {
    pub table: String,
    pub operation: &'static str,
    pub message: String,
}

#[derive(Clone, Debug)]
pub struct StateTable {
    client: Client,
    table: String,
}

type Item = HashMap<String, AttributeValue>;

impl StateTable {
    pub fn new(client: Client, table: String) -> Self {
        Self { client, table }
    }

    /// `operation` did not finish before the run's deadline.
    pub fn timed_out(&self, operation: &'static str) -> StateError {
        StateError {
            table: self.table.clone(),
            operation,
            message: "no answer before the run's deadline".into(),
        }
    }

    fn error(&self, operation: &'static str, e: impl std::error::Error) -> StateError {
        StateError {
            table: self.table.clone(),
            operation,
            message: DisplayErrorContext(e).to_string(),
        }
    }

    /// The item `arn` under the partition beside the records, where the
    /// table keeps what is not a record.
    async fn get_beside(
        &self,
        arn: &str,
        operation: &'static str,
        consistent: bool,
    ) -> Result<Option<Item>, StateError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(BESIDE_RECORDS, arn)))
            .consistent_read(consistent)
            .send()
            .await
            .map_err(|e| self.error(operation, e))?;
        Ok(out.item)
    }

    /// A string `attribute` of the item `arn` beside the records.
    async fn get_string(
        &self,
        arn: &str,
        attribute: &str,
        operation: &'static str,
        consistent: bool,
    ) -> Result<Option<String>, StateError> {
        let item = self.get_beside(arn, operation, consistent).await?;
        Ok(item
            .as_ref()
            .and_then(|item| item.get(attribute))
            .and_then(|v| v.as_s().ok())
            .cloned())
    }
}

/// The table's key: partition `region` (the home region), sort `arn`.
fn key(region: &str, arn: &str) -> Item {
    Item::from([
        ("region".to_string(), s(region)),
        ("arn".to_string(), s(arn)),
    ])
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_string())
}

fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}
