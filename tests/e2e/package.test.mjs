// The package as users install it (issue 10 section 7): `npm pack`, the
// tarball installed offline into a scratch project in a temporary folder
// (the package has no dependencies), then, from that project only:
//   - `npm pack --dry-run` lists only what users need (the wasm builds, every
//     "exports"/"bin" target and what it imports; no tests, no target/), and
//     every such target is in it;
//   - require('pam-launch-wasm') (CommonJS) and import (ES module) in Node:
//     planLaunch gives the captured gateway inputs byte for byte, errors are
//     PamLaunchError with a stable code;
//   - a page that imports the installed package as an ES module, served by a
//     loopback server with the launcher's strict CSP, in headless Chromium:
//     the wasm loads and plans, no CSP violation;
//   - the CLI through `npx pam-launch` (--help, plan --json, usage errors);
//   - the repository's tsc resolving the types in that project: a .ts file
//     using planLaunch/launch types passes, a variant with one deliberate
//     type error fails on that line.
//
//   node --test tests/e2e/package.test.mjs
//
// Needs the built package (npm run build) and npm; the page needs Chromium.
// Without them each test fails (strict mode allows no other skip).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launchChromium, watchPage } from './lib/chromium.mjs';
import { startTestServer } from './lib/server.mjs';
import { ROOT } from './lib/standin.mjs';

const NAME = 'pam-launch-wasm';
const PKG = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const SCENARIOS = [1, 2, 3].map((n) => JSON.parse(fs.readFileSync(path.join(ROOT, 'tests', 'fixtures', `scenario${n}.json`), 'utf8')));
const requestOf = (s) => ({ recordUid: s.recordUid, record: s.record, dag: s.dag ?? undefined, linkedUserRecordUid: s.linkedUserRecordUid, jit: 'auto' });
const CASES = SCENARIOS.map((s) => ({ request: requestOf(s), inputs: s.expect.inputs }));
// A request planLaunch refuses: the record has no connection protocol.
const BAD_REQUEST = { recordUid: 'x', record: {} };
const TSC = path.join(ROOT, 'node_modules', '.bin', 'tsc');

// The child processes run without the npm_* variables of an enclosing
// `npm test` (they would point npm at this repository's config).
const cleanEnv = () => Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
function run(cmd, args, cwd, { timeout = 120000, env = {} } = {}) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout, env: { ...cleanEnv(), ...env } });
  if (r.error) throw new Error(`${cmd} ${args.join(' ')}: ${r.error.message}`);
  return r;
}
const ok = (r, what) => assert.equal(r.status, 0, `${what}: exit ${r.status}\n${r.stdout}\n${r.stderr}`);

// What a user needs: the manifest, the README, the licence, both wasm
// builds, and every file the package's public entry points name: each
// "exports" target and "bin" (the CLI, the worker glue, the Node adapters),
// followed through the modules they import by relative path, with the
// package.json beside each (it tells Node its module type).
const SHIPPED = /^(package\.json|README\.md|LICEN[CS]E(\.[a-z]+)?|pkg\/(web|node)\/[^/]+)$/;
const REQUIRED = ['package.json', 'README.md',
  ...['web', 'node'].flatMap((d) => ['pam_launch_wasm.js', 'pam_launch_wasm_bg.wasm', 'pam_launch_wasm.d.ts', 'package.json'].map((f) => `pkg/${d}/${f}`))];

// Every file target of package.json's "exports" (any depth of conditions) and "bin".
function entryPoints() {
  const out = [];
  const walk = (v) => {
    if (typeof v === 'string') out.push(path.posix.normalize(v));
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(PKG.exports);
  walk(PKG.bin);
  return out;
}

// The entry points and the repository files they import by relative path,
// followed through every module they reach (static imports, re-exports,
// import('./...') and new URL('./...', import.meta.url): the element loads
// its stylesheets and the recording player that way).
function reachable() {
  const seen = new Set();
  const queue = entryPoints();
  while (queue.length) {
    const rel = queue.shift();
    if (seen.has(rel) || !fs.existsSync(path.join(ROOT, rel)) || !fs.statSync(path.join(ROOT, rel)).isFile()) continue;
    seen.add(rel);
    if (!/\.(m?js|cjs)$/.test(rel)) continue;
    const text = fs.readFileSync(path.join(ROOT, rel), 'utf8');
    for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bnew\s+URL\s*\(\s*|^\s*import\s*)['"](\.{1,2}\/[^'"]+)['"]/gm)) {
      queue.push(path.posix.normalize(path.posix.join(path.posix.dirname(rel), m[1])));
    }
  }
  return seen;
}

describe('the package as users install it: npm pack, installed offline into a scratch project', () => {
  let tmp;
  let scratch;
  let tarball;
  let packed;

  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pam-package-test-'));
    scratch = path.join(tmp, 'project');
    fs.mkdirSync(scratch);
    const r = run('npm', ['pack', '--json', '--pack-destination', tmp, '--ignore-scripts'], ROOT);
    ok(r, 'npm pack');
    packed = JSON.parse(r.stdout)[0];
    tarball = path.join(tmp, packed.filename);
    fs.writeFileSync(path.join(scratch, 'package.json'), `${JSON.stringify({ name: 'scratch-user-project', version: '1.0.0', private: true }, null, 2)}\n`);
    const inst = run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', tarball], scratch);
    ok(inst, 'npm install --offline <tarball>');
  });
  after(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  const installed = () => path.join(scratch, 'node_modules', NAME);
  const write = (name, text) => fs.writeFileSync(path.join(scratch, name), text);
  const json = (r, what) => {
    ok(r, what);
    try {
      return JSON.parse(r.stdout.trim().split('\n').pop());
    } catch {
      throw new Error(`${what}: not JSON: ${r.stdout.slice(0, 500)}`);
    }
  };

  it('npm pack --dry-run lists only what users need: package.json, README, pkg/web and pkg/node, every "exports"/"bin" target and what it imports; no tests, target/, src/, www/ or examples/', () => {
    const r = run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], ROOT);
    ok(r, 'npm pack --dry-run');
    const files = JSON.parse(r.stdout)[0].files.map((f) => f.path).sort();
    const used = reachable();
    const needed = new Set([...used, ...[...used].map((f) => path.posix.join(path.posix.dirname(f), 'package.json'))]);
    const extra = files.filter((f) => !SHIPPED.test(f) && !needed.has(f));
    assert.deepEqual(extra, [], 'files users do not need');
    for (const f of REQUIRED) assert.ok(files.includes(f), `${f} is in the package`);
    for (const f of used) assert.ok(files.includes(f), `${f}, an entry point or what one imports, is in the package`);
    for (const f of entryPoints()) assert.ok(files.includes(f), `the "exports"/"bin" target ${f} is in the package`);
    assert.ok(!files.some((f) => /^(tests|target|src|www|examples|benches|fuzz|scripts|tools|docs|node_modules)\//.test(f) && !needed.has(f)), 'no repository folder beyond what the CLI imports');
    assert.deepEqual(files, packed.files.map((f) => f.path).sort(), 'the dry run lists what npm pack packed');
  });

  it('the tarball installed offline: exactly the packed files, no dependencies pulled in', () => {
    const list = [];
    const walk = (d, rel = '') => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const r = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) walk(path.join(d, e.name), r);
        else list.push(r);
      }
    };
    walk(installed());
    assert.deepEqual(list.sort(), packed.files.map((f) => f.path).sort());
    assert.deepEqual(fs.readdirSync(path.join(scratch, 'node_modules')).filter((n) => !n.startsWith('.')), [NAME], 'nothing but the package itself');
    assert.equal(PKG.dependencies, undefined, 'the package has no dependencies');
  });

  it('require() in Node (CommonJS): pkg/node, ready at once, the captured inputs byte for byte, errors with a stable code', () => {
    write('cases.json', JSON.stringify({ cases: CASES, bad: BAD_REQUEST }));
    write('check.cjs', `const m = require(${JSON.stringify(NAME)});
const { cases, bad } = require('./cases.json');
let error = null;
try { m.planLaunch(bad); } catch (e) { error = { name: e.name, code: e.code, isError: e instanceof Error, message: e.message }; }
console.log(JSON.stringify({ resolved: require.resolve(${JSON.stringify(NAME)}), inputs: cases.map((c) => JSON.stringify(m.planLaunch(c.request).inputs)), error, codes: m.errorCodes() }));
`);
    const out = json(run(process.execPath, ['check.cjs'], scratch), 'node check.cjs');
    assert.equal(out.resolved, path.join(installed(), 'pkg', 'node', 'pam_launch_wasm.js'));
    assert.deepEqual(out.inputs, CASES.map((c) => c.inputs));
    assert.equal(out.error.name, 'PamLaunchError');
    assert.equal(out.error.isError, true);
    assert.equal(out.error.code, 'INVALID_INPUT');
    assert.match(out.error.message, /protocol/);
    assert.ok(out.codes.includes('INVALID_INPUT') && out.codes.includes('DAG_DECRYPT_FAILED'), `errorCodes(): ${out.codes}`);
  });

  it('import in Node (ES module): the same package through the "node" condition, named exports, the captured inputs, errors with a stable code', () => {
    write('check.mjs', `import { planLaunch, errorCodes } from ${JSON.stringify(NAME)};
import fs from 'node:fs';
const { cases, bad } = JSON.parse(fs.readFileSync(new URL('./cases.json', import.meta.url), 'utf8'));
let error = null;
try { planLaunch(bad); } catch (e) { error = { name: e.name, code: e.code, isError: e instanceof Error }; }
console.log(JSON.stringify({ resolved: import.meta.resolve(${JSON.stringify(NAME)}), inputs: cases.map((c) => JSON.stringify(planLaunch(c.request).inputs)), error, codes: errorCodes().length }));
`);
    const out = json(run(process.execPath, ['check.mjs'], scratch), 'node check.mjs');
    assert.equal(out.resolved, `file://${path.join(installed(), 'pkg', 'node', 'pam_launch_wasm.js')}`);
    assert.deepEqual(out.inputs, CASES.map((c) => c.inputs));
    assert.deepEqual(out.error, { name: 'PamLaunchError', code: 'INVALID_INPUT', isError: true });
    assert.ok(out.codes > 10);
  });

  it('a page importing the installed package as an ES module (its "browser" export), served over loopback with the strict CSP, in headless Chromium: the wasm loads and plans, no CSP violation', async () => {
    const exp = JSON.parse(fs.readFileSync(path.join(installed(), 'package.json'), 'utf8')).exports['.'];
    assert.equal(typeof exp.browser, 'string', 'exports["."].browser');
    const moduleUrl = `/node_modules/${NAME}/${path.posix.normalize(exp.browser)}`;
    assert.ok(fs.existsSync(path.join(scratch, moduleUrl)), `${moduleUrl} exists in the installed package`);
    write('index.html', '<!doctype html><meta charset="utf-8"><title>scratch</title><link rel="icon" href="data:,"><script type="module" src="main.js"></script><p id="out">loading</p>\n');
    write('main.js', `import init, { planLaunch } from ${JSON.stringify(moduleUrl)};
const out = document.getElementById('out');
try {
  await init();
  const { cases, bad } = await (await fetch('cases.json')).json();
  let error = null;
  try { planLaunch(bad); } catch (e) { error = { name: e.name, code: e.code }; }
  out.dataset.result = JSON.stringify({ inputs: cases.map((c) => JSON.stringify(planLaunch(c.request).inputs)), error });
} catch (e) {
  out.dataset.result = JSON.stringify({ failed: String(e && e.message) });
}
`);
    const server = await startTestServer({ defaults: false, mounts: { '/': scratch } });
    let browser;
    try {
      browser = await launchChromium();
      const page = await browser.newPage();
      const watched = await watchPage(page);
      const res = await page.goto(`${server.url}index.html`);
      assert.match(res.headers()['content-security-policy'], /script-src 'self' 'wasm-unsafe-eval'/);
      await page.waitForSelector('#out[data-result]', { timeout: 20000 });
      const out = JSON.parse(await page.getAttribute('#out', 'data-result'));
      assert.equal(out.failed, undefined, out.failed);
      assert.deepEqual(out.inputs, CASES.map((c) => c.inputs));
      assert.deepEqual(out.error, { name: 'PamLaunchError', code: 'INVALID_INPUT' });
      assert.deepEqual(watched.problems, [], 'no CSP violation, console error or page error');
    } finally {
      if (browser) await browser.close().catch(() => {});
      await server.close();
    }
  });

  it('the CLI through npx pam-launch: --help, plan <record.json> --json with the captured inputs and no secret, usage errors exit 2', () => {
    assert.equal(typeof PKG.bin?.['pam-launch'], 'string', 'package.json "bin": { "pam-launch": ... } (branch node)');
    const s = SCENARIOS[0];
    write('record.json', JSON.stringify(s.record));
    write('dag.json', JSON.stringify(s.dag));
    const npx = (...args) => run('npx', ['--no', '--', 'pam-launch', ...args], scratch, { timeout: 60000 });
    const help = npx('--help');
    ok(help, 'npx pam-launch --help');
    for (const w of ['plan', 'recording summarize', 'launch']) assert.ok(help.stdout.includes(w), `--help names ${w}: ${help.stdout}`);
    const plan = npx('plan', 'record.json', '--dag', 'dag.json', '--uid', s.recordUid, '--json');
    ok(plan, 'npx pam-launch plan --json');
    const out = JSON.parse(plan.stdout); // the plan as planLaunch gives it
    assert.equal(JSON.stringify(out.inputs), s.expect.inputs, 'the exact gateway inputs');
    assert.equal(out.jitMode, s.expect.jitMode);
    assert.equal(out.credentialType, s.expect.credentialType);
    const secrets = s.record.fields.filter((f) => /password|secret|seed|key/i.test(f.type)).flatMap((f) => f.value).filter((v) => typeof v === 'string' && v.length >= 6);
    assert.ok(secrets.length >= 1, 'the record holds a secret to look for');
    for (const v of secrets) assert.ok(!plan.stdout.includes(v) && !plan.stderr.includes(v), 'a record secret in the CLI output');
    const usage = npx('plan');
    assert.equal(usage.status, 2, `plan without a file: exit ${usage.status}\n${usage.stderr}`);
    assert.ok(usage.stderr.trim().length > 0, 'a usage message on stderr');
    const unknown = npx('no-such-command');
    assert.equal(unknown.status, 2, `an unknown command: exit ${unknown.status}`);
  });

  it('the README\'s "Ten lines for each user": every name its JS imports from the package exists in the installed package, every npx pam-launch command is one --help lists', () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const start = readme.indexOf('## Ten lines for each user');
    assert.ok(start >= 0, 'the README section');
    const section = readme.slice(start, readme.indexOf('\n## ', start + 3));
    const wanted = {};
    for (const m of section.matchAll(/import\s+(?:(\w+)\s*,?\s*)?(?:\{([^}]*)\})?\s*from\s*'(pam-launch-wasm(?:\/[^']*)?)'/g)) {
      const names = (m[2] || '').split(',').map((x) => x.trim()).filter(Boolean);
      wanted[m[3]] = [...new Set([...(wanted[m[3]] || []), ...names])];
    }
    assert.ok(Object.keys(wanted).length >= 2 && wanted[NAME]?.includes('launch'), `imports found: ${JSON.stringify(wanted)}`);
    write('readme-imports.mjs', `const wanted = ${JSON.stringify(wanted)};
const out = {};
for (const [spec, names] of Object.entries(wanted)) {
  try { const m = await import(spec); out[spec] = names.filter((n) => typeof m[n] !== 'function'); } catch (e) { out[spec] = \`cannot import: \${e.message}\`; }
}
console.log(JSON.stringify(out));
`);
    const out = json(run(process.execPath, ['readme-imports.mjs'], scratch), 'node readme-imports.mjs');
    assert.deepEqual(out, Object.fromEntries(Object.keys(wanted).map((k) => [k, []])), 'imports the installed package does not have');
    const commands = [...section.matchAll(/^npx pam-launch ((?:recording )?[a-z-]+)/gm)].map((m) => m[1]);
    assert.ok(commands.length >= 3, `npx lines: ${commands}`);
    const help = run('npx', ['--no', '--', 'pam-launch', '--help'], scratch, { timeout: 60000 });
    ok(help, 'npx pam-launch --help');
    for (const c of commands) assert.ok(help.stdout.includes(c), `--help lists ${c}`);
  });

  it('tsc (the repository\'s typescript) resolves the installed types in the project: a typed caller passes as CommonJS and as an ES module, the same with one type error fails on that line', () => {
    assert.ok(fs.existsSync(TSC), 'node_modules/.bin/tsc');
    write('tsconfig.json', JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, module: 'node16', moduleResolution: 'node16', target: 'es2022', lib: ['es2022', 'esnext.disposable', 'dom'], types: [], skipLibCheck: false },
      files: ['use.ts', 'use.mts'],
    }));
    const good = `import { errorCodes, launch, planLaunch } from ${JSON.stringify(NAME)};
import type { LaunchOptions, LaunchPlan, LaunchSignaling, LaunchStatus, PamLaunchErrorCode, PamSession } from ${JSON.stringify(NAME)};

export const plan: LaunchPlan = planLaunch({ recordUid: "uid", record: { type: "pamMachine", fields: [] }, jit: "auto" });
export const codes: PamLaunchErrorCode[] = errorCodes();
const signaling: LaunchSignaling = {
  send: async () => ({ is_ok: true }),
  subscribe: () => () => {},
};
export function start(canvas: HTMLCanvasElement, onstatus: (s: LaunchStatus) => void): PamSession {
  const options: LaunchOptions = { plan, signaling, canvas, onstatus };
  return launch(options);
}
export const mode: string | null = plan.jitMode;
`;
    // use.ts is a CommonJS module here (no "type": "module"), use.mts an ES
    // module: both resolve the package through its "exports".
    write('use.ts', good);
    write('use.mts', good);
    const pass = run(process.execPath, [TSC, '-p', 'tsconfig.json'], scratch);
    ok(pass, 'tsc on the typed caller');
    const trace = run(process.execPath, [TSC, '-p', 'tsconfig.json', '--listFiles'], scratch);
    ok(trace, 'tsc --listFiles');
    assert.ok(trace.stdout.includes(path.join('node_modules', NAME, 'pkg')), `the installed package's .d.ts is what tsc read:\n${trace.stdout.slice(-1500)}`);
    // The deliberate error: jitMode is JitMode | null, not a number.
    write('use.ts', good.replace('export const mode: string | null = plan.jitMode;', 'export const mode: number = plan.jitMode;'));
    const fail = run(process.execPath, [TSC, '-p', 'tsconfig.json'], scratch);
    assert.notEqual(fail.status, 0, `tsc must refuse the type error:\n${fail.stdout}`);
    const lineNo = good.split('\n').findIndex((l) => l.startsWith('export const mode')) + 1;
    assert.match(fail.stdout, new RegExp(`use\\.ts[(:]${lineNo}[,:].*TS2322`), fail.stdout);
    assert.equal(fail.stdout.trim().split('\n').filter((l) => /error TS/.test(l)).length, 1, `only that error:\n${fail.stdout}`);
  });

  it('tsc as a bundler resolves it (the web vault\'s build): the "import" types are pkg/web\'s, with init() as the default export', () => {
    write('tsconfig.bundler.json', JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, module: 'esnext', moduleResolution: 'bundler', target: 'es2022', lib: ['es2022', 'esnext.disposable', 'dom'], types: [], skipLibCheck: false },
      files: ['web.ts'],
    }));
    const web = `import init, { launch, planLaunch } from ${JSON.stringify(NAME)};
import type { InitOutput, PamSession } from ${JSON.stringify(NAME)};

export const ready: Promise<InitOutput> = init();
export function start(canvas: HTMLCanvasElement, signaling: Parameters<typeof launch>[0]["signaling"]): PamSession {
  return launch({ plan: planLaunch({ recordUid: "uid", record: { type: "pamMachine", fields: [] } }), signaling, canvas });
}
`;
    write('web.ts', web);
    const pass = run(process.execPath, [TSC, '-p', 'tsconfig.bundler.json', '--listFiles'], scratch);
    ok(pass, 'tsc -p tsconfig.bundler.json');
    assert.ok(pass.stdout.includes(path.join('node_modules', NAME, 'pkg', 'web', 'pam_launch_wasm.d.ts')), `pkg/web's .d.ts:\n${pass.stdout.slice(-800)}`);
    // init() is typed, not any: its promise is no number.
    write('web.ts', web.replace('export const ready: Promise<InitOutput> = init();', 'export const ready: number = init();'));
    const fail = run(process.execPath, [TSC, '-p', 'tsconfig.bundler.json'], scratch);
    assert.notEqual(fail.status, 0, `a number from init() must not type-check:\n${fail.stdout}`);
    assert.match(fail.stdout, /web\.ts[(:]4[,:].*TS2322/, fail.stdout);
  });
});
