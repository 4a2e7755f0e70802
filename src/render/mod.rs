//! What people and machines read, rendered from domain values only: the
//! batch one message carries, escaping, the text (email), the JSON document,
//! the chat notification, and the SNS messages with their size limits.

pub mod access;
pub mod batch;
pub mod chat;
pub mod coverage;
pub mod escape;
pub mod events;
pub mod inventory;
pub mod json;
pub mod message;
mod sync_text;
pub mod text;
