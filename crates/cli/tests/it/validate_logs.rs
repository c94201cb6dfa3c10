//! `cairn validate-logs` through the binary: a real trail's digests and log files, validated
//! through a running server and straight from its data directory, then tampered with.

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use cairn_server::buckets::{LocalBuckets, ObjectMeta};
use serde_json::json;

use crate::cairn;
use crate::delivery::{ALPHA, BUCKET, bucket_keys, call, client, create_trail, record, rt, serve, setup, uuid};

const ENV: [(&str, &str); 1] = [("CAIRN_DIGEST_INTERVAL", "1s")];

fn keys(data: &Path, folder: &str) -> Vec<String> {
    bucket_keys(data)
        .into_iter()
        .filter(|k| k.contains(&format!("/{folder}/us-east-1/")))
        .collect()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn validate_logs_through_a_server_and_from_the_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let (data, config) = setup(dir.path());
    let started = jiff::Timestamp::now().as_second() - 5;
    let (mut p, addr) = serve(&data, &config, &ENV);
    let alpha = client(&addr, ALPHA, "us-east-1");
    let arn = create_trail(
        &alpha,
        "signed",
        json!({"IsMultiRegionTrail": true, "EnableLogFileValidation": true}),
    );
    // A few batches of events over a few digest periods.
    for _ in 0..4 {
        let body: Vec<String> = (0..20).map(|_| record(ALPHA, "us-east-1", &uuid(), false)).collect();
        let r = rt()
            .block_on(alpha.ingest_events(body.join("\n").into_bytes(), None))
            .unwrap();
        assert_eq!(r.status, 200, "{}", r.body);
        std::thread::sleep(Duration::from_millis(1200));
    }
    // StopLogging: a final digest names the last files.
    let stopped = jiff::Timestamp::now().as_millisecond();
    call(&alpha, "StopLogging", json!({"Name": arn}));
    // The final digest: every log file named, the latest digest from the stop on.
    crate::digests::wait_digested(&data, &alpha, "signed", stopped, &Default::default());
    let end = jiff::Timestamp::now().as_second() + 5;
    let iso = |s: i64| cairn_integrity::digest::iso_seconds(s);
    let (start_arg, end_arg) = (iso(started), iso(end));
    let base = |extra: &[&str]| {
        let mut c = cairn();
        c.args([
            "validate-logs",
            "--trail-arn",
            &arn,
            "--start-time",
            &start_arg,
            "--end-time",
            &end_arg,
        ])
        .args(extra);
        c
    };
    let remote = |extra: &[&str]| -> Output {
        let (k, s) = (format!("AKIAROOT{ALPHA}"), format!("root-secret-{ALPHA}-0000000000"));
        base(extra)
            .args(["--endpoint-url", &format!("http://{addr}")])
            .env("AWS_ACCESS_KEY_ID", k)
            .env("AWS_SECRET_ACCESS_KEY", s)
            .env_remove("AWS_ENDPOINT_URL_S3")
            .output()
            .unwrap()
    };
    let digests = keys(&data, "CloudTrail-Digest");
    let logs = keys(&data, "CloudTrail");
    assert!(digests.len() >= 3 && !logs.is_empty(), "{digests:?} {logs:?}");

    let out = remote(&["--verbose", "--strict"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    let through_server = text(&out.stdout);
    assert!(through_server.starts_with(&format!(
        "Validating log files for trail {arn} between {start_arg} and {end_arg}\n\n"
    )));
    assert!(
        through_server.ends_with(&format!(
            "\n{n}/{n} digest files valid\n{l}/{l} log files valid\n",
            n = digests.len(),
            l = logs.len()
        )),
        "{through_server}"
    );
    for k in digests.iter().chain(&logs) {
        assert!(
            through_server.contains(&format!("\ts3://{BUCKET}/{k}\tvalid\n")),
            "{k} not listed"
        );
    }
    assert_eq!(text(&out.stderr), "");
    assert!(p.sigterm().success());

    // From the data directory, no server: the same report.
    let local = |extra: &[&str]| -> Output {
        base(extra)
            .arg("--data-dir")
            .arg(&data)
            .arg("--config")
            .arg(&config)
            .env("CAIRN_DIGEST_INTERVAL", "1s")
            .output()
            .unwrap()
    };
    let out = local(&["--verbose", "--strict", "--parallelism", "3"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), through_server);

    // Tampering: a log file changed (one an older digest lists: the report's last), the newest
    // digest deleted.
    let lines: Vec<&str> = through_server.lines().collect();
    let last_log = lines.iter().rposition(|l| l.starts_with("Log file\t")).unwrap();
    let second_digest = lines.iter().filter(|l| l.starts_with("Digest file\t")).nth(1).unwrap();
    assert!(
        lines.iter().position(|l| l == second_digest).unwrap() < last_log,
        "only the newest digest lists files: {through_server}"
    );
    let tampered = lines[last_log]
        .split('\t')
        .nth(1)
        .unwrap()
        .strip_prefix(&format!("s3://{BUCKET}/"))
        .unwrap()
        .to_string();
    let buckets = LocalBuckets::open_existing(&data.join("buckets")).unwrap();
    buckets
        .put_object(BUCKET, &tampered, b"not what was delivered", ObjectMeta::default())
        .unwrap();
    buckets.delete_object(BUCKET, digests.last().unwrap()).unwrap();
    let out = local(&[]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        format!("Log file\ts3://{BUCKET}/{tampered}\tINVALID: invalid format\n\n")
    );
    let out = local(&["--strict"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with(&format!(
            "Digest file\ts3://{BUCKET}/{}\tINVALID: not found (the newest digest the trail delivered)\n\n",
            digests.last().unwrap()
        )),
        "{stderr}"
    );

    // Usage problems: the aws CLI's 255.
    let out = cairn()
        .args([
            "validate-logs",
            "--trail-arn",
            "arn:aws:cloudtrail:us-east-1:1:trail/x",
            "--start-time",
            "1h",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(255));
    assert_eq!(
        text(&out.stderr),
        "Invalid trail ARN provided: arn:aws:cloudtrail:us-east-1:1:trail/x\n"
    );
    let other = arn.replace("trail/signed", "trail/other");
    let out = cairn()
        .args([
            "validate-logs",
            "--trail-arn",
            &other,
            "--start-time",
            "1h",
            "--data-dir",
        ])
        .arg(&data)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(255));
    assert_eq!(text(&out.stderr), format!("A trail could not be found for {other}\n"));
}
