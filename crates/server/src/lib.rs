//! The Cairn daemon: one HTTP listener for everything Cairn serves (CloudTrail's JSON API, the S3
//! facade over local buckets, `/health`, `/metrics`), the identities that may call it, and the
//! consumers of the event log (trails today; event history, digests and Insights arrive as one
//! folder each).
#![forbid(unsafe_code)]

pub mod api;
pub mod audit;
pub mod auth;
pub mod buckets;
pub mod channels;
pub mod client;
pub mod console;
pub mod destinations;
pub mod history;
pub mod ingest;
pub mod insights;
pub mod listener;
pub mod secrets;
pub mod trails;

use std::net::SocketAddr;
use std::sync::Arc;

use cairn_log::EventLog;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::auth::identity::Directory;
use crate::channels::ChannelStore;
use crate::destinations::Destinations;
use crate::history::TokenSealer;
use crate::listener::{ConnInfo, PlainListener, TlsListener};
use crate::trails::TrailStore;

/// What exists once the event log has opened.
#[derive(Clone)]
pub struct Ready {
    pub log: EventLog,
    pub trails: Arc<TrailStore>,
    /// CloudTrail Lake integration channels (PutAuditEvents).
    pub channels: Arc<ChannelStore>,
    pub tokens: TokenSealer,
    /// What each trail's delivery consumer last did (GetTrailStatus).
    pub deliveries: trails::delivery::Statuses,
    /// Digest signing keys, per region (ListPublicKeys).
    pub keys: Arc<cairn_integrity::KeyRing>,
}

/// Reads an operator's digest signing key: an RSA private key as PEM (`PRIVATE KEY` or `RSA
/// PRIVATE KEY`) or DER. Refuses a file others can read.
pub fn read_signing_key(path: &std::path::Path) -> Result<Vec<u8>, String> {
    use rustls::pki_types::PrivateKeyDer;
    use rustls::pki_types::pem::PemObject;
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(format!(
                "{}: a private key must not be readable by others (chmod 600)",
                path.display()
            ));
        }
    }
    let _ = meta;
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if bytes.starts_with(b"-----") {
        let key = PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        return Ok(key.secret_der().to_vec());
    }
    Ok(bytes)
}

/// How long a digest signing key signs before its successor takes over (CloudTrail: 30 days).
pub const DEFAULT_KEY_ROTATION: std::time::Duration = std::time::Duration::from_secs(30 * 24 * 3600);
/// How long before its end a key's successor is made, so their validities overlap (at most half
/// the rotation period, for the short periods tests use).
const KEY_OVERLAP_SECS: i64 = 3600;

impl Ready {
    /// Loads what the API needs from the opened log and its data directory.
    /// `signing_key`: an operator's RSA private key (DER) to sign digests with, instead of keys
    /// Cairn makes and rotates.
    pub async fn open(
        log: EventLog,
        key_rotation: std::time::Duration,
        signing_key: Option<&[u8]>,
    ) -> Result<Ready, Box<dyn std::error::Error + Send + Sync>> {
        let trails = Arc::new(TrailStore::load(log.catalog().clone()).await?);
        let channels = Arc::new(ChannelStore::load(log.catalog().clone()).await?);
        let tokens = TokenSealer::open(log.data_dir())?;
        let mut keys = cairn_integrity::KeyRing::open(
            log.data_dir().join("signing-keys"),
            key_rotation.as_secs() as i64,
            KEY_OVERLAP_SECS.min(key_rotation.as_secs() as i64 / 2),
        )?;
        if let Some(der) = signing_key {
            keys = keys.with_external_key(der)?;
        }
        let keys = Arc::new(keys);
        Ok(Ready {
            log,
            trails,
            channels,
            tokens,
            deliveries: Default::default(),
            keys,
        })
    }
}

/// Limits and switches of the API.
#[derive(Debug, Clone)]
pub struct ApiOptions {
    /// CloudTrail's quota of trails per account and region.
    pub max_trails_per_region: usize,
    /// LookupEvents calls per second per account and region (CloudTrail allows 2); None: no limit.
    pub lookup_rate_limit: Option<f64>,
    /// How long a console sign-in lasts.
    pub console_session_ttl: std::time::Duration,
}

impl Default for ApiOptions {
    fn default() -> Self {
        ApiOptions {
            max_trails_per_region: 5,
            lookup_rate_limit: None,
            console_session_ttl: std::time::Duration::from_secs(12 * 3600),
        }
    }
}

/// What request handlers share.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    /// None until the event log has opened (WAL replay can take seconds).
    ready: watch::Receiver<Option<Ready>>,
    metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    directory: Arc<Directory>,
    destinations: Destinations,
    options: ApiOptions,
    lookup_buckets: parking_lot::Mutex<std::collections::HashMap<(String, String), TokenBucket>>,
    sessions: console::Sessions,
}

/// A token bucket: `rate` tokens a second, holding at most `rate` (one second's worth).
#[derive(Debug, Clone, Copy)]
struct TokenBucket {
    tokens: f64,
    at: std::time::Instant,
}

impl AppState {
    pub fn new(
        ready: watch::Receiver<Option<Ready>>,
        metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
        directory: Arc<Directory>,
        destinations: Destinations,
        options: ApiOptions,
    ) -> Self {
        AppState {
            inner: Arc::new(Inner {
                ready,
                metrics,
                directory,
                destinations,
                sessions: console::Sessions::new(options.console_session_ttl),
                options,
                lookup_buckets: Default::default(),
            }),
        }
    }

    pub fn ready(&self) -> Option<Ready> {
        self.inner.ready.borrow().clone()
    }

    pub fn log(&self) -> Option<EventLog> {
        self.inner.ready.borrow().as_ref().map(|r| r.log.clone())
    }

    pub fn metrics(&self) -> Option<&metrics_exporter_prometheus::PrometheusHandle> {
        self.inner.metrics.as_ref()
    }

    pub fn directory(&self) -> &Arc<Directory> {
        &self.inner.directory
    }

    pub fn destinations(&self) -> &Destinations {
        &self.inner.destinations
    }

    /// Console sessions.
    pub fn sessions(&self) -> &console::Sessions {
        &self.inner.sessions
    }

    pub fn options(&self) -> &ApiOptions {
        &self.inner.options
    }

    /// Whether a LookupEvents call of `account` in `region` fits the configured rate (always, when
    /// no limit is set).
    pub fn admit_lookup(&self, account: &str, region: &str) -> bool {
        let Some(rate) = self.inner.options.lookup_rate_limit.filter(|r| *r > 0.0) else {
            return true;
        };
        let now = std::time::Instant::now();
        let mut buckets = self.inner.lookup_buckets.lock();
        let b = buckets
            .entry((account.to_string(), region.to_string()))
            .or_insert(TokenBucket {
                tokens: rate.max(1.0),
                at: now,
            });
        b.tokens = (b.tokens + now.duration_since(b.at).as_secs_f64() * rate).min(rate.max(1.0));
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

pub fn router(state: AppState) -> axum::Router {
    api::router(state)
}

/// Binds `addr`; separate from [`serve`] so callers can report the bound address (port 0 picks
/// a free port) before serving.
pub async fn bind(addr: &str) -> std::io::Result<TcpListener> {
    let listener = TcpListener::bind(addr).await?;
    Ok(listener)
}

/// Serves until `shutdown` resolves: plain HTTP, or HTTPS when `tls` is given.
pub async fn serve(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let local: SocketAddr = listener.local_addr()?;
    tracing::info!(%local, tls = tls.is_some(), "listening");
    let app = router(state).into_make_service_with_connect_info::<ConnInfo>();
    match tls {
        None => {
            axum::serve(PlainListener(listener), app)
                .with_graceful_shutdown(shutdown)
                .await
        }
        Some(config) => {
            axum::serve(TlsListener::new(listener, config)?, app)
                .with_graceful_shutdown(shutdown)
                .await
        }
    }
}
