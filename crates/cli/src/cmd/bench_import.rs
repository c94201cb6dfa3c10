//! Import benchmark: CloudTrail gzip log files (5,000 synthetic records each, as CloudTrail writes
//! them) imported into a fresh event log, parsing on all cores, every batch durable.

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use cairn_log::EventLog;
use cairn_server::ingest::{import, source};

use super::bench::{Figure, bench_config, record_pool};

const PER_FILE: usize = 5_000;

pub async fn import(dir: &Path, quick: bool) -> anyhow::Result<Vec<Figure>> {
    let events = if quick { 200_000 } else { 1_000_000 };
    println!("\n== import: {events} events in gzip CloudTrail log files of {PER_FILE} records");
    let pool = record_pool(events, 7);
    let files = dir.join("files");
    std::fs::create_dir_all(&files)?;
    let mut gz_bytes = 0u64;
    for (i, chunk) in pool.chunks(PER_FILE).enumerate() {
        let mut body = String::from("{\"Records\":[");
        for (j, r) in chunk.iter().enumerate() {
            if j > 0 {
                body.push(',');
            }
            body.push_str(r.json());
        }
        body.push_str("]}");
        let path = files.join(format!("123456789012_CloudTrail_us-east-1_{i:06}.json.gz"));
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(body.as_bytes())?;
        let bytes = gz.finish()?;
        gz_bytes += bytes.len() as u64;
        std::fs::write(path, bytes)?;
    }
    drop(pool);
    let log = EventLog::open(dir.join("log"), bench_config()).await?;
    let items = source::expand(&[files.display().to_string()], None)
        .await
        .map_err(anyhow::Error::msg)?;
    let started = Instant::now();
    let summary = import::run(&log, items, |_| {}).await?;
    let secs = started.elapsed().as_secs_f64();
    let rate = summary.events_added as f64 / secs;
    anyhow::ensure!(
        summary.events_added == events as u64,
        "imported {} of {events}",
        summary.events_added
    );
    let again = Instant::now();
    let second = import::run(
        &log,
        source::expand(&[files.display().to_string()], None)
            .await
            .map_err(anyhow::Error::msg)?,
        |_| {},
    )
    .await?;
    let again = again.elapsed().as_secs_f64();
    log.close().await?;
    println!(
        "   {} files ({:.0} MB gzip): {rate:.0} events/s; importing them again adds {} in {again:.1} s",
        summary.files,
        gz_bytes as f64 / 1e6,
        second.events_added
    );
    Ok(vec![
        Figure::new("import: gzip log files, events per second", rate, "/s").at_least(100_000.0),
        Figure::new("import: the same files again (all skipped)", again, "s"),
    ])
}
