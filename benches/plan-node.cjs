// planLaunch through wasm in Node, on the same requests as benches/plan.rs.
// Prints one JSON line per case: { name, nsPerCall, callsPerSec }.
'use strict';
const crypto = require('node:crypto');
const api = require('../');

const record = {
  type: 'pamMachine', title: 'Lab Rocky', fields: [
    { type: 'pamHostname', value: [{ hostName: 'rocky.lab', port: '22' }] },
    { type: 'login', value: ['root'] },
    { type: 'pamSettings', value: [{ connection: { protocol: 'ssh', userRecords: ['Q_luxs_ofKp-zQes7A173A'] },
      options: { jit_settings: { create_ephemeral: true, ephemeral_account_type: 'linux', elevate: true, elevation_method: 'group', elevation_string: 'wheel' } } }] },
  ], custom: [],
};
const request = { recordUid: 'CzYUVX3cW3YOkEu2Jt4bQA', record, jit: true };
const key = Buffer.alloc(32, 42);
const iv = Buffer.alloc(12, 7);
const c = crypto.createCipheriv('aes-256-gcm', key, iv);
const settings = { createEphemeral: true, ephemeralAccountType: 'linux', elevate: true, elevationMethod: 'group', elevationString: 'wheel' };
const ct = Buffer.concat([c.update(JSON.stringify(settings)), c.final()]);
const text = Buffer.concat([iv, ct, c.getAuthTag()]).toString('base64url');

function measure(name, fn) {
  for (let i = 0; i < 2000; i++) fn(); // warm up
  let n = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0n;
  while (elapsed < 1_500_000_000n) {
    for (let i = 0; i < 1000; i++) fn();
    n += 1000;
    elapsed = process.hrtime.bigint() - start;
  }
  const ns = Number(elapsed) / n;
  console.log(JSON.stringify({ name, nsPerCall: Math.round(ns), callsPerSec: Math.round(1e9 / ns) }));
}

measure('planLaunch (record settings)', () => api.planLaunch(request));
measure('planLaunch (encrypted DAG edge)', () => api.planLaunch({ ...request, dag: text, recordKey: key }));
measure('normalizeJitSettings', () => api.normalizeJitSettings(settings));
