//! The monitor Lambda: configuration, the invocation's request, and the run
//! as stages (scan, tag reads, accounts, access, decide, used-by, publish) that `run.rs`
//! orchestrates, each handing the next a named value.

pub mod access;
pub mod accounts;
pub mod adapters;
pub mod config;
pub mod decide;
pub mod error;
pub mod event;
pub mod inventory;
pub mod look;
pub mod metrics;
pub mod preview;
pub mod publish;
pub mod report;
pub mod rotation;
pub mod run;
pub mod scan;
pub mod scheduled_access;
pub mod select;
pub mod syncs;
pub mod tags;
pub mod used_by;

pub use adapters::Adapters;
pub use error::MonitorError;
pub use run::{Monitor, Ran};
