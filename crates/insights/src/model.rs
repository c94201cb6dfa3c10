//! Public input and output types and the `insightDetails` JSON.

use serde_json::{Value, json};

/// One CloudTrail event as the analyzer needs it. Borrowed: nothing is copied unless the
/// analyzer sees a string for the first time.
#[derive(Clone, Copy, Debug)]
pub struct Observation<'a> {
    pub account_id: &'a str,
    pub region: &'a str,
    pub event_source: &'a str,
    pub event_name: &'a str,
    /// The event's own time (`eventTime`), not its arrival time.
    pub event_time_ms: i64,
    /// `readOnly == false`.
    pub is_write: bool,
    /// Management event (only these are analysed).
    pub is_management: bool,
    pub error_code: Option<&'a str>,
    pub user_identity_arn: Option<&'a str>,
    pub user_agent: Option<&'a str>,
}

/// `insightDetails.insightType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum InsightType {
    ApiCallRateInsight,
    ApiErrorRateInsight,
}

impl InsightType {
    pub fn as_str(self) -> &'static str {
        match self {
            InsightType::ApiCallRateInsight => "ApiCallRateInsight",
            InsightType::ApiErrorRateInsight => "ApiErrorRateInsight",
        }
    }
}

/// `insightDetails.state`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum InsightState {
    Start,
    End,
}

impl InsightState {
    pub fn as_str(self) -> &'static str {
        match self {
            InsightState::Start => "Start",
            InsightState::End => "End",
        }
    }
}

/// `insightContext.statistics`.
#[derive(Clone, Debug, PartialEq)]
pub struct InsightStatistics {
    /// Baseline calls (or errors) per minute.
    pub baseline_average: f64,
    /// Start: per-minute rate over the first unusual minutes; End: over the whole incident.
    pub insight_average: f64,
    /// Minutes of unusual activity (Start: observed so far, i.e. `start_minutes`).
    pub insight_duration: u32,
    /// Minutes of baseline the decision rested on (at most the baseline window).
    pub baseline_duration: u32,
}

/// One `{value, average}` of an attribution list.
#[derive(Clone, Debug, PartialEq)]
pub struct AttributionValue {
    pub value: String,
    pub average: f64,
}

/// One entry of `insightContext.attributions`.
#[derive(Clone, Debug, PartialEq)]
pub struct Attribution {
    /// `userIdentityArn`, `userAgent` or `errorCode`.
    pub attribute: &'static str,
    /// At most 5, by average descending.
    pub insight: Vec<AttributionValue>,
    /// At most 5, by average descending.
    pub baseline: Vec<AttributionValue>,
}

/// An Insights event (one half of a Start/End pair).
#[derive(Clone, Debug, PartialEq)]
pub struct InsightEvent {
    pub account_id: String,
    pub region: String,
    pub event_source: String,
    pub event_name: String,
    pub insight_type: InsightType,
    /// Error-rate insights only.
    pub error_code: Option<String>,
    pub state: InsightState,
    /// `sharedEventID`: the same for Start and End, derived from the series key and the start
    /// minute only, so a re-run over the same input produces the same ids.
    pub shared_id: String,
    /// Start: the first unusual minute; End: the first minute after the incident.
    pub event_time_ms: i64,
    /// The first unusual minute (equal to `event_time_ms` for Start).
    pub insight_start_ms: i64,
    pub statistics: InsightStatistics,
    pub attributions: Vec<Attribution>,
}

/// The `insightDetails` object of an Insights event record, exactly as in CloudTrail
/// (`errorCode` present for error-rate insights only).
pub fn insight_details_json(e: &InsightEvent) -> Value {
    let list = |values: &[AttributionValue]| -> Value {
        Value::Array(
            values
                .iter()
                .map(|v| json!({ "value": v.value, "average": finite(v.average) }))
                .collect(),
        )
    };
    let attributions: Vec<Value> = e
        .attributions
        .iter()
        .map(|a| {
            json!({
                "attribute": a.attribute,
                "insight": list(&a.insight),
                "baseline": list(&a.baseline),
            })
        })
        .collect();
    let mut details = json!({
        "state": e.state.as_str(),
        "eventSource": e.event_source,
        "eventName": e.event_name,
        "insightType": e.insight_type.as_str(),
        "insightContext": {
            "statistics": {
                "baseline": { "average": finite(e.statistics.baseline_average) },
                "insight": { "average": finite(e.statistics.insight_average) },
                "insightDuration": e.statistics.insight_duration,
                "baselineDuration": e.statistics.baseline_duration,
            },
            "attributions": attributions,
        },
    });
    if let (Some(code), Some(obj)) = (&e.error_code, details.as_object_mut()) {
        obj.insert("errorCode".to_owned(), Value::String(code.clone()));
    }
    details
}

fn finite(x: f64) -> f64 {
    if x.is_finite() { x } else { 0.0 }
}
