// The host worker: it owns the wasm module and its rayon thread pool
// (wasm-bindgen-rayon), reads dropped files in slices and feeds them to a
// Session, so the page itself never blocks. Files are read locally only.
import init, { initThreadPool, Session, threadCount } from './logtally-web.js';

const SLICE = 4 << 20; // bytes per read: memory stays bounded whatever the file size

let threads = 1;
let cancelled = false;
let session = null;

const ready = (async () => {
  if (!self.crossOriginIsolated) {
    throw new Error('This page is not cross-origin isolated, so it cannot use SharedArrayBuffer and Web Worker threads. ' +
      'Serve it with the headers Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp.');
  }
  await init();
  await initThreadPool(Math.max(1, navigator.hardwareConcurrency || 1));
  threads = threadCount();
  return threads;
})();

ready.then(
  (n) => postMessage({ type: 'ready', threads: n }),
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
