//! Request bodies: collected in memory up to a limit, except uploads. A `multipart/form-data`
//! body past `SPOOL_ABOVE` goes to a temporary file as it arrives, so an upload is never held in
//! memory whole; Python's multipart parser then reads the file in chunks. The file is deleted
//! when the request is done (its `TempPath` is dropped with the request).

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming as HyperBody;
use tokio::io::AsyncWriteExt;

/// Multipart bodies above this size are written to disk (Starlette spools file parts past 1 MiB).
pub const SPOOL_ABOVE: usize = 1024 * 1024;

pub enum Body {
    Memory(Bytes),
    File(Arc<tempfile::TempPath>),
}

pub enum BodyError {
    TooLarge,
    /// The client went away or sent a broken chunked body.
    Broken,
    /// The temporary file could not be written (disk full...).
    Io(std::io::Error),
}

pub fn is_multipart(headers: &http::HeaderMap) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().get(..19).is_some_and(|p| p.eq_ignore_ascii_case("multipart/form-data")))
}

/// Read a body of at most `limit` bytes; spill to a temporary file past `SPOOL_ABOVE` if `spool`.
pub async fn read(mut body: HyperBody, limit: usize, spool: bool) -> Result<Body, BodyError> {
    if !spool {
        // Not an upload: collected as it comes (a single frame stays uncopied).
        return match Limited::new(body, limit).collect().await {
            Ok(collected) => Ok(Body::Memory(collected.to_bytes())),
            Err(e) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => Err(BodyError::TooLarge),
            Err(_) => Err(BodyError::Broken),
        };
    }
    let mut memory = BytesMut::new();
    let mut file: Option<(tokio::fs::File, tempfile::TempPath)> = None;
    let mut size = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| BodyError::Broken)?;
        let Ok(data) = frame.into_data() else { continue };
        size += data.len();
        if size > limit {
            return Err(BodyError::TooLarge);
        }
        if let Some((out, _)) = file.as_mut() {
            out.write_all(&data).await.map_err(BodyError::Io)?;
            continue;
        }
        memory.extend_from_slice(&data);
        if spool && memory.len() > SPOOL_ABOVE {
            let named = tempfile::Builder::new().prefix("turboapi-upload-").tempfile().map_err(BodyError::Io)?;
            let (std_file, path) = named.into_parts();
            let mut out = tokio::fs::File::from_std(std_file);
            out.write_all(&memory).await.map_err(BodyError::Io)?;
            memory = BytesMut::new();
            file = Some((out, path));
        }
    }
    match file {
        Some((mut out, path)) => {
            out.flush().await.map_err(BodyError::Io)?;
            Ok(Body::File(Arc::new(path)))
        }
        None => Ok(Body::Memory(memory.freeze())),
    }
}
