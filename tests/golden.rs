//! Golden snapshots of what people and machines read: the email text, the
//! JSON document, the chat notification and the subject of each message,
//! for a single, a split, a lifecycle, an organization-wide alert, one
//! that names what its connections break, one of Git-synced stacks, and one
//! of consumers denied their connection. Any byte that changes shows up here first.

mod common;

use chrono::{DateTime, Duration, TimeZone, Utc};
use common::assert_golden;
use connection_watch::domain::arn::ResourceArn;
use connection_watch::domain::connection::Connection;
use connection_watch::domain::consumer::{
    Consumer, ConsumerKind, Coverage, LastSync, Outcome, Recovery, Unread, Via,
};
use connection_watch::domain::git_sync::{
    judge, Blocker, LatestSync, ReadBlocker, RepositorySync, RepositorySyncEvent, SyncConfig,
    SyncReads, SyncedStack,
};
use connection_watch::domain::host::Host;
use connection_watch::domain::watched::{AlertState, Lifecycle, DEFAULT_IGNORE_TAG};
use connection_watch::render::batch::{Batch, Frame};
use connection_watch::render::message::{render_alerts, AlertMessage, SNS_MAX_PUBLISH_BYTES};
use serde_json::Value;

const ACCOUNT: &str = "123456789012";

fn at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 8, 0, 0).unwrap()
}

fn frame(account: &str) -> Frame<'_> {
    Frame {
        account,
        generated_at: at(),
        ignore_tag: DEFAULT_IGNORE_TAG,
        unread: &[],
    }
}

fn conn(i: usize, status: &str, region: &str, provider: &str) -> Connection {
    let arn = format!(
        "arn:aws:codestar-connections:{region}:{ACCOUNT}:connection/{i:08}-0000-4000-8000-000000000000"
    );
    Connection {
        name: format!("conn-{i}"),
        console_url: ResourceArn::parse(&arn).unwrap().console_url(),
        arn,
        status: status.into(),
        provider_type: provider.into(),
        region: region.into(),
        owner_account_id: ACCOUNT.into(),
        ..Connection::default()
    }
}

fn host(name: &str, status: &str, message: Option<&str>) -> Host {
    Host::new(
        name,
        &format!("arn:aws:codestar-connections:eu-west-1:{ACCOUNT}:host/{name}-0a1b2c3d"),
        status,
        message,
        "GitHubEnterpriseServer",
        &format!("https://{name}.example.com"),
        "eu-west-1",
    )
}

fn in_state(state: AlertState, hours: i64) -> Lifecycle {
    Lifecycle {
        state: Some(state),
        first_seen: Some(at() - Duration::hours(hours)),
        last_alerted: None,
    }
}

/// Every message of an alert, each protocol's body laid out for reading.
fn snapshot(alerts: &[AlertMessage]) -> String {
    let mut out = String::new();
    for (i, alert) in alerts.iter().enumerate() {
        let parts: Value = serde_json::from_str(&alert.message).unwrap();
        let body = |protocol: &str| parts[protocol].as_str().unwrap().to_string();
        let pretty = |protocol: &str| {
            let doc: Value = serde_json::from_str(&body(protocol)).unwrap();
            serde_json::to_string_pretty(&doc).unwrap()
        };
        assert_eq!(body("default"), body("email"));
        assert_eq!(body("sqs"), body("lambda"));
        out += &format!("##### message {} of {}\n", i + 1, alerts.len());
        out += &format!("subject: {}\n", alert.subject);
        out += &format!("publish size: {}\n", alert.publish_size());
        out += &format!("--- email\n{}", body("email"));
        out += &format!("--- sqs\n{}\n", pretty("sqs"));
        out += &format!("--- https (chat)\n{}\n", pretty("https"));
    }
    out
}

#[test]
fn a_single_alert() {
    let connections = [
        conn(1, "PENDING", "us-east-1", "GitHub"),
        Connection {
            host_arn: Some(host("ghe", "PENDING", None).arn),
            host_status: Some("PENDING".into()),
            ..conn(2, "PENDING", "eu-west-1", "GitHubEnterpriseServer")
        },
        conn(3, "ERROR", "us-east-1", "Bitbucket"),
    ];
    let hosts = [host(
        "ghe",
        "VPC_CONFIG_FAILED_INITIALIZATION",
        Some("subnet-0abc has no route"),
    )];
    let stuck = Batch {
        connections: &connections,
        hosts: &hosts,
        syncs: &[],
        access: &[],
    };
    let alerts = render_alerts(&frame(ACCOUNT), stuck, SNS_MAX_PUBLISH_BYTES);
    assert_golden("single.txt", &snapshot(&alerts));
}

#[test]
fn an_alert_naming_what_each_connection_breaks() {
    let consumer = |kind, i: usize, region: &str| {
        let arn = match kind {
            ConsumerKind::Pipeline => {
                format!("arn:aws:codepipeline:{region}:{ACCOUNT}:payments-deploy-{i}")
            }
            ConsumerKind::CodebuildProject => {
                format!("arn:aws:codebuild:{region}:{ACCOUNT}:project/payments-build-{i}")
            }
            ConsumerKind::GitSyncStack => {
                format!("arn:aws:cloudformation:{region}:{ACCOUNT}:stack/payments-stack-{i}")
            }
            ConsumerKind::ServiceCatalogProduct => {
                format!("arn:aws:catalog:{region}:{ACCOUNT}:product/prod-payments{i}")
            }
        };
        Consumer::from_arn(kind, &arn).unwrap()
    };
    let complete = Coverage {
        kinds: ConsumerKind::ALL.to_vec(),
        regions: 17,
        all_enabled_regions: true,
        unread: Vec::new(),
    };
    let unread = |region: &str, kind: &str| Unread {
        region: region.into(),
        kind: kind.into(),
        error: "ListPipelines in eu-west-1 failed: AccessDeniedException".into(),
    };
    let through_default = Consumer {
        via: Some(Via::AccountDefaultCredential),
        ..consumer(ConsumerKind::CodebuildProject, 2, "eu-central-1")
    };
    // A product's name comes from whoever made it: escaped like every other.
    let failed_product = Consumer {
        name: "payments catalog\u{202e}".into(),
        last_sync: Some(LastSync {
            status: "FAILED".into(),
            at: Some("2027-01-15T08:00:00Z".into()),
            message: Some("Template file product.yaml not found\nin org/catalog".into()),
        }),
        ..consumer(ConsumerKind::ServiceCatalogProduct, 0, "eu-west-1")
    };
    let many: Vec<Consumer> = [failed_product]
        .into_iter()
        .chain((0..4).map(|i| consumer(ConsumerKind::Pipeline, i, "us-east-1")))
        .chain([
            through_default,
            consumer(ConsumerKind::GitSyncStack, 0, "ap-southeast-2"),
            consumer(ConsumerKind::CodebuildProject, 0, "eu-west-1"),
        ])
        .collect();
    let connections = [
        Connection {
            used_by: Some(many),
            used_by_coverage: Some(complete.clone()),
            ..conn(1, "ERROR", "us-east-1", "GitHub")
        },
        Connection {
            used_by: Some(vec![consumer(
                ConsumerKind::CodebuildProject,
                1,
                "eu-west-1",
            )]),
            used_by_coverage: Some(Coverage {
                unread: vec![unread("us-east-1", "codebuild-project")],
                ..complete.clone()
            }),
            ..conn(2, "PENDING", "eu-west-1", "GitHub")
        },
        // Complete: a candidate for deletion.
        Connection {
            used_by: Some(Vec::new()),
            used_by_coverage: Some(complete.clone()),
            ..conn(3, "PENDING", "us-east-1", "Bitbucket")
        },
        // Regions unread.
        Connection {
            used_by: Some(Vec::new()),
            used_by_coverage: Some(Coverage {
                unread: vec![
                    unread("eu-west-1", "pipeline"),
                    unread("us-east-1", "git-sync-stack"),
                ],
                ..complete.clone()
            }),
            ..conn(5, "PENDING", "us-east-1", "GitLab")
        },
        // Kinds left out, and regions outside USED_BY_REGIONS.
        Connection {
            used_by: Some(Vec::new()),
            used_by_coverage: Some(Coverage {
                kinds: vec![ConsumerKind::Pipeline],
                regions: 2,
                all_enabled_regions: false,
                unread: Vec::new(),
            }),
            ..conn(6, "PENDING", "us-east-1", "GitHub")
        },
        // The account could not be read.
        Connection {
            used_by: Some(Vec::new()),
            used_by_coverage: Some(Coverage {
                regions: 0,
                all_enabled_regions: false,
                unread: vec![Unread {
                    error: "AccessDenied: not authorized to perform sts:AssumeRole".into(),
                    ..unread("*", "account")
                }],
                ..complete.clone()
            }),
            ..conn(7, "ERROR", "us-east-1", "GitHub")
        },
        Connection {
            used_by: Some(vec![
                consumer(ConsumerKind::Pipeline, 7, "us-east-1"),
                consumer(ConsumerKind::Pipeline, 8, "eu-west-1"),
                consumer(ConsumerKind::Pipeline, 9, "eu-west-1"),
            ]),
            recovery: vec![
                Recovery {
                    pipeline: "payments-deploy-7".into(),
                    region: "us-east-1".into(),
                    outcome: Outcome::Retried {
                        stage: "Source".into(),
                    },
                },
                Recovery {
                    pipeline: "payments-deploy-8".into(),
                    region: "eu-west-1".into(),
                    outcome: Outcome::Started {
                        stage: "Source".into(),
                    },
                },
                Recovery {
                    pipeline: "payments-deploy-9".into(),
                    region: "eu-west-1".into(),
                    outcome: Outcome::Failed {
                        stage: "Source".into(),
                        reason: "RetryStageExecution: ThrottlingException: Rate exceeded".into(),
                    },
                },
                Recovery {
                    pipeline: "payments-nightly".into(),
                    region: "us-east-1".into(),
                    outcome: Outcome::NotRestarted {
                        stage: "Source".into(),
                        reason: "failed on another action (action App is Succeeded)".into(),
                    },
                },
            ],
            recovery_more: 2,
            used_by_coverage: Some(complete.clone()),
            lifecycle: in_state(AlertState::Resolved, 30),
            ..conn(4, "ERROR", "us-east-1", "GitHub")
        },
        // Resolved, not healed: deleted.
        Connection {
            used_by: Some(Vec::new()),
            used_by_coverage: Some(complete.clone()),
            recovery_note: Some("nothing restarted: it is no longer listed (deleted)".into()),
            lifecycle: in_state(AlertState::Resolved, 30),
            ..conn(8, "PENDING", "us-east-1", "GitHub")
        },
    ];
    let stuck = Batch {
        connections: &connections,
        hosts: &[],
        syncs: &[],
        access: &[],
    };
    let alerts = render_alerts(&frame(ACCOUNT), stuck, SNS_MAX_PUBLISH_BYTES);
    assert_golden("used-by.txt", &snapshot(&alerts));
}

#[test]
fn a_split_alert() {
    let connections: Vec<Connection> = (0..12)
        .map(|i| conn(i, ["PENDING", "ERROR"][i % 2], "us-east-1", "GitLab"))
        .collect();
    let hosts = [host("gitlab", "PENDING", None)];
    let stuck = Batch {
        connections: &connections,
        hosts: &hosts,
        syncs: &[],
        access: &[],
    };
    let alerts = render_alerts(&frame(ACCOUNT), stuck, 9_000);
    assert!(alerts.len() > 1);
    assert_golden("split.txt", &snapshot(&alerts));
}

#[test]
fn a_lifecycle_alert() {
    let connections = [
        Connection {
            lifecycle: in_state(AlertState::New, 0),
            ..conn(1, "PENDING", "us-east-1", "GitHub")
        },
        Connection {
            lifecycle: in_state(AlertState::Ongoing, 76),
            ..conn(2, "ERROR", "us-east-1", "GitHub")
        },
        Connection {
            lifecycle: in_state(AlertState::Resolved, 5),
            ..conn(3, "PENDING", "eu-west-1", "GitLab")
        },
    ];
    let hosts = [Host {
        lifecycle: in_state(AlertState::Resolved, 30),
        ..host("ghe", "PENDING", None)
    }];
    let stuck = Batch {
        connections: &connections,
        hosts: &hosts,
        syncs: &[],
        access: &[],
    };
    let alerts = render_alerts(&frame(ACCOUNT), stuck, SNS_MAX_PUBLISH_BYTES);
    assert_golden("lifecycle.txt", &snapshot(&alerts));
}

#[test]
fn an_organization_wide_alert() {
    let owned = |c: Connection, account: &str, name: Option<&str>| Connection {
        account: Some(account.into()),
        account_name: name.map(str::to_string),
        ..c
    };
    let connections = [
        owned(
            conn(1, "PENDING", "us-east-1", "GitHub"),
            "111111111111",
            Some("payments"),
        ),
        owned(
            conn(2, "ERROR", "eu-west-1", "GitHub"),
            "111111111111",
            Some("payments"),
        ),
        owned(
            conn(3, "PENDING", "us-east-1", "GitLab"),
            "222222222222",
            None,
        ),
    ];
    let hosts = [Host {
        account: Some("222222222222".into()),
        ..host("ghe", "ERROR", None)
    }];
    let stuck = Batch {
        connections: &connections,
        hosts: &hosts,
        syncs: &[],
        access: &[],
    };
    let alerts = render_alerts(&frame("999999999999"), stuck, SNS_MAX_PUBLISH_BYTES);
    assert_golden("organization.txt", &snapshot(&alerts));
}

/// A stack synced from Git, judged from what AWS would answer.
fn synced(name: &str, blocked: bool, latest: &str) -> SyncedStack {
    synced_with(name, blocked, latest, None)
}

/// A stack synced from Git whose branch's repository sync AWS describes too.
fn synced_with(
    name: &str,
    blocked: bool,
    latest: &str,
    repository: Option<RepositorySync>,
) -> SyncedStack {
    let link = format!(
        "arn:aws:codestar-connections:eu-west-1:{ACCOUNT}:repository-link/11111111-2222-3333-4444-555555555555"
    );
    let config = SyncConfig {
        region: "eu-west-1".into(),
        account: ACCOUNT.into(),
        partition: "aws".into(),
        resource_name: name.into(),
        repository_name: "platform-infra".into(),
        branch: "main".into(),
        provider_type: "GitHub".into(),
        connection_arn: conn(1, "AVAILABLE", "us-east-1", "GitHub").arn,
        repository_link_id: "11111111-2222-3333-4444-555555555555".into(),
        repository_link_arn: link,
    };
    let blockers = blocked
        .then(|| ReadBlocker {
            blocker: Blocker {
                id: format!("{name}-blocker-1"),
                created_reason: "Stack update failed: subnet-0abc is in use\u{202e}".into(),
                created_at: at() - Duration::hours(3),
            },
            status: "ACTIVE".into(),
        })
        .into_iter()
        .collect();
    let latest = LatestSync {
        status: latest.into(),
        started_at: at() - Duration::hours(3),
    };
    let reads = SyncReads {
        blockers,
        latest: Some(latest),
        repository,
    };
    judge(config, reads).expect("stuck")
}

#[test]
fn a_git_sync_alert() {
    let connections = [Connection {
        lifecycle: in_state(AlertState::New, 0),
        ..conn(1, "ERROR", "us-east-1", "GitHub")
    }];
    let mut resolved = synced("dns-prod", false, "FAILED");
    resolved.lifecycle = in_state(AlertState::Resolved, 30);
    let syncs = [
        {
            // Described: shown and linked by its real StackId.
            let mut described = synced("network-prod", true, "FAILED");
            described.described(format!(
                "arn:aws:cloudformation:eu-west-1:{ACCOUNT}:stack/network-prod/6f1c7e20-9a3b-11ef-8e4d-0a1b2c3d4e5f"
            ));
            SyncedStack {
                lifecycle: in_state(AlertState::New, 0),
                ..described
            }
        },
        SyncedStack {
            lifecycle: in_state(AlertState::Ongoing, 26),
            ..synced("api-prod", false, "FAILED")
        },
        {
            // Its branch's repository sync failed, through a connection in
            // ERROR, while its own latest sync still reads SUCCEEDED.
            let events = (0..5).map(|n| RepositorySyncEvent {
                event: format!("event {n}"),
                kind: "INFO".into(),
                time: at() - Duration::minutes(50 - n),
                external_id: None,
            });
            let last = RepositorySyncEvent {
                event: "Failed to read deployment file: <a href=x>`@here`</a>\u{200b}".into(),
                kind: "ERROR".into(),
                time: at() - Duration::minutes(40),
                external_id: Some("sync-event-6".into()),
            };
            let repository = RepositorySync {
                status: "FAILED".into(),
                started_at: at() - Duration::minutes(51),
                events: events.chain([last]).collect(),
            };
            let mut stack = synced_with("web-prod", false, "SUCCEEDED", Some(repository));
            stack.connection_status = Some("ERROR".into());
            SyncedStack {
                lifecycle: in_state(AlertState::New, 0),
                ..stack
            }
        },
        resolved,
    ];
    let stuck = Batch {
        connections: &connections,
        hosts: &[],
        syncs: &syncs,
        access: &[],
    };
    let alerts = render_alerts(&frame(ACCOUNT), stuck, SNS_MAX_PUBLISH_BYTES);
    assert_golden("git-sync.txt", &snapshot(&alerts));
}

/// A connection with a pipeline flagged for the prefix rename and a
/// CodeBuild project denied by its permissions boundary.
fn access_findings() -> (
    Connection,
    [connection_watch::domain::access::AccessFinding; 2],
) {
    use connection_watch::domain::access::{checks, simulated_finding, verdict, Evaluation};
    use connection_watch::domain::consumer::{Grant, Source, Uses};

    let mut used = conn(1, "AVAILABLE", "eu-west-1", "GitHub");
    used.name = "a-very-long-connection-name-32c".into();
    let pipeline = Consumer::from_arn(
        ConsumerKind::Pipeline,
        "arn:aws:codepipeline:eu-west-1:123456789012:deploy",
    )
    .unwrap();
    let project = Consumer::from_arn(
        ConsumerKind::CodebuildProject,
        "arn:aws:codebuild:eu-west-1:123456789012:project/docs",
    )
    .unwrap();
    used.used_by = Some(vec![pipeline.clone(), project.clone()]);
    let named = used.arn.replace("codestar-connections", "codeconnections");
    let uses = |consumer: &Consumer, role: &str| Uses {
        consumer: consumer.clone(),
        sources: vec![Source {
            connection: named.clone(),
            stage: None,
            action: None,
            via: None,
            grant: Some(Grant {
                role: role.into(),
                ..Grant::default()
            }),
            full_clone_to: None,
        }],
        service_role: Some(role.into()),
    };
    let denied = |action: &str, boundary| Evaluation {
        action: action.into(),
        decision: "implicitDeny".into(),
        boundary_allowed: boundary,
        ..Evaluation::default()
    };
    let allowed = |action: &str| Evaluation {
        action: action.into(),
        decision: "allowed".into(),
        ..Evaluation::default()
    };
    let pipeline_check = checks(
        &uses(&pipeline, "arn:aws:iam::123456789012:role/deploy"),
        &used.arn,
    )
    .remove(0);
    let rename = simulated_finding(
        &pipeline_check,
        vec![verdict(&denied("codeconnections:UseConnection", None))],
        Some(&[verdict(&allowed("codestar-connections:UseConnection"))]),
        vec!["codeconnections:ProviderAction".into()],
    )
    .unwrap();
    let project_check = checks(
        &uses(&project, "arn:aws:iam::123456789012:role/docs"),
        &used.arn,
    )
    .remove(0);
    let boundary = simulated_finding(
        &project_check,
        vec![
            verdict(&denied("codeconnections:GetConnectionToken", Some(false))),
            verdict(&allowed("codeconnections:GetConnection")),
        ],
        Some(&[]),
        vec![],
    )
    .unwrap();
    (used, [rename, boundary])
}

/// `monitor --inventory`: a long name cut with an ellipsis, a connection
/// with consumers and one without a role to check, a prefix-rename finding
/// with its fix, a boundary denial, hosts, synced stacks (blocked, ok, not
/// read), and the coverage line.
#[test]
fn an_inventory() {
    use connection_watch::domain::access::AccessTally;
    use connection_watch::domain::arn::connection_key;
    use connection_watch::render::inventory::{inventory_text, AccountInventory, Inventory};

    let (used, [rename, boundary]) = access_findings();
    let mut unused = conn(2, "PENDING", "us-east-1", "GitHubEnterpriseServer");
    unused.used_by = Some(Vec::new());
    let tally = AccessTally {
        checked: 2,
        denied: 2,
        inconclusive: 0,
        not_checked: 1,
    };
    let inventory = Inventory {
        accounts: vec![AccountInventory {
            account: ACCOUNT.into(),
            connections: Some(vec![used.clone(), unused]),
            listed_from: Some("us-east-1".into()),
            hosts: vec![host("ghes-main", "AVAILABLE", None)],
            synced_stacks: Some(synced_rows(&used.arn)),
            unread_syncs: vec![(
                "eu-west-1".into(),
                "ListSyncConfigurations timed out".into(),
            )],
            coverage: Some(whole_coverage()),
            ..AccountInventory::default()
        }],
        access: [(connection_key(&used.arn).unwrap(), tally)].into(),
        findings: vec![rename, boundary],
        access_gaps: vec!["1 past this run's bound of 2".into()],
        ..Inventory::default()
    };
    assert_golden("inventory.txt", &inventory_text(&inventory));
}

fn whole_coverage() -> Coverage {
    Coverage {
        kinds: ConsumerKind::ALL.to_vec(),
        regions: 17,
        all_enabled_regions: true,
        unread: Vec::new(),
    }
}

/// Three synced stacks on `connection`: blocked, ok, and one in a region
/// whose Git sync was not read whole.
fn synced_rows(connection: &str) -> Vec<connection_watch::render::inventory::SyncedRow> {
    use connection_watch::domain::git_sync::SyncConfig;
    use connection_watch::render::inventory::SyncedRow;
    let sync = |stack: &str, region: &str| SyncConfig {
        region: region.into(),
        account: ACCOUNT.into(),
        partition: "aws".into(),
        resource_name: stack.into(),
        repository_name: "acme/network".into(),
        branch: "main".into(),
        provider_type: "GitHub".into(),
        connection_arn: connection.into(),
        repository_link_id: "link".into(),
        repository_link_arn: "arn:aws:codeconnections:us-east-1:123456789012:repository-link/link"
            .into(),
    };
    vec![
        SyncedRow::new(sync("network", "us-east-1"), "BLOCKED".into()),
        SyncedRow::new(sync("dns", "us-east-1"), "ok".into()),
        SyncedRow::new(sync("edge", "eu-west-1"), "not read".into()),
    ]
}

/// An organization-wide inventory: two accounts read (one named), one whose
/// member role could not be assumed, each account's gaps named with it.
#[test]
fn an_organization_inventory() {
    use connection_watch::render::inventory::{
        inventory_text, AccountInventory, Inventory, NotEntered,
    };
    let mut own = conn(1, "AVAILABLE", "us-east-1", "GitHub");
    own.used_by = Some(Vec::new());
    let mut member = conn(2, "PENDING", "eu-west-1", "Bitbucket");
    member.arn = member.arn.replace(ACCOUNT, "222222222222");
    member.account = Some("222222222222".into());
    member.used_by = Some(Vec::new());
    let mut partial = whole_coverage();
    partial
        .unread
        .push(connection_watch::domain::consumer::Unread {
            region: "eu-west-1".into(),
            kind: "pipeline".into(),
            error: "ListPipelines timed out".into(),
        });
    let inventory = Inventory {
        accounts: vec![
            AccountInventory {
                account: ACCOUNT.into(),
                connections: Some(vec![own]),
                listed_from: Some("us-east-1".into()),
                synced_stacks: Some(Vec::new()),
                coverage: Some(whole_coverage()),
                ..AccountInventory::default()
            },
            AccountInventory {
                account: "222222222222".into(),
                name: Some("payments-prod".into()),
                connections: Some(vec![member]),
                listed_from: Some("us-east-1".into()),
                synced_stacks: Some(Vec::new()),
                coverage: Some(partial),
                ..AccountInventory::default()
            },
        ],
        failed_accounts: vec![NotEntered {
            account: "333333333333".into(),
            error: "AccessDenied: not authorized to perform sts:AssumeRole".into(),
        }],
        access_gaps: vec![
            "222222222222: consumers not searched, so not checked: pipelines of eu-west-1 \
             (could not be read)"
                .into(),
        ],
        ..Inventory::default()
    };
    assert_golden("inventory-organization.txt", &inventory_text(&inventory));
}

/// Denied consumers: a pipeline new for the prefix rename, a CodeBuild
/// project still denied by its boundary, and one resolved, with the fix,
/// the evidence and what simulation does not see.
#[test]
fn an_access_alert() {
    use connection_watch::domain::denied::{access_key, DeniedConsumer};

    let (used, [rename, boundary]) = access_findings();
    let denied = |finding: connection_watch::domain::access::AccessFinding, lifecycle| {
        let actions: Vec<String> = finding.actions.iter().map(|v| v.action.clone()).collect();
        let key = access_key(&finding.consumer.arn, &finding.connection_arn, &actions);
        DeniedConsumer {
            lifecycle,
            ..DeniedConsumer::new(finding, key, &used.provider_type, &used.status)
        }
    };
    let mut resolved = rename.clone();
    resolved.consumer.name = "release".into();
    resolved.consumer.arn = "arn:aws:codepipeline:eu-west-1:123456789012:release".into();
    let access = [
        denied(rename, in_state(AlertState::New, 0)),
        denied(boundary, in_state(AlertState::Ongoing, 26)),
        denied(resolved, in_state(AlertState::Resolved, 50)),
    ];
    let batch = Batch {
        access: &access,
        ..Batch::default()
    };
    let alerts = render_alerts(&frame(ACCOUNT), batch, SNS_MAX_PUBLISH_BYTES);
    assert_golden("access.txt", &snapshot(&alerts));
}
