//! Request bodies handed over as they arrive instead of collected first: a mounted ASGI app's
//! `receive()` gets the chunks while the client is still sending (an upload proxied through,
//! a long request stream). A tokio task moves hyper's frames into a bounded queue; past
//! `HIGH_WATER` queued bytes it stops reading, so TCP holds a fast client back. The task holds the
//! queue weakly: once the request is done (nobody reads any more), it stops and drops the body.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, OnceLock, Weak};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming as HyperBody;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use tokio::sync::Notify;

use crate::shards::{ShardLoop, Waiter};

/// Queued bytes past which the task stops reading the socket.
const HIGH_WATER: usize = 256 * 1024;

enum End {
    Complete,
    Failed(&'static str),
}

#[derive(Default)]
struct State {
    chunks: VecDeque<Bytes>,
    queued: usize,
    end: Option<End>,
    /// Every task waiting for a chunk (an ASGI app may receive from several).
    waiters: Vec<Waiter>,
}

pub struct BodyStream {
    state: Mutex<State>,
    /// The queue drained below `HIGH_WATER`: wakes the reading task (which holds it strongly).
    room: Arc<Notify>,
    /// The loop shard of the request's handler: where its waits are resolved. Set when routed.
    shard: OnceLock<Arc<ShardLoop>>,
}

impl BodyStream {
    /// Start moving `body` into a new stream; more than `limit` bytes fail it.
    /// `idle`: the longest wait for the next chunk.
    pub fn start(body: HyperBody, limit: usize, idle: std::time::Duration) -> Arc<Self> {
        let room = Arc::new(Notify::new());
        let stream = Arc::new(BodyStream { state: Mutex::default(), room: room.clone(), shard: OnceLock::new() });
        tokio::spawn(pump(Arc::downgrade(&stream), room, body, limit, idle));
        stream
    }

    pub fn bind_shard(&self, shard: Arc<ShardLoop>) {
        let _ = self.shard.set(shard);
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn push(&self, chunk: Option<Bytes>, end: Option<End>) {
        let mut state = self.state();
        if let Some(chunk) = chunk {
            state.queued += chunk.len();
            state.chunks.push_back(chunk);
        }
        if end.is_some() {
            state.end = end;
        }
        state.waiters.drain(..).for_each(Waiter::resolve);
    }
}

async fn pump(
    stream: Weak<BodyStream>,
    room: Arc<Notify>,
    mut body: HyperBody,
    limit: usize,
    idle: std::time::Duration,
) {
    let mut size = 0usize;
    loop {
        loop {
            let notified = room.notified();
            let Some(strong) = stream.upgrade() else { return };
            if strong.state().queued < HIGH_WATER {
                break;
            }
            drop(strong); // waiting must not keep the stream alive
            notified.await;
        }
        let frame = tokio::time::timeout(idle, body.frame()).await;
        let Some(strong) = stream.upgrade() else { return };
        let Ok(frame) = frame else {
            return strong.push(None, Some(End::Failed("the client stopped sending the request body")));
        };
        match frame {
            None => return strong.push(None, Some(End::Complete)),
            Some(Err(_)) => return strong.push(None, Some(End::Failed("the client broke off the request body"))),
            Some(Ok(frame)) => {
                let Ok(data) = frame.into_data() else { continue };
                size += data.len();
                if size > limit {
                    return strong.push(None, Some(End::Failed("the request body is over the size limit")));
                }
                if !data.is_empty() {
                    strong.push(Some(data), None);
                }
            }
        }
    }
}

impl Drop for BodyStream {
    fn drop(&mut self) {
        // A task waiting for room must wake to see that nobody reads any more.
        self.room.notify_one();
    }
}

/// Python's end (`turboapi.asgi`): the chunks as they come.
#[pyclass(frozen, module = "turboapi._core")]
pub struct BodyReader {
    stream: Arc<BodyStream>,
}

impl BodyReader {
    pub fn new(stream: Arc<BodyStream>) -> Self {
        BodyReader { stream }
    }
}

#[pymethods]
impl BodyReader {
    /// None when nothing has come yet; else (0, bytes) a chunk, (1, None) the end, or
    /// (2, why) the body failed (client gone, over the limit).
    fn read<'py>(&self, py: Python<'py>) -> PyResult<Option<(u8, PyObject)>> {
        let mut state = self.stream.state();
        if let Some(chunk) = state.chunks.pop_front() {
            let before = state.queued;
            state.queued -= chunk.len();
            if before >= HIGH_WATER && state.queued < HIGH_WATER {
                self.stream.room.notify_one();
            }
            drop(state);
            return Ok(Some((0, PyBytes::new(py, &chunk).into_any().unbind())));
        }
        Ok(match &state.end {
            None => None,
            Some(End::Complete) => Some((1, py.None())),
            Some(End::Failed(why)) => Some((2, why.into_pyobject(py)?.into_any().unbind())),
        })
    }

    /// Resolve `future` (of the request's loop) when something comes; False if it already has.
    fn wait_readable(&self, future: Py<PyAny>) -> PyResult<bool> {
        let Some(shard) = self.stream.shard.get() else {
            return Err(pyo3::exceptions::PyRuntimeError::new_err("a streamed body is read from its handler's loop"));
        };
        let mut state = self.stream.state();
        if !state.chunks.is_empty() || state.end.is_some() {
            return Ok(false);
        }
        state.waiters.push(Waiter { future, shard: shard.clone() });
        Ok(true)
    }
}
