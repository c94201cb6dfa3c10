//! `cairn serve`.

use std::process::ExitCode;

use std::sync::Arc;

use anyhow::{Context, bail};
use cairn_log::EventLog;
use cairn_server::auth::identity::{self, AccessKeyConfig, AccountConfig, Directory};
use cairn_server::buckets::LocalBuckets;
use cairn_server::destinations::Destinations;
use cairn_server::trails::delivery::OrgScope;
use cairn_server::{ApiOptions, AppState, Ready};
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
    let (directory, bootstrap_note) = identities(&settings)?;
    let directory = Arc::new(directory);
    let org = directory.organization().map(|o| OrgScope {
        id: o.id.clone(),
        accounts: o.accounts().map(str::to_string).collect(),
    });
    let delivery_config = settings.delivery_config()?;
    let insights_config = settings.insights_config()?;
    let key_rotation = settings.signing_key_rotation()?;
    let signing_key = match &settings.signing_key_file {
        Some(path) => Some(cairn_server::read_signing_key(path).map_err(anyhow::Error::msg)?),
        None => None,
    };
    let destinations = match settings.bucket_store.as_str() {
        "local" => Destinations::Local(
            LocalBuckets::open(&settings.data_dir.join("buckets")).context("opening the local buckets")?,
        ),
        "s3" => Destinations::S3(settings.s3_endpoint()),
        other => bail!("bucket_store must be \"local\" or \"s3\", not {other:?}"),
    };
    let tls = match (&settings.tls_cert, &settings.tls_key) {
        (Some(cert), Some(key)) => Some(cairn_server::listener::tls_config(cert, key).map_err(anyhow::Error::msg)?),
        (None, None) => None,
        _ => bail!("tls_cert and tls_key must be set together"),
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let options = ApiOptions {
        max_trails_per_region: settings.max_trails_per_region,
        lookup_rate_limit: (settings.lookup_rate_limit > 0.0).then_some(settings.lookup_rate_limit),
        console_session_ttl: settings.console_session_ttl()?,
    };
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
            "cairn listening on {scheme}://{addr} (data directory {})",
            settings.data_dir.display()
        );
        if let Some(note) = bootstrap_note {
            println!("{}", note.replace("{endpoint}", &format!("{scheme}://{addr}")));
        }

        let (ready_tx, ready_rx) = watch::channel(None::<Ready>);
        let (stop_tx, mut stop_rx) = watch::channel(false);
        let state = AppState::new(ready_rx, Some(metrics), directory, destinations.clone(), options);
        let server = tokio::spawn(cairn_server::serve(listener, tls, state, async move {
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
        let ready = match Ready::open(log.clone(), key_rotation, signing_key.as_deref()).await {
            Ok(r) => r,
            Err(e) => {
                let _ = stop_tx.send(true);
                let _ = server.await;
                return Err(anyhow::anyhow!(e)).context("cannot load the trails and keys");
            }
        };
        let delivery = cairn_server::trails::delivery::spawn(
            log.clone(),
            ready.trails.clone(),
            destinations,
            org.clone(),
            delivery_config,
            ready.deliveries.clone(),
            ready.keys.clone(),
        );
        let insights = cairn_server::insights::spawn(log.clone(), ready.trails.clone(), org, insights_config)
            .map_err(anyhow::Error::msg)?;
        let _ = ready_tx.send(Some(ready));
        tracing::info!("ready");

        shutdown_signal().await;
        tracing::info!("shutting down");
        // Delivery stops first, mid-batch if need be: every step of it is crash-safe.
        delivery.abort();
        insights.abort();
        let _ = delivery.await;
        let _ = insights.await;
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

/// Who may call: the configured accounts, plus a root user from `CAIRN_ROOT_*`; with neither, the
/// bootstrap root user of the data directory (created on first start).
fn identities(settings: &Settings) -> anyhow::Result<(Directory, Option<String>)> {
    let mut accounts = settings.accounts.clone();
    let mut note = None;
    let default_account = settings.default_account_id.clone();
    match (&settings.root_access_key_id, &settings.root_secret_access_key) {
        (Some(id), Some(secret)) => {
            let account_id = default_account.clone().unwrap_or_else(|| DEFAULT_ACCOUNT.to_string());
            let key = AccessKeyConfig {
                id: id.clone(),
                secret: secret.clone(),
            };
            match accounts.iter_mut().find(|a| a.id == account_id) {
                Some(a) => a.root_access_keys.push(key),
                None => accounts.push(AccountConfig {
                    id: account_id,
                    alias: None,
                    root_access_keys: vec![key],
                    users: Vec::new(),
                }),
            }
        }
        (None, None) => {}
        _ => bail!("root_access_key_id and root_secret_access_key must be set together"),
    }
    if accounts.is_empty() {
        let (b, created) = identity::bootstrap(&settings.data_dir, default_account.as_deref())
            .with_context(|| format!("creating the bootstrap credentials in {}", settings.data_dir.display()))?;
        let file = settings.data_dir.join("root-credentials.json");
        if created {
            // The secret stays in the file (mode 0600); it is never printed or logged.
            note = Some(format!(
                "created root credentials for account {} in {} (readable by this user only). Use them with:\n  \
                 export AWS_ACCESS_KEY_ID={} AWS_SECRET_ACCESS_KEY=$(jq -r .secret_access_key {})\n  \
                 aws cloudtrail describe-trails --endpoint-url {{endpoint}} --region us-east-1",
                b.account_id,
                file.display(),
                b.access_key_id,
                file.display(),
            ));
        } else {
            tracing::info!(account = %b.account_id, file = %file.display(), "using the bootstrap root credentials");
        }
        accounts.push(AccountConfig {
            id: b.account_id,
            alias: None,
            root_access_keys: vec![AccessKeyConfig {
                id: b.access_key_id,
                secret: b.secret_access_key,
            }],
            users: Vec::new(),
        });
    }
    Ok((Directory::build(&accounts, settings.organization.as_ref())?, note))
}

/// The account of `CAIRN_ROOT_*` credentials when `default_account_id` is not set.
const DEFAULT_ACCOUNT: &str = "123456789012";
