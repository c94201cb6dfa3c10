//! ListInsightsMetricData: the per-period series of one API (write calls for the call rate,
//! calls failing with one error code for the error rate), counted from the event log so any
//! range the log holds can be charted, not only what the analyzer keeps in memory.

use std::collections::BTreeMap;

use cairn_insights::InsightType;
use cairn_log::{EventLog, ScanRequest};
use cairn_model::{EventTime, LookupAttribute, LookupFilter};

/// What to count.
#[derive(Debug, Clone)]
pub struct MetricRequest {
    pub account_id: String,
    pub region: String,
    pub event_source: String,
    pub event_name: String,
    pub insight_type: InsightType,
    /// Error-rate series: the error code counted (None: every error).
    pub error_code: Option<String>,
    /// Milliseconds; `[start, end)`.
    pub start_ms: i64,
    pub end_ms: i64,
    pub period_secs: i64,
    /// `FillWithZeros` (every period) or `NonZeroData`.
    pub fill_with_zeros: bool,
}

/// Period starts (seconds) and counts, ascending.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricSeries {
    pub timestamps: Vec<i64>,
    pub values: Vec<f64>,
}

/// Counts the matching events per period, reading the API's events through the history's
/// EventName index.
pub async fn metric_data(log: &EventLog, req: &MetricRequest) -> cairn_log::Result<MetricSeries> {
    let period_ms = req.period_secs.max(60) * 1000;
    let mut scan = ScanRequest {
        start: EventTime::from_millis(req.start_ms),
        end: EventTime::from_millis(req.end_ms - 1),
        filter: Some(LookupFilter::new(LookupAttribute::EventName, req.event_name.clone())),
        categories: Some(vec!["Management".to_string()]),
        limit: 5_000,
        ..ScanRequest::new(req.account_id.clone(), req.region.clone())
    };
    let mut counts: BTreeMap<i64, u64> = BTreeMap::new();
    loop {
        let page = log.scan(&scan).await?;
        for e in &page.events {
            let ix = e.record.index();
            if ix.event_source.as_deref() != Some(req.event_source.as_str()) {
                continue;
            }
            let counted = match req.insight_type {
                InsightType::ApiCallRateInsight => ix.read_only == Some(false),
                InsightType::ApiErrorRateInsight => match error_code(e.record.json()) {
                    Some(code) => req.error_code.as_deref().is_none_or(|want| want == code),
                    None => false,
                },
            };
            if counted {
                let t = ix.event_time.millis();
                let bucket = req.start_ms + (t - req.start_ms).div_euclid(period_ms) * period_ms;
                *counts.entry(bucket).or_default() += 1;
            }
        }
        match page.next {
            Some(next) => scan.after = Some(next),
            None => break,
        }
    }
    let mut series = MetricSeries::default();
    if req.fill_with_zeros {
        let mut t = req.start_ms;
        while t < req.end_ms {
            series.timestamps.push(t / 1000);
            series.values.push(counts.get(&t).copied().unwrap_or(0) as f64);
            t += period_ms;
        }
    } else {
        for (t, n) in counts {
            series.timestamps.push(t / 1000);
            series.values.push(n as f64);
        }
    }
    Ok(series)
}

/// The record's `errorCode`, if any (read without parsing the rest).
fn error_code(json: &str) -> Option<String> {
    if !json.contains("\"errorCode\"") {
        return None;
    }
    #[derive(serde::Deserialize)]
    struct Only {
        #[serde(rename = "errorCode")]
        error_code: Option<String>,
    }
    serde_json::from_str::<Only>(json).ok()?.error_code
}
