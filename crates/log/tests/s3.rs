//! Segments on an S3-compatible server (moto_server, from PyPI, on a loopback port).
//! `scripts/test` installs moto and sets CAIRN_REQUIRE_S3_TESTS=1 so that CI cannot skip this.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cairn_log::{LogConfig, S3Location, ScanRequest, SegmentLocation};
use common::*;

struct Moto(Child);

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn http(port: u16, request: &str) -> std::io::Result<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    s.write_all(request.as_bytes())?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out)
}

fn start_moto() -> Option<(Moto, u16)> {
    let binary = std::env::var("CAIRN_MOTO_SERVER").unwrap_or_else(|_| "moto_server".into());
    let port = free_port();
    let child = Command::new(&binary)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let child = match child {
        Ok(c) => Moto(c),
        Err(e) => {
            assert!(
                std::env::var_os("CAIRN_REQUIRE_S3_TESTS").is_none(),
                "cannot start {binary}: {e}"
            );
            eprintln!("SKIPPED: {binary} is not installed (pip install 'moto[server]')");
            return None;
        }
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while http(port, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").is_err() {
        assert!(Instant::now() < deadline, "moto_server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let created = http(
        port,
        "PUT /cairn-segments HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    assert!(created.starts_with("HTTP/1.1 200"), "bucket creation failed: {created}");
    Some((child, port))
}

fn config(port: u16) -> LogConfig {
    LogConfig {
        compaction_small_bytes: 1 << 30,
        segments: SegmentLocation::S3(S3Location {
            bucket: "cairn-segments".into(),
            prefix: "log/v1".into(),
            endpoint: Some(format!("http://127.0.0.1:{port}")),
            region: "us-east-1".into(),
            access_key_id: Some("test".into()),
            secret_access_key: Some("test".into()),
            allow_http: true,
        }),
        ..small_config()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn segments_live_on_an_s3_compatible_server() {
    let Some((_moto, port)) = start_moto() else { return };
    let dir = tempfile::tempdir().unwrap();
    let log = common::open_log(dir.path(), config(port)).await;
    let mut all = Vec::new();
    for k in 0..3u64 {
        for (i, r) in batch(k * 300..(k + 1) * 300).into_iter().enumerate() {
            let receipt = log.append(vec![r.clone()]).await.unwrap();
            assert_eq!(receipt.first_seq, k * 300 + i as u64 + 1);
            all.push((receipt.first_seq, r));
        }
        log.flush().await.unwrap();
    }
    assert!(
        !dir.path().join("store").exists(),
        "nothing is written to the local segment store"
    );
    let listing = http(port, "GET /cairn-segments?list-type=2&prefix=log/v1/segments/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").unwrap();
    assert!(
        listing.contains(".parquet"),
        "segments are in the bucket under the prefix: {listing}"
    );

    for a in ACCOUNTS {
        for r in REGIONS {
            for filter in filters() {
                let mut req = ScanRequest::new(a, r);
                req.filter = filter;
                req.limit = 17;
                let got: Vec<u64> = scan_all(&log, req.clone()).await.iter().map(|e| e.seq).collect();
                assert_eq!(got, expected(&all, &req));
            }
        }
    }
    let report = log.run_maintenance().await.unwrap();
    assert_eq!(report.compactions, 4, "one compaction per partition");
    drop(log);

    let log = common::open_log(dir.path(), config(port)).await;
    assert_eq!(log.status().segments, 4);
    let events = log.read_after(0, usize::MAX).await.unwrap();
    assert_eq!(events.len(), 900);
    for (e, (seq, r)) in events.iter().zip(&all) {
        assert_eq!((e.seq, e.record.json()), (*seq, r.json()));
    }
    assert!(log.verify().await.unwrap().is_empty());
    log.close().await.unwrap();
}
