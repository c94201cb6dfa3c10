//! `cairn test-writer` (hidden): appends batches from several writers as fast as it can and
//! prints one line per acknowledged batch. The crash tests kill it with SIGKILL at random moments
//! and then check that every acknowledged batch survived exactly once.
//!
//! Output lines: `ACK <round> <writer> <batch> <first_seq> <last_seq>`.

use std::io::Write;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use cairn_log::EventLog;
use cairn_model::{EventRecord, EventTime};

use crate::settings::Settings;

#[derive(clap::Args)]
pub struct Args {
    /// Distinguishes the event ids of successive runs on one data directory.
    #[arg(long, default_value_t = 0)]
    round: u32,
    /// Concurrent writers.
    #[arg(long, default_value_t = 4)]
    writers: u32,
    /// Records per batch.
    #[arg(long, default_value_t = 50)]
    batch: u32,
    /// Stop after this many batches per writer (default: run until killed).
    #[arg(long)]
    batches: Option<u32>,
    /// Every record in this account (default: spread over three).
    #[arg(long)]
    account: Option<String>,
    /// Every record in this region (default: spread over two).
    #[arg(long)]
    region: Option<String>,
}

/// Where records go: pinned by the arguments, else spread.
#[derive(Clone)]
struct Placement {
    account: Option<String>,
    region: Option<String>,
}

/// The event id of record `i` of a batch; the crash test recomputes it.
pub fn event_id(round: u32, writer: u32, batch: u32, i: u32) -> String {
    format!("r{round}-w{writer}-b{batch}-{i}")
}

fn record(round: u32, writer: u32, batch: u32, i: u32, at: &Placement) -> EventRecord {
    let accounts = ["111111111111", "222222222222", "333333333333"];
    let regions = ["us-east-1", "eu-west-1"];
    let n = (batch as usize) * 31 + i as usize + writer as usize;
    let account = at.account.as_deref().unwrap_or(accounts[n % 3]);
    let region = at.region.as_deref().unwrap_or(regions[(n / 3) % 2]);
    let t = EventTime::from_secs(1_750_000_000 + (n as i64 * 37) % 86_400).to_cloudtrail_string();
    let id = event_id(round, writer, batch, i);
    let json = format!(
        r#"{{"eventVersion":"1.09","userIdentity":{{"type":"IAMUser","principalId":"AIDAEXAMPLE{writer}","arn":"arn:aws:iam::{account}:user/writer{writer}","accountId":"{account}","accessKeyId":"AKIAEXAMPLE{writer:05}","userName":"writer{writer}"}},"eventTime":"{t}","eventSource":"ec2.amazonaws.com","eventName":"RunInstances","awsRegion":"{region}","sourceIPAddress":"198.51.100.{}","userAgent":"cairn-test-writer","requestParameters":{{"instanceType":"t3.micro","batch":{batch},"index":{i},"padding":"{}"}},"responseElements":null,"requestID":"{id}-req","eventID":"{id}","readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"{account}","eventCategory":"Management"}}"#,
        writer % 250,
        "x".repeat(300 + n % 200),
    );
    EventRecord::from_json(&json).expect("test records are valid")
}

pub fn run(settings: Settings, args: Args) -> anyhow::Result<ExitCode> {
    super::init_tracing(&Settings {
        log_level: "warn".into(),
        ..settings.clone()
    });
    super::runtime()?.block_on(async move {
        let log = EventLog::open(&settings.data_dir, settings.log_config()?).await?;
        let out = Arc::new(Mutex::new(std::io::stdout()));
        {
            let mut o = out.lock().unwrap();
            writeln!(o, "READY {}", log.durable_seq())?;
            o.flush()?;
        }
        let at = Placement {
            account: args.account.clone(),
            region: args.region.clone(),
        };
        let mut tasks = Vec::new();
        for w in 0..args.writers {
            let at = at.clone();
            let log = log.clone();
            let out = out.clone();
            let (round, size, limit) = (args.round, args.batch, args.batches);
            tasks.push(tokio::spawn(async move {
                let mut b = 0u32;
                while limit.is_none_or(|l| b < l) {
                    let records = (0..size).map(|i| record(round, w, b, i, &at)).collect();
                    match log.append(records).await {
                        Ok(r) => {
                            let mut o = out.lock().unwrap();
                            let _ = writeln!(o, "ACK {round} {w} {b} {} {}", r.first_seq, r.last_seq);
                            let _ = o.flush();
                        }
                        Err(e) => {
                            let mut o = out.lock().unwrap();
                            let _ = writeln!(o, "ERR {round} {w} {b} {e}");
                            let _ = o.flush();
                        }
                    }
                    b += 1;
                }
            }));
        }
        for t in tasks {
            t.await?;
        }
        log.close().await?;
        Ok(ExitCode::SUCCESS)
    })
}
