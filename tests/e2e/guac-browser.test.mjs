// The wasm renderer in headless Chromium: every recording replayed through it
// and through guacamole-common-js 1.6.0 with the final canvases compared pixel
// by pixel; the recording player; keyboard (keys, IME text, focus loss),
// mouse, clipboard both ways. Screenshots go to target/e2e/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { readFileSync, existsSync, statSync, mkdirSync, readdirSync } from 'node:fs';
import { join, extname, dirname, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const require = createRequire(import.meta.url);
const fixtures = join(root, 'tests', 'fixtures', 'guac');
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
const shots = join(root, 'target', 'e2e');

const mounts = [
  ['/pkg/web/', join(root, 'pkg', 'web')],
  ['/fixtures/', fixtures],
  ['/pages/', join(here, 'pages')],
];
const files = {
  '/vendor/guacamole-common-js-1.6.0.js': join(root, 'node_modules/@glokon/guacamole-common-js/lib/esm/guacamole.js'),
};
const types = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.css': 'text/css' };
// The launcher's policy: the renderer and the player must work without eval
// or inline code (a violation shows as a page error or a console error).
const csp = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data: blob:";

function fileFor(url) {
  const path = decodeURIComponent(new URL(url, 'http://x').pathname);
  if (files[path]) return files[path];
  for (const [prefix, dir] of mounts) {
    if (!path.startsWith(prefix)) continue;
    const full = resolvePath(dir, '.' + path.slice(prefix.length - 1));
    return full.startsWith(resolvePath(dir) + '/') ? full : null;
  }
  return null;
}

const missing = !existsSync(chromiumPath) ? `no Chromium at ${chromiumPath}`
  : !existsSync(join(root, 'pkg/web/pam_launch_wasm.js')) ? 'pkg/web not built (npm run build)'
  : !existsSync(fixtures) ? `no fixtures at ${fixtures}` : null;
const opts = { skip: missing ?? false, timeout: 240_000 };

let server, browser, page, base;
const pageErrors = [];

before(async () => {
  if (missing) return;
  server = createServer((req, res) => {
    if (req.url === '/favicon.ico') { res.writeHead(204); res.end(); return; }
    const file = fileFor(req.url);
    if (!file || !existsSync(file) || !statSync(file).isFile()) { res.writeHead(404); res.end(); return; }
    res.writeHead(200, { 'content-type': types[extname(file)] || 'application/octet-stream', 'content-security-policy': csp });
    res.end(readFileSync(file));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${server.address().port}`;
  const { chromium } = require('playwright-core');
  browser = await chromium.launch({
    executablePath: chromiumPath,
    timeout: 30_000,
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
  page = await browser.newPage({ viewport: { width: 1024, height: 768 } });
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(m.text()); });
  await page.goto(`${base}/pages/guac.html`);
  await page.waitForFunction(() => window.pageReady === true, null, { timeout: 30_000 });
  mkdirSync(shots, { recursive: true });
});

after(async () => {
  await browser?.close();
  server?.close();
});

const recordings = existsSync(fixtures) ? readdirSync(fixtures).filter((f) => f.endsWith('.guac')).sort() : [];

for (const name of recordings) {
  test(`replay ${name}: same final pixels as guacamole-common-js 1.6.0, every frame drawn, every sync answered`, opts, async () => {
    const r = await page.evaluate((n) => window.compareWithCommonJs(n), name);
    assert.equal(r.frames, r.expectedFrames, 'frames drawn');
    // A live stream ends with guacd's disconnect, which arrives here before
    // the frames are drawn: nothing may be sent after it, so no sync either.
    if (r.disconnected) assert.ok(r.syncsAnswered <= r.distinctSyncs, 'never more syncs than the server sent');
    else assert.equal(r.syncsAnswered, r.distinctSyncs, 'every sync timestamp answered once');
    assert.ok(r.total > 0, `canvas sizes ${JSON.stringify(r)}`);
    assert.equal(r.differing, 0, `${r.differing} of ${r.total} pixels differ`);
  });
}

test('RecordingPlayer: duration and frames as summarizeRecording, seek forwards and backwards, play and pause', opts, async () => {
  const r = await page.evaluate(() => window.playerChecks('ssh-session.guac', 0.6));
  assert.equal(r.duration, r.summaryDuration);
  assert.equal(r.frames, r.summaryFrames);
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
