//! `cairn bench`: the event log's figures on this machine, against the targets the project set
//! itself. Each phase works in a fresh directory so phases do not disturb one another.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use cairn_log::{ErrorKind, EventLog, LogConfig, ScanRequest};
use cairn_model::{EventRecord, LookupAttribute, LookupFilter};
use cairn_synth::{Workload, WorkloadConfig};
use indicatif::{ProgressBar, ProgressStyle};

use crate::settings::{self, Settings};

#[derive(clap::Args)]
pub struct Args {
    /// Scale everything down: about a minute on 2 cores (figures are then indicative only).
    #[arg(long)]
    quick: bool,
    /// Events stored for the lookup benchmark [default: 10000000; 500000 with --quick].
    #[arg(long, value_name = "N")]
    events: Option<u64>,
    /// WAL replayed by the recovery benchmark [default: 1GiB; 128MiB with --quick].
    #[arg(long, value_name = "SIZE")]
    recovery_size: Option<String>,
    /// Where the benchmark writes (a fresh temporary directory by default; removed afterwards).
    #[arg(long, value_name = "DIR")]
    work_dir: Option<PathBuf>,
    /// Run only these phases: ingest, latency, lookup, recovery, import, delivery, validate,
    /// insights, sigv4, api, history (comma-separated). `history` is not part of the default run: it stores --events more.
    #[arg(long, value_delimiter = ',', value_name = "PHASES")]
    only: Vec<String>,
    /// Run the lookup phase on a data directory an earlier `--keep` run stored (with the same
    /// --events), instead of storing the events again.
    #[arg(long, value_name = "DIR", hide = true)]
    lookup_data: Option<PathBuf>,
    /// History phase: also write the events as CloudTrail gzip log files, with the probes and
    /// Cairn's answers, into DIR (for the DuckDB side of `scripts/bench-history`).
    #[arg(long, value_name = "DIR")]
    history_files: Option<PathBuf>,
    /// validate phase: the aws CLI to compare with [default: `aws` on the PATH, else .venv/bin/aws].
    #[arg(long, value_name = "PATH")]
    aws_cli: Option<PathBuf>,
    /// Keep the benchmark's data directories for inspection.
    #[arg(long)]
    keep: bool,
    /// Also print the figures as one JSON object.
    #[arg(long)]
    json: bool,
}

pub(crate) struct Figure {
    name: String,
    value: f64,
    unit: &'static str,
    /// (comparison, bound): "≥" or "≤".
    target: Option<(&'static str, f64)>,
}

impl Figure {
    pub(crate) fn new(name: impl Into<String>, value: f64, unit: &'static str) -> Self {
        Figure {
            name: name.into(),
            value,
            unit,
            target: None,
        }
    }
    pub(crate) fn at_least(mut self, v: f64) -> Self {
        self.target = Some(("≥", v));
        self
    }
    pub(crate) fn at_most(mut self, v: f64) -> Self {
        self.target = Some(("≤", v));
        self
    }
    fn verdict(&self) -> &'static str {
        match self.target {
            None => "",
            Some(("≥", b)) if self.value >= b => "ok",
            Some(("≤", b)) if self.value <= b => "ok",
            Some(_) => "MISSED",
        }
    }
}

pub(crate) fn bar(len: u64, what: &str) -> ProgressBar {
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template("{msg:>10} [{bar:40}] {human_pos}/{human_len} ({per_sec}, eta {eta})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    pb.set_message(what.to_string());
    pb
}

/// A log configuration for benchmarks: the defaults, without retention (synthetic event times
/// are in the past) and with data in `dir`.
pub(crate) fn bench_config() -> LogConfig {
    LogConfig {
        retention: None,
        ..LogConfig::default()
    }
}

/// `n` distinct records, generated and parsed before any timing starts.
pub(crate) fn record_pool(n: usize, seed: u64) -> Vec<EventRecord> {
    let pb = bar(n as u64, "generate");
    let threads = 2;
    let per = n / threads;
    let pool: Vec<EventRecord> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let pb = pb.clone();
                s.spawn(move || {
                    let mut w = Workload::new(WorkloadConfig {
                        seed: seed * 100 + t as u64,
                        ..WorkloadConfig::default()
                    });
                    (0..per)
                        .map(|i| {
                            if i % 10_000 == 0 {
                                pb.inc(10_000);
                            }
                            EventRecord::from_json(&w.next_record()).expect("synthetic records are valid")
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("generator thread"))
            .collect()
    });
    pb.finish_and_clear();
    pool
}

pub(crate) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// CPU time this process has used (user and system, all threads), where the system tells it
/// (Linux): on a shared 2-core machine, CPU per unit of work varies far less between runs than
/// wall time does.
pub(crate) fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces, so split after its closing paren):
    // utime and stime are the 12th and 13th of them, in clock ticks (100 a second on Linux).
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split(' ').skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(Duration::from_millis((utime + stime) * 10))
}

pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

pub fn run(settings: Settings, args: Args) -> anyhow::Result<ExitCode> {
    let delivery_config = settings.delivery_config()?;
    super::init_tracing(&Settings {
        log_level: "warn".into(),
        ..settings
    });
    let runs = |phase: &str| args.only.is_empty() || args.only.iter().any(|o| o == phase);
    let named = |phase: &str| args.only.iter().any(|o| o == phase);
    let mut base = match &args.work_dir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            tempfile::Builder::new().prefix("cairn-bench-").tempdir_in(d)?
        }
        None => tempfile::Builder::new().prefix("cairn-bench-").tempdir()?,
    };
    // Phases keep their data until the end: deleting gigabytes between phases would disturb the
    // next phase's fsyncs (file systems with online discard are slow to free blocks).
    base.disable_cleanup(args.keep);
    let quick = args.quick;
    let events = args.events.unwrap_or(if quick { 500_000 } else { 10_000_000 });
    let recovery_bytes = settings::size(
        "recovery_size",
        args.recovery_size
            .as_deref()
            .unwrap_or(if quick { "128MiB" } else { "1GiB" }),
    )?;
    println!(
        "cairn bench: {} cores, work directory {}{}",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        base.path().display(),
        if quick { " (quick: scaled down)" } else { "" }
    );

    let rt = super::runtime()?;
    let mut figures = Vec::new();
    // Latency first: it is the phase most disturbed by other phases' leftover disk work.
    if runs("latency") {
        figures.extend(rt.block_on(latency(&base.path().join("latency"), quick))?);
    }
    if runs("ingest") {
        figures.extend(rt.block_on(ingest(&base.path().join("ingest"), quick))?);
    }
    if runs("lookup") {
        let (dir, store) = match &args.lookup_data {
            Some(d) => (d.clone(), false),
            None => (base.path().join("lookup"), true),
        };
        figures.extend(rt.block_on(lookup(&dir, events, store))?);
    }
    if runs("import") {
        figures.extend(rt.block_on(super::bench_import::import(&base.path().join("import"), quick))?);
    }
    if runs("delivery") {
        figures.extend(rt.block_on(super::bench_delivery::delivery(
            &base.path().join("delivery"),
            quick,
            delivery_config.clone(),
        ))?);
    }
    if runs("validate") {
        figures.extend(rt.block_on(super::bench_validate::validate(
            &base.path().join("validate"),
            quick,
            args.aws_cli.clone(),
        ))?);
    }
    if runs("insights") {
        figures.extend(super::bench_insights::insights(quick));
    }
    if runs("sigv4") {
        figures.extend(super::bench_api::sigv4(quick));
    }
    if runs("api") {
        figures.extend(rt.block_on(super::bench_api::api(&base.path().join("api"), quick))?);
    }
    if named("history") {
        figures.extend(rt.block_on(super::bench_history::history(
            &base.path().join("history"),
            events,
            args.history_files.clone(),
        ))?);
    }
    if runs("recovery") {
        figures.extend(rt.block_on(recovery(&base.path().join("recovery"), recovery_bytes))?);
    }

    println!();
    println!("{:<58} {:>14} {:<8} {:>12}  ", "figure", "value", "unit", "target");
    for f in &figures {
        let target = f
            .target
            .map(|(c, v)| format!("{c} {}", (v * 100.0).round() / 100.0))
            .unwrap_or_default();
        println!(
            "{:<58} {:>14.2} {:<8} {:>12}  {}",
            f.name,
            f.value,
            f.unit,
            target,
            f.verdict()
        );
    }
    if args.json {
        let obj: serde_json::Map<String, serde_json::Value> = figures
            .iter()
            .map(|f| (f.name.clone(), serde_json::json!({"value": f.value, "unit": f.unit})))
            .collect();
        println!("{}", serde_json::Value::Object(obj));
    }
    Ok(ExitCode::SUCCESS)
}

/// Durable ingest: batches of 1,000 from two appenders, flushes to segments running alongside.
async fn ingest(dir: &Path, quick: bool) -> anyhow::Result<Vec<Figure>> {
    println!("\n== ingest: durable appends in batches of 1,000, memtable flushes running alongside");
    let pool = Arc::new(record_pool(if quick { 100_000 } else { 300_000 }, 1));
    let total: u64 = if quick { 1_000_000 } else { 4_000_000 };
    let log = EventLog::open(dir, bench_config()).await?;
    let pb = bar(total, "append");
    let done = Arc::new(AtomicU64::new(0));
    let stalls = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    let appenders = 2u64;
    for a in 0..appenders {
        let (log, pool, pb, done, stalls) = (log.clone(), pool.clone(), pb.clone(), done.clone(), stalls.clone());
        tasks.push(tokio::spawn(async move {
            let mut offset = (a as usize * pool.len() / 2) % pool.len();
            for _ in 0..total / appenders / 1000 {
                if offset + 1000 > pool.len() {
                    offset = 0;
                }
                let batch = pool[offset..offset + 1000].to_vec();
                offset += 1000;
                loop {
                    match log.append(batch.clone()).await {
                        Ok(_) => break,
                        // Flushing is behind: this is backpressure, and it counts against throughput.
                        Err(e) if e.kind() == ErrorKind::Overloaded => {
                            stalls.fetch_add(1, Ordering::Relaxed);
                            tokio::time::sleep(Duration::from_millis(5)).await;
                        }
                        Err(e) => return Err(e),
                    }
                }
                done.fetch_add(1000, Ordering::Relaxed);
                pb.inc(1000);
            }
            Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let elapsed = started.elapsed();
    pb.finish_and_clear();
    let n = done.load(Ordering::Relaxed);
    let bytes: u64 = pool.iter().map(|r| r.json().len() as u64).sum::<u64>() * n / pool.len() as u64;
    let backlog = log.status().unflushed_bytes;
    let flush_started = Instant::now();
    log.flush().await?;
    let drain = flush_started.elapsed();
    let s = log.status();
    log.close().await?;
    let rate = n as f64 / elapsed.as_secs_f64();
    println!(
        "   {n} events ({:.0} MB of JSON) in {:.1} s; {} backpressure stalls; {:.0} MB left to flush at the end ({:.1} s); {} WAL commits",
        bytes as f64 / 1e6,
        elapsed.as_secs_f64(),
        stalls.load(Ordering::Relaxed),
        backlog as f64 / 1e6,
        drain.as_secs_f64(),
        s.wal_commits
    );
    Ok(vec![
        Figure::new("ingest: durable events/s (batches of 1,000)", rate, "ev/s").at_least(150_000.0),
        Figure::new(
            "ingest: durable JSON throughput",
            bytes as f64 / 1e6 / elapsed.as_secs_f64(),
            "MB/s",
        ),
        Figure::new(
            "ingest: events/s including the final flush",
            n as f64 / (elapsed + drain).as_secs_f64(),
            "ev/s",
        ),
    ])
}

/// Append latency at a fixed 20,000 events/s from 8 writers (batches of 10 every 4 ms each),
/// measured from each append's scheduled time so a stall is not hidden.
async fn latency(dir: &Path, quick: bool) -> anyhow::Result<Vec<Figure>> {
    println!("\n== latency: 8 writers, 20,000 events/s in total (10 events every 4 ms each)");
    let pool = Arc::new(record_pool(50_000, 2));
    let log = EventLog::open(dir, bench_config()).await?;
    let secs = if quick { 5 } else { 20 };
    let per_writer = secs * 250;
    let pb = bar(8 * per_writer, "append");
    let started = tokio::time::Instant::now();
    let mut tasks = Vec::new();
    for w in 0..8u64 {
        let (log, pool, pb) = (log.clone(), pool.clone(), pb.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(per_writer as usize);
            let phase = Duration::from_micros(500 * w);
            for k in 0..per_writer {
                let due = started + phase + Duration::from_millis(4 * k);
                tokio::time::sleep_until(due).await;
                let off = ((w * per_writer + k) as usize * 10) % (pool.len() - 10);
                log.append(pool[off..off + 10].to_vec()).await?;
                lat.push(due.elapsed());
                pb.inc(1);
            }
            Ok::<_, cairn_log::Error>(lat)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    let wall = started.elapsed();
    pb.finish_and_clear();
    all.sort();
    let achieved = all.len() as f64 * 10.0 / wall.as_secs_f64();
    let s = log.status();
    log.close().await?;
    println!(
        "   {} appends, {:.0} events/s achieved, {} fsyncs; p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms",
        all.len(),
        achieved,
        s.wal_commits,
        ms(percentile(&all, 0.5)),
        ms(percentile(&all, 0.99)),
        ms(percentile(&all, 0.999)),
        ms(*all.last().unwrap_or(&Duration::ZERO))
    );
    Ok(vec![
        Figure::new(
            "latency: p50 append at 20k ev/s, 8 writers",
            ms(percentile(&all, 0.5)),
            "ms",
        ),
        Figure::new(
            "latency: p99 append at 20k ev/s, 8 writers",
            ms(percentile(&all, 0.99)),
            "ms",
        )
        .at_most(20.0),
        Figure::new(
            "latency: p99.9 append at 20k ev/s, 8 writers",
            ms(percentile(&all, 0.999)),
            "ms",
        ),
    ])
}

/// A sample of stored events whose attributes the lookup benchmark searches for.
struct Probe {
    account: String,
    region: String,
    filter: LookupFilter,
}

/// The lookup values of one stored event, by attribute kind (ReadOnly aside).
pub(crate) fn lookup_values(r: &EventRecord) -> Vec<(LookupAttribute, String)> {
    let ix = r.index();
    let mut v = vec![(LookupAttribute::EventId, ix.event_id.clone())];
    let mut add = |a, s: &Option<String>| {
        if let Some(s) = s {
            v.push((a, s.clone()));
        }
    };
    add(LookupAttribute::EventName, &ix.event_name);
    add(LookupAttribute::EventSource, &ix.event_source);
    add(LookupAttribute::Username, &ix.username);
    add(LookupAttribute::AccessKeyId, &ix.access_key_id);
    if let Some(res) = ix.resources.first() {
        add(LookupAttribute::ResourceName, &res.name);
        add(LookupAttribute::ResourceType, &res.resource_type);
    }
    v
}

fn probes_of(r: &EventRecord) -> Vec<Probe> {
    let ix = r.index();
    lookup_values(r)
        .into_iter()
        .chain([(LookupAttribute::ReadOnly, "false".to_string())])
        .map(|(attribute, value)| Probe {
            account: ix.account_id.clone(),
            region: ix.region.clone(),
            filter: LookupFilter::new(attribute, value),
        })
        .collect()
}

/// Appends from a plain thread, waiting while the log reports that flushing is behind.
pub(crate) fn append_with_backpressure(log: &EventLog, batch: Vec<EventRecord>) -> Result<(), cairn_log::Error> {
    loop {
        match log.append_blocking(batch.clone()) {
            Ok(_) => return Ok(()),
            Err(e) if e.kind() == ErrorKind::Overloaded => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(e),
        }
    }
}

/// Stores `events` fresh synthetic events, then times first-page lookups (50 results, newest
/// first) by every attribute.
async fn lookup(dir: &Path, events: u64, store: bool) -> anyhow::Result<Vec<Figure>> {
    println!("\n== lookup: store {events} events, then first pages of 50 by each lookup attribute");
    let log = EventLog::open(dir, bench_config()).await?;
    let pb = bar(events, "store");
    let started = Instant::now();
    let producers = 2u64;
    let mut handles = Vec::new();
    for p in 0..producers {
        let (log, pb) = (log.clone(), pb.clone());
        let n = events / producers;
        handles.push(tokio::task::spawn_blocking(move || {
            let mut w = Workload::new(WorkloadConfig {
                seed: 1000 + p,
                events_per_second: 50.0,
                ..WorkloadConfig::default()
            });
            let mut probes = Vec::new();
            let mut raw = 0u64;
            let mut left = n;
            while left > 0 {
                let k = left.min(1000);
                let batch: Vec<EventRecord> = (0..k)
                    .map(|_| EventRecord::from_json(&w.next_record()).expect("synthetic records are valid"))
                    .collect();
                raw += batch.iter().map(|r| r.json().len() as u64).sum::<u64>();
                if (n - left) % 100_000 < k {
                    probes.extend(probes_of(&batch[0]));
                }
                if store {
                    append_with_backpressure(&log, batch)?;
                }
                left -= k;
                pb.inc(k);
            }
            Ok::<_, cairn_log::Error>((probes, raw))
        }));
    }
    let mut probes = Vec::new();
    let mut raw = 0;
    for h in handles {
        let (p, r) = h.await??;
        probes.extend(p);
        raw += r;
    }
    let store_elapsed = started.elapsed();
    pb.finish_and_clear();
    log.flush().await?;
    compact_fully(&log).await?;
    let s = log.status();
    let ratio = s.segment_bytes as f64 / s.segment_raw_bytes.max(1) as f64;
    println!(
        "   stored {} events ({:.2} GB of JSON) in {:.1} s with generation and parsing; {} segments, {:.1} MB ({:.1} % of the JSON)",
        s.durable_seq,
        raw as f64 / 1e9,
        store_elapsed.as_secs_f64(),
        s.segments,
        s.segment_bytes as f64 / 1e6,
        ratio * 100.0
    );

    let query = |p: &Probe| {
        let mut req = ScanRequest::new(&p.account, &p.region);
        req.filter = Some(p.filter.clone());
        req.limit = 50;
        req
    };
    // Cold pass: segment checksums, footers and bloom filters are read for the first time.
    let mut cold = Vec::new();
    for p in &probes {
        let t = Instant::now();
        let page = log.scan(&query(p)).await.context("lookup")?;
        cold.push(t.elapsed());
        anyhow::ensure!(!page.events.is_empty(), "lookup for {:?} found nothing", p.filter);
    }
    cold.sort();
    let mut warm = Vec::new();
    let mut per_attr: std::collections::BTreeMap<&'static str, Vec<Duration>> = Default::default();
    for _ in 0..5 {
        for p in &probes {
            let t = Instant::now();
            let page = log.scan(&query(p)).await?;
            let d = t.elapsed();
            if std::env::var_os("CAIRN_BENCH_TRACE").is_some() && d > Duration::from_millis(25) {
                eprintln!(
                    "slow {:?} {:?} {} events {:?}",
                    d,
                    p.filter,
                    page.events.len(),
                    page.stats
                );
            }
            warm.push(d);
            per_attr.entry(p.filter.attribute.as_str()).or_default().push(d);
        }
    }
    warm.sort();
    for (attr, v) in &mut per_attr {
        v.sort();
        println!(
            "   {attr:<13} p50 {:>7.2} ms   p99 {:>7.2} ms   ({} lookups)",
            ms(percentile(v, 0.5)),
            ms(percentile(v, 0.99)),
            v.len()
        );
    }
    log.close().await?;
    Ok(vec![
        Figure::new(
            "store: events/s incl. generation and parsing",
            s.durable_seq as f64 / store_elapsed.as_secs_f64(),
            "ev/s",
        ),
        Figure::new("segments: size as % of raw JSON", ratio * 100.0, "%").at_most(12.0),
        Figure::new(
            format!("lookup: first 50, p50 over {events} events"),
            ms(percentile(&warm, 0.5)),
            "ms",
        ),
        Figure::new(
            format!("lookup: first 50, p99 over {events} events"),
            ms(percentile(&warm, 0.99)),
            "ms",
        )
        .at_most(50.0),
        Figure::new(
            "lookup: p99 of the first (cold) pass",
            ms(percentile(&cold, 0.99)),
            "ms",
        ),
    ])
}

/// Compacts until nothing is left to merge, as the background task would over time.
pub(crate) async fn compact_fully(log: &EventLog) -> anyhow::Result<()> {
    for _ in 0..20 {
        if log.run_maintenance().await?.compactions == 0 {
            break;
        }
    }
    Ok(())
}

/// Reopen after an unclean stop with `bytes` of unflushed WAL: the time until appends are taken.
async fn recovery(dir: &Path, bytes: u64) -> anyhow::Result<Vec<Figure>> {
    println!(
        "\n== recovery: reopen with {:.0} MB of unflushed WAL after an unclean stop",
        bytes as f64 / 1e6
    );
    let pool = record_pool(200_000, 3);
    let config = LogConfig {
        memtable_flush_bytes: usize::MAX,
        memtable_flush_age: Duration::from_secs(86_400),
        max_unflushed_bytes: usize::MAX,
        ..bench_config()
    };
    let log = EventLog::open(dir, config.clone()).await?;
    let pb = bar(bytes, "fill WAL");
    let mut written = 0u64;
    let mut off = 0;
    while written < bytes {
        if off + 1000 > pool.len() {
            off = 0;
        }
        let batch = pool[off..off + 1000].to_vec();
        off += 1000;
        let b: u64 = batch.iter().map(|r| r.json().len() as u64).sum();
        log.append(batch).await?;
        written += b;
        pb.inc(b);
    }
    pb.finish_and_clear();
    let events = log.durable_seq();
    // No close: the memtable is lost, exactly as in a crash; the WAL is all there is.
    drop(log);
    let wal_bytes: u64 = std::fs::read_dir(dir.join("wal"))?
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum();
    let t = Instant::now();
    let log = EventLog::open(dir, config).await?;
    let reopen = t.elapsed();
    anyhow::ensure!(log.durable_seq() == events, "recovery lost events");
    let s = log.status();
    drop(log);
    println!(
        "   {:.0} MB of WAL, {} events replayed into the memtable in {:.2} s",
        wal_bytes as f64 / 1e6,
        s.memtable_events,
        reopen.as_secs_f64()
    );
    Ok(vec![
        Figure::new(
            format!("recovery: reopen with {:.0} MB of WAL", wal_bytes as f64 / 1e6),
            reopen.as_secs_f64(),
            "s",
        )
        .at_most(10.0 * wal_bytes as f64 / (1u64 << 30) as f64),
    ])
}
