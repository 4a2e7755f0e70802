//! What a run hands on: the claim, publish and commit, the metrics, and the
//! dry run's preview.

pub mod metrics;
pub mod preview;
pub mod publish;
