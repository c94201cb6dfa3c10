//! Signing in and out of the console with an access key id and its secret.
//!
//! A sign-in is recorded as CloudTrail records console sign-ins: `ConsoleLogin` from
//! `signin.amazonaws.com`, event type `AwsConsoleSignIn`, `responseElements.ConsoleLogin` Success
//! or Failure. A failure for a key that exists is recorded in its account; an unknown key has no
//! account to record it in, so it is counted and logged (without the key's secret, never).

use axum::body::Body;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use cairn_model::{EventTime, Region};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::session::{COOKIE, CSRF_COOKIE, Session};
use super::{acting, answer, error, not_signed_in, ok_json, read_body, same_site, signed_in};
use crate::AppState;
use crate::api::caller;
use crate::audit::{self, CallRecord};
use crate::auth::identity::Principal;
use crate::auth::sigv4::Secrets;
use crate::listener::ConnInfo;

/// `GET /console/session`: who is signed in (and the CSRF token the page sends back), or 401.
pub fn session_info(state: &AppState, parts: &Parts) -> Response {
    match signed_in(state, parts) {
        Some((_, s, p)) => ok_json(&describe(&s, &p, state)),
        None => not_signed_in(),
    }
}

fn describe(s: &Session, p: &Principal, state: &AppState) -> Value {
    let expires_in = s.expires.saturating_duration_since(std::time::Instant::now()).as_secs();
    json!({
        "AccountId": p.account_id,
        "Arn": p.arn,
        "UserName": p.user_name.as_deref().or(p.account_alias.as_deref()),
        "AccessKeyId": p.access_key_id,
        "Csrf": s.csrf,
        "ExpiresIn": expires_in,
        "Ready": state.ready().is_some(),
    })
}

/// Compares the secrets' digests, so neither their content nor their length shows in the time
/// the comparison takes.
fn secret_matches(expected: &str, given: &str) -> bool {
    let a = Sha256::digest(expected.as_bytes());
    let b = Sha256::digest(given.as_bytes());
    bool::from(a.ct_eq(&b))
}

/// The session cookie (HttpOnly) and the CSRF token's cookie (readable by the page's script).
fn cookies(token: &str, csrf: &str, max_age: u64, secure: bool) -> [HeaderValue; 2] {
    let secure = if secure { "; Secure" } else { "" };
    let session = format!("{COOKIE}={token}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}");
    let csrf = format!("{CSRF_COOKIE}={csrf}; Path=/console; SameSite=Strict; Max-Age={max_age}{secure}");
    [session, csrf].map(|v| HeaderValue::from_str(&v).expect("tokens are hex"))
}

/// `POST /console/signin` `{"AccessKeyId", "SecretAccessKey", "Region"}`.
pub async fn sign_in(state: &AppState, conn: &ConnInfo, parts: &Parts, body: Body) -> Response {
    // A JSON body with a custom header cannot be sent by another site's form (it needs a CORS
    // preflight, which the console never grants), and the browser's own marks are checked too.
    if let Err(e) = same_site(&parts.headers) {
        return answer(e);
    }
    let json_body = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json_body || !parts.headers.contains_key(super::CSRF_HEADER) {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidRequestException",
            "Sign in from the console's page.",
        );
    }
    if !state.sessions().may_try(conn.peer.ip()) {
        metrics::counter!("cairn_console_signin_total", "outcome" => "throttled").increment(1);
        return error(
            StatusCode::TOO_MANY_REQUESTS,
            "ThrottlingException",
            "Too many failed sign-ins from this address; wait a few minutes.",
        );
    }
    let body = match read_body(body).await {
        Ok(b) => b,
        Err(e) => return answer(e),
    };
    let input = crate::api::cloudtrail::parse_members(&body).unwrap_or_default();
    let text = |k: &str| input.get(k).and_then(Value::as_str).unwrap_or("").trim().to_string();
    let (key, secret) = (text("AccessKeyId"), text("SecretAccessKey"));
    let region = Some(text("Region"))
        .filter(|r| Region::is_valid(r))
        .unwrap_or_else(|| "us-east-1".into());
    if key.is_empty() || secret.is_empty() || key.len() > 128 || secret.len() > 256 {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidParameterException",
            "Enter an access key ID and its secret access key.",
        );
    }

    let principal = state.directory().principal(&key);
    let ok = match state.directory().secret(&key) {
        Some(expected) => secret_matches(&expected, &secret),
        None => {
            // Same work as a known key, so a wrong guess of the key id takes as long.
            let _ = secret_matches("unknown-key-placeholder-secret", &secret);
            false
        }
    };
    if let Some(p) = &principal
        && let Err(r) = record_login(state, conn, parts, p, &region, ok).await
    {
        return r;
    }
    if !ok {
        state.sessions().failed(conn.peer.ip());
        metrics::counter!("cairn_console_signin_total", "outcome" => "failure").increment(1);
        tracing::warn!(peer = %conn.peer.ip(), access_key_id = %key, known = principal.is_some(), "console sign-in failed");
        return error(
            StatusCode::UNAUTHORIZED,
            "InvalidCredentialsException",
            "The access key ID or secret access key is not right.",
        );
    }
    let principal = principal.expect("a key with a secret has a principal");
    metrics::counter!("cairn_console_signin_total", "outcome" => "success").increment(1);
    tracing::info!(arn = %principal.arn, peer = %conn.peer.ip(), "console sign-in");
    let (token, session) = state.sessions().open(&key);
    let mut resp = ok_json(&describe(&session, &principal, state));
    for c in cookies(
        &token,
        &session.csrf,
        state.sessions().ttl().as_secs(),
        conn.tls.is_some(),
    ) {
        resp.headers_mut().append(header::SET_COOKIE, c);
    }
    resp
}

/// Records a `ConsoleLogin` event; refuses the sign-in when the log cannot take it (a sign-in
/// that was not recorded does not happen).
async fn record_login(
    state: &AppState,
    conn: &ConnInfo,
    parts: &Parts,
    p: &Principal,
    region: &str,
    ok: bool,
) -> Result<(), Response> {
    let Some(ready) = state.ready() else {
        return Err(answer(crate::api::error::ApiError::starting()));
    };
    let request_id = uuid::Uuid::new_v4().to_string();
    let ctx = caller::context(parts, conn, region, &request_id, EventTime::now());
    let outcome = if ok { "Success" } else { "Failure" };
    let record = CallRecord {
        event_source: "signin.amazonaws.com",
        event_name: "ConsoleLogin".into(),
        read_only: false,
        management: true,
        response_elements: Some(json!({ "ConsoleLogin": outcome })),
        additional_event_data: Some(json!({ "LoginTo": "/console", "MobileVersion": "No", "MFAUsed": "No" })),
        ..CallRecord::default()
    };
    let mut event = audit::event(&ctx, p, record);
    event.event_type = Some("AwsConsoleSignIn".into());
    event.request_id = None;
    if !ok {
        event.error_message = Some("Failed authentication".into());
    }
    audit::record(&ready.log, &event)
        .await
        .map_err(|e| crate::api::error::ApiError::from_log(&e).into_json_response(&request_id))
}

/// `POST /console/signout`: ends the session (with its CSRF token, so another site cannot sign
/// a user out either).
pub fn sign_out(state: &AppState, parts: &Parts) -> Response {
    let token = match acting(state, parts) {
        Ok((token, _, _)) => token,
        Err(e) => return answer(e),
    };
    state.sessions().close(&token);
    let mut resp = ok_json(&json!({}));
    for c in cookies("", "", 0, false) {
        resp.headers_mut().append(header::SET_COOKIE, c);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_compare_exactly() {
        assert!(secret_matches("abc", "abc"));
        assert!(!secret_matches("abc", "abd"));
        assert!(!secret_matches("abc", "abcd"));
        assert!(!secret_matches("abc", ""));
    }

    #[test]
    fn the_session_cookie_is_http_only_and_strict() {
        let [session, csrf] = cookies("00ff", "ab", 60, false);
        let (session, csrf) = (session.to_str().unwrap(), csrf.to_str().unwrap());
        assert!(session.starts_with("cairn_session=00ff;"));
        assert!(session.contains("HttpOnly") && session.contains("SameSite=Strict") && session.contains("Max-Age=60"));
        assert!(!session.contains("Secure"));
        assert!(csrf.starts_with("cairn_csrf=ab;") && csrf.contains("SameSite=Strict") && !csrf.contains("HttpOnly"));
        assert!(
            cookies("00ff", "ab", 60, true)
                .iter()
                .all(|c| c.to_str().unwrap().ends_with("; Secure"))
        );
    }
}
