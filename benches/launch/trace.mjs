// Where the first frame's time goes inside the page: reads a Chrome trace
// that run.mjs recorded (PAM_BENCH_LAUNCH_TRACE=file.json) and
// target/bench/launch.json, and prints, for the renderer's main thread
// between the message carrying the first frame's sync and the first frame
// drawn, the long tasks and trace events (>= 0.1 ms) and the V8 CPU
// profile's samples by function (self and total: JS, wasm and the browser
// calls wasm makes).
//
//   PAM_BENCH_LAUNCH_RUNS=3 PAM_BENCH_LAUNCH_TRACE=trace.json node benches/launch/run.mjs
//   node benches/launch/trace.mjs trace.json
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const file = process.argv[2];
if (!file) {
  console.error('usage: node benches/launch/trace.mjs trace.json [launch.json]');
  process.exit(1);
}
const trace = JSON.parse(fs.readFileSync(file, 'utf8'));
const events = Array.isArray(trace) ? trace : trace.traceEvents;
const bench = JSON.parse(fs.readFileSync(process.argv[3] || path.join(ROOT, 'target', 'bench', 'launch.json'), 'utf8'));
const launch = bench.launches.filter((l) => l.trickle).at(-1);
const syncRel = launch.messages.find((m) => m.sync)?.t;
const mark = events.find((e) => e.name === 'TimeStamp' && /bench:sync/.test(JSON.stringify(e.args ?? {})));
if (!mark || !Number.isFinite(syncRel)) {
  console.error('trace.mjs: no bench:sync mark in the trace, or no sync in launch.json');
  process.exit(1);
}
const { pid, tid } = mark;
const t0 = mark.ts;
const t1 = t0 + (launch.timings.firstFrame - syncRel) * 1000;
const ms = (us) => (us / 1000).toFixed(2);
console.log(`window: the sync's message -> first frame drawn, ${ms(t1 - t0)} ms (renderer main thread ${pid}/${tid})\n`);
for (const e of events.filter((x) => x.pid === pid && x.tid === tid && x.ph === 'X' && x.ts + (x.dur || 0) >= t0 && x.ts <= t1).sort((a, b) => a.ts - b.ts)) {
  if ((e.dur || 0) < 100) continue;
  const d = e.args?.data;
  const what = d && typeof d === 'object' ? (d.functionName || d.type || d.url || '') : '';
  console.log(`${ms(e.ts - t0).padStart(8)} ${ms(e.dur).padStart(7)}  ${e.name} ${what}`);
}
// V8's sampling profile: nodes and samples arrive in ProfileChunk events.
const nodes = new Map();
let start = null;
const samples = [];
for (const e of events) {
  if (e.name === 'Profile' && e.args?.data?.startTime !== undefined) start = e.args.data.startTime;
}
let t = start;
for (const e of events) {
  if (e.name !== 'ProfileChunk') continue;
  const d = e.args.data;
  for (const n of d.cpuProfile?.nodes || []) nodes.set(n.id, n);
  const ids = d.cpuProfile?.samples || [];
  const dts = d.timeDeltas || [];
  for (let k = 0; k < ids.length; k++) {
    t += dts[k] || 0;
    samples.push([t, ids[k]]);
  }
}
const stack = (id) => {
  const out = [];
  for (let n = nodes.get(id); n; n = nodes.get(n.parent)) out.push(n.callFrame.functionName || (n.callFrame.url || '').slice(-40) || '(anonymous)');
  return out;
};
const self = new Map();
const total = new Map();
const inWindow = samples.filter(([ts]) => ts >= t0 && ts <= t1);
for (const [, id] of inWindow) {
  const s = stack(id);
  self.set(s[0], (self.get(s[0]) || 0) + 1);
  for (const f of new Set(s)) total.set(f, (total.get(f) || 0) + 1);
}
const top = (m, n) => [...m].sort((a, b) => b[1] - a[1]).slice(0, n);
console.log(`\nCPU profile: ${inWindow.length} samples in the window (about ${inWindow.length ? ms((t1 - t0) / inWindow.length) : '?'} ms each)`);
console.log('self:');
for (const [f, c] of top(self, 20)) console.log(`  ${String(c).padStart(4)}  ${f}`);
console.log('total:');
for (const [f, c] of top(total, 30)) console.log(`  ${String(c).padStart(4)}  ${f}`);
