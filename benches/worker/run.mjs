// npm run bench (worker part): the main thread's busy time while the long
// VNC recording (vnc-session-long.guac, 721 frames) is replayed through a
// GuacamoleClient on the main thread (drawing into a <canvas>) and through
// one in a dedicated Worker (drawing into a transferred OffscreenCanvas),
// in Debian's headless Chromium. The page is tests/e2e/pages/worker.html
// (the parity test's): the replay is fed as a session paced by guacd sees it
// (each message drawn before the next). Measured on the main thread: long
// tasks (PerformanceObserver 'longtask', > 50 ms each) and a probe loop's
// lateness (a 4 ms timer re-armed for the whole replay). Runs alternate
// main / worker, BENCH_WORKER_RUNS each (default 3); medians printed, with
// the machine's load. A benchmark, not a test: nothing here asserts a time.
import os from 'node:os';
import { existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromiumSkipReason, launchChromium } from '../../tests/e2e/lib/chromium.mjs';
import { startTestServer } from '../../tests/e2e/lib/server.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const fixtures = join(root, 'tests', 'fixtures', 'guac');
const FILE = process.env.BENCH_WORKER_FILE || 'vnc-session-long.guac';
const RUNS = Number(process.env.BENCH_WORKER_RUNS || 3);

function stop(why) {
  console.error(`bench worker: ${why}`);
  process.exit(1);
}
if (!existsSync(join(fixtures, FILE))) stop(`recording ${FILE} is missing`);
if (!existsSync(join(root, 'pkg/web/pam_launch_wasm.js'))) stop('pkg/web is not built (npm run build)');
const noChromium = chromiumSkipReason();
if (noChromium) stop(noChromium);

const server = await startTestServer({
  defaults: false,
  mounts: { '/pkg/web/': join(root, 'pkg', 'web'), '/fixtures/': fixtures, '/pages/': join(root, 'tests', 'e2e', 'pages') },
});
const browser = await launchChromium();
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor((s.length - 1) / 2)]; };
try {
  const page = await browser.newPage();
  page.on('pageerror', (e) => stop(`page error: ${e.message}`));
  const res = await page.goto(`${server.url.replace(/\/$/, '')}/pages/worker.html`);
  if (!res || !res.ok()) stop(`the page answered ${res && res.status()}`);
  await page.waitForFunction(() => window.pageReady === true, null, { timeout: 30_000 });
  const load = os.loadavg().map((l) => l.toFixed(2)).join(' ');
  const runs = { main: [], worker: [] };
  // One unmeasured run of each first (wasm compiled, caches warm).
  await page.evaluate((f) => window.busy(f, 'main'), FILE);
  await page.evaluate((f) => window.busy(f, 'worker'), FILE);
  for (let i = 0; i < RUNS; i++) {
    for (const where of ['main', 'worker']) runs[where].push(await page.evaluate(([f, w]) => window.busy(f, w), [FILE, where]));
  }
  const loadAfter = os.loadavg().map((l) => l.toFixed(2)).join(' ');
  console.log(`\nbench worker: ${FILE}, ${RUNS} runs each (medians), ${os.cpus().length} cores, load average ${load} before, ${loadAfter} after`);
  console.log('| renderer | replay wall (ms) | main-thread long tasks | long-task time (ms) | probe lateness p50 / p99 / max (ms) | probe delay, total (ms) |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const where of ['main', 'worker']) {
    const r = runs[where];
    const m = (k) => median(r.map((x) => x[k]));
    console.log(`| ${where === 'main' ? 'main thread (<canvas>)' : 'dedicated Worker (OffscreenCanvas)'} | ${m('wallMs').toFixed(0)} | ${m('longTasks')} | ${m('longTaskMs').toFixed(0)} | ${m('probeLateP50').toFixed(1)} / ${m('probeLateP99').toFixed(1)} / ${m('probeLateMax').toFixed(1)} | ${m('probeLateTotal').toFixed(0)} |`);
  }
} finally {
  await browser.close();
  await server.close();
}
