//! What a `usedBy` search covered, in words: the text and the chat say what
//! was searched, and call a connection unused only when the search was
//! complete. Pure.

use super::escape::shown;
use crate::domain::consumer::{
    ConsumerKind, Coverage, EVERY_REGION, UNREAD_ACCOUNT, UNREAD_REGION_LIST,
};

/// `pipelines, CodeBuild projects, Git-synced stacks and Service Catalog
/// products in 17 regions`.
pub fn searched(coverage: &Coverage) -> String {
    let kinds: Vec<&str> = coverage.kinds.iter().map(|k| k.plural()).collect();
    format!("{} in {}", and_list(&kinds), regions(coverage.regions))
}

/// `1 region`, `17 regions`.
pub fn regions(n: usize) -> String {
    counted(n, "region")
}

/// `n` of `noun`: `1 host`, `0 hosts`, `3 hosts` (nouns whose plural adds an s).
pub fn counted(n: usize, noun: &str) -> String {
    match n {
        1 => format!("1 {noun}"),
        n => format!("{n} {noun}s"),
    }
}

/// `no pipeline, CodeBuild project, Git-synced stack or Service Catalog product`.
pub fn none_of(coverage: &Coverage) -> String {
    let kinds: Vec<&str> = coverage.kinds.iter().map(|k| k.label()).collect();
    format!("no {}", or_list(&kinds))
}

/// What the search did not reach, each a phrase: kinds `USED_BY` leaves
/// out, regions outside `USED_BY_REGIONS`, and what could not be read.
pub fn not_searched(coverage: &Coverage) -> Vec<String> {
    let mut gaps = Vec::new();
    let left_out: Vec<&str> = coverage
        .kinds_left_out()
        .into_iter()
        .map(ConsumerKind::plural)
        .collect();
    if !left_out.is_empty() {
        gaps.push(format!("{} (not in USED_BY)", and_list(&left_out)));
    }
    let list_unread = coverage.unread.iter().any(|u| u.kind == UNREAD_REGION_LIST);
    let account_unread = coverage.unread.iter().any(|u| u.kind == UNREAD_ACCOUNT);
    if account_unread {
        gaps.push("the account (its member role could not be assumed)".into());
    } else if list_unread {
        gaps.push("the account's other enabled regions (its region list could not be read)".into());
    } else if !coverage.all_enabled_regions {
        gaps.push("regions outside USED_BY_REGIONS".into());
    }
    let unread: Vec<String> = coverage
        .unread
        .iter()
        .filter(|u| u.region != EVERY_REGION)
        .map(|u| format!("{} of {}", plural_of(&u.kind), shown(&u.region)))
        .collect();
    if !unread.is_empty() {
        gaps.push(format!("{} (could not be read)", unread.join(", ")));
    }
    gaps
}

fn plural_of(kind: &str) -> String {
    ConsumerKind::ALL
        .into_iter()
        .find(|k| k.as_str() == kind)
        .map_or_else(|| shown(kind), |k| k.plural().to_string())
}

/// `a`, `a and b`, `a, b and c`.
fn and_list(items: &[&str]) -> String {
    joined(items, "and")
}

/// `a`, `a or b`, `a, b or c`.
fn or_list(items: &[&str]) -> String {
    joined(items, "or")
}

fn joined(items: &[&str], word: &str) -> String {
    match items {
        [] => "nothing".into(),
        [one] => one.to_string(),
        [rest @ .., last] => format!("{} {word} {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::consumer::Unread;

    fn complete() -> Coverage {
        Coverage {
            kinds: ConsumerKind::ALL.to_vec(),
            regions: 17,
            all_enabled_regions: true,
            unread: Vec::new(),
        }
    }

    #[test]
    fn a_complete_search_names_what_it_searched_and_no_gap() {
        let c = complete();
        assert!(c.is_complete());
        assert_eq!(
            searched(&c),
            "pipelines, CodeBuild projects, Git-synced stacks and Service Catalog products \
             in 17 regions"
        );
        assert_eq!(
            none_of(&c),
            "no pipeline, CodeBuild project, Git-synced stack or Service Catalog product"
        );
        assert!(not_searched(&c).is_empty());
    }

    #[test]
    fn every_gap_is_named_and_makes_the_search_incomplete() {
        let kinds = Coverage {
            kinds: vec![ConsumerKind::Pipeline],
            ..complete()
        };
        assert_eq!(
            not_searched(&kinds),
            ["CodeBuild projects, Git-synced stacks and Service Catalog products (not in USED_BY)"]
        );
        // Every kind but the last is not every kind.
        let without_products = Coverage {
            kinds: ConsumerKind::ALL[..3].to_vec(),
            ..complete()
        };
        assert!(!without_products.is_complete());
        assert_eq!(
            not_searched(&without_products),
            ["Service Catalog products (not in USED_BY)"]
        );
        let listed = Coverage {
            all_enabled_regions: false,
            regions: 2,
            ..complete()
        };
        assert_eq!(not_searched(&listed), ["regions outside USED_BY_REGIONS"]);
        let unread = Coverage {
            unread: vec![Unread {
                region: "eu-west-1".into(),
                kind: "pipeline".into(),
                error: "AccessDenied".into(),
            }],
            ..complete()
        };
        assert_eq!(
            not_searched(&unread),
            ["pipelines of eu-west-1 (could not be read)"]
        );
        let account = Coverage {
            regions: 0,
            all_enabled_regions: false,
            unread: vec![Unread {
                region: EVERY_REGION.into(),
                kind: UNREAD_ACCOUNT.into(),
                error: "AccessDenied".into(),
            }],
            ..complete()
        };
        assert_eq!(
            not_searched(&account),
            ["the account (its member role could not be assumed)"]
        );
        for c in [kinds, listed, unread, account] {
            assert!(!c.is_complete(), "{c:?}");
        }
    }
}
