// npm run bench (first-frame part): the module's own part of launch -> first
// frame, without the network: ssh-live.guac's first frame (the launch
// bench's recording) fed to a fresh GuacamoleClient and canvas in headless
// Chromium, in data-channel-sized messages (one task each, a gap between
// them as the library's pace leaves), timed from the message carrying the
// first `sync` handed to receive() to the frame drawn into the canvas
// (onframe), split into the image decodes still running after it and the
// apply + draw; each run twice, as shipped and with every image through
// createImageBitmap (as where there is no ImageDecoder). Prints the median
// (min-max) of N runs after 2 warm-ups, the
// target (5 ms) and whether the median meets it, and the load average.
// A benchmark, not a test: it asserts nothing.
//
//   node benches/frame/run.mjs
//
// Environment: PAM_BENCH_FRAME_RUNS (default 21), PAM_BENCH_FRAME_CHUNK
// (bytes per message, default 5400: the launch's 7 messages),
// PAM_BENCH_FRAME_GAP_MS (between messages, default 2).
import { existsSync } from 'node:fs';
import os from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromiumSkipReason, launchChromium } from '../../tests/e2e/lib/chromium.mjs';
import { startTestServer } from '../../tests/e2e/lib/server.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const fixtures = join(root, 'tests', 'fixtures', 'guac');
const RUNS = Math.max(3, Number(process.env.PAM_BENCH_FRAME_RUNS || 21));
const CHUNK = Math.max(256, Number(process.env.PAM_BENCH_FRAME_CHUNK || 5400));
const GAP = Math.max(0, Number(process.env.PAM_BENCH_FRAME_GAP_MS ?? 2));
const TARGET_MS = 5;

function stop(why) {
  console.error(`bench frame: ${why}`);
  process.exit(1);
}
for (const [what, file] of [
  ['recording ssh-live.guac', join(fixtures, 'ssh-live.guac')],
  ['pkg/web (npm run build)', join(root, 'pkg', 'web', 'pam_launch_wasm.js')],
]) {
  if (!existsSync(file)) stop(`${what} is missing: ${file}`);
}
const noChromium = chromiumSkipReason();
if (noChromium) stop(noChromium);

const server = await startTestServer({
  defaults: false,
  mounts: { '/': here, '/pkg/web/': join(root, 'pkg', 'web'), '/fixtures/': fixtures },
});
const browser = await launchChromium();
const runs = [];
const bitmapRuns = [];
const failed = [];
let version = '';
try {
  version = browser.version();
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  page.on('pageerror', (e) => failed.push(`page error: ${e.message}`));
  page.on('response', (r) => { if (r.status() < 200 || r.status() > 299) failed.push(`HTTP ${r.status()} for ${r.url()}`); });
  const first = await page.goto(`${server.url}bench.html`);
  if (!first || !first.ok()) throw new Error(`HTTP ${first?.status()}`);
  await page.waitForFunction(() => window.benchReady, null, { timeout: 30000 });
  // Interleaved: the shipped path, then every image through createImageBitmap.
  for (let i = 0; i < RUNS + 2; i++) {
    for (const bitmapOnly of [false, true]) {
      const r = await page.evaluate((o) => window.runFrame(o), { chunk: CHUNK, gapMs: GAP, bitmapOnly });
      if (!Number.isFinite(r.lastToDrawn)) throw new Error('the first frame was not drawn');
      if (i >= 2) (bitmapOnly ? bitmapRuns : runs).push(r);
    }
  }
} catch (e) {
  failed.push(e.message.split('\n')[0]);
} finally {
  await browser.close();
  await server.close();
}
if (failed.length) stop(`failed, no figures: ${failed.join('; ')}`);

const r1 = (x) => Math.round(x * 100) / 100;
const stat = (k, list = runs) => {
  const s = list.map((r) => r[k]).sort((a, b) => a - b);
  const m = s.length >> 1;
  return { median: r1(s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2), min: r1(s[0]), max: r1(s[s.length - 1]) };
};
const fmt = (k, list = runs) => { const s = stat(k, list); return `${s.median} (${s.min}–${s.max})`; };
const decodes = (list) => {
  const d = list.flatMap((r) => r.decodeMs).sort((a, b) => a - b);
  return `${r1(d[d.length >> 1])} (${r1(d[0])}–${r1(d[d.length - 1])})`;
};
console.log(`\nThe first frame (ssh-live.guac: ${runs[0].bytes} bytes in ${runs[0].chunks} messages of ${CHUNK} bytes, ${GAP} ms apart, ${runs[0].images} images), median of ${runs.length} runs after 2 warm-ups (min–max), ms`);
console.log(`Chromium ${version} headless (software canvas); load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}, ${os.cpus().length} CPUs\n`);
console.log('| step | shipped (PNG through ImageDecoder) | every image through createImageBitmap |');
console.log('|---|---:|---:|');
console.log(`| last message (its sync) -> first frame drawn: **the module's part** | ${fmt('lastToDrawn')} | ${fmt('lastToDrawn', bitmapRuns)} |`);
console.log(`|   image decodes still running after the last message | ${fmt('decodeAfterLast')} | ${fmt('decodeAfterLast', bitmapRuns)} |`);
console.log(`|   applied to the layers and drawn into the canvas | ${fmt('applyAndDraw')} | ${fmt('applyAndDraw', bitmapRuns)} |`);
console.log(`| one image decode, start -> resolved (the browser's part; every image of every run) | ${decodes(runs)} | ${decodes(bitmapRuns)} |`);
const m = stat('lastToDrawn').median;
console.log(`\nTarget: the module's part at most ${TARGET_MS} ms: median ${m} ms: ${m <= TARGET_MS ? 'meets it' : 'does not meet it'} (information, not a test)`);
