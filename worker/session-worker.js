// The dedicated Worker that runs a pam-launch-wasm session: the wasm, the
// tunnel framing and crypto, Guacamole and the drawing (into the
// OffscreenCanvas the page transferred). The page (./page.js,
// launchInWorker) relays WebRTC and signaling (./relay.js) and forwards
// input events as plain messages, which become Guacamole input here.
// Start it as a module worker: new Worker(url, { type: 'module' }).
import init, { launch, KeyTranslator } from '../pkg/web/pam_launch_wasm.js';
import { relayClient } from './relay.js';

/** A LaunchStatus as plain data (the error as {name, code, message}). */
const plainStatus = (s) => ({
  phase: s.phase,
  message: s.message,
  error: s.error ? { name: s.error.name, code: s.error.code, message: s.error.message } : undefined,
  // Plain objects already (the final status only).
  closeReason: s.closeReason,
  guacStatus: s.guacStatus,
});

// Guacamole mouse mask bits from MouseEvent.buttons (left 1, right 2, middle 4).
const maskOf = (buttons) => (buttons & 1) | ((buttons & 4) ? 2 : 0) | ((buttons & 2) ? 4 : 0);

function run(start) {
  const { port, canvas } = start;
  const { RelayPeerConnection, signaling } = relayClient(port);
  const post = (m) => port.postMessage(m);
  let session;
  try {
    session = launch({
      ...start.options,
      canvas,
      renderer: 'canvas',
      RTCPeerConnection: RelayPeerConnection,
      signaling,
      onstatus: (s) => post({ k: 'status', status: plainStatus(s) }),
    });
  } catch (e) {
    post({ k: 'failed', error: { name: e.name, code: e.code, message: e.message } });
    return;
  }
  session.onframe = (n) => post({ k: 'frame', frames: n });
  session.closed.then((s) => post({ k: 'closed', status: plainStatus(s), timings: session.timings }));

  const keys = new KeyTranslator(start.keyboard || {});
  const sendKeys = (pairs) => { for (const [sym, pressed] of pairs) session.sendKeyEvent(sym, pressed); };
  // The page's CSS box and the bitmap shown in it (drawn 1:1 here): CSS
  // pixels to remote pixels, as the browser stretches the bitmap to the box.
  const remote = (x, y, w, h) => [
    Math.floor((x * canvas.width) / Math.max(1, w)),
    Math.floor((y * canvas.height) / Math.max(1, h)),
  ];
  let pointer = [0, 0, 0];
  port.addEventListener('message', (e) => {
    const m = e.data;
    if (!m || m.k !== 'input') return;
    switch (m.type) {
      case 'keydown':
      case 'keyup':
        sendKeys(keys.event(m.event));
        break;
      case 'text':
        sendKeys(keys.typeText(m.text));
        break;
      case 'blur':
        sendKeys(keys.reset());
        break;
      case 'mouse': {
        const [x, y] = remote(m.x, m.y, m.w, m.h);
        pointer = [x, y, maskOf(m.buttons)];
        session.sendMouseState(...pointer);
        break;
      }
      case 'wheel': {
        // One notch up (8) or down (16): pressed, then released.
        const bit = m.deltaY < 0 ? 8 : 16;
        if (m.deltaY === 0) break;
        session.sendMouseState(pointer[0], pointer[1], pointer[2] | bit);
        session.sendMouseState(pointer[0], pointer[1], pointer[2]);
        break;
      }
      case 'paste':
        try { session.setClipboard(m.text); } catch (err) { post({ k: 'error', error: { name: err.name, code: err.code, message: err.message } }); }
        break;
      case 'resize':
        // Device pixels and DPI: a Worker has no devicePixelRatio of its own.
        session.resize(Math.round(m.w * m.dpr), Math.round(m.h * m.dpr), Math.round(96 * m.dpr));
        break;
      case 'disconnect':
        session.disconnect();
        break;
      default:
    }
  });
}

self.addEventListener('message', async (e) => {
  const m = e.data;
  if (!m || m.k !== 'pam:start') return;
  try {
    await init(m.wasm ? { module_or_path: m.wasm } : undefined);
  } catch (err) {
    m.port.postMessage({ k: 'failed', error: { name: err.name, message: String(err.message || err) } });
    return;
  }
  run(m);
});
