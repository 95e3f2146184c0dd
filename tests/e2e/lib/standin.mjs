// Helpers for tests that use the local gateway stand-in
// (tests/gateway/standin.py: Keeper's own WebRTC library, the
// keeper-pam-webrtc-rs wheel in .venv, as the gateway's side) and the replay
// guacd (tests/replay/server.mjs). They start them (inside a network
// namespace from ./netns.mjs, or on loopback), read their logs, and do the
// tunnel crypto of the offer (docs/gateway-wire.md §1, §3) with Node's
// crypto, so that it checks the stand-in's Python implementation
// independently.

import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(HERE, '..', '..', '..');
// PAM_STANDIN_PYTHON: another interpreter with the wheel and cryptography.
export const VENV_PYTHON = process.env.PAM_STANDIN_PYTHON || path.join(ROOT, '.venv', 'bin', 'python');
export const STANDIN = path.join(ROOT, 'tests', 'gateway', 'standin.py');
export const REPLAY = path.join(ROOT, 'tests', 'replay', 'server.mjs');
const SKIP_MARKER = path.join(ROOT, 'target', 'gateway-standin.skip');

let standinProbe;
/** null when the stand-in can run here, else the reason (for skipping by name). */
export function standinUnavailable() {
  if (standinProbe === undefined) standinProbe = probeWheel();
  return standinProbe;
}

function probeWheel() {
  return (() => {
    if (fs.existsSync(SKIP_MARKER) && !process.env.PAM_STANDIN_PYTHON) {
      return `gateway stand-in not installed: ${fs.readFileSync(SKIP_MARKER, 'utf8').trim()}`;
    }
    if (!fs.existsSync(VENV_PYTHON)) return `gateway stand-in not installed: no ${VENV_PYTHON.startsWith(ROOT) ? path.relative(ROOT, VENV_PYTHON) : VENV_PYTHON} (run npm run setup)`;
    const r = spawnSync(VENV_PYTHON, ['-c', 'import keeper_pam_webrtc_rs, cryptography'],
      { encoding: 'utf8', timeout: 20000 });
    if (r.status !== 0) {
      return `gateway stand-in cannot run: .venv has no working keeper_pam_webrtc_rs/cryptography (${(r.stderr || String(r.error)).trim().split('\n').pop()}); run npm run setup`;
    }
    return null;
  })();
}

// ------------------------------------------------------------------ crypto

export const HKDF_INFO = 'KEEPER_TUNNEL_ENCRYPT_AES_GCM_128';

export function b64decodeAny(text) {
  return Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}

/** HKDF-SHA256(ikm = seed bytes, salt = 16-byte nonce, info, 32 bytes). */
export function tunnelKey(seedB64, nonce) {
  return Buffer.from(crypto.hkdfSync('sha256', b64decodeAny(seedB64), nonce, Buffer.from(HKDF_INFO), 32));
}

/** base64(nonce12 || AES-256-GCM ciphertext || tag) of the JSON of obj (or of a string). */
export function tunnelEncrypt(key, obj) {
  const iv = crypto.randomBytes(12);
  const c = crypto.createCipheriv('aes-256-gcm', key, iv);
  const pt = Buffer.from(typeof obj === 'string' ? obj : JSON.stringify(obj), 'utf8');
  return Buffer.concat([iv, c.update(pt), c.final(), c.getAuthTag()]).toString('base64');
}

/** Inverse of tunnelEncrypt: the JSON value, or the text when it is not JSON. */
export function tunnelDecrypt(key, text) {
  const raw = Buffer.from(text, 'base64');
  const d = crypto.createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
  d.setAuthTag(raw.subarray(raw.length - 16));
  const pt = Buffer.concat([d.update(raw.subarray(12, raw.length - 16)), d.final()]).toString('utf8');
  try {
    return JSON.parse(pt);
  } catch {
    return pt;
  }
}

/**
 * A new conversation: { conversationId (url-safe, as sent), label (standard:
 * the data channel's name) }. With distinct (the default) the two texts
 * differ, so that tests can tell which alphabet a message used.
 */
export function newConversation({ distinct = true } = {}) {
  for (;;) {
    const b = crypto.randomBytes(16);
    const conversationId = `${b.toString('base64url')}==`;
    const label = b.toString('base64');
    if (!distinct || conversationId !== label) return { conversationId, label };
  }
}

// ------------------------------------------------------------------ processes

// Reads JSON lines from a child's stdout: the first is the ready line; later
// lines answer commands in order.
function jsonLines(child, name, collect) {
  const pending = [];
  const rl = readline.createInterface({ input: child.stdout });
  let readyResolve;
  let readyReject;
  const ready = new Promise((res, rej) => { readyResolve = res; readyReject = rej; });
  rl.on('line', (line) => {
    collect(`${line}\n`);
    let obj;
    try {
      obj = JSON.parse(line);
    } catch {
      return;
    }
    if (obj && obj.ready === true && readyResolve) {
      const r = readyResolve;
      readyResolve = null;
      r(obj);
    } else if (pending.length) {
      pending.shift()(obj);
    }
  });
  child.on('exit', (code, sig) => {
    if (readyResolve) readyReject(new Error(`${name} exited before it was ready (${code ?? sig})`));
    for (const p of pending.splice(0)) p(null);
  });
  return { ready, next: () => new Promise((r) => pending.push(r)) };
}

function spawnIn(ns, cmd, args, opts) {
  return ns ? ns.spawn(cmd, args, opts) : spawn(cmd, args, opts);
}

/**
 * Starts the stand-in. config: the JSON config object (written to a file in
 * dir). ns: a namespace from createNetns, or null for loopback. Resolves to
 * { port, url, child, ready (its ready line), output(), log(), setBehaviour(), stop() }.
 */
export async function startStandin({ config, dir, ns = null, args = [], env = {}, timeoutMs = 20000 }) {
  const cfgFile = path.join(dir, `standin-${crypto.randomBytes(4).toString('hex')}.json`);
  fs.writeFileSync(cfgFile, JSON.stringify(config), { mode: 0o600 });
  let out = '';
  const collect = (s) => { out += s; };
  const childEnv = { ...process.env, ...env };
  if (!('GUACD' in env)) delete childEnv.GUACD;
  const child = spawnIn(ns, VENV_PYTHON, [STANDIN, '--config', cfgFile, ...args],
    { stdio: ['pipe', 'pipe', 'pipe'], env: childEnv });
  child.stderr.on('data', (d) => collect(String(d)));
  child.stdin.on('error', () => {});
  const lines = jsonLines(child, 'stand-in', collect);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  let ready;
  try {
    ready = await lines.ready;
  } catch (e) {
    throw new Error(`${e.message}\n${out.slice(-2000)}`);
  } finally {
    clearTimeout(timer);
  }
  const cmd = async (obj) => {
    const p = lines.next();
    child.stdin.write(`${JSON.stringify(obj)}\n`);
    return p;
  };
  return {
    ready,
    port: ready.port,
    url: `http://127.0.0.1:${ready.port}`,
    child,
    output: () => out,
    log: async () => (await cmd({ cmd: 'log' }))?.log,
    setBehaviour: (set) => cmd({ cmd: 'behaviour', set }),
    stop: () => new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode) return resolve();
      child.once('exit', resolve);
      child.stdin.end();
      setTimeout(() => child.kill('SIGKILL'), 3000).unref();
    }),
  };
}

/** Starts the replay guacd; resolves to { port, info, events(), output(), stop() }. */
export async function startReplay({ dir, ns = null, file = 'ssh-live.guac', hold = false, speed = 1, extra = [] }) {
  const logFile = path.join(dir, `replay-${crypto.randomBytes(4).toString('hex')}.jsonl`);
  let out = '';
  const collect = (s) => { out += s; };
  const args = [REPLAY, '--file', file, '--speed', String(speed), '--log', logFile, '--max-seconds', '600', ...extra];
  if (hold) args.push('--hold');
  const child = spawnIn(ns, process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stderr.on('data', (d) => collect(String(d)));
  child.stdin.on('error', () => {});
  const info = await jsonLines(child, 'replay guacd', collect).ready;
  return {
    port: info.port,
    info,
    logFile,
    output: () => out,
    events: () => (fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '')
      .split('\n').filter(Boolean).map((l) => JSON.parse(l)),
    stop: () => new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode) return resolve();
      child.once('exit', resolve);
      child.stdin.end();
      setTimeout(() => child.kill('SIGKILL'), 3000).unref();
    }),
  };
}

/** Polls fn() until it returns a truthy value (returned) or the time is up (throws). */
export async function until(fn, timeoutMs, what, everyMs = 25) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
