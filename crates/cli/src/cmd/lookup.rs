//! `cairn lookup`: the event history from the command line, through a running server's
//! LookupEvents (so the lookup is authorised and audited like any other).

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use cairn_server::client::CloudTrailClient;
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
    let mut input = json!({});
    if let Some(a) = &args.lookup_attribute {
        let Some((k, v)) = a.split_once('=') else {
            bail!("--lookup-attribute {a:?} must be KEY=VALUE");
        };
        input["LookupAttributes"] = json!([{"AttributeKey": k, "AttributeValue": v}]);
    }
    if let Some(t) = &args.start_time {
        input["StartTime"] = json!(time_arg(t)?);
    }
    if let Some(t) = &args.end_time {
        input["EndTime"] = json!(time_arg(t)?);
    }
    if args.insights {
        input["EventCategory"] = json!("insight");
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if let Output::Csv = args.output {
        writeln!(
            out,
            "EventTime,EventName,Username,EventSource,ResourceType,ResourceName,AccessKeyId,ReadOnly,EventId"
        )?;
    }
    let limit = args.max_items.unwrap_or(usize::MAX);
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
                print_event(&mut out, e, args.output)?;
                printed += 1;
            }
            match reply.body["NextToken"].as_str() {
                Some(t) if printed < limit => input["NextToken"] = json!(t),
                _ => return Ok(()),
            }
        }
    })?;
    out.flush()?;
    if printed == 0 {
        eprintln!("no events");
    }
    Ok(ExitCode::SUCCESS)
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

fn csv(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn print_event(out: &mut impl Write, e: &Value, how: Output) -> std::io::Result<()> {
    let first = &e["Resources"][0];
    let (rtype, rname) = (field(first, "ResourceType"), field(first, "ResourceName"));
    match how {
        Output::Json => writeln!(out, "{}", field(e, "CloudTrailEvent")),
        Output::Csv => writeln!(
            out,
            "{}",
            [
                time_of(e).as_str(),
                field(e, "EventName"),
                field(e, "Username"),
                field(e, "EventSource"),
                rtype,
                rname,
                field(e, "AccessKeyId"),
                field(e, "ReadOnly"),
                field(e, "EventId"),
            ]
            .map(csv)
            .join(",")
        ),
        Output::Table => writeln!(
            out,
            "{:<20}  {:<32}  {:<20}  {:<28}  {:<24}  {}",
            time_of(e),
            field(e, "EventName"),
            field(e, "Username"),
            field(e, "EventSource"),
            rtype,
            rname
        ),
    }
}
