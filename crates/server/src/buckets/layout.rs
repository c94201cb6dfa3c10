//! How keys map to paths, and bucket naming rules.
//!
//! Each `/`-separated key segment is percent-encoded, keeping only ASCII letters, digits, `-` and
//! `_`; everything else (`.` included) becomes `%XX` with upper-case hex. An encoded segment
//! therefore never contains `.`, never starts with `.`, and is never `.` or `..`, so:
//! - a non-final segment is a directory named by its encoding;
//! - the final segment is the file `<enc>.o`;
//! - the empty segment (keys like `a//b` or `a/`) is written `~` (a literal `~` encodes as `%7E`);
//! - anything else in a bucket directory (`bucket.json`, `.tmp-*`) can never be mistaken for a key.
//!
//! File names are limited to 255 bytes, so an encoded segment longer than [`MAX_PLAIN`] is cut into
//! a chunk longer than `MAX_PLAIN` (the directory `<chunk>+`) and the rest, which is placed inside it
//! by the same rules. Because every chunk is longer than any plain name and chunks are cut at the
//! first unit boundary past `MAX_PLAIN`, no entry's name range is a prefix of another's, so a
//! depth-first walk over each directory's entries in decoded order yields keys in byte order.

use std::path::{Path, PathBuf};

/// Longest encoded segment stored as a plain name (leaves room for the `.o` / `+` suffix).
pub(crate) const MAX_PLAIN: usize = 240;

/// Longest key S3 accepts, in bytes.
pub const MAX_KEY_BYTES: usize = 1024;

/// What a directory entry stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EntryKind {
    /// `<enc>.o`: an object whose key is the directory's logical prefix plus the decoded name.
    Object,
    /// `<enc>`: keys continuing with the decoded name and `/`.
    Dir,
    /// `<enc>+`: keys continuing with the decoded name (a long segment cut in pieces).
    Continuation,
}

fn keep(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Percent-encodes `bytes` (no empty-segment marker).
fn encode_bytes(bytes: &[u8], out: &mut String) {
    for &b in bytes {
        if keep(b) {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 15) as usize] as char);
        }
    }
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes an encoded name (without suffix). Only the canonical encoding is accepted, so two
/// different names never decode to the same bytes.
pub(crate) fn decode_name(name: &str) -> Option<Vec<u8>> {
    if name == "~" {
        return Some(Vec::new());
    }
    if name.is_empty() {
        return None;
    }
    let b = name.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hi = hex_val(*b.get(i + 1)?)?;
            let lo = hex_val(*b.get(i + 2)?)?;
            let v = (hi << 4) | lo;
            if keep(v) {
                return None;
            }
            out.push(v);
            i += 3;
        } else if keep(b[i]) {
            out.push(b[i]);
            i += 1;
        } else {
            return None;
        }
    }
    Some(out)
}

/// Classifies a directory entry by name; None for anything that is not part of the key space.
pub(crate) fn parse_entry(name: &str, is_dir: bool) -> Option<(EntryKind, Vec<u8>)> {
    if is_dir {
        if let Some(stem) = name.strip_suffix('+') {
            // A chunk is always longer than a plain name; anything else is not ours.
            if stem.len() <= MAX_PLAIN {
                return None;
            }
            return decode_name(stem).map(|d| (EntryKind::Continuation, d));
        }
        if name.len() > MAX_PLAIN {
            return None;
        }
        decode_name(name).map(|d| (EntryKind::Dir, d))
    } else {
        let stem = name.strip_suffix(".o")?;
        if stem.len() > MAX_PLAIN {
            return None;
        }
        decode_name(stem).map(|d| (EntryKind::Object, d))
    }
}

/// The path components for one segment: continuation directories then the plain name.
fn segment_components(seg: &[u8], out: &mut Vec<String>) -> String {
    let mut enc = String::new();
    encode_bytes(seg, &mut enc);
    let mut rest = enc.as_str();
    while rest.len() > MAX_PLAIN {
        // Cut at the first encoded-unit boundary past MAX_PLAIN.
        let mut cut = 0;
        let b = rest.as_bytes();
        while cut <= MAX_PLAIN {
            cut += if b[cut] == b'%' { 3 } else { 1 };
        }
        out.push(format!("{}+", &rest[..cut]));
        rest = &rest[cut..];
    }
    if rest.is_empty() {
        "~".to_string()
    } else {
        rest.to_string()
    }
}

/// The file holding `key` inside `bucket_dir`, and the directories leading to it (outermost first).
pub(crate) fn object_path(bucket_dir: &Path, key: &str) -> (PathBuf, Vec<PathBuf>) {
    let segs: Vec<&[u8]> = key.as_bytes().split(|&b| b == b'/').collect();
    let mut comps = Vec::new();
    let mut dirs = Vec::new();
    let mut path = bucket_dir.to_path_buf();
    for (i, seg) in segs.iter().enumerate() {
        let plain = segment_components(seg, &mut comps);
        for c in comps.drain(..) {
            path.push(c);
            dirs.push(path.clone());
        }
        if i + 1 == segs.len() {
            path.push(format!("{plain}.o"));
        } else {
            path.push(plain);
            dirs.push(path.clone());
        }
    }
    (path, dirs)
}

/// The directory holding every key that starts with `prefix`'s complete segments, and the logical
/// prefix that directory stands for. Listing starts there instead of at the bucket root.
pub(crate) fn prefix_dir(bucket_dir: &Path, prefix: &[u8]) -> (PathBuf, Vec<u8>) {
    let Some(last_slash) = prefix.iter().rposition(|&b| b == b'/') else {
        return (bucket_dir.to_path_buf(), Vec::new());
    };
    let mut path = bucket_dir.to_path_buf();
    let mut comps = Vec::new();
    for seg in prefix[..last_slash].split(|&b| b == b'/') {
        let plain = segment_components(seg, &mut comps);
        for c in comps.drain(..) {
            path.push(c);
        }
        path.push(plain);
    }
    (path, prefix[..=last_slash].to_vec())
}

/// S3's bucket naming rules (general purpose buckets).
pub fn valid_bucket_name(name: &str) -> bool {
    let b = name.as_bytes();
    if !(3..=63).contains(&b.len()) {
        return false;
    }
    if !b
        .iter()
        .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'.' || c == b'-')
    {
        return false;
    }
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    if !alnum(b[0]) || !alnum(b[b.len() - 1]) || name.contains("..") {
        return false;
    }
    if name.parse::<std::net::Ipv4Addr>().is_ok() {
        return false;
    }
    const BAD_PREFIXES: [&str; 3] = ["xn--", "sthree-", "amzn-s3-demo-"];
    const BAD_SUFFIXES: [&str; 5] = ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"];
    !BAD_PREFIXES.iter().any(|p| name.starts_with(p)) && !BAD_SUFFIXES.iter().any(|s| name.ends_with(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_round_trips_and_never_has_dots() {
        for seg in ["", ".", "..", "a.b", "~", "%41", "é", " x ", "a+b", "AZaz09-_"] {
            let mut comps = Vec::new();
            let plain = segment_components(seg.as_bytes(), &mut comps);
            assert!(comps.is_empty());
            assert!(!plain.contains('.'), "{plain}");
            assert_eq!(decode_name(&plain).unwrap(), seg.as_bytes());
        }
        assert!(decode_name("%41").is_none(), "non-canonical encodings are refused");
        assert!(decode_name("%2e").is_none());
        assert!(decode_name("a.b").is_none());
    }

    #[test]
    fn long_segments_are_chunked_below_name_limit() {
        let seg = "é".repeat(300);
        let (path, dirs) = object_path(Path::new("/b"), &seg);
        assert!(!dirs.is_empty());
        for c in path.components() {
            assert!(c.as_os_str().len() <= 255);
        }
    }

    #[test]
    fn bucket_names() {
        for ok in ["abc", "my.bucket-1", "a1b", &"a".repeat(63)] {
            assert!(valid_bucket_name(ok), "{ok}");
        }
        for bad in [
            "ab",
            "Abc",
            "-abc",
            "abc-",
            "a..b",
            "192.168.1.1",
            "a_b",
            "xn--abc",
            &"a".repeat(64),
            "abc.",
            "",
        ] {
            assert!(!valid_bucket_name(bad), "{bad}");
        }
    }
}
