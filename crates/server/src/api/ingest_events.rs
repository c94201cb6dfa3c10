//! `POST /IngestEvents` (service `cloudtrail-data`, rest-json): complete CloudTrail records from
//! trusted forwarders (log shippers, other Cairn instances), stored unchanged under their own
//! `recipientAccountId`. Cairn's own operation; CloudTrail has no equivalent.
//!
//! The body is `{"Records":[...]}`, a JSON array or NDJSON, gzipped when `Content-Encoding: gzip`
//! says so. It is committed by [`crate::ingest::online`]: idempotent per body, durable before the
//! answer. Records that are invalid, or of an account the caller may not ingest for, are rejected
//! one by one; the rest are stored.
//!
//! The answer: `{"Accepted": n, "Duplicates": n, "Rejected": [{"Index": i, "Reason": "..."}],
//! "BatchId": "<hex sha256 of the decompressed body>"}`.

use axum::body::Body;
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use cairn_model::EventTime;
use serde_json::{Value, json};

use super::caller;
use super::cloudtrail_data::{EVENT_SOURCE, authenticate, rest_error, rest_json};
use super::error::ApiError;
use crate::AppState;
use crate::audit::{self, CallRecord};
use crate::auth::identity::Principal;
use crate::ingest::online::{self, Admission, IngestError, Ingested};
use crate::listener::ConnInfo;

pub const OPERATION: &str = "IngestEvents";
pub const PATH: &str = "/IngestEvents";
/// Cap on the body as sent (compressed or not).
pub const MAX_BODY_BYTES: usize = 32 << 20;
const ACTION: &str = "cloudtrail-data:IngestEvents";

fn authorize(principal: &Principal) -> Result<(), ApiError> {
    super::cloudtrail_data::authorize_action(principal, ACTION, "*")
}

/// The body as sent; gzip must be declared or recognisable, other encodings are refused.
fn check_encoding(parts: &Parts, body: &[u8]) -> Result<(), ApiError> {
    let encoding = parts
        .headers
        .get("content-encoding")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("identity")
        .trim()
        .to_ascii_lowercase();
    match encoding.as_str() {
        "identity" | "" => Ok(()),
        "gzip" | "x-gzip" if body.starts_with(&[0x1f, 0x8b]) || body.is_empty() => Ok(()),
        "gzip" | "x-gzip" => Err(ApiError::client(
            "SerializationException",
            "The request body is not valid: Content-Encoding is gzip but the body is not gzip.",
        )),
        other => Err(ApiError::client(
            "ValidationException",
            format!("Content-Encoding {other:?} is not supported; send gzip or an uncompressed body."),
        )
        .with_status(StatusCode::UNSUPPORTED_MEDIA_TYPE)),
    }
}

fn from_ingest(e: &IngestError) -> ApiError {
    match e {
        IngestError::TooLarge(m) => {
            ApiError::client("RequestEntityTooLargeException", m.clone()).with_status(StatusCode::PAYLOAD_TOO_LARGE)
        }
        IngestError::Malformed(m) => ApiError::client("SerializationException", m.clone()),
        IngestError::Log(e) => ApiError::from_log(e),
    }
}

fn call_record() -> CallRecord {
    CallRecord {
        event_source: EVENT_SOURCE,
        event_name: OPERATION.to_string(),
        read_only: false,
        management: true,
        ..CallRecord::default()
    }
}

fn answer(i: &Ingested) -> Value {
    let rejected: Vec<Value> = i
        .rejected
        .iter()
        .map(|r| json!({"Index": r.index, "Reason": r.reason}))
        .collect();
    json!({
        "Accepted": i.accepted,
        "Duplicates": i.duplicates,
        "Rejected": rejected,
        "BatchId": i.batch_id,
    })
}

pub async fn handle(state: &AppState, conn: &ConnInfo, parts: Parts, body: Body) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let time = EventTime::now();
    let started = std::time::Instant::now();

    let body = match super::cloudtrail_data::read_body(body, MAX_BODY_BYTES, &request_id).await {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let (principal, region, ready) =
        match authenticate(state, conn, &parts, &body, &request_id, time, call_record()).await {
            Ok(a) => a,
            Err(resp) => return resp,
        };

    let result = async {
        if parts.method != Method::POST {
            return Err(
                ApiError::client("UnknownOperationException", format!("IngestEvents is POST {PATH}."))
                    .with_status(StatusCode::METHOD_NOT_ALLOWED),
            );
        }
        authorize(&principal)?;
        check_encoding(&parts, &body)?;
        let admission = Admission::new(&principal, state.directory().organization());
        let name = format!("{OPERATION} by {}", principal.arn);
        online::ingest(&ready.log, name, body.to_vec(), admission)
            .await
            .map_err(|e| from_ingest(&e))
    }
    .await;

    // The call's record: counts, never the records themselves.
    let mut record = call_record();
    match &result {
        Ok(i) => {
            record.request_parameters = Some(json!({"batchId": i.batch_id, "records": i.records}));
            record.response_elements = Some(json!({
                "accepted": i.accepted,
                "duplicates": i.duplicates,
                "rejected": i.rejected.len(),
            }));
        }
        Err(e) => record.error = Some((e.code.clone(), e.message.clone())),
    }
    let ctx = caller::context(&parts, conn, &region, &request_id, time);
    let response = match audit::record(&ready.log, &audit::event(&ctx, &principal, record)).await {
        Err(e) => Err(ApiError::from_log(&e)),
        Ok(()) => result,
    };

    crate::api::metrics::observe("cloudtrail-data", response.as_ref().err(), started);
    match response {
        Ok(i) => {
            metrics::counter!("cairn_ingested_records_total").increment(i.accepted);
            rest_json(StatusCode::OK, &answer(&i), &request_id)
        }
        Err(e) => rest_error(&e, &request_id),
    }
}
