//! The socket side: listener, TLS, hyper HTTP/1.1 and HTTP/2 connections (keep-alive, pipelining, limits) and
//! graceful shutdown on SIGINT/SIGTERM.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use hyper::body::Incoming as HyperBody;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpListener;

use crate::app::{App, Incoming};
use crate::connection::{Activity, Busy, ClientIo, TrackedBody};
use crate::contract::ServerConfig;
use crate::reply::{Later, Refusal, Reply, ResponseBody};
use crate::tls::{MaybeTls, Tls};
use pyo3::prelude::*;

/// Bind a listening socket (SO_REUSEADDR; port 0 picks a free one).
/// With `reuse_port`, several worker processes listen on the same port and the kernel spreads
/// connections between them (SO_REUSEPORT).
pub fn bind(host: &str, port: u16, backlog: i32, reuse_port: bool) -> std::io::Result<std::net::TcpListener> {
    use std::net::ToSocketAddrs;
    let addr = (host, port)
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("cannot resolve {host:?}")))?;
    let socket = socket2::Socket::new(socket2::Domain::for_address(addr), socket2::Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    if reuse_port {
        socket.set_reuse_port(true)?;
    }
    socket.bind(&addr.into())?;
    socket.listen(backlog)?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

/// The number of headers hyper accepts unless told otherwise (`max_headers`'s default here too).
const HYPER_MAX_HEADERS: usize = 100;

/// TLS for `serve`: the acceptor, and what gives the certificate and key again on SIGHUP.
pub struct TlsServing {
    pub tls: Arc<Tls>,
    pub load: Py<PyAny>,
}

/// Serve until SIGINT/SIGTERM, then drain in-flight requests.
pub async fn serve(app: Arc<App>, listener: std::net::TcpListener, config: ServerConfig, tls: Option<TlsServing>) {
    let listener = match TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("turboapi: cannot use the listening socket: {e}");
            return;
        }
    };
    let server_addr = listener.local_addr().ok();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout)
        .keep_alive(true)
        .max_buf_size(config.max_header_bytes.max(8192));
    // hyper's default is 100 too, and only an explicit bound makes it fill a header array of that
    // size for every request it parses (1k instructions a request).
    if config.max_headers != HYPER_MAX_HEADERS {
        builder.max_headers(config.max_headers);
    }
    let h2 = config.http2.then(|| Arc::new(http2_builder(&config)));
    // Set once on SIGINT/SIGTERM: connections finish their request and close, WebSockets close
    // with 1012 (service restart, as uvicorn).
    let stopping = app.stopping.subscribe();
    let mut connections = tokio::task::JoinSet::new();
    let mut shutdown = Box::pin(shutdown_requested());
    let slots = config.max_connections.map(|n| Arc::new(tokio::sync::Semaphore::new(n.max(1))));
    let keep_alive = config.keep_alive_timeout;
    let half_close = config.half_close_timeout;
    let handshake_timeout = config.header_read_timeout;
    let tls = tls.map(|TlsServing { tls, load }| {
        tokio::spawn(reload_on_hangup(tls.clone(), load));
        tls
    });
    loop {
        // At the connection limit, stop accepting: new connections wait in the kernel's backlog
        // (and are refused by it once that is full), never a crash or a file-descriptor storm.
        let slot = match &slots {
            None => None,
            Some(slots) => tokio::select! {
                permit = slots.clone().acquire_owned() => permit.ok(),
                _ = &mut shutdown => break,
            },
        };
        let (stream, client) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning, keep serving.
                    eprintln!("turboapi: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let activity = Arc::new(Activity::new());
        let stream = ClientIo::new(stream, activity.clone(), !half_close.is_zero());
        let service_activity = activity.clone();
        // The connection's slot: freed when the connection ends, or carried on by a WebSocket
        // it upgrades to (which still counts against max_connections).
        let slot: Slot = Arc::new(std::sync::Mutex::new(slot));
        let service_slot = slot.clone();
        let secure = tls.is_some();
        let service = service_fn(move |req| {
            let app = app.clone();
            let busy = Busy::enter(&service_activity, has_body(req.headers()));
            let slot = service_slot.clone();
            async move {
                // Boxed: hyper moves the service's future once per request, and a box is 16 bytes
                // where the request's future is 4.5 KB (callgrind: 37.0k -> 36.0k instructions).
                let handling = Box::pin(handle(app, req, secure, Some(client), server_addr, slot, &busy));
                let reply = catch_panics(handling).await;
                // Counted as being answered until hyper has sent the body (or dropped it); a
                // stream only until it starts (see `connection`).
                let streamed = matches!(reply.body(), ResponseBody::Stream(_));
                Ok::<_, Infallible>(reply.map(|body| TrackedBody::new(body, (!streamed).then_some(busy))))
            }
        });
        let mut stopping = stopping.clone();
        let builder = builder.clone();
        let h2 = h2.clone();
        let tls = tls.clone();
        connections.spawn(async move {
            let _slot = slot;
            let (io, speaks_h2) = match tls {
                None if h2.is_some() => match sends_h2_preface(stream.get_ref(), handshake_timeout).await {
                    Some(h2c) => (MaybeTls::Plain(stream), h2c),
                    None => return, // nothing sent in time, or gone: as hyper's header_read_timeout
                },
                None => (MaybeTls::Plain(stream), false),
                // A handshake that fails or takes longer than a request head may is dropped:
                // there is no HTTP to answer it with yet.
                Some(tls) => match tokio::time::timeout(handshake_timeout, tls.acceptor.accept(stream)).await {
                    Ok(Ok(stream)) => {
                        let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
                        (MaybeTls::Tls(Box::new(stream)), h2)
                    }
                    _ => return,
                },
            };
            let timing = (keep_alive, half_close);
            match h2.filter(|_| speaks_h2) {
                Some(h2) => {
                    let conn = h2.serve_connection(TokioIo::new(io), service);
                    drive(std::pin::pin!(conn), |c| c.graceful_shutdown(), &activity, &mut stopping, timing).await
                }
                None => {
                    // `with_upgrades`: a WebSocket handshake hands the socket over once its 101 is out.
                    let conn = builder.serve_connection(TokioIo::new(io), service).with_upgrades();
                    drive(std::pin::pin!(conn), |c| c.graceful_shutdown(), &activity, &mut stopping, timing).await
                }
            }
        });
        // Reap finished connections so the set does not grow with the connection count.
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    let _ = app.stopping.send(true);
    let drained = async {
        while connections.join_next().await.is_some() {}
        while app.websockets_open() > 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    if tokio::time::timeout(config.graceful_timeout, drained).await.is_err() {
        eprintln!("turboapi: graceful shutdown timed out; closing remaining connections");
        connections.abort_all();
    }
}

/// HTTP/2's connections: its limits, and hyper's protections against rapid resets (kept at their
/// defaults, set here so that they are seen).
fn http2_builder(config: &ServerConfig) -> hyper::server::conn::http2::Builder<TokioExecutor> {
    let mut h2 = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
    h2.timer(TokioTimer::new())
        .max_concurrent_streams(config.http2_max_concurrent_streams)
        // The same bound as HTTP/1.1's head: past it, the stream is refused (431).
        .max_header_list_size(config.max_header_bytes.min(u32::MAX as usize) as u32)
        // CVE-2023-44487 (rapid reset): streams the client opens and resets before they are
        // answered, and streams reset for the client's errors, are bounded per connection; past
        // either, the connection ends with GOAWAY.
        .max_pending_accept_reset_streams(20)
        .max_local_error_reset_streams(1024);
    if config.http2_adaptive_window {
        h2.adaptive_window(true);
    } else {
        h2.initial_stream_window_size(config.http2_stream_window)
            .initial_connection_window_size(config.http2_connection_window);
    }
    h2
}

/// Whether a cleartext connection opens with HTTP/2's preface (h2c with prior knowledge). Its
/// first bytes are peeked, not read, so that HTTP/1.1 is served exactly as without HTTP/2. No
/// HTTP/1.1 request starts with `PRI `: the method is reserved for the preface. None: nothing
/// came `within` (or the connection failed).
async fn sends_h2_preface(stream: &tokio::net::TcpStream, within: Duration) -> Option<bool> {
    const PREFIX: &[u8] = b"PRI ";
    let mut first = [0u8; 4];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let peeked = match tokio::time::timeout_at(deadline, stream.peek(&mut first)).await {
            Ok(Ok(n)) => n,
            _ => return None,
        };
        if peeked == 0 || !PREFIX.starts_with(&first[..peeked]) {
            return Some(false); // HTTP/1.1 (or an end of stream, which hyper handles)
        }
        if peeked == PREFIX.len() {
            return Some(true);
        }
        // Fewer bytes than the prefix so far, all of them matching: wait for the rest.
        tokio::time::sleep(Duration::from_millis(1)).await;
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
    }
}

/// Run one connection to its end: close it when it has been idle for `keep_alive`, when a
/// half-closed client has had no output for `half_close`, or gracefully on shutdown.
async fn drive<C: std::future::Future>(
    mut conn: std::pin::Pin<&mut C>,
    graceful_shutdown: impl Fn(std::pin::Pin<&mut C>),
    activity: &Activity,
    stopping: &mut tokio::sync::watch::Receiver<bool>,
    (keep_alive, half_close): (Duration, Duration),
) {
    // One timer per connection, re-armed to when the connection would have been idle
    // for `keep_alive` (a request in flight counts as activity).
    let idle = tokio::time::sleep(keep_alive);
    tokio::pin!(idle);
    // Armed when the client half-closes during an answer: the answer may go on while it
    // keeps writing, and is given up after `half_close` without output.
    let silence = tokio::time::sleep(Duration::from_secs(86_400));
    tokio::pin!(silence);
    let mut half_closed_at = None;
    // Errors here are the client's (reset, timeout, malformed): hyper has answered them.
    loop {
        tokio::select! {
            _ = conn.as_mut() => break,
            _ = crate::app::stopped(stopping) => {
                graceful_shutdown(conn.as_mut());
                let _ = conn.as_mut().await;
                break;
            }
            _ = activity.half_closed.notified(), if half_closed_at.is_none() => {
                half_closed_at = Some(std::time::Instant::now());
                silence.as_mut().reset(tokio::time::Instant::now() + half_close);
            }
            _ = &mut silence, if half_closed_at.is_some() => {
                match half_closed_at.and_then(|at| activity.silent_for(at)) {
                    // The request's body was cut short: hyper answers that.
                    Some(silent) if silent >= half_close && activity.reading_body() => {
                        activity.release_eof();
                        silence.as_mut().reset(tokio::time::Instant::now() + half_close);
                    }
                    // Nothing written for too long to a client that may be gone: close
                    // (dropping the connection cancels the handler).
                    Some(silent) if silent >= half_close => break,
                    Some(silent) => {
                        silence.as_mut().reset(tokio::time::Instant::now() + (half_close - silent));
                    }
                    // Answered: hyper sees the end of stream and closes the connection.
                    None => silence.as_mut().reset(tokio::time::Instant::now() + Duration::from_secs(86_400)),
                }
            }
            _ = &mut idle => {
                let idle_for = activity.idle_for();
                if idle_for >= keep_alive {
                    // Idle too long between requests: close (a response still going out
                    // finishes first, as in a graceful shutdown); the timer is done.
                    graceful_shutdown(conn.as_mut());
                    idle.as_mut().reset(tokio::time::Instant::now() + Duration::from_secs(86_400));
                } else {
                    idle.as_mut().reset(tokio::time::Instant::now() + (keep_alive - idle_for));
                }
            }
        }
    }
}

/// A panic while answering a request is that request's 500 (logged), never the process's end.
///
/// A combinator, not an `async fn`: an `async fn` keeps its argument and the future it awaits
/// side by side, which would double the size of every request's future (hyper moves it in).
fn catch_panics<F>(future: F) -> impl std::future::Future<Output = http::Response<ResponseBody>>
where
    F: std::future::Future<Output = http::Response<ResponseBody>>,
{
    use futures_util::FutureExt;
    std::panic::AssertUnwindSafe(future).catch_unwind().map(|outcome| match outcome {
        Ok(response) => response,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic".to_string());
            eprintln!("turboapi: internal error while answering a request: {what}");
            Reply::internal_error(None).into_http()
        }
    })
}

/// On each SIGHUP, the certificate and key are read again and new handshakes get them; open
/// connections keep theirs. A bad pair is reported and the previous one stays.
async fn reload_on_hangup(tls: Arc<Tls>, load: Py<PyAny>) {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut hangups) = signal(SignalKind::hangup()) else { return };
    let load = Arc::new(load);
    while hangups.recv().await.is_some() {
        let (tls, load) = (tls.clone(), load.clone());
        let outcome = tokio::task::spawn_blocking(move || {
            Python::with_gil(|py| {
                let (cert_pem, key_pem): (Vec<u8>, Vec<u8>) =
                    load.bind(py).call0().and_then(|pair| pair.extract()).map_err(|e| e.to_string())?;
                tls.replace(&cert_pem, &key_pem)
            })
        })
        .await;
        match outcome {
            Ok(Ok(())) => eprintln!("INFO:     TLS certificate reloaded (SIGHUP)"),
            Ok(Err(problem)) => {
                eprintln!("WARNING:  TLS certificate not reloaded, the previous one stays: {problem}")
            }
            Err(_) => {}
        }
    }
}

async fn shutdown_requested() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).ok();
    let mut int = signal(SignalKind::interrupt()).ok();
    tokio::select! {
        _ = async { match term.as_mut() { Some(s) => { s.recv().await; } None => std::future::pending().await } } => {},
        _ = async { match int.as_mut() { Some(s) => { s.recv().await; } None => std::future::pending().await } } => {},
    }
}

/// Bytes of the request head as sent: request line and `name: value\r\n` lines.
fn head_size(parts: &http::request::Parts) -> usize {
    let uri = &parts.uri;
    let target = uri.scheme_str().map_or(0, |s| s.len() + 3)
        + uri.authority().map_or(0, |a| a.as_str().len())
        + uri.path_and_query().map_or(1, |p| p.as_str().len());
    let line = parts.method.as_str().len() + target + 12;
    line + parts.headers.iter().map(|(n, v)| n.as_str().len() + v.len() + 4).sum::<usize>()
}

/// A connection's place under `max_connections` (None when there is no limit).
type Slot = Arc<std::sync::Mutex<Option<tokio::sync::OwnedSemaphorePermit>>>;

/// One request from a socket: check its head, settle its body (or take the WebSocket handshake),
/// run the shared pipeline, and log it.
async fn handle(
    app: Arc<App>,
    mut req: http::Request<HyperBody>,
    secure: bool,
    client: Option<SocketAddr>,
    server: Option<SocketAddr>,
    slot: Slot,
    busy: &Busy,
) -> http::Response<ResponseBody> {
    if let Some(problem) = malformed_head(req.uri(), req.version(), req.headers()) {
        return Reply::from(Refusal::BadRequest(problem)).into_http();
    }
    // The upgrade future is taken before the request is split (hyper keeps it in the request).
    let on_upgrade = crate::ws_handshake::is_upgrade(req.method(), req.version(), req.headers())
        .then(|| hyper::upgrade::on(&mut req));
    let (parts, body) = req.into_parts();
    let target = if app.access_log.is_some() {
        parts.uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or_else(|| "/".to_string())
    } else {
        String::new()
    };
    let version = parts.version;
    let too_large_head = head_size(&parts) > app.config.max_header_bytes;
    let mut headers = parts.headers;
    if version == http::Version::HTTP_2 && !headers.contains_key(http::header::HOST) {
        // HTTP/2 names the host in `:authority`; Starlette, the URL and the middleware read Host.
        if let Some(host) = parts.uri.authority().and_then(|a| http::HeaderValue::from_str(a.as_str()).ok()) {
            headers.insert(http::header::HOST, host);
        }
    }
    let (scheme, peer) = apply_forwarded(&app, secure, client, &mut headers);
    let incoming = Incoming {
        method: parts.method,
        scheme,
        version,
        uri: parts.uri,
        headers,
        body: Bytes::new(),
        body_file: None,
        body_stream: None,
        client: peer.clone(),
        server,
    };
    let method = incoming.method.clone();
    let reply = if too_large_head {
        // hyper's own check is per read, so it can overshoot; this one is exact.
        Reply::from(Refusal::HeadersTooLarge)
    } else if let Some(on_upgrade) = on_upgrade {
        // Boxed: the handshake's future is large and rare; inline, it would enlarge every
        // request's future (allocated and written once per request).
        Box::pin(upgrade(&app, incoming, on_upgrade, slot)).await
    } else {
        match with_body(&app, incoming, body, busy).await {
            Ok(incoming) => {
                let spooled = incoming.body_file.clone();
                let reply = app.respond(incoming).await;
                if let Some(path) = spooled.filter(|_| !matches!(reply.later, Later::Stream(_) | Later::Source(_))) {
                    // The upload's temporary file goes before the answer does (else it would go
                    // whenever Python lets go of the request, maybe after the client has its
                    // answer). A streamed answer may still read the body: then it goes with the
                    // request.
                    let _ = std::fs::remove_file(&*path);
                }
                reply
            }
            Err(reply) => reply,
        }
    };
    if let Some(log) = &app.access_log {
        log.record(crate::access_log::AccessRecord {
            client: peer,
            method: method.to_string(),
            target,
            version: crate::access_log::version_of(version),
            status: reply.status,
        });
    }
    reply.into_http()
}

/// The request with its body settled within the limits: in memory, spooled to a file (an
/// upload), or streamed (a route that reads it as it comes); else the error reply.
async fn with_body(app: &App, mut req: Incoming, body: HyperBody, busy: &Busy) -> Result<Incoming, Reply> {
    let declared = declared_length(&req.headers);
    let has_body = has_body(&req.headers);
    // A route that reads the body as it comes (a mounted ASGI app) gets it without collecting.
    let streamed = has_body && app.streams_body(&req.method, req.uri.path());
    // Uploads may be larger than other bodies: they are spooled to disk, not held in memory.
    let multipart = crate::spool::is_multipart(&req.headers);
    let limit = if multipart || streamed { app.config.max_upload_size } else { app.config.max_body_size };
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(Refusal::PayloadTooLarge.into());
    }
    if streamed {
        req.body_stream = Some(crate::bodystream::BodyStream::start(body, limit, app.config.body_read_timeout));
        return Ok(req);
    }
    let read = tokio::time::timeout(app.config.body_read_timeout, crate::spool::read(body, limit, multipart)).await;
    busy.body_read();
    // A client sending its body too slowly (a slow POST) does not hold the request open.
    let read = read.map_err(|_| Reply::from(Refusal::BodyTimeout))?;
    match read {
        Ok(crate::spool::Body::Memory(bytes)) => req.body = bytes,
        Ok(crate::spool::Body::File(path)) => req.body_file = Some(path),
        Err(crate::spool::BodyError::TooLarge) => return Err(Refusal::PayloadTooLarge.into()),
        Err(crate::spool::BodyError::Broken) => return Err(Refusal::BadRequest("Invalid request body").into()),
        Err(crate::spool::BodyError::Io(e)) => {
            eprintln!("turboapi: could not spool an upload to disk: {e}");
            return Err(Refusal::InsufficientStorage.into());
        }
    }
    Ok(req)
}

fn declared_length(headers: &http::HeaderMap) -> Option<u64> {
    headers.get(http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok())
}

/// Does the request come with a body (that hyper reads after the head)?
fn has_body(headers: &http::HeaderMap) -> bool {
    declared_length(headers).is_some_and(|len| len > 0) || headers.contains_key(http::header::TRANSFER_ENCODING)
}

/// What is wrong with a request head that hyper lets through but HTTP/1.1 forbids, and that would
/// confuse routing or the app (answered 400, the connection closed):
/// - a target that is not a path (authority-form `GET host:80`, asterisk-form `*`);
/// - no Host header in HTTP/1.1, several, or one that is not a host[:port] (RFC 9112 §3.2): a
///   proxy and the app, or TrustedHostMiddleware, must not each pick a different host;
/// - a transfer coding other than `chunked`, which the server cannot undo (RFC 9112 §6.1 says
///   501; a client error it is).
fn malformed_head(uri: &http::Uri, version: http::Version, headers: &http::HeaderMap) -> Option<&'static str> {
    if !uri.path().starts_with('/') {
        return Some("Invalid request target");
    }
    let mut hosts = headers.get_all(http::header::HOST).iter();
    match (hosts.next(), hosts.next()) {
        (None, _) if version == http::Version::HTTP_11 => return Some("Missing Host header"),
        (Some(_), Some(_)) => return Some("Multiple Host headers"),
        (Some(host), None) if !host.is_empty() && !host.to_str().is_ok_and(crate::proxy::is_host) => {
            return Some("Invalid Host header")
        }
        _ => {}
    }
    for value in headers.get_all(http::header::TRANSFER_ENCODING) {
        let codings = value.to_str().unwrap_or("?");
        if codings.split(',').any(|c| !c.trim().eq_ignore_ascii_case("chunked")) {
            return Some("Unsupported Transfer-Encoding");
        }
    }
    None
}

/// With `--proxy-headers`, what a trusted proxy's X-Forwarded-* headers say: the scheme and the
/// client (and the Host header, rewritten in place).
fn apply_forwarded(
    app: &App,
    secure: bool,
    client: Option<SocketAddr>,
    headers: &mut http::HeaderMap,
) -> (&'static str, Option<crate::peer::Peer>) {
    let mut scheme = if secure { "https" } else { "http" };
    let mut peer = client.map(crate::peer::Peer::Addr);
    if let Some(trusted) = &app.trusted_proxies {
        if let Some(fwd) = crate::proxy::forwarded(trusted, client, headers) {
            if fwd.client.is_some() {
                peer = fwd.client;
            }
            scheme = fwd.scheme.unwrap_or(scheme);
            if let Some(host) = fwd.host {
                headers.insert(http::header::HOST, host);
            }
        }
    }
    (scheme, peer)
}

/// A WebSocket opening handshake: the handler decides; on `accept` the answer is 101 and the
/// upgraded socket goes to a driver task (`websocket::drive`), which keeps the connection's slot.
async fn upgrade(app: &Arc<App>, req: Incoming, on_upgrade: hyper::upgrade::OnUpgrade, slot: Slot) -> Reply {
    use crate::ws_handshake::Opened;
    let Some(key) = req.headers.get(http::header::SEC_WEBSOCKET_KEY).cloned() else {
        return Refusal::MissingWebSocketKey.into();
    };
    if req.headers.get(http::header::SEC_WEBSOCKET_VERSION).is_none_or(|v| v != "13") {
        return Refusal::UnsupportedWebSocketVersion.into();
    }
    match crate::ws_handshake::open(app, req).await {
        Opened::Refused(reply) => reply,
        // uvicorn's answer to a close before accept.
        Opened::Denied { .. } => Refusal::Forbidden.into(),
        Opened::Accepted { session, subprotocol, headers, done } => {
            let reply = crate::ws_handshake::switching_protocols(&key, subprotocol.as_deref(), headers);
            let slot = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
            // Counted from here, so that a stopping server waits for this connection too.
            let open = crate::ws_driver::OpenCount::enter(app);
            let app = app.clone();
            tokio::spawn(async move {
                let _slot = slot;
                match on_upgrade.await {
                    Ok(upgraded) => {
                        let io = TokioIo::new(upgraded);
                        let role = tokio_tungstenite::tungstenite::protocol::Role::Server;
                        crate::ws_driver::drive(app, open, session, io, role, done).await
                    }
                    Err(_) => crate::ws_driver::abandon(session, done).await,
                }
            });
            reply
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::reply::{Refusal, Reply};

    #[test]
    fn a_panic_while_answering_is_that_requests_500() {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let failing = async {
            if "a bug".len() == 5 {
                panic!("a bug in the core");
            }
            Reply::from(Refusal::NotFound).into_http()
        };
        let response = runtime.block_on(super::catch_panics(failing));
        assert_eq!(response.status(), 500);
        // The runtime (and the process) carry on.
        let fine = runtime.block_on(super::catch_panics(async { Reply::from(Refusal::NotFound).into_http() }));
        assert_eq!(fine.status(), 404);
    }
}
