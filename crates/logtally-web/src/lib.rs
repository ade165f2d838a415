//! logtally in the browser: the core on a Web Worker pool (wasm-bindgen-rayon).
//!
//! The page's host worker (`web/worker.js`) reads each dropped file in slices
//! and hands them to a [`Session`]; a rayon task per file pulls the slices
//! through a bounded queue and tallies the file with the same block-parallel
//! path as the CLI's thread engine, so a single large file also uses every
//! thread. Feeding never blocks the host: when a file's queue is full the host
//! waits and tries again, which keeps every file moving (no lane can starve
//! another of threads).
//!
//! Only the wasm32 target has the browser bindings; the session logic itself
//! is plain Rust and is tested natively.

use std::collections::VecDeque;
use std::io::Read;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use logtally_core::{Analyzer, FileRecords, KeepBudget, OptionsError, Tally, UserOptions};

#[cfg(target_arch = "wasm32")]
mod memory;

/// Slices a file may have queued before the host must wait.
const QUEUE_SLICES: usize = 4;

/// Memory the kept records may take (64 bytes a line plus each distinct
/// value once: about 80-120 MB per million lines), counted as they are kept
/// ([`KeepBudget`]): past it they are dropped, and a filter change reads the
/// files again. A seed-scale drop (2.6 M lines) takes 200-320 MB.
const KEEP_BUDGET: usize = 512 << 20;

/// The records of a report's files, kept to count them again with other
/// filters or panels without reading the files again.
#[derive(Default)]
struct Kept {
    /// Per file id, once the file is tallied.
    files: Vec<Option<FileRecords>>,
    /// Over the budget: nothing is kept.
    dropped: bool,
}

impl Kept {
    fn keep(&mut self, id: usize, records: FileRecords) {
        if self.dropped {
            return;
        }
        // The budget ran out while reading (every analyzer of the session
        // shares it): what is kept no longer answers for every file.
        if !records.complete() {
            self.dropped = true;
            self.files.clear();
            return;
        }
        if self.files.len() <= id {
            self.files.resize_with(id + 1, || None);
        }
        self.files[id] = Some(records);
    }
}

/// The queue of slices of one file, between the host and its rayon task.
#[derive(Default)]
struct SliceQueue {
    state: Mutex<QueueState>,
    ready: Condvar,
}

#[derive(Default)]
struct QueueState {
    slices: VecDeque<Vec<u8>>,
    ended: bool,
}

/// Reads a file's bytes as the host delivers them.
struct QueueReader {
    queue: Arc<SliceQueue>,
    current: Vec<u8>,
    pos: usize,
    cancelled: Arc<AtomicBool>,
    consumed: Arc<AtomicU64>,
}

impl Read for QueueReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.pos == self.current.len() {
            if self.cancelled.load(Ordering::Relaxed) {
                return Err(std::io::Error::other("cancelled"));
            }
            let mut state = self.queue.state.lock().unwrap();
            match state.slices.pop_front() {
                Some(slice) => {
                    self.consumed
                        .fetch_add(slice.len() as u64, Ordering::Relaxed);
                    self.current = slice;
                    self.pos = 0;
                }
                None if state.ended => return Ok(0),
                None => {
                    let _unused = self.queue.ready.wait(state).unwrap();
                }
            }
        }
        let n = buf.len().min(self.current.len() - self.pos);
        buf[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

struct FileSlot {
    queue: Arc<SliceQueue>,
    done: Arc<AtomicBool>,
}

/// A file's task, run by a thread pool or, single-threaded, when its last
/// slice has arrived.
type FileTask = Box<dyn FnOnce() + Send>;

/// One run over a set of files: files are started, fed and ended by the host;
/// their tallies merge into one report.
pub struct Session {
    options: UserOptions,
    analyzer: Analyzer,
    files: Vec<FileSlot>,
    total: Arc<Mutex<Tally>>,
    /// The files' records (reports with panels only).
    kept: Arc<Mutex<Kept>>,
    cancelled: Arc<AtomicBool>,
    consumed: Arc<AtomicU64>,
    /// Runs a file's task on a pool; `None`: single-threaded, tasks wait in
    /// `deferred` for their file's end (the file's slices stay queued until then).
    spawn: Option<fn(FileTask)>,
    deferred: Vec<Option<FileTask>>,
    wave: usize,
    /// Options with relative times, to count with once every file is read.
    relative: Option<UserOptions>,
    /// A count of the kept records again under way ([`Session::start_retally`]).
    recount: Option<Arc<Mutex<Option<Recounted>>>>,
    /// The view a count again replaced: its tally, analyzer and options. A
    /// filter taken off again (the usual way back) shows it at once instead
    /// of counting every record again (seconds for millions of records).
    /// Kept only until the next count starts, so memory never holds more
    /// than while a count runs: the tally shown and the one being made.
    previous: Option<View>,
    /// Whether the last count again was that view shown again.
    reshown: bool,
}

/// What the session shows: a tally, and the analyzer and options it was made with.
type View = (Tally, Analyzer, UserOptions);

/// A count of the kept records again, as a [`View`]; `None` when relative
/// times found no record with a time.
type Recounted = Result<Option<View>, OptionsError>;

/// The kept records counted with `options` (relative times made absolute
/// from the newest of them, counted as a relative time's first pass counts it).
fn recount(kept: &Kept, options: UserOptions) -> Recounted {
    let records: Vec<&FileRecords> = kept.files.iter().flatten().collect();
    let options = match options.newest_probe() {
        None => options,
        Some(probe) => {
            let newest = retally_files(&Analyzer::new(probe.compile()?), &records).newest();
            match newest {
                Some(newest) => options.before_newest(newest),
                None => return Ok(None),
            }
        }
    };
    let analyzer = Analyzer::new(options.compile()?);
    let total = retally_files(&analyzer, &records);
    Ok(Some((total, analyzer, options)))
}

impl Session {
    /// A session with these options (the core's JSON contract, as the CLI's
    /// flags); `spawn` runs a file's task (rayon's `spawn` in the browser, a
    /// thread in native tests; `None` runs it on this thread when the file
    /// ends); `wave` blocks per parallel step inside a file.
    pub fn new(
        options: UserOptions,
        spawn: Option<fn(FileTask)>,
        wave: usize,
    ) -> Result<Self, OptionsError> {
        // Relative times (`since: "2h"`) count back from the newest record:
        // the files are read without them, keeping their records, and counted
        // again once the newest is known ([`settle`](Self::settle)).
        let relative = options.newest_probe().is_some();
        let reading = if relative && options.report {
            UserOptions {
                since: None,
                until: None,
                ..options.clone()
            }
        } else {
            options.clone()
        };
        let mut analyzer = Analyzer::new(reading.compile()?);
        if reading.report {
            analyzer.keep_records(Some(KeepBudget::bytes(KEEP_BUDGET)));
        }
        Ok(Session {
            analyzer,
            options: reading,
            relative: relative.then_some(options),
            files: Vec::new(),
            total: Arc::new(Mutex::new(Tally::default())),
            kept: Arc::new(Mutex::new(Kept::default())),
            cancelled: Arc::new(AtomicBool::new(false)),
            consumed: Arc::new(AtomicU64::new(0)),
            spawn,
            deferred: Vec::new(),
            wave,
            recount: None,
            previous: None,
            reshown: false,
        })
    }

    /// Starts tallying a file whose bytes will follow; returns its id.
    pub fn start_file(&mut self, name: &str) -> usize {
        let queue = Arc::new(SliceQueue::default());
        let done = Arc::new(AtomicBool::new(false));
        let reader = QueueReader {
            queue: Arc::clone(&queue),
            current: Vec::new(),
            pos: 0,
            cancelled: Arc::clone(&self.cancelled),
            consumed: Arc::clone(&self.consumed),
        };
        let analyzer = self.analyzer.clone();
        let total = Arc::clone(&self.total);
        let kept = Arc::clone(&self.kept);
        let keep = self.options.report && !self.kept.lock().unwrap().dropped;
        let finished = Arc::clone(&done);
        let name = name.to_string();
        let wave = self.wave;
        let id = self.files.len();
        let task: FileTask = Box::new(move || {
            let tally = if keep {
                let (tally, records) = tally_stream_indexed(&analyzer, &name, reader, wave);
                kept.lock().unwrap().keep(id, records);
                tally
            } else {
                tally_stream(&analyzer, &name, reader, wave)
            };
            total.lock().unwrap().merge(tally);
            finished.store(true, Ordering::Release);
        });
        match self.spawn {
            Some(spawn) => {
                spawn(task);
                self.deferred.push(None);
            }
            None => self.deferred.push(Some(task)),
        }
        self.files.push(FileSlot { queue, done });
        id
    }

    /// Whether file `id` can take another slice now.
    pub fn can_feed(&self, id: usize) -> bool {
        if self.spawn.is_none() {
            return true; // single-threaded: the file is read when it ends
        }
        self.files
            .get(id)
            .is_some_and(|f| f.queue.state.lock().unwrap().slices.len() < QUEUE_SLICES)
    }

    /// Queues the next slice of file `id` (check [`can_feed`](Self::can_feed) first
    /// to keep memory bounded).
    pub fn feed(&self, id: usize, bytes: Vec<u8>) {
        if let Some(f) = self.files.get(id) {
            f.queue.state.lock().unwrap().slices.push_back(bytes);
            f.queue.ready.notify_all();
        }
    }

    /// Says that file `id` has no more bytes (single-threaded: tallies it now).
    pub fn end_file(&mut self, id: usize) {
        if let Some(f) = self.files.get(id) {
            f.queue.state.lock().unwrap().ended = true;
            f.queue.ready.notify_all();
        }
        if let Some(task) = self.deferred.get_mut(id).and_then(Option::take) {
            task();
        }
    }

    /// Whether file `id` is tallied.
    pub fn file_done(&self, id: usize) -> bool {
        self.files
            .get(id)
            .is_some_and(|f| f.done.load(Ordering::Acquire))
    }

    /// Whether every started file is tallied.
    pub fn all_done(&self) -> bool {
        self.files.iter().all(|f| f.done.load(Ordering::Acquire))
    }

    /// Bytes the file tasks have taken in so far (compressed).
    pub fn bytes_consumed(&self) -> u64 {
        self.consumed.load(Ordering::Relaxed)
    }

    /// Stops: file tasks end at their next read; the report is marked partial.
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
        for f in &self.files {
            f.queue.ready.notify_all();
        }
    }

    /// Counts the files' kept records again with `options` (other filters,
    /// panels or bucket) instead of reading the files again: `Ok(true)` when
    /// done, the session's report then being the new options' one;
    /// `Ok(false)` when the session cannot (a run with one key, unfinished
    /// or cancelled, records over the memory budget, options that read
    /// lines otherwise: log format, line limit, `book_compat`; or relative
    /// times and no record with a time). Waits for the count: the page uses
    /// [`start_retally`](Self::start_retally) instead, which does not.
    pub fn retally(&mut self, options: UserOptions) -> Result<bool, OptionsError> {
        if !self.start_retally(options)? {
            return Ok(false);
        }
        self.wait_for_recount();
        self.finish_retally()
    }

    /// Waits, on this thread, for the count [`start_retally`](Self::start_retally) started.
    fn wait_for_recount(&self) {
        while !self.retally_done() {
            std::thread::yield_now();
        }
    }

    /// Starts counting the kept records again with `options` (see
    /// [`retally`](Self::retally)) on the pool, and returns: `Ok(false)`
    /// when the session cannot, options that do not compile an error now.
    /// The host polls [`retally_done`](Self::retally_done), so that a pool
    /// thread that runs out of memory stops the page's wait rather than
    /// hanging it, then calls [`finish_retally`](Self::finish_retally).
    pub fn start_retally(&mut self, options: UserOptions) -> Result<bool, OptionsError> {
        let same_reading = self.options.log_format == options.log_format
            && self.options.max_line == options.max_line
            && self.options.book_compat == options.book_compat;
        if !(self.options.report && options.report && same_reading && self.records_kept()) {
            return Ok(false);
        }
        match options.newest_probe() {
            Some(probe) => drop(probe.compile()?),
            None => drop(options.compile()?),
        }
        let slot: Arc<Mutex<Option<Recounted>>> = Arc::default();
        self.reshown = false;
        match self.previous.take() {
            Some(view) if view.2 == options => {
                *slot.lock().unwrap() = Some(Ok(Some(view)));
                self.recount = Some(slot);
                self.reshown = true;
                return Ok(true);
            }
            _ => {}
        }
        let kept = Arc::clone(&self.kept);
        let made = Arc::clone(&slot);
        let task: FileTask = Box::new(move || {
            let recounted = recount(&kept.lock().unwrap(), options);
            *made.lock().unwrap() = Some(recounted);
        });
        self.recount = Some(slot);
        match self.spawn {
            Some(spawn) => spawn(task),
            None => task(),
        }
        Ok(true)
    }

    /// Whether the count started by [`start_retally`](Self::start_retally)
    /// is done (true when none was started).
    pub fn retally_done(&self) -> bool {
        self.recount
            .as_ref()
            .is_none_or(|slot| slot.lock().unwrap().is_some())
    }

    /// Makes the finished count the session's report: `Ok(true)`; `Ok(false)`
    /// when relative times found no record with a time, or no count is done.
    pub fn finish_retally(&mut self) -> Result<bool, OptionsError> {
        let Some(slot) = self.recount.take() else {
            return Ok(false);
        };
        let recounted = slot.lock().unwrap().take();
        match recounted {
            Some(Ok(Some((total, analyzer, options)))) => {
                let shown = std::mem::replace(&mut *self.total.lock().unwrap(), total);
                let analyzer = std::mem::replace(&mut self.analyzer, analyzer);
                let options = std::mem::replace(&mut self.options, options);
                self.previous = Some((shown, analyzer, options));
                Ok(true)
            }
            Some(Ok(None)) => Ok(false),
            Some(Err(e)) => Err(e),
            None => {
                self.recount = Some(slot); // not done yet
                Ok(false)
            }
        }
    }

    /// Whether every file is read, not cancelled, and its records kept.
    fn records_kept(&self) -> bool {
        if self.cancelled.load(Ordering::Relaxed) || !self.all_done() {
            return false;
        }
        let kept = self.kept.lock().unwrap();
        !kept.dropped
            && kept.files.len() == self.files.len()
            && kept.files.iter().all(Option::is_some)
    }

    /// Once every file is read: counts with relative times (`since: "2h"`)
    /// made absolute from the newest record. An error says why it cannot be.
    /// Waits for the count: the page uses [`start_settle`](Self::start_settle).
    pub fn settle(&mut self) -> Result<(), String> {
        if self.start_settle()? {
            self.wait_for_recount();
            self.finish_settle()?;
        }
        Ok(())
    }

    /// Starts the count of [`settle`](Self::settle): `Ok(false)` when there
    /// is nothing to settle; else the host polls
    /// [`retally_done`](Self::retally_done), then calls
    /// [`finish_settle`](Self::finish_settle).
    pub fn start_settle(&mut self) -> Result<bool, String> {
        let Some(options) = self.relative.take() else {
            return Ok(false);
        };
        if self.cancelled.load(Ordering::Relaxed) {
            // Read without its times, the partial tally would pass for them.
            return Err("cancelled before the newest record was known: relative since/until were not applied, so there is no report".into());
        }
        if !self.records_kept() {
            return Err(format!(
                "relative since/until count back from the newest record, which needs the records kept in memory (up to {} MiB): give absolute times, or drop fewer lines",
                KEEP_BUDGET >> 20
            ));
        }
        self.start_retally(options).map_err(|e| e.to_string())
    }

    /// Ends the count of [`start_settle`](Self::start_settle).
    pub fn finish_settle(&mut self) -> Result<(), String> {
        match self.finish_retally() {
            Ok(true) => Ok(()),
            Ok(false) => Err("relative since/until: no record has a time".into()),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Whether the last count again showed the view before it again, kept
    /// in memory, instead of counting ([`start_retally`](Self::start_retally)).
    pub fn reshown(&self) -> bool {
        self.reshown
    }

    /// Memory the kept records take, in bytes (0 when none are kept).
    pub fn kept_bytes(&self) -> usize {
        let kept = self.kept.lock().unwrap();
        kept.files
            .iter()
            .flatten()
            .map(FileRecords::heap_bytes)
            .sum()
    }

    /// The session's options showing the top `top` rows (0: all).
    fn shown(&self, top: usize) -> UserOptions {
        UserOptions {
            top,
            all: top == 0,
            ..self.options.clone()
        }
    }

    /// The merged report of one key (schema 1), its top `top` rows (0: all).
    fn counts(&self, top: usize) -> logtally_core::Report {
        let mut report = self.total.lock().unwrap().report(&self.shown(top));
        report.partial = self.cancelled.load(Ordering::Relaxed);
        report
    }

    /// The merged report in the CLI's JSON schema, its top `top` rows (0: all).
    pub fn report_json(&self, top: usize) -> String {
        if self.options.report {
            serde_json::to_string(&self.dashboard(top)).expect("a report serializes")
        } else {
            serde_json::to_string(&self.counts(top)).expect("a report serializes")
        }
    }

    /// The report with panels (schema 2), its top `top` rows per panel (0: all).
    pub fn dashboard(&self, top: usize) -> logtally_core::Dashboard {
        let options = UserOptions {
            report: true,
            ..self.shown(top)
        };
        let mut report = self.total.lock().unwrap().dashboard(&options);
        report.partial = self.cancelled.load(Ordering::Relaxed);
        report
    }

    /// The report with panels as one self-contained HTML file (the CLI's
    /// `--format html`).
    pub fn report_html(&self, top: usize) -> String {
        logtally_render::html(&self.dashboard(top))
    }

    /// The report as CSV: the counts (`KEY,count`), or with panels every
    /// panel's rows in long form (`panel,key,hits,visitors,bytes`).
    pub fn report_csv(&self, top: usize) -> String {
        if self.options.report {
            logtally_render::panels_table(&self.dashboard(top), ',')
        } else {
            logtally_render::counts_table(&self.counts(top), ',')
        }
    }
}

#[cfg(all(target_arch = "wasm32", feature = "threads"))]
fn tally_stream(analyzer: &Analyzer, name: &str, reader: QueueReader, wave: usize) -> Tally {
    logtally_core::parallel::analyze_parallel(analyzer, name, reader, wave)
}

#[cfg(all(target_arch = "wasm32", feature = "threads"))]
fn tally_stream_indexed(
    analyzer: &Analyzer,
    name: &str,
    reader: QueueReader,
    wave: usize,
) -> (Tally, FileRecords) {
    logtally_core::parallel::analyze_parallel_indexed(analyzer, name, reader, wave)
}

#[cfg(all(target_arch = "wasm32", feature = "threads"))]
fn retally_files(analyzer: &Analyzer, records: &[&FileRecords]) -> Tally {
    logtally_core::parallel::retally_parallel(analyzer, records)
}

#[cfg(not(all(target_arch = "wasm32", feature = "threads")))]
fn tally_stream(analyzer: &Analyzer, name: &str, reader: QueueReader, _wave: usize) -> Tally {
    analyzer.clone().analyze(name, reader)
}

#[cfg(not(all(target_arch = "wasm32", feature = "threads")))]
fn tally_stream_indexed(
    analyzer: &Analyzer,
    name: &str,
    reader: QueueReader,
    _wave: usize,
) -> (Tally, FileRecords) {
    analyzer.clone().analyze_indexed(name, reader)
}

#[cfg(not(all(target_arch = "wasm32", feature = "threads")))]
fn retally_files(analyzer: &Analyzer, records: &[&FileRecords]) -> Tally {
    let mut total = Tally::default();
    for records in records {
        total.merge(analyzer.clone().retally(records));
    }
    total
}

#[cfg(target_arch = "wasm32")]
pub mod browser {
    use super::*;
    use wasm_bindgen::prelude::*;

    #[cfg(feature = "threads")]
    pub use wasm_bindgen_rayon::init_thread_pool;

    /// The page's handle on a [`Session`].
    #[wasm_bindgen(js_name = Session)]
    pub struct WebSession(Session);

    #[cfg(feature = "threads")]
    fn spawner() -> Option<fn(FileTask)> {
        fn spawn_on_pool(task: FileTask) {
            rayon::spawn(task);
        }
        Some(spawn_on_pool)
    }

    #[cfg(not(feature = "threads"))]
    fn spawner() -> Option<fn(FileTask)> {
        None
    }

    #[wasm_bindgen(js_class = Session)]
    impl WebSession {
        /// A session for the page options given as JSON.
        #[wasm_bindgen(constructor)]
        pub fn new(options_json: &str) -> Result<WebSession, JsError> {
            let wave = 2 * thread_count();
            UserOptions::from_json(options_json)
                .and_then(|options| Session::new(options, spawner(), wave))
                .map(WebSession)
                .map_err(|e| JsError::new(&e.to_string()))
        }

        /// Starts a file; returns its id.
        #[wasm_bindgen(js_name = startFile)]
        pub fn start_file(&mut self, name: &str) -> usize {
            self.0.start_file(name)
        }

        /// Whether file `id` can take a slice now.
        #[wasm_bindgen(js_name = canFeed)]
        pub fn can_feed(&self, id: usize) -> bool {
            self.0.can_feed(id)
        }

        /// Queues a slice of file `id`. Taken as a `Vec`: wasm-bindgen copies
        /// the JavaScript bytes into the module once, and the queue keeps that
        /// copy (a slice borrowed here was copied a second time).
        pub fn feed(&self, id: usize, bytes: Vec<u8>) {
            self.0.feed(id, bytes);
        }

        /// No more bytes for file `id`.
        #[wasm_bindgen(js_name = endFile)]
        pub fn end_file(&mut self, id: usize) {
            self.0.end_file(id);
        }

        /// Whether file `id` is tallied.
        #[wasm_bindgen(js_name = fileDone)]
        pub fn file_done(&self, id: usize) -> bool {
            self.0.file_done(id)
        }

        /// Whether every file is tallied.
        #[wasm_bindgen(js_name = allDone)]
        pub fn all_done(&self) -> bool {
            self.0.all_done()
        }

        /// Compressed bytes taken in so far.
        #[wasm_bindgen(js_name = bytesConsumed)]
        pub fn bytes_consumed(&self) -> f64 {
            self.0.bytes_consumed() as f64
        }

        /// Stops the run; the report will be marked partial.
        pub fn cancel(&self) {
            self.0.cancel();
        }

        /// Starts counting the kept records again with the options given as
        /// JSON: true when started (poll `retallyDone`, then `finishRetally`),
        /// false when the files must be read again (see [`Session::retally`]);
        /// throws for options that do not compile.
        #[wasm_bindgen(js_name = startRetally)]
        pub fn start_retally(&mut self, options_json: &str) -> Result<bool, JsError> {
            UserOptions::from_json(options_json)
                .and_then(|options| self.0.start_retally(options))
                .map_err(|e| JsError::new(&e.to_string()))
        }

        /// Whether the count started by `startRetally` or `startSettle` is done.
        #[wasm_bindgen(js_name = retallyDone)]
        pub fn retally_done(&self) -> bool {
            self.0.retally_done()
        }

        /// Makes the finished count the report: true; false when the files
        /// must be read again (see [`Session::finish_retally`]).
        #[wasm_bindgen(js_name = finishRetally)]
        pub fn finish_retally(&mut self) -> Result<bool, JsError> {
            self.0
                .finish_retally()
                .map_err(|e| JsError::new(&e.to_string()))
        }

        /// Once every file is read: starts counting with relative times made
        /// absolute (see [`Session::start_settle`]): true when started (poll
        /// `retallyDone`, then `finishSettle`); throws saying why it cannot.
        #[wasm_bindgen(js_name = startSettle)]
        pub fn start_settle(&mut self) -> Result<bool, JsError> {
            self.0.start_settle().map_err(|e| JsError::new(&e))
        }

        /// Whether the last count again showed the view before it, kept in memory.
        pub fn reshown(&self) -> bool {
            self.0.reshown()
        }

        /// Ends the count of `startSettle`; throws saying why it could not be made.
        #[wasm_bindgen(js_name = finishSettle)]
        pub fn finish_settle(&mut self) -> Result<(), JsError> {
            self.0.finish_settle().map_err(|e| JsError::new(&e))
        }

        /// Memory the kept records take, in bytes.
        #[wasm_bindgen(js_name = keptBytes)]
        pub fn kept_bytes(&self) -> f64 {
            self.0.kept_bytes() as f64
        }

        /// The report as JSON (the CLI's schema); `top` 0 means all rows.
        pub fn report(&self, top: usize) -> String {
            self.0.report_json(top)
        }

        /// The report with panels as one self-contained HTML file (the CLI's
        /// `--format html`, the same renderer as the page's dashboard).
        #[wasm_bindgen(js_name = reportHtml)]
        pub fn report_html(&self, top: usize) -> String {
            self.0.report_html(top)
        }

        /// The report as CSV, written by the core (as the CLI writes it).
        #[wasm_bindgen(js_name = reportCsv)]
        pub fn report_csv(&self, top: usize) -> String {
            self.0.report_csv(top)
        }
    }

    /// What the page's controls offer, from the core: `{"log_formats": [...],
    /// "keys": [...]}` (`auto` first among the formats).
    #[wasm_bindgen(js_name = choices)]
    pub fn choices() -> String {
        let formats: Vec<&str> = std::iter::once(logtally_core::analyze::AUTO)
            .chain(logtally_core::LOG_FORMAT_PRESETS.iter().copied())
            .collect();
        let keys: Vec<&str> = logtally_core::GroupBy::ALL
            .iter()
            .map(|g| g.name())
            .collect();
        serde_json::json!({ "log_formats": formats, "keys": keys }).to_string()
    }

    /// The page's floor, as the command line's `--decompress-only` is its
    /// own: the lines of one file's bytes (gzip or plain), inflated and split
    /// on this thread, nothing parsed. The benchmark (`web/bench.mjs`) times
    /// it against the browser's `DecompressionStream`.
    #[wasm_bindgen(js_name = linesIn)]
    pub fn lines_in(bytes: Vec<u8>) -> Result<f64, JsError> {
        let mut lines = logtally_core::LineReader::new(&bytes[..]);
        let mut n = 0u64;
        while lines
            .next_line()
            .map_err(|e| JsError::new(&e.to_string()))?
            .is_some()
        {
            n += 1;
        }
        Ok(n as f64)
    }

    /// Whether the module ran out of memory (an allocation failed, in any of
    /// its threads): it cannot go on, and the page starts a new one.
    #[wasm_bindgen(js_name = outOfMemory)]
    pub fn out_of_memory() -> bool {
        crate::memory::failed()
    }

    /// Fails the module's allocations once its memory has grown past
    /// `mebibytes` (0: only wasm32's 4 GiB), as it fails at 4 GiB.
    #[wasm_bindgen(js_name = limitMemory)]
    pub fn limit_memory(mebibytes: u32) {
        crate::memory::limit((mebibytes as usize).saturating_mul(1 << 20));
    }

    /// The module's memory now, in bytes.
    #[wasm_bindgen(js_name = memoryBytes)]
    pub fn memory_bytes() -> f64 {
        crate::memory::size() as f64
    }

    /// Threads in the pool (1 in the single-threaded build).
    #[wasm_bindgen(js_name = threadCount)]
    pub fn thread_count() -> usize {
        #[cfg(feature = "threads")]
        return rayon::current_num_threads();
        #[cfg(not(feature = "threads"))]
        return 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn thread(task: FileTask) {
        std::thread::spawn(task);
    }

    #[test]
    fn single_threaded_sessions_tally_when_a_file_ends() {
        let sample = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../samples/apache_logs.gz"
        ))
        .unwrap();
        let all = UserOptions {
            top: 0,
            all: true,
            ..UserOptions::default()
        };
        let expected = Analyzer::new(all.compile().unwrap()).analyze("apache_logs.gz", &sample[..]);
        let mut session = Session::new(UserOptions::default(), None, 1).unwrap();
        let id = session.start_file("apache_logs.gz");
        for piece in sample.chunks(100_000) {
            assert!(session.can_feed(id));
            session.feed(id, piece.to_vec());
        }
        assert!(!session.file_done(id));
        session.end_file(id);
        assert!(session.all_done());
        let want = serde_json::to_string(&expected.report(&all)).unwrap();
        assert_eq!(session.report_json(0), want);
    }

    #[test]
    fn slices_fed_in_any_size_give_the_cli_tally() {
        let sample = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../samples/apache_logs.gz"
        ))
        .unwrap();
        let all = UserOptions {
            top: 0,
            all: true,
            ..UserOptions::default()
        };
        let expected = Analyzer::new(all.compile().unwrap()).analyze("apache_logs.gz", &sample[..]);
        let mut session = Session::new(UserOptions::default(), Some(thread), 4).unwrap();
        let a = session.start_file("apache_logs.gz");
        let b = session.start_file("apache_logs.gz");
        for (i, piece) in sample.chunks(7777).enumerate() {
            for id in [a, b] {
                while !session.can_feed(id) {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                if i % 2 == 0 || id == a {
                    session.feed(id, piece.to_vec());
                } else {
                    // The other file takes the same bytes split differently.
                    let (x, y) = piece.split_at(piece.len() / 3);
                    session.feed(id, x.to_vec());
                    session.feed(id, y.to_vec());
                }
            }
        }
        session.end_file(a);
        session.end_file(b);
        while !session.all_done() {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        let mut twice = expected.clone();
        twice.merge(expected);
        let want = serde_json::to_string(&twice.report(&all)).unwrap();
        assert_eq!(session.report_json(0), want);
        assert_eq!(session.bytes_consumed(), 2 * sample.len() as u64);
    }

    fn sample() -> Vec<u8> {
        std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../samples/apache_logs.gz"
        ))
        .unwrap()
    }

    /// A session over the sample, fed in one piece, finished.
    fn finished_session(options: UserOptions, files: usize) -> Session {
        let sample = sample();
        let mut session = Session::new(options, None, 1).unwrap();
        for n in 0..files {
            let id = session.start_file(&format!("apache_logs-{n}.gz"));
            session.feed(id, sample.clone());
            session.end_file(id);
        }
        assert!(session.all_done());
        session
    }

    #[test]
    fn a_filter_change_counts_the_kept_records_as_a_new_run_would() {
        let report = UserOptions {
            report: true,
            ..UserOptions::default()
        };
        let mut session = finished_session(report.clone(), 2);
        assert!(session.kept_bytes() > 0);
        let first = session.report_json(0);
        for change in [
            UserOptions {
                conditions: vec!["status>=400".into()],
                ..report.clone()
            },
            UserOptions {
                since: Some("2015-05-19".into()),
                panels: vec![logtally_core::GroupBy::Path],
                bucket: Some("1h".parse().unwrap()),
                ..report.clone()
            },
            report.clone(),
        ] {
            assert!(session.retally(change.clone()).unwrap());
            let read_again = finished_session(change, 2);
            assert_eq!(session.report_json(0), read_again.report_json(0));
        }
        assert_eq!(session.report_json(0), first);
        // What the records cannot answer: the files are read again.
        let other_format = UserOptions {
            log_format: "common".into(),
            ..report.clone()
        };
        assert!(!session.retally(other_format).unwrap());
        let one_key = UserOptions::default();
        assert!(!session.retally(one_key.clone()).unwrap());
        // Relative times count back from the newest record of the kept ones.
        let last_day = UserOptions {
            since: Some("1d".into()),
            ..report.clone()
        };
        let mut relative = finished_session(last_day.clone(), 2);
        relative.settle().unwrap();
        let probe = last_day.newest_probe().unwrap();
        let newest = Analyzer::new(probe.compile().unwrap())
            .analyze("apache_logs.gz", &sample()[..])
            .newest()
            .unwrap();
        let absolute = last_day.before_newest(newest);
        assert_ne!(absolute.since, last_day.since);
        let read_absolute = finished_session(absolute, 2);
        assert_eq!(relative.report_json(0), read_absolute.report_json(0));
        assert!(session.retally(last_day).unwrap());
        assert_eq!(session.report_json(0), read_absolute.report_json(0));
        let mut one_key_session = finished_session(one_key, 1);
        assert_eq!(one_key_session.kept_bytes(), 0);
        assert!(!one_key_session.retally(report).unwrap());
    }

    #[test]
    fn a_filter_change_on_the_pool_is_polled_to_its_end() {
        let report = UserOptions {
            report: true,
            ..UserOptions::default()
        };
        let mut session = Session::new(report.clone(), Some(thread), 1).unwrap();
        let id = session.start_file("apache_logs-0.gz");
        session.feed(id, sample());
        session.end_file(id);
        while !session.all_done() {
            std::thread::yield_now();
        }
        let errors = UserOptions {
            conditions: vec!["status>=400".into()],
            ..report.clone()
        };
        assert!(session.start_retally(errors.clone()).unwrap());
        while !session.retally_done() {
            std::thread::yield_now();
        }
        assert!(session.finish_retally().unwrap());
        let read_again = finished_session(errors, 1);
        assert!(session.report_json(0) == read_again.report_json(0));
        // Options that do not compile are refused before any count starts.
        let bad = UserOptions {
            conditions: vec!["status>>4".into()],
            ..report
        };
        assert!(session.start_retally(bad).is_err());
        assert!(session.retally_done());
        assert!(!session.finish_retally().unwrap(), "no count was started");
    }

    #[test]
    fn a_filter_taken_off_again_shows_the_view_before_without_counting() {
        let report = UserOptions {
            report: true,
            ..UserOptions::default()
        };
        let mut session = finished_session(report.clone(), 2);
        let unfiltered = session.report_json(0);
        let errors = UserOptions {
            conditions: vec!["status>=400".into()],
            ..report.clone()
        };
        assert!(session.retally(errors.clone()).unwrap());
        let filtered = session.report_json(0);
        assert!(filtered != unfiltered);
        // From here a count would never end: the pool loses every task.
        fn nowhere(_: FileTask) {}
        session.spawn = Some(nowhere);
        for (options, shown) in [(&report, &unfiltered), (&errors, &filtered)] {
            assert!(session.start_retally(options.clone()).unwrap());
            assert!(session.retally_done(), "the view before is shown at once");
            assert!(session.finish_retally().unwrap());
            assert!(session.report_json(0) == *shown && session.reshown());
        }
        // Other options are counted (and here never end).
        let server_errors = UserOptions {
            conditions: vec!["status>=500".into()],
            ..report
        };
        assert!(session.start_retally(server_errors).unwrap());
        assert!(!session.retally_done() && !session.reshown());
    }

    #[test]
    fn page_options_are_the_core_contract() {
        let options = UserOptions::from_json(
            r#"{"prefix": "/book/", "by": "status", "no_path_filter": true}"#,
        )
        .unwrap();
        let session = Session::new(options, None, 1).unwrap();
        let report: serde_json::Value = serde_json::from_str(&session.report_json(0)).unwrap();
        assert_eq!(report["options"]["by"], "status");
        assert_eq!(report["options"]["prefix"], "/book/");
        assert!(UserOptions::from_json(r#"{"by": "colour"}"#).is_err());
        let zero = UserOptions::from_json(r#"{"max_line": 0}"#).unwrap();
        assert!(Session::new(zero, None, 1).is_err());
    }
}
