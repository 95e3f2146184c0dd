// A TCP service of the host (e.g. a real guacd on the host's 127.0.0.1:4822)
// made reachable from inside a test's network namespace (./netns.mjs), whose
// only links are lo and a veth pair: the host's loopback is out of its reach,
// but the filesystem is shared. Two small Node processes:
//
//   inside the namespace   127.0.0.1:<port>  --TCP-->  Unix socket (temp dir)
//   on the host            Unix socket       --TCP-->  target (host:port, host's loopback)
//
// Each accepted stream is piped to one new connection of the next hop; bytes
// are never looked at or logged (guacd's `connect` carries passwords). Both
// processes are bounded: they exit when their stdin closes (the test process
// went away), after maxSeconds, and they accept at most maxConnections
// streams (later ones are closed at once, and logged). Traffic never leaves
// the machine: the host side only connects to the target it was given.
//
//   const bridge = await startBridge({ ns, target: '127.0.0.1:4822', maxSeconds: 300 });
//   bridge.address      // '127.0.0.1:<port>', valid inside the namespace
//   bridge.connections()  // { opened, closed, refused } as seen on the host side
//   await bridge.stop();
//
// Also a script (what startBridge runs, twice):
//   node bridge.mjs --listen unix:/path|tcp:HOST:PORT --connect tcp:HOST:PORT|unix:/path
//                   [--max-seconds N] [--max-connections N] [--name NAME]
// prints {"ready":true,"listen":...,"port":N} on stdout, one line per
// connection event on stderr.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const SELF = fileURLToPath(import.meta.url);

function parseEnd(text, what) {
  const s = String(text || '');
  if (s.startsWith('unix:') && s.length > 5) return { path: s.slice(5) };
  const m = /^tcp:\[?([^\]]+?)\]?:(\d{1,5})$/.exec(s);
  if (m && Number(m[2]) <= 65535) return { host: m[1], port: Number(m[2]) };
  throw new Error(`${what} must be unix:/path or tcp:host:port, got "${s}"`);
}

function hostPort(text) {
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(String(text || '').trim());
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) throw new Error(`target must be host:port, got "${text}"`);
  return { host: m[1], port: Number(m[2]) };
}

// ------------------------------------------------------------------ the relay process

function runRelay(argv) {
  const opt = { maxSeconds: 300, maxConnections: 32, name: 'bridge' };
  for (let i = 0; i < argv.length; i += 2) {
    const [k, v] = [argv[i], argv[i + 1]];
    if (k === '--listen') opt.listen = parseEnd(v, '--listen');
    else if (k === '--connect') opt.connect = parseEnd(v, '--connect');
    else if (k === '--max-seconds') opt.maxSeconds = Number(v);
    else if (k === '--max-connections') opt.maxConnections = Number(v);
    else if (k === '--name') opt.name = String(v);
    else throw new Error(`unknown argument ${k}`);
  }
  if (!opt.listen || !opt.connect) throw new Error('--listen and --connect are required');
  const log = (msg) => process.stderr.write(`${opt.name}: ${msg}\n`);
  const sockets = new Set();
  let accepted = 0;
  let stopping = false;

  const server = net.createServer((client) => {
    if (accepted >= opt.maxConnections) {
      log(`refused a connection: the limit of ${opt.maxConnections} is reached`);
      client.destroy();
      return;
    }
    const n = ++accepted;
    const upstream = net.connect(opt.connect);
    sockets.add(client);
    sockets.add(upstream);
    const bytes = { in: 0, out: 0 };
    client.on('data', (d) => { bytes.in += d.length; });
    upstream.on('data', (d) => { bytes.out += d.length; });
    let done = false;
    const end = (why) => {
      if (done) return;
      done = true;
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
      log(`connection ${n} closed (${why}; ${bytes.in} bytes in, ${bytes.out} bytes out)`);
    };
    const connectTimer = setTimeout(() => end('connect timeout'), 10000);
    upstream.once('connect', () => {
      clearTimeout(connectTimer);
      log(`connection ${n} opened`);
    });
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('error', (e) => end(`client ${e.code || e.message}`));
    upstream.on('error', (e) => { clearTimeout(connectTimer); end(`upstream ${e.code || e.message}`); });
    client.on('close', () => end('client closed'));
    upstream.on('close', () => { clearTimeout(connectTimer); end('upstream closed'); });
  });

  const stop = (why) => {
    if (stopping) return;
    stopping = true;
    log(`stopping (${why})`);
    server.close();
    for (const s of sockets) s.destroy();
    if (opt.listen.path) fs.rmSync(opt.listen.path, { force: true });
    setTimeout(() => process.exit(0), 50).unref();
  };
  process.stdin.on('end', () => stop('stdin closed'));
  process.stdin.on('error', () => stop('stdin error'));
  process.stdin.resume();
  setTimeout(() => stop(`${opt.maxSeconds} s`), Math.min(opt.maxSeconds * 1000, 2 ** 31 - 1)).unref();
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.once(sig, () => stop(sig));

  server.on('error', (e) => {
    log(`cannot listen: ${e.message}`);
    process.exit(1);
  });
  if (opt.listen.path) {
    fs.rmSync(opt.listen.path, { force: true });
    server.listen(opt.listen.path, () => {
      fs.chmodSync(opt.listen.path, 0o600);
      process.stdout.write(`${JSON.stringify({ ready: true, listen: `unix:${opt.listen.path}` })}\n`);
    });
  } else {
    server.listen(opt.listen.port, opt.listen.host, () => {
      const { port } = server.address();
      process.stdout.write(`${JSON.stringify({ ready: true, listen: `tcp:${opt.listen.host}:${port}`, port })}\n`);
    });
  }
}

// ------------------------------------------------------------------ the module side

function startRelay(spawnFn, args, name, onLine) {
  const child = spawnFn(process.execPath, [SELF, ...args, '--name', name], { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin.on('error', () => {});
  const lines = [];
  readline.createInterface({ input: child.stderr }).on('line', (l) => {
    lines.push(l);
    onLine(l);
  });
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`${name} did not start: ${lines.join('\n')}`)); }, 10000);
    readline.createInterface({ input: child.stdout }).once('line', (l) => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(l));
      } catch {
        reject(new Error(`${name}: unexpected output ${l}`));
      }
    });
    child.once('exit', (code, sig) => { clearTimeout(timer); reject(new Error(`${name} exited (${code ?? sig}): ${lines.join('\n')}`)); });
  });
  const exited = new Promise((r) => child.once('exit', r));
  return { child, ready, lines, exited };
}

/**
 * Starts the two relays. ns: a namespace from createNetns(); target:
 * host:port on the host (its loopback). dir: where the Unix socket goes
 * (default a new temporary directory, removed by stop()). onLine: each
 * relay's log line (default: kept only, see lines()).
 */
export async function startBridge({ ns, target, maxSeconds = 300, maxConnections = 32, dir, onLine = () => {} }) {
  const t = hostPort(target);
  const own = !dir;
  const work = dir || fs.mkdtempSync(path.join(os.tmpdir(), 'pam-bridge-'));
  const sock = path.join(work, `bridge-${process.pid}-${Date.now().toString(36)}.sock`);
  const common = ['--max-seconds', String(maxSeconds), '--max-connections', String(maxConnections)];
  const relays = [];
  const stop = async () => {
    await Promise.all(relays.map(async (r) => {
      if (r.child.exitCode !== null || r.child.signalCode) return;
      try { r.child.stdin.end(); } catch { /* gone */ }
      const timer = setTimeout(() => { try { r.child.kill('SIGKILL'); } catch { /* gone */ } }, 2000);
      await r.exited;
      clearTimeout(timer);
    }));
    fs.rmSync(sock, { force: true });
    if (own) fs.rmSync(work, { recursive: true, force: true });
  };
  try {
    const host = startRelay(spawn, ['--listen', `unix:${sock}`, '--connect', `tcp:${t.host}:${t.port}`, ...common], 'bridge(host)', onLine);
    relays.push(host);
    await host.ready;
    const inside = startRelay((...a) => ns.spawn(...a), ['--listen', 'tcp:127.0.0.1:0', '--connect', `unix:${sock}`, ...common], 'bridge(netns)', onLine);
    relays.push(inside);
    const info = await inside.ready;
    const count = (re) => host.lines.filter((l) => re.test(l)).length;
    return {
      address: `127.0.0.1:${info.port}`,
      port: info.port,
      socket: sock,
      pids: relays.map((r) => r.child.pid),
      /** What the host side saw: streams opened to the target, closed, refused. */
      connections: () => ({ opened: count(/connection \d+ opened/), closed: count(/connection \d+ closed/), refused: count(/refused a connection/) }),
      lines: () => relays.flatMap((r) => r.lines),
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === SELF) {
  try {
    runRelay(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`bridge: ${e.message}\n`);
    process.exit(2);
  }
}
