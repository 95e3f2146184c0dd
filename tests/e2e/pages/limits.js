// The page of tests/e2e/limits.test.mjs: the wasm GuacamoleClient fed hostile
// streams made here (no recording needed). Each window.L.* function returns
// plain data: what receive() threw, what onerror heard, what the client sent
// back (its `send` callback is the wire), and the module's memory.
import init, { GuacamoleClient } from '/pkg/pam_launch_wasm.js';

const wasm = await init();
const enc = new TextEncoder();
const dec = new TextDecoder();
const MIB = 1024 * 1024;

// One instruction, lengths in code points (ASCII here).
const ins = (...el) => `${el.map((e) => `${String(e).length}.${e}`).join(',')};`;

// Base64 of `n` bytes of 'Z', cached per size (made once, reused).
const b64cache = new Map();
function b64of(n) {
  if (!b64cache.has(n)) {
    const raw = 'Z'.repeat(n);
    b64cache.set(n, btoa(raw));
  }
  return b64cache.get(n);
}

/** `blob` instructions carrying `bytes` bytes on `stream`, 4 MiB each, as bytes. */
function blobs(stream, bytes) {
  const out = [];
  for (let left = bytes; left > 0; left -= 4 * MIB) out.push(enc.encode(ins('blob', stream, b64of(Math.min(left, 4 * MIB)))));
  return out;
}

// A 2x2 PNG (red), for images that really decode.
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAEElEQVR4nGP4z8AARAwQCgAf7gP9i18U1AAAAABJRU5ErkJggg==';

function newClient(opts = {}) {
  const sent = [];
  const errors = [];
  const logs = [];
  const client = new GuacamoleClient({
    send: (b) => sent.push(dec.decode(b)),
    canvas: document.getElementById('screen'),
    width: 1024,
    height: 768,
    ...opts,
  });
  client.onerror = (e) => errors.push({ code: e.code, name: e.name, message: e.message });
  client.onlog = (m) => logs.push(m);
  const s = { client, sent, errors, logs };
  // Connected: the first sync (its answer is not part of what a case checks).
  client.receive(enc.encode(ins('sync', 1)));
  sent.length = 0;
  return s;
}

/** Feeds chunks until one throws; returns the error (or null) and the session's view. */
function feed(s, chunks) {
  let thrown = null;
  let fed = 0;
  for (const c of chunks) {
    try {
      s.client.receive(typeof c === 'string' ? enc.encode(c) : c);
      fed++;
    } catch (e) {
      thrown = { name: e.name, code: e.code, message: e.message };
      break;
    }
  }
  // After the end: more input is ignored, nothing throws.
  let after = null;
  try {
    s.client.receive(enc.encode(ins('sync', 2) + ins('rect', 0, 0, 0, 1, 1)));
  } catch (e) {
    after = `${e.name}: ${e.message}`;
  }
  return { thrown, fed, after, state: s.client.state, sent: s.sent.join(''), errors: s.errors, logs: s.logs };
}

const memory = () => ({
  wasm: wasm.memory.buffer.byteLength,
  heap: performance.memory ? performance.memory.usedJSHeapSize : null,
});

const img = (s) => ins('img', s, 14, 0, 'image/png', 0, 0);
const rects = (n) => ins('rect', 0, 1, 2, 3, 4).repeat(n);

const L = {
  memory,
  /** Three 30 MiB images open at once: past the 64 MiB budget. */
  openStreams() {
    const s = newClient();
    return feed(s, [img(1), ...blobs(1, 30 * MIB), img(2), ...blobs(2, 30 * MIB), img(3), ...blobs(3, 30 * MIB)]);
  },
  image() {
    const s = newClient();
    return feed(s, [img(4), ...blobs(4, 32 * MIB + 1)]);
  },
  clipboard() {
    const s = newClient();
    return feed(s, [ins('clipboard', 5, 'text/plain'), ...blobs(5, 16 * MIB + 1)]);
  },
  argv() {
    const s = newClient();
    return feed(s, [ins('argv', 6, 'text/plain', 'color-depth'), ...blobs(6, 64 * 1024 + 1)]);
  },
  frameOps() {
    const s = newClient();
    return feed(s, [rects(65536), ins('sync', 3), rects(65537)]);
  },
  /**
   * Queued frames: the first holds an image that decodes asynchronously, so
   * every frame after it waits (all of this in one task: no decode finishes).
   */
  pendingOps() {
    const s = newClient();
    const head = img(7) + ins('blob', 7, PNG) + ins('end', 7) + ins('sync', 4);
    const frame = rects(65000) + ins('sync', 5);
    return feed(s, [head, ...Array(17).fill(frame)]);
  },
  pendingFrames() {
    const s = newClient();
    const head = img(7) + ins('blob', 7, PNG) + ins('end', 7) + ins('sync', 4);
    return feed(s, [head, ins('sync', 6).repeat(4097)]);
  },
  /** Nine 30 MiB images (each ended: within the stream budget) waiting to decode. */
  pendingImages() {
    const s = newClient();
    const chunks = [];
    for (let i = 0; i < 9; i++) chunks.push(img(8), ...blobs(8, 30 * MIB), ins('end', 8));
    return feed(s, chunks);
  },
  /** A paste over 16 MiB: setClipboard throws, a paste event is refused; the session goes on. */
  paste() {
    const s = newClient();
    const big = 'x'.repeat(16 * MIB + 1);
    let thrown = null;
    try {
      s.client.setClipboard(big);
    } catch (e) {
      thrown = { name: e.name, code: e.code, message: e.message };
    }
    const canvas = document.getElementById('screen');
    s.client.attachInput(canvas);
    const dt = new DataTransfer();
    dt.setData('text/plain', big);
    canvas.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
    const okSent = s.client.setClipboard('small paste');
    s.client.detachInput();
    return { thrown, okSent, state: s.client.state, sent: s.sent.join(''), logs: s.logs, errors: s.errors };
  },

  // ------------------------------------------------------------ downloads

  /**
   * A server-pushed file. handler: 'none' (no onfile), 'discard' (reject),
   * 'save' (accept, then an <a download> of the Blob, as a launcher's Save does).
   */
  async download(handler) {
    const s = newClient();
    const offers = [];
    if (handler !== 'none') {
      s.client.onfile = (offer) => {
        offers.push({ stream: offer.stream, name: offer.name, mimetype: offer.mimetype });
        if (handler === 'discard') {
          offer.reject();
          return;
        }
        offer.accept().then((blob) => {
          const a = document.createElement('a');
          a.href = URL.createObjectURL(blob);
          a.download = offer.name;
          document.body.append(a);
          a.click();
          a.remove();
        });
      };
    }
    const content = 'the file from the server\n'.repeat(1000);
    s.client.receive(enc.encode(ins('file', 9, 'text/plain', 'report.txt')));
    const afterOffer = s.sent.join('');
    // Half before the end, in blobs of 6048 bytes, as guacd sends them.
    const bytes = enc.encode(content);
    let wire = '';
    for (let o = 0; o < bytes.length; o += 6048) {
      let bin = '';
      for (const b of bytes.subarray(o, o + 6048)) bin += String.fromCharCode(b);
      wire += ins('blob', 9, btoa(bin));
    }
    s.client.receive(enc.encode(wire + ins('end', 9)));
    await new Promise((r) => setTimeout(r, 300));
    return { offers, afterOffer, sent: s.sent.join(''), logs: s.logs, content, state: s.client.state };
  },

  // ------------------------------------------------------------ uploads

  /**
   * Uploads a generated File of `mb` MiB through uploadBrowserFile, the
   * server acking each blob; records how much the page read from the File
   * (File.prototype.slice is watched) and the largest read.
   */
  async upload(mb) {
    const s = newClient();
    const size = mb * MIB;
    const data = new Uint8Array(size);
    for (let i = 0; i < size; i++) data[i] = (i * 7) & 0xff;
    const file = new File([data], 'up.bin', { type: 'application/octet-stream' });
    const reads = [];
    const slice = Blob.prototype.slice;
    Blob.prototype.slice = function (a, b, t) {
      if (this === file) reads.push([a, b]);
      return slice.call(this, a, b, t);
    };
    let whole = 0;
    const ab = Blob.prototype.arrayBuffer;
    File.prototype.arrayBuffer = function () {
      if (this === file) whole++;
      return ab.call(this);
    };
    const stream = s.client.uploadBrowserFile(file);
    let got = 0;
    let same = true;
    let done = false;
    let seen = 0;
    const t0 = performance.now();
    const memMax = { wasm: 0 };
    while (!done && performance.now() - t0 < 60000) {
      const text = s.sent.slice(seen).join('');
      seen = s.sent.length;
      let acks = 0;
      for (const m of text.matchAll(/4\.blob,\d+\.(\d+),\d+\.([A-Za-z0-9+/=]*);/g)) {
        if (Number(m[1]) !== stream) continue;
        const bin = atob(m[2]);
        for (let i = 0; i < bin.length; i += 101) if (bin.charCodeAt(i) !== data[got + i]) same = false;
        got += bin.length;
        acks++;
      }
      if (text.includes(`3.end,${String(stream).length}.${stream};`)) done = true;
      if (/4\.file,/.test(text)) acks++;
      for (let i = 0; i < acks; i++) s.client.receive(enc.encode(ins('ack', stream, 'OK', 0)));
      memMax.wasm = Math.max(memMax.wasm, wasm.memory.buffer.byteLength);
      if (!acks) await new Promise((r) => setTimeout(r, 1));
    }
    Blob.prototype.slice = slice;
    delete File.prototype.arrayBuffer;
    const maxRead = Math.max(...reads.map(([a, b]) => b - a));
    return { stream, size, got, same, done, reads: reads.length, maxRead, whole, ms: Math.round(performance.now() - t0), wasm: memMax.wasm };
  },

  // ------------------------------------------------------------ flood

  /**
   * A hostile server for `seconds`: frames of 60,000 operations, blobs on
   * 500 image streams that never end (up to 100 KiB each), a refused file
   * and unknown streams, pipe data, and small real images, in 1 MiB chunks;
   * then endless blobs on one image stream until the limit ends the session.
   * Memory is sampled every 250 ms.
   */
  async flood(seconds) {
    const s = newClient();
    s.client.onlog = null;
    const held = new Array(500).fill(0);
    s.client.receive(enc.encode(ins('pipe', 600, 'text/plain', 'p') + ins('file', 601, 'application/zip', 'x.zip')));
    for (let i = 0; i < 500; i++) s.client.receive(enc.encode(img(i)));
    const samples = [];
    const t0 = performance.now();
    let last = 0;
    let bytes = 0;
    let round = 0;
    const blob16k = b64of(16 * 1024);
    const pieces = [
      () => rects(60000) + ins('sync', 10 + round),
      () => {
        // Each never-ended image stream up to 96 KiB: 48 MiB held in all, under the budget.
        const i = round % 500;
        if (held[i] >= 96 * 1024) return ins('nop');
        held[i] += 64 * 1024;
        return ins('blob', i, blob16k).repeat(4);
      },
      () => ins('blob', 601, blob16k).repeat(8) + ins('blob', 9999, blob16k).repeat(8),
      () => ins('blob', 600, blob16k).repeat(16),
      () => (img(700) + ins('blob', 700, PNG) + ins('end', 700)).repeat(50) + ins('sync', 10 + round),
    ];
    let thrown = null;
    while (performance.now() - t0 < seconds * 1000 && !thrown) {
      const chunk = enc.encode(pieces[round % pieces.length]());
      round++;
      try {
        s.client.receive(chunk);
      } catch (e) {
        thrown = { code: e.code, message: e.message };
      }
      bytes += chunk.length;
      if (performance.now() - last >= 250) {
        last = performance.now();
        samples.push({ t: Math.round(last - t0), ...memory() });
      }
      // Each chunk in its own task, as data-channel messages arrive.
      await new Promise((r) => setTimeout(r, 0));
    }
    const during = { state: s.client.state, thrown, rounds: round, bytes, frames: s.client.framesRendered };
    // Then past a limit: one image stream that never ends.
    const big = enc.encode(ins('blob', 0, b64of(4 * MIB)));
    let ended = null;
    for (let i = 0; i < 64 && !ended; i++) {
      try {
        s.client.receive(big);
      } catch (e) {
        ended = { code: e.code, message: e.message };
      }
    }
    samples.push({ t: Math.round(performance.now() - t0), ...memory() });
    return { during, ended, samples, state: s.client.state, sent: s.sent.slice(-3).join('') };
  },
};

window.L = L;
