//! One client connection's state, shared by the socket hyper reads and the task that runs the
//! connection: the request it is answering, when it last answered one (for the keep-alive idle
//! timeout), and its client's half-close.
//!
//! A client may shut its sending side once its request is out (`shutdown(SHUT_WR)`, as `nc -N`,
//! some scripts and proxies do) and still wait for the answer. On the socket that looks exactly
//! like a client that closed and left: an end of stream. hyper either takes every such end as the
//! client gone (the answer is lost) or, with its half-close option, never looks for it while a
//! request is answered (a client that left is then noticed only when a write fails, and an idle
//! handler or stream would run for nobody). So the end is held back here instead: while a request
//! is being answered, hyper does not see it, and the connection task closes the connection
//! (cancelling the handler) only when the answer has produced no output for `half_close_timeout`.
//! A client that is really gone refuses the first bytes written to it. If by then the request's
//! body is still being read, the end is given to hyper instead: the body was cut short, and that
//! is answered (400) rather than dropped. A streamed response (StreamingResponse, SSE) is
//! open-ended: once it starts, the end of stream reaches hyper and stops it, as uvicorn and
//! Starlette stop a stream whose client disconnects.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_util::task::AtomicWaker;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

pub struct Activity {
    since: Instant,
    /// When a request was last finished (its response sent), in ms since `since`.
    last_done_ms: AtomicU64,
    /// When bytes were last written to the client, in ms since `since`.
    last_write_ms: AtomicU64,
    /// Requests being answered: from the service call until the response body is dropped.
    busy: AtomicUsize,
    /// Of those, requests whose body has not been read whole yet.
    reading: AtomicUsize,
    /// The client has shut its sending side while a request was being answered.
    eof: AtomicBool,
    /// The held-back end of stream is given to hyper now (the body it cut short is answered).
    released: AtomicBool,
    /// hyper's read, parked on a held-back end of stream.
    reader: AtomicWaker,
    /// Tells the connection task that the client half-closed.
    pub half_closed: tokio::sync::Notify,
}

impl Activity {
    pub fn new() -> Self {
        Activity {
            since: Instant::now(),
            last_done_ms: AtomicU64::new(0),
            last_write_ms: AtomicU64::new(0),
            busy: AtomicUsize::new(0),
            reading: AtomicUsize::new(0),
            eof: AtomicBool::new(false),
            released: AtomicBool::new(false),
            reader: AtomicWaker::new(),
            half_closed: tokio::sync::Notify::new(),
        }
    }

    fn now_ms(&self) -> u64 {
        self.since.elapsed().as_millis() as u64
    }

    /// Time since the last request ended; zero while one is being answered.
    pub fn idle_for(&self) -> Duration {
        if self.busy.load(Ordering::Acquire) > 0 {
            return Duration::ZERO;
        }
        Duration::from_millis(self.now_ms().saturating_sub(self.last_done_ms.load(Ordering::Acquire)))
    }

    /// Time since the answer in progress last wrote to the client (or since `from`, if later);
    /// None when no request is being answered.
    pub fn silent_for(&self, from: Instant) -> Option<Duration> {
        if self.busy.load(Ordering::Acquire) == 0 {
            return None;
        }
        let from_ms = from.saturating_duration_since(self.since).as_millis() as u64;
        let last = self.last_write_ms.load(Ordering::Acquire).max(from_ms);
        Some(Duration::from_millis(self.now_ms().saturating_sub(last)))
    }

    /// Is an end of stream from the client to be held back from hyper now?
    fn holds_eof(&self) -> bool {
        self.busy.load(Ordering::Acquire) > 0 && !self.released.load(Ordering::Acquire)
    }

    /// Is a request's body still being read?
    pub fn reading_body(&self) -> bool {
        self.reading.load(Ordering::Acquire) > 0
    }

    /// Give the held-back end of stream to hyper.
    pub fn release_eof(&self) {
        self.released.store(true, Ordering::Release);
        self.reader.wake();
    }
}

/// A request being answered on a connection: held by the service call, then by the response
/// body until hyper has sent it (or dropped it: the client went away).
pub struct Busy {
    activity: Arc<Activity>,
    reading: AtomicBool,
}

impl Busy {
    /// `reading`: hyper still has the request's body to read.
    pub fn enter(activity: &Arc<Activity>, reading: bool) -> Self {
        activity.busy.fetch_add(1, Ordering::AcqRel);
        if reading {
            activity.reading.fetch_add(1, Ordering::AcqRel);
        }
        Busy { activity: activity.clone(), reading: AtomicBool::new(reading) }
    }

    /// The request's body has been read whole (or given up on).
    pub fn body_read(&self) {
        if self.reading.swap(false, Ordering::AcqRel) {
            self.activity.reading.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.body_read();
        let activity = &self.activity;
        activity.last_done_ms.store(activity.now_ms(), Ordering::Release);
        if activity.busy.fetch_sub(1, Ordering::AcqRel) == 1 && activity.eof.load(Ordering::Acquire) {
            // The answer is out: hyper may now see the end of stream and close the connection.
            activity.reader.wake();
        }
    }
}

/// The client's socket as hyper uses it, holding back a half-close (see the module's comment).
pub struct ClientIo<T> {
    io: T,
    activity: Arc<Activity>,
    /// Off (`half_close_timeout` 0): every end of stream is passed on at once.
    half_close: bool,
}

impl<T> ClientIo<T> {
    pub fn new(io: T, activity: Arc<Activity>, half_close: bool) -> Self {
        ClientIo { io, activity, half_close }
    }

    pub fn get_ref(&self) -> &T {
        &self.io
    }

    /// The held-back end of stream: Pending while the answer is in progress, then delivered.
    fn poll_held_eof(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if !self.activity.holds_eof() {
            return Poll::Ready(Ok(()));
        }
        self.activity.reader.register(cx.waker());
        // Checked again after registering: the answer may have finished in between.
        if self.activity.holds_eof() {
            Poll::Pending
        } else {
            Poll::Ready(Ok(()))
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for ClientIo<T> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.activity.eof.load(Ordering::Acquire) {
            return this.poll_held_eof(cx);
        }
        let before = buf.filled().len();
        let asked = buf.remaining() > 0;
        std::task::ready!(Pin::new(&mut this.io).poll_read(cx, buf))?;
        if asked && buf.filled().len() == before && this.half_close && this.activity.holds_eof() {
            this.activity.eof.store(true, Ordering::Release);
            this.activity.half_closed.notify_one();
            return this.poll_held_eof(cx);
        }
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncWrite + Unpin> ClientIo<T> {
    fn wrote(&self, result: &Poll<io::Result<usize>>) {
        if matches!(result, Poll::Ready(Ok(n)) if *n > 0) {
            self.activity.last_write_ms.store(self.activity.now_ms(), Ordering::Release);
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for ClientIo<T> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.io).poll_write(cx, data);
        this.wrote(&result);
        result
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        this.wrote(&result);
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

/// A response body that keeps its request counted as being answered until hyper drops it (None:
/// the answer counts as given once its head is out).
pub struct TrackedBody<B> {
    body: B,
    _busy: Option<Busy>,
}

impl<B> TrackedBody<B> {
    pub fn new(body: B, busy: Option<Busy>) -> Self {
        TrackedBody { body, _busy: busy }
    }
}

impl<B: http_body::Body + Unpin> http_body::Body for TrackedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn an_end_of_stream_is_held_while_a_request_is_answered() {
        let (client, server) = tokio::io::duplex(64);
        let activity = Arc::new(Activity::new());
        let mut io = ClientIo::new(server, activity.clone(), true);
        let busy = Busy::enter(&activity, false);
        drop(client);
        let mut buf = [0u8; 8];
        let held = tokio::time::timeout(Duration::from_millis(50), io.read(&mut buf)).await;
        assert!(held.is_err(), "the end of stream must wait for the answer");
        assert!(activity.eof.load(Ordering::Acquire));
        drop(busy);
        let read = tokio::time::timeout(Duration::from_secs(1), io.read(&mut buf)).await;
        assert_eq!(read.expect("delivered once answered").unwrap(), 0);
    }

    #[tokio::test]
    async fn an_end_of_stream_passes_when_idle_or_off_and_once_released() {
        for (busy, half_close) in [(false, true), (true, false)] {
            let (client, server) = tokio::io::duplex(64);
            let activity = Arc::new(Activity::new());
            let mut io = ClientIo::new(server, activity.clone(), half_close);
            let _busy = busy.then(|| Busy::enter(&activity, false));
            drop(client);
            let mut buf = [0u8; 8];
            let read = tokio::time::timeout(Duration::from_millis(200), io.read(&mut buf)).await;
            assert_eq!(read.expect("not held").unwrap(), 0, "busy={busy} half_close={half_close}");
        }
        let (client, server) = tokio::io::duplex(64);
        let activity = Arc::new(Activity::new());
        let mut io = ClientIo::new(server, activity.clone(), true);
        let _busy = Busy::enter(&activity, true);
        drop(client);
        let reading = tokio::spawn(async move { io.read(&mut [0u8; 8]).await.unwrap() });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(activity.reading_body() && !reading.is_finished());
        activity.release_eof();
        assert_eq!(tokio::time::timeout(Duration::from_secs(1), reading).await.unwrap().unwrap(), 0);
    }

    #[tokio::test]
    async fn writes_count_as_output_and_body_read_ends_reading() {
        let (mut client, server) = tokio::io::duplex(64);
        let activity = Arc::new(Activity::new());
        let mut io = ClientIo::new(server, activity.clone(), true);
        let busy = Busy::enter(&activity, true);
        assert!(activity.reading_body());
        busy.body_read();
        assert!(!activity.reading_body());
        let start = Instant::now();
        tokio::time::sleep(Duration::from_millis(30)).await;
        io.write_all(b"x").await.unwrap();
        assert!(activity.silent_for(start).unwrap() < Duration::from_millis(20));
        let mut byte = [0u8; 1];
        client.read_exact(&mut byte).await.unwrap();
        drop(busy);
        assert_eq!(activity.silent_for(start), None);
    }
}
