//! The write-ahead log: a directory of append-only files of checksummed frames.
//!
//! Every acknowledged batch is in a frame that was fsynced before the acknowledgement. Files are
//! named by the first sequence number they hold, sealed past a size, and deleted only when every
//! event in them is both in a segment and behind every consumer cursor.

mod frame;
mod reader;
mod recovery;
mod writer;

pub use frame::{FILE_HEADER_LEN, MAX_FRAME_LEN};
pub use reader::read_frames_after;
pub use recovery::{Recovered, recover};
pub use writer::{AppendRequest, CommittedBatch, WalWriter};

use std::path::{Path, PathBuf};

use crate::Seq;
use crate::error::{Error, Result};

/// A file of the WAL and the sequence numbers it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalFile {
    pub path: PathBuf,
    pub first_seq: Seq,
    /// Last sequence number in the file; None while it is the active file.
    pub last_seq: Option<Seq>,
    /// Where the file's frames end, once it is sealed. Beyond it may lie the remains of the file's
    /// previous life as a recycled spare.
    pub end: Option<u64>,
    /// Sparse index: (first sequence number of a frame, its byte offset), about one entry per
    /// [`INDEX_STRIDE`] bytes, so readers need not scan a file from its start.
    pub index: Vec<(Seq, u64)>,
}

/// Distance in bytes between entries of a WAL file's sparse index.
pub const INDEX_STRIDE: u64 = 1 << 20;

pub fn file_name(first_seq: Seq) -> String {
    format!("{first_seq:020}.wal")
}

/// WAL files in `dir`, oldest first.
pub fn list_files(dir: &Path) -> Result<Vec<(Seq, PathBuf)>> {
    let mut files = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io("listing WAL directory", dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("listing WAL directory", dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(stem) = name.strip_suffix(".wal") else {
            continue;
        };
        if let Ok(seq) = stem.parse::<Seq>() {
            files.push((seq, entry.path()));
        }
    }
    files.sort();
    Ok(files)
}

/// Makes a directory entry change (create, rename, delete) durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io("syncing directory", dir, e))
}

/// Suffix of old WAL files kept for reuse. Writing over blocks a file already owns is cheaper
/// than allocating new ones, and freeing blocks can stall fsync for a long time (notably on file
/// systems mounted with online discard), so sealed files are recycled rather than deleted.
pub(crate) const SPARE_SUFFIX: &str = "wal-spare";
/// Suffix of old WAL files beyond the spares, being deleted.
const RETIRED_SUFFIX: &str = "wal-retired";
/// Old WAL files kept for reuse.
const MAX_SPARES: usize = 2;

fn files_with_suffix(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some(suffix))
        .collect();
    v.sort();
    v
}

/// Takes files out of the WAL by renaming them (durably): up to [`MAX_SPARES`] become spares for
/// reuse, the rest are returned for [`release_files`].
pub fn retire_files(dir: &Path, files: &[WalFile]) -> Result<Vec<PathBuf>> {
    let mut spares = files_with_suffix(dir, SPARE_SUFFIX).len();
    let mut doomed = Vec::new();
    for f in files {
        let to = if spares < MAX_SPARES {
            spares += 1;
            f.path.with_extension(SPARE_SUFFIX)
        } else {
            let p = f.path.with_extension(RETIRED_SUFFIX);
            doomed.push(p.clone());
            p
        };
        std::fs::rename(&f.path, &to).map_err(|e| Error::io("retiring WAL file", &f.path, e))?;
    }
    sync_dir(dir)?;
    Ok(doomed)
}

/// A spare file to reuse, if there is one.
pub(crate) fn take_spare(dir: &Path) -> Option<PathBuf> {
    files_with_suffix(dir, SPARE_SUFFIX).into_iter().next()
}

/// Deletes files gently: shrinks each a little at a time so the file system frees (and discards)
/// its blocks in small pieces that concurrent fsyncs can pass between. Failures are only logged;
/// leftovers are removed at the next open.
pub fn release_files(paths: Vec<PathBuf>) {
    for p in paths {
        match delete_gently(&p) {
            Ok(()) => tracing::debug!(file = %p.display(), "file deleted"),
            Err(e) => tracing::warn!(file = %p.display(), error = %e, "could not delete a retired file"),
        }
    }
}

/// Shrinks a file by small steps with pauses, then unlinks it.
pub fn delete_gently(path: &Path) -> std::io::Result<()> {
    const STEP: u64 = 1 << 20;
    let f = std::fs::OpenOptions::new().write(true).open(path)?;
    let mut len = f.metadata()?.len();
    while len > STEP {
        len -= STEP;
        f.set_len(len)?;
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    drop(f);
    std::fs::remove_file(path)
}

/// Deletes, in the background, retired files that a crash left behind.
pub fn remove_retired(dir: &Path) {
    let leftovers = files_with_suffix(dir, RETIRED_SUFFIX);
    if !leftovers.is_empty() {
        std::thread::spawn(move || release_files(leftovers));
    }
}
