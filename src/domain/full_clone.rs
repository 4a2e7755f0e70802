//! Full clones (docs/reference.md, "Can its consumers use it"): a pipeline
//! source action whose `OutputArtifactFormat` is `CODEBUILD_CLONE_REF` hands
//! the CodeBuild actions that take its artifact a reference, and each such
//! project clones the repository itself, through the connection, under its
//! own service role. That role then needs `UseConnection` on the connection
//! as the source action names it: aws-cdk's `CodeBuildAction` grants exactly
//! that ("if any of the inputs come from the CodeStarConnectionsSourceAction
//! with codeBuildCloneOutput=true, grant the Project's Role to use the
//! connection"). Pure.

use super::consumer::{ConsumerKind, Grant, Source, Uses, Via};

/// The `OutputArtifactFormat` of a full clone (CodePipeline User Guide,
/// "CodeStarSourceConnection" action reference: `CODE_ZIP` or
/// `CODEBUILD_CLONE_REF`).
pub const FULL_CLONE: &str = "CODEBUILD_CLONE_REF";

/// Adds to each CodeBuild project among `uses` (one account's consumers) a
/// source for every pipeline source action that hands it a full clone: the
/// connection as that action names it, the project's service role, and the
/// action's repository and branch, `via` [`Via::PipelineFullClone`]. A
/// project that was not read (its kind, or its region, left unread) gains
/// nothing, and the coverage already says so.
pub fn join_full_clones(uses: &mut [Uses]) {
    let mut added: Vec<(usize, Source)> = Vec::new();
    for pipeline in uses
        .iter()
        .filter(|u| u.consumer.kind == ConsumerKind::Pipeline)
    {
        for source in &pipeline.sources {
            for fed in source.full_clone_to.iter().flatten() {
                let region = fed.region.as_deref().unwrap_or(&pipeline.consumer.region);
                let Some((at, project)) = uses.iter().enumerate().find(|(_, u)| {
                    u.consumer.kind == ConsumerKind::CodebuildProject
                        && u.consumer.name == fed.name
                        && u.consumer.region == region
                }) else {
                    continue;
                };
                let Some(role) = project.service_role.clone() else {
                    continue;
                };
                let from = source.grant.clone().unwrap_or_default();
                let clone = Source {
                    connection: source.connection.clone(),
                    stage: None,
                    action: None,
                    via: Some(Via::PipelineFullClone),
                    grant: Some(Grant { role, ..from }),
                    full_clone_to: None,
                };
                let known = |s: &Source| s == &clone;
                if !project.sources.iter().any(known) && !added.iter().any(|(_, s)| known(s)) {
                    added.push((at, clone));
                }
            }
        }
    }
    for (at, source) in added {
        uses[at].sources.push(source);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::consumer::{Consumer, FedProject};

    const CONNECTION: &str =
        "arn:aws:codeconnections:us-east-1:111111111111:connection/0a1b2c3d-aaaa-bbbb-cccc-dddddddddddd";

    fn project(name: &str, region: &str, role: Option<&str>) -> Uses {
        Uses {
            consumer: Consumer::from_arn(
                ConsumerKind::CodebuildProject,
                &format!("arn:aws:codebuild:{region}:111111111111:project/{name}"),
            )
            .unwrap(),
            sources: Vec::new(),
            service_role: role.map(str::to_string),
        }
    }

    fn pipeline(fed: Vec<FedProject>) -> Uses {
        Uses {
            consumer: Consumer::from_arn(
                ConsumerKind::Pipeline,
                "arn:aws:codepipeline:eu-west-1:111111111111:deploy",
            )
            .unwrap(),
            sources: vec![Source {
                connection: CONNECTION.into(),
                stage: Some("Source".into()),
                action: Some("Source".into()),
                via: None,
                grant: Some(Grant {
                    role: "arn:aws:iam::111111111111:role/pipeline".into(),
                    repository: Some("acme/payments".into()),
                    branch: Some("main".into()),
                }),
                full_clone_to: Some(fed),
            }],
            service_role: None,
        }
    }

    fn fed(name: &str, region: Option<&str>) -> FedProject {
        FedProject {
            name: name.into(),
            region: region.map(str::to_string),
        }
    }

    #[test]
    fn a_project_handed_a_full_clone_uses_the_connection_under_its_own_role() {
        let role = "arn:aws:iam::111111111111:role/builder";
        let mut uses = vec![
            pipeline(vec![fed("build", None), fed("build", None)]),
            project("build", "eu-west-1", Some(role)),
            project("build", "us-east-1", Some(role)),
        ];
        join_full_clones(&mut uses);
        assert_eq!(
            uses[1].sources,
            vec![Source {
                connection: CONNECTION.into(),
                stage: None,
                action: None,
                via: Some(Via::PipelineFullClone),
                grant: Some(Grant {
                    role: role.into(),
                    repository: Some("acme/payments".into()),
                    branch: Some("main".into()),
                }),
                full_clone_to: None,
            }],
            "once, however many actions take the artifact"
        );
        assert!(
            uses[2].sources.is_empty(),
            "the same name in another region is another project"
        );
        let found = crate::domain::consumer::used_by(CONNECTION, &uses).listed;
        let vias: Vec<_> = found.iter().map(|c| (c.kind, c.via)).collect();
        assert_eq!(
            vias,
            [
                (ConsumerKind::Pipeline, None),
                (ConsumerKind::CodebuildProject, Some(Via::PipelineFullClone)),
            ],
            "the project breaks with the connection too, and says how it uses it"
        );
        let before = uses[1].sources.clone();
        join_full_clones(&mut uses);
        assert_eq!(uses[1].sources, before, "joining twice adds nothing");
    }

    #[test]
    fn a_cross_region_action_feeds_the_project_of_its_own_region() {
        let mut uses = vec![
            pipeline(vec![fed("build", Some("us-east-1"))]),
            project(
                "build",
                "eu-west-1",
                Some("arn:aws:iam::111111111111:role/a"),
            ),
            project(
                "build",
                "us-east-1",
                Some("arn:aws:iam::111111111111:role/b"),
            ),
        ];
        join_full_clones(&mut uses);
        assert!(uses[1].sources.is_empty());
        assert_eq!(uses[2].sources.len(), 1);
    }

    #[test]
    fn an_unread_project_or_one_without_a_role_gains_nothing() {
        let mut uses = vec![
            pipeline(vec![fed("elsewhere", None), fed("roleless", None)]),
            project("roleless", "eu-west-1", None),
        ];
        join_full_clones(&mut uses);
        assert!(uses[1].sources.is_empty());
        assert_eq!(uses.len(), 2, "no project is invented");
    }
}
