// The host worker: it owns the wasm module and its rayon thread pool
// (wasm-bindgen-rayon), reads dropped files in slices and feeds them to a
// Session, so the page itself never blocks. Files are read locally only.
// Two builds of the module: with Web Worker threads (needs cross-origin
// isolation, for SharedArrayBuffer) and single-threaded (st/) for the rest.

const SLICE = 4 << 20; // bytes per read: memory stays bounded whatever the file size

let threads = 1;
let Session = null;
/** Whether the module ran out of memory (set by `ready`). */
let outOfMemory = () => false;
/** The module's memory now, in bytes. */
let memoryBytes = () => 0;

// `?memory=MB` on the page (passed on to this worker): the module's memory
// limit, below the 4 GiB wasm32 can address (a smaller device; the tests).
// `?headroom=MB`: once a run is done, the limit becomes the module's memory
// then plus MB (a device with little memory to spare; the tests of a filter
// change that runs out).
const query = new URLSearchParams(self.location.search);
let memoryLimit = Number(query.get('memory')) || 0;
const headroom = Number(query.get('headroom')) || 0;
/** Sets the module's memory limit, in MiB. */
let limitMemory = () => {};

/** Binds the module's memory watch, and sets its limit. */
function watchMemory(mod) {
  outOfMemory = mod.outOfMemory;
  memoryBytes = mod.memoryBytes;
  limitMemory = mod.limitMemory;
  limitMemory(memoryLimit);
}

/** With `?headroom=MB`: the limit from the memory the module has now. */
function leaveHeadroom() {
  if (!headroom) return;
  memoryLimit = Math.ceil(memoryBytes() / 1048576) + headroom;
  limitMemory(memoryLimit);
}

const ready = (async () => {
  if (self.crossOriginIsolated) {
    const mod = await import('./logtally-web.js');
    await mod.default();
    watchMemory(mod);
    await mod.initThreadPool(Math.max(1, navigator.hardwareConcurrency || 1));
    threads = mod.threadCount();
    Session = mod.Session;
    return { threads, note: '', choices: JSON.parse(mod.choices()) };
  }
  const mod = await import('./st/logtally-web.js');
  await mod.default();
  watchMemory(mod);
  Session = mod.Session;
  threads = 1;
  return {
    threads,
    choices: JSON.parse(mod.choices()),
    note: 'Working on one thread: this page is not cross-origin isolated, so the browser gives it no ' +
      'SharedArrayBuffer for Web Worker threads. Serve it with the headers Cross-Origin-Opener-Policy: ' +
      'same-origin and Cross-Origin-Embedder-Policy: require-corp to use every core.',
  };
})();

ready.then(
  (r) => postMessage({ type: 'ready', threads: r.threads, note: r.note, choices: r.choices }),
  (e) => postMessage({ type: 'fatal', message: String(e && e.message || e) }),
);

const pause = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Thrown where the module ran out of memory: the thread whose allocation
 * failed has stopped, so the work it had will never be done.
 */
class OutOfMemory extends Error {}

/** Waits a little, unless the module ran out of memory meanwhile. */
async function wait(ms) {
  if (outOfMemory()) throw new OutOfMemory();
  await pause(ms);
}

/**
 * The message for `error`, and whether the module must be replaced: after
 * running out of memory it cannot go on (one of its threads has stopped).
 */
function failure(error, files) {
  if (!(error instanceof OutOfMemory) && !outOfMemory()) {
    return { message: String(error && error.message || error), restart: false };
  }
  const names = (files || []).map((f) => f.name);
  const shown = names.slice(0, 5).join(', ') + (names.length > 5 ? ` and ${names.length - 5} more` : '');
  const limit = memoryLimit
    ? `over the limit set by ${headroom ? `?headroom=${headroom}, at ${memoryLimit} MiB` : `?memory=${memoryLimit}`}`
    : '4096 MiB is all a WebAssembly module can address';
  return {
    restart: true,
    message: `Out of memory: an allocation failed with the page's module at ${Math.round(memoryBytes() / 1048576)} MiB ` +
      `(${limit}) while counting ${names.length} file(s)${shown ? ` (${shown})` : ''}. ` +
      'The dashboard keeps every key and visitor in memory: count fewer files at once, or use the ' +
      'command line (logtally --report), which has no such limit. The page has started its workers again.',
  };
}

/** One run over a selection of files, identified by the page's `runId`. */
class Run {
  constructor({ runId, files, options, top }) {
    this.runId = runId;
    this.files = files;
    this.top = top;
    this.cancelled = false;
    this.complete = false; // tallied to the end: its records can be counted again
    this.session = new Session(JSON.stringify(options));
    this.fed = files.map(() => 0);
    this.done = files.map(() => false);
    this.next = 0;
    this.lastPost = 0;
    this.started = performance.now();
  }

  post(force) {
    const now = performance.now();
    if (!force && now - this.lastPost < 100) return;
    this.lastPost = now;
    postMessage({
      type: 'progress', runId: this.runId, fed: this.fed, done: this.done,
      seconds: (now - this.started) / 1000, threads,
    });
  }

  cancel() {
    this.cancelled = true;
    this.session.cancel();
  }

  // As many files in flight as threads; each file also splits into blocks
  // over the pool inside the module, so a single file uses every thread.
  async lane() {
    const { session } = this;
    while (this.next < this.files.length && !this.cancelled) {
      const i = this.next++;
      const file = this.files[i];
      const id = session.startFile(file.name);
      for (let offset = 0; offset < file.size && !this.cancelled; offset += SLICE) {
        const bytes = new Uint8Array(await file.slice(offset, offset + SLICE).arrayBuffer());
        while (!session.canFeed(id) && !this.cancelled) await wait(2);
        session.feed(id, bytes);
        this.fed[i] += bytes.length;
        this.post(false);
      }
      session.endFile(id);
      while (!session.fileDone(id)) await wait(2);
      this.done[i] = true;
      this.post(false);
    }
  }

  async run() {
    await Promise.all(Array.from({ length: Math.max(1, threads) }, () => this.lane()));
    while (!this.session.allDone()) await wait(2);
    // Relative times (since 2h) count back from the newest record: now known
    // (a cancelled run's report cannot apply them: startSettle throws, saying so).
    if (this.session.startSettle()) {
      await this.counted();
      this.session.finishSettle();
    }
    this.post(true);
    this.complete = !this.cancelled;
    leaveHeadroom();
    const seconds = (performance.now() - this.started) / 1000;
    postMessage({
      type: 'done', runId: this.runId, report: this.session.report(this.top), seconds, threads,
      cancelled: this.cancelled, recounted: false, keptBytes: this.session.keptBytes(), moduleBytes: memoryBytes(),
    });
  }

  /**
   * The same files with other options (filters, panels, bucket): counted
   * again from the records the module kept, without reading the files.
   * False when the module cannot (see `Session.retally`): read them again.
   */
  async recount(msg) {
    const same = this.complete && this.files.length === msg.files.length &&
      this.files.every((f, i) => f.name === msg.files[i].name && f.size === msg.files[i].size &&
        f.lastModified === msg.files[i].lastModified);
    if (!same) return false;
    const started = performance.now();
    // Options that do not compile throw (the page shows why) and keep this run.
    if (!this.session.startRetally(JSON.stringify(msg.options))) return false;
    await this.counted();
    if (!this.session.finishRetally()) return false;
    const seconds = (performance.now() - started) / 1000;
    this.runId = msg.runId;
    this.top = msg.top;
    postMessage({
      type: 'progress', runId: this.runId, fed: this.files.map((f) => f.size),
      done: this.files.map(() => true), seconds, threads,
    });
    postMessage({
      type: 'done', runId: this.runId, report: this.session.report(this.top), seconds, threads,
      cancelled: false, recounted: true, reshown: this.session.reshown(),
      keptBytes: this.session.keptBytes(), moduleBytes: memoryBytes(),
    });
    return true;
  }

  /**
   * Waits for the count the pool makes of the kept records (a filter change,
   * relative times), polling, so that a thread that ran out of memory ends
   * the wait (`wait` throws) instead of hanging the page.
   */
  async counted() {
    while (!this.session.retallyDone()) await wait(2);
  }

  /** Gives the module's memory for this run back. */
  free() {
    this.session.free();
    this.session = null;
  }
}

/** The run in progress, or the last one (kept to re-rank its report with another N). */
let last = null;

/** The newest selection asked for; older ones still queued are skipped. */
let latestRunId = -1;
/** Runs start one after another, in the order asked. */
let queue = Promise.resolve();

async function start(msg) {
  await ready;
  if (msg.runId !== latestRunId) return; // a newer selection came meanwhile
  // The previous run (cancelled when the new selection arrived, or finished)
  // ends before the new one starts, and its session is freed.
  const previous = last;
  if (previous) {
    await previous.finished;
    if (await previous.recount(msg)) return;
    previous.free();
    last = null;
  }
  const run = new Run(msg);
  last = run;
  run.finished = run.run().catch((e) => {
    postMessage({ type: 'error', runId: run.runId, ...failure(e, run.files) });
  });
  await run.finished;
}

onmessage = async (event) => {
  const msg = event.data;
  try {
    if (msg.type === 'run') {
      latestRunId = msg.runId;
      if (last && !last.cancelled && !last.complete) last.cancel(); // stop the run in progress at once
      // A run that fails (options that do not compile) must not stop the
      // ones after it: the queue goes on past a rejected start.
      const job = queue.then(() => start(msg));
      queue = job.catch(() => {});
      await job;
    } else if (msg.type === 'cancel') {
      if (last && last.runId === msg.runId) last.cancel();
    } else if (msg.type === 'report' && last && last.session && last.runId === msg.runId) {
      postMessage({ type: 'report', runId: msg.runId, report: last.session.report(msg.top) });
    } else if (msg.type === 'export' && last && last.session && last.runId === msg.runId) {
      // CSV and the HTML report are written by the core, as the CLI writes them.
      const text = msg.format === 'html' ? last.session.reportHtml(msg.top) : last.session.reportCsv(msg.top);
      postMessage({ type: 'export', runId: msg.runId, format: msg.format, text });
    }
  } catch (e) {
    postMessage({ type: 'error', runId: msg.runId, ...failure(e, msg.files || (last && last.files)) });
  }
};
