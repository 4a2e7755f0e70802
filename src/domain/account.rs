//! Accounts: which ones a run watches, and one found in an organization.

/// Which accounts a run watches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AccountScope {
    /// The function's own account, with its own credentials.
    Own,
    /// Every ACTIVE account of the AWS Organization.
    Organization,
    /// These accounts (the own one with its own credentials).
    List(Vec<String>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub id: String,
    /// As AWS Organizations names it.
    pub name: Option<String>,
}
