//! `USED_BY` and `USED_BY_REGIONS`: what a stuck connection's consumers
//! are looked up as, and where.

use super::{list, ConfigError, Vars};
use crate::domain::arn::parse_region;
use crate::domain::consumer::ConsumerKind;

/// `USED_BY`: `pipelines,codebuild,gitsync,servicecatalog` (the default), any
/// of them, or `none`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UsedBy {
    pub pipelines: bool,
    pub codebuild: bool,
    pub git_sync: bool,
    pub service_catalog: bool,
}

impl UsedBy {
    pub fn any(self) -> bool {
        self.pipelines || self.codebuild || self.git_sync || self.service_catalog
    }

    /// Whether `kind` is looked up.
    pub fn looks_up(self, kind: ConsumerKind) -> bool {
        match kind {
            ConsumerKind::Pipeline => self.pipelines,
            ConsumerKind::CodebuildProject => self.codebuild,
            ConsumerKind::GitSyncStack => self.git_sync,
            ConsumerKind::ServiceCatalogProduct => self.service_catalog,
        }
    }

    /// The kinds looked up, in the order the text names them.
    pub fn kinds(self) -> Vec<ConsumerKind> {
        ConsumerKind::ALL
            .into_iter()
            .filter(|k| self.looks_up(*k))
            .collect()
    }
}

/// `USED_BY_REGIONS`: every region enabled for the connection's account
/// (`enabled`, the default), or these regions only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UsedByRegions {
    Enabled,
    Listed(Vec<String>),
}

pub(super) fn used_by(set: &Vars<'_>) -> Result<UsedBy, ConfigError> {
    let value =
        set("USED_BY").unwrap_or_else(|| "pipelines,codebuild,gitsync,servicecatalog".into());
    if value.trim().eq_ignore_ascii_case("none") {
        return Ok(UsedBy {
            pipelines: false,
            codebuild: false,
            git_sync: false,
            service_catalog: false,
        });
    }
    let kinds = list("USED_BY", &value, |item| {
        match item.to_ascii_lowercase().as_str() {
            kind @ ("pipelines" | "codebuild" | "gitsync" | "servicecatalog") => {
                Ok(kind.to_string())
            }
            _ => Err(format!(
                "{item:?} is not pipelines, codebuild, gitsync, servicecatalog or none"
            )),
        }
    })?;
    Ok(UsedBy {
        pipelines: kinds.iter().any(|k| k == "pipelines"),
        codebuild: kinds.iter().any(|k| k == "codebuild"),
        git_sync: kinds.iter().any(|k| k == "gitsync"),
        service_catalog: kinds.iter().any(|k| k == "servicecatalog"),
    })
}

pub(super) fn used_by_regions(set: &Vars<'_>) -> Result<UsedByRegions, ConfigError> {
    match set("USED_BY_REGIONS") {
        None => Ok(UsedByRegions::Enabled),
        Some(v) if v.trim().eq_ignore_ascii_case("enabled") => Ok(UsedByRegions::Enabled),
        Some(v) => list("USED_BY_REGIONS", &v, parse_region).map(UsedByRegions::Listed),
    }
}
