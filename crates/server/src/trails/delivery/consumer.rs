//! The consumer of one trail: follows the event log from the trail's cursor, batches what the
//! trail selects, and delivers each batch exactly once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use cairn_log::CursorStart;
use cairn_model::trail::TrailConfig;
use serde::{Deserialize, Serialize};

use super::batch::{self, Contents, Plan, Selector};
use super::digests::{Digests, Target};
use super::{DeliveryStatus, Shared};
use crate::buckets::ObjectMeta;

/// Catalog document kind of per-trail delivery state; keys are trail ARNs.
const STATE_KIND: &str = "trail-delivery";
/// Events read from the log at a time...
const READ_CHUNK: usize = 16_384;
/// ...and when far behind (reading segments, where each read decodes whole row groups).
const BACKLOG_CHUNK: usize = 65_536;
/// How often a consumer that selects nothing still moves its cursor, so the WAL can be truncated
/// behind it and a restart does not rescan.
const IDLE_COMMIT: Duration = Duration::from_secs(1);

/// What survives a restart: the batch being delivered, and the status GetTrailStatus shows.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct State {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pending: Option<Plan>,
    #[serde(default)]
    status: DeliveryStatus,
    #[serde(default)]
    digests: Digests,
}

/// The event log cursor of a trail's delivery.
pub fn cursor_name(arn: &str) -> String {
    format!("trail-delivery:{arn}")
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

fn now_secs() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// Removes the delivery state and cursor of trails that no longer exist.
pub(super) async fn remove_orphans(shared: &Shared) {
    let docs = match shared.log.catalog().documents(STATE_KIND).await {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(error = %e, "cannot list trail delivery states");
            return;
        }
    };
    for (arn, _) in docs {
        if shared.trails.get(&arn).is_none() {
            remove_state(shared, &arn).await;
        }
    }
}

async fn remove_state(shared: &Shared, arn: &str) {
    if let Err(e) = shared.log.delete_cursor(&cursor_name(arn)).await {
        tracing::warn!(trail = %arn, error = %e, "cannot delete the delivery cursor of a deleted trail");
    }
    if let Err(e) = shared.log.catalog().delete_document(STATE_KIND, arn).await {
        tracing::warn!(trail = %arn, error = %e, "cannot delete the delivery state of a deleted trail");
    }
    shared.statuses.remove(arn);
}

pub(super) async fn run(shared: Arc<Shared>, arn: String) {
    let mut consumer = loop {
        match Consumer::open(shared.clone(), arn.clone()).await {
            Ok(c) => break c,
            Err(e) => {
                tracing::error!(trail = %arn, error = %e, "cannot load the trail's delivery state; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    };
    consumer.run().await;
}

struct Consumer {
    shared: Arc<Shared>,
    arn: String,
    cursor_name: String,
    /// The durable cursor: every event up to it is delivered (or not selected). None until the
    /// trail first logs.
    cursor: Option<u64>,
    /// How far the log has been read into the open batch.
    position: u64,
    selector: Option<Arc<Selector>>,
    /// Events read and selected but not yet in the open batch (it reached its size cap).
    carry: Option<Carry>,
    contents: Contents,
    /// When the open batch received its first event.
    opened_at: Option<Instant>,
    last_commit: Instant,
    state: State,
    /// Wait before the next attempt at writing digests.
    digest_backoff: Duration,
}

impl Consumer {
    async fn open(shared: Arc<Shared>, arn: String) -> cairn_log::Result<Consumer> {
        let state: State = match shared.log.catalog().get_document(STATE_KIND, &arn).await? {
            Some(json) => serde_json::from_str(&json).unwrap_or_else(|e| {
                tracing::error!(trail = %arn, error = %e, "unreadable delivery state; starting afresh");
                State::default()
            }),
            None => State::default(),
        };
        shared.statuses.set(&arn, state.status.clone());
        let cursor_name = cursor_name(&arn);
        let cursor = shared.log.cursor(&cursor_name);
        Ok(Consumer {
            position: cursor.unwrap_or(0),
            cursor,
            cursor_name,
            shared,
            arn,
            selector: None,
            carry: None,
            contents: Contents::default(),
            opened_at: None,
            last_commit: Instant::now(),
            state,
            digest_backoff: Duration::ZERO,
        })
    }

    async fn run(&mut self) {
        let mut changes = self.shared.trails.subscribe();
        let mut durable = self.shared.log.subscribe();
        loop {
            changes.borrow_and_update();
            durable.borrow_and_update();
            let Some(trail) = self.shared.trails.get(&self.arn) else {
                self.final_digests_of_deleted_trail().await;
                remove_state(&self.shared, &self.arn).await;
                return;
            };
            match self.step(trail).await {
                Ok(Step::Again) => continue,
                Ok(Step::Wait(deadline)) => {
                    let sleep = async {
                        match deadline {
                            Some(d) => tokio::time::sleep_until(d.into()).await,
                            None => std::future::pending().await,
                        }
                    };
                    tokio::select! {
                        r = changes.changed() => if r.is_err() { return },
                        r = durable.changed() => if r.is_err() { return },
                        _ = sleep => {}
                    }
                }
                Err(e) => {
                    tracing::error!(trail = %self.arn, error = %e, "trail delivery failed; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    async fn step(&mut self, trail: Arc<TrailConfig>) -> cairn_log::Result<Step> {
        // A batch planned before a crash (or still failing) goes first.
        if let Some(plan) = self.state.pending.clone() {
            if self.cursor.is_some_and(|c| plan.through <= c) {
                // Delivered; the crash came between the cursor commit and saving the state, so
                // the digest state lacks the batch's files: rebuild them (same bytes, same hashes).
                if plan.trail.log_file_validation_enabled {
                    let files = self.build(&plan, None).await?.0;
                    self.state
                        .digests
                        .record(&files, now_secs(), &plan.trail, plan.org.as_ref());
                }
                self.state.pending = None;
                self.save().await?;
            } else {
                self.deliver(plan, None).await?;
            }
            return Ok(Step::Again);
        }
        // A configuration change applies from the next batch: the open one closes first, so every
        // batch is selected under one configuration (the one its plan records).
        if self.selector.as_ref().is_none_or(|s| !Arc::ptr_eq(s.trail(), &trail)) {
            // Selected under the old configuration: read again from the position.
            self.carry = None;
            if !self.contents.is_empty() {
                self.close().await?;
                return Ok(Step::Again);
            }
            self.selector = Some(Arc::new(Selector::new(trail.clone(), self.shared.org.as_ref())));
        }
        if let Some(step) = self.digest_step(&trail).await? {
            return Ok(step);
        }
        let logging = &trail.logging;
        let cursor = match self.cursor {
            Some(c) => c,
            None => {
                if logging.logged_through() == Some(0) && logging.not_logged.is_empty() {
                    // Never started: nothing to deliver yet.
                    return Ok(Step::Wait(None));
                }
                let start = if logging.not_logged.is_empty() {
                    CursorStart::Latest
                } else {
                    CursorStart::After(logging.skip_gap(0))
                };
                let c = self.shared.log.open_cursor(&self.cursor_name, start).await?;
                self.cursor = Some(c);
                self.position = c;
                c
            }
        };

        let durable = self.shared.log.durable_seq();
        let config = self.shared.config.clone();
        if self.carry.is_none() {
            self.position = logging.skip_gap(self.position);
            if logging.logged_through().is_some_and(|t| self.position >= t) {
                // Stopped and caught up: what follows is outside every logging period (a later
                // StartLogging begins after today's durable position).
                self.position = self.position.max(durable);
            }
            if self.position < durable {
                let far_behind = durable - self.position > 4 * READ_CHUNK as u64;
                let max = if far_behind { BACKLOG_CHUNK } else { READ_CHUNK };
                let events = self.shared.log.read_after(self.position, max).await?;
                if events.is_empty() {
                    // Nothing above our position yet below `durable`: cannot happen unless
                    // retention dropped it; move on rather than spin.
                    self.position = durable;
                } else {
                    let selector = self.selector.clone().expect("set above");
                    let chunk = select(selector, events, durable).await?;
                    metrics::counter!("cairn_trail_events_read_total").increment(chunk.read);
                    self.carry = Some(Carry {
                        selected: chunk.selected.into(),
                        last_seq: chunk.last_seq,
                    });
                }
            }
        }
        if let Some(carry) = self.carry.as_mut() {
            // Into the open batch up to its size cap; the rest waits for the next batch.
            while self.contents.bytes < config.max_batch_bytes {
                let Some((seq, group, record)) = carry.selected.pop_front() else {
                    break;
                };
                self.contents.push(group, &record);
                self.opened_at.get_or_insert_with(Instant::now);
                self.position = seq;
            }
            if carry.selected.is_empty() {
                self.position = self.position.max(carry.last_seq);
                self.carry = None;
            }
        }

        let due = self.opened_at.is_some_and(|t| t.elapsed() >= config.interval);
        if !self.contents.is_empty() && (due || self.contents.bytes >= config.max_batch_bytes) {
            self.close().await?;
            return Ok(Step::Again);
        }
        if self.contents.is_empty() && self.position > cursor && self.last_commit.elapsed() >= IDLE_COMMIT {
            self.commit(self.position).await?;
        }
        if self.carry.is_some() || self.position < self.shared.log.durable_seq() {
            return Ok(Step::Again);
        }
        let deadline = match self.opened_at {
            Some(t) => Some(t + config.interval),
            None if self.position > cursor => Some(self.last_commit + IDLE_COMMIT),
            None => None,
        };
        let digest_due = self
            .state
            .digests
            .due_at(config.digest_interval.as_secs() as i64)
            .map(|at| Instant::now() + Duration::from_secs(at.saturating_sub(now_secs()).max(0) as u64));
        let deadline = match (deadline, digest_due) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Ok(Step::Wait(deadline))
    }

    /// Opens and closes digest periods, and writes signed digests. Some(step) when it did
    /// something.
    async fn digest_step(&mut self, trail: &Arc<TrailConfig>) -> cairn_log::Result<Option<Step>> {
        if !self.state.digests.writing.is_empty() {
            self.write_digests().await?;
            return Ok(Some(Step::Again));
        }
        let now = now_secs();
        let target = Target::of(trail, self.shared.org.as_ref());
        let wants = trail.log_file_validation_enabled && trail.logging.is_logging;
        let digests = &mut self.state.digests;
        if !digests.is_open() {
            if !wants {
                return Ok(None);
            }
            digests.open(now, target, trail.logging.not_logged.len());
            self.save().await?;
            return Ok(Some(Step::Again));
        }
        // Digests follow the trail (a new bucket or prefix takes effect at the next digest).
        digests.target = Some(target);
        // A final digest once the last logged events are delivered: after StopLogging (even one
        // already followed by StartLogging) when the batch holding the events before it is out;
        // at once when validation is turned off (the configuration change already closed the
        // batch selected with validation on).
        let stopped_and_delivered = digests
            .stopped_after(&trail.logging)
            .is_some_and(|t| self.carry.is_none() && self.contents.is_empty() && self.position >= t);
        let last = !trail.log_file_validation_enabled || stopped_and_delivered;
        let interval = self.shared.config.digest_interval.as_secs().max(1) as i64;
        let due = digests.due_at(interval).is_some_and(|at| now >= at);
        if last || due {
            self.close_digests(now, last).await?;
            return Ok(Some(Step::Again));
        }
        Ok(None)
    }

    /// Signs the open period's digests, stores them, then writes them.
    async fn close_digests(&mut self, now: i64, last: bool) -> cairn_log::Result<()> {
        let before = self.state.digests.clone();
        let keys = self.shared.keys.clone();
        let mut next = before.clone();
        let signed = tokio::task::spawn_blocking(move || next.close(now, last, &keys).map(|_| next))
            .await
            .map_err(|e| cairn_log::Error::Unavailable(format!("signing digests: {e}")))?
            .map_err(|e| cairn_log::Error::Unavailable(format!("signing digests: {e}")))?;
        self.state.digests = signed;
        if let Err(e) = self.save().await {
            // Unsaved digests must not be written: after a crash the period would be signed
            // again differently, leaving these outside the chain.
            self.state.digests = before;
            return Err(e);
        }
        self.write_digests().await
    }

    /// Writes the stored, signed digests (the same bytes on every attempt). On failure, records
    /// the error for GetTrailStatus and waits before the caller tries again.
    async fn write_digests(&mut self) -> cairn_log::Result<()> {
        let pending = self.state.digests.writing.clone();
        let mut failure = None;
        for d in &pending {
            let mut gz =
                flate2::write::GzEncoder::new(Vec::with_capacity(d.json.len() / 4), flate2::Compression::new(6));
            let body = std::io::Write::write_all(&mut gz, d.json.as_bytes())
                .and_then(|()| gz.finish())
                .map_err(|e| cairn_log::Error::Unavailable(format!("compressing a digest: {e}")))?;
            let meta = ObjectMeta {
                content_type: Some("application/json".into()),
                content_encoding: Some("gzip".into()),
                user: [
                    ("signature", d.signature.as_str()),
                    ("signature-algorithm", cairn_integrity::digest::SIGNATURE_ALGORITHM),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            };
            if let Err(e) = self.shared.sink.put(&d.bucket, &d.key, body.into(), meta).await {
                failure = Some(e.0);
                break;
            }
        }
        let now = now_ms();
        let status = &mut self.state.status;
        status.latest_digest_attempt_ms = Some(now);
        match failure {
            None => {
                // The newest digest's end time rather than the clock: a validator can then tell
                // exactly which digest must exist (deleting the newest ones shows).
                if let Some(end) = pending.iter().map(|d| d.end_secs).max() {
                    status.latest_digest_delivery_ms = Some(end * 1000);
                }
                status.latest_digest_success_ms = Some(now);
                status.latest_digest_error = None;
                self.state.digests.writing.clear();
                self.digest_backoff = Duration::ZERO;
                self.save().await?;
                self.shared.statuses.set(&self.arn, self.state.status.clone());
                metrics::counter!("cairn_trail_digests_delivered_total").increment(pending.len() as u64);
                tracing::debug!(trail = %self.arn, digests = pending.len(), "digests delivered");
            }
            Some(error) => {
                status.latest_digest_error = Some(error.clone());
                self.shared.statuses.set(&self.arn, self.state.status.clone());
                if let Err(e) = self.save().await {
                    tracing::warn!(trail = %self.arn, error = %e, "cannot save the digest delivery status");
                }
                metrics::counter!("cairn_trail_digest_failures_total").increment(1);
                let max = self.shared.config.max_backoff;
                self.digest_backoff = (self.digest_backoff * 2).clamp(Duration::from_secs(1).min(max), max);
                tracing::warn!(trail = %self.arn, %error, retry_in = ?self.digest_backoff, "digest delivery failed");
                tokio::time::sleep(self.digest_backoff).await;
            }
        }
        Ok(())
    }

    /// A deleted trail's last digests (CloudTrail writes a final digest at DeleteTrail): a few
    /// attempts, then the state goes with the trail.
    async fn final_digests_of_deleted_trail(&mut self) {
        if self.state.digests.is_open()
            && let Err(e) = self.close_digests(now_secs(), true).await
        {
            tracing::warn!(trail = %self.arn, error = %e, "cannot sign the final digests of a deleted trail");
            return;
        }
        for _ in 0..3 {
            if self.state.digests.writing.is_empty() {
                return;
            }
            if let Err(e) = self.write_digests().await {
                tracing::warn!(trail = %self.arn, error = %e, "cannot write the final digests of a deleted trail");
            }
        }
    }

    async fn commit(&mut self, through: u64) -> cairn_log::Result<()> {
        self.shared.log.commit_cursor(&self.cursor_name, through).await?;
        self.cursor = Some(through);
        self.position = self.position.max(through);
        self.last_commit = Instant::now();
        Ok(())
    }

    /// Closes the open batch: stores its plan, then delivers it.
    async fn close(&mut self) -> cairn_log::Result<()> {
        let selector = self.selector.as_ref().expect("a batch has a selector");
        let trail = selector.trail();
        let plan = Plan {
            after: self.cursor.unwrap_or(0),
            through: self.position,
            stamp_ms: now_ms(),
            trail: (**trail).clone(),
            org: self.shared.org.clone().filter(|_| trail.is_organization_trail),
        };
        self.state.pending = Some(plan.clone());
        if let Err(e) = self.save().await {
            // Not stored: the open batch stays open (a pending plan beside it would deliver its
            // events twice).
            self.state.pending = None;
            return Err(e);
        }
        let contents = std::mem::take(&mut self.contents);
        self.opened_at = None;
        self.deliver(plan, Some(contents)).await
    }

    async fn save(&self) -> cairn_log::Result<()> {
        let json = serde_json::to_string(&self.state).expect("delivery state serialises");
        self.shared
            .log
            .catalog()
            .put_document(STATE_KIND, &self.arn, &json)
            .await
    }

    /// The events of a stored plan, selected again from the log as the plan's trail selected them.
    async fn reread(&self, plan: &Plan) -> cairn_log::Result<Contents> {
        let selector = Arc::new(Selector::new(Arc::new(plan.trail.clone()), plan.org.as_ref()));
        let mut contents = Contents::default();
        let mut at = plan.after;
        while at < plan.through {
            let events = self.shared.log.read_after(at, BACKLOG_CHUNK).await?;
            if events.is_empty() {
                break;
            }
            let chunk = select(selector.clone(), events, plan.through).await?;
            for (_, group, record) in &chunk.selected {
                contents.push(group.clone(), record);
            }
            if chunk.read == 0 {
                break;
            }
            at = chunk.last_seq;
        }
        Ok(contents)
    }

    /// Writes every file of `plan` (retrying with backoff while the destination fails), then
    /// moves the cursor past it. Returns early, leaving the plan pending, if the trail is deleted.
    /// The log files of `plan` (its events re-read from the log unless given) and their count of
    /// events.
    async fn build(&self, plan: &Plan, contents: Option<Contents>) -> cairn_log::Result<(Vec<batch::LogFile>, usize)> {
        let contents = match contents {
            Some(c) => c,
            None => self.reread(plan).await?,
        };
        let events = contents.events;
        let level = self.shared.config.gzip_level;
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let plan = plan.clone();
        let files = tokio::task::spawn_blocking(move || batch::build(&plan, &contents, level, threads))
            .await
            .map_err(|e| cairn_log::Error::Unavailable(format!("building log files: {e}")))?
            .map_err(|e| cairn_log::Error::Unavailable(format!("building log files: {e}")))?;
        Ok((files, events))
    }

    async fn deliver(&mut self, plan: Plan, contents: Option<Contents>) -> cairn_log::Result<()> {
        let started = Instant::now();
        let (files, events) = self.build(&plan, contents).await?;
        let config = self.shared.config.clone();
        let mut written = vec![false; files.len()];
        let mut backoff = Duration::from_secs(1).min(config.max_backoff);
        loop {
            let mut failure = None;
            for (file, done) in files.iter().zip(written.iter_mut()).filter(|(_, d)| !**d) {
                let meta = ObjectMeta {
                    content_type: Some("application/json".into()),
                    content_encoding: Some("gzip".into()),
                    user: Default::default(),
                };
                match self
                    .shared
                    .sink
                    .put(&plan.trail.s3_bucket_name, &file.key, file.body.clone(), meta)
                    .await
                {
                    Ok(()) => *done = true,
                    Err(e) => {
                        failure = Some(e.0);
                        break;
                    }
                }
            }
            let now = now_ms();
            self.state.status.latest_attempt_ms = Some(now);
            match failure {
                None => {
                    let status = &mut self.state.status;
                    if !files.is_empty() {
                        status.latest_delivery_ms = Some(now);
                    }
                    status.latest_success_ms = Some(now);
                    status.latest_error = None;
                    status.delivered_events += events as u64;
                    status.delivered_files += files.len() as u64;
                    if plan.trail.log_file_validation_enabled {
                        let at = now.div_euclid(1000);
                        self.state.digests.record(&files, at, &plan.trail, plan.org.as_ref());
                    }
                    // Cursor first: a crash before the state is saved replays nothing (the
                    // pending plan ends at or below the cursor and is dropped on reload).
                    self.commit(plan.through).await?;
                    self.state.pending = None;
                    self.save().await?;
                    self.shared.statuses.set(&self.arn, self.state.status.clone());
                    metrics::counter!("cairn_trail_delivered_events_total").increment(events as u64);
                    metrics::counter!("cairn_trail_delivered_files_total").increment(files.len() as u64);
                    metrics::histogram!("cairn_trail_delivery_seconds").record(started.elapsed().as_secs_f64());
                    tracing::debug!(trail = %self.arn, events, files = files.len(), "delivered");
                    return Ok(());
                }
                Some(error) => {
                    metrics::counter!("cairn_trail_delivery_failures_total").increment(1);
                    tracing::warn!(trail = %self.arn, bucket = %plan.trail.s3_bucket_name, %error, retry_in = ?backoff, "log file delivery failed");
                    self.state.status.latest_error = Some(error.clone());
                    self.shared.statuses.set(&self.arn, self.state.status.clone());
                    if let Err(e) = self.save().await {
                        tracing::warn!(trail = %self.arn, error = %e, "cannot save the delivery status");
                    }
                    let failing_for = Duration::from_millis(now.saturating_sub(plan.stamp_ms).max(0) as u64);
                    if failing_for >= config.retry_limit {
                        tracing::error!(trail = %self.arn, events, ?failing_for, "giving up a batch its destination refused for the whole retry period");
                        metrics::counter!("cairn_trail_abandoned_events_total").increment(events as u64);
                        self.state.status.latest_error = Some(format!(
                            "{error} (a batch of {events} events was given up after {failing_for:?})"
                        ));
                        self.commit(plan.through).await?;
                        self.state.pending = None;
                        self.save().await?;
                        self.shared.statuses.set(&self.arn, self.state.status.clone());
                        return Ok(());
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(config.max_backoff);
                    if self.shared.trails.get(&self.arn).is_none() {
                        return Ok(());
                    }
                }
            }
        }
    }
}

/// What a trail selects of one chunk read from the log.
struct Chunk {
    selected: Vec<(u64, batch::FileGroup, cairn_model::record::EventRecord)>,
    /// Events looked at (those up to the limit) and the last one's sequence number.
    read: u64,
    last_seq: u64,
}

/// Selects among `events` those up to `through`, on a blocking thread: a chunk of thousands of
/// events with advanced selectors takes milliseconds, too long for an async worker.
async fn select(
    selector: Arc<Selector>,
    events: Vec<cairn_log::StoredEvent>,
    through: u64,
) -> cairn_log::Result<Chunk> {
    tokio::task::spawn_blocking(move || {
        let mut chunk = Chunk {
            selected: Vec::new(),
            read: 0,
            last_seq: 0,
        };
        for e in events {
            if e.seq > through {
                break;
            }
            if let Some(group) = selector.group(e.seq, &e.record) {
                chunk.selected.push((e.seq, group, e.record));
            }
            chunk.last_seq = e.seq;
            chunk.read += 1;
        }
        chunk
    })
    .await
    .map_err(|e| cairn_log::Error::Unavailable(format!("selecting events: {e}")))
}

struct Carry {
    selected: std::collections::VecDeque<(u64, batch::FileGroup, cairn_model::record::EventRecord)>,
    last_seq: u64,
}

enum Step {
    /// More to do now.
    Again,
    /// Caught up: wait for new events, a configuration change, or the deadline.
    Wait(Option<Instant>),
}
