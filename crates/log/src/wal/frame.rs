//! WAL byte format.
//!
//! A WAL file is a header followed by frames. A frame holds one appended batch, so a batch is
//! durable as a whole or not at all:
//!
//! ```text
//! file header (32 bytes): "CAIRNWAL" | version u32 | reserved u32 | first_seq u64 | crc32c u32 | 0u32
//! frame:                  FRAME_MAGIC u32 | len u32 | crc32c(len ++ payload) u32 | payload[len]
//! payload:                first_seq u64 | ingest_ms i64 | count u32 | count x (record_len u32 | record JSON)
//! ```
//!
//! All integers little-endian. The magic lets recovery find the next frame after a damaged one,
//! which tells mid-file corruption (valid frames follow) from a torn tail (nothing valid follows).

use crate::Seq;

pub const FILE_MAGIC: &[u8; 8] = b"CAIRNWAL";
pub const FILE_VERSION: u32 = 1;
pub const FILE_HEADER_LEN: usize = 32;
pub const FRAME_MAGIC: u32 = 0xC41F_F2A3;
pub const FRAME_HEADER_LEN: usize = 12;
const PAYLOAD_HEADER_LEN: usize = 20;
/// A frame larger than this is treated as damage, not as a frame.
pub const MAX_FRAME_LEN: usize = 256 << 20;

pub fn encode_file_header(first_seq: Seq) -> [u8; FILE_HEADER_LEN] {
    let mut h = [0u8; FILE_HEADER_LEN];
    h[0..8].copy_from_slice(FILE_MAGIC);
    h[8..12].copy_from_slice(&FILE_VERSION.to_le_bytes());
    h[16..24].copy_from_slice(&first_seq.to_le_bytes());
    let crc = crc32c::crc32c(&h[0..24]);
    h[24..28].copy_from_slice(&crc.to_le_bytes());
    h
}

/// The first sequence number named by a file header, or why the header is unusable.
pub fn decode_file_header(h: &[u8]) -> Result<Seq, String> {
    if h.len() < FILE_HEADER_LEN {
        return Err(format!("file header is {} bytes, expected {FILE_HEADER_LEN}", h.len()));
    }
    if &h[0..8] != FILE_MAGIC {
        return Err("not a Cairn WAL file (bad magic)".into());
    }
    let crc = u32::from_le_bytes(h[24..28].try_into().unwrap());
    if crc != crc32c::crc32c(&h[0..24]) {
        return Err("file header checksum mismatch".into());
    }
    let version = u32::from_le_bytes(h[8..12].try_into().unwrap());
    if version != FILE_VERSION {
        return Err(format!("unsupported WAL version {version}"));
    }
    Ok(u64::from_le_bytes(h[16..24].try_into().unwrap()))
}

/// Appends one frame holding `records` (numbered from `first_seq`) to `out`.
pub fn encode_frame<'a>(
    out: &mut Vec<u8>,
    first_seq: Seq,
    ingest_ms: i64,
    records: impl ExactSizeIterator<Item = &'a [u8]>,
) {
    let start = out.len();
    out.extend_from_slice(&FRAME_MAGIC.to_le_bytes());
    out.extend_from_slice(&[0u8; 8]); // len and crc, filled below
    out.extend_from_slice(&first_seq.to_le_bytes());
    out.extend_from_slice(&ingest_ms.to_le_bytes());
    out.extend_from_slice(&(records.len() as u32).to_le_bytes());
    for r in records {
        out.extend_from_slice(&(r.len() as u32).to_le_bytes());
        out.extend_from_slice(r);
    }
    let len = (out.len() - start - FRAME_HEADER_LEN) as u32;
    out[start + 4..start + 8].copy_from_slice(&len.to_le_bytes());
    let crc = crc32c::crc32c_append(crc32c::crc32c(&len.to_le_bytes()), &out[start + FRAME_HEADER_LEN..]);
    out[start + 8..start + 12].copy_from_slice(&crc.to_le_bytes());
}

/// A frame that passed its checksum.
#[derive(Debug)]
pub struct Frame<'a> {
    pub first_seq: Seq,
    /// When the batch was committed (ms since the epoch).
    pub ingest_ms: i64,
    pub records: Vec<&'a [u8]>,
    /// Bytes the frame occupies, header included.
    pub encoded_len: usize,
}

impl Frame<'_> {
    pub fn last_seq(&self) -> Seq {
        self.first_seq + self.records.len() as u64 - 1
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum FrameError {
    /// The buffer ends inside the frame.
    Truncated,
    /// Bad magic, impossible length, checksum mismatch or malformed payload.
    Damaged(String),
}

/// Decodes the frame at the start of `buf`.
pub fn decode_frame(buf: &[u8]) -> Result<Frame<'_>, FrameError> {
    if buf.len() < FRAME_HEADER_LEN {
        return Err(FrameError::Truncated);
    }
    let magic = u32::from_le_bytes(buf[0..4].try_into().unwrap());
    if magic != FRAME_MAGIC {
        return Err(FrameError::Damaged("bad frame magic".into()));
    }
    let len = u32::from_le_bytes(buf[4..8].try_into().unwrap()) as usize;
    if !(PAYLOAD_HEADER_LEN..=MAX_FRAME_LEN).contains(&len) {
        return Err(FrameError::Damaged(format!("impossible frame length {len}")));
    }
    if buf.len() < FRAME_HEADER_LEN + len {
        return Err(FrameError::Truncated);
    }
    let payload = &buf[FRAME_HEADER_LEN..FRAME_HEADER_LEN + len];
    let crc = u32::from_le_bytes(buf[8..12].try_into().unwrap());
    if crc != crc32c::crc32c_append(crc32c::crc32c(&(len as u32).to_le_bytes()), payload) {
        return Err(FrameError::Damaged("frame checksum mismatch".into()));
    }
    let first_seq = u64::from_le_bytes(payload[0..8].try_into().unwrap());
    let ingest_ms = i64::from_le_bytes(payload[8..16].try_into().unwrap());
    let count = u32::from_le_bytes(payload[16..20].try_into().unwrap()) as usize;
    let mut records = Vec::with_capacity(count.min(len / 4));
    let mut pos = PAYLOAD_HEADER_LEN;
    for _ in 0..count {
        let Some(len_bytes) = payload.get(pos..pos + 4) else {
            return Err(FrameError::Damaged("record length past end of frame".into()));
        };
        let rlen = u32::from_le_bytes(len_bytes.try_into().unwrap()) as usize;
        pos += 4;
        let Some(rec) = payload.get(pos..pos + rlen) else {
            return Err(FrameError::Damaged("record past end of frame".into()));
        };
        records.push(rec);
        pos += rlen;
    }
    if pos != len || count == 0 || first_seq == 0 {
        return Err(FrameError::Damaged("malformed frame payload".into()));
    }
    Ok(Frame {
        first_seq,
        ingest_ms,
        records,
        encoded_len: FRAME_HEADER_LEN + len,
    })
}

/// Offset of the next position at or after `from` where a valid frame starts, if any.
pub fn find_next_frame(buf: &[u8], from: usize) -> Option<usize> {
    let magic = FRAME_MAGIC.to_le_bytes();
    let mut i = from;
    while i + FRAME_HEADER_LEN <= buf.len() {
        let rel = buf[i..].windows(4).position(|w| w == magic)?;
        i += rel;
        if decode_frame(&buf[i..]).is_ok() {
            return Some(i);
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(first: Seq, recs: &[&str]) -> Vec<u8> {
        let mut out = Vec::new();
        encode_frame(&mut out, first, 5, recs.iter().map(|r| r.as_bytes()));
        out
    }

    #[test]
    fn round_trip() {
        let buf = frame(7, &["{\"a\":1}", "{}", ""]);
        let f = decode_frame(&buf).unwrap();
        assert_eq!((f.first_seq, f.ingest_ms), (7, 5));
        assert_eq!(f.last_seq(), 9);
        assert_eq!(f.records, vec![&b"{\"a\":1}"[..], b"{}", b""]);
        assert_eq!(f.encoded_len, buf.len());
        assert_eq!(decode_file_header(&encode_file_header(42)).unwrap(), 42);
    }

    #[test]
    fn every_flipped_bit_and_every_truncation_is_caught() {
        let buf = frame(1, &["{\"eventID\":\"x\"}", "{\"eventID\":\"y\"}"]);
        for i in 0..buf.len() {
            for bit in 0..8 {
                let mut b = buf.clone();
                b[i] ^= 1 << bit;
                assert!(decode_frame(&b).is_err(), "flip at byte {i} bit {bit} went unnoticed");
            }
            assert_eq!(
                decode_frame(&buf[..i]).unwrap_err(),
                FrameError::Truncated,
                "cut at {i}"
            );
        }
    }

    #[test]
    fn resync_skips_a_damaged_frame() {
        let mut buf = frame(1, &["{}"]);
        let second = buf.len();
        buf.extend(frame(2, &["{\"b\":2}"]));
        buf[FRAME_HEADER_LEN + 3] ^= 0xff;
        assert!(decode_frame(&buf).is_err());
        assert_eq!(find_next_frame(&buf, 1), Some(second));
        assert_eq!(find_next_frame(&buf[..buf.len() - 1], 1), None);
    }
}
