//! The CodePipeline and CodeBuild reads behind `usedBy`, against mocked
//! clients: pages, a pipeline deleted between listing and reading, throttling
//! retried, the warm cache by `updated`, BatchGetProjects 100 names a call,
//! and the restart of a pipeline a healed connection had failed.

use aws_sdk_codebuild::operation::batch_get_projects::{
    BatchGetProjectsInput, BatchGetProjectsOutput,
};
use aws_sdk_codebuild::operation::list_projects::ListProjectsOutput;
use aws_sdk_codebuild::types::{Project, ProjectSource, SourceAuth, SourceAuthType, SourceType};
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
    ActionCategory, ActionDeclaration, ActionOwner, ActionTypeId, PipelineDeclaration,
    PipelineMetadata, PipelineSummary, StageDeclaration, StageExecution, StageExecutionStatus,
    StageRetryMode, StageState,
};
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use connection_watch::aws::consumers::ConsumerClients;
use connection_watch::domain::consumer::Outcome;
use std::time::Duration;

const CONNECTION: &str =
    "arn:aws:codeconnections:us-east-1:123456789012:connection/0a1b2c3d-aaaa-bbbb-cccc-dddddddddddd";
const THROTTLED: &str = r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#;

fn clients(pipelines: &[&Rule], projects: &[&Rule]) -> ConsumerClients {
    let pipelines = mock_client!(aws_sdk_codepipeline, RuleMode::MatchAny, pipelines, |b| {
        b.retry_config(
            aws_sdk_codepipeline::config::retry::RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(1)),
        )
    });
    let projects = mock_client!(aws_sdk_codebuild, RuleMode::MatchAny, projects);
    ConsumerClients::new(pipelines.config().clone(), projects.config().clone())
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
    assert_eq!(uses[0].stages_using(CONNECTION), ["Source"]);
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
    let clients = clients(&[], &[&listing, &batch]);

    let uses = clients.projects("eu-west-1").await.unwrap();

    assert_eq!(batch.num_calls(), 2, "150 names: 100, then 50");
    let using: Vec<&str> = uses
        .iter()
        .filter(|u| !u.sources.is_empty())
        .map(|u| u.consumer.name.as_str())
        .collect();
    assert_eq!(using, ["p0", "p149"], "a source and a secondary source");
    assert_eq!(uses.len(), 150);
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

        let uses = clients(&[], &[&listing, &batch])
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

fn pipeline_state(stage_status: StageExecutionStatus) -> GetPipelineStateOutput {
    let stage = |name: &str, status: StageExecutionStatus| {
        StageState::builder()
            .stage_name(name)
            .latest_execution(
                StageExecution::builder()
                    .pipeline_execution_id("exec-1")
                    .status(status)
                    .build()
                    .unwrap(),
            )
            .build()
    };
    GetPipelineStateOutput::builder()
        .pipeline_name("deploy")
        .stage_states(stage("Source", stage_status))
        .stage_states(stage("Build", StageExecutionStatus::Failed))
        .build()
}

fn state_is(status: StageExecutionStatus) -> Rule {
    mock!(aws_sdk_codepipeline::Client::get_pipeline_state)
        .then_output(move || pipeline_state(status.clone()))
}

#[tokio::test]
async fn a_source_stage_that_failed_is_retried_with_its_failed_actions() {
    let state = state_is(StageExecutionStatus::Failed);
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
    let start = mock!(aws_sdk_codepipeline::Client::start_pipeline_execution)
        .then_output(|| StartPipelineExecutionOutput::builder().build());

    let outcome = clients(&[&state, &retry, &start], &[])
        .restart("us-east-1", "deploy", &["Source"])
        .await;

    assert_eq!(
        outcome,
        Some(Outcome::Retried {
            stage: "Source".into()
        })
    );
    assert_eq!((retry.num_calls(), start.num_calls()), (1, 0));
}

#[tokio::test]
async fn a_pipeline_that_did_not_fail_on_the_connection_is_left_alone() {
    // The Build stage failed, not the one holding the source action.
    for status in [
        StageExecutionStatus::Succeeded,
        StageExecutionStatus::InProgress,
    ] {
        let state = state_is(status);
        let retry = mock!(aws_sdk_codepipeline::Client::retry_stage_execution)
            .then_output(|| RetryStageExecutionOutput::builder().build());
        let start = mock!(aws_sdk_codepipeline::Client::start_pipeline_execution)
            .then_output(|| StartPipelineExecutionOutput::builder().build());

        let outcome = clients(&[&state, &retry, &start], &[])
            .restart("us-east-1", "deploy", &["Source"])
            .await;

        assert_eq!(outcome, None);
        assert_eq!((retry.num_calls(), start.num_calls()), (0, 0));
    }
}

#[tokio::test]
async fn a_stage_aws_will_not_retry_gets_a_new_execution() {
    let state = state_is(StageExecutionStatus::Failed);
    let retry = mock!(aws_sdk_codepipeline::Client::retry_stage_execution).then_error(|| {
        RetryStageExecutionError::StageNotRetryableException(
            StageNotRetryableException::builder().build(),
        )
    });
    let start = mock!(aws_sdk_codepipeline::Client::start_pipeline_execution).then_output(|| {
        StartPipelineExecutionOutput::builder()
            .pipeline_execution_id("exec-2")
            .build()
    });

    let outcome = clients(&[&state, &retry, &start], &[])
        .restart("us-east-1", "deploy", &["Source"])
        .await;

    assert_eq!(
        outcome,
        Some(Outcome::Started {
            stage: "Source".into()
        })
    );
    assert_eq!(start.num_calls(), 1);
}

#[tokio::test]
async fn a_throttled_retry_is_reported_and_nothing_else_is_tried() {
    let state = state_is(StageExecutionStatus::Failed);
    let retry = mock!(aws_sdk_codepipeline::Client::retry_stage_execution)
        .sequence()
        .http_status(400, Some(THROTTLED.into()))
        .repeatedly()
        .build();
    let start = mock!(aws_sdk_codepipeline::Client::start_pipeline_execution)
        .then_output(|| StartPipelineExecutionOutput::builder().build());

    let outcome = clients(&[&state, &retry, &start], &[])
        .restart("us-east-1", "deploy", &["Source"])
        .await;

    let Some(Outcome::Failed { stage, reason }) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(stage, "Source");
    assert!(
        reason.contains("RetryStageExecution") && reason.contains("ThrottlingException"),
        "{reason}"
    );
    assert_eq!(retry.num_calls(), 3, "the SDK's attempts");
    assert_eq!(
        start.num_calls(),
        0,
        "a throttled retry is not a refused one"
    );
}

#[tokio::test]
async fn cached_definitions_travel_between_processes_and_a_bad_cache_costs_only_a_read() {
    let listing = mock!(aws_sdk_codepipeline::Client::list_pipelines).then_output(|| {
        ListPipelinesOutput::builder()
            .pipelines(summary("deploy"))
            .build()
    });
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
