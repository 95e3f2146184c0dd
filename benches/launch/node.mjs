// npm run bench (Node launch part): launch() -> first frame in Node, beside
// Chromium's (benches/launch/run.mjs, which runs first and writes
// target/bench/launch.json). The same set-up: `npm start`'s server (the
// stand-in with Keeper's library, the replay guacd playing ssh-live.guac at
// its recorded pace, 5 ms pause after `ready` unless PAM_REPLAY_READY_PAUSE_MS
// says otherwise) in a private network namespace, scenario 2 (JIT elevation,
// no account created), N launches per ICE mode, the first of each discarded
// as warm-up. Each launch is `pam-launch launch --json` (a fresh Node
// process: node-datachannel's RTCPeerConnection, the headless renderer),
// disconnected about 1 s after its first frame; the steps are launch()'s own
// session.timings. Headless, "first frame" is the first frame that completed
// (nothing is drawn), so the last step is not the same work as Chromium's.
// Prints the medians (min-max), the Node / Chromium ratio of each, and the
// machine's load average before and after.
//
// A benchmark, not a test: it asserts nothing. A launch that node-datachannel
// fails in its DTLS handshake (CONNECTION_LOST before the channel opens, a
// known flake of 0.33.4) is counted, said, and launched again (at most 3 in a
// row); any other failed launch stops it with the error (exit 1). A machine
// that cannot host it says why and exits 0.
//
//   node benches/launch/node.mjs
//
// Environment: PAM_BENCH_LAUNCH_RUNS (per mode, warm-up included; default 7),
// PAM_REPLAY_SPEED (default 1), PAM_REPLAY_READY_PAUSE_MS (default 5).
// Writes target/bench/launch-node.json.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BIN, ROOT, nodeLaunchUnavailable, runNode, startNodeLaunchEnv } from '../../tests/e2e/lib/node-launch-env.mjs';

const RUNS = Math.max(2, Number(process.env.PAM_BENCH_LAUNCH_RUNS || 7));
const REPLAY_SPEED = process.env.PAM_REPLAY_SPEED ?? '1';
const READY_PAUSE = process.env.PAM_REPLAY_READY_PAUSE_MS || '5';
const RECORD = path.join(ROOT, 'tests', 'fixtures', 'scenario2.json');

const why = nodeLaunchUnavailable();
if (why) {
  console.log(`bench launch (Node): not run on this machine: ${why}`);
  process.exit(0);
}

const round1 = (x) => (Number.isFinite(x) ? Math.round(x * 10) / 10 : null);
const median = (xs) => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (!s.length) return null;
  const m = s.length >> 1;
  return round1(s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2);
};
const range = (xs) => {
  const s = xs.filter(Number.isFinite);
  return s.length ? [round1(Math.min(...s)), round1(Math.max(...s))] : [null, null];
};
const d = (a, b) => (Number.isFinite(a) && Number.isFinite(b) ? b - a : null);

// The steps as benches/launch/run.mjs names them, from session.timings.
function steps(t) {
  return {
    plan: t.plan,
    gathering: d(t.plan, t.gathered),
    offer: d(t.plan, t.offerSent),
    answer: d(t.offerSent, t.answer),
    channelOpen: d(t.answer, t.channelOpen),
    connectionOpened: d(t.channelOpen, t.connectionOpened),
    firstByte: d(t.connectionOpened, t.firstByte),
    firstFrame: d(t.firstByte, t.firstFrame),
    total: t.firstFrame,
  };
}
// node-datachannel's DTLS flake (see bin/lib/node-webrtc.mjs): with trickle
// ICE CONNECTION_LOST before the channel opens; without, the connection is
// already closed when the answer comes, so applying it fails.
const dtlsFlake = (end) => end.code === 'CONNECTION_LOST' ||
  (end.code === 'INVALID_SIGNALING_MESSAGE' && /rejected the gateway's SDP answer/.test(end.message));
const ROWS = [
  ['plan', 'launch() -> plan and peer connection ready', 'plan'],
  ['gathering', '  ICE gathering (non-trickle; inside "offer sent")', 'gathering'],
  ['offer', 'plan -> offer sent', 'offer'],
  ['answer', 'offer sent -> answer', 'answer'],
  ['channelOpen', 'answer -> data channel open', 'channelOpen'],
  ['connectionOpened', 'channel open -> ConnectionOpened', 'connectionOpened'],
  ['firstByte', `ConnectionOpened -> first byte (replay pause after ready: ${READY_PAUSE} ms)`, 'firstByte'],
  ['firstFrame', 'first byte -> first frame (Node: completed, headless; Chromium: drawn)', 'firstFrameDrawn'],
  ['total', '**launch() -> first frame**', 'total'],
];

const loadBefore = os.loadavg();
const env = await startNodeLaunchEnv({ env: { PAM_REPLAY_SPEED: REPLAY_SPEED, PAM_REPLAY_READY_PAUSE_MS: READY_PAUSE }, maxSeconds: 600 });
const results = [];
let dtlsFailures = 0;
try {
  for (const [mode, trickle] of [['trickle', true], ['non-trickle', false]]) {
    for (let i = 0; i < RUNS; i++) {
      let end;
      for (let attempt = 0; ; attempt++) {
        const r = await runNode(env.ns, [BIN, 'launch', '--signal', env.url, '--record', RECORD, '--json', trickle ? '--trickle' : '--no-trickle', '--for', '1'], { timeoutMs: 60000 });
        end = r.lines.find((l) => l.event === 'closed');
        const opened = r.lines.some((l) => l.event === 'status' && l.phase === 'channelOpen');
        if (end && dtlsFlake(end) && !opened && attempt < 2) {
          dtlsFailures += 1;
          console.log(`bench launch (Node): ${mode} launch ${i + 1}: ${end.message} (node-datachannel's DTLS flake); launching again`);
          continue;
        }
        if (r.code !== 0 || !end || end.code || !Number.isFinite(end.timings.firstFrame)) {
          console.error(`bench launch (Node): ${mode} launch ${i + 1} failed (exit ${r.code}): ${r.stderr.trim() || end?.message}`);
          process.exitCode = 1;
          throw new Error('launch failed');
        }
        break;
      }
      results.push({ mode, warmup: i === 0, timings: end.timings, steps: steps(end.timings), frames: end.frames });
    }
  }
} catch (e) {
  if (e.message !== 'launch failed') throw e;
} finally {
  await env.close();
}
if (process.exitCode) process.exit(process.exitCode);
const loadAfter = os.loadavg();

const table = {};
for (const mode of ['trickle', 'non-trickle']) {
  const list = results.filter((r) => r.mode === mode && !r.warmup).map((r) => r.steps);
  table[mode] = { runs: list.length, median: {}, range: {} };
  for (const [k] of ROWS) {
    table[mode].median[k] = median(list.map((s) => s[k]));
    table[mode].range[k] = range(list.map((s) => s[k]));
  }
}
let chromium = null;
const chromiumFile = path.join(ROOT, 'target', 'bench', 'launch.json');
if (fs.existsSync(chromiumFile)) {
  try { chromium = JSON.parse(fs.readFileSync(chromiumFile, 'utf8')); } catch { chromium = null; }
}
const cell = (mode, k) => {
  const m = table[mode].median[k];
  if (m === null) return '–';
  const [lo, hi] = table[mode].range[k];
  return `${m} (${lo}–${hi})`;
};
const ratio = (mode, k, ck) => {
  const n = table[mode].median[k];
  const c = chromium?.table?.[mode]?.median?.[ck];
  return Number.isFinite(n) && Number.isFinite(c) && c > 0 ? `${(n / c).toFixed(2)}x` : '–';
};
const fmt = (l) => l.map((x) => x.toFixed(2)).join(' ');
console.log(`\nlaunch() -> first frame in Node ${process.version} (node-datachannel, headless), scenario ${2}, ${RUNS - 1} launches per mode after a warm-up, the replay at ${REPLAY_SPEED === '0' ? 'full speed' : `${REPLAY_SPEED}x recorded pace`}; load average ${fmt(loadBefore)} before, ${fmt(loadAfter)} after, ${os.cpus().length} CPUs`);
console.log(chromium ? `beside Chromium's medians from target/bench/launch.json (load average then ${fmt(chromium.loadavg || [])})\n` : 'no target/bench/launch.json (benches/launch/run.mjs): no Chromium figures to compare\n');
console.log('| step | Node trickle | Node / Chromium | Node non-trickle | Node / Chromium |');
console.log('|---|---:|---:|---:|---:|');
for (const [k, label, ck] of ROWS) {
  console.log(`| ${label} | ${cell('trickle', k)} | ${ratio('trickle', k, ck)} | ${cell('non-trickle', k)} | ${ratio('non-trickle', k, ck)} |`);
}
if (dtlsFailures) console.log(`\nnode-datachannel DTLS handshake failures launched again: ${dtlsFailures} of ${results.length + dtlsFailures} launches`);
fs.mkdirSync(path.join(ROOT, 'target', 'bench'), { recursive: true });
fs.writeFileSync(path.join(ROOT, 'target', 'bench', 'launch-node.json'), `${JSON.stringify({
  what: 'launch() -> first frame in Node (headless, node-datachannel), scenario 2, ms',
  node: process.version, replaySpeed: Number(REPLAY_SPEED), readyPauseMs: Number(READY_PAUSE),
  loadavg: { before: loadBefore, after: loadAfter }, runsPerMode: RUNS, dtlsFailures, table, launches: results,
}, null, 2)}\n`);
console.log('(target/bench/launch-node.json has every launch)');
