//! [`Region`]: an AWS region name such as `us-east-1`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a text is not a region name.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[error("invalid region {0:?}: expected 1 to 64 characters of a-z, 0-9 and '-', starting with a letter")]
pub struct InvalidRegion(pub String);

/// A region name. Validated loosely (1 to 64 characters of `[a-z0-9-]`, starting with a letter) so
/// that new, private and pseudonymised regions (`apiso-centralnorth-2r`) are accepted.
/// Serialised as a JSON string; deserialising validates.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Region(String);

impl Region {
    pub const MAX_LEN: usize = 64;

    /// Validates and wraps a region name.
    pub fn new(name: impl Into<String>) -> Result<Self, InvalidRegion> {
        let name = name.into();
        if Self::is_valid(&name) {
            Ok(Region(name))
        } else {
            Err(InvalidRegion(name))
        }
    }

    /// True when `s` is an acceptable region name.
    pub fn is_valid(s: &str) -> bool {
        let b = s.as_bytes();
        !b.is_empty()
            && b.len() <= Self::MAX_LEN
            && b[0].is_ascii_lowercase()
            && b.iter()
                .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
    }

    /// `us-east-1`, where CloudTrail records calls to global services (IAM, STS, CloudFront).
    pub fn us_east_1() -> Self {
        Region("us-east-1".to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Region {
    type Err = InvalidRegion;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Region::new(s)
    }
}

impl TryFrom<String> for Region {
    type Error = InvalidRegion;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Region::new(s)
    }
}

impl TryFrom<&str> for Region {
    type Error = InvalidRegion;

    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Region::new(s)
    }
}

impl AsRef<str> for Region {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl From<Region> for String {
    fn from(r: Region) -> String {
        r.0
    }
}

impl PartialEq<str> for Region {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for Region {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl Serialize for Region {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Region {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Region::new(s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_real_and_pseudonymised_regions() {
        for ok in [
            "us-east-1",
            "eu-central-2",
            "us-gov-west-1",
            "cn-north-1",
            "apiso-centralnorth-2r",
            "a",
            "local",
        ] {
            let r: Region = ok.parse().unwrap();
            assert_eq!(r.to_string(), ok);
        }
        assert!(Region::new("a".repeat(64)).is_ok());
        assert_eq!(Region::us_east_1(), "us-east-1");
    }

    #[test]
    fn rejects_bad_names() {
        for bad in [
            "",
            "US-EAST-1",
            "1us-east",
            "-us",
            "us_east_1",
            "us east 1",
            "us-east-1\n",
            "é",
        ] {
            assert_eq!(bad.parse::<Region>(), Err(InvalidRegion(bad.to_string())), "{bad:?}");
        }
        assert!(Region::new("a".repeat(65)).is_err());
    }

    #[test]
    fn serde_is_a_validated_string() {
        let r = Region::new("eu-west-3").unwrap();
        assert_eq!(serde_json::to_string(&r).unwrap(), r#""eu-west-3""#);
        assert_eq!(serde_json::from_str::<Region>(r#""eu-west-3""#).unwrap(), r);
        assert!(serde_json::from_str::<Region>(r#""EU""#).is_err());
    }
}
