//! Which listed objects are worth reading tags for, and which remembered
//! ones this run's listings covered, one rule per kind. Pure.

use crate::domain::arn::account_in;
use crate::domain::connection::Connection;
use crate::domain::denied::DeniedConsumer;
use crate::domain::git_sync::SyncedStack;
use crate::domain::host::Host;
use crate::domain::watched::Watched;
use crate::monitor::config::{MonitorConfig, UsedByRegions};
use crate::monitor::report::RunReport;

/// A watched kind as the monitor selects it.
pub trait Selected: Watched + Send + 'static {
    /// Worth reading tags for: what about it is watched.
    fn is_candidate(&self, config: &MonitorConfig) -> bool;
    /// Whether this run's listings covered its home region, so that not
    /// finding it stuck means it is no longer stuck.
    fn was_covered(&self, config: &MonitorConfig, report: &RunReport) -> bool;
}

/// Whether this run read `item`'s kind in its account and home region.
fn kind_read<T: Watched>(item: &T, report: &RunReport) -> bool {
    let account = account_in(item.arn()).unwrap_or_default();
    report.read(account, item.region(), T::KIND)
}

impl Selected for Connection {
    /// Home region, status and provider type are watched.
    fn is_candidate(&self, config: &MonitorConfig) -> bool {
        config.watches(&self.region)
            && config.statuses.contains(&self.status)
            && config
                .provider_types
                .as_ref()
                .is_none_or(|types| types.contains(&self.provider_type))
    }

    fn was_covered(&self, config: &MonitorConfig, report: &RunReport) -> bool {
        report.listed_from.is_some() && config.watches(&self.region) && kind_read(self, report)
    }
}

impl Selected for Host {
    /// The host's status is watched.
    fn is_candidate(&self, config: &MonitorConfig) -> bool {
        config.host_statuses.contains(&self.status)
    }

    fn was_covered(&self, config: &MonitorConfig, report: &RunReport) -> bool {
        config.lists_hosts_in(&self.region) && kind_read(self, report)
    }
}

impl Selected for SyncedStack {
    /// Judged stuck when read; what is read is what the run watches.
    fn is_candidate(&self, config: &MonitorConfig) -> bool {
        config.reads_sync(self.place())
    }

    /// Its region's Git sync was read whole (a narrowed run reads only the
    /// stacks it names).
    fn was_covered(&self, config: &MonitorConfig, report: &RunReport) -> bool {
        config.reads_sync(self.place()) && kind_read(self, report)
    }
}

impl Selected for DeniedConsumer {
    /// Found by the access checks: there are no tags to read.
    fn is_candidate(&self, _: &MonitorConfig) -> bool {
        true
    }

    /// Its check had a verdict this run, or its consumer's kind was read
    /// whole in its account, its own region among those searched (every
    /// enabled one, or `USED_BY_REGIONS`), and no longer names the
    /// connection for these actions; never when access was not checked.
    fn was_covered(&self, config: &MonitorConfig, report: &RunReport) -> bool {
        let searched = match &config.used_by_regions {
            UsedByRegions::Enabled => true,
            UsedByRegions::Listed(regions) => regions.contains(&self.finding.consumer.region),
        };
        report.access.as_ref().is_some_and(|a| {
            let checks = &a.access_checks;
            let account = account_in(&self.arn).unwrap_or_default();
            checks.decided.contains(&self.arn)
                || (searched
                    && !checks.present.contains(&self.arn)
                    && checks.read_whole.contains(&format!(
                        "{account}/{}",
                        self.finding.consumer.kind.as_str()
                    )))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::connection::sample as conn;
    use crate::domain::watched::Kind;
    use crate::monitor::config::UsedBy;

    fn config(
        statuses: &[&str],
        providers: Option<&[&str]>,
        regions: Option<&[&str]>,
    ) -> MonitorConfig {
        MonitorConfig {
            topic_arn: None,
            event_bus: None,
            statuses: statuses.iter().map(|s| s.to_string()).collect(),
            host_statuses: vec!["PENDING".into()],
            own_region: "us-east-1".into(),
            regions: regions.map(|r| r.iter().map(|s| s.to_string()).collect()),
            provider_types: providers.map(|p| p.iter().map(|s| s.to_string()).collect()),
            ignore_tag: "connection-watch:ignore".into(),
            dry_run: true,
            state_table: None,
            repeat_interval: crate::monitor::config::DEFAULT_REPEAT_INTERVAL,
            accounts: crate::domain::account::AccountScope::Own,
            member_role_name: crate::monitor::config::DEFAULT_MEMBER_ROLE_NAME.into(),
            exclude_accounts: Vec::new(),
            account_concurrency: crate::monitor::config::DEFAULT_ACCOUNT_CONCURRENCY,
            narrowed_accounts: None,
            used_by: UsedBy {
                pipelines: false,
                codebuild: false,
                git_sync: false,
                service_catalog: false,
            },
            used_by_regions: crate::monitor::config::UsedByRegions::Enabled,
            retry_on_resolved: false,
            run_interval: chrono::Duration::hours(1),
            git_sync: true,
            access_check: None,
            narrowed_syncs: None,
        }
    }

    #[test]
    fn a_denied_consumer_resolves_only_on_a_verdict_or_where_its_kind_was_read_whole() {
        use crate::domain::access::{AccessFinding, Evidence};
        use crate::domain::consumer::{Consumer, ConsumerKind};
        use crate::monitor::report::{AccessChecks, AccessReport};
        let consumer = Consumer::from_arn(
            ConsumerKind::Pipeline,
            "arn:aws:codepipeline:eu-west-1:123456789012:deploy",
        )
        .unwrap();
        let denied = DeniedConsumer::new(
            AccessFinding {
                consumer,
                connection_arn: "arn:aws:codeconnections:eu-west-1:123456789012:connection/c"
                    .into(),
                role: "arn:aws:iam::123456789012:role/deploy".into(),
                actions: Vec::new(),
                evidence: Evidence::Simulated,
                observed: None,
                other_prefix_allowed: false,
                fix: serde_json::Value::Null,
                assumed: Vec::new(),
            },
            "arn:aws:codepipeline:eu-west-1:123456789012:deploy#c#codeconnections:UseConnection"
                .into(),
            "GitHub",
            "AVAILABLE",
        );
        let key = denied.arn.clone();
        let config = config(&["PENDING"], None, None);
        let report = |checks: AccessChecks| RunReport {
            access: Some(AccessReport {
                access_findings: Vec::new(),
                access_checks: checks,
            }),
            ..RunReport::default()
        };
        let whole = std::collections::HashSet::from(["123456789012/pipeline".to_string()]);
        let listed = |regions: &[&str]| MonitorConfig {
            used_by_regions: UsedByRegions::Listed(regions.iter().map(|r| r.to_string()).collect()),
            ..config.clone()
        };
        let gone = || AccessChecks {
            read_whole: whole.clone(),
            ..AccessChecks::default()
        };
        let decided = AccessChecks {
            decided: [key.clone()].into(),
            present: [key.clone()].into(),
            ..AccessChecks::default()
        };
        assert!(denied.was_covered(&config, &report(decided)));
        let unjudged = AccessChecks {
            present: [key.clone()].into(),
            read_whole: whole.clone(),
            ..AccessChecks::default()
        };
        assert!(
            !denied.was_covered(&config, &report(unjudged)),
            "checked later, not resolved"
        );
        assert!(
            denied.was_covered(&config, &report(gone())),
            "no longer uses it"
        );
        assert!(denied.was_covered(&listed(&["eu-west-1"]), &report(gone())));
        assert!(
            !denied.was_covered(&listed(&["us-east-1"]), &report(gone())),
            "its region no longer searched: not seen gone"
        );
        let gone_unread = AccessChecks::default();
        assert!(
            !denied.was_covered(&config, &report(gone_unread)),
            "its kind not read whole"
        );
        assert!(
            !denied.was_covered(&config, &RunReport::default()),
            "access not checked"
        );
    }

    #[test]
    fn a_synced_stack_resolves_only_where_its_region_was_read_whole_and_the_run_read_it() {
        use crate::domain::git_sync::{sample, SyncTarget};
        let stack = sample("web", "BLOCKED", "eu-west-1");
        let mut watching = config(&["PENDING"], None, Some(&["eu-west-1"]));
        let report = RunReport::default();
        assert!(stack.was_covered(&watching, &report));
        let unread = |kind| RunReport {
            unread: vec![crate::domain::watched::KindUnread {
                account: account_in(&stack.arn).unwrap_or_default().into(),
                region: Some("eu-west-1".into()),
                kind,
                error: "AccessDenied".into(),
            }],
            ..RunReport::default()
        };
        assert!(
            !stack.was_covered(&watching, &unread(Kind::GitSync)),
            "its region's Git sync was not read"
        );
        assert!(
            stack.was_covered(&watching, &unread(Kind::Host)),
            "another kind's trouble there is not its own"
        );
        watching.narrowed_syncs = Some(vec![SyncTarget {
            region: "eu-west-1".into(),
            resource_name: Some("api".into()),
            branch: None,
        }]);
        assert!(
            !stack.was_covered(&watching, &report),
            "a run for another stack"
        );
        watching.narrowed_syncs = None;
        watching.git_sync = false;
        assert!(
            !stack.was_covered(&watching, &report),
            "GIT_SYNC=false reads nothing"
        );
        let elsewhere = config(&["PENDING"], None, Some(&["us-east-1"]));
        assert!(
            !stack.was_covered(&elsewhere, &report),
            "its region is not watched"
        );
    }

    #[test]
    fn candidates_by_region_status_and_provider() {
        let all = config(&["PENDING", "ERROR"], None, None);
        let github_only = config(&["PENDING"], Some(&["GitHub"]), None);
        let west_only = config(&["PENDING", "ERROR"], None, Some(&["eu-west-1"]));
        let cases = [
            (
                conn("a", "PENDING", "GitHub", "us-east-1"),
                true,
                true,
                false,
            ),
            (
                conn("b", "ERROR", "GitHub", "us-east-1"),
                true,
                false,
                false,
            ),
            (
                conn("c", "AVAILABLE", "GitHub", "eu-west-1"),
                false,
                false,
                false,
            ),
            (
                conn("d", "PENDING", "Bitbucket", "eu-west-1"),
                true,
                false,
                true,
            ),
        ];
        for (c, in_all, in_github, in_west) in cases {
            assert_eq!(c.is_candidate(&all), in_all, "{}", c.name);
            assert_eq!(c.is_candidate(&github_only), in_github, "{}", c.name);
            assert_eq!(c.is_candidate(&west_only), in_west, "{}", c.name);
        }
    }
}
