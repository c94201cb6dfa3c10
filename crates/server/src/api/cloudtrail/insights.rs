//! ListInsightsMetricData: the per-period series of an API, so a console can chart its rate
//! against the insight window. Counted from the caller's own account and the request's region.

use serde_json::json;

use super::input::{Input, decode_token, encode_token};
use super::{Call, Done};
use crate::api::error::ApiError;
use crate::insights::{MetricRequest, metric_data, parse_type};

/// Periods CloudTrail accepts (seconds).
const PERIODS: [i64; 3] = [60, 300, 3600];
/// Longest range one request may count (the event history's 90 days).
const MAX_RANGE_SECS: f64 = 90.0 * 86_400.0;

pub async fn list_insights_metric_data(call: &Call<'_>, input: &Input<'_>) -> Result<Done, ApiError> {
    call.authorize("*")?;
    let event_source = input.required_str("EventSource", "InvalidParameterException")?;
    let event_name = input.required_str("EventName", "InvalidParameterException")?;
    let type_name = input.required_str("InsightType", "InvalidParameterException")?;
    let insight_type = parse_type(type_name).ok_or_else(|| {
        ApiError::invalid_parameter(format!(
            "InsightType {type_name:?} is not valid: use ApiCallRateInsight or ApiErrorRateInsight."
        ))
    })?;
    let error_code = input.str("ErrorCode")?.map(str::to_string);
    if error_code.is_some() && type_name != "ApiErrorRateInsight" {
        return Err(ApiError::invalid_parameter(
            "ErrorCode applies to ApiErrorRateInsight only.",
        ));
    }
    let period = match input.0.get("Period") {
        None => 3600,
        Some(v) => v
            .as_i64()
            .filter(|p| PERIODS.contains(p))
            .ok_or_else(|| ApiError::invalid_parameter("Period must be 60, 300 or 3600."))?,
    };
    let fill_with_zeros = match input.str("DataType")? {
        None | Some("FillWithZeros") => true,
        Some("NonZeroData") => false,
        Some(other) => {
            return Err(ApiError::invalid_parameter(format!(
                "DataType {other:?} is not valid: use FillWithZeros or NonZeroData."
            )));
        }
    };
    let max_results = match input.0.get("MaxResults") {
        None => 21_600,
        Some(v) => v
            .as_u64()
            .filter(|n| (1..=21_600).contains(n))
            .ok_or_else(|| ApiError::invalid_parameter("MaxResults must be between 1 and 21600."))?
            as usize,
    };
    let now = jiff::Timestamp::now().as_second() as f64;
    let (start, end) = input.time_range()?;
    let end = end.unwrap_or(now);
    let start = start.unwrap_or(end - 86_400.0);
    if end - start > MAX_RANGE_SECS {
        return Err(ApiError::invalid_parameter("The time range may span at most 90 days."));
    }
    // Periods start on whole periods, as CloudWatch-style series do.
    let start_ms = (start as i64).div_euclid(period) * period * 1000;
    let end_ms = (end as i64 * 1000).max(start_ms + period * 1000);
    let skip = match input.str("NextToken")? {
        None => 0,
        Some(t) => decode_token(t)
            .and_then(|s| s.strip_prefix("metric:").and_then(|n| n.parse::<usize>().ok()))
            .ok_or_else(|| ApiError::invalid_parameter("The NextToken is not valid."))?,
    };
    let req = MetricRequest {
        account_id: call.account().to_string(),
        region: call.region.to_string(),
        event_source: event_source.to_string(),
        event_name: event_name.to_string(),
        insight_type,
        error_code: error_code.clone(),
        start_ms,
        end_ms,
        period_secs: period,
        fill_with_zeros,
    };
    let series = metric_data(&call.ready.log, &req)
        .await
        .map_err(|e| ApiError::from_log(&e))?;
    let taken = series.timestamps.len().saturating_sub(skip).min(max_results);
    let mut body = json!({
        "EventSource": event_source,
        "EventName": event_name,
        "InsightType": type_name,
        "Timestamps": &series.timestamps[skip.min(series.timestamps.len())..][..taken],
        "Values": &series.values[skip.min(series.values.len())..][..taken],
    });
    if let Some(code) = error_code {
        body["ErrorCode"] = json!(code);
    }
    if skip + taken < series.timestamps.len() {
        body["NextToken"] = json!(encode_token(&format!("metric:{}", skip + taken)));
    }
    Ok(Done::new(body))
}
