//! The event history's view of a record: one entry of a LookupEvents answer's `Events` (EventId,
//! EventName, ReadOnly as a string, AccessKeyId, EventTime in epoch seconds, EventSource,
//! Username, Resources, and the stored record as the JSON string `CloudTrailEvent`).
//!
//! Embedding the record as an escaped string is most of the work of an answer (serde_json escapes
//! compact records at about 460 MB/s here; hand-written loops did no better), so a record fetched
//! ahead of its page carries its entry ready-made ([`crate::EventRecord::prepare_history_entry`]).

use serde::Serialize;

use crate::EventRecord;

/// Appends the entry of `record` (a JSON object) to `out`.
pub fn write_entry(out: &mut Vec<u8>, record: &EventRecord) {
    out.reserve(record.json().len() * 9 / 8 + 256);
    // Serialising borrowed strings, numbers and options into a Vec cannot fail.
    serde_json::to_writer(&mut *out, &Head::of(record)).expect("writing JSON into memory");
    // The head ends with its closing brace; the record goes last, before it.
    out.pop();
    out.extend_from_slice(br#","CloudTrailEvent":"#);
    serde_json::to_writer(&mut *out, record.json()).expect("writing JSON into memory");
    out.push(b'}');
}

/// An entry but its `CloudTrailEvent`, borrowed from the record's index.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Head<'a> {
    pub event_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_name: Option<&'a str>,
    /// A string, as CloudTrail's event history shows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_only: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<&'a str>,
    /// Epoch seconds.
    pub event_time: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_source: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<&'a str>,
    pub resources: Vec<HeadResource<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct HeadResource<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_name: Option<&'a str>,
}

impl<'a> Head<'a> {
    pub fn of(r: &'a EventRecord) -> Self {
        let ix = r.index();
        Head {
            event_id: &ix.event_id,
            event_name: ix.event_name.as_deref(),
            read_only: ix.read_only.map(|ro| if ro { "true" } else { "false" }),
            access_key_id: ix.access_key_id.as_deref(),
            event_time: ix.event_time.millis() as f64 / 1000.0,
            event_source: ix.event_source.as_deref(),
            username: ix.username.as_deref(),
            resources: ix
                .resources
                .iter()
                .map(|res| HeadResource {
                    resource_type: res.resource_type.as_deref(),
                    resource_name: res.name.as_deref(),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ready-made entry is the entry written on demand.
    #[test]
    fn prepared_entries_equal_written_ones() {
        let r = EventRecord::from_json(
            r#"{"eventVersion":"1.08","eventTime":"2024-05-01T00:00:01Z","eventSource":"ec2.amazonaws.com","eventName":"Run\"Instances","awsRegion":"us-east-1","eventID":"e1","recipientAccountId":"111122223333","readOnly":false,"userIdentity":{"type":"IAMUser","userName":"ann","accessKeyId":"AKIAEXAMPLE"},"resources":[{"type":"AWS::EC2::Instance","ARN":"arn:aws:ec2:us-east-1:111122223333:instance/i-1"}]}"#,
        )
        .unwrap();
        let mut direct = Vec::new();
        write_entry(&mut direct, &r);
        let before = r.memory_size();
        let mut via = Vec::new();
        r.write_history_entry(&mut via);
        assert_eq!(via, direct, "not prepared: written on demand");
        r.prepare_history_entry();
        assert!(r.memory_size() > before, "a prepared entry counts as memory");
        let mut prepared = Vec::new();
        r.clone().write_history_entry(&mut prepared);
        assert_eq!(prepared, direct);
        let v: serde_json::Value = serde_json::from_slice(&direct).unwrap();
        assert_eq!(v["CloudTrailEvent"].as_str().unwrap(), r.json());
        assert_eq!(v["ReadOnly"], "false");
        assert_eq!(v["Resources"][0]["ResourceName"], "i-1");
    }
}
