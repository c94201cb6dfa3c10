//! LookupEvents: the event history of the caller's account in the request's region, newest first,
//! management events (or, with `EventCategory=insight`, insight events), one attribute filter.

use cairn_log::ScanRequest;
use cairn_model::{EventTime, LookupAttribute, LookupFilter};
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
        prepare: Some(prepare),
        ..sel.scan_request(call, max as usize)
    };
    let page = call.ready.log.scan(&req).await.map_err(|e| ApiError::from_log(&e))?;
    let next_token = page.next.map(|next| call.ready.tokens.seal(next, &binding));
    let records: Vec<&cairn_model::EventRecord> = page.events.iter().map(|e| &e.record).collect();
    Ok(Done::raw(page_json(&records, next_token.as_deref())))
}

/// A LookupEvents answer: `{"Events":[...],"NextToken":...}`, written straight from the stored
/// records (entries fetched ahead of this page come ready-made, see [`prepare`]).
fn page_json(records: &[&cairn_model::EventRecord], next_token: Option<&str>) -> Vec<u8> {
    let size: usize = records.iter().map(|r| r.json().len() * 9 / 8 + 256).sum();
    let mut out = Vec::with_capacity(size + 512);
    out.extend_from_slice(br#"{"Events":["#);
    for (i, r) in records.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        r.write_history_entry(&mut out);
    }
    out.push(b']');
    if let Some(token) = next_token {
        out.extend_from_slice(br#","NextToken":"#);
        serde_json::to_writer(&mut out, token).expect("writing JSON into memory");
    }
    out.push(b'}');
    out
}

/// Renders the entries of records as the log fetches them, on the fetching core: for a client
/// that pages, while it reads one page the next pages' records are fetched and rendered.
fn prepare(record: &cairn_model::EventRecord) {
    record.prepare_history_entry();
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_model::history::Head;

    /// The hand-written answer is the JSON serde would write: records with quotes, backslashes,
    /// escapes, non-ASCII text and markup come back exactly as stored.
    #[test]
    fn answers_embed_records_exactly() {
        let records: Vec<cairn_model::EventRecord> = [
            r#"{"eventVersion":"1.08","eventTime":"2024-05-01T00:00:00Z","eventSource":"s3.amazonaws.com","eventName":"Get\"Object\\","awsRegion":"us-east-1","eventID":"a\"b","recipientAccountId":"111122223333","readOnly":true,"requestParameters":{"k":"line\nbreak\ttab \u0001 é ✓ </script>"},"resources":[{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::b/\"k\""}]}"#,
            r#"{"eventVersion":"1.08","eventTime":"2024-05-01T00:00:01Z","eventSource":"ec2.amazonaws.com","eventName":"RunInstances","awsRegion":"us-east-1","eventID":"plain","recipientAccountId":"111122223333","userIdentity":{"type":"IAMUser","userName":"ann","accessKeyId":"AKIAEXAMPLE"}}"#,
        ]
        .iter()
        .map(|j| cairn_model::EventRecord::from_json(j).unwrap())
        .collect();
        let refs: Vec<&cairn_model::EventRecord> = records.iter().collect();
        for token in [None, Some("tok\"en")] {
            let bytes = page_json(&refs, token);
            let got: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            let events = got["Events"].as_array().unwrap();
            assert_eq!(events.len(), 2);
            for (e, r) in events.iter().zip(&records) {
                assert_eq!(e["CloudTrailEvent"].as_str().unwrap(), r.json());
                let mut head = serde_json::to_value(Head::of(r)).unwrap();
                head["CloudTrailEvent"] = r.json().into();
                assert_eq!(e, &head);
            }
            assert_eq!(got.get("NextToken").and_then(|t| t.as_str()), token);
        }
        assert_eq!(page_json(&[], None), br#"{"Events":[]}"#);
    }
}
