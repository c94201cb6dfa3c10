//! Turning events into a segment file: sorted by event time, zstd, statistics on the ordering
//! columns, bloom filters on the lookup columns, sized from the real number of distinct values,
//! and the records in dictionary-compressed blocks ([`super::blocks`]).

use std::sync::Arc;

use arrow_array::builder::{BinaryBuilder, BooleanBuilder, ListBuilder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch, StringArray, TimestampMillisecondArray, UInt64Array};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::file::metadata::{KeyValue, SortingColumn};
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterVersion};
use parquet::schema::types::ColumnPath;

use super::blocks::{self, BLOCK_RECORDS, BlockWriter};
use super::schema::{self, BLOOM_COLUMNS};
use crate::error::{Error, Result};
use crate::memtable::MemEntry;

/// Settings for encoding one segment.
#[derive(Debug, Clone, Copy)]
pub struct EncodeOptions {
    pub row_group_rows: usize,
    /// zstd level of the record blocks and of the other columns' pages.
    pub zstd_level: i32,
    /// Data page size of the record block column (see [`crate::LogConfig::record_page_bytes`]).
    pub record_page_bytes: usize,
    /// Record JSON sampled to train the segment's block dictionary.
    pub dictionary_training_bytes: usize,
}

impl EncodeOptions {
    /// For memtable flushes: fast enough to keep up with ingest on one core.
    pub fn flush(config: &crate::LogConfig) -> Self {
        EncodeOptions {
            row_group_rows: config.row_group_rows,
            zstd_level: config.flush_zstd_level,
            record_page_bytes: config.record_page_bytes,
            // Flush outputs are compacted soon: a quick dictionary is enough.
            dictionary_training_bytes: 2 << 20,
        }
    }

    /// For compaction: smaller files, written in the background.
    pub fn compaction(config: &crate::LogConfig) -> Self {
        EncodeOptions {
            row_group_rows: config.row_group_rows,
            zstd_level: config.zstd_level,
            record_page_bytes: config.record_page_bytes,
            dictionary_training_bytes: 8 << 20,
        }
    }
}

/// An encoded segment, ready to upload.
pub struct Encoded {
    pub bytes: Vec<u8>,
    pub rows: u64,
    pub raw_bytes: u64,
    pub min_event_time: i64,
    pub max_event_time: i64,
    pub min_seq: u64,
    pub max_seq: u64,
    pub max_ingest_ms: i64,
    pub checksum: u32,
}

/// Encodes the entries of one partition. Sorts them by (event time, sequence number).
pub fn encode(entries: &mut [&MemEntry], opts: EncodeOptions) -> Result<Encoded> {
    assert!(!entries.is_empty(), "a segment holds at least one event");
    sort_by_time(entries);
    let dictionary = blocks::train_dictionary(
        entries.iter().map(|e| e.record.json().as_bytes()),
        opts.dictionary_training_bytes,
    );
    let props = writer_properties(entries, opts, dictionary.as_deref());
    let schema = schema::schema();
    let raw_bytes: usize = entries.iter().map(|e| e.record.json().len()).sum();
    let prepared = dictionary
        .as_deref()
        .map(|d| blocks::prepare_compression(d, opts.zstd_level));
    let mut blocks = BlockWriter::new(opts.zstd_level, prepared.as_ref()).map_err(compression_failed)?;
    let mut writer = ArrowWriter::try_new(Vec::with_capacity(raw_bytes / 8 + 4096), schema.clone(), Some(props))?;
    // One batch per row group, flushed on its own: readers find a row's block from the start of
    // its row group, so a row group must never begin inside a block.
    for chunk in entries.chunks(opts.row_group_rows.max(1)) {
        writer.write(&to_batch(chunk, &schema, &mut blocks)?)?;
        writer.flush()?;
    }
    let bytes = writer.into_inner()?;
    let checksum = crc32c::crc32c(&bytes);
    Ok(Encoded {
        rows: entries.len() as u64,
        raw_bytes: raw_bytes as u64,
        min_event_time: entries.first().unwrap().record.event_time().millis(),
        max_event_time: entries.last().unwrap().record.event_time().millis(),
        min_seq: entries.iter().map(|e| e.seq).min().unwrap(),
        max_seq: entries.iter().map(|e| e.seq).max().unwrap(),
        max_ingest_ms: entries.iter().map(|e| e.ingest_ms).max().unwrap(),
        checksum,
        bytes,
    })
}

/// Sorts by (event time, sequence number). Events mostly arrive in time order, so check first;
/// otherwise sort compact keys rather than chasing each record's index through a pointer.
pub fn sort_by_time(entries: &mut [&MemEntry]) {
    let key = |e: &MemEntry| (e.record.event_time(), e.seq);
    if entries.windows(2).all(|w| key(w[0]) <= key(w[1])) {
        return;
    }
    let mut keyed: Vec<((cairn_model::EventTime, u64), usize)> =
        entries.iter().enumerate().map(|(i, e)| (key(e), i)).collect();
    keyed.sort_unstable();
    let sorted: Vec<&MemEntry> = keyed.iter().map(|&(_, i)| entries[i]).collect();
    entries.copy_from_slice(&sorted);
}

fn writer_properties(entries: &[&MemEntry], opts: EncodeOptions, dictionary: Option<&[u8]>) -> WriterProperties {
    let rg = opts.row_group_rows.max(1);
    // Bloom filters start sized for a full row group of distinct values; parquet folds each one
    // down to what its values need once written, so low-cardinality columns get small filters.
    let ndv = entries.len().min(rg) as u64;

    let level = ZstdLevel::try_new(opts.zstd_level).unwrap_or_default();
    let mut b = WriterProperties::builder()
        .set_writer_version(WriterVersion::PARQUET_2_0)
        .set_compression(Compression::ZSTD(level))
        .set_max_row_group_row_count(Some(rg))
        .set_statistics_enabled(EnabledStatistics::Chunk)
        .set_sorting_columns(Some(vec![SortingColumn {
            column_idx: 1,
            descending: false,
            nulls_first: false,
        }]))
        .set_key_value_metadata(Some(key_values(dictionary)));
    // Ordering columns: delta-encoded (neighbours are close), page statistics for pruning.
    for col in [schema::SEQ, schema::EVENT_TIME] {
        let path = ColumnPath::from(col);
        b = b
            .set_column_dictionary_enabled(path.clone(), false)
            .set_column_encoding(path.clone(), Encoding::DELTA_BINARY_PACKED)
            .set_column_statistics_enabled(path, EnabledStatistics::Page);
    }
    // Unique per row: a dictionary would only be built and thrown away.
    let event_id = ColumnPath::from(schema::EVENT_ID_HASH);
    b = b
        .set_column_dictionary_enabled(event_id.clone(), false)
        .set_column_encoding(event_id.clone(), Encoding::PLAIN)
        .set_column_statistics_enabled(event_id, EnabledStatistics::None);
    // Blocks are compressed already; small pages let a lookup read little more than its blocks.
    let record = ColumnPath::from(schema::RECORD_BLOCK);
    b = b
        .set_column_dictionary_enabled(record.clone(), false)
        .set_column_compression(record.clone(), Compression::UNCOMPRESSED)
        .set_column_encoding(record.clone(), Encoding::PLAIN)
        .set_column_data_page_size_limit(record.clone(), opts.record_page_bytes)
        .set_column_statistics_enabled(record, EnabledStatistics::None);
    for path in BLOOM_COLUMNS {
        let path = ColumnPath::new(path.iter().map(|s| s.to_string()).collect());
        b = b
            .set_column_bloom_filter_enabled(path.clone(), true)
            .set_column_bloom_filter_fpp(path.clone(), 0.01)
            .set_column_bloom_filter_max_ndv(path, ndv);
    }
    b.build()
}

fn compression_failed(e: std::io::Error) -> Error {
    Error::Unavailable(format!("record block compression failed: {e}"))
}

fn key_values(dictionary: Option<&[u8]>) -> Vec<KeyValue> {
    let mut kv = vec![
        KeyValue::new(schema::FORMAT_KEY.to_string(), schema::FORMAT.to_string()),
        KeyValue::new(schema::INDEX_VERSION_KEY.to_string(), schema::INDEX_VERSION.to_string()),
        KeyValue::new(schema::BLOCK_RECORDS_KEY.to_string(), BLOCK_RECORDS.to_string()),
    ];
    if let Some(d) = dictionary {
        kv.push(KeyValue::new(schema::DICTIONARY_KEY.to_string(), BASE64.encode(d)));
    }
    kv
}

/// Names a resource can be looked up by: its short name and its full ARN.
fn resource_names<'a>(e: &'a MemEntry) -> impl Iterator<Item = &'a str> + 'a {
    e.record
        .index()
        .resources
        .iter()
        .flat_map(|r| {
            [
                r.name.as_deref(),
                r.arn.as_deref().filter(|a| Some(*a) != r.name.as_deref()),
            ]
        })
        .flatten()
}

fn to_batch(entries: &[&MemEntry], schema: &arrow_schema::SchemaRef, blocks: &mut BlockWriter) -> Result<RecordBatch> {
    let n = entries.len();
    let strings = |f: &dyn Fn(&MemEntry) -> Option<&str>| -> ArrayRef {
        Arc::new(entries.iter().map(|e| f(e)).collect::<StringArray>())
    };
    let mut read_only = BooleanBuilder::with_capacity(n);
    let mut types = ListBuilder::new(StringBuilder::new());
    let mut names = ListBuilder::new(StringBuilder::new());
    let mut record = BinaryBuilder::with_capacity(n, entries.iter().map(|e| e.record.json().len()).sum::<usize>() / 8);
    for (i, e) in entries.iter().enumerate() {
        let ix = e.record.index();
        read_only.append_option(ix.read_only);
        for r in &ix.resources {
            if let Some(t) = &r.resource_type {
                types.values().append_value(t);
            }
        }
        types.append(!ix.resources.is_empty());
        for name in resource_names(e) {
            names.values().append_value(name);
        }
        names.append(!ix.resources.is_empty());
        if i % BLOCK_RECORDS == 0 {
            let block = &entries[i..(i + BLOCK_RECORDS).min(n)];
            record.append_value(
                blocks
                    .block(block.iter().map(|e| e.record.json().as_bytes()))
                    .map_err(compression_failed)?,
            );
        } else {
            record.append_null();
        }
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(entries.iter().map(|e| e.seq).collect::<UInt64Array>()),
        Arc::new(
            TimestampMillisecondArray::from(
                entries
                    .iter()
                    .map(|e| e.record.event_time().millis())
                    .collect::<Vec<_>>(),
            )
            .with_timezone("UTC"),
        ),
        strings(&|e| Some(e.record.index().account_id.as_str())),
        strings(&|e| Some(e.record.index().region.as_str())),
        Arc::new(
            entries
                .iter()
                .map(|e| schema::event_id_hash(&e.record.index().event_id))
                .collect::<UInt64Array>(),
        ),
        strings(&|e| e.record.index().event_name.as_deref()),
        strings(&|e| e.record.index().event_source.as_deref()),
        strings(&|e| e.record.index().username.as_deref()),
        strings(&|e| e.record.index().access_key_id.as_deref()),
        Arc::new(read_only.finish()),
        strings(&|e| Some(e.record.index().event_category.as_str())),
        strings(&|e| e.record.index().event_type.as_deref()),
        Arc::new(types.finish()),
        Arc::new(names.finish()),
        Arc::new(record.finish()),
    ];
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

#[cfg(test)]
mod tests {
    use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions};
    use parquet::file::metadata::PageIndexPolicy;

    use super::*;

    /// The record block column is cut into pages of about `record_page_bytes`, so a lookup that
    /// wants a few blocks reads little more than those blocks.
    #[test]
    fn record_pages_are_about_the_configured_size() {
        let mut w = cairn_synth::Workload::new(cairn_synth::WorkloadConfig {
            accounts: vec!["111122223333".into()],
            regions: vec!["us-east-1".into()],
            events_per_second: 50.0,
            ..Default::default()
        });
        let entries: Vec<MemEntry> = w
            .batch(6_000)
            .iter()
            .enumerate()
            .map(|(i, j)| MemEntry {
                seq: i as u64 + 1,
                record: cairn_model::EventRecord::from_json(j).unwrap(),
                ingest_ms: 0,
            })
            .collect();
        let mut refs: Vec<&MemEntry> = entries.iter().collect();
        let opts = EncodeOptions {
            row_group_rows: 4096,
            zstd_level: 3,
            record_page_bytes: 16 << 10,
            dictionary_training_bytes: 1 << 20,
        };
        let encoded = encode(&mut refs, opts).unwrap();
        let meta = ArrowReaderMetadata::load(
            &bytes::Bytes::from(encoded.bytes),
            ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Required),
        )
        .unwrap();
        let leaf = schema::column_index(schema::RECORD_BLOCK);
        let index = meta.metadata().offset_index().unwrap();
        for (rg, columns) in index.iter().enumerate() {
            let pages = columns[leaf].page_locations();
            let sizes: Vec<i32> = pages.iter().map(|p| p.compressed_page_size).collect();
            let largest = *sizes.iter().max().unwrap();
            // A page ends at the first block that takes it past the limit (blocks are ~10 KiB).
            assert!(largest <= 48 << 10, "row group {rg}: record pages of {sizes:?} bytes");
            assert!(pages.len() > 4, "row group {rg}: only {} record pages", pages.len());
        }
    }
}
