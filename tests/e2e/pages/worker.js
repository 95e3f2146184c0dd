// Driven by tests/e2e/worker.test.mjs: the same recording through a
// GuacamoleClient on the main thread (drawing into a <canvas>) and one in a
// dedicated Worker (drawing into a transferred OffscreenCanvas, layers as
// OffscreenCanvases), with the pixels of both compared after each third of
// the stream and at its end. Also the main-thread busy time of each
// (benches/worker-busy.mjs).
import init, { GuacamoleClient } from '/pkg/web/pam_launch_wasm.js';
import { alignedMessages } from './aligned-messages.mjs';

await init();

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const fixture = async (name) => new Uint8Array(await (await fetch(`/fixtures/${name}`)).arrayBuffer());

// `sync` instructions in the stream, counted on the bytes (the test's own count).
function countSyncs(bytes) {
  const text = new TextDecoder('latin1').decode(bytes);
  return text.split('4.sync,').length - 1;
}

// ---------------------------------------------------------------- the worker

const worker = new Worker('/pages/worker-replay-worker.js', { type: 'module' });
let nextId = 1;
const waiting = new Map();
worker.onmessage = (e) => {
  const w = waiting.get(e.data.id);
  if (!w) return;
  waiting.delete(e.data.id);
  if (e.data.k === 'error') w.reject(new Error(e.data.message)); else w.resolve(e.data);
};
const ask = (msg, transfer = []) => new Promise((resolve, reject) => {
  const id = nextId++;
  waiting.set(id, { resolve, reject });
  worker.postMessage({ ...msg, id }, transfer);
});
const offscreen = document.getElementById('offscreen').transferControlToOffscreen();
let transferred = false;

// ---------------------------------------------------------------- the main thread

const mainCanvas = document.getElementById('main');
let mainClient = null;

async function mainDrain(frames) {
  const t0 = performance.now();
  while (mainClient.framesPending > 0 || (frames !== undefined && mainClient.framesRendered < frames)) {
    if (performance.now() - t0 > 60000) throw new Error(`main replay stalled at ${mainClient.framesRendered} frames`);
    await sleep(0);
  }
}

const pixelsOf = (c) => {
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height);
  return { w: d.width, h: d.height, data: d.data.buffer };
};

function diff(a, b) {
  if (a.w !== b.w || a.h !== b.h) return { differing: -1, total: 0, sizes: [a.w, a.h, b.w, b.h] };
  const pa = new Uint8Array(a.data), pb = new Uint8Array(b.data);
  let differing = 0;
  for (let i = 0; i < pa.length; i += 4) {
    if (pa[i] !== pb[i] || pa[i + 1] !== pb[i + 1] || pa[i + 2] !== pb[i + 2] || pa[i + 3] !== pb[i + 3]) differing++;
  }
  // Pixels that are not fully transparent black: the compared images are not empty.
  let drawn = 0;
  for (let i = 0; i < pa.length; i += 4) if (pa[i] || pa[i + 1] || pa[i + 2] || pa[i + 3]) drawn++;
  return { differing, total: a.w * a.h, drawn, size: [a.w, a.h] };
}

async function compare(label) {
  mainClient.redraw();
  const theirs = await ask({ k: 'pixels' });
  const ours = { shown: pixelsOf(mainCanvas), snapshot: pixelsOf(mainClient.snapshot()) };
  return {
    label, mainFrames: mainClient.framesRendered, workerFrames: theirs.frames,
    snapshotIsOffscreen: theirs.snapshotIsOffscreen,
    shown: diff(ours.shown, theirs.shown), snapshot: diff(ours.snapshot, theirs.snapshot),
  };
}

// The worker's own checks: no canvas is UNSUPPORTED; a rect filled red on an OffscreenCanvas.
window.probe = () => ask({ k: 'probe' });

// The recording through both renderers: the pixels compared after each third and at the end.
window.parity = async (name) => {
  const bytes = await fixture(name);
  // Copies: each part is posted to the worker, and a view would clone its whole buffer.
  const msgs = alignedMessages(bytes, 64 * 1024).map((m) => m.slice());
  const frames = countSyncs(bytes);
  if (mainClient) mainClient.free();
  mainClient = new GuacamoleClient({ send: () => {}, canvas: mainCanvas, autoScale: false });
  const started = await ask({ k: 'start', canvas: transferred ? undefined : offscreen }, transferred ? [] : [offscreen]);
  transferred = true;
  const cuts = [Math.floor(msgs.length / 3), Math.floor((2 * msgs.length) / 3), msgs.length];
  const checks = [];
  let from = 0;
  for (const to of cuts) {
    const part = msgs.slice(from, to);
    for (const m of part) { mainClient.receive(m); await mainDrain(); }
    await ask({ k: 'feed', msgs: part });
    from = to;
    if (to < msgs.length) checks.push(await compare(`after ${to} of ${msgs.length} messages`));
  }
  await mainDrain(frames);
  const framesBeforeFlush = mainClient.framesRendered;
  mainClient.flushPending();
  await sleep(0);
  await ask({ k: 'finish', frames });
  checks.push(await compare('end'));
  return { frames, framesBeforeFlush, messages: msgs.length, workerHasDocument: started.hasDocument, checks };
};

// ---------------------------------------------------------------- main-thread busy time (bench)

// A probe loop on the main thread (a 4 ms timer) and long tasks seen by a
// PerformanceObserver while `run` plays; returns how late the probe ran and
// how long the main thread was blocked.
async function busyDuring(run) {
  const longTasks = [];
  const obs = new PerformanceObserver((l) => { for (const e of l.getEntries()) longTasks.push(e.duration); });
  obs.observe({ entryTypes: ['longtask'] });
  const lateness = [];
  let probing = true;
  const probe = () => new Promise((resolve) => {
    const tick = () => {
      if (!probing) { resolve(); return; }
      const due = performance.now() + 4;
      setTimeout(() => { lateness.push(performance.now() - due); tick(); }, 4);
    };
    tick();
  });
  const t0 = performance.now();
  const probeDone = probe();
  await run();
  const wall = performance.now() - t0;
  probing = false;
  await probeDone;
  await sleep(50);
  obs.disconnect();
  lateness.sort((a, b) => a - b);
  const q = (p) => lateness[Math.min(lateness.length - 1, Math.floor(p * lateness.length))] || 0;
  return {
    wallMs: wall,
    longTasks: longTasks.length,
    longTaskMs: longTasks.reduce((a, b) => a + b, 0),
    probes: lateness.length,
    // The probe's total delay: time the main thread could not run a due timer.
    probeLateTotal: lateness.reduce((a, b) => a + b, 0),
    probeLateP50: q(0.5), probeLateP99: q(0.99), probeLateMax: lateness[lateness.length - 1] || 0,
  };
}

// The recording replayed as a session paced by guacd sees it, on the main
// thread or in the worker; the main thread's busy time meanwhile.
window.busy = async (name, where) => {
  const bytes = await fixture(name);
  // Copies: each part is posted to the worker, and a view would clone its whole buffer.
  const msgs = alignedMessages(bytes, 64 * 1024).map((m) => m.slice());
  const frames = countSyncs(bytes);
  if (where === 'main') {
    if (mainClient) mainClient.free();
    mainClient = new GuacamoleClient({ send: () => {}, canvas: mainCanvas, autoScale: false });
    return busyDuring(async () => {
      for (const m of msgs) { mainClient.receive(m); await mainDrain(); }
      await mainDrain(frames);
    });
  }
  await ask({ k: 'start', canvas: transferred ? undefined : offscreen }, transferred ? [] : [offscreen]);
  transferred = true;
  return busyDuring(async () => {
    await ask({ k: 'feed', msgs });
    await ask({ k: 'finish', frames });
  });
};

window.pageReady = true;
