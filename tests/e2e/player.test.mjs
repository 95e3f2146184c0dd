// The recording player page (www/player.html: <pam-launch-session
// mode="recording">, which mounts www/js/player-view.js in its shadow root;
// Playwright's locators reach into it) in headless Chromium under the
// launcher's CSP: open by picker and by drop,
// play/pause and speed, seeks via keyframes pixel-equal to a from-start
// replay (forward and backward), frame steps against the recording's own
// sync times, the key log against the file's key instructions (parsed here),
// search and click-to-seek, PNG export, a damaged file, axe, 375 px.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromiumSkipReason, launchChromium, watchPage } from './lib/chromium.mjs';
import { startTestServer } from './lib/server.mjs';
import { axeScan, summarizeViolations } from './lib/axe.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const fixtures = join(root, 'tests', 'fixtures', 'guac');

const missing = chromiumSkipReason()
  ?? (!existsSync(join(root, 'pkg/web/pam_launch_wasm.js')) ? 'pkg/web not built (npm run build)' : null);
const opts = { skip: missing ?? false, timeout: 240_000 };

// The recording's instructions, parsed here (lengths in code points).
function instructions(name) {
  const text = readFileSync(join(fixtures, name), 'utf8');
  const cps = Array.from(text);
  const out = [];
  let i = 0;
  while (i < cps.length) {
    const ins = [];
    for (;;) {
      let n = '';
      while (cps[i] !== '.') n += cps[i++];
      i++;
      ins.push(cps.slice(i, i + Number(n)).join(''));
      i += Number(n);
      if (cps[i++] === ';') break;
    }
    out.push(ins);
  }
  return out;
}
const syncTimes = (ins) => {
  const ts = ins.filter((x) => x[0] === 'sync').map((x) => Number(x[1]));
  return ts.map((t) => t - ts[0]);
};
// Typed lines: printable ASCII keysyms pressed, a Return (0xff0d) ends a line.
function typedLines(ins) {
  const first = Number(ins.find((x) => x[0] === 'sync')[1]);
  const lines = [];
  let cur = null;
  for (const x of ins) {
    if (x[0] !== 'key' || x[2] !== '1') continue;
    const k = Number(x[1]);
    if (k === 0xff0d) { if (cur) lines.push(cur); cur = null; continue; }
    if (k >= 0x20 && k <= 0x7e) {
      if (!cur) cur = { atMs: Number(x[3]) - first, text: '' };
      cur.text += String.fromCharCode(k);
    }
  }
  if (cur) lines.push(cur);
  return lines;
}

let server, browser, page, watch, base;

before(async () => {
  if (missing) return;
  server = await startTestServer({ mounts: { '/fixtures/': fixtures } });
  base = server.url;
  browser = await launchChromium();
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  page = await context.newPage();
  watch = await watchPage(page);
  await page.goto(`${base}player.html`);
  await page.waitForFunction(() => window.playerReady === true, null, { timeout: 30_000 });
});

after(async () => {
  await browser?.close();
  await server?.close();
});

const status = () => page.locator('.pv-status').textContent();
const waitStatus = (re) => page.waitForFunction((src) => new RegExp(src).test(window.playerView?.status.textContent ?? ''), re.source, { timeout: 30_000 });

test('open by picker: ssh-session.guac; the key log is the file\'s typed text; search filters it; a click seeks there', opts, async () => {
  await page.locator('.pv-file').setInputFiles(join(fixtures, 'ssh-session.guac'));
  await waitStatus(/^Opened ssh-session\.guac/);
  assert.match(await status(), /0:25, 86 frames/);
  const expected = typedLines(instructions('ssh-session.guac'));
  assert.ok(expected.length >= 3, JSON.stringify(expected));
  const shown = await page.locator('.pv-key-text').allTextContents();
  assert.deepEqual(shown.map((t) => t.replace(/⟨[^⟩]*⟩/g, '')), expected.map((l) => l.text));
  await page.locator('.pv-search').fill('seq');
  const filtered = await page.locator('.pv-key-text').allTextContents();
  assert.deepEqual(filtered, expected.filter((l) => l.text.includes('seq')).map((l) => l.text));
  assert.ok(filtered.length >= 1 && filtered.length < expected.length);
  await page.locator('.pv-key-button').first().click();
  await waitStatus(/^Seeked to/);
  const line = expected.find((l) => l.text.includes('seq'));
  const pos = await page.evaluate(() => window.playerView.player.position);
  assert.ok(Math.abs(pos - line.atMs) < 1, `position ${pos}, the line starts at ${line.atMs}`);
  await page.locator('.pv-search').fill('');
});

test('frame steps: "." and "," move the frame index by one; its time is the recording\'s own sync time', opts, async () => {
  const times = syncTimes(instructions('ssh-session.guac'));
  await page.locator('.pv-play').focus();
  const f0 = await page.evaluate(() => window.playerView.player.frame);
  await page.keyboard.press('.');
  await waitStatus(new RegExp(`^Frame ${f0 + 2} of 86`));
  let r = await page.evaluate(() => ({ f: window.playerView.player.frame, pos: window.playerView.player.position }));
  assert.equal(r.f, f0 + 1);
  assert.equal(r.pos, times[r.f]);
  await page.keyboard.press(',');
  await page.keyboard.press(',');
  await waitStatus(new RegExp(`^Frame ${f0} of 86`));
  r = await page.evaluate(() => ({ f: window.playerView.player.frame, pos: window.playerView.player.position }));
  assert.equal(r.f, f0 - 1);
  assert.equal(r.pos, times[r.f]);
  // The buttons do the same.
  await page.getByRole('button', { name: 'Next frame' }).click();
  await waitStatus(new RegExp(`^Frame ${f0 + 1} of 86`));
});

test('the timeline: keyboard Home/End/arrows seek, with the position spoken', opts, async () => {
  const slider = page.getByRole('slider', { name: 'Position' });
  await slider.focus();
  await page.keyboard.press('End');
  await waitStatus(/^Seeked to 0:25/);
  assert.equal(await page.evaluate(() => window.playerView.player.position), 25885);
  await page.keyboard.press('Home');
  await waitStatus(/^Seeked to 0:00/);
  await page.keyboard.press('ArrowRight');
  await waitStatus(/^Seeked to 0:05/);
  assert.equal(await page.evaluate(() => window.playerView.player.position), 5000);
  assert.match(await slider.getAttribute('aria-valuetext'), /^5 seconds of 25 seconds$/);
  // A click halfway along the track seeks to about the middle (the thumb's width aside).
  const box = await slider.boundingBox();
  await slider.click({ position: { x: box.width / 2, y: box.height / 2 } });
  await waitStatus(/^Seeked to 0:1[23]/);
  const mid = await page.evaluate(() => window.playerView.player.position);
  assert.ok(Math.abs(mid - 25885 / 2) < 25885 * 0.05, `position ${mid} after a click in the middle`);
  // Dragging from there to three quarters.
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.75, box.y + box.height / 2, { steps: 8 });
  await page.mouse.up();
  await page.waitForFunction(() => !window.playerView.seekBusy && Math.abs(window.playerView.player.position - 25885 * 0.75) < 25885 * 0.05, null, { timeout: 10_000 });
});

test('play at 4x: the position advances faster than the wall clock; pause holds it', opts, async () => {
  // From the start: the previous test leaves the position at three quarters,
  // and at 4x the last 6 s would run out before the pause on a busy machine.
  await page.evaluate(() => window.playerView.player.seek(0));
  await page.waitForFunction(() => !window.playerView.seekBusy && window.playerView.player.position === 0, null, { timeout: 10_000 });
  await page.getByLabel('Speed').selectOption('4');
  await page.locator('.pv-play').click();
  await waitStatus(/^Playing at 4x/);
  const a = await page.evaluate(() => ({ pos: window.playerView.player.position, t: performance.now(), rate: window.playerView.player.playbackRate }));
  await page.waitForTimeout(1000);
  const b = await page.evaluate(() => ({ pos: window.playerView.player.position, t: performance.now() }));
  await page.locator('.pv-play').click();
  await waitStatus(/^Paused at/);
  assert.equal(a.rate, 4);
  const wall = b.t - a.t;
  const advanced = b.pos - a.pos;
  // Wide bounds: 4x the wall time, give or take the frame clock.
  assert.ok(advanced > 2 * wall && advanced < 5 * wall + 100, `advanced ${advanced} ms in ${wall} ms of wall time`);
  const held = await page.evaluate(() => window.playerView.player.position);
  await page.waitForTimeout(300);
  assert.equal(await page.evaluate(() => window.playerView.player.position), held);
  await page.getByLabel('Speed').selectOption('1');
});

// The longest stretch between two frames that draw something (guacd sends
// an empty sync every second while idle), found here from the file.
function longestIdle(ins) {
  const first = Number(ins.find((x) => x[0] === 'sync')[1]);
  const active = [];
  let drew = false;
  for (const x of ins) {
    if (x[0] === 'sync') { if (drew) active.push(Number(x[1]) - first); drew = false; }
    else if (x[0] !== 'nop' && x[0] !== 'key') drew = true;
  }
  let best = { from: 0, to: 0 };
  for (let i = 1; i < active.length; i++) if (active[i] - active[i - 1] > best.to - best.from) best = { from: active[i - 1], to: active[i] };
  return best;
}

test('skip idle: a stretch of empty frames longer than 1 s is cut to 1 s; off, it plays in real time', opts, async () => {
  const gap = longestIdle(instructions('ssh-session.guac'));
  assert.ok(gap.to - gap.from > 3000, `longest idle stretch ${JSON.stringify(gap)}`);
  const run = async (skip) => {
    await page.evaluate(async ({ from, skip }) => {
      const v = window.playerView;
      v.idle.checked = skip;
      v.idle.dispatchEvent(new Event('change'));
      await v.player.seek(from + 100);
    }, { from: gap.from, skip });
    await page.locator('.pv-play').click();
    await page.waitForTimeout(1800);
    await page.locator('.pv-play').click();
    return page.evaluate(() => window.playerView.player.position);
  };
  const skipped = await run(true);
  assert.ok(skipped >= gap.to, `with skip idle: at ${skipped}, the gap ends at ${gap.to}`);
  const real = await run(false);
  assert.ok(real < gap.to && real > gap.from + 1000, `without: at ${real}, inside the gap ${gap.from}-${gap.to}`);
});

test('export PNG: a download named after the recording and time, a PNG of the display\'s size', opts, async () => {
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Export frame (PNG)' }).click(),
  ]);
  assert.match(download.suggestedFilename(), /^ssh-session-\d+s\d\.png$/);
  const bytes = readFileSync(await download.path());
  assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const size = await page.evaluate(() => [window.playerView.player.client.width, window.playerView.player.client.height]);
  assert.deepEqual([bytes.readUInt32BE(16), bytes.readUInt32BE(20)], size);
  assert.deepEqual(size, [1024, 768]);
});

// Pixels of the view's player after seek(t) (keyframes) against a second
// player without keyframes replaying from the start to t.
async function comparePixels(name, fractions) {
  return page.evaluate(async ({ name, fractions }) => {
    const api = window.playerView.api;
    const bytes = new Uint8Array(await (await fetch(`/fixtures/${name}`)).arrayBuffer());
    const ca = document.createElement('canvas');
    const cb = document.createElement('canvas');
    const a = new api.RecordingPlayer(bytes, ca, { keyframeBytes: 24 * 1024 });
    const b = new api.RecordingPlayer(bytes, cb, { keyframes: false });
    await a.seek(0);
    await a.index();
    const out = { keyframes: a.keyframeCount, diffs: [], frames: [] };
    const px = (p) => { const c = p.client.snapshot(); return [c.width, c.height, c.getContext('2d').getImageData(0, 0, c.width, c.height).data]; };
    for (const f of fractions) {
      const t = a.duration * f;
      await a.seek(t);
      await b.seek(0);
      await b.seek(t);
      const [wa, ha, da] = px(a);
      const [wb, hb, db] = px(b);
      let differing = 0;
      if (wa !== wb || ha !== hb) differing = -1;
      else for (let i = 0; i < da.length; i += 4) if (da[i] !== db[i] || da[i + 1] !== db[i + 1] || da[i + 2] !== db[i + 2] || da[i + 3] !== db[i + 3]) differing++;
      out.diffs.push(differing);
      out.frames.push([a.frame, b.frame]);
    }
    a.free();
    b.free();
    return out;
  }, { name, fractions });
}

for (const name of ['ssh-session.guac', 'vnc-session.guac', 'rdp-session.guac']) {
  test(`seek via keyframes is pixel-exact: ${name} at several times, forward and backward, equals a from-start replay`, opts, async () => {
    const fractions = [0.9, 0.35, 0.6, 0.1, 0.75, 0.5, 0.97, 0.2];
    const r = await comparePixels(name, fractions);
    assert.ok(r.keyframes >= 3, `keyframes ${r.keyframes}`);
    for (const [fa, fb] of r.frames) assert.equal(fa, fb, 'same frame');
    assert.deepEqual(r.diffs, fractions.map(() => 0), `differing pixels per seek: ${r.diffs}`);
  });
}

test('the keyframe budget holds: 16 MiB for vnc-session.guac thins the keyframes (spacing doubles), seeks stay pixel-exact', opts, async () => {
  const r = await page.evaluate(async () => {
    const api = window.playerView.api;
    const bytes = new Uint8Array(await (await fetch('/fixtures/vnc-session.guac')).arrayBuffer());
    const a = new api.RecordingPlayer(bytes, document.createElement('canvas'), { keyframeBytes: 16 * 1024, keyframeMiB: 16 });
    const b = new api.RecordingPlayer(bytes, document.createElement('canvas'), { keyframes: false });
    await a.seek(0);
    await a.index();
    const out = { count: a.keyframeCount, bytes: a.keyframeBytes, spacing: a.keyframeSpacing, frames: Array.from(a.keyframeFrames()), diffs: [] };
    for (const f of [0.8, 0.3]) {
      await a.seek(a.duration * f);
      await b.seek(0);
      await b.seek(a.duration * f);
      const da = a.client.snapshot().getContext('2d').getImageData(0, 0, 1024, 768).data;
      const db = b.client.snapshot().getContext('2d').getImageData(0, 0, 1024, 768).data;
      let n = 0;
      for (let i = 0; i < da.length; i++) if (da[i] !== db[i]) n++;
      out.diffs.push(n);
    }
    a.free();
    b.free();
    return out;
  });
  assert.ok(r.bytes <= 16 * 1024 * 1024, `keyframes hold ${r.bytes} bytes`);
  assert.ok(r.count >= 1, `keyframes ${r.count}`);
  assert.ok(r.spacing > 16 * 1024, `spacing ${r.spacing}: the budget thinned the keyframes`);
  assert.deepEqual(r.diffs, [0, 0]);
});

test('open by drop (a synthetic DataTransfer): vnc-session.guac, no key log', opts, async () => {
  await page.evaluate(async () => {
    const bytes = await (await fetch('/fixtures/vnc-session.guac')).arrayBuffer();
    const dt = new DataTransfer();
    dt.items.add(new File([bytes], 'vnc-session.guac'));
    window.playerView.drop.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  });
  await waitStatus(/^Opened vnc-session\.guac/);
  assert.equal(await page.locator('.pv-keys').isHidden(), true);
  assert.equal(await page.locator('.pv-name').textContent(), 'vnc-session.guac');
});

test('a damaged file shows its error code and sentence', opts, async () => {
  await page.locator('.pv-file').setInputFiles({ name: 'broken.guac', mimeType: 'application/octet-stream', buffer: Buffer.from('4.sync,1.0;4.rect,1.0,1') });
  await page.locator('.pv-error').waitFor({ state: 'visible' });
  const text = await page.locator('.pv-error').textContent();
  assert.match(await page.locator('.pv-error strong').textContent(), /^(INCOMPLETE|MALFORMED)_INSTRUCTION$/);
  assert.match(text, /broken\.guac is not a playable recording/);
  assert.equal(await page.locator('.pv-stage').isHidden(), true);
});

test('PlayerView inside a shadow root (as <pam-launch-session mode="recording"> mounts it, player.css linked there)', opts, async () => {
  await page.evaluate(async () => {
    const { PlayerView } = await import('/js/player-view.js');
    const host = document.createElement('div');
    host.id = 'shadow-host';
    document.body.append(host);
    const shadow = host.attachShadow({ mode: 'open' });
    const link = document.createElement('link');
    link.rel = 'stylesheet';
    link.href = '/player.css';
    const box = document.createElement('div');
    shadow.append(link, box);
    const bytes = new Uint8Array(await (await fetch('/fixtures/ssh-session.guac')).arrayBuffer());
    window.shadowView = new PlayerView(box, { api: window.playerView.api });
    await window.shadowView.open(bytes, 'ssh-session.guac');
  });
  const inShadow = page.locator('#shadow-host');
  try {
    await inShadow.getByRole('button', { name: 'Next frame' }).click();
    await page.waitForFunction(() => window.shadowView.player.frame === 1);
    // The step is announced once its frame is drawn, a moment after the index moves.
    await page.waitForFunction(() => document.querySelector('#shadow-host').shadowRoot.querySelector('.pv-status').textContent.startsWith('Frame '));
    assert.equal(await inShadow.locator('.pv-status').textContent(), 'Frame 2 of 86 at 0:00');
    assert.equal(await inShadow.locator('.pv-key-text').count(), 4);
    const styled = await page.evaluate(() => getComputedStyle(document.querySelector('#shadow-host').shadowRoot.querySelector('.pv-play')).fontWeight);
    assert.equal(styled, '600', 'player.css applies inside the shadow root');
  } finally {
    // Gone even when a check failed: the next tests address the page's own player.
    await page.evaluate(() => { window.shadowView?.destroy(); document.getElementById('shadow-host')?.remove(); });
  }
  assert.equal(await page.locator('#shadow-host').count(), 0);
});

test('accessibility: axe finds no serious or critical violation; usable at 375 px; no CSP or console problem', opts, async () => {
  await page.locator('.pv-file').setInputFiles(join(fixtures, 'ssh-session.guac'));
  await waitStatus(/^Opened ssh-session\.guac/);
  assert.deepEqual(summarizeViolations(await axeScan(page)), []);
  await page.setViewportSize({ width: 375, height: 800 });
  await page.waitForTimeout(200);
  const r = await page.evaluate(() => ({
    scroll: document.scrollingElement.scrollWidth,
    canvas: window.playerView.canvas.getBoundingClientRect().width,
    controls: [...window.playerView.controls.children].map((e) => e.getBoundingClientRect().right),
  }));
  assert.ok(r.scroll <= 375, `page is ${r.scroll} px wide`);
  assert.ok(r.canvas > 300 && r.canvas <= 375, `canvas ${r.canvas} px`);
  assert.ok(r.controls.every((x) => x <= 375), `controls end at ${r.controls}`);
  assert.deepEqual(summarizeViolations(await axeScan(page)), []);
  await page.setViewportSize({ width: 1280, height: 900 });
  assert.deepEqual(watch.problems, []);
});
