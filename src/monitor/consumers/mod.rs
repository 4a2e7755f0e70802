//! What uses each connection, and whether each consumer's role may use it:
//! the `usedBy` lookup, the access checks (scheduled and in an inventory).

pub mod access;
pub mod inventory;
pub mod scheduled_access;
pub mod used_by;
