//! Real CloudTrail records (testdata/samples, see its README for provenance) through the typed
//! model and the raw record.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use cairn_model::json::minify;
use cairn_model::record::split_log_file;
use cairn_model::{AccountId, Arn, CloudTrailEvent, EventRecord, Region};
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

/// Found at run time: a test binary may outlive the checkout it was built in (a shared target
/// directory), and the directory it was compiled in may be gone.
fn samples_dir() -> std::path::PathBuf {
    Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_string()))
        .join("../../testdata/samples")
}
const INVICTUS_RECORDS: usize = 2900;
const STRATUS_RECORDS: usize = 310;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Source {
    /// Log files as AWS delivered them: `{"Records":[...]}`, compact.
    Invictus,
    /// Pretty-printed JSON arrays of records with pseudonymised ids.
    Stratus,
}

/// One record's original text and where it came from.
struct Sample {
    source: Source,
    file: String,
    text: String,
}

impl fmt::Display for Sample {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let id = serde_json::from_str::<Value>(&self.text)
            .ok()
            .and_then(|v| v.get("eventID").and_then(Value::as_str).map(str::to_string))
            .unwrap_or_default();
        write!(f, "{} eventID {id}", self.file)
    }
}

fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no sample files in {}", dir.display());
    files
}

fn samples() -> Vec<Sample> {
    let root = samples_dir();
    let mut out = Vec::new();
    for path in json_files(&root.join("invictus-ir_aws_dataset/CloudTrail")) {
        let body = fs::read_to_string(&path).unwrap();
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        for raw in split_log_file(&body).unwrap_or_else(|e| panic!("{file}: {e}")) {
            out.push(Sample {
                source: Source::Invictus,
                file: file.clone(),
                text: raw.get().to_string(),
            });
        }
    }
    for path in json_files(&root.join("stratus-red-team_detonation-logs")) {
        let body = fs::read_to_string(&path).unwrap();
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let records: Vec<&RawValue> = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{file}: {e}"));
        for raw in records {
            out.push(Sample {
                source: Source::Stratus,
                file: file.clone(),
                text: raw.get().to_string(),
            });
        }
    }
    out
}

fn count(samples: &[Sample], source: Source) -> usize {
    samples.iter().filter(|s| s.source == source).count()
}

/// An object's members in document order (serde_json's `Map` is sorted).
struct Members(Vec<(String, Box<RawValue>)>);

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct MembersVisitor;
        impl<'de> Visitor<'de> for MembersVisitor {
            type Value = Members;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
                let mut members = Vec::new();
                while let Some(entry) = map.next_entry::<String, Box<RawValue>>()? {
                    members.push(entry);
                }
                Ok(Members(members))
            }
        }
        d.deserialize_map(MembersVisitor)
    }
}

fn members(json: &str) -> Vec<(String, Box<RawValue>)> {
    serde_json::from_str::<Members>(json).unwrap().0
}

fn keys(json: &str) -> Vec<String> {
    members(json).into_iter().map(|(k, _)| k).collect()
}

/// Members whose content is free-form JSON (held as `serde_json::Value`, whose maps are sorted), so
/// only their presence and value are compared, not the order inside them.
const FREE_FORM: [&str; 7] = [
    "requestParameters",
    "responseElements",
    "additionalEventData",
    "serviceEventDetails",
    "edgeDeviceDetails",
    "eventContext",
    "webIdFederationData",
];

/// Compares member order of every typed object in `ours` with `original`, recursively.
fn assert_same_order(original: &str, ours: &str, path: &str, what: &dyn fmt::Display) {
    let (a, b) = (original.trim_start(), ours.trim_start());
    if a.starts_with('{') {
        let (ma, mb) = (members(a), members(b));
        let ka: Vec<&str> = ma.iter().map(|(k, _)| k.as_str()).collect();
        let kb: Vec<&str> = mb.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(kb, ka, "member order differs at {path} in {what}");
        for ((k, va), (_, vb)) in ma.iter().zip(&mb) {
            if !FREE_FORM.contains(&k.as_str()) {
                assert_same_order(va.get(), vb.get(), &format!("{path}.{k}"), what);
            }
        }
    } else if a.starts_with('[') {
        let (ea, eb): (Vec<&RawValue>, Vec<&RawValue>) =
            (serde_json::from_str(a).unwrap(), serde_json::from_str(b).unwrap());
        assert_eq!(ea.len(), eb.len(), "array length differs at {path} in {what}");
        for (i, (va, vb)) in ea.iter().zip(&eb).enumerate() {
            assert_same_order(va.get(), vb.get(), &format!("{path}[{i}]"), what);
        }
    }
}

#[test]
fn sample_counts() {
    let all = samples();
    assert_eq!(count(&all, Source::Invictus), INVICTUS_RECORDS);
    assert_eq!(count(&all, Source::Stratus), STRATUS_RECORDS);
}

#[test]
fn every_record_round_trips_through_the_typed_model() {
    let all = samples();
    for s in &all {
        let event = CloudTrailEvent::from_json(&s.text).unwrap_or_else(|e| panic!("{s}: {e}"));
        let original: Value = serde_json::from_str(&s.text).unwrap();
        let back: Value = serde_json::from_str(&event.to_json()).unwrap();
        assert_eq!(back, original, "{s}: typed round trip changed the record");
        // Re-parsing what we wrote gives the same typed event.
        assert_eq!(CloudTrailEvent::from_json(&event.to_json()).unwrap(), event, "{s}");
    }
    assert_eq!(all.len(), INVICTUS_RECORDS + STRATUS_RECORDS);
}

#[test]
fn typed_model_knows_every_member_of_real_log_files_and_writes_them_in_aws_order() {
    for s in samples().iter().filter(|s| s.source == Source::Invictus) {
        let event = CloudTrailEvent::from_json(&s.text).unwrap();
        assert!(
            event.extra.is_empty(),
            "{s}: unknown members {:?}",
            event.extra.keys().collect::<Vec<_>>()
        );
        if let Some(id) = &event.user_identity {
            assert!(id.extra.is_empty(), "{s}: unknown userIdentity members {:?}", id.extra);
        }
        assert_same_order(&s.text, &event.to_json(), "$", s);
    }
}

#[test]
fn every_record_is_kept_verbatim_by_event_record() {
    for s in &samples() {
        let record = EventRecord::from_json(&s.text).unwrap_or_else(|e| panic!("{s}: {e}"));
        match s.source {
            // Delivered log files are already compact: the record text is the original bytes.
            Source::Invictus => assert_eq!(record.json(), s.text, "{s}"),
            Source::Stratus => assert_eq!(record.json(), minify(&s.text), "{s}"),
        }
        let original: Value = serde_json::from_str(&s.text).unwrap();
        let kept: Value = serde_json::from_str(record.json()).unwrap();
        assert_eq!(kept, original, "{s}");
        assert_eq!(
            keys(record.json()),
            keys(&s.text),
            "{s}: top-level member order changed"
        );
    }
}

#[test]
fn every_record_indexes() {
    let all = samples();
    let mut indexed = [0usize; 2];
    for s in &all {
        let record = EventRecord::from_json(&s.text).unwrap_or_else(|e| panic!("{s}: {e}"));
        let index = record.index();
        assert!(!index.event_id.is_empty(), "{s}");
        assert!(!index.account_id.is_empty(), "{s}");
        assert!(!index.region.is_empty(), "{s}");
        assert!(!index.event_category.is_empty(), "{s}");

        let event = CloudTrailEvent::from_json(&s.text).unwrap();
        assert_eq!(index.event_id, event.event_id, "{s}");
        assert_eq!(index.region, event.aws_region, "{s}");
        assert_eq!(index.event_time, event.time().unwrap(), "{s}");
        assert_eq!(index.event_name, event.event_name, "{s}");
        assert_eq!(index.event_source, event.event_source, "{s}");
        assert_eq!(index.read_only, event.read_only, "{s}");
        assert_eq!(Some(&index.account_id), event.recipient_account_id.as_ref(), "{s}");
        assert_eq!(
            index.resources.len(),
            event.resources.as_ref().map_or(0, Vec::len),
            "{s}"
        );
        indexed[(s.source == Source::Stratus) as usize] += 1;
    }
    assert_eq!(indexed, [INVICTUS_RECORDS, STRATUS_RECORDS]);
}

#[test]
fn sample_ids_regions_and_arns_parse_as_typed_values() {
    for s in &samples() {
        let event = CloudTrailEvent::from_json(&s.text).unwrap();
        let region: Region = event.aws_region.parse().unwrap_or_else(|e| panic!("{s}: {e}"));
        assert_eq!(region.as_str(), event.aws_region);
        let recipient = event.recipient_account_id.as_deref().unwrap();
        recipient.parse::<AccountId>().unwrap_or_else(|e| panic!("{s}: {e}"));

        let identity = event.user_identity.as_ref().unwrap();
        if let Some(acct) = &identity.account_id {
            acct.parse::<AccountId>().unwrap_or_else(|e| panic!("{s}: {e}"));
        }
        let issuer_arn = identity
            .session_context
            .as_ref()
            .and_then(|c| c.session_issuer.as_ref())
            .and_then(|i| i.arn.as_ref());
        let resource_arns = event.resources.iter().flatten().filter_map(|r| r.arn.as_ref());
        for arn in identity.arn.iter().chain(issuer_arn).chain(resource_arns) {
            let parsed: Arn = arn.parse().unwrap_or_else(|e| panic!("{s}: {e}"));
            assert_eq!(&parsed.to_string(), arn, "{s}");
        }
    }
}
