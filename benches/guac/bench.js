// Parse and replay-render benchmark, run in headless Chromium by run.mjs.
// The same data-channel-like messages go through this project's wasm client
// and through guacamole-common-js (1.6.0; 1.5.0 for parsing only).
import init, { GuacamoleParser, GuacamoleClient } from '/pkg/web/pam_launch_wasm.js';
import G16 from '/vendor/guacamole-common-js-1.6.0.js';
import G15 from '/vendor/guacamole-common-js-1.5.0.js';

const wasm = await init();

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Splits a stream into messages of whole instructions, at most `max` bytes
// each (a data channel delivers the gateway's frames this way).
// The number of `sync` instructions, counted here by the length prefixes (not
// by this project's parser): the frames a replay must draw.
function countSyncs(bytes) {
  const text = new TextDecoder().decode(bytes);
  let i = 0, syncs = 0;
  while (i < text.length) {
    let first = true;
    for (;;) {
      const dot = text.indexOf('.', i);
      const n = Number(text.slice(i, dot));
      let k = dot + 1;
      const from = k;
      for (let c = 0; c < n; c++) k += text.codePointAt(k) > 0xffff ? 2 : 1;
      if (first && text.slice(from, k) === 'sync') syncs++;
      first = false;
      i = k + 1;
      if (text[k] === ';') break;
    }
  }
  return syncs;
}

function alignedMessages(bytes, max) {
  const ends = [];
  const text = new TextDecoder().decode(bytes);
  const enc = new TextEncoder();
  let i = 0, byte = 0, start = 0;
  // Instruction ends found by a code-point scan (untimed preparation).
  while (i < text.length) {
    let j = i;
    for (;;) {
      const dot = text.indexOf('.', j);
      const n = Number(text.slice(j, dot));
      let k = dot + 1;
      for (let c = 0; c < n; c++) k += text.codePointAt(k) > 0xffff ? 2 : 1;
      const term = text[k];
      j = k + 1;
      if (term === ';') break;
    }
    byte += enc.encode(text.slice(i, j)).length;
    i = j;
    if (byte - start >= max) { ends.push(byte); start = byte; }
  }
  if (ends[ends.length - 1] !== bytes.length) ends.push(bytes.length);
  const out = [];
  let s = 0;
  for (const e of ends) { out.push(bytes.subarray(s, e)); s = e; }
  return out;
}

function rawMessages(bytes, size) {
  const out = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size));
  return out;
}

function parseOurs(msgs) {
  const p = new GuacamoleParser();
  let n = 0;
  for (const m of msgs) n += p.receiveCount(m);
  p.finish();
  p.free();
  return n;
}

function parseCommon(G, msgs) {
  const dec = new TextDecoder();
  const p = new G.Parser();
  let n = 0;
  p.oninstruction = () => { n++; };
  for (const m of msgs) p.receive(dec.decode(m, { stream: true }));
  return n;
}

function timeRuns(fn, runs) {
  const times = [];
  let count = 0;
  fn(); // warm-up
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    count = fn();
    times.push(performance.now() - t0);
  }
  return { ms: median(times), count };
}

// Peak JS heap growth during a run: a full GC first (Chromium runs with
// --expose-gc), so the figure is what this replay added, not what the one
// before it left behind; then sampled every 20 ms.
function heapSampler() {
  if (typeof window.gc === 'function') window.gc();
  const used = () => (performance.memory ? performance.memory.usedJSHeapSize : 0);
  const base = used();
  let peak = base;
  const id = setInterval(() => { peak = Math.max(peak, used()); }, 20);
  return () => { clearInterval(id); peak = Math.max(peak, used()); return peak - base; };
}

async function replayOurs(msgs, frameCount) {
  let syncs = 0;
  const send = (bytes) => { const t = new TextDecoder().decode(bytes); syncs += t.split('4.sync,').length - 1; };
  const c = new GuacamoleClient({ send, autoScale: false });
  const stop = heapSampler();
  const t0 = performance.now();
  for (const m of msgs) c.receive(m);
  while (c.framesRendered < frameCount || c.framesPending > 0) {
    if (performance.now() - t0 > 120000) throw new Error('replay did not finish');
    await sleep(0);
  }
  const ms = performance.now() - t0;
  const heap = stop();
  // The tail after the last sync, as common-js's final flush() draws it.
  return { ms, frames: c.framesRendered, syncs, heap, wasmMemory: wasm.memory.buffer.byteLength, snapshotFn: () => { c.flushPending(); return c.snapshot(); } };
}

async function replayCommon(G, msgs) {
  let syncs = 0;
  const tunnel = new G.Tunnel();
  tunnel.connect = () => {};
  tunnel.sendMessage = (op) => { if (op === 'sync') syncs++; };
  const client = new G.Client(tunnel);
  // Connected state, so that it answers every sync (counted above).
  client.connect();
  const parser = new G.Parser();
  parser.oninstruction = (op, args) => tunnel.oninstruction(op, args);
  const dec = new TextDecoder();
  const stop = heapSampler();
  const t0 = performance.now();
  for (const m of msgs) parser.receive(dec.decode(m, { stream: true }));
  const display = client.getDisplay();
  await new Promise((r) => display.flush(r));
  const ms = performance.now() - t0;
  return { ms, syncs, heap: stop(), snapshot: display.flatten() };
}

function diffPixels(a, b) {
  if (a.width !== b.width || a.height !== b.height) return { diff: -1, total: 0 };
  const pa = a.getContext('2d').getImageData(0, 0, a.width, a.height).data;
  const pb = b.getContext('2d').getImageData(0, 0, b.width, b.height).data;
  let diff = 0;
  for (let i = 0; i < pa.length; i += 4) {
    if (pa[i] !== pb[i] || pa[i + 1] !== pb[i + 1] || pa[i + 2] !== pb[i + 2] || pa[i + 3] !== pb[i + 3]) diff++;
  }
  return { diff, total: a.width * a.height };
}

window.runBench = async ({ files, runs, repeat }) => {
  const results = [];
  for (const file of files) {
    const res = await fetch(`/fixtures/${file}`);
    if (!res.ok) throw new Error(`/fixtures/${file}: HTTP ${res.status}`);
    const one = new Uint8Array(await res.arrayBuffer());
    // Parsing: the recording repeated to a size that times well.
    const big = new Uint8Array(one.length * repeat);
    for (let r = 0; r < repeat; r++) big.set(one, r * one.length);
    const aligned = alignedMessages(big, 16 * 1024);
    const raw = rawMessages(big, 16 * 1024);
    const ours = timeRuns(() => parseOurs(aligned), runs);
    const ours_raw = timeRuns(() => parseOurs(raw), runs);
    const c16 = timeRuns(() => parseCommon(G16, aligned), runs);
    const c16_raw = timeRuns(() => parseCommon(G16, raw), runs);
    // 1.5.0 goes quadratic on aligned messages: measured on the single
    // recording only (its raw-split figure is fine on the big input).
    const c15_raw = timeRuns(() => parseCommon(G15, raw), runs);
    const oneAligned = alignedMessages(one, 16 * 1024);
    const c15_aligned_one = timeRuns(() => parseCommon(G15, oneAligned), 3);
    const c16_aligned_one = timeRuns(() => parseCommon(G16, oneAligned), 3);
    // Replay-render of the single recording (instruction-aligned 16 KiB messages).
    const frames = countSyncs(one);
    const rOurs = [], rCommon = [];
    let last = null;
    for (let r = 0; r < Math.max(3, Math.floor(runs / 2)); r++) {
      const a = await replayOurs(oneAligned, frames);
      a.snapshot = a.snapshotFn();
      const b = await replayCommon(G16, oneAligned);
      rOurs.push(a); rCommon.push(b);
      last = diffPixels(a.snapshot, b.snapshot);
    }
    results.push({
      file, bytes: big.length, instructions: ours.count,
      parse: {
        ours: ours.ms, ours_raw: ours_raw.ms, common16: c16.ms, common16_raw: c16_raw.ms, common15_raw: c15_raw.ms,
        one_bytes: one.length, common15_aligned_one: c15_aligned_one.ms, common16_aligned_one: c16_aligned_one.ms,
        counts: [ours.count, ours_raw.count, c16.count, c16_raw.count, c15_raw.count],
      },
      replay: {
        ours: median(rOurs.map((x) => x.ms)), common16: median(rCommon.map((x) => x.ms)),
        frames_expected: frames, frames_ours: rOurs[0].frames, syncs_ours: rOurs[0].syncs, syncs_common: rCommon[0].syncs,
        heap_ours: Math.max(...rOurs.map((x) => x.heap)), heap_common: Math.max(...rCommon.map((x) => x.heap)),
        wasm_memory: Math.max(...rOurs.map((x) => x.wasmMemory)),
        pixel_diff: last,
      },
    });
  }
  return results;
};
window.benchReady = true;
