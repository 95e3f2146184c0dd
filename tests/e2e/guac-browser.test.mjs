// The wasm renderer in headless Chromium: every recording replayed through it
// and through guacamole-common-js 1.6.0 with the final canvases compared pixel
// by pixel; the recording player; keyboard (keys, IME text, focus loss),
// mouse, clipboard both ways. Screenshots go to target/e2e/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromiumSkipReason, launchChromium } from './lib/chromium.mjs';
import { startTestServer } from './lib/server.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const fixtures = join(root, 'tests', 'fixtures', 'guac');
const shots = join(root, 'target', 'e2e');

// The launcher's own server and policy (tools/serve.mjs: CSP without eval or
// inline code, on every response), so the renderer and the player are
// checked under the page's real CSP (a violation shows as a page error).
const mounts = {
  '/pkg/web/': join(root, 'pkg', 'web'),
  '/fixtures/': fixtures,
  '/pages/': join(here, 'pages'),
  '/vendor/guacamole-common-js-1.6.0.js': join(root, 'node_modules/@glokon/guacamole-common-js/lib/esm/guacamole.js'),
};

const missing = chromiumSkipReason()
  ?? (!existsSync(join(root, 'pkg/web/pam_launch_wasm.js')) ? 'pkg/web not built (npm run build)' : null);
const opts = { skip: missing ?? false, timeout: 240_000 };

let server, browser, page, base;
const pageErrors = [];

before(async () => {
  if (missing) return;
  server = await startTestServer({ defaults: false, mounts });
  base = server.url.replace(/\/$/, '');
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1024, height: 768 } });
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(m.text()); });
  await page.goto(`${base}/pages/guac.html`);
  await page.waitForFunction(() => window.pageReady === true, null, { timeout: 30_000 });
  mkdirSync(shots, { recursive: true });
});

after(async () => {
  await browser?.close();
  await server?.close();
});

// The recordings are part of the repository: a missing folder fails here
// rather than registering no replay test at all.
const recordings = readdirSync(fixtures).filter((f) => f.endsWith('.guac')).sort();

test('the ten guacd recordings of tests/fixtures/guac are there', () => {
  assert.equal(recordings.length, 10, recordings.join(', '));
});

// Syncs (frames) per recording, as tests/fixtures/guac/README.md publishes
// them (counted by its count.py, not by this project).
const README_FRAMES = {
  'rdp-live.guac': 264, 'rdp-session.guac': 263, 'ssh-live.guac': 86, 'ssh-long-live.guac': 616,
  'ssh-session-long.guac': 616, 'ssh-session.guac': 86, 'vnc-live.guac': 187, 'vnc-long-live.guac': 721,
  'vnc-session-long.guac': 721, 'vnc-session.guac': 187,
};

for (const name of recordings) {
  test(`replay ${name}: same final pixels as guacamole-common-js 1.6.0, every frame drawn, every sync answered`, opts, async (t) => {
    const r = await page.evaluate((n) => window.compareWithCommonJs(n), name);
    t.diagnostic(`${r.frames}/${r.expectedFrames} frames drawn, ${r.syncsAnswered} of ${r.distinctSyncs} sync timestamps answered${r.disconnected ? ' (ended by disconnect)' : ''}`);
    // The page's own count of the stream, checked against the README's.
    assert.equal(r.expectedFrames, README_FRAMES[name], 'syncs in the stream');
    assert.equal(r.frames, r.expectedFrames, 'frames drawn');
    assert.deepEqual(r.answeredNotSent, [], 'only timestamps the server sent are answered');
    assert.equal(r.distinctAnswered, r.syncsAnswered, 'no timestamp answered twice');
    assert.ok(r.syncsAnswered >= 1, 'at least one sync answered');
    assert.ok(r.syncsAnswered <= r.distinctSyncs, `${r.syncsAnswered} syncs answered, the server sent ${r.distinctSyncs}`);
    // A live stream ends with guacd's disconnect, which arrives here before
    // the frames are drawn: nothing may be sent after it, so some syncs may
    // go unanswered; otherwise every one is answered.
    if (!r.disconnected) assert.equal(r.syncsAnswered, r.distinctSyncs, 'every sync timestamp answered once');
    assert.ok(r.total > 0, `canvas sizes ${JSON.stringify(r)}`);
    assert.equal(r.differing, 0, `${r.differing} of ${r.total} pixels differ`);
  });
}

test('RecordingPlayer: duration and frames as the test counts them, seek forwards and backwards, play and pause', opts, async () => {
  const r = await page.evaluate(() => window.playerChecks('ssh-session.guac', 0.6));
  assert.equal(r.ownFrames, 86, 'syncs in ssh-session.guac (README)');
  assert.equal(r.ownDuration, 25885, 'first to last sync of ssh-session.guac (README: 25.885 s)');
  assert.equal(r.duration, r.ownDuration);
  assert.equal(r.frames, r.ownFrames);
  assert.ok(r.duration > 1000, `duration ${r.duration}`);
  assert.ok(Math.abs(r.positionAfterSeek - r.duration * 0.6) < 1, `position ${r.positionAfterSeek}`);
  assert.ok(r.midFramesRendered > 0 && r.midFramesRendered < r.frames, `frames at 60%: ${r.midFramesRendered}`);
  assert.ok(r.framesAfterRewind < r.midFramesRendered, 'a backwards seek restarts the display');
  assert.equal(r.framesAgain, r.midFramesRendered, 'seeking forward again draws the same frames on the new display');
  assert.equal(r.playingAfterPause, false);
  assert.ok(r.positionAfterPlay > r.positionAfterSeek, 'play advances the position');
  assert.equal(r.positionLater, r.positionAfterPlay, 'pause holds the position');
  await page.locator('#screen').screenshot({ path: join(shots, 'ssh-session.png') });
});

test('RecordingPlayer renders the VNC session (screenshot)', opts, async () => {
  const r = await page.evaluate(() => window.playerChecks('vnc-session.guac', 0.5));
  assert.ok(r.midFramesRendered > 0);
  await page.locator('#screen').screenshot({ path: join(shots, 'vnc-session.png') });
});

/** `key` instructions as [keysym, pressed] pairs. */
const keysOf = (sent) => sent.filter((i) => i[0] === 'key').map((i) => [Number(i[1]), i[2] === '1']);

test('keyboard: keys typed on the canvas reach the server as X11 keysyms, press then release', opts, async () => {
  await page.evaluate(() => window.startLive('ssh-live.guac'));
  await page.locator('#screen').click({ position: { x: 10, y: 10 } });
  await page.evaluate(() => window.takeSent());
  await page.keyboard.type('ls');
  await page.keyboard.press('Enter');
  assert.deepEqual(keysOf(await page.evaluate(() => window.takeSent())), [
    [0x6c, true], [0x6c, false], [0x73, true], [0x73, false], [0xff0d, true], [0xff0d, false],
  ]);
  // Shift+a sends Shift, then 'A', releases in order; arrows and Ctrl+C by name.
  await page.keyboard.down('Shift');
  await page.keyboard.press('KeyA');
  await page.keyboard.up('Shift');
  await page.keyboard.press('ArrowLeft');
  await page.keyboard.press('Control+c');
  assert.deepEqual(keysOf(await page.evaluate(() => window.takeSent())), [
    [0xffe1, true], [0x41, true], [0x41, false], [0xffe1, false],
    [0xff51, true], [0xff51, false],
    [0xffe3, true], [0x63, true], [0x63, false], [0xffe3, false],
  ]);
});

test('keyboard: IME/soft-keyboard text is typed once; focus loss releases held keys', opts, async () => {
  await page.locator('#screen').click({ position: { x: 10, y: 10 } });
  await page.evaluate(() => window.takeSent());
  await page.keyboard.insertText('é€');
  assert.deepEqual(keysOf(await page.evaluate(() => window.takeSent())), [
    [0xe9, true], [0xe9, false], [0x010020ac, true], [0x010020ac, false], // Latin-1 as is, above as 0x01000000 | code point
  ]);
  await page.keyboard.down('Control');
  await page.keyboard.down('KeyX');
  await page.evaluate(() => window.blurAll());
  const keys = keysOf(await page.evaluate(() => window.takeSent()));
  assert.deepEqual(keys, [[0xffe3, true], [0x78, true], [0x78, false], [0xffe3, false]]);
  await page.keyboard.up('KeyX');
  await page.keyboard.up('Control');
  assert.deepEqual(keysOf(await page.evaluate(() => window.takeSent())), [], 'nothing released twice');
});

test('mouse: position in remote pixels and the button mask', opts, async () => {
  const { scale, rect } = await page.evaluate(() => window.liveScale());
  await page.mouse.move(rect.x + 200, rect.y + 100);
  await page.mouse.down();
  await page.mouse.up();
  const mouse = (await page.evaluate(() => window.takeSent())).filter((i) => i[0] === 'mouse').map((i) => i.slice(1, 4).map(Number));
  const x = Math.floor(200 / scale), y = Math.floor(100 / scale);
  assert.deepEqual(mouse.at(-2), [x, y, 1]);
  assert.deepEqual(mouse.at(-1), [x, y, 0]);
});

test('clipboard: paste sends the text to the remote clipboard; server clipboard reaches the page', opts, async () => {
  await page.locator('#screen').click({ position: { x: 10, y: 10 } });
  await page.evaluate(() => window.takeSent());
  await page.evaluate(() => window.pastePlain('héllo clipboard'));
  const sent = await page.evaluate(() => window.takeSent());
  const clip = sent.find((i) => i[0] === 'clipboard');
  assert.ok(clip, `no clipboard instruction in ${JSON.stringify(sent)}`);
  assert.equal(clip[2], 'text/plain');
  const blob = sent.find((i) => i[0] === 'blob' && i[1] === clip[1]);
  assert.equal(Buffer.from(blob[2], 'base64').toString('utf8'), 'héllo clipboard');
  assert.ok(sent.some((i) => i[0] === 'end' && i[1] === clip[1]));

  await page.evaluate(() => window.startLive('vnc-live.guac'));
  const got = await page.evaluate(() => window.takeClipboard());
  assert.ok(got.length >= 1, 'clipboard stream from the VNC server reached onclipboard');
  assert.equal(got[0].mimetype, 'text/plain');
});

test('clipboard: disablePaste and disableCopy are respected', opts, async () => {
  await page.evaluate(() => window.startLive('vnc-live.guac', { disablePaste: true, disableCopy: true }));
  assert.deepEqual(await page.evaluate(() => window.takeClipboard()), []);
  await page.locator('#screen').click({ position: { x: 10, y: 10 } });
  await page.evaluate(() => window.takeSent());
  await page.evaluate(() => window.pastePlain('secret text'));
  const sent = await page.evaluate(() => window.takeSent());
  assert.equal(sent.filter((i) => i[0] === 'clipboard').length, 0, JSON.stringify(sent));
});

test('detachInput removes the listeners and the input sink', opts, async () => {
  assert.ok((await page.evaluate(() => window.sinkCount())) >= 1);
  assert.equal(await page.evaluate(() => window.detach()), 0);
  await page.keyboard.press('KeyQ');
  assert.deepEqual(keysOf(await page.evaluate(() => window.takeSent())), []);
  assert.deepEqual(pageErrors, []);
});
