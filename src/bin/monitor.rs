use connection_watch::aws::sdk::sdk_config;
use connection_watch::monitor::config::MonitorConfig;
use connection_watch::monitor::look::look_once;
use connection_watch::monitor::{Adapters, Monitor};
use connection_watch::runtime::deadline::time_left;
use lambda_runtime::{service_fn, tracing, Error, LambdaEvent};
use serde_json::Value;

// One thread: the work is waiting on the network, and at 128 MB Lambda gives
// a fraction of a vCPU, where cross-thread wake-ups cost more than they save
// (the benchmark measured 36 ms CPU per 17-region run against 63 ms).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    // Lambda always sets AWS_LAMBDA_RUNTIME_API; without it, this is a
    // person's look before deploying.
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_none() {
        connection_watch::runtime::logging::init_to_stderr();
        std::process::exit(look_once().await)
    }
    connection_watch::runtime::logging::init();
    // Said once, naming the variable; the process then ends as Lambda's
    // Runtime.ExitError (returning the error would print it again, as Debug).
    let config = MonitorConfig::from_env().unwrap_or_else(|e| {
        tracing::error!("configuration: {e}");
        std::process::exit(2)
    });
    let sdk = sdk_config(None).await;
    let adapters = Adapters::from_sdk(&sdk, &config);
    let monitor = &Monitor::new(config, adapters);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let remaining = time_left(event.context.deadline);
        monitor
            .handle(
                &event.payload,
                &event.context.invoked_function_arn,
                remaining,
            )
            .await
    }))
    .await
}
