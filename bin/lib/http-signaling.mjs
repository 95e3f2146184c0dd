// launch()'s `signaling` for Node: a router adapter for a router that speaks
// JSON over HTTP, as the local gateway stand-in does (tests/gateway/standin.py,
// directly or through `npm start`'s /signal/ proxy in tools/serve.mjs):
//
//   POST <signal>/send    { action, timeoutMs, streamResponse } -> ControllerResponse
//   GET  <signal>/events  Server-Sent Events, each `data:` one router message
//                         (?conversationId=... replays that conversation from its start)
//
// It is www/js/signaling.js's contract with Node's own fetch (Node 20 has no
// EventSource, so the event stream is read from a fetch body); the send side
// is that file's own postAction, so both read the router's answers alike.
// A web vault or a test runner with Keeper's real router plugs in its own
// client instead.
//
//   import { httpSignaling } from 'pam-launch-wasm/http-signaling';
//   const signaling = httpSignaling('http://127.0.0.1:8080/');   // npm start's URL
//   launch({ plan, record, signaling, RTCPeerConnection, renderer: 'headless', ... });
//
// The URL is the server's base ("http://127.0.0.1:8080/": signal/ is added) or
// the signaling directory itself (".../signal/"). The stand-in and the proxy
// refuse a request whose Origin is not their own; a browser always sends one,
// so this adapter sends the server's own origin by default (`origin: null`
// sends none, a string sends that one). Nothing here logs, and no error
// message quotes a request or a response body: they carry encrypted offers
// and answers.

import { postAction } from '../../www/js/signaling.js';

// The router answers a launch it gave up on at timeoutMs (HTTP 504); wait a
// little longer so that its own answer wins.
const TIMEOUT_GRACE_MS = 2000;
// One Server-Sent Event is one router message: far below this.
const MAX_EVENT_BYTES = 4 << 20;

/** The signaling directory URL (ending in "/") for a base or signal URL. */
export function signalingBase(url) {
  let u;
  try {
    u = new URL(String(url));
  } catch {
    throw new TypeError(`signaling URL ${JSON.stringify(String(url).slice(0, 100))} is not a URL (e.g. http://127.0.0.1:8080/)`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new TypeError(`signaling URL must be http: or https:, got ${u.protocol}`);
  }
  if (u.username || u.password) throw new TypeError('signaling URL must not carry a user name or password');
  u.search = '';
  u.hash = '';
  if (/\/signal\/?$/.test(u.pathname)) u.pathname = u.pathname.replace(/\/?$/, '/');
  else u.pathname = `${u.pathname.replace(/\/?$/, '/')}signal/`;
  return u;
}

/**
 * Reads a Server-Sent Events body: calls onEvent(data) for each event's data
 * (its `data:` lines joined by "\n"); resolves when the body ends.
 */
export async function readEventStream(body, onEvent, { maxEventBytes = MAX_EVENT_BYTES } = {}) {
  const decoder = new TextDecoder();
  let buf = '';
  let data = [];
  let size = 0;
  const line = (l) => {
    if (l === '') {
      if (data.length) onEvent(data.join('\n'));
      data = [];
      size = 0;
      return;
    }
    if (l.startsWith(':')) return; // a comment (keepalive)
    const colon = l.indexOf(':');
    const field = colon < 0 ? l : l.slice(0, colon);
    let value = colon < 0 ? '' : l.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') {
      size += value.length;
      if (size > maxEventBytes) throw new Error(`signaling: an event of the stream is larger than ${maxEventBytes} bytes`);
      data.push(value);
    }
  };
  for await (const chunk of body) {
    buf += decoder.decode(chunk, { stream: true });
    if (buf.length > maxEventBytes + 4096 && !/[\r\n]/.test(buf)) {
      throw new Error(`signaling: a line of the event stream is longer than ${maxEventBytes} bytes`);
    }
    let m;
    // CRLF, LF or CR end a line.
    while ((m = /\r\n|\n|\r/.exec(buf)) && !(m[0] === '\r' && m.index === buf.length - 1)) {
      line(buf.slice(0, m.index));
      buf = buf.slice(m.index + m[0].length);
    }
  }
  buf += decoder.decode();
  if (buf) line(buf);
  line('');
}

/**
 * The `signaling` object of launch() over HTTP.
 * url: the server's base URL or its signal/ URL.
 * options.origin: the Origin header (default: the URL's own origin; null: none);
 * options.graceMs: the extra wait beyond timeoutMs (default 2000);
 * options.onerror(err): a handler that threw, or an event stream that ended or failed;
 * options.fetch: another fetch (tests).
 */
export function httpSignaling(url, { origin, graceMs = TIMEOUT_GRACE_MS, onerror = null, fetch: fetchImpl = globalThis.fetch } = {}) {
  const base = signalingBase(url);
  const sendUrl = new URL('send', base).href;
  const eventsUrl = new URL('events', base).href;
  const originHeader = origin === undefined ? base.origin : origin;
  const headers = (extra) => (originHeader ? { ...extra, Origin: originHeader } : extra);
  if (typeof fetchImpl !== 'function') throw new TypeError('httpSignaling needs fetch (Node 18 or newer)');

  const send = (action, opts) => postAction(action, opts, {
    url: sendUrl,
    fetch: fetchImpl,
    init: { headers: headers({ 'Content-Type': 'application/json', Accept: 'application/json' }) },
    graceMs,
    unreachable: (err) => {
      const c = err && err.cause;
      const why = (c && (c.code || c.errors?.[0]?.code || c.message)) || (err && err.message) || 'network error';
      // CONNECTION_LOST, launch()'s code for "cannot reach the other side"
      // (kept as it is: docs of LaunchSignaling.send), not a refusal.
      return Object.assign(new Error(`signaling: the router at ${base.origin} cannot be reached (${why})`), { code: 'CONNECTION_LOST' });
    },
  });

  function subscribe(handler, hint = {}) {
    if (typeof handler !== 'function') throw new TypeError('subscribe(handler): handler must be a function');
    const id = hint && typeof hint.conversationId === 'string' ? hint.conversationId : '';
    const abort = new AbortController();
    let closed = false;
    let readyResolve;
    const ready = new Promise((resolve) => { readyResolve = resolve; });
    // With a conversation id the stream starts with that conversation's
    // earlier messages, so the launch need not wait for it to connect.
    if (id) readyResolve(true);
    const fail = (err) => {
      readyResolve(false);
      if (!closed && onerror) onerror(err);
    };
    (async () => {
      const res = await fetchImpl(id ? `${eventsUrl}?conversationId=${encodeURIComponent(id)}` : eventsUrl, {
        headers: headers({ Accept: 'text/event-stream' }),
        signal: abort.signal,
      });
      if (res.status !== 200 || !String(res.headers.get('content-type') || '').startsWith('text/event-stream')) {
        res.body?.cancel().catch(() => {});
        throw new Error(`signaling: the event stream answered HTTP ${res.status}${res.status === 403 ? ' (the server refuses this Origin or Host)' : ''}`);
      }
      readyResolve(true);
      await readEventStream(res.body, (data) => {
        let msg;
        try {
          msg = JSON.parse(data);
        } catch {
          return; // keepalives and anything that is not JSON are not router messages
        }
        if (msg === null || typeof msg !== 'object' || closed) return;
        try {
          handler(msg);
        } catch (err) {
          if (onerror) onerror(err);
        }
      });
      if (!closed) throw new Error('signaling: the event stream closed');
    })().catch((err) => {
      if (closed || abort.signal.aborted) return;
      fail(err && err.message ? err : new Error('signaling: the event stream failed'));
    });
    const unsubscribe = () => {
      closed = true;
      abort.abort();
      readyResolve(false);
    };
    unsubscribe.ready = ready;
    return unsubscribe;
  }

  return { send, subscribe };
}
