//! Cairn's event log: the one durable, ordered record of every event, which every other part of
//! Cairn (event history, trails, digests, Insights) consumes.
//!
//! ```text
//! append ─► WAL (group commit, fsync) ─► memtable ─► flush ─► Parquet segments ─► catalog
//!                    │                       │                    │
//!                    └── read_after(seq) ◄───┴── scan (newest first) ◄┘
//! ```
//!
//! * [`EventLog::append`] returns only once the batch is on disk; each record gets a sequence
//!   number, strictly increasing.
//! * [`EventLog::scan`] answers event-history lookups; [`EventLog::read_after`] feeds consumers,
//!   which keep durable cursors ([`EventLog::commit_cursor`]).
//! * The WAL is truncated only below every cursor and the last flushed segment.
#![forbid(unsafe_code)]

mod cache;
pub mod catalog;
pub mod config;
pub mod error;
mod flush;
mod maintenance;
pub mod memtable;
mod readahead;
pub mod scan;
pub mod segment;
pub mod store;
pub mod wal;

use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use cairn_model::{EventRecord, MAX_BATCH_BYTES};
use parking_lot::{Mutex, RwLock};
use tokio::sync::{Notify, mpsc, oneshot, watch};

pub use catalog::{Catalog, Cursor, SqliteCatalog};
pub use config::{LogConfig, S3Location, SegmentLocation};
pub use error::{Error, ErrorKind, Result};
pub use maintenance::MaintenanceReport;
pub use scan::{ScanPage, ScanPosition, ScanRequest, ScanStats};

use memtable::{MemEntry, MemSnapshot, Memtable};
use segment::{SegmentHandle, SegmentSet};
use store::SegmentStore;
use wal::{AppendRequest, CommittedBatch, WalFile, WalWriter};

/// A position in the log. The first event is 1; 0 means "before everything".
pub type Seq = u64;

/// Where an appended batch landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendReceipt {
    pub first_seq: Seq,
    pub last_seq: Seq,
}

/// An event as the log holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub seq: Seq,
    pub record: EventRecord,
}

/// Where a new cursor starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CursorStart {
    /// Only events appended from now on.
    Latest,
    /// Every event the log still holds.
    Earliest,
    /// After this sequence number.
    After(Seq),
}

/// A summary of the log's state, for health checks and metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogStatus {
    pub durable_seq: Seq,
    pub flushed_seq: Seq,
    pub memtable_events: usize,
    pub unflushed_bytes: usize,
    pub segments: usize,
    pub segment_bytes: u64,
    pub segment_raw_bytes: u64,
    pub wal_files: usize,
    /// Group commits (one fsync each) since the log was opened.
    pub wal_commits: u64,
    /// Damage found in WAL files or segments, one message each (naming the file).
    pub corruption: Vec<String>,
    pub last_flush_error: Option<String>,
}

pub(crate) struct State {
    pub active: Memtable,
    /// Memtables being written to segments, oldest first.
    pub frozen: VecDeque<Arc<Memtable>>,
    pub segments: Arc<SegmentSet>,
    pub flushed_seq: Seq,
    pub unflushed_bytes: usize,
}

pub(crate) struct Inner {
    pub data_dir: PathBuf,
    pub config: LogConfig,
    pub state: Arc<RwLock<State>>,
    writer: Mutex<Option<WalWriter>>,
    pub wal_dir: PathBuf,
    pub wal_files: Arc<RwLock<Vec<WalFile>>>,
    pub catalog: Arc<dyn Catalog>,
    pub store: SegmentStore,
    durable: watch::Sender<Seq>,
    pub flush_wanted: Arc<Notify>,
    pub gc: mpsc::UnboundedSender<String>,
    pub cursors: Mutex<BTreeMap<String, Seq>>,
    pub corruption: Mutex<Vec<String>>,
    pub last_flush_error: Mutex<Option<String>>,
    pub flush_lock: tokio::sync::Mutex<()>,
    pub maintenance_lock: tokio::sync::Mutex<()>,
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    wal_commits: Arc<std::sync::atomic::AtomicU64>,
    scan_cache: Arc<cache::ScanCache>,
    _lock: File,
}

/// The event log. Cheap to clone; all clones share one log.
#[derive(Clone)]
pub struct EventLog {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for EventLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventLog")
            .field("data_dir", &self.inner.data_dir)
            .finish()
    }
}

fn data_dir_error(path: &Path, reason: impl std::fmt::Display) -> Error {
    Error::DataDir {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

/// Takes the data directory for this process: creates it if needed, proves it writable and holds
/// an exclusive lock so a second process cannot corrupt it.
fn lock_data_dir(dir: &Path) -> Result<File> {
    std::fs::create_dir_all(dir).map_err(|e| data_dir_error(dir, format!("cannot create it: {e}")))?;
    if !dir.is_dir() {
        return Err(data_dir_error(dir, "it is not a directory"));
    }
    let lock_path = dir.join("LOCK");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| data_dir_error(dir, format!("it is not writable: {e}")))?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            return Err(data_dir_error(dir, "another Cairn process is using it (LOCK is held)"));
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(data_dir_error(dir, format!("cannot lock it: {e}"))),
    }
    // Prove that new files can be created and synced, not only opened.
    let probe = dir.join(".write-probe");
    std::fs::write(&probe, b"cairn")
        .and_then(|_| File::open(&probe)?.sync_all())
        .and_then(|_| std::fs::remove_file(&probe))
        .map_err(|e| data_dir_error(dir, format!("it is not writable: {e}")))?;
    Ok(lock)
}

impl EventLog {
    /// Opens (or creates) the log in `data_dir`: replays the WAL, loads the catalog and starts the
    /// background flush, compaction, retention and verification tasks. Must be called inside a
    /// tokio runtime.
    pub async fn open(data_dir: impl AsRef<Path>, config: LogConfig) -> Result<EventLog> {
        let data_dir = data_dir.as_ref().to_path_buf();
        let lock = lock_data_dir(&data_dir)?;
        let wal_dir = data_dir.join("wal");
        std::fs::create_dir_all(&wal_dir).map_err(|e| data_dir_error(&wal_dir, format!("cannot create it: {e}")))?;
        let catalog: Arc<dyn Catalog> = Arc::new(SqliteCatalog::open(&data_dir.join("catalog.db")).await?);
        let store = SegmentStore::open(&data_dir, &config.segments)?;
        Self::open_with(data_dir, config, lock, catalog, store).await
    }

    async fn open_with(
        data_dir: PathBuf,
        config: LogConfig,
        lock: File,
        catalog: Arc<dyn Catalog>,
        store: SegmentStore,
    ) -> Result<EventLog> {
        let started = std::time::Instant::now();
        let flushed_seq = catalog.flushed_seq().await?;
        let metas = catalog.segments().await?;
        let wal_dir = data_dir.join("wal");

        // Replay: every intact record after the flushed point goes back into the memtable.
        let dir = wal_dir.clone();
        let (recovered, active) = tokio::task::spawn_blocking(move || {
            let mut active = Memtable::default();
            let recovered = wal::recover(&dir, flushed_seq, |records| {
                for entries in parse_parallel(&dir, records)? {
                    active.push(entries);
                }
                Ok(())
            })?;
            Ok::<_, Error>((recovered, active))
        })
        .await
        .map_err(|e| Error::Unavailable(format!("WAL replay task failed: {e}")))??;

        let max_segment_seq = metas.iter().map(|m| m.max_seq).max().unwrap_or(0);
        let last_seq = recovered.last_seq.max(flushed_seq).max(max_segment_seq);
        let (gc_tx, gc_rx) = mpsc::unbounded_channel();
        let handles: Vec<Arc<SegmentHandle>> = metas
            .into_iter()
            .map(|m| Arc::new(SegmentHandle::new(m, store.clone(), Some(gc_tx.clone()))))
            .collect();
        let unflushed = active.bytes();
        let replayed = active.len();
        let state = Arc::new(RwLock::new(State {
            active,
            frozen: VecDeque::new(),
            segments: Arc::new(SegmentSet::from_handles(handles)),
            flushed_seq,
            unflushed_bytes: unflushed,
        }));
        let (durable, _) = watch::channel(last_seq);
        let flush_wanted = Arc::new(Notify::new());
        let wal_files = Arc::new(RwLock::new(recovered.files));

        let sink = {
            let state = state.clone();
            let durable = durable.clone();
            let flush_wanted = flush_wanted.clone();
            let threshold = config.memtable_flush_bytes;
            Box::new(move |batches: Vec<CommittedBatch>| {
                let mut last = 0;
                let mut st = state.write();
                for b in batches {
                    last = b.first_seq + b.records.len() as u64 - 1;
                    let entries = b
                        .records
                        .into_iter()
                        .enumerate()
                        .map(|(i, record)| MemEntry {
                            seq: b.first_seq + i as u64,
                            record,
                            ingest_ms: b.ingest_ms,
                        })
                        .collect::<Vec<_>>();
                    st.unflushed_bytes += entries.iter().map(|e| e.record.json().len()).sum::<usize>();
                    st.active.push(entries);
                }
                let full = st.active.bytes() >= threshold;
                drop(st);
                durable.send_replace(last);
                if full {
                    flush_wanted.notify_one();
                }
            })
        };
        let wal_commits = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let scan_cache = Arc::new(cache::ScanCache::new(config.lookup_cache_bytes));
        let writer = WalWriter::start(
            &wal_dir,
            wal_files.clone(),
            last_seq + 1,
            config.wal_file_bytes,
            config.group_commit_bytes,
            wal_commits.clone(),
            sink,
        )?;

        let cursors = catalog.cursors().await?.into_iter().map(|c| (c.name, c.seq)).collect();
        let inner = Arc::new(Inner {
            data_dir,
            config,
            state,
            writer: Mutex::new(Some(writer)),
            wal_dir,
            wal_files,
            catalog,
            store,
            durable,
            flush_wanted,
            gc: gc_tx,
            cursors: Mutex::new(cursors),
            corruption: Mutex::new(recovered.corruption),
            last_flush_error: Mutex::new(None),
            flush_lock: tokio::sync::Mutex::new(()),
            maintenance_lock: tokio::sync::Mutex::new(()),
            tasks: Mutex::new(Vec::new()),
            wal_commits,
            scan_cache,
            _lock: lock,
        });
        let log = EventLog { inner };
        log.spawn_background(gc_rx);
        tracing::info!(
            data_dir = %log.inner.data_dir.display(),
            replayed,
            last_seq,
            flushed_seq,
            torn_tail_bytes = recovered.torn_tail_bytes,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "event log open"
        );
        Ok(log)
    }

    fn spawn_background(&self, gc_rx: mpsc::UnboundedReceiver<String>) {
        let mut tasks = self.inner.tasks.lock();
        tasks.push(tokio::spawn(flush::run_flusher(Arc::downgrade(&self.inner))));
        tasks.push(tokio::spawn(maintenance::run_maintenance_loop(Arc::downgrade(
            &self.inner,
        ))));
        tasks.push(tokio::spawn(maintenance::run_gc(self.inner.store.clone(), gc_rx)));
        tasks.push(tokio::spawn(maintenance::startup_checks(Arc::downgrade(&self.inner))));
    }

    fn check_batch(&self, records: &[EventRecord]) -> Result<()> {
        if records.is_empty() {
            return Err(Error::InvalidInput("an append needs at least one record".into()));
        }
        let bytes: usize = records.iter().map(|r| r.json().len()).sum();
        if bytes > MAX_BATCH_BYTES {
            return Err(Error::InvalidInput(format!(
                "a batch of {bytes} bytes exceeds the {MAX_BATCH_BYTES}-byte limit"
            )));
        }
        let unflushed = self.inner.state.read().unflushed_bytes;
        if unflushed > self.inner.config.max_unflushed_bytes {
            metrics::counter!("cairn_log_overloaded_total").increment(1);
            return Err(Error::Overloaded(format!(
                "{unflushed} bytes wait to be flushed to segments (limit {}); {}",
                self.inner.config.max_unflushed_bytes,
                self.inner
                    .last_flush_error
                    .lock()
                    .clone()
                    .unwrap_or_else(|| "flushing is behind".into())
            )));
        }
        Ok(())
    }

    fn submit(&self, records: Vec<EventRecord>) -> Result<oneshot::Receiver<Result<AppendReceipt>>> {
        self.check_batch(&records)?;
        let (reply, rx) = oneshot::channel();
        let guard = self.inner.writer.lock();
        let writer = guard
            .as_ref()
            .ok_or_else(|| Error::Unavailable("the event log is closed".into()))?;
        writer.submit(AppendRequest { records, reply })?;
        Ok(rx)
    }

    /// Appends a batch atomically. Returns once the batch is durable; the records are then
    /// visible to scans and consumers.
    pub async fn append(&self, records: Vec<EventRecord>) -> Result<AppendReceipt> {
        let n = records.len();
        let rx = self.submit(records)?;
        let receipt = rx
            .await
            .map_err(|_| Error::Unavailable("the WAL writer stopped".into()))??;
        metrics::counter!("cairn_log_appended_events_total").increment(n as u64);
        Ok(receipt)
    }

    /// Sequences a batch for the next group commit and returns without waiting for it (within
    /// a tokio runtime). For records nobody is told are durable, such as the audit record of a
    /// read-only call, whose answer need not wait for a disk flush. A failed commit is logged.
    pub fn append_detached(&self, records: Vec<EventRecord>) -> Result<()> {
        let n = records.len();
        let rx = self.submit(records)?;
        tokio::spawn(async move {
            match rx.await {
                Ok(Ok(_)) => metrics::counter!("cairn_log_appended_events_total").increment(n as u64),
                Ok(Err(e)) => tracing::error!(error = %e, events = n, "a detached append failed"),
                Err(_) => tracing::error!(events = n, "a detached append was dropped: the WAL writer stopped"),
            }
        });
        Ok(())
    }

    /// [`EventLog::append`] for threads outside the async runtime.
    pub fn append_blocking(&self, records: Vec<EventRecord>) -> Result<AppendReceipt> {
        let n = records.len();
        let rx = self.submit(records)?;
        let receipt = rx
            .blocking_recv()
            .map_err(|_| Error::Unavailable("the WAL writer stopped".into()))??;
        metrics::counter!("cairn_log_appended_events_total").increment(n as u64);
        Ok(receipt)
    }

    /// Highest sequence number that is durable.
    pub fn durable_seq(&self) -> Seq {
        *self.inner.durable.borrow()
    }

    /// Watches the durable sequence number (consumers wait on it for new events).
    pub fn subscribe(&self) -> watch::Receiver<Seq> {
        self.inner.durable.subscribe()
    }

    pub(crate) fn snapshot(&self) -> scan::Snapshot {
        let st = self.inner.state.read();
        let mut chunks = Vec::new();
        for m in &st.frozen {
            chunks.extend(m.chunks().iter().cloned());
        }
        chunks.extend(st.active.chunks().iter().cloned());
        scan::Snapshot {
            mem: MemSnapshot { chunks },
            segments: st.segments.clone(),
            cache: self.inner.scan_cache.clone(),
        }
    }

    /// One page of a newest-first lookup.
    pub async fn scan(&self, req: &ScanRequest) -> Result<ScanPage> {
        let started = std::time::Instant::now();
        let snap = self.snapshot();
        let page = scan::run(&snap, req).await;
        metrics::histogram!("cairn_log_scan_seconds").record(started.elapsed().as_secs_f64());
        if let Err(e) = &page
            && e.kind() == ErrorKind::Corruption
        {
            self.note_corruption(e.to_string());
        }
        page
    }

    pub(crate) fn note_corruption(&self, msg: String) {
        let mut c = self.inner.corruption.lock();
        if !c.contains(&msg) {
            tracing::error!("{msg}");
            c.push(msg);
        }
    }

    /// Up to `max` events with sequence numbers above `after`, in sequence order: the feed of
    /// consumers. Recent events come from memory, older ones from the WAL, and events the WAL no
    /// longer holds from segments.
    pub async fn read_after(&self, after: Seq, max: usize) -> Result<Vec<StoredEvent>> {
        let snap = self.snapshot();
        let durable = self.durable_seq();
        let mut out: Vec<StoredEvent> = Vec::new();
        let mut cursor = after;
        let mem_first = snap.mem.first_seq();
        let wal_first = self.inner.wal_files.read().first().map(|f| f.first_seq);

        if mem_first.is_none_or(|m| cursor + 1 < m) {
            // Not in memory: segments first (for what the WAL lost), then the WAL.
            let wal_from = wal_first.unwrap_or(Seq::MAX);
            if cursor + 1 < wal_from {
                let through = wal_from.saturating_sub(1).min(mem_first.map_or(durable, |m| m - 1));
                for e in maintenance::read_segments_by_seq(&snap.segments, cursor, through, max).await? {
                    cursor = e.seq;
                    out.push(e);
                }
            }
            if out.len() < max && wal_first.is_some() {
                let through = mem_first.map_or(durable, |m| m - 1);
                let files = self.inner.wal_files.read().clone();
                let need = max - out.len();
                let from = cursor;
                let dir = self.inner.wal_dir.clone();
                let read = tokio::task::spawn_blocking(move || wal::read_frames_after(&files, from, through, need))
                    .await
                    .map_err(|e| Error::Unavailable(format!("WAL read task failed: {e}")))??;
                for (seq, _, bytes) in read {
                    let record = std::str::from_utf8(&bytes)
                        .map_err(|e| e.to_string())
                        .and_then(|s| EventRecord::from_compact_json(s).map_err(|e| e.to_string()))
                        .map_err(|e| {
                            Error::corrupt(dir.display(), format!("record {seq} in the WAL is unreadable: {e}"))
                        })?;
                    cursor = seq;
                    out.push(StoredEvent { seq, record });
                }
            }
        }
        if out.len() < max && mem_first.is_some() {
            for e in snap.mem.after(cursor, max - out.len()) {
                if e.seq > durable {
                    break;
                }
                out.push(StoredEvent {
                    seq: e.seq,
                    record: e.record,
                });
            }
        }
        Ok(out)
    }

    /// Creates the named cursor (at `start`) unless it exists, and returns its position.
    pub async fn open_cursor(&self, name: &str, start: CursorStart) -> Result<Seq> {
        validate_cursor_name(name)?;
        let seq = match start {
            CursorStart::Latest => self.durable_seq(),
            CursorStart::Earliest => 0,
            CursorStart::After(s) => s,
        };
        let seq = self.inner.catalog.ensure_cursor(name, seq).await?;
        self.inner.cursors.lock().insert(name.to_string(), seq);
        Ok(seq)
    }

    /// Records durably that the consumer `name` has finished every event up to `seq`.
    pub async fn commit_cursor(&self, name: &str, seq: Seq) -> Result<()> {
        validate_cursor_name(name)?;
        if seq > self.durable_seq() {
            return Err(Error::InvalidInput(format!(
                "cursor {name} cannot pass the durable sequence number"
            )));
        }
        self.inner.catalog.set_cursor(name, seq).await?;
        self.inner.cursors.lock().insert(name.to_string(), seq);
        maintenance::truncate_wal(&self.inner)?;
        Ok(())
    }

    pub fn cursor(&self, name: &str) -> Option<Seq> {
        self.inner.cursors.lock().get(name).copied()
    }

    pub fn cursors(&self) -> Vec<(String, Seq)> {
        self.inner.cursors.lock().iter().map(|(k, v)| (k.clone(), *v)).collect()
    }

    /// Removes a consumer's cursor, so it no longer holds WAL files back.
    pub async fn delete_cursor(&self, name: &str) -> Result<bool> {
        let existed = self.inner.catalog.delete_cursor(name).await?;
        self.inner.cursors.lock().remove(name);
        maintenance::truncate_wal(&self.inner)?;
        Ok(existed)
    }

    /// Writes every unflushed event to segments now.
    pub async fn flush(&self) -> Result<()> {
        flush::flush(&self.inner, true).await
    }

    /// Runs retention and compaction now (they also run periodically).
    pub async fn run_maintenance(&self) -> Result<MaintenanceReport> {
        maintenance::run_once(&self.inner).await
    }

    /// Reads every WAL file and every segment completely and checks them; returns one message
    /// per problem (an empty list means everything verified).
    pub async fn verify(&self) -> Result<Vec<String>> {
        maintenance::verify_all(&self.inner).await
    }

    pub fn status(&self) -> LogStatus {
        let st = self.inner.state.read();
        let mem_events = st.active.len() + st.frozen.iter().map(|m| m.len()).sum::<usize>();
        LogStatus {
            durable_seq: self.durable_seq(),
            flushed_seq: st.flushed_seq,
            memtable_events: mem_events,
            unflushed_bytes: st.unflushed_bytes,
            segments: st.segments.len(),
            segment_bytes: st.segments.all().map(|s| s.meta.size_bytes).sum(),
            segment_raw_bytes: st.segments.all().map(|s| s.meta.raw_bytes).sum(),
            wal_files: self.inner.wal_files.read().len(),
            wal_commits: self.inner.wal_commits.load(std::sync::atomic::Ordering::Relaxed),
            corruption: self.inner.corruption.lock().clone(),
            last_flush_error: self.inner.last_flush_error.lock().clone(),
        }
    }

    /// The catalog, for other parts of Cairn that keep small documents (trails, keys) beside the
    /// log's own metadata.
    pub fn catalog(&self) -> &Arc<dyn Catalog> {
        &self.inner.catalog
    }

    pub fn data_dir(&self) -> &Path {
        &self.inner.data_dir
    }

    /// Stops appends, lets queued appends finish, flushes the memtable and stops background work.
    pub async fn close(&self) -> Result<()> {
        let writer = self.inner.writer.lock().take();
        if let Some(mut w) = writer {
            tokio::task::spawn_blocking(move || w.shutdown())
                .await
                .map_err(|e| Error::Unavailable(format!("WAL writer shutdown failed: {e}")))?;
        }
        let flushed = flush::flush(&self.inner, true).await;
        let tasks: Vec<_> = self.inner.tasks.lock().drain(..).collect();
        for t in &tasks {
            t.abort();
        }
        // Until they have ended, background tasks may still hold files of the data directory.
        for t in tasks {
            let _ = t.await;
        }
        flushed
    }
}

/// Parses WAL records into memtable entries on every core, keeping their order. The records
/// passed their checksums and were compacted when first appended, so they are not minified again.
fn parse_parallel(dir: &Path, records: &[(Seq, i64, &[u8])]) -> Result<Vec<Vec<MemEntry>>> {
    let parse = |chunk: &[(Seq, i64, &[u8])]| -> Result<Vec<MemEntry>> {
        chunk
            .iter()
            .map(|&(seq, ingest_ms, bytes)| {
                let record = std::str::from_utf8(bytes)
                    .map_err(|e| e.to_string())
                    .and_then(|s| EventRecord::from_compact_json(s).map_err(|e| e.to_string()))
                    .map_err(|e| {
                        Error::corrupt(dir.display(), format!("record {seq} in the WAL is unreadable: {e}"))
                    })?;
                Ok(MemEntry { seq, record, ingest_ms })
            })
            .collect()
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = records.len().div_ceil(threads).max(4096);
    std::thread::scope(|s| {
        let handles: Vec<_> = records.chunks(chunk).map(|c| s.spawn(move || parse(c))).collect();
        handles
            .into_iter()
            .map(|h| h.join().map_err(|_| Error::Unavailable("WAL replay panicked".into()))?)
            .collect()
    })
}

fn validate_cursor_name(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > 256 || name.chars().any(|c| c.is_control()) {
        return Err(Error::InvalidInput(format!("invalid cursor name {name:?}")));
    }
    Ok(())
}
