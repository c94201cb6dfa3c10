//! Trail delivery: one consumer of the event log per trail, turning the events the trail selects
//! into CloudTrail log files in its bucket.
//!
//! ```text
//! event log ──read_after(cursor)──► select (selectors, accounts, regions, logging periods)
//!     ──► batch (interval or size cap) ──► plan stored ──► gzip files PUT ──► cursor committed
//!                                                                   │
//!            (log file validation) files recorded ──► every period: digests signed, stored, PUT
//! ```
//!
//! Exactly once: a batch's plan (its stretch of the log, delivery time and the trail as it was)
//! is stored before the first object is written, and object keys derive from the plan. A crash
//! anywhere replays the plan and rewrites the same objects; the cursor moves past a batch only
//! after all its objects are durable.

mod batch;
mod consumer;
mod digests;
mod sink;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use cairn_log::EventLog;
use parking_lot::RwLock;
use serde::{Deserialize, Serialize};

pub use batch::{OrgScope, Plan};
pub use consumer::cursor_name;

use crate::destinations::Destinations;
use crate::trails::TrailStore;

/// How trails deliver.
#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    /// A batch closes this long after its first event (CloudTrail: about 5 minutes).
    pub interval: Duration,
    /// ...or when it holds this many bytes of records (uncompressed).
    pub max_batch_bytes: usize,
    pub gzip_level: u32,
    /// Longest wait between two attempts at a failing destination.
    pub max_backoff: Duration,
    /// A batch that has failed for this long is given up (CloudTrail: 30 days).
    pub retry_limit: Duration,
    /// A trail with log file validation signs a digest of its log files this often (CloudTrail:
    /// hourly).
    pub digest_interval: Duration,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            interval: Duration::from_secs(300),
            max_batch_bytes: 32 << 20,
            gzip_level: 6,
            max_backoff: Duration::from_secs(300),
            retry_limit: Duration::from_secs(30 * 24 * 3600),
            digest_interval: Duration::from_secs(3600),
        }
    }
}

/// What GetTrailStatus reports of a trail's deliveries. Times in milliseconds since the epoch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_delivery_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_attempt_ms: Option<i64>,
    /// Time of the latest attempt that succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_success_ms: Option<i64>,
    /// The error of the latest attempt; cleared by a successful one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_error: Option<String>,
    /// The same for digest files. The delivery time is the newest written digest's end time (the
    /// time in its key), which is within moments of its delivery and tells a validator exactly
    /// which digest must exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_digest_delivery_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_digest_attempt_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_digest_success_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_digest_error: Option<String>,
    /// Events and files delivered since the trail was created.
    #[serde(default)]
    pub delivered_events: u64,
    #[serde(default)]
    pub delivered_files: u64,
}

/// Delivery status of every trail, by ARN, shared with the API.
#[derive(Clone, Default)]
pub struct Statuses(Arc<RwLock<HashMap<String, DeliveryStatus>>>);

impl Statuses {
    pub fn get(&self, arn: &str) -> Option<DeliveryStatus> {
        self.0.read().get(arn).cloned()
    }

    fn set(&self, arn: &str, status: DeliveryStatus) {
        self.0.write().insert(arn.to_string(), status);
    }

    fn remove(&self, arn: &str) {
        self.0.write().remove(arn);
    }
}

/// What every trail's consumer shares.
pub(crate) struct Shared {
    log: EventLog,
    trails: Arc<TrailStore>,
    sink: sink::Sink,
    org: Option<OrgScope>,
    config: DeliveryConfig,
    statuses: Statuses,
    /// Digest signing keys.
    keys: Arc<cairn_integrity::KeyRing>,
}

/// Starts and follows one consumer per trail until the returned handle is dropped or aborted.
pub fn spawn(
    log: EventLog,
    trails: Arc<TrailStore>,
    destinations: Destinations,
    org: Option<OrgScope>,
    config: DeliveryConfig,
    statuses: Statuses,
    keys: Arc<cairn_integrity::KeyRing>,
) -> tokio::task::JoinHandle<()> {
    let shared = Arc::new(Shared {
        log,
        trails,
        sink: sink::Sink::new(destinations),
        org,
        config,
        statuses,
        keys,
    });
    tokio::spawn(supervise(shared))
}

/// Keeps a consumer running for every trail; a consumer ends itself when its trail is deleted.
async fn supervise(shared: Arc<Shared>) {
    let mut running: HashMap<String, tokio::task::JoinHandle<()>> = HashMap::new();
    let mut changes = shared.trails.subscribe();
    // Consumers are aborted with the supervisor (at shutdown): every step is crash-safe.
    struct AbortAll<'a>(&'a mut HashMap<String, tokio::task::JoinHandle<()>>);
    impl Drop for AbortAll<'_> {
        fn drop(&mut self) {
            for h in self.0.values() {
                h.abort();
            }
        }
    }
    let guard = AbortAll(&mut running);
    // Trails deleted while Cairn was down leave delivery state behind.
    consumer::remove_orphans(&shared).await;
    loop {
        guard.0.retain(|_, h| !h.is_finished());
        for trail in shared.trails.all() {
            let arn = trail.arn();
            if let std::collections::hash_map::Entry::Vacant(slot) = guard.0.entry(arn) {
                let arn = slot.key().clone();
                slot.insert(tokio::spawn(consumer::run(shared.clone(), arn)));
            }
        }
        if changes.changed().await.is_err() {
            return;
        }
    }
}
