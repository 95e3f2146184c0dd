#!/usr/bin/env node
// pam-launch: the package's command line (`npx pam-launch ...`), on the built
// Node package (pkg/node). Node built-ins only; the launch also needs
// node-datachannel (libdatachannel's RTCPeerConnection for Node), an optional
// peer dependency. `pam-launch --help` says it all; README.md "Command line"
// has the exit codes.
//
//   pam-launch plan <record.json> [--dag FILE] [--record-key-file FILE] [--uid UID] [--jit auto|on|off] [--json]
//   pam-launch recording summarize <file.guac> [--json]
//   pam-launch launch --signal URL --record FILE [--for SECONDS] [--type TEXT] [...]
//
// Secrets: the record key comes from a file or PAM_RECORD_KEY, never argv;
// everything printed goes through www/js/redact.js (the launcher's own list
// of secret-looking keys); no error message quotes a file's content.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { redact } from '../www/js/redact.js';
import { EXIT, exitCodeFor } from './lib/exit-codes.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

export const RECORD_KEY_ENV = 'PAM_RECORD_KEY';
// Larger inputs are not a record, a DAG edge or a key.
const MAX_JSON_FILE = 16 << 20;
const MAX_RECORDING_FILE = 1 << 30;

// ------------------------------------------------------------------ output

const out = (line = '') => process.stdout.write(`${line}\n`);
const err = (line = '') => process.stderr.write(`${line}\n`);

/** An error for the person at the terminal: a class (exit code) and what to do. */
class CliError extends Error {
  constructor(exit, message, { code, hint } = {}) {
    super(message);
    this.exit = exit;
    this.code = code;
    this.hint = hint;
  }
}
const usage = (message, hint = 'pam-launch --help lists the commands and options') =>
  new CliError(EXIT.USAGE, message, { code: 'USAGE', hint });

// What to do, per exit class (printed under the error).
const HINTS = {
  [EXIT.INPUT]: 'fix the record or the request (pam-launch plan shows what the launch would send)',
  [EXIT.DAG]: 'check the record key (--record-key-file or PAM_RECORD_KEY) and the DAG edge given with --dag',
  [EXIT.REFUSED]: 'the gateway gave its reason above: check the resource, its gateway and your access',
  [EXIT.TIMEOUT]: 'nothing came back in time: is the gateway online? --timeout NAME=MS changes a limit',
  [EXIT.CONNECTION]: 'check the --signal URL, that the gateway is up, and that WebRTC can reach it (ICE servers, firewall)',
  [EXIT.PROTOCOL]: 'the remote side sent something malformed or too large; the session was closed',
  [EXIT.UNSUPPORTED]: 'see the message for what to install or pass',
  [EXIT.FAILED]: 'unexpected: please report it with the command line (never the record key)',
};

function report(e) {
  if (e instanceof CliError) {
    err(`pam-launch: ${e.message}`);
    if (e.hint) err(`  ${e.hint}`);
    return e.exit;
  }
  const exit = exitCodeFor(e);
  const code = e && typeof e.code === 'string' ? e.code : null;
  const message = e && typeof e.message === 'string' ? e.message : String(e);
  err(`pam-launch: ${code ? `${code}: ` : ''}${message}`);
  const hint = HINTS[exit];
  if (hint) err(`  ${hint}`);
  return exit;
}

// ------------------------------------------------------------------ the package

let api;
function pkg() {
  if (!api) {
    const file = path.join(HERE, '..', 'pkg', 'node', 'pam_launch_wasm.js');
    if (!fs.existsSync(file)) {
      throw new CliError(EXIT.UNSUPPORTED, 'the built package is missing (pkg/node/pam_launch_wasm.js)', {
        code: 'UNSUPPORTED', hint: 'in a clone of the repository run `npm run build` first',
      });
    }
    api = require(file);
  }
  return api;
}

// ------------------------------------------------------------------ files

function readFileBounded(file, what, max) {
  let st;
  try {
    st = fs.statSync(file);
  } catch (e) {
    throw new CliError(EXIT.INPUT, `${what} ${JSON.stringify(file)} cannot be read (${e.code || 'error'})`, { code: 'INVALID_INPUT', hint: 'check the path' });
  }
  if (!st.isFile()) throw new CliError(EXIT.INPUT, `${what} ${JSON.stringify(file)} is not a file`, { code: 'INVALID_INPUT' });
  if (st.size > max) throw new CliError(EXIT.INPUT, `${what} ${JSON.stringify(file)} is ${st.size} bytes, more than ${max}`, { code: 'INVALID_INPUT' });
  try {
    return fs.readFileSync(file);
  } catch (e) {
    throw new CliError(EXIT.INPUT, `${what} ${JSON.stringify(file)} cannot be read (${e.code || 'error'})`, { code: 'INVALID_INPUT' });
  }
}

// JSON.parse's own message quotes the text around the error, and the text may
// be a decrypted record: only the line and column are reported.
function parseJson(text, what) {
  try {
    return JSON.parse(text);
  } catch (e) {
    const m = /position (\d+)/.exec(String(e && e.message));
    let where = '';
    if (m) {
      const pos = Number(m[1]);
      const before = text.slice(0, pos).split('\n');
      where = ` at line ${before.length}, column ${before[before.length - 1].length + 1}`;
    }
    throw new CliError(EXIT.INPUT, `${what} is not valid JSON${where}`, { code: 'INVALID_INPUT', hint: 'the file must hold the typed record JSON as the vault decrypts it, or a launch request' });
  }
}

const REQUEST_KEYS = ['recordUid', 'record', 'dag', 'recordKey', 'linkedUserRecordUid', 'pamDirectoryUid', 'jit',
  'credentialOverride', 'hostOverride', 'hostRecordUid'];

/**
 * A record file: a launch request ({ recordUid, record, dag?, ... }, as the
 * launcher's example scenarios are) or a bare typed record ({ type, fields }).
 * Returns { request, demoSeed }.
 */
export function readRecordFile(file) {
  const value = parseJson(readFileBounded(file, 'record file', MAX_JSON_FILE).toString('utf8'), `record file ${JSON.stringify(file)}`);
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new CliError(EXIT.INPUT, `record file ${JSON.stringify(file)} holds no JSON object`, { code: 'INVALID_INPUT' });
  }
  let request;
  if (value.record && typeof value.record === 'object' && !Array.isArray(value.record)) {
    request = {};
    for (const k of REQUEST_KEYS) if (value[k] !== undefined) request[k] = value[k];
  } else {
    request = { record: value };
  }
  // The launcher's example scenarios carry a public demo seed for the local
  // demo gateway (never a real resource's: that one is in the record).
  const demoSeed = value.demo && typeof value.demo.trafficEncryptionSeed === 'string' ? value.demo.trafficEncryptionSeed : null;
  return { request, demoSeed };
}

function readDagFile(file) {
  const bytes = readFileBounded(file, 'DAG file', MAX_JSON_FILE);
  const text = bytes.toString('utf8');
  const t = text.trim();
  // An object or an edge list is read as JSON; anything else goes to
  // planLaunch as it is (base64url content, or bytes: ciphertext).
  if (t.startsWith('{') || t.startsWith('[')) {
    try {
      return JSON.parse(t);
    } catch {
      return t; // planLaunch reports DAG_INVALID_JSON, without quoting it
    }
  }
  if (/^[A-Za-z0-9+/_=-]+$/.test(t)) return t;
  return new Uint8Array(bytes);
}

// A key: base64url text, or its 32 raw bytes.
function parseKey(bytes) {
  const t = bytes.toString('utf8').trim();
  if (/^[A-Za-z0-9+/_=-]{40,}$/.test(t)) return t;
  if (bytes.length === 32) return new Uint8Array(bytes);
  return t;
}

const SECRET_FLAG = /^--?(record-?key|recordkey|key|record_key)(=|$)/i;

/** Refuses a record key on the command line, before anything else reads argv. */
function refuseKeyOnArgv(argv) {
  for (const a of argv) {
    if (a === '--') break;
    if (SECRET_FLAG.test(a)) {
      throw usage(`the record key is not taken on the command line (${a.split('=')[0]}): argv is visible to every user of this machine (ps, /proc) and kept in shell history`,
        `put it in a file readable only by you and pass --record-key-file FILE, or set ${RECORD_KEY_ENV}`);
    }
  }
}

function recordKey(values) {
  if (values['record-key-file']) return parseKey(readFileBounded(values['record-key-file'], 'record key file', 4096));
  const env = process.env[RECORD_KEY_ENV];
  if (env !== undefined && env !== '') return parseKey(Buffer.from(env));
  return undefined;
}

const JIT = { auto: 'auto', on: true, off: false };

/** The planLaunch request from the record file and the options. */
function buildRequest(file, values) {
  const { request, demoSeed } = readRecordFile(file);
  if (values.uid !== undefined) request.recordUid = values.uid;
  if (typeof request.recordUid !== 'string' || !request.recordUid) {
    throw usage(`record file ${JSON.stringify(file)} names no recordUid`, 'pass the record UID with --uid UID');
  }
  if (values.dag !== undefined) request.dag = readDagFile(values.dag);
  const key = recordKey(values);
  if (key !== undefined) request.recordKey = key;
  if (values.jit !== undefined) {
    if (!Object.hasOwn(JIT, values.jit)) throw usage(`--jit must be auto, on or off, not ${JSON.stringify(values.jit.slice(0, 20))}`);
    request.jit = JIT[values.jit];
  } else if (request.jit === undefined) {
    request.jit = 'auto';
  }
  return { request, demoSeed };
}

// ------------------------------------------------------------------ plan

const PLAN_OPTIONS = {
  dag: { type: 'string' },
  'record-key-file': { type: 'string' },
  uid: { type: 'string' },
  jit: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

function cmdPlan(args) {
  const { values, positionals } = parse(args, PLAN_OPTIONS, 'plan');
  if (values.help) return out(HELP.plan);
  if (positionals.length !== 1) throw usage('plan takes one record file', 'pam-launch plan <record.json> [options]; pam-launch plan --help');
  const { request } = buildRequest(positionals[0], values);
  const plan = redact(pkg().planLaunch(request));
  if (values.json) {
    out(JSON.stringify(plan, null, 2));
    return;
  }
  const i = plan.inputs;
  out(`plan for ${request.recordUid} (${i.conversationType})`);
  out(`  JIT mode:              ${plan.jitMode ?? 'off'}`);
  out(`  credential type:       ${plan.credentialType ?? 'none'}`);
  if (i.userRecordUid) out(`  user record:           ${i.userRecordUid}`);
  out(`  guacd credentials:     ${plan.guacdCredentialsEmpty ? 'left empty (the gateway or the user supplies them)' : 'from the linked credential, at the gateway'}`);
  if (plan.warnings.length === 0) out('  warnings:              none');
  for (const w of plan.warnings) out(`  warning ${w.code}: ${w.message}`);
  out('gateway inputs (exactly as sent; the launch adds base64Nonce and the encrypted offer as data):');
  out(JSON.stringify(i));
}

// ------------------------------------------------------------------ recording summarize

function cmdRecording(args) {
  const [sub, ...rest] = args;
  if (sub === '--help' || sub === '-h' || sub === undefined) {
    if (sub === undefined) throw usage('recording needs a subcommand: summarize', 'pam-launch recording summarize <file.guac> [--json]');
    return out(HELP.recording);
  }
  if (sub !== 'summarize') throw usage(`recording has no subcommand ${JSON.stringify(sub.slice(0, 40))}`, 'pam-launch recording summarize <file.guac> [--json]');
  const { values, positionals } = parse(rest, { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, 'recording summarize');
  if (values.help) return out(HELP.recording);
  if (positionals.length !== 1) throw usage('recording summarize takes one recording file', 'pam-launch recording summarize <file.guac> [--json]');
  const bytes = readFileBounded(positionals[0], 'recording', MAX_RECORDING_FILE);
  const s = pkg().summarizeRecording(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length));
  if (values.json) {
    out(JSON.stringify({ file: positionals[0], ...s }, null, 2));
    return;
  }
  const counts = Object.entries(s.counts).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  out(`recording ${positionals[0]}`);
  out(`  bytes:         ${s.bytes}`);
  out(`  instructions:  ${s.instructions}`);
  out(`  frames:        ${s.frames}`);
  out(`  duration:      ${(s.durationMs / 1000).toFixed(1)} s (${s.durationMs} ms)`);
  out(`  by opcode:     ${counts.map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`);
}

// ------------------------------------------------------------------ launch

const LAUNCH_OPTIONS = {
  signal: { type: 'string' },
  record: { type: 'string' },
  dag: { type: 'string' },
  'record-key-file': { type: 'string' },
  uid: { type: 'string' },
  jit: { type: 'string' },
  for: { type: 'string' },
  type: { type: 'string' },
  trickle: { type: 'boolean' },
  'no-trickle': { type: 'boolean' },
  timeout: { type: 'string', multiple: true },
  size: { type: 'string' },
  origin: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

const TIMEOUT_NAMES = ['answerMs', 'channelMs', 'openMs', 'firstFrameMs', 'keepaliveMs', 'gatheringMs', 'closeDrainMs', 'iceRestartGiveUpMs'];

function parseTimeouts(list = []) {
  const t = {};
  for (const item of list) {
    const m = /^([A-Za-z]+)=(\d{1,9})$/.exec(item);
    if (!m || !TIMEOUT_NAMES.includes(m[1])) {
      throw usage(`--timeout takes NAME=MS with NAME one of ${TIMEOUT_NAMES.join(', ')}; got ${JSON.stringify(item.slice(0, 40))}`);
    }
    t[m[1]] = Number(m[2]);
  }
  return t;
}

// X11 keysyms of typed text: Latin-1 as it is, other code points as
// 0x01000000 + code point, and the control keys a terminal needs.
const CONTROL_KEYSYMS = { '\n': 0xff0d, '\r': 0xff0d, '\t': 0xff09, '\b': 0xff08, '\x1b': 0xff1b };
export function keysymsOf(text) {
  const out = [];
  for (const ch of text) {
    const cp = ch.codePointAt(0);
    if (CONTROL_KEYSYMS[ch]) out.push(CONTROL_KEYSYMS[ch]);
    else if ((cp >= 0x20 && cp <= 0x7e) || (cp >= 0xa0 && cp <= 0xff)) out.push(cp);
    else if (cp > 0xff) out.push(0x01000000 + cp);
  }
  return out;
}
// --type takes \n, \t, \r, \e and \\ as escapes (a shell argument cannot hold Enter easily).
const unescape = (s) => s.replace(/\\([ntre\\])/g, (_, c) => ({ n: '\n', t: '\t', r: '\r', e: '\x1b', '\\': '\\' })[c]);

function hasSeed(record) {
  return ['fields', 'custom'].some((l) => Array.isArray(record?.[l]) && record[l].some((f) => f && f.type === 'trafficEncryptionSeed'));
}

async function cmdLaunch(args) {
  const { values, positionals } = parse(args, LAUNCH_OPTIONS, 'launch');
  if (values.help) return out(HELP.launch);
  if (positionals.length) throw usage(`launch takes no positional argument (got ${JSON.stringify(positionals[0].slice(0, 40))})`, 'pam-launch launch --signal URL --record FILE');
  if (!values.signal) throw usage('launch needs --signal URL (the router\'s HTTP signaling, e.g. npm start\'s http://127.0.0.1:8080/)');
  if (!values.record) throw usage('launch needs --record FILE (the record JSON or a launch request)');
  let forMs = null;
  if (values.for !== undefined) {
    const s = Number(values.for);
    if (!(s > 0) || s > 7 * 24 * 3600) throw usage(`--for takes a number of seconds above 0, not ${JSON.stringify(values.for.slice(0, 20))}`);
    forMs = s * 1000;
  }
  let size = null;
  if (values.size !== undefined) {
    const m = /^(\d{2,5})x(\d{2,5})(?:@(\d{2,3}))?$/.exec(values.size);
    if (!m) throw usage('--size takes WIDTHxHEIGHT[@DPI], e.g. 1024x768@96');
    size = { width: Number(m[1]), height: Number(m[2]), dpi: m[3] ? Number(m[3]) : 96 };
  }
  if (values.trickle && values['no-trickle']) throw usage('--trickle and --no-trickle exclude each other');
  const timeouts = parseTimeouts(values.timeout);
  const typed = values.type !== undefined ? keysymsOf(unescape(values.type)) : [];

  const { request, demoSeed } = buildRequest(values.record, values);
  const api = pkg();
  const plan = api.planLaunch(request);
  let record = request.record;
  const notes = [];
  if (!hasSeed(record) && demoSeed) {
    record = { ...record, custom: [...(Array.isArray(record.custom) ? record.custom : []), { type: 'trafficEncryptionSeed', value: [demoSeed] }] };
    notes.push('the record has no trafficEncryptionSeed: using the file\'s public demo seed (demo gateways only)');
  }
  const { nodeRTCPeerConnection } = await import('./lib/node-webrtc.mjs');
  const RTCPeerConnection = await nodeRTCPeerConnection();
  const { httpSignaling } = await import('./lib/http-signaling.mjs');
  let signalingError = null;
  let signaling;
  try {
    signaling = httpSignaling(values.signal, {
      origin: values.origin === undefined ? undefined : values.origin === 'none' ? null : values.origin,
      onerror: (e) => { signalingError = e; },
    });
  } catch (e) {
    throw usage(e.message);
  }

  const json = Boolean(values.json);
  const emit = (obj, text) => (json ? out(JSON.stringify(obj)) : out(text));
  for (const n of notes) emit({ event: 'note', message: n }, `note: ${n}`);
  const counts = {};
  let instructions = 0;
  let frames = 0;
  let lastFrame = null;
  const t0 = performance.now();
  const ms = () => Math.round((performance.now() - t0) * 10) / 10;
  let session;
  let firstFrameSeen = false;
  let ending = null; // why we disconnect: 'for' | 'signal'
  let typedDone = false;
  const typeKeys = () => {
    if (typedDone || !typed.length) return;
    typedDone = true;
    for (const k of typed) {
      session.sendKeyEvent(k, true);
      session.sendKeyEvent(k, false);
    }
    emit({ event: 'typed', keys: typed.length, ms: ms() }, `[${ms().toFixed(1).padStart(8)} ms] typed ${typed.length} key${typed.length === 1 ? '' : 's'}`);
  };
  const onstatus = (s) => {
    if (!s || s.phase === 'closed') return; // the final one is printed from `closed`
    emit({ event: 'status', phase: s.phase, ms: ms(), message: s.message },
      `[${ms().toFixed(1).padStart(8)} ms] ${s.phase.padEnd(17)} ${s.message}`);
    if (s.phase === 'firstFrame') {
      firstFrameSeen = true;
      // After the current event: the session object exists by now.
      setTimeout(typeKeys, 0);
    }
  };
  // A launch() that throws (its input, UNSUPPORTED) is reported by main().
  session = api.launch({
    plan,
    record,
    signaling,
    RTCPeerConnection,
    renderer: 'headless',
    iceServers: [],
    trickleIce: values['no-trickle'] ? false : values.trickle ? true : undefined,
    timeouts,
    ...(size || { width: 1024, height: 768, dpi: 96 }),
    onstatus,
    oninstruction: (opcode) => {
      instructions += 1;
      counts[opcode] = (counts[opcode] || 0) + 1;
    },
    onframe: (f) => {
      frames += 1;
      lastFrame = f;
    },
  });

  let forTimer = null;
  if (forMs !== null) {
    forTimer = setTimeout(() => {
      ending = 'for';
      session.disconnect();
    }, forMs);
  }
  let interrupts = 0;
  const onSignal = (name) => {
    interrupts += 1;
    if (interrupts > 1) {
      err(`pam-launch: ${name} again: leaving without waiting for the gateway`);
      process.exit(130);
    }
    ending = 'signal';
    emit({ event: 'interrupt', signal: name, ms: ms() }, `[${ms().toFixed(1).padStart(8)} ms] ${name}: disconnecting (again to leave at once)`);
    session.disconnect();
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));

  const final = await session.closed;
  if (forTimer) clearTimeout(forTimer);
  const timings = session.timings;
  const error = final.error || null;
  const summary = {
    event: 'closed',
    ms: ms(),
    message: final.message,
    code: error ? error.code || null : null,
    conversationId: session.conversationId,
    ended: ending || 'remote',
    timings,
    frames,
    instructions,
    counts,
    lastFrame: lastFrame ? { frame: lastFrame.frame, ops: lastFrame.ops, width: lastFrame.width, height: lastFrame.height } : null,
    signalingError: signalingError ? signalingError.message : null,
  };
  if (json) out(JSON.stringify(summary));
  else {
    out(`[${ms().toFixed(1).padStart(8)} ms] closed            ${final.message}${error ? ` (${error.code})` : ''}`);
    const steps = Object.entries(timings).filter(([, v]) => v !== null).map(([k, v]) => `${k} ${Math.round(v * 10) / 10}`);
    out(`timings (ms from launch()): ${steps.join(', ')}`);
    const top = Object.entries(counts).sort((a, b) => b[1] - a[1]).slice(0, 8).map(([k, v]) => `${k} ${v}`);
    out(`received: ${frames} frames, ${instructions} instructions${top.length ? ` (${top.join(', ')})` : ''}${lastFrame ? `; display ${lastFrame.width}x${lastFrame.height}` : ''}`);
  }
  if (error) {
    process.exitCode = report(error);
    return;
  }
  if (ending === 'for' && !firstFrameSeen) {
    process.exitCode = report(new CliError(EXIT.TIMEOUT, `the session drew no frame within --for ${values.for} s`, { code: 'TIMEOUT', hint: HINTS[EXIT.TIMEOUT] }));
  }
}

// ------------------------------------------------------------------ argv

function parse(args, options, command) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (e) {
    // parseArgs names the option; it never sees a key (refused before).
    throw usage(`${command}: ${String(e.message).split('\n')[0]}`, `pam-launch ${command} --help`);
  }
}

const HELP = {
  main: `pam-launch: plan Keeper PAM launches, summarise Guacamole recordings, and launch headless sessions from Node

Usage:
  pam-launch plan <record.json> [--dag FILE] [--record-key-file FILE] [--uid UID] [--jit auto|on|off] [--json]
  pam-launch recording summarize <file.guac> [--json]
  pam-launch launch --signal URL --record FILE [--for SECONDS] [--type TEXT] [options]
  pam-launch <command> --help

The record key (to decrypt the DAG jit_settings edge) is read from --record-key-file FILE or the
${RECORD_KEY_ENV} environment variable, never from the command line. Output never shows a secret.

Exit codes: 0 ok, 1 unexpected failure, 2 usage, 3 input (record/request), 4 DAG, 5 gateway refused
or closed, 6 timeout, 7 connection/signaling/tunnel, 8 protocol/resource limit, 9 unsupported here.`,
  plan: `pam-launch plan <record.json> [options]

Prints the launch plan (JIT mode, credential type, warnings) and the exact gateway inputs, secrets redacted.
<record.json> holds a launch request ({ recordUid, record, dag?, linkedUserRecordUid?, ... }, as the
launcher's example scenarios) or a bare typed record ({ type, fields, custom }: then --uid is needed).

  --dag FILE              the DAG jit_settings edge: JSON (object or edge list), base64url text, or ciphertext bytes
  --record-key-file FILE  the record key (base64url text or 32 bytes) for an encrypted DAG edge; or ${RECORD_KEY_ENV}
  --uid UID               the record UID (overrides the file's recordUid)
  --jit auto|on|off       JIT for this launch (default: the file's "jit", else auto)
  --json                  the plan as JSON`,
  recording: `pam-launch recording summarize <file.guac> [--json]

Counts the instructions of a Guacamole recording by opcode, its frames (sync) and its duration.`,
  launch: `pam-launch launch --signal URL --record FILE [options]

A headless launch in Node (node-datachannel's RTCPeerConnection, no drawing): prints each phase with its ms
since the start, then what arrived. Ends on Ctrl-C (a clean disconnect; twice leaves at once) or after --for.

  --signal URL            the router's HTTP signaling: npm start's URL (http://127.0.0.1:8080/) or its .../signal/
  --record FILE           the record JSON or launch request (as for plan); a file's public demo seed
                          (demo.trafficEncryptionSeed) is used when the record has none
  --dag, --record-key-file, --uid, --jit   as for plan
  --for SECONDS           disconnect cleanly after this long (exit 6 when no frame came by then)
  --type TEXT             keys to type after the first frame (\\n Enter, \\t Tab, \\e Escape, \\\\ backslash)
  --trickle, --no-trickle trickle ICE or not (default: the plan's)
  --timeout NAME=MS       a launch() timeout (${TIMEOUT_NAMES.join(', ')}); repeatable
  --size WxH[@DPI]        the remote display size (default 1024x768@96)
  --origin ORIGIN|none    the Origin header sent to the signaling server (default: its own origin)
  --json                  one JSON object per line: status events, then the summary`,
};

export async function main(argv) {
  try {
    refuseKeyOnArgv(argv);
    const [command, ...rest] = argv;
    switch (command) {
      case 'plan': cmdPlan(rest); break;
      case 'recording': cmdRecording(rest); break;
      case 'launch': await cmdLaunch(rest); break;
      case '--help': case '-h': case 'help': out(HELP.main); break;
      case '--version': out(JSON.parse(fs.readFileSync(path.join(HERE, '..', 'package.json'), 'utf8')).version); break;
      case undefined: throw usage('no command given');
      default: throw usage(`no command ${JSON.stringify(String(command).slice(0, 40))}`);
    }
    return process.exitCode ?? EXIT.OK;
  } catch (e) {
    return report(e);
  }
}

const invoked = process.argv[1] && fs.realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
if (invoked) {
  const code = await main(process.argv.slice(2));
  process.exitCode = code;
  // A launch leaves libdatachannel's threads behind; stdout is flushed first.
  if (process.argv[2] === 'launch') process.stdout.write('', () => process.exit(code));
}
