//! What the monitor watches, connections and hosts alike: the lifecycle
//! fields they share and the accessors the lifecycle, the state table and
//! the alert need. Pure: no I/O.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Tags of a connection or host.
pub type Tags = BTreeMap<String, String>;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    New,
    Ongoing,
    Resolved,
}

impl AlertState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Ongoing => "ongoing",
            Self::Resolved => "resolved",
        }
    }
}

/// With a state table: where a watched object is in its alert lifecycle.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Lifecycle {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<AlertState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<DateTime<Utc>>,
    /// When the record was last alerted before this run (`None`: a new
    /// record, or stateless): what makes an event's `eventId` the same when
    /// a failed run's event is sent again. Not part of the document.
    #[serde(skip)]
    pub last_alerted: Option<DateTime<Utc>>,
}

/// What is watched: the state table's `kind` attribute (`as_str`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Connection,
    Host,
    /// A CloudFormation stack synced from Git.
    GitSync,
    /// A consumer whose role may not use its connection.
    Access,
}

impl Kind {
    /// Every kind, in the order every message shows them.
    pub const ALL: [Kind; 4] = [Kind::Connection, Kind::Host, Kind::GitSync, Kind::Access];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connection => "connection",
            Self::Host => "host",
            Self::GitSync => "git-sync",
            Self::Access => "access",
        }
    }

    /// One of them, as a count names it beside other kinds: `2 connections
    /// and 1 synced stack`.
    pub fn noun(self) -> &'static str {
        match self {
            Self::Connection => "connection",
            Self::Host => "host",
            Self::GitSync => "synced stack",
            Self::Access => "denied consumer",
        }
    }

    /// One of them, as a count names it alone: `3 CodeStar connections`.
    pub fn lone_noun(self) -> &'static str {
        match self {
            Self::Connection => "CodeStar connection",
            Self::Host => "CodeStar host",
            Self::GitSync => "Git-synced stack",
            Self::Access => "denied consumer",
        }
    }
}

/// As the state table names it: the run result's `unread[].kind`.
impl Serialize for Kind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// One kind that could not be read in one account and region (docs/reference.md,
/// "One kind's trouble stays in its kind").
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KindUnread {
    pub account: String,
    /// `None`: every region (the connection listing is global).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    pub kind: Kind,
    pub error: String,
}

impl KindUnread {
    /// Whether `kind` in `account` and `region` is what could not be read.
    /// An unnamed account (a caller that gave none) stands for any.
    pub fn covers(&self, account: &str, region: &str, kind: Kind) -> bool {
        self.kind == kind
            && (self.account == account || self.account.is_empty())
            && self.region.as_deref().is_none_or(|r| r == region)
    }

    /// `eu-west-1`, or `eu-west-1, synced stacks` for a kind other than
    /// connections and hosts, after the account when `with_account`.
    pub fn place(&self, with_account: bool) -> String {
        let mut place = self.region.clone().unwrap_or_else(|| "every region".into());
        if with_account {
            place = format!("{} {place}", self.account);
        }
        match self.kind {
            Kind::Connection | Kind::Host => place,
            other => format!("{place}, {}s", other.noun()),
        }
    }

    /// `eu-west-1 (error)`: the place and why it was not read.
    pub fn describe(&self, with_account: bool) -> String {
        format!("{} ({})", self.place(with_account), self.error)
    }
}

/// The fields every watched kind has. Object-safe, so that a renderer can
/// hold connections and hosts in one list.
pub trait Fields {
    fn kind(&self) -> Kind;
    fn name(&self) -> &str;
    fn arn(&self) -> &str;
    /// The home region, from the ARN.
    fn region(&self) -> &str;
    fn status(&self) -> &str;
    fn provider_type(&self) -> &str;
    /// Where a person completes or repairs it.
    fn console_url(&self) -> &str;
    /// Organization-wide: the account, and its name when known.
    fn account(&self) -> Option<(&str, Option<&str>)>;
    fn lifecycle(&self) -> &Lifecycle;

    fn state(&self) -> Option<AlertState> {
        self.lifecycle().state
    }
    fn is_resolved(&self) -> bool {
        self.state() == Some(AlertState::Resolved)
    }
}

/// A connection or a host, as the lifecycle and the state table see it.
pub trait Watched: Fields + Clone + Serialize + DeserializeOwned {
    const KIND: Kind;
    fn lifecycle_mut(&mut self) -> &mut Lifecycle;
    /// Organization-wide: marks it as belonging to `account`.
    fn set_account(&mut self, account: &str, name: Option<&str>);
}

/// Implements `Fields` and `Watched` for a struct with `name` (or the field
/// named third), `arn`, `region`, `status`, `provider_type`, `console_url`,
/// `account`, `account_name` and `lifecycle` fields.
macro_rules! impl_watched {
    ($type:ty, $kind:expr) => {
        $crate::domain::watched::impl_watched!($type, $kind, name);
    };
    ($type:ty, $kind:expr, $name:ident) => {
        impl $crate::domain::watched::Fields for $type {
            fn kind(&self) -> $crate::domain::watched::Kind {
                $kind
            }
            fn name(&self) -> &str {
                &self.$name
            }
            fn arn(&self) -> &str {
                &self.arn
            }
            fn region(&self) -> &str {
                &self.region
            }
            fn status(&self) -> &str {
                &self.status
            }
            fn provider_type(&self) -> &str {
                &self.provider_type
            }
            fn console_url(&self) -> &str {
                &self.console_url
            }
            fn account(&self) -> Option<(&str, Option<&str>)> {
                Some((self.account.as_deref()?, self.account_name.as_deref()))
            }
            fn lifecycle(&self) -> &$crate::domain::watched::Lifecycle {
                &self.lifecycle
            }
        }

        impl $crate::domain::watched::Watched for $type {
            const KIND: $crate::domain::watched::Kind = $kind;
            fn lifecycle_mut(&mut self) -> &mut $crate::domain::watched::Lifecycle {
                &mut self.lifecycle
            }
            fn set_account(&mut self, account: &str, name: Option<&str>) {
                self.account = Some(account.to_string());
                self.account_name = name.map(str::to_string);
            }
        }
    };
}
pub(crate) use impl_watched;

/// The tag key that silences a stuck connection, host or synced stack, unless `IGNORE_TAG` names another.
pub const DEFAULT_IGNORE_TAG: &str = "connection-watch:ignore";

/// Carries the ignore tag with the value `true` (any case).
pub fn is_ignored(tags: &Tags, ignore_tag: &str) -> bool {
    tags.get(ignore_tag)
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ignore_tag_needs_the_value_true() {
        let tags = |v: &str| Tags::from([("connection-watch:ignore".to_string(), v.to_string())]);
        assert!(is_ignored(&tags("true"), "connection-watch:ignore"));
        assert!(is_ignored(&tags(" TRUE "), "connection-watch:ignore"));
        assert!(!is_ignored(&tags("false"), "connection-watch:ignore"));
        assert!(!is_ignored(&tags(""), "connection-watch:ignore"));
        assert!(!is_ignored(&tags("true"), "other-tag"));
        assert!(!is_ignored(&Tags::new(), "connection-watch:ignore"));
    }
}
