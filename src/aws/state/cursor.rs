//! The organization-wide account cursor (`monitor::read::rotation`): one item
//! beside the records.

use super::{key, s, StateError, StateTable, BESIDE_RECORDS};

/// The cursor's item, under the partition no region is named.
const CURSOR_ARN: &str = "account-cursor";

impl StateTable {
    /// Where the last organization-wide run was cut off, if it was.
    pub async fn load_cursor(&self) -> Result<Option<String>, StateError> {
        self.get_string(CURSOR_ARN, "cursor", "GetItem (account cursor)", true)
            .await
    }

    /// Remembers where the next organization-wide run starts (`None`: from
    /// the time). One item, with neither `kind` nor `lastAlerted`, which
    /// `load` passes over.
    pub async fn save_cursor(&self, cursor: Option<&str>) -> Result<(), StateError> {
        let request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(BESIDE_RECORDS, CURSOR_ARN)));
        let request = match cursor {
            Some(cursor) => request
                .update_expression("SET cursor = :cursor")
                .expression_attribute_values(":cursor", s(cursor)),
            None => request.update_expression("REMOVE cursor"),
        };
        request
            .send()
            .await
            .map(drop)
            .map_err(|e| self.error("UpdateItem (account cursor)", e))
    }
}
