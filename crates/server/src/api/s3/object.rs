//! GetObject and HeadObject.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;

use super::xml::http_date;
use super::{Ctx, S3Error, bucket_arn, object_arn};
use crate::buckets::{BucketError, ByteRange, ObjectInfo};

/// Parses a `Range` header. None means "serve the whole object": S3 ignores syntactically invalid
/// and multi-range headers rather than failing.
pub(super) fn parse_range(value: &str) -> Option<ByteRange> {
    let spec = value.trim().strip_prefix("bytes=")?.trim();
    if spec.contains(',') {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let num = |s: &str| s.trim().parse::<u64>().ok();
    match (a.trim().is_empty(), b.trim().is_empty()) {
        (true, false) => Some(ByteRange::Suffix(num(b)?)),
        (false, true) => Some(ByteRange::From(num(a)?)),
        (false, false) => {
            let (a, b) = (num(a)?, num(b)?);
            (a <= b).then_some(ByteRange::FromTo(a, b))
        }
        (true, true) => None,
    }
}

pub(super) fn get_object(ctx: &mut Ctx<'_, '_>, bucket: &str, key: &str, head: bool) -> Result<Response, S3Error> {
    ctx.authorize("s3:GetObject", &object_arn(bucket, key))?;
    ctx.owned_bucket(bucket)?;
    if ctx.param("versionId").is_some_and(|v| v != "null") {
        return Err(S3Error::new(
            StatusCode::NOT_FOUND,
            "NoSuchVersion",
            "The specified version does not exist.",
        ));
    }
    if ctx.param("partNumber").is_some_and(|v| v != "1") {
        return Err(S3Error::new(
            StatusCode::RANGE_NOT_SATISFIABLE,
            "InvalidPartNumber",
            "The requested partnumber is not satisfiable",
        ));
    }
    let range = ctx
        .req
        .headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_range);
    let result = if head {
        // HEAD reads only the header; a range still shapes the status and lengths.
        ctx.buckets.head_object(bucket, key).and_then(|info| {
            let span = match range {
                Some(r) => Some(r.resolve(info.size).ok_or(BucketError::InvalidRange)?),
                None => None,
            };
            Ok((info, Vec::new(), span))
        })
    } else {
        ctx.buckets
            .get_object(bucket, key, range)
            .map(|d| (d.info, d.body, d.range))
    };
    let (info, body, span) = match result {
        Ok(x) => x,
        // Without permission to list the bucket, S3 doesn't reveal that a key is missing.
        Err(BucketError::NoSuchKey) if !ctx.access.allowed("s3:ListBucket", &bucket_arn(bucket)) => {
            return Err(S3Error::access_denied());
        }
        Err(e) => return Err(e.into()),
    };
    let length = match span {
        Some((a, b)) => b - a + 1,
        None => info.size,
    };
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = if span.is_some() {
        StatusCode::PARTIAL_CONTENT
    } else {
        StatusCode::OK
    };
    let h = resp.headers_mut();
    object_headers(h, &info);
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    if let Some((a, b)) = span
        && let Ok(v) = HeaderValue::from_str(&format!("bytes {a}-{b}/{}", info.size))
    {
        h.insert(header::CONTENT_RANGE, v);
    }
    response_overrides(ctx, h);
    if !head {
        ctx.audit.bytes_out = length;
    }
    Ok(resp)
}

fn object_headers(h: &mut HeaderMap, info: &ObjectInfo) {
    let content_type = info.content_type.as_deref().unwrap_or("binary/octet-stream");
    if let Ok(v) = HeaderValue::from_str(content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    if let Some(v) = info
        .content_encoding
        .as_deref()
        .and_then(|e| HeaderValue::from_str(e).ok())
    {
        h.insert(header::CONTENT_ENCODING, v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("\"{}\"", info.etag)) {
        h.insert(header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(&http_date(info.last_modified)) {
        h.insert(header::LAST_MODIFIED, v);
    }
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    for (name, value) in &info.user {
        let name = HeaderName::from_bytes(format!("x-amz-meta-{name}").as_bytes());
        if let (Ok(n), Ok(v)) = (name, HeaderValue::from_bytes(value.as_bytes())) {
            h.insert(n, v);
        }
    }
}

/// `response-content-type=...` and friends replace the stored headers, as in S3.
fn response_overrides(ctx: &Ctx<'_, '_>, h: &mut HeaderMap) {
    const OVERRIDES: [(&str, HeaderName); 6] = [
        ("response-content-type", header::CONTENT_TYPE),
        ("response-content-language", header::CONTENT_LANGUAGE),
        ("response-expires", header::EXPIRES),
        ("response-cache-control", header::CACHE_CONTROL),
        ("response-content-disposition", header::CONTENT_DISPOSITION),
        ("response-content-encoding", header::CONTENT_ENCODING),
    ];
    for (param, name) in OVERRIDES {
        if let Some(v) = ctx.param(param).and_then(|v| HeaderValue::from_str(v).ok()) {
            h.insert(name, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_headers() {
        assert_eq!(parse_range("bytes=0-9"), Some(ByteRange::FromTo(0, 9)));
        assert_eq!(parse_range("bytes=5-"), Some(ByteRange::From(5)));
        assert_eq!(parse_range("bytes=-5"), Some(ByteRange::Suffix(5)));
        assert_eq!(parse_range("bytes=9-0"), None);
        assert_eq!(parse_range("bytes=0-1,3-4"), None);
        assert_eq!(parse_range("items=0-1"), None);
        assert_eq!(parse_range("bytes=-"), None);
    }
}
