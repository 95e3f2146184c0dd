// session.stats against Keeper's own library: a headless launch() from Node
// (tests/e2e/session-stats-runner.mjs, node-datachannel) through npm start's
// server, whose stand-in runs Keeper's WebRTC library (tests/gateway/
// standin.py) in front of the replay guacd, all in a private network
// namespace. The library answers our round-trip Pings with Pongs that echo
// them, so rttMs appears after the first pingMs and is refreshed; bytes in
// and out grow; the disconnect is clean, with closeReason "normal". The RTT
// figures are printed.
//
//   node --test tests/e2e/session-stats.test.mjs
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { ROOT, nodeLaunchUnavailable, runNode, startNodeLaunchEnv } from './lib/node-launch-env.mjs';

const RUNNER = path.join(ROOT, 'tests', 'e2e', 'session-stats-runner.mjs');
const skip = nodeLaunchUnavailable();
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor((s.length - 1) / 2)]; };

describe('session.stats against Keeper\'s library (the stand-in), Node, in a network namespace', () => {
  let env;
  before(async () => {
    if (skip) return;
    env = await startNodeLaunchEnv({ env: { SSH_USER: 'stats-user', SSH_PASSWORD: 'stats-pw-not-secret', PAM_STANDIN_LIB_LOG_LEVEL: 'WARNING' }, maxSeconds: 240 });
  });
  after(async () => { if (env) await env.close(); });

  it('the library echoes our Pings: rttMs after about 2 s, refreshed every 2 s, bytes growing; a clean disconnect is "normal"', { skip: skip || false, timeout: 90000 }, async (t) => {
    let r;
    for (let attempt = 0; attempt < 3; attempt++) {
      r = await runNode(env.ns, [RUNNER, env.url, '7000'], { timeoutMs: 60000 });
      const end = r.lines.find((l) => l.event === 'closed');
      // node-datachannel's occasional DTLS failure with the library (see node-launch.test.mjs): launched again.
      if (!(end && end.code === 'CONNECTION_LOST' && !r.lines.some((l) => l.phase === 'channelOpen'))) break;
      t.diagnostic(`DTLS failure before the channel, launched again: ${end.message}`);
    }
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const stats = r.lines.filter((l) => l.event === 'stats');
    const end = r.lines.find((l) => l.event === 'closed');
    assert.equal(end.code, null, end.message);
    assert.deepEqual(end.closeReason, { code: 0, name: 'normal', transient: false, source: 'client' });
    const open = r.lines.findIndex((l) => l.phase === 'channelOpen');
    assert.ok(open >= 0);
    const withRtt = stats.filter((s) => s.rttMs !== null);
    assert.ok(withRtt.length > 0, `no rttMs: ${JSON.stringify(stats.at(-1))}`);
    const samples = [...new Map(withRtt.map((s) => [s.rttAt, s.rttMs])).values()];
    assert.ok(samples.length >= 2, `the RTT is refreshed every 2 s: ${samples.length} samples`);
    for (const ms of samples) assert.ok(ms > 0 && ms < 1000, `rttMs ${ms}`);
    for (const s of withRtt) assert.ok(Math.abs(s.now - s.rttAt) < 5000, 'rttAt is Unix ms, recent');
    const last = stats.at(-1);
    assert.ok(last.bytesIn > 10000 && last.bytesOut > 100, `bytes ${last.bytesIn} in, ${last.bytesOut} out`);
    const mid = stats[Math.floor(stats.length / 2)];
    assert.ok(mid.bytesOut < last.bytesOut, 'bytes out grow (Pings, sync answers)');
    assert.ok(last.framesRendered >= 80, `frames ${last.framesRendered}`);
    assert.ok(stats.every((s) => s.pingOverdueMs === null || s.pingOverdueMs < 1000), 'no Ping stalls on the local link');
    t.diagnostic(`RTT to Keeper's library over the namespace: ${samples.length} samples, median ${median(samples).toFixed(3)} ms, min ${Math.min(...samples).toFixed(3)}, max ${Math.max(...samples).toFixed(3)}`);
  });
});
