//! `userIdentity`: who made a request. Every struct keeps the JSON members it does not know in
//! `extra`, so a record read and written back loses nothing. Fields are declared in the order AWS
//! emits them.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::account::AccountId;
use crate::arn::Arn;

/// `userIdentity.type` (and `sessionIssuer.type`). Unknown values are kept verbatim in `Other`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum IdentityType {
    Root,
    IAMUser,
    AssumedRole,
    Role,
    FederatedUser,
    Directory,
    AWSAccount,
    AWSService,
    IdentityCenterUser,
    Unknown,
    SAMLUser,
    WebIdentityUser,
    Other(String),
}

impl IdentityType {
    /// Every named value, in the order the CloudTrail documentation lists them.
    pub const KNOWN: [IdentityType; 12] = [
        IdentityType::Root,
        IdentityType::IAMUser,
        IdentityType::AssumedRole,
        IdentityType::Role,
        IdentityType::FederatedUser,
        IdentityType::Directory,
        IdentityType::AWSAccount,
        IdentityType::AWSService,
        IdentityType::IdentityCenterUser,
        IdentityType::Unknown,
        IdentityType::SAMLUser,
        IdentityType::WebIdentityUser,
    ];

    /// The value as CloudTrail spells it.
    pub fn as_str(&self) -> &str {
        match self {
            IdentityType::Root => "Root",
            IdentityType::IAMUser => "IAMUser",
            IdentityType::AssumedRole => "AssumedRole",
            IdentityType::Role => "Role",
            IdentityType::FederatedUser => "FederatedUser",
            IdentityType::Directory => "Directory",
            IdentityType::AWSAccount => "AWSAccount",
            IdentityType::AWSService => "AWSService",
            IdentityType::IdentityCenterUser => "IdentityCenterUser",
            IdentityType::Unknown => "Unknown",
            IdentityType::SAMLUser => "SAMLUser",
            IdentityType::WebIdentityUser => "WebIdentityUser",
            IdentityType::Other(s) => s,
        }
    }

    /// Never fails: unknown spellings become `Other` (matching is exact, as CloudTrail's is).
    pub fn parse(s: &str) -> Self {
        Self::KNOWN
            .iter()
            .find(|k| k.as_str() == s)
            .cloned()
            .unwrap_or_else(|| IdentityType::Other(s.to_string()))
    }
}

impl fmt::Display for IdentityType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for IdentityType {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(IdentityType::parse(s))
    }
}

impl From<&str> for IdentityType {
    fn from(s: &str) -> Self {
        IdentityType::parse(s)
    }
}

impl Serialize for IdentityType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for IdentityType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
        Ok(IdentityType::parse(&s))
    }
}

/// The `userIdentity` element of a record (all members optional; `type` is absent in some
/// service-made records, e.g. Secrets Manager's scheduled deletions).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserIdentity {
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<IdentityType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// May be present and empty (`""`) for console and some service calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_context: Option<SessionContext>,
    /// The AWS service that made the request (`config.amazonaws.com`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoked_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoked_by_delegate: Option<InvokedByDelegate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_behalf_of: Option<OnBehalfOf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_scope_of: Option<InScopeOf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_id: Option<String>,
    /// SAML and web-identity callers only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_provider: Option<String>,
    /// Members this version does not know, kept as they came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl UserIdentity {
    /// An IAM user calling with a long-term access key, as CloudTrail records it.
    pub fn iam_user(account: &AccountId, user_id: &str, user_name: &str, access_key_id: &str) -> Self {
        UserIdentity {
            kind: Some(IdentityType::IAMUser),
            principal_id: Some(user_id.to_string()),
            arn: Some(Arn::iam_user(account, user_name).to_string()),
            account_id: Some(account.to_string()),
            access_key_id: Some(access_key_id.to_string()),
            user_name: Some(user_name.to_string()),
            ..UserIdentity::default()
        }
    }

    /// The account's root user (`principalId` is the account id).
    pub fn root(account: &AccountId, access_key_id: &str) -> Self {
        UserIdentity {
            kind: Some(IdentityType::Root),
            principal_id: Some(account.to_string()),
            arn: Some(Arn::root(account).to_string()),
            account_id: Some(account.to_string()),
            access_key_id: Some(access_key_id.to_string()),
            ..UserIdentity::default()
        }
    }
}

/// `userIdentity.sessionContext`: present for temporary credentials.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionContext {
    /// Emitted as `{}` for some non-session credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_issuer: Option<SessionIssuer>,
    /// Often emitted as `{}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web_id_federation_data: Option<WebIdFederationData>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<SessionAttributes>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_identity: Option<String>,
    /// `"1.0"` or `"2.0"` (instance metadata service version).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ec2_role_delivery: Option<String>,
    /// `"true"` (a string) for sessions made with AssumeRoot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assumed_root: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_in_session_arn: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `sessionContext.sessionIssuer`: the entity that issued the temporary credentials.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionIssuer {
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<IdentityType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `sessionContext.webIdFederationData`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebIdFederationData {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub federated_provider: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Map<String, Value>>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `sessionContext.attributes`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionAttributes {
    /// When the credentials were issued, e.g. `2019-06-18T22:28:31Z`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_date: Option<String>,
    /// `"true"` or `"false"`: a JSON string, not a boolean.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa_authenticated: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `userIdentity.invokedByDelegate`: the product provider account of delegated access.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvokedByDelegate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `userIdentity.onBehalfOf`: the IAM Identity Center user a call was made for.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OnBehalfOf {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_store_arn: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `userIdentity.inScopeOf`: the scope temporary credentials were issued for.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InScopeOf {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_issued_to: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_type_round_trips_known_and_unknown() {
        for k in IdentityType::KNOWN {
            let json = serde_json::to_string(&k).unwrap();
            assert_eq!(json, format!("\"{}\"", k.as_str()));
            assert_eq!(serde_json::from_str::<IdentityType>(&json).unwrap(), k);
            assert_eq!(k.to_string().parse::<IdentityType>().unwrap(), k);
        }
        let other: IdentityType = serde_json::from_str(r#""SomeFutureType""#).unwrap();
        assert_eq!(other, IdentityType::Other("SomeFutureType".to_string()));
        assert_eq!(serde_json::to_string(&other).unwrap(), r#""SomeFutureType""#);
        // Matching is exact: a different case is a different (unknown) value, kept as written.
        assert_eq!(
            IdentityType::parse("iamuser"),
            IdentityType::Other("iamuser".to_string())
        );
        assert!(serde_json::from_str::<IdentityType>("5").is_err());
    }

    #[test]
    fn documented_examples_round_trip() {
        for doc in [
            r#"{"type":"IAMUser","principalId":"AIDAJ45Q7YFFAREXAMPLE","arn":"arn:aws:iam::123456789012:user/Alice","accountId":"123456789012","accessKeyId":"","userName":"Alice"}"#,
            r#"{"type":"Root","principalId":"111122223333","arn":"arn:aws:iam::111122223333:root","accountId":"111122223333"}"#,
            r#"{"type":"IdentityCenterUser","accountId":"123456789012","onBehalfOf":{"userId":"544894e8-80c1-707f-60e3-3ba6510dfac1","identityStoreArn":"arn:aws:identitystore::123456789012:identitystore/d-9067642ac7"},"credentialId":"EXAMPLEVHULjJdTUdPJfofVa1sufHDoj7aYcOYcxFVllWR_Whr1fEXAMPLE"}"#,
            r#"{"type":"AWSService","invokedBy":"config.amazonaws.com"}"#,
            r#"{"type":"WebIdentityUser","principalId":"accounts.google.com:app.apps.googleusercontent.com:user","userName":"user","identityProvider":"accounts.google.com"}"#,
            r#"{"type":"AssumedRole","principalId":"AROAIDPPEZS35WEXAMPLE:s","arn":"arn:aws:sts::123456789012:assumed-role/R/s","accountId":"123456789012","accessKeyId":"ASIAIOSFODNN7EXAMPLE","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAIDPPEZS35WEXAMPLE","arn":"arn:aws:iam::123456789012:role/R","accountId":"123456789012","userName":"R"},"webIdFederationData":{},"attributes":{"creationDate":"2024-05-01T10:00:00Z","mfaAuthenticated":"false"},"sourceIdentity":"me","ec2RoleDelivery":"2.0","assumedRoot":"true","signInSessionArn":"arn:aws:signin:us-east-1:123456789012:session/x"},"invokedByDelegate":{"accountId":"999999999999"},"inScopeOf":{"sourceArn":"a","sourceAccount":"b","issuerType":"c","credentialsIssuedTo":"d"}}"#,
            r#"{"type":"SomethingNew","sessionContext":{"sessionIssuer":{},"attributes":{"mfaAuthenticated":"true","more":1},"novel":true},"newField":{"x":[1,2.5,null]}}"#,
        ] {
            let id: UserIdentity = serde_json::from_str(doc).unwrap();
            // Declaration order is AWS's order, so these documented examples come back byte for byte.
            assert_eq!(serde_json::to_string(&id).unwrap(), doc);
        }
    }

    #[test]
    fn constructors() {
        let acct = AccountId::new("123456789012").unwrap();
        let u = UserIdentity::iam_user(&acct, "AIDAEXAMPLE", "Alice", "AKIAEXAMPLE");
        assert_eq!(
            serde_json::to_string(&u).unwrap(),
            r#"{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::123456789012:user/Alice","accountId":"123456789012","accessKeyId":"AKIAEXAMPLE","userName":"Alice"}"#
        );
        let r = UserIdentity::root(&acct, "AKIAROOT");
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"type":"Root","principalId":"123456789012","arn":"arn:aws:iam::123456789012:root","accountId":"123456789012","accessKeyId":"AKIAROOT"}"#
        );
    }
}
