//! validate-logs benchmark: a trail's store of 24 hourly digests naming about 1,000 gzip log
//! files (about 240 MB uncompressed), checked by `aws cloudtrail validate-logs` and by
//! `cairn validate-logs` through Cairn's S3 facade, and by `cairn validate-logs --data-dir`;
//! against this machine's limit, gunzip + SHA-256 of every log file on every core.
//!
//! The store is written with the same code the trails use (log files as `batch` builds them,
//! digests signed by the server's key ring), directly rather than over a day of wall-clock time.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use aws_lc_rs::digest::{Context as Sha, SHA256};
use cairn_integrity::KeyRing;
use cairn_integrity::digest::{self, DigestFile, HASH_ALGORITHM, LogFileEntry, iso_seconds};
use cairn_log::EventLog;
use cairn_server::buckets::{LocalBuckets, ObjectMeta};

use super::bench::{Figure, bar, bench_config, record_pool};
use super::bench_api::{ACCOUNT, KEY_ID, SECRET, start_server};

const BUCKET: &str = "bench-bucket";
const REGION: &str = "us-east-1";
const HOUR: i64 = 3600;

/// A log file as written: its key and gzip body.
struct Written {
    key: String,
    body: Vec<u8>,
    raw_len: usize,
}

/// `aws_cli`: the aws CLI to compare with (default: `aws` on the PATH, else `.venv/bin/aws`).
pub async fn validate(dir: &Path, quick: bool, aws_cli: Option<PathBuf>) -> anyhow::Result<Vec<Figure>> {
    let (digests, files_per_digest, records_per_file) = if quick { (24, 10, 100) } else { (24, 42, 240) };
    let data = dir.join("data");
    std::fs::create_dir_all(&data)?;
    println!(
        "\n== validate: {digests} digests naming {} gzip log files of {records_per_file} records",
        digests * files_per_digest
    );
    let records = record_pool(digests * files_per_digest * records_per_file, 21);
    let now = jiff::Timestamp::now().as_second();
    let t0 = (now - 26 * HOUR) / HOUR * HOUR;
    let trail_arn = format!("arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/bench");

    // The store, as a trail would have written it over a day.
    let buckets = LocalBuckets::open(&data.join("buckets"))?;
    buckets.create_bucket(BUCKET, ACCOUNT, REGION)?;
    let ring = KeyRing::open(data.join("signing-keys"), 30 * 86_400, 3600)?;
    let pb = bar((digests * files_per_digest) as u64, "write");
    let mut written: Vec<Written> = Vec::new();
    let mut previous: Option<(String, String, String)> = None;
    let mut chunks = records.chunks(records_per_file);
    for d in 0..digests {
        let (start, end) = (t0 + d as i64 * HOUR, t0 + (d as i64 + 1) * HOUR);
        let mut entries = Vec::new();
        for f in 0..files_per_digest {
            let chunk = chunks.next().expect("enough records");
            let stamp = start + (f as i64 * HOUR) / files_per_digest as i64;
            let t = jiff::Timestamp::from_second(stamp)?;
            let key = format!(
                "AWSLogs/{ACCOUNT}/CloudTrail/{REGION}/{}/{ACCOUNT}_CloudTrail_{REGION}_{}_{:016}.json.gz",
                t.strftime("%Y/%m/%d"),
                t.strftime("%Y%m%dT%H%MZ"),
                d * files_per_digest + f
            );
            let mut raw = b"{\"Records\":[".to_vec();
            for (i, r) in chunk.iter().enumerate() {
                if i > 0 {
                    raw.push(b',');
                }
                raw.extend_from_slice(r.json().as_bytes());
            }
            raw.extend_from_slice(b"]}");
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
            gz.write_all(&raw)?;
            let body = gz.finish()?;
            buckets.put_object(BUCKET, &key, &body, gzip_json(Default::default()))?;
            entries.push(LogFileEntry {
                s3_bucket: BUCKET.into(),
                s3_object: key.clone(),
                hash_value: digest::sha256_hex(&raw),
                hash_algorithm: HASH_ALGORITHM.into(),
                newest_event_time: iso_seconds(stamp),
                oldest_event_time: iso_seconds(stamp - 300),
            });
            written.push(Written {
                key,
                body,
                raw_len: raw.len(),
            });
            pb.inc(1);
        }
        let key = digest::digest_key(None, None, ACCOUNT, REGION, "bench", REGION, end);
        let file = DigestFile {
            aws_account_id: ACCOUNT.into(),
            digest_start_time: iso_seconds(start),
            digest_end_time: iso_seconds(end),
            digest_s3_bucket: BUCKET.into(),
            digest_s3_object: key.clone(),
            digest_public_key_fingerprint: String::new(),
            digest_signature_algorithm: String::new(),
            newest_event_time: entries.iter().map(|e| e.newest_event_time.clone()).max(),
            oldest_event_time: entries.iter().map(|e| e.oldest_event_time.clone()).min(),
            previous_digest_s3_bucket: previous.as_ref().map(|_| BUCKET.into()),
            previous_digest_s3_object: previous.as_ref().map(|p| p.0.clone()),
            previous_digest_hash_value: previous.as_ref().map(|p| p.1.clone()),
            previous_digest_hash_algorithm: previous.as_ref().map(|_| HASH_ALGORITHM.into()),
            previous_digest_signature: previous.as_ref().map(|p| p.2.clone()),
            log_files: entries,
        };
        let signing = ring.current(REGION, end)?;
        let signed = digest::sign(file, &signing)?;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
        gz.write_all(&signed.json)?;
        let meta = gzip_json(
            [
                ("signature".to_string(), signed.signature_hex.clone()),
                (
                    "signature-algorithm".to_string(),
                    digest::SIGNATURE_ALGORITHM.to_string(),
                ),
            ]
            .into(),
        );
        buckets.put_object(BUCKET, &key, &gz.finish()?, meta)?;
        previous = Some((key, digest::sha256_hex(&signed.json), signed.signature_hex));
    }
    pb.finish_and_clear();
    drop(records);
    let raw_bytes: usize = written.iter().map(|w| w.raw_len).sum();
    let gz_bytes: usize = written.iter().map(|w| w.body.len()).sum();
    println!(
        "   {} log files, {:.0} MB uncompressed ({:.0} MB gzip), {digests} digests",
        written.len(),
        raw_bytes as f64 / 1e6,
        gz_bytes as f64 / 1e6
    );

    let mut figures = Vec::new();
    let limit = machine_limit(&written);
    let limit_s = limit.as_secs_f64();
    println!(
        "   machine limit (gunzip + SHA-256 on every core, files in memory): {:.3} s, {:.0} MB/s",
        limit_s,
        raw_bytes as f64 / 1e6 / limit_s
    );
    figures.push(Figure::new(
        "validate: gunzip+SHA-256 limit, all cores",
        raw_bytes as f64 / 1e6 / limit_s,
        "MB/s",
    ));
    drop(written);

    let start = iso_seconds(t0);
    let end = iso_seconds(t0 + digests as i64 * HOUR);
    let expect = format!("{digests}/{digests} digest files valid");
    let exe = std::env::current_exe().context("locating the cairn binary")?;
    let common = |cmd: &mut Command| {
        cmd.args(["validate-logs", "--trail-arn", &trail_arn, "--start-time", &start])
            .args(["--end-time", &end, "--s3-bucket", BUCKET, "--region", REGION])
            .arg("--data-dir")
            .arg(&data)
            .env("AWS_ACCESS_KEY_ID", KEY_ID)
            .env("AWS_SECRET_ACCESS_KEY", SECRET)
            .env_remove("AWS_ENDPOINT_URL_S3");
    };
    let local = timed("cairn --data-dir", &expect, || {
        let mut c = Command::new(&exe);
        common(&mut c);
        c
    })?;
    figures.push(Figure::new("validate: cairn --data-dir", local.as_secs_f64(), "s"));
    figures.push(
        Figure::new(
            "validate: cairn --data-dir / machine limit",
            local.as_secs_f64() / limit_s,
            "x",
        )
        .at_most(1.5),
    );

    // Through the S3 facade of a server on the same data directory.
    let log = EventLog::open(&data, bench_config()).await?;
    let server = start_server(&data, log).await?;
    let endpoint = server.endpoint.clone();
    let facade = timed("cairn via the S3 facade", &expect, || {
        let mut c = Command::new(&exe);
        common(&mut c);
        c.args(["--endpoint-url", &endpoint]);
        c
    })?;
    figures.push(Figure::new(
        "validate: cairn via the S3 facade",
        facade.as_secs_f64(),
        "s",
    ));
    match aws_cli.or_else(find_aws_cli) {
        Some(aws) => {
            let aws_time = timed("aws cloudtrail validate-logs", &expect, || {
                let mut c = Command::new(&aws);
                c.args(["cloudtrail", "validate-logs", "--trail-arn", &trail_arn])
                    .args(["--start-time", &start, "--end-time", &end, "--s3-bucket", BUCKET])
                    .args(["--region", REGION])
                    .env("AWS_ACCESS_KEY_ID", KEY_ID)
                    .env("AWS_SECRET_ACCESS_KEY", SECRET)
                    .env("AWS_ENDPOINT_URL_CLOUDTRAIL", &endpoint)
                    .env("AWS_ENDPOINT_URL_S3", &endpoint)
                    .env("AWS_CONFIG_FILE", "/dev/null")
                    .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
                    .env_remove("AWS_PROFILE");
                c
            })?;
            figures.push(Figure::new(
                "validate: aws CLI via the S3 facade",
                aws_time.as_secs_f64(),
                "s",
            ));
            figures.push(
                Figure::new(
                    "validate: aws CLI / cairn, both via the facade",
                    aws_time.as_secs_f64() / facade.as_secs_f64(),
                    "x",
                )
                .at_least(5.0),
            );
        }
        None => println!("   aws CLI not found (--aws-cli PATH): no comparison"),
    }
    server.stop().await;
    Ok(figures)
}

fn gzip_json(user: std::collections::BTreeMap<String, String>) -> ObjectMeta {
    ObjectMeta {
        content_type: Some("application/json".into()),
        content_encoding: Some("gzip".into()),
        user,
    }
}

/// The fastest this machine can check the files: each core inflates and hashes its share of
/// the bodies, already in memory (so no I/O or parsing counts). Best of three.
fn machine_limit(files: &[Written]) -> Duration {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    (0..3)
        .map(|_| {
            let started = Instant::now();
            std::thread::scope(|s| {
                for t in 0..threads {
                    s.spawn(move || {
                        let mut buf = vec![0u8; 64 * 1024];
                        for f in files.iter().skip(t).step_by(threads) {
                            let mut dec = flate2::bufread::GzDecoder::new(&f.body[..]);
                            let mut sha = Sha::new(&SHA256);
                            loop {
                                match dec.read(&mut buf) {
                                    Ok(0) => break,
                                    Ok(n) => sha.update(&buf[..n]),
                                    Err(e) => panic!("{}: {e}", f.key),
                                }
                            }
                            std::hint::black_box(sha.finish());
                        }
                    });
                }
            });
            started.elapsed()
        })
        .min()
        .expect("three runs")
}

/// Median wall time of three runs of a validator, each required to pass with `expect` in its
/// summary.
fn timed(what: &str, expect: &str, mut cmd: impl FnMut() -> Command) -> anyhow::Result<Duration> {
    let mut times = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        let out = cmd().output().with_context(|| format!("running {what}"))?;
        times.push(started.elapsed());
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() || !stdout.contains(expect) {
            bail!(
                "{what} did not validate the store ({}):\n{stdout}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    times.sort();
    println!(
        "   {what}: {:.3} s (median of 3: {})",
        times[1].as_secs_f64(),
        times
            .iter()
            .map(|t| format!("{:.3}", t.as_secs_f64()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(times[1])
}

fn find_aws_cli() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|p| p.join("aws"))
        .chain([PathBuf::from(".venv/bin/aws")])
        .find(|p| p.is_file())
}
