//! Errors in the shapes AWS clients parse: CloudTrail's JSON (`{"__type": ..., "message": ...}`)
//! and S3's XML. One place decides each error's code and HTTP status.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::auth::sigv4::SigError;

/// An error to return to a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The AWS error code (`__type`), e.g. `TrailNotFoundException`.
    pub code: String,
    pub message: String,
    pub status: StatusCode,
}

impl ApiError {
    /// A client error (HTTP 400).
    pub fn client(code: &str, message: impl Into<String>) -> Self {
        ApiError {
            code: code.to_string(),
            message: message.into(),
            status: StatusCode::BAD_REQUEST,
        }
    }

    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// A fault on Cairn's side (HTTP 500). The detail is logged, not sent.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "internal error while serving a request");
        ApiError {
            code: "InternalFailure".into(),
            message: "The request processing has failed because of an unknown error, exception or failure.".into(),
            status: StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// 503 while the event log is still being opened (WAL replay).
    pub fn starting() -> Self {
        ApiError::client("ServiceUnavailableException", "Cairn is starting; try again shortly.")
            .with_status(StatusCode::SERVICE_UNAVAILABLE)
    }

    pub fn access_denied(message: impl Into<String>) -> Self {
        ApiError::client("AccessDeniedException", message)
    }

    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        ApiError::client("InvalidParameterException", message)
    }

    pub fn unsupported(operation: &str) -> Self {
        ApiError::client(
            "UnsupportedOperationException",
            format!("Cairn does not implement the {operation} operation yet."),
        )
    }

    /// An authentication failure, mapped to CloudTrail's codes.
    pub fn from_signature(e: &SigError) -> Self {
        let (code, status) = match e {
            SigError::Missing => ("MissingAuthenticationTokenException", StatusCode::FORBIDDEN),
            SigError::Incomplete(_) | SigError::Algorithm(_) => {
                ("IncompleteSignatureException", StatusCode::BAD_REQUEST)
            }
            SigError::UnknownKey(_) => ("UnrecognizedClientException", StatusCode::FORBIDDEN),
            SigError::Mismatch | SigError::Expired(_) | SigError::Scope(_) => {
                ("InvalidSignatureException", StatusCode::FORBIDDEN)
            }
        };
        ApiError {
            code: code.into(),
            message: e.to_string(),
            status,
        }
    }

    /// The event log refused or failed.
    pub fn from_log(e: &cairn_log::Error) -> Self {
        match e.kind() {
            cairn_log::ErrorKind::Overloaded => {
                ApiError::client("ThrottlingException", "Rate exceeded").with_status(StatusCode::TOO_MANY_REQUESTS)
            }
            cairn_log::ErrorKind::InvalidInput => ApiError::invalid_parameter(e.to_string()),
            _ => ApiError::internal(e),
        }
    }

    /// The JSON 1.1 response.
    pub fn into_json_response(self, request_id: &str) -> Response {
        let body = serde_json::json!({ "__type": self.code, "message": self.message });
        json_response(self.status, &body, request_id)
    }
}

/// A JSON 1.1 response with its request id.
pub fn json_response(status: StatusCode, body: &serde_json::Value, request_id: &str) -> Response {
    // to_vec, not to_string: Display goes through fmt::Write, a third slower on large pages.
    let bytes = serde_json::to_vec(body).expect("a JSON value always serialises");
    json_bytes_response(status, bytes, request_id)
}

/// A JSON 1.1 answer whose body is already serialised.
pub fn json_bytes_response(status: StatusCode, bytes: Vec<u8>, request_id: &str) -> Response {
    let mut resp = (status, bytes).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-amzn-requestid", v);
    }
    resp
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}
