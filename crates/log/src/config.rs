//! Settings of the event log. Defaults suit a single machine; tests shrink the thresholds.

use std::time::Duration;

/// Where segments live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SegmentLocation {
    /// `<data_dir>/store` on the local file system (the default).
    Local,
    /// An S3-compatible bucket.
    S3(S3Location),
}

#[derive(Clone, PartialEq, Eq)]
pub struct S3Location {
    pub bucket: String,
    /// Key prefix inside the bucket, without leading or trailing slash (may be empty).
    pub prefix: String,
    /// Custom endpoint (MinIO, s3s-fs, ...); None means AWS.
    pub endpoint: Option<String>,
    pub region: String,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    /// Plain http endpoints are refused unless this is set.
    pub allow_http: bool,
}

impl std::fmt::Debug for S3Location {
    // The secret never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Location")
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field(
                "secret_access_key",
                &self.secret_access_key.as_ref().map(|_| "<redacted>"),
            )
            .field("allow_http", &self.allow_http)
            .finish()
    }
}

#[derive(Debug, Clone)]
pub struct LogConfig {
    /// A WAL file is sealed and a new one started past this size.
    pub wal_file_bytes: u64,
    /// Upper bound of bytes written by one group commit (one fsync).
    pub group_commit_bytes: usize,
    /// The memtable is flushed to segments past this many bytes of record JSON...
    pub memtable_flush_bytes: usize,
    /// ...or when its oldest event has waited this long.
    pub memtable_flush_age: Duration,
    /// Appends are refused (Overloaded) while this many bytes wait to be flushed.
    pub max_unflushed_bytes: usize,
    /// Rows per Parquet row group.
    pub row_group_rows: usize,
    /// Data page size of the record block column in segments. Blocks are compressed on their own
    /// (a few records each), so a page is only what a lookup reads to reach one: small pages read
    /// little more than the blocks wanted.
    pub record_page_bytes: usize,
    /// zstd level of segments written by memtable flushes: fast, so flushing keeps up with ingest.
    pub flush_zstd_level: i32,
    /// zstd level of segments written by compaction: slower and smaller, off the ingest path.
    pub zstd_level: i32,
    /// Event history retention, measured from when events arrived. None keeps everything.
    pub retention: Option<Duration>,
    /// Segments smaller than this are merged by compaction (flush outputs always are, to be
    /// recompressed at `zstd_level`).
    pub compaction_small_bytes: u64,
    /// Compaction stops growing an output segment past this size.
    pub compaction_target_bytes: u64,
    /// How often retention and compaction run.
    pub maintenance_interval: Duration,
    /// Memory for what lookups decode from segments (matching rows, fetched records), so the
    /// next page of a lookup does not decode the same row groups again.
    pub lookup_cache_bytes: usize,
    pub segments: SegmentLocation,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            wal_file_bytes: 128 << 20,
            group_commit_bytes: 16 << 20,
            memtable_flush_bytes: 256 << 20,
            memtable_flush_age: Duration::from_secs(60),
            max_unflushed_bytes: 2 << 30,
            row_group_rows: 8 * 1024,
            record_page_bytes: 64 << 10,
            flush_zstd_level: 1,
            zstd_level: 9,
            retention: Some(Duration::from_secs(90 * 24 * 3600)),
            compaction_small_bytes: 16 << 20,
            compaction_target_bytes: 64 << 20,
            maintenance_interval: Duration::from_secs(60),
            lookup_cache_bytes: 256 << 20,
            segments: SegmentLocation::Local,
        }
    }
}
