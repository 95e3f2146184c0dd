// Plans every record in ../records and compares the plan with what
// ../expected/inputs.json says it must be (written down from Keeper
// Commander's captured payloads: never computed by the code under test).
// Add your own records and their expected inputs beside these.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { planLaunch } from 'pam-launch-wasm';

const RECORDS = new URL('../records/', import.meta.url);
const EXPECTED = JSON.parse(fs.readFileSync(new URL('../expected/inputs.json', import.meta.url), 'utf8'));
const files = fs.readdirSync(RECORDS).filter((f) => f.endsWith('.json')).sort();

describe('every record plans to its expected gateway inputs', () => {
  it('each record has an expectation and each expectation a record', () => {
    assert.deepEqual(files, Object.keys(EXPECTED).filter((k) => k !== 'about').sort());
  });

  for (const file of files) {
    it(file, () => {
      const { recordUid, record, dag, linkedUserRecordUid } = JSON.parse(fs.readFileSync(new URL(file, RECORDS), 'utf8'));
      const want = EXPECTED[file];
      const plan = planLaunch({ recordUid, record, dag, linkedUserRecordUid, jit: 'auto' });
      assert.equal(plan.jitMode, want.jitMode);
      assert.equal(plan.credentialType, want.credentialType);
      assert.deepEqual(plan.inputs, want.inputs);
      // The gateway gets JSON: the key order is part of the contract.
      assert.equal(JSON.stringify(plan.inputs), JSON.stringify(want.inputs));
      assert.deepEqual(plan.warnings, []);
    });
  }

  it('JIT off: no jitSettings or jitElevation for any record', () => {
    for (const file of files) {
      const { recordUid, record, dag, linkedUserRecordUid } = JSON.parse(fs.readFileSync(new URL(file, RECORDS), 'utf8'));
      const plan = planLaunch({ recordUid, record, dag, linkedUserRecordUid, jit: false });
      assert.equal(plan.jitMode, null, file);
      assert.equal(plan.inputs.jitSettings, undefined, file);
      assert.equal(plan.inputs.jitElevation, undefined, file);
    }
  });

  it('a broken record is a PamLaunchError with a stable code, never a crash', () => {
    assert.throws(() => planLaunch({ recordUid: 'x', record: { type: 'pamMachine', fields: [] }, jit: true }),
      (e) => e.name === 'PamLaunchError' && e.code === 'INVALID_INPUT');
  });
});
