//! The regions an account has enabled, where a connection is usable.

use super::{ConsumerClients, ConsumerError, RegionList};
use crate::aws::paging::walk;
use aws_sdk_account::types::RegionOptStatus;

/// ListRegions gives at most 50 a page (API reference, `MaxResults`).
const REGIONS_PER_PAGE: i32 = 50;
/// How long a warm process trusts the account's region list: enabling a
/// region takes minutes to hours (Account Management guide, "Enable or
/// disable a Region"), so an hour-old list misses little, and a quiet hour
/// costs no call.
pub const REGION_LIST_TTL: std::time::Duration = std::time::Duration::from_secs(3600);

impl ConsumerClients {
    /// The regions enabled for this account (`ENABLED` or
    /// `ENABLED_BY_DEFAULT`; an opted-out or opting-in region is never
    /// called): `account:ListRegions`, kept for `REGION_LIST_TTL`.
    pub async fn enabled_regions(&self) -> Result<Vec<String>, ConsumerError> {
        if let Some((read, regions)) = self.lock_regions().as_ref() {
            if read.elapsed() < REGION_LIST_TTL {
                return Ok(regions.clone());
            }
        }
        let client = aws_sdk_account::Client::from_conf(self.configs.account.clone());
        let mut regions = Vec::new();
        let fetch = |token: Option<String>| {
            let request = client
                .list_regions()
                .max_results(REGIONS_PER_PAGE)
                .region_opt_status_contains(RegionOptStatus::Enabled)
                .region_opt_status_contains(RegionOptStatus::EnabledByDefault)
                .set_next_token(token);
            async move {
                let page = request
                    .send()
                    .await
                    .map_err(|e| ConsumerError::service("ListRegions", "account", e))?;
                let names: Vec<String> = page
                    .regions()
                    .iter()
                    .filter(|r| {
                        matches!(
                            r.region_opt_status(),
                            Some(RegionOptStatus::Enabled | RegionOptStatus::EnabledByDefault)
                        )
                    })
                    .filter_map(|r| r.region_name().map(str::to_string))
                    .collect();
                Ok::<_, ConsumerError>((names, page.next_token().map(str::to_string)))
            }
        };
        walk::<_, ConsumerError, _, _>("ListRegions", fetch, |page| regions.extend(page)).await?;
        regions.sort();
        regions.dedup();
        *self.lock_regions() = Some((std::time::Instant::now(), regions.clone()));
        Ok(regions)
    }

    fn lock_regions(&self) -> std::sync::MutexGuard<'_, RegionList> {
        self.cache.regions.lock().unwrap_or_else(|e| e.into_inner())
    }
}
