//! CloudTrail's JSON 1.1 API: `POST /` with `X-Amz-Target:
//! com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.<Operation>`.
//!
//! Every call, answered or refused, is recorded in the event log before the answer leaves.

pub mod channels;
pub mod export;
mod input;
mod insights;
mod lookup;
mod trails;

use axum::body::Body;
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, header};
use axum::response::Response;
use cairn_model::{EventTime, Resource};
use serde_json::{Map, Value};

use super::caller::{self, AuthError, Claimed};
use super::error::{ApiError, json_bytes_response, json_response};
use crate::audit::{self, CallRecord};
use crate::auth::identity::Principal;
use crate::auth::policy::Decision;
use crate::listener::ConnInfo;
use crate::{AppState, Ready};

pub const TARGET_PREFIX: &str = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.";
pub const EVENT_SOURCE: &str = "cloudtrail.amazonaws.com";
/// Largest request body (CloudTrail's requests are small; PutEventSelectors with 500 values is the
/// largest, well under this).
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// Every operation of CloudTrail's 2013-11-01 API; those Cairn does not serve yet answer
/// `UnsupportedOperationException`, anything else `UnknownOperationException`.
const OPERATIONS: &[&str] = &[
    "AddTags",
    "CancelQuery",
    "CreateChannel",
    "CreateDashboard",
    "CreateEventDataStore",
    "CreateTrail",
    "DeleteChannel",
    "DeleteDashboard",
    "DeleteEventDataStore",
    "DeleteResourcePolicy",
    "DeleteTrail",
    "DeregisterOrganizationDelegatedAdmin",
    "DescribeQuery",
    "DescribeTrails",
    "DisableFederation",
    "EnableFederation",
    "GenerateQuery",
    "GetChannel",
    "GetDashboard",
    "GetEventConfiguration",
    "GetEventDataStore",
    "GetEventSelectors",
    "GetImport",
    "GetInsightSelectors",
    "GetQueryResults",
    "GetResourcePolicy",
    "GetTrail",
    "GetTrailStatus",
    "ListChannels",
    "ListDashboards",
    "ListEventDataStores",
    "ListImportFailures",
    "ListImports",
    "ListInsightsData",
    "ListInsightsMetricData",
    "ListPublicKeys",
    "ListQueries",
    "ListTags",
    "ListTrails",
    "LookupEvents",
    "PutEventConfiguration",
    "PutEventSelectors",
    "PutInsightSelectors",
    "PutResourcePolicy",
    "RegisterOrganizationDelegatedAdmin",
    "RemoveTags",
    "RestoreEventDataStore",
    "SearchSampleQueries",
    "StartDashboardRefresh",
    "StartEventDataStoreIngestion",
    "StartImport",
    "StartLogging",
    "StartQuery",
    "StopEventDataStoreIngestion",
    "StopImport",
    "StopLogging",
    "UpdateChannel",
    "UpdateDashboard",
    "UpdateEventDataStore",
    "UpdateTrail",
];

/// What a successful operation returns: its response body and the trail it acted on.
pub struct Done {
    pub body: Value,
    /// The answer already serialised, for large read-only answers (LookupEvents pages) whose
    /// records would otherwise be copied into a `Value` and out again. `body` is then unused.
    pub raw: Option<Vec<u8>>,
    pub resource: Option<Resource>,
}

impl Done {
    pub(crate) fn new(body: Value) -> Done {
        Done {
            body,
            raw: None,
            resource: None,
        }
    }

    /// An answer serialised by the operation (read-only operations only: nothing of it is
    /// recorded as `responseElements`).
    pub(crate) fn raw(bytes: Vec<u8>) -> Done {
        Done {
            body: Value::Null,
            raw: Some(bytes),
            resource: None,
        }
    }
}

/// Everything an operation needs.
pub struct Call<'a> {
    pub state: &'a AppState,
    pub ready: &'a Ready,
    pub principal: &'a Principal,
    pub region: &'a str,
    pub op: &'a str,
}

impl Call<'_> {
    pub fn account(&self) -> &str {
        &self.principal.account_id
    }

    /// Checks the caller's policies for `cloudtrail:<op>` on `resource`.
    pub fn authorize(&self, resource: &str) -> Result<(), ApiError> {
        self.authorize_as(self.op, resource)
    }

    /// Checks the caller's policies for `cloudtrail:<op>` on `resource`, for calls whose action is
    /// that of another operation (an export is authorised as the lookups it amounts to).
    pub fn authorize_as(&self, op: &str, resource: &str) -> Result<(), ApiError> {
        let action = format!("cloudtrail:{op}");
        match self.principal.authorize(&action, resource) {
            Decision::Allow => Ok(()),
            Decision::ExplicitDeny => Err(ApiError::access_denied(format!(
                "User: {} is not authorized to perform: {action} on resource: {resource} with an explicit deny in an identity-based policy",
                self.principal.arn
            ))),
            Decision::ImplicitDeny => Err(ApiError::access_denied(format!(
                "User: {} is not authorized to perform: {action} on resource: {resource} because no identity-based policy allows the {action} action",
                self.principal.arn
            ))),
        }
    }
}

fn is_read_only(op: &str) -> bool {
    ["Describe", "Get", "List", "Lookup"].iter().any(|p| op.starts_with(p))
}

pub async fn handle(state: &AppState, conn: &ConnInfo, parts: Parts, body: Body) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let time = EventTime::now();
    let started = std::time::Instant::now();
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let op = target.strip_prefix(TARGET_PREFIX).unwrap_or("").to_string();
    let claimed = Claimed::from_parts(&parts);

    let body = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            return ApiError::client(
                "RequestEntityTooLargeException",
                format!("The request body is larger than the limit of {MAX_BODY_BYTES} bytes."),
            )
            .with_status(StatusCode::PAYLOAD_TOO_LARGE)
            .into_json_response(&request_id);
        }
    };

    let auth = caller::authenticate(state, &parts, &body, "cloudtrail");
    let (principal, region) = match auth {
        Ok(a) => (a.principal, a.region),
        Err(e) => {
            let error = auth_error(&e);
            let call = failed_call(&op, &error, &body);
            return refuse_unauthenticated(state, conn, &parts, &claimed, call, error, &request_id, time).await;
        }
    };
    let parsed = parse_request(&parts, target, &op, &body);
    let ctx = caller::context(&parts, conn, &region, &request_id, time);
    execute(state, &principal, ctx, &op, parsed, started).await
}

/// Runs an authenticated caller's operation, records it and answers it: the one path of the API
/// and the console alike, so both are authorised, checked and audited the same way.
pub(crate) async fn execute(
    state: &AppState,
    principal: &Principal,
    ctx: crate::audit::CallContext,
    op: &str,
    parsed: Result<Map<String, Value>, ApiError>,
    started: std::time::Instant,
) -> Response {
    let request_id = ctx.request_id.clone();
    let Some(ready) = state.ready() else {
        return ApiError::starting().into_json_response(&request_id);
    };

    let call = Call {
        state,
        ready: &ready,
        principal,
        region: &ctx.region,
        op,
    };
    let result = match &parsed {
        Ok(input) if op == "LookupEvents" => lookup::lookup_events(&call, &input::Input(input)).await,
        Ok(input) if op == "ListInsightsMetricData" => {
            insights::list_insights_metric_data(&call, &input::Input(input)).await
        }
        Ok(input) if channels::OPS.contains(&op) => channels::dispatch(&call, input).await,
        Ok(input) => trails::dispatch(&call, input).await,
        Err(e) => Err(e.clone()),
    };

    let event_name = if op.is_empty() {
        "UnknownOperation".to_string()
    } else {
        op.chars().take(128).collect()
    };
    let request_parameters = match &parsed {
        Ok(input) if !input.is_empty() => Some(audit::lower_camel(&Value::Object(input.clone()))),
        _ => None,
    };
    let read_only = is_read_only(op);
    let mut record = CallRecord {
        event_source: EVENT_SOURCE,
        event_name,
        read_only,
        management: true,
        request_parameters,
        ..CallRecord::default()
    };
    let response = match result {
        Ok(done) => {
            record.response_elements = (!read_only)
                .then(|| audit::lower_camel(&done.body))
                .filter(|v| v.as_object().is_some_and(|o| !o.is_empty()));
            record.resources = done.resource.into_iter().collect();
            Ok(done.raw.map_or_else(|| Answer::Value(done.body), Answer::Raw))
        }
        Err(e) => {
            record.error = Some((e.code.clone(), e.message.clone()));
            Err(e)
        }
    };
    let event = audit::event(&ctx, principal, record);
    let recorded = if read_only {
        audit::record_read(&ready.log, &event)
    } else {
        audit::record(&ready.log, &event).await
    };
    if let Err(e) = recorded {
        // An unrecorded call is not answered as if it were.
        return ApiError::from_log(&e).into_json_response(&request_id);
    }
    crate::api::metrics::observe("cloudtrail", response.as_ref().err(), started);
    match response {
        Ok(Answer::Value(body)) => json_response(StatusCode::OK, &body, &request_id),
        Ok(Answer::Raw(bytes)) => json_bytes_response(StatusCode::OK, bytes, &request_id),
        Err(e) => e.into_json_response(&request_id),
    }
}

enum Answer {
    Value(Value),
    Raw(Vec<u8>),
}

pub(crate) fn auth_error(e: &AuthError) -> ApiError {
    match e {
        AuthError::Signature(s) => ApiError::from_signature(s),
        AuthError::WrongService { expected } => ApiError::client(
            "InvalidSignatureException",
            format!("Credential should be scoped to correct service: '{expected}'. "),
        )
        .with_status(StatusCode::FORBIDDEN),
        AuthError::BadRegion => ApiError::client(
            "InvalidSignatureException",
            "Credential should be scoped to a valid region. ",
        )
        .with_status(StatusCode::FORBIDDEN),
    }
}

/// The answer to a request that failed authentication. A known key with a bad signature is
/// recorded in its account (`call`, with `error`); an unknown key has no account to record it in.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn refuse_unauthenticated(
    state: &AppState,
    conn: &ConnInfo,
    parts: &Parts,
    claimed: &Claimed,
    call: CallRecord,
    error: ApiError,
    request_id: &str,
    time: EventTime,
) -> Response {
    if let (Some(p), Some(ready)) = (
        claimed
            .access_key_id
            .as_deref()
            .and_then(|k| state.directory().principal(k)),
        state.ready(),
    ) {
        let region = claimed.region.clone().filter(|r| cairn_model::Region::is_valid(r));
        if let Some(region) = region {
            let ctx = caller::context(parts, conn, &region, request_id, time);
            let event = audit::event(&ctx, &p, call);
            if let Err(e) = audit::record(&ready.log, &event).await {
                return ApiError::from_log(&e).into_json_response(request_id);
            }
        }
    }
    metrics::counter!("cairn_api_auth_failures_total", "protocol" => "cloudtrail").increment(1);
    error.into_json_response(request_id)
}

fn failed_call(op: &str, error: &ApiError, body: &[u8]) -> CallRecord {
    let request_parameters = serde_json::from_slice::<Value>(body)
        .ok()
        .filter(|v| v.as_object().is_some_and(|o| !o.is_empty()))
        .map(|v| audit::lower_camel(&v));
    CallRecord {
        event_source: EVENT_SOURCE,
        event_name: if op.is_empty() {
            "UnknownOperation".into()
        } else {
            op.chars().take(128).collect()
        },
        read_only: is_read_only(op),
        management: true,
        request_parameters,
        error: Some((error.code.clone(), error.message.clone())),
        ..CallRecord::default()
    }
}

/// Checks the protocol envelope and parses the body into its members.
fn parse_request(parts: &Parts, target: &str, op: &str, body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if parts.method != Method::POST || parts.uri.path() != "/" {
        return Err(ApiError::client(
            "UnknownOperationException",
            "CloudTrail operations are sent as POST / with an X-Amz-Target header.",
        ));
    }
    if target.is_empty() {
        return Err(ApiError::client(
            "UnknownOperationException",
            "The X-Amz-Target header is missing.",
        ));
    }
    if op.is_empty() || !OPERATIONS.contains(&op) {
        return Err(ApiError::client(
            "UnknownOperationException",
            format!(
                "{} is not an operation of CloudTrail (2013-11-01).",
                target.chars().take(200).collect::<String>()
            ),
        ));
    }
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media = content_type.split(';').next().unwrap_or("").trim();
    if !media.eq_ignore_ascii_case("application/x-amz-json-1.1")
        && !media.eq_ignore_ascii_case("application/x-amz-json-1.0")
    {
        return Err(ApiError::client(
            "SerializationException",
            format!(
                "Content-Type must be application/x-amz-json-1.1, not {:?}.",
                content_type
            ),
        ));
    }
    parse_members(body)
}

/// A JSON request body's members (an empty body has none).
pub(crate) fn parse_members(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ApiError::client(
            "SerializationException",
            "The request body must be a JSON object.",
        )),
        Err(e) => Err(ApiError::client(
            "SerializationException",
            format!("The request body is not valid JSON: {e}"),
        )),
    }
}

/// The `resources` entry of an event about a trail.
pub fn trail_resource(account: &str, arn: &str) -> Resource {
    Resource {
        account_id: Some(account.to_string()),
        kind: Some("AWS::CloudTrail::Trail".into()),
        arn: Some(arn.to_string()),
        ..Resource::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parts(method: &str, path: &str, content_type: &str) -> Parts {
        let (parts, ()) = axum::http::Request::builder()
            .method(method)
            .uri(path)
            .header(header::CONTENT_TYPE, content_type)
            .body(())
            .unwrap()
            .into_parts();
        parts
    }

    #[test]
    fn envelope_errors() {
        let ok = parts("POST", "/", "application/x-amz-json-1.1");
        let target = |op: &str| format!("{TARGET_PREFIX}{op}");
        assert!(
            parse_request(&ok, &target("ListTrails"), "ListTrails", b"")
                .unwrap()
                .is_empty()
        );
        assert!(parse_request(&ok, &target("ListTrails"), "ListTrails", b" {\"NextToken\":\"x\"} ").is_ok());
        let code = |p: &Parts, t: &str, op: &str, body: &[u8]| parse_request(p, t, op, body).unwrap_err().code;
        assert_eq!(code(&ok, "", "", b"{}"), "UnknownOperationException");
        assert_eq!(code(&ok, &target("Nope"), "Nope", b"{}"), "UnknownOperationException");
        assert_eq!(
            code(&ok, &target("ListTrails"), "ListTrails", b"{"),
            "SerializationException"
        );
        assert_eq!(
            code(&ok, &target("ListTrails"), "ListTrails", b"[1]"),
            "SerializationException"
        );
        let json = parts("POST", "/", "application/json");
        assert_eq!(
            code(&json, &target("ListTrails"), "ListTrails", b"{}"),
            "SerializationException"
        );
        let get = parts("GET", "/", "application/x-amz-json-1.1");
        assert_eq!(
            code(&get, &target("ListTrails"), "ListTrails", b"{}"),
            "UnknownOperationException"
        );
    }

    proptest! {
        /// Whatever arrives, the envelope check answers a client error or a JSON object; never a
        /// panic, never a server fault.
        #[test]
        fn any_request_gets_a_client_answer(
            body in prop::collection::vec(any::<u8>(), 0..512),
            op in prop_oneof![Just("ListTrails".to_string()), "[A-Za-z]{0,20}"],
            content_type in prop_oneof![Just("application/x-amz-json-1.1".to_string()), "[ -~]{0,40}"],
        ) {
            let p = parts("POST", "/", &content_type);
            let target = format!("{TARGET_PREFIX}{op}");
            match parse_request(&p, &target, &op, &body) {
                Ok(m) => prop_assert!(serde_json::to_string(&m).is_ok()),
                Err(e) => prop_assert!(e.status.is_client_error()),
            }
        }
    }
}
