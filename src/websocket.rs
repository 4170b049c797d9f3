//! WebSockets: the upgrade handshake, frame I/O on tokio (tungstenite), and the bridge to the
//! Python handler, which runs as an async job on a loop shard like any async route.
//!
//! The handler decides the handshake (`accept` → 101, `close` before it → 403, as uvicorn);
//! the hyper service waits for that decision, then a driver task owns the upgraded socket:
//! - reading: frames go to an inbox the handler's `receive` takes from; past `INBOX_HIGH` queued
//!   bytes the driver stops reading, so a client that sends faster than the handler reads is held
//!   back by TCP, not by memory;
//! - writing: the handler's messages go to an outbox the driver writes; past `OUTBOX_HIGH`
//!   queued bytes `send` waits (a client that reads slowly pauses the handler);
//! - pings from the client are answered by tungstenite; with `ws_ping_interval` the driver pings
//!   and closes (1011) a peer silent for longer than interval + timeout;
//! - a message over `ws_max_size` closes the connection with 1009.
//!
//! Waiting Python futures are resolved through the shard's event queue (`Waiter`).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::{HeaderMap, HeaderName, HeaderValue};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{oneshot, Notify};
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;

use crate::app::{App, Incoming};
use crate::response::Reply;
use crate::shards::{ShardQueue, Waiter};

/// Queued incoming bytes past which the driver stops reading the socket.
const INBOX_HIGH: usize = 256 * 1024;
/// Queued outgoing bytes past which the handler's `send` waits.
const OUTBOX_HIGH: usize = 64 * 1024;
/// Bytes tungstenite reads from the socket at a time.
const READ_BUFFER: usize = 16 * 1024;
/// After our close frame, how long the peer has to answer with its own before the socket drops.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// WebSocket settings (uvicorn's `--ws-max-size`, `--ws-ping-interval`, `--ws-ping-timeout`).
#[derive(Clone)]
pub struct Settings {
    pub max_size: usize,
    pub ping_interval: Option<Duration>,
    pub ping_timeout: Duration,
}

impl Settings {
    fn protocol(&self) -> WebSocketConfig {
        // tungstenite zero-fills its whole read window before every read (128 KiB by default):
        // with small messages that memset was a quarter of the server's CPU. 16 KiB reads.
        WebSocketConfig::default()
            .read_buffer_size(READ_BUFFER)
            .max_message_size(Some(self.max_size))
            .max_frame_size(Some(self.max_size))
    }
}

/// Is this request an opening handshake (RFC 6455 §4.1)? Only these are routed to websocket routes.
/// A stray `Upgrade` header without `Connection: upgrade`, or on HTTP/1.0 (which hyper never
/// upgrades), is a plain request, as uvicorn reads it.
pub fn is_upgrade(method: &http::Method, version: http::Version, headers: &HeaderMap) -> bool {
    let has_token = |name: HeaderName, token: &str| {
        headers
            .get_all(name)
            .iter()
            .any(|v| v.to_str().is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token))))
    };
    method == http::Method::GET
        && version == http::Version::HTTP_11
        && has_token(http::header::UPGRADE, "websocket")
        && has_token(http::header::CONNECTION, "upgrade")
}

/// What the handler decided before the handshake's answer.
enum Decision {
    Accept {
        subprotocol: Option<String>,
        headers: Vec<(HeaderName, HeaderValue)>,
    },
    /// `close()` before `accept()`: 403 on a socket; the TestClient raises the close.
    Deny {
        code: u16,
        reason: Py<PyAny>,
    },
}

enum Inbound {
    Text(tokio_tungstenite::tungstenite::Utf8Bytes),
    Binary(Bytes),
    Disconnect(u16, String),
}

impl Inbound {
    fn size(&self) -> usize {
        match self {
            Inbound::Text(t) => t.len(),
            Inbound::Binary(b) => b.len(),
            Inbound::Disconnect(..) => 0,
        }
    }
}

#[derive(Default)]
struct State {
    decision: Option<oneshot::Sender<Decision>>,
    inbox: VecDeque<Inbound>,
    inbox_bytes: usize,
    /// The handler's `receive` waits on this.
    /// Every task waiting to receive (several may: an ASGI app's tasks), all woken by a message.
    receivers: Vec<Waiter>,
    outbox: VecDeque<Message>,
    outbox_bytes: usize,
    /// The handler's `send` waits on this (the outbox is over `OUTBOX_HIGH`).
    /// Every task waiting to send (a chat broadcast's), all woken once the outbox drained.
    senders: Vec<Waiter>,
    /// The socket's reading side has ended: the disconnect is (or was) in the inbox.
    peer_gone: bool,
    /// A close frame is queued or sent: nothing more goes out.
    closing: bool,
}

/// How the handler's task ended: None while it runs; the exception it raised, if any.
type Outcome = Option<Option<Arc<PyErr>>>;

/// One WebSocket connection as both sides see it.
pub struct Session {
    state: Mutex<State>,
    shard: Arc<ShardQueue>,
    /// The outbox has something, or the handler ended: wakes the writer.
    outbox_ready: Notify,
    /// The inbox drained below its limit: wakes the reader.
    inbox_room: Notify,
    /// Milliseconds since `epoch` when the peer last sent a frame (for the keepalive).
    last_seen: AtomicU64,
    /// The reader waits for the inbox to drain (backpressure): the peer is not silent.
    paused: std::sync::atomic::AtomicBool,
    epoch: Instant,
    outcome: Mutex<Outcome>,
    finished: Condvar,
}

impl Session {
    fn new(shard: Arc<ShardQueue>, decision: oneshot::Sender<Decision>) -> Arc<Self> {
        Arc::new(Session {
            state: Mutex::new(State { decision: Some(decision), ..State::default() }),
            shard,
            outbox_ready: Notify::new(),
            inbox_room: Notify::new(),
            last_seen: AtomicU64::new(0),
            paused: std::sync::atomic::AtomicBool::new(false),
            epoch: Instant::now(),
            outcome: Mutex::new(None),
            finished: Condvar::new(),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn seen(&self) {
        self.last_seen.store(self.epoch.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    fn silent_for(&self) -> Duration {
        if self.paused.load(Ordering::Relaxed) {
            return Duration::ZERO;
        }
        let now = self.epoch.elapsed().as_millis() as u64;
        Duration::from_millis(now.saturating_sub(self.last_seen.load(Ordering::Relaxed)))
    }

    fn push_inbound(&self, message: Inbound) {
        let mut state = self.state();
        if state.peer_gone {
            return;
        }
        if matches!(message, Inbound::Disconnect(..)) {
            state.peer_gone = true;
        }
        state.inbox_bytes += message.size();
        state.inbox.push_back(message);
        state.receivers.drain(..).for_each(Waiter::resolve);
    }

    /// The socket is done reading (closed, broken, or never upgraded).
    fn peer_gone(&self, code: u16, reason: String) {
        self.push_inbound(Inbound::Disconnect(code, reason));
        // A handler waiting to send must learn it now, not at the next message.
        self.state().senders.drain(..).for_each(Waiter::resolve);
    }

    /// Queue a close from the core (protocol error, keepalive, handler ended) unless one is queued.
    fn close_with(&self, code: u16) {
        let mut state = self.state();
        if !state.closing {
            state.closing = true;
            state.outbox.push_back(close_message(code, ""));
        }
        drop(state);
        self.outbox_ready.notify_one();
    }

    fn finish(&self, error: Option<Arc<PyErr>>) {
        *self.outcome.lock().unwrap_or_else(|e| e.into_inner()) = Some(error);
        self.finished.notify_all();
    }
}

fn close_message(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame { code: CloseCode::from(code), reason: reason.into() }))
}

/// `send`'s answers to Python.
const SENT: u8 = 0;
const FULL: u8 = 1;
const GONE: u8 = 2;

/// The Python handler's end of a session (`turboapi.websockets.WebSocket` wraps it).
#[pyclass(frozen, module = "turboapi._core")]
pub struct WebSocketChannel {
    session: Arc<Session>,
}

impl WebSocketChannel {
    pub fn new(session: Arc<Session>) -> Self {
        WebSocketChannel { session }
    }

    fn decide(&self, decision: Decision) -> PyResult<()> {
        let sender = self.session.state().decision.take();
        match sender {
            Some(sender) => {
                // A receiver gone means the client left during the handshake: later calls see it.
                let _ = sender.send(decision);
                Ok(())
            }
            None => Err(PyRuntimeError::new_err("the WebSocket handshake was already answered")),
        }
    }

    fn queue(&self, message: Message) -> u8 {
        let mut state = self.session.state();
        if state.peer_gone || state.closing {
            return GONE;
        }
        let size = match &message {
            Message::Text(t) => t.len(),
            Message::Binary(b) => b.len(),
            _ => 0,
        };
        if matches!(message, Message::Close(_)) {
            state.closing = true;
        }
        state.outbox_bytes += size;
        state.outbox.push_back(message);
        let full = state.outbox_bytes > OUTBOX_HIGH;
        drop(state);
        self.session.outbox_ready.notify_one();
        if full {
            FULL
        } else {
            SENT
        }
    }
}

#[pymethods]
impl WebSocketChannel {
    /// Answer the handshake with 101: the chosen subprotocol and extra response headers.
    #[pyo3(signature = (subprotocol=None, headers=Vec::new()))]
    fn accept(&self, subprotocol: Option<String>, headers: Vec<(Vec<u8>, Vec<u8>)>) -> PyResult<()> {
        let out = crate::response::header_pairs(headers)?;
        if let Some(protocol) = &subprotocol {
            if HeaderValue::from_str(protocol).is_err() {
                return Err(PyValueError::new_err(format!("invalid subprotocol {protocol:?}")));
            }
        }
        self.decide(Decision::Accept { subprotocol, headers: out })
    }

    /// Refuse the handshake (`close()` before `accept()`).
    fn deny(&self, code: u16, reason: Py<PyAny>) -> PyResult<()> {
        self.decide(Decision::Deny { code, reason })
    }

    /// The next message, or None when none has come: (0, str), (1, bytes) or (2, (code, reason)).
    fn receive<'py>(&self, py: Python<'py>) -> Option<(u8, Bound<'py, PyAny>)> {
        let mut state = self.session.state();
        let message = match state.inbox.front() {
            // The disconnect stays: every later receive sees it too.
            Some(Inbound::Disconnect(code, reason)) => {
                return Some((2, (*code, reason.as_str()).into_pyobject(py).ok()?.into_any()))
            }
            Some(_) => state.inbox.pop_front()?,
            None => return None,
        };
        let before = state.inbox_bytes;
        state.inbox_bytes -= message.size();
        if before > INBOX_HIGH && state.inbox_bytes <= INBOX_HIGH {
            self.session.inbox_room.notify_one();
        }
        drop(state);
        Some(match message {
            Inbound::Text(text) => (0, PyString::new(py, text.as_str()).into_any()),
            Inbound::Binary(bytes) => (1, PyBytes::new(py, &bytes).into_any()),
            Inbound::Disconnect(..) => unreachable!("handled above"),
        })
    }

    /// Resolve `future` when a message comes; False if one is already there.
    fn wait_receive(&self, future: Py<PyAny>) -> bool {
        let mut state = self.session.state();
        if !state.inbox.is_empty() {
            return false;
        }
        state.receivers.push(Waiter { future, shard: self.session.shard.clone() });
        true
    }

    /// Queue a text message: 0 sent, 1 sent but wait (`wait_writable`) before the next, 2 the
    /// connection is closed.
    fn send_text(&self, text: String) -> u8 {
        self.queue(Message::text(text))
    }

    fn send_bytes(&self, data: &Bound<'_, PyBytes>) -> u8 {
        self.queue(Message::binary(crate::response::body_from_pybytes(data)))
    }

    /// Start the closing handshake.
    fn close(&self, code: u16, reason: &str) -> PyResult<u8> {
        if reason.len() > 123 {
            return Err(PyValueError::new_err("a WebSocket close reason is at most 123 bytes of UTF-8"));
        }
        Ok(self.queue(close_message(code, reason)))
    }

    /// Resolve `future` once the outbox drained below its limit or the peer is gone; False when
    /// that is already so.
    fn wait_writable(&self, future: Py<PyAny>) -> bool {
        let mut state = self.session.state();
        if state.peer_gone || state.outbox_bytes <= OUTBOX_HIGH {
            return false;
        }
        state.senders.push(Waiter { future, shard: self.session.shard.clone() });
        true
    }
}

/// The handshake's outcome, for the socket server and the TestClient.
pub enum Opened {
    /// Answered over plain HTTP: 403 (no route, or denied on a socket), 500, a middleware's answer.
    Refused(Reply),
    Denied {
        code: u16,
        reason: Py<PyAny>,
    },
    Accepted {
        session: Arc<Session>,
        subprotocol: Option<String>,
        headers: Vec<(HeaderName, HeaderValue)>,
        /// The handler's reply: it ends the session.
        done: oneshot::Receiver<Reply>,
    },
}

/// Route the handshake, start the handler on a shard, and wait for its decision (bounded by
/// `request_timeout`, as any request's answer).
pub async fn open(app: &Arc<App>, req: Incoming) -> Opened {
    for layer in &app.layers {
        if let crate::layers::Before::Answer(reply) = layer.before(&req.method, req.scheme, &req.uri, &req.headers) {
            return Opened::Refused(reply);
        }
    }
    let (path, route_start) = app.root_path.split(crate::app::decode_path(req.uri.path()));
    let route = match app.ws_router.lookup("GET", &path[route_start..]) {
        crate::router::RouteMatch::Found { route, params } => Some((route, params)),
        _ => None,
    };
    // No websocket route: refused before any handler runs, as Starlette (403 from uvicorn).
    let Some((route, path_values)) = route else {
        return Opened::Refused(Reply::new(403, "text/plain; charset=utf-8", "Forbidden"));
    };
    let shard_index = app.pick_shard(route);
    let shard = app.shards[shard_index].clone();
    let id = shard.next_job_id();
    let (decision_tx, decision) = oneshot::channel();
    let session = Session::new(shard.clone(), decision_tx);
    // The handler sees the `ws`/`wss` scheme of a WebSocket scope.
    let req = Incoming { scheme: if req.scheme == "https" { "wss" } else { "ws" }, ..req };
    let (mut job, done) = app.job(req, Some(route), (path, path_values), (shard_index, id), Some(session.clone()));
    // A connection lives long: it is not held to the shard's gate, which bounds requests.
    job.admission = Some(crate::shards::Admission::new(shard.clone(), None));
    shard.push(job);
    // The client going away during the handshake cancels the handler.
    let mut guard = crate::app::CancelOnDrop { shard: &shard, id, armed: true };
    let mut done = done;
    let decided = async {
        tokio::select! {
            biased;
            decided = decision => match decided {
                Ok(Decision::Accept { subprotocol, headers }) => Ok((subprotocol, headers)),
                Ok(Decision::Deny { code, reason }) => Err(Opened::Denied { code, reason }),
                Err(_) => Err(Opened::Refused(Reply::internal_error(None))),
            },
            reply = &mut done => {
                let reply = reply.unwrap_or_else(|_| Reply::internal_error(None));
                if reply.status < 500 {
                    eprintln!("turboapi: a WebSocket handler returned without accepting or closing the connection");
                }
                Err(Opened::Refused(if reply.status >= 500 { reply } else { Reply::internal_error(None) }))
            }
        }
    };
    let decided = match app.config.request_timeout {
        None => decided.await,
        // The same bound as any request's answer; past it the guard cancels the handler.
        Some(limit) => match tokio::time::timeout(limit, decided).await {
            Ok(decided) => decided,
            Err(_) => return Opened::Refused(Reply::detail(504, "Gateway Timeout")),
        },
    };
    guard.armed = false;
    let opened = match decided {
        Ok((subprotocol, headers)) => return Opened::Accepted { session, subprotocol, headers, done },
        Err(opened) => opened,
    };
    // Denied or failed: nothing will read the inbox; the handler may still be running.
    session.peer_gone(1006, String::new());
    opened
}

/// The 101 answer to an accepted handshake.
pub fn switching_protocols(
    key: &HeaderValue,
    subprotocol: Option<&str>,
    headers: Vec<(HeaderName, HeaderValue)>,
) -> Reply {
    let mut reply = Reply::new(101, "text/plain", Bytes::new());
    reply.headers.clear();
    let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
    reply.headers.push((http::header::UPGRADE, HeaderValue::from_static("websocket")));
    reply.headers.push((http::header::CONNECTION, HeaderValue::from_static("Upgrade")));
    if let Ok(value) = HeaderValue::from_str(&accept) {
        reply.headers.push((http::header::SEC_WEBSOCKET_ACCEPT, value));
    }
    if let Some(value) = subprotocol.and_then(|p| HeaderValue::from_str(p).ok()) {
        reply.headers.push((http::header::SEC_WEBSOCKET_PROTOCOL, value));
    }
    reply.headers.extend(headers);
    reply
}

/// Serve one accepted connection over `io` until both the peer and the handler are done.
/// `_open`: the connection's count in `App::websockets`, taken before the driver was spawned.
pub async fn drive<S>(
    app: Arc<App>,
    _open: OpenCount,
    session: Arc<Session>,
    io: S,
    role: Role,
    done: oneshot::Receiver<Reply>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let settings = &app.config.websocket;
    let ws = WebSocketStream::from_raw_socket(io, role, Some(settings.protocol())).await;
    let (sink, stream) = ws.split();
    session.seen();
    let mut reader = tokio::spawn(read_loop(session.clone(), stream));
    write_loop(&session, sink, settings, app.stopping.subscribe(), done).await;
    // Our close is out (or the socket broke): give the peer time to answer it, then drop.
    if tokio::time::timeout(CLOSE_TIMEOUT, &mut reader).await.is_err() {
        reader.abort();
    }
    session.peer_gone(1006, String::new());
}

/// Counts a running driver in `App::websockets` (the server waits for them when it stops).
pub struct OpenCount(Arc<App>);

impl OpenCount {
    pub fn enter(app: &Arc<App>) -> Self {
        app.websockets.fetch_add(1, Ordering::AcqRel);
        OpenCount(app.clone())
    }
}

impl Drop for OpenCount {
    fn drop(&mut self) {
        self.0.websockets.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The upgrade never completed (the client left): the handler sees a disconnect.
pub async fn abandon(session: Arc<Session>, done: oneshot::Receiver<Reply>) {
    session.peer_gone(1006, String::new());
    let reply = done.await;
    session.finish(reply.ok().and_then(|r| r.error.clone()));
}

async fn read_loop<S>(session: Arc<Session>, mut stream: futures_util::stream::SplitStream<WebSocketStream<S>>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    loop {
        loop {
            let room = session.inbox_room.notified();
            if session.state().inbox_bytes <= INBOX_HIGH {
                break;
            }
            // Not reading because the handler is behind: the peer's silence is ours, not its
            // (the keepalive must not close it), until reading resumes.
            session.paused.store(true, Ordering::Relaxed);
            room.await;
            session.paused.store(false, Ordering::Relaxed);
            session.seen();
        }
        let message = match stream.next().await {
            Some(Ok(message)) => message,
            Some(Err(err)) => {
                let code = match err {
                    WsError::Capacity(_) => 1009,
                    WsError::Utf8(_) => 1007,
                    // The TCP connection ended without a close frame: abnormal closure.
                    WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake) => 1006,
                    WsError::Protocol(_) => 1002,
                    _ => 1006,
                };
                if code != 1006 {
                    session.close_with(code);
                }
                session.peer_gone(code, String::new());
                return;
            }
            None => {
                session.peer_gone(1006, String::new());
                return;
            }
        };
        session.seen();
        match message {
            Message::Text(text) => session.push_inbound(Inbound::Text(text)),
            Message::Binary(data) => session.push_inbound(Inbound::Binary(data)),
            Message::Close(frame) => {
                // tungstenite queues the answering close; the next read sends it and ends.
                let (code, reason) =
                    frame.map(|f| (u16::from(f.code), f.reason.to_string())).unwrap_or((1005, String::new()));
                session.peer_gone(code, reason);
                {
                    session.state().closing = true;
                }
                session.outbox_ready.notify_one();
            }
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
        }
    }
}

async fn write_loop<S>(
    session: &Arc<Session>,
    mut sink: futures_util::stream::SplitSink<WebSocketStream<S>, Message>,
    settings: &Settings,
    mut stopping: tokio::sync::watch::Receiver<bool>,
    mut done: oneshot::Receiver<Reply>,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut handler_done = false;
    let period = settings.ping_interval.unwrap_or(Duration::from_secs(3600));
    // With pings on, a peer that takes longer than a ping round to accept our bytes is gone: the
    // writer gives up instead of holding the handler, the slot and shutdown.
    let write_limit = settings.ping_interval.map(|p| p + settings.ping_timeout);
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    loop {
        let batch: Vec<Message> = {
            let mut state = session.state();
            state.outbox_bytes = 0;
            state.outbox.drain(..).collect()
        };
        if batch.is_empty() {
            {
                let state = session.state();
                // The peer closed and the handler has ended: nothing left to do.
                if handler_done && (state.peer_gone || state.closing) {
                    return;
                }
            }
            let ready = session.outbox_ready.notified();
            tokio::select! {
                _ = ready => {}
                reply = &mut done, if !handler_done => {
                    handler_done = true;
                    let (error, status) = match reply {
                        Ok(reply) => (reply.error.clone(), reply.status),
                        Err(_) => (None, 500),
                    };
                    session.finish(error);
                    // A handler that ends without closing: 1000 after a return, 1011 after an error.
                    session.close_with(if status >= 500 { 1011 } else { 1000 });
                }
                // The server is stopping: 1012 (service restart), as uvicorn.
                _ = crate::app::stopped(&mut stopping) => session.close_with(1012),
                _ = ping.tick(), if settings.ping_interval.is_some() => {
                    if session.silent_for() > period + settings.ping_timeout {
                        session.close_with(1011);
                    } else if within(write_limit, async { sink.send(Message::Ping(Bytes::new())).await.ok() })
                        .await
                        .is_none()
                    {
                        break;
                    }
                }
            }
            continue;
        }
        let written = within(write_limit, write_batch(&mut sink, batch)).await;
        session.state().senders.drain(..).for_each(Waiter::resolve);
        let Some(closed) = written else { break };
        if closed && handler_done {
            return;
        }
        if closed {
            // Our close is out; wait only for the handler to end.
            let reply = (&mut done).await;
            session.finish(reply.ok().and_then(|r| r.error.clone()));
            return;
        }
    }
    // The socket broke: the handler learns it from receive/send; still record how it ends.
    session.peer_gone(1006, String::new());
    if !handler_done {
        let reply = done.await;
        session.finish(reply.ok().and_then(|r| r.error.clone()));
    }
}

/// Write `batch` and flush: whether it held a close frame, or None when the socket failed.
async fn write_batch<S>(
    sink: &mut futures_util::stream::SplitSink<WebSocketStream<S>, Message>,
    batch: Vec<Message>,
) -> Option<bool>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut closed = false;
    for message in batch {
        closed |= matches!(message, Message::Close(_));
        sink.feed(message).await.ok()?;
    }
    sink.flush().await.ok()?;
    Some(closed)
}

/// `work`, given at most `limit` (None: no limit); None when it failed or ran out of time.
async fn within<T>(limit: Option<Duration>, work: impl std::future::Future<Output = Option<T>>) -> Option<T> {
    match limit {
        None => work.await,
        Some(limit) => tokio::time::timeout(limit, work).await.ok().flatten(),
    }
}

/// The TestClient's end of an in-process connection: a real WebSocket client over a pipe.
#[pyclass(frozen, module = "turboapi._core")]
pub struct WebSocketTestConnection {
    runtime: tokio::runtime::Handle,
    // Split, so that a receive waiting for a message does not hold up a send.
    sender: tokio::sync::Mutex<futures_util::stream::SplitSink<WebSocketStream<tokio::io::DuplexStream>, Message>>,
    receiver: tokio::sync::Mutex<futures_util::stream::SplitStream<WebSocketStream<tokio::io::DuplexStream>>>,
    session: Arc<Session>,
}

impl WebSocketTestConnection {
    pub fn start(
        runtime: &tokio::runtime::Runtime,
        app: Arc<App>,
        session: Arc<Session>,
        done: oneshot::Receiver<Reply>,
    ) -> Self {
        let (client_io, server_io) = tokio::io::duplex(1 << 20);
        let open = OpenCount::enter(&app);
        runtime.spawn(drive(app, open, session.clone(), server_io, Role::Server, done));
        let client = runtime.block_on(WebSocketStream::from_raw_socket(client_io, Role::Client, None));
        let (sender, receiver) = client.split();
        WebSocketTestConnection {
            runtime: runtime.handle().clone(),
            sender: tokio::sync::Mutex::new(sender),
            receiver: tokio::sync::Mutex::new(receiver),
            session,
        }
    }
}

#[pymethods]
impl WebSocketTestConnection {
    /// Send a text (str) or binary (bytes) message.
    fn send(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<()> {
        let message = if let Ok(text) = data.downcast::<PyString>() {
            Message::text(text.to_str()?.to_string())
        } else if let Ok(bytes) = data.downcast::<PyBytes>() {
            Message::binary(Bytes::copy_from_slice(bytes.as_bytes()))
        } else {
            return Err(pyo3::exceptions::PyTypeError::new_err("send takes str or bytes"));
        };
        self.send_message(py, message)
    }

    #[pyo3(signature = (code=1000, reason=String::new()))]
    fn close(&self, py: Python<'_>, code: u16, reason: String) -> PyResult<()> {
        self.send_message(py, close_message(code, &reason))
    }

    /// The next message: (0, str), (1, bytes) or (2, (code, reason)) once the server closed.
    /// Raises TimeoutError after `timeout` seconds.
    fn receive<'py>(&self, py: Python<'py>, timeout: f64) -> PyResult<(u8, Bound<'py, PyAny>)> {
        let received = py.allow_threads(|| {
            self.runtime.block_on(async {
                let mut client = self.receiver.lock().await;
                tokio::time::timeout(
                    Duration::from_secs_f64(if timeout > 0.0 { timeout.min(1e9) } else { 0.0 }),
                    async {
                        loop {
                            match client.next().await {
                                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => continue,
                                other => return other,
                            }
                        }
                    },
                )
                .await
            })
        });
        let received = received.map_err(|_| {
            pyo3::exceptions::PyTimeoutError::new_err(format!("no WebSocket message within {timeout} s"))
        })?;
        Ok(match received {
            Some(Ok(Message::Text(text))) => (0, PyString::new(py, text.as_str()).into_any()),
            Some(Ok(Message::Binary(data))) => (1, PyBytes::new(py, &data).into_any()),
            Some(Ok(Message::Close(frame))) => {
                let (code, reason) =
                    frame.map(|f| (u16::from(f.code), f.reason.to_string())).unwrap_or((1005, String::new()));
                (2, (code, reason).into_pyobject(py)?.into_any())
            }
            Some(Ok(_)) => unreachable!("control frames are skipped"),
            Some(Err(WsError::ConnectionClosed | WsError::AlreadyClosed)) | None => {
                (2, (1006u16, "").into_pyobject(py)?.into_any())
            }
            Some(Err(err)) => return Err(PyRuntimeError::new_err(format!("WebSocket error: {err}"))),
        })
    }

    /// Wait (up to `timeout` seconds) for the handler to end: (ended, its exception or None).
    fn wait_finished(&self, py: Python<'_>, timeout: f64) -> (bool, PyObject) {
        let outcome = py.allow_threads(|| {
            let guard = self.session.outcome.lock().unwrap_or_else(|e| e.into_inner());
            let (guard, _) = self
                .session
                .finished
                .wait_timeout_while(
                    guard,
                    Duration::from_secs_f64(if timeout > 0.0 { timeout.min(1e9) } else { 0.0 }),
                    |o| o.is_none(),
                )
                .unwrap_or_else(|e| e.into_inner());
            guard.clone()
        });
        match outcome {
            None => (false, py.None()),
            Some(None) => (true, py.None()),
            Some(Some(err)) => (true, err.clone_ref(py).into_value(py).into_any()),
        }
    }
}

impl WebSocketTestConnection {
    fn send_message(&self, py: Python<'_>, message: Message) -> PyResult<()> {
        py.allow_threads(|| {
            self.runtime.block_on(async {
                let mut client = self.sender.lock().await;
                client.send(message).await
            })
        })
        .map_err(|err| PyRuntimeError::new_err(format!("WebSocket send failed: {err}")))
    }
}
