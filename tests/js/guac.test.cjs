// GuacamoleParser and summarizeRecording from the built package, in Node,
// on the real guacd streams in tests/fixtures/guac/.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { GuacamoleParser, summarizeRecording } = require(path.join(__dirname, '..', '..'));

const dir = path.join(__dirname, '..', 'fixtures', 'guac');
const fixture = (name) => new Uint8Array(fs.readFileSync(path.join(dir, name)));

// Encodes [opcode, ...args] the way the protocol does (lengths in code points).
const encode = (inst) => inst.map((e) => `${[...e].length}.${e}`).join(',') + ';';

test('summarizeRecording reports counts, frames and duration of a guacd recording', () => {
  const s = summarizeRecording(fixture('ssh-session.guac'));
  assert.equal(s.instructions, 1022);
  assert.equal(s.frames, 86);
  assert.equal(s.counts.rect, 245);
  assert.equal(s.counts.key, 124);
  assert.ok(Math.abs(s.durationMs - 25900) <= 50, `duration ${s.durationMs}`);
  assert.equal(s.bytes, 225216);
  const v = summarizeRecording(fixture('vnc-session-long.guac'));
  assert.deepEqual([v.instructions, v.frames, v.counts.img, v.counts.mouse], [17607, 721, 4821, 400]);
});

test('GuacamoleParser gives the same instructions for any split of a live stream', () => {
  const bytes = fixture('vnc-live.guac');
  const whole = new GuacamoleParser().receive(bytes);
  assert.equal(whole.length, 4103);
  assert.equal(whole[0][0], 'args');
  assert.equal(whole[0][1], 'VERSION_1_5_0');
  assert.deepEqual(whole[whole.length - 1], ['disconnect']);
  assert.equal(whole.map(encode).join(''), Buffer.from(bytes).toString('utf8'));
  for (const chunk of [1, 5, 4096, 65536]) {
    const p = new GuacamoleParser();
    const got = [];
    for (let i = 0; i < bytes.length; i += chunk) got.push(...p.receive(bytes.subarray(i, i + chunk)));
    p.finish();
    assert.deepEqual(got, whole, `chunks of ${chunk}`);
  }
});

test('code points, not bytes or UTF-16 units, and splits inside a UTF-8 sequence', () => {
  const text = encode(['clipboard', 'é€😀x']) + encode(['nop']);
  const bytes = new TextEncoder().encode(text);
  for (let i = 0; i <= bytes.length; i++) {
    const p = new GuacamoleParser();
    const got = [...p.receive(bytes.subarray(0, i)), ...p.receive(bytes.subarray(i))];
    p.finish();
    assert.deepEqual(got, [['clipboard', 'é€😀x'], ['nop']], `cut at ${i}`);
  }
});

test('finish throws INCOMPLETE_INSTRUCTION on a partial instruction; bad input is typed', () => {
  const p = new GuacamoleParser();
  assert.deepEqual(p.receive(new TextEncoder().encode('4.sync,3.12')), []);
  assert.throws(() => p.finish(), (e) => e instanceof Error && e.code === 'INCOMPLETE_INSTRUCTION');
  const q = new GuacamoleParser();
  assert.throws(() => q.receive(new TextEncoder().encode('4.size,x.0;')), { code: 'MALFORMED_INSTRUCTION' });
  assert.throws(() => q.receive(new Uint8Array([0x33])), { code: 'MALFORMED_INSTRUCTION' }, 'stays failed');
  assert.throws(() => new GuacamoleParser().receive(new TextEncoder().encode('99999999999.a;')), { code: 'INSTRUCTION_TOO_LARGE' });
  assert.throws(() => summarizeRecording(new TextEncoder().encode('4.sync,1.1;3.nop')), { code: 'INCOMPLETE_INSTRUCTION' });
});
