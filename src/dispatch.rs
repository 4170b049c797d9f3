//! Running a job in Python: build the handler's arguments, call it (sync on a pool thread, async
//! as a task on a loop shard), turn its result into a reply, and send the reply back to Rust
//! through a oneshot channel (no Python future per request).

use std::sync::{Arc, Mutex};

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};
use pyo3::IntoPyObjectExt;
use tokio::sync::oneshot;

use crate::app::App;
use crate::extract::{Extracted, FastValue, RawValue};
use crate::plan::{ParamPlan, RoutePlan};
use crate::request::RequestData;
pub use crate::request::RequestInfo;
use crate::response::{from_response_object, from_result, Later, Reply};
use crate::shards::{Admission, ShardQueue};

/// What `_eager.start` reports (see python/turboapi/_eager.py).
const EAGER_DONE: u8 = 0;
const EAGER_WAITING: u8 = 2;

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

fn default_value<'py>(py: Python<'py>, app: &App, param: &ParamPlan) -> PyResult<Bound<'py, PyAny>> {
    let default = param.default.as_ref().expect("optional parameters carry a default").bind(py);
    if param.copy_default {
        app.hooks.fresh_default.bind(py).call1((default,))
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
    app: &App,
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
                kwargs.set_item(param.name.bind(py), default_value(py, app, param)?)?
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
        let solved = plan.route.bind(py).call_method1(pyo3::intern!(py, "solve"), (&kwargs, pending, data))?;
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
    app: &App,
    request: &RequestInfo,
    sender: oneshot::Sender<Reply>,
    mut reply: Reply,
    event_loop: Option<&Bound<'_, PyAny>>,
    context: Option<&Bound<'_, PyAny>>,
) {
    let mut background = reply.background.take();
    let mut after = request.after.lock().ok().and_then(|mut a| a.take());
    if let Some(response) = reply.take_source() {
        if response.bind(py).is_instance(app.hooks.file_types.bind(py)).unwrap_or(false) {
            // A file response: Python plans the answer from the request's Range headers, the
            // core reads the file.
            reply = plan_file(py, app, request, &response, background.take());
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
            let index = if event_loop.is_some() { request.shard } else { app.pick_shard(0) };
            let shard = app.shards[index].clone();
            match Py::new(py, crate::stream::BodyWriter::new(channel.clone(), shard.clone())) {
                Ok(writer) => {
                    shard.push_event(crate::shards::ShardEvent::StartStream { response, writer: writer.into_any() });
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
    run_background(py, app, background, after, event_loop, context, move || {
        let _ = sender.send(reply);
    });
}

/// A file response's reply: Python plans it (status, headers, segments) from the request's method,
/// its Range headers and its conditional headers; a failure (a missing file) is logged and becomes
/// a 500, as in Starlette.
fn plan_file(
    py: Python<'_>,
    app: &App,
    request: &RequestInfo,
    response: &Py<PyAny>,
    background: Option<Py<PyAny>>,
) -> Reply {
    // Latin-1, as Starlette reads header values: a byte past 0x7f makes the Range invalid (400),
    // not absent.
    let header = |name: &str| request.headers.get(name).map(|v| crate::extract::latin1(v.as_bytes()));
    app.hooks
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
        .and_then(|plan| crate::response::from_file_plan(&plan, background))
        .unwrap_or_else(|err| {
            app.hooks.log_error.bind(py).call1((err.value(py),)).map(drop).unwrap_or_else(|e| e.print(py));
            Reply::internal_error(Some(err))
        })
}

/// Start a background; `send` runs once it is registered (so a TestClient that waits for
/// backgrounds sees it) and before it runs.
fn run_background(
    py: Python<'_>,
    app: &App,
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
    match app.hooks.start_background.bind(py).call1((background, after, loop_arg)) {
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

fn response_or_500(app: &App, response: PyResult<Bound<'_, PyAny>>) -> Reply {
    response.and_then(|r| from_response_object(app, &r)).unwrap_or_else(|e| Reply::internal_error(Some(e)))
}

/// An exception from solving, the handler or serialisation: the app's exception handlers turn it
/// into a response, or it is unhandled (logged by Python) and becomes a plain 500.
fn error_reply<'py>(py: Python<'py>, app: &App, err: PyErr, request: &Arc<RequestInfo>) -> ErrorReply<'py> {
    // `into_value` attaches the traceback to the exception, so handlers and the log see it.
    let exc = err.into_value(py).into_bound(py);
    let data = RequestData { info: request.clone() };
    let kept = |exc: Bound<'_, pyo3::exceptions::PyBaseException>| Arc::new(PyErr::from_value(exc.into_any()));
    match app.hooks.handle_exception.bind(py).call1((&exc, data)) {
        // ("await", coroutine, keep_error): an async handler to run on this loop.
        Ok(out) if out.is_instance_of::<PyTuple>() && out.len().unwrap_or(0) == 3 => {
            let keep: bool = out.get_item(2).and_then(|k| k.extract()).unwrap_or(false);
            match out.get_item(1) {
                Ok(coro) => ErrorReply::Pending { coro, error: keep.then(|| kept(exc)) },
                Err(e) => ErrorReply::Ready(Reply::internal_error(Some(e))),
            }
        }
        // (response, True): a server-level (500/Exception) handler's answer; the error is kept.
        Ok(out) if out.is_instance_of::<PyTuple>() => {
            let mut reply = response_or_500(app, out.get_item(0));
            reply.error = Some(kept(exc));
            ErrorReply::Ready(reply)
        }
        Ok(resp) if !resp.is_none() => ErrorReply::Ready(response_or_500(app, Ok(resp))),
        Ok(_) => ErrorReply::Ready(Reply::internal_error(Some(PyErr::from_value(exc.into_any())))),
        Err(hook_err) => {
            hook_err.print(py);
            ErrorReply::Ready(Reply::internal_error(Some(PyErr::from_value(exc.into_any()))))
        }
    }
}

/// `error_reply` where no loop runs (a pool thread): Python ran any async handler itself.
fn reply_for_error(py: Python<'_>, app: &App, err: PyErr, request: &Arc<RequestInfo>) -> Reply {
    match error_reply(py, app, err, request) {
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
    app: &Arc<App>,
    err: PyErr,
    request: &Arc<RequestInfo>,
    sender: oneshot::Sender<Reply>,
    event_loop: &Bound<'_, PyAny>,
) {
    let (coro, error) = match error_reply(py, app, err, request) {
        ErrorReply::Ready(reply) => return deliver(py, app, request, sender, reply, Some(event_loop), None),
        ErrorReply::Pending { coro, error } => (coro, error),
    };
    let started: PyResult<(u8, Bound<'_, PyAny>)> =
        app.hooks.eager_start.bind(py).call1((coro, event_loop)).and_then(|r| r.extract());
    let handler_done =
        HandlerDone { app: app.clone(), request: request.clone(), reply: Mutex::new(Some(sender)), error };
    match started {
        Ok((EAGER_WAITING, task)) => {
            if let Err(err) = task.call_method1(pyo3::intern!(py, "add_done_callback"), (handler_done,)) {
                err.print(py);
            }
        }
        Ok((state, value)) => {
            let outcome = if state == EAGER_DONE { Ok(value) } else { Err(PyErr::from_value(value)) };
            handler_done.answer(py, outcome, Some(event_loop));
        }
        Err(err) => handler_done.answer(py, Err(err), Some(event_loop)),
    }
}

/// Done-callback of an async exception handler's task.
#[pyclass(frozen, module = "turboapi._core")]
pub struct HandlerDone {
    app: Arc<App>,
    request: Arc<RequestInfo>,
    reply: Mutex<Option<oneshot::Sender<Reply>>>,
    error: Option<Arc<PyErr>>,
}

#[pymethods]
impl HandlerDone {
    fn __call__(&self, py: Python<'_>, task: &Bound<'_, PyAny>) {
        let event_loop = task.call_method0(pyo3::intern!(py, "get_loop")).ok();
        self.answer(py, task.call_method0(pyo3::intern!(py, "result")), event_loop.as_ref());
    }
}

impl HandlerDone {
    fn answer(&self, py: Python<'_>, outcome: PyResult<Bound<'_, PyAny>>, event_loop: Option<&Bound<'_, PyAny>>) {
        let Some(sender) = self.reply.lock().ok().and_then(|mut s| s.take()) else {
            return;
        };
        // A failing exception handler is a plain 500, as under Starlette's ServerErrorMiddleware.
        let mut reply = outcome.and_then(|r| middleware_reply(py, &self.app, &r)).unwrap_or_else(|err| {
            err.print(py);
            Reply::internal_error(Some(err))
        });
        if reply.error.is_none() {
            reply.error = self.error.clone();
        }
        deliver(py, &self.app, &self.request, sender, reply, event_loop, None);
    }
}

/// A `def` handler, on a pool thread holding the GIL.
pub fn run_sync(py: Python<'_>, app: &App, job: Job) {
    let plan = &app.plans[job.route];
    // Each request gets its own context, as FastAPI's thread pool gives each call a copy: a
    // context variable set by one request is never seen by the next one on this thread.
    let context = app.hooks.new_context.bind(py).call0();
    let outcome = context.and_then(|context| {
        let args = build_args(py, app, plan, job.extracted, &job.request)?;
        let result = args.call_in(plan.endpoint.bind(py), &context)?;
        Ok((from_result(py, app, plan, &result, Some(&args.kwargs)), context))
    });
    let (outcome, context) = match outcome {
        Ok((outcome, context)) => (outcome, Some(context)),
        Err(err) => (Err(err), None),
    };
    let reply = outcome.unwrap_or_else(|err| reply_for_error(py, app, err, &job.request));
    // The receiver is gone only if the client went away: nothing to answer, but a background
    // (dependency exits among them) still runs.
    deliver(py, app, &job.request, job.reply, reply, None, context.as_ref());
}

/// An `async def` handler, on its loop shard: the coroutine takes its first step at once inside
/// an eager Task; if it finished, the reply goes out now, else the Task's done-callback
/// (a `Completion`) sends it when the handler is done.
pub fn start_async(py: Python<'_>, app: &Arc<App>, shard: &ShardQueue, event_loop: &Bound<'_, PyAny>, job: Job) {
    // HTTP middleware does not see WebSocket connections (Starlette's pass them through).
    if let (Some(entry), None) = (&app.hooks.middleware_entry, &job.request.websocket) {
        return start_middleware(py, app, shard, event_loop, job, entry.bind(py));
    }
    let plan = &app.plans[job.route];
    let mut job = job;
    let extracted = std::mem::take(&mut job.extracted);
    let started = build_args(py, app, plan, extracted, &job.request).and_then(|args| {
        let coro = args.call(plan.endpoint.bind(py))?;
        let (state, value): (u8, Bound<'_, PyAny>) =
            app.hooks.eager_start.bind(py).call1((coro, event_loop))?.extract()?;
        Ok((state, value, args.kwargs))
    });
    let (state, value, kwargs) = match started {
        Ok(started) => started,
        Err(err) => return answer_error(py, app, err, &job.request, job.reply, event_loop),
    };
    // Finished in its eager step: answer now, in this batch (the admission drops with `job`).
    if state != EAGER_WAITING {
        let outcome = if state == EAGER_DONE {
            from_result(py, app, plan, &value, Some(&kwargs))
        } else {
            Err(PyErr::from_value(value))
        };
        match outcome {
            Ok(reply) => deliver(py, app, &job.request, job.reply, reply, Some(event_loop), None),
            Err(err) => answer_error(py, app, err, &job.request, job.reply, event_loop),
        }
        return;
    }
    await_task(py, app, shard, job, value, plan.custom_serialize.then(|| kwargs.unbind()), false);
}

/// A request's task that did not finish in its eager step: its done-callback answers.
fn await_task(
    py: Python<'_>,
    app: &Arc<App>,
    shard: &ShardQueue,
    job: Job,
    task: Bound<'_, PyAny>,
    kwargs: Option<Py<PyDict>>,
    middleware: bool,
) {
    let completion = Completion {
        app: app.clone(),
        middleware,
        route: job.route,
        shard: job.request.shard,
        id: job.id,
        request: job.request,
        kwargs,
        reply: Mutex::new(Some(job.reply)),
        admission: Mutex::new(job.admission),
    };
    shard.track(job.id, task.clone().unbind());
    if let Err(err) = task.call_method1(pyo3::intern!(py, "add_done_callback"), (completion,)) {
        err.print(py);
    }
}

/// Done-callback of a request's task: holds the oneshot sender back to the Rust side.
#[pyclass(frozen, module = "turboapi._core")]
pub struct Completion {
    app: Arc<App>,
    /// The task runs the middleware stack: its result is a Response, whatever the route.
    middleware: bool,
    route: usize,
    shard: usize,
    id: u64,
    request: Arc<RequestInfo>,
    /// Kept only when the route's `serialize` needs the arguments (a `Response` parameter).
    kwargs: Option<Py<PyDict>>,
    reply: Mutex<Option<oneshot::Sender<Reply>>>,
    admission: Mutex<Option<Admission>>,
}

#[pymethods]
impl Completion {
    fn __call__(&self, py: Python<'_>, task: &Bound<'_, PyAny>) {
        self.complete(py, task);
    }
}

impl Completion {
    fn complete(&self, py: Python<'_>, task: &Bound<'_, PyAny>) {
        self.app.shards[self.shard].untrack(self.id);
        // The task has ended: its gate permit can admit the next request.
        drop(self.admission.lock().ok().and_then(|mut a| a.take()));
        let Some(sender) = self.reply.lock().ok().and_then(|mut s| s.take()) else {
            return;
        };
        let app = &self.app;
        let event_loop = task.call_method0(pyo3::intern!(py, "get_loop")).ok();
        if sender.is_closed() {
            // The client is gone (its task may have been cancelled for that): nobody to answer,
            // but a finished response's background (dependency exits among them) still runs.
            let background = task
                .call_method0(pyo3::intern!(py, "result"))
                .ok()
                .and_then(|result| from_response_object(app, &result).ok())
                .and_then(|reply| reply.background);
            let after = self.request.after.lock().ok().and_then(|mut a| a.take());
            if background.is_some() || after.is_some() {
                run_background(py, app, background, after, event_loop.as_ref(), None, || ());
            }
            return;
        }
        let outcome = task.call_method0(pyo3::intern!(py, "result")).and_then(|result| {
            if self.middleware {
                return middleware_reply(py, app, &result);
            }
            from_result(py, app, &app.plans[self.route], &result, self.kwargs.as_ref().map(|k| k.bind(py)))
        });
        match (outcome, event_loop.as_ref()) {
            (Ok(reply), _) => deliver(py, app, &self.request, sender, reply, event_loop.as_ref(), None),
            (Err(err), Some(event_loop)) => answer_error(py, app, err, &self.request, sender, event_loop),
            (Err(err), None) => {
                let reply = reply_for_error(py, app, err, &self.request);
                deliver(py, app, &self.request, sender, reply, None, None)
            }
        }
    }
}

/// What the middleware stack returned: it must be a Response.
fn middleware_reply(py: Python<'_>, app: &App, result: &Bound<'_, PyAny>) -> PyResult<Reply> {
    if !result.is_instance(app.hooks.response_class.bind(py))? {
        return Err(pyo3::exceptions::PyTypeError::new_err(format!(
            "a middleware returned {}, not a Response",
            result.get_type().name().map(|n| n.to_string()).unwrap_or_default()
        )));
    }
    from_response_object(app, result)
}

/// With middleware, a request's task runs `entry(request, next)`; the innermost `call_next`
/// uses `next` (a `Next`) to run the route, or to get the reply the core already has.
fn start_middleware(
    py: Python<'_>,
    app: &Arc<App>,
    shard: &ShardQueue,
    event_loop: &Bound<'_, PyAny>,
    mut job: Job,
    entry: &Bound<'_, PyAny>,
) {
    let next = Next {
        app: app.clone(),
        route: job.route,
        extracted: Mutex::new(Some(std::mem::take(&mut job.extracted))),
        request: job.request.clone(),
        fixed: Mutex::new(job.fixed.take()),
        kwargs: Mutex::new(None),
    };
    let data = RequestData { info: job.request.clone() };
    let started = entry.call1((data, next)).and_then(|coro| {
        let (state, value): (u8, Bound<'_, PyAny>) =
            app.hooks.eager_start.bind(py).call1((coro, event_loop))?.extract()?;
        Ok((state, value))
    });
    match started {
        Ok((EAGER_WAITING, task)) => await_task(py, app, shard, job, task, None, true),
        Ok((state, value)) => {
            let outcome =
                if state == EAGER_DONE { middleware_reply(py, app, &value) } else { Err(PyErr::from_value(value)) };
            match outcome {
                Ok(reply) => deliver(py, app, &job.request, job.reply, reply, Some(event_loop), None),
                Err(err) => answer_error(py, app, err, &job.request, job.reply, event_loop),
            }
        }
        Err(err) => answer_error(py, app, err, &job.request, job.reply, event_loop),
    }
}

/// The route end of the middleware stack, handed to Python as `call_next`'s engine.
#[pyclass(frozen, module = "turboapi._core")]
pub struct Next {
    app: Arc<App>,
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
        fixed.map(|reply| reply_to_response(py, &self.app, reply)).transpose()
    }

    #[getter]
    fn is_async(&self) -> bool {
        self.app.plans.get(self.route).is_some_and(|p| p.is_async)
    }

    /// The route object the core matched (what Starlette's router puts in `scope["route"]`), or
    /// None for the core's own replies.
    #[getter]
    fn route(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.app.plans.get(self.route).map(|p| p.route.clone_ref(py))
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
        let args = build_args(py, &self.app, plan, extracted, &self.request)?;
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
        let reply = from_result(py, &self.app, plan, result, kwargs.as_ref().map(|k| k.bind(py)))?;
        reply_to_response(py, &self.app, reply)
    }
}

impl Next {
    /// The route end for a request that reached `job`'s route another way than the core's router
    /// (the route's ASGI handler: `Engine.prepare`).
    pub fn for_job(app: Arc<App>, job: Job) -> Self {
        Next {
            app,
            route: job.route,
            extracted: Mutex::new(Some(job.extracted)),
            request: job.request,
            fixed: Mutex::new(None),
            kwargs: Mutex::new(None),
        }
    }

    fn plan(&self) -> PyResult<&RoutePlan> {
        self.app.plans.get(self.route).ok_or_else(|| pyo3::exceptions::PyRuntimeError::new_err("no route matched"))
    }
}

/// A core reply as a Python Response (status, raw headers, body, background).
fn reply_to_response(py: Python<'_>, app: &App, reply: Reply) -> PyResult<Py<PyAny>> {
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
    Ok(app.hooks.make_response.bind(py).call1((reply.status, headers, body, background))?.unbind())
}
