//! `GET /export/events`: the event history LookupEvents pages through, streamed as one CSV,
//! NDJSON or `{"Records":[...]}` download (for `cairn lookup`, for browsers through a presigned
//! URL, and for the console).
//!
//! Query: `format` (`csv`, the default; `json` for NDJSON; `records` for one JSON document),
//! `attribute` and `value` (one lookup attribute), `start` and `end` (RFC 3339 or epoch seconds,
//! inclusive), `category=insight`, `limit`.
//!
//! It is authorised as `cloudtrail:LookupEvents` (it reveals what lookups reveal), selects with the
//! same code and errors, and is admitted by the lookup rate limit once. Everything that can be
//! refused is refused, and the call recorded, before the first byte of the body: once streaming
//! has begun, a failing scan can only abort the transfer, which the client sees as an error rather
//! than as a complete file.

use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use cairn_log::{EventLog, ScanPage, ScanRequest};
use cairn_model::EventTime;
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;

use super::input::Input;
use super::lookup::Selection;
use super::{Call, EVENT_SOURCE, MAX_BODY_BYTES, auth_error, refuse_unauthenticated};
use crate::AppState;
use crate::api::caller::{self, Claimed};
use crate::api::error::ApiError;
use crate::audit::{self, CallContext, CallRecord};
use crate::auth::identity::Principal;
use crate::history::export::Format;
use crate::listener::ConnInfo;

pub const PATH: &str = "/export/events";
const EVENT_NAME: &str = "ExportEvents";
/// Events per scan (and per body chunk).
const PAGE: usize = 1000;
/// Chunks encoded ahead of the client: bounds the memory of an export whatever its size, and makes
/// a slow client slow the scan down.
const CHUNKS_AHEAD: usize = 2;

/// A parsed export request.
pub(crate) struct Export {
    format: Format,
    limit: Option<u64>,
    /// The filter in LookupEvents' members, for the shared checks and the audit record.
    input: Map<String, Value>,
}

fn invalid(message: String) -> ApiError {
    ApiError::invalid_parameter(message)
}

/// Epoch seconds of `start` or `end`: RFC 3339, or a number of seconds.
fn time_param(name: &str, v: &str) -> Result<Value, ApiError> {
    if let Ok(secs) = v.parse::<f64>()
        && secs.is_finite()
    {
        return Ok(json!(secs));
    }
    v.parse::<jiff::Timestamp>()
        .map(|t| json!(t.as_millisecond() as f64 / 1000.0))
        .map_err(|_| {
            ApiError::client(
                "SerializationException",
                format!("{name} must be an RFC 3339 time or epoch seconds, not {v:?}."),
            )
        })
}

/// The query's parameters. The `X-Amz-*` members of a presigned URL are the signature's business.
pub(crate) fn parse_query(query: &str) -> Result<Export, ApiError> {
    let mut format = Format::Csv;
    let mut limit = None;
    let mut input = Map::new();
    let (mut attribute, mut value) = (None, None);
    let mut seen: Vec<String> = Vec::new();
    for (k, v) in crate::auth::sigv4::parse_query(query) {
        if k.starts_with("X-Amz-") {
            continue;
        }
        if seen.contains(&k) {
            return Err(invalid(format!("The parameter {k} is given more than once.")));
        }
        seen.push(k.clone());
        match k.as_str() {
            "format" => {
                format = match v.as_str() {
                    "csv" => Format::Csv,
                    "json" | "ndjson" => Format::Ndjson,
                    "records" => Format::Records,
                    _ => {
                        return Err(invalid(format!(
                            "format must be csv, json (NDJSON) or records, not {v:?}."
                        )));
                    }
                }
            }
            "attribute" => attribute = Some(v),
            "value" => value = Some(v),
            "start" => {
                input.insert("StartTime".into(), time_param("start", &v)?);
            }
            "end" => {
                input.insert("EndTime".into(), time_param("end", &v)?);
            }
            "category" => {
                input.insert("EventCategory".into(), json!(v));
            }
            "limit" => match v.parse::<u64>() {
                Ok(n) if n > 0 => limit = Some(n),
                _ => return Err(invalid(format!("limit must be a positive integer, not {v:?}."))),
            },
            _ => {
                return Err(invalid(format!(
                    "{k:?} is not a parameter of {PATH}; use format, attribute, value, start, end, category or limit."
                )));
            }
        }
    }
    if attribute.is_some() || value.is_some() {
        input.insert(
            "LookupAttributes".into(),
            json!([{ "AttributeKey": attribute.unwrap_or_default(), "AttributeValue": value.unwrap_or_default() }]),
        );
    }
    Ok(Export { format, limit, input })
}

fn record_of(export: Option<&Export>, error: Option<&ApiError>) -> CallRecord {
    let request_parameters = export.map(|x| {
        let mut p = audit::lower_camel(&Value::Object(x.input.clone()));
        p["format"] = json!(match x.format {
            Format::Csv => "csv",
            Format::Ndjson => "json",
            Format::Records => "records",
        });
        if let Some(l) = x.limit {
            p["limit"] = json!(l);
        }
        p
    });
    CallRecord {
        event_source: EVENT_SOURCE,
        event_name: EVENT_NAME.into(),
        read_only: true,
        management: true,
        request_parameters,
        error: error.map(|e| (e.code.clone(), e.message.clone())),
        ..CallRecord::default()
    }
}

pub async fn handle(state: &AppState, conn: &ConnInfo, parts: Parts, body: Body) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let time = EventTime::now();
    let started = Instant::now();
    let claimed = Claimed::from_parts(&parts);
    // A GET carries no body, but one that was sent was signed and must be checked as such.
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return ApiError::client("RequestEntityTooLargeException", "An export request has no body.")
            .with_status(StatusCode::PAYLOAD_TOO_LARGE)
            .into_json_response(&request_id);
    };
    let parsed = parse_query(parts.uri.query().unwrap_or(""));

    let (principal, region) = match caller::authenticate(state, &parts, &body, "cloudtrail") {
        Ok(a) => (a.principal, a.region),
        Err(e) => {
            let error = auth_error(&e);
            let call = record_of(parsed.as_ref().ok(), Some(&error));
            return refuse_unauthenticated(state, conn, &parts, &claimed, call, error, &request_id, time).await;
        }
    };
    let ctx = caller::context(&parts, conn, &region, &request_id, time);
    serve(state, &principal, ctx, parsed, started).await
}

/// Streams the export of an authenticated caller (signed request or console session).
pub(crate) async fn serve(
    state: &AppState,
    principal: &Principal,
    ctx: CallContext,
    parsed: Result<Export, ApiError>,
    started: Instant,
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
        op: EVENT_NAME,
    };

    // Checks in LookupEvents' order, then the first page: a log that cannot be read fails the call
    // with a proper error instead of a broken download. Scanning before recording also keeps the
    // export's own record out of it, as a lookup's is.
    let first = async {
        call.authorize_as("LookupEvents", "*")?;
        if !state.admit_lookup(call.account(), call.region) {
            return Err(ApiError::client("ThrottlingException", "Rate exceeded"));
        }
        let export = parsed.as_ref().map_err(Clone::clone)?;
        let sel = Selection::parse(&Input(&export.input))?;
        let req = sel.scan_request(&call, page_size(export.limit));
        let page = ready.log.scan(&req).await.map_err(|e| ApiError::from_log(&e))?;
        Ok::<_, ApiError>((req, page, export.format, export.limit))
    }
    .await;

    let record = record_of(parsed.as_ref().ok(), first.as_ref().err());
    let event = audit::event(&ctx, principal, record);
    if let Err(e) = audit::record(&ready.log, &event).await {
        return ApiError::from_log(&e).into_json_response(&request_id);
    }
    crate::api::metrics::observe("cloudtrail", first.as_ref().err(), started);
    let (req, page, format, limit) = match first {
        Ok(v) => v,
        Err(e) => return e.into_json_response(&request_id),
    };

    let (tx, mut rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(CHUNKS_AHEAD);
    tokio::spawn(produce(ready.log.clone(), req, page, format, limit, tx));
    let stream = futures::stream::poll_fn(move |cx| rx.poll_recv(cx));
    let mut resp = Response::new(Body::from_stream(stream));
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(format.content_type()));
    // Account ids and region names are plain ASCII (both were validated on the way in).
    let disposition = format!(
        "attachment; filename=\"cairn-events-{}-{}.{}\"",
        call.account(),
        call.region,
        format.extension()
    );
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        h.insert("x-amzn-requestid", v);
    }
    resp
}

fn page_size(left: Option<u64>) -> usize {
    left.map_or(PAGE, |l| l.min(PAGE as u64) as usize)
}

/// Encodes `first` and the pages after it into the body channel, until the history, the limit or
/// the client ends. A scan error is sent as an error, which aborts the response body.
async fn produce(
    log: EventLog,
    mut req: ScanRequest,
    first: ScanPage,
    format: Format,
    limit: Option<u64>,
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
) {
    let mut left = limit.unwrap_or(u64::MAX);
    let mut page = first;
    let mut chunk = format.header().to_vec();
    let mut sent = 0u64;
    loop {
        let n = page.events.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        for (i, e) in page.events[..n].iter().enumerate() {
            format.write(&mut chunk, sent + i as u64, &e.record);
        }
        left -= n as u64;
        sent += n as u64;
        let next = page.next.filter(|_| left > 0);
        if next.is_none() {
            chunk.extend_from_slice(format.trailer());
        }
        if !chunk.is_empty() && tx.send(Ok(Bytes::from(std::mem::take(&mut chunk)))).await.is_err() {
            tracing::debug!(sent, "export client went away");
            return;
        }
        let Some(after) = next else { break };
        req.after = Some(after);
        req.limit = page_size(Some(left));
        // A client that leaves while a page is read stops the export now, not a page later.
        let scanned = tokio::select! {
            r = log.scan(&req) => r,
            () = tx.closed() => {
                tracing::debug!(sent, "export client went away");
                return;
            }
        };
        page = match scanned {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, sent, account = %req.account_id, region = %req.region, "export aborted: the event log could not be read");
                metrics::counter!("cairn_export_aborted_total").increment(1);
                let _ = tx.send(Err(std::io::Error::other(e.to_string()))).await;
                return;
            }
        };
    }
    metrics::counter!("cairn_export_events_total").increment(sent);
}
