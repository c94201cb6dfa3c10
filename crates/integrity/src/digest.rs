//! Digest files (spec §3): their JSON, their object key, and the string their signature covers,
//! exactly as `aws cloudtrail validate-logs` reads them. Pure: the caller brings the log files'
//! hashes and writes the result.

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::keys::{KeyError, SigningKey, hex};

pub const HASH_ALGORITHM: &str = "SHA-256";
pub const SIGNATURE_ALGORITHM: &str = "SHA256withRSA";

/// One log file a digest vouches for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogFileEntry {
    pub s3_bucket: String,
    pub s3_object: String,
    /// Lower-case hex SHA-256 of the uncompressed log file.
    pub hash_value: String,
    pub hash_algorithm: String,
    pub newest_event_time: String,
    pub oldest_event_time: String,
}

/// A digest file's JSON, fields in the order CloudTrail writes them. Absent values are JSON
/// `null`, never missing keys: validate-logs requires the keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DigestFile {
    pub aws_account_id: String,
    pub digest_start_time: String,
    pub digest_end_time: String,
    pub digest_s3_bucket: String,
    pub digest_s3_object: String,
    pub digest_public_key_fingerprint: String,
    pub digest_signature_algorithm: String,
    pub newest_event_time: Option<String>,
    pub oldest_event_time: Option<String>,
    pub previous_digest_s3_bucket: Option<String>,
    pub previous_digest_s3_object: Option<String>,
    pub previous_digest_hash_value: Option<String>,
    pub previous_digest_hash_algorithm: Option<String>,
    pub previous_digest_signature: Option<String>,
    pub log_files: Vec<LogFileEntry>,
}

/// A digest ready to write: its JSON (to be gzipped as one member) and its signature
/// (`x-amz-meta-signature`, lower-case hex).
#[derive(Debug, Clone)]
pub struct SignedDigest {
    pub json: Vec<u8>,
    pub signature_hex: String,
}

/// `YYYY-MM-DDTHH:MM:SSZ` of `secs` since the epoch.
pub fn iso_seconds(secs: i64) -> String {
    jiff::Timestamp::from_second(secs)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// `[prefix/]AWSLogs/[o-id/]<account>/CloudTrail-Digest/<source region>/YYYY/MM/DD/<account>_CloudTrail-Digest_<source region>_<trail name>_<home region>_<YYYYMMDDTHHMMSSZ>.json.gz`,
/// dated by the digest's end time (seconds included: validate-logs reads the date at a fixed
/// offset from the end of the key).
pub fn digest_key(
    prefix: Option<&str>,
    org_id: Option<&str>,
    account: &str,
    source_region: &str,
    trail_name: &str,
    home_region: &str,
    end_secs: i64,
) -> String {
    let t = jiff::Timestamp::from_second(end_secs)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .to_zoned(jiff::tz::TimeZone::UTC);
    let mut key = String::new();
    if let Some(p) = prefix.filter(|p| !p.is_empty()) {
        key.push_str(p.trim_end_matches('/'));
        key.push('/');
    }
    key.push_str("AWSLogs/");
    if let Some(o) = org_id {
        key.push_str(o);
        key.push('/');
    }
    key.push_str(&format!(
        "{account}/CloudTrail-Digest/{source_region}/{}/{account}_CloudTrail-Digest_{source_region}_{trail_name}_{home_region}_{}.json.gz",
        t.strftime("%Y/%m/%d"),
        t.strftime("%Y%m%dT%H%M%SZ"),
    ));
    key
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// What the signature covers: `digestEndTime \n bucket/key \n sha256(json) \n previous signature`
/// (`null` for the first digest of a chain), no trailing newline.
pub fn string_to_sign(digest: &DigestFile, json: &[u8]) -> Vec<u8> {
    format!(
        "{}\n{}/{}\n{}\n{}",
        digest.digest_end_time,
        digest.digest_s3_bucket,
        digest.digest_s3_object,
        sha256_hex(json),
        digest.previous_digest_signature.as_deref().unwrap_or("null"),
    )
    .into_bytes()
}

/// Serialises `digest` (its fingerprint set to `key`'s) and signs it.
pub fn sign(mut digest: DigestFile, key: &SigningKey) -> Result<SignedDigest, KeyError> {
    digest.digest_public_key_fingerprint = key.public().fingerprint.clone();
    digest.digest_signature_algorithm = SIGNATURE_ALGORITHM.to_string();
    let json = serde_json::to_vec(&digest).expect("digests serialise");
    let signature = key.sign(&string_to_sign(&digest, &json))?;
    Ok(SignedDigest {
        json,
        signature_hex: hex(&signature),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{KeyRing, verify};

    fn digest(previous: Option<&str>) -> DigestFile {
        let key = digest_key(
            None,
            None,
            "111122223333",
            "us-east-2",
            "main",
            "us-east-2",
            1_439_823_691,
        );
        DigestFile {
            aws_account_id: "111122223333".into(),
            digest_start_time: iso_seconds(1_439_820_091),
            digest_end_time: iso_seconds(1_439_823_691),
            digest_s3_bucket: "bucket".into(),
            digest_s3_object: key,
            digest_public_key_fingerprint: String::new(),
            digest_signature_algorithm: String::new(),
            newest_event_time: None,
            oldest_event_time: None,
            previous_digest_s3_bucket: previous.map(|_| "bucket".into()),
            previous_digest_s3_object: None,
            previous_digest_hash_value: None,
            previous_digest_hash_algorithm: previous.map(|_| HASH_ALGORITHM.into()),
            previous_digest_signature: previous.map(str::to_string),
            log_files: Vec::new(),
        }
    }

    #[test]
    fn keys_match_the_documented_example_and_validate_logs_date_offsets() {
        let key = digest_key(
            None,
            None,
            "111122223333",
            "us-east-2",
            "your-trail-name",
            "us-east-2",
            1_439_823_691,
        );
        assert_eq!(
            key,
            "AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2015/08/17/111122223333_CloudTrail-Digest_us-east-2_your-trail-name_us-east-2_20150817T150131Z.json.gz"
        );
        // awscli: digest_s3_key[-24:-8] is the date.
        assert_eq!(&key[key.len() - 24..key.len() - 8], "20150817T150131Z");
        let org = digest_key(Some("p/"), Some("o-abc1234567"), "1", "eu-west-1", "t", "us-east-1", 0);
        assert!(
            org.starts_with("p/AWSLogs/o-abc1234567/1/CloudTrail-Digest/eu-west-1/1970/01/01/"),
            "{org}"
        );
    }

    #[test]
    fn json_keeps_null_keys_and_the_signature_verifies_over_the_documented_string() {
        let dir = tempfile::tempdir().unwrap();
        let ring = KeyRing::open(dir.path(), 30 * 86_400, 3600).unwrap();
        let key = ring.current("us-east-2", 1_439_823_691).unwrap();
        let first = sign(digest(None), &key).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&first.json).unwrap();
        for k in [
            "digestPublicKeyFingerprint",
            "digestS3Bucket",
            "digestS3Object",
            "previousDigestSignature",
            "digestEndTime",
            "digestStartTime",
            "logFiles",
        ] {
            assert!(v.get(k).is_some(), "{k} missing");
        }
        assert!(v["previousDigestSignature"].is_null());
        assert_eq!(v["digestPublicKeyFingerprint"], key.public().fingerprint.as_str());
        assert_eq!(v["digestSignatureAlgorithm"], SIGNATURE_ALGORITHM);
        assert_eq!(first.signature_hex.len(), 512);
        let parsed: DigestFile = serde_json::from_slice(&first.json).unwrap();
        let signed = string_to_sign(&parsed, &first.json);
        let text = String::from_utf8(signed.clone()).unwrap();
        assert!(text.starts_with("2015-08-17T15:01:31Z\nbucket/AWSLogs/111122223333/CloudTrail-Digest/"));
        assert!(text.ends_with("\nnull"));
        let sig: Vec<u8> = (0..first.signature_hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&first.signature_hex[i..i + 2], 16).unwrap())
            .collect();
        assert!(verify(&key.public().der, &signed, &sig));
        // The next digest chains on this one's signature, which its own signature covers.
        let second = sign(digest(Some(&first.signature_hex)), &key).unwrap();
        let parsed: DigestFile = serde_json::from_slice(&second.json).unwrap();
        let text = String::from_utf8(string_to_sign(&parsed, &second.json)).unwrap();
        assert!(text.ends_with(&format!("\n{}", first.signature_hex)));
    }
}
