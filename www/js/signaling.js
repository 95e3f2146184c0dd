// The `signaling` object that launch() takes (issue 6), for a router that
// speaks JSON over HTTP: the local gateway stand-in that `npm start` embeds
// (tests/gateway/standin.py, proxied by tools/serve.mjs under /signal/).
// A web vault plugs in its own authenticated router client instead; the
// contract is the same:
//
//   send(action, { timeoutMs, streamResponse })
//     -> Promise of the gateway's ControllerResponse parsed from JSON
//        ({ is_ok | isOk, data?, error?, progress_status? }), for the
//        GatewayAction `action`. Rejects (Error with `status` for HTTP
//        errors, name "TimeoutError" when nothing came back in time) when the
//        router itself fails: that is not a ControllerResponse.
//   subscribe(handler, hint?) -> unsubscribe()
//     handler gets each router websocket message parsed from JSON: an object
//     or an array of { conversationId, type?, payload }. With
//     hint.conversationId the stream carries that conversation only, from its
//     first message (nothing is lost between subscribing and the offer);
//     unsubscribe.ready resolves once the stream is open (at once with
//     hint.conversationId, which loses nothing).
//
// URLs are relative to the page by default (same origin: the page's CSP has
// connect-src 'self'). Nothing here logs; error messages never quote a
// request or response body (they carry encrypted offers and answers).

const SEND_PATH = 'signal/send';
const EVENTS_PATH = 'signal/events';
// The router answers a launch it gave up on at timeoutMs (HTTP 504); the
// browser waits a little longer so that the router's own answer wins.
const TIMEOUT_GRACE_MS = 2000;
const DEFAULT_TIMEOUT_MS = 30000;

function endpoint(base, rel) {
  return new URL(rel, base || document.baseURI).href;
}

function timeoutError(ms) {
  const e = new Error(`signaling: the router did not answer within ${ms} ms`);
  e.name = 'TimeoutError';
  return e;
}

/**
 * One GatewayAction over HTTP: `POST how.url { action, timeoutMs,
 * streamResponse }`, resolving to the ControllerResponse parsed from JSON.
 * Shared by routerSignaling below (the page) and bin/lib/http-signaling.mjs
 * (Node), so both treat the router's answers alike.
 * how.fetch: the fetch to call; how.init: the request's other fetch options
 * (headers, cache, credentials); how.graceMs: the wait beyond timeoutMs;
 * how.unreachable(err): the Error for a request that never reached the router.
 * @param {unknown} action
 * @param {{ timeoutMs?: number, streamResponse?: boolean, signal?: AbortSignal } | undefined} options
 * @param {{ url: string | URL, fetch: typeof fetch, init?: RequestInit, graceMs?: number, unreachable: (err: any) => Error }} how
 */
export async function postAction(action, { timeoutMs = DEFAULT_TIMEOUT_MS, streamResponse = false, signal } = {}, how) {
  const limit = Number.isFinite(timeoutMs) && timeoutMs > 0 ? timeoutMs : DEFAULT_TIMEOUT_MS;
  const abort = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    abort.abort();
  }, limit + (how.graceMs ?? TIMEOUT_GRACE_MS));
  const onCallerAbort = () => abort.abort();
  if (signal) {
    if (signal.aborted) abort.abort();
    else signal.addEventListener('abort', onCallerAbort, { once: true });
  }
  try {
    let res;
    try {
      res = await how.fetch(how.url, {
        ...how.init,
        method: 'POST',
        body: JSON.stringify({ action, timeoutMs, streamResponse: Boolean(streamResponse) }),
        signal: abort.signal,
      });
    } catch (err) {
      if (timedOut) throw timeoutError(limit);
      if (abort.signal.aborted) throw Object.assign(new Error('signaling: the request was cancelled'), { name: 'AbortError' });
      throw how.unreachable(err);
    }
    let body = null;
    try {
      body = await res.json();
    } catch {
      if (timedOut) throw timeoutError(limit);
      body = null;
    }
    if (res.status !== 200) {
      // The router's own failure (504 when the gateway never answered, 403
      // when it refuses this client): only its short error text, never the
      // request.
      const why = body && typeof body.error === 'string' ? body.error.slice(0, 300) : `HTTP ${res.status}`;
      const e = /** @type {Error & { status?: number, responseCode?: unknown }} */ (new Error(`router: ${why}`));
      e.status = res.status;
      if (body && body.responseCode !== undefined) e.responseCode = body.responseCode;
      if (res.status === 504 || res.status === 408) e.name = 'TimeoutError';
      throw e;
    }
    if (!body || typeof body !== 'object' || Array.isArray(body)) {
      throw new Error('signaling: the router answered with something that is not a ControllerResponse');
    }
    return body;
  } finally {
    clearTimeout(timer);
    if (signal) signal.removeEventListener('abort', onCallerAbort);
  }
}

/**
 * A signaling transport over `POST <base>signal/send` and the Server-Sent
 * Events stream `GET <base>signal/events`.
 * options.base: a URL ending in "/" (default: the page's own base URL);
 * options.graceMs: the extra wait beyond timeoutMs (default 2000);
 * options.onerror(err): a handler that threw, or an event stream that gave up.
 */
export function routerSignaling({ base = '', graceMs = TIMEOUT_GRACE_MS, onerror = null } = {}) {
  const sendUrl = endpoint(base, SEND_PATH);
  const eventsUrl = endpoint(base, EVENTS_PATH);

  const send = (action, opts) => postAction(action, opts, {
    url: sendUrl,
    fetch: (input, init) => fetch(input, init),
    init: { headers: { 'Content-Type': 'application/json' }, cache: 'no-store', credentials: 'same-origin' },
    graceMs,
    unreachable: (err) => new Error(`signaling: the router cannot be reached (${err.message})`),
  });

  function subscribe(handler, hint = {}) {
    if (typeof handler !== 'function') throw new TypeError('subscribe(handler): handler must be a function');
    const id = hint && typeof hint.conversationId === 'string' ? hint.conversationId : '';
    const es = new EventSource(id ? `${eventsUrl}?conversationId=${encodeURIComponent(id)}` : eventsUrl);
    let closed = false;
    es.onmessage = (ev) => {
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        return; // keepalives and anything that is not JSON are not router messages
      }
      if (msg === null || typeof msg !== 'object') return;
      try {
        handler(msg);
      } catch (err) {
        if (onerror) onerror(err);
      }
    };
    // With a conversation id the stream starts with that conversation's
    // earlier messages, so the launch need not wait for it to connect.
    let readyResolve;
    const ready = new Promise((resolve) => { readyResolve = resolve; });
    if (id) readyResolve(true);
    else es.addEventListener('open', () => readyResolve(true), { once: true });
    es.onerror = () => {
      // EventSource reconnects by itself (with Last-Event-ID); tell the
      // caller only when it gave up.
      if (!closed && es.readyState === EventSource.CLOSED && onerror) {
        onerror(new Error('signaling: the event stream closed'));
      }
    };
    const unsubscribe = () => {
      closed = true;
      es.close();
      readyResolve(false);
    };
    unsubscribe.ready = ready;
    return unsubscribe;
  }

  return { send, subscribe };
}

/**
 * Whether the page's own origin has a signaling endpoint, and why not:
 * resolves to { ok: true } or { ok: false, reason }.
 */
export async function signalingHealth({ base = '', timeoutMs = 5000 } = {}) {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  try {
    const res = await fetch(endpoint(base, 'signal/_health'), { cache: 'no-store', signal: abort.signal });
    const body = await res.json().catch(() => null);
    if (res.ok && body && body.ok === true) return { ok: true };
    if (body && typeof body.error === 'string') return { ok: false, reason: body.error };
    return { ok: false, reason: `no gateway signaling endpoint here (HTTP ${res.status} from signal/_health)` };
  } catch {
    return { ok: false, reason: 'no gateway signaling endpoint here (signal/_health did not answer)' };
  } finally {
    clearTimeout(timer);
  }
}
