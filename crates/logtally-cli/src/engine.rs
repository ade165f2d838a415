//! The engines that map the per-file analysis over the inputs and hand each
//! file's tally back to the caller as it completes (the seed's map-reduce).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fs::File;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use logtally_core::analyze::{tally_lines, Partial, StreamEnd};
use logtally_core::parallel::{analyze_parallel, BLOCK_SIZE};
use logtally_core::{failed_file, Analyzer, Block, LineReader, Options, ShippedTally, Tally};
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

/// Fault injection for the tests of worker crashes (feature `fault-injection`,
/// which only the test script turns on): `LOGTALLY_FAULT_ABORT_ON=NAME` aborts
/// the worker given a file whose path contains NAME, and `NAME:LINE` the one
/// given the block of that file that holds line LINE.
fn inject_fault(_path: &str, _block: Option<&Block>) {
    #[cfg(feature = "fault-injection")]
    if let Some(needle) = std::env::var_os("LOGTALLY_FAULT_ABORT_ON") {
        let needle = needle.to_string_lossy();
        let (name, line) = match needle.rsplit_once(':') {
            Some((name, line)) => (name, line.parse::<u64>().ok()),
            None => (&*needle, None),
        };
        let here = match (line, _block) {
            (None, _) => true,
            (Some(line), Some(block)) => {
                (block.first_line..block.first_line + block.line_count()).contains(&line)
            }
            (Some(_), None) => false,
        };
        if !name.is_empty() && _path.contains(name) && here {
            std::process::abort();
        }
    }
}

/// The seed's `analysis(filename)`: never fails, a file that cannot be read
/// comes back as a failed tally naming the reason.
pub fn analyze_file(task: FileTask) -> Tally {
    inject_fault(&task.path, None);
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

/// [`analyze_file`] in a worker process: the tally with its counts listed for
/// the trip to the parent, which hashes them once, into its total.
pub fn analyze_file_shipped(task: FileTask) -> ShippedTally {
    ShippedTally::listed(analyze_file(task))
}

/// A block of a file that the process engine spreads over its workers, with
/// what a worker needs to read it as the parent read the file's first lines.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BlockTask {
    pub path: String,
    pub options: Options,
    /// The file's first lines, that its format is detected from.
    pub sample: Block,
    pub block: Block,
}

thread_local! {
    /// The analyzer of the file whose blocks this worker is reading, prepared
    /// for that file's format (the options and sample it was made for).
    static BLOCK_ANALYZER: RefCell<Option<(Options, Block, Analyzer)>> = const { RefCell::new(None) };
}

/// Tallies one block of a file (in a worker): the lines' counts, to merge in
/// the parent with the file's other blocks.
pub fn analyze_block(task: BlockTask) -> Partial {
    inject_fault(&task.path, Some(&task.block));
    BLOCK_ANALYZER.with(|cell| {
        let mut cell = cell.borrow_mut();
        let prepared = cell
            .as_ref()
            .is_some_and(|(options, sample, _)| *options == task.options && *sample == task.sample);
        if !prepared {
            let mut analyzer = Analyzer::new(task.options.clone());
            analyzer.prepare_for(&task.sample);
            *cell = Some((task.options, task.sample, analyzer));
        }
        let (_, _, analyzer) = cell.as_mut().expect("set above");
        let mut partial = Partial::default();
        analyzer.analyze_block_into(&mut partial, &task.block);
        partial
    })
}

/// Tallies one file on every worker of `pool`: this process inflates it and
/// queues line-aligned blocks, a wave of `wave` while the workers tally the
/// one before, so at most two waves wait in memory. The result is
/// [`analyze_file`]'s. A file whose format reads lines in order (W3C) is
/// read here, in order. `None`: interrupted.
fn analyze_file_split(pool: &procpool::Pool, task: FileTask, wave: usize) -> Option<Tally> {
    let file = match open(&task.path) {
        Ok(f) => f,
        Err(reason) => return Some(failed_file(&task.path, &reason)),
    };
    let mut lines = LineReader::with_max_line(file, task.options.max_line);
    let mut error = None;
    let mut blocks = lines.next_wave(wave, BLOCK_SIZE, &mut error);
    let mut analyzer = Analyzer::new(task.options.clone());
    let sample = blocks.first().map_or_else(Block::default, |first| {
        let mut data = Vec::new();
        for line in Analyzer::detection_sample(first) {
            data.extend_from_slice(line);
            data.push(b'\n');
        }
        Block {
            first_line: 1,
            data,
            cuts: Vec::new(),
        }
    });
    analyzer.prepare_for(&sample);
    let max_samples = task.options.malformed_samples;
    let mut total = Partial::default();
    if !analyzer.splittable() {
        // Read in order, here: the blocks already read cannot be read again
        // by a worker when the file is a pipe.
        let interrupted = || INTERRUPTED.load(Ordering::Relaxed);
        let read = analyzer.analyze_waves_in_order(
            &mut total,
            blocks,
            &mut lines,
            &mut error,
            interrupted,
        );
        return read.then(|| analyzer.finish(total, StreamEnd::of(&task.path, &lines, error)));
    }
    // Lines not counted: (first line, how many), and why.
    let mut lost: Vec<(u64, u64, String)> = Vec::new();
    // The waves queued, each with its blocks' (first line, lines).
    type Queued = (procpool::IMapUnordered<Partial>, Vec<(u64, u64)>);
    let mut queued: VecDeque<Queued> = VecDeque::new();
    // A wave's results, merged as they come. A worker that died loses its
    // block's lines: the file fails, saying which.
    let mut receive = |(mut results, spans): Queued, lost: &mut Vec<(u64, u64, String)>| {
        while let Some((index, result)) = results.next_indexed() {
            match result {
                Ok(partial) => total.merge(partial, max_samples),
                Err(e) => {
                    let (first, count) = spans.get(index).copied().unwrap_or((0, 0));
                    let why = match e {
                        procpool::PoolError::WorkerDied { pid, how, .. } => {
                            format!("worker process {pid} {how}")
                        }
                        other => other.to_string(),
                    };
                    lost.push((first, count, why));
                }
            }
        }
    };
    while !blocks.is_empty() {
        if INTERRUPTED.load(Ordering::Relaxed) {
            return None;
        }
        let spans = blocks
            .iter()
            .map(|b| (b.first_line, b.line_count()))
            .collect();
        let from = blocks[0].first_line;
        let tasks = blocks.into_iter().map(|block| BlockTask {
            path: task.path.clone(),
            options: task.options.clone(),
            sample: sample.clone(),
            block,
        });
        match pool.imap_unordered(analyze_block, tasks, Some(1)) {
            Ok(results) => queued.push_back((results, spans)),
            Err(e) => {
                lost.push((from, 0, format!("from line {from} on, not read: {e}")));
                break;
            }
        }
        // The wave before is received first, so at most two are in memory
        // while the next is inflated, and the workers have this one to tally.
        while queued.len() > 1 {
            receive(queued.pop_front().expect("two queued"), &mut lost);
        }
        blocks = lines.next_wave(wave, BLOCK_SIZE, &mut error);
    }
    for wave in queued {
        receive(wave, &mut lost);
    }
    if !lost.is_empty() {
        lost.sort();
        let mut said: Vec<String> = lost
            .into_iter()
            .map(|(first, count, why)| match count {
                0 => why,
                _ => format!("lines {first}-{} not counted: {why}", first + count - 1),
            })
            .collect();
        said.extend(error);
        error = Some(said.join("; "));
    }
    Some(analyzer.finish(total, StreamEnd::of(&task.path, &lines, error)))
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
    mut done: impl FnMut(ShippedTally),
) -> anyhow::Result<bool> {
    match engine {
        Engine::Serial => {
            for task in tasks {
                if INTERRUPTED.load(Ordering::Relaxed) {
                    return Ok(false);
                }
                done(analyze_file(task).into());
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
                    let _ = tx.send(ShippedTally::from(tally));
                });
            });
            collect(rx, total, done)
        }
        Engine::Process => {
            let pool = procpool::Pool::new(jobs)?;
            let (whole, split) = spread(tasks, jobs);
            let total = whole.len() + split.len();
            let paths: Vec<String> = whole.iter().map(|t| t.path.clone()).collect();
            let mut results = pool.imap_unordered(analyze_file_shipped, whole, Some(1))?;
            let (tx, rx) = mpsc::channel();
            let split_tx = tx.clone();
            // Receive, and spread the files queued behind the whole ones, on
            // helper threads, so that this one can notice an interrupt.
            std::thread::scope(|scope| {
                scope.spawn(move || {
                    while let Some((index, result)) = results.next_indexed() {
                        // A worker that crashed fails its file, named, and only that file.
                        let tally = result.unwrap_or_else(|e| {
                            let path = paths.get(index).map_or("?", String::as_str);
                            failed_file(path, &e.to_string()).into()
                        });
                        if tx.send(tally).is_err() {
                            break;
                        }
                    }
                });
                let pool = &pool;
                scope.spawn(move || {
                    for task in split {
                        // `None`: interrupted (this thread's receiver then sees it too).
                        let Some(tally) = analyze_file_split(pool, task, 2 * jobs) else {
                            break;
                        };
                        if split_tx.send(tally.into()).is_err() {
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

/// Which files a worker reads whole and which are spread over every worker
/// in blocks: with fewer files than workers, all are spread; otherwise the
/// largest `files % workers` are, queued after the whole ones, so that the
/// last round of files does not leave workers idle (5 files on 2 workers
/// took 3 rounds of files). Only regular files are spread: this process
/// reads a spread file, and a FIFO or pipe may never deliver (or deliver
/// only after the files queued before it), which an interrupt could not end.
/// The benchmark's floor (`decompress_only`) reads every file whole.
fn spread(tasks: Vec<FileTask>, jobs: usize) -> (Vec<FileTask>, Vec<FileTask>) {
    if jobs < 2 || tasks.iter().any(|t| t.decompress_only) {
        return (tasks, Vec::new());
    }
    let spread = if tasks.len() < jobs {
        tasks.len()
    } else {
        tasks.len() % jobs
    };
    // The largest regular files, by their size on disk (stable: equal sizes
    // keep their order).
    let size = |t: &FileTask| {
        std::fs::metadata(&t.path)
            .ok()
            .filter(std::fs::Metadata::is_file)
            .map(|m| m.len())
    };
    let mut by_size: Vec<(usize, u64)> = (0..tasks.len())
        .filter_map(|i| Some((i, size(&tasks[i])?)))
        .collect();
    by_size.sort_by_key(|&(_, size)| std::cmp::Reverse(size));
    let mut chosen = vec![false; tasks.len()];
    for &(i, _) in by_size.iter().take(spread) {
        chosen[i] = true;
    }
    // Both in the order given.
    let (split, whole): (Vec<_>, Vec<_>) = tasks
        .into_iter()
        .zip(chosen)
        .partition(|&(_, spread)| spread);
    let tasks_of = |pairs: Vec<(FileTask, bool)>| pairs.into_iter().map(|(t, _)| t).collect();
    (tasks_of(whole), tasks_of(split))
}

fn collect(
    rx: mpsc::Receiver<ShippedTally>,
    total: usize,
    mut done: impl FnMut(ShippedTally),
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
