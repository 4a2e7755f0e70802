//! What uses a connection: CodePipeline pipelines whose source actions,
//! CodeBuild projects whose sources authenticate with it (by name, or through
//! the region's account-level credential), CloudFormation stacks synced from
//! Git through a repository link on it, and Service Catalog products synced
//! from a repository through it; and how complete the search was. Pure.

use super::arn::{console_domain, stack_console_url, ResourceArn};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConsumerKind {
    Pipeline,
    CodebuildProject,
    GitSyncStack,
    ServiceCatalogProduct,
}

impl ConsumerKind {
    /// Every kind, in the order the text names them.
    pub const ALL: [Self; 4] = [
        Self::Pipeline,
        Self::CodebuildProject,
        Self::GitSyncStack,
        Self::ServiceCatalogProduct,
    ];

    /// As the text says it: `pipeline`, `CodeBuild project`, `Git-synced stack`.
    pub fn label(self) -> &'static str {
        match self {
            Self::Pipeline => "pipeline",
            Self::CodebuildProject => "CodeBuild project",
            Self::GitSyncStack => "Git-synced stack",
            Self::ServiceCatalogProduct => "Service Catalog product",
        }
    }

    /// As the JSON spells it (`usedBy[].kind`, `usedByCoverage`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pipeline => "pipeline",
            Self::CodebuildProject => "codebuild-project",
            Self::GitSyncStack => "git-sync-stack",
            Self::ServiceCatalogProduct => "service-catalog-product",
        }
    }

    /// Plural, as a search's coverage names them.
    pub fn plural(self) -> &'static str {
        match self {
            Self::Pipeline => "pipelines",
            Self::CodebuildProject => "CodeBuild projects",
            Self::GitSyncStack => "Git-synced stacks",
            Self::ServiceCatalogProduct => "Service Catalog products",
        }
    }
}

/// How a consumer reaches a connection when it does not name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Via {
    /// A CodeBuild source with no `auth` of its own uses the region's
    /// account-level credential for its server type (CodeBuild User Guide:
    /// account-level credentials "will be used on a project when no project
    /// or source level credentials are specified").
    AccountDefaultCredential,
    /// A pipeline's source action hands the project a full clone
    /// (`OutputArtifactFormat` `CODEBUILD_CLONE_REF`), and the project
    /// clones through the connection (`domain::full_clone`).
    PipelineFullClone,
}

/// One pipeline or project that breaks while its connection is stuck.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Consumer {
    pub kind: ConsumerKind,
    pub region: String,
    pub name: String,
    pub account: String,
    pub arn: String,
    pub console_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<Via>,
    /// A Service Catalog product's latest sync from its repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sync: Option<LastSync>,
}

/// A Service Catalog product's `SourceConnection.LastSync` (Service Catalog
/// API Reference, `LastSync`): `FAILED` means the repository's latest
/// change did not become a new version of the product.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LastSync {
    /// `SUCCEEDED` or `FAILED`, as AWS wrote it.
    pub status: String,
    /// When it ran (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// AWS's `LastSyncStatusMessage`, cut where it is read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl LastSync {
    pub fn failed(&self) -> bool {
        self.status == "FAILED"
    }
}

impl Consumer {
    /// From its ARN (`arn:<partition>:codepipeline:<region>:<account>:<name>`,
    /// `...:codebuild:<region>:<account>:project/<name>`,
    /// `...:cloudformation:<region>:<account>:stack/<name>` or
    /// `...:catalog:<region>:<account>:product/<id>`, named by its id); `None`
    /// for one that does not parse.
    pub fn from_arn(kind: ConsumerKind, arn: &str) -> Option<Self> {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        let ["arn", partition, service, region, account, resource] = parts[..] else {
            return None;
        };
        let name = match (kind, service) {
            (ConsumerKind::Pipeline, "codepipeline") => resource,
            (ConsumerKind::CodebuildProject, "codebuild") => resource.strip_prefix("project/")?,
            (ConsumerKind::GitSyncStack, "cloudformation") => resource
                .strip_prefix("stack/")
                .map(|rest| rest.split('/').next().unwrap_or(rest))?,
            (ConsumerKind::ServiceCatalogProduct, "catalog") => {
                resource.strip_prefix("product/")?
            }
            _ => return None,
        };
        let domain = console_domain(partition, region);
        let console_url = match kind {
            ConsumerKind::Pipeline => {
                format!(
                    "https://{domain}/codesuite/codepipeline/pipelines/{name}/view?region={region}"
                )
            }
            ConsumerKind::CodebuildProject => {
                format!("https://{domain}/codesuite/codebuild/{account}/projects/{name}?region={region}")
            }
            ConsumerKind::GitSyncStack => stack_console_url(partition, region, name),
            // The administrator console's page of the product, by its id.
            ConsumerKind::ServiceCatalogProduct => {
                format!(
                    "https://{domain}/servicecatalog/home?region={region}#admin-products/{name}"
                )
            }
        };
        Some(Self {
            kind,
            region: region.to_string(),
            name: name.to_string(),
            account: account.to_string(),
            arn: arn.to_string(),
            console_url,
            via: None,
            last_sync: None,
        })
    }
}

/// What was done, once a connection healed, for a pipeline whose source
/// stage had failed on it (`RETRY_ON_RESOLVED`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Recovery {
    pub pipeline: String,
    pub region: String,
    pub outcome: Outcome,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "camelCase")]
pub enum Outcome {
    /// `RetryStageExecution` of the stage's failed actions.
    Retried { stage: String },
    /// `StartPipelineExecution`: the failed stage could not be retried.
    Started { stage: String },
    /// Neither worked; the pipeline is as it was.
    Failed { stage: String, reason: String },
    /// Left alone on purpose: it failed, but not on this connection during
    /// its outage (another action, an older failure, already retried).
    NotRestarted { stage: String, reason: String },
}

/// The most restart outcomes one connection lists; `recoveryMore` counts the
/// rest. Each outcome is up to about 500 bytes of JSON with its reason, so
/// 50 keep a connection's share of one SNS message near 75 KB (three
/// copies), as `MAX_USED_BY_LISTED` does for its consumers.
pub const MAX_RECOVERY_LISTED: usize = 50;
/// The most characters a reason keeps (an SDK error can run to kilobytes).
pub const MAX_REASON_CHARS: usize = 300;

/// `text` cut to `max_chars` characters, marked `...` where it was cut.
pub fn brief(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_string(),
    }
}

/// A pipeline's source action on a connection: its stage and its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Target<'a> {
    pub stage: &'a str,
    pub action: &'a str,
}

/// A pipeline or project, and the sources that name a connection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Uses {
    pub consumer: Consumer,
    pub sources: Vec<Source>,
    /// A CodeBuild project's service role, also where none of its own
    /// sources uses a connection: a full clone a pipeline hands it is
    /// simulated with it. `None` for the other kinds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_role: Option<String>,
}

/// One source that uses a connection: a pipeline's source action (in its
/// stage), or a project's source.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    pub connection: String,
    /// The pipeline stage holding the source action; `None` for a project
    /// or a synced stack.
    pub stage: Option<String>,
    /// The pipeline's source action; `None` for a project or a synced stack
    /// (and in definitions cached by an earlier version, which are read again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// Set when the source does not name the connection itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<Via>,
    /// The role that uses the connection, and what its requests carry: what
    /// access is simulated with. `None` for a synced stack or a product
    /// (AWS's own roles use the connection), and in definitions cached by an
    /// earlier version, which are read again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant: Option<Grant>,
    /// A pipeline's source action: the CodeBuild projects it hands a full
    /// clone, empty for a `CODE_ZIP` artifact. `None` for the other kinds,
    /// and in definitions cached by an earlier version, which are read again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_clone_to: Option<Vec<FedProject>>,
}

/// A CodeBuild project a pipeline's source action hands a full clone
/// (`domain::full_clone`): the `ProjectName` of a CodeBuild action taking
/// its artifact, in the action's `region` (`None`: the pipeline's own).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FedProject {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

/// A source's role and the values of the condition keys its requests carry
/// (docs/reference.md, "Can its consumers use it").
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Grant {
    /// A pipeline action's `roleArn`, else its pipeline's; a project's
    /// service role. Empty when the definition names none.
    pub role: String,
    /// `FullRepositoryId` of a pipeline's source action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// `BranchName` of a pipeline's source action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
}

impl Uses {
    /// Whether any source uses `connection`.
    pub fn uses(&self, connection: &str) -> bool {
        self.sources
            .iter()
            .any(|s| same_connection(&s.connection, connection))
    }

    /// The consumer as it uses `connection`: `via` only where no source
    /// names it directly.
    fn consumer_of(&self, connection: &str) -> Consumer {
        let using = self
            .sources
            .iter()
            .filter(|s| same_connection(&s.connection, connection));
        // Named directly by any source, it is not `via` anything.
        let via = using
            .map(|s| s.via)
            .reduce(|a, b| a.zip(b).map(|(a, b)| a.min(b)))
            .flatten();
        Consumer {
            via,
            ..self.consumer.clone()
        }
    }

    /// The pipeline source actions that name `connection`, with their stages.
    pub fn actions_using(&self, connection: &str) -> Vec<Target<'_>> {
        self.sources
            .iter()
            .filter(|s| same_connection(&s.connection, connection))
            .filter_map(|s| {
                Some(Target {
                    stage: s.stage.as_deref()?,
                    action: s.action.as_deref()?,
                })
            })
            .collect()
    }
}

/// Whether two ARNs name one connection: the same partition, region,
/// account and id, whichever service prefix each uses (`codestar-connections`
/// or `codeconnections`: AWS renamed the service in 2024, and a pipeline may
/// name a connection by either).
pub fn same_connection(a: &str, b: &str) -> bool {
    match (
        ResourceArn::parse_connection(a),
        ResourceArn::parse_connection(b),
    ) {
        (Some(a), Some(b)) => {
            (a.partition, a.region, a.account, a.id) == (b.partition, b.region, b.account, b.id)
        }
        _ => false,
    }
}

/// The most consumers one connection lists. Its object appears three times
/// in an SNS message (256 KiB) and once in an event entry (under 256 KB); a
/// consumer is at most about 0.7 KB of JSON (CodeBuild project names up to
/// 150 characters, pipeline names 100: AWS's botocore models), so 50 keep
/// one connection's share of a message near 110 KB whatever the account
/// holds. Unlisted, one GitHub connection used by 300 pipelines would make a
/// message over SNS's limit on its own, failing the whole alert (and about
/// 400 would do the same to its event).
pub const MAX_USED_BY_LISTED: usize = 50;

/// What a connection's `usedBy` carries: the first `MAX_USED_BY_LISTED`
/// consumers found, and how many more there are.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConsumersFound {
    pub listed: Vec<Consumer>,
    pub more: usize,
}

/// Everything among `uses` that names `connection`, each once, ordered by
/// kind, region and name, listed up to `MAX_USED_BY_LISTED`.
pub fn used_by(connection: &str, uses: &[Uses]) -> ConsumersFound {
    let mut found: Vec<Consumer> = uses
        .iter()
        .filter(|u| u.uses(connection))
        .map(|u| u.consumer_of(connection))
        .collect();
    found.sort();
    found.dedup();
    let more = found.len().saturating_sub(MAX_USED_BY_LISTED);
    found.truncate(MAX_USED_BY_LISTED);
    ConsumersFound {
        listed: found,
        more,
    }
}

/// `Unread::kind` where the account's enabled regions could not be listed
/// (the regions that were read are then not every region).
pub const UNREAD_REGION_LIST: &str = "region-list";
/// `Unread::kind` where the account could not be read at all (its member
/// role was not assumed); `region` is then [`EVERY_REGION`].
pub const UNREAD_ACCOUNT: &str = "account";
pub const EVERY_REGION: &str = "*";

/// What one lookup could not read: a kind (`ConsumerKind::as_str`) in a
/// region, or the account's region list, or the account.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Unread {
    pub region: String,
    pub kind: String,
    pub error: String,
}

/// How far the search for a connection's consumers reached
/// (`usedByCoverage`): a claim that nothing uses it is only as good as this.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Coverage {
    /// The kinds looked up (`USED_BY`).
    pub kinds: Vec<ConsumerKind>,
    /// How many regions were read.
    pub regions: usize,
    /// Whether those are every region enabled for the account, as AWS
    /// listed them (false with a `USED_BY_REGIONS` list, or when the list
    /// could not be read).
    pub all_enabled_regions: bool,
    pub unread: Vec<Unread>,
}

impl Coverage {
    /// Whether finding nothing means nothing uses it: every kind looked up
    /// in every enabled region of the account, and nothing unread. A
    /// connection is usable from every region ("Global resources in AWS
    /// CodeConnections"), so less than that proves nothing.
    pub fn is_complete(&self) -> bool {
        ConsumerKind::ALL.iter().all(|k| self.kinds.contains(k))
            && self.all_enabled_regions
            && self.unread.is_empty()
    }

    /// The kinds `USED_BY` leaves out.
    pub fn kinds_left_out(&self) -> Vec<ConsumerKind> {
        ConsumerKind::ALL
            .into_iter()
            .filter(|k| !self.kinds.contains(k))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0a1b2c3d-aaaa-bbbb-cccc-dddddddddddd";

    fn pipeline(name: &str, region: &str, connections: &[String]) -> Uses {
        Uses {
            consumer: Consumer::from_arn(
                ConsumerKind::Pipeline,
                &format!("arn:aws:codepipeline:{region}:111111111111:{name}"),
            )
            .unwrap(),
            sources: connections
                .iter()
                .map(|c| Source {
                    connection: c.clone(),
                    stage: Some("Source".into()),
                    action: Some("Source".into()),
                    via: None,
                    grant: None,
                    full_clone_to: None,
                })
                .collect(),
            service_role: None,
        }
    }

    #[test]
    fn either_service_prefix_names_the_same_connection() {
        let old = format!("arn:aws:codestar-connections:us-east-1:111111111111:connection/{ID}");
        let new = format!("arn:aws:codeconnections:us-east-1:111111111111:connection/{ID}");
        assert!(same_connection(&old, &new));
        for other in [
            format!("arn:aws:codeconnections:eu-west-1:111111111111:connection/{ID}"),
            format!("arn:aws:codeconnections:us-east-1:222222222222:connection/{ID}"),
            format!("arn:aws-cn:codeconnections:us-east-1:111111111111:connection/{ID}"),
            "arn:aws:codeconnections:us-east-1:111111111111:connection/other".to_string(),
            format!("arn:aws:codeconnections:us-east-1:111111111111:host/{ID}"),
            "not an arn".to_string(),
        ] {
            assert!(!same_connection(&old, &other), "{other}");
        }
    }

    #[test]
    fn used_by_finds_each_consumer_once_in_order() {
        let old = format!("arn:aws:codestar-connections:us-east-1:111111111111:connection/{ID}");
        let new = old.replace("codestar-connections", "codeconnections");
        let uses = [
            pipeline("zeta", "us-east-1", &[old.clone(), new.clone()]),
            pipeline("alpha", "eu-west-1", std::slice::from_ref(&new)),
            pipeline("unrelated", "us-east-1", &["arn:aws:s3:::bucket".into()]),
        ];
        let names: Vec<(String, String)> = used_by(&old, &uses)
            .listed
            .into_iter()
            .map(|c| (c.region, c.name))
            .collect();
        assert_eq!(
            names,
            [
                ("eu-west-1".to_string(), "alpha".to_string()),
                ("us-east-1".to_string(), "zeta".to_string())
            ]
        );
    }

    #[test]
    fn used_by_lists_fifty_and_counts_the_rest() {
        let connection = format!("arn:aws:codeconnections:us-east-1:111111111111:connection/{ID}");
        for (found, listed, more) in [(49, 49, 0), (50, 50, 0), (51, 50, 1), (300, 50, 250)] {
            let uses: Vec<Uses> = (0..found)
                .map(|i| {
                    pipeline(
                        &format!("p{i:03}"),
                        "us-east-1",
                        std::slice::from_ref(&connection),
                    )
                })
                .collect();
            let got = used_by(&connection, &uses);
            assert_eq!(
                (got.listed.len(), got.more),
                (listed, more),
                "{found} found"
            );
            assert_eq!(got.listed.first().map(|c| c.name.as_str()), Some("p000"));
        }
    }

    #[test]
    fn consumers_parse_from_their_arns_with_console_links() {
        let p = Consumer::from_arn(
            ConsumerKind::Pipeline,
            "arn:aws:codepipeline:eu-west-1:111111111111:payments-deploy",
        )
        .unwrap();
        assert_eq!(
            (p.name.as_str(), p.account.as_str()),
            ("payments-deploy", "111111111111")
        );
        assert_eq!(
            p.console_url,
            "https://eu-west-1.console.aws.amazon.com/codesuite/codepipeline/pipelines/payments-deploy/view?region=eu-west-1"
        );
        let b = Consumer::from_arn(
            ConsumerKind::CodebuildProject,
            "arn:aws:codebuild:us-east-1:111111111111:project/payments-build",
        )
        .unwrap();
        assert_eq!(
            b.console_url,
            "https://us-east-1.console.aws.amazon.com/codesuite/codebuild/111111111111/projects/payments-build?region=us-east-1"
        );
        assert!(Consumer::from_arn(
            ConsumerKind::CodebuildProject,
            "arn:aws:codebuild:us-east-1:1:build/x"
        )
        .is_none());
        assert!(Consumer::from_arn(ConsumerKind::Pipeline, "garbage").is_none());
    }
}
