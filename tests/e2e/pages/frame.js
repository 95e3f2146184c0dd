// The first-frame path, driven by frame.test.mjs: images through WebCodecs'
// ImageDecoder (PNG) against createImageBitmap alone, and the spare layer
// canvases allocated when a `size` arrives. Each window.* returns plain data.
import init, { GuacamoleClient } from '/pkg/web/pam_launch_wasm.js';
import { alignedMessages } from './aligned-messages.mjs';

await init();

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const enc = new TextEncoder();
// One instruction; lengths in code points (the test's arguments are ASCII).
const ins = (...a) => enc.encode(`${a.map((x) => `${String(x).length}.${x}`).join(',')};`);

// Calls of ImageDecoder.prototype.decode and createImageBitmap with a Blob.
// `failDecoder`: every decode rejects, as a browser whose ImageDecoder does
// not take PNG would.
const calls = { decoder: 0, blob: 0 };
let failDecoder = false;
const imageDecoder = globalThis.ImageDecoder;
if (imageDecoder) {
  const decode = imageDecoder.prototype.decode;
  imageDecoder.prototype.decode = function (...a) {
    calls.decoder++;
    if (failDecoder) return Promise.reject(new DOMException('not this type', 'NotSupportedError'));
    return decode.apply(this, a);
  };
}
const cib = globalThis.createImageBitmap;
globalThis.createImageBitmap = function (...a) { if (a[0] instanceof Blob) calls.blob++; return cib.apply(this, a); };

// Canvases the page creates (every layer canvas and spare is an element here).
let canvasesMade = 0;
const createElement = Document.prototype.createElement;
Document.prototype.createElement = function (name, ...rest) {
  if (String(name).toLowerCase() === 'canvas') canvasesMade++;
  return createElement.call(this, name, ...rest);
};

function pixels(canvas) {
  return canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
}

/** A recording replayed message by message; `bitmapOnly` hides ImageDecoder. */
async function replay(name, bitmapOnly) {
  const bytes = new Uint8Array(await (await fetch(`/fixtures/${name}`)).arrayBuffer());
  globalThis.ImageDecoder = bitmapOnly ? undefined : imageDecoder;
  calls.decoder = 0;
  calls.blob = 0;
  try {
    const c = new GuacamoleClient({ send: () => {}, autoScale: false });
    const t0 = performance.now();
    for (const m of alignedMessages(bytes, 64 * 1024)) {
      c.receive(m);
      while (c.framesPending > 0) {
        if (performance.now() - t0 > 60000) throw new Error(`${name}: stalled at ${c.framesRendered} frames`);
        await sleep(0);
      }
    }
    c.flushPending();
    await sleep(0);
    return { snap: c.snapshot(), frames: c.framesRendered, decoder: calls.decoder, blob: calls.blob };
  } finally {
    globalThis.ImageDecoder = imageDecoder;
  }
}

window.hasImageDecoder = () => typeof imageDecoder === 'function';

window.decodersAgree = async (name, { failing = false } = {}) => {
  const a = await replay(name, true);
  failDecoder = failing;
  let b;
  try { b = await replay(name, false); } finally { failDecoder = false; }
  const pa = pixels(a.snap), pb = pixels(b.snap);
  let differing = 0;
  for (let i = 0; i < pa.length; i += 4) {
    if (pa[i] !== pb[i] || pa[i + 1] !== pb[i + 1] || pa[i + 2] !== pb[i + 2] || pa[i + 3] !== pb[i + 3]) differing++;
  }
  return {
    differing, size: [a.snap.width, a.snap.height, b.snap.width, b.snap.height], frames: [a.frames, b.frames],
    bitmapOnly: { decoder: a.decoder, blob: a.blob }, shipped: { decoder: b.decoder, blob: b.blob },
  };
};

// A first frame in pieces: layer 0 sized and filled, 20 more layers sized,
// one 4096x4096 buffer-sized layer, the counts of canvases made after each
// piece, then the sync and what the frame drew.
window.spares = async () => {
  const c = new GuacamoleClient({ send: () => {}, autoScale: false });
  const made = () => { const n = canvasesMade; canvasesMade = 0; return n; };
  made();
  c.receive(ins('size', 0, 1024, 768));
  c.receive(ins('rect', 0, 0, 0, 1024, 768));
  c.receive(ins('cfill', 14, 0, 200, 10, 20, 255));
  const afterLayer0 = made();
  const big = [];
  c.receive(ins('size', 30, 4096, 4096));
  big.push(made());
  for (let k = 1; k <= 20; k++) c.receive(ins('size', k, 64 * k, 64));
  const afterTwenty = made();
  const countOpen = c.canvasCount;
  const drawnBefore = c.framesRendered;
  c.receive(ins('sync', 1));
  for (let i = 0; i < 50 && c.framesRendered === drawnBefore; i++) await sleep(0);
  const afterSync = made();
  const countDrawn = c.canvasCount;
  const snap = c.snapshot();
  const px = snap.getContext('2d').getImageData(512, 384, 1, 1).data;
  return { afterLayer0, big, afterTwenty, afterSync, countOpen, countDrawn, drawnBefore, drawn: c.framesRendered, size: [c.width, c.height], pixel: [...px] };
};

window.pageReady = true;
