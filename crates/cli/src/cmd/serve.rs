//! `cairn serve`.

use std::process::ExitCode;

use anyhow::Context;
use cairn_log::EventLog;
use cairn_server::AppState;
use tokio::sync::watch;

use crate::settings::Settings;

#[derive(clap::Args)]
pub struct Args {
    /// Address to listen on (port 0 picks a free port; the chosen address is printed).
    #[arg(short, long, value_name = "ADDR")]
    listen: Option<String>,
}

pub fn run(mut settings: Settings, args: Args) -> anyhow::Result<ExitCode> {
    if let Some(l) = args.listen {
        settings.listen = l;
    }
    super::init_tracing(&settings);
    let log_config = settings.log_config()?;
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .context("installing the metrics recorder")?;
    super::runtime()?.block_on(async move {
        let listener = cairn_server::bind(&settings.listen)
            .await
            .with_context(|| format!("cannot listen on {}", settings.listen))?;
        let addr = listener.local_addr()?;
        // Scripts read this line to find the port.
        println!(
            "cairn listening on http://{addr} (data directory {})",
            settings.data_dir.display()
        );

        let (log_tx, log_rx) = watch::channel(None::<EventLog>);
        let (stop_tx, mut stop_rx) = watch::channel(false);
        let state = AppState::new(log_rx, Some(metrics));
        let server = tokio::spawn(cairn_server::serve(listener, state, async move {
            let _ = stop_rx.wait_for(|s| *s).await;
        }));

        let opened = tokio::select! {
            log = EventLog::open(&settings.data_dir, log_config) => Some(log),
            _ = shutdown_signal() => None,
        };
        let log = match opened {
            Some(Ok(log)) => log,
            Some(Err(e)) => {
                let _ = stop_tx.send(true);
                let _ = server.await;
                return Err(e).context("cannot open the event log");
            }
            None => {
                let _ = stop_tx.send(true);
                let _ = server.await;
                return Ok(ExitCode::SUCCESS);
            }
        };
        let _ = log_tx.send(Some(log.clone()));
        tracing::info!("ready");

        shutdown_signal().await;
        tracing::info!("shutting down");
        let _ = stop_tx.send(true);
        let _ = server.await;
        log.close().await.context("closing the event log")?;
        Ok(ExitCode::SUCCESS)
    })
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
