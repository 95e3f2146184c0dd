// Writes a plan, an error or the idle state into the "Launch plan" card, and
// copies its values. Text goes in through textContent only: record content
// never becomes markup.
import { adviceFor, describeJit, targetOf } from './jit.js';
import { redact } from './redact.js';

/**
 * The elements of the plan card (index.html). The ones after `copy` are
 * optional, so that a page with only the older part of the card renders too.
 * @typedef {{
 *   plan: HTMLElement, details: HTMLElement, mode: HTMLElement, credentialType: HTMLElement,
 *   warnings: HTMLElement, noWarnings: HTMLElement, inputs: HTMLElement, inputsEmpty: HTMLElement,
 *   copy: HTMLButtonElement, error: HTMLElement, errorCode: HTMLElement, errorMessage: HTMLElement,
 *   errorAdvice?: HTMLElement, errorAdviceText?: HTMLElement, jitView?: HTMLElement, jitLines?: HTMLElement,
 *   offerFields?: HTMLElement, planStatus?: HTMLElement, copyStatus?: HTMLElement,
 * }} PlanEls
 */

/** What renderPlan knows beside the plan: the record (for the host) and the trickle ICE choice. */
/** @typedef {{ record?: any, trickleIce?: boolean }} PlanContext */

/** @type {Record<string, string>} */
const MODE_LABELS = {
  ephemeral: 'Ephemeral account',
  elevation: 'Elevation',
  both: 'Ephemeral + elevation',
};

// The offer's fields by their wire key, in words. Keys not listed show as they are.
/** @type {Record<string, string>} */
const FIELD_LABELS = {
  recordUid: 'Record UID',
  kind: 'Kind',
  conversationType: 'Protocol',
  trickleICE: 'Trickle ICE',
  credentialType: 'Credential type',
  userRecordUid: 'Linked user record UID',
  allowSupplyUser: 'User supplies the credential',
  jitMode: 'JIT mode',
  'jitSettings.create_ephemeral': 'Create ephemeral account',
  'jitSettings.ephemeral_account_type': 'Ephemeral account type',
  'jitSettings.base_distinguished_name': 'Base distinguished name',
  'jitSettings.pam_directory_uid_ref': 'PAM directory UID',
  'jitElevation.elevate': 'Elevate',
  'jitElevation.elevation_method': 'Elevation method',
  'jitElevation.elevation_string': 'Groups or roles granted',
  target: 'Target host (the gateway connects to it)',
};

// Rows that are not keys of the inputs say where they come from instead.
/** @type {Record<string, string>} */
const FIELD_SOURCES = { jitMode: 'the plan\'s jitMode', target: 'the record\'s pamHostname' };

/** @param {unknown} v */
const text = (v) => (typeof v === 'string' ? v : v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));

/**
 * The inputs launch() sends for this plan: the plan's, with the trickle ICE
 * choice of the page (launch()'s `trickleIce` option overrides `trickleICE`).
 * @param {any} plan
 * @param {boolean | undefined} trickleIce
 */
export function sentInputs(plan, trickleIce) {
  const inputs = plan?.inputs;
  if (!inputs || typeof inputs !== 'object') return null;
  return typeof trickleIce === 'boolean' && 'trickleICE' in inputs ? { ...inputs, trickleICE: trickleIce } : { ...inputs };
}

/**
 * The offer's non-secret fields as a list: every key of the inputs (one level
 * into jitSettings / jitElevation), redacted, with the JIT mode after the
 * credential type and the record's target host last.
 * @param {any} plan
 * @param {PlanContext} [context]
 * @returns {{ key: string, label: string, value: string }[]}
 */
export function offerFields(plan, { record, trickleIce } = {}) {
  const inputs = sentInputs(plan, trickleIce);
  if (!inputs) return [];
  const shown = redact(inputs);
  /** @type {{ key: string, label: string, value: string }[]} */
  const out = [];
  /**
   * @param {string} key
   * @param {unknown} value
   */
  const add = (key, value) => out.push({ key, label: FIELD_LABELS[key] || key, value: text(value) });
  for (const [k, v] of Object.entries(shown)) {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      for (const [k2, v2] of Object.entries(v)) add(`${k}.${k2}`, v2);
    } else {
      add(k, v);
    }
    if (k === 'credentialType') add('jitMode', plan.jitMode || 'off');
  }
  if (!('credentialType' in shown)) add('jitMode', plan.jitMode || 'off');
  const { host, port } = targetOf(record);
  if (host) add('target', port ? `${host}:${port}` : host);
  return out;
}

/**
 * @param {PlanEls} els
 * @param {string | null} mode
 */
function setMode(els, mode) {
  els.mode.textContent = mode ? MODE_LABELS[mode] : 'None';
  els.mode.dataset.mode = mode || 'none';
}

/**
 * A paragraph "What to change: …", or null.
 * @param {string} code
 * @param {string} message
 */
function adviceNode(code, message) {
  const advice = adviceFor(code, message);
  if (!advice) return null;
  const p = document.createElement('p');
  p.className = 'advice';
  const label = document.createElement('span');
  label.className = 'advice-label';
  label.textContent = 'What to change:';
  p.append(label, ` ${advice}`);
  return p;
}

/**
 * @param {PlanEls} els
 * @param {{ code: string, message: string }[]} warnings
 */
function setWarnings(els, warnings) {
  els.warnings.replaceChildren(
    ...warnings.map((w) => {
      const li = document.createElement('li');
      const code = document.createElement('code');
      code.textContent = w.code;
      li.append(code, ` ${w.message}`);
      const advice = adviceNode(w.code, w.message);
      if (advice) li.append(advice);
      return li;
    }),
  );
  els.noWarnings.hidden = warnings.length > 0;
}

/**
 * @param {PlanEls} els
 * @param {any} plan
 * @param {unknown} record
 */
function setJit(els, plan, record) {
  if (!els.jitView || !els.jitLines) return;
  const desc = plan ? describeJit(plan, record) : null;
  els.jitView.hidden = !desc;
  els.jitLines.replaceChildren(...(desc ? desc.lines : []).map((line) => {
    const li = document.createElement('li');
    li.textContent = line;
    return li;
  }));
}

/**
 * @param {PlanEls} els
 * @param {{ key: string, label: string, value: string }[]} fields
 */
function setFields(els, fields) {
  if (!els.offerFields) return;
  els.offerFields.replaceChildren(...fields.map((f) => {
    const row = document.createElement('div');
    row.className = 'offer-row';
    row.dataset.key = f.key;
    const dt = document.createElement('dt');
    const wire = document.createElement('code');
    wire.className = 'wire-key';
    wire.textContent = FIELD_SOURCES[f.key] || f.key;
    dt.append(f.label, ' ', wire);
    const dd = document.createElement('dd');
    const value = document.createElement('code');
    value.className = 'offer-value';
    value.textContent = f.value;
    const copy = document.createElement('button');
    copy.type = 'button';
    copy.className = 'button button-small';
    copy.dataset.copyField = f.key;
    copy.dataset.copyLabel = f.label;
    copy.setAttribute('aria-label', `Copy ${f.label}`);
    copy.textContent = 'Copy';
    dd.append(value, copy);
    row.append(dt, dd);
    return row;
  }));
}

/**
 * @param {PlanEls} els
 * @param {object | null} inputs
 */
function setInputs(els, inputs) {
  els.inputs.textContent = inputs ? JSON.stringify(redact(inputs), null, 2) : '';
  els.inputs.hidden = !inputs;
  els.inputsEmpty.hidden = Boolean(inputs);
  els.copy.disabled = !inputs;
}

/**
 * The advice under the alert, from the code and message it shows (whoever wrote them).
 * @param {PlanEls} els
 */
function setAdvice(els) {
  if (!els.errorAdvice || !els.errorAdviceText) return;
  const advice = els.error.hidden ? null : adviceFor(els.errorCode.textContent, els.errorMessage.textContent);
  if (els.errorAdviceText.textContent !== (advice || '')) els.errorAdviceText.textContent = advice || '';
  els.errorAdvice.hidden = !advice;
}

/**
 * @param {PlanEls} els
 * @param {{ code?: string, message: string } | null} err
 */
function setError(els, err) {
  els.error.hidden = !err;
  els.errorCode.textContent = err ? err.code || 'ERROR' : '';
  els.errorMessage.textContent = err ? err.message : '';
  setAdvice(els);
}

// The status line a screen reader hears when the plan changes (only on a change).
/**
 * @param {PlanEls} els
 * @param {string} message
 */
function setPlanStatus(els, message) {
  if (els.planStatus && els.planStatus.textContent !== message) els.planStatus.textContent = message;
}

/** @param {PlanEls} els */
export function renderIdle(els) {
  els.plan.dataset.state = 'idle';
  els.details.hidden = false;
  setError(els, null);
  els.mode.textContent = '—';
  els.mode.dataset.mode = 'none';
  els.credentialType.textContent = '—';
  setWarnings(els, []);
  setJit(els, null, null);
  setFields(els, []);
  setInputs(els, null);
  setPlanStatus(els, '');
}

/**
 * @param {PlanEls} els
 * @param {any} plan a LaunchPlan
 * @param {PlanContext} [context]
 */
export function renderPlan(els, plan, context = {}) {
  els.plan.dataset.state = 'planned';
  els.details.hidden = false;
  setError(els, null);
  setMode(els, plan.jitMode);
  els.credentialType.textContent = plan.credentialType || 'none';
  setWarnings(els, plan.warnings);
  setJit(els, plan, context.record);
  setFields(els, offerFields(plan, context));
  setInputs(els, sentInputs(plan, context.trickleIce));
  const n = plan.warnings.length;
  setPlanStatus(els, `Plan ready: ${plan.jitMode ? MODE_LABELS[plan.jitMode] : 'no JIT'}, credential type ${plan.credentialType || 'none'}, ${n === 0 ? 'no warnings' : n === 1 ? '1 warning' : `${n} warnings`}.`);
}

/**
 * @param {PlanEls} els
 * @param {{ code?: string, message: string }} err
 */
export function renderError(els, err) {
  renderIdle(els);
  els.plan.dataset.state = 'error';
  els.details.hidden = true; // no stale or empty plan next to the error
  setError(els, err);
}

/**
 * Keeps the alert's advice in step with its code and message, also when
 * another part of the page (the session) writes them.
 * @param {PlanEls} els
 */
export function watchErrorAdvice(els) {
  const observer = new MutationObserver(() => setAdvice(els));
  for (const el of [els.errorCode, els.errorMessage]) observer.observe(el, { childList: true, characterData: true, subtree: true });
  observer.observe(els.error, { attributes: true, attributeFilter: ['hidden'] });
  return observer;
}

/**
 * Puts `value` on the clipboard: the async Clipboard API, else the older copy
 * command on a temporary textarea. Resolves to how it was copied, or null
 * when the page may not write to the clipboard.
 * @param {string} value
 * @returns {Promise<'clipboard' | 'command' | null>}
 */
export async function copyText(value) {
  try {
    await navigator.clipboard.writeText(value);
    return 'clipboard';
  } catch {
    // denied, or no Clipboard API: try the copy command
  }
  const active = document.activeElement;
  const area = document.createElement('textarea');
  area.value = value;
  area.readOnly = true;
  area.className = 'copy-buffer';
  area.setAttribute('aria-hidden', 'true');
  area.tabIndex = -1;
  document.body.append(area);
  let ok = false;
  try {
    area.select();
    ok = document.execCommand('copy');
  } catch {
    ok = false;
  } finally {
    area.remove();
    if (active instanceof HTMLElement) active.focus();
  }
  return ok ? 'command' : null;
}

/**
 * Copy on click (mouse, Enter or Space) for the card's Copy buttons: the JSON
 * (`data-copy="inputs"`) and each field (`data-copy-field`). "Copied" is
 * announced in the live region; when the clipboard is denied the value is
 * selected on the page instead, and the live region says to press Ctrl+C.
 * @param {PlanEls} els
 */
export function wireCopy(els) {
  els.plan.addEventListener('click', async (event) => {
    const target = event.target instanceof Element ? event.target : null;
    const button = target?.closest('button[data-copy], button[data-copy-field]');
    if (!(button instanceof HTMLButtonElement) || button.disabled) return;
    let source;
    let label;
    if (button.dataset.copy === 'inputs') {
      source = els.inputs;
      label = 'the gateway inputs';
    } else {
      source = button.closest('.offer-row')?.querySelector('.offer-value');
      label = button.dataset.copyLabel || button.dataset.copyField;
    }
    if (!source) return;
    const how = await copyText(source.textContent);
    let message;
    if (how) {
      message = `Copied ${label}`;
      button.textContent = 'Copied';
    } else {
      const selection = window.getSelection();
      selection?.selectAllChildren(source);
      message = `Copying was blocked: ${label} is selected, press Ctrl+C to copy it`;
      button.textContent = 'Selected';
    }
    if (els.copyStatus) {
      // The same message twice is announced twice: clear, then set.
      els.copyStatus.textContent = '';
      els.copyStatus.textContent = message;
    }
    setTimeout(() => { button.textContent = 'Copy'; }, 1500);
  });
}
