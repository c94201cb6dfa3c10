//! Event times. CloudTrail writes `YYYY-MM-DDTHH:MM:SSZ`; other producers send fractions or offsets.
//! Times are kept as milliseconds since the Unix epoch (UTC) so that ordering is a plain integer compare.

use std::fmt;

/// Milliseconds since 1970-01-01T00:00:00Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct EventTime(pub i64);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid event time {0:?}: expected an ISO-8601 UTC time such as 2024-05-01T10:02:03Z")]
pub struct InvalidTime(pub String);

impl EventTime {
    pub const MIN: EventTime = EventTime(i64::MIN);
    pub const MAX: EventTime = EventTime(i64::MAX);

    pub fn from_millis(ms: i64) -> Self {
        EventTime(ms)
    }

    pub fn from_secs(s: i64) -> Self {
        EventTime(s.saturating_mul(1000))
    }

    pub fn millis(self) -> i64 {
        self.0
    }

    pub fn now() -> Self {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        EventTime(d.as_millis() as i64)
    }

    /// Parses an event time. The exact CloudTrail form is parsed by hand (it is on the ingest hot
    /// path); anything else goes through jiff, which accepts RFC 3339 with fractions and offsets.
    pub fn parse(s: &str) -> Result<Self, InvalidTime> {
        if let Some(t) = parse_cloudtrail_fast(s.as_bytes()) {
            return Ok(t);
        }
        s.parse::<jiff::Timestamp>()
            .map(|ts| EventTime(ts.as_millisecond()))
            .map_err(|_| InvalidTime(s.to_string()))
    }

    /// `YYYY-MM-DDTHH:MM:SSZ`, the form CloudTrail uses in records (sub-second part dropped).
    pub fn to_cloudtrail_string(self) -> String {
        let (y, mo, d, h, mi, s) = civil(self.0.div_euclid(1000));
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
    }

    /// `YYYYMMDDTHHMMZ`, the minute stamp in log file names.
    pub fn to_file_minute_stamp(self) -> String {
        let (y, mo, d, h, mi, _) = civil(self.0.div_euclid(1000));
        format!("{y:04}{mo:02}{d:02}T{h:02}{mi:02}Z")
    }
}

impl fmt::Display for EventTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_cloudtrail_string())
    }
}

fn digits(b: &[u8]) -> Option<i64> {
    let mut v = 0i64;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + i64::from(c - b'0');
    }
    Some(v)
}

fn parse_cloudtrail_fast(b: &[u8]) -> Option<EventTime> {
    if b.len() != 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' || b[19] != b'Z'
    {
        return None;
    }
    let (y, mo, d) = (digits(&b[0..4])?, digits(&b[5..7])?, digits(&b[8..10])?);
    let (h, mi, s) = (digits(&b[11..13])?, digits(&b[14..16])?, digits(&b[17..19])?);
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let days = days_from_civil(y, mo, d);
    Some(EventTime((days * 86_400 + h * 3600 + mi * 60 + s) * 1000))
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    }
}

// Howard Hinnant's days-from-civil and its inverse: exact for the proleptic Gregorian calendar.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// (year, month, day, hour, minute, second) of a Unix time in seconds.
pub fn civil(secs: i64) -> (i64, i64, i64, i64, i64, i64) {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d, rem / 3600, (rem % 3600) / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_path_matches_jiff() {
        for s in [
            "2023-07-10T11:42:36Z",
            "1970-01-01T00:00:00Z",
            "2024-02-29T23:59:59Z",
            "2100-12-31T00:00:01Z",
        ] {
            let fast = parse_cloudtrail_fast(s.as_bytes()).unwrap();
            let slow = s.parse::<jiff::Timestamp>().unwrap().as_millisecond();
            assert_eq!(fast.0, slow, "{s}");
            assert_eq!(fast.to_cloudtrail_string(), s);
        }
    }

    #[test]
    fn other_forms_and_errors() {
        assert_eq!(EventTime::parse("2023-07-10T11:42:36.250Z").unwrap().0 % 1000, 250);
        assert_eq!(
            EventTime::parse("2023-07-10T13:42:36+02:00").unwrap(),
            EventTime::parse("2023-07-10T11:42:36Z").unwrap()
        );
        assert!(EventTime::parse("2023-02-30T00:00:00Z").is_err());
        assert!(EventTime::parse("yesterday").is_err());
        assert_eq!(
            EventTime::parse("2015-08-01T02:10:00Z").unwrap().to_file_minute_stamp(),
            "20150801T0210Z"
        );
    }
}
