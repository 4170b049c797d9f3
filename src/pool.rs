//! The sync pool: long-lived Python threads that run `def` handlers (jobs of any type `J`: the
//! pool only queues them and wakes the threads that take them).
//!
//! Under one GIL, more than one thread running Python at a time only adds hand-offs: with 16
//! threads all woken by a shared channel, GIL contention cost two thirds of the throughput of
//! 1-4 threads. So the pool wakes a worker only when none is running, and the running one drains
//! the queue under a single GIL hold. Spare workers exist for handlers that block (`time.sleep`,
//! a blocking driver): when the running workers stop making progress for `STALL`, a watchdog
//! wakes the next idle worker, so a blocked handler never stalls the other routes for long.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::Thread;
use std::time::{Duration, Instant};

/// How long the running workers may go without finishing a job before a spare is woken.
const STALL: Duration = Duration::from_millis(1);

/// Times an idle worker yields its CPU, checking for work, before it parks.
const SPIN_YIELDS: usize = 16;

struct Worker {
    thread: Thread,
    woken: AtomicBool,
}

pub struct SyncPool<J> {
    queue: Mutex<VecDeque<J>>,
    /// Parked workers, most recently parked last: it is woken first (its caches are warm).
    idle: Mutex<Vec<Arc<Worker>>>,
    /// Workers not parked.
    running: AtomicUsize,
    /// Microseconds since `epoch` when a worker last finished (or started) a job.
    last_progress: AtomicU64,
    watchdog: AtomicBool,
    stopping: AtomicBool,
    epoch: Instant,
}

impl<J: Send + 'static> SyncPool<J> {
    pub fn new() -> Self {
        SyncPool {
            queue: Mutex::new(VecDeque::new()),
            idle: Mutex::new(Vec::new()),
            running: AtomicUsize::new(0),
            last_progress: AtomicU64::new(0),
            watchdog: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
            epoch: Instant::now(),
        }
    }

    fn now(&self) -> u64 {
        self.epoch.elapsed().as_micros() as u64
    }

    fn mark_progress(&self) {
        self.last_progress.store(self.now(), Ordering::Relaxed);
    }

    fn stalled(&self) -> bool {
        self.now().saturating_sub(self.last_progress.load(Ordering::Relaxed)) > STALL.as_micros() as u64
    }

    fn queue_is_empty(&self) -> bool {
        self.queue.lock().unwrap().is_empty()
    }

    /// Queue a job (from a tokio thread). Returns false once the pool is stopping.
    pub fn submit(self: &Arc<Self>, job: J) -> bool {
        {
            // Checked under the queue lock, which `stop` also takes: no job slips in after it.
            let mut queue = self.queue.lock().unwrap();
            if self.stopping.load(Ordering::Acquire) {
                return false;
            }
            queue.push_back(job);
        }
        if self.running.load(Ordering::Acquire) == 0 || self.stalled() {
            self.wake_one();
        }
        if !self.watchdog.swap(true, Ordering::AcqRel) {
            tokio::spawn(watchdog(self.clone()));
        }
        true
    }

    fn wake_one(&self) {
        let worker = self.idle.lock().unwrap().pop();
        if let Some(worker) = worker {
            self.running.fetch_add(1, Ordering::AcqRel);
            self.mark_progress();
            worker.woken.store(true, Ordering::Release);
            worker.thread.unpark();
        }
    }

    /// The next job for a worker, or None when the queue is empty.
    pub fn take(&self) -> Option<J> {
        self.queue.lock().unwrap().pop_front()
    }

    pub fn job_done(&self) {
        self.mark_progress();
    }

    pub fn enter(&self) {
        self.running.fetch_add(1, Ordering::AcqRel);
    }

    /// Park the calling worker until there is work; false when the pool is stopping.
    /// Called without the GIL.
    pub fn park(&self) -> bool {
        // Under load the next job is usually a few microseconds away: yield the CPU (to the I/O
        // thread that is producing it) a few times before paying for a sleep and a wake-up.
        for _ in 0..SPIN_YIELDS {
            if !self.queue_is_empty() || self.stopping.load(Ordering::Acquire) {
                return !self.stopping.load(Ordering::Acquire);
            }
            std::thread::yield_now();
        }
        let me = Arc::new(Worker { thread: std::thread::current(), woken: AtomicBool::new(false) });
        {
            let mut idle = self.idle.lock().unwrap();
            if self.stopping.load(Ordering::Acquire) {
                return false;
            }
            idle.push(me.clone());
            self.running.fetch_sub(1, Ordering::AcqRel);
        }
        // A job queued while we were registering saw us running and woke nobody: wake one now.
        if !self.queue_is_empty() {
            self.wake_one();
        }
        while !me.woken.swap(false, Ordering::AcqRel) {
            std::thread::park();
        }
        !self.stopping.load(Ordering::Acquire)
    }

    /// Stop: parked workers leave at once, running ones after their current job.
    pub fn stop(&self) {
        {
            let mut queue = self.queue.lock().unwrap();
            self.stopping.store(true, Ordering::Release);
            // Jobs nobody will run: dropping them drops their reply senders, so their requests
            // get a 500 instead of waiting forever.
            queue.clear();
        }
        let idle = std::mem::take(&mut *self.idle.lock().unwrap());
        for worker in idle {
            worker.woken.store(true, Ordering::Release);
            worker.thread.unpark();
        }
    }

    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::Acquire)
    }
}

/// Runs while jobs are queued: wakes a spare worker when the running ones make no progress
/// (blocked in a handler), or when none is running.
async fn watchdog<J: Send + 'static>(pool: Arc<SyncPool<J>>) {
    loop {
        tokio::time::sleep(STALL).await;
        if pool.queue_is_empty() {
            pool.watchdog.store(false, Ordering::Release);
            // A submit between the check and the store saw the flag set and spawned nothing.
            if pool.queue_is_empty() || pool.watchdog.swap(true, Ordering::AcqRel) {
                return;
            }
            continue;
        }
        if pool.running.load(Ordering::Acquire) == 0 || pool.stalled() {
            pool.wake_one();
        }
    }
}
