//! CloudTrail Insights: a consumer of the event log that feeds every management event to the
//! analysis core (`cairn_insights`, counting per minute in event time), and writes the Start and
//! End insight events it raises back into the log, for the accounts and regions whose trails ask
//! for that insight type. From the log they reach LookupEvents (`EventCategory=insight`) and the
//! trails' `CloudTrail-Insight` folders like any other event.
//!
//! ```text
//! event log ──read_after──► Analyzer.observe ──(minutes final)──► insight events ──► event log
//!                 └── every `tick` of quiet: Analyzer.advance(now) (ends insights of idle APIs)
//! ```
//!
//! Two analyzers: one for live traffic, one for backfill. An event more than [`BACKFILL_AFTER`]
//! older than the newest live event of its account and region (an import of old logs, a
//! forwarder catching up) goes to the backfill analyzer, which follows its own event times: the
//! imported period is analysed as it happened, without disturbing the live baselines. The routing
//! depends only on the log's order, so it is the same on every replay.
//!
//! The analyzers keep no state on disk: at start the consumer reads the log from its beginning
//! (building the baselines again) and from then on follows it. Insight event ids derive from the incident
//! (its series and first minute), and an insight event already in the log is not written again,
//! so the replay after a restart adds nothing twice.

mod metric;

use std::sync::Arc;
use std::time::{Duration, Instant};

use cairn_insights::{Analyzer, DetectorConfig, InsightEvent, InsightType, Observation};
use cairn_log::{CursorStart, EventLog, ScanRequest};
use cairn_model::record::EventRecord;
use cairn_model::{LookupAttribute, LookupFilter};
use serde::Deserialize;
use serde_json::json;

pub use metric::{MetricRequest, MetricSeries, metric_data};

use crate::trails::TrailStore;
use crate::trails::delivery::OrgScope;

/// Cursor of the insights consumer (it keeps the WAL from holding what it has read).
const CURSOR: &str = "insights";
/// How far behind the newest live event of its account and region an event must be to count as
/// backfill (CloudTrail itself delivers events within about 15 minutes).
pub const BACKFILL_AFTER_MS: i64 = 15 * 60 * 1000;
const READ_CHUNK: usize = 16_384;

/// How Insights runs.
#[derive(Debug, Clone)]
pub struct InsightsConfig {
    pub detector: DetectorConfig,
    /// How often accounts and regions that saw no event meanwhile are moved to the wall clock
    /// (ending their insights). Longer than the pauses of an import in progress.
    pub idle: Duration,
}

impl Default for InsightsConfig {
    fn default() -> Self {
        InsightsConfig {
            detector: DetectorConfig::default(),
            idle: Duration::from_secs(10),
        }
    }
}

/// Runs the consumer until the handle is aborted.
pub fn spawn(
    log: EventLog,
    trails: Arc<TrailStore>,
    org: Option<OrgScope>,
    config: InsightsConfig,
) -> Result<tokio::task::JoinHandle<()>, String> {
    let analyzers = Analyzers::new(&config.detector).map_err(|e| e.0)?;
    Ok(tokio::spawn(async move {
        let mut consumer = Consumer {
            log,
            trails,
            org,
            idle: config.idle,
            analyzers: Arc::new(parking_lot::Mutex::new(analyzers)),
        };
        loop {
            if let Err(e) = consumer.run().await {
                tracing::error!(error = %e, "insights consumer failed; restarting from the start of the log");
                match Analyzers::new(&config.detector) {
                    Ok(a) => *consumer.analyzers.lock() = a,
                    Err(e) => return tracing::error!(error = %e.0, "insights configuration"),
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }))
}

struct Consumer {
    log: EventLog,
    trails: Arc<TrailStore>,
    org: Option<OrgScope>,
    idle: Duration,
    /// Locked on a blocking thread while a chunk is counted, briefly otherwise.
    analyzers: Arc<parking_lot::Mutex<Analyzers>>,
}

/// The live and backfill analyzers, and where live traffic stands per account and region.
struct Analyzers {
    live: Analyzer,
    backfill: Analyzer,
    /// Newest live event time per (account, region), milliseconds.
    live_newest: std::collections::HashMap<(String, String), i64>,
}

impl Analyzers {
    fn new(config: &DetectorConfig) -> Result<Analyzers, cairn_insights::ConfigError> {
        Ok(Analyzers {
            live: Analyzer::new(config.clone())?,
            backfill: Analyzer::new(config.clone())?,
            live_newest: Default::default(),
        })
    }

    fn observe(&mut self, record: &EventRecord) {
        let ix = record.index();
        let t = ix.event_time.millis();
        let backfill = match self.live_newest.get_mut(&(ix.account_id.clone(), ix.region.clone())) {
            Some(newest) if t < *newest - BACKFILL_AFTER_MS => true,
            Some(newest) => {
                *newest = (*newest).max(t);
                false
            }
            None => {
                self.live_newest.insert((ix.account_id.clone(), ix.region.clone()), t);
                false
            }
        };
        observe(if backfill { &mut self.backfill } else { &mut self.live }, record);
    }

    fn advance(&mut self, now_ms: i64) {
        self.live.advance(now_ms);
        self.backfill.advance(now_ms);
    }

    fn drain(&mut self) -> Vec<InsightEvent> {
        let mut out = self.live.drain();
        out.extend(self.backfill.drain());
        out
    }
}

/// The fields of a record the analyzer needs beyond the index.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Slim<'a> {
    #[serde(borrow, default)]
    error_code: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    user_agent: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    user_identity: Option<SlimIdentity<'a>>,
}

#[derive(Deserialize)]
struct SlimIdentity<'a> {
    #[serde(borrow, default)]
    arn: Option<std::borrow::Cow<'a, str>>,
}

impl Consumer {
    async fn run(&mut self) -> cairn_log::Result<()> {
        self.log.open_cursor(CURSOR, CursorStart::Earliest).await?;
        let mut position = 0;
        let mut durable = self.log.subscribe();
        let mut advanced = Instant::now();
        let mut last_commit = Instant::now();
        loop {
            durable.borrow_and_update();
            let events = self.log.read_after(position, READ_CHUNK).await?;
            if let Some(last) = events.last() {
                position = last.seq;
                let read = events.len() as u64;
                observe_all(self.analyzers.clone(), events).await?;
                metrics::counter!("cairn_insights_events_read_total").increment(read);
            } else if position < self.log.durable_seq() {
                // Retention dropped what lay above our position.
                position = self.log.durable_seq();
            }
            // Every `idle` once caught up (not while replaying or working through a backlog):
            // accounts and regions that saw no event since the last time move to the wall clock
            // (ending their insights); one still receiving events, an import in progress
            // included, keeps following its own event times.
            if advanced.elapsed() >= self.idle && position >= self.log.durable_seq() {
                self.analyzers.lock().advance(jiff::Timestamp::now().as_millisecond());
                advanced = Instant::now();
            }
            let raised = self.analyzers.lock().drain();
            if !raised.is_empty() {
                self.emit(raised).await?;
            }
            if last_commit.elapsed() >= Duration::from_secs(1) && self.log.cursor(CURSOR).is_none_or(|c| c < position) {
                self.log.commit_cursor(CURSOR, position).await?;
                last_commit = Instant::now();
            }
            if position >= self.log.durable_seq() {
                tokio::select! {
                    r = durable.changed() => if r.is_err() { return Ok(()) },
                    _ = tokio::time::sleep(self.idle) => {}
                }
            }
        }
    }

    /// Writes the insight events that some trail asks for and the log does not hold yet.
    async fn emit(&self, raised: Vec<InsightEvent>) -> cairn_log::Result<()> {
        let mut records = Vec::new();
        for e in raised {
            if !self.wanted(&e) {
                continue;
            }
            let record = insight_record(&e);
            let present = ScanRequest {
                filter: Some(LookupFilter::new(
                    LookupAttribute::EventId,
                    record.event_id().to_string(),
                )),
                limit: 1,
                ..ScanRequest::new(e.account_id.clone(), e.region.clone())
            };
            if self
                .log
                .scan(&present)
                .await?
                .events
                .iter()
                .any(|s| s.record.event_id() == record.event_id())
            {
                continue;
            }
            tracing::info!(account = %e.account_id, region = %e.region, api = %format!("{}:{}", e.event_source, e.event_name),
                insight = e.insight_type.as_str(), state = e.state.as_str(), "insight");
            metrics::counter!("cairn_insights_raised_total", "type" => e.insight_type.as_str(), "state" => e.state.as_str())
                .increment(1);
            records.push(record);
        }
        if !records.is_empty() {
            self.log.append(records).await?;
        }
        Ok(())
    }

    /// Whether a logging trail that covers this account and region has this insight type on.
    fn wanted(&self, e: &InsightEvent) -> bool {
        self.trails.all().iter().any(|t| {
            let account = t.account_id == e.account_id
                || (t.is_organization_trail && self.org.as_ref().is_some_and(|o| o.accounts.contains(&e.account_id)));
            account
                && t.logging.is_logging
                && (t.is_multi_region_trail || t.home_region == e.region)
                && t.insight_selectors
                    .iter()
                    .any(|s| s.insight_type.as_deref() == Some(e.insight_type.as_str()))
        })
    }
}

/// Counts a chunk of events on a blocking thread (thousands of events take milliseconds).
async fn observe_all(
    analyzers: Arc<parking_lot::Mutex<Analyzers>>,
    events: Vec<cairn_log::StoredEvent>,
) -> cairn_log::Result<()> {
    tokio::task::spawn_blocking(move || {
        let mut analyzers = analyzers.lock();
        for e in &events {
            if e.record.index().event_category == "Management" {
                analyzers.observe(&e.record);
            }
        }
    })
    .await
    .map_err(|e| cairn_log::Error::Unavailable(format!("insights analysis: {e}")))
}

fn observe(analyzer: &mut Analyzer, record: &EventRecord) {
    let ix = record.index();
    let is_management = ix.event_category == "Management";
    let is_write = ix.read_only == Some(false);
    let json = record.json();
    // Only writes and errors need the attribution fields: skip parsing the rest.
    let slim = if is_management && (is_write || json.contains("\"errorCode\"")) {
        serde_json::from_str::<Slim<'_>>(json).ok()
    } else {
        None
    };
    let (source, name) = (
        ix.event_source.as_deref().unwrap_or(""),
        ix.event_name.as_deref().unwrap_or(""),
    );
    analyzer.observe(&Observation {
        account_id: &ix.account_id,
        region: &ix.region,
        event_source: source,
        event_name: name,
        event_time_ms: ix.event_time.millis(),
        is_write,
        is_management: is_management && !source.is_empty() && !name.is_empty(),
        error_code: slim.as_ref().and_then(|s| s.error_code.as_deref()),
        user_identity_arn: slim
            .as_ref()
            .and_then(|s| s.user_identity.as_ref())
            .and_then(|u| u.arn.as_deref()),
        user_agent: slim.as_ref().and_then(|s| s.user_agent.as_deref()),
    });
}

/// Records per second through the consumer's counting path on this thread (routing, reading
/// the attribution fields of writes and errors, counting), for `cairn bench`.
pub fn bench_observe(records: &[EventRecord]) -> f64 {
    let mut a = Analyzers::new(&DetectorConfig::default()).expect("the default configuration is valid");
    let started = Instant::now();
    for r in records {
        if r.index().event_category == "Management" {
            a.observe(r);
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    std::hint::black_box(a.drain());
    records.len() as f64 / elapsed.max(1e-9)
}

/// The CloudTrail record of an insight event (spec §1.5, §5).
pub fn insight_record(e: &InsightEvent) -> EventRecord {
    let time = jiff::Timestamp::from_millisecond(e.event_time_ms)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let record = json!({
        "eventVersion": "1.08",
        "eventTime": time,
        "awsRegion": e.region,
        "eventID": event_id(&e.shared_id, e.state.as_str()),
        "eventType": "AwsCloudTrailInsight",
        "recipientAccountId": e.account_id,
        "sharedEventID": e.shared_id,
        "insightDetails": cairn_insights::insight_details_json(e),
        "eventCategory": "Insight",
    });
    EventRecord::from_json(&record.to_string()).expect("insight records are valid CloudTrail records")
}

/// A UUID-shaped id from the incident and the state: the same insight always gets the same id.
fn event_id(shared_id: &str, state: &str) -> String {
    use sha2::{Digest, Sha256};
    let h = Sha256::digest(format!("{shared_id}/{state}").as_bytes());
    let hex: String = h.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// The insight type named in an API request.
pub fn parse_type(s: &str) -> Option<InsightType> {
    match s {
        "ApiCallRateInsight" => Some(InsightType::ApiCallRateInsight),
        "ApiErrorRateInsight" => Some(InsightType::ApiErrorRateInsight),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every record of `testdata/samples`, in file order (as `cairn import` reads them).
    fn sample_records() -> Vec<EventRecord> {
        let mut files = Vec::new();
        // At run time: a test binary may outlive the checkout it was built in.
        let mut stack = vec![
            std::path::Path::new(
                &std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_string()),
            )
            .join("../../testdata/samples"),
        ];
        while let Some(p) = stack.pop() {
            if p.is_dir() {
                stack.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
            } else if p.extension().is_some_and(|e| e == "json") {
                files.push(p);
            }
        }
        files.sort();
        files
            .iter()
            .flat_map(|f| {
                let text = std::fs::read_to_string(f).unwrap();
                crate::ingest::import::split(&text)
                    .unwrap()
                    .into_iter()
                    .filter_map(|r| EventRecord::from_json(r).ok())
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    fn analyse(records: &[EventRecord], baseline_minutes: u32) -> Vec<InsightEvent> {
        let config = DetectorConfig {
            baseline_minutes,
            ..DetectorConfig::default()
        };
        let mut a = Analyzers::new(&config).unwrap();
        for r in records.iter().filter(|r| r.index().event_category == "Management") {
            a.observe(r);
        }
        a.advance(i64::MAX / 2);
        a.drain()
    }

    #[test]
    fn the_sample_logs_raise_what_the_readme_says() {
        let records = sample_records();
        assert!(records.len() > 3000);
        for minutes in [7 * 24 * 60, 60] {
            let raised = analyse(&records, minutes);
            for e in &raised {
                eprintln!(
                    "baseline {minutes} min: {} {} {}:{} {:?} {} at {}",
                    e.account_id,
                    e.region,
                    e.event_source,
                    e.event_name,
                    e.insight_type,
                    e.state.as_str(),
                    e.event_time_ms
                );
            }
            // Stable: the same records give the same insights: none (README, Insights).
            assert_eq!(analyse(&records, minutes), raised);
            assert!(raised.is_empty(), "baseline {minutes} min raised {}", raised.len());
        }
        // Why: per API and minute, the samples' busiest write and error counts, and how much
        // history each account and region has.
        let mut per_minute: std::collections::HashMap<(String, String, String, i64), u32> = Default::default();
        let mut span: std::collections::HashMap<(String, String), (i64, i64)> = Default::default();
        for r in records.iter().filter(|r| r.index().event_category == "Management") {
            let ix = r.index();
            let t = ix.event_time.millis();
            let s = span.entry((ix.account_id.clone(), ix.region.clone())).or_insert((t, t));
            *s = (s.0.min(t), s.1.max(t));
            if ix.read_only == Some(false) || r.json().contains("\"errorCode\"") {
                let api = format!("{:?}:{:?}", ix.event_source, ix.event_name);
                *per_minute
                    .entry((ix.account_id.clone(), ix.region.clone(), api, t.div_euclid(60_000)))
                    .or_default() += 1;
            }
        }
        let busiest = per_minute.iter().max_by_key(|(_, n)| **n).unwrap();
        let longest = span.values().map(|(a, b)| (b - a) / 60_000).max().unwrap();
        eprintln!("busiest API minute: {busiest:?}; longest history of an account and region: {longest} min");
        assert_eq!(*busiest.1, 78, "the Stratus Red Team DeleteParameter burst");
        assert!(
            longest < 60,
            "every account and region holds less than an hour: {longest} min"
        );
    }
}
