// The WebRTC and signaling relay between a page and the dedicated Worker that
// runs a pam-launch-wasm session. Chromium has no RTCPeerConnection in
// Workers, so the worker's launch() gets `RelayPeerConnection` (through its
// `RTCPeerConnection` option): a stand-in that forwards every call over a
// MessagePort to a real RTCPeerConnection in the page (`hostRelay`), and
// mirrors back its state, events and data-channel messages. The signaling
// object (the caller's router client) stays in the page too and is relayed
// the same way. Only plain data crosses: {type, sdp} and {candidate, sdpMid,
// sdpMLineIndex} dicts, states, bytes (ArrayBuffers, transferred).
//
// Protocol (one MessagePort, messages tagged `k`):
//   worker -> page: pc.new {pc, config}; pc.call {pc, call, method, args};
//     pc.close {pc}; dc.new {pc, dc, label, init}; dc.set {dc, prop, value};
//     dc.send {dc, data, n}; dc.close {dc}; sig.send {call, action, options};
//     sig.subscribe {sub, hint}; sig.unsubscribe {sub}
//   page -> worker: reply {call, ok, value | error, state}; pc.event {pc, type,
//     state, candidate}; dc.event {dc, type, readyState, bufferedAmount, data};
//     dc.sent {dc, n, bufferedAmount}; sig.message {sub, message}; sig.ready {sub}
// Nothing here logs: SDP carries ICE credentials.

/** @typedef {{ connectionState: string, iceConnectionState: string, iceGatheringState: string, signalingState: string, localDescription: RTCSessionDescriptionInit | null, remoteDescription: RTCSessionDescriptionInit | null }} PeerState */

const desc = (d) => (d ? { type: d.type, sdp: d.sdp } : null);

/** @param {RTCPeerConnection} pc @returns {PeerState} */
function peerState(pc) {
  return {
    connectionState: pc.connectionState,
    iceConnectionState: pc.iceConnectionState,
    iceGatheringState: pc.iceGatheringState,
    signalingState: pc.signalingState,
    localDescription: desc(pc.localDescription),
    remoteDescription: desc(pc.remoteDescription),
  };
}

/** An Error as plain data (name, message, and the `code`/`status` a caller's error may carry). */
function errorData(e) {
  const o = { name: (e && e.name) || 'Error', message: String((e && e.message) || e) };
  if (e && typeof e.code === 'string') o.code = e.code;
  if (e && typeof e.status === 'number') o.status = e.status;
  return o;
}

function errorFrom(d) {
  const e = new Error(d && d.message);
  Object.assign(e, d);
  return e;
}

const bytesOf = (data) => {
  if (data instanceof ArrayBuffer) return data.slice(0);
  if (ArrayBuffer.isView(data)) return data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);
  return data; // a string
};
const sizeOf = (data) => (typeof data === 'string' ? new TextEncoder().encode(data).length : data.byteLength);

// ------------------------------------------------------------------ page side

/**
 * Page side: serves the relay on `port` with real peer connections and the
 * caller's signaling. Returns a function that closes every peer connection
 * and stops serving.
 * @param {MessagePort} port
 * @param {{ signaling: import('./index').LaunchSignalingLike, RTCPeerConnection?: typeof RTCPeerConnection }} opts
 */
export function hostRelay(port, { signaling, RTCPeerConnection: PC = globalThis.RTCPeerConnection }) {
  const pcs = new Map();
  const dcs = new Map();
  const subs = new Map();
  const post = (m, transfer) => port.postMessage(m, transfer || []);
  const reply = async (call, fn, pc) => {
    try {
      const value = await fn();
      post({ k: 'reply', call, ok: true, value, state: pc ? peerState(pc) : undefined });
    } catch (e) {
      post({ k: 'reply', call, ok: false, error: errorData(e), state: pc ? peerState(pc) : undefined });
    }
  };
  const wireChannel = (id, dc) => {
    dc.binaryType = 'arraybuffer';
    const ev = (type, extra) => post({ k: 'dc.event', dc: id, type, readyState: dc.readyState, bufferedAmount: dc.bufferedAmount, ...extra });
    dc.onopen = () => ev('open');
    dc.onclose = () => ev('close');
    dc.onerror = () => ev('error');
    dc.onbufferedamountlow = () => ev('bufferedamountlow');
    dc.onmessage = (e) => {
      const data = bytesOf(e.data);
      post({ k: 'dc.event', dc: id, type: 'message', readyState: dc.readyState, bufferedAmount: dc.bufferedAmount, data }, typeof data === 'string' ? [] : [data]);
    };
  };
  const onmessage = (e) => {
    const m = e.data;
    if (!m || typeof m.k !== 'string') return;
    switch (m.k) {
      case 'pc.new': {
        let pc;
        try {
          pc = new PC(m.config);
        } catch (err) {
          post({ k: 'pc.event', pc: m.pc, type: 'failed', error: errorData(err) });
          return;
        }
        pcs.set(m.pc, pc);
        const ev = (type, extra) => post({ k: 'pc.event', pc: m.pc, type, state: peerState(pc), ...extra });
        pc.onicecandidate = (x) => ev('icecandidate', { candidate: x.candidate ? x.candidate.toJSON() : null });
        pc.onicegatheringstatechange = () => ev('icegatheringstatechange');
        pc.onconnectionstatechange = () => ev('connectionstatechange');
        pc.oniceconnectionstatechange = () => ev('iceconnectionstatechange');
        pc.onsignalingstatechange = () => ev('signalingstatechange');
        pc.ondatachannel = (x) => {
          const id = `page-${m.pc}-${x.channel.id}`;
          dcs.set(id, x.channel);
          wireChannel(id, x.channel);
          ev('datachannel', { channel: { id, label: x.channel.label, readyState: x.channel.readyState } });
        };
        break;
      }
      case 'pc.call': {
        const pc = pcs.get(m.pc);
        if (!pc) { post({ k: 'reply', call: m.call, ok: false, error: { name: 'InvalidStateError', message: 'no such peer connection' } }); return; }
        const allowed = ['createOffer', 'createAnswer', 'setLocalDescription', 'setRemoteDescription', 'addIceCandidate', 'restartIce', 'getStats'];
        if (!allowed.includes(m.method)) { post({ k: 'reply', call: m.call, ok: false, error: { name: 'NotSupportedError', message: `${m.method} is not relayed` } }); return; }
        reply(m.call, async () => {
          const r = await pc[m.method](...(m.args || []));
          if (m.method === 'getStats') return r ? [...r.values()] : [];
          return r && typeof r === 'object' && 'sdp' in r ? desc(r) : undefined;
        }, pc);
        break;
      }
      case 'pc.close': {
        const pc = pcs.get(m.pc);
        if (pc) { pc.close(); pcs.delete(m.pc); }
        break;
      }
      case 'dc.new': {
        const pc = pcs.get(m.pc);
        if (!pc) return;
        const dc = pc.createDataChannel(m.label, m.init || {});
        dcs.set(m.dc, dc);
        wireChannel(m.dc, dc);
        break;
      }
      case 'dc.set': {
        const dc = dcs.get(m.dc);
        if (dc && m.prop === 'bufferedAmountLowThreshold') dc.bufferedAmountLowThreshold = m.value;
        break;
      }
      case 'dc.send': {
        const dc = dcs.get(m.dc);
        if (!dc) return;
        try {
          dc.send(m.data);
        } catch (err) {
          post({ k: 'dc.event', dc: m.dc, type: 'error', readyState: dc.readyState, bufferedAmount: dc.bufferedAmount, error: errorData(err) });
        }
        post({ k: 'dc.sent', dc: m.dc, n: m.n, bufferedAmount: dc.bufferedAmount });
        break;
      }
      case 'dc.close': {
        const dc = dcs.get(m.dc);
        if (dc) dc.close();
        break;
      }
      case 'sig.send':
        reply(m.call, () => signaling.send(m.action, m.options));
        break;
      case 'sig.subscribe': {
        let unsub;
        try {
          unsub = signaling.subscribe((message) => post({ k: 'sig.message', sub: m.sub, message }), m.hint);
        } catch (err) {
          post({ k: 'sig.ready', sub: m.sub, error: errorData(err) });
          return;
        }
        subs.set(m.sub, unsub);
        Promise.resolve(unsub && unsub.ready).then(() => post({ k: 'sig.ready', sub: m.sub }), () => post({ k: 'sig.ready', sub: m.sub }));
        break;
      }
      case 'sig.unsubscribe': {
        const unsub = subs.get(m.sub);
        subs.delete(m.sub);
        if (typeof unsub === 'function') unsub();
        break;
      }
      default:
    }
  };
  port.addEventListener('message', onmessage);
  port.start();
  return () => {
    port.removeEventListener('message', onmessage);
    for (const pc of pcs.values()) pc.close();
    for (const unsub of subs.values()) if (typeof unsub === 'function') unsub();
    pcs.clear(); dcs.clear(); subs.clear();
  };
}

// ------------------------------------------------------------------ worker side

/** An EventTarget that also calls its `on<type>` property, as DOM objects do. */
class Emitter extends EventTarget {
  emit(type, fields = {}) {
    const ev = type === 'message' ? new MessageEvent('message', { data: fields.data }) : new Event(type);
    for (const [k, v] of Object.entries(fields)) if (!(k in ev)) Object.defineProperty(ev, k, { value: v });
    const h = this[`on${type}`];
    if (typeof h === 'function') h.call(this, ev);
    this.dispatchEvent(ev);
  }
}

/**
 * Worker side: the relay's client on `port`. Returns `RelayPeerConnection`,
 * a class with RTCPeerConnection's shape (for launch()'s `RTCPeerConnection`
 * option) whose instances drive real peer connections in the page, and
 * `signaling`, a LaunchSignaling that forwards to the page's.
 * @param {MessagePort} port
 */
export function relayClient(port) {
  let next = 1;
  const calls = new Map();
  const peers = new Map();
  const channels = new Map();
  const subs = new Map();
  const call = (msg, peer) => new Promise((resolve, reject) => {
    const id = next++;
    calls.set(id, { resolve, reject, peer });
    port.postMessage({ ...msg, call: id });
  });

  class RelayDataChannel extends Emitter {
    constructor(id, label, init) {
      super();
      this.id = id;
      this.label = label;
      this.ordered = init.ordered !== false;
      this.readyState = 'connecting';
      this.binaryType = 'arraybuffer';
      this._threshold = 0;
      this._unconfirmed = 0;
      this._pageBuffered = 0;
      this.onopen = this.onclose = this.onmessage = this.onerror = this.onbufferedamountlow = this.onclosing = null;
    }

    get bufferedAmount() { return this._unconfirmed + this._pageBuffered; }
    get bufferedAmountLowThreshold() { return this._threshold; }
    set bufferedAmountLowThreshold(v) {
      this._threshold = v >>> 0;
      port.postMessage({ k: 'dc.set', dc: this.id, prop: 'bufferedAmountLowThreshold', value: this._threshold });
    }

    send(data) {
      if (this.readyState !== 'open') throw new DOMException('the data channel is not open', 'InvalidStateError');
      const bytes = bytesOf(data);
      const n = sizeOf(bytes);
      this._unconfirmed += n;
      port.postMessage({ k: 'dc.send', dc: this.id, data: bytes, n }, typeof bytes === 'string' ? [] : [bytes]);
    }

    close() {
      if (this.readyState === 'closed' || this.readyState === 'closing') return;
      this.readyState = 'closing';
      port.postMessage({ k: 'dc.close', dc: this.id });
    }

    _buffered(update) {
      const before = this.bufferedAmount;
      update();
      if (before > this._threshold && this.bufferedAmount <= this._threshold) this.emit('bufferedamountlow');
    }
  }

  class RelayPeerConnection extends Emitter {
    /** @param {RTCConfiguration} [config] */
    constructor(config = {}) {
      super();
      this._id = next++;
      this.connectionState = 'new';
      this.iceConnectionState = 'new';
      this.iceGatheringState = 'new';
      this.signalingState = 'stable';
      this.localDescription = null;
      this.remoteDescription = null;
      this.onicecandidate = this.onicegatheringstatechange = this.onconnectionstatechange = null;
      this.oniceconnectionstatechange = this.onsignalingstatechange = this.ondatachannel = null;
      peers.set(this._id, this);
      // iceServers with their credentials go to the page's peer connection only.
      port.postMessage({ k: 'pc.new', pc: this._id, config: { iceServers: config.iceServers || [], iceTransportPolicy: config.iceTransportPolicy } });
    }

    _apply(state) {
      if (!state || this.connectionState === 'closed') return;
      Object.assign(this, state);
    }

    _call(method, ...args) {
      if (this.signalingState === 'closed') return Promise.reject(new DOMException('the peer connection is closed', 'InvalidStateError'));
      return call({ k: 'pc.call', pc: this._id, method, args }, this);
    }

    createDataChannel(label, init = {}) {
      const id = `w${next++}`;
      const dc = new RelayDataChannel(id, String(label), init);
      dc._pc = this._id;
      channels.set(id, dc);
      port.postMessage({ k: 'dc.new', pc: this._id, dc: id, label: String(label), init: { ...init } });
      return dc;
    }

    createOffer(options) { return this._call('createOffer', options); }
    createAnswer(options) { return this._call('createAnswer', options); }
    setLocalDescription(d) { return this._call('setLocalDescription', d ? { type: d.type, sdp: d.sdp } : undefined); }
    setRemoteDescription(d) { return this._call('setRemoteDescription', { type: d.type, sdp: d.sdp }); }
    addIceCandidate(c) {
      const init = c && { candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex, usernameFragment: c.usernameFragment };
      return this._call('addIceCandidate', init);
    }
    restartIce() { port.postMessage({ k: 'pc.call', pc: this._id, method: 'restartIce', args: [], call: 0 }); }
    getStats() { return this._call('getStats'); }

    close() {
      if (this.signalingState === 'closed') return;
      this.signalingState = 'closed';
      this.connectionState = 'closed';
      this.iceConnectionState = 'closed';
      for (const dc of channels.values()) if (dc._pc === this._id) dc.readyState = 'closed';
      port.postMessage({ k: 'pc.close', pc: this._id });
    }
  }

  port.addEventListener('message', (e) => {
    const m = e.data;
    if (!m || typeof m.k !== 'string') return;
    switch (m.k) {
      case 'reply': {
        const c = calls.get(m.call);
        if (!c) return;
        calls.delete(m.call);
        if (c.peer) c.peer._apply(m.state);
        if (m.ok) c.resolve(m.value); else c.reject(errorFrom(m.error));
        break;
      }
      case 'pc.event': {
        const pc = peers.get(m.pc);
        if (!pc || pc.connectionState === 'closed') return;
        pc._apply(m.state);
        if (m.type === 'icecandidate') {
          const cand = m.candidate ? { ...m.candidate, toJSON() { return { ...m.candidate }; } } : null;
          pc.emit('icecandidate', { candidate: cand });
        } else if (m.type === 'datachannel') {
          const dc = new RelayDataChannel(m.channel.id, m.channel.label, {});
          dc._pc = m.pc;
          channels.set(m.channel.id, dc);
          pc.emit('datachannel', { channel: dc });
        } else if (m.type !== 'failed') {
          pc.emit(m.type);
        }
        break;
      }
      case 'dc.event': {
        const dc = channels.get(m.dc);
        if (!dc) return;
        if (m.type === 'message') {
          dc._buffered(() => { dc._pageBuffered = m.bufferedAmount; });
          if (dc.readyState !== 'closed') dc.emit('message', { data: m.data });
          return;
        }
        if (dc.readyState !== 'closing' || m.readyState === 'closed') dc.readyState = m.readyState;
        if (m.type === 'bufferedamountlow') {
          dc._buffered(() => { dc._pageBuffered = m.bufferedAmount; });
          return;
        }
        dc._pageBuffered = m.bufferedAmount;
        dc.emit(m.type);
        break;
      }
      case 'dc.sent': {
        const dc = channels.get(m.dc);
        if (dc) dc._buffered(() => { dc._unconfirmed = Math.max(0, dc._unconfirmed - m.n); dc._pageBuffered = m.bufferedAmount; });
        break;
      }
      case 'sig.message': {
        const h = subs.get(m.sub);
        if (h) h.handler(m.message);
        break;
      }
      case 'sig.ready': {
        const h = subs.get(m.sub);
        if (h) h.ready();
        break;
      }
      default:
    }
  });
  port.start();

  /** The page's signaling, relayed (a LaunchSignaling). */
  const signaling = {
    send(action, options) {
      return call({ k: 'sig.send', action, options: { timeoutMs: options && options.timeoutMs, streamResponse: options && options.streamResponse } });
    },
    subscribe(handler, hint) {
      const sub = next++;
      let ready;
      const readyP = new Promise((r) => { ready = r; });
      subs.set(sub, { handler, ready });
      port.postMessage({ k: 'sig.subscribe', sub, hint: hint ? { conversationId: hint.conversationId } : undefined });
      const unsubscribe = () => {
        if (!subs.delete(sub)) return;
        port.postMessage({ k: 'sig.unsubscribe', sub });
      };
      unsubscribe.ready = readyP;
      return unsubscribe;
    },
  };
  return { RelayPeerConnection, signaling };
}
