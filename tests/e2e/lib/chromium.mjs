// Headless Chromium for every e2e test and benchmark, through playwright-core
// (no browser download: scripts/setup.sh installs the distribution's
// /usr/bin/chromium). The one way to find it: CHROMIUM_PATH, else that path.
import fs from 'node:fs';
import { createRequire } from 'node:module';

export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

// Quiet, deterministic, offline: no sandbox (containers), no GPU, nothing
// phoning home in the background.
export const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

// For WebRTC pages: offers carry the host's real addresses, not mDNS names
// (docs/keeper-gateway-peer.md §6).
export const WEBRTC_ARGS = ['--disable-features=WebRtcHideLocalIpsWithMdns'];

/** Why the browser tests cannot run here, or null when they can. */
export function chromiumSkipReason() {
  return fs.existsSync(CHROMIUM) ? null : `no Chromium at ${CHROMIUM} (npm run setup installs it; CHROMIUM_PATH overrides)`;
}

/**
 * Launches Chromium: `ns` (from ./netns.mjs) runs it inside that network
 * namespace, `webrtc` adds WEBRTC_ARGS, `args` adds more flags.
 */
export async function launchChromium({ ns = null, webrtc = false, args = [] } = {}) {
  const { chromium } = createRequire(import.meta.url)('playwright-core');
  return chromium.launch({
    executablePath: ns ? ns.wrapper(CHROMIUM) : CHROMIUM,
    args: [...CHROMIUM_ARGS, ...(webrtc ? WEBRTC_ARGS : []), ...args],
    timeout: 30_000,
  });
}

/**
 * Collects every console message, and what a page reports as wrong: console errors and warnings,
 * uncaught exceptions, and CSP violations (as the page's own
 * securitypolicyviolation events, since Chromium words its console message
 * differently across versions). Call before the first navigation.
 */
export async function watchPage(page) {
  const problems = [];
  const messages = [];
  page.on('console', (msg) => {
    messages.push(msg.text());
    if (msg.type() === 'error' || msg.type() === 'warning') problems.push(`console.${msg.type()}: ${msg.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  await page.exposeBinding('__reportCspViolation', (_source, text) => problems.push(`CSP: ${text}`));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) =>
      window.__reportCspViolation(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'}`));
  });
  return { problems, messages };
}
