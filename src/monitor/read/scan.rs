//! The scan of one account: its connections listed once (they are global),
//! the watched regions' hosts and synced stacks (they are regional)
//! concurrently, and the tags of what is stuck, read in each object's home
//! region.

use crate::aws::codestar::{CodestarClients, CodestarError};
use crate::aws::stacks::StackClients;
use crate::domain::arn::connection_key;
use crate::domain::connection::{note_host_status, Connection};
use crate::domain::git_sync::{note_connection_status, SyncedStack};
use crate::domain::host::Host;
use crate::domain::watched::Kind;
use crate::monitor::config::MonitorConfig;
use crate::monitor::decide::select::Selected;
use crate::monitor::read::syncs::{scan_syncs, SyncScan};
use crate::monitor::read::tags::{InFlight, TagReads, Tagged};
use crate::monitor::report::{FailedAccount, Findings, RegionFailure, ScanFailures};
use std::collections::{BTreeMap, HashMap, HashSet};
use tokio::time::{timeout_at, Instant};

/// Where the connection listing falls over to when the own region's fails
/// and MONITOR_REGIONS names no other region: any region lists them all.
const FALLBACK_REGIONS: [&str; 2] = ["us-east-1", "us-west-2"];

/// The clients one account's scan reads through: `stacks` only with `GIT_SYNC`.
#[derive(Clone, Copy)]
pub struct ScanClients<'a> {
    pub codestar: &'a CodestarClients,
    pub stacks: Option<&'a StackClients>,
}

/// What one account's scan found, and what it could not read.
pub struct AccountScan {
    pub findings: Findings,
    pub failures: ScanFailures,
}

impl AccountScan {
    /// Its findings, with what it could not read noted as `account`'s.
    pub fn noted(mut self, account: &str) -> Findings {
        self.findings.note_unread(account, &self.failures);
        self.findings
    }
}

/// The connection listing of one run.
struct ConnectionScan {
    listed_from: Option<String>,
    /// With `RETRY_ON_RESOLVED`: every listed connection's status.
    listed: HashMap<String, String>,
    /// With `ACCESS_CHECK`: every watched connection listed, stuck or not.
    every: Vec<Connection>,
    /// Every listed connection's status, watched or not, by `connection_key`:
    /// a synced stack's connection may live in any region.
    statuses: HashMap<String, String>,
    scanned: BTreeMap<String, usize>,
    tagged: Tagged<Connection>,
    /// Listings that failed; they fail the run only when none succeeded.
    listing_failures: Vec<RegionFailure>,
}

/// One region's hosts.
struct HostScan {
    scanned: usize,
    statuses: HashMap<String, String>,
    tagged: Tagged<Host>,
}

/// Lists connections, hosts and synced stacks concurrently and reads the
/// tags of what is stuck; reads not done by `deadline` fail their regions.
pub async fn scan_account(
    config: &MonitorConfig,
    deadline: Instant,
    clients: ScanClients<'_>,
) -> AccountScan {
    let codestar = clients.codestar;
    let in_flight = InFlight::default();
    let host_scans = config.host_regions().into_iter().map(|region| {
        let in_flight = in_flight.clone();
        async move {
            let scan = scan_hosts(config, &region, in_flight, deadline, codestar).await;
            (region, scan)
        }
    });
    let sync_scans = clients.stacks.into_iter().flat_map(|stacks| {
        config
            .sync_regions()
            .into_iter()
            .map(move |region| async move {
                let codestar = codestar.in_region(&region);
                let stacks = stacks.in_region(&region);
                let scan = scan_syncs(config, &region, deadline, codestar, stacks).await;
                (region, scan)
            })
    });
    let (connections, hosts, syncs) = tokio::join!(
        scan_connections(config, in_flight.clone(), deadline, codestar),
        futures_util::future::join_all(host_scans),
        futures_util::future::join_all(sync_scans)
    );

    let mut findings = Findings {
        listed_from: connections.listed_from.clone(),
        listed: connections.listed,
        every_connection: connections.every,
        scanned: connections.scanned,
        ignored: connections.tagged.ignored,
        ..Findings::default()
    };
    let mut failures = ScanFailures::default();
    if connections.listed_from.is_none() {
        failures.unlisted = connections.listing_failures;
    } else {
        for RegionFailure { region, error, .. } in connections.listing_failures {
            tracing::warn!(%region, error = %error, "connection listing failed; fell over to another region");
        }
    }
    failures.regional.extend(connections.tagged.failures);
    let host_statuses = take_hosts(&mut findings, &mut failures, hosts);
    if clients.stacks.is_some() && !config.sync_regions().is_empty() {
        let mut scanned = BTreeMap::new();
        for (
            region,
            SyncScan {
                scanned: n, tagged, ..
            },
        ) in syncs
        {
            scanned.extend(n.map(|n| (region, n)));
            findings.ignored += tagged.ignored;
            findings.stuck_syncs.extend(tagged.stuck);
            failures.regional.extend(tagged.failures);
        }
        findings.syncs_scanned = Some(scanned);
    }
    note_connection_status(&mut findings.stuck_syncs, &connections.statuses);
    read_sync_connections(&mut findings.stuck_syncs, codestar, deadline).await;
    findings.stuck = connections.tagged.stuck;
    note_host_status(&mut findings.stuck, &host_statuses);
    AccountScan { findings, failures }
}

/// Adds each region's host scan to `findings` (a failed one to
/// `failures`); returns every host's status, by ARN.
fn take_hosts(
    findings: &mut Findings,
    failures: &mut ScanFailures,
    hosts: Vec<(String, Result<HostScan, CodestarError>)>,
) -> HashMap<String, String> {
    let mut host_statuses = HashMap::new();
    for (region, scan) in hosts {
        match scan {
            Ok(scan) => {
                findings.hosts_scanned.insert(region, scan.scanned);
                findings.ignored += scan.tagged.ignored;
                findings.stuck_hosts.extend(scan.tagged.stuck);
                failures.regional.extend(scan.tagged.failures);
                host_statuses.extend(scan.statuses);
            }
            Err(error) => failures.regional.push(RegionFailure {
                region,
                kind: Kind::Host,
                error,
            }),
        }
    }
    host_statuses
}

/// Reads, once each, the connections of stuck stacks the listing did not
/// give (a run for synced stacks lists none). A connection that cannot be
/// read leaves its stacks without a status, and is logged.
async fn read_sync_connections(
    stuck: &mut [SyncedStack],
    codestar: &CodestarClients,
    deadline: Instant,
) {
    let unread: HashSet<&str> = stuck
        .iter()
        .filter(|s| s.connection_status.is_none())
        .map(|s| s.connection_arn.as_str())
        .collect();
    let reads = unread.into_iter().map(|arn| async move {
        let read = timeout_at(deadline, codestar.for_arn(arn).get(arn)).await;
        match read {
            Ok(Ok(Some(c))) => connection_key(arn).map(|key| (key, c.status)),
            Ok(Ok(None)) => {
                tracing::warn!(connection = arn, "a synced stack's connection does not exist");
                None
            }
            Ok(Err(error)) => {
                tracing::warn!(connection = arn, error = %error, "a synced stack's connection could not be read");
                None
            }
            Err(_) => None,
        }
    });
    let statuses: HashMap<String, String> = futures_util::future::join_all(reads)
        .await
        .into_iter()
        .flatten()
        .collect();
    note_connection_status(stuck, &statuses);
}

/// Where the one listing is tried, in order: the own region, then one
/// other (any region lists every connection).
fn listing_regions(config: &MonitorConfig) -> Vec<String> {
    let own = &config.own_region;
    let other = config
        .regions
        .iter()
        .flatten()
        .map(String::as_str)
        .chain(FALLBACK_REGIONS)
        .find(|r| r != own);
    std::iter::once(own.as_str())
        .chain(other)
        .map(str::to_string)
        .collect()
}

/// Lists the account's connections once, de-duplicated by ARN, and reads
/// the tags of each watched stuck one as soon as its page arrives, so tag
/// reads overlap the remaining pages.
async fn scan_connections(
    config: &MonitorConfig,
    in_flight: InFlight,
    deadline: Instant,
    codestar: &CodestarClients,
) -> ConnectionScan {
    let mut tag_reads = TagReads::new(in_flight);
    if config.syncs_only() {
        return ConnectionScan {
            listed_from: None,
            listed: HashMap::new(),
            every: Vec::new(),
            statuses: HashMap::new(),
            scanned: BTreeMap::new(),
            tagged: tag_reads.finish(&config.ignore_tag, deadline).await,
            listing_failures: Vec::new(),
        };
    }
    let mut seen = HashSet::new();
    let mut scanned: BTreeMap<String, usize> = BTreeMap::new();
    let mut listing_failures = Vec::new();
    let mut listed_from = None;
    let mut listed = HashMap::new();
    let mut every = Vec::new();
    let mut statuses = HashMap::new();
    for region in listing_regions(config) {
        let client = codestar.in_region(&region);
        let walk = client.for_each_page(|page| {
            for c in page {
                statuses.extend(connection_key(&c.arn).map(|key| (key, c.status.clone())));
                // A fall-over walk sees what the failed one saw.
                if !config.watches(&c.region) || !seen.insert(c.arn.clone()) {
                    continue;
                }
                *scanned.entry(c.region.clone()).or_default() += 1;
                if config.retry_on_resolved {
                    listed.insert(c.arn.clone(), c.status.clone());
                }
                if config.access_check.is_some() {
                    every.push(c.clone());
                }
                if c.is_candidate(config) {
                    let client = codestar.for_arn(&c.arn);
                    tag_reads.spawn(c, client);
                }
            }
        });
        let listing = timeout_at(deadline, walk)
            .await
            .unwrap_or(Err(CodestarError::TimedOut {
                operation: "ListConnections",
            }));
        match listing {
            Ok(()) => {
                listed_from = Some(region);
                break;
            }
            Err(error) => listing_failures.push(RegionFailure {
                region,
                kind: Kind::Connection,
                error,
            }),
        }
    }
    ConnectionScan {
        listed_from,
        listed,
        every,
        statuses,
        scanned,
        tagged: tag_reads.finish(&config.ignore_tag, deadline).await,
        listing_failures,
    }
}

/// One region's hosts (hosts are regional), and the tags of stuck ones.
async fn scan_hosts(
    config: &MonitorConfig,
    region: &str,
    in_flight: InFlight,
    deadline: Instant,
    codestar: &CodestarClients,
) -> Result<HostScan, CodestarError> {
    let client = codestar.in_region(region);
    let hosts =
        timeout_at(deadline, client.hosts())
            .await
            .unwrap_or(Err(CodestarError::TimedOut {
                operation: "ListHosts",
            }))?;
    let mut tag_reads = TagReads::new(in_flight);
    let statuses = hosts
        .iter()
        .map(|h| (h.arn.clone(), h.status.clone()))
        .collect();
    let scanned = hosts.len();
    for host in hosts.into_iter().filter(|h| h.is_candidate(config)) {
        tag_reads.spawn(host, client.clone());
    }
    Ok(HostScan {
        scanned,
        statuses,
        tagged: tag_reads.finish(&config.ignore_tag, deadline).await,
    })
}

/// What the scan stage hands the lifecycle: everything found, with what
/// could not be read (`Findings::unread`).
pub struct Scanned {
    pub findings: Findings,
    /// Organization-wide: which accounts failed, and which were entered.
    pub organization: Option<OrganizationScan>,
}

pub struct OrganizationScan {
    /// Accounts that could not be entered (or discovered): nothing of them was read.
    pub failed: Vec<FailedAccount>,
    /// Accounts entered: only their records can resolve, and of those only
    /// the kinds and regions that were read.
    pub complete: HashSet<String>,
    /// Where the next run starts: the first account the deadline cut off.
    pub next_start: Option<String>,
}

impl Scanned {
    /// One account's scan as the whole run's.
    pub fn single(scan: AccountScan, account: &str) -> Self {
        Self {
            findings: scan.noted(account),
            organization: None,
        }
    }
}
