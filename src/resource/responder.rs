//! Sends the one response a CloudFormation request gets: a PUT of JSON to the
//! presigned `ResponseURL`, retried on network errors and 5xx, within the
//! time left, and only to where CloudFormation's URLs point.

use crate::domain::arn::partition_of;
use aws_lambda_events::event::cloudformation::CloudFormationCustomResourceResponse as Response;
use reqwest::Url;
use serde_json::Value;
use std::time::Duration;
use thiserror::Error;
use tokio::time::Instant;

/// The longest one attempt may take, when the deadline allows it.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// An attempt with less time than this left is not started.
const MIN_ATTEMPT: Duration = Duration::from_millis(100);

/// CloudFormation rejects larger response bodies.
pub const MAX_BODY_BYTES: usize = 4096;

#[derive(Debug, Error)]
pub enum RespondError {
    #[error("ResponseURL {url} answered {status}: {body}")]
    Rejected {
        url: String,
        status: u16,
        body: String,
    },
    #[error("ResponseURL refused: {0}")]
    Refused(String),
    #[error("ResponseURL {url} failed after {attempts} attempts: {last}")]
    GaveUp {
        url: String,
        attempts: u32,
        last: String,
    },
}

/// Where a `ResponseURL` may point. CloudFormation hands out presigned S3
/// URLs: `https` on an S3 host of the function's partition. The S3 endpoint
/// the SDK is configured with (`AWS_ENDPOINT_URL_S3`, else
/// `AWS_ENDPOINT_URL`) is accepted too, as it would be for any S3 call; the
/// local tests point it at moto. Anything else is refused unanswered, so an
/// event cannot make the function send requests where it likes.
#[derive(Clone, Debug, Default)]
pub struct ResponseUrlPolicy {
    /// `amazonaws.com`, or `amazonaws.com.cn` in the China partition.
    domain: String,
    endpoint: Option<Url>,
}

impl ResponseUrlPolicy {
    pub fn new(region: &str, endpoint: Option<&str>) -> Self {
        let domain = match partition_of(region) {
            "aws-cn" => "amazonaws.com.cn",
            _ => "amazonaws.com",
        };
        Self {
            domain: domain.into(),
            endpoint: endpoint.and_then(|e| Url::parse(e).ok()),
        }
    }

    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let endpoint = var("AWS_ENDPOINT_URL_S3").or_else(|| var("AWS_ENDPOINT_URL"));
        Self::new(&var("AWS_REGION").unwrap_or_default(), endpoint.as_deref())
    }

    /// Why `url` is refused, if it is.
    pub fn check(&self, url: &str) -> Result<(), String> {
        let parsed = Url::parse(url).map_err(|e| format!("{:?} is not a URL: {e}", redact(url)))?;
        if let Some(endpoint) = &self.endpoint {
            if parsed.origin() == endpoint.origin() {
                return Ok(());
            }
        }
        let host = parsed.host_str().unwrap_or_default().to_ascii_lowercase();
        let s3_host = host
            .strip_suffix(&self.domain)
            .and_then(|rest| rest.strip_suffix('.'))
            .is_some_and(|rest| rest.split('.').any(|l| l == "s3" || l.starts_with("s3-")));
        if parsed.scheme() == "https" && s3_host && parsed.port().is_none() {
            Ok(())
        } else {
            Err(format!(
                "{} is not an https URL on an S3 host of {} nor the configured S3 endpoint",
                redact(url),
                self.domain
            ))
        }
    }
}

/// The URL without its query string, which is a presigned credential.
pub fn redact(url: &str) -> &str {
    url.split_once('?').map_or(url, |(base, _)| base)
}

/// The JSON body, with `Reason` cut (never a required field dropped) so the
/// whole stays under CloudFormation's limit.
pub fn body(response: &Response) -> Vec<u8> {
    let full = to_json(response);
    if full.len() <= MAX_BODY_BYTES {
        return full;
    }
    let mut trimmed = response.clone();
    let reason = trimmed.reason.take().unwrap_or_default();
    let overflow = full.len() - MAX_BODY_BYTES;
    // Escaping can make a character cost up to six bytes in JSON.
    let mut keep = reason.len().saturating_sub(overflow + 16);
    loop {
        while !reason.is_char_boundary(keep) {
            keep -= 1;
        }
        trimmed.reason = Some(format!("{}... (truncated)", &reason[..keep]));
        let candidate = to_json(&trimmed);
        if candidate.len() <= MAX_BODY_BYTES || keep == 0 {
            return candidate;
        }
        keep = keep.saturating_sub((candidate.len() - MAX_BODY_BYTES).max(1));
    }
}

/// A success carries no `Reason` at all rather than a null one.
fn to_json(response: &Response) -> Vec<u8> {
    let mut value = serde_json::to_value(response).expect("the response is plain data");
    if let Some(fields) = value.as_object_mut() {
        if fields.get("Reason").is_some_and(Value::is_null) {
            fields.remove("Reason");
        }
    }
    serde_json::to_vec(&value).expect("the response is plain data")
}

#[derive(Clone, Debug)]
pub struct Responder {
    http: reqwest::Client,
    attempts: u32,
    first_backoff: Duration,
    policy: ResponseUrlPolicy,
}

impl Responder {
    pub fn new(attempts: u32, first_backoff: Duration, policy: ResponseUrlPolicy) -> Self {
        let http = reqwest::Client::builder()
            .build()
            .expect("a plain HTTPS client builds");
        Self {
            http,
            attempts: attempts.max(1),
            first_backoff,
            policy,
        }
    }

    /// Five attempts from 200 ms, to the URLs `policy` allows.
    pub fn with_policy(policy: ResponseUrlPolicy) -> Self {
        Self::new(5, Duration::from_millis(200), policy)
    }

    /// Why a `ResponseURL` will not be answered, if it will not.
    pub fn check(&self, url: &str) -> Result<(), String> {
        self.policy.check(url)
    }

    /// PUTs the response, retrying until `deadline`: each attempt gets at
    /// most the time left, and none starts when too little is left.
    pub async fn send(
        &self,
        url: &str,
        response: &Response,
        deadline: Instant,
    ) -> Result<(), RespondError> {
        self.check(url).map_err(RespondError::Refused)?;
        let body = body(response);
        let redacted = redact(url).to_string();
        let mut backoff = self.first_backoff;
        let mut last = String::new();
        let mut attempts = 0;
        for attempt in 1..=self.attempts {
            let left = deadline.saturating_duration_since(Instant::now());
            if left < MIN_ATTEMPT {
                last = format!("{last} (the deadline left no time for another attempt)");
                break;
            }
            attempts = attempt;
            // S3 presigned the URL without a content type; sending one breaks the signature.
            let result = self
                .http
                .put(url)
                .header(reqwest::header::CONTENT_TYPE, "")
                .timeout(left.min(ATTEMPT_TIMEOUT))
                .body(body.clone())
                .send()
                .await;
            match result {
                Ok(r) if r.status().is_success() => {
                    tracing::info!(url = %redacted, attempt, status = ?response.status, "response sent");
                    return Ok(());
                }
                Ok(r) if r.status().is_server_error() => last = format!("HTTP {}", r.status()),
                Ok(r) => {
                    let status = r.status().as_u16();
                    let body = r
                        .text()
                        .await
                        .unwrap_or_default()
                        .chars()
                        .take(500)
                        .collect();
                    return Err(RespondError::Rejected {
                        url: redacted,
                        status,
                        body,
                    });
                }
                // reqwest's error text names the URL; keep only its kind.
                Err(e) => last = describe(&e),
            }
            tracing::warn!(url = %redacted, attempt, error = %last, "response not accepted, retrying");
            if attempt < self.attempts {
                tokio::time::sleep_until((Instant::now() + backoff).min(deadline)).await;
                backoff *= 2;
            }
        }
        Err(RespondError::GaveUp {
            url: redacted,
            attempts,
            last,
        })
    }
}

fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let mut source = std::error::Error::source(e);
    let mut detail = String::new();
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    if detail.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}: {detail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lambda_events::event::cloudformation::CloudFormationCustomResourceResponseStatus as Status;

    fn response(reason: &str) -> Response {
        let mut r = Response::default();
        r.status = Status::Failed;
        r.reason = Some(reason.to_string());
        r.physical_resource_id = "failed-create:req".into();
        r.stack_id = "arn:aws:cloudformation:us-east-1:123456789012:stack/s/1".into();
        r.request_id = "req".into();
        r.logical_resource_id = "Connection".into();
        r
    }

    #[test]
    fn redact_drops_the_signature() {
        assert_eq!(
            redact("https://bucket.s3.amazonaws.com/key?X-Amz-Signature=abc&X-Amz-Credential=x"),
            "https://bucket.s3.amazonaws.com/key"
        );
        assert_eq!(redact("http://127.0.0.1:9/k"), "http://127.0.0.1:9/k");
    }

    #[test]
    fn only_s3_urls_of_the_partition_or_the_configured_endpoint_are_answered() {
        let aws = ResponseUrlPolicy::new("us-east-1", None);
        for ok in [
            "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/arn%3Aaws/x?X-Amz-Signature=a",
            "https://cloudformation-custom-resource-response-useast1.s3.us-east-1.amazonaws.com/x",
            "https://bucket.s3-us-west-2.amazonaws.com/x",
            "https://s3.dualstack.eu-west-1.amazonaws.com/bucket/x",
        ] {
            assert_eq!(aws.check(ok), Ok(()), "{ok}");
        }
        for bad in [
            "http://127.0.0.1:1/response?X-Amz-Signature=secret",
            "http://bucket.s3.amazonaws.com/x",
            "https://bucket.s3.amazonaws.com.ev.il/x",
            "https://s3.amazonaws.com:8443/x",
            "https://evil.example.com/s3.amazonaws.com",
            "https://bucket.s3.amazonaws.com.cn/x",
            "https://sqs.us-east-1.amazonaws.com/x",
            "not a url",
        ] {
            let refused = aws.check(bad).unwrap_err();
            assert!(!refused.contains("secret"), "{refused}");
        }
        let china = ResponseUrlPolicy::new("cn-north-1", None);
        assert_eq!(
            china.check("https://bucket.s3.cn-north-1.amazonaws.com.cn/x"),
            Ok(())
        );
        let local = ResponseUrlPolicy::new("us-east-1", Some("http://127.0.0.1:4566"));
        assert_eq!(
            local.check("http://127.0.0.1:4566/bucket/key?Signature=x"),
            Ok(())
        );
        assert!(local.check("http://127.0.0.1:4567/bucket/key").is_err());
    }

    #[test]
    fn success_has_no_reason_field() {
        let mut r = response("");
        r.status = Status::Success;
        r.reason = None;
        let parsed: Value = serde_json::from_slice(&body(&r)).unwrap();
        assert!(parsed.get("Reason").is_none(), "{parsed}");
        assert_eq!(parsed["Status"], "SUCCESS");
    }

    #[test]
    fn short_body_is_untouched() {
        let r = response("no such host");
        let parsed: Response = serde_json::from_slice(&body(&r)).unwrap();
        assert_eq!(parsed, r);
    }

    #[test]
    fn long_reason_is_cut_and_every_field_stays() {
        for reason in ["x".repeat(10_000), "\"\n\u{1}é".repeat(3_000)] {
            let r = response(&reason);
            let bytes = body(&r);
            assert!(bytes.len() <= MAX_BODY_BYTES, "{}", bytes.len());
            let parsed: Response = serde_json::from_slice(&bytes).unwrap();
            assert!(parsed.reason.unwrap().ends_with("(truncated)"));
            assert_eq!(parsed.physical_resource_id, r.physical_resource_id);
            assert_eq!(parsed.stack_id, r.stack_id);
            assert_eq!(parsed.request_id, r.request_id);
            assert_eq!(parsed.logical_resource_id, r.logical_resource_id);
            assert_eq!(parsed.status, Status::Failed);
        }
    }
}
