// The page of tests/e2e/frame-slices.test.mjs: a GuacamoleClient on a canvas,
// fed by hand-made Guacamole instructions, watched from outside: every
// composite into the visible canvas (its context's clearRect, which each
// composite starts with), every byte the client sends, and the visible pixels
// between the tasks that apply a frame.
import init, { GuacamoleClient } from '/pkg/web/pam_launch_wasm.js';

await init();

const enc = new TextEncoder();
const dec = new TextDecoder();
const ins = (...args) => args.map((a) => `${String(a).length}.${a}`).join(',') + ';';
const nextTask = () => new Promise((r) => setTimeout(r, 0));

function makeClient() {
  const canvas = document.getElementById('screen');
  const log = { composites: 0, sent: [], syncs: [] };
  const client = new GuacamoleClient({
    canvas,
    autoScale: false,
    send: (b) => {
      const text = dec.decode(b);
      log.sent.push({ text, composites: log.composites });
      for (const m of text.matchAll(/4\.sync,\d+\.(\d+);/g)) log.syncs.push({ ts: m[1], composites: log.composites });
    },
  });
  // The visible canvas's own context, as the client draws into it.
  const ctx = canvas.getContext('2d');
  const clearRect = ctx.clearRect;
  ctx.clearRect = function (...a) {
    log.composites++;
    return clearRect.apply(this, a);
  };
  const frames = [];
  client.onframe = (n) => frames.push({ n, composites: log.composites });
  return { canvas, ctx, client, log, frames };
}

const pixel = (ctx, x, y) => Array.from(ctx.getImageData(x, y, 1, 1).data);

// A 64x64 display filled blue (frame 1), then one frame of `pairs` small
// green rectangles in the top-left corner followed by a red fill of the
// whole display (frame 2, sync 2). Between the tasks that apply frame 2 the
// visible canvas must still be blue at (4, 4): never green (half applied).
window.slicedFrame = async (pairs) => {
  const { ctx, client, log, frames } = makeClient();
  client.receive(enc.encode(ins('size', 0, 64, 64) + ins('rect', 0, 0, 0, 64, 64) + ins('cfill', 14, 0, 0, 0, 255, 255) + ins('sync', 1)));
  const t0 = performance.now();
  while (client.framesPending > 0 && performance.now() - t0 < 10000) await nextTask();
  const before = { composites: log.composites, frames: frames.length, pixel: pixel(ctx, 4, 4) };
  let body = '';
  for (let k = 0; k < pairs; k++) body += ins('rect', 0, 0, 0, 8, 8) + ins('cfill', 14, 0, 0, 255, 0, 255);
  body += ins('rect', 0, 0, 0, 64, 64) + ins('cfill', 14, 0, 255, 0, 0, 255) + ins('sync', 2);
  const receiveStarted = performance.now();
  client.receive(enc.encode(body));
  const receiveMs = performance.now() - receiveStarted;
  const pendingAfterReceive = client.framesPending;
  // While it is applied: what the page sees between tasks, and a key sent then.
  const seen = [];
  let key = null;
  while (client.framesPending > 0 && performance.now() - t0 < 30000) {
    seen.push({ pixel: pixel(ctx, 4, 4), composites: log.composites });
    if (key === null) {
      const at = log.sent.length;
      client.sendKeyEvent(0x61, true);
      key = { sentAtOnce: log.sent.slice(at).some((s) => s.text.includes('3.key,2.97,1.1;')), syncsBefore: log.syncs.filter((s) => s.ts === '2').length };
    }
    await new Promise((r) => {
      const ch = new MessageChannel();
      ch.port1.onmessage = () => r();
      ch.port2.postMessage(0);
    });
  }
  return {
    before,
    receiveMs,
    pendingAfterReceive,
    seen,
    key,
    after: { composites: log.composites, pixel: pixel(ctx, 4, 4), centre: pixel(ctx, 32, 32) },
    sync2: log.syncs.filter((s) => s.ts === '2'),
    frames,
  };
};

// Mouse moves through the attached input: the instructions sent, and, per
// move, whether its instruction had been sent when the page's `mousemove`
// for it arrived (true: it left at the earlier pointerrawupdate).
window.mouseSetup = () => {
  const canvas = document.getElementById('screen');
  canvas.style.width = '64px';
  canvas.style.height = '64px';
  const { client, log } = makeClient();
  client.receive(enc.encode(ins('size', 0, 64, 64) + ins('sync', 1)));
  client.attachInput(canvas);
  window.mouseLog = log;
  window.mouseMoves = [];
  window.addEventListener('mousemove', () => {
    const text = log.sent.map((s) => s.text).join('');
    window.mouseMoves.push({ mouseInstructions: (text.match(/5\.mouse,/g) || []).length });
  }, { capture: true });
  const r = canvas.getBoundingClientRect();
  return { x: r.left, y: r.top, raw: 'onpointerrawupdate' in window };
};
window.mouseSent = () => {
  const text = window.mouseLog.sent.map((s) => s.text).join('');
  return [...text.matchAll(/5\.mouse,\d+\.(-?\d+),\d+\.(-?\d+),\d+\.(\d+);/g)].map((m) => m.slice(1).map(Number));
};

window.pageReady = true;
