//! Trails: their configuration (kept in the catalog) and, later, the consumers that deliver
//! their log files.

pub mod delivery;
pub mod select;
pub mod store;
pub mod validate;

pub use store::TrailStore;
