// What tests/e2e/launch.test.mjs and benches/launch/run.mjs share: why a
// launch from the launcher page cannot run here, and starting its server.
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { CHROMIUM } from './chromium.mjs';
import { netnsUnavailable } from './netns.mjs';
import { standinUnavailable } from './standin.mjs';
import { PROTOCOL_STREAMS, resolveFixture } from '../../replay/server.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export function launchUnavailable(chromium = CHROMIUM) {
  const js = path.join(ROOT, 'pkg', 'web', 'pam_launch_wasm.js');
  if (!fs.existsSync(js)) return 'pkg/web is missing (npm run build)';
  if (!/export function launch\(/.test(fs.readFileSync(js, 'utf8'))) return 'pkg/web has no launch() export (npm run build)';
  // The replay guacd plays each protocol's recording (PROTOCOL_STREAMS).
  const missing = [...new Set(Object.values(PROTOCOL_STREAMS).map((x) => resolveFixture(x.file)))].filter((f) => !fs.existsSync(f));
  return standinUnavailable() ||
    (fs.existsSync(chromium) ? null : `no Chromium at ${chromium}`) ||
    (missing.length ? `fixture ${missing.join(', ')} missing` : null) ||
    netnsUnavailable();
}

/**
 * Starts tools/serve.mjs (the launcher and its demo gateway, as npm start
 * runs them) inside `ns` with `env`. Returns the process at once and `ready`,
 * which resolves to the launcher's URL once the demo gateway is up (rejects
 * when it says Launch is unavailable, exits, or takes over 60 s). Every line
 * of its output goes to `onOutput`, also after `ready`.
 */
export function spawnLauncherServer(ns, env, { label = 'serve.mjs', onOutput = () => {} } = {}) {
  const proc = ns.spawn(process.execPath, [path.join(ROOT, 'tools', 'serve.mjs')], { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  const add = (text) => { out += text; onOutput(text); };
  proc.stdin.on('error', () => {});
  proc.stderr.on('data', (d) => add(String(d)));
  const lines = readline.createInterface({ input: proc.stdout });
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${label} did not start:\n${out}`)), 60000);
    let found = null;
    lines.on('line', (line) => {
      add(`${line}\n`);
      const m = /^pam-launch-wasm launcher: (http:\S+)/.exec(line);
      if (m) found = m[1];
      if (/^Launch is unavailable/.test(line)) { clearTimeout(timer); reject(new Error(`${label}: ${line}\n${out}`)); }
      if (found && /Ctrl-C stops/.test(line)) { clearTimeout(timer); resolve(found); }
    });
    proc.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${label} exited (${code}):\n${out}`)); });
  });
  return { proc, ready };
}

/**
 * Headless Chromium inside `ns` (real host candidates, no mDNS names) and a
 * 1280x1000 page for the launcher. Returns { browser, page }; the caller
 * closes the browser.
 */
export async function openLauncherPage(ns, chromium = CHROMIUM) {
  const { chromium: playwright } = await import('playwright-core');
  const browser = await playwright.launch({
    executablePath: ns.wrapper(chromium),
    args: ['--disable-features=WebRtcHideLocalIpsWithMdns', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
    timeout: 30000,
  });
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
    const page = await context.newPage();
    page.setDefaultTimeout(15000);
    return { browser, page };
  } catch (e) {
    await browser.close();
    throw e;
  }
}

/**
 * Stops what spawnLauncherServer started: SIGTERM (serve.mjs then stops the
 * stand-in and the replay guacd), waiting at most 5 s for it to exit.
 */
export async function stopLauncherServer(proc) {
  if (!proc || proc.exitCode !== null) return;
  const gone = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
}

/**
 * The stand-in's test endpoints, called from the launcher page (same origin,
 * so Host and Origin pass the server's checks): `signal(path, init?)` for
 * /signal/<path> as JSON, `behaviour(switches)` for POST /signal/_behaviour.
 * `getPage()` returns the current page (tests may open a new one).
 */
export function pageSignal(getPage) {
  const signal = (p, init) => getPage().evaluate(async ([u, i]) => {
    const r = await fetch(u, i ? { ...i, headers: { 'Content-Type': 'application/json' } } : undefined);
    return r.json();
  }, [`signal/${p}`, init]);
  const behaviour = (set) => signal('_behaviour', { method: 'POST', body: JSON.stringify(set) });
  return { signal, behaviour };
}
