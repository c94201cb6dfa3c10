//! Benchmarks of the API server: SigV4 verification on one core, and DescribeTrails /
//! GetTrailStatus latency at a fixed request rate over real HTTP (with the self-audit append
//! of every call included, as in production).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use cairn_log::EventLog;
use cairn_server::auth::identity::{AccessKeyConfig, AccountConfig, Directory};
use cairn_server::auth::sigv4;
use cairn_server::buckets::LocalBuckets;
use cairn_server::client::CloudTrailClient;
use cairn_server::destinations::Destinations;
use cairn_server::{ApiOptions, AppState, Ready};
use serde_json::json;
use tokio::sync::watch;

use super::bench::{Figure, bench_config, ms, percentile};

pub(crate) const KEY_ID: &str = "AKIABENCHMARK0000001";
pub(crate) const SECRET: &str = "bench-secret-bench-secret-bench-secret00";
pub(crate) const ACCOUNT: &str = "111122223333";

fn directory() -> Directory {
    Directory::build(
        &[AccountConfig {
            id: ACCOUNT.into(),
            alias: None,
            root_access_keys: vec![AccessKeyConfig {
                id: KEY_ID.into(),
                secret: SECRET.into(),
            }],
            users: Vec::new(),
        }],
        None,
    )
    .expect("a valid benchmark identity")
}

/// Verifications of one signed CloudTrail request per second, on one thread.
pub fn sigv4(quick: bool) -> Vec<Figure> {
    println!("\n== sigv4: verify a signed DescribeTrails request on one core");
    let dir = directory();
    let body = br#"{"trailNameList":[],"includeShadowTrails":true}"#;
    let mut headers = vec![
        ("host".to_string(), "127.0.0.1:7401".to_string()),
        ("content-type".to_string(), "application/x-amz-json-1.1".to_string()),
        (
            "x-amz-target".to_string(),
            "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.DescribeTrails".to_string(),
        ),
        (
            "user-agent".to_string(),
            "aws-cli/2.22.0 Python/3.12.6 Linux/6.8".to_string(),
        ),
    ];
    let unsigned = sigv4::Request {
        method: "POST",
        path: "/",
        query: "",
        headers: &headers,
        body,
    };
    let now = SystemTime::now();
    let signed = sigv4::sign(&unsigned, KEY_ID, SECRET, "us-east-1", "cloudtrail", now);
    headers.extend(signed);
    let req = sigv4::Request {
        method: "POST",
        path: "/",
        query: "",
        headers: &headers,
        body,
    };
    let n = if quick { 50_000 } else { 300_000 };
    let started = Instant::now();
    for _ in 0..n {
        let v = sigv4::verify(&req, &dir, now).expect("the benchmark request verifies");
        std::hint::black_box(v);
    }
    let rate = n as f64 / started.elapsed().as_secs_f64();
    println!("   {n} verifications, {rate:.0}/s ({:.2} µs each)", 1e6 / rate);
    vec![Figure::new("sigv4: verifications per second, one core", rate, "/s").at_least(50_000.0)]
}

/// An in-process server on a free loopback port.
pub(crate) struct BenchServer {
    pub endpoint: String,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl BenchServer {
    /// A client of the benchmark account's root user.
    pub fn client(&self) -> CloudTrailClient {
        CloudTrailClient::new(&self.endpoint, "us-east-1", KEY_ID, SECRET)
    }

    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Starts an in-process server over `log` (with local buckets under `dir`), as `cairn serve`
/// would, for the benchmark account [`ACCOUNT`].
pub(crate) async fn start_server(dir: &Path, log: EventLog) -> anyhow::Result<BenchServer> {
    let ready = Ready::open(log.clone(), cairn_server::DEFAULT_KEY_ROTATION, None)
        .await
        .map_err(|e| anyhow::anyhow!(e))?;
    let buckets = LocalBuckets::open(&dir.join("buckets"))?;
    match buckets.create_bucket("bench-bucket", ACCOUNT, "us-east-1") {
        Ok(_) | Err(cairn_server::buckets::BucketError::BucketAlreadyOwnedByYou) => {}
        Err(e) => return Err(e.into()),
    }
    let (_ready_tx, ready_rx) = watch::channel(Some(ready));
    let state = AppState::new(
        ready_rx,
        None,
        Arc::new(directory()),
        Destinations::Local(buckets),
        ApiOptions::default(),
    );
    let listener = cairn_server::bind("127.0.0.1:0").await?;
    let endpoint = format!("http://{}", listener.local_addr()?);
    let (stop_tx, mut stop_rx) = watch::channel(false);
    let task = tokio::spawn(cairn_server::serve(listener, None, state, async move {
        let _ = stop_rx.wait_for(|s| *s).await;
        drop(_ready_tx);
    }));
    Ok(BenchServer {
        endpoint,
        stop: stop_tx,
        task,
    })
}

/// DescribeTrails and GetTrailStatus at 1,000 requests/s (open loop: latency counts from each
/// request's scheduled time), then the most a closed loop of 64 clients gets through.
pub async fn api(dir: &Path, quick: bool) -> anyhow::Result<Vec<Figure>> {
    println!("\n== api: DescribeTrails + GetTrailStatus over HTTP at 1,000 requests/s");
    let log = EventLog::open(dir, bench_config()).await?;
    let server = start_server(dir, log.clone()).await?;
    let client = server.client();
    let r = client
        .call(
            "CreateTrail",
            &json!({"Name": "bench-trail", "S3BucketName": "bench-bucket"}),
        )
        .await?;
    anyhow::ensure!(r.status == 200, "CreateTrail failed: {}", r.body);

    let secs: u64 = if quick { 5 } else { 20 };
    let workers = 20u64;
    let per_worker = secs * 1000 / workers;
    let interval = Duration::from_millis(workers);
    let started = tokio::time::Instant::now() + Duration::from_millis(100);
    let mut tasks = Vec::new();
    for w in 0..workers {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(per_worker as usize);
            let mut failures = 0u64;
            for k in 0..per_worker {
                let due = started + Duration::from_millis(w) + interval * k as u32;
                tokio::time::sleep_until(due).await;
                let reply = if k % 2 == 0 {
                    client.call("DescribeTrails", &json!({})).await
                } else {
                    client.call("GetTrailStatus", &json!({"Name": "bench-trail"})).await
                };
                if !matches!(reply, Ok(ref r) if r.status == 200) {
                    failures += 1;
                }
                lat.push(due.elapsed());
            }
            (lat, failures)
        }));
    }
    let mut all = Vec::new();
    let mut failures = 0;
    for t in tasks {
        let (lat, f) = t.await?;
        all.extend(lat);
        failures += f;
    }
    all.sort();
    println!(
        "   {} requests, {failures} failed; p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms",
        all.len(),
        ms(percentile(&all, 0.5)),
        ms(percentile(&all, 0.99)),
        ms(percentile(&all, 0.999)),
        ms(*all.last().unwrap_or(&Duration::ZERO))
    );

    let closed_secs = if quick { 3 } else { 10 };
    let deadline = Instant::now() + Duration::from_secs(closed_secs);
    let mut tasks = Vec::new();
    for _ in 0..64 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while Instant::now() < deadline {
                if let Ok(r) = client.call("GetTrailStatus", &json!({"Name": "bench-trail"})).await
                    && r.status == 200
                {
                    n += 1;
                }
            }
            n
        }));
    }
    let mut done = 0;
    for t in tasks {
        done += t.await?;
    }
    let max_rate = done as f64 / closed_secs as f64;
    println!("   closed loop, 64 clients: {max_rate:.0} requests/s (each one audited and fsynced)");

    server.stop().await;
    log.close().await?;
    Ok(vec![
        Figure::new(
            "api: p50 DescribeTrails/GetTrailStatus at 1k req/s",
            ms(percentile(&all, 0.5)),
            "ms",
        ),
        Figure::new(
            "api: p99 DescribeTrails/GetTrailStatus at 1k req/s",
            ms(percentile(&all, 0.99)),
            "ms",
        )
        .at_most(5.0),
        Figure::new("api: failed requests at 1k req/s", failures as f64, "").at_most(0.0),
        Figure::new("api: GetTrailStatus, 64 clients, closed loop", max_rate, "req/s"),
    ])
}
