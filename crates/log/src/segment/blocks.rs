//! Record blocks: the record column of a format-2 segment.
//!
//! A lookup returns a few records from anywhere in a segment. With records in large zstd pages
//! (format 1) every record it returns costs a whole page of decompression; with small pages
//! compression suffers, because one record alone has little to compress against. So records are
//! compressed a few at a time ([`BLOCK_RECORDS`]), each block against a dictionary trained on the
//! segment's own records and stored in its footer: small blocks, and about the size of large pages.
//!
//! A block is `varint(raw length)` followed by one zstd frame of the records, each as
//! `varint(length)` and its bytes.

use std::io;
use std::sync::Arc;

use zstd::bulk::{Compressor, Decompressor};
use zstd::dict::{DecoderDictionary, EncoderDictionary};

/// Records per block: a sparse lookup decompresses about this many records per result. Measured
/// on synthetic records (`sizes` below; level 9, 256 KiB dictionary): 4 records 9.9 % of the JSON
/// and 4 us a block, 8 records 9.6 % and 8 us, 16 records 9.5 % and 15 us.
pub const BLOCK_RECORDS: usize = 8;
/// Largest dictionary trained for a segment (128 KiB: 10.1 % instead of 9.5 % at 16 records).
const DICTIONARY_BYTES: usize = 256 * 1024;
/// Below this much sample data a dictionary is not worth its footer space (or training fails).
const MIN_TRAINING_BYTES: usize = 256 * 1024;
/// Blocks are a few records: anything claiming more is corrupt, not an allocation to attempt.
const MAX_BLOCK_RAW_BYTES: usize = 256 << 20;

/// Trains a dictionary on about `training_bytes` of records spread evenly over `records` (training
/// takes about 0.1 s a MB); None when there is too little to learn from (such a segment's blocks
/// are compressed without one).
pub fn train_dictionary<'a>(
    records: impl ExactSizeIterator<Item = &'a [u8]> + Clone,
    training_bytes: usize,
) -> Option<Vec<u8>> {
    let total: usize = records.clone().map(<[u8]>::len).sum();
    if total < MIN_TRAINING_BYTES {
        return None;
    }
    // Every k-th record, so the samples cover the whole time range of the segment.
    let step = total.div_ceil(training_bytes.max(1)).max(1);
    let samples: Vec<&[u8]> = records.step_by(step).collect();
    let size = DICTIONARY_BYTES.min(total / 16);
    match zstd::dict::from_samples(&samples, size) {
        Ok(dict) => Some(dict),
        Err(e) => {
            // Not fatal: the blocks are compressed without a dictionary, only less well.
            tracing::debug!(error = %e, "record dictionary training failed");
            None
        }
    }
}

/// Compresses blocks of records against one segment's dictionary.
pub struct BlockWriter<'a> {
    compressor: Compressor<'a>,
    raw: Vec<u8>,
}

/// A segment's dictionary, prepared once for compression at `level`: a raw dictionary would be
/// digested again for every block.
pub fn prepare_compression(dictionary: &[u8], level: i32) -> EncoderDictionary<'static> {
    EncoderDictionary::copy(dictionary, level)
}

impl<'a> BlockWriter<'a> {
    /// `level` applies without a dictionary; a prepared dictionary carries its own.
    pub fn new(level: i32, dictionary: Option<&'a EncoderDictionary<'static>>) -> io::Result<Self> {
        let compressor = match dictionary {
            Some(d) => Compressor::with_prepared_dictionary(d)?,
            None => Compressor::new(level)?,
        };
        Ok(BlockWriter {
            compressor,
            raw: Vec::new(),
        })
    }

    /// One block holding `records`, in order.
    pub fn block<'r>(&mut self, records: impl Iterator<Item = &'r [u8]>) -> io::Result<Vec<u8>> {
        self.raw.clear();
        for r in records {
            put_varint(&mut self.raw, r.len() as u64);
            self.raw.extend_from_slice(r);
        }
        let frame = self.compressor.compress(&self.raw)?;
        let mut out = Vec::with_capacity(frame.len() + 5);
        put_varint(&mut out, self.raw.len() as u64);
        out.extend_from_slice(&frame);
        Ok(out)
    }
}

/// Decompresses blocks of one segment. Cheap to create: the dictionary is prepared once per
/// segment and shared.
pub struct BlockReader<'a> {
    decompressor: Decompressor<'a>,
}

/// A segment's dictionary, prepared for decompression.
pub type Dictionary = Arc<DecoderDictionary<'static>>;

pub fn prepare_dictionary(bytes: &[u8]) -> Dictionary {
    Arc::new(DecoderDictionary::copy(bytes))
}

impl<'a> BlockReader<'a> {
    pub fn new(dictionary: Option<&'a Dictionary>) -> io::Result<Self> {
        let decompressor = match dictionary {
            Some(d) => Decompressor::with_prepared_dictionary(d)?,
            None => Decompressor::new()?,
        };
        Ok(BlockReader { decompressor })
    }

    /// Decompresses `block`; its records are then read from the [`Block`] (text is checked only
    /// for the records read, and nothing is copied per record until then).
    pub fn read(&mut self, block: &[u8]) -> Result<Block, String> {
        let mut out = Block::default();
        self.read_into(block, &mut out)?;
        Ok(out)
    }

    /// [`Self::read`] into `out`, reusing its buffers: a lookup reads many blocks one after the
    /// other, and a fresh buffer of several KiB per block is an allocator's slow path.
    pub fn read_into(&mut self, block: &[u8], out: &mut Block) -> Result<(), String> {
        out.raw.clear();
        out.spans.clear();
        let (raw_len, frame) = get_varint(block).ok_or("truncated block header")?;
        let raw_len = usize::try_from(raw_len)
            .ok()
            .filter(|&n| n <= MAX_BLOCK_RAW_BYTES)
            .ok_or("block length out of range")?;
        out.raw.reserve(raw_len);
        let raw = &mut out.raw;
        self.decompressor
            .decompress_to_buffer(frame, raw)
            .map_err(|e| format!("block does not decompress: {e}"))?;
        if raw.len() != raw_len {
            let got = raw.len();
            raw.clear();
            return Err(format!("block holds {got} bytes, its header says {raw_len}"));
        }
        let mut at = 0;
        while at < raw.len() {
            let Some((len, tail)) = get_varint(&raw[at..]) else {
                out.spans.clear();
                return Err("truncated record length".into());
            };
            let start = raw.len() - tail.len();
            let Some(len) = usize::try_from(len).ok().filter(|&n| n <= tail.len()) else {
                out.spans.clear();
                return Err("record overruns its block".into());
            };
            out.spans.push((start, start + len));
            at = start + len;
        }
        Ok(())
    }

    /// The records of `block`, in order.
    pub fn records(&mut self, block: &[u8]) -> Result<Vec<String>, String> {
        let block = self.read(block)?;
        (0..block.len()).map(|i| block.record(i).map(str::to_string)).collect()
    }
}

/// One decompressed block.
#[derive(Default)]
pub struct Block {
    raw: Vec<u8>,
    spans: Vec<(usize, usize)>,
}

impl Block {
    /// How many records it holds.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Record `i` of the block.
    pub fn record(&self, i: usize) -> Result<&str, String> {
        let &(a, b) = self.spans.get(i).ok_or("no such record in its block")?;
        std::str::from_utf8(&self.raw[a..b]).map_err(|_| "record is not UTF-8".to_string())
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(buf: &[u8]) -> Option<(u64, &[u8])> {
    let mut v = 0u64;
    for (i, b) in buf.iter().enumerate().take(10) {
        v |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((v, &buf[i + 1..]));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(n: usize) -> Vec<String> {
        (0..n)
            .map(|i| {
                format!(
                    r#"{{"eventVersion":"1.08","eventID":"{i:08x}-0000","eventName":"Get{}","sourceIPAddress":"10.0.{}.{}","userAgent":"aws-cli/2.15.{}"}}"#,
                    ["Object", "Bucket", "Trail"][i % 3],
                    i % 7,
                    i % 251,
                    i % 13
                )
            })
            .collect()
    }

    #[test]
    fn blocks_round_trip_with_and_without_a_dictionary() {
        let recs = records(20_000);
        let dict = train_dictionary(recs.iter().map(|r| r.as_bytes()), 8 << 20).expect("enough to train on");
        assert!(dict.len() <= DICTIONARY_BYTES);
        for d in [Some(dict.as_slice()), None] {
            let cdict = d.map(|d| prepare_compression(d, 3));
            let mut w = BlockWriter::new(3, cdict.as_ref()).unwrap();
            let prepared = d.map(prepare_dictionary);
            let mut r = BlockReader::new(prepared.as_ref()).unwrap();
            for chunk in recs.chunks(BLOCK_RECORDS) {
                let block = w.block(chunk.iter().map(|s| s.as_bytes())).unwrap();
                assert_eq!(r.records(&block).unwrap(), chunk);
            }
        }
        // Empty records and an empty block are fine too.
        let mut w = BlockWriter::new(3, None).unwrap();
        let mut r = BlockReader::new(None).unwrap();
        let block = w.block(["", "x", ""].iter().map(|s| s.as_bytes())).unwrap();
        assert_eq!(r.records(&block).unwrap(), vec!["", "x", ""]);
    }

    #[test]
    fn a_dictionary_makes_small_blocks_smaller() {
        let recs = records(20_000);
        let dict = train_dictionary(recs.iter().map(|r| r.as_bytes()), 8 << 20).unwrap();
        let size = |d: Option<&[u8]>| -> usize {
            let cdict = d.map(|d| prepare_compression(d, 3));
            let mut w = BlockWriter::new(3, cdict.as_ref()).unwrap();
            recs.chunks(BLOCK_RECORDS)
                .map(|c| w.block(c.iter().map(|s| s.as_bytes())).unwrap().len())
                .sum()
        };
        assert!(size(Some(&dict)) * 3 < size(None) * 2, "dictionary saves over a third");
    }

    #[test]
    fn too_little_to_train_on_gives_no_dictionary() {
        let recs = records(10);
        assert!(train_dictionary(recs.iter().map(|r| r.as_bytes()), 8 << 20).is_none());
    }

    #[test]
    fn damaged_blocks_are_errors_not_panics() {
        let recs = records(40);
        let mut w = BlockWriter::new(3, None).unwrap();
        let block = w.block(recs.iter().take(BLOCK_RECORDS).map(|s| s.as_bytes())).unwrap();
        let mut r = BlockReader::new(None).unwrap();
        assert!(r.records(&[]).is_err());
        assert!(r.records(&block[..block.len() / 2]).is_err());
        let mut flipped = block.clone();
        let mid = flipped.len() / 2;
        flipped[mid] ^= 0x55;
        // A flipped bit is caught by zstd or by the lengths; it never panics.
        let _ = r.records(&flipped);
        // A header claiming too much.
        let mut big = Vec::new();
        put_varint(&mut big, u64::MAX);
        big.extend_from_slice(&block[1..]);
        assert!(r.records(&big).is_err());
        // A block compressed with a dictionary does not read without it.
        let dict = train_dictionary(records(20_000).iter().map(|r| r.as_bytes()), 8 << 20).unwrap();
        let cdict = prepare_compression(&dict, 3);
        let mut wd = BlockWriter::new(3, Some(&cdict)).unwrap();
        let with_dict = wd.block(recs.iter().take(BLOCK_RECORDS).map(|s| s.as_bytes())).unwrap();
        assert!(r.records(&with_dict).is_err());
    }

    #[test]
    fn varints_round_trip() {
        for v in [0, 1, 127, 128, 300, u32::MAX as u64, u64::MAX] {
            let mut b = Vec::new();
            put_varint(&mut b, v);
            assert_eq!(get_varint(&b), Some((v, &[][..])));
        }
        assert_eq!(get_varint(&[0x80]), None);
    }
}

/// Block and dictionary trade-offs over synthetic records, for choosing the constants:
/// `cargo test --release -p cairn-log --lib blocks::sizes -- --ignored --nocapture`.
#[cfg(test)]
mod sizes {
    use super::*;

    #[test]
    #[ignore = "a measurement, not a test"]
    fn sizes() {
        let mut w = cairn_synth::Workload::new(cairn_synth::WorkloadConfig {
            accounts: vec!["111122223333".into()],
            regions: vec!["us-east-1".into()],
            events_per_second: 50.0,
            ..Default::default()
        });
        let recs = w.batch(300_000);
        let raw: usize = recs.iter().map(String::len).sum();
        for (block, dict_bytes, level) in [
            (4, 256 << 10, 9),
            (8, 256 << 10, 9),
            (16, 128 << 10, 9),
            (16, 256 << 10, 9),
            (8, 256 << 10, 1),
        ] {
            let t = std::time::Instant::now();
            let step = raw.div_ceil(8 << 20).max(1);
            let samples: Vec<&[u8]> = recs.iter().map(|r| r.as_bytes()).step_by(step).collect();
            let dict = zstd::dict::from_samples(&samples, dict_bytes).unwrap();
            let trained = t.elapsed();
            let cdict = prepare_compression(&dict, level);
            let mut bw = BlockWriter::new(level, Some(&cdict)).unwrap();
            let t = std::time::Instant::now();
            let blocks: Vec<Vec<u8>> = recs
                .chunks(block)
                .map(|c| bw.block(c.iter().map(|s| s.as_bytes())).unwrap())
                .collect();
            let compress = t.elapsed();
            let size: usize = blocks.iter().map(Vec::len).sum::<usize>() + dict.len();
            let d = prepare_dictionary(&dict);
            let mut br = BlockReader::new(Some(&d)).unwrap();
            let t = std::time::Instant::now();
            for b in blocks.iter().step_by(7) {
                br.records(b).unwrap();
            }
            let per_block = t.elapsed() / blocks.iter().step_by(7).count() as u32;
            println!(
                "block {block:>2} dict {:>3} KiB level {level:>2}: {:.2} % of {:.0} MB; train {:.2} s, compress {:.0} MB/s, one block {:.1} us",
                dict_bytes >> 10,
                size as f64 * 100.0 / raw as f64,
                raw as f64 / 1e6,
                trained.as_secs_f64(),
                raw as f64 / 1e6 / compress.as_secs_f64(),
                per_block.as_secs_f64() * 1e6
            );
        }
    }
}
