//! GZipMiddleware in the core: bodies from `minimum_size` compressed (large ones off the
//! reactor), streams compressed chunk by chunk from their first chunk.

use std::io::Write;

use bytes::Bytes;
use http::header::HeaderValue;

use super::{append_vary, set_header, Seen};
use crate::reply::{Later, Reply};

pub struct GZip {
    pub(crate) minimum_size: usize,
    /// Bodies from this size are compressed off the reactor (Starlette's `thread_minimum_size`).
    pub(crate) thread_minimum_size: usize,
    pub(crate) level: u32,
    pub(crate) excluded: Vec<String>,
}

impl GZip {
    /// Whether the reply is to be compressed; adds `Vary: Accept-Encoding` when the body
    /// qualifies, as Starlette does even for clients that do not accept gzip.
    fn prepare(&self, seen: &Seen, reply: &mut Reply) -> bool {
        if !self.compressible(reply) || reply.body.len() < self.minimum_size {
            return false;
        }
        append_vary(&mut reply.headers, "Accept-Encoding", false);
        seen.accepts_gzip
    }

    /// Not partial, not encoded already, not an excluded media type.
    fn compressible(&self, reply: &Reply) -> bool {
        if reply.status == 206 || reply.headers.iter().any(|(n, _)| *n == http::header::CONTENT_ENCODING) {
            return false;
        }
        let media_type = reply
            .headers
            .iter()
            .find(|(n, _)| *n == http::header::CONTENT_TYPE)
            .map(|(_, v)| String::from_utf8_lossy(v.as_bytes()).split(';').next().unwrap_or("").trim().to_lowercase())
            .unwrap_or_default();
        let family = format!("{}/*", media_type.split('/').next().unwrap_or(""));
        let grpc = media_type.starts_with("application/grpc+");
        !self.excluded.iter().any(|e| *e == media_type || *e == family || (grpc && e == "application/grpc"))
    }

    /// After the inner app: compress its reply. Large bodies are compressed on a blocking
    /// thread, as Starlette moves them to a worker thread, so the reactor keeps serving meanwhile.
    pub(super) async fn after(&self, seen: &Seen, reply: &mut Reply) {
        if matches!(reply.later, Later::Stream(_)) {
            // A stream: decided at its first chunk (an empty one is left alone).
            let Later::Stream(mut reader) = std::mem::take(&mut reply.later) else { unreachable!() };
            if self.compressible(reply) && reader.wait_first().await {
                append_vary(&mut reply.headers, "Accept-Encoding", false);
                if seen.accepts_gzip {
                    reader.compress(self.level);
                    set_header(&mut reply.headers, http::header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                    reply.headers.retain(|(n, _)| *n != http::header::CONTENT_LENGTH);
                }
            }
            reply.later = Later::Stream(reader);
            return;
        }
        if !self.prepare(seen, reply) {
            return;
        }
        let (level, body) = (self.level, reply.body.clone());
        let compressed = if body.len() >= self.thread_minimum_size {
            tokio::task::spawn_blocking(move || compress(level, &body)).await.ok().flatten()
        } else {
            compress(level, &body)
        };
        if let Some(compressed) = compressed {
            reply.body = Bytes::from(compressed);
            set_header(&mut reply.headers, http::header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            reply.headers.retain(|(n, _)| *n != http::header::CONTENT_LENGTH);
        }
    }
}

fn compress(level: u32, body: &[u8]) -> Option<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level));
    encoder.write_all(body).ok()?;
    encoder.finish().ok()
}
