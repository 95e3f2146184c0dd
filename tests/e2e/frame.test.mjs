// The first frame's path in headless Chromium (issue 12): PNG decoded through
// WebCodecs' ImageDecoder gives the same pixels as createImageBitmap alone
// (the path of a scope without ImageDecoder), on recordings with PNG (alpha
// and palette) and WebP; and layer canvases are allocated when their `size`
// arrives, ahead of the frame, within the spare-canvas bounds.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromiumSkipReason, launchChromium } from './lib/chromium.mjs';
import { startTestServer } from './lib/server.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const mounts = {
  '/pkg/web/': join(root, 'pkg', 'web'),
  '/fixtures/': join(root, 'tests', 'fixtures', 'guac'),
  '/pages/': join(here, 'pages'),
};
const missing = chromiumSkipReason()
  ?? (!existsSync(join(root, 'pkg/web/pam_launch_wasm.js')) ? 'pkg/web not built (npm run build)' : null);
const opts = { skip: missing ?? false, timeout: 240_000 };

let server, browser, page;
const pageErrors = [];

before(async () => {
  if (missing) return;
  server = await startTestServer({ defaults: false, mounts });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1024, height: 768 } });
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') pageErrors.push(m.text()); });
  await page.goto(`${server.url.replace(/\/$/, '')}/pages/frame.html`);
  await page.waitForFunction(() => window.pageReady === true, null, { timeout: 30_000 });
});

after(async () => {
  await browser?.close();
  await server?.close();
});

test('Chromium has ImageDecoder (else the shipped path below would not be the one measured)', opts, async () => {
  assert.equal(await page.evaluate(() => window.hasImageDecoder()), true);
});

// vnc-live: PNG with alpha and palettes; rdp-live: PNG and WebP; ssh-live: the launch bench's.
for (const name of ['ssh-live.guac', 'vnc-live.guac', 'rdp-live.guac']) {
  test(`${name}: PNG through ImageDecoder draws the same pixels as every image through createImageBitmap`, opts, async () => {
    const r = await page.evaluate((n) => window.decodersAgree(n), name);
    assert.deepEqual(r.size.slice(0, 2), r.size.slice(2), JSON.stringify(r));
    assert.ok(r.size[0] > 0 && r.size[1] > 0, JSON.stringify(r));
    assert.equal(r.frames[0], r.frames[1], JSON.stringify(r));
    assert.equal(r.differing, 0, JSON.stringify(r));
    // Each path was the one taken: no decoder without it; PNG through it with it.
    assert.equal(r.bitmapOnly.decoder, 0, JSON.stringify(r));
    assert.ok(r.bitmapOnly.blob > 0, JSON.stringify(r));
    assert.ok(r.shipped.decoder > 0, JSON.stringify(r));
    assert.ok(r.shipped.blob < r.bitmapOnly.blob, JSON.stringify(r));
  });
}

test('an ImageDecoder that fails on PNG: the image goes through createImageBitmap, same pixels (vnc-live.guac)', opts, async () => {
  const r = await page.evaluate((n) => window.decodersAgree(n, { failing: true }), 'vnc-live.guac');
  assert.equal(r.frames[0], r.frames[1], JSON.stringify(r));
  assert.equal(r.differing, 0, JSON.stringify(r));
  // Every PNG tried the decoder, then a Blob: as many Blobs as without it.
  assert.ok(r.shipped.decoder > 0, JSON.stringify(r));
  assert.equal(r.shipped.blob, r.bitmapOnly.blob, JSON.stringify(r));
});

test('a size allocates its layer canvas before the frame is drawn; spares stay within 4 canvases and 8 M pixels', opts, async () => {
  const r = await page.evaluate(() => window.spares());
  // Layer 0's 1024x768 canvas, made when its size arrived (the frame not drawn yet).
  assert.equal(r.drawnBefore, 0, JSON.stringify(r));
  assert.equal(r.afterLayer0, 1, JSON.stringify(r));
  // 4096x4096 is 16 M pixels: over the spares' pixel bound, so no spare.
  assert.deepEqual(r.big, [0], JSON.stringify(r));
  // Twenty more sizes: three more spares, then the count bound (4).
  assert.equal(r.afterTwenty, 3, JSON.stringify(r));
  // The frame: 21 new layers (a 0x0 canvas each), 18 backings without a
  // spare (the 4096 one and 17 of the 20); the 4 spares taken.
  assert.equal(r.afterSync, 21 + 18, JSON.stringify(r));
  // canvasCount holds the spares: layer 0 and 4 spares while the frame is
  // open; 22 layers and no spare once it is drawn.
  assert.equal(r.countOpen, 1 + 4, JSON.stringify(r));
  assert.equal(r.countDrawn, 22, JSON.stringify(r));
  assert.equal(r.drawn, 1, JSON.stringify(r));
  assert.deepEqual(r.size, [1024, 768], JSON.stringify(r));
  assert.deepEqual(r.pixel, [200, 10, 20, 255], JSON.stringify(r));
});

test('no page errors or warnings', opts, () => {
  assert.deepEqual(pageErrors, []);
});
