//! What connection-watch is about, with no AWS call and no rendering:
//! connections, hosts and Git-synced stacks, what uses them, ARN and region rules, accounts,
//! and the alert lifecycle. Imports nothing else of the crate.
//!
//! A new kind of watched thing (as `git_sync` was) needs:
//! 1. a struct here with the `Watched` fields and `impl_watched!`, and a
//!    `Kind` variant (the state table's `kind`, the events' `DetailType`);
//! 2. its `KindFacts` in `render::batch` and a `Batch` slice, its intro in
//!    `render::text` and its next steps in `render::chat`;
//! 3. its listing in `aws::codestar` and its `Selected` rule in
//!    `monitor::decide::select`; the scan, tag reads, lifecycle and report are
//!    generic over `Watched`.

pub mod access;
pub mod account;
pub mod arn;
pub mod connection;
pub mod consumer;
pub mod denied;
pub mod full_clone;
pub mod git_sync;
pub mod host;
pub mod lifecycle;
pub mod recovery;
pub mod verdicts;
pub mod watched;
