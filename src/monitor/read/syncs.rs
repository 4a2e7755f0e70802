//! The Git sync scan of one region: its repository links, the stacks synced
//! through each, the latest repository sync of each synced branch, each
//! stack's blockers and latest sync (read concurrently, a bounded number at
//! once), and the tags of the stuck ones.

use crate::aws::codestar::{CodestarError, Connections};
use crate::aws::stacks::Stacks;
use crate::domain::git_sync::{
    is_known_sync_status, judge, LinkBranch, RepositorySync, SyncConfig, SyncReads, SyncedStack,
};
use crate::domain::watched::Kind;
use crate::monitor::config::MonitorConfig;
use crate::monitor::read::tags::{InFlight, TagReads, Tagged};
use crate::monitor::report::RegionFailure;
use futures_util::stream::{self, Stream, StreamExt};
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::Mutex;
use tokio::time::{timeout_at, Instant};

/// Stacks whose two reads are in flight at once in one region:
/// CodeConnections' request-rate quotas are per account and region.
const STACK_READS_IN_FLIGHT: usize = 8;

/// One region's synced stacks: how many were read, and what is stuck.
pub struct SyncScan {
    /// `None`: the region's repository links could not be listed.
    pub scanned: Option<usize>,
    pub tagged: Tagged<SyncedStack>,
    /// Every sync configuration listed, and the stacks (by `resource_name`)
    /// read whole and judged not stuck: what the inventory shows.
    pub configs: Vec<SyncConfig>,
    pub healthy: BTreeSet<String>,
}

/// Reads the Git sync of `region`. What cannot be read (the links, one
/// link's configurations, one branch's repository sync, one stack's reads)
/// is a failure of the region's Git sync;
/// everything else read is still judged and alerted.
pub async fn scan_syncs(
    config: &MonitorConfig,
    region: &str,
    deadline: Instant,
    codestar: Connections,
    stacks: Stacks,
) -> SyncScan {
    let mut failures = Vec::new();
    let fail = |operation| move |_| CodestarError::TimedOut { operation };
    let links = timeout_at(deadline, codestar.repository_links())
        .await
        .map_err(fail("ListRepositoryLinks"))
        .and_then(|listed| listed);
    let links = match links {
        Ok(links) => links,
        Err(error) => {
            return SyncScan {
                scanned: None,
                tagged: Tagged::failed(region, error),
                configs: Vec::new(),
                healthy: BTreeSet::new(),
            }
        }
    };
    let mut syncs: Vec<SyncConfig> = Vec::new();
    for link in links.iter().filter(|l| config.reads_link(region, &l.id)) {
        let listed = timeout_at(deadline, codestar.stack_syncs(link))
            .await
            .map_err(fail("ListSyncConfigurations"))
            .and_then(|listed| listed);
        match listed {
            Ok(listed) => syncs.extend(listed),
            Err(error) => failures.push(RegionFailure {
                region: region.to_string(),
                kind: Kind::GitSync,
                error,
            }),
        }
    }
    syncs.retain(|s| config.reads_sync(s.place()));
    let scanned = syncs.len();

    let branches = read_branches(region, &syncs, &codestar, deadline, &mut failures).await;
    let reads = StackReads {
        codestar: &codestar,
        stacks,
        branches: &branches,
        deadline,
    };
    let configs = syncs.clone();
    let (tag_reads, healthy) = read_stacks(region, syncs, reads, &mut failures).await;
    let mut tagged = tag_reads.finish(&config.ignore_tag, deadline).await;
    tagged.failures.extend(failures);
    SyncScan {
        scanned: Some(scanned),
        tagged,
        configs,
        healthy,
    }
}

/// The latest repository sync of each branch `syncs` sync from, read once
/// per (link, branch), a bounded number at once, until `deadline`. A branch
/// that could not be read is absent, and a failure of the region.
async fn read_branches(
    region: &str,
    syncs: &[SyncConfig],
    codestar: &Connections,
    deadline: Instant,
    failures: &mut Vec<RegionFailure>,
) -> BTreeMap<LinkBranch, Option<RepositorySync>> {
    let branches: BTreeSet<LinkBranch> = syncs.iter().map(SyncConfig::link_branch).collect();
    let reads = stream::iter(branches).map(|at| async move {
        let sync = codestar.repository_sync(&at).await?;
        Ok((at, sync))
    });
    let mut read = BTreeMap::new();
    let until = Until {
        region,
        deadline,
        operation: "GetRepositorySyncStatus",
    };
    until
        .each(reads, failures, |(at, sync)| {
            read.insert(at, sync);
        })
        .await;
    read
}

/// What each stack's reads go through.
struct StackReads<'a> {
    codestar: &'a Connections,
    stacks: Stacks,
    branches: &'a BTreeMap<LinkBranch, Option<RepositorySync>>,
    deadline: Instant,
}

/// Each stack's blockers and latest sync, a bounded number at once, until
/// `deadline`, judged with its branch's repository sync; the tags of each
/// stuck one are read as soon as it is judged. Also the stacks judged not
/// stuck.
async fn read_stacks(
    region: &str,
    syncs: Vec<SyncConfig>,
    with: StackReads<'_>,
    failures: &mut Vec<RegionFailure>,
) -> (TagReads<SyncedStack>, BTreeSet<String>) {
    let codestar = with.codestar;
    let reads = stream::iter(syncs).map(|sync| async move {
        let (blockers, latest) = tokio::join!(
            codestar.sync_blockers(&sync.resource_name),
            codestar.latest_sync(&sync.resource_name)
        );
        Ok((sync, blockers?, latest?))
    });
    let mut tag_reads = TagReads::new(InFlight::default());
    let mut healthy = BTreeSet::new();
    let until = Until {
        region,
        deadline: with.deadline,
        operation: "GetSyncBlockerSummary",
    };
    until
        .each(reads, failures, |(sync, blockers, latest)| {
            if let Some(latest) = &latest {
                note_unknown_status(&latest.status);
            }
            let repository = with.branches.get(&sync.link_branch()).cloned().flatten();
            let reads = SyncReads {
                blockers,
                latest,
                repository,
            };
            let name = sync.resource_name.clone();
            match judge(sync, reads) {
                Some(stuck) => tag_reads.spawn(stuck, with.stacks.clone()),
                None => {
                    healthy.insert(name);
                }
            }
        })
        .await;
    (tag_reads, healthy)
}

/// How one region's concurrent Git sync reads are driven: until `deadline`,
/// which fails them as `operation` timed out.
struct Until<'a> {
    region: &'a str,
    deadline: Instant,
    operation: &'static str,
}

impl Until<'_> {
    /// Runs `reads`, a bounded number at once, handing each answer to
    /// `read`. A failed read is the region's Git sync's and the rest go on;
    /// at the deadline nothing more is read.
    async fn each<T>(
        &self,
        reads: impl Stream<Item = impl Future<Output = Result<T, CodestarError>>>,
        failures: &mut Vec<RegionFailure>,
        mut read: impl FnMut(T),
    ) {
        let mut reads = std::pin::pin!(reads.buffer_unordered(STACK_READS_IN_FLIGHT));
        loop {
            let error = match timeout_at(self.deadline, reads.next()).await {
                Ok(Some(Ok(answer))) => {
                    read(answer);
                    continue;
                }
                Ok(Some(Err(error))) => error,
                Ok(None) => break,
                Err(_) => CodestarError::TimedOut {
                    operation: self.operation,
                },
            };
            let timed_out = matches!(error, CodestarError::TimedOut { .. });
            failures.push(RegionFailure {
                region: self.region.to_string(),
                kind: Kind::GitSync,
                error,
            });
            if timed_out {
                break;
            }
        }
    }
}

/// Logs a sync status word this version does not know, once per process (a
/// warm function runs many times); true the first time it is seen.
fn note_unknown_status(status: &str) -> bool {
    static SEEN: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
    if is_known_sync_status(status) {
        return false;
    }
    let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
    let first = seen.insert(status.to_string());
    if first {
        tracing::warn!(
            status,
            "a Git sync status this version does not know: shown as AWS wrote it, \
             and failed only if it ends in FAILED"
        );
    }
    first
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_status_word_is_logged_once() {
        assert!(!note_unknown_status("SUCCEEDED"), "a known word");
        assert!(note_unknown_status("ROLLED_BACK_FAILED"));
        assert!(!note_unknown_status("ROLLED_BACK_FAILED"), "once");
    }
}
