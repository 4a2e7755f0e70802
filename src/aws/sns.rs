//! Publishes rendered alerts to the SNS topic.

use crate::render::message::AlertMessage;
use aws_sdk_sns::error::DisplayErrorContext;
use aws_sdk_sns::Client;
use thiserror::Error;

#[derive(Debug, Error)]
#[error("Publish to {topic_arn} failed: {message}")]
pub struct PublishError {
    pub topic_arn: String,
    pub message: String,
}

#[derive(Clone, Debug)]
pub struct AlertPublisher {
    client: Client,
    topic_arn: String,
}

impl AlertPublisher {
    pub fn new(client: Client, topic_arn: String) -> Self {
        Self { client, topic_arn }
    }

    pub fn topic_arn(&self) -> &str {
        &self.topic_arn
    }

    /// A publish that did not finish before the run's deadline.
    pub fn timed_out(&self) -> PublishError {
        PublishError {
            topic_arn: self.topic_arn.clone(),
            message: "no answer before the run's deadline".into(),
        }
    }

    /// Publishes one alert and returns SNS's message id.
    pub async fn publish(&self, alert: &AlertMessage) -> Result<String, PublishError> {
        let error = |message: String| PublishError {
            topic_arn: self.topic_arn.clone(),
            message,
        };
        let out = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(&alert.subject)
            .message(&alert.message)
            .message_structure("json")
            .send()
            .await
            .map_err(|e| error(DisplayErrorContext(&e).to_string()))?;
        Ok(out.message_id().unwrap_or_default().to_string())
    }
}
