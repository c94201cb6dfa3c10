//! Byte-level JSON helpers that never re-serialise a record: audit data keeps its own bytes.

/// Removes insignificant whitespace from a JSON text, leaving every token (strings, escapes, number
/// spellings, key order) exactly as written. Compact input (what CloudTrail delivers) comes back
/// byte-identical. The input must already be valid JSON.
pub fn minify(json: &str) -> String {
    let bytes = json.as_bytes();
    let Some(first) = first_insignificant_whitespace(bytes) else {
        return json.to_owned();
    };
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&bytes[..first]);
    let mut i = first;
    // `first` is outside any string.
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'"' {
            let end = string_end(bytes, i);
            out.extend_from_slice(&bytes[i..end]);
            i = end;
        } else {
            if !matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
                out.push(b);
            }
            i += 1;
        }
    }
    // Only ASCII whitespace outside strings was removed, so the bytes are still valid UTF-8.
    String::from_utf8(out).expect("removing ASCII whitespace keeps UTF-8 valid")
}

/// Index just past the string starting with the quote at `start` (or the end of input).
fn string_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while let Some(rel) = memchr::memchr2(b'"', b'\\', &bytes[i..]) {
        i += rel;
        if bytes[i] == b'\\' {
            i += 2;
        } else {
            return i + 1;
        }
    }
    bytes.len()
}

/// Position of the first whitespace byte outside a string, if any. JSON strings cannot hold raw
/// tabs or line breaks, so any of those is outside one; only spaces need the string check.
fn first_insignificant_whitespace(bytes: &[u8]) -> Option<usize> {
    let control = memchr::memchr3(b'\n', b'\r', b'\t', bytes);
    let limit = control.unwrap_or(bytes.len());
    // A space before `limit`, if outside a string, comes first.
    let mut i = 0;
    while let Some(rel) = memchr::memchr2(b'"', b' ', &bytes[i..limit]) {
        i += rel;
        if bytes[i] == b' ' {
            return Some(i);
        }
        i = string_end(bytes, i);
        if i >= limit {
            break;
        }
    }
    control
}

#[cfg(test)]
mod tests {
    use super::minify;

    #[test]
    fn keeps_strings_and_order() {
        assert_eq!(minify("{\"a\":\"x\\\\\", \"b\": 1}"), "{\"a\":\"x\\\\\",\"b\":1}");
        assert_eq!(minify("[\"tab\\t\",\n1]"), "[\"tab\\t\",1]");
        assert_eq!(minify("\"a b\""), "\"a b\"");
        let src = "{ \"b\" : [1, 2.50, 1e3],\n \"a\":\"x y\\\" z\\\\\" , \"c\": {\"k\" : null}}";
        assert_eq!(minify(src), r#"{"b":[1,2.50,1e3],"a":"x y\" z\\","c":{"k":null}}"#);
        let compact = r#"{"z":1,"a":"  "}"#;
        assert_eq!(minify(compact), compact);
    }

    #[test]
    fn pretty_printed_values_come_back_compact() {
        let v = serde_json::json!({
            "s": "with spaces, \"quotes\", back\\slash\\ and \n newline \t tab",
            "u": "Zürich 東京 🙂",
            "n": [1, -2.5, 1e10, 0],
            "o": {"empty": {}, "list": [], "null": null, "t": true},
            " key with space ": " value "
        });
        let pretty = serde_json::to_string_pretty(&v).unwrap();
        assert_eq!(minify(&pretty), serde_json::to_string(&v).unwrap());
        let compact = serde_json::to_string(&v).unwrap();
        assert_eq!(minify(&compact), compact);
    }
}
