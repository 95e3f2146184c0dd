// The JS API of the built package, in Node, with Node's own test runner.
// Run after `npm run build`: node --test tests/js/
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const path = require('node:path');
const fs = require('node:fs');

const root = path.join(__dirname, '..', '..');
const api = require(root); // the package directory, as a user would require it

const tables = ['jit-cases.json', 'dag-vectors.json'].map((f) =>
  JSON.parse(fs.readFileSync(path.join(root, 'tests', 'cases', f), 'utf8')));

// {"$bytes": base64} -> Uint8Array (a Buffer is one too; use a plain one).
function revive(v) {
  if (Array.isArray(v)) return v.map(revive);
  if (v && typeof v === 'object') {
    if (typeof v.$bytes === 'string') return new Uint8Array(Buffer.from(v.$bytes, 'base64'));
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, revive(x)]));
  }
  return v;
}

// Key-order-insensitive JSON text.
function canonical(v) {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

for (const table of tables) {
  for (const c of table.cases) {
    test(`${c.fn}: ${c.name}`, () => {
      const fn = api[c.fn];
      assert.equal(typeof fn, 'function', `export ${c.fn} is missing`);
      const args = revive(c.args);
      if (c.error) {
        assert.throws(() => fn(...args), (e) => {
          assert.ok(e instanceof Error, 'throws an Error object');
          assert.equal(e.code, c.error);
          assert.ok(e.message.length > 10, 'the message says what to do');
          return true;
        });
        return;
      }
      let got = fn(...args);
      if (c.fn === 'planLaunch') {
        for (const w of got.warnings) assert.ok(typeof w.message === 'string' && w.message.length > 10);
        got = { ...got, warnings: got.warnings.map((w) => ({ code: w.code })) };
      }
      if (c.ordered) assert.equal(JSON.stringify(got), JSON.stringify(c.expect));
      else assert.equal(canonical(got), canonical(c.expect));
    });
  }
}

// The three payloads captured from Commander against a live gateway (PR 1979),
// as printed there: JSON.stringify of our inputs must equal them byte for byte.
const CAPTURED = [
  [{ create_ephemeral: true, ephemeral_account_type: 'linux' }, undefined, `{
  "recordUid": "CzYUVX3cW3YOkEu2Jt4bQA",
  "kind": "start",
  "conversationType": "ssh",
  "trickleICE": true,
  "credentialType": "ephemeral",
  "jitSettings": {"create_ephemeral": true, "ephemeral_account_type": "linux"}
}`],
  [{ elevate: true, elevation_method: 'group', elevation_string: 'wheel,sudo' }, 'Q_luxs_ofKp-zQes7A173A', `{
  "recordUid": "CzYUVX3cW3YOkEu2Jt4bQA",
  "kind": "start",
  "conversationType": "ssh",
  "trickleICE": true,
  "credentialType": "linked",
  "userRecordUid": "Q_luxs_ofKp-zQes7A173A",
  "jitElevation": {"elevate": true, "elevation_method": "group", "elevation_string": "wheel,sudo"}
}`],
  [{ create_ephemeral: true, ephemeral_account_type: 'linux', elevate: true, elevation_method: 'group', elevation_string: 'wheel' }, undefined, `{
  "recordUid": "CzYUVX3cW3YOkEu2Jt4bQA",
  "kind": "start",
  "conversationType": "ssh",
  "trickleICE": true,
  "credentialType": "ephemeral",
  "jitSettings": {"create_ephemeral": true, "ephemeral_account_type": "linux"},
  "jitElevation": {"elevate": true, "elevation_method": "group", "elevation_string": "wheel"}
}`],
];

function pamMachine(jitSettings, extra = {}) {
  return {
    type: 'pamMachine', title: 'Lab Rocky',
    fields: [
      { type: 'pamHostname', value: [{ hostName: 'rocky.lab', port: '22' }] },
      { type: 'pamSettings', value: [{ connection: { protocol: 'ssh' }, options: { jit_settings: jitSettings }, ...extra }] },
    ],
    custom: [],
  };
}

CAPTURED.forEach(([settings, linked, text], i) => {
  test(`captured scenario ${i + 1}: inputs are byte-identical`, () => {
    const plan = api.planLaunch({
      recordUid: 'CzYUVX3cW3YOkEu2Jt4bQA', record: pamMachine(settings), linkedUserRecordUid: linked, jit: true,
    });
    assert.equal(JSON.stringify(plan.inputs), JSON.stringify(JSON.parse(text)));
  });
});

// Fresh AES-256-GCM edges made with Node's crypto, random key and nonce each run.
function sealEdge(obj, key) {
  const iv = crypto.randomBytes(12);
  const c = crypto.createCipheriv('aes-256-gcm', key, iv);
  const ct = Buffer.concat([c.update(JSON.stringify(obj), 'utf8'), c.final()]);
  return Buffer.concat([iv, ct, c.getAuthTag()]);
}

test('encrypted DAG edges made with Node crypto decode, in every hand-over form', () => {
  for (let i = 0; i < 50; i++) {
    const key = crypto.randomBytes(32);
    const settings = { createEphemeral: true, ephemeralAccountType: 'linux', elevate: i % 2 === 0, elevationString: `g${i}` };
    const blob = sealEdge(settings, key);
    assert.deepEqual(api.decodeDagJitSettings(blob, key), settings);
    assert.deepEqual(api.decodeDagJitSettings(new Uint8Array(blob), new Uint8Array(key)), settings);
    assert.deepEqual(api.decodeDagJitSettings(blob.buffer.slice(blob.byteOffset, blob.byteOffset + blob.length), key), settings);
    assert.deepEqual(api.decodeDagJitSettings(blob.toString('base64url'), key.toString('base64url')), settings);
    assert.deepEqual(api.decodeDagJitSettings(blob.toString('base64'), key), settings);
    const edges = [{ path: 'jit_settings', version: 1, type: 'DATA', content: sealEdge({ elevate: true }, key) },
      { path: 'jit_settings', version: 2, type: 'DATA', content: blob }];
    assert.deepEqual(api.decodeDagJitSettings(edges, key), settings);
    assert.deepEqual(api.loadJitSettings({ dag: blob.toString('base64url'), recordKey: key, record: null }),
      api.normalizeJitSettings(settings));
  }
});

test('a wrong key gives DAG_DECRYPT_FAILED and the error never carries key or plaintext', () => {
  const key = crypto.randomBytes(32);
  const wrong = crypto.randomBytes(32);
  const marker = 'sudoers-' + crypto.randomBytes(6).toString('hex');
  const blob = sealEdge({ elevate: true, elevationString: marker }, key);
  for (const k of [wrong, wrong.toString('base64url')]) {
    assert.throws(() => api.decodeDagJitSettings(blob, k), (e) => {
      assert.ok(e instanceof Error);
      assert.equal(e.code, 'DAG_DECRYPT_FAILED');
      const shown = `${e.message} ${e.stack} ${JSON.stringify(e)}`;
      for (const secret of [key.toString('hex'), key.toString('base64'), key.toString('base64url'), wrong.toString('base64url'), marker]) {
        assert.ok(!shown.includes(secret), 'error text leaks a secret');
      }
      return true;
    });
  }
  assert.throws(() => api.planLaunch({ recordUid: 'r', record: pamMachine(undefined), dag: blob, recordKey: wrong, jit: true }),
    { code: 'DAG_DECRYPT_FAILED' });
});

test('errorCodes lists every code, and thrown codes come from it', () => {
  const codes = api.errorCodes();
  assert.deepEqual([...codes].sort(), ['CONNECTION_LOST', 'DAG_DECRYPT_FAILED', 'DAG_INVALID_JSON', 'FRAME_TOO_LARGE',
    'GATEWAY_CLOSED', 'GATEWAY_REFUSED', 'GATEWAY_TIMEOUT', 'INCOMPLETE_INSTRUCTION',
    'INSTRUCTION_TOO_LARGE', 'INVALID_INPUT', 'INVALID_SIGNALING_MESSAGE', 'JIT_ELEVATION_NEEDS_LINKED_CREDENTIAL',
    'JIT_EXCLUSIVE_OPTION', 'JIT_NOT_CONFIGURED', 'JIT_WITH_SUPPLY_HOST', 'MALFORMED_FRAME', 'MALFORMED_INSTRUCTION',
    'RESOURCE_LIMIT', 'TUNNEL_DECRYPT_FAILED', 'TUNNEL_TIMEOUT', 'UNSUPPORTED']);
});

// mulberry32: a small seeded generator, so a failing run can be replayed.
function seeded(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const DEFAULT_FUZZ_SEED = 0x5eed2026;

// Hostile input: nothing may panic the module (a wasm panic aborts and leaves
// it unusable). Every call returns or throws an Error with a known code. The
// inputs come from a seeded generator: PAM_FUZZ_SEED=N replays a run (the
// seed is printed), otherwise a fixed default is used.
test('no input panics the module', (t) => {
  const seed = process.env.PAM_FUZZ_SEED === undefined ? DEFAULT_FUZZ_SEED : Number(process.env.PAM_FUZZ_SEED);
  assert.ok(Number.isInteger(seed) && seed >= 0 && seed <= 0xffffffff, `PAM_FUZZ_SEED must be an integer 0..4294967295, got ${process.env.PAM_FUZZ_SEED}`);
  t.diagnostic(`PAM_FUZZ_SEED=${seed}`);
  const random = seeded(seed);
  const codes = new Set(api.errorCodes());
  const rnd = (n) => Math.floor(random() * n);
  const bytes = (n) => Uint8Array.from({ length: n }, () => rnd(256));
  const leaves = [null, undefined, true, false, 0, 1, -1, 2, 0.5, NaN, Infinity, '', 'true', 'FALSE', 'auto', 'ssh',
    'domain', 'x'.repeat(1000), '\u{1F600}', '{', '{"a":', 'AAAA', Symbol.iterator, () => 1, 10n,
    new Uint8Array(0), new Uint8Array(28), bytes(40), new ArrayBuffer(33), new Float64Array(4), new Date(0)];
  const keys = ['createEphemeral', 'create_ephemeral', 'elevate', 'ephemeralAccountType', 'ephemeral_account_type',
    'recordUid', 'record', 'dag', 'recordKey', 'jit', 'fields', 'type', 'value', 'pamSettings', 'connection', 'protocol',
    'options', 'jit_settings', 'path', 'version', 'content', 'allowSupplyHost', 'allowSupplyUser', 'userRecords',
    'credentialOverride', 'hostOverride', 'hostRecordUid', 'linkedUserRecordUid', '__proto__', 'toJSON'];
  const gen = (depth) => {
    const r = rnd(10);
    if (depth > 4 || r < 4) return leaves[rnd(leaves.length)];
    if (r < 6) return Array.from({ length: rnd(4) }, () => gen(depth + 1));
    const o = {};
    for (let i = rnd(6); i > 0; i--) o[keys[rnd(keys.length)]] = gen(depth + 1);
    if (rnd(4) === 0) o.type = 'pamSettings';
    return o;
  };
  const fns = ['normalizeJitSettings', 'deriveJitMode', 'buildEphemeralPayload', 'buildElevationPayload',
    'provisionsCredential', 'decodeDagJitSettings', 'loadJitSettings', 'planLaunch'];
  const deep = []; let d = deep; for (let i = 0; i < 5000; i++) { d[0] = []; d = d[0]; }
  const cyclic = {}; cyclic.self = cyclic;
  const calls = 4000;
  for (let i = 0; i < calls; i++) {
    const f = fns[i % fns.length];
    const args = i < 16 ? [[deep, cyclic][i % 2], [deep, cyclic][i % 2]] : [gen(0), gen(0)];
    try {
      api[f](...args);
    } catch (e) {
      assert.ok(e instanceof Error, `${f} threw a non-Error (call ${i}, PAM_FUZZ_SEED=${seed})`);
      assert.ok(codes.has(e.code), `${f} threw without a known code: ${e && e.message} (call ${i}, PAM_FUZZ_SEED=${seed})`);
    }
  }
  // Still alive and correct afterwards.
  assert.equal(api.deriveJitMode({ create_ephemeral: true, elevate: 'TRUE' }), 'both');
});

test('the package imports as an ES module in Node too', async () => {
  const m = await import('pam-launch-wasm');
  const planLaunch = m.planLaunch || (m.default && m.default.planLaunch);
  assert.equal(typeof planLaunch, 'function');
});
