use connection_watch::aws::codestar::CodestarClients;
use connection_watch::aws::sdk::sdk_config;
use connection_watch::resource::responder::{Responder, ResponseUrlPolicy};
use connection_watch::resource::ConnectionResource;
use connection_watch::runtime::deadline::time_left;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

// One thread: the work is waiting on the network, and at 128 MB Lambda gives
// a fraction of a vCPU, where cross-thread wake-ups cost more than they save
// (the benchmark measured 36 ms CPU per 17-region run against 63 ms).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    connection_watch::runtime::logging::init();
    let sdk = sdk_config(None).await;
    let resource = ConnectionResource::new(
        CodestarClients::new((&sdk).into()),
        Responder::with_policy(ResponseUrlPolicy::from_env()),
    );
    let resource = &resource;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let remaining = time_left(event.context.deadline);
        resource.handle(event.payload, remaining).await
    }))
    .await
}
