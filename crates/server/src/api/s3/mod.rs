//! The S3 REST facade over [`LocalBuckets`]: path-style requests (`/<bucket>/<key>`), read-only
//! for objects. Clients can create, inspect and delete buckets and list and read the log files
//! Cairn delivers into them; object writes are refused, since only Cairn writes trail buckets.
//!
//! [`handle`] is synchronous (it touches the disk); callers run it on a blocking thread. It decides
//! the operation, authorizes it, runs it, and describes it for the caller's own CloudTrail event.

mod bucket;
pub mod http;
mod object;
mod xml;

#[cfg(test)]
mod tests;

use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value, json};

use crate::buckets::{BucketError, BucketInfo, LocalBuckets, valid_bucket_name};

/// One S3 request, already authenticated.
pub struct S3Request<'a> {
    pub method: &'a Method,
    /// The raw (percent-encoded) path, without the query.
    pub path: &'a str,
    /// Decoded query pairs.
    pub query: &'a [(String, String)],
    pub headers: &'a HeaderMap,
    /// The request body (only CreateBucket reads it).
    pub body: &'a [u8],
    /// The region from the SigV4 credential scope.
    pub region: &'a str,
    pub request_id: &'a str,
}

/// Who is calling and what they may do.
pub trait S3Access {
    fn account_id(&self) -> &str;
    /// Whether IAM-style policy allows `action` (e.g. `s3:GetObject`) on `resource_arn`.
    fn allowed(&self, action: &str, resource_arn: &str) -> bool;
}

pub struct S3Outcome {
    pub response: Response,
    pub audit: S3Audit,
}

/// What the caller's CloudTrail event records about the request.
#[derive(Debug, Clone, PartialEq)]
pub struct S3Audit {
    /// e.g. `ListObjects`, `GetObject`, `CreateBucket`.
    pub event_name: String,
    pub read_only: bool,
    /// True for management events (bucket-level calls); false for data events (object reads and
    /// ListObjects, which CloudTrail logs as data events).
    pub management: bool,
    pub request_parameters: Value,
    pub response_elements: Option<Value>,
    /// The S3 error code and message, when the request failed.
    pub error: Option<(String, String)>,
    /// CloudTrail's `resources` array.
    pub resources: Vec<Value>,
    /// Body bytes sent.
    pub bytes_out: u64,
}

/// Message for every refused object write or delete.
pub const WRITE_DENIED: &str =
    "Cairn trail buckets are written only by Cairn; objects cannot be written or deleted through the API.";

/// An error to send, in S3's vocabulary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct S3Error {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
}

impl S3Error {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        S3Error {
            status,
            code: code.to_string(),
            message: message.into(),
        }
    }

    pub fn access_denied() -> Self {
        S3Error::new(StatusCode::FORBIDDEN, "AccessDenied", "Access Denied")
    }

    pub fn invalid_argument(message: impl Into<String>) -> Self {
        S3Error::new(StatusCode::BAD_REQUEST, "InvalidArgument", message)
    }
}

impl From<BucketError> for S3Error {
    fn from(e: BucketError) -> Self {
        let status = match &e {
            BucketError::NoSuchBucket | BucketError::NoSuchKey => StatusCode::NOT_FOUND,
            BucketError::BucketNotEmpty | BucketError::BucketAlreadyExists | BucketError::BucketAlreadyOwnedByYou => {
                StatusCode::CONFLICT
            }
            BucketError::InvalidBucketName | BucketError::KeyTooLong | BucketError::EmptyKey => StatusCode::BAD_REQUEST,
            BucketError::InvalidRange => StatusCode::RANGE_NOT_SATISFIABLE,
            BucketError::Io(io) => {
                tracing::error!(error = %io, "bucket store failure while serving an S3 request");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        S3Error::new(status, e.code(), e.to_string())
    }
}

/// What a path names.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    Service,
    Bucket(String),
    Object(String, String),
}

fn parse_target(path: &str) -> Result<Target, S3Error> {
    let bad_uri = || {
        S3Error::new(
            StatusCode::BAD_REQUEST,
            "InvalidURI",
            "Couldn't parse the specified URI.",
        )
    };
    let rest = path.strip_prefix('/').ok_or_else(bad_uri)?;
    if rest.is_empty() {
        return Ok(Target::Service);
    }
    let (bucket, key) = match rest.split_once('/') {
        Some((b, k)) => (b, k),
        None => (rest, ""),
    };
    let bucket = xml::percent_decode(bucket).ok_or_else(bad_uri)?;
    let key = xml::percent_decode(key).ok_or_else(bad_uri)?;
    if key.is_empty() {
        Ok(Target::Bucket(bucket))
    } else {
        Ok(Target::Object(bucket, key))
    }
}

/// Query parameters that are part of authentication or SDK routing, not of the operation.
fn is_transport_param(name: &str) -> bool {
    name.get(..6).is_some_and(|p| p.eq_ignore_ascii_case("x-amz-")) || name == "x-id"
}

/// Per-request state shared by the operations.
pub(crate) struct Ctx<'r, 'a> {
    pub buckets: &'r LocalBuckets,
    pub req: &'r S3Request<'a>,
    pub access: &'r dyn S3Access,
    pub audit: S3Audit,
}

impl Ctx<'_, '_> {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.req.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Names of query parameters that select the operation (not authentication ones).
    pub fn operation_params(&self) -> impl Iterator<Item = &str> {
        self.req
            .query
            .iter()
            .map(|(k, _)| k.as_str())
            .filter(|k| !is_transport_param(k))
    }

    pub fn authorize(&self, action: &str, arn: &str) -> Result<(), S3Error> {
        if self.access.allowed(action, arn) {
            Ok(())
        } else {
            Err(S3Error::access_denied())
        }
    }

    /// The bucket if it exists and belongs to the caller. Another account's bucket is
    /// AccessDenied, as S3 answers for buckets you have no access to.
    pub fn owned_bucket(&mut self, name: &str) -> Result<BucketInfo, S3Error> {
        let info = self.buckets.bucket(name).ok_or(BucketError::NoSuchBucket)?;
        if info.owner_account_id != self.access.account_id() {
            return Err(S3Error::access_denied());
        }
        // The owner goes on the event's bucket resource only when it is the caller's own account.
        for r in &mut self.audit.resources {
            if r["type"] == "AWS::S3::Bucket" {
                r["accountId"] = json!(info.owner_account_id);
            }
        }
        Ok(info)
    }

    pub fn set_param(&mut self, name: &str, value: Value) {
        if let Value::Object(m) = &mut self.audit.request_parameters {
            m.insert(name.to_string(), value);
        }
    }
}

pub fn bucket_arn(bucket: &str) -> String {
    format!("arn:aws:s3:::{bucket}")
}

pub fn object_arn(bucket: &str, key: &str) -> String {
    format!("arn:aws:s3:::{bucket}/{key}")
}

/// Serves one request.
pub fn handle(buckets: &LocalBuckets, req: &S3Request<'_>, access: &dyn S3Access) -> S3Outcome {
    let head = req.method == Method::HEAD;
    let mut params = Map::new();
    if let Some(host) = req.headers.get("host").and_then(|h| h.to_str().ok()) {
        params.insert("Host".into(), json!(host));
    }
    let audit = S3Audit {
        event_name: String::new(),
        read_only: true,
        management: true,
        request_parameters: Value::Object(params),
        response_elements: None,
        error: None,
        resources: Vec::new(),
        bytes_out: 0,
    };
    let mut ctx = Ctx {
        buckets,
        req,
        access,
        audit,
    };
    let result = route(&mut ctx);
    let mut response = match result {
        Ok(r) => r,
        Err(e) => {
            ctx.audit.error = Some((e.code.clone(), e.message.clone()));
            if head {
                // HEAD responses carry no body; the status says it all.
                let mut r = Response::new(axum::body::Body::empty());
                *r.status_mut() = e.status;
                r
            } else {
                xml::error_response(e.status, &e.code, &e.message, req.request_id)
            }
        }
    };
    if ctx.audit.event_name.is_empty() {
        ctx.audit.event_name = "Unknown".into();
    }
    if let Ok(v) = HeaderValue::from_str(req.request_id) {
        response.headers_mut().insert("x-amz-request-id", v);
    }
    S3Outcome {
        response,
        audit: ctx.audit,
    }
}

fn route(ctx: &mut Ctx<'_, '_>) -> Result<Response, S3Error> {
    let target = parse_target(ctx.req.path)?;
    let method = ctx.req.method.clone();
    match &target {
        Target::Service => {
            if method == Method::GET {
                ctx.audit.event_name = "ListBuckets".into();
                return bucket::list_buckets(ctx);
            }
            ctx.audit.event_name = "Unknown".into();
            return Err(not_implemented());
        }
        Target::Bucket(b) | Target::Object(b, _) => {
            ctx.set_param("bucketName", json!(b));
            ctx.audit
                .resources
                .push(json!({"type": "AWS::S3::Bucket", "ARN": bucket_arn(b)}));
            if !valid_bucket_name(b) {
                // Name the operation before refusing, so the event still says what was tried.
                classify(ctx, &target);
                return Err(BucketError::InvalidBucketName.into());
            }
        }
    }
    classify(ctx, &target);
    match target {
        Target::Service => unreachable!("handled above"),
        Target::Bucket(b) => match ctx.audit.event_name.as_str() {
            "CreateBucket" => bucket::create_bucket(ctx, &b),
            "DeleteBucket" => bucket::delete_bucket(ctx, &b),
            "HeadBucket" => bucket::head_bucket(ctx, &b),
            "GetBucketLocation" => bucket::get_bucket_location(ctx, &b),
            "ListObjects" => bucket::list_objects(ctx, &b),
            "DeleteObjects" | "PostObject" => Err(write_denied()),
            _ => Err(not_implemented()),
        },
        Target::Object(b, k) => match ctx.audit.event_name.as_str() {
            "GetObject" => object::get_object(ctx, &b, &k, false),
            "HeadObject" => object::get_object(ctx, &b, &k, true),
            _ if !ctx.audit.read_only => Err(write_denied()),
            _ => Err(not_implemented()),
        },
    }
}

/// Names the operation and sets the audit flags that follow from it.
fn classify(ctx: &mut Ctx<'_, '_>, target: &Target) {
    let method = ctx.req.method;
    let sub: Option<String> = ctx
        .operation_params()
        .find(|p| !LIST_PARAMS.contains(p))
        .map(str::to_string);
    let (name, read_only, management) = match target {
        Target::Service => return,
        Target::Bucket(_) => match (method.as_str(), sub.as_deref()) {
            ("GET", Some("location")) => ("GetBucketLocation".to_string(), true, true),
            ("GET", None) => ("ListObjects".to_string(), true, false),
            ("HEAD", None) => ("HeadBucket".to_string(), true, true),
            ("PUT", None) => ("CreateBucket".to_string(), false, true),
            ("DELETE", None) => ("DeleteBucket".to_string(), false, true),
            ("POST", Some("delete")) => ("DeleteObjects".to_string(), false, false),
            ("POST", None) => ("PostObject".to_string(), false, false),
            (m, Some(s)) => (subresource_operation(m, s, "Bucket"), m == "GET" || m == "HEAD", true),
            (_, None) => ("Unknown".to_string(), true, true),
        },
        Target::Object(bucket, key) => {
            ctx.set_param("key", json!(key));
            ctx.audit
                .resources
                .insert(0, json!({"type": "AWS::S3::Object", "ARN": object_arn(bucket, key)}));
            let reading = matches!(method.as_str(), "GET" | "HEAD");
            // Reads take these as options (checked by get_object); they don't select an operation.
            let sub = ctx
                .operation_params()
                .find(|p| !(reading && (p.starts_with("response-") || matches!(*p, "versionId" | "partNumber"))))
                .map(str::to_string);
            let copy = ctx.req.headers.contains_key("x-amz-copy-source");
            let name = match (method.as_str(), sub.as_deref()) {
                ("GET", None) => "GetObject".to_string(),
                ("HEAD", None) => "HeadObject".to_string(),
                ("PUT", None) if copy => "CopyObject".to_string(),
                ("PUT", None) => "PutObject".to_string(),
                ("PUT", Some("partNumber" | "uploadId")) if copy => "UploadPartCopy".to_string(),
                ("PUT", Some("partNumber" | "uploadId")) => "UploadPart".to_string(),
                ("POST", Some("uploads")) => "CreateMultipartUpload".to_string(),
                ("POST", Some("uploadId")) => "CompleteMultipartUpload".to_string(),
                ("DELETE", Some("uploadId")) => "AbortMultipartUpload".to_string(),
                ("DELETE", None) => "DeleteObject".to_string(),
                ("GET", Some("uploadId")) => "ListParts".to_string(),
                (m, Some(s)) => subresource_operation(m, s, "Object"),
                (m, None) => format!("{}Object", title(m)),
            };
            (name, reading, false)
        }
    };
    if let (Some(s), Target::Bucket(_)) = (&sub, target) {
        // CloudTrail records a subresource as a parameter, e.g. "location": "".
        let value = ctx.param(s).unwrap_or_default().to_string();
        ctx.set_param(s, json!(value));
    }
    ctx.audit.event_name = name;
    ctx.audit.read_only = read_only;
    ctx.audit.management = management;
}

/// ListObjects' own query parameters; any other is a subresource.
const LIST_PARAMS: [&str; 10] = [
    "prefix",
    "marker",
    "delimiter",
    "max-keys",
    "encoding-type",
    "list-type",
    "continuation-token",
    "start-after",
    "fetch-owner",
    "allow-unordered",
];

/// `GET ?acl` on a bucket is GetBucketAcl, and so on; good enough to name what was refused.
fn subresource_operation(method: &str, sub: &str, what: &str) -> String {
    let noun = match sub {
        "acl" => "Acl",
        "policy" => "Policy",
        "policyStatus" => "PolicyStatus",
        "versioning" => "Versioning",
        "tagging" => "Tagging",
        "cors" => "Cors",
        "lifecycle" => "LifecycleConfiguration",
        "logging" => "Logging",
        "encryption" => "Encryption",
        "website" => "Website",
        "notification" => "NotificationConfiguration",
        "replication" => "Replication",
        "ownershipControls" => "OwnershipControls",
        "publicAccessBlock" => "PublicAccessBlock",
        "accelerate" => "AccelerateConfiguration",
        "requestPayment" => "RequestPayment",
        "object-lock" => "ObjectLockConfiguration",
        "retention" => "Retention",
        "legal-hold" => "LegalHold",
        "attributes" => "Attributes",
        "torrent" => "Torrent",
        "restore" => return "RestoreObject".into(),
        "select" => return "SelectObjectContent".into(),
        "uploads" => return "ListMultipartUploads".into(),
        "versions" => return "ListObjectVersions".into(),
        "versionId" => return format!("{}Object", title(method)),
        _ => "",
    };
    format!("{}{what}{noun}", title(method))
}

fn title(method: &str) -> String {
    let lower = method.to_ascii_lowercase();
    let mut c = lower.chars();
    c.next()
        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
        .unwrap_or_default()
}

fn not_implemented() -> S3Error {
    S3Error::new(
        StatusCode::NOT_IMPLEMENTED,
        "NotImplemented",
        "A header or query you provided implies functionality that is not implemented.",
    )
}

fn write_denied() -> S3Error {
    S3Error::new(StatusCode::FORBIDDEN, "AccessDenied", WRITE_DENIED)
}
