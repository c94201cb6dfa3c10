//! HTTP routes. One listener serves every protocol; a request is routed by the service named in
//! its SigV4 credential scope (and the `X-Amz-Target` header of JSON APIs). Unsigned requests
//! reach only `/health`, `/metrics` and the console (`/console`, which has its own sign-in), and
//! are refused everywhere else.

pub(crate) mod caller;
pub mod cloudtrail;
pub mod cloudtrail_data;
pub mod error;
mod health;
pub mod ingest_events;
pub(crate) mod metrics;
pub mod s3;

use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnFailure, TraceLayer};
use tracing::Level;

use crate::AppState;
use crate::listener::ConnInfo;
use caller::Claimed;

pub fn router(state: AppState) -> Router {
    Router::new()
        .fallback(dispatch)
        .layer(TimeoutLayer::with_status_code(
            StatusCode::GATEWAY_TIMEOUT,
            Duration::from_secs(60),
        ))
        // 503 while starting is expected; handlers log their own real failures.
        .layer(
            TraceLayer::new_for_http()
                // The path only: a presigned URL's query is a bearer credential and stays out of logs.
                .make_span_with(
                    |req: &Request| tracing::debug_span!("request", method = %req.method(), path = %req.uri().path()),
                )
                .on_failure(DefaultOnFailure::new().level(Level::DEBUG)),
        )
        .with_state(state)
}

async fn dispatch(State(state): State<AppState>, ConnectInfo(conn): ConnectInfo<ConnInfo>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let claimed = Claimed::from_parts(&parts);
    let json_target = parts.headers.contains_key("x-amz-target");
    let export = parts.method == Method::GET && parts.uri.path() == cloudtrail::export::PATH;
    match claimed.service.as_deref() {
        // Unsigned too, to be refused in CloudTrail's shape (anonymous S3 reads are refused anyway).
        Some("cloudtrail") | None if export => cloudtrail::export::handle(&state, &conn, parts, body).await,
        Some("cloudtrail") => cloudtrail::handle(&state, &conn, parts, body).await,
        // Cairn's own bulk ingest has a larger body limit than PutAuditEvents: its own handler.
        Some("cloudtrail-data") if parts.uri.path() == ingest_events::PATH => {
            ingest_events::handle(&state, &conn, parts, body).await
        }
        Some("cloudtrail-data") => cloudtrail_data::handle(&state, &conn, parts, body).await,
        _ if json_target => cloudtrail::handle(&state, &conn, parts, body).await,
        Some(_) => s3::http::serve(&state, &conn, parts, body).await,
        None if parts.method == Method::GET && parts.uri.path() == "/health" => {
            health::health(State(state)).await.into_response()
        }
        None if parts.method == Method::GET && parts.uri.path() == "/metrics" => {
            metrics::metrics(State(state)).await.into_response()
        }
        // The console authenticates with its session cookie, never a signature.
        None if crate::console::owns(parts.uri.path()) => crate::console::handle(&state, &conn, parts, body).await,
        // Never an S3 path (bucket names are lower-case): refused in the rest-json shape.
        None if parts.method == Method::POST && parts.uri.path() == ingest_events::PATH => {
            ingest_events::handle(&state, &conn, parts, body).await
        }
        None => s3::http::serve(&state, &conn, parts, body).await,
    }
}
