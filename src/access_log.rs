//! The access log: one record per request answered over a socket, handed to a Python thread that
//! writes it through `logging` (logger `turboapi.access`) in uvicorn's format. The response never
//! waits for it: records go into a bounded queue and are dropped (and counted) when it is full.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Mutex;
use std::time::Duration;

/// Records waiting for the logging thread; past this, new ones are dropped.
const QUEUE: usize = 65_536;

pub struct AccessRecord {
    pub client: Option<crate::peer::Peer>,
    pub method: String,
    pub target: String,
    pub version: &'static str,
    pub status: u16,
}

pub struct AccessLog {
    sender: SyncSender<AccessRecord>,
    receiver: Mutex<Receiver<AccessRecord>>,
    pub dropped: AtomicU64,
}

impl AccessLog {
    pub fn new() -> Self {
        let (sender, receiver) = sync_channel(QUEUE);
        AccessLog { sender, receiver: Mutex::new(receiver), dropped: AtomicU64::new(0) }
    }

    pub fn record(&self, record: AccessRecord) {
        if let Err(TrySendError::Full(_)) = self.sender.try_send(record) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Up to `max` records, waiting at most `wait` for the first one.
    pub fn take(&self, wait: Duration, max: usize) -> Vec<AccessRecord> {
        let Ok(receiver) = self.receiver.lock() else { return Vec::new() };
        let mut out = Vec::new();
        if let Ok(first) = receiver.recv_timeout(wait) {
            out.push(first);
            while out.len() < max {
                match receiver.try_recv() {
                    Ok(record) => out.push(record),
                    Err(_) => break,
                }
            }
        }
        out
    }
}

pub fn version_of(version: http::Version) -> &'static str {
    match version {
        http::Version::HTTP_10 => "1.0",
        http::Version::HTTP_2 => "2",
        _ => "1.1",
    }
}
