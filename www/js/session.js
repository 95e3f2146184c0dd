// The launcher's session card around <pam-launch-session>: the element runs
// the session (canvas, input, toolbar, downloads, close reasons, reconnect);
// this draws the launch timeline and the timings from its pam-status and
// pam-close events, the state pill, and the plan card's error alert.
//
// Only status messages and error codes from the module reach the page (the
// module's messages never hold a key, a seed, a password or an SDP); nothing
// here logs to the console.
import './element/pam-launch-session.js';
import { formatMs } from './element/format.js';

// The phases launch() reports, in order, with what a person reads.
export const PHASES = [
  ['planning', 'Planning'],
  ['offerSent', 'Offer sent'],
  ['waitingForGateway', 'Waiting for the gateway'],
  ['ice', 'ICE connecting'],
  ['channelOpen', 'Data channel open'],
  ['openingConnection', 'Opening the connection'],
  ['connectionOpened', 'Connection opened'],
  ['connected', 'Connected'],
  ['firstFrame', 'First frame drawn'],
  ['closed', 'Closed'],
];
const PHASE_INDEX = new Map(PHASES.map(([p], i) => [p, i]));

// session.timings, as steps: [label, from, to].
const STEPS = [
  ['Plan', null, 'plan'],
  ['ICE gathering', 'plan', 'gathered'],
  ['Offer', 'plan', 'offerSent'],
  ['Answer', 'offerSent', 'answer'],
  ['Channel open', 'answer', 'channelOpen'],
  ['ConnectionOpened', 'channelOpen', 'connectionOpened'],
  ['First byte', 'connectionOpened', 'firstByte'],
  ['First frame drawn', 'firstByte', 'firstFrame'],
];

// Timer overrides launch() accepts, settable from the page's query string
// (tests: ?answerMs=1500 for a gateway that never answers).
const TIMEOUT_PARAMS = ['answerMs', 'channelMs', 'openMs', 'firstFrameMs', 'gatheringMs', 'closeDrainMs', 'keepaliveMs', 'pingMs'];

/** The timeouts override from the query string, or undefined. */
export function timeoutsFromQuery(search = location.search) {
  const q = new URLSearchParams(search);
  const out = {};
  for (const k of TIMEOUT_PARAMS) {
    if (!q.has(k)) continue;
    const v = Number(q.get(k));
    if (Number.isFinite(v) && v >= 0) out[k] = v;
  }
  return Object.keys(out).length ? out : undefined;
}

/** ?trickle=0 / ?trickle=1, or null when not given. */
export function trickleFromQuery(search = location.search) {
  const v = new URLSearchParams(search).get('trickle');
  if (v === null) return null;
  return !/^(0|false|no|off)$/i.test(v);
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

/**
 * @typedef {{ section: HTMLElement, element: import('./element/pam-launch-session.js').PamLaunchSession,
 *   stateBadge: HTMLElement, target: HTMLElement, timeline: HTMLElement, timings: HTMLElement,
 *   status: HTMLElement, error: HTMLElement, errorCode: HTMLElement, errorMessage: HTMLElement }} SessionEls
 */

export class SessionView {
  /**
   * onchange(active): the page re-enables Launch when a session ends.
   * @param {SessionEls} els
   * @param {{ onchange?: (active: boolean) => void }} [options]
   */
  constructor(els, { onchange } = {}) {
    this.els = els;
    this.onchange = onchange || (() => {});
    this.rows = new Map();
    this.element = els.element;
    this.element.addEventListener('pam-status', (e) => this.onStatus(/** @type {CustomEvent} */ (e).detail));
    this.element.addEventListener('pam-close', () => this.onClose());
  }

  /** A session is starting or live (Launch waits). */
  get active() {
    const s = this.element.state;
    return s === 'connecting' || s === 'live';
  }

  get session() {
    return this.element.session;
  }

  /** Starts a launch. api: the wasm module; the rest as launch() takes it. */
  start(api, { plan, record, signaling, trickleIce, timeouts, summary }) {
    const { els, element } = this;
    els.section.hidden = false;
    els.target.textContent = summary;
    Object.assign(element, { api, plan, record, signaling, trickleIce, timeouts: timeouts || null, iceServers: [] });
    // The canvas must have its layout size now: the offer asks for it.
    if (els.section.getBoundingClientRect().bottom > window.innerHeight) {
      els.section.scrollIntoView({ behavior: 'smooth', block: 'nearest' });
    }
    return element.launch();
  }

  disconnect() {
    this.element.disconnect();
  }

  // ---------------------------------------------------------------- status

  onStatus(d) {
    if (!d || typeof d.phase !== 'string') return;
    const { els } = this;
    if (d.phase === 'planning') {
      // A new launch (Launch, Reconnect, or the element's automatic reconnect).
      this.resetTimeline();
      this.setError(null);
      this.setState('connecting', 'Connecting');
      this.onchange(true);
    }
    if (d.phase === 'closed') {
      this.mark('closed', d.ms, d.message, d.code ? 'error' : 'done');
      els.section.dataset.phase = 'closed';
      els.section.dataset.outcome = d.code ? 'error' : 'ok';
      this.setState(d.code ? 'failed' : 'closed', d.code ? 'Failed' : 'Closed');
      if (d.code) this.setError({ code: d.code, message: d.message });
      els.status.textContent = 'Launch starts a new session.';
      this.showTimings();
      return;
    }
    this.mark(d.phase, d.ms, d.message);
    els.section.dataset.phase = d.phase;
    if (d.phase === 'connected' || d.phase === 'firstFrame') this.setState('connected', 'Connected');
    if (d.phase === 'firstFrame') this.showTimings();
  }

  onClose() {
    this.onchange(false);
  }

  // ---------------------------------------------------------------- timeline

  resetTimeline() {
    const { timeline, timings, status } = this.els;
    this.rows.clear();
    delete this.els.section.dataset.outcome;
    delete this.els.section.dataset.timings;
    timeline.replaceChildren(...PHASES.map(([phase, label]) => {
      const li = el('li', 'step');
      li.dataset.phase = phase;
      li.dataset.state = 'pending';
      const name = el('span', 'step-name', label);
      const ms = el('span', 'step-ms', '');
      const msg = el('span', 'step-msg', '');
      li.append(name, ms, msg);
      this.rows.set(phase, { li, ms, msg });
      return li;
    }));
    timings.replaceChildren();
    timings.hidden = true;
    status.textContent = '';
  }

  mark(phase, atMs, message, state = 'done') {
    const row = this.rows.get(phase);
    if (!row || row.li.dataset.ms !== undefined) return;
    const ms = Math.round(atMs * 10) / 10;
    row.li.dataset.ms = String(ms);
    row.li.dataset.state = state;
    row.ms.textContent = formatMs(ms);
    // Earlier phases: the current one is done; one the launch went past
    // without reporting it (trickle ICE: the answer can come before the
    // gateway acknowledged the offer) is skipped. After a failure the
    // phases not reached stay pending.
    const i = PHASE_INDEX.get(phase);
    for (const [p, r] of this.rows) {
      if (PHASE_INDEX.get(p) >= i) continue;
      if (r.li.dataset.state === 'current') r.li.dataset.state = 'done';
      else if (r.li.dataset.state === 'pending' && phase !== 'closed') {
        r.li.dataset.state = 'skipped';
        r.li.title = 'Not reported: the launch went past it (with trickle ICE the answer can come before the gateway acknowledges the offer)';
      }
    }
    if (phase === 'closed' || state === 'error') {
      row.msg.textContent = message || '';
    } else if (phase !== 'planning' && phase !== 'firstFrame') {
      // The phase in progress; the first frame ends the launch.
      row.li.dataset.state = 'current';
      for (const [p, r] of this.rows) if (p !== phase && r.li.dataset.state === 'current') r.li.dataset.state = 'done';
    }
    if (phase === 'firstFrame') {
      for (const r of this.rows.values()) if (r.li.dataset.state === 'current') r.li.dataset.state = 'done';
      this.els.status.textContent = 'Live: the keyboard goes to the session (click the screen to give it back).';
    } else if (phase !== 'closed') {
      this.els.status.textContent = message ? capitalise(message) : '';
    }
  }

  showTimings() {
    const t = this.element.session?.timings;
    const { timings } = this.els;
    if (!t) return;
    const rows = [];
    for (const [label, from, to] of STEPS) {
      if (t[to] === null || t[to] === undefined) continue;
      const start = from === null ? 0 : t[from];
      if (from !== null && (start === null || start === undefined)) continue;
      const dt = el('dt', null, label);
      const dd = el('dd', null, formatMs(t[to] - start));
      dd.dataset.step = to;
      dd.dataset.ms = String(Math.round((t[to] - start) * 10) / 10);
      rows.push(dt, dd);
    }
    if (t.firstFrame !== null && t.firstFrame !== undefined) {
      const dt = el('dt', 'total', 'Launch → first frame');
      const dd = el('dd', 'total', formatMs(t.firstFrame));
      dd.dataset.step = 'total';
      dd.dataset.ms = String(t.firstFrame);
      rows.push(dt, dd);
    }
    timings.replaceChildren(...rows);
    timings.hidden = rows.length === 0;
    // For the benchmark and the tests: the session's own clock, as launch() reports it.
    this.els.section.dataset.timings = JSON.stringify(t);
  }

  // ---------------------------------------------------------------- the rest

  setState(state, text) {
    this.els.stateBadge.dataset.state = state;
    this.els.stateBadge.textContent = text;
  }

  setError(err) {
    const { error, errorCode, errorMessage } = this.els;
    error.hidden = !err;
    errorCode.textContent = err ? err.code : '';
    errorMessage.textContent = err ? err.message : '';
  }
}

function capitalise(s) {
  return s ? s[0].toUpperCase() + s.slice(1) : s;
}
