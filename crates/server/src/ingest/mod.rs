//! Ingest: events arriving from outside Cairn's own API: imports of CloudTrail log files, and the
//! same records pushed online by trusted forwarders.

pub mod import;
pub mod online;
pub mod source;
