//! Semaphore gating: at most `max_concurrent` handler coroutines in flight per shard. Requests
//! beyond that wait here, in Rust, costing Python nothing; the wait is bounded in length and in
//! time, and past either bound the answer is 503 with Retry-After instead of unbounded memory.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub struct Gate {
    permits: Arc<Semaphore>,
    waiting: AtomicUsize,
    max_waiting: usize,
    wait_timeout: Duration,
}

/// Why a request was turned away.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    QueueFull,
    TimedOut,
}

impl Gate {
    pub fn new(max_concurrent: usize, max_waiting: usize, wait_timeout: Duration) -> Self {
        Gate {
            permits: Arc::new(Semaphore::new(max_concurrent)),
            waiting: AtomicUsize::new(0),
            max_waiting,
            wait_timeout,
        }
    }

    /// A permit to run one handler; dropping it lets the next waiting request in.
    /// Dropping the returned future (a client gone while waiting) leaves the queue.
    pub async fn enter(&self) -> Result<OwnedSemaphorePermit, Refusal> {
        if let Ok(permit) = self.permits.clone().try_acquire_owned() {
            return Ok(permit);
        }
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(Refusal::QueueFull);
        }
        let _leave = LeaveQueue(&self.waiting);
        match tokio::time::timeout(self.wait_timeout, self.permits.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            // The semaphore is never closed; a timeout is the only other outcome.
            _ => Err(Refusal::TimedOut),
        }
    }

    pub fn retry_after_secs(&self) -> u64 {
        self.wait_timeout.as_secs().clamp(1, 60)
    }
}

/// Decrements the waiting count however the wait ends (permit, timeout or cancellation).
struct LeaveQueue<'a>(&'a AtomicUsize);

impl Drop for LeaveQueue<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap()
    }

    #[test]
    fn admits_up_to_the_limit_then_queues_then_refuses() {
        rt().block_on(async {
            let gate = Arc::new(Gate::new(2, 1, Duration::from_millis(50)));
            let a = gate.enter().await.unwrap();
            let _b = gate.enter().await.unwrap();
            // Third waits (queue of one) and times out; a fourth arriving meanwhile is refused at once.
            let g = gate.clone();
            let waiter = tokio::spawn(async move { g.enter().await.map(|_| ()) });
            tokio::time::sleep(Duration::from_millis(10)).await;
            assert_eq!(gate.enter().await.err(), Some(Refusal::QueueFull));
            assert_eq!(waiter.await.unwrap(), Err(Refusal::TimedOut));
            // Releasing a permit admits the next one.
            drop(a);
            assert!(gate.enter().await.is_ok());
            assert_eq!(gate.waiting.load(Ordering::Acquire), 0);
        });
    }

    #[test]
    fn a_cancelled_wait_leaves_the_queue() {
        rt().block_on(async {
            let gate = Gate::new(1, 4, Duration::from_secs(5));
            let _held = gate.enter().await.unwrap();
            let wait = gate.enter();
            let _ = tokio::time::timeout(Duration::from_millis(10), wait).await;
            assert_eq!(gate.waiting.load(Ordering::Acquire), 0);
        });
    }
}
