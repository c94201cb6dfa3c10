//! S3's wire details: XML bodies, timestamps, URL encodings, the error body.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use jiff::Timestamp;

pub const NS: &str = "http://s3.amazonaws.com/doc/2006-03-01/";

pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

fn xml_unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// Appends `<name>escaped value</name>`.
pub fn elem(out: &mut String, name: &str, value: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    out.push_str(&xml_escape(value));
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

/// `2026-11-24T02:41:09.000Z`, as S3 writes timestamps in XML.
pub fn iso8601(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// `Tue, 24 Nov 2026 02:41:09 GMT`, for Last-Modified.
pub fn http_date(t: Timestamp) -> String {
    t.strftime("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// `encoding-type=url`: percent-encodes everything but unreserved characters and `/`, the way
/// S3 does; `+` and space are both encoded, so `unquote` and `unquote_plus` both read it back.
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes `%XX` escapes in a raw URI path; None for a malformed escape or non-UTF-8 result.
pub fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            if !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
                return None;
            }
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Reads `CreateBucketConfiguration`: Ok(None) for an empty body, Ok(Some(constraint)) otherwise
/// (empty when the element is absent or empty), Err for something that isn't that document.
pub fn parse_create_bucket_configuration(body: &[u8]) -> Result<Option<String>, ()> {
    let text = std::str::from_utf8(body).map_err(|_| ())?.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if !text.contains("<CreateBucketConfiguration") || !text.contains("</CreateBucketConfiguration>") {
        return Err(());
    }
    let Some(start) = text.find("<LocationConstraint>") else {
        return Ok(Some(String::new()));
    };
    let rest = &text[start + "<LocationConstraint>".len()..];
    let end = rest.find("</LocationConstraint>").ok_or(())?;
    Ok(Some(xml_unescape(rest[..end].trim())))
}

/// An XML response with S3's content type.
pub fn xml_response(status: StatusCode, body: String) -> Response {
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/xml"));
    resp
}

/// S3's XML error body. (Same shape as `api::error::s3_error`; kept here while that module is not
/// part of the build, so this facade compiles on its own.)
pub fn error_response(status: StatusCode, code: &str, message: &str, request_id: &str) -> Response {
    let mut body = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>");
    elem(&mut body, "Code", code);
    elem(&mut body, "Message", message);
    elem(&mut body, "RequestId", request_id);
    body.push_str("</Error>");
    xml_response(status, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        let t: Timestamp = "2026-11-24T02:41:09Z".parse().unwrap();
        assert_eq!(iso8601(t), "2026-11-24T02:41:09.000Z");
        assert_eq!(http_date(t), "Tue, 24 Nov 2026 02:41:09 GMT");
        assert_eq!(url_encode("a b+c/é~"), "a%20b%2Bc/%C3%A9~");
        assert_eq!(percent_decode("a%20b%2Fc+").as_deref(), Some("a b/c+"));
        assert_eq!(percent_decode("%zz"), None);
        assert_eq!(percent_decode("%+1"), None);
        assert!(!super::super::is_transport_param("aaaaaé"));
        assert_eq!(percent_decode("%C3"), None);
    }

    #[test]
    fn create_bucket_configuration() {
        assert_eq!(parse_create_bucket_configuration(b"  "), Ok(None));
        let doc = format!(
            "<CreateBucketConfiguration xmlns=\"{NS}\"><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>"
        );
        assert_eq!(
            parse_create_bucket_configuration(doc.as_bytes()),
            Ok(Some("eu-west-1".into()))
        );
        assert_eq!(
            parse_create_bucket_configuration(b"<CreateBucketConfiguration/></CreateBucketConfiguration>"),
            Ok(Some(String::new()))
        );
        assert_eq!(parse_create_bucket_configuration(b"<Nope/>"), Err(()));
    }
}
