// The one static server of the tests and benchmarks: the launcher's server
// (tools/serve.mjs, with its security headers and CSP on every response) on a
// free loopback port. Extra static `mounts` (URL prefix -> directory, or one
// URL path -> one file) and handlers (`routes`) add to the launcher's own
// mounts; `defaults: false` serves only the given ones, e.g.
// startTestServer({ routes: { '/signal/': handler } }) or
// startTestServer({ defaults: false, mounts: { '/': dir, '/vendor/x.js': file } }).
import { DEFAULT_MOUNTS, startServer } from '../../../tools/serve.mjs';

export function startTestServer({ mounts = {}, routes = {}, defaults = true } = {}) {
  return startServer({ port: 0, host: '127.0.0.1', mounts: { ...(defaults ? DEFAULT_MOUNTS : {}), ...mounts }, routes });
}
