// npm run bench (player part): RecordingPlayer seek times in headless
// Chromium, from "seek called" to "drawn", with keyframes (lazy and after
// index()) against the from-start replay measured in the same run. A
// benchmark, not a test: nothing here asserts a time.
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromiumSkipReason, launchChromium } from '../../tests/e2e/lib/chromium.mjs';
import { startTestServer } from '../../tests/e2e/lib/server.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const fixtures = join(root, 'tests', 'fixtures', 'guac');
const files = (process.env.BENCH_FILES || 'vnc-session-long.guac,ssh-session-long.guac').split(',');
function stop(why) { console.error(`bench player: ${why}`); process.exit(1); }
for (const f of files) if (!existsSync(join(fixtures, f))) stop(`recording ${f} is missing`);
if (!existsSync(join(root, 'pkg/web/pam_launch_wasm.js'))) stop('pkg/web not built (npm run build)');
const noChromium = chromiumSkipReason();
if (noChromium) stop(noChromium);

const server = await startTestServer({ defaults: false, mounts: { '/': here, '/pkg/web/': join(root, 'pkg', 'web'), '/fixtures/': fixtures } });
const browser = await launchChromium();
const load0 = loadavg();
let results;
const failed = [];
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 800 } });
  page.on('pageerror', (e) => failed.push(`page error: ${e.message}`));
  await page.goto(`${server.url}bench.html`);
  await page.waitForFunction(() => window.benchReady === true, null, { timeout: 30000 });
  results = await page.evaluate((o) => window.runSeekBench(o), { files, back: Number(process.env.BENCH_BACK || 20) });
} catch (e) {
  failed.push(e.message.split('\n')[0]);
} finally {
  await browser.close();
  await server.close();
}
if (failed.length) stop(`no figures: ${failed.join('; ')}`);
const load1 = loadavg();
const ms = (x) => `${Math.round(x)}`;
const s = (st) => `${ms(st.median)} / ${ms(st.p95)} / ${ms(st.max)}`;
console.log(`\nRecordingPlayer seek, Chromium ${browser.version()} headless; load average ${load0[0].toFixed(2)} before, ${load1[0].toFixed(2)} after (${process.env.BENCH_CORES || 'shared'} cores)`);
console.log('\n| recording | first frame (ms) | index() (ms) | keyframes | seeks after index(): median / p95 / max (ms) | lazy, forward 5% steps | lazy, backward | from-start replay to 90% (ms, median) | ratio |');
console.log('|---|---:|---:|---|---:|---:|---:|---:|---:|');
for (const r of results) {
  console.log(`| ${r.file} (${(r.bytes / 1e6).toFixed(1)} MB, ${(r.duration / 1000).toFixed(0)} s) | ${ms(r.firstFrameLazy)} | ${ms(r.indexMs)} | ${r.kf.count} (${(r.kf.bytes / 2 ** 20).toFixed(0)} MiB, every ${Math.round(r.kf.spacing / 1024)} KiB) | **${s(r.indexed.all)}** | ${s(r.lazy.fwd)} | ${s(r.lazy.bwd)} | ${ms(r.old90.median)} | ${(r.old90.median / r.indexed.all.median).toFixed(0)}x |`);
}
if (load0[0] > 1.5 || load1[0] > 1.5) console.log('\n(the machine was busy: load average above 1.5; times are upper bounds)');
