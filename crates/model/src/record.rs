//! [`EventRecord`]: one CloudTrail event as its original JSON text plus the few fields the event log
//! indexes. The text is never re-serialised, so unknown fields, key order, number spellings and
//! string escapes come back exactly as they arrived (only insignificant whitespace is removed).

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::json::minify;

mod scan;
use crate::time::EventTime;

/// Largest accepted record: CloudTrail caps a record well below this (requestParameters and
/// responseElements at 100 KB each; CloudTrail Lake truncates at 1 MB).
pub const MAX_RECORD_BYTES: usize = 1 << 20;

/// Largest batch appended at once (the event log commits a batch as one unit).
pub const MAX_BATCH_BYTES: usize = 64 << 20;

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum RecordError {
    #[error("record is not valid JSON: {0}")]
    InvalidJson(String),
    #[error("record is not a JSON object")]
    NotAnObject,
    #[error("record is missing required field {0}")]
    MissingField(&'static str),
    #[error("record field {field} is invalid: {reason}")]
    InvalidField { field: &'static str, reason: String },
    #[error("record is {size} bytes; the limit is {limit} bytes")]
    TooLarge { size: usize, limit: usize },
}

/// A resource named by an event, as the event history shows it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResourceRef {
    /// e.g. `AWS::S3::Bucket`, `AWS::EC2::Instance`.
    pub resource_type: Option<String>,
    /// The resource's name (the last part of its ARN), e.g. `my-bucket`, `i-0abc`.
    pub name: Option<String>,
    /// The full ARN when the record gives one.
    pub arn: Option<String>,
}

/// The fields of a record that the event log partitions, orders and filters on. Derived from the
/// record text, so it can always be recomputed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordIndex {
    pub event_id: String,
    pub event_time: EventTime,
    /// The account that owns this copy of the event: `recipientAccountId`, else the caller's
    /// `userIdentity.accountId`.
    pub account_id: String,
    pub region: String,
    pub event_name: Option<String>,
    pub event_source: Option<String>,
    pub username: Option<String>,
    pub access_key_id: Option<String>,
    pub read_only: Option<bool>,
    /// `Management`, `Data`, `Insight`, `NetworkActivity`, `ActivityAuditLog`.
    pub event_category: String,
    pub event_type: Option<String>,
    pub resources: Vec<ResourceRef>,
}

impl RecordIndex {
    /// True for events CloudTrail's event history keeps: management events and insight events
    /// (data and network activity events are only delivered by trails).
    pub fn in_event_history(&self) -> bool {
        matches!(
            self.event_category.as_str(),
            "Management" | "Insight" | "ActivityAuditLog"
        )
    }

    pub fn is_insight(&self) -> bool {
        self.event_category == "Insight"
    }
}

/// One event record: its JSON text and its index. Cloning is cheap (the text is shared).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRecord {
    json: Arc<str>,
    index: Arc<Indexed>,
}

/// The index, and the record's event-history entry once [`EventRecord::prepare_history_entry`]
/// has rendered it (shared by every clone, so a record cache holds it too).
#[derive(Debug)]
struct Indexed {
    index: RecordIndex,
    history_entry: OnceLock<Box<[u8]>>,
}

impl Indexed {
    fn new(index: RecordIndex) -> Arc<Self> {
        Arc::new(Indexed {
            index,
            history_entry: OnceLock::new(),
        })
    }
}

/// Records are equal when their text and index are: a rendered entry is derived from both.
impl PartialEq for Indexed {
    fn eq(&self, other: &Self) -> bool {
        self.index == other.index
    }
}

impl Eq for Indexed {}

impl EventRecord {
    /// Parses a record from its JSON text.
    pub fn from_json(json: &str) -> Result<Self, RecordError> {
        Self::indexed_and_minified(json, index_record)
    }

    /// [`Self::from_json`] for text already checked to be one well-formed JSON value (a record
    /// of a log file that serde split into raw values, or JSON serde just wrote): indexed by the
    /// byte scanner rather than by a second full parse.
    pub fn from_checked_json(json: &str) -> Result<Self, RecordError> {
        Self::indexed_and_minified(json, index_stored)
    }

    /// Parses a record whose text is known to be compact already: one that Cairn stored itself
    /// (read back from its WAL or a segment, both checksummed). Skips the whitespace pass.
    pub fn from_compact_json(json: &str) -> Result<Self, RecordError> {
        check_size(json)?;
        Self::from_compact_arc(json.into())
    }

    /// [`Self::from_compact_json`] for text already shared (as a segment read hands it out), so
    /// the text is not copied again.
    pub fn from_compact_arc(json: Arc<str>) -> Result<Self, RecordError> {
        check_size(&json)?;
        let index = index_stored(&json)?;
        Ok(EventRecord {
            json,
            index: Indexed::new(index),
        })
    }

    /// The record of `json` indexed by `index`, whitespace removed; both sizes within the limit.
    fn indexed_and_minified(
        json: &str,
        index: fn(&str) -> Result<RecordIndex, RecordError>,
    ) -> Result<Self, RecordError> {
        check_size(json)?;
        let index = index(json)?;
        let json = minify(json);
        check_size(&json)?;
        Ok(EventRecord {
            json: json.into(),
            index: Indexed::new(index),
        })
    }

    /// A record whose JSON is already compact and whose index was computed earlier from it (for
    /// example when reading a segment). The caller vouches that they match.
    pub fn from_parts(json: Arc<str>, index: RecordIndex) -> Self {
        EventRecord {
            json,
            index: Indexed::new(index),
        }
    }

    pub fn json(&self) -> &str {
        &self.json
    }

    pub fn json_arc(&self) -> &Arc<str> {
        &self.json
    }

    pub fn index(&self) -> &RecordIndex {
        &self.index.index
    }

    pub fn event_id(&self) -> &str {
        &self.index.index.event_id
    }

    pub fn event_time(&self) -> EventTime {
        self.index.index.event_time
    }

    /// Renders and keeps this record's event-history entry ([`crate::history::write_entry`]), for
    /// records fetched ahead of the lookup page that will show them: the page then copies it.
    pub fn prepare_history_entry(&self) {
        thread_local! {
            static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        self.index.history_entry.get_or_init(|| {
            // Rendered into a reused buffer and kept in an allocation of the exact size: growing
            // and then shrinking a buffer per record is two trips through the allocator's slow
            // path for blocks this size.
            SCRATCH.with_borrow_mut(|buf| {
                buf.clear();
                crate::history::write_entry(buf, self);
                let entry = Box::<[u8]>::from(buf.as_slice());
                if buf.capacity() > 4 * MAX_RECORD_BYTES {
                    *buf = Vec::new();
                }
                entry
            })
        });
    }

    /// Appends this record's event-history entry: the prepared one, else rendered now (and not
    /// kept, so records that were only looked at hold no second copy).
    pub fn write_history_entry(&self, out: &mut Vec<u8>) {
        match self.index.history_entry.get() {
            Some(entry) => out.extend_from_slice(entry),
            None => crate::history::write_entry(out, self),
        }
    }

    /// About what this record holds in memory (for caches that count bytes).
    pub fn memory_size(&self) -> usize {
        const INDEX_BYTES: usize = 256;
        self.json.len() + INDEX_BYTES + self.index.history_entry.get().map_or(0, |e| e.len())
    }
}

fn check_size(json: &str) -> Result<(), RecordError> {
    if json.len() > MAX_RECORD_BYTES {
        return Err(RecordError::TooLarge {
            size: json.len(),
            limit: MAX_RECORD_BYTES,
        });
    }
    Ok(())
}

/// Splits a CloudTrail log file body (`{"Records":[...]}`) into its records, each with its original
/// bytes.
pub fn split_log_file(body: &str) -> Result<Vec<&RawValue>, RecordError> {
    #[derive(Deserialize)]
    struct LogFile<'a> {
        #[serde(borrow, rename = "Records")]
        records: Vec<&'a RawValue>,
    }
    serde_json::from_str::<LogFile<'_>>(body)
        .map(|f| f.records)
        .map_err(|e| RecordError::InvalidJson(e.to_string()))
}

// ---- index extraction -------------------------------------------------------------------------

#[derive(Deserialize, Default)]
struct IssuerView<'a> {
    #[serde(borrow, rename = "userName")]
    user_name: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Default)]
struct SessionContextView<'a> {
    #[serde(borrow, rename = "sessionIssuer")]
    session_issuer: Option<IssuerView<'a>>,
}

#[derive(Deserialize, Default)]
struct IdentityView<'a> {
    #[serde(borrow, rename = "type")]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "principalId")]
    principal_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    arn: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "accountId")]
    account_id: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "accessKeyId")]
    access_key_id: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "userName")]
    user_name: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "invokedBy")]
    invoked_by: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "sessionContext")]
    session_context: Option<SessionContextView<'a>>,
}

#[derive(Deserialize, Default)]
struct ResourceView<'a> {
    #[serde(borrow, rename = "ARN")]
    arn: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "ARNPrefix")]
    arn_prefix: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "type")]
    kind: Option<Cow<'a, str>>,
}

/// The `eventData` of a CloudTrail Lake integration record (`eventCategory: ActivityAuditLog`).
#[derive(Deserialize, Default)]
struct AuditEventDataView<'a> {
    #[serde(borrow, rename = "eventName")]
    event_name: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "eventSource")]
    event_source: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "userIdentity")]
    user_identity: Option<IdentityView<'a>>,
}

#[derive(Deserialize, Default)]
struct RecordView<'a> {
    #[serde(borrow, rename = "eventID")]
    event_id: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "eventTime")]
    event_time: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "awsRegion")]
    aws_region: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "recipientAccountId")]
    recipient_account_id: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "eventName")]
    event_name: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "eventSource")]
    event_source: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "eventCategory")]
    event_category: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "eventType")]
    event_type: Option<Cow<'a, str>>,
    #[serde(rename = "readOnly", default, deserialize_with = "read_only_flag")]
    read_only: Option<bool>,
    #[serde(borrow, rename = "userIdentity")]
    user_identity: Option<IdentityView<'a>>,
    #[serde(borrow, default)]
    resources: Option<Vec<ResourceView<'a>>>,
    #[serde(borrow, rename = "eventData")]
    event_data: Option<AuditEventDataView<'a>>,
    #[serde(borrow, rename = "insightDetails")]
    insight_details: Option<InsightView<'a>>,
}

#[derive(Deserialize, Default)]
struct InsightView<'a> {
    #[serde(borrow, rename = "eventName")]
    event_name: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "eventSource")]
    event_source: Option<Cow<'a, str>>,
}

/// `readOnly` is a JSON boolean in CloudTrail records; some producers send the string form.
fn read_only_flag<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Flag<'a> {
        Bool(bool),
        Str(&'a str),
        Other(serde::de::IgnoredAny),
    }
    Ok(match Option::<Flag<'de>>::deserialize(d)? {
        Some(Flag::Bool(b)) => Some(b),
        Some(Flag::Str(s)) if s.eq_ignore_ascii_case("true") => Some(true),
        Some(Flag::Str(s)) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    })
}

fn non_empty(v: Option<Cow<'_, str>>) -> Option<String> {
    v.filter(|s| !s.is_empty()).map(Cow::into_owned)
}

/// The "User name" the event history shows for an identity.
fn username_of(id: &IdentityView<'_>) -> Option<String> {
    if let Some(n) = id.user_name.as_deref().filter(|s| !s.is_empty()) {
        return Some(n.to_string());
    }
    match id.kind.as_deref() {
        // arn:aws:sts::123456789012:assumed-role/Role/SessionName -> SessionName
        Some("AssumedRole") | Some("FederatedUser") => id
            .arn
            .as_deref()
            .and_then(|a| a.rsplit('/').next())
            .filter(|s| !s.is_empty() && !s.starts_with("arn:"))
            .map(str::to_string)
            .or_else(|| {
                id.session_context
                    .as_ref()?
                    .session_issuer
                    .as_ref()?
                    .user_name
                    .as_deref()
                    .map(str::to_string)
            }),
        Some("Root") => Some("root".to_string()),
        Some("AWSService") => id.invoked_by.as_deref().map(str::to_string),
        _ => id.principal_id.as_deref().filter(|s| !s.is_empty()).map(str::to_string),
    }
}

/// The last part of an ARN's resource: `arn:aws:ec2:r:a:instance/i-1` -> `i-1`,
/// `arn:aws:s3:::bucket` -> `bucket`.
pub fn resource_name_from_arn(arn: &str) -> Option<&str> {
    let resource = arn.splitn(6, ':').nth(5)?;
    let name = match resource.find('/') {
        // S3 object ARNs keep their key: bucket/key stays whole.
        Some(_) if arn.starts_with("arn:aws:s3:::") || arn.contains(":s3:::") => resource,
        Some(i) => &resource[i + 1..],
        None => resource.rsplit(':').next().unwrap_or(resource),
    };
    (!name.is_empty()).then_some(name)
}

/// The index of a record whose JSON is known to be well-formed (Cairn stored it, or serde checked
/// it): the byte scanner, or the full parse for the shapes it leaves to it.
fn index_stored(json: &str) -> Result<RecordIndex, RecordError> {
    match scan::index_stored(json) {
        Some(view) => finish_index(view),
        None => index_record(json),
    }
}

fn index_record(json: &str) -> Result<RecordIndex, RecordError> {
    let first = json.trim_start().as_bytes().first().copied();
    if first != Some(b'{') {
        return Err(match serde_json::from_str::<serde::de::IgnoredAny>(json) {
            Ok(_) => RecordError::NotAnObject,
            Err(e) => RecordError::InvalidJson(e.to_string()),
        });
    }
    let view: RecordView<'_> = serde_json::from_str(json).map_err(|e| {
        if e.is_data() {
            // A known field of the wrong JSON type, e.g. "eventTime": 5.
            RecordError::InvalidField {
                field: "record",
                reason: e.to_string(),
            }
        } else {
            RecordError::InvalidJson(e.to_string())
        }
    })?;
    finish_index(view)
}

/// The index of a parsed view: the rules shared by the full parse and [`scan::index_stored`].
fn finish_index(view: RecordView<'_>) -> Result<RecordIndex, RecordError> {
    let event_id = non_empty(view.event_id).ok_or(RecordError::MissingField("eventID"))?;
    let event_time_text = view.event_time.ok_or(RecordError::MissingField("eventTime"))?;
    let event_time = EventTime::parse(&event_time_text).map_err(|e| RecordError::InvalidField {
        field: "eventTime",
        reason: e.to_string(),
    })?;
    let region = non_empty(view.aws_region).ok_or(RecordError::MissingField("awsRegion"))?;

    // CloudTrail Lake integration records carry the caller and the action inside eventData.
    let (identity, data_name, data_source) = match view.event_data {
        Some(d) => (view.user_identity.or(d.user_identity), d.event_name, d.event_source),
        None => (view.user_identity, None, None),
    };
    let account_id = non_empty(view.recipient_account_id)
        .or_else(|| non_empty(identity.as_ref().and_then(|i| i.account_id.clone())))
        .ok_or(RecordError::MissingField("recipientAccountId"))?;

    let event_category = non_empty(view.event_category).unwrap_or_else(|| {
        // Records older than eventVersion 1.07 have no eventCategory: they are management or
        // data events; insight records always carry it.
        "Management".to_string()
    });

    let mut event_name = non_empty(view.event_name).or_else(|| non_empty(data_name));
    let mut event_source = non_empty(view.event_source).or_else(|| non_empty(data_source));
    if let Some(ins) = view.insight_details {
        event_name = event_name.or_else(|| non_empty(ins.event_name));
        event_source = event_source.or_else(|| non_empty(ins.event_source));
    }

    let resources = view
        .resources
        .unwrap_or_default()
        .into_iter()
        .map(|r| {
            let arn = non_empty(r.arn).or_else(|| non_empty(r.arn_prefix));
            let name = arn.as_deref().and_then(resource_name_from_arn).map(str::to_string);
            ResourceRef {
                resource_type: non_empty(r.kind),
                name,
                arn,
            }
        })
        .collect();

    Ok(RecordIndex {
        event_id,
        event_time,
        account_id,
        region,
        event_name,
        event_source,
        username: identity.as_ref().and_then(username_of),
        access_key_id: non_empty(identity.as_ref().and_then(|i| i.access_key_id.clone())),
        read_only: view.read_only,
        event_category,
        event_type: non_empty(view.event_type),
        resources,
    })
}
