// npm run bench (soak part): the long VNC and SSH recordings
// (vnc-session-long.guac, 48.7 s of session time; ssh-session-long.guac,
// 71.3 s) played back to back for SOAK_SESSION_SECONDS of session time
// (default 3600: one hour, about 30 pairs) into one GuacamoleClient, as
// fast as the renderer takes them: a frame is fed, the next once the client
// has drawn it and answered its `sync` (guacd paces itself on those answers),
// in Debian's headless Chromium; first with the renderer on the main thread
// (a <canvas>), then in a dedicated Worker (an OffscreenCanvas). The sync
// timestamps run on one clock across the recordings, so session time is the
// recordings' own time laid end to end.
//
// After every minute of session time the feed pauses, the driver forces
// garbage collection through CDP (HeapProfiler.collectGarbage, twice: what
// is left is retained, not garbage) and reads Runtime.getHeapUsage of the
// renderer's thread (the page's, or the Worker's through a CDP session
// attached to it): usedSize is the JS heap, embedderHeapUsedSize Blink's own
// heap (canvas and bitmap objects); the wasm memory is the byteLength of our
// module's memory (the one init() returned in that thread); canvases are
// GuacamoleClient.canvasCount (layers, buffers, cursor). One row per minute
// (fps: frames drawn in that minute / its feeding time), then the verdicts:
// each memory figure's mean over the first quarter of the rows against the
// last quarter (flat: at most 5 % growth), frames drawn in order (each
// onframe one more than the last, as many as fed), every sync answered, in
// order. SOAK_RENDERERS=main,worker picks the renderers;
// SOAK_FRESH_CLIENT=1 starts a new client (the previous one freed) for
// every recording instead of one session throughout. A benchmark, not a
// test: nothing here asserts a time; the verdicts are printed.
import os from 'node:os';
import { existsSync, readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromiumSkipReason, launchChromium } from '../../tests/e2e/lib/chromium.mjs';
import { startTestServer } from '../../tests/e2e/lib/server.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const fixtures = join(root, 'tests', 'fixtures', 'guac');
const FILES = (process.env.SOAK_FILES || 'vnc-session-long.guac,ssh-session-long.guac').split(',');
const SESSION_S = Number(process.env.SOAK_SESSION_SECONDS || 3600);
const RENDERERS = (process.env.SOAK_RENDERERS || 'main,worker').split(',');
const FRESH = process.env.SOAK_FRESH_CLIENT === '1';
const FLAT = 0.05;

function stop(why) {
  console.error(`bench soak: ${why}`);
  process.exit(1);
}
for (const f of FILES) if (!existsSync(join(fixtures, f))) stop(`recording ${f} is missing`);
if (!existsSync(join(root, 'pkg/web/pam_launch_wasm.js'))) stop('pkg/web is not built (npm run build)');
if (!(SESSION_S > 0)) stop('SOAK_SESSION_SECONDS must be a positive number');
for (const r of RENDERERS) if (r !== 'main' && r !== 'worker') stop(`unknown renderer ${r} (main, worker)`);
const noChromium = chromiumSkipReason();
if (noChromium) stop(noChromium);

const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');
const mb = (b) => (b / 1048576).toFixed(2);

/** A CDP session on the page, and one on its Worker when asked (through Target.sendMessageToTarget). */
async function cdpOf(page) {
  const cdp = await page.context().newCDPSession(page);
  const pending = new Map();
  let nextId = 1;
  const workers = [];
  const attached = [];
  cdp.on('Target.attachedToTarget', (e) => {
    if (e.targetInfo.type === 'worker') {
      workers.push(e.sessionId);
      for (const w of attached.splice(0)) w();
    }
  });
  cdp.on('Target.receivedMessageFromTarget', (e) => {
    const m = JSON.parse(e.message);
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (m.error) p.reject(new Error(`${m.error.message} (${m.error.code})`)); else p.resolve(m.result);
  });
  const inWorker = (sessionId) => (method, params = {}) => new Promise((resolve, reject) => {
    const id = nextId++;
    pending.set(id, { resolve, reject });
    cdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method, params }) }).catch(reject);
  });
  await cdp.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: false, flatten: false });
  return {
    page: (method, params) => cdp.send(method, params),
    /** The first Worker's session, once it is there. */
    async worker() {
      if (!workers.length) {
        await new Promise((resolve, reject) => {
          const t = setTimeout(() => reject(new Error('no Worker attached within 30 s')), 30_000);
          attached.push(() => { clearTimeout(t); resolve(); });
        });
      }
      return inWorker(workers[0]);
    },
  };
}

/**
 * The resident memory (VmRSS, /proc) of the renderer process our page runs
 * in (its Worker too): of the renderer processes CDP's
 * SystemInfo.getProcessInfo lists, the one that has used the most CPU (the
 * others are spares). 0 where /proc cannot be read.
 */
async function rendererRss(browserCdp) {
  try {
    const { processInfo } = await browserCdp.send('SystemInfo.getProcessInfo');
    const ours = processInfo.filter((p) => p.type === 'renderer').sort((a, b) => b.cpuTime - a.cpuTime)[0];
    if (!ours) return 0;
    const m = readFileSync(`/proc/${ours.id}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m);
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Forced GC (twice), then the heap figures of the thread `send` talks to. */
async function heapOf(send) {
  await send('HeapProfiler.collectGarbage');
  await send('HeapProfiler.collectGarbage');
  const h = await send('Runtime.getHeapUsage');
  return { heap: h.usedSize, blink: h.embedderHeapUsedSize ?? 0 };
}

async function soak(renderer, server) {
  const browser = await launchChromium();
  const problems = [];
  try {
    const page = await browser.newPage();
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
    const res = await page.goto(`${server.url.replace(/\/$/, '')}/soak/soak.html?renderer=${renderer}`);
    if (!res || !res.ok()) throw new Error(`the page answered ${res && res.status()}`);
    await page.waitForFunction(() => window.soakReady === true, null, { timeout: 30_000 });
    const cdp = await cdpOf(page);
    const browserCdp = await browser.newBrowserCDPSession();
    let send = cdp.page;
    if (renderer === 'worker') {
      await page.evaluate(() => window.soakStartWorker());
      send = await cdp.worker();
    }
    const t0 = Date.now();
    const setup = await page.evaluate((o) => window.soakSetup(o), { files: FILES, freshClient: FRESH });
    const before = await heapOf(send);
    const rows = [];
    let failed = null;
    let last = null;
    const minutes = Math.ceil(SESSION_S / 60);
    const title = renderer === 'main' ? 'main thread (<canvas>)' : 'dedicated Worker (OffscreenCanvas)';
    console.log(`\nbench soak: ${title}: ${FILES.join(' + ')} (${setup.recordings.map((r) => `${r.frames} frames, ${(r.spanMs / 1000).toFixed(1)} s`).join('; ')}) back to back for ${SESSION_S} s of session time, ${FRESH ? 'a new client per recording' : 'one client throughout'}; load average ${load()}`);
    console.log(`before the first frame (after GC): JS heap ${mb(before.heap)} MB, Blink heap ${mb(before.blink)} MB, wasm memory ${mb(setup.wasmBytes)} MB`);
    console.log('| session min | wall (s) | JS heap (MB) | Blink heap (MB) | wasm memory (MB) | renderer RSS (MB) | canvases | fps | frames drawn / fed | syncs answered / fed (distinct) | unanswered |');
    console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (let m = 1; m <= minutes; m++) {
      const untilMs = Math.min(m * 60, SESSION_S) * 1000;
      const r = await page.evaluate((u) => window.soakRun(u), untilMs);
      const h = await heapOf(send);
      const rss = await rendererRss(browserCdp);
      const row = {
        minute: untilMs / 60000, wallS: (Date.now() - t0) / 1000, heap: h.heap, blink: h.blink, rss,
        wasm: r.wasmBytes, canvases: r.canvasCount, fps: r.feedMs > 0 ? (r.framesInStretch * 1000) / r.feedMs : 0, feedMs: r.feedMs,
      };
      rows.push(row);
      last = r;
      console.log(`| ${Number.isInteger(row.minute) ? row.minute : row.minute.toFixed(2)} | ${row.wallS.toFixed(1)} | ${mb(row.heap)} | ${mb(row.blink)} | ${mb(row.wasm)} | ${mb(row.rss)} | ${row.canvases} | ${row.fps.toFixed(0)} | ${r.framesDrawn} / ${r.framesFed} | ${r.answers} / ${r.distinctSyncsFed} | ${r.unanswered} |`);
      if (r.failed) { failed = r.failed; break; }
    }
    const wallS = (Date.now() - t0) / 1000;
    const feedS = rows.reduce((a, r) => a + r.feedMs, 0) / 1000;
    const end = await page.evaluate(() => window.soakEnd());
    const after = await heapOf(send);
    console.log(`after the client is freed (after GC): JS heap ${mb(after.heap)} MB, Blink heap ${mb(after.blink)} MB, wasm memory ${mb(end.wasmBytes)} MB`);
    console.log(`wall time: ${wallS.toFixed(1)} s for ${(Math.min(rows.length * 60, SESSION_S) / 60).toFixed(1)} min of session time (${feedS.toFixed(1)} s feeding, the rest GC and sampling); ${last ? last.recordingsStarted : 0} recordings, ${last ? last.clients : 0} client(s); load average ${load()}`);
    return { renderer, title, rows, last, failed, problems, wallS, feedS };
  } finally {
    await browser.close();
  }
}

/**
 * The rows in quarters: the first and the last `q` rows, the middle halved.
 * `q` is even (a quarter of the rows, rounded down to an even number, from
 * 8 rows up): a pair of the recordings is about two minutes of session
 * time, and a minute that ends in the VNC recording holds other layers than
 * one that ends in the SSH one, so each compared quarter holds as many of
 * either.
 */
function quarters(rows) {
  const n = rows.length;
  const q = n >= 8 ? 2 * Math.floor(n / 8) : Math.max(1, Math.floor(n / 4));
  const mid = rows.slice(q, n - q);
  const h = Math.ceil(mid.length / 2);
  return [rows.slice(0, q), mid.slice(0, h), mid.slice(h), rows.slice(n - q)];
}

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

function verdicts(s) {
  const out = [];
  let ok = true;
  const { rows, last } = s;
  if (rows.length) {
    const qs = quarters(rows);
    console.log(`\nbench soak: ${s.title}: per quarter of the session (means of the minute rows; canvases: the most held)`);
    console.log('| quarter | minutes | JS heap (MB) | Blink heap (MB) | wasm memory (MB) | renderer RSS (MB) | canvases (most) | fps |');
    console.log('|---|---|---:|---:|---:|---:|---:|---:|');
    qs.forEach((q, i) => {
      if (!q.length) return;
      const med = (k) => mean(q.map((r) => r[k]));
      console.log(`| Q${i + 1} | ${q[0].minute}-${q[q.length - 1].minute} | ${mb(med('heap'))} | ${mb(med('blink'))} | ${mb(med('wasm'))} | ${mb(med('rss'))} | ${Math.max(...q.map((r) => r.canvases))} | ${med('fps').toFixed(0)} |`);
    });
    // Memory: the quarters' means; canvases: their highest count (it
    // depends on which recording a minute ends in, and a leak only adds).
    const pick = { heap: mean, blink: mean, wasm: mean, rss: mean, canvases: (xs) => Math.max(...xs) };
    const figures = [['heap', 'JS heap'], ['blink', 'Blink heap'], ['wasm', 'wasm memory'], ['rss', 'renderer RSS'], ['canvases', 'canvases (most held)']];
    for (const [k, name] of figures.filter(([k]) => k !== 'rss' || rows.every((r) => r.rss > 0))) {
      const a = pick[k](qs[0].map((r) => r[k]));
      const b = pick[k](qs[3].map((r) => r[k]));
      const g = a > 0 ? (b - a) / a : (b > 0 ? Infinity : 0);
      const flat = g <= FLAT;
      ok &&= flat;
      out.push(`${name}: ${k === 'canvases' ? a : mb(a) + ' MB'} (Q1) -> ${k === 'canvases' ? b : mb(b) + ' MB'} (Q4), ${(g * 100).toFixed(1)} % ${flat ? '<= 5 %: flat' : '> 5 %: GROWS'}`);
    }
  }
  if (last) {
    const inOrder = last.orderErrors === 0 && last.framesDrawn === last.framesFed;
    out.push(`frames in order: ${last.framesDrawn} drawn of ${last.framesFed} fed, ${last.orderErrors} out of order: ${inOrder ? 'yes' : 'NO'}`);
    const answered = last.unanswered === 0 && last.answersOutOfOrder === 0 && last.answers === last.distinctSyncsFed;
    out.push(`syncs: ${last.syncsFed} fed (${last.distinctSyncsFed} distinct timestamps; a repeated timestamp is answered once), ${last.answers} answered, ${last.answersOutOfOrder} out of order, ${last.unanswered} unanswered: ${answered ? 'yes' : 'NO'}`);
    ok &&= inOrder && answered;
  }
  if (s.failed) { out.push(`the soak stopped: ${s.failed}`); ok = false; }
  for (const p of s.problems) { out.push(p); ok = false; }
  console.log(`\nbench soak: ${s.title}: verdicts`);
  for (const l of out) console.log(`- ${l}`);
  return ok;
}

const server = await startTestServer({
  defaults: false,
  mounts: { '/pkg/web/': join(root, 'pkg', 'web'), '/fixtures/': fixtures, '/soak/': here },
});
let allOk = true;
let crashed = false;
try {
  console.log(`bench soak: ${os.cpus().length} cores, load average ${load()} at the start`);
  for (const r of RENDERERS) {
    let s;
    try {
      s = await soak(r, server);
    } catch (e) {
      console.log(`bench soak: ${r}: ${e.message}`);
      crashed = true;
      continue;
    }
    allOk = verdicts(s) && allOk;
  }
  console.log(`\nbench soak: ${allOk && !crashed ? 'memory flat, frames in order, every sync answered' : 'see the verdicts above'}; load average ${load()} at the end`);
} finally {
  await server.close();
}
if (crashed) process.exit(1);
