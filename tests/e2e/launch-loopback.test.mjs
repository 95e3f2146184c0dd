// The product's launch() (wasm) in headless Chromium against a gateway
// written in the same page (tests/e2e/pages/launch-loopback.js): a second
// RTCPeerConnection that answers, and a signaling object that decrypts the
// offer with WebCrypto. Run with `node --test tests/e2e/launch-loopback.test.mjs`.
//
// Both peers are in one page, but ICE still needs a non-loopback interface and
// test traffic must not leave the machine: Chromium runs inside a private
// network namespace with a veth pair (tests/e2e/lib/netns.mjs). The page is
// served to the browser through playwright's request interception (no server
// in the namespace), under the launcher's Content-Security-Policy.
//
// What is checked: a JIT ephemeral launch (tests/fixtures/scenario1.json)
// in both ICE modes: the inputs and the decrypted offer data, statuses in
// order, frames drawn (a pixel count), a typed key reaching the gateway as a
// guacamole `key` instruction on connection 1, disconnect sending
// CloseConnection(1, Normal) and the peer connection ending closed once the
// gateway has closed the channel (at most closeDrainMs when it never does); a refused
// launch (GATEWAY_REFUSED with the reason), a silent gateway (GATEWAY_TIMEOUT),
// a data channel dropped mid-session (CONNECTION_LOST, no hang), guacd's error
// (GATEWAY_CLOSED), a malformed instruction on connection 1
// (MALFORMED_INSTRUCTION, CloseConnection(1, ProtocolError)); the resource
// limits of a launch (an open frame past 65,536 operations, an outbound queue
// past 32 MiB on a channel that never drains: RESOURCE_LIMIT with the
// sentence, CloseConnection(1, ProtocolError); a paste past 16 MiB refused);
// no first frame for a session that fails after an empty sync; automatic ICE
// restarts when the path drops (recovered, and given up: CONNECTION_LOST);
// the RTCPeerConnection option (a page wrapper class, counted, the global
// untouched) and the headless renderer (first frame, instructions and frames
// reported, keys sent); the launch timings (median of 5 per ICE mode, printed);
// and the console output grepped for the seed, derived keys, passwords, the
// TURN credential and both ice-pwd values.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { createNetns, netnsUnavailable } from './lib/netns.mjs';
import { CHROMIUM, CHROMIUM_ARGS, WEBRTC_ARGS } from './lib/chromium.mjs';
import { CSP } from '../../tools/serve.mjs';
import { loadStream, resolveFixture } from '../replay/server.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
// tests/e2e/lib/chromium.mjs's flags, plus real host addresses instead of mDNS names.
const ARGS = [...CHROMIUM_ARGS, ...WEBRTC_ARGS];
const ORIGIN = 'http://127.0.0.1:9';
const FIXTURE = 'ssh-live.guac';
const RUNS = Number(process.env.PAM_LAUNCH_RUNS || 5);

const skip = (fs.existsSync(CHROMIUM) ? null : `no Chromium at ${CHROMIUM}`) ||
  (fs.existsSync(path.join(ROOT, 'pkg/web/pam_launch_wasm.js')) ? null : 'pkg/web is not built (npm run build)') ||
  (fs.existsSync(resolveFixture(FIXTURE)) ? null : `fixture ${resolveFixture(FIXTURE)} is missing`) ||
  netnsUnavailable();

const scenario = JSON.parse(fs.readFileSync(path.join(ROOT, 'tests/fixtures/scenario1.json'), 'utf8'));
const SEED = crypto.randomBytes(32).toString('base64');
const TURN_CREDENTIAL = `turn-${crypto.randomBytes(9).toString('base64url')}`;
const RECORD_PASSWORD = scenario.record.fields.find((f) => f.type === 'password').value[0];
const record = structuredClone(scenario.record);
record.fields.push({ type: 'trafficEncryptionSeed', value: [SEED] });
const request = { recordUid: scenario.recordUid, record, dag: scenario.dag, jit: true };

// The start of the live SSH stream (guacd's args/ready handshake is the gateway's part).
function streamChunks(maxBytes = 80_000) {
  const s = loadStream(resolveFixture(FIXTURE), { hold: true });
  const out = [];
  let n = 0;
  for (const c of s.chunks) {
    if (n >= maxBytes) break;
    out.push(c.text.toString('utf8'));
    n += c.text.length;
  }
  return out;
}

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.css': 'text/css' };
const MOUNTS = [['/pages/', path.join(HERE, 'pages')], ['/pkg/web/', path.join(ROOT, 'pkg', 'web')]];

function fileFor(url) {
  const p = decodeURIComponent(new URL(url).pathname);
  for (const [prefix, dir] of MOUNTS) {
    if (!p.startsWith(prefix)) continue;
    const full = path.resolve(dir, `.${p.slice(prefix.length - 1)}`);
    return full.startsWith(path.resolve(dir) + path.sep) ? full : null;
  }
  return null;
}

const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : null;
};

const hkdfKey = (nonceB64) => Buffer.from(crypto.hkdfSync('sha256', Buffer.from(SEED, 'base64'),
  Buffer.from(nonceB64, 'base64'), Buffer.from('KEEPER_TUNNEL_ENCRYPT_AES_GCM_128'), 32));

describe('launch() in headless Chromium against an in-page gateway (network namespace)', () => {
  let ns;
  let browser;
  let page;
  const consoleLines = [];
  const pageProblems = [];
  const secrets = new Set([SEED, Buffer.from(SEED, 'base64').toString('hex'), TURN_CREDENTIAL, RECORD_PASSWORD]);
  const timings = { trickle: [], 'non-trickle': [] };
  const chunks = skip ? [] : streamChunks();

  before(async () => {
    if (skip) return;
    ns = await createNetns({ maxSeconds: 280 });
    const { chromium } = createRequire(import.meta.url)('playwright-core');
    browser = await chromium.launch({ executablePath: ns.wrapper(CHROMIUM), args: ARGS, timeout: 30000 });
    page = await browser.newPage();
    page.on('console', (m) => consoleLines.push(m.text()));
    page.on('pageerror', (e) => { consoleLines.push(String(e)); pageProblems.push(String(e)); });
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
    await page.goto(`${ORIGIN}/pages/launch-loopback.html`);
    await page.waitForFunction(() => window.T, null, { timeout: 15000 });
  });
  after(async () => {
    if (browser) await browser.close().catch(() => {});
    if (ns) ns.close();
  });

  const opt = (timeout = 60000) => ({ skip: skip || false, timeout });
  const start = (cfg) => page.evaluate((c) => window.T.start(c), { request, seed: SEED, chunks, ...cfg });
  const report = async () => {
    const r = await page.evaluate(() => window.T.report());
    for (const p of r.icePwds) secrets.add(p);
    if (r.gw.key) {
      secrets.add(r.gw.key);
      secrets.add(Buffer.from(r.gw.key, 'base64').toString('hex'));
    }
    return r;
  };
  const waitPhase = (phase, timeout = 10000) =>
    page.waitForFunction((p) => window.T.phases().includes(p), phase, { timeout });
  const waitClosed = (timeout = 10000) =>
    page.waitForFunction(() => window.T.cur.closedStatus !== null, null, { timeout });

  async function fullSession(trickle, { checks = true } = {}) {
    await start({ trickle, mode: 'ok', planForm: trickle ? 'plan' : 'request' });
    await waitPhase('firstFrame');
    await page.waitForFunction(() => window.T.cur.frames >= 3, null, { timeout: 10000 });
    let r = await report();
    if (process.env.PAM_LAUNCH_DEBUG) console.log(JSON.stringify(r, null, 1));
    timings[trickle ? 'trickle' : 'non-trickle'].push(r.timings);
    if (!checks) {
      await page.evaluate(() => window.T.cur.session.disconnect());
      await waitClosed();
      return r;
    }
    // The wire: the GatewayAction, the plan's inputs, the offer data decrypted with WebCrypto.
    assert.equal(r.error, null);
    assert.deepEqual(r.gw.actionKeys, ['action', 'conversationId', 'gateway_destination', 'inputs', 'is_scheduled', 'messageId']);
    assert.equal(r.gw.action.action, 'webrtc-session');
    assert.equal(r.gw.action.messageId, r.gw.action.conversationId);
    assert.equal(r.gw.action.conversationId, r.conversationId);
    assert.match(r.conversationId, /^[A-Za-z0-9_-]{22}$/);
    assert.equal(r.gw.action.is_scheduled, false);
    assert.equal(r.gw.action.gateway_destination, null);
    assert.deepEqual(r.gw.inputKeys, ['recordUid', 'kind', 'base64Nonce', 'conversationType', 'data', 'trickleICE', 'credentialType', 'jitSettings']);
    assert.equal(r.gw.action.inputs.recordUid, scenario.recordUid);
    assert.equal(r.gw.action.inputs.credentialType, 'ephemeral');
    assert.deepEqual(r.gw.action.inputs.jitSettings, { create_ephemeral: true, ephemeral_account_type: 'linux' });
    assert.equal(r.gw.action.inputs.trickleICE, trickle);
    assert.equal(Buffer.from(r.gw.action.inputs.base64Nonce, 'base64').length, 16);
    assert.equal(r.gw.key, hkdfKey(r.gw.action.inputs.base64Nonce).toString('base64'), 'HKDF: Node and WebCrypto agree');
    assert.deepEqual(r.gw.calls[0], { kind: 'start', timeoutMs: 120000, streamResponse: trickle, optionKeys: ['timeoutMs', 'streamResponse'] });
    assert.deepEqual(r.gw.subscribeHint, { conversationId: r.conversationId });
    const o = r.gw.offer;
    assert.deepEqual(Object.keys(o), ['offer', 'audio', 'video', 'size', 'image', 'host', 'guacd_params', 'terminalSettings', 'clipboard']);
    assert.deepEqual(o.size, [1024, 768, 96], 'canvas CSS box x devicePixelRatio');
    assert.deepEqual(o.host, { hostName: '10.0.0.5', port: 22 });
    assert.deepEqual(o.guacd_params, {}, 'no credentials in the offer: the gateway injects the ephemeral account');
    assert.deepEqual(o.clipboard, { disableCopy: false, disablePaste: false });
    assert.ok(Number(r.gw.offerMaxMessageSize) > 0, 'the offer SDP has a=max-message-size');
    if (trickle) {
      assert.equal(r.gw.offerCandidates, 0, 'trickle: the offer goes before gathering');
      // At least one real candidate; the end marker ("") only when gathering
      // ends before ICE connects (candidates stop once connected, as Commander's).
      assert.ok(r.gw.clientCandidates.some((c) => c.startsWith('candidate:')), `client candidates by icecandidate: ${JSON.stringify(r.gw.clientCandidates)}`);
      assert.ok(r.gw.clientCandidates.every((c) => c === '' || c.startsWith('candidate:')));
      assert.ok(r.gw.calls.slice(1).every((c) => c.kind === 'icecandidate' && c.timeoutMs === 30000 && c.streamResponse === true));
    } else {
      assert.ok(r.gw.offerCandidates >= 1, 'non-trickle: the offer carries the gathered candidates');
      assert.equal(r.gw.calls.length, 1, 'non-trickle: no icecandidate messages');
      assert.ok(r.timings.gathered > 0);
    }
    // The data channel and the framing.
    assert.equal(r.gw.channelLabel, Buffer.from(r.conversationId, 'base64url').toString('base64'), 'label: standard base64 of the id');
    assert.equal(r.gw.channelOrdered, true);
    assert.deepEqual(r.gw.opens, [{ conn: 1, len: 4 }], 'OpenConnection(1), no ConnectAs');
    assert.deepEqual(r.gw.pongs, ['PING'], 'the Ping is answered with its data');
    assert.ok(Math.abs(r.gw.frameTimestamps[0] - r.gw.now) < 60000, 'frame timestamps are Unix ms');
    assert.deepEqual(r.gw.errors, []);
    // Statuses in order, the first frame drawn.
    assert.deepEqual(r.statuses.map((s) => s.phase),
      ['planning', 'offerSent', 'waitingForGateway', 'ice', 'channelOpen', 'openingConnection', 'connectionOpened', 'connected', 'firstFrame']);
    assert.ok(r.statuses.every((s) => s.code === null && s.message.length > 0));
    for (const k of ['plan', 'offerSent', 'answer', 'channelOpen', 'connectionOpened', 'firstByte', 'firstFrame']) {
      assert.ok(r.timings[k] >= 0, `timing ${k}: ${r.timings[k]}`);
    }
    assert.ok(r.timings.plan <= r.timings.offerSent && r.timings.offerSent <= r.timings.answer &&
      r.timings.answer <= r.timings.channelOpen && r.timings.channelOpen <= r.timings.connectionOpened &&
      r.timings.connectionOpened <= r.timings.firstByte && r.timings.firstByte <= r.timings.firstFrame, JSON.stringify(r.timings));
    assert.equal(r.pc.iceServers, 0);
    const px = await page.evaluate(() => window.T.litPixels());
    assert.ok(px.width >= 1024 && px.height >= 768, `canvas ${px.width}x${px.height}`);
    assert.ok(px.lit > 500, `the terminal is drawn: ${px.lit} lit pixels`);
    // A typed key reaches the gateway on connection 1.
    await page.evaluate(() => window.T.focusAndType());
    await page.keyboard.press('q');
    await page.waitForFunction(() => window.T.keys().length >= 2, null, { timeout: 5000 });
    assert.deepEqual(await page.evaluate(() => window.T.keys()), [[113, 1], [113, 0]]);
    // Disconnect: CloseConnection(1, Normal), the peer closed, the status closed without error.
    await page.evaluate(() => window.T.cur.session.disconnect());
    await waitClosed();
    r = await report();
    assert.deepEqual(r.gw.closes.map((c) => [c.conn, c.reason]), [[1, 0]]);
    assert.deepEqual(r.closedStatus, { phase: 'closed', message: 'disconnected', code: null, pcState: 'closed', signalingState: 'closed' });
    assert.deepEqual(r.closeReason, { code: 0, name: 'normal', transient: false, source: 'client' });
    assert.deepEqual(r.sessionStatusReason, r.closeReason, 'session.status carries it too');
    assert.equal(r.guacStatus, 'absent');
    assert.equal(r.status.phase, 'closed');
    assert.equal(r.gw.unsubscribed, true, 'the signaling subscription ends with the session');
    assert.ok(r.timings.closed - r.timings.firstFrame < 5000);
    return r;
  }

  it('trickle ICE: inputs, offer data, statuses in order, frames drawn, a key reaches the gateway, clean disconnect', opt(), async () => {
    await fullSession(true);
  });

  it('non-trickle ICE (plan given as the request): the same, with the answer in the send response', opt(), async () => {
    await fullSession(false);
  });

  it('RTCPeerConnection option: a page wrapper class is the one the launch uses, with plain dicts; the global is not used', opt(), async () => {
    const globalBefore = await page.evaluate(() => window.T.globalCreated());
    const callsBefore = (await page.evaluate(() => window.T.optionCalls())).length;
    await start({ trickle: true, mode: 'ok', planForm: 'plan', rtcOption: true });
    await waitPhase('firstFrame');
    await page.waitForFunction(() => window.T.cur.frames >= 3, null, { timeout: 10000 });
    await page.evaluate(() => window.T.cur.session.disconnect());
    await waitClosed();
    const r = await report();
    const calls = (await page.evaluate(() => window.T.optionCalls())).slice(callsBefore);
    assert.equal(await page.evaluate(() => window.T.globalCreated()), globalBefore, 'globalThis.RTCPeerConnection was not used');
    assert.equal(calls.filter((c) => c === 'constructor').length, 1);
    // (The in-page gateway puts its candidates in its answer: no addIceCandidate here.)
    for (const c of ['createDataChannel', 'createOffer', 'setLocalDescription:plain', 'setRemoteDescription:plain', 'close']) {
      assert.ok(calls.includes(c), `${c} in ${calls.join(',')}`);
    }
    assert.ok(!calls.some((c) => c.endsWith(':class')), `only plain dicts: ${calls.join(',')}`);
    assert.deepEqual(r.gw.closes.map((c) => [c.conn, c.reason]), [[1, 0]]);
    assert.deepEqual(r.closedStatus, { phase: 'closed', message: 'disconnected', code: null, pcState: 'closed', signalingState: 'closed' });
  });

  it('renderer "headless": first frame, instructions and frames reported, keys sent, nothing drawn, clean disconnect', opt(), async () => {
    await start({ trickle: true, mode: 'ok', planForm: 'plan', renderer: 'headless' });
    await waitPhase('firstFrame');
    await page.waitForFunction(() => window.T.cur.frames >= 3, null, { timeout: 10000 });
    const got = await page.evaluate(() => ({
      client: window.T.cur.session.client.renderer,
      canvas: window.T.cur.session.client.canvas,
      instructions: window.T.cur.instructions,
      frames: window.T.cur.headlessFrames.slice(0, 3),
    }));
    assert.equal(got.client, 'headless');
    assert.equal(got.canvas, null);
    assert.ok(got.instructions.sync >= 3 && got.instructions.img > 0 && got.instructions.size > 0, JSON.stringify(got.instructions));
    assert.deepEqual(got.frames.map((f) => f.frame), [1, 2, 3]);
    for (const f of got.frames) {
      assert.deepEqual(Object.keys(f), ['frame', 'ops', 'width', 'height', 'at', 'timestamp', 'painted']);
      assert.ok(Number.isInteger(f.timestamp) && f.at > 0);
    }
    assert.ok(got.frames.some((f) => f.painted && f.width > 0 && f.height > 0));
    await page.evaluate(() => { window.T.cur.session.sendKeyEvent(113, true); window.T.cur.session.sendKeyEvent(113, false); });
    await page.waitForFunction(() => window.T.keys().length >= 2, null, { timeout: 5000 });
    assert.deepEqual(await page.evaluate(() => window.T.keys()), [[113, 1], [113, 0]]);
    await page.evaluate(() => window.T.cur.session.disconnect());
    await waitClosed();
    const r = await report();
    assert.deepEqual(r.gw.closes.map((c) => [c.conn, c.reason]), [[1, 0]]);
    assert.equal(r.closedStatus.code, null);
    assert.ok(r.timings.firstFrame > 0);
  });

  it(`timings: launch() to first frame, median of ${RUNS} per ICE mode`, opt(120000), async () => {
    for (const trickle of [true, false]) {
      while (timings[trickle ? 'trickle' : 'non-trickle'].length < RUNS) await fullSession(trickle, { checks: false });
    }
    const rows = {};
    for (const [mode, list] of Object.entries(timings)) {
      const row = {};
      for (const k of ['plan', 'gathered', 'offerSent', 'answer', 'channelOpen', 'connectionOpened', 'firstByte', 'firstFrame']) {
        row[k] = median(list.map((t) => t[k]));
      }
      rows[mode] = row;
    }
    console.log(`# launch() timings in ms from launch(), median of ${RUNS} (in-page gateway, network namespace):`);
    console.table(rows);
    assert.ok(rows.trickle.firstFrame < 1000, `trickle first frame ${rows.trickle.firstFrame} ms`);
    assert.ok(rows['non-trickle'].firstFrame < 2000, `non-trickle first frame ${rows['non-trickle'].firstFrame} ms`);
  });

  for (const from of ['client', 'gateway']) {
    it(`ICE restart from the ${from}: new ICE credentials, the session goes on`, opt(), async () => {
      await start({ trickle: true, mode: 'ok', planForm: 'plan' });
      await waitPhase('firstFrame');
      const r = await page.evaluate((f) => window.T.restart(f), from);
      assert.notEqual(r.after, r.before, `the ICE ufrag changed: ${JSON.stringify(r)}`);
      assert.equal(r.restarts.length, 1);
      assert.equal(r.restarts[0].from, from);
      assert.equal(r.restarts[0].type, from === 'client' ? 'offer' : 'answer');
      assert.equal(r.restarts[0].iceRestart, true);
      assert.ok(r.restarts[0].candidates >= 1, 'the restart SDP carries its candidates');
      await page.waitForFunction(() => ['connected', 'completed'].includes(window.T.cur.pc.iceConnectionState), null, { timeout: 5000 });
      await page.evaluate(() => window.T.focusAndType());
      await page.keyboard.press('z');
      await page.waitForFunction(() => window.T.keys().length >= 2, null, { timeout: 5000 });
      assert.deepEqual(await page.evaluate(() => window.T.keys()), [[122, 1], [122, 0]]);
      await report();
      await page.evaluate(() => window.T.cur.session.disconnect());
      await waitClosed();
      const end = await report();
      assert.equal(end.closedStatus.code, null);
      assert.deepEqual(end.gw.errors, []);
    });
  }

  // The path is cut by taking both veth addresses away inside the test's
  // namespace (both peers' candidates are on them; a link set down keeps its
  // local routes), so the browser's own peer connection loses its path as it
  // would on a real network drop; they are put back (and the default route).
  const links = (state) => {
    const cmds = ns.addresses.map((a, i) => ['addr', state === 'down' ? 'del' : 'add', `${a}/24`, 'dev', `v${i}`]);
    if (state === 'up') cmds.push(['route', 'replace', 'default', 'dev', 'v0']);
    for (const args of cmds) {
      const r = ns.run('ip', args);
      assert.equal(r.status, 0, `ip ${args.join(' ')}: ${r.stderr}`);
    }
  };
  const waitMessage = (re, timeout) => page.waitForFunction(
    (src) => window.T.cur.statuses.some((s) => new RegExp(src).test(s.message)), re.source, { timeout });
  const RESTARTS = { iceRestartMs: [300, 1500, 1500, 1500], iceRestartGiveUpMs: 1500, gatheringMs: 1000 };

  it('automatic ICE restart: the path drops, "reconnecting" with the attempt, the session goes on once it is back', opt(), async () => {
    await start({ trickle: true, mode: 'ok', planForm: 'plan', timeouts: RESTARTS });
    await waitPhase('firstFrame');
    try {
      links('down');
      // Attempt 1 goes while the path is still down (its offer has no candidates).
      await waitMessage(/reconnecting to the gateway: ICE restart, attempt 2 of 4/, 15000);
    } finally {
      links('up');
    }
    await waitMessage(/^reconnected to the gateway \(ICE restart, attempt \d of 4\)$/, 15000);
    // The attempt in flight when the path came back completes too.
    await page.waitForFunction(() => window.T.cur.gw.restarts.length >= 2 && window.T.cur.pc.signalingState === 'stable', null, { timeout: 5000 });
    const r = await report();
    const msgs = r.statuses.map((s) => s.message);
    assert.ok(msgs.some((m) => /interrupted; reconnecting in 1 s/.test(m)), JSON.stringify(msgs));
    assert.ok(r.gw.restarts.length >= 1 && r.gw.restarts.every((x) => x.from === 'client' && x.iceRestart === true), JSON.stringify(r.gw.restarts));
    assert.ok(r.statuses.slice(9).every((s) => s.phase === 'connected' && s.code === null), JSON.stringify(r.statuses.slice(9)));
    await page.waitForFunction(() => window.T.cur.pc.connectionState === 'connected', null, { timeout: 5000 });
    await page.evaluate(() => window.T.focusAndType());
    await page.keyboard.press('k');
    await page.waitForFunction(() => window.T.keys().length >= 2, null, { timeout: 5000 });
    assert.deepEqual(await page.evaluate(() => window.T.keys()), [[107, 1], [107, 0]]);
    await page.evaluate(() => window.T.cur.session.disconnect());
    await waitClosed();
    const end = await report();
    assert.equal(end.closedStatus.code, null);
    assert.deepEqual(end.gw.closes.map((c) => [c.conn, c.reason]), [[1, 0]]);
  });

  it('automatic ICE restart: a path that never comes back ends with CONNECTION_LOST after the last attempt', opt(), async () => {
    await start({ trickle: true, mode: 'ok', planForm: 'plan', timeouts: RESTARTS });
    await waitPhase('firstFrame');
    try {
      links('down');
      await waitClosed(20000);
    } finally {
      links('up');
    }
    const r = await report();
    const attempts = r.statuses.map((s) => s.message).filter((m) => /^reconnecting to the gateway: ICE restart, attempt \d of 4$/.test(m));
    assert.deepEqual(attempts.map((m) => Number(m.match(/attempt (\d)/)[1])), [1, 2, 3, 4]);
    assert.equal(r.closedStatus.code, 'CONNECTION_LOST');
    assert.match(r.closedStatus.message, /4 ICE restarts did not bring it back/);
    assert.deepEqual(r.closeReason, { code: 9, name: 'connectionLost', transient: true, source: 'client' });
    assert.equal(r.closedStatus.pcState, 'closed');
  });

  it('backpressure: a 15 MiB paste (20 MiB of blobs, past the data channel\'s own buffer) arrives whole and in order', opt(90000), async () => {
    await start({ trickle: true, mode: 'ok', planForm: 'plan' });
    await waitPhase('firstFrame');
    const r = await page.evaluate(() => window.T.bigPaste(15));
    console.log(`# 15 MiB paste: ${r.bytes} bytes at the gateway in ${r.ms} ms`);
    assert.equal(r.sent, true);
    assert.equal(r.bytes, r.textBytes, JSON.stringify(r));
    assert.equal(r.same, true, 'the bytes arrive in order');
    assert.deepEqual(r.errors, []);
    await page.evaluate(() => window.T.cur.session.disconnect());
    await waitClosed();
    const end = await report();
    assert.equal(end.closedStatus.code, null);
    assert.deepEqual(end.gw.closes.map((c) => [c.conn, c.reason]), [[1, 0]]);
  });

  it('a channel that never drains: the outbound queue stops at 32 MiB with RESOURCE_LIMIT and CloseConnection(1, ProtocolError)', opt(90000), async () => {
    await start({ trickle: true, mode: 'ok', planForm: 'plan' });
    await waitPhase('firstFrame');
    await page.evaluate(() => window.T.stallChannel());
    // 12 MiB pastes are 16 MiB of blobs each: the third crosses 32 MiB.
    const pasted = await page.evaluate(() => window.T.pasteMany(3, 12));
    assert.deepEqual(pasted, [true, true, true], 'each paste is under the paste limit');
    await waitClosed(10000);
    const r = await report();
    assert.equal(r.closedStatus.code, 'RESOURCE_LIMIT');
    assert.equal(r.closedStatus.message,
      'the data waiting to be sent to the gateway exceeds 32 MiB (the outbound queue limit) while the data channel is not draining: the session was closed to protect the page');
    assert.deepEqual(r.gw.closes.map((c) => [c.conn, c.reason, c.message]), [[1, 19, 'client protocol error: RESOURCE_LIMIT']],
      'the CloseConnection goes out past the dropped queue');
    assert.equal(r.closedStatus.pcState, 'closed');
    assert.deepEqual(r.gw.errors, []);
  });

  it('a paste past 16 MiB throws RESOURCE_LIMIT and sends nothing; the session goes on', opt(), async () => {
    await start({ trickle: true, mode: 'ok', planForm: 'plan' });
    await waitPhase('firstFrame');
    const before = (await report()).gw.receivedChars;
    const r = await page.evaluate(() => {
      try {
        return window.T.cur.session.setClipboard('p'.repeat(16 * 1024 * 1024 + 1));
      } catch (e) {
        return { code: e.code, message: e.message };
      }
    });
    assert.deepEqual(r, { code: 'RESOURCE_LIMIT', message: 'the paste is larger than 16 MiB (the paste limit): nothing was sent' });
    await new Promise((res) => setTimeout(res, 200));
    const after = await report();
    assert.ok(after.gw.receivedChars - before < 1000, 'nothing of it reached the gateway');
    assert.equal(after.status.phase, 'firstFrame');
    await page.evaluate(() => window.T.cur.session.disconnect());
    await waitClosed();
    assert.equal((await report()).closedStatus.code, null);
  });

  it('user-supplied credentials: ConnectAs in OpenConnection, opened by the gateway\'s key (WebCrypto ECDH)', opt(), async () => {
    const password = `ca-${crypto.randomBytes(9).toString('base64url')}`;
    secrets.add(password);
    const supplied = structuredClone(record);
    supplied.fields.find((f) => f.type === 'pamSettings').value[0].connection.allowSupplyUser = true;
    const req = { recordUid: scenario.recordUid, record: supplied };
    await page.evaluate((c) => window.T.start(c), {
      request: req, seed: SEED, chunks, trickle: true, mode: 'ok', planForm: 'plan',
      connectAs: { username: 'alice', password }, publicKeyAsText: true, readyDelayMs: 80,
    });
    await waitPhase('firstFrame');
    await page.waitForFunction(() => window.T.cur.gw.connectAs !== undefined, null, { timeout: 5000 });
    const r = await report();
    assert.equal(r.gw.action.inputs.credentialType, 'userSupplied');
    assert.equal(r.gw.action.inputs.allowSupplyUser, true);
    assert.equal(r.gw.opens.length, 1);
    assert.ok(r.gw.opens[0].len > 4 + 4 + 65 + 12 + 16, 'OpenConnection carries the ConnectAs block');
    assert.deepEqual(r.gw.connectAs.keys, ['username', 'password']);
    assert.equal(r.gw.connectAs.username, 'alice');
    assert.equal(r.gw.connectAs.password, password);
    assert.ok(r.gw.connectAs.plainLen >= 92, 'padded to 92 bytes');
    assert.ok(r.timings.offerSent >= 80, `the offer waits for unsubscribe.ready: ${r.timings.offerSent} ms`);
    await page.evaluate(() => window.T.cur.session.disconnect());
    await waitClosed();
    // ConnectAs on a plan that is not userSupplied is refused at once.
    const thrown = await page.evaluate((c) => window.T.start(c).then(() => window.T.cur.error), {
      request, seed: SEED, chunks, trickle: true, mode: 'ok', planForm: 'plan', connectAs: { username: 'x', password: 'y' },
    });
    assert.equal(thrown.code, 'INVALID_INPUT');
    assert.match(thrown.message, /connectAs is only for launches whose plan has credentialType "userSupplied"/);
  });

  it('a refused launch ends with GATEWAY_REFUSED and the gateway\'s reason (TURN credentials given, never shown)', opt(), async () => {
    const reason = 'Resource is not available: the gateway refused (test)';
    await start({
      trickle: true, mode: 'refuse', reason, planForm: 'plan',
      iceServers: [{ urls: 'turn:192.0.2.1:3478?transport=udp', username: 'turn-user', credential: TURN_CREDENTIAL }],
    });
    await waitClosed();
    const r = await report();
    assert.equal(r.pc.iceServers, 1, 'iceServers reach RTCPeerConnection as given');
    assert.deepEqual(r.statuses.map((s) => s.phase), ['planning', 'offerSent', 'closed']);
    assert.equal(r.closedStatus.code, 'GATEWAY_REFUSED');
    assert.equal(r.closedStatus.message, `the gateway refused the launch: ${reason}`);
    assert.deepEqual(r.closeReason, { code: 4, name: 'serverRefuse', transient: false, source: 'client' });
    assert.equal(r.closedStatus.pcState, 'closed');
  });

  it('a silent gateway ends with GATEWAY_TIMEOUT after the answer timeout', opt(), async () => {
    const t0 = Date.now();
    await start({ trickle: true, mode: 'silent', planForm: 'plan', timeouts: { answerMs: 1500 } });
    await waitClosed(8000);
    const r = await report();
    const took = Date.now() - t0;
    assert.ok(took >= 1400 && took < 5000, `closed after ${took} ms`);
    assert.equal(r.closedStatus.code, 'GATEWAY_TIMEOUT');
    assert.match(r.closedStatus.message, /did not answer within 2 s/);
    assert.deepEqual(r.closeReason, { code: 2, name: 'timeout', transient: true, source: 'client' });
    assert.equal(r.closedStatus.pcState, 'closed');
  });

  it('a data channel closed by the gateway mid-session ends with CONNECTION_LOST, without a hang', opt(), async () => {
    await start({ trickle: true, mode: 'drop', dropAfterMs: 300, planForm: 'plan' });
    await waitPhase('firstFrame');
    await waitClosed(5000);
    const r = await report();
    assert.equal(r.closedStatus.code, 'CONNECTION_LOST');
    assert.match(r.closedStatus.message, /data channel to the gateway closed before the session ended/);
    assert.deepEqual(r.closeReason, { code: 11, name: 'tunnelClosed', transient: true, source: 'client' });
    assert.equal(r.closedStatus.pcState, 'closed');
    assert.ok(r.timings.closed - r.timings.firstFrame < 3000, JSON.stringify(r.timings));
    assert.deepEqual(r.gw.closes, [], 'nothing is sent on a closed channel');
  });

  it('guacd\'s error (CloseConnection GuacdError) ends with GATEWAY_CLOSED and its message', opt(), async () => {
    await start({ trickle: false, mode: 'guacdError', planForm: 'plan' });
    await waitClosed(8000);
    const r = await report();
    assert.equal(r.closedStatus.code, 'GATEWAY_CLOSED');
    assert.match(r.closedStatus.message, /Simulated failure/);
    assert.deepEqual(r.closeReason, { code: 14, name: 'guacdError', transient: false, source: 'gateway' });
    // guacd's own error instruction, which came first on connection 1.
    assert.equal(r.guacStatus.code, 519);
    assert.match(r.guacStatus.message, /Simulated failure for a test/);
    assert.equal(r.closedStatus.pcState, 'closed');
    // The page may keep session.client after freeing the session: its output goes nowhere, no throw.
    assert.equal(await page.evaluate(() => window.T.useAfterFree()), null);
    // disconnect() at once: the launch is cancelled before anything reaches the router.
    assert.deepEqual(await page.evaluate(() => window.T.cancelAtOnce()),
      { statuses: ['planning', 'closed'], message: 'the launch was cancelled', code: null, calls: 0, subscribed: false });
  });

  it('the gateway\'s CloseConnection reason is the closeReason: adminClosed and aiClosed not transient, connectionLost and upstreamClosed transient, unknown codes "other"', opt(), async () => {
    const cases = [
      [12, 'adminClosed', false], [15, 'aiClosed', false], [9, 'connectionLost', true],
      [20, 'upstreamClosed', true], [99, 'other', false],
    ];
    for (const [code, name, transient] of cases) {
      await start({ trickle: true, mode: 'close', closeReason: code, closeMessage: 'by the test', closeAfterMs: 300, planForm: 'plan' });
      await waitClosed(8000);
      const r = await report();
      assert.deepEqual(r.closeReason, { code, name, transient, source: 'gateway' }, name);
      assert.deepEqual(r.sessionStatusReason, r.closeReason);
      assert.equal(r.closedStatus.code, 'GATEWAY_CLOSED', name);
      assert.match(r.closedStatus.message, /by the test/);
      assert.equal(r.closedStatus.pcState, 'closed');
      assert.deepEqual(r.gw.closes, [], `${name}: no reply to the gateway's close`);
    }
  });

  it('session.stats: a round trip from Pongs echoing our Pings every pingMs, bytes and frames growing, the sync lag; no Pong: overdue', opt(), async () => {
    await start({ trickle: true, mode: 'ok', planForm: 'plan', pongDelayMs: 30 });
    await waitPhase('firstFrame');
    const early = await page.evaluate(() => window.T.stats());
    assert.deepEqual(Object.keys(early), ['bytesIn', 'bytesOut', 'framesRendered', 'rttMs', 'rttAt', 'pingOverdueMs', 'syncLagMs', 'bufferedAmount']);
    await page.waitForFunction(() => window.T.stats().rttMs !== null, null, { timeout: 5000 });
    const s = await page.evaluate(() => window.T.stats());
    const r = await report();
    // The first Ping goes 2 s after the channel opens: u32 0 and our 8-byte clock.
    assert.ok(r.gw.clientPings.length >= 1 && r.gw.clientPings.every((n) => n === 12), JSON.stringify(r.gw.clientPings));
    assert.ok(s.rttMs >= 30 && s.rttMs < 1000, `rttMs ${s.rttMs} (the gateway waits 30 ms)`);
    assert.ok(Math.abs(s.rttAt - Date.now()) < 5000, `rttAt ${s.rttAt} is Unix ms`);
    assert.ok(s.bytesIn >= r.gw.sentBytes && s.bytesIn >= early.bytesIn, `bytesIn ${s.bytesIn}, gateway sent ${r.gw.sentBytes} on connection 1`);
    assert.ok(s.bytesOut > 0 && s.framesRendered >= 3);
    assert.ok(s.syncLagMs !== null && s.syncLagMs >= 0 && s.syncLagMs < 2000, `syncLagMs ${s.syncLagMs}`);
    assert.equal(typeof s.bufferedAmount, 'number');
    // Bytes grow with traffic: a key and its release out, the Pongs in.
    await page.evaluate(() => window.T.focusAndType());
    await page.keyboard.press('q');
    await page.waitForFunction((n) => window.T.stats().bytesOut > n && window.T.stats().bytesIn > 0, s.bytesOut, { timeout: 5000 });
    await page.waitForFunction((n) => window.T.stats().rttAt > n, s.rttAt, { timeout: 5000 });
    const later = await page.evaluate(() => window.T.stats());
    assert.ok(later.bytesIn > s.bytesIn, 'the next Pong came in');
    await page.evaluate(() => window.T.cur.session.disconnect());
    await waitClosed();
    // Without Pongs, no sample and the Ping is overdue; pingMs 0 turns them off.
    await start({ trickle: true, mode: 'ok', planForm: 'plan', noPong: true, timeouts: { pingMs: 300 } });
    await waitPhase('firstFrame');
    await page.waitForFunction(() => window.T.stats().pingOverdueMs > 400, null, { timeout: 5000 });
    const stalled = await page.evaluate(() => window.T.stats());
    const r2 = await report();
    assert.equal(stalled.rttMs, null);
    assert.equal(r2.gw.clientPings.length, 1, 'at most one outstanding');
    await page.evaluate(() => window.T.cur.session.disconnect());
    await waitClosed();
    await start({ trickle: true, mode: 'ok', planForm: 'plan', timeouts: { pingMs: 0 } });
    await waitPhase('firstFrame');
    await new Promise((res) => setTimeout(res, 2500));
    const off = await report();
    assert.deepEqual(off.gw.clientPings, []);
    assert.equal((await page.evaluate(() => window.T.stats())).rttMs, null);
    await page.evaluate(() => window.T.cur.session.disconnect());
    await waitClosed();
  });

  it('a malformed instruction on connection 1 ends with MALFORMED_INSTRUCTION and CloseConnection(1, ProtocolError)', opt(), async () => {
    await start({ trickle: true, mode: 'malformed', planForm: 'plan' });
    await waitPhase('firstFrame');
    await waitClosed(5000);
    const r = await report();
    assert.equal(r.closedStatus.code, 'MALFORMED_INSTRUCTION');
    assert.deepEqual(r.closeReason, { code: 19, name: 'protocolError', transient: false, source: 'client' });
    assert.match(r.closedStatus.message, /session stream from the gateway is not valid Guacamole/);
    assert.equal(r.closedStatus.pcState, 'closed');
    assert.deepEqual(r.gw.closes.map((c) => [c.conn, c.reason, c.message]), [[1, 19, 'client protocol error: MALFORMED_INSTRUCTION']]);
    assert.deepEqual(r.gw.errors, []);
  });

  it('an open frame past 65,536 operations ends with RESOURCE_LIMIT naming it and CloseConnection(1, ProtocolError)', opt(), async () => {
    await start({ trickle: true, mode: 'frameFlood', planForm: 'plan' });
    await waitPhase('firstFrame');
    await waitClosed(10000);
    const r = await report();
    assert.equal(r.closedStatus.code, 'RESOURCE_LIMIT');
    assert.deepEqual(r.closeReason, { code: 1, name: 'error', transient: false, source: 'client' });
    assert.equal(r.closedStatus.message,
      "the server's open frame exceeds 65536 drawing operations (the limit before its sync): the session was closed to protect the page");
    assert.deepEqual(r.gw.closes.map((c) => [c.conn, c.reason, c.message]), [[1, 19, 'client protocol error: RESOURCE_LIMIT']]);
    assert.equal(r.closedStatus.pcState, 'closed');
    assert.deepEqual(r.gw.errors, []);
  });

  it('a session that fails before anything is drawn (guacd 519 after an empty sync) has no first frame', opt(), async () => {
    await start({ trickle: true, mode: 'tlsError', planForm: 'plan', chunks: ['4.sync,13.1700000000000;'] });
    await waitClosed(8000);
    const r = await report();
    assert.equal(r.closedStatus.code, 'GATEWAY_CLOSED');
    assert.match(r.closedStatus.message, /SSL\/TLS connection failed/);
    const phases = r.statuses.map((s) => s.phase);
    assert.ok(phases.includes('connected'), `the empty sync connects: ${phases}`);
    assert.ok(!phases.includes('firstFrame'), `no first frame: ${phases}`);
    assert.equal(r.timings.firstFrame, null);
    assert.ok(r.frames >= 1, `the empty frame was applied (${r.frames})`);
    // The same gateway with a drawn stream does mark it (fullSession checks the order).
    await start({ trickle: true, mode: 'ok', planForm: 'plan' });
    await waitPhase('firstFrame');
    const ok = await report();
    assert.ok(ok.timings.firstFrame > 0);
    await page.evaluate(() => window.T.cur.session.disconnect());
    await waitClosed();
  });

  // Keeper's library answers CloseConnection(1, Normal) by closing the whole
  // tube (the fake gateway does so 100 ms later); a peer connection closed
  // before that makes the library report the session as failed.
  const disconnectTimes = (neverClose) => page.evaluate(async (never) => {
    const { session, pc, gw } = window.T.cur;
    let pcClosedAt = null;
    const close = pc.close;
    pc.close = function () {
      pcClosedAt ??= performance.now();
      return close.call(this);
    };
    // The native prototype (the page's RTCPeerConnection is a subclass; the gateway uses the native one).
    let proto = Object.getPrototypeOf(pc);
    while (!Object.prototype.hasOwnProperty.call(proto, 'close')) proto = Object.getPrototypeOf(proto);
    const realClose = proto.close;
    const held = [];
    if (never) {
      // The gateway keeps its end of the channel and its peer connection open.
      gw.dc.close = () => {};
      proto.close = function () {
        if (this === pc) return realClose.call(this);
        held.push(this);
        return undefined;
      };
    }
    try {
      session.disconnect();
      const end = await session.closed;
      return { afterClose: pcClosedAt - gw.closes[0].at, closes: gw.closes.length, held: held.length, code: end.error ? end.error.code : null, message: end.message, pcState: pc.connectionState };
    } finally {
      proto.close = realClose;
      for (const p of held) p.close();
    }
  }, neverClose);

  it('Disconnect closes the peer connection once the gateway has closed the channel; a gateway that never does is waited for closeDrainMs at most', opt(), async (t) => {
    await start({ trickle: true, mode: 'ok', planForm: 'plan' });
    await waitPhase('firstFrame');
    const r = await disconnectTimes(false);
    assert.equal(r.code, null);
    assert.equal(r.message, 'disconnected');
    assert.equal(r.pcState, 'closed');
    assert.equal(r.closes, 1);
    assert.ok(r.afterClose >= 95 && r.afterClose < 900, `peer closed ${r.afterClose.toFixed(1)} ms after the gateway got CloseConnection (it closes the channel at 100 ms)`);

    await start({ trickle: true, mode: 'ok', planForm: 'plan', timeouts: { closeDrainMs: 600 } });
    await waitPhase('firstFrame');
    const n = await disconnectTimes(true);
    assert.equal(n.code, null);
    assert.equal(n.message, 'disconnected');
    assert.equal(n.pcState, 'closed');
    assert.equal(n.held, 1, 'the gateway tried to close its peer connection (kept open for this check)');
    assert.ok(n.afterClose >= 590 && n.afterClose < 1500, `peer closed ${n.afterClose.toFixed(1)} ms after CloseConnection (closeDrainMs 600)`);
    t.diagnostic(`peer closed ${r.afterClose.toFixed(1)} ms after CloseConnection (gateway closes at 100 ms), ${n.afterClose.toFixed(1)} ms when it never does (closeDrainMs 600)`);
  });

  it('bad options throw INVALID_INPUT at once', opt(), async () => {
    const r = await page.evaluate(() => window.T.badOptions());
    if (process.env.PAM_LAUNCH_DEBUG) console.log(JSON.stringify(r));
    assert.ok(Array.isArray(r), r);
    assert.ok(r.every((c) => c === 'INVALID_INPUT'), JSON.stringify(r));
  });

  it('no secret in the console: seed, derived keys, passwords, TURN credential, ice-pwd', opt(), async () => {
    assert.ok(consoleLines.some((l) => l.startsWith('[status]')), 'the page logged its statuses');
    assert.ok(secrets.size >= 8, `secrets collected: ${secrets.size}`);
    const all = consoleLines.join('\n');
    for (const s of secrets) assert.ok(!all.includes(s), `a secret (${s.length} chars) is in the console output`);
    assert.ok(!/a=ice-pwd/.test(all));
    assert.deepEqual(pageProblems, []);
  });
});
