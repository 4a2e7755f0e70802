//! Every sample in events/ parses with the handlers' own input types and
//! means what its name says, so a sample cannot rot.

use aws_lambda_events::event::cloudformation::CloudFormationCustomResourceRequest;
use chrono::{TimeZone, Utc};
use connection_watch::domain::arn::ResourceArn;
use connection_watch::domain::connection::Connection;
use connection_watch::domain::host::Host;
use connection_watch::monitor::event::RunRequest;
use connection_watch::resource::decision::{decide, Action};
use serde_json::Value;

fn event(name: &str) -> Value {
    let path = format!("{}/events/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn action(name: &str) -> Action {
    let request: CloudFormationCustomResourceRequest = serde_json::from_value(event(name)).unwrap();
    decide(&request)
}

#[test]
fn every_file_is_covered() {
    let mut names: Vec<String> =
        std::fs::read_dir(format!("{}/events", env!("CARGO_MANIFEST_DIR")))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "alert-document.json",
            "cloudformation-create.json",
            "cloudformation-delete.json",
            "cloudformation-update-rename.json",
            "cloudformation-update-tags.json",
            "git-sync-repository-failed.json",
            "git-sync-resource-failed.json",
            "manual-run.json",
            "monitor-dry-run.json",
            "scheduled.json",
        ]
    );
}

#[test]
fn monitor_events() {
    let clock = Utc.with_ymd_and_hms(2026, 11, 25, 8, 0, 30).unwrap();
    let scheduled = RunRequest::from_event(&event("scheduled.json"), clock).unwrap();
    assert!(scheduled.time.is_some() && scheduled.regions.is_none());
    let manual = RunRequest::from_event(&event("manual-run.json"), clock).unwrap();
    assert_eq!(manual.regions.unwrap(), ["eu-west-1"]);
    assert_eq!(manual.dry_run, Some(true));
    let dry = RunRequest::from_event(&event("monitor-dry-run.json"), clock).unwrap();
    assert_eq!((dry.dry_run, dry.regions), (Some(true), None));
    // A failed Git sync, as AWS emits it: a run for that one stack.
    let failed = RunRequest::from_event(&event("git-sync-resource-failed.json"), clock).unwrap();
    let [target] = &failed.syncs.unwrap()[..] else {
        panic!("one stack")
    };
    assert_eq!(
        (target.region.as_str(), target.resource_name.as_deref()),
        ("eu-west-1", Some("web"))
    );
    assert_eq!((failed.regions, failed.dry_run), (None, None));
    // A failed repository sync, as AWS emits it: a run for that link's branch.
    let repository =
        RunRequest::from_event(&event("git-sync-repository-failed.json"), clock).unwrap();
    let [target] = &repository.syncs.unwrap()[..] else {
        panic!("one branch")
    };
    let branch = target.branch.as_ref().expect("the link's branch");
    assert_eq!(
        (branch.repository_link_id.as_str(), branch.branch.as_str()),
        ("7f3c1a2b-4d5e-4f60-8a1b-2c3d4e5f6a7b", "main")
    );
    assert_eq!(target.resource_name, None);
}

/// What an SQS or Lambda subscriber receives: connections of several home
/// regions and hosts, each object's region the one its ARN names.
#[test]
fn alert_document() {
    let document = event("alert-document.json");
    let connections: Vec<Connection> =
        serde_json::from_value(document["connections"].clone()).unwrap();
    let hosts: Vec<Host> = serde_json::from_value(document["hosts"].clone()).unwrap();
    let home = |arn: &str| ResourceArn::parse(arn).unwrap().region.to_string();
    assert!(connections.iter().all(|c| c.region == home(&c.arn)));
    assert!(hosts.iter().all(|h| h.region == home(&h.arn)));
    let regions: std::collections::BTreeSet<&str> =
        connections.iter().map(|c| c.region.as_str()).collect();
    assert_eq!(regions.len(), 2);
    assert_eq!(connections[1].host_status.as_deref(), Some("PENDING"));
    // What the monitor writes reads back the same.
    assert_eq!(
        serde_json::to_value(&connections).unwrap(),
        document["connections"]
    );
    assert_eq!(serde_json::to_value(&hosts).unwrap(), document["hosts"]);
}

#[test]
fn cloudformation_events() {
    assert!(matches!(action("cloudformation-create.json"), Action::Create(p) if p.tags.len() == 2));
    assert!(matches!(
        action("cloudformation-update-tags.json"),
        Action::UpdateInPlace { removed_tag_keys, .. } if removed_tag_keys == ["cost-centre"]
    ));
    assert!(
        matches!(action("cloudformation-update-rename.json"), Action::Create(p) if p.name == "repo-source-v2")
    );
    assert!(matches!(
        action("cloudformation-delete.json"),
        Action::Delete { .. }
    ));
}
