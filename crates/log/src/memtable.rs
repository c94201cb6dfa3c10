//! Events that are durable in the WAL but not yet in a segment. Chunks are immutable and shared,
//! so readers take a snapshot by cloning a few `Arc`s and never block the writer for long.

use std::sync::Arc;
use std::time::Instant;

use cairn_model::EventRecord;

use crate::Seq;

#[derive(Debug, Clone)]
pub struct MemEntry {
    pub seq: Seq,
    pub record: EventRecord,
    /// When the event was appended (ms since epoch), for retention.
    pub ingest_ms: i64,
}

/// Entries appended together (or coalesced), with the range of their event times so that a
/// lookup can pass over a whole chunk that cannot hold a result without touching its records.
#[derive(Debug, Clone)]
pub struct Chunk {
    entries: Arc<[MemEntry]>,
    /// Smallest and largest event time (ms) of the entries.
    pub min_time: i64,
    pub max_time: i64,
}

impl Chunk {
    fn new(entries: Vec<MemEntry>) -> Chunk {
        let (mut min_time, mut max_time) = (i64::MAX, i64::MIN);
        for e in &entries {
            let t = e.record.event_time().millis();
            min_time = min_time.min(t);
            max_time = max_time.max(t);
        }
        Chunk {
            entries: entries.into(),
            min_time,
            max_time,
        }
    }
}

impl std::ops::Deref for Chunk {
    type Target = [MemEntry];

    fn deref(&self) -> &[MemEntry] {
        &self.entries
    }
}

/// Coalesce the trailing small chunks once there are this many, so snapshots stay cheap even
/// when every append carries a single event.
const COALESCE_AFTER: usize = 64;

#[derive(Debug, Default)]
pub struct Memtable {
    chunks: Vec<Chunk>,
    /// Number of chunks at the end that have not been coalesced yet.
    loose: usize,
    bytes: usize,
    events: usize,
    opened: Option<Instant>,
}

impl Memtable {
    /// Adds entries, which must continue the sequence order.
    pub fn push(&mut self, entries: Vec<MemEntry>) {
        if entries.is_empty() {
            return;
        }
        debug_assert!(self.last_seq().is_none_or(|l| l < entries[0].seq));
        self.bytes += entries.iter().map(|e| e.record.json().len()).sum::<usize>();
        self.events += entries.len();
        self.opened.get_or_insert_with(Instant::now);
        self.chunks.push(Chunk::new(entries));
        self.loose += 1;
        if self.loose >= COALESCE_AFTER {
            let tail = self.chunks.split_off(self.chunks.len() - self.loose);
            let merged: Vec<MemEntry> = tail.iter().flat_map(|c| c.iter().cloned()).collect();
            self.chunks.push(Chunk::new(merged));
            self.loose = 0;
        }
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn len(&self) -> usize {
        self.events
    }

    pub fn is_empty(&self) -> bool {
        self.events == 0
    }

    pub fn age(&self) -> Option<std::time::Duration> {
        self.opened.map(|t| t.elapsed())
    }

    pub fn first_seq(&self) -> Option<Seq> {
        self.chunks.first().and_then(|c| c.first()).map(|e| e.seq)
    }

    pub fn last_seq(&self) -> Option<Seq> {
        self.chunks.last().and_then(|c| c.last()).map(|e| e.seq)
    }

    pub fn chunks(&self) -> &[Chunk] {
        &self.chunks
    }

    pub fn iter(&self) -> impl Iterator<Item = &MemEntry> {
        self.chunks.iter().flat_map(|c| c.iter())
    }
}

/// A reader's view of unflushed events: chunks in sequence order.
#[derive(Debug, Clone, Default)]
pub struct MemSnapshot {
    pub chunks: Vec<Chunk>,
}

impl MemSnapshot {
    pub fn iter(&self) -> impl Iterator<Item = &MemEntry> {
        self.chunks.iter().flat_map(|c| c.iter())
    }

    pub fn first_seq(&self) -> Option<Seq> {
        self.chunks.first().and_then(|c| c.first()).map(|e| e.seq)
    }

    /// Entries with a sequence number above `after`, at most `max`.
    pub fn after(&self, after: Seq, max: usize) -> Vec<MemEntry> {
        let start = self
            .chunks
            .partition_point(|c| c.last().is_some_and(|e| e.seq <= after));
        self.chunks[start..]
            .iter()
            .flat_map(|c| c.iter())
            .filter(|e| e.seq > after)
            .take(max)
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: Seq) -> MemEntry {
        let json = format!(
            r#"{{"eventID":"e{seq}","eventTime":"2024-01-01T00:00:00Z","awsRegion":"us-east-1","recipientAccountId":"123456789012"}}"#
        );
        MemEntry {
            seq,
            record: EventRecord::from_json(&json).unwrap(),
            ingest_ms: 0,
        }
    }

    #[test]
    fn coalesces_and_reads_after() {
        let mut m = Memtable::default();
        for s in 1..=200 {
            m.push(vec![entry(s)]);
        }
        // 200 single-event appends: 3 coalesced chunks of 64 and 8 loose ones.
        assert_eq!(m.chunks().len(), 3 + 8);
        assert_eq!(m.len(), 200);
        assert_eq!((m.first_seq(), m.last_seq()), (Some(1), Some(200)));
        let snap = MemSnapshot {
            chunks: m.chunks().to_vec(),
        };
        let seqs: Vec<Seq> = snap.after(150, 10).iter().map(|e| e.seq).collect();
        assert_eq!(seqs, (151..=160).collect::<Vec<_>>());
        assert!(snap.after(200, 10).is_empty());
        assert_eq!(
            snap.iter().map(|e| e.seq).collect::<Vec<_>>(),
            (1..=200).collect::<Vec<_>>()
        );
    }
}
