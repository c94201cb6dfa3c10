//! CloudTrail's vocabulary as pure types: event records, lookup attributes and event times.
//! Nothing here does IO.
#![forbid(unsafe_code)]

pub mod account;
pub mod arn;
pub mod event;
pub mod history;
pub mod identity;
pub mod json;
pub mod lookup;
pub mod record;
pub mod region;
pub mod time;
pub mod trail;

pub use account::{AccountId, InvalidAccountId};
pub use arn::{Arn, ArnError};
pub use event::{
    Addendum, AttributionValue, CURRENT_EVENT_VERSION, CloudTrailEvent, InsightAttribution, InsightAverage,
    InsightContext, InsightDetails, InsightStatistics, Resource, TlsDetails,
};
pub use identity::{
    IdentityType, InScopeOf, InvokedByDelegate, OnBehalfOf, SessionAttributes, SessionContext, SessionIssuer,
    UserIdentity, WebIdFederationData,
};
pub use lookup::{LookupAttribute, LookupFilter};
pub use record::{EventRecord, MAX_BATCH_BYTES, MAX_RECORD_BYTES, RecordError, RecordIndex, ResourceRef};
pub use region::{InvalidRegion, Region};
pub use time::EventTime;
