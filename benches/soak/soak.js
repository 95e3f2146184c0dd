// The soak bench's page (benches/soak/run.mjs drives it): `?renderer=main`
// plays the recordings into a GuacamoleClient on this thread, drawing into
// the page's <canvas>; `?renderer=worker` hands the canvas to a dedicated
// Worker (soak-worker.js) as an OffscreenCanvas and relays the driver's
// requests to it. Either way window.soakSetup(options) then
// window.soakRun(untilMs) for each minute of session time, window.soakEnd().
import { createFeeder } from './feeder.mjs';

const renderer = new URLSearchParams(location.search).get('renderer') || 'main';
const canvas = document.getElementById('screen');

const fetchBytes = async (name) => {
  const res = await fetch(`/fixtures/${name}`);
  if (!res.ok) throw new Error(`/fixtures/${name}: ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
};

if (renderer === 'main') {
  const { default: init, GuacamoleClient } = await import('/pkg/web/pam_launch_wasm.js');
  // init() gives the instance's exports, its memory among them.
  const wasm = await init();
  let feeder = null;
  window.soakSetup = async ({ files, freshClient }) => {
    const recordings = [];
    for (const name of files) recordings.push({ name, bytes: await fetchBytes(name) });
    feeder = createFeeder({ GuacamoleClient, canvas, memory: wasm.memory, recordings, freshClient });
    return { recordings: feeder.recordings, wasmBytes: wasm.memory.buffer.byteLength };
  };
  window.soakRun = (untilMs) => feeder.run(untilMs);
  window.soakEnd = () => feeder.end();
} else {
  // Started by soakSetup, so the driver can attach to it first (its heap is read through CDP).
  let worker = null;
  let nextId = 1;
  const waiting = new Map();
  window.soakStartWorker = () => {
    worker = new Worker('/soak/soak-worker.js', { type: 'module' });
    worker.onmessage = (e) => {
      const w = waiting.get(e.data.id);
      if (!w) return;
      waiting.delete(e.data.id);
      if (e.data.k === 'error') w.reject(new Error(e.data.message)); else w.resolve(e.data.value);
    };
    worker.onerror = (e) => { for (const w of waiting.values()) w.reject(new Error(`worker: ${e.message}`)); waiting.clear(); };
  };
  const ask = (msg, transfer = []) => new Promise((resolve, reject) => {
    const id = nextId++;
    waiting.set(id, { resolve, reject });
    worker.postMessage({ ...msg, id }, transfer);
  });
  window.soakSetup = async ({ files, freshClient }) => {
    const recordings = [];
    for (const name of files) recordings.push({ name, bytes: await fetchBytes(name) });
    const offscreen = canvas.transferControlToOffscreen();
    return ask({ k: 'setup', canvas: offscreen, recordings, freshClient }, [offscreen, ...recordings.map((r) => r.bytes.buffer)]);
  };
  window.soakRun = (untilMs) => ask({ k: 'run', untilMs });
  window.soakEnd = () => ask({ k: 'end' });
}
window.soakReady = true;
