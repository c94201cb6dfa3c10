//! A small SigV4-signing client for CloudTrail's JSON API, the history export and IngestEvents,
//! for Cairn's own tools (benchmarks, load tests, and commands that talk to a running server).

use std::time::{Duration, SystemTime};

use serde_json::Value;

use crate::api::cloudtrail::TARGET_PREFIX;
use crate::auth::sigv4;

#[derive(Clone)]
pub struct CloudTrailClient {
    http: reqwest::Client,
    endpoint: String,
    host: String,
    region: String,
    access_key_id: String,
    secret: String,
}

impl std::fmt::Debug for CloudTrailClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloudTrailClient")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// A response: HTTP status, JSON body and request id.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
    pub request_id: Option<String>,
}

impl Reply {
    /// The error code (`__type`) of a failed call.
    pub fn error_code(&self) -> Option<&str> {
        self.body.get("__type").and_then(Value::as_str)
    }
}

impl CloudTrailClient {
    /// `endpoint` like `http://127.0.0.1:7401`.
    pub fn new(endpoint: &str, region: &str, access_key_id: &str, secret: &str) -> CloudTrailClient {
        let endpoint = endpoint.trim_end_matches('/').to_string();
        let host = endpoint
            .split_once("://")
            .map_or(endpoint.as_str(), |(_, h)| h)
            .to_string();
        CloudTrailClient {
            http: reqwest::Client::builder()
                .user_agent(concat!("cairn/", env!("CARGO_PKG_VERSION")))
                .pool_max_idle_per_host(256)
                .build()
                .expect("an HTTP client without custom TLS settings always builds"),
            endpoint,
            host,
            region: region.to_string(),
            access_key_id: access_key_id.to_string(),
            secret: secret.to_string(),
        }
    }

    pub fn with_region(&self, region: &str) -> CloudTrailClient {
        CloudTrailClient {
            region: region.to_string(),
            ..self.clone()
        }
    }

    /// Calls `operation` with `input` as its JSON body.
    pub async fn call(&self, operation: &str, input: &Value) -> Result<Reply, reqwest::Error> {
        Self::reply(self.send(operation, input).await?).await
    }

    /// One call, the answer unparsed: status and body bytes (for callers that read only part of
    /// a large answer).
    pub async fn call_bytes(&self, operation: &str, input: &Value) -> Result<(u16, bytes::Bytes), reqwest::Error> {
        let resp = self.send(operation, input).await?;
        let status = resp.status().as_u16();
        Ok((status, resp.bytes().await?))
    }

    async fn send(&self, operation: &str, input: &Value) -> Result<reqwest::Response, reqwest::Error> {
        let body = input.to_string();
        let target = format!("{TARGET_PREFIX}{operation}");
        let headers = vec![
            ("host".to_string(), self.host.clone()),
            ("content-type".to_string(), "application/x-amz-json-1.1".to_string()),
            ("x-amz-target".to_string(), target.clone()),
        ];
        let req = sigv4::Request {
            method: "POST",
            path: "/",
            query: "",
            headers: &headers,
            body: body.as_bytes(),
        };
        let signed = self.sign(&req, "cloudtrail");
        let mut rb = self
            .http
            .post(format!("{}/", self.endpoint))
            .header("content-type", "application/x-amz-json-1.1")
            .header("x-amz-target", target);
        for (k, v) in signed {
            rb = rb.header(k, v);
        }
        rb.body(body).send().await
    }

    /// Sends CloudTrail records to `POST /IngestEvents` (service `cloudtrail-data`); `body` as it
    /// goes on the wire, with `content_encoding` (`gzip`) when it is compressed.
    pub async fn ingest_events(&self, body: Vec<u8>, content_encoding: Option<&str>) -> Result<Reply, reqwest::Error> {
        let path = crate::api::ingest_events::PATH;
        let mut headers = vec![
            ("host".to_string(), self.host.clone()),
            ("content-type".to_string(), "application/json".to_string()),
        ];
        if let Some(e) = content_encoding {
            headers.push(("content-encoding".to_string(), e.to_string()));
        }
        let req = sigv4::Request {
            method: "POST",
            path,
            query: "",
            headers: &headers,
            body: &body,
        };
        let signed = self.sign(&req, "cloudtrail-data");
        let mut rb = self
            .http
            .post(format!("{}{path}", self.endpoint))
            // Longer than the server's own 60 s limit: a slow answer is the server's to give.
            .timeout(std::time::Duration::from_secs(120));
        for (k, v) in headers.into_iter().filter(|(k, _)| k != "host").chain(signed) {
            rb = rb.header(k, v);
        }
        Self::reply(rb.body(body).send().await?).await
    }

    /// The SigV4 headers of `req` for `service`, signed now.
    fn sign(&self, req: &sigv4::Request<'_>, service: &str) -> Vec<(String, String)> {
        sigv4::sign(
            req,
            &self.access_key_id,
            &self.secret,
            &self.region,
            service,
            SystemTime::now(),
        )
    }

    async fn reply(resp: reqwest::Response) -> Result<Reply, reqwest::Error> {
        let status = resp.status().as_u16();
        let request_id = resp
            .headers()
            .get("x-amzn-requestid")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let bytes = resp.bytes().await?;
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok(Reply {
            status,
            body,
            request_id,
        })
    }

    /// A query string of `params`, encoded as SigV4 canonicalises it (so what is signed is what
    /// is sent).
    fn query(params: &[(String, String)]) -> String {
        params
            .iter()
            .map(|(k, v)| {
                format!(
                    "{}={}",
                    sigv4::uri_encode(k.as_bytes(), true),
                    sigv4::uri_encode(v.as_bytes(), true)
                )
            })
            .collect::<Vec<_>>()
            .join("&")
    }

    /// A signed `GET path?params` (header auth, service `cloudtrail`). The response is returned
    /// unread, so a streamed body (an export) can be consumed chunk by chunk.
    pub async fn get(&self, path: &str, params: &[(String, String)]) -> Result<reqwest::Response, reqwest::Error> {
        let query = Self::query(params);
        let headers = vec![("host".to_string(), self.host.clone())];
        let req = sigv4::Request {
            method: "GET",
            path,
            query: &query,
            headers: &headers,
            body: b"",
        };
        let signed = self.sign(&req, "cloudtrail");
        let url = if query.is_empty() {
            format!("{}{path}", self.endpoint)
        } else {
            format!("{}{path}?{query}", self.endpoint)
        };
        let mut rb = self.http.get(url);
        for (k, v) in signed {
            rb = rb.header(k, v);
        }
        rb.send().await
    }

    /// A presigned URL of `GET path?params` (service `cloudtrail`), valid for `expires`: a link a
    /// browser can download without credentials of its own.
    pub fn presigned_url(&self, path: &str, params: &[(String, String)], expires: Duration) -> String {
        let query = sigv4::presign(
            "GET",
            path,
            params,
            &self.host,
            &self.access_key_id,
            &self.secret,
            &self.region,
            "cloudtrail",
            SystemTime::now(),
            expires.as_secs(),
        );
        format!("{}{path}?{query}", self.endpoint)
    }
}
