// Checks of the wasm renderer in a real browser, driven by guac-browser.test.mjs.
// Each window.* function returns plain data for the test to assert on.
import init, { GuacamoleClient, RecordingPlayer } from '/pkg/web/pam_launch_wasm.js';
import { alignedMessages } from './aligned-messages.mjs';
import G16 from '/vendor/guacamole-common-js-1.6.0.js';

await init();

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const fixture = async (name) => new Uint8Array(await (await fetch(`/fixtures/${name}`)).arrayBuffer());

// The test's own reading of a stream, independent of this project's parser
// (GuacamoleParser, summarizeRecording): [opcode, ...args] per instruction,
// walking the length prefixes (code points) over the UTF-8 bytes.
function splitInstructions(bytes) {
  const dec = new TextDecoder();
  const out = [];
  let i = 0;
  while (i < bytes.length) {
    const inst = [];
    for (;;) {
      let n = 0;
      while (bytes[i] !== 0x2e) {
        if (i >= bytes.length || bytes[i] < 0x30 || bytes[i] > 0x39) throw new Error(`bad length at byte ${i}`);
        n = n * 10 + (bytes[i++] - 0x30);
      }
      const from = ++i;
      for (let c = 0; c < n; c++) {
        const b = bytes[i];
        i += b < 0x80 ? 1 : b < 0xe0 ? 2 : b < 0xf0 ? 3 : 4;
      }
      inst.push(dec.decode(bytes.subarray(from, i)));
      const sep = bytes[i++];
      if (sep === 0x3b) break;
      if (sep !== 0x2c) throw new Error(`bad separator at byte ${i - 1}`);
    }
    out.push(inst);
  }
  return out;
}

const syncStamps = (bytes) => splitInstructions(bytes).filter((x) => x[0] === 'sync').map((x) => x[1]);

function pixels(canvas) {
  return canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
}

function diffPixels(a, b) {
  if (a.width !== b.width || a.height !== b.height) {
    return { differing: -1, total: 0, sizes: [a.width, a.height, b.width, b.height] };
  }
  const pa = pixels(a), pb = pixels(b);
  let differing = 0;
  for (let i = 0; i < pa.length; i += 4) {
    if (pa[i] !== pb[i] || pa[i + 1] !== pb[i + 1] || pa[i + 2] !== pb[i + 2] || pa[i + 3] !== pb[i + 3]) differing++;
  }
  return { differing, total: a.width * a.height };
}

async function replayOurs(msgs, frames) {
  const sent = [];
  const send = (bytes) => { sent.push(new Uint8Array(bytes)); };
  const c = new GuacamoleClient({ send, autoScale: false });
  const t0 = performance.now();
  // Message by message, each drawn before the next arrives, as a session
  // paced by guacd sees them (and so a live stream's final `disconnect` comes
  // after the frames before it were drawn and answered).
  for (const m of msgs) {
    c.receive(m);
    while (c.framesPending > 0) {
      if (performance.now() - t0 > 60000) throw new Error(`replay stalled at ${c.framesRendered}/${frames} frames`);
      await sleep(0);
    }
  }
  while (c.framesRendered < frames || c.framesPending > 0) {
    if (performance.now() - t0 > 60000) throw new Error(`replay stalled at ${c.framesRendered}/${frames} frames`);
    await sleep(0);
  }
  const drawn = c.framesRendered;
  const disconnected = c.state === 5;
  // The tail after the last sync, as common-js's final flush() draws it.
  c.flushPending();
  await sleep(0);
  const all = new Uint8Array(sent.reduce((n, b) => n + b.length, 0));
  sent.reduce((at, b) => { all.set(b, at); return at + b.length; }, 0);
  return { client: c, answered: syncStamps(all), frames: drawn, disconnected };
}

async function replayCommon(msgs) {
  const tunnel = new G16.Tunnel();
  tunnel.connect = () => {};
  tunnel.sendMessage = () => {};
  const client = new G16.Client(tunnel);
  client.connect();
  const parser = new G16.Parser();
  parser.oninstruction = (op, args) => tunnel.oninstruction(op, args);
  const dec = new TextDecoder();
  for (const m of msgs) parser.receive(dec.decode(m, { stream: true }));
  const display = client.getDisplay();
  await new Promise((r) => display.flush(r));
  return display.flatten();
}

// The same recording through this renderer and guacamole-common-js 1.6.0:
// final canvases compared pixel by pixel.
window.compareWithCommonJs = async (name) => {
  const bytes = await fixture(name);
  const msgs = alignedMessages(bytes, 64 * 1024);
  // Frames and sync timestamps as the test counts them itself. A sync is
  // answered once per timestamp (guacd repeats a timestamp when frames come
  // faster than its clock ticks).
  const serverSyncs = syncStamps(bytes);
  const stamps = new Set(serverSyncs);
  const expectedFrames = serverSyncs.length;
  const ours = await replayOurs(msgs, expectedFrames);
  const theirs = await replayCommon(msgs);
  const d = diffPixels(ours.client.snapshot(), theirs);
  return {
    ...d, frames: ours.frames, expectedFrames, distinctSyncs: stamps.size,
    syncsAnswered: ours.answered.length, distinctAnswered: new Set(ours.answered).size,
    answeredNotSent: ours.answered.filter((t) => !stamps.has(t)), disconnected: ours.disconnected,
  };
};

// Plays a recording with RecordingPlayer, seeks, and returns what it drew.
window.playerChecks = async (name, at) => {
  const bytes = await fixture(name);
  const canvas = document.getElementById('screen');
  const player = new RecordingPlayer(bytes, canvas);
  const stamps = syncStamps(bytes).map(Number);
  const out = { duration: player.duration, ownDuration: stamps[stamps.length - 1] - stamps[0], frames: player.frames, ownFrames: stamps.length };
  player.seek(player.duration * at);
  const wait = async () => {
    const c = player.client;
    const t0 = performance.now();
    while (c.framesPending > 0 && performance.now() - t0 < 20000) await sleep(5);
    await sleep(50);
  };
  await wait();
  out.positionAfterSeek = player.position;
  out.midFramesRendered = player.client.framesRendered;
  // Back to the start, then forward again: a backwards seek restarts the display.
  player.seek(0);
  await wait();
  out.framesAfterRewind = player.client.framesRendered;
  player.seek(player.duration * at);
  await wait();
  out.framesAgain = player.client.framesRendered;
  // Play briefly: the position advances with the clock, pause stops it.
  player.play();
  await sleep(300);
  player.pause();
  out.playingAfterPause = player.playing;
  out.positionAfterPlay = player.position;
  await sleep(200);
  out.positionLater = player.position;
  player.seek(player.duration * at);
  await wait();
  return out;
};

// A gateway-mode session fed the start of a live stream, with input attached
// to the page's canvas; `sent` collects every instruction the client sends.
let live = null;
window.startLive = async (name, options = {}) => {
  if (live) { live.client.detachInput(); live.client.free(); live = null; }
  const bytes = await fixture(name);
  const sent = [];
  const clipboard = [];
  const canvas = document.getElementById('screen');
  const client = new GuacamoleClient({ send: (b) => sent.push(new TextDecoder().decode(b)), canvas, ...options });
  client.onclipboard = (text, mimetype) => clipboard.push({ mimetype, text });
  client.attachInput(canvas);
  // The session stays open: guacd's closing `disconnect` is left out.
  const text = new TextDecoder('latin1').decode(bytes);
  const end = text.lastIndexOf('10.disconnect;');
  const msgs = alignedMessages(end >= 0 ? bytes.subarray(0, end) : bytes, 16 * 1024);
  for (const m of msgs) client.receive(m);
  const t0 = performance.now();
  while (client.framesPending > 0 && performance.now() - t0 < 20000) await sleep(5);
  live = { client, sent, clipboard, canvas };
  sent.length = 0;
  return { width: client.width, height: client.height, state: client.state };
};

// Instructions sent since the last call, as [opcode, ...args].
window.takeSent = () => {
  const text = live.sent.join('');
  live.sent.length = 0;
  const out = [];
  let i = 0;
  while (i < text.length) {
    const ins = [];
    for (;;) {
      const dot = text.indexOf('.', i);
      const n = Number(text.slice(i, dot));
      const cps = Array.from(text.slice(dot + 1, dot + 1 + n * 2)).slice(0, n).join('');
      ins.push(cps);
      i = dot + 1 + cps.length;
      const term = text[i++];
      if (term === ';') break;
    }
    out.push(ins);
  }
  return out;
};

window.takeClipboard = () => live.clipboard.splice(0);

window.pastePlain = (text) => {
  const dt = new DataTransfer();
  dt.setData('text/plain', text);
  const target = document.activeElement || live.canvas;
  target.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
};

window.blurAll = () => { document.activeElement?.blur(); };
window.liveScale = () => ({ scale: live.client.scale, rect: live.canvas.getBoundingClientRect().toJSON() });
window.detach = () => { live.client.detachInput(); return document.querySelectorAll('[data-pam-input-sink]').length; };
window.sinkCount = () => document.querySelectorAll('[data-pam-input-sink]').length;

window.pageReady = true;
