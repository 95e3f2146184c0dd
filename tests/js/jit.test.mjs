// www/js/jit.js, the JIT texts of the plan view and the element, in Node (the
// page module is imported as it is). Expectations come from Keeper Commander's
// PR 1979 (the captured inputs of scenarios 1-3 in tests/fixtures/, the modes,
// account types and the 120 s ephemeral allowance), not from the module.
//
//   node --test tests/js/jit.test.mjs
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { adviceFor, describeJit, jitProgressText } from '../../www/js/jit.js';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const fixture = (n) => JSON.parse(fs.readFileSync(path.join(root, 'tests', 'fixtures', `scenario${n}.json`), 'utf8'));

// The plan as Commander captured it: mode, credential type and the inputs it sent.
const capturedPlan = (n) => {
  const f = fixture(n);
  return { jitMode: f.expect.jitMode, credentialType: f.expect.credentialType, inputs: JSON.parse(f.expect.inputs), warnings: [] };
};

// Secrets the fixtures carry: none may appear in any text.
const secrets = (n) => {
  const f = fixture(n);
  const out = [f.demo?.trafficEncryptionSeed].filter(Boolean);
  for (const field of f.record.fields) if (field.type === 'password') out.push(...field.value);
  return out;
};

function assertNoSecret(desc, n) {
  const all = JSON.stringify(desc) + jitProgressText(desc, 5000);
  for (const s of secrets(n)) assert.ok(!all.includes(s), `text quotes a secret of scenario ${n}`);
}

describe('describeJit on the captured launches', () => {
  it('scenario 1: a temporary linux account on 10.0.0.5, up to 120 s', () => {
    const f = fixture(1);
    const d = describeJit(capturedPlan(1), f.record);
    assert.equal(d.mode, 'ephemeral');
    assert.equal(d.host, '10.0.0.5');
    assert.equal(d.port, 22);
    assert.equal(d.allowanceMs, 120000);
    assert.equal(d.accountType, 'linux');
    assert.deepEqual(d.grants, []);
    assert.equal(d.lines.length, 1);
    assert.match(d.summary, /^Ephemeral: the gateway creates a temporary linux account on 10\.0\.0\.5\b.*up to 120 s/);
    assertNoSecret(d, 1);
  });

  it('scenario 2: elevation adds the linked user to the groups wheel and sudo, no allowance', () => {
    const f = fixture(2);
    const d = describeJit(capturedPlan(2), f.record);
    assert.equal(d.mode, 'elevation');
    assert.equal(d.host, '10.0.0.5');
    assert.equal(d.allowanceMs, null);
    assert.equal(d.accountType, null);
    assert.equal(d.elevationMethod, 'group');
    assert.deepEqual(d.grants, ['wheel', 'sudo']);
    assert.match(d.summary, /^Elevation: adds the linked user to the groups wheel and sudo\b/);
    assert.ok(!/temporary/.test(d.summary));
    assertNoSecret(d, 2);
  });

  it('scenario 3: both, a temporary linux account elevated to the group wheel', () => {
    const f = fixture(3);
    const d = describeJit(capturedPlan(3), f.record);
    assert.equal(d.mode, 'both');
    assert.equal(d.accountType, 'linux');
    assert.equal(d.allowanceMs, 120000);
    assert.deepEqual(d.grants, ['wheel']);
    assert.equal(d.lines.length, 2);
    assert.match(d.lines[0], /temporary linux account on 10\.0\.0\.5/);
    assert.match(d.lines[1], /^Elevation: adds the temporary account to the group wheel\b/);
    assertNoSecret(d, 3);
  });

  it('reads the mode from the inputs when the plan object has no jitMode key', () => {
    const { inputs } = capturedPlan(3);
    assert.equal(describeJit({ inputs }, fixture(3).record).mode, 'both');
    assert.equal(describeJit({ inputs: { jitElevation: { elevate: true, elevation_method: 'role', elevation_string: 'db_admin' } } }, null).mode, 'elevation');
  });

  it('is null without JIT: jitMode null, no JIT payloads, not a plan', () => {
    assert.equal(describeJit({ jitMode: null, credentialType: 'linked', inputs: { recordUid: 'x', credentialType: 'linked', userRecordUid: 'y' } }, fixture(2).record), null);
    assert.equal(describeJit({ inputs: { recordUid: 'x' } }, null), null);
    assert.equal(describeJit(null, null), null);
    assert.equal(describeJit('both', null), null);
    // jitMode null wins over stale payloads: JIT was switched off.
    assert.equal(describeJit({ jitMode: null, inputs: capturedPlan(3).inputs }, null), null);
  });

  it('a role, the account the user supplies, no host', () => {
    const d = describeJit({ jitMode: 'elevation', credentialType: 'userSupplied',
      inputs: { jitElevation: { elevate: true, elevation_method: 'role', elevation_string: 'db_admin' } } }, { type: 'pamMachine', fields: [] });
    assert.equal(d.host, null);
    assert.match(d.summary, /adds the account you supply to the role db_admin/);
    const e = describeJit(capturedPlan(1), { fields: [] });
    assert.match(e.summary, /temporary linux account on the target/);
  });

  it('host from custom fields; hostile record text is plain, single-line and clipped', () => {
    const host = `evil\n<img src=x onerror=alert(1)>${'a'.repeat(300)}`;
    const d = describeJit(capturedPlan(1), { fields: [], custom: [{ type: 'pamHostname', value: [{ hostName: host, port: 'x' }] }] });
    assert.ok(!d.host.includes('\n'));
    assert.ok(d.host.length <= 121, `host is ${d.host.length} chars`);
    assert.equal(d.port, null);
  });
});

describe('jitProgressText', () => {
  it('ephemeral: seconds elapsed against the 120 s allowance', () => {
    const d = describeJit(capturedPlan(1), fixture(1).record);
    assert.equal(jitProgressText(d, 12400), 'Creating a temporary account on 10.0.0.5: 12 s of 120 s');
    assert.equal(jitProgressText(d, 0), 'Creating a temporary account on 10.0.0.5: 0 s of 120 s');
    assert.equal(jitProgressText(d, -50), 'Creating a temporary account on 10.0.0.5: 0 s of 120 s');
  });

  it('both: the account and the group it is added to', () => {
    const d = describeJit(capturedPlan(3), fixture(3).record);
    assert.equal(jitProgressText(d, 61000), 'Creating a temporary account on 10.0.0.5 and adding it to the group wheel: 61 s of 120 s');
  });

  it('elevation: the group being granted, no allowance', () => {
    const d = describeJit(capturedPlan(2), fixture(2).record);
    assert.equal(jitProgressText(d, 3000), 'Elevating the linked user to the groups wheel and sudo: 3 s');
  });

  it('null without a description', () => {
    assert.equal(jitProgressText(null, 1000), null);
  });
});

describe('adviceFor', () => {
  it('names the record field to change for each plan refusal', () => {
    assert.match(adviceFor('JIT_WITH_SUPPLY_HOST'), /Turn off 'Allow users to supply the host' in the record's PAM settings.*or launch without JIT/);
    assert.match(adviceFor('JIT_NOT_CONFIGURED'), /Create ephemeral account.*Elevate/);
    assert.match(adviceFor('JIT_EXCLUSIVE_OPTION'), /credential override.*host override.*host record/);
    assert.match(adviceFor('JIT_ELEVATION_NEEDS_LINKED_CREDENTIAL'), /pamUser/);
    assert.match(adviceFor('DOMAIN_WITHOUT_DIRECTORY'), /pamDirectory/);
  });

  it('GATEWAY_REFUSED: a domain refusal points at the directory link, any other at the gateway', () => {
    assert.match(adviceFor('GATEWAY_REFUSED', 'the gateway refused the launch: no pamDirectory for domain account'), /pamDirectory/);
    assert.match(adviceFor('GATEWAY_REFUSED', 'the gateway refused the launch: no reason given'), /gateway is online/);
  });

  it('INVALID_INPUT by its message; nothing for codes with nothing in the record to change', () => {
    assert.match(adviceFor('INVALID_INPUT', 'the record has no pamSettings.connection.protocol; set it'), /pamSettings\.connection\.protocol/);
    assert.match(adviceFor('INVALID_INPUT', 'recordUid is required: the UID of the PAM resource record'), /record UID/);
    assert.equal(adviceFor('INVALID_INPUT', 'something else'), null);
    assert.equal(adviceFor('MALFORMED_INSTRUCTION', 'x'), null);
    assert.equal(adviceFor('NO_SUCH_CODE'), null);
    assert.equal(adviceFor(undefined), null);
  });
});

describe('with the package planLaunch', () => {
  it("describes the core's own plans of scenarios 1-3 as the captures", () => {
    const api = createRequire(import.meta.url)(root);
    const want = { 1: ['ephemeral', 'linux', []], 2: ['elevation', null, ['wheel', 'sudo']], 3: ['both', 'linux', ['wheel']] };
    for (const n of [1, 2, 3]) {
      const f = fixture(n);
      const plan = api.planLaunch({ recordUid: f.recordUid, record: f.record, dag: f.dag, linkedUserRecordUid: f.linkedUserRecordUid, jit: 'auto' });
      const d = describeJit(plan, f.record);
      assert.deepEqual([d.mode, d.accountType, d.grants], want[n], `scenario ${n}`);
    }
  });
});
