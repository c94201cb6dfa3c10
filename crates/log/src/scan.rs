//! Lookups: events of one (account, region) in a time range, optionally filtered by one lookup
//! attribute, newest first, a page at a time. A page ends with a [`ScanPosition`] (the order key of
//! its last event), so the next page continues exactly there whatever flushes or compactions
//! happened in between.

use std::collections::HashMap;
use std::sync::Arc;

use cairn_model::{EventRecord, EventTime, LookupAttribute, LookupFilter, RecordIndex};
use parquet::arrow::arrow_reader::ArrowReaderMetadata;

use crate::cache::{HitKey, RecordKey, ScanCache};
use crate::error::{Error, Result};
use crate::memtable::MemSnapshot;
use crate::segment::read::{self, ColumnMatch};
use crate::segment::{SegmentHandle, SegmentSet, schema};
use crate::{Seq, StoredEvent};

#[derive(Debug, Clone)]
pub struct ScanRequest {
    pub account_id: String,
    pub region: String,
    /// Inclusive bounds on event time.
    pub start: EventTime,
    pub end: EventTime,
    pub filter: Option<LookupFilter>,
    /// Event categories to return (e.g. `["Management"]` for the event history); None for all.
    pub categories: Option<Vec<String>>,
    /// Page size (at least 1).
    pub limit: usize,
    /// Continue after this position (exclusive), from a previous page.
    pub after: Option<ScanPosition>,
    /// Called on each record fetched from a segment, on the task or thread that fetched it (which
    /// may be a read-ahead for later pages): work done here is kept with the cached record and is
    /// off the path of the page that shows it. LookupEvents renders its answer entries here.
    pub prepare: Option<fn(&EventRecord)>,
}

impl ScanRequest {
    pub fn new(account_id: impl Into<String>, region: impl Into<String>) -> Self {
        ScanRequest {
            account_id: account_id.into(),
            region: region.into(),
            start: EventTime::MIN,
            end: EventTime::MAX,
            filter: None,
            categories: None,
            limit: 50,
            after: None,
            prepare: None,
        }
    }
}

/// Where a newest-first scan stopped: the order key (event time, sequence number) of the last
/// event returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ScanPosition {
    pub event_time: EventTime,
    pub seq: Seq,
}

impl ScanPosition {
    /// 16 bytes; callers that hand positions to clients should seal them (MAC) first.
    pub fn to_bytes(self) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&self.event_time.millis().to_be_bytes());
        b[8..].copy_from_slice(&self.seq.to_be_bytes());
        b
    }

    pub fn from_bytes(b: &[u8]) -> Option<Self> {
        let b: &[u8; 16] = b.try_into().ok()?;
        Some(ScanPosition {
            event_time: EventTime::from_millis(i64::from_be_bytes(b[..8].try_into().ok()?)),
            seq: u64::from_be_bytes(b[8..].try_into().ok()?),
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanStats {
    pub memtable_events_examined: usize,
    pub segments_considered: usize,
    pub row_groups_read: usize,
    pub row_groups_pruned: usize,
    /// Row groups whose matching rows came from the lookup cache.
    pub row_groups_cached: usize,
    /// Records fetched from segments (the rest of a page came from memory).
    pub records_fetched: usize,
}

#[derive(Debug, Clone)]
pub struct ScanPage {
    pub events: Vec<StoredEvent>,
    /// Present when more events may follow.
    pub next: Option<ScanPosition>,
    pub stats: ScanStats,
}

/// What a scan sees: unflushed events and the segment set, taken together.
pub(crate) struct Snapshot {
    pub mem: MemSnapshot,
    pub segments: Arc<SegmentSet>,
    pub cache: Arc<ScanCache>,
}

/// Pages of hits kept beyond the page asked for, whose records are fetched in the background: a
/// client paging on is then served from memory.
const READAHEAD_PAGES: usize = 8;
/// ...but no more records than this (large pages, as exports read, need no help).
const MAX_READAHEAD: usize = 400;

enum Source {
    Mem(EventRecord),
    Segment { segment: usize, row: usize },
}

struct Hit {
    key: (i64, Seq),
    source: Source,
}

fn compile(filter: &LookupFilter) -> ColumnMatch {
    match filter.attribute {
        LookupAttribute::ReadOnly => match filter.value.to_ascii_lowercase().as_str() {
            "true" => ColumnMatch::Bool(true),
            "false" => ColumnMatch::Bool(false),
            _ => ColumnMatch::Nothing,
        },
        LookupAttribute::EventId => ColumnMatch::Hash {
            column: schema::EVENT_ID_HASH,
            hash: schema::event_id_hash(&filter.value),
        },
        attr => ColumnMatch::Text {
            column: schema::attribute_column(attr),
            value: filter.value.clone(),
        },
    }
}

/// Whether an unflushed event matches the filter; the same rule the segment columns encode.
pub fn index_matches(ix: &RecordIndex, filter: &LookupFilter) -> bool {
    let v = filter.value.as_str();
    match filter.attribute {
        LookupAttribute::EventId => ix.event_id == v,
        LookupAttribute::EventName => ix.event_name.as_deref() == Some(v),
        LookupAttribute::EventSource => ix.event_source.as_deref() == Some(v),
        LookupAttribute::Username => ix.username.as_deref() == Some(v),
        LookupAttribute::AccessKeyId => ix.access_key_id.as_deref() == Some(v),
        LookupAttribute::ReadOnly => match v.to_ascii_lowercase().as_str() {
            "true" => ix.read_only == Some(true),
            "false" => ix.read_only == Some(false),
            _ => false,
        },
        LookupAttribute::ResourceType => ix.resources.iter().any(|r| r.resource_type.as_deref() == Some(v)),
        LookupAttribute::ResourceName => ix
            .resources
            .iter()
            .any(|r| r.name.as_deref() == Some(v) || r.arn.as_deref() == Some(v)),
    }
}

/// Cores to read row groups on (asked once: the answer comes from cgroup files).
fn parallelism() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// The cache key of what a row group scan matches: the filter and the categories, spelled out.
fn hit_key_of(matcher: Option<&ColumnMatch>, categories: Option<&[String]>) -> String {
    let f = match matcher {
        None | Some(ColumnMatch::Nothing) => String::new(),
        Some(ColumnMatch::Text { column, value }) => format!("{column}={value}"),
        Some(ColumnMatch::Hash { column, hash }) => format!("{column}#{hash}"),
        Some(ColumnMatch::Bool(b)) => format!("read_only={b}"),
    };
    match categories {
        None => f,
        Some(c) => format!("{f}\n{}", c.join("\n")),
    }
}

/// Keeps the `want` newest hits, newest first.
fn trim(hits: &mut Vec<Hit>, want: usize) {
    hits.sort_unstable_by_key(|h| std::cmp::Reverse(h.key));
    hits.dedup_by_key(|h| h.key.1);
    hits.truncate(want);
}

pub(crate) async fn run(snap: &Snapshot, req: &ScanRequest) -> Result<ScanPage> {
    if req.limit == 0 {
        return Err(Error::InvalidInput("a scan needs a limit of at least 1".into()));
    }
    let want = req.limit + 1;
    // Read ahead only for a client that pages: a first page is often the only one wanted, and
    // its latency is what people feel.
    let retained = if req.after.is_some() {
        want + (req.limit * READAHEAD_PAGES).min(MAX_READAHEAD)
    } else {
        want
    };
    let start = req.start.millis();
    let end = req.end.millis();
    let after = req.after.map(|p| (p.event_time.millis(), p.seq));
    // Newest event time any result may have.
    let upper_time = after.map_or(end, |(t, _)| t.min(end));
    let keep = move |t: i64, s: Seq| t >= start && t <= end && after.is_none_or(|a| (t, s) < a);
    let categories = req.categories.as_deref();
    let matcher = req.filter.as_ref().map(compile);
    let hit_key = hit_key_of(matcher.as_ref(), categories);
    let mut stats = ScanStats::default();
    let mut hits: Vec<Hit> = Vec::new();
    let parallelism = parallelism();

    // A chunk whose events all lie outside the times a result may have is passed over whole:
    // pages deep in the past skip the unflushed events (the newest) without touching them.
    let chunks = snap
        .mem
        .chunks
        .iter()
        .filter(|c| c.max_time >= start && c.min_time <= upper_time);
    for e in chunks.flat_map(|c| c.iter()) {
        stats.memtable_events_examined += 1;
        let ix = e.record.index();
        // The integer test first: pages deep in the past skip every unflushed event on it.
        if keep(ix.event_time.millis(), e.seq)
            && ix.account_id == req.account_id
            && ix.region == req.region
            && categories.is_none_or(|c| c.contains(&ix.event_category))
            && req.filter.as_ref().is_none_or(|f| index_matches(ix, f))
        {
            hits.push(Hit {
                key: (ix.event_time.millis(), e.seq),
                source: Source::Mem(e.record.clone()),
            });
        }
    }
    trim(&mut hits, retained);

    let segments = snap.segments.partition(&req.account_id, &req.region);
    // `floor(hits, n)`: the oldest time still able to be among the first `n` hits.
    let floor = |hits: &Vec<Hit>, n: usize| (hits.len() >= n).then(|| hits[n - 1].key.0);
    // A client that pages gets its next pages' records read ahead, but only of hits already
    // found: with a rare value, the row groups this page needs hold few more, and each next page
    // would find its first records by reading a row group on its own path and fetching them
    // there. So a paging lookup also reads up to a wave of row groups past its page (one per
    // core), until the read-ahead window is full: over a few pages the hits run ahead of the
    // pages, and the cost per page is the same row groups read, earlier.
    let mut past_page_reads = if req.after.is_some() { parallelism } else { 0 };
    // `found` is newest first: the rows past the position (or newer than `end`) are a prefix,
    // and no more than `retained` of the rest can be kept.
    let add = |hits: &mut Vec<Hit>, si: usize, found: &[read::RowHit]| {
        let first = found.partition_point(|h| h.event_time > end || after.is_some_and(|a| (h.event_time, h.seq) >= a));
        hits.extend(
            found[first..]
                .iter()
                .take_while(|h| h.event_time >= start)
                .take(retained)
                .map(|h| Hit {
                    key: (h.event_time, h.seq),
                    source: Source::Segment {
                        segment: si,
                        row: h.row,
                    },
                }),
        );
    };
    if !matches!(matcher, Some(ColumnMatch::Nothing)) {
        for (si, seg) in segments.iter().enumerate() {
            if seg.meta.max_event_time < start || seg.meta.min_event_time > upper_time {
                continue;
            }
            // Segments come newest first: once the page is full with events newer than this
            // segment's newest, no later segment can contribute (nor to the read-ahead window,
            // once it is full too or its reads are spent).
            if floor(&hits, want).is_some_and(|f| f > seg.meta.max_event_time)
                && (past_page_reads == 0 || floor(&hits, retained).is_some_and(|f| f > seg.meta.max_event_time))
            {
                break;
            }
            stats.segments_considered += 1;
            let meta = seg.reader_metadata().await?;
            let seg_id: Arc<str> = Arc::from(seg.meta.id.as_str());
            // Row groups newest first, up to one per core read at once: a rare value can mean
            // reading many of them, and decoding is what costs.
            let groups: Vec<read::RowGroupInfo> = read::row_groups(&meta).into_iter().rev().collect();
            let mut next = 0;
            while next < groups.len() {
                let mut wave = Vec::new();
                while next < groups.len() && wave.len() < parallelism {
                    let rg = groups[next];
                    next += 1;
                    let past_page = floor(&hits, want).is_some_and(|f| f > rg.max_time);
                    if rg.max_time < start
                        || rg.min_time > upper_time
                        || (past_page && floor(&hits, retained).is_some_and(|f| f > rg.max_time))
                    {
                        stats.row_groups_pruned += 1;
                        continue;
                    }
                    let key: HitKey = (seg_id.clone(), rg.index, hit_key.clone());
                    if let Some(found) = snap.cache.hits.get(&key) {
                        stats.row_groups_cached += 1;
                        add(&mut hits, si, &found);
                        // `floor` needs the hits in order.
                        trim(&mut hits, retained);
                        continue;
                    }
                    let maybe = match &matcher {
                        Some(ColumnMatch::Text { column, value }) => {
                            read::bloom_might_contain(seg, &meta, rg.index, column, value.as_str()).await?
                        }
                        Some(ColumnMatch::Hash { column, hash }) => {
                            read::bloom_might_contain(seg, &meta, rg.index, column, hash).await?
                        }
                        _ => true,
                    };
                    if !maybe {
                        stats.row_groups_pruned += 1;
                        continue;
                    }
                    if past_page {
                        if past_page_reads == 0 {
                            stats.row_groups_pruned += 1;
                            continue;
                        }
                        past_page_reads -= 1;
                    }
                    stats.row_groups_read += 1;
                    let (seg, meta, matcher, categories) =
                        (seg.clone(), meta.clone(), matcher.clone(), req.categories.clone());
                    // Every matching row, whatever the time bounds and position, so that the
                    // cached answer serves any page of any lookup with this filter.
                    wave.push((
                        key,
                        tokio::spawn(async move {
                            read::row_group_hits(&seg, &meta, &rg, matcher.as_ref(), categories.as_deref(), &|_, _| {
                                true
                            })
                            .await
                        }),
                    ));
                }
                for (key, task) in wave {
                    let mut found = task
                        .await
                        .map_err(|e| Error::Unavailable(format!("lookup task failed: {e}")))??;
                    found.sort_unstable_by_key(|h| std::cmp::Reverse((h.event_time, h.seq)));
                    add(&mut hits, si, &found);
                    let bytes = found.len() * std::mem::size_of::<read::RowHit>() + 128;
                    snap.cache.hits.insert(key, Arc::new(found), bytes);
                }
                trim(&mut hits, retained);
            }
        }
    }

    let more = hits.len() > req.limit;
    let ahead = hits.split_off(req.limit.min(hits.len()));
    let next = if more {
        hits.last().map(|h| ScanPosition {
            event_time: EventTime::from_millis(h.key.0),
            seq: h.key.1,
        })
    } else {
        None
    };
    let mut events = materialize(hits, &ahead, segments, &snap.cache, req.prepare, &mut stats).await?;
    // Segments match event ids by hash; the record has the final word.
    if let Some(f) = req.filter.as_ref().filter(|f| f.attribute == LookupAttribute::EventId) {
        events.retain(|e| index_matches(e.record.index(), f));
    }
    Ok(ScanPage { events, next, stats })
}

/// Turns hits into events: records from the cache, or fetched from segments. The records of the
/// `ahead` hits (the next pages of a client that pages) are fetched in the background: while the
/// client reads this page and asks for the next, another core decompresses what it will need.
async fn materialize(
    hits: Vec<Hit>,
    ahead: &[Hit],
    segments: &[Arc<SegmentHandle>],
    cache: &Arc<ScanCache>,
    prepare: Option<fn(&EventRecord)>,
    stats: &mut ScanStats,
) -> Result<Vec<StoredEvent>> {
    let page = hits.len();
    let mut found: HashMap<Seq, EventRecord> = HashMap::new();
    let mut wanted: HashMap<usize, Vec<usize>> = HashMap::new();
    let mut waits = Vec::new();
    let keyed = segment_rows(&hits);
    let seq_at: HashMap<(usize, usize), Seq> = keyed.iter().map(|(seq, at)| (*at, *seq)).collect();
    let cached = cache.records.get_many(keyed.iter().map(|(k, _)| k));
    for ((seq, (segment, row)), record) in keyed.into_iter().zip(cached) {
        match record {
            Some(r) => {
                found.insert(seq, r);
            }
            None => match cache.in_flight(seq) {
                Some(done) => waits.push((done, seq, segment, row)),
                None => wanted.entry(segment).or_default().push(row),
            },
        }
    }
    // Records a background read-ahead is fetching: wait for it rather than fetch them twice.
    for (mut done, seq, segment, row) in waits {
        let _ = done.wait_for(|d| *d).await;
        match cache.records.get(&seq) {
            Some(r) => {
                found.insert(seq, r);
            }
            // Failed, or already evicted: fetch it here.
            None => wanted.entry(segment).or_default().push(row),
        }
    }
    let fetched = with_seqs(fetch(wanted, segments, prepare, Urgency::Now).await?, &seq_at);
    stats.records_fetched += fetched.len();
    cache.records.insert_many(
        fetched
            .iter()
            .map(|(seq, record)| (*seq, record.clone(), cached_size(record))),
    );
    found.extend(fetched);

    let Some(pool) = cache.read_ahead() else {
        return assemble(hits, found, segments);
    };
    let later = cache.not_fetched(segment_rows(ahead));
    // One fetch per page's worth, each marked in flight on its own, in page order: the page a
    // client asks for next waits for its own records only, not for those of the pages after
    // it, and the read-ahead threads can work on two pages' records at once.
    for chunk in later.chunks(page.max(1)) {
        let mut rows: HashMap<usize, Vec<usize>> = HashMap::new();
        let mut seq_at: HashMap<(usize, usize), Seq> = HashMap::new();
        for (seq, (segment, row)) in chunk {
            rows.entry(*segment).or_default().push(*row);
            seq_at.insert((*segment, *row), *seq);
        }
        let in_flight = cache.start_fetch(chunk.iter().map(|(seq, _)| *seq).collect());
        let segments = segments.to_vec();
        let runtime = tokio::runtime::Handle::current();
        // Refused when the read-ahead threads are busy enough: this lookup then does without
        // (dropping the job ends its in-flight mark).
        let queued = pool.try_submit(move || {
            match runtime.block_on(fetch(rows, &segments, prepare, Urgency::Ahead)) {
                Ok(records) => in_flight
                    .cache
                    .records
                    .insert_many(with_seqs(records, &seq_at).into_iter().map(|(seq, record)| {
                        let bytes = cached_size(&record);
                        (seq, record, bytes)
                    })),
                // The page that needs these records fetches them itself and reports the error.
                Err(e) => tracing::debug!(error = %e, "lookup read-ahead failed"),
            }
            drop(in_flight);
        });
        if !queued {
            metrics::counter!("cairn_log_readahead_skipped_total").increment(1);
            break;
        }
    }
    assemble(hits, found, segments)
}

/// The page's events, in the order of its hits.
fn assemble(
    hits: Vec<Hit>,
    mut found: HashMap<Seq, EventRecord>,
    segments: &[Arc<SegmentHandle>],
) -> Result<Vec<StoredEvent>> {
    let mut events = Vec::with_capacity(hits.len());
    for h in hits {
        let record = match h.source {
            Source::Mem(r) => r,
            Source::Segment { segment, .. } => found.remove(&h.key.1).ok_or_else(|| {
                Error::corrupt(
                    segments[segment].location(),
                    format!("row for sequence {} not found", h.key.1),
                )
            })?,
        };
        events.push(StoredEvent { seq: h.key.1, record });
    }
    Ok(events)
}

/// The cache keys (sequence numbers) of the hits in segments, with their segment and row.
fn segment_rows(hits: &[Hit]) -> Vec<(RecordKey, (usize, usize))> {
    hits.iter()
        .filter_map(|h| match h.source {
            Source::Segment { segment, row } => Some((h.key.1, (segment, row))),
            Source::Mem(_) => None,
        })
        .collect()
}

/// Fetched records, (segment, row, record), as (seq, record): the hits that asked for them know
/// their sequence numbers, so fetches need not read the seq column again.
fn with_seqs(
    fetched: Vec<(usize, usize, EventRecord)>,
    seq_at: &HashMap<(usize, usize), Seq>,
) -> Vec<(Seq, EventRecord)> {
    fetched
        .into_iter()
        .filter_map(|(si, row, record)| Some((*seq_at.get(&(si, row))?, record)))
        .collect()
}

/// What a cached record counts against the cache's budget.
fn cached_size(record: &EventRecord) -> usize {
    record.memory_size()
}

/// The records of `wanted` (rows by segment), as (segment, row, record). One task per row group,
/// and row groups split at record page boundaries when there are fewer than cores: decompressing
/// and parsing records is the costly part of a page of results, and separate tasks spread it
/// over every core.
async fn fetch(
    wanted: HashMap<usize, Vec<usize>>,
    segments: &[Arc<SegmentHandle>],
    prepare: Option<fn(&EventRecord)>,
    urgency: Urgency,
) -> Result<Vec<(usize, usize, EventRecord)>> {
    let mut groups = Vec::new();
    for (si, mut rows) in wanted {
        rows.sort_unstable();
        let seg = segments[si].clone();
        let meta = seg.reader_metadata().await?;
        let layout = seg.record_layout(&meta)?;
        for rg in read::row_groups(&meta) {
            let inside = rg.rows_within(&rows);
            if !inside.is_empty() {
                groups.push((si, seg.clone(), meta.clone(), layout.clone(), rg, inside));
            }
        }
    }
    let mut out = Vec::new();
    if urgency == Urgency::Ahead {
        // One run after the other on the read-ahead thread: the other threads and cores stay
        // free for the pages being answered (and their clients).
        for (si, seg, meta, _, _, rows) in groups {
            out.extend(fetch_run(si, &seg, &meta, &rows, prepare).await?);
        }
        return Ok(out);
    }
    let parts = parallelism().div_ceil(groups.len().max(1));
    let mut tasks = Vec::new();
    for (si, seg, meta, layout, rg, inside) in groups {
        for run in read::split_by_record_pages(&meta, &layout, &rg, inside, parts) {
            let (seg, meta) = (seg.clone(), meta.clone());
            tasks.push(tokio::spawn(
                async move { fetch_run(si, &seg, &meta, &run, prepare).await },
            ));
        }
    }
    for t in tasks {
        out.extend(
            t.await
                .map_err(|e| Error::Unavailable(format!("record fetch task failed: {e}")))??,
        );
    }
    Ok(out)
}

/// Who waits for a [`fetch`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Urgency {
    /// The page being answered: spread over every core.
    Now,
    /// A read-ahead for later pages: on a read-ahead thread, one job per page's worth.
    Ahead,
}

/// The records of `rows` (inside one row group of segment `si`), parsed and prepared.
async fn fetch_run(
    si: usize,
    seg: &SegmentHandle,
    meta: &ArrowReaderMetadata,
    rows: &[usize],
    prepare: Option<fn(&EventRecord)>,
) -> Result<Vec<(usize, usize, EventRecord)>> {
    let fetched = read::fetch_records(seg, meta, rows).await?;
    fetched
        .into_iter()
        .map(|(row, json)| {
            let record = EventRecord::from_compact_arc(json)
                .map_err(|e| Error::corrupt(seg.location(), format!("the record of row {row} is unreadable: {e}")))?;
            if let Some(prepare) = prepare {
                prepare(&record);
            }
            Ok((si, row, record))
        })
        .collect()
}
