#!/usr/bin/env node
// The local demo gateway that `npm start` embeds (tools/serve.mjs proxies
// /signal/* to it, same origin): the Keeper Gateway stand-in
// (tests/gateway/standin.py, Keeper's own WebRTC library from .venv) in front
// of a guacd, which is the replay guacd (tests/replay/server.mjs, hold mode,
// the recording of the launch's protocol in tests/fixtures/guac: rdp-live,
// vnc-live or ssh-live.guac, and for Telnet, which has no recording, SSH's
// terminal stream) unless GUACD=host:port names a real one.
//
// The stand-in's records are the launcher's example scenarios
// (www/examples/scenario*.json), each with its public demo
// trafficEncryptionSeed (`demo.trafficEncryptionSeed`, demo only). The three
// captured launches are one resource (one record UID) under three DAG
// states: scenarios 1 and 3 create an ephemeral account, scenario 2 does not.
// The stand-in holds one DAG state per record, so a resource whose scenarios
// disagree is configured twice: under its own UID (the ephemeral state) and
// under an alias (`<uid>#no-ephemeral`) that launches without an ephemeral
// account are routed to (transformSend rewrites inputs.recordUid on the way
// in; nothing else is touched, and the browser never sees it).
//
// Connection parameters: what a record's pamSettings.connection holds besides
// the protocol and the user records (security, ignoreCert, colorDepth, ...)
// goes to guacd as the gateway gives it, under guacd's own parameter names
// (camelCase to kebab-case: ignoreCert -> ignore-cert), together with the
// target's hostname and port and the account; Keeper's library sends guacd
// `select,<protocol>` and `connect` with one value per name of guacd's `args`.
//
// Accounts: the ephemeral account the stand-in "provisions" and the linked
// users get <PROTOCOL>_USER / <PROTOCOL>_PASSWORD (RDP_USER, VNC_PASSWORD,
// TELNET_USER, ...; SSH_USER / SSH_PASSWORD also stand for every protocol
// without its own) when set, for a real guacd and server; otherwise a demo
// user name and a random password per run. The config file that holds them
// is written 0600 and deleted as soon as the stand-in has read it; no
// password is printed.
//
// Environment: GUACD=host:port (a real guacd), <PROTOCOL>_TARGET=host:port
// (SSH_TARGET, RDP_TARGET, ...: the target guacd connects to for records of
// that protocol; default the record's pamHostname), the accounts above,
// REPLAY_FILE (one recording for every protocol, in place of the one per
// protocol), PAM_REPLAY_SPEED (1 =
// recorded pace, 0 = as fast as possible), PAM_REPLAY_READY_PAUSE_MS (the
// replay's pause after `ready`, default 5), PAM_REPLAY_PUSH_FILE (a file
// name: the replay offers the client that file once its stream has played, as
// a download from the remote side), PAM_REPLAY_ACK_UPLOADS (ms: the replay
// acks uploads, each blob that long after it came), PAM_REPLAY_PUSH_CLIPBOARD
// (text the replay puts on the client's clipboard after its stream), PAM_DEMO_DIR (where the replay
// guacd's log goes; default a temporary directory removed at exit),
// PAM_STANDIN_PYTHON (another interpreter with the wheel),
// PAM_STANDIN_LIB_LOG_LEVEL (Keeper's library's log level, default ERROR).
//
//   node tools/demo-gateway.mjs      runs it alone and prints where it listens
//
// As a module: startDemoGateway(options) -> { url, standin, replay, guacd,
// records, transformSend, lines, log(), setBehaviour(), stop() };
// demoGatewayUnavailable() -> null or the reason it cannot run here.

import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { REPLAY, STANDIN, VENV_PYTHON, standinUnavailable } from '../tests/e2e/lib/standin.mjs';
import { PROTOCOL_STREAMS, resolveFixture } from '../tests/replay/server.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const EXAMPLES_DIR = path.join(ROOT, 'www', 'examples');
export const ALIAS_SUFFIX = '#no-ephemeral';
// Longest a timer may be (setTimeout's limit is 2^31-1 ms); the demo runs until stopped.
const RUN_SECONDS = 7 * 24 * 3600;

// ------------------------------------------------------------------ scenarios -> stand-in config

function field(record, type) {
  for (const list of [record?.fields, record?.custom]) {
    const f = (list || []).find((x) => x && x.type === type);
    if (f) return Array.isArray(f.value) ? f.value[0] : f.value;
  }
  return undefined;
}

const createsEphemeral = (dag) => Boolean(dag && (dag.createEphemeral === true || dag.create_ephemeral === true));

/** The example scenarios (www/examples/scenario*.json), in order. */
export function loadScenarios(dir = EXAMPLES_DIR) {
  return fs.readdirSync(dir)
    .filter((f) => /^scenario\d+\.json$/.test(f))
    .sort((a, b) => Number(a.match(/\d+/)[0]) - Number(b.match(/\d+/)[0]))
    .map((f) => ({ file: f, n: Number(f.match(/\d+/)[0]), ...JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) }));
}

function parseHostPort(text, what) {
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(String(text).trim());
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) throw new Error(`${what} must be host:port, got "${text}"`);
  return { host: m[1], port: Number(m[2]) };
}

// pamSettings.connection keys that are not guacd parameters.
const NOT_GUACD_PARAMS = new Set(['protocol', 'userRecords', 'port', 'allowSupplyUser', 'allowSupplyHost',
  'allowSupplyUserSettings', 'launchCredentials']);
const SECRET_KEY = /password|passphrase|private-?key|secret|token|totp/i;

/**
 * The guacd parameters of a record's pamSettings.connection, as the gateway
 * gives them to guacd: guacd's names (camelCase -> kebab-case), string
 * values (true -> "true"). Nothing secret-looking, nothing that is not a
 * scalar; an empty object for none.
 */
export function guacdParamsOf(connection) {
  const out = {};
  for (const [k, v] of Object.entries(connection && typeof connection === 'object' ? connection : {})) {
    if (NOT_GUACD_PARAMS.has(k) || SECRET_KEY.test(k)) continue;
    if (!['string', 'number', 'boolean'].includes(typeof v)) continue;
    out[k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`).replace(/_/g, '-')] = String(v);
  }
  return out;
}

/**
 * The stand-in config for the scenarios. account: { username, password } for
 * the ephemeral account and the linked users, or a function protocol ->
 * account; target: { host, port } or null (then each record's pamHostname),
 * or a function protocol -> that. Returns { config, aliases (uid -> alias),
 * records (what to print: uid, scenarios, protocol, profile, guacd
 * parameters), skipped }.
 */
export function buildDemoConfig({ scenarios, guacd, account, target = null }) {
  const accountFor = typeof account === 'function' ? account : () => account;
  const targetFor = typeof target === 'function' ? target : () => target;
  const byUid = new Map();
  const skipped = [];
  for (const s of scenarios) {
    if (!s.demo?.trafficEncryptionSeed) {
      skipped.push(`scenario ${s.n}: no demo.trafficEncryptionSeed`);
      continue;
    }
    if (!byUid.has(s.recordUid)) byUid.set(s.recordUid, []);
    byUid.get(s.recordUid).push(s);
  }
  const records = {};
  const aliases = new Map();
  const summary = [];
  for (const [uid, list] of byUid) {
    const entry = (group) => {
      const first = group[0];
      const settings = field(first.record, 'pamSettings') || {};
      const host = field(first.record, 'pamHostname') || {};
      const protocol = settings.connection?.protocol || 'ssh';
      const acct = accountFor(protocol);
      const tgt = targetFor(protocol);
      const linkedUsers = {};
      for (const s of group) {
        const linked = s.linkedUserRecordUid || settings.connection?.userRecords?.[0];
        if (linked) linkedUsers[linked] = { ...acct };
      }
      return {
        trafficEncryptionSeed: first.demo.trafficEncryptionSeed,
        protocol,
        target: {
          hostname: tgt ? tgt.host : (host.hostName || '127.0.0.1'),
          port: String(tgt ? tgt.port : (host.port || '22')),
        },
        dagJitSettings: first.dag || null,
        ephemeralAccount: { ...acct },
        guacdParams: guacdParamsOf(settings.connection),
        linkedUsers,
      };
    };
    const eph = list.filter((s) => createsEphemeral(s.dag));
    const std = list.filter((s) => !createsEphemeral(s.dag));
    const seeds = new Set(list.map((s) => s.demo.trafficEncryptionSeed));
    if (seeds.size > 1) skipped.push(`record ${uid}: its scenarios disagree on the demo seed; using scenario ${list[0].n}'s`);
    const primary = eph.length ? eph : std;
    records[uid] = entry(primary);
    summary.push({ uid, scenarios: primary.map((s) => s.n), protocol: records[uid].protocol, ephemeral: eph.length > 0, guacdParams: records[uid].guacdParams });
    if (eph.length && std.length) {
      const alias = `${uid}${ALIAS_SUFFIX}`;
      records[alias] = entry(std);
      aliases.set(uid, alias);
      summary.push({ uid: alias, scenarios: std.map((s) => s.n), protocol: records[alias].protocol, ephemeral: false, aliasOf: uid, guacdParams: records[alias].guacdParams });
    }
  }
  return {
    config: { guacd, ephemeralAccount: { ...accountFor('ssh') }, records },
    aliases,
    records: summary,
    skipped,
  };
}

/**
 * The request rewrite for the proxy: a launch of a resource with an alias
 * that does not ask for an ephemeral account goes to the alias (its DAG
 * state without createEphemeral). Returns the body to forward.
 */
export function aliasRewriter(aliases) {
  const conversations = new Map(); // conversationId -> alias, for the later kinds
  return (body) => {
    const inputs = body?.action?.inputs;
    if (!inputs || typeof inputs !== 'object') return body;
    const cid = body.action.conversationId;
    let alias = conversations.get(cid);
    if (!alias && inputs.kind === 'start' && aliases.has(inputs.recordUid) && inputs.credentialType !== 'ephemeral') {
      alias = aliases.get(inputs.recordUid);
      conversations.set(cid, alias);
      if (conversations.size > 1000) conversations.delete(conversations.keys().next().value);
    }
    if (!alias || inputs.recordUid === alias) return body;
    return { ...body, action: { ...body.action, inputs: { ...inputs, recordUid: alias } } };
  };
}

// ------------------------------------------------------------------ checks

// REPLAY_FILE: one recording for every protocol; otherwise the replay guacd
// plays the recording of each launch's protocol (PROTOCOL_STREAMS).
function replayFiles() {
  return process.env.REPLAY_FILE ? [process.env.REPLAY_FILE] : [...new Set(Object.values(PROTOCOL_STREAMS).map((x) => x.file))];
}

/** null when the demo gateway can run here, else why not (a sentence). */
export function demoGatewayUnavailable({ guacd = process.env.GUACD } = {}) {
  const why = standinUnavailable();
  if (why) return why;
  if (guacd) {
    try {
      parseHostPort(guacd, 'GUACD');
    } catch (e) {
      return e.message;
    }
  } else {
    const missing = replayFiles().map((f) => resolveFixture(f)).filter((f) => !fs.existsSync(f));
    if (missing.length) return `the replay guacd's recording${missing.length > 1 ? 's' : ''} ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} missing (set GUACD=host:port for a real guacd)`;
  }
  return null;
}

/** The machine's non-loopback addresses: where the ICE pair can form. */
export function iceAddresses() {
  return Object.entries(os.networkInterfaces())
    .flatMap(([name, list]) => (list || []).filter((a) => !a.internal && !/^fe80:/i.test(a.address)).map((a) => `${a.address} (${name})`));
}

// ------------------------------------------------------------------ processes

// A child that prints one JSON ready line on stdout (then JSON answers to
// stdin commands, in order) and log lines on stderr. It exits when its stdin
// closes, so it cannot outlive this process.
function startChild(name, cmd, args, { env, onLine, readyTimeoutMs = 30000 }) {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env });
  child.stdin.on('error', () => {});
  const pending = [];
  let tail = '';
  const errLines = readline.createInterface({ input: child.stderr });
  errLines.on('line', (line) => {
    tail = `${tail}${line}\n`.slice(-4000);
    onLine(name, line);
  });
  const outLines = readline.createInterface({ input: child.stdout });
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not start within ${readyTimeoutMs / 1000} s${tail ? `:\n${tail}` : ''}`));
    }, readyTimeoutMs);
    let seen = false;
    outLines.on('line', (line) => {
      let obj = null;
      try {
        obj = JSON.parse(line);
      } catch {
        onLine(name, line);
        return;
      }
      if (!seen && obj && obj.ready === true) {
        seen = true;
        clearTimeout(timer);
        resolve(obj);
      } else if (pending.length) {
        pending.shift()(obj);
      }
    });
    child.once('error', (e) => { clearTimeout(timer); reject(new Error(`${name}: ${e.message}`)); });
    child.once('exit', (code, sig) => {
      clearTimeout(timer);
      for (const p of pending.splice(0)) p(null);
      if (!seen) reject(new Error(`${name} exited before it was ready (${code ?? sig})${tail ? `:\n${tail}` : ''}`));
    });
  });
  const exited = new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode) resolve();
    else child.once('exit', () => resolve());
  });
  return {
    child,
    ready,
    exited,
    command(obj) {
      if (child.exitCode !== null || child.signalCode) return Promise.resolve(null);
      const p = new Promise((resolve) => pending.push(resolve));
      child.stdin.write(`${JSON.stringify(obj)}\n`);
      return p;
    },
    stop(graceMs = 3000) {
      if (child.exitCode === null && !child.signalCode) {
        try { child.stdin.end(); } catch { /* gone */ }
        try { child.kill('SIGTERM'); } catch { /* gone */ }
        const t = setTimeout(() => { try { child.kill('SIGKILL'); } catch { /* gone */ } }, graceMs);
        t.unref();
        exited.then(() => clearTimeout(t));
      }
      return exited;
    },
  };
}

const defaultOnLine = (name, line) => process.stderr.write(`  ${name} | ${line}\n`);

/**
 * Starts the replay guacd (unless guacd is given) and the stand-in.
 * Options: guacd (host:port of a real guacd; default $GUACD), dir (log
 * directory; default $PAM_DEMO_DIR or a temporary one), onLine(name, line)
 * for the children's log lines, replaySpeed, standinArgs, scenarios.
 * Throws with the reason when it cannot run (see demoGatewayUnavailable).
 */
export async function startDemoGateway({
  guacd = process.env.GUACD || '',
  dir = process.env.PAM_DEMO_DIR || '',
  onLine = defaultOnLine,
  replaySpeed = Number(process.env.PAM_REPLAY_SPEED ?? 1),
  standinArgs = [],
  scenarios = loadScenarios(),
} = {}) {
  const why = demoGatewayUnavailable({ guacd });
  if (why) throw new Error(why);
  const ownDir = !dir;
  const work = dir || fs.mkdtempSync(path.join(os.tmpdir(), 'pam-demo-gateway-'));
  fs.mkdirSync(work, { recursive: true });
  const children = [];
  const killAll = () => { for (const c of children) { try { c.child.kill('SIGKILL'); } catch { /* gone */ } } };
  process.once('exit', killAll);
  const env = { ...process.env };
  delete env.GUACD; // the stand-in reads GUACD itself; it gets the address through its config

  let replay = null;
  let guacdAddress = guacd;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await Promise.all(children.map((c) => c.stop()));
    process.off('exit', killAll);
    if (ownDir) fs.rmSync(work, { recursive: true, force: true });
  };

  try {
    if (!guacd) {
      const logFile = path.join(work, 'replay-guacd.jsonl');
      const extra = process.env.PAM_REPLAY_READY_PAUSE_MS ? ['--ready-pause-ms', process.env.PAM_REPLAY_READY_PAUSE_MS] : [];
      if (process.env.PAM_REPLAY_PUSH_FILE) extra.push('--push-file', process.env.PAM_REPLAY_PUSH_FILE);
      if (process.env.PAM_REPLAY_ACK_UPLOADS) extra.push('--ack-uploads', process.env.PAM_REPLAY_ACK_UPLOADS);
      if (process.env.PAM_REPLAY_PUSH_CLIPBOARD) extra.push('--push-clipboard', process.env.PAM_REPLAY_PUSH_CLIPBOARD);
      const which = process.env.REPLAY_FILE ? ['--file', process.env.REPLAY_FILE] : ['--by-protocol'];
      const r = startChild('guacd', process.execPath, [REPLAY, ...which, '--hold', '--speed', String(replaySpeed),
        '--log', logFile, '--max-seconds', String(RUN_SECONDS), ...extra], { env, onLine });
      children.push(r);
      const info = await r.ready;
      replay = { port: info.port, pid: r.child.pid, file: info.file, byProtocol: info.byProtocol, bytes: info.bytes, durationMs: info.durationMs, speed: replaySpeed, logFile };
      guacdAddress = `127.0.0.1:${info.port}`;
    }

    const demoAccount = {
      username: process.env.SSH_USER || `jit-demo-${crypto.randomBytes(2).toString('hex')}`,
      password: process.env.SSH_PASSWORD || `demo-${crypto.randomBytes(18).toString('base64url')}`,
    };
    const envOf = (p, what) => process.env[`${p.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_${what}`];
    const account = (p) => ({ username: envOf(p, 'USER') || demoAccount.username, password: envOf(p, 'PASSWORD') || demoAccount.password });
    const targets = new Map();
    const target = (p) => {
      if (!targets.has(p)) targets.set(p, envOf(p, 'TARGET') ? parseHostPort(envOf(p, 'TARGET'), `${p.toUpperCase()}_TARGET`) : null);
      return targets.get(p);
    };
    const built = buildDemoConfig({ scenarios, guacd: guacdAddress, account, target });
    const cfgFile = path.join(work, `standin-config-${crypto.randomBytes(4).toString('hex')}.json`);
    fs.writeFileSync(cfgFile, JSON.stringify(built.config), { mode: 0o600 });
    let st;
    try {
      // The library's warnings (ICE chatter on every close) would bury the
      // terminal; PAM_STANDIN_LIB_LOG_LEVEL=WARNING shows them.
      const libLog = process.env.PAM_STANDIN_LIB_LOG_LEVEL || 'ERROR';
      st = startChild('gateway', VENV_PYTHON, [STANDIN, '--config', cfgFile, '--max-seconds', String(RUN_SECONDS),
        '--lib-log-level', libLog, ...standinArgs],
        { env, onLine });
      children.push(st);
      const info = await st.ready;
      st.info = info;
    } finally {
      fs.rmSync(cfgFile, { force: true }); // read at start-up; it holds the passwords
    }

    const url = `http://127.0.0.1:${st.info.port}`;
    const lines = [
      `demo gateway: Keeper Gateway stand-in (keeper-pam-webrtc-rs) on ${url}, pid ${st.child.pid}`,
      replay
        ? `  guacd: replay${replay.byProtocol ? ' of each protocol\'s recording' : ` of ${replay.file}`} on 127.0.0.1:${replay.port} (hold mode, ${replaySpeed === 0 ? 'unpaced' : `${replaySpeed}x the recorded pace`}), pid ${replay.pid}; what it receives: ${replay.logFile}${ownDir ? ' (removed when it stops)' : ''}`
        : `  guacd: ${guacdAddress} (GUACD)`,
      ...(replay?.byProtocol ? Object.entries(replay.byProtocol).map(([p, x]) => `    ${p}: ${x.file}${x.standIn ? ` (${x.standIn})` : ''}`) : []),
      ...built.records.map((r) => `  record ${r.uid}: scenario${r.scenarios.length > 1 ? 's' : ''} ${r.scenarios.join(', ')}, ${r.protocol}, ${r.ephemeral ? 'JIT ephemeral account' : 'no ephemeral account'}${r.aliasOf ? ` (launches of ${r.aliasOf} without an ephemeral account go here)` : ''}${Object.keys(r.guacdParams).length ? `; guacd parameters ${Object.entries(r.guacdParams).map(([k, v]) => `${k}=${v}`).join(' ')}` : ''}`),
      ...[...new Set(built.records.map((r) => r.protocol))].map((p) => {
        const a = account(p);
        const t = target(p);
        const own = envOf(p, 'PASSWORD') ? `${p.toUpperCase()}_PASSWORD` : process.env.SSH_PASSWORD ? 'SSH_PASSWORD' : 'random password';
        return `  ${p} account: ${a.username} (${own}) for the ephemeral account and the linked users${t ? `, target ${t.host}:${t.port}` : ''}`;
      }),
      ...built.skipped.map((s) => `  skipped ${s}`),
    ];
    return {
      url,
      standin: { url, port: st.info.port, pid: st.child.pid },
      replay,
      guacd: guacdAddress,
      records: built.records,
      aliases: built.aliases,
      transformSend: aliasRewriter(built.aliases),
      lines,
      log: async () => (await st.command({ cmd: 'log' }))?.log ?? null,
      setBehaviour: (set) => st.command({ cmd: 'behaviour', set }),
      exited: Promise.race(children.map((c) => c.exited)),
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

async function main() {
  let gw;
  try {
    gw = await startDemoGateway();
  } catch (e) {
    console.error(`demo gateway unavailable: ${e.message}`);
    process.exit(1);
  }
  for (const l of gw.lines) console.log(l);
  console.log('Ctrl-C stops it.');
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    gw.stop().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  gw.exited.then(() => {
    if (!stopping) {
      console.error('demo gateway: a process of the demo gateway exited; stopping');
      stop();
    }
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main();
}
