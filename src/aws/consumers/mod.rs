//! What uses connections, read from CodePipeline, CodeBuild, CodeConnections
//! and Service Catalog: each pipeline's source actions, each project's
//! sources (and the region's account-level source credentials), the stacks
//! synced from Git through repository links, and the products synced from a
//! repository; and which regions an account
//! has enabled. Pipeline definitions are cached by their `updated` time
//! across warm invocations, so a run re-reads only the pipelines that
//! changed; the region list is kept for an hour.

mod git_sync;
mod products;
mod projects;
mod regions;
mod restart;

pub use regions::REGION_LIST_TTL;

use super::paging::{walk, WalkError};
use crate::domain::consumer::FedProject;
use crate::domain::consumer::{Consumer, ConsumerKind, Grant, Source, Uses};
use crate::domain::full_clone::FULL_CLONE;
use aws_sdk_codepipeline::config::Credentials;
use aws_sdk_codepipeline::error::DisplayErrorContext;
use aws_sdk_codepipeline::primitives::DateTime;
use aws_sdk_codepipeline::types::{ActionDeclaration, PipelineDeclaration};
use futures_util::stream::{self, StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use thiserror::Error;

/// The provider of a pipeline source action that uses a connection (the
/// CodePipeline User Guide's action reference, "CodeStarSourceConnection").
const CONNECTION_ACTION: &str = "CodeStarSourceConnection";
/// The provider of a CodeBuild build or test action (action reference, "CodeBuild").
const BUILD_ACTION: &str = "CodeBuild";
/// BatchGetProjects takes at most 100 names (API reference, `names`).
const PROJECTS_PER_CALL: usize = 100;
/// GetPipeline calls in flight per region.
const IN_FLIGHT: usize = 8;

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

impl ConsumerError {
    /// `operation` in `region` failed with the SDK error `e`.
    fn service(operation: &'static str, region: &str, e: impl std::error::Error) -> Self {
        Self::Service {
            operation,
            region: region.to_string(),
            message: DisplayErrorContext(e).to_string(),
        }
    }
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

/// An account's enabled regions, and when they were read.
type RegionList = Option<(std::time::Instant, Vec<String>)>;

/// The service configurations the lookups are built from.
#[derive(Clone, Debug)]
pub struct ConsumerConfigs {
    pub pipelines: aws_sdk_codepipeline::Config,
    pub projects: aws_sdk_codebuild::Config,
    pub codestar: aws_sdk_codestarconnections::Config,
    pub catalog: aws_sdk_servicecatalog::Config,
    pub account: aws_sdk_account::Config,
    /// IAM, for the access checks' simulations (IAM is global).
    pub iam: aws_sdk_iam::Config,
}

/// The CodePipeline, CodeBuild, CodeConnections and Service Catalog clients
/// of one account,
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
    regions: Arc<Mutex<RegionList>>,
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
    catalog: aws_sdk_servicecatalog::Client,
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
                catalog: configs
                    .catalog
                    .to_builder()
                    .credentials_provider(credentials.clone())
                    .build(),
                account: configs
                    .account
                    .to_builder()
                    .credentials_provider(credentials.clone())
                    .build(),
                iam: configs
                    .iam
                    .to_builder()
                    .credentials_provider(credentials)
                    .build(),
            },
            clients: Arc::default(),
            cache,
            members: Arc::default(),
        }
    }

    /// The access checks' simulator, with this account's credentials.
    pub fn simulator(&self) -> crate::aws::access::Simulator {
        crate::aws::access::Simulator::new(&self.configs.iam)
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
                    catalog: aws_sdk_servicecatalog::Client::from_conf(
                        configs
                            .catalog
                            .to_builder()
                            .region(aws_sdk_servicecatalog::config::Region::new(
                                region.to_string(),
                            ))
                            .build(),
                    ),
                }
            })
            .clone()
    }

    /// Every pipeline of `region` with the connections its source actions
    /// name: `ListPipelines`, then `GetPipeline` for each pipeline not cached
    /// at its `updated` time.
    pub async fn pipelines(&self, region: &str) -> Result<Vec<Uses>, ConsumerError> {
        let client = self.in_region(region).pipelines;
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
                    .map_err(|e| ConsumerError::service("ListPipelines", region, e))?;
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
                        Err(e) => return Err(ConsumerError::service("GetPipeline", region, e)),
                    };
                    let arn = out.metadata().and_then(|m| m.pipeline_arn());
                    let uses = arn
                        .and_then(|arn| Consumer::from_arn(ConsumerKind::Pipeline, arn))
                        .map(|consumer| Uses {
                            consumer,
                            sources: out.pipeline().map(source_actions).unwrap_or_default(),
                            service_role: None,
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
        // Earlier versions cached no action names, which recovery needs, and
        // no grants or full clones, which access needs: such a pipeline is
        // read again.
        let complete = |e: &Exported| {
            e.uses
                .sources
                .iter()
                .all(|s| s.action.is_some() && s.grant.is_some() && s.full_clone_to.is_some())
        };
        for e in entries
            .into_iter()
            .filter(|e| e.updated_nanos < 1_000_000_000 && complete(e))
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

/// The `ConnectionArn` of each `CodeStarSourceConnection` action, with its
/// stage, its role and what its requests carry, and the projects it hands a
/// full clone.
fn source_actions(pipeline: &PipelineDeclaration) -> Vec<Source> {
    let actions = || {
        pipeline.stages().iter().flat_map(|stage| {
            stage
                .actions()
                .iter()
                .map(move |action| (stage.name(), action))
        })
    };
    actions()
        .filter(|(_, action)| provider_is(action, CONNECTION_ACTION))
        .filter_map(|(stage, action)| {
            let configuration = action.configuration()?;
            let grant = Grant {
                role: action.role_arn().unwrap_or(pipeline.role_arn()).to_string(),
                repository: configuration.get("FullRepositoryId").cloned(),
                branch: configuration.get("BranchName").cloned(),
            };
            let full_clone = configuration
                .get("OutputArtifactFormat")
                .is_some_and(|format| format == FULL_CLONE);
            let fed = if full_clone {
                let outputs: Vec<&str> =
                    action.output_artifacts().iter().map(|a| a.name()).collect();
                actions()
                    .map(|(_, action)| action)
                    .filter(|a| provider_is(a, BUILD_ACTION))
                    .filter(|a| {
                        a.input_artifacts()
                            .iter()
                            .any(|i| outputs.contains(&i.name()))
                    })
                    .filter_map(|a| {
                        Some(FedProject {
                            name: a.configuration()?.get("ProjectName")?.clone(),
                            region: a.region().map(str::to_string),
                        })
                    })
                    .collect()
            } else {
                Vec::new()
            };
            Some(Source {
                connection: configuration.get("ConnectionArn")?.clone(),
                stage: Some(stage.to_string()),
                action: Some(action.name().to_string()),
                via: None,
                grant: Some(grant),
                full_clone_to: Some(fed),
            })
        })
        .collect()
}

fn provider_is(action: &ActionDeclaration, provider: &str) -> bool {
    action
        .action_type_id()
        .is_some_and(|id| id.provider() == provider)
}
