//! Where a run reads, kind by kind: the watched regions, those where hosts
//! are listed and those where AWS offers Git sync.

use super::MonitorConfig;
use crate::domain::git_sync::{offers_git_sync, SyncPlace};
use crate::domain::watched::Kind;

impl MonitorConfig {
    /// Whether connections of this home region are watched.
    pub fn watches(&self, region: &str) -> bool {
        self.regions
            .as_ref()
            .is_none_or(|regions| regions.iter().any(|r| r == region))
    }

    /// Whether hosts of this region are listed.
    pub fn lists_hosts_in(&self, region: &str) -> bool {
        self.host_regions().iter().any(|r| r == region)
    }

    /// The regions whose hosts are listed: none in a run narrowed to synced stacks.
    pub fn host_regions(&self) -> Vec<String> {
        if self.narrowed_syncs.is_some() {
            return Vec::new();
        }
        self.watched_regions()
    }

    /// `MONITOR_REGIONS`, or the own region: where regional things are watched.
    pub fn watched_regions(&self) -> Vec<String> {
        self.regions
            .clone()
            .unwrap_or_else(|| vec![self.own_region.clone()])
    }

    /// The regions whose synced stacks are read, each once: watched regions
    /// where AWS offers Git sync.
    pub fn sync_regions(&self) -> Vec<String> {
        match &self.narrowed_syncs {
            Some(targets) => {
                let mut regions: Vec<String> = targets.iter().map(|t| t.region.clone()).collect();
                regions.sort();
                regions.dedup();
                regions
            }
            None if self.git_sync => self
                .watched_regions()
                .into_iter()
                .filter(|r| offers_git_sync(r))
                .collect(),
            None => Vec::new(),
        }
    }

    /// Watched regions where AWS does not offer Git sync: neither read nor
    /// failed, and said so.
    pub fn git_sync_unavailable(&self) -> Vec<String> {
        if !self.git_sync || self.narrowed_syncs.is_some() {
            return Vec::new();
        }
        self.watched_regions()
            .into_iter()
            .filter(|r| !offers_git_sync(r))
            .collect()
    }

    /// Whether this run reads the synced stack at `place`.
    pub fn reads_sync(&self, place: SyncPlace<'_>) -> bool {
        match &self.narrowed_syncs {
            Some(targets) => targets.iter().any(|t| t.covers(place)),
            None => {
                self.git_sync
                    && offers_git_sync(place.region)
                    && self.watched_regions().iter().any(|r| r == place.region)
            }
        }
    }

    /// Whether this run lists the sync configurations of the repository
    /// link `link_id` of `region` (a run narrowed to one link's branch
    /// lists only that link's).
    pub fn reads_link(&self, region: &str, link_id: &str) -> bool {
        self.narrowed_syncs.as_ref().is_none_or(|targets| {
            targets.iter().any(|t| {
                t.region == region
                    && t.branch
                        .as_ref()
                        .is_none_or(|b| b.repository_link_id == link_id)
            })
        })
    }

    /// The kinds an account's scan reads: connections and hosts, and synced
    /// stacks where Git sync is watched.
    pub fn scanned_kinds(&self) -> Vec<Kind> {
        let mut kinds = vec![Kind::Connection, Kind::Host];
        if !self.sync_regions().is_empty() {
            kinds.push(Kind::GitSync);
        }
        kinds
    }

    /// A run for synced stacks only: connections and hosts are not listed.
    pub fn syncs_only(&self) -> bool {
        self.narrowed_syncs.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::git_sync::{LinkBranch, SyncTarget};

    fn watching(regions: &str, git_sync: &str) -> MonitorConfig {
        let vars = [
            ("MONITOR_REGIONS", regions),
            ("GIT_SYNC", git_sync),
            ("DRY_RUN", "true"),
        ];
        MonitorConfig::from_vars(
            |name| {
                vars.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            },
            Some("eu-west-1"),
        )
        .unwrap()
    }

    fn place(region: &'static str, resource_name: &'static str) -> SyncPlace<'static> {
        SyncPlace {
            region,
            resource_name,
            repository_link_id: "link",
            branch: "main",
        }
    }

    #[test]
    fn git_sync_is_read_only_where_aws_offers_it_and_the_rest_is_said_so() {
        let c = watching("eu-west-1,af-south-1,ap-south-2", "true");
        assert_eq!(c.sync_regions(), ["eu-west-1"]);
        assert_eq!(c.git_sync_unavailable(), ["af-south-1", "ap-south-2"]);
        assert!(c.reads_sync(place("eu-west-1", "app")));
        assert!(
            !c.reads_sync(place("af-south-1", "app")),
            "not offered: never read, never unread"
        );
        assert_eq!(
            c.scanned_kinds(),
            [Kind::Connection, Kind::Host, Kind::GitSync]
        );
        // Hosts and connections are still read there.
        assert_eq!(c.host_regions(), ["eu-west-1", "af-south-1", "ap-south-2"]);
    }

    #[test]
    fn only_regions_without_git_sync_read_no_synced_stacks() {
        let c = watching("af-south-1", "true");
        assert!(c.sync_regions().is_empty());
        assert_eq!(c.scanned_kinds(), [Kind::Connection, Kind::Host]);
        assert_eq!(c.git_sync_unavailable(), ["af-south-1"]);
    }

    #[test]
    fn switched_off_git_sync_is_neither_read_nor_called_unavailable() {
        let c = watching("eu-west-1,af-south-1", "false");
        assert!(c.sync_regions().is_empty());
        assert!(c.git_sync_unavailable().is_empty());
    }

    #[test]
    fn a_narrowed_run_reads_its_stacks_and_claims_nothing_else() {
        let mut c = watching("eu-west-1,af-south-1", "true");
        c.narrowed_syncs = Some(vec![SyncTarget {
            region: "eu-west-1".into(),
            resource_name: Some("app".into()),
            branch: None,
        }]);
        assert_eq!(c.sync_regions(), ["eu-west-1"]);
        assert!(c.git_sync_unavailable().is_empty());
        assert!(c.host_regions().is_empty());
        let read = |name| c.reads_sync(place("eu-west-1", name));
        assert!(read("app") && !read("other"));
        assert!(c.reads_link("eu-west-1", "link") && !c.reads_link("us-east-1", "link"));
    }

    #[test]
    fn a_run_for_one_branch_lists_only_its_link() {
        let mut c = watching("eu-west-1", "true");
        assert!(
            c.reads_link("eu-west-1", "any"),
            "a whole run lists every link"
        );
        c.narrowed_syncs = Some(vec![SyncTarget {
            region: "eu-west-1".into(),
            resource_name: None,
            branch: Some(LinkBranch {
                repository_link_id: "link".into(),
                branch: "main".into(),
            }),
        }]);
        assert!(c.reads_link("eu-west-1", "link") && !c.reads_link("eu-west-1", "other"));
    }
}
