// Regenerates the README's screenshots (docs/*.png) from the bundled sample:
// the page's dashboard and the CLI's HTML report, in headless Chromium.
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
console.log('docs/html-report.png, docs/page-dashboard.png');
