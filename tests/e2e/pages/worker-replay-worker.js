// The worker of tests/e2e/pages/worker.js: a GuacamoleClient drawing into the
// OffscreenCanvas the page transferred, fed the same messages as the page's
// main-thread client; answers with its pixels (the transferred canvas and
// snapshot()) when asked.
import init, { GuacamoleClient } from '/pkg/web/pam_launch_wasm.js';

const ready = init();
let client = null;
let canvas = null;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function drain(frames) {
  const t0 = performance.now();
  while (client.framesPending > 0 || (frames !== undefined && client.framesRendered < frames)) {
    if (performance.now() - t0 > 60000) throw new Error(`worker replay stalled at ${client.framesRendered} frames`);
    await sleep(0);
  }
}

const pixelsOf = (c) => c.getContext('2d').getImageData(0, 0, c.width, c.height);

self.onmessage = async (e) => {
  const m = e.data;
  try {
    await ready;
    if (m.k === 'probe') {
      // No canvas given and no document to make one: UNSUPPORTED, with the sentence.
      let error = null;
      try { new GuacamoleClient({ send: () => {} }).free(); } catch (err) { error = { name: err.name, code: err.code, message: err.message }; }
      // A canvas renderer made here draws its layers on OffscreenCanvases.
      const own = new OffscreenCanvas(1, 1);
      const c = new GuacamoleClient({ send: () => {}, canvas: own, autoScale: false });
      c.receive(new TextEncoder().encode('4.size,1.0,2.64,2.32;4.rect,1.0,1.0,1.0,2.64,2.32;5.cfill,2.14,1.0,3.255,1.0,1.0,3.255;4.sync,1.1;'));
      await sleep(20);
      const px = Array.from(own.getContext('2d').getImageData(10, 10, 1, 1).data);
      const snap = c.snapshot();
      c.free();
      postMessage({ k: 'ok', id: m.id, error, px, size: [own.width, own.height], snapshot: [snap.constructor.name, snap.width, snap.height] });
    } else if (m.k === 'start') {
      if (client) client.free();
      canvas = m.canvas || canvas;
      canvas.width = 0;
      canvas.height = 0;
      client = new GuacamoleClient({ send: () => {}, canvas, autoScale: false });
      postMessage({ k: 'ok', id: m.id, hasDocument: typeof document !== 'undefined' });
    } else if (m.k === 'feed') {
      const t0 = performance.now();
      for (const b of m.msgs) {
        client.receive(b);
        await drain();
      }
      postMessage({ k: 'ok', id: m.id, busy: performance.now() - t0 });
    } else if (m.k === 'finish') {
      await drain(m.frames);
      client.flushPending();
      await sleep(0);
      postMessage({ k: 'ok', id: m.id });
    } else if (m.k === 'pixels') {
      client.redraw();
      const shown = pixelsOf(canvas);
      const snap = client.snapshot();
      const snapped = pixelsOf(snap);
      postMessage({
        k: 'ok', id: m.id, frames: client.framesRendered,
        snapshotIsOffscreen: snap instanceof OffscreenCanvas,
        shown: { w: shown.width, h: shown.height, data: shown.data.buffer },
        snapshot: { w: snapped.width, h: snapped.height, data: snapped.data.buffer },
      }, [shown.data.buffer, snapped.data.buffer]);
    }
  } catch (err) {
    postMessage({ k: 'error', id: m.id, message: String(err && err.message || err) });
  }
};
