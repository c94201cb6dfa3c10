//! Reading committed frames back from WAL files, for consumers that are behind the memtable.

use std::io::{BufReader, Read, Seek, SeekFrom};

use super::WalFile;
use super::frame::{FRAME_HEADER_LEN, FrameError, MAX_FRAME_LEN, decode_frame};
use crate::Seq;
use crate::error::{Error, Result};

/// Records (seq, ingest time, JSON) with sequence numbers in `(after, through]`, at most `max`
/// of them, in order.
/// `files` must be the current WAL files, oldest first.
pub fn read_frames_after(files: &[WalFile], after: Seq, through: Seq, max: usize) -> Result<Vec<(Seq, i64, Vec<u8>)>> {
    let mut out = Vec::new();
    let want = after + 1;
    let Some(start) = files.iter().rposition(|f| f.first_seq <= want) else {
        return Ok(out);
    };
    for file in &files[start..] {
        if out.len() >= max || file.first_seq > through {
            break;
        }
        let offset = file
            .index
            .iter()
            .take_while(|(seq, _)| *seq <= want)
            .last()
            .map(|&(_, off)| off)
            .unwrap_or(super::FILE_HEADER_LEN as u64);
        let f = std::fs::File::open(&file.path).map_err(|e| Error::io("opening WAL file", &file.path, e))?;
        let mut r = BufReader::with_capacity(1 << 20, f);
        r.seek(SeekFrom::Start(offset))
            .map_err(|e| Error::io("reading WAL file", &file.path, e))?;
        let mut pos = offset;
        let mut buf = vec![0; FRAME_HEADER_LEN];
        // A sealed file is read up to the end of its frames; the active one up to `through`.
        let end = if file.last_seq.is_some() {
            file.end.unwrap_or(u64::MAX)
        } else {
            u64::MAX
        };
        loop {
            if pos >= end {
                break;
            }
            buf.resize(FRAME_HEADER_LEN, 0);
            match r.read_exact(&mut buf) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
                Err(e) => return Err(Error::io("reading WAL file", &file.path, e)),
            }
            let len = u32::from_le_bytes(buf[4..8].try_into().unwrap()) as usize;
            if len > MAX_FRAME_LEN {
                return Err(Error::corrupt(
                    format!("{} at offset {pos}", file.path.display()),
                    "impossible frame length",
                ));
            }
            buf.resize(FRAME_HEADER_LEN + len, 0);
            match r.read_exact(&mut buf[FRAME_HEADER_LEN..]) {
                Ok(()) => {}
                // The writer is mid-append (or this is the cut of an uncommitted write).
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
                Err(e) => return Err(Error::io("reading WAL file", &file.path, e)),
            }
            let frame = match decode_frame(&buf) {
                Ok(f) => f,
                Err(FrameError::Truncated) => break,
                Err(FrameError::Damaged(d)) => {
                    return Err(Error::corrupt(format!("{} at offset {pos}", file.path.display()), d));
                }
            };
            if frame.first_seq > through {
                return Ok(out);
            }
            if frame.first_seq < file.first_seq {
                // Left over from the file's previous life as a recycled spare: the end.
                break;
            }
            for (k, rec) in frame.records.iter().enumerate() {
                let seq = frame.first_seq + k as u64;
                if seq > after && seq <= through && out.len() < max {
                    out.push((seq, frame.ingest_ms, rec.to_vec()));
                }
            }
            pos += frame.encoded_len as u64;
            if out.len() >= max || frame.last_seq() >= through {
                return Ok(out);
            }
        }
    }
    Ok(out)
}
