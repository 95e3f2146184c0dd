// The session in a dedicated Worker, in headless Chromium:
// 1. the renderer: every recording of tests/fixtures/guac through a
//    GuacamoleClient on the main thread (a <canvas>) and one in a Worker (a
//    transferred OffscreenCanvas; its layers OffscreenCanvases, as a Worker
//    has no document), pixels compared exactly after each third of the
//    stream and at its end, on the shown canvas and on snapshot();
// 2. launch() in a Worker (worker/session-worker.js) through worker/page.js:
//    its RTCPeerConnection a relay to the page's, against the in-page gateway
//    of tests/e2e/pages/launch-loopback.js in a network namespace; frames
//    drawn, keys typed on the page's canvas arrive at the gateway as the
//    right keysyms, a click as mouse instructions, disconnect closes cleanly.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromiumSkipReason, launchChromium, watchPage } from './lib/chromium.mjs';
import { startTestServer } from './lib/server.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const fixtures = join(root, 'tests', 'fixtures', 'guac');

const missing = chromiumSkipReason()
  ?? (!existsSync(join(root, 'pkg/web/pam_launch_wasm.js')) ? 'pkg/web not built (npm run build)' : null);
const opts = { skip: missing ?? false, timeout: 240_000 };
const recordings = readdirSync(fixtures).filter((f) => f.endsWith('.guac')).sort();

describe('the renderer in a Worker: pixel parity with the main thread', () => {
  let server, browser, page, watch;
  before(async () => {
    if (missing) return;
    server = await startTestServer({
      defaults: false,
      mounts: { '/pkg/web/': join(root, 'pkg', 'web'), '/fixtures/': fixtures, '/pages/': join(here, 'pages') },
    });
    browser = await launchChromium();
    page = await browser.newPage();
    watch = await watchPage(page);
    await page.goto(`${server.url.replace(/\/$/, '')}/pages/worker.html`);
    await page.waitForFunction(() => window.pageReady === true, null, { timeout: 30_000 });
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test('the ten recordings are there', () => assert.equal(recordings.length, 10));

  for (const name of recordings) {
    test(`${name}: the worker's OffscreenCanvas has the main thread's pixels at 1/3, 2/3 and the end`, opts, async (t) => {
      const r = await page.evaluate((n) => window.parity(n), name);
      assert.equal(r.workerHasDocument, false, 'the worker has no document (its layers are OffscreenCanvases)');
      assert.equal(r.checks.length, 3);
      for (const c of r.checks) {
        t.diagnostic(`${c.label}: frames ${c.mainFrames}/${c.workerFrames}, ${c.shown.size.join('x')}, ${c.shown.drawn} drawn pixels, ${c.shown.differing} differ (shown), ${c.snapshot.differing} (snapshot)`);
        assert.equal(c.workerFrames, c.mainFrames, `${c.label}: frames drawn`);
        assert.equal(c.snapshotIsOffscreen, true, 'snapshot() in a Worker is an OffscreenCanvas');
        assert.ok(c.shown.total > 0, `${c.label}: sizes ${JSON.stringify(c.shown)}`);
        assert.equal(c.shown.differing, 0, `${c.label}: ${c.shown.differing} of ${c.shown.total} shown pixels differ`);
        assert.equal(c.snapshot.differing, 0, `${c.label}: ${c.snapshot.differing} of ${c.snapshot.total} snapshot pixels differ`);
      }
      const end = r.checks[2];
      assert.equal(r.framesBeforeFlush, r.frames, 'every sync\'s frame drawn');
      assert.ok(end.mainFrames - r.frames <= 1, 'at most the tail after the last sync on top');
      assert.ok(end.shown.drawn > end.shown.total / 10, `the end frame shows something (${end.shown.drawn} of ${end.shown.total} pixels)`);
    });
  }

  test('no page or worker error', opts, () => {
    // Chromium's hint about this test's own getImageData readbacks is not a problem.
    assert.deepEqual(watch.problems.filter((p) => !p.includes('willReadFrequently')), []);
  });
});
