// launch() in a dedicated Worker (/worker/session-worker.js) through the
// package's page glue (/worker/page.js), against the in-page gateway of
// launch-loopback.js; driven by tests/e2e/worker.test.mjs.
import { fakeGateway } from './launch-loopback.js';
import { launchInWorker } from '/worker/page.js';

document.getElementById('screen').style.display = 'none';
// A canvas is transferred to a worker once: each launch gets a new one.
let canvas = null;
function freshCanvas() {
  const old = document.getElementById('wscreen');
  const c = document.createElement('canvas');
  c.id = 'wscreen';
  c.tabIndex = 0;
  c.style.display = 'block';
  c.style.width = '1024px';
  c.style.height = '768px';
  old.replaceWith(c);
  return c;
}

const W = {
  cur: null,
  start(cfg) {
    const { gw, signaling } = fakeGateway(cfg);
    canvas = freshCanvas();
    const cur = { cfg, gw, statuses: [], frames: 0, closed: null, mainPCs: 0 };
    W.cur = cur;
    window.T.cur = cur; // T.keys() reads what the gateway received on connection 1
    const before = window.T.created.length;
    const worker = new Worker('/worker/session-worker.js', { type: 'module' });
    worker.onerror = (e) => console.error(`worker error: ${e.message}`);
    cur.session = launchInWorker({
      worker, canvas, signaling, plan: cfg.request, iceServers: [], trickleIce: cfg.trickle, timeouts: cfg.timeouts,
      onstatus: (s) => {
        cur.statuses.push({ phase: s.phase, code: s.error ? s.error.code : null });
        console.log(`[status] ${s.phase}: ${s.message}`);
      },
      onframe: (n) => { cur.frames = n; },
    });
    cur.session.closed.then((s) => {
      const pc = window.T.created[before];
      cur.closed = { phase: s.phase, message: s.message, code: s.error ? s.error.code : null, pcState: pc && pc.connectionState, closeReason: s.closeReason ?? null };
      worker.terminate();
    });
    cur.pageTakesPC = () => window.T.created.length - before;
  },
  /** A worker script that does not exist: the launch ends, with an error, instead of hanging. */
  async missingWorker() {
    const worker = new Worker('/worker/no-such-worker.js', { type: 'module' });
    const signaling = { send: async () => ({}), subscribe: () => () => {} };
    const statuses = [];
    const s = await launchInWorker({ worker, canvas: freshCanvas(), signaling, plan: { recordUid: 'x', record: {} }, onstatus: (x) => statuses.push(x.phase) })
      .closed;
    worker.terminate();
    return { phase: s.phase, hasError: !!s.error, statuses };
  },
  /** launchInWorker's own checks of its arguments. */
  badArguments() {
    const tries = [{}, { worker: {}, canvas: freshCanvas() }, { worker: { postMessage() {} }, canvas: document.createElement('div'), signaling: {} }];
    return tries.map((t) => { try { launchInWorker(t); return null; } catch (e) { return e.name; } });
  },
  report() {
    const { gw, statuses, frames, closed } = W.cur;
    return {
      statuses, frames, closed, peerConnectionsInPage: W.cur.pageTakesPC(),
      opens: gw.opens, closes: gw.closes.map((c) => [c.conn, c.reason]), pongs: gw.pongs, errors: gw.errors,
      unsubscribed: gw.unsubscribed, offerKind: gw.action && gw.action.inputs && gw.action.inputs.kind,
    };
  },
  mouse() {
    return [...W.cur.gw.received.matchAll(/5\.mouse,\d+\.(\d+),\d+\.(\d+),\d+\.(\d+)[;,]/g)].map((m) => m.slice(1).map(Number));
  },
  sizes() {
    return [...W.cur.gw.received.matchAll(/4\.size,((?:\d+\.\d+,?)+);/g)]
      .map((m) => m[1].split(',').map((e) => Number(e.slice(e.indexOf('.') + 1))));
  },
  resizeCanvas(w, h) { canvas.style.width = `${w}px`; canvas.style.height = `${h}px`; },
  focus() { canvas.focus(); },
  paste(text) {
    const dt = new DataTransfer();
    dt.setData('text/plain', text);
    canvas.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
  },
  clipboard() {
    return [...W.cur.gw.received.matchAll(/9\.clipboard,/g)].length;
  },
};
window.W = W;
window.workerPageReady = true;
