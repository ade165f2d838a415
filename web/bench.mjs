// The page's throughput in headless Chromium against the native thread engine
// on the same files: node web/bench.mjs [FILE...]
// (default: the seed corpus of bench/bench.py). Needs dist/ and the release CLI.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium } from './chromium.mjs';
import { serveDist } from './serve.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const bin = join(root, 'target', 'release', 'logtally');
const seedDir = join(root, 'target', 'bench', 'corpus-seed', 'seed');
const files = process.argv.slice(2).length
  ? process.argv.slice(2)
  : readdirSync(seedDir).filter((f) => f.endsWith('.gz')).sort().map((f) => join(seedDir, f));
const server = await serveDist(dist);
const origin = server.origin;
const browser = await launchChromium();

const runs = [];
for (let i = 0; i < 3; i++) {
  const page = await browser.newPage();
  await page.goto(origin + '/');
  await page.waitForFunction(() => document.getElementById('status').dataset.state === 'ready', null, { timeout: 60_000 });
  await page.setInputFiles('input[type=file]', files);
  await page.waitForFunction(() => ['done', 'error'].includes(document.getElementById('status').dataset.state), null, { timeout: 600_000 });
  runs.push(await page.$eval('#summary', (s) => ({ ...s.dataset })));
  await page.close();
}
await browser.close();
server.close();

const best = runs.reduce((a, b) => (Number(a.seconds) <= Number(b.seconds) ? a : b));
const threads = Number(best.threads);
let native = Infinity;
for (let i = 0; i < 3; i++) {
  const run = spawnSync(bin, ['--engine', 'thread', '-j', String(threads), '-q', '--stats', '--format', 'json', ...files]);
  native = Math.min(native, JSON.parse(run.stderr.toString().trim().split('\n').pop()).seconds);
}
const pageSeconds = Number(best.seconds);
const result = {
  files: files.length,
  gz_MB: Number(best.bytesIn) / 1e6,
  text_MB: Number(best.bytesOut) / 1e6,
  lines: Number(best.lines),
  threads,
  page_seconds: pageSeconds,
  page_gz_MBps: Number(best.bytesIn) / 1e6 / pageSeconds,
  native_thread_seconds: native,
  page_over_native: pageSeconds / native,
  target_met_within_2x: pageSeconds / native <= 2,
};
mkdirSync(join(root, 'target', 'bench'), { recursive: true });
writeFileSync(join(root, 'target', 'bench', 'browser.json'), JSON.stringify(result, null, 2) + '\n');
console.log('| run | threads | seconds | gzip MB/s |\n| --- | --- | --- | --- |');
console.log(`| page (headless Chromium) | ${threads} | ${pageSeconds.toFixed(2)} | ${result.page_gz_MBps.toFixed(1)} |`);
console.log(`| native thread engine | ${threads} | ${native.toFixed(2)} | ${(Number(best.bytesIn) / 1e6 / native).toFixed(1)} |`);
console.log(`\npage / native = ${result.page_over_native.toFixed(2)} (target: <= 2): ${result.target_met_within_2x ? 'MET' : 'NOT MET'}`);
