//! The `Custom::CodeStarConnection` CloudFormation custom resource.

pub mod decision;
pub mod handler;
pub mod properties;
pub mod responder;

pub use handler::ConnectionResource;
