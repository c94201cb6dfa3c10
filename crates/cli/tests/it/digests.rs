//! Digest files through the real binary: a signed, unbroken chain per region that names every
//! delivered log file exactly once, across SIGKILLs, StopLogging / StartLogging, validation turned
//! off and on, and key rotation.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cairn_integrity::KeyRing;
use cairn_integrity::digest::{DigestFile, sha256_hex, string_to_sign};
use cairn_server::buckets::LocalBuckets;
use cairn_server::client::CloudTrailClient;
use rand::RngExt;
use serde_json::json;

use crate::delivery::{
    ALPHA, BETA, BUCKET, bucket_keys, call, client, create_trail, delivered, record, rt, serve, setup, status, uuid,
};
use crate::wait_for;

/// One digest as stored: parsed, with its raw JSON and its signature metadata.
#[derive(Debug, Clone)]
struct Stored {
    key: String,
    json: Vec<u8>,
    file: DigestFile,
    signature: String,
}

fn gunzip_one_member(body: &[u8], what: &str) -> Vec<u8> {
    let mut d = flate2::read::GzDecoder::new(body);
    let mut out = Vec::new();
    d.read_to_end(&mut out).unwrap();
    let mut rest = Vec::new();
    d.into_inner().read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty(), "{what}: bytes after the gzip member");
    out
}

fn digests(data: &Path) -> Vec<Stored> {
    let buckets = LocalBuckets::open_existing(&data.join("buckets")).unwrap();
    bucket_keys(data)
        .into_iter()
        .filter(|k| k.contains("/CloudTrail-Digest/"))
        .map(|key| {
            let obj = buckets.get_object(BUCKET, &key, None).unwrap();
            let json = gunzip_one_member(&obj.body, &key);
            assert_eq!(obj.info.user["signature-algorithm"], "SHA256withRSA", "{key}");
            Stored {
                file: serde_json::from_slice(&json).unwrap_or_else(|e| panic!("{key}: {e}")),
                json,
                signature: obj.info.user["signature"].clone(),
                key,
            }
        })
        .collect()
}

/// The chain of a digest or log file key, `<account>/<region>`, from
/// `AWSLogs/[o-id/]<account>/CloudTrail[-Digest]/<region>/...`.
fn chain_of(key: &str) -> String {
    let parts: Vec<&str> = key.split('/').collect();
    let folder = parts
        .iter()
        .position(|p| *p == "CloudTrail" || *p == "CloudTrail-Digest")
        .unwrap_or_else(|| panic!("{key}"));
    format!("{}/{}", parts[folder - 1], parts[folder + 1])
}

fn region_of(chain: &str) -> &str {
    chain.split_once('/').unwrap().1
}

fn hex_decode(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Checks everything a validator would, independently of `cairn validate-logs`: every digest is
/// signed by a key ListPublicKeys lists for its region; each region's digests form chains (start
/// = previous end, previous key/hash/signature right) with no forks and no strays; every log file
/// in the bucket is named by exactly one digest with its right hash and event times. Returns, per
/// chain (`<account>/<region>`), its runs (oldest first). `unnamed`: log files delivered with validation off.
fn check_store(data: &Path, addr: &str, unnamed: &HashSet<String>) -> BTreeMap<String, Vec<Vec<Stored>>> {
    let all = digests(data);
    assert!(!all.is_empty(), "no digests");
    let ring = KeyRing::open(data.join("signing-keys"), 30 * 86_400, 3600).unwrap();
    let mut listed: HashMap<String, HashSet<String>> = HashMap::new();
    for d in &all {
        let region = region_of(&chain_of(&d.key)).to_string();
        let fingerprints = listed.entry(region.clone()).or_insert_with(|| {
            let c = client(addr, ALPHA, &region);
            let now = jiff::Timestamp::now().as_second();
            call(
                &c,
                "ListPublicKeys",
                json!({"StartTime": now - 86_400, "EndTime": now + 7200}),
            )["PublicKeyList"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| k["Fingerprint"].as_str().unwrap().to_string())
                .collect()
        });
        let fp = &d.file.digest_public_key_fingerprint;
        assert!(fingerprints.contains(fp), "{}: key {fp} not listed for {region}", d.key);
        let key = ring.by_fingerprint(&region, fp).unwrap().unwrap();
        assert!(
            cairn_integrity::keys::verify(
                &key.public().der,
                &string_to_sign(&d.file, &d.json),
                &hex_decode(&d.signature)
            ),
            "{}: bad signature",
            d.key
        );
        assert_eq!(d.file.digest_s3_object, d.key);
        assert_eq!(d.file.digest_s3_bucket, BUCKET);
        assert!(d.file.digest_start_time <= d.file.digest_end_time, "{}", d.key);
    }

    // Chains: every digest is the previous of at most one, and each previous exists and matches.
    let by_key: HashMap<&str, &Stored> = all.iter().map(|d| (d.key.as_str(), d)).collect();
    let mut successor: HashMap<&str, &str> = HashMap::new();
    for d in &all {
        if let Some(prev) = d.file.previous_digest_s3_object.as_deref() {
            let p = by_key
                .get(prev)
                .unwrap_or_else(|| panic!("{}: previous {prev} missing", d.key));
            assert_eq!(
                d.file.previous_digest_hash_value.as_deref(),
                Some(sha256_hex(&p.json).as_str())
            );
            assert_eq!(d.file.previous_digest_signature.as_deref(), Some(p.signature.as_str()));
            assert_eq!(d.file.previous_digest_s3_bucket.as_deref(), Some(BUCKET));
            assert_eq!(
                d.file.digest_start_time, p.file.digest_end_time,
                "{}: not contiguous",
                d.key
            );
            assert_eq!(chain_of(prev), chain_of(&d.key));
            if let Some(other) = successor.insert(prev, &d.key) {
                panic!("fork: {other} and {} both follow {prev}", d.key);
            }
        } else {
            assert!(d.file.previous_digest_signature.is_none() && d.file.previous_digest_hash_value.is_none());
        }
    }
    let mut chains: BTreeMap<String, Vec<Vec<Stored>>> = BTreeMap::new();
    for head in all.iter().filter(|d| d.file.previous_digest_s3_object.is_none()) {
        let mut chain = vec![head.clone()];
        while let Some(next) = successor.get(chain.last().unwrap().key.as_str()) {
            chain.push(by_key[next].clone());
        }
        chains.entry(chain_of(&head.key)).or_default().push(chain);
    }
    let in_chains: usize = chains.values().flatten().map(Vec::len).sum();
    assert_eq!(in_chains, all.len(), "digests outside every chain");
    for c in chains.values_mut() {
        c.sort_by(|a, b| a[0].file.digest_end_time.cmp(&b[0].file.digest_end_time));
    }

    // Every log file named exactly once, with its hash and event times.
    let buckets = LocalBuckets::open(&data.join("buckets")).unwrap();
    let mut named: HashMap<&str, &str> = HashMap::new();
    for d in &all {
        for f in &d.file.log_files {
            if let Some(other) = named.insert(&f.s3_object, &d.key) {
                panic!("{} named by {other} and {}", f.s3_object, d.key);
            }
            assert_eq!(chain_of(&f.s3_object), chain_of(&d.key));
            let body = buckets.get_object(BUCKET, &f.s3_object, None).unwrap().body;
            let raw = gunzip_one_member(&body, &f.s3_object);
            assert_eq!(f.hash_value, sha256_hex(&raw), "{}", f.s3_object);
            let v: serde_json::Value = serde_json::from_slice(&raw).unwrap();
            let times: Vec<&str> = v["Records"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["eventTime"].as_str().unwrap())
                .collect();
            assert_eq!(f.oldest_event_time.as_str(), *times.iter().min().unwrap());
            assert_eq!(f.newest_event_time.as_str(), *times.iter().max().unwrap());
            assert!(d.file.oldest_event_time.as_deref() <= Some(f.oldest_event_time.as_str()));
            assert!(d.file.newest_event_time.as_deref() >= Some(f.newest_event_time.as_str()));
        }
    }
    for f in delivered(data) {
        assert_eq!(
            named.contains_key(f.key.as_str()),
            !unnamed.contains(&f.key),
            "{}: named by a digest, or not, wrongly",
            f.key
        );
    }
    chains
}

/// Waits until every log file (but `unnamed`) is named by a digest and the latest digest came
/// after `after_ms`.
pub(crate) fn wait_digested(data: &Path, c: &CloudTrailClient, trail: &str, after_ms: i64, unnamed: &HashSet<String>) {
    wait_for("log files digested", Duration::from_secs(60), || {
        let s = status(c, trail);
        let latest = s["LatestDigestDeliveryTime"].as_f64().unwrap_or(0.0);
        // Digest times are whole seconds.
        if latest < (after_ms / 1000) as f64 {
            return None;
        }
        let named: HashSet<String> = digests(data)
            .into_iter()
            .flat_map(|d| d.file.log_files.into_iter().map(|f| f.s3_object))
            .collect();
        delivered(data)
            .iter()
            .all(|f| named.contains(&f.key) || unnamed.contains(&f.key))
            .then_some(())
    });
}

/// The number of digests once none has come for longer than two digest intervals.
fn settled_digest_count(data: &Path) -> usize {
    let mut count = digests(data).len();
    for _ in 0..20 {
        std::thread::sleep(Duration::from_millis(2500));
        let now = digests(data).len();
        if now == count {
            return count;
        }
        count = now;
    }
    panic!("digests keep coming");
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

const DIGEST_ENV: [(&str, &str); 3] = [
    ("CAIRN_DIGEST_INTERVAL", "1s"),
    ("CAIRN_DELIVERY_MAX_BATCH_SIZE", "48KiB"),
    ("CAIRN_WAL_FILE_SIZE", "256KiB"),
];

#[test]
fn sigkills_leave_one_unbroken_chain_per_region_naming_every_log_file_once() {
    const ROUNDS: usize = 10;
    let dir = tempfile::tempdir().unwrap();
    let (data, config) = setup(dir.path());
    {
        let (mut p, addr) = serve(&data, &config, &DIGEST_ENV);
        create_trail(
            &client(&addr, ALPHA, "us-east-1"),
            "signed",
            json!({"IsMultiRegionTrail": true, "EnableLogFileValidation": true}),
        );
        assert!(p.sigterm().success());
    }
    let acked: Arc<Mutex<HashSet<String>>> = Default::default();
    let mut rng = rand::rng();
    for _ in 0..ROUNDS {
        let (mut p, addr) = serve(&data, &config, &DIGEST_ENV);
        let stop = Arc::new(AtomicBool::new(false));
        let loaders: Vec<_> = ["us-east-1", "eu-west-1"]
            .into_iter()
            .map(|region| {
                let (acked, stop, addr) = (acked.clone(), stop.clone(), addr.clone());
                std::thread::spawn(move || {
                    let c = client(&addr, ALPHA, "us-east-1");
                    let rt = rt();
                    while !stop.load(Ordering::Relaxed) {
                        let ids: Vec<String> = (0..20).map(|_| uuid()).collect();
                        let body: Vec<String> = ids.iter().map(|id| record(ALPHA, region, id, false)).collect();
                        match rt.block_on(c.ingest_events(body.join("\n").into_bytes(), None)) {
                            Ok(r) if r.status == 200 => acked.lock().unwrap().extend(ids),
                            _ => return,
                        }
                        std::thread::sleep(Duration::from_millis(20));
                    }
                })
            })
            .collect();
        // Digests close every second and batches every second or 48 KiB: kills land while
        // digests are signed, stored and written as often as while log files are.
        std::thread::sleep(Duration::from_millis(rng.random_range(500..3000)));
        p.kill9();
        stop.store(true, Ordering::Relaxed);
        for l in loaders {
            l.join().unwrap();
        }
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() > 500, "too little load to mean anything: {}", acked.len());

    let (mut p, addr) = serve(&data, &config, &DIGEST_ENV);
    let alpha = client(&addr, ALPHA, "us-east-1");
    wait_for("every acknowledged event delivered", Duration::from_secs(120), || {
        let ids: HashSet<String> = delivered(&data).into_iter().flat_map(|f| f.ids).collect();
        acked.iter().all(|a| ids.contains(a)).then_some(())
    });
    // StopLogging ends the chains with a final digest naming the last files.
    let stopped_at = now_ms();
    call(&alpha, "StopLogging", json!({"Name": "signed"}));
    wait_digested(&data, &alpha, "signed", stopped_at, &HashSet::new());
    let chains = check_store(&data, &addr, &HashSet::new());
    assert!(p.sigterm().success());
    // SIGKILL never breaks a chain: one per region, from the first digest to the final one.
    assert_eq!(
        chains.keys().cloned().collect::<Vec<_>>(),
        [format!("{ALPHA}/eu-west-1"), format!("{ALPHA}/us-east-1")]
    );
    for (region, c) in &chains {
        assert_eq!(c.len(), 1, "{region}: the chain broke: {} chains", c.len());
    }
    let total: usize = chains.values().flatten().map(Vec::len).sum();
    let files: usize = chains
        .values()
        .flatten()
        .flatten()
        .map(|d| d.file.log_files.len())
        .sum();
    eprintln!(
        "digest crash test: {} acknowledged events, {files} log files in {total} digests",
        acked.len()
    );
}

#[test]
fn stop_start_validation_off_and_on_and_key_rotation_start_new_chains() {
    let dir = tempfile::tempdir().unwrap();
    let (data, config) = setup(dir.path());
    let env = [("CAIRN_DIGEST_INTERVAL", "1s"), ("CAIRN_SIGNING_KEY_ROTATION", "4s")];
    let (mut p, addr) = serve(&data, &config, &env);
    let alpha = client(&addr, ALPHA, "us-east-1");
    create_trail(&alpha, "toggled", json!({"EnableLogFileValidation": true}));
    // Only the forwarded events, not Cairn's own audit records of the test's calls: files then
    // come only from the ingests below, so which ones were delivered with validation off is known.
    call(
        &alpha,
        "PutEventSelectors",
        json!({"TrailName": "toggled", "AdvancedEventSelectors": [{"FieldSelectors": [
            {"Field": "eventCategory", "Equals": ["Management"]},
            {"Field": "eventSource", "Equals": ["ec2.amazonaws.com"]}]}]}),
    );
    let ingest = || -> Vec<String> {
        let ids: Vec<String> = (0..3).map(|_| uuid()).collect();
        let body: Vec<String> = ids.iter().map(|id| record(ALPHA, "us-east-1", id, false)).collect();
        let r = rt()
            .block_on(alpha.ingest_events(body.join("\n").into_bytes(), None))
            .unwrap();
        assert_eq!(r.status, 200);
        ids
    };
    let none = HashSet::new();
    // Events in, then a digest after them naming every file.
    let phase = |what: &str| {
        let t = now_ms();
        ingest();
        wait_digested(&data, &alpha, "toggled", t, &none);
        eprintln!("phase {what} digested");
    };
    phase("first chain");
    // Long enough for the 4 s key to rotate while the chain runs.
    std::thread::sleep(Duration::from_secs(5));
    phase("after rotation");

    // StopLogging: a final digest, then none.
    let t = now_ms();
    call(&alpha, "StopLogging", json!({"Name": "toggled"}));
    wait_digested(&data, &alpha, "toggled", t, &none);
    call(&alpha, "StartLogging", json!({"Name": "toggled"}));
    phase("second chain");

    // Validation off: a final digest at once; files delivered meanwhile are named by none.
    let t = now_ms();
    call(
        &alpha,
        "UpdateTrail",
        json!({"Name": "toggled", "EnableLogFileValidation": false}),
    );
    wait_digested(&data, &alpha, "toggled", t, &none);
    // The final digest may follow a periodic one of the same second: wait until none come.
    let off = settled_digest_count(&data);
    let before_off: HashSet<String> = delivered(&data).into_iter().map(|f| f.key).collect();
    let ids = ingest();
    let unnamed: HashSet<String> = wait_for("delivery with validation off", Duration::from_secs(30), || {
        let files = delivered(&data);
        let got: HashSet<&String> = files.iter().flat_map(|f| &f.ids).collect();
        ids.iter().all(|i| got.contains(i)).then(|| {
            files
                .into_iter()
                .map(|f| f.key)
                .filter(|k| !before_off.contains(k))
                .collect()
        })
    });
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(digests(&data).len(), off, "digests written while validation was off");

    // A configuration change applies from the consumer's next read: events sent before it has
    // seen the change may still go out with validation off. Its first digest shows it has.
    let t = now_ms();
    call(
        &alpha,
        "UpdateTrail",
        json!({"Name": "toggled", "EnableLogFileValidation": true}),
    );
    wait_digested(&data, &alpha, "toggled", t + 1000, &unnamed);
    let t = now_ms();
    ingest();
    wait_digested(&data, &alpha, "toggled", t, &unnamed);
    let chains = check_store(&data, &addr, &unnamed);
    // DeleteTrail: a last digest names what the chain had not yet covered, ending it.
    let before = digests(&data).len();
    call(&alpha, "DeleteTrail", json!({"Name": "toggled"}));
    wait_for("the deleted trail's final digest", Duration::from_secs(30), || {
        (digests(&data).len() > before).then_some(())
    });
    // ...and then no more (a periodic one may have come just before).
    assert!(settled_digest_count(&data) > before);
    assert!(p.sigterm().success());
    let home = &chains[&format!("{ALPHA}/us-east-1")];
    assert_eq!(home.len(), 3, "stop/start and validation off/on each start a chain");
    let keys: HashSet<&str> = home
        .iter()
        .flatten()
        .map(|d| d.file.digest_public_key_fingerprint.as_str())
        .collect();
    assert!(keys.len() >= 2, "the key never rotated");
}

#[test]
fn an_organization_trail_keeps_a_chain_per_account_and_region() {
    let dir = tempfile::tempdir().unwrap();
    let (data, config) = setup(dir.path());
    let (mut p, addr) = serve(&data, &config, &[("CAIRN_DIGEST_INTERVAL", "1s")]);
    let alpha = client(&addr, ALPHA, "us-east-1");
    create_trail(
        &alpha,
        "org",
        json!({"IsOrganizationTrail": true, "IsMultiRegionTrail": true, "EnableLogFileValidation": true}),
    );
    let mut sent = Vec::new();
    for account in [ALPHA, BETA] {
        let c = client(&addr, account, "us-east-1");
        let ids: Vec<(String, &str)> = ["us-east-1", "eu-west-1"]
            .into_iter()
            .flat_map(|region| (0..3).map(move |_| (uuid(), region)))
            .collect();
        let body: Vec<String> = ids
            .iter()
            .map(|(id, region)| record(account, region, id, false))
            .collect();
        sent.extend(ids.into_iter().map(|(id, _)| id));
        let r = rt()
            .block_on(c.ingest_events(body.join("\n").into_bytes(), None))
            .unwrap();
        assert_eq!(r.status, 200, "{}", r.body);
    }
    wait_for("the events delivered", Duration::from_secs(30), || {
        let got: HashSet<String> = delivered(&data).into_iter().flat_map(|f| f.ids).collect();
        sent.iter().all(|i| got.contains(i)).then_some(())
    });
    // Stopped, so the checks' own calls (audited, and logged by the trail) add no files.
    let stopped = now_ms();
    call(&alpha, "StopLogging", json!({"Name": "org"}));
    wait_digested(&data, &alpha, "org", stopped, &HashSet::new());
    let chains = check_store(&data, &addr, &HashSet::new());
    assert!(p.sigterm().success());
    for account in [ALPHA, BETA] {
        for region in ["eu-west-1", "us-east-1"] {
            let runs = &chains[&format!("{account}/{region}")];
            assert_eq!(runs.len(), 1);
            for d in runs.iter().flatten() {
                assert_eq!(d.file.aws_account_id, account);
                assert!(
                    d.key
                        .starts_with(&format!("AWSLogs/o-abcdef1234/{account}/CloudTrail-Digest/{region}/")),
                    "{}",
                    d.key
                );
            }
        }
    }
}
