//! Bare hyper: the bench's ceiling. Answers every path with `{"message":"Hello, World!"}`
//! (application/json), `/bytes` with 1,024 `x` bytes (application/octet-stream), the same
//! bytes the demo app sends, and `/plaintext` with `Hello, World!` (text/plain; TechEmpower's
//! plaintext test, for bench/db.py). One current-thread tokio runtime, HTTP/1.1 keep-alive.
//!
//! Usage: bare_hyper PORT   (binds 127.0.0.1:PORT, prints `listening on PORT` once bound)

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

static JSON_BODY: &[u8] = br#"{"message":"Hello, World!"}"#;
static KIB_BODY: [u8; 1024] = [b'x'; 1024];
static PLAIN_BODY: &[u8] = b"Hello, World!";

async fn handle(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let (body, content_type) = match req.uri().path() {
        "/bytes" => (Bytes::from_static(&KIB_BODY), "application/octet-stream"),
        "/plaintext" => (Bytes::from_static(PLAIN_BODY), "text/plain; charset=utf-8"),
        _ => (Bytes::from_static(JSON_BODY), "application/json"),
    };
    let mut resp = Response::new(Full::new(body));
    resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    Ok(resp)
}

fn main() {
    let port: u16 = match std::env::args().nth(1).map(|a| a.parse()) {
        Some(Ok(p)) => p,
        _ => {
            eprintln!("usage: bare_hyper PORT");
            std::process::exit(2);
        }
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(async move {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let listener = TcpListener::bind(addr).await.expect("bind");
        println!("listening on {port}");
        loop {
            let stream = match listener.accept().await {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    eprintln!("accept: {e}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), service_fn(handle));
                let _ = conn.await;
            });
        }
    });
}
