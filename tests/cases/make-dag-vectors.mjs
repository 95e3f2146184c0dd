// Writes dag-vectors.json: DAG jit_settings edges encrypted with Node's own
// crypto (AES-256-GCM, 12-byte nonce prefix, 16-byte tag suffix), so that the
// Rust decoder is checked against an independent implementation.
// Run: node tests/cases/make-dag-vectors.mjs   (the output is committed)
// Bytes are written as { "$bytes": "<standard base64>" }; every runner turns
// them into real bytes (Uint8Array in JS, Vec<u8> in Rust).
import { createCipheriv, createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';

// Deterministic test key and nonces (never real secrets).
const seed = (label, n) => createHash('sha256').update(label).digest().subarray(0, n);
const key = seed('pam-launch-wasm test record key', 32);
const otherKey = seed('pam-launch-wasm another key', 32);

function encrypt(plaintext, k = key, label = String(plaintext)) {
  const iv = seed('nonce ' + label, 12);
  const c = createCipheriv('aes-256-gcm', k, iv);
  const ct = Buffer.concat([c.update(Buffer.from(plaintext)), c.final()]);
  return Buffer.concat([iv, ct, c.getAuthTag()]);
}
const bytes = (b) => ({ $bytes: Buffer.from(b).toString('base64') });

const settings = { createEphemeral: true, ephemeralAccountType: 'linux', elevate: true, elevationMethod: 'group', elevationString: 'wheel' };
const blob = encrypt(JSON.stringify(settings));
const url = blob.toString('base64url');
const padded = url + '='.repeat((4 - (url.length % 4)) % 4);
const K = bytes(key);
const cases = [];
const add = (name, args, out) => cases.push({ name, fn: 'decodeDagJitSettings', args, ...out });

add('encrypted bytes', [bytes(blob), K], { expect: settings });
add('encrypted base64url text, no padding', [url, K], { expect: settings });
add('encrypted base64url text, padded', [padded, K], { expect: settings });
add('encrypted standard base64 text', [blob.toString('base64'), K], { expect: settings });
add('record key as base64url text', [url, key.toString('base64url')], { expect: settings });
add('encrypted content inside a DATA edge list', [[
  { path: 'jit_settings', version: 1, type: 'DATA', content: encrypt(JSON.stringify({ elevate: true }), key, 'v1').toString('base64url') },
  { path: 'jit_settings', version: 2, type: 'DATA', content: url },
], K], { expect: settings });
add('encrypted bytes inside an edge', [{ path: 'jit_settings', version: 5, type: 'DATA', content: bytes(blob) }, K], { expect: settings });
add('DELETION after an encrypted DATA edge', [[
  { path: 'jit_settings', version: 1, type: 'DATA', content: url },
  { path: 'jit_settings', version: 2, type: 'DELETION', content: null },
], K], { expect: null });
add('wrong key', [bytes(blob), bytes(otherKey)], { error: 'DAG_DECRYPT_FAILED' });
add('wrong key, text form', [url, bytes(otherKey)], { error: 'DAG_DECRYPT_FAILED' });
add('truncated to nonce + 10 bytes', [bytes(blob.subarray(0, 22)), K], { error: 'DAG_DECRYPT_FAILED' });
add('last byte of the tag cut', [bytes(blob.subarray(0, blob.length - 1)), K], { error: 'DAG_DECRYPT_FAILED' });
const flipped = Buffer.from(blob); flipped[20] ^= 1;
add('one ciphertext bit flipped', [bytes(flipped), K], { error: 'DAG_DECRYPT_FAILED' });
add('encrypted, no key given', [bytes(blob)], { error: 'DAG_DECRYPT_FAILED' });
add('decrypts, but the plaintext is not JSON', [bytes(encrypt('elevationString=wheel')), K], { error: 'DAG_INVALID_JSON' });
add('decrypts, but the plaintext is not UTF-8', [bytes(encrypt(Buffer.from([0xff, 0xfe, 0x7b]), key, 'not utf-8')), K], { error: 'DAG_INVALID_JSON' });
add('a 16-byte key is refused', [bytes(blob), bytes(key.subarray(0, 16))], { error: 'INVALID_INPUT' });
add('plaintext JSON bytes need no key', [bytes(Buffer.from(JSON.stringify(settings)))], { expect: settings });
// An edge list handed over as the JSON text (or UTF-8 bytes) of a sync response.
const listText = JSON.stringify([
  { path: 'jit_settings', version: 1, type: 'DATA', content: { createEphemeral: false } },
  { path: 'jit_settings', version: 3, type: 'DATA', content: url },
  { path: 'domain', version: 1, type: 'LINK', content: null },
]);
add('an edge list as JSON text: highest version, decrypted', [listText, K], { expect: settings });
add('an edge list as UTF-8 bytes of JSON', [bytes(Buffer.from(listText)), K], { expect: settings });
add('one edge record as JSON text', [JSON.stringify({ path: 'jit_settings', type: 'DATA', version: 1, content: settings })], { expect: settings });
add('an edge list as JSON text ending in a DELETION', [JSON.stringify([
  { path: 'jit_settings', version: 1, type: 'DATA', content: settings },
  { path: 'jit_settings', version: 2, type: 'DELETION', content: null },
])], { expect: null });

cases.push({
  name: 'planLaunch with an encrypted DAG edge and the record key',
  fn: 'planLaunch',
  args: [{
    recordUid: 'CzYUVX3cW3YOkEu2Jt4bQA',
    record: { type: 'pamMachine', title: 'Lab', fields: [{ type: 'pamSettings', value: [{ connection: { protocol: 'ssh' } }] }], custom: [] },
    dag: url, recordKey: K, jit: true,
  }],
  ordered: true,
  expect: {
    jitMode: 'both', credentialType: 'ephemeral',
    inputs: { recordUid: 'CzYUVX3cW3YOkEu2Jt4bQA', kind: 'start', conversationType: 'ssh', trickleICE: true, credentialType: 'ephemeral',
      jitSettings: { create_ephemeral: true, ephemeral_account_type: 'linux' },
      jitElevation: { elevate: true, elevation_method: 'group', elevation_string: 'wheel' } },
    guacdCredentialsEmpty: true, warnings: [],
  },
});

writeFileSync(new URL('./dag-vectors.json', import.meta.url), JSON.stringify({
  about: 'Generated by make-dag-vectors.mjs with Node crypto. Same format as jit-cases.json; {"$bytes": base64} is binary data.',
  cases,
}, null, 1) + '\n');
console.log(`wrote ${cases.length} vectors`);
