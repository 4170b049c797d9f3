//! The TestClient's WebSocket: a real WebSocket client over an in-process pipe to a driver.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;

use crate::app::App;
use crate::reply::Reply;
use crate::ws_driver::{drive, OpenCount};
use crate::ws_session::{close_message, Received, Session};

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
            Some(Ok(Message::Text(text))) => (Received::Text as u8, PyString::new(py, text.as_str()).into_any()),
            Some(Ok(Message::Binary(data))) => (Received::Bytes as u8, PyBytes::new(py, &data).into_any()),
            Some(Ok(Message::Close(frame))) => {
                let (code, reason) =
                    frame.map(|f| (u16::from(f.code), f.reason.to_string())).unwrap_or((1005, String::new()));
                (Received::Disconnect as u8, (code, reason).into_pyobject(py)?.into_any())
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
