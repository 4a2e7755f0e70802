//! What one message carries: stuck (and, with a state table, resolved)
//! objects of every watched kind, and the one view of an object every
//! renderer reads. Renderers walk kinds and items here, never a kind by name.

use crate::domain::access::AccessFinding;
use crate::domain::connection::{Connection, AVAILABLE};
use crate::domain::consumer::{Consumer, Coverage, Recovery};
use crate::domain::denied::DeniedConsumer;
use crate::domain::git_sync::{Blocker, LatestSync, RepositorySync, SyncedStack};
use crate::domain::host::Host;
use crate::domain::watched::{Fields, Kind, KindUnread, Watched};
use chrono::{DateTime, Utc};
use std::collections::HashMap;

/// What every message of one run shares: whose alert it is, when, the
/// tag that silences an object (named in the next steps), and what the run
/// could not read (the document's `unread`).
#[derive(Clone, Copy, Debug)]
pub struct Frame<'a> {
    pub account: &'a str,
    pub generated_at: DateTime<Utc>,
    pub ignore_tag: &'a str,
    pub unread: &'a [KindUnread],
}

/// One alert's objects, each kind in the order the alert shows them.
#[derive(Clone, Copy, Debug, Default)]
pub struct Batch<'a> {
    pub connections: &'a [Connection],
    pub hosts: &'a [Host],
    pub syncs: &'a [SyncedStack],
    pub access: &'a [DeniedConsumer],
}

/// What a kind adds to the fields every watched object has.
#[derive(Clone, Copy, Debug, Default)]
pub struct Facts<'a> {
    /// A host's provider endpoint.
    pub endpoint: Option<&'a str>,
    /// A connection's host, and that host's status when it is not AVAILABLE.
    pub host: Option<&'a str>,
    pub host_status: Option<&'a str>,
    /// Why a host is in its status, as AWS says it.
    pub reason: Option<&'a str>,
    /// A connection's consumers, when they were looked up, and how far
    /// the search reached.
    pub used_by: Option<&'a [Consumer]>,
    /// How many more use it than `used_by` lists.
    pub used_by_more: usize,
    pub used_by_coverage: Option<&'a Coverage>,
    /// A resolved connection's pipelines, restarted or not (`RETRY_ON_RESOLVED`),
    /// how many more there were, and why nothing was restarted.
    pub recovery: &'a [Recovery],
    pub recovery_more: usize,
    pub recovery_note: Option<&'a str>,
    /// A synced stack's repository and branch, its active blockers, and
    /// its latest sync attempt.
    pub repository: Option<(&'a str, &'a str)>,
    pub blockers: &'a [Blocker],
    pub latest_sync: Option<&'a LatestSync>,
    /// A synced stack's branch's failed repository sync, and its
    /// connection's status when that is not AVAILABLE.
    pub repository_sync: Option<&'a RepositorySync>,
    pub connection_status: Option<&'a str>,
    /// A synced stack's real id, when DescribeStacks gave it.
    pub stack_id: Option<&'a str>,
    /// A denied consumer's finding.
    pub access: Option<&'a AccessFinding>,
}

/// A connection or host as the renderers see it: its fields, what its kind
/// adds, and its JSON.
pub trait Item: Fields {
    fn facts(&self) -> Facts<'_>;
    /// The object as the JSON document carries it.
    fn json(&self) -> String;
}

/// The facts only one kind has.
trait KindFacts {
    fn facts(&self) -> Facts<'_>;
}

impl KindFacts for Connection {
    fn facts(&self) -> Facts<'_> {
        Facts {
            host: self.host_arn.as_deref(),
            host_status: self.host_status.as_deref(),
            used_by: self.used_by.as_deref(),
            used_by_more: self.used_by_more,
            used_by_coverage: self.used_by_coverage.as_ref(),
            recovery: &self.recovery,
            recovery_more: self.recovery_more,
            recovery_note: self.recovery_note.as_deref(),
            ..Facts::default()
        }
    }
}

impl KindFacts for Host {
    fn facts(&self) -> Facts<'_> {
        Facts {
            endpoint: Some(&self.provider_endpoint),
            reason: self.status_message.as_deref(),
            ..Facts::default()
        }
    }
}

impl KindFacts for SyncedStack {
    fn facts(&self) -> Facts<'_> {
        Facts {
            repository: Some((&self.repository_name, &self.branch)),
            blockers: &self.blockers,
            latest_sync: self.latest_sync.as_ref(),
            repository_sync: self.repository_sync.as_ref(),
            connection_status: self
                .connection_status
                .as_deref()
                .filter(|s| *s != AVAILABLE),
            stack_id: self.stack_id.as_deref(),
            ..Facts::default()
        }
    }
}

impl KindFacts for DeniedConsumer {
    fn facts(&self) -> Facts<'_> {
        Facts {
            access: Some(&self.finding),
            connection_status: Some(self.connection_status.as_str()).filter(|s| !s.is_empty()),
            ..Facts::default()
        }
    }
}

impl<T: Watched + KindFacts> Item for T {
    fn facts(&self) -> Facts<'_> {
        KindFacts::facts(self)
    }
    fn json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The ARN an item is about, as chat's related resources and an event's
/// `resources` name it: a denied consumer's own ARN, not its lifecycle key.
pub fn resource_arn(item: &dyn Item) -> &str {
    item.facts()
        .access
        .map_or(item.arn(), |f| f.consumer.arn.as_str())
}

/// One kind's items of a batch or of an account's group.
pub struct KindItems<'a> {
    pub kind: Kind,
    pub items: Vec<&'a dyn Item>,
}

/// One account's share of a batch; `id` is `""` for objects that name no
/// account (single-account runs).
pub struct AccountGroup<'a> {
    pub id: String,
    /// The account as its first object names it (id and name).
    pub account: Option<(&'a str, Option<&'a str>)>,
    pub kinds: Vec<KindItems<'a>>,
}

impl AccountGroup<'_> {
    /// More than one kind present: each kind gets its own heading.
    pub fn mixed(&self) -> bool {
        self.kinds.iter().filter(|k| !k.items.is_empty()).count() > 1
    }
}

/// Plural title of a kind, as section headings show it.
pub fn title(kind: Kind) -> &'static str {
    match kind {
        Kind::Connection => "Connections",
        Kind::Host => "Hosts",
        Kind::GitSync => "Synced stacks",
        Kind::Access => "Denied consumers",
    }
}

/// `items[lo..hi]` of one kind's slice, where the slice starts at `offset`
/// of the whole batch.
fn cut<T>(items: &[T], offset: usize, lo: usize, hi: usize) -> &[T] {
    let start = lo.clamp(offset, offset + items.len()) - offset;
    let end = hi.clamp(offset, offset + items.len()) - offset;
    &items[start..end.max(start)]
}

impl<'a> Batch<'a> {
    /// One kind's items.
    fn of(&self, kind: Kind) -> Vec<&'a dyn Item> {
        fn items<T: Item>(slice: &[T]) -> Vec<&dyn Item> {
            slice.iter().map(|i| i as &dyn Item).collect()
        }
        match kind {
            Kind::Connection => items(self.connections),
            Kind::Host => items(self.hosts),
            Kind::GitSync => items(self.syncs),
            Kind::Access => items(self.access),
        }
    }

    /// Each kind's items, in `Kind::ALL`'s order.
    pub fn kinds(&self) -> Vec<KindItems<'a>> {
        Kind::ALL
            .iter()
            .map(|&kind| KindItems {
                kind,
                items: self.of(kind),
            })
            .collect()
    }

    /// Every item, kind after kind.
    pub fn items(&self) -> impl Iterator<Item = &'a dyn Item> {
        let batch = *self;
        Kind::ALL.into_iter().flat_map(move |kind| batch.of(kind))
    }

    pub fn len(&self) -> usize {
        self.connections.len() + self.hosts.len() + self.syncs.len() + self.access.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Items `start..end` of `items()`, as a batch.
    pub fn range(&self, start: usize, end: usize) -> Batch<'a> {
        let hosts_at = self.connections.len();
        let syncs_at = hosts_at + self.hosts.len();
        let access_at = syncs_at + self.syncs.len();
        Batch {
            connections: cut(self.connections, 0, start, end),
            hosts: cut(self.hosts, hosts_at, start, end),
            syncs: cut(self.syncs, syncs_at, start, end),
            access: cut(self.access, access_at, start, end),
        }
    }

    /// The first item of each kind.
    pub fn sample(&self) -> Batch<'a> {
        Batch {
            connections: &self.connections[..self.connections.len().min(1)],
            hosts: &self.hosts[..self.hosts.len().min(1)],
            syncs: &self.syncs[..self.syncs.len().min(1)],
            access: &self.access[..self.access.len().min(1)],
        }
    }

    /// A field's values, each once, in first-seen order; empty ones left out.
    pub fn distinct(&self, field: impl Fn(&dyn Item) -> String) -> Vec<String> {
        let mut seen: Vec<String> = Vec::new();
        for item in self.items() {
            let value = field(item);
            if !value.is_empty() && !seen.contains(&value) {
                seen.push(value);
            }
        }
        seen
    }

    /// Organization-wide: the accounts present, in first-seen order.
    pub fn accounts(&self) -> Vec<String> {
        self.distinct(|i| i.account().map_or("", |(id, _)| id).to_string())
    }

    /// The groups text and chat show: one per account present, in
    /// first-seen order, each with every kind (empty ones too). One pass
    /// over the items: organization-wide a batch may hold many accounts.
    pub fn account_groups(&self) -> Vec<AccountGroup<'a>> {
        let mut groups: Vec<AccountGroup<'a>> = Vec::new();
        let mut by_id: HashMap<&'a str, usize> = HashMap::new();
        for (k, kind) in self.kinds().into_iter().enumerate() {
            for item in kind.items {
                let id = item.account().map_or("", |(id, _)| id);
                let group = *by_id.entry(id).or_insert_with(|| {
                    groups.push(AccountGroup {
                        id: id.to_string(),
                        account: item.account(),
                        kinds: Kind::ALL
                            .iter()
                            .map(|&kind| KindItems {
                                kind,
                                items: Vec::new(),
                            })
                            .collect(),
                    });
                    groups.len() - 1
                });
                groups[group].kinds[k].items.push(item);
            }
        }
        groups
    }
}
