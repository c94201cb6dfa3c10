//! The facade over HTTP: authenticate (SigV4 for service `s3`, header or presigned), run the
//! operation on a blocking thread, and record the call before answering.

use axum::body::Body;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use cairn_model::{EventTime, Resource};

use super::{S3Access, S3Request, handle, xml::error_response};
use crate::AppState;
use crate::api::caller::{self, AuthError, Claimed};
use crate::audit::{self, CallRecord};
use crate::auth::identity::Principal;
use crate::auth::policy::Decision;
use crate::auth::sigv4::{self, SigError};
use crate::listener::ConnInfo;

pub const EVENT_SOURCE: &str = "s3.amazonaws.com";
/// Bodies the facade accepts (CreateBucket's configuration; object uploads are refused anyway).
const MAX_BODY_BYTES: usize = 1 << 20;

/// A call that cannot be recorded is not answered as if it were.
const UNRECORDED: &str = "Cairn cannot record this request right now; try again shortly.";

fn unavailable(message: &str, request_id: &str) -> Response {
    error_response(
        StatusCode::SERVICE_UNAVAILABLE,
        "ServiceUnavailable",
        message,
        request_id,
    )
}

struct Access<'a>(&'a Principal);

impl S3Access for Access<'_> {
    fn account_id(&self) -> &str {
        &self.0.account_id
    }

    fn allowed(&self, action: &str, resource_arn: &str) -> bool {
        self.0.authorize(action, resource_arn) == Decision::Allow
    }
}

pub async fn serve(state: &AppState, conn: &ConnInfo, parts: Parts, body: Body) -> Response {
    let request_id = uuid::Uuid::new_v4().simple().to_string().to_uppercase()[..16].to_string();
    let mut response = answer(state, conn, parts, body, &request_id).await;
    // Every S3 response carries its request id, errors before authentication included.
    if !response.headers().contains_key("x-amz-request-id")
        && let Ok(v) = axum::http::HeaderValue::from_str(&request_id)
    {
        response.headers_mut().insert("x-amz-request-id", v);
    }
    response
}

async fn answer(state: &AppState, conn: &ConnInfo, parts: Parts, body: Body, request_id: &str) -> Response {
    let request_id = request_id.to_string();
    let time = EventTime::now();
    let started = std::time::Instant::now();
    let body = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            return error_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                "EntityTooLarge",
                "Your proposed upload exceeds the maximum allowed size.",
                &request_id,
            );
        }
    };
    let claimed = Claimed::from_parts(&parts);
    if !claimed.is_signed() {
        return error_response(StatusCode::FORBIDDEN, "AccessDenied", "Access Denied", &request_id);
    }
    let auth = match caller::authenticate(state, &parts, &body, "s3") {
        Ok(a) => a,
        Err(e) => {
            metrics::counter!("cairn_api_auth_failures_total", "protocol" => "s3").increment(1);
            let (status, code, message) = auth_failure(&e, &claimed);
            let failure = Failure {
                code,
                message: &message,
                request_id: &request_id,
                time,
            };
            if let Err(refused) = record_auth_failure(state, conn, &parts, &body, &claimed, failure).await {
                return refused;
            }
            return error_response(status, code, &message, &request_id);
        }
    };
    let Some(ready) = state.ready() else {
        return unavailable("Cairn is starting; try again shortly.", &request_id);
    };
    let Some(buckets) = state.destinations().local().cloned() else {
        return error_response(
            StatusCode::NOT_IMPLEMENTED,
            "NotImplemented",
            "Buckets live on the configured external S3 endpoint; Cairn serves no buckets itself.",
            &request_id,
        );
    };

    let principal = auth.principal.clone();
    let region = auth.region.clone();
    let rid = request_id.clone();
    let (parts, outcome) = match tokio::task::spawn_blocking(move || {
        let query = sigv4::parse_query(parts.uri.query().unwrap_or(""));
        let req = S3Request {
            method: &parts.method,
            path: parts.uri.path(),
            query: &query,
            headers: &parts.headers,
            body: &body,
            region: &region,
            request_id: &rid,
        };
        let outcome = handle(&buckets, &req, &Access(&principal));
        (parts, outcome)
    })
    .await
    {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "S3 request task failed");
            return error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                "We encountered an internal error. Please try again.",
                &request_id,
            );
        }
    };

    let bytes_out = outcome.audit.bytes_out;
    let record = CallRecord {
        additional_event_data: Some(serde_json::json!({
            "SignatureVersion": "SigV4",
            "AuthenticationMethod": if claimed_presigned(&parts) { "QueryString" } else { "AuthHeader" },
            "bytesTransferredIn": 0,
            "bytesTransferredOut": bytes_out,
        })),
        ..call_record(outcome.audit)
    };
    let ctx = caller::context(&parts, conn, &auth.region, &request_id, time);
    let event = audit::event(&ctx, &auth.principal, record);
    if let Err(e) = audit::record(&ready.log, &event).await {
        tracing::error!(error = %e, "cannot record an S3 call; refusing to answer it");
        return unavailable(UNRECORDED, &request_id);
    }
    let status = outcome.response.status();
    let label = if status.is_server_error() {
        "fault"
    } else if status.is_client_error() {
        "error"
    } else {
        "ok"
    };
    metrics::counter!("cairn_api_requests_total", "protocol" => "s3", "status" => label).increment(1);
    metrics::histogram!("cairn_api_request_seconds", "protocol" => "s3").record(started.elapsed().as_secs_f64());
    outcome.response
}

/// Refuses everything: describes a request without letting it do anything.
struct DenyAll<'a>(&'a str);

impl S3Access for DenyAll<'_> {
    fn account_id(&self) -> &str {
        self.0
    }

    fn allowed(&self, _: &str, _: &str) -> bool {
        false
    }
}

/// A call signed with a known key but not authenticated is recorded in that key's account (an
/// unknown key has no account to record it in). The operation is named by running the request
/// with every permission refused.
async fn record_auth_failure(
    state: &AppState,
    conn: &ConnInfo,
    parts: &Parts,
    body: &bytes::Bytes,
    claimed: &Claimed,
    failure: Failure<'_>,
) -> Result<(), Response> {
    let Failure {
        code,
        message,
        request_id,
        time,
    } = failure;
    let principal = claimed
        .access_key_id
        .as_deref()
        .and_then(|k| state.directory().principal(k));
    let region = claimed.region.clone().filter(|r| cairn_model::Region::is_valid(r));
    let (Some(principal), Some(region), Some(ready), Some(buckets)) =
        (principal, region, state.ready(), state.destinations().local().cloned())
    else {
        return Ok(());
    };
    let (method, uri, headers, body) = (
        parts.method.clone(),
        parts.uri.clone(),
        parts.headers.clone(),
        body.clone(),
    );
    let (account, rid, reg) = (principal.account_id.clone(), request_id.to_string(), region.clone());
    let described = tokio::task::spawn_blocking(move || {
        let query = sigv4::parse_query(uri.query().unwrap_or(""));
        let req = S3Request {
            method: &method,
            path: uri.path(),
            query: &query,
            headers: &headers,
            body: &body,
            region: &reg,
            request_id: &rid,
        };
        handle(&buckets, &req, &DenyAll(&account)).audit
    })
    .await;
    let Ok(a) = described else { return Ok(()) };
    let record = CallRecord {
        error: Some((code.to_string(), message.to_string())),
        response_elements: None,
        resources: Vec::new(),
        ..call_record(a)
    };
    let ctx = caller::context(parts, conn, &region, request_id, time);
    let event = audit::event(&ctx, &principal, record);
    audit::record(&ready.log, &event).await.map_err(|e| {
        tracing::error!(error = %e, "cannot record an S3 call; refusing to answer it");
        unavailable(UNRECORDED, request_id)
    })
}

/// An authentication failure, for its audit record.
struct Failure<'a> {
    code: &'static str,
    message: &'a str,
    request_id: &'a str,
    time: EventTime,
}

/// The audit record of what the facade did.
fn call_record(a: super::S3Audit) -> CallRecord {
    CallRecord {
        event_source: EVENT_SOURCE,
        event_name: a.event_name,
        read_only: a.read_only,
        management: a.management,
        request_parameters: Some(a.request_parameters),
        response_elements: a.response_elements,
        error: a.error,
        resources: a
            .resources
            .into_iter()
            .filter_map(|r| serde_json::from_value::<Resource>(r).ok())
            .collect(),
        additional_event_data: None,
    }
}

fn claimed_presigned(parts: &Parts) -> bool {
    parts.uri.query().is_some_and(|q| q.contains("X-Amz-Signature="))
}

/// Authentication failures, in S3's vocabulary: status, code and message.
fn auth_failure(e: &AuthError, claimed: &Claimed) -> (StatusCode, &'static str, String) {
    match e {
        AuthError::Signature(SigError::Missing) => (StatusCode::FORBIDDEN, "AccessDenied", e_msg(e)),
        AuthError::Signature(SigError::UnknownKey(_)) => (
            StatusCode::FORBIDDEN,
            "InvalidAccessKeyId",
            "The AWS Access Key Id you provided does not exist in our records.".to_string(),
        ),
        AuthError::Signature(SigError::Mismatch) => (StatusCode::FORBIDDEN, "SignatureDoesNotMatch", e_msg(e)),
        AuthError::Signature(SigError::Expired(_)) => (StatusCode::FORBIDDEN, "RequestTimeTooSkewed", e_msg(e)),
        AuthError::Signature(_) | AuthError::BadRegion => {
            (StatusCode::BAD_REQUEST, "AuthorizationHeaderMalformed", e_msg(e))
        }
        AuthError::WrongService { .. } => (
            StatusCode::BAD_REQUEST,
            "AuthorizationHeaderMalformed",
            format!(
                "The authorization header is malformed; incorrect service \"{}\". This endpoint belongs to \"s3\".",
                claimed.service.as_deref().unwrap_or("")
            ),
        ),
    }
}

fn e_msg(e: &AuthError) -> String {
    match e {
        AuthError::Signature(s) => s.to_string(),
        AuthError::BadRegion => "The authorization header is malformed; the region is not valid.".into(),
        AuthError::WrongService { .. } => "The authorization header names another service.".into(),
    }
}
