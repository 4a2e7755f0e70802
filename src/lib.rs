//! connection-watch: finds CodeStar Connections stuck in PENDING or ERROR and
//! alerts through SNS (`monitor`), and manages connections as a CloudFormation
//! custom resource (`connection-resource`).

pub mod accounts;
pub mod alert;
pub mod chat;
pub mod clients;
pub mod codestar;
pub mod config;
pub mod connection;
pub mod deadline;
pub mod event;
pub mod host;
pub mod lifecycle;
pub mod logging;
pub mod metrics;
pub mod monitor;
pub mod publish;
pub mod resource;
pub mod selection;
pub mod state;
pub mod text;
pub mod watched;
