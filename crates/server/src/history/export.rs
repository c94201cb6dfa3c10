//! Exported event history: the encodings of `GET /export/events`. CSV for people and spreadsheets,
//! NDJSON (the stored records, byte for byte) for tools.

use std::borrow::Cow;

use cairn_model::{EventRecord, EventTime};
use serde::Deserialize;

/// An export's encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// RFC 4180 CSV with a header row.
    Csv,
    /// One stored CloudTrail record per line.
    Ndjson,
    /// One JSON document, `{"Records":[...]}`, as CloudTrail's log files and its console's
    /// downloads (and what `cairn import` reads back).
    Records,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Ndjson => "application/x-ndjson",
            Format::Records => "application/json",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Ndjson => "ndjson",
            Format::Records => "json",
        }
    }

    /// What precedes the first event.
    pub fn header(self) -> &'static [u8] {
        match self {
            Format::Csv => CSV_HEADER.as_bytes(),
            Format::Ndjson => b"",
            Format::Records => b"{\"Records\":[",
        }
    }

    /// What follows the last event (only once the export is complete: a download cut short
    /// stays visibly incomplete).
    pub fn trailer(self) -> &'static [u8] {
        match self {
            Format::Csv | Format::Ndjson => b"",
            Format::Records => b"\n]}\n",
        }
    }

    /// Appends the `n`-th event (from 0) to `out`.
    pub fn write(self, out: &mut Vec<u8>, n: u64, r: &EventRecord) {
        match self {
            Format::Csv => csv_row(out, r),
            Format::Ndjson => {
                out.extend_from_slice(r.json().as_bytes());
                out.push(b'\n');
            }
            Format::Records => {
                out.extend_from_slice(if n == 0 { b"\n" } else { b",\n" });
                out.extend_from_slice(r.json().as_bytes());
            }
        }
    }
}

/// The columns of the event history (as LookupEvents names them), then those a security review
/// asks for next. A record with several resources lists them all, in order, separated by `;` in
/// ResourceType and ResourceName (so the n-th type belongs to the n-th name): filtering by a
/// resource must not hide the others an event touched.
pub const CSV_HEADER: &str = "EventTime,EventName,Username,EventSource,ResourceType,ResourceName,AccessKeyId,ReadOnly,EventId,AwsRegion,SourceIPAddress,ErrorCode,RecipientAccountId\r\n";

/// The record fields the index does not keep.
#[derive(Deserialize, Default)]
struct Extra<'a> {
    #[serde(rename = "sourceIPAddress", borrow, default)]
    source_ip: Option<Cow<'a, str>>,
    #[serde(rename = "errorCode", borrow, default)]
    error_code: Option<Cow<'a, str>>,
}

fn csv_row(out: &mut Vec<u8>, r: &EventRecord) {
    let ix = r.index();
    // Stored records were valid JSON objects when appended; a field of another type is left blank.
    let extra: Extra<'_> = serde_json::from_str(r.json()).unwrap_or_default();
    let join = |f: fn(&cairn_model::ResourceRef) -> Option<&str>| -> String {
        ix.resources
            .iter()
            .map(|res| f(res).unwrap_or(""))
            .collect::<Vec<_>>()
            .join(";")
    };
    let read_only = ix.read_only.map(|b| if b { "true" } else { "false" });
    let fields: [&str; 13] = [
        &time_rfc3339(ix.event_time),
        ix.event_name.as_deref().unwrap_or(""),
        ix.username.as_deref().unwrap_or(""),
        ix.event_source.as_deref().unwrap_or(""),
        &join(|res| res.resource_type.as_deref()),
        &join(|res| res.name.as_deref()),
        ix.access_key_id.as_deref().unwrap_or(""),
        read_only.unwrap_or(""),
        &ix.event_id,
        &ix.region,
        extra.source_ip.as_deref().unwrap_or(""),
        extra.error_code.as_deref().unwrap_or(""),
        &ix.account_id,
    ];
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        csv_field(out, f);
    }
    out.extend_from_slice(b"\r\n");
}

/// RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled.
pub fn csv_field(out: &mut Vec<u8>, s: &str) {
    if s.contains([',', '"', '\n', '\r']) {
        out.push(b'"');
        for part in s.split_inclusive('"') {
            out.extend_from_slice(part.as_bytes());
            if part.ends_with('"') {
                out.push(b'"');
            }
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(s.as_bytes());
    }
}

/// RFC 3339 in UTC, with milliseconds only when there are some.
pub fn time_rfc3339(t: EventTime) -> String {
    let ms = t.millis().rem_euclid(1000);
    let (y, mo, d, h, mi, s) = cairn_model::time::civil(t.millis().div_euclid(1000));
    if ms == 0 {
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
    } else {
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}Z")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(s: &str) -> String {
        let mut out = Vec::new();
        csv_field(&mut out, s);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn csv_fields_are_quoted_as_rfc_4180_says() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field(""), "");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("\""), "\"\"\"\"");
        assert_eq!(field("two\nlines"), "\"two\nlines\"");
        assert_eq!(field("cr\r"), "\"cr\r\"");
        assert_eq!(field("é, ü"), "\"é, ü\"");
    }

    #[test]
    fn times_carry_milliseconds_only_when_present() {
        assert_eq!(
            time_rfc3339(EventTime::from_secs(1_750_000_000)),
            "2025-06-15T15:06:40Z"
        );
        assert_eq!(
            time_rfc3339(EventTime::from_millis(1_750_000_000_007)),
            "2025-06-15T15:06:40.007Z"
        );
        assert_eq!(time_rfc3339(EventTime::from_millis(-1)), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn a_row_has_every_column() {
        let r = EventRecord::from_json(
            r#"{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","accountId":"111111111111","userName":"a,b","accessKeyId":"AKIAX"},"eventTime":"2025-06-15T15:06:40Z","eventSource":"s3.amazonaws.com","eventName":"DeleteBucket","awsRegion":"eu-west-1","sourceIPAddress":"192.0.2.1","errorCode":"AccessDenied","requestParameters":{"errorCode":"not this one"},"eventID":"e1","readOnly":false,"resources":[{"type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::b1"},{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::b1/k\"q"}],"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111111111111","eventCategory":"Management"}"#,
        )
        .unwrap();
        let mut out = Format::Csv.header().to_vec();
        Format::Csv.write(&mut out, 0, &r);
        let text = String::from_utf8(out).unwrap();
        let mut lines = text.split("\r\n");
        assert_eq!(lines.next().unwrap().split(',').count(), 13);
        let row = lines.next().unwrap();
        let names: Vec<String> = r
            .index()
            .resources
            .iter()
            .map(|x| x.name.clone().unwrap_or_default())
            .collect();
        assert_eq!(
            row,
            format!(
                "2025-06-15T15:06:40Z,DeleteBucket,\"a,b\",s3.amazonaws.com,AWS::S3::Bucket;AWS::S3::Object,\"{}\",AKIAX,false,e1,eu-west-1,192.0.2.1,AccessDenied,111111111111",
                names.join(";").replace('"', "\"\"")
            )
        );
        let mut out = Vec::new();
        Format::Ndjson.write(&mut out, 0, &r);
        assert_eq!(out, format!("{}\n", r.json()).into_bytes());
    }

    #[test]
    fn records_are_one_json_document_once_complete() {
        let r = EventRecord::from_json(
            r#"{"eventVersion":"1.09","eventTime":"2025-06-15T15:06:40Z","eventName":"A","awsRegion":"eu-west-1","eventID":"e1","recipientAccountId":"111111111111"}"#,
        )
        .unwrap();
        for n in [0u64, 1, 3] {
            let mut out = Format::Records.header().to_vec();
            for i in 0..n {
                Format::Records.write(&mut out, i, &r);
            }
            let cut = out.clone();
            out.extend_from_slice(Format::Records.trailer());
            let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
            assert_eq!(doc["Records"].as_array().unwrap().len(), n as usize);
            // Without its trailer (an export cut short) it is no document at all.
            assert!(serde_json::from_slice::<serde_json::Value>(&cut).is_err());
        }
    }
}
