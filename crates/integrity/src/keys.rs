//! Digest signing keys: RSA-2048, one ring per region (CloudTrail signs each region's digests with
//! that region's key), rotated every `rotation` with overlapping validity so a digest signed just
//! before a rotation still names a key whose validity covers it.
//!
//! Keys live in `<dir>/<region>/<validity start>-<fingerprint>.json`, written atomically with mode
//! 0600; a key file is never rewritten or deleted, so rotation never breaks older digests.
//!
//! An operator may instead bring the signing key (`KeyRing::with_external_key`, from a key file
//! of their own): it then signs every region's digests, is never rotated by Cairn, and only its
//! public half is recorded in the ring, with the time it took over, so the keys it replaced and
//! the keys that later replace it stay listed.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{self, KeyPair as _};
use md5::{Digest, Md5};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("signing key store {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("signing key file {path} is unreadable: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    #[error("invalid region {0:?}")]
    InvalidRegion(String),
    #[error("RSA operation failed")]
    Crypto,
    #[error("the signing key is not an RSA private key of 2048 to 8192 bits (PKCS#8 or PKCS#1 DER)")]
    UnusableKey,
    #[error("key {0} is listed for validation but its private key is not available")]
    NoPrivateKey(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeyError + '_ {
    move |source| KeyError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A key as ListPublicKeys shows it. Times in seconds since the epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKeyInfo {
    /// PKCS#1 `RSAPublicKey` DER (ListPublicKeys sends it base64-encoded).
    pub der: Vec<u8>,
    /// Lower-case hex MD5 of `der`: what digests name as `digestPublicKeyFingerprint`.
    pub fingerprint: String,
    pub validity_start: i64,
    pub validity_end: i64,
}

/// A private key with its validity (or, for an operator's key that is no longer configured,
/// only its public half).
pub struct SigningKey {
    pair: Option<KeyPair>,
    public: PublicKeyInfo,
    /// An operator's key rather than one Cairn made.
    external: bool,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the private key.
        f.debug_struct("SigningKey")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    pub fn public(&self) -> &PublicKeyInfo {
        &self.public
    }

    /// SHA256withRSA (RSASSA-PKCS1-v1_5) over `data`: the digest signature CloudTrail uses.
    pub fn sign(&self, data: &[u8]) -> Result<Vec<u8>, KeyError> {
        let pair = self
            .pair
            .as_ref()
            .ok_or_else(|| KeyError::NoPrivateKey(self.public.fingerprint.clone()))?;
        let mut sig = vec![0; pair.public_modulus_len()];
        pair.sign(&signature::RSA_PKCS1_SHA256, &SystemRandom::new(), data, &mut sig)
            .map_err(|_| KeyError::Crypto)?;
        Ok(sig)
    }
}

/// Checks a SHA256withRSA signature against a PKCS#1 public key.
pub fn verify(public_pkcs1_der: &[u8], data: &[u8], sig: &[u8]) -> bool {
    signature::UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, public_pkcs1_der)
        .verify(data, sig)
        .is_ok()
}

/// A key file.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct KeyFile {
    region: String,
    validity_start: i64,
    validity_end: i64,
    /// PKCS#8 DER of the private key, lower-case hex (empty for an operator's key).
    #[serde(default)]
    private_key_pkcs8: String,
    /// An operator's key: only its PKCS#1 public key, lower-case hex.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    external_public_key: String,
}

/// Every region's keys under one directory.
pub struct KeyRing {
    dir: PathBuf,
    rotation: i64,
    overlap: i64,
    /// Per region, keys by validity start (loaded lazily).
    regions: Mutex<BTreeMap<String, Vec<Arc<SigningKey>>>>,
    /// The operator's key, when one is configured: it signs every region.
    external: Option<Arc<KeyPair>>,
}

impl KeyRing {
    /// `rotation`: how long a key signs (CloudTrail: 30 days); `overlap`: how long before that
    /// its successor is made, so their validities overlap.
    pub fn open(dir: impl Into<PathBuf>, rotation_secs: i64, overlap_secs: i64) -> Result<KeyRing, KeyError> {
        let dir = dir.into();
        create_private_dir(&dir)?;
        Ok(KeyRing {
            dir,
            rotation: rotation_secs.max(1),
            overlap: overlap_secs.clamp(0, rotation_secs.max(1)),
            regions: Mutex::new(BTreeMap::new()),
            external: None,
        })
    }

    /// Signs with the operator's RSA private key (PKCS#8 or PKCS#1 DER) instead of keys Cairn
    /// makes and rotates.
    pub fn with_external_key(mut self, private_key_der: &[u8]) -> Result<KeyRing, KeyError> {
        let pair = KeyPair::from_pkcs8(private_key_der)
            .or_else(|_| KeyPair::from_der(private_key_der))
            .map_err(|_| KeyError::UnusableKey)?;
        if !(2048..=8192).contains(&(pair.public_modulus_len() * 8)) {
            return Err(KeyError::UnusableKey);
        }
        self.external = Some(Arc::new(pair));
        Ok(self)
    }

    /// The key that signs `region`'s digests at `now` (seconds), made if none is current.
    pub fn current(&self, region: &str, now: i64) -> Result<Arc<SigningKey>, KeyError> {
        let mut regions = self.regions.lock();
        let keys = self.loaded(&mut regions, region)?;
        if let Some(external) = &self.external {
            let fingerprint = hex(&Md5::digest(external.public_key().as_ref()));
            if let Some(k) = keys.last()
                && k.public.fingerprint == fingerprint
                && now >= k.public.validity_start
            {
                return Ok(k.clone());
            }
            let key = Arc::new(self.register_external(region, external, now)?);
            keys.push(key.clone());
            return Ok(key);
        }
        if let Some(k) = keys.last()
            && !k.external
            && now < k.public.validity_start + self.rotation - self.overlap
            && now >= k.public.validity_start
        {
            return Ok(k.clone());
        }
        let key = Arc::new(self.generate(region, now)?);
        keys.push(key.clone());
        Ok(key)
    }

    /// Keys of `region` whose validity overlaps `[start, end]` (seconds), oldest first.
    pub fn public_keys(&self, region: &str, start: i64, end: i64) -> Result<Vec<PublicKeyInfo>, KeyError> {
        let mut regions = self.regions.lock();
        let keys = self.loaded(&mut regions, region)?;
        Ok(keys
            .iter()
            .filter(|k| k.public.validity_start <= end && k.public.validity_end >= start)
            .map(|k| k.public.clone())
            .collect())
    }

    /// The key of `region` with this fingerprint.
    pub fn by_fingerprint(&self, region: &str, fingerprint: &str) -> Result<Option<Arc<SigningKey>>, KeyError> {
        let mut regions = self.regions.lock();
        let keys = self.loaded(&mut regions, region)?;
        Ok(keys.iter().find(|k| k.public.fingerprint == fingerprint).cloned())
    }

    fn loaded<'a>(
        &self,
        regions: &'a mut BTreeMap<String, Vec<Arc<SigningKey>>>,
        region: &str,
    ) -> Result<&'a mut Vec<Arc<SigningKey>>, KeyError> {
        if !valid_region(region) {
            return Err(KeyError::InvalidRegion(region.to_string()));
        }
        if !regions.contains_key(region) {
            let keys = self.load_region(region)?;
            regions.insert(region.to_string(), keys);
        }
        Ok(regions.get_mut(region).expect("inserted above"))
    }

    fn load_region(&self, region: &str) -> Result<Vec<Arc<SigningKey>>, KeyError> {
        let dir = self.dir.join(region);
        let mut keys = Vec::new();
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(keys),
            Err(e) => return Err(io(&dir)(e)),
        };
        for entry in entries {
            let path = entry.map_err(io(&dir))?.path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let bytes = fs::read(&path).map_err(io(&path))?;
            let corrupt = |reason: String| KeyError::Corrupt {
                path: path.clone(),
                reason,
            };
            let file: KeyFile = serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
            if !file.external_public_key.is_empty() {
                let der =
                    hex_decode(&file.external_public_key).ok_or_else(|| corrupt("public key is not hex".into()))?;
                keys.push(Arc::new(self.external_key(der, file.validity_start, file.validity_end)));
                continue;
            }
            let der = hex_decode(&file.private_key_pkcs8).ok_or_else(|| corrupt("private key is not hex".into()))?;
            let pair = KeyPair::from_pkcs8(&der).map_err(|e| corrupt(e.to_string()))?;
            keys.push(Arc::new(with_public(pair, file.validity_start, file.validity_end)));
        }
        keys.sort_by_key(|k| k.public.validity_start);
        Ok(keys)
    }

    /// An operator's key as recorded: able to sign if it is the one configured now.
    fn external_key(&self, public_der: Vec<u8>, validity_start: i64, validity_end: i64) -> SigningKey {
        let fingerprint = hex(&Md5::digest(&public_der));
        let pair = self
            .external
            .as_ref()
            .filter(|p| p.public_key().as_ref() == public_der.as_slice())
            .and_then(|p| {
                // KeyPair is not Clone: rebuild it from its own PKCS#8 encoding.
                let pkcs8 = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(p.as_ref()).ok()?;
                KeyPair::from_pkcs8(pkcs8.as_ref()).ok()
            });
        SigningKey {
            pair,
            public: PublicKeyInfo {
                der: public_der,
                fingerprint,
                validity_start,
                validity_end,
            },
            external: true,
        }
    }

    /// Records that the operator's key signs `region` from `now` on (public half only: the
    /// private key stays in the operator's file). Valid until replaced, for a century.
    fn register_external(&self, region: &str, pair: &KeyPair, now: i64) -> Result<SigningKey, KeyError> {
        let der = pair.public_key().as_ref().to_vec();
        let key = self.external_key(der.clone(), now, now + 100 * 365 * 86_400);
        let file = KeyFile {
            region: region.to_string(),
            validity_start: now,
            validity_end: key.public.validity_end,
            private_key_pkcs8: String::new(),
            external_public_key: hex(&der),
        };
        let dir = self.dir.join(region);
        create_private_dir(&dir)?;
        let path = dir.join(format!("{now}-{}.json", key.public.fingerprint));
        write_private(&path, &serde_json::to_vec_pretty(&file).expect("key files serialise"))?;
        Ok(key)
    }

    fn generate(&self, region: &str, now: i64) -> Result<SigningKey, KeyError> {
        let pair = KeyPair::generate(KeySize::Rsa2048).map_err(|_| KeyError::Crypto)?;
        let pkcs8 = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&pair).map_err(|_| KeyError::Crypto)?;
        let key = with_public(pair, now, now + self.rotation);
        let file = KeyFile {
            region: region.to_string(),
            validity_start: key.public.validity_start,
            validity_end: key.public.validity_end,
            private_key_pkcs8: hex(pkcs8.as_ref()),
            external_public_key: String::new(),
        };
        let dir = self.dir.join(region);
        create_private_dir(&dir)?;
        let path = dir.join(format!("{now}-{}.json", key.public.fingerprint));
        write_private(&path, &serde_json::to_vec_pretty(&file).expect("key files serialise"))?;
        Ok(key)
    }
}

fn with_public(pair: KeyPair, validity_start: i64, validity_end: i64) -> SigningKey {
    let der = pair.public_key().as_ref().to_vec();
    let fingerprint = hex(&Md5::digest(&der));
    SigningKey {
        pair: Some(pair),
        public: PublicKeyInfo {
            der,
            fingerprint,
            validity_start,
            validity_end,
        },
        external: false,
    }
}

fn valid_region(r: &str) -> bool {
    !r.is_empty()
        && r.len() <= 64
        && r.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

fn create_private_dir(dir: &Path) -> Result<(), KeyError> {
    fs::create_dir_all(dir).map_err(io(dir))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io(dir))?;
    }
    Ok(())
}

/// Writes `bytes` to `path` readable by this user only, atomically and durably.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), KeyError> {
    let tmp = path.with_extension("tmp");
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(&tmp).map_err(io(&tmp))?;
    f.write_all(bytes).and_then(|_| f.sync_all()).map_err(io(&tmp))?;
    fs::rename(&tmp, path).map_err(io(path))?;
    let parent = path.parent().expect("key files have a directory");
    fs::File::open(parent).and_then(|d| d.sync_all()).map_err(io(parent))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;

    #[test]
    fn keys_sign_rotate_with_overlap_and_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let ring = KeyRing::open(dir.path().join("keys"), 30 * DAY, 3600).unwrap();
        let t0 = 1_700_000_000;
        let k1 = ring.current("us-east-1", t0).unwrap();
        assert!(Arc::ptr_eq(&k1, &ring.current("us-east-1", t0 + 29 * DAY).unwrap()));
        // PKCS#1 RSAPublicKey of a 2048-bit key, as CloudTrail's samples: `MIIBCgKCAQEA...`.
        assert_eq!(&k1.public().der[..5], &[0x30, 0x82, 0x01, 0x0a, 0x02]);
        assert_eq!(k1.public().fingerprint.len(), 32);
        let sig = k1.sign(b"data to sign").unwrap();
        assert_eq!(sig.len(), 256);
        assert!(verify(&k1.public().der, b"data to sign", &sig));
        assert!(!verify(&k1.public().der, b"data to sign!", &sig));

        // An hour before the end of its 30 days, a successor: validities overlap.
        let k2 = ring.current("us-east-1", t0 + 30 * DAY - 1800).unwrap();
        assert_ne!(k1.public().fingerprint, k2.public().fingerprint);
        assert!(k2.public().validity_start < k1.public().validity_end);
        // Regions have their own keys.
        let other = ring.current("eu-west-1", t0).unwrap();
        assert_ne!(other.public().fingerprint, k1.public().fingerprint);

        let listed = |r: &KeyRing, s, e| -> Vec<String> {
            r.public_keys("us-east-1", s, e)
                .unwrap()
                .into_iter()
                .map(|k| k.fingerprint)
                .collect()
        };
        assert_eq!(listed(&ring, t0, t0 + DAY), vec![k1.public().fingerprint.clone()]);
        assert_eq!(listed(&ring, t0, t0 + 31 * DAY).len(), 2);

        // Reopened: the same keys, still able to verify what they signed; files are 0600.
        let again = KeyRing::open(dir.path().join("keys"), 30 * DAY, 3600).unwrap();
        assert_eq!(listed(&again, t0, t0 + 31 * DAY), listed(&ring, t0, t0 + 31 * DAY));
        let k1_again = again
            .by_fingerprint("us-east-1", &k1.public().fingerprint)
            .unwrap()
            .unwrap();
        assert!(verify(&k1_again.public().der, b"x", &k1_again.sign(b"x").unwrap()));
        #[cfg(unix)]
        for e in fs::read_dir(dir.path().join("keys/us-east-1")).unwrap() {
            use std::os::unix::fs::PermissionsExt;
            let mode = e.unwrap().metadata().unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        assert!(format!("{k1:?}").contains("fingerprint") && !format!("{k1:?}").contains("pkcs8"));
        assert!(matches!(ring.current("../etc", t0), Err(KeyError::InvalidRegion(_))));
    }

    #[test]
    fn an_operators_key_signs_every_region_and_replaced_keys_stay_listed() {
        let dir = tempfile::tempdir().unwrap();
        let t0 = 1_700_000_000;
        let own = KeyRing::open(dir.path(), 30 * DAY, 3600).unwrap();
        let generated = own.current("us-east-1", t0).unwrap();
        let operator = || {
            let pair = KeyPair::generate(KeySize::Rsa2048).unwrap();
            AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&pair)
                .unwrap()
                .as_ref()
                .to_vec()
        };
        let (first, second) = (operator(), operator());
        let ring = KeyRing::open(dir.path(), 30 * DAY, 3600)
            .unwrap()
            .with_external_key(&first)
            .unwrap();
        let a = ring.current("us-east-1", t0 + DAY).unwrap();
        let b = ring.current("eu-west-1", t0 + DAY).unwrap();
        assert_eq!(
            a.public().fingerprint,
            b.public().fingerprint,
            "one key for every region"
        );
        assert_ne!(a.public().fingerprint, generated.public().fingerprint);
        assert!(verify(&a.public().der, b"x", &a.sign(b"x").unwrap()));
        // Not rotated by Cairn.
        assert!(Arc::ptr_eq(&a, &ring.current("us-east-1", t0 + 400 * DAY).unwrap()));
        // The private key stays in the operator's file.
        for e in fs::read_dir(dir.path().join("us-east-1")).unwrap() {
            let text = fs::read_to_string(e.unwrap().path()).unwrap();
            if text.contains("externalPublicKey") {
                assert!(text.contains("\"privateKeyPkcs8\": \"\""), "{text}");
            }
        }

        // The operator replaces the key: the old one stays listed (for its digests), unable to sign.
        let ring = KeyRing::open(dir.path(), 30 * DAY, 3600)
            .unwrap()
            .with_external_key(&second)
            .unwrap();
        let c = ring.current("us-east-1", t0 + 2 * DAY).unwrap();
        assert_ne!(c.public().fingerprint, a.public().fingerprint);
        let listed: Vec<String> = ring
            .public_keys("us-east-1", t0, t0 + 3 * DAY)
            .unwrap()
            .into_iter()
            .map(|k| k.fingerprint)
            .collect();
        for k in [&generated, &a, &c] {
            assert!(listed.contains(&k.public().fingerprint));
        }
        let old = ring
            .by_fingerprint("us-east-1", &a.public().fingerprint)
            .unwrap()
            .unwrap();
        assert!(matches!(old.sign(b"x"), Err(KeyError::NoPrivateKey(_))));

        // Back to Cairn's own keys: a fresh one, never an operator's.
        let own = KeyRing::open(dir.path(), 30 * DAY, 3600).unwrap();
        let d = own.current("us-east-1", t0 + 3 * DAY).unwrap();
        assert!(!d.external && d.sign(b"x").is_ok());
        assert!(
            KeyRing::open(dir.path(), DAY, 60)
                .unwrap()
                .with_external_key(b"not a key")
                .is_err()
        );
    }
}
