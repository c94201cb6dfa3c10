//! Object keys as validate-logs reads them: the digest folder, which listed keys are digests of
//! the trail, the date at a fixed offset from a key's end, and log file names.

use super::Request;

/// `[prefix/]AWSLogs/[o-id/]<account>/`.
pub(crate) fn account_base(req: &Request) -> String {
    let mut s = String::new();
    if let Some(p) = req.prefix.as_deref().filter(|p| !p.is_empty()) {
        s.push_str(p.trim_end_matches('/'));
        s.push('/');
    }
    s.push_str("AWSLogs/");
    if let Some(o) = req.org_id.as_deref().filter(|o| !o.is_empty()) {
        s.push_str(o);
        s.push('/');
    }
    s.push_str(&req.account_id);
    s.push('/');
    s
}

/// What digest keys are listed under: `[prefix/]AWSLogs/[o-id/]<account>/CloudTrail-Digest/<source region>`
/// (no trailing slash, as the aws CLI lists).
pub(crate) fn digest_list_prefix(req: &Request) -> String {
    format!("{}CloudTrail-Digest/{}", account_base(req), req.source_region)
}

/// The folder of the source region's log files: `[prefix/]AWSLogs/[o-id/]<account>/CloudTrail/<source region>/`.
pub(crate) fn log_list_prefix(req: &Request) -> String {
    format!("{}CloudTrail/{}/", account_base(req), req.source_region)
}

/// A listed key's kind when it is a digest of this trail and source region (the aws CLI's key
/// regex): `Some(false)` standard, `Some(true)` backfill, `None` anything else.
pub(crate) fn digest_kind(req: &Request, list_prefix: &str, key: &str) -> Option<bool> {
    let rest = key.strip_prefix(list_prefix)?.strip_prefix('/')?;
    let mut rest = rest;
    for _ in 0..3 {
        let (seg, tail) = rest.split_once('/')?;
        if seg.is_empty() || !seg.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        rest = tail;
    }
    let name = format!(
        "{}_CloudTrail-Digest_{}_{}_{}_",
        req.account_id, req.source_region, req.trail_name, req.home_region
    );
    let tail = rest.strip_prefix(&name)?;
    let stem = tail.strip_suffix(".json.gz")?;
    if stem.is_empty() || key.len() < 24 {
        return None;
    }
    Some(key.ends_with("_backfill.json.gz") && key.len() >= 33)
}

/// The date validate-logs reads from a digest key: `key[-24:-8]`, or `key[-33:-17]` for backfill
/// digests (`YYYYMMDDTHHMMSSZ`).
pub(crate) fn key_date(key: &str) -> &str {
    let (from, to) = if key.ends_with("_backfill.json.gz") {
        (33, 17)
    } else {
        (24, 8)
    };
    if key.len() < from {
        return "";
    }
    key.get(key.len() - from..key.len() - to).unwrap_or("")
}

/// `YYYYMMDDTHHMMSSZ` of `secs`.
pub(crate) fn format_key_date(secs: i64) -> String {
    jiff::Timestamp::from_second(secs)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .strftime("%Y%m%dT%H%M%SZ")
        .to_string()
}

/// Seconds of a `YYYYMMDDTHHMMSSZ` key date.
pub(crate) fn parse_key_date(s: &str) -> Option<i64> {
    if s.len() != 16 || !s.ends_with('Z') {
        return None;
    }
    let t = jiff::civil::DateTime::strptime("%Y%m%dT%H%M%S", &s[..15]).ok()?;
    Some(t.to_zoned(jiff::tz::TimeZone::UTC).ok()?.timestamp().as_second())
}

/// Seconds of a digest time (`2015-08-17T14:01:31Z`, or any RFC 3339 time).
pub(crate) fn parse_time(s: &str) -> Option<i64> {
    s.parse::<jiff::Timestamp>().ok().map(|t| t.as_second())
}

/// `YYYY/MM/DD` of `secs`, the day folder of keys dated then.
pub(crate) fn day_folder(secs: i64) -> String {
    jiff::Timestamp::from_second(secs)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .strftime("%Y/%m/%d")
        .to_string()
}

/// The minute (seconds) in a log file's name
/// `<account>_CloudTrail_<region>_<YYYYMMDDTHHMMZ>_<unique>.json.gz`, when `key` is one of
/// this account's and region's log files.
pub(crate) fn log_file_minute(req: &Request, key: &str) -> Option<i64> {
    let name = key.rsplit('/').next()?;
    let rest = name.strip_prefix(&format!("{}_CloudTrail_{}_", req.account_id, req.source_region))?;
    if !rest.ends_with(".json.gz") {
        return None;
    }
    let date = rest.get(..14)?;
    if !date.ends_with('Z') || rest.as_bytes().get(14) != Some(&b'_') {
        return None;
    }
    let t = jiff::civil::DateTime::strptime("%Y%m%dT%H%M", &date[..13]).ok()?;
    Some(t.to_zoned(jiff::tz::TimeZone::UTC).ok()?.timestamp().as_second())
}
