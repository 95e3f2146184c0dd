// npm run bench (Guacamole part): serves the bench page on 127.0.0.1, runs it
// in Debian's headless Chromium, and prints this project next to
// guacamole-common-js 1.6.0 (and 1.5.0), with ratios. A benchmark, not a test.
import { readFileSync, existsSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromiumSkipReason, launchChromium } from '../../tests/e2e/lib/chromium.mjs';
import { startTestServer } from '../../tests/e2e/lib/server.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const fixtures = join(root, 'tests', 'fixtures', 'guac');

// No figures without their inputs: a missing input, or any non-2xx answer to
// the page, stops the bench with that error (exit 1).
function stop(why) {
  console.error(`bench guac: ${why}`);
  process.exit(1);
}
const files = (process.env.BENCH_FILES || 'ssh-session-long.guac,vnc-session-long.guac').split(',');
const vendor16 = join(root, 'node_modules/@glokon/guacamole-common-js/lib/esm/guacamole.js');
const vendor15 = join(root, 'node_modules/guacamole-common-js/dist/esm/guacamole-common.js');
for (const [what, file] of [
  ...files.map((f) => [`recording ${f}`, join(fixtures, f)]),
  ['pkg/web (npm run build)', join(root, 'pkg', 'web', 'pam_launch_wasm.js')],
  ['guacamole-common-js 1.6.0', vendor16],
  ['guacamole-common-js 1.5.0', vendor15],
]) {
  if (!existsSync(file)) stop(`${what} is missing: ${file}`);
}
const noChromium = chromiumSkipReason();
if (noChromium) stop(noChromium);

const server = await startTestServer({
  defaults: false,
  mounts: {
    '/': here,
    '/pkg/web/': join(root, 'pkg', 'web'),
    '/fixtures/': fixtures,
    '/vendor/guacamole-common-js-1.6.0.js': vendor16,
    '/vendor/guacamole-common-js-1.5.0.js': vendor15,
  },
});
const url = `${server.url}bench.html`;

const browser = await launchChromium({ args: ['--enable-precise-memory-info', '--js-flags=--expose-gc'] });
let results;
const failed = [];
try {
  const page = await browser.newPage();
  page.on('pageerror', (e) => failed.push(`page error: ${e.message}`));
  page.on('response', (r) => { if (r.status() < 200 || r.status() > 299) failed.push(`HTTP ${r.status()} for ${r.url()}`); });
  page.on('requestfailed', (r) => failed.push(`${r.failure()?.errorText ?? 'failed'} for ${r.url()}`));
  const first = await page.goto(url);
  if (!first || !first.ok()) throw new Error(`HTTP ${first?.status()} for ${url}`);
  await page.waitForFunction(() => window.benchReady === true, null, { timeout: 30000 });
  results = await page.evaluate((o) => window.runBench(o), { files, runs: Number(process.env.BENCH_RUNS || 7), repeat: Number(process.env.BENCH_REPEAT || 8) });
} catch (e) {
  failed.push(e.message.split('\n')[0]);
} finally {
  await browser.close();
  await server.close();
}
if (failed.length) stop(`no figures: ${failed.join('; ')}`);

const mb = (bytes, ms) => (bytes / 1e6) / (ms / 1000);
const mi = (n, ms) => (n / 1e6) / (ms / 1000);
const f1 = (x) => x.toFixed(1);
console.log(`\nChromium ${browser.version()} headless, ${files.length} recordings, medians`);
console.log('\n| recording | parse (16 KiB messages) | this project | guacamole-common-js 1.6.0 (+TextDecoder) | ratio |');
console.log('|---|---|---:|---:|---:|');
for (const r of results) {
  const p = r.parse;
  const n = p.counts[0];
  console.log(`| ${r.file} ×${r.bytes / p.one_bytes} | instruction-aligned | ${f1(mb(r.bytes, p.ours))} MB/s, ${f1(mi(n, p.ours))} M instr/s | ${f1(mb(r.bytes, p.common16))} MB/s, ${f1(mi(n, p.common16))} M instr/s | **${f1(p.common16 / p.ours)}x** |`);
  console.log(`| | raw 16 KiB cuts | ${f1(mb(r.bytes, p.ours_raw))} MB/s, ${f1(mi(n, p.ours_raw))} M instr/s | ${f1(mb(r.bytes, p.common16_raw))} MB/s, ${f1(mi(n, p.common16_raw))} M instr/s | **${f1(p.common16_raw / p.ours_raw)}x** |`);
  console.log(`| | npm guacamole-common-js 1.5.0, raw cuts | | ${f1(mb(r.bytes, p.common15_raw))} MB/s | ${f1(p.common15_raw / p.ours_raw)}x |`);
  console.log(`| | 1.5.0 on aligned messages, one copy (${(p.one_bytes / 1e6).toFixed(1)} MB) | | ${f1(mb(p.one_bytes, p.common15_aligned_one))} MB/s (1.6.0: ${f1(mb(p.one_bytes, p.common16_aligned_one))}) | quadratic |`);
  if (new Set(p.counts).size !== 1) console.log(`  (instruction counts disagree: ${p.counts.join(', ')})`);
}
console.log('\n| recording | replay-render (all frames drawn) | this project | guacamole-common-js 1.6.0 | ratio | frames | peak JS heap growth (ours / common-js) | wasm memory (ours) | final pixels differing |');
console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|');
for (const r of results) {
  const x = r.replay;
  console.log(`| ${r.file} | 16 KiB aligned messages | ${Math.round(x.ours)} ms | ${Math.round(x.common16)} ms | **${f1(x.common16 / x.ours)}x** | ${x.frames_ours}/${x.frames_expected} | ${f1(x.heap_ours / 1e6)} / ${f1(x.heap_common / 1e6)} MB | ${f1(x.wasm_memory / 1e6)} MB | ${x.pixel_diff.diff} of ${x.pixel_diff.total} |`);
}
for (const f of ['pkg/web/pam_launch_wasm_bg.wasm']) {
  const b = readFileSync(join(root, f));
  console.log(`\n${f}: ${b.length} bytes raw, ${gzipSync(b, { level: 9 }).length} bytes gzip -9 (after wasm-opt -Oz)`);
}
