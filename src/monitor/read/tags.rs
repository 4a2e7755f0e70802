//! Tag reads of stuck objects, started as soon as each is found, bounded
//! per region, and cut off at the run's scan deadline.

use crate::aws::codestar::{CodestarError, Connections};
use crate::aws::stacks::Stacks;
use crate::domain::git_sync::SyncedStack;
use crate::domain::watched::{is_ignored, Tags, Watched};
use crate::monitor::report::RegionFailure;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use tokio::sync::Semaphore;
use tokio::task::{Id, JoinSet};
use tokio::time::{timeout_at, Instant};

/// Tag reads in flight per region: CodeConnections' request-rate quotas are
/// per account and region, and ListTagsForResource shares them with
/// everything else.
const TAG_READS_IN_FLIGHT: usize = 8;

/// How many tag reads each region has in flight, shared by a run's listings.
#[derive(Clone, Default)]
pub struct InFlight(Arc<std::sync::Mutex<HashMap<String, Arc<Semaphore>>>>);

impl InFlight {
    fn region(&self, region: &str) -> Arc<Semaphore> {
        let mut regions = self.0.lock().unwrap_or_else(|e| e.into_inner());
        regions
            .entry(region.to_string())
            .or_insert_with(|| Arc::new(Semaphore::new(TAG_READS_IN_FLIGHT)))
            .clone()
    }
}

/// Where the tags of a `T` are read; `None`: it no longer exists. The read
/// may complete the item with what it learnt on the way (a stack's id).
pub trait TagSource<T>: Send + 'static {
    fn tags_of<'a>(
        &'a self,
        item: &'a mut T,
    ) -> impl Future<Output = Result<Option<Tags>, CodestarError>> + Send + 'a;
}

/// A connection's or host's tags: CodeConnections' ListTagsForResource.
impl<T: Watched + Sync + Send> TagSource<T> for Connections {
    fn tags_of<'a>(
        &'a self,
        item: &'a mut T,
    ) -> impl Future<Output = Result<Option<Tags>, CodestarError>> + Send + 'a {
        self.tags(item.arn())
    }
}

/// A synced stack's tags, the stack's own from CloudFormation, and its id.
impl TagSource<SyncedStack> for Stacks {
    async fn tags_of(&self, item: &mut SyncedStack) -> Result<Option<Tags>, CodestarError> {
        let described = self.describe(&item.resource_name).await?;
        if let Some(id) = described.stack_id {
            item.described(id);
        }
        Ok(Some(described.tags))
    }
}

/// Tag reads of stuck ones, started as soon as each is found.
pub struct TagReads<T> {
    in_flight: InFlight,
    reads: JoinSet<(T, Result<Option<Tags>, CodestarError>)>,
    /// The region of each read not yet finished.
    pending: HashMap<Id, String>,
}

/// What the tag reads decided.
pub struct Tagged<T> {
    pub stuck: Vec<T>,
    pub ignored: usize,
    pub failures: Vec<RegionFailure>,
}

impl<T: Watched> Tagged<T> {
    /// Nothing read: `region` failed with `error`.
    pub fn failed(region: &str, error: CodestarError) -> Self {
        Self {
            stuck: Vec::new(),
            ignored: 0,
            failures: vec![RegionFailure {
                region: region.to_string(),
                kind: T::KIND,
                error,
            }],
        }
    }
}

impl<T: Watched + Send + Sync + 'static> TagReads<T> {
    pub fn new(in_flight: InFlight) -> Self {
        Self {
            in_flight,
            reads: JoinSet::new(),
            pending: HashMap::new(),
        }
    }

    /// Reads `item`'s tags through `client`, its home region's.
    pub fn spawn(&mut self, mut item: T, client: impl TagSource<T>) {
        let region = item.region().to_string();
        let in_flight = self.in_flight.region(&region);
        let handle = self.reads.spawn(async move {
            let _permit = in_flight.acquire_owned().await;
            let tags = client.tags_of(&mut item).await;
            (item, tags)
        });
        self.pending.insert(handle.id(), region);
    }

    /// Waits for the reads until `deadline`; a read not done by then fails
    /// its region (dropping the set cancels it).
    pub async fn finish(mut self, ignore_tag: &str, deadline: Instant) -> Tagged<T> {
        let mut tagged = Tagged {
            stuck: Vec::new(),
            ignored: 0,
            failures: Vec::new(),
        };
        loop {
            let read = match timeout_at(deadline, self.reads.join_next_with_id()).await {
                Ok(Some(read)) => read,
                Ok(None) => break,
                Err(_) => {
                    let mut late: Vec<String> = self.pending.into_values().collect();
                    late.sort();
                    late.dedup();
                    for region in late {
                        let error = CodestarError::TimedOut {
                            operation: "ListTagsForResource",
                        };
                        tagged.failures.push(RegionFailure {
                            region,
                            kind: T::KIND,
                            error,
                        });
                    }
                    break;
                }
            };
            let (id, (item, tags)) =
                read.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
            self.pending.remove(&id);
            match tags {
                // Deleted between the listing and the tag read: nothing to alert.
                Ok(None) => {}
                Ok(Some(tags)) if is_ignored(&tags, ignore_tag) => tagged.ignored += 1,
                Ok(Some(_)) => tagged.stuck.push(item),
                Err(error) => tagged.failures.push(RegionFailure {
                    region: item.region().to_string(),
                    kind: T::KIND,
                    error,
                }),
            }
        }
        tagged
    }
}
