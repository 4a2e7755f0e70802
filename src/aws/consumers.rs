//! What uses connections, read from CodePipeline, CodeBuild and
//! CodeConnections: each pipeline's source actions, each project's sources
//! (and the region's account-level source credentials), and the stacks
//! synced from Git through repository links; and which regions an account
//! has enabled. Pipeline definitions are cached by their `updated` time
//! across warm invocations, so a run re-reads only the pipelines that
//! changed; the region list is kept for an hour.

use super::paging::{walk, WalkError};
use crate::domain::arn::ResourceArn;
use crate::domain::consumer::{same_connection, Consumer, ConsumerKind, Outcome, Source, Uses, Via};
use aws_sdk_account::types::RegionOptStatus;
use aws_sdk_codebuild::types::{AuthType, ProjectSource, ServerType, SourceAuthType, SourceType};
use aws_sdk_codestarconnections::types::SyncConfigurationType;
use aws_sdk_codepipeline::config::Credentials;
use aws_sdk_codepipeline::error::DisplayErrorContext;
use aws_sdk_codepipeline::primitives::DateTime;
use aws_sdk_codepipeline::types::{PipelineDeclaration, StageExecutionStatus, StageRetryMode};
use futures_util::stream::{self, StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use thiserror::Error;

/// The provider of a pipeline source action that uses a connection (the
/// CodePipeline User Guide's action reference, "CodeStarSourceConnection").
const CONNECTION_ACTION: &str = "CodeStarSourceConnection";
/// BatchGetProjects takes at most 100 names (API reference, `names`).
const PROJECTS_PER_CALL: usize = 100;
/// GetPipeline calls in flight per region.
const IN_FLIGHT: usize = 8;
/// ListRegions gives at most 50 a page (API reference, `MaxResults`).
const REGIONS_PER_PAGE: i32 = 50;
/// ListRepositoryLinks and ListSyncConfigurations give at most 100 a page
/// (botocore's codestar-connections model, `MaxResults`).
const LINKS_PER_PAGE: i32 = 100;
/// How long a warm process trusts the account's region list: enabling a
/// region takes minutes to hours (Account Management guide, "Enable or
/// disable a Region"), so an hour-old list misses little, and a quiet hour
/// costs no call.
pub const REGION_LIST_TTL: std::time::Duration = std::time::Duration::from_secs(3600);

#[derive(Debug, Error)]
pub enum ConsumerError {
    #[error("{operation} in {region} failed: {message}")]
    Service {
        operation: &'static str,
        region: String,
        message: String,
    },
    #[error(transparent)]
    Walk(#[from] WalkError),
}

/// A pipeline's definition as last read: valid while `updated` is unchanged.
#[derive(Clone)]
struct Cached {
    updated: DateTime,
    uses: Uses,
}

/// One cached definition as `export` writes it (the state table keeps it).
#[derive(Serialize, Deserialize)]
struct Exported {
    name: String,
    updated_secs: i64,
    updated_nanos: u32,
    uses: Uses,
}

/// The service configurations the lookups are built from.
#[derive(Clone, Debug)]
pub struct ConsumerConfigs {
    pub pipelines: aws_sdk_codepipeline::Config,
    pub projects: aws_sdk_codebuild::Config,
    pub codestar: aws_sdk_codestarconnections::Config,
    pub account: aws_sdk_account::Config,
}

/// The CodePipeline, CodeBuild and CodeConnections clients of one account,
/// a client per region made on first use, and that account's caches.
#[derive(Clone)]
pub struct ConsumerClients {
    configs: ConsumerConfigs,
    clients: Arc<Mutex<HashMap<String, RegionClients>>>,
    cache: Definitions,
    /// Member accounts' caches, kept across runs as the own account's is.
    members: Arc<Mutex<HashMap<String, Definitions>>>,
}

/// One account's cached pipeline definitions (by region and name), the
/// regions whose cache changed since it was last exported, and its region
/// list with when it was read.
#[derive(Clone, Default)]
struct Definitions {
    cached: Arc<Mutex<HashMap<(String, String), Cached>>>,
    changed: Arc<Mutex<HashSet<String>>>,
    regions: Arc<Mutex<Option<(std::time::Instant, Vec<String>)>>>,
}

impl std::fmt::Debug for ConsumerClients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsumerClients").finish_non_exhaustive()
    }
}

#[derive(Clone)]
struct RegionClients {
    pipelines: aws_sdk_codepipeline::Client,
    projects: aws_sdk_codebuild::Client,
    codestar: aws_sdk_codestarconnections::Client,
}

impl ConsumerClients {
    pub fn new(configs: ConsumerConfigs) -> Self {
        Self {
            configs,
            clients: Arc::default(),
            cache: Definitions::default(),
            members: Arc::default(),
        }
    }

    /// The clients of member `account`, with the credentials of its role
    /// there; that account's cache lasts across runs.
    pub fn member(&self, account: &str, credentials: Credentials) -> Self {
        let cache = self
            .members
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(account.to_string())
            .or_default()
            .clone();
        let configs = &self.configs;
        Self {
            configs: ConsumerConfigs {
                pipelines: configs
                    .pipelines
                    .to_builder()
                    .credentials_provider(credentials.clone())
                    .build(),
                projects: configs
                    .projects
                    .to_builder()
                    .credentials_provider(credentials.clone())
                    .build(),
                codestar: configs
                    .codestar
                    .to_builder()
                    .credentials_provider(credentials.clone())
                    .build(),
                account: configs
                    .account
                    .to_builder()
                    .credentials_provider(credentials)
                    .build(),
            },
            clients: Arc::default(),
            cache,
            members: Arc::default(),
        }
    }

    fn in_region(&self, region: &str) -> RegionClients {
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        clients
            .entry(region.to_string())
            .or_insert_with(|| {
                let configs = &self.configs;
                RegionClients {
                    pipelines: aws_sdk_codepipeline::Client::from_conf(
                        configs
                            .pipelines
                            .to_builder()
                            .region(aws_sdk_codepipeline::config::Region::new(
                                region.to_string(),
                            ))
                            .build(),
                    ),
                    projects: aws_sdk_codebuild::Client::from_conf(
                        configs
                            .projects
                            .to_builder()
                            .region(aws_sdk_codebuild::config::Region::new(region.to_string()))
                            .build(),
                    ),
                    codestar: aws_sdk_codestarconnections::Client::from_conf(
                        configs
                            .codestar
                            .to_builder()
                            .region(aws_sdk_codestarconnections::config::Region::new(
                                region.to_string(),
                            ))
                            .build(),
                    ),
                }
            })
            .clone()
    }

    /// The regions enabled for this account (`ENABLED` or
    /// `ENABLED_BY_DEFAULT`; an opted-out or opting-in region is never
    /// called): `account:ListRegions`, kept for `REGION_LIST_TTL`.
    pub async fn enabled_regions(&self) -> Result<Vec<String>, ConsumerError> {
        if let Some((read, regions)) = self.lock_regions().as_ref() {
            if read.elapsed() < REGION_LIST_TTL {
                return Ok(regions.clone());
            }
        }
        let client = aws_sdk_account::Client::from_conf(self.configs.account.clone());
        let mut regions = Vec::new();
        let fetch = |token: Option<String>| {
            let request = client
                .list_regions()
                .max_results(REGIONS_PER_PAGE)
                .region_opt_status_contains(RegionOptStatus::Enabled)
                .region_opt_status_contains(RegionOptStatus::EnabledByDefault)
                .set_next_token(token);
            async move {
                let page = request.send().await.map_err(|e| ConsumerError::Service {
                    operation: "ListRegions",
                    region: "account".into(),
                    message: DisplayErrorContext(&e).to_string(),
                })?;
                let names: Vec<String> = page
                    .regions()
                    .iter()
                    .filter(|r| {
                        matches!(
                            r.region_opt_status(),
                            Some(RegionOptStatus::Enabled | RegionOptStatus::EnabledByDefault)
                        )
                    })
                    .filter_map(|r| r.region_name().map(str::to_string))
                    .collect();
                Ok::<_, ConsumerError>((names, page.next_token().map(str::to_string)))
            }
        };
        walk::<_, ConsumerError, _, _>("ListRegions", fetch, |page| regions.extend(page)).await?;
        regions.sort();
        regions.dedup();
        *self.lock_regions() = Some((std::time::Instant::now(), regions.clone()));
        Ok(regions)
    }

    fn lock_regions(
        &self,
    ) -> std::sync::MutexGuard<'_, Option<(std::time::Instant, Vec<String>)>> {
        self.cache.regions.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every pipeline of `region` with the connections its source actions
    /// name: `ListPipelines`, then `GetPipeline` for each pipeline not cached
    /// at its `updated` time.
    pub async fn pipelines(&self, region: &str) -> Result<Vec<Uses>, ConsumerError> {
        let client = self.in_region(region).pipelines;
        let error = |operation: &'static str, message: String| ConsumerError::Service {
            operation,
            region: region.to_string(),
            message,
        };
        let mut summaries = Vec::new();
        // 1,000 a page, the most ListPipelines gives (API reference, `maxResults`).
        let fetch = |token: Option<String>| {
            let request = client
                .list_pipelines()
                .max_results(1000)
                .set_next_token(token);
            async move {
                let page = request
                    .send()
                    .await
                    .map_err(|e| error("ListPipelines", DisplayErrorContext(&e).to_string()))?;
                let items: Vec<(String, Option<DateTime>)> = page
                    .pipelines()
                    .iter()
                    .filter_map(|p| Some((p.name()?.to_string(), p.updated().copied())))
                    .collect();
                Ok::<_, ConsumerError>((items, page.next_token().map(str::to_string)))
            }
        };
        walk::<_, ConsumerError, _, _>("ListPipelines", fetch, |page| summaries.extend(page))
            .await?;
        self.prune(region, &summaries);

        stream::iter(summaries)
            .map(|(name, updated)| {
                let client = client.clone();
                async move {
                    let key = (region.to_string(), name.clone());
                    let cached = self.cached(&key, updated);
                    if let Some(uses) = cached {
                        return Ok(Some(uses));
                    }
                    let out = match client.get_pipeline().name(&name).send().await {
                        Ok(out) => out,
                        // Deleted since it was listed: it uses nothing any more.
                        Err(e)
                            if e.as_service_error()
                                .is_some_and(|e| e.is_pipeline_not_found_exception()) =>
                        {
                            return Ok(None)
                        }
                        Err(e) => {
                            return Err(error("GetPipeline", DisplayErrorContext(&e).to_string()))
                        }
                    };
                    let arn = out.metadata().and_then(|m| m.pipeline_arn());
                    let uses = arn
                        .and_then(|arn| Consumer::from_arn(ConsumerKind::Pipeline, arn))
                        .map(|consumer| Uses {
                            consumer,
                            sources: out.pipeline().map(source_actions).unwrap_or_default(),
                        });
                    if let (Some(uses), Some(updated)) = (&uses, updated) {
                        let cached = Cached {
                            updated,
                            uses: uses.clone(),
                        };
                        self.lock_cache().insert(key, cached);
                        self.lock_changed().insert(region.to_string());
                    }
                    Ok(uses)
                }
            })
            .buffer_unordered(IN_FLIGHT)
            .try_filter_map(|uses| async move { Ok(uses) })
            .try_collect()
            .await
    }

    /// Every CodeBuild project of `region` with the connections its sources
    /// authenticate with: `ListProjects`, then `BatchGetProjects`.
    pub async fn projects(&self, region: &str) -> Result<Vec<Uses>, ConsumerError> {
        let client = self.in_region(region).projects;
        let error = |operation: &'static str, message: String| ConsumerError::Service {
            operation,
            region: region.to_string(),
            message,
        };
        let mut names = Vec::new();
        let fetch = |token: Option<String>| {
            let request = client.list_projects().set_next_token(token);
            async move {
                let page = request
                    .send()
                    .await
                    .map_err(|e| error("ListProjects", DisplayErrorContext(&e).to_string()))?;
                Ok::<_, ConsumerError>((
                    page.projects().to_vec(),
                    page.next_token().map(str::to_string),
                ))
            }
        };
        walk::<_, ConsumerError, _, _>("ListProjects", fetch, |page| names.extend(page)).await?;
        if names.is_empty() {
            return Ok(Vec::new());
        }
        // One list, no paging: at most one credential per server type and
        // region (API reference, ListSourceCredentials; ImportSourceCredentials
        // replaces it with `shouldOverwrite`).
        let credentials = client
            .list_source_credentials()
            .send()
            .await
            .map_err(|e| error("ListSourceCredentials", DisplayErrorContext(&e).to_string()))?;
        let defaults: HashMap<ServerType, String> = credentials
            .source_credentials_infos()
            .iter()
            .filter(|c| c.auth_type() == Some(&AuthType::Codeconnections))
            .filter_map(|c| Some((c.server_type()?.clone(), c.resource()?.to_string())))
            .collect();

        let mut uses = Vec::new();
        for chunk in names.chunks(PROJECTS_PER_CALL) {
            let out = client
                .batch_get_projects()
                .set_names(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| error("BatchGetProjects", DisplayErrorContext(&e).to_string()))?;
            uses.extend(out.projects().iter().filter_map(|project| {
                let consumer = Consumer::from_arn(ConsumerKind::CodebuildProject, project.arn()?)?;
                let sources = project
                    .source()
                    .into_iter()
                    .chain(project.secondary_sources())
                    .filter_map(|source| connection_of(source, &defaults))
                    .collect();
                Some(Uses { consumer, sources })
            }));
        }
        Ok(uses)
    }
}

impl ConsumerClients {
    /// The CloudFormation stacks of `region` synced from Git through a
    /// repository link on one of `connections`: `ListRepositoryLinks`, then
    /// `ListSyncConfigurations` (`CFN_STACK_SYNC`) for each such link. A
    /// link is regional, its connection global: a link in any region may
    /// name a connection of another home region.
    pub async fn git_sync_stacks(
        &self,
        region: &str,
        connections: &[&str],
    ) -> Result<Vec<Uses>, ConsumerError> {
        let client = self.in_region(region).codestar;
        let error = |operation: &'static str, message: String| ConsumerError::Service {
            operation,
            region: region.to_string(),
            message,
        };
        let mut links = Vec::new();
        let fetch = |token: Option<String>| {
            let request = client
                .list_repository_links()
                .max_results(LINKS_PER_PAGE)
                .set_next_token(token);
            async move {
                let page = request.send().await.map_err(|e| {
                    error("ListRepositoryLinks", DisplayErrorContext(&e).to_string())
                })?;
                Ok::<_, ConsumerError>((
                    page.repository_links().to_vec(),
                    page.next_token().map(str::to_string),
                ))
            }
        };
        walk::<_, ConsumerError, _, _>("ListRepositoryLinks", fetch, |page| links.extend(page))
            .await?;
        let mut uses = Vec::new();
        let on_alerted = links.iter().filter(|link| {
            connections
                .iter()
                .any(|c| same_connection(link.connection_arn(), c))
        });
        for link in on_alerted {
            // A link is in the account of its connection.
            let Some(owner) = ResourceArn::parse_connection(link.connection_arn()) else {
                continue;
            };
            let fetch = |token: Option<String>| {
                let request = client
                    .list_sync_configurations()
                    .repository_link_id(link.repository_link_id())
                    .sync_type(SyncConfigurationType::CfnStackSync)
                    .max_results(LINKS_PER_PAGE)
                    .set_next_token(token);
                async move {
                    let page = request.send().await.map_err(|e| {
                        error("ListSyncConfigurations", DisplayErrorContext(&e).to_string())
                    })?;
                    Ok::<_, ConsumerError>((
                        page.sync_configurations().to_vec(),
                        page.next_token().map(str::to_string),
                    ))
                }
            };
            let mut stacks = Vec::new();
            walk::<_, ConsumerError, _, _>("ListSyncConfigurations", fetch, |page| {
                stacks.extend(page)
            })
            .await?;
            uses.extend(stacks.iter().filter_map(|sync| {
                // The stack's ARN without its id: the sync names the stack only.
                let arn = format!(
                    "arn:{}:cloudformation:{region}:{}:stack/{}",
                    owner.partition,
                    owner.account,
                    sync.resource_name()
                );
                Some(Uses {
                    consumer: Consumer::from_arn(ConsumerKind::GitSyncStack, &arn)?,
                    sources: vec![Source {
                        connection: link.connection_arn().to_string(),
                        stage: None,
                        via: None,
                    }],
                })
            }));
        }
        Ok(uses)
    }
}

/// The definitions cache: in this process, and exported to the state table.
impl ConsumerClients {
    /// Whether `region`'s definitions are cached in this process.
    pub fn has_cached(&self, region: &str) -> bool {
        self.lock_cache().keys().any(|(r, _)| r == region)
    }

    /// Caches definitions `export` wrote (by an earlier process); a record
    /// that does not decode is dropped, and its pipelines are read again.
    pub fn import(&self, region: &str, exported: &str) {
        let Ok(entries) = serde_json::from_str::<Vec<Exported>>(exported) else {
            tracing::warn!(%region, "pipeline cache unreadable: reading the pipelines again");
            return;
        };
        let mut cache = self.lock_cache();
        // from_secs_and_nanos panics on a second's worth of nanoseconds or more.
        for e in entries
            .into_iter()
            .filter(|e| e.updated_nanos < 1_000_000_000)
        {
            let updated = DateTime::from_secs_and_nanos(e.updated_secs, e.updated_nanos);
            cache.entry((region.to_string(), e.name)).or_insert(Cached {
                updated,
                uses: e.uses,
            });
        }
    }

    /// Forgets the pipelines of `region` no longer listed, so that neither
    /// this process nor the exported cache keeps a deleted pipeline.
    fn prune(&self, region: &str, listed: &[(String, Option<DateTime>)]) {
        let names: HashSet<&str> = listed.iter().map(|(name, _)| name.as_str()).collect();
        let mut cache = self.lock_cache();
        let before = cache.len();
        cache.retain(|(r, name), _| r != region || names.contains(name.as_str()));
        if cache.len() != before {
            drop(cache);
            self.lock_changed().insert(region.to_string());
        }
    }

    /// `region`'s definitions, if they changed since the last export.
    pub fn export_changed(&self, region: &str) -> Option<String> {
        if !self.lock_changed().remove(region) {
            return None;
        }
        let cache = self.lock_cache();
        let entries: Vec<Exported> = cache
            .iter()
            .filter(|((r, _), _)| r == region)
            .map(|((_, name), cached)| Exported {
                name: name.clone(),
                updated_secs: cached.updated.secs(),
                updated_nanos: cached.updated.subsec_nanos(),
                uses: cached.uses.clone(),
            })
            .collect();
        serde_json::to_string(&entries).ok()
    }

    fn lock_changed(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.cache.changed.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn cached(&self, key: &(String, String), updated: Option<DateTime>) -> Option<Uses> {
        let cache = self.lock_cache();
        let hit = cache.get(key)?;
        (Some(hit.updated) == updated).then(|| hit.uses.clone())
    }

    fn lock_cache(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), Cached>> {
        self.cache.cached.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl ConsumerClients {
    /// Restarts `pipeline` if its latest execution failed in one of `stages`
    /// (those holding a source action on the healed connection), as
    /// copilot-cli does after its connection waiter (aws/copilot-cli#1922):
    /// `RetryStageExecution` of the failed actions, or, where AWS refuses a
    /// retry (`StageNotRetryableException`, `NotLatestPipelineExecutionException`;
    /// API reference, RetryStageExecution), `StartPipelineExecution`. `None`:
    /// no such stage failed, so nothing is touched.
    pub async fn restart(&self, region: &str, pipeline: &str, stages: &[&str]) -> Option<Outcome> {
        let client = self.in_region(region).pipelines;
        let state = match client.get_pipeline_state().name(pipeline).send().await {
            Ok(state) => state,
            Err(e) => {
                return Some(Outcome::Failed {
                    stage: stages.join(", "),
                    reason: format!("GetPipelineState: {}", DisplayErrorContext(&e)),
                })
            }
        };
        let (stage, execution) = state.stage_states().iter().find_map(|s| {
            let stage = s.stage_name().filter(|name| stages.contains(name))?;
            let latest = s.latest_execution()?;
            (*latest.status() == StageExecutionStatus::Failed).then(|| {
                (
                    stage.to_string(),
                    latest.pipeline_execution_id().to_string(),
                )
            })
        })?;
        let retried = client
            .retry_stage_execution()
            .pipeline_name(pipeline)
            .stage_name(&stage)
            .pipeline_execution_id(execution)
            .retry_mode(StageRetryMode::FailedActions)
            .send()
            .await;
        let refused = match retried {
            Ok(_) => return Some(Outcome::Retried { stage }),
            Err(e) => e,
        };
        let impossible = refused.as_service_error().is_some_and(|e| {
            e.is_stage_not_retryable_exception() || e.is_not_latest_pipeline_execution_exception()
        });
        if !impossible {
            let reason = format!("RetryStageExecution: {}", DisplayErrorContext(&refused));
            return Some(Outcome::Failed { stage, reason });
        }
        match client
            .start_pipeline_execution()
            .name(pipeline)
            .send()
            .await
        {
            Ok(_) => Some(Outcome::Started { stage }),
            Err(e) => Some(Outcome::Failed {
                stage,
                reason: format!("StartPipelineExecution: {}", DisplayErrorContext(&e)),
            }),
        }
    }
}

/// The `ConnectionArn` of each `CodeStarSourceConnection` action, with its stage.
fn source_actions(pipeline: &PipelineDeclaration) -> Vec<Source> {
    pipeline
        .stages()
        .iter()
        .flat_map(|stage| {
            stage
                .actions()
                .iter()
                .map(move |action| (stage.name(), action))
        })
        .filter(|(_, action)| {
            action
                .action_type_id()
                .is_some_and(|id| id.provider() == CONNECTION_ACTION)
        })
        .filter_map(|(stage, action)| {
            Some(Source {
                connection: action.configuration()?.get("ConnectionArn")?.clone(),
                stage: Some(stage.to_string()),
                via: None,
            })
        })
        .collect()
}

/// The connection a project source authenticates with: its own `auth`
/// (`type` `CODECONNECTIONS`, `resource` its ARN), or, with no `auth`, the
/// region's account-level credential for its server type, where that is a
/// connection.
fn connection_of(source: &ProjectSource, defaults: &HashMap<ServerType, String>) -> Option<Source> {
    let Some(auth) = source.auth() else {
        let connection = defaults.get(&server_type(source.r#type())?)?;
        return Some(Source {
            connection: connection.clone(),
            stage: None,
            via: Some(Via::AccountDefaultCredential),
        });
    };
    let connection = (*auth.r#type() == SourceAuthType::Codeconnections)
        .then(|| auth.resource().map(str::to_string))??;
    Some(Source {
        connection,
        stage: None,
        via: None,
    })
}

/// The credential a source type uses (API reference: `ServerType` GITHUB,
/// GITHUB_ENTERPRISE, BITBUCKET, GITLAB, GITLAB_SELF_MANAGED, one for each
/// of the source types of those providers); other sources use none.
fn server_type(source: &SourceType) -> Option<ServerType> {
    Some(match source {
        SourceType::Github => ServerType::Github,
        SourceType::GithubEnterprise => ServerType::GithubEnterprise,
        SourceType::Bitbucket => ServerType::Bitbucket,
        SourceType::Gitlab => ServerType::Gitlab,
        SourceType::GitlabSelfManaged => ServerType::GitlabSelfManaged,
        _ => return None,
    })
}
