//! [`CloudTrailEvent`]: a CloudTrail event record as typed fields.
//!
//! This is the editable, constructible form of a record (for events Cairn writes itself, such as
//! the record of its own API calls, and for Insights events). Stored and delivered records are kept
//! as their original text in [`EventRecord`](crate::EventRecord); converting that text to this type
//! and back gives an equal JSON value (every member is kept: unknown ones in `extra`), but not
//! necessarily the same bytes (member order of unknown fields, number spellings, escapes).
//!
//! Fields are declared in the order AWS emits them, so serialising a record gives AWS's layout.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::account::AccountId;
use crate::identity::UserIdentity;
use crate::record::{EventRecord, MAX_RECORD_BYTES, RecordError};
use crate::region::Region;
use crate::time::{EventTime, InvalidTime};

/// The `eventVersion` Cairn writes (CloudTrail's current record version).
pub const CURRENT_EVENT_VERSION: &str = "1.11";

/// One CloudTrail event record.
///
/// `requestParameters`, `responseElements` and the other free-form members are `Option<Value>`
/// where `None` means "absent" and `Some(Value::Null)` means "present as `null`" (CloudTrail writes
/// `"responseElements":null` for calls without response elements), so both read back as they came.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloudTrailEvent {
    /// `"1.NN"`, e.g. `"1.08"`, `"1.11"`.
    pub event_version: String,
    /// Absent in Insights events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_identity: Option<UserIdentity>,
    /// UTC, `YYYY-MM-DDTHH:MM:SSZ` (kept as written; see [`CloudTrailEvent::time`]).
    pub event_time: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_name: Option<String>,
    pub aws_region: String,
    #[serde(rename = "sourceIPAddress", default, skip_serializing_if = "Option::is_none")]
    pub source_ip_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// `Some(Value::Null)` is written as `null`; `None` omits the member.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub request_parameters: Option<Value>,
    /// `Some(Value::Null)` is written as `null`; `None` omits the member.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub response_elements: Option<Value>,
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub additional_event_data: Option<Value>,
    #[serde(rename = "requestID", default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(rename = "eventID")]
    pub event_id: String,
    /// A JSON boolean in records (LookupEvents shows it as a string).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Vec<Resource>>,
    /// `AwsApiCall`, `AwsServiceEvent`, `AwsConsoleAction`, `AwsConsoleSignIn`, `AwsVpceEvents`,
    /// `AwsCloudTrailInsight`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub management_event: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient_account_id: Option<String>,
    #[serde(rename = "sharedEventID", default, skip_serializing_if = "Option::is_none")]
    pub shared_event_id: Option<String>,
    /// Real log files write it after `sharedEventID`.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub service_event_details: Option<Value>,
    /// Insights events only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insight_details: Option<InsightDetails>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc_endpoint_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc_endpoint_account_id: Option<String>,
    /// `Management`, `Data`, `NetworkActivity`, `Insight`, `ActivityAuditLog`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addendum: Option<Addendum>,
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub edge_device_details: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_details: Option<TlsDetails>,
    /// `"true"` (a JSON string, not a boolean); only present when true. Real log files write it
    /// after `tlsDetails`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_credential_from_console: Option<String>,
    /// CloudTrail Lake enrichment only; never in trails or event history.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub event_context: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotation: Option<String>,
    /// Members this version does not know, kept as they came (written after the known ones).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Keeps a present `null` as `Some(Value::Null)` (serde's `Option` would turn it into `None`).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

impl CloudTrailEvent {
    /// A management `AwsApiCall` event in `region`, delivered to `recipient`, with
    /// `requestParameters` and `responseElements` set to `null`. The caller fills in the identity,
    /// `sourceIPAddress`, `userAgent`, `requestID`, `readOnly`, parameters and so on.
    pub fn api_call(
        time: EventTime,
        event_id: impl Into<String>,
        region: &Region,
        recipient: &AccountId,
        event_source: impl Into<String>,
        event_name: impl Into<String>,
    ) -> Self {
        CloudTrailEvent {
            event_version: CURRENT_EVENT_VERSION.to_string(),
            event_time: time.to_cloudtrail_string(),
            event_source: Some(event_source.into()),
            event_name: Some(event_name.into()),
            aws_region: region.to_string(),
            request_parameters: Some(Value::Null),
            response_elements: Some(Value::Null),
            event_id: event_id.into(),
            event_type: Some("AwsApiCall".to_string()),
            management_event: Some(true),
            recipient_account_id: Some(recipient.to_string()),
            event_category: Some("Management".to_string()),
            ..CloudTrailEvent::default()
        }
    }

    /// Parses a record from JSON text.
    pub fn from_json(json: &str) -> Result<Self, RecordError> {
        if json.len() > MAX_RECORD_BYTES {
            return Err(RecordError::TooLarge {
                size: json.len(),
                limit: MAX_RECORD_BYTES,
            });
        }
        serde_json::from_str(json).map_err(|e| {
            if e.is_data() {
                RecordError::InvalidField {
                    field: "record",
                    reason: e.to_string(),
                }
            } else {
                RecordError::InvalidJson(e.to_string())
            }
        })
    }

    /// The record as compact JSON, members in AWS's order.
    pub fn to_json(&self) -> String {
        // Only string-keyed maps and plain values: serialising cannot fail.
        serde_json::to_string(self).expect("a CloudTrailEvent always serialises to JSON")
    }

    /// The record as an [`EventRecord`] (its compact JSON plus index), ready for the event log.
    pub fn to_record(&self) -> Result<EventRecord, RecordError> {
        // serde wrote it: well-formed, so the scanner may index it.
        EventRecord::from_checked_json(&self.to_json())
    }

    /// `eventTime` parsed.
    pub fn time(&self) -> Result<EventTime, InvalidTime> {
        EventTime::parse(&self.event_time)
    }

    pub fn is_insight(&self) -> bool {
        self.insight_details.is_some() || self.event_category.as_deref() == Some("Insight")
    }
}

/// One entry of `resources`. Real log files write `accountId`, `type`, `ARN` in that order;
/// some data events name a prefix (`ARNPrefix`) instead of an ARN.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Resource {
    #[serde(rename = "accountId", default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// e.g. `AWS::S3::Bucket`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(rename = "ARN", default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    #[serde(rename = "ARNPrefix", default, skip_serializing_if = "Option::is_none")]
    pub arn_prefix: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `tlsDetails`: the TLS session of the request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TlsDetails {
    /// `TLSv1.2`, `TLSv1.3`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cipher_suite: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_provided_host_header: Option<String>,
    /// e.g. `x25519`, `X25519MLKEM768`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_exchange: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `addendum`: why an event was delivered late or changed.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Addendum {
    /// `DELIVERY_DELAY`, `UPDATED_DATA`, `SERVICE_OUTAGE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_fields: Option<String>,
    #[serde(rename = "originalRequestID", default, skip_serializing_if = "Option::is_none")]
    pub original_request_id: Option<String>,
    #[serde(rename = "originalEventID", default, skip_serializing_if = "Option::is_none")]
    pub original_event_id: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `insightDetails` of an Insights event.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InsightDetails {
    /// `Start` or `End`.
    pub state: String,
    /// The subject API's service, e.g. `autoscaling.amazonaws.com`.
    pub event_source: String,
    /// The subject API, e.g. `CompleteLifecycleAction`.
    pub event_name: String,
    /// `ApiCallRateInsight` or `ApiErrorRateInsight`.
    pub insight_type: String,
    /// Error-rate Insights only: the error code whose rate is unusual.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insight_context: Option<InsightContext>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `insightDetails.insightContext`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InsightContext {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statistics: Option<InsightStatistics>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributions: Option<Vec<InsightAttribution>>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `insightContext.statistics`: rates per minute over the baseline and during the insight.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InsightStatistics {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<InsightAverage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insight: Option<InsightAverage>,
    /// Minutes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insight_duration: Option<u64>,
    /// Minutes (at least 10080, seven days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_duration: Option<u64>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `{"average": <calls per minute>}`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct InsightAverage {
    pub average: f64,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One entry of `insightContext.attributions`: the top values of one attribute.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct InsightAttribution {
    /// `userIdentityArn`, `userAgent` or `errorCode`.
    pub attribute: String,
    /// Up to five values, highest average first.
    #[serde(default)]
    pub insight: Vec<AttributionValue>,
    #[serde(default)]
    pub baseline: Vec<AttributionValue>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `{"value": ..., "average": ...}`; an `errorCode` value of calls without error is the string
/// `"null"`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AttributionValue {
    pub value: String,
    pub average: f64,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::IdentityType;

    /// §1.2 of the reference, compact.
    const MANAGEMENT: &str = r#"{"eventVersion":"1.11","userIdentity":{"type":"AssumedRole","principalId":"AROAIDPPEZS35WEXAMPLE:MySessionName","arn":"arn:aws:sts::123456789012:assumed-role/RoleToBeAssumed/MySessionName","accountId":"123456789012","accessKeyId":"ASIAIOSFODNN7EXAMPLE","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAIDPPEZS35WEXAMPLE","arn":"arn:aws:iam::123456789012:role/RoleToBeAssumed","accountId":"123456789012","userName":"RoleToBeAssumed"},"webIdFederationData":{},"attributes":{"creationDate":"2024-05-01T10:00:00Z","mfaAuthenticated":"false"}}},"eventTime":"2024-05-01T10:02:03Z","eventSource":"cloudtrail.amazonaws.com","eventName":"StartLogging","awsRegion":"us-east-2","sourceIPAddress":"203.0.113.64","userAgent":"aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64","requestParameters":{"name":"arn:aws:cloudtrail:us-east-2:123456789012:trail/My-First-Trail"},"responseElements":null,"requestID":"ddf5140f-EXAMPLE","eventID":"7116c6a1-EXAMPLE","readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"123456789012","eventCategory":"Management","tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"cloudtrail.us-east-2.amazonaws.com"}}"#;

    /// §5 of the reference, compact.
    const INSIGHT: &str = r#"{"eventVersion":"1.07","eventTime":"2020-07-21T20:56:00Z","awsRegion":"us-east-1","eventID":"abcd00b0-ccfe-422d-961c-98a2198a408x","eventType":"AwsCloudTrailInsight","recipientAccountId":"838185438692","sharedEventID":"7bb000gg-22b3-4c03-94af-c74tj0c8m7c0","insightDetails":{"state":"Start","eventSource":"autoscaling.amazonaws.com","eventName":"CompleteLifecycleAction","insightType":"ApiCallRateInsight","insightContext":{"statistics":{"baseline":{"average":0.0000882145},"insight":{"average":0.6},"insightDuration":5,"baselineDuration":11336},"attributions":[{"attribute":"userIdentityArn","insight":[{"value":"arn:aws:sts::012345678901:assumed-role/CodeDeployRole1","average":0.2}],"baseline":[{"value":"arn:aws:sts::012345678901:assumed-role/CodeDeployRole1","average":0.0000882145}]},{"attribute":"userAgent","insight":[{"value":"codedeploy.amazonaws.com","average":0.6}],"baseline":[{"value":"codedeploy.amazonaws.com","average":0.0000882145}]},{"attribute":"errorCode","insight":[{"value":"null","average":0.6}],"baseline":[{"value":"null","average":0.0000882145}]}]}},"eventCategory":"Insight"}"#;

    fn value(s: &str) -> Value {
        serde_json::from_str(s).unwrap()
    }

    #[test]
    fn management_event_round_trips_in_aws_order() {
        let e = CloudTrailEvent::from_json(MANAGEMENT).unwrap();
        assert_eq!(e.event_name.as_deref(), Some("StartLogging"));
        assert_eq!(e.read_only, Some(false));
        assert_eq!(e.response_elements, Some(Value::Null));
        assert_eq!(e.user_identity.as_ref().unwrap().kind, Some(IdentityType::AssumedRole));
        assert_eq!(e.time().unwrap(), EventTime::parse("2024-05-01T10:02:03Z").unwrap());
        assert!(e.extra.is_empty());
        assert_eq!(e.to_json(), MANAGEMENT);
    }

    #[test]
    fn insight_event_round_trips() {
        let e = CloudTrailEvent::from_json(INSIGHT).unwrap();
        assert!(e.is_insight());
        assert!(e.user_identity.is_none());
        let d = e.insight_details.as_ref().unwrap();
        assert_eq!(d.state, "Start");
        assert_eq!(d.insight_type, "ApiCallRateInsight");
        let ctx = d.insight_context.as_ref().unwrap();
        let stats = ctx.statistics.as_ref().unwrap();
        assert_eq!(stats.insight.as_ref().unwrap().average, 0.6);
        assert_eq!(stats.baseline_duration, Some(11336));
        let attrs = ctx.attributions.as_ref().unwrap();
        assert_eq!(attrs.len(), 3);
        assert_eq!(attrs[2].insight[0].value, "null");
        // Same members in the same order; floats may be spelt differently, so compare values too.
        assert_eq!(value(&e.to_json()), value(INSIGHT));
        assert_eq!(e.to_json().replace("8.82145e-5", "0.0000882145"), INSIGHT);
    }

    #[test]
    fn absent_and_null_are_distinct() {
        let null = r#"{"eventVersion":"1.08","eventTime":"2023-07-10T12:00:00Z","awsRegion":"us-east-1","requestParameters":null,"eventID":"e1"}"#;
        let e = CloudTrailEvent::from_json(null).unwrap();
        assert_eq!(e.request_parameters, Some(Value::Null));
        assert_eq!(e.response_elements, None);
        assert_eq!(e.to_json(), null);
    }

    #[test]
    fn unknown_members_are_kept() {
        let src = r#"{"eventVersion":"1.99","eventTime":"2030-01-01T00:00:00Z","awsRegion":"xx-new-1","eventID":"e2","resources":[{"accountId":"123456789012","ARNPrefix":"arn:aws:s3:::b/p","scope":"prefix"}],"tlsDetails":{"tlsVersion":"TLSv1.3","keyExchange":"X25519MLKEM768","future":1},"brandNew":{"nested":[1,"two",null]},"another":false}"#;
        let e = CloudTrailEvent::from_json(src).unwrap();
        assert_eq!(e.extra.len(), 2);
        assert_eq!(e.extra["another"], Value::Bool(false));
        let r = &e.resources.as_ref().unwrap()[0];
        assert_eq!(r.arn_prefix.as_deref(), Some("arn:aws:s3:::b/p"));
        assert_eq!(r.extra["scope"], "prefix");
        assert_eq!(value(&e.to_json()), value(src));
    }

    #[test]
    fn rejects_non_records() {
        assert!(matches!(
            CloudTrailEvent::from_json("{"),
            Err(RecordError::InvalidJson(_))
        ));
        assert!(matches!(
            CloudTrailEvent::from_json("[]"),
            Err(RecordError::InvalidField { .. })
        ));
        // eventID is required.
        let no_id = r#"{"eventVersion":"1.08","eventTime":"2023-07-10T12:00:00Z","awsRegion":"us-east-1"}"#;
        assert!(matches!(
            CloudTrailEvent::from_json(no_id),
            Err(RecordError::InvalidField { .. })
        ));
        // readOnly is a boolean.
        let bad = r#"{"eventVersion":"1.08","eventTime":"2023-07-10T12:00:00Z","awsRegion":"us-east-1","eventID":"e","readOnly":"yes"}"#;
        assert!(CloudTrailEvent::from_json(bad).is_err());
    }

    #[test]
    fn api_call_builds_an_indexable_record() {
        let acct = AccountId::new("123456789012").unwrap();
        let region = Region::new("eu-west-1").unwrap();
        let time = EventTime::parse("2024-05-01T10:02:03Z").unwrap();
        let mut e = CloudTrailEvent::api_call(time, "id-1", &region, &acct, "cloudtrail.amazonaws.com", "CreateTrail");
        e.user_identity = Some(UserIdentity::iam_user(&acct, "AIDAEXAMPLE", "Alice", "AKIAEXAMPLE"));
        e.source_ip_address = Some("127.0.0.1".to_string());
        e.read_only = Some(false);
        let json = e.to_json();
        assert!(
            json.starts_with(r#"{"eventVersion":"1.11","userIdentity":{"type":"IAMUser""#),
            "{json}"
        );
        assert!(json.contains(r#""requestParameters":null,"responseElements":null,"eventID":"id-1","readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"123456789012","eventCategory":"Management"}"#), "{json}");
        let record = e.to_record().unwrap();
        let index = record.index();
        assert_eq!(index.event_id, "id-1");
        assert_eq!(index.event_time, time);
        assert_eq!(index.account_id, "123456789012");
        assert_eq!(index.region, "eu-west-1");
        assert_eq!(index.username.as_deref(), Some("Alice"));
        assert_eq!(index.read_only, Some(false));
        assert_eq!(CloudTrailEvent::from_json(record.json()).unwrap(), e);
    }
}
