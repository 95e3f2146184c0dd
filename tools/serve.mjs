#!/usr/bin/env node
// Local server for the launcher page: www/ at "/", the built wasm package
// (pkg/web/) at "/pkg/". Node built-ins only, loopback only.
//
//   node tools/serve.mjs             port 8080, or the next free one (up to 20 tries)
//   PORT=8123 node tools/serve.mjs   exactly that port
//
// As a module: startServer({ port: 0 }) -> { url, port, close() }, for tests.
// Later features mount extra endpoints (a signaling stand-in under /signal/,
// say) through `routes`; everything, routes included, gets SECURITY_HEADERS.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// The one place the page's Content Security Policy lives. www/index.html
// repeats it in a <meta> tag (minus frame-ancestors, which meta ignores) for
// hosts that serve the static files without headers; the e2e test checks
// that both agree. 'wasm-unsafe-eval' lets WebAssembly compile without
// allowing eval(); connect-src 'self' covers a same-origin signaling endpoint.
export const CSP = [
  "default-src 'none'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'self'",
].join('; ');

export const SECURITY_HEADERS = {
  'Content-Security-Policy': CSP,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
};

// URL prefix -> directory. Longest prefix wins, so "/pkg/" beats "/".
export const DEFAULT_MOUNTS = {
  '/': path.join(ROOT, 'www'),
  '/pkg/': path.join(ROOT, 'pkg', 'web'),
};

const CONTENT_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm', // instantiateStreaming insists on it
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.ts': 'text/plain; charset=utf-8',
};

function sendText(res, status, text, extra = {}) {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', ...extra });
  res.end(res.req.method === 'HEAD' ? undefined : `${text}\n`);
}

// The longest prefix (mount or route; each ends in "/") that `pathname` falls
// under; "/pkg" counts as "/pkg/".
function matchPrefix(prefixes, pathname) {
  return prefixes
    .filter((p) => pathname.startsWith(p) || `${pathname}/` === p)
    .sort((a, b) => b.length - a.length)[0];
}

// The file under `dir` for `rest`, or null when it would leave `dir` (through
// "..", an encoded separator or a symlink) or is not a regular file.
async function resolveFile(dir, rest) {
  const base = await fs.promises.realpath(dir).catch(() => null);
  if (!base) return null;
  const inside = (p) => p === base || p.startsWith(base + path.sep);
  let file = path.resolve(base, `.${path.sep}${rest}`);
  if (!inside(file)) return null;
  let stat = await fs.promises.stat(file).catch(() => null);
  if (stat?.isDirectory()) {
    file = path.join(file, 'index.html');
    stat = await fs.promises.stat(file).catch(() => null);
  }
  if (!stat?.isFile()) return null;
  const real = await fs.promises.realpath(file);
  return inside(real) ? real : null;
}

async function serveStatic(req, res, mounts, pathname) {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    sendText(res, 405, 'method not allowed', { Allow: 'GET, HEAD' });
    return;
  }
  const prefix = matchPrefix(Object.keys(mounts), pathname);
  const file = prefix && (await resolveFile(mounts[prefix], pathname.slice(prefix.length)));
  if (!file) {
    sendText(res, 404, 'not found');
    return;
  }
  const type = CONTENT_TYPES[path.extname(file).toLowerCase()] || 'application/octet-stream';
  const { size } = await fs.promises.stat(file);
  res.writeHead(200, { 'Content-Type': type, 'Content-Length': size });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  fs.createReadStream(file).on('error', () => res.destroy()).pipe(res);
}

function handler({ mounts, routes }) {
  return async (req, res) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    let pathname;
    try {
      pathname = decodeURIComponent(new URL(req.url, 'http://localhost').pathname);
    } catch {
      sendText(res, 400, 'bad request');
      return;
    }
    // A NUL or a backslash has no business in a path we map onto the disk.
    if (pathname.includes('\0') || pathname.includes('\\')) {
      sendText(res, 400, 'bad request');
      return;
    }
    try {
      const route = matchPrefix(Object.keys(routes), pathname);
      if (route) await routes[route](req, res, { pathname, rest: pathname.slice(route.length) });
      else await serveStatic(req, res, mounts, pathname);
    } catch (err) {
      if (!res.headersSent) sendText(res, 500, 'internal error');
      else res.destroy(err);
    }
  };
}

function listen(server, port, host) {
  return new Promise((resolve, reject) => {
    const fail = (err) => reject(err);
    server.once('error', fail);
    server.listen(port, host, () => {
      server.off('error', fail);
      resolve(server.address().port);
    });
  });
}

/**
 * Starts the server. `routes` maps a URL prefix to `(req, res, { pathname, rest })`
 * and takes precedence over the static `mounts` (URL prefix -> directory).
 * `tries` > 1 walks up to that many consecutive ports while the port is busy.
 */
export async function startServer({
  port = 8080,
  host = '127.0.0.1',
  mounts = DEFAULT_MOUNTS,
  routes = {},
  tries = 1,
} = {}) {
  const server = http.createServer(handler({ mounts, routes }));
  let bound;
  for (let i = 0; ; i++) {
    try {
      bound = await listen(server, port === 0 ? 0 : port + i, host);
      break;
    } catch (err) {
      if (err.code !== 'EADDRINUSE' || port === 0 || i + 1 >= tries) throw err;
    }
  }
  const hostInUrl = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${hostInUrl}:${bound}/`,
    port: bound,
    server,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections(); // keep-alive sockets would hold close() open
      }),
  };
}

async function main() {
  const fromEnv = process.env.PORT;
  const port = fromEnv === undefined || fromEnv === '' ? 8080 : Number(fromEnv);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`serve: PORT must be a port number, got "${fromEnv}"`);
    process.exit(2);
  }
  if (!fs.existsSync(path.join(DEFAULT_MOUNTS['/pkg/'], 'pam_launch_wasm.js'))) {
    console.error('serve: pkg/web/ is missing; run `npm run build` first (the page will not load the module)');
  }
  let running;
  try {
    running = await startServer({ port, tries: fromEnv ? 1 : 20 });
  } catch (err) {
    console.error(`serve: cannot listen on 127.0.0.1:${port}: ${err.message}`);
    process.exit(1);
  }
  console.log(`pam-launch-wasm launcher: ${running.url}`);
  const stop = () => running.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main();
}
