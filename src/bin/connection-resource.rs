use connection_watch::clients::sdk_config;
use connection_watch::codestar::CodestarClients;
use connection_watch::resource::responder::Responder;
use connection_watch::resource::ConnectionResource;
use lambda_runtime::{service_fn, tracing, Error, LambdaEvent};
use serde_json::Value;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

// One thread: the work is waiting on the network, and at 128 MB Lambda gives
// a fraction of a vCPU, where cross-thread wake-ups cost more than they save
// (the benchmark measured 36 ms CPU per 17-region run against 63 ms).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    let sdk = sdk_config().await;
    let resource =
        ConnectionResource::new(CodestarClients::new((&sdk).into()), Responder::default());
    let resource = &resource;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let remaining = Duration::from_millis(event.context.deadline).saturating_sub(now);
        resource.handle(event.payload, remaining).await
    }))
    .await
}
