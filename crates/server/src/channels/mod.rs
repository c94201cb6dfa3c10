//! Channels: the ingestion points of CloudTrail Lake integrations (`PutAuditEvents`). A channel's
//! configuration is a catalog document; its ingestion status travels with it.
//!
//! CloudTrail sends a channel's events to event data stores (its `Destinations`). Cairn keeps every
//! event in its own event log, so destinations are stored and returned as given, but do not route
//! anything.

pub mod store;

pub use store::{ChannelConfig, ChannelStore, Destination, IngestionStatus};

/// `arn:aws:cloudtrail:<region>:<account>:channel/<id>`.
pub fn channel_arn(region: &str, account: &str, id: &str) -> String {
    format!("arn:aws:cloudtrail:{region}:{account}:channel/{id}")
}

/// The parts (region, account, id) of a channel ARN; None when it is not one.
pub fn parse_channel_arn(arn: &str) -> Option<(&str, &str, &str)> {
    let rest = arn.strip_prefix("arn:aws:cloudtrail:")?;
    let (region, rest) = rest.split_once(':')?;
    let (account, rest) = rest.split_once(':')?;
    let id = rest.strip_prefix("channel/")?;
    let ok = cairn_model::Region::is_valid(region)
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && is_channel_id(id);
    ok.then_some((region, account, id))
}

/// A channel id: what Cairn mints is a UUID; CloudTrail documents "ARN or ID" without a pattern,
/// so any 1..128 letters, digits and `-_` are accepted.
pub fn is_channel_id(id: &str) -> bool {
    (1..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The ARN a request's channel ARN-or-id names (an id is in the caller's account and region), and
/// whether it is well formed. Callers authorize on the ARN before reporting a malformed one.
pub fn resolve_channel(given: &str, region: &str, account: &str) -> (String, bool) {
    if given.starts_with("arn:") {
        (given.to_string(), parse_channel_arn(given).is_some())
    } else {
        (channel_arn(region, account, given), is_channel_id(given))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns() {
        let arn = channel_arn("us-east-1", "111111111111", "0b3c5d1e-aaaa-bbbb-cccc-123456789012");
        assert_eq!(
            parse_channel_arn(&arn),
            Some(("us-east-1", "111111111111", "0b3c5d1e-aaaa-bbbb-cccc-123456789012"))
        );
        assert_eq!(
            parse_channel_arn("arn:aws:cloudtrail:us-east-1:111111111111:trail/x"),
            None
        );
        assert_eq!(parse_channel_arn("arn:aws:cloudtrail:us-east-1:1111:channel/x"), None);
        assert_eq!(
            parse_channel_arn("arn:aws:cloudtrail:Not_A_Region:111111111111:channel/x"),
            None
        );
        assert_eq!(
            parse_channel_arn("arn:aws:cloudtrail:us-east-1:111111111111:channel/"),
            None
        );
        assert_eq!(
            parse_channel_arn("arn:aws:cloudtrail:us-east-1:111111111111:channel/a/b"),
            None
        );
    }
}
