//! Streaming response bodies (`StreamingResponse`): a bounded queue of chunks between a pump task
//! on a loop shard, which takes them from the response's iterator, and hyper, which takes them as
//! fast as the socket accepts them.
//!
//! Backpressure: past `HIGH_WATER` queued bytes the pump waits on a future that the reader resolves
//! (through the shard's queue: tokio threads never touch the GIL) once the queue has drained. A
//! client that goes away drops the reader, which cancels the pump's task, so the generator stops
//! at its next `await` (its `finally` runs), as Starlette's disconnect listener does.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use http_body::{Body, Frame};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::shards::{ShardLoop, Waiter};

/// Queued bytes past which the writer waits; one chunk is always taken when the queue is empty,
/// so memory per stream stays near max(chunk size, HIGH_WATER).
const HIGH_WATER: usize = 64 * 1024;

enum End {
    Done,
    /// The iterator raised (the exception, for the TestClient to raise).
    Failed(Option<Py<PyAny>>),
}

/// (the response's background, the request's after-work), either may be absent.
pub type AfterWork = (Option<Py<PyAny>>, Option<Py<PyAny>>);

/// The response's background and the request's after-work: they run when the stream ends.
#[derive(Default)]
enum After {
    #[default]
    Unset,
    Deferred(AfterWork),
    /// The pump ended first; whoever defers later runs them at once.
    PumpDone,
}

#[derive(Default)]
struct State {
    chunks: VecDeque<Bytes>,
    queued: usize,
    end: Option<End>,
    reader_gone: bool,
    writer_waiting: Option<Waiter>,
    waker: Option<Waker>,
    /// The pump's task is tracked on this shard under this id: cancelled if the reader goes away.
    pump: Option<(Arc<ShardLoop>, u64)>,
    after: After,
}

#[derive(Default)]
pub struct Channel {
    state: Mutex<State>,
    /// For the TestClient, which reads from a plain thread.
    readable: Condvar,
}

impl Channel {
    pub fn new() -> Arc<Self> {
        Arc::new(Channel::default())
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn wake_reader(&self, state: &mut State) {
        if let Some(waker) = state.waker.take() {
            waker.wake();
        }
        self.readable.notify_all();
    }

    /// Keep the response's background and the request's after-work until the stream ends; if it
    /// already has, hand them back to be run now.
    pub fn defer_after(&self, work: AfterWork) -> Option<AfterWork> {
        let mut state = self.state();
        match state.after {
            After::PumpDone => Some(work),
            _ => {
                state.after = After::Deferred(work);
                None
            }
        }
    }

    fn next(&self, state: &mut State) -> Option<Bytes> {
        let chunk = state.chunks.pop_front()?;
        state.queued -= chunk.len();
        if state.queued < HIGH_WATER || state.chunks.is_empty() {
            if let Some(waiter) = state.writer_waiting.take() {
                waiter.resolve();
            }
        }
        Some(chunk)
    }

    /// The TestClient's read: the whole body, waiting (without the GIL) for the pump to end it.
    pub fn read_to_end(&self) -> (Vec<u8>, Option<Py<PyAny>>) {
        let mut body = Vec::new();
        let mut state = self.state();
        loop {
            while let Some(chunk) = self.next(&mut state) {
                body.extend_from_slice(&chunk);
            }
            match &mut state.end {
                Some(End::Done) => return (body, None),
                // Moved out, not cloned: no GIL is needed (and none may be waited for under this lock).
                Some(End::Failed(error)) => return (body, error.take()),
                None => state = self.readable.wait(state).unwrap_or_else(|p| p.into_inner()),
            }
        }
    }

    fn reader_gone(&self) {
        let mut state = self.state();
        state.reader_gone = true;
        state.chunks.clear();
        state.queued = 0;
        if let Some(waiter) = state.writer_waiting.take() {
            waiter.resolve();
        }
        if state.end.is_none() {
            if let Some((shard, id)) = state.pump.take() {
                shard.cancel(id);
            }
        }
    }
}

/// The reading end, as hyper's response body. Dropping it (the reply is sent, or the client went
/// away first) tells the pump to stop.
pub struct StreamReader {
    channel: Arc<Channel>,
    /// GZipMiddleware in the core: each chunk compressed and flushed as it passes.
    gzip: Option<Box<flate2::write::GzEncoder<Vec<u8>>>>,
}

impl StreamReader {
    pub fn new(channel: Arc<Channel>) -> Self {
        StreamReader { channel, gzip: None }
    }

    /// Compress what passes from now on (Starlette flushes after every chunk, so a client can
    /// decompress each event as it arrives).
    pub fn compress(&mut self, level: u32) {
        self.gzip = Some(Box::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level))));
    }

    /// Wait until the stream has a first chunk (true) or has ended without one (false): the
    /// moment Starlette's GZipMiddleware decides, since it sees the first body message.
    pub async fn wait_first(&self) -> bool {
        std::future::poll_fn(|cx| {
            let mut state = self.channel.state();
            if !state.chunks.is_empty() {
                return Poll::Ready(true);
            }
            if state.end.is_some() || state.reader_gone {
                return Poll::Ready(false);
            }
            state.waker = Some(cx.waker().clone());
            Poll::Pending
        })
        .await
    }

    /// The TestClient's read: the whole body (compressed if the core's GZip is on), and the
    /// exception that ended it, if one did.
    pub fn read_to_end(mut self) -> (Vec<u8>, Option<Py<PyAny>>) {
        let (body, error) = self.channel.read_to_end();
        match self.gzip.take() {
            None => (body, error),
            Some(mut encoder) => {
                use std::io::Write;
                let compressed = encoder.write_all(&body).and_then(|()| encoder.finish());
                (compressed.unwrap_or_default(), error)
            }
        }
    }

    fn gzip_chunk(&mut self, chunk: &[u8]) -> std::io::Result<Bytes> {
        use std::io::Write;
        let encoder = self.gzip.as_mut().expect("gzip on");
        encoder.write_all(chunk)?;
        encoder.flush()?;
        Ok(Bytes::from(std::mem::take(encoder.get_mut())))
    }
}

impl Drop for StreamReader {
    fn drop(&mut self) {
        self.channel.reader_gone();
    }
}

impl Body for StreamReader {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        let channel = this.channel.clone();
        let mut state = channel.state();
        if let Some(chunk) = channel.next(&mut state) {
            drop(state);
            if this.gzip.is_some() {
                return Poll::Ready(Some(this.gzip_chunk(&chunk).map(Frame::data)));
            }
            return Poll::Ready(Some(Ok(Frame::data(chunk))));
        }
        match state.end {
            Some(End::Done) => match this.gzip.take() {
                // The gzip trailer, once.
                Some(encoder) => Poll::Ready(Some(encoder.finish().map(|rest| Frame::data(Bytes::from(rest))))),
                None => Poll::Ready(None),
            },
            // Ends the response abruptly (no final chunk): the client sees a truncated body.
            Some(End::Failed(_)) => Poll::Ready(Some(Err(std::io::Error::other("the response's iterator raised")))),
            None => {
                state.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// The writing end, for the pump (`turboapi.streaming`).
#[pyclass(frozen, module = "turboapi._core")]
pub struct BodyWriter {
    channel: Arc<Channel>,
    /// The shard whose loop runs the pump, and the pump's id there.
    shard: Arc<ShardLoop>,
    id: u64,
}

impl BodyWriter {
    pub fn new(channel: Arc<Channel>, shard: Arc<ShardLoop>) -> Self {
        let id = shard.next_id();
        BodyWriter { channel, shard, id }
    }

    fn end(&self, end: End) {
        let mut state = self.channel.state();
        if state.end.is_none() {
            state.end = Some(end);
        }
        state.pump = None;
        self.channel.wake_reader(&mut state);
        drop(state);
        // After the lock: dropping the task (a Python object) may run code that calls back here.
        self.shard.untrack(self.id);
    }
}

/// What a `send` into a bounded channel did (a stream's, a WebSocket's): the Python side reads
/// it as `contract.SendOutcome`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub enum SendOutcome {
    Sent = 0,
    /// The queue is over its high-water mark. A stream's chunk was NOT queued: wait until it is
    /// writable, then send it again. A WebSocket message WAS queued: wait before the next one.
    Full = 1,
    /// The reader is gone: stop.
    Gone = 2,
}

#[pymethods]
impl BodyWriter {
    /// Queue a chunk: 0 sent, 1 full (wait with `wait_writable`, then send it again), 2 the
    /// reader is gone (stop).
    fn send(&self, chunk: &Bound<'_, PyBytes>) -> u8 {
        let mut state = self.channel.state();
        if state.reader_gone {
            return SendOutcome::Gone as u8;
        }
        if state.queued >= HIGH_WATER && !state.chunks.is_empty() {
            return SendOutcome::Full as u8;
        }
        let chunk = crate::pybytes::body_from_pybytes(chunk);
        if chunk.is_empty() {
            return SendOutcome::Sent as u8;
        }
        state.queued += chunk.len();
        state.chunks.push_back(chunk);
        self.channel.wake_reader(&mut state);
        SendOutcome::Sent as u8
    }

    /// Resolve `future` (of the pump's loop) once a chunk fits or the reader is gone. False when
    /// that is already so: no need to wait.
    fn wait_writable(&self, future: Py<PyAny>) -> bool {
        let mut state = self.channel.state();
        if state.reader_gone || state.queued < HIGH_WATER || state.chunks.is_empty() {
            return false;
        }
        state.writer_waiting = Some(Waiter { future, shard: self.shard.clone() });
        true
    }

    /// The pump's task (registered from inside it), to cancel if the client goes away. False if
    /// the client is already gone.
    fn set_task(&self, task: Py<PyAny>) -> bool {
        let mut state = self.channel.state();
        if state.reader_gone {
            return false;
        }
        self.shard.track(self.id, task);
        state.pump = Some((self.shard.clone(), self.id));
        true
    }

    /// The background and after-work deferred to the stream's end (None if not handed over yet;
    /// then the core runs them when it does).
    fn take_after(&self) -> Option<AfterWork> {
        let mut state = self.channel.state();
        match std::mem::replace(&mut state.after, After::PumpDone) {
            After::Deferred(work) => Some(work),
            _ => None,
        }
    }

    /// The iterator is exhausted: end the body.
    fn finish(&self) {
        self.end(End::Done);
    }

    /// The iterator raised: end the body abruptly.
    #[pyo3(signature = (error=None))]
    fn fail(&self, error: Option<Py<PyAny>>) {
        self.end(End::Failed(error));
    }
}

impl Drop for BodyWriter {
    fn drop(&mut self) {
        // A pump that never ran (its shard stopped) must not leave the reader waiting.
        self.end(End::Failed(None));
    }
}

#[cfg(test)]
mod tests {
    use pyo3::types::PyBytes;

    use super::*;
    use crate::shards::{JobRunner, ShardQueue};
    use crate::testing::{eval, with_python};

    struct NoJobs;

    impl JobRunner<()> for NoJobs {
        fn start(&self, _: Python<'_>, _: &ShardQueue<()>, _: &Bound<'_, PyAny>, _: ()) {}
        fn abandoned(&self, _: &()) -> bool {
            false
        }
    }

    const PYTHON: &str = "
class Task:
    def __init__(self): self.cancelled = False
    def cancel(self): self.cancelled = True
class Future:
    def __init__(self): self.resolved = False
    def done(self): return self.resolved
    def set_result(self, value): self.resolved = True
";

    #[test]
    fn chunks_reach_the_reader_in_order_and_the_end_ends_the_body() {
        with_python(|py| {
            let shard: ShardQueue<()> = ShardQueue::new(None, 8);
            let channel = Channel::new();
            let reader = StreamReader::new(channel.clone());
            let writer = BodyWriter::new(channel, shard.inbox.clone());
            for chunk in [&b"one "[..], b"", b"two"] {
                assert_eq!(writer.send(&PyBytes::new(py, chunk)), SendOutcome::Sent as u8);
            }
            writer.finish();
            assert_eq!(py.allow_threads(|| reader.read_to_end()).0, b"one two");
        });
    }

    #[test]
    fn a_full_queue_makes_the_writer_wait_until_the_reader_drains_it() {
        with_python(|py| {
            let shard: ShardQueue<()> = ShardQueue::new(None, 8);
            shard.bind_loop(Some(py.None()));
            let channel = Channel::new();
            let mut reader = StreamReader::new(channel.clone());
            let writer = BodyWriter::new(channel, shard.inbox.clone());
            let big = PyBytes::new(py, &vec![b'x'; HIGH_WATER]);
            assert_eq!(writer.send(&big), SendOutcome::Sent as u8);
            assert_eq!(writer.send(&big), SendOutcome::Full as u8, "over the high-water mark");
            let future = eval(py, PYTHON, "Future()").unbind();
            assert!(writer.wait_writable(future.clone_ref(py)));
            // hyper takes the chunk: the queue drains and the waiting future is resolved on the loop.
            let waker = futures_util::task::noop_waker();
            let frame = Pin::new(&mut reader).poll_frame(&mut Context::from_waker(&waker));
            assert!(matches!(frame, Poll::Ready(Some(Ok(_)))));
            shard.drain(py, &NoJobs);
            assert!(future.bind(py).getattr("resolved").unwrap().is_truthy().unwrap());
            assert_eq!(writer.send(&big), SendOutcome::Sent as u8);
        });
    }

    #[test]
    fn a_reader_that_goes_away_stops_the_writer_and_cancels_the_pump() {
        with_python(|py| {
            let shard: ShardQueue<()> = ShardQueue::new(None, 8);
            shard.bind_loop(Some(py.None()));
            let channel = Channel::new();
            let reader = StreamReader::new(channel.clone());
            let writer = BodyWriter::new(channel, shard.inbox.clone());
            let task = eval(py, PYTHON, "Task()").unbind();
            assert!(writer.set_task(task.clone_ref(py)));
            drop(reader);
            assert_eq!(writer.send(&PyBytes::new(py, b"late")), SendOutcome::Gone as u8);
            shard.drain(py, &NoJobs);
            assert!(task.bind(py).getattr("cancelled").unwrap().is_truthy().unwrap());
        });
    }

    #[test]
    fn a_failed_iterator_ends_the_body_with_its_error() {
        with_python(|py| {
            let shard: ShardQueue<()> = ShardQueue::new(None, 8);
            let channel = Channel::new();
            let reader = StreamReader::new(channel.clone());
            let writer = BodyWriter::new(channel, shard.inbox.clone());
            writer.send(&PyBytes::new(py, b"partial"));
            writer.fail(Some(eval(py, "", "ValueError('boom')").unbind()));
            let (body, error) = py.allow_threads(|| reader.read_to_end());
            assert_eq!(body, b"partial");
            assert_eq!(error.expect("the error").bind(py).to_string(), "boom");
        });
    }

    #[test]
    fn work_deferred_to_the_end_of_a_stream_is_handed_back_once_the_pump_is_done() {
        with_python(|py| {
            let channel = Channel::new();
            let shard: ShardQueue<()> = ShardQueue::new(None, 8);
            let writer = BodyWriter::new(channel.clone(), shard.inbox.clone());
            assert!(channel.defer_after((Some(py.None()), None)).is_none(), "kept until the end");
            assert!(writer.take_after().is_some(), "the pump takes it at the end");
            assert!(channel.defer_after((Some(py.None()), None)).is_some(), "after the end: run now");
        });
    }
}
