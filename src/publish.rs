//! Publishes rendered alerts to the SNS topic.

use crate::alert::AlertMessage;
use aws_sdk_sns::error::DisplayErrorContext;
use aws_sdk_sns::types::MessageAttributeValue;
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

    /// Publishes one alert and returns SNS's message id.
    pub async fn publish(&self, alert: &AlertMessage) -> Result<String, PublishError> {
        let error = |message: String| PublishError {
            topic_arn: self.topic_arn.clone(),
            message,
        };
        let string_array = |items: &[String]| {
            MessageAttributeValue::builder()
                .data_type("String.Array")
                .string_value(serde_json::to_string(items).unwrap_or_default())
                .build()
        };
        let count = MessageAttributeValue::builder()
            .data_type("Number")
            .string_value(alert.count.to_string())
            .build();
        let out = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(&alert.subject)
            .message(&alert.message)
            .message_structure("json")
            .message_attributes(
                "statuses",
                string_array(&alert.statuses).map_err(|e| error(e.to_string()))?,
            )
            .message_attributes(
                "regions",
                string_array(&alert.regions).map_err(|e| error(e.to_string()))?,
            )
            .message_attributes("count", count.map_err(|e| error(e.to_string()))?)
            .send()
            .await
            .map_err(|e| error(DisplayErrorContext(&e).to_string()))?;
        Ok(out.message_id().unwrap_or_default().to_string())
    }
}
