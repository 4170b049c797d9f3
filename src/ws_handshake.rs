//! The WebSocket opening handshake: is a request one, route it, start the handler on a shard
//! (as any async route's job) and wait for its decision: `accept` → 101, `close` before it → 403,
//! as uvicorn answers.

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue};
use pyo3::prelude::*;
use tokio::sync::oneshot;

use crate::app::{App, Incoming};
use crate::reply::{Refusal, Reply};
use crate::ws_session::{Decision, Session};

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

/// The handshake's outcome, for the socket server and the TestClient.
pub enum Opened {
    /// Answered over plain HTTP: 403 (no route, or denied on a socket), 500, a middleware's answer.
    Refused(Reply),
    Denied {
        code: u16,
        reason: Py<PyAny>,
        /// The handler's reply: it may still run after its close (the TestClient waits for it).
        done: Option<oneshot::Receiver<Reply>>,
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
    let (path, _, found) = app.locate(&app.ws_router, "GET", &req.uri);
    let route = match found {
        crate::router::RouteMatch::Found { route, params } => Some((route, params)),
        _ => None,
    };
    // No websocket route: refused before any handler runs, as Starlette (403 from uvicorn).
    let Some((route, path_values)) = route else {
        return Opened::Refused(Refusal::Forbidden.into());
    };
    let shard_index = app.dispatch.shards.pick(route);
    let shard = app.dispatch.shards[shard_index].clone();
    let id = shard.inbox.next_id();
    let (decision_tx, decision) = oneshot::channel();
    let session = Session::new(shard.inbox.clone(), decision_tx);
    // The handler sees the `ws`/`wss` scheme of a WebSocket scope.
    let req = Incoming { scheme: if req.scheme == "https" { "wss" } else { "ws" }, ..req };
    let (mut job, done) = app.job(req, Some(route), (path, path_values), (shard_index, id), Some(session.clone()));
    // A connection lives long: it is not held to the shard's gate, which bounds requests.
    job.admission = Some(crate::shards::Admission::new(&shard, None));
    shard.push(job);
    // The client going away during the handshake cancels the handler.
    let mut guard = crate::app::CancelOnDrop { shard: &shard.inbox, id, armed: true };
    let mut done = done;
    let decided = async {
        tokio::select! {
            biased;
            decided = decision => match decided {
                Ok(Decision::Accept { subprotocol, headers }) => Ok((subprotocol, headers)),
                Ok(Decision::Deny { code, reason }) => Err(Opened::Denied { code, reason, done: None }),
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
            Err(_) => return Opened::Refused(Refusal::GatewayTimeout.into()),
        },
    };
    guard.armed = false;
    let opened = match decided {
        Ok((subprotocol, headers)) => return Opened::Accepted { session, subprotocol, headers, done },
        Err(Opened::Denied { code, reason, .. }) => Opened::Denied { code, reason, done: Some(done) },
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
