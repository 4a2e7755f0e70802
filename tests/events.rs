//! Every sample in events/ parses with the handlers' own input types and
//! means what its name says, so a sample cannot rot.

use aws_lambda_events::event::cloudformation::CloudFormationCustomResourceRequest;
use connection_watch::monitor::RunRequest;
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
            "cloudformation-create.json",
            "cloudformation-delete.json",
            "cloudformation-update-rename.json",
            "cloudformation-update-tags.json",
            "manual-run.json",
            "scheduled.json",
        ]
    );
}

#[test]
fn monitor_events() {
    let scheduled = RunRequest::from_event(&event("scheduled.json")).unwrap();
    assert!(scheduled.time.is_some() && scheduled.regions.is_none());
    let manual = RunRequest::from_event(&event("manual-run.json")).unwrap();
    assert_eq!(manual.regions.unwrap(), ["eu-west-1"]);
    assert_eq!(manual.dry_run, Some(true));
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
