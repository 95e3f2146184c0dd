// The resource limits in headless Chromium (issue 9, section 3 and 4): the
// wasm GuacamoleClient fed hostile streams made in the page
// (tests/e2e/pages/limits.js), one test per limit, each in a fresh page (wasm
// memory never shrinks, so one test's peak cannot hide another's). Each
// checks the code RESOURCE_LIMIT, the sentence naming the limit, the
// `disconnect` the client sends (its `send` callback is the wire here; the
// CloseConnection of a launch() is checked in launch-loopback.test.mjs), no
// page error, and that the module still works afterwards. Then downloads
// (refused without onfile, with an error ack; Discard saves nothing, Save
// gives the bytes), uploads read from the File a chunk at a time, and a
// flood whose wasm memory and JS heap stay under the README's ceilings.
// Run with `node --test tests/e2e/limits.test.mjs`.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromiumSkipReason, launchChromium, watchPage } from './lib/chromium.mjs';
import { startTestServer } from './lib/server.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const MIB = 1024 * 1024;
// The ceilings the README states for the flood.
const WASM_CEILING = 256 * MIB;
const HEAP_CEILING = 256 * MIB;

const skip = chromiumSkipReason() ||
  (fs.existsSync(path.join(ROOT, 'pkg/web/pam_launch_wasm.js')) ? null : 'pkg/web is not built (npm run build)');

describe('resource limits in headless Chromium', () => {
  let server;
  let browser;

  before(async () => {
    if (skip) return;
    server = await startTestServer({ mounts: { '/pages/': path.join(HERE, 'pages') } });
    browser = await launchChromium();
  });
  after(async () => {
    if (browser) await browser.close().catch(() => {});
    if (server) await server.close();
  });

  /** A fresh page with the module loaded; `problems` collects page errors. */
  async function openPage() {
    const context = await browser.newContext({ acceptDownloads: true });
    const page = await context.newPage();
    const watch = await watchPage(page);
    await page.goto(`${server.url}pages/limits.html`);
    await page.waitForFunction(() => window.L, null, { timeout: 15000 });
    return { page, context, ...watch };
  }

  const opt = (timeout = 60000) => ({ skip: skip || false, timeout });

  /** Runs one hostile case in its own page and checks what every limit must do. */
  async function limitCase(name, sentence) {
    const { page, context, problems } = await openPage();
    try {
      const r = await page.evaluate((n) => window.L[n](), name);
      assert.ok(r.thrown, `${name}: receive() threw (fed ${r.fed} chunks)`);
      assert.equal(r.thrown.name, 'PamLaunchError');
      assert.equal(r.thrown.code, 'RESOURCE_LIMIT');
      assert.ok(r.thrown.message.includes(sentence), `${name}: "${r.thrown.message}" names "${sentence}"`);
      assert.match(r.thrown.message, /the session was closed to protect the page$/);
      assert.deepEqual(r.errors.map((e) => [e.code, e.name, e.message]), [[0x030d, 'CLIENT_OVERRUN', r.thrown.message]]);
      assert.ok(r.sent.endsWith('10.disconnect;'), `the server is told: ...${r.sent.slice(-40)}`);
      assert.equal(r.state, 5, 'disconnected');
      assert.equal(r.after, null, 'later input is ignored, nothing throws');
      // No panic: the module still works in this page.
      const again = await page.evaluate(() => {
        const s = window.L.paste();
        return { okSent: s.okSent, state: s.state };
      });
      assert.deepEqual(again, { okSent: true, state: 3 });
      assert.deepEqual(problems.filter((p) => !/Failed to load resource/.test(p)), []);
      return r;
    } finally {
      await context.close();
    }
  }

  it('the budget across open streams: three 30 MiB images open at once', opt(), async () => {
    const r = await limitCase('openStreams', "the server's open streams exceed 64 MiB (the limit across all open streams)");
    assert.ok(r.fed > 16, `two images were taken whole first (${r.fed} chunks)`);
  });
  it('one image past 32 MiB', opt(), () => limitCase('image', 'an image stream from the server exceeds 32 MiB'));
  it('a clipboard stream past 16 MiB', opt(), () => limitCase('clipboard', 'a clipboard stream from the server exceeds 16 MiB'));
  it('an argv stream past 64 KiB', opt(), () => limitCase('argv', 'a parameter (argv) stream from the server exceeds 64 KiB'));
  it('the open frame past 65,536 operations', opt(), async () => {
    const r = await limitCase('frameOps', "the server's open frame exceeds 65536 drawing operations");
    assert.equal(r.fed, 2, 'a full frame of 65,536 operations and its sync pass');
  });
  it('operations waiting across queued frames past 1,048,576', opt(), () =>
    limitCase('pendingOps', 'more than 1048576 drawing operations are waiting to be drawn'));
  it('frames waiting past 4096', opt(), () => limitCase('pendingFrames', 'more than 4096 frames are waiting to be drawn'));
  it('images waiting to be drawn past 256 MiB', opt(90000), () =>
    limitCase('pendingImages', 'the images waiting to be drawn exceed 256 MiB'));

  it('a paste past 16 MiB is refused (setClipboard throws, a paste event is logged), the session goes on', opt(), async () => {
    const { page, context, problems } = await openPage();
    try {
      const r = await page.evaluate(() => window.L.paste());
      assert.equal(r.thrown.code, 'RESOURCE_LIMIT');
      assert.equal(r.thrown.message, 'the paste is larger than 16 MiB (the paste limit): nothing was sent');
      assert.ok(r.logs.includes('the paste is larger than 16 MiB (the paste limit): nothing was sent'), JSON.stringify(r.logs));
      assert.equal(r.okSent, true);
      assert.equal(r.state, 3, 'still connected');
      // Only the small paste reached the wire.
      assert.equal((r.sent.match(/9\.clipboard,/g) || []).length, 1);
      assert.ok(r.sent.length < 1000, `${r.sent.length} chars sent`);
      assert.deepEqual(r.errors, []);
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  // ---------------------------------------------------------------- downloads

  async function download(handler) {
    const { page, context, problems } = await openPage();
    const downloads = [];
    page.on('download', (d) => downloads.push(d));
    try {
      const r = await page.evaluate((h) => window.L.download(h), handler);
      if (handler === 'save') await page.waitForEvent('download', { timeout: 5000 }).catch(() => {});
      return { r, downloads, problems };
    } finally {
      if (handler !== 'save') await context.close();
      else setTimeout(() => context.close().catch(() => {}), 5000).unref();
    }
  }

  it('a server-pushed file without onfile: refused on the wire (ack UNSUPPORTED), no download', opt(), async () => {
    const { r, downloads, problems } = await download('none');
    assert.equal(r.afterOffer, '3.ack,1.9,11.UNSUPPORTED,3.256;', 'the error ack, at once');
    assert.ok(!/3\.ack,1\.9,2\.OK/.test(r.sent), 'no blob acknowledged');
    assert.ok(r.logs.some((l) => /download from the server was refused \(no onfile handler\): report\.txt/.test(l)), JSON.stringify(r.logs));
    assert.equal(downloads.length, 0, 'no <a download> was clicked');
    assert.equal(r.state, 3, 'the session goes on');
    assert.deepEqual(problems, []);
  });

  it('with onfile: Discard saves nothing (ack refused), Save gives the bytes', opt(), async () => {
    const d = await download('discard');
    assert.deepEqual(d.r.offers, [{ stream: 9, name: 'report.txt', mimetype: 'text/plain' }]);
    assert.equal(d.r.afterOffer, '3.ack,1.9,25.the download was declined,3.771;');
    assert.equal(d.downloads.length, 0);

    const s = await download('save');
    assert.deepEqual(s.r.offers, [{ stream: 9, name: 'report.txt', mimetype: 'text/plain' }]);
    assert.equal(s.r.afterOffer, '3.ack,1.9,2.OK,1.0;', 'acknowledged only on accept()');
    // One ack for the accept, one per blob.
    const blobsSent = Math.ceil(s.r.content.length / 6048);
    assert.equal((s.r.sent.match(/3\.ack,1\.9,2\.OK,1\.0;/g) || []).length, 1 + blobsSent);
    assert.equal(s.downloads.length, 1);
    assert.equal(s.downloads[0].suggestedFilename(), 'report.txt');
    const file = await s.downloads[0].path();
    assert.equal(fs.readFileSync(file, 'utf8'), s.r.content);
  });

  // ---------------------------------------------------------------- uploads

  it('an upload is read from the File a chunk at a time (never whole) and arrives whole', opt(90000), async (t) => {
    const { page, context, problems } = await openPage();
    try {
      const r = await page.evaluate(() => window.L.upload(8));
      assert.equal(r.done, true, JSON.stringify(r));
      assert.equal(r.got, r.size);
      assert.equal(r.same, true, 'the bytes arrive in order');
      assert.equal(r.whole, 0, 'File.arrayBuffer() of the whole file is never called');
      assert.equal(r.maxRead, 256 * 1024, 'each read is one 256 KiB chunk');
      assert.equal(r.reads, r.size / (256 * 1024));
      assert.deepEqual(problems, []);
      t.diagnostic(`8 MiB upload: ${r.reads} reads of at most ${r.maxRead} bytes, ${r.ms} ms, wasm memory ${(r.wasm / MIB).toFixed(1)} MiB`);
    } finally {
      await context.close();
    }
  });

  // ---------------------------------------------------------------- flood

  it(`a flooding server: wasm memory under ${WASM_CEILING / MIB} MiB and JS heap under ${HEAP_CEILING / MIB} MiB`, opt(120000), async (t) => {
    const { page, context, problems } = await openPage();
    try {
      const start = await page.evaluate(() => window.L.memory());
      const r = await page.evaluate(() => window.L.flood(6));
      const wasmMax = Math.max(...r.samples.map((s) => s.wasm));
      const heapMax = Math.max(...r.samples.map((s) => s.heap));
      const mb = (n) => (n / MIB).toFixed(1);
      t.diagnostic(`flood: ${r.during.rounds} chunks, ${mb(r.during.bytes)} MiB in 6 s, ${r.during.frames} frames drawn; ` +
        `wasm memory ${mb(start.wasm)} -> max ${mb(wasmMax)} MiB, JS heap ${mb(start.heap)} -> max ${mb(heapMax)} MiB (${r.samples.length} samples)`);
      console.log(`# flood: ${JSON.stringify({ start, wasmMax, heapMax, during: r.during, ended: r.ended })}`);
      assert.equal(r.during.thrown, null, 'the bounded flood does not end the session');
      assert.equal(r.during.state, 3);
      assert.ok(r.during.bytes > 50 * MIB, `the flood sent ${mb(r.during.bytes)} MiB`);
      assert.ok(r.samples.length >= 10);
      assert.ok(r.samples.every((s) => typeof s.heap === 'number' && s.heap > 0), 'performance.memory is there');
      assert.ok(wasmMax < WASM_CEILING, `wasm memory ${mb(wasmMax)} MiB`);
      assert.ok(heapMax < HEAP_CEILING, `JS heap ${mb(heapMax)} MiB`);
      // Then past the per-image limit: the session ends, memory still under the ceiling.
      assert.equal(r.ended.code, 'RESOURCE_LIMIT');
      assert.match(r.ended.message, /exceeds (32|64) MiB/);
      assert.equal(r.state, 5);
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });
});
