//! Python result -> status, headers and body bytes (`Reply`), and the fixed replies the core
//! answers by itself (404, 405, 413, 500...).

use std::sync::Arc;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyList, PyMemoryView, PyTuple};

use crate::app::App;
use crate::filebody::FileBody;
use crate::plan::RoutePlan;
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
const OCTETS: &str = "application/octet-stream";

/// Bodies smaller than this are copied: a copy is cheaper than keeping the Python object alive
/// (whose release without the GIL goes through PyO3's deferred decref pool).
const ZERO_COPY_MIN: usize = 8 * 1024;

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

    pub fn not_found() -> Self {
        Reply::detail(404, "Not Found")
    }

    pub fn method_not_allowed(allow: &str) -> Self {
        let mut reply = Reply::detail(405, "Method Not Allowed");
        if let Ok(value) = HeaderValue::from_str(allow) {
            reply.headers.push((http::header::ALLOW, value));
        }
        reply
    }

    pub fn internal_error(error: Option<PyErr>) -> Self {
        let mut reply = Reply::new(500, TEXT, Bytes::from_static(b"Internal Server Error"));
        reply.error = error.map(Arc::new);
        reply
    }

    /// The gate's queue is full or the wait timed out: come back later.
    pub fn overloaded(retry_after_secs: u64) -> Self {
        let mut reply = Reply::detail(503, "Service Unavailable");
        reply.headers.push((http::header::RETRY_AFTER, HeaderValue::from(retry_after_secs)));
        reply
    }

    /// A plain-text error after which the connection is closed (its framing can no longer be
    /// trusted, or the rest of the request is not read).
    pub fn closing(status: u16, text: &'static str) -> Self {
        let mut reply = Reply::new(status, TEXT, Bytes::from_static(text.as_bytes()));
        reply.headers.push((http::header::CONNECTION, HeaderValue::from_static("close")));
        reply
    }

    pub fn payload_too_large() -> Self {
        // The rest of the body is never read, so the connection cannot be reused.
        Reply::closing(413, "Request body too large")
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

/// Bytes of a Python `bytes`, kept alive as the body when large (Phase C: no copy).
pub fn body_from_pybytes(b: &Bound<'_, PyBytes>) -> Bytes {
    let slice = b.as_bytes();
    if slice.len() < ZERO_COPY_MIN {
        Bytes::copy_from_slice(slice)
    } else {
        Bytes::from_owner(PyBackedBytes::from(b.clone()))
    }
}

/// Body bytes from bytes, bytearray or memoryview; `None` for anything else.
fn raw_body(obj: &Bound<'_, PyAny>) -> PyResult<Option<Bytes>> {
    if let Ok(b) = obj.downcast::<PyBytes>() {
        return Ok(Some(body_from_pybytes(b)));
    }
    if let Ok(b) = obj.downcast::<PyByteArray>() {
        return Ok(Some(Bytes::from(b.to_vec())));
    }
    if obj.is_instance_of::<PyMemoryView>() {
        let b = obj.call_method0(pyo3::intern!(obj.py(), "tobytes"))?;
        return Ok(Some(body_from_pybytes(b.downcast::<PyBytes>()?)));
    }
    Ok(None)
}

/// Whether a status code may carry a body (FastAPI empties it for 1xx, 204 and 304).
fn body_allowed(status: u16) -> bool {
    !(status < 200 || status == 204 || status == 304)
}

/// Turn what a handler returned into a reply.
pub fn from_result(
    py: Python<'_>,
    app: &App,
    plan: &RoutePlan,
    result: &Bound<'_, PyAny>,
    kwargs: Option<&Bound<'_, PyDict>>,
) -> PyResult<Reply> {
    if result.is_instance(app.hooks.response_class.bind(py))? {
        return from_response_object(app, result);
    }
    let status = plan.status_code;
    let body = if plan.custom_serialize {
        // response_model, response_class or a `Response` parameter: the route's Python decides.
        let out = plan.route.bind(py).call_method1(pyo3::intern!(py, "serialize"), (result, kwargs))?;
        match out.downcast::<PyBytes>() {
            Ok(bytes) => body_from_pybytes(bytes),
            Err(_) => return from_response_object(app, &out),
        }
    } else if let Some(raw) = raw_body(result)? {
        let mut reply = Reply::new(status, OCTETS, raw);
        if !body_allowed(status) {
            reply.body = Bytes::new();
        }
        return Ok(reply);
    } else {
        app.hooks.dumps(py, result)?
    };
    let mut reply = Reply::new(status, JSON, body);
    if !body_allowed(status) {
        reply.body = Bytes::new();
    }
    Ok(reply)
}

/// A `turboapi.responses.Response`: its status, raw header list and body, as they are.
pub fn from_response_object(app: &App, obj: &Bound<'_, PyAny>) -> PyResult<Reply> {
    let py = obj.py();
    let status: u16 = obj.getattr(pyo3::intern!(py, "status_code"))?.extract()?;
    let streaming = obj.is_instance(app.hooks.stream_types.bind(py))?;
    let body = if streaming {
        Bytes::new() // the body comes from the stream (or the file) later
    } else {
        let body_obj = obj.getattr(pyo3::intern!(py, "body"))?;
        raw_body(&body_obj)?.ok_or_else(|| {
            pyo3::exceptions::PyTypeError::new_err(format!(
                "Response.body must be bytes, not {}",
                body_obj.get_type().name().map(|n| n.to_string()).unwrap_or_default()
            ))
        })?
    };
    let headers = headers_from_raw(&obj.getattr(pyo3::intern!(py, "raw_headers"))?)?;
    let background = obj.getattr(pyo3::intern!(py, "background")).ok().filter(|b| !b.is_none()).map(|b| b.unbind());
    Ok(Reply {
        status,
        headers,
        body: if body_allowed(status) { body } else { Bytes::new() },
        error: None,
        background,
        later: if streaming && body_allowed(status) { Later::Source(obj.clone().unbind()) } else { Later::No },
    })
}

/// A Python list of `(name: bytes, value: bytes)` pairs as header pairs.
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

pub fn headers_from_raw(raw_headers: &Bound<'_, PyAny>) -> PyResult<Vec<(HeaderName, HeaderValue)>> {
    let raw_headers = raw_headers.downcast::<PyList>()?;
    let mut headers = Vec::with_capacity(raw_headers.len());
    for pair in raw_headers.iter() {
        let pair = pair.downcast::<PyTuple>()?;
        let name = pair.get_item(0)?;
        let value = pair.get_item(1)?;
        let name = HeaderName::from_bytes(name.downcast::<PyBytes>()?.as_bytes())
            .map_err(|e| pyo3::exceptions::PyValueError::new_err(format!("invalid response header name: {e}")))?;
        // HeaderValue refuses CR, LF and NUL: a header can never be used to inject another one.
        let value = HeaderValue::from_bytes(value.downcast::<PyBytes>()?.as_bytes()).map_err(|_| {
            pyo3::exceptions::PyValueError::new_err(format!("invalid value for response header {name}"))
        })?;
        headers.push((name, value));
    }
    Ok(headers)
}

/// A file response planned by Python (`FileResponse._plan`): `(status, raw headers, path,
/// segments)`, each segment `bytes` or `(offset, length)` of the file.
pub fn from_file_plan(plan: &Bound<'_, PyAny>, background: Option<Py<PyAny>>) -> PyResult<Reply> {
    let (status, raw_headers, path, segments): (u16, Bound<'_, PyAny>, std::path::PathBuf, Bound<'_, PyList>) =
        plan.extract()?;
    let mut parts = Vec::with_capacity(segments.len());
    for segment in segments.iter() {
        if let Ok(bytes) = segment.downcast::<PyBytes>() {
            parts.push(crate::filebody::Segment::Bytes(body_from_pybytes(bytes)));
        } else {
            let (offset, len): (u64, u64) = segment.extract()?;
            parts.push(crate::filebody::Segment::Range { offset, len });
        }
    }
    let mut reply = Reply::new(status, OCTETS, Bytes::new());
    reply.headers = headers_from_raw(&raw_headers)?;
    reply.background = background;
    if body_allowed(status) && !parts.is_empty() {
        reply.later = Later::File(Box::new(FileBody::new(path, parts)));
    }
    Ok(reply)
}
