//! What both Lambdas need of the runtime: logging and the time left.

pub mod deadline;
pub mod logging;
