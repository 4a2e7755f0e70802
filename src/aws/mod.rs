//! Adapters over the AWS SDK: its shared configuration, CodeConnections,
//! CodePipeline and CodeBuild (what uses a connection), SNS, EventBridge,
//! the DynamoDB state table, and Organizations with STS. They speak in
//! domain values (and SNS in rendered messages) and know nothing of the
//! monitor or the resource that use them.

pub mod access;
pub mod codestar;
pub mod consumers;
pub mod events;
pub mod git_sync;
pub mod identity;
pub mod organization;
pub mod paging;
pub mod sdk;
pub mod sns;
pub mod stacks;
pub mod state;
