// npm run bench (input part): input latency in headless Chromium, from a key
// or mouse event in the page to its bytes handed to the data channel.
//
//   node benches/input/run.mjs
//
// One launch() session (the product's wasm, canvas renderer, attachInput on
// the canvas) against the in-page gateway of tests/e2e/pages/launch-loopback.js
// (a second RTCPeerConnection in the same page; ICE needs a non-loopback
// interface, so Chromium runs in a private network namespace,
// tests/e2e/lib/netns.mjs). The page is benches/input/input.html; what it
// measures is described in benches/input/input.js.
//
// Input is real: playwright's page.keyboard / page.mouse (CDP
// Input.dispatchKeyEvent / dispatchMouseEvent), so every event goes through
// the browser's input pipeline and the page's event loop. One event at a
// time, each waited for (its instruction handed to the channel) before the
// next, with a random pause of 0-4 ms between them, in a shuffled mix: key
// presses and releases, mouse moves, button presses and releases, wheel
// steps. Per event: from event.timeStamp (the browser took it in) to the
// send, split into the dispatch wait (timeStamp to the page's first
// listener) and the session's own part (first listener to the send).
//
// Two conditions, in turn, each BENCH_INPUT_EVENTS events (default 800) after
// 40 unmeasured ones:
//   idle  the gateway sends nothing; every frame sent so far is drawn.
//   busy  the gateway streams vnc-session-long.guac (721 frames, looped) at
//         the pace the client answers each `sync` (two frames ahead), so the
//         renderer is decoding and drawing while the input arrives.
// Prints median / p99 / max per kind of event and condition, the frames
// drawn per second meanwhile, the long tasks (> 50 ms) seen, the machine's
// load average before and after, and writes target/bench/input.json.
//
// A benchmark, not a test: nothing here asserts a time. A missing input (the
// build, the recording, Chromium), a failed launch or a page error stops it
// (exit 1); a machine without network namespaces makes it say why and exit 0.
// Environment: BENCH_INPUT_EVENTS, BENCH_INPUT_MAX_SECONDS (default 600),
// CHROMIUM_PATH.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { CHROMIUM, CHROMIUM_ARGS, WEBRTC_ARGS, chromiumSkipReason } from '../../tests/e2e/lib/chromium.mjs';
import { createNetns, netnsUnavailable } from '../../tests/e2e/lib/netns.mjs';
import { CSP } from '../../tools/serve.mjs';
import { loadStream, resolveFixture } from '../../tests/replay/server.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const FILE = 'vnc-session-long.guac';
const EVENTS = Math.max(50, Number(process.env.BENCH_INPUT_EVENTS || 800));
const WARMUP = 40;
const MAX_SECONDS = Math.max(60, Number(process.env.BENCH_INPUT_MAX_SECONDS || 600));
const ORIGIN = 'http://127.0.0.1:9';

function stop(why) {
  console.error(`bench input: ${why}`);
  process.exit(1);
}
const cannotHost = netnsUnavailable();
if (cannotHost) {
  console.log(`bench input: not run on this machine: ${cannotHost}`);
  process.exit(0);
}
const noChromium = chromiumSkipReason();
if (noChromium) stop(noChromium);
if (!fs.existsSync(path.join(ROOT, 'pkg/web/pam_launch_wasm.js'))) stop('pkg/web is not built (npm run build)');
if (!fs.existsSync(resolveFixture(FILE))) stop(`recording ${resolveFixture(FILE)} is missing`);
setTimeout(() => stop(`still running after ${MAX_SECONDS} s (BENCH_INPUT_MAX_SECONDS)`), MAX_SECONDS * 1000).unref();

// The same JIT launch as tests/e2e/launch-loopback.test.mjs (scenario 1, a fresh seed).
const scenario = JSON.parse(fs.readFileSync(path.join(ROOT, 'tests/fixtures/scenario1.json'), 'utf8'));
const SEED = crypto.randomBytes(32).toString('base64');
const record = structuredClone(scenario.record);
record.fields.push({ type: 'trafficEncryptionSeed', value: [SEED] });
const request = { recordUid: scenario.recordUid, record, dag: scenario.dag, jit: true };
const recordingFrames = loadStream(resolveFixture(FILE), { hold: true }).chunks.map((c) => c.text.toString('utf8'));

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm' };
// BENCH_INPUT_PKG: another pkg/web build (e.g. wasm-bindgen --keep-debug, for BENCH_INPUT_PROFILE's names).
const PKG = process.env.BENCH_INPUT_PKG ? path.resolve(process.env.BENCH_INPUT_PKG) : path.join(ROOT, 'pkg', 'web');
const MOUNTS = [['/pages/', path.join(ROOT, 'tests', 'e2e', 'pages')], ['/pkg/web/', PKG], ['/bench/', HERE]];
function fileFor(url) {
  const p = decodeURIComponent(new URL(url).pathname);
  for (const [prefix, dir] of MOUNTS) {
    if (!p.startsWith(prefix)) continue;
    const full = path.resolve(dir, `.${p.slice(prefix.length - 1)}`);
    return full.startsWith(path.resolve(dir) + path.sep) ? full : null;
  }
  return null;
}

// A small seeded generator: the same mix of events every run.
function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const KEYS = [...'abcdefghijklmnopqrstuvwxyz0123456789'].concat(['Enter', 'Backspace', 'ArrowLeft', 'ArrowRight', 'ArrowUp', 'ArrowDown', 'Space']);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The steps of one condition: [kind, dispatch] with `n` events in all. */
function plan(n, rand, box) {
  const steps = [];
  const at = () => [Math.round(box.x + 20 + rand() * (Math.min(box.width, 1000) - 40)), Math.round(box.y + 20 + rand() * (Math.min(box.height, 640) - 40))];
  while (steps.length < n) {
    const r = rand();
    if (r < 0.35) {
      const key = KEYS[Math.floor(rand() * KEYS.length)];
      steps.push(['keydown', (p) => p.keyboard.down(key)], ['keyup', (p) => p.keyboard.up(key)]);
    } else if (r < 0.7) {
      const [x, y] = at();
      steps.push(['mousemove', (p) => p.mouse.move(x, y)]);
    } else if (r < 0.85) {
      steps.push(['mousedown', (p) => p.mouse.down()], ['mouseup', (p) => p.mouse.up()]);
    } else {
      const dy = rand() < 0.5 ? -100 : 100;
      steps.push(['wheel', (p) => p.mouse.wheel(0, dy)]);
    }
  }
  return steps;
}

const q = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))] : NaN;
};
const f = (x) => (Number.isFinite(x) ? x.toFixed(2) : '-');
const progress = (m) => { if (process.env.BENCH_INPUT_DEBUG) console.error(`bench input: ${m}`); };
const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');

const ns = await createNetns({ maxSeconds: MAX_SECONDS + 30 });
const { chromium } = createRequire(import.meta.url)('playwright-core');
const browser = await chromium.launch({ executablePath: ns.wrapper(CHROMIUM), args: [...CHROMIUM_ARGS, ...WEBRTC_ARGS], timeout: 30000 });
const results = {};
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  page.on('pageerror', (e) => stop(`page error: ${e.message}`));
  if (process.env.BENCH_INPUT_DEBUG) page.on('console', (m) => console.error(`[page] ${m.text()}`));
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
  await page.goto(`${ORIGIN}/bench/input.html`);
  await page.waitForFunction(() => window.B, null, { timeout: 20000 });
  progress('page loaded');
  const started = await page.evaluate((a) => window.B.start(a), { request, seed: SEED, recording: recordingFrames, frames: 40 });
  if (!started.phases.includes('connected')) stop(`the session did not connect: ${started.phases.join(', ')}`);
  progress(`started: ${JSON.stringify(started)}`);
  const box = await page.evaluate(() => window.B.canvasBox());
  const loadBefore = load();
  const rand = rng(12);
  for (const name of ['idle', 'busy']) {
    const begin = await page.evaluate((c) => window.B.condition(c), name);
    // BENCH_INPUT_PROFILE=1: a CPU profile of the page during the condition; the functions with the most self time.
    const cdp = process.env.BENCH_INPUT_PROFILE ? await page.context().newCDPSession(page) : null;
    if (cdp) {
      await cdp.send('Profiler.enable');
      await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
      await cdp.send('Profiler.start');
    }
    const steps = plan(WARMUP + EVENTS, rand, box);
    let seen = 0;
    let timeouts = 0;
    for (const [type, dispatch] of steps) {
      await page.evaluate((t) => window.B.arm(t), type);
      await dispatch(page);
      seen++;
      if (!(await page.evaluate((n) => window.B.settle(n), seen))) timeouts++;
      await sleep(Math.floor(rand() * 5));
    }
    progress(`${name}: ${seen} events dispatched, ${timeouts} not seen sent`);
    progress(`${name}: pacer ${JSON.stringify((await page.evaluate(() => window.B.finishPeek && window.B.finishPeek())) ?? '')}`);
    if (cdp) {
      const { profile } = await cdp.send('Profiler.stop');
      const self = new Map();
      const dt = new Map();
      profile.samples.forEach((id, i) => dt.set(id, (dt.get(id) || 0) + (profile.timeDeltas[i] || 0)));
      let all = 0;
      for (const n of profile.nodes) {
        const us = dt.get(n.id) || 0;
        all += us;
        const k = n.callFrame.functionName || `(${n.callFrame.url.split('/').pop()})`;
        self.set(k, (self.get(k) || 0) + us);
      }
      const top = [...self.entries()].filter(([k]) => k !== '(idle)' && k !== '(program)').sort((a, b) => b[1] - a[1]).slice(0, 25);
      console.error(`bench input: ${name}: CPU profile, self time (ms) of ${(all / 1000).toFixed(0)} ms sampled`);
      for (const [k, us] of top) console.error(`  ${(us / 1000).toFixed(1).padStart(8)}  ${k}`);
      await cdp.detach();
    }
    const end = await page.evaluate(() => window.B.finish());
    const measured = end.entries.slice(WARMUP);
    const seconds = (end.at - begin.at) / 1000;
    results[name] = {
      events: measured.length,
      lost: measured.filter((e) => e.send === null).length,
      timeouts,
      framesPerSecond: (end.frames - begin.frames) / seconds,
      seconds,
      syncLagMs: end.syncLagMs,
      longTasks: end.longTasks.length,
      longestTaskMs: Math.max(0, ...end.longTasks.map((t) => t.ms)),
      entries: measured,
      rawMoves: measured.filter((e) => e.via === 'pointerrawupdate').length,
      moves: measured.filter((e) => e.type === 'mousemove').length,
      loaf: end.loaf,
    };
    if (process.env.BENCH_INPUT_DEBUG) {
      const by = {};
      for (const fr of end.loaf) for (const sc of fr.scripts) { const k = `${sc.type} ${sc.invoker}`; by[k] = (by[k] || 0) + sc.ms; }
      progress(`${name}: long animation frames ${end.loaf.length}, script time by invoker ${JSON.stringify(Object.entries(by).sort((a, b) => b[1] - a[1]).slice(0, 8))}`);
      progress(`${name}: longest frames ${JSON.stringify(end.loaf.sort((a, b) => b.ms - a.ms).slice(0, 3))}`);
    }
  }
  await page.evaluate(() => window.B.stop());
  const loadAfter = load();

  const groups = [
    ['key press / release', (e) => e.type === 'keydown' || e.type === 'keyup'],
    ['mouse move', (e) => e.type === 'mousemove'],
    ['mouse button', (e) => e.type === 'mousedown' || e.type === 'mouseup'],
    ['wheel', (e) => e.type === 'wheel'],
    ['all keys', (e) => e.type.startsWith('key')],
    ['all mouse', (e) => !e.type.startsWith('key')],
    ['all', () => true],
  ];
  const summary = { file: FILE, events: EVENTS, cores: os.cpus().length, loadBefore, loadAfter, conditions: {} };
  console.log(`\nbench input: event.timeStamp -> its bytes handed to RTCDataChannel.send, headless Chromium, ${os.cpus().length} cores, load average ${loadBefore} before, ${loadAfter} after`);
  for (const name of ['idle', 'busy']) {
    const r = results[name];
    console.log(`\n${name}: ${r.events} events in ${r.seconds.toFixed(1)} s, ${r.framesPerSecond.toFixed(1)} frames drawn/s meanwhile${name === 'busy' ? ` (${FILE}, paced by sync answers)` : ''}, last sync lag ${r.syncLagMs ?? '-'} ms, ${r.longTasks} long tasks (longest ${r.longestTaskMs.toFixed(0)} ms), ${r.lost} events without a send; ${r.rawMoves} of ${r.moves} moves arrived as pointerrawupdate`);
    console.log('| events | n | median (ms) | p99 (ms) | max (ms) | dispatch wait median / p99 (ms) | session part median / p99 / max (ms) |');
    console.log('|---|---:|---:|---:|---:|---:|---:|');
    summary.conditions[name] = { framesPerSecond: r.framesPerSecond, lost: r.lost, longTasks: r.longTasks, groups: {} };
    for (const [label, pick] of groups) {
      const xs = r.entries.filter((e) => e.send !== null && pick(e));
      if (!xs.length) continue;
      const total = xs.map((e) => e.send - e.ts);
      const wait = xs.map((e) => e.handler - e.ts);
      const own = xs.map((e) => e.send - e.handler);
      const g = { n: xs.length, median: q(total, 0.5), p99: q(total, 0.99), max: Math.max(...total), waitMedian: q(wait, 0.5), waitP99: q(wait, 0.99), ownMedian: q(own, 0.5), ownP99: q(own, 0.99), ownMax: Math.max(...own) };
      summary.conditions[name].groups[label] = g;
      console.log(`| ${label} | ${g.n} | ${f(g.median)} | ${f(g.p99)} | ${f(g.max)} | ${f(g.waitMedian)} / ${f(g.waitP99)} | ${f(g.ownMedian)} / ${f(g.ownP99)} / ${f(g.ownMax)} |`);
    }
  }
  console.log('\n(target: median <= 1 ms and p99 <= 4 ms, idle and busy; a benchmark: nothing is asserted)');
  fs.mkdirSync(path.join(ROOT, 'target', 'bench'), { recursive: true });
  fs.writeFileSync(path.join(ROOT, 'target', 'bench', 'input.json'), JSON.stringify(summary, null, 1));
} finally {
  await browser.close().catch(() => {});
  ns.close();
}
process.exit(0);
