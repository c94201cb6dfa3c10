//! Event history over HTTP: synthetic events of one account in one region (the hard case: nothing
//! can be pruned by account or region), then LookupEvents through a real server: the first page
//! of 50 by every attribute kind, and paging through the matches. The same events can also be
//! written as CloudTrail gzip log files, with the probes and Cairn's answers, so that
//! `scripts/bench-history` runs the same lookups with DuckDB and prints both side by side.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use cairn_log::EventLog;
use cairn_model::{EventRecord, LookupAttribute};
use cairn_server::client::CloudTrailClient;
use cairn_synth::{Workload, WorkloadConfig};
use serde_json::{Value, json};

use super::bench::{
    Figure, append_with_backpressure, bar, bench_config, compact_fully, lookup_values, ms, percentile, process_cpu,
};
use super::bench_api::{ACCOUNT, start_server};

const REGION: &str = "us-east-1";
/// Records per log file, as CloudTrail writes them for a busy account.
const PER_FILE: usize = 5_000;
/// Distinct values looked up per attribute kind.
const VALUES_PER_ATTRIBUTE: usize = 60;
/// Warm rounds over every probe.
const ROUNDS: usize = 5;
/// Paging runs with fewer matches than this are shown but not counted as paging speed.
const MIN_PAGED: usize = 5_000;
/// Paging stops after this many events per probe (or at the last match).
const PAGING_CAP: usize = 100_000;

/// One lookup the benchmark makes: an attribute kind and a value that occurs in the events.
struct Probe {
    attribute: LookupAttribute,
    value: String,
    /// How often the value occurred in the sample (to pick values with many matches for paging).
    seen: usize,
}

/// Stores `events` events (two generators, batches of 1,000, every batch durable), writing them
/// to gzip log files under `files` too when asked; returns sampled lookup values.
async fn store(log: &EventLog, events: u64, files: Option<&Path>) -> anyhow::Result<(Vec<Probe>, u64)> {
    let pb = bar(events, "store");
    let producers = 2u64;
    let mut handles = Vec::new();
    for p in 0..producers {
        let (log, pb) = (log.clone(), pb.clone());
        let files = files.map(Path::to_path_buf);
        let n = events / producers;
        handles.push(tokio::task::spawn_blocking(move || {
            let mut w = Workload::new(WorkloadConfig {
                seed: 4000 + p,
                accounts: vec![ACCOUNT.to_string()],
                regions: vec![REGION.to_string()],
                events_per_second: 50.0,
                ..WorkloadConfig::default()
            });
            let mut sampled = Vec::new();
            let mut file_body = Vec::new();
            let (mut in_file, mut file_no, mut gz_bytes) = (0usize, 0usize, 0u64);
            let mut left = n;
            while left > 0 {
                let k = left.min(1000);
                let batch: Vec<EventRecord> = (0..k)
                    .map(|_| EventRecord::from_json(&w.next_record()).expect("synthetic records are valid"))
                    .collect();
                // About 2,000 sampled events over the whole run, whatever its size.
                let every = (n / 1000).max(1);
                for (i, r) in batch.iter().enumerate() {
                    if (n - left + i as u64).is_multiple_of(every) {
                        sampled.extend(lookup_values(r));
                    }
                }
                if let Some(dir) = &files {
                    for r in &batch {
                        file_body.extend_from_slice(if in_file == 0 { b"{\"Records\":[" } else { b"," });
                        file_body.extend_from_slice(r.json().as_bytes());
                        in_file += 1;
                        if in_file == PER_FILE {
                            gz_bytes += write_log_file(dir, p, file_no, &mut file_body)?;
                            (in_file, file_no) = (0, file_no + 1);
                        }
                    }
                }
                append_with_backpressure(&log, batch)?;
                left -= k;
                pb.inc(k);
            }
            if let Some(dir) = &files
                && in_file > 0
            {
                gz_bytes += write_log_file(dir, p, file_no, &mut file_body)?;
            }
            Ok::<_, anyhow::Error>((sampled, gz_bytes))
        }));
    }
    let mut sampled = Vec::new();
    let mut gz_bytes = 0;
    for h in handles {
        let (s, g) = h.await??;
        sampled.extend(s);
        gz_bytes += g;
    }
    pb.finish_and_clear();

    let mut counts: HashMap<(LookupAttribute, String), usize> = HashMap::new();
    for v in &sampled {
        *counts.entry(v.clone()).or_default() += 1;
    }
    let mut by_kind: BTreeMap<&'static str, Vec<Probe>> = BTreeMap::new();
    // In sampling order, so the values spread over the whole time range.
    for (attribute, value) in sampled {
        let list = by_kind.entry(attribute.as_str()).or_default();
        if list.len() < VALUES_PER_ATTRIBUTE && !list.iter().any(|p| p.value == value) {
            let seen = counts[&(attribute, value.clone())];
            list.push(Probe { attribute, value, seen });
        }
    }
    let mut probes: Vec<Probe> = by_kind.into_values().flatten().collect();
    for v in ["true", "false"] {
        probes.push(Probe {
            attribute: LookupAttribute::ReadOnly,
            value: v.into(),
            seen: usize::MAX,
        });
    }
    Ok((probes, gz_bytes))
}

/// Closes a log file body and writes it gzipped, as CloudTrail names them; returns its size.
fn write_log_file(dir: &Path, producer: u64, no: usize, body: &mut Vec<u8>) -> anyhow::Result<u64> {
    body.extend_from_slice(b"]}");
    let name = format!("{ACCOUNT}_CloudTrail_{REGION}_20240501T0000Z_p{producer}f{no:06}.json.gz");
    // Fast compression: the files are read, not archived, and the benchmark should not wait
    // minutes for them; the format is the same.
    let mut gz = flate2::write::GzEncoder::new(Vec::with_capacity(body.len() / 8), flate2::Compression::fast());
    gz.write_all(body)?;
    let bytes = gz.finish()?;
    std::fs::write(dir.join(name), &bytes)?;
    body.clear();
    Ok(bytes.len() as u64)
}

/// The in-process scan of what [`lookup_input`] asks over HTTP (LookupEvents reads management
/// events).
fn scan_request(p: &Probe) -> cairn_log::ScanRequest {
    let mut req = cairn_log::ScanRequest::new(ACCOUNT, REGION);
    req.filter = Some(cairn_model::LookupFilter::new(p.attribute, p.value.clone()));
    req.categories = Some(vec!["Management".into()]);
    req
}

fn lookup_input(p: &Probe, token: Option<&str>) -> Value {
    let mut input = json!({
        "LookupAttributes": [{"AttributeKey": p.attribute.as_str(), "AttributeValue": p.value}],
        "MaxResults": 50,
    });
    if let Some(t) = token {
        input["NextToken"] = json!(t);
    }
    input
}

/// What the benchmark reads of a LookupEvents answer (the rest is parsed and skipped).
#[derive(serde::Deserialize)]
struct Page {
    #[serde(rename = "Events")]
    events: Vec<PageEvent>,
    #[serde(rename = "NextToken")]
    next_token: Option<String>,
}

#[derive(serde::Deserialize)]
struct PageEvent {
    #[serde(rename = "EventId")]
    event_id: String,
}

/// One LookupEvents call; the events' ids and the next token.
async fn lookup(client: &CloudTrailClient, input: &Value) -> anyhow::Result<(Vec<String>, Option<String>)> {
    let (status, body) = client.call_bytes("LookupEvents", input).await.context("LookupEvents")?;
    anyhow::ensure!(status == 200, "LookupEvents failed: {}", String::from_utf8_lossy(&body));
    let page: Page = serde_json::from_slice(&body).context("reading a LookupEvents answer")?;
    Ok((page.events.into_iter().map(|e| e.event_id).collect(), page.next_token))
}

pub async fn history(dir: &Path, events: u64, files: Option<PathBuf>) -> anyhow::Result<Vec<Figure>> {
    println!("\n== history: {events} events of one account in one region, LookupEvents over HTTP");
    if let Some(f) = &files {
        std::fs::create_dir_all(f)?;
    }
    let log = EventLog::open(dir.join("log"), bench_config()).await?;
    let started = Instant::now();
    let (probes, gz_bytes) = store(&log, events, files.as_deref()).await?;
    let stored = started.elapsed();
    log.flush().await?;
    compact_fully(&log).await?;
    let s = log.status();
    println!(
        "   stored {} events in {:.1} s ({:.0}/s with generation{}), {} segments of {:.0} MB ({:.1} % of the JSON)",
        s.durable_seq,
        stored.as_secs_f64(),
        s.durable_seq as f64 / stored.as_secs_f64(),
        if files.is_some() {
            format!(" and {:.0} MB of gzip log files", gz_bytes as f64 / 1e6)
        } else {
            String::new()
        },
        s.segments,
        s.segment_bytes as f64 / 1e6,
        s.segment_bytes as f64 * 100.0 / s.segment_raw_bytes.max(1) as f64
    );

    let server = start_server(dir, log.clone()).await?;
    let client = server.client();

    // First pass: each value is looked up for the first time, so nothing of it is in the lookup
    // cache (segment footers and bloom filters are, after the first few). Then repeated rounds,
    // as when people refresh or share a search, served from the cache.
    let mut first_pages = Vec::new();
    let mut first_ms = Vec::new();
    let mut fresh: BTreeMap<&'static str, Vec<Duration>> = BTreeMap::new();
    // CAIRN_BENCH_TRACE=1: the first pass runs in process instead, and slow lookups are shown
    // with what they read (to find where the time goes; the HTTP figures are then not taken).
    let trace = std::env::var_os("CAIRN_BENCH_TRACE").is_some();
    for p in &probes {
        if trace {
            let req = scan_request(p);
            let t = Instant::now();
            let page = log.scan(&req).await?;
            let d = t.elapsed();
            if d > Duration::from_millis(10) {
                eprintln!(
                    "slow {:.1} ms {}={:?}: {} events {:?}",
                    ms(d),
                    p.attribute.as_str(),
                    p.value,
                    page.events.len(),
                    page.stats
                );
            }
        }
        let t = Instant::now();
        let (ids, _) = lookup(&client, &lookup_input(p, None)).await?;
        let d = t.elapsed();
        first_ms.push(ms(d));
        fresh.entry(p.attribute.as_str()).or_default().push(d);
        anyhow::ensure!(
            !ids.is_empty(),
            "{} = {:?} found nothing",
            p.attribute.as_str(),
            p.value
        );
        first_pages.push(ids);
    }
    let mut repeated: BTreeMap<&'static str, Vec<Duration>> = BTreeMap::new();
    let mut per_probe: Vec<Vec<f64>> = vec![Vec::new(); probes.len()];
    for _ in 0..ROUNDS {
        for (i, p) in probes.iter().enumerate() {
            let t = Instant::now();
            lookup(&client, &lookup_input(p, None)).await?;
            let d = t.elapsed();
            repeated.entry(p.attribute.as_str()).or_default().push(d);
            per_probe[i].push(ms(d));
        }
    }
    let mut figures = Vec::new();
    let mut all_fresh = Vec::new();
    for (kind, v) in &mut fresh {
        v.sort();
        all_fresh.extend(v.iter().copied());
        let r = repeated.get_mut(kind).expect("every kind is repeated");
        r.sort();
        let (p50, p99) = (percentile(v, 0.5), percentile(v, 0.99));
        println!(
            "   {kind:<13} first page, new value: p50 {:>6.2} ms  p99 {:>6.2} ms ({} values); repeated: p50 {:>5.2} ms  p99 {:>5.2} ms",
            ms(p50),
            ms(p99),
            v.len(),
            ms(percentile(r, 0.5)),
            ms(percentile(r, 0.99)),
        );
        figures.push(Figure::new(format!("history: {kind} first page p50"), ms(p50), "ms").at_most(10.0));
        figures.push(Figure::new(format!("history: {kind} first page p99"), ms(p99), "ms").at_most(50.0));
    }
    all_fresh.sort();
    let mut all_repeated: Vec<Duration> = repeated.values().flatten().copied().collect();
    all_repeated.sort();
    figures.push(Figure::new(
        "history: first page, all kinds, new value p50",
        ms(percentile(&all_fresh, 0.5)),
        "ms",
    ));
    figures.push(Figure::new(
        "history: first page, all kinds, repeated p50",
        ms(percentile(&all_repeated, 0.5)),
        "ms",
    ));

    // The same repeated lookups inside the process: what the server's own work costs, without
    // HTTP, signing, JSON and the client.
    let mut inner = Vec::new();
    for p in &probes {
        let req = scan_request(p);
        let t = Instant::now();
        log.scan(&req).await?;
        inner.push(t.elapsed());
    }
    inner.sort();
    println!(
        "   in-process scans of the same (cached) first pages: p50 {:.3} ms, p99 {:.3} ms",
        ms(percentile(&inner, 0.5)),
        ms(percentile(&inner, 0.99))
    );

    // Paging: per attribute kind, the sampled value seen most often, followed to its last match
    // (or PAGING_CAP events), one page of 50 after the other as a client must.
    let mut paged_total = 0usize;
    let mut paged_time = Duration::ZERO;
    let mut slowest = f64::MAX;
    let mut paging = Vec::new();
    for kind in fresh.keys() {
        let Some(p) = probes
            .iter()
            .filter(|p| p.attribute.as_str() == *kind)
            .max_by_key(|p| p.seen)
        else {
            continue;
        };
        if trace {
            // The same paging inside the process first (so the HTTP pass below then finds the
            // records cached): how much of a page is the log's own work.
            let mut req = scan_request(p);
            let t = Instant::now();
            let (mut n, mut pages, mut stats) = (0usize, 0usize, cairn_log::scan::ScanStats::default());
            loop {
                let page = log.scan(&req).await?;
                n += page.events.len();
                pages += 1;
                stats.records_fetched += page.stats.records_fetched;
                stats.row_groups_read += page.stats.row_groups_read;
                stats.row_groups_cached += page.stats.row_groups_cached;
                match page.next {
                    Some(next) if n < PAGING_CAP => req.after = Some(next),
                    _ => break,
                }
            }
            let d = t.elapsed();
            eprintln!(
                "in-process paging {kind}: {n} events in {pages} pages, {:.3} ms a page; {stats:?}",
                ms(d) / pages as f64
            );
        }
        let t = Instant::now();
        let cpu = process_cpu();
        let (mut n, mut token, mut pages) = (0usize, None::<String>, 0usize);
        loop {
            let (ids, next) = lookup(&client, &lookup_input(p, token.as_deref())).await?;
            n += ids.len();
            pages += 1;
            match next {
                Some(next) if n < PAGING_CAP => token = Some(next),
                _ => break,
            }
        }
        let d = t.elapsed();
        let rate = n as f64 / d.as_secs_f64();
        // A handful of events says nothing about paging speed.
        if n >= MIN_PAGED {
            slowest = slowest.min(rate);
        }
        paged_total += n;
        paged_time += d;
        // CPU of the whole process (server, read-ahead and this client) per page; the kernel
        // counts it in ticks, so a run of a few pages gives noise.
        let cpu_ms = process_cpu()
            .zip(cpu)
            .filter(|_| n >= MIN_PAGED)
            .map(|(after, before)| ms(after.saturating_sub(before)) / pages as f64);
        println!(
            "   {kind:<13} paging {:?}: {n} events in {pages} pages, {:.2} s, {rate:.0} events/s{}",
            p.value,
            d.as_secs_f64(),
            cpu_ms.map_or(String::new(), |c| format!(
                ", {c:.2} ms of CPU a page ({:.2} cores)",
                c * pages as f64 / ms(d)
            ))
        );
        paging.push(json!({"attribute": kind, "value": p.value, "events": n, "seconds": d.as_secs_f64()}));
    }
    figures.push(Figure::new(
        "history: paging, events/s over all kinds",
        paged_total as f64 / paged_time.as_secs_f64().max(1e-9),
        "ev/s",
    ));
    figures.push(Figure::new("history: paging, slowest kind", slowest, "ev/s").at_least(50_000.0));

    if let Some(f) = &files {
        // What the DuckDB side needs: the probes, Cairn's latencies and first pages to compare.
        let out = json!({
            "account": ACCOUNT,
            "region": REGION,
            "events": s.durable_seq,
            "probes": probes.iter().zip(&per_probe).zip(&first_pages).zip(&first_ms).map(|(((p, lat), ids), first)| json!({
                "attribute": p.attribute.as_str(),
                "value": p.value,
                "cairn_first_ms": first,
                "cairn_repeated_ms": lat,
                "first_page": ids,
            })).collect::<Vec<_>>(),
            "paging": paging,
        });
        std::fs::write(f.join("probes.json"), serde_json::to_vec_pretty(&out)?)?;
        println!("   log files and probes.json in {}", f.display());
    }
    server.stop().await;
    log.close().await?;
    Ok(figures)
}
