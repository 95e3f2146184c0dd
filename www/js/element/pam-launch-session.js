// <pam-launch-session>: a Keeper PAM session as a web component (an ES module,
// no framework). It wraps the module's launch(), the canvas and the input,
// with a toolbar (fullscreen with keyboard lock, scaling, keyboard capture,
// key combinations, clipboard, files, live figures, disconnect), the close
// reason with Reconnect and an automatic reconnect for transient reasons,
// and the JIT progress while the gateway prepares the account. In
// mode="recording" it hosts the recording player (www/js/player-view.js).
//
//   import './js/element/pam-launch-session.js';
//   const el = document.querySelector('pam-launch-session');
//   el.api = await initialisedWasmModule; el.plan = plan; el.record = record;
//   el.signaling = routerSignaling(); el.launch();
//
// The element never imports the wasm itself (`api` is the initialised
// module). Text from the gateway, guacd or the recording goes in through
// textContent; nothing here logs.

import { COMBOS, comboKeysyms } from './keys.js';
import { describeClose } from './close-reasons.js';
import { formatBytes } from './format.js';
import * as jitTexts from '../jit.js';

const STYLESHEET = new URL('../../element.css', import.meta.url).href;
const PLAYER_STYLESHEET = new URL('../../player.css', import.meta.url).href;
const PLAYER_MODULE = new URL('../player-view.js', import.meta.url).href;

const SCALINGS = ['fit', 'real', 'remote-resize'];
const RESIZE_DEBOUNCE_MS = 250;
const STATS_EVERY_MS = 1000;
/** The link is poor when the RTT is above this for POOR_SAMPLES samples in a row, or a Ping is overdue by POOR_OVERDUE_MS. */
export const POOR_RTT_MS = 400;
export const POOR_SAMPLES = 3;
export const POOR_OVERDUE_MS = 4000;
/** Automatic reconnects after a transient close: the wait before each attempt. */
export const RECONNECT_DELAYS_MS = [5000, 10000, 20000];

const PHASE_TEXT = {
  planning: 'Planning the launch',
  offerSent: 'Offer sent to the gateway',
  waitingForGateway: 'Waiting for the gateway',
  ice: 'Connecting (ICE)',
  channelOpen: 'Data channel open',
  openingConnection: 'Opening the connection',
  connectionOpened: 'Connection opened',
  connected: 'Connected',
  firstFrame: 'Connected',
  closed: 'Closed',
};

const TEMPLATE = `
<div class="root" part="root">
  <div class="toolbar" id="toolbar" role="toolbar" aria-label="Session controls">
    <button type="button" class="tb" id="fullscreen" aria-pressed="false" title="Fullscreen: keys such as Esc, the Windows key and Alt+Tab go to the session where the browser allows it; hold Esc to leave">Fullscreen</button>
    <div class="tb-group" role="group" aria-label="Scaling">
      <button type="button" class="tb" id="fit" data-scaling="fit" aria-pressed="false" title="Scale the remote screen to fit">Fit</button>
      <button type="button" class="tb" id="real" data-scaling="real" aria-pressed="false" title="Remote pixels 1:1 (scrolls)">1:1</button>
      <button type="button" class="tb" id="remote-resize" data-scaling="remote-resize" aria-pressed="false" title="Resize the remote screen to this box">Resize remote</button>
    </div>
    <button type="button" class="tb input-only" id="keyboard" aria-pressed="true" title="Keyboard capture: typing goes to the session">Keyboard</button>
    <button type="button" class="tb input-only" id="keys-toggle" aria-expanded="false" aria-controls="keys-panel">Keys</button>
    <button type="button" class="tb" id="clipboard-toggle" aria-expanded="false" aria-controls="clipboard-panel">Clipboard</button>
    <button type="button" class="tb" id="files-toggle" aria-expanded="false" aria-controls="files-panel">Files</button>
    <span class="stats" id="stats" aria-label="Connection figures"><span id="stat-rtt">RTT —</span><span id="stat-fps">— fps</span><span id="stat-bytes">—</span></span>
    <button type="button" class="tb tb-danger" id="disconnect" disabled>Disconnect</button>
  </div>

  <div class="panel" id="keys-panel" role="group" aria-label="Send a key combination" hidden>
    <div class="keys" id="keys"></div>
  </div>

  <section class="panel" id="clipboard-panel" aria-labelledby="clipboard-title" hidden>
    <h3 id="clipboard-title">Clipboard</h3>
    <div class="clip-grid">
      <div class="clip-col">
        <label for="clip-remote">From the remote side</label>
        <textarea id="clip-remote" rows="3" readonly spellcheck="false"></textarea>
        <p class="note" id="clip-copy-note"></p>
        <div class="row"><button type="button" class="btn" id="clip-copy-local">Copy to this computer</button></div>
      </div>
      <div class="clip-col">
        <label for="clip-send">To the remote side</label>
        <textarea id="clip-send" rows="3" spellcheck="false"></textarea>
        <p class="note" id="clip-paste-note"></p>
        <div class="row">
          <button type="button" class="btn" id="clip-send-button">Send</button>
          <button type="button" class="btn" id="clip-paste-local">Paste from this computer</button>
        </div>
      </div>
    </div>
  </section>

  <section class="panel" id="files-panel" aria-labelledby="files-title" hidden>
    <h3 id="files-title">Files</h3>
    <p class="note input-only">Drop files onto the session, or pick them.</p>
    <p class="note">Files the remote side sends are saved only when you choose Save.</p>
    <div class="row input-only">
      <label class="btn file-pick">Upload files…<input type="file" id="upload-input" multiple></label>
    </div>
    <ul class="uploads" id="uploads" aria-label="Uploads"></ul>
  </section>

  <div class="download" id="download" role="group" aria-labelledby="download-title" hidden>
    <p id="download-title" class="download-title">The remote side sends a file</p>
    <p class="download-file"><code id="download-name"></code> <span id="download-size"></span></p>
    <div class="row">
      <button type="button" class="btn" id="download-save" disabled>Save</button>
      <button type="button" class="btn" id="download-discard">Discard</button>
    </div>
  </div>

  <div class="banner" id="poor" hidden></div>

  <div class="screen" id="screen-wrap" data-state="idle">
    <canvas id="screen" tabindex="0" aria-label="Remote session: click or tab here to type into it"></canvas>
    <div class="overlay" id="overlay">
      <div class="overlay-box">
        <p id="overlay-text">Not connected</p>
        <div class="jit" id="jit" hidden>
          <p class="jit-text" id="jit-text"></p>
          <progress id="jit-progress" max="120000" value="0" aria-labelledby="jit-text"></progress>
          <p class="jit-grants" id="jit-grants" hidden></p>
        </div>
        <div class="closed" id="closed" hidden>
          <p class="close-code" id="close-code"></p>
          <p class="close-advice" id="close-advice" hidden></p>
          <p class="countdown" id="countdown" hidden></p>
          <div class="row">
            <button type="button" class="btn btn-primary" id="reconnect">Reconnect</button>
            <button type="button" class="btn" id="cancel-reconnect" hidden>Cancel automatic reconnect</button>
          </div>
        </div>
      </div>
    </div>
  </div>
  <p class="live" id="live" role="status" aria-live="polite"></p>
  <div class="player" id="player" hidden></div>

  <dialog id="confirm" aria-labelledby="confirm-text">
    <form method="dialog">
      <p id="confirm-text"></p>
      <div class="row">
        <button type="submit" class="btn" value="cancel" id="confirm-cancel">Cancel</button>
        <button type="submit" class="btn btn-primary" value="ok" id="confirm-ok">Send</button>
      </div>
    </form>
  </dialog>
</div>`;

/** The record's clipboard policy (pamSettings.connection.disableCopy / disablePaste). */
export function recordClipboardPolicy(record) {
  const flag = (v) => v === true || v === 'true';
  for (const list of ['fields', 'custom']) {
    const fields = Array.isArray(record?.[list]) ? record[list] : [];
    const f = fields.find((x) => x && x.type === 'pamSettings');
    if (!f) continue;
    const v = Array.isArray(f.value) ? f.value[0] : f.value;
    const conn = v && typeof v === 'object' ? v.connection : null;
    if (conn && typeof conn === 'object') return { disableCopy: flag(conn.disableCopy), disablePaste: flag(conn.disablePaste) };
  }
  return { disableCopy: false, disablePaste: false };
}

/** The JIT texts (www/js/jit.js: describeJit, jitProgressText, adviceFor). */
async function loadJit() {
  return jitTexts;
}

export class PamLaunchSession extends HTMLElement {
  static get observedAttributes() { return ['scaling', 'readonly', 'toolbar', 'mode']; }

  constructor() {
    super();
    const root = this.attachShadow({ mode: 'open' });
    const link = document.createElement('link');
    link.rel = 'stylesheet';
    link.href = STYLESHEET;
    root.append(link);
    const holder = document.createElement('div');
    holder.innerHTML = TEMPLATE; // static markup only: no data goes in here
    root.append(...holder.childNodes);
    /** @type {(id: string) => any} */
    const $ = (id) => root.getElementById(id);
    this.$ = $;
    this.canvas = /** @type {HTMLCanvasElement} */ ($('screen'));

    // Launch options (properties).
    this._api = null;
    this.plan = null;
    this.record = null;
    this.signaling = null;
    this.iceServers = null;
    this.RTCPeerConnection = null;
    this.timeouts = null;
    this.trickleIce = null;

    /** The PamSession of the current (or last) launch. */
    this.session = null;
    this._t0 = 0;
    this._launchId = 0;
    this._phase = 'idle';
    this._live = false;
    this._userClosed = false;
    this._inputAttached = false;
    this._keyboardOn = true;
    /** @type {HTMLTextAreaElement | null} */
    this._sink = null;
    this._frames = 0;
    this._fpsFrames = 0;
    this._fpsAt = 0;
    this._highRtt = 0;
    this._poor = false;
    this._statsTimer = 0;
    this._jitTimer = 0;
    this._jit = null;
    this._resizeTimer = 0;
    this._lastSize = null;
    this._autoAttempt = 0;
    this._reconnect = null;
    this._download = null;
    this._uploads = new Map();
    this._player = null;
    this._playerReady = null;
    this._policy = { disableCopy: false, disablePaste: false };

    this._buildKeys();
    this._wire();
    this._syncAttributes();
    this._resizeObserver = typeof ResizeObserver === 'function' ? new ResizeObserver(() => this._onBoxResize()) : null;
    this._onFullscreenChange = () => this._fullscreenChanged();
    this._onWindowKey = (e) => this._filterKey(e);
  }

  connectedCallback() {
    for (const p of ['api', 'plan', 'record', 'signaling', 'iceServers', 'RTCPeerConnection', 'timeouts', 'trickleIce']) {
      // A property set before the element was defined shadows the class's.
      if (Object.hasOwn(this, p)) {
        const v = this[p];
        delete this[p];
        this[p] = v;
      }
    }
    this._resizeObserver?.observe(this.$('screen-wrap'));
    document.addEventListener('fullscreenchange', this._onFullscreenChange);
    window.addEventListener('keydown', this._onWindowKey, true);
    window.addEventListener('keyup', this._onWindowKey, true);
  }

  disconnectedCallback() {
    this._resizeObserver?.disconnect();
    document.removeEventListener('fullscreenchange', this._onFullscreenChange);
    window.removeEventListener('keydown', this._onWindowKey, true);
    window.removeEventListener('keyup', this._onWindowKey, true);
  }

  attributeChangedCallback(name) {
    this._syncAttributes();
    if (name === 'mode' && this.mode === 'recording' && this._api) this._ensurePlayer().catch(() => {});
    if (name === 'scaling') this._applyScaling(true);
    if (name === 'readonly' && this._live) {
      if (this.readOnly) this._detachInput();
      else this._attachInput();
    }
  }

  // ------------------------------------------------------------ attributes

  /** The initialised wasm module (the element never imports it). */
  get api() { return this._api; }

  set api(v) {
    this._api = v || null;
    if (this._api && this.mode === 'recording') this._ensurePlayer().catch(() => {});
  }

  /** @returns {'fit' | 'real' | 'remote-resize'} */
  get scaling() {
    const v = this.getAttribute('scaling');
    return /** @type {any} */ (SCALINGS.includes(v) ? v : 'fit');
  }

  set scaling(v) { this.setAttribute('scaling', v); }

  get readOnly() { return this.hasAttribute('readonly'); }

  set readOnly(v) { this.toggleAttribute('readonly', Boolean(v)); }

  /** @returns {'live' | 'recording'} */
  get mode() { return this.getAttribute('mode') === 'recording' ? 'recording' : 'live'; }

  set mode(v) { this.setAttribute('mode', v); }

  /** "idle" | "connecting" | "live" | "closed" | "error": also the host's data-state. */
  get state() { return this.dataset.state || 'idle'; }

  /** The live figures: { rttMs, fps, bytesIn, bytesOut, poor } (null where the module has none). */
  get stats() { return this._lastStats || { rttMs: null, fps: null, bytesIn: null, bytesOut: null, poor: false }; }

  get keyboardCapture() { return this._keyboardOn; }

  get clipboardPolicy() { return { ...this._policy }; }

  _syncAttributes() {
    const { $ } = this;
    $('toolbar').hidden = this.getAttribute('toolbar') === 'off' || this.mode === 'recording';
    this.$('screen-wrap').hidden = this.mode === 'recording';
    $('player').hidden = this.mode !== 'recording';
    this.toggleAttribute('data-readonly', this.readOnly);
    for (const b of /** @type {NodeListOf<HTMLButtonElement>} */ (this.shadowRoot.querySelectorAll('button[data-scaling]'))) {
      b.setAttribute('aria-pressed', String(b.dataset.scaling === this.scaling));
    }
    for (const e of /** @type {NodeListOf<HTMLElement>} */ (this.shadowRoot.querySelectorAll('.input-only'))) e.hidden = this.readOnly;
  }

  // ------------------------------------------------------------ wiring

  _buildKeys() {
    const box = this.$('keys');
    for (const [name, c] of Object.entries(COMBOS)) {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'btn key';
      b.dataset.combo = name;
      b.textContent = c.label;
      b.addEventListener('click', () => this._comboClicked(name));
      box.append(b);
    }
  }

  _wire() {
    const { $ } = this;
    $('fullscreen').addEventListener('click', () => { this.toggleFullscreen().catch(() => {}); });
    for (const b of /** @type {NodeListOf<HTMLButtonElement>} */ (this.shadowRoot.querySelectorAll('button[data-scaling]'))) {
      b.addEventListener('click', () => this.setScaling(/** @type {any} */ (b.dataset.scaling)));
    }
    $('keyboard').addEventListener('click', () => this.setKeyboardCapture(!this._keyboardOn));
    for (const [toggle, panel] of [['keys-toggle', 'keys-panel'], ['clipboard-toggle', 'clipboard-panel'], ['files-toggle', 'files-panel']]) {
      $(toggle).addEventListener('click', () => this._togglePanel(panel));
    }
    this.shadowRoot.addEventListener('keydown', (e) => {
      const ke = /** @type {KeyboardEvent} */ (e);
      if (ke.key !== 'Escape') return;
      const open = ['keys-panel', 'clipboard-panel', 'files-panel'].find((p) => !$(p).hidden);
      if (open && !$('confirm').open) {
        this._togglePanel(open, false);
        ke.preventDefault();
      }
    });
    // The toolbar pattern's arrow keys, besides Tab: Left/Right (and Home/End) move between its buttons.
    $('toolbar').addEventListener('keydown', (e) => {
      const ke = /** @type {KeyboardEvent} */ (e);
      if (!['ArrowLeft', 'ArrowRight', 'Home', 'End'].includes(ke.key)) return;
      const buttons = /** @type {HTMLButtonElement[]} */ ([...$('toolbar').querySelectorAll('button')]).filter((b) => !b.hidden && !b.disabled);
      const i = buttons.indexOf(/** @type {any} */ (this.shadowRoot.activeElement));
      if (i < 0 || buttons.length === 0) return;
      const next = ke.key === 'Home' ? 0 : ke.key === 'End' ? buttons.length - 1
        : (i + (ke.key === 'ArrowRight' ? 1 : -1) + buttons.length) % buttons.length;
      buttons[next].focus();
      ke.preventDefault();
    });
    $('disconnect').addEventListener('click', () => this.disconnect());
    $('reconnect').addEventListener('click', () => this.reconnect());
    $('cancel-reconnect').addEventListener('click', () => this.cancelReconnect());
    $('clip-send-button').addEventListener('click', () => this._sendClipboardText());
    $('clip-paste-local').addEventListener('click', () => this._pasteFromLocal());
    $('clip-copy-local').addEventListener('click', () => this._copyToLocal());
    $('upload-input').addEventListener('change', () => {
      const input = $('upload-input');
      for (const f of input.files) this.upload(f);
      input.value = '';
    });
    $('download-save').addEventListener('click', () => this._saveDownload());
    $('download-discard').addEventListener('click', () => this._discardDownload());
    const wrap = $('screen-wrap');
    // Drops are the element's (capture phase, before the module's own handler
    // on the canvas): each file goes through upload(), with its progress.
    wrap.addEventListener('dragover', (e) => {
      if (!this._canUpload()) return;
      e.preventDefault();
      wrap.classList.add('drop');
    }, true);
    wrap.addEventListener('dragleave', () => wrap.classList.remove('drop'));
    wrap.addEventListener('drop', (e) => {
      wrap.classList.remove('drop');
      e.preventDefault();
      e.stopPropagation();
      if (!this._canUpload()) return;
      for (const f of e.dataTransfer?.files || []) this.upload(f);
    }, true);
    this.canvas.addEventListener('pointerdown', () => {
      if (this._inputAttached && this._keyboardOn) this.session?.focus();
    });
  }

  _togglePanel(id, open) {
    const panel = this.$(id);
    const show = open === undefined ? panel.hidden : open;
    for (const [t, p] of [['keys-toggle', 'keys-panel'], ['clipboard-toggle', 'clipboard-panel'], ['files-toggle', 'files-panel']]) {
      const on = p === id ? show : false;
      this.$(p).hidden = !on;
      this.$(t).setAttribute('aria-expanded', String(on));
    }
    if (!show) this.$(id.replace('-panel', '-toggle')).focus();
  }

  // ------------------------------------------------------------ launch

  /** Starts a session with the element's properties; returns the PamSession (or null when it could not start). */
  launch() {
    this.cancelReconnect(true);
    this._dispose();
    this._userClosed = false;
    this._live = false;
    this._t0 = performance.now();
    this._closedFor = null;
    this._lastStatus = null;
    const id = ++this._launchId;
    const api = this.api;
    const $ = this.$;
    this._setState('connecting');
    $('closed').hidden = true;
    $('overlay-text').textContent = 'Connecting…';
    $('disconnect').disabled = false;
    $('disconnect').textContent = 'Disconnect';
    this._policy = recordClipboardPolicy(this.record);
    this._renderClipboardPolicy();
    this._emitStatus({ phase: 'planning', message: 'planning the launch' });
    if (!api || typeof api.launch !== 'function') {
      this._onStatus({ phase: 'closed', message: 'The module is not loaded (set the element\'s api property)', error: { code: 'UNSUPPORTED', message: 'The module is not loaded (set the element\'s api property)' } });
      return null;
    }
    this._fitCanvasToBox();
    const options = {
      plan: this.plan,
      record: this.record,
      signaling: this.signaling,
      iceServers: this.iceServers || [],
      canvas: this.canvas,
      onstatus: (s) => { if (id === this._launchId) this._onStatus(s); },
      onframe: () => { if (id === this._launchId) this._frames++; },
    };
    if (this.RTCPeerConnection) options.RTCPeerConnection = this.RTCPeerConnection;
    if (this.timeouts) options.timeouts = this.timeouts;
    if (typeof this.trickleIce === 'boolean') options.trickleIce = this.trickleIce;
    if (this.record === null || this.record === undefined) delete options.record;
    this._startJit();
    let session;
    try {
      session = api.launch(options);
    } catch (err) {
      this._onStatus({ phase: 'closed', message: err?.message || String(err), error: err });
      return null;
    }
    this.session = session;
    this._lastSize = this._boxSize();
    const client = session.client;
    client.onfile = (offer) => this._onFileOffer(offer);
    client.onclipboard = (text) => this._onRemoteClipboard(text);
    client.onupload = (stream, sent, total, status) => this._onUpload(stream, sent, total, status);
    client.onresize = () => { if (this.scaling === 'real') this._applyScaling(false); };
    // Backstop: `closed` resolves with the final status even if onstatus threw.
    session.closed.then((s) => { if (id === this._launchId) this._onStatus(s); });
    return session;
  }

  /** Ends the session cleanly (or cancels a launch in progress, or an automatic reconnect). */
  disconnect() {
    this.cancelReconnect(true);
    if (!this.session || this.state !== 'connecting' && this.state !== 'live') return;
    this._userClosed = true;
    const b = this.$('disconnect');
    b.disabled = true;
    b.textContent = 'Disconnecting…';
    this._announce('Disconnecting');
    try {
      this.session.disconnect();
    } catch { /* already closed */ }
  }

  /** A new session with the same properties (after a close, or to replace a live one). */
  reconnect() {
    this._autoAttempt = 0;
    return this.launch();
  }

  // ------------------------------------------------------------ status

  _emitStatus(status) {
    const ms = Math.round((performance.now() - this._t0) * 10) / 10;
    const detail = { phase: status.phase, message: status.message || '', ms };
    const code = status.error?.code;
    if (code) detail.code = code;
    this._phase = status.phase;
    this.dataset.phase = status.phase;
    this._dispatch('pam-status', detail);
  }

  _onStatus(status) {
    if (!status || typeof status.phase !== 'string') return;
    if (status.phase === 'closed') {
      this._onClosed(status);
      return;
    }
    if (this.state !== 'connecting' && this.state !== 'live') return;
    this._lastStatus = status;
    this._emitStatus(status);
    if (status.phase === 'connected' || status.phase === 'firstFrame') {
      if (!this._live) {
        this._live = true;
        this._setState('live');
        this._stopJit();
        this._attachInput();
        this._startStats();
        this._applyScaling(false);
        this._announce(this.readOnly ? 'Connected (view only).' : 'Connected: the keyboard goes to the session (click the screen to give it back).');
      }
      if (status.phase === 'firstFrame') this._autoAttempt = 0;
    } else {
      const text = PHASE_TEXT[status.phase] || status.message;
      this.$('overlay-text').textContent = `${text}…`;
      this._announce(capitalise(status.message || text));
    }
  }

  _onClosed(status) {
    if (this._closedFor === this._launchId) return;
    this._closedFor = this._launchId;
    const wasLive = this._live;
    this._live = false;
    this._stopJit();
    this._stopStats();
    this._detachInput();
    this._setPoor(false);
    this._failUploads();
    // A download still arriving cannot finish now; one that arrived can still be saved.
    if (this._download && !this._download.blob) this._clearDownload();
    const { $ } = this;
    const err = status.error || null;
    const summary = describeClose(status);
    const normal = !err && (!summary.reason || summary.reason === 'normal' || summary.reason === 'client');
    this._emitStatus(status);
    this._setState(normal ? 'closed' : 'error');
    $('disconnect').disabled = true;
    $('disconnect').textContent = 'Disconnect';
    $('closed').hidden = false;
    $('overlay-text').textContent = normal ? (this._userClosed ? 'Session closed.' : summary.text) : summary.text;
    $('close-code').textContent = normal ? '' : [summary.reason, summary.code].filter(Boolean).join(' · ') +
      (summary.message && summary.message !== summary.text ? `: ${summary.message}` : '');
    $('close-code').hidden = normal;
    $('reconnect').textContent = normal ? 'Connect again' : 'Reconnect';
    this._showAdvice(normal ? null : summary.code, summary.message);
    let reconnectInMs;
    // A session that was live, or an automatic attempt that failed before it
    // got there, tries again (the next delay) while attempts remain; a first
    // launch that never connected does not.
    if (!normal && summary.transient && (wasLive || this._autoAttempt > 0) && !this._userClosed &&
        this._autoAttempt < RECONNECT_DELAYS_MS.length) {
      reconnectInMs = RECONNECT_DELAYS_MS[this._autoAttempt];
      this._scheduleReconnect(reconnectInMs);
    } else {
      this._announce(normal ? 'Session closed.' : `Session ended: ${summary.text}`);
    }
    const detail = { reason: summary.reason, code: summary.code, message: summary.message, text: summary.text, transient: summary.transient };
    if (status.closeReason && typeof status.closeReason.code === 'number') detail.reasonCode = status.closeReason.code;
    if (reconnectInMs !== undefined) detail.reconnectInMs = reconnectInMs;
    this._dispatch('pam-close', detail);
  }

  async _showAdvice(code, message) {
    const box = this.$('close-advice');
    box.hidden = true;
    box.textContent = '';
    if (!code) return;
    const jit = await loadJit();
    const advice = jit && typeof jit.adviceFor === 'function' ? jit.adviceFor(code, message) : null;
    if (advice && this.state === 'error') {
      box.textContent = `What to change: ${advice}`;
      box.hidden = false;
    }
  }

  // ------------------------------------------------------------ automatic reconnect

  _scheduleReconnect(ms) {
    const attempt = this._autoAttempt + 1;
    const max = RECONNECT_DELAYS_MS.length;
    const deadline = performance.now() + ms;
    const { $ } = this;
    const tick = () => {
      const left = Math.max(0, Math.ceil((deadline - performance.now()) / 1000));
      $('countdown').textContent = `Reconnecting in ${left} s (attempt ${attempt} of ${max})`;
      this.dataset.reconnectIn = String(left);
    };
    tick();
    $('countdown').hidden = false;
    $('cancel-reconnect').hidden = false;
    const timer = setInterval(tick, 250);
    const go = setTimeout(() => {
      this.cancelReconnect(true);
      this._autoAttempt = attempt;
      this._announce(`Reconnecting (attempt ${attempt} of ${max})`);
      this.launch();
    }, ms);
    this._reconnect = { timer, go };
    this._announce(`${$('overlay-text').textContent} Reconnecting in ${Math.round(ms / 1000)} s (attempt ${attempt} of ${max}); Cancel stops it.`);
  }

  /** Stops a pending automatic reconnect (the countdown). */
  cancelReconnect(quiet = false) {
    const r = this._reconnect;
    if (!r) return;
    clearInterval(r.timer);
    clearTimeout(r.go);
    this._reconnect = null;
    delete this.dataset.reconnectIn;
    this.$('countdown').hidden = true;
    this.$('cancel-reconnect').hidden = true;
    if (!quiet) {
      this._announce('Automatic reconnect cancelled. Reconnect starts a new session.');
      this.$('reconnect').focus();
    }
  }

  // ------------------------------------------------------------ JIT progress

  async _startJit() {
    this._stopJit();
    const t0 = this._t0;
    const jit = await loadJit();
    if (!jit || typeof jit.describeJit !== 'function' || this._t0 !== t0 || this.state !== 'connecting') return;
    let plan = this.plan;
    try {
      if (plan && !plan.inputs && typeof this.api?.planLaunch === 'function') plan = this.api.planLaunch(plan);
    } catch {
      return; // the launch reports the plan's error itself
    }
    let desc = null;
    try {
      desc = jit.describeJit(plan, this.record);
    } catch {
      desc = null;
    }
    if (!desc || this._t0 !== t0 || this.state !== 'connecting') return;
    this._jit = { desc, jit };
    const { $ } = this;
    $('jit').hidden = false;
    const bar = $('jit-progress');
    if (typeof desc.allowanceMs === 'number' && desc.allowanceMs > 0) bar.max = desc.allowanceMs;
    else bar.removeAttribute('value');
    const grants = Array.isArray(desc.grants) ? desc.grants.filter((g) => typeof g === 'string' && g) : [];
    $('jit-grants').textContent = grants.length ? `Granting: ${grants.join(', ')}` : '';
    $('jit-grants').hidden = grants.length === 0;
    const tick = () => {
      const elapsed = performance.now() - t0;
      $('jit-text').textContent = jit.jitProgressText(desc, elapsed);
      if (typeof desc.allowanceMs === 'number' && desc.allowanceMs > 0) bar.value = Math.min(elapsed, desc.allowanceMs);
    };
    tick();
    this._announce(typeof desc.summary === 'string' && desc.summary ? desc.summary : $('jit-text').textContent);
    this._jitTimer = setInterval(tick, 500);
  }

  _stopJit() {
    clearInterval(this._jitTimer);
    this._jitTimer = 0;
    this._jit = null;
    this.$('jit').hidden = true;
  }

  // ------------------------------------------------------------ input, keys

  _attachInput() {
    if (this._inputAttached || !this.session || this.readOnly) return;
    const before = new Set(document.querySelectorAll('textarea[data-pam-input-sink]'));
    try {
      this.session.attachInput(this.canvas);
      this._inputAttached = true;
    } catch (err) {
      this._announce(`Keyboard and mouse are not connected: ${err?.message || err}`);
      return;
    }
    this._sink = /** @type {HTMLTextAreaElement[]} */ ([...document.querySelectorAll('textarea[data-pam-input-sink]')]).find((x) => !before.has(x)) || null;
    this._applyKeyboard();
    if (this._keyboardOn) this.session.focus();
  }

  _detachInput() {
    if (!this._inputAttached) return;
    this._inputAttached = false;
    this._sink = null;
    try {
      this.session?.detachInput();
    } catch { /* the session is gone */ }
  }

  /**
   * Keyboard capture on or off: off, no key reaches the session (held keys
   * are released) while the mouse still works.
   * @param {boolean} on
   */
  setKeyboardCapture(on) {
    this._keyboardOn = Boolean(on);
    const b = this.$('keyboard');
    b.setAttribute('aria-pressed', String(this._keyboardOn));
    b.textContent = this._keyboardOn ? 'Keyboard: on' : 'Keyboard: off';
    b.title = this._keyboardOn ? 'Keyboard capture: typing goes to the session' : 'Keyboard capture is off: typing stays on this page';
    this._applyKeyboard();
    this._announce(this._keyboardOn ? 'Keyboard capture on: typing goes to the session.' : 'Keyboard capture off: typing stays on this page.');
    if (this._keyboardOn && this._inputAttached) this.session?.focus();
  }

  _applyKeyboard() {
    const client = this.session?.client;
    if (client && 'keyboardEnabled' in client) {
      try {
        client.keyboardEnabled = this._keyboardOn;
      } catch { /* freed */ }
    } else if (!this._keyboardOn && this._sink && document.activeElement === this._sink) {
      this._sink.blur(); // the module releases held keys when its focus leaves
    }
  }

  // Keyboard capture off with a module that has no keyboardEnabled: keys
  // meant for the session (its canvas or its input sink) stop here, before
  // the module's listeners.
  _filterKey(e) {
    if (this._keyboardOn || !this._inputAttached) return;
    const client = this.session?.client;
    if (client && 'keyboardEnabled' in client) return;
    const target = e.composedPath()[0];
    if (target === this.canvas || (this._sink && target === this._sink)) {
      e.stopImmediatePropagation();
      e.preventDefault(); // no text into the module's input sink either (it sends what lands there)
    }
  }

  /**
   * Presses the keys of a combination in order and releases them in reverse:
   * a name ("ctrl-alt-del", "win", "alt-tab", "ctrl-alt-f1".."ctrl-alt-f12",
   * "print-screen", "escape") or an array of X11 keysyms. False when there is
   * no live session or the combination is unknown.
   * @param {string | number[]} combo
   */
  sendKeys(combo) {
    const keys = comboKeysyms(combo);
    if (!keys || !this.session || !this._live || this.readOnly) return false;
    try {
      for (const k of keys) this.session.sendKeyEvent(k, true);
      for (const k of [...keys].reverse()) this.session.sendKeyEvent(k, false);
    } catch {
      return false;
    }
    return true;
  }

  async _comboClicked(name) {
    const c = COMBOS[name];
    if (c.confirm && !(await this._confirm(c.confirm, `Send ${c.label}`))) {
      this._announce(`${c.label} not sent.`);
      return;
    }
    const ok = this.sendKeys(name);
    this._announce(ok ? `${c.label} sent.` : `${c.label} not sent: no live session.`);
  }

  _confirm(text, okLabel) {
    const d = this.$('confirm');
    this.$('confirm-text').textContent = text;
    this.$('confirm-ok').textContent = okLabel;
    return new Promise((resolve) => {
      d.addEventListener('close', () => resolve(d.returnValue === 'ok'), { once: true });
      d.returnValue = '';
      d.showModal();
      this.$('confirm-cancel').focus();
    });
  }

  // ------------------------------------------------------------ scaling and size

  /** @param {'fit' | 'real' | 'remote-resize'} mode */
  setScaling(mode) {
    if (!SCALINGS.includes(mode)) return false;
    this.setAttribute('scaling', mode);
    this._announce({ fit: 'Scaling: fit to the box.', real: 'Scaling: 1:1, scroll to see the rest.', 'remote-resize': 'Scaling: the remote screen follows this box.' }[mode]);
    return true;
  }

  _boxSize() {
    const r = this.$('screen-wrap').getBoundingClientRect();
    return { w: Math.round(r.width), h: Math.round(r.height) };
  }

  _fitCanvasToBox() {
    this.canvas.style.width = '';
    this.canvas.style.height = '';
    this.$('screen-wrap').classList.remove('scroll');
  }

  _applyScaling(userChange) {
    const client = this.session?.client;
    const wrap = this.$('screen-wrap');
    wrap.dataset.scaling = this.scaling;
    if (!client || !this._live) return;
    try {
      if (this.scaling === 'real' && 'autoScale' in client) {
        client.autoScale = false;
        const dpr = window.devicePixelRatio || 1;
        this.canvas.style.width = `${Math.max(1, Math.round(client.width / dpr))}px`;
        this.canvas.style.height = `${Math.max(1, Math.round(client.height / dpr))}px`;
        wrap.classList.add('scroll');
      } else {
        this._fitCanvasToBox();
        if ('autoScale' in client) client.autoScale = true;
      }
      client.redraw();
    } catch { /* closed */ }
    if (userChange && this.scaling === 'remote-resize') this._requestRemoteSize(true);
  }

  _onBoxResize() {
    if (!this.session || !this._live) return;
    if (this.scaling !== 'real') {
      try {
        this.session.client.redraw();
      } catch { /* closed */ }
    }
    if (this.scaling === 'remote-resize') this._requestRemoteSize(false);
  }

  _requestRemoteSize(now) {
    clearTimeout(this._resizeTimer);
    const send = () => {
      if (!this._live || !this.session || this.scaling !== 'remote-resize') return;
      const size = this._boxSize();
      if (size.w < 2 || size.h < 2) return;
      if (this._lastSize && size.w === this._lastSize.w && size.h === this._lastSize.h) return;
      this._lastSize = size;
      try {
        this.session.resize(size.w, size.h);
      } catch { /* closed */ }
    };
    if (now) send();
    else this._resizeTimer = setTimeout(send, RESIZE_DEBOUNCE_MS);
  }

  // ------------------------------------------------------------ fullscreen

  /** Fullscreen of the element, with the keyboard lock where the browser allows it; resolves to the new state. */
  async toggleFullscreen() {
    const nav = /** @type {any} */ (navigator);
    if (document.fullscreenElement === this) {
      try { nav.keyboard?.unlock?.(); } catch { /* none */ }
      await document.exitFullscreen();
      return false;
    }
    await this.requestFullscreen();
    let locked = false;
    try {
      if (nav.keyboard && typeof nav.keyboard.lock === 'function') {
        await nav.keyboard.lock();
        locked = true;
      }
    } catch { /* not allowed here */ }
    this._keyboardLocked = locked;
    this.toggleAttribute('data-keyboard-locked', locked);
    this._announce(locked
      ? 'Fullscreen: Esc, the Windows key and Alt+Tab go to the session. Hold Esc to leave fullscreen.'
      : 'Fullscreen. Press Esc to leave.');
    return true;
  }

  _fullscreenChanged() {
    const on = document.fullscreenElement === this;
    const b = this.$('fullscreen');
    b.setAttribute('aria-pressed', String(on));
    b.textContent = on ? 'Exit fullscreen' : 'Fullscreen';
    this.toggleAttribute('data-fullscreen', on);
    if (!on) {
      this.toggleAttribute('data-keyboard-locked', false);
      try { /** @type {any} */ (navigator).keyboard?.unlock?.(); } catch { /* none */ }
    }
  }

  // ------------------------------------------------------------ clipboard

  _effectivePolicy() {
    const client = this.session?.client;
    const p = { ...this._policy };
    try {
      if (client && 'disableCopy' in client) p.disableCopy = p.disableCopy || Boolean(client.disableCopy);
      if (client && 'disablePaste' in client) p.disablePaste = p.disablePaste || Boolean(client.disablePaste);
    } catch { /* freed */ }
    return p;
  }

  _renderClipboardPolicy() {
    const { $ } = this;
    const p = this._effectivePolicy();
    this.toggleAttribute('data-copy-disabled', p.disableCopy);
    this.toggleAttribute('data-paste-disabled', p.disablePaste);
    $('clip-copy-note').textContent = p.disableCopy
      ? 'Copying from the remote side is disabled for this resource: nothing the remote side copies reaches this page.' : '';
    $('clip-copy-local').disabled = p.disableCopy || !$('clip-remote').value;
    if (p.disableCopy) $('clip-remote').value = '';
    $('clip-paste-note').textContent = p.disablePaste
      ? 'Pasting to the remote side is disabled for this resource: nothing is sent.' : '';
    for (const id of ['clip-send', 'clip-send-button', 'clip-paste-local']) $(id).disabled = p.disablePaste;
  }

  _onRemoteClipboard(text) {
    if (this._effectivePolicy().disableCopy || typeof text !== 'string') return;
    this.$('clip-remote').value = text;
    this.$('clip-copy-local').disabled = false;
    this._dispatch('pam-clipboard', { text });
  }

  /**
   * Sends text to the remote clipboard; false when pasting is disabled or no session is live.
   * @param {string} text
   */
  setClipboard(text) {
    if (typeof text !== 'string' || !this.session || !this._live || this.readOnly) return false;
    if (this._effectivePolicy().disablePaste) return false;
    try {
      return this.session.setClipboard(text) !== false;
    } catch (err) {
      this._announce(`Not sent: ${err?.message || err}`);
      return false;
    }
  }

  _sendClipboardText() {
    const text = this.$('clip-send').value;
    const ok = this.setClipboard(text);
    this._announce(ok ? `Sent ${text.length} characters to the remote clipboard.` : 'Not sent to the remote clipboard.');
  }

  async _pasteFromLocal() {
    if (this._effectivePolicy().disablePaste) return;
    let text;
    try {
      text = await navigator.clipboard.readText();
    } catch {
      this._announce('This page may not read your clipboard: paste into the box (Ctrl+V) and choose Send.');
      this.$('clip-send').focus();
      return;
    }
    this.$('clip-send').value = text;
    const ok = this.setClipboard(text);
    this._announce(ok ? `Pasted ${text.length} characters to the remote clipboard.` : 'Not sent to the remote clipboard.');
  }

  async _copyToLocal() {
    if (this._effectivePolicy().disableCopy) return;
    const text = this.$('clip-remote').value;
    try {
      await navigator.clipboard.writeText(text);
      this._announce('Copied the remote clipboard to this computer.');
    } catch {
      this.$('clip-remote').select();
      this._announce('This page may not write your clipboard: the text is selected, press Ctrl+C.');
    }
  }

  // ------------------------------------------------------------ files

  _canUpload() {
    return Boolean(this.session && this._live && !this.readOnly);
  }

  /**
   * Uploads a file to the remote side, with progress (pam-upload events and the Files panel).
   * Returns the stream index, or null when no session can take it.
   * @param {File} file
   */
  upload(file) {
    if (!this._canUpload() || !file) return null;
    let stream;
    try {
      stream = this.session.client.uploadBrowserFile(file);
    } catch (err) {
      this._announce(`Upload of ${file.name} failed: ${err?.message || err}`);
      return null;
    }
    if (stream === undefined || stream === null) {
      this._announce(`Upload of ${file.name} failed: the session cannot send now.`);
      return null;
    }
    const { $ } = this;
    const li = document.createElement('li');
    li.className = 'upload';
    li.dataset.stream = String(stream);
    li.dataset.status = 'progress';
    const name = document.createElement('span');
    name.className = 'upload-name';
    name.textContent = file.name;
    const bar = document.createElement('progress');
    bar.max = Math.max(1, file.size);
    bar.value = 0;
    bar.setAttribute('aria-label', `Upload of ${file.name}`);
    const text = document.createElement('span');
    text.className = 'upload-text';
    text.textContent = `0 of ${formatBytes(file.size)} (0 %)`;
    const cancel = document.createElement('button');
    cancel.type = 'button';
    cancel.className = 'btn btn-small upload-cancel';
    cancel.textContent = 'Cancel';
    cancel.setAttribute('aria-label', `Cancel the upload of ${file.name}`);
    const client = this.session.client;
    if (typeof client.cancelUpload !== 'function') {
      cancel.disabled = true;
      cancel.title = 'This build of the module cannot cancel an upload';
    }
    cancel.addEventListener('click', () => this.cancelUpload(stream));
    li.append(name, bar, text, cancel);
    $('uploads').append(li);
    const u = { stream, name: file.name, total: file.size, sent: 0, status: 'progress', li, bar, text, cancel };
    this._uploads.set(stream, u);
    if ($('files-panel').hidden) this._togglePanel('files-panel', true);
    this._announce(`Uploading ${file.name} (${formatBytes(file.size)}).`);
    this._emitUpload(u);
    return stream;
  }

  /** Stops an upload in progress; false when there is none by that stream or the module cannot. */
  cancelUpload(stream) {
    const u = this._uploads.get(stream);
    const client = this.session?.client;
    if (!u || u.status !== 'progress' || !client || typeof client.cancelUpload !== 'function') return false;
    let ok = false;
    try {
      ok = client.cancelUpload(stream) !== false;
    } catch { /* closed */ }
    if (ok && u.status === 'progress') this._onUpload(stream, u.sent, u.total, 'cancelled');
    return ok;
  }

  _onUpload(stream, sent, total, status) {
    const u = this._uploads.get(stream);
    if (!u || u.status !== 'progress') return;
    if (typeof total === 'number' && Number.isFinite(total)) u.total = total;
    if (typeof sent === 'number' && Number.isFinite(sent)) u.sent = sent;
    const st = status === 'done' || status === 'cancelled' || status === 'error' ? status : 'progress';
    if (st === 'done') u.sent = u.total;
    u.status = st;
    u.li.dataset.status = st;
    u.bar.max = Math.max(1, u.total);
    u.bar.value = u.sent;
    const pct = u.total > 0 ? Math.floor((u.sent / u.total) * 100) : 100;
    u.li.dataset.sent = String(u.sent);
    u.text.textContent = st === 'done' ? `${formatBytes(u.total)}: done`
      : st === 'cancelled' ? `cancelled at ${formatBytes(u.sent)} of ${formatBytes(u.total)} (${pct} %)`
        : st === 'error' ? `failed at ${formatBytes(u.sent)} of ${formatBytes(u.total)}`
          : `${formatBytes(u.sent)} of ${formatBytes(u.total)} (${pct} %)`;
    if (st !== 'progress') {
      u.cancel.hidden = true;
      this._announce(`Upload of ${u.name}: ${u.text.textContent}.`);
    }
    this._emitUpload(u);
  }

  _emitUpload(u) {
    this._dispatch('pam-upload', { name: u.name, sent: u.sent, total: u.total, status: u.status });
  }

  _failUploads() {
    for (const [stream, u] of this._uploads) if (u.status === 'progress') this._onUpload(stream, u.sent, u.total, 'error');
  }

  /**
   * The remote side offers a file: it is received (bounded by the module's
   * stream limit), then the person sees its name and size and picks Save or
   * Discard; nothing is saved before that. One at a time: an offer while
   * another waits for a decision is refused.
   */
  _onFileOffer(offer) {
    const { $ } = this;
    if (this._download) {
      offer.reject();
      return;
    }
    const d = { name: String(offer.name || 'download'), blob: null };
    this._download = d;
    $('download-name').textContent = d.name;
    $('download-size').textContent = 'receiving…';
    $('download-save').disabled = true;
    $('download').hidden = false;
    this._dispatch('pam-file-offer', { name: d.name, mimetype: String(offer.mimetype || '') });
    this._announce(`The remote side sends a file: ${d.name}. Save or Discard.`);
    offer.accept().then((blob) => {
      if (this._download !== d) return;
      d.blob = blob;
      $('download-size').textContent = `(${formatBytes(blob.size)})`;
      $('download-save').disabled = false;
      this._dispatch('pam-file-offer', { name: d.name, mimetype: String(offer.mimetype || ''), size: blob.size });
    }, () => {
      if (this._download === d) this._clearDownload();
    });
  }

  _saveDownload() {
    const d = this._download;
    if (!d || !d.blob) return;
    const url = URL.createObjectURL(d.blob);
    const a = document.createElement('a');
    a.href = url;
    a.download = d.name.replace(/[\\/]/g, '_');
    a.hidden = true;
    this.shadowRoot.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 0);
    this._announce(`Saved ${d.name}.`);
    this._clearDownload();
  }

  _discardDownload() {
    const d = this._download;
    this._clearDownload();
    if (d) this._announce(`Discarded ${d.name}: nothing was saved.`);
  }

  _clearDownload() {
    this._download = null;
    const { $ } = this;
    $('download').hidden = true;
    $('download-name').textContent = '';
    $('download-size').textContent = '';
    $('download-save').disabled = true;
  }

  // ------------------------------------------------------------ live figures

  _startStats() {
    this._stopStats();
    this._fpsFrames = this._frames;
    this._fpsAt = performance.now();
    this._highRtt = 0;
    this._statsTimer = setInterval(() => this._sampleStats(), STATS_EVERY_MS);
  }

  _stopStats() {
    clearInterval(this._statsTimer);
    this._statsTimer = 0;
  }

  _sampleStats() {
    const session = this.session;
    if (!session || !this._live) return;
    const now = performance.now();
    const fps = Math.round(((this._frames - this._fpsFrames) * 1000 / Math.max(1, now - this._fpsAt)) * 10) / 10;
    this._fpsFrames = this._frames;
    this._fpsAt = now;
    let s = null;
    try {
      s = 'stats' in session ? session.stats : null;
    } catch { /* freed */ }
    const rttMs = s && typeof s.rttMs === 'number' ? s.rttMs : null;
    const overdue = s && typeof s.pingOverdueMs === 'number' ? s.pingOverdueMs : null;
    this._highRtt = rttMs !== null && rttMs > POOR_RTT_MS ? this._highRtt + 1 : 0;
    const poor = this._highRtt >= POOR_SAMPLES || (overdue !== null && overdue > POOR_OVERDUE_MS);
    const stats = {
      rttMs,
      fps,
      bytesIn: s && typeof s.bytesIn === 'number' ? s.bytesIn : null,
      bytesOut: s && typeof s.bytesOut === 'number' ? s.bytesOut : null,
      poor,
    };
    this._lastStats = stats;
    const { $ } = this;
    $('stat-rtt').textContent = rttMs === null ? 'RTT —' : `RTT ${Math.round(rttMs)} ms`;
    $('stat-fps').textContent = `${fps} fps`;
    $('stat-bytes').textContent = stats.bytesIn === null ? '' : `↓ ${formatBytes(stats.bytesIn)} ↑ ${formatBytes(stats.bytesOut)}`;
    this._setPoor(poor, rttMs, overdue);
    this._dispatch('pam-stats', stats);
  }

  _setPoor(poor, rttMs = null, overdue = null) {
    const b = this.$('poor');
    if (poor === this._poor) {
      if (poor) b.textContent = poorText(rttMs, overdue);
      return;
    }
    this._poor = poor;
    b.hidden = !poor;
    this.toggleAttribute('data-poor', poor);
    if (poor) {
      b.textContent = poorText(rttMs, overdue);
      this._announce(b.textContent);
    } else if (this._live) {
      this._announce('The connection has recovered.');
    }
  }

  // ------------------------------------------------------------ recording mode

  /**
   * Opens a guacd recording in the player (mode="recording"): a File, a Blob or the bytes.
   * @param {File | Blob | Uint8Array} source
   * @param {string} [name]
   */
  async openRecording(source, name) {
    if (this.mode !== 'recording') this.setAttribute('mode', 'recording');
    const player = await this._ensurePlayer();
    await player.open(source, name);
  }

  /** The recording player of mode="recording" (a PlayerView: open(), close(), `player`, the RecordingPlayer), mounted on first use. */
  getPlayer() {
    return this._ensurePlayer();
  }

  /** Mounts the PlayerView (www/js/player-view.js, its stylesheet player.css) in the shadow root, once. */
  _ensurePlayer() {
    if (!this._playerReady) {
      this._playerReady = (async () => {
        if (!this._api) throw new TypeError('openRecording needs the element\'s api property (the initialised module)');
        const link = document.createElement('link');
        link.rel = 'stylesheet';
        link.href = PLAYER_STYLESHEET;
        this.shadowRoot.append(link);
        const mod = await import(PLAYER_MODULE);
        this._player = new mod.PlayerView(this.$('player'), { api: this._api });
        return this._player;
      })();
      this._playerReady.catch(() => { this._playerReady = null; });
    }
    return this._playerReady;
  }

  // ------------------------------------------------------------ the rest

  _setState(state) {
    this.dataset.state = state;
    this.$('screen-wrap').dataset.state = state;
  }

  _announce(text) {
    this.$('live').textContent = text;
  }

  _dispatch(name, detail) {
    this.dispatchEvent(new CustomEvent(name, { detail, bubbles: true, composed: true }));
  }

  /** Frees the previous session (closed, or disconnected now) before a new one. */
  _dispose() {
    clearTimeout(this._resizeTimer);
    this._stopStats();
    this._stopJit();
    this._clearDownload();
    this._detachInput();
    this._uploads.clear();
    this.$('uploads').replaceChildren();
    this._setPoor(false);
    const old = this.session;
    this.session = null;
    if (old) {
      if (this.state === 'connecting' || this.state === 'live') {
        try { old.disconnect(); } catch { /* closed */ }
      }
      try {
        old.free();
      } catch { /* already freed */ }
    }
  }
}

function poorText(rttMs, overdue) {
  if (overdue !== null && overdue > POOR_OVERDUE_MS) return `The connection is poor: no answer to the last ping for ${Math.round(overdue / 1000)} s.`;
  return `The connection is poor: round trips above ${POOR_RTT_MS} ms${rttMs === null ? '' : ` (now ${Math.round(rttMs)} ms)`}.`;
}

function capitalise(s) {
  return s ? s[0].toUpperCase() + s.slice(1) : s;
}

if (!customElements.get('pam-launch-session')) customElements.define('pam-launch-session', PamLaunchSession);
