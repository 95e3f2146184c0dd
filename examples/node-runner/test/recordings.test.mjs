// Summarises Guacamole recordings and compares them with
// ../expected/recordings.json. PAM_RECORDINGS_DIR points at your own folder;
// the default is the package repository's own test recordings.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { summarizeRecording } from 'pam-launch-wasm';

const DIR = process.env.PAM_RECORDINGS_DIR
  ? new URL(`file://${process.env.PAM_RECORDINGS_DIR.replace(/\/?$/, '/')}`)
  : new URL('../../../tests/fixtures/guac/', import.meta.url);
const EXPECTED = JSON.parse(fs.readFileSync(new URL('../expected/recordings.json', import.meta.url), 'utf8'));

describe('recordings summarise to their expected counts', () => {
  for (const [file, want] of Object.entries(EXPECTED)) {
    if (file === 'about') continue;
    it(file, () => {
      const s = summarizeRecording(fs.readFileSync(new URL(file, DIR)));
      assert.deepEqual(s, { instructions: want.instructions, counts: want.counts, frames: want.frames, durationMs: want.durationMs, bytes: want.bytes });
    });
  }

  it('a cut recording is INCOMPLETE_INSTRUCTION', () => {
    const bytes = fs.readFileSync(new URL('ssh-live.guac', DIR));
    assert.throws(() => summarizeRecording(bytes.subarray(0, bytes.length - 3)), (e) => e.code === 'INCOMPLETE_INSTRUCTION');
  });
});
