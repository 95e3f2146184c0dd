// A small plain-JS WebRTC client for tests/e2e/gateway.test.mjs: it proves the
// stand-in / replay guacd / network-namespace path. It is NOT the product's
// client (that is the wasm `launch()`); it does the least that the gateway
// side needs, with the framing of docs/tube-framing.md §1-§2.
//
// Crypto stays in Node: the test exposes pamEncrypt(launchId, obj) and
// pamDecrypt(launchId, text) (tunnel key derived from the record's seed and
// the launch's nonce), so no key reaches the page.
import { standinSignaling } from './standin-signaling.mjs';
import { CTRL, frame, control, u32, frameReader } from './tube-frames.mjs';

const enc = new TextEncoder();
const dec = new TextDecoder();

const b64 = (bytes) => {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
};

function isAck(data) {
  // Acknowledgements are plain text ("... buffered", "connected", "... <conversation id>");
  // encrypted data is the standard base64 of nonce || ciphertext || tag (>= 28 bytes).
  return !(data.length >= 40 && /^[A-Za-z0-9+/]+=*$/.test(data));
}

const withTimeout = (p, ms, what) => Promise.race([
  p,
  new Promise((_, rej) => setTimeout(() => rej(new Error(`timeout: ${what} (${ms} ms)`)), ms)),
]);

/**
 * Starts a launch. opts: { launchId, conversationId (url-safe), label (std
 * base64), inputs (everything but data), offerData (the offer object without
 * `offer`), trickle, timeoutMs, clientTimeoutMs, base }.
 * Resolves to a session object (window.pamSession) once the launch is answered
 * (or failed: session.error).
 */
export async function startSession(opts) {
  const t0 = performance.now();
  const ms = () => Math.round((performance.now() - t0) * 10) / 10;
  const signaling = standinSignaling(opts.base || '');
  const s = {
    times: {},
    events: [],
    error: null,
    forms: { object: 0, array: 0, urlsafeId: 0, standardId: 0, is_ok: 0, isOk: 0, acks: 0, encrypted: 0 },
    pings: [],
    closes: [],
    received: [],
    receivedBytes: 0,
    connectionOpened: false,
    channelClosed: false,
    candidatesSent: [],
    candidatesReceived: [],
  };
  window.pamSession = s;
  const mark = (k) => { if (s.times[k] === undefined) s.times[k] = ms(); };
  const pc = new RTCPeerConnection({ iceServers: [] });
  const dc = pc.createDataChannel(opts.label, { ordered: true });
  dc.binaryType = 'arraybuffer';
  s.pc = pc;
  s.dc = dc;
  pc.onconnectionstatechange = () => { s.events.push([ms(), `pc:${pc.connectionState}`]); };
  pc.oniceconnectionstatechange = () => { s.events.push([ms(), `ice:${pc.iceConnectionState}`]); };

  // ---- data channel framing
  const waiters = [];
  const wake = () => { for (const w of waiters.splice(0)) w(); };
  s.waitFor = (pred, timeout, what) => withTimeout(new Promise((resolve) => {
    const check = () => (pred() ? resolve() : waiters.push(check));
    check();
  }), timeout, what);
  const onFrame = (conn, payload) => {
    if (conn === 0) {
      const dv = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
      const code = dv.getUint16(0);
      const data = payload.subarray(2);
      if (code === CTRL.Ping) {
        s.pings.push({ t: ms(), len: data.length });
        dc.send(control(CTRL.Pong, data));
      } else if (code === CTRL.ConnectionOpened) {
        mark('connectionOpened');
        s.connectionOpened = true;
      } else if (code === CTRL.CloseConnection) {
        const ddv = new DataView(data.buffer, data.byteOffset, data.byteLength);
        const c = { t: ms(), conn: ddv.getUint32(0), reason: data.length > 4 ? data[4] : null, msg: '' };
        if (data.length >= 7) c.msg = dec.decode(data.subarray(7, 7 + ddv.getUint16(5)));
        s.closes.push(c);
        mark('closeConnection');
      } else {
        s.events.push([ms(), `control:${code}`]);
      }
    } else if (conn === 1) {
      mark('firstByte');
      s.received.push(payload.slice());
      s.receivedBytes += payload.length;
    }
    wake();
  };
  const read = frameReader((conn, _ts, payload) => onFrame(conn, payload), (why) => {
    s.error = s.error || `corrupt frame: ${why}`;
  });
  dc.onmessage = (ev) => read(new Uint8Array(ev.data));
  dc.onopen = () => {
    mark('channelOpen');
    mark('openConnectionSent');
    dc.send(control(CTRL.OpenConnection, u32(1)));
  };
  dc.onclose = () => { mark('channelClose'); s.channelClosed = true; wake(); };

  // ---- signaling
  const id = opts.conversationId;
  let remoteSet = false;
  const pendingRemote = [];
  let canSendCandidates = false;
  const localBuffer = [];
  const sendCandidates = async (list) => {
    s.candidatesSent.push(...list);
    const data = await window.pamEncrypt(opts.launchId, { candidates: list });
    const action = {
      action: 'webrtc-session', conversationId: id, messageId: id, is_scheduled: false, gateway_destination: null,
      inputs: { ...opts.inputs, kind: 'icecandidate', data },
    };
    const r = await signaling.send(action, { timeoutMs: opts.timeoutMs, streamResponse: true });
    if (!(r.is_ok ?? r.isOk)) s.events.push([ms(), `candidate refused: ${r.error}`]);
  };
  const addRemote = async (c, again = false) => {
    if (!again) s.candidatesReceived.push(c);
    if (!remoteSet) return pendingRemote.push(c);
    try {
      await pc.addIceCandidate({ candidate: c, sdpMid: '0', sdpMLineIndex: 0 });
    } catch (e) {
      s.events.push([ms(), `addIceCandidate failed: ${e.message}`]);
    }
  };
  let answerResolve;
  const answered = new Promise((r) => { answerResolve = r; });
  const setAnswer = async (sdp) => {
    mark('answerReceived');
    if (s.restartResolve) {
      // an ICE-restart answer
      await pc.setRemoteDescription({ type: 'answer', sdp });
      const r = s.restartResolve;
      s.restartResolve = null;
      r();
      return;
    }
    await pc.setRemoteDescription({ type: 'answer', sdp });
    mark('answerSet');
    remoteSet = true;
    for (const c of pendingRemote.splice(0)) await addRemote(c, true);
    answerResolve();
  };
  const handleResponse = async (resp) => {
    const ok = resp.is_ok ?? resp.isOk;
    if ('isOk' in resp) s.forms.isOk++;
    else s.forms.is_ok++;
    if (!ok) {
      s.error = s.error || `gateway: ${resp.error}`;
      return;
    }
    if (typeof resp.data !== 'string' || !resp.data) return;
    if (isAck(resp.data)) {
      s.forms.acks++;
      return;
    }
    s.forms.encrypted++;
    const obj = await window.pamDecrypt(opts.launchId, resp.data);
    if (typeof obj === 'string' && obj.startsWith('v=0')) await setAnswer(obj);
    else if (obj && obj.answer) await setAnswer(atob(obj.answer));
    else if (obj && typeof obj.sdp === 'string' && obj.type !== 'offer') await setAnswer(obj.sdp);
    else if (obj && Array.isArray(obj.candidates)) for (const c of obj.candidates) await addRemote(c);
  };
  let unsubscribe = null;
  if (opts.trickle) {
    unsubscribe = signaling.subscribe((m) => {
      const list = Array.isArray(m) ? m : [m];
      s.forms[Array.isArray(m) ? 'array' : 'object']++;
      for (const msg of list) {
        s.forms[msg.conversationId === id ? 'urlsafeId' : msg.conversationId === opts.label ? 'standardId' : 'otherId'] =
          (s.forms[msg.conversationId === id ? 'urlsafeId' : msg.conversationId === opts.label ? 'standardId' : 'otherId'] || 0) + 1;
        let resp;
        try {
          resp = JSON.parse(msg.payload);
        } catch {
          continue;
        }
        handleResponse(resp).catch((e) => { s.error = s.error || `answer: ${e.message}`; });
      }
    });
    s.unsubscribe = unsubscribe;
    await withTimeout(unsubscribe.ready, 3000, 'event stream');
    pc.onicecandidate = (ev) => {
      const c = ev.candidate ? ev.candidate.candidate : '';
      if (!canSendCandidates) localBuffer.push(c);
      else sendCandidates([c]).catch(() => {});
    };
  }

  mark('offerStart');
  await pc.setLocalDescription(await pc.createOffer());
  if (!opts.trickle) {
    await withTimeout(new Promise((resolve) => {
      if (pc.iceGatheringState === 'complete') return resolve();
      pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === 'complete') resolve(); };
    }), 5000, 'ICE gathering');
    mark('gatheringComplete');
  }
  const sdp = pc.localDescription.sdp;
  s.localIcePwd = (sdp.match(/a=ice-pwd:(\S+)/) || [])[1];
  const data = await window.pamEncrypt(opts.launchId, { ...opts.offerData, offer: btoa(sdp) });
  const action = {
    action: 'webrtc-session', conversationId: id, messageId: id, is_scheduled: false, gateway_destination: null,
    inputs: { ...opts.inputs, data },
  };
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), opts.clientTimeoutMs || opts.timeoutMs);
  mark('offerSent');
  try {
    const resp = await signaling.send(action, { timeoutMs: opts.timeoutMs, streamResponse: !!opts.trickle, signal: abort.signal });
    mark('offerResponse');
    await handleResponse(resp);
    if (s.error) return s;
    if (opts.trickle) {
      await withTimeout(answered, opts.clientTimeoutMs || opts.timeoutMs, 'answer on the event stream');
      canSendCandidates = true;
      if (localBuffer.length) await sendCandidates(localBuffer.splice(0));
    } else if (!remoteSet) {
      s.error = 'no answer in the response';
    }
  } catch (e) {
    s.error = abort.signal.aborted ? `timeout: the gateway did not answer in ${opts.clientTimeoutMs} ms` : String(e.message || e);
    mark('failed');
  } finally {
    clearTimeout(timer);
  }
  s.restart = async () => {
    const done = new Promise((r) => { s.restartResolve = r; });
    const t = performance.now();
    await pc.setLocalDescription(await pc.createOffer({ iceRestart: true }));
    if (!opts.trickle) {
      await withTimeout(new Promise((resolve) => {
        if (pc.iceGatheringState === 'complete') return resolve();
        pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === 'complete') resolve(); };
      }), 5000, 'ICE gathering (restart)');
    }
    const data = await window.pamEncrypt(opts.launchId, { type: 'offer', sdp: pc.localDescription.sdp, ice_restart: true });
    const r = await signaling.send({
      action: 'webrtc-session', conversationId: id, messageId: id, is_scheduled: false, gateway_destination: null,
      inputs: { ...opts.inputs, kind: 'ice_restart_offer', data },
    }, { timeoutMs: opts.timeoutMs, streamResponse: !!opts.trickle });
    await handleResponse(r);
    if (s.error) throw new Error(s.error);
    await withTimeout(done, 5000, 'ICE restart answer');
    return Math.round(performance.now() - t);
  };
  if (s.error) {
    pc.close();
    if (unsubscribe) unsubscribe();
  } else {
    s.remoteIcePwd = (pc.remoteDescription.sdp.match(/a=ice-pwd:(\S+)/) || [])[1];
  }
  return s;
}

/** Sends Guacamole text on connection 1. */
export function sendGuac(s, text) {
  s.dc.send(frame(1, enc.encode(text)));
}

/** CloseConnection(1, Normal), then waits for the channel to close (the library sends no reply). */
export async function closeSession(s, timeout = 3000) {
  s.times.closeSent = s.times.closeSent ?? null;
  const t = performance.now();
  if (s.dc.readyState === 'open') s.dc.send(control(CTRL.CloseConnection, new Uint8Array([...u32(1), 0])));
  try {
    await s.waitFor(() => s.channelClosed, timeout, 'data channel close');
  } catch {
    /* reported below */
  }
  const closeMs = Math.round(performance.now() - t);
  const state = s.pc.connectionState;
  s.pc.close();
  if (s.unsubscribe) s.unsubscribe();
  return { closeMs, channelClosed: s.channelClosed, pcStateBeforeClose: state };
}

/** What Node needs from a session (the bytes as base64). */
export function report(s, { bytes = false } = {}) {
  const all = new Uint8Array(s.receivedBytes);
  let o = 0;
  for (const c of s.received) {
    all.set(c, o);
    o += c.length;
  }
  return {
    error: s.error, times: s.times, events: s.events, forms: s.forms, pings: s.pings, closes: s.closes,
    receivedBytes: s.receivedBytes, frames: s.received.length, connectionOpened: s.connectionOpened,
    channelClosed: s.channelClosed, candidatesSent: s.candidatesSent, candidatesReceived: s.candidatesReceived,
    localIcePwd: s.localIcePwd, remoteIcePwd: s.remoteIcePwd,
    received: bytes ? b64(all) : undefined,
  };
}

window.pamClient = { startSession, sendGuac, closeSession, report };
