// Where each of the page's threads spends its time while it reads files (a
// profile aid, not a test): Chromium's trace of the V8 CPU profiler, which
// samples every thread, Web Workers included (Playwright's CDP sessions reach
// pages only). Prints each thread's most sampled functions, then, per tenth
// of a second, the share of its samples that were idle or waiting.
//   node web/profile.mjs [--dashboard] [FILE...]   (default: the seed corpus)
// Needs dist/ (bash scripts/web build).
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium } from './chromium.mjs';
import { serveDist } from './serve.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const dashboard = args.includes('--dashboard');
const named = args.filter((a) => a !== '--dashboard');
const seedDir = join(root, 'target', 'bench', 'corpus-seed', 'seed');
const files = named.length
  ? named
  : readdirSync(seedDir).filter((f) => f.endsWith('.gz')).sort().map((f) => join(seedDir, f));

const server = await serveDist(join(root, 'dist'));
const browser = await launchChromium();
const page = await browser.newPage();
await page.goto(server.origin + '/');
await page.waitForFunction(() => document.getElementById('status').dataset.state === 'ready', null, { timeout: 60_000 });
if ((await page.isChecked('#dashboard-mode')) !== dashboard) await page.click('#dashboard-mode');
await browser.startTracing(page, { categories: ['__metadata', 'disabled-by-default-v8.cpu_profiler'] });
await page.setInputFiles('input[type=file]', files);
await page.waitForFunction(() => ['done', 'error'].includes(document.getElementById('status').dataset.state), null, { timeout: 600_000 });
const seconds = await page.$eval('#summary', (e) => Number(e.dataset.seconds));
const trace = JSON.parse((await browser.stopTracing()).toString());
await browser.close();
server.close();

const events = Array.isArray(trace) ? trace : trace.traceEvents;
const threadNames = new Map();
for (const e of events) {
  if (e.ph === 'M' && e.name === 'thread_name') threadNames.set(`${e.pid}:${e.tid}`, e.args.name);
}
// One profile per thread, sent in chunks: its call-tree nodes, its samples and their intervals.
const profiles = new Map();
for (const e of events) {
  if (e.name !== 'Profile' && e.name !== 'ProfileChunk') continue;
  const key = `${e.pid}:${e.id}`;
  if (!profiles.has(key)) profiles.set(key, { thread: `${e.pid}:${e.tid}`, nodes: new Map(), samples: [], deltas: [] });
  const profile = profiles.get(key);
  const data = e.args.data || {};
  for (const node of (data.cpuProfile && data.cpuProfile.nodes) || []) profile.nodes.set(node.id, node);
  profile.samples.push(...((data.cpuProfile && data.cpuProfile.samples) || []));
  profile.deltas.push(...(data.timeDeltas || []));
}

const waiting = (name) => name === '(idle)' || name.includes('Condvar') || name.includes('futex');
console.log(`read in ${seconds.toFixed(2)} s (the page's own time), ${files.length} file(s), dashboard ${dashboard ? 'on' : 'off'}`);
for (const profile of profiles.values()) {
  if (!profile.samples.length) continue;
  const own = new Map();
  const tenths = [];
  let total = 0;
  profile.samples.forEach((id, i) => {
    const frame = profile.nodes.get(id)?.callFrame;
    const name = (frame && frame.functionName) || '(anonymous)';
    const dt = profile.deltas[i] || 0;
    total += dt;
    own.set(name, (own.get(name) || 0) + dt);
    const tenth = (tenths[Math.floor(total / 1e5)] ||= { waiting: 0, all: 0 });
    tenth.all += 1;
    if (waiting(name)) tenth.waiting += 1;
  });
  console.log(`\n${threadNames.get(profile.thread) || profile.thread}: ${(total / 1e6).toFixed(2)} s sampled`);
  for (const [name, us] of [...own].sort((a, b) => b[1] - a[1]).slice(0, 10)) {
    console.log(`  ${(us / 1e3).toFixed(0).padStart(6)} ms ${(100 * us / total).toFixed(1).padStart(5)}%  ${name.slice(0, 100)}`);
  }
  console.log('  idle or waiting, % per 0.1 s: ' +
    tenths.map((t) => (t ? Math.round(100 * t.waiting / t.all) : 0)).join(' '));
}
