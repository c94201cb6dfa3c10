//! Every real CloudTrail record in testdata/samples goes through the log (WAL, memtable,
//! segments, compaction, reopen) and comes back as it went in.

mod common;

use std::collections::HashMap;

use cairn_log::ScanRequest;
use cairn_model::EventRecord;
use cairn_model::json::minify;
use cairn_model::record::split_log_file;
use serde_json::value::RawValue;

/// Every sample record's original text.
fn sample_records() -> Vec<String> {
    // At run time: a test binary may outlive the checkout it was built in.
    let root = format!(
        "{}/../../testdata/samples",
        std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_string())
    );
    let mut files = Vec::new();
    for sub in ["invictus-ir_aws_dataset/CloudTrail", "stratus-red-team_detonation-logs"] {
        for e in std::fs::read_dir(format!("{root}/{sub}")).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "json") {
                files.push(p);
            }
        }
    }
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let body = std::fs::read_to_string(&f).unwrap();
        let records: Vec<&RawValue> = if body.trim_start().starts_with('[') {
            serde_json::from_str(&body).unwrap()
        } else {
            split_log_file(&body).unwrap()
        };
        out.extend(records.into_iter().map(|r| r.get().to_string()));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_sample_record_round_trips_through_the_log() {
    let originals = sample_records();
    assert_eq!(originals.len(), 2900 + 310);
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = common::small_config();
    cfg.compaction_small_bytes = 1 << 30;
    let log = common::open_log(dir.path(), cfg.clone()).await;
    let records: Vec<EventRecord> = originals.iter().map(|o| EventRecord::from_json(o).unwrap()).collect();
    let half = records.len() / 2;
    log.append(records[..half].to_vec()).await.unwrap();
    log.flush().await.unwrap();
    log.run_maintenance().await.unwrap();
    log.append(records[half..].to_vec()).await.unwrap();
    drop(log);

    let log = common::open_log(dir.path(), cfg).await;
    let events = log.read_after(0, usize::MAX).await.unwrap();
    assert_eq!(events.len(), originals.len());
    for (e, original) in events.iter().zip(&originals) {
        assert_eq!(e.record.json(), minify(original), "record {} changed", e.seq);
    }
    // And through lookups, partition by partition.
    let mut by_partition: HashMap<(String, String), usize> = HashMap::new();
    for r in &records {
        *by_partition
            .entry((r.index().account_id.clone(), r.index().region.clone()))
            .or_default() += 1;
    }
    let by_seq: HashMap<u64, &String> = events.iter().map(|e| e.seq).zip(&originals).collect();
    for ((account, region), count) in by_partition {
        let mut req = ScanRequest::new(&account, &region);
        req.limit = 10_000;
        let page = log.scan(&req).await.unwrap();
        assert_eq!(page.events.len(), count, "{account} {region}");
        for e in page.events {
            assert_eq!(e.record.json(), minify(by_seq[&e.seq]));
        }
    }
    log.close().await.unwrap();
}
