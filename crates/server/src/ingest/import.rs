//! Imports of CloudTrail log files: `{"Records":[...]}` files, JSON arrays, single records and
//! NDJSON, gzipped or not. Records are stored unchanged, under their own `recipientAccountId`.
//!
//! Imports are idempotent per file: a file's records are appended in deterministic batches, and
//! the catalog remembers (by the SHA-256 of the file's content) how many batches are durable. A
//! file imported before is skipped; a file whose import was interrupted resumes after its last
//! durable batch. A file's record is written before its first append, and a batch is atomic in
//! the WAL, so after a crash the only ambiguous batch of a file is the one after the last
//! recorded, and one lookup of its first event settles it.

use std::collections::HashSet;

use cairn_log::{EventLog, ScanRequest};
use cairn_model::{EventRecord, LookupAttribute, LookupFilter};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

/// Catalog document kind of imported files; keys are the hex SHA-256 of the file as stored.
const KIND: &str = "imported-file";
/// Batch bounds: well under the log's batch limit, and deterministic for a given file.
pub const BATCH_EVENTS: usize = 10_000;
pub const BATCH_BYTES: usize = 16 << 20;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportSummary {
    pub files: u64,
    /// Files whose content was imported completely before.
    pub files_already_imported: u64,
    pub events_added: u64,
    /// Events not added because their file was imported before, or because the same event
    /// (account and eventID) appears twice in one file.
    pub duplicates_skipped: u64,
    pub rejected: Vec<Rejection>,
    pub bytes: u64,
}

/// A file or record that could not be imported, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub location: String,
    /// The record's position in its file or body (from 0); None when the whole file failed.
    pub index: Option<usize>,
    pub reason: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct FileProgress {
    name: String,
    batches: usize,
    committed: usize,
    events: u64,
}

/// The records of a file body, each as its own text.
pub fn split(body: &str) -> Result<Vec<&str>, String> {
    split_checked(body).map(|(records, _)| records)
}

/// [`split`], and whether serde has checked each record to be well-formed JSON on the way (log
/// files and arrays: yes; JSON lines: no, each is parsed in full later).
fn split_checked(body: &str) -> Result<(Vec<&str>, bool), String> {
    let trimmed = body.trim_start();
    if trimmed.starts_with('[') {
        let records: Vec<&RawValue> =
            serde_json::from_str(body).map_err(|e| format!("not a JSON array of records: {e}"))?;
        return Ok((records.into_iter().map(RawValue::get).collect(), true));
    }
    if trimmed.starts_with('{') {
        if let Ok(records) = cairn_model::record::split_log_file(body) {
            return Ok((records.into_iter().map(RawValue::get).collect(), true));
        }
        // One record per line (NDJSON), or a single record.
        let lines: Vec<&str> = body.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        if lines.len() > 1 {
            return Ok((lines, false));
        }
        return Ok((vec![body.trim()], false));
    }
    if trimmed.is_empty() {
        return Ok((Vec::new(), true));
    }
    Err("neither a CloudTrail log file, a JSON array, nor JSON lines".into())
}

/// A parsed file, ready to append.
pub struct ParsedFile {
    pub name: String,
    pub digest: String,
    pub bytes: u64,
    pub batches: Vec<Vec<EventRecord>>,
    pub events: u64,
    pub in_file_duplicates: u64,
    pub rejected: Vec<Rejection>,
}

/// The catalog key of a file.
pub fn digest(content: &[u8]) -> String {
    crate::auth::sigv4::hex(&Sha256::digest(content))
}

/// Parses a file's (gunzipped) content. `admit` may refuse a valid record (online ingest
/// checks whose account it is); refused records are rejected like invalid ones. CPU work: run it
/// on a blocking thread.
pub fn parse(
    name: &str,
    content: &[u8],
    digest: String,
    mut admit: impl FnMut(&EventRecord) -> Result<(), String>,
) -> Result<ParsedFile, Rejection> {
    let reject = |reason: String| Rejection {
        location: name.to_string(),
        index: None,
        reason,
    };
    let text = std::str::from_utf8(content).map_err(|e| reject(format!("not UTF-8 text: {e}")))?;
    let (raw, checked) = split_checked(text).map_err(reject)?;
    let read = if checked {
        EventRecord::from_checked_json
    } else {
        EventRecord::from_json
    };
    let mut seen: HashSet<(String, String)> = HashSet::with_capacity(raw.len());
    let mut batches: Vec<Vec<EventRecord>> = Vec::new();
    let (mut current, mut current_bytes) = (Vec::new(), 0usize);
    let mut rejected = Vec::new();
    let (mut events, mut dups) = (0u64, 0u64);
    for (i, r) in raw.iter().enumerate() {
        let record = match read(r)
            .map_err(|e| e.to_string())
            .and_then(|rec| admit(&rec).map(|()| rec))
        {
            Ok(rec) => rec,
            Err(reason) => {
                rejected.push(Rejection {
                    location: format!("{name} record {}", i + 1),
                    index: Some(i),
                    reason,
                });
                continue;
            }
        };
        let key = (record.index().account_id.clone(), record.event_id().to_string());
        if !seen.insert(key) {
            dups += 1;
            continue;
        }
        if current.len() == BATCH_EVENTS || current_bytes + record.json().len() > BATCH_BYTES {
            batches.push(std::mem::take(&mut current));
            current_bytes = 0;
        }
        current_bytes += record.json().len();
        current.push(record);
        events += 1;
    }
    if !current.is_empty() {
        batches.push(current);
    }
    Ok(ParsedFile {
        name: name.to_string(),
        digest,
        bytes: content.len() as u64,
        batches,
        events,
        in_file_duplicates: dups,
        rejected,
    })
}

/// Whether the first event of `batch` is already in the log.
async fn batch_present(log: &EventLog, batch: &[EventRecord]) -> cairn_log::Result<bool> {
    let Some(first) = batch.first() else { return Ok(true) };
    let ix = first.index();
    let req = ScanRequest {
        filter: Some(LookupFilter::new(LookupAttribute::EventId, ix.event_id.clone())),
        limit: 1,
        ..ScanRequest::new(ix.account_id.clone(), ix.region.clone())
    };
    let page = log.scan(&req).await?;
    Ok(page.events.iter().any(|e| e.record.event_id() == ix.event_id))
}

/// Appends, waiting while the log says flushing is behind: an import is a bulk load and may
/// run at whatever pace the log sustains.
async fn append_patiently(log: &EventLog, batch: Vec<EventRecord>) -> cairn_log::Result<()> {
    loop {
        match log.append(batch.clone()).await {
            Err(e) if e.kind() == cairn_log::ErrorKind::Overloaded => {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            other => return other.map(drop),
        }
    }
}

/// Appends a parsed file unless it was imported before; adds to `summary`.
pub async fn commit(log: &EventLog, file: ParsedFile, summary: &mut ImportSummary) -> cairn_log::Result<()> {
    summary.files += 1;
    summary.bytes += file.bytes;
    summary.duplicates_skipped += file.in_file_duplicates;
    summary.rejected.extend(file.rejected);
    let catalog = log.catalog();
    let (mut progress, resumed) = match catalog.get_document(KIND, &file.digest).await? {
        Some(json) => (
            serde_json::from_str::<FileProgress>(&json)
                .map_err(|e| cairn_log::Error::Catalog(format!("import record of {}: {e}", file.digest)))?,
            true,
        ),
        None => {
            // Recorded before the first append, so an interruption is always seen as one.
            let p = FileProgress {
                name: file.name.clone(),
                batches: file.batches.len(),
                committed: 0,
                events: file.events,
            };
            if !file.batches.is_empty() {
                let json = serde_json::to_string(&p).expect("progress serialises");
                catalog.put_document(KIND, &file.digest, &json).await?;
            }
            (p, false)
        }
    };
    if progress.committed >= file.batches.len() {
        if !file.batches.is_empty() {
            summary.files_already_imported += 1;
        }
        summary.duplicates_skipped += file.events;
        return Ok(());
    }
    let mut batches = file.batches.into_iter().enumerate().skip(progress.committed).peekable();
    // After an interruption, the batch after the last recorded one may be durable already.
    if resumed
        && let Some((_, b)) = batches.peek()
        && batch_present(log, b).await?
    {
        summary.duplicates_skipped += b.len() as u64;
        batches.next();
        progress.committed += 1;
    }
    for (i, batch) in batches {
        let n = batch.len() as u64;
        append_patiently(log, batch).await?;
        summary.events_added += n;
        progress.committed = i + 1;
        let json = serde_json::to_string(&progress).expect("progress serialises");
        catalog.put_document(KIND, &file.digest, &json).await?;
    }
    Ok(())
}

/// Files read, gunzipped and parsed ahead of the one being appended.
const PARSE_AHEAD: usize = 6;

/// A file ready to commit: parsed, or known to be imported completely before.
enum Prepared {
    Parsed(ParsedFile),
    Done { bytes: u64, events: u64 },
}

fn rejection(location: &str) -> impl Fn(String) -> Rejection + '_ {
    move |reason| Rejection {
        location: location.to_string(),
        index: None,
        reason,
    }
}

/// Reads one file and, unless the catalog says it was imported completely, gunzips and parses it.
async fn prepare(log: EventLog, item: crate::ingest::source::Item) -> Result<Prepared, Rejection> {
    let name = item.name();
    let raw = item.read().await.map_err(rejection(&name))?;
    let bytes = raw.len() as u64;
    // The file as stored identifies it (hashing compressed bytes is several times less work).
    let (raw, digest) = tokio::task::spawn_blocking(move || {
        let d = digest(&raw);
        (raw, d)
    })
    .await
    .map_err(|e| rejection(&name)(e.to_string()))?;
    let known = log
        .catalog()
        .get_document(KIND, &digest)
        .await
        .map_err(|e| rejection(&name)(e.to_string()))?
        .and_then(|json| serde_json::from_str::<FileProgress>(&json).ok());
    if let Some(p) = known.filter(|p| p.committed >= p.batches) {
        return Ok(Prepared::Done {
            bytes,
            events: p.events,
        });
    }
    let n = name.clone();
    tokio::task::spawn_blocking(move || {
        let content = crate::ingest::source::decode(raw).map_err(rejection(&n))?;
        parse(&n, &content, digest, |_| Ok(()))
    })
    .await
    .map_err(|e| rejection(&name)(e.to_string()))?
    .map(|mut f| {
        // Sizes are reported as stored, for parsed and skipped files alike.
        f.bytes = bytes;
        Prepared::Parsed(f)
    })
}

/// Imports `items` in order; `progress` is called after each file. Files are prepared in tasks of
/// their own, so reading and parsing the next files overlaps appending this one.
pub async fn run(
    log: &EventLog,
    items: Vec<crate::ingest::source::Item>,
    mut progress: impl FnMut(&ImportSummary),
) -> cairn_log::Result<ImportSummary> {
    use futures::StreamExt;
    let mut summary = ImportSummary::default();
    let mut prepared = futures::stream::iter(items.into_iter().map(|item| tokio::spawn(prepare(log.clone(), item))))
        .buffered(PARSE_AHEAD);
    while let Some(joined) = prepared.next().await {
        let file = joined.map_err(|e| cairn_log::Error::Unavailable(format!("import task failed: {e}")))?;
        match file {
            Ok(Prepared::Parsed(f)) => commit(log, f, &mut summary).await?,
            Ok(Prepared::Done { bytes, events }) => {
                summary.files += 1;
                summary.bytes += bytes;
                summary.files_already_imported += u64::from(events > 0);
                summary.duplicates_skipped += events;
            }
            Err(r) => {
                summary.files += 1;
                summary.rejected.push(r);
            }
        }
        progress(&summary);
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_recognised() {
        assert_eq!(
            split(r#"{"Records":[{"a":1},{"b":2}]}"#).unwrap(),
            vec![r#"{"a":1}"#, r#"{"b":2}"#]
        );
        assert_eq!(
            split(r#"[{"a":1}, {"b":2}]"#).unwrap(),
            vec![r#"{"a":1}"#, r#"{"b":2}"#]
        );
        assert_eq!(
            split("{\"a\":1}\n\n{\"b\":2}\n").unwrap(),
            vec![r#"{"a":1}"#, r#"{"b":2}"#]
        );
        assert_eq!(split("{\"a\":1}").unwrap(), vec![r#"{"a":1}"#]);
        assert!(split("").unwrap().is_empty());
        assert!(split("hello").is_err());
        assert!(split("[1,").is_err());
    }
}
