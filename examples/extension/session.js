// The extension page that runs the session. It has a window, so launch()
// gets the page's RTCPeerConnection and draws into the <pam-launch-session>
// element here (the package's ./element: canvas, input, toolbar, close
// reasons, Reconnect); the service worker (background.js) only opens this page.
//
// Everything it loads is inside the extension (the build copies the package
// into pkg/ and the launcher's signaling adapter into signaling.js): the
// extension's CSP, script-src 'self' 'wasm-unsafe-eval', allows nothing else.
// The gateway signaling is the router's HTTP endpoint, reached cross-origin:
// host_permissions in manifest.json must cover its origin. A real extension
// gets the record from the vault and talks to Keeper's router through its own
// authenticated client (the same { send, subscribe } contract).
//
// Nothing here logs: the record holds the session's seed and the signaling
// carries encrypted offers.
import * as api from './pkg/pam_launch_wasm.js';
import { routerSignaling } from './signaling.js';
import './element/pam-launch-session.js';

const { planLaunch } = api;

const $ = (id) => document.getElementById(id);
const GATEWAY_KEY = 'pamLaunchExample.gateway';

const els = {
  module: $('module'),
  form: $('form'),
  gateway: $('gateway'),
  recordUid: $('record-uid'),
  linkedUid: $('linked-uid'),
  record: $('record'),
  dag: $('dag'),
  trickle: $('trickle'),
  launch: $('launch'),
  disconnect: $('disconnect'),
  section: $('session'),
  status: $('status'),
  error: $('error'),
  errorCode: $('error-code'),
  errorMessage: $('error-message'),
  phases: $('phases'),
  element: /** @type {any} */ ($('pam-session')),
};

function showError(err) {
  els.error.hidden = !err;
  els.errorCode.textContent = err ? err.code || err.name || 'ERROR' : '';
  els.errorMessage.textContent = err ? err.message : '';
}

// The element's pam-status events: the phase list, the status line, and on
// `closed` the outcome (its toolbar has Disconnect and Reconnect too).
function setStatus(status) {
  els.section.dataset.phase = status.phase;
  els.status.textContent = status.message || status.phase;
  if (status.phase === 'planning') els.phases.replaceChildren();
  const li = document.createElement('li');
  li.dataset.phase = status.phase;
  li.textContent = `${status.phase} ${Math.round(status.ms)} ms`;
  els.phases.append(li);
  els.launch.disabled = status.phase !== 'closed';
  els.disconnect.disabled = status.phase === 'closed';
  if (status.phase === 'planning') {
    delete els.section.dataset.outcome;
    showError(null);
  }
  if (status.phase === 'closed') {
    els.section.dataset.outcome = status.code ? 'error' : 'ok';
    showError(status.code ? { code: status.code, message: status.message } : null);
  }
}

// The gateway URL as the signaling base ("http://host:port/"), or a reason.
function gatewayBase(text) {
  let url;
  try {
    url = new URL(text.trim());
  } catch {
    return { reason: 'the gateway signaling base URL is not a URL' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { reason: 'the gateway URL must be http: or https:' };
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return { base: url.href, origin: url.origin };
}

// An extension page reaches another origin only with a host permission for
// it; say so instead of failing on a network error.
async function hasHostPermission(origin) {
  if (!globalThis.chrome?.permissions?.contains) return true;
  return chrome.permissions.contains({ origins: [`${origin}/*`] });
}

function optionalJson(text, what) {
  const t = text.trim();
  if (!t) return undefined;
  try {
    return JSON.parse(t);
  } catch (err) {
    throw Object.assign(new Error(`${what} is not valid JSON: ${err.message}`), { code: 'INVALID_INPUT' });
  }
}

async function start(ev) {
  ev.preventDefault();
  const st = els.element.state;
  if (st === 'connecting' || st === 'live') return;
  showError(null);
  const gw = gatewayBase(els.gateway.value);
  if (!gw.base) {
    showError({ code: 'INVALID_INPUT', message: gw.reason });
    return;
  }
  if (!(await hasHostPermission(gw.origin))) {
    showError({ code: 'INVALID_INPUT', message: `this extension has no host permission for ${gw.origin}: add "${gw.origin}/*" to host_permissions in manifest.json` });
    return;
  }
  localStorage.setItem(GATEWAY_KEY, gw.base);
  let plan;
  let record;
  try {
    record = optionalJson(els.record.value, 'Record JSON');
    plan = planLaunch({
      recordUid: els.recordUid.value.trim(),
      record,
      dag: optionalJson(els.dag.value, 'DAG jit_settings'),
      linkedUserRecordUid: els.linkedUid.value.trim() || undefined,
      jit: 'auto',
    });
  } catch (err) {
    showError(err);
    return;
  }
  Object.assign(els.element, {
    api,
    plan,
    record,
    signaling: routerSignaling({ base: gw.base }),
    iceServers: [],
    trickleIce: els.trickle.checked,
  });
  els.element.launch();
}

els.element.addEventListener('pam-status', (e) => setStatus(e.detail));
els.form.addEventListener('submit', start);
els.disconnect.addEventListener('click', () => {
  els.disconnect.disabled = true;
  els.element.disconnect();
});

const fromQuery = new URLSearchParams(location.search).get('gateway');
els.gateway.value = fromQuery || localStorage.getItem(GATEWAY_KEY) || '';

try {
  await api.default();
  els.module.dataset.state = 'ready';
  els.module.textContent = 'Module loaded.';
  els.launch.disabled = false;
} catch (err) {
  els.module.dataset.state = 'error';
  els.module.textContent = `The module did not load: ${err.message}`;
}
