// The page against the native engines on the same files, in headless Chromium:
//   node web/bench.mjs [FILE...]   (default: the seed corpus of bench/bench.py)
// 1. Throughput: the one-key table (dashboard off) against the native thread and
//    process engines at the page's thread count (targets: within 2x of threads,
//    within 1.3x of the process engine, the default).
// 2. The dashboard (every panel), then a filter change (`where status>=400`),
//    then the filter removed (the view before it, which the page keeps), then
//    a filter every record passes (`status>=100`: every record counted
//    again): the page counts the records it kept in memory again (it reads
//    the files again only when they are over its memory budget); target:
//    each re-render within a second. Native `--report` beside it.
// 3. Inflating alone on one thread: the module's zlib-rs against the
//    browser's DecompressionStream.
// Medians of 3 rounds (LOGTALLY_BENCH_RUNS=N for N), the native runs in each
// round beside the page's. Needs dist/ (bash scripts/web build) and the release CLI.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium } from './chromium.mjs';
import { serveDist } from './serve.mjs';

const RUNS = Number(process.env.LOGTALLY_BENCH_RUNS || 3);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const bin = join(root, 'target', 'release', 'logtally');
const seedDir = join(root, 'target', 'bench', 'corpus-seed', 'seed');
const files = process.argv.slice(2).length
  ? process.argv.slice(2)
  : readdirSync(seedDir).filter((f) => f.endsWith('.gz')).sort().map((f) => join(seedDir, f));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const server = await serveDist(dist);
const browser = await launchChromium();

async function openPage(dashboard) {
  const page = await browser.newPage();
  await page.goto(server.origin + '/');
  await page.waitForFunction(() => document.getElementById('status').dataset.state === 'ready', null, { timeout: 60_000 });
  if ((await page.isChecked('#dashboard-mode')) !== dashboard) await page.click('#dashboard-mode');
  return page;
}
async function waitDone(page) {
  await page.waitForFunction(() => ['done', 'error'].includes(document.getElementById('status').dataset.state), null, { timeout: 600_000 });
  const [s, text] = await page.$eval('#status', (e) => [e.dataset.state, e.textContent]);
  if (s !== 'done') throw new Error(`the page failed: ${text}`);
  return page.$eval('#summary', (e) => ({ ...e.dataset }));
}

/** One native run at the page's thread count: the seconds its --stats give. */
function nativeOnce(threads, args) {
  const run = spawnSync(bin, ['-j', String(threads), '-q', '--stats', '--format', 'json', ...args, ...files]);
  if (run.status !== 0) throw new Error(`logtally ${args.join(' ')}: ${run.stderr}`);
  return JSON.parse(run.stderr.toString().trim().split('\n').pop()).seconds;
}

// 1. Throughput: the one-key table, each round beside the native engines
// (interleaved: this shared machine's speed drifts from minute to minute).
const table = [];
const nativeRuns = { thread: [], process: [], report: [], filtered: [] };
for (let i = 0; i < RUNS; i++) {
  const page = await openPage(false);
  await page.setInputFiles('input[type=file]', files);
  const summary = await waitDone(page);
  table.push(summary);
  await page.close();
  nativeRuns.thread.push(nativeOnce(summary.threads, ['--engine', 'thread']));
  nativeRuns.process.push(nativeOnce(summary.threads, ['--engine', 'process']));
}
const threads = Number(table[0].threads);
/** Sets the `where` filter; the seconds until the dashboard is drawn again. */
async function changeFilter(page, where) {
  const cards = await page.$('#dashboard .lt-cards');
  const start = Date.now();
  await page.fill('#where', where);
  await page.press('#where', 'Enter');
  await page.waitForFunction((el) => !el.isConnected, cards, { timeout: 600_000 });
  await waitDone(page);
  return (Date.now() - start) / 1000;
}

// 2. The dashboard, then a filter change.
const dashboard = [];
const filterWall = [];
const filterSummary = [];
const clearedWall = [];
const everyWall = [];
for (let i = 0; i < RUNS; i++) {
  const page = await openPage(true);
  await page.setInputFiles('input[type=file]', files);
  dashboard.push(await waitDone(page));
  filterWall.push(await changeFilter(page, 'status>=400'));
  filterSummary.push(await waitDone(page));
  clearedWall.push(await changeFilter(page, ''));
  // A new filter that every record passes: all of them counted again.
  everyWall.push(await changeFilter(page, 'status>=100'));
  await page.close();
  nativeRuns.report.push(nativeOnce(threads, ['--engine', 'process', '--report']));
  nativeRuns.filtered.push(nativeOnce(threads, ['--engine', 'process', '--report', '--where', 'status>=400']));
}
// 3. Inflating alone, on one thread of the page: the module's own floor
// (zlib-rs in wasm, lines split; `linesIn`) against the browser's
// DecompressionStream (its zlib, native code), each over the same bytes, in
// alternation. DecompressionStream also refuses multi-member gzip (`cat a.gz
// b.gz`), which logtally reads: that is asked too.
const inflate = { module: [], browser: [] };
let multiMember = '';
{
  const page = await browser.newPage();
  await page.goto(server.origin + '/');
  await page.evaluate(() => {
    const input = Object.assign(document.createElement('input'), { type: 'file', multiple: true, id: 'inflate-probe' });
    document.body.append(input);
  });
  await page.setInputFiles('#inflate-probe', files);
  for (let i = 0; i < RUNS; i++) {
    const r = await page.evaluate(async () => {
      const mod = await import('/st/logtally-web.js');
      await mod.default();
      const bufs = await Promise.all([...document.getElementById('inflate-probe').files].map((f) => f.arrayBuffer()));
      let t = performance.now();
      for (const b of bufs) mod.linesIn(new Uint8Array(b));
      const module = (performance.now() - t) / 1000;
      t = performance.now();
      for (const b of bufs) {
        const reader = new Blob([b]).stream().pipeThrough(new DecompressionStream('gzip')).getReader();
        while (!(await reader.read()).done);
      }
      const browser = (performance.now() - t) / 1000;
      const two = new Blob([bufs[0], bufs[0]]).stream().pipeThrough(new DecompressionStream('gzip')).getReader();
      let multi = 'reads it';
      try { while (!(await two.read()).done); } catch (e) { multi = `refuses it (${e.message})`; }
      return { module, browser, multi };
    });
    inflate.module.push(r.module);
    inflate.browser.push(r.browser);
    multiMember = r.multi;
  }
  await page.close();
}
await browser.close();
server.close();

const nativeThread = median(nativeRuns.thread);
const nativeProcess = median(nativeRuns.process);
const nativeReport = median(nativeRuns.report);
const nativeFiltered = median(nativeRuns.filtered);
const pageTable = median(table.map((s) => Number(s.seconds)));
const pageDashboard = median(dashboard.map((s) => Number(s.seconds)));
const pageFilter = median(filterWall);
const pageCleared = median(clearedWall);
const pageEvery = median(everyWall);
const keptMB = Number(filterSummary[0].keptBytes || 0) / 1e6;
const gzMB = Number(table[0].bytesIn) / 1e6;
const result = {
  files: files.length,
  gz_MB: gzMB,
  text_MB: Number(table[0].bytesOut) / 1e6,
  lines: Number(table[0].lines),
  threads,
  page_seconds: pageTable,
  native_thread_seconds: nativeThread,
  native_process_seconds: nativeProcess,
  page_over_native_thread: pageTable / nativeThread,
  page_over_native_process: pageTable / nativeProcess,
  page_dashboard_seconds: pageDashboard,
  page_filter_change_seconds: pageFilter,
  page_filtered_tally_seconds: median(filterSummary.map((s) => Number(s.seconds))),
  page_filter_cleared_seconds: pageCleared,
  page_filter_keeping_every_record_seconds: pageEvery,
  page_recounted_from_memory: filterSummary.every((s) => s.recounted === 'true'),
  page_kept_records_MB: keptMB,
  native_report_seconds: nativeReport,
  native_report_filtered_seconds: nativeFiltered,
  page_inflate_module_seconds: median(inflate.module),
  page_inflate_decompression_stream_seconds: median(inflate.browser),
  decompression_stream_multi_member: multiMember,
  target_met_within_2x_of_thread: pageTable / nativeThread <= 2,
  target_met_within_1_3x_of_process: pageTable / nativeProcess <= 1.3,
  target_met_filter_within_1s: pageFilter <= 1 && pageCleared <= 1 && pageEvery <= 1,
};
mkdirSync(join(root, 'target', 'bench'), { recursive: true });
writeFileSync(join(root, 'target', 'bench', 'browser.json'), JSON.stringify(result, null, 2) + '\n');
const row = (name, s) => `| ${name} | ${threads} | ${s.toFixed(2)} | ${(gzMB / s).toFixed(1)} |`;
console.log(`${result.lines} lines, ${files.length} file(s), ${gzMB.toFixed(1)} MB gzip; medians of ${RUNS}\n`);
console.log('| run | threads | seconds | gzip MB/s |\n| --- | --- | --- | --- |');
console.log(row('page, one-key table (headless Chromium)', pageTable));
console.log(row('native thread engine, one key', nativeThread));
console.log(row('native process engine, one key', nativeProcess));
console.log(row('page, dashboard (every panel)', pageDashboard));
const how = result.page_recounted_from_memory ? 'records kept in memory' : 're-reads the files';
console.log(row(`page, filter change to \`status>=400\` (${how})`, pageFilter));
console.log(row('page, the filter removed (the view before it, kept)', pageCleared));
console.log(row(`page, a filter every record passes (\`status>=100\`: every record again, ${how})`, pageEvery));
console.log(row('native process engine, --report', nativeReport));
console.log(row("native process engine, --report --where 'status>=400'", nativeFiltered));
const textMB = result.text_MB;
console.log(`\nInflating alone on one thread of the page (${textMB.toFixed(0)} MB of text): zlib-rs in the module ` +
  `${result.page_inflate_module_seconds.toFixed(2)} s (${(textMB / result.page_inflate_module_seconds).toFixed(0)} MB/s, lines split too), ` +
  `the browser's DecompressionStream ${result.page_inflate_decompression_stream_seconds.toFixed(2)} s ` +
  `(${(textMB / result.page_inflate_decompression_stream_seconds).toFixed(0)} MB/s); a multi-member gzip stream: DecompressionStream ${multiMember}.`);
console.log('\n### Targets\n');
console.log(`- ${result.target_met_within_2x_of_thread ? 'MET    ' : 'NOT MET'} the page within 2x of the native thread engine: ${result.page_over_native_thread.toFixed(2)}`);
console.log(`- ${result.target_met_within_1_3x_of_process ? 'MET    ' : 'NOT MET'} the page within 1.3x of the native process engine (the default): ${result.page_over_native_process.toFixed(2)}`);
console.log(`- ${result.target_met_filter_within_1s ? 'MET    ' : 'NOT MET'} a filter change re-renders within 1 s: ${pageFilter.toFixed(2)} s to status>=400, ${pageCleared.toFixed(2)} s with it removed, ${pageEvery.toFixed(2)} s to status>=100 (every record counted again)`);
console.log(`\nRecords kept in memory: ${keptMB.toFixed(0)} MB for ${result.lines} lines (${(keptMB / (result.lines / 1e6)).toFixed(0)} MB per million lines).`);
