//! `Engine`: the Python-facing handle on the core. Python builds it from the route objects,
//! runs the sync pool threads and the loop shards on it, and either serves a socket or feeds it
//! requests in-process (the TestClient).

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use pyo3::exceptions::{PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};

use crate::app::{App, Incoming};
use crate::contract::{EngineSettings, Hooks, ServerConfig};
use crate::reply::{Later, Refusal, ResponseBody};
use crate::router::Router;
use crate::server;

#[pyclass(frozen, module = "turboapi._core")]
pub struct Engine {
    app: Arc<App>,
    runtime: tokio::runtime::Runtime,
    listener: Mutex<Option<std::net::TcpListener>>,
    server_config: Mutex<Option<ServerConfig>>,
    tls: Mutex<Option<server::TlsServing>>,
    /// The engine's threads (I/O, sync pool, loop shards) under SCHED_BATCH (`batch_this_thread`).
    batch_scheduling: bool,
}

#[pymethods]
impl Engine {
    /// `routes`: each route's `contract.CorePlan`, in registration order; `hooks`: the hooks object; `config`: dict
    /// of settings. What the core reads of each is in contract.rs (python/turboapi/contract.py).
    #[new]
    fn new(routes: &Bound<'_, PyList>, hooks: &Bound<'_, PyAny>, config: &Bound<'_, PyDict>) -> PyResult<Self> {
        let plans = routes.iter().map(|r| crate::contract::route_plan(&r)).collect::<PyResult<Vec<_>>>()?;
        // Both tables index `plans`: WebSocket routes declare no HTTP method; a mounted ASGI app
        // is in both.
        let table: Vec<(Vec<String>, String)> = plans.iter().map(|p| (p.methods.clone(), p.path.clone())).collect();
        let router = Router::new(&table).map_err(|e| PyValueError::new_err(e.0))?;
        let ws_table: Vec<(Vec<String>, String)> = plans
            .iter()
            .map(|p| (if p.websocket { vec!["GET".to_string()] } else { Vec::new() }, p.path.clone()))
            .collect();
        let ws_router = Router::new(&ws_table).map_err(|e| PyValueError::new_err(e.0))?;
        let layers = Hooks::layers(hooks)?;
        let settings = EngineSettings::from_py(config)?;
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.worker_threads(settings.io_threads.max(1)).thread_name("turboapi-io").enable_all();
        if settings.batch_scheduling {
            builder.on_thread_start(batch_this_thread);
        }
        let runtime =
            builder.build().map_err(|e| PyRuntimeError::new_err(format!("cannot start the I/O runtime: {e}")))?;
        let mut app = App::new(router, ws_router, plans, Hooks::from_py(hooks)?, settings.app, layers);
        if settings.access_log {
            app.access_log = Some(crate::access_log::AccessLog::new());
        }
        if let Some(list) = settings.forwarded_allow_ips {
            app.trusted_proxies = Some(crate::proxy::parse_trusted(&list).map_err(PyValueError::new_err)?);
        }
        app.root_path = crate::app::RootPath { prefix: settings.path_prefix, root: Arc::from(settings.root_path) };
        let server_config = settings.server;
        Ok(Engine {
            app: Arc::new(app),
            runtime,
            listener: Mutex::new(None),
            server_config: Mutex::new(Some(server_config)),
            tls: Mutex::new(None),
            batch_scheduling: settings.batch_scheduling,
        })
    }

    /// Bind the listening socket; returns the bound (host, port), so port 0 reports the real one.
    #[pyo3(signature = (host, port, backlog, reuse_port=false))]
    fn bind(&self, host: &str, port: u16, backlog: i32, reuse_port: bool) -> PyResult<(String, u16)> {
        let listener = server::bind(host, port, backlog, reuse_port)
            .map_err(|e| PyOSError::new_err(format!("cannot bind {host}:{port}: {e}")))?;
        let addr = listener.local_addr().map_err(|e| PyOSError::new_err(e.to_string()))?;
        *self.listener.lock().unwrap() = Some(listener);
        Ok((addr.ip().to_string(), addr.port()))
    }

    /// Serve TLS on the bound socket: `load()` gives the (certificate chain, private key) PEM,
    /// now and on every SIGHUP; `ca_pem` checks client certificates as `cert_reqs` asks
    /// (0 none, 1 optional, 2 required). A bad certificate or key is a ValueError naming it.
    #[pyo3(signature = (load, ca_pem=None, cert_reqs=0))]
    fn use_tls(&self, load: &Bound<'_, PyAny>, ca_pem: Option<&[u8]>, cert_reqs: u8) -> PyResult<()> {
        let (cert_pem, key_pem): (Vec<u8>, Vec<u8>) = load.call0()?.extract()?;
        let client_certs = crate::tls::ClientCerts::from_reqs(cert_reqs).map_err(PyValueError::new_err)?;
        let http2 = self.server_config.lock().unwrap().as_ref().is_some_and(|c| c.http2);
        let alpn: &[&[u8]] = if http2 { &[b"h2", b"http/1.1"] } else { &[b"http/1.1"] };
        let tls =
            crate::tls::Tls::new(&cert_pem, &key_pem, ca_pem, client_certs, alpn).map_err(PyValueError::new_err)?;
        *self.tls.lock().unwrap() = Some(server::TlsServing { tls: Arc::new(tls), load: load.clone().unbind() });
        Ok(())
    }

    /// Serve the bound socket until SIGINT/SIGTERM; blocks without the GIL.
    fn serve(&self, py: Python<'_>) -> PyResult<()> {
        let listener =
            self.listener.lock().unwrap().take().ok_or_else(|| PyRuntimeError::new_err("call bind() first"))?;
        let config =
            self.server_config.lock().unwrap().take().ok_or_else(|| PyRuntimeError::new_err("serve() runs once"))?;
        let app = self.app.clone();
        let tls = self.tls.lock().unwrap().take();
        py.allow_threads(|| {
            let _guard = self.runtime.enter();
            self.runtime.block_on(server::serve(app, listener, config, tls));
        });
        Ok(())
    }

    /// Body of a sync-pool thread: run jobs until the pool stops. The thread keeps its Python
    /// thread state for its whole life and releases the GIL only while parked.
    fn worker_loop(&self, py: Python<'_>) {
        if self.batch_scheduling {
            batch_this_thread();
        }
        let pool = self.app.pool.clone();
        pool.enter();
        loop {
            // Drain the queue under one GIL hold.
            while let Some(job) = pool.take() {
                crate::dispatch::run_sync(py, &self.app.dispatch, job);
                pool.job_done();
            }
            if pool.is_stopping() || !py.allow_threads(|| pool.park()) {
                return;
            }
        }
    }

    /// The next access-log records (waiting up to `wait` seconds): (client, method, target,
    /// HTTP version, status) tuples; empty when none came, None when the log is off.
    #[allow(clippy::type_complexity)]
    fn access_records(
        &self,
        py: Python<'_>,
        wait: f64,
    ) -> Option<Vec<(Option<(String, u16)>, String, String, &'static str, u16)>> {
        let log = self.app.access_log.as_ref()?;
        let records = py.allow_threads(|| {
            log.take(std::time::Duration::from_secs_f64(if wait > 0.0 { wait.min(1e9) } else { 0.0 }), 1024)
        });
        Some(
            records
                .into_iter()
                .map(|r| (r.client.as_ref().map(crate::peer::Peer::host_port), r.method, r.target, r.version, r.status))
                .collect(),
        )
    }

    /// Stop the sync pool: parked threads leave `worker_loop` now, busy ones after their job.
    fn stop_workers(&self) {
        self.app.pool.stop();
    }

    #[getter]
    fn shard_count(&self) -> usize {
        self.app.dispatch.shards.len()
    }

    fn shard_fileno(&self, index: usize) -> PyResult<i32> {
        Ok(self.shard(index)?.fileno())
    }

    /// Attach (or with None, detach) the event loop that runs shard `index`'s tasks. Called on the
    /// loop's own thread, which attaching makes one of the engine's (its scheduling policy too).
    fn bind_shard_loop(&self, index: usize, event_loop: Option<Py<PyAny>>) -> PyResult<()> {
        if self.batch_scheduling && event_loop.is_some() {
            batch_this_thread();
        }
        self.shard(index)?.bind_loop(event_loop);
        Ok(())
    }

    /// The loop's reader callback for shard `index`: start the next batch of queued requests.
    fn drain_shard(&self, py: Python<'_>, index: usize) -> PyResult<()> {
        self.shard(index)?.drain(py, &self.app.dispatch);
        Ok(())
    }

    /// The TestClient's `websocket_connect`: the handshake through the full pipeline, then a real
    /// WebSocket client over an in-process pipe. Returns ("accept", connection, subprotocol,
    /// headers), ("deny", code, reason) or ("refuse", status, body, exception or None).
    #[pyo3(signature = (target, headers, client=None, scheme="http"))]
    fn connect_websocket<'py>(
        &self,
        py: Python<'py>,
        target: &str,
        headers: Vec<(Vec<u8>, Vec<u8>)>,
        client: Option<(String, u16)>,
        scheme: &str,
    ) -> PyResult<Bound<'py, PyTuple>> {
        use crate::ws_handshake::Opened;
        let uri: http::Uri =
            target.parse().map_err(|e| PyValueError::new_err(format!("invalid request target: {e}")))?;
        let handshake = Incoming {
            method: http::Method::GET,
            scheme: if scheme == "https" || scheme == "wss" { "https" } else { "http" },
            version: http::Version::HTTP_11,
            uri,
            headers: header_map(headers)?,
            body: Bytes::new(),
            body_file: None,
            body_stream: None,
            client: client.map(|(host, port)| crate::peer::Peer::Named(host, port)),
            server: None,
        };
        let app = self.app.clone();
        let opened = py.allow_threads(|| self.runtime.block_on(crate::ws_handshake::open(&app, handshake)));
        match opened {
            Opened::Accepted { session, subprotocol, headers, done } => {
                let connection =
                    crate::ws_test::WebSocketTestConnection::start(&self.runtime, self.app.clone(), session, done);
                let out_headers = PyList::empty(py);
                for (name, value) in &headers {
                    out_headers.append((name.as_str(), PyBytes::new(py, value.as_bytes())))?;
                }
                ("accept", connection, subprotocol, out_headers).into_pyobject(py)
            }
            Opened::Denied { code, reason, done } => {
                // Starlette's TestClient raises the denial once the handler has ended (it may go
                // on after its close); with shards running in parallel the client would else see
                // the handler's state before it does. Bounded: a handler that never ends.
                if let Some(done) = done {
                    let wait = async { tokio::time::timeout(std::time::Duration::from_secs(10), done).await };
                    py.allow_threads(|| self.runtime.block_on(wait)).ok();
                }
                ("deny", code, reason).into_pyobject(py)
            }
            Opened::Refused(reply) => {
                let error = match &reply.error {
                    Some(err) => err.clone_ref(py).into_value(py).into_any(),
                    None => py.None(),
                };
                ("refuse", reply.status, PyBytes::new(py, &reply.body), error).into_pyobject(py)
            }
        }
    }

    /// Run one request through the full pipeline without a socket (the TestClient's transport,
    /// and the app as an ASGI application). Returns (status, [(name, value)], body, unhandled
    /// exception or None); the body is bytes, or with `stream` a streamed or file body is a
    /// `ReplyBody` to read chunk by chunk.
    /// A request for route `route` (its index among the routes given to the engine) that came the
    /// ASGI way (a custom route class, middleware that needs ASGI, a mounted app): its parameters
    /// extracted by the route's plan, as (RequestData, Next), for `APIRoute.get_route_handler()`
    /// to run the route as the core would. `path_values`: the route's path parameters, in order.
    #[pyo3(signature = (route, shard, method, target, headers, body, path_values, client=None, scheme="http"))]
    #[allow(clippy::too_many_arguments)]
    fn prepare(
        &self,
        route: usize,
        shard: usize,
        method: &str,
        target: &str,
        headers: Vec<(Vec<u8>, Vec<u8>)>,
        body: &Bound<'_, PyBytes>,
        path_values: Vec<String>,
        client: Option<(String, u16)>,
        scheme: &str,
    ) -> PyResult<(crate::request::RequestData, crate::dispatch::Next)> {
        if route >= self.app.dispatch.plans.len() || shard >= self.app.dispatch.shards.len() {
            return Err(PyValueError::new_err(format!("no route {route} or shard {shard} in this engine")));
        }
        let method =
            http::Method::from_bytes(method.as_bytes()).map_err(|_| PyValueError::new_err("invalid method"))?;
        let uri: http::Uri =
            target.parse().map_err(|e| PyValueError::new_err(format!("invalid request target: {e}")))?;
        let path = uri.path().to_string();
        let incoming = Incoming {
            method,
            scheme: if scheme == "https" || scheme == "wss" { "https" } else { "http" },
            version: http::Version::HTTP_11,
            uri,
            headers: header_map(headers)?,
            body: crate::pybytes::body_from_pybytes(body),
            body_file: None,
            body_stream: None,
            client: client.map(|(host, port)| crate::peer::Peer::Named(host, port)),
            server: None,
        };
        let (job, _reply) = self.app.job(incoming, Some(route), (path, path_values), (shard, 0), None);
        let data = crate::request::RequestData { info: job.request.clone() };
        Ok((data, crate::dispatch::Next::for_job(self.app.dispatch.clone(), job)))
    }

    #[pyo3(signature = (method, target, headers, body, client=None, scheme="http", stream=false))]
    #[allow(clippy::type_complexity, clippy::too_many_arguments)]
    fn handle<'py>(
        &self,
        py: Python<'py>,
        method: &str,
        target: &str,
        headers: Vec<(Vec<u8>, Vec<u8>)>,
        body: Vec<u8>,
        client: Option<(String, u16)>,
        scheme: &str,
        stream: bool,
    ) -> PyResult<(u16, Bound<'py, PyList>, PyObject, PyObject)> {
        let method =
            http::Method::from_bytes(method.as_bytes()).map_err(|_| PyValueError::new_err("invalid method"))?;
        let uri: http::Uri =
            target.parse().map_err(|e| PyValueError::new_err(format!("invalid request target: {e}")))?;
        let header_map = header_map(headers)?;
        let client = client.map(|(host, port)| crate::peer::Peer::Named(host, port));
        let scheme = if scheme == "https" { "https" } else { "http" };
        let app = self.app.clone();
        let reply = py.allow_threads(|| {
            let limit = if crate::spool::is_multipart(&header_map) {
                app.config.max_upload_size
            } else {
                app.config.max_body_size
            };
            if body.len() > limit {
                return Refusal::PayloadTooLarge.into();
            }
            let incoming = Incoming {
                method,
                scheme,
                version: http::Version::HTTP_11,
                uri,
                headers: header_map,
                body: Bytes::from(body),
                body_file: None,
                body_stream: None,
                client,
                server: None,
            };
            self.runtime.block_on(app.respond(incoming))
        });
        let mut reply = reply;
        let streamed = matches!(reply.later, Later::Stream(_) | Later::NoLength);
        let mut reader = None;
        if stream && matches!(reply.later, Later::Stream(_) | Later::File(_)) {
            let head = std::mem::take(&mut reply.later);
            let body = match head {
                Later::Stream(r) => ResponseBody::Stream(r),
                Later::File(f) => ResponseBody::File(f),
                _ => unreachable!("matched above"),
            };
            reader = Some(ReplyBody { runtime: self.runtime.handle().clone(), body: Mutex::new(Some(body)) });
        }
        // The TestClient reads a stream or a file whole, as Starlette's does.
        match std::mem::take(&mut reply.later) {
            Later::File(file) => {
                use http_body_util::BodyExt;
                match py.allow_threads(|| self.runtime.block_on(file.collect())) {
                    Ok(body) => reply.body = body.to_bytes(),
                    Err(err) => reply.error = Some(Arc::new(pyo3::exceptions::PyOSError::new_err(err.to_string()))),
                }
            }
            Later::Stream(reader) => {
                let (body, error) = py.allow_threads(|| reader.read_to_end());
                reply.body = Bytes::from(body);
                if let Some(error) = error {
                    reply.error = Some(Arc::new(PyErr::from_value(error.into_bound(py))));
                }
            }
            Later::No | Later::Source(_) | Later::NoLength => {}
        }
        let out_headers = PyList::empty(py);
        for (name, value) in &reply.headers {
            out_headers.append((name.as_str(), PyBytes::new(py, value.as_bytes())))?;
        }
        // What hyper adds on a socket, so that TestClient responses carry the same headers.
        let bodiless = reply.status < 200 || reply.status == 204 || reply.status == 304;
        if !bodiless
            && !streamed
            && reader.is_none()
            && !reply.headers.iter().any(|(n, _)| n == http::header::CONTENT_LENGTH)
        {
            out_headers.append(("content-length", PyBytes::new(py, reply.body.len().to_string().as_bytes())))?;
        }
        let error = match &reply.error {
            Some(err) => err.clone_ref(py).into_value(py).into_any(),
            None => py.None(),
        };
        let body = match reader {
            Some(reader) => Bound::new(py, reader)?.into_any().unbind(),
            None => PyBytes::new(py, &reply.body).into_any().unbind(),
        };
        Ok((reply.status, out_headers, body, error))
    }
}

/// A streamed or file response body, read chunk by chunk outside the runtime (the ASGI adapter).
/// Dropping it (or `close`) ends the stream: its pump is cancelled, as when a client goes away.
#[pyclass(frozen, module = "turboapi._core")]
pub struct ReplyBody {
    runtime: tokio::runtime::Handle,
    body: Mutex<Option<ResponseBody>>,
}

#[pymethods]
impl ReplyBody {
    /// The next chunk, or None at the end; blocks (without the GIL) until it comes.
    fn read<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyBytes>>> {
        use http_body_util::BodyExt;
        let frame = py.allow_threads(|| {
            let mut guard = self.body.lock().unwrap_or_else(|e| e.into_inner());
            let Some(body) = guard.as_mut() else { return Ok(None) };
            loop {
                match self.runtime.block_on(body.frame()) {
                    None => {
                        *guard = None;
                        return Ok(None);
                    }
                    Some(Ok(frame)) => match frame.into_data() {
                        Ok(data) if data.is_empty() => continue,
                        Ok(data) => return Ok(Some(data)),
                        Err(_) => continue, // trailers: none are sent
                    },
                    Some(Err(err)) => {
                        *guard = None;
                        return Err(err);
                    }
                }
            }
        });
        match frame {
            Ok(Some(data)) => Ok(Some(PyBytes::new(py, &data))),
            Ok(None) => Ok(None),
            Err(err) => Err(PyOSError::new_err(format!("the response body failed: {err}"))),
        }
    }

    fn close(&self) {
        self.body.lock().unwrap_or_else(|e| e.into_inner()).take();
    }
}

impl Engine {
    fn shard(&self, index: usize) -> PyResult<&Arc<crate::dispatch::Shard>> {
        self.app.dispatch.shards.get(index).ok_or_else(|| PyValueError::new_err(format!("no shard {index}")))
    }
}

fn header_map(headers: Vec<(Vec<u8>, Vec<u8>)>) -> PyResult<http::HeaderMap> {
    Ok(crate::reply::header_pairs(headers)?.into_iter().collect())
}

/// The calling thread under SCHED_BATCH (`batch_scheduling`; the I/O threads at their start, the
/// sync pool's and the shards' as they enter `worker_loop` and `bind_shard_loop`): woken by a loop
/// shard with a reply, an I/O thread waits for the shard to block rather than preempting it
/// mid-batch, and the reverse.
/// On one core that cuts the context switches of a handler that waits about fourfold (measured on
/// bench/tfb_app's /db: 1.55 switches a request under SCHED_OTHER, 0.4 under SCHED_BATCH). Off,
/// the threads keep the policy they inherit (normally SCHED_OTHER).
fn batch_this_thread() {
    #[cfg(target_os = "linux")]
    {
        let param = libc::sched_param { sched_priority: 0 };
        // The system call itself: musl's sched_setscheduler() always fails with ENOSYS.
        // SAFETY: tid 0 is the calling thread; `param` is a live sched_param. A failure (a
        // seccomp filter, say) leaves the thread under its default policy, which is only slower.
        unsafe {
            libc::syscall(libc::SYS_sched_setscheduler, 0, libc::SCHED_BATCH, &param as *const libc::sched_param)
        };
    }
}
