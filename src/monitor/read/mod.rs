//! What a run reads of the watched account or organization: the connection
//! listing, hosts, synced stacks, their tags, and the accounts of an organization.

pub mod accounts;
pub mod rotation;
pub mod scan;
pub mod syncs;
pub mod tags;
