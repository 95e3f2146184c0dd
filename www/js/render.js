// Writes a plan, an error or the idle state into the "Launch plan" card.
// Text goes in through textContent only: record content never becomes markup.
import { redact } from './redact.js';

const MODE_LABELS = {
  ephemeral: 'Ephemeral account',
  elevation: 'Elevation',
  both: 'Ephemeral + elevation',
};

function setMode(els, mode) {
  els.mode.textContent = mode ? MODE_LABELS[mode] : 'None';
  els.mode.dataset.mode = mode || 'none';
}

function setWarnings(els, warnings) {
  els.warnings.replaceChildren(
    ...warnings.map((w) => {
      const li = document.createElement('li');
      const code = document.createElement('code');
      code.textContent = w.code;
      li.append(code, ` ${w.message}`);
      return li;
    }),
  );
  els.noWarnings.hidden = warnings.length > 0;
}

function setInputs(els, inputs) {
  els.inputs.textContent = inputs ? JSON.stringify(redact(inputs), null, 2) : '';
  els.inputs.hidden = !inputs;
  els.inputsEmpty.hidden = Boolean(inputs);
  els.copy.disabled = !inputs;
}

function setError(els, err) {
  els.error.hidden = !err;
  els.errorCode.textContent = err ? err.code || 'ERROR' : '';
  els.errorMessage.textContent = err ? err.message : '';
}

export function renderIdle(els) {
  els.plan.dataset.state = 'idle';
  els.details.hidden = false;
  setError(els, null);
  els.mode.textContent = '—';
  els.mode.dataset.mode = 'none';
  els.credentialType.textContent = '—';
  setWarnings(els, []);
  setInputs(els, null);
}

export function renderPlan(els, plan) {
  els.plan.dataset.state = 'planned';
  els.details.hidden = false;
  setError(els, null);
  setMode(els, plan.jitMode);
  els.credentialType.textContent = plan.credentialType || 'none';
  setWarnings(els, plan.warnings);
  setInputs(els, plan.inputs);
}

export function renderError(els, err) {
  renderIdle(els);
  els.plan.dataset.state = 'error';
  els.details.hidden = true; // no stale or empty plan next to the error
  setError(els, err);
}
