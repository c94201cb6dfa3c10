//! Work that keeps the log in shape: WAL truncation, retention, compaction of small segments,
//! deletion of replaced files, and integrity checks.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Weak};

use cairn_model::{EventRecord, EventTime};
use tokio::sync::mpsc;

use crate::error::{Error, Result};
use crate::memtable::MemEntry;
use crate::segment::encode::{EncodeOptions, encode};
use crate::segment::{SegmentHandle, SegmentMeta, SegmentSet, read, segment_path};
use crate::store::SegmentStore;
use crate::wal;
use crate::{Inner, Seq, StoredEvent};

/// What one maintenance pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MaintenanceReport {
    pub segments_expired: usize,
    pub events_expired: u64,
    pub compactions: usize,
    pub segments_compacted: usize,
}

/// Deletes WAL files whose every event is in a segment and behind every cursor.
pub(crate) fn truncate_wal(inner: &Inner) -> Result<()> {
    let flushed = inner.state.read().flushed_seq;
    let min_cursor = inner.cursors.lock().values().copied().min().unwrap_or(Seq::MAX);
    let bound = flushed.min(min_cursor);
    let doomed: Vec<_> = {
        let mut files = inner.wal_files.write();
        let mut n = 0;
        // The last file is where appends go; it is never deleted.
        while n + 1 < files.len() && files[n].last_seq.is_some_and(|l| l <= bound) {
            n += 1;
        }
        files.drain(..n).collect()
    };
    if doomed.is_empty() {
        return Ok(());
    }
    // Renamed out of the WAL at once (cheap) and kept for reuse; extra files give their space back
    // gradually, off the async runtime, because freeing a large file at once stalls WAL fsyncs.
    let retired = wal::retire_files(&inner.wal_dir, &doomed)?;
    metrics::counter!("cairn_wal_files_deleted_total").increment(doomed.len() as u64);
    tokio::task::spawn_blocking(move || wal::release_files(retired));
    Ok(())
}

pub(crate) async fn run_maintenance_loop(inner: Weak<Inner>) {
    loop {
        let interval = match inner.upgrade() {
            Some(i) => i.config.maintenance_interval,
            None => return,
        };
        tokio::time::sleep(interval).await;
        let Some(inner) = inner.upgrade() else { return };
        if let Err(e) = run_once(&inner).await {
            tracing::error!(error = %e, "log maintenance failed; retrying at the next interval");
        }
    }
}

pub(crate) async fn run_once(inner: &Arc<Inner>) -> Result<MaintenanceReport> {
    let _guard = inner.maintenance_lock.lock().await;
    let mut report = MaintenanceReport::default();
    expire(inner, &mut report).await?;
    compact(inner, &mut report).await?;
    Ok(report)
}

/// Retention: whole segments whose newest event arrived before the window are dropped.
async fn expire(inner: &Arc<Inner>, report: &mut MaintenanceReport) -> Result<()> {
    let Some(window) = inner.config.retention else {
        return Ok(());
    };
    let cutoff = EventTime::now().millis() - window.as_millis() as i64;
    let segments = inner.state.read().segments.clone();
    let old: Vec<Arc<SegmentHandle>> = segments
        .all()
        .filter(|s| s.meta.max_ingest_time < cutoff)
        .cloned()
        .collect();
    if old.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = old.iter().map(|s| s.meta.id.clone()).collect();
    inner.catalog.replace_segments(&ids, &[]).await?;
    apply(inner, Vec::new(), &old);
    report.segments_expired += old.len();
    report.events_expired += old.iter().map(|s| s.meta.row_count).sum::<u64>();
    metrics::counter!("cairn_log_segments_expired_total").increment(old.len() as u64);
    tracing::info!(
        segments = old.len(),
        events = report.events_expired,
        "retention dropped segments"
    );
    Ok(())
}

fn apply(inner: &Inner, added: Vec<Arc<SegmentHandle>>, removed: &[Arc<SegmentHandle>]) {
    let ids: Vec<String> = removed.iter().map(|s| s.meta.id.clone()).collect();
    let mut st = inner.state.write();
    st.segments = Arc::new(st.segments.with_changes(added, &ids));
    drop(st);
    for s in removed {
        s.retire();
    }
}

const DAY_MS: i64 = 86_400_000;

/// Merges runs of small segments of one partition that arrived on the same day (so retention
/// still drops whole segments), oldest events first. Flush outputs (level 0) are always taken,
/// alone if need be: compaction is where they get their final, smaller encoding.
async fn compact(inner: &Arc<Inner>, report: &mut MaintenanceReport) -> Result<()> {
    let small = inner.config.compaction_small_bytes;
    let target = inner.config.compaction_target_bytes;
    let segments = inner.state.read().segments.clone();
    let mut runs: Vec<Vec<Arc<SegmentHandle>>> = Vec::new();
    for (_, list) in segments.partitions() {
        let mut candidates: Vec<&Arc<SegmentHandle>> = list
            .iter()
            .filter(|s| s.meta.size_bytes < small || s.meta.level == 0)
            .collect();
        candidates.sort_by_key(|s| (s.meta.max_ingest_time / DAY_MS, s.meta.min_event_time, s.meta.min_seq));
        let mut run: Vec<Arc<SegmentHandle>> = Vec::new();
        let mut run_bytes = 0;
        for s in candidates {
            let same_day = run
                .first()
                .is_none_or(|f| f.meta.max_ingest_time / DAY_MS == s.meta.max_ingest_time / DAY_MS);
            if !same_day || run_bytes + s.meta.size_bytes > target {
                if worth_compacting(&run) {
                    runs.push(std::mem::take(&mut run));
                }
                run.clear();
                run_bytes = 0;
            }
            run_bytes += s.meta.size_bytes;
            run.push(s.clone());
        }
        if worth_compacting(&run) {
            runs.push(run);
        }
    }
    for run in runs {
        merge(inner, &run).await?;
        report.compactions += 1;
        report.segments_compacted += run.len();
    }
    Ok(())
}

fn worth_compacting(run: &[Arc<SegmentHandle>]) -> bool {
    run.len() >= 2 || run.iter().any(|s| s.meta.level == 0)
}

async fn merge(inner: &Arc<Inner>, run: &[Arc<SegmentHandle>]) -> Result<()> {
    let started = std::time::Instant::now();
    let mut entries = Vec::new();
    for seg in run {
        seg.verify().await?;
        for (seq, json) in read::read_all(seg).await? {
            let record = EventRecord::from_compact_json(&json)
                .map_err(|e| Error::corrupt(seg.location(), format!("stored record {seq} is unreadable: {e}")))?;
            entries.push(MemEntry {
                seq,
                record,
                ingest_ms: seg.meta.max_ingest_time,
            });
        }
    }
    let opts = EncodeOptions::compaction(&inner.config);
    let enc = tokio::task::spawn_blocking(move || {
        let mut refs: Vec<&MemEntry> = entries.iter().collect();
        encode(&mut refs, opts)
    })
    .await
    .map_err(|e| Error::Unavailable(format!("compaction task failed: {e}")))??;
    let first = &run[0].meta;
    let id = uuid::Uuid::now_v7().to_string();
    let path = segment_path(&first.account_id, &first.region, enc.min_event_time, &id);
    let meta = SegmentMeta {
        id,
        path: path.clone(),
        account_id: first.account_id.clone(),
        region: first.region.clone(),
        min_event_time: enc.min_event_time,
        max_event_time: enc.max_event_time,
        min_seq: enc.min_seq,
        max_seq: enc.max_seq,
        max_ingest_time: run
            .iter()
            .map(|s| s.meta.max_ingest_time)
            .max()
            .unwrap_or(enc.max_ingest_ms),
        row_count: enc.rows,
        size_bytes: enc.bytes.len() as u64,
        raw_bytes: enc.raw_bytes,
        checksum: enc.checksum,
        level: run.iter().map(|s| s.meta.level).max().unwrap_or(0) + 1,
    };
    inner.store.put_durable(&path, enc.bytes).await?;
    let removed: Vec<String> = run.iter().map(|s| s.meta.id.clone()).collect();
    inner
        .catalog
        .replace_segments(&removed, std::slice::from_ref(&meta))
        .await?;
    let handle = Arc::new(SegmentHandle::new(meta, inner.store.clone(), Some(inner.gc.clone())));
    handle.verify().await?;
    apply(inner, vec![handle], run);
    metrics::counter!("cairn_log_compactions_total").increment(1);
    tracing::debug!(
        inputs = run.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "segments compacted"
    );
    Ok(())
}

/// Deletes the files of retired segments once no reader holds them.
pub(crate) async fn run_gc(store: SegmentStore, mut rx: mpsc::UnboundedReceiver<String>) {
    while let Some(path) = rx.recv().await {
        if let Err(e) = store.delete(&path).await {
            tracing::warn!(path, error = %e, "could not delete a replaced segment; it will be removed at the next start");
        }
    }
}

/// After open: remove segment files no catalog entry names (a crash between writing and
/// registering them), then verify every segment's checksum, newest first.
pub(crate) async fn startup_checks(inner: Weak<Inner>) {
    let Some(strong) = inner.upgrade() else { return };
    {
        // No flush or compaction may run meanwhile: a file they have written but not yet
        // registered would look like an orphan.
        let _flush = strong.flush_lock.lock().await;
        let _maintenance = strong.maintenance_lock.lock().await;
        let known: HashSet<String> = strong
            .state
            .read()
            .segments
            .all()
            .map(|s| s.meta.path.clone())
            .collect();
        match strong.store.list("segments").await {
            Ok(paths) => {
                for p in paths.into_iter().filter(|p| !known.contains(p)) {
                    tracing::info!(
                        path = p,
                        "removing a segment file no catalog entry names (an interrupted flush or compaction)"
                    );
                    if let Err(e) = strong.store.delete(&p).await {
                        tracing::warn!(path = p, error = %e, "could not remove an unregistered segment file");
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not list segment files"),
        }
    }
    let mut handles: Vec<Arc<SegmentHandle>> = strong.state.read().segments.all().cloned().collect();
    drop(strong);
    handles.sort_by_key(|h| std::cmp::Reverse(h.meta.max_event_time));
    for h in handles {
        if let Err(e) = h.verify().await {
            let Some(strong) = inner.upgrade() else { return };
            let msg = e.to_string();
            let mut c = strong.corruption.lock();
            if !c.contains(&msg) {
                tracing::error!("{msg}");
                c.push(msg);
            }
        }
    }
}

/// Full integrity check: every WAL frame and every segment byte.
pub(crate) async fn verify_all(inner: &Arc<Inner>) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    let files = inner.wal_files.read().clone();
    let wal_problems = tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        for f in files {
            if let Err(e) = wal::read_frames_after(
                std::slice::from_ref(&f),
                f.first_seq.saturating_sub(1),
                Seq::MAX,
                usize::MAX,
            ) {
                out.push(e.to_string());
            }
        }
        out
    })
    .await
    .map_err(|e| Error::Unavailable(format!("verification task failed: {e}")))?;
    problems.extend(wal_problems);
    let segments: Vec<Arc<SegmentHandle>> = inner.state.read().segments.all().cloned().collect();
    for s in segments {
        // A fresh handle: a full read even if this segment was verified before.
        let fresh = SegmentHandle::new(s.meta.clone(), inner.store.clone(), None);
        if let Err(e) = fresh.verify().await {
            problems.push(e.to_string());
            continue;
        }
        if let Err(e) = read::read_all(&fresh).await {
            problems.push(e.to_string());
        }
    }
    Ok(problems)
}

/// Events with sequence numbers in `(after, through]` from segments, in order, at most `max`.
/// Used when a consumer is behind what the WAL still holds.
pub(crate) async fn read_segments_by_seq(
    set: &SegmentSet,
    after: Seq,
    through: Seq,
    max: usize,
) -> Result<Vec<StoredEvent>> {
    let mut segs: Vec<&Arc<SegmentHandle>> = set
        .all()
        .filter(|s| s.meta.max_seq > after && s.meta.min_seq <= through)
        .collect();
    segs.sort_by_key(|s| s.meta.min_seq);
    // Pass 1: sequence numbers only, to find the page; pass 2: the page's records, so a long
    // backlog decompresses each record about once instead of whole row groups per page.
    let mut wanted: Vec<(Seq, usize, usize)> = Vec::new();
    let mut metas = Vec::with_capacity(segs.len());
    for (i, s) in segs.iter().enumerate() {
        // Segments overlap in sequence ranges; once `max` events are found, a segment starting
        // after the highest found one cannot contribute.
        if wanted.len() >= max && wanted.last().is_some_and(|l| s.meta.min_seq > l.0) {
            break;
        }
        let (meta, seqs) = read::seqs_in_range(s, after, through).await?;
        metas.push(meta);
        wanted.extend(seqs.into_iter().map(|(seq, row)| (seq, i, row)));
        wanted.sort_unstable();
        wanted.truncate(max);
    }
    let mut out: Vec<StoredEvent> = Vec::with_capacity(wanted.len());
    for (i, meta) in metas.iter().enumerate() {
        // The rows wanted of this segment, with their sequence numbers.
        let seq_at: HashMap<usize, Seq> = wanted.iter().filter(|w| w.1 == i).map(|w| (w.2, w.0)).collect();
        if seq_at.is_empty() {
            continue;
        }
        let rows: Vec<usize> = seq_at.keys().copied().collect();
        for (row, json) in read::fetch_records(segs[i], meta, &rows).await? {
            let seq = *seq_at
                .get(&row)
                .ok_or_else(|| Error::corrupt(segs[i].location(), format!("row {row} was not asked for")))?;
            let record = EventRecord::from_compact_json(&json)
                .map_err(|e| Error::corrupt(segs[i].location(), format!("stored record {seq} is unreadable: {e}")))?;
            out.push(StoredEvent { seq, record });
        }
    }
    out.sort_by_key(|e| e.seq);
    Ok(out)
}
