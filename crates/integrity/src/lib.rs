//! Log file integrity: the RSA keys that sign digest files (one key ring per region, rotated with
//! overlapping validity) and, next, digest files and the validate-logs engine. No network: callers
//! bring bytes, this crate signs and checks them.
#![forbid(unsafe_code)]

pub mod digest;
pub mod keys;

pub use keys::{KeyError, KeyRing, PublicKeyInfo, SigningKey};
