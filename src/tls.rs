//! TLS on the listening socket (rustls on ring: no OpenSSL): the server's certificate chain and
//! key, client certificates checked against `ssl_ca_certs`, and a certificate that SIGHUP
//! replaces while serving (connections open keep theirs; new handshakes get the new one).
//!
//! The PEM text comes from Python (`turboapi.tls`), which reads the files and decrypts a
//! password-protected key; here it is parsed, checked (the key must match the certificate) and
//! served.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};

use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Whether clients must present a certificate (uvicorn's `ssl_cert_reqs`: CERT_NONE, CERT_OPTIONAL,
/// CERT_REQUIRED).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ClientCerts {
    None,
    Optional,
    Required,
}

impl ClientCerts {
    pub fn from_reqs(reqs: u8) -> Result<Self, String> {
        match reqs {
            0 => Ok(ClientCerts::None),
            1 => Ok(ClientCerts::Optional),
            2 => Ok(ClientCerts::Required),
            _ => Err(format!("ssl_cert_reqs must be 0 (none), 1 (optional) or 2 (required), not {reqs}")),
        }
    }
}

/// The server's side of TLS: what accepts handshakes, and the certificate SIGHUP replaces.
pub struct Tls {
    pub acceptor: tokio_rustls::TlsAcceptor,
    current: Arc<CurrentKey>,
}

impl Tls {
    /// `alpn`: the protocols offered, most preferred first.
    pub fn new(
        cert_pem: &[u8],
        key_pem: &[u8],
        ca_pem: Option<&[u8]>,
        client_certs: ClientCerts,
        alpn: &[&[u8]],
    ) -> Result<Self, String> {
        let provider = Arc::new(provider());
        let current = Arc::new(CurrentKey(RwLock::new(Arc::new(certified_key(&provider, cert_pem, key_pem)?))));
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS: {e}"))?;
        let builder = match (client_certs, ca_pem) {
            (ClientCerts::None, _) => builder.with_no_client_auth(),
            (_, None) => {
                return Err("ssl_cert_reqs asks for client certificates: give ssl_ca_certs to check them".into())
            }
            (reqs, Some(ca_pem)) => {
                let mut roots = RootCertStore::empty();
                for cert in CertificateDer::pem_slice_iter(ca_pem) {
                    let cert = cert.map_err(|e| format!("ssl_ca_certs: {e}"))?;
                    roots.add(cert).map_err(|e| format!("ssl_ca_certs: {e}"))?;
                }
                if roots.is_empty() {
                    return Err("ssl_ca_certs: no certificate found in the file".into());
                }
                let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
                let verifier = if reqs == ClientCerts::Optional { verifier.allow_unauthenticated() } else { verifier };
                builder.with_client_cert_verifier(verifier.build().map_err(|e| format!("ssl_ca_certs: {e}"))?)
            }
        };
        let mut config = builder.with_cert_resolver(current.clone());
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Ok(Tls { acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)), current })
    }

    /// Serve `cert_pem`/`key_pem` to handshakes from now on (checked first: on an error the
    /// current certificate stays).
    pub fn replace(&self, cert_pem: &[u8], key_pem: &[u8]) -> Result<(), String> {
        let provider = provider();
        let key = certified_key(&provider, cert_pem, key_pem)?;
        *self.current.0.write().unwrap() = Arc::new(key);
        Ok(())
    }
}

/// rustls's ring provider: it builds with a C compiler alone (aws-lc-rs would need cmake and
/// minutes of build), at the price of no post-quantum key exchange, which rustls 0.23.48 marks by
/// deprecating it.
#[allow(deprecated)]
fn provider() -> CryptoProvider {
    rustls::crypto::ring::default_provider()
}

/// The certificate handshakes get; replaced whole, so a handshake sees the old one or the new.
#[derive(Debug)]
struct CurrentKey(RwLock<Arc<CertifiedKey>>);

impl ResolvesServerCert for CurrentKey {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.read().unwrap().clone())
    }
}

fn certified_key(provider: &CryptoProvider, cert_pem: &[u8], key_pem: &[u8]) -> Result<CertifiedKey, String> {
    let chain = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("ssl_certfile: {e}"))?;
    if chain.is_empty() {
        return Err("ssl_certfile: no certificate found in the file".into());
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| match e {
        rustls_pki_types::pem::Error::NoItemsFound => {
            "ssl_keyfile: no private key found in the file (PKCS#8, RSA or EC PEM; an encrypted one needs ssl_keyfile_password)"
                .to_string()
        }
        e => format!("ssl_keyfile: {e}"),
    })?;
    let signing = provider.key_provider.load_private_key(key).map_err(|e| format!("ssl_keyfile: {e}"))?;
    let certified = CertifiedKey::new(chain, signing);
    match certified.keys_match() {
        Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => Ok(certified),
        Err(rustls::Error::InconsistentKeys(_)) => {
            Err("ssl_keyfile does not match ssl_certfile: the key is not the certificate's".into())
        }
        Err(e) => Err(format!("ssl_certfile: {e}")),
    }
}

/// A served connection's socket, with or without TLS over it (one type for hyper either way).
pub enum MaybeTls<T> {
    Plain(T),
    Tls(Box<tokio_rustls::server::TlsStream<T>>),
}

impl<T: AsyncRead + AsyncWrite + Unpin> AsyncRead for MaybeTls<T> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTls::Plain(io) => Pin::new(io).poll_read(cx, buf),
            MaybeTls::Tls(io) => Pin::new(io.as_mut()).poll_read(cx, buf),
        }
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> AsyncWrite for MaybeTls<T> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MaybeTls::Plain(io) => Pin::new(io).poll_write(cx, buf),
            MaybeTls::Tls(io) => Pin::new(io.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MaybeTls::Plain(io) => Pin::new(io).poll_write_vectored(cx, bufs),
            MaybeTls::Tls(io) => Pin::new(io.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            MaybeTls::Plain(io) => io.is_write_vectored(),
            MaybeTls::Tls(io) => io.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTls::Plain(io) => Pin::new(io).poll_flush(cx),
            MaybeTls::Tls(io) => Pin::new(io.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTls::Plain(io) => Pin::new(io).poll_shutdown(cx),
            MaybeTls::Tls(io) => Pin::new(io.as_mut()).poll_shutdown(cx),
        }
    }
}
