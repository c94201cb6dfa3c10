//! Detector parameters.

use std::fmt;

/// All tunables of the analyzer. See the crate documentation for the reasoning behind the
/// defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct DetectorConfig {
    /// A minute is analysed once its end is at least this far behind the newest event time of
    /// its (account, region). Events that arrive later still feed the baseline but are never
    /// re-analysed. Default 2 minutes.
    pub lateness_ms: i64,
    /// Baseline window preceding the analysed minute, in minutes. Default 7 days (10,080), as
    /// CloudTrail. Must be a whole number of hours, at least 1 hour.
    pub baseline_minutes: u32,
    /// Windows of at least this many days use the seasonal (time-of-day) baseline. Default 2.
    pub seasonal_min_days: u32,
    /// Seasonal baseline: hours either side of the analysed hour on each previous day. Default 1.
    pub seasonal_spread_hours: u32,
    /// No insight before the baseline holds at least this fraction of the minutes it can hold
    /// (7-day seasonal: 7 × 3 hours; shorter windows: the whole window), minutes inside
    /// insights not counted. Default 0.5 (3.5 days for the default window).
    pub min_baseline_fraction: f64,
    /// Upper threshold = mean + `k_sigma` · max(std, sqrt(mean)). Default 4.
    pub k_sigma: f64,
    /// A minute is unusual only at ≥ `min_ratio` × the baseline mean. Default 3.
    pub min_ratio: f64,
    /// A minute is unusual only at ≥ `min_rate` calls (errors) in the minute. Default 5.
    pub min_rate: f64,
    /// Consecutive unusual minutes before an insight starts (Start is dated at the first). Default 2.
    pub start_minutes: u32,
    /// Consecutive normal minutes before an insight ends (End is dated at the first). Default 3.
    pub end_minutes: u32,
    /// Minutes of per-minute counts kept per series (charts, open window, undecided runs).
    /// Default 180.
    pub minute_history: u32,
    /// Values tracked per series and attribute for the baseline attributions (space-saving).
    /// Default 10.
    pub baseline_top_k: usize,
    /// Values tracked per series and attribute during an incident (space-saving). Default 16.
    pub insight_top_k: usize,
    /// Attribution values (ARNs, user agents) interned before unused ones are dropped. Default
    /// 200,000.
    pub max_attribution_values: usize,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        Self {
            lateness_ms: 120_000,
            baseline_minutes: 7 * 24 * 60,
            seasonal_min_days: 2,
            seasonal_spread_hours: 1,
            min_baseline_fraction: 0.5,
            k_sigma: 4.0,
            min_ratio: 3.0,
            min_rate: 5.0,
            start_minutes: 2,
            end_minutes: 3,
            minute_history: 180,
            baseline_top_k: 10,
            insight_top_k: 16,
            max_attribution_values: 200_000,
        }
    }
}

/// An invalid [`DetectorConfig`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid insights detector configuration: {}", self.0)
    }
}

impl std::error::Error for ConfigError {}

impl DetectorConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        let err = |m: &str| Err(ConfigError(m.to_owned()));
        if self.lateness_ms < 0 {
            return err("lateness_ms must be >= 0");
        }
        if self.baseline_minutes < 60 || !self.baseline_minutes.is_multiple_of(60) {
            return err("baseline_minutes must be a whole number of hours, at least 60");
        }
        if !(0.0..=1.0).contains(&self.min_baseline_fraction) {
            return err("min_baseline_fraction must be within [0, 1]");
        }
        if !(self.k_sigma >= 0.0 && self.min_ratio >= 1.0 && self.min_rate >= 1.0) {
            return err("need k_sigma >= 0, min_ratio >= 1 and min_rate >= 1");
        }
        if self.start_minutes == 0 || self.end_minutes == 0 {
            return err("start_minutes and end_minutes must be >= 1");
        }
        let needed = self.open_minutes() + self.start_minutes.max(self.end_minutes) as i64 + 2;
        if i64::from(self.minute_history) < needed {
            return err(&format!(
                "minute_history must be at least {needed} for this lateness and run lengths"
            ));
        }
        if self.baseline_top_k < 5 || self.insight_top_k < 5 {
            return err("baseline_top_k and insight_top_k must be >= 5");
        }
        Ok(())
    }

    /// Upper bound of not-yet-finalised minutes of a partition.
    pub(crate) fn open_minutes(&self) -> i64 {
        (self.lateness_ms + 59_999) / 60_000 + 2
    }

    pub(crate) fn seasonal(&self) -> bool {
        self.baseline_minutes >= self.seasonal_min_days.max(1) * 1440
    }

    /// Hourly buckets kept per series.
    pub(crate) fn hour_ring(&self) -> usize {
        let window_hours = (self.baseline_minutes / 60) as usize;
        let spread = if self.seasonal() {
            self.seasonal_spread_hours as usize
        } else {
            0
        };
        window_hours + spread + 2 + (self.open_minutes() as usize).div_ceil(60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_rejected() {
        let d = DetectorConfig::default();
        d.validate().unwrap();
        assert!(d.seasonal());
        assert_eq!(d.hour_ring(), 168 + 1 + 2 + 1);
        for bad in [
            DetectorConfig {
                baseline_minutes: 90,
                ..d.clone()
            },
            DetectorConfig {
                start_minutes: 0,
                ..d.clone()
            },
            DetectorConfig {
                min_ratio: 0.5,
                ..d.clone()
            },
            DetectorConfig {
                minute_history: 5,
                ..d.clone()
            },
            DetectorConfig {
                lateness_ms: -1,
                ..d.clone()
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
        let short = DetectorConfig {
            baseline_minutes: 60,
            ..d
        };
        short.validate().unwrap();
        assert!(!short.seasonal());
    }
}
