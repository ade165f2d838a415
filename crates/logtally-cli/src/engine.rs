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
use logtally_core::read::Cut;
use logtally_core::{
    failed_file, Analyzer, Block, BlockRef, LineReader, Options, ShippedTally, Tally,
};
use logtally_files::open;
use procpool::shared_memory::{SharedMemory, SharedName, SharedView};
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
fn inject_fault(_path: &str, _block: Option<BlockRef<'_>>) {
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
    /// The memory the parent shares with the workers, where `sample` and
    /// `block` lie when they are [`Shipped::Shared`].
    pub memory: Option<SharedName>,
    /// The file's first lines, that its format is detected from.
    pub sample: Shipped,
    pub block: Shipped,
}

/// How a block's bytes reach a worker: in memory shared with the workers
/// (not copied on the way), or encoded with the task where there is none or
/// the block does not fit its slot.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Shipped {
    Inline(Block),
    Shared {
        first_line: u64,
        cuts: Vec<(u64, Cut)>,
        /// Where its bytes lie in the shared memory.
        offset: usize,
        len: usize,
    },
}

thread_local! {
    /// The analyzer of the file whose blocks this worker is reading, prepared
    /// for that file's format (the options and sample it was made for).
    static BLOCK_ANALYZER: RefCell<Option<(Options, Vec<u8>, Analyzer)>> = const { RefCell::new(None) };
    /// This worker's mapping of the parent's shared memory.
    static SHARED_VIEW: RefCell<Option<(SharedName, SharedView)>> = const { RefCell::new(None) };
}

/// Tallies one block of a file (in a worker): the lines' counts, to merge in
/// the parent with the file's other blocks.
pub fn analyze_block(task: BlockTask) -> Partial {
    yield_to_the_reader();
    SHARED_VIEW.with(|view| {
        let mut view = view.borrow_mut();
        if let Some(name) = task.memory {
            if view.as_ref().is_none_or(|(mapped, _)| *mapped != name) {
                let mapped = SharedView::attach(name)
                    .unwrap_or_else(|e| panic!("{}: shared memory: {e}", task.path));
                *view = Some((name, mapped));
            }
        }
        let view = view.as_ref().map(|(_, view)| view);
        let sample = borrowed(&task.sample, view, &task.path);
        let block = borrowed(&task.block, view, &task.path);
        inject_fault(&task.path, Some(block));
        BLOCK_ANALYZER.with(|cell| {
            let mut cell = cell.borrow_mut();
            let prepared = cell.as_ref().is_some_and(|(options, prepared_for, _)| {
                *options == task.options && prepared_for == sample.data
            });
            if !prepared {
                let mut analyzer = Analyzer::new(task.options.clone());
                analyzer.prepare_for(sample);
                *cell = Some((task.options.clone(), sample.data.to_vec(), analyzer));
            }
            let (_, _, analyzer) = cell.as_mut().expect("set above");
            let mut partial = Partial::default();
            analyzer.analyze_block_into(&mut partial, block);
            partial
        })
    })
}

/// How much a worker lowers its priority when it first tallies a block of a
/// spread file. The parent that inflates the blocks is then the one producer
/// the workers all wait on; at the same priority it got two thirds of a core
/// of two and waited, runnable, a fifth of the run. One big file, -j2,
/// medians of 7 side by side: 0.817 s as it was, +4 0.751 s, +8 0.728 s,
/// +12 0.734 s. (Where the kernel groups a session's processes, as Linux's
/// autogroup does by default, the workers yield only to their own session.)
const WORKER_NICENESS: libc::c_int = 8;

/// Lowers this worker's priority by [`WORKER_NICENESS`], once.
fn yield_to_the_reader() {
    static LOWERED: std::sync::Once = std::sync::Once::new();
    LOWERED.call_once(|| {
        // SAFETY: a plain call; it changes only this worker's niceness (on
        // Linux this thread's, the one that tallies), and a failure leaves
        // it as it was.
        unsafe { libc::nice(WORKER_NICENESS) };
    });
}

/// A shipped block's lines, where they lie: in the task, or in the memory
/// the parent shares (`view`).
fn borrowed<'a>(shipped: &'a Shipped, view: Option<&'a SharedView>, path: &str) -> BlockRef<'a> {
    match shipped {
        Shipped::Inline(block) => block.borrowed(),
        Shipped::Shared {
            first_line,
            cuts,
            offset,
            len,
        } => {
            let view =
                view.unwrap_or_else(|| panic!("{path}: a shared block without shared memory"));
            // SAFETY: the parent writes a block's slot (and the sample) before
            // it sends the task, and again only once the task's result is back
            // or its worker is dead: `analyze_file_split` receives a wave before
            // it writes its slots again, `waves_in_flight` waves later.
            let data =
                unsafe { view.bytes(*offset, *len) }.unwrap_or_else(|e| panic!("{path}: {e}"));
            BlockRef {
                first_line: *first_line,
                data,
                cuts,
            }
        }
    }
}

/// The process engine's memory shared with its workers, in which the blocks
/// of a file spread over them travel: a place for the file's sample, then
/// slots for the waves of blocks out at once ([`waves_in_flight`]).
pub struct BlockSlots {
    memory: SharedMemory,
    slot: usize,
    slots: usize,
}

/// How many waves of `wave` blocks of a spread file may be out at once. With
/// two (one tallied, one read meanwhile), workers waited for the parent's
/// inflating: one big file, -j2, medians of 7 side by side: two 0.894 s,
/// three 0.836 s, four 0.803 s, six 0.805 s. Four, while they hold at most
/// 64 blocks; two with many workers (-j16 and up), as before.
fn waves_in_flight(wave: usize) -> usize {
    (64 / wave.max(1)).clamp(2, 4)
}

/// Room for a file's sample: its lines that start in the first 64 KiB (a
/// larger sample, with a line longer than the rest of the room, goes inline).
const SAMPLE_ROOM: usize = 2 * logtally_core::analyze::DETECTION_BYTES;

impl BlockSlots {
    /// Slots for waves of `wave` blocks of a stream read with `max_line`;
    /// `None` where memory cannot be shared (the blocks then go with their
    /// tasks). Its pages are taken only as they are written.
    pub fn new(wave: usize, max_line: usize) -> Option<BlockSlots> {
        // A block is at least BLOCK_SIZE bytes of whole lines and at most one
        // line more; a larger one (a --max-line above a block) goes inline.
        let slot = BLOCK_SIZE + max_line.min(BLOCK_SIZE) + 1;
        let slots = waves_in_flight(wave) * wave.max(1);
        let memory = SharedMemory::new(SAMPLE_ROOM + slots * slot).ok()?;
        Some(BlockSlots {
            memory,
            slot,
            slots,
        })
    }

    /// The memory, to share with the pool before it starts.
    pub fn memory(&self) -> &SharedMemory {
        &self.memory
    }

    /// Gives the slots' pages back once a file's blocks are all tallied: the
    /// pool and its workers hold the memory to the end of the run.
    fn discard(&mut self) {
        // Where it fails, the pages stay taken until the run ends: no harm.
        let _ = self.memory.discard();
    }

    /// `block` written into slot `index` (or, with `None`, the sample's
    /// place), or sent inline where it does not fit.
    fn ship(&mut self, index: Option<usize>, block: Block) -> Shipped {
        let (offset, room) = match index {
            None => (0, SAMPLE_ROOM),
            Some(i) if i < self.slots => (SAMPLE_ROOM + i * self.slot, self.slot),
            Some(_) => return Shipped::Inline(block),
        };
        if block.data.len() > room || self.memory.write(offset, &block.data).is_err() {
            return Shipped::Inline(block);
        }
        Shipped::Shared {
            first_line: block.first_line,
            cuts: block.cuts,
            offset,
            len: block.data.len(),
        }
    }
}

/// `block` shipped in `slots` (see [`BlockSlots::ship`]), or inline where
/// there are none.
fn ship(slots: Option<&mut BlockSlots>, index: Option<usize>, block: Block) -> Shipped {
    match slots {
        Some(slots) => slots.ship(index, block),
        None => Shipped::Inline(block),
    }
}

/// Where a queued block's lines are, to say which were lost with it.
enum Span {
    Counted {
        first_line: u64,
        lines: u64,
    },
    /// In a slot of the shared memory, counted only if the block is lost.
    InSlot {
        first_line: u64,
        offset: usize,
        len: usize,
    },
}

impl Span {
    fn of(shipped: &Shipped) -> Span {
        match shipped {
            Shipped::Inline(block) => Span::Counted {
                first_line: block.first_line,
                lines: block.line_count(),
            },
            Shipped::Shared {
                first_line,
                offset,
                len,
                ..
            } => Span::InSlot {
                first_line: *first_line,
                offset: *offset,
                len: *len,
            },
        }
    }

    /// (first line, how many lines).
    fn lines(&self, slots: Option<&BlockSlots>) -> (u64, u64) {
        match *self {
            Span::Counted { first_line, lines } => (first_line, lines),
            Span::InSlot {
                first_line,
                offset,
                len,
            } => {
                let data = slots.and_then(|s| s.memory.bytes(offset, len).ok());
                let lines = data.map_or(0, |d| {
                    BlockRef {
                        first_line,
                        data: d,
                        cuts: &[],
                    }
                    .line_count()
                });
                (first_line, lines)
            }
        }
    }
}

/// Tallies one file on every worker of `pool`: this process inflates it and
/// queues line-aligned blocks, a wave of `wave` while the workers tally the
/// ones before, so at most [`waves_in_flight`] waves wait in memory (in
/// `slots`, shared with the workers, where there are). The result is
/// [`analyze_file`]'s. A file whose format reads lines in order (W3C) is
/// read here, in order. `None`: interrupted.
fn analyze_file_split(
    pool: &procpool::Pool,
    task: FileTask,
    wave: usize,
    mut slots: Option<&mut BlockSlots>,
) -> Option<Tally> {
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
    let memory = slots.as_ref().map(|s| s.memory.name());
    // No block of the file before is out (they were all received).
    let sample = ship(slots.as_deref_mut(), None, sample);
    // Lines not counted: (first line, how many), and why.
    let mut lost: Vec<(u64, u64, String)> = Vec::new();
    // The waves queued, each with its blocks' first lines and where their
    // lines can be counted, should a block be lost.
    type Queued = (procpool::IMapUnordered<Partial>, Vec<Span>);
    let mut queued: VecDeque<Queued> = VecDeque::new();
    // A wave's results, merged as they come. A worker that died loses its
    // block's lines: the file fails, saying which.
    let receive = |(mut results, spans): Queued,
                   total: &mut Partial,
                   lost: &mut Vec<(u64, u64, String)>,
                   slots: Option<&BlockSlots>| {
        while let Some((index, result)) = results.next_indexed() {
            match result {
                Ok(partial) => total.merge(partial, max_samples),
                Err(e) => {
                    let (first, count) = spans.get(index).map_or((0, 0), |span| span.lines(slots));
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
    // Blocks go to slots wave by wave, the slots of `in_flight` waves in
    // turn: a wave's slots are written again only after it is received.
    let in_flight = waves_in_flight(wave);
    let mut waves_sent = 0usize;
    while !blocks.is_empty() {
        if INTERRUPTED.load(Ordering::Relaxed) {
            return None;
        }
        let from = blocks[0].first_line;
        // This wave's slots: those of the wave `in_flight` before it.
        let first_slot = (waves_sent % in_flight) * wave;
        waves_sent += 1;
        let shipped: Vec<Shipped> = blocks
            .into_iter()
            .enumerate()
            .map(|(i, block)| ship(slots.as_deref_mut(), Some(first_slot + i), block))
            .collect();
        let spans = shipped.iter().map(Span::of).collect();
        let tasks = shipped.into_iter().map(|block| BlockTask {
            path: task.path.clone(),
            options: task.options.clone(),
            memory,
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
        // The oldest wave is received first, so at most `in_flight` are in
        // memory while the next is inflated, and the workers have the
        // others to tally.
        while queued.len() >= in_flight {
            let wave = queued.pop_front().expect("waves queued");
            receive(wave, &mut total, &mut lost, slots.as_deref());
        }
        blocks = lines.next_wave(wave, BLOCK_SIZE, &mut error);
    }
    for wave in queued {
        receive(wave, &mut total, &mut lost, slots.as_deref());
    }
    if let Some(slots) = slots {
        slots.discard();
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
            let (whole, split) = spread(tasks, jobs);
            let wave = 2 * jobs;
            // Blocks of the spread files cross in memory shared with the
            // workers, which they inherit: made before the pool.
            let mut slots = split
                .first()
                .and_then(|t| BlockSlots::new(wave, t.options.max_line));
            let mut pool = procpool::Pool::builder().processes(jobs);
            if let Some(slots) = &slots {
                pool = pool.share(slots.memory());
            }
            let pool = pool.build()?;
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
                        let Some(tally) = analyze_file_split(pool, task, wave, slots.as_mut())
                        else {
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
