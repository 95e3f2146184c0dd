// The page of tests/e2e/launch-loopback.test.mjs: the product's wasm
// launch() against a "gateway" written here, in the same page:
//
// - signaling: send(action, { timeoutMs, streamResponse }) decrypts the offer
//   with WebCrypto (HKDF-SHA256 + AES-256-GCM, independent of the wasm),
//   records the inputs and the offer data, and answers with a second
//   RTCPeerConnection: in the send response (non-trickle) or through the
//   subscribe handler (trickle: the encrypted {answer}, then {candidates}
//   one at a time, "" last);
// - data channel: the framing of docs/tube-framing.md §1-§2; OpenConnection is
//   answered with ConnectionOpened and a Ping, then the start of a real guacd
//   stream (given by the test) goes out on connection 1; what the client sends
//   on connection 1 is recorded; CloseConnection is recorded and, as Keeper's
//   library does, the gateway then closes the channel.
//
// Modes: ok, refuse, silent, drop (the gateway closes the channel after the
// stream), guacdError (CloseConnection(1, GuacdError, msg) after the stream),
// malformed (an instruction the renderer cannot parse on connection 1 after
// the stream), frameFlood (an open frame of 65,537 operations after the
// stream: RESOURCE_LIMIT), tlsError (guacd's 519 "SSL/TLS connection failed"
// right after an empty sync, nothing drawn), close (CloseConnection(1,
// cfg.closeReason, cfg.closeMessage) cfg.closeAfterMs after the stream).
// The client's Pings are answered with a Pong echoing their data, as Keeper's
// library does (cfg.noPong: never; cfg.pongDelayMs: after a delay), and
// counted. T.stallChannel() makes the
// client's data channel report a full buffer (bufferedAmount 64 MiB), so
// its outbound queue only grows.
// The page logs every status on the console (the test greps it for secrets).
import init, { launch, planLaunch } from '/pkg/web/pam_launch_wasm.js';
import { CTRL, frame, control, u32, frameReader } from './tube-frames.mjs';

const enc = new TextEncoder();
const dec = new TextDecoder();
const INFO = 'KEEPER_TUNNEL_ENCRYPT_AES_GCM_128';
const MAX_FRAME_PAYLOAD = 16 * 1024;

// Every RTCPeerConnection the wasm creates (the gateway's own use NativePC).
const NativePC = window.RTCPeerConnection;
const created = [];
const channels = [];
window.RTCPeerConnection = class extends NativePC {
  constructor(...args) {
    super(...args);
    created.push(this);
  }

  createDataChannel(...args) {
    const dc = super.createDataChannel(...args);
    channels.push(dc);
    return dc;
  }
};

// A page's own wrapper, handed to launch() as its `RTCPeerConnection` option
// (not installed globally): it counts every call, and whether each SDP or
// candidate argument is a plain object (never RTCSessionDescription/RTCIceCandidate).
const optionCalls = [];
const optionCreated = [];
const plain = (v) => (v && Object.getPrototypeOf(v) === Object.prototype ? 'plain' : 'class');
class CountingPC extends NativePC {
  constructor(...args) {
    super(...args);
    optionCalls.push('constructor');
    optionCreated.push(this);
  }

  createDataChannel(...args) {
    optionCalls.push('createDataChannel');
    const dc = super.createDataChannel(...args);
    channels.push(dc);
    return dc;
  }

  createOffer(...args) {
    optionCalls.push('createOffer');
    return super.createOffer(...args);
  }

  setLocalDescription(d) {
    optionCalls.push(`setLocalDescription:${plain(d)}`);
    return super.setLocalDescription(d);
  }

  setRemoteDescription(d) {
    optionCalls.push(`setRemoteDescription:${plain(d)}`);
    return super.setRemoteDescription(d);
  }

  addIceCandidate(c) {
    optionCalls.push(`addIceCandidate:${plain(c)}`);
    return super.addIceCandidate(c);
  }

  close() {
    optionCalls.push('close');
    return super.close();
  }
}

const canvas = document.getElementById('screen');
canvas.style.display = 'block';
canvas.style.width = '1024px';
canvas.style.height = '768px';

// ---------------------------------------------------------------- bytes

const b64 = (bytes) => {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
};
const unb64 = (text) => {
  const t = text.replace(/-/g, '+').replace(/_/g, '/');
  const bin = atob(t + '='.repeat((4 - (t.length % 4)) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
};
const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');


// ---------------------------------------------------------------- tunnel crypto (WebCrypto)

async function tunnelKey(seed, salt) {
  const ikm = await crypto.subtle.importKey('raw', seed, 'HKDF', false, ['deriveKey']);
  return crypto.subtle.deriveKey(
    { name: 'HKDF', hash: 'SHA-256', salt, info: enc.encode(INFO) },
    ikm, { name: 'AES-GCM', length: 256 }, true, ['encrypt', 'decrypt']);
}
async function decryptJson(key, text) {
  const raw = unb64(text);
  const plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: raw.subarray(0, 12) }, key, raw.subarray(12));
  return JSON.parse(dec.decode(plain));
}
async function encryptJson(key, obj) {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ct = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, key, enc.encode(JSON.stringify(obj))));
  const out = new Uint8Array(12 + ct.length);
  out.set(iv);
  out.set(ct, 12);
  return b64(out);
}

const gatheringComplete = (pc, ms = 5000) => new Promise((resolve) => {
  if (pc.iceGatheringState === 'complete') return resolve();
  const t = setTimeout(resolve, ms);
  pc.addEventListener('icegatheringstatechange', () => {
    if (pc.iceGatheringState === 'complete') { clearTimeout(t); resolve(); }
  });
});

// ConnectAs as the gateway opens it: ECDH P-256 -> HKDF-SHA256 (no salt) -> AES-256-GCM.
async function openConnectAs(privateKey, block) {
  const dv = new DataView(block.buffer, block.byteOffset, block.byteLength);
  const len = dv.getUint32(0);
  const pub = block.subarray(4, 69);
  const nonce = block.subarray(69, 81);
  const ct = block.subarray(81, 81 + len);
  const peer = await crypto.subtle.importKey('raw', pub, { name: 'ECDH', namedCurve: 'P-256' }, false, []);
  const shared = await crypto.subtle.deriveBits({ name: 'ECDH', public: peer }, privateKey, 256);
  const ikm = await crypto.subtle.importKey('raw', shared, 'HKDF', false, ['deriveKey']);
  const key = await crypto.subtle.deriveKey(
    { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: enc.encode('KEEPER_CONNECT_AS_ECIES_SECP256R1_HKDF_SHA256') },
    ikm, { name: 'AES-GCM', length: 256 }, false, ['decrypt']);
  const plain = dec.decode(await crypto.subtle.decrypt({ name: 'AES-GCM', iv: nonce }, key, ct));
  const { user } = JSON.parse(plain);
  return { blockLen: block.length, plainLen: plain.length, keys: Object.keys(user), username: user.username, password: user.password };
}

// ---------------------------------------------------------------- the fake gateway

function fakeGateway(cfg) {
  const gw = {
    calls: [], action: null, offer: null, offerSdp: null, answerSdp: null, key: null,
    opens: [], closes: [], pings: 0, pongs: [], clientPings: [], received: '', frameTimestamps: [],
    clientCandidates: [], gatewayCandidates: [], subscribeHint: null, unsubscribed: false,
    errors: [], channelLabel: null, channelOrdered: null, sentBytes: 0, restarts: [], restartAnswered: false,
  };
  let handler = null;
  let key = null;
  let pc2 = null;
  let dc2 = null;
  let answered = false;
  const heldCandidates = [];
  const deliver = async (obj, form) => {
    if (!handler) return;
    const payload = JSON.stringify({ is_ok: true, data: await encryptJson(key, obj) });
    // Both id alphabets, both message forms (object and array).
    const id = form === 'array' ? gw.channelLabel : gw.action.conversationId;
    const msg = { conversationId: id, type: 'webrtc-session', payload };
    handler(form === 'array' ? [{ conversationId: 'someOtherConversation', payload: '{}' }, msg] : msg);
  };
  const sendCandidate = (c) => deliver({ candidates: [c] }, 'array');

  const onChannel = (dc) => {
    dc2 = dc;
    gw.dc = dc;
    gw.channelLabel = dc.label;
    gw.channelOrdered = dc.ordered;
    dc.binaryType = 'arraybuffer';
    const read = frameReader((conn, ts, payload) => {
      gw.frameTimestamps.push(ts);
      if (conn === 0) {
        const dv = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
        const code = dv.getUint16(0);
        const data = payload.subarray(2);
        if (code === CTRL.OpenConnection) {
          gw.opens.push({ conn: new DataView(data.buffer, data.byteOffset).getUint32(0), len: data.length });
          if (data.length > 4 && cfg.gatewayKeys) {
            openConnectAs(cfg.gatewayKeys.privateKey, data.subarray(4))
              .then((user) => { gw.connectAs = user; })
              .catch((e) => gw.errors.push(`ConnectAs: ${e.name}`));
          }
          dc.send(control(CTRL.ConnectionOpened, u32(1)));
          dc.send(control(CTRL.Ping, new Uint8Array([...u32(0), ...enc.encode('PING')])));
          gw.pings++;
          stream();
        } else if (code === CTRL.Pong) {
          gw.pongs.push(dec.decode(data.subarray(4)));
        } else if (code === CTRL.Ping) {
          gw.clientPings.push(data.length);
          const echo = control(CTRL.Pong, data.slice());
          if (!cfg.noPong) {
            if (cfg.pongDelayMs) setTimeout(() => { if (dc.readyState === 'open') dc.send(echo); }, cfg.pongDelayMs);
            else dc.send(echo);
          }
        } else if (code === CTRL.CloseConnection) {
          const ddv = new DataView(data.buffer, data.byteOffset, data.byteLength);
          const message = data.length > 7 ? dec.decode(data.subarray(7, 7 + ddv.getUint16(5))) : null;
          gw.closes.push({ conn: ddv.getUint32(0), reason: data.length > 4 ? data[4] : null, message, at: performance.now() });
          // Keeper's library closes the whole tube, without a reply.
          setTimeout(() => { dc.close(); pc2.close(); }, 100);
        } else {
          gw.errors.push(`unexpected control ${code}`);
        }
      } else if (conn === 1) {
        gw.received += dec.decode(payload);
      } else {
        gw.errors.push(`data on connection ${conn}`);
      }
    }, (e) => gw.errors.push(e));
    dc.onmessage = (ev) => { gw.lastMsgAt = performance.now(); read(new Uint8Array(ev.data)); };
  };

  const stream = () => {
    for (const chunk of cfg.chunks) {
      const bytes = enc.encode(chunk);
      for (let o = 0; o < bytes.length; o += MAX_FRAME_PAYLOAD) {
        const part = bytes.subarray(o, o + MAX_FRAME_PAYLOAD);
        dc2.send(frame(1, part));
        gw.sentBytes += part.length;
      }
    }

    // guacd's error instruction on connection 1, then the gateway's CloseConnection
    // (connection 1, reason 14 = guacd error, the library's message).
    const guacdFailure = (instruction, message) => {
      const msg = enc.encode(message);
      const data = new Uint8Array(4 + 1 + 2 + msg.length);
      const dv = new DataView(data.buffer);
      dv.setUint32(0, 1);
      data[4] = 14;
      dv.setUint16(5, msg.length);
      data.set(msg, 7);
      dc2.send(frame(1, enc.encode(instruction)));
      dc2.send(control(CTRL.CloseConnection, data));
    };
    if (cfg.mode === 'drop') {
      setTimeout(() => { gw.dropped = performance.now(); dc2.close(); }, cfg.dropAfterMs ?? 300);
    } else if (cfg.mode === 'malformed') {
      // A length prefix that is not a number: the renderer's parser refuses it.
      setTimeout(() => { dc2.send(frame(1, enc.encode('4.sync,x.1;'))); }, 200);
    } else if (cfg.mode === 'frameFlood') {
      // An open frame that never ends: 65,537 operations, in 16 KiB frames.
      setTimeout(() => {
        const bytes = enc.encode('4.rect,1.0,1.1,1.2,1.3,1.4;'.repeat(65537));
        for (let o = 0; o < bytes.length; o += MAX_FRAME_PAYLOAD) dc2.send(frame(1, bytes.subarray(o, o + MAX_FRAME_PAYLOAD)));
      }, 200);
    } else if (cfg.mode === 'tlsError') {
      // guacd on RDP without ignore-cert: an empty sync, then its error and the gateway's close.
      setTimeout(() => guacdFailure('5.error,25.SSL/TLS connection failed,3.519;', 'Guacd error: SSL/TLS connection failed, 519'), 200);
    } else if (cfg.mode === 'close') {
      setTimeout(() => {
        const msg = enc.encode(cfg.closeMessage || '');
        const data = new Uint8Array(4 + 1 + 2 + msg.length);
        const dv = new DataView(data.buffer);
        dv.setUint32(0, 1);
        data[4] = cfg.closeReason;
        dv.setUint16(5, msg.length);
        data.set(msg, 7);
        dc2.send(control(CTRL.CloseConnection, data));
      }, cfg.closeAfterMs ?? 200);
    } else if (cfg.mode === 'guacdError') {
      setTimeout(() => guacdFailure('5.error,28.Simulated failure for a test,3.519;', 'Guacd error: Simulated failure, 519'), 200);
    }
  };

  const signaling = {
    async send(action, opts) {
      const inputs = action.inputs || {};
      gw.calls.push({ kind: inputs.kind, timeoutMs: opts && opts.timeoutMs, streamResponse: opts && opts.streamResponse, optionKeys: Object.keys(opts || {}) });
      if (inputs.kind === 'start') {
        gw.action = { ...action, inputs: { ...inputs, data: `<${inputs.data.length} chars>` } };
        gw.actionKeys = Object.keys(action);
        gw.inputKeys = Object.keys(inputs);
        key = await tunnelKey(unb64(cfg.seed), unb64(inputs.base64Nonce));
        gw.key = b64(new Uint8Array(await crypto.subtle.exportKey('raw', key)));
        const offer = await decryptJson(key, inputs.data);
        gw.offerSdp = atob(offer.offer);
        gw.offer = { ...offer, offer: `<${offer.offer.length} chars>` };
        if (cfg.mode === 'refuse') return { is_ok: false, error: cfg.reason };
        if (cfg.mode === 'silent') return new Promise(() => {});
        pc2 = new NativePC({ iceServers: [] });
        gw.pc = pc2;
        pc2.ondatachannel = (ev) => onChannel(ev.channel);
        if (inputs.trickleICE) {
          pc2.onicecandidate = (ev) => {
            const c = ev.candidate ? ev.candidate.candidate : '';
            if (!ev.candidate && gw.gatewayCandidates.includes('')) return;
            gw.gatewayCandidates.push(c);
            if (answered) sendCandidate(c);
            else heldCandidates.push(c);
          };
        }
        await pc2.setRemoteDescription({ type: 'offer', sdp: gw.offerSdp });
        await pc2.setLocalDescription(await pc2.createAnswer());
        if (!inputs.trickleICE) {
          await gatheringComplete(pc2);
          gw.answerSdp = pc2.localDescription.sdp;
          return { is_ok: true, data: await encryptJson(key, { answer: btoa(gw.answerSdp) }) };
        }
        gw.answerSdp = pc2.localDescription.sdp;
        // The router acknowledges at once; the answer follows on the websocket.
        setTimeout(async () => {
          await deliver({ answer: btoa(gw.answerSdp) }, 'object');
          answered = true;
          for (const c of heldCandidates.splice(0)) await sendCandidate(c);
        }, 0);
        return { isOk: true, data: `offer buffered for ${action.conversationId}` };
      }
      if (inputs.kind === 'icecandidate') {
        const { candidates } = await decryptJson(key, inputs.data);
        for (const c of candidates) {
          gw.clientCandidates.push(c);
          try {
            await pc2.addIceCandidate({ candidate: c, sdpMid: '0', sdpMLineIndex: 0 });
          } catch (e) {
            gw.errors.push(`addIceCandidate: ${e.name}`);
          }
        }
        return JSON.stringify({ is_ok: true, data: 'ice candidate received' });
      }
      if (inputs.kind === 'ice_restart_offer') {
        // The client restarts ICE: answer with the raw SDP, as Keeper's library does.
        const m = await decryptJson(key, inputs.data);
        gw.restarts.push({ from: 'client', type: m.type, iceRestart: m.ice_restart, candidates: (m.sdp.match(/a=candidate:/g) || []).length });
        await pc2.setRemoteDescription({ type: 'offer', sdp: m.sdp });
        await pc2.setLocalDescription(await pc2.createAnswer());
        await gatheringComplete(pc2);
        return { is_ok: true, data: await encryptJson(key, { sdp: pc2.localDescription.sdp }) };
      }
      if (inputs.kind === 'ice_restart_answer') {
        const m = await decryptJson(key, inputs.data);
        gw.restarts.push({ from: 'gateway', type: m.type, iceRestart: m.ice_restart, candidates: (m.sdp.match(/a=candidate:/g) || []).length });
        await pc2.setRemoteDescription({ type: 'answer', sdp: m.sdp });
        gw.restartAnswered = true;
        return { is_ok: true, data: 'ice restart answer received' };
      }
      gw.errors.push(`unexpected kind ${inputs.kind}`);
      return { is_ok: false, error: 'unexpected kind' };
    },
    subscribe(h, hint) {
      handler = h;
      gw.subscribeHint = hint;
      const unsubscribe = () => { gw.unsubscribed = true; handler = null; };
      // An adapter whose stream is still connecting says so with `ready`.
      if (cfg.readyDelayMs) unsubscribe.ready = new Promise((r) => setTimeout(r, cfg.readyDelayMs));
      return unsubscribe;
    },
  };
  /** The gateway restarts ICE: its offer goes to the client on the websocket. */
  gw.restartFromGateway = async () => {
    await pc2.setLocalDescription(await pc2.createOffer({ iceRestart: true }));
    await gatheringComplete(pc2);
    await deliver({ type: 'offer', sdp: pc2.localDescription.sdp }, 'object');
  };
  gw.iceUfrag = () => ((pc2.remoteDescription.sdp.match(/a=ice-ufrag:(\S+)/) || [])[1]);
  return { gw, signaling };
}

// ---------------------------------------------------------------- the test's handle

const T = {
  cur: null,
  created,
  /** Starts a launch; returns once launch() has. */
  async start(cfg) {
    let connectAs;
    if (cfg.connectAs) {
      cfg.gatewayKeys = await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, false, ['deriveBits']);
      const raw = new Uint8Array(await crypto.subtle.exportKey('raw', cfg.gatewayKeys.publicKey));
      connectAs = { ...cfg.connectAs, gatewayPublicKey: cfg.publicKeyAsText ? b64(raw) : raw };
    }
    const { gw, signaling } = fakeGateway(cfg);
    const cur = { cfg, gw, statuses: [], frames: 0, error: null, closedStatus: null, instructions: {}, headlessFrames: [] };
    T.cur = cur;
    const plan = cfg.planForm === 'request' ? cfg.request : planLaunch(cfg.request);
    const pcBefore = created.length;
    const optionBefore = optionCreated.length;
    const headless = cfg.renderer === 'headless';
    try {
      cur.session = launch({
        plan,
        record: cfg.planForm === 'request' ? undefined : cfg.request.record,
        signaling,
        iceServers: cfg.iceServers || [],
        RTCPeerConnection: cfg.rtcOption ? CountingPC : undefined,
        renderer: cfg.renderer,
        canvas: headless ? undefined : canvas,
        oninstruction: headless ? (op) => { cur.instructions[op] = (cur.instructions[op] || 0) + 1; } : undefined,
        trickleIce: cfg.trickle,
        timeouts: cfg.timeouts,
        connectAs,
        onstatus: (s) => {
          cur.statuses.push({ phase: s.phase, message: s.message, code: s.error ? s.error.code : null, t: performance.now() });
          console.log(`[status] ${s.phase}: ${s.message}${s.error ? ` (${s.error.code}: ${s.error.message})` : ''}`);
        },
      });
    } catch (e) {
      cur.error = { name: e.name, code: e.code, message: e.message };
      console.log(`[launch threw] ${e.code}: ${e.message}`);
      return;
    }
    cur.pc = cfg.rtcOption ? optionCreated[optionBefore] : created[pcBefore];
    cur.session.onframe = (n) => {
      if (typeof n === 'number') {
        cur.frames = n;
      } else {
        // Headless: { frame, ops, width, height, at, timestamp, painted }.
        cur.frames = n.frame;
        cur.headlessFrames.push(n);
      }
    };
    cur.session.closed.then((s) => {
      cur.closedStatus = { phase: s.phase, message: s.message, code: s.error ? s.error.code : null, pcState: cur.pc && cur.pc.connectionState, signalingState: cur.pc && cur.pc.signalingState };
      cur.closeReason = s.closeReason === undefined ? 'absent' : s.closeReason;
      cur.guacStatus = s.guacStatus === undefined ? 'absent' : s.guacStatus;
      cur.sessionStatusReason = cur.session.status.closeReason ?? 'absent';
      console.log(`[closed] ${JSON.stringify(cur.session.timings)}`);
    });
  },
  /** launch() with options that cannot start: the error codes (null: no throw). */
  badOptions() {
    const signaling = { send: async () => ({}), subscribe: () => () => {} };
    const tries = [
      {},
      { plan: { inputs: { recordUid: 'r', conversationType: 'ssh' } }, signaling },
      { plan: { recordUid: 'r', record: { type: 'pamMachine', fields: [] } }, signaling: { send: 1 } },
      { plan: { inputs: { recordUid: 'r', conversationType: 'ssh', extra: 1 } }, record: {}, signaling },
      { plan: { inputs: { recordUid: 'r', conversationType: 'ssh' } }, record: { fields: [] }, signaling },
      { plan: { inputs: { recordUid: 'r', conversationType: 'ssh' } }, record: { fields: [] }, signaling, host: { hostName: 'h' }, iceServers: 'stun:x' },
    ];
    return tries.map((t) => {
      try {
        launch(t).disconnect();
        return null;
      } catch (e) {
        return e.code;
      }
    });
  },
  /** disconnect() right after launch(): cancelled, nothing sent. */
  async cancelAtOnce() {
    const { gw, signaling } = fakeGateway({ seed: '', chunks: [], mode: 'ok' });
    const statuses = [];
    const session = launch({ plan: planLaunch(T.cur.cfg.request), record: T.cur.cfg.request.record, signaling, canvas, onstatus: (s) => statuses.push(s.phase) });
    session.disconnect();
    const end = await session.closed;
    return { statuses, message: end.message, code: end.error ? end.error.code : null, calls: gw.calls.length, subscribed: gw.subscribeHint !== null };
  },
  /** Frees the (closed) session, then uses the renderer the page still holds. */
  useAfterFree() {
    const { session } = T.cur;
    const client = session.client;
    session.free();
    try {
      client.sendKeyEvent(65, true);
      client.sendKeyEvent(65, false);
      client.resize(800, 600);
      return null;
    } catch (e) {
      return `${e.name}: ${e.message}`;
    }
  },
  optionCalls() {
    return optionCalls.slice();
  },
  globalCreated() {
    return created.length;
  },
  phases() {
    return T.cur.statuses.map((s) => s.phase);
  },
  /** Pixels of the canvas brighter than near-black. */
  litPixels() {
    const ctx = canvas.getContext('2d');
    const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
    let n = 0;
    for (let i = 0; i < data.length; i += 4) if (data[i] + data[i + 1] + data[i + 2] > 90) n++;
    return { lit: n, width: canvas.width, height: canvas.height };
  },
  focusAndType() {
    T.cur.session.attachInput(canvas);
    T.cur.session.focus();
  },
  /** ICE restart from the client (session.restartIce()) or from the gateway. */
  async restart(from) {
    const { gw, session } = T.cur;
    const before = gw.iceUfrag();
    if (from === 'client') await session.restartIce();
    else await gw.restartFromGateway();
    const t0 = performance.now();
    while (performance.now() - t0 < 5000) {
      const done = from === 'client'
        ? T.cur.pc.signalingState === 'stable' && gw.iceUfrag() !== before
        : gw.restartAnswered;
      if (done) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    return { before, after: gw.iceUfrag(), restarts: gw.restarts, ice: T.cur.pc.iceConnectionState, ms: Math.round(performance.now() - t0) };
  },
  /**
   * Pastes `mb` MiB of text in one go: ~1.35x that in base64 blobs, burst out
   * far past the data channel's own 16 MiB buffer, so it only arrives whole
   * if the session queues on bufferedAmount. Resolves with what the gateway got.
   */
  async bigPaste(mb) {
    const { gw, session } = T.cur;
    const unit = 'pam-launch-wasm backpressure check 0123456789abcdef\n';
    const text = unit.repeat(Math.ceil((mb * 1024 * 1024) / unit.length));
    const start = gw.received.length;
    const t0 = performance.now();
    const sent = session.setClipboard(text);
    while (performance.now() - t0 < 30000) {
      if (gw.received.lastIndexOf(';3.end,') > start + text.length) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const got = gw.received.slice(start);
    let bytes = 0;
    let same = true;
    const enc2 = new TextEncoder();
    const expect = enc2.encode(text);
    for (const m of got.matchAll(/4\.blob,\d+\.\d+,\d+\.([A-Za-z0-9+/=]*);/g)) {
      const chunk = unb64(m[1]);
      for (let i = 0; i < chunk.length; i += 997) if (chunk[i] !== expect[bytes + i]) same = false;
      bytes += chunk.length;
    }
    return { sent, textBytes: expect.length, bytes, same, ms: Math.round(performance.now() - t0), lastMsgMs: Math.round(gw.lastMsgAt - t0), errors: gw.errors };
  },
  /** The client's data channel reports a full buffer from now on. */
  stallChannel() {
    const dc = channels[channels.length - 1];
    Object.defineProperty(dc, 'bufferedAmount', { get: () => 64 * 1024 * 1024, configurable: true });
  },
  /** Pastes `n` texts of `mb` MiB each; what setClipboard returned or threw. */
  pasteMany(n, mb) {
    const text = 'q'.repeat(mb * 1024 * 1024);
    const out = [];
    for (let i = 0; i < n; i++) {
      try {
        out.push(T.cur.session.setClipboard(text));
      } catch (e) {
        out.push(`${e.code}: ${e.message}`);
      }
    }
    return out;
  },
  /** session.stats now. */
  stats() {
    return T.cur.session.stats;
  },
  keys() {
    return [...T.cur.gw.received.matchAll(/3\.key,\d+\.(\d+),1\.([01]);/g)].map((m) => [Number(m[1]), Number(m[2])]);
  },
  report() {
    const { gw, session, pc } = T.cur;
    const pwd = (sdp) => ((sdp || '').match(/a=ice-pwd:(\S+)/) || [])[1] || null;
    return {
      error: T.cur.error,
      statuses: T.cur.statuses,
      closedStatus: T.cur.closedStatus,
      closeReason: T.cur.closeReason,
      guacStatus: T.cur.guacStatus,
      sessionStatusReason: T.cur.sessionStatusReason,
      frames: T.cur.frames,
      timings: session ? session.timings : null,
      status: session ? { phase: session.status.phase, message: session.status.message, code: session.status.error ? session.status.error.code : null } : null,
      conversationId: session ? session.conversationId : null,
      gw: {
        calls: gw.calls, action: gw.action, actionKeys: gw.actionKeys, inputKeys: gw.inputKeys, offer: gw.offer,
        offerMaxMessageSize: ((gw.offerSdp || '').match(/a=max-message-size:(\d+)/) || [])[1] || null,
        offerCandidates: ((gw.offerSdp || '').match(/a=candidate:/g) || []).length,
        key: gw.key, opens: gw.opens, connectAs: gw.connectAs || null, closes: gw.closes, pings: gw.pings, pongs: gw.pongs, clientPings: gw.clientPings,
        receivedChars: gw.received.length, clientCandidates: gw.clientCandidates, gatewayCandidates: gw.gatewayCandidates,
        subscribeHint: gw.subscribeHint, unsubscribed: gw.unsubscribed, errors: gw.errors,
        channelLabel: gw.channelLabel, channelOrdered: gw.channelOrdered, sentBytes: gw.sentBytes, restarts: gw.restarts,
        frameTimestamps: gw.frameTimestamps.slice(0, 3), now: Date.now(),
      },
      pc: pc ? { connectionState: pc.connectionState, signalingState: pc.signalingState, iceServers: (() => { try { return pc.getConfiguration().iceServers.length; } catch { return null; } })() } : null,
      icePwds: [pwd(pc && pc.localDescription && pc.localDescription.sdp), pwd(gw.answerSdp)].filter(Boolean),
    };
  },
};

await init();
window.T = T;

// For tests/e2e/pages/worker-launch.js (the same gateway for a launch in a Worker).
export { fakeGateway };
