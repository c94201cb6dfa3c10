//! [`AccountId`]: a 12-digit AWS account id.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a text is not an account id.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[error("invalid account id {0:?}: expected exactly 12 digits")]
pub struct InvalidAccountId(pub String);

/// An AWS account id: exactly 12 ASCII digits, leading zeros kept (`"012345678901"`).
/// Serialised as a JSON string; deserialising validates.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId(String);

impl AccountId {
    pub const LEN: usize = 12;

    /// Validates and wraps an account id.
    pub fn new(id: impl Into<String>) -> Result<Self, InvalidAccountId> {
        let id = id.into();
        if Self::is_valid(&id) {
            Ok(AccountId(id))
        } else {
            Err(InvalidAccountId(id))
        }
    }

    /// True when `s` is exactly 12 ASCII digits.
    pub fn is_valid(s: &str) -> bool {
        s.len() == Self::LEN && s.bytes().all(|b| b.is_ascii_digit())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for AccountId {
    type Err = InvalidAccountId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AccountId::new(s)
    }
}

impl TryFrom<String> for AccountId {
    type Error = InvalidAccountId;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        AccountId::new(s)
    }
}

impl TryFrom<&str> for AccountId {
    type Error = InvalidAccountId;

    fn try_from(s: &str) -> Result<Self, Self::Error> {
        AccountId::new(s)
    }
}

impl AsRef<str> for AccountId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl From<AccountId> for String {
    fn from(id: AccountId) -> String {
        id.0
    }
}

impl PartialEq<str> for AccountId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for AccountId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl Serialize for AccountId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for AccountId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        AccountId::new(s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_twelve_digits() {
        let id: AccountId = "012345678901".parse().unwrap();
        assert_eq!(id.as_str(), "012345678901");
        assert_eq!(id.to_string(), "012345678901");
        assert_eq!(id, "012345678901");
    }

    #[test]
    fn rejects_everything_else() {
        for bad in [
            "",
            "12345678901",
            "1234567890123",
            "12345678901a",
            "１２３４５６７８９０１２",
            " 123456789012",
            "-12345678901",
        ] {
            assert_eq!(
                bad.parse::<AccountId>(),
                Err(InvalidAccountId(bad.to_string())),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn serde_is_a_validated_string() {
        let id = AccountId::new("123456789012").unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), r#""123456789012""#);
        assert_eq!(serde_json::from_str::<AccountId>(r#""123456789012""#).unwrap(), id);
        assert!(serde_json::from_str::<AccountId>(r#""12345""#).is_err());
        assert!(serde_json::from_str::<AccountId>("123456789012").is_err());
    }
}
