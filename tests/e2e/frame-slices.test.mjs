// The renderer's scheduling rules, in headless Chromium (not timed):
//
// - a frame too long to apply in one go is applied in slices, each a task of
//   its own: receive() returns with the frame still pending, the visible
//   canvas is composited once, at the end (between the slices it still
//   shows the previous frame, never half of this one), and the frame's
//   `sync` is answered only after that composite, onframe with it;
// - input is not held behind it: a key sent between two slices is handed to
//   `send` at once, before the frame's `sync`;
// - a mouse move leaves at the browser's pointerrawupdate (before the
//   page's mousemove for it) where Chromium has it, and once (the later
//   mousemove repeats the state and sends nothing).
//
// Run with `node --test tests/e2e/frame-slices.test.mjs`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromiumSkipReason, launchChromium } from './lib/chromium.mjs';
import { startTestServer } from './lib/server.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const missing = chromiumSkipReason()
  ?? (!existsSync(join(root, 'pkg/web/pam_launch_wasm.js')) ? 'pkg/web not built (npm run build)' : null);
const opts = { skip: missing ?? false, timeout: 120_000 };

let server, browser, page;
const pageErrors = [];

before(async () => {
  if (missing) return;
  server = await startTestServer({ defaults: false, mounts: { '/pkg/web/': join(root, 'pkg', 'web'), '/pages/': join(here, 'pages') } });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

async function freshPage() {
  await page?.close();
  page = await browser.newPage({ viewport: { width: 400, height: 300 } });
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  await page.goto(`${server.url.replace(/\/$/, '')}/pages/frame-slices.html`);
  await page.waitForFunction(() => window.pageReady === true, null, { timeout: 30_000 });
}

const BLUE = [0, 0, 255, 255];
const RED = [255, 0, 0, 255];

test('a long frame is applied in slices: composited once at its end, its sync answered after, input sent in between', opts, async (t) => {
  await freshPage();
  // 20,000 rect + cfill pairs: far more than one slice's 2 ms on any machine.
  const r = await page.evaluate((n) => window.slicedFrame(n), 20_000);
  t.diagnostic(`receive() took ${r.receiveMs.toFixed(1)} ms; ${r.seen.length} looks between slices`);
  assert.deepEqual(r.before.pixel, BLUE, 'frame 1 drawn');
  assert.equal(r.pendingAfterReceive, 1, 'receive() returned before the long frame was applied');
  assert.ok(r.seen.length >= 2, `the page ran between slices (${r.seen.length} times)`);
  for (const s of r.seen) {
    assert.deepEqual(s.pixel, BLUE, 'between slices the canvas shows frame 1, nothing of frame 2');
    assert.equal(s.composites, r.before.composites, 'no composite while frame 2 is half applied');
  }
  assert.equal(r.after.composites, r.before.composites + 1, 'frame 2 composited once');
  assert.deepEqual(r.after.pixel, RED);
  assert.deepEqual(r.after.centre, RED);
  assert.equal(r.sync2.length, 1, 'sync 2 answered once');
  assert.equal(r.sync2[0].composites, r.before.composites + 1, 'sync 2 answered after the composite that shows frame 2');
  assert.deepEqual(r.frames.at(-1), { n: 2, composites: r.before.composites + 1 }, 'onframe(2) after the composite');
  assert.equal(r.key.sentAtOnce, true, 'a key sent between slices is handed to send at once');
  assert.equal(r.key.syncsBefore, 0, 'the key went out before frame 2 was answered');
  assert.deepEqual(pageErrors, []);
});

test('a mouse move leaves at pointerrawupdate, before mousemove, and only once', opts, async () => {
  await freshPage();
  const box = await page.evaluate(() => window.mouseSetup());
  assert.equal(box.raw, true, 'this Chromium fires pointerrawupdate on a secure-context page');
  const points = [[10, 12], [30, 40], [50, 20]];
  for (const [x, y] of points) await page.mouse.move(box.x + x, box.y + y);
  await page.mouse.down();
  await page.mouse.up();
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 50))));
  const sent = await page.evaluate(() => window.mouseSent());
  assert.deepEqual(sent, [...points.map(([x, y]) => [x, y, 0]), [50, 20, 1], [50, 20, 0]], 'each state sent once, in order');
  const moves = await page.evaluate(() => window.mouseMoves);
  assert.equal(moves.length, points.length, 'one mousemove per move');
  moves.forEach((m, k) => assert.equal(m.mouseInstructions, k + 1, `move ${k + 1} was sent before its mousemove`));
  assert.deepEqual(pageErrors, []);
});
