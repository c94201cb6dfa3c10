//! Memtable flushes: freeze the active memtable, write one segment per partition, register them
//! and the new flushed point in one catalog transaction, then let the WAL go.

use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::memtable::{MemEntry, Memtable};
use crate::segment::encode::{EncodeOptions, encode, sort_by_time};
use crate::segment::{SegmentHandle, SegmentMeta, segment_path};
use crate::{Inner, maintenance};

/// Background loop: flush when the memtable is full or old enough; retry failures with backoff.
pub(crate) async fn run_flusher(inner: Weak<Inner>) {
    let mut backoff = Duration::from_millis(200);
    loop {
        let (notify, tick) = {
            let Some(inner) = inner.upgrade() else { return };
            let tick = (inner.config.memtable_flush_age / 4).clamp(Duration::from_millis(50), Duration::from_secs(5));
            (inner.flush_wanted.clone(), tick)
        };
        tokio::select! {
            _ = notify.notified() => {}
            _ = tokio::time::sleep(tick) => {}
        }
        let Some(inner) = inner.upgrade() else { return };
        match flush(&inner, false).await {
            Ok(()) => backoff = Duration::from_millis(200),
            Err(e) => {
                tracing::error!(error = %e, retry_in_ms = backoff.as_millis() as u64, "memtable flush failed; events stay in the WAL and memory");
                *inner.last_flush_error.lock() = Some(format!("the last flush failed: {e}"));
                metrics::counter!("cairn_log_flush_failures_total").increment(1);
                drop(inner);
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
        }
    }
}

/// Freezes the active memtable when due (always when `force`), then writes every frozen memtable
/// to segments, oldest first.
pub(crate) async fn flush(inner: &Arc<Inner>, force: bool) -> Result<()> {
    let _guard = inner.flush_lock.lock().await;
    {
        let mut st = inner.state.write();
        let due = !st.active.is_empty()
            && (force
                || st.active.bytes() >= inner.config.memtable_flush_bytes
                || st.active.age().is_some_and(|a| a >= inner.config.memtable_flush_age));
        if due {
            let m = std::mem::take(&mut st.active);
            st.frozen.push_back(Arc::new(m));
        }
    }
    loop {
        let Some(frozen) = inner.state.read().frozen.front().cloned() else {
            break;
        };
        flush_one(inner, frozen).await?;
    }
    *inner.last_flush_error.lock() = None;
    Ok(())
}

async fn flush_one(inner: &Arc<Inner>, frozen: Arc<Memtable>) -> Result<()> {
    let started = Instant::now();
    let last_seq = frozen.last_seq().expect("frozen memtables are not empty");
    let opts = EncodeOptions::flush(&inner.config);
    let m = frozen.clone();
    // One core normally, leaving the other to the WAL and the API; every core once flushing has
    // fallen behind ingest (half a memtable more than the flush threshold waits).
    let threshold = inner.config.memtable_flush_bytes;
    let behind = inner.state.read().unflushed_bytes > threshold.saturating_add(threshold / 2);
    let workers = if behind {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        1
    };
    let encoded = tokio::task::spawn_blocking(move || {
        let mut parts: HashMap<(&str, &str), Vec<&MemEntry>> = HashMap::new();
        for e in m.iter() {
            let ix = e.record.index();
            parts
                .entry((ix.account_id.as_str(), ix.region.as_str()))
                .or_default()
                .push(e);
        }
        // Work items: a partition, or with several workers a time-contiguous slice of one, so a
        // busy partition does not keep one core working while the other idles.
        let total: usize = parts.values().map(Vec::len).sum();
        let slice = if workers > 1 {
            total.div_ceil(workers).max(1)
        } else {
            usize::MAX
        };
        let mut items: Vec<((&str, &str), Vec<&MemEntry>)> = Vec::new();
        for (key, mut entries) in parts {
            sort_by_time(&mut entries);
            if entries.len() <= slice {
                items.push((key, entries));
            } else {
                items.extend(entries.chunks(slice).map(|c| (key, c.to_vec())));
            }
        }
        // Largest first, dealt to the workers in turn.
        items.sort_by_key(|(_, v)| std::cmp::Reverse(v.len()));
        let mut shares: Vec<Vec<_>> = (0..workers).map(|_| Vec::new()).collect();
        for (i, p) in items.into_iter().enumerate() {
            shares[i % workers].push(p);
        }
        std::thread::scope(|scope| {
            let handles: Vec<_> = shares
                .into_iter()
                .map(|share| {
                    scope.spawn(move || {
                        share
                            .into_iter()
                            .map(|((account, region), mut entries)| {
                                Ok((account.to_string(), region.to_string(), encode(&mut entries, opts)?))
                            })
                            .collect::<Result<Vec<_>>>()
                    })
                })
                .collect();
            let mut out = Vec::new();
            for h in handles {
                out.extend(
                    h.join()
                        .map_err(|_| Error::Unavailable("segment encoding panicked".into()))??,
                );
            }
            Ok::<_, Error>(out)
        })
    })
    .await
    .map_err(|e| Error::Unavailable(format!("segment encoding task failed: {e}")))??;

    let encode_ms = started.elapsed().as_millis() as u64;
    let mut metas = Vec::with_capacity(encoded.len());
    let mut written_bytes = 0u64;
    for (account, region, enc) in encoded {
        let id = uuid::Uuid::now_v7().to_string();
        let path = segment_path(&account, &region, enc.min_event_time, &id);
        let meta = SegmentMeta {
            id,
            path: path.clone(),
            account_id: account,
            region,
            min_event_time: enc.min_event_time,
            max_event_time: enc.max_event_time,
            min_seq: enc.min_seq,
            max_seq: enc.max_seq,
            max_ingest_time: enc.max_ingest_ms,
            row_count: enc.rows,
            size_bytes: enc.bytes.len() as u64,
            raw_bytes: enc.raw_bytes,
            checksum: enc.checksum,
            level: 0,
        };
        written_bytes += meta.size_bytes;
        inner.store.put_durable(&path, enc.bytes).await?;
        metas.push(meta);
    }
    // A crash before this commit leaves orphan files (removed at the next open) and the events
    // still in the WAL; after it, the WAL may go.
    inner.catalog.commit_flush(&metas, last_seq).await?;

    let handles: Vec<Arc<SegmentHandle>> = metas
        .into_iter()
        .map(|m| Arc::new(SegmentHandle::new(m, inner.store.clone(), Some(inner.gc.clone()))))
        .collect();
    {
        // Segments appear and the frozen memtable disappears in one step: no reader sees an
        // event twice or misses one.
        let mut st = inner.state.write();
        st.segments = Arc::new(st.segments.with_changes(handles, &[]));
        st.frozen.pop_front();
        st.flushed_seq = last_seq;
        st.unflushed_bytes = st.unflushed_bytes.saturating_sub(frozen.bytes());
    }
    metrics::counter!("cairn_log_flushes_total").increment(1);
    metrics::counter!("cairn_log_flushed_events_total").increment(frozen.len() as u64);
    metrics::histogram!("cairn_log_flush_seconds").record(started.elapsed().as_secs_f64());
    tracing::debug!(
        events = frozen.len(),
        raw_bytes = frozen.bytes(),
        segment_bytes = written_bytes,
        last_seq,
        workers,
        encode_ms,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "memtable flushed"
    );
    maintenance::truncate_wal(inner)?;
    // Freeing a large memtable takes a while: not on an async worker.
    tokio::task::spawn_blocking(move || drop(frozen));
    Ok(())
}
