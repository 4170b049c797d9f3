//! The served application as the core sees it: route table, plans, Python hooks, config, and
//! the request pipeline shared by the socket server and the in-process TestClient.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};
use tokio::sync::oneshot;

use crate::dispatch::{Job, RequestInfo};
use crate::extract::{extract_all, parse_cookies, parse_query, RequestParts};
use crate::gate::Gate;
use crate::layers::{self, Before, Layer};
use crate::plan::RoutePlan;
use crate::pool::SyncPool;
use crate::response::{body_from_pybytes, Reply};
use crate::router::{RouteMatch, Router};
use crate::shards::{Admission, ShardPolicy, ShardQueue};

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
    /// `handle_exception(exc, request) -> Response | None`; None means "unhandled": log, 500.
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
    /// `start_stream(response, writer, shard)`: the pump task on a shard's loop.
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
    pub websocket: crate::websocket::Settings,
    /// A collected request body must arrive whole within this time (else 408); a streamed one
    /// may wait this long for each next chunk.
    pub body_read_timeout: std::time::Duration,
    /// A handler's answer must come within this time (else 504); None: no limit.
    pub request_timeout: Option<std::time::Duration>,
}

pub struct App {
    pub router: Router,
    /// WebSocket routes (indices into `plans`, as `router`'s).
    pub ws_router: Router,
    pub plans: Vec<RoutePlan>,
    pub hooks: Hooks,
    pub config: Config,
    /// Sync handlers: Python pool threads take jobs from here.
    pub pool: Arc<SyncPool>,
    pub shards: Vec<Arc<ShardQueue>>,
    next_shard: AtomicUsize,
    /// Standard middleware run in Rust, outermost first (empty when Python runs the stack).
    pub layers: Vec<Layer>,
    /// The access log, when it is on.
    pub access_log: Option<crate::access_log::AccessLog>,
    /// `--proxy-headers`: the peers whose X-Forwarded-* headers are believed (None: off).
    pub trusted_proxies: Option<Vec<crate::proxy::Trusted>>,
    /// The path prefix a proxy strips (`scope["root_path"]`), and where it shows.
    pub root_path: RootPath,
    /// Becomes true when the server stops (SIGINT/SIGTERM).
    pub stopping: tokio::sync::watch::Sender<bool>,
    /// WebSocket connections whose driver is running.
    pub websockets: AtomicUsize,
    /// Some route streams its request body (decided once: `streams_body` is asked per request).
    any_stream_body: bool,
}

/// `root_path` as uvicorn and Starlette apply it. The server's (`--root-path`) is put in front of
/// every request path (`prefix`), as uvicorn does; `scope["root_path"]` is the app's
/// (`FastAPI(root_path=...)`, or the TestClient's) when it has one, else the server's. Routes match
/// the path with that root stripped when the path starts with it, as Starlette's `get_route_path`.
#[derive(Default)]
pub struct RootPath {
    pub prefix: String,
    pub root: Arc<str>,
}

impl RootPath {
    /// `scope["path"]` for a percent-decoded request path, and where in it the part routes match
    /// starts.
    pub(crate) fn split(&self, decoded: String) -> (String, usize) {
        let path = if self.prefix.is_empty() { decoded } else { format!("{}{decoded}", self.prefix) };
        let root = &*self.root;
        let start = if root.is_empty() || !path.starts_with(root) {
            0
        } else if path.len() == root.len() || path.as_bytes()[root.len()] == b'/' {
            root.len()
        } else {
            0
        };
        (path, start)
    }
}

/// What the pipeline needs of a request, from hyper or from the TestClient.
pub struct Incoming {
    pub method: http::Method,
    pub scheme: &'static str,
    pub uri: http::Uri,
    pub headers: http::HeaderMap,
    pub body: Bytes,
    /// A spooled upload: the body is in this file, `body` is empty.
    pub body_file: Option<Arc<tempfile::TempPath>>,
    /// A body handed over as it arrives (a route that streams it), instead of `body`.
    pub body_stream: Option<Arc<crate::bodystream::BodyStream>>,
    pub client: Option<crate::request::Peer>,
    pub server: Option<SocketAddr>,
}

impl App {
    pub fn new(
        router: Router,
        ws_router: Router,
        plans: Vec<RoutePlan>,
        hooks: Hooks,
        config: Config,
        layers: Vec<Layer>,
    ) -> Self {
        let shards = (0..config.shards.max(1))
            .map(|_| {
                let gate = config.max_concurrent.map(|n| Gate::new(n, config.gate_queue, config.gate_timeout));
                Arc::new(ShardQueue::new(gate))
            })
            .collect();
        let any_stream_body = plans.iter().any(|p| p.stream_body);
        App {
            router,
            ws_router,
            plans,
            hooks,
            config,
            pool: Arc::new(SyncPool::new()),
            shards,
            next_shard: AtomicUsize::new(0),
            layers,
            access_log: None,
            trusted_proxies: None,
            root_path: RootPath::default(),
            stopping: tokio::sync::watch::channel(false).0,
            websockets: AtomicUsize::new(0),
            any_stream_body,
        }
    }

    /// Route, extract, hand to Python, wait for the reply.
    pub async fn respond(self: &Arc<Self>, req: Incoming) -> Reply {
        let is_head = req.method == http::Method::HEAD;
        let mut reply =
            if self.layers.is_empty() { self.route_and_run(req).await } else { self.through_layers(req).await };
        if is_head && !reply.body.is_empty() {
            // HEAD: the GET answer's headers, Content-Length included, and no body.
            if !reply.headers.iter().any(|(n, _)| n == http::header::CONTENT_LENGTH) {
                reply.headers.push((http::header::CONTENT_LENGTH, http::HeaderValue::from(reply.body.len())));
            }
            reply.body = Bytes::new();
        }
        reply
    }

    /// The native middleware: each layer may answer before the app (outer layers still shape
    /// that answer), then shapes the reply on the way out, innermost first (Starlette's order).
    async fn through_layers(self: &Arc<Self>, req: Incoming) -> Reply {
        let seen = layers::seen(&req.headers);
        let mut entered = self.layers.len();
        let mut answer = None;
        for (index, layer) in self.layers.iter().enumerate() {
            if let Before::Answer(reply) = layer.before(&req.method, req.scheme, &req.uri, &req.headers) {
                answer = Some(reply);
                entered = index;
                break;
            }
        }
        let mut reply = match answer {
            Some(reply) => reply,
            None => self.route_and_run(req).await,
        };
        for layer in self.layers[..entered].iter().rev() {
            layer.after(&seen, &mut reply).await;
        }
        reply
    }

    async fn route_and_run(self: &Arc<Self>, req: Incoming) -> Reply {
        let (path, route_start) = self.root_path.split(decode_path(req.uri.path()));
        let (before_route, route_path) = path.split_at(route_start);
        let via_middleware = self.hooks.middleware_entry.is_some();
        // A reply the core gives by itself; with middleware it still goes through the stack.
        let (route, path_values, fixed) = match self.router.lookup(req.method.as_str(), route_path) {
            RouteMatch::Found { route, params } => (Some(route), params, None),
            RouteMatch::NotFound => (None, Vec::new(), Some(Reply::not_found())),
            RouteMatch::RedirectSlash { path: toggled } => {
                (None, Vec::new(), Some(redirect_slash(&req, &format!("{before_route}{toggled}"))))
            }
            RouteMatch::MethodNotAllowed { allow } => (None, Vec::new(), Some(Reply::method_not_allowed(&allow))),
        };
        if !via_middleware {
            if let Some(reply) = fixed {
                return reply;
            }
        }
        let on_shard = via_middleware || route.is_some_and(|r| self.plans[r].is_async);
        let shard_index = if on_shard { self.pick_shard(route.unwrap_or(0)) } else { 0 };
        let id = if on_shard { self.shards[shard_index].next_job_id() } else { 0 };
        let (mut job, reply_rx) = self.job(req, route, (path, path_values), (shard_index, id), None);
        job.fixed = fixed;
        if !on_shard {
            if !self.pool.submit(job) {
                return Reply::overloaded(1);
            }
            // A dropped sender means the Python side died before answering: never hang.
            return self.await_reply(reply_rx).await.0;
        }
        let shard = &self.shards[shard_index];
        if let Some(stream) = &job.request.body_stream {
            stream.bind_shard(shard.clone());
        }
        let permit = match &shard.gate {
            None => None,
            Some(gate) => match gate.enter().await {
                Ok(permit) => Some(permit),
                Err(_) => return Reply::overloaded(gate.retry_after_secs()),
            },
        };
        // The admission travels with the job and is released when the handler's task ends,
        // not when this future does: a cancelled task still counts until it has unwound.
        let mut job = job;
        job.admission = Some(Admission::new(shard.clone(), permit));
        shard.push(job);
        // If hyper drops this future (the client went away), the guard cancels the task.
        let mut guard = CancelOnDrop { shard, id, armed: true };
        let (reply, timed_out) = self.await_reply(reply_rx).await;
        // Past the request timeout the guard stays armed: the handler's task is cancelled.
        guard.armed = timed_out;
        reply
    }

    /// Does this request go to a route that takes its body as it arrives? Looked up only for
    /// requests that have a body, and only when some route streams.
    pub fn streams_body(&self, method: &http::Method, raw_path: &str) -> bool {
        if !self.any_stream_body {
            return false;
        }
        let (path, start) = self.root_path.split(decode_path(raw_path));
        matches!(self.router.lookup(method.as_str(), &path[start..]), RouteMatch::Found { route, .. } if self.plans[route].stream_body)
    }

    pub fn websockets_open(&self) -> usize {
        self.websockets.load(Ordering::Acquire)
    }

    /// The job of a routed request (`route` None: no route, a reply the core gives through the
    /// middleware): the parameters its plan extracts, and the request as Python sees it. HTTP
    /// requests and WebSocket handshakes share it.
    pub(crate) fn job(
        &self,
        req: Incoming,
        route: Option<usize>,
        (path, path_values): (String, Vec<String>),
        (shard, id): (usize, u64),
        websocket: Option<Arc<crate::websocket::Session>>,
    ) -> (Job, oneshot::Receiver<Reply>) {
        let plan = route.map(|r| &self.plans[r]);
        let query_string = req.uri.query().unwrap_or("").to_string();
        let extracted = match plan {
            Some(plan) => {
                let query = parse_query(&query_string);
                let cookies = if plan.needs_cookies { parse_cookies(&req.headers) } else { Vec::new() };
                let parts =
                    RequestParts { path_values: &path_values, query: &query, headers: &req.headers, cookies: &cookies };
                extract_all(&plan.params, &parts)
            }
            None => Vec::new(),
        };
        let (reply, reply_rx) = oneshot::channel();
        let request = Arc::new(RequestInfo {
            method: req.method,
            scheme: req.scheme,
            shard,
            raw_path: format!("{}{}", self.root_path.prefix, req.uri.path()),
            root_path: self.root_path.root.clone(),
            path,
            query_string,
            headers: req.headers,
            body: req.body,
            body_file: req.body_file,
            body_stream: req.body_stream,
            client: req.client,
            server: req.server,
            path_names: plan.map(|p| p.path_names.clone()).unwrap_or_else(|| Arc::from(Vec::new())),
            path_values,
            state: std::sync::Mutex::new(None),
            after: std::sync::Mutex::new(None),
            websocket,
            live: crate::request::Live::new(),
        });
        let job =
            Job { id, route: route.unwrap_or(usize::MAX), extracted, request, reply, admission: None, fixed: None };
        (job, reply_rx)
    }

    /// The handler's reply, and whether `request_timeout` ran out first (then the reply is a
    /// 504; a sync handler's thread cannot be stopped and finishes unseen, an async handler's
    /// task is cancelled by the caller).
    async fn await_reply(&self, reply_rx: oneshot::Receiver<Reply>) -> (Reply, bool) {
        let answered = match self.config.request_timeout {
            None => reply_rx.await,
            Some(limit) => match tokio::time::timeout(limit, reply_rx).await {
                Ok(answered) => answered,
                Err(_) => return (Reply::detail(504, "Gateway Timeout"), true),
            },
        };
        (answered.unwrap_or_else(|_| Reply::internal_error(None)), false)
    }

    /// The shard an async request runs on, by `shard_policy`.
    pub fn pick_shard(&self, route: usize) -> usize {
        let n = self.shards.len();
        if n == 1 {
            return 0;
        }
        let turn = self.next_shard.fetch_add(1, Ordering::Relaxed);
        match self.config.shard_policy {
            ShardPolicy::RoundRobin => turn % n,
            ShardPolicy::RouteHash => route % n,
            ShardPolicy::LeastLoaded => (0..n)
                .map(|i| (turn + i) % n)
                .min_by_key(|&i| self.shards[i].in_flight.load(Ordering::Relaxed))
                .expect("at least one shard"),
        }
    }
}

/// Resolves once the server is stopping (never, if the sender is gone without stopping).
pub async fn stopped(rx: &mut tokio::sync::watch::Receiver<bool>) {
    loop {
        if *rx.borrow_and_update() {
            return;
        }
        if rx.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// Cancels a request's task when the request's future is dropped before its reply arrived.
pub(crate) struct CancelOnDrop<'a> {
    pub shard: &'a ShardQueue,
    pub id: u64,
    pub armed: bool,
}

impl Drop for CancelOnDrop<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.shard.cancel(self.id);
        }
    }
}

/// Starlette's `redirect_slashes`: a 307 to the same URL with the trailing slash toggled.
fn redirect_slash(req: &Incoming, path: &str) -> Reply {
    let host = req.headers.get(http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    let query = req.uri.query().map(|q| format!("?{q}")).unwrap_or_default();
    let encoded = percent_encoding::utf8_percent_encode(path, PATH_UNSAFE);
    let location = format!("{}://{host}{encoded}{query}", req.scheme);
    let mut reply = Reply::new(307, "text/plain; charset=utf-8", Bytes::new());
    reply.headers.clear();
    match http::HeaderValue::from_str(&location) {
        Ok(value) => reply.headers.push((http::header::LOCATION, value)),
        Err(_) => return Reply::not_found(),
    }
    reply
}

/// Characters escaped when a decoded path goes back into a URL.
const PATH_UNSAFE: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// Percent-decode the path as Starlette's `scope["path"]` (UTF-8, invalid bytes replaced).
pub(crate) fn decode_path(raw: &str) -> String {
    if !raw.contains('%') {
        return raw.to_string();
    }
    percent_encoding::percent_decode_str(raw).decode_utf8_lossy().into_owned()
}
