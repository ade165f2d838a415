// logtally's dashboard: renders a schema-2 report object (totals, panels,
// timeseries, files, errors) into a container. One renderer for both the page
// (index.html, web/app.js) and the self-contained HTML report the CLI writes
// (web/report-template.html, opened from disk with no network).
//
// A classic script (no modules): it defines window.LogtallyDashboard. It uses
// the global uPlot (web/vendor/uPlot.iife.min.js) for the time chart when that
// is loaded, and a plain CSS bar chart otherwise.
//
// Security: every string of the report (keys, paths, user agents, file names,
// messages) reaches the page through text nodes (textContent) only, or through
// inert data-* properties; nothing of the report is ever parsed as HTML.
//
// This file is inlined in a script element by the CLI: it must never contain
// the character sequences that end a script element or open an HTML comment.
(function () {
  'use strict';

  var TITLES = {
    path: 'Requests (paths)',
    'static': 'Static files',
    'not-found': 'Not found (404)',
    host: 'Hosts',
    status: 'Status codes',
    method: 'Methods',
    protocol: 'Protocols',
    hour: 'Hours',
    day: 'Days',
    'referrer-host': 'Referring sites',
    browser: 'Browsers',
    os: 'Operating systems',
    vhost: 'Virtual hosts',
  };

  /** Rows shown per panel at most (the JSON download has them all). */
  var MAX_ROWS = 500;
  /** Files listed at most. */
  var MAX_FILES = 200;
  /** Problems listed at most. */
  var MAX_ERRORS = 500;

  var has = function (o, k) { return o != null && Object.prototype.hasOwnProperty.call(o, k); };

  function titleOf(name) {
    return has(TITLES, name) ? TITLES[name] : String(name);
  }

  function num(n) {
    if (typeof n !== 'number' || !isFinite(n)) return '-';
    if (!Number.isInteger(n) || Math.abs(n) >= 1e21) return n.toLocaleString('en-US');
    // 1,234,567 (toLocaleString is slow over thousands of rows)
    var s = String(Math.abs(n)), out = '';
    while (s.length > 3) { out = ',' + s.slice(-3) + out; s = s.slice(0, -3); }
    return (n < 0 ? '-' : '') + s + out;
  }

  /** Bytes in SI units, as the page shows them. */
  function human(n) {
    if (typeof n !== 'number' || !isFinite(n)) return '-';
    var units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
    var v = n, u = 0;
    while (v >= 1000 && u < units.length - 1) { v /= 1000; u++; }
    return u === 0 ? n + ' B' : v.toFixed(1) + ' ' + units[u];
  }

  function ms(v) {
    if (typeof v !== 'number' || !isFinite(v)) return '-';
    if (v >= 1000) return (v / 1000).toFixed(v >= 100000 ? 0 : 2) + ' s';
    var digits = v >= 100 ? 0 : v >= 10 ? 1 : 2;
    return v.toFixed(digits) + ' ms';
  }

  function compact(n) {
    var a = Math.abs(n);
    if (a >= 1e9) return +(n / 1e9).toFixed(1) + 'G';
    if (a >= 1e6) return +(n / 1e6).toFixed(1) + 'M';
    if (a >= 1e4) return +(n / 1e3).toFixed(1) + 'k';
    return String(n);
  }

  /** Code point order, as Rust orders strings (UTF-16 order differs above U+FFFF). */
  function compareKeys(a, b) {
    var i = 0, j = 0;
    while (i < a.length && j < b.length) {
      var x = a.codePointAt(i), y = b.codePointAt(j);
      if (x !== y) return x < y ? -1 : 1;
      i += x > 0xffff ? 2 : 1;
      j += y > 0xffff ? 2 : 1;
    }
    return i < a.length ? 1 : j < b.length ? -1 : 0; // a prefix first
  }

  /**
   * A panel's rows, hits descending then key ascending. Never the object's own
   * order: JavaScript puts integer-like keys ("200", "404") first, ascending.
   */
  var SURROGATE = /[\ud800-\udfff]/;

  function sortedRows(panel) {
    var hits = (panel && panel.hits) || {};
    var rows = Object.keys(hits).map(function (k) {
      return { k: k, n: Number(hits[k]) || 0, wide: SURROGATE.test(k) };
    });
    rows.sort(function (a, b) {
      if (a.n !== b.n) return a.n > b.n ? -1 : 1;
      // Without characters above U+FFFF, UTF-16 order is code point order.
      if (!a.wide && !b.wide) return a.k < b.k ? -1 : a.k > b.k ? 1 : 0;
      return compareKeys(a.k, b.k);
    });
    return rows.map(function (r) { return r.k; });
  }

  // ---- DOM helpers: text only ----

  function el(tag, className, text) {
    var e = document.createElement(tag);
    if (className) e.className = className;
    if (text != null) e.textContent = String(text);
    return e;
  }

  // Characters that do not show, or reorder what follows (bidi controls), are
  // shown as visible escapes so a key reads as what it is.
  var INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/;

  /** `text` with its invisible characters written as escapes (\xNN, \u{NNNN}). */
  function printable(text) {
    return String(text).replace(new RegExp(INVISIBLE.source, 'g'), function (c) {
      var code = c.charCodeAt(0);
      return code <= 0xff ? '\\x' + (code < 16 ? '0' : '') + code.toString(16) : '\\u{' + code.toString(16) + '}';
    });
  }

  /** A report string as text, its invisible characters made visible (\xNN, \u{NNNN}). */
  function literal(text) {
    var s = String(text);
    var frag = document.createDocumentFragment();
    if (!INVISIBLE.test(s)) {
      frag.appendChild(document.createTextNode(s));
      return frag;
    }
    var run = '';
    for (var i = 0; i < s.length; i++) {
      var c = s.charAt(i);
      if (INVISIBLE.test(c)) {
        if (run) { frag.appendChild(document.createTextNode(run)); run = ''; }
        var code = c.charCodeAt(0);
        var shown = code <= 0xff
          ? '\\x' + (code < 16 ? '0' : '') + code.toString(16)
          : '\\u{' + code.toString(16) + '}';
        frag.appendChild(el('span', 'lt-ctl', shown));
      } else {
        run += c;
      }
    }
    if (run) frag.appendChild(document.createTextNode(run));
    return frag;
  }

  // ---- time ----

  var BUCKET_UNITS = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

  /** "15m" -> 900 seconds; null for what this does not know. */
  function bucketSeconds(bucket) {
    var m = /^(\d+)\s*([smhdw])$/.exec(String(bucket || '').trim());
    return m ? Number(m[1]) * BUCKET_UNITS[m[2]] : null;
  }

  /** "+05:30" -> 330 minutes east of UTC; 0 for "Z" or what does not parse. */
  function offsetMinutes(offset) {
    var m = /^([+-])(\d\d):?(\d\d)$/.exec(String(offset || '').trim());
    if (!m) return 0;
    var v = Number(m[2]) * 60 + Number(m[3]);
    return m[1] === '-' ? -v : v;
  }

  function pad2(n) { return (n < 10 ? '0' : '') + n; }

  /** Unix seconds as the report writes times: 2015-05-17T10:00:00+00:00, at `offset`. */
  function isoAt(seconds, offsetMin) {
    var d = new Date((seconds + offsetMin * 60) * 1000);
    var sign = offsetMin < 0 ? '-' : '+';
    var a = Math.abs(offsetMin);
    return d.getUTCFullYear() + '-' + pad2(d.getUTCMonth() + 1) + '-' + pad2(d.getUTCDate()) +
      'T' + pad2(d.getUTCHours()) + ':' + pad2(d.getUTCMinutes()) + ':' + pad2(d.getUTCSeconds()) +
      sign + pad2(Math.floor(a / 60)) + ':' + pad2(a % 60);
  }

  /** "2015-05-17T10:00:00+00:00" -> "2015-05-17 10:00" (the bucket as the log's clock reads it). */
  function shortTime(iso) {
    var m = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d)(:\d\d)?/.exec(String(iso));
    if (!m) return String(iso);
    return m[1] + ' ' + m[2] + (m[3] && m[3] !== ':00' ? m[3] : '');
  }

  /**
   * The time series as numbers: starts (unix seconds), bucket size, offset.
   * Points whose start does not parse are dropped.
   */
  function series(ts) {
    var pts = (ts && Array.isArray(ts.points)) ? ts.points : [];
    var rows = [];
    for (var i = 0; i < pts.length; i++) {
      var p = pts[i] || {};
      var t = Date.parse(p.start);
      if (isFinite(t)) rows.push({ point: p, start: t / 1000 });
    }
    rows.sort(function (a, b) { return a.start - b.start; });
    var size = bucketSeconds(ts && ts.bucket);
    if (!size) {
      size = Infinity;
      for (var j = 1; j < rows.length; j++) size = Math.min(size, rows[j].start - rows[j - 1].start);
      if (!isFinite(size) || size <= 0) size = 3600;
    }
    return { rows: rows, size: size, offset: offsetMinutes(ts && ts.utc_offset) };
  }

  /**
   * The buckets a selection [from, to] (unix seconds) touches, as the start of
   * the first and the end of the last (the start of the bucket after it).
   */
  function rangeOf(s, from, to) {
    var first = -1, last = -1;
    for (var i = 0; i < s.rows.length; i++) {
      var a = s.rows[i].start, b = a + s.size;
      if (b > from && a < to) {
        if (first < 0) first = i;
        last = i;
      }
    }
    if (first < 0) return null;
    var end = s.rows[last].start + s.size;
    var next = s.rows[last + 1];
    return {
      start: String(s.rows[first].point.start),
      end: next && next.start === end ? String(next.point.start) : isoAt(end, s.offset),
    };
  }

  // ---- sections ----

  function card(stat, label, value, note) {
    var c = el('div', 'lt-card');
    c.dataset.stat = stat;
    c.appendChild(el('div', 'lt-card-label', label));
    c.appendChild(el('div', 'lt-card-value', value));
    if (note) c.appendChild(el('div', 'lt-card-note', note));
    return c;
  }

  function overview(report) {
    var t = report.totals || {};
    var box = el('div', 'lt-cards');
    box.appendChild(card('requests', 'Requests', num(t.counted)));
    box.appendChild(card('visitors', 'Visitors', num(t.visitors)));
    box.appendChild(card('bytes-sent', 'Bytes sent', human(t.bytes_sent)));
    box.appendChild(card('files', 'Files', num(t.files)));
    box.appendChild(card('lines', 'Lines', num(t.lines)));
    box.appendChild(card('malformed', 'Malformed', num(t.malformed)));
    box.appendChild(card('filtered', 'Filtered', num(t.filtered)));
    if (t.timed > 0) {
      box.appendChild(card('time-mean', 'Mean request time', ms(t.time_total_us / t.timed / 1000),
        num(t.timed) + ' timed'));
      box.appendChild(card('time-max', 'Max request time', ms(t.time_max_us / 1000)));
    }
    return box;
  }

  /** A chart of hits per bucket (bars) with 4xx and 5xx (lines), by uPlot. */
  function uplotChart(box, s, hooks, state) {
    var x = [], hits = [], c4 = [], c5 = [];
    for (var i = 0; i < s.rows.length; i++) {
      var p = s.rows[i].point;
      x.push(s.rows[i].start + s.size / 2); // bars centred on their bucket
      hits.push(Number(p.hits) || 0);
      c4.push(Number(p['4xx']) || 0);
      c5.push(Number(p['5xx']) || 0);
    }
    var x0 = s.rows[0].start;
    var x1 = s.rows[s.rows.length - 1].start + s.size;
    var onRange = hooks && typeof hooks.onTimeRange === 'function' ? hooks.onTimeRange : null;
    var clock = clockOf(s.offset);
    var tzDate = clock.tzDate, timeLabels = clock.timeLabels;
    var bars = uPlot.paths && uPlot.paths.bars ? uPlot.paths.bars({ size: [0.85, 120, 1], align: 0 }) : undefined;
    var width = function () { return chartWidth(box); };
    var opts = {
      width: width(),
      height: 260,
      tzDate: tzDate,
      scales: {
        x: {
          time: true,
          // The whole buckets when showing everything; a zoom as asked.
          range: function (u, min, max) {
            return min <= x[0] && max >= x[x.length - 1] ? [x0, x1] : [min, max];
          },
        },
        y: { range: function (u, min, max) { return [0, Math.max(1, max) * 1.08]; } },
      },
      series: [
        {
          label: 'time',
          value: function (u, v, si, idx) { return idx == null ? '--' : shortTime(s.rows[idx].point.start); },
        },
        { label: 'hits', stroke: '#3b78d8', fill: 'rgba(59, 120, 216, 0.45)', width: 1, paths: bars, points: { show: false } },
        { label: '4xx', stroke: '#d98c00', width: 2, points: { show: s.rows.length < 3 } },
        { label: '5xx', stroke: '#c62828', width: 2, points: { show: s.rows.length < 3 } },
      ],
      axes: [
        { grid: { stroke: '#eef0f2' }, values: timeLabels, size: 44, space: 84 },
        { size: 56, grid: { stroke: '#eef0f2' }, values: function (u, splits) { return splits.map(compact); } },
      ],
      padding: [null, 36, null, null], // room for the last date label
      cursor: { drag: { x: true, y: false, setScale: !onRange } },
      hooks: {},
      legend: { show: true },
    };
    if (onRange) {
      opts.hooks.setSelect = [function (u) {
        var sel = u.select;
        if (!sel || sel.width < 2) return;
        var from = u.posToVal(sel.left, 'x');
        var to = u.posToVal(sel.left + sel.width, 'x');
        u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
        var r = rangeOf(s, from, to);
        if (r) onRange(r.start, r.end);
      }];
    }
    keepSized(state, box, new uPlot(opts, [x, hits, c4, c5], box), width, opts.height);
  }

  /**
   * uPlot formats times with the Date's local fields: a Date whose local
   * fields read as the report's clock (its UTC offset, in minutes), and axis
   * labels on a 24-hour clock with the date under the first label of each day.
   */
  function clockOf(offsetMin) {
    var offsetMs = offsetMin * 60000;
    var tzDate = function (ts) {
      var d = new Date(ts * 1000 + offsetMs);
      return new Date(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(),
        d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds());
    };
    var timeLabels = function (u, splits, ai, space, incr) {
      var prev = null;
      return splits.map(function (v) {
        if (v == null) return null;
        var d = tzDate(v);
        var day = d.getFullYear() + '-' + pad2(d.getMonth() + 1) + '-' + pad2(d.getDate());
        if (incr >= 86400) return day;
        var hm = pad2(d.getHours()) + ':' + pad2(d.getMinutes()) + (incr < 60 ? ':' + pad2(d.getSeconds()) : '');
        var label = day !== prev ? hm + '\n' + day : hm;
        prev = day;
        return label;
      });
    };
    return { tzDate: tzDate, timeLabels: timeLabels };
  }

  /** The width a chart takes in `box`. */
  function chartWidth(box) {
    return Math.max(280, Math.floor(box.clientWidth || 800));
  }

  /** Keeps `plot` as wide as `box` (the container's plots are released on the next render). */
  function keepSized(state, box, plot, width, height) {
    state.plots = (state.plots || []).concat([plot]);
    if (typeof ResizeObserver === 'function') {
      var last = width();
      var observer = new ResizeObserver(function () {
        var w = width();
        if (w !== last) { last = w; plot.setSize({ width: w, height: height }); }
      });
      observer.observe(box);
      state.observers = (state.observers || []).concat([observer]);
    }
  }

  var KEY_COLOURS = ['#3b78d8', '#d98c00', '#2e7d32', '#c62828', '#6a1b9a', '#00838f', '#ad1457', '#5d4037', '#546e7a', '#9e9d24'];

  /**
   * The top keys over time (`--by KEY --bucket`): the points as numbers, one
   * row per key in the report's order, one column per bucket start.
   */
  function keyMatrix(ks) {
    var pts = Array.isArray(ks.points) ? ks.points : [];
    // No prototype: a key may be any text, "__proto__" too.
    var keys = [], rowOf = Object.create(null), starts = Object.create(null), parsed = [];
    pts.forEach(function (p) {
      var t = Date.parse(p && p.start);
      if (!isFinite(t)) return;
      var key = String(p.key);
      if (!has(rowOf, key)) { rowOf[key] = keys.length; keys.push(key); }
      starts[t / 1000] = String(p.start);
      parsed.push({ row: rowOf[key], x: t / 1000, hits: Number(p.hits) || 0 });
    });
    var xs = Object.keys(starts).map(Number).sort(function (a, b) { return a - b; });
    var colOf = Object.create(null);
    xs.forEach(function (x, i) { colOf[x] = i; });
    var hits = keys.map(function () { return xs.map(function () { return 0; }); });
    parsed.forEach(function (p) { hits[p.row][colOf[p.x]] += p.hits; });
    return { keys: keys, xs: xs, isos: xs.map(function (x) { return starts[x]; }), hits: hits };
  }

  /** The top keys over time as lines, by uPlot. */
  function keysChart(box, m, offsetMin, state) {
    var clock = clockOf(offsetMin);
    var width = function () { return chartWidth(box); };
    var opts = {
      width: width(),
      height: 240,
      tzDate: clock.tzDate,
      scales: { x: { time: true }, y: { range: function (u, min, max) { return [0, Math.max(1, max) * 1.08]; } } },
      series: [{
        label: 'time',
        value: function (u, v, si, idx) { return idx == null ? '--' : shortTime(m.isos[idx]); },
      }].concat(m.keys.map(function (key, i) {
        // Labels are set as text by uPlot (textContent): log text stays data,
        // its invisible characters shown as escapes.
        return { label: printable(key), stroke: KEY_COLOURS[i % KEY_COLOURS.length], width: 1.5, points: { show: m.xs.length < 3 } };
      })),
      axes: [
        { grid: { stroke: '#eef0f2' }, values: clock.timeLabels, size: 44, space: 84 },
        { size: 56, grid: { stroke: '#eef0f2' }, values: function (u, splits) { return splits.map(compact); } },
      ],
      padding: [null, 36, null, null],
      legend: { show: true },
    };
    keepSized(state, box, new uPlot(opts, [m.xs].concat(m.hits), box), width, opts.height);
  }

  /** `--by KEY --bucket`: its top keys' hits per bucket, a chart and a table. */
  function keysOverTime(report, state) {
    var ks = report.keys_over_time;
    if (!ks || typeof ks !== 'object') return null;
    var m = keyMatrix(ks);
    if (!m.keys.length || !m.xs.length) return null;
    var section = el('section', 'lt-timeline lt-keys-over-time');
    section.appendChild(el('h2', 'lt-h2', titleOf(String(ks.panel || 'keys')) + ' over time'));
    var box = el('div', 'lt-chart');
    section.appendChild(box);
    section.appendChild(el('p', 'lt-chart-note', 'Buckets of ' + String(ks.bucket || '?') + ', times at UTC' +
      String(ks.utc_offset || '+00:00') + '; ' + num(m.keys.length) + ' key(s) over ' + num(m.xs.length) + ' bucket(s).'));
    var tbody = document.createElement('tbody');
    m.keys.forEach(function (key, i) {
      var total = 0, peak = 0;
      m.hits[i].forEach(function (n, j) { total += n; if (n > m.hits[i][peak]) peak = j; });
      var tr = document.createElement('tr');
      var cell = el('td', 'lt-key');
      cell.appendChild(literal(key));
      tr.appendChild(cell);
      tr.appendChild(el('td', 'lt-num', num(total)));
      tr.appendChild(el('td', null, shortTime(m.isos[peak])));
      tr.appendChild(el('td', 'lt-num', num(m.hits[i][peak])));
      tbody.appendChild(tr);
    });
    section.appendChild(tableOf([['key', null], ['hits', 'lt-num'], ['busiest bucket', null], ['hits then', 'lt-num']], tbody));
    var offset = offsetMinutes(ks.utc_offset);
    var previous = state.draw;
    state.draw = function () {
      if (previous) previous();
      if (typeof uPlot === 'function') {
        try {
          keysChart(box, m, offset, state);
        } catch (e) {
          box.textContent = '';
        }
      }
    };
    return section;
  }

  /** Without uPlot: a plain bar chart of hits per bucket. */
  function cssChart(box, s) {
    box.classList.add('lt-chart-fallback');
    var max = 1;
    for (var i = 0; i < s.rows.length; i++) max = Math.max(max, Number(s.rows[i].point.hits) || 0);
    // One slot per bucket, buckets without a point left empty (when not too many).
    var first = s.rows[0].start, last = s.rows[s.rows.length - 1].start;
    var slots = Math.round((last - first) / s.size) + 1;
    var spaced = slots <= 5000 && slots >= s.rows.length;
    var bars = el('div', 'lt-fbars');
    var at = 0;
    for (var j = 0; j < s.rows.length; j++) {
      if (spaced) {
        for (var slot = Math.round((s.rows[j].start - first) / s.size); at < slot; at++) bars.appendChild(el('div', 'lt-fbar lt-fbar-empty'));
        at++;
      }
      var p = s.rows[j].point;
      var n = Number(p.hits) || 0;
      var b = el('div', 'lt-fbar');
      b.style.height = (100 * n / max).toFixed(2) + '%';
      b.title = shortTime(p.start) + ': ' + num(n) + ' hits, ' + num(Number(p['4xx']) || 0) + ' 4xx, ' +
        num(Number(p['5xx']) || 0) + ' 5xx';
      bars.appendChild(b);
    }
    box.appendChild(bars);
    var axis = el('div', 'lt-faxis');
    axis.appendChild(el('span', null, shortTime(s.rows[0].point.start)));
    axis.appendChild(el('span', null, 'max ' + num(max) + ' hits per bucket'));
    axis.appendChild(el('span', null, shortTime(s.rows[s.rows.length - 1].point.start)));
    box.appendChild(axis);
  }

  function chart(report, hooks, state) {
    var ts = report.timeseries;
    var s = series(ts);
    if (!s.rows.length) return null;
    var section = el('section', 'lt-timeline');
    section.appendChild(el('h2', 'lt-h2', 'Requests over time'));
    var box = el('div', 'lt-chart');
    section.appendChild(box);
    var note = el('p', 'lt-chart-note');
    var first = shortTime(s.rows[0].point.start);
    var last = shortTime(s.rows[s.rows.length - 1].point.start);
    note.textContent = 'Buckets of ' + String(ts.bucket || '?') + ', times at UTC' + String(ts.utc_offset || '+00:00') +
      '; ' + num(s.rows.length) + ' bucket(s) from ' + first + ' to ' + last + '. ' +
      (typeof uPlot !== 'function' ? ''
        : hooks && typeof hooks.onTimeRange === 'function' ? 'Drag across the chart to tally that time range only.'
          : 'Drag across the chart to zoom; double-click to show all.');
    section.appendChild(note);
    // Drawn once the box is in the document, so it has a width.
    state.draw = function () {
      if (typeof uPlot === 'function') {
        try {
          uplotChart(box, s, hooks, state);
          return;
        } catch (e) {
          box.textContent = '';
        }
      }
      cssChart(box, s);
    };
    return section;
  }

  function panelSection(name, panel) {
    panel = panel || {};
    var keys = sortedRows(panel);
    var hits = panel.hits || {};
    var visitors = panel.visitors || {};
    var bytes = panel.bytes || {};
    var time = panel.time && typeof panel.time === 'object' ? panel.time : null;
    var hasTime = !!time && Object.keys(time).length > 0;
    var max = keys.length ? Math.max(1, Number(hits[keys[0]]) || 0) : 1;

    var section = el('section', 'lt-panel');
    section.dataset.panel = String(name);
    var head = el('div', 'lt-panel-head');
    head.appendChild(el('h3', 'lt-h3', titleOf(name)));
    var distinct = typeof panel.distinct === 'number' ? panel.distinct : keys.length;
    var shown = Math.min(keys.length, MAX_ROWS);
    head.appendChild(el('span', 'lt-panel-count',
      num(keys.length) + ' of ' + num(distinct) + ' keys' +
      (shown < keys.length ? ' (the first ' + num(shown) + ' shown)' : '')));
    section.appendChild(head);

    if (!keys.length) {
      section.appendChild(el('p', 'lt-empty', 'Nothing counted.'));
      return section;
    }

    var cols = [['#', 'lt-rank'], [String(name), 'lt-key'], ['hits', 'lt-num'], ['', 'lt-bar'],
      ['visitors', 'lt-num'], ['bytes', 'lt-num']];
    if (hasTime) cols.push(['mean', 'lt-num'], ['p95', 'lt-num']);
    var tbody = el('tbody');
    for (var i = 0; i < shown; i++) {
      var k = keys[i];
      var n = Number(hits[k]) || 0;
      var tr = el('tr');
      tr.dataset.key = k;
      tr.dataset.hits = String(n);
      tr.appendChild(el('td', 'lt-rank', i + 1));
      var key = el('td', 'lt-key');
      key.appendChild(literal(k));
      tr.appendChild(key);
      tr.appendChild(el('td', 'lt-num lt-hits', num(n)));
      var bar = el('td', 'lt-bar');
      var fill = el('span', 'lt-bar-fill');
      fill.style.width = (100 * n / max).toFixed(1) + '%';
      bar.appendChild(fill);
      tr.appendChild(bar);
      tr.appendChild(el('td', 'lt-num lt-visitors', has(visitors, k) ? num(visitors[k]) : '-'));
      tr.appendChild(el('td', 'lt-num lt-bytes', has(bytes, k) ? human(bytes[k]) : '-'));
      if (hasTime) {
        var t = has(time, k) ? time[k] : null;
        tr.appendChild(el('td', 'lt-num lt-mean', t ? ms(t.mean_ms) : '-'));
        tr.appendChild(el('td', 'lt-num lt-p95', t ? ms(t.p95_ms) : '-'));
      }
      tbody.appendChild(tr);
    }
    section.appendChild(tableOf(cols, tbody));
    return section;
  }

  /** A scrollable table: a header row of `cols` ([title, class] each) above `tbody`. */
  function tableOf(cols, tbody) {
    var table = el('table', 'lt-table');
    var thead = el('thead');
    var hr = el('tr');
    cols.forEach(function (c) { hr.appendChild(el('th', c[1], c[0])); });
    thead.appendChild(hr);
    table.appendChild(thead);
    table.appendChild(tbody);
    var wrap = el('div', 'lt-table-wrap');
    wrap.appendChild(table);
    return wrap;
  }

  function filesSection(report) {
    var files = Array.isArray(report.files) ? report.files : [];
    if (!files.length) return null;
    var section = el('section', 'lt-files');
    section.appendChild(el('h2', 'lt-h2', 'Files'));
    var cols = [['file', 'lt-key'], ['format', ''], ['lines', 'lt-num'], ['counted', 'lt-num'],
      ['filtered', 'lt-num'], ['malformed', 'lt-num'], ['read', 'lt-num'], ['', '']];
    var tbody = el('tbody');
    var shown = Math.min(files.length, MAX_FILES);
    for (var i = 0; i < shown; i++) {
      var f = files[i] || {};
      var tr = el('tr');
      var name = el('td', 'lt-key');
      name.appendChild(literal(f.path == null ? '-' : f.path));
      tr.appendChild(name);
      var fmt = el('td', 'lt-format');
      fmt.appendChild(literal(f.format == null ? '-' : f.format));
      tr.appendChild(fmt);
      tr.appendChild(el('td', 'lt-num', num(f.lines)));
      tr.appendChild(el('td', 'lt-num', num(f.counted)));
      tr.appendChild(el('td', 'lt-num', num(f.filtered)));
      tr.appendChild(el('td', 'lt-num', num(f.malformed)));
      tr.appendChild(el('td', 'lt-num', human(f.bytes_in) + (f.gzip ? ' gz' : '')));
      tr.appendChild(el('td', f.failed ? 'lt-failed' : '', f.failed ? 'failed' : ''));
      tbody.appendChild(tr);
    }
    section.appendChild(tableOf(cols, tbody));
    if (shown < files.length) section.appendChild(el('p', 'lt-note', 'and ' + num(files.length - shown) + ' more file(s)'));
    return section;
  }

  function errorsSection(report) {
    var errors = Array.isArray(report.errors) ? report.errors : [];
    if (!errors.length) return null;
    var section = el('section', 'lt-problems');
    section.appendChild(el('h2', 'lt-h2', 'Problems'));
    var ul = el('ul', 'lt-errors');
    var shown = Math.min(errors.length, MAX_ERRORS);
    for (var i = 0; i < shown; i++) {
      var e = errors[i] || {};
      var li = el('li');
      li.appendChild(literal(String(e.path == null ? '-' : e.path) + (e.line == null ? '' : ':' + e.line) + ': ' +
        String(e.message == null ? '' : e.message)));
      ul.appendChild(li);
    }
    section.appendChild(ul);
    if (shown < errors.length) section.appendChild(el('p', 'lt-note', 'and ' + num(errors.length - shown) + ' more'));
    return section;
  }

  // Per container: its uPlot and resize observer, released on the next render.
  var states = typeof WeakMap === 'function' ? new WeakMap() : null;

  function release(container) {
    var state = states && states.get(container);
    if (!state) return;
    (state.observers || []).forEach(function (o) { o.disconnect(); });
    (state.plots || []).forEach(function (p) { p.destroy(); });
    states.delete(container);
  }

  /**
   * Renders `report` (schema 2) into `container`, replacing what it held.
   * hooks (optional): { onTimeRange(startIso, endIso) }, called when a time
   * range is dragged on the chart: the start of the first bucket touched and
   * the end of the last one (the start of the next bucket), as the report
   * writes times. Without it, dragging zooms the chart.
   */
  function render(container, report, hooks) {
    release(container);
    container.textContent = '';
    container.classList.add('lt-dashboard');
    if (!report || typeof report !== 'object') {
      container.appendChild(el('p', 'lt-empty', 'No report.'));
      return;
    }
    var state = {};
    if (states) states.set(container, state);

    if (report.partial) {
      container.appendChild(el('p', 'lt-partial', 'Partial result: the run was cancelled or a file could not be read completely.'));
    }
    container.appendChild(overview(report));
    var timeline = chart(report, hooks, state);
    if (timeline) container.appendChild(timeline);
    var keyLines = keysOverTime(report, state);
    if (keyLines) container.appendChild(keyLines);

    var panels = report.panels && typeof report.panels === 'object' ? report.panels : {};
    var names = Object.keys(panels);
    if (names.length) {
      var grid = el('div', 'lt-panels');
      names.forEach(function (name) { grid.appendChild(panelSection(name, panels[name])); });
      container.appendChild(grid);
    }
    var files = filesSection(report);
    if (files) container.appendChild(files);
    var errors = errorsSection(report);
    if (errors) container.appendChild(errors);
    if (state.draw) state.draw();
  }

  window.LogtallyDashboard = {
    render: render,
    // Shared with the page (CSV, summaries) and tests.
    titleOf: titleOf,
    sortedRows: sortedRows,
    human: human,
    rangeOf: function (timeseries, fromSeconds, toSeconds) { return rangeOf(series(timeseries), fromSeconds, toSeconds); },
  };
})();
