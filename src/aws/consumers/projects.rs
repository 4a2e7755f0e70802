//! CodeBuild projects and the connections their sources use: their own
//! `auth`, or the region's account-level source credential.

use super::{ConsumerClients, ConsumerError, PROJECTS_PER_CALL};
use crate::aws::paging::walk;
use crate::domain::consumer::{Consumer, ConsumerKind, Grant, Source, Uses, Via};
use aws_sdk_codebuild::types::{AuthType, ProjectSource, ServerType, SourceAuthType, SourceType};
use std::collections::HashMap;

impl ConsumerClients {
    /// Every CodeBuild project of `region` with the connections its sources
    /// authenticate with: `ListProjects`, then `BatchGetProjects`.
    pub async fn projects(&self, region: &str) -> Result<Vec<Uses>, ConsumerError> {
        let client = self.in_region(region).projects;
        let mut names = Vec::new();
        let fetch = |token: Option<String>| {
            let request = client.list_projects().set_next_token(token);
            async move {
                let page = request
                    .send()
                    .await
                    .map_err(|e| ConsumerError::service("ListProjects", region, e))?;
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
            .map_err(|e| ConsumerError::service("ListSourceCredentials", region, e))?;
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
                .map_err(|e| ConsumerError::service("BatchGetProjects", region, e))?;
            uses.extend(out.projects().iter().filter_map(|project| {
                let consumer = Consumer::from_arn(ConsumerKind::CodebuildProject, project.arn()?)?;
                let role = project.service_role().unwrap_or_default();
                let grant = Grant {
                    role: role.to_string(),
                    ..Grant::default()
                };
                let sources = project
                    .source()
                    .into_iter()
                    .chain(project.secondary_sources())
                    .filter_map(|source| connection_of(source, &defaults))
                    .map(|source| Source {
                        grant: Some(grant.clone()),
                        ..source
                    })
                    .collect();
                Some(Uses {
                    consumer,
                    sources,
                    service_role: Some(role.to_string()).filter(|r| !r.is_empty()),
                })
            }));
        }
        Ok(uses)
    }
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
            action: None,
            via: Some(Via::AccountDefaultCredential),
            grant: None,
            full_clone_to: None,
        });
    };
    let connection = (*auth.r#type() == SourceAuthType::Codeconnections)
        .then(|| auth.resource().map(str::to_string))??;
    Some(Source {
        connection,
        stage: None,
        action: None,
        via: None,
        grant: None,
        full_clone_to: None,
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
