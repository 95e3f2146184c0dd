// launch() in Node 20, headless, with node-datachannel's RTCPeerConnection
// (issue 10 §3), through the `pam-launch launch` command (§4), against
// `npm start`'s server: the stand-in with Keeper's WebRTC library in front
// of the replay guacd, all inside a private network namespace (as the
// Chromium launch tests: WebRTC does not pair over loopback, and nothing
// leaves the machine). The command runs inside the namespace; this process
// reads the stand-in's log through a short Node process there and the replay
// guacd's log from its file.
//
//   node --test tests/e2e/node-launch.test.mjs
//
// Needs the built package, .venv with the wheel, node-datachannel and a
// network namespace; otherwise every test is skipped by name with the reason.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { BIN, ROOT, nodeLaunchUnavailable, runNode, sameConversation, startNodeLaunchEnv } from './lib/node-launch-env.mjs';
import { EXIT } from '../../bin/lib/exit-codes.mjs';

const read = (...p) => fs.readFileSync(path.join(ROOT, ...p), 'utf8');
const scenarioFile = (n) => path.join(ROOT, 'tests', 'fixtures', `scenario${n}.json`);
const SCENARIOS = Object.fromEntries([1, 2, 4].map((n) => [n, JSON.parse(read('tests', 'fixtures', `scenario${n}.json`))]));
const sha256 = (s) => `sha256:${crypto.createHash('sha256').update(s).digest('hex')}`;
// What the headless side receives of ssh-live.guac: the recording's counts
// (tests/fixtures/guac/README.md, counted by the independent count.py)
// without guacd's handshake (args, ready), which Keeper's library answers
// itself and does not pass on, and without the final disconnect, which the
// replay guacd holds back in hold mode (it sends a nop every 2 s instead).
const SSH_LIVE_RECEIVED = { rect: 245, cfill: 245, blob: 103, end: 103, img: 100, sync: 86, size: 10, move: 7, argv: 3, copy: 3, cursor: 1 };
const PHASES = ['planning', 'offerSent', 'waitingForGateway', 'ice', 'channelOpen', 'openingConnection', 'connectionOpened', 'connected', 'firstFrame'];

const skip = nodeLaunchUnavailable();

describe('launch() in Node: pam-launch launch, headless, node-datachannel, the stand-in with Keeper\'s library, in a network namespace', () => {
  let env;
  const password = `node-e2e-${crypto.randomBytes(12).toString('base64url')}`;
  const account = 'jit-node-user';
  const outputs = [];

  before(async () => {
    if (skip) return;
    env = await startNodeLaunchEnv({ env: { SSH_USER: account, SSH_PASSWORD: password, PAM_STANDIN_LIB_LOG_LEVEL: 'WARNING' } });
  });
  after(async () => {
    if (dtlsRetries.length) console.log(`# node-datachannel DTLS failures launched again: ${dtlsRetries.length} (${dtlsRetries.join('; ')})`);
    if (env) {
      fs.mkdirSync(path.join(ROOT, 'target', 'e2e'), { recursive: true });
      fs.writeFileSync(path.join(ROOT, 'target', 'e2e', 'node-launch-npm-start.log'), env.output());
      await env.close();
    }
  });
  const opt = { skip: skip || false, timeout: 90000 };

  // node-datachannel 0.33.4 fails about 1 DTLS handshake in 12 with Keeper's
  // library ("certificate verify failed" in libdatachannel's log; 13 of 160
  // launches in a loop of this set-up), which launch() rightly reports as
  // CONNECTION_LOST before the channel opens (non-trickle: the answer cannot be
  // applied). Only that outcome is launched
  // again (at most twice), and each time is counted and reported: anything
  // else, and a third such failure, fails the test.
  const dtlsRetries = [];
  // Without trickle ICE the same failure shows as an answer that cannot be
  // applied (libdatachannel has closed the connection by then).
  const dtlsFailure = (r) => r.code === EXIT.CONNECTION && !statuses(r).some((s) => s.phase === 'channelOpen') &&
    (closedLine(r)?.code === 'CONNECTION_LOST' ||
      (closedLine(r)?.code === 'INVALID_SIGNALING_MESSAGE' && /rejected the gateway's SDP answer/.test(closedLine(r).message)));
  async function launchCli(args, o = {}) {
    for (let attempt = 0; ; attempt++) {
      const r = await runNode(env.ns, [BIN, 'launch', '--signal', env.url, '--json', ...args], { timeoutMs: 60000, ...o });
      outputs.push(r.stdout, r.stderr);
      if (!dtlsFailure(r) || attempt === 2) return r;
      dtlsRetries.push(`${args.join(' ')}: ${closedLine(r).message}`);
    }
  }
  const statuses = (r) => r.lines.filter((l) => l.event === 'status');
  const closedLine = (r) => r.lines.find((l) => l.event === 'closed');
  const lastConn = () => Math.max(0, ...env.replayEvents().map((e) => e.conn || 0));
  const connEvents = (conn) => env.replayEvents().filter((e) => e.conn === conn);
  const conversation = (log, id) => Object.values(log.conversations).find((c) => sameConversation(c.conversationId, id));
  async function libraryVerdict(id) {
    const t0 = Date.now();
    for (;;) {
      const sig = conversation(env.standinLog(), id)?.signals.find((s) => s.kind === 'channel_closed');
      if (sig) return sig.data.outcome;
      if (Date.now() - t0 > 5000) return null;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  function assertPhases(r) {
    const seen = statuses(r).map((s) => s.phase);
    assert.deepEqual(seen.filter((p) => p !== 'waitingForGateway'), PHASES.filter((p) => p !== 'waitingForGateway'), `phases ${seen}`);
    const ms = statuses(r).map((s) => s.ms);
    assert.deepEqual(ms, [...ms].sort((a, b) => a - b), 'phases in time order');
    for (const s of statuses(r)) assert.ok(typeof s.message === 'string' && s.message.length > 3, `${s.phase} has a message`);
  }

  it('scenario 1 (JIT ephemeral), trickle: every phase with its ms, all 86 frames of ssh-live and its instructions, keys typed reach guacd, --for ends in a clean Disconnect with the library\'s normal_exit', opt, async (t) => {
    const before = lastConn();
    const r = await launchCli(['--record', scenarioFile(1), '--type', 'ls\\n', '--for', '5']);
    assert.equal(r.code, EXIT.OK, `exit ${r.code}\n${r.stdout}\n${r.stderr}`);
    assertPhases(r);
    const end = closedLine(r);
    assert.equal(end.code, null, end.message);
    assert.equal(end.ended, 'for');
    assert.equal(end.frames, 86, 'every frame of ssh-live.guac');
    const { nop = 0, ...counts } = end.counts;
    assert.deepEqual(counts, SSH_LIVE_RECEIVED);
    assert.ok(nop <= 3, `the hold mode's nops in 5 s: ${nop}`);
    assert.equal(end.instructions, Object.values(SSH_LIVE_RECEIVED).reduce((a, b) => a + b, 0) + nop);
    assert.deepEqual([end.lastFrame.width, end.lastFrame.height], [1024, 768]);
    for (const k of ['plan', 'offerSent', 'answer', 'channelOpen', 'connectionOpened', 'firstByte', 'firstFrame', 'closed']) {
      assert.ok(end.timings[k] > 0, `timings.${k} = ${end.timings[k]}`);
    }
    assert.ok(end.timings.closed >= 4900, `closed after --for 5: ${end.timings.closed} ms`);
    assert.ok(r.lines.some((l) => l.event === 'typed' && l.keys === 3));

    // The gateway got the plan's inputs (Commander's, byte for byte) and the ephemeral account went to guacd.
    const log = env.standinLog();
    const req = log.requests.find((q) => q.kind === 'start' && sameConversation(q.conversationId, end.conversationId));
    assert.ok(req, 'the stand-in got the start');
    const { base64Nonce, data, ...inputs } = req.inputs;
    assert.equal(JSON.stringify(inputs), SCENARIOS[1].expect.inputs);
    assert.equal(Buffer.from(base64Nonce, 'base64').length, 16);
    assert.equal(req.timeoutMs, 120000);
    assert.equal(req.streamResponse, true);
    const conn = lastConn();
    assert.ok(conn > before, 'a new guacd connection');
    const connect = connEvents(conn).find((e) => e.event === 'connect');
    assert.equal(connect.params.username, account);
    assert.equal(connect.params.password, sha256(password));
    const keys = connEvents(conn).filter((e) => e.event === 'recv' && e.opcode === 'key').map((e) => e.args.join(','));
    assert.deepEqual(keys, ['108,1', '108,0', '115,1', '115,0', '65293,1', '65293,0']);
    assert.ok(connEvents(conn).some((e) => e.event === 'recv' && e.opcode === 'disconnect'), 'guacd received disconnect');
    assert.equal(await libraryVerdict(end.conversationId), 'normal_exit');
    t.diagnostic(`Node: launch() -> first frame ${end.timings.firstFrame} ms (${JSON.stringify(end.timings)})`);
  });

  it('scenario 4 (RDP, linked credential), non-trickle, --size 800x600@120: guacd is asked for that size, rdp-live\'s frames arrive, Ctrl-C (SIGINT) after the first frame disconnects cleanly (exit 0, normal_exit)', opt, async () => {
    const before = lastConn();
    let sent = false;
    const r = await launchCli(['--record', scenarioFile(4), '--no-trickle', '--size', '800x600@120'], {
      onStdout: (text, proc) => {
        if (!sent && /"phase":"firstFrame"/.test(text)) {
          sent = true;
          setTimeout(() => proc.kill('SIGINT'), 1500);
        }
      },
    });
    assert.equal(r.code, EXIT.OK, `exit ${r.code}\n${r.stdout}\n${r.stderr}`);
    assertPhases(r);
    const end = closedLine(r);
    assert.equal(end.ended, 'signal');
    assert.equal(end.code, null);
    assert.ok(r.lines.some((l) => l.event === 'interrupt' && l.signal === 'SIGINT'));
    assert.ok(end.frames >= 10 && end.counts.img > 0, `frames ${end.frames}, ${JSON.stringify(end.counts)}`);
    const req = env.standinLog().requests.find((q) => q.kind === 'start' && sameConversation(q.conversationId, end.conversationId));
    const { base64Nonce, data, ...inputs } = req.inputs;
    assert.deepEqual(inputs, { ...JSON.parse(SCENARIOS[4].expect.inputs), trickleICE: false });
    assert.equal(req.streamResponse, false);
    const conn = lastConn();
    assert.ok(conn > before);
    const connect = connEvents(conn).find((e) => e.event === 'connect');
    assert.deepEqual([connect.params.width, connect.params.height, connect.params.dpi].map(String), ['800', '600', '120']);
    assert.equal(connect.params.security, 'tls', 'the record\'s guacd parameters');
    assert.equal(await libraryVerdict(end.conversationId), 'normal_exit');
  });

  it('a refused launch: exit 5 with the gateway\'s reason and its code, no data channel', opt, async () => {
    const reason = 'Resource is not available: the gateway refused (node test switch)';
    env.behaviour({ refuse: reason });
    try {
      const r = await launchCli(['--record', scenarioFile(2)]);
      assert.equal(r.code, EXIT.REFUSED, `${r.stdout}\n${r.stderr}`);
      const end = closedLine(r);
      assert.equal(end.code, 'GATEWAY_REFUSED');
      assert.ok(end.message.includes(reason), end.message);
      assert.match(r.stderr, /^pam-launch: GATEWAY_REFUSED: .*node test switch/m);
      assert.match(r.stderr, /the gateway gave its reason/);
      assert.ok(!statuses(r).some((s) => s.phase === 'channelOpen'));
      assert.equal(end.frames, 0);
    } finally {
      env.behaviour({ refuse: false });
    }
  });

  it('a gateway that never answers, --timeout answerMs=1500: exit 6 with GATEWAY_TIMEOUT after about 1.5 s, no hang', opt, async () => {
    env.behaviour({ silent: true });
    try {
      const t0 = Date.now();
      const r = await launchCli(['--record', scenarioFile(2), '--no-trickle', '--timeout', 'answerMs=1500'], { timeoutMs: 30000 });
      const took = Date.now() - t0;
      assert.equal(r.code, EXIT.TIMEOUT, `${r.stdout}\n${r.stderr}`);
      const end = closedLine(r);
      assert.equal(end.code, 'GATEWAY_TIMEOUT');
      assert.ok(end.timings.closed >= 1400 && end.timings.closed < 6000, `closed after ${end.timings.closed} ms`);
      assert.match(r.stderr, /GATEWAY_TIMEOUT/);
      assert.ok(took < 15000, `the command took ${took} ms`);
    } finally {
      env.behaviour({ silent: false });
    }
  });

  it('a signaling server that is not there: exit 7 (connection), the message names it; no secret in any output of these launches', opt, async () => {
    const r = await runNode(env.ns, [BIN, 'launch', '--signal', 'http://127.0.0.1:9/', '--record', scenarioFile(2), '--timeout', 'answerMs=3000'], { timeoutMs: 30000 });
    outputs.push(r.stdout, r.stderr);
    assert.equal(r.code, EXIT.CONNECTION, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr, /cannot be reached/);
    assert.match(r.stderr, /check the --signal URL/);
    const all = outputs.join('\n');
    assert.ok(all.length > 1000, 'the launches printed');
    assert.ok(!all.includes(password), 'the account password');
    assert.ok(!/a=ice-pwd|BEGIN|PRIVATE/.test(all), 'no SDP credentials or keys');
  });
});
