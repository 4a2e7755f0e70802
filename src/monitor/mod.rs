//! The monitor Lambda: configuration, the invocation's request, and the run
//! as stages, each a folder, that `run.rs` orchestrates, each handing the
//! next a named value: `read` (the listings, tags and accounts),
//! `consumers` (what uses each connection, and whether its role may),
//! `decide` (the lifecycle), `deliver` (publish, metrics, preview).

pub mod adapters;
pub mod config;
pub mod consumers;
pub mod decide;
pub mod deliver;
pub mod error;
pub mod event;
pub mod look;
pub mod read;
pub mod report;
pub mod run;

pub use adapters::Adapters;
pub use error::MonitorError;
pub use run::{Monitor, Ran};
