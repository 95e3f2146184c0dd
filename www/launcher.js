// The launcher page: loads the wasm module, turns the form into a launch
// plan on every change, and shows it. A later release adds the `launch`
// handler that connects `state.plan` over WebRTC into #session.
import { readRequest } from './js/request.js';
import { renderError, renderIdle, renderPlan } from './js/render.js';
import { fetchScenario, fillForm } from './js/scenarios.js';

const $ = (id) => document.getElementById(id);

const els = {
  record: $('record'),
  dag: $('dag'),
  recordKey: $('record-key'),
  recordUid: $('record-uid'),
  linkedUid: $('linked-uid'),
  recordFile: $('record-file'),
  jit: $('jit'),
  jitHint: $('jit-hint'),
  plan: $('plan'),
  details: $('plan-details'),
  mode: $('mode'),
  credentialType: $('credential-type'),
  warnings: $('warnings'),
  noWarnings: $('no-warnings'),
  inputs: $('inputs'),
  inputsEmpty: $('inputs-empty'),
  copy: $('copy'),
  error: $('error'),
  errorCode: $('error-code'),
  errorMessage: $('error-message'),
  moduleStatus: $('module-status'),
};

const MAX_RECORD_FILE = 1 << 20; // a typed record is a few KiB

// `api` is the wasm package once loaded; it is imported dynamically so a
// missing or broken build shows up in the status bar instead of a blank page.
export const state = { api: null, plan: null };

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
    renderPlan(els, state.plan);
  } catch (err) {
    renderError(els, err);
  }
}

// Typing in a textarea should not re-plan on every keystroke.
let pending = 0;
function scheduleUpdate() {
  clearTimeout(pending);
  pending = setTimeout(() => update({ preselect: true }), 150);
}

async function loadScenario(n) {
  try {
    fillForm(els, await fetchScenario(n));
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
  update({ preselect: true });
}

async function copyInputs() {
  try {
    await navigator.clipboard.writeText(els.inputs.textContent);
    els.copy.textContent = 'Copied';
  } catch {
    els.copy.textContent = 'Copy failed';
  }
  setTimeout(() => (els.copy.textContent = 'Copy'), 1500);
}

function wire() {
  for (const el of [els.record, els.dag, els.recordKey, els.recordUid, els.linkedUid]) {
    el.addEventListener('input', scheduleUpdate);
  }
  els.jit.addEventListener('change', () => update({ preselect: false }));
  for (const button of document.querySelectorAll('[data-scenario]')) {
    button.addEventListener('click', () => loadScenario(button.dataset.scenario));
  }
  els.recordFile.addEventListener('change', () => {
    const [file] = els.recordFile.files;
    if (file) loadRecordFile(file);
    els.recordFile.value = ''; // picking the same file again reloads it
  });
  els.copy.addEventListener('click', copyInputs);
}

function setModuleStatus(stateName, text) {
  els.moduleStatus.dataset.state = stateName;
  els.moduleStatus.textContent = text;
}

async function start() {
  wire();
  renderIdle(els);
  try {
    const api = await import('./pkg/pam_launch_wasm.js');
    await api.default(); // fetches and instantiates pam_launch_wasm_bg.wasm
    state.api = api;
  } catch (err) {
    setModuleStatus('error', `Module failed to load: ${err.message}`);
    return;
  }
  setModuleStatus('ready', 'Ready');
  update({ preselect: true }); // the browser may have restored form values
}

start();
