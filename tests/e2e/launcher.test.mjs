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
    for (const file of ['launcher.js', ...fs.readdirSync(path.join(ROOT, 'www', 'js')).map((f) => `js/${f}`)]) {
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
        });
        // To target/e2e/ (docs/launcher.png is a copy of one such run, looked at).
        fs.mkdirSync(path.join(ROOT, 'target', 'e2e'), { recursive: true });
        await page.screenshot({ path: path.join(ROOT, 'target', 'e2e', 'launcher.png'), fullPage: true });
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
