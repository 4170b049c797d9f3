//! Bare hyper: the bench's ceiling. Answers every path with `{"message":"Hello, World!"}`
//! (application/json), `/bytes` with 1,024 `x` bytes (application/octet-stream), the same
//! bytes the demo app sends, and `/plaintext` with `Hello, World!` (text/plain; TechEmpower's
//! plaintext test, for bench/db.py). One current-thread tokio runtime, HTTP/1.1 keep-alive, and
//! HTTP/2 as the core serves it: h2c when a connection opens with the preface, h2 by ALPN over TLS
//! (rustls on ring, as the core), for bench/http2.py.
//!
//! Usage: bare_hyper PORT [CERT.pem KEY.pem]   (binds 127.0.0.1:PORT, prints `listening on PORT`
//! once bound; with a certificate and key, serves HTTPS)

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncRead, AsyncWrite};
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

/// A TLS acceptor offering h2 then http/1.1, from PEM files.
#[allow(deprecated)] // ring's provider, as the core (no post-quantum key exchange)
fn acceptor(cert: &str, key: &str) -> tokio_rustls::TlsAcceptor {
    let chain =
        CertificateDer::pem_file_iter(cert).expect("certificate").collect::<Result<Vec<_>, _>>().expect("certificate");
    let key = PrivateKeyDer::from_pem_file(key).expect("key");
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("certificate and key");
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config))
}

async fn serve<I: AsyncRead + AsyncWrite + Unpin + Send + 'static>(io: I, h2: bool) {
    let io = TokioIo::new(io);
    if h2 {
        let _ = http2::Builder::new(TokioExecutor::new()).serve_connection(io, service_fn(handle)).await;
    } else {
        let _ = http1::Builder::new().serve_connection(io, service_fn(handle)).await;
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let port: u16 = match args.get(1).map(|a| a.parse()) {
        Some(Ok(p)) if args.len() == 2 || args.len() == 4 => p,
        _ => {
            eprintln!("usage: bare_hyper PORT [CERT.pem KEY.pem]");
            std::process::exit(2);
        }
    };
    let tls = (args.len() == 4).then(|| acceptor(&args[2], &args[3]));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
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
            let tls = tls.clone();
            tokio::spawn(async move {
                match tls {
                    Some(tls) => {
                        let Ok(stream) = tls.accept(stream).await else { return };
                        let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
                        serve(stream, h2).await
                    }
                    None => {
                        // h2c with prior knowledge: the connection opens with `PRI `.
                        let mut first = [0u8; 4];
                        let h2 = matches!(stream.peek(&mut first).await, Ok(4) if &first == b"PRI ");
                        serve(stream, h2).await
                    }
                }
            });
        }
    });
}
