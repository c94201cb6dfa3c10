//! Service- and bucket-level operations: ListBuckets, CreateBucket, DeleteBucket, HeadBucket,
//! GetBucketLocation, ListObjects (v1 and v2).

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::json;

use super::xml::{self, NS, elem, iso8601, url_encode};
use super::{Ctx, S3Error, bucket_arn};
use crate::buckets::{BucketError, ListRequest};

/// S3's page size limit for listings.
const MAX_KEYS: usize = 1000;

fn empty(status: StatusCode) -> Response {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = status;
    r
}

fn ok_xml(ctx: &mut Ctx<'_, '_>, body: String) -> Result<Response, S3Error> {
    ctx.audit.bytes_out = body.len() as u64;
    Ok(xml::xml_response(StatusCode::OK, body))
}

fn owner(out: &mut String, account: &str) {
    out.push_str("<Owner>");
    elem(out, "ID", account);
    elem(out, "DisplayName", account);
    out.push_str("</Owner>");
}

pub(super) fn list_buckets(ctx: &mut Ctx<'_, '_>) -> Result<Response, S3Error> {
    ctx.authorize("s3:ListAllMyBuckets", "*")?;
    let account = ctx.access.account_id().to_string();
    let all = ctx.buckets.list_buckets().map_err(BucketError::from)?;
    let mut body = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListAllMyBucketsResult xmlns=\"{NS}\">");
    owner(&mut body, &account);
    body.push_str("<Buckets>");
    for b in all.iter().filter(|b| b.owner_account_id == account) {
        body.push_str("<Bucket>");
        elem(&mut body, "Name", &b.name);
        elem(&mut body, "CreationDate", &iso8601(b.created));
        elem(&mut body, "BucketRegion", &b.region);
        body.push_str("</Bucket>");
    }
    body.push_str("</Buckets></ListAllMyBucketsResult>");
    ok_xml(ctx, body)
}

pub(super) fn create_bucket(ctx: &mut Ctx<'_, '_>, name: &str) -> Result<Response, S3Error> {
    ctx.audit.management = true;
    ctx.authorize("s3:CreateBucket", &bucket_arn(name))?;
    let constraint = xml::parse_create_bucket_configuration(ctx.req.body).map_err(|()| {
        S3Error::new(
            StatusCode::BAD_REQUEST,
            "MalformedXML",
            "The XML you provided was not well-formed or did not validate against our published schema",
        )
    })?;
    let region = ctx.req.region.to_string();
    if let Some(c) = &constraint {
        ctx.set_param(
            "CreateBucketConfiguration",
            json!({"LocationConstraint": c, "xmlns": NS}),
        );
        // An empty constraint means us-east-1; a named one must be where the request was sent.
        let wanted = if c.is_empty() { "us-east-1" } else { c.as_str() };
        if wanted != region {
            return Err(S3Error::new(
                StatusCode::BAD_REQUEST,
                "IllegalLocationConstraintException",
                format!(
                    "The {wanted} location constraint is incompatible for the region specific endpoint this request was sent to."
                ),
            ));
        }
    }
    let account = ctx.access.account_id().to_string();
    match ctx.buckets.create_bucket(name, &account, &region) {
        Ok(_) => {}
        // us-east-1 keeps S3's legacy answer: re-creating your own bucket there succeeds.
        Err(BucketError::BucketAlreadyOwnedByYou)
            if region == "us-east-1" && ctx.buckets.bucket(name).is_some_and(|b| b.region == region) => {}
        Err(e) => return Err(e.into()),
    }
    for r in &mut ctx.audit.resources {
        r["accountId"] = json!(account);
    }
    let mut resp = empty(StatusCode::OK);
    if let Ok(v) = HeaderValue::from_str(&format!("/{name}")) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Ok(resp)
}

pub(super) fn delete_bucket(ctx: &mut Ctx<'_, '_>, name: &str) -> Result<Response, S3Error> {
    ctx.authorize("s3:DeleteBucket", &bucket_arn(name))?;
    ctx.owned_bucket(name)?;
    ctx.buckets.delete_bucket(name)?;
    Ok(empty(StatusCode::NO_CONTENT))
}

pub(super) fn head_bucket(ctx: &mut Ctx<'_, '_>, name: &str) -> Result<Response, S3Error> {
    ctx.authorize("s3:ListBucket", &bucket_arn(name))?;
    let info = ctx.owned_bucket(name)?;
    let mut resp = empty(StatusCode::OK);
    if let Ok(v) = HeaderValue::from_str(&info.region) {
        resp.headers_mut().insert("x-amz-bucket-region", v);
    }
    resp.headers_mut()
        .insert("x-amz-access-point-alias", HeaderValue::from_static("false"));
    Ok(resp)
}

pub(super) fn get_bucket_location(ctx: &mut Ctx<'_, '_>, name: &str) -> Result<Response, S3Error> {
    ctx.authorize("s3:GetBucketLocation", &bucket_arn(name))?;
    let info = ctx.owned_bucket(name)?;
    let mut body = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    // us-east-1 is reported as an empty constraint, as S3 does.
    if info.region == "us-east-1" {
        body.push_str(&format!("<LocationConstraint xmlns=\"{NS}\"/>"));
    } else {
        body.push_str(&format!(
            "<LocationConstraint xmlns=\"{NS}\">{}</LocationConstraint>",
            xml::xml_escape(&info.region)
        ));
    }
    ok_xml(ctx, body)
}

/// Continuation tokens are opaque to clients; this one is the last key or prefix returned.
fn encode_token(last: &str) -> String {
    let mut out = String::from("1");
    for b in last.as_bytes() {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

fn decode_token(token: &str) -> Option<String> {
    let hex = token.strip_prefix('1')?;
    if hex.len() % 2 != 0 {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect();
    String::from_utf8(bytes?).ok()
}

pub(super) fn list_objects(ctx: &mut Ctx<'_, '_>, name: &str) -> Result<Response, S3Error> {
    let v2 = match ctx.param("list-type") {
        None => false,
        Some("2") => true,
        Some(_) => return Err(S3Error::invalid_argument("Invalid List Type specified in Request")),
    };
    // CloudTrail echoes the listing parameters as given.
    for p in super::LIST_PARAMS {
        if let Some(v) = ctx.param(p).map(str::to_string) {
            ctx.set_param(p, json!(v));
        }
    }
    ctx.authorize("s3:ListBucket", &bucket_arn(name))?;
    let info = ctx.owned_bucket(name)?;

    let url = match ctx.param("encoding-type") {
        None => false,
        Some(e) if e.eq_ignore_ascii_case("url") => true,
        Some(_) => {
            return Err(S3Error::invalid_argument(
                "Invalid Encoding Method specified in Request",
            ));
        }
    };
    let max_keys = match ctx.param("max-keys") {
        None => MAX_KEYS,
        Some(s) => match s.parse::<i64>() {
            Ok(n) if (0..=i64::from(i32::MAX)).contains(&n) => (n as usize).min(MAX_KEYS),
            _ => {
                return Err(S3Error::invalid_argument(
                    "Argument maxKeys must be an integer between 0 and 2147483647",
                ));
            }
        },
    };
    let prefix = ctx.param("prefix").unwrap_or_default().to_string();
    let delimiter = ctx.param("delimiter").map(str::to_string);
    let token = ctx.param("continuation-token").map(str::to_string);
    let start_after_param = ctx.param("start-after").map(str::to_string);
    let marker = ctx.param("marker").map(str::to_string);
    let start_after = if v2 {
        match &token {
            Some(t) => Some(
                decode_token(t)
                    .ok_or_else(|| S3Error::invalid_argument("The continuation token provided is incorrect"))?,
            ),
            None => start_after_param.clone().filter(|s| !s.is_empty()),
        }
    } else {
        marker.clone().filter(|s| !s.is_empty())
    };
    let fetch_owner = !v2 || ctx.param("fetch-owner").is_some_and(|v| v == "true");

    let req = ListRequest {
        prefix: prefix.clone(),
        delimiter: delimiter.clone(),
        start_after,
        max_keys,
    };
    let page = ctx.buckets.list_objects(name, &req)?;

    let enc = |s: &str| if url { url_encode(s) } else { s.to_string() };
    let mut body = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult xmlns=\"{NS}\">");
    elem(&mut body, "Name", name);
    elem(&mut body, "Prefix", &enc(&prefix));
    if v2 {
        if let Some(s) = &start_after_param {
            elem(&mut body, "StartAfter", &enc(s));
        }
        if let Some(t) = &token {
            elem(&mut body, "ContinuationToken", t);
        }
        if let Some(last) = &page.next_marker {
            elem(&mut body, "NextContinuationToken", &encode_token(last));
        }
        let count = page.objects.len() + page.common_prefixes.len();
        elem(&mut body, "KeyCount", &count.to_string());
    } else {
        elem(&mut body, "Marker", &enc(marker.as_deref().unwrap_or_default()));
        // S3 gives NextMarker only with a delimiter; without one the last key is the marker.
        if delimiter.is_some()
            && let Some(last) = &page.next_marker
        {
            elem(&mut body, "NextMarker", &enc(last));
        }
    }
    elem(&mut body, "MaxKeys", &max_keys.to_string());
    if let Some(d) = &delimiter {
        elem(&mut body, "Delimiter", &enc(d));
    }
    if url {
        elem(&mut body, "EncodingType", "url");
    }
    elem(
        &mut body,
        "IsTruncated",
        if page.is_truncated { "true" } else { "false" },
    );
    for o in &page.objects {
        body.push_str("<Contents>");
        elem(&mut body, "Key", &enc(&o.key));
        elem(&mut body, "LastModified", &iso8601(o.last_modified));
        elem(&mut body, "ETag", &format!("\"{}\"", o.etag));
        elem(&mut body, "Size", &o.size.to_string());
        if fetch_owner {
            owner(&mut body, &info.owner_account_id);
        }
        elem(&mut body, "StorageClass", "STANDARD");
        body.push_str("</Contents>");
    }
    for p in &page.common_prefixes {
        body.push_str("<CommonPrefixes>");
        elem(&mut body, "Prefix", &enc(p));
        body.push_str("</CommonPrefixes>");
    }
    body.push_str("</ListBucketResult>");
    ok_xml(ctx, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip() {
        for k in ["", "a/b", "é 日本/~"] {
            assert_eq!(decode_token(&encode_token(k)).as_deref(), Some(k));
        }
        assert_eq!(decode_token("zz"), None);
        assert_eq!(decode_token("1f"), None);
    }
}
