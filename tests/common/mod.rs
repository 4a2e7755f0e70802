//! Helpers shared by the SDK-level tests.
#![allow(dead_code)] // each test binary uses a different part

use aws_sdk_codestarconnections::types::{Connection, ConnectionStatus, ProviderType};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

pub const ACCOUNT: &str = "123456789012";

pub fn connection(region: &str, i: usize, status: &str) -> Connection {
    Connection::builder()
        .connection_name(format!("conn-{i}"))
        .connection_arn(arn(region, i))
        .connection_status(ConnectionStatus::from(status))
        .provider_type(ProviderType::Github)
        .owner_account_id(ACCOUNT)
        .build()
}

pub fn arn(region: &str, i: usize) -> String {
    format!("arn:aws:codestar-connections:{region}:{ACCOUNT}:connection/{i:08}-aaaa-4bbb-8ccc-000000000000")
}

pub fn fast_retries(
    builder: aws_sdk_codestarconnections::config::Builder,
) -> aws_sdk_codestarconnections::config::Builder {
    builder.retry_config(
        aws_sdk_codestarconnections::config::retry::RetryConfig::standard()
            .with_max_attempts(3)
            .with_initial_backoff(Duration::from_millis(1)),
    )
}

pub const THROTTLED: &str = r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#;

/// A local HTTP server standing in for CloudFormation's presigned S3 URL: it
/// answers PUTs with the given statuses in turn (200 after them) and keeps
/// the bodies it answered 200 to.
pub struct ResponseUrl {
    pub url: String,
    pub accepted: Arc<Mutex<Vec<serde_json::Value>>>,
    pub attempts: Arc<Mutex<usize>>,
}

impl ResponseUrl {
    pub async fn start(statuses: Vec<u16>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://{}/cfn-response/stack/req?X-Amz-Signature=secret",
            listener.local_addr().unwrap()
        );
        let accepted = Arc::new(Mutex::new(Vec::new()));
        let attempts = Arc::new(Mutex::new(0));
        let (acc, att) = (accepted.clone(), attempts.clone());
        tokio::spawn(async move {
            let mut statuses = statuses.into_iter();
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let body = read_request(&mut socket).await;
                *att.lock().unwrap() += 1;
                let status = statuses.next().unwrap_or(200);
                if status == 200 {
                    acc.lock()
                        .unwrap()
                        .push(serde_json::from_slice(&body).unwrap());
                }
                let reply = format!(
                    "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                );
                let _ = socket.write_all(reply.as_bytes()).await;
            }
        });
        Self {
            url,
            accepted,
            attempts,
        }
    }

    pub fn only_response(&self) -> serde_json::Value {
        let accepted = self.accepted.lock().unwrap();
        assert_eq!(accepted.len(), 1, "exactly one response: {accepted:?}");
        accepted[0].clone()
    }
}

async fn read_request(socket: &mut tokio::net::TcpStream) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = socket.read(&mut chunk).await.unwrap();
        if n == 0 {
            return Vec::new();
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map_or(0, |v| v.trim().parse().unwrap());
            while buf.len() < end + 4 + length {
                let n = socket.read(&mut chunk).await.unwrap();
                buf.extend_from_slice(&chunk[..n]);
            }
            return buf[end + 4..end + 4 + length].to_vec();
        }
    }
}

/// Compares `actual` with the golden file `tests/golden/<name>`; with
/// `UPDATE_GOLDEN=1` writes it instead. What users read is pinned byte for byte.
pub fn assert_golden(name: &str, actual: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_GOLDEN=1 writes it)", path.display()));
    assert!(
        expected == actual,
        "{name} differs from its golden file {} (UPDATE_GOLDEN=1 rewrites it after review)\n--- expected\n{expected}\n--- actual\n{actual}",
        path.display()
    );
}
