//! The checks of one object: a digest (gunzip, JSON, location, key, signature) and a log file
//! (streamed gunzip, SHA-256 of the inflated bytes, nothing after the gzip member).

use std::collections::HashMap;
use std::io::Read;

use aws_lc_rs::digest::{Context, SHA256};
use serde_json::Value;

use super::names;
use super::{FetchError, Object, Store};
use crate::keys::{hex, hex_decode, verify};

/// How a gzip body ended.
pub(crate) enum Gunzip {
    /// One complete member; `trailing`: bytes follow it.
    Complete { trailing: bool },
    /// The body stopped before the member did (or was empty).
    Truncated,
    /// Not gzip, corrupt deflate data, or a checksum mismatch.
    Corrupt,
}

/// Inflates the first gzip member of `body`, handing the inflated bytes to `out` in pieces.
pub(crate) fn gunzip(body: &[u8], mut out: impl FnMut(&[u8])) -> Gunzip {
    let mut dec = flate2::bufread::GzDecoder::new(body);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match dec.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Gunzip::Truncated,
            Err(_) => return Gunzip::Corrupt,
        }
    }
    Gunzip::Complete {
        trailing: !dec.get_ref().is_empty(),
    }
}

/// Lower-case hex SHA-256.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex(aws_lc_rs::digest::digest(&SHA256, bytes).as_ref())
}

/// A log file's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LogOutcome {
    Valid,
    /// The INVALID reason.
    Invalid(&'static str),
    /// The store failed (not a missing object): the run stops.
    Fatal(String),
}

pub(crate) const HASH_MISMATCH: &str = "hash value doesn't match";
pub(crate) const NOT_FOUND: &str = "not found";
pub(crate) const TRAILING_DATA: &str = "unexpected data after end of compressed stream";
pub(crate) const INVALID_FORMAT: &str = "invalid format";
pub(crate) const MOVED: &str = "has been moved from its original location";
pub(crate) const SIGNATURE_FAILED: &str = "signature verification failed";

/// Fetches a log file and checks it against the hash its digest lists.
pub(crate) fn check_log(store: &dyn Store, bucket: &str, key: &str, expected_hash: &str) -> LogOutcome {
    let body = match store.get(bucket, key) {
        Ok(o) => o.body,
        Err(FetchError::NotFound) => return LogOutcome::Invalid(NOT_FOUND),
        Err(FetchError::Other(e)) => return LogOutcome::Fatal(format!("reading s3://{bucket}/{key}: {e}")),
    };
    let mut ctx = Context::new(&SHA256);
    // The aws CLI inflates with zlib.decompressobj: a body cut short is hashed as far as it
    // goes (and so does not match), anything undecodable is "invalid format".
    match gunzip(&body, |b| ctx.update(b)) {
        Gunzip::Complete { trailing: true } => LogOutcome::Invalid(TRAILING_DATA),
        Gunzip::Corrupt => LogOutcome::Invalid(INVALID_FORMAT),
        Gunzip::Complete { trailing: false } | Gunzip::Truncated => {
            if hex(ctx.finish().as_ref()) == expected_hash {
                LogOutcome::Valid
            } else {
                LogOutcome::Invalid(HASH_MISMATCH)
            }
        }
    }
}

/// A log file a digest lists.
#[derive(Debug, Clone)]
pub(crate) struct LogRef {
    pub bucket: String,
    pub key: String,
    pub hash: String,
}

/// What a digest says, once parsed.
#[derive(Debug, Clone)]
pub(crate) struct Parsed {
    pub start: i64,
    pub end: i64,
    pub prev_bucket: Option<String>,
    pub prev_object: Option<String>,
    pub prev_hash: Option<String>,
    pub prev_signature: Option<String>,
    /// Hex SHA-256 of the uncompressed JSON.
    pub json_sha256: String,
    /// `x-amz-meta-signature` as stored.
    pub signature: String,
    /// Bytes after the gzip member.
    pub trailing: bool,
    pub logs: Vec<LogRef>,
}

/// A digest's verdict.
#[derive(Debug)]
pub(crate) enum Loaded {
    NotFound,
    Fatal(String),
    /// The INVALID reason; what it says when it could be read (its log files count as referenced).
    Invalid(String, Option<Box<Parsed>>),
    Valid(Box<Parsed>),
}

/// Keys of the digest JSON the aws CLI requires.
const REQUIRED: [&str; 6] = [
    "digestPublicKeyFingerprint",
    "digestS3Bucket",
    "digestS3Object",
    "previousDigestSignature",
    "digestEndTime",
    "digestStartTime",
];

/// A JSON value as Python's f-string shows it (strings verbatim).
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "None".into(),
        other => other.to_string(),
    }
}

fn opt_str(v: Option<&Value>) -> Option<String> {
    match v {
        None | Some(Value::Null) => None,
        Some(v) => Some(text(v)),
    }
}

/// Fetches and checks the digest at `bucket/key` in the aws CLI's order: gunzip and JSON
/// (`invalid format`), signature metadata (`signature verification failed`), required keys,
/// location (`has been moved ...`), key (`public key not found ...`), signature.
pub(crate) fn load_digest(
    store: &dyn Store,
    bucket: &str,
    key: &str,
    keys: &HashMap<String, Vec<u8>>,
    home_region: &str,
) -> Loaded {
    let obj: Object = match store.get(bucket, key) {
        Ok(o) => o,
        Err(FetchError::NotFound) => return Loaded::NotFound,
        Err(FetchError::Other(e)) => return Loaded::Fatal(format!("reading s3://{bucket}/{key}: {e}")),
    };
    let mut json = Vec::with_capacity(obj.body.len() * 4);
    let trailing = match gunzip(&obj.body, |b| json.extend_from_slice(b)) {
        Gunzip::Complete { trailing } => trailing,
        Gunzip::Truncated | Gunzip::Corrupt => return Loaded::Invalid(INVALID_FORMAT.into(), None),
    };
    let Ok(Value::Object(doc)) = serde_json::from_slice::<Value>(&json) else {
        return Loaded::Invalid(INVALID_FORMAT.into(), None);
    };
    let (Some(signature), Some(_)) = (obj.metadata.get("signature"), obj.metadata.get("signature-algorithm")) else {
        return Loaded::Invalid(SIGNATURE_FAILED.into(), None);
    };
    if REQUIRED.iter().any(|k| !doc.contains_key(*k)) {
        return Loaded::Invalid(INVALID_FORMAT.into(), None);
    }
    let logs = match doc.get("logFiles") {
        Some(Value::Array(a)) => a
            .iter()
            .map(|l| {
                Some(LogRef {
                    bucket: l.get("s3Bucket")?.as_str()?.to_string(),
                    key: l.get("s3Object")?.as_str()?.to_string(),
                    hash: text(l.get("hashValue")?),
                })
            })
            .collect::<Option<Vec<_>>>(),
        _ => None,
    };
    let Some(logs) = logs else {
        return Loaded::Invalid(INVALID_FORMAT.into(), None);
    };
    let json_sha256 = sha256_hex(&json);
    let times = (
        doc["digestStartTime"].as_str().and_then(names::parse_time),
        doc["digestEndTime"].as_str().and_then(names::parse_time),
    );
    let parsed = Box::new(Parsed {
        start: times.0.unwrap_or(i64::MIN),
        end: times.1.unwrap_or(i64::MIN),
        prev_bucket: opt_str(doc.get("previousDigestS3Bucket")),
        prev_object: opt_str(doc.get("previousDigestS3Object")),
        prev_hash: opt_str(doc.get("previousDigestHashValue")),
        prev_signature: opt_str(doc.get("previousDigestSignature")),
        json_sha256,
        signature: signature.clone(),
        trailing,
        logs,
    });
    if doc["digestS3Bucket"].as_str() != Some(bucket) || doc["digestS3Object"].as_str() != Some(key) {
        return Loaded::Invalid(MOVED.into(), Some(parsed));
    }
    let fingerprint = text(&doc["digestPublicKeyFingerprint"]);
    let Some(der) = keys.get(&fingerprint) else {
        return Loaded::Invalid(
            format!("public key not found in region {home_region} for fingerprint {fingerprint}"),
            Some(parsed),
        );
    };
    let to_sign = format!(
        "{}\n{}/{}\n{}\n{}",
        text(&doc["digestEndTime"]),
        text(&doc["digestS3Bucket"]),
        text(&doc["digestS3Object"]),
        parsed.json_sha256,
        match &doc["previousDigestSignature"] {
            Value::Null => "null".to_string(),
            v => text(v),
        }
    );
    let sig_ok = hex_decode(signature).is_some_and(|sig| verify(der, to_sign.as_bytes(), &sig));
    if !sig_ok {
        return Loaded::Invalid(SIGNATURE_FAILED.into(), Some(parsed));
    }
    if times.0.is_none() || times.1.is_none() {
        return Loaded::Invalid(INVALID_FORMAT.into(), Some(parsed));
    }
    Loaded::Valid(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn gunzip_tells_complete_trailing_truncated_and_corrupt_apart() {
        let data: Vec<u8> = (0..200_000u32).flat_map(|i| (i % 251).to_le_bytes()).collect();
        let body = gz(&data);
        let mut out = Vec::new();
        assert!(matches!(
            gunzip(&body, |b| out.extend_from_slice(b)),
            Gunzip::Complete { trailing: false }
        ));
        assert_eq!(out, data);
        let mut more = body.clone();
        more.push(0);
        assert!(matches!(gunzip(&more, |_| {}), Gunzip::Complete { trailing: true }));
        let mut two = body.clone();
        two.extend_from_slice(&gz(b"x"));
        assert!(matches!(gunzip(&two, |_| {}), Gunzip::Complete { trailing: true }));
        assert!(matches!(gunzip(&body[..body.len() / 2], |_| {}), Gunzip::Truncated));
        assert!(matches!(gunzip(&body[..body.len() - 3], |_| {}), Gunzip::Truncated));
        assert!(matches!(gunzip(b"", |_| {}), Gunzip::Truncated));
        assert!(matches!(gunzip(b"{\"not\": \"gzip\"}", |_| {}), Gunzip::Corrupt));
        let mut flipped = body.clone();
        let n = flipped.len();
        flipped[n - 6] ^= 0xff; // the CRC
        assert!(matches!(gunzip(&flipped, |_| {}), Gunzip::Corrupt));
    }
}
