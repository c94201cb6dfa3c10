//! Trail delivery benchmark: a backlog of synthetic events in the event log, delivered as gzip
//! CloudTrail log files to a local bucket by one trail, then by ten trails with different
//! selectors at once; and the time from acknowledgement to a visible log file.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cairn_log::{EventLog, LogConfig};
use cairn_model::trail::{AdvancedEventSelector, AdvancedFieldSelector, EventSelector, ReadWriteType, TrailConfig};
use cairn_server::buckets::LocalBuckets;
use cairn_server::destinations::Destinations;
use cairn_server::trails::TrailStore;
use cairn_server::trails::delivery::{self, DeliveryConfig, OrgScope, Statuses};
use cairn_synth::WorkloadConfig;

use super::bench::{Figure, bar, bench_config, compact_fully, record_pool};

const BUCKET: &str = "bench-trail-logs";

/// `config`: the configured delivery settings (gzip level, batch size); the interval is 1 s.
pub async fn delivery(dir: &Path, quick: bool, config: DeliveryConfig) -> anyhow::Result<Vec<Figure>> {
    let events: usize = if quick { 200_000 } else { 1_000_000 };
    println!("\n== delivery: {events} stored events delivered as gzip log files to a local bucket");
    let accounts = WorkloadConfig::default().accounts;
    let org = OrgScope {
        id: "o-bench00001".into(),
        accounts: accounts.clone(),
    };
    // Live trails read what they deliver from the memtable; a memtable that holds the whole
    // backlog measures that path. Catching up from segments is measured last, on its own.
    let log = EventLog::open(
        dir.join("log"),
        LogConfig {
            memtable_flush_bytes: 8 << 30,
            max_unflushed_bytes: 16 << 30,
            memtable_flush_age: Duration::from_secs(3600),
            ..bench_config()
        },
    )
    .await?;
    let pool = record_pool(events, 11);
    let json_bytes: usize = pool.iter().map(|r| r.json().len()).sum();
    let pb = bar(events as u64, "store");
    for chunk in pool.chunks(1000) {
        log.append(chunk.to_vec()).await?;
        pb.inc(chunk.len() as u64);
    }
    pb.finish_and_clear();
    drop(pool);
    let buckets = LocalBuckets::open(&dir.join("buckets"))?;
    buckets
        .create_bucket(BUCKET, &accounts[0], "us-east-1")
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let trails = Arc::new(TrailStore::load(log.catalog().clone()).await?);
    let config = DeliveryConfig {
        interval: Duration::from_secs(1),
        ..config
    };
    println!(
        "   gzip level {}, batches of at most {} MiB",
        config.gzip_level,
        config.max_batch_bytes >> 20
    );
    let statuses = Statuses::default();
    let task = delivery::spawn(
        log.clone(),
        trails.clone(),
        Destinations::Local(buckets.clone()),
        Some(org),
        config.clone(),
        statuses.clone(),
        Arc::new(cairn_integrity::KeyRing::open(
            dir.join("signing-keys"),
            30 * 86_400,
            3600,
        )?),
    );
    let mut figures = Vec::new();
    // Latency: an event every 50 ms; the cursor passes an event once its file is durable. First,
    // while the machine is otherwise quiet.
    let t = bench_trail("latency", &accounts[0], |t| t.is_organization_trail = true);
    let arn = t.arn();
    // Logging from now: the stored backlog is the throughput phases' business.
    start_trails(&trails, vec![t], log.durable_seq()).await?;
    let probes = record_pool(if quick { 100 } else { 300 }, 12);
    let mut waits = Vec::new();
    let cursor = delivery::cursor_name(&arn);
    let mut pending: Vec<(u64, Instant)> = Vec::new();
    // Moves the probes the cursor has passed (their files are durable) into `waits`.
    let settle = |pending: &mut Vec<(u64, Instant)>, waits: &mut Vec<Duration>| {
        let c = log.cursor(&cursor).unwrap_or(0);
        pending.retain(|(seq, at)| {
            let done = *seq <= c;
            if done {
                waits.push(at.elapsed());
            }
            !done
        });
    };
    for r in probes {
        let receipt = log.append(vec![r]).await?;
        pending.push((receipt.last_seq, Instant::now()));
        let until = Instant::now() + Duration::from_millis(50);
        while Instant::now() < until {
            settle(&mut pending, &mut waits);
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while !pending.is_empty() && Instant::now() < deadline {
        settle(&mut pending, &mut waits);
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    anyhow::ensure!(pending.is_empty(), "{} probe events were not delivered", pending.len());
    waits.sort();
    let pct = |p: f64| waits[((waits.len() - 1) as f64 * p).round() as usize].as_secs_f64();
    println!(
        "   acknowledgement to durable log file, delivery interval {:?}: p50 {:.2} s, p99 {:.2} s, max {:.2} s",
        config.interval,
        pct(0.5),
        pct(0.99),
        pct(1.0)
    );
    let bound = config.interval.as_secs_f64() + 2.0;
    figures.push(
        Figure::new(
            "delivery: acknowledgement to log file, p99 (interval 1 s)",
            pct(0.99),
            "s",
        )
        .at_most(bound),
    );
    figures.push(
        Figure::new(
            "delivery: acknowledgement to log file, max (interval 1 s)",
            pct(1.0),
            "s",
        )
        .at_most(bound),
    );

    // One organization trail over every account and region: all management events.
    let one = vec![bench_trail("all", &accounts[0], |t| t.is_organization_trail = true)];
    let (rate, _, files) = drain(&log, &trails, &statuses, one, "one trail").await?;
    println!(
        "   one trail: {rate:.0} events/s ({:.0} MB/s of records), {files} files, gzip {:.1} % of the records",
        rate * json_bytes as f64 / events as f64 / 1e6,
        dir_bytes(&dir.join("buckets")) as f64 * 100.0 / json_bytes as f64
    );
    figures.push(Figure::new("delivery: one trail, events per second", rate, "/s").at_least(50_000.0));

    let ten = ten_trails(&accounts[0]);
    let (rate, delivered, files) = drain(&log, &trails, &statuses, ten, "ten trails").await?;
    println!(
        "   ten trails with different selectors: {delivered:.0} events/s delivered in all ({rate:.0} events/s of the log), {files} files"
    );
    figures.push(
        Figure::new(
            "delivery: ten trails, events delivered per second in all",
            delivered,
            "/s",
        )
        .at_least(50_000.0),
    );
    figures.push(Figure::new("delivery: ten trails, log events per second", rate, "/s"));

    // A trail catching up on the whole log from compacted segments (after an outage, say).
    log.flush().await?;
    compact_fully(&log).await?;
    let late = vec![bench_trail("late", &accounts[0], |t| t.is_organization_trail = true)];
    let (rate, _, _) = drain(&log, &trails, &statuses, late, "from segments").await?;
    println!("   one trail catching up from segments: {rate:.0} events/s");
    figures.push(Figure::new("delivery: one trail catching up from segments", rate, "/s"));

    task.abort();
    let _ = task.await;
    log.close().await?;
    Ok(figures)
}

fn bench_trail(name: &str, account: &str, f: impl FnOnce(&mut TrailConfig)) -> TrailConfig {
    let mut t = TrailConfig {
        is_multi_region_trail: true,
        ..TrailConfig::new(name, account, "us-east-1", BUCKET, 0)
    };
    f(&mut t);
    t
}

fn field(name: &str, f: impl FnOnce(&mut AdvancedFieldSelector)) -> AdvancedFieldSelector {
    let mut s = AdvancedFieldSelector {
        field: name.into(),
        ..Default::default()
    };
    f(&mut s);
    s
}

fn basic(rw: ReadWriteType, exclude: &[&str]) -> Option<Vec<EventSelector>> {
    Some(vec![EventSelector {
        read_write_type: Some(rw),
        include_management_events: Some(true),
        data_resources: None,
        exclude_management_event_sources: Some(exclude.iter().map(|s| s.to_string()).collect()),
    }])
}

fn advanced(fields: Vec<AdvancedFieldSelector>) -> Option<Vec<AdvancedEventSelector>> {
    let mut all = vec![field("eventCategory", |f| f.equals = Some(vec!["Management".into()]))];
    all.extend(fields);
    Some(vec![AdvancedEventSelector {
        name: None,
        field_selectors: all,
    }])
}

/// Ten trails, each selecting differently.
fn ten_trails(account: &str) -> Vec<TrailConfig> {
    let org = |t: &mut TrailConfig| t.is_organization_trail = true;
    vec![
        bench_trail("t0-default", account, org),
        bench_trail("t1-own-account", account, |_| {}),
        bench_trail("t2-home-region", account, |t| {
            org(t);
            t.is_multi_region_trail = false;
        }),
        bench_trail("t3-read-only", account, |t| {
            org(t);
            t.event_selectors = basic(ReadWriteType::ReadOnly, &[]);
        }),
        bench_trail("t4-write-only", account, |t| {
            org(t);
            t.event_selectors = basic(ReadWriteType::WriteOnly, &["kms.amazonaws.com"]);
        }),
        bench_trail("t5-ec2", account, |t| {
            org(t);
            t.advanced_event_selectors = advanced(vec![field("eventSource", |f| {
                f.equals = Some(vec!["ec2.amazonaws.com".into()])
            })]);
        }),
        bench_trail("t6-not-describe", account, |t| {
            org(t);
            t.advanced_event_selectors = advanced(vec![field("eventName", |f| {
                f.not_starts_with = Some(vec!["Describe".into()])
            })]);
        }),
        bench_trail("t7-iam-sts", account, |t| {
            org(t);
            t.advanced_event_selectors = advanced(vec![field("eventSource", |f| {
                f.ends_with = Some(vec!["iam.amazonaws.com".into(), "sts.amazonaws.com".into()])
            })]);
        }),
        bench_trail("t8-no-global", account, |t| {
            org(t);
            t.include_global_service_events = false;
        }),
        bench_trail("t9-prefixed", account, |t| {
            org(t);
            t.s3_key_prefix = Some("archive/cairn".into());
        }),
    ]
}

/// Creates `trails` logging from log position `from`.
async fn start_trails(store: &TrailStore, trails: Vec<TrailConfig>, from: u64) -> anyhow::Result<()> {
    for mut t in trails {
        t.logging.start(0, from);
        store
            .create(t, |_| Ok::<(), std::convert::Infallible>(()))
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    Ok(())
}

/// Starts `trails` at the beginning of the log and waits until each has delivered all of it.
/// Returns the log's events per second, the events delivered per second (all trails together) and
/// the number of files written.
async fn drain(
    log: &EventLog,
    store: &TrailStore,
    statuses: &Statuses,
    trails: Vec<TrailConfig>,
    what: &str,
) -> anyhow::Result<(f64, f64, u64)> {
    let names: Vec<String> = trails.iter().map(|t| delivery::cursor_name(&t.arn())).collect();
    let arns: Vec<String> = trails.iter().map(TrailConfig::arn).collect();
    let target = log.durable_seq();
    let pb = bar(target, what);
    let started = Instant::now();
    start_trails(store, trails, 0).await?;
    loop {
        let slowest = names.iter().map(|n| log.cursor(n).unwrap_or(0)).min().unwrap_or(0);
        pb.set_position(slowest.min(target));
        if slowest >= target {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(1800),
            "delivery made no progress for 30 minutes"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let secs = started.elapsed().as_secs_f64();
    pb.finish_and_clear();
    let done: Vec<_> = arns.iter().filter_map(|arn| statuses.get(arn)).collect();
    let files = done.iter().map(|d| d.delivered_files).sum();
    let events: u64 = done.iter().map(|d| d.delivered_events).sum();
    Ok((target as f64 / secs, events as f64 / secs, files))
}

/// Bytes of the files under `dir`.
fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_bytes(&e.path()),
            _ => e.metadata().map_or(0, |m| m.len()),
        })
        .sum()
}
