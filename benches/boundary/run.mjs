// npm run bench (JS boundary part): planLaunch and normalizeJitSettings with
// the JS boundary through JSON text (JSON.stringify in, JSON.parse out: what
// ships) and through serde-wasm-bindgen, in Node and in headless Chromium.
// Needs the benchmark build that scripts/bench.sh makes with
// `--features bench-js-boundary` (target/bench/boundary/{node,web}). Prints
// the median (min-max) µs per call of BENCH_RUNS runs (7) per mode and the
// ratio. A benchmark, not a test: nothing here asserts a time.
import crypto from 'node:crypto';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromiumSkipReason, launchChromium } from '../../tests/e2e/lib/chromium.mjs';
import { startTestServer } from '../../tests/e2e/lib/server.mjs';
import { MODES, SETTINGS, runAll } from './cases.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const build = join(root, 'target', 'bench', 'boundary');
const runs = Number(process.env.BENCH_RUNS || 7);
const ms = Number(process.env.BENCH_MS || 400);

function stop(why) {
  console.error(`bench boundary: ${why}`);
  process.exit(1);
}
for (const f of ['node/pam_launch_wasm.js', 'web/pam_launch_wasm.js']) {
  if (!existsSync(join(build, f))) stop(`${join(build, f)} is missing (scripts/bench.sh builds it)`);
}

// The encrypted DAG edge, as in benches/plan-node.cjs.
const key = Buffer.alloc(32, 42);
const iv = Buffer.alloc(12, 7);
const c = crypto.createCipheriv('aes-256-gcm', key, iv);
const ct = Buffer.concat([c.update(JSON.stringify(SETTINGS)), c.final()]);
const dag = Buffer.concat([iv, ct, c.getAuthTag()]).toString('base64url');

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const f = (x) => (x < 10 ? x.toFixed(2) : x.toFixed(1));

function print(where, results) {
  console.log(`\n${where}: µs per call, median (min-max) of ${runs} runs; calls/s from the median`);
  console.log(`| case | ${MODES.join(' | ')} | serde-wasm-bindgen / json |`);
  console.log(`|---|${MODES.map(() => '---:').join('|')}|---:|`);
  for (const [name, byMode] of Object.entries(results)) {
    const cells = MODES.map((m) => {
      const xs = byMode[m];
      const med = median(xs);
      return `${f(med)} (${f(Math.min(...xs))}-${f(Math.max(...xs))}), ${Math.round(1e6 / med).toLocaleString('en')}/s`;
    });
    console.log(`| ${name} | ${cells.join(' | ')} | ${(median(byMode[MODES[1]]) / median(byMode[MODES[0]])).toFixed(2)}x |`);
  }
}

const nodeApi = createRequire(import.meta.url)(join(build, 'node', 'pam_launch_wasm.js'));
print(`Node ${process.version}`, runAll(nodeApi, { dag, key }, { runs, ms }));

const noChromium = chromiumSkipReason();
if (noChromium) stop(noChromium);
const server = await startTestServer({ defaults: false, mounts: { '/': here, '/boundary/': join(build, 'web') } });
const browser = await launchChromium();
try {
  const page = await browser.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(e.message));
  await page.goto(`${server.url}bench.html`);
  await page.waitForFunction(() => window.benchReady === true, null, { timeout: 30000 });
  const version = browser.version();
  const results = await page.evaluate((o) => window.runBench(o), { dag, key: [...key], runs, ms });
  if (problems.length) throw new Error(problems.join('; '));
  print(`headless Chromium ${version}`, results);
} finally {
  await browser.close();
  await server.close();
}
