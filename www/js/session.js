// The live session card: starts launch() with the shown plan, draws the
// status timeline, hands the keyboard to the session, follows window resizes,
// and ends the session on Disconnect.
//
// Only status messages and error codes from the module reach the page (the
// module's messages never hold a key, a seed, a password or an SDP); nothing
// here logs to the console.

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

const RESIZE_DEBOUNCE_MS = 250;
// Timer overrides launch() accepts, settable from the page's query string
// (tests: ?answerMs=1500 for a gateway that never answers).
const TIMEOUT_PARAMS = ['answerMs', 'channelMs', 'openMs', 'firstFrameMs', 'gatheringMs', 'closeDrainMs', 'keepaliveMs'];

/** 1536 -> "1.5 KiB". */
export function formatBytes(n) {
  if (!Number.isFinite(n) || n < 0) return '';
  if (n < 1024) return `${n} bytes`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
}

export function formatMs(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
}

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

export class SessionView {
  /**
   * els: { section, canvas, screenWrap, overlay, overlayText, stateBadge, target,
   * timeline, timings, status, disconnect, error, errorCode, errorMessage }.
   * onchange(active): the page re-enables Launch when a session ends.
   * @param {any} els
   * @param {{ onchange?: (active: boolean) => void }} [options]
   */
  constructor(els, { onchange } = {}) {
    this.els = els;
    this.onchange = onchange || (() => {});
    this.session = null;
    this.active = false;
    this.t0 = 0;
    this.rows = new Map();
    this.inputAttached = false;
    this.resizeTimer = 0;
    this.lastSize = null;
    // The file the remote side sent, waiting for Save or Discard.
    this.download = null;
    els.disconnect.addEventListener('click', () => this.disconnect());
    els.downloadSave?.addEventListener('click', () => this.saveDownload());
    els.downloadDiscard?.addEventListener('click', () => this.discardDownload());
    window.addEventListener('resize', () => this.onWindowResize());
    // Clicking the screen gives it the keyboard (attachInput handles the rest).
    els.canvas.addEventListener('pointerdown', () => {
      if (this.inputAttached) this.session?.focus();
    });
  }

  /** Starts a launch. api: the wasm module; the rest as launch() takes it. */
  start(api, { plan, record, signaling, trickleIce, timeouts, summary }) {
    const { els } = this;
    this.t0 = performance.now();
    this.dispose();
    this.active = true;
    this.onchange(true);
    this.resetTimeline();
    this.setError(null);
    els.section.hidden = false;
    els.section.dataset.phase = 'planning';
    els.target.textContent = summary;
    els.screenWrap.dataset.state = 'connecting';
    els.overlayText.textContent = 'Connecting…';
    els.disconnect.disabled = false;
    els.disconnect.textContent = 'Disconnect';
    this.setState('connecting', 'Connecting');
    this.mark('planning', 'planning the launch');
    // The canvas must have its layout size now: the offer asks for it.
    if (els.section.getBoundingClientRect().bottom > window.innerHeight) {
      els.section.scrollIntoView({ behavior: 'smooth', block: 'nearest' });
    }

    let session;
    try {
      session = api.launch({
        plan,
        record,
        signaling,
        iceServers: [],
        canvas: els.canvas,
        trickleIce,
        timeouts,
        onstatus: (status) => this.onStatus(status),
      });
    } catch (err) {
      this.onStatus({ phase: 'closed', message: err.message, error: err });
      return null;
    }
    this.session = session;
    this.lastSize = this.canvasSize();
    // Files from the remote side are saved only when the person says so.
    session.client.onfile = (offer) => this.onFileOffer(offer);
    // Backstop: `closed` resolves with the final status even if onstatus threw.
    session.closed.then((status) => this.onStatus(status));
    return session;
  }

  disconnect() {
    if (!this.session || !this.active) return;
    this.els.disconnect.disabled = true;
    this.els.disconnect.textContent = 'Disconnecting…';
    this.setState('closing', 'Disconnecting');
    this.session.disconnect();
  }

  // ---------------------------------------------------------------- status

  onStatus(status) {
    if (!status || typeof status.phase !== 'string') return;
    const { phase } = status;
    if (phase === 'closed') {
      this.onClosed(status);
      return;
    }
    if (!this.active) return;
    this.mark(phase, status.message);
    this.els.section.dataset.phase = phase;
    if (phase === 'connected' || phase === 'firstFrame') {
      this.setState('connected', 'Connected');
      this.els.screenWrap.dataset.state = 'live';
      this.attachInput();
    }
    if (phase === 'firstFrame') this.showTimings();
  }

  onClosed(status) {
    if (this.closedSeen) return;
    this.closedSeen = true;
    const { els } = this;
    const err = status.error || null;
    this.mark('closed', status.message || (err ? err.message : 'closed'), err ? 'error' : 'done');
    els.section.dataset.phase = 'closed';
    els.section.dataset.outcome = err ? 'error' : 'ok';
    this.setState(err ? 'failed' : 'closed', err ? 'Failed' : 'Closed');
    // The reason is on the Closed row (and in the alert): no third copy here.
    els.status.textContent = 'Launch starts a new session.';
    els.screenWrap.dataset.state = 'closed';
    els.overlayText.textContent = err ? `Session ended: ${status.message || err.message}` : 'Session closed';
    els.disconnect.disabled = true;
    els.disconnect.textContent = 'Disconnect';
    if (err) this.setError({ code: err.code || err.name || 'ERROR', message: err.message || status.message });
    this.showTimings();
    this.detachInput();
    this.active = false;
    this.onchange(false);
  }

  // ---------------------------------------------------------------- timeline

  resetTimeline() {
    const { timeline, timings, status } = this.els;
    this.rows.clear();
    this.closedSeen = false;
    delete this.els.section.dataset.outcome;
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

  mark(phase, message, state = 'done') {
    const row = this.rows.get(phase);
    if (!row || row.li.dataset.ms !== undefined) return;
    const ms = Math.round((performance.now() - this.t0) * 10) / 10;
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
    const t = this.session?.timings;
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

  // ---------------------------------------------------------------- downloads

  /**
   * The remote side offers a file: it is received (bounded by the module's
   * stream limit), then the person sees its name and size and picks Save or
   * Discard; nothing is saved before that. One at a time: an offer while
   * another waits for a decision is refused.
   */
  onFileOffer(offer) {
    const { els } = this;
    if (this.download || !els.download) {
      offer.reject();
      return;
    }
    const d = { name: offer.name || 'download', blob: null };
    this.download = d;
    els.downloadName.textContent = d.name;
    els.downloadSize.textContent = 'receiving…';
    els.downloadSave.disabled = true;
    els.download.hidden = false;
    offer.accept().then((blob) => {
      if (this.download !== d) return;
      d.blob = blob;
      els.downloadSize.textContent = `(${formatBytes(blob.size)})`;
      els.downloadSave.disabled = false;
    }, () => {
      if (this.download === d) this.clearDownload();
    });
  }

  saveDownload() {
    const d = this.download;
    if (!d || !d.blob) return;
    const url = URL.createObjectURL(d.blob);
    const a = document.createElement('a');
    a.href = url;
    a.download = d.name.replace(/[\\/]/g, '_');
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 0);
    this.clearDownload();
  }

  discardDownload() {
    this.clearDownload();
  }

  clearDownload() {
    this.download = null;
    if (!this.els.download) return;
    this.els.download.hidden = true;
    this.els.downloadName.textContent = '';
    this.els.downloadSize.textContent = '';
    this.els.downloadSave.disabled = true;
  }

  // ---------------------------------------------------------------- input and size

  attachInput() {
    if (this.inputAttached || !this.session) return;
    try {
      this.session.attachInput(this.els.canvas);
      this.inputAttached = true;
      this.session.focus();
    } catch (err) {
      this.setError({ code: err.code || 'INPUT', message: `Keyboard and mouse are not connected: ${err.message}` });
    }
  }

  detachInput() {
    if (!this.inputAttached) return;
    this.inputAttached = false;
    try {
      this.session?.detachInput();
    } catch { /* the session is gone */ }
  }

  canvasSize() {
    const r = this.els.canvas.getBoundingClientRect();
    return { w: Math.round(r.width), h: Math.round(r.height) };
  }

  onWindowResize() {
    if (!this.session) return;
    // Re-fit the picture at once; ask the remote side for the new size when
    // the window has settled.
    try {
      this.session.client?.redraw();
    } catch { /* closed */ }
    clearTimeout(this.resizeTimer);
    this.resizeTimer = setTimeout(() => {
      if (!this.active || !this.session) return;
      const size = this.canvasSize();
      if (size.w < 2 || size.h < 2) return;
      if (this.lastSize && size.w === this.lastSize.w && size.h === this.lastSize.h) return;
      this.lastSize = size;
      this.session.resize(size.w, size.h);
    }, RESIZE_DEBOUNCE_MS);
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

  /** Frees the previous session (closed) before a new one. */
  dispose() {
    clearTimeout(this.resizeTimer);
    this.clearDownload();
    this.detachInput();
    const old = this.session;
    this.session = null;
    if (old) {
      if (this.active) old.disconnect();
      try {
        old.free();
      } catch { /* already freed */ }
    }
  }
}

function capitalise(s) {
  return s ? s[0].toUpperCase() + s.slice(1) : s;
}
