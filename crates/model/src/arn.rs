//! [`Arn`]: Amazon Resource Names, `arn:<partition>:<service>:<region>:<account-id>:<resource>`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::account::AccountId;
use crate::region::Region;

/// Why a text is not an ARN.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ArnError {
    #[error("invalid ARN {0:?}: it must start with \"arn:\"")]
    MissingPrefix(String),
    #[error("invalid ARN {0:?}: expected arn:partition:service:region:account-id:resource")]
    MissingParts(String),
    #[error("invalid ARN {0:?}: the partition is empty")]
    EmptyPartition(String),
    #[error("invalid ARN {0:?}: the service is empty")]
    EmptyService(String),
    #[error("invalid ARN {0:?}: the resource is empty")]
    EmptyResource(String),
}

/// An ARN split into its parts. `region` and `account_id` may be empty (`arn:aws:s3:::bucket`,
/// `arn:aws:iam::123456789012:root`); the resource keeps every remaining ':' and '/', so
/// `Display` gives back exactly the text that was parsed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Arn {
    pub partition: String,
    pub service: String,
    pub region: String,
    pub account_id: String,
    pub resource: String,
}

impl Arn {
    /// The partition Cairn uses for the ARNs it makes.
    pub const PARTITION: &'static str = "aws";

    pub fn new(
        partition: impl Into<String>,
        service: impl Into<String>,
        region: impl Into<String>,
        account_id: impl Into<String>,
        resource: impl Into<String>,
    ) -> Self {
        Arn {
            partition: partition.into(),
            service: service.into(),
            region: region.into(),
            account_id: account_id.into(),
            resource: resource.into(),
        }
    }

    /// `arn:aws:cloudtrail:<region>:<account>:trail/<name>`
    pub fn trail(region: &Region, account: &AccountId, name: &str) -> Self {
        Arn::new(
            Self::PARTITION,
            "cloudtrail",
            region.as_str(),
            account.as_str(),
            format!("trail/{name}"),
        )
    }

    /// `arn:aws:iam::<account>:user/<name>`
    pub fn iam_user(account: &AccountId, name: &str) -> Self {
        Arn::new(Self::PARTITION, "iam", "", account.as_str(), format!("user/{name}"))
    }

    /// `arn:aws:iam::<account>:root`
    pub fn root(account: &AccountId) -> Self {
        Arn::new(Self::PARTITION, "iam", "", account.as_str(), "root")
    }

    /// The resource type: the resource up to its first '/' or ':' (`trail` in `trail/t1`,
    /// `function` in `function:f1`); `None` when the resource has neither (`root`, an S3 bucket).
    pub fn resource_type(&self) -> Option<&str> {
        self.split_resource().map(|(ty, _)| ty)
    }

    /// The resource id: the resource after its first '/' or ':' (`t1` in `trail/t1`,
    /// `f1:PROD` in `function:f1:PROD`); the whole resource when it has neither.
    pub fn resource_id(&self) -> &str {
        self.split_resource().map_or(self.resource.as_str(), |(_, id)| id)
    }

    fn split_resource(&self) -> Option<(&str, &str)> {
        let i = self.resource.find(['/', ':'])?;
        Some((&self.resource[..i], &self.resource[i + 1..]))
    }
}

impl fmt::Display for Arn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "arn:{}:{}:{}:{}:{}",
            self.partition, self.service, self.region, self.account_id, self.resource
        )
    }
}

impl FromStr for Arn {
    type Err = ArnError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let rest = s
            .strip_prefix("arn:")
            .ok_or_else(|| ArnError::MissingPrefix(s.to_string()))?;
        let mut parts = rest.splitn(5, ':');
        let (Some(partition), Some(service), Some(region), Some(account_id), Some(resource)) =
            (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(ArnError::MissingParts(s.to_string()));
        };
        if partition.is_empty() {
            return Err(ArnError::EmptyPartition(s.to_string()));
        }
        if service.is_empty() {
            return Err(ArnError::EmptyService(s.to_string()));
        }
        if resource.is_empty() {
            return Err(ArnError::EmptyResource(s.to_string()));
        }
        Ok(Arn::new(partition, service, region, account_id, resource))
    }
}

impl TryFrom<&str> for Arn {
    type Error = ArnError;

    fn try_from(s: &str) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl Serialize for Arn {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Arn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_round_trips() {
        for s in [
            "arn:aws:cloudtrail:us-east-2:123456789012:trail/My-First-Trail",
            "arn:aws:iam::123456789012:user/Alice",
            "arn:aws:iam::123456789012:user/division/team/Alice",
            "arn:aws:iam::123456789012:root",
            "arn:aws:s3:::my-bucket",
            "arn:aws:s3:::my-bucket/a/b:c.txt",
            "arn:aws:sts::123456789012:assumed-role/RoleToBeAssumed/MySessionName",
            "arn:aws:lambda:us-east-1:123456789012:function:my-fn:PROD",
            "arn:aws-us-gov:ec2:us-gov-west-1:123456789012:instance/i-0abc",
            "arn:aws:secretsmanager:us-east-1:123837392027:secret:stratus-red-team-retrieve-secret-0-xehWok",
        ] {
            let arn: Arn = s.parse().unwrap();
            assert_eq!(arn.to_string(), s);
        }
    }

    #[test]
    fn splits_parts_and_resource() {
        let arn: Arn = "arn:aws:lambda:us-east-1:123456789012:function:my-fn:PROD"
            .parse()
            .unwrap();
        assert_eq!(arn.partition, "aws");
        assert_eq!(arn.service, "lambda");
        assert_eq!(arn.region, "us-east-1");
        assert_eq!(arn.account_id, "123456789012");
        assert_eq!(arn.resource, "function:my-fn:PROD");
        assert_eq!(arn.resource_type(), Some("function"));
        assert_eq!(arn.resource_id(), "my-fn:PROD");

        let arn: Arn = "arn:aws:iam::123456789012:user/division/Alice".parse().unwrap();
        assert_eq!(arn.region, "");
        assert_eq!(arn.resource_type(), Some("user"));
        assert_eq!(arn.resource_id(), "division/Alice");

        let arn: Arn = "arn:aws:s3:::my-bucket".parse().unwrap();
        assert_eq!(arn.account_id, "");
        assert_eq!(arn.resource_type(), None);
        assert_eq!(arn.resource_id(), "my-bucket");
    }

    #[test]
    fn constructors() {
        let acct = AccountId::new("123456789012").unwrap();
        let region = Region::new("us-east-2").unwrap();
        let trail = Arn::trail(&region, &acct, "My-First-Trail");
        assert_eq!(
            trail.to_string(),
            "arn:aws:cloudtrail:us-east-2:123456789012:trail/My-First-Trail"
        );
        assert_eq!(trail.resource_type(), Some("trail"));
        assert_eq!(trail.resource_id(), "My-First-Trail");
        assert_eq!(
            Arn::iam_user(&acct, "Alice").to_string(),
            "arn:aws:iam::123456789012:user/Alice"
        );
        assert_eq!(Arn::root(&acct).to_string(), "arn:aws:iam::123456789012:root");
        assert_eq!(Arn::root(&acct).resource_type(), None);
        assert_eq!(trail.to_string().parse::<Arn>().unwrap(), trail);
    }

    #[test]
    fn rejects_malformed() {
        use ArnError::*;
        type Kind = fn(String) -> ArnError;
        let cases: [(&str, Kind); 8] = [
            ("", MissingPrefix),
            ("aws:iam::123456789012:root", MissingPrefix),
            ("ARN:aws:iam::123456789012:root", MissingPrefix),
            ("arn:aws:iam::123456789012", MissingParts),
            ("arn:aws:iam", MissingParts),
            ("arn::iam::123456789012:root", EmptyPartition),
            ("arn:aws:::123456789012:root", EmptyService),
            ("arn:aws:iam::123456789012:", EmptyResource),
        ];
        for (s, kind) in cases {
            assert_eq!(s.parse::<Arn>(), Err(kind(s.to_string())), "{s:?}");
        }
    }

    #[test]
    fn serde_as_string() {
        let arn: Arn = "arn:aws:iam::123456789012:root".parse().unwrap();
        let json = serde_json::to_string(&arn).unwrap();
        assert_eq!(json, r#""arn:aws:iam::123456789012:root""#);
        assert_eq!(serde_json::from_str::<Arn>(&json).unwrap(), arn);
        assert!(serde_json::from_str::<Arn>(r#""not-an-arn""#).is_err());
    }
}
