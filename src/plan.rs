//! Route plans, compiled once at start-up from the Python side's signature analysis
//! (`turboapi/dependencies.py`): for each parameter its source, lookup key, converter and default.

use pyo3::prelude::*;
use pyo3::types::{PyList, PyString};

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
    /// The Python route object: `solve(kwargs, pending, request)` finishes what Rust could not
    /// (pydantic validation, bodies, Request), `serialize(result)` applies a response_model.
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

fn attr<'py, T: FromPyObject<'py>>(obj: &Bound<'py, PyAny>, name: &str) -> PyResult<T> {
    obj.getattr(name)?.extract()
}

impl ParamPlan {
    fn from_py(spec: &Bound<'_, PyAny>, path_names: &[String]) -> PyResult<Self> {
        let source = match attr::<String>(spec, "source")?.as_str() {
            "path" => Source::Path,
            "query" => Source::Query,
            "header" => Source::Header,
            "cookie" => Source::Cookie,
            other => return Err(pyo3::exceptions::PyValueError::new_err(format!("unknown source {other:?}"))),
        };
        let scalar = match attr::<String>(spec, "scalar")?.as_str() {
            "str" => Scalar::Str,
            "int" => Scalar::Int,
            "float" => Scalar::Float,
            "bool" => Scalar::Bool,
            "bytes" => Scalar::Bytes,
            _ => Scalar::Other,
        };
        let key: String = attr(spec, "key")?;
        let path_index = if source == Source::Path {
            path_names.iter().position(|n| *n == key).ok_or_else(|| {
                pyo3::exceptions::PyValueError::new_err(format!("path parameter {key:?} is not in the route path"))
            })?
        } else {
            0
        };
        let required: bool = attr(spec, "required")?;
        let default = spec.getattr("default")?;
        Ok(ParamPlan {
            name: PyString::new(spec.py(), &attr::<String>(spec, "name")?).unbind(),
            key,
            source,
            scalar,
            is_list: attr(spec, "is_list")?,
            fast: attr(spec, "fast")?,
            required,
            default: (!required).then(|| default.unbind()),
            copy_default: attr(spec, "copy_default")?,
            path_index,
        })
    }
}

impl RoutePlan {
    pub fn from_py(route: &Bound<'_, PyAny>) -> PyResult<Self> {
        let path: String = attr(route, "path")?;
        let parsed = crate::router::parse_path(&path).map_err(|e| pyo3::exceptions::PyValueError::new_err(e.0))?;
        let specs = route.getattr("param_specs")?;
        let specs = specs.downcast::<PyList>()?;
        let params = specs.iter().map(|s| ParamPlan::from_py(&s, &parsed.names)).collect::<PyResult<Vec<_>>>()?;
        let needs_cookies = params.iter().any(|p| p.source == Source::Cookie);
        Ok(RoutePlan {
            methods: attr(route, "methods_list")?,
            path,
            endpoint: route.getattr("core_endpoint")?.unbind(),
            is_async: attr(route, "core_is_async")?,
            status_code: attr(route, "status_code_or_default")?,
            params,
            route: route.clone().unbind(),
            always_solve: attr(route, "always_solve")?,
            custom_serialize: attr(route, "custom_serialize")?,
            needs_cookies,
            websocket: attr(route, "accepts_websocket")?,
            stream_body: attr(route, "streams_body")?,
            path_names: parsed.names.into(),
        })
    }
}
