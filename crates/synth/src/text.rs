//! Small, allocation-free writers for JSON text, numbers and CloudTrail's time formats.

/// Appends `s` with JSON string escaping (without the surrounding quotes).
pub(crate) fn esc(out: &mut String, s: &str) {
    if !s.bytes().any(|c| c == b'"' || c == b'\\' || c < 0x20) {
        out.push_str(s);
        return;
    }
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                out.push_str("\\u00");
                out.push(HEX[(c as usize) >> 4] as char);
                out.push(HEX[(c as usize) & 15] as char);
            }
            c => out.push(c),
        }
    }
}

/// Appends `"key":"value"` (the value escaped; the key is trusted).
pub(crate) fn kv(out: &mut String, key: &str, value: &str) {
    out.push('"');
    out.push_str(key);
    out.push_str("\":\"");
    esc(out, value);
    out.push('"');
}

pub(crate) const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends the decimal form of `n`.
pub(crate) fn num(out: &mut String, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &b in &buf[i..] {
        out.push(b as char);
    }
}

/// Appends a signed decimal.
pub(crate) fn inum(out: &mut String, n: i64) {
    if n < 0 {
        out.push('-');
    }
    num(out, n.unsigned_abs());
}

fn two(out: &mut String, n: u32) {
    out.push((b'0' + (n / 10 % 10) as u8) as char);
    out.push((b'0' + (n % 10) as u8) as char);
}

/// (year, month, day, hour, minute, second) of a Unix time in seconds (proleptic Gregorian, UTC).
pub(crate) fn civil(secs: i64) -> (i64, u32, u32, u32, u32, u32) {
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400) as u32;
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d, sod / 3600, sod / 60 % 60, sod % 60)
}

/// Appends `YYYY-MM-DDTHH:MM:SSZ`.
pub(crate) fn iso_time(out: &mut String, secs: i64) {
    let (y, mo, d, h, mi, s) = civil(secs);
    let y = y.clamp(0, 9999) as u32;
    two(out, y / 100);
    two(out, y % 100);
    out.push('-');
    two(out, mo);
    out.push('-');
    two(out, d);
    out.push('T');
    two(out, h);
    out.push(':');
    two(out, mi);
    out.push(':');
    two(out, s);
    out.push('Z');
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Appends the form AWS's Java services use inside responseElements: `Jul 10, 2023, 12:55:24 PM`.
pub(crate) fn human_time(out: &mut String, secs: i64) {
    let (y, mo, d, h, mi, s) = civil(secs);
    out.push_str(MONTHS[(mo - 1) as usize]);
    out.push(' ');
    num(out, u64::from(d));
    out.push_str(", ");
    inum(out, y);
    out.push_str(", ");
    let h12 = if h % 12 == 0 { 12 } else { h % 12 };
    num(out, u64::from(h12));
    out.push(':');
    two(out, mi);
    out.push(':');
    two(out, s);
    out.push_str(if h < 12 { " AM" } else { " PM" });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        let mut s = String::new();
        iso_time(&mut s, 1_688_990_121);
        assert_eq!(s, "2023-07-10T11:55:21Z");
        s.clear();
        human_time(&mut s, 1_688_990_124 + 3600);
        assert_eq!(s, "Jul 10, 2023, 12:55:24 PM");
        s.clear();
        iso_time(&mut s, 951_782_400); // leap day
        assert_eq!(s, "2000-02-29T00:00:00Z");
        s.clear();
        human_time(&mut s, 0);
        assert_eq!(s, "Jan 1, 1970, 12:00:00 AM");
    }

    #[test]
    fn escaping() {
        let mut s = String::new();
        kv(&mut s, "k", "a\"b\\c\n\u{1}é");
        assert_eq!(s, r#""k":"a\"b\\c\n\u0001é""#);
        let s = format!("{{{s}}}");
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["k"], "a\"b\\c\n\u{1}é");
        let mut s = String::new();
        num(&mut s, 0);
        inum(&mut s, -42);
        num(&mut s, u64::MAX);
        assert_eq!(s, "0-4218446744073709551615");
    }
}
