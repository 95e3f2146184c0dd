// A control for the soak's renderer RSS (not part of npm run bench; run
// `node benches/soak/control.mjs`): a page without this project's module
// decodes one small PNG SOAK_CONTROL_IMAGES times (default 100,000; the
// hour-long soak decodes about 180,000 images), draws it and closes the
// bitmap, three ways: createImageBitmap(new Blob([bytes])) (how the renderer
// decodes), WebCodecs' ImageDecoder on the bytes, and createImageBitmap of an
// ImageData (no decode). The renderer process's RSS (/proc VmRSS) and its
// shared-memory mappings (/proc maps) after a forced GC, every 20,000
// images, each way in a fresh headless Chromium. A benchmark, not a test.
import os from 'node:os';
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromiumSkipReason, launchChromium } from '../../tests/e2e/lib/chromium.mjs';
import { startTestServer } from '../../tests/e2e/lib/server.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const IMAGES = Number(process.env.SOAK_CONTROL_IMAGES || 100_000);
const STEP = 20_000;
const noChromium = chromiumSkipReason();
if (noChromium) { console.error(`bench soak control: ${noChromium}`); process.exit(1); }

async function rendererMemory(browserCdp) {
  const { processInfo } = await browserCdp.send('SystemInfo.getProcessInfo');
  const ours = processInfo.filter((p) => p.type === 'renderer').sort((a, b) => b.cpuTime - a.cpuTime)[0];
  const rss = Number(readFileSync(`/proc/${ours.id}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m)[1]) * 1024;
  const shm = readFileSync(`/proc/${ours.id}/maps`, 'utf8').split('\n').filter((l) => /memfd|shmem|\/dev\/shm/.test(l)).length;
  return { rss, shm };
}

const server = await startTestServer({ defaults: false, mounts: { '/soak/': here } });
const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');
try {
  console.log(`bench soak control: ${IMAGES} decodes of one 64x64 PNG each way, headless Chromium, ${os.cpus().length} cores, load average ${load()}`);
  console.log('| decode | images | renderer RSS (MB) | shared-memory mappings |');
  console.log('|---|---:|---:|---:|');
  for (const way of ['blob', 'imagedecoder', 'imagedata']) {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(`${server.url.replace(/\/$/, '')}/soak/control.html`);
      const cdp = await page.context().newCDPSession(page);
      const browserCdp = await browser.newBrowserCDPSession();
      const supported = await page.evaluate(async () => {
        const c = new OffscreenCanvas(64, 64);
        const x = c.getContext('2d');
        x.fillStyle = 'red';
        x.fillRect(0, 0, 30, 30);
        window.png = new Uint8Array(await (await c.convertToBlob({ type: 'image/png' })).arrayBuffer());
        return typeof ImageDecoder === 'function';
      });
      if (way === 'imagedecoder' && !supported) { console.log('| ImageDecoder | - | not in this browser | |'); continue; }
      for (let done = 0; done <= IMAGES; done += STEP) {
        if (done > 0) {
          await page.evaluate(async ([w, n]) => {
            const ctx = document.getElementById('screen').getContext('2d');
            for (let i = 0; i < n; i++) {
              let bmp;
              if (w === 'imagedecoder') {
                const d = new ImageDecoder({ data: window.png, type: 'image/png' });
                const { image } = await d.decode();
                bmp = await createImageBitmap(image);
                image.close();
                d.close();
              } else {
                bmp = await createImageBitmap(w === 'blob' ? new Blob([window.png], { type: 'image/png' }) : new ImageData(64, 64));
              }
              ctx.drawImage(bmp, 0, 0);
              bmp.close();
            }
          }, [way, STEP]);
        }
        await cdp.send('HeapProfiler.collectGarbage');
        const m = await rendererMemory(browserCdp);
        const name = { blob: 'createImageBitmap(Blob)', imagedecoder: 'ImageDecoder', imagedata: 'createImageBitmap(ImageData)' }[way];
        console.log(`| ${name} | ${done} | ${(m.rss / 1048576).toFixed(1)} | ${m.shm} |`);
      }
    } finally {
      await browser.close();
    }
  }
  console.log(`load average ${load()} at the end`);
} finally {
  await server.close();
}
