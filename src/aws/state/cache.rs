//! The pipeline definitions cached per account and region, so a cold
//! start need not read every pipeline again: one item each, beside the
//! records, which the records' load passes over.

use super::{key, n, s, StateError, StateTable, BESIDE_RECORDS, RECORD_TTL_SLACK};
use chrono::Utc;

/// DynamoDB's item limit is 400 KB, names and values together (Developer
/// Guide, "Service, account, and table quotas"): what a cache item may hold,
/// with room for its keys.
pub const PIPELINE_CACHE_MAX_BYTES: usize = 390 * 1024;

impl StateTable {
    /// The pipeline definitions last cached for `account`'s `region` (JSON, as
    /// `ConsumerClients::export` wrote it), so a cold start need not read
    /// every pipeline again. One item beside the cursor, which `load` passes
    /// over.
    pub async fn load_pipelines(
        &self,
        account: &str,
        region: &str,
    ) -> Result<Option<String>, StateError> {
        let arn = pipelines_key(account, region);
        self.get_string(&arn, "pipelines", "GetItem (pipeline cache)", false)
            .await
    }

    /// Caches `account`'s pipeline definitions of `region`; an item outlives its last
    /// write by `RECORD_TTL_SLACK`. A cache over DynamoDB's item limit is
    /// not written (the next cold start reads the pipelines instead).
    pub async fn save_pipelines(
        &self,
        account: &str,
        region: &str,
        pipelines: &str,
    ) -> Result<(), StateError> {
        let item = Beside {
            arn: &pipelines_key(account, region),
            attribute: "pipelines",
            operation: "UpdateItem (pipeline cache)",
            what: "definitions",
        };
        self.save_beside(item, pipelines).await
    }

    /// Writes `value` as `item`'s attribute, the item outliving its last
    /// write by `RECORD_TTL_SLACK`; a value over what one item holds is not
    /// written.
    async fn save_beside(&self, item: Beside<'_>, value: &str) -> Result<(), StateError> {
        if value.len() > PIPELINE_CACHE_MAX_BYTES {
            return Err(StateError {
                table: self.table.clone(),
                operation: item.operation,
                message: format!(
                    "{} bytes of {} exceed what one item holds; not cached",
                    value.len(),
                    item.what
                ),
            });
        }
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(BESIDE_RECORDS, item.arn)))
            .update_expression("SET #value = :value, expiresAt = :ttl")
            .expression_attribute_names("#value", item.attribute)
            .expression_attribute_values(":value", s(value))
            .expression_attribute_values(":ttl", n((Utc::now() + RECORD_TTL_SLACK).timestamp()))
            .send()
            .await
            .map(drop)
            .map_err(|e| self.error(item.operation, e))
    }
}

/// An item beside the records: its key, the attribute written, and how
/// its errors name it.
struct Beside<'a> {
    arn: &'a str,
    attribute: &'static str,
    operation: &'static str,
    what: &'static str,
}

/// The access verdicts: one item for the monitor, whatever accounts it
/// reads (each verdict's key names its consumer, so its account).
const VERDICTS_KEY: &str = "access-verdicts";

impl StateTable {
    /// The access verdicts last kept (JSON, as `Verdicts` writes it).
    pub async fn load_verdicts(&self) -> Result<Option<String>, StateError> {
        self.get_string(VERDICTS_KEY, "verdicts", "GetItem (access verdicts)", false)
            .await
    }

    /// Keeps the access verdicts. More than one item holds is not written:
    /// the next run simulates what it would have kept, within its bound.
    pub async fn save_verdicts(&self, verdicts: &str) -> Result<(), StateError> {
        let item = Beside {
            arn: VERDICTS_KEY,
            attribute: "verdicts",
            operation: "UpdateItem (access verdicts)",
            what: "verdicts",
        };
        self.save_beside(item, verdicts).await
    }
}

/// The pipeline cache's item of an account's region (under the cursor's partition).
fn pipelines_key(account: &str, region: &str) -> String {
    format!("pipeline-cache/{account}/{region}")
}
