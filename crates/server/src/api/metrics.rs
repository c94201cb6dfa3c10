//! `GET /metrics`: Prometheus text format. Gauges of the event log are refreshed at scrape time.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

use crate::AppState;
use crate::api::error::ApiError;

/// Counts an answered API request (ok, error for the caller's mistakes, fault for Cairn's) and
/// its latency, by protocol.
pub fn observe(protocol: &'static str, error: Option<&ApiError>, started: std::time::Instant) {
    let status = match error {
        None => "ok",
        Some(e) if e.status.is_server_error() => "fault",
        Some(_) => "error",
    };
    metrics::counter!("cairn_api_requests_total", "protocol" => protocol, "status" => status).increment(1);
    metrics::histogram!("cairn_api_request_seconds", "protocol" => protocol).record(started.elapsed().as_secs_f64());
}

pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let Some(handle) = state.metrics() else {
        return (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain")],
            "metrics are disabled\n".to_string(),
        );
    };
    if let Some(log) = state.log() {
        let s = log.status();
        metrics::gauge!("cairn_log_durable_seq").set(s.durable_seq as f64);
        metrics::gauge!("cairn_log_flushed_seq").set(s.flushed_seq as f64);
        metrics::gauge!("cairn_log_memtable_events").set(s.memtable_events as f64);
        metrics::gauge!("cairn_log_unflushed_bytes").set(s.unflushed_bytes as f64);
        metrics::gauge!("cairn_log_segments").set(s.segments as f64);
        metrics::gauge!("cairn_log_segment_bytes").set(s.segment_bytes as f64);
        metrics::gauge!("cairn_wal_files").set(s.wal_files as f64);
        metrics::gauge!("cairn_log_corruption_findings").set(s.corruption.len() as f64);
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        handle.render(),
    )
}
