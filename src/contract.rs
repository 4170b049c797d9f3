//! The contract between the core and the Python side, in one place: every Python attribute the
//! core reads (the hooks, the engine's settings, the route plans, the native middleware) and the
//! states that cross the boundary as values (the eager start's outcome, what the exception
//! handlers decided). Its Python side is python/turboapi/contract.py; `_core.pyi` types the
//! classes the core exports. A name changed on one side must change here too: the engine fails
//! at start-up, naming the attribute, if it does not.

use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};

use crate::layers::{Cors, GZip, Layer, TrustedHost};
use crate::plan::{ParamPlan, RoutePlan, Scalar, Source};
use crate::pybytes::body_from_pybytes;
use crate::shards::ShardPolicy;

// ---- the hooks: Python functions and classes the core calls ----

/// Python objects the core calls into, resolved once at start-up.
pub struct Hooks {
    /// `turboapi.responses.Response`, for isinstance checks.
    pub response_class: Py<PyAny>,
    /// JSON encoder: `dumps(obj, *dumps_args) -> bytes` (orjson, or the stdlib switch).
    pub dumps: Py<PyAny>,
    pub dumps_args: Vec<Py<PyAny>>,
    /// Used when `dumps` refuses a value (orjson and integers beyond 64 bits).
    pub fallback_dumps: Py<PyAny>,
    /// `pydantic.BaseModel`, and the one-pass JSON dump used for a returned model (None when the
    /// `json` switch asks for the standard library's exact output).
    pub base_model: Py<PyAny>,
    pub dump_model: Option<Py<PyAny>>,
    /// `handle_exception(exc, request) -> contract.Handling`: see `Handling` below; None means
    /// "unhandled": logged by Python, a plain 500.
    pub handle_exception: Py<PyAny>,
    /// `fresh_default(value)`: a per-request default (factory product or deep copy).
    pub fresh_default: Py<PyAny>,
    /// `_eager.start(coro, loop)`: the coroutine's first step, inside its real Task.
    pub eager_start: Py<PyAny>,
    /// `background.start(background, loop_or_none)`: called before a reply that carries a
    /// background is sent; without a loop it returns the function to call once the reply is out.
    pub start_background: Py<PyAny>,
    /// `contextvars.Context`: a fresh context per sync request.
    pub new_context: Py<PyAny>,
    /// With `@app.middleware("http")` / `add_middleware`: `entry(request_data, next) -> coroutine`
    /// runs the app's middleware stack; every request (404s too) then goes through a loop shard.
    pub middleware_entry: Option<Py<PyAny>>,
    /// `make_response(status, headers, body, background)`: a core reply as a Python Response,
    /// for middleware that inspects what `call_next` returned.
    pub make_response: Py<PyAny>,
    /// Response classes whose body is an iterator (`StreamingResponse`, ours and Starlette's).
    pub stream_types: Py<PyAny>,
    /// `start_stream(response, writer)`: the pump task, started on a shard's loop.
    pub start_stream: Py<PyAny>,
    /// `FileResponse` classes (ours and Starlette's): also in `stream_types`, but planned, not pumped.
    pub file_types: Py<PyAny>,
    /// `plan_file(response, method, range, if_range, if_none_match, if_modified_since)`:
    /// (status, headers, path, segments).
    pub plan_file: Py<PyAny>,
    /// `log_error(exc)`: an unhandled error logged as the server logs them.
    pub log_error: Py<PyAny>,
}

impl Hooks {
    /// From `turboapi.serving`'s hooks object (`_Hooks`: see python/turboapi/contract.py).
    pub fn from_py(hooks: &Bound<'_, PyAny>) -> PyResult<Self> {
        let py = hooks.py();
        Ok(Hooks {
            response_class: hooks.getattr("response_class")?.unbind(),
            dumps: hooks.getattr("dumps")?.unbind(),
            dumps_args: hooks.getattr("dumps_args")?.extract()?,
            fallback_dumps: hooks.getattr("fallback_dumps")?.unbind(),
            base_model: hooks.getattr("base_model")?.unbind(),
            dump_model: hooks.getattr("dump_model")?.extract()?,
            handle_exception: hooks.getattr("handle_exception")?.unbind(),
            fresh_default: hooks.getattr("fresh_default")?.unbind(),
            eager_start: hooks.getattr("eager_start")?.unbind(),
            start_background: hooks.getattr("start_background")?.unbind(),
            new_context: py.import("contextvars")?.getattr("Context")?.unbind(),
            middleware_entry: hooks.getattr("middleware_entry")?.extract()?,
            make_response: hooks.getattr("make_response")?.unbind(),
            stream_types: hooks.getattr("stream_types")?.unbind(),
            start_stream: hooks.getattr("start_stream")?.unbind(),
            file_types: hooks.getattr("file_types")?.unbind(),
            plan_file: hooks.getattr("plan_file")?.unbind(),
            log_error: hooks.getattr("log_error")?.unbind(),
        })
    }

    /// The native middleware the app asked for, outermost first (`hooks.native_layers`).
    pub fn layers(hooks: &Bound<'_, PyAny>) -> PyResult<Vec<Layer>> {
        hooks.getattr("native_layers")?.downcast::<PyList>()?.iter().map(|item| layer(&item)).collect()
    }

    pub fn dumps(&self, py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<Bytes> {
        if let Some(dump_model) = &self.dump_model {
            if obj.is_instance(self.base_model.bind(py))? {
                let out = dump_model.bind(py).call1((obj,))?;
                return Ok(body_from_pybytes(out.downcast::<PyBytes>()?));
            }
        }
        let mut args = Vec::with_capacity(1 + self.dumps_args.len());
        args.push(obj.clone());
        args.extend(self.dumps_args.iter().map(|a| a.bind(py).clone()));
        let out = match self.dumps.bind(py).call1(PyTuple::new(py, args)?) {
            Ok(out) => out,
            Err(_) => self.fallback_dumps.bind(py).call1((obj,))?,
        };
        Ok(body_from_pybytes(out.downcast::<PyBytes>()?))
    }
}

pub struct Config {
    pub max_body_size: usize,
    /// Limit for `multipart/form-data` bodies, which are spooled to disk past 1 MiB.
    pub max_upload_size: usize,
    pub max_header_bytes: usize,
    pub batch_size: usize,
    pub shards: usize,
    pub shard_policy: ShardPolicy,
    /// Per-shard limit of handler coroutines in flight; `None` turns the gate off.
    pub max_concurrent: Option<usize>,
    pub gate_queue: usize,
    pub gate_timeout: std::time::Duration,
    pub websocket: crate::ws_session::Settings,
    /// A collected request body must arrive whole within this time (else 408); a streamed one
    /// may wait this long for each next chunk.
    pub body_read_timeout: std::time::Duration,
    /// A handler's answer must come within this time (else 504); None: no limit.
    pub request_timeout: Option<std::time::Duration>,
}

/// The socket server's settings.
pub struct ServerConfig {
    /// A client must send its complete request head within this time.
    pub header_read_timeout: Duration,
    /// On shutdown, in-flight requests get this long to finish.
    pub graceful_timeout: Duration,
    /// Largest request head hyper buffers; beyond it the answer is 431.
    pub max_header_bytes: usize,
    pub max_headers: usize,
    /// A keep-alive connection with no request for this long is closed.
    pub keep_alive_timeout: Duration,
    /// Connections open at once; past it new ones wait in the listen backlog (None: no limit).
    pub max_connections: Option<usize>,
    /// A client that shut its sending side still gets its answer while the answer writes to it
    /// at least this often (zero: such a client is taken as gone at once).
    pub half_close_timeout: Duration,
    /// HTTP/2 besides HTTP/1.1: h2c with prior knowledge, and `h2` offered by ALPN over TLS.
    pub http2: bool,
    /// Streams one HTTP/2 connection may have open at once.
    pub http2_max_concurrent_streams: u32,
    /// HTTP/2 flow control: windows sized to each connection's measured bandwidth-delay
    /// product, or else fixed: request-body bytes a client may send on one stream, and on one
    /// connection, before the server has taken them (what an idle receiver can make it buffer).
    pub http2_adaptive_window: bool,
    pub http2_stream_window: u32,
    pub http2_connection_window: u32,
}

/// Everything the engine's `config` dict gives (`turboapi.serving.Settings.engine_config()`).
pub struct EngineSettings {
    pub app: Config,
    pub server: ServerConfig,
    pub io_threads: usize,
    /// The I/O threads under SCHED_BATCH (serving.Settings.batch_scheduling says why).
    pub batch_scheduling: bool,
    pub access_log: bool,
    /// `--forwarded-allow-ips` when `--proxy-headers` is on.
    pub forwarded_allow_ips: Option<String>,
    /// The server's `--root-path` (put in front of every path) and the app's root path.
    pub path_prefix: String,
    pub root_path: String,
}

impl EngineSettings {
    pub fn from_py(config: &Bound<'_, PyDict>) -> PyResult<Self> {
        let policy: String = get(config, "shard_policy")?;
        let app = Config {
            max_body_size: get(config, "max_body_size")?,
            max_upload_size: get(config, "max_upload_size")?,
            max_header_bytes: get(config, "max_header_bytes")?,
            batch_size: get(config, "batch_size")?,
            shards: get::<usize>(config, "shards")?.max(1),
            shard_policy: ShardPolicy::parse(&policy)
                .ok_or_else(|| PyValueError::new_err(format!("unknown shard_policy {policy:?}")))?,
            max_concurrent: get(config, "max_concurrent")?,
            gate_queue: get(config, "gate_queue")?,
            gate_timeout: seconds(config, "gate_timeout")?,
            websocket: crate::ws_session::Settings {
                max_size: get(config, "ws_max_size")?,
                ping_interval: optional_seconds(config, "ws_ping_interval")?.filter(|d| !d.is_zero()),
                ping_timeout: optional_seconds(config, "ws_ping_timeout")?.unwrap_or(Duration::from_secs(20)),
            },
            body_read_timeout: seconds(config, "body_read_timeout")?,
            request_timeout: optional_seconds(config, "request_timeout")?,
        };
        let server = ServerConfig {
            header_read_timeout: seconds(config, "header_read_timeout")?,
            graceful_timeout: seconds(config, "graceful_timeout")?,
            max_header_bytes: get(config, "max_header_bytes")?,
            max_headers: get(config, "max_headers")?,
            keep_alive_timeout: seconds(config, "keep_alive_timeout")?,
            max_connections: get(config, "max_connections")?,
            half_close_timeout: seconds(config, "half_close_timeout")?,
            http2: get(config, "http2")?,
            http2_max_concurrent_streams: get(config, "http2_max_concurrent_streams")?,
            http2_stream_window: get(config, "http2_stream_window")?,
            http2_connection_window: get(config, "http2_connection_window")?,
            http2_adaptive_window: get(config, "http2_adaptive_window")?,
        };
        Ok(EngineSettings {
            app,
            server,
            io_threads: get(config, "io_threads")?,
            batch_scheduling: get(config, "batch_scheduling")?,
            access_log: get(config, "access_log")?,
            forwarded_allow_ips: if get::<bool>(config, "proxy_headers")? {
                Some(get(config, "forwarded_allow_ips")?)
            } else {
                None
            },
            path_prefix: get(config, "path_prefix")?,
            root_path: get(config, "root_path")?,
        })
    }
}

/// A duration setting: a number of seconds that is finite and not negative (a ValueError naming
/// the setting otherwise, where `Duration::from_secs_f64` would panic).
fn seconds(config: &Bound<'_, PyDict>, key: &str) -> PyResult<Duration> {
    let value: f64 = get(config, key)?;
    Duration::try_from_secs_f64(value)
        .map_err(|_| PyValueError::new_err(format!("{key} must be a finite number of seconds, not {value}")))
}

fn optional_seconds(config: &Bound<'_, PyDict>, key: &str) -> PyResult<Option<Duration>> {
    match get::<Option<f64>>(config, key)? {
        None => Ok(None),
        Some(_) => seconds(config, key).map(Some),
    }
}

fn get<'py, T: FromPyObject<'py>>(config: &Bound<'py, PyDict>, key: &str) -> PyResult<T> {
    config.get_item(key)?.ok_or_else(|| PyValueError::new_err(format!("engine config is missing {key:?}")))?.extract()
}

// ---- route plans ----

fn attr<'py, T: FromPyObject<'py>>(obj: &Bound<'py, PyAny>, name: &str) -> PyResult<T> {
    obj.getattr(name)?.extract()
}

fn param_plan(spec: &Bound<'_, PyAny>, path_names: &[String]) -> PyResult<ParamPlan> {
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

/// A route's plan from its `contract.CorePlan`.
pub fn route_plan(plan: &Bound<'_, PyAny>) -> PyResult<RoutePlan> {
    let path: String = attr(plan, "path")?;
    let parsed = crate::router::parse_path(&path).map_err(|e| PyValueError::new_err(e.0))?;
    let specs = plan.getattr("params")?;
    let specs = specs.downcast::<PyList>()?;
    let params = specs.iter().map(|s| param_plan(&s, &parsed.names)).collect::<PyResult<Vec<_>>>()?;
    let needs_cookies = params.iter().any(|p| p.source == Source::Cookie);
    Ok(RoutePlan {
        methods: attr(plan, "methods")?,
        path,
        endpoint: plan.getattr("endpoint")?.unbind(),
        is_async: attr(plan, "is_async")?,
        status_code: attr(plan, "status_code")?,
        params,
        solve: plan.getattr("solve")?.unbind(),
        serialize: plan.getattr("serialize")?.unbind(),
        route: plan.getattr("route")?.unbind(),
        always_solve: attr(plan, "always_solve")?,
        custom_serialize: attr(plan, "custom_serialize")?,
        needs_cookies,
        websocket: attr(plan, "websocket")?,
        stream_body: attr(plan, "stream_body")?,
        path_names: parsed.names.into(),
    })
}

// ---- native middleware ----

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

/// A native middleware layer from `(kind, settings dict)` as `turboapi.middleware.native_layers`
/// gives them.
fn layer(item: &Bound<'_, PyAny>) -> PyResult<Layer> {
    let (kind, settings): (String, Bound<'_, PyDict>) = item.extract()?;
    let get = |key: &str| -> PyResult<Bound<'_, PyAny>> {
        settings.get_item(key)?.ok_or_else(|| err(format!("{kind} layer: missing {key}")))
    };
    Ok(match kind.as_str() {
        "cors" => {
            let regex: Option<String> = get("allow_origin_regex")?.extract()?;
            let allow_origin_regex = regex
                .map(|r| regex::Regex::new(&format!("^(?:{r})$")).map_err(|e| err(format!("allow_origin_regex: {e}"))))
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

// ---- states that cross the boundary ----

/// What `_eager.start(coro, loop)` reports as `(state, value)` (python/turboapi/_eager.py,
/// `contract.EagerState`): the coroutine finished in its first step, raised, or is a Task that
/// waits.
pub enum EagerStart<'py> {
    Done(Bound<'py, PyAny>),
    Raised(PyErr),
    Waiting(Bound<'py, PyAny>),
}

const EAGER_DONE: u8 = 0;
const EAGER_RAISED: u8 = 1;
const EAGER_WAITING: u8 = 2;

impl<'py> EagerStart<'py> {
    /// Start `coro` on `event_loop` through the hook.
    pub fn start(hooks: &Hooks, coro: Bound<'py, PyAny>, event_loop: &Bound<'py, PyAny>) -> PyResult<Self> {
        let py = coro.py();
        let (state, value): (u8, Bound<'py, PyAny>) =
            hooks.eager_start.bind(py).call1((coro, event_loop))?.extract()?;
        match state {
            EAGER_DONE => Ok(EagerStart::Done(value)),
            EAGER_RAISED => Ok(EagerStart::Raised(PyErr::from_value(value))),
            EAGER_WAITING => Ok(EagerStart::Waiting(value)),
            other => Err(PyValueError::new_err(format!("eager_start returned the unknown state {other}"))),
        }
    }
}

/// What `handle_exception(exc, request)` decided (`contract.Handled` and its siblings).
pub enum Handling<'py> {
    /// The app's handler answered with this Response.
    Answered(Bound<'py, PyAny>),
    /// A server-level (500/Exception) handler answered; the error is still reported (the
    /// TestClient raises it, as Starlette's ServerErrorMiddleware re-raises).
    AnsweredAndReported(Bound<'py, PyAny>),
    /// An async handler, to run as a task on this loop; `report` as above once it answered.
    Await { coro: Bound<'py, PyAny>, report: bool },
    /// No handler: logged, and a plain 500.
    Unhandled,
}

/// `handle_exception`'s result kinds, by their `kind` attribute (contract.HandlingKind).
const HANDLED: u8 = 0;
const HANDLED_AND_REPORTED: u8 = 1;
const AWAIT_HANDLER: u8 = 2;

impl<'py> Handling<'py> {
    pub fn decide(hooks: &Hooks, exc: &Bound<'py, PyAny>, request: impl IntoPyObject<'py>) -> PyResult<Self> {
        let py = exc.py();
        let out = hooks.handle_exception.bind(py).call1((exc, request))?;
        if out.is_none() {
            return Ok(Handling::Unhandled);
        }
        let kind: u8 = out.getattr(pyo3::intern!(py, "kind"))?.extract()?;
        Ok(match kind {
            HANDLED => Handling::Answered(out.getattr(pyo3::intern!(py, "response"))?),
            HANDLED_AND_REPORTED => Handling::AnsweredAndReported(out.getattr(pyo3::intern!(py, "response"))?),
            AWAIT_HANDLER => Handling::Await {
                coro: out.getattr(pyo3::intern!(py, "coro"))?,
                report: out.getattr(pyo3::intern!(py, "report"))?.extract()?,
            },
            other => return Err(PyValueError::new_err(format!("handle_exception returned the unknown kind {other}"))),
        })
    }
}
