//! A file response's body (`FileResponse`, `StaticFiles`), read by the core: Python plans the
//! answer (status, headers, and the segments to send: literal bytes such as multipart part headers,
//! and byte ranges of the file); the file is read here, one chunk at a time on tokio's blocking
//! threads, only when hyper asks for the next one. Memory per response stays at one chunk, and a
//! client that goes away stops the reading (the body is dropped).

use std::collections::VecDeque;
use std::fs::File;
use std::future::Future;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::task::JoinHandle;

/// Bytes read per step: large enough to keep the socket busy, small enough to bound memory.
const CHUNK: u64 = 256 * 1024;

pub enum Segment {
    Bytes(Bytes),
    /// `len` bytes of the file from `offset`.
    Range {
        offset: u64,
        len: u64,
    },
}

type Read = JoinHandle<std::io::Result<(Arc<File>, Bytes)>>;

pub struct FileBody {
    path: PathBuf,
    segments: VecDeque<Segment>,
    /// Opened by the first read (after the headers went out, as Starlette does).
    file: Option<Arc<File>>,
    reading: Option<Read>,
    /// Bytes of the read in flight (no longer in `segments`).
    in_flight: u64,
}

impl FileBody {
    pub fn new(path: PathBuf, segments: Vec<Segment>) -> Self {
        FileBody { path, segments: segments.into(), file: None, reading: None, in_flight: 0 }
    }

    fn remaining(&self) -> u64 {
        // Saturating: a plan with absurd lengths must not overflow (it fails at the read instead).
        self.segments.iter().fold(self.in_flight, |total, s| {
            total.saturating_add(match s {
                Segment::Bytes(b) => b.len() as u64,
                Segment::Range { len, .. } => *len,
            })
        })
    }

    fn start_read(&mut self, offset: u64, len: u64) {
        let file = self.file.clone();
        let path = self.path.clone();
        self.reading = Some(tokio::task::spawn_blocking(move || {
            let file = match file {
                Some(file) => file,
                None => Arc::new(File::open(&path)?),
            };
            let mut buf = vec![0; len as usize];
            // A file that shrank since it was planned ends the response with an error (truncated).
            file.read_exact_at(&mut buf, offset)?;
            Ok((file, Bytes::from(buf)))
        }));
    }
}

impl Drop for FileBody {
    fn drop(&mut self) {
        if let Some(read) = self.reading.take() {
            read.abort(); // a read already running finishes on its thread; its result is dropped
        }
    }
}

impl Body for FileBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        loop {
            if let Some(read) = this.reading.as_mut() {
                let done = match Pin::new(read).poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(done) => done,
                };
                this.reading = None;
                this.in_flight = 0;
                return match done {
                    Ok(Ok((file, chunk))) => {
                        this.file = Some(file);
                        Poll::Ready(Some(Ok(Frame::data(chunk))))
                    }
                    Ok(Err(err)) => {
                        this.segments.clear();
                        Poll::Ready(Some(Err(err)))
                    }
                    Err(join) => {
                        this.segments.clear();
                        Poll::Ready(Some(Err(std::io::Error::other(join))))
                    }
                };
            }
            match this.segments.front_mut() {
                None => return Poll::Ready(None),
                Some(Segment::Bytes(bytes)) => {
                    let bytes = std::mem::take(bytes);
                    this.segments.pop_front();
                    if !bytes.is_empty() {
                        return Poll::Ready(Some(Ok(Frame::data(bytes))));
                    }
                }
                Some(Segment::Range { offset, len }) => {
                    if *len == 0 {
                        this.segments.pop_front();
                        continue;
                    }
                    let n = (*len).min(CHUNK);
                    let at = *offset;
                    *offset += n;
                    *len -= n;
                    this.in_flight = n;
                    this.start_read(at, n);
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.reading.is_none() && self.segments.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining())
    }
}
