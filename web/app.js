// The page: file picking, controls, progress and results. Every string that
// comes from a log is put in the page as text (textContent), never as HTML.
// Two views of a run: the table of one key (the core's schema-1 report), or,
// with "dashboard" checked, the dashboard of a schema-2 report drawn by
// dashboard.js (window.LogtallyDashboard), the renderer of the CLI's HTML
// report too.
const $ = (id) => document.getElementById(id);
const status = $('status');
// `?memory=MB` passes on to the worker: the module's memory limit (see worker.js).
const workerUrl = new URL('./worker.js' + location.search, import.meta.url);
let worker = null;
let restarted = false; // the worker was replaced after running out of memory

let files = [];
let lastReport = null;
let lastBy = 'path';
let threads = 0; // 0 until the workers are ready
let runId = 0; // the current run; messages of older runs are ignored
let running = false;
let replacedPrevious = false; // the current run cancelled the one before it

function setState(state, text) {
  status.dataset.state = state;
  $('status-text').textContent = text;
}

function human(n) {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = n, u = 0;
  while (v >= 1000 && u < units.length - 1) { v /= 1000; u++; }
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]}`;
}

function choose(list) {
  files = Array.from(list);
  restarted = false; // a new selection is counted once the workers are ready
  const total = files.reduce((s, f) => s + f.size, 0);
  $('selection').textContent = files.length
    ? `${files.length} file(s), ${human(total)}`
    : 'No files chosen.';
  $('run').disabled = !files.length || !threads;
  if (!files.length) return;
  if (threads) {
    start();
  } else {
    // Chosen before the workers are ready: queued, tallied as soon as they are.
    setState('loading', `${files.length} file(s) queued: the tally starts as soon as the workers are ready...`);
  }
}

const CUSTOM = 'custom';

function dashboardMode() {
  return $('dashboard-mode').checked;
}

function options() {
  const format = $('log-format').value;
  const base = {
    prefix: $('prefix').value.trim() || null,
    by: $('by').value,
    no_path_filter: $('no-path-filter').checked,
    log_format: format === CUSTOM ? $('custom-format').value : format,
  };
  // The table view sends exactly what it always did (the core refuses unknown options).
  if (!dashboardMode()) return base;
  const bucket = $('bucket').value;
  return {
    ...base,
    report: true,
    since: $('since').value.trim() || null,
    until: $('until').value.trim() || null,
    where: $('where').value.split(';').map((w) => w.trim()).filter(Boolean),
    bucket: bucket === 'auto' ? null : bucket,
  };
}

// The controls offer what the core knows (its presets and keys), as text.
function fillChoices(choices) {
  const fill = (select, values, extra = []) => {
    const current = select.value;
    select.replaceChildren(...[...values, ...extra].map((v) => {
      const option = document.createElement('option');
      option.value = v;
      option.textContent = v === CUSTOM ? 'custom (nginx or Apache string)' : v;
      return option;
    }));
    select.value = [...values, ...extra].includes(current) ? current : values[0];
  };
  fill($('by'), choices.keys);
  fill($('log-format'), choices.log_formats, [CUSTOM]);
}

function topN() {
  const n = parseInt($('top').value, 10);
  return Number.isFinite(n) && n > 0 ? n : 0;
}

function start() {
  // A new selection during a run replaces it: the worker cancels the old run first.
  const replacing = running;
  replacedPrevious = replacing;
  running = true;
  runId += 1;
  lastBy = $('by').value;
  $('run').disabled = true;
  $('cancel').disabled = false;
  $('progress').replaceChildren(...files.map((f, i) => {
    const li = document.createElement('li');
    const bar = document.createElement('progress');
    bar.max = Math.max(1, f.size);
    bar.value = 0;
    bar.id = `file-${i}`;
    const name = document.createElement('span');
    name.textContent = f.name;
    li.append(bar, name);
    return li;
  }));
  setState('working', (replacing ? 'New files: the previous run was cancelled and these are tallied instead. ' : '') +
    `Tallying ${files.length} file(s) on ${threads} thread(s)...`);
  status.dataset.replaced = String(replacing);
  worker.postMessage({ type: 'run', runId, files, options: options(), top: topN() });
}

function renderSummary(report, seconds) {
  const t = report.totals;
  const summary = $('summary');
  const items = [
    ['files', t.files], ['lines', t.lines], ['counted', t.counted], ['filtered', t.filtered],
    ['malformed', t.malformed], ['compressed', human(t.bytes_in)], ['uncompressed', human(t.bytes_out)],
    ['seconds', seconds.toFixed(2)], ['threads', threads],
    ['MB/s', (t.bytes_in / 1e6 / Math.max(seconds, 1e-6)).toFixed(1)],
  ];
  summary.replaceChildren(...items.map(([k, v]) => {
    const div = document.createElement('div');
    const dt = document.createElement('dt');
    const dd = document.createElement('dd');
    dt.textContent = k;
    dd.textContent = String(v);
    div.append(dt, dd);
    return div;
  }));
  const formats = [...new Set(report.files.map((f) => f.format).filter(Boolean))].sort();
  const formatItem = document.createElement('div');
  const dt = document.createElement('dt');
  const dd = document.createElement('dd');
  dt.textContent = 'log format';
  dd.textContent = formats.join(', ') || '-';
  formatItem.append(dt, dd);
  summary.append(formatItem);
  summary.dataset.formats = formats.join(',');
  for (const k of ['files', 'lines', 'counted', 'filtered', 'malformed']) summary.dataset[k] = String(t[k]);
  summary.dataset.threads = String(threads);
  summary.dataset.partial = String(report.partial);
  summary.dataset.seconds = String(seconds);
  summary.dataset.bytesIn = String(t.bytes_in);
  summary.dataset.bytesOut = String(t.bytes_out);
}

/** A schema-2 report (the dashboard's), as opposed to the table's schema 1. */
const isDashboard = (report) => !!report && report.schema === 2;

/**
 * A bucket's start as the report writes it (2015-05-17T10:00:00+02:00) in the
 * form since and until take: the log's own wall-clock time (2015-05-17T10:00).
 */
function wallClock(iso) {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d)(:\d\d)?/.exec(iso);
  if (!m) return iso;
  return m[2] && m[2] !== ':00' ? m[1] + m[2] : m[1];
}

/** The chart's brush: tally the chosen time range only ([start, end) of its buckets). */
function onTimeRange(startIso, endIso) {
  $('since').value = wallClock(startIso);
  $('until').value = wallClock(endIso);
  if (files.length && threads) start();
}

function renderDashboard(report) {
  // The table's parts stay empty and hidden; the summary above stays.
  $('counts').hidden = true;
  $('counts').querySelector('tbody').replaceChildren();
  $('errors-title').hidden = true;
  $('errors').replaceChildren();
  $('download-html').hidden = false;
  const section = $('dashboard');
  section.hidden = false; // shown first, so the chart has its width
  if (window.LogtallyDashboard) {
    window.LogtallyDashboard.render(section, report, { onTimeRange });
  } else {
    section.textContent = 'The dashboard script (dashboard.js) did not load.';
  }
}

function renderReport(report) {
  if (isDashboard(report)) {
    renderDashboard(report);
    return;
  }
  $('counts').hidden = false;
  $('download-html').hidden = true;
  $('dashboard').hidden = true;
  $('dashboard').replaceChildren();
  renderCounts(report);
}

function renderCounts(report) {
  const rows = Object.entries(report.counts);
  const max = rows.length ? rows[0][1] : 1;
  $('key-header').textContent = lastBy;
  $('counts').querySelector('tbody').replaceChildren(...rows.map(([key, n], i) => {
    const tr = document.createElement('tr');
    tr.dataset.key = key;
    tr.dataset.count = String(n);
    const cells = [String(i + 1), key, String(n)].map((text, j) => {
      const td = document.createElement('td');
      td.textContent = text;
      td.className = ['rank', 'key', 'n'][j];
      return td;
    });
    const bar = document.createElement('td');
    bar.className = 'bar';
    const span = document.createElement('span');
    span.style.width = `${(100 * n / max).toFixed(1)}%`;
    bar.append(span);
    tr.append(...cells, bar);
    return tr;
  }));
  const errors = report.errors.map((e) => `${e.path}${e.line == null ? '' : ':' + e.line}: ${e.message}`);
  $('errors-title').hidden = !errors.length;
  $('errors').replaceChildren(...errors.map((text) => {
    const li = document.createElement('li');
    li.textContent = text;
    return li;
  }));
}

function download(name, type, text) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function onWorkerMessage(event) {
  const msg = event.data;
  if ('runId' in msg && msg.runId !== runId) return; // a replaced run
  if (msg.type === 'ready') {
    threads = msg.threads;
    if (msg.choices) fillChoices(msg.choices);
    $('threads-note').textContent = msg.note || `${threads} thread(s) ready.`;
    $('threads-note').dataset.singleThread = String(!!msg.note);
    if (restarted) {
      $('run').disabled = !files.length; // the error stays shown
    } else if (files.length) {
      start(); // files chosen while the workers were starting
    } else {
      setState('ready', 'Ready: drop files or choose them.');
    }
  } else if (msg.type === 'export') {
    if (msg.format === 'html') download('logtally-report.html', 'text/html', msg.text);
    else download('logtally.csv', 'text/csv', msg.text);
  } else if (msg.type === 'fatal') {
    setState('error', msg.message);
  } else if (msg.type === 'progress') {
    msg.fed.forEach((bytes, i) => {
      const bar = $(`file-${i}`);
      if (bar) bar.value = msg.done[i] ? bar.max : bytes;
    });
    const total = msg.fed.reduce((s, b) => s + b, 0);
    const mbs = total / 1e6 / Math.max(msg.seconds, 1e-6);
    $('status-text').textContent =
      `Tallying on ${msg.threads} thread(s): ${msg.done.filter(Boolean).length}/${msg.done.length} files, ${human(total)} read, ${mbs.toFixed(1)} MB/s`;
  } else if (msg.type === 'done') {
    lastReport = JSON.parse(msg.report);
    $('results').hidden = false;
    renderSummary(lastReport, msg.seconds);
    // How the run was made (for the benchmark): counted again from memory, and the memory kept.
    Object.assign($('summary').dataset, {
      recounted: String(!!msg.recounted), keptBytes: String(msg.keptBytes || 0), moduleBytes: String(msg.moduleBytes || 0),
    });
    renderReport(lastReport);
    $('run').disabled = false;
    $('cancel').disabled = true;
    running = false;
    const failed = lastReport.files.filter((f) => f.failed).length;
    setState('done', `${msg.cancelled ? 'Cancelled: partial result. ' : ''}` +
      `${replacedPrevious ? 'The previous run was cancelled for these files. ' : ''}` +
      `${msg.reshown ? 'The view before this change, kept in memory (nothing counted again). '
        : msg.recounted ? 'Counted again from the records kept in memory (the files were not read again). ' : ''}` +
      `Done in ${msg.seconds.toFixed(2)} s` +
      (failed ? `; ${failed} file(s) could not be read completely (see Problems).` : '.'));
  } else if (msg.type === 'report') {
    lastReport = JSON.parse(msg.report);
    renderReport(lastReport);
  } else if (msg.type === 'error') {
    setState('error', msg.message);
    running = false;
    $('run').disabled = !!msg.restart; // until the new worker is ready
    $('cancel').disabled = true;
    if (msg.restart) startWorker(true);
  }
}

/**
 * Starts the worker; `again`: in place of one that cannot go on (out of
 * memory), whose threads are stopped with it. The files are not counted
 * again by themselves then: the same drop would run out of memory again.
 */
function startWorker(again) {
  if (worker) worker.terminate();
  restarted = again;
  threads = 0;
  worker = new Worker(workerUrl, { type: 'module' });
  worker.onmessage = onWorkerMessage;
  worker.onerror = (e) => setState('error', `The worker failed: ${e.message}`);
}
startWorker(false);

$('files').addEventListener('change', (e) => choose(e.target.files));
const drop = $('drop');
drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  choose(e.dataTransfer.files);
});
$('run').addEventListener('click', () => files.length && start());
$('log-format').addEventListener('change', () => {
  $('custom-format-label').hidden = $('log-format').value !== CUSTOM;
});
$('cancel').addEventListener('click', () => worker.postMessage({ type: 'cancel', runId }));
$('top').addEventListener('change', () => lastReport && worker.postMessage({ type: 'report', runId, top: topN() }));
$('download-json').addEventListener('click', () =>
  lastReport && download('logtally.json', 'application/json', JSON.stringify(lastReport, null, 2) + '\n'));
// CSV and the HTML report come from the core (the worker), as the CLI writes them.
$('download-csv').addEventListener('click', () =>
  lastReport && worker.postMessage({ type: 'export', runId, format: 'csv', top: topN() }));
$('download-html').addEventListener('click', () =>
  isDashboard(lastReport) && worker.postMessage({ type: 'export', runId, format: 'html', top: topN() }));

// The dashboard view and its filters: a change tallies the chosen files again.
const rerun = () => files.length && threads && start();
function showFilters() {
  $('filters').hidden = !dashboardMode();
}
$('dashboard-mode').addEventListener('change', () => {
  showFilters();
  rerun();
});
showFilters();
for (const id of ['since', 'until', 'where']) {
  $(id).addEventListener('keydown', (e) => {
    if (e.key === 'Enter') rerun();
  });
}
$('bucket').addEventListener('change', rerun);
$('clear-range').addEventListener('click', () => {
  $('since').value = '';
  $('until').value = '';
  rerun();
});
