// Regenerates the README's screenshots (docs/*.png) from the bundled sample:
// the page's dashboard, the CLI's HTML report and its terminal report (the
// text as a terminal shows it, bold headings included), in headless Chromium.
// Needs `bash scripts/web build` and `cargo build --release -p logtally-cli`.
//   node web/screenshots.mjs
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { launchChromium } from './chromium.mjs';
import { serveDist } from './serve.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const sample = join(root, 'samples', 'apache_logs.gz');
const docs = join(root, 'docs');
mkdirSync(docs, { recursive: true });
const report = join(root, 'target', 'sample-report.html');
execFileSync(join(root, 'target', 'release', 'logtally'), ['--format', 'html', '--top', '10', '-q', '-o', report, sample]);

const browser = await launchChromium();
const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
await page.goto(pathToFileURL(report).href);
await page.waitForSelector('.lt-panel');
await page.screenshot({ path: join(docs, 'html-report.png'), clip: { x: 0, y: 0, width: 1200, height: 1500 } });

// The terminal report: the CLI's text with its ANSI bold as <b>, everything
// else as text (the CLI already escapes control characters from logs).
const terminal = execFileSync(join(root, 'target', 'release', 'logtally'),
  ['--report', '--top', '3', '--bucket', '1d', '--format', 'table', '--color', 'always', '-q', sample]).toString();
const escaped = terminal.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const bolded = escaped.replace(/\x1b\[1m/g, '<b>').replace(/\x1b\[0m/g, '</b>');
if (/\x1b/.test(bolded)) throw new Error('the terminal report has an escape sequence other than bold');
await page.setContent(`<!doctype html><meta charset="utf-8"><style>
  body { margin: 0; background: #1e1e1e; }
  pre { margin: 0; padding: 16px 20px; color: #d4d4d4; font: 14px/1.35 "DejaVu Sans Mono", monospace; }
  b { color: #ffffff; }
</style><pre>${bolded}</pre>`);
const height = await page.$eval('pre', (e) => Math.ceil(e.getBoundingClientRect().height));
await page.screenshot({ path: join(docs, 'terminal-report.png'), fullPage: true, clip: { x: 0, y: 0, width: 1000, height: Math.min(height, 1600) } });

const server = await serveDist(join(root, 'dist'));
await page.goto(server.origin + '/');
await page.waitForFunction(() => document.getElementById('status').dataset.state === 'ready', null, { timeout: 60_000 });
await page.fill('#top', '10');
await page.setInputFiles('input[type=file]', [sample]);
await page.waitForFunction(() => document.getElementById('status').dataset.state === 'done', null, { timeout: 120_000 });
const top = await page.$eval('#dashboard', (d) => d.getBoundingClientRect().top + window.scrollY);
await page.screenshot({ path: join(docs, 'page-dashboard.png'), fullPage: true, clip: { x: 0, y: Math.max(0, top - 40), width: 1200, height: 1500 } });
await browser.close();
server.close();
console.log('docs/html-report.png, docs/terminal-report.png, docs/page-dashboard.png');
