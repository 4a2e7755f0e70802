//! The document machine subscribers (`sqs`, `lambda`) receive. Pure.

use super::batch::{Batch, Frame};
use crate::domain::connection::Connection;
use crate::domain::consumer::brief;
use crate::domain::denied::DeniedConsumer;
use crate::domain::git_sync::SyncedStack;
use crate::domain::host::Host;
use crate::domain::watched::KindUnread;
use chrono::SecondsFormat;
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
    access: &'a [DeniedConsumer],
    unread: Vec<KindUnread>,
    #[serde(skip_serializing_if = "crate::domain::connection::is_zero")]
    unread_more: usize,
}

/// The most of a run's `unread` a document lists: every part of a split
/// alert carries it, so it stays a few kilobytes beside SNS's 256 KB
/// (the run result and the log have every entry, whole).
const DOCUMENT_UNREAD: usize = 20;
/// Each listed entry's error, cut to this many characters.
const DOCUMENT_UNREAD_ERROR_CHARS: usize = 200;

/// The alert's JSON document for one message (docs/reference.md, "The alert").
pub fn document(frame: &Frame<'_>, batch: Batch<'_>) -> String {
    serde_json::to_string(&AlertDocument {
        version: 1,
        account: frame.account,
        generated_at: frame
            .generated_at
            .to_rfc3339_opts(SecondsFormat::Secs, true),
        connections: batch.connections,
        hosts: batch.hosts,
        syncs: batch.syncs,
        access: batch.access,
        unread: frame
            .unread
            .iter()
            .take(DOCUMENT_UNREAD)
            .map(|u| KindUnread {
                error: brief(&u.error, DOCUMENT_UNREAD_ERROR_CHARS),
                ..u.clone()
            })
            .collect(),
        unread_more: frame.unread.len().saturating_sub(DOCUMENT_UNREAD),
    })
    .expect("the alert document is plain data")
}
