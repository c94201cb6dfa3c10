//! Byte-level JSON helpers that never re-serialise a record: audit data keeps its own bytes.

/// Removes insignificant whitespace from a JSON text, leaving every token (strings, escapes, number
/// spellings, key order) exactly as written. Compact input (what CloudTrail delivers) comes back
/// byte-identical. The input must already be valid JSON.
pub fn minify(json: &str) -> String {
    let bytes = json.as_bytes();
    // Fast path: already compact.
    if !has_insignificant_whitespace(bytes) {
        return json.to_owned();
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut in_string = false;
    let mut escaped = false;
    for &b in bytes {
        if in_string {
            out.push(b);
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
        } else if b == b'"' {
            in_string = true;
            out.push(b);
        } else if !matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
            out.push(b);
        }
    }
    // Only ASCII whitespace outside strings was removed, so the bytes are still valid UTF-8.
    String::from_utf8(out).expect("removing ASCII whitespace keeps UTF-8 valid")
}

fn has_insignificant_whitespace(bytes: &[u8]) -> bool {
    let mut in_string = false;
    let mut escaped = false;
    for &b in bytes {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
        } else if b == b'"' {
            in_string = true;
        } else if matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::minify;

    #[test]
    fn keeps_strings_and_order() {
        let src = "{ \"b\" : [1, 2.50, 1e3],\n \"a\":\"x y\\\" z\\\\\" , \"c\": {\"k\" : null}}";
        assert_eq!(minify(src), r#"{"b":[1,2.50,1e3],"a":"x y\" z\\","c":{"k":null}}"#);
        let compact = r#"{"z":1,"a":"  "}"#;
        assert_eq!(minify(compact), compact);
    }
}
