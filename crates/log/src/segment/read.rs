//! Reading segments: row-group pruning by time statistics and bloom filters, narrow reads of the
//! ordering and filter columns, then a second pass that fetches only the records a page returns.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, TimestampMillisecondType, UInt64Type};
use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use futures::TryStreamExt;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions, RowSelection};
use parquet::arrow::{ParquetRecordBatchStreamBuilder, ProjectionMask};
use parquet::data_type::AsBytes;
use parquet::file::metadata::PageIndexPolicy;
use parquet::file::statistics::Statistics;

use super::{SegmentHandle, blocks, schema};
use crate::Seq;
use crate::error::{Error, Result};

/// How a segment stores its records.
pub enum RecordLayout {
    /// Format 1: one record per row in the `record` column.
    Rows,
    /// Format 2: blocks of `records` rows in the `record_block` column, each block in the row of
    /// its first record, counted from the start of its row group.
    Blocks {
        records: usize,
        dictionary: Option<blocks::Dictionary>,
    },
}

impl RecordLayout {
    pub fn from_footer(meta: &ArrowReaderMetadata) -> Result<Self, String> {
        let kv = meta.metadata().file_metadata().key_value_metadata();
        let get = |key: &str| {
            kv.and_then(|kv| kv.iter().find(|e| e.key == key))
                .and_then(|e| e.value.as_deref())
        };
        match get(schema::FORMAT_KEY) {
            None | Some("1") => Ok(RecordLayout::Rows),
            Some("2") => {
                let records = get(schema::BLOCK_RECORDS_KEY)
                    .and_then(|v| v.parse::<usize>().ok())
                    .filter(|&n| n > 0)
                    .ok_or("segment has no valid block size")?;
                let dictionary = match get(schema::DICTIONARY_KEY) {
                    None => None,
                    Some(b64) => {
                        Some(blocks::prepare_dictionary(&BASE64.decode(b64).map_err(|e| {
                            format!("segment's record dictionary is not base64: {e}")
                        })?))
                    }
                };
                Ok(RecordLayout::Blocks { records, dictionary })
            }
            Some(other) => Err(format!(
                "segment format {other} is newer than this binary reads (at most {})",
                schema::FORMAT
            )),
        }
    }

    fn column(&self) -> &'static str {
        match self {
            RecordLayout::Rows => schema::RECORD,
            RecordLayout::Blocks { .. } => schema::RECORD_BLOCK,
        }
    }
}

/// Time range and position of one row group inside its file.
#[derive(Debug, Clone, Copy)]
pub struct RowGroupInfo {
    pub index: usize,
    pub first_row: usize,
    pub rows: usize,
    pub min_time: i64,
    pub max_time: i64,
}

impl RowGroupInfo {
    /// The file-wide row numbers among `rows` that fall in this row group.
    pub fn rows_within(&self, rows: &[usize]) -> Vec<usize> {
        rows.iter()
            .copied()
            .filter(|r| (self.first_row..self.first_row + self.rows).contains(r))
            .collect()
    }
}

pub fn row_groups(meta: &ArrowReaderMetadata) -> Vec<RowGroupInfo> {
    let time_col = schema::column_index(schema::EVENT_TIME);
    let mut first_row = 0;
    meta.metadata()
        .row_groups()
        .iter()
        .enumerate()
        .map(|(index, rg)| {
            let rows = rg.num_rows() as usize;
            let (min_time, max_time) = match rg.column(time_col).statistics() {
                Some(Statistics::Int64(s)) => (
                    s.min_opt().copied().unwrap_or(i64::MIN),
                    s.max_opt().copied().unwrap_or(i64::MAX),
                ),
                // No statistics: never prune this row group.
                _ => (i64::MIN, i64::MAX),
            };
            let info = RowGroupInfo {
                index,
                first_row,
                rows,
                min_time,
                max_time,
            };
            first_row += rows;
            info
        })
        .collect()
}

/// What a row must hold to match a lookup filter.
#[derive(Debug, Clone)]
pub enum ColumnMatch {
    /// A string column (or any element of a list column) equals the value.
    Text { column: &'static str, value: String },
    /// A hash column equals the hash of the value (event ids; the record is checked afterwards).
    Hash { column: &'static str, hash: u64 },
    /// The read_only column equals the value.
    Bool(bool),
    /// The filter can match nothing (e.g. ReadOnly=maybe).
    Nothing,
}

impl ColumnMatch {
    pub fn column(&self) -> Option<&'static str> {
        match self {
            ColumnMatch::Text { column, .. } | ColumnMatch::Hash { column, .. } => Some(column),
            ColumnMatch::Bool(_) => Some(schema::READ_ONLY),
            ColumnMatch::Nothing => None,
        }
    }
}

/// Index of a leaf column by its dotted path.
fn leaf_index(meta: &ArrowReaderMetadata, root: &str) -> Option<usize> {
    meta.parquet_schema()
        .columns()
        .iter()
        .position(|c| c.path().parts()[0] == root)
}

/// False when the row group's bloom filter proves no row holds `value` in `column`.
pub async fn bloom_might_contain<T: AsBytes + ?Sized>(
    handle: &SegmentHandle,
    meta: &ArrowReaderMetadata,
    row_group: usize,
    column: &str,
    value: &T,
) -> Result<bool> {
    let Some(leaf) = leaf_index(meta, column) else {
        return Ok(true);
    };
    let bloom = match handle.cached_bloom(row_group, leaf) {
        Some(b) => b,
        None => {
            let mut builder = ParquetRecordBatchStreamBuilder::new_with_metadata(handle.object_reader(), meta.clone());
            let bloom = builder
                .get_row_group_column_bloom_filter(row_group, leaf)
                .await
                .map_err(|e| Error::corrupt(handle.location(), format!("unreadable bloom filter: {e}")))?
                .map(Arc::new);
            handle.cache_bloom(row_group, leaf, bloom.clone());
            bloom
        }
    };
    Ok(bloom.is_none_or(|b| b.check(value)))
}

async fn read_columns(
    handle: &SegmentHandle,
    meta: &ArrowReaderMetadata,
    row_groups: Vec<usize>,
    columns: &[&str],
    selection: Option<RowSelection>,
) -> Result<Vec<RecordBatch>> {
    let arrow_schema = meta.schema();
    let roots: Vec<usize> = columns
        .iter()
        .map(|c| arrow_schema.index_of(c).expect("known column"))
        .collect();
    let mask = ProjectionMask::roots(meta.parquet_schema(), roots);
    let mut builder = ParquetRecordBatchStreamBuilder::new_with_metadata(handle.object_reader(), meta.clone())
        .with_row_groups(row_groups)
        .with_projection(mask)
        .with_batch_size(8192);
    if let Some(sel) = selection {
        builder = builder.with_row_selection(sel);
    }
    let stream = builder
        .build()
        .map_err(|e| Error::corrupt(handle.location(), e.to_string()))?;
    stream
        .try_collect()
        .await
        .map_err(|e| Error::corrupt(handle.location(), format!("unreadable segment data: {e}")))
}

/// A row that passed a scan's filters: its order key and where to fetch its record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowHit {
    pub event_time: i64,
    pub seq: Seq,
    pub row: usize,
}

/// Splits `rows` (file-wide row numbers, sorted, all inside `rg`) into at most `parts` runs for
/// separate fetches, cutting only between pages of the record column: the pages a fetch
/// decompresses are the cost of a page of results, and runs that share no page let several cores
/// decompress them at once without any page decompressed twice. Without a page index (or with
/// every row on one page) the rows stay together.
pub fn split_by_record_pages(
    meta: &ArrowReaderMetadata,
    layout: &RecordLayout,
    rg: &RowGroupInfo,
    rows: Vec<usize>,
    parts: usize,
) -> Vec<Vec<usize>> {
    let pages = leaf_index(meta, layout.column()).and_then(|leaf| {
        let index = meta.metadata().offset_index()?;
        Some(
            index
                .get(rg.index)?
                .get(leaf)?
                .page_locations()
                .iter()
                .map(|p| rg.first_row + p.first_row_index as usize)
                .collect::<Vec<usize>>(),
        )
    });
    match pages {
        Some(starts) if parts > 1 && rows.len() > 1 => split_runs(&starts, rows, parts),
        _ => vec![rows],
    }
}

/// [`split_by_record_pages`] given the first row of every page (ascending).
fn split_runs(starts: &[usize], rows: Vec<usize>, parts: usize) -> Vec<Vec<usize>> {
    // The page of each row: the last page starting at or before it.
    let page_of = |r: usize| starts.partition_point(|&s| s <= r).saturating_sub(1);
    let first_page = page_of(rows[0]);
    let distinct = page_of(rows[rows.len() - 1]) - first_page + 1;
    if distinct < 2 {
        return vec![rows];
    }
    let per_part = distinct.div_ceil(parts.min(distinct));
    let mut out: Vec<Vec<usize>> = Vec::new();
    let mut current_bucket = usize::MAX;
    for r in rows {
        let bucket = (page_of(r) - first_page) / per_part;
        if bucket != current_bucket {
            out.push(Vec::new());
            current_bucket = bucket;
        }
        out.last_mut().expect("a run was started").push(r);
    }
    out
}

/// Rows of one row group that match `matcher`, lie in `[start, end]`, have a category in
/// `categories` (when given) and pass `keep(event_time, seq)`.
pub async fn row_group_hits(
    handle: &SegmentHandle,
    meta: &ArrowReaderMetadata,
    rg: &RowGroupInfo,
    matcher: Option<&ColumnMatch>,
    categories: Option<&[String]>,
    keep: &(dyn Fn(i64, Seq) -> bool + Sync),
) -> Result<Vec<RowHit>> {
    let mut columns = vec![schema::SEQ, schema::EVENT_TIME];
    if categories.is_some() {
        columns.push(schema::EVENT_CATEGORY);
    }
    if let Some(col) = matcher.and_then(ColumnMatch::column) {
        columns.push(col);
    }
    let meta = handle.filter_metadata(meta)?;
    let batches = read_columns(handle, &meta, vec![rg.index], &columns, None).await?;
    let bad = |what: &str| Error::corrupt(handle.location(), format!("column {what} has an unexpected type"));
    let mut hits = Vec::new();
    let mut row = rg.first_row;
    for batch in &batches {
        let seqs = batch
            .column_by_name(schema::SEQ)
            .and_then(|c| c.as_primitive_opt::<UInt64Type>())
            .ok_or_else(|| bad("seq"))?;
        let times = batch
            .column_by_name(schema::EVENT_TIME)
            .and_then(|c| c.as_primitive_opt::<TimestampMillisecondType>())
            .ok_or_else(|| bad("event_time"))?;
        let cats = match categories {
            Some(_) => Some(
                batch
                    .column_by_name(schema::EVENT_CATEGORY)
                    .and_then(|c| c.as_string_opt::<i32>())
                    .ok_or_else(|| bad("event_category"))?,
            ),
            None => None,
        };
        let matched = match matcher {
            None => None,
            Some(m) => Some(match_column(batch, m).ok_or_else(|| bad("filter"))?),
        };
        for i in 0..batch.num_rows() {
            let (t, s) = (times.value(i), seqs.value(i));
            let ok = keep(t, s)
                && matched.as_ref().is_none_or(|m| m[i])
                && match (categories, cats) {
                    (Some(want), Some(c)) => c.is_valid(i) && want.iter().any(|w| w == c.value(i)),
                    _ => true,
                };
            if ok {
                hits.push(RowHit {
                    event_time: t,
                    seq: s,
                    row: row + i,
                });
            }
        }
        row += batch.num_rows();
    }
    Ok(hits)
}

fn match_column(batch: &RecordBatch, m: &ColumnMatch) -> Option<Vec<bool>> {
    let n = batch.num_rows();
    match m {
        ColumnMatch::Nothing => Some(vec![false; n]),
        ColumnMatch::Hash { column, hash } => {
            let col = batch.column_by_name(column)?.as_primitive_opt::<UInt64Type>()?;
            Some((0..n).map(|i| col.value(i) == *hash).collect())
        }
        ColumnMatch::Bool(want) => {
            let col = batch.column_by_name(schema::READ_ONLY)?.as_boolean_opt()?;
            Some((0..n).map(|i| col.is_valid(i) && col.value(i) == *want).collect())
        }
        ColumnMatch::Text { column, value } => {
            let col = batch.column_by_name(column)?;
            if let Some(list) = col.as_list_opt::<i32>() {
                let items = TextMatches::of(list.values().as_ref(), value)?;
                let offsets = list.value_offsets();
                Some(
                    (0..n)
                        .map(|i| {
                            list.is_valid(i) && (offsets[i] as usize..offsets[i + 1] as usize).any(|j| items.at(j))
                        })
                        .collect(),
                )
            } else {
                let rows = TextMatches::of(col.as_ref(), value)?;
                Some((0..n).map(|i| rows.at(i)).collect())
            }
        }
    }
}

/// Which entries of a string column equal a value. Dictionary columns (as lookups read them) are
/// compared through their dictionary: each distinct string once, then only integer keys.
enum TextMatches<'a> {
    Plain(&'a arrow_array::StringArray, &'a str),
    Keys(&'a arrow_array::PrimitiveArray<Int32Type>, Vec<bool>),
}

impl<'a> TextMatches<'a> {
    fn of(array: &'a dyn Array, value: &'a str) -> Option<Self> {
        if let Some(d) = array.as_dictionary_opt::<Int32Type>() {
            let values = d.values().as_string_opt::<i32>()?;
            // A dictionary may repeat a string (a reader falling back from dictionary pages).
            let hit = (0..values.len())
                .map(|k| values.is_valid(k) && values.value(k) == value)
                .collect();
            Some(TextMatches::Keys(d.keys(), hit))
        } else {
            Some(TextMatches::Plain(array.as_string_opt::<i32>()?, value))
        }
    }

    fn at(&self, i: usize) -> bool {
        match self {
            TextMatches::Plain(s, value) => s.is_valid(i) && s.value(i) == *value,
            TextMatches::Keys(keys, hit) => {
                keys.is_valid(i) && usize::try_from(keys.value(i)).is_ok_and(|k| hit.get(k).copied().unwrap_or(false))
            }
        }
    }
}

/// Reader metadata that reads the lookup attribute columns as dictionaries (their Parquet
/// encoding): a lookup then compares each distinct value once instead of copying and comparing
/// every row's strings.
pub fn filter_metadata(meta: &ArrowReaderMetadata) -> Result<ArrowReaderMetadata, String> {
    let dictionary = || DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
    let fields: Vec<Field> = meta
        .schema()
        .fields()
        .iter()
        .map(|f| {
            let f = f.as_ref().clone();
            if !DICTIONARY_COLUMNS.contains(&f.name().as_str()) {
                return f;
            }
            match f.data_type().clone() {
                DataType::Utf8 => f.with_data_type(dictionary()),
                DataType::List(item) if item.data_type() == &DataType::Utf8 => f.with_data_type(DataType::List(
                    Arc::new(item.as_ref().clone().with_data_type(dictionary())),
                )),
                _ => f,
            }
        })
        .collect();
    let options = ArrowReaderOptions::new()
        .with_page_index_policy(PageIndexPolicy::Optional)
        .with_schema(Arc::new(Schema::new(fields)));
    ArrowReaderMetadata::try_new(meta.metadata().clone(), options).map_err(|e| e.to_string())
}

/// The string columns lookups filter on.
const DICTIONARY_COLUMNS: [&str; 6] = [
    schema::EVENT_NAME,
    schema::EVENT_SOURCE,
    schema::USERNAME,
    schema::ACCESS_KEY_ID,
    schema::RESOURCE_TYPES,
    schema::RESOURCE_NAMES,
];

/// The record JSON of the given rows (file-wide row numbers), as (row, record) in row order. The
/// text comes shared, as [`cairn_model::EventRecord`] keeps it: one copy out of the block, no
/// more. Only the record column is read: callers know the rows' sequence numbers already (from
/// the seq column of this same immutable file), and decoding that column again for every fetch
/// cost as much as the record pages themselves.
pub async fn fetch_records(
    handle: &SegmentHandle,
    meta: &ArrowReaderMetadata,
    rows: &[usize],
) -> Result<Vec<(usize, Arc<str>)>> {
    let mut rows = rows.to_vec();
    rows.sort_unstable();
    rows.dedup();
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let layout = handle.record_layout(meta)?;
    let groups = row_groups(meta);
    // Only the row groups holding wanted rows are read; the selection is relative to them. With
    // blocks, every row of a wanted row's block is read (the block is in its first row).
    let mut selected = Vec::new();
    let mut ranges: Vec<std::ops::Range<usize>> = Vec::new();
    let mut base = 0;
    for rg in &groups {
        let inside = rg.rows_within(&rows);
        if inside.is_empty() {
            continue;
        }
        selected.push(rg.index);
        for r in inside {
            let at = r - rg.first_row;
            let range = match &*layout {
                RecordLayout::Rows => at..at + 1,
                RecordLayout::Blocks { records, .. } => {
                    let start = at - at % records;
                    start..(start + records).min(rg.rows)
                }
            };
            let range = base + range.start..base + range.end;
            match ranges.last_mut() {
                // Rows of one block (or adjacent blocks) make one range.
                Some(last) if range.start <= last.end => last.end = last.end.max(range.end),
                _ => ranges.push(range),
            }
        }
        base += rg.rows;
    }
    // Back to file-wide numbers: the rows the batches hold, in order.
    let read_rows = selected_rows(&groups, &selected, &ranges);
    let selection = RowSelection::from_consecutive_ranges(ranges.into_iter(), base);
    let column = layout.column();
    let batches = read_columns(handle, meta, selected, &[column], Some(selection)).await?;
    let found = match &*layout {
        RecordLayout::Rows => {
            let mut out = Vec::with_capacity(rows.len());
            for batch in &batches {
                let records = column_of(handle, batch, column, |c| c.as_string_opt::<i32>())?;
                for i in 0..batch.num_rows() {
                    out.push((out.len(), Arc::<str>::from(records.value(i))));
                }
            }
            out
        }
        RecordLayout::Blocks { dictionary, .. } => {
            // Only the wanted rows of each block are kept (and copied out of it).
            let mut wanted = rows.iter().peekable();
            let keep: Vec<bool> = read_rows.iter().map(|r| wanted.next_if_eq(&r).is_some()).collect();
            if wanted.peek().is_some() {
                return Err(Error::corrupt(
                    handle.location(),
                    "record blocks do not cover their rows",
                ));
            }
            unpack_blocks(handle, &batches, dictionary.as_ref(), Some(&keep), |r: &str| {
                Arc::<str>::from(r)
            })?
        }
    };
    found
        .into_iter()
        .map(|(at, record)| match read_rows.get(at) {
            Some(&row) => Ok((row, record)),
            None => Err(Error::corrupt(handle.location(), "more records than rows selected")),
        })
        .collect()
}

/// The file-wide row numbers selected by `ranges` (relative to the concatenation of the
/// `selected` row groups), in order.
fn selected_rows(groups: &[RowGroupInfo], selected: &[usize], ranges: &[std::ops::Range<usize>]) -> Vec<usize> {
    // Start of each selected row group in the concatenation, and in the file.
    let mut starts = Vec::with_capacity(selected.len());
    let mut base = 0;
    for &i in selected {
        starts.push((base, groups[i].first_row));
        base += groups[i].rows;
    }
    let mut out = Vec::new();
    for r in ranges {
        for at in r.clone() {
            let k = starts.partition_point(|&(b, _)| b <= at) - 1;
            out.push(starts[k].1 + (at - starts[k].0));
        }
    }
    out
}

/// The records of the rows of `batches` (their record_block column, whole blocks) that `keep`
/// marks (all when None), each made by `make` from its text, with its position among the rows.
fn unpack_blocks<T>(
    handle: &SegmentHandle,
    batches: &[RecordBatch],
    dictionary: Option<&blocks::Dictionary>,
    keep: Option<&[bool]>,
    make: impl Fn(&str) -> T,
) -> Result<Vec<(usize, T)>> {
    let corrupt = |what: String| Error::corrupt(handle.location(), what);
    let mut reader = blocks::BlockReader::new(dictionary)
        .map_err(|e| Error::Unavailable(format!("zstd decompressor could not be created: {e}")))?;
    let mut out = Vec::new();
    // The block being read (one buffer for all of them) and the next of its records.
    let mut block = blocks::Block::default();
    let mut next = 0;
    let mut index = 0;
    for batch in batches {
        let blocks = column_of(handle, batch, schema::RECORD_BLOCK, |c| c.as_binary_opt::<i32>())?;
        for i in 0..batch.num_rows() {
            if blocks.is_valid(i) {
                if next < block.len() {
                    return Err(corrupt("a record block holds more records than rows".into()));
                }
                reader
                    .read_into(blocks.value(i), &mut block)
                    .map_err(|e| corrupt(format!("record block: {e}")))?;
                next = 0;
            }
            if next >= block.len() {
                return Err(corrupt(format!(
                    "no record for row {index} of the selection in its block"
                )));
            }
            if keep.is_none_or(|k| k.get(index).copied().unwrap_or(false)) {
                let record = block
                    .record(next)
                    .map_err(|e| corrupt(format!("record at row {index} of the selection: {e}")))?;
                out.push((index, make(record)));
            }
            next += 1;
            index += 1;
        }
    }
    if next < block.len() {
        return Err(corrupt("a record block holds more records than rows".into()));
    }
    Ok(out)
}

/// Every (seq, record JSON) of a segment, in file order.
pub async fn read_all(handle: &SegmentHandle) -> Result<Vec<(Seq, String)>> {
    let meta = handle.reader_metadata().await?;
    let layout = handle.record_layout(&meta)?;
    let all: Vec<usize> = (0..meta.metadata().num_row_groups()).collect();
    let batches = read_columns(handle, &meta, all, &[schema::SEQ, layout.column()], None).await?;
    match &*layout {
        RecordLayout::Rows => collect_seq_records(handle, &batches),
        RecordLayout::Blocks { dictionary, .. } => {
            let mut seqs = Vec::new();
            for batch in &batches {
                let batch_seqs = column_of(handle, batch, schema::SEQ, |c| c.as_primitive_opt::<UInt64Type>())?;
                seqs.extend(batch_seqs.values().iter().copied());
            }
            let records = unpack_blocks(handle, &batches, dictionary.as_ref(), None, str::to_string)?;
            if records.len() != seqs.len() {
                return Err(Error::corrupt(handle.location(), "record blocks do not match the rows"));
            }
            Ok(seqs.into_iter().zip(records.into_iter().map(|(_, r)| r)).collect())
        }
    }
}

/// The sequence numbers in `(after, through]` of `handle`, each with its file-wide row number,
/// reading only the seq column (small, delta-encoded) of the row groups whose statistics say they
/// may hold some. A consumer catching up on a backlog picks the page it wants from these before
/// any record is decompressed.
pub async fn seqs_in_range(
    handle: &SegmentHandle,
    after: Seq,
    through: Seq,
) -> Result<(ArrowReaderMetadata, Vec<(Seq, usize)>)> {
    let meta = handle.reader_metadata().await?;
    let seq_col = schema::column_index(schema::SEQ);
    let stats = meta.metadata().row_groups();
    let groups: Vec<RowGroupInfo> = row_groups(&meta)
        .into_iter()
        .filter(|g| match stats[g.index].column(seq_col).statistics() {
            // Sequence numbers are stored as INT64 bit patterns of u64 values.
            Some(Statistics::Int64(s)) => match (s.min_opt(), s.max_opt()) {
                (Some(&min), Some(&max)) => (max as u64) > after && (min as u64) <= through,
                _ => true,
            },
            // No statistics: read it.
            _ => true,
        })
        .collect();
    if groups.is_empty() {
        return Ok((meta, Vec::new()));
    }
    let batches = read_columns(
        handle,
        &meta,
        groups.iter().map(|g| g.index).collect(),
        &[schema::SEQ],
        None,
    )
    .await?;
    // Batches come in row group order and may split a row group: walk both together.
    let mut out = Vec::new();
    let (mut group, mut offset) = (0, 0);
    for batch in &batches {
        let seqs = batch
            .column_by_name(schema::SEQ)
            .and_then(|c| c.as_primitive_opt::<UInt64Type>())
            .ok_or_else(|| Error::corrupt(handle.location(), "segment lacks its seq column"))?;
        for i in 0..batch.num_rows() {
            while offset >= groups[group].rows {
                group += 1;
                offset = 0;
            }
            let seq = seqs.value(i);
            if seq > after && seq <= through {
                out.push((seq, groups[group].first_row + offset));
            }
            offset += 1;
        }
    }
    Ok((meta, out))
}

/// The column `column` of `batch`, cast by `cast` to the array type it has (format 1 and 2 store
/// records differently).
fn column_of<'b, T: ?Sized>(
    handle: &SegmentHandle,
    batch: &'b RecordBatch,
    column: &str,
    cast: impl Fn(&'b arrow_array::ArrayRef) -> Option<&'b T>,
) -> Result<&'b T> {
    batch
        .column_by_name(column)
        .and_then(cast)
        .ok_or_else(|| Error::corrupt(handle.location(), format!("segment lacks its {column} column")))
}

/// The seq column of `batch` and its record column `column`, cast by `cast` (format 1 and 2
/// store records differently).
fn seqs_and_records<'b, T: ?Sized>(
    handle: &SegmentHandle,
    batch: &'b RecordBatch,
    column: &str,
    cast: impl Fn(&'b arrow_array::ArrayRef) -> Option<&'b T>,
) -> Result<(&'b arrow_array::UInt64Array, &'b T)> {
    let seqs = column_of(handle, batch, schema::SEQ, |c| c.as_primitive_opt::<UInt64Type>())?;
    Ok((seqs, column_of(handle, batch, column, cast)?))
}

fn collect_seq_records(handle: &SegmentHandle, batches: &[RecordBatch]) -> Result<Vec<(Seq, String)>> {
    let mut out = Vec::new();
    for batch in batches {
        let (seqs, recs) = seqs_and_records(handle, batch, schema::RECORD, |c| c.as_string_opt::<i32>())?;
        for i in 0..batch.num_rows() {
            out.push((seqs.value(i), recs.value(i).to_string()));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::segment::SegmentMeta;
    use crate::store::SegmentStore;

    /// A segment written before record blocks existed still reads: whole, and row by row.
    #[tokio::test]
    async fn format_1_segments_stay_readable() {
        let bytes = include_bytes!("../../tests/fixtures/format1-segment.parquet");
        let store = SegmentStore::from_object_store(Arc::new(object_store::memory::InMemory::new()), "memory");
        store.put_durable("seg.parquet", bytes.to_vec()).await.unwrap();
        let meta = SegmentMeta {
            id: "format1".into(),
            path: "seg.parquet".into(),
            account_id: "457448411975".into(),
            region: "apiso-northsouth-3r".into(),
            min_event_time: 0,
            max_event_time: i64::MAX,
            min_seq: 0,
            max_seq: u64::MAX,
            max_ingest_time: 0,
            row_count: 0,
            size_bytes: bytes.len() as u64,
            raw_bytes: 0,
            checksum: crc32c::crc32c(bytes),
            level: 0,
        };
        let handle = SegmentHandle::new(meta, store, None);
        let all = read_all(&handle).await.unwrap();
        assert!(all.len() > 10, "{} records", all.len());
        for (_, json) in &all {
            let record = cairn_model::EventRecord::from_compact_json(json).unwrap();
            assert_eq!(record.index().account_id, "457448411975");
        }
        let meta = handle.reader_metadata().await.unwrap();
        assert!(matches!(*handle.record_layout(&meta).unwrap(), RecordLayout::Rows));
        let rows = [0, 3, all.len() - 1];
        let got = fetch_records(&handle, &meta, &rows).await.unwrap();
        assert_eq!(
            got,
            rows.iter()
                .map(|&r| (r, Arc::<str>::from(all[r].1.as_str())))
                .collect::<Vec<_>>()
        );

        // Lookup columns are read as dictionaries, and match exactly the rows brute force does.
        let filter_meta = handle.filter_metadata(&meta).unwrap();
        let batches = read_columns(
            &handle,
            &filter_meta,
            vec![0],
            &[schema::EVENT_NAME, schema::RESOURCE_NAMES],
            None,
        )
        .await
        .unwrap();
        assert!(matches!(batches[0].column(0).data_type(), DataType::Dictionary(..)));
        assert!(
            matches!(batches[0].column(1).data_type(), DataType::List(item) if matches!(item.data_type(), DataType::Dictionary(..)))
        );
        let records: Vec<cairn_model::EventRecord> = all
            .iter()
            .map(|(_, j)| cairn_model::EventRecord::from_compact_json(j).unwrap())
            .collect();
        let groups = row_groups(&meta);
        for (attr, column) in [
            (cairn_model::LookupAttribute::EventName, schema::EVENT_NAME),
            (cairn_model::LookupAttribute::ResourceName, schema::RESOURCE_NAMES),
            (cairn_model::LookupAttribute::Username, schema::USERNAME),
        ] {
            let mut values: Vec<String> = records
                .iter()
                .filter_map(|r| {
                    let ix = r.index();
                    match attr {
                        cairn_model::LookupAttribute::EventName => ix.event_name.clone(),
                        cairn_model::LookupAttribute::Username => ix.username.clone(),
                        _ => ix.resources.first().and_then(|r| r.name.clone()),
                    }
                })
                .collect();
            values.sort();
            values.dedup();
            assert!(!values.is_empty(), "{attr:?}");
            for value in values
                .iter()
                .take(5)
                .chain(std::iter::once(&"no such value".to_string()))
            {
                let m = ColumnMatch::Text {
                    column,
                    value: value.clone(),
                };
                let mut got = Vec::new();
                for rg in &groups {
                    got.extend(
                        row_group_hits(&handle, &meta, rg, Some(&m), None, &|_, _| true)
                            .await
                            .unwrap()
                            .iter()
                            .map(|h| h.row),
                    );
                }
                let filter = cairn_model::LookupFilter::new(attr, value.clone());
                let want: Vec<usize> = (0..records.len())
                    .filter(|&i| crate::scan::index_matches(records[i].index(), &filter))
                    .collect();
                assert_eq!(got, want, "{attr:?} = {value}");
            }
        }
    }

    #[test]
    fn runs_split_between_pages_only() {
        // Pages start at rows 100, 200, ... 900.
        let starts: Vec<usize> = (1..10).map(|p| p * 100).collect();
        let rows = vec![100, 150, 199, 200, 250, 480, 500, 777, 905];
        let runs = split_runs(&starts, rows.clone(), 2);
        assert_eq!(runs.concat(), rows, "every row once, in order");
        assert!(runs.len() <= 2);
        // No page is in two runs.
        let page = |r: usize| r / 100;
        for w in runs.windows(2) {
            assert!(page(*w[0].last().unwrap()) < page(w[1][0]));
        }
        assert_eq!(split_runs(&starts, vec![120, 130, 199], 2), vec![vec![120, 130, 199]]);
        assert_eq!(split_runs(&starts, rows.clone(), 1), vec![rows.clone()]);
        let many = split_runs(&starts, rows.clone(), 100);
        assert_eq!(many.concat(), rows);
        assert!(many.iter().all(|run| run.iter().all(|r| page(*r) == page(run[0]))));
        // Rows before the first page's start (not possible in a real file) stay in the first.
        assert_eq!(split_runs(&starts, vec![5, 150], 2).concat(), vec![5, 150]);
    }
}
