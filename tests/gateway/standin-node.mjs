#!/usr/bin/env node
// Local Keeper Gateway stand-in for end-to-end tests (issue 6), second
// implementation: the same program as tests/gateway/standin.py (CLI, config,
// HTTP endpoints, JSON shapes, wire-contract checks, behaviours, redaction),
// with the gateway's side of the data channel written here by hand on
// node-datachannel (libdatachannel, a maintained WebRTC stack) instead of
// Keeper's keeper-pam-webrtc-rs wheel. It exists so that the conformance
// tests (tests/e2e/gateway.test.mjs) can run where the wheel cannot (another
// platform, no Python), and so that the two stay interchangeable.
//
//   node tests/gateway/standin-node.mjs --config CONFIG.json
//        [--host 127.0.0.1] [--port 0] [--guacd HOST:PORT] [--static DIR]
//        [--max-seconds 300] [--refuse TEXT] [--silent] [--drop-after-ms N]
//        [--log-level INFO] [--lib-log-level WARNING] [--ignore-stdin]
//
// Everything standin.py's docstring says about the endpoints, stdin commands,
// config and switches holds here; read it there. The validation below is a
// line-by-line port of standin.py's (same order, same error texts, Python's
// repr() in the same places), so that one suite checks both.
//
// The gateway side (docs/tube-framing.md, docs/keeper-gateway-peer.md §3-§6):
//   - answers the browser's offer: non-trickle waits for gathering and answers
//     with every candidate and a=end-of-candidates; trickle answers at once
//     and sends each candidate as the bare `candidate:...` line, then "";
//     accepts the client's candidates as the bare line, the a= line, the JSON
//     of RTCIceCandidate.toJSON(), the line without `candidate:`, and "".
//   - accepts the client's data channel (any label), ordered, binary; frames
//     conn u32 | timestamp u64 ms | len u32 | payload | ';' (17 bytes around
//     the payload), several per message or split across messages.
//   - sends 3 opening Pings (`0001` + conn 0 + 1400 zero bytes, as the
//     library does), answers Ping with Pong (the same data; empty -> 00000000).
//   - OpenConnection(1): TCP to guacd, `select,<conversationType>`, then
//     size/audio/video/image/connect in one write from the merged
//     guacd_params (connect values by the names guacd's `args` lists),
//     swallowing `args` and `ready`; then ConnectionOpened(1). Tunnel
//     conversations connect to target_host:target_port and relay raw bytes.
//   - guacd -> client: frames cut on instruction boundaries, payload <= 16 KiB;
//     client -> guacd: the payload bytes as they come.
//   - guacd `error`: forwarded, then CloseConnection(1, 14 GuacdError,
//     "Guacd error: <message>, <status>"); `disconnect`: forwarded, then
//     CloseConnection(1, 0, "Guacd disconnect"); EOF without either:
//     CloseConnection(1, 9 ConnectionLost). The channel stays open (as with
//     the library): the client ends the session.
//   - client CloseConnection(1, 0): `disconnect` to guacd, the TCP socket
//     closed, then the data channel and the peer connection closed (no reply
//     frame, as with the library). After guacd ended the connection (and
//     CloseConnection went out) the client's CloseConnection is dropped, as
//     the library drops it: the client closes the peer connection itself.
//   - drop_after_ms: CloseConnection(1, reason) and CloseConnection(0, reason)
//     (what the library sends on close_tube), then the channel and peer closed.
//   - ICE restart: libjuice (libdatachannel's ICE agent) cannot restart ICE,
//     so an ice_restart_offer is answered is_ok false with that reason.
// The library's quirks (bytes after `ready` lost, instructions after the last
// sync before `disconnect` dropped, a made-up error after 10 s of guacd
// silence) are NOT reproduced.

import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import readline from 'node:readline';
import { performance } from 'node:perf_hooks';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const HKDF_INFO = Buffer.from('KEEPER_TUNNEL_ENCRYPT_AES_GCM_128');

// Keeper Commander's ConversationType list (src/core/wire.rs) plus tunnel.
const CONVERSATION_TYPES = new Set([
  'rdp', 'vnc', 'telnet', 'ssh', 'kubernetes', 'sql-server', 'postgresql', 'mysql',
  'mariadb', 'oracle', 'mongodb', 'redis', 'elasticsearch', 'clickhouse', 'dynamodb',
  'http', 'tunnel',
]);
const CREDENTIAL_TYPES = new Set(['ephemeral', 'linked', 'userSupplied']);
const JIT_SETTINGS_KEYS = new Set(['create_ephemeral', 'ephemeral_account_type', 'base_distinguished_name',
  'pam_directory_uid_ref']);
const JIT_ELEVATION_KEYS = new Set(['elevate', 'elevation_method', 'elevation_string']);
const SECRET_PARAM = /password|passphrase|private-key|private_key|client-key|secret|token|totp/i;

const DEFAULT_BEHAVIOUR = {
  refuse: false,
  silent: false,
  drop_after_ms: null,
  drop_reason: 9, // ConnectionLost
  ephemeral_delay_ms: 0,
  answer_form: 'answer',
  forms: 'mixed',
};

const T0 = performance.now();
const nowMs = () => Math.round((performance.now() - T0) * 10) / 10;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------------ Python's spellings

// The error texts are standin.py's f-strings: {x!r} is Python's repr(), {x} its str().
function pyRepr(v) {
  if (v === undefined || v === null) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(v);
  if (typeof v === 'string') {
    const q = v.includes("'") && !v.includes('"') ? '"' : "'";
    let s = '';
    for (const ch of v) {
      const c = ch.codePointAt(0);
      if (ch === '\\') s += '\\\\';
      else if (ch === q) s += `\\${q}`;
      else if (ch === '\n') s += '\\n';
      else if (ch === '\r') s += '\\r';
      else if (ch === '\t') s += '\\t';
      else if (c < 0x20 || c === 0x7f) s += `\\x${c.toString(16).padStart(2, '0')}`;
      else s += ch;
    }
    return q + s + q;
  }
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(', ')}]`;
  if (typeof v === 'object') return `{${Object.entries(v).map(([k, x]) => `${pyRepr(k)}: ${pyRepr(x)}`).join(', ')}}`;
  return String(v);
}
const pyStr = (v) => (typeof v === 'string' ? v : pyRepr(v));
// Python truthiness: None, False, 0, "", [] and {} are false.
function truthy(v) {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return true;
}
const isDict = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
// type(v).__name__ of a JSON value
const pyType = (v) => (v === null || v === undefined ? 'NoneType' : Array.isArray(v) ? 'list' : typeof v === 'object' ? 'dict'
  : typeof v === 'boolean' ? 'bool' : typeof v === 'number' ? (Number.isInteger(v) ? 'int' : 'float') : 'str');
// `x in some_set` raises for lists and dicts
const hashable = (v) => {
  if (Array.isArray(v) || isDict(v)) throw new PyError('TypeError', `unhashable type: '${pyType(v)}'`);
  return v;
};
const isPyInt = (v) => (typeof v === 'number' && Number.isInteger(v)) || typeof v === 'boolean';
const has = (o, k) => isDict(o) && Object.prototype.hasOwnProperty.call(o, k);
const get = (o, k) => (has(o, k) ? o[k] : undefined);
// json.dumps(list of strings) with Python's separators and ensure_ascii.
const pyJsonDumps = (v) => (Array.isArray(v)
  ? `[${v.map(pyJsonDumps).join(', ')}]`
  : JSON.stringify(v).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
// Python's sorted() on strings: by code point.
const pySorted = (xs) => [...xs].sort((a, b) => {
  const A = [...a].map((c) => c.codePointAt(0));
  const B = [...b].map((c) => c.codePointAt(0));
  for (let i = 0; i < Math.min(A.length, B.length); i++) if (A[i] !== B[i]) return A[i] - B[i];
  return A.length - B.length;
});

class PyError extends Error {
  constructor(type, message) {
    super(message);
    this.pyType = type;
  }
}

// ------------------------------------------------------------------ secrets

/** Strings that must never reach a log line or an HTTP log entry. */
class Secrets {
  constructor() { this.items = new Set(); }

  add(value) {
    if (!truthy(value)) return;
    let forms;
    if (Buffer.isBuffer(value)) {
      const std = value.toString('base64');
      const url = std.replace(/\+/g, '-').replace(/\//g, '_');
      forms = new Set([std, url, value.toString('hex')]);
      for (const f of [...forms]) forms.add(f.replace(/=+$/, ''));
    } else {
      forms = new Set([pyStr(value)]);
    }
    for (const f of forms) if (f.length >= 4) this.items.add(f);
    this.sorted = null;
  }

  redact(text) {
    if (!this.sorted) this.sorted = [...this.items].sort((a, b) => b.length - a.length);
    for (const s of this.sorted) if (text.includes(s)) text = text.split(s).join('<redacted>');
    // SDP lines, and libjuice's own verbose lines (pwd="...").
    return text.replace(/(ice-pwd:)\S+/g, '$1<redacted>').replace(/(pwd=")[^"]*/g, '$1<redacted>');
  }
}
const SECRETS = new Secrets();

const LEVELS = { DEBUG: 10, INFO: 20, WARNING: 30, ERROR: 40, CRITICAL: 50 };
let logLevel = LEVELS.INFO;
let libLogLevel = LEVELS.WARNING;
function logLine(name, level, msg) {
  const rel = (performance.now()).toFixed(0).padStart(7);
  process.stderr.write(`standin ${rel} ms ${level} ${name}: ${SECRETS.redact(msg)}\n`);
}
const log = {
  debug: (m) => { if (logLevel <= LEVELS.DEBUG) logLine('standin', 'DEBUG', m); },
  info: (m) => { if (logLevel <= LEVELS.INFO) logLine('standin', 'INFO', m); },
  warning: (m) => { if (logLevel <= LEVELS.WARNING) logLine('standin', 'WARNING', m); },
  error: (m) => { if (logLevel <= LEVELS.ERROR) logLine('standin', 'ERROR', m); },
};
const tubeLog = (level, m) => { if (libLogLevel <= LEVELS[level]) logLine('standin.tube', level, m); };

// ------------------------------------------------------------------ crypto

/** Standard or url-safe base64, padding optional (base64.b64decode(validate=True)). */
function b64decodeAny(text, what) {
  if (typeof text !== 'string' || !text) throw new PyError('ValueError', `${what} is not a base64 string`);
  let s = text.trim().replace(/-/g, '+').replace(/_/g, '/');
  s += '='.repeat((4 - (s.length % 4)) % 4);
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(s)) {
    throw new PyError('ValueError', `${what} is not valid base64`);
  }
  return Buffer.from(s, 'base64');
}

function strictB64(text) {
  if (typeof text !== 'string') throw new PyError('TypeError', `argument should be a bytes-like object or ASCII string, not '${pyType(text)}'`);
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text)) {
    throw new PyError('ValueError', 'Incorrect padding or invalid characters');
  }
  return Buffer.from(text, 'base64');
}

const deriveKey = (seed, nonce) => Buffer.from(crypto.hkdfSync('sha256', seed, nonce, HKDF_INFO, 32));

function pyJson(obj) {
  // json.dumps with Python's default separators (only for what is encrypted).
  return JSON.stringify(obj);
}

function tunnelEncrypt(key, obj) {
  const data = Buffer.isBuffer(obj) ? obj : Buffer.from(typeof obj === 'string' ? obj : pyJson(obj), 'utf8');
  const nonce = crypto.randomBytes(12);
  const c = crypto.createCipheriv('aes-256-gcm', key, nonce);
  return Buffer.concat([nonce, c.update(data), c.final(), c.getAuthTag()]).toString('base64');
}

function tunnelDecrypt(key, text) {
  const raw = strictB64(text);
  if (raw.length < 12 + 16) throw new PyError('ValueError', 'too short');
  const d = crypto.createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
  d.setAuthTag(raw.subarray(raw.length - 16));
  try {
    return Buffer.concat([d.update(raw.subarray(12, raw.length - 16)), d.final()]);
  } catch {
    throw new PyError('InvalidTag', '');
  }
}

// json.loads of decrypted bytes: ValueError when not JSON.
function jsonLoads(buf) {
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch (e) {
    throw new PyError('ValueError', e.message);
  }
}

// ------------------------------------------------------------------ helpers

const splitlines = (s) => {
  const out = s.split(/\r\n|\n|\r|\v|\f|\x1c|\x1d|\x1e|\x85|\u2028|\u2029/);
  if (out.length && out[out.length - 1] === '') out.pop();
  return out;
};

function sdpSummary(sdp) {
  const lines = splitlines(sdp);
  const out = {
    lines: lines.length,
    candidates: lines.filter((ln) => ln.startsWith('a=candidate:')).length,
    endOfCandidates: lines.some((ln) => ln.startsWith('a=end-of-candidates')),
    maxMessageSize: null, setup: null, keeperWebrtc: null,
    media: lines.filter((ln) => ln.startsWith('m=')).map((ln) => ln.slice(2)),
  };
  for (const ln of lines) {
    const v = ln.slice(ln.indexOf(':') + 1);
    if (ln.startsWith('a=max-message-size:')) out.maxMessageSize = v;
    else if (ln.startsWith('a=setup:')) out.setup = v;
    else if (ln.startsWith('a=keeper-webrtc:')) out.keeperWebrtc = v;
    else if (ln.startsWith('a=ice-pwd:')) SECRETS.add(v.trim());
  }
  return out;
}

const redactParams = (params) => Object.fromEntries(Object.entries(params).map(([k, v]) => [k,
  SECRET_PARAM.test(k) ? (v === '' || v === null || v === undefined ? '' : '<redacted>') : v]));

function credState(params, key) {
  if (!has(params, key)) return 'absent';
  return params[key] === '' || params[key] === null ? 'empty' : 'set';
}

function parseHostport(text, what) {
  const s = pyStr(text);
  const i = s.lastIndexOf(':');
  const host = i < 0 ? '' : s.slice(0, i);
  const port = i < 0 ? '' : s.slice(i + 1);
  if (i < 0 || !host || !/^\d+$/.test(port)) throw new PyError('ValueError', `${what}: expected host:port, got ${pyRepr(s)}`);
  return [host.replace(/^\[+|\]+$/g, ''), Number(port)];
}

const stdB64 = (b) => b.toString('base64');
const urlsafeB64 = (b) => b.toString('base64').replace(/\+/g, '-').replace(/\//g, '_');

/** The launch is refused: is_ok false with this error text. */
class Refusal extends Error {}

// ------------------------------------------------------------------ state

class Conversation {
  constructor(idBytes, conversationId, key, recordUid, trickle) {
    this.idBytes = idBytes;
    this.conversationId = conversationId; // as the client sent it (url-safe)
    this.label = stdB64(idBytes); // the data channel label
    this.key = key;
    this.recordUid = recordUid;
    this.trickle = trickle;
    this.tubeId = null;
    this.tube = null;
    this.answerEmitted = false;
    this.pendingCandidates = [];
    this.emitCount = 0;
    this.msgCount = 0;
    this.dropTimer = null;
    this.info = {
      conversationId, label: this.label, recordUid, trickle, times: { request: nowMs() }, signals: [],
      candidatesFromGateway: [], candidatesFromClient: [], events: 0,
    };
  }
}

const idKey = (b) => b.toString('hex');

class State {
  constructor(config, args) {
    this.config = config;
    this.args = args;
    this.behaviour = { ...DEFAULT_BEHAVIOUR, ...(config.behaviour || {}) };
    this.convs = new Map(); // id hex -> Conversation
    this.byLabel = new Map();
    this.requests = [];
    this.events = []; // [seq, id hex, json text]
    this.eventWaiters = new Set();
    this.subscribers = []; // filters (id hex or null) of open /signal/events streams
    this.stopping = false;
  }

  notify() {
    for (const w of [...this.eventWaiters]) w();
  }

  /** Waits until an event stream that would carry idBytes' messages is open. */
  async waitForSubscriber(idBytes, seconds) {
    const want = idKey(idBytes);
    const end = performance.now() + seconds * 1000;
    while (!this.subscribers.some((f) => f === null || f === want)) {
      const left = end - performance.now();
      if (left <= 0 || this.stopping) return false;
      await new Promise((resolve) => {
        const w = () => { this.eventWaiters.delete(w); clearTimeout(t); resolve(); };
        const t = setTimeout(w, left);
        this.eventWaiters.add(w);
      });
    }
    return true;
  }

  recordBehaviour(record) {
    return { ...this.behaviour, ...((record && record.behaviour) || {}) };
  }

  logSnapshot() {
    const conversations = {};
    for (const c of this.convs.values()) conversations[c.label] = c.info;
    return JSON.parse(SECRETS.redact(JSON.stringify({
      now: nowMs(), behaviour: this.behaviour, requests: this.requests, conversations,
    })));
  }

  // ---- router websocket replacement
  /** Queues ControllerResponses for conv on /signal/events. */
  emit(conv, responses) {
    const mixed = this.recordBehaviour(this.config.records[conv.recordUid]).forms === 'mixed';
    const msgs = [];
    for (let r of responses) {
      const n = conv.msgCount++;
      if (mixed && n % 2 === 1 && 'is_ok' in r) {
        r = Object.fromEntries(Object.entries(r).map(([k, v]) => [k === 'is_ok' ? 'isOk' : k, v]));
      }
      let cid = conv.conversationId;
      if (mixed && n % 2 === 1) cid = cid !== stdB64(conv.idBytes) ? stdB64(conv.idBytes) : urlsafeB64(conv.idBytes);
      msgs.push({ conversationId: cid, type: 'webrtc-session', payload: JSON.stringify(r) });
    }
    const asArray = mixed && conv.emitCount % 2 === 1;
    conv.emitCount++;
    const events = asArray ? [msgs] : msgs;
    for (const e of events) this.events.push([this.events.length + 1, idKey(conv.idBytes), JSON.stringify(e)]);
    conv.info.events += events.length;
    this.notify();
  }
}

// ------------------------------------------------------------------ the tube (gateway side of the data channel)

const CTRL = { Ping: 1, Pong: 2, OpenConnection: 101, CloseConnection: 102, ConnectionOpened: 103, SendEOF: 104 };
const REASONS = {
  0: 'Normal', 1: 'Error', 2: 'Timeout', 4: 'ServerRefuse', 5: 'Client', 6: 'Unknown', 7: 'InvalidInstruction',
  8: 'GuacdRefuse', 9: 'ConnectionLost', 10: 'ConnectionFailed', 11: 'TunnelClosed', 12: 'AdminClosed',
  13: 'ErrorRecording', 14: 'GuacdError', 15: 'AIClosed', 16: 'AddressResolutionFailed', 17: 'DecryptionFailed',
  18: 'ConfigurationError', 19: 'ProtocolError', 20: 'UpstreamClosed',
};
const MAX_FRAME_PAYLOAD = 16 * 1024;
const HANDSHAKE_TIMEOUT_MS = 15000;

function frame(conn, payload) {
  const f = Buffer.allocUnsafe(17 + payload.length);
  f.writeUInt32BE(conn, 0);
  f.writeBigUInt64BE(BigInt(Date.now()), 4);
  f.writeUInt32BE(payload.length, 12);
  payload.copy(f, 16);
  f[16 + payload.length] = 0x3b;
  return f;
}
const u32 = (n) => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b; };
const control = (code, data = Buffer.alloc(0)) => {
  const p = Buffer.allocUnsafe(2 + data.length);
  p.writeUInt16BE(code, 0);
  data.copy(p, 2);
  return frame(0, p);
};
function closeConnectionData(conn, reason, msg) {
  const parts = [u32(conn), Buffer.from([reason])];
  if (msg) {
    const m = Buffer.from(msg, 'utf8').subarray(0, 1024);
    const l = Buffer.alloc(2);
    l.writeUInt16BE(m.length);
    parts.push(l, m);
  }
  return Buffer.concat(parts);
}

const encodeGuac = (opcode, ...args) => [opcode, ...args].map((e) => {
  const s = String(e);
  return `${[...s].length}.${s}`;
}).join(',') + ';';

/**
 * Finds the end of one Guacamole instruction in buf at pos (lengths count code
 * points of UTF-8). Returns { end, elems: [Buffer...] }, null when incomplete;
 * throws on a malformed stream.
 */
function scanInstruction(buf, pos) {
  const elems = [];
  let i = pos;
  for (;;) {
    let j = i;
    while (j < buf.length && buf[j] >= 0x30 && buf[j] <= 0x39) j++;
    if (j === buf.length) {
      if (j - i > 10) throw new Error('Invalid opcode length');
      return null;
    }
    if (buf[j] !== 0x2e || j === i || j - i > 10) throw new Error('Invalid opcode length');
    let n = Number(buf.toString('latin1', i, j));
    let k = j + 1;
    while (n > 0 && k < buf.length) {
      const b = buf[k];
      k += b < 0x80 ? 1 : b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
      n--;
    }
    if (n > 0 || k >= buf.length) return null;
    elems.push(buf.subarray(j + 1, k));
    if (buf[k] === 0x3b) return { end: k + 1, elems };
    if (buf[k] !== 0x2c) throw new Error(`Invalid element terminator ${JSON.stringify(String.fromCharCode(buf[k]))}`);
    i = k + 1;
  }
}

function mimeList(v) {
  if (v === undefined || v === null || v === '') return [];
  const s = String(v).trim();
  if (s.startsWith('[')) {
    try {
      const a = JSON.parse(s);
      if (Array.isArray(a)) return a.map(String).filter(Boolean);
    } catch { /* a comma list after all */ }
  }
  return s.split(',').map((x) => x.trim()).filter(Boolean);
}

class Tube {
  constructor(gateway, conv, settings, nd) {
    this.g = gateway;
    this.conv = conv;
    this.settings = settings;
    this.nd = nd;
    this.pc = null;
    this.dc = null;
    this.rx = Buffer.alloc(0);
    this.conns = new Map(); // conn_no -> { sock, state, ... }
    this.closed = false;
    this.remoteMid = '0';
    this.pongs = 0;
  }

  signal(kind, data) {
    this.g.onSignal(this.conv, { kind, data, tube_id: this.conv.tubeId, conversation_id: this.conv.label });
  }

  /** Creates the peer connection answering offerSdp; resolves to the answer SDP. */
  async answer(offerSdp, trickle) {
    const pc = new this.nd.PeerConnection(`gw-${this.conv.tubeId.slice(0, 8)}`, { iceServers: [], maxMessageSize: 65535 });
    this.pc = pc;
    const mid = /^a=mid:(\S+)/m.exec(offerSdp);
    if (mid) this.remoteMid = mid[1];
    let gatheringDone;
    const gathered = new Promise((r) => { gatheringDone = r; });
    let described;
    const description = new Promise((r) => { described = r; });
    pc.onLocalDescription((sdp, type) => { if (type === 'answer') described(sdp); });
    pc.onLocalCandidate((cand) => {
      if (trickle) this.signal('icecandidate', cand.replace(/^a=/, ''));
    });
    pc.onGatheringStateChange((s) => {
      if (s === 'complete') {
        gatheringDone();
        if (trickle) this.signal('icecandidate', '');
      }
    });
    pc.onStateChange((s) => {
      if (s !== 'new' && s !== 'connecting') this.signal('connection_state_changed', s);
      if ((s === 'closed' || s === 'failed') && !this.closed) this.finish(false, `peer connection ${s}`);
    });
    pc.onDataChannel((dc) => this.onChannel(dc));
    pc.setRemoteDescription(offerSdp, 'offer');
    const timeout = (ms, what) => sleep(ms).then(() => { throw new Error(`node-datachannel gave no ${what} within ${ms} ms`); });
    const first = await Promise.race([description, timeout(5000, 'answer')]);
    if (!trickle) {
      await Promise.race([gathered, timeout(5000, 'complete gathering')]);
      return pc.localDescription().sdp;
    }
    return first;
  }

  addRemoteCandidate(c) {
    let cand = c;
    let mid = this.remoteMid;
    if (typeof cand === 'string' && cand.trim().startsWith('{')) {
      const o = JSON.parse(cand);
      cand = o.candidate ?? '';
      if (o.sdpMid !== undefined && o.sdpMid !== null) mid = String(o.sdpMid);
    }
    if (typeof cand !== 'string') throw new PyError('TypeError', `candidate must be a string, not ${typeof cand}`);
    cand = cand.trim().replace(/^a=/, '');
    if (!cand) return; // end of candidates: libdatachannel needs no marker
    if (!cand.startsWith('candidate:')) cand = `candidate:${cand}`;
    this.pc.addRemoteCandidate(cand, mid);
  }

  // ---- data channel
  onChannel(dc) {
    if (this.dc) {
      tubeLog('WARNING', `a second data channel ${JSON.stringify(dc.getLabel())} on ${this.conv.label} ignored`);
      return;
    }
    this.dc = dc;
    this.conv.info.channelLabel = dc.getLabel();
    this.conv.info.labelMatches = dc.getLabel() === this.conv.label;
    dc.setBufferedAmountLowThreshold(256 * 1024);
    const opened = () => {
      if (this.conv.info.times.channelOpen) return;
      this.conv.info.times.channelOpen = nowMs();
      tubeLog('DEBUG', `data channel open on ${this.conv.label}`);
      // The library's 3 opening Pings: 0001 + conn 0 + 1400 zero bytes.
      const probe = Buffer.alloc(1404);
      for (let i = 0; i < 3; i++) this.send(control(CTRL.Ping, probe));
    };
    dc.onOpen(opened);
    if (dc.isOpen()) opened();
    dc.onMessage((m) => this.onMessage(typeof m === 'string' ? Buffer.from(m, 'utf8') : Buffer.from(m)));
    dc.onClosed(() => {
      this.conv.info.times.channelClose ??= nowMs();
      if (!this.closed) this.finish(false, 'data channel closed by the client');
    });
    dc.onError((e) => tubeLog('WARNING', `data channel error on ${this.conv.label}: ${e}`));
    dc.onBufferedAmountLow(() => {
      for (const c of this.conns.values()) if (c.sock && c.paused) { c.paused = false; c.sock.resume(); }
    });
  }

  send(buf) {
    if (!this.dc || !this.dc.isOpen()) return false;
    try {
      this.dc.sendMessageBinary(buf);
    } catch (e) {
      tubeLog('WARNING', `send failed on ${this.conv.label}: ${e.message}`);
      return false;
    }
    return true;
  }

  congested() {
    return this.dc && this.dc.isOpen() && this.dc.bufferedAmount() > 1024 * 1024;
  }

  onMessage(m) {
    this.rx = this.rx.length ? Buffer.concat([this.rx, m]) : m;
    let off = 0;
    while (this.rx.length - off >= 17) {
      const len = this.rx.readUInt32BE(off + 12);
      if (this.rx.length - off < 17 + len) break;
      if (this.rx[off + 16 + len] !== 0x3b) {
        tubeLog('WARNING', `Corrupt stream, terminator mismatch or misposition on ${this.conv.label}: buffer dropped`);
        this.rx = Buffer.alloc(0);
        return;
      }
      const conn = this.rx.readUInt32BE(off);
      const payload = this.rx.subarray(off + 16, off + 16 + len);
      off += 17 + len;
      try {
        this.onFrame(conn, payload);
      } catch (e) {
        tubeLog('ERROR', `frame handling failed on ${this.conv.label}: ${e.stack || e}`);
      }
    }
    this.rx = off === this.rx.length ? Buffer.alloc(0) : Buffer.from(this.rx.subarray(off));
  }

  onFrame(conn, payload) {
    if (conn !== 0) {
      const c = this.conns.get(conn);
      if (!c) {
        tubeLog('DEBUG', `data for unknown connection ${conn} dropped`);
        return;
      }
      if (c.state === 'open') c.sock.write(payload);
      else if (c.state !== 'closed') c.early.push(Buffer.from(payload));
      return;
    }
    if (payload.length < 2) return;
    const code = payload.readUInt16BE(0);
    const data = payload.subarray(2);
    switch (code) {
      case CTRL.Ping:
        this.send(control(CTRL.Pong, data.length ? Buffer.from(data) : u32(0)));
        break;
      case CTRL.Pong:
        this.pongs++;
        this.conv.info.pongs = this.pongs;
        break;
      case CTRL.OpenConnection:
        if (data.length >= 4) this.openConnection(data.readUInt32BE(0), data.subarray(4));
        break;
      case CTRL.CloseConnection:
        if (data.length >= 4) this.clientClose(data.readUInt32BE(0), data.length > 4 ? data[4] : 0);
        break;
      case CTRL.SendEOF:
        if (data.length >= 4) {
          const c = this.conns.get(data.readUInt32BE(0));
          if (c && c.sock && this.kind === 'tunnel') c.sock.end();
        }
        break;
      default:
        tubeLog('DEBUG', `control message ${code} ignored`);
    }
  }

  get kind() {
    return this.settings.conversationType === 'tunnel' ? 'tunnel' : 'guacd';
  }

  // ---- connections
  closeConnection(conn, reason, msg = '') {
    this.conv.info.closeConnectionsSent ??= [];
    this.conv.info.closeConnectionsSent.push({ t: nowMs(), conn, reason, msg });
    this.send(control(CTRL.CloseConnection, closeConnectionData(conn, reason, msg)));
  }

  openConnection(conn, rest) {
    if (this.conns.has(conn)) {
      tubeLog('WARNING', `OpenConnection(${conn}) for an open connection ignored`);
      return;
    }
    this.conv.info.times.openConnection ??= nowMs();
    if (rest.length) {
      this.conv.info.connectAs = { bytes: rest.length };
      tubeLog('WARNING', 'OpenConnection carries a ConnectAs block: not decrypted by this stand-in');
    }
    const s = this.settings;
    let host;
    let port;
    if (this.kind === 'tunnel') {
      host = String(s.target_host ?? '127.0.0.1');
      port = Number(s.target_port ?? 22);
    } else {
      const gd = s.guacd || {};
      host = String(gd.guacd_host ?? '127.0.0.1');
      port = Number(gd.guacd_port ?? 4822);
    }
    const c = { conn, state: 'connecting', early: [], rx: Buffer.alloc(0), paused: false, sawEnd: false };
    this.conns.set(conn, c);
    const sock = net.connect({ host, port });
    c.sock = sock;
    sock.setNoDelay(true);
    const fail = (why) => {
      if (c.state === 'closed') return;
      c.state = 'closed';
      clearTimeout(c.timer);
      sock.destroy();
      this.closeConnection(conn, 10, why.slice(0, 1024));
      this.upstreamEnded(c, 'connect failed', 10, why.slice(0, 1024));
    };
    c.timer = setTimeout(() => fail(`Connection to ${this.kind === 'tunnel' ? 'target' : 'guacd'} timed out`), HANDSHAKE_TIMEOUT_MS);
    sock.once('connect', () => {
      if (this.kind === 'tunnel') {
        this.opened(c);
      } else {
        c.state = 'select';
        sock.write(encodeGuac('select', s.conversationType));
      }
    });
    sock.on('error', (e) => {
      if (c.state === 'connecting' || c.state === 'select' || c.state === 'ready-wait') fail(`Connection to guacd at ${host}:${port} failed: ${e.message}`);
      else tubeLog('DEBUG', `socket error on connection ${conn}: ${e.message}`);
    });
    sock.on('data', (d) => this.fromUpstream(c, d));
    sock.on('close', () => {
      clearTimeout(c.timer);
      if (c.state === 'closed') return;
      const was = c.state;
      c.state = 'closed';
      const [reason, msg] = was === 'open' ? [9, this.kind === 'tunnel' ? 'Upstream closed' : 'Guacd connection closed']
        : [10, 'guacd closed the connection during the handshake'];
      this.closeConnection(conn, reason, msg);
      this.upstreamEnded(c, 'eof', reason, msg);
    });
  }

  opened(c) {
    clearTimeout(c.timer);
    c.state = 'open';
    this.conv.info.times.connectionOpened ??= nowMs();
    this.send(control(CTRL.ConnectionOpened, u32(c.conn)));
    for (const b of c.early.splice(0)) c.sock.write(b);
  }

  handshake(c, elems) {
    const opcode = elems[0].toString('utf8');
    const args = elems.slice(1).map((e) => e.toString('utf8'));
    if (c.state === 'select') {
      if (opcode !== 'args') {
        if (opcode === 'error') return this.guacdFailed(c, args);
        return false;
      }
      const p = this.settings.guacd_params || {};
      const val = (name) => {
        for (const k of [name, name.replace(/-/g, '_'), name.replace(/_/g, '-')]) {
          if (p[k] !== undefined && p[k] !== null) return String(p[k]);
        }
        return '';
      };
      const version = args[0] && args[0].startsWith('VERSION_') ? args[0] : 'VERSION_1_5_0';
      const names = args[0] && args[0].startsWith('VERSION_') ? args.slice(1) : args;
      const out = encodeGuac('size', p.width ?? '1024', p.height ?? '768', p.dpi ?? '96') +
        encodeGuac('audio', ...mimeList(p.audio)) + encodeGuac('video', ...mimeList(p.video)) +
        encodeGuac('image', ...mimeList(p.image)) + encodeGuac('connect', version, ...names.map(val));
      this.conv.info.guacdArgs = names.length;
      c.state = 'ready-wait';
      c.sock.write(out);
      return false;
    }
    // ready-wait
    if (opcode === 'ready') {
      this.opened(c);
      return true;
    }
    if (opcode === 'error') return this.guacdFailed(c, args);
    return false; // swallowed (as the library swallows args and ready)
  }

  guacdFailed(c, args) {
    c.state = 'closed';
    clearTimeout(c.timer);
    const msg = `Guacd error: ${args[0] ?? ''}, ${args[1] ?? ''}`;
    this.closeConnection(c.conn, 14, msg);
    this.upstreamEnded(c, 'error', 14, msg);
    c.sock.destroy();
    return false;
  }

  fromUpstream(c, d) {
    if (c.state === 'closed') return;
    if (this.kind === 'tunnel') {
      for (let i = 0; i < d.length; i += MAX_FRAME_PAYLOAD) this.send(frame(c.conn, d.subarray(i, i + MAX_FRAME_PAYLOAD)));
      this.backpressure(c);
      return;
    }
    c.rx = c.rx.length ? Buffer.concat([c.rx, d]) : d;
    let pos = 0;
    let segStart = null; // first byte of the stream instructions not yet sent
    const ends = []; // the end of each complete stream instruction since segStart
    // Frames hold whole instructions, up to 16 KiB (a longer one goes alone).
    const flush = () => {
      let s = segStart;
      let last = s;
      for (const e of ends) {
        if (e - s > MAX_FRAME_PAYLOAD && last > s) {
          this.send(frame(c.conn, c.rx.subarray(s, last)));
          s = last;
        }
        last = e;
      }
      if (last > s) this.send(frame(c.conn, c.rx.subarray(s, last)));
      ends.length = 0;
      segStart = null;
    };
    try {
      for (;;) {
        const r = scanInstruction(c.rx, pos);
        if (!r) break;
        if (c.state !== 'open') {
          this.handshake(c, r.elems); // args, ready and anything before ready are swallowed
          pos = r.end;
          if (c.state === 'closed') return;
          continue;
        }
        if (segStart === null) segStart = pos;
        const instStart = pos;
        pos = r.end;
        ends.push(pos);
        const opcode = r.elems[0].toString('utf8');
        // like the library: each `size` from guacd is also reported to the caller
        if (opcode === 'size') this.signal('guacd_instruction', c.rx.toString('utf8', instStart, r.end));
        if (opcode === 'error' || opcode === 'disconnect') {
          flush();
          const args = r.elems.slice(1).map((e) => e.toString('utf8'));
          c.state = 'closed';
          clearTimeout(c.timer);
          if (opcode === 'error') {
            this.conv.info.guacdError = { message: args[0], status: args[1] };
            const msg = `Guacd error: ${args[0] ?? ''}, ${args[1] ?? ''}`;
            this.closeConnection(c.conn, 14, msg);
            this.upstreamEnded(c, 'error', 14, msg);
          } else {
            this.closeConnection(c.conn, 0, 'Guacd disconnect');
            this.upstreamEnded(c, 'disconnect', 0);
          }
          c.rx = Buffer.alloc(0);
          c.sock.end();
          return;
        }
      }
    } catch (e) {
      if (ends.length) flush();
      c.state = 'closed';
      this.closeConnection(c.conn, 19, `Guacd protocol parsing error: ${e.message}`);
      this.upstreamEnded(c, 'protocol error', 19, `Guacd protocol parsing error: ${e.message}`);
      c.sock.destroy();
      return;
    }
    if (ends.length) flush();
    c.rx = pos === c.rx.length ? Buffer.alloc(0) : Buffer.from(c.rx.subarray(pos));
    this.backpressure(c);
  }

  backpressure(c) {
    if (!c.paused && this.congested()) {
      c.paused = true;
      c.sock.pause();
    }
  }

  clientClose(conn, reason) {
    this.conv.info.clientClose = { t: nowMs(), conn, reason };
    const c = this.conns.get(conn);
    if (c && c.upstreamEnded) {
      // As with the library: once guacd ended the connection (error,
      // disconnect, EOF) and CloseConnection went out, the client's own
      // CloseConnection for it is dropped; the client closes the peer itself.
      this.conv.info.clientClose.ignored = 'the connection had ended already';
      return;
    }
    if (c && c.sock) {
      if (c.state !== 'closed') {
        c.state = 'closed';
        clearTimeout(c.timer);
        if (this.kind === 'guacd' && !c.sock.destroyed) c.sock.write(encodeGuac('disconnect'));
        c.sock.end();
      }
    }
    // As with the library, a client's CloseConnection ends the whole tube (and
    // the library reports it as ConnectionLost with outcome normal_exit).
    this.channelClosed({ reason: 9, outcome: 'normal_exit', terminates: true });
    this.finish(true);
  }

  /**
   * The channel_closed signal, in the library's shape (seen from 2.2.9):
   * client CloseConnection -> ConnectionLost/normal_exit/terminates_tube;
   * guacd disconnect -> Normal/normal_exit/not terminating; guacd error ->
   * GuacdError, error_message, "critical_upstream_closed: <label>", not
   * terminating; close_tube -> outcome tube_closed. Once per tube.
   */
  channelClosed({ reason, outcome, error = null, terminates }) {
    if (this.closedSignalled) return;
    this.closedSignalled = true;
    const [critical, retryable] = { 0: [false, false], 9: [false, true], 14: [true, false] }[reason] || [true, false];
    const data = {
      channel_id: this.conv.label,
      close_reason: { code: reason, is_critical: critical, is_retryable: retryable, name: REASONS[reason] || 'Unknown' },
    };
    if (error) data.error_message = error;
    data.outcome = outcome;
    if (terminates !== undefined) data.terminates_tube = terminates;
    this.signal('channel_closed', JSON.stringify(data));
  }

  upstreamEnded(c, how, reason, msg) {
    c.upstreamEnded = how;
    this.channelClosed(reason === 0
      ? { reason, outcome: 'normal_exit', terminates: false }
      : { reason, error: msg, outcome: `critical_upstream_closed: ${this.conv.label}`, terminates: false });
  }

  /** Closes everything (the data channel and peer connection too with closeChannel). */
  finish(closeChannel, why = null) {
    if (this.closed) return;
    this.closed = true;
    if (why) this.channelClosed({ reason: 9, error: why, outcome: 'connection_lost', terminates: true });
    clearTimeout(this.conv.dropTimer);
    for (const c of this.conns.values()) {
      clearTimeout(c.timer);
      if (c.sock && !c.sock.destroyed) {
        if (c.state !== 'closed' && this.kind === 'guacd') c.sock.write(encodeGuac('disconnect'));
        c.state = 'closed';
        c.sock.end();
        setTimeout(() => c.sock.destroy(), 1000).unref();
      }
    }
    this.conv.info.times.tubeClosed = nowMs();
    const pc = this.pc;
    const dc = this.dc;
    if (closeChannel && dc) {
      try { dc.close(); } catch { /* closed already */ }
    }
    // Let the stream reset reach the client before the peer connection goes.
    setTimeout(() => { try { pc && pc.close(); } catch { /* closed already */ } }, closeChannel ? 150 : 0).unref();
  }

  /** drop_after_ms: what the library does on close_tube(reason). */
  drop(reason) {
    for (const conn of this.conns.keys()) this.closeConnection(conn, reason, '');
    if (!this.conns.size) this.closeConnection(1, reason, '');
    this.closeConnection(0, reason, '');
    this.channelClosed({ reason, outcome: 'tube_closed' });
    this.finish(true);
  }

  close() {
    if (!this.closed) this.finish(true);
    try { this.pc && this.pc.close(); } catch { /* closed already */ }
  }
}

// ------------------------------------------------------------------ the gateway

class Gateway {
  constructor(state) {
    this.s = state;
    this.nd = require('node-datachannel');
    const lvl = { DEBUG: 'Verbose', INFO: 'Info', WARNING: 'Warning', ERROR: 'Error', CRITICAL: 'Fatal' }[state.args.libLogLevel] || 'Warning';
    this.nd.initLogger(lvl, (level, message) => {
      const l = { Verbose: 'DEBUG', Debug: 'DEBUG', Info: 'INFO', Warning: 'WARNING', Error: 'ERROR', Fatal: 'CRITICAL' }[level] || 'INFO';
      if (libLogLevel <= LEVELS[l]) logLine('node-datachannel', l, message);
    });
    this.libraryVersion = this.nd.getLibraryVersion ? this.nd.getLibraryVersion() : null;
  }

  // -------------------------------------------------------------- send
  /** Returns [http status, response object, log entry]. */
  async send(body) {
    if (!isDict(body) || !isDict(body.action)) {
      return [400, { error: 'body must be {action: GatewayAction, timeoutMs, streamResponse}' }, null];
    }
    const { action } = body;
    const inputs = isDict(action.inputs) ? action.inputs : {};
    const entry = {
      t: nowMs(), kind: get(inputs, 'kind') ?? null, conversationId: get(action, 'conversationId') ?? null,
      messageId: get(action, 'messageId') ?? null, timeoutMs: get(body, 'timeoutMs') ?? null,
      streamResponse: get(body, 'streamResponse') ?? null, inputs: Gateway.redactInputs(inputs), violations: [],
    };
    this.s.requests.push(entry);
    const t = performance.now();
    let status;
    let resp;
    try {
      [status, resp] = await this.dispatch(body, action, inputs, entry);
    } catch (e) {
      if (e instanceof Refusal) {
        [status, resp] = [200, { is_ok: false, error: e.message }];
      } else { // a bug here must still answer
        log.error(`send failed\n${e.stack || e}`);
        const type = e instanceof PyError ? e.pyType : (e && e.name) || 'Error';
        [status, resp] = [200, { is_ok: false, error: `stand-in internal error: ${type}: ${e.message}` }];
      }
    }
    entry.response = {
      status, is_ok: resp.is_ok ?? null, error: resp.error ?? null, ms: Math.round((performance.now() - t) * 10) / 10,
    };
    if (resp.is_ok === false) log.info(`refused ${pyStr(entry.kind)}: ${pyStr(resp.error)}`);
    return [status, resp, entry];
  }

  static redactInputs(inputs) {
    const out = {};
    for (const [k, v] of Object.entries(inputs)) {
      if (k === 'data') out[k] = { encryptedChars: typeof v === 'string' ? [...v].length : null };
      else if (k === 'twoFactorValue') out[k] = truthy(v) ? '<redacted>' : v;
      else out[k] = v;
    }
    return out;
  }

  async dispatch(body, action, inputs, entry) {
    const v = [];
    if (get(action, 'action') !== 'webrtc-session') {
      v.push(`action must be "webrtc-session" (got ${pyRepr(get(action, 'action'))})`);
    }
    const cid = get(action, 'conversationId');
    let idBytes;
    try {
      idBytes = b64decodeAny(cid, 'conversationId');
    } catch (e) {
      throw new Refusal(`Invalid GatewayAction: ${e.message}`);
    }
    if (get(action, 'messageId') !== urlsafeB64(idBytes) && get(action, 'messageId') !== cid) {
      v.push('messageId must be the url-safe conversationId');
    }
    if (get(action, 'is_scheduled') !== false) v.push('is_scheduled must be false');
    if (!has(action, 'gateway_destination') || action.gateway_destination !== null) v.push('gateway_destination must be null');
    if (!isDict(get(action, 'inputs'))) v.push('inputs must be an object');
    if (typeof get(body, 'streamResponse') !== 'boolean') v.push('streamResponse must be a bool');
    const kind = get(inputs, 'kind');
    if (kind === 'start') return this.start(body, action, inputs, idBytes, entry, v);
    if (v.length) {
      entry.violations.push(...v);
      throw new Refusal(`Invalid GatewayAction: ${v.join('; ')}`);
    }
    const conv = this.s.convs.get(idKey(idBytes));
    if (!conv) throw new Refusal(`No active session for conversation ${pyStr(cid)}`);
    if (kind === 'icecandidate') return this.icecandidate(conv, inputs, entry);
    if (kind === 'ice_restart_offer') return this.iceRestart(conv, inputs, body, entry);
    throw new Refusal(`Unsupported kind ${pyRepr(kind)}`);
  }

  // -------------------------------------------------------------- start
  async start(body, action, inputs, idBytes, entry, v) {
    const cfg = this.s.config;
    const ctype = get(inputs, 'conversationType');
    if (!CONVERSATION_TYPES.has(hashable(ctype))) v.push(`conversationType ${pyRepr(ctype)} is not a known protocol`);
    const trickle = get(inputs, 'trickleICE');
    if (typeof trickle !== 'boolean') v.push('trickleICE must be a bool');
    else if (typeof get(body, 'streamResponse') === 'boolean' && body.streamResponse !== trickle) {
      v.push('streamResponse must equal inputs.trickleICE');
    }
    let nonce;
    try {
      nonce = b64decodeAny(get(inputs, 'base64Nonce'), 'base64Nonce');
      if (nonce.length !== 16) v.push(`base64Nonce must decode to 16 bytes (got ${nonce.length})`);
    } catch (e) {
      nonce = null;
      v.push(e.message);
    }
    const bn = get(inputs, 'base64Nonce');
    if (truthy(bn)) {
      if (typeof bn !== 'string') throw new PyError('TypeError', `expected string or bytes-like object, got '${pyType(bn)}'`);
      if (/[-_]/.test(bn)) v.push('base64Nonce must use the standard base64 alphabet');
    }
    if (typeof get(inputs, 'data') !== 'string') v.push('data must be a string');
    const recordUid = get(inputs, 'recordUid');
    if (typeof recordUid !== 'string' || !recordUid) v.push('recordUid must be a non-empty string');

    // credentialType and JIT objects (PR #1979 payload; #1991 gateway rules)
    const ct = get(inputs, 'credentialType');
    const jit = get(inputs, 'jitSettings');
    const elev = get(inputs, 'jitElevation');
    if (ct !== undefined && ct !== null && !CREDENTIAL_TYPES.has(hashable(ct))) {
      v.push(`credentialType ${pyRepr(ct)} is not one of ephemeral, linked, userSupplied`);
    }
    if (jit !== undefined && jit !== null) {
      if (!isDict(jit)) v.push('jitSettings must be an object');
      else {
        const bad = pySorted(Object.keys(jit).filter((k) => !JIT_SETTINGS_KEYS.has(k)));
        if (bad.length) v.push(`jitSettings has unknown (not snake_case?) keys ${pyJsonDumps(bad)}`);
      }
    }
    if (elev !== undefined && elev !== null) {
      if (!isDict(elev)) v.push('jitElevation must be an object');
      else {
        const bad = pySorted(Object.keys(elev).filter((k) => !JIT_ELEVATION_KEYS.has(k)));
        if (bad.length) v.push(`jitElevation has unknown (not snake_case?) keys ${pyJsonDumps(bad)}`);
        if (get(elev, 'elevate') !== true) v.push('jitElevation is only sent with elevate: true');
      }
    }
    if (ct === 'ephemeral') {
      if (!isDict(jit) || get(jit, 'create_ephemeral') !== true) {
        v.push('credentialType ephemeral requires jitSettings with create_ephemeral: true');
      }
      if (has(inputs, 'userRecordUid')) v.push('credentialType ephemeral must not carry userRecordUid');
      if (has(inputs, 'allowSupplyUser')) v.push('credentialType ephemeral must not carry allowSupplyUser');
    } else if (isDict(jit) && get(jit, 'create_ephemeral') === true) {
      v.push('jitSettings with create_ephemeral is only sent with credentialType ephemeral');
    }
    if (ct === 'linked' && !(typeof get(inputs, 'userRecordUid') === 'string' && inputs.userRecordUid)) {
      v.push('credentialType linked requires userRecordUid');
    }
    if (ct === 'userSupplied' && get(inputs, 'allowSupplyUser') !== true) {
      v.push('credentialType userSupplied requires allowSupplyUser: true');
    }
    const wantTimeout = ct === 'ephemeral' ? 120000 : 30000;
    if (get(body, 'timeoutMs') !== wantTimeout) {
      v.push(`timeoutMs must be ${wantTimeout} for this launch (got ${pyRepr(get(body, 'timeoutMs'))})`);
    }
    if (v.length) {
      entry.violations.push(...v);
      throw new Refusal(`Invalid launch request: ${v.join('; ')}`);
    }

    const record = get(cfg.records, recordUid);
    if (record === undefined || record === null) throw new Refusal(`Record ${recordUid} is not a resource this gateway manages`);
    const beh = this.s.recordBehaviour(record);
    if (truthy(record.protocol) && record.protocol !== ctype) {
      throw new Refusal(`conversationType ${ctype} does not match the resource's protocol ${pyStr(record.protocol)}`);
    }

    // offer data
    let seed;
    try {
      seed = b64decodeAny(record.trafficEncryptionSeed, 'trafficEncryptionSeed');
    } catch (e) {
      throw new Refusal(`Gateway configuration: ${e.message}`);
    }
    const key = deriveKey(seed, nonce);
    SECRETS.add(key);
    let offer;
    try {
      offer = jsonLoads(tunnelDecrypt(key, inputs.data));
    } catch (e) {
      if (e instanceof PyError && e.pyType !== 'TypeError') {
        throw new Refusal('Unable to decrypt the offer data (wrong trafficEncryptionSeed or nonce)');
      }
      throw e;
    }
    if (!isDict(offer)) throw new Refusal('The offer data is not a JSON object');
    entry.offer = Gateway.checkOffer(offer, entry.violations);
    if (entry.violations.length) throw new Refusal(`Invalid offer data: ${entry.violations.join('; ')}`);
    const clientParams = truthy(get(offer, 'guacd_params')) ? offer.guacd_params : {};
    entry.guacdParamsKeys = pySorted(Object.keys(clientParams));
    entry.guacdCredentials = Object.fromEntries(['username', 'password', 'private-key', 'passphrase']
      .map((k) => [k, credState(clientParams, k)]));

    // DAG rule of the later gateway (Commander #1991)
    const dag = truthy(record.dagJitSettings) ? record.dagJitSettings : {};
    const dagEphemeral = truthy(get(dag, 'createEphemeral')) || truthy(get(dag, 'create_ephemeral'));
    if (dagEphemeral && ct !== 'ephemeral') {
      throw new Refusal('This resource requires a just-in-time ephemeral account: its jit_settings say ' +
        `createEphemeral, so credentialType must be "ephemeral" (got ${truthy(ct) ? pyStr(ct) : 'none'})`);
    }
    if (ct === 'ephemeral' && !dagEphemeral) {
      throw new Refusal('Ephemeral accounts are not enabled for this resource (no createEphemeral in its jit_settings)');
    }
    if (ct === 'userSupplied' && !truthy(record.allowSupplyUser)) {
      throw new Refusal('This resource does not allow user-supplied credentials');
    }

    // server-side guacd parameters
    const target = { ...(truthy(record.target) ? record.target : {}) };
    let creds = {};
    if (ct === 'ephemeral') {
      const acct = truthy(record.ephemeralAccount) ? record.ephemeralAccount : truthy(cfg.ephemeralAccount) ? cfg.ephemeralAccount : {};
      creds = { ...acct };
      if (!truthy(creds)) throw new Refusal('Gateway configuration: no ephemeral account to provision');
    } else if (ct === 'linked') {
      creds = get(truthy(record.linkedUsers) ? record.linkedUsers : {}, inputs.userRecordUid);
      if (creds === undefined || creds === null) throw new Refusal(`User record ${pyStr(inputs.userRecordUid)} is not linked to this resource`);
    } else if (ct === undefined || ct === null) {
      creds = Object.fromEntries(['username', 'password', 'private-key', 'passphrase'].filter((k) => has(target, k)).map((k) => [k, target[k]]));
    }
    for (const k of ['username', 'password', 'private-key', 'passphrase']) delete target[k];
    for (const x of [creds, target, truthy(record.guacdParams) ? record.guacdParams : {}]) {
      for (const [k, val] of Object.entries(x)) if (SECRET_PARAM.test(k)) SECRETS.add(val);
    }
    let params = {};
    for (const [k, val] of Object.entries(clientParams)) {
      if (!['username', 'password', 'private-key', 'passphrase'].includes(k)) params[k] = val;
    }
    const { size } = offer;
    Object.assign(params, { width: pyStr(size[0]), height: pyStr(size[1]), dpi: pyStr(size.length > 2 ? size[2] : 96) });
    for (const k of ['image', 'audio', 'video']) if (truthy(get(offer, k))) params[k] = offer[k].join(',');
    Object.assign(params, truthy(record.guacdParams) ? record.guacdParams : {});
    Object.assign(params, target);
    Object.assign(params, creds);
    params = Object.fromEntries(Object.entries(params).map(([k, val]) => [k, val === true ? 'true' : val === false ? 'false' : pyStr(val)]));

    const guacd = [process.env.GUACD, record.guacd, this.s.args.guacd, cfg.guacd].find(truthy) || '127.0.0.1:4822';
    const [ghost, gport] = parseHostport(guacd, 'guacd');

    if (truthy(beh.refuse)) {
      throw new Refusal(typeof beh.refuse === 'string' ? beh.refuse : 'Gateway refused the connection');
    }

    const conv = new Conversation(idBytes, action.conversationId, key, recordUid, trickle);
    Object.assign(conv.info, {
      credentialType: ct ?? null, conversationType: ctype, guacd: `${ghost}:${gport}`,
      guacdParams: redactParams(params), offer: entry.offer,
    });
    if (this.s.convs.has(idKey(idBytes))) throw new Refusal(`Conversation ${pyStr(action.conversationId)} already exists`);
    this.s.convs.set(idKey(idBytes), conv);
    this.s.byLabel.set(conv.label, conv);

    if (truthy(beh.silent)) {
      conv.info.silent = true;
      const wait = Math.min(Number(truthy(body.timeoutMs) ? body.timeoutMs : 30000) / 1000, this.s.args.maxSeconds);
      await sleep(wait * 1000);
      return [504, { responseCode: 4, error: `rrc_timeout: the gateway did not answer within ${pyStr(body.timeoutMs)} ms` }];
    }
    if (ct === 'ephemeral' && truthy(beh.ephemeral_delay_ms)) await sleep(Number(beh.ephemeral_delay_ms));

    let settings;
    if (ctype === 'tunnel') {
      settings = { conversationType: 'tunnel', target_host: params.hostname ?? '127.0.0.1', target_port: params.port ?? '22' };
    } else {
      settings = { conversationType: ctype, guacd: { guacd_host: ghost, guacd_port: gport }, guacd_params: params };
    }
    Object.assign(settings, truthy(record.settings) ? record.settings : {});
    const t = performance.now();
    conv.info.times.createTube = nowMs();
    conv.tubeId = crypto.randomUUID();
    conv.tube = new Tube(this, conv, settings, this.nd);
    const offerSdp = Buffer.from(offer.offer, 'base64').toString('utf8');
    let answerSdp;
    try {
      answerSdp = await conv.tube.answer(offerSdp, trickle);
    } catch (e) {
      conv.tube.close();
      throw new PyError('RuntimeError', e.message);
    }
    conv.info.tubeId = conv.tubeId;
    conv.info.createTubeMs = Math.round((performance.now() - t) * 10) / 10;
    if (!answerSdp) throw new Refusal('The WebRTC library returned no answer');
    conv.info.answer = sdpSummary(answerSdp);
    conv.info.times.answer = nowMs();
    this.armDrop(conv); // the peer connection may be connected already
    const form = beh.answer_form ?? 'answer';
    const answerB64 = Buffer.from(answerSdp, 'utf8').toString('base64');
    const answerObj = form === 'answer' ? { answer: answerB64 } : form === 'sdp' ? { sdp: answerSdp } : answerSdp;
    const data = tunnelEncrypt(key, answerObj);
    if (!trickle) return [200, { is_ok: true, data }];
    // An event stream opened just before the POST may not be connected yet.
    conv.info.subscriberWaitOk = await this.s.waitForSubscriber(idBytes, 3);
    this.s.emit(conv, [{ is_ok: true, data: `Offer buffered for ${conv.conversationId}` }, { is_ok: true, data }]);
    conv.answerEmitted = true;
    const pending = conv.pendingCandidates.splice(0);
    if (pending.length) this.s.emit(conv, [{ is_ok: true, data: tunnelEncrypt(key, { candidates: pending }) }]);
    return [200, { is_ok: true, data: `Connection request received for ${conv.conversationId}` }];
  }

  static checkOffer(offer, v) {
    const out = { keys: pySorted(Object.keys(offer)) };
    try {
      const o = get(offer, 'offer');
      const raw = strictB64(truthy(o) ? o : '');
      const sdp = new TextDecoder('utf-8', { fatal: true }).decode(raw);
      if (!sdp.startsWith('v=0')) throw new PyError('ValueError', '');
      out.sdp = sdpSummary(sdp);
    } catch (e) {
      if (e instanceof PyError && e.pyType === 'TypeError') throw e;
      v.push('offer.offer must be the base64 of an SDP offer');
    }
    const size = get(offer, 'size');
    if (!(Array.isArray(size) && (size.length === 2 || size.length === 3) && size.every((x) => isPyInt(x) && x > 0))) {
      v.push('offer.size must be [width, height, dpi] (positive integers)');
    }
    for (const k of ['audio', 'image']) {
      if (!(Array.isArray(get(offer, k)) && offer[k].every((x) => typeof x === 'string'))) v.push(`offer.${k} must be a list of mimetypes`);
    }
    if (has(offer, 'video') && !Array.isArray(offer.video)) v.push('offer.video must be a list');
    const gp = get(offer, 'guacd_params');
    if (!isDict(gp) || !Object.values(gp).every((x) => typeof x === 'string' || isPyInt(x))) {
      v.push('offer.guacd_params must be an object of strings');
    }
    for (const k of ['size', 'audio', 'video', 'image', 'host', 'terminalSettings', 'clipboard']) {
      if (has(offer, k)) out[k] = offer[k];
    }
    if (isDict(gp)) out.guacd_params = redactParams(gp);
    return out;
  }

  // -------------------------------------------------------------- candidates
  icecandidate(conv, inputs, entry) {
    let obj;
    try {
      obj = jsonLoads(tunnelDecrypt(conv.key, truthy(get(inputs, 'data')) ? inputs.data : ''));
    } catch (e) {
      if (e instanceof PyError && e.pyType !== 'TypeError') throw new Refusal('Unable to decrypt the candidate data');
      throw e;
    }
    const cands = isDict(obj) ? get(obj, 'candidates') : undefined;
    if (!Array.isArray(cands)) throw new Refusal('icecandidate data must be {"candidates": [...]}');
    entry.candidates = cands.length;
    for (let c of cands) {
      if (isDict(c)) c = JSON.stringify(c);
      conv.info.candidatesFromClient.push({ t: nowMs(), candidate: c });
      if (conv.tube) conv.tube.addRemoteCandidate(c);
    }
    return [200, { is_ok: true, data: `ice candidate received for ${conv.conversationId}` }];
  }

  iceRestart(conv, inputs, body, entry) {
    let obj;
    try {
      obj = jsonLoads(tunnelDecrypt(conv.key, truthy(get(inputs, 'data')) ? inputs.data : ''));
    } catch (e) {
      if (e instanceof PyError && e.pyType !== 'TypeError') throw new Refusal('Unable to decrypt the ICE restart offer');
      throw e;
    }
    const sdp = isDict(obj) ? get(obj, 'sdp') : undefined;
    if (typeof sdp !== 'string') throw new Refusal('ice_restart_offer data must be {"type": "offer", "sdp": ...}');
    sdpSummary(sdp);
    // libdatachannel's ICE agent (libjuice) rejects new remote ICE credentials
    // ("ICE restart is not supported"); the library (webrtc-rs) restarts.
    conv.info.iceRestartRefused = (conv.info.iceRestartRefused || 0) + 1;
    entry.iceRestart = 'unsupported';
    throw new Refusal('ICE restart is not supported by this gateway stand-in (node-datachannel: libjuice cannot restart ICE)');
  }

  // -------------------------------------------------------------- signals
  onSignal(conv, sig) {
    try {
      const { kind, data } = sig;
      const rec = { t: nowMs(), kind };
      if (kind === 'icecandidate') {
        rec.data = data;
        conv.info.candidatesFromGateway.push({ t: rec.t, candidate: data });
        if (conv.trickle) {
          if (!conv.answerEmitted) conv.pendingCandidates.push(data);
          else this.s.emit(conv, [{ is_ok: true, data: tunnelEncrypt(conv.key, { candidates: [data] }) }]);
        }
        return;
      }
      if (typeof data === 'string' && data.length < 2000) {
        try {
          rec.data = data[0] === '{' || data[0] === '[' ? JSON.parse(data) : data;
        } catch {
          rec.data = data;
        }
      }
      conv.info.signals.push(rec);
      if (kind === 'connection_state_changed') {
        conv.info.times[`state:${data}`] ??= rec.t;
        if (conv.trickle && (data === 'connected' || data === 'disconnected')) {
          this.s.emit(conv, [{ is_ok: true, data }]);
        }
        if (data === 'connected') this.armDrop(conv);
      } else if (kind === 'channel_closed') {
        conv.info.times.channelClosed ??= rec.t;
      }
    } catch (e) { // never raise into the WebRTC stack's callbacks
      log.error(`signal handling failed\n${e.stack || e}`);
    }
  }

  armDrop(conv) {
    const beh = this.s.recordBehaviour(this.s.config.records[conv.recordUid]);
    if (conv.info.times['state:connected'] === undefined || conv.dropTimer || !conv.tube) return;
    if (beh.drop_after_ms === undefined || beh.drop_after_ms === null) return;
    const reason = Number(beh.drop_reason ?? 9);
    conv.dropTimer = setTimeout(() => this.drop(conv, reason), Number(beh.drop_after_ms));
  }

  drop(conv, reason) {
    conv.info.times.dropped = nowMs();
    log.info(`dropping tube of ${conv.label} (drop_after_ms, reason ${reason})`);
    try {
      conv.tube.drop(reason);
    } catch (e) {
      conv.info.dropError = String(e.message || e);
    }
  }

  shutdown() {
    for (const c of this.s.convs.values()) {
      try { c.tube && c.tube.close(); } catch { /* going anyway */ }
    }
    try { this.nd.cleanup(); } catch { /* going anyway */ }
  }
}

// ------------------------------------------------------------------ HTTP

const MIME = { '.mjs': 'text/javascript', '.js': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json',
  '.html': 'text/html', '.css': 'text/css', '.png': 'image/png', '.svg': 'image/svg+xml', '.txt': 'text/plain',
  '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.ico': 'image/vnd.microsoft.icon', '.map': 'application/json' };

function makeHandler(state, gateway, staticDir) {
  const cors = (res) => {
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Access-Control-Allow-Methods', 'GET, POST, OPTIONS');
    res.setHeader('Access-Control-Allow-Headers', 'Content-Type, Last-Event-ID');
  };
  const reply = (res, status, obj) => {
    const body = Buffer.from(JSON.stringify(obj));
    res.statusCode = status;
    cors(res);
    res.setHeader('Content-Type', 'application/json');
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Content-Length', body.length);
    res.end(body);
  };
  const readJson = (req) => new Promise((resolve, reject) => {
    const n = Number(req.headers['content-length'] || 0);
    if (n > 4 << 20) {
      reject(new Error('body too large'));
      req.resume();
      return;
    }
    const chunks = [];
    req.on('data', (d) => chunks.push(d));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      try {
        resolve(text ? JSON.parse(text) : null);
      } catch (e) {
        reject(e);
      }
    });
    req.on('error', reject);
  });

  function serveStatic(res, urlPath) {
    let rel;
    try {
      rel = path.normalize(decodeURIComponent(urlPath).replace(/^\/+/, '')) || '.';
    } catch {
      return reply(res, 400, { error: 'bad path' });
    }
    const full = path.join(staticDir, rel);
    let real;
    try {
      real = fs.realpathSync(full);
    } catch {
      real = full;
    }
    if (rel.startsWith('..') || path.isAbsolute(rel) || (real !== staticDir && !real.startsWith(staticDir + path.sep))) {
      return reply(res, 403, { error: 'forbidden' });
    }
    let file = full;
    if (fs.existsSync(file) && fs.statSync(file).isDirectory()) file = path.join(file, 'index.html');
    if (!fs.existsSync(file) || !fs.statSync(file).isFile()) return reply(res, 404, { error: 'not found' });
    const data = fs.readFileSync(file);
    res.statusCode = 200;
    cors(res);
    res.setHeader('Content-Type', MIME[path.extname(file)] || 'application/octet-stream');
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Content-Length', data.length);
    res.end(data);
    return undefined;
  }

  function events(req, res, q) {
    let want = null;
    if (q.get('conversationId')) {
      try {
        want = idKey(b64decodeAny(q.get('conversationId'), 'conversationId'));
      } catch (e) {
        return reply(res, 400, { error: e.message });
      }
    }
    res.statusCode = 200;
    cors(res);
    res.setHeader('Content-Type', 'text/event-stream');
    res.setHeader('Cache-Control', 'no-store');
    res.flushHeaders();
    res.socket.setNoDelay(true);
    res.write(': stand-in events\n\n');
    let i = want !== null ? 0 : state.events.length;
    const last = req.headers['last-event-id'];
    if (last && /^\d+$/.test(last)) i = Number(last);
    state.subscribers.push(want);
    state.notify();
    let keepalive;
    const pump = () => {
      const batch = state.events.slice(i);
      i = state.events.length;
      const out = [];
      for (const [seq, idb, text] of batch) if (want === null || idb === want) out.push(`id: ${seq}\ndata: ${text}\n\n`);
      if (out.length) res.write(out.join(''));
    };
    const waiter = () => pump();
    state.eventWaiters.add(waiter);
    keepalive = setInterval(() => res.write(': keepalive\n\n'), 10000);
    pump();
    const done = () => {
      clearInterval(keepalive);
      state.eventWaiters.delete(waiter);
      const k = state.subscribers.indexOf(want);
      if (k >= 0) state.subscribers.splice(k, 1);
    };
    res.on('close', done);
    res.on('error', done);
    return undefined;
  }

  return async (req, res) => {
    res.setHeader('Server', 'pam-standin/1');
    const u = new URL(req.url, 'http://x');
    try {
      if (req.method === 'OPTIONS') {
        res.statusCode = 204;
        cors(res);
        res.setHeader('Content-Length', '0');
        return res.end();
      }
      if (req.method === 'POST') {
        let body;
        try {
          body = await readJson(req);
        } catch (e) {
          return reply(res, 400, { error: `body is not JSON: ${e.message}` });
        }
        if (u.pathname === '/signal/send') {
          const [status, resp] = await gateway.send(body);
          if (res.destroyed) return undefined;
          return reply(res, status, resp);
        }
        if (u.pathname === '/signal/_behaviour') {
          if (!isDict(body) || Object.keys(body).some((k) => !(k in DEFAULT_BEHAVIOUR))) {
            return reply(res, 400, { error: `switches: ${pyRepr(pySorted(Object.keys(DEFAULT_BEHAVIOUR)))}` });
          }
          Object.assign(state.behaviour, body);
          return reply(res, 200, { ok: true, behaviour: state.behaviour });
        }
        return reply(res, 404, { error: 'not found' });
      }
      if (req.method === 'GET') {
        if (u.pathname === '/signal/events') return events(req, res, u.searchParams);
        if (u.pathname === '/signal/_log') return reply(res, 200, state.logSnapshot());
        if (u.pathname === '/signal/_health') return reply(res, 200, { ok: true });
        if (staticDir) return serveStatic(res, u.pathname);
        return reply(res, 404, { error: 'not found' });
      }
      return reply(res, 501, { error: `unsupported method ${req.method}` });
    } catch (e) {
      log.error(`http handler failed\n${e.stack || e}`);
      if (!res.headersSent) return reply(res, 500, { error: 'internal error' });
      return res.destroy();
    }
  };
}

// ------------------------------------------------------------------ main

function parseArgs(argv) {
  const a = {
    config: null, host: '127.0.0.1', port: 0, guacd: null, static: null, maxSeconds: 300, refuse: null,
    silent: false, dropAfterMs: null, logLevel: 'INFO', libLogLevel: 'WARNING', ignoreStdin: false,
  };
  const usage = 'usage: standin-node.mjs --config CONFIG [--host H] [--port N] [--guacd HOST:PORT] [--static DIR] ' +
    '[--max-seconds S] [--refuse TEXT] [--silent] [--drop-after-ms N] [--log-level L] [--lib-log-level L] [--ignore-stdin]';
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let val;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) {
      val = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const next = () => {
      if (val !== undefined) return val;
      if (i + 1 >= argv.length) throw new Error(`${arg}: expected one argument`);
      return argv[++i];
    };
    const num = (x, int) => {
      const n = Number(x);
      if (!Number.isFinite(n) || (int && !Number.isInteger(n))) throw new Error(`${arg}: invalid ${int ? 'int' : 'float'} value: ${pyRepr(x)}`);
      return n;
    };
    switch (arg) {
      case '--config': a.config = next(); break;
      case '--host': a.host = next(); break;
      case '--port': a.port = num(next(), true); break;
      case '--guacd': a.guacd = next(); break;
      case '--static': a.static = next(); break;
      case '--max-seconds': a.maxSeconds = num(next(), false); break;
      case '--refuse': a.refuse = next(); break;
      case '--silent': a.silent = true; break;
      case '--drop-after-ms': a.dropAfterMs = num(next(), true); break;
      case '--log-level': a.logLevel = next(); break;
      case '--lib-log-level': a.libLogLevel = next(); break;
      case '--ignore-stdin': a.ignoreStdin = true; break;
      case '-h': case '--help': process.stdout.write(`${usage}\n`); process.exit(0); break;
      default: throw new Error(`unrecognized arguments: ${arg}`);
    }
  }
  if (!a.config) throw new Error('the following arguments are required: --config');
  a.logLevel = a.logLevel.toUpperCase();
  a.libLogLevel = a.libLogLevel.toUpperCase();
  return { args: a, usage };
}

async function main(argv = process.argv.slice(2)) {
  let args;
  try {
    ({ args } = parseArgs(argv));
  } catch (e) {
    process.stderr.write(`standin-node.mjs: error: ${e.message}\n`);
    process.exit(2);
  }
  logLevel = LEVELS[args.logLevel] ?? LEVELS.INFO;
  libLogLevel = LEVELS[args.libLogLevel] ?? LEVELS.WARNING;

  const config = JSON.parse(fs.readFileSync(args.config, 'utf8'));
  if (!isDict(config.records)) config.records = {};
  for (const rec of Object.values(config.records)) {
    const seed = rec.trafficEncryptionSeed;
    SECRETS.add(seed);
    try {
      SECRETS.add(b64decodeAny(seed, 'seed'));
    } catch { /* reported at launch */ }
    for (const group of [rec.target, rec.ephemeralAccount, ...Object.values(rec.linkedUsers || {})]) {
      for (const [k, val] of Object.entries(isDict(group) ? group : {})) if (SECRET_PARAM.test(k)) SECRETS.add(val);
    }
  }
  for (const [k, val] of Object.entries(isDict(config.ephemeralAccount) ? config.ephemeralAccount : {})) {
    if (SECRET_PARAM.test(k)) SECRETS.add(val);
  }

  const state = new State(config, args);
  if (args.refuse) state.behaviour.refuse = args.refuse;
  if (args.silent) state.behaviour.silent = true;
  if (args.dropAfterMs !== null) state.behaviour.drop_after_ms = args.dropAfterMs;
  const gateway = new Gateway(state);

  const staticDir = args.static ? fs.realpathSync(args.static) : null;
  const server = http.createServer(makeHandler(state, gateway, staticDir));
  server.keepAliveTimeout = 5000;
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(args.port, args.host, resolve);
  });

  const say = (obj) => process.stdout.write(`${SECRETS.redact(JSON.stringify(obj))}\n`);
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    state.stopping = true;
    state.notify();
    log.info('stopping');
    const hard = setTimeout(() => process.exit(0), 2000);
    hard.unref();
    try {
      gateway.shutdown();
    } catch { /* going anyway */ }
    server.closeAllConnections?.();
    server.close();
    // let the last frames and stream resets leave
    setTimeout(() => process.exit(0), 200).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  if (!args.ignoreStdin) {
    const rl = readline.createInterface({ input: process.stdin });
    rl.on('line', (line) => {
      line = line.trim();
      if (!line) return;
      try {
        const cmd = JSON.parse(line);
        if (cmd && cmd.cmd === 'log') say({ log: state.logSnapshot() });
        else if (cmd && cmd.cmd === 'behaviour') {
          Object.assign(state.behaviour, isDict(cmd.set) ? cmd.set : {});
          say({ ok: true, behaviour: state.behaviour });
        } else if (cmd && cmd.cmd === 'quit') {
          rl.close();
        } else {
          say({ ok: false, error: 'commands: log, behaviour, quit' });
        }
      } catch (e) {
        say({ ok: false, error: `bad command: ${e.message}` });
      }
    });
    rl.on('close', stop);
  }
  setTimeout(stop, args.maxSeconds * 1000).unref();
  // keeps the process alive until stop() even with --ignore-stdin
  const alive = setInterval(() => {}, 1 << 30);
  process.once('exit', () => clearInterval(alive));

  const { address: host, port } = server.address();
  say({
    ready: true, host, port, pid: process.pid, url: `http://${host}:${port}`, library: 'node-datachannel',
    libdatachannel: gateway.libraryVersion,
  });
  log.info(`listening on ${host}:${port} (max ${args.maxSeconds}s)`);
}

main().catch((e) => {
  process.stderr.write(`standin-node.mjs: ${SECRETS.redact(String(e.stack || e))}\n`);
  process.exit(1);
});
