//! Starlette's standard middleware, run in Rust when an app's stack holds only these: CORS,
//! GZip, TrustedHost and HTTPSRedirect cost no Python per request. The Python classes in
//! `turboapi/middleware/` build each layer's settings (and stay the implementation when a stack
//! mixes them with Python middleware); behaviour is Starlette's, checked by tests/compat.

mod cors;
mod gzip;
mod trusted_host;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use pyo3::prelude::*;

use crate::reply::Reply;

pub use cors::Cors;
pub use gzip::GZip;
pub use trusted_host::{https_redirect, TrustedHost};

pub enum Layer {
    Cors(Cors),
    GZip(GZip),
    TrustedHost(TrustedHost),
    HttpsRedirect,
}

/// What the request looked like to the layers (read before the handler runs).
pub struct Seen {
    origin: Option<String>,
    accepts_gzip: bool,
}

/// A layer's verdict before the inner app runs.
pub enum Before {
    Continue,
    Answer(Reply),
}

pub fn seen(headers: &http::HeaderMap) -> Seen {
    let origin = headers.get(http::header::ORIGIN).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let accepts_gzip = headers
        .get_all(http::header::ACCEPT_ENCODING)
        .iter()
        .next()
        .is_some_and(|v| String::from_utf8_lossy(v.as_bytes()).contains("gzip"));
    Seen { origin, accepts_gzip }
}

pub(super) fn text(status: u16, body: &'static str) -> Reply {
    Reply::text(status, body)
}

pub(super) fn redirect(status: u16, location: &str) -> Reply {
    let mut reply = Reply::new(status, crate::reply::TEXT, Bytes::new());
    reply.headers.clear();
    match HeaderValue::from_str(location) {
        Ok(value) => reply.headers.push((http::header::LOCATION, value)),
        Err(_) => return text(400, "Invalid host header"),
    }
    reply
}

/// Set a header as Starlette's MutableHeaders does: the first one replaced, later ones removed.
pub(super) fn set_header(headers: &mut Vec<(HeaderName, HeaderValue)>, name: HeaderName, value: HeaderValue) {
    let mut found = false;
    headers.retain_mut(|(n, v)| {
        if *n != name {
            return true;
        }
        if found {
            return false;
        }
        found = true;
        *v = value.clone();
        true
    });
    if !found {
        headers.push((name, value));
    }
}

pub(super) fn append_vary(headers: &mut Vec<(HeaderName, HeaderValue)>, vary: &str, join_all: bool) {
    let existing: Vec<String> = headers
        .iter()
        .filter(|(n, _)| *n == http::header::VARY)
        .map(|(_, v)| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect();
    // CORS joins every Vary value; GZip's add_vary_header reads only the first.
    let joined = match (join_all, existing.first()) {
        (true, _) if !existing.is_empty() => format!("{}, {vary}", existing.join(", ")),
        (false, Some(first)) => format!("{first}, {vary}"),
        _ => vary.to_string(),
    };
    if let Ok(value) = HeaderValue::from_str(&joined) {
        set_header(headers, http::header::VARY, value);
    }
}

impl Layer {
    /// Before the inner app: answer now (preflight, bad host, https redirect) or go on.
    pub fn before(&self, method: &http::Method, scheme: &str, uri: &http::Uri, headers: &http::HeaderMap) -> Before {
        match self {
            Layer::Cors(cors) => {
                let origin = headers.get(http::header::ORIGIN);
                if origin.is_some()
                    && method == http::Method::OPTIONS
                    && headers.contains_key(http::header::ACCESS_CONTROL_REQUEST_METHOD)
                {
                    return Before::Answer(cors.preflight(headers));
                }
                Before::Continue
            }
            Layer::TrustedHost(th) => th.before(uri, scheme, headers),
            Layer::HttpsRedirect => https_redirect(uri, scheme, headers),
            Layer::GZip(_) => Before::Continue,
        }
    }

    /// After the inner app: shape its reply. Large bodies are compressed on a blocking thread,
    /// as Starlette moves them to a worker thread, so the reactor keeps serving meanwhile.
    pub async fn after(&self, seen: &Seen, reply: &mut Reply) {
        match self {
            Layer::Cors(cors) => cors.simple(seen, reply),
            Layer::GZip(gzip) => gzip.after(seen, reply).await,
            Layer::TrustedHost(_) | Layer::HttpsRedirect => {}
        }
    }
}

/// Whether the core's regex engine reads `pattern` (CORS `allow_origin_regex`); when it does
/// not (Python-only syntax: lookaround, backreferences, `\Z`, atomic groups...), the middleware
/// stack runs in Python instead.
#[pyfunction]
pub fn native_regex_supported(pattern: &str) -> bool {
    regex::Regex::new(&format!("^(?:{pattern})$")).is_ok()
}
