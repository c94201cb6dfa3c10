//! `cairn lookup`: the event history from the command line, through a running server (so the
//! lookup is authorised and audited like any other): a table pages through LookupEvents; JSON and
//! CSV come as one streamed export (`GET /export/events`), encoded by the server.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use cairn_server::api::cloudtrail::export;
use cairn_server::client::CloudTrailClient;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Value, json};

use crate::settings::Settings;

#[derive(Clone, Copy, clap::ValueEnum)]
enum Output {
    /// Aligned columns: time, event name, user, source, resource type and name.
    Table,
    /// One CloudTrail record per line (NDJSON), as stored.
    Json,
    /// RFC 4180 CSV with a header row.
    Csv,
}

#[derive(clap::Args)]
pub struct Args {
    /// Server to ask [default: http://<listen setting>].
    #[arg(long, value_name = "URL")]
    endpoint_url: Option<String>,
    /// Region whose history to read.
    #[arg(long, default_value = "us-east-1", env = "AWS_REGION")]
    region: String,
    /// One filter, KEY=VALUE, KEY one of EventId, EventName, ReadOnly, Username, ResourceType,
    /// ResourceName, EventSource, AccessKeyId.
    #[arg(long, value_name = "KEY=VALUE")]
    lookup_attribute: Option<String>,
    /// Oldest event: RFC 3339 (2026-11-24T10:00:00Z) or an age (90m, 2h, 7d).
    #[arg(long, value_name = "TIME")]
    start_time: Option<String>,
    /// Newest event, in the same forms.
    #[arg(long, value_name = "TIME")]
    end_time: Option<String>,
    /// Insight events instead of management events.
    #[arg(long)]
    insights: bool,
    /// Stop after this many events [default: all].
    #[arg(long, value_name = "N")]
    max_items: Option<usize>,
    #[arg(long, value_enum, default_value_t = Output::Table)]
    output: Output,
    /// Write to FILE instead of standard output (JSON and CSV only). FILE appears only once the
    /// export is complete.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// No progress spinner (it is shown only with --out, on a terminal).
    #[arg(long, short)]
    quiet: bool,
}

/// Epoch seconds of an RFC 3339 time or of an age before now.
fn time_arg(s: &str) -> anyhow::Result<f64> {
    if let Ok(t) = s.parse::<jiff::Timestamp>() {
        return Ok(t.as_millisecond() as f64 / 1000.0);
    }
    let age: Duration = humantime::parse_duration(s)
        .with_context(|| format!("{s:?} is neither an RFC 3339 time nor an age such as 2h"))?;
    Ok(jiff::Timestamp::now().as_millisecond() as f64 / 1000.0 - age.as_secs_f64())
}

pub fn run(settings: Settings, args: Args) -> anyhow::Result<ExitCode> {
    let endpoint = args
        .endpoint_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", settings.listen));
    let (key, secret) = super::credentials(&settings)?;
    let client = CloudTrailClient::new(&endpoint, &args.region, &key, &secret);
    let attribute = match &args.lookup_attribute {
        None => None,
        Some(a) => match a.split_once('=') {
            Some((k, v)) => Some((k.to_string(), v.to_string())),
            None => bail!("--lookup-attribute {a:?} must be KEY=VALUE"),
        },
    };
    let start = args.start_time.as_deref().map(time_arg).transpose()?;
    let end = args.end_time.as_deref().map(time_arg).transpose()?;
    let printed = match args.output {
        Output::Table => {
            if args.out.is_some() {
                bail!("--out is for --output json or csv");
            }
            let mut input = json!({});
            if let Some((k, v)) = &attribute {
                input["LookupAttributes"] = json!([{"AttributeKey": k, "AttributeValue": v}]);
            }
            if let Some(t) = start {
                input["StartTime"] = json!(t);
            }
            if let Some(t) = end {
                input["EndTime"] = json!(t);
            }
            if args.insights {
                input["EventCategory"] = json!("insight");
            }
            table(&client, &endpoint, input, args.max_items.unwrap_or(usize::MAX))?
        }
        Output::Json | Output::Csv => {
            let mut params = vec![(
                "format".to_string(),
                if let Output::Csv = args.output { "csv" } else { "json" }.to_string(),
            )];
            if let Some((k, v)) = attribute {
                params.push(("attribute".into(), k));
                params.push(("value".into(), v));
            }
            if let Some(t) = start {
                params.push(("start".into(), t.to_string()));
            }
            if let Some(t) = end {
                params.push(("end".into(), t.to_string()));
            }
            if args.insights {
                params.push(("category".into(), "insight".into()));
            }
            if let Some(n) = args.max_items {
                params.push(("limit".into(), n.to_string()));
            }
            let csv = matches!(args.output, Output::Csv);
            download(&client, &endpoint, &params, csv, args.out.as_deref(), args.quiet)?
        }
    };
    if printed == 0 && !args.quiet {
        eprintln!("no events");
    }
    Ok(ExitCode::SUCCESS)
}

/// Pages through LookupEvents, printing a table; returns the number of events printed.
fn table(client: &CloudTrailClient, endpoint: &str, mut input: Value, limit: usize) -> anyhow::Result<usize> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut printed = 0usize;
    super::runtime()?.block_on(async {
        loop {
            let reply = client
                .call("LookupEvents", &input)
                .await
                .with_context(|| format!("calling {endpoint}"))?;
            if reply.status != 200 {
                bail!(
                    "{}: {}",
                    reply.error_code().unwrap_or("error"),
                    reply.body["message"].as_str().unwrap_or_default()
                );
            }
            for e in reply.body["Events"].as_array().into_iter().flatten() {
                if printed == limit {
                    return Ok(());
                }
                print_row(&mut out, e)?;
                printed += 1;
            }
            match reply.body["NextToken"].as_str() {
                Some(t) if printed < limit => input["NextToken"] = json!(t),
                _ => return Ok(()),
            }
        }
    })?;
    out.flush()?;
    Ok(printed)
}

/// Counts the records of a stream of NDJSON or CSV chunks: line ends outside quoted CSV fields
/// (a quoted field may span lines; `""` inside one toggles twice, so changes nothing).
struct Counter {
    csv: bool,
    in_quotes: bool,
    lines: u64,
}

impl Counter {
    fn feed(&mut self, chunk: &[u8]) {
        if !self.csv {
            self.lines += chunk.iter().filter(|&&b| b == b'\n').count() as u64;
            return;
        }
        for &b in chunk {
            match b {
                b'"' => self.in_quotes = !self.in_quotes,
                b'\n' if !self.in_quotes => self.lines += 1,
                _ => {}
            }
        }
    }

    fn events(&self) -> u64 {
        // The CSV header is a line too.
        if self.csv {
            self.lines.saturating_sub(1)
        } else {
            self.lines
        }
    }
}

/// Streams one export to `out_path` (complete or not at all) or to standard output; returns the
/// number of events.
fn download(
    client: &CloudTrailClient,
    endpoint: &str,
    params: &[(String, String)],
    csv: bool,
    out_path: Option<&Path>,
    quiet: bool,
) -> anyhow::Result<usize> {
    // The file is written beside its final name and renamed when complete, so a failed export
    // never leaves a file that looks whole.
    let mut temp = match out_path {
        Some(p) => {
            let dir = p
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            Some(tempfile::NamedTempFile::new_in(dir).with_context(|| format!("cannot write in {}", dir.display()))?)
        }
        None => None,
    };
    let stdout = std::io::stdout();
    let mut out: Box<dyn Write> = match &mut temp {
        Some(t) => Box::new(std::io::BufWriter::with_capacity(1 << 20, t.as_file_mut())),
        None => Box::new(std::io::BufWriter::with_capacity(1 << 20, stdout.lock())),
    };
    let pb = if quiet || out_path.is_none() || !std::io::stderr().is_terminal() {
        ProgressBar::hidden()
    } else {
        ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
    };
    pb.set_style(ProgressStyle::with_template("{spinner} {msg} ({elapsed})").expect("a valid template"));
    pb.enable_steady_tick(Duration::from_millis(100));
    let mut count = Counter {
        csv,
        in_quotes: false,
        lines: 0,
    };
    let started = Instant::now();
    let mut bytes = 0u64;
    super::runtime()?.block_on(async {
        let mut resp = client
            .get(export::PATH, params)
            .await
            .with_context(|| format!("calling {endpoint}"))?;
        if resp.status() != 200 {
            let status = resp.status();
            let body: Value = serde_json::from_slice(&resp.bytes().await.unwrap_or_default()).unwrap_or(Value::Null);
            bail!(
                "{}: {}",
                body["__type"].as_str().unwrap_or(status.as_str()),
                body["message"].as_str().unwrap_or_default()
            );
        }
        // A transfer the server aborted fails here, not as a short file.
        while let Some(chunk) = resp.chunk().await.context("the export was cut off")? {
            out.write_all(&chunk)?;
            count.feed(&chunk);
            bytes += chunk.len() as u64;
            let secs = started.elapsed().as_secs_f64().max(1e-3);
            pb.set_message(format!(
                "{} events written ({:.0}/s, {:.1} MB/s)",
                count.events(),
                count.events() as f64 / secs,
                bytes as f64 / 1e6 / secs
            ));
        }
        anyhow::Ok(())
    })?;
    out.flush()?;
    drop(out);
    pb.finish_and_clear();
    if let (Some(t), Some(p)) = (temp, out_path) {
        t.persist(p).with_context(|| format!("cannot write {}", p.display()))?;
        if !quiet {
            let secs = started.elapsed().as_secs_f64().max(1e-3);
            eprintln!(
                "{} events ({:.1} MB) written to {} in {secs:.1} s ({:.0} events/s, {:.1} MB/s)",
                count.events(),
                bytes as f64 / 1e6,
                p.display(),
                count.events() as f64 / secs,
                bytes as f64 / 1e6 / secs
            );
        }
    }
    Ok(count.events() as usize)
}

fn field<'a>(e: &'a Value, k: &str) -> &'a str {
    e[k].as_str().unwrap_or("")
}

fn time_of(e: &Value) -> String {
    e["EventTime"]
        .as_f64()
        .and_then(|s| jiff::Timestamp::from_millisecond((s * 1000.0) as i64).ok())
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

fn print_row(out: &mut impl Write, e: &Value) -> std::io::Result<()> {
    let first = &e["Resources"][0];
    writeln!(
        out,
        "{:<20}  {:<32}  {:<20}  {:<28}  {:<24}  {}",
        time_of(e),
        field(e, "EventName"),
        field(e, "Username"),
        field(e, "EventSource"),
        field(first, "ResourceType"),
        field(first, "ResourceName")
    )
}
