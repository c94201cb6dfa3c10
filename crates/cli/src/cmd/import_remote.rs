//! `cairn import --endpoint-url`: the files go to a running server's IngestEvents instead of into
//! a data directory. Each file is cut into deterministic chunks (by record count and bytes) sent as
//! gzipped NDJSON, so importing the same files again sends the same bodies, which the server
//! recognises as duplicates. A few requests are in flight at once; connection errors, 429 and 5xx
//! are retried with backoff (a body is idempotent, so a retry is always safe).

use std::io::Write;
use std::time::Duration;

use anyhow::bail;
use cairn_server::client::CloudTrailClient;
use cairn_server::ingest::import::{self, ImportSummary, Rejection};
use cairn_server::ingest::source::{self, Item};
use futures::StreamExt;
use serde_json::Value;

/// Chunk bounds: within what the server accepts per request (one import batch), with room to
/// spare for the envelope.
const CHUNK_RECORDS: usize = import::BATCH_EVENTS;
const CHUNK_BYTES: usize = 8 << 20;
/// Files read and chunked ahead of the requests.
const PREPARE_AHEAD: usize = 4;
/// Requests in flight.
const IN_FLIGHT: usize = 4;
const ATTEMPTS: u32 = 10;
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// One request's worth of a file, or a file with nothing to send.
struct Unit {
    name: String,
    /// The file's size as stored, on its first unit (0 on the others).
    bytes: u64,
    first_of_file: bool,
    last_of_file: bool,
    /// Position of the chunk's first record in its file.
    first_record: usize,
    records: usize,
    body: Option<Vec<u8>>,
    rejection: Option<Rejection>,
}

/// The chunks of a file's records: NDJSON (a record's own line breaks are whitespace between JSON
/// tokens, so they become spaces), gzipped.
fn chunks(records: &[&str]) -> Vec<(usize, usize, Vec<u8>)> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < records.len() {
        let mut end = start;
        let mut bytes = 0;
        while end < records.len() && end - start < CHUNK_RECORDS {
            let len = records[end].len() + 1;
            if end > start && bytes + len > CHUNK_BYTES {
                break;
            }
            bytes += len;
            end += 1;
        }
        let mut gz = flate2::write::GzEncoder::new(Vec::with_capacity(bytes / 6), flate2::Compression::fast());
        for r in &records[start..end] {
            let line = r.replace(['\n', '\r'], " ");
            gz.write_all(line.as_bytes()).expect("writing to memory");
            gz.write_all(b"\n").expect("writing to memory");
        }
        out.push((start, end - start, gz.finish().expect("writing to memory")));
        start = end;
    }
    out
}

/// Reads a file and cuts it into units (CPU work on a blocking thread).
async fn prepare(item: Item) -> Vec<Unit> {
    let name = item.name();
    let whole = |bytes: u64, reason: Option<String>| {
        vec![Unit {
            name: name.clone(),
            bytes,
            first_of_file: true,
            last_of_file: true,
            first_record: 0,
            records: 0,
            body: None,
            rejection: reason.map(|reason| Rejection {
                location: name.clone(),
                index: None,
                reason,
            }),
        }]
    };
    let raw = match item.read().await {
        Ok(r) => r,
        Err(e) => return whole(0, Some(e)),
    };
    let bytes = raw.len() as u64;
    let cut = tokio::task::spawn_blocking(move || {
        let content = source::decode(raw)?;
        let text = std::str::from_utf8(&content).map_err(|e| format!("not UTF-8 text: {e}"))?;
        Ok::<_, String>(chunks(&import::split(text)?))
    })
    .await
    .unwrap_or_else(|e| Err(e.to_string()));
    let cut = match cut {
        Ok(c) if c.is_empty() => return whole(bytes, None),
        Ok(c) => c,
        Err(e) => return whole(bytes, Some(e)),
    };
    let n = cut.len();
    cut.into_iter()
        .enumerate()
        .map(|(i, (first_record, records, body))| Unit {
            name: name.clone(),
            bytes: if i == 0 { bytes } else { 0 },
            first_of_file: i == 0,
            last_of_file: i + 1 == n,
            first_record,
            records,
            body: Some(body),
            rejection: None,
        })
        .collect()
}

/// Why a chunk was not ingested.
enum Failure {
    /// The server refused it (4xx): reported as a rejection, the import goes on.
    Refused(String),
    /// The server could not be reached or kept failing: the import stops.
    Unreachable(String),
}

async fn send(client: &CloudTrailClient, body: Vec<u8>) -> Result<Value, Failure> {
    let mut delay = Duration::from_millis(200);
    let mut last = String::new();
    for attempt in 1..=ATTEMPTS {
        match client.ingest_events(body.clone(), Some("gzip")).await {
            Ok(r) if r.status == 200 => return Ok(r.body),
            Ok(r) => {
                let why = format!(
                    "{} (HTTP {}): {}",
                    r.error_code().unwrap_or("error"),
                    r.status,
                    r.body["message"].as_str().unwrap_or_default()
                );
                if r.status < 500 && r.status != 429 {
                    return Err(Failure::Refused(why));
                }
                last = why;
            }
            Err(e) => {
                // reqwest's own message hides the cause (connection refused, reset...).
                let mut why = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(s) = source {
                    why = format!("{why}: {s}");
                    source = s.source();
                }
                last = why;
            }
        }
        if attempt < ATTEMPTS {
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(MAX_BACKOFF);
        }
    }
    Err(Failure::Unreachable(last))
}

/// Sends `items` to the server behind `client`; `progress` is called after each file.
pub async fn run(
    client: &CloudTrailClient,
    items: Vec<Item>,
    mut progress: impl FnMut(&ImportSummary),
) -> anyhow::Result<ImportSummary> {
    let mut summary = ImportSummary::default();
    let units = futures::stream::iter(items.into_iter().map(|item| tokio::spawn(prepare(item))))
        .buffered(PREPARE_AHEAD)
        .flat_map(|joined| futures::stream::iter(joined.unwrap_or_default()));
    let mut replies = units
        .map(|mut u| async move {
            let reply = match u.body.take() {
                Some(body) => Some(send(client, body).await),
                None => None,
            };
            (u, reply)
        })
        .buffered(IN_FLIGHT);
    let (mut file_added, mut file_duplicates, mut file_failed) = (0u64, 0u64, false);
    while let Some((u, reply)) = replies.next().await {
        if u.first_of_file {
            summary.files += 1;
            summary.bytes += u.bytes;
            (file_added, file_duplicates, file_failed) = (0, 0, false);
        }
        summary.rejected.extend(u.rejection);
        match reply {
            None => {}
            Some(Ok(body)) => {
                let count = |k: &str| body[k].as_u64().unwrap_or(0);
                file_added += count("Accepted");
                file_duplicates += count("Duplicates");
                for r in body["Rejected"].as_array().into_iter().flatten() {
                    let i = r["Index"].as_u64().map(|i| u.first_record + i as usize);
                    summary.rejected.push(Rejection {
                        location: match i {
                            Some(i) => format!("{} record {}", u.name, i + 1),
                            None => u.name.clone(),
                        },
                        index: i,
                        reason: r["Reason"].as_str().unwrap_or_default().to_string(),
                    });
                }
            }
            Some(Err(Failure::Refused(why))) => {
                file_failed = true;
                summary.rejected.push(Rejection {
                    location: format!(
                        "{} records {}-{}",
                        u.name,
                        u.first_record + 1,
                        u.first_record + u.records
                    ),
                    index: None,
                    reason: why,
                });
            }
            Some(Err(Failure::Unreachable(why))) => {
                bail!(
                    "{}: no answer after {ATTEMPTS} attempts ({why}); {} events were added before, and importing again resumes",
                    u.name,
                    summary.events_added
                );
            }
        }
        if u.last_of_file {
            summary.events_added += file_added;
            summary.duplicates_skipped += file_duplicates;
            // A file whose every chunk was in already, as the local import counts it.
            summary.files_already_imported += u64::from(file_added == 0 && file_duplicates > 0 && !file_failed);
            progress(&summary);
        }
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_deterministic_and_bounded() {
        let big = format!("{{\"a\":\"{}\"}}", "x".repeat(3 << 20));
        let small = "{\n\"b\": 1\n}";
        let records: Vec<&str> = vec![small, &big, &big, small, &big];
        let a = chunks(&records);
        let b = chunks(&records);
        assert_eq!(a, b);
        // 8 MiB: two big records fit, a third does not.
        let shape: Vec<(usize, usize)> = a.iter().map(|(s, n, _)| (*s, *n)).collect();
        assert_eq!(shape, vec![(0, 4), (4, 1)]);
        let text = source::decode(a[0].2.clone()).unwrap();
        let text = String::from_utf8(text).unwrap();
        assert_eq!(text.lines().next(), Some("{ \"b\": 1 }"));
        assert_eq!(import::split(&text).unwrap().len(), 4);
        let many: Vec<&str> = vec!["{}"; CHUNK_RECORDS + 1];
        assert_eq!(chunks(&many).len(), 2);
    }
}
