//! Trail delivery through the real binary: exactly-once files across SIGKILLs, CloudTrail's key
//! layout for organization, multi-region and single-region trails, StopLogging, and a destination
//! that disappears and comes back.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cairn_server::buckets::{ListRequest, LocalBuckets};
use cairn_server::client::CloudTrailClient;
use rand::RngExt;
use serde_json::{Value, json};

use crate::{Proc, cairn, http_get, wait_for};

pub(crate) const ALPHA: &str = "111111111111"; // management account
pub(crate) const BETA: &str = "222222222222"; // member
pub(crate) const BUCKET: &str = "trail-logs";

fn key(account: &str) -> (String, String) {
    (
        format!("AKIAROOT{account}"),
        format!("root-secret-{account}-0000000000"),
    )
}

fn config(dir: &Path) -> std::path::PathBuf {
    let mut text = String::new();
    for a in [ALPHA, BETA] {
        let (k, s) = key(a);
        text.push_str(&format!(
            "[[accounts]]\nid = \"{a}\"\nroot_access_keys = [{{ id = \"{k}\", secret = \"{s}\" }}]\n\n"
        ));
    }
    text.push_str(&format!(
        "[organization]\nid = \"o-abcdef1234\"\nmanagement_account = \"{ALPHA}\"\nmember_accounts = [\"{BETA}\"]\n"
    ));
    let path = dir.join("cairn.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// A data directory with the trail bucket created (as the S3 facade would) before the first start.
pub(crate) fn setup(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    LocalBuckets::open(&data.join("buckets"))
        .unwrap()
        .create_bucket(BUCKET, ALPHA, "us-east-1")
        .unwrap();
    (data, config(dir))
}

pub(crate) fn serve(data: &Path, config: &Path, env: &[(&str, &str)]) -> (Proc, String) {
    let mut cmd = cairn();
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(config)
        .arg("--data-dir")
        .arg(data)
        .env("CAIRN_DELIVERY_INTERVAL", "1s")
        .env("CAIRN_DELIVERY_MAX_BACKOFF", "200ms")
        .envs(env.iter().copied());
    let (p, addr) = crate::serve::spawn_server(cmd);
    wait_for("/health", Duration::from_secs(60), || {
        matches!(http_get(&addr, "/health"), Ok((200, _))).then_some(())
    });
    (p, addr)
}

pub(crate) fn client(addr: &str, account: &str, region: &str) -> CloudTrailClient {
    let (k, s) = key(account);
    CloudTrailClient::new(&format!("http://{addr}"), region, &k, &s)
}

pub(crate) fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

pub(crate) fn call(c: &CloudTrailClient, op: &str, input: Value) -> Value {
    let reply = rt().block_on(c.call(op, &input)).unwrap();
    assert_eq!(reply.status, 200, "{op}: {}", reply.body);
    reply.body
}

pub(crate) fn record(account: &str, region: &str, id: &str, read_only: bool) -> String {
    json!({
        "eventVersion": "1.08",
        "userIdentity": {"type": "IAMUser", "principalId": "AIDAEXAMPLE", "arn": format!("arn:aws:iam::{account}:user/alice"),
                         "accountId": account, "accessKeyId": "AKIAFORWARDED0000001", "userName": "alice"},
        "eventTime": jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "eventSource": "ec2.amazonaws.com",
        "eventName": if read_only { "DescribeInstances" } else { "RunInstances" },
        "awsRegion": region,
        "sourceIPAddress": "10.0.0.1",
        "userAgent": "delivery-test",
        "requestParameters": {"n": id},
        "responseElements": null,
        "eventID": id,
        "readOnly": read_only,
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": account,
        "eventCategory": "Management",
    })
    .to_string()
}

pub(crate) fn uuid() -> String {
    let h = format!("{:032x}", rand::rng().random::<u128>());
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

/// One delivered log file: its key and the event ids it holds, in order.
#[derive(Debug)]
pub(crate) struct Delivered {
    pub key: String,
    pub ids: Vec<String>,
    pub records: Vec<Value>,
}

/// Every log file in the trail bucket (digests aside), checked to be one gzip member of
/// `{"Records":[...]}` with CloudTrail's object headers.
pub(crate) fn delivered(data: &Path) -> Vec<Delivered> {
    let buckets = LocalBuckets::open_existing(&data.join("buckets")).unwrap();
    let mut out = Vec::new();
    for key in bucket_keys(data)
        .into_iter()
        .filter(|k| !k.contains("/CloudTrail-Digest/"))
    {
        let obj = buckets.get_object(BUCKET, &key, None).unwrap();
        assert_eq!(obj.info.content_type.as_deref(), Some("application/json"), "{key}");
        assert_eq!(obj.info.content_encoding.as_deref(), Some("gzip"), "{key}");
        let mut d = flate2::read::GzDecoder::new(&obj.body[..]);
        let mut text = String::new();
        d.read_to_string(&mut text).unwrap();
        let mut rest = Vec::new();
        d.into_inner().read_to_end(&mut rest).unwrap();
        assert!(rest.is_empty(), "{key}: bytes after the gzip member");
        let v: Value = serde_json::from_str(&text).unwrap();
        let records = v["Records"].as_array().unwrap().clone();
        assert!(!records.is_empty(), "{key}: an empty log file");
        let ids = records
            .iter()
            .map(|r| r["eventID"].as_str().unwrap().to_string())
            .collect();
        out.push(Delivered { key, ids, records });
    }
    out
}

/// Every key in the trail bucket, in order.
pub(crate) fn bucket_keys(data: &Path) -> Vec<String> {
    let buckets = LocalBuckets::open_existing(&data.join("buckets")).unwrap();
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = buckets
            .list_objects(
                BUCKET,
                &ListRequest {
                    prefix: String::new(),
                    delimiter: None,
                    start_after: after.clone(),
                    max_keys: 1000,
                },
            )
            .unwrap();
        out.extend(page.objects.into_iter().map(|o| o.key));
        if !page.is_truncated {
            return out;
        }
        after = out.last().cloned();
    }
}

pub(crate) fn create_trail(c: &CloudTrailClient, name: &str, extra: Value) -> String {
    let mut input = json!({"Name": name, "S3BucketName": BUCKET});
    for (k, v) in extra.as_object().unwrap() {
        input[k] = v.clone();
    }
    let arn = call(c, "CreateTrail", input)["TrailARN"].as_str().unwrap().to_string();
    call(c, "StartLogging", json!({"Name": arn}));
    arn
}

#[test]
fn sigkill_during_delivery_leaves_every_acknowledged_event_in_exactly_one_file() {
    const ROUNDS: usize = 20;
    let dir = tempfile::tempdir().unwrap();
    let (data, config) = setup(dir.path());
    let env = [
        ("CAIRN_DELIVERY_MAX_BATCH_SIZE", "48KiB"),
        ("CAIRN_WAL_FILE_SIZE", "256KiB"),
    ];
    {
        let (mut p, addr) = serve(&data, &config, &env);
        create_trail(
            &client(&addr, ALPHA, "us-east-1"),
            "crash",
            json!({"IsMultiRegionTrail": true}),
        );
        assert!(p.sigterm().success());
    }
    let acked: Arc<Mutex<HashSet<String>>> = Default::default();
    let sent: Arc<Mutex<HashSet<String>>> = Default::default();
    let mut rng = rand::rng();
    for _ in 0..ROUNDS {
        let (mut p, addr) = serve(&data, &config, &env);
        let stop = Arc::new(AtomicBool::new(false));
        let loaders: Vec<_> = (0..2)
            .map(|_| {
                let (acked, sent, stop, addr) = (acked.clone(), sent.clone(), stop.clone(), addr.clone());
                std::thread::spawn(move || {
                    let c = client(&addr, ALPHA, "us-east-1");
                    let rt = rt();
                    while !stop.load(Ordering::Relaxed) {
                        let ids: Vec<String> = (0..40).map(|_| uuid()).collect();
                        sent.lock().unwrap().extend(ids.iter().cloned());
                        let body: Vec<String> = ids.iter().map(|id| record(ALPHA, "us-east-1", id, false)).collect();
                        match rt.block_on(c.ingest_events(body.join("\n").into_bytes(), None)) {
                            Ok(r) if r.status == 200 => acked.lock().unwrap().extend(ids),
                            _ => return,
                        }
                    }
                })
            })
            .collect();
        // Kill at a random moment: batches close every second or every 48 KiB, so most kills
        // land while a batch is being planned, written or committed.
        std::thread::sleep(Duration::from_millis(rng.random_range(300..2500)));
        p.kill9();
        stop.store(true, Ordering::Relaxed);
        for l in loaders {
            l.join().unwrap();
        }
    }
    let acked = acked.lock().unwrap().clone();
    let sent = sent.lock().unwrap().clone();
    assert!(acked.len() > 2000, "too little load to mean anything: {}", acked.len());

    // A last run delivers what the kills left behind.
    let (mut p, _addr) = serve(&data, &config, &env);
    let files = wait_for("every acknowledged event delivered", Duration::from_secs(120), || {
        let files = delivered(&data);
        let ids: HashSet<&String> = files.iter().flat_map(|f| &f.ids).collect();
        acked.iter().all(|a| ids.contains(a)).then_some(files)
    });
    assert!(p.sigterm().success());
    let mut seen: HashMap<&str, &str> = HashMap::new();
    for f in &files {
        for id in &f.ids {
            if let Some(other) = seen.insert(id, &f.key) {
                panic!("event {id} delivered twice: in {other} and {}", f.key);
            }
        }
    }
    // Forwarded events all came from the test; the rest are Cairn's own audit records.
    let forwarded: Vec<&&str> = seen.keys().filter(|id| sent.contains(**id)).collect();
    assert!(forwarded.len() >= acked.len());
    assert!(files.len() > ROUNDS, "only {} files", files.len());
    for f in &files {
        assert!(
            f.key.starts_with(&format!("AWSLogs/{ALPHA}/CloudTrail/us-east-1/")),
            "{}",
            f.key
        );
    }
    eprintln!(
        "delivery crash test: {} acknowledged events, {} events in {} files",
        acked.len(),
        seen.len(),
        files.len()
    );
}

#[test]
fn organization_multi_region_and_single_region_trails_write_their_folders() {
    let dir = tempfile::tempdir().unwrap();
    let (data, config) = setup(dir.path());
    let (mut p, addr) = serve(&data, &config, &[]);
    let alpha = client(&addr, ALPHA, "us-east-1");
    create_trail(
        &alpha,
        "org",
        json!({"IsOrganizationTrail": true, "IsMultiRegionTrail": true, "S3KeyPrefix": "org/logs"}),
    );
    create_trail(&alpha, "home", json!({}));
    create_trail(
        &alpha,
        "writes",
        json!({"IsMultiRegionTrail": true, "S3KeyPrefix": "writes"}),
    );
    call(
        &alpha,
        "PutEventSelectors",
        json!({"TrailName": "writes", "EventSelectors": [{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": true}]}),
    );
    let mut expect: BTreeMap<(String, String, bool), String> = BTreeMap::new();
    let mut body = Vec::new();
    for account in [ALPHA, BETA] {
        for region in ["us-east-1", "eu-west-1"] {
            for read_only in [true, false] {
                let id = uuid();
                body.push(record(account, region, &id, read_only));
                expect.insert((account.to_string(), region.to_string(), read_only), id);
            }
        }
    }
    let reply = rt()
        .block_on(alpha.ingest_events(body.join("\n").into_bytes(), None))
        .unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
    let ours: HashSet<&String> = expect.values().collect();
    let files = wait_for("three trails deliver", Duration::from_secs(60), || {
        let files = delivered(&data);
        let n = files.iter().flat_map(|f| &f.ids).filter(|id| ours.contains(id)).count();
        // org: 8, home: 2 (ALPHA, us-east-1), writes: 2 (ALPHA, both regions, write only).
        (n == 12).then_some(files)
    });
    let mut got: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for f in &files {
        let trail = if f.key.starts_with("org/logs/AWSLogs/o-abcdef1234/") {
            "org"
        } else if f.key.starts_with("writes/AWSLogs/") {
            "writes"
        } else {
            assert!(f.key.starts_with("AWSLogs/"), "{}", f.key);
            "home"
        };
        for (id, r) in f.ids.iter().zip(&f.records) {
            // Each file is in the folder of its records' account and region.
            let (account, region) = (
                r["recipientAccountId"].as_str().unwrap(),
                r["awsRegion"].as_str().unwrap(),
            );
            let folder = format!("{account}/CloudTrail/{region}/");
            assert!(f.key.contains(&folder), "{} holds an event of {folder}", f.key);
            let name = f.key.rsplit('/').next().unwrap();
            assert!(name.starts_with(&format!("{account}_CloudTrail_{region}_")), "{name}");
            if ours.contains(id) {
                got.entry(trail).or_default().insert(id.clone());
            }
        }
    }
    let ids = |f: &dyn Fn(&(String, String, bool)) -> bool| -> BTreeSet<String> {
        expect.iter().filter(|(k, _)| f(k)).map(|(_, v)| v.clone()).collect()
    };
    assert_eq!(got["org"], ids(&|_| true));
    assert_eq!(got["home"], ids(&|(a, r, _)| a == ALPHA && r == "us-east-1"));
    assert_eq!(got["writes"], ids(&|(a, _, ro)| a == ALPHA && !ro));
    assert!(p.sigterm().success());
}

pub(crate) fn status(c: &CloudTrailClient, name: &str) -> Value {
    call(c, "GetTrailStatus", json!({"Name": name}))
}

#[test]
fn stop_logging_and_a_missing_bucket_are_reported_and_nothing_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let (data, config) = setup(dir.path());
    let (mut p, addr) = serve(&data, &config, &[]);
    let alpha = client(&addr, ALPHA, "us-east-1");
    create_trail(&alpha, "main", json!({}));
    let ingest = |ids: &[String]| {
        let body: Vec<String> = ids.iter().map(|id| record(ALPHA, "us-east-1", id, false)).collect();
        let reply = rt()
            .block_on(alpha.ingest_events(body.join("\n").into_bytes(), None))
            .unwrap();
        assert_eq!(reply.status, 200, "{}", reply.body);
    };
    let delivered_ids = || -> HashSet<String> { delivered(&data).into_iter().flat_map(|f| f.ids).collect() };

    let first: Vec<String> = (0..5).map(|_| uuid()).collect();
    ingest(&first);
    wait_for("first delivery", Duration::from_secs(30), || {
        let d = delivered_ids();
        first.iter().all(|i| d.contains(i)).then_some(())
    });
    // The status is updated once the file is stored, a moment after it appears.
    let s = wait_for("the delivery in the status", Duration::from_secs(30), || {
        let s = status(&alpha, "main");
        s["LatestDeliveryTime"].is_number().then_some(s)
    });
    assert!(s.get("LatestDeliveryError").is_none(), "{s}");

    // The bucket disappears: deliveries fail, the status says why, events wait in the log.
    let away = dir.path().join("bucket-away");
    std::fs::rename(data.join("buckets").join(BUCKET), &away).unwrap();
    let during: Vec<String> = (0..5).map(|_| uuid()).collect();
    ingest(&during);
    let s = wait_for("a failed attempt in the status", Duration::from_secs(30), || {
        let s = status(&alpha, "main");
        (s["LatestDeliveryError"] == "NoSuchBucket").then_some(s)
    });
    assert!(
        s["LatestDeliveryAttemptTime"].as_str().unwrap() > s["LatestDeliveryAttemptSucceeded"].as_str().unwrap(),
        "{s}"
    );

    // Back: everything missed arrives, and the error clears.
    std::fs::rename(&away, data.join("buckets").join(BUCKET)).unwrap();
    wait_for("missed events delivered", Duration::from_secs(30), || {
        let d = delivered_ids();
        during.iter().all(|i| d.contains(i)).then_some(())
    });
    let s = wait_for("the error cleared", Duration::from_secs(30), || {
        let s = status(&alpha, "main");
        s.get("LatestDeliveryError").is_none().then_some(s)
    });
    assert_eq!(
        s["LatestDeliveryAttemptTime"], s["LatestDeliveryAttemptSucceeded"],
        "{s}"
    );

    // StopLogging: events acknowledged before it are delivered, later ones are not.
    let before_stop: Vec<String> = (0..5).map(|_| uuid()).collect();
    ingest(&before_stop);
    call(&alpha, "StopLogging", json!({"Name": "main"}));
    let after_stop: Vec<String> = (0..5).map(|_| uuid()).collect();
    ingest(&after_stop);
    wait_for("events before the stop delivered", Duration::from_secs(30), || {
        let d = delivered_ids();
        before_stop.iter().all(|i| d.contains(i)).then_some(())
    });
    // Restarting logging does not bring back what happened while stopped.
    call(&alpha, "StartLogging", json!({"Name": "main"}));
    let restarted: Vec<String> = (0..5).map(|_| uuid()).collect();
    ingest(&restarted);
    wait_for("events after the restart delivered", Duration::from_secs(30), || {
        let d = delivered_ids();
        restarted.iter().all(|i| d.contains(i)).then_some(())
    });
    let d = delivered_ids();
    assert!(
        after_stop.iter().all(|i| !d.contains(i)),
        "events logged while stopped were delivered"
    );
    assert!(p.sigterm().success());
}

/// The sample records through a server's IngestEvents into organization trails with different
/// selectors: each trail's files hold exactly the sample events an independent oracle picks.
#[test]
fn sample_records_land_in_exactly_the_files_their_selectors_pick() {
    use crate::ingest::{config as org_config, import_through, key as org_key, sample_accounts, samples};
    let dir = tempfile::tempdir().unwrap();
    let accounts = sample_accounts();
    let refs: Vec<&str> = accounts.iter().map(String::as_str).collect();
    let management = refs[0];
    let config = org_config(dir.path(), &refs, management, &refs[1..]);
    let data = dir.path().join("data");
    LocalBuckets::open(&data.join("buckets"))
        .unwrap()
        .create_bucket(BUCKET, management, "us-east-1")
        .unwrap();
    let (mut p, addr) = serve(&data, &config, &[]);
    let (k, s) = org_key(management);
    let c = CloudTrailClient::new(&format!("http://{addr}"), "us-east-1", &k, &s);

    type Oracle = fn(&Value) -> bool;
    let trails: Vec<(&str, Value, Oracle)> = vec![
        ("all", json!(null), |r| {
            r["eventCategory"].as_str().unwrap_or("Management") == "Management"
        }),
        (
            "reads",
            json!({"EventSelectors": [{"ReadWriteType": "ReadOnly"}]}),
            |r| r["eventCategory"].as_str().unwrap_or("Management") == "Management" && r["readOnly"] == json!(true),
        ),
        (
            "ec2-iam-writes",
            json!({"AdvancedEventSelectors": [{"FieldSelectors": [
                {"Field": "eventCategory", "Equals": ["Management"]},
                {"Field": "eventSource", "StartsWith": ["ec2.", "iam."]},
                {"Field": "readOnly", "Equals": ["false"]}]}]}),
            |r| {
                let src = r["eventSource"].as_str().unwrap_or("");
                r["eventCategory"].as_str().unwrap_or("Management") == "Management"
                    && (src.starts_with("ec2.") || src.starts_with("iam."))
                    && r["readOnly"] == json!(false)
            },
        ),
        (
            "not-s3-not-sts",
            json!({"AdvancedEventSelectors": [{"FieldSelectors": [
                {"Field": "eventCategory", "Equals": ["Management"]},
                {"Field": "eventSource", "NotEquals": ["s3.amazonaws.com"], "NotEndsWith": ["sts.amazonaws.com"]}]}]}),
            |r| {
                let src = r["eventSource"].as_str();
                r["eventCategory"].as_str().unwrap_or("Management") == "Management"
                    && src != Some("s3.amazonaws.com")
                    && !src.is_some_and(|s| s.ends_with("sts.amazonaws.com"))
            },
        ),
    ];
    for (name, selectors, _) in &trails {
        create_trail(
            &c,
            name,
            json!({"IsOrganizationTrail": true, "IsMultiRegionTrail": true, "S3KeyPrefix": name}),
        );
        if !selectors.is_null() {
            let mut input = selectors.clone();
            input["TrailName"] = json!(name);
            call(&c, "PutEventSelectors", input);
        }
    }
    import_through(&addr, management, &samples());

    // The oracle's input: every sample record, as parsed JSON.
    let mut records: Vec<Value> = Vec::new();
    let mut stack = vec![samples()];
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        } else if path.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(&path).unwrap();
            for r in cairn_server::ingest::import::split(&text).unwrap() {
                records.push(serde_json::from_str(r).unwrap());
            }
        }
    }
    assert_eq!(records.len(), 3210);
    let sample_ids: HashSet<String> = records
        .iter()
        .map(|r| r["eventID"].as_str().unwrap().to_string())
        .collect();
    let expected: BTreeMap<&str, Vec<String>> = trails
        .iter()
        .map(|(name, _, oracle)| {
            let mut ids: Vec<String> = records
                .iter()
                .filter(|r| oracle(r))
                .map(|r| r["eventID"].as_str().unwrap().to_string())
                .collect();
            ids.sort();
            (*name, ids)
        })
        .collect();
    let got = wait_for(
        "every trail's sample events delivered",
        Duration::from_secs(120),
        || {
            let mut got: BTreeMap<&str, Vec<String>> = BTreeMap::new();
            for f in delivered(&data) {
                let name = trails
                    .iter()
                    .map(|t| t.0)
                    .find(|n| f.key.starts_with(&format!("{n}/AWSLogs/o-abcdef1234/")))
                    .unwrap_or_else(|| panic!("a file outside every trail's prefix: {}", f.key));
                for (id, r) in f.ids.iter().zip(&f.records) {
                    let folder = format!(
                        "/{}/CloudTrail/{}/",
                        r["recipientAccountId"].as_str().unwrap(),
                        r["awsRegion"].as_str().unwrap()
                    );
                    assert!(f.key.contains(&folder), "{} holds a record of {folder}", f.key);
                    if sample_ids.contains(id) {
                        got.entry(name).or_default().push(id.clone());
                    }
                }
            }
            got.values_mut().for_each(|v| v.sort());
            let complete = expected.iter().all(|(n, e)| got.get(n).map_or(0, Vec::len) >= e.len());
            complete.then_some(got)
        },
    );
    for (name, want) in &expected {
        // Every sample record is a management event: only the default trail takes them all.
        let picky = *name != "all";
        assert!(
            !want.is_empty() && (!picky || want.len() < records.len()),
            "{name}: the oracle picks {} events",
            want.len()
        );
        assert_eq!(&got[name], want, "trail {name}");
    }
    assert!(p.sigterm().success());
}

fn insight(account: &str, id: &str, insight_type: &str) -> String {
    json!({
        "eventVersion": "1.08",
        "eventTime": jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "awsRegion": "us-east-1",
        "eventID": id,
        "eventType": "AwsCloudTrailInsight",
        "recipientAccountId": account,
        "sharedEventID": uuid(),
        "insightDetails": {
            "state": "Start",
            "eventSource": "ec2.amazonaws.com",
            "eventName": "RunInstances",
            "insightType": insight_type,
            "insightContext": {"statistics": {"baseline": {"average": 0.1}, "insight": {"average": 5.0}}}
        },
        "eventCategory": "Insight",
    })
    .to_string()
}

#[test]
fn insight_events_go_to_the_insight_folder_of_trails_with_that_insight_type() {
    let dir = tempfile::tempdir().unwrap();
    let (data, config) = setup(dir.path());
    let (mut p, addr) = serve(&data, &config, &[]);
    let alpha = client(&addr, ALPHA, "us-east-1");
    create_trail(&alpha, "insights", json!({}));
    call(
        &alpha,
        "PutInsightSelectors",
        json!({"TrailName": "insights", "InsightSelectors": [{"InsightType": "ApiCallRateInsight"}]}),
    );
    let (rate, errors, plain) = (uuid(), uuid(), uuid());
    let body = [
        insight(ALPHA, &rate, "ApiCallRateInsight"),
        insight(ALPHA, &errors, "ApiErrorRateInsight"),
        record(ALPHA, "us-east-1", &plain, false),
    ];
    let reply = rt()
        .block_on(alpha.ingest_events(body.join("\n").into_bytes(), None))
        .unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["Accepted"], 3, "{}", reply.body);
    let files = wait_for(
        "the insight and the plain event delivered",
        Duration::from_secs(60),
        || {
            let files = delivered(&data);
            let ids: HashSet<&String> = files.iter().flat_map(|f| &f.ids).collect();
            (ids.contains(&rate) && ids.contains(&plain)).then_some(files)
        },
    );
    for f in &files {
        let name = f.key.rsplit('/').next().unwrap();
        if f.ids.contains(&rate) {
            assert!(
                f.key
                    .starts_with(&format!("AWSLogs/{ALPHA}/CloudTrail-Insight/us-east-1/")),
                "{}",
                f.key
            );
            assert!(
                name.starts_with(&format!("{ALPHA}_CloudTrail-Insight_us-east-1_")),
                "{name}"
            );
            assert!(f.records.iter().all(|r| r["eventCategory"] == "Insight"), "{}", f.key);
        } else {
            assert!(
                f.key.starts_with(&format!("AWSLogs/{ALPHA}/CloudTrail/us-east-1/")),
                "{}",
                f.key
            );
            assert!(f.records.iter().all(|r| r["eventCategory"] != "Insight"), "{}", f.key);
        }
    }
    // The trail does not watch error rates: that insight is delivered nowhere.
    assert!(files.iter().all(|f| !f.ids.contains(&errors)));
    assert!(p.sigterm().success());
}
