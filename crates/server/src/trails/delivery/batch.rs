//! A delivery batch: one stretch `(after, through]` of the event log, the log files it becomes
//! and their object keys.
//!
//! Everything here is a pure function of the batch's [`Plan`] and the log's events, so a batch
//! rebuilt after a crash produces the same keys (and the same bytes): a retry rewrites the
//! objects an interrupted attempt may have written instead of adding new ones.

use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::sync::Arc;

use cairn_model::record::EventRecord;
use cairn_model::trail::TrailConfig;
use flate2::Compression;
use flate2::write::GzEncoder;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::trails::select::{Folder, Selection};

/// Which accounts' events an organization trail receives, as of a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrgScope {
    pub id: String,
    pub accounts: Vec<String>,
}

/// A batch about to be delivered, stored before its first object is written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    /// Exclusive start and inclusive end of the batch's stretch of the log.
    pub after: u64,
    pub through: u64,
    /// Delivery time written into the keys (first attempt).
    pub stamp_ms: i64,
    /// The trail as its events were selected.
    pub trail: TrailConfig,
    /// Set for an organization trail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<OrgScope>,
}

/// The folder one event goes to: a log file per account, region and folder per batch.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileGroup {
    pub account: String,
    pub region: String,
    pub folder: Folder,
}

/// Decides, event by event, whether a trail delivers it and where.
pub struct Selector {
    selection: Selection,
    trail: Arc<TrailConfig>,
    /// None: only the trail's own account.
    org_accounts: Option<HashSet<String>>,
}

impl Selector {
    pub fn new(trail: Arc<TrailConfig>, org: Option<&OrgScope>) -> Selector {
        Selector {
            selection: Selection::compile(&trail),
            org_accounts: org
                .filter(|_| trail.is_organization_trail)
                .map(|o| o.accounts.iter().cloned().collect()),
            trail,
        }
    }

    pub fn trail(&self) -> &Arc<TrailConfig> {
        &self.trail
    }

    /// Where the event at `seq` goes, or None when this trail does not deliver it.
    pub fn group(&self, seq: u64, record: &EventRecord) -> Option<FileGroup> {
        if !self.trail.logging.logs(seq) {
            return None;
        }
        let index = record.index();
        let account_ok = match &self.org_accounts {
            Some(accounts) => accounts.contains(&index.account_id),
            None => index.account_id == self.trail.account_id,
        };
        if !account_ok {
            return None;
        }
        let folder = self.selection.select(record)?;
        Some(FileGroup {
            account: index.account_id.clone(),
            region: index.region.clone(),
            folder,
        })
    }
}

/// The records of one log file, in log order, and the span of their event times.
pub struct FileRecords {
    pub records: Vec<Arc<str>>,
    /// Milliseconds since the epoch.
    pub oldest_ms: i64,
    pub newest_ms: i64,
}

/// The selected events of a batch, grouped into files.
#[derive(Default)]
pub struct Contents {
    pub groups: BTreeMap<FileGroup, FileRecords>,
    pub events: usize,
    pub bytes: usize,
}

impl Contents {
    pub fn push(&mut self, group: FileGroup, record: &EventRecord) {
        self.events += 1;
        self.bytes += record.json().len() + 1;
        let t = record.index().event_time.millis();
        let file = self.groups.entry(group).or_insert_with(|| FileRecords {
            records: Vec::new(),
            oldest_ms: t,
            newest_ms: t,
        });
        file.oldest_ms = file.oldest_ms.min(t);
        file.newest_ms = file.newest_ms.max(t);
        file.records.push(record.json_arc().clone());
    }

    pub fn is_empty(&self) -> bool {
        self.events == 0
    }
}

/// One log file, ready to write, with what a digest file says of it.
pub struct LogFile {
    pub group: FileGroup,
    pub key: String,
    pub body: bytes::Bytes,
    /// Lower-case hex SHA-256 of the uncompressed file (a digest's `hashValue`).
    pub sha256: String,
    pub oldest_ms: i64,
    pub newest_ms: i64,
}

/// `[prefix/]AWSLogs/[o-id/]<account>/<folder>/<region>/YYYY/MM/DD/<account>_<folder>_<region>_<YYYYMMDDTHHmmZ>_<unique>.json.gz`
pub fn object_key(plan: &Plan, group: &FileGroup) -> String {
    let t = jiff::Timestamp::from_millisecond(plan.stamp_ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let dt = t.to_zoned(jiff::tz::TimeZone::UTC);
    let folder = group.folder.name();
    let mut key = String::with_capacity(160);
    if let Some(p) = plan.trail.s3_key_prefix.as_deref().filter(|p| !p.is_empty()) {
        key.push_str(p.trim_end_matches('/'));
        key.push('/');
    }
    key.push_str("AWSLogs/");
    if let Some(org) = plan.org.as_ref().filter(|_| plan.trail.is_organization_trail) {
        key.push_str(&org.id);
        key.push('/');
    }
    let (account, region) = (&group.account, &group.region);
    key.push_str(&format!(
        "{account}/{folder}/{region}/{}/{account}_{folder}_{region}_{}_{}.json.gz",
        dt.strftime("%Y/%m/%d"),
        dt.strftime("%Y%m%dT%H%MZ"),
        unique_string(plan, group),
    ));
    key
}

/// CloudTrail's 16 characters of `[A-Za-z0-9]`, derived from the batch and the file's group so a
/// rebuilt batch names its files the same way, and no two batches of a trail share a name.
fn unique_string(plan: &Plan, group: &FileGroup) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut h = Sha256::new();
    for part in [
        plan.trail.arn().as_str(),
        &plan.after.to_string(),
        &plan.through.to_string(),
        &group.account,
        &group.region,
        group.folder.name(),
    ] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    h.finalize()
        .iter()
        .take(16)
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

/// Builds (and gzips) the files of a batch; files are compressed on up to `threads` threads.
pub fn build(plan: &Plan, contents: &Contents, gzip_level: u32, threads: usize) -> std::io::Result<Vec<LogFile>> {
    let groups: Vec<(&FileGroup, &FileRecords)> = contents.groups.iter().collect();
    let threads = threads.clamp(1, groups.len().max(1));
    if threads == 1 {
        return groups
            .into_iter()
            .map(|(g, records)| log_file(plan, g, records, gzip_level))
            .collect();
    }
    let per = groups.len().div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = groups
            .chunks(per)
            .map(|chunk| {
                s.spawn(move || {
                    chunk
                        .iter()
                        .map(|(g, records)| log_file(plan, g, records, gzip_level))
                        .collect::<std::io::Result<Vec<_>>>()
                })
            })
            .collect();
        let mut files = Vec::with_capacity(groups.len());
        for h in handles {
            files.extend(h.join().map_err(|_| std::io::Error::other("gzip thread panicked"))??);
        }
        Ok(files)
    })
}

/// `{"Records":[...]}` with each record exactly as stored, as one gzip member.
fn log_file(plan: &Plan, group: &FileGroup, file: &FileRecords, gzip_level: u32) -> std::io::Result<LogFile> {
    let records = &file.records;
    // Assembled first and compressed in one call: one write per record costs more in the
    // encoder's per-call checksum and buffer copies than the compression itself at low levels.
    let raw_len: usize = records.iter().map(|r| r.len() + 1).sum::<usize>() + 16;
    let mut raw = Vec::with_capacity(raw_len);
    raw.extend_from_slice(b"{\"Records\":[");
    for (i, r) in records.iter().enumerate() {
        if i > 0 {
            raw.push(b',');
        }
        raw.extend_from_slice(r.as_bytes());
    }
    raw.extend_from_slice(b"]}");
    let mut gz = GzEncoder::new(Vec::with_capacity(raw_len / 5 + 64), Compression::new(gzip_level));
    gz.write_all(&raw)?;
    Ok(LogFile {
        group: group.clone(),
        key: object_key(plan, group),
        body: gz.finish()?.into(),
        sha256: cairn_integrity::digest::sha256_hex(&raw),
        oldest_ms: file.oldest_ms,
        newest_ms: file.newest_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn trail(prefix: Option<&str>, org: bool) -> TrailConfig {
        TrailConfig {
            s3_key_prefix: prefix.map(str::to_string),
            is_multi_region_trail: true,
            is_organization_trail: org,
            ..TrailConfig::new("main", "111122223333", "us-east-2", "logs", 0)
        }
    }

    fn plan(prefix: Option<&str>, org: bool) -> Plan {
        Plan {
            after: 10,
            through: 20,
            // 2015-08-01T02:10:30Z
            stamp_ms: 1_438_395_030_000,
            trail: trail(prefix, org),
            org: Some(OrgScope {
                id: "o-abcdef1234".into(),
                accounts: vec!["111122223333".into()],
            }),
        }
    }

    fn group(folder: Folder) -> FileGroup {
        FileGroup {
            account: "444455556666".into(),
            region: "eu-west-1".into(),
            folder,
        }
    }

    #[test]
    fn keys_follow_cloudtrails_layout() {
        let re = |key: &str, expect_prefix: &str, folder: &str| {
            let rest = key.strip_prefix(expect_prefix).unwrap_or_else(|| panic!("{key}"));
            let want = format!("444455556666_{folder}_eu-west-1_20150801T0210Z_");
            let name = rest
                .strip_prefix(&format!("444455556666/{folder}/eu-west-1/2015/08/01/"))
                .unwrap_or_else(|| panic!("{key}"));
            let unique = name
                .strip_prefix(&want)
                .and_then(|n| n.strip_suffix(".json.gz"))
                .unwrap();
            assert_eq!(unique.len(), 16);
            assert!(unique.bytes().all(|b| b.is_ascii_alphanumeric()));
        };
        re(
            &object_key(&plan(None, false), &group(Folder::CloudTrail)),
            "AWSLogs/",
            "CloudTrail",
        );
        re(
            &object_key(&plan(Some("a/b/"), false), &group(Folder::CloudTrail)),
            "a/b/AWSLogs/",
            "CloudTrail",
        );
        re(
            &object_key(&plan(Some("p"), true), &group(Folder::Insight)),
            "p/AWSLogs/o-abcdef1234/",
            "CloudTrail-Insight",
        );
        // Same batch, same name; another batch, another name.
        let p = plan(None, false);
        assert_eq!(
            object_key(&p, &group(Folder::CloudTrail)),
            object_key(&p, &group(Folder::CloudTrail))
        );
        let mut q = p.clone();
        q.through = 21;
        assert_ne!(
            object_key(&p, &group(Folder::CloudTrail)),
            object_key(&q, &group(Folder::CloudTrail))
        );
    }

    #[test]
    fn files_are_one_gzip_member_of_the_records_as_stored() {
        let mut contents = Contents::default();
        let a = EventRecord::from_json(r#"{"eventVersion":"1.08","eventTime":"2024-01-01T00:00:00Z","eventSource":"s3.amazonaws.com","eventName":"ListBuckets","awsRegion":"eu-west-1","eventID":"a","recipientAccountId":"444455556666","eventCategory":"Management","x":1.50}"#).unwrap();
        let b = EventRecord::from_json(r#"{"eventVersion":"1.08","eventTime":"2024-01-01T00:00:01Z","eventSource":"s3.amazonaws.com","eventName":"ListBuckets","awsRegion":"eu-west-1","eventID":"b","recipientAccountId":"444455556666","eventCategory":"Management"}"#).unwrap();
        contents.push(group(Folder::CloudTrail), &a);
        contents.push(group(Folder::CloudTrail), &b);
        let p = plan(None, false);
        let files = build(&p, &contents, 6, 2).unwrap();
        assert_eq!(files.len(), 1);
        let mut d = flate2::read::GzDecoder::new(&files[0].body[..]);
        let mut text = String::new();
        d.read_to_string(&mut text).unwrap();
        assert_eq!(text, format!("{{\"Records\":[{},{}]}}", a.json(), b.json()));
        // Nothing after the member.
        let mut rest = Vec::new();
        d.into_inner().read_to_end(&mut rest).unwrap();
        assert!(rest.is_empty());
        // Deterministic: a rebuilt batch has the same bytes.
        let again = build(&p, &contents, 6, 1).unwrap();
        assert_eq!(again[0].body, files[0].body);
        assert_eq!(again[0].key, files[0].key);
    }
}
