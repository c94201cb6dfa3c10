//! Segments: immutable Parquet files of one partition (account, region), sorted by event time,
//! registered in the catalog. A [`SegmentHandle`] caches what readers need (footer, page index,
//! bloom filters) and deletes its file once it is obsolete and no reader holds it.

pub mod blocks;
pub mod encode;
mod io;
pub mod read;
pub mod schema;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions};
use parquet::bloom_filter::Sbbf;
use parquet::file::metadata::PageIndexPolicy;
use tokio::sync::{OnceCell, mpsc};

use crate::Seq;
use crate::error::{Error, Result};
use crate::store::SegmentStore;

/// A segment as the catalog records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentMeta {
    pub id: String,
    /// Object path inside the segment store.
    pub path: String,
    pub account_id: String,
    pub region: String,
    pub min_event_time: i64,
    pub max_event_time: i64,
    pub min_seq: Seq,
    pub max_seq: Seq,
    /// When the newest event of the segment arrived (ms); retention is measured from it.
    pub max_ingest_time: i64,
    pub row_count: u64,
    pub size_bytes: u64,
    /// Bytes of record JSON it holds (for the compression ratio).
    pub raw_bytes: u64,
    /// CRC-32C of the whole file.
    pub checksum: u32,
    /// 0 for a memtable flush; compaction outputs are one more than their highest input.
    pub level: u32,
}

/// The (account, region) a segment belongs to.
pub type Partition = (String, String);

/// Object path for a new segment: readable by a person browsing the bucket.
pub fn segment_path(account: &str, region: &str, min_event_time: i64, id: &str) -> String {
    let (y, m, d, ..) = cairn_model::time::civil(min_event_time.div_euclid(1000));
    format!(
        "segments/{}/{}/{y:04}-{m:02}-{d:02}/{id}.parquet",
        path_part(account),
        path_part(region)
    )
}

/// Keeps a path component to a safe alphabet (records come from outside).
fn path_part(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
            out.push(c);
        } else {
            out.push_str(&format!("%{:02X}", c as u32 & 0xff));
        }
    }
    if out.is_empty() { "_".into() } else { out }
}

type BloomSlot = Option<Arc<Sbbf>>;

pub struct SegmentHandle {
    pub meta: SegmentMeta,
    store: SegmentStore,
    reader_meta: OnceCell<ArrowReaderMetadata>,
    verified: OnceCell<()>,
    /// Bloom filters read so far, by (row group, leaf column); None when the column has none.
    blooms: Mutex<HashMap<(usize, usize), BloomSlot>>,
    /// How the records are stored, from the footer (with the prepared block dictionary).
    layout: std::sync::OnceLock<Arc<read::RecordLayout>>,
    /// The footer again, with the lookup columns read as dictionaries ([`read::filter_metadata`]).
    filter_meta: std::sync::OnceLock<ArrowReaderMetadata>,
    obsolete: AtomicBool,
    gc: Option<mpsc::UnboundedSender<String>>,
}

impl std::fmt::Debug for SegmentHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SegmentHandle").field("meta", &self.meta).finish()
    }
}

impl SegmentHandle {
    pub fn new(meta: SegmentMeta, store: SegmentStore, gc: Option<mpsc::UnboundedSender<String>>) -> Self {
        SegmentHandle {
            meta,
            store,
            reader_meta: OnceCell::new(),
            verified: OnceCell::new(),
            blooms: Mutex::new(HashMap::new()),
            layout: std::sync::OnceLock::new(),
            filter_meta: std::sync::OnceLock::new(),
            obsolete: AtomicBool::new(false),
            gc,
        }
    }

    pub fn location(&self) -> String {
        self.store.describe(&self.meta.path)
    }

    /// Marks the segment as replaced: its file is deleted when the last reader lets go.
    pub fn retire(&self) {
        self.obsolete.store(true, Ordering::SeqCst);
    }

    pub fn is_verified(&self) -> bool {
        self.verified.initialized()
    }

    /// Reads the whole file once and checks it against the catalog's checksum.
    pub async fn verify(&self) -> Result<()> {
        self.verified
            .get_or_try_init(|| async {
                let bytes = self.store.get(&self.meta.path).await.map_err(|e| match e {
                    Error::Corrupt { .. } => e,
                    other => Error::corrupt(self.location(), format!("segment could not be read: {other}")),
                })?;
                if bytes.len() as u64 != self.meta.size_bytes {
                    return Err(Error::corrupt(
                        self.location(),
                        format!(
                            "segment is {} bytes, the catalog says {}",
                            bytes.len(),
                            self.meta.size_bytes
                        ),
                    ));
                }
                let crc = crc32c::crc32c(&bytes);
                if crc != self.meta.checksum {
                    metrics::counter!("cairn_segment_corruption_total").increment(1);
                    return Err(Error::corrupt(
                        self.location(),
                        format!(
                            "segment checksum mismatch (crc32c {crc:08x}, expected {:08x})",
                            self.meta.checksum
                        ),
                    ));
                }
                Ok(())
            })
            .await
            .map(|_| ())
    }

    pub fn object_reader(&self) -> io::SegmentReader {
        io::SegmentReader::new(self.store.object_store().clone(), &self.meta.path, self.meta.size_bytes)
    }

    /// Footer and page index, verified and cached on first use.
    pub async fn reader_metadata(&self) -> Result<ArrowReaderMetadata> {
        self.verify().await?;
        self.reader_meta
            .get_or_try_init(|| async {
                let mut reader = self.object_reader();
                let options = ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Optional);
                ArrowReaderMetadata::load_async(&mut reader, options)
                    .await
                    .map_err(|e| Error::corrupt(self.location(), format!("unreadable segment footer: {e}")))
            })
            .await
            .cloned()
    }

    /// The record layout of this segment (parsed from `meta`, its footer, once).
    pub(crate) fn record_layout(&self, meta: &ArrowReaderMetadata) -> Result<Arc<read::RecordLayout>> {
        if let Some(l) = self.layout.get() {
            return Ok(l.clone());
        }
        let layout = Arc::new(read::RecordLayout::from_footer(meta).map_err(|e| Error::corrupt(self.location(), e))?);
        Ok(self.layout.get_or_init(|| layout).clone())
    }

    /// Reader metadata for the filter columns of a lookup (see [`read::filter_metadata`]).
    pub(crate) fn filter_metadata(&self, meta: &ArrowReaderMetadata) -> Result<ArrowReaderMetadata> {
        if let Some(m) = self.filter_meta.get() {
            return Ok(m.clone());
        }
        let m = read::filter_metadata(meta).map_err(|e| Error::corrupt(self.location(), e))?;
        Ok(self.filter_meta.get_or_init(|| m).clone())
    }

    pub(crate) fn cached_bloom(&self, row_group: usize, column: usize) -> Option<Option<Arc<Sbbf>>> {
        self.blooms.lock().get(&(row_group, column)).cloned()
    }

    pub(crate) fn cache_bloom(&self, row_group: usize, column: usize, bloom: Option<Arc<Sbbf>>) {
        self.blooms.lock().insert((row_group, column), bloom);
    }
}

impl Drop for SegmentHandle {
    fn drop(&mut self) {
        if self.obsolete.load(Ordering::SeqCst)
            && let Some(gc) = &self.gc
        {
            let _ = gc.send(self.meta.path.clone());
        }
    }
}

/// Every live segment, grouped by partition, newest (by max event time) first.
#[derive(Debug, Default, Clone)]
pub struct SegmentSet {
    by_partition: HashMap<Partition, Vec<Arc<SegmentHandle>>>,
}

impl SegmentSet {
    pub fn from_handles(handles: impl IntoIterator<Item = Arc<SegmentHandle>>) -> Self {
        let mut set = SegmentSet::default();
        for h in handles {
            set.by_partition
                .entry((h.meta.account_id.clone(), h.meta.region.clone()))
                .or_default()
                .push(h);
        }
        for list in set.by_partition.values_mut() {
            sort_newest_first(list);
        }
        set
    }

    /// A new set with `added` and without the segments whose ids are in `removed`.
    pub fn with_changes(&self, added: Vec<Arc<SegmentHandle>>, removed: &[String]) -> Self {
        let mut next = self.clone();
        if !removed.is_empty() {
            for list in next.by_partition.values_mut() {
                list.retain(|h| !removed.contains(&h.meta.id));
            }
            next.by_partition.retain(|_, l| !l.is_empty());
        }
        for h in added {
            let list = next
                .by_partition
                .entry((h.meta.account_id.clone(), h.meta.region.clone()))
                .or_default();
            list.push(h);
            sort_newest_first(list);
        }
        next
    }

    pub fn partition(&self, account: &str, region: &str) -> &[Arc<SegmentHandle>] {
        self.by_partition
            .get(&(account.to_string(), region.to_string()))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    pub fn partitions(&self) -> impl Iterator<Item = (&Partition, &Vec<Arc<SegmentHandle>>)> {
        self.by_partition.iter()
    }

    pub fn all(&self) -> impl Iterator<Item = &Arc<SegmentHandle>> {
        self.by_partition.values().flatten()
    }

    pub fn len(&self) -> usize {
        self.by_partition.values().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.by_partition.is_empty()
    }
}

fn sort_newest_first(list: &mut [Arc<SegmentHandle>]) {
    list.sort_by_key(|s| std::cmp::Reverse((s.meta.max_event_time, s.meta.max_seq)));
}
