// The page's memory against the size of a drop, in headless Chromium:
//   node web/memory.mjs DIR...   (each DIR: a corpus of *.gz files)
// For each corpus, the one-key table (dashboard off) and the dashboard: the
// memory of all Chromium processes (the sum of their proportional set sizes,
// PSS, from /proc: pages shared between processes, such as the wasm module's
// shared memory, counted once) before the drop, with the page ready, and its
// peak while the files are read, sampled every 100 ms. Needs dist/ (bash scripts/web build).
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium } from './chromium.mjs';
import { serveDist } from './serve.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const corpora = process.argv.slice(2);
if (!corpora.length) throw new Error('usage: node web/memory.mjs DIR...');

/** Proportional set size (bytes) of every process whose executable is Chromium's. */
function chromiumPss() {
  let total = 0;
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (!/^Name:\s+chrom/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'))) continue;
      const pss = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8').match(/^Pss:\s+(\d+) kB/m);
      if (pss) total += Number(pss[1]) * 1024;
    } catch {
      // The process ended while we looked.
    }
  }
  return total;
}

const server = await serveDist(join(root, 'dist'));
const rows = [];
for (const dir of corpora) {
  const files = readdirSync(dir).filter((f) => f.endsWith('.gz')).sort().map((f) => join(dir, f));
  for (const dashboard of [false, true]) {
    // A fresh browser for each drop: what one drop costs, nothing left over.
    const browser = await launchChromium();
    const page = await browser.newPage();
    await page.goto(server.origin + '/');
    await page.waitForFunction(() => document.getElementById('status').dataset.state === 'ready', null, { timeout: 60_000 });
    if ((await page.isChecked('#dashboard-mode')) !== dashboard) await page.click('#dashboard-mode');
    const before = chromiumPss();
    let peak = before;
    const sampler = setInterval(() => { peak = Math.max(peak, chromiumPss()); }, 100);
    await page.setInputFiles('input[type=file]', files);
    await page.waitForFunction(() => ['done', 'error'].includes(document.getElementById('status').dataset.state), null, { timeout: 1_200_000 });
    clearInterval(sampler);
    const summary = await page.$eval('#summary', (e) => ({ ...e.dataset }));
    const state = await page.$eval('#status', (e) => e.dataset.state);
    rows.push({
      corpus: dir, dashboard, state,
      text_MB: Math.round(Number(summary.bytesOut) / 1e6), lines: Number(summary.lines),
      seconds: Number(summary.seconds),
      pss_before_MB: Math.round(before / 1e6), pss_peak_MB: Math.round(peak / 1e6),
    });
    console.error(JSON.stringify(rows.at(-1)));
    await browser.close();
  }
}
server.close();

console.log('| corpus | view | text MB | lines | seconds | Chromium PSS before | peak while reading |');
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const r of rows) {
  console.log(`| ${r.corpus} | ${r.dashboard ? 'dashboard' : 'one-key table'}${r.state === 'done' ? '' : ` (${r.state})`} | ${r.text_MB} | ${r.lines} | ${r.seconds} | ${r.pss_before_MB} MB | ${r.pss_peak_MB} MB |`);
}
