// Why a launch from the launcher page cannot run here, or null: shared by
// tests/e2e/launch.test.mjs and benches/launch/run.mjs.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { netnsUnavailable } from './netns.mjs';
import { standinUnavailable } from './standin.mjs';
import { resolveFixture } from '../../replay/server.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export function launchUnavailable(chromium) {
  const js = path.join(ROOT, 'pkg', 'web', 'pam_launch_wasm.js');
  if (!fs.existsSync(js)) return 'pkg/web is missing (npm run build)';
  if (!/export function launch\(/.test(fs.readFileSync(js, 'utf8'))) return 'pkg/web has no launch() export (npm run build)';
  const fixture = resolveFixture('ssh-live.guac');
  return standinUnavailable() ||
    (fs.existsSync(chromium) ? null : `no Chromium at ${chromium}`) ||
    (fs.existsSync(fixture) ? null : `fixture ${fixture} is missing`) ||
    netnsUnavailable();
}
