// Run by tests/e2e/session-stats.test.mjs inside its network namespace: a
// headless launch() from Node (node-datachannel) of scenario 1 against npm
// start's server (Keeper's WebRTC library in front of the replay guacd),
// which samples `session.stats` every 250 ms for `argv[3]` ms, then
// disconnects. Prints JSON lines: {event:"stats",...} and {event:"closed",...}.
//
//   node tests/e2e/session-stats-runner.mjs <signal URL> <ms> [pingMs]
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { httpSignaling } from '../../bin/lib/http-signaling.mjs';
import { nodeRTCPeerConnection } from '../../bin/lib/node-webrtc.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const api = createRequire(import.meta.url)(path.join(ROOT, 'pkg', 'node', 'pam_launch_wasm.js'));
const [url, forMs, pingMs] = [process.argv[2], Number(process.argv[3] || 6000), process.argv[4]];
const scenario = JSON.parse(fs.readFileSync(path.join(ROOT, 'tests', 'fixtures', 'scenario1.json'), 'utf8'));
// The public demo seed the stand-in holds for this resource (never a real one).
const record = { ...scenario.record, custom: [...(scenario.record.custom || []), { type: 'trafficEncryptionSeed', value: [scenario.demo.trafficEncryptionSeed] }] };
const plan = api.planLaunch({ recordUid: scenario.recordUid, record: scenario.record, dag: scenario.dag, jit: true });
const out = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);

const session = api.launch({
  plan,
  record,
  signaling: httpSignaling(url),
  RTCPeerConnection: await nodeRTCPeerConnection(),
  renderer: 'headless',
  iceServers: [],
  width: 1024,
  height: 768,
  dpi: 96,
  timeouts: pingMs === undefined ? undefined : { pingMs: Number(pingMs) },
  onstatus: (s) => out({ event: 'status', phase: s.phase }),
});
const t0 = Date.now();
const timer = setInterval(() => {
  out({ event: 'stats', ms: Date.now() - t0, now: Date.now(), ...session.stats });
  if (Date.now() - t0 >= forMs) {
    clearInterval(timer);
    session.disconnect();
  }
}, 250);
const end = await session.closed;
clearInterval(timer);
out({ event: 'closed', message: end.message, code: end.error ? end.error.code : null, closeReason: end.closeReason ?? null, stats: session.stats });
setTimeout(() => process.exit(0), 100);
