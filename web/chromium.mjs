// Headless Chromium as the page's tests, benchmark and screenshots run it:
// Debian's chromium (CHROMIUM overrides the path) driven by playwright-core,
// without the background traffic a first run makes.
import { chromium } from 'playwright-core';

/** Launches headless Chromium; resolves to a playwright Browser. */
export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}
