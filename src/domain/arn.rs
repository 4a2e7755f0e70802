//! ARN, partition, region and account rules, and console links: shared by
//! both Lambdas, connections and hosts alike. Pure.

/// The parts of a connection or host ARN, both `codestar-connections` and the
/// post-2024 `codeconnections` service names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceArn<'a> {
    pub partition: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub kind: &'a str,
    pub id: &'a str,
}

impl<'a> ResourceArn<'a> {
    pub fn parse(arn: &'a str) -> Option<Self> {
        let mut parts = arn.splitn(6, ':');
        let (prefix, partition, service, region, account, resource) = (
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
        );
        let (kind, id) = resource.split_once('/')?;
        let valid = prefix == "arn"
            && partition.starts_with("aws")
            && matches!(service, "codestar-connections" | "codeconnections")
            && is_region(region)
            && account.len() == 12
            && account.bytes().all(|b| b.is_ascii_digit())
            && matches!(kind, "connection" | "host")
            && !id.is_empty()
            && !id.contains('/');
        valid.then_some(Self {
            partition,
            region,
            account,
            kind,
            id,
        })
    }

    pub fn parse_connection(arn: &'a str) -> Option<Self> {
        Self::parse(arn).filter(|a| a.kind == "connection")
    }

    pub fn parse_host(arn: &'a str) -> Option<Self> {
        Self::parse(arn).filter(|a| a.kind == "host")
    }

    /// The console page where a person completes the handshake of a PENDING
    /// connection, updates an ERROR one, or sets up or repairs a host.
    pub fn console_url(&self) -> String {
        format!(
            "https://{domain}/codesuite/settings/{account}/{region}/{kind}s/{id}?region={region}",
            domain = console_domain(self.partition, self.region),
            account = self.account,
            region = self.region,
            kind = self.kind,
            id = self.id,
        )
    }
}

/// A connection's identity whichever service prefix its ARN carries: since
/// the rename to AWS CodeConnections (2024) a connection may be named with
/// `arn:aws:codestar-connections:` or `arn:aws:codeconnections:` (Developer
/// Tools Console User Guide, "Service prefix rename"), and a repository link
/// keeps the name it was made with, which need not be the listing's.
pub fn connection_key(arn: &str) -> Option<String> {
    let a = ResourceArn::parse_connection(arn)?;
    Some(format!(
        "{}:{}:{}:{}",
        a.partition, a.region, a.account, a.id
    ))
}

pub fn console_domain(partition: &str, region: &str) -> String {
    match partition {
        "aws-cn" => "console.amazonaws.cn".to_string(),
        "aws-us-gov" => "console.amazonaws-us-gov.com".to_string(),
        _ => format!("{region}.console.aws.amazon.com"),
    }
}

/// The account any ARN names (its fifth field), when it is 12 digits: a
/// connection's, a host's or a synced stack's alike.
pub fn account_in(arn: &str) -> Option<&str> {
    arn.split(':')
        .nth(4)
        .filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
}

/// A CloudFormation stack's page in the console (its Git sync tab is one
/// click away: "Git sync status dashboard", CloudFormation User Guide).
pub fn stack_console_url(partition: &str, region: &str, stack: &str) -> String {
    let domain = console_domain(partition, region);
    // A stack id is an ARN: its `:` and `/` are encoded inside the fragment's query.
    let stack = stack.replace(':', "%3A").replace('/', "%2F");
    format!(
        "https://{domain}/cloudformation/home?region={region}#/stacks/stackinfo?stackId={stack}"
    )
}

/// The console's connections and hosts page of a region, for an object
/// whose ARN does not parse.
pub fn settings_url(region: &str) -> String {
    format!(
        "https://{region}.console.aws.amazon.com/codesuite/settings/connections?region={region}"
    )
}

/// `aws`, `aws-cn` or `aws-us-gov`, from a region name.
pub fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// `us-east-1`, `ap-southeast-4`, `us-gov-west-1`, `eu-isoe-west-1`...
pub fn is_region(region: &str) -> bool {
    let mut parts = region.split('-');
    let Some(first) = parts.next() else {
        return false;
    };
    let rest: Vec<&str> = parts.collect();
    let Some((last, middle)) = rest.split_last() else {
        return false;
    };
    first.len() == 2
        && first.bytes().all(|b| b.is_ascii_lowercase())
        && !middle.is_empty()
        && middle
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && !last.is_empty()
        && last.bytes().all(|b| b.is_ascii_digit())
}

/// A 12-digit account id.
pub fn parse_account(account: &str) -> Result<String, String> {
    if account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) {
        Ok(account.to_string())
    } else {
        Err(format!("{account:?} is not a 12-digit account id"))
    }
}

pub fn parse_region(region: &str) -> Result<String, String> {
    if is_region(region) {
        Ok(region.to_string())
    } else {
        Err(format!("{region:?} is not a region name like us-east-1"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_service_prefixes() {
        let old = "arn:aws:codestar-connections:us-east-1:123456789012:connection/abc-123";
        let new = "arn:aws:codeconnections:eu-west-1:123456789012:connection/def-456";
        assert_eq!(ResourceArn::parse_connection(old).unwrap().id, "abc-123");
        assert_eq!(
            ResourceArn::parse_connection(new).unwrap().region,
            "eu-west-1"
        );
    }

    #[test]
    fn rejects_what_is_not_a_connection_arn() {
        for arn in [
            "",
            "failed-create:1234",
            "arn:aws:sns:us-east-1:123456789012:connection/x",
            "arn:aws:codestar-connections:us-east-1:12345:connection/x",
            "arn:aws:codestar-connections:us-east-1:123456789012:connection/",
            "arn:aws:codestar-connections:us-east-1:123456789012:host/x",
            "arn:aws:codestar-connections:nowhere:123456789012:connection/x",
        ] {
            assert!(ResourceArn::parse_connection(arn).is_none(), "{arn}");
        }
        assert!(ResourceArn::parse_host(
            "arn:aws:codestar-connections:us-east-1:123456789012:host/ghe-1a2b3c"
        )
        .is_some());
    }

    #[test]
    fn console_url_points_at_the_connection_in_its_region() {
        let arn = "arn:aws:codestar-connections:eu-central-1:123456789012:connection/abc-123";
        assert_eq!(
            ResourceArn::parse(arn).unwrap().console_url(),
            "https://eu-central-1.console.aws.amazon.com/codesuite/settings/123456789012/eu-central-1/connections/abc-123?region=eu-central-1"
        );
        let cn = "arn:aws-cn:codeconnections:cn-north-1:123456789012:connection/abc";
        assert!(ResourceArn::parse(cn)
            .unwrap()
            .console_url()
            .starts_with("https://console.amazonaws.cn/"));
    }

    #[test]
    fn regions() {
        for ok in [
            "us-east-1",
            "ap-southeast-4",
            "us-gov-west-1",
            "eu-isoe-west-1",
        ] {
            assert!(is_region(ok), "{ok}");
        }
        for bad in [
            "",
            "us",
            "us-east",
            "US-EAST-1",
            "us--1",
            "us-east-1a",
            " us-east-1",
        ] {
            assert!(!is_region(bad), "{bad}");
        }
    }
}
