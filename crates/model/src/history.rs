//! The event history's view of a record: one entry of a LookupEvents answer's `Events` (EventId,
//! EventName, ReadOnly as a string, AccessKeyId, EventTime in epoch seconds, EventSource,
//! Username, Resources, and the stored record as the JSON string `CloudTrailEvent`).
//!
//! Entries are written by hand rather than through serde: embedding the record as a string is
//! most of the work of an answer, and a record that was fetched ahead of its page can carry its
//! entry ready-made ([`crate::EventRecord::prepare_history_entry`]).

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
    write_json_string(out, record.json());
    out.push(b'}');
}

/// Appends `s` as a JSON string, escaped as serde_json escapes it. A stored record is compact
/// JSON, so its quotes and backslashes are the only bytes that usually need it; the text is
/// copied in runs between them.
pub fn write_json_string(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + bytes.len() / 8 + 2);
    out.push(b'"');
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if !NEEDS_ESCAPE[b as usize] {
            continue;
        }
        out.extend_from_slice(&bytes[start..i]);
        start = i + 1;
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            c => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[(c >> 4) as usize]);
                out.push(HEX[(c & 0xf) as usize]);
            }
        }
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Control characters, the quote and the backslash.
static NEEDS_ESCAPE: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = true;
        i += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

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

    /// Every byte value that can appear in a string escapes as serde_json escapes it.
    #[test]
    fn strings_escape_as_serde_does() {
        let mut all: String = (0u8..0x80).map(char::from).collect();
        all.push_str("é ✓ </script> \u{2028} end\\\"");
        for s in [all.as_str(), "", "plain", "\"", "\\\\", "a\u{1}\"b\\", "\u{7f}\u{1f}\u{0}"] {
            let mut out = Vec::new();
            write_json_string(&mut out, s);
            assert_eq!(out, serde_json::to_vec(s).unwrap(), "{s:?}");
        }
    }

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
