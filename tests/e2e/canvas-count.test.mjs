// GuacamoleClient.canvasCount in headless Chromium: the canvases the
// renderer holds (a layer or buffer each, layer 0 included, plus the
// cursor's) follow what the stream creates and disposes, so a session that
// disposes what it made holds no more canvases than before (the soak bench,
// benches/soak, watches the same count over an hour). Run with
// `node --test tests/e2e/canvas-count.test.mjs`.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromiumSkipReason, launchChromium, watchPage } from './lib/chromium.mjs';
import { startTestServer } from './lib/server.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const skip = chromiumSkipReason() ||
  (fs.existsSync(path.join(ROOT, 'pkg/web/pam_launch_wasm.js')) ? null : 'pkg/web is not built (npm run build)');

describe('canvasCount in headless Chromium', () => {
  let server;
  let browser;
  let page;
  let problems;

  before(async () => {
    if (skip) return;
    server = await startTestServer({ mounts: { '/pages/': path.join(HERE, 'pages') } });
    browser = await launchChromium();
    page = await browser.newPage();
    ({ problems } = await watchPage(page));
    await page.goto(`${server.url}pages/canvas-count.html`);
    await page.waitForFunction(() => window.CC, null, { timeout: 15000 });
  });
  after(async () => {
    if (browser) await browser.close().catch(() => {});
    if (server) await server.close();
  });

  it('counts layers, buffers and the cursor as they are made and disposed', { skip: skip || false, timeout: 60000 }, async () => {
    const counts = await page.evaluate(() => {
      const { ins } = window.CC;
      return window.CC.run([
        // 1: the display's size (layer 0, there from the start).
        ins('size', 0, 64, 48),
        // 2: two visible layers, the second a child of the first.
        ins('size', 1, 10, 10) + ins('size', 2, 10, 10) + ins('move', 2, 1, 0, 0, 0),
        // 3: two buffers, and a cursor copied from one of them.
        ins('size', -1, 4, 4) + ins('size', -2, 4, 4) + ins('cursor', 0, 0, -1, 0, 0, 4, 4),
        // 4: drawing on what exists makes no canvas.
        ins('rect', 1, 0, 0, 5, 5) + ins('cfill', 14, 1, 255, 0, 0, 255) + ins('copy', 1, 0, 0, 5, 5, 14, -2, 0, 0),
        // 5: disposing layer 1 takes its child layer 2 with it.
        ins('dispose', 1),
        // 6: and the buffers; the cursor keeps its own canvas.
        ins('dispose', -1) + ins('dispose', -2),
        // 7: layer 0 is never disposed.
        ins('dispose', 0),
      ]);
    });
    assert.deepEqual(counts, [1, 1, 3, 6, 6, 4, 2, 2]);
    assert.deepEqual(problems, []);
  });

  it('is 0 for the headless renderer', { skip: skip || false, timeout: 60000 }, async () => {
    const counts = await page.evaluate(() => window.CC.run([window.CC.ins('size', 0, 64, 48) + window.CC.ins('size', -1, 4, 4)], 'headless'));
    assert.deepEqual(counts, [0, 0]);
  });
});
