//! `cairn serve`: health, metrics, clean shutdown, clear start-up errors.

use std::time::Duration;

use crate::{Proc, cairn, http_get, wait_for};

fn start(dir: &std::path::Path) -> (Proc, String) {
    let mut cmd = cairn();
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"]).arg(dir);
    spawn_server(cmd)
}

/// Spawns `cmd` (a `cairn serve` on port 0) and returns it with the address it printed.
pub fn spawn_server(cmd: std::process::Command) -> (Proc, String) {
    let p = Proc::spawn(cmd);
    let line = p.line(Duration::from_secs(60)).expect("cairn prints its address");
    let addr = line
        .strip_prefix("cairn listening on http://")
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    (p, addr)
}

#[test]
fn health_turns_ready_metrics_are_served_and_sigterm_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let (mut p, addr) = start(dir.path());
    let body = wait_for("/health to answer 200", Duration::from_secs(60), || {
        match http_get(&addr, "/health") {
            Ok((200, body)) => Some(body),
            Ok((503, body)) => {
                assert!(body.contains("starting"), "{body}");
                None
            }
            Ok((code, body)) => panic!("unexpected /health {code}: {body}"),
            Err(_) => None,
        }
    });
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], "ok");
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    let (code, metrics) = http_get(&addr, "/metrics").unwrap();
    assert_eq!(code, 200);
    assert!(metrics.contains("cairn_log_durable_seq"), "{metrics}");
    // Anything else unsigned is an anonymous S3 request: refused in S3's shape.
    let (code, body) = http_get(&addr, "/no-such-path").unwrap();
    assert_eq!(code, 403);
    assert!(body.contains("<Code>AccessDenied</Code>"), "{body}");
    assert!(p.sigterm().success());
    // The data directory is usable again (the lock was released).
    let (mut p2, addr2) = start(dir.path());
    wait_for("restart", Duration::from_secs(60), || {
        matches!(http_get(&addr2, "/health"), Ok((200, _))).then_some(())
    });
    assert!(p2.sigterm().success());
}

#[test]
fn a_second_server_on_the_same_data_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (mut p, addr) = start(dir.path());
    wait_for("first server", Duration::from_secs(60), || {
        matches!(http_get(&addr, "/health"), Ok((200, _))).then_some(())
    });
    let out = cairn()
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("another Cairn process"), "{err}");
    assert!(p.sigterm().success());
}

#[test]
fn an_unusable_data_directory_or_address_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain-file");
    std::fs::write(&file, "x").unwrap();
    let out = cairn()
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("plain-file"), "{err}");

    let out = cairn()
        .args(["serve", "--listen", "not-an-address", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot listen on not-an-address"));
}
