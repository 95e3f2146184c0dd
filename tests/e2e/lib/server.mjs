// The launcher's server on a free loopback port, for tests. Extra static
// directories (`mounts`) and handlers (`routes`) add to the defaults, e.g.
// startTestServer({ routes: { '/signal/': handler } }).
import { DEFAULT_MOUNTS, startServer } from '../../../tools/serve.mjs';

export function startTestServer({ mounts = {}, routes = {} } = {}) {
  return startServer({ port: 0, host: '127.0.0.1', mounts: { ...DEFAULT_MOUNTS, ...mounts }, routes });
}
