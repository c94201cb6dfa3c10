//! Replay of the WAL on open: every intact frame is read back, a torn tail is cut, and damage in
//! the middle of a file is reported (naming the file and offset) and stepped over.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::frame::{FILE_HEADER_LEN, FrameError, decode_file_header, decode_frame, find_next_frame};
use super::{WalFile, list_files, sync_dir};
use crate::Seq;
use crate::error::{Error, Result};

/// What recovery found.
#[derive(Debug, Default)]
pub struct Recovered {
    /// Files kept, oldest first; the last one (if any) is where appends continue.
    pub files: Vec<WalFile>,
    /// Highest sequence number found in an intact frame (0 when the WAL is empty).
    pub last_seq: Seq,
    /// Damage that could not be explained as a torn tail, one message per finding.
    pub corruption: Vec<String>,
    /// Bytes cut from the end of the last file (an append interrupted by a crash).
    pub torn_tail_bytes: u64,
}

/// Replays the WAL in `dir`: for each file, calls `on_records` once with every intact record
/// `(seq, ingest_ms, json)` whose sequence number is above `skip_through`, in order.
pub fn recover(
    dir: &Path,
    skip_through: Seq,
    mut on_records: impl FnMut(&[(Seq, i64, &[u8])]) -> Result<()>,
) -> Result<Recovered> {
    let mut out = Recovered::default();
    super::remove_retired(dir);
    let files = list_files(dir)?;
    let count = files.len();
    // Where the previous file's frames ended, to notice frames lost between files.
    let mut next_expected_after_prev: Seq = 0;
    for (i, (named_seq, path)) in files.into_iter().enumerate() {
        let is_last = i + 1 == count;
        let data = std::fs::read(&path).map_err(|e| Error::io("reading WAL file", &path, e))?;
        let header_seq = match decode_file_header(&data) {
            Ok(seq) if seq == named_seq => seq,
            Ok(seq) if is_last && seq < named_seq => {
                // A spare renamed before its new header was written (how earlier versions
                // recycled files, crash in between): nothing was ever appended to it.
                tracing::warn!(file = %path.display(), "returning a WAL file whose recycling was interrupted to the spares");
                let spare = path.with_extension(super::SPARE_SUFFIX);
                std::fs::rename(&path, &spare).map_err(|e| Error::io("renaming WAL file", &path, e))?;
                sync_dir(dir)?;
                continue;
            }
            Ok(seq) => {
                out.corruption.push(format!(
                    "{}: header names sequence {seq}, file name says {named_seq}",
                    path.display()
                ));
                continue;
            }
            Err(reason) => {
                if is_last && data.len() <= FILE_HEADER_LEN {
                    // A crash while the file was being created, before anything was appended to it.
                    tracing::warn!(file = %path.display(), "removing WAL file whose creation was interrupted");
                    std::fs::remove_file(&path).map_err(|e| Error::io("removing WAL file", &path, e))?;
                    sync_dir(dir)?;
                    continue;
                }
                out.corruption
                    .push(format!("{}: {reason}; file skipped", path.display()));
                continue;
            }
        };

        let mut pos = FILE_HEADER_LEN;
        let mut expected = header_seq;
        let mut index: Vec<(Seq, u64)> = Vec::new();
        let mut pending: Vec<(Seq, i64, &[u8])> = Vec::new();
        while pos < data.len() {
            match decode_frame(&data[pos..]) {
                Ok(frame) if frame.first_seq < header_seq => {
                    // Frames of this file's previous life (it was a recycled spare): the live
                    // data ends here.
                    if is_last {
                        truncate(&path, pos as u64)?;
                    }
                    break;
                }
                Ok(frame) => {
                    if frame.first_seq < expected {
                        out.corruption.push(format!(
                            "{} at offset {pos}: frame starts at sequence {} but {expected} was expected; frame skipped",
                            path.display(),
                            frame.first_seq
                        ));
                    } else {
                        if frame.first_seq > expected {
                            tracing::error!(file = %path.display(), offset = pos, from = expected, to = frame.first_seq - 1,
                                "sequence numbers missing from the WAL");
                        }
                        for (k, rec) in frame.records.iter().enumerate() {
                            let seq = frame.first_seq + k as u64;
                            if seq > skip_through {
                                pending.push((seq, frame.ingest_ms, *rec));
                            }
                        }
                        if index
                            .last()
                            .is_none_or(|&(_, off)| pos as u64 >= off + super::INDEX_STRIDE)
                        {
                            index.push((frame.first_seq, pos as u64));
                        }
                        expected = frame.last_seq() + 1;
                        out.last_seq = out.last_seq.max(frame.last_seq());
                    }
                    pos += frame.encoded_len;
                }
                Err(err) => {
                    let next = match err {
                        FrameError::Truncated => None,
                        // A valid frame from the file's previous life is not live data.
                        FrameError::Damaged(_) => find_next_frame(&data, pos + 1)
                            .filter(|&n| decode_frame(&data[n..]).is_ok_and(|f| f.first_seq >= header_seq)),
                    };
                    match next {
                        Some(next) => {
                            let detail = match &err {
                                FrameError::Damaged(d) => d.clone(),
                                FrameError::Truncated => "truncated frame".into(),
                            };
                            out.corruption.push(format!(
                                "{} at offset {pos}: {detail}; {} bytes skipped",
                                path.display(),
                                next - pos
                            ));
                            pos = next;
                        }
                        None if is_last => {
                            let cut = (data.len() - pos) as u64;
                            tracing::warn!(file = %path.display(), offset = pos, bytes = cut,
                                "cutting a torn WAL tail (an append that a crash interrupted)");
                            truncate(&path, pos as u64)?;
                            out.torn_tail_bytes = cut;
                            break;
                        }
                        None => {
                            // A sealed file ends here. What follows is either what is left of the
                            // file's previous life as a recycled spare, or damage to its last
                            // frames; the second shows up as missing sequence numbers before the
                            // next file, which is checked below.
                            break;
                        }
                    }
                }
            }
        }
        on_records(&pending)?;
        drop(pending);
        // Sealed files hand over to the next file without a gap; a gap means lost frames.
        if next_expected_after_prev != 0 && next_expected_after_prev < header_seq {
            out.corruption.push(format!(
                "{}: sequence numbers {next_expected_after_prev}..={} are missing before this file",
                path.display(),
                header_seq - 1
            ));
        }
        next_expected_after_prev = expected;
        out.files.push(WalFile {
            path,
            first_seq: header_seq,
            last_seq: None,
            end: Some(pos as u64),
            index,
        });
    }
    // Sealed files end where the next one begins; only the last stays open-ended.
    for i in 0..out.files.len() {
        if i + 1 < out.files.len() {
            let next_first = out.files[i + 1].first_seq;
            out.files[i].last_seq = Some(next_first - 1);
        } else {
            out.files[i].last_seq = None;
        }
    }
    for c in &out.corruption {
        tracing::error!("WAL corruption: {c}");
    }
    Ok(out)
}

fn truncate(path: &PathBuf, len: u64) -> Result<()> {
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| Error::io("opening WAL file to cut its torn tail", path, e))?;
    f.set_len(len)
        .map_err(|e| Error::io("cutting torn WAL tail", path, e))?;
    f.sync_all().map_err(|e| Error::io("syncing WAL file", path, e))?;
    Ok(())
}

/// Starts a new WAL file holding only its header, durably: a spare file is reused when there is
/// one (its old frames stay behind the header until overwritten; readers and recovery stop at
/// them because their sequence numbers are below the header's). Returns the file positioned
/// after the header.
pub(crate) fn create_file(dir: &Path, first_seq: Seq) -> Result<(std::fs::File, PathBuf)> {
    let path = dir.join(super::file_name(first_seq));
    let header = super::frame::encode_file_header(first_seq);
    let f = match super::take_spare(dir) {
        // The spare gets its new header durably *before* it takes its new name, so a file named
        // for a sequence number always says so in its header, whenever a crash strikes.
        Some(spare) => {
            let f = std::fs::OpenOptions::new()
                .write(true)
                .open(&spare)
                .and_then(|mut f| f.write_all(&header).and_then(|_| f.sync_data()).map(|_| f))
                .map_err(|e| Error::io("preparing spare WAL file", &spare, e))?;
            std::fs::rename(&spare, &path).map_err(|e| Error::io("creating WAL file", &path, e))?;
            f
        }
        None => {
            let mut f = std::fs::OpenOptions::new()
                .create_new(true)
                .write(true)
                .open(&path)
                .map_err(|e| Error::io("creating WAL file", &path, e))?;
            if let Err(e) = f.write_all(&header).and_then(|_| f.sync_all()) {
                let _ = std::fs::remove_file(&path);
                return Err(Error::io("writing WAL file header", &path, e));
            }
            f
        }
    };
    sync_dir(dir)?;
    Ok((f, path))
}
