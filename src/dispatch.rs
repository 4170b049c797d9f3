//! Running a job in Python: build the handler's arguments, call it (sync on a pool thread, async
//! as a task on a loop shard), turn its result into a reply, and send the reply back to Rust
//! through a oneshot channel (no Python future per request).

use std::sync::{Arc, Mutex};

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};
use pyo3::IntoPyObjectExt;
use tokio::sync::oneshot;

use crate::contract::{EagerStart, Handling, Hooks};
use crate::convert::{from_response_object, from_result};
use crate::extract::{Extracted, FastValue, RawValue};
use crate::plan::{ParamPlan, RoutePlan};
use crate::reply::{Later, Reply};
use crate::request::{RequestData, RequestInfo};
use crate::shards::{Admission, JobRunner, ShardEvent, ShardLoop, ShardQueue, Shards};

/// What running a job in Python needs: the route plans, the hooks, and the loop shards.
pub struct Dispatch {
    pub plans: Vec<RoutePlan>,
    pub hooks: Hooks,
    pub shards: Shards<Job>,
}

/// A loop shard of this core: its queue holds jobs.
pub type Shard = ShardQueue<Job>;

impl JobRunner<Job> for Arc<Dispatch> {
    fn start(&self, py: Python<'_>, shard: &Shard, event_loop: &Bound<'_, PyAny>, job: Job) {
        start_async(py, self, shard, event_loop, job);
    }

    fn abandoned(&self, job: &Job) -> bool {
        job.reply.is_closed()
    }
}

pub struct Job {
    /// Unique per shard, for cancelling the job's task when its client goes away.
    pub id: u64,
    pub route: usize,
    pub extracted: Vec<Extracted>,
    pub request: Arc<RequestInfo>,
    pub reply: oneshot::Sender<Reply>,
    /// Async jobs: the shard admission, held until the handler's task has ended.
    pub admission: Option<Admission>,
    /// A reply the core gave by itself (404, 405, slash redirect), sent through the middleware.
    pub fixed: Option<Reply>,
}

fn fast_to_py<'py>(py: Python<'py>, value: FastValue) -> PyResult<Bound<'py, PyAny>> {
    match value {
        FastValue::Str(s) => Ok(PyString::new(py, &s).into_any()),
        FastValue::Int(i) => i.into_bound_py_any(py),
        FastValue::Float(f) => f.into_bound_py_any(py),
        FastValue::Bool(b) => b.into_bound_py_any(py),
        FastValue::Bytes(s) => Ok(pyo3::types::PyBytes::new(py, s.as_bytes()).into_any()),
        FastValue::List(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(fast_to_py(py, item)?)?;
            }
            Ok(list.into_any())
        }
    }
}

fn raw_to_py<'py>(py: Python<'py>, raw: RawValue) -> PyResult<Bound<'py, PyAny>> {
    match raw {
        RawValue::One(s) => Ok(PyString::new(py, &s).into_any()),
        RawValue::Many(items) => Ok(PyList::new(py, items)?.into_any()),
    }
}

fn default_value<'py>(py: Python<'py>, dispatch: &Dispatch, param: &ParamPlan) -> PyResult<Bound<'py, PyAny>> {
    let default = param.default.as_ref().expect("optional parameters carry a default").bind(py);
    if param.copy_default {
        dispatch.hooks.fresh_default.bind(py).call1((default,))
    } else {
        Ok(default.clone())
    }
}

/// What the endpoint is called with: the handler's keyword arguments, or (a route with
/// dependencies) the one scope object its dependency runner takes.
struct Args<'py> {
    kwargs: Bound<'py, PyDict>,
    scope: Option<Bound<'py, PyAny>>,
}

impl<'py> Args<'py> {
    fn call(&self, endpoint: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        match &self.scope {
            Some(scope) => endpoint.call1((scope,)),
            None => endpoint.call((), Some(&self.kwargs)),
        }
    }

    /// The call inside `context.run`, so context variables the handler sets stay in this request.
    fn call_in(&self, endpoint: &Bound<'py, PyAny>, context: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let run = pyo3::intern!(endpoint.py(), "run");
        match &self.scope {
            Some(scope) => context.call_method1(run, (endpoint, scope)),
            None => context.call_method(run, (endpoint,), Some(&self.kwargs)),
        }
    }
}

/// The handler's keyword arguments. Values Rust could not settle go to the route's Python
/// `solve`, which validates them with pydantic and raises `RequestValidationError` on failure.
fn build_args<'py>(
    py: Python<'py>,
    dispatch: &Dispatch,
    plan: &RoutePlan,
    extracted: Vec<Extracted>,
    request: &Arc<RequestInfo>,
) -> PyResult<Args<'py>> {
    let kwargs = PyDict::new(py);
    let mut pending: Option<Bound<'py, PyList>> = None;
    for (index, (param, value)) in plan.params.iter().zip(extracted).enumerate() {
        match value {
            Extracted::Fast(v) => kwargs.set_item(param.name.bind(py), fast_to_py(py, v)?)?,
            Extracted::Missing if !param.required => {
                kwargs.set_item(param.name.bind(py), default_value(py, dispatch, param)?)?
            }
            Extracted::Missing => pending.get_or_insert_with(|| PyList::empty(py)).append((index, py.None()))?,
            Extracted::Raw(raw) => {
                pending.get_or_insert_with(|| PyList::empty(py)).append((index, raw_to_py(py, raw)?))?
            }
        }
    }
    let mut scope = None;
    if pending.is_some() || plan.always_solve {
        let pending = pending.unwrap_or_else(|| PyList::empty(py));
        let data = RequestData { info: request.clone() };
        let solved = plan.solve.bind(py).call1((&kwargs, pending, data))?;
        scope = (!solved.is_none()).then_some(solved);
    }
    Ok(Args { kwargs, scope })
}

/// Send a reply, then what runs after it: the response's `background`, and the request's
/// "after" work (dependency exits, form files) that Python registered on the request. Both go to
/// the Python hook: as a task on `event_loop` (an async route), or here once the reply is out,
/// inside the request's `context` (a sync route).
fn deliver(
    py: Python<'_>,
    dispatch: &Dispatch,
    request: &RequestInfo,
    sender: oneshot::Sender<Reply>,
    mut reply: Reply,
    event_loop: Option<&Bound<'_, PyAny>>,
    context: Option<&Bound<'_, PyAny>>,
) {
    let mut background = reply.background.take();
    let mut after = request.after.lock().ok().and_then(|mut a| a.take());
    if let Some(response) = reply.take_source() {
        if response.bind(py).is_instance(dispatch.hooks.file_types.bind(py)).unwrap_or(false) {
            // A file response: Python plans the answer from the request's Range headers, the
            // core reads the file.
            reply = plan_file(py, dispatch, request, &response, background.take());
            background = reply.background.take();
        } else if request.method == http::Method::HEAD {
            // HEAD on a stream: never read, so never started; its background and exits run now,
            // as for any reply.
            reply.later = Later::NoLength;
        } else {
            // A streaming response: its pump starts on a shard (the request's own, when it ran
            // on one: a queue or lock the handler made belongs to that loop), and the background
            // and after-work wait for the stream's end (a `yield` dependency's resource may
            // serve it).
            let channel = crate::stream::Channel::new();
            let index = if event_loop.is_some() { request.shard } else { dispatch.shards.pick(0) };
            let shard = &dispatch.shards[index];
            match Py::new(py, crate::stream::BodyWriter::new(channel.clone(), shard.inbox.clone())) {
                Ok(writer) => {
                    let function = dispatch.hooks.start_stream.clone_ref(py);
                    shard.inbox.push_event(ShardEvent::Call { function, args: (response, writer.into_any()) });
                    (background, after) = channel.defer_after((background, after)).unwrap_or((None, None));
                    reply.later = Later::Stream(crate::stream::StreamReader::new(channel));
                }
                Err(err) => reply = Reply::internal_error(Some(err)),
            }
        }
    }
    if background.is_none() && after.is_none() {
        let _ = sender.send(reply);
        return;
    }
    run_background(py, dispatch, background, after, event_loop, context, move || {
        let _ = sender.send(reply);
    });
}

/// A file response's reply: Python plans it (status, headers, segments) from the request's method,
/// its Range headers and its conditional headers; a failure (a missing file) is logged and becomes
/// a 500, as in Starlette.
fn plan_file(
    py: Python<'_>,
    dispatch: &Dispatch,
    request: &RequestInfo,
    response: &Py<PyAny>,
    background: Option<Py<PyAny>>,
) -> Reply {
    // Latin-1, as Starlette reads header values: a byte past 0x7f makes the Range invalid (400),
    // not absent.
    let header = |name: &str| request.headers.get(name).map(|v| crate::extract::latin1(v.as_bytes()));
    dispatch
        .hooks
        .plan_file
        .bind(py)
        .call1((
            response.bind(py),
            request.method.as_str(),
            header("range"),
            header("if-range"),
            header("if-none-match"),
            header("if-modified-since"),
        ))
        .and_then(|plan| crate::convert::from_file_plan(&plan, background))
        .unwrap_or_else(|err| {
            dispatch.hooks.log_error.bind(py).call1((err.value(py),)).map(drop).unwrap_or_else(|e| e.print(py));
            Reply::internal_error(Some(err))
        })
}

/// Start a background; `send` runs once it is registered (so a TestClient that waits for
/// backgrounds sees it) and before it runs.
fn run_background(
    py: Python<'_>,
    dispatch: &Dispatch,
    background: Option<Py<PyAny>>,
    after: Option<Py<PyAny>>,
    event_loop: Option<&Bound<'_, PyAny>>,
    context: Option<&Bound<'_, PyAny>>,
    send: impl FnOnce(),
) {
    let loop_arg = match event_loop {
        Some(l) => l.clone(),
        None => py.None().into_bound(py),
    };
    match dispatch.hooks.start_background.bind(py).call1((background, after, loop_arg)) {
        Ok(run_after) => {
            send();
            if !run_after.is_none() {
                let ran = match context {
                    Some(context) => context.call_method1(pyo3::intern!(py, "run"), (run_after,)),
                    None => run_after.call0(),
                };
                if let Err(err) = ran {
                    err.print(py);
                }
            }
        }
        Err(err) => {
            err.print(py);
            send();
        }
    }
}

/// What the app's exception handlers make of an error.
enum ErrorReply<'py> {
    Ready(Reply),
    /// An async handler called on a loop shard: its coroutine, to run as a task (it may wait
    /// on I/O), and the error to keep reporting (a server-level handler's) once it answered.
    Pending {
        coro: Bound<'py, PyAny>,
        error: Option<Arc<PyErr>>,
    },
}

fn response_or_500(dispatch: &Dispatch, response: &Bound<'_, PyAny>) -> Reply {
    from_response_object(&dispatch.hooks, response).unwrap_or_else(|e| Reply::internal_error(Some(e)))
}

/// An exception from solving, the handler or serialisation: the app's exception handlers turn it
/// into a response, or it is unhandled (logged by Python) and becomes a plain 500.
fn error_reply<'py>(py: Python<'py>, dispatch: &Dispatch, err: PyErr, request: &Arc<RequestInfo>) -> ErrorReply<'py> {
    // `into_value` attaches the traceback to the exception, so handlers and the log see it.
    let exc = err.into_value(py).into_bound(py).into_any();
    let data = RequestData { info: request.clone() };
    let kept = |exc: Bound<'_, PyAny>| Arc::new(PyErr::from_value(exc));
    match Handling::decide(&dispatch.hooks, &exc, data) {
        Ok(Handling::Answered(response)) => ErrorReply::Ready(response_or_500(dispatch, &response)),
        Ok(Handling::AnsweredAndReported(response)) => {
            let mut reply = response_or_500(dispatch, &response);
            reply.error = Some(kept(exc));
            ErrorReply::Ready(reply)
        }
        Ok(Handling::Await { coro, report }) => ErrorReply::Pending { coro, error: report.then(|| kept(exc)) },
        Ok(Handling::Unhandled) => ErrorReply::Ready(Reply::internal_error(Some(PyErr::from_value(exc)))),
        Err(hook_err) => {
            hook_err.print(py);
            ErrorReply::Ready(Reply::internal_error(Some(PyErr::from_value(exc))))
        }
    }
}

/// `error_reply` where no loop runs (a pool thread): Python ran any async handler itself.
fn reply_for_error(py: Python<'_>, dispatch: &Dispatch, err: PyErr, request: &Arc<RequestInfo>) -> Reply {
    match error_reply(py, dispatch, err, request) {
        ErrorReply::Ready(reply) => reply,
        ErrorReply::Pending { coro, .. } => {
            let _ = coro.call_method0(pyo3::intern!(py, "close"));
            Reply::internal_error(Some(pyo3::exceptions::PyRuntimeError::new_err(
                "an exception handler's coroutine came back outside an event loop",
            )))
        }
    }
}

/// Answer an error on a loop shard: at once, or when the async exception handler's task is done.
fn answer_error(
    py: Python<'_>,
    dispatch: &Arc<Dispatch>,
    shard: &Shard,
    err: PyErr,
    job: Job,
    event_loop: &Bound<'_, PyAny>,
) {
    match error_reply(py, dispatch, err, &job.request) {
        ErrorReply::Ready(reply) => deliver(py, dispatch, &job.request, job.reply, reply, Some(event_loop), None),
        ErrorReply::Pending { coro, error } => {
            run_task(py, dispatch, shard, event_loop, job, Ok(coro), Finish::ErrorHandler { error })
        }
    }
}

/// A `def` handler, on a pool thread holding the GIL.
pub fn run_sync(py: Python<'_>, dispatch: &Dispatch, job: Job) {
    let plan = &dispatch.plans[job.route];
    // Each request gets its own context, as FastAPI's thread pool gives each call a copy: a
    // context variable set by one request is never seen by the next one on this thread.
    let context = dispatch.hooks.new_context.bind(py).call0();
    let outcome = context.and_then(|context| {
        let args = build_args(py, dispatch, plan, job.extracted, &job.request)?;
        let result = args.call_in(plan.endpoint.bind(py), &context)?;
        Ok((from_result(py, &dispatch.hooks, plan, &result, Some(&args.kwargs)), context))
    });
    let (outcome, context) = match outcome {
        Ok((outcome, context)) => (outcome, Some(context)),
        Err(err) => (Err(err), None),
    };
    let reply = outcome.unwrap_or_else(|err| reply_for_error(py, dispatch, err, &job.request));
    // The receiver is gone only if the client went away: nothing to answer, but a background
    // (dependency exits among them) still runs.
    deliver(py, dispatch, &job.request, job.reply, reply, None, context.as_ref());
}

/// An `async def` handler, on its loop shard: the coroutine takes its first step at once inside
/// an eager Task; if it finished, the reply goes out now, else the Task's done-callback
/// (a `Completion`) sends it when the handler is done.
pub fn start_async(py: Python<'_>, dispatch: &Arc<Dispatch>, shard: &Shard, event_loop: &Bound<'_, PyAny>, job: Job) {
    // HTTP middleware does not see WebSocket connections (Starlette's pass them through).
    if let (Some(entry), None) = (&dispatch.hooks.middleware_entry, &job.request.websocket) {
        return start_middleware(py, dispatch, shard, event_loop, job, entry.bind(py));
    }
    let plan = &dispatch.plans[job.route];
    let mut job = job;
    let extracted = std::mem::take(&mut job.extracted);
    let (coro, kwargs) = match build_args(py, dispatch, plan, extracted, &job.request) {
        Ok(args) => (args.call(plan.endpoint.bind(py)), Some(args.kwargs)),
        Err(err) => (Err(err), None),
    };
    // Kept only when the route's `serialize` needs the arguments (a `Response` parameter).
    let kwargs = kwargs.filter(|_| plan.custom_serialize);
    run_task(py, dispatch, shard, event_loop, job, coro, Finish::Route { kwargs: kwargs.map(Bound::unbind) });
}

/// With middleware, a request's task runs `entry(request, next)`; the innermost `call_next`
/// uses `next` (a `Next`) to run the route, or to get the reply the core already has.
fn start_middleware(
    py: Python<'_>,
    dispatch: &Arc<Dispatch>,
    shard: &Shard,
    event_loop: &Bound<'_, PyAny>,
    mut job: Job,
    entry: &Bound<'_, PyAny>,
) {
    let next = Next {
        dispatch: dispatch.clone(),
        route: job.route,
        extracted: Mutex::new(Some(std::mem::take(&mut job.extracted))),
        request: job.request.clone(),
        fixed: Mutex::new(job.fixed.take()),
        kwargs: Mutex::new(None),
    };
    let data = RequestData { info: job.request.clone() };
    let coro = entry.call1((data, next));
    run_task(py, dispatch, shard, event_loop, job, coro, Finish::Middleware);
}

/// Start `coro` (the handler's, the middleware stack's or an exception handler's) eagerly: a
/// result now is answered now, in this batch (the admission drops with `job`); a task that waits
/// is answered by its done-callback.
fn run_task(
    py: Python<'_>,
    dispatch: &Arc<Dispatch>,
    shard: &Shard,
    event_loop: &Bound<'_, PyAny>,
    job: Job,
    coro: PyResult<Bound<'_, PyAny>>,
    finish: Finish,
) {
    let started = coro.and_then(|coro| EagerStart::start(&dispatch.hooks, coro, event_loop));
    let outcome = match started {
        Ok(EagerStart::Waiting(task)) => return await_task(py, dispatch, shard, job, task, finish),
        Ok(EagerStart::Done(value)) => finish.reply(py, dispatch, job.route, &value),
        Ok(EagerStart::Raised(err)) | Err(err) => Err(err),
    };
    match outcome {
        Ok(reply) => deliver(py, dispatch, &job.request, job.reply, finish.with_error(reply), Some(event_loop), None),
        Err(err) => finish.failed(py, dispatch, shard, err, job, Some(event_loop)),
    }
}

/// What a task's result is, and what becomes of its failure.
enum Finish {
    /// The route's handler: its result is serialised as the route says (`kwargs` kept only when
    /// the route's `serialize` needs the arguments).
    Route { kwargs: Option<Py<PyDict>> },
    /// The middleware stack: its result is a Response, whatever the route.
    Middleware,
    /// An async exception handler: its result is a Response; `error` is still reported (a
    /// server-level handler's). Its own failure is a plain 500, as under Starlette's
    /// ServerErrorMiddleware.
    ErrorHandler { error: Option<Arc<PyErr>> },
}

impl Finish {
    fn reply(&self, py: Python<'_>, dispatch: &Dispatch, route: usize, result: &Bound<'_, PyAny>) -> PyResult<Reply> {
        match self {
            Finish::Route { kwargs } => {
                from_result(py, &dispatch.hooks, &dispatch.plans[route], result, kwargs.as_ref().map(|k| k.bind(py)))
            }
            Finish::Middleware => response_reply(py, dispatch, result, "a middleware"),
            Finish::ErrorHandler { .. } => response_reply(py, dispatch, result, "an exception handler"),
        }
    }

    fn with_error(&self, mut reply: Reply) -> Reply {
        if let Finish::ErrorHandler { error: Some(error) } = self {
            if reply.error.is_none() {
                reply.error = Some(error.clone());
            }
        }
        reply
    }

    fn failed(
        &self,
        py: Python<'_>,
        dispatch: &Arc<Dispatch>,
        shard: &Shard,
        err: PyErr,
        job: Job,
        event_loop: Option<&Bound<'_, PyAny>>,
    ) {
        let reply = match (self, event_loop) {
            (Finish::ErrorHandler { .. }, _) => {
                err.print(py);
                self.with_error(Reply::internal_error(Some(err)))
            }
            (_, Some(event_loop)) => return answer_error(py, dispatch, shard, err, job, event_loop),
            (_, None) => reply_for_error(py, dispatch, err, &job.request),
        };
        deliver(py, dispatch, &job.request, job.reply, reply, event_loop, None)
    }
}

/// A task that did not finish in its eager step: its done-callback answers.
fn await_task(
    py: Python<'_>,
    dispatch: &Arc<Dispatch>,
    shard: &Shard,
    job: Job,
    task: Bound<'_, PyAny>,
    finish: Finish,
) {
    shard.inbox.track(job.id, task.clone().unbind());
    let tracked = shard.inbox.clone();
    let completion = Completion { dispatch: dispatch.clone(), tracked, job: Mutex::new(Some(job)), finish };
    if let Err(err) = task.call_method1(pyo3::intern!(py, "add_done_callback"), (completion,)) {
        err.print(py);
    }
}

/// Done-callback of a request's task (the handler's, the middleware stack's, an exception
/// handler's): holds the job, with its oneshot sender back to the Rust side and its admission.
#[pyclass(frozen, module = "turboapi._core")]
pub struct Completion {
    dispatch: Arc<Dispatch>,
    /// The loop the task is tracked on (for cancelling it when its client goes away).
    tracked: Arc<ShardLoop>,
    /// The request; its admission (gate permit) is held until the answer is given, an async
    /// exception handler's included.
    job: Mutex<Option<Job>>,
    finish: Finish,
}

#[pymethods]
impl Completion {
    fn __call__(&self, py: Python<'_>, task: &Bound<'_, PyAny>) {
        let Some(job) = self.job.lock().ok().and_then(|mut j| j.take()) else {
            return;
        };
        let dispatch = &self.dispatch;
        let shard = &dispatch.shards[job.request.shard];
        self.tracked.untrack(job.id);
        let event_loop = task.call_method0(pyo3::intern!(py, "get_loop")).ok();
        let result = task.call_method0(pyo3::intern!(py, "result"));
        if job.reply.is_closed() {
            // The client is gone (its task may have been cancelled for that): nobody to answer,
            // but a finished response's background (dependency exits among them) still runs.
            let background = result
                .ok()
                .and_then(|result| from_response_object(&dispatch.hooks, &result).ok())
                .and_then(|reply| reply.background);
            let after = job.request.after.lock().ok().and_then(|mut a| a.take());
            if background.is_some() || after.is_some() {
                run_background(py, dispatch, background, after, event_loop.as_ref(), None, || ());
            }
            return;
        }
        let finish = &self.finish;
        match result.and_then(|result| finish.reply(py, dispatch, job.route, &result)) {
            Ok(reply) => {
                deliver(py, dispatch, &job.request, job.reply, finish.with_error(reply), event_loop.as_ref(), None)
            }
            Err(err) => finish.failed(py, dispatch, shard, err, job, event_loop.as_ref()),
        }
    }
}

/// What the middleware stack or an exception handler (`who`) returned: it must be a Response.
fn response_reply(py: Python<'_>, dispatch: &Dispatch, result: &Bound<'_, PyAny>, who: &str) -> PyResult<Reply> {
    if !result.is_instance(dispatch.hooks.response_class.bind(py))? {
        return Err(pyo3::exceptions::PyTypeError::new_err(format!(
            "{who} returned {}, not a Response",
            result.get_type().name().map(|n| n.to_string()).unwrap_or_default()
        )));
    }
    from_response_object(&dispatch.hooks, result)
}

/// The route end of the middleware stack, handed to Python as `call_next`'s engine.
#[pyclass(frozen, module = "turboapi._core")]
pub struct Next {
    dispatch: Arc<Dispatch>,
    route: usize,
    extracted: Mutex<Option<Vec<Extracted>>>,
    request: Arc<RequestInfo>,
    fixed: Mutex<Option<Reply>>,
    kwargs: Mutex<Option<Py<PyDict>>>,
}

#[pymethods]
impl Next {
    /// The core's own reply (404, 405, redirect) as a Response, or None when a route matched.
    fn take_fixed(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        let fixed = self.fixed.lock().ok().and_then(|mut f| f.take());
        fixed.map(|reply| reply_to_response(py, &self.dispatch, reply)).transpose()
    }

    #[getter]
    fn is_async(&self) -> bool {
        self.dispatch.plans.get(self.route).is_some_and(|p| p.is_async)
    }

    /// The route object the core matched (what Starlette's router puts in `scope["route"]`), or
    /// None for the core's own replies.
    #[getter]
    fn route(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.dispatch.plans.get(self.route).map(|p| p.route.clone_ref(py))
    }

    /// Build the arguments and call the route's endpoint: a coroutine (async route) or the result.
    fn call(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let plan = self.plan()?;
        let extracted = self
            .extracted
            .lock()
            .ok()
            .and_then(|mut e| e.take())
            .ok_or_else(|| pyo3::exceptions::PyRuntimeError::new_err("call_next() can run the route only once"))?;
        let args = build_args(py, &self.dispatch, plan, extracted, &self.request)?;
        let result = args.call(plan.endpoint.bind(py))?;
        if let Ok(mut k) = self.kwargs.lock() {
            *k = Some(args.kwargs.unbind());
        }
        Ok(result.unbind())
    }

    /// The endpoint's result as a Response (serialised as the route would without middleware).
    fn finish(&self, py: Python<'_>, result: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let plan = self.plan()?;
        let kwargs = self.kwargs.lock().ok().and_then(|mut k| k.take());
        let reply = from_result(py, &self.dispatch.hooks, plan, result, kwargs.as_ref().map(|k| k.bind(py)))?;
        reply_to_response(py, &self.dispatch, reply)
    }
}

impl Next {
    /// The route end for a request that reached `job`'s route another way than the core's router
    /// (the route's ASGI handler: `Engine.prepare`).
    pub fn for_job(dispatch: Arc<Dispatch>, job: Job) -> Self {
        Next {
            dispatch,
            route: job.route,
            extracted: Mutex::new(Some(job.extracted)),
            request: job.request,
            fixed: Mutex::new(None),
            kwargs: Mutex::new(None),
        }
    }

    fn plan(&self) -> PyResult<&RoutePlan> {
        self.dispatch.plans.get(self.route).ok_or_else(|| pyo3::exceptions::PyRuntimeError::new_err("no route matched"))
    }
}

/// A core reply as a Python Response (status, raw headers, body, background).
fn reply_to_response(py: Python<'_>, dispatch: &Dispatch, reply: Reply) -> PyResult<Py<PyAny>> {
    if let Later::Source(response) = reply.later {
        // A streaming or file response goes back to the middleware as it is (nothing read yet).
        return Ok(response);
    }
    let headers = PyList::empty(py);
    for (name, value) in &reply.headers {
        headers.append((
            pyo3::types::PyBytes::new(py, name.as_str().as_bytes()),
            pyo3::types::PyBytes::new(py, value.as_bytes()),
        ))?;
    }
    let body = pyo3::types::PyBytes::new(py, &reply.body);
    let background = match reply.background {
        Some(b) => b.into_bound(py),
        None => py.None().into_bound(py),
    };
    Ok(dispatch.hooks.make_response.bind(py).call1((reply.status, headers, body, background))?.unbind())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::Extracted;
    use crate::testing::{eval, with_python, HOOKS};

    /// One route `GET /items?q=` whose endpoint is `endpoint` (Python source defining `endpoint`).
    fn dispatch(py: Python<'_>, endpoint: &str, is_async: bool) -> Arc<Dispatch> {
        let setup = format!(
            "{HOOKS}\n{endpoint}\nparam = types.SimpleNamespace(name='q', key='q', source='query', scalar='str', \
             is_list=False, fast=True, required=True, default=None, copy_default=False)\n\
             route = types.SimpleNamespace(path='/items', methods=['GET'], params=[param], \
             endpoint=endpoint, is_async={}, status_code=200, always_solve=False, custom_serialize=False, \
             websocket=False, stream_body=False, solve=None, serialize=None, route=None)\n",
            if is_async { "True" } else { "False" }
        );
        let (hooks, route) =
            eval(py, &setup, "(hooks, route)").extract::<(Bound<'_, PyAny>, Bound<'_, PyAny>)>().unwrap();
        let plans = vec![crate::contract::route_plan(&route).unwrap()];
        let queues = vec![Arc::new(ShardQueue::new(None, 8))];
        let shards = Shards::new(queues, crate::shards::ShardPolicy::RoundRobin);
        Arc::new(Dispatch { plans, hooks: Hooks::from_py(&hooks).unwrap(), shards })
    }

    fn job(q: &str) -> (Job, oneshot::Receiver<Reply>) {
        let (reply, reply_rx) = oneshot::channel();
        let request = Arc::new(RequestInfo::for_test(http::Method::GET, "/items"));
        let extracted = vec![Extracted::Fast(FastValue::Str(q.to_string()))];
        (Job { id: 1, route: 0, extracted, request, reply, admission: None, fixed: None }, reply_rx)
    }

    fn answered(mut reply_rx: oneshot::Receiver<Reply>) -> (u16, String) {
        let reply = reply_rx.try_recv().expect("answered before returning");
        (reply.status, String::from_utf8_lossy(&reply.body).into_owned())
    }

    #[test]
    fn a_sync_handler_gets_its_arguments_and_its_result_is_serialised() {
        with_python(|py| {
            let dispatch = dispatch(py, "def endpoint(q): return {'q': q, 'n': len(q)}", false);
            let (job, reply_rx) = job("abc");
            run_sync(py, &dispatch, job);
            assert_eq!(answered(reply_rx), (200, r#"{"q":"abc","n":3}"#.to_string()));
        });
    }

    #[test]
    fn errors_go_to_the_exception_handlers_or_become_a_500() {
        with_python(|py| {
            let source = "def endpoint(q):\n    raise (LookupError if q == 'handled' else ValueError)(q)";
            let dispatch = dispatch(py, source, false);
            let (job_handled, handled_rx) = job("handled");
            run_sync(py, &dispatch, job_handled);
            assert_eq!(answered(handled_rx), (418, "handled".to_string()));
            let (job_unhandled, mut unhandled_rx) = job("boom");
            run_sync(py, &dispatch, job_unhandled);
            let reply = unhandled_rx.try_recv().unwrap();
            assert_eq!((reply.status, &reply.body[..]), (500, &b"Internal Server Error"[..]));
            let error = reply.error.expect("the error is kept for the TestClient");
            assert_eq!(error.value(py).to_string(), "boom");
        });
    }

    #[test]
    fn an_async_handler_that_finishes_in_its_first_step_is_answered_in_the_same_batch() {
        with_python(|py| {
            let dispatch = dispatch(py, "async def endpoint(q): return [q]", true);
            let shard = dispatch.shards[0].clone();
            shard.bind_loop(Some(py.None()));
            let (mut job, reply_rx) = job("x");
            job.admission = Some(Admission::new(&shard, None));
            shard.push(job);
            assert_eq!(shard.in_flight.load(std::sync::atomic::Ordering::Relaxed), 1);
            shard.drain(py, &dispatch);
            assert_eq!(answered(reply_rx), (200, r#"["x"]"#.to_string()));
            assert_eq!(shard.in_flight.load(std::sync::atomic::Ordering::Relaxed), 0, "admission released");
        });
    }

    #[test]
    fn a_handling_of_an_unknown_kind_is_a_500() {
        with_python(|py| {
            // Not one of contract.py's kinds: the core does not guess what the hook meant.
            let source = "def endpoint(q):\n    raise LookupError(q)\nHandled.kind = 9";
            let dispatch = dispatch(py, source, false);
            let (job, mut reply_rx) = job("x");
            run_sync(py, &dispatch, job);
            let reply = reply_rx.try_recv().unwrap();
            assert_eq!(reply.status, 500);
            let error = reply.error.expect("the error is kept");
            assert_eq!(error.value(py).to_string(), "x", "the request's own error is what is reported");
        });
    }

    #[test]
    fn a_returned_response_goes_out_as_it_is() {
        with_python(|py| {
            let source = "def endpoint(q): return Response(q.encode(), 201, [('x-kind', 'raw')])";
            let dispatch = dispatch(py, source, false);
            let (job, mut reply_rx) = job("body");
            run_sync(py, &dispatch, job);
            let reply = reply_rx.try_recv().unwrap();
            assert_eq!((reply.status, &reply.body[..]), (201, &b"body"[..]));
            assert_eq!(reply.headers[0].0.as_str(), "x-kind");
        });
    }
}
