//! Crash safety: a writer appending under load is killed with SIGKILL at random moments (while
//! WAL commits, memtable flushes, compactions and WAL truncations are under way); after each
//! reopen every acknowledged event is present exactly once, sequence numbers strictly increase
//! and no batch is visible in part.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use cairn_log::{EventLog, LogConfig, ScanRequest};
use rand::RngExt;

use crate::{Proc, cairn};

const ROUNDS: u32 = 20;
const BATCH: u32 = 20;

/// Small thresholds so that every phase of the log's life happens within a fraction of a second.
const ENV: [(&str, &str); 8] = [
    ("CAIRN_MEMTABLE_FLUSH_SIZE", "192KiB"),
    ("CAIRN_MEMTABLE_FLUSH_AGE", "500ms"),
    ("CAIRN_WAL_FILE_SIZE", "128KiB"),
    ("CAIRN_ROW_GROUP_ROWS", "100"),
    ("CAIRN_COMPACTION_SMALL_SIZE", "64KiB"),
    ("CAIRN_COMPACTION_TARGET_SIZE", "512KiB"),
    ("CAIRN_MAINTENANCE_INTERVAL", "200ms"),
    ("CAIRN_RETENTION", "off"),
];

fn event_id(round: u32, writer: u32, batch: u32, i: u32) -> String {
    format!("r{round}-w{writer}-b{batch}-{i}")
}

#[test]
fn sigkill_under_load_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut rng = rand::rng();
    // (round, writer, batch) -> first sequence number, for every acknowledged batch.
    let mut acked: BTreeMap<(u32, u32, u32), u64> = BTreeMap::new();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut total_acked_events = 0u64;

    for round in 0..ROUNDS {
        let mut cmd = cairn();
        cmd.envs(ENV)
            .args(["test-writer", "--writers", "4", "--batch"])
            .arg(BATCH.to_string());
        cmd.args(["--round", &round.to_string(), "--data-dir"]).arg(&data);
        let mut p = Proc::spawn(cmd);
        let ready = p.line(Duration::from_secs(120)).expect("writer starts");
        assert!(ready.starts_with("READY"), "{ready}");
        // Kill after a random number of acknowledgements (and a random extra moment).
        let wait_acks = rng.random_range(1..400);
        let mut seen = 0;
        while seen < wait_acks {
            match p.line(Duration::from_secs(60)) {
                Some(l) if l.starts_with("ACK") => {
                    record_ack(&l, &mut acked);
                    seen += 1;
                }
                Some(l) => panic!("writer reported: {l}"),
                None => panic!("writer produced no acknowledgement for 60s"),
            }
        }
        std::thread::sleep(Duration::from_micros(rng.random_range(0..20_000)));
        p.kill9();
        // Acknowledgements printed before the kill count too.
        while let Some(l) = p.line(Duration::from_millis(500)) {
            if l.starts_with("ACK") {
                record_ack(&l, &mut acked);
            }
        }
        total_acked_events = acked.len() as u64 * u64::from(BATCH);
        rt.block_on(check(&data, &acked, round));
    }
    assert!(
        total_acked_events > 1000,
        "the test appended too little to mean anything: {total_acked_events}"
    );

    // Finally the offline checker agrees.
    let out = cairn()
        .envs(ENV)
        .arg("verify")
        .arg("--data-dir")
        .arg(&data)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
}

fn record_ack(line: &str, acked: &mut BTreeMap<(u32, u32, u32), u64>) {
    let f: Vec<u64> = line.split_whitespace().skip(1).map(|x| x.parse().unwrap()).collect();
    let (round, writer, batch, first, last) = (f[0] as u32, f[1] as u32, f[2] as u32, f[3], f[4]);
    assert_eq!(last - first + 1, u64::from(BATCH));
    assert!(
        acked.insert((round, writer, batch), first).is_none(),
        "batch acknowledged twice: {line}"
    );
}

async fn check(data: &std::path::Path, acked: &BTreeMap<(u32, u32, u32), u64>, round: u32) {
    let config = LogConfig {
        retention: None,
        ..LogConfig::default()
    };
    let log = EventLog::open(data, config)
        .await
        .unwrap_or_else(|e| panic!("round {round}: reopen failed: {e}"));
    let status = log.status();
    assert!(status.corruption.is_empty(), "round {round}: {:?}", status.corruption);

    let mut events = Vec::new();
    let mut after = 0;
    loop {
        let got = log.read_after(after, 10_000).await.unwrap();
        let Some(last) = got.last() else { break };
        after = last.seq;
        events.extend(got);
    }
    // Strictly increasing sequence numbers; no event twice.
    assert!(
        events.windows(2).all(|w| w[0].seq < w[1].seq),
        "round {round}: sequence numbers out of order"
    );
    let mut by_id: HashMap<String, u64> = HashMap::new();
    for e in &events {
        assert!(
            by_id.insert(e.record.event_id().to_string(), e.seq).is_none(),
            "round {round}: {} appears twice",
            e.record.event_id()
        );
    }
    // Every acknowledged event is there, at the sequence number it was acknowledged with.
    for (&(r, w, b), &first) in acked {
        for i in 0..BATCH {
            let id = event_id(r, w, b, i);
            assert_eq!(
                by_id.get(&id),
                Some(&(first + u64::from(i))),
                "round {round}: acknowledged event {id} lost or moved"
            );
        }
    }
    // No batch is visible in part, acknowledged or not.
    let mut batches: HashMap<String, HashSet<u32>> = HashMap::new();
    for id in by_id.keys() {
        let (prefix, i) = id.rsplit_once('-').unwrap();
        batches
            .entry(prefix.to_string())
            .or_default()
            .insert(i.parse().unwrap());
    }
    for (prefix, idx) in &batches {
        assert_eq!(
            idx.len() as u32,
            BATCH,
            "round {round}: batch {prefix} is visible in part"
        );
    }
    // Lookups see exactly the same events (segments and memtable agree with the log).
    let mut scanned = 0;
    for account in ["111111111111", "222222222222", "333333333333"] {
        for region in ["us-east-1", "eu-west-1"] {
            let mut req = ScanRequest::new(account, region);
            req.limit = 100_000;
            let page = log.scan(&req).await.unwrap();
            assert!(page.next.is_none());
            scanned += page.events.len();
        }
    }
    assert_eq!(scanned, events.len(), "round {round}: lookups and the log disagree");
    log.close().await.unwrap();
}
