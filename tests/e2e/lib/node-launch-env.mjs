// What the Node launch tests share (tests/e2e/node-launch.test.mjs,
// tests/e2e/node-runner-example.test.mjs, benches/launch/node.mjs): why a
// launch from Node cannot run here, `npm start`'s server (tools/serve.mjs with
// its demo gateway) inside a network namespace, and Node processes started
// inside it (WebRTC does not pair over loopback; the namespace's veth pair
// carries it and nothing leaves the machine). The test process stays outside:
// it reaches the stand-in's log and switches through a short Node process in
// the namespace, and the replay guacd's log through the file system.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createNetns, netnsUnavailable } from './netns.mjs';
import { spawnLauncherServer } from './launch-env.mjs';
import { standinUnavailable } from './standin.mjs';
import { PROTOCOL_STREAMS, resolveFixture } from '../../replay/server.mjs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const BIN = path.join(ROOT, 'bin', 'pam-launch.mjs');

/** null when a headless launch from Node can run here, else the reason (a sentence). */
export function nodeLaunchUnavailable() {
  const js = path.join(ROOT, 'pkg', 'node', 'pam_launch_wasm.js');
  if (!fs.existsSync(js)) return 'pkg/node is missing (npm run build)';
  const dts = fs.readFileSync(path.join(ROOT, 'pkg', 'node', 'pam_launch_wasm.d.ts'), 'utf8');
  if (!/renderer\?:/.test(dts) || !/RTCPeerConnection\?:/.test(dts)) return 'pkg/node\'s launch() has no renderer/RTCPeerConnection options (npm run build)';
  try {
    createRequire(import.meta.url).resolve('node-datachannel/polyfill');
  } catch {
    return 'node-datachannel is not installed (npm run setup installs the dev dependencies)';
  }
  const missing = [...new Set(Object.values(PROTOCOL_STREAMS).map((x) => resolveFixture(x.file)))].filter((f) => !fs.existsSync(f));
  return standinUnavailable() || (missing.length ? `fixture ${missing.join(', ')} missing` : null) || netnsUnavailable();
}

/**
 * A network namespace with npm start's server in it. Returns { ns, url,
 * demoDir, output(), replayEvents(), signal(path, init), close() };
 * `env` adds to the server's environment.
 */
export async function startNodeLaunchEnv({ env = {}, maxSeconds = 600 } = {}) {
  const demoDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pam-node-launch-'));
  const ns = await createNetns({ maxSeconds });
  const serverEnv = {
    ...process.env,
    PORT: '0',
    PAM_DEMO_DIR: demoDir,
    PAM_REPLAY_SPEED: '0',
    // As launch.test.mjs: 50 ms after `ready` (quirk (a) of Keeper's library).
    PAM_REPLAY_READY_PAUSE_MS: process.env.PAM_REPLAY_READY_PAUSE_MS || '50',
    PAM_SERVE_MAX_SECONDS: String(maxSeconds - 20),
    ...env,
  };
  delete serverEnv.GUACD;
  delete serverEnv.REPLAY_FILE;
  for (const p of ['SSH', 'RDP', 'VNC', 'TELNET']) delete serverEnv[`${p}_TARGET`];
  let out = '';
  const { proc, ready } = spawnLauncherServer(ns, serverEnv, { onOutput: (t) => { out += t; } });
  const kill = () => { try { proc.kill('SIGKILL'); } catch { /* gone */ } };
  process.on('exit', kill);
  let url;
  try {
    url = await ready;
  } catch (e) {
    kill();
    ns.close();
    fs.rmSync(demoDir, { recursive: true, force: true });
    throw e;
  }
  const origin = url.replace(/\/$/, '');

  /** GET or POST signal/<name> on the server, from inside the namespace; its JSON. */
  function signal(name, init) {
    const script = `fetch(process.argv[1], JSON.parse(process.argv[2])).then((r) => r.text()).then((t) => process.stdout.write(t), (e) => { console.error(String(e)); process.exit(1); })`;
    const opts = { method: init ? 'POST' : 'GET', headers: { Origin: origin, 'Content-Type': 'application/json' }, ...(init ? { body: JSON.stringify(init) } : {}) };
    const r = ns.run(process.execPath, ['-e', script, `${url}signal/${name}`, JSON.stringify(opts)], { timeout: 15000 });
    if (r.status !== 0) throw new Error(`signal/${name}: ${r.stderr || r.error}`);
    return JSON.parse(r.stdout);
  }

  return {
    ns,
    url,
    origin,
    demoDir,
    output: () => out,
    signal,
    standinLog: () => signal('_log'),
    behaviour: (set) => signal('_behaviour', set),
    replayEvents() {
      const f = path.join(demoDir, 'replay-guacd.jsonl');
      return fs.existsSync(f) ? fs.readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];
    },
    async close() {
      if (proc.exitCode === null) {
        const gone = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
      }
      kill();
      ns.close();
      fs.rmSync(demoDir, { recursive: true, force: true });
    },
  };
}

/**
 * Runs a Node process inside the namespace; resolves to { code, signal,
 * stdout, stderr, lines (stdout's JSON lines parsed) } when it exits, or
 * rejects after `timeoutMs` (the process killed). `onStdout(text, proc)` sees
 * output as it comes.
 */
export function runNode(ns, args, { env = process.env, cwd = ROOT, timeoutMs = 60000, onStdout = () => {} } = {}) {
  const proc = ns.spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d) => { stdout += d; onStdout(String(d), proc); });
  proc.stderr.on('data', (d) => { stderr += d; });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`${args.slice(0, 3).join(' ')} did not end within ${timeoutMs} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, timeoutMs);
    proc.on('exit', (code, sig) => {
      clearTimeout(timer);
      const lines = [];
      for (const l of stdout.split('\n')) {
        if (!l.startsWith('{')) continue;
        try { lines.push(JSON.parse(l)); } catch { /* not a JSON line */ }
      }
      resolve({ code, signal: sig, stdout, stderr, lines, proc });
    });
  });
}

/** The same conversation id in either base64 alphabet, padded or not. */
export const sameConversation = (a, b) => {
  const n = (s) => String(s).replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, '');
  return n(a) === n(b);
};
