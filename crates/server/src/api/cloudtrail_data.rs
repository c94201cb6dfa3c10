//! CloudTrail Data's rest-json API (`cloudtrail-data`, 2021-08-11): `POST
//! /PutAuditEvents?channelArn=<arn-or-id>[&externalId=<id>]`, the ingestion of CloudTrail Lake
//! integration events into a channel.
//!
//! Each accepted event is wrapped as CloudTrail wraps it (`eventCategory: ActivityAuditLog`, the
//! caller's `eventData` text kept inside) and all of them, with the self-audit record of the call,
//! are appended to the event log in one batch, durable before the answer leaves.
//!
//! Error codes of request-shape violations (event count, id pattern, total size, externalId) are
//! not listed by the service model; Cairn answers `ValidationException` for them, as Smithy
//! rest-json services do.

use std::collections::HashSet;

use axum::body::Body;
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cairn_model::{EventRecord, EventTime};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::caller::{self, Claimed};
use super::cloudtrail::auth_error;
use super::cloudtrail::channels::channel_resource;
use super::error::ApiError;
use crate::AppState;
use crate::audit::{self, CallRecord};
use crate::auth::identity::Principal;
use crate::auth::policy::Decision;
use crate::channels::{ChannelConfig, resolve_channel};
use crate::listener::ConnInfo;

pub const EVENT_SOURCE: &str = "cloudtrail-data.amazonaws.com";
pub const OPERATION: &str = "PutAuditEvents";
/// Events per request.
pub const MAX_EVENTS: usize = 100;
/// The documented request limit, applied to the sum of the `eventData` texts.
pub const MAX_EVENT_DATA_BYTES: usize = 1 << 20;
/// The body limit: the 1 MB of event data plus room for JSON string escaping and the envelope.
const MAX_BODY_BYTES: usize = 3 << 20;
/// `eventVersion` of the wrapped records (the version CloudTrail gives integration events).
const AUDIT_EVENT_VERSION: &str = "0.01";
/// Cairn's cap on each of `requestParameters`, `responseElements`, `additionalEventData` and
/// `userIdentity.details` (serialised).
pub const MAX_OBJECT_BYTES: usize = 100 * 1024;

/// A per-event failure (an entry of `failed`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFailure {
    pub code: &'static str,
    pub message: String,
}

impl EventFailure {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        EventFailure {
            code,
            message: message.into(),
        }
    }
}

#[derive(Debug, Deserialize)]
struct RequestBody {
    #[serde(rename = "auditEvents")]
    audit_events: Option<Vec<AuditEvent>>,
}

/// One event of a request.
#[derive(Debug, Clone, Deserialize)]
pub struct AuditEvent {
    pub id: Option<String>,
    #[serde(rename = "eventData")]
    pub event_data: Option<String>,
    #[serde(rename = "eventDataChecksum")]
    pub event_data_checksum: Option<String>,
}

/// What a valid `eventData` contributes to its wrapped record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidEvent {
    pub event_time: String,
}

fn validation(message: impl Into<String>) -> ApiError {
    ApiError::client("ValidationException", message)
}

/// `base64(sha256(data))`: the `eventDataChecksum` recipe
/// (`printf %s "$eventData" | openssl dgst -binary -sha256 | base64`).
pub fn checksum(data: &str) -> String {
    base64(&Sha256::digest(data.as_bytes()))
}

/// Standard base64 with padding (also JSON blobs such as ListPublicKeys' `Value`).
pub(crate) fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// An event id: `[-_A-Za-z0-9]{1,128}`.
pub fn is_event_id(id: &str) -> bool {
    (1..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `yyyy-MM-ddTHH:mm:ssZ` (a fraction of a second is tolerated), a real instant.
fn valid_event_time(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 20 || !s.is_ascii() {
        return false;
    }
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    let shape = digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19)
        && b[b.len() - 1] == b'Z';
    let fraction = &b[19..b.len() - 1];
    let fraction_ok = fraction.is_empty()
        || (fraction.len() >= 2 && fraction[0] == b'.' && fraction[1..].iter().all(u8::is_ascii_digit));
    shape && fraction_ok && EventTime::parse(s).is_ok()
}

/// A string member of `obj`: Ok(None) when absent or null; InvalidData for another type;
/// FieldTooLong beyond `max` characters.
fn string_field<'a>(
    obj: &'a Map<String, Value>,
    path: &str,
    name: &str,
    max: usize,
) -> Result<Option<&'a str>, EventFailure> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.chars().count() > max => Err(EventFailure::new(
            "FieldTooLong",
            format!("Field {path}{name} is longer than {max} characters."),
        )),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(EventFailure::new(
            "InvalidData",
            format!("Field {path}{name} must be a string."),
        )),
    }
}

fn required_string<'a>(
    obj: &'a Map<String, Value>,
    path: &str,
    name: &str,
    max: usize,
) -> Result<&'a str, EventFailure> {
    match string_field(obj, path, name, max)? {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(EventFailure::new(
            "FieldNotFound",
            format!("Required field {path}{name} is missing from eventData."),
        )),
    }
}

fn object_field(obj: &Map<String, Value>, path: &str, name: &str) -> Result<(), EventFailure> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(()),
        Some(v @ Value::Object(_)) => {
            if v.to_string().len() > MAX_OBJECT_BYTES {
                Err(EventFailure::new(
                    "FieldTooLong",
                    format!("Field {path}{name} is larger than {MAX_OBJECT_BYTES} bytes."),
                ))
            } else {
                Ok(())
            }
        }
        Some(_) => Err(EventFailure::new(
            "InvalidData",
            format!("Field {path}{name} must be a JSON object."),
        )),
    }
}

/// Checks one event against the integration event schema, for a channel of `channel_account`.
pub fn validate_event(
    event_data: &str,
    checksum_given: Option<&str>,
    channel_account: &str,
) -> Result<ValidEvent, EventFailure> {
    if let Some(given) = checksum_given
        && given != checksum(event_data)
    {
        return Err(EventFailure::new(
            "InvalidChecksum",
            "eventDataChecksum does not match base64(sha256(eventData)).",
        ));
    }
    let data = match serde_json::from_str::<Value>(event_data) {
        Ok(Value::Object(m)) => m,
        Ok(_) => return Err(EventFailure::new("InvalidData", "eventData must be a JSON object.")),
        Err(e) => {
            return Err(EventFailure::new(
                "InvalidData",
                format!("eventData is not valid JSON: {e}"),
            ));
        }
    };
    required_string(&data, "", "version", 256)?;
    let identity = match data.get("userIdentity") {
        None | Some(Value::Null) => {
            return Err(EventFailure::new(
                "FieldNotFound",
                "Required field userIdentity is missing from eventData.",
            ));
        }
        Some(Value::Object(m)) => m,
        Some(_) => {
            return Err(EventFailure::new(
                "InvalidData",
                "Field userIdentity must be a JSON object.",
            ));
        }
    };
    required_string(identity, "userIdentity.", "type", 128)?;
    required_string(identity, "userIdentity.", "principalId", 1024)?;
    object_field(identity, "userIdentity.", "details")?;
    string_field(&data, "", "userAgent", 1024)?;
    required_string(&data, "", "eventSource", 1024)?;
    required_string(&data, "", "eventName", 1024)?;
    let event_time = required_string(&data, "", "eventTime", 64)?;
    if !valid_event_time(event_time) {
        return Err(EventFailure::new(
            "InvalidData",
            format!("Field eventTime {event_time:?} is not a UTC time of the form yyyy-MM-ddTHH:mm:ssZ."),
        ));
    }
    required_string(&data, "", "UID", 1024)?;
    object_field(&data, "", "requestParameters")?;
    object_field(&data, "", "responseElements")?;
    string_field(&data, "", "errorCode", 1024)?;
    string_field(&data, "", "errorMessage", 1024)?;
    string_field(&data, "", "sourceIPAddress", 1024)?;
    object_field(&data, "", "additionalEventData")?;
    let recipient = required_string(&data, "", "recipientAccountId", 12)?;
    if recipient != channel_account {
        return Err(EventFailure::new(
            "InvalidRecipient",
            format!("recipientAccountId {recipient} is not the account that owns the channel ({channel_account})."),
        ));
    }
    Ok(ValidEvent {
        event_time: event_time.to_string(),
    })
}

/// Where a wrapped record comes from.
pub struct Wrap<'a> {
    pub event_id: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub channel_arn: &'a str,
    pub ingestion_time: &'a str,
}

/// The CloudTrail record of a valid event: the envelope, with `event_data`'s text inside as given.
pub fn wrap(w: &Wrap<'_>, valid: &ValidEvent, event_data: &str) -> String {
    let s = |v: &str| Value::String(v.to_string()).to_string();
    format!(
        r#"{{"eventVersion":{},"eventCategory":"ActivityAuditLog","eventType":"ActivityLog","eventID":{},"eventTime":{},"awsRegion":{},"recipientAccountId":{},"metadata":{{"ingestionTime":{},"channelARN":{}}},"eventData":{}}}"#,
        s(AUDIT_EVENT_VERSION),
        s(w.event_id),
        s(&valid.event_time),
        s(w.region),
        s(w.account),
        s(w.ingestion_time),
        s(w.channel_arn),
        event_data.trim(),
    )
}

/// A parsed request.
struct PutRequest {
    channel: Option<String>,
    external_id: Option<String>,
    events: Vec<AuditEvent>,
}

fn parse_request(parts: &Parts, body: &[u8]) -> Result<PutRequest, ApiError> {
    if parts.method != Method::POST || parts.uri.path() != "/PutAuditEvents" {
        return Err(ApiError::client(
            "UnknownOperationException",
            "CloudTrail Data serves POST /PutAuditEvents and POST /IngestEvents only.",
        )
        .with_status(StatusCode::NOT_FOUND));
    }
    let mut channel = None;
    let mut external_id = None;
    for (k, v) in crate::auth::sigv4::parse_query(parts.uri.query().unwrap_or("")) {
        match k.as_str() {
            "channelArn" => channel = Some(v),
            "externalId" => external_id = Some(v),
            _ => {}
        }
    }
    let parsed: RequestBody = if body.iter().all(u8::is_ascii_whitespace) {
        RequestBody { audit_events: None }
    } else {
        serde_json::from_slice(body)
            .map_err(|e| ApiError::client("SerializationException", format!("The request body is not valid: {e}")))?
    };
    Ok(PutRequest {
        channel,
        external_id,
        events: parsed.audit_events.unwrap_or_default(),
    })
}

/// The outcome of a call that reached its channel.
struct Ingested {
    body: Value,
    records: Vec<EventRecord>,
    channel: std::sync::Arc<ChannelConfig>,
    /// The eventID of the last accepted event; the code of the last failed one.
    last_success: Option<String>,
    last_error: Option<&'static str>,
}

fn authorize(principal: &Principal, resource: &str) -> Result<(), ApiError> {
    authorize_action(principal, "cloudtrail-data:PutAuditEvents", resource)
}

/// Checks the caller's policies for `action` on `resource`; the refusal reads as AWS's.
pub(crate) fn authorize_action(principal: &Principal, action: &str, resource: &str) -> Result<(), ApiError> {
    let why = match principal.authorize(action, resource) {
        Decision::Allow => return Ok(()),
        Decision::ExplicitDeny => "with an explicit deny in an identity-based policy".to_string(),
        Decision::ImplicitDeny => format!("because no identity-based policy allows the {action} action"),
    };
    Err(ApiError::access_denied(format!(
        "User: {} is not authorized to perform: {action} on resource: {resource} {why}",
        principal.arn
    ))
    .with_status(StatusCode::FORBIDDEN))
}

fn put_audit_events(
    ready: &crate::Ready,
    principal: &Principal,
    region: &str,
    req: &PutRequest,
) -> Result<Ingested, ApiError> {
    let account = principal.account_id.as_str();
    let given = req
        .channel
        .as_deref()
        .filter(|c| !c.is_empty())
        .ok_or_else(|| ApiError::client("InvalidChannelARN", "channelArn is required."))?;
    let (arn, valid) = resolve_channel(given, region, account);
    authorize(principal, &arn)?;
    if !valid {
        return Err(ApiError::client(
            "InvalidChannelARN",
            format!("{given} is not a valid channel ARN or ID."),
        ));
    }
    let channel = ready
        .channels
        .get(&arn)
        .filter(|c| c.account_id == account && c.region == region)
        .ok_or_else(|| {
            ApiError::client(
                "ChannelNotFound",
                format!("Channel {arn} was not found in account {account} and region {region}."),
            )
            .with_status(StatusCode::NOT_FOUND)
        })?;
    if let Some(x) = &req.external_id {
        let ok = (2..=1224).contains(&x.chars().count())
            && x.chars().all(|c| c.is_alphanumeric() || "_+=,.@:/-".contains(c));
        if !ok {
            return Err(validation(
                "externalId must be 2 to 1224 characters of letters, digits and _+=,.@:/-",
            ));
        }
    }
    if req.events.is_empty() || req.events.len() > MAX_EVENTS {
        return Err(validation(format!(
            "auditEvents must hold 1 to {MAX_EVENTS} events; this request has {}.",
            req.events.len()
        )));
    }
    let mut seen = HashSet::new();
    let mut total = 0usize;
    for (i, e) in req.events.iter().enumerate() {
        let id =
            e.id.as_deref()
                .ok_or_else(|| validation(format!("auditEvents[{i}].id is required.")))?;
        if !is_event_id(id) {
            return Err(validation(format!(
                "auditEvents[{i}].id {:?} is not valid: it must be 1 to 128 of the characters -_A-Za-z0-9.",
                id.chars().take(200).collect::<String>()
            )));
        }
        let data = e
            .event_data
            .as_deref()
            .ok_or_else(|| validation(format!("auditEvents[{i}].eventData is required.")))?;
        total += data.len();
        if !seen.insert(id) {
            return Err(ApiError::client(
                "DuplicatedAuditEventId",
                format!("The audit event id {id} appears more than once in the request."),
            ));
        }
    }
    if total > MAX_EVENT_DATA_BYTES {
        return Err(validation(format!(
            "The request's eventData totals {total} bytes; PutAuditEvents accepts at most {MAX_EVENT_DATA_BYTES} bytes per request."
        ))
        .with_status(StatusCode::PAYLOAD_TOO_LARGE));
    }

    let ingestion_time = EventTime::now().to_cloudtrail_string();
    let mut successful = Vec::new();
    let mut failed = Vec::new();
    let mut records = Vec::new();
    let mut last_success = None;
    let mut last_error = None;
    for e in &req.events {
        let id = e.id.as_deref().unwrap_or_default();
        let data = e.event_data.as_deref().unwrap_or_default();
        let outcome = validate_event(data, e.event_data_checksum.as_deref(), &channel.account_id).and_then(|v| {
            let event_id = uuid::Uuid::new_v4().to_string();
            let w = Wrap {
                event_id: &event_id,
                region,
                account: &channel.account_id,
                channel_arn: &channel.arn,
                ingestion_time: &ingestion_time,
            };
            EventRecord::from_json(&wrap(&w, &v, data))
                .map(|r| (event_id, r))
                .map_err(|err| EventFailure::new("InvalidData", format!("The event cannot be recorded: {err}")))
        });
        match outcome {
            Ok((event_id, record)) => {
                successful.push(json!({"id": id, "eventID": event_id}));
                records.push(record);
                last_success = Some(event_id);
            }
            Err(f) => {
                failed.push(json!({"id": id, "errorCode": f.code, "errorMessage": f.message}));
                last_error = Some(f.code);
            }
        }
    }
    Ok(Ingested {
        body: json!({"successful": successful, "failed": failed}),
        records,
        channel,
        last_success,
        last_error,
    })
}

/// A rest-json response with its request id.
pub(super) fn rest_json(status: StatusCode, body: &Value, request_id: &str) -> Response {
    let mut resp = (status, body.to_string()).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-amzn-requestid", v);
    }
    resp
}

/// A rest-json error: the code in `x-amzn-ErrorType` and in the body's `__type`.
pub(super) fn rest_error(e: &ApiError, request_id: &str) -> Response {
    let mut resp = rest_json(e.status, &json!({"__type": e.code, "message": e.message}), request_id);
    if let Ok(v) = HeaderValue::from_str(&e.code) {
        resp.headers_mut().insert("x-amzn-errortype", v);
    }
    resp
}

fn request_parameters(parts: &Parts) -> Option<Value> {
    let mut m = Map::new();
    for (k, v) in crate::auth::sigv4::parse_query(parts.uri.query().unwrap_or("")) {
        if k == "channelArn" || k == "externalId" {
            m.insert(k, Value::String(v.chars().take(2048).collect()));
        }
    }
    (!m.is_empty()).then_some(Value::Object(m))
}

fn call_record(parts: &Parts) -> CallRecord {
    CallRecord {
        event_source: EVENT_SOURCE,
        event_name: OPERATION.to_string(),
        read_only: false,
        management: true,
        request_parameters: request_parameters(parts),
        ..CallRecord::default()
    }
}

/// Authenticates a CloudTrail Data call whose audit record would be `call`. On failure, the answer
/// to send: a known key with a bad signature is recorded in its account first.
pub(super) async fn authenticate(
    state: &AppState,
    conn: &ConnInfo,
    parts: &Parts,
    body: &bytes::Bytes,
    request_id: &str,
    time: EventTime,
    mut call: CallRecord,
) -> Result<(std::sync::Arc<Principal>, String, crate::Ready), Response> {
    let claimed = Claimed::from_parts(parts);
    let ready = state.ready();
    // Hashing a large body is CPU work: off the async workers.
    let verified = if body.len() > 256 << 10 {
        let (s, p, b) = (state.clone(), parts.clone(), body.clone());
        tokio::task::spawn_blocking(move || caller::authenticate(&s, &p, &b, "cloudtrail-data"))
            .await
            .map_err(|e| rest_error(&ApiError::internal(e), request_id))?
    } else {
        caller::authenticate(state, parts, body, "cloudtrail-data")
    };
    let (principal, region) = match verified {
        Ok(a) => (a.principal, a.region),
        Err(e) => {
            let error = auth_error(&e);
            if let (Some(p), Some(ready), Some(region)) = (
                claimed
                    .access_key_id
                    .as_deref()
                    .and_then(|k| state.directory().principal(k)),
                ready.as_ref(),
                claimed.region.clone().filter(|r| cairn_model::Region::is_valid(r)),
            ) {
                let ctx = caller::context(parts, conn, &region, request_id, time);
                call.error = Some((error.code.clone(), error.message.clone()));
                if let Err(e) = audit::record(&ready.log, &audit::event(&ctx, &p, call)).await {
                    return Err(rest_error(&ApiError::from_log(&e), request_id));
                }
            }
            metrics::counter!("cairn_api_auth_failures_total", "protocol" => "cloudtrail-data").increment(1);
            return Err(rest_error(&error, request_id));
        }
    };
    let Some(ready) = ready else {
        return Err(rest_error(&ApiError::starting(), request_id));
    };
    Ok((principal, region, ready))
}

/// The request body, or the rest-json answer to one larger than `limit`.
pub(crate) async fn read_body(body: Body, limit: usize, request_id: &str) -> Result<bytes::Bytes, Response> {
    axum::body::to_bytes(body, limit).await.map_err(|_| {
        let e = ApiError::client(
            "RequestEntityTooLargeException",
            format!("The request body is larger than the limit of {limit} bytes."),
        )
        .with_status(StatusCode::PAYLOAD_TOO_LARGE);
        rest_error(&e, request_id)
    })
}

pub async fn handle(state: &AppState, conn: &ConnInfo, parts: Parts, body: Body) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let time = EventTime::now();
    let started = std::time::Instant::now();

    let body = match read_body(body, MAX_BODY_BYTES, &request_id).await {
        Ok(b) => b,
        Err(resp) => return resp,
    };

    let (principal, region, ready) =
        match authenticate(state, conn, &parts, &body, &request_id, time, call_record(&parts)).await {
            Ok(a) => a,
            Err(resp) => return resp,
        };

    let result = parse_request(&parts, &body).and_then(|req| put_audit_events(&ready, &principal, &region, &req));

    let mut record = call_record(&parts);
    if parts.uri.path() != "/PutAuditEvents" {
        record.event_name = "UnknownOperation".into();
    }
    let mut batch = Vec::new();
    let outcome = match result {
        Ok(ingested) => {
            record.resources = vec![channel_resource(&ingested.channel.account_id, &ingested.channel.arn)];
            batch = ingested.records;
            Ok((
                ingested.body,
                ingested.channel,
                ingested.last_success,
                ingested.last_error,
            ))
        }
        Err(e) => {
            record.error = Some((e.code.clone(), e.message.clone()));
            Err(e)
        }
    };
    let ctx = caller::context(&parts, conn, &region, &request_id, time);
    let audit_event = audit::event(&ctx, &principal, record);
    let accepted = batch.len();
    match audit_event.to_record() {
        Ok(r) => batch.push(r),
        Err(e) => return rest_error(&ApiError::internal(e), &request_id),
    }
    // The events and the record of the call, in one durable batch.
    if let Err(e) = ready.log.append(batch).await {
        return rest_error(&ApiError::from_log(&e), &request_id);
    }
    metrics::counter!("cairn_audit_events_total").increment(1);
    metrics::counter!("cairn_ingested_audit_events_total").increment(accepted as u64);

    let response = match outcome {
        Ok((body, channel, last_success, last_error)) => {
            let now = EventTime::now().millis();
            let updated = ready
                .channels
                .update(&channel.arn, |c, _| {
                    let s = &mut c.ingestion;
                    s.latest_attempt_ms = Some(now);
                    if let Some(id) = &last_success {
                        s.latest_success_ms = Some(now);
                        s.latest_success_event_id = Some(id.clone());
                        s.latest_attempt_event_id = Some(id.clone());
                    }
                    if let Some(code) = last_error {
                        s.latest_error_code = Some(code.to_string());
                    }
                    Ok::<(), std::convert::Infallible>(())
                })
                .await;
            if let Err(e) = updated {
                // The events are durable; only the channel's status is behind.
                tracing::error!(channel = %channel.arn, error = %e, "channel ingestion status not updated");
            }
            Ok(body)
        }
        Err(e) => Err(e),
    };
    crate::api::metrics::observe("cloudtrail-data", response.as_ref().err(), started);
    match response {
        Ok(body) => rest_json(StatusCode::OK, &body, &request_id),
        Err(e) => rest_error(&e, &request_id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACCOUNT: &str = "111111111111";

    fn data() -> Value {
        json!({
            "version": "1.0",
            "userIdentity": {"type": "CustomUser", "principalId": "alice", "details": {"team": "x"}},
            "userAgent": "app/1.0",
            "eventSource": "my.app",
            "eventName": "Login",
            "eventTime": "2026-01-02T03:04:05Z",
            "UID": "u-1",
            "requestParameters": {"a": 1},
            "recipientAccountId": ACCOUNT,
        })
    }

    fn check(v: &Value) -> Result<ValidEvent, EventFailure> {
        validate_event(&v.to_string(), None, ACCOUNT)
    }

    #[test]
    fn checksum_recipe() {
        // printf %s 'hello' | openssl dgst -binary -sha256 | base64
        assert_eq!(checksum("hello"), "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=");
        assert_eq!(checksum(""), "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foob"), "Zm9vYg==");
    }

    #[test]
    fn valid_event_and_checksum() {
        let text = data().to_string();
        let ok = validate_event(&text, Some(&checksum(&text)), ACCOUNT).unwrap();
        assert_eq!(ok.event_time, "2026-01-02T03:04:05Z");
        let bad = validate_event(&text, Some("AAAA"), ACCOUNT).unwrap_err();
        assert_eq!(bad.code, "InvalidChecksum");
    }

    #[test]
    fn per_event_errors() {
        let code = |v: &Value| check(v).unwrap_err().code;
        for field in [
            "version",
            "eventSource",
            "eventName",
            "eventTime",
            "UID",
            "recipientAccountId",
            "userIdentity",
        ] {
            let mut v = data();
            v.as_object_mut().unwrap().remove(field);
            let f = check(&v).unwrap_err();
            assert_eq!(f.code, "FieldNotFound", "{field}");
            assert!(f.message.contains(field), "{}", f.message);
        }
        let mut v = data();
        v["userIdentity"].as_object_mut().unwrap().remove("principalId");
        assert!(check(&v).unwrap_err().message.contains("userIdentity.principalId"));
        let mut v = data();
        v["eventName"] = json!("x".repeat(1025));
        assert_eq!(code(&v), "FieldTooLong");
        let mut v = data();
        v["version"] = json!("x".repeat(257));
        assert_eq!(code(&v), "FieldTooLong");
        let mut v = data();
        v["requestParameters"] = json!({"big": "x".repeat(MAX_OBJECT_BYTES)});
        assert_eq!(code(&v), "FieldTooLong");
        let mut v = data();
        v["recipientAccountId"] = json!("222222222222");
        assert_eq!(code(&v), "InvalidRecipient");
        let mut v = data();
        v["eventName"] = json!(5);
        assert_eq!(code(&v), "InvalidData");
        let mut v = data();
        v["requestParameters"] = json!([1]);
        assert_eq!(code(&v), "InvalidData");
        for t in [
            "2026-01-02 03:04:05",
            "2026-13-02T03:04:05Z",
            "yesterday",
            "2026-01-02T03:04:05+01:00",
        ] {
            let mut v = data();
            v["eventTime"] = json!(t);
            assert_eq!(code(&v), "InvalidData", "{t}");
        }
        let mut v = data();
        v["eventTime"] = json!("2026-01-02T03:04:05.123Z");
        assert!(check(&v).is_ok());
        assert_eq!(validate_event("[1]", None, ACCOUNT).unwrap_err().code, "InvalidData");
        assert_eq!(validate_event("{", None, ACCOUNT).unwrap_err().code, "InvalidData");
    }

    #[test]
    fn ids() {
        assert!(is_event_id("a-b_C9"));
        assert!(!is_event_id(""));
        assert!(!is_event_id("a b"));
        assert!(!is_event_id(&"a".repeat(129)));
    }

    #[test]
    fn wrapped_record_is_indexed_as_an_activity_audit_log() {
        let text = "{ \"version\":\"1.0\",\"userIdentity\":{\"type\":\"CustomUser\",\"principalId\":\"alice\"},\"eventSource\":\"my.app\",\"eventName\":\"Login\",\"eventTime\":\"2026-01-02T03:04:05Z\",\"UID\":\"u-1\",\"recipientAccountId\":\"111111111111\",\"n\":1.50}";
        let v = validate_event(text, None, ACCOUNT).unwrap();
        let w = Wrap {
            event_id: "0b3c5d1e-aaaa-bbbb-cccc-123456789012",
            region: "us-east-1",
            account: ACCOUNT,
            channel_arn: "arn:aws:cloudtrail:us-east-1:111111111111:channel/c",
            ingestion_time: "2026-01-02T03:05:00Z",
        };
        let r = EventRecord::from_json(&wrap(&w, &v, text)).unwrap();
        let idx = r.index();
        assert_eq!(idx.account_id, ACCOUNT);
        assert_eq!(idx.event_category, "ActivityAuditLog");
        assert_eq!(idx.event_type.as_deref(), Some("ActivityLog"));
        assert_eq!(idx.event_name.as_deref(), Some("Login"));
        assert_eq!(idx.event_source.as_deref(), Some("my.app"));
        assert_eq!(idx.region, "us-east-1");
        assert_eq!(idx.event_id, w.event_id);
        // The caller's text is kept (number spelling included).
        assert!(r.json().contains("\"n\":1.50"));
        let parsed: Value = serde_json::from_str(r.json()).unwrap();
        assert_eq!(parsed["metadata"]["channelARN"], json!(w.channel_arn));
        assert_eq!(parsed["eventData"]["eventName"], json!("Login"));
    }
}
