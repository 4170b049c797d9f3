//! Route plans, compiled once at start-up from the Python side's signature analysis (read from
//! Python in contract.rs): for each parameter its source, lookup key, converter and default.

use pyo3::prelude::*;
use pyo3::types::PyString;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Source {
    Path,
    Query,
    Header,
    Cookie,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Scalar {
    Str,
    Int,
    Float,
    Bool,
    Bytes,
    /// Enum, UUID, datetime, models...: always validated by pydantic.
    Other,
}

pub struct ParamPlan {
    /// Keyword argument name of the handler.
    pub name: Py<PyString>,
    /// Lookup key: the alias; lowercase and dashed for headers.
    pub key: String,
    pub source: Source,
    pub scalar: Scalar,
    pub is_list: bool,
    /// Rust coercion may be used (no constraints that only pydantic checks).
    pub fast: bool,
    pub required: bool,
    /// Used when missing and not required. `copy_default` asks for a fresh copy per request.
    pub default: Option<Py<PyAny>>,
    pub copy_default: bool,
    /// Position among the path's parameters, for `Source::Path`.
    pub path_index: usize,
}

pub struct RoutePlan {
    pub methods: Vec<String>,
    pub path: String,
    pub endpoint: Py<PyAny>,
    pub is_async: bool,
    pub status_code: u16,
    pub params: Vec<ParamPlan>,
    /// `solve(kwargs, pending, request)` finishes what Rust could not (pydantic validation,
    /// bodies, Request); `serialize(result, kwargs)` applies a response_model or class.
    pub solve: Py<PyAny>,
    pub serialize: Py<PyAny>,
    /// The Python route object (`scope["route"]` for the middleware).
    pub route: Py<PyAny>,
    /// Python must run `solve` (and with dependencies, `solve` returns the one argument the
    /// endpoint, then the route's dependency runner, takes) for this route on every request (body, Request parameter...).
    pub always_solve: bool,
    pub custom_serialize: bool,
    /// Parameter names of the path pattern, in order (matchit gives values positionally).
    pub path_names: std::sync::Arc<[String]>,
    /// Some parameter is a cookie: only then is the Cookie header parsed.
    pub needs_cookies: bool,
    /// The request body is handed over as it arrives (a mounted ASGI app), not collected first.
    pub stream_body: bool,
    /// WebSocket handshakes are routed here (`@app.websocket`, a mounted ASGI app).
    pub websocket: bool,
}
