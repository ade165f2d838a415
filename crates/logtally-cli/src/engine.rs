//! The engines that map the per-file analysis over the inputs and hand each
//! file's tally back to the caller as it completes (the seed's map-reduce).

use std::cell::RefCell;
use std::fs::File;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use logtally_core::analyze::tally_lines;
use logtally_core::parallel::analyze_parallel;
use logtally_core::{failed_file, Analyzer, Options, Tally};
use logtally_files::open;
use serde::{Deserialize, Serialize};

/// One unit of work: a file and what to count in it. It crosses to worker
/// processes, so it carries the options with it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileTask {
    pub path: String,
    pub options: Options,
    /// Only inflate and split lines (the benchmark's floor): no parsing.
    pub decompress_only: bool,
}

thread_local! {
    /// One analyzer per thread, reused across files (it compiles regexes).
    static ANALYZER: RefCell<Option<Analyzer>> = const { RefCell::new(None) };
}

/// The seed's `analysis(filename)`: never fails, a file that cannot be read
/// comes back as a failed tally naming the reason.
pub fn analyze_file(task: FileTask) -> Tally {
    // Fault injection for the tests of worker crashes (feature `fault-injection`,
    // which only the test script turns on): abort on a named file.
    #[cfg(feature = "fault-injection")]
    if let Some(needle) = std::env::var_os("LOGTALLY_FAULT_ABORT_ON") {
        if !needle.is_empty() && task.path.contains(&*needle.to_string_lossy()) {
            std::process::abort();
        }
    }
    let file = match open(&task.path) {
        Ok(f) => f,
        Err(reason) => return failed_file(&task.path, &reason),
    };
    if task.decompress_only {
        return decompress_only(&task.path, file, task.options.max_line);
    }
    ANALYZER.with(|cell| {
        let mut cell = cell.borrow_mut();
        if cell.as_ref().is_none_or(|a| *a.options() != task.options) {
            *cell = Some(Analyzer::new(task.options.clone()));
        }
        cell.as_mut().expect("set above").analyze(&task.path, file)
    })
}

/// The floor of the work: the same reading (inflate, split lines) with no
/// parsing. Lines show as filtered, so the accounting still balances.
fn decompress_only(path: &str, file: File, max_line: usize) -> Tally {
    tally_lines(path, file, max_line, |partial, _| partial.filtered += 1)
}

/// How the files are spread over cores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Engine {
    /// A pool of worker processes (the seed's multiprocessing.Pool).
    Process,
    /// A pool of threads (rayon).
    Thread,
    /// One file after another on this thread.
    Serial,
}

/// Set by SIGINT/SIGTERM; engines stop handing out work and return early.
pub static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Runs `tasks` on `engine` with `jobs` workers, calling `done` with each
/// file's tally as it completes. Returns false if interrupted before the end.
pub fn run(
    engine: Engine,
    jobs: usize,
    tasks: Vec<FileTask>,
    mut done: impl FnMut(Tally),
) -> anyhow::Result<bool> {
    match engine {
        Engine::Serial => {
            for task in tasks {
                if INTERRUPTED.load(Ordering::Relaxed) {
                    return Ok(false);
                }
                done(analyze_file(task));
            }
            Ok(true)
        }
        Engine::Thread => {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(jobs).build()?;
            let (tx, rx) = mpsc::channel();
            let total = tasks.len();
            let Some(options) = tasks.first().map(|t| t.options.clone()) else {
                return Ok(true);
            };
            let analyzer = Analyzer::new(options);
            // Files in parallel, and blocks of each file in parallel too, so
            // that one big file also uses every thread.
            pool.spawn(move || {
                use rayon::prelude::*;
                tasks.into_par_iter().for_each_with(tx, |tx, task| {
                    if INTERRUPTED.load(Ordering::Relaxed) {
                        return;
                    }
                    let tally = match open(&task.path) {
                        Ok(file) if task.decompress_only => {
                            decompress_only(&task.path, file, task.options.max_line)
                        }
                        Ok(file) => analyze_parallel(&analyzer, &task.path, file, 2 * jobs),
                        Err(reason) => failed_file(&task.path, &reason),
                    };
                    let _ = tx.send(tally);
                });
            });
            collect(rx, total, done)
        }
        Engine::Process => {
            let pool = procpool::Pool::new(jobs)?;
            let total = tasks.len();
            let paths: Vec<String> = tasks.iter().map(|t| t.path.clone()).collect();
            let mut results = pool.imap_unordered(analyze_file, tasks, Some(1))?;
            let (tx, rx) = mpsc::channel();
            // Receive on a helper thread so that this one can notice an interrupt.
            std::thread::scope(|scope| {
                scope.spawn(move || {
                    while let Some((index, result)) = results.next_indexed() {
                        // A worker that crashed fails its file, named, and only that file.
                        let tally = result.unwrap_or_else(|e| {
                            let path = paths.get(index).map_or("?", String::as_str);
                            failed_file(path, &e.to_string())
                        });
                        if tx.send(tally).is_err() {
                            break;
                        }
                    }
                });
                let finished = collect(rx, total, &mut done);
                if !matches!(finished, Ok(true)) {
                    pool.terminate();
                }
                finished
            })
        }
    }
}

fn collect(
    rx: mpsc::Receiver<Tally>,
    total: usize,
    mut done: impl FnMut(Tally),
) -> anyhow::Result<bool> {
    let mut received = 0;
    while received < total {
        if INTERRUPTED.load(Ordering::Relaxed) {
            return Ok(false);
        }
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(tally) => {
                received += 1;
                done(tally);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Ok(!INTERRUPTED.load(Ordering::Relaxed))
            }
        }
    }
    Ok(true)
}
