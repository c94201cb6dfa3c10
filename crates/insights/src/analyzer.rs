//! The analyzer: per-minute counting, baselines, the detector and Start/End events.

use crate::attrib::{
    ATTR_AGENT, ATTR_ARN, ATTR_ERROR, ATTR_NAMES, Counted, Pending, Weighted, add_counted, add_pending, add_weighted,
    take_pending,
};
use crate::config::{ConfigError, DetectorConfig};
use crate::intern::{FxMap, Interner, fnv1a_128, uuid_v8};
use crate::model::{
    Attribution, AttributionValue, InsightEvent, InsightState, InsightStatistics, InsightType, Observation,
};

const MINUTE_MS: i64 = 60_000;
/// Set on a minute's count while the minute is inside an insight or an undecided run: its
/// count is then not (yet) part of the baseline.
const FLAG: u32 = 1 << 31;
const NO_ERROR: u32 = u32::MAX;
/// Values kept per (minute, attribute) for a not yet finalised minute.
const PENDING_CAP: usize = 16;

/// Identifies a series to [`Analyzer::series`].
#[derive(Clone, Copy, Debug)]
pub struct SeriesRef<'a> {
    pub account_id: &'a str,
    pub region: &'a str,
    pub event_source: &'a str,
    pub event_name: &'a str,
    pub insight_type: InsightType,
    /// Required for [`InsightType::ApiErrorRateInsight`], ignored otherwise.
    pub error_code: Option<&'a str>,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
struct SeriesKey {
    partition: u32,
    source: u32,
    name: u32,
    /// `NO_ERROR` for the call-rate series.
    error: u32,
}

struct Partition {
    account: u32,
    region: u32,
    watermark_ms: i64,
    /// Last finalised (analysed) minute.
    finalized: i64,
    /// First minute of observation: series count zero from here on.
    first_minute: i64,
    seen_since_advance: bool,
    /// Series with events in not yet finalised minutes, or inside an incident / undecided run.
    work: Vec<u32>,
}

#[derive(Clone, Copy, Default, Debug)]
struct HourBucket {
    sumsq: u64,
    sum: u32,
    /// Minutes of this hour inside an insight (or an undecided run).
    excluded: u16,
}

#[derive(Clone, Copy)]
struct BaselineCache {
    hour: i64,
    mean: f64,
    std: f64,
    minutes: i64,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    /// Unusual minutes, fewer than `start_minutes` so far.
    Streak,
    Insight,
    /// Normal minutes after an insight, fewer than `end_minutes` so far.
    Ending,
}

struct Active {
    phase: Phase,
    run_start: i64,
    run_len: u32,
    run_sum: u64,
    inc_start: i64,
    inc_sum: u64,
    baseline_mean: f64,
    baseline_duration: u32,
    run_attr: Vec<Counted>,
    inc_attr: Vec<Counted>,
}

struct Series {
    key: SeriesKey,
    minute_head: i64,
    minutes: Box<[u32]>,
    hour_head: i64,
    hours: Box<[HourBucket]>,
    cache: BaselineCache,
    decay_ref: i64,
    base_total: f64,
    base_attr: Vec<Weighted>,
    pending: Vec<Pending>,
    active: Option<Box<Active>>,
    in_work: bool,
}

/// Derived constants.
struct Params {
    n_min: i64,
    n_hour: i64,
    window_min: i64,
    window_hours: i64,
    seasonal_days: i64,
    spread: i64,
    tau: f64,
    ready_min: f64,
}

/// What the detector decided, before strings are resolved.
struct Emit {
    state: InsightState,
    start_minute: i64,
    event_minute: i64,
    baseline_mean: f64,
    insight_average: f64,
    duration: u32,
    baseline_duration: u32,
    insight_attr: Vec<(u8, u32, f64)>,
    baseline_attr: Vec<(u8, u32, f64)>,
}

struct Baseline {
    mean: f64,
    threshold: f64,
    ready: bool,
}

impl Series {
    fn new(key: SeriesKey, finalized: i64, prm: &Params) -> Self {
        Self {
            key,
            minute_head: finalized,
            minutes: vec![0; prm.n_min as usize].into_boxed_slice(),
            hour_head: finalized.div_euclid(60),
            hours: vec![HourBucket::default(); prm.n_hour as usize].into_boxed_slice(),
            cache: BaselineCache {
                hour: i64::MIN,
                mean: 0.0,
                std: 0.0,
                minutes: 0,
            },
            decay_ref: finalized,
            base_total: 0.0,
            base_attr: Vec::new(),
            pending: Vec::new(),
            active: None,
            in_work: false,
        }
    }

    #[inline]
    fn slot(&self, m: i64) -> Option<usize> {
        let n = self.minutes.len() as i64;
        (m <= self.minute_head && m > self.minute_head - n).then(|| m.rem_euclid(n) as usize)
    }

    #[inline]
    fn ensure_minute(&mut self, m: i64) {
        if m > self.minute_head {
            let n = self.minutes.len() as i64;
            let d = m - self.minute_head;
            if d >= n {
                self.minutes.fill(0);
            } else {
                for i in 1..=d {
                    self.minutes[(self.minute_head + i).rem_euclid(n) as usize] = 0;
                }
            }
            self.minute_head = m;
        }
    }

    #[inline]
    fn count(&self, m: i64) -> u32 {
        self.slot(m).map_or(0, |i| self.minutes[i] & !FLAG)
    }

    fn ensure_hour(&mut self, h: i64) {
        if h > self.hour_head {
            let n = self.hours.len() as i64;
            let d = h - self.hour_head;
            if d >= n {
                self.hours.fill(HourBucket::default());
            } else {
                for i in 1..=d {
                    self.hours[(self.hour_head + i).rem_euclid(n) as usize] = HourBucket::default();
                }
            }
            self.hour_head = h;
        }
    }

    /// The bucket of hour `h`: zero for hours not reached yet, `None` when out of the ring.
    fn bucket(&self, h: i64) -> Option<HourBucket> {
        let n = self.hours.len() as i64;
        if h > self.hour_head {
            Some(HourBucket::default())
        } else if h > self.hour_head - n {
            Some(self.hours[h.rem_euclid(n) as usize])
        } else {
            None
        }
    }

    fn bucket_mut(&mut self, h: i64) -> Option<&mut HourBucket> {
        self.ensure_hour(h);
        let n = self.hours.len() as i64;
        (h > self.hour_head - n).then(|| &mut self.hours[h.rem_euclid(n) as usize])
    }

    /// Weight of a baseline attribution count at minute `m`: grows as e^(t/τ), which is an
    /// exponential decay of older counts relative to newer ones; only ratios are ever used.
    fn weight(&mut self, m: i64, tau: f64) -> f64 {
        let w = ((m - self.decay_ref) as f64 / tau).exp();
        if w > 1e12 {
            for e in &mut self.base_attr {
                e.weight /= w;
            }
            self.base_total /= w;
            self.decay_ref = m;
            1.0
        } else {
            w
        }
    }

    fn baseline(&mut self, m: i64, first_minute: i64, cfg: &DetectorConfig, prm: &Params) -> Baseline {
        let h = m.div_euclid(60);
        if self.cache.hour != h {
            let mut acc = (0u64, 0u64, 0i64);
            if prm.seasonal_days > 0 {
                for d in 1..=prm.seasonal_days {
                    for delta in -prm.spread..=prm.spread {
                        self.accumulate(h - 24 * d + delta, first_minute, &mut acc);
                    }
                }
            } else {
                for hh in h - prm.window_hours..h {
                    self.accumulate(hh, first_minute, &mut acc);
                }
            }
            let (mean, std) = if acc.2 > 0 {
                let n = acc.2 as f64;
                let mean = acc.0 as f64 / n;
                let var = (acc.1 as f64 / n - mean * mean).max(0.0);
                (mean, var.sqrt())
            } else {
                (0.0, 0.0)
            };
            self.cache = BaselineCache {
                hour: h,
                mean,
                std,
                minutes: acc.2,
            };
        }
        let BaselineCache { mean, std, minutes, .. } = self.cache;
        let threshold = (mean + cfg.k_sigma * std.max(mean.sqrt()))
            .max(cfg.min_ratio * mean)
            .max(cfg.min_rate);
        Baseline {
            mean,
            threshold,
            ready: minutes as f64 >= prm.ready_min,
        }
    }

    fn accumulate(&self, hh: i64, first_minute: i64, acc: &mut (u64, u64, i64)) {
        let start = hh * 60;
        let observed = start + 60 - start.max(first_minute);
        if observed <= 0 {
            return;
        }
        let Some(b) = self.bucket(hh) else { return };
        let n = observed - i64::from(b.excluded);
        if n > 0 {
            acc.0 += u64::from(b.sum);
            acc.1 += b.sumsq;
            acc.2 += n;
        }
    }

    /// Takes minute `m` out of the baseline until it is decided (insight or normal).
    fn mark(&mut self, m: i64) {
        self.ensure_minute(m);
        if let Some(i) = self.slot(m) {
            self.minutes[i] |= FLAG;
        }
        if let Some(b) = self.bucket_mut(m.div_euclid(60)) {
            b.excluded = b.excluded.saturating_add(1);
        }
    }

    /// A marked minute turned out normal: into the baseline. Returns its count.
    fn unmark_fold(&mut self, m: i64) -> u64 {
        let c = match self.slot(m) {
            Some(i) => {
                self.minutes[i] &= !FLAG;
                u64::from(self.minutes[i])
            }
            None => 0,
        };
        if let Some(b) = self.bucket_mut(m.div_euclid(60)) {
            b.excluded = b.excluded.saturating_sub(1);
            b.sum = b.sum.saturating_add(c as u32);
            b.sumsq += c * c;
        }
        c
    }

    fn fold_normal(&mut self, m: i64, c: u32, scratch: &[Pending], cfg: &DetectorConfig, tau: f64) {
        if c == 0 {
            return;
        }
        if let Some(b) = self.bucket_mut(m.div_euclid(60)) {
            b.sum = b.sum.saturating_add(c);
            b.sumsq += u64::from(c) * u64::from(c);
        }
        let w = self.weight(m, tau);
        self.base_total += f64::from(c) * w;
        for p in scratch {
            add_weighted(
                &mut self.base_attr,
                p.attr,
                p.value,
                f64::from(p.count) * w,
                cfg.baseline_top_k,
            );
        }
    }

    /// The undecided run of the active state was normal after all.
    fn resolve_run_normal(&mut self, a: &Active, cfg: &DetectorConfig, tau: f64) {
        let mut total = 0;
        for mm in a.run_start..a.run_start + i64::from(a.run_len) {
            total += self.unmark_fold(mm);
        }
        let w = self.weight(a.run_start, tau);
        self.base_total += total as f64 * w;
        for e in &a.run_attr {
            add_weighted(
                &mut self.base_attr,
                e.attr,
                e.value,
                f64::from(e.count) * w,
                cfg.baseline_top_k,
            );
        }
    }

    fn baseline_attr(&self, mean: f64) -> Vec<(u8, u32, f64)> {
        if self.base_total <= 0.0 {
            return Vec::new();
        }
        self.base_attr
            .iter()
            .map(|e| (e.attr, e.value, e.weight / self.base_total * mean))
            .collect()
    }

    /// Analyses finalised minute `m`.
    fn step(
        &mut self,
        m: i64,
        first_minute: i64,
        cfg: &DetectorConfig,
        prm: &Params,
        scratch: &mut Vec<Pending>,
    ) -> Option<Emit> {
        let c = self.count(m);
        take_pending(&mut self.pending, m, scratch);
        let base = (c > 0).then(|| self.baseline(m, first_minute, cfg, prm));
        let unusual = base.as_ref().is_some_and(|b| b.ready && f64::from(c) >= b.threshold);
        let phase = self.active.as_ref().map(|a| a.phase);
        match phase {
            None => {
                if !unusual {
                    self.fold_normal(m, c, scratch, cfg, prm.tau);
                    return None;
                }
                let b = base.expect("computed when unusual");
                self.mark(m);
                let mut a = Active {
                    phase: Phase::Streak,
                    run_start: m,
                    run_len: 1,
                    run_sum: u64::from(c),
                    inc_start: m,
                    inc_sum: 0,
                    baseline_mean: b.mean,
                    baseline_duration: (m - first_minute).clamp(0, prm.window_min) as u32,
                    run_attr: Vec::new(),
                    inc_attr: Vec::new(),
                };
                add_all(&mut a.run_attr, scratch, cfg.insight_top_k);
                self.active = Some(Box::new(a));
                (cfg.start_minutes <= 1).then(|| self.start())
            }
            Some(Phase::Streak) => {
                if unusual {
                    self.mark(m);
                    let a = self.active.as_mut().expect("active");
                    a.run_len += 1;
                    a.run_sum += u64::from(c);
                    add_all(&mut a.run_attr, scratch, cfg.insight_top_k);
                    (a.run_len >= cfg.start_minutes).then(|| self.start())
                } else {
                    let a = self.active.take().expect("active");
                    self.resolve_run_normal(&a, cfg, prm.tau);
                    self.fold_normal(m, c, scratch, cfg, prm.tau);
                    None
                }
            }
            Some(Phase::Insight) => {
                self.mark(m);
                let a = self.active.as_mut().expect("active");
                if unusual {
                    a.inc_sum += u64::from(c);
                    add_all(&mut a.inc_attr, scratch, cfg.insight_top_k);
                    None
                } else {
                    a.phase = Phase::Ending;
                    a.run_start = m;
                    a.run_len = 1;
                    a.run_sum = u64::from(c);
                    a.run_attr.clear();
                    add_all(&mut a.run_attr, scratch, cfg.insight_top_k);
                    (cfg.end_minutes <= 1).then(|| self.end(cfg, prm))
                }
            }
            Some(Phase::Ending) => {
                self.mark(m);
                let a = self.active.as_mut().expect("active");
                if unusual {
                    a.inc_sum += a.run_sum + u64::from(c);
                    let run = std::mem::take(&mut a.run_attr);
                    for e in run {
                        add_counted(&mut a.inc_attr, e.attr, e.value, e.count, cfg.insight_top_k);
                    }
                    add_all(&mut a.inc_attr, scratch, cfg.insight_top_k);
                    a.phase = Phase::Insight;
                    a.run_len = 0;
                    a.run_sum = 0;
                    None
                } else {
                    a.run_len += 1;
                    a.run_sum += u64::from(c);
                    add_all(&mut a.run_attr, scratch, cfg.insight_top_k);
                    (a.run_len >= cfg.end_minutes).then(|| self.end(cfg, prm))
                }
            }
        }
    }

    fn start(&mut self) -> Emit {
        let a = self.active.as_ref().expect("active");
        let (mean, run_len) = (a.baseline_mean, a.run_len);
        let baseline_attr = self.baseline_attr(mean);
        let a = self.active.as_mut().expect("active");
        let emit = Emit {
            state: InsightState::Start,
            start_minute: a.run_start,
            event_minute: a.run_start,
            baseline_mean: mean,
            insight_average: a.run_sum as f64 / f64::from(run_len),
            duration: run_len,
            baseline_duration: a.baseline_duration,
            insight_attr: per_minute(&a.run_attr, run_len),
            baseline_attr,
        };
        a.phase = Phase::Insight;
        a.inc_start = a.run_start;
        a.inc_sum = a.run_sum;
        a.inc_attr = std::mem::take(&mut a.run_attr);
        a.run_len = 0;
        a.run_sum = 0;
        emit
    }

    fn end(&mut self, cfg: &DetectorConfig, prm: &Params) -> Emit {
        let a = self.active.take().expect("active");
        let duration = (a.run_start - a.inc_start).max(1) as u32;
        let emit = Emit {
            state: InsightState::End,
            start_minute: a.inc_start,
            event_minute: a.run_start,
            baseline_mean: a.baseline_mean,
            insight_average: a.inc_sum as f64 / f64::from(duration),
            duration,
            baseline_duration: a.baseline_duration,
            insight_attr: per_minute(&a.inc_attr, duration),
            baseline_attr: self.baseline_attr(a.baseline_mean),
        };
        self.resolve_run_normal(&a, cfg, prm.tau);
        emit
    }

    fn memory_bytes(&self) -> usize {
        let mut n = size_of::<Series>()
            + self.minutes.len() * size_of::<u32>()
            + self.hours.len() * size_of::<HourBucket>()
            + self.base_attr.capacity() * size_of::<Weighted>()
            + self.pending.capacity() * size_of::<Pending>();
        if let Some(a) = &self.active {
            n += size_of::<Active>() + (a.run_attr.capacity() + a.inc_attr.capacity()) * size_of::<Counted>();
        }
        n
    }

    fn for_each_value(&mut self, mut f: impl FnMut(&mut u32)) {
        self.base_attr.iter_mut().for_each(|e| f(&mut e.value));
        self.pending.iter_mut().for_each(|e| f(&mut e.value));
        if let Some(a) = &mut self.active {
            a.run_attr.iter_mut().for_each(|e| f(&mut e.value));
            a.inc_attr.iter_mut().for_each(|e| f(&mut e.value));
        }
    }
}

fn add_all(table: &mut Vec<Counted>, scratch: &[Pending], cap: usize) {
    for p in scratch {
        add_counted(table, p.attr, p.value, p.count, cap);
    }
}

fn per_minute(table: &[Counted], minutes: u32) -> Vec<(u8, u32, f64)> {
    let d = f64::from(minutes.max(1));
    table
        .iter()
        .map(|e| (e.attr, e.value, f64::from(e.count) / d))
        .collect()
}

/// The CloudTrail Insights analysis core. See the crate documentation.
pub struct Analyzer {
    cfg: DetectorConfig,
    prm: Params,
    keys: Interner,
    values: Interner,
    null_value: u32,
    compact_at: usize,
    partitions: Vec<Partition>,
    partition_index: FxMap<(u32, u32), u32>,
    series: Vec<Series>,
    series_index: FxMap<SeriesKey, u32>,
    out: Vec<InsightEvent>,
    scratch: Vec<Pending>,
}

impl Analyzer {
    pub fn new(cfg: DetectorConfig) -> Result<Self, ConfigError> {
        cfg.validate()?;
        let window_min = i64::from(cfg.baseline_minutes);
        let prm = Params {
            n_min: i64::from(cfg.minute_history),
            n_hour: cfg.hour_ring() as i64,
            window_min,
            window_hours: window_min / 60,
            seasonal_days: if cfg.seasonal() { window_min / 1440 } else { 0 },
            spread: i64::from(cfg.seasonal_spread_hours),
            tau: window_min as f64,
            // Minutes the baseline statistics could use at most, times the fraction.
            ready_min: cfg.min_baseline_fraction
                * if cfg.seasonal() {
                    (window_min / 1440 * (2 * i64::from(cfg.seasonal_spread_hours) + 1) * 60) as f64
                } else {
                    window_min as f64
                },
        };
        let mut values = Interner::default();
        let null_value = values.intern("null");
        Ok(Self {
            compact_at: cfg.max_attribution_values,
            cfg,
            prm,
            keys: Interner::default(),
            values,
            null_value,
            partitions: Vec::new(),
            partition_index: FxMap::default(),
            series: Vec::new(),
            series_index: FxMap::default(),
            out: Vec::new(),
            scratch: Vec::new(),
        })
    }

    pub fn config(&self) -> &DetectorConfig {
        &self.cfg
    }

    /// Counts one event. Non-management events are ignored. May finalise minutes of the
    /// event's (account, region) and so produce insight events (see [`Analyzer::drain`]).
    pub fn observe(&mut self, o: &Observation<'_>) {
        if !o.is_management {
            return;
        }
        let t = o.event_time_ms.max(0);
        let m = t.div_euclid(MINUTE_MS);
        let account = self.keys.intern(o.account_id);
        let region = self.keys.intern(o.region);
        let pi = self.partition(account, region, t);
        let p = &mut self.partitions[pi as usize];
        p.seen_since_advance = true;
        if t > p.watermark_ms {
            p.watermark_ms = t;
            let target = self.target(t);
            if target > self.partitions[pi as usize].finalized {
                self.finalize_partition(pi, target);
            }
        }
        if !o.is_write && o.error_code.is_none() {
            return;
        }
        let p = &mut self.partitions[pi as usize];
        let open = m > p.finalized;
        if open && m < p.first_minute {
            p.first_minute = m;
        }
        let source = self.keys.intern(o.event_source);
        let name = self.keys.intern(o.event_name);
        let arn = o.user_identity_arn.map(|s| self.values.intern(s));
        let agent = o.user_agent.map(|s| self.values.intern(s));
        if o.is_write {
            let err = match o.error_code {
                Some(code) => self.values.intern(code),
                None => self.null_value,
            };
            let si = self.series_for(pi, source, name, NO_ERROR);
            self.add_event(pi, si, m, open, [arn, agent, Some(err)]);
        }
        if let Some(code) = o.error_code {
            let e = self.keys.intern(code);
            let si = self.series_for(pi, source, name, e);
            self.add_event(pi, si, m, open, [arn, agent, None]);
        }
        if self.values.len() > self.compact_at {
            self.compact_values();
        }
    }

    /// Lets quiet partitions make progress: every (account, region) that saw no event since
    /// the previous call is treated as if its newest event time were `now_ms` (wall clock), so
    /// its minutes ending at least `lateness` before `now_ms` are analysed (counting zero).
    /// Call it periodically (e.g. every 30 s). Partitions receiving events (live or imported)
    /// are driven by their own event times only.
    pub fn advance(&mut self, now_ms: i64) {
        for pi in 0..self.partitions.len() {
            let p = &mut self.partitions[pi];
            let quiet = !p.seen_since_advance;
            p.seen_since_advance = false;
            if quiet && now_ms > p.watermark_ms {
                p.watermark_ms = now_ms;
                let target = self.target(now_ms);
                if target > self.partitions[pi].finalized {
                    self.finalize_partition(pi as u32, target);
                }
            }
        }
    }

    /// End of input (tests, one-shot imports): analyses every minute up to and including the
    /// minute of each partition's newest event.
    pub fn flush(&mut self) {
        for pi in 0..self.partitions.len() {
            let target = self.partitions[pi].watermark_ms.div_euclid(MINUTE_MS);
            if target > self.partitions[pi].finalized {
                self.finalize_partition(pi as u32, target);
            }
        }
    }

    /// Insight events produced since the last call, ordered by event time (then series, Start
    /// before End). Deterministic for a given input sequence.
    pub fn drain(&mut self) -> Vec<InsightEvent> {
        let mut out = std::mem::take(&mut self.out);
        out.sort_by(|a, b| {
            (
                a.event_time_ms,
                &a.account_id,
                &a.region,
                &a.event_source,
                &a.event_name,
            )
                .cmp(&(
                    b.event_time_ms,
                    &b.account_id,
                    &b.region,
                    &b.event_source,
                    &b.event_name,
                ))
                .then(a.insight_type.cmp(&b.insight_type))
                .then(a.error_code.cmp(&b.error_code))
                .then(a.state.cmp(&b.state))
        });
        out
    }

    /// Per-minute counts of one series still held at minute resolution (the last
    /// `minute_history` minutes), for minutes overlapping `[from_ms, to_ms)`; minutes not yet
    /// finalised are included with their count so far. Empty for unknown series.
    pub fn series(&self, key: &SeriesRef<'_>, from_ms: i64, to_ms: i64) -> Vec<(i64, u32)> {
        let Some(s) = self.lookup(key) else {
            return Vec::new();
        };
        let lo = from_ms
            .div_euclid(MINUTE_MS)
            .max(s.minute_head - s.minutes.len() as i64 + 1);
        let hi = (to_ms - 1).div_euclid(MINUTE_MS).min(s.minute_head);
        (lo..=hi).map(|m| (m * MINUTE_MS, s.count(m))).collect()
    }

    /// Number of series (call-rate and error-rate) tracked.
    pub fn series_count(&self) -> usize {
        self.series.len()
    }

    /// Bytes held by the analyzer's own structures (rings, tables, interners, maps; hash maps
    /// counted at capacity × (key + value + 1 control byte)).
    pub fn memory_bytes(&self) -> usize {
        size_of::<Self>()
            + self.keys.memory_bytes()
            + self.values.memory_bytes()
            + self.partitions.capacity() * size_of::<Partition>()
            + self.partitions.iter().map(|p| p.work.capacity() * 4).sum::<usize>()
            + self.partition_index.capacity() * (8 + 4 + 1)
            + self.series_index.capacity() * (size_of::<SeriesKey>() + 4 + 1)
            + (self.series.capacity() - self.series.len()) * size_of::<Series>()
            + self.series.iter().map(Series::memory_bytes).sum::<usize>()
            + self.scratch.capacity() * size_of::<Pending>()
            + self.out.capacity() * size_of::<InsightEvent>()
    }

    fn lookup(&self, key: &SeriesRef<'_>) -> Option<&Series> {
        let account = self.keys.get(key.account_id)?;
        let region = self.keys.get(key.region)?;
        let partition = *self.partition_index.get(&(account, region))?;
        let error = match key.insight_type {
            InsightType::ApiCallRateInsight => NO_ERROR,
            InsightType::ApiErrorRateInsight => self.keys.get(key.error_code?)?,
        };
        let k = SeriesKey {
            partition,
            source: self.keys.get(key.event_source)?,
            name: self.keys.get(key.event_name)?,
            error,
        };
        self.series_index.get(&k).map(|&i| &self.series[i as usize])
    }

    /// Last minute that may be finalised at watermark `wm`.
    fn target(&self, wm: i64) -> i64 {
        (wm - self.cfg.lateness_ms).div_euclid(MINUTE_MS) - 1
    }

    fn partition(&mut self, account: u32, region: u32, t: i64) -> u32 {
        if let Some(&pi) = self.partition_index.get(&(account, region)) {
            return pi;
        }
        let pi = self.partitions.len() as u32;
        let finalized = self.target(t);
        self.partitions.push(Partition {
            account,
            region,
            watermark_ms: t,
            finalized,
            first_minute: t.div_euclid(MINUTE_MS),
            seen_since_advance: true,
            work: Vec::new(),
        });
        self.partition_index.insert((account, region), pi);
        pi
    }

    #[inline]
    fn series_for(&mut self, pi: u32, source: u32, name: u32, error: u32) -> u32 {
        let key = SeriesKey {
            partition: pi,
            source,
            name,
            error,
        };
        if let Some(&si) = self.series_index.get(&key) {
            return si;
        }
        let si = self.series.len() as u32;
        let finalized = self.partitions[pi as usize].finalized;
        self.series.push(Series::new(key, finalized, &self.prm));
        self.series_index.insert(key, si);
        si
    }

    fn add_event(&mut self, pi: u32, si: u32, m: i64, open: bool, attrs: [Option<u32>; 3]) {
        let s = &mut self.series[si as usize];
        if open {
            s.ensure_minute(m);
            if let Some(i) = s.slot(m) {
                s.minutes[i] = s.minutes[i].saturating_add(1);
            }
            for (attr, v) in [ATTR_ARN, ATTR_AGENT, ATTR_ERROR].into_iter().zip(attrs) {
                if let Some(v) = v {
                    add_pending(&mut s.pending, m, attr, v, PENDING_CAP);
                }
            }
            if !s.in_work {
                s.in_work = true;
                self.partitions[pi as usize].work.push(si);
            }
            return;
        }
        // Late: the minute is already analysed; count it towards the baseline only.
        let h = m.div_euclid(60);
        if let Some(i) = s.slot(m) {
            let old = s.minutes[i];
            s.minutes[i] = old.saturating_add(1);
            if old & FLAG != 0 {
                return; // inside an insight or an undecided run
            }
            let c = u64::from(old);
            let Some(b) = s.bucket_mut(h) else { return };
            b.sum = b.sum.saturating_add(1);
            b.sumsq += 2 * c + 1;
        } else {
            let Some(b) = s.bucket_mut(h) else { return };
            // The minute's own count is gone: assume the hour's average so far.
            let avg = u64::from(b.sum) / 60;
            b.sum = b.sum.saturating_add(1);
            b.sumsq += 2 * avg + 1;
        }
        let w = s.weight(m, self.prm.tau);
        s.base_total += w;
        for (attr, v) in [ATTR_ARN, ATTR_AGENT, ATTR_ERROR].into_iter().zip(attrs) {
            if let Some(v) = v {
                add_weighted(&mut s.base_attr, attr, v, w, self.cfg.baseline_top_k);
            }
        }
    }

    fn finalize_partition(&mut self, pi: u32, target: i64) {
        let p = &mut self.partitions[pi as usize];
        let lo = p.finalized + 1;
        let first_minute = p.first_minute;
        let work = std::mem::take(&mut p.work);
        let mut keep = Vec::with_capacity(work.len());
        let n = self.prm.n_min;
        for si in work {
            let mut m = lo;
            while m <= target {
                let s = &mut self.series[si as usize];
                if s.active.is_none() {
                    m = m.max(s.minute_head - n + 1);
                    if m > target || m > s.minute_head {
                        break;
                    }
                    if s.count(m) == 0 {
                        m += 1;
                        continue;
                    }
                }
                if let Some(emit) = s.step(m, first_minute, &self.cfg, &self.prm, &mut self.scratch) {
                    self.emit(si, emit);
                }
                m += 1;
            }
            let s = &mut self.series[si as usize];
            if s.minute_head > target || s.active.is_some() {
                keep.push(si);
            } else {
                s.in_work = false;
                // Nothing of this series is open any more.
                s.pending.clear();
            }
        }
        let p = &mut self.partitions[pi as usize];
        p.work = keep;
        p.finalized = target;
    }

    fn emit(&mut self, si: u32, e: Emit) {
        let s = &self.series[si as usize];
        let p = &self.partitions[s.key.partition as usize];
        let account_id = self.keys.resolve(p.account);
        let region = self.keys.resolve(p.region);
        let event_source = self.keys.resolve(s.key.source);
        let event_name = self.keys.resolve(s.key.name);
        let (insight_type, error_code) = if s.key.error == NO_ERROR {
            (InsightType::ApiCallRateInsight, None)
        } else {
            (InsightType::ApiErrorRateInsight, Some(self.keys.resolve(s.key.error)))
        };
        let shared_id = uuid_v8(fnv1a_128(&[
            account_id.as_bytes(),
            region.as_bytes(),
            event_source.as_bytes(),
            event_name.as_bytes(),
            insight_type.as_str().as_bytes(),
            error_code.unwrap_or("").as_bytes(),
            &e.start_minute.to_le_bytes(),
        ]));
        let attrs: &[u8] = if error_code.is_none() {
            &[ATTR_ARN, ATTR_AGENT, ATTR_ERROR]
        } else {
            &[ATTR_ARN, ATTR_AGENT]
        };
        let attributions = attrs
            .iter()
            .map(|&attr| Attribution {
                attribute: ATTR_NAMES[attr as usize],
                insight: top5(&self.values, &e.insight_attr, attr),
                baseline: top5(&self.values, &e.baseline_attr, attr),
            })
            .collect();
        let event = InsightEvent {
            account_id: account_id.to_owned(),
            region: region.to_owned(),
            event_source: event_source.to_owned(),
            event_name: event_name.to_owned(),
            insight_type,
            error_code: error_code.map(str::to_owned),
            state: e.state,
            shared_id,
            event_time_ms: e.event_minute * MINUTE_MS,
            insight_start_ms: e.start_minute * MINUTE_MS,
            statistics: InsightStatistics {
                baseline_average: e.baseline_mean,
                insight_average: e.insight_average,
                insight_duration: e.duration,
                baseline_duration: e.baseline_duration,
            },
            attributions,
        };
        self.out.push(event);
    }

    /// Drops attribution values no table refers to any more and renumbers the rest.
    fn compact_values(&mut self) {
        let old_len = self.values.len();
        let mut used = vec![false; old_len];
        used[self.null_value as usize] = true;
        for s in &mut self.series {
            s.for_each_value(|v| used[*v as usize] = true);
        }
        let mut fresh = Interner::default();
        let mut remap = vec![u32::MAX; old_len];
        for (id, _) in used.iter().enumerate().filter(|(_, u)| **u) {
            remap[id] = fresh.intern(self.values.resolve(id as u32));
        }
        for s in &mut self.series {
            s.for_each_value(|v| *v = remap[*v as usize]);
        }
        self.null_value = remap[self.null_value as usize];
        self.values = fresh;
        self.compact_at = self.cfg.max_attribution_values.max(2 * self.values.len());
    }
}

fn top5(values: &Interner, list: &[(u8, u32, f64)], attr: u8) -> Vec<AttributionValue> {
    let mut v: Vec<AttributionValue> = list
        .iter()
        .filter(|e| e.0 == attr && e.2 > 0.0)
        .map(|e| AttributionValue {
            value: values.resolve(e.1).to_owned(),
            average: e.2,
        })
        .collect();
    v.sort_by(|a, b| b.average.total_cmp(&a.average).then_with(|| a.value.cmp(&b.value)));
    v.truncate(5);
    v
}
