//! `cairn dump`: every stored event, in arrival order, as JSON lines.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use cairn_log::EventLog;

use crate::settings::Settings;

#[derive(clap::Args)]
pub struct Args {
    /// Start after this sequence number (0: from the first event still stored).
    #[arg(long, default_value_t = 0)]
    after: u64,
    /// Stop after this many events.
    #[arg(long)]
    limit: Option<u64>,
}

pub fn run(settings: Settings, args: Args) -> anyhow::Result<ExitCode> {
    super::init_tracing(&Settings {
        log_level: "warn".into(),
        ..settings.clone()
    });
    super::runtime()?.block_on(async move {
        let log = EventLog::open(&settings.data_dir, settings.log_config()?)
            .await
            .with_context(|| format!("cannot open {}", settings.data_dir.display()))?;
        let stdout = std::io::stdout();
        let mut out = std::io::BufWriter::new(stdout.lock());
        let mut after = args.after;
        let mut left = args.limit.unwrap_or(u64::MAX);
        while left > 0 {
            let batch = log.read_after(after, left.min(10_000) as usize).await?;
            let Some(last) = batch.last() else { break };
            after = last.seq;
            left -= batch.len() as u64;
            for e in &batch {
                writeln!(out, "{}", e.record.json())?;
            }
        }
        out.flush()?;
        // Not `close`: reading should change nothing on disk.
        drop(log);
        Ok(ExitCode::SUCCESS)
    })
}
