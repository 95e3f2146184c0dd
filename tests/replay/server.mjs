#!/usr/bin/env node
// Replay guacd: does guacd's side of the Guacamole handshake, then plays a
// real guacd stream from tests/fixtures/guac at its recorded pace, and
// records everything the client sends. Node only, no dependencies.
//
//   node tests/replay/server.mjs [--by-protocol | --file ssh-live.guac] [--host 127.0.0.1]
//        [--port 0] [--speed 1] [--hold] [--log FILE.jsonl] [--ready-pause-ms 5]
//        [--nop-ms 2000] [--max-seconds 600] [--fixtures DIR] [--ignore-stdin]
//        [--push-file NAME] [--ack-uploads MS] [--push-clipboard TEXT]
//
// --by-protocol: the stream follows the client's `select`: rdp -> rdp-live.guac,
//   vnc -> vnc-live.guac, ssh -> ssh-live.guac, and telnet -> ssh-live.guac,
//   because there is no Telnet recording: guacd draws Telnet and SSH with the
//   same terminal emulator, so SSH's terminal stream stands in for it (the
//   handshake is still Telnet's: guacd's Telnet `args`). Any other protocol
//   gets guacd's `error,...,256` (unsupported) and the connection closes.
//   The log's `select` event names the file played and says when it stands in.
// --file (or the REPLAY_FILE environment variable): one stream for every
//   protocol: a fixture name (looked up in --fixtures, default
//   tests/fixtures/guac) or a path.
//   `*-live.guac` files are guacd's server stream: their leading `args` and
//   `ready` are skipped (the handshake is done here). `*-session*.guac` files are
//   guacd's recordings: the client's input in them (`key`, `mouse`) is skipped
//   and a `disconnect` is added at the end.
// --speed: factor on the recorded pace (sync timestamps); 0 plays unpaced.
// --hold: after the stream, keep the connection open instead of sending the
//   stream's final `disconnect`, and send `nop` every --nop-ms until the client
//   leaves (Keeper's library invents an error after 10 s of guacd silence).
// --push-file NAME: once the stream has played (with --hold), offer the client
//   a file as guacd does for a download: `file,<stream>,text/plain,NAME`, then
//   wait for the client's `ack`; a refusal (status not 0) ends the push, an
//   acceptance gets the content in `blob`s of at most 6048 bytes, each after
//   the previous one's ack, then `end`. The content is pushFileContent(NAME).
//   Logged as file-offer, file-ack, file-sent / file-refused events.
// --push-clipboard TEXT: once the stream has played (with --hold), set the
//   client's clipboard as guacd does when the remote side copies: `clipboard`,
//   one `blob` of TEXT (UTF-8), `end`. Logged as a clipboard-sent event.
// --ack-uploads MS: answer the client's uploads as guacd does: `ack,<stream>,OK,0`
//   at once for its `file`, and MS ms after each `blob` (a slow link, so that a
//   test sees the progress and can cancel); without it uploads get no ack.
// --log: JSON Lines, one event per line (open, select, handshake, connect,
//   ready, played, recv, close, and the file-* events of --push-file). Secret connect values (password, passphrase,
//   private key...) are logged as "sha256:<hex>" of the value, never in clear.
//
// Per connection: reads `select,<protocol>`, answers `args` (the list the real
// guacd 1.6.0 sent, from fixtures/<protocol>-live.guac, or a plausible list for
// protocols without a fixture), reads size/audio/video/image/timezone/name up
// to `connect`, writes `ready,$<id>` on its own and pauses --ready-pause-ms
// (bytes that share the library's read with `ready` are lost), then plays the
// stream. It answers nothing the client sends after that; a client `disconnect`
// or EOF closes the connection.
//
// --ready-pause-ms (default 5): the pause models no guacd behaviour. It only
// keeps the first stream bytes out of the read in which Keeper's library
// takes `ready` (quirk (a) in docs/keeper-gateway-peer.md §5), which a real guacd
// avoids anyway: it sends `ready` as soon as the connection is set up, long
// before its first display update (an SSH login or a VNC framebuffer takes
// far longer than 5 ms). 5 ms was checked byte-exact through the library;
// whatever the value, it is part of every "first byte" time measured
// against this server (it was 50 ms until the launch benchmark).
//
// Prints one JSON line on stdout when listening:
//   {"ready":true,"host":"127.0.0.1","port":N,"file":"ssh-live.guac","kind":"live",
//    "instructions":N,"bytes":N,"durationMs":N}
// Exits after --max-seconds, on SIGTERM/SIGINT, or when stdin closes (unless
// --ignore-stdin).

import net from 'node:net';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { GuacParser, encode, parseAll } from './guac.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(HERE, '..', '..');

export function fixturesDir() {
  return path.resolve(ROOT, 'tests', 'fixtures', 'guac');
}

/** What --push-file NAME sends: about 10 KB of text naming the file, so a test can check it byte for byte. */
export function pushFileContent(name) {
  return Buffer.from(Array.from({ length: 200 }, (_, i) => `pam-launch-wasm replay download ${name}, line ${i + 1}\n`).join(''));
}
const PUSH_BLOB_BYTES = 6048;

export function resolveFixture(name, dir = fixturesDir()) {
  if (name.includes('/') || fs.existsSync(name)) return path.resolve(name);
  return path.join(dir, name);
}

// The stream played for each protocol with --by-protocol, and why when it is
// another protocol's.
export const PROTOCOL_STREAMS = {
  rdp: { file: 'rdp-live.guac' },
  vnc: { file: 'vnc-live.guac' },
  ssh: { file: 'ssh-live.guac' },
  telnet: { file: 'ssh-live.guac', standIn: 'no Telnet recording exists: SSH\'s terminal stream stands in (guacd draws both with one terminal emulator)' },
};

// Arguments for protocols without a live fixture. telnet: guacd's list, in
// its order, from the apache/guacamole-server source (settings.c of the
// telnet plugin); kubernetes: shortened.
const FALLBACK_ARGS = {
  telnet: ['hostname', 'port', 'timeout', 'username', 'username-regex', 'password', 'password-regex',
    'font-name', 'font-size', 'color-scheme', 'typescript-path', 'typescript-name',
    'create-typescript-path', 'typescript-write-existing', 'recording-path', 'recording-name',
    'recording-exclude-output', 'recording-exclude-mouse', 'recording-include-keys',
    'create-recording-path', 'recording-write-existing', 'read-only', 'backspace', 'terminal-type',
    'scrollback', 'login-success-regex', 'login-failure-regex', 'disable-copy', 'disable-paste',
    'wol-send-packet', 'wol-mac-addr', 'wol-broadcast-addr', 'wol-udp-port', 'wol-wait-time'],
  kubernetes: ['hostname', 'port', 'namespace', 'pod', 'container', 'exec-command', 'use-ssl',
    'client-cert', 'client-key', 'ca-cert', 'ignore-cert', 'font-name', 'font-size',
    'color-scheme', 'read-only', 'backspace', 'scrollback', 'disable-copy', 'disable-paste'],
};
const GENERIC_ARGS = ['hostname', 'port', 'username', 'password', 'database', 'disable-copy',
  'disable-paste', 'read-only'];

const argsCache = new Map();
/** The `args` guacd sends for `protocol`: [version, ...names]. */
export function argsFor(protocol, dir = fixturesDir()) {
  if (argsCache.has(protocol)) return argsCache.get(protocol);
  let list = null;
  const f = path.join(dir, `${protocol}-live.guac`);
  if (/^[a-z0-9-]+$/.test(protocol) && fs.existsSync(f)) {
    const fd = fs.openSync(f, 'r');
    try {
      const buf = Buffer.alloc(8192);
      const n = fs.readSync(fd, buf, 0, buf.length, 0);
      const [first] = new GuacParser().push(buf.subarray(0, n).toString('utf8'));
      if (first && first.opcode === 'args') list = first.args;
    } finally {
      fs.closeSync(fd);
    }
  }
  if (!list) list = ['VERSION_1_5_0', ...(FALLBACK_ARGS[protocol] || GENERIC_ARGS)];
  argsCache.set(protocol, list);
  return list;
}

const SECRET_ARG = /password|passphrase|private-key|client-key|secret|token|totp/i;
/** Value as logged: secrets become sha256:<hex> (empty stays empty). */
export function logValue(name, value) {
  if (!SECRET_ARG.test(name) || value === '') return value;
  return `sha256:${crypto.createHash('sha256').update(value, 'utf8').digest('hex')}`;
}

/**
 * Loads a fixture as the stream to play. Returns
 * { kind: 'live'|'recording', chunks: [{ at, text }], instructions, bytes,
 *   durationMs, stream: Buffer (all chunks), tail: Buffer (the final disconnect or '') }.
 * `at` is the chunk's due time in recorded ms from the first sync; each chunk
 * ends with a `sync` (the last may not). With hold, the final `disconnect` is
 * not part of the stream (`tail` is then empty).
 */
export function loadStream(file, { hold = false } = {}) {
  const text = fs.readFileSync(file, 'utf8');
  const all = parseAll(text);
  let kind = 'recording';
  let i = 0;
  if (all.length && all[0].opcode === 'args') {
    kind = 'live';
    i = 1;
    while (i < all.length && all[i].opcode === 'ready') i++;
  }
  let body = all.slice(i);
  if (kind === 'recording') body = body.filter((x) => x.opcode !== 'key' && x.opcode !== 'mouse');
  let tail = '';
  if (body.length && body[body.length - 1].opcode === 'disconnect') {
    tail = body.pop().raw;
  } else if (kind === 'recording') {
    tail = encode('disconnect');
  }
  if (hold) tail = '';
  const chunks = [];
  let cur = [];
  let t0 = null;
  let lastAt = 0;
  for (const ins of body) {
    cur.push(ins.raw);
    if (ins.opcode === 'sync') {
      const ts = Number(ins.args[0]);
      if (t0 === null && Number.isFinite(ts)) t0 = ts;
      const at = Number.isFinite(ts) && t0 !== null ? Math.max(lastAt, ts - t0) : lastAt;
      lastAt = at;
      chunks.push({ at, text: cur.join('') });
      cur = [];
    }
  }
  if (cur.length) chunks.push({ at: lastAt, text: cur.join('') });
  if (tail) chunks.push({ at: lastAt, text: tail, tail: true });
  for (const c of chunks) c.text = Buffer.from(c.text, 'utf8');
  const stream = Buffer.concat(chunks.filter((c) => !c.tail).map((c) => c.text));
  return {
    kind,
    chunks,
    instructions: body.length,
    bytes: stream.length,
    durationMs: lastAt,
    stream,
    tail: Buffer.from(tail, 'utf8'),
  };
}

function parseArgs(argv) {
  const o = {
    file: process.env.REPLAY_FILE || 'ssh-live.guac',
    byProtocol: false,
    host: '127.0.0.1',
    port: 0,
    speed: 1,
    hold: false,
    log: null,
    readyPauseMs: 5,
    nopMs: 2000,
    maxSeconds: 600,
    fixtures: fixturesDir(),
    ignoreStdin: false,
    pushFile: null,
    ackUploads: null,
    pushClipboard: null,
  };
  const num = (v, name) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`${name}: not a number: ${v}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    switch (a) {
      case '--file': o.file = v(); break;
      case '--by-protocol': o.byProtocol = true; break;
      case '--host': o.host = v(); break;
      case '--port': o.port = num(v(), a); break;
      case '--speed': o.speed = num(v(), a); break;
      case '--hold': o.hold = true; break;
      case '--log': o.log = v(); break;
      case '--ready-pause-ms': o.readyPauseMs = num(v(), a); break;
      case '--nop-ms': o.nopMs = Math.max(100, num(v(), a)); break;
      case '--max-seconds': o.maxSeconds = num(v(), a); break;
      case '--fixtures': o.fixtures = v(); break;
      case '--ignore-stdin': o.ignoreStdin = true; break;
      case '--push-file': o.pushFile = v(); break;
      case '--push-clipboard': o.pushClipboard = v(); break;
      case '--ack-uploads': o.ackUploads = Math.max(0, num(v(), a)); break;
      case '-h': case '--help':
        process.stdout.write(fs.readFileSync(fileURLToPath(import.meta.url), 'utf8')
          .split('\n').filter((l) => l.startsWith('//')).map((l) => l.slice(3)).join('\n') + '\n');
        process.exit(0);
        break;
      default: throw new Error(`unknown option ${a}`);
    }
  }
  return o;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Starts the server; resolves to { server, port, close() }. */
export async function startReplay(opts) {
  const file = resolveFixture(opts.file, opts.fixtures);
  const streams = new Map(); // path -> loadStream()
  const streamOf = (f) => {
    if (!streams.has(f)) streams.set(f, loadStream(f, { hold: opts.hold }));
    return streams.get(f);
  };
  // With --by-protocol every file is loaded now, so that a missing one stops the start.
  const byProtocol = opts.byProtocol
    ? Object.fromEntries(Object.entries(PROTOCOL_STREAMS).map(([p, x]) => {
      const f = resolveFixture(x.file, opts.fixtures);
      streamOf(f);
      return [p, { ...x, path: f }];
    }))
    : null;
  const stream = byProtocol ? null : streamOf(file);
  const started = performance.now();
  const logFd = opts.log ? fs.openSync(opts.log, 'a') : null;
  const log = (ev) => {
    if (logFd === null) return;
    fs.writeSync(logFd, JSON.stringify({ t: Math.round(performance.now() - started), ...ev }) + '\n');
  };
  let nconn = 0;
  const sockets = new Set();

  const server = net.createServer((sock) => {
    const conn = ++nconn;
    sockets.add(sock);
    sock.setNoDelay(true);
    sock.setEncoding('utf8');
    log({ conn, event: 'open', remote: `${sock.remoteAddress}:${sock.remotePort}` });
    const parser = new GuacParser();
    let phase = 'select'; // select -> handshake -> stream
    let closed = false;
    let argNames = [];
    let nopTimer = null;
    let recvCount = 0;
    let playing = stream; // chosen at `select` with --by-protocol
    const ackWaiters = new Map(); // stream index -> resolve({ message, status })
    const waitAck = (index, ms = 10000) => new Promise((resolve) => {
      const timer = setTimeout(() => { ackWaiters.delete(index); resolve(null); }, ms);
      ackWaiters.set(index, (a) => { clearTimeout(timer); ackWaiters.delete(index); resolve(a); });
    });
    const pushFile = async (name) => {
      const index = '7';
      const content = pushFileContent(name);
      log({ conn, event: 'file-offer', stream: index, name, bytes: content.length });
      if (!(await write(encode('file', index, 'text/plain', name)))) return;
      let ack = await waitAck(index);
      log({ conn, event: 'file-ack', stage: 'offer', ...(ack || { timeout: true }) });
      if (!ack || ack.status !== '0') {
        log({ conn, event: 'file-refused', status: ack ? ack.status : null, message: ack ? ack.message : 'no ack' });
        return;
      }
      for (let at = 0; at < content.length; at += PUSH_BLOB_BYTES) {
        if (!(await write(encode('blob', index, content.subarray(at, at + PUSH_BLOB_BYTES).toString('base64'))))) return;
        ack = await waitAck(index);
        if (!ack || ack.status !== '0') {
          log({ conn, event: 'file-refused', at, status: ack ? ack.status : null, message: ack ? ack.message : 'no ack' });
          return;
        }
      }
      await write(encode('end', index));
      log({ conn, event: 'file-sent', bytes: content.length });
    };
    const close = (reason) => {
      if (closed) return;
      closed = true;
      if (nopTimer) clearInterval(nopTimer);
      log({ conn, event: 'close', reason, received: recvCount });
      sock.end();
      setTimeout(() => sock.destroy(), 500).unref();
    };
    const write = (data) => new Promise((resolve) => {
      if (closed || sock.destroyed) return resolve(false);
      if (sock.write(data)) return resolve(true);
      const done = () => { sock.off('drain', done); sock.off('close', done); resolve(!closed); };
      sock.on('drain', done);
      sock.on('close', done);
    });

    const play = async () => {
      const id = `$${crypto.randomUUID()}`;
      await write(encode('ready', id)); // alone: see quirk (a) in the header
      log({ conn, event: 'ready', id });
      await sleep(opts.readyPauseMs);
      const t0 = performance.now();
      let bytes = 0;
      for (const c of playing.chunks) {
        if (closed) return;
        if (opts.speed > 0) {
          const wait = t0 + c.at / opts.speed - performance.now();
          if (wait > 0) await sleep(wait);
        }
        if (!(await write(c.text))) return;
        bytes += c.text.length;
        if (c.tail) {
          log({ conn, event: 'played', bytes, ms: Math.round(performance.now() - t0), tail: 'disconnect' });
          close('stream ended with disconnect');
          return;
        }
      }
      log({ conn, event: 'played', bytes, ms: Math.round(performance.now() - t0), tail: opts.hold ? 'hold' : 'none' });
      if (opts.hold) {
        nopTimer = setInterval(() => { write(encode('nop')); }, opts.nopMs);
        if (opts.pushClipboard !== null) {
          const index = '8';
          await write(encode('clipboard', index, 'text/plain') + encode('blob', index, Buffer.from(opts.pushClipboard, 'utf8').toString('base64')) + encode('end', index));
          log({ conn, event: 'clipboard-sent', bytes: Buffer.byteLength(opts.pushClipboard) });
        }
        if (opts.pushFile) await pushFile(opts.pushFile);
      } else {
        close('stream ended');
      }
    };

    sock.on('data', (text) => {
      let list;
      try {
        list = parser.push(text);
      } catch (e) {
        log({ conn, event: 'error', message: String(e.message || e) });
        close('protocol error');
        return;
      }
      for (const ins of list) {
        if (closed) return;
        if (phase === 'stream') {
          recvCount++;
          const args = ins.args.map((a) => (a.length > 256 ? `${a.slice(0, 256)}...(${a.length})` : a));
          // A blob's payload is cut in the log: its decoded size and sha256 say what came.
          const blob = ins.opcode === 'blob' && ins.args.length >= 2 ? Buffer.from(ins.args[1], 'base64') : null;
          log({ conn, event: 'recv', opcode: ins.opcode, args, ...(blob ? { bytes: blob.length, sha256: crypto.createHash('sha256').update(blob).digest('hex') } : {}) });
          if (ins.opcode === 'ack' && ackWaiters.has(ins.args[0])) ackWaiters.get(ins.args[0])({ message: ins.args[1], status: ins.args[2] });
          if (ins.opcode === 'disconnect') close('client disconnect');
          if (opts.ackUploads !== null && (ins.opcode === 'file' || ins.opcode === 'blob') && ins.args.length >= 1) {
            const ack = () => write(encode('ack', ins.args[0], 'OK', '0'));
            if (ins.opcode === 'file' || opts.ackUploads === 0) ack();
            else setTimeout(ack, opts.ackUploads);
          }
          continue;
        }
        if (ins.opcode === 'disconnect') {
          log({ conn, event: 'recv', opcode: 'disconnect', args: [], phase });
          close('client disconnect during handshake');
          return;
        }
        if (phase === 'select') {
          if (ins.opcode !== 'select' || ins.args.length < 1) {
            log({ conn, event: 'error', message: `expected select, got ${ins.opcode}` });
            close('protocol error');
            return;
          }
          const protocol = ins.args[0];
          let played = { file: path.basename(file) };
          if (byProtocol) {
            const entry = Object.hasOwn(byProtocol, protocol) ? byProtocol[protocol] : null;
            if (!entry) {
              log({ conn, event: 'select', protocol, refused: 'no recording for this protocol' });
              write(encode('error', `The replay guacd has no recording for protocol "${protocol.slice(0, 32)}" (it plays ${Object.keys(byProtocol).join(', ')})`, '256'));
              close('unsupported protocol');
              return;
            }
            playing = streamOf(entry.path);
            played = { file: entry.file, ...(entry.standIn ? { standIn: entry.standIn } : {}) };
          }
          const args = argsFor(protocol, opts.fixtures);
          argNames = args.slice(1);
          log({ conn, event: 'select', protocol, args: argNames.length, names: argNames, ...played });
          write(encode('args', ...args));
          phase = 'handshake';
        } else if (ins.opcode === 'connect') {
          const [version, ...values] = ins.args;
          const params = {};
          argNames.forEach((n, k) => { params[n] = logValue(n, values[k] ?? ''); });
          log({ conn, event: 'connect', version, values: values.length, expected: argNames.length, params });
          phase = 'stream';
          play().catch((e) => { log({ conn, event: 'error', message: String(e) }); close('error'); });
        } else {
          log({ conn, event: 'handshake', opcode: ins.opcode, args: ins.args });
        }
      }
    });
    sock.on('end', () => close('eof'));
    sock.on('error', (e) => { log({ conn, event: 'error', message: e.code || String(e) }); close('socket error'); });
    sock.on('close', () => { sockets.delete(sock); close('socket closed'); });
  });

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, resolve);
  });
  const port = server.address().port;
  const close = () => {
    for (const s of sockets) s.destroy();
    server.close();
    if (logFd !== null) {
      try { fs.closeSync(logFd); } catch { /* closed */ }
    }
  };
  return { server, port, close, stream, file, byProtocol, streamOf };
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`replay: ${e.message}\n`);
    process.exit(2);
  }
  const r = await startReplay(opts);
  const exit = (code) => { r.close(); process.exit(code); };
  setTimeout(() => exit(0), opts.maxSeconds * 1000).unref();
  process.on('SIGTERM', () => exit(0));
  process.on('SIGINT', () => exit(0));
  if (!opts.ignoreStdin) {
    process.stdin.on('end', () => exit(0));
    process.stdin.on('error', () => exit(0));
    process.stdin.resume();
  }
  const about = (st) => ({ kind: st.kind, instructions: st.instructions, bytes: st.bytes, durationMs: st.durationMs });
  process.stdout.write(JSON.stringify({
    ready: true,
    host: opts.host,
    port: r.port,
    hold: opts.hold,
    speed: opts.speed,
    ...(r.byProtocol
      ? {
        byProtocol: Object.fromEntries(Object.entries(r.byProtocol).map(([p, x]) => [p, {
          file: x.file, ...(x.standIn ? { standIn: x.standIn } : {}), ...about(r.streamOf(x.path)),
        }])),
      }
      : { file: path.basename(r.file), ...about(r.stream) }),
  }) + '\n');
  // keep the process alive while the server listens (max-seconds timer is unref'd)
  setInterval(() => {}, 1 << 30);
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().catch((e) => {
    process.stderr.write(`replay: ${e.stack || e}\n`);
    process.exit(1);
  });
}
