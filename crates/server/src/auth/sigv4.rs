//! AWS Signature Version 4 verification, for the header form (`Authorization: AWS4-HMAC-SHA256
//! ...`) and the presigned query form (`X-Amz-Signature=...`).
//!
//! The server recomputes the signature from the request it received and the caller's secret, and
//! compares in constant time. The service and region come from the credential scope, so one
//! listener can serve CloudTrail, CloudTrail Data and S3.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// How far a request's X-Amz-Date may be from the server's clock.
pub const MAX_SKEW: Duration = Duration::from_secs(15 * 60);
/// Longest validity of a presigned URL (7 days, as S3).
pub const MAX_PRESIGN_EXPIRY: u64 = 7 * 24 * 3600;
/// The SHA-256 of an empty payload.
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// A request as received, borrowed.
pub struct Request<'a> {
    pub method: &'a str,
    /// The path as it arrived (percent-encoded by the client).
    pub path: &'a str,
    /// The raw query string, without `?`.
    pub query: &'a str,
    /// Header names in any case; a name may repeat.
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

impl Request<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// How a service canonicalises paths (S3 is the exception to the AWS rule).
#[derive(Debug, Clone, Copy)]
pub struct PathRules {
    /// Resolve `.`, `..` and repeated slashes.
    pub normalize: bool,
    /// URI-encode the path as received (so client-side encoding is encoded again).
    pub double_encode: bool,
}

impl PathRules {
    pub fn for_service(service: &str) -> PathRules {
        if service == "s3" {
            PathRules {
                normalize: false,
                double_encode: false,
            }
        } else {
            PathRules {
                normalize: true,
                double_encode: true,
            }
        }
    }
}

/// The credential scope of a signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub access_key_id: String,
    pub date: String,
    pub region: String,
    pub service: String,
}

/// A request whose signature verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub scope: Scope,
    /// When the client signed (X-Amz-Date).
    pub signed_at: SystemTime,
    pub presigned: bool,
    pub session_token: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigError {
    /// No Authorization header and no presigned query.
    #[error("Request is missing Authentication Token")]
    Missing,
    /// Authorization or presigned parameters are malformed or lack a part.
    #[error("{0}")]
    Incomplete(String),
    #[error("Unsupported signature algorithm {0}; only AWS4-HMAC-SHA256 is accepted")]
    Algorithm(String),
    /// The access key is not known.
    #[error("The security token included in the request is invalid.")]
    UnknownKey(String),
    #[error(
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
    )]
    Mismatch,
    /// X-Amz-Date too far from the server's clock, or a presigned URL past its expiry.
    #[error("{0}")]
    Expired(String),
    /// The scope names another date than X-Amz-Date, or is not `.../aws4_request`.
    #[error("{0}")]
    Scope(String),
}

/// Where secrets come from.
pub trait Secrets {
    /// The secret access key of `access_key_id`, if it exists.
    fn secret(&self, access_key_id: &str) -> Option<String>;
}

/// Verifies `req`, signed for any service; the caller checks that the scope's service is the one it
/// serves.
pub fn verify(req: &Request<'_>, secrets: &dyn Secrets, now: SystemTime) -> Result<Verified, SigError> {
    verify_with_rules(req, secrets, now, None)
}

/// [`verify`], with the path rules forced instead of derived from the scope's service (the AWS
/// signing test suite signs its generic "service" with S3's single encoding).
pub fn verify_with_rules(
    req: &Request<'_>,
    secrets: &dyn Secrets,
    now: SystemTime,
    rules: Option<PathRules>,
) -> Result<Verified, SigError> {
    let query = parse_query(req.query);
    let presigned = query.iter().any(|(k, _)| k == "X-Amz-Signature");
    let parts = if presigned {
        presigned_parts(&query)?
    } else {
        header_parts(req)?
    };
    if parts.algorithm != ALGORITHM {
        return Err(SigError::Algorithm(parts.algorithm));
    }
    let scope = parse_scope(&parts.credential)?;
    let signed_at = parse_amz_date(&parts.amz_date)?;
    if !parts.amz_date.starts_with(&scope.date) {
        return Err(SigError::Scope(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{}'",
            scope.date,
            &parts.amz_date[..8.min(parts.amz_date.len())]
        )));
    }
    check_time(&parts, signed_at, now)?;
    if !parts.signed_headers.iter().any(|h| h == "host") {
        return Err(SigError::Incomplete("The host header must be signed".into()));
    }
    let secret = secrets
        .secret(&scope.access_key_id)
        .ok_or_else(|| SigError::UnknownKey(scope.access_key_id.clone()))?;

    let body_hash = || hex(&Sha256::digest(req.body));
    // Presigned URLs normally carry no payload hash (UNSIGNED-PAYLOAD, as S3 signs them); some
    // signers use the body's hash instead, so that is tried second.
    let candidates: Vec<String> = if presigned {
        vec!["UNSIGNED-PAYLOAD".to_string(), body_hash()]
    } else {
        match req.header("x-amz-content-sha256") {
            Some("UNSIGNED-PAYLOAD") => vec!["UNSIGNED-PAYLOAD".to_string()],
            Some(claimed) => {
                if !claimed.eq_ignore_ascii_case(&body_hash()) {
                    // The body is not what was signed.
                    return Err(SigError::Mismatch);
                }
                vec![claimed.to_string()]
            }
            None => vec![body_hash()],
        }
    };
    let given = decode_hex(&parts.signature).ok_or(SigError::Mismatch)?;
    let rules = rules.unwrap_or_else(|| PathRules::for_service(&scope.service));
    let mut matched = false;
    for payload_hash in &candidates {
        let canonical = canonical_request(req, &query, presigned, &parts.signed_headers, payload_hash, rules)?;
        let expected = signature(&secret, &scope, &parts.amz_date, &canonical);
        // Constant time: how much of a forged signature is right must not show in the timing.
        matched |= given.len() == expected.len() && bool::from(expected.as_slice().ct_eq(&given));
    }
    if !matched {
        return Err(SigError::Mismatch);
    }
    Ok(Verified {
        scope,
        signed_at,
        presigned,
        session_token: parts.session_token,
    })
}

struct Parts {
    algorithm: String,
    credential: String,
    signed_headers: Vec<String>,
    signature: String,
    amz_date: String,
    expires: Option<u64>,
    session_token: Option<String>,
}

fn header_parts(req: &Request<'_>) -> Result<Parts, SigError> {
    let auth = req.header("authorization").ok_or(SigError::Missing)?;
    let (algorithm, rest) = auth.trim().split_once(' ').ok_or_else(|| {
        SigError::Incomplete(format!("Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters. Authorization={auth}"))
    })?;
    let mut credential = None;
    let mut signed = None;
    let mut signature = None;
    for part in rest.split(',') {
        let (k, v) = part.trim().split_once('=').unwrap_or((part.trim(), ""));
        match k {
            "Credential" => credential = Some(v.to_string()),
            "SignedHeaders" => signed = Some(v.to_string()),
            "Signature" => signature = Some(v.to_string()),
            _ => {}
        }
    }
    let missing = |what: &str| {
        SigError::Incomplete(format!(
            "Authorization header requires '{what}' parameter. Authorization={algorithm} ..."
        ))
    };
    let amz_date = req
        .header("x-amz-date")
        .or_else(|| req.header("date"))
        .ok_or_else(|| {
            SigError::Incomplete(
                "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.".into(),
            )
        })?
        .to_string();
    Ok(Parts {
        algorithm: algorithm.to_string(),
        credential: credential.ok_or_else(|| missing("Credential"))?,
        signed_headers: split_signed_headers(&signed.ok_or_else(|| missing("SignedHeaders"))?),
        signature: signature.ok_or_else(|| missing("Signature"))?,
        amz_date,
        expires: None,
        session_token: req.header("x-amz-security-token").map(str::to_string),
    })
}

fn presigned_parts(query: &[(String, String)]) -> Result<Parts, SigError> {
    let get = |k: &str| query.iter().find(|(qk, _)| qk == k).map(|(_, v)| v.clone());
    let need = |k: &str| {
        get(k).ok_or_else(|| SigError::Incomplete(format!("Query-string authentication requires the {k} parameter")))
    };
    let expires = need("X-Amz-Expires")?;
    let expires: u64 = expires
        .parse()
        .map_err(|_| SigError::Incomplete(format!("X-Amz-Expires must be a number of seconds, not {expires:?}")))?;
    if expires > MAX_PRESIGN_EXPIRY {
        return Err(SigError::Incomplete("X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds".into()));
    }
    Ok(Parts {
        algorithm: need("X-Amz-Algorithm")?,
        credential: need("X-Amz-Credential")?,
        signed_headers: split_signed_headers(&need("X-Amz-SignedHeaders")?),
        signature: need("X-Amz-Signature")?,
        amz_date: need("X-Amz-Date")?,
        expires: Some(expires),
        session_token: get("X-Amz-Security-Token"),
    })
}

fn split_signed_headers(s: &str) -> Vec<String> {
    s.split(';')
        .filter(|h| !h.is_empty())
        .map(|h| h.to_ascii_lowercase())
        .collect()
}

fn parse_scope(credential: &str) -> Result<Scope, SigError> {
    let parts: Vec<&str> = credential.split('/').collect();
    if parts.len() != 5 || parts.iter().any(|p| p.is_empty()) {
        return Err(SigError::Incomplete(format!(
            "Credential should be scoped to a valid region, service and date, like <key>/<YYYYMMDD>/<region>/<service>/aws4_request; got '{credential}'"
        )));
    }
    if parts[4] != "aws4_request" {
        return Err(SigError::Scope(format!(
            "Credential should be scoped with a valid terminator: 'aws4_request', not '{}'.",
            parts[4]
        )));
    }
    Ok(Scope {
        access_key_id: parts[0].to_string(),
        date: parts[1].to_string(),
        region: parts[2].to_string(),
        service: parts[3].to_string(),
    })
}

/// `YYYYMMDDTHHMMSSZ`, or an RFC 1123 `Date` header.
fn parse_amz_date(s: &str) -> Result<SystemTime, SigError> {
    let bad = || SigError::Incomplete(format!("X-Amz-Date {s:?} is not a date such as 20261123T120000Z"));
    let b = s.as_bytes();
    if b.len() == 16 && b[8] == b'T' && b[15] == b'Z' && b[..8].iter().chain(&b[9..15]).all(u8::is_ascii_digit) {
        let iso = format!(
            "{}-{}-{}T{}:{}:{}Z",
            &s[0..4],
            &s[4..6],
            &s[6..8],
            &s[9..11],
            &s[11..13],
            &s[13..15]
        );
        let t = cairn_model::EventTime::parse(&iso).map_err(|_| bad())?;
        return Ok(UNIX_EPOCH + Duration::from_millis(t.millis().max(0) as u64));
    }
    let t = jiff::fmt::rfc2822::parse(s).map_err(|_| bad())?.timestamp();
    Ok(UNIX_EPOCH + Duration::from_secs(t.as_second().max(0) as u64))
}

fn check_time(parts: &Parts, signed_at: SystemTime, now: SystemTime) -> Result<(), SigError> {
    let fmt = |t: SystemTime| {
        let secs = t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs() as i64;
        let (y, mo, d, h, mi, s) = cairn_model::time::civil(secs);
        format!("{y:04}{mo:02}{d:02}T{h:02}{mi:02}{s:02}Z")
    };
    match parts.expires {
        Some(expires) => {
            let until = signed_at + Duration::from_secs(expires);
            if now > until {
                return Err(SigError::Expired(format!(
                    "Request has expired: signed at {}, expired at {}",
                    parts.amz_date,
                    fmt(until)
                )));
            }
            if signed_at > now + MAX_SKEW {
                return Err(SigError::Expired(format!(
                    "Request is not yet valid: signed at {}, server time {}",
                    parts.amz_date,
                    fmt(now)
                )));
            }
        }
        None => {
            if signed_at + MAX_SKEW < now {
                return Err(SigError::Expired(format!(
                    "Signature expired: {} is now earlier than {} ({} - 15 min.)",
                    parts.amz_date,
                    fmt(now - MAX_SKEW),
                    fmt(now)
                )));
            }
            if signed_at > now + MAX_SKEW {
                return Err(SigError::Expired(format!(
                    "Signature not yet current: {} is still later than {} ({} + 15 min.)",
                    parts.amz_date,
                    fmt(now + MAX_SKEW),
                    fmt(now)
                )));
            }
        }
    }
    Ok(())
}

/// The SigV4 canonical request.
pub fn canonical_request(
    req: &Request<'_>,
    query: &[(String, String)],
    presigned: bool,
    signed_headers: &[String],
    payload_hash: &str,
    rules: PathRules,
) -> Result<String, SigError> {
    let mut out = String::with_capacity(256);
    out.push_str(req.method);
    out.push('\n');
    out.push_str(&canonical_uri(req.path, rules));
    out.push('\n');
    let mut pairs: Vec<(String, String)> = query
        .iter()
        .filter(|(k, _)| !(presigned && k == "X-Amz-Signature"))
        .map(|(k, v)| (uri_encode(k.as_bytes(), true), uri_encode(v.as_bytes(), true)))
        .collect();
    pairs.sort();
    out.push_str(
        &pairs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&"),
    );
    out.push('\n');
    // Signed headers in sorted order, values trimmed with inner runs of spaces collapsed, and
    // repeated headers joined with commas.
    let mut sorted: Vec<&String> = signed_headers.iter().collect();
    sorted.sort();
    sorted.dedup();
    for name in &sorted {
        let values: Vec<String> = req
            .headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        if values.is_empty() {
            return Err(SigError::Incomplete(format!(
                "Signed header {name} is not in the request"
            )));
        }
        out.push_str(name);
        out.push(':');
        out.push_str(&values.join(","));
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&sorted.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(";"));
    out.push('\n');
    out.push_str(payload_hash);
    Ok(out)
}

fn canonical_uri(raw: &str, rules: PathRules) -> String {
    let raw = if raw.is_empty() { "/" } else { raw };
    let encode = |seg: &str| -> String {
        if rules.double_encode {
            uri_encode(seg.as_bytes(), true)
        } else {
            uri_encode(&percent_decode(seg), true)
        }
    };
    if !rules.normalize {
        return raw.split('/').map(encode).collect::<Vec<_>>().join("/");
    }
    // RFC 3986 dot-segment removal, with empty segments dropped; a trailing slash is kept.
    let mut segments: Vec<&str> = Vec::new();
    for seg in raw.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            _ => segments.push(seg),
        }
    }
    let mut out = String::from("/");
    out.push_str(&segments.iter().map(|s| encode(s)).collect::<Vec<_>>().join("/"));
    if raw.len() > 1 && raw.ends_with('/') && !out.ends_with('/') {
        out.push('/');
    }
    out
}

/// Parses a raw query string into decoded (name, value) pairs, in order.
pub fn parse_query(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                String::from_utf8_lossy(&percent_decode(k)).into_owned(),
                String::from_utf8_lossy(&percent_decode(v)).into_owned(),
            )
        })
        .collect()
}

fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex_val(b[i + 1]), hex_val(b[i + 2]))
        {
            out.push(h * 16 + l);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// AWS URI encoding: unreserved characters stay, everything else is `%XX` (upper case).
pub fn uri_encode(b: &[u8], encode_slash: bool) -> String {
    let mut out = String::with_capacity(b.len() * 3);
    for &c in b {
        if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'~') || (c == b'/' && !encode_slash) {
            out.push(c as char);
        } else {
            out.push_str(&format!("%{c:02X}"));
        }
    }
    out
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("any key length works");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// The signing key for a scope.
pub fn signing_key(secret: &str, scope: &Scope) -> [u8; 32] {
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), scope.date.as_bytes());
    let k_region = hmac(&k_date, scope.region.as_bytes());
    let k_service = hmac(&k_region, scope.service.as_bytes());
    hmac(&k_service, b"aws4_request")
}

/// The string to sign for a canonical request.
pub fn string_to_sign(scope: &Scope, amz_date: &str, canonical: &str) -> String {
    format!(
        "{ALGORITHM}\n{amz_date}\n{}/{}/{}/aws4_request\n{}",
        scope.date,
        scope.region,
        scope.service,
        hex(&Sha256::digest(canonical.as_bytes()))
    )
}

fn signature(secret: &str, scope: &Scope, amz_date: &str, canonical: &str) -> [u8; 32] {
    hmac(
        &signing_key(secret, scope),
        string_to_sign(scope, amz_date, canonical).as_bytes(),
    )
}

pub fn hex(b: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 2);
    for &x in b {
        s.push(DIGITS[(x >> 4) as usize] as char);
        s.push(DIGITS[(x & 15) as usize] as char);
    }
    s
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    s.as_bytes()
        .chunks(2)
        .map(|p| Some(hex_val(p[0])? * 16 + hex_val(p[1])?))
        .collect()
}

/// The `X-Amz-Date` of `at` and the credential scope of a signature made then.
fn date_and_scope(at: SystemTime, access_key_id: &str, region: &str, service: &str) -> (String, Scope) {
    let secs = at.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs() as i64;
    let (y, mo, d, h, mi, s) = cairn_model::time::civil(secs);
    let amz_date = format!("{y:04}{mo:02}{d:02}T{h:02}{mi:02}{s:02}Z");
    let scope = Scope {
        access_key_id: access_key_id.into(),
        date: amz_date[..8].into(),
        region: region.into(),
        service: service.into(),
    };
    (amz_date, scope)
}

/// Presigns a request (query form, payload unsigned as S3 presigns) for `host`: returns the query
/// string to send, `params` followed by the `X-Amz-*` members. For links a browser can follow.
#[allow(clippy::too_many_arguments)]
pub fn presign(
    method: &str,
    path: &str,
    params: &[(String, String)],
    host: &str,
    access_key_id: &str,
    secret: &str,
    region: &str,
    service: &str,
    at: SystemTime,
    expires_secs: u64,
) -> String {
    let (amz_date, scope) = date_and_scope(at, access_key_id, region, service);
    let mut query: Vec<(String, String)> = params.to_vec();
    query.extend([
        ("X-Amz-Algorithm".to_string(), ALGORITHM.to_string()),
        (
            "X-Amz-Credential".to_string(),
            format!("{access_key_id}/{}/{region}/{service}/aws4_request", scope.date),
        ),
        ("X-Amz-Date".to_string(), amz_date.clone()),
        ("X-Amz-Expires".to_string(), expires_secs.to_string()),
        ("X-Amz-SignedHeaders".to_string(), "host".to_string()),
    ]);
    let headers = [("host".to_string(), host.to_string())];
    let req = Request {
        method,
        path,
        query: "",
        headers: &headers,
        body: b"",
    };
    let canonical = canonical_request(
        &req,
        &query,
        true,
        &["host".to_string()],
        "UNSIGNED-PAYLOAD",
        PathRules::for_service(service),
    )
    .expect("the host header is present");
    let sig = hex(&signature(secret, &scope, &amz_date, &canonical));
    query.push(("X-Amz-Signature".to_string(), sig));
    query
        .iter()
        .map(|(k, v)| format!("{}={}", uri_encode(k.as_bytes(), true), uri_encode(v.as_bytes(), true)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Signs a request (header form), for clients inside Cairn and for tests: returns the headers to add.
pub fn sign(
    req: &Request<'_>,
    access_key_id: &str,
    secret: &str,
    region: &str,
    service: &str,
    at: SystemTime,
) -> Vec<(String, String)> {
    let (amz_date, scope) = date_and_scope(at, access_key_id, region, service);
    let mut headers: Vec<(String, String)> = req.headers.to_vec();
    headers.push(("x-amz-date".into(), amz_date.clone()));
    let mut names: BTreeMap<String, ()> = BTreeMap::new();
    for (k, _) in &headers {
        names.insert(k.to_ascii_lowercase(), ());
    }
    let signed: Vec<String> = names.into_keys().collect();
    let payload = hex(&Sha256::digest(req.body));
    let signing = Request {
        headers: &headers,
        ..*req
    };
    let canonical = canonical_request(
        &signing,
        &parse_query(req.query),
        false,
        &signed,
        &payload,
        PathRules::for_service(service),
    )
    .expect("every signed header is present");
    let sig = hex(&signature(secret, &scope, &amz_date, &canonical));
    vec![
        ("x-amz-date".into(), amz_date),
        (
            "authorization".into(),
            format!(
                "{ALGORITHM} Credential={access_key_id}/{}/{region}/{service}/aws4_request, SignedHeaders={}, Signature={sig}",
                scope.date,
                signed.join(";")
            ),
        ),
    ]
}
