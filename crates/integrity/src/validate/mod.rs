//! The validate-logs engine: checks a trail's digest chain and log files the way
//! `aws cloudtrail validate-logs` does (spec §3.7: same walk, same messages, same exit codes),
//! only faster, and with a `strict` mode that also reports what the aws CLI lets pass (every
//! missing digest, broken links between digests, deleted newest digests, log files no digest
//! vouches for, data after a digest's gzip stream).
//!
//! Synchronous, on scoped threads: the calling thread prints, a walker thread follows the chain
//! newest → oldest (digests fetched ahead by the workers), and `parallelism` workers fetch and
//! hash log files. Output keeps the aws CLI's order (each digest, then its log files) whatever
//! order the checks finish in. The caller brings the objects ([`Store`]) and the public keys
//! ([`KeySource`]); this module does no I/O of its own.

mod check;
mod names;
mod pool;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::ControlFlow;
use std::sync::mpsc::{self, Receiver, SyncSender};

use crate::digest::{digest_key, iso_seconds};
use crate::keys::PublicKeyInfo;
use check::{Loaded, LogOutcome, Parsed};
use pool::Pool;

/// An object as GetObject returns it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Object {
    pub body: Vec<u8>,
    /// `x-amz-meta-*` values keyed by the lower-cased name without the prefix (`signature`,
    /// `signature-algorithm`).
    pub metadata: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchError {
    /// `NoSuchKey`: reported as `INVALID: not found`.
    NotFound,
    /// Anything else (access denied, unreachable...): the run stops.
    Other(String),
}

/// Where the objects are.
pub trait Store: Send + Sync {
    /// Calls `visit` with the keys starting with `prefix`, ascending, strictly after
    /// `start_after` when given, until the keys run out or `visit` breaks (so a listing can stop
    /// as soon as it passes the keys of interest).
    fn list(
        &self,
        bucket: &str,
        prefix: &str,
        start_after: Option<&str>,
        visit: &mut dyn FnMut(&str) -> ControlFlow<()>,
    ) -> Result<(), FetchError>;
    fn get(&self, bucket: &str, key: &str) -> Result<Object, FetchError>;
}

/// ListPublicKeys.
pub trait KeySource: Send + Sync {
    /// The keys of `region` whose validity overlaps `[start, end]` (seconds).
    fn public_keys(&self, region: &str, start: i64, end: i64) -> Result<Vec<PublicKeyInfo>, String>;
}

/// What strict mode knows of the trail's latest digest delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Freshness {
    /// When the trail last delivered digests (GetTrailStatus `LatestDigestDeliveryTime`),
    /// seconds. A digest of this chain ending no earlier than `latest_delivery - slack` must
    /// exist, unless that is outside the requested range.
    pub latest_delivery: i64,
    /// Allowance for the time between a digest's end and its delivery; the slack used is at
    /// most half the digest period (at least 2 s).
    pub slack_secs: i64,
    /// The key of this chain's newest delivered digest, when the caller knows it exactly (read
    /// from the server's state): then that key must exist.
    pub newest_key: Option<String>,
}

/// What to validate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub trail_arn: String,
    pub bucket: String,
    pub prefix: Option<String>,
    /// `o-...` of an organization trail.
    pub org_id: Option<String>,
    pub account_id: String,
    /// The region whose digests and log files are checked (the aws CLI's `--region`).
    pub source_region: String,
    /// The trail's home region (from its ARN).
    pub home_region: String,
    pub trail_name: String,
    /// Seconds since the epoch.
    pub start: i64,
    pub end: i64,
    /// Print valid files too.
    pub verbose: bool,
    /// The extra checks (see the module documentation).
    pub strict: bool,
    /// Worker threads fetching and checking objects.
    pub parallelism: usize,
    /// The trail's digest period (strict: estimates how many digests a gap hides); by default
    /// the median period of the digests read, else an hour.
    pub digest_period_secs: Option<i64>,
    /// Strict: detect deleted newest digests.
    pub freshness: Option<Freshness>,
}

/// Which stream a piece of output goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// Receives the output, text exactly as the aws CLI writes it (newlines included).
pub trait Sink {
    fn write(&mut self, stream: Stream, text: &str);
    /// Called after each file's result is written (for a progress display).
    fn progress(&mut self, _summary: &Summary) {}
}

/// Everything written, in order.
impl Sink for Vec<(Stream, String)> {
    fn write(&mut self, stream: Stream, text: &str) {
        self.push((stream, text.to_string()));
    }
}

/// Standard output and standard error.
#[derive(Debug, Default)]
pub struct StdSink;

impl Sink for StdSink {
    fn write(&mut self, stream: Stream, text: &str) {
        use std::io::Write;
        // A closed pipe (`| head`) is not an error worth reporting.
        let _ = match stream {
            Stream::Stdout => std::io::stdout().lock().write_all(text.as_bytes()),
            Stream::Stderr => std::io::stderr().lock().write_all(text.as_bytes()),
        };
    }
}

/// The counts the summary shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub valid_digests: u64,
    pub invalid_digests: u64,
    pub valid_logs: u64,
    pub invalid_logs: u64,
    /// "Results found for <a> to <b>" (seconds), when any digest was valid.
    pub found: Option<(i64, i64)>,
}

impl Summary {
    /// The aws CLI's: 0 when nothing is invalid, else 1.
    pub fn exit_code(&self) -> u8 {
        if self.invalid_digests > 0 || self.invalid_logs > 0 {
            1
        } else {
            0
        }
    }
}

/// Why a run stopped without a verdict.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A problem with the request (no public keys, a bad time range): the aws CLI exits 255.
    #[error("{0}")]
    Usage(String),
    /// The store or key source failed: the aws CLI exits 254 (an unhandled service error).
    #[error("{0}")]
    Service(String),
}

impl Error {
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) => 255,
            Error::Service(_) => 254,
        }
    }
}

/// Validates `req`, writing the aws CLI's report to `sink`.
pub fn run(req: &Request, store: &dyn Store, keys: &dyn KeySource, sink: &mut dyn Sink) -> Result<Summary, Error> {
    if req.start > req.end {
        return Err(Error::Usage(format!(
            "Invalid time range specified: start-time {} is after end-time {}",
            iso_seconds(req.start),
            iso_seconds(req.end)
        )));
    }
    let mut printer = Printer {
        sink,
        verbose: req.verbose,
        double: true,
        summary: Summary::default(),
        start: req.start,
        end: req.end,
    };
    printer.sink.write(
        Stream::Stdout,
        &format!(
            "Validating log files for trail {} between {} and {}\n\n",
            req.trail_arn,
            iso_seconds(req.start),
            iso_seconds(req.end)
        ),
    );
    let key_end = req.end + 2 * 3600;
    let public = keys
        .public_keys(&req.source_region, req.start, key_end)
        .map_err(Error::Service)?;
    if public.is_empty() {
        return Err(Error::Usage(format!(
            "No public keys found between {} and {}",
            iso_seconds(req.start),
            iso_seconds(key_end)
        )));
    }
    let public: HashMap<String, Vec<u8>> = public.into_iter().map(|k| (k.fingerprint, k.der)).collect();
    let workers = req.parallelism.max(1);
    let pool = Pool::new();
    let (tx, rx) = mpsc::sync_channel::<Entry>((64 * workers).max(1024));
    let outcome = std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| pool.work());
        }
        let (pool, public) = (&pool, &public);
        s.spawn(move || {
            let mut walker = Walker {
                req,
                store,
                keys: public,
                pool,
                tx,
                inflight: HashMap::new(),
                periods: Vec::new(),
                referenced: HashSet::new(),
                spans: Vec::new(),
                prefetch: (2 * workers + 2).min(64),
                listed_period: None,
            };
            let _ = walker.walk();
            pool.close();
        });
        let mut result = Ok(());
        for entry in rx.iter() {
            if let Err(e) = printer.entry(entry) {
                result = Err(e);
                pool.abort();
                break;
            }
        }
        drop(rx);
        result
    });
    outcome?;
    printer.summary();
    Ok(printer.summary)
}

/// One piece of the report, in output order.
enum Entry {
    ValidDigest {
        bucket: String,
        key: String,
        start: i64,
        end: i64,
    },
    /// Lines `Digest file\t...\tINVALID: ...` standing for `count` invalid digests.
    InvalidDigest {
        lines: Vec<String>,
        count: u64,
    },
    /// An error-stream line that counts nothing (a gap).
    Message(String),
    Log {
        bucket: String,
        key: String,
        result: Receiver<LogOutcome>,
    },
    InvalidLog(String),
    Fatal(Error),
}

struct Printer<'s> {
    sink: &'s mut dyn Sink,
    verbose: bool,
    /// The last status ended with a blank line (errors are set off by blank lines).
    double: bool,
    summary: Summary,
    start: i64,
    end: i64,
}

impl Printer<'_> {
    fn status(&mut self, message: &str, error: bool) {
        if error {
            let text = if self.double {
                format!("{message}\n\n")
            } else {
                format!("\n{message}\n\n")
            };
            self.sink.write(Stream::Stderr, &text);
            self.double = true;
        } else if self.verbose {
            self.sink.write(Stream::Stdout, &format!("{message}\n"));
            self.double = false;
        }
    }

    fn entry(&mut self, entry: Entry) -> Result<(), Error> {
        match entry {
            Entry::ValidDigest {
                bucket,
                key,
                start,
                end,
            } => {
                self.summary.valid_digests += 1;
                let s = start.max(self.start);
                let e = self.summary.found.map_or(end.min(self.end), |(_, e)| e);
                self.summary.found = Some((s, e));
                self.status(&format!("Digest file\ts3://{bucket}/{key}\tvalid"), false);
            }
            Entry::InvalidDigest { lines, count } => {
                self.summary.invalid_digests += count;
                for l in lines {
                    self.status(&l, true);
                }
            }
            Entry::Message(m) => self.status(&m, true),
            Entry::Log { bucket, key, result } => match result.recv() {
                Ok(LogOutcome::Valid) => {
                    self.summary.valid_logs += 1;
                    self.status(&format!("Log file\ts3://{bucket}/{key}\tvalid"), false);
                }
                Ok(LogOutcome::Invalid(reason)) => {
                    self.summary.invalid_logs += 1;
                    self.status(&format!("Log file\ts3://{bucket}/{key}\tINVALID: {reason}"), true);
                }
                Ok(LogOutcome::Fatal(e)) => return Err(Error::Service(e)),
                Err(_) => return Err(Error::Service("a log file check stopped".into())),
            },
            Entry::InvalidLog(line) => {
                self.summary.invalid_logs += 1;
                self.status(&line, true);
            }
            Entry::Fatal(e) => return Err(e),
        }
        self.sink.progress(&self.summary);
        Ok(())
    }

    fn summary(&mut self) {
        let mut out = String::new();
        if !self.double {
            out.push('\n');
        }
        out.push_str(&format!(
            "Results requested for {} to {}\n",
            iso_seconds(self.start),
            iso_seconds(self.end)
        ));
        let s = &self.summary;
        if s.valid_digests == 0 && s.invalid_digests == 0 {
            out.push_str("No digests found\n");
            self.sink.write(Stream::Stdout, &out);
            return;
        }
        match s.found {
            None => out.push_str("No valid digests found in range\n"),
            Some((a, b)) => out.push_str(&format!(
                "Results found for {} to {}:\n",
                iso_seconds(a),
                iso_seconds(b)
            )),
        }
        for (valid, invalid, name) in [
            (s.valid_digests, s.invalid_digests, "digest"),
            (s.valid_logs, s.invalid_logs, "log"),
        ] {
            let total = valid + invalid;
            if total > 0 {
                out.push_str(&format!("\n{valid}/{total} {name} files valid"));
                if invalid > 0 {
                    out.push_str(&format!(", {invalid}/{total} {name} files INVALID"));
                }
            }
        }
        out.push('\n');
        self.sink.write(Stream::Stdout, &out);
    }
}

/// The median of positive values.
fn median(mut v: Vec<i64>) -> Option<i64> {
    v.retain(|p| *p > 0);
    v.sort_unstable();
    v.get(v.len() / 2).copied()
}

/// The walk stopped: the printer is gone or was told why.
struct Stop;

/// A valid digest whose report waits for the digest it links to (strict mode checks the link).
struct Pending {
    bucket: String,
    key: String,
    parsed: Box<Parsed>,
    logs: Vec<(String, String, Receiver<LogOutcome>)>,
}

/// Most estimated missing digests listed one per line; the rest are counted on one line.
const MAX_MISSING_LINES: i64 = 100;

struct Walker<'a, 'p> {
    req: &'a Request,
    store: &'a dyn Store,
    keys: &'a HashMap<String, Vec<u8>>,
    pool: &'p Pool<'a>,
    tx: SyncSender<Entry>,
    /// Digests being fetched ahead, by bucket and key.
    inflight: HashMap<(String, String), Receiver<Loaded>>,
    /// Periods (end − start) of the valid digests read.
    periods: Vec<i64>,
    /// Strict: log files the digests read list.
    referenced: HashSet<String>,
    /// Strict: earliest and latest start of each run of digests of one chain (newest run
    /// first). A chain restart ends a run: log files between runs (validation off, logging
    /// stopped) are not expected in any digest. A missing digest does not: the files it listed
    /// are reported as vouched for by none.
    spans: Vec<(i64, i64)>,
    /// How many digests to fetch ahead.
    prefetch: usize,
    /// The median spacing of the listed digests' dates (a period estimate before any is read).
    listed_period: Option<i64>,
}

impl<'a> Walker<'a, '_> {
    fn send(&self, e: Entry) -> Result<(), Stop> {
        self.tx.send(e).map_err(|_| Stop)
    }

    fn fatal(&self, e: Error) -> Stop {
        let _ = self.tx.send(Entry::Fatal(e));
        Stop
    }

    fn invalid_digest(&self, bucket: &str, key: &str, reason: &str) -> Result<(), Stop> {
        self.send(Entry::InvalidDigest {
            lines: vec![format!("Digest file\ts3://{bucket}/{key}\tINVALID: {reason}")],
            count: 1,
        })
    }

    fn period(&self) -> i64 {
        if let Some(p) = self.req.digest_period_secs.filter(|p| *p > 0) {
            return p;
        }
        median(self.periods.clone()).or(self.listed_period).unwrap_or(3600)
    }

    /// The trail's digest keys in `bucket` dated within `[start, end + 1h]`, ascending (the aws
    /// CLI's listing; backfill digests are left out).
    fn list_digests(&self, bucket: &str) -> Result<Vec<String>, Stop> {
        let req = self.req;
        let prefix = names::digest_list_prefix(req);
        let marker = digest_key(
            req.prefix.as_deref(),
            req.org_id.as_deref(),
            &req.account_id,
            &req.source_region,
            &req.trail_name,
            &req.home_region,
            req.start - 60,
        );
        let (lo, hi) = (
            names::format_key_date(req.start),
            names::format_key_date(req.end + 3600),
        );
        let mut keys = Vec::new();
        let listed = self.store.list(bucket, &prefix, Some(&marker), &mut |k| {
            if names::digest_kind(req, &prefix, k) != Some(false) {
                return ControlFlow::Continue(());
            }
            let date = names::key_date(k);
            if date > hi.as_str() {
                return ControlFlow::Break(());
            }
            if date >= lo.as_str() {
                keys.push(k.to_string());
            }
            ControlFlow::Continue(())
        });
        match listed {
            Ok(()) => Ok(keys),
            Err(FetchError::NotFound) => {
                Err(self.fatal(Error::Service(format!("listing s3://{bucket}/{prefix}: NoSuchBucket"))))
            }
            Err(FetchError::Other(e)) => {
                Err(self.fatal(Error::Service(format!("listing s3://{bucket}/{prefix}: {e}"))))
            }
        }
    }

    /// Starts fetching the next digests the walk will probably want (the top of the stack).
    fn fetch_ahead(&mut self, bucket: &str, stack: &[String]) {
        for key in stack.iter().rev().take(self.prefetch) {
            let id = (bucket.to_string(), key.clone());
            if self.inflight.contains_key(&id) {
                continue;
            }
            let (tx, rx) = mpsc::sync_channel(1);
            let (store, keys, home) = (self.store, self.keys, self.req.home_region.as_str());
            let (b, k) = id.clone();
            self.pool.submit(true, move || {
                let _ = tx.send(check::load_digest(store, &b, &k, keys, home));
            });
            self.inflight.insert(id, rx);
        }
    }

    fn load(&mut self, bucket: &str, key: &str) -> Loaded {
        match self.inflight.remove(&(bucket.to_string(), key.to_string())) {
            Some(rx) => rx.recv().unwrap_or_else(|_| Loaded::Fatal("stopped".into())),
            None => check::load_digest(self.store, bucket, key, self.keys, &self.req.home_region),
        }
    }

    /// The aws CLI's next digest after `key`: the newest listed one dated before it.
    fn next_listed(stack: &mut Vec<String>, key: &str) -> Option<String> {
        let before = names::key_date(key).to_string();
        while let Some(next) = stack.pop() {
            if names::key_date(&next) < before.as_str() {
                return Some(next);
            }
        }
        None
    }

    fn note_references(&mut self, parsed: &Parsed) {
        if self.req.strict {
            for l in parsed.logs.iter().filter(|l| l.bucket == self.req.bucket) {
                self.referenced.insert(l.key.clone());
            }
        }
    }

    fn walk(&mut self) -> Result<(), Stop> {
        let req = self.req;
        let mut bucket = req.bucket.clone();
        let mut stack = self.list_digests(&bucket)?;
        let dates: Vec<i64> = stack
            .iter()
            .filter_map(|k| names::parse_key_date(names::key_date(k)))
            .collect();
        self.listed_period = median(dates.windows(2).map(|w| w[1] - w[0]).collect());
        if req.strict {
            self.freshness(&bucket, &stack)?;
        }
        let mut key = stack.pop();
        let mut last_start = req.end;
        let mut pending: Option<Pending> = None;
        // Strict: the end of the last digest read when it could not be trusted (missing or
        // invalid), so the next one found tells how many are gone in between.
        let mut unreadable_end: Option<i64> = None;
        let mut by_pointer = false;
        // Whether the next valid digest belongs to the run of the last one.
        let mut same_run = false;
        while let Some(k) = key.take() {
            if req.start > last_start {
                break;
            }
            self.fetch_ahead(&bucket, &stack);
            let loaded = self.load(&bucket, &k);
            if let Loaded::Fatal(e) = loaded {
                return Err(self.fatal(Error::Service(e)));
            }
            if let Some(p) = pending.take() {
                self.finish(p, if by_pointer { Some(&loaded) } else { None })?;
            }
            let this_end = names::parse_key_date(names::key_date(&k));
            if let (Some(newer), Some(older), false) = (unreadable_end.take(), this_end, by_pointer)
                && req.strict
            {
                self.missing_between(&bucket, newer, older, None)?;
            }
            match loaded {
                Loaded::Fatal(_) => unreachable!("returned above"),
                Loaded::NotFound => {
                    same_run = true;
                    self.invalid_digest(&bucket, &k, check::NOT_FOUND)?;
                    unreadable_end = this_end;
                    key = Self::next_listed(&mut stack, &k);
                    by_pointer = false;
                }
                Loaded::Invalid(reason, parsed) => {
                    same_run = true;
                    if let Some(p) = parsed {
                        self.note_references(&p);
                    }
                    self.invalid_digest(&bucket, &k, &reason)?;
                    unreadable_end = this_end;
                    key = Self::next_listed(&mut stack, &k);
                    by_pointer = false;
                }
                Loaded::Valid(parsed) => {
                    last_start = parsed.start;
                    self.periods.push(parsed.end - parsed.start);
                    self.note_references(&parsed);
                    match self.spans.last_mut() {
                        // Reached from the newer digest of the run.
                        Some(run) if same_run => run.0 = run.0.min(parsed.start),
                        _ => self.spans.push((parsed.start, parsed.start)),
                    }
                    let logs = parsed
                        .logs
                        .iter()
                        .map(|l| {
                            let (tx, rx) = mpsc::sync_channel(1);
                            let store = self.store;
                            let (b, k, h) = (l.bucket.clone(), l.key.clone(), l.hash.clone());
                            self.pool.submit(false, move || {
                                let _ = tx.send(check::check_log(store, &b, &k, &h));
                            });
                            (l.bucket.clone(), l.key.clone(), rx)
                        })
                        .collect();
                    let (prev_bucket, prev_object, start) =
                        (parsed.prev_bucket.clone(), parsed.prev_object.clone(), parsed.start);
                    let p = Pending {
                        bucket: bucket.clone(),
                        key: k.clone(),
                        parsed,
                        logs,
                    };
                    match prev_bucket {
                        None => {
                            // The start of a chain: on to the next older listed digest, and a
                            // gap message if there is one.
                            same_run = false;
                            self.finish(p, None)?;
                            key = Self::next_listed(&mut stack, &k);
                            by_pointer = false;
                            if let Some(next) = &key {
                                let next_end = names::parse_key_date(names::key_date(next)).unwrap_or(0);
                                self.send(Entry::Message(format!(
                                    "No log files were delivered by CloudTrail between {} and {}",
                                    iso_seconds(next_end),
                                    iso_seconds(start)
                                )))?;
                            }
                        }
                        Some(pb) => {
                            same_run = true;
                            pending = Some(p);
                            key = prev_object;
                            by_pointer = true;
                            if pb != bucket {
                                bucket = pb;
                                stack = self.list_digests(&bucket)?;
                            }
                        }
                    }
                }
            }
        }
        if let Some(p) = pending.take() {
            self.finish(p, None)?;
        }
        if req.strict {
            self.unreferenced()?;
        }
        Ok(())
    }

    /// Reports a valid digest and its log files; in strict mode after checking it and its link
    /// to `previous` (the digest it names, when that was read next).
    fn finish(&mut self, p: Pending, previous: Option<&Loaded>) -> Result<(), Stop> {
        let d = &p.parsed;
        let mut problems: Vec<String> = Vec::new();
        if self.req.strict {
            if d.trailing {
                problems.push(check::TRAILING_DATA.into());
            }
            if d.start > d.end {
                problems.push("digestStartTime is after digestEndTime".into());
            }
            if names::key_date(&p.key) != names::format_key_date(d.end) {
                problems.push("digestEndTime does not match the date in its key".into());
            }
            let linked = [
                d.prev_bucket.is_some(),
                d.prev_object.is_some(),
                d.prev_hash.is_some(),
                d.prev_signature.is_some(),
            ];
            if linked.iter().any(|l| *l) && !linked.iter().all(|l| *l) {
                problems.push("previousDigest fields are only partly set".into());
            }
            if let Some(Loaded::Valid(prev)) = previous {
                if d.prev_hash.as_deref() != Some(prev.json_sha256.as_str()) {
                    problems.push("previousDigestHashValue does not match the previous digest".into());
                }
                if !d
                    .prev_signature
                    .as_deref()
                    .is_some_and(|s| s.eq_ignore_ascii_case(&prev.signature))
                {
                    problems.push("previousDigestSignature does not match the previous digest's signature".into());
                }
                if prev.end != d.start {
                    problems.push(format!(
                        "digestStartTime {} does not follow the previous digest's digestEndTime {}",
                        iso_seconds(d.start),
                        iso_seconds(prev.end)
                    ));
                }
            }
        }
        if problems.is_empty() {
            self.send(Entry::ValidDigest {
                bucket: p.bucket.clone(),
                key: p.key.clone(),
                start: d.start,
                end: d.end,
            })?;
        } else {
            let lines = problems
                .iter()
                .map(|r| format!("Digest file\ts3://{}/{}\tINVALID: {r}", p.bucket, p.key))
                .collect();
            self.send(Entry::InvalidDigest { lines, count: 1 })?;
        }
        for (bucket, key, result) in p.logs {
            self.send(Entry::Log { bucket, key, result })?;
        }
        Ok(())
    }

    /// Strict: the digests that should end between `older_end` and `newer_end`, the ends of two
    /// digests the walk saw (the newer one itself unreadable), estimated from the period.
    fn missing_between(&self, bucket: &str, newer_end: i64, older_end: i64, note: Option<&str>) -> Result<(), Stop> {
        let gap = newer_end - older_end;
        let slots = (gap as f64 / self.period() as f64).round() as i64;
        if slots < 2 {
            return Ok(());
        }
        self.estimated_missing(bucket, newer_end - gap / slots, older_end, slots - 1, note)
    }

    /// `count` digests evenly spread over `[from, to]`, newest first, each reported missing.
    fn estimated_missing(&self, bucket: &str, to: i64, from: i64, count: i64, note: Option<&str>) -> Result<(), Stop> {
        let prefix = names::digest_list_prefix(self.req);
        let width = (to - from) as f64 / count as f64;
        let reason = match note {
            Some(n) => format!("{} ({n})", check::NOT_FOUND),
            None => check::NOT_FOUND.to_string(),
        };
        let mut lines = Vec::new();
        for i in 0..count.min(MAX_MISSING_LINES) {
            let end = to - (i as f64 * width).round() as i64;
            let start = to - ((i + 1) as f64 * width).round() as i64;
            lines.push(format!(
                "Digest file\ts3://{bucket}/{prefix}/ for about {} to {}\tINVALID: {reason}",
                iso_seconds(start),
                iso_seconds(end)
            ));
        }
        if count > MAX_MISSING_LINES {
            lines.push(format!(
                "Digest file\ts3://{bucket}/{prefix}/ for about {} to {}\tINVALID: {} more digests not found",
                iso_seconds(from),
                iso_seconds(to - (MAX_MISSING_LINES as f64 * width).round() as i64),
                count - MAX_MISSING_LINES
            ));
        }
        self.send(Entry::InvalidDigest {
            lines,
            count: count as u64,
        })
    }

    /// Strict: the newest digests the trail delivered must be there.
    fn freshness(&self, bucket: &str, stack: &[String]) -> Result<(), Stop> {
        let req = self.req;
        let Some(f) = &req.freshness else {
            return Ok(());
        };
        let (lo, hi) = (req.start, req.end + 3600);
        let newest = stack.last().and_then(|k| names::parse_key_date(names::key_date(k)));
        if let Some(key) = &f.newest_key {
            let Some(date) = names::parse_key_date(names::key_date(key)) else {
                return Ok(());
            };
            if date < lo || date > hi || stack.binary_search(key).is_ok() || newest.is_some_and(|n| n > date) {
                return Ok(());
            }
            self.invalid_digest(bucket, key, "not found (the newest digest the trail delivered)")?;
            if let Some(n) = newest {
                self.missing_between(bucket, date, n, Some("newest digests deleted"))?;
            }
            return Ok(());
        }
        let latest = f.latest_delivery;
        let period = self.period();
        // Short periods get a short allowance (a deletion must still show).
        let slack = f.slack_secs.min((period / 2).max(2)).max(0);
        let expected = latest - slack;
        if latest < lo || expected > hi || newest.is_some_and(|n| n >= expected) {
            return Ok(());
        }
        let note = format!(
            "newest digests deleted: the trail delivered digests until {}",
            iso_seconds(latest)
        );
        match newest {
            Some(n) => {
                let count = (((latest - n) as f64 / period as f64).round() as i64).max(1);
                self.estimated_missing(bucket, latest, n, count, Some(&note))
            }
            None => self.estimated_missing(bucket, latest, (latest - period).max(lo), 1, Some(&note)),
        }
    }

    /// Strict: log files of the source region delivered while the valid digests were being
    /// kept that no digest lists.
    fn unreferenced(&self) -> Result<(), Stop> {
        let req = self.req;
        let (Some(lo), Some(hi)) = (
            self.spans.iter().map(|s| s.0).min(),
            self.spans.iter().map(|s| s.1).max(),
        ) else {
            return Ok(());
        };
        // A file's key names the minute its batch closed: only a minute wholly inside a run is
        // sure to have been delivered while that run's digests were kept.
        let inside_a_run = |minute: i64| self.spans.iter().any(|&(lo, hi)| minute >= lo && minute + 60 <= hi);
        let base = names::log_list_prefix(req);
        let start_after = format!("{base}{}", names::day_folder(lo));
        let stop = format!("{base}{}", names::day_folder(hi + 86_400));
        let mut found = Vec::new();
        let listed = self.store.list(&req.bucket, &base, Some(&start_after), &mut |k| {
            if k >= stop.as_str() {
                return ControlFlow::Break(());
            }
            if let Some(minute) = names::log_file_minute(req, k)
                && inside_a_run(minute)
                && !self.referenced.contains(k)
            {
                found.push(k.to_string());
            }
            ControlFlow::Continue(())
        });
        if let Err(e) = listed {
            let e = match e {
                FetchError::NotFound => "NoSuchBucket".to_string(),
                FetchError::Other(e) => e,
            };
            return Err(self.fatal(Error::Service(format!("listing s3://{}/{base}: {e}", req.bucket))));
        }
        for k in found {
            self.send(Entry::InvalidLog(format!(
                "Log file\ts3://{}/{k}\tINVALID: not referenced by any digest file",
                req.bucket
            )))?;
        }
        Ok(())
    }
}
