//! `cairn verify`: a full integrity check of a data directory.

use std::process::ExitCode;

use anyhow::Context;
use cairn_log::EventLog;

use crate::settings::Settings;

#[derive(clap::Args)]
pub struct Args {}

pub fn run(settings: Settings, _args: Args) -> anyhow::Result<ExitCode> {
    super::init_tracing(&Settings {
        log_level: "warn".into(),
        ..settings.clone()
    });
    super::runtime()?.block_on(async move {
        let log = EventLog::open(&settings.data_dir, settings.log_config()?)
            .await
            .with_context(|| format!("cannot open {}", settings.data_dir.display()))?;
        let mut problems = log.status().corruption;
        problems.extend(log.verify().await?);
        problems.dedup();
        let s = log.status();
        // Not `close`: that would flush the memtable, and a check should change nothing.
        drop(log);
        println!(
            "{} events (sequence 1..={}), {} segments, {} WAL files",
            s.durable_seq, s.durable_seq, s.segments, s.wal_files
        );
        if problems.is_empty() {
            println!("OK: every WAL frame and segment verified");
            Ok(ExitCode::SUCCESS)
        } else {
            for p in &problems {
                println!("DAMAGED: {p}");
            }
            Ok(ExitCode::from(1))
        }
    })
}
