//! The `Custom::CodeStarConnection` CloudFormation custom resource.

mod actions;
pub mod decision;
pub mod envelope;
pub mod handler;
pub mod properties;
pub mod responder;

pub use handler::ConnectionResource;
