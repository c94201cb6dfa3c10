//! Log file integrity: the RSA keys that sign digest files (one key ring per region, rotated with
//! overlapping validity), digest files, and the validate-logs engine ([`validate`]). No network:
//! callers bring bytes (or a store that fetches them), this crate signs and checks them.
#![forbid(unsafe_code)]

pub mod digest;
pub mod keys;
pub mod validate;

pub use keys::{KeyError, KeyRing, PublicKeyInfo, SigningKey};
