//! Starlette's standard middleware, run in Rust when an app's stack holds only these: CORS,
//! GZip, TrustedHost and HTTPSRedirect cost no Python per request. The Python classes in
//! `turboapi/middleware/` build each layer's settings (and stay the implementation when a stack
//! mixes them with Python middleware); behaviour is Starlette's, checked by tests/compat.

use std::io::Write;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::response::{Later, Reply};

pub enum Layer {
    Cors(Cors),
    GZip(GZip),
    TrustedHost(TrustedHost),
    HttpsRedirect,
}

pub struct Cors {
    allow_all_origins: bool,
    allow_credentials: bool,
    allow_origins: Vec<String>,
    allow_origin_regex: Option<regex::Regex>,
    allow_methods: Vec<String>,
    allow_all_headers: bool,
    allow_headers: Vec<String>,
    allow_private_network: bool,
    explicit_origin: bool,
    simple_headers: Vec<(HeaderName, HeaderValue)>,
    preflight_headers: Vec<(HeaderName, HeaderValue)>,
}

pub struct GZip {
    minimum_size: usize,
    /// Bodies from this size are compressed off the reactor (Starlette's `thread_minimum_size`).
    thread_minimum_size: usize,
    level: u32,
    excluded: Vec<String>,
}

pub struct TrustedHost {
    allowed: Vec<String>,
    /// `"*"` is among `allowed`: every host passes (decided once, not per request).
    allow_any: bool,
    www_redirect: bool,
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

fn err(msg: String) -> PyErr {
    pyo3::exceptions::PyValueError::new_err(msg)
}

fn header_pairs(value: &Bound<'_, PyAny>) -> PyResult<Vec<(HeaderName, HeaderValue)>> {
    let mut out = Vec::new();
    for pair in value.downcast::<PyList>()?.iter() {
        let (name, value): (String, String) = pair.extract()?;
        let name = HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()).map_err(|e| err(e.to_string()))?;
        let value = HeaderValue::from_str(&value).map_err(|e| err(e.to_string()))?;
        out.push((name, value));
    }
    Ok(out)
}

impl Layer {
    /// From `(kind, settings dict)` as `turboapi.middleware.native_layers` gives them.
    pub fn from_py(item: &Bound<'_, PyAny>) -> PyResult<Layer> {
        let (kind, settings): (String, Bound<'_, PyDict>) = item.extract()?;
        let get = |key: &str| -> PyResult<Bound<'_, PyAny>> {
            settings.get_item(key)?.ok_or_else(|| err(format!("{kind} layer: missing {key}")))
        };
        Ok(match kind.as_str() {
            "cors" => {
                let regex: Option<String> = get("allow_origin_regex")?.extract()?;
                let allow_origin_regex = regex
                    .map(|r| {
                        regex::Regex::new(&format!("^(?:{r})$")).map_err(|e| err(format!("allow_origin_regex: {e}")))
                    })
                    .transpose()?;
                Layer::Cors(Cors {
                    allow_all_origins: get("allow_all_origins")?.extract()?,
                    allow_credentials: get("allow_credentials")?.extract()?,
                    allow_origins: get("allow_origins")?.extract()?,
                    allow_origin_regex,
                    allow_methods: get("allow_methods")?.extract()?,
                    allow_all_headers: get("allow_all_headers")?.extract()?,
                    allow_headers: get("allow_headers")?.extract()?,
                    allow_private_network: get("allow_private_network")?.extract()?,
                    explicit_origin: get("explicit_origin")?.extract()?,
                    simple_headers: header_pairs(&get("simple_headers")?)?,
                    preflight_headers: header_pairs(&get("preflight_headers")?)?,
                })
            }
            "gzip" => Layer::GZip(GZip {
                minimum_size: get("minimum_size")?.extract()?,
                thread_minimum_size: get("thread_minimum_size")?.extract()?,
                level: get("compresslevel")?.extract()?,
                excluded: get("exclude_content_types")?.extract()?,
            }),
            "trustedhost" => {
                let allowed: Vec<String> = get("allowed_hosts")?.extract()?;
                Layer::TrustedHost(TrustedHost {
                    allow_any: allowed.iter().any(|p| p == "*"),
                    allowed,
                    www_redirect: get("www_redirect")?.extract()?,
                })
            }
            "httpsredirect" => Layer::HttpsRedirect,
            other => return Err(err(format!("unknown native middleware {other:?}"))),
        })
    }
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

fn text(status: u16, body: &'static str) -> Reply {
    Reply::new(status, "text/plain; charset=utf-8", Bytes::from_static(body.as_bytes()))
}

fn redirect(status: u16, location: &str) -> Reply {
    let mut reply = Reply::new(status, "text/plain; charset=utf-8", Bytes::new());
    reply.headers.clear();
    match HeaderValue::from_str(location) {
        Ok(value) => reply.headers.push((http::header::LOCATION, value)),
        Err(_) => return text(400, "Invalid host header"),
    }
    reply
}

/// Starlette's Host header grammar: a reg-name or bracketed IP literal, then an optional port.
fn host_of(header: &str) -> Option<&str> {
    let (host, port) = if let Some(rest) = header.strip_prefix('[') {
        let end = rest.find(']')?;
        let literal = &rest[..end];
        if literal.contains(':') {
            literal.parse::<std::net::Ipv6Addr>().ok()?;
        } else if !(literal.starts_with(['v', 'V']) && literal.contains('.')) {
            return None;
        }
        (&header[..end + 2], &rest[end + 1..])
    } else {
        let split = header.find(':').unwrap_or(header.len());
        let host = &header[..split];
        let ok = |c: char| c.is_ascii_alphanumeric() || "._~%!$&'()*+,;=-".contains(c);
        if host.is_empty() || !host.chars().all(ok) {
            return None;
        }
        (host, &header[split..])
    };
    match port.strip_prefix(':') {
        None if port.is_empty() => Some(host),
        Some(digits) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => Some(host),
        _ => None,
    }
}

/// Set a header as Starlette's MutableHeaders does: the first one replaced, later ones removed.
fn set_header(headers: &mut Vec<(HeaderName, HeaderValue)>, name: HeaderName, value: HeaderValue) {
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

fn append_vary(headers: &mut Vec<(HeaderName, HeaderValue)>, vary: &str, join_all: bool) {
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
            Layer::TrustedHost(th) => {
                if th.allow_any {
                    return Before::Continue;
                }
                let raw = headers.get(http::header::HOST).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
                let Some(host) = raw.as_deref().and_then(host_of).map(|h| h.to_ascii_lowercase()) else {
                    return Before::Answer(text(400, "Invalid host header"));
                };
                let mut www = false;
                for pattern in &th.allowed {
                    if host == *pattern || (pattern.starts_with('*') && host.ends_with(&pattern[1..])) {
                        return Before::Continue;
                    }
                    if pattern.strip_prefix("www.") == Some(host.as_str()) {
                        www = true;
                    }
                }
                if www && th.www_redirect {
                    let netloc = raw.unwrap_or_default();
                    let query = uri.query().map(|q| format!("?{q}")).unwrap_or_default();
                    return Before::Answer(redirect(307, &format!("{scheme}://www.{netloc}{}{query}", uri.path())));
                }
                Before::Answer(text(400, "Invalid host header"))
            }
            Layer::HttpsRedirect => {
                if scheme != "http" {
                    return Before::Continue;
                }
                let Some(netloc) =
                    headers.get(http::header::HOST).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                else {
                    return Before::Answer(text(400, "Invalid host header"));
                };
                let netloc = match netloc.rsplit_once(':') {
                    Some((host, "80" | "443")) => host.to_string(),
                    _ => netloc,
                };
                let query = uri.query().map(|q| format!("?{q}")).unwrap_or_default();
                Before::Answer(redirect(307, &format!("https://{netloc}{}{query}", uri.path())))
            }
            Layer::GZip(_) => Before::Continue,
        }
    }

    /// After the inner app: shape its reply. Large bodies are compressed on a blocking thread,
    /// as Starlette moves them to a worker thread, so the reactor keeps serving meanwhile.
    pub async fn after(&self, seen: &Seen, reply: &mut Reply) {
        match self {
            Layer::Cors(cors) => cors.simple(seen, reply),
            Layer::GZip(gzip) => {
                if matches!(reply.later, Later::Stream(_)) {
                    // A stream: decided at its first chunk (an empty one is left alone).
                    let Later::Stream(mut reader) = std::mem::take(&mut reply.later) else { unreachable!() };
                    if gzip.compressible(reply) && reader.wait_first().await {
                        append_vary(&mut reply.headers, "Accept-Encoding", false);
                        if seen.accepts_gzip {
                            reader.compress(gzip.level);
                            set_header(
                                &mut reply.headers,
                                http::header::CONTENT_ENCODING,
                                HeaderValue::from_static("gzip"),
                            );
                            reply.headers.retain(|(n, _)| *n != http::header::CONTENT_LENGTH);
                        }
                    }
                    reply.later = Later::Stream(reader);
                    return;
                }
                if !gzip.prepare(seen, reply) {
                    return;
                }
                let (level, body) = (gzip.level, reply.body.clone());
                let compressed = if body.len() >= gzip.thread_minimum_size {
                    tokio::task::spawn_blocking(move || compress(level, &body)).await.ok().flatten()
                } else {
                    compress(level, &body)
                };
                if let Some(compressed) = compressed {
                    reply.body = Bytes::from(compressed);
                    set_header(&mut reply.headers, http::header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                    reply.headers.retain(|(n, _)| *n != http::header::CONTENT_LENGTH);
                }
            }
            Layer::TrustedHost(_) | Layer::HttpsRedirect => {}
        }
    }
}

impl Cors {
    fn is_allowed_origin(&self, origin: &str) -> bool {
        self.allow_all_origins
            || self.allow_origin_regex.as_ref().is_some_and(|r| r.is_match(origin))
            || self.allow_origins.iter().any(|o| o == origin)
    }

    fn preflight(&self, headers: &http::HeaderMap) -> Reply {
        let text_of = |name: &str| headers.get(name).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let origin = text_of("origin").unwrap_or_default();
        let method = text_of("access-control-request-method").unwrap_or_default();
        let mut out = self.preflight_headers.clone();
        let mut failures: Vec<&str> = Vec::new();
        if self.is_allowed_origin(&origin) {
            if self.explicit_origin {
                if let Ok(value) = HeaderValue::from_str(&origin) {
                    set_header(&mut out, http::header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
                }
            }
        } else {
            failures.push("origin");
        }
        if !self.allow_methods.contains(&method) {
            failures.push("method");
        }
        if let Some(requested) = text_of("access-control-request-headers") {
            if self.allow_all_headers {
                if let Ok(value) = HeaderValue::from_str(&requested) {
                    set_header(&mut out, http::header::ACCESS_CONTROL_ALLOW_HEADERS, value);
                }
            } else if requested.to_lowercase().split(',').any(|h| !self.allow_headers.iter().any(|a| a == h.trim())) {
                failures.push("headers");
            }
        }
        if text_of("access-control-request-private-network").is_some() {
            if self.allow_private_network {
                out.push((
                    HeaderName::from_static("access-control-allow-private-network"),
                    HeaderValue::from_static("true"),
                ));
            } else {
                failures.push("private-network");
            }
        }
        let (status, body) = if failures.is_empty() {
            (200, Bytes::from_static(b"OK"))
        } else {
            (400, Bytes::from(format!("Disallowed CORS {}", failures.join(", "))))
        };
        let mut reply = Reply::new(status, "text/plain; charset=utf-8", body);
        let content_type = reply.headers.pop().expect("Reply::new sets content-type");
        out.push(content_type);
        reply.headers = out;
        reply
    }

    fn simple(&self, seen: &Seen, reply: &mut Reply) {
        let Some(origin) = &seen.origin else {
            append_vary(&mut reply.headers, "Origin", true);
            return;
        };
        for (name, value) in &self.simple_headers {
            set_header(&mut reply.headers, name.clone(), value.clone());
        }
        let explicit = (self.allow_all_origins && self.allow_credentials)
            || (!self.allow_all_origins && self.is_allowed_origin(origin));
        if explicit {
            if let Ok(value) = HeaderValue::from_str(origin) {
                set_header(&mut reply.headers, http::header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
            }
        }
        append_vary(&mut reply.headers, "Origin", true);
    }
}

impl GZip {
    /// Whether the reply is to be compressed; adds `Vary: Accept-Encoding` when the body
    /// qualifies, as Starlette does even for clients that do not accept gzip.
    fn prepare(&self, seen: &Seen, reply: &mut Reply) -> bool {
        if !self.compressible(reply) || reply.body.len() < self.minimum_size {
            return false;
        }
        append_vary(&mut reply.headers, "Accept-Encoding", false);
        seen.accepts_gzip
    }

    /// Not partial, not encoded already, not an excluded media type.
    fn compressible(&self, reply: &Reply) -> bool {
        if reply.status == 206 || reply.headers.iter().any(|(n, _)| *n == http::header::CONTENT_ENCODING) {
            return false;
        }
        let media_type = reply
            .headers
            .iter()
            .find(|(n, _)| *n == http::header::CONTENT_TYPE)
            .map(|(_, v)| String::from_utf8_lossy(v.as_bytes()).split(';').next().unwrap_or("").trim().to_lowercase())
            .unwrap_or_default();
        let family = format!("{}/*", media_type.split('/').next().unwrap_or(""));
        let grpc = media_type.starts_with("application/grpc+");
        !self.excluded.iter().any(|e| *e == media_type || *e == family || (grpc && e == "application/grpc"))
    }
}

/// Whether the core's regex engine reads `pattern` (CORS `allow_origin_regex`); when it does
/// not (Python-only syntax: lookaround, backreferences, `\Z`, atomic groups...), the middleware
/// stack runs in Python instead.
#[pyfunction]
pub fn native_regex_supported(pattern: &str) -> bool {
    regex::Regex::new(&format!("^(?:{pattern})$")).is_ok()
}

fn compress(level: u32, body: &[u8]) -> Option<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level));
    encoder.write_all(body).ok()?;
    encoder.finish().ok()
}

#[cfg(test)]
mod tests {
    use super::host_of;

    #[test]
    fn host_header_grammar() {
        assert_eq!(host_of("example.com"), Some("example.com"));
        assert_eq!(host_of("example.com:8080"), Some("example.com"));
        assert_eq!(host_of("[::1]:80"), Some("[::1]"));
        assert_eq!(host_of("example.com:"), None);
        assert_eq!(host_of("example.com:abc"), None);
        assert_eq!(host_of("u@example.com"), None);
        assert_eq!(host_of("[zz]"), None);
        assert_eq!(host_of(""), None);
    }
}
