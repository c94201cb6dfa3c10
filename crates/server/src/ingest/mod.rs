//! Ingest: events arriving from outside Cairn's own API. Today: imports of CloudTrail log files.

pub mod import;
pub mod source;
