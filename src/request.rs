//! `RequestData`: the request as Python's `Request` sees it, built only when Python asks
//! (a `Request` parameter, a body to validate, an exception handler).

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};

/// Everything known about one request, owned, shared between the Rust job and Python.
pub struct RequestInfo {
    pub method: http::Method,
    pub scheme: &'static str,
    pub version: http::Version,
    /// The loop shard running the request (0 for sync handlers): selects its lifespan state.
    pub shard: usize,
    /// Percent-decoded path, as Starlette's `scope["path"]` (with `root_path` in front when the
    /// server setting put it there, as uvicorn does).
    pub path: String,
    pub raw_path: String,
    /// `scope["root_path"]`: the prefix a proxy strips ("" when none is configured).
    pub root_path: Arc<str>,
    pub query_string: String,
    pub headers: http::HeaderMap,
    pub body: Bytes,
    /// A spooled upload's file (then `body` is empty).
    pub body_file: Option<Arc<tempfile::TempPath>>,
    /// A body read as it arrives (then `body` is empty): see bodystream.rs.
    pub body_stream: Option<Arc<crate::bodystream::BodyStream>>,
    pub client: Option<crate::peer::Peer>,
    pub server: Option<SocketAddr>,
    pub path_names: Arc<[String]>,
    pub path_values: Vec<String>,
    /// `request.state`, shared by every Request object made for this request (middleware and
    /// handler alike); created by Python on first use.
    pub state: std::sync::Mutex<Option<Py<PyAny>>>,
    /// Work to run once the reply is sent (dependency exits, form files), set by Python.
    pub after: std::sync::Mutex<Option<Py<PyAny>>>,
    /// The connection, for a WebSocket handshake.
    pub websocket: Option<Arc<crate::ws_session::Session>>,
    pub live: Live,
}

/// Requests alive in the process (their `RequestInfo`), for the leak test: each one's count
/// goes when the last holder (the job, Python's RequestData, a completion callback) lets go.
static LIVE_REQUESTS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

pub struct Live(());

impl Live {
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        LIVE_REQUESTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Live(())
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        LIVE_REQUESTS.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// How many requests the core holds now (finished ones must not stay: that would be a leak).
#[pyfunction]
pub fn live_requests() -> usize {
    LIVE_REQUESTS.load(std::sync::atomic::Ordering::Relaxed)
}

#[pyclass(frozen, module = "turboapi._core")]
pub struct RequestData {
    pub info: Arc<RequestInfo>,
}

#[pymethods]
impl RequestData {
    /// Take back what was registered to run after the reply (None if nothing).
    fn take_after(&self) -> Option<Py<PyAny>> {
        self.info.after.lock().ok().and_then(|mut slot| slot.take())
    }

    /// Register what must run after the reply is sent (replacing any earlier registration).
    fn set_after(&self, after: Py<PyAny>) -> PyResult<()> {
        let mut slot = self.info.after.lock().map_err(|_| pyo3::exceptions::PyRuntimeError::new_err("poisoned"))?;
        *slot = Some(after);
        Ok(())
    }

    /// The request's shared state object, made by `factory()` on first use.
    fn shared_state(&self, py: Python<'_>, factory: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let mut slot = self.info.state.lock().map_err(|_| pyo3::exceptions::PyRuntimeError::new_err("poisoned"))?;
        if let Some(state) = slot.as_ref() {
            return Ok(state.clone_ref(py));
        }
        let state = factory.call0()?.unbind();
        *slot = Some(state.clone_ref(py));
        Ok(state)
    }

    #[getter]
    fn method(&self) -> &str {
        self.info.method.as_str()
    }

    #[getter]
    fn shard(&self) -> usize {
        self.info.shard
    }

    #[getter]
    fn scheme(&self) -> &str {
        self.info.scheme
    }

    /// `scope["http_version"]`: "1.0", "1.1" or "2".
    #[getter]
    fn http_version(&self) -> &'static str {
        crate::access_log::version_of(self.info.version)
    }

    #[getter]
    fn path(&self) -> &str {
        &self.info.path
    }

    #[getter]
    fn root_path(&self) -> &str {
        &self.info.root_path
    }

    #[getter]
    fn raw_path<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.info.raw_path.as_bytes())
    }

    #[getter]
    fn query_string<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.info.query_string.as_bytes())
    }

    /// `[(name, value), ...]` as bytes, names lowercase, in arrival order (ASGI's shape).
    #[getter]
    fn headers<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        for (name, value) in &self.info.headers {
            list.append((PyBytes::new(py, name.as_str().as_bytes()), PyBytes::new(py, value.as_bytes())))?;
        }
        Ok(list)
    }

    /// The Content-Type header (latin-1), without building the whole header list.
    #[getter]
    fn content_type(&self) -> Option<String> {
        self.info.headers.get(http::header::CONTENT_TYPE).map(|v| crate::extract::latin1(v.as_bytes()))
    }

    /// The file holding a spooled upload's body, or None when the body is in memory.
    #[getter]
    fn body_path(&self) -> Option<String> {
        self.info.body_file.as_ref().map(|p| p.to_string_lossy().into_owned())
    }

    #[getter]
    fn body<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.info.body)
    }

    #[getter]
    fn client(&self) -> Option<(String, u16)> {
        self.info.client.as_ref().map(crate::peer::Peer::host_port)
    }

    #[getter]
    fn server(&self) -> Option<(String, u16)> {
        self.info.server.map(|a| (a.ip().to_string(), a.port()))
    }

    #[getter]
    fn path_params<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        for (name, value) in self.info.path_names.iter().zip(&self.info.path_values) {
            dict.set_item(name, value)?;
        }
        Ok(dict)
    }

    /// The body as it arrives, for a route that streams it (None: the body is whole).
    #[getter]
    fn body_stream(&self) -> Option<crate::bodystream::BodyReader> {
        self.info.body_stream.clone().map(crate::bodystream::BodyReader::new)
    }

    /// The connection's channel, for a WebSocket handshake (None for HTTP requests).
    #[getter]
    fn websocket(&self) -> Option<crate::ws_session::WebSocketChannel> {
        self.info.websocket.clone().map(crate::ws_session::WebSocketChannel::new)
    }
}

#[cfg(test)]
impl RequestInfo {
    /// A plain request for unit tests: `method path`, no headers, no body.
    pub fn for_test(method: http::Method, path: &str) -> Self {
        RequestInfo {
            method,
            scheme: "http",
            version: http::Version::HTTP_11,
            shard: 0,
            path: path.to_string(),
            raw_path: path.to_string(),
            root_path: Arc::from(""),
            query_string: String::new(),
            headers: http::HeaderMap::new(),
            body: Bytes::new(),
            body_file: None,
            body_stream: None,
            client: None,
            server: None,
            path_names: Arc::from(Vec::new()),
            path_values: Vec::new(),
            state: std::sync::Mutex::new(None),
            after: std::sync::Mutex::new(None),
            websocket: None,
            live: Live::new(),
        }
    }
}
