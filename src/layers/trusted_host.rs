//! TrustedHostMiddleware and HTTPSRedirectMiddleware in the core: the Host header checked
//! against `allowed_hosts` (400, or a redirect to www.), plain HTTP redirected to HTTPS.

use super::{redirect, text, Before};

pub struct TrustedHost {
    pub(crate) allowed: Vec<String>,
    /// `"*"` is among `allowed`: every host passes (decided once, not per request).
    pub(crate) allow_any: bool,
    pub(crate) www_redirect: bool,
}

impl TrustedHost {
    pub(super) fn before(&self, uri: &http::Uri, scheme: &str, headers: &http::HeaderMap) -> Before {
        if self.allow_any {
            return Before::Continue;
        }
        let raw = headers.get(http::header::HOST).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let Some(host) = raw.as_deref().and_then(host_of).map(|h| h.to_ascii_lowercase()) else {
            return Before::Answer(text(400, "Invalid host header"));
        };
        let mut www = false;
        for pattern in &self.allowed {
            if host == *pattern || (pattern.starts_with('*') && host.ends_with(&pattern[1..])) {
                return Before::Continue;
            }
            if pattern.strip_prefix("www.") == Some(host.as_str()) {
                www = true;
            }
        }
        if www && self.www_redirect {
            let netloc = raw.unwrap_or_default();
            let query = uri.query().map(|q| format!("?{q}")).unwrap_or_default();
            return Before::Answer(redirect(307, &format!("{scheme}://www.{netloc}{}{query}", uri.path())));
        }
        Before::Answer(text(400, "Invalid host header"))
    }
}

/// HTTPSRedirectMiddleware: a 307 to the same URL over HTTPS.
pub fn https_redirect(uri: &http::Uri, scheme: &str, headers: &http::HeaderMap) -> Before {
    if scheme != "http" {
        return Before::Continue;
    }
    let Some(netloc) = headers.get(http::header::HOST).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
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
