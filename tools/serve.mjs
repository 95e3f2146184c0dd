#!/usr/bin/env node
// Local server for the launcher page: www/ at "/", the built wasm package
// (pkg/web/) at "/pkg/", and /signal/* proxied to the local demo gateway
// (tools/demo-gateway.mjs: the Keeper Gateway stand-in and a guacd), so that
// the page's signaling stays same-origin (CSP connect-src 'self'). Node
// built-ins only, loopback only.
//
//   node tools/serve.mjs             port 8080, or the next free one (up to 20 tries)
//   PORT=8123 node tools/serve.mjs   exactly that port
//   PAM_DEMO_GATEWAY=off             serve the page only (Launch says why it is unavailable)
//   PAM_SERVE_MAX_SECONDS=N          stop after N seconds (tests)
//   --allow-origin chrome-extension://<id>   (repeatable; or PAM_ALLOW_ORIGINS,
//                                    comma-separated) also let that browser
//                                    extension's pages use /signal/ (off by default;
//                                    examples/extension/README.md)
//
// As a module: startServer({ port: 0 }) -> { url, port, close() }, for tests;
// proxyRoute(target) and unavailableRoute(reason) are the two /signal/
// routes. Extra endpoints mount through `routes`; everything, routes
// included, gets SECURITY_HEADERS.
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
    const badHost = hostRefusal(req);
    if (badHost) {
      sendJson(res, 403, { error: `this server only answers its own page: ${badHost}` });
      return;
    }
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

// ---------------------------------------------------------------- /signal/ proxy

const MAX_SIGNAL_BODY = 4 << 20; // the stand-in's own limit
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

function sendJson(res, status, obj) {
  const body = JSON.stringify(obj);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

// The Host must be a loopback name, on every request (pages and files too): a
// page of another site that made its own name resolve to 127.0.0.1 (DNS
// rebinding) gets nothing from this server. Returns why not, or null.
export function hostRefusal(req) {
  const host = String(req.headers.host || '');
  const m = /^(\[[0-9a-f:.]+\]|[^[\]:/@\s]+)(?::\d{1,5})?$/i.exec(host);
  if (!m) return 'no valid Host header';
  if (!LOOPBACK_HOSTS.has(m[1].toLowerCase())) return `Host ${JSON.stringify(m[1].slice(0, 64))} is not this loopback server (DNS rebinding?)`;
  return null;
}

// An extension's origin: chrome-extension:// and the 32 letters a-p of its
// id. Nothing else can be allowed: no web origin, no wildcard, no path.
const EXTENSION_ORIGIN = /^chrome-extension:\/\/[a-p]{32}$/;

/**
 * The allow-list of extension origins from `--allow-origin` values and the
 * PAM_ALLOW_ORIGINS text (comma- or space-separated): a Set of exact
 * origins. Throws, saying what is accepted, on anything else.
 */
export function parseAllowedOrigins(values = [], envText = '') {
  const all = [...values, ...String(envText || '').split(/[\s,]+/)].map((v) => String(v).trim()).filter(Boolean);
  const bad = all.filter((v) => !EXTENSION_ORIGIN.test(v));
  if (bad.length) {
    throw new Error(`--allow-origin / PAM_ALLOW_ORIGINS take only browser extension origins, chrome-extension://<the 32 letters a-p of its id>, exactly; not ${bad.map((b) => JSON.stringify(b.slice(0, 80))).join(', ')}`);
  }
  return new Set(all);
}

// Only the page itself may use the gateway: the Host must be a loopback name
// (no DNS rebinding), and an Origin other than this server's, or a
// Sec-Fetch-Site of cross-site/same-site, is refused (no other web page can
// launch through it, read its log or flip its switches). The one exception
// is an Origin in `allowedOrigins` (exact extension origins, empty by
// default): an extension page with a host permission for this server sends
// its own Origin and Sec-Fetch-Site none. Returns why not, or null when the
// request is the page's own (or an allowed extension's).
export function originRefusal(req, allowedOrigins = new Set()) {
  const badHost = hostRefusal(req);
  if (badHost) return badHost;
  const host = String(req.headers.host);
  const origin = req.headers.origin;
  if (origin !== undefined && !allowedOrigins.has(origin) && origin.toLowerCase() !== `http://${host}`.toLowerCase()) {
    return `cross-origin request from ${JSON.stringify(String(origin).slice(0, 80))}`;
  }
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return `Sec-Fetch-Site ${JSON.stringify(String(site).slice(0, 20))}`;
  return null;
}

// The stand-in's routes are single names under /signal/ (send, events,
// _log, _behaviour, _health). The path goes upstream exactly as the page sent
// it, so only such a path is forwarded: no "..", no "//", no percent-encoding
// that the upstream could decode into something else.
const SIGNAL_PATH = /^\/signal\/[A-Za-z0-9_-]{1,64}$/;

function readBody(req, limit) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > limit) {
        reject(Object.assign(new Error('body too large'), { status: 413 }));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/**
 * A route that forwards /signal/* to `target` (the stand-in's base URL):
 * request bodies are read whole (bounded), responses stream through (the
 * Server-Sent Events of /signal/events included). transformSend(body), if
 * given, may rewrite the parsed JSON body of POST /signal/send.
 * allowedOrigins: extension origins (parseAllowedOrigins) that may use it
 * besides this server's own page.
 */
export function proxyRoute(target, { transformSend, allowedOrigins = new Set() } = {}) {
  const base = new URL(target);
  return async (req, res) => {
    const refused = originRefusal(req, allowedOrigins);
    if (refused) {
      sendJson(res, 403, { error: `the gateway signaling endpoint only answers this page: ${refused}` });
      return;
    }
    // The raw request target, never the decoded or normalised pathname.
    const raw = String(req.url);
    const q = raw.indexOf('?');
    const pathname = q < 0 ? raw : raw.slice(0, q);
    const search = q < 0 ? '' : raw.slice(q);
    if (!SIGNAL_PATH.test(pathname)) {
      sendJson(res, 404, { error: 'not a signaling endpoint' });
      return;
    }
    if (!['GET', 'HEAD', 'POST'].includes(req.method)) {
      res.setHeader('Allow', 'GET, HEAD, POST');
      sendJson(res, 405, { error: 'method not allowed' });
      return;
    }
    let body = null;
    if (req.method === 'POST') {
      try {
        body = await readBody(req, MAX_SIGNAL_BODY);
      } catch (err) {
        sendJson(res, err.status || 400, { error: err.status === 413 ? 'body too large' : 'bad request' });
        return;
      }
      if (transformSend && pathname === '/signal/send') {
        try {
          body = Buffer.from(JSON.stringify(transformSend(JSON.parse(body.toString('utf8')))));
        } catch {
          /* not JSON: forwarded as it is, the stand-in answers 400 */
        }
      }
    }
    // The Host the stand-in accepts (its own loopback address), not the page's.
    const headers = { Host: base.host, Accept: req.headers.accept || '*/*' };
    if (req.headers['last-event-id']) headers['Last-Event-ID'] = req.headers['last-event-id'];
    if (body) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = body.length;
    }
    const up = http.request({
      host: base.hostname, port: base.port, method: req.method, path: `${pathname}${search}`, headers,
    });
    up.on('response', (ur) => {
      const out = {};
      for (const h of ['content-type', 'content-length', 'cache-control']) {
        if (ur.headers[h] !== undefined) out[h] = ur.headers[h];
      }
      res.writeHead(ur.statusCode || 502, out);
      if (String(ur.headers['content-type'] || '').startsWith('text/event-stream')) {
        req.socket.setNoDelay(true);
        res.flushHeaders();
      }
      ur.pipe(res);
      ur.on('error', () => res.destroy());
    });
    up.on('error', () => {
      if (!res.headersSent) sendJson(res, 502, { error: 'the demo gateway is not answering' });
      else res.destroy();
    });
    // The page went away (EventSource closed, fetch aborted): drop the upstream request too.
    res.on('close', () => up.destroy());
    up.end(body || undefined);
  };
}

/**
 * The /signal/ route when there is no gateway: the reason, for the page to
 * show. signal/_health answers 200 { ok: false, error } (a failed status
 * would put a network error in the page's console); the rest 503.
 */
export function unavailableRoute(reason) {
  return (req, res, { pathname }) => {
    if (pathname === '/signal/_health') sendJson(res, 200, { ok: false, error: reason });
    else sendJson(res, 503, { error: `Launch is unavailable: ${reason}` });
  };
}

const NO_GATEWAY = 'this server has no gateway signaling (npm start embeds the local demo gateway)';

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
 * and takes precedence over the static `mounts` (URL prefix ending in "/" ->
 * directory, or one exact URL path -> one file).
 * `tries` > 1 walks up to that many consecutive ports while the port is busy.
 */
export async function startServer({
  port = 8080,
  host = '127.0.0.1',
  mounts = DEFAULT_MOUNTS,
  routes = {},
  tries = 1,
} = {}) {
  // Without a /signal/ route of its own the page hears why it cannot launch.
  routes = { '/signal/': unavailableRoute(NO_GATEWAY), ...routes };
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

// The demo gateway for `npm start`: started unless PAM_DEMO_GATEWAY=off;
// when it cannot run, the page is still served and says why.
async function startGateway() {
  if (process.env.PAM_DEMO_GATEWAY === 'off') return { reason: 'the demo gateway is off (PAM_DEMO_GATEWAY=off)' };
  try {
    const { startDemoGateway } = await import('./demo-gateway.mjs');
    return { gateway: await startDemoGateway() };
  } catch (err) {
    return { reason: err.message.split('\n')[0] };
  }
}

// The values of every `--allow-origin X` / `--allow-origin=X`; exits 2 on
// any other argument.
function allowOriginArgs(argv) {
  const out = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--allow-origin' && i + 1 < argv.length) out.push(argv[++i]);
    else if (a.startsWith('--allow-origin=')) out.push(a.slice('--allow-origin='.length));
    else {
      console.error(`serve: unknown argument ${JSON.stringify(a.slice(0, 80))} (usage: node tools/serve.mjs [--allow-origin chrome-extension://<id>]...)`);
      process.exit(2);
    }
  }
  return out;
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
  let allowedOrigins;
  try {
    allowedOrigins = parseAllowedOrigins(allowOriginArgs(process.argv.slice(2)), process.env.PAM_ALLOW_ORIGINS);
  } catch (err) {
    console.error(`serve: ${err.message}`);
    process.exit(2);
  }
  const { gateway, reason } = await startGateway();
  const routes = {
    '/signal/': gateway ? proxyRoute(gateway.url, { transformSend: gateway.transformSend, allowedOrigins }) : unavailableRoute(reason),
  };
  let running;
  try {
    running = await startServer({ port, tries: fromEnv ? 1 : 20, routes });
  } catch (err) {
    console.error(`serve: cannot listen on 127.0.0.1:${port}: ${err.message}`);
    if (gateway) await gateway.stop();
    process.exit(1);
  }
  console.log(`pam-launch-wasm launcher: ${running.url}`);
  if (gateway) {
    for (const line of gateway.lines) console.log(line);
    console.log(`  signaling: ${running.url}signal/ (proxied to the stand-in, same origin)`);
    for (const o of allowedOrigins) console.log(`  also allowed to use the signaling: the extension ${o} (--allow-origin)`);
    const { iceAddresses } = await import('./demo-gateway.mjs');
    const addrs = iceAddresses();
    if (addrs.length) {
      console.log(`  WebRTC: the ICE pair forms on this machine's own address (${addrs.slice(0, 3).join(', ')}), not on loopback`);
    } else {
      console.log('  WebRTC: this machine has no non-loopback address, and the ICE pair does not form over loopback: Launch will not connect');
    }
    console.log('  Load a scenario, then Launch. Ctrl-C stops the server and the demo gateway.');
  } else {
    console.log(`Launch is unavailable: ${reason}`);
    console.log('  The page is served; it shows the plan, and says why Launch is unavailable. `npm run setup` installs the stand-in.');
  }
  let stopping = false;
  const stop = async (code = 0) => {
    if (stopping) return;
    stopping = true;
    await Promise.all([running.close(), gateway ? gateway.stop() : null]);
    process.exit(code);
  };
  process.once('SIGINT', () => stop(0));
  process.once('SIGTERM', () => stop(0));
  process.once('SIGHUP', () => stop(0));
  // Tests bound the server's life (it runs inside a network namespace they made).
  const maxSeconds = Number(process.env.PAM_SERVE_MAX_SECONDS || 0);
  if (maxSeconds > 0) setTimeout(() => stop(0), Math.min(maxSeconds * 1000, 2 ** 31 - 1)).unref();
  if (gateway) {
    gateway.exited.then(() => {
      if (stopping) return;
      console.error('demo gateway: one of its processes exited; stopping (run npm start again)');
      stop(1);
    });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main();
}
