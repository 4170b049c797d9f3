//! `Reply`: an answer ready for hyper (status, headers, a body held whole or produced as it is
//! sent), and `Refusal`: every answer the core gives by itself (404, 405, 413, 503...).

use std::sync::Arc;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use pyo3::prelude::*;

use crate::filebody::FileBody;
use crate::stream::StreamReader;

/// A complete answer, ready for hyper.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// The body when it is held whole (empty when `later` is not `Later::No`).
    pub body: Bytes,
    /// The unhandled exception behind a 500, for `TestClient(raise_server_exceptions=True)`.
    pub error: Option<Arc<PyErr>>,
    /// The response's `background`: run by the Python side once the reply has been sent.
    pub background: Option<Py<PyAny>>,
    /// A body that is not in `body`: produced as it is sent.
    pub later: Later,
}

/// The kinds of body that are not held whole.
#[derive(Default)]
pub enum Later {
    #[default]
    No,
    /// A streaming or file response object, not started yet (`deliver` starts or plans it).
    Source(Py<PyAny>),
    /// A stream's chunks as its pump produces them.
    Stream(StreamReader),
    /// A file read by the core.
    File(Box<FileBody>),
    /// No body and no length to announce (HEAD on a streaming response).
    NoLength,
}

/// What hyper sends: a body held whole, or the chunks of a stream as they come.
pub enum ResponseBody {
    Full(Option<Bytes>),
    /// Nothing, of no announced length (no Content-Length is derived from it).
    NoLength,
    Stream(StreamReader),
    File(Box<FileBody>),
}

impl http_body::Body for ResponseBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        match self.get_mut() {
            ResponseBody::Full(body) => {
                std::task::Poll::Ready(body.take().filter(|b| !b.is_empty()).map(|b| Ok(http_body::Frame::data(b))))
            }
            ResponseBody::NoLength => std::task::Poll::Ready(None),
            ResponseBody::Stream(reader) => std::pin::Pin::new(reader).poll_frame(cx),
            ResponseBody::File(file) => std::pin::Pin::new(file.as_mut()).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, ResponseBody::Full(None) | ResponseBody::NoLength)
    }

    fn size_hint(&self) -> http_body::SizeHint {
        match self {
            ResponseBody::Full(Some(body)) => http_body::SizeHint::with_exact(body.len() as u64),
            ResponseBody::Full(None) => http_body::SizeHint::with_exact(0),
            ResponseBody::Stream(_) | ResponseBody::NoLength => http_body::SizeHint::default(),
            ResponseBody::File(file) => file.size_hint(),
        }
    }
}

pub const JSON: &str = "application/json";
pub const TEXT: &str = "text/plain; charset=utf-8";
pub const OCTETS: &str = "application/octet-stream";

impl Reply {
    pub fn new(status: u16, content_type: &'static str, body: impl Into<Bytes>) -> Self {
        Reply {
            status,
            headers: vec![(CONTENT_TYPE, HeaderValue::from_static(content_type))],
            body: body.into(),
            error: None,
            background: None,
            later: Later::No,
        }
    }

    pub fn detail(status: u16, detail: &'static str) -> Self {
        Reply::new(status, JSON, format!("{{\"detail\":\"{detail}\"}}"))
    }

    pub fn internal_error(error: Option<PyErr>) -> Self {
        let mut reply = Reply::new(500, TEXT, Bytes::from_static(b"Internal Server Error"));
        reply.error = error.map(Arc::new);
        reply
    }

    /// A plain-text answer.
    pub fn text(status: u16, text: &'static str) -> Self {
        Reply::new(status, TEXT, Bytes::from_static(text.as_bytes()))
    }

    /// A plain-text error after which the connection is closed (its framing can no longer be
    /// trusted, or the rest of the request is not read).
    fn closing(status: u16, text: &'static str) -> Self {
        let mut reply = Reply::text(status, text);
        reply.headers.push((http::header::CONNECTION, HeaderValue::from_static("close")));
        reply
    }

    fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// The streaming or file response object, if the body is one not started yet.
    pub fn take_source(&mut self) -> Option<Py<PyAny>> {
        if !matches!(self.later, Later::Source(_)) {
            return None; // the common case: nothing moved
        }
        match std::mem::take(&mut self.later) {
            Later::Source(response) => Some(response),
            _ => None,
        }
    }

    pub fn into_http(self) -> http::Response<ResponseBody> {
        let body = match self.later {
            Later::Stream(reader) => ResponseBody::Stream(reader),
            Later::File(file) => ResponseBody::File(file),
            Later::NoLength => ResponseBody::NoLength,
            // A source never started (nobody delivered it) sends nothing rather than hang.
            Later::No | Later::Source(_) => ResponseBody::Full(Some(self.body)),
        };
        let mut response = http::Response::new(body);
        *response.status_mut() =
            http::StatusCode::from_u16(self.status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
        let headers = response.headers_mut();
        headers.reserve(self.headers.len());
        for (name, value) in self.headers {
            headers.append(name, value);
        }
        response
    }
}

/// Header pairs from Python's `(name, value)` bytes: a name or value HTTP refuses is a
/// ValueError naming it (CR, LF and NUL never pass: no header can inject another).
pub fn header_pairs(headers: Vec<(Vec<u8>, Vec<u8>)>) -> PyResult<Vec<(HeaderName, HeaderValue)>> {
    headers
        .into_iter()
        .map(|(name, value)| {
            let name = HeaderName::from_bytes(&name).map_err(|_| {
                pyo3::exceptions::PyValueError::new_err(format!(
                    "invalid header name {:?}",
                    String::from_utf8_lossy(&name)
                ))
            })?;
            let value = HeaderValue::from_bytes(&value).map_err(|_| {
                pyo3::exceptions::PyValueError::new_err(format!(
                    "invalid value for header {name}: {:?}",
                    String::from_utf8_lossy(&value)
                ))
            })?;
            Ok((name, value))
        })
        .collect()
}

/// The answers the core gives by itself, without the app: one place for their status, body and
/// headers.
pub enum Refusal {
    NotFound,
    /// The methods the path does allow, for the `Allow` header.
    MethodNotAllowed(String),
    /// The gate's queue is full or the wait timed out: come back after this many seconds.
    Overloaded(u64),
    /// The handler did not answer within `request_timeout`.
    GatewayTimeout,
    /// Malformed request framing or body (the connection is closed after it).
    BadRequest(&'static str),
    /// The body did not arrive within `body_read_timeout` (closing).
    BodyTimeout,
    /// The body is over the limit; the rest is never read, so the connection closes.
    PayloadTooLarge,
    /// The head is over `max_header_bytes` or `max_headers` (closing).
    HeadersTooLarge,
    /// A spooled upload could not be written to disk.
    InsufficientStorage,
    /// A WebSocket handshake with no route, or closed by the handler before accepting (uvicorn's
    /// answer to both).
    Forbidden,
    MissingWebSocketKey,
    /// RFC 6455 §4.4: the answer names the version this server speaks.
    UnsupportedWebSocketVersion,
}

impl From<Refusal> for Reply {
    fn from(refusal: Refusal) -> Reply {
        match refusal {
            Refusal::NotFound => Reply::detail(404, "Not Found"),
            Refusal::MethodNotAllowed(allow) => {
                let reply = Reply::detail(405, "Method Not Allowed");
                match HeaderValue::from_str(&allow) {
                    Ok(value) => reply.with_header(http::header::ALLOW, value),
                    Err(_) => reply,
                }
            }
            Refusal::Overloaded(retry_after_secs) => Reply::detail(503, "Service Unavailable")
                .with_header(http::header::RETRY_AFTER, HeaderValue::from(retry_after_secs)),
            Refusal::GatewayTimeout => Reply::detail(504, "Gateway Timeout"),
            Refusal::BadRequest(problem) => Reply::closing(400, problem),
            Refusal::BodyTimeout => Reply::closing(408, "Request Timeout"),
            Refusal::PayloadTooLarge => Reply::closing(413, "Request body too large"),
            Refusal::HeadersTooLarge => Reply::closing(431, "Request Header Fields Too Large"),
            Refusal::InsufficientStorage => Reply::text(507, "Insufficient Storage"),
            Refusal::Forbidden => Reply::text(403, "Forbidden"),
            Refusal::MissingWebSocketKey => Reply::text(400, "Missing Sec-WebSocket-Key header"),
            Refusal::UnsupportedWebSocketVersion => Reply::text(426, "Unsupported WebSocket version")
                .with_header(http::header::SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(refusal: Refusal) -> (u16, String, Vec<(String, String)>) {
        let reply = Reply::from(refusal);
        let headers = reply.headers.iter().map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_string())).collect();
        (reply.status, String::from_utf8(reply.body.to_vec()).unwrap(), headers)
    }

    fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect()
    }

    #[test]
    fn every_refusal_has_its_status_body_and_headers() {
        let json = |extra: &[(&str, &str)]| headers(&[&[("content-type", JSON)], extra].concat());
        let text = |extra: &[(&str, &str)]| headers(&[&[("content-type", TEXT)], extra].concat());
        let closing = text(&[("connection", "close")]);
        let cases = [
            (Refusal::NotFound, (404, r#"{"detail":"Not Found"}"#, json(&[]))),
            (
                Refusal::MethodNotAllowed("GET, HEAD".into()),
                (405, r#"{"detail":"Method Not Allowed"}"#, json(&[("allow", "GET, HEAD")])),
            ),
            (Refusal::Overloaded(3), (503, r#"{"detail":"Service Unavailable"}"#, json(&[("retry-after", "3")]))),
            (Refusal::GatewayTimeout, (504, r#"{"detail":"Gateway Timeout"}"#, json(&[]))),
            (Refusal::BadRequest("Invalid request body"), (400, "Invalid request body", closing.clone())),
            (Refusal::BodyTimeout, (408, "Request Timeout", closing.clone())),
            (Refusal::PayloadTooLarge, (413, "Request body too large", closing.clone())),
            (Refusal::HeadersTooLarge, (431, "Request Header Fields Too Large", closing)),
            (Refusal::InsufficientStorage, (507, "Insufficient Storage", text(&[]))),
            (Refusal::Forbidden, (403, "Forbidden", text(&[]))),
            (Refusal::MissingWebSocketKey, (400, "Missing Sec-WebSocket-Key header", text(&[]))),
            (
                Refusal::UnsupportedWebSocketVersion,
                (426, "Unsupported WebSocket version", text(&[("sec-websocket-version", "13")])),
            ),
        ];
        for (refusal, (status, body, expected)) in cases {
            assert_eq!(shape(refusal), (status, body.to_string(), expected));
        }
    }

    #[test]
    fn an_allow_list_that_is_not_a_header_value_leaves_the_405_without_it() {
        let (status, _, headers) = shape(Refusal::MethodNotAllowed("GET\n".into()));
        assert_eq!((status, headers.len()), (405, 1));
    }
}
