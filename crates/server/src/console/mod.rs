//! The web console at `/console`: event history, trails and Insights in a browser.
//!
//! The page is a static single-page application embedded in the binary (no CDN, works offline).
//! It reads and acts through the same operations as the CloudTrail API (`/console/api/<Operation>`
//! runs [`cloudtrail::execute`]), so every console read is authorised by the caller's policies and
//! recorded as an event, marked `sessionCredentialFromConsole`.
//!
//! Safety:
//! - a session is an HttpOnly, SameSite=Strict cookie naming a signed-in access key;
//! - every request that acts carries the session's CSRF token in `X-Cairn-Csrf`, and requests a
//!   browser marks as cross-site (`Sec-Fetch-Site`, `Origin`) are refused;
//! - the page builds its DOM from text (never HTML from data), under a Content-Security-Policy that
//!   allows only the console's own script and style.

mod assets;
pub mod session;
mod signin;

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use cairn_model::{EventTime, Region};
use serde_json::{Map, Value, json};
use subtle::ConstantTimeEq;

use crate::AppState;
use crate::api::caller;
use crate::api::cloudtrail;
use crate::api::error::{ApiError, json_response};
use crate::auth::identity::Principal;
use crate::listener::ConnInfo;
pub use session::Sessions;

pub const PREFIX: &str = "/console";
/// Largest console request body (filters and trail names; nothing large is sent).
const MAX_BODY_BYTES: usize = 64 * 1024;
/// The header a console request names its region in.
const REGION_HEADER: &str = "x-cairn-region";
const CSRF_HEADER: &str = "x-cairn-csrf";

/// The operations the console calls. Anything else is refused here, whatever the user's policies
/// allow: the console is a reader of audit data that can also start and stop trails.
const OPERATIONS: &[&str] = &[
    "DescribeTrails",
    "GetEventSelectors",
    "GetInsightSelectors",
    "GetTrail",
    "GetTrailStatus",
    "ListInsightsMetricData",
    "ListPublicKeys",
    "ListTrails",
    "LookupEvents",
    "StartLogging",
    "StopLogging",
];

/// Whether `path` belongs to the console.
pub fn owns(path: &str) -> bool {
    path == PREFIX || path.starts_with("/console/")
}

pub async fn handle(state: &AppState, conn: &ConnInfo, parts: Parts, body: Body) -> Response {
    let path = parts.uri.path().to_string();
    let rest = path.strip_prefix(PREFIX).unwrap_or("");
    let mut resp = match (&parts.method, rest) {
        (&Method::GET | &Method::HEAD, "" | "/") => assets::index(),
        (&Method::GET | &Method::HEAD, r) if r.starts_with("/assets/") => {
            assets::asset(&r["/assets/".len()..], &parts.headers)
        }
        (&Method::GET, "/session") => signin::session_info(state, &parts),
        (&Method::POST, "/signin") => signin::sign_in(state, conn, &parts, body).await,
        (&Method::POST, "/signout") => signin::sign_out(state, &parts),
        (&Method::POST, "/permissions") => permissions(state, &parts, body).await,
        (&Method::POST, r) if r.starts_with("/api/") => api(state, conn, &parts, body, &r["/api/".len()..]).await,
        (&Method::GET, "/export") => export(state, conn, &parts).await,
        (_, "" | "/" | "/session" | "/signin" | "/signout" | "/permissions" | "/export") => error(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "This method is not allowed here.",
        ),
        _ => error(StatusCode::NOT_FOUND, "NotFound", "There is no such console page."),
    };
    secure_headers(resp.headers_mut());
    resp
}

/// Headers every console answer carries.
fn secure_headers(h: &mut HeaderMap) {
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
        ),
    );
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
}

/// An error in CloudTrail's JSON shape, which the page shows as it shows the API's own.
fn refusal(status: StatusCode, code: &str, message: &str) -> ApiError {
    ApiError::client(code, message).with_status(status)
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    answer(refusal(status, code, message))
}

fn answer(e: ApiError) -> Response {
    e.into_json_response(&uuid::Uuid::new_v4().to_string())
}

/// A console answer of its own (not an operation's), with a request id like every answer.
fn ok_json(body: &Value) -> Response {
    json_response(StatusCode::OK, body, &uuid::Uuid::new_v4().to_string())
}

fn not_signed_in_error() -> ApiError {
    refusal(
        StatusCode::UNAUTHORIZED,
        "NotSignedInException",
        "Sign in to the console first (or again: the session has ended).",
    )
}

fn not_signed_in() -> Response {
    answer(not_signed_in_error())
}

/// Refuses what a browser says comes from another site: a page elsewhere must not make a
/// signed-in user's browser act (or read) here.
fn same_site(headers: &HeaderMap) -> Result<(), ApiError> {
    let forbidden = || {
        refusal(
            StatusCode::FORBIDDEN,
            "CrossSiteRequestException",
            "The console refuses requests from other sites.",
        )
    };
    let site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if matches!(site, Some("cross-site" | "same-site")) {
        return Err(forbidden());
    }
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
        let origin_host = origin.split_once("://").map_or("", |(_, h)| h);
        if origin_host != host {
            return Err(forbidden());
        }
    }
    Ok(())
}

/// The signed-in session of a request and its principal (whose key must still exist).
fn signed_in(state: &AppState, parts: &Parts) -> Option<(String, session::Session, Arc<Principal>)> {
    let token = parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|h| session::cookie(h, session::COOKIE))?
        .to_string();
    let s = state.sessions().get(&token)?;
    let Some(principal) = state.directory().principal(&s.access_key_id) else {
        // The key was removed from the configuration: its sessions end with it.
        state.sessions().close(&token);
        return None;
    };
    Some((token, s, principal))
}

/// A request that acts must carry the session's CSRF token.
fn check_csrf(parts: &Parts, s: &session::Session) -> Result<(), ApiError> {
    let sent = parts
        .headers
        .get(CSRF_HEADER)
        .map(HeaderValue::as_bytes)
        .unwrap_or_default();
    if bool::from(sent.ct_eq(s.csrf.as_bytes())) {
        Ok(())
    } else {
        Err(refusal(
            StatusCode::FORBIDDEN,
            "InvalidCsrfTokenException",
            "The request lacks the session's CSRF token; reload the console.",
        ))
    }
}

/// The region a console request works in.
fn region_of(parts: &Parts, query_region: Option<&str>) -> Result<String, ApiError> {
    let r = query_region
        .or_else(|| parts.headers.get(REGION_HEADER).and_then(|v| v.to_str().ok()))
        .unwrap_or("us-east-1");
    if Region::is_valid(r) {
        Ok(r.to_string())
    } else {
        Err(refusal(
            StatusCode::BAD_REQUEST,
            "InvalidParameterException",
            "The region is not a valid region name.",
        ))
    }
}

/// A call's context: the browser's address and agent, marked as from the console.
fn context(parts: &Parts, conn: &ConnInfo, region: &str) -> crate::audit::CallContext {
    let request_id = uuid::Uuid::new_v4().to_string();
    let mut ctx = caller::context(parts, conn, region, &request_id, EventTime::now());
    ctx.from_console = true;
    ctx
}

/// The signed-in caller of a request that acts: from this site, with a live session and its
/// CSRF token.
fn acting(state: &AppState, parts: &Parts) -> Result<(String, session::Session, Arc<Principal>), ApiError> {
    same_site(&parts.headers)?;
    let (token, session, principal) = signed_in(state, parts).ok_or_else(not_signed_in_error)?;
    check_csrf(parts, &session)?;
    Ok((token, session, principal))
}

async fn read_body(body: Body) -> Result<axum::body::Bytes, ApiError> {
    axum::body::to_bytes(body, MAX_BODY_BYTES).await.map_err(|_| {
        refusal(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLargeException",
            "The request body is too large.",
        )
    })
}

/// `POST /console/api/<Operation>`: a CloudTrail operation as the signed-in user.
async fn api(state: &AppState, conn: &ConnInfo, parts: &Parts, body: Body, op: &str) -> Response {
    let started = Instant::now();
    let checked = async {
        let (_, _, principal) = acting(state, parts)?;
        let region = region_of(parts, None)?;
        if !OPERATIONS.contains(&op) {
            return Err(refusal(
                StatusCode::BAD_REQUEST,
                "UnknownOperationException",
                "The console does not call this operation.",
            ));
        }
        Ok((principal, region, read_body(body).await?))
    };
    match checked.await {
        Ok((principal, region, body)) => {
            let parsed = cloudtrail::parse_members(&body);
            cloudtrail::execute(state, &principal, context(parts, conn, &region), op, parsed, started).await
        }
        Err(e) => answer(e),
    }
}

/// `POST /console/permissions` `{"Resource": arn, "Actions": [...]}`: which of the actions the
/// user's policies allow on the resource, so the page offers only what will work. (The
/// operations check again when called.)
async fn permissions(state: &AppState, parts: &Parts, body: Body) -> Response {
    let checked = async {
        let (_, _, principal) = acting(state, parts)?;
        Ok::<_, ApiError>((principal, read_body(body).await?))
    };
    let (principal, body) = match checked.await {
        Ok(v) => v,
        Err(e) => return answer(e),
    };
    let input = cloudtrail::parse_members(&body).unwrap_or_default();
    let resource = input.get("Resource").and_then(Value::as_str).unwrap_or("*");
    let mut out = Map::new();
    for a in input
        .get("Actions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter(|a| a.starts_with("cloudtrail:"))
        .take(32)
    {
        let allowed = principal.authorize(a, resource) == crate::auth::policy::Decision::Allow;
        out.insert(a.to_string(), json!(allowed));
    }
    ok_json(&Value::Object(out))
}

/// `GET /console/export?region=R&format=csv|records&attribute=&value=&start=&end=`: the filtered
/// event history as a download (a link the page points at, so no CSRF header; the cookie's
/// SameSite=Strict keeps other sites' links from carrying the session).
async fn export(state: &AppState, conn: &ConnInfo, parts: &Parts) -> Response {
    let started = Instant::now();
    if let Err(e) = same_site(&parts.headers) {
        return answer(e);
    }
    let Some((_, _, principal)) = signed_in(state, parts) else {
        return not_signed_in();
    };
    let query = parts.uri.query().unwrap_or("");
    let mut region = None;
    let mut rest = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.strip_prefix("region=") {
            Some(r) => region = Some(r.to_string()),
            None => rest.push(pair),
        }
    }
    let region = match region_of(parts, region.as_deref()) {
        Ok(r) => r,
        Err(e) => return answer(e),
    };
    let parsed = cloudtrail::export::parse_query(&rest.join("&"));
    cloudtrail::export::serve(state, &principal, context(parts, conn, &region), parsed, started).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn cross_site_requests_are_refused() {
        assert!(same_site(&headers(&[("host", "127.0.0.1:7401")])).is_ok());
        assert!(
            same_site(&headers(&[
                ("host", "127.0.0.1:7401"),
                ("origin", "http://127.0.0.1:7401"),
                ("sec-fetch-site", "same-origin")
            ]))
            .is_ok()
        );
        assert!(
            same_site(&headers(&[
                ("host", "127.0.0.1:7401"),
                ("origin", "http://evil.example")
            ]))
            .is_err()
        );
        assert!(
            same_site(&headers(&[
                ("host", "127.0.0.1:7401"),
                ("sec-fetch-site", "cross-site")
            ]))
            .is_err()
        );
        assert!(same_site(&headers(&[("host", "a.example"), ("sec-fetch-site", "same-site")])).is_err());
        assert!(same_site(&headers(&[("host", "127.0.0.1:7401"), ("origin", "null")])).is_err());
    }

    #[test]
    fn console_paths() {
        assert!(owns("/console"));
        assert!(owns("/console/api/LookupEvents"));
        assert!(!owns("/consoles"));
        assert!(!owns("/"));
    }
}
