//! `GET /export/events` and `cairn lookup --output json|csv`: a streamed export of the event
//! history, complete and byte-exact for 200,000 events, filtered as LookupEvents filters, scoped
//! to the caller's account, refused before streaming for bad input or credentials, and
//! downloadable through a presigned URL.

use std::path::Path;
use std::time::{Duration, Instant};

use cairn_server::client::CloudTrailClient;
use serde_json::{Value, json};

use crate::{Proc, cairn, dump, http_get, wait_for};

const ALPHA: &str = "111111111111";
const BETA: &str = "222222222222";
const ALPHA_KEY: (&str, &str) = ("AKIAEXPORTALPHA00001", "export-alpha-secret-000000000000000");
const BETA_KEY: (&str, &str) = ("AKIAEXPORTBETA000001", "export-beta-secret-0000000000000000");
const READER_KEY: (&str, &str) = ("AKIAEXPORTREADER0001", "export-reader-secret-00000000000000");

fn config(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("cairn.toml");
    let text = format!(
        r#"
[[accounts]]
id = "{ALPHA}"
root_access_keys = [{{ id = "{}", secret = "{}" }}]

[[accounts.users]]
name = "describer"
access_keys = [{{ id = "{}", secret = "{}" }}]
policies = ['{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"cloudtrail:Describe*","Resource":"*"}}]}}']

[[accounts]]
id = "{BETA}"
root_access_keys = [{{ id = "{}", secret = "{}" }}]
"#,
        ALPHA_KEY.0, ALPHA_KEY.1, READER_KEY.0, READER_KEY.1, BETA_KEY.0, BETA_KEY.1
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// Appends `writers * batch * batches` records in `account` and `region` (server stopped).
fn write_events(dir: &Path, round: u32, account: &str, region: &str, writers: u32, batch: u32, batches: u32) {
    let out = cairn()
        .args(["test-writer", "--data-dir"])
        .arg(dir)
        .args(["--round", &round.to_string(), "--writers", &writers.to_string()])
        .args(["--batch", &batch.to_string(), "--batches", &batches.to_string()])
        .args(["--account", account, "--region", region])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("ERR"));
}

fn start(dir: &Path) -> (Proc, String) {
    let mut cmd = cairn();
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .arg("--config")
        .arg(config(dir));
    let (p, addr) = crate::serve::spawn_server(cmd);
    wait_for("/health", Duration::from_secs(60), || {
        matches!(http_get(&addr, "/health"), Ok((200, _))).then_some(())
    });
    (p, addr)
}

/// `records` (in arrival order) as the history shows them: newest first, later arrivals first
/// among equal times.
fn newest_first(records: &[String]) -> Vec<String> {
    let mut keyed: Vec<(String, usize, &String)> = records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let v: Value = serde_json::from_str(r).unwrap();
            (v["eventTime"].as_str().unwrap().to_string(), i, r)
        })
        .collect();
    keyed.sort_by(|a, b| (&b.0, b.1).cmp(&(&a.0, a.1)));
    keyed.into_iter().map(|(_, _, r)| r.clone()).collect()
}

/// RFC 4180 records (quoted fields may hold commas, quotes and line breaks).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(!quoted && field.is_empty() && row.is_empty(), "the CSV ends mid-record");
    rows
}

fn event_id(record: &str) -> String {
    serde_json::from_str::<Value>(record).unwrap()["eventID"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn export_of_200k_events_is_complete_newest_first_and_byte_exact() {
    const N: usize = 200_000;
    let dir = tempfile::tempdir().unwrap();
    write_events(dir.path(), 0, ALPHA, "us-east-1", 4, 1000, 50);
    let stored = dump(dir.path());
    assert_eq!(stored.len(), N);
    let expected = newest_first(&stored);
    let (mut p, addr) = start(dir.path());
    let lookup = |args: &[&str]| {
        let mut c = cairn();
        c.env("AWS_ACCESS_KEY_ID", ALPHA_KEY.0)
            .env("AWS_SECRET_ACCESS_KEY", ALPHA_KEY.1)
            .args([
                "lookup",
                "--endpoint-url",
                &format!("http://{addr}"),
                "--region",
                "us-east-1",
            ])
            .args(args);
        c
    };

    // NDJSON to a file: every stored record, byte for byte, newest first, and nothing else.
    let file = dir.path().join("events.ndjson");
    let t = Instant::now();
    let out = lookup(&["--output", "json", "--out"]).arg(&file).output().unwrap();
    let secs = t.elapsed().as_secs_f64();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&file).unwrap();
    eprintln!(
        "exported {N} events ({:.1} MB) as NDJSON in {secs:.2} s: {:.0} events/s, {:.1} MB/s",
        text.len() as f64 / 1e6,
        N as f64 / secs,
        text.len() as f64 / 1e6 / secs
    );
    assert!(text.ends_with('\n'));
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    assert_eq!(lines.len(), N, "the export holds exactly the stored events");
    assert!(lines == expected, "the export is the stored records, newest first");

    // CSV on standard output: a header and one row per event (the NDJSON export above is now in
    // the history too, newest of all).
    let out = lookup(&["--output", "csv"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows = parse_csv(&String::from_utf8(out.stdout).unwrap());
    assert_eq!(
        rows[0].join(","),
        "EventTime,EventName,Username,EventSource,ResourceType,ResourceName,AccessKeyId,ReadOnly,EventId,AwsRegion,SourceIPAddress,ErrorCode,RecipientAccountId"
    );
    assert_eq!(rows.len(), 1 + N + 1);
    assert!(rows.iter().all(|r| r.len() == 13));
    assert_eq!(rows[1][1], "ExportEvents");
    assert_eq!(rows[1][7], "true");
    let ids: Vec<String> = expected.iter().map(|r| event_id(r)).collect();
    assert!(
        rows[2..].iter().map(|r| &r[8]).eq(ids.iter()),
        "CSV rows in history order"
    );
    let first: Value = serde_json::from_str(&expected[0]).unwrap();
    let row = &rows[2];
    assert_eq!(row[0], first["eventTime"].as_str().unwrap());
    assert_eq!(row[1], "RunInstances");
    assert_eq!(row[2], first["userIdentity"]["userName"].as_str().unwrap());
    assert_eq!(row[6], first["userIdentity"]["accessKeyId"].as_str().unwrap());
    assert_eq!(
        row[9..],
        [
            "us-east-1".to_string(),
            first["sourceIPAddress"].as_str().unwrap().to_string(),
            String::new(),
            ALPHA.to_string()
        ]
    );

    // --max-items is the export's limit.
    let out = lookup(&["--output", "json", "--max-items", "1500"]).output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 1500);
    assert!(p.sigterm().success());
}

#[test]
fn export_filters_like_lookups_isolates_accounts_refuses_early_and_presigns() {
    let dir = tempfile::tempdir().unwrap();
    write_events(dir.path(), 0, BETA, "eu-west-1", 3, 100, 10);
    write_events(dir.path(), 1, ALPHA, "eu-west-1", 2, 100, 5);
    let (mut p, addr) = start(dir.path());
    let endpoint = format!("http://{addr}");
    let alpha = CloudTrailClient::new(&endpoint, "eu-west-1", ALPHA_KEY.0, ALPHA_KEY.1);
    let beta = CloudTrailClient::new(&endpoint, "eu-west-1", BETA_KEY.0, BETA_KEY.1);
    let describer = CloudTrailClient::new(&endpoint, "eu-west-1", READER_KEY.0, READER_KEY.1);
    let q = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let export = |c: &CloudTrailClient, params: Vec<(String, String)>| {
            let c = c.clone();
            async move {
                let resp = c.get("/export/events", &params).await.unwrap();
                let status = resp.status().as_u16();
                let headers = resp.headers().clone();
                let body = String::from_utf8(resp.bytes().await.unwrap().to_vec()).unwrap();
                (status, headers, body)
            }
        };

        // Account isolation: each account's export holds its own events only.
        let (status, headers, body) = export(&beta, q(&[("format", "json")])).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(headers["content-type"], "application/x-ndjson");
        assert_eq!(
            headers["content-disposition"],
            format!("attachment; filename=\"cairn-events-{BETA}-eu-west-1.ndjson\"")
        );
        let lines: Vec<&str> = body.lines().collect();
        assert_eq!(lines.len(), 3000);
        assert!(lines.iter().all(|l| !l.contains(ALPHA)));
        let (status, _, body) = export(&alpha, q(&[("format", "json")])).await;
        assert_eq!(status, 200);
        assert_eq!(body.lines().count(), 1000);
        assert!(body.lines().all(|l| !l.contains(BETA)));
        // Other regions are other histories.
        let (_, _, body) = export(&alpha.with_region("us-east-1"), q(&[("format", "json")])).await;
        assert_eq!(body, "");

        // A filter returns exactly what paging through LookupEvents with it returns.
        let filter = [("attribute", "Username"), ("value", "writer1")];
        let mut input = json!({"LookupAttributes": [{"AttributeKey": "Username", "AttributeValue": "writer1"}]});
        let mut paged = Vec::new();
        loop {
            let reply = beta.call("LookupEvents", &input).await.unwrap();
            assert_eq!(reply.status, 200, "{}", reply.body);
            for e in reply.body["Events"].as_array().unwrap() {
                paged.push(e["EventId"].as_str().unwrap().to_string());
            }
            match reply.body["NextToken"].as_str() {
                Some(t) => input["NextToken"] = json!(t),
                None => break,
            }
        }
        assert_eq!(paged.len(), 1000);
        let (status, _, body) = export(&beta, q(&[&[("format", "json")], &filter[..]].concat())).await;
        assert_eq!(status, 200);
        let exported: Vec<String> = body.lines().map(event_id).collect();
        assert_eq!(exported, paged);
        let (status, headers, body) = export(&beta, q(&filter)).await;
        assert_eq!(status, 200);
        assert_eq!(headers["content-type"], "text/csv; charset=utf-8");
        let rows = parse_csv(&body);
        assert!(rows[1..].iter().map(|r| &r[8]).eq(paged.iter()));
        // The export is audited as a read-only call with its filter.
        let (_, _, body) = export(
            &beta,
            q(&[
                ("format", "json"),
                ("attribute", "EventName"),
                ("value", "ExportEvents"),
            ]),
        )
        .await;
        let audits: Vec<Value> = body.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(audits.len(), 3, "the three exports by beta before this one");
        assert_eq!(audits[0]["eventSource"], "cloudtrail.amazonaws.com");
        assert_eq!(audits[0]["readOnly"], true);
        assert_eq!(audits[0]["recipientAccountId"], BETA);
        assert_eq!(
            audits[0]["requestParameters"],
            json!({"format": "csv", "lookupAttributes": [{"attributeKey": "Username", "attributeValue": "writer1"}]})
        );

        // Bad parameters are refused before any byte of the export, in CloudTrail's shape.
        for (params, code) in [
            (q(&[("format", "xml")]), "InvalidParameterException"),
            (
                q(&[("attribute", "Colour"), ("value", "x")]),
                "InvalidLookupAttributesException",
            ),
            (q(&[("attribute", "EventName")]), "InvalidLookupAttributesException"),
            (q(&[("start", "2000"), ("end", "1000")]), "InvalidTimeRangeException"),
            (
                q(&[("start", "2026-01-02T00:00:00Z"), ("end", "2026-01-01T00:00:00Z")]),
                "InvalidTimeRangeException",
            ),
            (q(&[("start", "yesterday")]), "SerializationException"),
            (q(&[("category", "data")]), "InvalidEventCategoryException"),
            (q(&[("limit", "0")]), "InvalidParameterException"),
            (q(&[("colour", "blue")]), "InvalidParameterException"),
            (q(&[("format", "csv"), ("format", "json")]), "InvalidParameterException"),
        ] {
            let (status, headers, body) = export(&alpha, params.clone()).await;
            assert_eq!(status, 400, "{params:?}: {body}");
            assert_eq!(headers["content-type"], "application/x-amz-json-1.1");
            let v: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(v["__type"], code, "{params:?}: {body}");
        }
        // A time range selects inclusively, in either spelling.
        let (_, _, body) = export(&beta, q(&[("format", "json"), ("limit", "1")])).await;
        let t = serde_json::from_str::<Value>(&body).unwrap()["eventTime"]
            .as_str()
            .unwrap()
            .to_string();
        let secs = t.parse::<jiff::Timestamp>().unwrap().as_second().to_string();
        let (_, _, body) = export(&beta, q(&[("format", "json"), ("start", &t), ("end", &secs)])).await;
        assert!(!body.is_empty() && body.lines().all(|l| l.contains(&format!("\"eventTime\":\"{t}\""))));
        // Authorised as cloudtrail:LookupEvents (refused with 400, as every CloudTrail call is).
        let (status, _, body) = export(&describer, vec![]).await;
        assert_eq!(status, 400, "{body}");
        assert!(
            body.contains("AccessDeniedException") && body.contains("cloudtrail:LookupEvents"),
            "{body}"
        );

        // A presigned URL needs no credentials of its own; altering it breaks it.
        let url = alpha.presigned_url(
            "/export/events",
            &q(&[("format", "csv"), ("limit", "25")]),
            Duration::from_secs(300),
        );
        let path = url.strip_prefix(&endpoint).unwrap();
        let (status, body) = http_get(&addr, path).unwrap();
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("EventTime,EventName,"), "{body}");
        let (status, body) = http_get(&addr, &path.replace("limit=25", "limit=26")).unwrap();
        assert_eq!(status, 403);
        assert!(body.contains("InvalidSignatureException"), "{body}");
    });
    // Unsigned: refused in CloudTrail's shape, not S3's.
    let (status, body) = http_get(&addr, "/export/events?format=csv").unwrap();
    assert_eq!(status, 403);
    assert!(body.contains("MissingAuthenticationTokenException"), "{body}");
    assert!(p.sigterm().success());
}
