//! A WebSocket connection's session: what the Python handler and the tokio driver share (the
//! handshake decision, the inbox and the outbox with their backpressure), and the handler's
//! channel to it (`WebSocketChannel`, wrapped by `turboapi.websockets.WebSocket`).
//!
//! - reading: frames go to an inbox the handler's `receive` takes from; past `INBOX_HIGH` queued
//!   bytes the driver stops reading, so a client that sends faster than the handler reads is held
//!   back by TCP, not by memory;
//! - writing: the handler's messages go to an outbox the driver writes; past `OUTBOX_HIGH`
//!   queued bytes `send` waits (a client that reads slowly pauses the handler).
//!
//! Waiting Python futures are resolved through the shard's event queue (`Waiter`).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderName, HeaderValue};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};
use tokio::sync::{oneshot, Notify};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;

use crate::shards::{ShardLoop, Waiter};
use crate::stream::SendOutcome;

/// Queued incoming bytes past which the driver stops reading the socket.
const INBOX_HIGH: usize = 256 * 1024;
/// Queued outgoing bytes past which the handler's `send` waits.
const OUTBOX_HIGH: usize = 64 * 1024;
/// Bytes tungstenite reads from the socket at a time.
const READ_BUFFER: usize = 16 * 1024;

/// WebSocket settings (uvicorn's `--ws-max-size`, `--ws-ping-interval`, `--ws-ping-timeout`).
#[derive(Clone)]
pub struct Settings {
    pub max_size: usize,
    pub ping_interval: Option<Duration>,
    pub ping_timeout: Duration,
}

impl Settings {
    pub(crate) fn protocol(&self) -> WebSocketConfig {
        // tungstenite zero-fills its whole read window before every read (128 KiB by default):
        // with small messages that memset was a quarter of the server's CPU. 16 KiB reads.
        WebSocketConfig::default()
            .read_buffer_size(READ_BUFFER)
            .max_message_size(Some(self.max_size))
            .max_frame_size(Some(self.max_size))
    }
}

/// What the handler decided before the handshake's answer.
pub(crate) enum Decision {
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

/// The kind of a message `receive` hands to Python (`contract.Received`).
#[repr(u8)]
pub(crate) enum Received {
    Text = 0,
    Bytes = 1,
    Disconnect = 2,
}

pub(crate) enum Inbound {
    Text(tokio_tungstenite::tungstenite::Utf8Bytes),
    Binary(Bytes),
    Disconnect(u16, String),
}

impl Inbound {
    pub(crate) fn size(&self) -> usize {
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
pub(crate) type Outcome = Option<Option<Arc<PyErr>>>;

/// One WebSocket connection as both sides see it.
pub struct Session {
    state: Mutex<State>,
    shard: Arc<ShardLoop>,
    /// The outbox has something, or the handler ended: wakes the writer.
    pub(crate) outbox_ready: Notify,
    /// The inbox drained below its limit: wakes the reader.
    pub(crate) inbox_room: Notify,
    /// Milliseconds since `epoch` when the peer last sent a frame (for the keepalive).
    last_seen: AtomicU64,
    /// The reader waits for the inbox to drain (backpressure): the peer is not silent.
    pub(crate) paused: std::sync::atomic::AtomicBool,
    epoch: Instant,
    pub(crate) outcome: Mutex<Outcome>,
    pub(crate) finished: Condvar,
}

impl Session {
    pub(crate) fn new(shard: Arc<ShardLoop>, decision: oneshot::Sender<Decision>) -> Arc<Self> {
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

    pub(crate) fn seen(&self) {
        self.last_seen.store(self.epoch.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    pub(crate) fn silent_for(&self) -> Duration {
        if self.paused.load(Ordering::Relaxed) {
            return Duration::ZERO;
        }
        let now = self.epoch.elapsed().as_millis() as u64;
        Duration::from_millis(now.saturating_sub(self.last_seen.load(Ordering::Relaxed)))
    }

    pub(crate) fn push_inbound(&self, message: Inbound) {
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
    pub(crate) fn peer_gone(&self, code: u16, reason: String) {
        self.push_inbound(Inbound::Disconnect(code, reason));
        // A handler waiting to send must learn it now, not at the next message.
        self.state().senders.drain(..).for_each(Waiter::resolve);
    }

    /// The inbox is at or below `INBOX_HIGH`: the driver may read the socket.
    pub(crate) fn inbox_has_room(&self) -> bool {
        self.state().inbox_bytes <= INBOX_HIGH
    }

    /// The peer's close frame arrived (tungstenite answers it): nothing more goes out.
    pub(crate) fn peer_closed(&self) {
        self.state().closing = true;
        self.outbox_ready.notify_one();
    }

    /// Everything queued to send, for the writer (the outbox is empty after).
    pub(crate) fn take_outbox(&self) -> Vec<Message> {
        let mut state = self.state();
        state.outbox_bytes = 0;
        state.outbox.drain(..).collect()
    }

    /// The connection is closing from either side (no more messages either way).
    pub(crate) fn is_closed(&self) -> bool {
        let state = self.state();
        state.peer_gone || state.closing
    }

    /// The outbox was written: handlers waiting to send may go on.
    pub(crate) fn wake_senders(&self) {
        self.state().senders.drain(..).for_each(Waiter::resolve);
    }

    /// Queue a close from the core (protocol error, keepalive, handler ended) unless one is queued.
    pub(crate) fn close_with(&self, code: u16) {
        let mut state = self.state();
        if !state.closing {
            state.closing = true;
            state.outbox.push_back(close_message(code, ""));
        }
        drop(state);
        self.outbox_ready.notify_one();
    }

    pub(crate) fn finish(&self, error: Option<Arc<PyErr>>) {
        *self.outcome.lock().unwrap_or_else(|e| e.into_inner()) = Some(error);
        self.finished.notify_all();
    }
}

pub(crate) fn close_message(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame { code: CloseCode::from(code), reason: reason.into() }))
}

/// The Python handler's end of a session (`turboapi.websockets.WebSocket` wraps it).
#[pyclass(frozen, module = "turboapi._core")]
pub struct WebSocketChannel {
    session: Arc<Session>,
}

impl WebSocketChannel {
    pub fn new(session: Arc<Session>) -> Self {
        WebSocketChannel { session }
    }

    pub(crate) fn decide(&self, decision: Decision) -> PyResult<()> {
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

    pub(crate) fn queue(&self, message: Message) -> u8 {
        let mut state = self.session.state();
        if state.peer_gone || state.closing {
            return SendOutcome::Gone as u8;
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
            SendOutcome::Full as u8
        } else {
            SendOutcome::Sent as u8
        }
    }
}

#[pymethods]
impl WebSocketChannel {
    /// Answer the handshake with 101: the chosen subprotocol and extra response headers.
    #[pyo3(signature = (subprotocol=None, headers=Vec::new()))]
    pub(crate) fn accept(&self, subprotocol: Option<String>, headers: Vec<(Vec<u8>, Vec<u8>)>) -> PyResult<()> {
        let out = crate::reply::header_pairs(headers)?;
        if let Some(protocol) = &subprotocol {
            if HeaderValue::from_str(protocol).is_err() {
                return Err(PyValueError::new_err(format!("invalid subprotocol {protocol:?}")));
            }
        }
        self.decide(Decision::Accept { subprotocol, headers: out })
    }

    /// Refuse the handshake (`close()` before `accept()`).
    pub(crate) fn deny(&self, code: u16, reason: Py<PyAny>) -> PyResult<()> {
        self.decide(Decision::Deny { code, reason })
    }

    /// The next message, or None when none has come: (0, str), (1, bytes) or (2, (code, reason)).
    pub(crate) fn receive<'py>(&self, py: Python<'py>) -> Option<(u8, Bound<'py, PyAny>)> {
        let mut state = self.session.state();
        let message = match state.inbox.front() {
            // The disconnect stays: every later receive sees it too.
            Some(Inbound::Disconnect(code, reason)) => {
                return Some((Received::Disconnect as u8, (*code, reason.as_str()).into_pyobject(py).ok()?.into_any()))
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
            Inbound::Text(text) => (Received::Text as u8, PyString::new(py, text.as_str()).into_any()),
            Inbound::Binary(bytes) => (Received::Bytes as u8, PyBytes::new(py, &bytes).into_any()),
            Inbound::Disconnect(..) => unreachable!("handled above"),
        })
    }

    /// Resolve `future` when a message comes; False if one is already there.
    pub(crate) fn wait_receive(&self, future: Py<PyAny>) -> bool {
        let mut state = self.session.state();
        if !state.inbox.is_empty() {
            return false;
        }
        state.receivers.push(Waiter { future, shard: self.session.shard.clone() });
        true
    }

    /// Queue a text message: 0 sent, 1 sent but wait (`wait_writable`) before the next, 2 the
    /// connection is closed.
    pub(crate) fn send_text(&self, text: String) -> u8 {
        self.queue(Message::text(text))
    }

    pub(crate) fn send_bytes(&self, data: &Bound<'_, PyBytes>) -> u8 {
        self.queue(Message::binary(crate::pybytes::body_from_pybytes(data)))
    }

    /// Start the closing handshake.
    pub(crate) fn close(&self, code: u16, reason: &str) -> PyResult<u8> {
        if reason.len() > 123 {
            return Err(PyValueError::new_err("a WebSocket close reason is at most 123 bytes of UTF-8"));
        }
        Ok(self.queue(close_message(code, reason)))
    }

    /// Resolve `future` once the outbox drained below its limit or the peer is gone; False when
    /// that is already so.
    pub(crate) fn wait_writable(&self, future: Py<PyAny>) -> bool {
        let mut state = self.session.state();
        if state.peer_gone || state.outbox_bytes <= OUTBOX_HIGH {
            return false;
        }
        state.senders.push(Waiter { future, shard: self.session.shard.clone() });
        true
    }
}
