//! Which events a trail selects, per its region settings and event selectors, and which folder of
//! the bucket each selected event goes to. Pure: no IO, built once per trail configuration.
//!
//! Account scoping (which accounts' events a trail receives) is the caller's job.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use cairn_model::record::{EventRecord, RecordIndex, ResourceRef};
use cairn_model::trail::{AdvancedEventSelector, AdvancedFieldSelector, EventSelector, ReadWriteType, TrailConfig};
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// Event sources of global services: a trail with `IncludeGlobalServiceEvents` off does not
/// receive their events.
///
/// CloudTrail records global service events in us-east-1, so these sources are only treated as
/// global there. That also keeps regional STS endpoints (sts.amazonaws.com events recorded in
/// other regions) selected, at the price of also dropping the regional STS calls made in
/// us-east-1, which CloudTrail cannot tell apart either from the record alone.
pub const GLOBAL_SERVICE_SOURCES: &[&str] = &[
    "iam.amazonaws.com",
    "sts.amazonaws.com",
    "cloudfront.amazonaws.com",
    "signin.amazonaws.com",
    "route53.amazonaws.com",
    "organizations.amazonaws.com",
    "waf.amazonaws.com",
    "globalaccelerator.amazonaws.com",
    "shield.amazonaws.com",
    "support.amazonaws.com",
    "health.amazonaws.com",
];

/// The region CloudTrail records global service events in.
pub const GLOBAL_SERVICE_REGION: &str = "us-east-1";

/// Which folder of the bucket an event is delivered to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Folder {
    CloudTrail,
    Insight,
}

impl Folder {
    /// The folder's name in object keys.
    pub fn name(self) -> &'static str {
        match self {
            Folder::CloudTrail => "CloudTrail",
            Folder::Insight => "CloudTrail-Insight",
        }
    }
}

/// A trail's selectors compiled for fast matching (build once per configuration change).
#[derive(Debug, Clone)]
pub struct Selection {
    /// None: a multi-region trail, which selects every region.
    region: Option<Box<str>>,
    include_global: bool,
    insight_types: Vec<Box<str>>,
    events: Events,
}

#[derive(Debug, Clone)]
enum Events {
    /// No selectors were ever set: every management event.
    AllManagement,
    Basic(Vec<Basic>),
    Advanced(Vec<Advanced>),
}

impl Selection {
    pub fn compile(trail: &TrailConfig) -> Selection {
        let events = match (&trail.advanced_event_selectors, &trail.event_selectors) {
            (Some(advanced), _) => Events::Advanced(advanced.iter().map(Advanced::compile).collect()),
            (None, Some(basic)) => Events::Basic(basic.iter().map(Basic::compile).collect()),
            (None, None) => Events::AllManagement,
        };
        let mut insight_types: Vec<Box<str>> = trail
            .insight_selectors
            .iter()
            .filter_map(|s| s.insight_type.as_deref())
            .map(Box::from)
            .collect();
        insight_types.sort();
        insight_types.dedup();
        Selection {
            region: (!trail.is_multi_region_trail).then(|| trail.home_region.as_str().into()),
            include_global: trail.include_global_service_events,
            insight_types,
            events,
        }
    }

    /// The folder `rec` goes to for this trail, or None when the trail does not select it.
    /// Account scoping (which accounts' events a trail receives) is NOT done here; region
    /// scoping IS.
    pub fn select(&self, rec: &EventRecord) -> Option<Folder> {
        let ix = rec.index();
        if self.region.as_deref().is_some_and(|home| ix.region != home) {
            return None;
        }
        if !self.include_global && is_global_service_event(ix) {
            return None;
        }
        let selected = match ix.event_category.as_str() {
            "Insight" => return self.select_insight(rec),
            // CloudTrail Lake channel events never reach trails.
            "ActivityAuditLog" => false,
            category => match &self.events {
                Events::AllManagement => category == "Management",
                Events::Basic(selectors) => selectors.iter().any(|s| s.matches(ix)),
                Events::Advanced(selectors) => {
                    let mut extras = Extras::new(rec.json());
                    selectors.iter().any(|s| s.matches(ix, &mut extras))
                }
            },
        };
        selected.then_some(Folder::CloudTrail)
    }

    fn select_insight(&self, rec: &EventRecord) -> Option<Folder> {
        if self.insight_types.is_empty() {
            return None;
        }
        let parsed: InsightRecord<'_> = serde_json::from_str(rec.json()).ok()?;
        let ty = parsed.insight_type?;
        self.insight_types
            .binary_search_by(|t| (**t).cmp(&*ty))
            .is_ok()
            .then_some(Folder::Insight)
    }

    /// Whether matching may parse the record's JSON text (tests check the common case does not).
    #[cfg(test)]
    fn reads_json(&self) -> bool {
        match &self.events {
            Events::Advanced(selectors) => selectors.iter().any(|s| !s.json_fields.is_empty()),
            _ => false,
        }
    }
}

fn is_global_service_event(ix: &RecordIndex) -> bool {
    ix.region == GLOBAL_SERVICE_REGION
        && ix
            .event_source
            .as_deref()
            .is_some_and(|s| GLOBAL_SERVICE_SOURCES.contains(&s))
}

// ---- basic selectors --------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReadWrite {
    All,
    ReadOnly,
    WriteOnly,
}

impl ReadWrite {
    fn holds(self, read_only: Option<bool>) -> bool {
        match self {
            ReadWrite::All => true,
            ReadWrite::ReadOnly => read_only == Some(true),
            // Events without the flag count as writes, the safer side for an audit trail.
            ReadWrite::WriteOnly => read_only != Some(true),
        }
    }
}

#[derive(Debug, Clone)]
struct Basic {
    read_write: ReadWrite,
    management: bool,
    excluded_sources: Vec<Box<str>>,
    data: Vec<DataRule>,
}

/// A data resource: events with a resource of this type whose ARN starts with one of the values.
#[derive(Debug, Clone)]
struct DataRule {
    resource_type: Box<str>,
    arn_prefixes: Vec<Box<str>>,
}

impl Basic {
    fn compile(s: &EventSelector) -> Basic {
        Basic {
            read_write: match s.read_write_type {
                None | Some(ReadWriteType::All) => ReadWrite::All,
                Some(ReadWriteType::ReadOnly) => ReadWrite::ReadOnly,
                Some(ReadWriteType::WriteOnly) => ReadWrite::WriteOnly,
            },
            management: s.include_management_events.unwrap_or(true),
            excluded_sources: s
                .exclude_management_event_sources
                .iter()
                .flatten()
                .map(|src| src.as_str().into())
                .collect(),
            data: s
                .data_resources
                .iter()
                .flatten()
                .filter_map(|r| {
                    Some(DataRule {
                        resource_type: r.r#type.as_deref()?.into(),
                        arn_prefixes: r.values.iter().flatten().map(|v| v.as_str().into()).collect(),
                    })
                })
                .filter(|r| !r.arn_prefixes.is_empty())
                .collect(),
        }
    }

    fn matches(&self, ix: &RecordIndex) -> bool {
        match ix.event_category.as_str() {
            "Management" => {
                self.management
                    && self.read_write.holds(ix.read_only)
                    && !ix
                        .event_source
                        .as_deref()
                        .is_some_and(|src| self.excluded_sources.iter().any(|x| **x == *src))
            }
            "Data" => {
                !self.data.is_empty()
                    && self.read_write.holds(ix.read_only)
                    && self.data.iter().any(|rule| rule.matches(&ix.resources))
            }
            _ => false,
        }
    }
}

impl DataRule {
    fn matches(&self, resources: &[ResourceRef]) -> bool {
        resources.iter().any(|r| {
            r.resource_type.as_deref() == Some(&*self.resource_type)
                && r.arn
                    .as_deref()
                    .is_some_and(|arn| self.arn_prefixes.iter().any(|p| arn.starts_with(&**p)))
        })
    }
}

// ---- advanced selectors -----------------------------------------------------------------------

/// Fields read from the record index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IndexField {
    EventCategory,
    EventSource,
    EventName,
    EventType,
    ReadOnly,
    /// A field this code does not know: always missing.
    Unknown,
}

/// Fields only the record text has, parsed when first needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JsonField {
    SessionCredentialFromConsole,
    UserIdentityArn,
    ErrorCode,
    VpcEndpointId,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ResourceField {
    Type,
    Arn,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Equals,
    StartsWith,
    EndsWith,
    NotEquals,
    NotStartsWith,
    NotEndsWith,
}

/// One field selector's operators, all of which must hold.
#[derive(Debug, Clone)]
struct Cond {
    /// Equals and NotEquals values are sorted, for binary search.
    ops: Vec<(Op, Box<[Box<str>]>)>,
    /// Some operator requires a value, so a missing field fails.
    positive: bool,
}

impl Cond {
    fn compile(f: &AdvancedFieldSelector) -> Cond {
        let mut ops = Vec::new();
        for (op, values) in [
            (Op::Equals, &f.equals),
            (Op::StartsWith, &f.starts_with),
            (Op::EndsWith, &f.ends_with),
            (Op::NotEquals, &f.not_equals),
            (Op::NotStartsWith, &f.not_starts_with),
            (Op::NotEndsWith, &f.not_ends_with),
        ] {
            let Some(values) = values else { continue };
            let mut values: Vec<Box<str>> = values.iter().map(|v| v.as_str().into()).collect();
            if matches!(op, Op::Equals | Op::NotEquals) {
                values.sort();
                values.dedup();
            }
            ops.push((op, values.into_boxed_slice()));
        }
        let positive = ops
            .iter()
            .any(|(op, _)| matches!(op, Op::Equals | Op::StartsWith | Op::EndsWith));
        Cond { ops, positive }
    }

    fn holds(&self, value: Option<&str>) -> bool {
        let Some(v) = value else {
            return !self.positive;
        };
        self.ops.iter().all(|(op, values)| {
            let equals = || values.binary_search_by(|x| (**x).cmp(v)).is_ok();
            let starts = || values.iter().any(|x| v.starts_with(&**x));
            let ends = || values.iter().any(|x| v.ends_with(&**x));
            match op {
                Op::Equals => equals(),
                Op::StartsWith => starts(),
                Op::EndsWith => ends(),
                Op::NotEquals => !equals(),
                Op::NotStartsWith => !starts(),
                Op::NotEndsWith => !ends(),
            }
        })
    }
}

/// An advanced selector, its conditions grouped by cost so cheap ones short-circuit first.
#[derive(Debug, Clone)]
struct Advanced {
    index_fields: Vec<(IndexField, Cond)>,
    /// Must all hold on one and the same resource of the event.
    resource_fields: Vec<(ResourceField, Cond)>,
    json_fields: Vec<(JsonField, Cond)>,
}

impl Advanced {
    fn compile(s: &AdvancedEventSelector) -> Advanced {
        let mut a = Advanced {
            index_fields: Vec::new(),
            resource_fields: Vec::new(),
            json_fields: Vec::new(),
        };
        for f in &s.field_selectors {
            let cond = Cond::compile(f);
            match f.field.as_str() {
                "eventCategory" => a.index_fields.push((IndexField::EventCategory, cond)),
                "eventSource" => a.index_fields.push((IndexField::EventSource, cond)),
                "eventName" => a.index_fields.push((IndexField::EventName, cond)),
                "eventType" => a.index_fields.push((IndexField::EventType, cond)),
                "readOnly" => a.index_fields.push((IndexField::ReadOnly, cond)),
                "resources.type" => a.resource_fields.push((ResourceField::Type, cond)),
                "resources.ARN" => a.resource_fields.push((ResourceField::Arn, cond)),
                "sessionCredentialFromConsole" => a.json_fields.push((JsonField::SessionCredentialFromConsole, cond)),
                "userIdentity.arn" => a.json_fields.push((JsonField::UserIdentityArn, cond)),
                "errorCode" => a.json_fields.push((JsonField::ErrorCode, cond)),
                "vpcEndpointId" => a.json_fields.push((JsonField::VpcEndpointId, cond)),
                _ => a.index_fields.push((IndexField::Unknown, cond)),
            }
        }
        a
    }

    fn matches(&self, ix: &RecordIndex, extras: &mut Extras<'_>) -> bool {
        self.index_fields.iter().all(|(f, c)| c.holds(index_value(ix, *f)))
            && resources_hold(&self.resource_fields, &ix.resources)
            && self.json_fields.iter().all(|(f, c)| c.holds(extras.get(*f)))
    }
}

fn index_value(ix: &RecordIndex, field: IndexField) -> Option<&str> {
    match field {
        IndexField::EventCategory => Some(&ix.event_category),
        IndexField::EventSource => ix.event_source.as_deref(),
        IndexField::EventName => ix.event_name.as_deref(),
        IndexField::EventType => ix.event_type.as_deref(),
        IndexField::ReadOnly => ix.read_only.map(|r| if r { "true" } else { "false" }),
        IndexField::Unknown => None,
    }
}

fn resources_hold(conds: &[(ResourceField, Cond)], resources: &[ResourceRef]) -> bool {
    if conds.is_empty() {
        return true;
    }
    let on = |r: Option<&ResourceRef>| {
        conds.iter().all(|(f, c)| {
            c.holds(r.and_then(|r| match f {
                ResourceField::Type => r.resource_type.as_deref(),
                ResourceField::Arn => r.arn.as_deref(),
            }))
        })
    };
    if resources.is_empty() {
        // No resource: every resources.* field is missing.
        on(None)
    } else {
        resources.iter().any(|r| on(Some(r)))
    }
}

// ---- fields read from the record text ----------------------------------------------------------

/// The record-text fields of one event, parsed at most once and only when a selector asks.
struct Extras<'a> {
    json: &'a str,
    parsed: Option<ExtraFields<'a>>,
}

impl<'a> Extras<'a> {
    fn new(json: &'a str) -> Self {
        Extras { json, parsed: None }
    }

    fn get(&mut self, field: JsonField) -> Option<&str> {
        let json = self.json;
        // A text that fails to parse (it was indexed, so it should not) has none of the fields.
        let p = self
            .parsed
            .get_or_insert_with(|| serde_json::from_str(json).unwrap_or_default());
        match field {
            JsonField::SessionCredentialFromConsole => p.session_credential_from_console.as_deref(),
            JsonField::UserIdentityArn => p.user_identity_arn.as_deref(),
            JsonField::ErrorCode => p.error_code.as_deref(),
            JsonField::VpcEndpointId => p.vpc_endpoint_id.as_deref(),
        }
    }
}

#[derive(Deserialize, Default)]
struct ExtraFields<'a> {
    #[serde(
        borrow,
        default,
        rename = "sessionCredentialFromConsole",
        deserialize_with = "loose_str"
    )]
    session_credential_from_console: Option<Cow<'a, str>>,
    #[serde(borrow, default, rename = "userIdentity", deserialize_with = "loose_arn_member")]
    user_identity_arn: Option<Cow<'a, str>>,
    #[serde(borrow, default, rename = "errorCode", deserialize_with = "loose_str")]
    error_code: Option<Cow<'a, str>>,
    #[serde(borrow, default, rename = "vpcEndpointId", deserialize_with = "loose_str")]
    vpc_endpoint_id: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct InsightRecord<'a> {
    #[serde(borrow, default, rename = "insightDetails", deserialize_with = "loose_insight_type")]
    insight_type: Option<Cow<'a, str>>,
}

fn loose_str<'de: 'a, 'a, D: Deserializer<'de>>(d: D) -> Result<Option<Cow<'a, str>>, D::Error> {
    Loose::new(None).deserialize(d)
}

fn loose_arn_member<'de: 'a, 'a, D: Deserializer<'de>>(d: D) -> Result<Option<Cow<'a, str>>, D::Error> {
    Loose::new(Some("arn")).deserialize(d)
}

fn loose_insight_type<'de: 'a, 'a, D: Deserializer<'de>>(d: D) -> Result<Option<Cow<'a, str>>, D::Error> {
    Loose::new(Some("insightType")).deserialize(d)
}

/// Reads a JSON value as an optional string, never failing on its type (one odd field must not
/// hide the others): a string gives itself, a boolean "true"/"false" (some producers send flags
/// unquoted), an object its member `member` read the same way, anything else nothing.
struct Loose<'a> {
    member: Option<&'static str>,
    text: PhantomData<&'a str>,
}

impl Loose<'_> {
    fn new(member: Option<&'static str>) -> Self {
        Loose {
            member,
            text: PhantomData,
        }
    }
}

impl<'de: 'a, 'a> DeserializeSeed<'de> for Loose<'a> {
    type Value = Option<Cow<'a, str>>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de: 'a, 'a> Visitor<'de> for Loose<'a> {
    type Value = Option<Cow<'a, str>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(self.member.is_none().then_some(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(self.member.is_none().then(|| Cow::Owned(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(self.member.is_none().then_some(Cow::Owned(v)))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(self
            .member
            .is_none()
            .then_some(Cow::Borrowed(if v { "true" } else { "false" })))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        IgnoredAny.visit_seq(seq).map(|_| None)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let Some(member) = self.member else {
            return IgnoredAny.visit_map(map).map(|_| None);
        };
        let mut found = None;
        while let Some(is_member) = map.next_key_seed(KeyIs(member))? {
            if is_member {
                found = map.next_value_seed(Loose::new(None))?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// Deserializes a map key as whether it equals the given name.
struct KeyIs(&'static str);

impl<'de> DeserializeSeed<'de> for KeyIs {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyIs {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
        Ok(v == self.0)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::io::Read;
    use std::path::{Path, PathBuf};

    use cairn_model::record::split_log_file;
    use cairn_model::trail::{AdvancedEventSelector, EventSelector, InsightSelector};
    use serde_json::value::RawValue;
    use serde_json::{Value, json};

    use super::*;
    use crate::trails::validate;

    fn trail() -> TrailConfig {
        TrailConfig {
            is_multi_region_trail: true,
            ..TrailConfig::new("main", "111122223333", "eu-west-1", "audit-bucket", 0)
        }
    }

    /// A trail with basic selectors given in the API's JSON shape.
    fn basic(selectors: Value) -> TrailConfig {
        TrailConfig {
            event_selectors: Some(serde_json::from_value(selectors).unwrap()),
            ..trail()
        }
    }

    /// A trail with advanced selectors given in the API's JSON shape.
    fn advanced(selectors: Value) -> TrailConfig {
        TrailConfig {
            advanced_event_selectors: Some(serde_json::from_value(selectors).unwrap()),
            ..trail()
        }
    }

    /// A trail with one advanced selector of these field selectors.
    fn fields(fields: Value) -> TrailConfig {
        advanced(json!([{ "FieldSelectors": fields }]))
    }

    /// A read-only management event in eu-west-1, with `changes` applied (null removes a member).
    fn rec(changes: Value) -> EventRecord {
        let mut v = json!({
            "eventVersion": "1.09",
            "userIdentity": {
                "type": "IAMUser",
                "arn": "arn:aws:iam::111122223333:user/alice",
                "accountId": "111122223333",
            },
            "eventTime": "2024-05-01T12:00:00Z",
            "eventSource": "ec2.amazonaws.com",
            "eventName": "DescribeInstances",
            "awsRegion": "eu-west-1",
            "readOnly": true,
            "eventID": "0b1e2f6a-0000-4000-8000-000000000001",
            "eventType": "AwsApiCall",
            "recipientAccountId": "111122223333",
            "eventCategory": "Management",
        });
        let obj = v.as_object_mut().unwrap();
        for (k, val) in changes.as_object().unwrap() {
            if val.is_null() {
                obj.remove(k);
            } else {
                obj.insert(k.clone(), val.clone());
            }
        }
        EventRecord::from_json(&v.to_string()).unwrap()
    }

    /// An S3 object data event on `bucket/key`.
    fn s3_object(bucket: &str, key: &str, read_only: bool) -> EventRecord {
        rec(json!({
            "eventCategory": "Data",
            "eventSource": "s3.amazonaws.com",
            "eventName": if read_only { "GetObject" } else { "PutObject" },
            "readOnly": read_only,
            "resources": [
                { "type": "AWS::S3::Object", "ARN": format!("arn:aws:s3:::{bucket}/{key}") },
                { "accountId": "111122223333", "type": "AWS::S3::Bucket", "ARN": format!("arn:aws:s3:::{bucket}") },
            ],
        }))
    }

    fn select(t: &TrailConfig, r: &EventRecord) -> Option<Folder> {
        Selection::compile(t).select(r)
    }

    fn selected(t: &TrailConfig, r: &EventRecord) -> bool {
        select(t, r) == Some(Folder::CloudTrail)
    }

    #[test]
    fn folder_names() {
        assert_eq!(Folder::CloudTrail.name(), "CloudTrail");
        assert_eq!(Folder::Insight.name(), "CloudTrail-Insight");
        fn shareable<T: Send + Sync + Clone>() {}
        shareable::<Selection>();
    }

    #[test]
    fn default_trail_selects_all_management_events_only() {
        let t = trail();
        assert_eq!(select(&t, &rec(json!({}))), Some(Folder::CloudTrail));
        assert!(selected(
            &t,
            &rec(json!({"readOnly": false, "eventName": "RunInstances"}))
        ));
        assert!(selected(&t, &rec(json!({"readOnly": null}))));
        // Records older than eventVersion 1.07 carry no category: management.
        assert!(selected(&t, &rec(json!({"eventCategory": null}))));
        assert!(!selected(&t, &s3_object("b", "k", true)));
        assert!(!selected(&t, &rec(json!({"eventCategory": "NetworkActivity"}))));
        assert!(!selected(&t, &rec(json!({"eventCategory": "ActivityAuditLog"}))));
        assert!(!selected(&t, &rec(json!({"eventCategory": "SomethingNew"}))));
    }

    #[test]
    fn single_region_trails_select_their_home_region_only() {
        let single = TrailConfig {
            is_multi_region_trail: false,
            ..trail()
        };
        let home = rec(json!({}));
        let away = rec(json!({"awsRegion": "us-west-2"}));
        assert!(selected(&single, &home));
        assert!(!selected(&single, &away));
        assert!(selected(&trail(), &away));
        // The rule applies whatever the selectors.
        let single_data = TrailConfig {
            is_multi_region_trail: false,
            ..basic(json!([{"DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}]}]))
        };
        let mut far_object = s3_object("b", "k", true);
        assert!(selected(&single_data, &far_object));
        far_object = EventRecord::from_json(&far_object.json().replace("eu-west-1", "ap-south-1")).unwrap();
        assert!(!selected(&single_data, &far_object));
    }

    #[test]
    fn global_service_events_are_dropped_in_us_east_1_only_when_excluded() {
        let excluding = TrailConfig {
            include_global_service_events: false,
            ..trail()
        };
        for src in GLOBAL_SERVICE_SOURCES {
            let global = rec(json!({"eventSource": src, "awsRegion": "us-east-1"}));
            assert!(!selected(&excluding, &global), "{src}");
            assert!(selected(&trail(), &global), "{src}");
            // Regional endpoints (e.g. STS) recorded elsewhere are regional events.
            assert!(selected(&excluding, &rec(json!({"eventSource": src}))), "{src}");
        }
        assert!(selected(&excluding, &rec(json!({"awsRegion": "us-east-1"}))));
        assert!(selected(
            &excluding,
            &rec(json!({"awsRegion": "us-east-1", "eventSource": null}))
        ));
        let single_us = TrailConfig {
            is_multi_region_trail: false,
            home_region: "us-east-1".into(),
            ..trail()
        };
        assert!(selected(
            &single_us,
            &rec(json!({"eventSource": "iam.amazonaws.com", "awsRegion": "us-east-1"}))
        ));
    }

    fn insight(ty: Value) -> EventRecord {
        rec(json!({
            "eventCategory": "Insight",
            "eventType": "AwsCloudTrailInsight",
            "eventSource": null,
            "eventName": null,
            "readOnly": null,
            "userIdentity": null,
            "sharedEventID": "7a0c1f3e-0000-4000-8000-000000000009",
            "insightDetails": {
                "state": "Start",
                "eventSource": "ec2.amazonaws.com",
                "eventName": "RunInstances",
                "insightType": ty,
                "insightContext": {"statistics": {"baseline": {"average": 0.1}}},
            },
        }))
    }

    #[test]
    fn insight_events_go_to_the_insight_folder_when_their_type_is_selected() {
        let with = |types: &[&str]| TrailConfig {
            insight_selectors: types
                .iter()
                .map(|t| InsightSelector {
                    insight_type: Some(t.to_string()),
                    event_categories: None,
                })
                .collect(),
            ..trail()
        };
        let call_rate = insight(json!("ApiCallRateInsight"));
        assert_eq!(select(&trail(), &call_rate), None);
        assert_eq!(
            select(&with(&["ApiCallRateInsight"]), &call_rate),
            Some(Folder::Insight)
        );
        assert_eq!(
            select(&with(&["ApiErrorRateInsight", "ApiCallRateInsight"]), &call_rate),
            Some(Folder::Insight)
        );
        assert_eq!(select(&with(&["ApiErrorRateInsight"]), &call_rate), None);
        assert_eq!(
            select(&with(&["ApiErrorRateInsight"]), &insight(json!("ApiErrorRateInsight"))),
            Some(Folder::Insight)
        );
        // A missing or odd insight type selects nothing, and never panics.
        assert_eq!(select(&with(&["ApiCallRateInsight"]), &insight(json!(null))), None);
        assert_eq!(select(&with(&["ApiCallRateInsight"]), &insight(json!(7))), None);
        assert_eq!(
            select(
                &with(&["ApiCallRateInsight"]),
                &rec(json!({"eventCategory": "Insight"}))
            ),
            None
        );
        // Region scoping applies to insights too.
        let single = TrailConfig {
            is_multi_region_trail: false,
            home_region: "us-west-2".into(),
            ..with(&["ApiCallRateInsight"])
        };
        assert_eq!(select(&single, &call_rate), None);
        // Selectors that take every category still never put an insight in the CloudTrail folder.
        let everything = TrailConfig {
            insight_selectors: Vec::new(),
            ..fields(json!([{"Field": "eventCategory", "NotEquals": ["x"]}]))
        };
        assert_eq!(select(&everything, &call_rate), None);
        assert!(selected(&everything, &rec(json!({}))));
    }

    #[test]
    fn activity_audit_log_events_are_never_selected() {
        let audit = rec(json!({"eventCategory": "ActivityAuditLog", "eventType": "ActivityAuditLog"}));
        assert_eq!(select(&trail(), &audit), None);
        let everything = fields(json!([{"Field": "eventCategory", "NotEquals": ["x"]}]));
        assert_eq!(select(&everything, &audit), None);
        let mut all = basic(json!([{"ReadWriteType": "All"}]));
        assert_eq!(select(&all, &audit), None);
        all.insight_selectors.push(InsightSelector {
            insight_type: Some("ApiCallRateInsight".into()),
            event_categories: None,
        });
        assert_eq!(select(&all, &audit), None);
    }

    #[test]
    fn basic_read_write_types() {
        let read = rec(json!({"readOnly": true}));
        let write = rec(json!({"readOnly": false}));
        let unknown = rec(json!({"readOnly": null}));
        for (rw, expect) in [
            (json!(null), [true, true, true]),
            (json!("All"), [true, true, true]),
            (json!("ReadOnly"), [true, false, false]),
            (json!("WriteOnly"), [false, true, true]),
        ] {
            let mut s = json!({});
            if !rw.is_null() {
                s["ReadWriteType"] = rw.clone();
            }
            let t = basic(json!([s]));
            let got = [&read, &write, &unknown].map(|r| selected(&t, r));
            assert_eq!(got, expect, "{rw}");
        }
        // It applies to data events as well.
        let t = basic(json!([{
            "ReadWriteType": "WriteOnly", "IncludeManagementEvents": false,
            "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}],
        }]));
        assert!(selected(&t, &s3_object("b", "k", false)));
        assert!(!selected(&t, &s3_object("b", "k", true)));
    }

    #[test]
    fn basic_management_settings() {
        let kms = rec(json!({"eventSource": "kms.amazonaws.com", "eventName": "Decrypt"}));
        let ec2 = rec(json!({}));
        let no_mgmt = basic(json!([{"IncludeManagementEvents": false}]));
        assert!(!selected(&no_mgmt, &ec2));
        assert!(selected(&basic(json!([{"IncludeManagementEvents": true}])), &ec2));
        assert!(selected(&basic(json!([{}])), &ec2));
        let no_kms = basic(json!([{"ExcludeManagementEventSources": ["kms.amazonaws.com"]}]));
        assert!(!selected(&no_kms, &kms));
        assert!(selected(&no_kms, &ec2));
        // Any selector that matches selects the event.
        let either = basic(json!([
            {"ExcludeManagementEventSources": ["kms.amazonaws.com"]},
            {"ReadWriteType": "ReadOnly"},
        ]));
        assert!(selected(&either, &kms));
        assert!(!selected(
            &either,
            &rec(json!({"eventSource": "kms.amazonaws.com", "readOnly": false}))
        ));
        // An empty selector list selects nothing; basic selectors never take network activity.
        assert!(!selected(&basic(json!([])), &ec2));
        let net = rec(json!({"eventCategory": "NetworkActivity", "vpcEndpointId": "vpce-1"}));
        assert!(!selected(&basic(json!([{"ReadWriteType": "All"}])), &net));
    }

    #[test]
    fn basic_data_resources_match_type_and_arn_prefix_on_one_resource() {
        let all_s3 = basic(json!([{"IncludeManagementEvents": false,
            "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}]}]));
        let one_bucket = basic(json!([{"IncludeManagementEvents": false,
            "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::logs/"]}]}]));
        let logs = s3_object("logs", "2024/a.txt", true);
        let other = s3_object("logs-archive", "a.txt", true);
        assert!(selected(&all_s3, &logs) && selected(&all_s3, &other));
        assert!(selected(&one_bucket, &logs));
        assert!(!selected(&one_bucket, &other));
        assert!(!selected(&all_s3, &rec(json!({}))), "management events are off");
        // A management-only selector takes no data events.
        assert!(!selected(&basic(json!([{}])), &logs));

        let function = "arn:aws:lambda:eu-west-1:111122223333:function:resize";
        let invoke = |arn: &str| {
            rec(
                json!({"eventCategory": "Data", "eventSource": "lambda.amazonaws.com", "eventName": "Invoke",
                "readOnly": false, "resources": [{"type": "AWS::Lambda::Function", "ARN": arn}]}),
            )
        };
        let one_function = basic(json!([{"DataResources": [{"Type": "AWS::Lambda::Function", "Values": [function]}]}]));
        assert!(selected(&one_function, &invoke(function)));
        assert!(!selected(
            &one_function,
            &invoke("arn:aws:lambda:eu-west-1:111122223333:function:other")
        ));
        assert!(!selected(&one_function, &logs), "type differs");
        let lambda_on_s3 =
            basic(json!([{"DataResources": [{"Type": "AWS::Lambda::Function", "Values": ["arn:aws:s3"]}]}]));
        assert!(!selected(&lambda_on_s3, &logs));

        // Type and ARN must come from the same resource.
        let split = rec(
            json!({"eventCategory": "Data", "eventSource": "s3.amazonaws.com", "resources": [
                {"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::elsewhere/k"},
                {"type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::logs/k"},
            ]}),
        );
        assert!(!selected(&one_bucket, &split));
        // A resource without an ARN never matches; incomplete data resources select nothing.
        let no_arn = rec(json!({"eventCategory": "Data", "resources": [{"type": "AWS::S3::Object"}]}));
        assert!(!selected(&all_s3, &no_arn));
        assert!(!selected(&all_s3, &rec(json!({"eventCategory": "Data"}))));
        let incomplete = basic(json!([{"IncludeManagementEvents": false, "DataResources": [
            {"Values": ["arn:aws:s3"]}, {"Type": "AWS::S3::Object"}, {"Type": "AWS::S3::Object", "Values": []},
        ]}]));
        assert!(!selected(&incomplete, &logs));
        // Network activity is never taken by basic selectors.
        let net = rec(
            json!({"eventCategory": "NetworkActivity", "eventSource": "s3.amazonaws.com",
            "resources": [{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::logs/x"}]}),
        );
        assert!(!selected(&all_s3, &net));
    }

    #[test]
    fn advanced_operators() {
        let ec2 = rec(json!({}));
        for (op, values, expect) in [
            ("Equals", json!(["s3.amazonaws.com", "ec2.amazonaws.com"]), true),
            ("Equals", json!(["ec2"]), false),
            ("Equals", json!(["EC2.amazonaws.com"]), false),
            ("StartsWith", json!(["iam.", "ec2."]), true),
            ("StartsWith", json!(["s3."]), false),
            ("StartsWith", json!(["EC2"]), false),
            ("EndsWith", json!([".amazonaws.com"]), true),
            ("EndsWith", json!([".amazonaws.com.cn", "aws"]), false),
            ("NotEquals", json!(["s3.amazonaws.com"]), true),
            ("NotEquals", json!(["s3.amazonaws.com", "ec2.amazonaws.com"]), false),
            ("NotEquals", json!(["EC2.amazonaws.com"]), true),
            ("NotStartsWith", json!(["s3", "iam"]), true),
            ("NotStartsWith", json!(["s3", "ec2"]), false),
            ("NotEndsWith", json!([".cn"]), true),
            ("NotEndsWith", json!([".cn", "amazonaws.com"]), false),
        ] {
            let t = fields(json!([{"Field": "eventSource", op: values}]));
            assert_eq!(selected(&t, &ec2), expect, "{op} {values}");
        }
        // Every operator of a field selector must hold.
        let both = |extra: Value| {
            let mut f = json!({"Field": "eventSource", "StartsWith": ["ec2"]});
            f.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            fields(json!([f]))
        };
        assert!(selected(&both(json!({"NotEndsWith": [".cn"]})), &ec2));
        assert!(!selected(&both(json!({"NotEquals": ["ec2.amazonaws.com"]})), &ec2));
        assert!(!selected(&both(json!({"EndsWith": [".cn"]})), &ec2));
    }

    #[test]
    fn advanced_fields_each_read_the_right_value() {
        let event = rec(json!({
            "eventCategory": "Data",
            "eventSource": "s3.amazonaws.com",
            "eventName": "GetObject",
            "eventType": "AwsApiCall",
            "readOnly": true,
            "resources": [{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::logs/a.txt"}],
            "sessionCredentialFromConsole": "true",
            "userIdentity": {"type": "AssumedRole", "arn": "arn:aws:sts::111122223333:assumed-role/Admin/bob",
                "sessionContext": {"sessionIssuer": {"arn": "arn:aws:iam::111122223333:role/Admin"}}},
            "errorCode": "AccessDenied",
            "vpcEndpointId": "vpce-0abc",
        }));
        for (field, right, wrong) in [
            ("eventCategory", "Data", "Management"),
            ("eventSource", "s3.amazonaws.com", "ec2.amazonaws.com"),
            ("eventName", "GetObject", "PutObject"),
            ("eventType", "AwsApiCall", "AwsServiceEvent"),
            ("readOnly", "true", "false"),
            ("resources.type", "AWS::S3::Object", "AWS::S3::Bucket"),
            ("resources.ARN", "arn:aws:s3:::logs/a.txt", "arn:aws:s3:::logs"),
            ("sessionCredentialFromConsole", "true", "false"),
            (
                "userIdentity.arn",
                "arn:aws:sts::111122223333:assumed-role/Admin/bob",
                "arn:aws:iam::111122223333:role/Admin",
            ),
            ("errorCode", "AccessDenied", "ThrottlingException"),
            ("vpcEndpointId", "vpce-0abc", "vpce-0abd"),
        ] {
            assert!(
                selected(&fields(json!([{"Field": field, "Equals": [right]}])), &event),
                "{field}"
            );
            assert!(
                !selected(&fields(json!([{"Field": field, "Equals": [wrong]}])), &event),
                "{field}"
            );
            assert!(
                !selected(&fields(json!([{"Field": field, "NotEquals": [right]}])), &event),
                "{field}"
            );
            assert!(
                selected(&fields(json!([{"Field": field, "NotEquals": [wrong]}])), &event),
                "{field}"
            );
        }
        let write = rec(json!({"readOnly": false}));
        assert!(selected(
            &fields(json!([{"Field": "readOnly", "Equals": ["false"]}])),
            &write
        ));
        assert!(!selected(
            &fields(json!([{"Field": "readOnly", "Equals": ["true"]}])),
            &write
        ));
    }

    #[test]
    fn advanced_missing_fields_fail_positive_and_pass_negative_operators() {
        let bare = rec(json!({
            "eventType": null, "readOnly": null, "eventSource": null, "eventName": null,
            "userIdentity": {"type": "AWSService", "invokedBy": "s3.amazonaws.com"},
        }));
        for field in [
            "eventSource",
            "eventName",
            "eventType",
            "readOnly",
            "resources.type",
            "resources.ARN",
            "sessionCredentialFromConsole",
            "userIdentity.arn",
            "errorCode",
            "vpcEndpointId",
            "someFieldNobodyKnows",
        ] {
            let value = if field == "readOnly" { "true" } else { "x" };
            for (op, expect) in [
                ("Equals", false),
                ("StartsWith", false),
                ("EndsWith", false),
                ("NotEquals", true),
                ("NotStartsWith", true),
                ("NotEndsWith", true),
            ] {
                let t = fields(json!([{"Field": field, op: [value]}]));
                assert_eq!(selected(&t, &bare), expect, "{field} {op}");
            }
            let mixed = fields(json!([{"Field": field, "NotEquals": [value], "StartsWith": [value]}]));
            assert!(!selected(&mixed, &bare), "{field}");
        }
        // userIdentity missing altogether.
        let r = rec(json!({"userIdentity": null}));
        assert!(!selected(
            &fields(json!([{"Field": "userIdentity.arn", "StartsWith": ["arn"]}])),
            &r
        ));
        assert!(selected(
            &fields(json!([{"Field": "userIdentity.arn", "NotStartsWith": ["arn"]}])),
            &r
        ));
    }

    #[test]
    fn advanced_resource_conditions_hold_on_one_resource() {
        let event = rec(json!({"eventCategory": "Data", "resources": [
            {"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::b1/k"},
            {"type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::b2"},
            {"ARN": "arn:aws:ssm:eu-west-1:111122223333:parameter/p"},
        ]}));
        let on = |ty: Value, arn: Value| {
            let mut t = json!({"Field": "resources.type"});
            let mut a = json!({"Field": "resources.ARN"});
            t.as_object_mut().unwrap().extend(ty.as_object().unwrap().clone());
            a.as_object_mut().unwrap().extend(arn.as_object().unwrap().clone());
            selected(&fields(json!([t, a])), &event)
        };
        assert!(on(
            json!({"Equals": ["AWS::S3::Object"]}),
            json!({"StartsWith": ["arn:aws:s3:::b1/"]})
        ));
        assert!(on(
            json!({"Equals": ["AWS::S3::Bucket"]}),
            json!({"Equals": ["arn:aws:s3:::b2"]})
        ));
        // Each condition holds on some resource, but not both on the same one.
        assert!(!on(
            json!({"Equals": ["AWS::S3::Object"]}),
            json!({"StartsWith": ["arn:aws:s3:::b2"]})
        ));
        assert!(!on(
            json!({"Equals": ["AWS::S3::Object"]}),
            json!({"NotStartsWith": ["arn:aws:s3:::b1"]})
        ));
        // A resource without a type satisfies negative type conditions.
        assert!(on(
            json!({"NotEquals": ["AWS::S3::Object", "AWS::S3::Bucket"]}),
            json!({"StartsWith": ["arn:aws:ssm:"]})
        ));
        assert!(!on(
            json!({"StartsWith": ["AWS::"]}),
            json!({"StartsWith": ["arn:aws:ssm:"]})
        ));
        // One resource is enough.
        assert!(selected(
            &fields(json!([{"Field": "resources.ARN", "NotStartsWith": ["arn:aws:s3:::b1"]}])),
            &event
        ));
        assert!(selected(
            &fields(json!([{"Field": "resources.ARN", "EndsWith": ["/k"]}])),
            &event
        ));
        assert!(!selected(
            &fields(json!([{"Field": "resources.ARN", "EndsWith": ["/q"]}])),
            &event
        ));
        // No resources: both fields are missing.
        let bare = rec(json!({"eventCategory": "Data"}));
        assert!(selected(
            &fields(json!([{"Field": "resources.type", "NotEquals": ["AWS::S3::Object"]}])),
            &bare
        ));
        assert!(!selected(
            &fields(json!([{"Field": "resources.type", "Equals": ["AWS::S3::Object"]}])),
            &bare
        ));
        // An ARNPrefix resource (CloudTrail's form for prefixes) counts as its ARN.
        let prefix = rec(json!({"eventCategory": "Data", "resources": [
            {"type": "AWS::S3::Object", "ARNPrefix": "arn:aws:s3:::b1/logs/"}]}));
        assert!(selected(
            &fields(json!([{"Field": "resources.ARN", "StartsWith": ["arn:aws:s3:::b1/"]}])),
            &prefix
        ));
    }

    #[test]
    fn advanced_selectors_combine_any_of_all() {
        let data_bucket = json!({"FieldSelectors": [
            {"Field": "eventCategory", "Equals": ["Data"]},
            {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
            {"Field": "resources.ARN", "StartsWith": ["arn:aws:s3:::logs/"]},
        ]});
        let writes = json!({"FieldSelectors": [
            {"Field": "eventCategory", "Equals": ["Management"]},
            {"Field": "readOnly", "Equals": ["false"]},
        ]});
        let t = advanced(json!([data_bucket, writes]));
        assert!(selected(&t, &s3_object("logs", "x", true)));
        assert!(!selected(&t, &s3_object("other", "x", true)));
        assert!(selected(&t, &rec(json!({"readOnly": false}))));
        assert!(!selected(&t, &rec(json!({"readOnly": true}))));
        // All field selectors of one selector must match.
        let narrow = fields(json!([
            {"Field": "eventCategory", "Equals": ["Management"]},
            {"Field": "eventSource", "Equals": ["ec2.amazonaws.com"]},
            {"Field": "errorCode", "Equals": ["Throttling"]},
        ]));
        assert!(!selected(&narrow, &rec(json!({}))));
        assert!(selected(&narrow, &rec(json!({"errorCode": "Throttling"}))));
        // Advanced selectors replace basic ones.
        let both = TrailConfig {
            event_selectors: Some(vec![EventSelector::default()]),
            ..advanced(json!([data_bucket]))
        };
        assert!(!selected(&both, &rec(json!({}))));
        assert!(selected(&both, &s3_object("logs", "x", true)));
        // Degenerate lists (rejected by validation) select nothing, or everything, without panics.
        assert!(!selected(&advanced(json!([])), &rec(json!({}))));
        assert!(selected(&advanced(json!([{"FieldSelectors": []}])), &rec(json!({}))));
        let empty_values = fields(json!([{"Field": "eventSource", "Equals": [], "NotEquals": []}]));
        assert!(!selected(&empty_values, &rec(json!({}))));
    }

    #[test]
    fn record_text_fields_are_read_leniently() {
        let f = |field: &str, op: &str, v: &str| fields(json!([{"Field": field, op: [v]}]));
        // Flags sent as JSON booleans read as their string form; numbers as missing.
        let odd = rec(json!({"sessionCredentialFromConsole": true, "errorCode": 5, "vpcEndpointId": {"id": "vpce-1"}}));
        assert!(selected(&f("sessionCredentialFromConsole", "Equals", "true"), &odd));
        assert!(!selected(&f("errorCode", "StartsWith", "5"), &odd));
        assert!(selected(&f("errorCode", "NotEquals", "5"), &odd));
        assert!(!selected(&f("vpcEndpointId", "Equals", "vpce-1"), &odd));
        assert!(selected(&f("userIdentity.arn", "EndsWith", "user/alice"), &odd));
        // Escaped text is compared unescaped.
        let escaped = EventRecord::from_json(
            r#"{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","sessionContext":{"attributes":{"arn":"no"}},"arn":"arn:aws:iam::111122223333:user\/b\u00f6b"},"eventTime":"2024-05-01T12:00:00Z","eventSource":"ec2.amazonaws.com","eventName":"RunInstances","awsRegion":"eu-west-1","eventID":"e-esc","recipientAccountId":"111122223333","errorCode":"Access\"Denied"}"#,
        )
        .unwrap();
        assert!(selected(
            &f("userIdentity.arn", "Equals", "arn:aws:iam::111122223333:user/böb"),
            &escaped
        ));
        assert!(selected(&f("errorCode", "Equals", "Access\"Denied"), &escaped));
    }

    #[test]
    fn record_text_is_parsed_only_for_fields_the_index_lacks() {
        assert!(!Selection::compile(&trail()).reads_json());
        assert!(!Selection::compile(&basic(json!([{"ReadWriteType": "ReadOnly"}]))).reads_json());
        let index_only = fields(json!([
            {"Field": "eventCategory", "Equals": ["Data"]},
            {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
            {"Field": "readOnly", "Equals": ["true"]},
        ]));
        assert!(!Selection::compile(&index_only).reads_json());
        assert!(Selection::compile(&fields(json!([{"Field": "errorCode", "Equals": ["x"]}]))).reads_json());
    }

    // ---- the real samples, against an independent oracle ----------------------------------------

    /// At run time: a test binary may outlive the checkout it was built in.
    fn samples_dir() -> std::path::PathBuf {
        Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_string()))
            .join("../../testdata/samples")
    }

    struct Sample {
        value: Value,
        record: EventRecord,
    }

    fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                files_under(&path, out);
            } else if path.to_string_lossy().ends_with(".json") || path.to_string_lossy().ends_with(".json.gz") {
                out.push(path);
            }
        }
    }

    fn sample(text: &str) -> Sample {
        Sample {
            value: serde_json::from_str(text).unwrap(),
            record: EventRecord::from_json(text).unwrap(),
        }
    }

    /// The sample records, plus data and network activity events derived from them: the samples
    /// are all management events, so S3 bucket calls are recast as object reads and writes and
    /// calls through VPC endpoints as network activity, keeping everything else of the record.
    fn samples() -> Vec<Sample> {
        let mut files = Vec::new();
        files_under(&samples_dir(), &mut files);
        files.sort();
        let mut out = Vec::new();
        for path in files {
            let bytes = std::fs::read(&path).unwrap();
            let body = if path.extension().is_some_and(|e| e == "gz") {
                let mut s = String::new();
                flate2::read::GzDecoder::new(&bytes[..]).read_to_string(&mut s).unwrap();
                s
            } else {
                String::from_utf8(bytes).unwrap()
            };
            // CloudTrail log files are {"Records":[...]}; some samples are bare arrays.
            let raws: Vec<&RawValue> = if body.trim_start().starts_with('[') {
                serde_json::from_str(&body).unwrap()
            } else {
                split_log_file(&body).unwrap()
            };
            out.extend(raws.into_iter().map(|raw| sample(raw.get())));
        }
        assert!(
            out.len() > 3000,
            "expected the sample corpus, found {} records",
            out.len()
        );
        let mut derived = Vec::new();
        for (i, s) in out.iter().enumerate() {
            let v = &s.value;
            let id = v["eventID"].as_str().unwrap();
            if let Some(bucket) = v.pointer("/requestParameters/bucketName").and_then(Value::as_str) {
                let read = v["readOnly"].as_bool() == Some(true);
                let key = if i % 3 == 0 {
                    format!("reports/{id}.csv")
                } else {
                    format!("tmp/{id}.bin")
                };
                let mut d = v.clone();
                d["eventCategory"] = json!("Data");
                d["eventID"] = json!(format!("{id}-data"));
                d["eventName"] = json!(if read { "GetObject" } else { "PutObject" });
                d["resources"] = json!([
                    {"type": "AWS::S3::Object", "ARN": format!("arn:aws:s3:::{bucket}/{key}")},
                    {"accountId": v["recipientAccountId"], "type": "AWS::S3::Bucket", "ARN": format!("arn:aws:s3:::{bucket}")},
                ]);
                derived.push(sample(&d.to_string()));
            }
            if v.get("vpcEndpointId").is_some() {
                let mut d = v.clone();
                d["eventCategory"] = json!("NetworkActivity");
                d["eventType"] = json!("AwsVpceEvent");
                d["eventID"] = json!(format!("{id}-net"));
                derived.push(sample(&d.to_string()));
            }
        }
        assert!(derived.len() > 300, "{}", derived.len());
        out.extend(derived);
        let ids: BTreeSet<&str> = out.iter().map(|s| s.record.event_id()).collect();
        assert_eq!(ids.len(), out.len(), "event ids are unique");
        out
    }

    const ORACLE_GLOBAL: [&str; 11] = [
        "iam.amazonaws.com",
        "sts.amazonaws.com",
        "cloudfront.amazonaws.com",
        "signin.amazonaws.com",
        "route53.amazonaws.com",
        "organizations.amazonaws.com",
        "waf.amazonaws.com",
        "globalaccelerator.amazonaws.com",
        "shield.amazonaws.com",
        "support.amazonaws.com",
        "health.amazonaws.com",
    ];

    /// Whether the trail puts `v` in its CloudTrail folder, straight from the rules over the JSON.
    fn oracle(t: &TrailConfig, v: &Value) -> bool {
        let text = |k: &str| v.get(k).and_then(Value::as_str);
        let region = text("awsRegion").unwrap();
        if !t.is_multi_region_trail && region != t.home_region {
            return false;
        }
        let source = text("eventSource");
        if !t.include_global_service_events
            && region == "us-east-1"
            && source.is_some_and(|s| ORACLE_GLOBAL.contains(&s))
        {
            return false;
        }
        let category = text("eventCategory").unwrap_or("Management");
        if category == "Insight" || category == "ActivityAuditLog" {
            return false;
        }
        let read_only = v.get("readOnly").and_then(Value::as_bool);
        let resources: Vec<Value> = v
            .get("resources")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if let Some(selectors) = &t.advanced_event_selectors {
            return selectors.iter().any(|s| oracle_advanced(s, v, &resources));
        }
        let Some(selectors) = &t.event_selectors else {
            return category == "Management";
        };
        selectors.iter().any(|s| {
            let rw = match s.read_write_type {
                Some(ReadWriteType::ReadOnly) => read_only == Some(true),
                Some(ReadWriteType::WriteOnly) => read_only != Some(true),
                _ => true,
            };
            match category {
                "Management" => {
                    s.include_management_events != Some(false)
                        && rw
                        && !s
                            .exclude_management_event_sources
                            .iter()
                            .flatten()
                            .any(|x| Some(x.as_str()) == source)
                }
                "Data" => {
                    rw && s.data_resources.iter().flatten().any(|d| {
                        resources.iter().any(|r| {
                            let arn = r.get("ARN").and_then(Value::as_str);
                            d.r#type.is_some()
                                && r.get("type").and_then(Value::as_str) == d.r#type.as_deref()
                                && arn.is_some_and(|arn| d.values.iter().flatten().any(|p| arn.starts_with(p.as_str())))
                        })
                    })
                }
                _ => false,
            }
        })
    }

    fn oracle_advanced(s: &AdvancedEventSelector, v: &Value, resources: &[Value]) -> bool {
        let mut on_resources = Vec::new();
        for f in &s.field_selectors {
            let value: Option<String> = match f.field.as_str() {
                "resources.type" | "resources.ARN" => {
                    on_resources.push(f);
                    continue;
                }
                "eventCategory" => Some(
                    v.get("eventCategory")
                        .and_then(Value::as_str)
                        .unwrap_or("Management")
                        .into(),
                ),
                "readOnly" => v.get("readOnly").and_then(Value::as_bool).map(|b| b.to_string()),
                "userIdentity.arn" => v.pointer("/userIdentity/arn").and_then(Value::as_str).map(Into::into),
                other => v.get(other).and_then(Value::as_str).map(Into::into),
            };
            if !oracle_holds(f, value.as_deref()) {
                return false;
            }
        }
        let resource_ok = |r: Option<&Value>| {
            on_resources.iter().all(|f| {
                let key = if f.field == "resources.type" { "type" } else { "ARN" };
                oracle_holds(f, r.and_then(|r| r.get(key)).and_then(Value::as_str))
            })
        };
        if resources.is_empty() {
            resource_ok(None)
        } else {
            resources.iter().any(|r| resource_ok(Some(r)))
        }
    }

    fn oracle_holds(f: &AdvancedFieldSelector, value: Option<&str>) -> bool {
        let Some(v) = value else {
            return f.equals.is_none() && f.starts_with.is_none() && f.ends_with.is_none();
        };
        let any = |l: &Option<Vec<String>>, p: &dyn Fn(&str) -> bool| l.as_ref().is_none_or(|l| l.iter().any(|x| p(x)));
        let none =
            |l: &Option<Vec<String>>, p: &dyn Fn(&str) -> bool| l.as_ref().is_none_or(|l| !l.iter().any(|x| p(x)));
        any(&f.equals, &|x| x == v)
            && any(&f.starts_with, &|x| v.starts_with(x))
            && any(&f.ends_with, &|x| v.ends_with(x))
            && none(&f.not_equals, &|x| x == v)
            && none(&f.not_starts_with, &|x| v.starts_with(x))
            && none(&f.not_ends_with, &|x| v.ends_with(x))
    }

    /// Asserts the trail selects exactly what the oracle does, and neither nothing nor everything.
    fn check_against_oracle(name: &str, t: &TrailConfig, samples: &[Sample]) -> usize {
        if let Some(s) = &t.event_selectors {
            validate::event_selectors(s).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        }
        if let Some(s) = &t.advanced_event_selectors {
            validate::advanced_event_selectors(s).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        }
        let selection = Selection::compile(t);
        let mut expected = BTreeSet::new();
        let mut actual = BTreeSet::new();
        for s in samples {
            let id = s.record.event_id();
            if oracle(t, &s.value) {
                expected.insert(id);
            }
            match selection.select(&s.record) {
                Some(Folder::CloudTrail) => {
                    actual.insert(id);
                }
                Some(Folder::Insight) => panic!("{name}: {id} went to the insight folder"),
                None => {}
            }
        }
        assert_eq!(
            actual.symmetric_difference(&expected).take(5).collect::<Vec<_>>(),
            Vec::<&&str>::new(),
            "{name}: selected ids differ from the oracle's"
        );
        assert!(!expected.is_empty(), "{name}: selects nothing");
        assert!(expected.len() < samples.len(), "{name}: selects everything");
        expected.len()
    }

    fn configurations() -> Vec<(&'static str, TrailConfig)> {
        let mgmt = |field: Value| fields(json!([{"Field": "eventCategory", "Equals": ["Management"]}, field]));
        let s3_data = |extra: Value| {
            let mut fs = vec![
                json!({"Field": "eventCategory", "Equals": ["Data"]}),
                json!({"Field": "resources.type", "Equals": ["AWS::S3::Object"]}),
            ];
            fs.push(extra);
            fields(Value::Array(fs))
        };
        let net = |extra: Value| {
            fields(json!([
                {"Field": "eventCategory", "Equals": ["NetworkActivity"]},
                {"Field": "eventSource", "Equals": ["s3.amazonaws.com", "kms.amazonaws.com", "sts.amazonaws.com"]},
                extra,
            ]))
        };
        let bucket = "stratus-red-team-ctlr-bucket-zqfsvooxqj";
        vec![
            ("default", trail()),
            (
                "default without global services",
                TrailConfig {
                    include_global_service_events: false,
                    ..trail()
                },
            ),
            ("basic ReadOnly", basic(json!([{"ReadWriteType": "ReadOnly"}]))),
            ("basic WriteOnly", basic(json!([{"ReadWriteType": "WriteOnly"}]))),
            (
                "basic without kms",
                basic(json!([{"ExcludeManagementEventSources": ["kms.amazonaws.com"]}])),
            ),
            (
                "basic S3 data, all buckets",
                basic(json!([{"IncludeManagementEvents": false,
                    "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}]}])),
            ),
            (
                "basic S3 data, one bucket",
                basic(json!([{"IncludeManagementEvents": false,
                    "DataResources": [{"Type": "AWS::S3::Object", "Values": [format!("arn:aws:s3:::{bucket}/")]}]}])),
            ),
            (
                "basic writes plus reads of one bucket",
                basic(json!([
                    {"ReadWriteType": "WriteOnly"},
                    {"ReadWriteType": "ReadOnly", "IncludeManagementEvents": false,
                        "DataResources": [{"Type": "AWS::S3::Object", "Values": [format!("arn:aws:s3:::{bucket}/")]}]},
                ])),
            ),
            (
                "eventSource Equals",
                mgmt(json!({"Field": "eventSource", "Equals": ["iam.amazonaws.com", "sts.amazonaws.com"]})),
            ),
            (
                "eventSource StartsWith",
                mgmt(json!({"Field": "eventSource", "StartsWith": ["s3.", "ssm."]})),
            ),
            (
                "eventSource EndsWith",
                mgmt(json!({"Field": "eventSource", "EndsWith": ["manager.amazonaws.com"]})),
            ),
            (
                "eventSource NotEquals",
                mgmt(json!({"Field": "eventSource", "NotEquals": ["kms.amazonaws.com", "rdsdata.amazonaws.com"]})),
            ),
            (
                "eventSource NotStartsWith",
                mgmt(json!({"Field": "eventSource", "NotStartsWith": ["ec2", "ssm"]})),
            ),
            (
                "eventSource NotEndsWith",
                mgmt(json!({"Field": "eventSource", "NotEndsWith": ["s.amazonaws.com"]})),
            ),
            (
                "readOnly Equals",
                mgmt(json!({"Field": "readOnly", "Equals": ["false"]})),
            ),
            (
                "readOnly NotEquals",
                mgmt(json!({"Field": "readOnly", "NotEquals": ["false"]})),
            ),
            (
                "eventName Equals",
                s3_data(json!({"Field": "eventName", "Equals": ["PutObject"]})),
            ),
            (
                "eventName StartsWith",
                s3_data(json!({"Field": "eventName", "StartsWith": ["Get"]})),
            ),
            (
                "eventName NotEndsWith",
                s3_data(json!({"Field": "eventName", "NotEndsWith": ["PutObject", "Tagging"]})),
            ),
            (
                "resources.ARN StartsWith",
                s3_data(json!({"Field": "resources.ARN", "StartsWith": [format!("arn:aws:s3:::{bucket}/")]})),
            ),
            (
                "resources.ARN EndsWith",
                s3_data(json!({"Field": "resources.ARN", "EndsWith": [".csv"]})),
            ),
            (
                "resources.ARN NotStartsWith",
                s3_data(json!({"Field": "resources.ARN", "NotStartsWith": ["arn:aws:s3:::stratus-red-team-"]})),
            ),
            (
                "resources.ARN NotEndsWith",
                s3_data(json!({"Field": "resources.ARN", "NotEndsWith": [".bin"]})),
            ),
            (
                "resources.ARN NotEquals and StartsWith",
                s3_data(
                    json!({"Field": "resources.ARN", "NotEquals": [format!("arn:aws:s3:::{bucket}")],
                    "StartsWith": [format!("arn:aws:s3:::{bucket}")]}),
                ),
            ),
            (
                "userIdentity.arn Equals",
                s3_data(json!({"Field": "userIdentity.arn", "Equals": ["arn:aws:iam::123837392027:user/benjamin"]})),
            ),
            (
                "userIdentity.arn StartsWith",
                s3_data(json!({"Field": "userIdentity.arn", "StartsWith": ["arn:aws:iam::123837392027:user/bert"]})),
            ),
            (
                "userIdentity.arn NotEndsWith",
                s3_data(json!({"Field": "userIdentity.arn", "NotEndsWith": ["/bert-jan"]})),
            ),
            (
                "errorCode Equals",
                net(json!({"Field": "errorCode", "Equals": ["NoSuchBucketPolicy"]})),
            ),
            (
                "errorCode StartsWith",
                net(json!({"Field": "errorCode", "StartsWith": ["NoSuch"]})),
            ),
            (
                "errorCode NotEquals",
                net(json!({"Field": "errorCode", "NotEquals": ["NoSuchBucketPolicy"]})),
            ),
            (
                "vpcEndpointId EndsWith",
                net(json!({"Field": "vpcEndpointId", "EndsWith": ["dc59d", "f92611b87"]})),
            ),
            (
                "management writes plus one bucket's data",
                advanced(json!([
                    {"FieldSelectors": [
                        {"Field": "eventCategory", "Equals": ["Management"]},
                        {"Field": "readOnly", "Equals": ["false"]},
                        {"Field": "eventSource", "NotEquals": ["kms.amazonaws.com"]},
                    ]},
                    {"FieldSelectors": [
                        {"Field": "eventCategory", "Equals": ["Data"]},
                        {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
                        {"Field": "resources.ARN", "StartsWith": [format!("arn:aws:s3:::{bucket}/")]},
                    ]},
                ])),
            ),
        ]
    }

    #[test]
    fn sample_records_match_the_oracle_on_a_multi_region_trail() {
        let samples = samples();
        let mut counts = BTreeSet::new();
        for (name, t) in configurations() {
            counts.insert(check_against_oracle(name, &t, &samples));
        }
        // The configurations really select different sets.
        assert!(counts.len() > 15, "{counts:?}");
    }

    #[test]
    fn sample_records_match_the_oracle_on_single_region_trails() {
        let samples = samples();
        for (home, global) in [("us-east-1", true), ("us-east-1", false), ("sagov-westsouth-1r", true)] {
            let t = TrailConfig {
                is_multi_region_trail: false,
                home_region: home.into(),
                include_global_service_events: global,
                ..trail()
            };
            let n = check_against_oracle(home, &t, &samples);
            let in_region = samples.iter().filter(|s| s.record.index().region == home).count();
            assert!(n <= in_region && n > 0, "{home}: {n} of {in_region}");
        }
        let t = TrailConfig {
            is_multi_region_trail: false,
            home_region: "sagov-westsouth-1r".into(),
            ..trail()
        };
        let n = samples.iter().filter(|s| selected(&t, &s.record)).count();
        assert_eq!(n, 56, "the management events recorded in that region");
    }
}
