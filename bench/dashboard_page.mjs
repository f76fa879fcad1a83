// Measures herd's dashboard in headless Chromium against a herdd at URL:
// the time from navigation to every workload row rendered, the time a
// filter keystroke takes to apply, and a reload with a warm cache; prints
// one JSON object. Run by bench/dashboard.py.
//
//   node bench/dashboard_page.mjs URL RUNS
import path from 'node:path';
import {pathToFileURL} from 'node:url';

const [url, runsArg] = process.argv.slice(2);
const runs = Number(runsArg || 5);
const PLAYWRIGHT = process.env.HERD_PLAYWRIGHT_CORE || '/usr/local/lib/herd-test-node/node_modules/playwright-core';
const {chromium} = await import(pathToFileURL(path.join(PLAYWRIGHT, 'index.mjs')).href);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const browser = await chromium.launch({executablePath: process.env.HERD_CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox']});
const out = {cold: [], warm: [], filter: [], clear: [], rows: 0, bytes: 0};
for (let i = 0; i < runs; i++) {
  const context = await browser.newContext({viewport: {width: 1280, height: 860}});
  const page = await context.newPage();
  let bytes = 0;
  page.on('response', (r) => {
    if (r.url().includes('/v1/workloads')) r.body().then((b) => { bytes += b.length; }, () => {});
  });
  for (const kind of ['cold', 'warm']) {
    const t0 = Date.now();
    if (kind === 'cold') await page.goto(url + '/'); else await page.reload();
    await page.waitForFunction(() => /^(\d+) of \1 workloads$/.test(document.getElementById('count')?.textContent || '')
                                     && document.querySelectorAll('#workloads tbody tr').length > 0);
    out[kind].push(Date.now() - t0);
  }
  out.rows = await page.$$eval('#workloads tbody tr', (r) => r.length);
  out.bytes = bytes / 2;
  // A keystroke in the filter: the time from the input event to the rows
  // updated, in the page (the handler is synchronous), then one frame.
  for (const [key, term] of [['filter', 'app042'], ['clear', '']]) {
    out[key].push(await page.evaluate(async (t) => {
      const s = document.getElementById('search');
      const t0 = performance.now();
      s.value = t;
      s.dispatchEvent(new Event('input'));
      await new Promise((r) => requestAnimationFrame(() => r()));
      return performance.now() - t0;
    }, term));
  }
  await context.close();
}
await browser.close();
console.log(JSON.stringify({rows: out.rows, listBytes: out.bytes, coldMs: median(out.cold), warmMs: median(out.warm),
                            filterMs: Math.round(median(out.filter) * 10) / 10, clearMs: Math.round(median(out.clear) * 10) / 10,
                            runs, all: out}));
