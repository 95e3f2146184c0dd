// The soak's Worker renderer: a GuacamoleClient drawing into the
// OffscreenCanvas the page transferred (its layers are OffscreenCanvases),
// fed by the same feeder as the main thread; answers the page's requests
// with the same figures, the wasm memory being this Worker's own module's.
import init, { GuacamoleClient } from '/pkg/web/pam_launch_wasm.js';
import { createFeeder } from './feeder.mjs';

const ready = init();
let feeder = null;

self.onmessage = async (e) => {
  const m = e.data;
  try {
    const wasm = await ready;
    let value;
    if (m.k === 'setup') {
      feeder = createFeeder({ GuacamoleClient, canvas: m.canvas, memory: wasm.memory, recordings: m.recordings, freshClient: m.freshClient });
      value = { recordings: feeder.recordings, wasmBytes: wasm.memory.buffer.byteLength };
    } else if (m.k === 'run') {
      value = await feeder.run(m.untilMs);
    } else if (m.k === 'end') {
      value = feeder.end();
    }
    postMessage({ k: 'ok', id: m.id, value });
  } catch (err) {
    postMessage({ k: 'error', id: m.id, message: String((err && err.message) || err) });
  }
};
