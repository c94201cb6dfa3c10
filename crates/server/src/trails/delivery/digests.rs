//! Digest files of a trail with log file validation (spec §3): every period, one signed digest
//! per chain (account and source region) naming the log files delivered in that period, each
//! digest chained to the previous one by its signature and hash.
//!
//! This is the state machine only; the consumer decides when a period closes and writes what
//! [`Digests::close`] leaves in `writing`. The state is saved with the consumer's delivery state,
//! so log files are recorded in the same catalog write that retires their batch, and signed
//! digests are stored before their first PUT: a crash replays the very same bytes.

use std::collections::{BTreeMap, BTreeSet};

use cairn_integrity::KeyRing;
use cairn_integrity::digest::{self, DigestFile, HASH_ALGORITHM, LogFileEntry, iso_seconds};
use cairn_model::trail::{LoggingState, TrailConfig};
use serde::{Deserialize, Serialize};

use super::batch::{LogFile, OrgScope};
use crate::trails::select::Folder;

/// Where and under which names a trail's digests go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    pub bucket: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    pub trail_name: String,
    pub home_region: String,
    pub account_id: String,
    /// Set for an organization trail: digests go under `AWSLogs/<o-id>/<account>/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_id: Option<String>,
}

impl Target {
    pub fn of(trail: &TrailConfig, org: Option<&OrgScope>) -> Target {
        Target {
            bucket: trail.s3_bucket_name.clone(),
            prefix: trail.s3_key_prefix.clone().filter(|p| !p.is_empty()),
            trail_name: trail.name.clone(),
            home_region: trail.home_region.clone(),
            account_id: trail.account_id.clone(),
            org_id: org.filter(|_| trail.is_organization_trail).map(|o| o.id.clone()),
        }
    }
}

/// The latest digest of a chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Link {
    pub bucket: String,
    pub key: String,
    pub signature: String,
    /// SHA-256 of its uncompressed JSON (the next digest's `previousDigestHashValue`).
    pub hash: String,
    pub end_secs: i64,
    /// False once the chain has ended (final digest): the next digest starts a new chain. The
    /// link is kept so a new chain's first digest never reuses a key (keys have 1 s resolution).
    pub live: bool,
}

/// A signed digest not yet known to be written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingDigest {
    pub bucket: String,
    pub key: String,
    /// Its `digestEndTime` (seconds), the time in its key.
    pub end_secs: i64,
    pub json: String,
    pub signature: String,
}

/// A trail's digest state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Digests {
    /// Start of the open period (seconds); None while the trail writes no digests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period_start: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
    /// How many logging periods the trail had begun when this digest period opened: one more
    /// means StopLogging and StartLogging came since, which ends the chains even when the
    /// consumer never saw the trail stopped.
    #[serde(default)]
    pub logging_periods: usize,
    /// Log files delivered in the open period, by chain (`<account>/<region>`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub files: BTreeMap<String, Vec<LogFileEntry>>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub chains: BTreeMap<String, Link>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub writing: Vec<PendingDigest>,
}

fn chain_id(account: &str, region: &str) -> String {
    format!("{account}/{region}")
}

impl Digests {
    pub fn is_open(&self) -> bool {
        self.period_start.is_some()
    }

    /// When the open period ends (seconds).
    pub fn due_at(&self, interval_secs: i64) -> Option<i64> {
        self.period_start.map(|s| s + interval_secs)
    }

    /// Starts a period at `now` unless one is open.
    pub fn open(&mut self, now_secs: i64, target: Target, logging_periods: usize) {
        if self.period_start.is_none() {
            self.period_start = Some(now_secs);
            self.logging_periods = logging_periods;
        }
        self.target.get_or_insert(target);
    }

    /// The log position after which the trail stopped logging since this digest period opened,
    /// if it did: the final digest waits until delivery has passed it.
    pub fn stopped_after(&self, logging: &LoggingState) -> Option<u64> {
        if !logging.is_logging {
            return logging.logged_through();
        }
        logging.not_logged.get(self.logging_periods).map(|&(after, _)| after)
    }

    /// Records the CloudTrail log files of a delivered batch (insight files have no digests).
    pub fn record(&mut self, files: &[LogFile], now_secs: i64, trail: &TrailConfig, org: Option<&OrgScope>) {
        self.open(now_secs, Target::of(trail, org), trail.logging.not_logged.len());
        let bucket = &trail.s3_bucket_name;
        for f in files.iter().filter(|f| f.group.folder == Folder::CloudTrail) {
            self.files
                .entry(chain_id(&f.group.account, &f.group.region))
                .or_default()
                .push(LogFileEntry {
                    s3_bucket: bucket.to_string(),
                    s3_object: f.key.clone(),
                    hash_value: f.sha256.clone(),
                    hash_algorithm: HASH_ALGORITHM.to_string(),
                    newest_event_time: iso_seconds(f.newest_ms.div_euclid(1000)),
                    oldest_event_time: iso_seconds(f.oldest_ms.div_euclid(1000)),
                });
        }
    }

    /// Closes the open period at `end_secs`: signs one digest per chain (every live chain, every
    /// chain with files, and the trail's home region) into `writing`. A `last` close ends the
    /// chains: the next period starts new ones. The state changes only if every digest signs.
    pub fn close(&mut self, end_secs: i64, last: bool, keys: &KeyRing) -> Result<(), cairn_integrity::KeyError> {
        let (Some(start), Some(target)) = (self.period_start, self.target.clone()) else {
            self.period_start = None;
            return Ok(());
        };
        let mut next = self.clone();
        let mut ids: BTreeSet<String> = next
            .chains
            .iter()
            .filter(|(_, l)| l.live)
            .map(|(id, _)| id.clone())
            .collect();
        ids.extend(next.files.keys().cloned());
        ids.insert(chain_id(&target.account_id, &target.home_region));
        for id in ids {
            let Some((account, region)) = id.split_once('/') else {
                continue;
            };
            let before = next.chains.get(&id);
            let previous = before.filter(|l| l.live).cloned();
            // Keys name the end second: a chain's digests never share one.
            let end = before.map_or(end_secs, |l| end_secs.max(l.end_secs + 1));
            let files = next.files.remove(&id).unwrap_or_default();
            let key = digest::digest_key(
                target.prefix.as_deref(),
                target.org_id.as_deref(),
                account,
                region,
                &target.trail_name,
                &target.home_region,
                end,
            );
            let file = DigestFile {
                aws_account_id: account.to_string(),
                digest_start_time: iso_seconds(previous.as_ref().map_or(start, |l| l.end_secs).min(end)),
                digest_end_time: iso_seconds(end),
                digest_s3_bucket: target.bucket.clone(),
                digest_s3_object: key.clone(),
                digest_public_key_fingerprint: String::new(),
                digest_signature_algorithm: String::new(),
                newest_event_time: files.iter().map(|f| f.newest_event_time.clone()).max(),
                oldest_event_time: files.iter().map(|f| f.oldest_event_time.clone()).min(),
                previous_digest_s3_bucket: previous.as_ref().map(|l| l.bucket.clone()),
                previous_digest_s3_object: previous.as_ref().map(|l| l.key.clone()),
                previous_digest_hash_value: previous.as_ref().map(|l| l.hash.clone()),
                previous_digest_hash_algorithm: previous.as_ref().map(|_| HASH_ALGORITHM.to_string()),
                previous_digest_signature: previous.as_ref().map(|l| l.signature.clone()),
                log_files: files,
            };
            // Each region signs with its own key (validate-logs asks that region for it).
            let signing = keys.current(region, end)?;
            let signed = digest::sign(file, &signing)?;
            let json = String::from_utf8(signed.json).expect("serde_json writes UTF-8");
            next.chains.insert(
                id,
                Link {
                    bucket: target.bucket.clone(),
                    key: key.clone(),
                    signature: signed.signature_hex.clone(),
                    hash: digest::sha256_hex(json.as_bytes()),
                    end_secs: end,
                    live: !last,
                },
            );
            next.writing.push(PendingDigest {
                bucket: target.bucket.clone(),
                key,
                end_secs: end,
                json,
                signature: signed.signature_hex,
            });
        }
        next.period_start = (!last).then_some(end_secs);
        *self = next;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trails::delivery::batch::FileGroup;

    fn target() -> Target {
        Target {
            bucket: "logs".into(),
            prefix: Some("p".into()),
            trail_name: "main".into(),
            home_region: "us-east-1".into(),
            account_id: "111122223333".into(),
            org_id: None,
        }
    }

    fn file(region: &str, n: u8) -> LogFile {
        LogFile {
            group: FileGroup {
                account: "111122223333".into(),
                region: region.into(),
                folder: Folder::CloudTrail,
            },
            key: format!("p/AWSLogs/111122223333/CloudTrail/{region}/f{n}.json.gz"),
            body: bytes::Bytes::new(),
            sha256: format!("{n:064x}"),
            oldest_ms: 1_000_000 + i64::from(n) * 1000,
            newest_ms: 2_000_000 + i64::from(n) * 1000,
        }
    }

    fn parse(p: &PendingDigest) -> DigestFile {
        serde_json::from_str(&p.json).unwrap()
    }

    #[test]
    fn periods_chain_per_region_and_a_last_close_ends_the_chains() {
        let dir = tempfile::tempdir().unwrap();
        let keys = KeyRing::open(dir.path(), 30 * 86_400, 3600).unwrap();
        let mut d = Digests::default();
        let trail = TrailConfig {
            s3_key_prefix: Some("p".into()),
            ..TrailConfig::new("main", "111122223333", "us-east-1", "logs", 0)
        };
        d.open(1_000, target(), 1);
        d.record(&[file("eu-west-1", 1), file("us-east-1", 2)], 1_010, &trail, None);
        let mut insight = file("eu-west-1", 3);
        insight.group.folder = Folder::Insight;
        d.record(&[insight], 1_020, &trail, None);
        d.close(1_060, false, &keys).unwrap();
        assert_eq!(d.period_start, Some(1_060));
        let first: Vec<DigestFile> = d.writing.drain(..).map(|p| parse(&p)).collect();
        assert_eq!(first.len(), 2);
        for f in &first {
            assert_eq!(f.digest_start_time, iso_seconds(1_000));
            assert_eq!(f.digest_end_time, iso_seconds(1_060));
            assert!(f.previous_digest_signature.is_none() && f.previous_digest_s3_object.is_none());
            assert_eq!(f.log_files.len(), 1, "insight files are not digested");
        }
        let eu = first
            .iter()
            .find(|f| f.digest_s3_object.contains("/eu-west-1/"))
            .unwrap();
        assert!(
            eu.digest_s3_object
                .ends_with("_CloudTrail-Digest_eu-west-1_main_us-east-1_19700101T001740Z.json.gz")
        );
        assert_eq!(eu.oldest_event_time.as_deref(), Some("1970-01-01T00:16:41Z"));

        // An empty period still yields a digest per live chain, chained to the previous one.
        d.close(1_120, false, &keys).unwrap();
        let second: Vec<(PendingDigest, DigestFile)> = d.writing.drain(..).map(|p| (p.clone(), parse(&p))).collect();
        assert_eq!(second.len(), 2);
        for (_, f) in &second {
            let before = first
                .iter()
                .find(|b| b.aws_account_id == f.aws_account_id && b.digest_s3_object[..60] == f.digest_s3_object[..60])
                .unwrap();
            assert!(f.log_files.is_empty() && f.newest_event_time.is_none());
            assert_eq!(f.digest_start_time, before.digest_end_time);
            assert_eq!(
                f.previous_digest_s3_object.as_deref(),
                Some(before.digest_s3_object.as_str())
            );
        }
        let (p, f) = &second[0];
        assert_eq!(f.previous_digest_hash_algorithm.as_deref(), Some(HASH_ALGORITHM));
        assert_eq!(
            d.chains[&chain_id(
                &f.aws_account_id,
                if p.key.contains("eu-west-1") {
                    "eu-west-1"
                } else {
                    "us-east-1"
                }
            )]
                .signature,
            p.signature
        );

        // The last close ends the chains; the next period starts new ones, at a later second
        // even when closed in the same second.
        d.close(1_120, true, &keys).unwrap();
        assert!(!d.is_open());
        let last: Vec<DigestFile> = d.writing.drain(..).map(|p| parse(&p)).collect();
        assert!(last.iter().all(|f| f.digest_end_time == iso_seconds(1_121)));
        d.open(1_121, target(), 2);
        d.close(1_121, false, &keys).unwrap();
        let restarted: Vec<DigestFile> = d.writing.drain(..).map(|p| parse(&p)).collect();
        assert_eq!(restarted.len(), 1, "only the home region starts again: {restarted:?}");
        assert!(restarted[0].previous_digest_signature.is_none());
        assert_eq!(restarted[0].digest_end_time, iso_seconds(1_122));
    }
}
