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
