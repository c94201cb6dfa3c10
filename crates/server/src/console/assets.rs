//! The console's page, script and style, compiled into the binary. Each answer carries an ETag
//! (the content's digest) so a browser revalidates in one small round trip.

use std::sync::LazyLock;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "index.html",
        content_type: "text/html; charset=utf-8",
        body: include_bytes!("assets/index.html"),
    },
    Asset {
        name: "console.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("assets/console.js"),
    },
    Asset {
        name: "console.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("assets/console.css"),
    },
    Asset {
        name: "favicon.svg",
        content_type: "image/svg+xml",
        body: include_bytes!("assets/favicon.svg"),
    },
];

static ETAGS: LazyLock<Vec<String>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|a| {
            let d = Sha256::digest(a.body);
            format!("\"{}\"", d[..12].iter().map(|b| format!("{b:02x}")).collect::<String>())
        })
        .collect()
});

/// The page itself (it never varies: who is signed in is asked by the script).
pub fn index() -> Response {
    serve(0, &HeaderMap::new())
}

/// `GET /console/assets/<name>`.
pub fn asset(name: &str, headers: &HeaderMap) -> Response {
    match ASSETS.iter().position(|a| a.name == name && name != "index.html") {
        Some(i) => serve(i, headers),
        None => super::error(StatusCode::NOT_FOUND, "NotFound", "There is no such console file."),
    }
}

fn serve(i: usize, headers: &HeaderMap) -> Response {
    let a = &ASSETS[i];
    let etag = &ETAGS[i];
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut resp = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (StatusCode::OK, a.body).into_response()
    };
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(a.content_type));
    if let Ok(v) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assets_revalidate_by_etag() {
        let r = asset("console.js", &HeaderMap::new());
        assert_eq!(r.status(), StatusCode::OK);
        let etag = r.headers()[header::ETAG].clone();
        let mut h = HeaderMap::new();
        h.insert(header::IF_NONE_MATCH, etag);
        assert_eq!(asset("console.js", &h).status(), StatusCode::NOT_MODIFIED);
        assert_eq!(asset("../lib.rs", &h).status(), StatusCode::NOT_FOUND);
        assert_eq!(asset("nope.js", &h).status(), StatusCode::NOT_FOUND);
    }
}
