//! LookupEvents: the event history of the caller's account in the request's region, newest first,
//! management events (or, with `EventCategory=insight`, insight events), one attribute filter.

use cairn_log::ScanRequest;
use cairn_model::{EventTime, LookupAttribute, LookupFilter};
use serde::Serialize;
use serde_json::Value;

use super::input::Input;
use super::{Call, Done};
use crate::api::error::ApiError;

/// CloudTrail's default and largest page.
const MAX_RESULTS: u64 = 50;

fn attributes(input: &Input<'_>) -> Result<Option<LookupFilter>, ApiError> {
    let invalid = |m: &str| ApiError::client("InvalidLookupAttributesException", m);
    let Some(list) = input.0.get("LookupAttributes").filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let list = list
        .as_array()
        .ok_or_else(|| invalid("LookupAttributes must be a list."))?;
    match list.as_slice() {
        [] => Ok(None),
        [one] => {
            let key = one.get("AttributeKey").and_then(Value::as_str).unwrap_or_default();
            let value = one.get("AttributeValue").and_then(Value::as_str).unwrap_or_default();
            let attribute: LookupAttribute = key.parse().map_err(|_| {
                invalid(&format!(
                    "{key:?} is not a lookup attribute; use EventId, EventName, ReadOnly, Username, ResourceType, ResourceName, EventSource or AccessKeyId."
                ))
            })?;
            if value.is_empty() || value.chars().count() > 2000 {
                return Err(invalid("AttributeValue must be 1 to 2000 characters."));
            }
            Ok(Some(LookupFilter::new(attribute, value)))
        }
        _ => Err(invalid("You cannot specify more than one lookup attribute.")),
    }
}

/// Epoch seconds to milliseconds: a start rounds up and an end down, so both stay inclusive.
fn millis(secs: f64, round_up: bool) -> i64 {
    let ms = secs * 1000.0;
    (if round_up { ms.ceil() } else { ms.floor() }) as i64
}

/// What a read of the event history selects: one attribute filter, an inclusive time range and
/// the category. Parsed and checked here for LookupEvents and exports alike, so both accept and
/// refuse the same input with the same errors.
#[derive(Debug, Clone)]
pub struct Selection {
    pub filter: Option<LookupFilter>,
    pub start: EventTime,
    pub end: EventTime,
    pub insight: bool,
}

impl Selection {
    /// `LookupAttributes`, `StartTime`, `EndTime` and `EventCategory` of `input`.
    pub fn parse(input: &Input<'_>) -> Result<Selection, ApiError> {
        let filter = attributes(input)?;
        let (start, end) = input.time_range()?;
        let insight = match input.str("EventCategory")? {
            None => false,
            Some("insight") => true,
            Some(other) => {
                return Err(ApiError::client(
                    "InvalidEventCategoryException",
                    format!("EventCategory {other:?} is not valid; the only value is insight."),
                ));
            }
        };
        Ok(Selection {
            filter,
            start: start.map_or(EventTime::MIN, |s| EventTime::from_millis(millis(s, true))),
            end: end.map_or(EventTime::MAX, |e| EventTime::from_millis(millis(e, false))),
            insight,
        })
    }

    /// A scan of the caller's history (account and region of the call) for this selection.
    pub fn scan_request(&self, call: &Call<'_>, limit: usize) -> ScanRequest {
        ScanRequest {
            start: self.start,
            end: self.end,
            filter: self.filter.clone(),
            categories: Some(vec![if self.insight { "Insight" } else { "Management" }.to_string()]),
            limit,
            ..ScanRequest::new(call.account(), call.region)
        }
    }
}

pub async fn lookup_events(call: &Call<'_>, input: &Input<'_>) -> Result<Done, ApiError> {
    call.authorize("*")?;
    if !call.state.admit_lookup(call.account(), call.region) {
        return Err(ApiError::client("ThrottlingException", "Rate exceeded"));
    }
    let sel = Selection::parse(input)?;
    let max = match input.0.get("MaxResults").filter(|v| !v.is_null()) {
        None => MAX_RESULTS,
        Some(v) => match v.as_u64() {
            Some(n @ 1..=MAX_RESULTS) => n,
            _ => {
                return Err(ApiError::client(
                    "InvalidMaxResultsException",
                    format!("MaxResults must be from 1 to {MAX_RESULTS}, not {v}."),
                ));
            }
        },
    };

    // A token binds everything that shapes the result, the caller's account and region included.
    let binding = format!(
        "{}\n{}\n{:?}\n{}\n{}\n{}",
        call.account(),
        call.region,
        sel.filter.as_ref().map(|f| (f.attribute.as_str(), f.value.as_str())),
        sel.start.millis(),
        sel.end.millis(),
        sel.insight
    );
    let after = match input.str("NextToken")? {
        None | Some("") => None,
        Some(token) => Some(call.ready.tokens.open_token(token, &binding).ok_or_else(|| {
            ApiError::client(
                "InvalidNextTokenException",
                "The NextToken is not valid, or was issued for other parameters.",
            )
        })?),
    };
    let req = ScanRequest {
        after,
        ..sel.scan_request(call, max as usize)
    };
    let page = call.ready.log.scan(&req).await.map_err(|e| ApiError::from_log(&e))?;
    // Serialised straight from the stored records: no copy of each record into a `Value`.
    let answer = Page {
        events: page.events.iter().map(|e| HistoryEvent::of(&e.record)).collect(),
        next_token: page.next.map(|next| call.ready.tokens.seal(next, &binding)),
    };
    Ok(Done::raw(serde_json::to_vec(&answer).map_err(ApiError::internal)?))
}

/// A LookupEvents answer.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Page<'a> {
    events: Vec<HistoryEvent<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

/// One entry of `Events`, borrowed from the stored record.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct HistoryEvent<'a> {
    event_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    event_name: Option<&'a str>,
    /// A string, as CloudTrail's event history shows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    read_only: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    access_key_id: Option<&'a str>,
    /// Epoch seconds.
    event_time: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    event_source: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<&'a str>,
    resources: Vec<HistoryResource<'a>>,
    cloud_trail_event: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct HistoryResource<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_name: Option<&'a str>,
}

impl<'a> HistoryEvent<'a> {
    fn of(r: &'a cairn_model::EventRecord) -> Self {
        let ix = r.index();
        HistoryEvent {
            event_id: &ix.event_id,
            event_name: ix.event_name.as_deref(),
            read_only: ix.read_only.map(|ro| if ro { "true" } else { "false" }),
            access_key_id: ix.access_key_id.as_deref(),
            event_time: ix.event_time.millis() as f64 / 1000.0,
            event_source: ix.event_source.as_deref(),
            username: ix.username.as_deref(),
            resources: ix
                .resources
                .iter()
                .map(|res| HistoryResource {
                    resource_type: res.resource_type.as_deref(),
                    resource_name: res.name.as_deref(),
                })
                .collect(),
            cloud_trail_event: r.json(),
        }
    }
}
