//! connection-watch: finds CodeStar Connections stuck in PENDING or ERROR and
//! alerts through SNS (`monitor`), and manages connections as a CloudFormation
//! custom resource (`connection-resource`).
//!
//! Layers, each importing only those above it in this list:
//! `domain` (pure), `render` (pure), `aws` (adapters), then the two Lambdas,
//! `monitor` and `resource`; `runtime` serves both binaries.

pub mod aws;
pub mod domain;
pub mod monitor;
pub mod render;
pub mod resource;
pub mod runtime;
