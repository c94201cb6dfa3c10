//! # CloudTrail Insights analysis core
//!
//! A pure library (no I/O, no async) that counts management events per minute and decides when
//! an API's call rate or error rate is unusual, producing CloudTrail-style Insights Start/End
//! event pairs with `insightDetails` statistics and attributions.
//!
//! ```
//! use cairn_insights::{Analyzer, DetectorConfig, Observation, insight_details_json};
//! let mut analyzer = Analyzer::new(DetectorConfig::default()).unwrap();
//! analyzer.observe(&Observation {
//!     account_id: "123456789012", region: "us-east-1",
//!     event_source: "ec2.amazonaws.com", event_name: "RunInstances",
//!     event_time_ms: 1_736_121_600_000, is_write: true, is_management: true,
//!     error_code: None, user_identity_arn: Some("arn:aws:iam::123456789012:user/alice"),
//!     user_agent: Some("aws-cli/2.15.30"),
//! });
//! analyzer.advance(1_736_121_900_000); // wall clock, lets quiet partitions progress
//! for event in analyzer.drain() {
//!     let _details = insight_details_json(&event);
//! }
//! ```
//!
//! ## Series
//!
//! Only management events count. The **call-rate** series of an API is the number of *write*
//! management events per minute per (account, region, eventSource, eventName); the
//! **error-rate** series is the number of management events (read or write) with a given
//! `errorCode` per minute per (account, region, eventSource, eventName, errorCode). Strings are
//! interned, so a series key is four `u32`s.
//!
//! ## Event time and completeness
//!
//! Minutes are in event time (imported old logs are analysed in their own period). Each
//! (account, region) partition keeps a watermark, the newest event time seen; a minute is
//! *finalised* (analysed, once and for all) when its end is at least `lateness` (2 min) behind
//! the watermark. [`Analyzer::advance`] moves partitions that saw no event since the previous
//! call to the wall clock, so quiet partitions end their insights. An event for an already
//! finalised minute still counts towards the baseline (not re-analysed). Minutes without events
//! count as 0 for every series of the partition, from the partition's first event on: an API
//! never called before that suddenly bursts is compared with a baseline of zeros.
//!
//! ## Baseline
//!
//! Per series, finalised minutes are folded into hourly buckets (sum, sum of squares, minutes
//! excluded) in a ring covering the baseline window (default 7 days = 170 buckets of 16 bytes);
//! per-minute counts are kept only for the last `minute_history` minutes (default 180), which
//! covers the open (not finalised) minutes, undecided runs and recent charts.
//!
//! * With a window of at least 2 days the baseline is **seasonal**: the minutes of the same
//!   hour of day ± 1 hour on each of the previous days of the window (21 hours for 7 days), so a
//!   daily cycle is not an anomaly. Shorter windows use all complete hours of the window.
//! * The baseline is recomputed once per hour of the analysed minute (cached).
//! * Minutes inside an insight (and minutes of undecided runs until they turn out normal) are
//!   excluded, so an incident does not poison its own baseline.
//! * No insight is raised before the baseline holds half the minutes it can hold (3.5 days of
//!   the same hours for the 7-day seasonal window; half the window otherwise). CloudTrail too
//!   needs its baseline first.
//!
//! ## Detector
//!
//! With baseline mean μ and standard deviation σ (per minute, over the baseline minutes), a
//! minute with count c is **unusual** when
//!
//! ```text
//! c ≥ max( μ + k·max(σ, √μ),  r·μ,  n_min )          k = 4, r = 3, n_min = 5
//! ```
//!
//! * `μ + k·max(σ, √μ)`: a `k`-sigma upper bound, where σ is never taken below the Poisson
//!   standard deviation √μ (counts of independent calls are Poisson; an unusually smooth
//!   baseline must not make ordinary noise look significant). For Poisson counts the chance of
//!   one minute crossing it is ≈ 1e-4..1e-5 at the rates seen in practice.
//! * `r·μ`: the rate must at least triple — busy APIs have tiny relative noise, and a 20 %
//!   bump on a 2,000 calls/min API is not what Insights is for.
//! * `n_min`: at least 5 calls in the minute, so rare APIs (baseline 0.01/min) do not fire on
//!   two calls.
//!
//! An insight **starts** after `start_minutes` (2) consecutive unusual minutes and is dated at
//! the first of them (a single outlier minute, probability ~1e-4, is not enough; two in a row
//! ~1e-8 per minute and series). It **ends** after `end_minutes` (3) consecutive normal
//! minutes and the End is dated at the first normal minute, so a short dip inside a burst does
//! not split it. Start/End event times are therefore at most a minute or so away from the
//! anomaly's real beginning and end (the minute granularity); the decision itself comes
//! `lateness + start_minutes` (resp. `end_minutes`) minutes after.
//!
//! ## Output
//!
//! [`InsightEvent`]s (see [`Analyzer::drain`]): Start and End share a deterministic
//! `shared_id` (hash of the series key and the start minute). Statistics: baseline average (μ
//! at the start), insight average (Start: over the first `start_minutes` minutes; End: over the
//! whole incident), insight duration and baseline duration (observed minutes of the window).
//! Attributions: top 5 `userIdentityArn`, `userAgent` and (call rate only) `errorCode`
//! (`"null"` for success) by average, for the incident (exact counts in a space-saving table of
//! 16 values per attribute) and for the baseline (time-decayed counts, τ = the window, in a
//! space-saving table of 10 values; a value's baseline average is its share times μ).
//! [`insight_details_json`] renders the `insightDetails` object.
//!
//! ## Memory
//!
//! Fixed per series: the hour ring (170 × 16 B = 2.7 KB for 7 days) and the minute ring
//! (180 × 4 B = 0.7 KB); bounded per series: the baseline attribution tables (≤ 3 × 10 entries
//! of 16 B), the pending per-minute attribution entries of the open minutes, and during an
//! incident two tables of ≤ 3 × 16 entries. Attribution strings are interned and the table is
//! compacted when it exceeds `max_attribution_values`. Measured
//! ([`bench::memory_for_apis`]): 10,000 write APIs (plus 1,000 error-rate series) after 7 days
//! with full attribution tables hold 50.8 MB, i.e. ≈ 4.6 KB per series.
//!
//! Throughput ([`bench::observe_throughput`], `cargo run --release -p cairn-insights --example
//! insights_bench`): about 2 million events per second on one core with realistic strings.

mod analyzer;
mod attrib;
pub mod bench;
mod config;
mod intern;
mod model;
pub mod workload;

pub use analyzer::{Analyzer, SeriesRef};
pub use bench::bench_counting;
pub use config::{ConfigError, DetectorConfig};
pub use intern::SplitMix64;
pub use model::{
    Attribution, AttributionValue, InsightEvent, InsightState, InsightStatistics, InsightType, Observation,
    insight_details_json,
};
