//! Walking a paged listing, whatever the service: every token is
//! remembered, so a service that cycles (A, B, A...) fails the walk
//! instead of looping.

use std::collections::HashSet;
use std::future::Future;
use thiserror::Error;

/// A walk longer than this is a service fault, not an account: 100,000
/// connections is 400 times AWS's default quota.
pub const MAX_PAGES: usize = 1000;

#[derive(Debug, Error)]
pub enum WalkError {
    #[error("{operation} returned a NextToken it had already returned ({token:?}); stopped instead of looping")]
    TokenCycle {
        operation: &'static str,
        token: String,
    },
    #[error("{operation} still had more after {MAX_PAGES} pages; stopped instead of looping")]
    TooManyPages { operation: &'static str },
}

/// Walks every page: `fetch` sends one request for a token and returns its
/// items and the next token; each page goes to `on_page` as it arrives.
pub async fn walk<T, E, F, Fut>(
    operation: &'static str,
    mut fetch: F,
    mut on_page: impl FnMut(Vec<T>),
) -> Result<(), E>
where
    E: From<WalkError>,
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<(Vec<T>, Option<String>), E>>,
{
    let mut seen = HashSet::new();
    let mut token = None;
    for _ in 0..MAX_PAGES {
        let (items, next) = fetch(token.take()).await?;
        on_page(items);
        match next.filter(|t| !t.is_empty()) {
            None => return Ok(()),
            Some(next) if !seen.insert(next.clone()) => {
                return Err(WalkError::TokenCycle {
                    operation,
                    token: next,
                }
                .into())
            }
            Some(next) => token = Some(next),
        }
    }
    Err(WalkError::TooManyPages { operation }.into())
}
