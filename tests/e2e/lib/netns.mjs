// A private network namespace for WebRTC end-to-end tests.
//
// Neither Chromium nor Keeper's WebRTC library gathers loopback candidates, so
// the ICE pair needs a non-loopback interface, and test traffic must never
// leave the machine. createNetns() makes a fresh network namespace (`unshare -n`
// as root, `unshare -rn` for a normal user where user namespaces are allowed)
// holding `lo` and a veth pair v0 10.213.N.1/24 <-> v1 10.213.N.2/24 (and a
// default route into it), kept
// alive by a small holder process. Commands are then started inside it with
// nsenter: the stand-in, the replay guacd and Chromium (through a wrapper
// script used as playwright's executablePath; playwright talks to Chromium over
// pipes, which cross namespaces). The test process itself stays outside and
// reaches them through pipes and files only.
//
// Everything is bounded: the holder exits after maxSeconds or when this
// process goes away (its stdin closes); the namespace disappears with the last
// process in it.
//
//   const ns = await createNetns({ maxSeconds: 300 });   // throws NetnsUnavailable
//   const child = ns.spawn('node', ['server.mjs'], { stdio: 'pipe' });
//   const chromium = ns.wrapper(CHROMIUM);                 // path of a script (CHROMIUM: ./chromium.mjs)
//   ...; ns.close();
//
// The namespace cannot reach the host's loopback (nor anything else outside
// it). A service of the host that a test needs inside, such as a real guacd
// on 127.0.0.1:4822, is carried in by ./bridge.mjs through a Unix socket
// (the filesystem is shared): startBridge({ ns, target: '127.0.0.1:4822' }).
//
// netnsUnavailable() returns null when namespaces can be made here, or the
// reason (a sentence) when they cannot: tests then skip by name with it.
// PAM_NETNS=off forces that path (to check the skips).

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export class NetnsUnavailable extends Error {}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

function which(cmd) {
  for (const dir of (process.env.PATH || '/usr/sbin:/usr/bin:/sbin:/bin').split(':').concat(['/usr/sbin', '/sbin'])) {
    const p = path.join(dir, cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch { /* next */ }
  }
  return null;
}

function tools() {
  return { unshare: which('unshare'), nsenter: which('nsenter'), ip: which('ip') };
}

const SETUP = (ip, subnet) => [
  'set -e',
  `${ip} link set lo up`,
  `${ip} link add v0 type veth peer name v1`,
  `${ip} addr add ${subnet}.1/24 dev v0`,
  `${ip} addr add ${subnet}.2/24 dev v1`,
  `${ip} link set v0 up`,
  `${ip} link set v1 up`,
  // A default route into the pair (nothing beyond it: the namespace has no
  // link to the host), so that Chromium gathers host candidates as it does on
  // a normal machine; without one it offers none and the pair forms only
  // through peer-reflexive candidates.
  `${ip} route add default dev v0`,
].join('\n');

let probed;
/** null when a namespace with a veth pair can be made here, else the reason. */
export function netnsUnavailable() {
  if (probed !== undefined) return probed;
  probed = (() => {
    if (process.env.PAM_NETNS === 'off') return 'network namespaces disabled by PAM_NETNS=off';
    if (process.platform !== 'linux') return `network namespaces need Linux (this is ${process.platform})`;
    const t = tools();
    const missing = Object.entries(t).filter(([, p]) => !p).map(([n]) => n);
    if (missing.length) return `missing ${missing.join(', ')} (util-linux, iproute2)`;
    const flags = isRoot() ? ['-n'] : ['-r', '-n'];
    const r = spawnSync(t.unshare, [...flags, 'sh', '-c', `${SETUP(t.ip, '10.213.250')}\n${t.ip} -br addr show v0`],
      { encoding: 'utf8', timeout: 10000 });
    if (r.error) return `unshare ${flags.join(' ')} failed: ${r.error.message}`;
    if (r.status !== 0) {
      const err = (r.stderr || '').trim().split('\n').slice(-2).join(' ');
      const hint = isRoot() ? '' : ' (are unprivileged user namespaces disabled? kernel.unprivileged_userns_clone / user.max_user_namespaces, or a container seccomp profile)';
      return `cannot make a network namespace with a veth pair: unshare ${flags.join(' ')}: ${err || `exit ${r.status}`}${hint}`;
    }
    if (!/10\.213\.250\.1\/24/.test(r.stdout)) return `veth set-up gave no address: ${r.stdout.trim()}`;
    return null;
  })();
  return probed;
}

/**
 * Makes the namespace. Options: subnet ('10.213.N', default a random N),
 * maxSeconds (holder lifetime, default 300).
 */
export async function createNetns({ subnet, maxSeconds = 300 } = {}) {
  const why = netnsUnavailable();
  if (why) throw new NetnsUnavailable(why);
  const t = tools();
  subnet = subnet || `10.213.${Math.floor(Math.random() * 200) + 1}`;
  const flags = isRoot() ? ['-n'] : ['-r', '-n'];
  // The holder: set up the links, report, then wait for stdin EOF (our exit)
  // or maxSeconds, whichever comes first.
  const script = `${SETUP(t.ip, subnet)}\necho ready\nexec timeout ${Math.ceil(maxSeconds)} cat >/dev/null`;
  const holder = spawn(t.unshare, [...flags, 'sh', '-c', script], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  holder.stderr.on('data', (d) => { stderr += d; });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new NetnsUnavailable('namespace set-up timed out')), 10000);
    holder.stdout.on('data', (d) => {
      if (String(d).includes('ready')) { clearTimeout(timer); resolve(); }
    });
    holder.on('exit', (code) => {
      clearTimeout(timer);
      reject(new NetnsUnavailable(`namespace holder exited (${code}): ${stderr.trim()}`));
    });
  });
  holder.stdout.removeAllListeners('data');
  holder.removeAllListeners('exit');
  const pid = holder.pid;
  const enter = isRoot()
    ? [t.nsenter, [`--net=/proc/${pid}/ns/net`, '--']]
    : [t.nsenter, ['--target', String(pid), '--user', '--net', '--preserve-credentials', '--']];
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pam-netns-'));
  const children = new Set();

  const ns = {
    pid,
    subnet,
    addresses: [`${subnet}.1`, `${subnet}.2`],
    /** [command, args] that run `cmd args` inside the namespace. */
    wrap(cmd, args = []) {
      return [enter[0], [...enter[1], cmd, ...args]];
    },
    /** child_process.spawn inside the namespace. */
    spawn(cmd, args = [], opts = {}) {
      const [c, a] = ns.wrap(cmd, args);
      const child = spawn(c, a, opts);
      children.add(child);
      child.on('exit', () => children.delete(child));
      return child;
    },
    /** Synchronous run inside the namespace (short commands). */
    run(cmd, args = [], opts = {}) {
      const [c, a] = ns.wrap(cmd, args);
      return spawnSync(c, a, { encoding: 'utf8', timeout: 10000, ...opts });
    },
    /** An executable script that runs `target` inside the namespace with its arguments. */
    wrapper(target) {
      const file = path.join(tmp, `${path.basename(target)}-in-netns.sh`);
      const q = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;
      fs.writeFileSync(file, `#!/bin/sh\nexec ${[enter[0], ...enter[1], target].map(q).join(' ')} "$@"\n`, { mode: 0o755 });
      return file;
    },
    /** Ends what was spawned through ns.spawn (by pid) and the holder. */
    close() {
      for (const c of children) {
        try { c.kill('SIGTERM'); } catch { /* gone */ }
      }
      try { holder.stdin.end(); } catch { /* gone */ }
      setTimeout(() => {
        for (const c of children) {
          try { c.kill('SIGKILL'); } catch { /* gone */ }
        }
        try { holder.kill('SIGKILL'); } catch { /* gone */ }
      }, 2000).unref();
      fs.rmSync(tmp, { recursive: true, force: true });
    },
  };
  holder.unref();
  for (const st of [holder.stdin, holder.stdout, holder.stderr]) st.unref?.();
  holder.stdin.on('error', () => {});
  return ns;
}
