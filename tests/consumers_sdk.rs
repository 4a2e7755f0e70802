//! The CodePipeline, CodeBuild, CodeConnections, Service Catalog and Account reads behind
//! `usedBy`, against mocked clients: pages, a pipeline deleted between
//! listing and reading (and leaving the cache), throttling retried, the warm
//! cache by `updated`, BatchGetProjects 100 names a call, the account-level
//! source credential, Git-synced stacks through repository links, Service
//! Catalog products synced through a connection, the enabled regions, and the restart of a pipeline a healed connection had
//! failed.

use aws_sdk_account::operation::list_regions::ListRegionsOutput;
use aws_sdk_account::types::{Region, RegionOptStatus};
use aws_sdk_codebuild::operation::batch_get_projects::{
    BatchGetProjectsInput, BatchGetProjectsOutput,
};
use aws_sdk_codebuild::operation::list_projects::ListProjectsOutput;
use aws_sdk_codebuild::operation::list_source_credentials::ListSourceCredentialsOutput;
use aws_sdk_codebuild::types::{
    AuthType, Project, ProjectSource, ServerType, SourceAuth, SourceAuthType,
    SourceCredentialsInfo, SourceType,
};
use aws_sdk_codepipeline::operation::get_pipeline::{
    GetPipelineError, GetPipelineInput, GetPipelineOutput,
};
use aws_sdk_codepipeline::operation::get_pipeline_state::GetPipelineStateOutput;
use aws_sdk_codepipeline::operation::list_pipelines::ListPipelinesOutput;
use aws_sdk_codepipeline::operation::retry_stage_execution::{
    RetryStageExecutionError, RetryStageExecutionInput, RetryStageExecutionOutput,
};
use aws_sdk_codepipeline::operation::start_pipeline_execution::StartPipelineExecutionOutput;
use aws_sdk_codepipeline::primitives::DateTime;
use aws_sdk_codepipeline::types::error::{PipelineNotFoundException, StageNotRetryableException};
use aws_sdk_codepipeline::types::{
    ActionCategory, ActionDeclaration, ActionExecution, ActionExecutionStatus, ActionOwner,
    ActionState, ActionTypeId, InputArtifact, OutputArtifact, PipelineDeclaration,
    PipelineMetadata, PipelineSummary, StageDeclaration, StageExecution, StageExecutionStatus,
    StageRetryMode, StageState,
};
use aws_sdk_codestarconnections::operation::list_repository_links::ListRepositoryLinksOutput;
use aws_sdk_codestarconnections::operation::list_sync_configurations::ListSyncConfigurationsOutput;
use aws_sdk_codestarconnections::types::{
    ProviderType, RepositoryLinkInfo, SyncConfiguration, SyncConfigurationType,
};
use aws_sdk_servicecatalog::operation::describe_product_as_admin::{
    DescribeProductAsAdminError, DescribeProductAsAdminOutput,
};
use aws_sdk_servicecatalog::operation::search_products_as_admin::SearchProductsAsAdminOutput;
use aws_sdk_servicecatalog::primitives::DateTime as CatalogTime;
use aws_sdk_servicecatalog::types::{
    CodeStarParameters, LastSync, LastSyncStatus, ProductSource, ProductViewDetail,
    ProductViewSummary, SourceConnectionDetail, SourceConnectionParameters,
};
use aws_smithy_mocks::{mock, mock_client, MockResponse, Rule, RuleMode};
use connection_watch::aws::consumers::{ConsumerClients, ConsumerConfigs};
use connection_watch::domain::consumer::FedProject;
use connection_watch::domain::consumer::{used_by, ConsumerKind, Grant, Outcome, Via};
use connection_watch::domain::recovery::Target;
use std::time::Duration;

const CONNECTION: &str =
    "arn:aws:codeconnections:us-east-1:123456789012:connection/0a1b2c3d-aaaa-bbbb-cccc-dddddddddddd";
const THROTTLED: &str = r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#;

fn clients(pipelines: &[&Rule], projects: &[&Rule]) -> ConsumerClients {
    all_clients(pipelines, projects, &[], &[], &[])
}

fn all_clients(
    pipelines: &[&Rule],
    projects: &[&Rule],
    codestar: &[&Rule],
    account: &[&Rule],
    catalog: &[&Rule],
) -> ConsumerClients {
    let pipelines = mock_client!(aws_sdk_codepipeline, RuleMode::MatchAny, pipelines, |b| {
        b.retry_config(
            aws_sdk_codepipeline::config::retry::RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(1)),
        )
    });
    let projects = mock_client!(aws_sdk_codebuild, RuleMode::MatchAny, projects, |b| {
        b.retry_config(aws_sdk_codebuild::config::retry::RetryConfig::disabled())
    });
    let codestar = mock_client!(
        aws_sdk_codestarconnections,
        RuleMode::MatchAny,
        codestar,
        |b| { b.retry_config(aws_sdk_codestarconnections::config::retry::RetryConfig::disabled()) }
    );
    let account = mock_client!(aws_sdk_account, RuleMode::MatchAny, account, |b| {
        b.retry_config(aws_sdk_account::config::retry::RetryConfig::disabled())
    });
    let catalog = mock_client!(aws_sdk_servicecatalog, RuleMode::MatchAny, catalog, |b| {
        b.retry_config(aws_sdk_servicecatalog::config::retry::RetryConfig::disabled())
    });
    ConsumerClients::new(ConsumerConfigs {
        pipelines: pipelines.config().clone(),
        projects: projects.config().clone(),
        codestar: codestar.config().clone(),
        catalog: catalog.config().clone(),
        account: account.config().clone(),
        iam: mock_client!(aws_sdk_iam, RuleMode::MatchAny, &[])
            .config()
            .clone(),
    })
}

/// ListSourceCredentials with these `(serverType, authType, resource)`.
fn credentials(found: &'static [(ServerType, AuthType, &'static str)]) -> Rule {
    mock!(aws_sdk_codebuild::Client::list_source_credentials).then_output(move || {
        let infos = found.iter().map(|(server, auth, resource)| {
            SourceCredentialsInfo::builder()
                .server_type(server.clone())
                .auth_type(auth.clone())
                .resource(*resource)
                .arn(format!(
                    "arn:aws:codebuild:eu-west-1:123456789012:token/{}",
                    server.as_str().to_lowercase()
                ))
                .build()
        });
        ListSourceCredentialsOutput::builder()
            .set_source_credentials_infos(Some(infos.collect()))
            .build()
    })
}

/// One page listing the pipeline `deploy`.
fn deploy_listing() -> Rule {
    mock!(aws_sdk_codepipeline::Client::list_pipelines).then_output(|| {
        ListPipelinesOutput::builder()
            .pipelines(summary("deploy"))
            .build()
    })
}

fn summary(name: &str) -> PipelineSummary {
    PipelineSummary::builder()
        .name(name)
        .updated(DateTime::from_secs(1_764_547_200))
        .build()
}

fn definition(name: &str, provider: &str) -> GetPipelineOutput {
    let action = ActionDeclaration::builder()
        .name("Source")
        .action_type_id(
            ActionTypeId::builder()
                .category(ActionCategory::Source)
                .owner(ActionOwner::Aws)
                .provider(provider)
                .version("1")
                .build()
                .unwrap(),
        )
        .configuration("ConnectionArn", CONNECTION)
        .build()
        .unwrap();
    let stage = StageDeclaration::builder()
        .name("Source")
        .actions(action)
        .build()
        .unwrap();
    GetPipelineOutput::builder()
        .pipeline(
            PipelineDeclaration::builder()
                .name(name)
                .role_arn("arn:aws:iam::123456789012:role/p")
                .stages(stage)
                .build()
                .unwrap(),
        )
        .metadata(
            PipelineMetadata::builder()
                .pipeline_arn(format!(
                    "arn:aws:codepipeline:us-east-1:123456789012:{name}"
                ))
                .build(),
        )
        .build()
}

fn two_pages() -> Rule {
    // Only the largest page ListPipelines gives: 1,000 (API reference, `maxResults`).
    mock!(aws_sdk_codepipeline::Client::list_pipelines)
        .match_requests(|input| input.max_results() == Some(1000))
        .sequence()
        .output(|| {
            ListPipelinesOutput::builder()
                .pipelines(summary("deploy"))
                .pipelines(summary("gone"))
                .next_token("page-2")
                .build()
        })
        .output(|| {
            ListPipelinesOutput::builder()
                .pipelines(summary("from-s3"))
                .build()
        })
        .output(|| {
            ListPipelinesOutput::builder()
                .pipelines(summary("deploy"))
                .pipelines(summary("from-s3"))
                .build()
        })
        .build()
}

#[tokio::test]
async fn pipelines_are_read_over_pages_throttling_retried_a_deleted_one_skipped_and_cached_warm() {
    let listing = two_pages();
    let get = mock!(aws_sdk_codepipeline::Client::get_pipeline)
        .match_requests(|input: &GetPipelineInput| input.name() == Some("deploy"))
        .sequence()
        .http_status(400, Some(THROTTLED.into()))
        .output(|| definition("deploy", "CodeStarSourceConnection"))
        .build();
    let gone = mock!(aws_sdk_codepipeline::Client::get_pipeline)
        .match_requests(|input: &GetPipelineInput| input.name() == Some("gone"))
        .then_error(|| {
            GetPipelineError::PipelineNotFoundException(
                PipelineNotFoundException::builder().build(),
            )
        });
    let s3 = mock!(aws_sdk_codepipeline::Client::get_pipeline)
        .match_requests(|input: &GetPipelineInput| input.name() == Some("from-s3"))
        .then_output(|| definition("from-s3", "S3"));
    let clients = clients(&[&listing, &get, &gone, &s3], &[]);

    let mut uses = clients.pipelines("us-east-1").await.unwrap();
    uses.sort_by(|a, b| a.consumer.name.cmp(&b.consumer.name));

    assert_eq!(listing.num_calls(), 2, "both pages");
    assert_eq!(get.num_calls(), 2, "throttled once, then read");
    let names: Vec<&str> = uses.iter().map(|u| u.consumer.name.as_str()).collect();
    assert_eq!(names, ["deploy", "from-s3"], "the deleted one is skipped");
    assert!(uses[0].uses(CONNECTION));
    assert_eq!(
        uses[0].actions_using(CONNECTION),
        [Target {
            stage: "Source",
            action: "Source"
        }],
        "the action's stage and name"
    );
    assert!(
        uses[1].sources.is_empty(),
        "an S3 source uses no connection"
    );

    // Warm, unchanged `updated`: listed again, nothing read again.
    let warm = clients.pipelines("us-east-1").await.unwrap();
    assert_eq!(warm.len(), 2);
    assert_eq!((get.num_calls(), s3.num_calls()), (2, 1));
}

fn project(i: usize, secondary: bool) -> Project {
    let auth = SourceAuth::builder()
        .r#type(SourceAuthType::Codeconnections)
        .resource(CONNECTION)
        .build()
        .unwrap();
    let source = |with_auth: bool| {
        let source = ProjectSource::builder().r#type(SourceType::Github);
        let source = if with_auth {
            source.auth(auth.clone())
        } else {
            source
        };
        source.build().unwrap()
    };
    let project = Project::builder()
        .name(format!("p{i}"))
        .arn(format!(
            "arn:aws:codebuild:us-east-1:123456789012:project/p{i}"
        ))
        .service_role(format!("arn:aws:iam::123456789012:role/build-{i}"))
        .source(source(!secondary && i == 0));
    if secondary {
        project.secondary_sources(source(true)).build()
    } else {
        project.build()
    }
}

#[tokio::test]
async fn projects_are_read_100_names_a_call_sources_and_secondary_sources_alike() {
    let listing = mock!(aws_sdk_codebuild::Client::list_projects).then_output(|| {
        ListProjectsOutput::builder()
            .set_projects(Some((0..150).map(|i| format!("p{i}")).collect()))
            .build()
    });
    let batch = mock!(aws_sdk_codebuild::Client::batch_get_projects)
        .match_requests(|_| true)
        .then_compute_output(|input: &BatchGetProjectsInput| {
            let projects = input.names().iter().map(|name| {
                let i: usize = name[1..].parse().unwrap();
                project(i, i == 149)
            });
            BatchGetProjectsOutput::builder()
                .set_projects(Some(projects.collect()))
                .build()
        });
    let none = credentials(&[]);
    let clients = clients(&[], &[&listing, &batch, &none]);

    let uses = clients.projects("eu-west-1").await.unwrap();

    assert_eq!(batch.num_calls(), 2, "150 names: 100, then 50");
    let using: Vec<&str> = uses
        .iter()
        .filter(|u| !u.sources.is_empty())
        .map(|u| u.consumer.name.as_str())
        .collect();
    assert_eq!(using, ["p0", "p149"], "a source and a secondary source");
    assert_eq!(uses.len(), 150);
    let role = uses[149].sources[0].grant.as_ref().map(|g| g.role.as_str());
    assert_eq!(
        role,
        Some("arn:aws:iam::123456789012:role/build-149"),
        "access is simulated with the project's service role"
    );
}

/// BatchGetProjects takes at most 100 names (API reference, `names`): the
/// calls at its edge.
#[tokio::test]
async fn batch_get_projects_is_called_at_its_100_name_edge() {
    for (projects, calls) in [(99, 1), (100, 1), (101, 2), (200, 2), (201, 3)] {
        let listing = mock!(aws_sdk_codebuild::Client::list_projects).then_output(move || {
            ListProjectsOutput::builder()
                .set_projects(Some((0..projects).map(|i| format!("p{i}")).collect()))
                .build()
        });
        let batch = mock!(aws_sdk_codebuild::Client::batch_get_projects)
            .match_requests(|input: &BatchGetProjectsInput| input.names().len() <= 100)
            .then_compute_output(|input: &BatchGetProjectsInput| {
                let found = input.names().iter().map(|name| {
                    let i: usize = name[1..].parse().unwrap();
                    project(i, false)
                });
                BatchGetProjectsOutput::builder()
                    .set_projects(Some(found.collect()))
                    .build()
            });

        let none = credentials(&[]);
        let uses = clients(&[], &[&listing, &batch, &none])
            .projects("eu-west-1")
            .await
            .unwrap();

        assert_eq!(batch.num_calls(), calls, "{projects} projects");
        assert_eq!(uses.len(), projects);
    }
}

#[tokio::test]
async fn a_refused_listing_names_its_region_and_operation() {
    let denied = mock!(aws_sdk_codebuild::Client::list_projects)
        .sequence()
        .http_status(
            400,
            Some(r#"{"__type":"AccessDeniedException","message":"no"}"#.into()),
        )
        .build();
    let err = clients(&[], &[&denied])
        .projects("eu-west-1")
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(
        message.starts_with("ListProjects in eu-west-1 failed"),
        "{message}"
    );
    assert!(message.contains("AccessDeniedException"), "{message}");
}

/// A project source with no `auth` uses the region's account-level
/// credential for its server type; where that credential is a connection,
/// the project uses the connection, `via` that credential.
#[tokio::test]
async fn a_project_with_no_auth_uses_the_regions_default_credential() {
    let listing = mock!(aws_sdk_codebuild::Client::list_projects).then_output(|| {
        ListProjectsOutput::builder()
            .set_projects(Some((0..5).map(|i| format!("p{i}")).collect()))
            .build()
    });
    let source = |kind: SourceType, auth: Option<SourceAuth>| {
        ProjectSource::builder()
            .r#type(kind)
            .set_auth(auth)
            .build()
            .unwrap()
    };
    let oauth = SourceAuth::builder()
        .r#type(SourceAuthType::Oauth)
        .build()
        .unwrap();
    let batch = mock!(aws_sdk_codebuild::Client::batch_get_projects).then_output(move || {
        let project = |i: usize, primary: ProjectSource, secondary: Option<ProjectSource>| {
            Project::builder()
                .name(format!("p{i}"))
                .arn(format!(
                    "arn:aws:codebuild:eu-west-1:123456789012:project/p{i}"
                ))
                .source(primary)
                .set_secondary_sources(secondary.map(|s| vec![s]))
                .build()
        };
        BatchGetProjectsOutput::builder()
            .projects(project(0, source(SourceType::Github, None), None))
            .projects(project(1, source(SourceType::Bitbucket, None), None))
            .projects(project(
                2,
                source(SourceType::Github, Some(oauth.clone())),
                None,
            ))
            .projects(project(3, source(SourceType::Gitlab, None), None))
            .projects(project(
                4,
                source(SourceType::S3, None),
                Some(source(SourceType::Github, None)),
            ))
            .build()
    });
    let defaults = credentials(&[
        (ServerType::Github, AuthType::Codeconnections, CONNECTION),
        (
            ServerType::Bitbucket,
            AuthType::Oauth,
            "arn:aws:codebuild:token/bitbucket",
        ),
    ]);
    let uses = clients(&[], &[&listing, &batch, &defaults])
        .projects("eu-west-1")
        .await
        .unwrap();

    let found = used_by(CONNECTION, &uses).listed;
    let names: Vec<(&str, Option<Via>)> = found.iter().map(|c| (c.name.as_str(), c.via)).collect();
    assert_eq!(
        names,
        [
            ("p0", Some(Via::AccountDefaultCredential)),
            ("p4", Some(Via::AccountDefaultCredential))
        ],
        "GitHub sources without auth, primary or secondary; not Bitbucket (OAuth), \
         not a source with its own auth, not GitLab (no default)"
    );
    assert_eq!(defaults.num_calls(), 1);
}

#[tokio::test]
async fn source_credentials_that_cannot_be_read_cost_the_regions_projects() {
    let listing = mock!(aws_sdk_codebuild::Client::list_projects)
        .then_output(|| ListProjectsOutput::builder().projects("p0").build());
    let denied = mock!(aws_sdk_codebuild::Client::list_source_credentials)
        .sequence()
        .http_status(
            400,
            Some(r#"{"__type":"AccessDeniedException","message":"no"}"#.into()),
        )
        .build();
    let err = clients(&[], &[&listing, &denied])
        .projects("eu-west-1")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("ListSourceCredentials in eu-west-1 failed"),
        "{err}"
    );
}

const LINK_ID: &str = "11111111-2222-3333-4444-555555555555";
const OTHER_LINK_ID: &str = "66666666-2222-3333-4444-555555555555";

fn link(id: &str, connection: &str) -> RepositoryLinkInfo {
    RepositoryLinkInfo::builder()
        .connection_arn(connection)
        .owner_id("acme")
        .provider_type(ProviderType::Github)
        .repository_link_arn(format!(
            "arn:aws:codestar-connections:ap-southeast-2:123456789012:repository-link/{id}"
        ))
        .repository_link_id(id)
        .repository_name("infra")
        .build()
        .unwrap()
}

fn sync(stack: &str) -> SyncConfiguration {
    SyncConfiguration::builder()
        .branch("main")
        .owner_id("acme")
        .provider_type(ProviderType::Github)
        .repository_link_id(LINK_ID)
        .repository_name("infra")
        .resource_name(stack)
        .role_arn("arn:aws:iam::123456789012:role/sync")
        .sync_type(SyncConfigurationType::CfnStackSync)
        .build()
        .unwrap()
}

/// Links and configurations are read over every page, 100 a page (their
/// largest), and configurations only for links on an alerted connection.
#[tokio::test]
async fn synced_stacks_are_read_over_pages_of_links_and_configurations() {
    let old_prefix = CONNECTION.replace(":codeconnections:", ":codestar-connections:");
    let other = "arn:aws:codeconnections:us-east-1:123456789012:connection/ffffffff-aaaa-bbbb-cccc-dddddddddddd";
    let links = mock!(aws_sdk_codestarconnections::Client::list_repository_links)
        .match_requests(|r| r.max_results() == Some(100))
        .sequence()
        .output(move || {
            ListRepositoryLinksOutput::builder()
                .repository_links(link(LINK_ID, &old_prefix))
                .next_token("links-2")
                .build()
                .unwrap()
        })
        .output(move || {
            ListRepositoryLinksOutput::builder()
                .repository_links(link(OTHER_LINK_ID, other))
                .build()
                .unwrap()
        })
        .build();
    let syncs = mock!(aws_sdk_codestarconnections::Client::list_sync_configurations)
        .match_requests(|r| {
            r.repository_link_id() == Some(LINK_ID)
                && r.sync_type() == Some(&SyncConfigurationType::CfnStackSync)
                && r.max_results() == Some(100)
        })
        .then_compute_output(|r| {
            let page = ListSyncConfigurationsOutput::builder();
            match r.next_token() {
                None => page
                    .sync_configurations(sync("network"))
                    .next_token("syncs-2"),
                Some(_) => page.sync_configurations(sync("payments-app")),
            }
            .build()
            .unwrap()
        });
    let clients = all_clients(&[], &[], &[&links, &syncs], &[], &[]);

    let uses = clients
        .git_sync_stacks("ap-southeast-2", &[CONNECTION])
        .await
        .unwrap();

    assert_eq!((links.num_calls(), syncs.num_calls()), (2, 2));
    let found = used_by(CONNECTION, &uses).listed;
    let stacks: Vec<(ConsumerKind, &str, &str, &str)> = found
        .iter()
        .map(|c| (c.kind, c.name.as_str(), c.region.as_str(), c.arn.as_str()))
        .collect();
    assert_eq!(
        stacks,
        [
            (
                ConsumerKind::GitSyncStack,
                "network",
                "ap-southeast-2",
                "arn:aws:cloudformation:ap-southeast-2:123456789012:stack/network"
            ),
            (
                ConsumerKind::GitSyncStack,
                "payments-app",
                "ap-southeast-2",
                "arn:aws:cloudformation:ap-southeast-2:123456789012:stack/payments-app"
            ),
        ]
    );
    assert!(found[0]
        .console_url
        .contains("/cloudformation/home?region=ap-southeast-2"));
}

#[tokio::test]
async fn a_throttled_link_listing_names_its_region_and_operation() {
    let throttled = mock!(aws_sdk_codestarconnections::Client::list_repository_links)
        .sequence()
        .http_status(400, Some(THROTTLED.into()))
        .build();
    let err = all_clients(&[], &[], &[&throttled], &[], &[])
        .git_sync_stacks("ap-southeast-2", &[CONNECTION])
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("ListRepositoryLinks in ap-southeast-2 failed"),
        "{err}"
    );
}

fn product(
    id: &str,
    name: &str,
    connection: Option<&str>,
    sync: Option<LastSyncStatus>,
) -> ProductViewDetail {
    let detail = ProductViewDetail::builder()
        .product_arn(format!(
            "arn:aws:catalog:eu-west-1:123456789012:product/{id}"
        ))
        .product_view_summary(
            ProductViewSummary::builder()
                .product_id(id)
                .name(name)
                .build(),
        );
    let Some(connection) = connection else {
        return detail.build();
    };
    let mut source = SourceConnectionDetail::builder()
        .r#type(aws_sdk_servicecatalog::types::SourceType::Codestar)
        .connection_parameters(
            SourceConnectionParameters::builder()
                .code_star(
                    CodeStarParameters::builder()
                        .connection_arn(connection)
                        .repository("org/catalog")
                        .branch("main")
                        .artifact_path("product.yaml")
                        .build()
                        .unwrap(),
                )
                .build(),
        );
    if let Some(status) = sync {
        source = source.last_sync(
            LastSync::builder()
                .last_sync_status(status)
                .last_sync_time(CatalogTime::from_secs(1_800_000_000))
                .last_sync_status_message("Template file product.yaml not found")
                .build(),
        );
    }
    detail.source_connection(source.build()).build()
}

/// Products are searched over every page, 20 a page (the API's largest),
/// the account's own only, and each described: one synced from the
/// connection (named by the model's `codestar-connections` prefix) is found
/// with its failed last sync, one synced elsewhere or not synced is not, one
/// deleted between the search and its description is skipped, and a name
/// longer than a listed consumer may be is cut.
#[tokio::test]
async fn products_are_searched_over_pages_and_each_described() {
    let old_prefix = CONNECTION.replace(":codeconnections:", ":codestar-connections:");
    let other = "arn:aws:codestar-connections:us-east-1:123456789012:connection/ffffffff-aaaa-bbbb-cccc-dddddddddddd";
    let ids: Vec<String> = (0..21).map(|i| format!("prod-{i:02}")).collect();
    let search = mock!(aws_sdk_servicecatalog::Client::search_products_as_admin)
        .match_requests(|r| {
            r.page_size() == Some(20) && r.product_source() == Some(&ProductSource::Account)
        })
        .then_compute_output(move |r| {
            let (page, next) = match r.page_token() {
                None => (&ids[..20], Some("page-2")),
                Some(_) => (&ids[20..], None),
            };
            let mut out = SearchProductsAsAdminOutput::builder()
                .set_next_page_token(next.map(str::to_string));
            for id in page {
                out = out.product_view_details(product(id, id, None, None));
            }
            out.build()
        });
    let long_name = "n".repeat(200);
    let describe = mock!(aws_sdk_servicecatalog::Client::describe_product_as_admin)
        .then_compute_response(move |r| {
            let detail = match r.id().unwrap() {
                "prod-00" => product(
                    "prod-00",
                    &long_name,
                    Some(&old_prefix),
                    Some(LastSyncStatus::Failed),
                ),
                "prod-01" => product(
                    "prod-01",
                    "elsewhere",
                    Some(other),
                    Some(LastSyncStatus::Succeeded),
                ),
                "prod-02" => return MockResponse::Error(
                    DescribeProductAsAdminError::ResourceNotFoundException(
                        aws_sdk_servicecatalog::types::error::ResourceNotFoundException::builder()
                            .build(),
                    ),
                ),
                "prod-20" => product("prod-20", "second-page", Some(CONNECTION), None),
                id => product(id, id, None, None),
            };
            MockResponse::Output(
                DescribeProductAsAdminOutput::builder()
                    .product_view_detail(detail)
                    .build(),
            )
        });
    let clients = all_clients(&[], &[], &[], &[], &[&search, &describe]);

    let uses = clients.catalog_products("eu-west-1").await.unwrap();

    assert_eq!((search.num_calls(), describe.num_calls()), (2, 21));
    let found = used_by(CONNECTION, &uses).listed;
    let products: Vec<(ConsumerKind, usize, &str, Option<&str>)> = found
        .iter()
        .map(|c| {
            (
                c.kind,
                c.name.chars().count(),
                c.arn.as_str(),
                c.last_sync.as_ref().map(|s| s.status.as_str()),
            )
        })
        .collect();
    assert_eq!(
        products,
        [
            (
                ConsumerKind::ServiceCatalogProduct,
                153,
                "arn:aws:catalog:eu-west-1:123456789012:product/prod-00",
                Some("FAILED")
            ),
            (
                ConsumerKind::ServiceCatalogProduct,
                11,
                "arn:aws:catalog:eu-west-1:123456789012:product/prod-20",
                None
            ),
        ]
    );
    let failed = found[0].last_sync.as_ref().unwrap();
    assert!(failed.failed());
    assert_eq!(failed.at.as_deref(), Some("2027-01-15T08:00:00Z"));
    assert_eq!(
        failed.message.as_deref(),
        Some("Template file product.yaml not found")
    );
    assert!(found[0]
        .console_url
        .ends_with("/servicecatalog/home?region=eu-west-1#admin-products/prod-00"));
}

#[tokio::test]
async fn a_refused_product_description_costs_the_regions_products() {
    let search =
        mock!(aws_sdk_servicecatalog::Client::search_products_as_admin).then_output(|| {
            SearchProductsAsAdminOutput::builder()
                .product_view_details(product("prod-00", "p", None, None))
                .build()
        });
    let denied = mock!(aws_sdk_servicecatalog::Client::describe_product_as_admin)
        .sequence()
        .http_status(
            400,
            Some(r#"{"__type":"AccessDeniedException","message":"no"}"#.into()),
        )
        .build();
    let err = all_clients(&[], &[], &[], &[], &[&search, &denied])
        .catalog_products("eu-west-1")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("DescribeProductAsAdmin in eu-west-1 failed"),
        "{err}"
    );
}

/// The enabled regions: every page of ListRegions (50 a page, its
/// largest), `ENABLED` and `ENABLED_BY_DEFAULT` asked for and kept, and a
/// warm process asks again only after an hour.
#[tokio::test]
async fn enabled_regions_are_listed_over_pages_and_kept_warm() {
    let regions = mock!(aws_sdk_account::Client::list_regions)
        .match_requests(|r| {
            r.max_results() == Some(50)
                && r.region_opt_status_contains()
                    == [RegionOptStatus::Enabled, RegionOptStatus::EnabledByDefault]
        })
        .then_compute_output(|r| {
            let region = |name: &str, status: RegionOptStatus| {
                Region::builder()
                    .region_name(name)
                    .region_opt_status(status)
                    .build()
            };
            let page = ListRegionsOutput::builder();
            match r.next_token() {
                None => page
                    .regions(region("us-east-1", RegionOptStatus::EnabledByDefault))
                    .regions(region("af-south-1", RegionOptStatus::Enabled))
                    .next_token("regions-2"),
                // Whatever the filter, a region not enabled is never called.
                Some(_) => page
                    .regions(region("ap-east-1", RegionOptStatus::Disabled))
                    .regions(region("eu-west-1", RegionOptStatus::EnabledByDefault)),
            }
            .build()
        });
    let clients = all_clients(&[], &[], &[], &[&regions], &[]);

    let first = clients.enabled_regions().await.unwrap();
    let warm = clients.enabled_regions().await.unwrap();

    assert_eq!(first, ["af-south-1", "eu-west-1", "us-east-1"]);
    assert_eq!(warm, first);
    assert_eq!(regions.num_calls(), 2, "two pages, once");
}

/// A pipeline no longer listed leaves the cache, and the cache is exported
/// again without it.
#[tokio::test]
async fn a_deleted_pipeline_leaves_the_cache_in_the_same_run() {
    let listing = mock!(aws_sdk_codepipeline::Client::list_pipelines)
        .sequence()
        .output(|| {
            ListPipelinesOutput::builder()
                .pipelines(summary("deploy"))
                .pipelines(summary("retired"))
                .build()
        })
        .output(|| {
            ListPipelinesOutput::builder()
                .pipelines(summary("deploy"))
                .build()
        })
        .build();
    let get = mock!(aws_sdk_codepipeline::Client::get_pipeline).then_compute_output(
        |input: &GetPipelineInput| definition(input.name().unwrap(), "CodeStarSourceConnection"),
    );
    let clients = clients(&[&listing, &get], &[]);

    clients.pipelines("us-east-1").await.unwrap();
    let cached = clients.export_changed("us-east-1").unwrap();
    assert!(cached.contains("retired"));
    let uses = clients.pipelines("us-east-1").await.unwrap();

    assert_eq!(uses.len(), 1);
    let cached = clients
        .export_changed("us-east-1")
        .expect("changed: one left");
    assert!(
        cached.contains("deploy") && !cached.contains("retired"),
        "{cached}"
    );
}

/// When the outage began: the connection's `firstSeen` less the time
/// between two runs.
fn since() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(1_764_547_200, 0).unwrap()
}

/// `GetPipelineState` of "deploy": its Source stage (execution exec-1) in
/// `stage`, with the action "App" on the connection in `app` since
/// `minutes` after the outage began, and an S3 action "Assets" in `assets`.
fn pipeline_state(
    stage: StageExecutionStatus,
    app: ActionExecutionStatus,
    minutes: i64,
    assets: ActionExecutionStatus,
) -> GetPipelineStateOutput {
    let action = |name: &str, status: ActionExecutionStatus| {
        ActionState::builder()
            .action_name(name)
            .latest_execution(
                ActionExecution::builder()
                    .status(status)
                    .last_status_change(DateTime::from_secs(since().timestamp() + minutes * 60))
                    .build(),
            )
            .build()
    };
    GetPipelineStateOutput::builder()
        .pipeline_name("deploy")
        .stage_states(
            StageState::builder()
                .stage_name("Source")
                .latest_execution(
                    StageExecution::builder()
                        .pipeline_execution_id("exec-1")
                        .status(stage)
                        .build()
                        .unwrap(),
                )
                .action_states(action("App", app))
                .action_states(action("Assets", assets))
                .build(),
        )
        .build()
}

/// The Source stage failed on the connection's action, during the outage.
fn failed_on_it() -> GetPipelineStateOutput {
    use ActionExecutionStatus as A;
    pipeline_state(StageExecutionStatus::Failed, A::Failed, 5, A::Succeeded)
}

const TARGETS: [Target<'static>; 1] = [Target {
    stage: "Source",
    action: "App",
}];

fn start_rule() -> Rule {
    mock!(aws_sdk_codepipeline::Client::start_pipeline_execution)
        .then_output(|| StartPipelineExecutionOutput::builder().build())
}

#[tokio::test]
async fn a_source_action_that_failed_on_the_connection_is_retried_with_its_failed_actions() {
    let state = mock!(aws_sdk_codepipeline::Client::get_pipeline_state).then_output(failed_on_it);
    let retry = mock!(aws_sdk_codepipeline::Client::retry_stage_execution)
        .match_requests(|input: &RetryStageExecutionInput| {
            input.stage_name() == Some("Source")
                && input.pipeline_execution_id() == Some("exec-1")
                && input.retry_mode() == Some(&StageRetryMode::FailedActions)
        })
        .then_output(|| {
            RetryStageExecutionOutput::builder()
                .pipeline_execution_id("exec-1")
                .build()
        });
    let start = start_rule();

    let outcome = clients(&[&state, &retry, &start], &[])
        .restart("us-east-1", "deploy", &TARGETS, since())
        .await;

    assert_eq!(
        outcome,
        Some(Outcome::Retried {
            stage: "Source".into()
        })
    );
    assert_eq!((retry.num_calls(), start.num_calls()), (1, 0));
}

/// Each failure that is not the connection's own, during its outage, is
/// left alone and said: another action of the stage, a failure older than
/// the outage, a stage someone already retried; nothing failed, nothing said.
#[tokio::test]
async fn a_failure_that_is_not_the_connections_is_left_alone_and_said() {
    use ActionExecutionStatus as A;
    use StageExecutionStatus as S;
    for (state, says) in [
        (
            pipeline_state(S::Failed, A::Succeeded, 5, A::Failed),
            Some("another action"),
        ),
        (
            pipeline_state(S::Failed, A::Failed, -61, A::Succeeded),
            Some("before the outage"),
        ),
        (
            pipeline_state(S::InProgress, A::Failed, 5, A::Succeeded),
            Some("already retried"),
        ),
        (
            pipeline_state(S::Succeeded, A::Succeeded, 5, A::Succeeded),
            None,
        ),
    ] {
        let read = mock!(aws_sdk_codepipeline::Client::get_pipeline_state)
            .then_output(move || state.clone());
        let retry = mock!(aws_sdk_codepipeline::Client::retry_stage_execution)
            .then_output(|| RetryStageExecutionOutput::builder().build());
        let start = start_rule();

        let outcome = clients(&[&read, &retry, &start], &[])
            .restart("us-east-1", "deploy", &TARGETS, since())
            .await;

        match (says, &outcome) {
            (Some(words), Some(Outcome::NotRestarted { reason, .. })) => {
                assert!(reason.contains(words), "{reason}")
            }
            (None, None) => {}
            _ => panic!("{says:?}: {outcome:?}"),
        }
        assert_eq!((retry.num_calls(), start.num_calls()), (0, 0), "{says:?}");
    }
}

/// AWS refuses the retry (the stage holds no failed action any more, or a
/// newer execution exists): the state is read again, and a new execution
/// starts only if the action still shows failed, with a token from the
/// failed execution so that it starts once.
#[tokio::test]
async fn a_refused_retry_starts_a_new_execution_only_while_the_action_still_failed() {
    use ActionExecutionStatus as A;
    for (after, started) in [
        (failed_on_it(), true),
        (
            pipeline_state(
                StageExecutionStatus::InProgress,
                A::InProgress,
                9,
                A::Succeeded,
            ),
            false,
        ),
    ] {
        let state = mock!(aws_sdk_codepipeline::Client::get_pipeline_state)
            .sequence()
            .output(failed_on_it)
            .output(move || after.clone())
            .build();
        let retry = mock!(aws_sdk_codepipeline::Client::retry_stage_execution).then_error(|| {
            RetryStageExecutionError::StageNotRetryableException(
                StageNotRetryableException::builder().build(),
            )
        });
        let start = mock!(aws_sdk_codepipeline::Client::start_pipeline_execution)
            .match_requests(|r| r.client_request_token() == Some("connection-watch-exec-1"))
            .then_output(|| {
                StartPipelineExecutionOutput::builder()
                    .pipeline_execution_id("exec-2")
                    .build()
            });

        let outcome = clients(&[&state, &retry, &start], &[])
            .restart("us-east-1", "deploy", &TARGETS, since())
            .await;

        if started {
            assert_eq!(
                outcome,
                Some(Outcome::Started {
                    stage: "Source".into()
                })
            );
        } else {
            assert!(
                matches!(&outcome, Some(Outcome::NotRestarted { reason, .. }) if reason.contains("already retried")),
                "{outcome:?}"
            );
        }
        assert_eq!(
            (retry.num_calls(), start.num_calls()),
            (1, usize::from(started))
        );
    }
}

/// RetryStageExecution has no idempotency token: an answer lost (here a
/// 500, which the SDK would otherwise send again) is never followed by a
/// second retry; the state read again says whether it took effect.
#[tokio::test]
async fn a_retry_whose_answer_is_lost_is_not_sent_again() {
    use ActionExecutionStatus as A;
    for (after, took_effect) in [
        (
            pipeline_state(
                StageExecutionStatus::InProgress,
                A::InProgress,
                9,
                A::Succeeded,
            ),
            true,
        ),
        (failed_on_it(), false),
    ] {
        let state = mock!(aws_sdk_codepipeline::Client::get_pipeline_state)
            .sequence()
            .output(failed_on_it)
            .output(move || after.clone())
            .build();
        let retry = mock!(aws_sdk_codepipeline::Client::retry_stage_execution)
            .sequence()
            .http_status(500, None)
            .repeatedly()
            .build();
        let start = start_rule();

        let outcome = clients(&[&state, &retry, &start], &[])
            .restart("us-east-1", "deploy", &TARGETS, since())
            .await;

        assert_eq!(
            retry.num_calls(),
            1,
            "sent once, though the client retries 3 times"
        );
        assert_eq!((state.num_calls(), start.num_calls()), (2, 0));
        if took_effect {
            assert_eq!(
                outcome,
                Some(Outcome::Retried {
                    stage: "Source".into()
                })
            );
        } else {
            assert!(
                matches!(&outcome, Some(Outcome::Failed { reason, .. }) if reason.contains("not sent again")),
                "{outcome:?}"
            );
        }
    }
}

#[tokio::test]
async fn cached_definitions_travel_between_processes_and_a_bad_cache_costs_only_a_read() {
    let listing = deploy_listing();
    let get = mock!(aws_sdk_codepipeline::Client::get_pipeline)
        .then_output(|| definition("deploy", "CodeStarSourceConnection"));
    let first = clients(&[&listing, &get], &[]);
    first.pipelines("us-east-1").await.unwrap();
    let exported = first
        .export_changed("us-east-1")
        .expect("a definition was read");
    assert_eq!(
        first.export_changed("us-east-1"),
        None,
        "nothing changed since"
    );

    // A new process: imported, nothing read again.
    let second = clients(&[&listing, &get], &[]);
    second.import("us-east-1", &exported);
    assert!(second.has_cached("us-east-1"));
    let uses = second.pipelines("us-east-1").await.unwrap();
    assert!(uses[0].uses(CONNECTION));
    assert_eq!(get.num_calls(), 1);

    // Another version's cache, or a corrupt one: ignored, never a panic.
    let third = clients(&[&listing, &get], &[]);
    third.import("us-east-1", "{\"not\": \"a list\"}");
    third.import(
        "us-east-1",
        &exported.replace("\"updated_nanos\":0", "\"updated_nanos\":2000000000"),
    );
    assert!(!third.has_cached("us-east-1"));
    third.pipelines("us-east-1").await.unwrap();
    assert_eq!(get.num_calls(), 2, "read again");
}

#[tokio::test]
async fn each_source_carries_the_role_and_values_access_is_simulated_with() {
    let listing = deploy_listing();
    let get = mock!(aws_sdk_codepipeline::Client::get_pipeline).then_output(|| {
        let mut out = definition("deploy", "CodeStarSourceConnection");
        let pipeline = out.pipeline.as_mut().unwrap();
        let own = pipeline.stages[0].actions[0].clone();
        let with_role = ActionDeclaration::builder()
            .name("Docs")
            .action_type_id(own.action_type_id.clone().unwrap())
            .role_arn("arn:aws:iam::123456789012:role/source-action")
            .configuration("ConnectionArn", CONNECTION)
            .configuration("FullRepositoryId", "acme/docs")
            .configuration("BranchName", "main")
            .build()
            .unwrap();
        pipeline.stages[0].actions.push(with_role);
        out
    });
    let clients = clients(&[&listing, &get], &[]);
    let uses = clients.pipelines("us-east-1").await.unwrap();
    let grants: Vec<Grant> = uses[0]
        .sources
        .iter()
        .map(|s| s.grant.clone().unwrap())
        .collect();
    assert_eq!(
        grants,
        [
            Grant {
                role: "arn:aws:iam::123456789012:role/p".into(),
                ..Grant::default()
            },
            Grant {
                role: "arn:aws:iam::123456789012:role/source-action".into(),
                repository: Some("acme/docs".into()),
                branch: Some("main".into()),
            },
        ],
        "the action's own role first, else the pipeline's"
    );

    // An earlier version cached no grants: its definitions are read again.
    assert_read_again_without(&clients, "grant", &[&listing, &get]);
}

/// A CodeBuild action of `project` taking `input`, in `region` when it is a
/// cross-region action.
fn build_action(name: &str, project: &str, input: &str, region: Option<&str>) -> ActionDeclaration {
    ActionDeclaration::builder()
        .name(name)
        .action_type_id(
            ActionTypeId::builder()
                .category(ActionCategory::Build)
                .owner(ActionOwner::Aws)
                .provider("CodeBuild")
                .version("1")
                .build()
                .unwrap(),
        )
        .configuration("ProjectName", project)
        .input_artifacts(InputArtifact::builder().name(input).build().unwrap())
        .set_region(region.map(str::to_string))
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_full_clone_source_names_the_projects_that_take_its_artifact() {
    let listing = deploy_listing();
    let get = mock!(aws_sdk_codepipeline::Client::get_pipeline).then_output(|| {
        let mut out = definition("deploy", "CodeStarSourceConnection");
        let pipeline = out.pipeline.as_mut().unwrap();
        let source = &mut pipeline.stages[0].actions[0];
        source
            .configuration
            .as_mut()
            .unwrap()
            .insert("OutputArtifactFormat".into(), "CODEBUILD_CLONE_REF".into());
        source.output_artifacts =
            Some(vec![OutputArtifact::builder().name("src").build().unwrap()]);
        pipeline.stages.push(
            StageDeclaration::builder()
                .name("Build")
                .actions(build_action("Build", "build", "src", None))
                .actions(build_action("Far", "far-build", "src", Some("eu-west-1")))
                .actions(build_action("Other", "unrelated", "another", None))
                .build()
                .unwrap(),
        );
        out
    });
    let clients = clients(&[&listing, &get], &[]);
    let uses = clients.pipelines("us-east-1").await.unwrap();
    assert_eq!(
        uses[0].sources[0].full_clone_to,
        Some(vec![
            FedProject {
                name: "build".into(),
                region: None
            },
            FedProject {
                name: "far-build".into(),
                region: Some("eu-west-1".into())
            },
        ]),
        "only the actions taking the clone's artifact"
    );

    // An earlier version cached no full clones: its definitions are read again.
    assert_read_again_without(&clients, "full_clone_to", &[&listing, &get]);
}

#[tokio::test]
async fn a_zip_source_hands_no_project_a_clone() {
    let listing = deploy_listing();
    let get = mock!(aws_sdk_codepipeline::Client::get_pipeline).then_output(|| {
        let mut out = definition("deploy", "CodeStarSourceConnection");
        let pipeline = out.pipeline.as_mut().unwrap();
        pipeline.stages[0].actions[0].output_artifacts =
            Some(vec![OutputArtifact::builder().name("src").build().unwrap()]);
        pipeline.stages.push(
            StageDeclaration::builder()
                .name("Build")
                .actions(build_action("Build", "build", "src", None))
                .build()
                .unwrap(),
        );
        out
    });
    let uses = clients(&[&listing, &get], &[])
        .pipelines("us-east-1")
        .await
        .unwrap();
    assert_eq!(uses[0].sources[0].full_clone_to, Some(Vec::new()));
}

/// A cache `clients` exported, with `field` taken out of every source as an
/// earlier version wrote it, is not imported (its pipelines are read
/// again); the cache as exported is.
fn assert_read_again_without(clients: &ConsumerClients, field: &str, rules: &[&Rule]) {
    let exported = clients.export_changed("us-east-1").unwrap();
    let mut earlier: serde_json::Value = serde_json::from_str(&exported).unwrap();
    for entry in earlier.as_array_mut().unwrap() {
        for source in entry["uses"]["sources"].as_array_mut().unwrap() {
            assert!(
                source.as_object_mut().unwrap().remove(field).is_some(),
                "{field}"
            );
        }
    }
    let next = self::clients(rules, &[]);
    next.import("us-east-1", &earlier.to_string());
    assert!(!next.has_cached("us-east-1"), "without {field}");
    next.import("us-east-1", &exported);
    assert!(next.has_cached("us-east-1"));
}
