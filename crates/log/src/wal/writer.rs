//! The WAL writer: one thread that owns the active file and commits groups of batches with a
//! single fsync each (group commit). Appenders wait on a oneshot for their receipt.

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use cairn_model::EventRecord;
use parking_lot::RwLock;
use tokio::sync::{mpsc, oneshot};

use super::frame::encode_frame;
use super::recovery::create_file;
use super::{INDEX_STRIDE, WalFile, sync_dir};
use crate::error::{Error, Result};
use crate::{AppendReceipt, Seq};

pub struct AppendRequest {
    pub records: Vec<EventRecord>,
    pub reply: oneshot::Sender<Result<AppendReceipt>>,
}

/// A batch that is durable, with the sequence number of its first record.
#[derive(Debug, Clone)]
pub struct CommittedBatch {
    pub first_seq: Seq,
    pub ingest_ms: i64,
    pub records: Vec<EventRecord>,
}

pub type CommitSink = Box<dyn FnMut(Vec<CommittedBatch>) + Send>;

pub struct WalWriter {
    tx: Option<mpsc::UnboundedSender<AppendRequest>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

struct Active {
    dir: PathBuf,
    file: File,
    path: PathBuf,
    len: u64,
    next_seq: Seq,
    files: Arc<RwLock<Vec<WalFile>>>,
    file_bytes: u64,
    /// Set after a failure the writer could not undo; every later append is refused.
    poisoned: Option<String>,
    commits: Arc<AtomicU64>,
}

impl WalWriter {
    /// Starts the writer. `files` are the recovered WAL files (shared with readers and the
    /// truncator); appends continue at `next_seq`. `sink` sees every committed group, in order,
    /// before any of its appenders is acknowledged.
    pub fn start(
        dir: &Path,
        files: Arc<RwLock<Vec<WalFile>>>,
        next_seq: Seq,
        file_bytes: u64,
        group_bytes: usize,
        commits: Arc<AtomicU64>,
        sink: CommitSink,
    ) -> Result<Self> {
        let mut active = open_active(dir, &files, next_seq, file_bytes)?;
        active.commits = commits;
        let (tx, rx) = mpsc::unbounded_channel();
        let thread = std::thread::Builder::new()
            .name("cairn-wal".into())
            .spawn(move || run(active, rx, group_bytes, sink))
            .map_err(|e| Error::io("starting WAL writer thread", dir, e))?;
        Ok(WalWriter {
            tx: Some(tx),
            thread: Some(thread),
        })
    }

    pub fn submit(&self, req: AppendRequest) -> Result<()> {
        let tx = self
            .tx
            .as_ref()
            .ok_or_else(|| Error::Unavailable("the event log is closed".into()))?;
        tx.send(req)
            .map_err(|_| Error::Unavailable("the WAL writer has stopped".into()))
    }

    /// Stops accepting appends, lets queued ones commit and waits for the thread.
    pub fn shutdown(&mut self) {
        self.tx.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for WalWriter {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn open_active(dir: &Path, files: &Arc<RwLock<Vec<WalFile>>>, next_seq: Seq, file_bytes: u64) -> Result<Active> {
    let mut list = files.write();
    // Continue in the last file if it is consistent with next_seq; otherwise start a fresh one.
    let reuse = list
        .last()
        .is_some_and(|f| !f.index.is_empty() || f.first_seq == next_seq);
    if !reuse && let Some(last) = list.last() {
        if last.index.is_empty() {
            // An empty file whose name no longer matches where numbering continues.
            std::fs::remove_file(&last.path).map_err(|e| Error::io("removing empty WAL file", &last.path, e))?;
            sync_dir(dir)?;
            list.pop();
        } else if let Some(last) = list.last_mut() {
            last.last_seq = Some(next_seq - 1);
        }
    }
    let (mut file, path) = if reuse {
        let path = list.last().unwrap().path.clone();
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(|e| Error::io("opening WAL file for append", &path, e))?;
        f.seek(SeekFrom::End(0))
            .map_err(|e| Error::io("opening WAL file for append", &path, e))?;
        (f, path)
    } else {
        let (f, path) = create_file(dir, next_seq)?;
        list.push(WalFile {
            path: path.clone(),
            first_seq: next_seq,
            last_seq: None,
            end: None,
            index: Vec::new(),
        });
        (f, path)
    };
    // Where appends continue: the end of the recovered file, or just after a new header (a
    // recycled spare is longer than that; its old bytes are overwritten as frames arrive).
    let len = file
        .stream_position()
        .map_err(|e| Error::io("reading WAL file position", &path, e))?;
    drop(list);
    Ok(Active {
        dir: dir.to_path_buf(),
        file,
        path,
        len,
        next_seq,
        files: files.clone(),
        file_bytes,
        poisoned: None,
        commits: Arc::default(),
    })
}

fn run(mut active: Active, mut rx: mpsc::UnboundedReceiver<AppendRequest>, group_bytes: usize, mut sink: CommitSink) {
    let mut buf = Vec::with_capacity(group_bytes + (1 << 20));
    while let Some(first) = rx.blocking_recv() {
        let mut group = vec![first];
        let mut bytes: usize = group[0].records.iter().map(|r| r.json().len() + 4).sum();
        while bytes < group_bytes {
            match rx.try_recv() {
                Ok(req) => {
                    bytes += req.records.iter().map(|r| r.json().len() + 4).sum::<usize>();
                    group.push(req);
                }
                Err(_) => break,
            }
        }
        if let Some(reason) = &active.poisoned {
            for req in group {
                let _ = req.reply.send(Err(Error::Unavailable(reason.clone())));
            }
            continue;
        }

        buf.clear();
        let mut seq = active.next_seq;
        let ingest_ms = cairn_model::EventTime::now().millis();
        let mut frame_starts = Vec::with_capacity(group.len());
        for req in &group {
            frame_starts.push((seq, active.len + buf.len() as u64));
            encode_frame(
                &mut buf,
                seq,
                ingest_ms,
                req.records.iter().map(|r| r.json().as_bytes()),
            );
            seq += req.records.len() as u64;
        }

        let started = Instant::now();
        match active.commit(&buf) {
            Ok(()) => {
                active.commits.fetch_add(1, Ordering::Relaxed);
                metrics::counter!("cairn_wal_fsyncs_total").increment(1);
                metrics::counter!("cairn_wal_bytes_total").increment(buf.len() as u64);
                metrics::histogram!("cairn_wal_commit_seconds").record(started.elapsed().as_secs_f64());
                metrics::histogram!("cairn_wal_group_batches").record(group.len() as f64);
                active.note_frames(&frame_starts);
                active.next_seq = seq;

                let mut batches = Vec::with_capacity(group.len());
                let mut replies = Vec::with_capacity(group.len());
                for (req, &(first_seq, _)) in group.into_iter().zip(&frame_starts) {
                    let last_seq = first_seq + req.records.len() as u64 - 1;
                    replies.push((req.reply, AppendReceipt { first_seq, last_seq }));
                    batches.push(CommittedBatch {
                        first_seq,
                        ingest_ms,
                        records: req.records,
                    });
                }
                sink(batches);
                for (reply, receipt) in replies {
                    let _ = reply.send(Ok(receipt));
                }
                if active.len >= active.file_bytes
                    && let Err(e) = active.rotate()
                {
                    // The sealed file is intact; the next append retries the rotation.
                    tracing::error!(error = %e, "could not start a new WAL file");
                }
            }
            Err(e) => {
                metrics::counter!("cairn_wal_commit_failures_total").increment(1);
                tracing::error!(error = %e, "WAL commit failed; the batch was not acknowledged");
                let msg = e.to_string();
                let mut first_err = Some(e);
                for req in group {
                    let err = first_err.take().unwrap_or_else(|| Error::Unavailable(msg.clone()));
                    let _ = req.reply.send(Err(err));
                }
            }
        }
    }
}

impl Active {
    /// Writes and fsyncs `buf`. On failure the file is cut back to its last committed length, so
    /// nothing unacknowledged survives a later restart.
    fn commit(&mut self, buf: &[u8]) -> Result<()> {
        let res = self.file.write_all(buf).and_then(|_| self.file.sync_data());
        match res {
            Ok(()) => {
                self.len += buf.len() as u64;
                Ok(())
            }
            Err(e) => {
                let err = Error::io("appending to WAL file", &self.path, e);
                // Cut back and make sure what remains is on disk. If even that fails, the file's
                // state is unknown: refuse further appends until the log is reopened (and
                // recovered from what is really on disk).
                let undo = self
                    .file
                    .set_len(self.len)
                    .and_then(|_| self.file.seek(SeekFrom::Start(self.len)))
                    .and_then(|_| self.file.sync_all());
                if let Err(undo_err) = undo {
                    self.poisoned = Some(format!(
                        "the WAL writer stopped after a failed write to {} that it could not undo ({undo_err}); reopen the log",
                        self.path.display()
                    ));
                }
                Err(err)
            }
        }
    }

    fn note_frames(&mut self, frame_starts: &[(Seq, u64)]) {
        let mut files = self.files.write();
        if let Some(f) = files.last_mut() {
            for &(seq, off) in frame_starts {
                if f.index.last().is_none_or(|&(_, last)| off >= last + INDEX_STRIDE) {
                    f.index.push((seq, off));
                }
            }
        }
    }

    fn rotate(&mut self) -> Result<()> {
        let (file, path) = create_file(&self.dir, self.next_seq)?;
        let mut files = self.files.write();
        if let Some(f) = files.last_mut() {
            f.last_seq = Some(self.next_seq - 1);
            f.end = Some(self.len);
        }
        files.push(WalFile {
            path: path.clone(),
            first_seq: self.next_seq,
            last_seq: None,
            end: None,
            index: Vec::new(),
        });
        self.file = file;
        self.path = path;
        self.len = super::FILE_HEADER_LEN as u64;
        Ok(())
    }
}
