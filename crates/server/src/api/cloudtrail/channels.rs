//! Channels of CloudTrail Lake integrations: CreateChannel, GetChannel, ListChannels,
//! UpdateChannel, DeleteChannel.
//!
//! Channels belong to one account and one region; no other account sees them. `Destinations` are
//! validated for shape and stored as given: Cairn keeps ingested events in its own event log, so
//! they route nothing (no event data store has to exist).

use std::sync::Arc;

use cairn_model::Resource;
use cairn_model::trail::Tag;
use serde_json::{Map, Value, json};

use super::input::{Input, decode_token, encode_token};
use super::{Call, Done};
use crate::api::error::ApiError;
use crate::channels::store::StoreError;
use crate::channels::{ChannelConfig, Destination, channel_arn, resolve_channel};

/// The operations this file serves.
pub const OPS: &[&str] = &[
    "CreateChannel",
    "GetChannel",
    "ListChannels",
    "UpdateChannel",
    "DeleteChannel",
];

/// Channels listed per ListChannels page when MaxResults is not given.
const DEFAULT_PAGE: usize = 1000;
const MAX_DESTINATIONS: usize = 200;
const MAX_TAGS: usize = 200;

impl From<StoreError<ApiError>> for ApiError {
    fn from(e: StoreError<ApiError>) -> Self {
        match e {
            StoreError::Rejected(e) => e,
            StoreError::AlreadyExists => {
                ApiError::client("ChannelAlreadyExistsException", "The channel already exists.")
            }
            StoreError::Catalog(e) => ApiError::from_log(&e),
        }
    }
}

pub async fn dispatch(call: &Call<'_>, input: &Map<String, Value>) -> Result<Done, ApiError> {
    let input = Input(input);
    match call.op {
        "CreateChannel" => create_channel(call, &input).await,
        "GetChannel" => get_channel(call, &input),
        "ListChannels" => list_channels(call, &input),
        "UpdateChannel" => update_channel(call, &input).await,
        "DeleteChannel" => delete_channel(call, &input).await,
        other => Err(ApiError::unsupported(other)),
    }
}

/// The `resources` entry of an event about a channel.
pub fn channel_resource(account: &str, arn: &str) -> Resource {
    Resource {
        account_id: Some(account.to_string()),
        kind: Some("AWS::CloudTrail::Channel".into()),
        arn: Some(arn.to_string()),
        ..Resource::default()
    }
}

fn done_with(call: &Call<'_>, arn: &str, body: Value) -> Done {
    Done {
        resource: Some(channel_resource(call.account(), arn)),
        ..Done::new(body)
    }
}

pub fn validate_name(name: &str) -> Result<(), ApiError> {
    let ok = (3..=128).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid_parameter(format!(
            "Channel name {name:?} is not valid: it must be 3 to 128 characters of letters, digits, '.', '_' and '-'."
        )))
    }
}

fn validate_source(source: &str) -> Result<(), ApiError> {
    if (1..=256).contains(&source.chars().count()) {
        Ok(())
    } else {
        Err(ApiError::client(
            "InvalidSourceException",
            "Source must be 1 to 256 characters (\"Custom\" or an integration partner's source).",
        ))
    }
}

pub fn validate_destinations(destinations: &[Destination]) -> Result<(), ApiError> {
    if destinations.is_empty() || destinations.len() > MAX_DESTINATIONS {
        return Err(ApiError::invalid_parameter(format!(
            "Destinations must list 1 to {MAX_DESTINATIONS} destinations."
        )));
    }
    for d in destinations {
        if d.kind != "EVENT_DATA_STORE" && d.kind != "AWS_SERVICE" {
            return Err(ApiError::invalid_parameter(format!(
                "Destination type {:?} is not valid: it must be EVENT_DATA_STORE or AWS_SERVICE.",
                d.kind
            )));
        }
        let ok = (3..=1024).contains(&d.location.len())
            && d.location
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'/' | b'-' | b':' | b'*'));
        if !ok {
            return Err(ApiError::invalid_parameter(format!(
                "Destination location {:?} is not valid: it must be 3 to 1024 characters of letters, digits and ._/-:*",
                d.location
            )));
        }
    }
    Ok(())
}

fn validate_tags(tags: &[Tag]) -> Result<(), ApiError> {
    if tags.len() > MAX_TAGS {
        return Err(ApiError::client(
            "TagsLimitExceededException",
            format!("A channel can have at most {MAX_TAGS} tags."),
        ));
    }
    for t in tags {
        let key_ok = (1..=128).contains(&t.key.chars().count());
        let value_ok = t.value.as_deref().is_none_or(|v| v.chars().count() <= 256);
        if !key_ok || !value_ok {
            return Err(ApiError::client(
                "InvalidTagParameterException",
                "Tag keys must be 1 to 128 characters and values at most 256 characters.",
            ));
        }
    }
    Ok(())
}

fn destinations(input: &Input<'_>) -> Result<Option<Vec<Destination>>, ApiError> {
    let d: Option<Vec<Destination>> = input.typed("Destinations", "InvalidParameterException")?;
    if let Some(d) = &d {
        validate_destinations(d)?;
    }
    Ok(d)
}

fn not_found(call: &Call<'_>, what: &str) -> ApiError {
    ApiError::client(
        "ChannelNotFoundException",
        format!(
            "Channel {what} not found in account {} and region {}.",
            call.account(),
            call.region
        ),
    )
}

/// The channel a `Channel` member names (an ARN or a channel id). Permission is checked first, on
/// the ARN, so a caller without it learns nothing else.
fn resolve(call: &Call<'_>, input: &Input<'_>) -> Result<Arc<ChannelConfig>, ApiError> {
    let given = input.required_str("Channel", "InvalidParameterException")?;
    let (arn, valid) = resolve_channel(given, call.region, call.account());
    call.authorize(&arn)?;
    if !valid {
        return Err(ApiError::client(
            "ChannelARNInvalidException",
            format!(
                "Invalid channel ARN or ID: {given}. A channel ARN looks like arn:aws:cloudtrail:us-east-1:123456789012:channel/01234567-89ab-cdef-0123-456789abcdef."
            ),
        ));
    }
    call.ready
        .channels
        .get(&arn)
        .filter(|c| c.account_id == call.account() && c.region == call.region)
        .ok_or_else(|| not_found(call, &arn))
}

fn channel_summary(c: &ChannelConfig) -> Value {
    json!({
        "ChannelArn": c.arn,
        "Name": c.name,
        "Source": c.source,
        "Destinations": c.destinations,
    })
}

async fn create_channel(call: &Call<'_>, input: &Input<'_>) -> Result<Done, ApiError> {
    let id = uuid::Uuid::new_v4().to_string();
    let arn = channel_arn(call.region, call.account(), &id);
    call.authorize(&arn)?;
    let name = input.required_str("Name", "InvalidParameterException")?;
    validate_name(name)?;
    let source = input
        .str("Source")?
        .ok_or_else(|| ApiError::client("InvalidSourceException", "Source is required."))?;
    validate_source(source)?;
    let destinations = destinations(input)?.ok_or_else(|| ApiError::invalid_parameter("Destinations is required."))?;
    let tags: Vec<Tag> = input.typed("Tags", "InvalidTagParameterException")?.unwrap_or_default();
    validate_tags(&tags)?;
    let channel = ChannelConfig {
        arn: arn.clone(),
        account_id: call.account().to_string(),
        region: call.region.to_string(),
        name: name.to_string(),
        source: source.to_string(),
        destinations,
        tags,
        created_ms: cairn_model::EventTime::now().millis(),
        ingestion: Default::default(),
    };
    let created = call
        .ready
        .channels
        .create(channel, |existing| {
            if existing.iter().any(|c| c.name == name) {
                return Err(ApiError::client(
                    "ChannelAlreadyExistsException",
                    format!("A channel named {name} already exists in this account and region."),
                ));
            }
            Ok(())
        })
        .await?;
    let mut body = channel_summary(&created);
    body["Tags"] = json!(created.tags);
    Ok(done_with(call, &arn, body))
}

fn secs(ms: i64) -> Value {
    json!(ms as f64 / 1000.0)
}

/// The GetChannel response of `c`.
pub fn channel_details(c: &ChannelConfig) -> Value {
    let mut body = channel_summary(c);
    body["SourceConfig"] = json!({"ApplyToAllRegions": false, "AdvancedEventSelectors": []});
    let s = &c.ingestion;
    let mut status = Map::new();
    if let Some(ms) = s.latest_success_ms {
        status.insert("LatestIngestionSuccessTime".into(), secs(ms));
    }
    if let Some(id) = &s.latest_success_event_id {
        status.insert("LatestIngestionSuccessEventID".into(), json!(id));
    }
    if let Some(code) = &s.latest_error_code {
        status.insert("LatestIngestionErrorCode".into(), json!(code));
    }
    if let Some(ms) = s.latest_attempt_ms {
        status.insert("LatestIngestionAttemptTime".into(), secs(ms));
    }
    if let Some(id) = &s.latest_attempt_event_id {
        status.insert("LatestIngestionAttemptEventID".into(), json!(id));
    }
    body["IngestionStatus"] = Value::Object(status);
    body
}

fn get_channel(call: &Call<'_>, input: &Input<'_>) -> Result<Done, ApiError> {
    let c = resolve(call, input)?;
    Ok(done_with(call, &c.arn, channel_details(&c)))
}

fn list_channels(call: &Call<'_>, input: &Input<'_>) -> Result<Done, ApiError> {
    call.authorize("*")?;
    let max = match input.0.get("MaxResults").filter(|v| !v.is_null()) {
        None => DEFAULT_PAGE,
        Some(v) => match v.as_u64() {
            Some(n @ 1..=1000) => n as usize,
            _ => {
                return Err(ApiError::invalid_parameter(
                    "MaxResults must be an integer from 1 to 1000.",
                ));
            }
        },
    };
    let invalid_token = || ApiError::client("InvalidNextTokenException", "The NextToken is not valid.");
    let after = match input.str("NextToken")? {
        None | Some("") => None,
        Some(tok) => Some(decode_token(tok).ok_or_else(invalid_token)?),
    };
    let channels: Vec<_> = call
        .ready
        .channels
        .of(call.account(), call.region)
        .into_iter()
        .filter(|c| after.as_deref().is_none_or(|a| c.arn.as_str() > a))
        .collect();
    let page: Vec<Value> = channels
        .iter()
        .take(max)
        .map(|c| json!({"ChannelArn": c.arn, "Name": c.name}))
        .collect();
    let mut body = json!({ "Channels": page });
    if channels.len() > max {
        body["NextToken"] = json!(encode_token(&channels[max - 1].arn));
    }
    Ok(Done::new(body))
}

async fn update_channel(call: &Call<'_>, input: &Input<'_>) -> Result<Done, ApiError> {
    let c = resolve(call, input)?;
    let name = input.str("Name")?;
    if let Some(n) = name {
        validate_name(n)?;
    }
    let destinations = destinations(input)?;
    let updated = call
        .ready
        .channels
        .update(&c.arn, |next, others| {
            if let Some(n) = name {
                if others.iter().any(|o| o.name == n) {
                    return Err(ApiError::client(
                        "ChannelAlreadyExistsException",
                        format!("A channel named {n} already exists in this account and region."),
                    ));
                }
                next.name = n.to_string();
            }
            if let Some(d) = destinations {
                next.destinations = d;
            }
            Ok(())
        })
        .await?
        .ok_or_else(|| not_found(call, &c.arn))?;
    Ok(done_with(call, &updated.arn, channel_summary(&updated)))
}

async fn delete_channel(call: &Call<'_>, input: &Input<'_>) -> Result<Done, ApiError> {
    let c = resolve(call, input)?;
    if !call
        .ready
        .channels
        .delete(&c.arn)
        .await
        .map_err(|e| ApiError::from_log(&e))?
    {
        return Err(not_found(call, &c.arn));
    }
    Ok(done_with(call, &c.arn, json!({})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_destinations() {
        assert!(validate_name("my-channel.1_x").is_ok());
        assert!(validate_name("ab").is_err());
        assert!(validate_name("has space").is_err());
        assert!(validate_name(&"a".repeat(129)).is_err());
        let d = |k: &str, l: &str| Destination {
            kind: k.into(),
            location: l.into(),
        };
        assert!(
            validate_destinations(&[d(
                "EVENT_DATA_STORE",
                "arn:aws:cloudtrail:us-east-1:111111111111:eventdatastore/x"
            )])
            .is_ok()
        );
        assert!(validate_destinations(&[]).is_err());
        assert!(validate_destinations(&[d("S3", "abc")]).is_err());
        assert!(validate_destinations(&[d("AWS_SERVICE", "a b c")]).is_err());
        assert!(validate_destinations(&vec![d("AWS_SERVICE", "abc"); 201]).is_err());
    }

    #[test]
    fn tokens_round_trip() {
        let arn = "arn:aws:cloudtrail:us-east-1:111111111111:channel/abc";
        assert_eq!(decode_token(&encode_token(arn)).as_deref(), Some(arn));
        assert_eq!(decode_token("zz"), None);
    }
}
