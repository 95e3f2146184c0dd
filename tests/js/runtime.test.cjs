// The web layer on a global scope without `window` (Node 20): launch()'s
// timers, its RTCPeerConnection option and the UNSUPPORTED errors, and the
// headless GuacamoleClient on the real guacd streams of tests/fixtures/guac/.
//
// Expected counts come from tests/fixtures/guac/README.md (made by count.py),
// read here from its tables, and sync timestamps from a plain regular
// expression over the files: nothing expected is computed by the package.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const api = require(path.join(__dirname, '..', '..'));

const { launch, GuacamoleClient, RecordingPlayer } = api;
const dir = path.join(__dirname, '..', 'fixtures', 'guac');
const scenario = (n) => JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'fixtures', `scenario${n}.json`), 'utf8'));

function request(n) {
  const s = scenario(n);
  return { recordUid: s.recordUid, record: s.record, dag: s.dag, linkedUserRecordUid: s.linkedUserRecordUid, jit: 'auto' };
}

// A router client whose gateway never answers, counting what it is given.
function silentSignaling() {
  const sent = [];
  let subscribed = 0;
  let unsubscribed = 0;
  return {
    sent,
    counts: () => ({ subscribed, unsubscribed }),
    send(action, opts) {
      sent.push({ action: action.inputs && action.inputs.kind, opts });
      return new Promise(() => {});
    },
    subscribe() {
      subscribed += 1;
      return () => { unsubscribed += 1; };
    },
  };
}

// A fake RTCPeerConnection written here: an EventTarget that records every
// call and property the launch uses, and never connects.
function fakePeerConnectionClass() {
  const calls = [];
  class FakeDataChannel extends EventTarget {
    constructor(label, init) {
      super();
      this.label = label;
      this.init = init;
      this.readyState = 'connecting';
      this.bufferedAmount = 0;
      this.bufferedAmountLowThreshold = 0;
      this.binaryType = 'blob';
    }
    send() { calls.push(['dc.send']); }
    close() { calls.push(['dc.close']); this.readyState = 'closed'; }
  }
  class FakePeerConnection extends EventTarget {
    constructor(config) {
      super();
      calls.push(['new', config]);
      this.connectionState = 'new';
      this.iceGatheringState = 'new';
      this.localDescription = null;
      this.channels = [];
    }
    createDataChannel(label, init) {
      calls.push(['createDataChannel', label, init]);
      const dc = new FakeDataChannel(label, init);
      this.channels.push(dc);
      return dc;
    }
    async createOffer(opts) {
      calls.push(['createOffer', opts]);
      return { type: 'offer', sdp: 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:0\r\n' };
    }
    async setLocalDescription(d) {
      // A plain dict, never an RTCSessionDescription (Node has none).
      calls.push(['setLocalDescription', Object.getPrototypeOf(d) === Object.prototype, d.type]);
      this.localDescription = d;
    }
    close() { calls.push(['close']); this.connectionState = 'closed'; }
  }
  return { FakePeerConnection, calls };
}

test('Node has no RTCPeerConnection: launch() throws UNSUPPORTED with a sentence that says what to pass', () => {
  assert.equal(typeof globalThis.RTCPeerConnection, 'undefined', 'this test needs a scope without WebRTC');
  for (const renderer of ['headless', undefined]) {
    assert.throws(() => launch({ plan: request(2), signaling: silentSignaling(), renderer }), (e) => {
      assert.equal(e.name, 'PamLaunchError');
      assert.equal(e.code, 'UNSUPPORTED');
      assert.match(e.message, /no RTCPeerConnection/);
      assert.match(e.message, /pass options\.RTCPeerConnection/);
      assert.match(e.message, /node-datachannel/);
      return true;
    });
  }
  assert.ok(api.errorCodes().includes('UNSUPPORTED'));
});

test('an RTCPeerConnection option that is not a class is INVALID_INPUT', () => {
  for (const bad of [5, 'RTCPeerConnection', {}, true]) {
    assert.throws(() => launch({ plan: request(2), signaling: silentSignaling(), renderer: 'headless', RTCPeerConnection: bad }),
      { name: 'PamLaunchError', code: 'INVALID_INPUT' });
  }
});

test('the canvas renderer with no document and no canvas is UNSUPPORTED; headless is not', () => {
  const { FakePeerConnection } = fakePeerConnectionClass();
  assert.throws(() => launch({ plan: request(2), signaling: silentSignaling(), RTCPeerConnection: FakePeerConnection }), (e) => {
    assert.equal(e.code, 'UNSUPPORTED');
    assert.match(e.message, /no document/);
    assert.match(e.message, /renderer: "headless"/);
    return true;
  });
  assert.throws(() => new GuacamoleClient({ send() {} }), { code: 'UNSUPPORTED' });
  assert.throws(() => new GuacamoleClient({ send() {}, renderer: 'webgl' }), { code: 'INVALID_INPUT' });
  assert.throws(() => launch({ plan: request(2), signaling: silentSignaling(), RTCPeerConnection: FakePeerConnection, canvas: {} }),
    { code: 'INVALID_INPUT' });
  assert.throws(() => launch({ plan: request(2), signaling: silentSignaling(), RTCPeerConnection: FakePeerConnection, renderer: 'svg' }),
    { code: 'INVALID_INPUT' });
  assert.throws(() => new RecordingPlayer(new TextEncoder().encode('4.sync,1.1;')), { code: 'UNSUPPORTED' });
  const c = new GuacamoleClient({ send() {}, renderer: 'headless' });
  assert.equal(c.renderer, 'headless');
  assert.equal(c.canvas, null);
  assert.throws(() => c.snapshot(), { code: 'UNSUPPORTED' });
});

test('timers run in Node: a launch whose answer never comes ends with GATEWAY_TIMEOUT after timeouts.answerMs, through the given RTCPeerConnection class', async () => {
  const { FakePeerConnection, calls } = fakePeerConnectionClass();
  const signaling = silentSignaling();
  const statuses = [];
  const t0 = performance.now();
  const session = launch({
    plan: request(2),
    signaling,
    renderer: 'headless',
    RTCPeerConnection: FakePeerConnection,
    iceServers: [{ urls: 'stun:127.0.0.1:3478' }],
    timeouts: { answerMs: 400 },
    onstatus: (s) => statuses.push([s.phase, s.error && s.error.code, performance.now() - t0]),
  });
  const guard = setTimeout(() => {}, 10000); // keeps Node alive only as long as the test needs
  const final = await Promise.race([
    session.closed,
    new Promise((_, reject) => setTimeout(() => reject(new Error('no closed status within 5 s: the answer timer never fired')), 5000)),
  ]);
  clearTimeout(guard);
  const elapsed = performance.now() - t0;
  assert.equal(final.phase, 'closed');
  assert.equal(final.error.code, 'GATEWAY_TIMEOUT');
  const offerAt = statuses.find(([p]) => p === 'offerSent')[2];
  const closedAt = statuses.find(([p]) => p === 'closed')[2];
  assert.ok(closedAt - offerAt >= 390, `closed ${closedAt - offerAt} ms after the offer, before answerMs`);
  assert.ok(elapsed < 3000, `closed after ${elapsed} ms`);
  // The launch used the class it was given, with plain dicts.
  assert.deepEqual(calls[0], ['new', { iceServers: [{ urls: 'stun:127.0.0.1:3478' }] }]);
  const names = calls.map((c) => c[0]);
  for (const n of ['createDataChannel', 'createOffer', 'setLocalDescription', 'dc.close', 'close']) {
    assert.ok(names.includes(n), `${n} in ${names}`);
  }
  assert.deepEqual(calls.find((c) => c[0] === 'setLocalDescription').slice(1), [true, 'offer']);
  assert.equal(signaling.sent.length, 1);
  assert.equal(signaling.sent[0].opts.timeoutMs, 30000); // the router's own wait (README: 30 s)
  assert.deepEqual(signaling.counts(), { subscribed: 1, unsubscribed: 1 });
  assert.deepEqual(statuses.map(([p]) => p), ['planning', 'offerSent', 'closed']);
});

// ------------------------------------------------------------------ headless on the recordings

const readme = fs.readFileSync(path.join(dir, 'README.md'), 'utf8');

// The README's two tables: instructions and frames per file, and counts by opcode.
function expectations() {
  const out = {};
  for (const line of readme.split('\n')) {
    let m = line.match(/^\| `([a-z-]+\.guac)` \| \w+ \| (recording|live) \| [\d,]+ \| ([\d,]+) \| ([\d,]+) \|/);
    if (m) {
      out[m[1]] = { ...(out[m[1]] || {}), kind: m[2], instructions: +m[3].replace(/,/g, ''), frames: +m[4].replace(/,/g, '') };
      continue;
    }
    m = line.match(/^\| `([a-z-]+\.guac)` \| ([a-z]+ \d+(?:, [a-z]+ \d+)*) \|/);
    if (m) {
      const counts = {};
      for (const part of m[2].split(', ')) {
        const [op, n] = part.split(' ');
        counts[op] = +n;
      }
      out[m[1]] = { ...(out[m[1]] || {}), counts };
    }
  }
  return out;
}

const expected = expectations();

test('the fixture README lists the ten recordings with instructions, frames and opcode counts', () => {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.guac')).sort();
  assert.equal(files.length, 10);
  assert.deepEqual(Object.keys(expected).sort(), files);
  for (const f of files) {
    const e = expected[f];
    assert.ok(e.instructions > 0 && e.frames > 0 && e.counts, f);
    assert.equal(Object.values(e.counts).reduce((a, b) => a + b, 0), e.instructions, `${f}: the README's counts add up`);
  }
});

for (const [file, e] of Object.entries(expected)) {
  test(`headless GuacamoleClient on ${file}: every instruction reported (${e.instructions}), ${e.frames} frames, every sync answered`, () => {
    const bytes = new Uint8Array(fs.readFileSync(path.join(dir, file)));
    const text = Buffer.from(bytes).toString('latin1');
    const syncs = [...text.matchAll(/(?:^|;)4\.sync,\d+\.(\d+)[,;]/g)].map((m) => m[1]);
    assert.equal(syncs.length, e.frames, 'the regular expression finds every sync');
    const out = [];
    const seen = {};
    let instructions = 0;
    const frames = [];
    const client = new GuacamoleClient({
      renderer: 'headless',
      mode: 'gateway',
      send: (b) => out.push(Buffer.from(b).toString('latin1')),
      oninstruction: (op, args) => {
        assert.equal(typeof op, 'string');
        assert.ok(Array.isArray(args));
        instructions += 1;
        seen[op] = (seen[op] || 0) + 1;
      },
    });
    client.onframe = (f) => frames.push(f);
    // A live stream ends with guacd's disconnect (README), after which
    // nothing may be sent: it goes in last, alone, once every sync is in.
    const tail = new TextEncoder().encode('10.disconnect;');
    const live = e.kind === 'live';
    if (live) assert.equal(text.slice(-tail.length), '10.disconnect;');
    const body = live ? bytes.subarray(0, bytes.length - tail.length) : bytes;
    // Raw 16 KiB cuts, as a data channel may deliver them.
    for (let i = 0; i < body.length; i += 16384) client.receive(body.subarray(i, i + 16384));
    client.flushPending();
    if (live) {
      assert.notEqual(client.state, 5);
      client.receive(tail);
      assert.equal(client.state, 5, 'disconnected by the server');
    }
    assert.equal(instructions, e.instructions);
    assert.deepEqual(seen, e.counts);
    // One frame per sync; a tail after the last sync (ops, no timestamp) may follow.
    const synced = frames.filter((f) => f.timestamp !== null);
    assert.equal(synced.length, e.frames);
    assert.deepEqual(synced.map((f) => String(f.timestamp)), syncs);
    assert.deepEqual(frames.map((f) => f.frame), frames.map((_, i) => i + 1));
    assert.ok(frames.some((f) => f.painted), 'some frame draws');
    for (const f of frames) assert.ok(Number.isInteger(f.ops) && f.ops >= 0 && typeof f.at === 'number');
    // The screen the capture asked for (README: 1024x768), or what guacd sized layer 0 to.
    const last = frames[frames.length - 1];
    assert.ok(last.width > 0 && last.height > 0, `${last.width}x${last.height}`);
    assert.equal(client.framesRendered, frames.length);
    // Every sync answered, in order, with its own timestamp (a timestamp
    // repeated by the next sync is answered once).
    const answers = [...out.join('').matchAll(/4\.sync,\d+\.(\d+);/g)].map((m) => m[1]);
    assert.deepEqual(answers, syncs.filter((t, i) => t !== syncs[i - 1]));
  });
}

test('headless GuacamoleClient: input methods still send; attachInput is UNSUPPORTED', () => {
  const out = [];
  const client = new GuacamoleClient({ renderer: 'headless', send: (b) => out.push(Buffer.from(b).toString('utf8')) });
  client.receive(new TextEncoder().encode('4.size,1.0,3.800,3.600;4.sync,3.100;'));
  out.length = 0;
  client.sendKeyEvent(0x61, true);
  client.sendKeyEvent(0x61, false);
  client.sendMouseState(10, 20, 1);
  assert.equal(client.setClipboard('hello'), true);
  client.resize(640, 480);
  const sent = out.join('');
  assert.match(sent, /3\.key,2\.97,1\.1;3\.key,2\.97,1\.0;/);
  assert.match(sent, /5\.mouse,2\.10,2\.20,1\.1;/);
  assert.match(sent, /9\.clipboard,1\.\d+,10\.text\/plain;/);
  assert.match(sent, /4\.size,3\.640,3\.480/);
  assert.deepEqual([client.width, client.height], [800, 600]);
  assert.throws(() => client.attachInput({}), { code: 'UNSUPPORTED' });
});
