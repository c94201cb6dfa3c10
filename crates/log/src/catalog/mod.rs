//! The catalog: which segments exist, how far the memtable has been flushed, where each consumer
//! is, and small metadata. SQLite is embedded; the trait is shaped (async, whole-transaction
//! operations, no SQL leaking out) so that a PostgreSQL catalog can follow without changing callers.

mod sqlite;

pub use sqlite::SqliteCatalog;

use async_trait::async_trait;

use crate::Seq;
use crate::error::Result;
use crate::segment::SegmentMeta;

/// A consumer's durable position: the last sequence number it has finished with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub name: String,
    pub seq: Seq,
    /// Milliseconds since the epoch of the last update.
    pub updated_ms: i64,
}

#[async_trait]
pub trait Catalog: Send + Sync + std::fmt::Debug {
    /// Every registered segment.
    async fn segments(&self) -> Result<Vec<SegmentMeta>>;

    /// Registers the segments of a memtable flush and records that every event up to
    /// `flushed_seq` is now in segments, atomically.
    async fn commit_flush(&self, added: &[SegmentMeta], flushed_seq: Seq) -> Result<()>;

    /// Replaces segments (compaction, retention), atomically.
    async fn replace_segments(&self, removed: &[String], added: &[SegmentMeta]) -> Result<()>;

    /// Highest sequence number known to be in segments (0 when none).
    async fn flushed_seq(&self) -> Result<Seq>;

    async fn cursors(&self) -> Result<Vec<Cursor>>;

    /// Sets a cursor, creating it if needed.
    async fn set_cursor(&self, name: &str, seq: Seq) -> Result<()>;

    /// Creates a cursor at `seq` unless it exists; returns its position either way.
    async fn ensure_cursor(&self, name: &str, seq: Seq) -> Result<Seq>;

    async fn delete_cursor(&self, name: &str) -> Result<bool>;

    async fn get_meta(&self, key: &str) -> Result<Option<String>>;

    /// A stored document (trail configuration, signing key, channel ...): JSON text by kind and key.
    async fn get_document(&self, kind: &str, key: &str) -> Result<Option<String>>;

    /// Every document of a kind, as (key, JSON text), ordered by key.
    async fn documents(&self, kind: &str) -> Result<Vec<(String, String)>>;

    /// Creates or replaces a document.
    async fn put_document(&self, kind: &str, key: &str, json: &str) -> Result<()>;

    /// Creates a document only if its key is free; false when it already exists.
    async fn insert_document(&self, kind: &str, key: &str, json: &str) -> Result<bool>;

    async fn delete_document(&self, kind: &str, key: &str) -> Result<bool>;

    async fn set_meta(&self, key: &str, value: &str) -> Result<()>;
}
