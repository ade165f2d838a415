//! A pool of OS worker processes with the semantics of Python's
//! `multiprocessing.Pool`: p worker processes plus the calling parent.
//!
//! Workers are this same executable, started again in worker mode. The
//! program calls [`init`] at the top of `main` (Rust's counterpart of the
//! `if __name__ == "__main__":` guard): in a worker it serves tasks and exits,
//! in the parent it returns at once.
//!
//! A task is a function, or a closure that captures nothing, whose argument and
//! result serialize with serde. Only arguments and results cross between
//! processes, in a compact binary encoding.
//!
//! # Safety model
//!
//! A task crosses to a worker as a name: the offset, from a fixed function of
//! this crate, of a small static entry made for the task's type (a magic
//! number and the task's trampoline). That offset means the same thing in the
//! worker only because the worker runs the very same executable; nothing is
//! called on trust:
//! - the pool refuses to name a task whose entry lies in another loaded image
//!   than this crate (a task in a shared library): [`PoolError::Unnameable`];
//! - a worker says hello with a fingerprint (the executable file's identity and
//!   where this crate's code sits in it); a worker whose fingerprint differs
//!   from the parent's is refused and the pool does not start;
//! - a worker refuses a name that does not lead to an entry of its own image:
//!   it copies the bytes there with a system call that fails rather than
//!   faults on unmapped memory, checks the magic number, and checks that the
//!   trampoline lies in the same image, before calling it; a refused task
//!   fails with [`PoolError::Task`] and the worker goes on.
//!
//! Workers are started by the pool's own slot threads, which live as long as
//! the pool, so their parent-death signal (`PR_SET_PDEATHSIG`, tied to the
//! forking thread) fires only when the pool's process goes. `terminate` kills
//! through each worker's child handle, never a bare pid that may be reused.
//!
//! ```no_run
//! fn square(x: u64) -> u64 {
//!     x * x
//! }
//!
//! fn main() {
//!     procpool::init();
//!     let pool = procpool::Pool::new(4).unwrap();
//!     let squares = pool.map(square, 1..=8, None).unwrap();
//!     assert_eq!(squares, vec![1, 4, 9, 16, 25, 36, 49, 64]);
//! }
//! ```

mod protocol;
pub mod shared_memory;
mod worker;

use std::collections::{BTreeMap, VecDeque};
use std::ffi::OsString;
use std::fmt;
use std::marker::PhantomData;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::Serialize;

use protocol::CallId;
pub use worker::init;

/// What can go wrong with a task or the pool.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PoolError {
    /// The task panicked in its worker; the message is the panic's.
    #[error("task {index} failed: {message}")]
    Task {
        /// The task's position in its submission.
        index: usize,
        /// The panic message.
        message: String,
    },
    /// The worker running the task died (killed, aborted, out of memory).
    /// It is said only once the worker was reaped: nothing of it still runs
    /// (what [`shared_memory`]'s callers rely on to reuse what it read).
    #[error("task {index} lost: worker process {pid} {how}")]
    WorkerDied {
        /// The task's position in its submission.
        index: usize,
        /// The worker's process id.
        pid: u32,
        /// How it ended, e.g. `was killed by signal 9`.
        how: String,
    },
    /// The pool's initializer panicked in the worker that was to run the task.
    #[error("task {index} not run: the worker's initializer failed: {message}")]
    Initializer {
        /// The task's position in its submission.
        index: usize,
        /// The initializer's panic message.
        message: String,
    },
    /// The pool was terminated before the task finished.
    #[error("task {index} cancelled: the pool was terminated")]
    Terminated {
        /// The task's position in its submission.
        index: usize,
    },
    /// `get` or `wait` ran out of time; the result may still come.
    #[error("timed out waiting for the result")]
    Timeout,
    /// Work was submitted after `close` or `terminate`.
    #[error("the pool is not running (closed or terminated)")]
    NotRunning,
    /// A worker process could not be started.
    #[error("could not start a worker process: {0}")]
    Spawn(String),
    /// The task cannot be named in a worker process (it lives in a shared
    /// library, not in the executable with procpool).
    #[error("the task cannot run in a worker process: {0}")]
    Unnameable(String),
    /// An argument or result could not be encoded or decoded.
    #[error("task {index}: could not encode or decode: {message}")]
    Codec {
        /// The task's position in its submission.
        index: usize,
        /// What the codec said.
        message: String,
    },
}

impl PoolError {
    /// The position of the task the error belongs to, if it belongs to one.
    pub fn index(&self) -> Option<usize> {
        match self {
            PoolError::Task { index, .. }
            | PoolError::WorkerDied { index, .. }
            | PoolError::Initializer { index, .. }
            | PoolError::Terminated { index }
            | PoolError::Codec { index, .. } => Some(*index),
            _ => None,
        }
    }
}

/// One finished task as it comes back from a worker: its index and its
/// encoded result.
type Delivery = (usize, Result<Vec<u8>, PoolError>);

/// A chunk of tasks of one submission, queued for the next free worker.
struct Job {
    call: CallId,
    first_index: usize,
    args: Vec<Vec<u8>>,
    sink: Sender<Delivery>,
}

impl Job {
    fn fail_all(self, error: impl Fn(usize) -> PoolError) {
        for i in 0..self.args.len() {
            let index = self.first_index + i;
            let _ = self.sink.send((index, Err(error(index))));
        }
    }
}

#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    closed: bool,
    terminated: bool,
}

struct Shared {
    queue: Mutex<Queue>,
    available: Condvar,
    /// Live workers by slot: the pid, for observers, and a handle on the
    /// worker's socket, with which `terminate` cuts it off (its slot thread
    /// then kills it through the child handle; a bare pid may be reused).
    workers: Mutex<Vec<Option<(u32, std::os::unix::net::UnixStream)>>>,
    config: Config,
}

#[derive(Clone)]
struct Config {
    initializer: Option<(CallId, Vec<u8>)>,
    max_tasks_per_child: Option<usize>,
    worker_args: Vec<OsString>,
    /// Descriptors of shared memory every worker inherits, held open as long
    /// as the pool may start workers.
    shared: Vec<std::sync::Arc<std::os::fd::OwnedFd>>,
}

/// Configures and starts a [`Pool`].
///
/// ```no_run
/// fn setup(greeting: String) {
///     eprintln!("{greeting} from {}", std::process::id());
/// }
/// procpool::init();
/// let pool = procpool::Pool::builder()
///     .processes(2)
///     .initializer(setup, "hello".to_string())
///     .max_tasks_per_child(100)
///     .build()
///     .unwrap();
/// # drop(pool);
/// ```
#[derive(Clone, Default)]
pub struct PoolBuilder {
    processes: Option<usize>,
    config: Option<Config>,
}

impl PoolBuilder {
    fn config(&mut self) -> &mut Config {
        self.config.get_or_insert_with(|| Config {
            initializer: None,
            max_tasks_per_child: None,
            worker_args: Vec::new(),
            shared: Vec::new(),
        })
    }

    /// How many worker processes (default: available cores).
    pub fn processes(mut self, n: usize) -> Self {
        self.processes = Some(n.max(1));
        self
    }

    /// A function run once in each worker, with `initargs`, before its first task.
    pub fn initializer<F, A>(mut self, f: F, initargs: A) -> Self
    where
        F: Fn(A) + Copy + Send + 'static,
        A: Serialize + DeserializeOwned,
    {
        let call = protocol::call_id_for_init::<F, A>(f);
        let args = protocol::encode_value(&initargs).expect("initargs serialize");
        self.config().initializer = Some((call, args));
        self
    }

    /// Replace a worker by a fresh process after it has run this many tasks
    /// (chunks, as in Python), giving its memory back.
    pub fn max_tasks_per_child(mut self, n: usize) -> Self {
        self.config().max_tasks_per_child = Some(n.max(1));
        self
    }

    /// Extra arguments for the re-entered executable (a test harness, for
    /// instance, needs to be told which test calls [`init`]).
    pub fn worker_args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.config().worker_args = args.into_iter().map(Into::into).collect();
        self
    }

    /// Shares `memory` with every worker (those started later too), which
    /// maps it with [`SharedView::attach`](shared_memory::SharedView::attach).
    pub fn share(mut self, memory: &shared_memory::SharedMemory) -> Self {
        self.config().shared.push(memory.descriptor());
        self
    }

    /// Starts the workers.
    pub fn build(mut self) -> Result<Pool, PoolError> {
        let processes = self.processes.unwrap_or_else(available_cores);
        let config = self.config().clone();
        if let Some((call, _)) = &config.initializer {
            protocol::check_nameable(*call).map_err(PoolError::Unnameable)?;
        }
        Pool::start(processes, config)
    }
}

/// The number of cores this process may use.
pub fn available_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// A pool of worker processes. Dropping it terminates and reaps the workers,
/// as leaving Python's `with Pool() as p:` block does.
pub struct Pool {
    shared: Arc<Shared>,
    slots: Mutex<Vec<JoinHandle<()>>>,
    processes: usize,
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("processes", &self.processes)
            .field("pids", &self.worker_pids())
            .finish()
    }
}

impl Pool {
    /// A pool of `processes` workers with no initializer.
    pub fn new(processes: usize) -> Result<Pool, PoolError> {
        Pool::builder().processes(processes).build()
    }

    /// A builder for a pool with options.
    pub fn builder() -> PoolBuilder {
        PoolBuilder::default()
    }

    fn start(processes: usize, config: Config) -> Result<Pool, PoolError> {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::default()),
            available: Condvar::new(),
            workers: Mutex::new((0..processes).map(|_| None).collect()),
            config,
        });
        // Each slot thread starts its own worker (a worker dies with the thread
        // that forked it); wait for the first generation so that a pool that
        // cannot start fails now.
        let (started, start_results) = mpsc::sync_channel(processes);
        let mut pool = Pool {
            shared,
            slots: Mutex::new(Vec::with_capacity(processes)),
            processes,
        };
        for slot in 0..processes {
            let shared = Arc::clone(&pool.shared);
            let started = started.clone();
            let thread = std::thread::Builder::new()
                .name(format!("procpool-slot-{slot}"))
                .spawn(move || worker::run_slot(&shared, slot, started))
                .map_err(|e| PoolError::Spawn(e.to_string()))?;
            pool.slots.get_mut().unwrap().push(thread);
        }
        drop(started);
        for _ in 0..processes {
            match start_results.recv() {
                Ok(Ok(())) => {}
                // Dropping the pool terminates and reaps the workers that did start.
                Ok(Err(message)) => return Err(PoolError::Spawn(message)),
                Err(_) => return Err(PoolError::Spawn("a slot thread ended".to_string())),
            }
        }
        Ok(pool)
    }

    /// The number of worker processes.
    pub fn processes(&self) -> usize {
        self.processes
    }

    /// The pids of the live workers (they change with `max_tasks_per_child`
    /// and when a worker dies and is replaced).
    pub fn worker_pids(&self) -> Vec<u32> {
        self.shared
            .workers
            .lock()
            .unwrap()
            .iter()
            .flatten()
            .map(|(pid, _)| *pid)
            .collect()
    }

    /// Queues `items` as chunks; the results arrive on the returned channel.
    fn submit<T: Serialize>(
        &self,
        call: CallId,
        items: impl IntoIterator<Item = T>,
        chunksize: Option<usize>,
    ) -> Result<(Receiver<Delivery>, usize), PoolError> {
        protocol::check_nameable(call).map_err(PoolError::Unnameable)?;
        let (sink, results) = mpsc::channel();
        let encoded: Vec<Result<Vec<u8>, String>> = items
            .into_iter()
            .map(|item| protocol::encode_value(&item).map_err(|e| e.to_string()))
            .collect();
        let total = encoded.len();
        let chunksize = chunksize
            .unwrap_or_else(|| default_chunksize(total, self.processes))
            .max(1);
        let mut queue = self.shared.queue.lock().unwrap();
        if queue.closed || queue.terminated {
            return Err(PoolError::NotRunning);
        }
        let mut index = 0;
        let mut chunk = Vec::new();
        let mut first_index = 0;
        for item in encoded {
            match item {
                Ok(bytes) => {
                    if chunk.is_empty() {
                        first_index = index;
                    }
                    chunk.push(bytes);
                }
                Err(message) => {
                    let _ = sink.send((index, Err(PoolError::Codec { index, message })));
                }
            }
            index += 1;
            // A chunk holds consecutive items only, so an encoding failure ends one.
            if chunk.len() == chunksize || (!chunk.is_empty() && first_index + chunk.len() != index)
            {
                queue.jobs.push_back(Job {
                    call,
                    first_index,
                    args: std::mem::take(&mut chunk),
                    sink: sink.clone(),
                });
            }
        }
        if !chunk.is_empty() {
            queue.jobs.push_back(Job {
                call,
                first_index,
                args: chunk,
                sink,
            });
        }
        drop(queue);
        self.shared.available.notify_all();
        Ok((results, total))
    }

    /// Queues `f` over `items`: the common step of the map family.
    fn submit_fn<F, T, R>(
        &self,
        f: F,
        items: impl IntoIterator<Item = T>,
        chunksize: Option<usize>,
    ) -> Result<(Receiver<Delivery>, usize), PoolError>
    where
        F: Fn(T) -> R + Copy + Send + 'static,
        T: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned,
    {
        self.submit(protocol::call_id_for::<F, T, R>(f), items, chunksize)
    }

    /// Applies `f` to every item, in parallel; the results in input order.
    /// The first failure (lowest index) is returned as the error.
    ///
    /// `chunksize` `None` picks one as Python does (items / (4 x workers)).
    pub fn map<F, T, R>(
        &self,
        f: F,
        items: impl IntoIterator<Item = T>,
        chunksize: Option<usize>,
    ) -> Result<Vec<R>, PoolError>
    where
        F: Fn(T) -> R + Copy + Send + 'static,
        T: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned,
    {
        let (results, total) = self.submit_fn(f, items, chunksize)?;
        IMap::<R>::new(results, total).collect()
    }

    /// Like [`map`](Self::map), but lazy: an iterator of results in input
    /// order, each available as soon as it and those before it are done.
    /// `chunksize` `None` means 1, as in Python.
    pub fn imap<F, T, R>(
        &self,
        f: F,
        items: impl IntoIterator<Item = T>,
        chunksize: Option<usize>,
    ) -> Result<IMap<R>, PoolError>
    where
        F: Fn(T) -> R + Copy + Send + 'static,
        T: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned,
    {
        let (results, total) = self.submit_fn(f, items, Some(chunksize.unwrap_or(1)))?;
        Ok(IMap::new(results, total))
    }

    /// Like [`imap`](Self::imap), but results come as tasks complete.
    /// Each error carries the index of its task.
    pub fn imap_unordered<F, T, R>(
        &self,
        f: F,
        items: impl IntoIterator<Item = T>,
        chunksize: Option<usize>,
    ) -> Result<IMapUnordered<R>, PoolError>
    where
        F: Fn(T) -> R + Copy + Send + 'static,
        T: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned,
    {
        let (results, total) = self.submit_fn(f, items, Some(chunksize.unwrap_or(1)))?;
        Ok(IMapUnordered {
            results,
            remaining: total,
            _r: PhantomData,
        })
    }

    /// `map` over argument tuples: `f(a, b)` for each `(a, b)`, in order.
    ///
    /// ```no_run
    /// procpool::init();
    /// let pool = procpool::Pool::new(2).unwrap();
    /// let powers = pool.starmap(|b: u64, e: u32| b.pow(e), vec![(2, 3), (3, 2)], None).unwrap();
    /// assert_eq!(powers, vec![8, 9]);
    /// ```
    pub fn starmap<F, Args, R>(
        &self,
        f: F,
        items: impl IntoIterator<Item = Args>,
        chunksize: Option<usize>,
    ) -> Result<Vec<R>, PoolError>
    where
        F: StarCall<Args, Output = R>,
        Args: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned,
    {
        let call = protocol::call_id_for_star::<F, Args, R>(f);
        let (results, total) = self.submit(call, items, chunksize)?;
        IMap::<R>::new(results, total).collect()
    }

    /// Runs `f(arg)` in a worker and waits for the result.
    pub fn apply<F, T, R>(&self, f: F, arg: T) -> Result<R, PoolError>
    where
        F: Fn(T) -> R + Copy + Send + 'static,
        T: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned,
    {
        let mut results = self.map(f, [arg], Some(1))?;
        Ok(results.remove(0))
    }

    /// Runs `f(arg)` in a worker; the handle gives the result when it is ready.
    pub fn apply_async<F, T, R>(&self, f: F, arg: T) -> Result<AsyncResult<R>, PoolError>
    where
        F: Fn(T) -> R + Copy + Send + 'static,
        T: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        let (results, _) = self.submit_fn(f, [arg], Some(1))?;
        let handle = AsyncResult::pending();
        let slot = handle.clone();
        std::thread::spawn(move || {
            let outcome = match results.recv() {
                Ok((_, r)) => r.and_then(|bytes| decode(0, &bytes)),
                Err(_) => Err(PoolError::Terminated { index: 0 }),
            };
            slot.fill(outcome);
        });
        Ok(handle)
    }

    /// `map` without blocking: `callback` gets the results when all succeed,
    /// `error_callback` the first error otherwise (both run on a helper thread
    /// of the parent, as in Python).
    pub fn map_async<F, T, R, C, E>(
        &self,
        f: F,
        items: impl IntoIterator<Item = T>,
        chunksize: Option<usize>,
        callback: Option<C>,
        error_callback: Option<E>,
    ) -> Result<AsyncResult<Vec<R>>, PoolError>
    where
        F: Fn(T) -> R + Copy + Send + 'static,
        T: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
        C: FnOnce(&[R]) + Send + 'static,
        E: FnOnce(&PoolError) + Send + 'static,
    {
        let (results, total) = self.submit_fn(f, items, chunksize.filter(|&c| c > 0))?;
        let handle = AsyncResult::pending();
        let slot = handle.clone();
        std::thread::spawn(move || {
            let outcome: Result<Vec<R>, PoolError> = IMap::new(results, total).collect();
            match &outcome {
                Ok(values) => {
                    if let Some(cb) = callback {
                        cb(values);
                    }
                }
                Err(e) => {
                    if let Some(cb) = error_callback {
                        cb(e);
                    }
                }
            }
            slot.fill(outcome);
        });
        Ok(handle)
    }

    /// No more work may be submitted; workers exit once the queue is empty.
    pub fn close(&self) {
        self.shared.queue.lock().unwrap().closed = true;
        self.shared.available.notify_all();
    }

    /// Waits for the workers to exit (after [`close`](Self::close) or
    /// [`terminate`](Self::terminate)) and reaps them.
    pub fn join(&self) {
        let slots = std::mem::take(&mut *self.slots.lock().unwrap());
        for slot in slots {
            let _ = slot.join();
        }
    }

    /// Stops the workers at once: queued and running tasks fail with
    /// [`PoolError::Terminated`]. Workers are reaped by [`join`](Self::join)
    /// (or by dropping the pool).
    pub fn terminate(&self) {
        let abandoned: Vec<Job> = {
            let mut queue = self.shared.queue.lock().unwrap();
            queue.terminated = true;
            queue.closed = true;
            queue.jobs.drain(..).collect()
        };
        self.shared.available.notify_all();
        // A worker may be deep in a task: cut its socket, so that its slot
        // thread stops waiting for it and kills it through its child handle.
        for (_, stream) in self.shared.workers.lock().unwrap().iter().flatten() {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
        for job in abandoned {
            job.fail_all(|index| PoolError::Terminated { index });
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.terminate();
        self.join();
    }
}

/// Python's default `map` chunk size: about four chunks per worker.
fn default_chunksize(items: usize, processes: usize) -> usize {
    let per = 4 * processes.max(1);
    items.div_ceil(per).max(1)
}

fn decode<R: DeserializeOwned>(index: usize, bytes: &[u8]) -> Result<R, PoolError> {
    protocol::decode_value(bytes).map_err(|e| PoolError::Codec {
        index,
        message: e.to_string(),
    })
}

/// Results of [`Pool::imap`], in input order.
pub struct IMap<R> {
    results: Receiver<Delivery>,
    total: usize,
    next: usize,
    early: BTreeMap<usize, Result<Vec<u8>, PoolError>>,
    _r: PhantomData<fn() -> R>,
}

impl<R> IMap<R> {
    fn new(results: Receiver<Delivery>, total: usize) -> Self {
        IMap {
            results,
            total,
            next: 0,
            early: BTreeMap::new(),
            _r: PhantomData,
        }
    }
}

impl<R: DeserializeOwned> Iterator for IMap<R> {
    type Item = Result<R, PoolError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.total {
            return None;
        }
        let index = self.next;
        let result = loop {
            if let Some(r) = self.early.remove(&index) {
                break r;
            }
            match self.results.recv() {
                Ok((i, r)) if i == index => break r,
                Ok((i, r)) => {
                    self.early.insert(i, r);
                }
                Err(_) => break Err(PoolError::Terminated { index }),
            }
        };
        self.next += 1;
        Some(result.and_then(|bytes| decode(index, &bytes)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.total - self.next;
        (left, Some(left))
    }
}

/// Results of [`Pool::imap_unordered`], as they complete.
pub struct IMapUnordered<R> {
    results: Receiver<Delivery>,
    remaining: usize,
    _r: PhantomData<fn() -> R>,
}

impl<R: DeserializeOwned> IMapUnordered<R> {
    /// The next result with the index of its task.
    pub fn next_indexed(&mut self) -> Option<(usize, Result<R, PoolError>)> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        Some(match self.results.recv() {
            Ok((i, r)) => (i, r.and_then(|bytes| decode(i, &bytes))),
            // Every sender is gone: the pool was dropped under us.
            Err(_) => (usize::MAX, Err(PoolError::NotRunning)),
        })
    }
}

impl<R: DeserializeOwned> Iterator for IMapUnordered<R> {
    type Item = Result<R, PoolError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_indexed().map(|(_, r)| r)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

/// The slot an async result is published in, and the signal that it was.
type ResultSlot<R> = (Mutex<Option<Result<R, PoolError>>>, Condvar);

/// The handle of [`Pool::apply_async`] and [`Pool::map_async`].
pub struct AsyncResult<R> {
    state: Arc<ResultSlot<R>>,
}

impl<R> Clone for AsyncResult<R> {
    fn clone(&self) -> Self {
        AsyncResult {
            state: Arc::clone(&self.state),
        }
    }
}

impl<R> AsyncResult<R> {
    fn pending() -> Self {
        AsyncResult {
            state: Arc::new((Mutex::new(None), Condvar::new())),
        }
    }

    fn fill(&self, outcome: Result<R, PoolError>) {
        *self.state.0.lock().unwrap() = Some(outcome);
        self.state.1.notify_all();
    }

    /// Waits until the result is ready or `timeout` passes; true if ready.
    pub fn wait(&self, timeout: Option<Duration>) -> bool {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut guard = self.state.0.lock().unwrap();
        while guard.is_none() {
            match deadline {
                None => guard = self.state.1.wait(guard).unwrap(),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return false;
                    }
                    guard = self.state.1.wait_timeout(guard, deadline - now).unwrap().0;
                }
            }
        }
        true
    }

    /// Whether the result has arrived.
    pub fn ready(&self) -> bool {
        self.state.0.lock().unwrap().is_some()
    }

    /// Whether the task succeeded; `None` while it is not ready (Python raises there).
    pub fn successful(&self) -> Option<bool> {
        self.state.0.lock().unwrap().as_ref().map(Result::is_ok)
    }
}

impl<R: Clone> AsyncResult<R> {
    /// The result, waiting at most `timeout`; [`PoolError::Timeout`] if it is
    /// not ready by then (the handle and the pool stay usable).
    pub fn get(&self, timeout: Option<Duration>) -> Result<R, PoolError> {
        if !self.wait(timeout) {
            return Err(PoolError::Timeout);
        }
        self.state.0.lock().unwrap().clone().expect("ready")
    }
}

/// A function of several arguments that [`Pool::starmap`] calls with a tuple.
pub trait StarCall<Args>: Copy + Send + 'static {
    /// What the function returns.
    type Output;
    /// Calls the function with the tuple's fields as arguments.
    fn call(self, args: Args) -> Self::Output;
}

impl<F, A, R> StarCall<(A,)> for F
where
    F: Fn(A) -> R + Copy + Send + 'static,
{
    type Output = R;
    fn call(self, (a,): (A,)) -> R {
        self(a)
    }
}

impl<F, A, B, R> StarCall<(A, B)> for F
where
    F: Fn(A, B) -> R + Copy + Send + 'static,
{
    type Output = R;
    fn call(self, (a, b): (A, B)) -> R {
        self(a, b)
    }
}

impl<F, A, B, C, R> StarCall<(A, B, C)> for F
where
    F: Fn(A, B, C) -> R + Copy + Send + 'static,
{
    type Output = R;
    fn call(self, (a, b, c): (A, B, C)) -> R {
        self(a, b, c)
    }
}

/// Used by the slot threads in [`worker`].
fn next_job(shared: &Shared) -> Option<Job> {
    let mut queue = shared.queue.lock().unwrap();
    loop {
        if queue.terminated {
            return None;
        }
        if let Some(job) = queue.jobs.pop_front() {
            return Some(job);
        }
        if queue.closed {
            return None;
        }
        queue = shared.available.wait(queue).unwrap();
    }
}

fn is_terminated(shared: &Shared) -> bool {
    shared.queue.lock().unwrap().terminated
}
