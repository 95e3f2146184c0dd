// npm run bench (launch part): time from Launch to the first frame drawn, step
// by step, through the launcher page against the local demo gateway (the
// Keeper Gateway stand-in with Keeper's own WebRTC library, and the replay
// guacd), with headless Chromium, all inside a private network namespace
// (tests/e2e/lib/netns.mjs), as tests/e2e/launch.test.mjs runs them.
//
//   node benches/launch/run.mjs
//
// Scenario 2 (JIT elevation with a linked credential: no account is created),
// N launches per ICE mode (trickle, then non-trickle), each from a fresh page
// load, Launch clicked, Disconnect once the first frame is drawn; the first
// launch of each mode is discarded as warm-up. Prints the median (min-max) of
// every step as launch() measures it (session.timings: plan, offer sent,
// answer, channel open, ConnectionOpened, first byte, first frame drawn) and
// of the total, the first frame's part split further by the bench's own
// instrumentation of the page (when each data-channel message arrives, each
// createImageBitmap; a few µs per message), the library's own part as the
// stand-in saw it, the close (the library's verdict on every Disconnect), the
// target (under 150 ms with trickle ICE) and whether the median meets it.
// A benchmark, not a test: it asserts nothing. A missing input (the build,
// the recording, Chromium), a non-2xx answer or a failed request of the page,
// or a failed launch stops it with the error (exit 1) instead of printing
// figures; a machine that cannot host it (no network namespace, no stand-in
// environment) makes it say why and exit 0.
// Bounded: it stops by itself after PAM_BENCH_LAUNCH_MAX_SECONDS.
//
// The replay guacd plays ssh-live.guac at its recorded pace by default (a
// real guacd's pace: the first frame, then updates as they happened);
// PAM_REPLAY_SPEED=0 plays it unpaced as tests/e2e/launch.test.mjs does,
// which floods the first second with the whole recording (222 KB) and makes
// the first frame's image decodes wait behind later ones on these 2 cores.
//
// Environment: PAM_BENCH_LAUNCH_RUNS (launches per mode, warm-up included;
// default 7), PAM_BENCH_LAUNCH_MAX_SECONDS (default 300), PAM_REPLAY_SPEED
// (the replay guacd's pace: 1 = as recorded, the default here; 0 = unpaced),
// PAM_REPLAY_READY_PAUSE_MS (its pause after `ready`; default the replay
// server's), CHROMIUM_PATH (tests/e2e/lib/chromium.mjs). Writes target/bench/launch.json.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromiumSkipReason } from '../../tests/e2e/lib/chromium.mjs';
import { createNetns, netnsUnavailable } from '../../tests/e2e/lib/netns.mjs';
import { launchUnavailable, openLauncherPage, spawnLauncherServer, stopLauncherServer } from '../../tests/e2e/lib/launch-env.mjs';
import { standinUnavailable } from '../../tests/e2e/lib/standin.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const RUNS = Math.max(2, Number(process.env.PAM_BENCH_LAUNCH_RUNS || 7));
const MAX_SECONDS = Math.max(30, Number(process.env.PAM_BENCH_LAUNCH_MAX_SECONDS || 300));
const REPLAY_SPEED = process.env.PAM_REPLAY_SPEED ?? '1';
const SCENARIO = 2;
// PAM_BENCH_LAUNCH_TRACE=file.json: a Chrome trace (CDP Tracing) of the last
// trickle launch, for benches/launch/trace.mjs to read.
const TRACE = process.env.PAM_BENCH_LAUNCH_TRACE ? path.resolve(process.env.PAM_BENCH_LAUNCH_TRACE) : null;
const BITMAP_ONLY = process.env.PAM_BENCH_LAUNCH_BITMAP_ONLY === '1';
const TRACE_CATEGORIES = ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'v8.execute', 'blink', 'disabled-by-default-v8.cpu_profiler', 'toplevel', 'cc', 'gpu', 'skia'];
const TARGET_MS = 150;
// Issue 12: the module's part of the first frame (its last byte -> its pixels).
const MODULE_TARGET_MS = 5;

// The host cannot run it: say so and leave. Anything else missing is an
// input of the bench: stop with that error.
const cannotHost = netnsUnavailable() || standinUnavailable();
if (cannotHost) {
  console.log(`bench launch: not run on this machine: ${cannotHost}`);
  process.exit(0);
}
const missingInput = chromiumSkipReason() || launchUnavailable();
if (missingInput) {
  console.error(`bench launch: ${missingInput}`);
  process.exit(1);
}

const round1 = (x) => (Number.isFinite(x) ? Math.round(x * 10) / 10 : null);
const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return null;
  const m = s.length >> 1;
  return round1(s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2);
};
const spread = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x));
  return s.length ? [round1(Math.min(...s)), round1(Math.max(...s))] : [null, null];
};
const diff = (a, b) => (Number.isFinite(a) && Number.isFinite(b) ? b - a : null);

// ------------------------------------------------------------ set-up, bounded

let ns;
let serve;
let browser;
let demoDir;
let serveOut = '';
async function cleanup() {
  if (browser) await browser.close().catch(() => {});
  browser = null;
  await stopLauncherServer(serve);
  if (ns) ns.close();
  ns = null;
  if (demoDir) fs.rmSync(demoDir, { recursive: true, force: true });
  demoDir = null;
}
const deadline = setTimeout(async () => {
  console.error(`bench launch: stopped after ${MAX_SECONDS} s (PAM_BENCH_LAUNCH_MAX_SECONDS), no figures`);
  await cleanup();
  process.exit(1);
}, MAX_SECONDS * 1000);
deadline.unref();
process.on('exit', () => { try { serve?.kill('SIGKILL'); } catch { /* gone */ } });

async function start() {
  demoDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pam-launch-bench-'));
  ns = await createNetns({ maxSeconds: MAX_SECONDS + 30 });
  const env = {
    ...process.env,
    PORT: '0',
    PAM_DEMO_DIR: demoDir,
    PAM_REPLAY_SPEED: REPLAY_SPEED,
    PAM_SERVE_MAX_SECONDS: String(MAX_SECONDS + 20),
  };
  delete env.GUACD;
  delete env.SSH_TARGET;
  let ready;
  ({ proc: serve, ready } = spawnLauncherServer(ns, env, { onOutput: (t) => { serveOut += t; } }));
  const url = await ready;
  let page;
  ({ browser, page } = await openLauncherPage(ns));
  // Every answer the page gets must be a 2xx (an error page has no timings).
  page.on('response', (r) => { if (r.status() < 200 || r.status() > 299) badResponses.push(`HTTP ${r.status()} for ${r.url()}`); });
  page.on('requestfailed', (r) => { if (!/\/signal\/events/.test(r.url())) badResponses.push(`${r.failure()?.errorText ?? 'failed'} for ${r.url()}`); });
  // Bench instrumentation (not the page's code): when each data-channel
  // message arrives and how much session data it carries, the channel's
  // open and close, and each image decode, on the page's clock.
  await page.addInitScript((bitmapOnly) => {
    const B = { msgs: [], decodes: [], open: null, close: null };
    window.__bench = B;
    const reset = () => { B.msgs = []; B.decodes = []; B.open = null; B.close = null; };
    window.__benchReset = reset;
    const create = RTCPeerConnection.prototype.createDataChannel;
    RTCPeerConnection.prototype.createDataChannel = function (...a) {
      const dc = create.apply(this, a);
      dc.addEventListener('open', () => { B.open = performance.now(); });
      dc.addEventListener('close', () => { B.close = performance.now(); });
      dc.addEventListener('message', (ev) => {
        if (B.msgs.length >= 64 || !(ev.data instanceof ArrayBuffer)) return;
        // Frames: conn u32 | ts u64 | len u32 | payload | ';'. Session data is conn 1.
        const v = new DataView(ev.data);
        let conn1 = 0;
        let sync = false;
        for (let o = 0; o + 17 <= v.byteLength;) {
          const conn = v.getUint32(o);
          const len = v.getUint32(o + 12);
          if (conn === 1) {
            conn1 += len;
            if (!sync) sync = new TextDecoder().decode(new Uint8Array(ev.data, o + 16, Math.min(len, v.byteLength - o - 16))).includes('4.sync,');
          }
          o += 17 + len;
        }
        const t = performance.now();
        if (sync && !B.msgs.some((m) => m.sync)) console.timeStamp(`bench:sync ${t}`);
        B.msgs.push({ t, bytes: ev.data.byteLength, conn1, sync });
      });
      return dc;
    };
    // Signaling and peer-connection calls, in order (label, page time).
    B.ev = [];
    const mark = (label) => { if (B.ev.length < 400) B.ev.push([label, performance.now()]); };
    const wrap = (proto, name) => {
      const f = proto[name];
      proto[name] = function (...a) {
        mark(`${name}(`);
        const r = f.apply(this, a);
        if (r && typeof r.then === 'function') r.then(() => mark(`${name})`), () => mark(`${name}!`));
        return r;
      };
    };
    for (const n of ['createOffer', 'setLocalDescription', 'setRemoteDescription', 'addIceCandidate']) wrap(RTCPeerConnection.prototype, n);
    const ctor = window.RTCPeerConnection;
    window.RTCPeerConnection = class extends ctor {
      constructor(...a) {
        mark('RTCPeerConnection');
        super(...a);
        this.addEventListener('icecandidate', (e) => mark(e.candidate && e.candidate.candidate ? 'icecandidate' : 'icecandidate-end'));
        this.addEventListener('connectionstatechange', () => mark(`pc:${this.connectionState}`));
      }
    };
    const f0 = window.fetch;
    window.fetch = function (u, init) {
      const kind = init && typeof init.body === 'string' ? (/"kind":"(\w+)"/.exec(init.body) || [])[1] || 'post' : 'get';
      mark(`fetch(${kind}`);
      const r = f0.call(this, u, init);
      r.then(() => mark(`fetch)${kind}`), () => mark(`fetch!${kind}`));
      return r;
    };
    const ES = window.EventSource;
    window.EventSource = class extends ES {
      constructor(...a) {
        mark('EventSource');
        super(...a);
        this.addEventListener('open', () => mark('es:open'));
        this.addEventListener('message', () => mark('es:message'));
      }
    };
    const reset0 = window.__benchReset;
    window.__benchReset = () => { reset0(); B.ev = []; };
    const cib = window.createImageBitmap;
    window.createImageBitmap = function (...a) {
      // An ImageDecoder's frame made a bitmap: timed as its decode (below).
      if (window.VideoFrame && a[0] instanceof VideoFrame) return cib.apply(this, a);
      const d = { start: performance.now(), end: null };
      B.decodes.push(d);
      const p = cib.apply(this, a);
      p.then(() => { d.end = performance.now(); }, () => { d.end = performance.now(); });
      return p;
    };
    // PNG goes through WebCodecs' ImageDecoder where there is one
    // (src/web/canvas.rs); PAM_BENCH_LAUNCH_BITMAP_ONLY=1 hides it, so every
    // image goes through createImageBitmap (for the comparison).
    if (bitmapOnly) window.ImageDecoder = undefined;
    if (window.ImageDecoder) {
      const decode = ImageDecoder.prototype.decode;
      ImageDecoder.prototype.decode = function (...a) {
        const d = { start: performance.now(), end: null };
        B.decodes.push(d);
        const p = decode.apply(this, a);
        p.then(() => { d.end = performance.now(); }, () => { d.end = performance.now(); });
        return p;
      };
    }
  }, BITMAP_ONLY);
  return { url, page };
}

// ------------------------------------------------------------ one launch

const badResponses = [];

async function oneLaunch(url, page, trickle, traceThis = null) {
  await page.goto(`${url}?trickle=${trickle ? 1 : 0}`);
  await page.waitForSelector('#module-status[data-state="ready"]');
  await page.waitForSelector('#launch-note[data-state="ready"]');
  await page.click(`[data-scenario="${SCENARIO}"]`);
  await page.waitForFunction(() => document.getElementById('plan').dataset.state === 'planned');
  await page.waitForFunction(() => !document.getElementById('launch').disabled);
  const logBefore = await signal(page, '_log');
  await page.evaluate(() => window.__benchReset());
  if (traceThis) await browser.startTracing(page, { path: traceThis, categories: TRACE_CATEGORIES });
  await page.click('#launch');
  await page.waitForSelector('#timeline li[data-phase="firstFrame"][data-ms]', { timeout: 15000 });
  if (traceThis) await browser.stopTracing();
  const st = await page.evaluate(() => ({
    timings: JSON.parse(document.getElementById('session').dataset.timings || 'null'),
    clickToFirstFrame: Number(document.querySelector('#timeline li[data-phase="firstFrame"]').dataset.ms),
    bench: window.__bench,
  }));
  // Disconnect, and what the library made of it.
  const clickedAt = await page.evaluate(() => {
    const t = performance.now();
    document.getElementById('pam-session').shadowRoot.getElementById('disconnect').click();
    return t;
  });
  await page.waitForSelector('#session[data-phase="closed"]', { timeout: 10000 });
  const closed = await page.evaluate(() => ({
    outcome: document.getElementById('session').dataset.outcome || null,
    timings: JSON.parse(document.getElementById('session').dataset.timings || 'null'),
    channelClose: window.__bench.close,
  }));
  closed.clickedAt = clickedAt;
  let conv = null;
  for (let i = 0; i < 50; i++) {
    const log = await signal(page, '_log');
    const req = log.requests.slice(logBefore.requests.length).find((q) => q.kind === 'start');
    conv = req && Object.values(log.conversations).find((c) => c.conversationId === req.conversationId);
    if (conv && conv.signals.some((s) => s.kind === 'channel_closed')) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { trickle, ...st, closed, conv };
}

const signal = (page, p) => page.evaluate(async (u) => (await fetch(u)).json(), `signal/${p}`);

// What one launch says, step by step (ms).
function steps(r) {
  const x = r.timings;
  const b = r.bench;
  // The page's clock at launch(): the channel's open event and the
  // channelOpen mark are the same task.
  const t0 = Number.isFinite(b.open) && Number.isFinite(x.channelOpen) ? b.open - x.channelOpen : null;
  const rel = (t) => (t0 === null || !Number.isFinite(t) ? null : t - t0);
  const firstData = b.msgs.find((m) => m.conn1 > 0);
  const syncMsg = b.msgs.find((m) => m.sync);
  // The first frame's images: decodes started while the messages up to its
  // sync were handled (this listener runs before launch()'s, so a message's
  // decodes start before the next message's arrival is noted).
  const afterSync = syncMsg ? b.msgs[b.msgs.indexOf(syncMsg) + 1] : null;
  const firstFrameDecodes = b.decodes.filter((d) => syncMsg && d.start < (afterSync ? afterSync.t : Infinity));
  const lastDecode = Math.max(...firstFrameDecodes.map((d) => d.end ?? NaN));
  const times = r.conv?.times || {};
  const sig = r.conv?.signals.find((s) => s.kind === 'channel_closed');
  return {
    plan: x.plan,
    gathering: x.gathered === null ? null : x.gathered - x.plan,
    offer: diff(x.plan, x.offerSent),
    answer: diff(x.offerSent, x.answer),
    channelOpen: diff(x.answer, x.channelOpen),
    connectionOpened: diff(x.channelOpen, x.connectionOpened),
    firstByte: diff(x.connectionOpened, x.firstByte),
    firstFrameDrawn: diff(x.firstByte, x.firstFrame),
    total: x.firstFrame,
    clickToFirstFrame: r.clickToFirstFrame,
    // Inside "first frame drawn": the rest of the first frame's bytes, then
    // the image decodes it waits for (bench instrumentation).
    firstFrameBytes: diff(rel(firstData?.t), rel(syncMsg?.t)),
    firstFrameMessages: firstData && syncMsg ? b.msgs.indexOf(syncMsg) - b.msgs.indexOf(firstData) + 1 : null,
    firstFrameKiB: syncMsg ? round1(b.msgs.slice(0, b.msgs.indexOf(syncMsg) + 1).reduce((a, m) => a + m.conn1, 0) / 1024) : null,
    decodeAfterSync: Number.isFinite(lastDecode) && syncMsg ? Math.max(0, lastDecode - syncMsg.t) : null,
    applyAndDraw: syncMsg ? diff(rel(Math.max(syncMsg.t, Number.isFinite(lastDecode) ? lastDecode : 0)), x.firstFrame) : null,
    // The module's own part: the last byte of the first frame (the message
    // with its sync) -> its pixels in the canvas (the two rows above).
    modulePart: syncMsg ? diff(rel(syncMsg.t), x.firstFrame) : null,
    images: firstFrameDecodes.length,
    // The stand-in's view (its own clock): the library's create_tube, and
    // the POST it answered to its peer connection's "connected".
    standinCreateTube: r.conv?.createTubeMs ?? null,
    standinRequestToAnswer: diff(times.request, times.answer),
    standinAnswerToConnected: diff(times.answer, times['state:connected']),
    // The close: Disconnect -> the library closes the channel -> closed
    // (the peer connection is closed), and the library's verdict.
    channelClosedMs: diff(r.closed.clickedAt, r.closed.channelClose),
    closeMs: diff(r.closed.clickedAt, t0 === null ? null : t0 + r.closed.timings?.closed),
    verdict: sig ? String(sig.data?.outcome ?? sig.data).replace(/:.*/, '') : 'none',
  };
}

// ------------------------------------------------------------ main

let results = [];
try {
  const { url, page } = await start();
  for (const trickle of [true, false]) {
    for (let i = 0; i < RUNS; i++) {
      const r = await oneLaunch(url, page, trickle, TRACE && trickle && i === RUNS - 1 ? TRACE : null);
      if (badResponses.length) throw new Error(badResponses.join('; '));
      results.push({ ...r, warmup: i === 0, steps: steps(r) });
    }
  }
} catch (e) {
  console.error(`bench launch: failed, no figures: ${e.message.split('\n')[0]}`);
  await cleanup();
  clearTimeout(deadline);
  process.exit(1);
}
const chromiumVersion = browser.version();
await cleanup();
clearTimeout(deadline);

// ------------------------------------------------------------ report

const replayDefault = (() => {
  const m = /readyPauseMs:\s*(\d+)/.exec(fs.readFileSync(path.join(ROOT, 'tests', 'replay', 'server.mjs'), 'utf8'));
  return m ? Number(m[1]) : null;
})();
const readyPause = process.env.PAM_REPLAY_READY_PAUSE_MS ? Number(process.env.PAM_REPLAY_READY_PAUSE_MS) : replayDefault;
const modes = { trickle: true, 'non-trickle': false };
const table = {};
for (const [name, trickle] of Object.entries(modes)) {
  const list = results.filter((r) => r.trickle === trickle && !r.warmup).map((r) => r.steps);
  table[name] = { runs: list.length, median: {}, range: {} };
  for (const k of Object.keys(list[0] || {})) {
    if (k === 'verdict') continue;
    table[name].median[k] = median(list.map((s) => s[k]));
    table[name].range[k] = spread(list.map((s) => s[k]));
  }
}
const ROWS = [
  ['plan', 'launch() -> plan and peer connection ready'],
  ['gathering', '  ICE gathering (non-trickle; inside "offer sent")'],
  ['offer', 'plan -> offer sent'],
  ['answer', 'offer sent -> answer'],
  ['channelOpen', 'answer -> data channel open'],
  ['connectionOpened', 'channel open -> ConnectionOpened'],
  ['firstByte', `ConnectionOpened -> first byte (replay pause after ready: ${readyPause} ms)`],
  ['firstFrameDrawn', 'first byte -> first frame drawn'],
  ['firstFrameBytes', '  rest of the first frame arrives'],
  ['decodeAfterSync', '  its image decodes, after its sync arrived'],
  ['applyAndDraw', '  applied to the layers and drawn into the canvas'],
  ['modulePart', `  **the module's part: its sync arrived -> drawn** (target at most ${MODULE_TARGET_MS} ms)`],
  ['total', '**launch() -> first frame drawn**'],
  ['clickToFirstFrame', 'click -> first frame drawn (the page\'s timeline)'],
];
const cell = (name, k) => {
  const m = table[name]?.median[k];
  if (m === null || m === undefined) return '—';
  const [lo, hi] = table[name].range[k];
  return `${m} (${lo}–${hi})`;
};
console.log(`\nLaunch -> first frame drawn: scenario ${SCENARIO} (no JIT account creation), median of ${RUNS - 1} launches per ICE mode after 1 warm-up (min–max), ms`);
console.log(`Chromium ${chromiumVersion} headless, the stand-in with keeper-pam-webrtc-rs and the replay guacd (ssh-live.guac, ${REPLAY_SPEED === '0' ? 'unpaced' : `${REPLAY_SPEED}x recorded pace`}), one network namespace; load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}, ${os.cpus().length} CPUs\n`);
console.log('| step | trickle | non-trickle |');
console.log('|---|---:|---:|');
for (const [k, label] of ROWS) console.log(`| ${label} | ${cell('trickle', k)} | ${cell('non-trickle', k)} |`);
const lib = (name) => {
  const m = table[name].median;
  return `answer -> channel open ${m.channelOpen}, ConnectionOpened ${m.connectionOpened}, first byte ${m.firstByte} (the replay's pause ${readyPause} included); the stand-in saw: create_tube ${m.standinCreateTube}, request -> answer ${m.standinRequestToAnswer}, answer -> its peer connection connected ${m.standinAnswerToConnected}`;
};
console.log('\nThe library\'s part (ms, medians; docs/keeper-gateway-peer.md §7 measured channel open 16-25 after the answer, ConnectionOpened 7, first byte 13):');
for (const name of Object.keys(modes)) console.log(`  ${name}: ${lib(name)}`);
const first = table.trickle.median;
console.log(`  the first frame: ${first.firstFrameKiB} KiB of session data in ${first.firstFrameMessages} data-channel messages (the library's pace), ${first.images} images`);
const verdicts = {};
for (const r of results) verdicts[r.steps.verdict] = (verdicts[r.steps.verdict] || 0) + 1;
console.log(`\nDisconnect (medians, trickle): the library closed the channel ${table.trickle.median.channelClosedMs} ms after the click, the session reported closed (peer connection closed) at ${table.trickle.median.closeMs} ms; the library's verdict on the channel, all ${results.length} launches: ${JSON.stringify(verdicts)}`);
const got = table.trickle.median.total;
const part = table.trickle.median.modulePart;
const partNt = table['non-trickle'].median.modulePart;
console.log(`\nTarget: the module's part of the first frame (the message with its sync arrived -> drawn into the canvas) at most ${MODULE_TARGET_MS} ms: median ${part} ms with trickle ICE, ${partNt} ms without: ${part !== null && part <= MODULE_TARGET_MS ? 'meets it' : 'does not meet it'} (information, not a test)`);
console.log(`Target: launch -> first frame drawn under ${TARGET_MS} ms with trickle ICE (no JIT account creation): median ${got} ms: ${got !== null && got < TARGET_MS ? 'meets it' : 'does not meet it'} (information, not a test)`);

fs.mkdirSync(path.join(ROOT, 'target', 'bench'), { recursive: true });
fs.writeFileSync(path.join(ROOT, 'target', 'bench', 'launch.json'), `${JSON.stringify({
  what: `launch() -> first frame drawn, scenario ${SCENARIO}, ms`,
  chromium: chromiumVersion,
  replaySpeed: Number(REPLAY_SPEED),
  readyPauseMs: readyPause,
  loadavg: os.loadavg(),
  runsPerMode: RUNS,
  targetMs: TARGET_MS,
  table,
  verdicts,
  launches: results.map((r) => ({
    trickle: r.trickle, warmup: r.warmup, timings: r.timings, steps: r.steps,
    // Page-clock events relative to launch() (bench instrumentation).
    events: r.bench.ev.map(([l, t]) => [l, round1(t - (r.bench.open - r.timings.channelOpen))]),
    messages: r.bench.msgs.map((m) => ({ ...m, t: round1(m.t - (r.bench.open - r.timings.channelOpen)) })),
    decodes: r.bench.decodes.map((d) => [round1(d.start - (r.bench.open - r.timings.channelOpen)), round1(d.end - (r.bench.open - r.timings.channelOpen))]),
    standin: r.conv && { times: r.conv.times, offer: r.conv.offer?.sdp, answer: r.conv.answer, candidatesFromClient: r.conv.candidatesFromClient?.map((c) => c.t), candidatesFromGateway: r.conv.candidatesFromGateway?.map((c) => c.t) },
  })),
}, null, 2)}\n`);
console.log('(target/bench/launch.json has every launch)');
