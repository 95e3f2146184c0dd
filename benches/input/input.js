// The page of benches/input/run.mjs: one launch() session (the product's wasm,
// canvas renderer, input attached to the canvas) against the in-page gateway
// of tests/e2e/pages/launch-loopback.js, and the instrumentation that times
// input from the browser's event to the data channel.
//
// - Every keydown/keyup/mousemove/mousedown/mouseup/wheel the driver
//   dispatches (it arms the page with the kind first) is seen first by a
//   capture-phase listener on window, which notes the event's own timeStamp
//   (when the browser took the input in; same clock as performance.now())
//   and when dispatch reached the page (performance.now() in the listener).
//   A move is taken at its `pointerrawupdate` where the browser fires one
//   (it comes before the `mousemove`, which waits for an animation frame).
// - RTCDataChannel.prototype.send is wrapped: each call on the client's
//   channel is stamped with performance.now() before the bytes go to the
//   browser, its tunnel frames are read (conn u32 | ts u64 | len u32 |
//   payload | ';', docs/tube-framing.md) and every `key` / `mouse`
//   instruction on connection 1 completes the oldest event of its kind still
//   waiting. An instruction with no event waiting (the second half of a
//   wheel's press and release) is not counted.
// - The gateway side paces a recording as guacd does: it sends the next
//   frame (the instructions up to and including a `sync`) while fewer than
//   `ahead` frames are unanswered, so with `loop` the renderer always has a
//   frame to decode and draw (busy); without, it stops after `frames` frames
//   and the session goes quiet (idle).
import { frame, frameReader } from '/pages/tube-frames.mjs';
import '/pages/launch-loopback.js';

const T = window.T;
const enc = new TextEncoder();
const dec = new TextDecoder();
const MAX_FRAME_PAYLOAD = 16 * 1024;
const KIND = { keydown: 'key', keyup: 'key', mousemove: 'mouse', mousedown: 'mouse', mouseup: 'mouse', wheel: 'mouse' };

const entries = [];
const waiting = { key: [], mouse: [] };
let recording = false;
let settleWaiters = [];
// The event the driver is about to dispatch: the first event of that kind
// opens its entry. A move opens at `pointerrawupdate` (where the browser has
// it) or `mousemove`, whichever comes first; both carry the same timeStamp.
let armed = null;
const opens = (type, e) => {
  if (armed === 'mousemove') return type === 'mousemove' || (type === 'pointerrawupdate' && e.pointerType === 'mouse');
  return type === armed;
};

for (const type of [...Object.keys(KIND), 'pointerrawupdate']) {
  window.addEventListener(type, (e) => {
    if (!recording || !armed || !opens(type, e)) return;
    const en = { type: armed, via: type, ts: e.timeStamp, handler: performance.now(), send: null, instruction: null };
    waiting[KIND[armed]].push(en);
    entries.push(en);
    armed = null;
  }, { capture: true, passive: true });
}

let gatewayChannel = null;
const nativeSend = RTCDataChannel.prototype.send;
RTCDataChannel.prototype.send = function send(data) {
  const t = performance.now();
  if (recording && this !== gatewayChannel && data instanceof Uint8Array) inspect(data, t);
  return nativeSend.call(this, data);
};

function inspect(u8, t) {
  const dv = new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
  let off = 0;
  while (off + 17 <= u8.length) {
    const conn = dv.getUint32(off);
    const len = dv.getUint32(off + 12);
    if (off + 17 + len > u8.length) break;
    if (conn === 1) {
      const text = dec.decode(u8.subarray(off + 16, off + 16 + len));
      for (const m of text.matchAll(/(?:^|;)((3\.key|5\.mouse),[^;]*)/g)) {
        const en = waiting[m[2] === '3.key' ? 'key' : 'mouse'].shift();
        if (en) {
          en.send = t;
          en.instruction = m[1];
        }
      }
    }
    off += 17 + len;
  }
  checkSettled();
}

function checkSettled() {
  settleWaiters = settleWaiters.filter((w) => {
    if (entries.length < w.n || waiting.key.length || waiting.mouse.length) return true;
    clearTimeout(w.timer);
    w.resolve(true);
    return false;
  });
}

// ---------------------------------------------------------------- the gateway's pace

let pacer = null;

function startPacer(gw, chunks, { ahead, loop, frames }) {
  // Each frame's `sync` timestamp, for matching the client's answers.
  const stamps = chunks.map((parts) => {
    const text = dec.decode(parts[parts.length - 1].subarray(-64));
    const m = text.match(/4\.sync,\d+\.(\d+)[,;][^]*$/);
    return m ? m[1] : null;
  });
  // The client answers the newest frame drawn (never one timestamp twice),
  // so an answer acknowledges every frame sent up to the one it names.
  const state = { sent: 0, answered: 0, next: 0, running: true, loop, frames, outstanding: [], lastAnswer: null };
  const send = () => {
    while (state.running && state.outstanding.length < ahead) {
      if (!state.loop && state.sent >= state.frames) break;
      if (state.next >= chunks.length) state.next = 0;
      // A frame stamped like the last answer is answered already (as guacd
      // sees it: the client acknowledged that timestamp).
      if (stamps[state.next] !== state.lastAnswer) state.outstanding.push(stamps[state.next]);
      for (const part of chunks[state.next++]) gw.dc.send(frame(1, part));
      state.sent++;
    }
  };
  const read = frameReader((conn, _ts, payload) => {
    if (conn !== 1) return;
    for (const m of dec.decode(payload).matchAll(/(?<=^|;)4\.sync,\d+\.(\d+);/g)) {
      // guacd repeats a timestamp when frames come faster than its clock
      // ticks; the client answers it once, for all of them.
      const at = state.outstanding.lastIndexOf(m[1]);
      if (at < 0) continue;
      state.answered += at + 1;
      state.outstanding.splice(0, at + 1);
      state.lastAnswer = m[1];
    }
    send();
  }, () => {});
  gw.dc.addEventListener('message', (ev) => read(new Uint8Array(ev.data)));
  state.stop = () => { state.running = false; };
  state.resume = (opts) => {
    Object.assign(state, opts, { running: true });
    send();
  };
  send();
  return state;
}

// ---------------------------------------------------------------- the bench's handle

const longTasks = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) longTasks.push({ at: e.startTime, ms: e.duration });
}).observe({ type: 'longtask', buffered: false });

// Long animation frames (> 50 ms) and the scripts in them, by invoker: where
// the main thread went while input waited.
const loaf = [];
try {
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      loaf.push({ ms: e.duration, blocking: e.blockingDuration, scripts: (e.scripts || []).map((x) => ({ invoker: x.invoker, type: x.invokerType, ms: x.duration, fn: x.sourceFunctionName })) });
    }
  }).observe({ type: 'long-animation-frame', buffered: false });
} catch { /* not in this browser */ }

const B = {
  /** launch() against the in-page gateway; resolves once `frames` frames are drawn. */
  async start({ request, seed, recording: text, frames }) {
    const chunks = [];
    for (const c of text) {
      const bytes = enc.encode(c);
      const parts = [];
      for (let o = 0; o < bytes.length; o += MAX_FRAME_PAYLOAD) parts.push(bytes.subarray(o, o + MAX_FRAME_PAYLOAD));
      chunks.push(parts);
    }
    await T.start({ request, seed, chunks: [], trickle: true, mode: 'ok', planForm: 'plan' });
    const cur = T.cur;
    if (cur.error) throw new Error(`launch threw ${cur.error.code}: ${cur.error.message}`);
    const t0 = performance.now();
    while (!(cur.gw.dc && cur.gw.opens.length)) {
      if (performance.now() - t0 > 20000) throw new Error(`no ConnectionOpened: ${JSON.stringify(T.phases())}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    gatewayChannel = cur.gw.dc;
    pacer = startPacer(cur.gw, chunks, { ahead: 2, loop: false, frames });
    while (cur.frames < frames) {
      if (performance.now() - t0 > 30000) throw new Error(`${cur.frames} of ${frames} frames drawn (${pacer.sent} sent)`);
      await new Promise((r) => setTimeout(r, 10));
    }
    T.focusAndType();
    return { phases: T.phases(), frames: cur.frames, chunks: chunks.length };
  },
  /** idle: the gateway sends nothing more (and every frame sent is drawn); busy: frames at the pace they are answered. */
  async condition(name) {
    if (name === 'busy') {
      pacer.resume({ loop: true });
      // Let the pipeline fill (decodes running, frames queued).
      await new Promise((r) => setTimeout(r, 300));
    } else {
      pacer.stop();
      const t0 = performance.now();
      // Every frame sent has arrived and is drawn (the looped recording
      // counts each pass's frames again).
      while (T.cur.frames < pacer.sent && performance.now() - t0 < 10000) await new Promise((r) => setTimeout(r, 10));
      await new Promise((r) => setTimeout(r, 300));
    }
    entries.length = 0;
    waiting.key.length = 0;
    waiting.mouse.length = 0;
    longTasks.length = 0;
    loaf.length = 0;
    recording = true;
    return { frames: T.cur.frames, at: performance.now(), answered: pacer.answered };
  },
  /** The next event of this type opens an entry. */
  arm(type) {
    armed = type;
  },
  /** Resolves once `n` events were seen and each has its send; false after `ms` without. */
  settle(n, ms = 2000) {
    return new Promise((resolve) => {
      const w = { n, resolve, timer: setTimeout(() => { settleWaiters = settleWaiters.filter((x) => x !== w); resolve(false); }, ms) };
      settleWaiters.push(w);
      checkSettled();
    });
  },
  /** Ends a condition: what was measured, and what the renderer did meanwhile. */
  finish() {
    recording = false;
    const lost = waiting.key.length + waiting.mouse.length;
    for (const en of entries) if (en.send === null) en.lost = true;
    const cur = T.cur;
    return {
      entries: entries.map((e) => ({ type: e.type, via: e.via, ts: e.ts, handler: e.handler, send: e.send, instruction: e.instruction })),
      lost,
      frames: cur.frames,
      at: performance.now(),
      answered: pacer.answered,
      pacer: { sent: pacer.sent, outstanding: pacer.outstanding.slice(), pending: cur.session.client.framesPending },
      syncLagMs: cur.session.stats.syncLagMs ?? null,
      longTasks: longTasks.slice(),
      loaf: loaf.slice(),
      canvas: { x: cur.session.client.canvas.getBoundingClientRect().left, y: cur.session.client.canvas.getBoundingClientRect().top },
    };
  },
  /** The pacer's state (for BENCH_INPUT_DEBUG). */
  finishPeek() {
    return { sent: pacer.sent, answered: pacer.answered, outstanding: pacer.outstanding.slice(), pending: T.cur.session.client.framesPending, drawn: T.cur.frames };
  },
  /** Where the canvas is on the page (the mouse must land on it). */
  canvasBox() {
    const r = document.getElementById('screen').getBoundingClientRect();
    return { x: r.left, y: r.top, width: r.width, height: r.height };
  },
  stop() {
    if (pacer) pacer.stop();
    T.cur.session.disconnect();
  },
};
window.B = B;
