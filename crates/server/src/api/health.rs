//! `GET /health`: 503 while the event log opens, 200 once Cairn can take events. The body says
//! whether integrity checks found damage (status "degraded", with the files named).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;

use crate::AppState;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Health {
    status: &'static str,
    version: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    durable_seq: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    flushed_seq: Option<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    problems: Vec<String>,
}

pub async fn health(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let version = env!("CARGO_PKG_VERSION");
    let Some(log) = state.log() else {
        let body = Health {
            status: "starting",
            version,
            durable_seq: None,
            flushed_seq: None,
            problems: vec![],
        };
        return (StatusCode::SERVICE_UNAVAILABLE, Json(body));
    };
    let s = log.status();
    let mut problems = s.corruption;
    problems.extend(s.last_flush_error);
    let status = if problems.is_empty() { "ok" } else { "degraded" };
    let body = Health {
        status,
        version,
        durable_seq: Some(s.durable_seq),
        flushed_seq: Some(s.flushed_seq),
        problems,
    };
    (StatusCode::OK, Json(body))
}
