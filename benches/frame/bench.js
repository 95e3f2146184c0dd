// The first frame of ssh-live.guac (the launch bench's recording) fed to a
// fresh GuacamoleClient on a fresh canvas, in data-channel-sized messages,
// each in its own task (as the data channel delivers them); measured from the
// last message (the one with the first `sync`) handed to receive() to the
// frame drawn in the canvas (onframe). Driven by run.mjs; window.runFrame
// returns plain numbers.
import init, { GuacamoleClient } from '/pkg/web/pam_launch_wasm.js';

await init();

const B = { decodes: [] };
const cib = globalThis.createImageBitmap;
globalThis.createImageBitmap = function (...a) {
  // An ImageDecoder's frame made a bitmap: timed as its decode (below).
  if (globalThis.VideoFrame && a[0] instanceof VideoFrame) return cib.apply(this, a);
  const d = { start: performance.now(), end: null };
  B.decodes.push(d);
  const p = cib.apply(this, a);
  p.then(() => { d.end = performance.now(); }, () => { d.end = performance.now(); });
  return p;
};
// PNG goes through WebCodecs' ImageDecoder where there is one (src/web/canvas.rs).
if (globalThis.ImageDecoder) {
  const decode = ImageDecoder.prototype.decode;
  ImageDecoder.prototype.decode = function (...a) {
    const d = { start: performance.now(), end: null };
    B.decodes.push(d);
    const p = decode.apply(this, a);
    p.then(() => { d.end = performance.now(); }, () => { d.end = performance.now(); });
    return p;
  };
}

const task = () => new Promise((r) => setTimeout(r, 0));

// Walks the length prefixes (code points) over the UTF-8 bytes: the byte
// offset just past the first `sync` instruction.
function firstSyncEnd(bytes) {
  const dec = new TextDecoder();
  let i = 0;
  while (i < bytes.length) {
    const from = i;
    let op = null;
    for (;;) {
      let n = 0;
      while (bytes[i] !== 0x2e) n = n * 10 + (bytes[i++] - 0x30);
      const s = ++i;
      for (let c = 0; c < n; c++) {
        const b = bytes[i];
        i += b < 0x80 ? 1 : b < 0xe0 ? 2 : b < 0xf0 ? 3 : 4;
      }
      if (op === null) op = dec.decode(bytes.subarray(s, i));
      const sep = bytes[i++];
      if (sep === 0x3b) break;
    }
    if (op === 'sync') return i;
    if (i === from) break;
  }
  throw new Error('no sync in the recording');
}

let stream = null;
window.benchReady = (async () => {
  const all = new Uint8Array(await (await fetch('/fixtures/ssh-live.guac')).arrayBuffer());
  stream = all.subarray(0, firstSyncEnd(all));
  return true;
})();

/** One first frame: { lastToDrawn, decodeAfterLast, applyAndDraw, images, decodeMs, chunks, bytes }. */
// `bitmapOnly`: as where there is no ImageDecoder (every image through
// createImageBitmap), for the comparison.
const imageDecoder = globalThis.ImageDecoder;
window.runFrame = async ({ chunk, gapMs, bitmapOnly = false }) => {
  globalThis.ImageDecoder = bitmapOnly ? undefined : imageDecoder;
  const canvas = document.createElement('canvas');
  canvas.style.width = '1024px';
  canvas.style.height = '768px';
  document.body.replaceChildren(canvas);
  B.decodes = [];
  let drawn = null;
  const client = new GuacamoleClient({ canvas, send: () => {} });
  client.onframe = (n, painted) => { if (painted && drawn === null) drawn = performance.now(); };
  const chunks = [];
  for (let o = 0; o < stream.length; o += chunk) chunks.push(stream.slice(o, o + chunk));
  let last = null;
  for (let k = 0; k < chunks.length; k++) {
    if (k === chunks.length - 1) last = performance.now();
    client.receive(chunks[k]);
    if (gapMs) await new Promise((r) => setTimeout(r, gapMs)); else await task();
  }
  const t0 = performance.now();
  while (drawn === null && performance.now() - t0 < 5000) await task();
  const ends = B.decodes.map((d) => d.end ?? NaN);
  const lastDecode = Math.max(...ends);
  client.disconnect();
  globalThis.ImageDecoder = imageDecoder;
  return {
    lastToDrawn: drawn - last,
    decodeAfterLast: Math.max(0, lastDecode - last),
    applyAndDraw: drawn - Math.max(last, lastDecode),
    images: B.decodes.length,
    decodeMs: B.decodes.map((d) => d.end - d.start),
    chunks: chunks.length,
    bytes: stream.length,
    lastAt: last,
    drawnAt: drawn,
  };
};
