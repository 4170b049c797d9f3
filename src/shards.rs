//! Loop shards: each shard is a Python thread running its own event loop forever. Rust keeps one
//! queue per shard and wakes the shard through an eventfd watched by the loop (`add_reader`), at
//! most once per batch: one wake-up and one GIL acquisition serve many requests, and tokio threads
//! never touch the GIL.

use std::collections::{HashMap, VecDeque};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use pyo3::prelude::*;

use crate::app::App;
use crate::dispatch::{start_async, Job};
use crate::gate::Gate;

/// Times an idle shard yields its CPU, looking for the next request, before it returns to its loop.
const SPIN_YIELDS: usize = 8;

/// How a request's shard is chosen (`shard_policy`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ShardPolicy {
    RoundRobin,
    /// Fewest requests in flight; round-robin among equals.
    LeastLoaded,
    /// One route always on one shard (for comparison: a hot route loads one shard).
    RouteHash,
}

impl ShardPolicy {
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "round_robin" => Some(ShardPolicy::RoundRobin),
            "least_loaded" => Some(ShardPolicy::LeastLoaded),
            "route_hash" => Some(ShardPolicy::RouteHash),
            _ => None,
        }
    }
}

/// A request's place on a shard: its gate permit and its count in `in_flight`, both given back
/// when the admission is dropped (when the handler's task has ended, or the job was dropped).
pub struct Admission {
    shard: Arc<ShardQueue>,
    _permit: Option<tokio::sync::OwnedSemaphorePermit>,
}

impl Admission {
    pub fn new(shard: Arc<ShardQueue>, permit: Option<tokio::sync::OwnedSemaphorePermit>) -> Self {
        shard.in_flight.fetch_add(1, Ordering::Relaxed);
        Admission { shard, _permit: permit }
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        self.shard.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Work for a shard's loop other than requests, from threads that do not hold the GIL.
pub enum ShardEvent {
    /// `future.set_result(None)` unless it is done (a stream's pump may go on).
    Resolve(Py<PyAny>),
    /// Start pumping a streaming response's iterator into a body writer.
    StartStream { response: Py<PyAny>, writer: Py<PyAny> },
}

/// A future of a shard's loop that Rust resolves from any thread (through the shard's queue, so
/// tokio threads never touch the GIL): how Python code waits for the core.
pub struct Waiter {
    pub future: Py<PyAny>,
    pub shard: Arc<ShardQueue>,
}

impl Waiter {
    pub fn resolve(self) {
        self.shard.push_event(ShardEvent::Resolve(self.future));
    }
}

pub struct ShardQueue {
    jobs: Mutex<VecDeque<Job>>,
    events: Mutex<Vec<ShardEvent>>,
    /// True from the wake-up write until the shard has seen an empty queue: no duplicate wakes.
    scheduled: AtomicBool,
    wake: OwnedFd,
    event_loop: Mutex<Option<Py<PyAny>>>,
    /// No loop is attached (not started yet, or stopped): jobs are refused.
    closed: AtomicBool,
    /// `None` when gating is off (`max_concurrent=None`).
    pub gate: Option<Gate>,
    /// Requests handed to this shard and not yet answered.
    pub in_flight: AtomicUsize,
    next_id: AtomicU64,
    /// Jobs whose client went away; their tasks are cancelled on the next drain.
    cancels: Mutex<Vec<u64>>,
    /// Tasks that waited (did not finish in their eager step), by job id: what a cancel reaches.
    running: Mutex<HashMap<u64, Py<PyAny>>>,
}

impl ShardQueue {
    pub fn new(gate: Option<Gate>) -> Self {
        // SAFETY: eventfd returns a fresh descriptor (or -1, checked) that we alone own.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        assert!(fd >= 0, "eventfd failed: {}", std::io::Error::last_os_error());
        ShardQueue {
            jobs: Mutex::new(VecDeque::new()),
            events: Mutex::new(Vec::new()),
            scheduled: AtomicBool::new(false),
            wake: unsafe { OwnedFd::from_raw_fd(fd) },
            event_loop: Mutex::new(None),
            closed: AtomicBool::new(true),
            gate,
            in_flight: AtomicUsize::new(0),
            next_id: AtomicU64::new(1),
            cancels: Mutex::new(Vec::new()),
            running: Mutex::new(HashMap::new()),
        }
    }

    pub fn fileno(&self) -> i32 {
        self.wake.as_raw_fd()
    }

    /// Attach the loop; detaching it (the shard stopped) also drops queued jobs, so their
    /// requests get a 500 instead of waiting forever, and later pushes are refused the same way.
    pub fn bind_loop(&self, event_loop: Option<Py<PyAny>>) {
        let mut jobs = self.jobs.lock().unwrap();
        self.closed.store(event_loop.is_none(), Ordering::Release);
        *self.event_loop.lock().unwrap() = event_loop;
        if self.closed.load(Ordering::Acquire) {
            jobs.clear();
            self.events.lock().unwrap().clear();
        }
    }

    pub fn next_job_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    pub fn push(&self, job: Job) {
        {
            let mut jobs = self.jobs.lock().unwrap();
            if self.closed.load(Ordering::Acquire) {
                return; // dropping the job drops its reply sender: the request gets a 500
            }
            jobs.push_back(job);
        }
        self.wake();
    }

    /// The client of job `id` is gone: cancel its task (if it is still running) on the shard.
    pub fn cancel(&self, id: u64) {
        self.cancels.lock().unwrap().push(id);
        self.wake();
    }

    /// Queue an event for the loop (dropped, with what it holds, if the shard has stopped).
    pub fn push_event(&self, event: ShardEvent) {
        if self.closed.load(Ordering::Acquire) {
            return;
        }
        self.events.lock().unwrap().push(event);
        self.wake();
    }

    fn run_events(&self, py: Python<'_>, app: &Arc<App>) {
        let events = std::mem::take(&mut *self.events.lock().unwrap());
        for event in events {
            let outcome = match event {
                ShardEvent::Resolve(future) => {
                    let future = future.bind(py);
                    match future.call_method0(pyo3::intern!(py, "done")).and_then(|d| d.is_truthy()) {
                        Ok(false) => future.call_method1(pyo3::intern!(py, "set_result"), (py.None(),)).map(drop),
                        other => other.map(drop),
                    }
                }
                ShardEvent::StartStream { response, writer } => {
                    app.hooks.start_stream.bind(py).call1((response, writer)).map(drop)
                }
            };
            if let Err(err) = outcome {
                err.print(py);
            }
        }
    }

    pub fn track(&self, id: u64, task: Py<PyAny>) {
        self.running.lock().unwrap().insert(id, task);
    }

    pub fn untrack(&self, id: u64) {
        self.running.lock().unwrap().remove(&id);
    }

    fn wake(&self) {
        if !self.scheduled.swap(true, Ordering::AcqRel) {
            self.signal();
        }
    }

    fn run_cancels(&self, py: Python<'_>) {
        let cancels = std::mem::take(&mut *self.cancels.lock().unwrap());
        for id in cancels {
            let task = self.running.lock().unwrap().remove(&id);
            if let Some(task) = task {
                if let Err(err) = task.bind(py).call_method0(pyo3::intern!(py, "cancel")) {
                    err.print(py);
                }
            }
        }
    }

    fn has_work(&self) -> bool {
        !self.jobs.lock().unwrap().is_empty()
            || !self.cancels.lock().unwrap().is_empty()
            || !self.events.lock().unwrap().is_empty()
    }

    fn signal(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live u64 to our eventfd. EAGAIN (counter full) still
        // leaves the fd readable, which is all a wake-up needs.
        unsafe { libc::write(self.wake.as_raw_fd(), (&one as *const u64).cast(), 8) };
    }

    fn clear_signal(&self) {
        let mut value: u64 = 0;
        // SAFETY: reads 8 bytes into a live u64; non-blocking, EAGAIN is fine.
        unsafe { libc::read(self.wake.as_raw_fd(), (&mut value as *mut u64).cast(), 8) };
    }

    /// Called by the loop when the eventfd is readable: start up to one batch of jobs.
    pub fn drain(&self, py: Python<'_>, app: &Arc<App>) {
        self.clear_signal();
        let Some(event_loop) = self.event_loop.lock().unwrap().as_ref().map(|l| l.clone_ref(py)) else {
            return;
        };
        let event_loop = event_loop.bind(py);
        let limit = app.config.batch_size.max(1);
        let mut started = 0;
        let mut spins = 0;
        while started < limit {
            self.run_cancels(py);
            self.run_events(py, app);
            let batch: Vec<Job> = {
                let mut jobs = self.jobs.lock().unwrap();
                let n = jobs.len().min(limit - started);
                jobs.drain(..n).collect()
            };
            if batch.is_empty() {
                // Under load the next request is microseconds away: yield the CPU to the I/O
                // thread a few times before returning to the loop (whose next wait costs a
                // sleep and a wake-up). Bounded, so timers and I/O callbacks are not held up.
                if spins == SPIN_YIELDS {
                    break;
                }
                spins += 1;
                py.allow_threads(std::thread::yield_now);
                continue;
            }
            started += batch.len();
            for job in batch {
                // A client that left while its request was queued: nothing to run.
                if !job.reply.is_closed() {
                    start_async(py, app, self, event_loop, job);
                }
            }
        }
        // More left than one batch: stay scheduled and let the loop run its other callbacks first.
        if self.has_work() {
            self.signal();
            return;
        }
        self.scheduled.store(false, Ordering::Release);
        // A push between the emptiness check and the store saw `scheduled == true` and did not
        // signal; look once more so its job is not stranded.
        if self.has_work() && !self.scheduled.swap(true, Ordering::AcqRel) {
            self.signal();
        }
    }
}
