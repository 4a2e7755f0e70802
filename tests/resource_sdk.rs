//! The connection resource against mocked CodeStar Connections and a local
//! ResponseURL: create, retried create, delete not found, throttling, update.

mod common;

use aws_sdk_codestarconnections::operation::create_connection::CreateConnectionOutput;
use aws_sdk_codestarconnections::operation::delete_connection::{
    DeleteConnectionError, DeleteConnectionOutput,
};
use aws_sdk_codestarconnections::operation::get_connection::GetConnectionOutput;
use aws_sdk_codestarconnections::operation::list_connections::ListConnectionsOutput;
use aws_sdk_codestarconnections::operation::list_tags_for_resource::{
    ListTagsForResourceError, ListTagsForResourceOutput,
};
use aws_sdk_codestarconnections::operation::tag_resource::TagResourceOutput;
use aws_sdk_codestarconnections::operation::untag_resource::UntagResourceOutput;
use aws_sdk_codestarconnections::types::error::ResourceNotFoundException;
use aws_sdk_codestarconnections::types::Tag;
use aws_sdk_codestarconnections::Client;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use common::{arn, connection, fast_retries, ResponseUrl, THROTTLED};
use connection_watch::aws::codestar::CodestarClients;
use connection_watch::resource::properties::{LOGICAL_ID_TAG, REQUEST_ID_TAG, STACK_ID_TAG};
use connection_watch::resource::responder::{Responder, ResponseUrlPolicy};
use connection_watch::resource::ConnectionResource;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const REGION: &str = "us-east-1";
const STACK: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/app/0a1b";

/// The resource over mocked CodeStar Connections, answering to `url` (the
/// configured S3 endpoint, as moto is in the end-to-end tests).
fn resource(url: &ResponseUrl, rules: &[&Rule]) -> ConnectionResource {
    let client = mock_client!(
        aws_sdk_codestarconnections,
        RuleMode::MatchAny,
        rules,
        fast_retries
    );
    ConnectionResource::new(
        CodestarClients::new(client.config().clone()),
        Responder::new(
            4,
            Duration::from_millis(5),
            ResponseUrlPolicy::new(REGION, Some(&url.url)),
        ),
    )
}

/// ListTagsForResource: the tags this stack's RepoConnection writes at Create, and `extra`.
fn owner_tags(request_id: &'static str) -> Rule {
    mock!(Client::list_tags_for_resource).then_output(move || {
        let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build().unwrap();
        ListTagsForResourceOutput::builder()
            .tags(tag(STACK_ID_TAG, STACK))
            .tags(tag(LOGICAL_ID_TAG, "RepoConnection"))
            .tags(tag(REQUEST_ID_TAG, request_id))
            .build()
    })
}

/// ListTagsForResource: another team's connection.
fn foreign_tags() -> Rule {
    mock!(Client::list_tags_for_resource).then_output(|| {
        ListTagsForResourceOutput::builder()
            .tags(
                Tag::builder()
                    .key("team")
                    .value("payments")
                    .build()
                    .unwrap(),
            )
            .build()
    })
}

fn event(
    kind: &str,
    url: &str,
    physical_id: Option<&str>,
    props: Value,
    old: Option<Value>,
) -> Value {
    let mut event = json!({
        "RequestType": kind,
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:connection-resource",
        "ResponseURL": url,
        "StackId": STACK,
        "RequestId": "req-1",
        "ResourceType": "Custom::CodeStarConnection",
        "LogicalResourceId": "RepoConnection",
        "ResourceProperties": props,
    });
    if let Some(id) = physical_id {
        event["PhysicalResourceId"] = json!(id);
    }
    if let Some(old) = old {
        event["OldResourceProperties"] = old;
    }
    event
}

fn create_event(url: &str, props: Value) -> Value {
    event("Create", url, None, props, None)
}

fn delete_event(url: &str, physical_id: &str) -> Value {
    event("Delete", url, Some(physical_id), props("app", &[]), None)
}

fn props(name: &str, tags: &[(&str, &str)]) -> Value {
    let tags: Vec<Value> = tags
        .iter()
        .map(|(k, v)| json!({"Key": k, "Value": v}))
        .collect();
    json!({"ServiceToken": "t", "ConnectionName": name, "ProviderType": "GitHub", "Tags": tags})
}

fn empty_listing() -> Rule {
    mock!(Client::list_connections).then_output(|| ListConnectionsOutput::builder().build())
}

fn get(i: usize) -> Rule {
    mock!(Client::get_connection).then_output(move || {
        GetConnectionOutput::builder()
            .connection(connection(REGION, i, "PENDING"))
            .build()
    })
}

const TIME: Duration = Duration::from_secs(30);

#[tokio::test]
async fn create_makes_a_tagged_connection_and_answers_with_its_arn() {
    let url = ResponseUrl::start(vec![]).await;
    let created_with = Arc::new(Mutex::new(None));
    let keep = created_with.clone();
    let create = mock!(Client::create_connection)
        .match_requests(move |req| {
            *keep.lock().unwrap() = Some(req.clone());
            true
        })
        .then_output(|| {
            CreateConnectionOutput::builder()
                .connection_arn(arn(REGION, 7))
                .build()
                .unwrap()
        });
    let listing = empty_listing();
    let resource = resource(&url, &[&listing, &create, &get(7)]);

    let answer = resource
        .handle(
            event(
                "Create",
                &url.url,
                None,
                props("app", &[("team", "platform")]),
                None,
            ),
            TIME,
        )
        .await
        .unwrap();

    let response = url.only_response();
    assert_eq!(response["Status"], "SUCCESS", "{response}");
    assert_eq!(response["PhysicalResourceId"], arn(REGION, 7));
    assert_eq!(response["Data"]["ConnectionArn"], arn(REGION, 7));
    assert_eq!(response["Data"]["ConnectionStatus"], "PENDING");
    assert_eq!(response["Data"]["ProviderType"], "GitHub");
    assert_eq!(response["Data"]["OwnerAccountId"], "123456789012");
    assert!(response["Data"]["ConsoleUrl"]
        .as_str()
        .unwrap()
        .contains("/codesuite/settings/"));
    assert_eq!(response["RequestId"], "req-1");
    assert_eq!(response["LogicalResourceId"], "RepoConnection");
    assert_eq!(answer["Status"], "SUCCESS");

    let input = created_with.lock().unwrap().clone().unwrap();
    assert_eq!(input.connection_name(), Some("app"));
    let tags: Vec<(&str, &str)> = input.tags().iter().map(|t| (t.key(), t.value())).collect();
    assert!(tags.contains(&("team", "platform")));
    assert!(tags.contains(&(REQUEST_ID_TAG, "req-1")));
    assert!(tags.contains(&("connection-watch:stack-id", STACK)));
    assert!(tags.contains(&("connection-watch:logical-id", "RepoConnection")));
}

/// us-east-1 holds `conn-1` (AVAILABLE) and `app` (conn-4), the latter made by `app_request`.
fn listing_with_app(app_request: &'static str) -> (Rule, Rule) {
    let listing = mock!(Client::list_connections).then_output(|| {
        let mut app = connection(REGION, 4, "PENDING");
        app.connection_name = Some("app".into());
        ListConnectionsOutput::builder()
            .connections(connection(REGION, 1, "AVAILABLE"))
            .connections(app)
            .build()
    });
    let tags = mock!(Client::list_tags_for_resource)
        .match_requests(|req| req.resource_arn() == Some(arn(REGION, 4).as_str()))
        .then_output(move || {
            ListTagsForResourceOutput::builder()
                .tags(
                    Tag::builder()
                        .key(REQUEST_ID_TAG)
                        .value(app_request)
                        .build()
                        .unwrap(),
                )
                .build()
        });
    (listing, tags)
}

fn create_rule() -> Rule {
    mock!(Client::create_connection).then_output(|| {
        CreateConnectionOutput::builder()
            .connection_arn(arn(REGION, 9))
            .build()
            .unwrap()
    })
}

#[tokio::test]
async fn a_retried_create_reuses_the_connection_of_its_first_attempt() {
    let url = ResponseUrl::start(vec![]).await;
    let (listing, tags) = listing_with_app("req-1");
    let create = create_rule();
    let resource = resource(&url, &[&listing, &tags, &create, &get(4)]);

    resource
        .handle(create_event(&url.url, props("app", &[])), TIME)
        .await
        .unwrap();

    assert_eq!(create.num_calls(), 0, "no second connection");
    assert_eq!(
        tags.num_calls(),
        1,
        "tags are read only for the connection of that name"
    );
    let response = url.only_response();
    assert_eq!(response["Status"], "SUCCESS");
    assert_eq!(response["PhysicalResourceId"], arn(REGION, 4));
}

#[tokio::test]
async fn a_name_another_request_holds_fails_without_a_create() {
    let url = ResponseUrl::start(vec![]).await;
    let (listing, tags) = listing_with_app("another-request");
    let create = create_rule();
    let resource = resource(&url, &[&listing, &tags, &create]);

    resource
        .handle(create_event(&url.url, props("app", &[])), TIME)
        .await
        .unwrap();

    assert_eq!(create.num_calls(), 0);
    let response = url.only_response();
    assert_eq!(response["Status"], "FAILED");
    let reason = response["Reason"].as_str().unwrap();
    assert!(
        reason.contains(&arn(REGION, 4)) && reason.contains("choose another ConnectionName"),
        "{reason}"
    );
}

#[tokio::test]
async fn create_refused_by_the_quota_fails_with_an_actionable_reason() {
    let url = ResponseUrl::start(vec![]).await;
    let create = mock!(Client::create_connection)
        .sequence()
        .http_status(
            400,
            Some(
                r#"{"__type":"LimitExceededException","message":"Connection limit exceeded"}"#
                    .into(),
            ),
        )
        // The SDK counts LimitExceededException as throttling and retries it.
        .times(3)
        .build();
    let resource = resource(&url, &[&empty_listing(), &create]);

    resource
        .handle(create_event(&url.url, props("app", &[])), TIME)
        .await
        .unwrap();

    let response = url.only_response();
    assert_eq!(response["Status"], "FAILED");
    assert_eq!(response["PhysicalResourceId"], "failed-create:req-1");
    let reason = response["Reason"].as_str().unwrap();
    assert!(
        reason.contains("Connection limit exceeded") && reason.contains("quota"),
        "{reason}"
    );
}

#[tokio::test]
async fn invalid_properties_fail_and_call_nothing() {
    let url = ResponseUrl::start(vec![]).await;
    let listing = empty_listing();
    let create = create_rule();
    let resource = resource(&url, &[&listing, &create]);

    resource
        .handle(
            create_event(
                &url.url,
                json!({"ConnectionName": "app", "ProviderType": "SVN"}),
            ),
            TIME,
        )
        .await
        .unwrap();

    let response = url.only_response();
    assert_eq!(response["Status"], "FAILED");
    assert!(response["Reason"]
        .as_str()
        .unwrap()
        .contains("\"SVN\" is not one of"));
    assert_eq!(listing.num_calls() + create.num_calls(), 0);
}

#[tokio::test]
async fn delete_of_a_missing_connection_succeeds() {
    let url = ResponseUrl::start(vec![]).await;
    let gone = mock!(Client::list_tags_for_resource).then_error(|| {
        ListTagsForResourceError::ResourceNotFoundException(
            ResourceNotFoundException::builder().message("gone").build(),
        )
    });
    let delete =
        mock!(Client::delete_connection).then_output(|| DeleteConnectionOutput::builder().build());
    let resource = resource(&url, &[&gone, &delete]);

    resource
        .handle(delete_event(&url.url, &arn(REGION, 2)), TIME)
        .await
        .unwrap();

    assert_eq!(delete.num_calls(), 0);
    let response = url.only_response();
    assert_eq!(response["Status"], "SUCCESS");
    assert_eq!(response["PhysicalResourceId"], arn(REGION, 2));
}

#[tokio::test]
async fn delete_of_a_connection_gone_between_the_check_and_the_delete_succeeds() {
    let url = ResponseUrl::start(vec![]).await;
    let delete = mock!(Client::delete_connection).then_error(|| {
        DeleteConnectionError::ResourceNotFoundException(
            ResourceNotFoundException::builder().message("gone").build(),
        )
    });
    let resource = resource(&url, &[&owner_tags("req-0"), &delete]);

    resource
        .handle(delete_event(&url.url, &arn(REGION, 2)), TIME)
        .await
        .unwrap();

    assert_eq!(delete.num_calls(), 1);
    assert_eq!(url.only_response()["Status"], "SUCCESS");
}

#[tokio::test]
async fn delete_of_a_connection_this_stack_did_not_create_leaves_it_alone() {
    let url = ResponseUrl::start(vec![]).await;
    let delete =
        mock!(Client::delete_connection).then_output(|| DeleteConnectionOutput::builder().build());
    let resource = resource(&url, &[&foreign_tags(), &delete]);

    resource
        .handle(delete_event(&url.url, &arn(REGION, 2)), TIME)
        .await
        .unwrap();

    assert_eq!(
        delete.num_calls(),
        0,
        "another team's connection is never deleted"
    );
    assert_eq!(
        url.only_response()["Status"],
        "SUCCESS",
        "the stack never owned it"
    );
}

#[tokio::test]
async fn delete_is_retried_through_throttling() {
    let url = ResponseUrl::start(vec![]).await;
    let delete = mock!(Client::delete_connection)
        .sequence()
        .http_status(400, Some(THROTTLED.into()))
        .output(|| DeleteConnectionOutput::builder().build())
        .build();
    let resource = resource(&url, &[&owner_tags("req-0"), &delete]);

    resource
        .handle(delete_event(&url.url, &arn(REGION, 2)), TIME)
        .await
        .unwrap();

    assert_eq!(delete.num_calls(), 2);
    assert_eq!(url.only_response()["Status"], "SUCCESS");
}

#[tokio::test]
async fn the_rollback_of_a_failed_create_deletes_what_that_create_left_behind() {
    // A connection named "app" in us-east-1, made by this stack's request req-0
    // whose Create timed out; and one in eu-west-1 of the same name.
    let listing = mock!(Client::list_connections).then_output(|| {
        let mut here = connection(REGION, 3, "PENDING");
        here.connection_name = Some("app".into());
        let mut there = connection("eu-west-1", 4, "PENDING");
        there.connection_name = Some("app".into());
        ListConnectionsOutput::builder()
            .connections(there)
            .connections(here)
            .build()
    });
    for (request_id, deletes) in [("req-0", 1), ("req-other", 0)] {
        let url = ResponseUrl::start(vec![]).await;
        let deleted = Arc::new(Mutex::new(Vec::new()));
        let keep = deleted.clone();
        let delete = mock!(Client::delete_connection)
            .match_requests(move |req| {
                keep.lock()
                    .unwrap()
                    .push(req.connection_arn().unwrap().to_string());
                true
            })
            .then_output(|| DeleteConnectionOutput::builder().build());
        let resource = resource(&url, &[&listing, &owner_tags(request_id), &delete]);

        resource
            .handle(delete_event(&url.url, "failed-create:req-0"), TIME)
            .await
            .unwrap();

        let response = url.only_response();
        assert_eq!(response["Status"], "SUCCESS");
        assert_eq!(response["PhysicalResourceId"], "failed-create:req-0");
        assert_eq!(delete.num_calls(), deletes, "{request_id}");
        if deletes == 1 {
            assert_eq!(*deleted.lock().unwrap(), [arn(REGION, 3)]);
        }
    }
}

#[tokio::test]
async fn update_of_a_connection_this_stack_did_not_create_fails_and_changes_nothing() {
    let url = ResponseUrl::start(vec![]).await;
    let tag = mock!(Client::tag_resource).then_output(|| TagResourceOutput::builder().build());
    let untag =
        mock!(Client::untag_resource).then_output(|| UntagResourceOutput::builder().build());
    let resource = resource(&url, &[&get(5), &foreign_tags(), &tag, &untag]);

    resource
        .handle(
            event(
                "Update",
                &url.url,
                Some(&arn(REGION, 5)),
                props("app", &[("connection-watch:ignore", "true")]),
                Some(props("app", &[("team", "a")])),
            ),
            TIME,
        )
        .await
        .unwrap();

    let response = url.only_response();
    assert_eq!(response["Status"], "FAILED");
    assert!(
        response["Reason"]
            .as_str()
            .unwrap()
            .contains("was not created by this stack's RepoConnection"),
        "{response}"
    );
    assert_eq!((tag.num_calls(), untag.num_calls()), (0, 0));
}

#[tokio::test]
async fn a_response_url_outside_s3_is_refused_and_nothing_is_done() {
    let url = ResponseUrl::start(vec![]).await;
    let create = create_rule();
    let listing = empty_listing();
    let resource = resource(&url, &[&listing, &create]);

    let err = resource
        .handle(
            create_event(
                "http://127.0.0.1:1/response?X-Amz-Signature=secret",
                props("app", &[]),
            ),
            TIME,
        )
        .await
        .unwrap_err()
        .to_string();

    assert!(err.contains("ResponseURL refused"), "{err}");
    assert!(!err.contains("secret"), "{err}");
    assert_eq!((listing.num_calls(), create.num_calls()), (0, 0));
}

#[tokio::test]
async fn a_response_url_that_never_answers_is_given_up_before_the_deadline() {
    // Accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent = format!(
        "http://{}/cfn-response?X-Amz-Signature=secret",
        listener.local_addr().unwrap()
    );
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let client = mock_client!(
        aws_sdk_codestarconnections,
        RuleMode::MatchAny,
        &[] as &[&Rule],
        fast_retries
    );
    let resource = ConnectionResource::new(
        CodestarClients::new(client.config().clone()),
        Responder::new(
            5,
            Duration::from_millis(5),
            ResponseUrlPolicy::new(REGION, Some(&silent)),
        ),
    );

    let started = std::time::Instant::now();
    let err = resource
        .handle(
            delete_event(&silent, "not-a-connection"),
            Duration::from_secs(2),
        )
        .await
        .unwrap_err();

    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(err.to_string().contains("timed out"), "{err}");
}

#[tokio::test]
async fn update_of_tags_only_keeps_the_connection() {
    let url = ResponseUrl::start(vec![]).await;
    let untagged = Arc::new(Mutex::new(Vec::new()));
    let keep = untagged.clone();
    let untag = mock!(Client::untag_resource)
        .match_requests(move |req| {
            keep.lock().unwrap().extend(req.tag_keys().iter().cloned());
            true
        })
        .then_output(|| UntagResourceOutput::builder().build());
    let tag = mock!(Client::tag_resource)
        .match_requests(|req| {
            req.tags().len() == 1 && req.tags()[0].key() == "team" && req.tags()[0].value() == "b"
        })
        .then_output(|| TagResourceOutput::builder().build());
    let create = create_rule();
    let get = get(5);
    let resource = resource(&url, &[&get, &owner_tags("req-0"), &untag, &tag, &create]);

    resource
        .handle(
            event(
                "Update",
                &url.url,
                Some(&arn(REGION, 5)),
                props("app", &[("team", "b")]),
                Some(props("app", &[("team", "a"), ("cost-centre", "42")])),
            ),
            TIME,
        )
        .await
        .unwrap();

    let response = url.only_response();
    assert_eq!(response["Status"], "SUCCESS", "{response}");
    assert_eq!(response["PhysicalResourceId"], arn(REGION, 5));
    assert_eq!(*untagged.lock().unwrap(), ["cost-centre"]);
    assert_eq!(tag.num_calls(), 1);
    assert_eq!(create.num_calls(), 0);
    assert_eq!(
        get.num_calls(),
        1,
        "one GetConnection: it serves both the check and Data"
    );
}

#[tokio::test]
async fn a_response_url_that_fails_twice_gets_exactly_one_response() {
    let url = ResponseUrl::start(vec![500, 503]).await;
    let resource = resource(&url, &[]);

    resource
        .handle(delete_event(&url.url, "not-a-connection"), TIME)
        .await
        .unwrap();

    assert_eq!(*url.attempts.lock().unwrap(), 3);
    assert_eq!(url.only_response()["Status"], "SUCCESS");
}

#[tokio::test]
async fn a_response_url_that_refuses_is_an_error_for_lambda() {
    let url = ResponseUrl::start(vec![403]).await;
    let resource = resource(&url, &[]);

    let err = resource
        .handle(delete_event(&url.url, "not-a-connection"), TIME)
        .await
        .unwrap_err()
        .to_string();

    assert!(err.contains("403"), "{err}");
    assert!(
        !err.contains("secret"),
        "the presigned query string stays out of errors: {err}"
    );
}

/// The samples in events/ are safe to invoke against a deployed function:
/// their ResponseURL is refused before anything is created or deleted.
#[tokio::test]
async fn the_sample_events_do_nothing_against_a_real_function() {
    let url = ResponseUrl::start(vec![]).await;
    for sample in [
        "cloudformation-create.json",
        "cloudformation-update-rename.json",
        "cloudformation-update-tags.json",
        "cloudformation-delete.json",
    ] {
        let path = format!("{}/events/{sample}", env!("CARGO_MANIFEST_DIR"));
        let event: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let create = create_rule();
        let listing = empty_listing();
        let resource = resource(&url, &[&listing, &create]);
        let err = resource.handle(event, TIME).await.unwrap_err().to_string();
        assert!(err.contains("ResponseURL refused"), "{sample}: {err}");
        assert_eq!(
            (listing.num_calls(), create.num_calls()),
            (0, 0),
            "{sample}"
        );
    }
}
