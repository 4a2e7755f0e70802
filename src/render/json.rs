//! The document machine subscribers (`sqs`, `lambda`) receive. Pure.

use super::batch::Batch;
use crate::domain::connection::Connection;
use crate::domain::git_sync::SyncedStack;
use crate::domain::host::Host;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AlertDocument<'a> {
    version: u32,
    account: &'a str,
    generated_at: String,
    connections: &'a [Connection],
    hosts: &'a [Host],
    syncs: &'a [SyncedStack],
}

/// The alert's JSON document for one message (docs/reference.md, "The alert").
pub fn document(account: &str, generated_at: DateTime<Utc>, batch: Batch<'_>) -> String {
    serde_json::to_string(&AlertDocument {
        version: 1,
        account,
        generated_at: generated_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        connections: batch.connections,
        hosts: batch.hosts,
        syncs: batch.syncs,
    })
    .expect("the alert document is plain data")
}
