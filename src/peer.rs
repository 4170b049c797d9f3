//! The client of a request: a socket address, or a name.

use std::net::SocketAddr;

/// The client as the request reports it: a socket peer, or a name (the TestClient's "testclient",
/// or an X-Forwarded-For hop that is not an address, such as "unknown").
#[derive(Clone, Debug, PartialEq)]
pub enum Peer {
    Addr(SocketAddr),
    Named(String, u16),
}

impl Peer {
    /// `(host, port)` as ASGI's `scope["client"]`.
    pub fn host_port(&self) -> (String, u16) {
        match self {
            Peer::Addr(a) => (a.ip().to_string(), a.port()),
            Peer::Named(host, port) => (host.clone(), *port),
        }
    }
}
