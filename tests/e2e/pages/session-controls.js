// The page of tests/e2e/session-controls.test.mjs: a GuacamoleClient (gateway
// mode) on a canvas of 400x300 CSS pixels, fed an 800x600 display by the
// test (no server: what the client sends is collected), for the in-session
// switches (autoScale, keyboardEnabled, disableCopy/disablePaste) and uploads
// (progress, done, error, cancel). Each S.* function returns plain data.
import init, { GuacamoleClient } from '/pkg/web/pam_launch_wasm.js';

await init();

const enc = new TextEncoder();
const dec = new TextDecoder();
const canvas = /** @type {HTMLCanvasElement} */ (document.getElementById('screen'));
/** One Guacamole instruction. */
const ins = (...els) => `${els.map((e) => `${[...String(e)].length}.${e}`).join(',')};`;

let cur = null;
// Keys the page saw, and whether the session had prevented them.
const pageKeys = [];
window.addEventListener('keydown', (e) => pageKeys.push({ key: e.key, prevented: e.defaultPrevented }));

/** Instructions sent since the last call, as [opcode, ...args]. */
function take() {
  const text = cur.sent.join('');
  cur.sent.length = 0;
  const out = [];
  let i = 0;
  while (i < text.length) {
    const el = [];
    for (;;) {
      const dot = text.indexOf('.', i);
      const n = Number(text.slice(i, dot));
      const v = Array.from(text.slice(dot + 1, dot + 1 + n * 2)).slice(0, n).join('');
      el.push(v);
      i = dot + 1 + v.length;
      if (text[i++] === ';') break;
    }
    out.push(el);
  }
  return out;
}

const S = {
  /** A session with an 800x600 display drawn; input attached to the canvas. */
  start(options = {}) {
    if (cur) { cur.client.detachInput(); cur.client.free(); }
    canvas.style.width = '400px';
    canvas.style.height = '300px';
    const sent = [];
    const client = new GuacamoleClient({ send: (b) => sent.push(dec.decode(b)), canvas, ...options });
    const uploads = [];
    client.onupload = (stream, sentBytes, total, status, message) => uploads.push({ stream, sent: sentBytes, total, status, message: message ?? null });
    client.attachInput(canvas);
    cur = { client, sent, uploads, reads: [] };
    client.receive(enc.encode(ins('size', 0, 800, 600) + ins('rect', 0, 0, 0, 800, 600) + ins('cfill', 14, 0, 255, 0, 0, 255) + ins('sync', 1) +
      ins('rect', 0, 0, 0, 100, 100) + ins('cfill', 14, 0, 0, 0, 255, 255) + ins('sync', 2)));
    take();
    return S.info();
  },
  info() {
    const c = cur.client;
    return {
      width: c.width, height: c.height, scale: c.scale, autoScale: c.autoScale, keyboardEnabled: c.keyboardEnabled,
      disableCopy: c.disableCopy, disablePaste: c.disablePaste, bitmap: [canvas.width, canvas.height],
      rect: canvas.getBoundingClientRect().toJSON(),
    };
  },
  take,
  pageKeys: () => pageKeys.splice(0),
  /** 1:1 as the contract says: the canvas's CSS box is the remote size / devicePixelRatio. */
  realSize() {
    cur.client.autoScale = false;
    canvas.style.width = `${cur.client.width / devicePixelRatio}px`;
    canvas.style.height = `${cur.client.height / devicePixelRatio}px`;
    cur.client.redraw();
    return S.info();
  },
  fit() {
    cur.client.autoScale = true;
    canvas.style.width = '400px';
    canvas.style.height = '300px';
    cur.client.redraw();
    return S.info();
  },
  /** The colour of the canvas bitmap at (x, y). */
  pixel(x, y) {
    const ctx = canvas.getContext('2d');
    return Array.from(ctx.getImageData(x, y, 1, 1).data);
  },
  setKeyboard(on) { cur.client.keyboardEnabled = on; return cur.client.keyboardEnabled; },
  sendKey(keysym, pressed) { cur.client.sendKeyEvent(keysym, pressed); },
  /** Starts the upload of a File of `bytes` bytes (byte i = i mod 251); its reads are counted. */
  upload(bytes, name = 'big.bin') {
    const data = new Uint8Array(bytes);
    for (let i = 0; i < bytes; i++) data[i] = i % 251;
    const file = new File([data], name, { type: 'application/octet-stream' });
    const reads = cur.reads;
    // launch's reads go through File.prototype.slice: counted here.
    Object.defineProperty(file, 'slice', {
      value(...args) { reads.push(args.slice(0, 2)); return Blob.prototype.slice.apply(this, args); },
    });
    return cur.client.uploadBrowserFile(file);
  },
  /** The server's ack of `stream` (status 0: OK). */
  ack(stream, status = 0, message = 'OK') {
    cur.client.receive(enc.encode(ins('ack', stream, message, status)));
  },
  /** Acks every blob (and the file) until the client sends nothing more for `stream` or `max` acks. */
  async ackAll(stream, max = 10000) {
    const got = [];
    for (let n = 0; n < max; n++) {
      S.ack(stream);
      // The next chunk is read asynchronously (File.slice().arrayBuffer()).
      let t = 0;
      let out = take();
      while (out.length === 0 && t++ < 50) {
        await new Promise((r) => setTimeout(r, 2));
        out = take();
      }
      got.push(...out.filter((i) => i[1] === String(stream)));
      if (out.length === 0 || out.some((i) => i[0] === 'end')) break;
    }
    return got.map((i) => i[0]);
  },
  uploads: () => cur.uploads.splice(0),
  reads: () => cur.reads.length,
  cancel(stream) { return cur.client.cancelUpload(stream); },
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
};

window.S = S;
window.pageReady = true;
