//! CORSMiddleware in the core: preflight requests answered, simple requests' replies given
//! Starlette's CORS headers.

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};

use super::{append_vary, set_header, Seen};
use crate::reply::Reply;

pub struct Cors {
    pub(crate) allow_all_origins: bool,
    pub(crate) allow_credentials: bool,
    pub(crate) allow_origins: Vec<String>,
    pub(crate) allow_origin_regex: Option<regex::Regex>,
    pub(crate) allow_methods: Vec<String>,
    pub(crate) allow_all_headers: bool,
    pub(crate) allow_headers: Vec<String>,
    pub(crate) allow_private_network: bool,
    pub(crate) explicit_origin: bool,
    pub(crate) simple_headers: Vec<(HeaderName, HeaderValue)>,
    pub(crate) preflight_headers: Vec<(HeaderName, HeaderValue)>,
}

impl Cors {
    fn is_allowed_origin(&self, origin: &str) -> bool {
        self.allow_all_origins
            || self.allow_origin_regex.as_ref().is_some_and(|r| r.is_match(origin))
            || self.allow_origins.iter().any(|o| o == origin)
    }

    pub(super) fn preflight(&self, headers: &http::HeaderMap) -> Reply {
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
        let mut reply = Reply::new(status, crate::reply::TEXT, body);
        let content_type = reply.headers.pop().expect("Reply::new sets content-type");
        out.push(content_type);
        reply.headers = out;
        reply
    }

    pub(super) fn simple(&self, seen: &Seen, reply: &mut Reply) {
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
