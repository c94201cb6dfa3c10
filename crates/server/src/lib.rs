//! The Cairn daemon: one HTTP listener for everything Cairn serves. Today it answers `/health` and
//! `/metrics`; the CloudTrail API, ingest and consumers (event history, trails, digests, Insights)
//! arrive here as one folder each.
#![forbid(unsafe_code)]

pub mod api;
pub mod auth;
pub mod buckets;

use std::net::SocketAddr;
use std::sync::Arc;

use cairn_log::EventLog;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// What request handlers share.
#[derive(Clone)]
pub struct AppState {
    /// None until the event log has opened (WAL replay can take seconds).
    log: watch::Receiver<Option<EventLog>>,
    metrics: Option<Arc<metrics_exporter_prometheus::PrometheusHandle>>,
}

impl AppState {
    pub fn new(
        log: watch::Receiver<Option<EventLog>>,
        metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    ) -> Self {
        AppState {
            log,
            metrics: metrics.map(Arc::new),
        }
    }

    pub fn log(&self) -> Option<EventLog> {
        self.log.borrow().clone()
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

/// Serves until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let local: SocketAddr = listener.local_addr()?;
    tracing::info!(%local, "listening");
    // Small responses must not wait for Nagle's algorithm.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

use axum::serve::ListenerExt;
