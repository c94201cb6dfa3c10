//! The Parquet layout of a segment: one column per lookup attribute plus the record itself.
//! Column names are CloudTrail's attribute names in snake case so SQL over segments reads well.

use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use cairn_model::LookupAttribute;

pub const SEQ: &str = "seq";
pub const EVENT_TIME: &str = "event_time";
pub const ACCOUNT_ID: &str = "account_id";
pub const REGION: &str = "region";
/// 64-bit hash of the event id ([`event_id_hash`]): a lookup by event id tests this column's bloom
/// filter and values, then checks the record itself. A full id column would cost about 19 bytes
/// a row after compression (random UUIDs do not compress); the hash costs 8.
pub const EVENT_ID_HASH: &str = "event_id_hash";
pub const EVENT_NAME: &str = "event_name";
pub const EVENT_SOURCE: &str = "event_source";
pub const USERNAME: &str = "username";
pub const ACCESS_KEY_ID: &str = "access_key_id";
pub const READ_ONLY: &str = "read_only";
pub const EVENT_CATEGORY: &str = "event_category";
pub const EVENT_TYPE: &str = "event_type";
pub const RESOURCE_TYPES: &str = "resource_types";
pub const RESOURCE_NAMES: &str = "resource_names";
/// Format 1: the record JSON, one per row, in large zstd pages.
pub const RECORD: &str = "record";
/// Format 2: blocks of records ([`super::blocks`]); a block is stored in the row of its first
/// record, the other rows of the block are null.
pub const RECORD_BLOCK: &str = "record_block";

/// Bumped when the derivation of the lookup columns from a record changes; compaction rewrites
/// older segments.
pub const INDEX_VERSION: u32 = 1;
pub const FORMAT_KEY: &str = "cairn.segment.format";
/// The format new segments are written in. Format 1 segments stay readable.
pub const FORMAT: u32 = 2;
/// Format 2: records per block, and the base64 of the zstd dictionary the blocks were
/// compressed with (absent when they were compressed without one).
pub const BLOCK_RECORDS_KEY: &str = "cairn.segment.block_records";
pub const DICTIONARY_KEY: &str = "cairn.segment.record_dictionary";
pub const INDEX_VERSION_KEY: &str = "cairn.segment.index_version";

fn list_of_strings() -> DataType {
    DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)))
}

pub fn schema() -> SchemaRef {
    static SCHEMA: std::sync::LazyLock<SchemaRef> = std::sync::LazyLock::new(build);
    SCHEMA.clone()
}

fn build() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new(SEQ, DataType::UInt64, false),
        Field::new(
            EVENT_TIME,
            DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
            false,
        ),
        Field::new(ACCOUNT_ID, DataType::Utf8, false),
        Field::new(REGION, DataType::Utf8, false),
        Field::new(EVENT_ID_HASH, DataType::UInt64, false),
        Field::new(EVENT_NAME, DataType::Utf8, true),
        Field::new(EVENT_SOURCE, DataType::Utf8, true),
        Field::new(USERNAME, DataType::Utf8, true),
        Field::new(ACCESS_KEY_ID, DataType::Utf8, true),
        Field::new(READ_ONLY, DataType::Boolean, true),
        Field::new(EVENT_CATEGORY, DataType::Utf8, false),
        Field::new(EVENT_TYPE, DataType::Utf8, true),
        Field::new(RESOURCE_TYPES, list_of_strings(), true),
        Field::new(RESOURCE_NAMES, list_of_strings(), true),
        Field::new(RECORD_BLOCK, DataType::Binary, true),
    ]))
}

/// Index of a top-level column in [`schema`].
pub fn column_index(name: &str) -> usize {
    schema().index_of(name).expect("known column")
}

/// The column a lookup attribute filters on.
pub fn attribute_column(attr: LookupAttribute) -> &'static str {
    match attr {
        LookupAttribute::EventId => EVENT_ID_HASH,
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
    &[EVENT_ID_HASH],
    &[EVENT_NAME],
    &[EVENT_SOURCE],
    &[USERNAME],
    &[ACCESS_KEY_ID],
    &[RESOURCE_TYPES, "list", "item"],
    &[RESOURCE_NAMES, "list", "item"],
];

/// FNV-1a, 64 bits: stable across platforms and releases (segments outlive binaries), which the
/// standard library's hasher does not promise.
pub fn event_id_hash(id: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    #[test]
    fn event_id_hash_is_stable() {
        // Fixed values: changing the hash would make every stored segment unreadable by id.
        assert_eq!(super::event_id_hash(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(super::event_id_hash("a"), 0xaf63_dc4c_8601_ec8c);
        assert_ne!(
            super::event_id_hash("293ba626-3be5-4a26-ab1b-0f4c54f49959"),
            super::event_id_hash("293ba626-3be5-4a26-ab1b-0f4c54f49958")
        );
    }
}
