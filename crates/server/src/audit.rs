//! Self-audit: every call to Cairn becomes an event in the log, as CloudTrail records its own API.
//!
//! The record is appended (and durable) before the caller gets its answer, so a call that was
//! answered is a call that was recorded.

use cairn_log::EventLog;
use cairn_model::{CloudTrailEvent, EventTime, Resource, TlsDetails, UserIdentity};
use serde_json::{Map, Value};

use crate::auth::identity::Principal;

/// Who called, from where, over what.
#[derive(Debug, Clone)]
pub struct CallContext {
    pub region: String,
    pub source_ip: String,
    pub user_agent: Option<String>,
    pub request_id: String,
    pub tls: Option<TlsDetails>,
    pub time: EventTime,
    /// Made from a console session (`sessionCredentialFromConsole: "true"` in the record).
    pub from_console: bool,
}

/// What happened in a call, for its audit record.
#[derive(Debug, Clone, Default)]
pub struct CallRecord {
    pub event_source: &'static str,
    pub event_name: String,
    pub read_only: bool,
    /// False for data events (S3 object-level calls).
    pub management: bool,
    pub request_parameters: Option<Value>,
    pub response_elements: Option<Value>,
    pub error: Option<(String, String)>,
    pub resources: Vec<Resource>,
    pub additional_event_data: Option<Value>,
}

/// The event record of a call by `principal`.
pub fn event(ctx: &CallContext, principal: &Principal, call: CallRecord) -> CloudTrailEvent {
    let identity: Option<UserIdentity> = serde_json::from_value(principal.user_identity()).ok();
    let mut e = CloudTrailEvent {
        event_version: cairn_model::CURRENT_EVENT_VERSION.to_string(),
        user_identity: identity,
        event_time: ctx.time.to_cloudtrail_string(),
        event_source: Some(call.event_source.to_string()),
        event_name: Some(call.event_name),
        aws_region: ctx.region.clone(),
        source_ip_address: Some(ctx.source_ip.clone()),
        user_agent: ctx.user_agent.clone(),
        request_parameters: Some(call.request_parameters.unwrap_or(Value::Null)),
        response_elements: Some(call.response_elements.unwrap_or(Value::Null)),
        additional_event_data: call.additional_event_data,
        request_id: Some(ctx.request_id.clone()),
        event_id: uuid::Uuid::new_v4().to_string(),
        read_only: Some(call.read_only),
        resources: (!call.resources.is_empty()).then_some(call.resources),
        event_type: Some("AwsApiCall".into()),
        management_event: Some(call.management),
        recipient_account_id: Some(principal.account_id.clone()),
        event_category: Some(if call.management { "Management" } else { "Data" }.into()),
        tls_details: ctx.tls.clone(),
        session_credential_from_console: ctx.from_console.then(|| "true".to_string()),
        ..CloudTrailEvent::default()
    };
    if let Some((code, message)) = call.error {
        e.error_code = Some(code);
        e.error_message = Some(message);
    }
    e
}

/// Appends the record of a read-only call without waiting for its group commit (about a
/// millisecond later): the call changed nothing, and paging through the event history would
/// otherwise wait for one disk flush per page. Calls that change anything use [`record`].
pub fn record_read(log: &EventLog, event: &CloudTrailEvent) -> Result<(), cairn_log::Error> {
    log.append_detached(vec![event.to_record()?])?;
    metrics::counter!("cairn_audit_events_total").increment(1);
    Ok(())
}

/// Appends `event` and waits until it is durable.
pub async fn record(log: &EventLog, event: &CloudTrailEvent) -> Result<(), cairn_log::Error> {
    let record = event.to_record()?;
    log.append(vec![record]).await?;
    metrics::counter!("cairn_audit_events_total").increment(1);
    Ok(())
}

/// CloudTrail writes request parameters and response elements with lowerCamelCase member names
/// (`S3BucketName` becomes `s3BucketName`, `TrailARN` becomes `trailARN`).
pub fn lower_camel(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut out = Map::with_capacity(m.len());
            for (k, v) in m {
                out.insert(lower_first(k), lower_camel(v));
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(lower_camel).collect()),
        other => other.clone(),
    }
}

fn lower_first(k: &str) -> String {
    let mut c = k.chars();
    match c.next() {
        Some(f) if f.is_ascii_uppercase() => {
            // An acronym at the start is lowered whole, as AWS does (`S3KeyPrefix` -> `s3KeyPrefix`,
            // `ARN` -> `aRN` would be wrong).
            let mut s = String::with_capacity(k.len());
            s.push(f.to_ascii_lowercase());
            s.push_str(c.as_str());
            if k.len() > 1 && k.bytes().all(|b| b.is_ascii_uppercase()) {
                return k.to_ascii_lowercase();
            }
            s
        }
        _ => k.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_parameters_in_cloudtrail_style() {
        let v = serde_json::json!({"Name":"t","S3BucketName":"b","TagsList":[{"Key":"k","Value":"v"}],"trailNameList":["x"],"ARN":"a"});
        assert_eq!(
            lower_camel(&v),
            serde_json::json!({"name":"t","s3BucketName":"b","tagsList":[{"key":"k","value":"v"}],"trailNameList":["x"],"arn":"a"})
        );
    }
}
