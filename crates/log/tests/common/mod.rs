//! Shared helpers for the event log tests.
#![allow(dead_code)]

use std::time::Duration;

use cairn_log::{EventLog, LogConfig, ScanRequest, StoredEvent};
use cairn_model::{EventRecord, EventTime, LookupFilter};

pub const ACCOUNTS: [&str; 2] = ["111111111111", "222222222222"];
pub const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];
const NAMES: [&str; 5] = [
    "DescribeInstances",
    "RunInstances",
    "PutObject",
    "CreateTrail",
    "ConsoleLogin",
];
const SOURCES: [&str; 3] = ["ec2.amazonaws.com", "s3.amazonaws.com", "cloudtrail.amazonaws.com"];

/// Opens a log, waiting while an earlier handle to the same directory is still shutting down
/// (dropping a handle while a flush runs keeps the directory locked until the flush ends).
pub async fn open_log(dir: impl AsRef<std::path::Path>, cfg: LogConfig) -> EventLog {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        match EventLog::open(dir.as_ref(), cfg.clone()).await {
            Ok(log) => return log,
            Err(e) if e.to_string().contains("another Cairn process") && std::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Err(e) => panic!("open failed: {e}"),
        }
    }
}

/// A small configuration that makes flushes, row groups and WAL files happen in small tests.
pub fn small_config() -> LogConfig {
    LogConfig {
        wal_file_bytes: 64 * 1024,
        memtable_flush_bytes: 200 * 1024,
        memtable_flush_age: Duration::from_secs(3600),
        row_group_rows: 64,
        maintenance_interval: Duration::from_secs(3600),
        compaction_small_bytes: 0,
        ..LogConfig::default()
    }
}

/// A deterministic record `i`: times jump around so segments overlap in time.
pub fn record(i: u64) -> EventRecord {
    let account = ACCOUNTS[(i % 2) as usize];
    let region = REGIONS[((i / 2) % 2) as usize];
    let name = NAMES[(i % 5) as usize];
    let source = SOURCES[(i % 3) as usize];
    // 1.7e9 s plus a scrambled offset; ties in time are frequent on purpose.
    let secs = 1_700_000_000 + ((i * 7919) % 5000) as i64;
    let time = EventTime::from_secs(secs).to_cloudtrail_string();
    let read_only = name.starts_with("Describe");
    let user = format!("user{}", i % 7);
    let resources = if i.is_multiple_of(4) {
        format!(
            r#","resources":[{{"accountId":"{account}","type":"AWS::EC2::Instance","ARN":"arn:aws:ec2:{region}:{account}:instance/i-{:04x}"}}]"#,
            i % 50
        )
    } else {
        String::new()
    };
    let category = if i.is_multiple_of(11) { "Data" } else { "Management" };
    EventRecord::from_json(&format!(
        r#"{{"eventVersion":"1.08","userIdentity":{{"type":"IAMUser","principalId":"AIDA{i}","arn":"arn:aws:iam::{account}:user/{user}","accountId":"{account}","accessKeyId":"AKIA{:04}","userName":"{user}"}},"eventTime":"{time}","eventSource":"{source}","eventName":"{name}","awsRegion":"{region}","sourceIPAddress":"10.0.0.{}","userAgent":"test","requestParameters":{{"n":{i}}},"responseElements":null,"requestID":"req-{i}","eventID":"evt-{i:06}","readOnly":{read_only},"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"{account}"{resources},"eventCategory":"{category}"}}"#,
        i % 13,
        i % 250
    ))
    .unwrap()
}

pub fn batch(range: std::ops::Range<u64>) -> Vec<EventRecord> {
    range.map(record).collect()
}

/// Every page of a scan, concatenated.
pub async fn scan_all(log: &EventLog, mut req: ScanRequest) -> Vec<StoredEvent> {
    let mut out = Vec::new();
    loop {
        let page = log.scan(&req).await.unwrap();
        assert!(page.events.len() <= req.limit);
        out.extend(page.events);
        match page.next {
            Some(pos) => req.after = Some(pos),
            None => return out,
        }
    }
}

/// The sequence numbers of `events`, after checking each record is the one appended with it (a
/// scan must return the right records, not only the right positions).
pub fn checked_seqs(all: &[(u64, EventRecord)], events: &[StoredEvent]) -> Vec<u64> {
    let by_seq: std::collections::HashMap<u64, &EventRecord> = all.iter().map(|(s, r)| (*s, r)).collect();
    for e in events {
        let want = by_seq
            .get(&e.seq)
            .unwrap_or_else(|| panic!("scan returned unknown sequence {}", e.seq));
        assert_eq!(e.record.json(), want.json(), "record of sequence {}", e.seq);
    }
    events.iter().map(|e| e.seq).collect()
}

/// What a scan must return, computed by brute force over (seq, record) pairs.
pub fn expected(all: &[(u64, EventRecord)], req: &ScanRequest) -> Vec<u64> {
    let mut v: Vec<&(u64, EventRecord)> = all
        .iter()
        .filter(|(_, r)| {
            let ix = r.index();
            ix.account_id == req.account_id
                && ix.region == req.region
                && ix.event_time >= req.start
                && ix.event_time <= req.end
                && req.categories.as_ref().is_none_or(|c| c.contains(&ix.event_category))
                && req
                    .filter
                    .as_ref()
                    .is_none_or(|f| cairn_log::scan::index_matches(ix, f))
        })
        .collect();
    v.sort_by_key(|(seq, r)| std::cmp::Reverse((r.event_time(), *seq)));
    v.into_iter().map(|(s, _)| *s).collect()
}

pub fn filters() -> Vec<Option<LookupFilter>> {
    use cairn_model::LookupAttribute::*;
    vec![
        None,
        Some(LookupFilter::new(EventName, "RunInstances")),
        Some(LookupFilter::new(EventSource, "s3.amazonaws.com")),
        Some(LookupFilter::new(ReadOnly, "true")),
        Some(LookupFilter::new(ReadOnly, "false")),
        Some(LookupFilter::new(Username, "user3")),
        Some(LookupFilter::new(AccessKeyId, "AKIA0005")),
        Some(LookupFilter::new(EventId, "evt-000044")),
        Some(LookupFilter::new(ResourceType, "AWS::EC2::Instance")),
        Some(LookupFilter::new(ResourceName, "i-0008")),
        Some(LookupFilter::new(
            ResourceName,
            "arn:aws:ec2:us-east-1:111111111111:instance/i-0000",
        )),
        Some(LookupFilter::new(EventName, "NoSuchEvent")),
        Some(LookupFilter::new(ReadOnly, "maybe")),
    ]
}
