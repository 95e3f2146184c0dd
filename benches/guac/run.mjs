// npm run bench (Guacamole part): serves the bench page on 127.0.0.1, runs it
// in Debian's headless Chromium, and prints this project next to
// guacamole-common-js 1.6.0 (and 1.5.0), with ratios. A benchmark, not a test.
import { createServer } from 'node:http';
import { readFileSync, existsSync, statSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join, extname, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const require = createRequire(import.meta.url);
const { chromium } = require('playwright-core');
const fixtures = join(root, 'tests', 'fixtures', 'guac');

const routes = {
  '/bench.html': join(here, 'bench.html'),
  '/bench.js': join(here, 'bench.js'),
  '/vendor/guacamole-common-js-1.6.0.js': join(root, 'node_modules/@glokon/guacamole-common-js/lib/esm/guacamole.js'),
  '/vendor/guacamole-common-js-1.5.0.js': join(root, 'node_modules/guacamole-common-js/dist/esm/guacamole-common.js'),
};
const types = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.guac': 'application/octet-stream' };

function resolve(url) {
  const path = decodeURIComponent(new URL(url, 'http://x').pathname);
  if (path.includes('..')) return null;
  if (routes[path]) return routes[path];
  if (path.startsWith('/pkg/web/')) return join(root, path);
  if (path.startsWith('/fixtures/')) return join(fixtures, path.slice('/fixtures/'.length));
  return null;
}

const server = createServer((req, res) => {
  const file = resolve(req.url);
  if (!file || !existsSync(file) || !statSync(file).isFile()) { res.writeHead(404); res.end(); return; }
  res.writeHead(200, { 'content-type': types[extname(file)] || 'application/octet-stream' });
  res.end(readFileSync(file));
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${server.address().port}/bench.html`;

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic', '--enable-precise-memory-info', '--js-flags=--expose-gc'],
});
const files = (process.env.BENCH_FILES || 'ssh-session-long.guac,vnc-session-long.guac').split(',');
let results;
try {
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.error('page error:', e.message));
  await page.goto(url);
  await page.waitForFunction(() => window.benchReady === true, null, { timeout: 30000 });
  results = await page.evaluate((o) => window.runBench(o), { files, runs: Number(process.env.BENCH_RUNS || 7), repeat: Number(process.env.BENCH_REPEAT || 8) });
} finally {
  await browser.close();
  server.close();
}

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
