// <pam-launch-session>'s automatic reconnect, its policy alone: the element
// driven by a scripted `api` (tests/e2e/pages/element-reconnect.*; no
// network, no wasm) in headless Chromium, so the sequence of closes can be
// chosen exactly. The real dropped channel and reconnect against Keeper's
// library are in element.test.mjs.
//   1. a live session lost (transient): a countdown of 5 s, then launch();
//      that attempt failing before it is live (transient) schedules the next
//      after 10 s, "attempt 2 of 3"; Cancel stops it and nothing launches;
//   2. a first launch that never got live, closed for a transient reason:
//      no automatic reconnect (a broken setup is not retried in a loop).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromiumSkipReason, launchChromium, watchPage } from './lib/chromium.mjs';
import { startTestServer } from './lib/server.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const skip = chromiumSkipReason();
const opts = { skip: skip ?? false, timeout: 60_000 };

let server;
let browser;
before(async () => {
  if (skip) return;
  server = await startTestServer({ mounts: { '/t/': join(here, 'pages') } });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

async function open() {
  const page = await browser.newPage();
  const { problems } = await watchPage(page);
  await page.goto(`${server.url}t/element-reconnect.html`);
  await page.waitForFunction(() => window.pageReady === true);
  // Every pam-close detail, in order.
  await page.evaluate(() => {
    window.closes = [];
    document.getElementById('s').addEventListener('pam-close', (e) => window.closes.push(e.detail));
  });
  return { page, problems };
}

const countdown = (page) => page.locator('pam-launch-session').locator('#countdown');

test('a lost live session reconnects after 5 s; that attempt failing before it is live is followed by the next after 10 s; Cancel stops it', opts, async () => {
  const { page, problems } = await open();
  await page.evaluate(() => {
    const lost = { phase: 'closed', message: 'the connection to the target was lost',
      error: { code: 'GATEWAY_CLOSED', message: 'the connection to the target was lost' },
      closeReason: { code: 9, name: 'connectionLost', transient: true, source: 'gateway' } };
    const failed = { phase: 'closed', message: 'ICE failed',
      error: { code: 'CONNECTION_LOST', message: 'ICE failed' },
      closeReason: { code: 10, name: 'connectionFailed', transient: true, source: 'client' } };
    window.scripts = [
      // 1: live, then lost.
      (o, finish) => {
        o.onstatus({ phase: 'connected', message: 'connected' });
        o.onstatus({ phase: 'firstFrame', message: 'first frame drawn' });
        setTimeout(() => { window.lostAt = performance.now(); finish(lost); }, 200);
      },
      // 2: fails before it is live.
      (o, finish) => finish(failed),
    ];
    document.getElementById('s').launch();
  });
  await page.waitForFunction(() => window.closes.length === 1);
  const first = await page.evaluate(() => window.closes[0]);
  assert.equal(first.reason, 'connectionLost');
  assert.equal(first.transient, true);
  assert.equal(first.reconnectInMs, 5000);
  assert.match(await countdown(page).textContent(), /^Reconnecting in [45] s \(attempt 1 of 3\)$/);

  await page.waitForFunction(() => window.closes.length === 2, null, { timeout: 15_000 });
  const [launches, lostAt, second] = await page.evaluate(() => [window.launches, window.lostAt, window.closes[1]]);
  assert.equal(launches.length, 2, 'one automatic launch() after the loss');
  const waited = launches[1] - lostAt;
  assert.ok(waited >= 4900 && waited < 9000, `the attempt came ${Math.round(waited)} ms after the loss, not after the 5 s countdown`);
  assert.equal(second.reason, 'connectionFailed');
  assert.equal(second.reconnectInMs, 10000, 'the failed attempt schedules the next, after 10 s');
  assert.match(await countdown(page).textContent(), /^Reconnecting in (10|9) s \(attempt 2 of 3\)$/);

  await page.locator('pam-launch-session').locator('#cancel-reconnect').click();
  assert.equal(await countdown(page).isHidden(), true);
  await page.waitForTimeout(1500);
  assert.equal(await page.evaluate(() => window.launches.length), 2, 'Cancel: no further launch()');
  assert.deepEqual(problems, []);
  await page.close();
});

test('a first launch that never got live, closed for a transient reason, is not retried by itself', opts, async () => {
  const { page, problems } = await open();
  await page.evaluate(() => {
    window.scripts = [(o, finish) => finish({ phase: 'closed', message: 'timed out waiting for the gateway',
      error: { code: 'GATEWAY_TIMEOUT', message: 'timed out waiting for the gateway' },
      closeReason: { code: 2, name: 'timeout', transient: true, source: 'client' } })];
    document.getElementById('s').launch();
  });
  await page.waitForFunction(() => window.closes.length === 1);
  const close = await page.evaluate(() => window.closes[0]);
  assert.equal(close.transient, true);
  assert.equal(close.reconnectInMs, undefined);
  assert.equal(await countdown(page).isHidden(), true);
  // Reconnect is there for the person to choose.
  assert.equal(await page.locator('pam-launch-session').locator('#reconnect').isVisible(), true);
  assert.equal(await page.evaluate(() => window.launches.length), 1);
  assert.deepEqual(problems, []);
  await page.close();
});
