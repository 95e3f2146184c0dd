// The Worker glue's relay (worker/relay.js) in Node, both halves over a real
// MessageChannel, the page half on a fake RTCPeerConnection written here:
// calls and their plain-dict results, state mirrored before each handler
// runs, events on on* and addEventListener, the data channel's bytes both
// ways, bufferedAmount (the page's plus the bytes on their way) and
// bufferedamountlow, errors with their name/code/status, signaling send and
// subscribe, close. And KeyTranslator (the worker's keyboard) from pkg/node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hostRelay, relayClient } from '../../worker/relay.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const pkgNode = join(root, 'pkg', 'node', 'pam_launch_wasm.js');

// Lets the ports deliver everything queued (each hop is a macrotask).
const settle = async (n = 6) => { for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r)); };

class FakeDC extends EventTarget {
  constructor(label, init) {
    super();
    Object.assign(this, { label, init, readyState: 'connecting', bufferedAmount: 0, bufferedAmountLowThreshold: 0, binaryType: 'blob', sent: [] });
  }
  send(data) {
    if (this.readyState !== 'open') throw new DOMException('not open', 'InvalidStateError');
    this.sent.push(new Uint8Array(data));
    this.bufferedAmount += data.byteLength;
  }
  close() { this.readyState = 'closed'; this.onclose?.(); }
  fire(type, extra = {}) { const h = this[`on${type}`]; if (h) h({ ...extra }); }
}

const created = [];
class FakePC {
  constructor(config) {
    Object.assign(this, {
      config, channels: [], calls: [], connectionState: 'new', iceConnectionState: 'new', iceGatheringState: 'new',
      signalingState: 'stable', localDescription: null, remoteDescription: null, closed: false,
    });
    created.push(this);
  }
  createDataChannel(label, init) { const dc = new FakeDC(label, init); this.channels.push(dc); return dc; }
  async createOffer(opts) { this.calls.push(['createOffer', opts]); return { type: 'offer', sdp: `v=0 offer${opts && opts.iceRestart ? ' restart' : ''}`, extra: 'dropped' }; }
  async createAnswer() { return { type: 'answer', sdp: 'v=0 answer' }; }
  async setLocalDescription(d) { this.calls.push(['setLocalDescription', d]); this.localDescription = d; this.signalingState = 'have-local-offer'; this.iceGatheringState = 'gathering'; }
  async setRemoteDescription(d) {
    this.calls.push(['setRemoteDescription', d]);
    if (!d.sdp.startsWith('v=0')) throw new DOMException('bad sdp', 'OperationError');
    this.remoteDescription = d; this.signalingState = 'stable';
  }
  async addIceCandidate(c) { this.calls.push(['addIceCandidate', c]); }
  close() { this.closed = true; this.connectionState = 'closed'; this.signalingState = 'closed'; }
}

function pair(signaling = { send: async () => ({}), subscribe: () => () => {} }) {
  const { port1, port2 } = new MessageChannel();
  const stop = hostRelay(port1, { signaling, RTCPeerConnection: FakePC });
  const client = relayClient(port2);
  return { ...client, stop, close: () => { stop(); port1.close(); port2.close(); } };
}

test('peer connection: construction, calls with plain dicts, state mirrored before the handler runs, events', async () => {
  const r = pair();
  try {
    const pc = new r.RelayPeerConnection({ iceServers: [{ urls: 'turn:127.0.0.1', username: 'u', credential: 'c' }] });
    const dc = pc.createDataChannel('chan', { ordered: true });
    const offer = await pc.createOffer();
    const page = created[created.length - 1];
    assert.deepEqual(page.config.iceServers, [{ urls: 'turn:127.0.0.1', username: 'u', credential: 'c' }]);
    assert.equal(page.channels[0].label, 'chan');
    assert.deepEqual(page.channels[0].init, { ordered: true });
    assert.deepEqual(offer, { type: 'offer', sdp: 'v=0 offer' }, 'a plain {type, sdp}');
    await pc.setLocalDescription(offer);
    assert.deepEqual(pc.localDescription, { type: 'offer', sdp: 'v=0 offer' });
    assert.equal(pc.signalingState, 'have-local-offer', 'state mirrored with the reply');
    assert.deepEqual(await pc.createOffer({ iceRestart: true }), { type: 'offer', sdp: 'v=0 offer restart' });
    await pc.addIceCandidate({ candidate: 'candidate:1 1 udp 1 127.0.0.1 9 typ host', sdpMid: '0', sdpMLineIndex: 0 });
    assert.deepEqual(page.calls.at(-1), ['addIceCandidate', { candidate: 'candidate:1 1 udp 1 127.0.0.1 9 typ host', sdpMid: '0', sdpMLineIndex: 0, usernameFragment: undefined }]);
    // A rejected call rejects with the page's error name.
    await assert.rejects(pc.setRemoteDescription({ type: 'answer', sdp: 'garbage' }), (e) => e.name === 'OperationError');

    // Events: on* and addEventListener, the state already updated.
    const seen = [];
    pc.onicecandidate = (e) => seen.push(['on', e.candidate && e.candidate.candidate, e.candidate && e.candidate.toJSON().sdpMid]);
    pc.addEventListener('icecandidate', (e) => seen.push(['listener', e.candidate ? e.candidate.candidate : null]));
    pc.onconnectionstatechange = () => seen.push(['state', pc.connectionState]);
    page.onicecandidate({ candidate: { toJSON: () => ({ candidate: 'candidate:2', sdpMid: '0', sdpMLineIndex: 0 }) } });
    page.onicecandidate({ candidate: null });
    page.connectionState = 'connected';
    page.onconnectionstatechange();
    await settle();
    assert.deepEqual(seen, [['on', 'candidate:2', '0'], ['listener', 'candidate:2'], ['on', null, null], ['listener', null], ['state', 'connected']]);
    assert.equal(dc.readyState, 'connecting');

    pc.close();
    assert.equal(pc.connectionState, 'closed', 'closed at once, as close() does');
    assert.equal(dc.readyState, 'closed');
    await settle();
    assert.equal(page.closed, true, 'the page\'s peer connection closed');
    await assert.rejects(pc.createOffer(), (e) => e.name === 'InvalidStateError');
  } finally {
    r.close();
  }
});

test('data channel: bytes both ways, bufferedAmount counts the bytes on their way, bufferedamountlow on the way down', async () => {
  const r = pair();
  try {
    const pc = new r.RelayPeerConnection({});
    const dc = pc.createDataChannel('chan', {});
    dc.bufferedAmountLowThreshold = 100;
    await settle();
    const page = created[created.length - 1];
    const real = page.channels[0];
    assert.equal(real.bufferedAmountLowThreshold, 100, 'the threshold set on the page\'s channel');
    assert.equal(real.binaryType, 'arraybuffer');
    assert.throws(() => dc.send(new Uint8Array(1)), (e) => e.name === 'InvalidStateError', 'not open yet');

    const events = [];
    dc.onopen = () => events.push(`open ${dc.readyState}`);
    dc.addEventListener('message', (e) => events.push(['message', Array.from(new Uint8Array(e.data))]));
    dc.onbufferedamountlow = () => events.push(`low ${dc.bufferedAmount}`);
    real.readyState = 'open';
    real.fire('open');
    await settle();
    assert.deepEqual(events, ['open open']);

    // 300 bytes sent: counted at once, then the page's buffer (300) when it confirms.
    dc.send(new Uint8Array(300).fill(7));
    assert.equal(dc.bufferedAmount, 300, 'the bytes on their way count');
    await settle();
    assert.deepEqual(Array.from(real.sent[0].slice(0, 3)), [7, 7, 7]);
    assert.equal(real.sent[0].length, 300);
    assert.equal(dc.bufferedAmount, 300, 'now the page\'s bufferedAmount');
    // The page's buffer drains below the threshold: bufferedamountlow, once.
    real.bufferedAmount = 40;
    real.fire('bufferedamountlow');
    await settle();
    assert.equal(dc.bufferedAmount, 40);
    assert.deepEqual(events.slice(1), ['low 40']);

    // A message from the gateway arrives as an ArrayBuffer.
    const bytes = new Uint8Array([1, 2, 3]);
    real.onmessage({ data: bytes.buffer.slice(0) });
    await settle();
    assert.deepEqual(events.at(-1), ['message', [1, 2, 3]]);

    // Closed by the remote side.
    let closed = false;
    dc.onclose = () => { closed = true; };
    real.close();
    await settle();
    assert.equal(closed, true);
    assert.equal(dc.readyState, 'closed');
  } finally {
    r.close();
  }
});

test('signaling: send resolves or rejects with the error\'s name, code and status; subscribe delivers, ready, unsubscribe', async () => {
  const got = { sent: [], unsubscribed: 0, hint: null };
  let handler = null;
  let release;
  const signaling = {
    async send(action, options) {
      got.sent.push([action.inputs.kind, options]);
      if (action.inputs.kind === 'fail') throw Object.assign(new Error('router timed out'), { name: 'TimeoutError', code: 'GATEWAY_TIMEOUT', status: 504 });
      return '{"is_ok":true}';
    },
    subscribe(h, hint) {
      handler = h;
      got.hint = hint;
      const u = () => { got.unsubscribed++; };
      u.ready = new Promise((r) => { release = r; });
      return u;
    },
  };
  const r = pair(signaling);
  try {
    assert.equal(await r.signaling.send({ inputs: { kind: 'start' } }, { timeoutMs: 30000, streamResponse: true }), '{"is_ok":true}');
    assert.deepEqual(got.sent[0], ['start', { timeoutMs: 30000, streamResponse: true }]);
    await assert.rejects(r.signaling.send({ inputs: { kind: 'fail' } }, { timeoutMs: 5, streamResponse: false }),
      (e) => e instanceof Error && e.name === 'TimeoutError' && e.code === 'GATEWAY_TIMEOUT' && e.status === 504 && e.message === 'router timed out');

    const messages = [];
    const unsubscribe = r.signaling.subscribe((m) => messages.push(m), { conversationId: 'abc' });
    let ready = false;
    unsubscribe.ready.then(() => { ready = true; });
    await settle();
    assert.deepEqual(got.hint, { conversationId: 'abc' });
    assert.equal(ready, false, 'ready waits for the page adapter\'s ready');
    release();
    await settle();
    assert.equal(ready, true);
    handler({ conversationId: 'abc', payload: '{}' });
    handler('[{"conversationId":"abc"}]');
    await settle();
    assert.deepEqual(messages, [{ conversationId: 'abc', payload: '{}' }, '[{"conversationId":"abc"}]']);
    unsubscribe();
    unsubscribe();
    await settle();
    assert.equal(got.unsubscribed, 1);
    handler({ late: true });
    await settle();
    assert.equal(messages.length, 2, 'nothing after unsubscribe');
  } finally {
    r.close();
  }
});

const noPkg = existsSync(pkgNode) ? false : 'pkg/node not built (npm run build)';

test('KeyTranslator: serialised KeyboardEvents to keysyms, as attachInput sends them', { skip: noPkg }, () => {
  const { KeyTranslator } = createRequire(import.meta.url)(pkgNode);
  const k = new KeyTranslator();
  const ev = (type, key, code, extra = {}) => k.event({ type, key, code, ...extra });
  assert.deepEqual([...ev('keydown', 'l', 'KeyL'), ...ev('keyup', 'l', 'KeyL')], [[0x6c, true], [0x6c, false]]);
  assert.deepEqual([
    ...ev('keydown', 'Shift', 'ShiftLeft', { location: 1, shiftKey: true }),
    ...ev('keydown', 'A', 'KeyA', { shiftKey: true }),
    ...ev('keyup', 'A', 'KeyA', { shiftKey: true }),
    ...ev('keyup', 'Shift', 'ShiftLeft', { location: 1 }),
  ], [[0xffe1, true], [0x41, true], [0x41, false], [0xffe1, false]]);
  // Numpad Enter is Return by default, KP_Enter with keypadEnter.
  assert.deepEqual(ev('keydown', 'Enter', 'NumpadEnter', { location: 3 }), [[0xff0d, true]]);
  const kp = new KeyTranslator({ keypadEnter: true });
  assert.deepEqual(kp.event({ type: 'keydown', key: 'Enter', code: 'NumpadEnter', location: 3 }), [[0xff8d, true]]);
  // Focus lost: the held Return released.
  assert.deepEqual(k.reset(), [[0xff0d, false]]);
  assert.deepEqual(k.typeText('é€'), [[0xe9, true], [0xe9, false], [0x010020ac, true], [0x010020ac, false]]);
  // Not a key event, or no key: nothing.
  assert.deepEqual(k.event({ type: 'mousedown', key: 'a', code: 'KeyA' }), []);
  assert.deepEqual(k.event({ type: 'keydown', code: 'KeyA' }), []);
  assert.deepEqual(k.event(null), []);
  assert.deepEqual(k.event({ type: 'keydown', key: 'a', code: 'KeyA', location: 99 }), [[0x61, true]], 'a bad location is the standard one');
});
