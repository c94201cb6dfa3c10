//! `cairn import` is killed with SIGKILL at random moments, then run to completion: every record
//! of every file is stored exactly once, and importing again adds nothing.

use std::collections::HashSet;
use std::io::Write;
use std::time::Duration;

use cairn_synth::{Workload, WorkloadConfig};
use rand::RngExt;

use crate::{Proc, cairn};

/// Files of one batch and files of several (the importer's batches hold 10,000 records).
const FILES: [usize; 8] = [4000, 21_000, 3000, 2500, 12_000, 4000, 500, 3000];
const KILLS: usize = 12;

#[test]
fn a_killed_import_resumes_and_stores_every_record_once() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(logs.join("nested")).unwrap();
    let mut w = Workload::new(WorkloadConfig::default());
    let mut ids = HashSet::new();
    for (i, n) in FILES.iter().enumerate() {
        let records: Vec<String> = (0..*n).map(|_| w.next_record()).collect();
        for r in &records {
            let v: serde_json::Value = serde_json::from_str(r).unwrap();
            ids.insert(v["eventID"].as_str().unwrap().to_string());
        }
        let body = format!("{{\"Records\":[{}]}}", records.join(","));
        let path = logs
            .join(if i % 2 == 0 { "nested" } else { "" })
            .join(format!("f{i}.json.gz"));
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(body.as_bytes()).unwrap();
        std::fs::write(path, gz.finish().unwrap()).unwrap();
    }
    let total: usize = FILES.iter().sum();
    assert_eq!(ids.len(), total);

    let data = dir.path().join("data");
    let import = || {
        let mut c = cairn();
        c.args(["import", "--quiet", "--data-dir"])
            .arg(&data)
            .arg(&logs)
            .env("CAIRN_MEMTABLE_FLUSH_SIZE", "4MiB")
            .env("CAIRN_WAL_FILE_SIZE", "8MiB");
        c
    };
    let mut rng = rand::rng();
    for _ in 0..KILLS {
        let mut p = Proc::spawn(import());
        // A random moment: reading, parsing, appending, or recording progress.
        std::thread::sleep(Duration::from_millis(rng.random_range(50..1500)));
        p.kill9();
    }
    let out = import().output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let again = import().output().unwrap();
    let text = String::from_utf8_lossy(&again.stdout);
    assert!(text.contains(" 0 events added"), "{text}");

    let dump = cairn().args(["dump", "--data-dir"]).arg(&data).output().unwrap();
    assert!(dump.status.success());
    let mut seen = HashSet::new();
    for line in String::from_utf8(dump.stdout).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let id = v["eventID"].as_str().unwrap().to_string();
        assert!(ids.contains(&id), "an event no file holds: {id}");
        assert!(seen.insert(id.clone()), "stored twice: {id}");
    }
    assert_eq!(seen.len(), total, "every record stored");
}
