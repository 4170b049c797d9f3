//! Loop shards: each shard is a Python thread running its own event loop forever. Rust keeps one
//! queue per shard and wakes the shard through an eventfd watched by the loop (`add_reader`), at
//! most once per batch: one wake-up and one GIL acquisition serve many requests, and tokio threads
//! never touch the GIL.
//!
//! This module knows nothing of what a job is: the shard's owner passes a `JobRunner` to `drain`.
//! Streams, request bodies and WebSocket sessions only need the loop's side (`ShardLoop`): wake
//! a waiting future, track and cancel a task.

use std::collections::{HashMap, VecDeque};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use pyo3::prelude::*;

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
    in_flight: Arc<AtomicUsize>,
    _permit: Option<tokio::sync::OwnedSemaphorePermit>,
}

impl Admission {
    pub fn new<J>(shard: &ShardQueue<J>, permit: Option<tokio::sync::OwnedSemaphorePermit>) -> Self {
        shard.in_flight.fetch_add(1, Ordering::Relaxed);
        Admission { in_flight: shard.in_flight.clone(), _permit: permit }
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Work for a shard's loop other than requests, from threads that do not hold the GIL.
pub enum ShardEvent {
    /// `future.set_result(None)` unless it is done (a stream's pump may go on).
    Resolve(Py<PyAny>),
    /// `function(*args)` on the loop's thread (a streaming response's pump is started this way).
    Call { function: Py<PyAny>, args: (Py<PyAny>, Py<PyAny>) },
}

/// A future of a shard's loop that Rust resolves from any thread (through the shard's queue, so
/// tokio threads never touch the GIL): how Python code waits for the core.
pub struct Waiter {
    pub future: Py<PyAny>,
    pub shard: Arc<ShardLoop>,
}

impl Waiter {
    pub fn resolve(self) {
        self.shard.push_event(ShardEvent::Resolve(self.future));
    }
}

/// What runs the jobs a shard takes from its queue (the core's dispatch to Python).
pub trait JobRunner<J> {
    /// Start `job` on `event_loop` (the shard's loop, whose thread holds the GIL now).
    fn start(&self, py: Python<'_>, shard: &ShardQueue<J>, event_loop: &Bound<'_, PyAny>, job: J);
    /// A job nobody waits for any more (its client left while it was queued): not started.
    fn abandoned(&self, job: &J) -> bool;
}

/// A shard's event loop as other threads reach it: its wake-up, its events, and the tasks that
/// may be cancelled. Shared by the job queue and by streams, request bodies and WebSockets.
pub struct ShardLoop {
    /// True from the wake-up write until the shard has seen an empty queue: no duplicate wakes.
    scheduled: AtomicBool,
    wake: OwnedFd,
    event_loop: Mutex<Option<Py<PyAny>>>,
    /// No loop is attached (not started yet, or stopped): jobs and events are refused.
    closed: AtomicBool,
    events: Mutex<Vec<ShardEvent>>,
    next_id: AtomicU64,
    /// Jobs whose client went away; their tasks are cancelled on the next drain.
    cancels: Mutex<Vec<u64>>,
    /// Tasks that waited (did not finish in their eager step), by job id: what a cancel reaches.
    running: Mutex<HashMap<u64, Py<PyAny>>>,
}

impl ShardLoop {
    fn new() -> Self {
        // SAFETY: eventfd returns a fresh descriptor (or -1, checked) that we alone own.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        assert!(fd >= 0, "eventfd failed: {}", std::io::Error::last_os_error());
        ShardLoop {
            scheduled: AtomicBool::new(false),
            wake: unsafe { OwnedFd::from_raw_fd(fd) },
            event_loop: Mutex::new(None),
            closed: AtomicBool::new(true),
            events: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(1),
            cancels: Mutex::new(Vec::new()),
            running: Mutex::new(HashMap::new()),
        }
    }

    /// A new id for a task on this loop (a request's, a stream pump's).
    pub fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// The task of `id` is gone from its client: cancel it (if it is still running).
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

    fn run_events(&self, py: Python<'_>) {
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
                ShardEvent::Call { function, args } => function.bind(py).call1(args).map(drop),
            };
            if let Err(err) = outcome {
                err.print(py);
            }
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

    fn has_events(&self) -> bool {
        !self.cancels.lock().unwrap().is_empty() || !self.events.lock().unwrap().is_empty()
    }
}

/// One shard: its loop, the jobs queued for it, and its admission (gate, count in flight).
pub struct ShardQueue<J> {
    pub inbox: Arc<ShardLoop>,
    jobs: Mutex<VecDeque<J>>,
    /// `None` when gating is off (`max_concurrent=None`).
    pub gate: Option<Gate>,
    /// Requests handed to this shard and not yet answered.
    pub in_flight: Arc<AtomicUsize>,
    /// Jobs started per drain at most.
    batch_size: usize,
}

impl<J> ShardQueue<J> {
    pub fn new(gate: Option<Gate>, batch_size: usize) -> Self {
        ShardQueue {
            inbox: Arc::new(ShardLoop::new()),
            jobs: Mutex::new(VecDeque::new()),
            gate,
            in_flight: Arc::new(AtomicUsize::new(0)),
            batch_size: batch_size.max(1),
        }
    }

    pub fn fileno(&self) -> i32 {
        self.inbox.wake.as_raw_fd()
    }

    /// Attach the loop; detaching it (the shard stopped) also drops queued jobs, so their
    /// requests get a 500 instead of waiting forever, and later pushes are refused the same way.
    pub fn bind_loop(&self, event_loop: Option<Py<PyAny>>) {
        let mut jobs = self.jobs.lock().unwrap();
        let inbox = &self.inbox;
        inbox.closed.store(event_loop.is_none(), Ordering::Release);
        *inbox.event_loop.lock().unwrap() = event_loop;
        if inbox.closed.load(Ordering::Acquire) {
            jobs.clear();
            inbox.events.lock().unwrap().clear();
        }
    }

    pub fn push(&self, job: J) {
        {
            let mut jobs = self.jobs.lock().unwrap();
            if self.inbox.closed.load(Ordering::Acquire) {
                return; // dropping the job drops its reply sender: the request gets a 500
            }
            jobs.push_back(job);
        }
        self.inbox.wake();
    }

    fn has_work(&self) -> bool {
        !self.jobs.lock().unwrap().is_empty() || self.inbox.has_events()
    }

    /// Called by the loop when the eventfd is readable: start up to one batch of jobs.
    pub fn drain(&self, py: Python<'_>, runner: &impl JobRunner<J>) {
        let inbox = &self.inbox;
        inbox.clear_signal();
        let Some(event_loop) = inbox.event_loop.lock().unwrap().as_ref().map(|l| l.clone_ref(py)) else {
            return;
        };
        let event_loop = event_loop.bind(py);
        let limit = self.batch_size;
        let mut started = 0;
        let mut spins = 0;
        while started < limit {
            inbox.run_cancels(py);
            inbox.run_events(py);
            let batch: Vec<J> = {
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
                if !runner.abandoned(&job) {
                    runner.start(py, self, event_loop, job);
                }
            }
        }
        // More left than one batch: stay scheduled and let the loop run its other callbacks first.
        if self.has_work() {
            inbox.signal();
            return;
        }
        inbox.scheduled.store(false, Ordering::Release);
        // A push between the emptiness check and the store saw `scheduled == true` and did not
        // signal; look once more so its job is not stranded.
        if self.has_work() && !inbox.scheduled.swap(true, Ordering::AcqRel) {
            inbox.signal();
        }
    }
}

/// The shards of an app and how a request's shard is chosen.
pub struct Shards<J> {
    queues: Vec<Arc<ShardQueue<J>>>,
    policy: ShardPolicy,
    next: AtomicUsize,
}

impl<J> Shards<J> {
    pub fn new(queues: Vec<Arc<ShardQueue<J>>>, policy: ShardPolicy) -> Self {
        Shards { queues, policy, next: AtomicUsize::new(0) }
    }

    pub fn get(&self, index: usize) -> Option<&Arc<ShardQueue<J>>> {
        self.queues.get(index)
    }

    pub fn len(&self) -> usize {
        self.queues.len()
    }

    /// The shard an async request for `route` runs on, by `shard_policy`.
    pub fn pick(&self, route: usize) -> usize {
        let n = self.queues.len();
        if n == 1 {
            return 0;
        }
        let turn = self.next.fetch_add(1, Ordering::Relaxed);
        match self.policy {
            ShardPolicy::RoundRobin => turn % n,
            ShardPolicy::RouteHash => route % n,
            ShardPolicy::LeastLoaded => (0..n)
                .map(|i| (turn + i) % n)
                .min_by_key(|&i| self.queues[i].in_flight.load(Ordering::Relaxed))
                .expect("at least one shard"),
        }
    }
}

impl<J> std::ops::Index<usize> for Shards<J> {
    type Output = Arc<ShardQueue<J>>;

    fn index(&self, index: usize) -> &Self::Output {
        &self.queues[index]
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::sync::Mutex;

    use super::*;
    use crate::testing::{eval, with_python};

    /// A job that counts its drops (a dropped job is a request answered 500 by its dropped sender).
    struct TestJob {
        id: u32,
        abandoned: bool,
        dropped: Arc<AtomicUsize>,
    }

    impl Drop for TestJob {
        fn drop(&mut self) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    #[derive(Default)]
    struct Recorder {
        started: Mutex<Vec<u32>>,
    }

    impl JobRunner<TestJob> for Recorder {
        fn start(&self, _py: Python<'_>, _shard: &ShardQueue<TestJob>, _event_loop: &Bound<'_, PyAny>, job: TestJob) {
            self.started.lock().unwrap().push(job.id);
        }

        fn abandoned(&self, job: &TestJob) -> bool {
            job.abandoned
        }
    }

    fn job(id: u32, dropped: &Arc<AtomicUsize>) -> TestJob {
        TestJob { id, abandoned: false, dropped: dropped.clone() }
    }

    fn readable(fd: i32) -> bool {
        let mut poll = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
        // SAFETY: one live pollfd, no wait.
        unsafe { libc::poll(&mut poll, 1, 0) == 1 }
    }

    #[test]
    fn a_shard_without_a_loop_refuses_jobs_and_a_detached_one_drops_its_queue() {
        let dropped = Arc::new(AtomicUsize::new(0));
        let shard = ShardQueue::new(None, 8);
        shard.push(job(1, &dropped));
        assert_eq!(dropped.load(Ordering::Relaxed), 1, "refused at once, not kept waiting");
        with_python(|py| shard.bind_loop(Some(py.None())));
        shard.push(job(2, &dropped));
        shard.push(job(3, &dropped));
        assert_eq!(dropped.load(Ordering::Relaxed), 1);
        shard.bind_loop(None);
        assert_eq!(dropped.load(Ordering::Relaxed), 3, "queued jobs are dropped when the loop goes");
    }

    #[test]
    fn drain_starts_one_batch_in_order_and_stays_scheduled_for_the_rest() {
        let dropped = Arc::new(AtomicUsize::new(0));
        let shard = ShardQueue::new(None, 2);
        let runner = Recorder::default();
        with_python(|py| {
            shard.bind_loop(Some(py.None()));
            for id in 1..=5 {
                shard.push(job(id, &dropped));
            }
            assert!(readable(shard.fileno()), "the first push wakes the loop");
            shard.drain(py, &runner);
            assert_eq!(*runner.started.lock().unwrap(), vec![1, 2]);
            assert!(readable(shard.fileno()), "work is left: the loop is woken again");
            shard.drain(py, &runner);
            shard.drain(py, &runner);
            assert_eq!(*runner.started.lock().unwrap(), vec![1, 2, 3, 4, 5]);
            assert!(!readable(shard.fileno()), "nothing left: no wake-up pending");
        });
    }

    #[test]
    fn an_abandoned_job_is_not_started() {
        let dropped = Arc::new(AtomicUsize::new(0));
        let shard = ShardQueue::new(None, 8);
        let runner = Recorder::default();
        with_python(|py| {
            shard.bind_loop(Some(py.None()));
            shard.push(TestJob { id: 1, abandoned: true, dropped: dropped.clone() });
            shard.push(job(2, &dropped));
            shard.drain(py, &runner);
        });
        assert_eq!(*runner.started.lock().unwrap(), vec![2]);
        assert_eq!(dropped.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn events_run_on_the_next_drain_and_cancels_reach_tracked_tasks_only() {
        let shard: ShardQueue<TestJob> = ShardQueue::new(None, 8);
        with_python(|py| {
            shard.bind_loop(Some(py.None()));
            let setup = "
class Task:
    def __init__(self): self.cancelled = False
    def cancel(self): self.cancelled = True
class Future:
    def __init__(self): self.result = None
    def done(self): return self.result is not None
    def set_result(self, value): self.result = 'set'
calls = []
def record(a, b): calls.append((a, b))
";
            let objects = eval(py, setup, "(Task(), Task(), Future(), calls, record)");
            let [tracked, untracked, future, calls, record]: [Py<PyAny>; 5] =
                objects.extract::<Vec<Py<PyAny>>>().unwrap().try_into().unwrap();
            let inbox = &shard.inbox;
            inbox.track(7, tracked.clone_ref(py));
            inbox.track(8, untracked.clone_ref(py));
            inbox.untrack(8);
            inbox.cancel(7);
            inbox.cancel(8);
            inbox.push_event(ShardEvent::Resolve(future.clone_ref(py)));
            inbox.push_event(ShardEvent::Call { function: record, args: (py.None(), py.None()) });
            shard.drain(py, &Recorder::default());
            let attr = |obj: &Py<PyAny>, name: &str| obj.bind(py).getattr(name).unwrap().to_string();
            assert_eq!(attr(&tracked, "cancelled"), "True");
            assert_eq!(attr(&untracked, "cancelled"), "False");
            assert_eq!(attr(&future, "result"), "set");
            assert_eq!(calls.bind(py).len().unwrap(), 1);
        });
    }

    #[test]
    fn shards_are_picked_by_policy() {
        let queues = || (0..3).map(|_| Arc::new(ShardQueue::<TestJob>::new(None, 8))).collect::<Vec<_>>();
        let round_robin = Shards::new(queues(), ShardPolicy::RoundRobin);
        assert_eq!((0..6).map(|_| round_robin.pick(9)).collect::<Vec<_>>(), vec![0, 1, 2, 0, 1, 2]);
        let by_route = Shards::new(queues(), ShardPolicy::RouteHash);
        assert_eq!((by_route.pick(4), by_route.pick(4), by_route.pick(5)), (1, 1, 2));
        let least = Shards::new(queues(), ShardPolicy::LeastLoaded);
        let _busy = (Admission::new(&least[0], None), Admission::new(&least[1], None));
        assert_eq!(least.pick(0), 2);
        drop(_busy);
        assert_eq!(least[0].in_flight.load(Ordering::Relaxed), 0, "an admission gives its place back");
    }
}
