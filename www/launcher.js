// The launcher page: loads the wasm module, turns the form into a launch
// plan on every change, and shows it; Launch connects `state.plan` over
// WebRTC into #session through the gateway's signaling at ./signal/ (same
// origin: under `npm start`, the local demo gateway).
import { readRequest } from './js/request.js';
import { renderError, renderIdle, renderPlan, watchErrorAdvice, wireCopy } from './js/render.js';
import { fetchScenario, fillForm } from './js/scenarios.js';
import { SessionView, timeoutsFromQuery, trickleFromQuery } from './js/session.js';
import { routerSignaling, signalingHealth } from './js/signaling.js';

/** @param {string} id */
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
/** @param {string} id */
const input = (id) => /** @type {HTMLInputElement} */ (document.getElementById(id));
/** @param {string} id */
const buttonEl = (id) => /** @type {HTMLButtonElement} */ (document.getElementById(id));

const els = {
  record: /** @type {HTMLTextAreaElement} */ ($('record')),
  dag: /** @type {HTMLTextAreaElement} */ ($('dag')),
  recordKey: input('record-key'),
  recordUid: input('record-uid'),
  linkedUid: input('linked-uid'),
  recordFile: input('record-file'),
  jit: input('jit'),
  jitHint: $('jit-hint'),
  plan: $('plan'),
  details: $('plan-details'),
  mode: $('mode'),
  credentialType: $('credential-type'),
  jitView: $('jit-view'),
  jitLines: $('jit-lines'),
  warnings: $('warnings'),
  noWarnings: $('no-warnings'),
  offerFields: $('offer-fields'),
  inputs: $('inputs'),
  inputsEmpty: $('inputs-empty'),
  copy: buttonEl('copy'),
  copyStatus: $('copy-status'),
  planStatus: $('plan-status'),
  error: $('error'),
  errorCode: $('error-code'),
  errorMessage: $('error-message'),
  errorAdvice: $('error-advice'),
  errorAdviceText: $('error-advice-text'),
  moduleStatus: $('module-status'),
  launch: buttonEl('launch'),
  launchNote: $('launch-note'),
  trickle: input('trickle'),
};

const sessionEls = {
  section: $('session'),
  element: /** @type {any} */ ($('pam-session')),
  stateBadge: $('session-state'),
  target: $('session-target'),
  timeline: $('timeline'),
  timings: $('timings'),
  status: $('status'),
  error: els.error,
  errorCode: els.errorCode,
  errorMessage: els.errorMessage,
};

const MAX_RECORD_FILE = 1 << 20; // a typed record is a few KiB

// `api` is the wasm package once loaded; it is imported dynamically so a
// missing or broken build shows up in the status bar instead of a blank page.
// `gateway`: whether this origin has gateway signaling ({ ok, reason });
// `demo`: the loaded example's public demo seed, for its record UID.
/**
 * @type {{
 *   api: typeof import('./pkg/pam_launch_wasm.js') | null,
 *   plan: import('./pkg/pam_launch_wasm.js').LaunchPlan | null,
 *   gateway: { ok: boolean, reason?: string } | null,
 *   demo: { recordUid: string, seed: string } | null,
 *   session: any,
 *   signaling?: any,
 * }}
 */
export const state = { api: null, plan: null, gateway: null, demo: null, session: null };

const planLaunch = (request) => state.api.planLaunch(request);

// What "auto" would do decides the toggle's preselection: on exactly when the
// resource has an active JIT mode and JIT is possible for it.
function preselectJit(request) {
  try {
    const auto = planLaunch({ ...request, jit: 'auto' });
    els.jit.checked = auto.jitMode !== null;
    els.jitHint.textContent = auto.jitMode
      ? 'Default on: the resource has an active JIT mode.'
      : 'Default off: the resource has no active JIT mode, or lets the user supply the host.';
  } catch (err) {
    els.jit.checked = false;
    els.jitHint.textContent = `Default off: JIT is not possible for this input (${err.code || 'error'}).`;
  }
}

/** Re-plans from the form; `preselect` re-derives the JIT toggle first. */
export function update({ preselect }) {
  if (!state.api) return;
  state.plan = null;
  try {
    const request = readRequest(els);
    if (!request) {
      renderIdle(els);
      return;
    }
    if (preselect) preselectJit(request);
    state.plan = planLaunch({ ...request, jit: els.jit.checked });
    renderPlan(els, state.plan, { record: request.record, trickleIce: els.trickle.checked });
  } catch (err) {
    renderError(els, err);
  } finally {
    refreshLaunch();
  }
}

// The plan card's own wiring: Copy buttons, the advice under any error the
// card shows, and the trickle ICE choice (part of what will be sent).
wireCopy(els);
watchErrorAdvice(els);
els.trickle.addEventListener('change', () => update({ preselect: false }));

// ---------------------------------------------------------------- launch

const MODE_SUMMARY = { ephemeral: 'JIT ephemeral account', elevation: 'JIT elevation', both: 'JIT ephemeral account + elevation' };

/** Launch is on when there is a plan, the module has launch(), the gateway answers, and no session runs. */
function refreshLaunch() {
  const why = !state.api ? 'the module is not loaded'
    : typeof state.api.launch !== 'function' ? 'this build of the module has no launch()'
      : !state.gateway ? 'checking the gateway'
        : !state.gateway.ok ? state.gateway.reason
          : !state.plan ? 'load a scenario or paste a record first'
            : null;
  const busy = Boolean(state.session?.active);
  els.launch.disabled = Boolean(why) || busy;
  els.launch.title = busy ? 'A session is running: disconnect it first' : why ? `Launch is unavailable: ${why}` : 'Start the session over WebRTC';
  if (!state.api || typeof state.api.launch !== 'function' || !state.gateway) {
    setLaunchNote(state.api && state.gateway ? 'unavailable' : 'checking', why ? `Launch is unavailable: ${why}.` : '');
  } else if (!state.gateway.ok) {
    setLaunchNote('unavailable', `Launch is unavailable: ${state.gateway.reason}.`);
  } else {
    setLaunchNote('ready', 'Gateway signaling ready (this server\'s /signal/).');
  }
}

function setLaunchNote(stateName, text) {
  els.launchNote.dataset.state = stateName;
  els.launchNote.textContent = text;
}

function recordHasSeed(record) {
  return ['fields', 'custom'].some((list) => Array.isArray(record?.[list]) &&
    record[list].some((f) => f && f.type === 'trafficEncryptionSeed'));
}

// The record launch() gets: the form's, plus the loaded example's public
// demo seed as its trafficEncryptionSeed field when the record has none of
// its own (the seed is never put into the form or shown).
function recordForLaunch(request) {
  const record = request.record;
  if (recordHasSeed(record) || !state.demo || state.demo.recordUid !== request.recordUid) return record;
  return {
    ...record,
    custom: [...(Array.isArray(record.custom) ? record.custom : []),
      { type: 'trafficEncryptionSeed', label: 'demo seed (public)', value: [state.demo.seed] }],
  };
}

function targetSummary(plan, record) {
  const host = (record.fields || []).find((f) => f && f.type === 'pamHostname')?.value?.[0];
  const parts = [plan.inputs?.conversationType || 'session'];
  if (host?.hostName) parts.push(host.port ? `${host.hostName}:${host.port}` : host.hostName);
  parts.push(MODE_SUMMARY[plan.jitMode] || (plan.credentialType ? `${plan.credentialType} credential` : 'no JIT'));
  return parts.join(' · ');
}

function launch() {
  if (els.launch.disabled || !state.plan) return;
  let request;
  try {
    request = readRequest(els);
  } catch (err) {
    renderError(els, err);
    return;
  }
  if (!request) return;
  const record = recordForLaunch(request);
  const trickleIce = els.trickle.checked;
  state.session.start(state.api, {
    plan: state.plan,
    record,
    signaling: state.signaling,
    trickleIce,
    timeouts: timeoutsFromQuery(),
    summary: `${targetSummary(state.plan, request.record)} · ${trickleIce ? 'trickle ICE' : 'non-trickle ICE'}`,
  });
}

async function checkGateway() {
  state.gateway = await signalingHealth();
  refreshLaunch();
}

// Typing in a textarea should not re-plan on every keystroke.
let pending = 0;
function scheduleUpdate() {
  clearTimeout(pending);
  pending = setTimeout(() => update({ preselect: true }), 150);
}

async function loadScenario(n) {
  try {
    const scenario = await fetchScenario(n);
    fillForm(els, scenario);
    state.demo = scenario.demo?.trafficEncryptionSeed
      ? { recordUid: scenario.recordUid, seed: scenario.demo.trafficEncryptionSeed }
      : null;
    update({ preselect: true });
  } catch (err) {
    renderError(els, { code: 'SCENARIO_UNAVAILABLE', message: err.message });
  }
}

async function loadRecordFile(file) {
  if (file.size > MAX_RECORD_FILE) {
    renderError(els, { code: 'INVALID_INPUT', message: `${file.name} is larger than 1 MiB; pick a single record's JSON` });
    return;
  }
  els.record.value = await file.text();
  state.demo = null; // a record of one's own: no demo seed
  update({ preselect: true });
}

function wire() {
  for (const el of [els.record, els.dag, els.recordKey, els.recordUid, els.linkedUid]) {
    el.addEventListener('input', scheduleUpdate);
  }
  els.jit.addEventListener('change', () => update({ preselect: false }));
  for (const button of /** @type {NodeListOf<HTMLButtonElement>} */ (document.querySelectorAll('[data-scenario]'))) {
    button.addEventListener('click', () => loadScenario(button.dataset.scenario));
  }
  els.recordFile.addEventListener('change', () => {
    const [file] = els.recordFile.files;
    if (file) loadRecordFile(file);
    els.recordFile.value = ''; // picking the same file again reloads it
  });
  els.launch.addEventListener('click', launch);
  const trickle = trickleFromQuery();
  if (trickle !== null) els.trickle.checked = trickle;
}

function setModuleStatus(stateName, text) {
  els.moduleStatus.dataset.state = stateName;
  els.moduleStatus.textContent = text;
}

async function start() {
  wire();
  renderIdle(els);
  state.signaling = routerSignaling();
  state.session = new SessionView(sessionEls, { onchange: refreshLaunch });
  const gatewayChecked = checkGateway();
  try {
    const api = await import('./pkg/pam_launch_wasm.js');
    await api.default(); // fetches and instantiates pam_launch_wasm_bg.wasm
    state.api = api;
  } catch (err) {
    setModuleStatus('error', `Module failed to load: ${err.message}`);
    refreshLaunch();
    return;
  }
  setModuleStatus('ready', 'Ready');
  update({ preselect: true }); // the browser may have restored form values
  await gatewayChecked;
}

start();
