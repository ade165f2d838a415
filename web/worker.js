// The host worker: it owns the wasm module and its rayon thread pool
// (wasm-bindgen-rayon), reads dropped files in slices and feeds them to a
// Session, so the page itself never blocks. Files are read locally only.
// Two builds of the module: with Web Worker threads (needs cross-origin
// isolation, for SharedArrayBuffer) and single-threaded (st/) for the rest.

const SLICE = 4 << 20; // bytes per read: memory stays bounded whatever the file size

let threads = 1;
let cancelled = false;
let session = null;
let Session = null;

const ready = (async () => {
  if (self.crossOriginIsolated) {
    const mod = await import('./logtally-web.js');
    await mod.default();
    await mod.initThreadPool(Math.max(1, navigator.hardwareConcurrency || 1));
    threads = mod.threadCount();
    Session = mod.Session;
    return { threads, note: '' };
  }
  const mod = await import('./st/logtally-web.js');
  await mod.default();
  Session = mod.Session;
  threads = 1;
  return {
    threads,
    note: 'Working on one thread: this page is not cross-origin isolated, so the browser gives it no ' +
      'SharedArrayBuffer for Web Worker threads. Serve it with the headers Cross-Origin-Opener-Policy: ' +
      'same-origin and Cross-Origin-Embedder-Policy: require-corp to use every core.',
  };
})();

ready.then(
  (r) => postMessage({ type: 'ready', threads: r.threads, note: r.note }),
  (e) => postMessage({ type: 'fatal', message: String(e && e.message || e) }),
);

const pause = (ms) => new Promise((r) => setTimeout(r, ms));

async function run({ files, options, top }) {
  await ready;
  cancelled = false;
  session = new Session(JSON.stringify(options));
  const started = performance.now();
  const fed = files.map(() => 0);
  const done = files.map(() => false);
  let next = 0;
  let lastPost = 0;
  const post = (force) => {
    const now = performance.now();
    if (!force && now - lastPost < 100) return;
    lastPost = now;
    postMessage({ type: 'progress', fed, done, seconds: (now - started) / 1000, threads });
  };
  // As many files in flight as threads; each file also splits into blocks
  // over the pool inside the module, so a single file uses every thread.
  const lane = async () => {
    while (next < files.length && !cancelled) {
      const i = next++;
      const file = files[i];
      const id = session.startFile(file.name);
      for (let offset = 0; offset < file.size && !cancelled; offset += SLICE) {
        const bytes = new Uint8Array(await file.slice(offset, offset + SLICE).arrayBuffer());
        while (!session.canFeed(id) && !cancelled) await pause(2);
        session.feed(id, bytes);
        fed[i] += bytes.length;
        post(false);
      }
      session.endFile(id);
      while (!session.fileDone(id)) await pause(2);
      done[i] = true;
      post(false);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, threads) }, lane));
  while (!session.allDone()) await pause(2);
  post(true);
  const seconds = (performance.now() - started) / 1000;
  postMessage({ type: 'done', report: session.report(top), seconds, threads, cancelled });
}

onmessage = async (event) => {
  const msg = event.data;
  try {
    if (msg.type === 'run') {
      await run(msg);
    } else if (msg.type === 'cancel') {
      cancelled = true;
      if (session) session.cancel();
    } else if (msg.type === 'report' && session) {
      postMessage({ type: 'report', report: session.report(msg.top) });
    }
  } catch (e) {
    postMessage({ type: 'error', message: String(e && e.message || e) });
  }
};
