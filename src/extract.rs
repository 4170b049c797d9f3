//! Parameter extraction from the request parts, without the GIL: query string, headers, cookies,
//! path values, and the fast scalar coercions.
//!
//! A coercion here only ever accepts input that pydantic would accept with the same result
//! (plain decimal integers, simple decimals, the exact lowercase boolean spellings). Anything
//! else is passed on raw to the parameter's pydantic validator, which produces FastAPI's exact
//! value or error; so this module can be fast without ever being wrong.

use crate::plan::{ParamPlan, Scalar, Source};

/// One parameter's value as found in the request, before Python sees it.
pub enum Extracted {
    /// Not present in the request (missing required, or the default applies).
    Missing,
    /// Converted in Rust.
    Fast(FastValue),
    /// Present but left to pydantic: a string, or all values of a repeated key.
    Raw(RawValue),
}

pub enum FastValue {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Bytes(String),
    List(Vec<FastValue>),
}

pub enum RawValue {
    One(String),
    Many(Vec<String>),
}

/// The parts of a request that parameters are extracted from, already split once.
pub struct RequestParts<'a> {
    pub path_values: &'a [String],
    pub query: &'a [(String, String)],
    pub headers: &'a http::HeaderMap,
    pub cookies: &'a [(String, String)],
}

pub fn extract_all(plans: &[ParamPlan], parts: &RequestParts<'_>) -> Vec<Extracted> {
    plans.iter().map(|plan| extract_one(plan, parts)).collect()
}

fn extract_one(plan: &ParamPlan, parts: &RequestParts<'_>) -> Extracted {
    if plan.is_list {
        let values: Vec<String> = match plan.source {
            Source::Query => lookup_all(parts.query, &plan.key),
            Source::Header => parts.headers.get_all(plan.key.as_str()).iter().map(|v| latin1(v.as_bytes())).collect(),
            Source::Cookie => lookup_all(parts.cookies, &plan.key),
            Source::Path => parts.path_values.get(plan.path_index).cloned().into_iter().collect(),
        };
        // FastAPI treats an empty list like a missing value.
        if values.is_empty() {
            return Extracted::Missing;
        }
        if plan.fast {
            let converted: Option<Vec<FastValue>> = values.iter().map(|v| coerce(plan.scalar, v)).collect();
            if let Some(list) = converted {
                return Extracted::Fast(FastValue::List(list));
            }
        }
        return Extracted::Raw(RawValue::Many(values));
    }
    let value = match plan.source {
        Source::Path => parts.path_values.get(plan.path_index).cloned(),
        // Starlette's QueryParams and cookie dicts keep the last value of a repeated key.
        Source::Query => lookup_last(parts.query, &plan.key),
        Source::Cookie => lookup_last(parts.cookies, &plan.key),
        // Starlette's Headers.get returns the first value.
        Source::Header => parts.headers.get(plan.key.as_str()).map(|v| latin1(v.as_bytes())),
    };
    match value {
        None => Extracted::Missing,
        Some(v) => match plan.fast.then(|| coerce(plan.scalar, &v)).flatten() {
            Some(fast) => Extracted::Fast(fast),
            None => Extracted::Raw(RawValue::One(v)),
        },
    }
}

fn lookup_last(pairs: &[(String, String)], key: &str) -> Option<String> {
    pairs.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.clone())
}

fn lookup_all(pairs: &[(String, String)], key: &str) -> Vec<String> {
    pairs.iter().filter(|(k, _)| k == key).map(|(_, v)| v.clone()).collect()
}

/// HTTP header values are bytes; Starlette decodes them as latin-1.
pub fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| b as char).collect()
}

/// The conversions that are certain to agree with pydantic's lax mode; `None` means "ask pydantic".
pub fn coerce(scalar: Scalar, s: &str) -> Option<FastValue> {
    match scalar {
        Scalar::Str => Some(FastValue::Str(s.to_string())),
        Scalar::Bytes => Some(FastValue::Bytes(s.to_string())),
        Scalar::Int => plain_int(s).map(FastValue::Int),
        Scalar::Float => plain_decimal(s).map(FastValue::Float),
        Scalar::Bool => match s {
            "true" | "1" | "yes" | "on" | "t" | "y" => Some(FastValue::Bool(true)),
            "false" | "0" | "no" | "off" | "f" | "n" => Some(FastValue::Bool(false)),
            _ => None,
        },
        Scalar::Other => None,
    }
}

/// `-?[0-9]{1,18}`: always fits an i64 and means the same to pydantic.
fn plain_int(s: &str) -> Option<i64> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    if digits.is_empty() || digits.len() > 18 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `-?[0-9]{1,15}(\.[0-9]{1,15})?`: parsed exactly as Python's float() would.
fn plain_decimal(s: &str) -> Option<f64> {
    let body = s.strip_prefix('-').unwrap_or(s);
    let (int_part, frac_part) = match body.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (body, None),
    };
    let digits_ok = |d: &str| !d.is_empty() && d.len() <= 15 && d.bytes().all(|b| b.is_ascii_digit());
    if !digits_ok(int_part) || !frac_part.is_none_or(digits_ok) {
        return None;
    }
    s.parse().ok()
}

/// `a=1&b=2` with `+` as space and percent-decoding, as Starlette's `parse_qsl(keep_blank_values)`.
pub fn parse_query(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

/// Cookie headers parsed the way Starlette's `cookie_parser` does: split on `;`, then on the
/// first `=`, strip whitespace, unquote quoted values.
pub fn parse_cookies(headers: &http::HeaderMap) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for header in headers.get_all(http::header::COOKIE) {
        let text = latin1(header.as_bytes());
        for chunk in text.split(';') {
            let (key, value) = match chunk.split_once('=') {
                Some((k, v)) => (k.trim(), v.trim()),
                None => ("", chunk.trim()),
            };
            if key.is_empty() && value.is_empty() {
                continue;
            }
            out.push((key.to_string(), unquote_cookie(value)));
        }
    }
    out
}

/// `http.cookies._unquote`: strip surrounding quotes and resolve `\ooo` octal and `\c` escapes.
fn unquote_cookie(value: &str) -> String {
    let Some(inner) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')).filter(|_| value.len() >= 2) else {
        return value.to_string();
    };
    let bytes = inner.as_bytes();
    let mut out = String::with_capacity(inner.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 1 < bytes.len() {
            let octal = &bytes[i + 1..bytes.len().min(i + 4)];
            if octal.len() == 3 && octal.iter().all(|b| (b'0'..=b'7').contains(b)) && octal[0] <= b'3' {
                let code = (octal[0] - b'0') * 64 + (octal[1] - b'0') * 8 + (octal[2] - b'0');
                out.push(code as char);
                i += 4;
            } else {
                // `\c` stands for `c`; the backslash is ASCII, so `i + 1` is a char boundary.
                let ch = inner[i + 1..].chars().next().unwrap_or('\u{fffd}');
                out.push(ch);
                i += 1 + ch.len_utf8();
            }
        } else {
            let ch = inner[i..].chars().next().unwrap_or('\u{fffd}');
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ints_only_when_unambiguous() {
        assert!(matches!(coerce(Scalar::Int, "42"), Some(FastValue::Int(42))));
        assert!(matches!(coerce(Scalar::Int, "-7"), Some(FastValue::Int(-7))));
        for s in ["", "-", "+1", " 1", "1.0", "1_000", "abc", "9999999999999999999", "１"] {
            assert!(coerce(Scalar::Int, s).is_none(), "{s:?} must go to pydantic");
        }
    }

    #[test]
    fn floats_and_bools() {
        assert!(matches!(coerce(Scalar::Float, "1.5"), Some(FastValue::Float(f)) if f == 1.5));
        for s in ["1e5", "inf", "nan", ".5", "1.", ""] {
            assert!(coerce(Scalar::Float, s).is_none(), "{s:?} must go to pydantic");
        }
        assert!(matches!(coerce(Scalar::Bool, "yes"), Some(FastValue::Bool(true))));
        assert!(matches!(coerce(Scalar::Bool, "off"), Some(FastValue::Bool(false))));
        assert!(coerce(Scalar::Bool, "TRUE").is_none());
        assert!(coerce(Scalar::Bool, "maybe").is_none());
    }

    #[test]
    fn query_decoding() {
        let q = parse_query("a=1&b=hello+world&c=%2Fx&a=2&empty=&flag");
        assert_eq!(lookup_last(&q, "a").as_deref(), Some("2"));
        assert_eq!(lookup_all(&q, "a"), vec!["1", "2"]);
        assert_eq!(lookup_last(&q, "b").as_deref(), Some("hello world"));
        assert_eq!(lookup_last(&q, "c").as_deref(), Some("/x"));
        assert_eq!(lookup_last(&q, "empty").as_deref(), Some(""));
        assert_eq!(lookup_last(&q, "flag").as_deref(), Some(""));
    }

    #[test]
    fn cookies_like_starlette() {
        let mut h = http::HeaderMap::new();
        h.append(http::header::COOKIE, "a=1; b = two ; c=\"quo\\\"ted\"; lone".parse().unwrap());
        let c = parse_cookies(&h);
        assert_eq!(lookup_last(&c, "a").as_deref(), Some("1"));
        assert_eq!(lookup_last(&c, "b").as_deref(), Some("two"));
        assert_eq!(lookup_last(&c, "c").as_deref(), Some("quo\"ted"));
        assert_eq!(lookup_last(&c, "").as_deref(), Some("lone"));
    }

    #[test]
    fn escaped_non_ascii_in_a_quoted_cookie_does_not_panic() {
        let mut h = http::HeaderMap::new();
        h.append(http::header::COOKIE, http::HeaderValue::from_bytes(b"a=\"\\\xe9x\"").unwrap());
        let c = parse_cookies(&h);
        assert_eq!(lookup_last(&c, "a").as_deref(), Some("\u{e9}x"));
    }
}
