//! Who is calling: SigV4 verification, identities from the configuration, IAM-style policies.

pub mod identity;
pub mod policy;
pub mod sigv4;
