//! Who is calling: the SigV4 check shared by every protocol, and the call's context.

use std::sync::Arc;
use std::time::SystemTime;

use axum::http::request::Parts;
use cairn_model::{EventTime, Region, TlsDetails};

use crate::AppState;
use crate::audit::CallContext;
use crate::auth::identity::Principal;
use crate::auth::sigv4::{self, SigError};
use crate::listener::ConnInfo;

/// The credential a request claims, read before verification (to route it and to know whose
/// failed call it was).
#[derive(Debug, Clone, Default)]
pub struct Claimed {
    pub access_key_id: Option<String>,
    pub region: Option<String>,
    pub service: Option<String>,
}

impl Claimed {
    pub fn from_parts(parts: &Parts) -> Claimed {
        let credential = parts
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|auth| {
                let start = auth.find("Credential=")? + "Credential=".len();
                let rest = &auth[start..];
                Some(rest[..rest.find([',', ' ']).unwrap_or(rest.len())].to_string())
            })
            .or_else(|| {
                let q = parts.uri.query()?;
                sigv4::parse_query(q)
                    .into_iter()
                    .find(|(k, _)| k == "X-Amz-Credential")
                    .map(|(_, v)| v)
            });
        let Some(credential) = credential else {
            return Claimed::default();
        };
        // AKID/date/region/service/aws4_request
        let mut it = credential.split('/');
        let key = it.next().filter(|k| !k.is_empty()).map(str::to_string);
        let _date = it.next();
        let region = it.next().map(str::to_string);
        let service = it.next().map(str::to_string);
        Claimed {
            access_key_id: key,
            region,
            service,
        }
    }

    pub fn is_signed(&self) -> bool {
        self.access_key_id.is_some()
    }
}

/// Why authentication failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    Signature(SigError),
    /// Signed for another service than the one that received it.
    WrongService {
        expected: &'static str,
    },
    /// The scope's region is not a region name.
    BadRegion,
}

/// A verified caller.
pub struct Authenticated {
    pub principal: Arc<Principal>,
    pub region: String,
}

/// Verifies the signature of a request whose body is `body`, for `service`.
pub fn authenticate(
    state: &AppState,
    parts: &Parts,
    body: &[u8],
    service: &'static str,
) -> Result<Authenticated, AuthError> {
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let req = sigv4::Request {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or(""),
        headers: &headers,
        body,
    };
    let directory = state.directory();
    let verified = sigv4::verify_with_rules(
        &req,
        directory.as_ref(),
        SystemTime::now(),
        Some(sigv4::PathRules::for_service(service)),
    )
    .map_err(AuthError::Signature)?;
    if verified.scope.service != service {
        return Err(AuthError::WrongService { expected: service });
    }
    if !Region::is_valid(&verified.scope.region) {
        return Err(AuthError::BadRegion);
    }
    let principal = directory
        .principal(&verified.scope.access_key_id)
        .ok_or_else(|| AuthError::Signature(SigError::UnknownKey(verified.scope.access_key_id.clone())))?;
    Ok(Authenticated {
        principal,
        region: verified.scope.region,
    })
}

/// The context of a call, for its audit record.
pub fn context(parts: &Parts, conn: &ConnInfo, region: &str, request_id: &str, time: EventTime) -> CallContext {
    CallContext {
        region: region.to_string(),
        source_ip: conn.peer.ip().to_string(),
        user_agent: parts
            .headers
            .get("user-agent")
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(1024).collect()),
        request_id: request_id.to_string(),
        tls: conn.tls.as_ref().map(|t| TlsDetails {
            tls_version: Some(t.version.clone()),
            cipher_suite: Some(t.cipher_suite.clone()),
            client_provided_host_header: parts
                .headers
                .get("host")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            ..TlsDetails::default()
        }),
        time,
        from_console: false,
    }
}
