//! The tokio side of an accepted WebSocket: a driver task owns the upgraded socket, moves frames
//! between it and the session, answers pings (tungstenite), pings a silent peer with
//! `ws_ping_interval` and closes it (1011) past interval + timeout, closes with 1009 past
//! `ws_max_size`, and with 1012 when the server stops.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;

use crate::app::App;
use crate::reply::Reply;
use crate::ws_session::{Inbound, Session, Settings};

/// After our close frame, how long the peer has to answer with its own before the socket drops.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

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
            if session.inbox_has_room() {
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
                session.peer_closed();
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
        let batch = session.take_outbox();
        if batch.is_empty() {
            // The peer closed and the handler has ended: nothing left to do.
            if handler_done && session.is_closed() {
                return;
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
        session.wake_senders();
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
