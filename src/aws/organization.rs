//! The accounts of an organization-wide run: discovered through AWS
//! Organizations, and read through a role assumed in each (the way
//! multi-account scanners such as Prowler and c7n-org do).

use super::codestar::CodestarClients;
use super::stacks::StackClients;
use crate::domain::account::{Account, AccountScope};
use aws_sdk_codestarconnections::config::Credentials;
use aws_sdk_organizations::error::DisplayErrorContext;
use aws_sdk_organizations::types::{AccountState, AccountStatus};
use aws_sdk_sts::error::ProvideErrorMetadata;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use thiserror::Error;

/// Assumed credentials are reused until this long before they expire.
const CREDENTIALS_MARGIN: Duration = Duration::from_secs(300);
/// How long a warm process reuses the organization's account list:
/// `ListAccounts` gives at most 20 accounts a page (API reference,
/// `MaxResults`), walked one page after another, so 10,000 accounts take 500
/// calls. An account created since is scanned at most this much later.
pub const ACCOUNT_LIST_MAX_AGE: Duration = Duration::from_secs(3600);

#[derive(Debug, Error)]
pub enum AccountsError {
    #[error("organizations:ListAccounts failed: {0}")]
    Discover(String),
    #[error("sts:AssumeRole of {role} failed: {message}")]
    AssumeRole { role: String, message: String },
}

/// An ACTIVE account of the organization; `None` for any other.
fn active(account: &aws_sdk_organizations::types::Account) -> Option<Account> {
    // `State` replaces `Status` (retired September 2026); older answers carry only `Status`.
    let active = match (account.state(), account.status()) {
        (Some(state), _) => *state == AccountState::Active,
        (None, status) => status == Some(&AccountStatus::Active),
    };
    active.then_some(())?;
    Some(Account {
        id: account.id()?.to_string(),
        name: account.name().map(str::to_string),
    })
}

/// One account's clients: CodeConnections, and CloudFormation with `GIT_SYNC`.
pub struct AccountClients {
    pub codestar: CodestarClients,
    pub stacks: Option<StackClients>,
}

/// Organizations and STS, and the clients of each account. The
/// assumed credentials are kept across warm invocations until near expiry;
/// the clients are not (the benchmark measured 186 MB at 1,000 accounts with
/// cached clients): they are made for each scan and dropped after it, so
/// memory follows the accounts in flight, not the accounts scanned.
#[derive(Clone, Debug)]
pub struct Accounts {
    organizations: aws_sdk_organizations::Client,
    /// Regional, as the SDK resolves STS by default: tokens of the global
    /// endpoint are not valid in opt-in regions.
    sts: aws_sdk_sts::Client,
    codestar: aws_sdk_codestarconnections::Config,
    /// With `GIT_SYNC`: CloudFormation, for the tags of stuck synced stacks.
    stacks: Option<aws_sdk_cloudformation::Config>,
    credentials: Arc<Mutex<HashMap<String, Credentials>>>,
    listed: Arc<Mutex<Option<Listed>>>,
}

/// The organization's ACTIVE accounts, and when they were listed.
#[derive(Debug)]
struct Listed {
    at: std::time::Instant,
    accounts: Vec<Account>,
}

impl Accounts {
    pub fn new(
        organizations: aws_sdk_organizations::Client,
        sts: aws_sdk_sts::Client,
        codestar: aws_sdk_codestarconnections::Config,
        stacks: Option<aws_sdk_cloudformation::Config>,
    ) -> Self {
        Self {
            organizations,
            sts,
            codestar,
            stacks,
            credentials: Arc::default(),
            listed: Arc::default(),
        }
    }

    /// The accounts a run scans: the own account always (with its own
    /// credentials), then the scope's, without the excluded ones. Only
    /// ACTIVE accounts of an organization are scanned.
    pub async fn discover(
        &self,
        scope: &AccountScope,
        exclude: &[String],
        own: &str,
    ) -> Result<Vec<Account>, AccountsError> {
        let mut accounts = vec![Account {
            id: own.to_string(),
            name: None,
        }];
        let listed = match scope {
            AccountScope::Own => Vec::new(),
            AccountScope::List(ids) => ids
                .iter()
                .map(|id| Account {
                    id: id.clone(),
                    name: None,
                })
                .collect(),
            AccountScope::Organization => self.organization().await?,
        };
        for account in listed {
            match accounts.iter_mut().find(|a| a.id == account.id) {
                Some(own) => own.name = account.name,
                None => accounts.push(account),
            }
        }
        accounts.retain(|a| a.id == own || !exclude.contains(&a.id));
        Ok(accounts)
    }

    /// The organization's ACTIVE accounts, listed at most
    /// `ACCOUNT_LIST_MAX_AGE` ago.
    async fn organization(&self) -> Result<Vec<Account>, AccountsError> {
        let fresh = |l: &&Listed| l.at.elapsed() < ACCOUNT_LIST_MAX_AGE;
        if let Some(listed) = self.lock_listed().as_ref().filter(fresh) {
            return Ok(listed.accounts.clone());
        }
        let accounts = self.list_organization().await?;
        *self.lock_listed() = Some(Listed {
            at: std::time::Instant::now(),
            accounts: accounts.clone(),
        });
        Ok(accounts)
    }

    fn lock_listed(&self) -> std::sync::MutexGuard<'_, Option<Listed>> {
        self.listed.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn list_organization(&self) -> Result<Vec<Account>, AccountsError> {
        // 20 a page, the most AWS gives (ListAccounts, MaxResults 1 to 20), named
        // so that moto, which would give 100, pages as AWS does.
        let mut pages = self
            .organizations
            .list_accounts()
            .max_results(20)
            .into_paginator()
            .send();
        let mut accounts = Vec::new();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|e| AccountsError::Discover(DisplayErrorContext(&e).to_string()))?;
            accounts.extend(page.accounts().iter().filter_map(active));
        }
        Ok(accounts)
    }

    /// The clients of `account`: the own ones for the own account, else
    /// through `role` in it (`arn:<partition>:iam::<account>:role/<role>`).
    pub async fn clients(
        &self,
        account: &str,
        own: &str,
        role: &str,
        partition: &str,
    ) -> Result<AccountClients, AccountsError> {
        let credentials = self.credentials(account, own, role, partition).await?;
        let codestar = match &credentials {
            None => self.codestar.clone(),
            Some(credentials) => self
                .codestar
                .to_builder()
                .credentials_provider(credentials.clone())
                .build(),
        };
        let stacks = self.stacks.as_ref().map(|base| match &credentials {
            None => StackClients::new(base.clone()),
            Some(credentials) => StackClients::new(
                base.to_builder()
                    .credentials_provider(credentials.clone())
                    .build(),
            ),
        });
        Ok(AccountClients {
            codestar: CodestarClients::new(codestar),
            stacks,
        })
    }

    /// The credentials of `role` in `account`, kept until near expiry;
    /// `None` for the own account, which uses the function's.
    pub async fn credentials(
        &self,
        account: &str,
        own: &str,
        role: &str,
        partition: &str,
    ) -> Result<Option<Credentials>, AccountsError> {
        if account == own {
            return Ok(None);
        }
        if let Some(credentials) = self.cached(account) {
            return Ok(Some(credentials));
        }
        let credentials = self.assume(account, role, partition).await?;
        self.lock().insert(account.to_string(), credentials.clone());
        Ok(Some(credentials))
    }

    /// Credentials of `account` that stay valid a while yet.
    fn cached(&self, account: &str) -> Option<Credentials> {
        let fresh_until = SystemTime::now() + CREDENTIALS_MARGIN;
        self.lock()
            .get(account)
            .filter(|c| c.expiry().is_some_and(|expiry| expiry > fresh_until))
            .cloned()
    }

    async fn assume(
        &self,
        account: &str,
        role: &str,
        partition: &str,
    ) -> Result<Credentials, AccountsError> {
        let role = format!("arn:{partition}:iam::{account}:role/{role}");
        let assumed = self
            .sts
            .assume_role()
            .role_arn(&role)
            .role_session_name("connection-watch")
            .send()
            .await
            .map_err(|e| {
                let mut message = DisplayErrorContext(&e).to_string();
                // What STS answers when the role does not exist, or does not trust us.
                if e.code() == Some("AccessDenied") {
                    message += &format!(
                        ". Deploy member-role.yaml in account {account} (a service-managed \
                         StackSet never reaches the management account: deploy it there as a \
                         plain stack), or add {account} to EXCLUDE_ACCOUNTS"
                    );
                }
                AccountsError::AssumeRole {
                    role: role.clone(),
                    message,
                }
            })?;
        let credentials = assumed
            .credentials()
            .ok_or_else(|| AccountsError::AssumeRole {
                role: role.clone(),
                message: "the answer carried no credentials".into(),
            })?;
        Ok(Credentials::new(
            credentials.access_key_id(),
            credentials.secret_access_key(),
            Some(credentials.session_token().to_string()),
            SystemTime::try_from(*credentials.expiration()).ok(),
            "connection-watch-member-role",
        ))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Credentials>> {
        self.credentials.lock().unwrap_or_else(|e| e.into_inner())
    }
}
