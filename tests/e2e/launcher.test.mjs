// The launcher page (www/) in headless Chromium, served by tools/serve.mjs,
// against the built package (pkg/web/; run `npm run build` first).
// node --test tests/e2e/launcher.test.mjs
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { CSP } from '../../tools/serve.mjs';
import { axeScan, summarizeViolations } from './lib/axe.mjs';
import { chromiumSkipReason, launchChromium, watchPage } from './lib/chromium.mjs';
import { startTestServer } from './lib/server.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const read = (...p) => fs.readFileSync(path.join(ROOT, ...p), 'utf8');
const SCENARIOS = [1, 2, 3].map((n) => JSON.parse(read('tests', 'fixtures', `scenario${n}.json`)));
const [S1, S2, S3] = SCENARIOS;
const api = createRequire(import.meta.url)(ROOT); // pkg/node: what the page should agree with

const TEST_TIMEOUT = { timeout: 60_000 };
const REDACTED = '•••• (redacted)';

const clone = (v) => structuredClone(v);
const pamSettings = (record) => record.fields.find((f) => f.type === 'pamSettings').value[0];

// An encrypted DAG edge as the vault stores it: nonce(12) || AES-256-GCM ciphertext || tag(16).
function sealEdge(settings, key) {
  const iv = crypto.randomBytes(12);
  const cipher = crypto.createCipheriv('aes-256-gcm', key, iv);
  const ct = Buffer.concat([cipher.update(JSON.stringify(settings), 'utf8'), cipher.final()]);
  return Buffer.concat([iv, ct, cipher.getAuthTag()]).toString('base64url');
}

describe('scenario fixtures', () => {
  test('www/examples are byte-identical copies of tests/fixtures', () => {
    for (const n of [1, 2, 3]) {
      assert.equal(read('www', 'examples', `scenario${n}.json`), read('tests', 'fixtures', `scenario${n}.json`), `scenario ${n}`);
    }
  });

  // The three payloads printed in the PR, kept as data with their source.
  const PR1979 = JSON.parse(read('tests', 'fixtures', 'commander-pr-1979-payloads.json'));
  test('fixtures hold the payloads printed in Commander PR 1979, whitespace aside', () => {
    assert.equal(PR1979.scenarios.length, SCENARIOS.length);
    for (const [i, s] of SCENARIOS.entries()) {
      assert.ok(PR1979.scenarios[i].title.startsWith(`Scenario ${i + 1} — `), PR1979.scenarios[i].title);
      assert.equal(s.expect.inputs, JSON.stringify(PR1979.scenarios[i].inputs), `scenario ${i + 1}`);
    }
  });

  test('fixtures hold the captured records and payloads of tests/cases/jit-cases.json', () => {
    const cases = JSON.parse(read('tests', 'cases', 'jit-cases.json')).cases;
    for (const [i, s] of SCENARIOS.entries()) {
      const n = i + 1;
      const captured = cases.find((c) => c.name.startsWith(`plan: scenario ${n},`) && c.name.endsWith('(captured)'));
      assert.ok(captured, `jit-cases.json has the captured scenario ${n}`);
      assert.deepEqual(s.record, captured.args[0].record);
      assert.equal(s.recordUid, captured.args[0].recordUid);
      assert.equal(s.linkedUserRecordUid, captured.args[0].linkedUserRecordUid);
      assert.equal(s.expect.inputs, JSON.stringify(captured.expect.inputs));
      // The DAG edge and the record's own settings describe the same launch.
      for (const source of [{ dag: s.dag }, { record: s.record }]) {
        assert.deepEqual(api.loadJitSettings({ record: null, ...source }), api.normalizeJitSettings(pamSettings(s.record).options.jit_settings));
      }
    }
  });
});

describe('tools/serve.mjs', () => {
  let server;
  before(async () => {
    server = await startTestServer({
      routes: { '/signal/': (req, res, { rest }) => res.end(`signal:${rest}`) },
    });
  });
  after(() => server?.close());

  test('every response, routes and errors included, carries the security headers', async () => {
    for (const [url, status] of [['', 200], ['launcher.css', 200], ['nope', 404], ['signal/abc', 200]]) {
      const res = await fetch(server.url + url);
      assert.equal(res.status, status, url);
      assert.equal(res.headers.get('content-security-policy'), CSP, url);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff', url);
      assert.equal(res.headers.get('referrer-policy'), 'no-referrer', url);
      assert.equal(res.headers.get('cache-control'), 'no-store', url);
    }
    assert.equal(await (await fetch(`${server.url}signal/abc`)).text(), 'signal:abc');
  });

  test('content types, HEAD, and methods', async () => {
    const type = async (url) => (await fetch(server.url + url, { method: 'HEAD' })).headers.get('content-type');
    assert.equal(await type(''), 'text/html; charset=utf-8');
    assert.equal(await type('launcher.js'), 'text/javascript; charset=utf-8');
    assert.equal(await type('pkg/pam_launch_wasm_bg.wasm'), 'application/wasm');
    assert.equal(await type('examples/scenario1.json'), 'application/json; charset=utf-8');
    assert.equal((await fetch(server.url, { method: 'POST' })).status, 405);
  });

  test('a rebinding Host gets 403 on every path (pages, files, routes); loopback names are answered', async () => {
    const get = (p, host) => new Promise((resolve, reject) => {
      // Host '' sends no Host header at all (setHost: false).
      http.get({ host: '127.0.0.1', port: server.port, path: p, ...(host ? { headers: { Host: host } } : { setHost: false }) }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c) => { body += c; });
        res.on('end', () => resolve({ status: res.statusCode, body }));
      }).on('error', reject);
    });
    for (const p of ['/', '/launcher.js', '/examples/scenario1.json', '/pkg/pam_launch_wasm_bg.wasm', '/signal/abc', '/nope']) {
      for (const host of [`evil.example:${server.port}`, 'evil.example', `127.0.0.1.evil.example:${server.port}`, '']) {
        const r = await get(p, host);
        // Without any Host, Node's HTTP server refuses the request itself (400).
        assert.equal(r.status, host ? 403 : 400, `${p} with Host ${JSON.stringify(host)}: ${r.status}`);
        if (host) assert.match(JSON.parse(r.body).error, /only answers its own page/);
        assert.ok(!r.body.includes('trafficEncryptionSeed') && !r.body.includes('signal:'), 'nothing of the file or route in the refusal');
      }
    }
    for (const host of [`127.0.0.1:${server.port}`, `localhost:${server.port}`]) {
      assert.equal((await get('/', host)).status, 200, host);
      assert.equal((await get('/signal/abc', host)).body, 'signal:abc', host);
    }
  });

  test('nothing outside www/ and pkg/web/ is reachable', async () => {
    const get = (p) => new Promise((resolve, reject) => {
      // fetch() would normalise the dots away; a raw request sends them as typed.
      http.get({ host: '127.0.0.1', port: server.port, path: p }, (res) => {
        res.resume();
        resolve(res.statusCode);
      }).on('error', reject);
    });
    for (const p of ['/../package.json', '/pkg/../../package.json', '/%2e%2e/package.json', '/pkg/%2e%2e%2f%2e%2e%2fpackage.json',
      '/..%2f..%2fetc%2fpasswd', '/pkg/..%5c..%5cpackage.json', '/%00', '/pkg/', '/js/']) {
      assert.ok([400, 404].includes(await get(p)), p);
    }
  });
});

describe('launcher page in Chromium', { skip: chromiumSkipReason() ?? false }, () => {
  let server;
  let browser;
  let context;

  before(async () => {
    assert.ok(fs.existsSync(path.join(ROOT, 'pkg', 'web', 'pam_launch_wasm.js')), 'pkg/web is missing: run `npm run build` first');
    // A healthy signaling endpoint, so the page shows Launch as it does under
    // npm start (nothing here launches: launch.test.mjs covers that).
    server = await startTestServer({
      routes: {
        '/signal/': (req, res, { rest }) => {
          res.setHeader('content-type', 'application/json');
          if (rest === '_health') res.end(JSON.stringify({ ok: true }));
          else { res.statusCode = 404; res.end('{}'); }
        },
      },
    });
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  // A fresh page with the module loaded, and what it reported.
  async function openLauncher({ onResponse } = {}) {
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    if (onResponse) page.on('response', onResponse);
    const watched = await watchPage(page);
    const response = await page.goto(server.url);
    await page.waitForSelector('#module-status[data-state="ready"]');
    return { page, response, ...watched };
  }

  // Types a scenario into the form, as a user pasting it would.
  async function paste(page, { recordUid, linkedUserRecordUid, record, dag }, { recordKey = '' } = {}) {
    await page.fill('#record-uid', recordUid);
    await page.fill('#linked-uid', linkedUserRecordUid ?? '');
    await page.fill('#dag', typeof dag === 'string' ? dag : dag ? JSON.stringify(dag, null, 2) : '');
    await page.fill('#record-key', recordKey);
    await page.fill('#record', typeof record === 'string' ? record : JSON.stringify(record, null, 2));
    return settled(page);
  }

  // Waits out the input debounce, then reads the plan card.
  async function settled(page) {
    await page.waitForFunction(() => document.getElementById('plan').dataset.state !== 'idle');
    await page.waitForTimeout(300);
    return page.evaluate(() => {
      const text = (id) => document.getElementById(id).textContent;
      const error = document.getElementById('error');
      return {
        state: document.getElementById('plan').dataset.state,
        jit: document.getElementById('jit').checked,
        mode: text('mode'),
        modeKey: document.getElementById('mode').dataset.mode,
        credentialType: text('credential-type'),
        warnings: [...document.querySelectorAll('#warnings li')].map((li) => li.textContent),
        inputs: text('inputs'),
        error: error.hidden ? null : { code: text('error-code'), message: text('error-message') },
      };
    });
  }

  // Everything the page shows or holds as text, and everything it logged.
  async function everythingVisible(page, messages) {
    const dom = await page.evaluate(() => `${document.documentElement.outerHTML}\n${document.body.innerText}`);
    return `${dom}\n${messages.join('\n')}`;
  }

  test('(a) loads with a strict CSP, no console errors and no CSP violations', TEST_TIMEOUT, async () => {
    const wasmTypes = [];
    const { page, response, problems } = await openLauncher({
      onResponse: (r) => r.url().endsWith('.wasm') && wasmTypes.push(r.headers()['content-type']),
    });
    const headers = response.headers();
    assert.equal(headers['content-security-policy'], CSP);
    assert.match(CSP, /'wasm-unsafe-eval'/);
    assert.doesNotMatch(CSP, /'unsafe-eval'|'unsafe-inline'/);
    assert.equal(headers['x-content-type-options'], 'nosniff');
    assert.equal(headers['referrer-policy'], 'no-referrer');
    assert.equal(headers['cache-control'], 'no-store');
    assert.deepEqual(wasmTypes, ['application/wasm']);
    const meta = await page.getAttribute('meta[http-equiv="Content-Security-Policy"]', 'content');
    assert.equal(meta, CSP.replace("; frame-ancestors 'self'", ''));
    assert.equal(await page.textContent('#module-status'), 'Ready');
    assert.equal(await page.getAttribute('#launch', 'title'), 'Launch is unavailable: load a scenario or paste a record first');
    assert.ok(await page.isDisabled('#launch'));
    assert.equal(await page.isHidden('#session'), true);
    // Load a scenario too, so the planning path runs under the policy as well.
    await page.click('[data-scenario="3"]');
    const plan = await settled(page);
    assert.equal(JSON.stringify(JSON.parse(plan.inputs)), S3.expect.inputs);
    assert.deepEqual(problems, []);
    await page.close();
  });

  test('(a) a missing build shows a load error in the status bar', TEST_TIMEOUT, async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'no-pkg-'));
    const broken = await startTestServer({ mounts: { '/pkg/': empty } });
    const page = await context.newPage();
    try {
      await page.goto(broken.url);
      await page.waitForSelector('#module-status[data-state="error"]', { timeout: 10_000 });
      assert.match(await page.textContent('#module-status'), /^Module failed to load: /);
    } finally {
      await page.close();
      await broken.close();
      fs.rmSync(empty, { recursive: true });
    }
  });

  test('(a) the static files carry no inline script, style or handler', () => {
    const html = read('www', 'index.html');
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/i, 'inline <script>');
    assert.doesNotMatch(html, /<style|\sstyle=/i, 'inline style');
    assert.doesNotMatch(html, /\son[a-z]+=/i, 'inline event handler');
    // The launcher's own modules (www/js/*.js; folders such as js/element/ have their own tests).
    const modules = fs.readdirSync(path.join(ROOT, 'www', 'js')).filter((f) => f.endsWith('.js')).map((f) => `js/${f}`);
    assert.ok(modules.includes('js/jit.js') && modules.includes('js/render.js'), modules.join(' '));
    for (const file of ['launcher.js', ...modules]) {
      const js = read('www', file);
      assert.doesNotMatch(js, /\beval\(|new Function|innerHTML|setAttribute\(['"]style|console\.log/, file);
    }
  });

  for (const [i, s] of SCENARIOS.entries()) {
    const n = i + 1;
    test(`(${n === 3 ? 'b' : 'c'}) scenario ${n} pasted: JIT preselected and the captured inputs, byte for byte`, TEST_TIMEOUT, async () => {
      const { page, problems } = await openLauncher();
      const plan = await paste(page, s);
      assert.equal(plan.error, null);
      assert.equal(plan.jit, true, 'jit: "auto" preselects JIT');
      assert.equal(JSON.stringify(JSON.parse(plan.inputs)), s.expect.inputs);
      assert.equal(plan.modeKey, s.expect.jitMode);
      assert.equal(plan.mode, { ephemeral: 'Ephemeral account', elevation: 'Elevation', both: 'Ephemeral + elevation' }[s.expect.jitMode]);
      assert.equal(plan.credentialType, s.expect.credentialType);
      assert.deepEqual(plan.warnings, []);
      if (n === 3) {
        // Unfocused, each textarea at its top: the state a reader expects.
        await page.evaluate(() => {
          document.activeElement.blur();
          for (const t of document.querySelectorAll('textarea')) t.scrollTop = 0;
          window.scrollTo(0, 0);
        });
        // To target/e2e/ (docs/launcher.png is a copy of one such run, looked at).
        fs.mkdirSync(path.join(ROOT, 'target', 'e2e'), { recursive: true });
        await page.screenshot({ path: path.join(ROOT, 'target', 'e2e', 'launcher.png') }); // the first screen
      }
      await page.click('#copy');
      assert.equal(await page.evaluate(() => navigator.clipboard.readText()), plan.inputs);
      assert.deepEqual(problems, []);
      await page.close();
    });
  }

  test('(c) the "Load scenario" buttons and the file picker fill the same form', TEST_TIMEOUT, async () => {
    const { page, problems } = await openLauncher();
    for (const [i, s] of SCENARIOS.entries()) {
      await page.click(`[data-scenario="${i + 1}"]`);
      await page.waitForFunction((uid) => document.getElementById('linked-uid').value === uid, s.linkedUserRecordUid ?? '');
      const plan = await settled(page);
      assert.equal(await page.inputValue('#record-uid'), s.recordUid);
      assert.deepEqual(JSON.parse(await page.inputValue('#record')), s.record);
      assert.deepEqual(JSON.parse(await page.inputValue('#dag')), s.dag);
      assert.equal(JSON.stringify(JSON.parse(plan.inputs)), s.expect.inputs);
    }
    // The file picker replaces the record only: scenario 3's record in scenario 3's form.
    await page.fill('#record', '');
    await page.setInputFiles('#record-file', { name: 'record.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(S3.record)) });
    await page.waitForFunction(() => document.getElementById('record').value !== '');
    const fromFile = await settled(page);
    assert.deepEqual(JSON.parse(await page.inputValue('#record')), S3.record);
    assert.equal(JSON.stringify(JSON.parse(fromFile.inputs)), S3.expect.inputs);
    assert.deepEqual(problems, []);
    await page.close();
  });

  test('(d) JIT switched off on scenario 3: what planLaunch says, with the createEphemeral warning', TEST_TIMEOUT, async () => {
    const { page, problems } = await openLauncher();
    await paste(page, S3);
    await page.uncheck('#jit');
    const off = await settled(page);
    const expected = api.planLaunch({ recordUid: S3.recordUid, record: S3.record, dag: S3.dag, jit: false });
    assert.equal(off.jit, false);
    assert.equal(off.modeKey, 'none');
    assert.equal(off.mode, 'None');
    assert.equal(off.credentialType, expected.credentialType ?? 'none');
    assert.equal(JSON.stringify(JSON.parse(off.inputs)), JSON.stringify(expected.inputs));
    assert.equal(off.warnings.length, 1);
    assert.match(off.warnings[0], /^EPHEMERAL_RESOURCE_WITHOUT_JIT .*createEphemeral/);
    // And back on: the captured payload again.
    await page.check('#jit');
    const on = await settled(page);
    assert.equal(JSON.stringify(JSON.parse(on.inputs)), S3.expect.inputs);
    assert.deepEqual(problems, []);
    await page.close();
  });

  test('(e) an invalid record shows the error code and message in an alert', TEST_TIMEOUT, async () => {
    const { page, problems } = await openLauncher();
    const record = clone(S2.record);
    pamSettings(record).connection.protocol = 'gopher';
    const plan = await paste(page, { ...S2, record });
    assert.equal(plan.state, 'error');
    assert.equal(plan.error.code, 'INVALID_INPUT');
    assert.match(plan.error.message, /"gopher" is not a protocol/);
    assert.equal(await page.getAttribute('#error', 'role'), 'alert');
    assert.equal(plan.inputs, '', 'no stale inputs next to an error');
    assert.equal(plan.jit, false, 'not preselected when planning fails');

    await page.fill('#record', '{ "type": "pamMachine", ');
    const broken = await settled(page);
    assert.equal(broken.error.code, 'INVALID_INPUT');
    assert.match(broken.error.message, /^Record JSON is not valid JSON/);
    assert.deepEqual(problems, []);
    await page.close();
  });

  test('(f) an encrypted DAG edge: the right key plans, a wrong key is DAG_DECRYPT_FAILED, no key text anywhere', TEST_TIMEOUT, async () => {
    const { page, problems, messages } = await openLauncher();
    const key = crypto.randomBytes(32);
    const wrong = crypto.randomBytes(32);
    // Only the DAG carries the settings, so the plan proves the edge was decrypted.
    const record = clone(S3.record);
    delete pamSettings(record).options;
    const dag = sealEdge(S3.dag, key);

    const right = await paste(page, { ...S3, record, dag }, { recordKey: key.toString('base64') });
    assert.equal(right.error, null);
    assert.equal(right.jit, true);
    assert.equal(JSON.stringify(JSON.parse(right.inputs)), S3.expect.inputs);

    await page.fill('#record-key', wrong.toString('base64url'));
    const failed = await settled(page);
    assert.equal(failed.error?.code, 'DAG_DECRYPT_FAILED');
    assert.equal(failed.inputs, '');

    await page.fill('#record-key', '');
    const missing = await settled(page);
    assert.equal(missing.error?.code, 'DAG_DECRYPT_FAILED');
    assert.match(missing.error.message, /record key/);

    const shown = await everythingVisible(page, messages);
    for (const k of [key, wrong]) {
      for (const text of [k.toString('base64'), k.toString('base64url'), k.toString('hex')]) {
        assert.ok(!shown.includes(text), 'a record key appears in the page or the console');
      }
    }
    assert.deepEqual(problems, []);
    await page.close();
  });

  test('(g) secrets are redacted: a record password never reaches the page text', TEST_TIMEOUT, async () => {
    const { page, problems, messages } = await openLauncher();
    const secret = `hunter2-${crypto.randomBytes(6).toString('hex')}`;
    const record = clone(S1.record);
    record.fields.find((f) => f.type === 'password').value = [secret];
    record.custom.push({ type: 'secret', label: 'API token', value: [secret] });
    await paste(page, { ...S1, record });
    const text = await page.evaluate(() => document.body.innerText);
    assert.ok(!text.includes(secret), 'the password shows in the page text');
    assert.ok(!(await page.textContent('#plan')).includes(secret));
    assert.ok(!messages.join('\n').includes(secret), 'the password was logged');

    // redact() itself, and the render path it guards, with a payload that does carry secrets.
    const result = await page.evaluate(async ({ secret }) => {
      const { redact } = await import('/js/redact.js');
      const { renderPlan } = await import('/js/render.js');
      const sample = {
        recordUid: 'U1', userRecordUid: 'U2', pam_directory_uid_ref: 'U3', credentialType: 'linked',
        password: secret, passphrase: secret, clientSecret: secret, privateKey: secret, private_key: secret,
        token: secret, seed: secret, totp: secret, recordKey: secret,
        nested: [{ sshPassword: secret, keep: 'visible' }],
      };
      const $ = (id) => document.getElementById(id);
      const els = {
        plan: $('plan'), details: $('plan-details'), mode: $('mode'), credentialType: $('credential-type'), warnings: $('warnings'),
        noWarnings: $('no-warnings'), inputs: $('inputs'), inputsEmpty: $('inputs-empty'), copy: $('copy'),
        error: $('error'), errorCode: $('error-code'), errorMessage: $('error-message'),
      };
      renderPlan(els, { jitMode: null, credentialType: 'linked', inputs: sample, warnings: [] });
      return { redacted: redact(sample), shown: $('inputs').textContent };
    }, { secret });
    assert.deepEqual(result.redacted, {
      recordUid: 'U1', userRecordUid: 'U2', pam_directory_uid_ref: 'U3', credentialType: 'linked',
      password: REDACTED, passphrase: REDACTED, clientSecret: REDACTED, privateKey: REDACTED, private_key: REDACTED,
      token: REDACTED, seed: REDACTED, totp: REDACTED, recordKey: REDACTED,
      nested: [{ sshPassword: REDACTED, keep: 'visible' }],
    });
    assert.ok(!result.shown.includes(secret));
    assert.ok(result.shown.includes(REDACTED));
    assert.deepEqual(problems, []);
    await page.close();
  });
});

// The plan view as a product (issue 11): what will be sent, JIT in words,
// advice, keyboard, themes, narrow screens, accessibility.
describe('launcher plan view in Chromium', { skip: chromiumSkipReason() ?? false }, () => {
  let server;
  let browser;
  const contexts = {};
  const ALL = [1, 2, 3, 4, 5, 6];
  const SHOTS = path.join(ROOT, 'target', 'e2e');

  before(async () => {
    assert.ok(fs.existsSync(path.join(ROOT, 'pkg', 'web', 'pam_launch_wasm.js')), 'pkg/web is missing: run `npm run build` first');
    server = await startTestServer({
      routes: {
        '/signal/': (req, res, { rest }) => {
          res.setHeader('content-type', 'application/json');
          if (rest === '_health') res.end(JSON.stringify({ ok: true }));
          else { res.statusCode = 404; res.end('{}'); }
        },
      },
    });
    browser = await launchChromium();
    for (const scheme of ['light', 'dark']) {
      contexts[scheme] = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: scheme });
      await contexts[scheme].grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
    }
    contexts.narrow = await browser.newContext({ viewport: { width: 375, height: 740 }, colorScheme: 'light' });
    // No clipboard permission, and both ways of writing to it refused.
    contexts.denied = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await contexts.denied.addInitScript(() => {
      Object.defineProperty(navigator, 'clipboard', { value: { writeText: () => Promise.reject(new DOMException('denied', 'NotAllowedError')) } });
      document.execCommand = () => false;
    });
    fs.mkdirSync(SHOTS, { recursive: true });
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  async function open(context = contexts.light) {
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    const watched = await watchPage(page);
    await page.goto(server.url);
    await page.waitForSelector('#module-status[data-state="ready"]');
    return { page, ...watched };
  }

  // Loads example n and waits until the plan card shows it.
  async function load(page, n) {
    const uid = JSON.parse(read('www', 'examples', `scenario${n}.json`)).recordUid;
    await page.click(`[data-scenario="${n}"]`);
    await page.waitForFunction((uid) => document.getElementById('record-uid').value === uid
      && document.getElementById('plan').dataset.state !== 'idle', uid);
    await page.waitForTimeout(250);
  }

  // A record that lets the user supply the host, with JIT switched on by hand.
  async function supplyHostWithJit(page) {
    await load(page, 1);
    const record = clone(S1.record);
    pamSettings(record).allowSupplyHost = true;
    await page.fill('#record', JSON.stringify(record, null, 2));
    await page.waitForFunction(() => !document.getElementById('jit').checked);
    await page.waitForTimeout(250);
    await page.check('#jit');
    await page.waitForSelector('#error:not([hidden])');
  }

  const rows = (page) => page.evaluate(() => Object.fromEntries(
    [...document.querySelectorAll('#offer-fields .offer-row')].map((r) => [r.dataset.key, r.querySelector('.offer-value').textContent])));

  // Every leaf of the captured inputs, keyed as the plan view keys them.
  function leaves(inputs) {
    const out = {};
    for (const [k, v] of Object.entries(inputs)) {
      if (v && typeof v === 'object') for (const [k2, v2] of Object.entries(v)) out[`${k}.${k2}`] = String(v2);
      else out[k] = String(v);
    }
    return out;
  }

  // The scan itself must not make the page report anything (axe.mjs turns
  // axe's stylesheet preload off: its <style> copies would meet the CSP).
  async function assertNoAxeViolations(page, what, problems) {
    const before = problems.length;
    const violations = await axeScan(page);
    assert.deepEqual(problems.slice(before), [], `${what}: reports during the scan`);
    assert.deepEqual(summarizeViolations(violations), [], what);
  }

  for (const [i, s] of SCENARIOS.entries()) {
    const n = i + 1;
    test(`scenario ${n}: the fields of "What will be sent" are the captured inputs, plus the JIT mode and the target`, TEST_TIMEOUT, async () => {
      const { page, problems } = await open();
      await load(page, n);
      const shown = await rows(page);
      const host = s.record.fields.find((f) => f.type === 'pamHostname').value[0];
      assert.deepEqual(shown, { ...leaves(JSON.parse(s.expect.inputs)), jitMode: s.expect.jitMode, target: `${host.hostName}:${host.port}` });
      // Unticking trickle ICE changes what will be sent, in the list and in the JSON.
      await page.uncheck('#trickle');
      await page.waitForFunction(() => document.querySelector('[data-key="trickleICE"] .offer-value').textContent === 'false');
      assert.equal(JSON.parse(await page.textContent('#inputs')).trickleICE, false);
      await page.check('#trickle');
      await page.waitForFunction(() => document.querySelector('[data-key="trickleICE"] .offer-value').textContent === 'true');
      assert.equal(JSON.stringify(JSON.parse(await page.textContent('#inputs'))), s.expect.inputs);
      assert.deepEqual(problems, []);
      await page.close();
    });
  }

  test('JIT in words before launch: the temporary account and its host, the group granted, the 120 s', TEST_TIMEOUT, async () => {
    const { page, problems } = await open();
    const lines = () => page.$$eval('#jit-lines li', (li) => li.map((l) => l.textContent));
    await load(page, 1);
    assert.equal(await page.isVisible('#jit-view'), true);
    const one = await lines();
    assert.equal(one.length, 1);
    assert.match(one[0], /^Ephemeral: the gateway creates a temporary linux account on 10\.0\.0\.5 .*up to 120 s\.$/);
    await load(page, 2);
    const two = await lines();
    assert.equal(two.length, 1);
    assert.match(two[0], /^Elevation: adds the linked user to the groups wheel and sudo /);
    await load(page, 3);
    const three = await lines();
    assert.equal(three.length, 2);
    assert.match(three[0], /temporary linux account on 10\.0\.0\.5/);
    assert.match(three[1], /^Elevation: adds the temporary account to the group wheel /);
    // No JIT: the RDP demo record, and scenario 3 with JIT switched off.
    await load(page, 4);
    assert.equal(await page.isHidden('#jit-view'), true);
    await load(page, 3);
    await page.uncheck('#jit');
    await page.waitForFunction(() => document.getElementById('jit-view').hidden);
    assert.deepEqual(problems, []);
    await page.close();
  });

  test('a JIT_WITH_SUPPLY_HOST record: the code, the message and what to change in the record', TEST_TIMEOUT, async () => {
    const { page, problems } = await open();
    await supplyHostWithJit(page);
    assert.equal(await page.textContent('#error-code'), 'JIT_WITH_SUPPLY_HOST');
    assert.match(await page.textContent('#error-message'), /allowSupplyHost/);
    assert.equal(await page.isVisible('#error-advice'), true);
    assert.match(await page.textContent('#error-advice'), /^What to change: Turn off 'Allow users to supply the host' in the record's PAM settings.*or launch without JIT/);
    await page.evaluate(() => document.activeElement.blur());
    await page.locator('#plan').screenshot({ path: path.join(SHOTS, 'plan-error.png') });
    // Switched off again: a plan, and no advice left over.
    await page.uncheck('#jit');
    await page.waitForFunction(() => document.getElementById('plan').dataset.state === 'planned');
    assert.equal(await page.isHidden('#error'), true);
    // An error another part of the page writes into the card (a refusal at launch) gets its advice too.
    await page.evaluate(() => {
      document.getElementById('error-code').textContent = 'GATEWAY_REFUSED';
      document.getElementById('error-message').textContent = 'the gateway refused the launch: the domain account needs a pamDirectory';
      document.getElementById('error').hidden = false;
    });
    await page.waitForSelector('#error-advice:not([hidden])');
    assert.match(await page.textContent('#error-advice-text'), /pamDirectory/);
    assert.deepEqual(problems, []);
    await page.close();
  });

  test('warnings carry what to change: scenario 3 with JIT off', TEST_TIMEOUT, async () => {
    const { page, problems } = await open();
    await load(page, 3);
    await page.uncheck('#jit');
    await page.waitForFunction(() => document.querySelectorAll('#warnings li').length === 1);
    assert.match(await page.textContent('#warnings li'), /^EPHEMERAL_RESOURCE_WITHOUT_JIT .*What to change: Turn on 'Just-in-time access'/);
    assert.deepEqual(problems, []);
    await page.close();
  });

  test('keyboard only: Tab reaches every control in order with a visible focus ring, and Copy works from the keyboard', TEST_TIMEOUT, async () => {
    const { page, problems } = await open();
    await load(page, 3);
    await page.waitForSelector('#launch:not([disabled])');
    // A click on the page's heading: the next Tab starts from the top of the page.
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.click('h1');
    // Every focusable control the page has, in document order.
    const expected = await page.evaluate(() => [...document.querySelectorAll('a[href], button:not([disabled]), input, textarea, [tabindex="0"]')]
      .filter((e) => !e.closest('[hidden]'))
      .map((e) => e.id || e.getAttribute('aria-label') || e.textContent.trim()));
    const seen = [];
    for (let i = 0; i < expected.length + 2; i++) {
      await page.keyboard.press('Tab');
      const info = await page.evaluate(() => {
        const e = document.activeElement;
        if (!e || e === document.body) return null;
        // The file input is invisible: its label draws the ring.
        const ringed = e.type === 'file' ? e.closest('label') : e;
        const cs = getComputedStyle(ringed);
        return {
          name: e.id || e.getAttribute('aria-label') || e.textContent.trim(),
          ring: cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) >= 2,
          label: e.labels?.[0]?.textContent.trim() || e.getAttribute('aria-label') || e.getAttribute('aria-labelledby') || e.textContent.trim(),
        };
      });
      if (!info) break;
      if (seen.length && info.name === seen[0].name) break; // wrapped around
      seen.push(info);
    }
    assert.deepEqual(seen.map((s) => s.name), expected);
    for (const s of seen) {
      assert.ok(s.ring, `${s.name} has no visible focus ring`);
      assert.ok(s.label, `${s.name} has no label`);
    }
    const names = seen.map((s) => s.name);
    for (const want of ['record-uid', 'linked-uid', 'record', 'dag', 'record-key', 'record-file', 'jit', 'Copy Record UID', 'copy', 'trickle', 'launch']) {
      assert.ok(names.includes(want), `Tab never reaches ${want}`);
    }
    assert.ok(names.indexOf('jit') < names.indexOf('Copy Record UID') && names.indexOf('copy') < names.indexOf('launch'), names.join(' > '));

    // Copy by keyboard: Enter on a field's Copy, Space on the JSON's.
    await page.focus('[data-copy-field="jitElevation.elevation_string"]');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.getElementById('copy-status').textContent !== '');
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), 'wheel');
    assert.equal(await page.textContent('#copy-status'), 'Copied Groups or roles granted');
    await page.focus('#copy');
    await page.keyboard.press('Space');
    await page.waitForFunction(() => document.getElementById('copy-status').textContent === 'Copied the gateway inputs');
    assert.equal(JSON.stringify(JSON.parse(await page.evaluate(() => navigator.clipboard.readText()))), S3.expect.inputs);
    assert.equal(await page.getAttribute('#copy-status', 'role'), 'status');
    assert.deepEqual(problems, []);
    await page.close();
  });

  test('Copy with the clipboard denied: the value is selected and the live region says to press Ctrl+C', TEST_TIMEOUT, async () => {
    const { page, problems } = await open(contexts.denied);
    await load(page, 1);
    await page.click('[data-copy-field="recordUid"]');
    await page.waitForFunction(() => document.getElementById('copy-status').textContent !== '');
    assert.match(await page.textContent('#copy-status'), /^Copying was blocked: Record UID is selected, press Ctrl\+C/);
    assert.equal(await page.evaluate(() => window.getSelection().toString()), S1.recordUid);
    assert.deepEqual(problems, []);
    await page.close();
  });

  test('375 px wide: no horizontal scroll, the example buttons wrap, the plan stays readable', TEST_TIMEOUT, async () => {
    const { page, problems } = await open(contexts.narrow);
    const width = () => page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(await width() <= 375, `idle: ${await width()} px`);
    for (const n of ALL) {
      await load(page, n);
      assert.ok(await width() <= 375, `scenario ${n}: ${await width()} px`);
      // Nothing of the plan card sticks out of it.
      const outside = await page.evaluate(() => {
        const card = document.getElementById('plan').getBoundingClientRect();
        return [...document.querySelectorAll('#plan *')].filter((e) => {
          const r = e.getBoundingClientRect();
          return r.width > 0 && (r.right > card.right + 0.5 || r.left < card.left - 0.5);
        }).map((e) => e.id || e.className);
      });
      assert.deepEqual(outside, [], `scenario ${n}`);
    }
    const tops = await page.$$eval('[data-scenario]', (b) => new Set(b.map((x) => Math.round(x.getBoundingClientRect().top))).size);
    assert.ok(tops > 1, 'the example buttons are on one line');
    const rights = await page.$$eval('[data-scenario]', (b) => Math.max(...b.map((x) => x.getBoundingClientRect().right)));
    assert.ok(rights <= 375, `an example button ends at ${rights} px`);
    await load(page, 3);
    await page.evaluate(() => { document.activeElement.blur(); window.scrollTo(0, 0); });
    // The plan card's top at 375 px: the JIT text and the first fields.
    const top = await page.evaluate(() => document.getElementById('plan').getBoundingClientRect().top + window.scrollY);
    await page.screenshot({ path: path.join(SHOTS, 'launcher-375.png'), fullPage: true, clip: { x: 0, y: Math.max(0, top - 12), width: 375, height: 900 } });
    await supplyHostWithJit(page);
    assert.ok(await width() <= 375, `error: ${await width()} px`);
    assert.deepEqual(problems, []);
    await page.close();
  });

  for (const scheme of ['light', 'dark']) {
    test(`axe, ${scheme}: no serious or critical violation idle, planned (every example) and in error`, { timeout: 120_000 }, async () => {
      const { page, problems } = await open(contexts[scheme]);
      assert.equal(await page.evaluate(() => matchMedia('(prefers-color-scheme: dark)').matches), scheme === 'dark');
      await assertNoAxeViolations(page, `${scheme}, idle`, problems);
      for (const n of ALL) {
        await load(page, n);
        await assertNoAxeViolations(page, `${scheme}, scenario ${n}`, problems);
      }
      await load(page, 3);
      await page.evaluate(() => { document.activeElement.blur(); for (const t of document.querySelectorAll('textarea')) t.scrollTop = 0; });
      if (scheme === 'light') {
        await page.locator('#plan').screenshot({ path: path.join(SHOTS, 'plan-view.png') });
      } else {
        await page.screenshot({ path: path.join(SHOTS, 'launcher-dark.png') }); // the first screen
      }
      await page.uncheck('#jit'); // a warning with its advice
      await page.waitForFunction(() => document.querySelectorAll('#warnings li').length === 1);
      await assertNoAxeViolations(page, `${scheme}, warning`, problems);
      await supplyHostWithJit(page);
      await assertNoAxeViolations(page, `${scheme}, JIT_WITH_SUPPLY_HOST`, problems);
      await page.fill('#record', '{ "type": ');
      await page.waitForFunction(() => document.getElementById('error-code').textContent === 'INVALID_INPUT');
      await assertNoAxeViolations(page, `${scheme}, invalid JSON`, problems);
      // The dark theme is the theme's, not the browser's defaults on light colours.
      const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      assert.equal(bg, scheme === 'dark' ? 'rgb(17, 19, 24)' : 'rgb(243, 244, 246)');
      assert.deepEqual(problems, []);
      await page.close();
    });
  }
});
