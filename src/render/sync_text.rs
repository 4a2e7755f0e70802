//! A synced stack's lines in the text alert: its blockers, its latest
//! sync, its branch's failed repository sync, and how to resolve it. Pure.

use super::batch::{Facts, Item};
use super::escape::shown;
use crate::domain::git_sync::RepositorySync;
use chrono::SecondsFormat;

/// A synced stack's blockers, latest sync, and how to resolve it.
pub fn sync_lines(item: &dyn Item, facts: &Facts<'_>) -> String {
    let mut out = String::new();
    // A resolved stack's blockers and sync are as last alerted: stale.
    if item.is_resolved() {
        return out;
    }
    for b in facts.blockers {
        out += &format!(
            "  Blocked:  {} (since {}, blocker {})\n",
            shown(&b.created_reason),
            b.created_at.to_rfc3339_opts(SecondsFormat::Secs, true),
            shown(&b.id)
        );
    }
    if let Some(sync) = facts.latest_sync {
        out += &format!(
            "  Sync:     {} (started {})\n",
            shown(&sync.status),
            sync.started_at.to_rfc3339_opts(SecondsFormat::Secs, true)
        );
    }
    if let Some(sync) = facts.repository_sync {
        out += &repository_sync_lines(sync);
    }
    if facts.repository.is_none() {
        return out;
    }
    if let Some(status) = facts.connection_status {
        out += &format!(
            "  Resolve:  repair its connection ({}) in the console's Connections settings, \
             then push a commit or choose Retry latest commit in its Git sync tab\n",
            shown(status)
        );
        return out;
    }
    match facts.blockers.first() {
        Some(b) => {
            out += &format!(
                "  Resolve:  fix the stack, then resolve the blocker in its Git sync tab, or:\n\
             \x20           aws codeconnections update-sync-blocker --region {} \
             --sync-type CFN_STACK_SYNC --resource-name {} --id {} --resolved-reason \"fixed\"\n",
                shown(item.region()),
                shown(item.name()),
                shown(&b.id)
            )
        }
        None if facts.repository_sync.is_some() => {
            out += "  Resolve:  fix what the repository sync's events name (the deployment \
                        file, the branch), then push a commit\n"
        }
        None => {
            out += "  Resolve:  fix the stack or its template, then push a commit or choose \
                        Retry latest commit in its Git sync tab\n"
        }
    }
    out
}

/// How many of a failed repository sync's events the text shows: the
/// latest, where the failure is.
const REPOSITORY_EVENTS_SHOWN: usize = 3;

/// `  Branch:   repository sync FAILED (started ...)`, then its latest
/// events, each as AWS wrote it, escaped.
fn repository_sync_lines(sync: &RepositorySync) -> String {
    let mut out = format!(
        "  Branch:   repository sync {} (started {})\n",
        shown(&sync.status),
        sync.started_at.to_rfc3339_opts(SecondsFormat::Secs, true)
    );
    let skipped = sync.events.len().saturating_sub(REPOSITORY_EVENTS_SHOWN);
    if skipped > 0 {
        out += &format!("            ...{skipped} earlier events\n");
    }
    for e in &sync.events[skipped..] {
        out += &format!(
            "            {} {}: {}\n",
            e.time.to_rfc3339_opts(SecondsFormat::Secs, true),
            shown(&e.kind),
            shown(&e.event)
        );
    }
    out
}
