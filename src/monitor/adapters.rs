//! The monitor's AWS adapters, wired in this one place: built once at
//! start-up over one SDK configuration, or from mocks in tests.

use crate::aws::codestar::CodestarClients;
use crate::aws::consumers::{ConsumerClients, ConsumerConfigs};
use crate::aws::events::EventPublisher;
use crate::aws::organization::Accounts;
use crate::aws::sns::AlertPublisher;
use crate::aws::stacks::StackClients;
use crate::aws::state::StateTable;
use crate::domain::account::AccountScope;
use crate::monitor::config::MonitorConfig;
use aws_config::SdkConfig;

#[derive(Clone, Debug)]
pub struct Adapters {
    pub codestar: CodestarClients,
    /// `None` with `GIT_SYNC=false`: CloudFormation, for stuck stacks' tags.
    pub stacks: Option<StackClients>,
    /// `None` in a dry-run configuration without a topic.
    pub publisher: Option<AlertPublisher>,
    /// `None` with `USED_BY=none`: what connections break is not looked up.
    pub consumers: Option<ConsumerClients>,
    /// `None` without `EVENT_BUS`: no events.
    pub events: Option<EventPublisher>,
    /// `None`: stateless, every run alerts everything stuck.
    pub state: Option<StateTable>,
    /// Organization-wide (`ACCOUNTS` set): discovery and each account's clients.
    pub accounts: Option<Accounts>,
}

impl Adapters {
    /// The adapters `config` asks for, over one SDK configuration: one HTTP
    /// client for every service and region.
    pub fn from_sdk(sdk: &SdkConfig, config: &MonitorConfig) -> Self {
        Self {
            codestar: CodestarClients::new(sdk.into()),
            stacks: config.git_sync.then(|| StackClients::new(sdk.into())),
            publisher: config
                .topic_arn
                .clone()
                .map(|topic| AlertPublisher::new(aws_sdk_sns::Client::new(sdk), topic)),
            consumers: config.used_by.any().then(|| {
                ConsumerClients::new(ConsumerConfigs {
                    pipelines: sdk.into(),
                    projects: sdk.into(),
                    codestar: sdk.into(),
                    catalog: sdk.into(),
                    account: sdk.into(),
                    iam: sdk.into(),
                })
            }),
            events: config
                .event_bus
                .clone()
                .map(|bus| EventPublisher::new(aws_sdk_eventbridge::Client::new(sdk), bus)),
            state: config
                .state_table
                .clone()
                .map(|table| StateTable::new(aws_sdk_dynamodb::Client::new(sdk), table)),
            accounts: (config.accounts != AccountScope::Own).then(|| {
                Accounts::new(
                    aws_sdk_organizations::Client::new(sdk),
                    aws_sdk_sts::Client::new(sdk),
                    sdk.into(),
                    config.git_sync.then(|| sdk.into()),
                )
            }),
        }
    }
}
