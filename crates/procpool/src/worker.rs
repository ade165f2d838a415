//! Both ends of a worker: the process that serves tasks ([`init`]), and the
//! parent's slot thread that feeds it, notices its death and replaces it.

use std::io;
use std::ops::Range;
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::SyncSender;
use std::time::Duration;

use serde_bytes::{ByteBuf, Bytes};

use crate::protocol::{self, Fingerprint, FromWorker, FromWorkerOf, ToWorker};
use crate::{is_terminated, next_job, Config, PoolError, Shared};

const FD_VAR: &str = "PROCPOOL_WORKER_FD";
/// How long a new worker has to say hello before the pool gives up on it.
const HELLO_TIMEOUT: Duration = Duration::from_secs(30);

/// Call first thing in `main`. In the parent it returns at once; in a worker
/// process started by a [`Pool`](crate::Pool) it serves tasks until the pool
/// lets it go, then exits the process.
///
/// ```
/// fn main() {
///     procpool::init(); // a worker never gets past this line
///     // ... the program proper, which may create pools ...
/// }
/// # main();
/// ```
pub fn init() {
    let Some(fd) = std::env::var(FD_VAR)
        .ok()
        .and_then(|v| v.parse::<RawFd>().ok())
    else {
        return;
    };
    std::env::remove_var(FD_VAR);
    // SAFETY: the parent passed this descriptor to us for our sole use.
    let stream = unsafe { UnixStream::from_raw_fd(fd) };
    let code = match serve(stream) {
        Ok(()) => 0,
        Err(_) => 1,
    };
    std::process::exit(code);
}

fn serve(mut stream: UnixStream) -> io::Result<()> {
    // The parent decides when work stops (Ctrl-C reaches the whole process group).
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_IGN);
    }
    // Panic messages travel back to the parent instead of being printed here.
    std::panic::set_hook(Box::new(|_| {}));
    protocol::send(
        &mut stream,
        &FromWorker::Hello {
            pid: std::process::id(),
            fingerprint: Fingerprint::of_this_process(),
        },
    )?;
    let mut frame = Vec::new();
    while protocol::receive_frame(&mut stream, &mut frame)? {
        let message: ToWorker<'_> = bincode::deserialize(&frame).map_err(io::Error::other)?;
        match message {
            ToWorker::Init(None) => protocol::send(&mut stream, &FromWorker::InitDone(Ok(())))?,
            ToWorker::Init(Some((call, arg))) => {
                let outcome = call_guarded(call, &arg).map(drop);
                protocol::send(&mut stream, &FromWorker::InitDone(outcome))?;
            }
            ToWorker::Run { call, args } => {
                let results = args
                    .iter()
                    .map(|arg| call_guarded(call, arg).map(ByteBuf::from))
                    .collect();
                protocol::send(&mut stream, &FromWorker::Done(results))?;
            }
            ToWorker::Exit => break,
        }
    }
    Ok(())
}

/// Where `part`, a slice borrowed from `whole`, lies in it.
fn span_within(whole: &[u8], part: &[u8]) -> Range<usize> {
    // bincode lends results out of the frame it reads: never elsewhere.
    let start = (part.as_ptr() as usize)
        .checked_sub(whole.as_ptr() as usize)
        .filter(|&start| start + part.len() <= whole.len())
        .expect("a result lies in its frame");
    start..start + part.len()
}

fn call_guarded(call: protocol::CallId, arg: &[u8]) -> Result<Vec<u8>, String> {
    // Checked, never trusted: an id that names no task of this executable is refused.
    let trampoline = protocol::resolve(call)?;
    match std::panic::catch_unwind(|| trampoline(arg)) {
        Ok(result) => result,
        Err(payload) => Err(panic_message(payload.as_ref())),
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        format!("panicked: {s}")
    } else if let Some(s) = payload.downcast_ref::<String>() {
        format!("panicked: {s}")
    } else {
        "panicked".to_string()
    }
}

/// The parent's handle on one worker process.
pub(crate) struct Worker {
    child: Child,
    stream: UnixStream,
    pub(crate) pid: u32,
    /// Set when the initializer panicked in this worker.
    init_error: Option<String>,
}

impl Worker {
    /// Starts a worker and runs the initializer in it.
    pub(crate) fn spawn(config: &Config) -> Result<Worker, String> {
        let (mut ours, theirs) = UnixStream::pair().map_err(|e| format!("socketpair: {e}"))?;
        let mut command = worker_command();
        let their_fd = theirs.as_raw_fd();
        // The socket and the shared memory cross exec; nothing else this
        // process opens does (Rust opens files close-on-exec).
        let inherited: Vec<RawFd> = std::iter::once(their_fd)
            .chain(config.shared.iter().map(|fd| fd.as_raw_fd()))
            .collect();
        let parent = std::process::id();
        command
            .args(&config.worker_args)
            .env(FD_VAR, their_fd.to_string())
            .stdin(Stdio::null());
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            command.pre_exec(move || {
                for &fd in &inherited {
                    let flags = libc::fcntl(fd, libc::F_GETFD);
                    if flags < 0 || libc::fcntl(fd, libc::F_SETFD, flags & !libc::FD_CLOEXEC) < 0 {
                        return Err(io::Error::last_os_error());
                    }
                }
                // If the parent dies for any reason, so does the worker: no orphans.
                #[cfg(target_os = "linux")]
                {
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                    if libc::getppid() as u32 != parent {
                        libc::_exit(1);
                    }
                }
                Ok(())
            });
        }
        let child = command.spawn().map_err(|e| format!("spawn: {e}"))?;
        drop(theirs);
        let pid = child.id();
        let mut worker = Worker {
            child,
            stream: ours.try_clone().map_err(|e| e.to_string())?,
            pid,
            init_error: None,
        };
        let handshake = (|| -> io::Result<Result<(), String>> {
            ours.set_read_timeout(Some(HELLO_TIMEOUT))?;
            match protocol::receive::<_, FromWorker>(&mut ours)? {
                Some(FromWorker::Hello { fingerprint, .. }) => {
                    let ours = Fingerprint::of_this_process();
                    if fingerprint != ours {
                        return Err(io::Error::other(format!(
                            "it is not the same executable as the pool's (fingerprint {fingerprint:?}, expected {ours:?})"
                        )));
                    }
                }
                _ => return Err(io::Error::other("no hello")),
            }
            ours.set_read_timeout(None)?;
            protocol::send(&mut ours, &ToWorker::Init(config.initializer.clone()))?;
            match protocol::receive::<_, FromWorker>(&mut ours)? {
                Some(FromWorker::InitDone(outcome)) => Ok(outcome),
                _ => Err(io::Error::other("no answer to init")),
            }
        })();
        match handshake {
            Ok(Ok(())) => Ok(worker),
            Ok(Err(message)) => {
                worker.init_error = Some(message);
                Ok(worker)
            }
            Err(e) => {
                let _ = worker.child.kill();
                let how = describe(worker.child.wait());
                Err(format!(
                    "worker {pid} {how} before it was ready ({e}); does the program call procpool::init() first thing in main?"
                ))
            }
        }
    }

    /// Runs one chunk; `Err` if the worker died meanwhile.
    fn run(
        &mut self,
        call: protocol::CallId,
        args: &[Vec<u8>],
    ) -> Result<Vec<Result<Vec<u8>, String>>, ()> {
        let message = ToWorker::Run {
            call,
            args: args.iter().map(|arg| Bytes::new(arg)).collect(),
        };
        protocol::send(&mut self.stream, &message).map_err(drop)?;
        let mut frame = Vec::new();
        if !protocol::receive_frame(&mut self.stream, &mut frame).map_err(drop)? {
            return Err(());
        }
        // Where each result lies in the frame.
        let spans: Vec<Result<Range<usize>, String>> =
            match bincode::deserialize::<FromWorkerOf<&Bytes>>(&frame) {
                Ok(FromWorkerOf::Done(results)) if results.len() == args.len() => results
                    .into_iter()
                    .map(|r| r.map(|bytes| span_within(&frame, bytes)))
                    .collect(),
                _ => return Err(()),
            };
        // A chunk of one (the usual case): the frame becomes the result, its
        // few leading bytes moved out instead of the result copied.
        if let [Ok(span)] = spans.as_slice() {
            let span = span.clone();
            frame.truncate(span.end);
            frame.drain(..span.start);
            return Ok(vec![Ok(frame)]);
        }
        Ok(spans
            .into_iter()
            .map(|span| span.map(|span| frame[span].to_vec()))
            .collect())
    }

    /// Asks the worker to exit and reaps it.
    fn finish(mut self) {
        let _ = protocol::send(&mut self.stream, &ToWorker::Exit);
        let _ = self.child.wait();
    }

    /// Reaps a worker that stopped answering (or that `terminate` cut off),
    /// and says how it ended. It is killed through its child handle, which
    /// cannot name a reused pid: the child is not reaped until we wait here.
    fn reap(mut self, terminated: bool) -> String {
        if terminated {
            let _ = self.child.kill();
        }
        // It may be alive but broken (it closed its end): make sure it ends.
        if let Ok(None) = self.child.try_wait() {
            std::thread::sleep(Duration::from_millis(20));
            if let Ok(None) = self.child.try_wait() {
                let _ = self.child.kill();
            }
        }
        describe(self.child.wait())
    }
}

fn worker_command() -> Command {
    // /proc/self/exe is this very executable, even if the file was replaced since.
    let exe = if cfg!(target_os = "linux") {
        std::path::PathBuf::from("/proc/self/exe")
    } else {
        std::env::current_exe().unwrap_or_else(|_| "/proc/self/exe".into())
    };
    let mut command = Command::new(exe);
    if let Some(arg0) = std::env::args_os().next() {
        command.arg0(arg0);
    }
    command
}

fn describe(status: io::Result<std::process::ExitStatus>) -> String {
    match status {
        Ok(s) => match (s.code(), s.signal()) {
            (Some(code), _) => format!("exited with status {code}"),
            (None, Some(sig)) => format!("was killed by signal {sig} ({})", signal_name(sig)),
            _ => "ended".to_string(),
        },
        Err(e) => format!("could not be waited for ({e})"),
    }
}

fn signal_name(sig: i32) -> &'static str {
    match sig {
        libc::SIGKILL => "SIGKILL",
        libc::SIGABRT => "SIGABRT",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGTERM => "SIGTERM",
        libc::SIGINT => "SIGINT",
        libc::SIGBUS => "SIGBUS",
        _ => "signal",
    }
}

/// Publishes the slot's live worker (or none): its pid for observers, and a
/// handle on its socket with which `terminate` cuts it off.
fn set_worker(shared: &Shared, slot: usize, worker: Option<&Worker>) {
    shared.workers.lock().unwrap()[slot] =
        worker.and_then(|w| Some((w.pid, w.stream.try_clone().ok()?)));
}

/// The life of one slot of the pool, on a thread that lives as long as the
/// slot: start its worker (so that the worker's parent-death signal is tied to
/// this thread, not to whichever thread built the pool), say on `started`
/// whether it came up, then feed it jobs, replace it when it dies or has done
/// `max_tasks_per_child` jobs, until the pool closes.
pub(crate) fn run_slot(shared: &Shared, slot: usize, started: SyncSender<Result<(), String>>) {
    let first = match Worker::spawn(&shared.config) {
        Ok(w) => {
            set_worker(shared, slot, Some(&w));
            let _ = started.send(Ok(()));
            w
        }
        Err(message) => {
            let _ = started.send(Err(message));
            return;
        }
    };
    let mut next_worker = Some(first);
    loop {
        let mut worker = match next_worker.take() {
            Some(w) => w,
            None if is_terminated(shared) => return,
            None => match Worker::spawn(&shared.config) {
                Ok(w) => w,
                Err(message) => {
                    // No worker: fail the next job rather than leave it waiting forever.
                    match next_job(shared) {
                        Some(job) => job.fail_all(|_| PoolError::Spawn(message.clone())),
                        None => return,
                    }
                    continue;
                }
            },
        };
        set_worker(shared, slot, Some(&worker));
        if let Some(message) = worker.init_error.take() {
            worker.finish();
            set_worker(shared, slot, None);
            match next_job(shared) {
                Some(job) => job.fail_all(|index| PoolError::Initializer {
                    index,
                    message: message.clone(),
                }),
                None => return,
            }
            continue;
        }
        let mut jobs_done = 0;
        loop {
            let Some(job) = next_job(shared) else {
                worker.finish();
                set_worker(shared, slot, None);
                return;
            };
            match worker.run(job.call, &job.args) {
                Ok(results) => {
                    for (i, result) in results.into_iter().enumerate() {
                        let index = job.first_index + i;
                        let result = result.map_err(|message| PoolError::Task { index, message });
                        let _ = job.sink.send((index, result));
                    }
                }
                Err(()) => {
                    let pid = worker.pid;
                    let how = worker.reap(is_terminated(shared));
                    set_worker(shared, slot, None);
                    if is_terminated(shared) {
                        job.fail_all(|index| PoolError::Terminated { index });
                    } else {
                        job.fail_all(|index| PoolError::WorkerDied {
                            index,
                            pid,
                            how: how.clone(),
                        });
                    }
                    break;
                }
            }
            jobs_done += 1;
            if shared
                .config
                .max_tasks_per_child
                .is_some_and(|max| jobs_done >= max)
            {
                worker.finish();
                set_worker(shared, slot, None);
                break;
            }
        }
    }
}
