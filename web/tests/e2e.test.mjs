// End to end: the built page (dist/) served with the isolation headers, driven
// in headless Chromium. Its counts must equal the CLI's for the same files.
//
// Needs: dist/ (trunk build), LOGTALLY_BIN and LOGTALLY_GEN (release binaries),
// Debian's chromium. scripts/test provides all three.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium } from '../chromium.mjs';
import { serveDist } from '../serve.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dist = join(root, 'dist');
const work = join(root, 'target', 'web-e2e');
const bin = process.env.LOGTALLY_BIN || join(root, 'target', 'release', 'logtally');
const gen = process.env.LOGTALLY_GEN || join(root, 'target', 'release', 'logtally-gen');

let server;
let origin;
let plainServer;
let plainOrigin;
let browser;

before(async () => {
  assert.ok(existsSync(join(dist, 'index.html')), 'dist/ is built (bash scripts/web build)');
  server = await serveDist(dist, { isolated: true });
  origin = server.origin;
  plainServer = await serveDist(dist, { isolated: false });
  plainOrigin = plainServer.origin;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  server?.close();
  plainServer?.close();
});

function inputs() {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const generated = execFileSync(gen, [join(work, 'gen'), '4', '20000', '9', 'wild']).toString().trim().split('\n');
  const hostile = join(work, 'hostile.log');
  const line = (path) => `6.6.6.6 - - [17/May/2015:10:05:03 +0000] "GET ${path} HTTP/1.1" 200 5 "-" "ua"\n`;
  writeFileSync(hostile, line('/<img src=x onerror=alert(1)>').repeat(3) + line('/<script>alert(2)</script>'));
  return [join(root, 'samples', 'apache_logs.gz'), ...generated, hostile];
}

async function tallyInPage(page, files, controls = {}, at = origin) {
  await page.goto(at + '/');
  await page.waitForFunction(() => document.getElementById('status').dataset.state === 'ready', null, { timeout: 60_000 });
  await page.uncheck('#dashboard-mode'); // the one-key table (the dashboard: dashboard.test.mjs)
  if (controls.by) await page.selectOption('#by', controls.by);
  if (controls.prefix) await page.fill('#prefix', controls.prefix);
  if (controls.format) {
    await page.selectOption('#log-format', 'custom');
    await page.fill('#custom-format', controls.format);
  }
  await page.fill('#top', '0');
  await page.setInputFiles('input[type=file]', files);
  await page.waitForFunction(() => ['done', 'error'].includes(document.getElementById('status').dataset.state), null, { timeout: 120_000 });
  const state = await page.$eval('#status', (s) => [s.dataset.state, s.textContent]);
  assert.equal(state[0], 'done', state[1]);
  const rows = await page.$$eval('table#counts tbody tr', (trs) => trs.map((tr) => [tr.dataset.key, Number(tr.dataset.count)]));
  const summary = await page.$eval('#summary', (s) => ({ ...s.dataset }));
  return { rows, summary };
}

function cli(files, extra = []) {
  const out = execFileSync(bin, ['--engine', 'thread', '--all', '--format', 'json', '-q', ...extra, ...files], {
    // Some inputs may fail on purpose: the JSON is on stdout either way.
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return JSON.parse(out.toString());
}

test('the page tallies exactly as the CLI, on several threads, rendering log text as text', async () => {
  const files = inputs();
  const page = await browser.newPage();
  const dialogs = [];
  page.on('dialog', async (d) => { dialogs.push(d.message()); await d.dismiss(); });
  const requests = [];
  page.on('request', (r) => requests.push([r.method(), r.url()]));

  assert.equal(await (async () => { await page.goto(origin + '/'); return page.evaluate(() => crossOriginIsolated); })(), true);
  const { rows, summary } = await tallyInPage(page, files);
  const expected = cli(files);

  assert.deepEqual(rows, Object.entries(expected.counts));
  for (const k of ['files', 'lines', 'counted', 'filtered', 'malformed']) {
    assert.equal(Number(summary[k]), expected.totals[k], k);
  }
  assert.equal(summary.partial, 'false');
  assert.ok(Number(summary.threads) > 1, `more than one thread: ${summary.threads}`);

  // The hostile paths are shown literally and nothing ran.
  const hostile = await page.$$eval('table#counts td.key', (tds) => tds.map((td) => td.textContent).filter((t) => t.includes('<')));
  assert.deepEqual(hostile.sort(), ['/<img src=x onerror=alert(1)>', '/<script>alert(2)</script>']);
  assert.equal(await page.$$eval('table#counts img, table#counts script', (els) => els.length), 0);
  assert.deepEqual(dialogs, []);

  // Nothing but the page's own files was requested (blob: URLs are in-page
  // objects, such as the thread workers' bootstrap): the logs went nowhere.
  for (const [method, url] of requests) {
    assert.equal(method, 'GET', url);
    assert.ok(url.startsWith(origin + '/') || url.startsWith(`blob:${origin}/`), url);
  }

  // For people: the top 20, as the page shows them by default.
  await page.fill('#top', '20');
  await page.dispatchEvent('#top', 'change');
  await page.waitForFunction(() => document.querySelectorAll('table#counts tbody tr').length === 20);
  mkdirSync(join(root, 'target'), { recursive: true });
  await page.setViewportSize({ width: 1100, height: 1500 });
  await page.screenshot({ path: join(root, 'target', 'web-e2e.png'), fullPage: true });
  await page.close();
});

test('the page applies the prefix and key like the CLI', async () => {
  const files = inputs();
  const page = await browser.newPage();
  const { rows, summary } = await tallyInPage(page, files, { by: 'status', prefix: '/book/' });
  const expected = cli(files, ['--by', 'status', '--prefix', '/book/']);
  assert.deepEqual(rows, Object.entries(expected.counts));
  assert.equal(Number(summary.counted), expected.totals.counted);
  await page.close();
});

test('without cross-origin isolation the page works on one thread and says so', async () => {
  const files = inputs();
  const page = await browser.newPage();
  await page.goto(plainOrigin + '/');
  assert.equal(await page.evaluate(() => crossOriginIsolated), false);
  const { rows, summary } = await tallyInPage(page, files, {}, plainOrigin);
  const expected = cli(files);
  assert.deepEqual(rows, Object.entries(expected.counts));
  assert.equal(Number(summary.lines), expected.totals.lines);
  assert.equal(summary.threads, '1');
  const note = await page.$eval('#threads-note', (n) => [n.dataset.singleThread, n.textContent]);
  assert.equal(note[0], 'true');
  assert.match(note[1], /one thread: this page is not cross-origin isolated/);
  await page.close();
});

async function waitDone(page) {
  await page.waitForFunction(() => ['done', 'error'].includes(document.getElementById('status').dataset.state), null, { timeout: 120_000 });
  const state = await page.$eval('#status', (s) => [s.dataset.state, s.textContent]);
  assert.equal(state[0], 'done', state[1]);
  const rows = await page.$$eval('table#counts tbody tr', (trs) => trs.map((tr) => [tr.dataset.key, Number(tr.dataset.count)]));
  const summary = await page.$eval('#summary', (s) => ({ ...s.dataset }));
  return { rows, summary };
}

test('files chosen the moment the page opens, before the workers are ready, are tallied', async () => {
  const files = inputs();
  const expected = cli(files);
  const statesWhenChosen = [];
  for (let attempt = 0; attempt < 3; attempt++) {
    const page = await browser.newPage();
    // The workers' module arrives late (as on a slow network), so that the
    // files are surely chosen before the pool is ready.
    await page.route('**/logtally-web_bg.wasm', async (route) => {
      await new Promise((r) => setTimeout(r, 1500));
      await route.continue();
    });
    // Not waiting for "ready": the input exists as soon as the document does.
    await page.goto(origin + '/', { waitUntil: 'commit' });
    await page.waitForSelector('input[type=file]', { state: 'attached' });
    await page.uncheck('#dashboard-mode');
    const stateWhenChosen = await page.$eval('#status', (s) => s.dataset.state);
    statesWhenChosen.push(stateWhenChosen);
    await page.setInputFiles('input[type=file]', files);
    const { summary } = await waitDone(page);
    // The default view is the top 20 of the same counts.
    for (const k of ['files', 'lines', 'counted', 'filtered', 'malformed']) {
      assert.equal(Number(summary[k]), expected.totals[k], `${k} (files chosen while ${stateWhenChosen})`);
    }
    await page.close();
  }
  // The race this test is about happened: files were chosen before "ready".
  assert.deepEqual(statesWhenChosen, ['loading', 'loading', 'loading']);
});

test('a drop during a run cancels it and tallies the new selection instead', async () => {
  const first = inputs();
  // A large second file keeps the first run busy long enough to be replaced.
  const big = execFileSync(gen, [join(work, 'big'), '1', '1000000', '5', 'wild']).toString().trim().split('\n');
  const second = [join(root, 'samples', 'apache_logs.gz')];
  const expected = cli(second);
  const page = await browser.newPage();
  await page.goto(origin + '/');
  await page.waitForFunction(() => document.getElementById('status').dataset.state === 'ready', null, { timeout: 60_000 });
  await page.fill('#top', '0');
  await page.uncheck('#dashboard-mode');
  await page.setInputFiles('input[type=file]', [...first, ...big]);
  await page.waitForFunction(() => document.getElementById('status').dataset.state === 'working');
  await page.setInputFiles('input[type=file]', second);
  assert.equal(await page.$eval('#status', (s) => s.dataset.replaced), 'true');
  const { rows, summary } = await waitDone(page);
  // The page says what happened, and keeps saying it when the new run is done.
  assert.match(await page.$eval('#status', (s) => s.textContent), /previous run was cancelled/);
  assert.deepEqual(rows, Object.entries(expected.counts));
  for (const k of ['files', 'lines', 'counted', 'filtered', 'malformed']) {
    assert.equal(Number(summary[k]), expected.totals[k], k);
  }
  assert.equal(summary.partial, 'false');
  await page.close();
});

/** Logs in other formats than Combined, written as their servers write them. */
function otherFormats() {
  mkdirSync(work, { recursive: true });
  const vhost = join(work, 'other_vhosts_access.log');
  writeFileSync(vhost, [
    'example.com:80 1.2.3.4 - - [17/May/2015:10:05:03 +0000] "GET /v/a HTTP/1.1" 200 512 "-" "Mozilla/5.0 (X11) Gecko"',
    'shop.example.com:443 1.2.3.5 - - [17/May/2015:10:05:04 +0000] "GET /v/b?x=1 HTTP/1.1" 404 0 "https://example.com/v/a" "curl/8.0"',
    'example.com:80 1.2.3.6 - - [17/May/2015:10:05:05 +0000] "POST /v/a HTTP/1.1" 200 7 "-" "Mozilla/5.0 (X11) Gecko"',
  ].join('\n') + '\n');
  const iis = join(work, 'u_ex190912.log');
  writeFileSync(iis, [
    '#Software: Microsoft Internet Information Services 10.0',
    '#Version: 1.0',
    '#Date: 2019-09-12 13:22:38',
    '#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken',
    '2019-09-12 13:22:38 10.0.0.1 GET /w/index.html - 80 - 192.168.1.5 Mozilla/5.0+(Windows+NT+10.0) - 200 0 0 15',
    '2019-09-12 13:22:39 10.0.0.1 GET /w/about.html q=1 80 - 192.168.1.6 curl/8.0 - 404 0 2 3',
  ].join('\r\n') + '\r\n');
  const nginx = join(work, 'honeypot.log');
  writeFileSync(nginx, [
    'example.org 1.2.3.4 - - [17/May/2015:10:05:03 +0000] "GET /n/a HTTP/1.1" 200 5 "-" "ua" 443',
    ' 5.6.7.8 - - [17/May/2015:10:05:04 +0000] "\\x16\\x03\\x01" 400 157 "-" "-" 443',
  ].join('\n') + '\n');
  return { vhost, iis, nginx };
}

test('the page detects each file\'s format like the CLI', async () => {
  const { vhost, iis } = otherFormats();
  const files = [join(root, 'samples', 'apache_logs.gz'), vhost, iis];
  const page = await browser.newPage();
  const { rows, summary } = await tallyInPage(page, files);
  const expected = cli(files);
  assert.deepEqual(rows, Object.entries(expected.counts));
  for (const k of ['files', 'lines', 'counted', 'filtered', 'malformed']) {
    assert.equal(Number(summary[k]), expected.totals[k], k);
  }
  assert.equal(summary.formats, 'combined,vcombined,w3c');
  assert.ok(rows.some(([key]) => key === '/w/about.html'), 'the IIS lines count');
  assert.ok(rows.some(([key]) => key === '/v/b'), 'the vhost lines count');
  await page.close();
});

test('the page takes an nginx log_format string like the CLI', async () => {
  const { nginx } = otherFormats();
  const format = '$host $remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $server_port';
  const page = await browser.newPage();
  const { rows, summary } = await tallyInPage(page, [nginx], { by: 'status', format });
  const expected = cli([nginx], ['--by', 'status', '--log-format', format]);
  assert.deepEqual(rows, Object.entries(expected.counts));
  assert.deepEqual(rows, [['200', 1], ['400', 1]], 'the empty-host TLS probe is a record');
  assert.equal(Number(summary.malformed), 0);
  await page.close();
});

test('a drop that runs the module out of memory says so, naming the file, and the page counts again', async () => {
  // Many visitors and keys: the dashboard of this file needs well over 64 MiB.
  mkdirSync(work, { recursive: true });
  const [many] = execFileSync(gen, [join(work, 'memory'), '1', '400000', '3', 'wild']).toString().trim().split('\n');
  const sample = join(root, 'samples', 'apache_logs.gz');
  const cliTotals = (files) => JSON.parse(execFileSync(bin, ['--report', '--format', 'json', '-q', ...files],
    { stdio: ['ignore', 'pipe', 'ignore'] }).toString()).totals;
  const finished = (page) => page.waitForFunction(
    () => ['done', 'error'].includes(document.getElementById('status').dataset.state), null,
    { timeout: 120_000, polling: 100 });
  const dashboardRun = async (page, files) => {
    await page.waitForFunction(() => !document.getElementById('run').disabled || document.getElementById('status').dataset.state === 'ready',
      null, { timeout: 60_000, polling: 100 });
    await page.setInputFiles('input[type=file]', files);
    await finished(page);
    return page.$eval('#status', (s) => [s.dataset.state, s.textContent]);
  };
  for (const at of [origin, plainOrigin]) {
    // Without a limit the same file is counted, as the CLI counts it.
    const page = await browser.newPage();
    await page.goto(at + '/');
    await page.check('#dashboard-mode');
    const [state, text] = await dashboardRun(page, [many]);
    assert.equal(state, 'done', text);
    assert.equal(Number(await page.$eval('#summary', (s) => s.dataset.lines)), cliTotals([many]).lines);
    await page.close();

    // With the module's memory limited to 64 MiB it runs out: the page says so
    // and names the file, rather than waiting forever for a stopped thread.
    const limited = await browser.newPage();
    await limited.goto(at + '/?memory=64');
    await limited.check('#dashboard-mode');
    const [failed, why] = await dashboardRun(limited, [many]);
    assert.equal(failed, 'error', why);
    assert.match(why, /Out of memory: an allocation failed with the page's module at \d+ MiB \(over the limit set by \?memory=64\) while counting 1 file\(s\) \(access-00\.log\.gz\)/);
    // Its workers start again: the next drop is counted exactly.
    const [again, how] = await dashboardRun(limited, [sample]);
    assert.equal(again, 'done', how);
    assert.equal(Number(await limited.$eval('#summary', (s) => s.dataset.lines)), cliTotals([sample]).lines);
    assert.equal(Number(await limited.$eval('#summary', (s) => s.dataset.counted)), cliTotals([sample]).counted);
    await limited.close();
  }
});

test('a filter change that runs the module out of memory says so, rather than waiting forever', async () => {
  // The count again of the kept records builds a second dashboard beside the
  // first, on the pool's threads: with less memory to spare after the run
  // than that needs (`?headroom=`), a thread runs out during the change.
  mkdirSync(work, { recursive: true });
  const [many] = execFileSync(gen, [join(work, 'recount'), '1', '300000', '5', 'wild']).toString().trim().split('\n');
  const MiB = 1 << 20;
  const state = (page) => page.$eval('#status', (s) => [s.dataset.state, s.textContent]);
  const settled = (page) => page.waitForFunction(
    () => ['done', 'error'].includes(document.getElementById('status').dataset.state), null,
    { timeout: 120_000, polling: 100 });
  const moduleBytes = (page) => page.$eval('#summary', (s) => Number(s.dataset.moduleBytes));
  const changeFilter = async (page) => {
    const cards = await page.$('#dashboard .lt-cards');
    await page.fill('#where', 'status>=100'); // every record: a whole second dashboard
    await page.press('#where', 'Enter');
    await page.waitForFunction((el) => !el.isConnected || document.getElementById('status').dataset.state === 'error',
      cards, { timeout: 120_000, polling: 100 });
    await settled(page);
    return state(page);
  };
  const open = async (query) => {
    const page = await browser.newPage();
    await page.goto(origin + '/' + query);
    await page.waitForFunction(() => document.getElementById('status').dataset.state === 'ready', null, { timeout: 60_000 });
    await page.check('#dashboard-mode');
    await page.setInputFiles('input[type=file]', [many]);
    await settled(page);
    return page;
  };

  // Without a limit, the change needs this much more memory than the run left.
  const free = await open('');
  assert.deepEqual((await state(free))[0], 'done');
  const afterRun = await moduleBytes(free);
  const [changed, how] = await changeFilter(free);
  assert.equal(changed, 'done', how);
  assert.equal(await free.$eval('#summary', (s) => s.dataset.recounted), 'true');
  const grown = (await moduleBytes(free)) - afterRun;
  await free.close();
  assert.ok(grown >= 24 * MiB, `the filter change needs more memory than the run left (${grown / MiB} MiB)`);

  const limited = await open('?headroom=8');
  const [ran, ranHow] = await state(limited);
  assert.equal(ran, 'done', ranHow);
  const [failed, why] = await changeFilter(limited);
  assert.equal(failed, 'error', why);
  assert.match(why, /Out of memory: an allocation failed with the page's module at \d+ MiB \(over the limit set by \?headroom=8, at \d+ MiB\) while counting 1 file\(s\)/);
  // Its workers start again: the next drop is counted.
  await limited.fill('#where', '');
  await limited.setInputFiles('input[type=file]', [join(root, 'samples', 'apache_logs.gz')]);
  await settled(limited);
  assert.equal((await state(limited))[0], 'done');
  assert.equal(Number(await limited.$eval('#summary', (s) => s.dataset.lines)), 10000);
  await limited.close();
});
