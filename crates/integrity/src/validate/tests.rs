//! The engine against an in-memory bucket holding a realistic chain: every kind of damage, the
//! exact messages, and what strict mode adds.

use std::collections::BTreeMap;
use std::io::Write;
use std::ops::ControlFlow;
use std::sync::Mutex;

use super::*;
use crate::KeyRing;
use crate::digest::{self, DigestFile, HASH_ALGORITHM, LogFileEntry, SIGNATURE_ALGORITHM, sha256_hex};

const ACCT: &str = "111122223333";
const REGION: &str = "us-east-1";
const BUCKET: &str = "logs";
const ARN: &str = "arn:aws:cloudtrail:us-east-1:111122223333:trail/main";
/// 2023-11-14T22:13:20Z: digests are not aligned to the hour, as CloudTrail's.
const T0: i64 = 1_700_000_000;
const HOUR: i64 = 3600;

#[derive(Default)]
struct Mem(Mutex<BTreeMap<(String, String), Object>>);

impl Mem {
    fn put(&self, key: &str, body: Vec<u8>, meta: &[(&str, &str)]) {
        let metadata = meta.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        self.0
            .lock()
            .unwrap()
            .insert((BUCKET.into(), key.into()), Object { body, metadata });
    }
    fn take(&self, key: &str) -> Object {
        self.0.lock().unwrap().remove(&(BUCKET.into(), key.into())).unwrap()
    }
    fn with<R>(&self, key: &str, f: impl FnOnce(&mut Object) -> R) -> R {
        f(self.0.lock().unwrap().get_mut(&(BUCKET.into(), key.into())).unwrap())
    }
}

impl Store for Mem {
    fn list(
        &self,
        bucket: &str,
        prefix: &str,
        start_after: Option<&str>,
        visit: &mut dyn FnMut(&str) -> ControlFlow<()>,
    ) -> Result<(), FetchError> {
        let keys: Vec<String> = self
            .0
            .lock()
            .unwrap()
            .keys()
            .filter(|(b, k)| b == bucket && k.starts_with(prefix) && start_after.is_none_or(|s| k.as_str() > s))
            .map(|(_, k)| k.clone())
            .collect();
        for k in keys {
            if visit(&k).is_break() {
                break;
            }
        }
        Ok(())
    }
    fn get(&self, bucket: &str, key: &str) -> Result<Object, FetchError> {
        self.0
            .lock()
            .unwrap()
            .get(&(bucket.into(), key.into()))
            .cloned()
            .ok_or(FetchError::NotFound)
    }
}

struct Ring(KeyRing);

impl KeySource for Ring {
    fn public_keys(&self, region: &str, start: i64, end: i64) -> Result<Vec<PublicKeyInfo>, String> {
        self.0.public_keys(region, start, end).map_err(|e| e.to_string())
    }
}

fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn gunzip(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(body), &mut out).unwrap();
    out
}

/// How to build the chain.
struct Build {
    digests: usize,
    /// Key rotation period of the signing key ring.
    rotation: i64,
    /// This digest starts a new chain (previous* null), 10 minutes after the last one ended.
    restart_at: Option<usize>,
    /// This digest names a wrong previousDigestHashValue (and is signed so).
    wrong_previous_hash_at: Option<usize>,
}

impl Default for Build {
    fn default() -> Self {
        Build {
            digests: 6,
            rotation: 30 * 86_400,
            restart_at: None,
            wrong_previous_hash_at: None,
        }
    }
}

struct Fixture {
    store: Mem,
    keys: Ring,
    _dir: tempfile::TempDir,
    /// Digest keys, oldest first.
    digests: Vec<String>,
    /// Per digest, its log file keys.
    logs: Vec<Vec<String>>,
}

fn digest_key_at(end: i64) -> String {
    digest::digest_key(Some("p"), None, ACCT, REGION, "main", REGION, end)
}

fn log_key(at: i64, n: usize) -> String {
    let t = jiff::Timestamp::from_second(at).unwrap();
    format!(
        "p/AWSLogs/{ACCT}/CloudTrail/{REGION}/{}/{ACCT}_CloudTrail_{REGION}_{}_{n:016}.json.gz",
        t.strftime("%Y/%m/%d"),
        t.strftime("%Y%m%dT%H%MZ")
    )
}

fn build(b: Build) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let ring = KeyRing::open(dir.path(), b.rotation, 600).unwrap();
    let store = Mem::default();
    let mut digests = Vec::new();
    let mut logs = Vec::new();
    let mut previous: Option<(String, String, String)> = None;
    for i in 0..b.digests {
        let restart = b.restart_at == Some(i);
        let start = T0 + i as i64 * HOUR + if restart { 600 } else { 0 };
        let end = T0 + (i as i64 + 1) * HOUR;
        if restart {
            previous = None;
        }
        let mut entries = Vec::new();
        let mut keys = Vec::new();
        for j in 0..2 {
            let at = start + 600 + j as i64 * 1200;
            let key = log_key(at, i * 10 + j);
            let content = format!(
                "{{\"Records\":[{{\"eventID\":\"{i}-{j}\",\"eventTime\":\"{}\"}}]}}",
                iso_seconds(at)
            );
            store.put(&key, gz(content.as_bytes()), &[]);
            entries.push(LogFileEntry {
                s3_bucket: BUCKET.into(),
                s3_object: key.clone(),
                hash_value: sha256_hex(content.as_bytes()),
                hash_algorithm: HASH_ALGORITHM.into(),
                newest_event_time: iso_seconds(at),
                oldest_event_time: iso_seconds(at),
            });
            keys.push(key);
        }
        let key = digest_key_at(end);
        let file = DigestFile {
            aws_account_id: ACCT.into(),
            digest_start_time: iso_seconds(start),
            digest_end_time: iso_seconds(end),
            digest_s3_bucket: BUCKET.into(),
            digest_s3_object: key.clone(),
            digest_public_key_fingerprint: String::new(),
            digest_signature_algorithm: String::new(),
            newest_event_time: entries.last().map(|e| e.newest_event_time.clone()),
            oldest_event_time: entries.first().map(|e| e.oldest_event_time.clone()),
            previous_digest_s3_bucket: previous.as_ref().map(|_| BUCKET.to_string()),
            previous_digest_s3_object: previous.as_ref().map(|p| p.0.clone()),
            previous_digest_hash_value: previous.as_ref().map(|p| {
                if b.wrong_previous_hash_at == Some(i) {
                    sha256_hex(b"something else")
                } else {
                    p.2.clone()
                }
            }),
            previous_digest_hash_algorithm: previous.as_ref().map(|_| HASH_ALGORITHM.to_string()),
            previous_digest_signature: previous.as_ref().map(|p| p.1.clone()),
            log_files: entries,
        };
        let signed = digest::sign(file, &ring.current(REGION, end).unwrap()).unwrap();
        store.put(
            &key,
            gz(&signed.json),
            &[
                ("signature", &signed.signature_hex),
                ("signature-algorithm", SIGNATURE_ALGORITHM),
            ],
        );
        previous = Some((key.clone(), signed.signature_hex, sha256_hex(&signed.json)));
        digests.push(key);
        logs.push(keys);
    }
    Fixture {
        store,
        keys: Ring(ring),
        _dir: dir,
        digests,
        logs,
    }
}

fn request(strict: bool) -> Request {
    Request {
        trail_arn: ARN.into(),
        bucket: BUCKET.into(),
        prefix: Some("p".into()),
        org_id: None,
        account_id: ACCT.into(),
        source_region: REGION.into(),
        home_region: REGION.into(),
        trail_name: "main".into(),
        start: T0,
        end: T0 + 6 * HOUR,
        verbose: false,
        strict,
        parallelism: 4,
        digest_period_secs: None,
        freshness: None,
    }
}

struct Out {
    stdout: String,
    stderr: String,
    summary: Summary,
}

fn run_with(f: &Fixture, req: &Request) -> Out {
    let mut sink: Vec<(Stream, String)> = Vec::new();
    let summary = run(req, &f.store, &f.keys, &mut sink).unwrap();
    let pick = |s: Stream| {
        sink.iter()
            .filter(|(t, _)| *t == s)
            .map(|(_, x)| x.as_str())
            .collect::<String>()
    };
    Out {
        stdout: pick(Stream::Stdout),
        stderr: pick(Stream::Stderr),
        summary,
    }
}

fn validate(f: &Fixture, strict: bool) -> Out {
    run_with(f, &request(strict))
}

fn header() -> String {
    format!(
        "Validating log files for trail {ARN} between {} and {}\n\n",
        iso_seconds(T0),
        iso_seconds(T0 + 6 * HOUR)
    )
}

fn requested() -> String {
    format!(
        "Results requested for {} to {}\n",
        iso_seconds(T0),
        iso_seconds(T0 + 6 * HOUR)
    )
}

fn found(a: i64, b: i64) -> String {
    format!("Results found for {} to {}:\n", iso_seconds(a), iso_seconds(b))
}

fn s3(key: &str) -> String {
    format!("s3://{BUCKET}/{key}")
}

fn digest_line(key: &str, reason: &str) -> String {
    format!("Digest file\t{}\tINVALID: {reason}\n\n", s3(key))
}

fn log_line(key: &str, reason: &str) -> String {
    format!("Log file\t{}\tINVALID: {reason}\n\n", s3(key))
}

fn missing_window(from: i64, to: i64, note: &str) -> String {
    format!(
        "Digest file\ts3://{BUCKET}/p/AWSLogs/{ACCT}/CloudTrail-Digest/{REGION}/ for about {} to {}\tINVALID: not found{note}\n\n",
        iso_seconds(from),
        iso_seconds(to)
    )
}

#[test]
fn an_untouched_chain_is_valid_and_verbose_lists_every_file_in_aws_order() {
    let f = build(Build::default());
    let out = validate(&f, false);
    assert_eq!(out.stderr, "");
    assert_eq!(
        out.stdout,
        format!(
            "{}{}{}\n6/6 digest files valid\n12/12 log files valid\n",
            header(),
            requested(),
            found(T0, T0 + 6 * HOUR)
        )
    );
    assert_eq!(out.summary.exit_code(), 0);

    let mut req = request(false);
    req.verbose = true;
    let out = run_with(&f, &req);
    let mut expected = header();
    for i in (0..6).rev() {
        expected.push_str(&format!("Digest file\t{}\tvalid\n", s3(&f.digests[i])));
        for l in &f.logs[i] {
            expected.push_str(&format!("Log file\t{}\tvalid\n", s3(l)));
        }
    }
    expected.push_str(&format!(
        "\n{}{}\n6/6 digest files valid\n12/12 log files valid\n",
        requested(),
        found(T0, T0 + 6 * HOUR)
    ));
    assert_eq!(out.stdout, expected);

    // Strict finds nothing more to say; one worker gives the same answer.
    let out = validate(&f, true);
    assert_eq!((out.stderr.as_str(), out.summary.exit_code()), ("", 0));
    req.parallelism = 1;
    req.strict = true;
    assert_eq!(run_with(&f, &req).stdout, expected);
}

#[test]
fn a_narrower_range_walks_only_the_digests_it_needs() {
    let f = build(Build::default());
    let mut req = request(false);
    req.start = T0 + 2 * HOUR + 60;
    req.end = T0 + 3 * HOUR + 60;
    let out = run_with(&f, &req);
    // Listed: digests ending in [start, end + 1h] (D2, D3); walked until a start < start (D2).
    assert_eq!(out.summary.valid_digests, 2);
    assert!(
        out.stdout.contains(&format!(
            "Results found for {} to {}:\n",
            iso_seconds(req.start),
            iso_seconds(req.end)
        )),
        "{}",
        out.stdout
    );
}

#[test]
fn a_modified_log_file_fails_its_hash() {
    let f = build(Build::default());
    let key = &f.logs[2][1];
    f.store.put(key, gz(b"{\"Records\":[]}"), &[]);
    let out = validate(&f, false);
    assert_eq!(out.stderr, log_line(key, "hash value doesn't match"));
    assert!(
        out.stdout
            .ends_with("\n6/6 digest files valid\n11/12 log files valid, 1/12 log files INVALID\n")
    );
    assert_eq!(out.summary.exit_code(), 1);
}

#[test]
fn a_deleted_log_file_is_not_found_and_garbage_is_invalid_format() {
    let f = build(Build::default());
    f.store.take(&f.logs[4][0]);
    f.store.put(&f.logs[1][0], b"not gzip at all".to_vec(), &[]);
    let out = validate(&f, false);
    assert_eq!(
        out.stderr,
        format!(
            "{}{}",
            log_line(&f.logs[4][0], "not found"),
            log_line(&f.logs[1][0], "invalid format")
        )
    );
    assert_eq!(out.summary.invalid_logs, 2);
}

#[test]
fn bytes_after_a_log_files_gzip_stream_are_reported() {
    let f = build(Build::default());
    let key = &f.logs[3][0];
    f.store.with(key, |o| o.body.extend_from_slice(&gz(b"appended")));
    let out = validate(&f, false);
    assert_eq!(
        out.stderr,
        log_line(key, "unexpected data after end of compressed stream")
    );
    assert_eq!(out.summary.exit_code(), 1);
}

#[test]
fn a_deleted_digest_is_not_found_and_strict_adds_its_unvouched_log_files() {
    let f = build(Build::default());
    f.store.take(&f.digests[3]);
    let out = validate(&f, false);
    assert_eq!(out.stderr, digest_line(&f.digests[3], "not found"));
    assert!(out.stdout.ends_with(&format!(
        "{}\n5/6 digest files valid, 1/6 digest files INVALID\n10/10 log files valid\n",
        found(T0, T0 + 6 * HOUR)
    )));
    assert_eq!(out.summary.exit_code(), 1);

    let out = validate(&f, true);
    assert_eq!(
        out.stderr,
        format!(
            "{}{}{}",
            digest_line(&f.digests[3], "not found"),
            log_line(&f.logs[3][0], "not referenced by any digest file"),
            log_line(&f.logs[3][1], "not referenced by any digest file"),
        )
    );
    assert!(out.stdout.ends_with("10/12 log files valid, 2/12 log files INVALID\n"));
}

#[test]
fn two_deleted_digests_in_a_row_aws_sees_one_strict_reports_both() {
    let f = build(Build::default());
    f.store.take(&f.digests[3]);
    f.store.take(&f.digests[2]);
    let out = validate(&f, false);
    assert_eq!(out.stderr, digest_line(&f.digests[3], "not found"));
    assert!(
        out.stdout
            .contains("\n4/5 digest files valid, 1/5 digest files INVALID\n")
    );

    let out = validate(&f, true);
    assert_eq!(
        out.stderr,
        format!(
            "{}{}{}",
            digest_line(&f.digests[3], "not found"),
            missing_window(T0 + 2 * HOUR, T0 + 3 * HOUR, ""),
            // Listed in key order: the older digest's files first.
            [&f.logs[2], &f.logs[3]]
                .into_iter()
                .flatten()
                .map(|k| log_line(k, "not referenced by any digest file"))
                .collect::<String>()
        )
    );
    assert!(out.stdout.contains(
        "\n4/6 digest files valid, 2/6 digest files INVALID\n8/12 log files valid, 4/12 log files INVALID\n"
    ));
}

#[test]
fn a_modified_digest_fails_its_signature() {
    let f = build(Build::default());
    let key = &f.digests[3];
    f.store.with(key, |o| {
        let json = String::from_utf8(gunzip(&o.body)).unwrap();
        let changed = json.replacen("\"hashValue\":\"", "\"hashValue\":\"0", 1);
        assert_ne!(json, changed);
        o.body = gz(changed.as_bytes());
    });
    for strict in [false, true] {
        let out = validate(&f, strict);
        assert_eq!(
            out.stderr,
            digest_line(key, "signature verification failed"),
            "strict {strict}"
        );
        // Its log files are not checked (nor, in strict mode, reported as unreferenced).
        assert!(
            out.stdout
                .ends_with("\n5/6 digest files valid, 1/6 digest files INVALID\n10/10 log files valid\n")
        );
        assert_eq!(out.summary.exit_code(), 1);
    }
}

#[test]
fn a_digest_moved_to_another_key_is_reported_where_it_was_and_where_it_is() {
    let f = build(Build::default());
    let original = &f.digests[3];
    let moved = digest_key_at(T0 + 3 * HOUR + 1800);
    let obj = f.store.take(original);
    f.store.0.lock().unwrap().insert((BUCKET.into(), moved.clone()), obj);
    let out = validate(&f, false);
    assert_eq!(
        out.stderr,
        format!(
            "{}{}",
            digest_line(original, "not found"),
            digest_line(&moved, "has been moved from its original location")
        )
    );
    assert!(
        out.stdout
            .contains("\n5/7 digest files valid, 2/7 digest files INVALID\n10/10 log files valid\n")
    );
    // Strict estimates no further missing digest in the half hours around it.
    assert_eq!(validate(&f, true).stderr, out.stderr);
}

#[test]
fn a_replaced_or_missing_signature_fails_verification() {
    let f = build(Build::default());
    let other = f.store.with(&f.digests[2], |o| o.metadata["signature"].clone());
    f.store.with(&f.digests[4], |o| {
        o.metadata.insert("signature".into(), other);
    });
    f.store.with(&f.digests[1], |o| {
        o.metadata.remove("signature-algorithm");
    });
    let out = validate(&f, false);
    assert_eq!(
        out.stderr,
        format!(
            "{}{}",
            digest_line(&f.digests[4], "signature verification failed"),
            digest_line(&f.digests[1], "signature verification failed")
        )
    );
}

#[test]
fn a_digest_signed_by_an_unknown_key_names_the_fingerprint() {
    let f = build(Build::default());
    let other_dir = tempfile::tempdir().unwrap();
    let other = KeyRing::open(other_dir.path(), 30 * 86_400, 600).unwrap();
    let key = &f.digests[5];
    f.store.with(key, |o| {
        let file: DigestFile = serde_json::from_slice(&gunzip(&o.body)).unwrap();
        let signed = digest::sign(file, &other.current(REGION, T0).unwrap()).unwrap();
        o.body = gz(&signed.json);
        o.metadata.insert("signature".into(), signed.signature_hex);
    });
    let fp = other.current(REGION, T0).unwrap().public().fingerprint.clone();
    let out = validate(&f, false);
    assert_eq!(
        out.stderr,
        digest_line(
            key,
            &format!("public key not found in region {REGION} for fingerprint {fp}")
        )
    );
}

#[test]
fn keys_rotated_mid_chain_both_verify() {
    let f = build(Build {
        rotation: 3 * HOUR,
        ..Build::default()
    });
    let fingerprints: std::collections::BTreeSet<String> = f
        .digests
        .iter()
        .map(|k| {
            let json = f.store.with(k, |o| gunzip(&o.body));
            serde_json::from_slice::<DigestFile>(&json)
                .unwrap()
                .digest_public_key_fingerprint
        })
        .collect();
    assert_eq!(fingerprints.len(), 2, "the chain spans a rotation");
    let out = validate(&f, true);
    assert_eq!(out.stderr, "");
    assert_eq!(out.summary.valid_digests, 6);
}

#[test]
fn a_restarted_chain_prints_a_gap_and_is_not_an_error() {
    let f = build(Build {
        restart_at: Some(3),
        ..Build::default()
    });
    for strict in [false, true] {
        let out = validate(&f, strict);
        assert_eq!(
            out.stderr,
            format!(
                "No log files were delivered by CloudTrail between {} and {}\n\n",
                iso_seconds(T0 + 3 * HOUR),
                iso_seconds(T0 + 3 * HOUR + 600)
            )
        );
        assert_eq!(out.summary.exit_code(), 0);
        assert_eq!(out.summary.valid_digests, 6);
    }
    // Verbose: the gap sits between the restarted chain's first digest (and its files) and the
    // older chain's last digest, set off by blank lines.
    let mut req = request(false);
    req.verbose = true;
    let mut sink: Vec<(Stream, String)> = Vec::new();
    run(&req, &f.store, &f.keys, &mut sink).unwrap();
    let gap = sink.iter().position(|(s, _)| *s == Stream::Stderr).unwrap();
    assert_eq!(sink[gap - 1].1, format!("Log file\t{}\tvalid\n", s3(&f.logs[3][1])));
    assert!(sink[gap].1.starts_with("\nNo log files were delivered"));
    assert_eq!(sink[gap + 1].1, format!("Digest file\t{}\tvalid\n", s3(&f.digests[2])));
}

#[test]
fn strict_checks_the_previous_digest_hash() {
    let f = build(Build {
        wrong_previous_hash_at: Some(4),
        ..Build::default()
    });
    assert_eq!(validate(&f, false).summary.exit_code(), 0);
    let out = validate(&f, true);
    assert_eq!(
        out.stderr,
        digest_line(
            &f.digests[4],
            "previousDigestHashValue does not match the previous digest"
        )
    );
    // Its files are still vouched for by its valid signature, and checked.
    assert!(
        out.stdout
            .contains("\n5/6 digest files valid, 1/6 digest files INVALID\n12/12 log files valid\n")
    );
}

#[test]
fn strict_reports_log_files_no_digest_lists() {
    let f = build(Build::default());
    let extra = log_key(T0 + 2 * HOUR + 900, 99);
    f.store.put(&extra, gz(b"{\"Records\":[]}"), &[]);
    // After the newest digest began: may belong to the next digest, not reported.
    f.store
        .put(&log_key(T0 + 5 * HOUR + 120, 98), gz(b"{\"Records\":[]}"), &[]);
    assert_eq!(validate(&f, false).summary.exit_code(), 0);
    let out = validate(&f, true);
    assert_eq!(out.stderr, log_line(&extra, "not referenced by any digest file"));
    assert!(
        out.stdout
            .ends_with("\n6/6 digest files valid\n12/13 log files valid, 1/13 log files INVALID\n")
    );
}

#[test]
fn strict_trailing_data_after_a_digest() {
    let f = build(Build::default());
    f.store.with(&f.digests[1], |o| o.body.extend_from_slice(b"junk"));
    assert_eq!(validate(&f, false).summary.exit_code(), 0);
    let out = validate(&f, true);
    assert_eq!(
        out.stderr,
        digest_line(&f.digests[1], "unexpected data after end of compressed stream")
    );
}

#[test]
fn strict_freshness_finds_the_newest_digests_deleted() {
    let f = build(Build::default());
    for i in [5, 4] {
        f.store.take(&f.digests[i]);
        for l in &f.logs[i] {
            f.store.take(l);
        }
    }
    let mut req = request(false);
    req.freshness = Some(Freshness {
        latest_delivery: T0 + 6 * HOUR + 1,
        slack_secs: 60,
        newest_key: None,
    });
    // The aws CLI's walk cannot tell.
    let out = run_with(&f, &req);
    assert_eq!((out.stderr.as_str(), out.summary.exit_code()), ("", 0));
    req.strict = true;
    let out = run_with(&f, &req);
    let note = format!(
        " (newest digests deleted: the trail delivered digests until {})",
        iso_seconds(T0 + 6 * HOUR + 1)
    );
    assert_eq!(
        out.stderr,
        format!(
            "{}{}",
            missing_window(T0 + 5 * HOUR, T0 + 6 * HOUR + 1, &note),
            missing_window(T0 + 4 * HOUR, T0 + 5 * HOUR, &note)
        )
    );
    assert!(
        out.stdout
            .contains("\n4/6 digest files valid, 2/6 digest files INVALID\n8/8 log files valid\n")
    );

    // Knowing the newest key exactly: that key is named.
    req.freshness = Some(Freshness {
        latest_delivery: T0 + 6 * HOUR + 1,
        slack_secs: 60,
        newest_key: Some(f.digests[5].clone()),
    });
    let out = run_with(&f, &req);
    assert_eq!(
        out.stderr,
        format!(
            "{}{}",
            digest_line(&f.digests[5], "not found (the newest digest the trail delivered)"),
            missing_window(T0 + 4 * HOUR, T0 + 5 * HOUR, " (newest digests deleted)")
        )
    );
    // A delivery just now of a digest that is there: nothing to say.
    let f = build(Build::default());
    req.freshness = Some(Freshness {
        latest_delivery: T0 + 6 * HOUR + 30,
        slack_secs: 60,
        newest_key: None,
    });
    assert_eq!(run_with(&f, &req).stderr, "");
}

#[test]
fn no_digests_and_no_keys() {
    let f = build(Build {
        digests: 0,
        ..Build::default()
    });
    // No key was ever made: the aws CLI's "No public keys found" (exit 255).
    let e = run(&request(false), &f.store, &f.keys, &mut Vec::new()).unwrap_err();
    assert_eq!(e.exit_code(), 255);
    assert!(e.to_string().starts_with("No public keys found between "), "{e}");
    let f = build(Build::default());
    let mut req = request(false);
    req.start = T0 + 30 * HOUR;
    req.end = T0 + 40 * HOUR;
    let out = run_with(&f, &req);
    assert!(out.stdout.ends_with("No digests found\n"), "{}", out.stdout);
    assert_eq!(out.summary.exit_code(), 0);
    req.end = req.start - 1;
    assert_eq!(
        run(&req, &f.store, &f.keys, &mut Vec::new()).unwrap_err().exit_code(),
        255
    );
}

#[test]
fn a_failing_store_stops_the_run() {
    struct Failing(Mem);
    impl Store for Failing {
        fn list(
            &self,
            bucket: &str,
            prefix: &str,
            start_after: Option<&str>,
            visit: &mut dyn FnMut(&str) -> ControlFlow<()>,
        ) -> Result<(), FetchError> {
            self.0.list(bucket, prefix, start_after, visit)
        }
        fn get(&self, bucket: &str, key: &str) -> Result<Object, FetchError> {
            if key.contains("/CloudTrail/") {
                return Err(FetchError::Other("AccessDenied".into()));
            }
            self.0.get(bucket, key)
        }
    }
    let f = build(Build::default());
    let failing = Failing(std::mem::take(&mut *f.store.0.lock().unwrap()).into());
    let e = run(&request(false), &failing, &f.keys, &mut Vec::new()).unwrap_err();
    assert_eq!(e.exit_code(), 254);
    assert!(e.to_string().contains("AccessDenied"), "{e}");
}

impl From<BTreeMap<(String, String), Object>> for Mem {
    fn from(m: BTreeMap<(String, String), Object>) -> Self {
        Mem(Mutex::new(m))
    }
}

#[test]
fn log_files_between_two_chains_are_not_expected_in_any_digest() {
    // Validation was off (or logging stopped) between the chains: a file delivered then is named
    // by no digest, and strict mode must not call it injected. One inside a chain still is.
    let f = build(Build {
        restart_at: Some(3),
        ..Build::default()
    });
    let gap_file = log_key(T0 + 3 * HOUR + 120, 90);
    let injected = log_key(T0 + HOUR + 120, 91);
    let body = f.store.with(&f.logs[0][0], |o| o.body.clone());
    f.store.put(&gap_file, body.clone(), &[]);
    let out = validate(&f, true);
    assert_eq!(out.stderr.matches("INVALID").count(), 0, "{}", out.stderr);
    assert_eq!(out.summary.exit_code(), 0);
    f.store.put(&injected, body, &[]);
    let out = validate(&f, true);
    assert!(
        out.stderr
            .contains(&log_line(&injected, "not referenced by any digest file"))
    );
    assert!(!out.stderr.contains(&gap_file));
    assert_eq!(out.summary.exit_code(), 1);
}
