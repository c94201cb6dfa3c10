//! `cairn import`: CloudTrail log files into the event log of a data directory, or, with
//! `--endpoint-url`, into a running server through its IngestEvents.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use cairn_log::EventLog;
use cairn_server::client::CloudTrailClient;
use cairn_server::ingest::import::{self, ImportSummary};
use cairn_server::ingest::source;
use indicatif::{ProgressBar, ProgressStyle};

use crate::settings::Settings;

#[derive(clap::Args)]
pub struct Args {
    /// Files, directories (searched recursively for .json, .json.gz, .jsonl, .ndjson) and
    /// s3://bucket/prefix locations on the configured S3 endpoint.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<String>,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
    /// Send the records to the running server at URL (POST /IngestEvents, signed with
    /// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, else the data directory's root credentials)
    /// instead of opening the data directory.
    #[arg(long, value_name = "URL")]
    endpoint_url: Option<String>,
    /// Region the requests are signed for (with --endpoint-url).
    #[arg(long, default_value = "us-east-1", env = "AWS_REGION")]
    region: String,
}

/// Rejections listed in the summary (all are counted).
const SHOWN_REJECTIONS: usize = 20;

pub fn run(settings: Settings, args: Args) -> anyhow::Result<ExitCode> {
    super::init_tracing(&Settings {
        log_level: "warn".into(),
        ..settings.clone()
    });
    let s3 = settings.s3_endpoint.is_some().then(|| settings.s3_endpoint());
    super::runtime()?.block_on(async move {
        let items = source::expand(&args.paths, s3.as_ref()).await.map_err(anyhow::Error::msg)?;
        let pb = if args.quiet {
            ProgressBar::hidden()
        } else {
            ProgressBar::new(items.len() as u64)
        };
        pb.set_style(
            ProgressStyle::with_template("{spinner} importing [{bar:30}] {pos}/{len} files, {msg} ({elapsed})")
                .expect("a valid template")
                .progress_chars("=> "),
        );
        let progress = |s: &ImportSummary| {
            pb.set_message(format!("{} events added", s.events_added));
            pb.inc(1);
        };
        let started = Instant::now();
        let summary = match &args.endpoint_url {
            Some(endpoint) => {
                let (key, secret) = super::credentials(&settings)?;
                let client = CloudTrailClient::new(endpoint, &args.region, &key, &secret);
                super::import_remote::run(&client, items, progress).await?
            }
            None => {
                let log = EventLog::open(&settings.data_dir, settings.log_config()?).await.with_context(|| {
                    format!(
                        "cannot open {} (a running server holds it: stop it first, or import through it with --endpoint-url)",
                        settings.data_dir.display()
                    )
                })?;
                let summary = import::run(&log, items, progress).await?;
                log.close().await.context("closing the event log")?;
                summary
            }
        };
        pb.finish_and_clear();
        let secs = started.elapsed().as_secs_f64();
        println!(
            "imported {} files ({:.1} MB) in {secs:.1} s: {} events added ({:.0}/s), {} duplicates skipped, {} files already imported, {} rejected",
            summary.files,
            summary.bytes as f64 / 1e6,
            summary.events_added,
            summary.events_added as f64 / secs.max(1e-9),
            summary.duplicates_skipped,
            summary.files_already_imported,
            summary.rejected.len()
        );
        for r in summary.rejected.iter().take(SHOWN_REJECTIONS) {
            println!("rejected: {}: {}", r.location, r.reason);
        }
        if summary.rejected.len() > SHOWN_REJECTIONS {
            println!("... and {} more rejections", summary.rejected.len() - SHOWN_REJECTIONS);
        }
        Ok(if summary.rejected.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        })
    })
}
