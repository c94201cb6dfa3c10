//! Property tests of SigV4: whatever a client signs verifies; any change to what was signed does
//! not; and no input, however malformed, makes the verifier panic.

use std::time::{Duration, SystemTime};

use cairn_server::auth::sigv4::{self, Request, Secrets, SigError};
use proptest::prelude::*;

struct OneKey;

impl Secrets for OneKey {
    fn secret(&self, id: &str) -> Option<String> {
        (id == "AKIAPROPTEST00000001").then(|| "prop-secret-prop-secret-prop-secret-0000".to_string())
    }
}

const KEY: &str = "AKIAPROPTEST00000001";
const SECRET: &str = "prop-secret-prop-secret-prop-secret-0000";

#[derive(Debug, Clone)]
struct Req {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    service: &'static str,
}

fn segment() -> impl Strategy<Value = String> {
    // Unreserved characters plus percent-encoded ones, as clients send them.
    prop::collection::vec(
        prop_oneof![
            "[A-Za-z0-9._~-]{1,8}".prop_map(|s| s),
            Just("%20".to_string()),
            Just("%2F".to_string()),
            Just("%C3%A9".to_string()),
        ],
        1..4,
    )
    .prop_map(|v| v.concat())
}

fn request() -> impl Strategy<Value = Req> {
    (
        prop_oneof![Just("GET"), Just("POST"), Just("HEAD")],
        prop::collection::vec(segment(), 0..4),
        prop::collection::vec(("[a-zA-Z0-9-]{1,6}", "[a-zA-Z0-9%._-]{0,6}"), 0..4),
        prop::collection::vec(("x-amz-meta-[a-z]{1,6}", "[ -~]{0,20}"), 0..3),
        prop::collection::vec(any::<u8>(), 0..256),
        prop_oneof![Just("cloudtrail"), Just("s3")],
    )
        .prop_map(|(method, segs, query, extra, body, service)| {
            let path = format!("/{}", segs.join("/"));
            let query = query
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("&");
            let mut headers = vec![("host".to_string(), "127.0.0.1:7401".to_string())];
            for (k, v) in extra {
                if !headers.iter().any(|(h, _)| *h == k) {
                    headers.push((k, v.trim().to_string()));
                }
            }
            Req {
                method: method.to_string(),
                path,
                query,
                headers,
                body,
                service,
            }
        })
}

fn signed(r: &Req, at: SystemTime) -> Vec<(String, String)> {
    let req = Request {
        method: &r.method,
        path: &r.path,
        query: &r.query,
        headers: &r.headers,
        body: &r.body,
    };
    let mut h = r.headers.clone();
    h.extend(sigv4::sign(&req, KEY, SECRET, "eu-west-1", r.service, at));
    h
}

fn verify(r: &Req, headers: &[(String, String)], now: SystemTime) -> Result<sigv4::Verified, SigError> {
    let req = Request {
        method: &r.method,
        path: &r.path,
        query: &r.query,
        headers,
        body: &r.body,
    };
    sigv4::verify(&req, &OneKey, now)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn what_is_signed_verifies(r in request()) {
        let now = SystemTime::now();
        let h = signed(&r, now);
        let v = verify(&r, &h, now).map_err(|e| TestCaseError::fail(format!("{e}")))?;
        prop_assert_eq!(v.scope.service.as_str(), r.service);
        prop_assert_eq!(v.scope.region.as_str(), "eu-west-1");
    }

    #[test]
    fn any_change_fails(r in request(), which in 0usize..4, pos in any::<prop::sample::Index>()) {
        let now = SystemTime::now();
        let h = signed(&r, now);
        let mut t = r.clone();
        match which {
            0 => {
                if t.body.is_empty() { t.body.push(b'x') } else { let i = pos.index(t.body.len()); t.body[i] ^= 1 }
            }
            1 => t.path.push('z'),
            2 => t.query = if t.query.is_empty() { "a=b".into() } else { format!("{}x", t.query) },
            _ => t.method = if t.method == "GET" { "PUT".into() } else { "GET".into() },
        }
        prop_assert!(verify(&t, &h, now).is_err());
    }

    #[test]
    fn late_or_early_requests_are_refused(r in request(), minutes in 16u64..10_000, future in any::<bool>()) {
        let now = SystemTime::now();
        let skew = Duration::from_secs(minutes * 60);
        let at = if future { now + skew } else { now - skew };
        let h = signed(&r, at);
        prop_assert!(matches!(verify(&r, &h, now), Err(SigError::Expired(_))));
    }

    #[test]
    fn garbage_never_panics(auth in "[ -~]{0,300}", query in "[ -~]{0,300}", date in "[ -~]{0,20}") {
        let headers = vec![
            ("host".to_string(), "h".to_string()),
            ("authorization".to_string(), auth),
            ("x-amz-date".to_string(), date),
        ];
        let req = Request { method: "POST", path: "/", query: &query, headers: &headers, body: b"{}" };
        prop_assert!(sigv4::verify(&req, &OneKey, SystemTime::now()).is_err());
        let _ = sigv4::parse_query(&query);
    }
}

proptest! {
    /// A presigned URL verifies as it is sent, for any parameters, and not once a parameter or
    /// the path changes.
    #[test]
    fn presigned_urls_verify_and_bind_their_parameters(
        params in prop::collection::vec(("[a-z]{1,6}", "[ -~]{0,12}"), 0..4),
        service in prop_oneof![Just("cloudtrail"), Just("s3")],
    ) {
        let params: Vec<(String, String)> = params;
        let now = SystemTime::now();
        let headers = vec![("host".to_string(), "127.0.0.1:7401".to_string())];
        let query = sigv4::presign("GET", "/export/events", &params, "127.0.0.1:7401", KEY, SECRET, "us-east-1", service, now, 300);
        let req = |path: &'static str, query: &str| {
            let r = Request { method: "GET", path, query, headers: &headers, body: b"" };
            sigv4::verify(&r, &OneKey, now).map(|v| (v.presigned, v.scope.service))
        };
        prop_assert_eq!(req("/export/events", &query), Ok((true, service.to_string())));
        prop_assert_eq!(req("/export/other", &query), Err(SigError::Mismatch));
        let altered = format!("extra=1&{query}");
        prop_assert_eq!(req("/export/events", &altered), Err(SigError::Mismatch));
    }
}
