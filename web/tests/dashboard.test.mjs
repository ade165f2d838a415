// The dashboard: the page's dashboard mode (a schema-2 report drawn by
// web/dashboard.js) must show what the CLI's `--report` says for the same files
// and filters; the CLI's self-contained HTML report (the same renderer) must
// make no request and run nothing that came from the logs.
//
// Needs: dist/ (trunk build), LOGTALLY_BIN and LOGTALLY_GEN (release binaries),
// Debian's chromium: as web/tests/e2e.test.mjs. Screenshots (for people):
// target/page-screenshot.png and target/report-screenshot.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { launchChromium } from '../chromium.mjs';
import { serveDist } from '../serve.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dist = join(root, 'dist');
const bin = process.env.LOGTALLY_BIN || join(root, 'target', 'release', 'logtally');
const gen = process.env.LOGTALLY_GEN || join(root, 'target', 'release', 'logtally-gen');
const sample = join(root, 'samples', 'apache_logs.gz');

/** Rows a panel of the dashboard shows at most (MAX_ROWS in web/dashboard.js). */
const MAX_ROWS = 500;

let server;
let origin;
let browser;
let work;
/** The page of the first test, kept open for its screenshot (test 4). */
let dashboardPage;

before(async () => {
  assert.ok(existsSync(join(dist, 'index.html')), 'dist/ is built (bash scripts/web build)');
  assert.ok(existsSync(join(dist, 'dashboard.js')), 'dist/ has the dashboard (rebuild: bash scripts/web build)');
  work = mkdtempSync(join(tmpdir(), 'logtally-dashboard-'));
  server = await serveDist(dist, { isolated: true });
  origin = server.origin;
  browser = await launchChromium();
});

after(async () => {
  await dashboardPage?.close();
  await browser?.close();
  server?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

let generatedFiles;
/** The sample and one generated file with wild lines (odd keys, malformed lines). */
function inputs() {
  if (!generatedFiles) {
    generatedFiles = execFileSync(gen, [join(work, 'gen'), '1', '20000', '9', 'wild']).toString().trim().split('\n');
    assert.equal(generatedFiles.length, 1);
  }
  return [sample, ...generatedFiles];
}

function cliReport(files, extra = []) {
  const out = execFileSync(bin, ['--engine', 'thread', '--report', '--all', '--format', 'json', '-q', ...extra, ...files], {
    // Some inputs may fail on purpose: the JSON is on stdout either way.
    stdio: ['ignore', 'pipe', 'ignore'],
    maxBuffer: 256 << 20,
  });
  const report = JSON.parse(out.toString());
  assert.equal(report.schema, 2, 'the CLI writes a schema-2 report');
  return report;
}

// The dashboard's number formats (web/dashboard.js: num, human), to compare cells.
function num(n) {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}
function human(n) {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let v = n, u = 0;
  while (v >= 1000 && u < units.length - 1) { v /= 1000; u++; }
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]}`;
}

/** The CLI's ranking: hits descending, then the key ascending in code point (UTF-8 byte) order. */
function ranked(hits) {
  return Object.entries(hits).sort(([ka, na], [kb, nb]) =>
    na !== nb ? nb - na : Buffer.compare(Buffer.from(ka, 'utf8'), Buffer.from(kb, 'utf8')));
}

async function openReady(page) {
  await page.goto(origin + '/');
  await page.waitForFunction(() => document.getElementById('status').dataset.state === 'ready', null, { timeout: 60_000 });
  assert.equal(await page.isChecked('#dashboard-mode'), true, 'dashboard mode is on by default');
  assert.equal(await page.isVisible('#filters'), true, 'the filters show in dashboard mode');
}

async function waitDone(page) {
  await page.waitForFunction(() => ['done', 'error'].includes(document.getElementById('status').dataset.state), null, { timeout: 120_000 });
  const state = await page.$eval('#status', (s) => [s.dataset.state, s.textContent]);
  assert.equal(state[0], 'done', state[1]);
}

/** Re-runs with what `act` changes (an Enter in a filter, ...), and waits for the new dashboard. */
async function rerun(page, act) {
  const oldCards = await page.$('#dashboard .lt-cards');
  assert.ok(oldCards, 'a dashboard is shown before the re-run');
  await act();
  await page.waitForFunction((el) => !el.isConnected || document.getElementById('status').dataset.state === 'error',
    oldCards, { timeout: 120_000 });
  await waitDone(page);
}

/** Drops `files` on the page's drop zone, as a person would (a DataTransfer of File objects). */
async function dropFiles(page, files) {
  const payload = files.map((f) => ({ name: f.split('/').pop(), b64: readFileSync(f).toString('base64') }));
  const dataTransfer = await page.evaluateHandle((list) => {
    const dt = new DataTransfer();
    for (const { name, b64 } of list) {
      const bin = atob(b64);
      const bytes = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      dt.items.add(new File([bytes], name));
    }
    return dt;
  }, payload);
  await page.dispatchEvent('#drop', 'dragover', { dataTransfer });
  await page.dispatchEvent('#drop', 'drop', { dataTransfer });
  await dataTransfer.dispose();
}

/** What the dashboard shows: its cards, panels (rows and headers) and chart note. */
function readDashboard(page) {
  return page.evaluate(() => {
    const section = document.getElementById('dashboard');
    const cards = {};
    for (const c of section.querySelectorAll('.lt-card[data-stat]')) {
      cards[c.dataset.stat] = c.querySelector('.lt-card-value').textContent;
    }
    const panels = {};
    for (const p of section.querySelectorAll('section.lt-panel[data-panel]')) {
      panels[p.dataset.panel] = {
        count: p.querySelector('.lt-panel-count')?.textContent ?? '',
        rows: [...p.querySelectorAll('tbody tr[data-key]')].map((tr) => ({
          key: tr.dataset.key,
          hits: Number(tr.dataset.hits),
          hitsText: tr.querySelector('.lt-hits')?.textContent,
          visitors: tr.querySelector('.lt-visitors')?.textContent,
          bytes: tr.querySelector('.lt-bytes')?.textContent,
        })),
      };
    }
    const canvas = section.querySelector('.lt-chart canvas');
    return {
      hidden: section.hidden,
      cards,
      panels,
      panelOrder: [...section.querySelectorAll('section.lt-panel[data-panel]')].map((p) => p.dataset.panel),
      chartNote: section.querySelector('.lt-chart-note')?.textContent ?? null,
      canvas: canvas ? { width: canvas.width, height: canvas.height } : null,
    };
  });
}

const cardNumber = (text) => {
  assert.match(text, /^[\d,]+$/, `a count card reads as a number: ${text}`);
  return Number(text.replace(/,/g, ''));
};

/** The dashboard shown equals the CLI's report: cards, every panel, the chart's buckets. */
function assertDashboardEquals(shown, expected, what) {
  assert.equal(shown.hidden, false, `${what}: the dashboard is shown`);
  const t = expected.totals;
  assert.equal(cardNumber(shown.cards.requests), t.counted, `${what}: requests card`);
  assert.equal(cardNumber(shown.cards.visitors), t.visitors, `${what}: visitors card`);
  assert.equal(cardNumber(shown.cards.files), t.files, `${what}: files card`);
  assert.equal(cardNumber(shown.cards.lines), t.lines, `${what}: lines card`);
  assert.equal(cardNumber(shown.cards.malformed), t.malformed, `${what}: malformed card`);
  assert.equal(cardNumber(shown.cards.filtered), t.filtered, `${what}: filtered card`);
  assert.equal(shown.cards['bytes-sent'], human(t.bytes_sent), `${what}: bytes-sent card`);

  const names = Object.keys(expected.panels);
  assert.ok(names.length >= 10, `${what}: the CLI's report has its panels (${names})`);
  assert.deepEqual(shown.panelOrder, names, `${what}: the page shows the CLI's panels, in its order`);
  for (const name of names) {
    const want = expected.panels[name];
    const got = shown.panels[name];
    const keys = Object.keys(want.hits);
    const order = ranked(want.hits);
    if (keys.length <= MAX_ROWS) {
      // Every key, with its hits: exactly the CLI's map...
      const gotHits = Object.fromEntries(got.rows.map((r) => [r.key, r.hits]));
      assert.equal(got.rows.length, keys.length, `${what}: panel ${name} has one row per key`);
      assert.deepEqual(gotHits, want.hits, `${what}: panel ${name} hits`);
    } else {
      assert.equal(got.rows.length, MAX_ROWS, `${what}: panel ${name} (${keys.length} keys) shows the first ${MAX_ROWS}`);
      assert.ok(got.count.includes('(the first 500 shown)'), `${what}: panel ${name} says it is cut: ${got.count}`);
    }
    // ... in the CLI's ranking (for the large panels: its top rows).
    assert.deepEqual(got.rows.map((r) => [r.key, r.hits]), order.slice(0, MAX_ROWS),
      `${what}: panel ${name} ranking (hits desc, then key)`);
    assert.ok(got.count.startsWith(`${num(keys.length)} of ${num(want.distinct)} keys`),
      `${what}: panel ${name} header: ${got.count}`);
    for (const r of got.rows) {
      assert.equal(r.hitsText, num(r.hits), `${what}: ${name} ${r.key} hits cell`);
      assert.equal(r.visitors, num(want.visitors[r.key]), `${what}: ${name} ${r.key} visitors`);
      assert.equal(r.bytes, human(want.bytes[r.key]), `${what}: ${name} ${r.key} bytes`);
    }
  }
  const points = expected.timeseries.points.length;
  assert.ok(points > 1, `${what}: the CLI's report has a time series`);
  assert.ok(shown.chartNote?.startsWith(`Buckets of ${expected.timeseries.bucket}, times at UTC${expected.timeseries.utc_offset}; ${num(points)} bucket(s) `),
    `${what}: chart note: ${shown.chartNote}`);
  assert.ok(shown.canvas && shown.canvas.width > 0 && shown.canvas.height > 0, `${what}: the chart is drawn on a canvas`);
}

test("the page's dashboard equals the CLI's report", { timeout: 120_000 }, async () => {
  const files = inputs();
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  dashboardPage = page;
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  const dialogs = [];
  page.on('dialog', async (d) => { dialogs.push(d.message()); await d.dismiss(); });
  await openReady(page);
  await page.fill('#top', '0');
  await dropFiles(page, files);
  await waitDone(page);
  const expected = cliReport(files);
  assert.equal(expected.totals.files, 2);

  const shown = await readDashboard(page);
  assertDashboardEquals(shown, expected, 'dashboard');
  // Both panel kinds were compared: a full map, and a large panel's top rows.
  const sizes = Object.values(expected.panels).map((p) => Object.keys(p.hits).length);
  assert.ok(sizes.some((n) => n > MAX_ROWS) && sizes.some((n) => n <= MAX_ROWS), `panel sizes ${sizes}`);
  // The table view is hidden, the summary above agrees.
  assert.equal(await page.$eval('#counts', (t) => t.hidden), true);
  const summary = await page.$eval('#summary', (s) => ({ ...s.dataset }));
  for (const k of ['files', 'lines', 'counted', 'filtered', 'malformed']) {
    assert.equal(Number(summary[k]), expected.totals[k], `summary ${k}`);
  }
  assert.equal(summary.partial, 'false');
  assert.equal(await page.isVisible('#download-html'), true, 'the HTML report can be downloaded');
  assert.deepEqual(errors, []);
  assert.deepEqual(dialogs, []);
});

test("a filter in the page equals the CLI's --where", { timeout: 120_000 }, async () => {
  const files = inputs();
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await openReady(page);
  await page.fill('#top', '0');
  await page.setInputFiles('input[type=file]', files);
  await waitDone(page);
  const all = cliReport(files);
  assertDashboardEquals(await readDashboard(page), all, 'unfiltered');

  // Enter in #where tallies again with the filter.
  await rerun(page, async () => {
    await page.fill('#where', 'status>=400');
    await page.press('#where', 'Enter');
  });
  const expected = cliReport(files, ['--where', 'status>=400']);
  const shown = await readDashboard(page);
  assertDashboardEquals(shown, expected, 'where status>=400');
  // Counted again from the records the module kept, not read again.
  assert.match(await page.textContent('#status-text'), /Counted again from the records kept in memory/);
  // The filter did something, and only what it says.
  assert.ok(expected.totals.counted > 0 && expected.totals.counted < all.totals.counted,
    `${expected.totals.counted} of ${all.totals.counted} counted`);
  const statuses = shown.panels.status.rows.map((r) => r.key);
  assert.ok(statuses.length > 1, `several statuses >= 400: ${statuses}`);
  for (const s of statuses) assert.ok(Number(s) >= 400, `status ${s} >= 400`);
  assert.deepEqual(Object.fromEntries(shown.panels.status.rows.map((r) => [r.key, r.hits])), expected.panels.status.hits);
  assert.equal(cardNumber(shown.cards.requests), expected.totals.counted);
  assert.equal(cardNumber(shown.cards.filtered), expected.totals.filtered);

  // Several conditions, ';'-separated, are ANDed like repeated --where; the run button re-runs too.
  await rerun(page, async () => {
    await page.fill('#where', 'status>=400 ; method=GET');
    await page.click('#run');
  });
  const both = cliReport(files, ['--where', 'status>=400', '--where', 'method=GET']);
  const shownBoth = await readDashboard(page);
  assertDashboardEquals(shownBoth, both, 'where status>=400; method=GET');
  // Back to the filter before: the view the page kept, shown again as it was.
  await rerun(page, async () => {
    await page.fill('#where', 'status>=400');
    await page.press('#where', 'Enter');
  });
  assertDashboardEquals(await readDashboard(page), expected, 'back to where status>=400');
  assert.match(await page.textContent('#status-text'), /The view before this change, kept in memory/);
  // A filter that does not parse is an error, and the next change still works.
  await page.fill('#where', 'status>abc');
  await page.press('#where', 'Enter');
  await page.waitForFunction(() => document.getElementById('status').dataset.state === 'error');
  assert.match(await page.textContent('#status-text'), /status>abc/);
  await page.fill('#where', 'method=GET');
  await page.press('#where', 'Enter');
  await page.waitForFunction(() => document.getElementById('status').dataset.state === 'done', null, { timeout: 120_000 });
  assertDashboardEquals(await readDashboard(page), cliReport(files, ['--where', 'method=GET']), 'where method=GET');
  assert.match(await page.textContent('#status-text'), /Counted again from the records kept in memory/);
  // A relative time counts back from the newest record, as the CLI's does (which reads twice).
  await rerun(page, async () => {
    await page.fill('#where', '');
    await page.fill('#since', '1d');
    await page.press('#since', 'Enter');
  });
  assertDashboardEquals(await readDashboard(page), cliReport(files, ['--since', '1d']), 'since 1d');
  assert.deepEqual(shownBoth.panels.method.rows.map((r) => r.key), ['GET']);
  assert.ok(both.totals.counted < expected.totals.counted, 'the second condition filtered more');
  assert.deepEqual(errors, []);
  await page.close();
});

/** A log whose paths, agent and referrer are HTML and script, and some normal lines on several hours. */
function hostileLog() {
  const line = (ip, time, path, status, referrer, agent) =>
    `${ip} - - [17/May/2015:${time} +0000] "GET ${path} HTTP/1.1" ${status} 512 "${referrer}" "${agent}"\n`;
  const ua = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/32.0.1700.77 Safari/537.36';
  const text = [
    line('6.6.6.6', '10:05:03', '/<script>alert(1)</script>', 404, '-', ua),
    line('6.6.6.6', '10:05:04', '/<script>alert(1)</script>', 404, '-', ua),
    line('6.6.6.7', '11:15:00', '/a</script><script>alert(2)</script>', 404, '-', ua),
    line('6.6.6.8', '12:20:00', '/ua', 200, '-', '</script><img src=x onerror=alert(3)>'),
    line('6.6.6.9', '13:25:00', '/ref', 200, 'javascript:alert(4)', ua),
    line('1.2.3.4', '10:30:00', '/index.html', 200, 'https://example.org/', ua),
    line('1.2.3.5', '11:30:00', '/about.html', 200, 'https://example.org/index.html', ua),
    line('1.2.3.6', '12:30:00', '/index.html', 200, '-', ua),
    line('1.2.3.7', '13:30:00', '/missing', 404, '-', ua),
    line('1.2.3.8', '14:30:00', '/index.html', 500, '-', ua),
  ].join('');
  const file = join(work, 'hostile-access.log');
  writeFileSync(file, text);
  return file;
}

test('the HTML report makes no request, shows the panels and runs nothing from the logs', { timeout: 120_000 }, async () => {
  const log = hostileLog();
  const html = join(work, 'report.html');
  execFileSync(bin, ['--report', '--all', '--format', 'html', '-o', html, '-q', log], { stdio: ['ignore', 'pipe', 'pipe'] });
  const text = readFileSync(html, 'utf8');
  // The file itself: the logs' markup is data, escaped, never markup.
  assert.match(text, /<meta http-equiv="Content-Security-Policy" content="default-src 'none';/);
  for (const bad of ['<script>alert', '</script><img', '<img src=x', 'onerror=alert(3)>']) {
    assert.ok(!text.includes(bad), `the HTML holds no raw ${bad}`);
  }
  assert.ok(text.includes('\\u003cscript>alert(1)\\u003c/script>'), "the data escapes '<' as \\u003c");

  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const dialogs = [];
  page.on('dialog', async (d) => { dialogs.push(d.message()); await d.dismiss(); });
  const requests = [];
  page.on('request', (r) => requests.push(r.url()));
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  // Anything the report tried to load (and the CSP blocked) shows as a violation.
  await page.addInitScript(() => {
    window.__violations = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__violations.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  const url = pathToFileURL(html).href;
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForSelector('#dashboard section.lt-panel', { timeout: 30_000 });
  await page.waitForTimeout(300); // time for anything late (timers, lazy loads) to show

  assert.deepEqual(dialogs, [], 'no dialog opened');
  assert.deepEqual(requests, [url], 'the only request is the file itself');
  assert.deepEqual(await page.evaluate(() => window.__violations), [], 'nothing was blocked by the CSP either');
  assert.deepEqual(errors, []);

  const panels = await page.$$eval('section.lt-panel[data-panel]', (ps) => ps.map((p) => p.dataset.panel));
  for (const name of ['path', 'status', 'host', 'not-found']) assert.ok(panels.includes(name), `a ${name} panel: ${panels}`);
  assert.equal(await page.$$eval('.lt-chart canvas', (cs) => cs.filter((c) => c.width > 0 && c.height > 0).length) > 0, true,
    'the chart is drawn on a canvas');

  // The hostile paths are shown literally, as text.
  const panelText = (name) => page.$eval(`section.lt-panel[data-panel="${name}"] tbody`, (t) => t.textContent);
  const keysOf = (name) => page.$$eval(`section.lt-panel[data-panel="${name}"] tbody tr`, (trs) => trs.map((tr) => tr.dataset.key));
  for (const name of ['path', 'not-found']) {
    const shown = await panelText(name);
    assert.ok(shown.includes('<script>alert(1)</script>'), `${name} shows <script>alert(1)</script>: ${shown}`);
    assert.ok(shown.includes('</script><script>alert(2)</script>'), `${name} shows the second path literally`);
    const keys = await keysOf(name);
    assert.ok(keys.includes('/<script>alert(1)</script>'), `${name} keys: ${keys}`);
    assert.ok(keys.includes('/a</script><script>alert(2)</script>'), `${name} keys: ${keys}`);
  }
  const statuses = Object.fromEntries(await page.$$eval('section.lt-panel[data-panel="status"] tbody tr',
    (trs) => trs.map((tr) => [tr.dataset.key, Number(tr.dataset.hits)])));
  assert.deepEqual(statuses, { 200: 5, 404: 4, 500: 1 });
  assert.equal(await page.$eval('.lt-card[data-stat=requests] .lt-card-value', (v) => v.textContent), '10');
  // Nothing of the logs became an element: no image, link, frame or script in the dashboard.
  assert.equal(await page.$$eval('#dashboard img, #dashboard script, #dashboard iframe, #dashboard a, #dashboard object',
    (els) => els.length), 0);
  assert.equal(await page.$$eval('img', (els) => els.length), 0);
  assert.equal(await page.$$eval('[onerror], [href^="javascript:"]', (els) => els.length), 0);
  // The page's own scripts only (the data, the renderer, its bootstrap): none was added.
  const scriptTags = text.split('<script').length - 1;
  assert.ok(scriptTags >= 2 && scriptTags <= 4, `script elements in the file: ${scriptTags}`);
  assert.equal(await page.$$eval('script', (els) => els.length), scriptTags);

  mkdirSync(join(root, 'target'), { recursive: true });
  const shot = join(root, 'target', 'report-screenshot.png');
  await page.screenshot({ path: shot, fullPage: true });
  assert.ok(statSync(shot).size > 10_000, 'the screenshot has something in it');
  assert.deepEqual(dialogs, []);
  await page.close();
});

test('the HTML report draws the top keys over time (--by KEY --bucket), log text as text', { timeout: 120_000 }, async () => {
  const log = hostileLog();
  const args = ['--by', 'path', '--bucket', '1h', '--all', '-q', log];
  const json = JSON.parse(execFileSync(bin, ['--format', 'json', ...args], { stdio: ['ignore', 'pipe', 'pipe'] }).toString());
  const series = json.keys_over_time;
  assert.ok(series && series.points.length > 0, 'the CLI reports the keys over time');
  const want = {};
  for (const p of series.points) want[p.key] = (want[p.key] || 0) + p.hits;
  const html = join(work, 'keys-over-time.html');
  execFileSync(bin, ['--format', 'html', '-o', html, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const dialogs = [];
  page.on('dialog', async (d) => { dialogs.push(d.message()); await d.dismiss(); });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(pathToFileURL(html).href, { waitUntil: 'load' });
  await page.waitForSelector('#dashboard section.lt-keys-over-time', { timeout: 30_000 });
  await page.waitForTimeout(200);
  const section = '#dashboard section.lt-keys-over-time';
  assert.equal(await page.$eval(`${section} h2`, (h) => h.textContent), 'Requests (paths) over time');
  // One row per key with its hits over the buckets, the keys as written (text, not markup).
  const rows = await page.$$eval(`${section} .lt-table tbody tr`, (trs) => trs.map((tr) => [tr.cells[0].textContent, tr.cells[1].textContent]));
  assert.deepEqual(Object.fromEntries(rows.map(([k, n]) => [k, Number(n.replace(/,/g, ''))])), want);
  assert.ok(rows.some(([k]) => k === '/<script>alert(1)</script>'), `the hostile path shows literally: ${rows}`);
  // One line per key on a canvas; the legend names the keys as text.
  assert.ok(await page.$eval(`${section} .lt-chart canvas`, (c) => c.width > 0 && c.height > 0), 'drawn on a canvas');
  const legend = await page.$$eval(`${section} .u-legend .u-label`, (ls) => ls.map((l) => l.textContent));
  for (const key of Object.keys(want)) assert.ok(legend.includes(key), `legend ${key}: ${legend}`);
  assert.equal(await page.$$eval('#dashboard img, #dashboard script', (els) => els.length), 0);
  // A key named like an object's own machinery is a key like any other.
  const proto = join(work, 'proto.log');
  writeFileSync(proto, ['GET', '__proto__', 'constructor'].map((m, i) =>
    `1.2.3.${i} - - [17/May/2015:1${i}:05:03 +0000] "${m} /x HTTP/1.1" 200 5 "-" "ua"\n`).join(''));
  const protoHtml = join(work, 'proto.html');
  execFileSync(bin, ['--by', 'method', '--bucket', '1h', '--format', 'html', '-o', protoHtml, '-q', proto], { stdio: ['ignore', 'pipe', 'pipe'] });
  await page.goto(pathToFileURL(protoHtml).href, { waitUntil: 'load' });
  await page.waitForSelector('#dashboard section.lt-keys-over-time');
  const methods = await page.$$eval(`${section} .lt-table tbody tr`, (trs) => trs.map((tr) => tr.cells[0].textContent));
  assert.deepEqual(methods.sort(), ['GET', '__proto__', 'constructor']);
  assert.ok(await page.$('#dashboard section.lt-panel'), 'the panels after it are drawn');
  assert.deepEqual(dialogs, []);
  assert.deepEqual(errors, []);
  await page.close();
});

test("a screenshot of the page's dashboard (after the first test)", { timeout: 60_000 }, async () => {
  const page = dashboardPage;
  assert.ok(page, 'the first test left its page open');
  // For people: the top 10 of each panel, as re-ranked by the core (#top change).
  const before = await readDashboard(page);
  assert.ok(Object.values(before.panels).some((p) => p.rows.length > 10));
  await page.fill('#top', '10');
  await page.dispatchEvent('#top', 'change');
  await page.waitForFunction(() => {
    const bodies = [...document.querySelectorAll('#dashboard section.lt-panel tbody')];
    return bodies.length && bodies.every((b) => b.querySelectorAll('tr').length <= 10);
  }, null, { timeout: 30_000 });
  const after = await readDashboard(page);
  for (const [name, p] of Object.entries(after.panels)) {
    // The same top rows as before, cut at 10.
    assert.deepEqual(p.rows.map((r) => [r.key, r.hits]), before.panels[name].rows.slice(0, 10).map((r) => [r.key, r.hits]), name);
  }
  assert.deepEqual(after.cards, before.cards, 'the cards do not change with the number of rows');
  assert.ok(after.canvas && after.canvas.width > 0, 'the chart is drawn');
  mkdirSync(join(root, 'target'), { recursive: true });
  const shot = join(root, 'target', 'page-screenshot.png');
  await page.screenshot({ path: shot, fullPage: true });
  assert.ok(statSync(shot).size > 10_000, 'the screenshot has something in it');
});
