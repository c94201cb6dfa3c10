//! `POST /IngestEvents` and `cairn import --endpoint-url`: trusted forwarders push complete
//! CloudTrail records to a running server. Authorised per record, idempotent per body, bounded,
//! and the same data as a local import; a server killed during an import loses and duplicates
//! nothing once the import is run again.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use cairn_server::client::{CloudTrailClient, Reply};
use cairn_synth::{Workload, WorkloadConfig};
use rand::RngExt;
use serde_json::{Value, json};

use crate::{Proc, cairn, dump, http_get, wait_for};

const ALPHA: &str = "111111111111"; // organization management account
const BETA: &str = "222222222222"; // member
const GAMMA: &str = "333333333333"; // outside the organization

pub(crate) fn key(account: &str) -> (String, String) {
    (
        format!("AKIAROOT{account}"),
        format!("root-secret-{account}-0000000000"),
    )
}

const READER_KEY: (&str, &str) = ("AKIAREADER0000000001", "reader-secret-00000000000000000000");

/// Configuration: each account with a root key; `management` manages `members`.
pub(crate) fn config(dir: &Path, accounts: &[&str], management: &str, members: &[&str]) -> PathBuf {
    let mut text = String::new();
    for a in accounts {
        let (k, s) = key(a);
        text.push_str(&format!(
            "[[accounts]]\nid = \"{a}\"\nroot_access_keys = [{{ id = \"{k}\", secret = \"{s}\" }}]\n\n"
        ));
        if *a == management {
            text.push_str(&format!(
                "[[accounts.users]]\nname = \"reader\"\naccess_keys = [{{ id = \"{}\", secret = \"{}\" }}]\npolicies = ['{{\"Version\":\"2012-10-17\",\"Statement\":[{{\"Effect\":\"Allow\",\"Action\":\"cloudtrail:LookupEvents\",\"Resource\":\"*\"}}]}}']\n\n",
                READER_KEY.0, READER_KEY.1
            ));
        }
    }
    let members: Vec<String> = members.iter().map(|m| format!("\"{m}\"")).collect();
    text.push_str(&format!(
        "[organization]\nid = \"o-abcdef1234\"\nmanagement_account = \"{management}\"\nmember_accounts = [{}]\n",
        members.join(", ")
    ));
    let path = dir.join("cairn.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn serve(data: &Path, config: &Path) -> (Proc, String) {
    let mut cmd = cairn();
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(config)
        .arg("--data-dir")
        .arg(data)
        .env("CAIRN_MEMTABLE_FLUSH_SIZE", "4MiB")
        .env("CAIRN_WAL_FILE_SIZE", "8MiB");
    let (p, addr) = crate::serve::spawn_server(cmd);
    wait_for("/health", Duration::from_secs(60), || {
        matches!(http_get(&addr, "/health"), Ok((200, _))).then_some(())
    });
    (p, addr)
}

fn client(addr: &str, account: &str) -> CloudTrailClient {
    let (k, s) = key(account);
    CloudTrailClient::new(&format!("http://{addr}"), "us-east-1", &k, &s)
}

fn now() -> String {
    jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn record(account: &str, id: &str) -> String {
    json!({
        "eventVersion": "1.08",
        "userIdentity": {"type": "IAMUser", "principalId": "AIDAEXAMPLE", "arn": format!("arn:aws:iam::{account}:user/alice"),
                         "accountId": account, "accessKeyId": "AKIAFORWARDED0000001", "userName": "alice"},
        "eventTime": now(),
        "eventSource": "s3.amazonaws.com",
        "eventName": "CreateBucket",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "10.0.0.1",
        "userAgent": "forwarder-test",
        "requestParameters": {"bucketName": id},
        "responseElements": null,
        "eventID": id,
        "readOnly": false,
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": account,
        "eventCategory": "Management",
    })
    .to_string()
}

fn ndjson(records: &[String]) -> Vec<u8> {
    records.join("\n").into_bytes()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

fn id() -> String {
    uuid_like(rand::rng().random())
}

fn uuid_like(n: u128) -> String {
    let h = format!("{n:032x}");
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

struct Api {
    rt: tokio::runtime::Runtime,
}

impl Api {
    fn new() -> Api {
        Api {
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
        }
    }

    fn ingest(&self, c: &CloudTrailClient, body: Vec<u8>, encoding: Option<&str>) -> Reply {
        self.rt.block_on(c.ingest_events(body, encoding)).unwrap()
    }

    /// Every event of the caller's account with this EventId.
    fn by_id(&self, c: &CloudTrailClient, id: &str) -> Vec<Value> {
        let input = json!({"LookupAttributes": [{"AttributeKey": "EventId", "AttributeValue": id}]});
        let reply = self.rt.block_on(c.call("LookupEvents", &input)).unwrap();
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.body["Events"].as_array().unwrap().clone()
    }

    /// Every event of the caller's account and region, as (EventId, CloudTrailEvent), without
    /// the events of the calls of `without_key`.
    fn all(&self, c: &CloudTrailClient, without_key: &str) -> BTreeSet<(String, String)> {
        let mut input = json!({"MaxResults": 50});
        let mut out = BTreeSet::new();
        loop {
            let reply = self.rt.block_on(c.call("LookupEvents", &input)).unwrap();
            assert_eq!(reply.status, 200, "{}", reply.body);
            for e in reply.body["Events"].as_array().unwrap() {
                if e["AccessKeyId"] != without_key {
                    out.insert((
                        e["EventId"].as_str().unwrap().to_string(),
                        e["CloudTrailEvent"].as_str().unwrap().to_string(),
                    ));
                }
            }
            match reply.body["NextToken"].as_str() {
                Some(t) => input["NextToken"] = json!(t),
                None => return out,
            }
        }
    }
}

fn rejected(reply: &Reply) -> Vec<(u64, String)> {
    reply.body["Rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["Index"].as_u64().unwrap(), r["Reason"].as_str().unwrap().to_string()))
        .collect()
}

/// A raw POST; returns (status, body).
fn http_post(addr: &str, path: &str, body: &[u8]) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    s.write_all(body).unwrap();
    let mut buf = String::new();
    s.read_to_string(&mut buf).unwrap();
    let status = buf.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (
        status,
        buf.split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default(),
    )
}

#[test]
fn ingest_events_is_authorised_per_record_idempotent_and_looked_up() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &[ALPHA, BETA, GAMMA], ALPHA, &[BETA]);
    let (mut p, addr) = serve(&dir.path().join("data"), &cfg);
    let api = Api::new();
    let (alpha, beta) = (client(&addr, ALPHA), client(&addr, BETA));

    // The management account: its own records and a member's; not an outsider's, nor invalid ones.
    let ids: Vec<String> = (0..4).map(|_| id()).collect();
    let body = ndjson(&[
        record(ALPHA, &ids[0]),
        record(ALPHA, &ids[1]),
        record(BETA, &ids[2]),
        record(GAMMA, &ids[3]),
        r#"{"eventName":"NoIdNoTime"}"#.to_string(),
        record(ALPHA, &ids[0]),
    ]);
    let first = api.ingest(&alpha, body.clone(), None);
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.body["Accepted"], 3, "{}", first.body);
    assert_eq!(first.body["Duplicates"], 1, "{}", first.body);
    let batch_id = first.body["BatchId"].as_str().unwrap().to_string();
    assert_eq!(batch_id.len(), 64);
    let why = rejected(&first);
    assert_eq!(why.iter().map(|(i, _)| *i).collect::<Vec<_>>(), vec![3, 4], "{why:?}");
    assert!(why[0].1.contains(GAMMA), "{}", why[0].1);

    let found = api.by_id(&alpha, &ids[0]);
    assert_eq!(found.len(), 1);
    let stored: Value = serde_json::from_str(found[0]["CloudTrailEvent"].as_str().unwrap()).unwrap();
    assert_eq!(stored["eventID"], ids[0]);
    assert_eq!(stored["requestParameters"]["bucketName"], ids[0]);
    assert_eq!(api.by_id(&beta, &ids[2]).len(), 1, "stored under the member's account");
    assert!(api.by_id(&alpha, &ids[2]).is_empty());
    assert!(api.by_id(&client(&addr, GAMMA), &ids[3]).is_empty());

    // A retry (a forwarder timed out) adds nothing and gets the same counts, as duplicates.
    let retry = api.ingest(&alpha, body, None);
    assert_eq!(retry.status, 200);
    assert_eq!(retry.body["Accepted"], 0);
    assert_eq!(retry.body["Duplicates"], 4);
    assert_eq!(retry.body["BatchId"], batch_id.as_str());
    assert_eq!(rejected(&retry), why);
    assert_eq!(api.by_id(&alpha, &ids[0]).len(), 1);

    // A member may ingest its own records only.
    let (b1, a1) = (id(), id());
    let reply = api.ingest(&beta, ndjson(&[record(BETA, &b1), record(ALPHA, &a1)]), None);
    assert_eq!(reply.body["Accepted"], 1, "{}", reply.body);
    let why = rejected(&reply);
    assert_eq!(why.len(), 1);
    assert_eq!(why[0].0, 1);
    assert!(
        why[0].1.contains("may ingest records of account 222222222222 only"),
        "{}",
        why[0].1
    );
    assert_eq!(api.by_id(&beta, &b1).len(), 1);
    assert!(api.by_id(&alpha, &a1).is_empty());

    // Gzip, in the CloudTrail log file shape.
    let gz_ids: Vec<String> = (0..50).map(|_| id()).collect();
    let records: Vec<String> = gz_ids.iter().map(|i| record(ALPHA, i)).collect();
    let file = format!("{{\"Records\":[{}]}}", records.join(","));
    let reply = api.ingest(&alpha, gzip(file.as_bytes()), Some("gzip"));
    assert_eq!(reply.body["Accepted"], 50, "{}", reply.body);
    assert_eq!(api.by_id(&alpha, &gz_ids[49]).len(), 1);

    // The call is audited with counts, not records.
    let input = json!({"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "IngestEvents"}]});
    let audited = api.rt.block_on(alpha.call("LookupEvents", &input)).unwrap();
    let events = audited.body["Events"].as_array().unwrap();
    assert_eq!(events.len(), 3, "{}", audited.body);
    let e: Value = events
        .iter()
        .map(|e| serde_json::from_str::<Value>(e["CloudTrailEvent"].as_str().unwrap()).unwrap())
        .find(|e| e["requestParameters"]["records"] == 50)
        .expect("the gzip call's record");
    assert_eq!(e["eventSource"], "cloudtrail-data.amazonaws.com");
    assert_eq!(e["requestParameters"]["records"], 50);
    assert_eq!(e["responseElements"]["accepted"], 50);

    // Without the action: refused as a whole.
    let reader = CloudTrailClient::new(&format!("http://{addr}"), "us-east-1", READER_KEY.0, READER_KEY.1);
    let reply = api.ingest(&reader, ndjson(&[record(ALPHA, &id())]), None);
    assert_eq!(reply.status, 403, "{}", reply.body);
    assert_eq!(reply.error_code(), Some("AccessDeniedException"));
    assert!(p.sigterm().success());
}

#[test]
fn ingest_events_refuses_bad_bodies_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &[ALPHA, BETA], ALPHA, &[BETA]);
    let (mut p, addr) = serve(&dir.path().join("data"), &cfg);
    let api = Api::new();
    let alpha = client(&addr, ALPHA);
    let check = |reply: Reply, status: u16, code: &str, words: &str| {
        assert_eq!(reply.status, status, "{}", reply.body);
        assert_eq!(reply.error_code(), Some(code), "{}", reply.body);
        let message = reply.body["message"].as_str().unwrap();
        assert!(message.contains(words), "{message}");
    };

    // Over 32 MiB as sent.
    let big = vec![b' '; (32 << 20) + 1];
    check(
        api.ingest(&alpha, big, None),
        413,
        "RequestEntityTooLargeException",
        "larger than",
    );
    // A zip bomb: 200 KB that would inflate to 200 MB.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&vec![b' '; 200 << 20]).unwrap();
    let bomb = gz.finish().unwrap();
    assert!(bomb.len() < 1 << 20);
    check(
        api.ingest(&alpha, bomb, Some("gzip")),
        413,
        "RequestEntityTooLargeException",
        "decompresses to more than",
    );
    // More records than one batch.
    let many: Vec<String> = (0..10_001).map(|i| format!("{{\"n\":{i}}}")).collect();
    check(
        api.ingest(&alpha, gzip(&ndjson(&many)), Some("gzip")),
        413,
        "RequestEntityTooLargeException",
        "at most 10000 records",
    );
    check(
        api.ingest(&alpha, b"[{\"a\":1},".to_vec(), None),
        400,
        "SerializationException",
        "not valid",
    );
    check(
        api.ingest(&alpha, b"hello".to_vec(), None),
        400,
        "SerializationException",
        "not valid",
    );
    check(
        api.ingest(&alpha, b"{\"a\":1}".to_vec(), Some("gzip")),
        400,
        "SerializationException",
        "not gzip",
    );
    check(
        api.ingest(&alpha, b"{\"a\":1}".to_vec(), Some("br")),
        415,
        "ValidationException",
        "not supported",
    );
    // Unsigned.
    let (status, body) = http_post(&addr, "/IngestEvents", b"[]");
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("MissingAuthenticationTokenException"), "{body}");
    // Signed with a wrong secret.
    let forged = CloudTrailClient::new(&format!("http://{addr}"), "us-east-1", &key(ALPHA).0, "wrong-secret");
    let reply = api.ingest(&forged, b"[]".to_vec(), None);
    assert_eq!(reply.status, 403);
    assert_eq!(reply.error_code(), Some("InvalidSignatureException"));
    // The server is fine afterwards.
    let ok = api.ingest(&alpha, ndjson(&[record(ALPHA, &id())]), None);
    assert_eq!(ok.body["Accepted"], 1, "{}", ok.body);
    assert!(p.sigterm().success());
}

/// `cairn import --endpoint-url` of `path` as `account`'s root user.
pub(crate) fn import_command(addr: &str, account: &str, path: &Path) -> std::process::Command {
    let (k, s) = key(account);
    let mut c = cairn();
    c.args(["import", "--quiet", "--endpoint-url", &format!("http://{addr}")])
        .arg(path)
        .env("AWS_ACCESS_KEY_ID", k)
        .env("AWS_SECRET_ACCESS_KEY", s);
    c
}

/// Runs [`import_command`] to completion; its summary.
pub(crate) fn import_through(addr: &str, account: &str, path: &Path) -> String {
    let out = import_command(addr, account, path).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    text
}

pub(crate) fn samples() -> PathBuf {
    // At run time: a test binary may outlive the checkout it was built in.
    Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_string()))
        .join("../../testdata/samples")
}

/// The accounts of the sample records, the largest first.
pub(crate) fn sample_accounts() -> Vec<String> {
    let mut counts: HashMap<String, usize> = HashMap::new();
    let mut stack = vec![samples()];
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            stack.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
        } else if p.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(&p).unwrap();
            for r in cairn_server::ingest::import::split(&text).unwrap() {
                if let Ok(r) = cairn_model::EventRecord::from_json(r) {
                    *counts.entry(r.index().account_id.clone()).or_default() += 1;
                }
            }
        }
    }
    let mut accounts: Vec<(String, usize)> = counts.into_iter().collect();
    accounts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    accounts.into_iter().map(|(a, _)| a).collect()
}

fn is_ingest_call(line: &str) -> bool {
    let v: Value = serde_json::from_str(line).unwrap();
    v["eventName"] == "IngestEvents" && v["eventSource"] == "cloudtrail-data.amazonaws.com"
}

#[test]
fn import_through_a_server_once_then_duplicates_and_same_data_as_a_local_import() {
    let dir = tempfile::tempdir().unwrap();
    let accounts = sample_accounts();
    let refs: Vec<&str> = accounts.iter().map(String::as_str).collect();
    let management = refs[0];
    let cfg = config(dir.path(), &refs, management, &refs[1..]);
    let remote_data = dir.path().join("remote");
    let (mut p, addr) = serve(&remote_data, &cfg);
    let (k, _) = key(management);
    let import = || import_through(&addr, management, &samples());
    let first = import();
    assert!(first.contains(" 3210 events added"), "{first}");
    assert!(first.contains(" 0 duplicates skipped"), "{first}");
    let again = import();
    assert!(again.contains(" 0 events added"), "{again}");
    assert!(again.contains(" 3210 duplicates skipped"), "{again}");

    // The same import, locally.
    let local_data = dir.path().join("local");
    let out = cairn()
        .args(["import", "--quiet", "--data-dir"])
        .arg(&local_data)
        .arg(samples())
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains(" 3210 events added"));

    // Same lookups: every event of the largest account through both servers.
    let api = Api::new();
    let remote_events = api.all(&client(&addr, management), &k);
    let (mut local, local_addr) = serve(&local_data, &cfg);
    let local_events = api.all(&client(&local_addr, management), &k);
    assert_eq!(remote_events.len(), 2900);
    assert_eq!(remote_events, local_events);
    assert!(local.sigterm().success());
    assert!(p.sigterm().success());

    // Same records stored, byte for byte (but for the records of the test's own calls).
    let imported = |l: &String| serde_json::from_str::<Value>(l).unwrap()["userIdentity"]["accessKeyId"] != k.as_str();
    let mut remote: Vec<String> = dump(&remote_data).into_iter().filter(imported).collect();
    let mut local: Vec<String> = dump(&local_data).into_iter().filter(imported).collect();
    remote.sort();
    local.sort();
    assert_eq!(remote.len(), local.len());
    assert!(remote == local, "the records stored differ");
}

/// Files of one request and of several (requests hold up to 10,000 records).
const FILES: [usize; 6] = [4000, 21_000, 3000, 12_000, 500, 3000];
const KILLS: usize = 4;

#[test]
fn a_server_killed_during_an_http_import_stores_every_record_once() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let cfg = WorkloadConfig::default();
    let accounts = cfg.accounts.clone();
    let mut w = Workload::new(cfg);
    let mut ids = HashSet::new();
    for (i, n) in FILES.iter().enumerate() {
        let records: Vec<String> = (0..*n).map(|_| w.next_record()).collect();
        for r in &records {
            let v: Value = serde_json::from_str(r).unwrap();
            ids.insert(v["eventID"].as_str().unwrap().to_string());
        }
        let body = format!("{{\"Records\":[{}]}}", records.join(","));
        std::fs::write(logs.join(format!("f{i}.json.gz")), gzip(body.as_bytes())).unwrap();
    }
    let total: usize = FILES.iter().sum();
    assert_eq!(ids.len(), total);

    let refs: Vec<&str> = accounts.iter().map(String::as_str).collect();
    let config = config(dir.path(), &refs, refs[0], &refs[1..]);
    let data = dir.path().join("data");
    let import = |addr: &str| import_command(addr, refs[0], &logs);
    let mut rng = rand::rng();
    for _ in 0..KILLS {
        let (mut server, addr) = serve(&data, &config);
        let mut importer = Proc::spawn(import(&addr));
        // A random moment: chunks in flight, appends and progress records under way.
        std::thread::sleep(Duration::from_millis(rng.random_range(100..2500)));
        server.kill9();
        importer.kill9();
    }
    let (mut server, addr) = serve(&data, &config);
    let out = import(&addr).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    let again = import(&addr).output().unwrap();
    let text = String::from_utf8_lossy(&again.stdout);
    assert!(text.contains(" 0 events added"), "{text}");
    assert!(text.contains(&format!(" {total} duplicates skipped")), "{text}");
    assert!(server.sigterm().success());

    let mut seen = HashSet::new();
    for line in dump(&data) {
        if is_ingest_call(&line) {
            continue;
        }
        let v: Value = serde_json::from_str(&line).unwrap();
        let id = v["eventID"].as_str().unwrap().to_string();
        assert!(ids.contains(&id), "an event no file holds: {id}");
        assert!(seen.insert(id.clone()), "stored twice: {id}");
    }
    assert_eq!(seen.len(), total, "every record stored");
}
