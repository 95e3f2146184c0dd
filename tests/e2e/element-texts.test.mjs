// The element's texts and key tables, in Node (no browser): every close
// reason of the shared contract has its own sentence, transient as the
// contract says; the key combinations' keysyms are guacamole-common-js's
// (its keyboard table, read from node_modules, not copied here).
//
//   node --test tests/e2e/element-texts.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CODE_TEXT, REASON_TEXT, describeClose } from '../../www/js/element/close-reasons.js';
import { COMBOS, comboKeysyms } from '../../www/js/element/keys.js';

// The contract's reason names (Keeper's CloseConnection reasons, camelCase).
const CONTRACT_REASONS = ['normal', 'error', 'timeout', 'serverRefuse', 'client', 'unknown', 'invalidInstruction', 'guacdRefuse',
  'connectionLost', 'connectionFailed', 'tunnelClosed', 'adminClosed', 'errorRecording', 'guacdError', 'aiClosed',
  'addressResolutionFailed', 'decryptionFailed', 'configurationError', 'protocolError', 'upstreamClosed', 'other'];

test('every close reason of the contract has its own sentence', () => {
  assert.deepEqual(Object.keys(REASON_TEXT).sort(), [...CONTRACT_REASONS].sort());
  const texts = Object.values(REASON_TEXT);
  assert.equal(new Set(texts).size, texts.length, 'no two reasons share a sentence');
  for (const t of texts) assert.match(t, /^[A-Z].{15,}\.$/, t);
  assert.equal(REASON_TEXT.adminClosed, 'An administrator ended this session.');
  assert.match(REASON_TEXT.aiClosed, /AI/);
});

test('describeClose: the reason\'s sentence first, then the code\'s, then the message; transient from the status, else by name or code', () => {
  const admin = describeClose({ phase: 'closed', message: 'closed by the gateway', error: { code: 'GATEWAY_CLOSED', message: 'x' }, closeReason: { code: 12, name: 'adminClosed', transient: false, source: 'gateway' } });
  assert.equal(admin.text, 'An administrator ended this session.');
  assert.equal(admin.transient, false);
  assert.equal(admin.reason, 'adminClosed');
  assert.equal(admin.code, 'GATEWAY_CLOSED');
  const lost = describeClose({ message: 'lost', error: { code: 'GATEWAY_CLOSED' }, closeReason: { code: 9, name: 'connectionLost', transient: true, source: 'gateway' } });
  assert.equal(lost.transient, true);
  // A status with the name but no transient flag: the table.
  assert.equal(describeClose({ closeReason: { name: 'tunnelClosed' } }).transient, true);
  assert.equal(describeClose({ closeReason: { name: 'aiClosed' } }).transient, false);
  // No reason: the code.
  const timeout = describeClose({ message: 'the gateway did not answer within 1500 ms', error: { code: 'GATEWAY_TIMEOUT' } });
  assert.equal(timeout.text, CODE_TEXT.GATEWAY_TIMEOUT);
  assert.equal(timeout.transient, true);
  assert.equal(describeClose({ message: 'refused', error: { code: 'GATEWAY_REFUSED' } }).transient, false);
  // Neither: the message; nothing at all: a plain sentence.
  assert.equal(describeClose({ message: 'something odd', error: { code: 'NOT_A_CODE' } }).text, 'something odd');
  assert.equal(describeClose({}).text, 'The session ended.');
  // guacd's error goes after the sentence, as text.
  assert.match(describeClose({ closeReason: { name: 'guacdError' }, guacStatus: { code: 519, message: 'Upstream error' } }).text, /said: Upstream error$/);
  // Hostile shapes do not throw.
  for (const bad of [null, undefined, 5, 'x', { closeReason: 'x' }, { error: 7 }, { closeReason: { name: 12 } }]) assert.equal(typeof describeClose(bad).text, 'string');
});

// guacamole-common-js's keysym table: `"Name": [0x...` lines of its Keyboard.
function guacKeysyms() {
  const file = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'node_modules', 'guacamole-common-js', 'dist', 'esm', 'guacamole-common.js');
  const src = fs.readFileSync(file, 'utf8');
  const out = {};
  for (const m of src.matchAll(/"(\w+)":\s*\[(0x[0-9A-Fa-f]+)/g)) if (!(m[1] in out)) out[m[1]] = Number(m[2]);
  return out;
}

test('the combinations\' keysyms are guacamole-common-js\'s', () => {
  const g = guacKeysyms();
  const want = {
    'ctrl-alt-del': [g.Control, g.Alt, g.Delete],
    win: [g.Super],
    'alt-tab': [g.Alt, g.Tab],
    'print-screen': [g.PrintScreen],
    escape: [g.Escape],
  };
  for (let n = 1; n <= 12; n++) want[`ctrl-alt-f${n}`] = [g.Control, g.Alt, g[`F${n}`]];
  for (const v of Object.values(want)) for (const k of v) assert.ok(Number.isInteger(k), 'found in the table');
  assert.deepEqual(Object.fromEntries(Object.entries(COMBOS).map(([k, c]) => [k, c.keysyms])), want);
  assert.deepEqual(want['ctrl-alt-del'], [0xffe3, 0xffe9, 0xffff]);
  assert.equal(COMBOS['ctrl-alt-del'].confirm !== undefined, true, 'Ctrl+Alt+Del asks first');
});

test('comboKeysyms: names in any spelling, keysym arrays, nothing else', () => {
  assert.deepEqual(comboKeysyms('Ctrl+Alt+Del'), [0xffe3, 0xffe9, 0xffff]);
  assert.deepEqual(comboKeysyms('ctrl-alt-delete'), [0xffe3, 0xffe9, 0xffff]);
  assert.deepEqual(comboKeysyms('Win'), [0xffeb]);
  assert.deepEqual(comboKeysyms('Ctrl+Alt+F7'), [0xffe3, 0xffe9, 0xffc4]);
  assert.deepEqual(comboKeysyms([0xffe1, 65]), [0xffe1, 65]);
  for (const bad of ['', 'ctrl-alt-f13', 'toString', '__proto__', [], [0], [-1], [1.5], [2 ** 33], new Array(9).fill(65), null, 7, {}]) {
    assert.equal(comboKeysyms(bad), null, JSON.stringify(bad));
  }
  const keys = comboKeysyms('alt-tab');
  keys.push(1);
  assert.deepEqual(comboKeysyms('alt-tab'), [0xffe9, 0xff09], 'callers get a copy');
});
