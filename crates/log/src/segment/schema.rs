//! The Parquet layout of a segment: one column per lookup attribute plus the record itself.
//! Column names are CloudTrail's attribute names in snake case so SQL over segments reads well.

use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use cairn_model::LookupAttribute;

pub const SEQ: &str = "seq";
pub const EVENT_TIME: &str = "event_time";
pub const ACCOUNT_ID: &str = "account_id";
pub const REGION: &str = "region";
pub const EVENT_ID: &str = "event_id";
pub const EVENT_NAME: &str = "event_name";
pub const EVENT_SOURCE: &str = "event_source";
pub const USERNAME: &str = "username";
pub const ACCESS_KEY_ID: &str = "access_key_id";
pub const READ_ONLY: &str = "read_only";
pub const EVENT_CATEGORY: &str = "event_category";
pub const EVENT_TYPE: &str = "event_type";
pub const RESOURCE_TYPES: &str = "resource_types";
pub const RESOURCE_NAMES: &str = "resource_names";
pub const RECORD: &str = "record";

/// Bumped when the derivation of the lookup columns from a record changes; compaction rewrites
/// older segments.
pub const INDEX_VERSION: u32 = 1;
pub const FORMAT_KEY: &str = "cairn.segment.format";
pub const INDEX_VERSION_KEY: &str = "cairn.segment.index_version";

fn list_of_strings() -> DataType {
    DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)))
}

pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new(SEQ, DataType::UInt64, false),
        Field::new(
            EVENT_TIME,
            DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
            false,
        ),
        Field::new(ACCOUNT_ID, DataType::Utf8, false),
        Field::new(REGION, DataType::Utf8, false),
        Field::new(EVENT_ID, DataType::Utf8, false),
        Field::new(EVENT_NAME, DataType::Utf8, true),
        Field::new(EVENT_SOURCE, DataType::Utf8, true),
        Field::new(USERNAME, DataType::Utf8, true),
        Field::new(ACCESS_KEY_ID, DataType::Utf8, true),
        Field::new(READ_ONLY, DataType::Boolean, true),
        Field::new(EVENT_CATEGORY, DataType::Utf8, false),
        Field::new(EVENT_TYPE, DataType::Utf8, true),
        Field::new(RESOURCE_TYPES, list_of_strings(), true),
        Field::new(RESOURCE_NAMES, list_of_strings(), true),
        Field::new(RECORD, DataType::Utf8, false),
    ]))
}

/// Index of a top-level column in [`schema`].
pub fn column_index(name: &str) -> usize {
    schema().index_of(name).expect("known column")
}

/// The column a lookup attribute filters on.
pub fn attribute_column(attr: LookupAttribute) -> &'static str {
    match attr {
        LookupAttribute::EventId => EVENT_ID,
        LookupAttribute::EventName => EVENT_NAME,
        LookupAttribute::ReadOnly => READ_ONLY,
        LookupAttribute::Username => USERNAME,
        LookupAttribute::ResourceType => RESOURCE_TYPES,
        LookupAttribute::ResourceName => RESOURCE_NAMES,
        LookupAttribute::EventSource => EVENT_SOURCE,
        LookupAttribute::AccessKeyId => ACCESS_KEY_ID,
    }
}

/// Columns with bloom filters (the Parquet leaf paths).
pub const BLOOM_COLUMNS: [&[&str]; 7] = [
    &[EVENT_ID],
    &[EVENT_NAME],
    &[EVENT_SOURCE],
    &[USERNAME],
    &[ACCESS_KEY_ID],
    &[RESOURCE_TYPES, "list", "item"],
    &[RESOURCE_NAMES, "list", "item"],
];
