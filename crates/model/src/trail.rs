//! Trails and their selectors, in the shapes of CloudTrail's API (`PascalCase` members), so they
//! pass between the API and storage unchanged.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReadWriteType {
    ReadOnly,
    WriteOnly,
    All,
}

/// A basic event selector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct EventSelector {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_write_type: Option<ReadWriteType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub include_management_events: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_resources: Option<Vec<DataResource>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exclude_management_event_sources: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct DataResource {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub r#type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct AdvancedEventSelector {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub field_selectors: Vec<AdvancedFieldSelector>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct AdvancedFieldSelector {
    pub field: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub equals: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub starts_with: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ends_with: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_equals: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_starts_with: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_ends_with: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct InsightSelector {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub insight_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_categories: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// Whether a trail is logging, since when (milliseconds since the epoch), and which stretches of
/// the event log (by sequence number) fall in its logging periods.
///
/// Periods are kept as log positions rather than times because delivery must be exact: an event
/// acknowledged before StopLogging returned is delivered, one acknowledged after it is not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct LoggingState {
    pub is_logging: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_logging_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_logging_ms: Option<i64>,
    /// Ranges `(after, through]` of sequence numbers outside every logging period: before the
    /// first StartLogging and between each StopLogging and the next StartLogging. Sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_logged: Vec<(u64, u64)>,
    /// While stopped: the last sequence number of the last logging period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_after_seq: Option<u64>,
}

impl LoggingState {
    /// Starts a logging period after log position `durable` (no-op when logging).
    pub fn start(&mut self, now_ms: i64, durable: u64) {
        if self.is_logging {
            return;
        }
        // Pushed even when empty: a non-empty list is how a consumer knows where logging began.
        let gap_from = self.stopped_after_seq.take().unwrap_or(0);
        self.not_logged.push((gap_from, durable.max(gap_from)));
        self.is_logging = true;
        self.start_logging_ms = Some(now_ms);
    }

    /// Ends the logging period at log position `durable` (no-op when stopped).
    pub fn stop(&mut self, now_ms: i64, durable: u64) {
        if !self.is_logging {
            return;
        }
        self.is_logging = false;
        self.stop_logging_ms = Some(now_ms);
        self.stopped_after_seq = Some(durable);
    }

    /// The last position a logging period covers: None while logging (open-ended).
    pub fn logged_through(&self) -> Option<u64> {
        if self.is_logging {
            None
        } else {
            Some(self.stopped_after_seq.unwrap_or(0))
        }
    }

    /// The first position at or after `position` from which events are logged again: `position`
    /// itself unless it lies in a gap between logging periods.
    pub fn skip_gap(&self, position: u64) -> u64 {
        let mut p = position;
        for &(after, through) in &self.not_logged {
            if p >= after && p < through {
                p = through;
            }
        }
        p
    }

    /// Whether the event at `seq` falls in a logging period.
    pub fn logs(&self, seq: u64) -> bool {
        self.logged_through().is_none_or(|t| seq <= t)
            && !self
                .not_logged
                .iter()
                .any(|&(after, through)| seq > after && seq <= through)
    }
}

/// A trail as Cairn stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrailConfig {
    pub name: String,
    pub account_id: String,
    pub home_region: String,
    pub s3_bucket_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_key_prefix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sns_topic_name: Option<String>,
    pub include_global_service_events: bool,
    pub is_multi_region_trail: bool,
    pub log_file_validation_enabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud_watch_logs_log_group_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud_watch_logs_role_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    pub is_organization_trail: bool,
    /// None: never set (the default: all management events).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_selectors: Option<Vec<EventSelector>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advanced_event_selectors: Option<Vec<AdvancedEventSelector>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub insight_selectors: Vec<InsightSelector>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
    #[serde(default)]
    pub logging: LoggingState,
    pub created_ms: i64,
}

impl TrailConfig {
    /// A trail with CreateTrail's defaults: single-region, global service events included, no
    /// validation, no custom selectors, not logging.
    pub fn new(name: &str, account_id: &str, home_region: &str, s3_bucket_name: &str, created_ms: i64) -> Self {
        TrailConfig {
            name: name.to_string(),
            account_id: account_id.to_string(),
            home_region: home_region.to_string(),
            s3_bucket_name: s3_bucket_name.to_string(),
            s3_key_prefix: None,
            sns_topic_name: None,
            include_global_service_events: true,
            is_multi_region_trail: false,
            log_file_validation_enabled: false,
            cloud_watch_logs_log_group_arn: None,
            cloud_watch_logs_role_arn: None,
            kms_key_id: None,
            is_organization_trail: false,
            event_selectors: None,
            advanced_event_selectors: None,
            insight_selectors: Vec::new(),
            tags: Vec::new(),
            logging: LoggingState::default(),
            created_ms,
        }
    }

    /// `arn:aws:cloudtrail:<home region>:<account>:trail/<name>`.
    pub fn arn(&self) -> String {
        trail_arn(&self.home_region, &self.account_id, &self.name)
    }

    /// True when selectors were set by the user (CloudTrail's `HasCustomEventSelectors`).
    pub fn has_custom_event_selectors(&self) -> bool {
        self.event_selectors.is_some() || self.advanced_event_selectors.is_some()
    }
}

pub fn trail_arn(region: &str, account: &str, name: &str) -> String {
    format!("arn:aws:cloudtrail:{region}:{account}:trail/{name}")
}

/// Splits a trail ARN into (region, account, name).
pub fn parse_trail_arn(arn: &str) -> Option<(&str, &str, &str)> {
    let rest = arn.strip_prefix("arn:aws:cloudtrail:")?;
    let (region, rest) = rest.split_once(':')?;
    let (account, rest) = rest.split_once(':')?;
    let name = rest.strip_prefix("trail/")?;
    (!region.is_empty() && !account.is_empty() && !name.is_empty()).then_some((region, account, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logging_periods_follow_start_and_stop() {
        let mut l = LoggingState::default();
        assert!(!l.logs(1), "a trail that never started logs nothing");
        l.start(1, 10);
        assert!(!l.logs(10) && l.logs(11) && l.logs(1000));
        assert_eq!(l.skip_gap(3), 10);
        l.stop(2, 20);
        assert!(l.logs(20) && !l.logs(21));
        assert_eq!(l.logged_through(), Some(20));
        l.stop(3, 25);
        assert_eq!(l.stopped_after_seq, Some(20), "stopping twice keeps the first stop");
        l.start(4, 30);
        assert!(l.logs(15) && !l.logs(25) && !l.logs(30) && l.logs(31));
        assert_eq!(l.skip_gap(20), 30);
        assert_eq!(l.skip_gap(19), 19);
        assert_eq!(l.not_logged, vec![(0, 10), (20, 30)]);
    }

    #[test]
    fn arns_round_trip_and_selectors_use_api_names() {
        assert_eq!(
            parse_trail_arn("arn:aws:cloudtrail:eu-west-1:111122223333:trail/main"),
            Some(("eu-west-1", "111122223333", "main"))
        );
        assert_eq!(parse_trail_arn("arn:aws:s3:::bucket"), None);
        assert_eq!(
            parse_trail_arn("arn:aws:cloudtrail:eu-west-1:111122223333:trail/"),
            None
        );
        let s: EventSelector = serde_json::from_str(
            r#"{"ReadWriteType":"WriteOnly","IncludeManagementEvents":true,"DataResources":[{"Type":"AWS::S3::Object","Values":["arn:aws:s3"]}]}"#,
        )
        .unwrap();
        assert_eq!(s.read_write_type, Some(ReadWriteType::WriteOnly));
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            r#"{"ReadWriteType":"WriteOnly","IncludeManagementEvents":true,"DataResources":[{"Type":"AWS::S3::Object","Values":["arn:aws:s3"]}]}"#
        );
    }
}
