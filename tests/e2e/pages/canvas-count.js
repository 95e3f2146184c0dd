// The page of tests/e2e/canvas-count.test.mjs: a GuacamoleClient fed a
// stream made here, one frame at a time; window.CC.run(frames) returns
// canvasCount after each frame is drawn.
import init, { GuacamoleClient } from '/pkg/pam_launch_wasm.js';

await init();
const enc = new TextEncoder();
const ins = (...el) => `${el.map((e) => `${String(e).length}.${e}`).join(',')};`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

window.CC = {
  ins,
  /** `frames`: instruction text per frame (a sync is appended to each). */
  async run(frames, renderer = 'canvas') {
    const client = new GuacamoleClient({
      send: () => {}, renderer, canvas: renderer === 'canvas' ? document.getElementById('screen') : undefined, autoScale: false,
    });
    const counts = [client.canvasCount];
    let ts = 1;
    for (const f of frames) {
      client.receive(enc.encode(f + ins('sync', ts++)));
      const t0 = performance.now();
      while (client.framesRendered < ts - 1) {
        if (performance.now() - t0 > 10000) throw new Error(`frame ${ts - 1} not drawn`);
        await sleep(0);
      }
      counts.push(client.canvasCount);
    }
    client.free();
    return counts;
  },
};
