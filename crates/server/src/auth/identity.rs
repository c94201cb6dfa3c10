//! Accounts, users, access keys and an optional organization, from the configuration file (and
//! the `CAIRN_ROOT_*` variables), or bootstrapped on first start.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use rand::RngExt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::policy::{self, Decision, Policy};
use super::sigv4::Secrets;

/// An access key; the secret never appears in Debug output or logs.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessKeyConfig {
    pub id: String,
    pub secret: String,
}

impl std::fmt::Debug for AccessKeyConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessKey")
            .field("id", &self.id)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// An IAM policy given inline as a TOML table or as JSON text.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PolicySource {
    Json(String),
    Document(serde_json::Value),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    pub name: String,
    #[serde(default)]
    pub access_keys: Vec<AccessKeyConfig>,
    #[serde(default)]
    pub policies: Vec<PolicySource>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountConfig {
    pub id: String,
    #[serde(default)]
    pub alias: Option<String>,
    /// Keys of the account's root user (all permissions in the account).
    #[serde(default)]
    pub root_access_keys: Vec<AccessKeyConfig>,
    #[serde(default)]
    pub users: Vec<UserConfig>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrganizationConfig {
    /// `o-` followed by 10 to 32 lower-case letters or digits.
    pub id: String,
    pub management_account: String,
    #[serde(default)]
    pub member_accounts: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalKind {
    Root,
    IamUser,
}

/// A caller: who owns an access key.
pub struct Principal {
    pub account_id: String,
    pub account_alias: Option<String>,
    pub kind: PrincipalKind,
    pub user_name: Option<String>,
    pub arn: String,
    pub principal_id: String,
    pub access_key_id: String,
    secret: String,
    policies: Vec<Policy>,
}

impl std::fmt::Debug for Principal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Principal")
            .field("arn", &self.arn)
            .field("access_key_id", &self.access_key_id)
            .finish()
    }
}

impl Principal {
    /// Whether this principal may perform `action` on `resource` (an ARN or `*`). A root user may
    /// do anything in its own account; an IAM user what its policies allow.
    pub fn authorize(&self, action: &str, resource: &str) -> Decision {
        match self.kind {
            PrincipalKind::Root => Decision::Allow,
            PrincipalKind::IamUser => policy::evaluate(&self.policies, action, resource),
        }
    }

    /// The `userIdentity` of events this principal causes.
    pub fn user_identity(&self) -> serde_json::Value {
        let mut v = serde_json::json!({
            "type": if self.kind == PrincipalKind::Root { "Root" } else { "IAMUser" },
            "principalId": self.principal_id,
            "arn": self.arn,
            "accountId": self.account_id,
            "accessKeyId": self.access_key_id,
        });
        let name = match self.kind {
            PrincipalKind::IamUser => self.user_name.clone(),
            PrincipalKind::Root => self.account_alias.clone(),
        };
        if let Some(n) = name {
            v["userName"] = serde_json::Value::String(n);
        }
        v
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    pub id: String,
    pub management_account: String,
    pub member_accounts: Vec<String>,
}

impl Organization {
    /// Every account of the organization, the management account first.
    pub fn accounts(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.management_account.as_str()).chain(self.member_accounts.iter().map(String::as_str))
    }
}

#[derive(Debug, Clone)]
pub struct Account {
    pub id: String,
    pub alias: Option<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("identity configuration: {0}")]
pub struct IdentityError(pub String);

/// Everyone who can call Cairn.
#[derive(Debug, Default)]
pub struct Directory {
    by_key: HashMap<String, Arc<Principal>>,
    accounts: BTreeMap<String, Account>,
    organization: Option<Organization>,
}

fn valid_account(id: &str) -> bool {
    id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit())
}

/// A stable principal id for a name (AWS's are random; stability keeps audit records coherent
/// across restarts).
fn principal_id(prefix: &str, account: &str, name: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let h = Sha256::digest(format!("{account}/{name}").as_bytes());
    let tail: String = h
        .iter()
        .take(17)
        .map(|b| ALPHABET[(*b & 31) as usize] as char)
        .collect();
    format!("{prefix}{tail}")
}

impl Directory {
    pub fn build(
        accounts: &[AccountConfig],
        organization: Option<&OrganizationConfig>,
    ) -> Result<Directory, IdentityError> {
        let mut dir = Directory::default();
        for a in accounts {
            if !valid_account(&a.id) {
                return Err(IdentityError(format!(
                    "account id {:?} must be exactly 12 digits",
                    a.id
                )));
            }
            if dir
                .accounts
                .insert(
                    a.id.clone(),
                    Account {
                        id: a.id.clone(),
                        alias: a.alias.clone(),
                    },
                )
                .is_some()
            {
                return Err(IdentityError(format!("account {} is configured twice", a.id)));
            }
            for k in &a.root_access_keys {
                dir.add_key(
                    k,
                    Principal {
                        account_id: a.id.clone(),
                        account_alias: a.alias.clone(),
                        kind: PrincipalKind::Root,
                        user_name: None,
                        arn: format!("arn:aws:iam::{}:root", a.id),
                        principal_id: a.id.clone(),
                        access_key_id: k.id.clone(),
                        secret: k.secret.clone(),
                        policies: Vec::new(),
                    },
                )?;
            }
            for u in &a.users {
                if u.name.is_empty()
                    || u.name.len() > 64
                    || !u
                        .name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
                {
                    return Err(IdentityError(format!(
                        "user name {:?} in account {} is not a valid IAM user name",
                        u.name, a.id
                    )));
                }
                let mut policies = Vec::new();
                for (i, p) in u.policies.iter().enumerate() {
                    let parsed = match p {
                        PolicySource::Json(text) => Policy::parse(text),
                        PolicySource::Document(v) => Policy::from_value(v),
                    }
                    .map_err(|e| {
                        IdentityError(format!("user {} in account {}: policy {}: {e}", u.name, a.id, i + 1))
                    })?;
                    policies.push(parsed);
                }
                for k in &u.access_keys {
                    dir.add_key(
                        k,
                        Principal {
                            account_id: a.id.clone(),
                            account_alias: a.alias.clone(),
                            kind: PrincipalKind::IamUser,
                            user_name: Some(u.name.clone()),
                            arn: format!("arn:aws:iam::{}:user/{}", a.id, u.name),
                            principal_id: principal_id("AIDA", &a.id, &u.name),
                            access_key_id: k.id.clone(),
                            secret: k.secret.clone(),
                            policies: policies.clone(),
                        },
                    )?;
                }
            }
        }
        if let Some(o) = organization {
            let valid_id = o.id.strip_prefix("o-").is_some_and(|r| {
                (10..=32).contains(&r.len()) && r.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            });
            if !valid_id {
                return Err(IdentityError(format!(
                    "organization id {:?} must look like o-abcdef1234",
                    o.id
                )));
            }
            for acct in std::iter::once(&o.management_account).chain(&o.member_accounts) {
                if !dir.accounts.contains_key(acct) {
                    return Err(IdentityError(format!(
                        "organization account {acct} is not a configured account"
                    )));
                }
            }
            dir.organization = Some(Organization {
                id: o.id.clone(),
                management_account: o.management_account.clone(),
                member_accounts: o.member_accounts.clone(),
            });
        }
        Ok(dir)
    }

    fn add_key(&mut self, k: &AccessKeyConfig, p: Principal) -> Result<(), IdentityError> {
        if k.id.len() < 16 || k.id.len() > 128 || !k.id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(IdentityError(format!(
                "access key id {:?} must be 16 to 128 letters or digits",
                k.id
            )));
        }
        if k.secret.len() < 16 {
            return Err(IdentityError(format!(
                "the secret of access key {} is shorter than 16 characters",
                k.id
            )));
        }
        if self.by_key.insert(k.id.clone(), Arc::new(p)).is_some() {
            return Err(IdentityError(format!("access key {} is configured twice", k.id)));
        }
        Ok(())
    }

    pub fn principal(&self, access_key_id: &str) -> Option<Arc<Principal>> {
        self.by_key.get(access_key_id).cloned()
    }

    pub fn account(&self, id: &str) -> Option<&Account> {
        self.accounts.get(id)
    }

    pub fn accounts(&self) -> impl Iterator<Item = &Account> {
        self.accounts.values()
    }

    pub fn organization(&self) -> Option<&Organization> {
        self.organization.as_ref()
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }
}

impl Secrets for Directory {
    fn secret(&self, access_key_id: &str) -> Option<String> {
        self.by_key.get(access_key_id).map(|p| p.secret.clone())
    }
}

/// Root credentials created on a first start without any configured identity.
#[derive(Serialize, Deserialize)]
pub struct Bootstrap {
    pub account_id: String,
    pub access_key_id: String,
    pub secret_access_key: String,
}

fn random_from(alphabet: &[u8], n: usize) -> String {
    let mut rng = rand::rng();
    (0..n)
        .map(|_| alphabet[rng.random_range(0..alphabet.len())] as char)
        .collect()
}

/// A new access key id (`AKIA` + 16) and secret (40 characters), from the OS-seeded CSPRNG.
pub fn new_access_key() -> AccessKeyConfig {
    AccessKeyConfig {
        id: format!("AKIA{}", random_from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)),
        secret: random_from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", 40),
    }
}

/// Loads the bootstrap credentials of `data_dir`, creating them (file mode 0600) the first time.
/// Returns them and whether they were just created.
pub fn bootstrap(data_dir: &Path, account_id: Option<&str>) -> std::io::Result<(Bootstrap, bool)> {
    let path = data_dir.join("root-credentials.json");
    let (bytes, created) = crate::secrets::load_or_create(&path, || {
        let key = new_access_key();
        let b = Bootstrap {
            account_id: account_id
                .map(str::to_string)
                .unwrap_or_else(|| random_from(b"0123456789", 12)),
            access_key_id: key.id,
            secret_access_key: key.secret,
        };
        serde_json::to_vec_pretty(&b).expect("serializable")
    })?;
    let b: Bootstrap =
        serde_json::from_slice(&bytes).map_err(|e| std::io::Error::other(format!("{}: {e}", path.display())))?;
    Ok((b, created))
}
