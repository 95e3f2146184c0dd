// The page side of a session in a dedicated Worker: hands the canvas to the
// worker (transferControlToOffscreen), hosts the real RTCPeerConnection and
// the caller's signaling for it (./relay.js), and forwards the canvas's
// input events (keyboard, mouse, wheel, touch as mouse, paste, resize) as
// plain messages. Everything else (tunnel, crypto, Guacamole, drawing) runs
// in the worker (./session-worker.js).
import { hostRelay } from './relay.js';

export { hostRelay, relayClient } from './relay.js';

const PASTE_WAIT_MS = 100;

/** The KeyboardEvent fields the worker's KeyTranslator reads. */
function keyFields(e) {
  return {
    type: e.type, key: e.key, code: e.code, location: e.location, repeat: e.repeat,
    shiftKey: e.shiftKey, ctrlKey: e.ctrlKey, altKey: e.altKey, metaKey: e.metaKey,
    altGraph: e.getModifierState('AltGraph'), capsLock: e.getModifierState('CapsLock'),
    isComposing: e.isComposing,
  };
}

const isPasteShortcut = (e) =>
  ((e.ctrlKey || e.metaKey) && !e.altKey && (e.key.toLowerCase() === 'v' || e.code === 'KeyV')) ||
  (e.shiftKey && e.key === 'Insert');

/** Platform quirks from the user agent, as attachInput reads them. */
function keyboardQuirks(keypadEnter) {
  const ua = navigator.userAgent;
  const ios = /iPhone|iPad|iPod/.test(ua);
  const macSafari = ua.includes('Macintosh') && ua.includes('Safari') && !/Chrome|Chromium/.test(ua);
  return { keypadEnter: !!keypadEnter, keyupUnreliable: ios, lockKeysToggle: macSafari || ios };
}

/**
 * Starts a launch in `worker` (a module Worker running ./session-worker.js)
 * drawing into `canvas`. See index.d.ts for the options and the handle.
 * @param {import('./index').WorkerLaunchOptions} opts
 * @returns {import('./index').WorkerSession}
 */
export function launchInWorker(opts) {
  const { worker, canvas, signaling, onstatus, onframe, RTCPeerConnection, wasm, input = true, ...rest } = opts;
  if (!(canvas instanceof HTMLCanvasElement)) throw new TypeError('canvas must be an HTMLCanvasElement (it is transferred to the worker)');
  if (!worker || typeof worker.postMessage !== 'function') throw new TypeError('worker must be a Worker running session-worker.js');
  if (!signaling || typeof signaling.send !== 'function' || typeof signaling.subscribe !== 'function') {
    throw new TypeError('signaling must be { send(action, options), subscribe(handler, hint) }');
  }
  const dpr = globalThis.devicePixelRatio || 1;
  const box = () => ({ w: canvas.clientWidth, h: canvas.clientHeight });
  const { w, h } = box();
  const options = { ...rest };
  // The remote size from the CSS box x devicePixelRatio, as launch() does in a page.
  if (options.width === undefined && w > 0) options.width = Math.round(w * dpr);
  if (options.height === undefined && h > 0) options.height = Math.round(h * dpr);
  if (options.dpi === undefined) options.dpi = Math.round(96 * dpr);
  const offscreen = canvas.transferControlToOffscreen();
  const { port1, port2 } = new MessageChannel();
  const stopRelay = hostRelay(port1, { signaling, RTCPeerConnection });

  let status = { phase: 'planning', message: 'starting the worker' };
  let resolveClosed;
  const closed = new Promise((r) => { resolveClosed = r; });
  const cleanups = [];
  let finished = false;
  const finish = (s) => {
    if (finished) return;
    finished = true;
    status = s;
    for (const c of cleanups.splice(0)) c();
    stopRelay();
    resolveClosed(s);
  };
  const handle = {
    get status() { return status; },
    closed,
    timings: null,
    frames: 0,
    disconnect() { port1.postMessage({ k: 'input', type: 'disconnect' }); },
    send(input) { port1.postMessage({ k: 'input', ...input }); },
  };
  port1.addEventListener('message', (e) => {
    const m = e.data;
    if (!m) return;
    if (m.k === 'status') {
      status = m.status;
      if (onstatus) onstatus(m.status);
    } else if (m.k === 'frame') {
      handle.frames = m.frames;
      if (onframe) onframe(m.frames);
    } else if (m.k === 'closed') {
      handle.timings = m.timings;
      finish(m.status);
    } else if (m.k === 'failed') {
      const s = { phase: 'closed', message: m.error.message, error: m.error };
      if (onstatus) onstatus(s);
      finish(s);
    }
  });

  // A worker that fails to load or throws before the session starts ends the launch.
  const onWorkerError = (e) => {
    if (status.phase === 'closed') return;
    const s = { phase: 'closed', message: `the session worker failed: ${(e && e.message) || 'it did not load'}`, error: { name: 'Error', message: (e && e.message) || 'the session worker did not load' } };
    if (onstatus) onstatus(s);
    finish(s);
  };
  worker.addEventListener('error', onWorkerError);
  cleanups.push(() => worker.removeEventListener('error', onWorkerError));

  worker.postMessage({
    k: 'pam:start', port: port2, canvas: offscreen, options, wasm,
    keyboard: keyboardQuirks(options.keypadEnter),
  }, [port2, offscreen]);
  if (input) cleanups.push(forwardInput(canvas, (m) => port1.postMessage({ k: 'input', ...m })));
  return handle;
}

/** Forwards `canvas`'s input events through `send`; returns the function that stops it. */
function forwardInput(canvas, send) {
  const offs = [];
  const on = (target, type, f, o) => { target.addEventListener(type, f, o); offs.push(() => target.removeEventListener(type, f, o)); };
  if (!canvas.hasAttribute('tabindex')) canvas.tabIndex = 0;
  let pasteWait = null; // key messages held until the clipboard went first
  const flushHeld = () => {
    if (!pasteWait) return;
    clearTimeout(pasteWait.timer);
    const held = pasteWait.keys;
    pasteWait = null;
    for (const m of held) send(m);
  };
  const key = (e) => {
    const m = { type: e.type, event: keyFields(e) };
    const paste = e.type === 'keydown' && isPasteShortcut(e);
    // The browser's default runs only for a paste shortcut (so a paste event comes) and IME.
    if (!paste && !e.isComposing) e.preventDefault();
    if (paste && !pasteWait) pasteWait = { keys: [], timer: setTimeout(flushHeld, PASTE_WAIT_MS) };
    if (pasteWait) pasteWait.keys.push(m); else send(m);
  };
  on(canvas, 'keydown', key);
  on(canvas, 'keyup', key);
  on(canvas, 'blur', () => { flushHeld(); send({ type: 'blur' }); });
  on(canvas, 'paste', (e) => {
    const text = e.clipboardData && e.clipboardData.getData('text/plain');
    if (text) { e.preventDefault(); send({ type: 'paste', text }); }
    flushHeld();
  });
  const mouse = (e) => {
    const r = canvas.getBoundingClientRect();
    send({ type: 'mouse', x: e.clientX - r.left, y: e.clientY - r.top, w: r.width, h: r.height, buttons: e.buttons });
    if (e.type === 'mousedown') { e.preventDefault(); canvas.focus(); }
  };
  for (const t of ['mousemove', 'mousedown', 'mouseup']) on(canvas, t, mouse);
  on(canvas, 'contextmenu', (e) => e.preventDefault());
  on(canvas, 'wheel', (e) => { e.preventDefault(); send({ type: 'wheel', deltaY: e.deltaY }); }, { passive: false });
  const touch = (e) => {
    const t = e.changedTouches[0];
    if (!t) return;
    e.preventDefault();
    const r = canvas.getBoundingClientRect();
    const at = { x: t.clientX - r.left, y: t.clientY - r.top, w: r.width, h: r.height };
    if (e.type === 'touchstart') send({ type: 'mouse', ...at, buttons: 0 });
    send({ type: 'mouse', ...at, buttons: e.type === 'touchend' || e.type === 'touchcancel' ? 0 : 1 });
  };
  for (const t of ['touchstart', 'touchmove', 'touchend', 'touchcancel']) on(canvas, t, touch, { passive: false });
  if (typeof ResizeObserver === 'function') {
    let last = null;
    const ro = new ResizeObserver(() => {
      const w = canvas.clientWidth, h = canvas.clientHeight;
      if (!w || !h || (last && last.w === w && last.h === h)) return;
      const first = last === null;
      last = { w, h };
      if (!first) send({ type: 'resize', w, h, dpr: globalThis.devicePixelRatio || 1 });
    });
    ro.observe(canvas);
    offs.push(() => ro.disconnect());
  }
  return () => { flushHeld(); for (const off of offs.splice(0)) off(); };
}
