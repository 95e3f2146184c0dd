// The in-session switches and uploads of GuacamoleClient in headless
// Chromium (tests/e2e/pages/session-controls.*, under the launcher's CSP): a
// client in gateway mode on a 400x300 CSS canvas, fed an 800x600 display by
// the test, what it sends collected.
//
// What is checked: autoScale (fit: the bitmap is the CSS box, the mouse maps
// through 0.5; 1:1: the bitmap is the remote size, the page's CSS box, the
// mouse 1:1, back to fit), keyboardEnabled (false: typed keys are not sent
// and not prevented, the held Shift is released at once, the mouse and
// sendKeyEvent still work; true again: keys are sent), the disableCopy /
// disablePaste getters, and uploads (progress events in order as the server
// acknowledges, done with sent = total, the server's error ack, a cancel
// mid-file: `end`, no more `blob`, no more File reads, "cancelled"; false for
// an unknown stream).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromiumSkipReason, launchChromium } from './lib/chromium.mjs';
import { startTestServer } from './lib/server.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const mounts = { '/pkg/web/': join(root, 'pkg', 'web'), '/pages/': join(here, 'pages') };
const missing = chromiumSkipReason()
  ?? (!existsSync(join(root, 'pkg/web/pam_launch_wasm.js')) ? 'pkg/web not built (npm run build)' : null);
const opts = { skip: missing ?? false, timeout: 120_000 };

let server, browser, page;
const pageErrors = [];

before(async () => {
  if (missing) return;
  server = await startTestServer({ defaults: false, mounts });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1024, height: 768 } });
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(m.text()); });
  await page.goto(`${server.url.replace(/\/$/, '')}/pages/session-controls.html`);
  await page.waitForFunction(() => window.pageReady === true, null, { timeout: 30_000 });
});

after(async () => {
  await browser?.close();
  await server?.close();
});

const S = (fn, arg) => page.evaluate(([f, a]) => window.S[f](a), [fn, arg]);
const keysOf = (sent) => sent.filter((i) => i[0] === 'key').map((i) => [Number(i[1]), i[2] === '1']);
const mouseOf = (sent) => sent.filter((i) => i[0] === 'mouse').map((i) => i.slice(1, 4).map(Number));

async function clickAt(x, y) {
  const { rect } = await S('info');
  await page.mouse.move(rect.x + x, rect.y + y);
  await page.mouse.down();
  await page.mouse.up();
  return mouseOf(await S('take'));
}

test('autoScale: fit maps the mouse through the scale; false is 1:1 in the page\'s CSS box; true again fits', opts, async () => {
  let info = await S('start');
  assert.deepEqual([info.width, info.height, info.autoScale], [800, 600, true]);
  assert.equal(info.scale, 0.5);
  assert.deepEqual(info.bitmap, [400, 300], 'fit: the bitmap is the CSS box (devicePixelRatio 1)');
  assert.deepEqual((await clickAt(100, 50)).slice(-2), [[200, 100, 1], [200, 100, 0]]);
  // The blue 100x100 square is at the top left: 50x50 bitmap pixels when fitted.
  assert.deepEqual(await page.evaluate(() => window.S.pixel(40, 40)), [0, 0, 255, 255]);

  info = await S('realSize');
  assert.equal(info.autoScale, false);
  assert.deepEqual(info.bitmap, [800, 600], '1:1: the bitmap is the remote size');
  assert.deepEqual([info.rect.width, info.rect.height], [800, 600]);
  assert.equal(info.scale, 1);
  assert.deepEqual((await clickAt(100, 50)).slice(-2), [[100, 50, 1], [100, 50, 0]]);
  assert.deepEqual((await clickAt(90, 90)).slice(-2), [[90, 90, 1], [90, 90, 0]]);
  // Drawn 1:1: (90, 90) is still in the square, (110, 110) is not.
  assert.deepEqual(await page.evaluate(() => [window.S.pixel(90, 90), window.S.pixel(110, 110), window.S.pixel(700, 500)]),
    [[0, 0, 255, 255], [255, 0, 0, 255], [255, 0, 0, 255]]);

  info = await S('fit');
  assert.equal(info.autoScale, true);
  assert.deepEqual(info.bitmap, [400, 300]);
  assert.deepEqual((await clickAt(100, 50)).slice(-2), [[200, 100, 1], [200, 100, 0]]);
});

test('autoScale at devicePixelRatio 2: 1:1 is a bitmap of the remote size in a CSS box of half of it, and the mouse maps through that box', opts, async () => {
  const hi = await browser.newPage({ viewport: { width: 1024, height: 768 }, deviceScaleFactor: 2 });
  try {
    await hi.goto(page.url());
    await hi.waitForFunction(() => window.pageReady === true, null, { timeout: 30_000 });
    const H = (fn) => hi.evaluate((f) => window.S[f](), fn);
    let info = await H('start');
    assert.deepEqual(info.bitmap, [800, 600], 'fit: the 400x300 CSS box at 2 device pixels each');
    assert.equal(info.scale, 0.5);
    info = await H('realSize');
    assert.deepEqual(info.bitmap, [800, 600]);
    assert.deepEqual([info.rect.width, info.rect.height], [400, 300], 'the CSS box is width / devicePixelRatio');
    assert.equal(info.scale, 0.5, 'CSS pixels per remote pixel');
    await hi.mouse.move(info.rect.x + 100, info.rect.y + 50);
    await hi.mouse.down();
    await hi.mouse.up();
    const sent = mouseOf(await H('take'));
    assert.deepEqual(sent.slice(-2), [[200, 100, 1], [200, 100, 0]]);
    // Drawn 1:1 in device pixels: bitmap (90, 90) is in the 100x100 square, (110, 110) is not.
    assert.deepEqual(await hi.evaluate(() => [window.S.pixel(90, 90), window.S.pixel(110, 110)]), [[0, 0, 255, 255], [255, 0, 0, 255]]);
  } finally {
    await hi.close();
  }
});

test('keyboardEnabled: false sends no key, leaves the keys to the page and releases the held ones; the mouse still works', opts, async () => {
  await S('start');
  await page.locator('#screen').click({ position: { x: 10, y: 10 } });
  await S('take');
  await S('pageKeys');
  await page.keyboard.press('KeyA');
  assert.deepEqual(keysOf(await S('take')), [[0x61, true], [0x61, false]]);
  assert.ok((await S('pageKeys')).every((k) => k.prevented), 'captured keys are prevented');

  // Shift is held when capture goes off: released at once.
  await page.keyboard.down('Shift');
  assert.deepEqual(keysOf(await S('take')), [[0xffe1, true]]);
  assert.equal(await S('setKeyboard', false), false);
  assert.deepEqual(keysOf(await S('take')), [[0xffe1, false]]);
  await S('pageKeys');
  await page.keyboard.up('Shift');
  await page.keyboard.press('KeyB');
  await page.keyboard.press('Tab');
  assert.deepEqual(keysOf(await S('take')), [], 'no key sent while the keyboard is off');
  const seen = await S('pageKeys');
  assert.ok(seen.length >= 2 && seen.every((k) => !k.prevented), `the page keeps its keys: ${JSON.stringify(seen)}`);
  // The mouse and the explicit key API still work.
  assert.deepEqual((await clickAt(100, 50)).slice(-1), [[200, 100, 0]]);
  await page.evaluate(() => { window.S.sendKey(0xffe3, true); window.S.sendKey(0xffe3, false); });
  assert.deepEqual(keysOf(await S('take')), [[0xffe3, true], [0xffe3, false]]);

  assert.equal(await S('setKeyboard', true), true);
  await page.locator('#screen').click({ position: { x: 10, y: 10 } });
  await S('take');
  await page.keyboard.press('KeyC');
  assert.deepEqual(keysOf(await S('take')), [[0x63, true], [0x63, false]]);
});

test('disableCopy / disablePaste: the policy in effect, read back', opts, async () => {
  let info = await S('start');
  assert.deepEqual([info.disableCopy, info.disablePaste], [false, false]);
  info = await S('start', { disableCopy: true });
  assert.deepEqual([info.disableCopy, info.disablePaste], [true, false]);
  info = await S('start', { disablePaste: true });
  assert.deepEqual([info.disableCopy, info.disablePaste], [false, true]);
});

test('upload: progress as the server acknowledges, in order, then done with every byte', opts, async () => {
  await S('start');
  const size = 3 * 6048 + 100;
  const stream = await S('upload', size);
  assert.equal(typeof stream, 'number');
  const first = await S('take');
  assert.deepEqual(first.map((i) => i[0]), ['file']);
  assert.deepEqual(first[0].slice(1), [String(stream), 'application/octet-stream', 'big.bin']);
  const ops = await page.evaluate((s) => window.S.ackAll(s), stream);
  assert.deepEqual(ops, ['blob', 'blob', 'blob', 'blob', 'end']);
  const events = await S('uploads');
  assert.deepEqual(events.map((e) => [e.status, e.sent, e.total]), [
    ['progress', 0, size], ['progress', 6048, size], ['progress', 12096, size], ['progress', 18144, size],
    ['progress', size, size], ['done', size, size],
  ]);
  assert.ok(events.every((e) => e.stream === stream));
});

test('upload: the server\'s error ack is "error" with its message', opts, async () => {
  await S('start');
  const stream = await S('upload', 10_000);
  await S('take');
  await page.evaluate((s) => window.S.ack(s, 0x0207, 'disk full'), stream);
  const events = await S('uploads');
  assert.deepEqual(events.map((e) => [e.status, e.message]), [['error', 'disk full']]);
  await S('sleep', 50);
  assert.deepEqual(await S('take'), [], 'nothing more sent');
});

test('upload: cancel mid-file ends the stream, sends no more blob, stops the File reads, reports "cancelled"', opts, async () => {
  await S('start');
  const size = 1024 * 1024; // 4 reads of 256 KiB if it ran to the end
  const stream = await S('upload', size);
  await S('take');
  // 50 acks: the first 256 KiB chunk is drained (43 blobs), the second is read.
  const sentOps = [];
  for (let n = 0; n < 50; n++) {
    await page.evaluate((s) => window.S.ack(s), stream);
    await page.waitForFunction(() => true);
    for (let t = 0; t < 50; t++) {
      const got = await S('take');
      if (got.length) { sentOps.push(...got.map((i) => i[0])); break; }
      await S('sleep', 2);
    }
  }
  assert.equal(sentOps.filter((o) => o === 'blob').length, 50);
  const readsBefore = await S('reads');
  assert.equal(readsBefore, 2, 'a chunk at a time: the second 256 KiB read, no more');
  assert.equal(await S('cancel', stream), true);
  const after = await S('take');
  assert.deepEqual(after.map((i) => i.slice(0, 2)), [['end', String(stream)]]);
  const events = await S('uploads');
  // Acknowledged: 49 blobs, of 6048 bytes but the one that ends the first
  // 256 KiB read (262144 = 43 x 6048 + 2080).
  assert.deepEqual(events.at(-1), { stream, sent: 43 * 6048 + 2080 + 5 * 6048, total: size, status: 'cancelled', message: null });
  assert.ok(events.slice(0, -1).every((e) => e.status === 'progress'));
  assert.deepEqual(events.slice(0, -1).map((e) => e.sent), events.slice(0, -1).map((e) => e.sent).sort((a, b) => a - b), 'progress in order');
  // The server's late acks: no blob, no read.
  for (let n = 0; n < 5; n++) await page.evaluate((s) => window.S.ack(s), stream);
  await S('sleep', 100);
  assert.deepEqual(await S('take'), []);
  assert.equal(await S('reads'), readsBefore);
  assert.deepEqual(await S('uploads'), []);
  // Twice, or a stream that is no upload: false.
  assert.equal(await S('cancel', stream), false);
  assert.equal(await S('cancel', 12345), false);
  assert.deepEqual(pageErrors, []);
});
