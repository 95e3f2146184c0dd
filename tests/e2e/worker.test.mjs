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
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { chromiumSkipReason, launchChromium, watchPage } from './lib/chromium.mjs';
import { startTestServer } from './lib/server.mjs';
import { createNetns, netnsUnavailable } from './lib/netns.mjs';
import { CSP } from '../../tools/serve.mjs';
import { loadStream, resolveFixture } from '../replay/server.mjs';

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

  test('in a Worker: no canvas is UNSUPPORTED with what to pass; an OffscreenCanvas gets the drawing', opts, async () => {
    const r = await page.evaluate(() => window.probe());
    assert.equal(r.error && r.error.name, 'PamLaunchError');
    assert.equal(r.error.code, 'UNSUPPORTED');
    assert.match(r.error.message, /OffscreenCanvas/);
    assert.deepEqual(r.size, [64, 32], 'the canvas sized to the remote display (1:1)');
    assert.deepEqual(r.px, [255, 0, 0, 255], 'the cfill drawn');
    assert.deepEqual(r.snapshot, ['OffscreenCanvas', 64, 32]);
  });

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

// ---------------------------------------------------------------- launch() in a Worker

const ORIGIN = 'http://127.0.0.1:9';
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm' };
const MOUNTS = [['/pages/', join(here, 'pages')], ['/pkg/web/', join(root, 'pkg', 'web')], ['/worker/', join(root, 'worker')]];
function fileFor(url) {
  const p = decodeURIComponent(new URL(url).pathname);
  for (const [prefix, dir] of MOUNTS) {
    if (!p.startsWith(prefix)) continue;
    const full = path.resolve(dir, `.${p.slice(prefix.length - 1)}`);
    return full.startsWith(path.resolve(dir) + path.sep) ? full : null;
  }
  return null;
}

const launchSkip = missing || netnsUnavailable();

describe('launch() in a dedicated Worker: WebRTC relayed by the page, input forwarded (network namespace)', () => {
  let ns, browser, page, watch;
  const scenario = JSON.parse(fs.readFileSync(join(root, 'tests/fixtures/scenario1.json'), 'utf8'));
  const SEED = crypto.randomBytes(32).toString('base64');
  const record = structuredClone(scenario.record);
  record.fields.push({ type: 'trafficEncryptionSeed', value: [SEED] });
  const request = { recordUid: scenario.recordUid, record, dag: scenario.dag, jit: true };
  // The start of the live SSH stream (guacd's handshake is the gateway's part).
  const chunks = [];
  if (!launchSkip) {
    let n = 0;
    for (const c of loadStream(resolveFixture('ssh-live.guac'), { hold: true }).chunks) {
      if (n >= 80_000) break;
      chunks.push(c.text.toString('utf8'));
      n += c.text.length;
    }
  }
  before(async () => {
    if (launchSkip) return;
    ns = await createNetns({ maxSeconds: 200 });
    browser = await launchChromium({ ns, webrtc: true });
    page = await browser.newPage({ hasTouch: true });
    watch = await watchPage(page);
    // Served by request interception (no server in the namespace), under the launcher's CSP.
    await page.route('**/*', (route) => {
      const url = route.request().url();
      const file = url.startsWith(`${ORIGIN}/`) ? fileFor(url) : null;
      if (!file || !fs.existsSync(file) || !fs.statSync(file).isFile()) return route.fulfill({ status: 404, body: '' });
      return route.fulfill({
        status: 200,
        headers: { 'content-type': TYPES[path.extname(file)] || 'application/octet-stream', 'content-security-policy': CSP },
        body: fs.readFileSync(file),
      });
    });
    await page.goto(`${ORIGIN}/pages/worker-launch.html`);
    await page.waitForFunction(() => window.workerPageReady === true, null, { timeout: 15_000 });
  });
  after(async () => {
    await browser?.close().catch(() => {});
    ns?.close();
  });

  const lopts = { skip: launchSkip || false, timeout: 90_000 };
  for (const trickle of [true, false]) {
    test(`${trickle ? 'trickle' : 'non-trickle'} ICE: first frame, keys and a click reach the gateway as keysyms and mouse, clean disconnect`, lopts, async (t) => {
      await page.evaluate((c) => window.W.start(c), { request, seed: SEED, chunks, trickle, mode: 'ok' });
      await page.waitForFunction(() => window.W.cur.statuses.some((s) => s.phase === 'firstFrame' || s.phase === 'closed'), null, { timeout: 30_000 });
      let r = await page.evaluate(() => window.W.report());
      t.diagnostic(`statuses: ${r.statuses.map((s) => s.phase).join(' ')}; frames ${r.frames}`);
      assert.deepEqual(r.statuses.map((s) => s.phase),
        ['planning', 'offerSent', 'waitingForGateway', 'ice', 'channelOpen', 'openingConnection', 'connectionOpened', 'connected', 'firstFrame']);
      assert.ok(r.frames > 0, 'frames drawn in the worker');
      assert.equal(r.peerConnectionsInPage, 1, 'the worker\'s peer connection is a real one in the page');
      assert.deepEqual(r.opens, [{ conn: 1, len: 4 }]);
      assert.deepEqual(r.pongs, ['PING'], 'the gateway\'s Ping answered through the relayed channel');
      // Keys typed on the page's canvas: the worker's translator, on connection 1.
      await page.evaluate(() => window.W.focus());
      await page.keyboard.type('ls');
      await page.keyboard.down('Shift');
      await page.keyboard.press('KeyA');
      await page.keyboard.up('Shift');
      await page.keyboard.press('Enter');
      await page.keyboard.press('ArrowLeft');
      const expected = [[0x6c, 1], [0x6c, 0], [0x73, 1], [0x73, 0], [0xffe1, 1], [0x41, 1], [0x41, 0], [0xffe1, 0],
        [0xff0d, 1], [0xff0d, 0], [0xff51, 1], [0xff51, 0]];
      await page.waitForFunction((n) => window.T.keys().length >= n, expected.length, { timeout: 5000 });
      assert.deepEqual(await page.evaluate(() => window.T.keys()), expected);
      // A click at CSS (100, 50) of the 1024x768 box: remote (100, 50), left button down then up.
      const box = await page.locator('#wscreen').boundingBox();
      await page.mouse.click(box.x + 100, box.y + 50);
      // Wait for the release after the press: the move there (button 0) comes first, so "a 0 and a 1" alone
      // can hold before the release has arrived.
      await page.waitForFunction(() => {
        const m = window.W.mouse();
        const down = m.findIndex((e) => e[2] === 1);
        return down >= 0 && m.slice(down + 1).some((e) => e[2] === 0);
      }, null, { timeout: 5000 });
      const mouse = await page.evaluate(() => window.W.mouse());
      assert.ok(mouse.some(([x, y, b]) => x === 100 && y === 50 && b === 1), JSON.stringify(mouse));
      assert.deepEqual(mouse[mouse.length - 1], [100, 50, 0]);
      // The wheel: one notch up is button 8 pressed and released at the pointer, down is 16.
      const before = mouse.length;
      await page.mouse.wheel(0, -120);
      await page.mouse.wheel(0, 120);
      await page.waitForFunction((n) => window.W.mouse().length >= n + 4, before, { timeout: 5000 });
      assert.deepEqual((await page.evaluate(() => window.W.mouse())).slice(before, before + 4),
        [[100, 50, 8], [100, 50, 0], [100, 50, 16], [100, 50, 0]]);
      // A tap is the left button at the finger: moved there, pressed, released.
      const beforeTap = (await page.evaluate(() => window.W.mouse())).length;
      await page.touchscreen.tap(box.x + 300, box.y + 200);
      await page.waitForFunction((n) => window.W.mouse().length >= n + 3, beforeTap, { timeout: 5000 });
      assert.deepEqual((await page.evaluate(() => window.W.mouse())).slice(beforeTap, beforeTap + 3),
        [[300, 200, 0], [300, 200, 1], [300, 200, 0]]);
      // The page resizes the canvas: the worker asks the server for the new size (device pixels, DPI).
      const sizesBefore = (await page.evaluate(() => window.W.sizes())).length;
      await page.evaluate(() => window.W.resizeCanvas(800, 600));
      await page.waitForFunction((n) => window.W.sizes().length > n, sizesBefore, { timeout: 5000 });
      const dpr = await page.evaluate(() => devicePixelRatio);
      assert.deepEqual((await page.evaluate(() => window.W.sizes())).at(-1), [800 * dpr, 600 * dpr, 96 * dpr]);
      // Paste on the canvas: a clipboard stream to the server.
      await page.evaluate(() => window.W.paste('hello'));
      await page.waitForFunction(() => window.W.clipboard() >= 1, null, { timeout: 5000 });
      // Disconnect: CloseConnection(1, Normal), the page's peer connection closed.
      await page.evaluate(() => window.W.cur.session.disconnect());
      await page.waitForFunction(() => window.W.cur.closed !== null, null, { timeout: 10_000 })
        .catch(async (e) => { t.diagnostic(JSON.stringify(await page.evaluate(() => window.W.report()))); t.diagnostic(watch.messages.slice(-8).join(' | ')); throw e; });
      r = await page.evaluate(() => window.W.report());
      assert.deepEqual(r.closes, [[1, 0]]);
      assert.equal(r.closed.phase, 'closed');
      assert.equal(r.closed.code, null);
      assert.equal(r.closed.pcState, 'closed');
      assert.deepEqual(r.closed.closeReason, { code: 0, name: 'normal', transient: false, source: 'client' }, 'the close reason crosses from the worker');
      assert.equal(r.unsubscribed, true);
    });
  }

  test('a worker that does not load ends the launch with an error; bad arguments are TypeErrors', lopts, async () => {
    const r = await page.evaluate(() => window.W.missingWorker());
    assert.deepEqual(r, { phase: 'closed', hasError: true, statuses: ['closed'] });
    assert.deepEqual(await page.evaluate(() => window.W.badArguments()), ['TypeError', 'TypeError', 'TypeError']);
  });

  test('no page or worker error (CSP included)', lopts, () => {
    // The missing worker script of the test above is expected to fail to load.
    assert.deepEqual(watch.problems.filter((p) => !p.includes('no-such-worker') && !p.includes('404')), []);
  });
});
