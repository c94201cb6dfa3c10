use std::collections::{HashMap, HashSet};

use cairn_model::{CloudTrailEvent, EventRecord};
use cairn_synth::{Workload, WorkloadConfig};
use serde_json::Value;

fn workload(seed: u64, target: usize) -> Workload {
    Workload::new(WorkloadConfig {
        seed,
        target_record_bytes: target,
        ..WorkloadConfig::default()
    })
}

#[test]
fn same_seed_same_records() {
    let a = workload(42, 1000).batch(3000);
    let b: Vec<String> = workload(42, 1000).take(3000).collect();
    assert_eq!(a, b);
    let c = workload(43, 1000).batch(3000);
    assert_ne!(a, c);
    // batch and next_record draw from the same stream.
    let mut w = workload(42, 1000);
    let mut d = w.batch(10);
    d.push(w.next_record());
    assert_eq!(d[..], a[..11]);
}

#[test]
fn every_record_is_valid_and_indexable() {
    let cfg = WorkloadConfig::default();
    let accounts: HashSet<&str> = cfg.accounts.iter().map(String::as_str).collect();
    let regions: HashSet<&str> = cfg.regions.iter().map(String::as_str).collect();
    let mut w = Workload::new(cfg.clone());
    for _ in 0..20_000 {
        let json = w.next_record();
        let v: Value = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
        assert!(v.is_object());
        let rec = EventRecord::from_json(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
        assert_eq!(rec.json(), json, "record is already compact, minify must not change it");
        let ix = rec.index();
        assert!(accounts.contains(ix.account_id.as_str()), "{json}");
        assert!(regions.contains(ix.region.as_str()), "{json}");
        assert_eq!(ix.event_category, "Management");
        assert!(ix.read_only.is_some());
        assert!(ix.event_name.is_some() && ix.event_source.is_some());
        let ev = CloudTrailEvent::from_json(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
        assert!(matches!(ev.event_version.as_str(), "1.08" | "1.09"));
        assert_eq!(ev.management_event, Some(true));
        assert_eq!(ev.recipient_account_id.as_deref(), Some(ix.account_id.as_str()));
    }
}

fn mean_size(target: usize) -> f64 {
    let mut w = workload(7, target);
    let n = 20_000;
    (0..n).map(|_| w.next_record().len()).sum::<usize>() as f64 / n as f64
}

#[test]
fn mean_size_tracks_target() {
    for target in [1000usize, 2000] {
        let mean = mean_size(target);
        let t = target as f64;
        assert!((0.85 * t..=1.15 * t).contains(&mean), "target {target}: mean {mean:.1}");
    }
}

#[test]
fn sizes_vary() {
    let sizes: Vec<usize> = workload(3, 1000).take(5000).map(|r| r.len()).collect();
    let min = *sizes.iter().min().unwrap();
    let max = *sizes.iter().max().unwrap();
    assert!(min < 800 && max > 1800, "min {min} max {max}");
}

#[test]
fn event_times_advance_monotonically() {
    let cfg = WorkloadConfig {
        events_per_second: 50.0,
        ..WorkloadConfig::default()
    };
    let start = cfg.start_ms;
    let mut w = Workload::new(cfg);
    let times: Vec<i64> = (0..10_000)
        .map(|_| EventRecord::from_json(&w.next_record()).unwrap().event_time().millis())
        .collect();
    assert_eq!(times[0], start);
    assert!(times.windows(2).all(|p| p[0] <= p[1]), "event times went backwards");
    // 10,000 events at 50/s span about 200 s.
    let span = (times[times.len() - 1] - times[0]) as f64 / 1000.0;
    assert!((180.0..220.0).contains(&span), "span {span} s");
}

#[test]
fn ids_are_unique_uuids() {
    let mut event_ids = HashSet::new();
    let mut request_ids = HashSet::new();
    for json in workload(9, 1000).take(50_000) {
        let v: Value = serde_json::from_str(&json).unwrap();
        let id = v["eventID"].as_str().unwrap().to_string();
        assert!(is_uuid_v4(&id), "{id}");
        assert!(event_ids.insert(id), "duplicate eventID");
        if let Some(rid) = v.get("requestID") {
            let rid = rid.as_str().unwrap().to_string();
            assert!(is_uuid_v4(&rid), "{rid}");
            assert!(request_ids.insert(rid), "duplicate requestID");
        }
    }
    assert!(request_ids.len() > 45_000);
}

fn is_uuid_v4(s: &str) -> bool {
    let b = s.as_bytes();
    s.len() == 36
        && [8, 13, 18, 23].iter().all(|&i| b[i] == b'-')
        && b.iter()
            .enumerate()
            .all(|(i, c)| [8, 13, 18, 23].contains(&i) || c.is_ascii_hexdigit())
        && b[14] == b'4'
        && matches!(b[19], b'8' | b'9' | b'a' | b'b')
}

/// Top-level fields in the order AWS emits them (spec §1.2).
const FIELD_ORDER: &[&str] = &[
    "eventVersion",
    "userIdentity",
    "eventTime",
    "eventSource",
    "eventName",
    "awsRegion",
    "sourceIPAddress",
    "userAgent",
    "errorCode",
    "errorMessage",
    "requestParameters",
    "responseElements",
    "additionalEventData",
    "requestID",
    "eventID",
    "readOnly",
    "resources",
    "eventType",
    "apiVersion",
    "managementEvent",
    "recipientAccountId",
    "serviceEventDetails",
    "sharedEventID",
    "vpcEndpointId",
    "vpcEndpointAccountId",
    "eventCategory",
    "addendum",
    "sessionCredentialFromConsole",
    "edgeDeviceDetails",
    "tlsDetails",
];

#[test]
fn realistic_mix_and_field_order() {
    let mut names = HashMap::<String, usize>::new();
    let mut sources = HashSet::new();
    let mut identity_types = HashSet::new();
    let mut event_types = HashSet::new();
    let mut errors = 0;
    let mut with_resources = 0;
    let mut user_agents = HashSet::new();
    let mut ips = HashSet::new();
    let n = 20_000;
    for json in workload(11, 1000).take(n) {
        // serde_json's Value keeps insertion order only with preserve_order, so read keys by hand.
        let keys = top_level_keys(&json);
        let pos: Vec<usize> = keys
            .iter()
            .map(|k| {
                FIELD_ORDER
                    .iter()
                    .position(|f| f == k)
                    .unwrap_or_else(|| panic!("unexpected field {k}"))
            })
            .collect();
        assert!(pos.windows(2).all(|p| p[0] < p[1]), "field order {keys:?}");

        let v: Value = serde_json::from_str(&json).unwrap();
        let name = v["eventName"].as_str().unwrap().to_string();
        let ro = v["readOnly"].as_bool().unwrap();
        if ["Describe", "List", "Get"].iter().any(|p| name.starts_with(p)) {
            assert!(ro, "{name} should be read-only");
            assert!(v["responseElements"].is_null(), "{json}");
        }
        if v["eventType"] == "AwsApiCall"
            && v["userIdentity"]["type"] != "AWSService"
            && v["sourceIPAddress"] != "AWS Internal"
            && v["userIdentity"]["invokedBy"].is_null()
        {
            assert!(v["tlsDetails"]["tlsVersion"].is_string(), "{json}");
        }
        if let Some(key) = v["userIdentity"]["accessKeyId"].as_str().filter(|k| !k.is_empty()) {
            assert!(
                key.len() == 20 && (key.starts_with("AKIA") || key.starts_with("ASIA")),
                "{key}"
            );
            assert!(
                key.bytes().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()),
                "{key}"
            );
        }
        *names.entry(name).or_default() += 1;
        sources.insert(v["eventSource"].as_str().unwrap().to_string());
        identity_types.insert(v["userIdentity"]["type"].as_str().unwrap_or("").to_string());
        event_types.insert(v["eventType"].as_str().unwrap().to_string());
        user_agents.insert(v["userAgent"].as_str().unwrap().to_string());
        ips.insert(v["sourceIPAddress"].as_str().unwrap().to_string());
        errors += usize::from(v.get("errorMessage").is_some());
        with_resources += usize::from(v.get("resources").is_some());
    }
    assert!(names.len() >= 60, "{} event names", names.len());
    assert!(sources.len() >= 12, "{sources:?}");
    for t in ["IAMUser", "AssumedRole", "Root", "AWSService"] {
        assert!(identity_types.contains(t), "{identity_types:?}");
    }
    for t in ["AwsApiCall", "AwsServiceEvent", "AwsConsoleSignIn"] {
        assert!(event_types.contains(t), "{event_types:?}");
    }
    let error_rate = errors as f64 / n as f64;
    assert!((0.03..0.08).contains(&error_rate), "error rate {error_rate}");
    assert!(with_resources > n / 10);
    // Skewed: the most common action is far more frequent than the median one.
    let mut counts: Vec<usize> = names.values().copied().collect();
    counts.sort_unstable();
    assert!(counts[counts.len() - 1] > 10 * counts[counts.len() / 2], "{counts:?}");
    assert!(user_agents.len() >= 15, "{} user agents", user_agents.len());
    assert!(ips.len() > 300, "{} source IPs", ips.len());
}

/// The keys of a compact JSON object's top level, in order.
fn top_level_keys(json: &str) -> Vec<String> {
    let b = json.as_bytes();
    let mut keys = Vec::new();
    let mut depth = 0;
    let mut i = 0;
    let mut expect_key = false;
    while i < b.len() {
        match b[i] {
            b'{' | b'[' => {
                depth += 1;
                expect_key = depth == 1;
            }
            b'}' | b']' => depth -= 1,
            b',' if depth == 1 => expect_key = true,
            b'"' => {
                let start = i + 1;
                i += 1;
                while b[i] != b'"' {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                if depth == 1 && expect_key {
                    keys.push(json[start..i].to_string());
                    expect_key = false;
                }
            }
            _ => {}
        }
        i += 1;
    }
    keys
}

#[test]
fn honours_accounts_and_regions() {
    let cfg = WorkloadConfig {
        seed: 5,
        accounts: vec!["000011112222".into()],
        regions: vec!["ap-southeast-2".into(), "eu-central-1".into()],
        ..WorkloadConfig::default()
    };
    let mut seen_regions = HashSet::new();
    for json in Workload::new(cfg).take(5000) {
        let rec = EventRecord::from_json(&json).unwrap();
        assert_eq!(rec.index().account_id, "000011112222");
        assert!(!json.contains("318204756921"));
        seen_regions.insert(rec.index().region.clone());
    }
    let expected: HashSet<String> = ["ap-southeast-2", "eu-central-1"].map(String::from).into();
    assert_eq!(seen_regions, expected);
}

#[test]
fn principals_are_a_stable_population() {
    // The same user always has the same principalId and long-term key.
    let mut keys = HashMap::<String, (String, String)>::new();
    for json in workload(21, 1000).take(20_000) {
        let v: Value = serde_json::from_str(&json).unwrap();
        let id = &v["userIdentity"];
        if id["type"] == "IAMUser"
            && let Some(key) = id["accessKeyId"].as_str().filter(|k| k.starts_with("AKIA"))
        {
            let arn = id["arn"].as_str().unwrap().to_string();
            let pid = id["principalId"].as_str().unwrap().to_string();
            let prev = keys.entry(arn).or_insert_with(|| (pid.clone(), key.to_string()));
            assert_eq!(prev, &(pid, key.to_string()));
        }
    }
    assert!((20..=60).contains(&keys.len()), "{} users", keys.len());
}
