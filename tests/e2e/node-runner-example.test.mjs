// examples/node-runner (issue 10 §3): the example's own `npm test`, run from
// its folder against the built package, with its headless launch pointed at
// `npm start`'s server (the stand-in with Keeper's library and the replay
// guacd) inside a private network namespace, where the example runs too.
//
// The example depends on the package as "file:../..", which npm installs as
// the symlink node_modules/pam-launch-wasm -> ../../..: this test makes that
// same link when it is missing (no npm install, nothing downloaded), so the
// example resolves `pam-launch-wasm` exactly as after `npm install` there.
//
//   node --test tests/e2e/node-runner-example.test.mjs
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { ROOT, nodeLaunchUnavailable, runNode, startNodeLaunchEnv } from './lib/node-launch-env.mjs';

const EXAMPLE = path.join(ROOT, 'examples', 'node-runner');

// npm's own CLI script: the one running this test under `npm test`, else the one on PATH.
function npmCli() {
  if (process.env.npm_execpath && fs.existsSync(process.env.npm_execpath)) return process.env.npm_execpath;
  const r = spawnSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' });
  const p = r.status === 0 ? r.stdout.trim() : '';
  return p ? fs.realpathSync(p) : null;
}

const npm = npmCli();
const skip = nodeLaunchUnavailable() || (npm ? null : 'npm is not on PATH');

function linkPackage() {
  const dir = path.join(EXAMPLE, 'node_modules');
  const link = path.join(dir, 'pam-launch-wasm');
  fs.mkdirSync(dir, { recursive: true });
  const target = path.join('..', '..', '..');
  let current = null;
  try { current = fs.readlinkSync(link); } catch { /* none yet */ }
  if (current !== target) {
    fs.rmSync(link, { recursive: true, force: true });
    fs.symlinkSync(target, link, 'dir');
  }
  assert.equal(fs.realpathSync(link), fs.realpathSync(ROOT));
}

// node --test's summary lines (`# pass 12`, ...) of the example's run.
const summary = (out) => Object.fromEntries([...out.matchAll(/^# (tests|pass|fail|skipped|todo|cancelled) (\d+)$/gm)].map((m) => [m[1], Number(m[2])]));

describe('examples/node-runner: its own npm test against the built package, the headless launch in a network namespace', () => {
  let env;
  before(async () => {
    if (skip) return;
    linkPackage();
    env = await startNodeLaunchEnv();
  });
  after(async () => { if (env) await env.close(); });

  it('npm test in examples/node-runner: the records plan to their expected inputs, the recordings summarise to their counts, the headless launch passes; nothing skipped', { skip: skip || false, timeout: 180000 }, async (t) => {
    const childEnv = { ...process.env, PAM_SIGNAL_URL: env.url };
    delete childEnv.NODE_TEST_CONTEXT; // the example's runner reports for itself
    const r = await runNode(env.ns, [npm, 'test', '--silent'], { cwd: EXAMPLE, env: childEnv, timeoutMs: 170000 });
    const s = summary(r.stdout);
    assert.equal(r.code, 0, `npm test exited ${r.code}\n${r.stdout}\n${r.stderr}`);
    assert.equal(s.fail, 0);
    assert.equal(s.skipped, 0, 'the launch ran (PAM_SIGNAL_URL set)');
    assert.equal(s.todo, 0);
    assert.ok(s.pass >= 13, `passed ${s.pass}`);
    for (const name of ['ssh-jit-ephemeral.json', 'ssh-jit-elevation.json', 'ssh-jit-ephemeral-elevation.json', 'rdp-linked.json', 'vnc-linked.json', 'ssh-live.guac', 'rdp-live.guac', 'vnc-live.guac', 'a headless launch from Node']) {
      assert.match(r.stdout, new RegExp(`^\\s*ok \\d+ - ${name.replace(/\./g, '\\.')}`, 'm'), `${name} passed`);
    }
    const diag = /# (launch\(\) -> first frame .*)$/m.exec(r.stdout);
    assert.ok(diag, 'the launch reported its figures');
    t.diagnostic(diag[1]);
    const retries = r.stdout.match(/# attempt \d+: .*/g);
    if (retries) t.diagnostic(`example: ${retries.join('; ')}`);
  });
});
