//! The eight attributes that CloudTrail's event history can filter on (`LookupAttributes`).

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LookupAttribute {
    EventId,
    EventName,
    ReadOnly,
    Username,
    ResourceType,
    ResourceName,
    EventSource,
    AccessKeyId,
}

impl LookupAttribute {
    pub const ALL: [LookupAttribute; 8] = [
        LookupAttribute::EventId,
        LookupAttribute::EventName,
        LookupAttribute::ReadOnly,
        LookupAttribute::Username,
        LookupAttribute::ResourceType,
        LookupAttribute::ResourceName,
        LookupAttribute::EventSource,
        LookupAttribute::AccessKeyId,
    ];

    /// The `AttributeKey` spelling of the LookupEvents API.
    pub fn as_str(self) -> &'static str {
        match self {
            LookupAttribute::EventId => "EventId",
            LookupAttribute::EventName => "EventName",
            LookupAttribute::ReadOnly => "ReadOnly",
            LookupAttribute::Username => "Username",
            LookupAttribute::ResourceType => "ResourceType",
            LookupAttribute::ResourceName => "ResourceName",
            LookupAttribute::EventSource => "EventSource",
            LookupAttribute::AccessKeyId => "AccessKeyId",
        }
    }
}

impl fmt::Display for LookupAttribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "unknown lookup attribute {0:?}; expected one of EventId, EventName, ReadOnly, Username, ResourceType, ResourceName, EventSource, AccessKeyId"
)]
pub struct UnknownLookupAttribute(pub String);

impl FromStr for LookupAttribute {
    type Err = UnknownLookupAttribute;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        LookupAttribute::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| UnknownLookupAttribute(s.to_string()))
    }
}

/// One attribute filter of a lookup: the key and the exact value to match.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LookupFilter {
    pub attribute: LookupAttribute,
    pub value: String,
}

impl LookupFilter {
    pub fn new(attribute: LookupAttribute, value: impl Into<String>) -> Self {
        LookupFilter {
            attribute,
            value: value.into(),
        }
    }
}
