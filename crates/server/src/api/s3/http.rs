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
            return auth_error(&e, &claimed, &request_id);
        }
    };
    let Some(ready) = state.ready() else {
        return error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailable",
            "Cairn is starting; try again shortly.",
            &request_id,
        );
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

    let a = outcome.audit;
    let record = CallRecord {
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
        additional_event_data: Some(serde_json::json!({
            "SignatureVersion": "SigV4",
            "AuthenticationMethod": if claimed_presigned(&parts) { "QueryString" } else { "AuthHeader" },
            "bytesTransferredIn": 0,
            "bytesTransferredOut": a.bytes_out,
        })),
    };
    let ctx = caller::context(&parts, conn, &auth.region, &request_id, time);
    let event = audit::event(&ctx, &auth.principal, record);
    if let Err(e) = audit::record(&ready.log, &event).await {
        tracing::error!(error = %e, "cannot record an S3 call; refusing to answer it");
        return error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailable",
            "Cairn cannot record this request right now; try again shortly.",
            &request_id,
        );
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

fn claimed_presigned(parts: &Parts) -> bool {
    parts.uri.query().is_some_and(|q| q.contains("X-Amz-Signature="))
}

/// Authentication failures, in S3's vocabulary.
fn auth_error(e: &AuthError, claimed: &Claimed, request_id: &str) -> Response {
    let (status, code, message) = match e {
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
    };
    error_response(status, code, &message, request_id)
}

fn e_msg(e: &AuthError) -> String {
    match e {
        AuthError::Signature(s) => s.to_string(),
        AuthError::BadRegion => "The authorization header is malformed; the region is not valid.".into(),
        AuthError::WrongService { .. } => "The authorization header names another service.".into(),
    }
}
