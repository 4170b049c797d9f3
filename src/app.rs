//! The request pipeline, shared by the socket server and the in-process TestClient: the native
//! middleware, routing, parameter extraction, the hand-off to a pool thread or a loop shard (with
//! its gate), and waiting for the reply. `App` holds what the pipeline needs.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::oneshot;

use crate::contract::{Config, Hooks};
use crate::dispatch::{Dispatch, Job};
use crate::extract::{extract_all, parse_cookies, parse_query, RequestParts};
use crate::gate::Gate;
use crate::layers::{self, Before, Layer};
use crate::plan::RoutePlan;
use crate::pool::SyncPool;
use crate::reply::{Refusal, Reply};
use crate::request::RequestInfo;
use crate::router::{RouteMatch, Router};
use crate::shards::{Admission, ShardLoop, ShardQueue, Shards};

pub struct App {
    pub router: Router,
    /// WebSocket routes (indices into the plans, as `router`'s).
    pub ws_router: Router,
    /// The route plans, the hooks and the loop shards: what running a job in Python needs.
    pub dispatch: Arc<Dispatch>,
    pub config: Config,
    /// Sync handlers: Python pool threads take jobs from here.
    pub pool: Arc<SyncPool<Job>>,
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
    /// HTTP/1.0, 1.1 or 2 (`scope["http_version"]`).
    pub version: http::Version,
    pub uri: http::Uri,
    pub headers: http::HeaderMap,
    pub body: Bytes,
    /// A spooled upload: the body is in this file, `body` is empty.
    pub body_file: Option<Arc<tempfile::TempPath>>,
    /// A body handed over as it arrives (a route that streams it), instead of `body`.
    pub body_stream: Option<Arc<crate::bodystream::BodyStream>>,
    pub client: Option<crate::peer::Peer>,
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
        let queues = (0..config.shards.max(1))
            .map(|_| {
                let gate = config.max_concurrent.map(|n| Gate::new(n, config.gate_queue, config.gate_timeout));
                Arc::new(ShardQueue::new(gate, config.batch_size))
            })
            .collect();
        let any_stream_body = plans.iter().any(|p| p.stream_body);
        let shards = Shards::new(queues, config.shard_policy);
        App {
            router,
            ws_router,
            dispatch: Arc::new(Dispatch { plans, hooks, shards }),
            config,
            pool: Arc::new(SyncPool::new()),
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
        // The layers' future is boxed: inline, its size (the layers' own futures) would enlarge
        // every request's future, with or without layers.
        let mut reply = if self.layers.is_empty() {
            self.route_and_run(req).await
        } else {
            Box::pin(self.through_layers(req)).await
        };
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
        let (path, route_start, found) = self.locate(&self.router, req.method.as_str(), &req.uri);
        let via_middleware = self.dispatch.hooks.middleware_entry.is_some();
        // A reply the core gives by itself; with middleware it still goes through the stack.
        let (route, path_values, fixed) = match found {
            RouteMatch::Found { route, params } => (Some(route), params, None),
            RouteMatch::NotFound => (None, Vec::new(), Some(Refusal::NotFound.into())),
            RouteMatch::RedirectSlash { path: toggled } => {
                (None, Vec::new(), Some(redirect_slash(&req, &format!("{}{toggled}", &path[..route_start]))))
            }
            RouteMatch::MethodNotAllowed { allow } => (None, Vec::new(), Some(Refusal::MethodNotAllowed(allow).into())),
        };
        if !via_middleware {
            if let Some(reply) = fixed {
                return reply;
            }
        }
        let shards = &self.dispatch.shards;
        let on_shard = via_middleware || route.is_some_and(|r| self.dispatch.plans[r].is_async);
        let shard_index = if on_shard { shards.pick(route.unwrap_or(0)) } else { 0 };
        let id = if on_shard { shards[shard_index].inbox.next_id() } else { 0 };
        let (mut job, reply_rx) = self.job(req, route, (path, path_values), (shard_index, id), None);
        job.fixed = fixed;
        if !on_shard {
            if !self.pool.submit(job) {
                return Refusal::Overloaded(1).into();
            }
            // A dropped sender means the Python side died before answering: never hang.
            return self.await_reply(reply_rx).await.0;
        }
        let shard = &shards[shard_index];
        if let Some(stream) = &job.request.body_stream {
            stream.bind_shard(shard.inbox.clone());
        }
        let permit = match &shard.gate {
            None => None,
            Some(gate) => match gate.enter().await {
                Ok(permit) => Some(permit),
                Err(_) => return Refusal::Overloaded(gate.retry_after_secs()).into(),
            },
        };
        // The admission travels with the job and is released when the handler's task ends,
        // not when this future does: a cancelled task still counts until it has unwound.
        let mut job = job;
        job.admission = Some(Admission::new(shard, permit));
        shard.push(job);
        // If hyper drops this future (the client went away), the guard cancels the task.
        let mut guard = CancelOnDrop { shard: &shard.inbox, id, armed: true };
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
        matches!(self.router.lookup(method.as_str(), &path[start..]), RouteMatch::Found { route, .. } if self.dispatch.plans[route].stream_body)
    }

    /// The first step of every request, HTTP or WebSocket: `scope["path"]`, where the part
    /// routes match starts (after the root path), and what `router` makes of that part.
    pub(crate) fn locate(&self, router: &Router, method: &str, uri: &http::Uri) -> (String, usize, RouteMatch) {
        let (path, route_start) = self.root_path.split(decode_path(uri.path()));
        let found = router.lookup(method, &path[route_start..]);
        (path, route_start, found)
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
        websocket: Option<Arc<crate::ws_session::Session>>,
    ) -> (Job, oneshot::Receiver<Reply>) {
        let plan = route.map(|r| &self.dispatch.plans[r]);
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
            version: req.version,
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
                Err(_) => return (Refusal::GatewayTimeout.into(), true),
            },
        };
        (answered.unwrap_or_else(|_| Reply::internal_error(None)), false)
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
    pub shard: &'a ShardLoop,
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
    let mut reply = Reply::new(307, crate::reply::TEXT, Bytes::new());
    reply.headers.clear();
    match http::HeaderValue::from_str(&location) {
        Ok(value) => reply.headers.push((http::header::LOCATION, value)),
        Err(_) => return Refusal::NotFound.into(),
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
