// The web layer in a dedicated Worker of headless Chromium (no window, no
// document, no RTCPeerConnection there): launch()'s timers fire (a launch
// through a fake RTCPeerConnection class ends with GATEWAY_TIMEOUT after
// timeouts.answerMs), what is missing is UNSUPPORTED with its sentence, and
// a headless client answers a sync. The page is tests/e2e/pages/runtime-worker.*,
// served on 127.0.0.1 under the launcher's CSP; nothing goes on the network.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromiumSkipReason, launchChromium } from './lib/chromium.mjs';
import { startTestServer } from './lib/server.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const skip = chromiumSkipReason() ||
  (fs.existsSync(path.join(ROOT, 'pkg/web/pam_launch_wasm.js')) ? null : 'pkg/web is not built (npm run build)');

describe('the web layer in a dedicated Worker (headless Chromium)', () => {
  let server;
  let browser;
  let report;
  const problems = [];

  before(async () => {
    if (skip) return;
    server = await startTestServer({
      defaults: false,
      mounts: { '/pages/': path.join(HERE, 'pages'), '/pkg/web/': path.join(ROOT, 'pkg', 'web'), '/fixtures/': path.join(ROOT, 'tests', 'fixtures') },
    });
    browser = await launchChromium();
    const page = await browser.newPage();
    page.on('pageerror', (e) => problems.push(String(e)));
    page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
    await page.goto(`${server.url}pages/runtime-worker.html`);
    await page.waitForFunction(() => window.workerReport !== null, null, { timeout: 20000 });
    report = await page.evaluate(() => window.workerReport);
  });
  after(async () => {
    if (browser) await browser.close().catch(() => {});
    if (server) await server.close();
  });
  const opt = { skip: skip || false, timeout: 30000 };

  it('the Worker has no window, document or RTCPeerConnection, and the job ran', opt, () => {
    assert.equal(report.error, undefined, report.error);
    assert.deepEqual(problems, []);
    const { window, document, RTCPeerConnection } = report.scope;
    assert.deepEqual({ window, document, RTCPeerConnection }, { window: 'undefined', document: 'undefined', RTCPeerConnection: 'undefined' });
  });

  it('what is missing is UNSUPPORTED with a sentence that says what to pass', opt, () => {
    assert.equal(report.errors.noRtc.code, 'UNSUPPORTED');
    assert.match(report.errors.noRtc.message, /pass options\.RTCPeerConnection/);
    assert.equal(report.errors.noCanvas.code, 'UNSUPPORTED');
    assert.match(report.errors.noCanvas.message, /OffscreenCanvas in a Worker/);
    assert.equal(report.errors.clientNoCanvas.code, 'UNSUPPORTED');
    assert.equal(report.errors.playerNoCanvas.code, 'UNSUPPORTED');
    for (const e of Object.values(report.errors)) assert.equal(e.name, 'PamLaunchError');
  });

  it('timers fire in a Worker: GATEWAY_TIMEOUT after answerMs, through the given class', opt, () => {
    assert.deepEqual(report.final, { phase: 'closed', code: 'GATEWAY_TIMEOUT' });
    assert.deepEqual(report.statuses.map((s) => s.phase), ['planning', 'offerSent', 'closed']);
    const offer = report.statuses.find((s) => s.phase === 'offerSent').t;
    const closed = report.statuses.find((s) => s.phase === 'closed').t;
    assert.ok(closed - offer >= 290 && closed - offer < 3000, `closed ${closed - offer} ms after the offer`);
    for (const c of ['new', 'createDataChannel', 'createOffer', 'setLocalDescription', 'dc.close', 'close']) assert.ok(report.calls.includes(c), c);
  });

  it('a headless client answers the sync of a completed frame', opt, () => {
    assert.equal(report.headless.sent, '4.sync,4.1234;');
    assert.deepEqual([report.headless.width, report.headless.height, report.headless.frames], [640, 480, 1]);
  });
});
