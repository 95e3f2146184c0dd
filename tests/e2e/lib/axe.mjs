// The accessibility scan of the Chromium tests: axe-core (from npm, run in
// the page) over a page or a part of it. The page keeps its strict CSP:
// axe's source goes in through Playwright's evaluate (the DevTools protocol,
// which a page's CSP does not govern), never as a <script> of the page.
//
//   const violations = await axeScan(page);           // serious and critical only
//   assert.deepEqual(summarizeViolations(violations), []);
import fs from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
let source = null;

function axeSource() {
  if (source === null) source = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  return source;
}

/**
 * Runs axe-core in `page` (or in `frame`) over `context` (a selector, or the
 * whole document) and returns the violations whose impact is in `impacts`
 * (default: serious and critical), each as axe reports it.
 */
export async function axeScan(page, { context = null, impacts = ['serious', 'critical'], rules = undefined } = {}) {
  const loaded = await page.evaluate(() => typeof globalThis.axe === 'object');
  if (!loaded) await page.evaluate(`${axeSource()}\n;undefined`);
  const result = await page.evaluate(async ({ context, rules }) => {
    // preload: false: axe would otherwise copy shadow-root stylesheets into
    // <style> elements of its own, which the page's CSP (rightly) refuses.
    const options = { resultTypes: ['violations'], preload: false };
    if (rules) options.rules = rules;
    // @ts-ignore: axe is the global the source above defines
    const r = await globalThis.axe.run(context ? document.querySelector(context) : document, options);
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => ({ target: n.target, summary: n.failureSummary })),
    }));
  }, { context, rules });
  return result.filter((v) => impacts.includes(v.impact));
}

/** One line per violation and node, for an assertion message a person can act on. */
export function summarizeViolations(violations) {
  const out = [];
  for (const v of violations) {
    for (const n of v.nodes) out.push(`${v.impact} ${v.id} (${v.help}) at ${JSON.stringify(n.target)}`);
  }
  return out;
}
