//! Behaviour of the event log through its public API: appends, lookups, consumers, recovery,
//! corruption, retention and compaction.

mod common;

use std::time::Duration;

use cairn_log::{CursorStart, ErrorKind, EventLog, LogConfig, ScanRequest};
use cairn_model::{EventRecord, EventTime, LookupAttribute, LookupFilter};
use common::*;

async fn open(dir: &std::path::Path, cfg: LogConfig) -> EventLog {
    open_log(dir, cfg).await
}

async fn append_all(log: &EventLog, records: Vec<EventRecord>, chunk: usize) -> Vec<(u64, EventRecord)> {
    let mut out = Vec::new();
    for c in records.chunks(chunk) {
        let receipt = log.append(c.to_vec()).await.unwrap();
        assert_eq!(receipt.last_seq - receipt.first_seq + 1, c.len() as u64);
        for (i, r) in c.iter().enumerate() {
            out.push((receipt.first_seq + i as u64, r.clone()));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scans_match_brute_force_across_memtable_and_segments() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), small_config()).await;
    let mut all = append_all(&log, batch(0..1500), 37).await;
    log.flush().await.unwrap();
    all.extend(append_all(&log, batch(1500..2000), 50).await);
    let status = log.status();
    assert!(
        status.segments >= 4,
        "expected several segments, got {}",
        status.segments
    );
    assert!(
        status.memtable_events > 0,
        "some events should still be in the memtable"
    );

    for account in ACCOUNTS {
        for region in REGIONS {
            for filter in filters() {
                for (limit, window) in [(1usize, None), (7, Some((1_700_001_000, 1_700_003_000))), (50, None)] {
                    let mut req = ScanRequest::new(account, region);
                    req.filter = filter.clone();
                    req.limit = limit;
                    if let Some((a, b)) = window {
                        req.start = EventTime::from_secs(a);
                        req.end = EventTime::from_secs(b);
                    }
                    let want = expected(&all, &req);
                    let got = checked_seqs(&all, &scan_all(&log, req.clone()).await);
                    assert_eq!(
                        got, want,
                        "{account} {region} {filter:?} limit {limit} window {window:?}"
                    );
                }
            }
            let mut req = ScanRequest::new(account, region);
            req.categories = Some(vec!["Management".into()]);
            let got = checked_seqs(&all, &scan_all(&log, req.clone()).await);
            assert_eq!(got, expected(&all, &req));
        }
    }
    // Records come back as they went in.
    let mut req = ScanRequest::new(ACCOUNTS[0], REGIONS[0]);
    req.filter = Some(LookupFilter::new(LookupAttribute::EventId, "evt-000044"));
    let page = log.scan(&req).await.unwrap();
    assert_eq!(page.events.len(), 1);
    assert_eq!(page.events[0].record.json(), record(44).json());
    log.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopen_replays_the_wal_and_continues_numbering() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), small_config()).await;
    let first = append_all(&log, batch(0..300), 10).await;
    log.flush().await.unwrap();
    let second = append_all(&log, batch(300..400), 10).await;
    // Drop without close: the memtable is lost and must come back from the WAL.
    drop(log);
    let log = open(dir.path(), small_config()).await;
    assert_eq!(log.durable_seq(), 400);
    let events = log.read_after(0, 1000).await.unwrap();
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=400).collect::<Vec<_>>());
    for (e, (seq, r)) in events.iter().zip(first.iter().chain(&second)) {
        assert_eq!((e.seq, e.record.json()), (*seq, r.json()));
    }
    let next = log.append(batch(400..401)).await.unwrap();
    assert_eq!(next.first_seq, 401);
    log.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumers_read_in_order_from_segments_wal_and_memory() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), small_config()).await;
    append_all(&log, batch(0..1000), 25).await;
    log.flush().await.unwrap();
    append_all(&log, batch(1000..1100), 25).await;
    // No cursor: the WAL below the flush point is gone, so early events come from segments.
    let status = log.status();
    assert_eq!(status.flushed_seq, 1000);
    let mut after = 0;
    let mut seen = Vec::new();
    loop {
        let got = log.read_after(after, 133).await.unwrap();
        if got.is_empty() {
            break;
        }
        for e in &got {
            assert_eq!(e.record.json(), record(e.seq - 1).json());
        }
        after = got.last().unwrap().seq;
        seen.extend(got.into_iter().map(|e| e.seq));
    }
    assert_eq!(seen, (1..=1100).collect::<Vec<_>>());
    log.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wal_is_kept_for_lagging_cursors_only() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), small_config()).await;
    assert_eq!(log.open_cursor("trail-a", CursorStart::Earliest).await.unwrap(), 0);
    append_all(&log, batch(0..1500), 50).await;
    log.flush().await.unwrap();
    let held = log.status().wal_files;
    assert!(held > 3, "a lagging cursor must hold WAL files back (files: {held})");
    // The cursor reads everything from the WAL.
    let got = log.read_after(0, 2000).await.unwrap();
    assert_eq!(got.len(), 1500);
    log.commit_cursor("trail-a", 1500).await.unwrap();
    assert_eq!(
        log.status().wal_files,
        1,
        "everything flushed and consumed: only the active file stays"
    );
    // Cursors are durable.
    drop(log);
    let log = open(dir.path(), small_config()).await;
    assert_eq!(log.cursor("trail-a"), Some(1500));
    let err = log.commit_cursor("trail-a", 10_000).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(log.delete_cursor("trail-a").await.unwrap());
    log.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_share_fsyncs() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), LogConfig::default()).await;
    let mut tasks = Vec::new();
    for w in 0..16u64 {
        let log = log.clone();
        tasks.push(tokio::spawn(async move {
            let mut seqs = Vec::new();
            for i in 0..100u64 {
                let r = log.append(vec![record(w * 1000 + i)]).await.unwrap();
                seqs.push(r.first_seq);
            }
            seqs
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        let seqs = t.await.unwrap();
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "one writer's appends are ordered");
        all.extend(seqs);
    }
    all.sort();
    assert_eq!(all, (1..=1600).collect::<Vec<_>>());
    let commits = log.status().wal_commits;
    assert!(
        commits < 1600,
        "group commit should share fsyncs: {commits} commits for 1600 appends"
    );
    log.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), small_config()).await;
    let err = log.append(vec![]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let mut req = ScanRequest::new(ACCOUNTS[0], REGIONS[0]);
    req.limit = 0;
    assert_eq!(log.scan(&req).await.unwrap_err().kind(), ErrorKind::InvalidInput);
    assert_eq!(
        log.open_cursor("", CursorStart::Latest).await.unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    // A second process (here: a second open) cannot take the same directory.
    let err = EventLog::open(dir.path(), small_config()).await.unwrap_err();
    assert!(err.to_string().contains("another Cairn process"), "{err}");
    log.close().await.unwrap();

    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    let err = EventLog::open(&file, small_config()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Storage);
    assert!(err.to_string().contains("not-a-dir"), "{err}");
}

fn wal_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir.join("wal"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn torn_tail_is_cut_and_nothing_partial_is_visible() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), LogConfig::default()).await;
    append_all(&log, batch(0..50), 10).await;
    drop(log);
    // Simulate a crash in the middle of writing the next frame.
    let last = wal_files(dir.path()).pop().unwrap();
    let len = std::fs::metadata(&last).unwrap().len();
    let mut f = std::fs::OpenOptions::new().append(true).open(&last).unwrap();
    use std::io::Write;
    f.write_all(&0xC41F_F2A3u32.to_le_bytes()).unwrap();
    f.write_all(&[200, 0, 0, 0, 1, 2, 3, 4, 5, 6]).unwrap();
    drop(f);
    let log = open(dir.path(), LogConfig::default()).await;
    assert_eq!(std::fs::metadata(&last).unwrap().len(), len, "the torn frame is cut");
    assert_eq!(log.read_after(0, 100).await.unwrap().len(), 50);
    assert!(log.status().corruption.is_empty());
    assert_eq!(log.append(batch(50..51)).await.unwrap().first_seq, 51);
    log.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damaged_wal_frame_is_reported_with_its_file_and_the_rest_stays_readable() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = small_config();
    cfg.memtable_flush_bytes = usize::MAX;
    let log = open(dir.path(), cfg.clone()).await;
    append_all(&log, batch(0..300), 10).await;
    drop(log);
    let files = wal_files(dir.path());
    assert!(files.len() >= 2);
    // Flip a byte inside a record in the middle of the first (sealed) file.
    let victim = &files[0];
    let mut bytes = std::fs::read(victim).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    std::fs::write(victim, &bytes).unwrap();

    let log = open(dir.path(), cfg).await;
    let status = log.status();
    assert_eq!(status.corruption.len(), 1, "{:?}", status.corruption);
    assert!(
        status.corruption[0].contains(&victim.display().to_string()),
        "{:?}",
        status.corruption
    );
    let got = log.read_after(0, 1000).await.unwrap();
    // One frame (10 events) is lost; everything else is intact and in order.
    assert_eq!(got.len(), 290);
    assert!(got.windows(2).all(|w| w[0].seq < w[1].seq));
    for e in &got {
        assert_eq!(e.record.json(), record(e.seq - 1).json());
    }
    log.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damaged_segment_is_named_and_other_partitions_stay_readable() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), small_config()).await;
    let all = append_all(&log, batch(0..400), 40).await;
    log.flush().await.unwrap();
    drop(log);
    // Damage the segment of one partition.
    let seg_dir = dir.path().join("store/segments").join(ACCOUNTS[0]).join(REGIONS[0]);
    let victim = walk(&seg_dir).into_iter().next().expect("a segment file");
    let mut bytes = std::fs::read(&victim).unwrap();
    let at = bytes.len() / 3;
    bytes[at] ^= 0x01;
    std::fs::write(&victim, &bytes).unwrap();

    let log = open(dir.path(), small_config()).await;
    let err = log.scan(&ScanRequest::new(ACCOUNTS[0], REGIONS[0])).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corruption);
    assert!(err.to_string().contains(&victim.display().to_string()), "{err}");
    for (a, r) in [
        (ACCOUNTS[0], REGIONS[1]),
        (ACCOUNTS[1], REGIONS[0]),
        (ACCOUNTS[1], REGIONS[1]),
    ] {
        let req = ScanRequest::new(a, r);
        let got = checked_seqs(&all, &scan_all(&log, req.clone()).await);
        assert_eq!(got, expected(&all, &req));
    }
    let problems = log.verify().await.unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains(&victim.display().to_string()));
    log.close().await.unwrap();
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compaction_merges_small_segments_without_changing_results() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = small_config();
    cfg.compaction_small_bytes = 1 << 30;
    cfg.compaction_target_bytes = 1 << 30;
    let log = open(dir.path(), cfg.clone()).await;
    let mut all = Vec::new();
    for k in 0..5 {
        all.extend(append_all(&log, batch(k * 200..(k + 1) * 200), 20).await);
        log.flush().await.unwrap();
    }
    let before = log.status().segments;
    assert_eq!(before, 20, "5 flushes x 4 partitions");
    let report = log.run_maintenance().await.unwrap();
    assert_eq!(report.compactions, 4);
    assert_eq!(log.status().segments, 4);
    for a in ACCOUNTS {
        for r in REGIONS {
            for filter in filters() {
                let mut req = ScanRequest::new(a, r);
                req.filter = filter;
                req.limit = 13;
                let got = checked_seqs(&all, &scan_all(&log, req.clone()).await);
                assert_eq!(got, expected(&all, &req));
            }
        }
    }
    // Replaced files are deleted once no reader holds them.
    let files = || walk(&dir.path().join("store/segments")).len();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while files() != 4 {
        assert!(
            std::time::Instant::now() < deadline,
            "old segment files were not deleted: {}",
            files()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(log);
    let log = open(dir.path(), cfg).await;
    assert_eq!(log.status().segments, 4);
    assert!(log.verify().await.unwrap().is_empty());
    log.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_drops_whole_expired_segments() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = small_config();
    cfg.retention = Some(Duration::from_millis(1));
    let log = open(dir.path(), cfg).await;
    append_all(&log, batch(0..100), 10).await;
    log.flush().await.unwrap();
    let segs = log.status().segments;
    assert!(segs > 0);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let report = loop {
        let r = log.run_maintenance().await.unwrap();
        if r.segments_expired > 0 {
            break r;
        }
        assert!(std::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    assert_eq!(report.segments_expired, segs);
    assert_eq!(report.events_expired, 100);
    assert_eq!(log.status().segments, 0);
    assert!(
        log.scan(&ScanRequest::new(ACCOUNTS[0], REGIONS[0]))
            .await
            .unwrap()
            .events
            .is_empty()
    );
    log.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recycled_wal_files_never_resurface_old_frames() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = small_config();
    cfg.wal_file_bytes = 16 * 1024;
    let log = open(dir.path(), cfg.clone()).await;
    log.open_cursor("reader", CursorStart::Earliest).await.unwrap();
    let mut all = Vec::new();
    for round in 0..12u64 {
        all.extend(append_all(&log, batch(round * 100..(round + 1) * 100), 7).await);
        log.flush().await.unwrap();
        // The consumer catches up, so sealed files are retired and later reused as spares.
        log.commit_cursor("reader", log.durable_seq()).await.unwrap();
    }
    let spares = std::fs::read_dir(dir.path().join("wal"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "wal-spare"))
        .count();
    assert!(spares <= 2, "at most two spare files are kept ({spares})");
    // A consumer that rewinds to the start reads every event once, in order, whatever the WAL
    // files held in their previous lives.
    let got = log.read_after(0, usize::MAX).await.unwrap();
    assert_eq!(
        got.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (1..=1200).collect::<Vec<_>>()
    );
    drop(log);
    let log = open(dir.path(), cfg).await;
    assert!(log.status().corruption.is_empty(), "{:?}", log.status().corruption);
    let got = log.read_after(0, usize::MAX).await.unwrap();
    assert_eq!(got.len(), 1200);
    for (e, (seq, r)) in got.iter().zip(&all) {
        assert_eq!((e.seq, e.record.json()), (*seq, r.json()));
    }
    assert!(log.verify().await.unwrap().is_empty());
    log.close().await.unwrap();
}

/// A crash between renaming a spare and rewriting its header (the order of earlier versions)
/// leaves the newest WAL file with an old header: that is no corruption, nothing was in it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spare_renamed_before_its_header_was_rewritten_is_not_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = small_config();
    cfg.wal_file_bytes = 16 * 1024;
    let log = open(dir.path(), cfg.clone()).await;
    log.open_cursor("reader", CursorStart::Earliest).await.unwrap();
    for round in 0..8u64 {
        append_all(&log, batch(round * 100..(round + 1) * 100), 7).await;
        log.flush().await.unwrap();
        log.commit_cursor("reader", log.durable_seq()).await.unwrap();
    }
    let last = log.durable_seq();
    log.close().await.unwrap();
    drop(log);
    let wal = dir.path().join("wal");
    let spare = std::fs::read_dir(&wal)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "wal-spare"))
        .expect("a spare WAL file");
    std::fs::rename(&spare, wal.join(format!("{:020}.wal", last + 1))).unwrap();

    let log = open(dir.path(), cfg).await;
    assert!(log.status().corruption.is_empty(), "{:?}", log.status().corruption);
    let seqs = append_all(&log, batch(800..900), 10).await;
    assert_eq!(seqs.first().unwrap().0, last + 1);
    let got = log.read_after(0, usize::MAX).await.unwrap();
    assert_eq!(
        got.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (1..=900).collect::<Vec<_>>()
    );
    log.close().await.unwrap();
}

/// The lookup cache changes how fast a scan is, never what it answers: paged scans agree with
/// brute force without a cache, with one too small to keep much, and with a roomy one, on a
/// first pass and on a second (cached) one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookups_answer_the_same_through_the_cache() {
    // Row groups of 64 rows hold one record page each; those of 8,192 several (pages end every
    // 1,024 rows at most), so a page of results is fetched in runs split between record pages.
    for (cache_bytes, row_group_rows) in [
        (0usize, 64),
        (8 << 10, 64),
        // Row groups that end inside a block of 8 records.
        (0, 37),
        (256 << 20, 100),
        (256 << 20, 64),
        (0, 8192),
        (256 << 20, 8192),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let cfg = LogConfig {
            lookup_cache_bytes: cache_bytes,
            row_group_rows,
            record_page_bytes: 4096,
            ..small_config()
        };
        let log = open(dir.path(), cfg).await;
        let mut all = append_all(&log, batch(0..1500), 37).await;
        log.flush().await.unwrap();
        all.extend(append_all(&log, batch(1500..1800), 50).await);
        for pass in 0..2 {
            for filter in filters() {
                for limit in [1usize, 7, 50] {
                    let mut req = ScanRequest::new(ACCOUNTS[0], REGIONS[0]);
                    req.filter = filter.clone();
                    req.limit = limit;
                    req.categories = Some(vec!["Management".into()]);
                    let got = checked_seqs(&all, &scan_all(&log, req.clone()).await);
                    assert_eq!(
                        got,
                        expected(&all, &req),
                        "cache {cache_bytes} row groups {row_group_rows} pass {pass} {filter:?} limit {limit}"
                    );
                }
            }
        }
        log.close().await.unwrap();
    }
}

/// Segments large enough to train a record dictionary: every record reads back through its
/// block from any row group (sizes that are not a multiple of the block), through scans and
/// through compaction (which reads whole segments), and the footer holds the dictionary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_read_back_from_dictionary_compressed_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = LogConfig {
        memtable_flush_bytes: 64 << 20,
        row_group_rows: 1000,
        compaction_small_bytes: 1 << 30,
        compaction_target_bytes: 1 << 30,
        ..small_config()
    };
    let log = open(dir.path(), cfg).await;
    let mut all = Vec::new();
    for k in 0..2u64 {
        all.extend(append_all(&log, batch(k * 6000..(k + 1) * 6000), 500).await);
        log.flush().await.unwrap();
    }
    let check = |log: &EventLog, all: &[(u64, EventRecord)]| {
        let (log, all) = (log.clone(), all.to_vec());
        async move {
            for filter in filters() {
                for limit in [7usize, 50] {
                    let mut req = ScanRequest::new(ACCOUNTS[1], REGIONS[0]);
                    req.filter = filter.clone();
                    req.limit = limit;
                    let got = checked_seqs(&all, &scan_all(&log, req.clone()).await);
                    assert_eq!(got, expected(&all, &req), "{filter:?} limit {limit}");
                }
            }
        }
    };
    check(&log, &all).await;
    assert_eq!(log.run_maintenance().await.unwrap().compactions, 4);
    check(&log, &all).await;
    let mut with_dictionary = 0;
    for path in walk(&dir.path().join("store/segments")) {
        use parquet::file::reader::FileReader;
        let reader = parquet::file::reader::SerializedFileReader::new(std::fs::File::open(&path).unwrap()).unwrap();
        let kv = reader
            .metadata()
            .file_metadata()
            .key_value_metadata()
            .cloned()
            .unwrap_or_default();
        let get = |k: &str| kv.iter().find(|e| e.key == k).and_then(|e| e.value.clone());
        assert_eq!(get("cairn.segment.format").as_deref(), Some("2"), "{}", path.display());
        assert_eq!(get("cairn.segment.block_records").as_deref(), Some("8"));
        with_dictionary += usize::from(get("cairn.segment.record_dictionary").is_some());
    }
    assert_eq!(
        with_dictionary, 4,
        "each compacted segment (3,000 records) has a dictionary"
    );
    log.close().await.unwrap();
}
