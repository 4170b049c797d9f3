//! Property tests of the parsers the core wrote itself (issue 7, part 4), run with many cases by
//! `make fuzz` (`PROPTEST_CASES`, bounded in time) and with proptest's default 256 by `make test`.
//! Each parser takes arbitrary input without panicking, and keeps the properties the request
//! pipeline relies on.

use proptest::prelude::*;

use crate::extract::{coerce, parse_cookies, parse_query, FastValue};
use crate::plan::Scalar;
use crate::proxy::{forwarded, parse_trusted};
use crate::router::{parse_path, RouteMatch, Router};

fn header_bytes() -> impl Strategy<Value = Vec<u8>> {
    // What hyper lets through as a header value: visible ASCII, obs-text, tab and space.
    proptest::collection::vec(prop_oneof![0x20u8..0x7f, 0x80u8..=0xff, Just(b'\t')], 0..200)
}

fn headers_with(name: http::HeaderName, values: Vec<Vec<u8>>) -> http::HeaderMap {
    let mut map = http::HeaderMap::new();
    for value in values {
        if let Ok(value) = http::HeaderValue::from_bytes(&value) {
            map.append(name.clone(), value);
        }
    }
    map
}

proptest! {
    /// Ints: only plain decimals of at most 18 digits are taken (always an i64, and the same
    /// number to pydantic); every such string is.
    #[test]
    fn fuzz_coerce_int(s in "\\PC{0,30}|-?[0-9]{0,25}") {
        let plain = {
            let digits = s.strip_prefix('-').unwrap_or(&s);
            !digits.is_empty() && digits.len() <= 18 && digits.bytes().all(|b| b.is_ascii_digit())
        };
        match coerce(Scalar::Int, &s) {
            Some(FastValue::Int(i)) => {
                prop_assert!(plain);
                prop_assert_eq!(i, s.parse::<i64>().unwrap());
            }
            Some(_) => prop_assert!(false, "an int coercion gave another type"),
            None => prop_assert!(!plain),
        }
    }

    /// Floats: only plain decimals are taken, and they read as Rust (and Python) read them.
    #[test]
    fn fuzz_coerce_float(s in "\\PC{0,30}|-?[0-9]{0,20}(\\.[0-9]{0,20})?") {
        if let Some(FastValue::Float(f)) = coerce(Scalar::Float, &s) {
            prop_assert!(f.is_finite());
            prop_assert_eq!(f, s.parse::<f64>().unwrap());
            prop_assert!(s.bytes().all(|b| b.is_ascii_digit() || b == b'.' || b == b'-'));
        }
    }

    /// Bools: exactly pydantic's lowercase spellings, nothing else.
    #[test]
    fn fuzz_coerce_bool(s in "\\PC{0,8}") {
        let known = ["true", "1", "yes", "on", "t", "y", "false", "0", "no", "off", "f", "n"];
        prop_assert_eq!(coerce(Scalar::Bool, &s).is_some(), known.contains(&s.as_str()));
    }

    /// Query strings: never a panic; every pair comes from a `&`-separated piece.
    #[test]
    fn fuzz_parse_query(q in "\\PC{0,200}|[a-z=&%+0-9A-F]{0,100}") {
        let pairs = parse_query(&q);
        prop_assert!(pairs.len() <= q.split('&').count());
    }

    /// Cookies: never a panic, on any header bytes; no pair is empty on both sides.
    #[test]
    fn fuzz_parse_cookies(values in proptest::collection::vec(header_bytes(), 0..4)) {
        let headers = headers_with(http::header::COOKIE, values);
        for (key, value) in parse_cookies(&headers) {
            prop_assert!(!(key.is_empty() && value.is_empty()));
            prop_assert!(!key.contains(';'));
        }
    }

    /// X-Forwarded-*: never a panic; an untrusted peer's headers are never believed.
    #[test]
    fn fuzz_forwarded(
        xff in proptest::collection::vec(header_bytes(), 0..3),
        proto in header_bytes(),
        host in header_bytes(),
        trusted_peer in any::<bool>(),
    ) {
        let mut headers = headers_with(http::HeaderName::from_static("x-forwarded-for"), xff);
        if let Ok(v) = http::HeaderValue::from_bytes(&proto) {
            headers.insert("x-forwarded-proto", v);
        }
        if let Ok(v) = http::HeaderValue::from_bytes(&host) {
            headers.insert("x-forwarded-host", v);
        }
        let trusted = parse_trusted("10.0.0.1").unwrap();
        let peer: std::net::SocketAddr = if trusted_peer { "10.0.0.1:5000" } else { "10.0.0.2:5000" }.parse().unwrap();
        let seen = forwarded(&trusted, Some(peer), &headers);
        if !trusted_peer {
            prop_assert!(seen.is_none());
        }
        if let Some(fwd) = seen {
            prop_assert!(matches!(fwd.scheme, None | Some("http") | Some("https") | Some("ws") | Some("wss")));
        }
    }

    /// forwarded_allow_ips: any text is either refused with a message or parsed, never a panic.
    #[test]
    fn fuzz_parse_trusted(list in "\\PC{0,60}|[0-9./:a-f,* ]{0,60}") {
        let _ = parse_trusted(&list);
    }

    /// Route patterns: any text is refused or parsed; a parsed pattern keeps its parameter names.
    #[test]
    fn fuzz_parse_path(path in "/?\\PC{0,40}|(/[a-z]{1,4}|/\\{[a-z]{1,3}(:(int|path|str|float|uuid|x))?\\}){0,5}") {
        if let Ok(parsed) = parse_path(&path) {
            prop_assert_eq!(parsed.names.len(), parsed.convertors.len());
            for name in &parsed.names {
                prop_assert!(path.contains(name.as_str()));
            }
        }
    }

    /// Routing: any request path gets an answer without a panic; a match gives one value per
    /// parameter, and an int convertor only matches digits.
    #[test]
    fn fuzz_router_lookup(path in "/\\PC{0,60}|(/[a-z0-9%.]{0,6}){0,6}/?", method in "GET|POST|HEAD|PUT|BREW") {
        let table: Vec<(Vec<String>, String)> = [
            (vec!["GET"], "/items/{id:int}"),
            (vec!["GET", "POST"], "/items/{id}/tags/{tag}"),
            (vec!["PUT"], "/files/{rest:path}"),
            (vec!["GET"], "/"),
            (vec!["GET"], "/a/b/"),
        ]
        .into_iter()
        .map(|(m, p)| (m.into_iter().map(String::from).collect(), p.to_string()))
        .collect();
        let router = Router::new(&table).unwrap();
        match router.lookup(&method, &path) {
            RouteMatch::Found { route: 0, params } => {
                prop_assert_eq!(params.len(), 1);
                prop_assert!(params[0].bytes().all(|b| b.is_ascii_digit()));
            }
            RouteMatch::Found { route: 1, params } => prop_assert_eq!(params.len(), 2),
            RouteMatch::Found { route: 2, params } => prop_assert_eq!(params.len(), 1),
            RouteMatch::Found { params, .. } => prop_assert!(params.is_empty()),
            RouteMatch::MethodNotAllowed { allow } => prop_assert!(!allow.is_empty()),
            RouteMatch::RedirectSlash { path: to } => prop_assert!(to.trim_end_matches('/') == path.trim_end_matches('/')),
            RouteMatch::NotFound => {}
        }
    }

    /// Hosts: whatever is accepted is a URI authority with no userinfo, path or query, and a
    /// port that fits 16 bits.
    #[test]
    fn fuzz_is_host(value in "\\PC{0,30}|[a-z0-9.:\\[\\]@/%-]{0,30}") {
        if crate::proxy::is_host(&value) {
            prop_assert!(!value.contains(['@', '/', '?', '#', '%', ' ']));
            let with_port = if value.ends_with(':') { format!("{value}0") } else { value.clone() };
            let authority: http::uri::Authority = with_port.parse().unwrap();
            prop_assert!(authority.port().is_none() || authority.port_u16().is_some());
        }
    }

    /// The WebSocket upgrade check: any Upgrade header bytes, never a panic.
    #[test]
    fn fuzz_is_upgrade(values in proptest::collection::vec(header_bytes(), 0..3)) {
        let headers = headers_with(http::header::UPGRADE, values);
        let _ = crate::ws_handshake::is_upgrade(&http::Method::GET, http::Version::HTTP_11, &headers);
    }
}
