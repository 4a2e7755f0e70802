//! Service Catalog products whose versions are synced from a repository
//! through a connection.

use super::{ConsumerClients, ConsumerError, IN_FLIGHT};
use crate::aws::paging::walk;
use crate::domain::consumer::{brief, Consumer, ConsumerKind, LastSync, Source, Uses};
use aws_sdk_servicecatalog::primitives::DateTimeFormat;
use aws_sdk_servicecatalog::types::{ProductSource, ProductViewDetail};
use futures_util::stream::{self, StreamExt, TryStreamExt};

/// SearchProductsAsAdmin's largest page (API reference, `PageSize`: 0 to 20).
const PRODUCTS_PER_PAGE: i32 = 20;
/// A product's name may run to 8,191 characters (API reference,
/// `ProductViewName`) and its sync message has no bound: each is cut to a
/// CodeBuild project name's longest, so that 50 listed products with both
/// still fit one SNS message (`src/render/message.rs` tests it).
const MAX_PRODUCT_TEXT_CHARS: usize = 150;

impl ConsumerClients {
    /// Every Service Catalog product of `region` whose source is a
    /// connection: `SearchProductsAsAdmin` (`ProductSource` `ACCOUNT`, the
    /// products this account created: an imported product syncs in the
    /// account that owns it, and is found there), then
    /// `DescribeProductAsAdmin` of each, `IN_FLIGHT` at a time.
    pub async fn catalog_products(&self, region: &str) -> Result<Vec<Uses>, ConsumerError> {
        let client = self.in_region(region).catalog;
        let mut ids = Vec::new();
        let fetch = |token: Option<String>| {
            let request = client
                .search_products_as_admin()
                .product_source(ProductSource::Account)
                .page_size(PRODUCTS_PER_PAGE)
                .set_page_token(token);
            async move {
                let page = request
                    .send()
                    .await
                    .map_err(|e| ConsumerError::service("SearchProductsAsAdmin", region, e))?;
                let ids = page
                    .product_view_details()
                    .iter()
                    .filter_map(|d| d.product_view_summary()?.product_id().map(str::to_string))
                    .collect();
                Ok::<_, ConsumerError>((ids, page.next_page_token().map(str::to_string)))
            }
        };
        walk::<_, ConsumerError, _, _>("SearchProductsAsAdmin", fetch, |page| ids.extend(page))
            .await?;
        let described: Vec<Option<ProductViewDetail>> = stream::iter(ids)
            .map(|id| {
                let request = client.describe_product_as_admin().id(id);
                async move {
                    match request.send().await {
                        Ok(out) => Ok(out.product_view_detail),
                        // Deleted since the search: it uses nothing now.
                        Err(e)
                            if e.as_service_error()
                                .is_some_and(|e| e.is_resource_not_found_exception()) =>
                        {
                            Ok(None)
                        }
                        Err(e) => Err(ConsumerError::service("DescribeProductAsAdmin", region, e)),
                    }
                }
            })
            .buffer_unordered(IN_FLIGHT)
            .try_collect()
            .await?;
        Ok(described.iter().flatten().filter_map(synced).collect())
    }
}

/// The product as a consumer of the connection its `SourceConnection`
/// names (`CODESTAR`, the only type: API reference, `SourceConnection`),
/// with its latest sync; `None` for a product not synced from a repository.
fn synced(detail: &ProductViewDetail) -> Option<Uses> {
    let source = detail.source_connection()?;
    let connection = source
        .connection_parameters()?
        .code_star()?
        .connection_arn();
    let mut consumer =
        Consumer::from_arn(ConsumerKind::ServiceCatalogProduct, detail.product_arn()?)?;
    if let Some(name) = detail.product_view_summary().and_then(|s| s.name()) {
        consumer.name = brief(name, MAX_PRODUCT_TEXT_CHARS);
    }
    consumer.last_sync = source.last_sync().and_then(|sync| {
        Some(LastSync {
            status: sync.last_sync_status()?.as_str().to_string(),
            at: sync
                .last_sync_time()
                .and_then(|at| at.fmt(DateTimeFormat::DateTime).ok()),
            message: sync
                .last_sync_status_message()
                .map(|m| brief(m, MAX_PRODUCT_TEXT_CHARS)),
        })
    });
    Some(Uses {
        consumer,
        sources: vec![Source {
            connection: connection.to_string(),
            stage: None,
            action: None,
            via: None,
            grant: None,
            full_clone_to: None,
        }],
        service_role: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_servicecatalog::types::{
        CodeStarParameters, LastSync as SdkLastSync, LastSyncStatus, ProductViewSummary,
        SourceConnectionDetail, SourceConnectionParameters,
    };

    fn product(name: &str, message: &str) -> ProductViewDetail {
        let code_star = CodeStarParameters::builder()
            .connection_arn("arn:aws:codestar-connections:us-east-1:123456789012:connection/c")
            .repository("org/catalog")
            .branch("main")
            .artifact_path("product.yaml")
            .build()
            .unwrap();
        ProductViewDetail::builder()
            .product_arn("arn:aws:catalog:us-east-1:123456789012:product/prod-1")
            .product_view_summary(ProductViewSummary::builder().name(name).build())
            .source_connection(
                SourceConnectionDetail::builder()
                    .connection_parameters(
                        SourceConnectionParameters::builder()
                            .code_star(code_star)
                            .build(),
                    )
                    .last_sync(
                        SdkLastSync::builder()
                            .last_sync_status(LastSyncStatus::Failed)
                            .last_sync_status_message(message)
                            .build(),
                    )
                    .build(),
            )
            .build()
    }

    /// A name and a message are kept whole up to 150 characters, and cut
    /// (marked `...`) past it.
    #[test]
    fn a_products_name_and_message_are_cut_past_150_characters() {
        for (chars, kept) in [(149, 149), (150, 150), (151, 153)] {
            let text = "é".repeat(chars);
            let uses = synced(&product(&text, &text)).unwrap();
            let sync = uses.consumer.last_sync.unwrap();
            assert_eq!(uses.consumer.name.chars().count(), kept, "{chars}");
            assert_eq!(sync.message.unwrap().chars().count(), kept, "{chars}");
        }
    }
}
