use std::collections::BTreeMap;

use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use serde_json::json;

use super::*;
use crate::buckets::ObjectMeta;

const ME: &str = "111122223333";
const OTHER: &str = "444455556666";

struct Caller {
    account: &'static str,
    denied: Vec<&'static str>,
}

impl S3Access for Caller {
    fn account_id(&self) -> &str {
        self.account
    }
    fn allowed(&self, action: &str, _resource_arn: &str) -> bool {
        !self.denied.contains(&action)
    }
}

fn me() -> Caller {
    Caller {
        account: ME,
        denied: vec![],
    }
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
    audit: S3Audit,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    /// Text of every `<name>` element, in order.
    fn tags(&self, name: &str) -> Vec<String> {
        let (open, close) = (format!("<{name}>"), format!("</{name}>"));
        let mut out = Vec::new();
        let mut rest = self.body.as_str();
        while let Some(i) = rest.find(&open) {
            rest = &rest[i + open.len()..];
            let j = rest.find(&close).unwrap();
            out.push(rest[..j].to_string());
            rest = &rest[j..];
        }
        out
    }
    fn tag(&self, name: &str) -> Option<String> {
        self.tags(name).into_iter().next()
    }
    fn code(&self) -> Option<String> {
        self.tag("Code")
    }
}

struct Call<'a> {
    method: Method,
    path: &'a str,
    query: Vec<(String, String)>,
    headers: HeaderMap,
    body: &'a [u8],
    region: &'a str,
}

fn call(method: Method, path: &str) -> Call<'_> {
    let mut headers = HeaderMap::new();
    headers.insert("host", HeaderValue::from_static("s3.us-east-1.amazonaws.com"));
    Call {
        method,
        path,
        query: vec![],
        headers,
        body: b"",
        region: "us-east-1",
    }
}

impl<'a> Call<'a> {
    fn q(mut self, k: &str, v: &str) -> Self {
        self.query.push((k.into(), v.into()));
        self
    }
    fn h(mut self, k: &str, v: &str) -> Self {
        self.headers.insert(
            HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
        self
    }
    fn body(mut self, b: &'a [u8]) -> Self {
        self.body = b;
        self
    }
    fn region(mut self, r: &'a str) -> Self {
        self.region = r;
        self
    }
    fn send(self, buckets: &LocalBuckets, access: &dyn S3Access) -> Reply {
        let req = S3Request {
            method: &self.method,
            path: self.path,
            query: &self.query,
            headers: &self.headers,
            body: self.body,
            region: self.region,
            request_id: "REQ123",
        };
        let out = handle(buckets, &req, access);
        let (parts, body) = out.response.into_parts();
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let bytes = rt.block_on(axum::body::to_bytes(body, usize::MAX)).unwrap();
        Reply {
            status: parts.status,
            headers: parts.headers,
            body: String::from_utf8(bytes.to_vec()).unwrap(),
            audit: out.audit,
        }
    }
}

fn setup() -> (tempfile::TempDir, LocalBuckets) {
    let dir = tempfile::tempdir().unwrap();
    let b = LocalBuckets::open(dir.path()).unwrap();
    b.create_bucket("mine", ME, "us-east-1").unwrap();
    b.create_bucket("theirs", OTHER, "us-east-1").unwrap();
    (dir, b)
}

fn put(b: &LocalBuckets, bucket: &str, key: &str, body: &[u8]) {
    b.put_object(bucket, key, body, ObjectMeta::default()).unwrap();
}

#[test]
fn list_buckets_shows_only_own() {
    let (_d, b) = setup();
    b.create_bucket("also-mine", ME, "eu-west-1").unwrap();
    let r = call(Method::GET, "/").send(&b, &me());
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.body
            .contains("<ListAllMyBucketsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">")
    );
    assert_eq!(r.tags("Name"), ["also-mine", "mine"]);
    assert_eq!(r.tags("BucketRegion"), ["eu-west-1", "us-east-1"]);
    assert_eq!(r.tag("ID").as_deref(), Some(ME));
    let created = r.tag("CreationDate").unwrap();
    assert!(created.ends_with(".000Z") && created.len() == 24, "{created}");
    assert_eq!(r.header("x-amz-request-id"), Some("REQ123"));
    assert_eq!(r.audit.event_name, "ListBuckets");
    assert!(r.audit.management && r.audit.read_only);
    assert_eq!(
        r.audit.request_parameters,
        json!({"Host": "s3.us-east-1.amazonaws.com"})
    );
    assert!(r.audit.resources.is_empty());

    let denied = Caller {
        account: ME,
        denied: vec!["s3:ListAllMyBuckets"],
    };
    let r = call(Method::GET, "/").send(&b, &denied);
    assert_eq!(
        (r.status, r.code().as_deref()),
        (StatusCode::FORBIDDEN, Some("AccessDenied"))
    );
    assert_eq!(r.audit.error, Some(("AccessDenied".into(), "Access Denied".into())));
}

#[test]
fn create_bucket() {
    let (_d, b) = setup();
    let r = call(Method::PUT, "/fresh").send(&b, &me());
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("location"), Some("/fresh"));
    assert_eq!(b.bucket("fresh").unwrap().owner_account_id, ME);
    assert_eq!(r.audit.event_name, "CreateBucket");
    assert!(r.audit.management && !r.audit.read_only);
    assert_eq!(
        r.audit.resources,
        [json!({"accountId": ME, "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::fresh"})]
    );
    // Legacy us-east-1: re-creating your own bucket succeeds.
    assert_eq!(call(Method::PUT, "/fresh").send(&b, &me()).status, StatusCode::OK);

    let cfg = br#"<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>"#;
    let r = call(Method::PUT, "/euro").region("eu-west-1").body(cfg).send(&b, &me());
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(b.bucket("euro").unwrap().region, "eu-west-1");
    assert_eq!(
        r.audit.request_parameters["CreateBucketConfiguration"]["LocationConstraint"],
        "eu-west-1"
    );
    let r = call(Method::PUT, "/euro").region("eu-west-1").body(cfg).send(&b, &me());
    assert_eq!(
        (r.status, r.code().as_deref()),
        (StatusCode::CONFLICT, Some("BucketAlreadyOwnedByYou"))
    );

    let r = call(Method::PUT, "/elsewhere").body(cfg).send(&b, &me());
    assert_eq!(
        (r.status, r.code().as_deref()),
        (StatusCode::BAD_REQUEST, Some("IllegalLocationConstraintException"))
    );
    assert!(b.bucket("elsewhere").is_none());
    let r = call(Method::PUT, "/junk").body(b"<nope").send(&b, &me());
    assert_eq!(r.code().as_deref(), Some("MalformedXML"));

    let r = call(Method::PUT, "/theirs").send(&b, &me());
    assert_eq!(
        (r.status, r.code().as_deref()),
        (StatusCode::CONFLICT, Some("BucketAlreadyExists"))
    );
    let r = call(Method::PUT, "/Bad_Name").send(&b, &me());
    assert_eq!(
        (r.status, r.code().as_deref()),
        (StatusCode::BAD_REQUEST, Some("InvalidBucketName"))
    );
    assert_eq!(r.audit.event_name, "CreateBucket");
    let denied = Caller {
        account: ME,
        denied: vec!["s3:CreateBucket"],
    };
    assert_eq!(
        call(Method::PUT, "/nope-bucket").send(&b, &denied).status,
        StatusCode::FORBIDDEN
    );
    assert!(b.bucket("nope-bucket").is_none());
}

#[test]
fn head_bucket_location_and_delete() {
    let (_d, b) = setup();
    b.create_bucket("euro", ME, "eu-west-1").unwrap();
    let r = call(Method::HEAD, "/euro").send(&b, &me());
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("x-amz-bucket-region"), Some("eu-west-1"));
    assert_eq!(r.audit.event_name, "HeadBucket");
    let r = call(Method::HEAD, "/missing").send(&b, &me());
    assert_eq!((r.status, r.body.as_str()), (StatusCode::NOT_FOUND, ""));
    assert_eq!(r.audit.error.as_ref().map(|e| e.0.as_str()), Some("NoSuchBucket"));

    let r = call(Method::GET, "/euro").q("location", "").send(&b, &me());
    assert!(
        r.body.ends_with(
            "<LocationConstraint xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">eu-west-1</LocationConstraint>"
        ),
        "{}",
        r.body
    );
    assert_eq!(r.audit.event_name, "GetBucketLocation");
    assert_eq!(r.audit.request_parameters["location"], "");
    let r = call(Method::GET, "/mine").q("location", "").send(&b, &me());
    assert!(
        r.body
            .contains("<LocationConstraint xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"/>"),
        "{}",
        r.body
    );

    put(&b, "euro", "k", b"x");
    let r = call(Method::DELETE, "/euro").send(&b, &me());
    assert_eq!(
        (r.status, r.code().as_deref()),
        (StatusCode::CONFLICT, Some("BucketNotEmpty"))
    );
    b.delete_object("euro", "k").unwrap();
    let r = call(Method::DELETE, "/euro").send(&b, &me());
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(r.audit.event_name, "DeleteBucket");
    let r = call(Method::DELETE, "/euro").send(&b, &me());
    assert_eq!(
        (r.status, r.code().as_deref()),
        (StatusCode::NOT_FOUND, Some("NoSuchBucket"))
    );
}

fn fill(b: &LocalBuckets) {
    for k in ["a/1", "a/2", "b/1", "c", "d e+f", "z/é"] {
        put(b, "mine", k, k.as_bytes());
    }
}

#[test]
fn list_objects_v1() {
    let (_d, b) = setup();
    fill(&b);
    let r = call(Method::GET, "/mine").send(&b, &me());
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.tags("Key"), ["a/1", "a/2", "b/1", "c", "d e+f", "z/é"]);
    assert_eq!(r.tag("MaxKeys").as_deref(), Some("1000"));
    assert_eq!(r.tag("Marker").as_deref(), Some(""));
    assert_eq!(r.tags("ID").len(), 6, "v1 always names the owner");
    assert_eq!(
        r.tags("ETag")[0],
        format!("&quot;{}&quot;", b.head_object("mine", "a/1").unwrap().etag)
    );
    assert_eq!(r.audit.event_name, "ListObjects");
    assert!(!r.audit.management && r.audit.read_only, "ListObjects is a data event");
    assert_eq!(
        r.audit.resources,
        [json!({"accountId": ME, "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::mine"})]
    );

    // Delimiter: common prefixes count once; NextMarker is given.
    let r = call(Method::GET, "/mine")
        .q("delimiter", "/")
        .q("max-keys", "2")
        .send(&b, &me());
    assert_eq!(r.tags("Prefix"), ["", "a/", "b/"]);
    assert_eq!(r.tags("Key"), Vec::<String>::new());
    assert_eq!(r.tag("IsTruncated").as_deref(), Some("true"));
    assert_eq!(r.tag("NextMarker").as_deref(), Some("b/"));
    assert_eq!(r.audit.request_parameters["delimiter"], "/");
    assert_eq!(r.audit.request_parameters["max-keys"], "2");
    let r = call(Method::GET, "/mine")
        .q("delimiter", "/")
        .q("marker", "b/")
        .send(&b, &me());
    assert_eq!(r.tags("Key"), ["c", "d e+f"]);
    assert_eq!(r.tags("Prefix"), ["", "z/"]);
    assert_eq!(r.tag("IsTruncated").as_deref(), Some("false"));
    assert_eq!(r.tag("NextMarker"), None);

    // No NextMarker without a delimiter, as S3.
    let r = call(Method::GET, "/mine")
        .q("max-keys", "1")
        .q("prefix", "a/")
        .send(&b, &me());
    assert_eq!(r.tags("Key"), ["a/1"]);
    assert_eq!(
        (r.tag("IsTruncated").as_deref(), r.tag("NextMarker")),
        (Some("true"), None)
    );

    let r = call(Method::GET, "/mine")
        .q("encoding-type", "url")
        .q("prefix", "d e")
        .send(&b, &me());
    assert_eq!(r.tags("Key"), ["d%20e%2Bf"]);
    assert_eq!(r.tag("Prefix").as_deref(), Some("d%20e"));
    assert_eq!(r.tag("EncodingType").as_deref(), Some("url"));
    let r = call(Method::GET, "/mine")
        .q("encoding-type", "url")
        .q("prefix", "z/")
        .send(&b, &me());
    assert_eq!(r.tags("Key"), ["z/%C3%A9"]);

    let r = call(Method::GET, "/mine").q("max-keys", "-1").send(&b, &me());
    assert_eq!(r.code().as_deref(), Some("InvalidArgument"));
    let r = call(Method::GET, "/mine").q("encoding-type", "base64").send(&b, &me());
    assert_eq!(r.code().as_deref(), Some("InvalidArgument"));
    let r = call(Method::GET, "/mine").q("max-keys", "5000").send(&b, &me());
    assert_eq!(r.tag("MaxKeys").as_deref(), Some("1000"));

    let denied = Caller {
        account: ME,
        denied: vec!["s3:ListBucket"],
    };
    assert_eq!(
        call(Method::GET, "/mine").send(&b, &denied).status,
        StatusCode::FORBIDDEN
    );
}

#[test]
fn list_objects_v2_paging() {
    let (_d, b) = setup();
    for i in 0..25 {
        put(&b, "mine", &format!("logs/{i:03}"), b"x");
    }
    put(&b, "mine", "top", b"x");
    let mut keys = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut c = call(Method::GET, "/mine")
            .q("list-type", "2")
            .q("max-keys", "10")
            .q("prefix", "logs/");
        if let Some(t) = &token {
            c = c.q("continuation-token", t);
        }
        let r = c.send(&b, &me());
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.tag("ContinuationToken"), token);
        let page = r.tags("Key");
        assert_eq!(r.tag("KeyCount"), Some(page.len().to_string()));
        assert!(r.tags("ID").is_empty(), "no owner without fetch-owner");
        keys.extend(page);
        pages += 1;
        assert_eq!(r.audit.request_parameters["list-type"], "2");
        if r.tag("IsTruncated").as_deref() == Some("false") {
            assert_eq!(r.tag("NextContinuationToken"), None);
            break;
        }
        token = r.tag("NextContinuationToken");
        assert!(token.is_some());
    }
    assert_eq!(pages, 3);
    let want: Vec<String> = (0..25).map(|i| format!("logs/{i:03}")).collect();
    assert_eq!(keys, want);

    let r = call(Method::GET, "/mine")
        .q("list-type", "2")
        .q("start-after", "logs/020")
        .q("fetch-owner", "true")
        .send(&b, &me());
    assert_eq!(r.tags("Key"), ["logs/021", "logs/022", "logs/023", "logs/024", "top"]);
    assert_eq!(r.tag("StartAfter").as_deref(), Some("logs/020"));
    assert_eq!(r.tags("ID").len(), 5);

    let r = call(Method::GET, "/mine")
        .q("list-type", "2")
        .q("delimiter", "/")
        .send(&b, &me());
    assert_eq!(r.tags("Key"), ["top"]);
    assert_eq!(r.tag("KeyCount").as_deref(), Some("2"));

    let r = call(Method::GET, "/mine")
        .q("list-type", "2")
        .q("continuation-token", "garbage")
        .send(&b, &me());
    assert_eq!(
        (r.status, r.code().as_deref()),
        (StatusCode::BAD_REQUEST, Some("InvalidArgument"))
    );
    let r = call(Method::GET, "/mine").q("list-type", "3").send(&b, &me());
    assert_eq!(r.code().as_deref(), Some("InvalidArgument"));
}

#[test]
fn get_and_head_object() {
    let (_d, b) = setup();
    let mut user = BTreeMap::new();
    user.insert("source".to_string(), "cairn".to_string());
    let meta = ObjectMeta {
        content_type: Some("application/json".into()),
        content_encoding: Some("gzip".into()),
        user,
    };
    let info = b.put_object("mine", "dir/a b/é+x", b"0123456789", meta).unwrap();
    let path = "/mine/dir/a%20b/%C3%A9+x";

    let r = call(Method::GET, path).send(&b, &me());
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, "0123456789");
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    assert_eq!(r.header("content-length"), Some("10"));
    assert_eq!(r.header("etag"), Some(format!("\"{}\"", info.etag).as_str()));
    assert_eq!(r.header("accept-ranges"), Some("bytes"));
    assert_eq!(r.header("x-amz-meta-source"), Some("cairn"));
    let lm = r.header("last-modified").unwrap();
    assert!(lm.ends_with(" GMT") && lm.len() == 29, "{lm}");
    assert_eq!(r.audit.event_name, "GetObject");
    assert!(!r.audit.management && r.audit.read_only);
    assert_eq!(r.audit.bytes_out, 10);
    assert_eq!(r.audit.request_parameters["key"], "dir/a b/é+x");
    assert_eq!(r.audit.request_parameters["bucketName"], "mine");
    assert_eq!(
        r.audit.resources,
        [
            json!({"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::mine/dir/a b/é+x"}),
            json!({"accountId": ME, "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::mine"}),
        ]
    );

    let r = call(Method::GET, path).h("range", "bytes=2-4").send(&b, &me());
    assert_eq!((r.status, r.body.as_str()), (StatusCode::PARTIAL_CONTENT, "234"));
    assert_eq!(r.header("content-range"), Some("bytes 2-4/10"));
    assert_eq!(r.header("content-length"), Some("3"));
    let r = call(Method::GET, path).h("range", "bytes=-3").send(&b, &me());
    assert_eq!(
        (r.body.as_str(), r.header("content-range")),
        ("789", Some("bytes 7-9/10"))
    );
    let r = call(Method::GET, path).h("range", "bytes=10-").send(&b, &me());
    assert_eq!(
        (r.status, r.code().as_deref()),
        (StatusCode::RANGE_NOT_SATISFIABLE, Some("InvalidRange"))
    );
    let r = call(Method::GET, path).h("range", "bytes=junk").send(&b, &me());
    assert_eq!((r.status, r.body.len()), (StatusCode::OK, 10));

    let r = call(Method::GET, path)
        .q("response-content-type", "text/plain")
        .send(&b, &me());
    assert_eq!(r.header("content-type"), Some("text/plain"));

    let r = call(Method::HEAD, path).send(&b, &me());
    assert_eq!((r.status, r.body.as_str()), (StatusCode::OK, ""));
    assert_eq!(r.header("content-length"), Some("10"));
    assert_eq!(r.header("etag"), Some(format!("\"{}\"", info.etag).as_str()));
    assert_eq!(r.audit.event_name, "HeadObject");
    assert_eq!(r.audit.bytes_out, 0);
    let r = call(Method::HEAD, path).h("range", "bytes=0-0").send(&b, &me());
    assert_eq!(
        (r.status, r.header("content-length")),
        (StatusCode::PARTIAL_CONTENT, Some("1"))
    );

    let r = call(Method::GET, "/mine/missing").send(&b, &me());
    assert_eq!(
        (r.status, r.code().as_deref()),
        (StatusCode::NOT_FOUND, Some("NoSuchKey"))
    );
    assert_eq!(r.header("content-type"), Some("application/xml"));
    let r = call(Method::HEAD, "/mine/missing").send(&b, &me());
    assert_eq!((r.status, r.body.as_str()), (StatusCode::NOT_FOUND, ""));
    let no_list = Caller {
        account: ME,
        denied: vec!["s3:ListBucket"],
    };
    let r = call(Method::GET, "/mine/missing").send(&b, &no_list);
    assert_eq!(
        r.code().as_deref(),
        Some("AccessDenied"),
        "a missing key is not revealed without ListBucket"
    );
    let no_get = Caller {
        account: ME,
        denied: vec!["s3:GetObject"],
    };
    let r = call(Method::GET, path).send(&b, &no_get);
    assert_eq!(
        (r.status, r.code().as_deref()),
        (StatusCode::FORBIDDEN, Some("AccessDenied"))
    );
    let r = call(Method::GET, "/nobucket/k").send(&b, &me());
    assert_eq!(r.code().as_deref(), Some("NoSuchBucket"));
    let r = call(Method::GET, path).q("versionId", "v1").send(&b, &me());
    assert_eq!(r.code().as_deref(), Some("NoSuchVersion"));
}

#[test]
fn other_accounts_buckets_are_invisible() {
    let (_d, b) = setup();
    put(&b, "theirs", "secret", b"s");
    for c in [
        call(Method::GET, "/theirs"),
        call(Method::GET, "/theirs").q("list-type", "2"),
        call(Method::GET, "/theirs").q("location", ""),
        call(Method::HEAD, "/theirs"),
        call(Method::DELETE, "/theirs"),
        call(Method::GET, "/theirs/secret"),
        call(Method::HEAD, "/theirs/secret"),
        call(Method::GET, "/theirs/missing"),
    ] {
        let r = c.send(&b, &me());
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.audit.event_name);
        assert!(!r.body.contains("secret"));
        assert!(
            r.audit.resources.iter().all(|x| x.get("accountId").is_none()),
            "owner not recorded"
        );
    }
    assert!(b.bucket("theirs").is_some());
    let r = call(Method::GET, "/").send(&b, &me());
    assert!(!r.body.contains("theirs"));
}

#[test]
fn object_writes_are_refused() {
    let (_d, b) = setup();
    put(&b, "mine", "k", b"original");
    for (c, name) in [
        (call(Method::PUT, "/mine/k").body(b"new"), "PutObject"),
        (
            call(Method::PUT, "/mine/k2").h("x-amz-copy-source", "/mine/k"),
            "CopyObject",
        ),
        (call(Method::DELETE, "/mine/k"), "DeleteObject"),
        (call(Method::POST, "/mine").q("delete", ""), "DeleteObjects"),
        (call(Method::POST, "/mine/k").q("uploads", ""), "CreateMultipartUpload"),
        (
            call(Method::PUT, "/mine/k").q("partNumber", "1").q("uploadId", "u"),
            "UploadPart",
        ),
        (call(Method::PUT, "/mine/k").q("tagging", ""), "PutObjectTagging"),
        (call(Method::POST, "/mine"), "PostObject"),
    ] {
        let r = c.send(&b, &me());
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{name}");
        assert_eq!(r.code().as_deref(), Some("AccessDenied"));
        assert_eq!(r.tag("Message").as_deref(), Some(WRITE_DENIED));
        assert_eq!(r.audit.event_name, name);
        assert!(!r.audit.read_only && !r.audit.management);
    }
    assert_eq!(b.get_object("mine", "k", None).unwrap().body, b"original");
}

#[test]
fn unsupported_subresources_are_not_implemented() {
    let (_d, b) = setup();
    for (c, name) in [
        (call(Method::GET, "/mine").q("acl", ""), "GetBucketAcl"),
        (call(Method::PUT, "/mine").q("policy", ""), "PutBucketPolicy"),
        (call(Method::GET, "/mine").q("versioning", ""), "GetBucketVersioning"),
        (call(Method::DELETE, "/mine").q("tagging", ""), "DeleteBucketTagging"),
        (call(Method::GET, "/mine").q("uploads", ""), "ListMultipartUploads"),
        (call(Method::GET, "/mine/k").q("acl", ""), "GetObjectAcl"),
    ] {
        let r = c.send(&b, &me());
        assert_eq!(
            (r.status, r.code().as_deref()),
            (StatusCode::NOT_IMPLEMENTED, Some("NotImplemented")),
            "{name}"
        );
        assert_eq!(r.audit.event_name, name);
    }
    // Presigned-URL and SDK routing parameters don't count as subresources.
    put(&b, "mine", "k", b"v");
    let r = call(Method::GET, "/mine/k")
        .q("X-Amz-Signature", "abc")
        .q("x-id", "GetObject")
        .send(&b, &me());
    assert_eq!(r.status, StatusCode::OK);
}

#[test]
fn malformed_requests() {
    let (_d, b) = setup();
    let r = call(Method::GET, "/Bad_Bucket/k").send(&b, &me());
    assert_eq!(
        (r.status, r.code().as_deref()),
        (StatusCode::BAD_REQUEST, Some("InvalidBucketName"))
    );
    assert_eq!(r.audit.event_name, "GetObject");
    let r = call(Method::GET, "/mine/%zz").send(&b, &me());
    assert_eq!(
        (r.status, r.code().as_deref()),
        (StatusCode::BAD_REQUEST, Some("InvalidURI"))
    );
    let long = format!("/mine/{}", "k".repeat(1100));
    let r = call(Method::GET, &long).send(&b, &me());
    assert_eq!(r.code().as_deref(), Some("KeyTooLongError"));
    let r = call(Method::PUT, "/").send(&b, &me());
    assert_eq!(r.status, StatusCode::NOT_IMPLEMENTED);
}
